//! The collection ledger: every API call the SDK clients make passes through
//! it. It counts calls per operation, records failed calls, and refuses any
//! operation that could change the account, so a scan is read-only by
//! construction rather than by convention.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::snapshot::CollectionError;

/// Whether an operation only reads: the allow-list rampart promises its
/// users (and the IAM policy it documents) is exactly this.
pub fn is_read_only(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
        || operation == "GenerateCredentialReport"
}

tokio::task_local! {
    /// The operation the SDK is making inside [`named`], as the
    /// interceptor reads it from the SDK's own metadata.
    static OPERATION: RefCell<Option<Operation>>;
}

/// An operation as the snapshot names it: the IAM action prefix of its
/// service (`sso`, not `ssoadmin`) and the API's operation name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub service: String,
    pub name: String,
}

impl Operation {
    /// For a call that failed before the SDK named it.
    pub fn unknown() -> Operation {
        Operation {
            service: "unknown".to_owned(),
            name: "unknown".to_owned(),
        }
    }
}

/// Runs one SDK call (or a drained paginator) and names the operation it
/// made, so that failures are recorded under the SDK's name rather than
/// one written again at the call site. `None` when the call failed before
/// the SDK named it.
pub async fn named<T>(call: impl Future<Output = T>) -> (T, Option<Operation>) {
    OPERATION
        .scope(RefCell::new(None), async {
            let result = call.await;
            let operation = OPERATION.with(|cell| cell.borrow_mut().take());
            (result, operation)
        })
        .await
}

#[derive(Debug, Default)]
struct LedgerState {
    calls: BTreeMap<String, u64>,
    errors: Vec<CollectionError>,
}

/// Where a failed call was made: which operation, in which region (none
/// for global services), about which resource (none for listings).
#[derive(Debug, Clone, Copy)]
pub struct CallSite<'a> {
    pub service: &'a str,
    pub region: Option<&'a str>,
    pub operation: &'a str,
    pub resource: Option<&'a str>,
}

/// Shared by every client of one collection run.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    state: Arc<Mutex<LedgerState>>,
}

impl Ledger {
    fn with_state<T>(&self, f: impl FnOnce(&mut LedgerState) -> T) -> T {
        // A panic elsewhere while holding the lock leaves counts that are
        // still valid numbers; keep using them rather than propagate.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// Records a failed call; the caller carries on without its data.
    pub fn record_error<E>(&self, call: CallSite<'_>, err: &SdkError<E, HttpResponse>)
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let (code, message) = describe_error(err);
        self.record(call, &code, message);
    }

    /// Records a failure that is not an SDK error (a malformed response).
    pub fn record(&self, call: CallSite<'_>, code: &str, message: String) {
        let CallSite {
            service,
            region,
            operation,
            resource,
        } = call;
        tracing::warn!(
            service,
            region,
            operation,
            resource,
            code,
            message,
            "call failed"
        );
        self.with_state(|state| {
            state.errors.push(CollectionError {
                service: service.to_owned(),
                region: region.map(str::to_owned),
                operation: operation.to_owned(),
                resource: resource.map(str::to_owned),
                code: code.to_owned(),
                message,
            })
        });
    }

    /// Call counts and errors so far, errors in a stable order whatever
    /// order the concurrent calls finished in.
    pub fn take(&self) -> (BTreeMap<String, u64>, Vec<CollectionError>) {
        let (calls, mut errors) = self.with_state(|state| {
            (
                std::mem::take(&mut state.calls),
                std::mem::take(&mut state.errors),
            )
        });
        errors.sort();
        (calls, errors)
    }

    /// The interceptor to install on every SDK client of this run.
    pub fn interceptor(&self) -> LedgerInterceptor {
        LedgerInterceptor {
            ledger: self.clone(),
        }
    }
}

/// Error code and message of a failed call. Calls that got no response
/// have no AWS code, so they get a code saying why; a response whose error
/// body could not be read is named by its HTTP status and shows the start
/// of the body, which is what a person debugging a proxy needs.
pub(crate) fn describe_error<E>(err: &SdkError<E, HttpResponse>) -> (String, String)
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let code = match err {
        SdkError::ServiceError(_) => match (err.code(), err.raw_response()) {
            (Some(code), _) => code.to_owned(),
            (None, Some(response)) => format!("HTTP {}", response.status().as_u16()),
            (None, None) => "Unknown".to_owned(),
        },
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "Timeout".to_owned(),
        SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
        SdkError::ResponseError(_) => "ResponseError".to_owned(),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".to_owned(),
        _ => "Unknown".to_owned(),
    };
    let body_start = || {
        let bytes = err.raw_response()?.body().bytes()?;
        let text: String = String::from_utf8_lossy(bytes)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (!text.is_empty()).then(|| text.chars().take(MAX_BODY_CHARS).collect())
    };
    let message = match (err.message(), err.code()) {
        (Some(message), _) => message.to_owned(),
        (None, None) => body_start().unwrap_or_else(|| root_cause(err)),
        (None, Some(_)) => root_cause(err),
    };
    (code, message)
}

/// How much of an unreadable error body is kept in the message.
const MAX_BODY_CHARS: usize = 300;

/// The innermost cause, which for a call that got no response is the one a
/// person can act on ("Connection refused", "dns error: ...").
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The IAM action prefix of an SDK service name, so call counts read as
/// the IAM actions a policy must allow (`sso:ListInstances`, not
/// `ssoadmin:ListInstances`; one `elasticloadbalancing` prefix authorises
/// both load balancing APIs).
fn iam_prefix(sdk_service: &str) -> String {
    let name = sdk_service.to_ascii_lowercase().replace(' ', "");
    match name.as_str() {
        "ssoadmin" => "sso".to_owned(),
        "elasticloadbalancingv2" => "elasticloadbalancing".to_owned(),
        _ => name,
    }
}

#[derive(Debug)]
pub struct LedgerInterceptor {
    ledger: Ledger,
}

impl Intercept for LedgerInterceptor {
    fn name(&self) -> &'static str {
        "RampartLedger"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(metadata) = cfg.load::<Metadata>() else {
            return Err("rampart refuses an SDK call whose operation it cannot name".into());
        };
        if !is_read_only(metadata.name()) {
            return Err(format!(
                "rampart refuses to call {}:{}, which is not a read-only operation",
                metadata.service(),
                metadata.name()
            )
            .into());
        }
        let operation = Operation {
            service: iam_prefix(metadata.service()),
            name: metadata.name().to_owned(),
        };
        let key = format!("{}:{}", operation.service, operation.name);
        // Outside `named` (a test client) there is no one to tell.
        let _ = OPERATION.try_with(|cell| *cell.borrow_mut() = Some(operation));
        self.ledger
            .with_state(|state| *state.calls.entry(key).or_default() += 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_operations_are_exactly_the_documented_prefixes() {
        for op in [
            "DescribeVpcs",
            "ListUsers",
            "GetCallerIdentity",
            "GenerateCredentialReport",
        ] {
            assert!(is_read_only(op), "{op}");
        }
        for op in [
            "CreateVpc",
            "RunInstances",
            "AuthorizeSecurityGroupIngress",
            "DeleteDetector",
            "ModifyInstanceMetadataOptions",
        ] {
            assert!(!is_read_only(op), "{op}");
        }
    }
}
