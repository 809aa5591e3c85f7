//! GuardDuty's state in a region, from its detector.

use schemars::JsonSchema;
use serde::Serialize;

use crate::snapshot::guardduty::GuardDutyRegion;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct GuardDutyFacts {
    /// `enabled`, `suspended`, `not_enabled` (no detector), or `null` when
    /// the detector's state could not be read.
    pub status: Option<&'static str>,
    pub detector_id: Option<String>,
}

impl GuardDutyFacts {
    /// A region has at most one detector; its status decides.
    pub fn of(region: &GuardDutyRegion) -> GuardDutyFacts {
        let detector = region.detectors.first();
        GuardDutyFacts {
            status: match detector.map(|d| d.status.as_deref()) {
                None => Some("not_enabled"),
                Some(Some("ENABLED")) => Some("enabled"),
                Some(Some(_)) => Some("suspended"),
                Some(None) => None,
            },
            detector_id: detector.map(|d| d.meta.id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(detectors: serde_json::Value) -> GuardDutyRegion {
        serde_json::from_value(serde_json::json!({ "detectors": detectors }))
            .expect("region parses")
    }

    fn detector(status: Option<&str>) -> serde_json::Value {
        serde_json::json!({"id": "d-1", "arn": "arn:aws:guardduty:us-east-1:123456789012:detector/d-1",
            "region": "us-east-1", "status": status, "features": [], "findings": [],
            "findings_truncated": false})
    }

    #[test]
    fn no_detector_is_not_enabled_and_an_unread_status_is_unknown() {
        assert_eq!(
            GuardDutyFacts::of(&region(serde_json::json!([]))).status,
            Some("not_enabled")
        );
        let enabled = GuardDutyFacts::of(&region(serde_json::json!([detector(Some("ENABLED"))])));
        assert_eq!(
            (enabled.status, enabled.detector_id.as_deref()),
            (Some("enabled"), Some("d-1"))
        );
        assert_eq!(
            GuardDutyFacts::of(&region(serde_json::json!([detector(Some("DISABLED"))]))).status,
            Some("suspended")
        );
        assert_eq!(
            GuardDutyFacts::of(&region(serde_json::json!([detector(None)]))).status,
            None
        );
    }
}
