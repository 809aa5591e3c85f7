//! EC2 and VPC networking state of one region.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ResourceMeta;

/// Everything the EC2 collector gathers in one region. A list that is empty
/// because its Describe call failed has a matching entry in the snapshot's
/// `collection_errors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ec2Region {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub internet_gateways: Vec<InternetGateway>,
    pub nat_gateways: Vec<NatGateway>,
    pub network_acls: Vec<NetworkAcl>,
    pub security_groups: Vec<SecurityGroup>,
    pub network_interfaces: Vec<NetworkInterface>,
    pub instances: Vec<Instance>,
    pub flow_logs: Vec<FlowLog>,
    pub transit_gateways: Vec<TransitGateway>,
    pub vpc_peering_connections: Vec<VpcPeeringConnection>,
    /// `null` when GetEbsEncryptionByDefault could not be called.
    pub ebs_encryption_by_default: Option<bool>,
    /// The account's instance metadata defaults in this region; `null`
    /// when GetInstanceMetadataDefaults could not be called (or the
    /// snapshot predates it).
    #[serde(default)]
    pub instance_metadata_defaults: Option<InstanceMetadataDefaults>,
}

/// Metadata options new instances get when their launch does not say;
/// each field is `None` when the account sets no default for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InstanceMetadataDefaults {
    /// `required` makes IMDSv2 the default.
    pub http_tokens: Option<String>,
    pub http_endpoint: Option<String>,
    pub http_put_response_hop_limit: Option<i32>,
}

impl Ec2Region {
    /// How many of each resource kind the region holds, in model order,
    /// each with the short label summaries show it under.
    pub fn resource_counts(&self) -> [(&'static str, usize); 12] {
        [
            ("VPCs", self.vpcs.len()),
            ("Subnets", self.subnets.len()),
            ("Route tables", self.route_tables.len()),
            ("IGWs", self.internet_gateways.len()),
            ("NAT GWs", self.nat_gateways.len()),
            ("NACLs", self.network_acls.len()),
            ("SGs", self.security_groups.len()),
            ("ENIs", self.network_interfaces.len()),
            ("Instances", self.instances.len()),
            ("Flow logs", self.flow_logs.len()),
            ("TGWs", self.transit_gateways.len()),
            ("Peerings", self.vpc_peering_connections.len()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vpc {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub owner_id: Option<String>,
    pub state: Option<String>,
    pub is_default: bool,
    /// The primary IPv4 CIDR.
    pub cidr_block: Option<String>,
    /// Every associated IPv4 CIDR, primary first, with its association state.
    pub cidr_blocks: Vec<CidrAssociation>,
    pub ipv6_cidr_blocks: Vec<CidrAssociation>,
    pub dhcp_options_id: Option<String>,
    pub instance_tenancy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CidrAssociation {
    pub cidr: String,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subnet {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub vpc_id: String,
    pub cidr_block: Option<String>,
    pub ipv6_cidr_blocks: Vec<CidrAssociation>,
    pub availability_zone: Option<String>,
    pub availability_zone_id: Option<String>,
    pub available_ip_address_count: Option<u32>,
    pub map_public_ip_on_launch: bool,
    pub assign_ipv6_address_on_creation: bool,
    pub default_for_az: bool,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RouteTable {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub vpc_id: String,
    /// True when this is the VPC's main table, which every subnet without
    /// an explicit association uses.
    pub is_main: bool,
    pub routes: Vec<Route>,
    pub associations: Vec<RouteTableAssociation>,
    pub propagating_vgw_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    pub destination: RouteDestination,
    pub target: RouteTarget,
    /// `active`, or `blackhole` when the target no longer exists.
    pub state: Option<String>,
    /// `CreateRouteTable`, `CreateRoute` or `EnableVgwRoutePropagation`.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RouteDestination {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    /// A route whose destination the API left empty; kept rather than dropped.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteTarget {
    pub kind: RouteTargetKind,
    /// The target's id (`igw-…`, `nat-…`, `local`, …); absent for `unknown`.
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteTargetKind {
    Local,
    InternetGateway,
    EgressOnlyInternetGateway,
    VirtualPrivateGateway,
    VpcEndpoint,
    NatGateway,
    TransitGateway,
    VpcPeering,
    NetworkInterface,
    Instance,
    CarrierGateway,
    LocalGateway,
    CoreNetwork,
    /// An Oracle Database@AWS network.
    OdbNetwork,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteTableAssociation {
    pub id: Option<String>,
    pub main: bool,
    pub subnet_id: Option<String>,
    /// Set for gateway route tables (edge associations).
    pub gateway_id: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InternetGateway {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub owner_id: Option<String>,
    pub attachments: Vec<GatewayAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GatewayAttachment {
    pub vpc_id: String,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NatGateway {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub state: Option<String>,
    /// `public` (routes to the internet through an IGW) or `private`.
    pub connectivity_type: Option<String>,
    pub addresses: Vec<NatGatewayAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NatGatewayAddress {
    pub allocation_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkAcl {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub vpc_id: String,
    pub is_default: bool,
    /// Every entry exactly as AWS returns it, including the catch-all `*`
    /// deny (rule number 32767).
    pub entries: Vec<NetworkAclEntry>,
    pub associations: Vec<NetworkAclAssociation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkAclEntry {
    pub rule_number: i32,
    pub egress: bool,
    pub protocol: Protocol,
    pub action: RuleAction,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    /// Only for TCP and UDP entries.
    pub port_range: Option<PortRange>,
    /// Only for ICMP and ICMPv6 entries; -1 means any type or code.
    pub icmp: Option<IcmpTypeCode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkAclAssociation {
    pub id: Option<String>,
    pub subnet_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityGroup {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub name: String,
    pub description: Option<String>,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub ingress: Vec<Permission>,
    pub egress: Vec<Permission>,
}

/// One IP permission of a security group: a protocol and port range opened
/// to any number of sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Permission {
    pub protocol: Protocol,
    /// Only for TCP and UDP; `null` for `all` and ICMP.
    pub port_range: Option<PortRange>,
    /// Only for ICMP and ICMPv6; -1 means any type or code.
    pub icmp: Option<IcmpTypeCode>,
    pub ipv4_ranges: Vec<CidrSource>,
    pub ipv6_ranges: Vec<CidrSource>,
    pub prefix_list_ids: Vec<PrefixListSource>,
    pub referenced_groups: Vec<GroupSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CidrSource {
    pub cidr: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixListSource {
    pub prefix_list_id: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupSource {
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// The owning account, which differs from ours for cross-account references.
    pub user_id: Option<String>,
    pub vpc_id: Option<String>,
    pub vpc_peering_connection_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortRange {
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IcmpTypeCode {
    #[serde(rename = "type")]
    pub icmp_type: i32,
    pub code: i32,
}

/// An IP protocol as security groups and network ACLs name it. AWS spells
/// the same protocol differently in the two APIs (`tcp` vs `6`, `-1` for
/// all); the snapshot uses one spelling so rules need not know both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    All,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other IANA protocol number.
    Number(u8),
}

impl Protocol {
    /// Whether entries with this protocol carry a port range.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }

    /// Whether entries with this protocol carry an ICMP type and code.
    pub fn is_icmp(self) -> bool {
        matches!(self, Protocol::Icmp | Protocol::Icmpv6)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::All => f.write_str("all"),
            Protocol::Tcp => f.write_str("tcp"),
            Protocol::Udp => f.write_str("udp"),
            Protocol::Icmp => f.write_str("icmp"),
            Protocol::Icmpv6 => f.write_str("icmpv6"),
            Protocol::Number(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP protocol name or number (0-255, or -1 for all)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let protocol = match text.to_ascii_lowercase().as_str() {
            "-1" | "all" => Protocol::All,
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "icmpv6" | "58" => Protocol::Icmpv6,
            other => Protocol::Number(
                other
                    .parse::<u8>()
                    .map_err(|_| UnknownProtocol(text.to_owned()))?,
            ),
        };
        Ok(protocol)
    }
}

impl Serialize for Protocol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Written as its name, or its number when it has none.
impl JsonSchema for Protocol {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Protocol".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NetworkInterface {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub availability_zone: Option<String>,
    /// `interface`, `nat_gateway`, `network_load_balancer`, `lambda`, ...
    pub interface_type: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<String>,
    pub requester_managed: bool,
    pub private_ip: Option<String>,
    /// The public IPv4 address (auto-assigned or Elastic IP) of the
    /// primary private address, if any.
    pub public_ip: Option<String>,
    /// Elastic IPs associated with secondary private addresses; absent
    /// from snapshots taken before rampart collected them.
    #[serde(default)]
    pub secondary_public_ips: Option<Vec<String>>,
    pub ipv6_addresses: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub attachment: Option<InterfaceAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceAttachment {
    pub instance_id: Option<String>,
    pub instance_owner_id: Option<String>,
    pub device_index: Option<i32>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Instance {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `pending`, `running`, `stopped`, ...
    pub state: Option<String>,
    pub instance_type: Option<String>,
    pub image_id: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub network_interface_ids: Vec<String>,
    /// The union of the groups of every attached interface.
    pub security_group_ids: Vec<String>,
    pub metadata_options: Option<MetadataOptions>,
    pub iam_instance_profile_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetadataOptions {
    /// `required` means IMDSv2 only; `optional` still allows IMDSv1.
    pub http_tokens: Option<String>,
    /// `disabled` turns the metadata service off altogether.
    pub http_endpoint: Option<String>,
    pub http_put_response_hop_limit: Option<i32>,
    pub instance_metadata_tags: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowLog {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// The VPC, subnet or interface the log is attached to.
    pub resource_id: Option<String>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: Option<String>,
    pub log_destination_type: Option<String>,
    pub log_destination: Option<String>,
    /// `ACTIVE` when the flow log exists and is enabled.
    pub flow_log_status: Option<String>,
    /// `SUCCESS` or `FAILED`: whether logs actually reach the destination.
    pub deliver_logs_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TransitGateway {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub owner_id: Option<String>,
    pub state: Option<String>,
    pub auto_accept_shared_attachments: bool,
    pub default_route_table_association: bool,
    pub default_route_table_propagation: bool,
    pub amazon_side_asn: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VpcPeeringConnection {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `pending-acceptance`, `active`, `deleted`, ...
    pub status: Option<String>,
    pub requester: Option<PeeringSide>,
    pub accepter: Option<PeeringSide>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeeringSide {
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub region: Option<String>,
    pub cidr_blocks: Vec<String>,
    pub ipv6_cidr_blocks: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_apis_spellings_of_a_protocol_parse_to_one_value() {
        for (spellings, protocol) in [
            (&["-1", "all"][..], Protocol::All),
            (&["tcp", "6", "TCP"][..], Protocol::Tcp),
            (&["udp", "17"][..], Protocol::Udp),
            (&["icmp", "1"][..], Protocol::Icmp),
            (&["icmpv6", "58"][..], Protocol::Icmpv6),
            (&["50"][..], Protocol::Number(50)),
        ] {
            for spelling in spellings {
                assert_eq!(spelling.parse::<Protocol>(), Ok(protocol), "{spelling}");
            }
        }
        assert_eq!(
            "gre".parse::<Protocol>(),
            Err(UnknownProtocol("gre".to_owned()))
        );
        assert_eq!(
            "256".parse::<Protocol>().map_err(|e| e.to_string()),
            Err("`256` is not an IP protocol name or number (0-255, or -1 for all)".to_owned())
        );
    }

    #[test]
    fn protocols_serialise_as_one_canonical_string() {
        let text = serde_json::to_string(&[Protocol::All, Protocol::Tcp, Protocol::Number(47)])
            .expect("serialises");
        assert_eq!(text, r#"["all","tcp","47"]"#);
        let back: Vec<Protocol> = serde_json::from_str(r#"["-1","6","47"]"#).expect("parses");
        assert_eq!(back, [Protocol::All, Protocol::Tcp, Protocol::Number(47)]);
        assert!(serde_json::from_str::<Protocol>(r#""bogus""#).is_err());
    }
}
