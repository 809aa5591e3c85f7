//! A loopback HTTP front for the emulator that fills its gaps: requests
//! moto cannot answer are answered from real-format fixtures under
//! `fixtures/`, everything else is forwarded to moto untouched. The SDK's
//! own deserializers read both, so the collectors are tested as they run
//! against AWS.
//!
//! Answered here:
//! - GuardDuty ListFindings, GetFindings, GetFindingsStatistics (moto has
//!   none), paginated from a pool of findings, and AccessDenied for every
//!   GuardDuty call in chosen regions;
//! - IAM GetCredentialReport (moto's has no `<root_account>` row);
//! - CloudWatch DescribeAlarms (the SDK speaks Smithy RPC v2 CBOR, which
//!   moto does not);
//! - Budgets DescribeSubscribersForNotification (moto has none);
//! - EC2 GetInstanceMetadataDefaults (moto has none);
//! - the IAM Identity Center portal's GetRoleCredentials, for SSO profiles;
//! - any operation a test gives a canned answer for (`Replay::canned`):
//!   the root user's MFA and access keys, which no API can set, or an
//!   account without IAM Identity Center, which moto cannot be.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

use super::faults::{self, Effect, Fault, Faults};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

pub fn fixture(path: &str) -> String {
    let full = format!("{FIXTURES}/{path}");
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

pub fn fixture_json(path: &str) -> Value {
    serde_json::from_str(&fixture(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// What the replay answers with.
#[derive(Clone, Default)]
pub struct Replay {
    /// Active findings, most severe first, served in `findings_region`.
    pub findings: Vec<Value>,
    pub findings_region: String,
    /// Regions where every GuardDuty call is denied.
    pub guardduty_denied_regions: Vec<String>,
    /// When set, GetDetector is denied in every region (the rest answers).
    pub deny_get_detector: bool,
    /// CSV body of the credential report.
    pub credential_report: Option<String>,
    /// A DescribeAlarms response, as JSON with the API's member names.
    pub cloudwatch_alarms: Option<Value>,
    /// A DescribeSubscribersForNotification response.
    pub budget_subscribers: Option<Value>,
    /// Regions whose account-level metadata default requires IMDSv2;
    /// elsewhere the account sets no default.
    pub imdsv2_default_regions: Vec<String>,
    /// Operations answered with a fixed body instead of moto's.
    pub canned: Vec<Canned>,
    /// Faults injected before anything is answered or forwarded.
    pub faults: Vec<Fault>,
}

/// A fixed answer to one operation of one service (its SigV4 signing
/// name), in the service's own wire format, e.g. IAM GetAccountSummary
/// from `fixtures/iam/`.
#[derive(Clone, Debug)]
pub struct Canned {
    pub service: &'static str,
    pub operation: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

impl Canned {
    /// An IAM (query protocol, XML) answer read from `fixtures/`.
    pub fn iam(operation: &'static str, fixture_path: &str) -> Canned {
        Canned {
            service: "iam",
            operation,
            content_type: "text/xml",
            body: fixture(fixture_path),
        }
    }

    /// An IAM Identity Center (`sso`, JSON 1.1) answer read from `fixtures/`.
    pub fn sso(operation: &'static str, fixture_path: &str) -> Canned {
        Canned {
            service: "sso",
            operation,
            content_type: "application/x-amz-json-1.1",
            body: fixture(fixture_path),
        }
    }
}

impl Replay {
    /// The standard fixtures: 60 findings in us-east-1, a credential report
    /// with a root row, billing alarms, budget subscribers.
    pub fn standard() -> Replay {
        Replay {
            findings: fixture_json("guardduty/findings.json")["findings"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            findings_region: "us-east-1".to_owned(),
            guardduty_denied_regions: vec![],
            deny_get_detector: false,
            credential_report: Some(fixture("iam/credential-report.csv")),
            cloudwatch_alarms: Some(fixture_json("cloudwatch/describe-alarms.json")),
            budget_subscribers: Some(fixture_json(
                "budgets/describe-subscribers-for-notification.json",
            )),
            imdsv2_default_regions: vec!["us-east-1".to_owned()],
            canned: vec![],
            faults: vec![],
        }
    }
}

/// A running replay front; stops when dropped with the test.
pub struct ReplayServer {
    pub endpoint: String,
    /// Operations answered from fixtures, and faults (`Throttle
    /// ec2:DescribeVpcs`), in the order they came.
    pub served: Arc<Mutex<Vec<String>>>,
    /// Requests passed on to the emulator so far.
    pub forwarded: Arc<AtomicUsize>,
}

impl ReplayServer {
    pub fn start(upstream: &str, replay: Replay) -> ReplayServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot bind the replay front: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("replay front has no address: {e}"))
            .port();
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .to_owned();
        let served = Arc::new(Mutex::new(Vec::new()));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let faults = Faults::new(replay.faults.clone());
        let state = Arc::new((replay, upstream, served.clone(), faults, forwarded.clone()));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                thread::spawn(move || {
                    let (replay, upstream, served, faults, forwarded) = &*state;
                    handle(stream, replay, upstream, served, faults, forwarded);
                });
            }
        });
        ReplayServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            served,
            forwarded,
        }
    }

    pub fn served(&self) -> Vec<String> {
        self.served.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

struct Request {
    head: String,
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn read(stream: &TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let end = line == "\r\n";
            head.push_str(&line);
            if end {
                break;
            }
        }
        let mut lines = head.lines();
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.to_owned();
        let path = request_line.next()?.to_owned();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        assert!(
            !headers.contains_key("transfer-encoding"),
            "the replay front reads only Content-Length bodies"
        );
        let length: usize = headers
            .get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        Some(Request {
            head,
            method,
            path,
            headers,
            body,
        })
    }

    /// Region and signing name from the SigV4 credential scope.
    fn scope(&self) -> (String, String) {
        let authorization = self
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        let credential = authorization
            .split("Credential=")
            .nth(1)
            .unwrap_or_default()
            .split(',')
            .next()
            .unwrap_or_default();
        let parts: Vec<&str> = credential.split('/').collect();
        (
            parts.get(2).copied().unwrap_or_default().to_owned(),
            parts.get(3).copied().unwrap_or_default().to_owned(),
        )
    }

    /// The IAM action (`ec2:DescribeSubnets`) and region of a SigV4-signed
    /// request, as a policy would name it.
    fn action(&self) -> Option<(String, String, String)> {
        let (region, signing_name) = self.scope();
        let operation = match signing_name.as_str() {
            "guardduty" => self.guardduty_operation()?,
            _ => match self.path.split_once("/operation/") {
                Some((_, operation)) => operation.to_owned(),
                None => self.operation()?,
            },
        };
        let action = format!("{}:{operation}", faults::iam_prefix(&signing_name));
        Some((action, region, signing_name))
    }

    /// GuardDuty's REST operations, by method and path.
    fn guardduty_operation(&self) -> Option<String> {
        let path = self.path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let operation = match (self.method.as_str(), segments.as_slice()) {
            ("GET", ["detector"]) => "ListDetectors",
            ("GET", ["detector", _]) => "GetDetector",
            ("POST", ["detector", _, "findings"]) => "ListFindings",
            ("POST", ["detector", _, "findings", "get"]) => "GetFindings",
            ("POST", ["detector", _, "findings", "statistics"]) => "GetFindingsStatistics",
            _ => return None,
        };
        Some(operation.to_owned())
    }

    /// The operation: the `X-Amz-Target` suffix of JSON protocols, else
    /// the `Action` of a query-protocol form body.
    fn operation(&self) -> Option<String> {
        if let Some(target) = self.headers.get("x-amz-target") {
            return target.rsplit('.').next().map(str::to_owned);
        }
        String::from_utf8_lossy(&self.body)
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .map(str::to_owned)
    }

    fn json_body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn json_response(status: u16, content_type: &str, body: &Value) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", content_type.to_owned())],
        body: body.to_string().into_bytes(),
    }
}

fn handle(
    mut stream: TcpStream,
    replay: &Replay,
    upstream: &str,
    served: &Mutex<Vec<String>>,
    faults: &Faults,
    forwarded: &AtomicUsize,
) {
    let Some(request) = Request::read(&stream) else {
        return;
    };
    if let Some((action, region, signing_name)) = request.action()
        && let Some(effect) = faults.hit(
            &action,
            &region,
            &[
                request.method.as_bytes(),
                request.path.as_bytes(),
                &request.body,
            ]
            .concat(),
        )
    {
        if let Ok(mut served) = served.lock() {
            served.push(format!("{effect:?} {action}"));
        }
        match effect {
            Effect::Drop => return,
            Effect::Hang => {
                // Held open, unanswered, until the client gives up.
                let _ = stream.set_read_timeout(None);
                let mut sink = [0u8; 1];
                let _ = stream.read(&mut sink);
                return;
            }
            Effect::Delay(delay) => thread::sleep(delay),
            Effect::Deny | Effect::Throttle | Effect::ServerError => {
                let (status, headers, body) =
                    faults::error_response(&signing_name, effect, &action);
                write_response(
                    &mut stream,
                    &Response {
                        status,
                        headers,
                        body,
                    },
                );
                return;
            }
        }
    }
    let response = match answer(&request, replay) {
        Some((operation, response)) => {
            if let Ok(mut served) = served.lock() {
                served.push(operation);
            }
            response
        }
        None => {
            forwarded.fetch_add(1, Ordering::SeqCst);
            forward(&request, upstream, &mut stream);
            return;
        }
    };
    write_response(&mut stream, &response);
}

fn write_response(stream: &mut TcpStream, response: &Response) {
    let mut out = format!("HTTP/1.1 {} Replay\r\n", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&response.body);
}

/// Passes the request to moto as it came and its answer back; when moto
/// is gone, the client's connection is closed unanswered.
fn forward(request: &Request, upstream: &str, client: &mut TcpStream) {
    let Ok(mut moto) = TcpStream::connect(upstream) else {
        return;
    };
    let head: String = request
        .head
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:") && !line.is_empty())
        .map(|line| format!("{line}\r\n"))
        .collect();
    let _ = moto.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes());
    let _ = moto.write_all(&request.body);
    let mut response = Vec::new();
    let _ = moto.read_to_end(&mut response);
    let _ = client.write_all(&response);
}

fn answer(request: &Request, replay: &Replay) -> Option<(String, Response)> {
    // The IAM Identity Center portal, as `aws configure sso` profiles reach
    // it: bearer-token auth, so there is no SigV4 scope to route on.
    if request.path.starts_with("/federation/credentials") {
        return Some((
            "sso:GetRoleCredentials".to_owned(),
            role_credentials(request),
        ));
    }
    let (region, service) = request.scope();
    if let Some(canned) = replay.canned.iter().find(|canned| {
        canned.service == service && request.operation().as_deref() == Some(canned.operation)
    }) {
        return Some((
            format!("{}:{}", canned.service, canned.operation),
            Response {
                status: 200,
                headers: vec![("Content-Type", canned.content_type.to_owned())],
                body: canned.body.clone().into_bytes(),
            },
        ));
    }
    match service.as_str() {
        "guardduty" => guardduty(request, replay, &region),
        "iam" => {
            let body = String::from_utf8_lossy(&request.body);
            let report = replay.credential_report.as_ref()?;
            body.contains("Action=GetCredentialReport").then(|| {
                (
                    "iam:GetCredentialReport".to_owned(),
                    credential_report(report),
                )
            })
        }
        "ec2" => {
            let body = String::from_utf8_lossy(&request.body);
            body.contains("Action=GetInstanceMetadataDefaults")
                .then(|| {
                    let required = replay.imdsv2_default_regions.contains(&region);
                    (
                        "ec2:GetInstanceMetadataDefaults".to_owned(),
                        instance_metadata_defaults(required),
                    )
                })
        }
        "monitoring" => {
            let alarms = replay.cloudwatch_alarms.as_ref()?;
            request
                .path
                .ends_with("/operation/DescribeAlarms")
                .then(|| {
                    (
                        "cloudwatch:DescribeAlarms".to_owned(),
                        cbor_response(alarms),
                    )
                })
        }
        "budgets" => {
            let subscribers = replay.budget_subscribers.as_ref()?;
            let target = request.headers.get("x-amz-target")?;
            target
                .ends_with(".DescribeSubscribersForNotification")
                .then(|| {
                    (
                        "budgets:DescribeSubscribersForNotification".to_owned(),
                        json_response(200, "application/x-amz-json-1.1", subscribers),
                    )
                })
        }
        _ => None,
    }
}

fn guardduty(request: &Request, replay: &Replay, region: &str) -> Option<(String, Response)> {
    let path = request.path.split('?').next().unwrap_or_default();
    // GET /detector/{id}, and nothing below it.
    let is_get_detector = request.method == "GET" && path.matches('/').count() == 2;
    if replay.guardduty_denied_regions.iter().any(|r| r == region)
        || (replay.deny_get_detector && is_get_detector)
    {
        let response = Response {
            status: 403,
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                ("x-amzn-ErrorType", "AccessDeniedException".to_owned()),
            ],
            body: json!({
                "__type": "AccessDeniedException",
                "message": format!(
                    "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: guardduty:{} in {region}",
                    if is_get_detector { "GetDetector" } else { "ListDetectors" }
                ),
            })
            .to_string()
            .into_bytes(),
        };
        return Some(("guardduty:denied".to_owned(), response));
    }
    if request.method != "POST" || !request.path.starts_with("/detector/") {
        return None;
    }
    let pool: &[Value] = if region == replay.findings_region {
        &replay.findings
    } else {
        &[]
    };
    let body = request.json_body();
    let ok = |value: Value| json_response(200, "application/json", &value);
    if path.ends_with("/findings/statistics") {
        let mut by_severity: BTreeMap<String, (f64, u64)> = BTreeMap::new();
        for finding in pool {
            let severity = finding["severity"].as_f64().unwrap_or(0.0);
            by_severity
                .entry(format!("{severity:05.1}"))
                .or_insert((severity, 0))
                .1 += 1;
        }
        let groups: Vec<Value> = by_severity
            .values()
            .map(|(severity, total)| json!({"severity": severity, "totalFindings": total}))
            .collect();
        return Some((
            "guardduty:GetFindingsStatistics".to_owned(),
            ok(json!({"findingStatistics": {"groupedBySeverity": groups}})),
        ));
    }
    if path.ends_with("/findings/get") {
        let wanted: Vec<&str> = body["findingIds"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(
            wanted.len() <= 50,
            "GetFindings takes at most 50 ids, got {}",
            wanted.len()
        );
        // GuardDuty answers in no particular order; reversed proves the
        // collector does not rely on it.
        let findings: Vec<&Value> = pool
            .iter()
            .rev()
            .filter(|f| wanted.contains(&f["id"].as_str().unwrap_or_default()))
            .collect();
        return Some((
            "guardduty:GetFindings".to_owned(),
            ok(json!({"findings": findings})),
        ));
    }
    if path.ends_with("/findings") {
        let max = body["maxResults"].as_u64().unwrap_or(50) as usize;
        assert!(
            max <= 50,
            "ListFindings takes maxResults up to 50, got {max}"
        );
        let start: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let end = (start + max).min(pool.len());
        let ids: Vec<&Value> = pool[start.min(end)..end].iter().map(|f| &f["id"]).collect();
        let mut page = json!({"findingIds": ids});
        if end < pool.len() {
            page["nextToken"] = json!(end.to_string());
        }
        return Some(("guardduty:ListFindings".to_owned(), ok(page)));
    }
    None
}

/// The bearer token the SSO test profile's cached login holds.
pub const SSO_ACCESS_TOKEN: &str = "rampart-test-sso-access-token";

/// GetRoleCredentials for the cached token, the role and account asked for;
/// 401 for any other token, as the portal answers an expired login.
fn role_credentials(request: &Request) -> Response {
    let token = request
        .headers
        .get("x-amz-sso_bearer_token")
        .map(String::as_str);
    if token != Some(SSO_ACCESS_TOKEN) {
        return json_response(
            401,
            "application/json",
            &json!({"message": "Session token not found or invalid"}),
        );
    }
    json_response(
        200,
        "application/json",
        &json!({"roleCredentials": {
            "accessKeyId": "ASIASSOTESTKEY000001",
            "secretAccessKey": "sso-test-secret",
            "sessionToken": "sso-test-session-token",
            "expiration": 4102444800000u64
        }}),
    )
}

fn instance_metadata_defaults(imdsv2_required: bool) -> Response {
    let account_level = if imdsv2_required {
        "<accountLevel><httpTokens>required</httpTokens>\
         <httpPutResponseHopLimit>2</httpPutResponseHopLimit></accountLevel>"
    } else {
        "<accountLevel/>"
    };
    let body = format!(
        "<GetInstanceMetadataDefaultsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
         <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>{account_level}\
         </GetInstanceMetadataDefaultsResponse>"
    );
    Response {
        status: 200,
        headers: vec![("Content-Type", "text/xml".to_owned())],
        body: body.into_bytes(),
    }
}

fn credential_report(csv: &str) -> Response {
    let content = aws_smithy_types::base64::encode(csv.as_bytes());
    let body = format!(
        "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <GetCredentialReportResult><Content>{content}</Content>\
         <ReportFormat>text/csv</ReportFormat>\
         <GeneratedTime>2026-11-24T10:00:00Z</GeneratedTime></GetCredentialReportResult>\
         <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
         </GetCredentialReportResponse>"
    );
    Response {
        status: 200,
        headers: vec![("Content-Type", "text/xml".to_owned())],
        body: body.into_bytes(),
    }
}

/// A Smithy RPC v2 CBOR response carrying the JSON fixture's members.
fn cbor_response(body: &Value) -> Response {
    let mut bytes = Vec::new();
    ciborium::into_writer(&to_cbor(body), &mut bytes)
        .unwrap_or_else(|e| panic!("cannot encode CBOR: {e}"));
    Response {
        status: 200,
        headers: vec![
            ("Content-Type", "application/cbor".to_owned()),
            ("smithy-protocol", "rpc-v2-cbor".to_owned()),
        ],
        body: bytes,
    }
}

fn to_cbor(value: &Value) -> ciborium::Value {
    match value {
        Value::Null => ciborium::Value::Null,
        Value::Bool(b) => ciborium::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ciborium::Value::Integer(i.into()),
            None => ciborium::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => ciborium::Value::Text(s.clone()),
        Value::Array(items) => ciborium::Value::Array(items.iter().map(to_cbor).collect()),
        Value::Object(map) => ciborium::Value::Map(
            map.iter()
                .map(|(k, v)| (ciborium::Value::Text(k.clone()), to_cbor(v)))
                .collect(),
        ),
    }
}
