//! Classic Load Balancer collector, per region: one listing holds the
//! listeners and registered instances.

use aws_sdk_elasticloadbalancing::Client;
use aws_sdk_elasticloadbalancing::types as aws;

use super::{Malformed, Scope, convert_all, required};
use crate::snapshot::ResourceMeta;
use crate::snapshot::elb::*;

const SERVICE: &str = "elasticloadbalancing";

pub async fn collect_region(client: &Client, scope: &Scope<'_>) -> ElbRegion {
    let listed = scope
        .call_named(
            client
                .describe_load_balancers()
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await;
    ElbRegion {
        load_balancers: convert_all(listed, scope, load_balancer),
    }
}

fn load_balancer(
    lb: aws::LoadBalancerDescription,
    scope: &Scope<'_>,
) -> Result<ClassicLoadBalancer, Malformed> {
    let name = required(lb.load_balancer_name, "a name", "a classic load balancer")?;
    let arn = scope.arn(SERVICE, &format!("loadbalancer/{name}"));
    Ok(ClassicLoadBalancer {
        meta: ResourceMeta::new(name, arn, scope.region),
        scheme: lb.scheme,
        vpc_id: lb.vpc_id,
        dns_name: lb.dns_name,
        // Query APIs omit empty lists, so an absent one holds nothing.
        subnet_ids: lb.subnets.unwrap_or_default(),
        security_group_ids: lb.security_groups.unwrap_or_default(),
        listeners: lb
            .listener_descriptions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|description| description.listener)
            .map(|l| ClassicListener {
                protocol: l.protocol,
                load_balancer_port: l.load_balancer_port,
                instance_protocol: l.instance_protocol,
                instance_port: l.instance_port,
            })
            .collect(),
        instance_ids: lb
            .instances
            .unwrap_or_default()
            .into_iter()
            .filter_map(|instance| instance.instance_id)
            .collect(),
    })
}
