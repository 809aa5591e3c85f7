//! Faults the replay front injects between rampart and the emulator, as a
//! flaky network or a restrictive policy would: a denied operation (in one
//! region or all), throttling, server errors, dropped connections, delays
//! and calls that never answer. Each is answered in the service's own wire
//! format, so the SDK's deserializers and retry classifiers see what they
//! would see from AWS.
//!
//! Which attempts a partial fault hits is decided by counting each call's
//! attempts, not by chance, so a test gives the same result every run.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

/// What happens to a request a fault matches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Effect {
    /// Access denied, as an IAM deny statement gives it.
    Deny,
    /// The service's throttling error (retried by the SDK).
    Throttle,
    /// HTTP 500 (retried by the SDK).
    ServerError,
    /// The connection is closed without an answer.
    Drop,
    /// Answered only after this long.
    Delay(Duration),
    /// Never answered; the connection stays open.
    Hang,
}

/// One fault: which calls it hits and how often.
#[derive(Clone, Debug)]
pub struct Fault {
    /// An IAM action, `ec2:DescribeSubnets`; `None` for every call.
    pub action: Option<String>,
    /// `None` for every region (global services have none).
    pub region: Option<String>,
    pub effect: Effect,
    /// The share of matching attempts hit, 0.0 to 1.0.
    pub rate: f64,
    /// Only requests whose body contains this (a role ARN's account id).
    pub body_contains: Option<String>,
}

impl Fault {
    /// `action` denied everywhere.
    pub fn deny(action: &str) -> Fault {
        Fault {
            action: Some(action.to_owned()),
            region: None,
            effect: Effect::Deny,
            rate: 1.0,
            body_contains: None,
        }
    }

    /// `action` denied when its request body contains `text`.
    pub fn deny_when(action: &str, text: &str) -> Fault {
        Fault {
            body_contains: Some(text.to_owned()),
            ..Fault::deny(action)
        }
    }

    /// `action` denied in `region` only.
    pub fn deny_in(action: &str, region: &str) -> Fault {
        Fault {
            region: Some(region.to_owned()),
            ..Fault::deny(action)
        }
    }

    /// Every call hit by `effect` at `rate`.
    pub fn everywhere(effect: Effect, rate: f64) -> Fault {
        Fault {
            action: None,
            region: None,
            effect,
            rate,
            body_contains: None,
        }
    }
}

/// The faults of one front, and how many times it has seen each request
/// (for partial rates).
#[derive(Default)]
pub struct Faults {
    faults: Vec<Fault>,
    attempts: Mutex<BTreeMap<u64, u64>>,
}

impl Faults {
    pub fn new(faults: Vec<Fault>) -> Faults {
        Faults {
            faults,
            attempts: Mutex::new(BTreeMap::new()),
        }
    }

    /// The effect to apply to this attempt of `action` in `region`, if any.
    /// `request` identifies the call (its retries repeat it): the k-th
    /// attempt is hit when `offset + k·φ mod 1` falls below the rate, the
    /// offset drawn from the request. So hits are spread evenly over
    /// calls, the same each run whatever order calls come in, and at rates
    /// up to one half no call is hit three attempts running: the SDK's
    /// retries always get through.
    pub fn hit(&self, action: &str, region: &str, request: &[u8]) -> Option<Effect> {
        let fault = self.faults.iter().find(|fault| {
            fault.action.as_deref().is_none_or(|a| a == action)
                && fault.region.as_deref().is_none_or(|r| r == region)
                && fault.body_contains.as_deref().is_none_or(|text| {
                    request
                        .windows(text.len())
                        .any(|window| window == text.as_bytes())
                })
        })?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (action, region, request).hash(&mut hasher);
        let identity = hasher.finish();
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
            let count = attempts.entry(identity).or_insert(0);
            *count += 1;
            *count
        };
        const PHI: f64 = 0.618_033_988_749_894_9;
        let offset = identity as f64 / u64::MAX as f64;
        let position = (offset + attempt as f64 * PHI).fract();
        (position < fault.rate).then_some(fault.effect)
    }
}

/// The IAM action prefix of a SigV4 signing name.
pub fn iam_prefix(signing_name: &str) -> &str {
    match signing_name {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

/// An error answer of `effect` (Deny, Throttle or ServerError) in the wire
/// format of the service with this signing name: (status, headers, body).
pub fn error_response(
    signing_name: &str,
    effect: Effect,
    action: &str,
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let (query_code, json_code, status) = match effect {
        Effect::Deny => ("AccessDenied", "AccessDeniedException", 403),
        Effect::Throttle => ("Throttling", "ThrottlingException", 400),
        _ => ("InternalFailure", "InternalServerException", 500),
    };
    let message = match effect {
        Effect::Deny => format!(
            "User: arn:aws:iam::123456789012:user/scanner is not authorized to perform: {action} with an explicit deny"
        ),
        Effect::Throttle => "Rate exceeded".to_owned(),
        _ => "We encountered an internal error. Please try again.".to_owned(),
    };
    let xml = |body: String| {
        (
            vec![("Content-Type", "text/xml".to_owned())],
            body.into_bytes(),
        )
    };
    let (headers, body) = match signing_name {
        "ec2" => {
            let code = match effect {
                Effect::Deny => "UnauthorizedOperation",
                Effect::Throttle => "RequestLimitExceeded",
                _ => "InternalError",
            };
            xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>\
                 <Message>{message}</Message></Error></Errors>\
                 <RequestID>3a1b2c4d-0000-4000-8000-fault0000001</RequestID></Response>"
            ))
        }
        "iam" | "sts" | "elasticloadbalancing" => xml(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code>\
             <Message>{message}</Message></Error>\
             <RequestId>3a1b2c4d-0000-4000-8000-fault0000002</RequestId></ErrorResponse>"
        )),
        "guardduty" => {
            let code = match effect {
                Effect::Throttle => "TooManyRequestsException",
                _ => json_code,
            };
            (
                vec![
                    ("Content-Type", "application/json".to_owned()),
                    ("x-amzn-ErrorType", code.to_owned()),
                ],
                json!({"message": message}).to_string().into_bytes(),
            )
        }
        "monitoring" => {
            let mut bytes = Vec::new();
            let value = ciborium::Value::Map(vec![
                (
                    ciborium::Value::Text("__type".to_owned()),
                    ciborium::Value::Text(json_code.to_owned()),
                ),
                (
                    ciborium::Value::Text("message".to_owned()),
                    ciborium::Value::Text(message.clone()),
                ),
            ]);
            ciborium::into_writer(&value, &mut bytes)
                .unwrap_or_else(|e| panic!("cannot encode CBOR: {e}"));
            (
                vec![
                    ("Content-Type", "application/cbor".to_owned()),
                    ("smithy-protocol", "rpc-v2-cbor".to_owned()),
                ],
                bytes,
            )
        }
        // JSON 1.1: IAM Identity Center (`sso`), Budgets.
        _ => (
            vec![("Content-Type", "application/x-amz-json-1.1".to_owned())],
            json!({"__type": json_code, "message": message})
                .to_string()
                .into_bytes(),
        ),
    };
    let status = match (signing_name, effect) {
        ("ec2", Effect::Throttle) => 503,
        ("guardduty", Effect::Throttle) => 429,
        _ => status,
    };
    (status, headers, body)
}
