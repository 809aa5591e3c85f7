//! Elastic Load Balancing v2: application, network and gateway load
//! balancers with their listeners, and target groups with their registered
//! targets, as the API describes them.

use serde::{Deserialize, Serialize};

use super::ResourceMeta;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Elbv2Region {
    pub load_balancers: Vec<LoadBalancer>,
    pub target_groups: Vec<TargetGroup>,
}

/// A load balancer; `meta.id` is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `application`, `network` or `gateway`.
    pub kind: String,
    /// `internet-facing` or `internal`.
    pub scheme: Option<String>,
    pub vpc_id: Option<String>,
    /// `active`, `provisioning`, `active_impaired` or `failed`.
    pub state: Option<String>,
    pub dns_name: Option<String>,
    /// `ipv4`, `dualstack` or `dualstack-without-public-ipv4`.
    pub ip_address_type: Option<String>,
    pub subnet_ids: Vec<String>,
    /// Empty for a network load balancer created without groups, which
    /// then admits every client.
    pub security_group_ids: Vec<String>,
    /// `null` when DescribeListeners failed for this load balancer.
    pub listeners: Option<Vec<Listener>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`, `GENEVE`, ...
    pub protocol: Option<String>,
    pub port: Option<i32>,
    /// Target groups the default actions forward to.
    pub forwards_to: Vec<String>,
}

/// A target group; `meta.id` is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroup {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    pub protocol: Option<String>,
    pub port: Option<i32>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: Option<String>,
    pub vpc_id: Option<String>,
    pub load_balancer_arns: Vec<String>,
    /// The `preserve_client_ip.enabled` attribute of a network load
    /// balancer's group; `null` when not read (other kinds, or the call
    /// failed).
    pub preserve_client_ip: Option<bool>,
    /// `null` when DescribeTargetHealth failed for this group.
    pub targets: Option<Vec<Target>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// An instance id, an IP address, a Lambda function or an ALB ARN.
    pub id: String,
    /// The port traffic is sent to; the group's when not overridden.
    pub port: Option<i32>,
    /// `healthy`, `unhealthy`, `initial`, `unused`, `draining`, ...
    pub health: Option<String>,
}
