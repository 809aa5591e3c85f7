//! GuardDuty collector, per region: the detector with its features, the
//! count of active findings per severity band, and the active findings
//! themselves, most severe first, up to a cap.

use std::collections::BTreeMap;

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types as aws;

use super::Scope;
use crate::snapshot::ResourceMeta;
use crate::snapshot::guardduty::*;

const SERVICE: &str = "guardduty";
/// GetFindings accepts at most 50 ids; ListFindings returns at most 50.
const PAGE_SIZE: usize = 50;
/// The most groups GetFindingsStatistics returns (its default is 25).
const MAX_SEVERITY_GROUPS: i32 = 100;

pub async fn collect_region(
    client: &Client,
    scope: &Scope<'_>,
    max_findings: usize,
) -> GuardDutyRegion {
    let Some(ids) = scope
        .call(
            client
                .list_detectors()
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
    else {
        return GuardDutyRegion::default();
    };
    let mut detectors = Vec::with_capacity(ids.len());
    for id in ids {
        detectors.push(detector(client, scope, id, max_findings).await);
    }
    GuardDutyRegion { detectors }
}

/// Only findings that are not archived: archived ones were dismissed.
fn active_findings() -> aws::FindingCriteria {
    aws::FindingCriteria::builder()
        .criterion(
            "service.archived",
            aws::Condition::builder().equals("false").build(),
        )
        .build()
}

async fn detector(client: &Client, scope: &Scope<'_>, id: String, max_findings: usize) -> Detector {
    let arn = scope.arn(SERVICE, &format!("detector/{id}"));
    let scope = &scope.about(&arn);
    // A detector whose details could not be read is still a detector: it is
    // kept with no status rather than dropped, which would read as "off".
    let (output, active_findings_by_severity, listed) = tokio::join!(
        scope.call(client.get_detector().detector_id(&id).send(),),
        severity_counts(client, scope, &id),
        findings(client, scope, &id, max_findings),
    );
    let findings_truncated = match &active_findings_by_severity {
        Some(counts) => counts.values().sum::<u64>() > listed.findings.len() as u64,
        None => listed.stopped_at_cap,
    };
    let output = output.unwrap_or_else(|| {
        aws_sdk_guardduty::operation::get_detector::GetDetectorOutput::builder().build()
    });
    Detector {
        meta: ResourceMeta {
            tags: output.tags.unwrap_or_default().into_iter().collect(),
            ..ResourceMeta::new(id.clone(), arn.clone(), scope.region)
        },
        status: output.status.map(|s| s.as_str().to_owned()),
        finding_publishing_frequency: output
            .finding_publishing_frequency
            .map(|f| f.as_str().to_owned()),
        service_role: output.service_role,
        created_at: output.created_at,
        updated_at: output.updated_at,
        features: output
            .features
            .unwrap_or_default()
            .into_iter()
            .filter_map(|feature| {
                Some(DetectorFeature {
                    name: feature.name?.as_str().to_owned(),
                    status: feature.status.map(|s| s.as_str().to_owned()),
                    additional_configuration: feature
                        .additional_configuration
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|extra| {
                            Some(FeatureConfiguration {
                                name: extra.name?.as_str().to_owned(),
                                status: extra.status.map(|s| s.as_str().to_owned()),
                            })
                        })
                        .collect(),
                })
            })
            .collect(),
        active_findings_by_severity,
        findings: listed.findings,
        findings_truncated,
    }
}

async fn severity_counts(
    client: &Client,
    scope: &Scope<'_>,
    detector: &str,
) -> Option<BTreeMap<SeverityLabel, u64>> {
    let (output, operation) = scope
        .call_named(
            client
                .get_findings_statistics()
                .detector_id(detector)
                .finding_criteria(active_findings())
                .group_by(aws::GroupByType::Severity)
                .max_results(MAX_SEVERITY_GROUPS)
                .send(),
        )
        .await?;
    let mut counts: BTreeMap<SeverityLabel, u64> = [
        SeverityLabel::Low,
        SeverityLabel::Medium,
        SeverityLabel::High,
        SeverityLabel::Critical,
    ]
    .into_iter()
    .map(|label| (label, 0))
    .collect();
    let groups = output
        .finding_statistics
        .and_then(|stats| stats.grouped_by_severity)
        .unwrap_or_default();
    // The statistics cannot be paged; a full page may have left groups out,
    // and partial counts must not pass for complete ones.
    if groups.len() >= MAX_SEVERITY_GROUPS as usize {
        scope.record_failure(
            &operation,
            "IncompleteStatistics",
            format!("more than {MAX_SEVERITY_GROUPS} severity groups; counts left out"),
        );
        return None;
    }
    for group in groups {
        let (Some(severity), Some(total)) = (group.severity, group.total_findings) else {
            continue;
        };
        *counts
            .entry(SeverityLabel::from_score(severity))
            .or_default() += u64::try_from(total).unwrap_or(0);
    }
    Some(counts)
}

/// Active findings as listed and read, and whether the cap stopped the
/// listing while GuardDuty still offered more.
struct Listed {
    findings: Vec<Finding>,
    stopped_at_cap: bool,
}

/// Lists active finding ids, most severe first, up to the cap, then reads
/// them in batches.
async fn findings(
    client: &Client,
    scope: &Scope<'_>,
    detector: &str,
    max_findings: usize,
) -> Listed {
    let mut ids: Vec<String> = Vec::new();
    let mut next_token: Option<String> = None;
    let mut stopped_at_cap = false;
    loop {
        let remaining = max_findings.saturating_sub(ids.len());
        if remaining == 0 {
            stopped_at_cap = next_token.is_some() || ids.is_empty();
            break;
        }
        let Some(page) = scope
            .call(
                client
                    .list_findings()
                    .detector_id(detector)
                    .finding_criteria(active_findings())
                    .sort_criteria(
                        aws::SortCriteria::builder()
                            .attribute_name("severity")
                            .order_by(aws::OrderBy::Desc)
                            .build(),
                    )
                    .max_results(remaining.min(PAGE_SIZE) as i32)
                    .set_next_token(next_token.clone())
                    .send(),
            )
            .await
        else {
            break;
        };
        let page_ids = page.finding_ids.unwrap_or_default();
        let token = page.next_token.filter(|token| !token.is_empty());
        // An empty page or a token seen before would loop forever.
        let stalled = page_ids.is_empty() || (token.is_some() && token == next_token);
        ids.extend(page_ids.into_iter().take(remaining));
        next_token = token;
        if next_token.is_none() || stalled {
            break;
        }
    }

    let mut findings = Vec::with_capacity(ids.len());
    for batch in ids.chunks(PAGE_SIZE) {
        let Some(output) = scope
            .call(
                client
                    .get_findings()
                    .detector_id(detector)
                    .set_finding_ids(Some(batch.to_vec()))
                    .send(),
            )
            .await
        else {
            continue;
        };
        findings.extend(
            output
                .findings
                .unwrap_or_default()
                .into_iter()
                .map(|finding| convert(finding, scope)),
        );
    }
    // GetFindings answers in no particular order; most severe first, then
    // by id, keeps the snapshot stable between runs.
    findings.sort_by(|a, b| {
        b.severity
            .total_cmp(&a.severity)
            .then_with(|| a.meta.id.cmp(&b.meta.id))
    });
    Listed {
        findings,
        stopped_at_cap,
    }
}

fn convert(finding: aws::Finding, scope: &Scope<'_>) -> Finding {
    let id = finding.id.unwrap_or_default();
    let severity = finding.severity.unwrap_or(0.0);
    let service = finding.service;
    Finding {
        meta: ResourceMeta::new(
            id.clone(),
            finding
                .arn
                .unwrap_or_else(|| scope.arn(SERVICE, &format!("finding/{id}"))),
            finding.region.as_deref().unwrap_or(scope.region),
        ),
        account_id: finding.account_id,
        finding_type: finding.r#type.unwrap_or_default(),
        title: finding.title,
        description: finding.description,
        severity,
        severity_label: SeverityLabel::from_score(severity),
        resource: finding.resource.map(resource).unwrap_or_default(),
        first_seen: service.as_ref().and_then(|s| s.event_first_seen.clone()),
        last_seen: service.as_ref().and_then(|s| s.event_last_seen.clone()),
        count: service.as_ref().and_then(|s| s.count),
        created_at: finding.created_at,
        updated_at: finding.updated_at,
        archived: service.and_then(|s| s.archived).unwrap_or(false),
    }
}

fn resource(r: aws::Resource) -> FindingResource {
    let access_key = r.access_key_details;
    FindingResource {
        resource_type: r.resource_type,
        instance_id: r.instance_details.and_then(|i| i.instance_id),
        access_key_id: access_key.as_ref().and_then(|k| k.access_key_id.clone()),
        user_name: access_key.as_ref().and_then(|k| k.user_name.clone()),
        user_type: access_key.and_then(|k| k.user_type),
        bucket_names: r
            .s3_bucket_details
            .unwrap_or_default()
            .into_iter()
            .filter_map(|bucket| bucket.name)
            .collect(),
        eks_cluster_name: r.eks_cluster_details.and_then(|c| c.name),
        lambda_function_arn: r.lambda_details.and_then(|l| l.function_arn),
        rds_db_instance_identifier: r
            .rds_db_instance_details
            .and_then(|d| d.db_instance_identifier),
        ecs_cluster_name: r.ecs_cluster_details.and_then(|c| c.name),
        container_name: r.container_details.and_then(|c| c.name),
    }
}
