//! Shared test support: the moto emulator, SDK clients for seeding it, and
//! the rampart binary pointed at it.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod browser;
pub mod faults;
pub mod moto;
pub mod random_region;
pub mod replay;
pub mod reports;
pub mod seed;

use std::path::Path;
use std::process::{Command, Output};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::SdkConfig;
use aws_types::region::Region;
use moto::MotoServer;

/// The bundled demo snapshot.
pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/snapshot.json");

pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "test";

/// SDK configuration for seeding: static test credentials, the emulator's
/// endpoint, nothing read from the environment or ~/.aws.
pub async fn seeding_config(endpoint: &str, region: &str) -> SdkConfig {
    seeding_config_as(endpoint, region, ACCESS_KEY, SECRET_KEY).await
}

pub async fn seeding_config_as(
    endpoint: &str,
    region: &str,
    access_key: &str,
    secret_key: &str,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "rampart-tests",
        ))
        .load()
        .await
}

pub async fn ec2_client(endpoint: &str, region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&seeding_config(endpoint, region).await)
}

/// The rampart binary with an environment that reaches only the emulator:
/// test credentials, no profile files, no instance metadata lookups.
pub fn rampart(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_STS",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The emulator has no quotas to spare: requests still pass through
        // the rate cap, which never makes them wait.
        .env("RAMPART_MAX_REQUEST_RATE", "100000");
    command
}

/// `rampart ARGS...` with [`rampart`]'s environment: (exit code, stdout,
/// stderr).
pub fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let output = rampart(home).args(args).output().expect("run rampart");
    (
        output.status.code().unwrap_or(-1),
        stdout(&output),
        stderr(&output),
    )
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A validator for `schemas/FILE`, checking formats too. The vendored
/// SARIF schema (the copy GitHub's `upload-sarif` validates with) has its
/// `region.anyOf` inside `properties`, where it is not a schema: it is moved
/// where the OASIS errata put it, so a strict validator compiles it.
pub fn schema_validator(file: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("schema file");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let misplaced = schema
        .pointer_mut("/definitions/region/properties")
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|properties| properties.remove("anyOf"));
    if let Some(any_of) = misplaced {
        schema["definitions"]["region"]["anyOf"] = any_of;
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// Every way `instance` breaks the JSON Schema in `schemas/FILE`, each with
/// the path of the offending value; empty when it validates.
pub fn schema_errors(file: &str, instance: &serde_json::Value) -> Vec<String> {
    schema_validator(file)
        .iter_errors(instance)
        .map(|err| format!("{}: {err}", err.instance_path()))
        .collect()
}

/// A moto server with a scanner user allowed everything except
/// `denied_action`, enforcing IAM once the caller has made `seeding_calls`
/// more requests (the three that make the user come first). Returns the
/// server and the scanner's access key pair.
pub async fn server_denying(
    denied_action: &str,
    seeding_calls: u32,
) -> (MotoServer, String, String) {
    let unauthenticated = (3 + seeding_calls).to_string();
    let moto = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", &unauthenticated)]);
    let iam = aws_sdk_iam::Client::new(&seeding_config(&moto.endpoint, "us-east-1").await);
    iam.create_user()
        .user_name("scanner")
        .send()
        .await
        .expect("create user");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": denied_action, "Resource": "*"}
        ]
    });
    iam.put_user_policy()
        .user_name("scanner")
        .policy_name("all-but-one")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("put policy");
    let key = iam
        .create_access_key()
        .user_name("scanner")
        .send()
        .await
        .expect("create key")
        .access_key
        .expect("access key");
    (moto, key.access_key_id, key.secret_access_key)
}

/// `rampart collect` of `regions` through `endpoint`, with `extra` flags,
/// into `dir`: the snapshot. The test fails when rampart does.
pub fn collect(
    endpoint: &str,
    regions: &[&str],
    extra: &[&str],
    dir: &Path,
) -> rampart::snapshot::Snapshot {
    let out = dir.join("snapshot.json");
    let mut command = rampart(dir);
    command.args(["collect", "--endpoint-url", endpoint]);
    for region in regions {
        command.args(["--region", region]);
    }
    let collected = command
        .args(extra)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run rampart collect");
    assert!(collected.status.success(), "{}", stderr(&collected));
    rampart::snapshot::Snapshot::read(&out).expect("snapshot parses")
}

/// Every finding of the built-in rules on `snapshot`, evaluated on its own
/// clock as `rampart evaluate` does.
pub fn evaluate(snapshot: &rampart::snapshot::Snapshot) -> Vec<rampart::results::ReportFinding> {
    use rampart::pipeline::{Gate, Plan, PlanOptions, RunClock};
    let plan = Plan::load(&PlanOptions::default()).expect("built-in rules load");
    let now = || snapshot.collected_at;
    let clock = RunClock {
        started_at: now(),
        today: now().date_naive(),
        now: &now,
    };
    plan.run(snapshot, &clock, &[], Gate::default())
        .report
        .findings
}

/// Where `scan` (taken with `what` gone wrong) says less than a scan with
/// every answer: a check `full` failed that now passes, or that has no
/// result and no NOT_EVALUATED of its rule in its region. Empty when
/// missing data never passed.
pub fn passes_or_vanishes(
    what: &str,
    full: &[&rampart::results::ReportFinding],
    scan: &[rampart::results::ReportFinding],
) -> Vec<String> {
    use rampart::verdict::Status;
    use std::collections::{BTreeMap, BTreeSet};
    let by_fingerprint: BTreeMap<&str, &rampart::results::ReportFinding> = scan
        .iter()
        .map(|f| (f.finding.fingerprint.as_str(), f))
        .collect();
    let unlisted: BTreeSet<(&str, &str)> = scan
        .iter()
        .filter(|f| f.finding.status == Status::NotEvaluated)
        .map(|f| {
            (
                f.finding.rule_id.as_str(),
                f.finding.resource.region.as_str(),
            )
        })
        .collect();
    full.iter()
        .filter_map(|before| {
            let f = &before.finding;
            let now = match by_fingerprint.get(f.fingerprint.as_str()) {
                Some(now) if now.finding.status == Status::Pass => "PASS",
                Some(_) => return None,
                None if unlisted.contains(&(f.rule_id.as_str(), f.resource.region.as_str())) => {
                    return None;
                }
                None => "no result and no NOT_EVALUATED in its region",
            };
            Some(format!(
                "{what}: {} on {} ({}) failed with the data, now {now}",
                f.rule_id, f.resource.id, f.resource.region
            ))
        })
        .collect()
}

/// A framework's controls in a JSON report as `ID STATUS` lines, in the
/// report's order: what the compliance tests state exactly.
pub fn control_statuses(report: &serde_json::Value, framework: &str) -> Vec<String> {
    report["compliance"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["framework"] == framework)
        .flat_map(|f| f["controls"].as_array().into_iter().flatten())
        .map(|control| {
            format!(
                "{} {}",
                control["id"].as_str().unwrap_or("?"),
                control["status"].as_str().unwrap_or("?")
            )
        })
        .collect()
}
