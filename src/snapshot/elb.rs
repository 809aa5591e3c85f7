//! Classic Load Balancers (Elastic Load Balancing v1), as the API
//! describes them: listeners and registered instances inline.

use serde::{Deserialize, Serialize};

use super::ResourceMeta;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ElbRegion {
    pub load_balancers: Vec<ClassicLoadBalancer>,
}

/// A Classic Load Balancer; `meta.id` is its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicLoadBalancer {
    #[serde(flatten)]
    pub meta: ResourceMeta,
    /// `internet-facing` or `internal`.
    pub scheme: Option<String>,
    pub vpc_id: Option<String>,
    pub dns_name: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub listeners: Vec<ClassicListener>,
    pub instance_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicListener {
    /// `HTTP`, `HTTPS`, `TCP` or `SSL`.
    pub protocol: String,
    pub load_balancer_port: i32,
    pub instance_protocol: Option<String>,
    pub instance_port: i32,
}
