//! A profile made with `aws configure sso` (an `sso-session` and a cached
//! login) works with `--profile`: the SDK exchanges the cached token for
//! role credentials at the Identity Center portal (here the replay front)
//! and the scan runs as that role.

mod support;

use std::fs;

use support::moto::MotoServer;
use support::rampart;
use support::replay::{Replay, ReplayServer, SSO_ACCESS_TOKEN};

const SESSION: &str = "rampart-sso";

/// The cache file name the AWS CLI and SDKs use for an `sso-session`: the
/// SHA-1 of the session name, in hex.
fn cache_file_name(session: &str) -> String {
    format!("{}.json", sha1_smol::Sha1::from(session).digest())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sso_profile_scans_as_its_role() {
    let moto = MotoServer::start();
    let front = ReplayServer::start(&moto.endpoint, Replay::standard());
    let home = tempfile::tempdir().expect("temp dir");
    fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile audit]\n\
             sso_session = {SESSION}\n\
             sso_account_id = 123456789012\n\
             sso_role_name = SecurityAudit\n\
             region = us-east-1\n\n\
             [sso-session {SESSION}]\n\
             sso_start_url = https://rampart-test.awsapps.com/start\n\
             sso_region = us-east-1\n\
             sso_registration_scopes = sso:account:access\n"
        ),
    )
    .expect("write config");
    let cache = home.path().join(".aws").join("sso").join("cache");
    fs::create_dir_all(&cache).expect("cache dir");
    fs::write(
        cache.join(cache_file_name(SESSION)),
        serde_json::json!({
            "startUrl": "https://rampart-test.awsapps.com/start",
            "region": "us-east-1",
            "accessToken": SSO_ACCESS_TOKEN,
            "expiresAt": "2099-01-01T00:00:00Z",
            "clientId": "rampart-test-client",
            "clientSecret": "rampart-test-secret",
            "registrationExpiresAt": "2099-01-01T00:00:00Z",
            "refreshToken": "rampart-test-refresh"
        })
        .to_string(),
    )
    .expect("write cached login");

    let out = home.path().join("snapshot.json");
    let output = rampart(home.path())
        // Only the profile may supply credentials.
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL_SSO", &front.endpoint)
        .args([
            "collect",
            "--profile",
            "audit",
            "--endpoint-url",
            &front.endpoint,
        ])
        .args(["--region", "us-east-1", "-o"])
        .arg(&out)
        .output()
        .expect("run rampart");
    assert!(output.status.success(), "{}", support::stderr(&output));
    assert_eq!(
        front
            .served()
            .iter()
            .filter(|op| *op == "sso:GetRoleCredentials")
            .count(),
        1,
        "role credentials are fetched once and cached"
    );
    let snapshot = rampart::snapshot::Snapshot::read(&out).expect("snapshot parses");
    assert_eq!(snapshot.account.account_id, "123456789012");
    assert_eq!(snapshot.regions_requested, ["us-east-1"]);
}
