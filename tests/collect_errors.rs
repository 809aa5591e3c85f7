//! Failure behaviour against the emulator: a denied or unreachable service
//! is recorded in `collection_errors` and the rest is still collected; a
//! mutating call is refused before it leaves the process.

mod support;

use std::process::Output;

use rampart::collect::ledger::Ledger;
use rampart::snapshot::iam::ConsoleAccess;
use rampart::snapshot::{CollectionError, Snapshot};
use rampart::verdict::Status;
use support::moto::MotoServer;
use support::rampart;
use support::replay::{Replay, ReplayServer};

const REGION: &str = "us-east-1";

/// Runs `rampart COMMAND --endpoint-url FRONT --region us-east-1` as the
/// scanner user of a server denying `denied_action`, with `extra` args;
/// `collect` writes to `snapshot.json` in the returned directory.
async fn run_denied(
    denied_action: &str,
    command: &str,
    extra: &[&str],
) -> (Output, tempfile::TempDir) {
    let (moto, access_key, secret_key) = support::server_denying(denied_action, 0).await;
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rampart = rampart(dir.path());
    rampart
        .env("AWS_ACCESS_KEY_ID", &access_key)
        .env("AWS_SECRET_ACCESS_KEY", &secret_key)
        .args([
            command,
            "--endpoint-url",
            &front.endpoint,
            "--region",
            REGION,
        ])
        .args(extra);
    if command == "collect" {
        rampart.arg("-o").arg(dir.path().join("snapshot.json"));
    }
    let output = rampart.output().expect("run rampart");
    (output, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_operation_is_recorded_and_everything_else_collected() {
    let (output, dir) = run_denied("ec2:DescribeSecurityGroups", "collect", &[]).await;
    assert!(output.status.success(), "{}", support::stderr(&output));
    let out = dir.path().join("snapshot.json");
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    // With IAM enforcement on, moto 5.2.5 also rejects GuardDuty's signed
    // GET requests with an XML SignatureDoesNotMatch body the SDK cannot
    // parse: recorded under the HTTP status with the start of the body.
    let signature_rejected = "<?xml version=\"1.0\" encoding=\"utf-8\"?> <ErrorResponse><Errors><Error>\
                              <Code>SignatureDoesNotMatch</Code><Message>The request signature we \
                              calculated does not match the signature you provided.";
    assert_eq!(
        snapshot.collection_errors.len(),
        2,
        "{:#?}",
        snapshot.collection_errors
    );
    assert_eq!(
        snapshot.collection_errors[0],
        CollectionError {
            service: "ec2".to_owned(),
            region: Some(REGION.to_owned()),
            operation: "DescribeSecurityGroups".to_owned(),
            resource: None,
            code: "AccessDenied".to_owned(),
            message: "User: arn:aws:iam::123456789012:user/scanner is not authorized to perform: \
                      ec2:DescribeSecurityGroups"
                .to_owned(),
        }
    );
    let guardduty = &snapshot.collection_errors[1];
    assert_eq!(
        (
            guardduty.service.as_str(),
            guardduty.region.as_deref(),
            guardduty.operation.as_str(),
            guardduty.code.as_str()
        ),
        ("guardduty", Some(REGION), "ListDetectors", "HTTP 403")
    );
    assert!(
        guardduty.message.starts_with(signature_rejected),
        "{}",
        guardduty.message
    );
    assert_eq!(
        support::stderr(&output),
        "rampart: wrote 14 resources from 1 region(s) of account 123456789012 to {}; \
         2 call(s) failed and are listed under collection_errors\n"
            .replace("{}", &out.display().to_string())
    );

    let ec2 = &snapshot.regions[REGION].ec2;
    assert!(ec2.security_groups.is_empty());
    // moto's default VPC: one VPC, six subnets, one route table, one ACL.
    assert_eq!(ec2.vpcs.len(), 1);
    assert_eq!(ec2.subnets.len(), 6);
    assert_eq!(ec2.route_tables.len(), 1);
    assert_eq!(ec2.network_acls.len(), 1);
    assert_eq!(ec2.ebs_encryption_by_default, Some(false));
    assert_eq!(snapshot.api_calls["ec2:DescribeSecurityGroups"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_detail_call_names_its_resource_and_leaves_the_field_unknown() {
    let (output, dir) = run_denied("iam:ListMFADevices", "collect", &[]).await;
    assert!(output.status.success(), "{}", support::stderr(&output));
    let out = dir.path().join("snapshot.json");
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    let iam_errors: Vec<&CollectionError> = snapshot
        .collection_errors
        .iter()
        .filter(|e| e.service == "iam")
        .collect();
    assert_eq!(
        iam_errors,
        [&CollectionError {
            service: "iam".to_owned(),
            region: None,
            operation: "ListMFADevices".to_owned(),
            resource: Some("arn:aws:iam::123456789012:user/scanner".to_owned()),
            // moto 5.2.5 wraps IAM's AccessDenied in EC2's error envelope
            // (<Errors><Error>), which the IAM deserializer cannot read, so
            // the error is named by its status and shows the body.
            code: "HTTP 403".to_owned(),
            message: "<?xml version=\"1.0\" encoding=\"utf-8\"?> <ErrorResponse><Errors><Error>\
                      <Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/scanner \
                      is not authorized to perform: iam:ListMFADevices</Message><Type>Sender</Type>\
                      </Error></Errors></ErrorResponse>"
                .to_owned(),
        }]
    );
    let scanner = &snapshot.global.iam.users[0];
    assert_eq!(scanner.name, "scanner");
    assert_eq!(scanner.mfa_devices, None, "unknown, not an empty list");
    assert_eq!(scanner.console_access, Some(ConsoleAccess::Disabled));
    assert_eq!(scanner.access_keys.as_ref().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_states_plainly_what_could_not_be_collected() {
    // --strict turns missing data into exit code 3 for a CI job.
    let (output, _dir) = run_denied(
        "ec2:DescribeInstances",
        "scan",
        &["--fail-on", "never", "--strict"],
    )
    .await;
    assert_eq!(output.status.code(), Some(3));
    let stdout = support::stdout(&output);
    assert!(
        stdout.contains(
            "Incomplete: 28 check(s) could not be evaluated; 2 API call(s) failed during collection.\n"
        ),
        "{stdout}"
    );
    let error_row = stdout
        .lines()
        .find(|line| line.contains("DescribeInstances"))
        .unwrap_or_else(|| panic!("no row for the failed call in:\n{stdout}"));
    for cell in ["ec2", REGION, "AccessDenied"] {
        assert!(error_row.contains(cell), "{error_row}");
    }
    assert_eq!(
        support::stderr(&output),
        "rampart: the scan is incomplete (2 failed call(s), 28 check(s) not evaluated) and --strict was given\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_service_is_recorded_per_operation() {
    let moto = MotoServer::start();
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("snapshot.json");
    // STS reaches the emulator through AWS_ENDPOINT_URL; EC2 alone is sent
    // to a closed port through its service-specific variable.
    let output = rampart(dir.path())
        .env("AWS_ENDPOINT_URL", &front.endpoint)
        .env("AWS_ENDPOINT_URL_EC2", format!("http://127.0.0.1:{closed}"))
        .args(["collect", "--region", REGION, "-o"])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(&out).expect("snapshot parses");
    let failed: Vec<(&str, &str)> = snapshot
        .collection_errors
        .iter()
        .map(|e| (e.operation.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(failed.len(), 14, "{failed:?}");
    assert!(
        failed.iter().all(|(_, code)| *code == "DispatchFailure"),
        "{failed:?}"
    );
    assert!(failed.contains(&("DescribeVpcs", "DispatchFailure")));
    assert_eq!(snapshot.account.account_id, "123456789012");
    assert_eq!(snapshot.regions[REGION].ec2.ebs_encryption_by_default, None);
    assert_eq!(
        snapshot.regions[REGION].ec2.instance_metadata_defaults,
        None
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_refuses_mutating_calls_before_they_are_sent() {
    let moto = MotoServer::start();
    let config = support::seeding_config(&moto.endpoint, REGION).await;
    let ledger = Ledger::default();
    let guarded = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&config)
            .interceptor(ledger.interceptor())
            .build(),
    );
    let err = guarded
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .expect_err("CreateVpc must be refused");
    assert!(
        format!("{:?}", err)
            .contains("rampart refuses to call EC2:CreateVpc, which is not a read-only operation"),
        "{err:?}"
    );

    let plain = aws_sdk_ec2::Client::new(&config);
    let vpcs = plain
        .describe_vpcs()
        .send()
        .await
        .expect("describe")
        .vpcs
        .unwrap_or_default();
    assert_eq!(vpcs.len(), 1, "only moto's default VPC exists");
    let (calls, errors) = ledger.take();
    assert!(calls.is_empty(), "a refused call is not counted: {calls:?}");
    assert!(errors.is_empty());
}

/// With the account summary denied, root's MFA and access keys are read
/// from the credential report's root row, as CIS 1.4 and 1.5 audit them:
/// verdicts, not NOT_EVALUATED.
#[tokio::test(flavor = "multi_thread")]
async fn root_is_judged_from_the_credential_report_when_the_summary_is_denied() {
    let (output, dir) = run_denied("iam:GetAccountSummary", "collect", &[]).await;
    assert!(output.status.success(), "{}", support::stderr(&output));
    let snapshot = Snapshot::read(&dir.path().join("snapshot.json")).expect("snapshot parses");
    assert_eq!(snapshot.global.iam.summary, None);
    let findings = support::evaluate(&snapshot);
    let verdict = |rule: &str| {
        findings
            .iter()
            .find(|f| f.finding.rule_id == rule)
            .map(|f| (f.finding.status, f.finding.message.clone()))
            .unwrap_or_else(|| panic!("no {rule} finding"))
    };
    // The report's root row: MFA active, key 1 active and last used.
    assert_eq!(verdict("iam-root-mfa-not-enabled"), (Status::Pass, None));
    assert_eq!(
        verdict("iam-root-access-keys-present"),
        (
            Status::Fail,
            Some(
                "The root user of account 123456789012 has access keys: key 1 active, last used \
                 2026-10-30T12:00:00Z"
                    .to_owned()
            )
        )
    );
}
