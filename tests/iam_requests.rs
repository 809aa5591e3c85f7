//! IAM requests per account must not grow with its users: IAM's request
//! quota is per account and low, and an organization scan multiplies every
//! per-user call. The credential report and account-wide listings answer
//! for the users they cover, with the same verdicts as the per-user calls.

mod support;

use std::collections::BTreeMap;

use rampart::results::ReportFinding;
use rampart::snapshot::Snapshot;
use support::faults::Fault;
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};
use support::seed::{self, HOME_REGION};

/// Collects the account behind `moto` through a front with `faults`.
fn collect(moto: &MotoServer, report: &str, faults: Vec<Fault>) -> Snapshot {
    let front = ReplayServer::start(
        &moto.endpoint,
        Replay {
            credential_report: Some(report.to_owned()),
            faults,
            ..Replay::default()
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    support::collect(&front.endpoint, &[HOME_REGION], &[], dir.path())
}

fn iam_calls(snapshot: &Snapshot) -> BTreeMap<&str, u64> {
    snapshot
        .api_calls
        .iter()
        .filter(|(call, _)| call.starts_with("iam:"))
        .map(|(call, count)| (call.as_str(), *count))
        .collect()
}

/// Each IAM user check's verdict per user: rule, user, status.
fn user_verdicts(findings: &[ReportFinding]) -> Vec<(String, String, String)> {
    let mut verdicts: Vec<_> = findings
        .iter()
        .map(|f| &f.finding)
        .filter(|f| f.rule_id.starts_with("iam-user-"))
        .map(|f| {
            (
                f.rule_id.clone(),
                f.resource.arn.clone(),
                format!("{:?}", f.status),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_calls_per_account_do_not_grow_with_its_users() {
    // Before the credential report answered: 29 calls for 5 users and
    // 2,224 for 500 (ListUserTags, GetLoginProfile, ListMFADevices and
    // ListAccessKeys per user, GetAccessKeyLastUsed per key).
    let expected: BTreeMap<&str, u64> = [
        ("iam:GenerateCredentialReport", 1),
        ("iam:GetAccountAuthorizationDetails", 1),
        ("iam:GetAccountPasswordPolicy", 1),
        ("iam:GetAccountSummary", 1),
        ("iam:GetCredentialReport", 1),
        ("iam:ListUsers", 1),
        ("iam:ListVirtualMFADevices", 1),
    ]
    .into();
    for users in [5, 500] {
        let moto = tokio::task::block_in_place(MotoServer::start);
        seed::seed_many_users(&moto.endpoint, users).await;
        let report = seed::credential_report(&moto.endpoint, false, None, None).await;
        let snapshot = collect(&moto, &report, vec![]);
        assert_eq!(snapshot.global.iam.users.len(), users);
        assert_eq!(iam_calls(&snapshot), expected, "{users} users");
        let iam_errors: Vec<_> = snapshot
            .collection_errors
            .iter()
            .filter(|e| e.service == "iam")
            .collect();
        assert_eq!(iam_errors, [] as [&rampart::snapshot::CollectionError; 0]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_gives_the_verdicts_of_the_per_user_calls() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let names = seed::seed_many_users(&moto.endpoint, 40).await;
    let tagged = &names[7];
    let iam = aws_sdk_iam::Client::new(&support::seeding_config(&moto.endpoint, HOME_REGION).await);
    iam.tag_user()
        .user_name(tagged)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("payments")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag a user");
    let report = seed::credential_report(&moto.endpoint, false, None, None).await;
    // A user created after the report has no row: its own calls answer.
    iam.create_user()
        .user_name("late")
        .send()
        .await
        .expect("create a user after the report");
    iam.create_login_profile()
        .user_name("late")
        .password("Correct-Horse-Battery-9")
        .send()
        .await
        .expect("give it a password");
    // A virtual MFA device assigned since the report to a console user
    // whose row says no MFA: the live listing contradicts the row, so the
    // user is read on its own too.
    seed::enable_virtual_mfa(&iam, &names[2]).await;

    let from_report = collect(&moto, &report, vec![]);
    let per_user = collect(
        &moto,
        &report,
        vec![
            Fault::deny("iam:GetCredentialReport"),
            Fault::deny("iam:GetAccountAuthorizationDetails"),
        ],
    );
    let calls = iam_calls(&from_report);
    assert_eq!(
        (
            calls.get("iam:GetLoginProfile"),
            calls.get("iam:ListMFADevices"),
            calls.get("iam:ListAccessKeys"),
            calls.get("iam:ListUserTags"),
        ),
        (Some(&2), Some(&2), Some(&2), None),
        "only the user created after the report and the one enrolled since are read on their own"
    );
    assert_eq!(iam_calls(&per_user).get("iam:GetLoginProfile"), Some(&41));
    for snapshot in [&from_report, &per_user] {
        let user = snapshot
            .global
            .iam
            .users
            .iter()
            .find(|u| &u.name == tagged)
            .expect("tagged user");
        assert_eq!(
            user.meta.tags,
            BTreeMap::from([("team".to_owned(), "payments".to_owned())])
        );
    }

    let report_verdicts = user_verdicts(&support::evaluate(&from_report));
    assert_eq!(
        report_verdicts,
        user_verdicts(&support::evaluate(&per_user))
    );
    let failing = |rule: &str| {
        report_verdicts
            .iter()
            .filter(|(id, _, status)| id == rule && status == "Fail")
            .count()
    };
    // Of users 0..40: a password every second (and `late`), MFA every
    // fourth (and user 2, since the report), a key every third and another
    // every tenth.
    assert_eq!(failing("iam-user-console-without-mfa"), 10);
    assert_eq!(
        failing("iam-user-access-key-created-at-setup-never-used"),
        9
    );
    assert_eq!(failing("iam-user-two-active-access-keys"), 2);
}
