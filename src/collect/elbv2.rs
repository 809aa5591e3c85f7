//! Elastic Load Balancing v2 collector, per region: load balancers and
//! their listeners, target groups with their registered targets and, for
//! network load balancers' groups, whether client addresses are preserved.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types as aws;
use futures::future::join_all;

use super::{Malformed, Scope, convert_all, required};
use crate::snapshot::ResourceMeta;
use crate::snapshot::elbv2::*;

pub async fn collect_region(client: &Client, scope: &Scope<'_>) -> Elbv2Region {
    let (load_balancers, target_groups) = tokio::join!(
        scope.call_named(
            client
                .describe_load_balancers()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
        scope.call_named(
            client
                .describe_target_groups()
                .into_paginator()
                .items()
                .send()
                .try_collect()
        ),
    );
    let load_balancers = convert_all(load_balancers, scope, load_balancer);
    let target_groups = convert_all(target_groups, scope, target_group);
    let (load_balancers, target_groups) = tokio::join!(
        join_all(
            load_balancers
                .into_iter()
                .map(|balancer| with_listeners(client, scope, balancer))
        ),
        join_all(
            target_groups
                .into_iter()
                .map(|group| with_targets(client, scope, group))
        ),
    );
    Elbv2Region {
        load_balancers,
        target_groups,
    }
}

fn load_balancer(lb: aws::LoadBalancer, scope: &Scope<'_>) -> Result<LoadBalancer, Malformed> {
    let name = required(lb.load_balancer_name, "a name", "a load balancer")?;
    let arn = required(
        lb.load_balancer_arn,
        "an ARN",
        &format!("load balancer {name}"),
    )?;
    let kind = required(lb.r#type, "a type", &format!("load balancer {name}"))?;
    Ok(LoadBalancer {
        meta: ResourceMeta::new(name, arn, scope.region),
        kind: kind.as_str().to_owned(),
        scheme: lb.scheme.map(|s| s.as_str().to_owned()),
        vpc_id: lb.vpc_id,
        state: lb.state.and_then(|s| s.code).map(|c| c.as_str().to_owned()),
        dns_name: lb.dns_name,
        ip_address_type: lb.ip_address_type.map(|t| t.as_str().to_owned()),
        // EC2-style APIs omit empty lists, so an absent one holds nothing.
        subnet_ids: lb
            .availability_zones
            .unwrap_or_default()
            .into_iter()
            .filter_map(|zone| zone.subnet_id)
            .collect(),
        security_group_ids: lb.security_groups.unwrap_or_default(),
        listeners: None,
    })
}

/// The load balancer with its listeners; they stay `None` when the call
/// failed, which the failure records.
async fn with_listeners(
    client: &Client,
    scope: &Scope<'_>,
    mut balancer: LoadBalancer,
) -> LoadBalancer {
    let arn = balancer.meta.arn.clone();
    let scope = scope.about(&arn);
    let listed = scope
        .call_named(
            client
                .describe_listeners()
                .load_balancer_arn(&arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await;
    if listed.is_some() {
        balancer.listeners = Some(convert_all(listed, &scope, listener));
    }
    balancer
}

fn listener(l: aws::Listener, _scope: &Scope<'_>) -> Result<Listener, Malformed> {
    let arn = required(l.listener_arn, "an ARN", "a listener")?;
    let forwards_to = l
        .default_actions
        .unwrap_or_default()
        .into_iter()
        .filter(|action| action.r#type == Some(aws::ActionTypeEnum::Forward))
        .flat_map(|action| {
            let weighted = action
                .forward_config
                .and_then(|config| config.target_groups)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|tuple| tuple.target_group_arn);
            action.target_group_arn.into_iter().chain(weighted)
        })
        .collect::<std::collections::BTreeSet<String>>()
        .into_iter()
        .collect();
    Ok(Listener {
        arn,
        protocol: l.protocol.map(|p| p.as_str().to_owned()),
        port: l.port,
        forwards_to,
    })
}

fn target_group(g: aws::TargetGroup, scope: &Scope<'_>) -> Result<TargetGroup, Malformed> {
    let name = required(g.target_group_name, "a name", "a target group")?;
    let arn = required(
        g.target_group_arn,
        "an ARN",
        &format!("target group {name}"),
    )?;
    Ok(TargetGroup {
        meta: ResourceMeta::new(name, arn, scope.region),
        protocol: g.protocol.map(|p| p.as_str().to_owned()),
        port: g.port,
        target_type: g.target_type.map(|t| t.as_str().to_owned()),
        vpc_id: g.vpc_id,
        load_balancer_arns: g.load_balancer_arns.unwrap_or_default(),
        preserve_client_ip: None,
        targets: None,
    })
}

/// Whether a target group belongs to a network load balancer: its
/// protocol is a transport one.
fn is_network(group: &TargetGroup) -> bool {
    matches!(
        group.protocol.as_deref(),
        Some("TCP" | "UDP" | "TLS" | "TCP_UDP")
    )
}

async fn with_targets(client: &Client, scope: &Scope<'_>, mut group: TargetGroup) -> TargetGroup {
    let arn = group.meta.arn.clone();
    let scope = scope.about(&arn);
    let health = scope.call(
        client
            .describe_target_health()
            .target_group_arn(&arn)
            .send(),
    );
    let attributes = async {
        if !is_network(&group) {
            return None;
        }
        scope
            .call(
                client
                    .describe_target_group_attributes()
                    .target_group_arn(&arn)
                    .send(),
            )
            .await
    };
    let (health, attributes) = tokio::join!(health, attributes);
    group.targets = health.map(|output| {
        output
            .target_health_descriptions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|description| {
                let target = description.target?;
                Some(Target {
                    id: target.id?,
                    port: target.port,
                    health: description
                        .target_health
                        .and_then(|h| h.state)
                        .map(|s| s.as_str().to_owned()),
                })
            })
            .collect()
    });
    group.preserve_client_ip = attributes.and_then(|output| {
        output
            .attributes
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.key.as_deref() == Some("preserve_client_ip.enabled"))
            .and_then(|a| a.value)
            .map(|value| value == "true")
    });
    group
}
