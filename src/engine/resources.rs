//! The resource types rules apply to: how each is found in a snapshot, and
//! which listing call it comes from (when that call failed in a region,
//! rules on the type are "not evaluated" there, never passed).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expr::{Needs, Subject};
use super::schema::{self, Object};
use crate::analyze::Analysis;
use crate::analyze::exposure::Exposure;
use crate::analyze::guardduty::GuardDutyFacts;
use crate::analyze::iam::{RootFacts, UserFacts};
use crate::analyze::identity_center::InstanceFacts;
use crate::analyze::nacl::AclFacts;
use crate::analyze::network::{
    NatGatewayFacts, RouteTableFacts, SecurityGroupFacts, SubnetFacts, VpcFacts,
};
use crate::snapshot::ec2::{
    FlowLog, Instance, InstanceMetadataDefaults, InternetGateway, NatGateway, NetworkAcl,
    NetworkInterface, RouteTable, SecurityGroup, Subnet, TransitGateway, Vpc, VpcPeeringConnection,
};
use crate::snapshot::guardduty::{Detector, Finding};
use crate::snapshot::iam::{GLOBAL_REGION, IamAccount, IamUser};
use crate::snapshot::{CollectionError, ResourceMeta, Snapshot, budgets, cloudwatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Account,
    Region,
    Vpc,
    Subnet,
    RouteTable,
    InternetGateway,
    NatGateway,
    NetworkAcl,
    SecurityGroup,
    NetworkInterface,
    Instance,
    FlowLog,
    TransitGateway,
    VpcPeeringConnection,
    IamUser,
    GuarddutyDetector,
    GuarddutyFinding,
}

impl ResourceType {
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Account => "account",
            ResourceType::Region => "region",
            ResourceType::Vpc => "vpc",
            ResourceType::Subnet => "subnet",
            ResourceType::RouteTable => "route_table",
            ResourceType::InternetGateway => "internet_gateway",
            ResourceType::NatGateway => "nat_gateway",
            ResourceType::NetworkAcl => "network_acl",
            ResourceType::SecurityGroup => "security_group",
            ResourceType::NetworkInterface => "network_interface",
            ResourceType::Instance => "instance",
            ResourceType::FlowLog => "flow_log",
            ResourceType::TransitGateway => "transit_gateway",
            ResourceType::VpcPeeringConnection => "vpc_peering_connection",
            ResourceType::IamUser => "iam_user",
            ResourceType::GuarddutyDetector => "guardduty_detector",
            ResourceType::GuarddutyFinding => "guardduty_finding",
        }
    }

    /// The calls that list this type: when one failed in a region there
    /// may be resources there nobody saw. None for the account and
    /// regions, which always exist. Global listings are made once,
    /// regional ones per region.
    pub fn listings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ResourceType::Account | ResourceType::Region => &[],
            ResourceType::Vpc => &[("ec2", "DescribeVpcs")],
            ResourceType::Subnet => &[("ec2", "DescribeSubnets")],
            ResourceType::RouteTable => &[("ec2", "DescribeRouteTables")],
            ResourceType::InternetGateway => &[("ec2", "DescribeInternetGateways")],
            ResourceType::NatGateway => &[("ec2", "DescribeNatGateways")],
            ResourceType::NetworkAcl => &[("ec2", "DescribeNetworkAcls")],
            ResourceType::SecurityGroup => &[("ec2", "DescribeSecurityGroups")],
            ResourceType::NetworkInterface => &[("ec2", "DescribeNetworkInterfaces")],
            ResourceType::Instance => &[("ec2", "DescribeInstances")],
            ResourceType::FlowLog => &[("ec2", "DescribeFlowLogs")],
            ResourceType::TransitGateway => &[("ec2", "DescribeTransitGateways")],
            ResourceType::VpcPeeringConnection => &[("ec2", "DescribeVpcPeeringConnections")],
            ResourceType::IamUser => &[("iam", "ListUsers")],
            ResourceType::GuarddutyDetector => &[("guardduty", "ListDetectors")],
            // Detectors are listed, then each one's finding ids, then the
            // findings in batches: a failure at any step leaves findings
            // unseen.
            ResourceType::GuarddutyFinding => &[
                ("guardduty", "ListDetectors"),
                ("guardduty", "ListFindings"),
                ("guardduty", "GetFindings"),
            ],
        }
    }

    /// Whether `error` is a failure of one of this type's listings.
    pub fn listing_failed(self, error: &CollectionError) -> bool {
        self.listings()
            .iter()
            .any(|(service, operation)| error.service == *service && error.operation == *operation)
    }

    pub fn is_global(self) -> bool {
        matches!(self, ResourceType::Account | ResourceType::IamUser)
    }

    pub const ALL: [ResourceType; 17] = [
        ResourceType::Account,
        ResourceType::Region,
        ResourceType::Vpc,
        ResourceType::Subnet,
        ResourceType::RouteTable,
        ResourceType::InternetGateway,
        ResourceType::NatGateway,
        ResourceType::NetworkAcl,
        ResourceType::SecurityGroup,
        ResourceType::NetworkInterface,
        ResourceType::Instance,
        ResourceType::FlowLog,
        ResourceType::TransitGateway,
        ResourceType::VpcPeeringConnection,
        ResourceType::IamUser,
        ResourceType::GuarddutyDetector,
        ResourceType::GuarddutyFinding,
    ];

    /// What rules read as `resource` on this type: read once from the
    /// types [`extract_into`] serialises, with the analysis's facts marked.
    pub fn schema(self) -> &'static Arc<Object> {
        static SCHEMAS: OnceLock<BTreeMap<ResourceType, Arc<Object>>> = OnceLock::new();
        let schemas = SCHEMAS.get_or_init(|| {
            ResourceType::ALL
                .into_iter()
                .map(|resource_type| (resource_type, Arc::new(resource_type.read_schema())))
                .collect()
        });
        &schemas[&self]
    }

    fn read_schema(self) -> Object {
        /// A snapshot item with the analysis's facts flattened into it.
        fn with_facts<R: JsonSchema + 'static, F: JsonSchema>() -> Object {
            let facts = schema::object_of::<F>();
            schema::object_of::<WithFacts<'static, R, F>>()
                .mark_derived(facts.fields.keys().map(String::as_str))
        }
        match self {
            ResourceType::Account => schema::object_of::<AccountResource>().mark_derived([
                "iam.root",
                "billing_alarms",
                "budgets",
                "identity_center_instances",
            ]),
            ResourceType::Region => schema::object_of::<RegionResource>().mark_derived([
                "ebs_encryption_by_default",
                "instance_metadata_defaults",
                "guardduty",
            ]),
            ResourceType::Vpc => with_facts::<Vpc, &VpcFacts>(),
            ResourceType::Subnet => with_facts::<Subnet, &SubnetFacts>(),
            ResourceType::RouteTable => with_facts::<RouteTable, &RouteTableFacts>(),
            ResourceType::InternetGateway => schema::object_of::<InternetGateway>(),
            ResourceType::NatGateway => with_facts::<NatGateway, &NatGatewayFacts>(),
            ResourceType::NetworkAcl => with_facts::<NetworkAcl, &AclFacts>(),
            ResourceType::SecurityGroup => with_facts::<SecurityGroup, &SecurityGroupFacts>(),
            ResourceType::NetworkInterface => {
                with_facts::<NetworkInterface, ExposureFacts<'static>>()
            }
            ResourceType::Instance => with_facts::<Instance, ExposureFacts<'static>>(),
            ResourceType::FlowLog => schema::object_of::<FlowLog>(),
            ResourceType::TransitGateway => schema::object_of::<TransitGateway>(),
            ResourceType::VpcPeeringConnection => schema::object_of::<VpcPeeringConnection>(),
            ResourceType::IamUser => with_facts::<IamUser, &UserFacts>(),
            ResourceType::GuarddutyDetector => schema::object_of::<Detector>(),
            ResourceType::GuarddutyFinding => schema::object_of::<Finding>(),
        }
    }
}

/// Which resource a result is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceRef {
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    pub id: String,
    pub arn: String,
    pub region: String,
    pub account: String,
}

/// The account as a resource: identity plus every account-wide fact.
#[derive(Serialize, JsonSchema)]
struct AccountResource<'a> {
    id: &'a str,
    arn: &'a str,
    partition: &'a str,
    iam: IamView<'a>,
    /// The CloudWatch billing alarms as collected; `null` when they could
    /// not be listed.
    billing_alarms: Option<&'a [cloudwatch::BillingAlarm]>,
    /// The budgets as collected; `null` when they could not be listed.
    budgets: Option<&'a [budgets::Budget]>,
    /// IAM Identity Center instances found in any region, each permission
    /// set with `grants_administrator` (AdministratorAccess attached or an
    /// inline policy allowing `*` on `*`; `null` when a policy could not be
    /// read and the other does not grant) and
    /// `inline_policy_allows_everything`.
    identity_center_instances: &'a [InstanceFacts],
}

/// IAM as reported, with the root user's state the analysis derived.
#[derive(Serialize, JsonSchema)]
struct IamView<'a> {
    #[serde(flatten)]
    iam: &'a IamAccount,
    /// The root user: `mfa_enabled` and `access_keys_present` (from the
    /// account summary, else the credential report's root row),
    /// `mfa_type` (`none`, `virtual`, `hardware`, or `null` when the
    /// virtual devices could not be listed), `credentials` (the credential
    /// report's root row).
    root: &'a RootFacts,
}

/// A region as a resource: the settings that apply to the whole region.
#[derive(Serialize, JsonSchema)]
struct RegionResource<'a> {
    id: &'a str,
    arn: &'a str,
    region: &'a str,
    /// Whether new EBS volumes are encrypted by default; `null` when it
    /// could not be read.
    ebs_encryption_by_default: Option<bool>,
    /// The instance metadata options new instances get by default; `null`
    /// when they could not be read.
    instance_metadata_defaults: Option<&'a InstanceMetadataDefaults>,
    /// GuardDuty in the region: `status` (`enabled`, `suspended`,
    /// `not_enabled`, or `null` when unknown) and `detector_id`.
    guardduty: Option<&'a GuardDutyFacts>,
}

/// A resource as rules see it: its snapshot fields plus the facts the
/// analysis derived for it.
#[derive(Serialize, JsonSchema)]
struct WithFacts<'a, R, F> {
    #[serde(flatten)]
    resource: &'a R,
    #[serde(flatten)]
    facts: F,
}

#[derive(Serialize, JsonSchema)]
struct ExposureFacts<'a> {
    /// What the internet can reach: `public_ips` (public IPv4 addresses
    /// and Elastic IPs on any private address), `ipv6_addresses` (global
    /// ones), `open_in_security_groups` (port spans the interface's groups
    /// together open to every internet address of a family), `reachable`
    /// (port spans every hop admits, each with its path: addresses,
    /// internet gateway, route table and deciding routes, network ACL
    /// rules, security group rules, load balancer, and the whole path in
    /// one sentence), `blocked_by` (which hop blocks open ports), `unknown`
    /// (what the snapshot lacks for a verdict).
    exposure: &'a Exposure,
}

/// A resource and its value for the interpreter, or why it has none.
pub type Extracted = (ResourceRef, Result<Subject, String>);

/// Every resource of a type in the snapshot, converted for the
/// interpreter with its derived facts. A resource that cannot be converted
/// is returned as an error so the engine reports it rather than dropping
/// it.
pub fn extract(
    snapshot: &Snapshot,
    analysis: &Analysis,
    resource_type: ResourceType,
    needs: &Needs,
) -> Vec<Extracted> {
    let mut out = Vec::new();
    extract_into(
        snapshot,
        analysis,
        resource_type,
        needs,
        &mut out,
        |reference, subject| std::iter::once((reference, subject)),
    );
    out
}

/// Resources are converted this many at a time (in parallel within a
/// batch), so what the engine makes of them is appended to its results
/// batch by batch rather than held twice.
const BATCH: usize = 4096;

/// Like [`extract`], each converted resource handed to `map` as soon as it
/// is converted and its value dropped after: the engine evaluates every
/// rule of the type on it there, so converted values never pile up. What
/// `map` returns is appended to `out`, in the snapshot's order.
pub fn extract_into<T, I>(
    snapshot: &Snapshot,
    analysis: &Analysis,
    resource_type: ResourceType,
    needs: &Needs,
    out: &mut Vec<T>,
    map: impl Fn(ResourceRef, Result<Subject, String>) -> I + Sync,
) where
    I: IntoIterator<Item = T> + Send,
{
    let account = snapshot.account.account_id.as_str();
    let partition = snapshot.account.partition.as_str();
    let now = Some(snapshot.collected_at);
    let reference = |meta: &ResourceMeta| ResourceRef {
        resource_type,
        id: meta.id.clone(),
        arn: meta.arn.clone(),
        region: meta.region.clone(),
        account: account.to_owned(),
    };
    // Converting a resource costs more than evaluating a rule on it, so
    // conversions run in parallel too. `facts` finds a resource's derived
    // facts; a resource the analysis has none for is a bug, reported as
    // an error on that resource.
    macro_rules! each {
        ($items:expr) => {
            for batch in $items.chunks(BATCH) {
                let mapped: Vec<I> = batch
                    .par_iter()
                    .map(|item| map(reference(&item.meta), Subject::new(item, now, needs)))
                    .collect();
                out.extend(mapped.into_iter().flatten());
            }
        };
        ($items:expr, $facts:expr) => {
            for batch in $items.chunks(BATCH) {
                let mapped: Vec<I> = batch
                    .par_iter()
                    .map(|item| {
                        let subject = match $facts(item) {
                            Some(facts) => Subject::new(
                                &WithFacts {
                                    resource: item,
                                    facts,
                                },
                                now,
                                needs,
                            ),
                            None => Err(format!("no derived facts for {}", item.meta.id)),
                        };
                        map(reference(&item.meta), subject)
                    })
                    .collect();
                out.extend(mapped.into_iter().flatten());
            }
        };
    }
    match resource_type {
        ResourceType::Account => {
            let arn = format!("arn:{partition}:iam::{account}:root");
            let resource = AccountResource {
                id: account,
                arn: &arn,
                partition,
                iam: IamView {
                    iam: &snapshot.global.iam,
                    root: &analysis.account.root,
                },
                billing_alarms: analysis
                    .account
                    .billing_alarms_listed
                    .then_some(snapshot.global.billing_alarms.as_slice()),
                budgets: analysis
                    .account
                    .budgets_listed
                    .then_some(snapshot.global.budgets.as_slice()),
                identity_center_instances: &analysis.account.identity_center_instances,
            };
            let meta = ResourceMeta::new(account.to_owned(), arn.clone(), GLOBAL_REGION);
            out.extend(map(reference(&meta), Subject::new(&resource, now, needs)));
        }
        ResourceType::Region => {
            for (name, region) in &snapshot.regions {
                let arn = format!("arn:{partition}:ec2:{name}:{account}:region/{name}");
                let resource = RegionResource {
                    id: name,
                    arn: &arn,
                    region: name,
                    ebs_encryption_by_default: region.ec2.ebs_encryption_by_default,
                    instance_metadata_defaults: region.ec2.instance_metadata_defaults.as_ref(),
                    guardduty: analysis.region(name).map(|facts| &facts.guardduty),
                };
                let meta = ResourceMeta::new(name.clone(), arn.clone(), name);
                out.extend(map(reference(&meta), Subject::new(&resource, now, needs)));
            }
        }
        ResourceType::IamUser => each!(&snapshot.global.iam.users, |item: &IamUser| analysis
            .account
            .users
            .get(&item.meta.id)),
        regional => {
            for (name, region) in &snapshot.regions {
                let ec2 = &region.ec2;
                let facts = analysis.region(name);
                let network = facts.map(|f| &f.network);
                match regional {
                    ResourceType::Vpc => each!(&ec2.vpcs, |item: &Vpc| network
                        .and_then(|n| n.vpcs.get(&item.meta.id))),
                    ResourceType::Subnet => each!(&ec2.subnets, |item: &Subnet| network
                        .and_then(|n| n.subnets.get(&item.meta.id))),
                    ResourceType::RouteTable => each!(&ec2.route_tables, |item: &RouteTable| {
                        network.and_then(|n| n.route_tables.get(&item.meta.id))
                    }),
                    ResourceType::InternetGateway => each!(&ec2.internet_gateways),
                    ResourceType::NatGateway => each!(&ec2.nat_gateways, |item: &NatGateway| {
                        network.and_then(|n| n.nat_gateways.get(&item.meta.id))
                    }),
                    ResourceType::NetworkAcl => each!(&ec2.network_acls, |item: &NetworkAcl| {
                        facts.and_then(|f| f.network_acls.get(&item.meta.id))
                    }),
                    ResourceType::SecurityGroup => {
                        each!(&ec2.security_groups, |item: &SecurityGroup| network
                            .and_then(|n| n.security_groups.get(&item.meta.id)))
                    }
                    ResourceType::NetworkInterface => {
                        each!(&ec2.network_interfaces, |item: &NetworkInterface| facts
                            .and_then(|f| f.network_interfaces.get(&item.meta.id))
                            .map(|exposure| ExposureFacts { exposure }))
                    }
                    ResourceType::Instance => each!(&ec2.instances, |item: &Instance| facts
                        .and_then(|f| f.instances.get(&item.meta.id))
                        .map(|exposure| ExposureFacts { exposure })),
                    ResourceType::FlowLog => each!(&ec2.flow_logs),
                    ResourceType::TransitGateway => each!(&ec2.transit_gateways),
                    ResourceType::VpcPeeringConnection => each!(&ec2.vpc_peering_connections),
                    ResourceType::GuarddutyDetector => each!(&region.guardduty.detectors),
                    ResourceType::GuarddutyFinding => {
                        for detector in &region.guardduty.detectors {
                            each!(detector.findings)
                        }
                    }
                    ResourceType::Account | ResourceType::Region | ResourceType::IamUser => {}
                }
            }
        }
    }
}
