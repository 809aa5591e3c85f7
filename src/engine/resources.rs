//! The resource types rules apply to: how each is found in a snapshot, and
//! which listing call it comes from (when that call failed in a region,
//! rules on the type are "not evaluated" there, never passed).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::expr::Subject;
use crate::snapshot::iam::{GLOBAL_REGION, IamAccount};
use crate::snapshot::{ResourceMeta, Snapshot, budgets, cloudwatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Account,
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

    /// The call that lists this type; `None` for the account, which always
    /// exists. Global listings are made once, regional ones per region.
    pub fn listing(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            ResourceType::Account => return None,
            ResourceType::Vpc => ("ec2", "DescribeVpcs"),
            ResourceType::Subnet => ("ec2", "DescribeSubnets"),
            ResourceType::RouteTable => ("ec2", "DescribeRouteTables"),
            ResourceType::InternetGateway => ("ec2", "DescribeInternetGateways"),
            ResourceType::NatGateway => ("ec2", "DescribeNatGateways"),
            ResourceType::NetworkAcl => ("ec2", "DescribeNetworkAcls"),
            ResourceType::SecurityGroup => ("ec2", "DescribeSecurityGroups"),
            ResourceType::NetworkInterface => ("ec2", "DescribeNetworkInterfaces"),
            ResourceType::Instance => ("ec2", "DescribeInstances"),
            ResourceType::FlowLog => ("ec2", "DescribeFlowLogs"),
            ResourceType::TransitGateway => ("ec2", "DescribeTransitGateways"),
            ResourceType::VpcPeeringConnection => ("ec2", "DescribeVpcPeeringConnections"),
            ResourceType::IamUser => ("iam", "ListUsers"),
            ResourceType::GuarddutyDetector => ("guardduty", "ListDetectors"),
            ResourceType::GuarddutyFinding => ("guardduty", "ListFindings"),
        })
    }

    pub fn is_global(self) -> bool {
        matches!(self, ResourceType::Account | ResourceType::IamUser)
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
#[derive(Serialize)]
struct AccountResource<'a> {
    id: &'a str,
    arn: &'a str,
    partition: &'a str,
    iam: &'a IamAccount,
    billing_alarms: &'a [cloudwatch::BillingAlarm],
    budgets: &'a [budgets::Budget],
}

/// A resource and its value for the interpreter, or why it has none.
pub type Extracted = (ResourceRef, Result<Subject, String>);

/// Every resource of a type in the snapshot, converted for the
/// interpreter. A resource that cannot be converted is returned as an
/// error so the engine reports it rather than dropping it.
pub fn extract(snapshot: &Snapshot, resource_type: ResourceType) -> Vec<Extracted> {
    let account = snapshot.account.account_id.as_str();
    let reference = |meta: &ResourceMeta| ResourceRef {
        resource_type,
        id: meta.id.clone(),
        arn: meta.arn.clone(),
        region: meta.region.clone(),
        account: account.to_owned(),
    };
    let mut out = Vec::new();
    // Converting a resource costs more than evaluating a rule on it, so
    // conversions run in parallel too.
    macro_rules! each {
        ($items:expr) => {
            out.par_extend(
                $items
                    .par_iter()
                    .map(|item| (reference(&item.meta), Subject::new(item))),
            )
        };
    }
    match resource_type {
        ResourceType::Account => {
            let arn = format!("arn:{}:iam::{account}:root", snapshot.account.partition);
            let resource = AccountResource {
                id: account,
                arn: &arn,
                partition: &snapshot.account.partition,
                iam: &snapshot.global.iam,
                billing_alarms: &snapshot.global.billing_alarms,
                budgets: &snapshot.global.budgets,
            };
            let meta = ResourceMeta::new(account.to_owned(), arn.clone(), GLOBAL_REGION);
            out.push((reference(&meta), Subject::new(&resource)));
        }
        ResourceType::IamUser => each!(&snapshot.global.iam.users),
        regional => {
            for region in snapshot.regions.values() {
                let ec2 = &region.ec2;
                match regional {
                    ResourceType::Vpc => each!(&ec2.vpcs),
                    ResourceType::Subnet => each!(&ec2.subnets),
                    ResourceType::RouteTable => each!(&ec2.route_tables),
                    ResourceType::InternetGateway => each!(&ec2.internet_gateways),
                    ResourceType::NatGateway => each!(&ec2.nat_gateways),
                    ResourceType::NetworkAcl => each!(&ec2.network_acls),
                    ResourceType::SecurityGroup => each!(&ec2.security_groups),
                    ResourceType::NetworkInterface => each!(&ec2.network_interfaces),
                    ResourceType::Instance => each!(&ec2.instances),
                    ResourceType::FlowLog => each!(&ec2.flow_logs),
                    ResourceType::TransitGateway => each!(&ec2.transit_gateways),
                    ResourceType::VpcPeeringConnection => each!(&ec2.vpc_peering_connections),
                    ResourceType::GuarddutyDetector => each!(&region.guardduty.detectors),
                    ResourceType::GuarddutyFinding => {
                        for detector in &region.guardduty.detectors {
                            each!(detector.findings)
                        }
                    }
                    ResourceType::Account | ResourceType::IamUser => {}
                }
            }
        }
    }
    out
}
