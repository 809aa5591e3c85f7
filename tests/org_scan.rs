//! An organization scan against the emulator: an organization of a dozen
//! member accounts in nested OUs, each seeded with a different number of
//! security groups open to SSH; `org accounts` lists it, `--plan`
//! partitions it, three shards scan it as separate processes through a
//! front that denies assuming the role of one member, and each account's
//! report says what scanning that account alone says.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_organizations::Client as Organizations;
use rampart::org::accounts::AccountsFile;
use rampart::org::manifest::{AccountStatus, Manifest};
use rampart::results::Report;
use rampart::verdict::Status;
use support::faults::Fault;
use support::moto::MotoServer;
use support::replay::{Replay, ReplayServer};

const REGION: &str = "us-east-1";
const ROLE: &str = "OrganizationAccountAccessRole";
const EXTERNAL_ID: &str = "rampart-org-test";
const SSH_RULE: &str = "ec2-security-group-ssh-open-to-internet";
/// moto's management account.
const MANAGEMENT: &str = "123456789012";

/// A seeded member: its id, name, OU path, and how many of its groups
/// open SSH to the internet.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    name: String,
    ou_path: Vec<String>,
    open_groups: usize,
}

/// The organization: Root holds the management account and two members,
/// `prod` two and its child `web` four, `dev` four.
async fn seed_organization(endpoint: &str) -> (Vec<Member>, String) {
    let config = support::seeding_config(endpoint, REGION).await;
    let org = Organizations::new(&config);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let root = org
        .list_roots()
        .send()
        .await
        .expect("roots")
        .roots
        .expect("roots")[0]
        .id
        .clone()
        .expect("root id");
    let unit = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .expect("create OU")
                .organizational_unit
                .and_then(|unit| unit.id)
                .expect("OU id")
        }
    };
    let prod = unit(root.clone(), "prod").await;
    let web = unit(prod.clone(), "web").await;
    let dev = unit(root.clone(), "dev").await;
    let placements: Vec<(&str, &str, Vec<&str>)> = vec![
        (root.as_str(), "shared", vec!["Root"]),
        (root.as_str(), "security", vec!["Root"]),
        (prod.as_str(), "prod-a", vec!["Root", "prod"]),
        (prod.as_str(), "prod-b", vec!["Root", "prod"]),
        (web.as_str(), "web-a", vec!["Root", "prod", "web"]),
        (web.as_str(), "web-b", vec!["Root", "prod", "web"]),
        (web.as_str(), "web-c", vec!["Root", "prod", "web"]),
        (web.as_str(), "web-d", vec!["Root", "prod", "web"]),
        (dev.as_str(), "dev-a", vec!["Root", "dev"]),
        (dev.as_str(), "dev-b", vec!["Root", "dev"]),
        (dev.as_str(), "dev-c", vec!["Root", "dev"]),
        (dev.as_str(), "dev-d", vec!["Root", "dev"]),
    ];
    let mut members = Vec::new();
    for (position, (parent, name, path)) in placements.into_iter().enumerate() {
        let id = org
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(name)
            .send()
            .await
            .expect("create account")
            .create_account_status
            .and_then(|status| status.account_id)
            .expect("account id");
        if parent != root {
            org.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .expect("move account");
        }
        let member = Member {
            id,
            name: name.to_owned(),
            ou_path: path.into_iter().map(str::to_owned).collect(),
            open_groups: position % 4 + 1,
        };
        seed_member(endpoint, &member).await;
        members.push(member);
    }
    (members, prod)
}

/// Temporary credentials of the member's role, as the scan will get them.
async fn member_credentials(endpoint: &str, account: &str) -> (String, String, String) {
    let sts = aws_sdk_sts::Client::new(&support::seeding_config(endpoint, REGION).await);
    let credentials = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{ROLE}"))
        .role_session_name("rampart-test-seeding")
        .send()
        .await
        .expect("assume the member's role")
        .credentials
        .expect("credentials");
    (
        credentials.access_key_id,
        credentials.secret_access_key,
        credentials.session_token,
    )
}

/// `open_groups` groups admitting SSH from anywhere, in the member itself.
async fn seed_member(endpoint: &str, member: &Member) {
    let (key, secret, token) = member_credentials(endpoint, &member.id).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_types::region::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            key,
            secret,
            Some(token),
            None,
            "rampart-tests",
        ))
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    for n in 0..member.open_groups {
        let group = ec2
            .create_security_group()
            .group_name(format!("{}-ssh-{n}", member.name))
            .description("SSH from anywhere")
            .send()
            .await
            .expect("create group")
            .group_id
            .expect("group id");
        ec2.authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .expect("open SSH");
    }
}

/// The (rule, resource ARN) of every FAIL in a report.
fn failures(report: &Report) -> BTreeSet<(String, String)> {
    report
        .findings
        .iter()
        .filter(|f| f.finding.status == Status::Fail)
        .map(|f| (f.finding.rule_id.clone(), f.finding.resource.arn.clone()))
        .collect()
}

/// `scan` of the accounts in the file `accounts` through `endpoint`, into
/// `out_dir`.
fn accounts_scan(accounts: &str, endpoint: &str, out_dir: &str) -> Vec<String> {
    [
        "scan",
        "--accounts",
        accounts,
        "--role-name",
        ROLE,
        "--external-id",
        EXTERNAL_ID,
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--out-dir",
        out_dir,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect()
}

/// [`accounts_scan`] of one shard of three.
fn shard_scan(accounts: &str, endpoint: &str, shard: u32, out_dir: &str) -> Vec<String> {
    let mut args = accounts_scan(accounts, endpoint, out_dir);
    args.extend(["--shard".to_owned(), format!("{shard}/3")]);
    args
}

fn run(home: &Path, args: &[&str]) -> Output {
    support::rampart(home)
        .args(args)
        .output()
        .expect("run rampart")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_is_listed_partitioned_scanned_in_shards_and_matches_single_scans() {
    let moto = tokio::task::block_in_place(MotoServer::start);
    let (members, prod) = seed_organization(&moto.endpoint).await;
    let denied = members[5].id.clone();
    let front = ReplayServer::start(
        &moto.endpoint,
        Replay {
            faults: vec![Fault::deny_when("sts:AssumeRole", &denied)],
            ..Replay::standard()
        },
    );
    let home = tempfile::tempdir().expect("temp dir");
    let home = home.path();
    let accounts_path = home.join("accounts.json");
    let accounts = accounts_path.to_str().expect("utf-8");

    // The whole organization, management account included, sorted by id.
    let listed = tokio::task::block_in_place(|| {
        run(
            home,
            &[
                "org",
                "accounts",
                "--endpoint-url",
                &front.endpoint,
                "-o",
                accounts,
            ],
        )
    });
    assert_eq!(
        (listed.status.code(), support::stderr(&listed)),
        (
            Some(0),
            format!(
                "rampart: listed 13 ACTIVE account(s) of organization {} to {accounts}\n",
                AccountsFile::read(&accounts_path)
                    .expect("accounts file")
                    .0
                    .organization_id
            )
        )
    );
    let (file, _) = AccountsFile::read(&accounts_path).expect("accounts file");
    let mut expected: BTreeMap<String, (String, Vec<String>, bool)> = members
        .iter()
        .map(|m| (m.id.clone(), (m.name.clone(), m.ou_path.clone(), false)))
        .collect();
    expected.insert(
        MANAGEMENT.to_owned(),
        ("master".to_owned(), vec!["Root".to_owned()], true),
    );
    let got: BTreeMap<String, (String, Vec<String>, bool)> = file
        .accounts
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                (a.name.clone(), a.ou_path.clone(), a.management),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(file.management_account_id, MANAGEMENT);

    // Under one OU, recursively, less one account.
    let under_prod = tokio::task::block_in_place(|| {
        run(
            home,
            &[
                "org",
                "accounts",
                "--endpoint-url",
                &front.endpoint,
                "--ou",
                &prod,
                "--exclude-account",
                &members[2].id,
            ],
        )
    });
    assert_eq!(
        under_prod.status.code(),
        Some(0),
        "{}",
        support::stderr(&under_prod)
    );
    let under_prod = AccountsFile::parse(&support::stdout(&under_prod)).expect("accounts");
    let names: BTreeSet<&str> = under_prod
        .accounts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["prod-b", "web-a", "web-b", "web-c", "web-d"])
    );
    assert_eq!(under_prod.excluded, vec![members[2].id.clone()]);
    assert_eq!(under_prod.organizational_units, vec![prod.clone()]);

    // --plan: three shards partition the list exactly, by id modulo 3,
    // without a call (the front counts none).
    let calls_before = front.served.lock().expect("served").len();
    let mut planned: BTreeMap<String, u32> = BTreeMap::new();
    for shard in 0..3u32 {
        let plan = run(
            home,
            &[
                "scan",
                "--accounts",
                accounts,
                "--shard",
                &format!("{shard}/3"),
                "--plan",
            ],
        );
        assert_eq!(plan.status.code(), Some(0), "{}", support::stderr(&plan));
        for line in support::stdout(&plan).lines() {
            let id = line.split('\t').next().expect("id").to_owned();
            assert_eq!(
                id.parse::<u64>().expect("numeric id") % 3,
                u64::from(shard),
                "{line}"
            );
            assert_eq!(planned.insert(id, shard), None, "{line} in two shards");
        }
    }
    assert_eq!(
        planned.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>()
    );
    assert_eq!(front.served.lock().expect("served").len(), calls_before);

    // Three shards as separate processes, at once.
    let out_dir = home.join("out");
    let out = out_dir.to_str().expect("utf-8");
    let shards: Vec<Output> = tokio::task::block_in_place(|| {
        let children: Vec<_> = (0..3)
            .map(|shard| {
                support::rampart(home)
                    .args(shard_scan(accounts, &front.endpoint, shard, out))
                    .args([
                        "--accounts-in-flight",
                        "3",
                        "--fail-on",
                        "never",
                        "--output",
                        "sarif=report.sarif",
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a shard")
            })
            .collect();
        children
            .into_iter()
            .map(|child| child.wait_with_output().expect("shard output"))
            .collect()
    });
    let denied_shard = planned[&denied];
    for (shard, output) in shards.iter().enumerate() {
        let expected_exit = if shard as u32 == denied_shard { 3 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected_exit),
            "shard {shard}: {}{}",
            support::stdout(output),
            support::stderr(output)
        );
    }

    // Each shard's manifest: the same input digest, its accounts exactly,
    // the denied member reported as such and every other one scanned.
    let digest = AccountsFile::read(&accounts_path).expect("accounts").1;
    let mut statuses: BTreeMap<String, AccountStatus> = BTreeMap::new();
    for shard in 0..3u32 {
        let manifest =
            Manifest::read(&out_dir.join(format!("manifest-{shard}-of-3.json"))).expect("manifest");
        assert_eq!(manifest.accounts_sha256, digest);
        assert_eq!(manifest.shard.index, shard);
        let ids: Vec<&str> = manifest
            .accounts
            .iter()
            .map(|a| a.account.id.as_str())
            .collect();
        let mut expected_ids: Vec<&str> = planned
            .iter()
            .filter(|(_, s)| **s == shard)
            .map(|(id, _)| id.as_str())
            .collect();
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids, "shard {shard}");
        for run in manifest.accounts {
            let account = &run.account;
            if account.id == denied {
                let problem = run.problem.clone().unwrap_or_default();
                assert!(
                    problem.starts_with(&format!(
                        "cannot assume arn:aws:iam::{denied}:role/{ROLE}: "
                    )) && problem.contains("AccessDenied"),
                    "{problem}"
                );
                assert_eq!(run.report, None);
            } else {
                assert_eq!(
                    (run.problem.as_deref(), run.failed_calls.as_slice()),
                    (None, &[][..]),
                    "{}",
                    account.id
                );
                assert_eq!(
                    run.report.as_deref(),
                    Some(format!("{}/report.json", account.id).as_str())
                );
            }
            statuses.insert(account.id.clone(), run.status);
        }
    }
    let mut expected_statuses: BTreeMap<String, AccountStatus> = expected
        .keys()
        .map(|id| (id.clone(), AccountStatus::Ok))
        .collect();
    expected_statuses.insert(denied.clone(), AccountStatus::AssumeRoleFailed);
    assert_eq!(statuses, expected_statuses);
    assert!(!out_dir.join(&denied).exists());

    // Every scanned member's report: its own account, through the role's
    // session named for it, with exactly its seeded SSH groups failing.
    for member in members.iter().filter(|m| m.id != denied) {
        let dir = out_dir.join(&member.id);
        let report = Report::read(&dir.join("report.json")).expect("account report");
        assert_eq!(report.scan.account_id, member.id);
        assert_eq!(
            report.scan.caller_arn,
            format!(
                "arn:aws:sts::{}:assumed-role/{ROLE}/rampart-{}",
                member.id, member.id
            )
        );
        let ssh = failures(&report)
            .into_iter()
            .filter(|(rule, _)| rule == SSH_RULE)
            .count();
        assert_eq!(ssh, member.open_groups, "{}", member.name);
        assert!(dir.join("report.sarif").is_file());
    }

    // Every scanned member, scanned alone with its role's credentials (all
    // at once, as separate processes), fails exactly what the organization
    // scan found for it.
    let mut alone = Vec::new();
    for member in members.iter().filter(|m| m.id != denied) {
        let (key, secret, token) = member_credentials(&moto.endpoint, &member.id).await;
        let single = home.join(format!("single-{}.json", member.id));
        let child = support::rampart(home)
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_SESSION_TOKEN", token)
            .args([
                "scan",
                "--endpoint-url",
                &front.endpoint,
                "--region",
                REGION,
            ])
            .args(["--fail-on", "never", "-q", "--output"])
            .arg(format!("json={}", single.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("scan one account");
        alone.push((member, single, child));
    }
    for (member, single, child) in alone {
        let output = tokio::task::block_in_place(|| child.wait_with_output()).expect("wait");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            support::stderr(&output)
        );
        let alone = Report::read(&single).expect("single report");
        let in_org = Report::read(&out_dir.join(&member.id).join("report.json")).expect("report");
        assert_eq!(alone.scan.account_id, member.id);
        assert_eq!(failures(&in_org), failures(&alone), "{}", member.name);
    }

    // The merge: every account once, worst first, each finding naming its
    // account; the unscanned member listed, and written out for a re-run.
    let merged_json = home.join("org.json");
    let retry = home.join("retry.json");
    let merged = run(
        home,
        &[
            "merge",
            out,
            "--fail-on",
            "never",
            "--output",
            &format!("json={}", merged_json.display()),
            "--output",
            &format!("sarif={}", home.join("org.sarif").display()),
            "--output",
            &format!("markdown={}", home.join("org.md").display()),
            "--output",
            &format!("ocsf={}", home.join("org.ocsf.json").display()),
            "--output",
            &format!("junit={}", home.join("org.xml").display()),
            "--emit-failed",
            retry.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        (merged.status.code(), support::stderr(&merged)),
        (
            Some(3),
            format!(
                "rampart: wrote the 1 account(s) that could not be scanned to {}\n\
                 rampart: 1 of 13 account(s) could not be scanned, more than --max-failed-accounts allows\n",
                retry.display()
            )
        )
    );
    let org: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_json).expect("merged report"))
            .expect("JSON");
    assert_eq!(org["summary"]["accounts"], 13);
    assert_eq!(org["summary"]["not_scanned"], 1);
    let order: Vec<&str> = org["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["id"].as_str().expect("id"))
        .collect();
    assert_eq!(order.len(), 13);
    let critical_then_high = |id: &str| {
        let account = org["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["id"] == id)
            .expect("account");
        let count = |band: &str| {
            account["summary"]["failed_by_severity"][band]
                .as_u64()
                .unwrap_or(0)
        };
        (count("critical"), count("high"), count("medium"))
    };
    assert!(
        order
            .windows(2)
            .all(|pair| critical_then_high(pair[0]) >= critical_then_high(pair[1])),
        "{order:?}"
    );
    let mut merged_failures: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for finding in org["findings"].as_array().expect("findings") {
        assert_ne!(finding["status"], "PASS");
        let account = finding["resource"]["account"]
            .as_str()
            .expect("account")
            .to_owned();
        let member = members.iter().find(|m| m.id == account);
        let (name, path) = member.map_or(("master", vec!["Root".to_owned()]), |m| {
            (m.name.as_str(), m.ou_path.clone())
        });
        assert_eq!(finding["account_name"], name);
        assert_eq!(finding["ou_path"], serde_json::json!(path));
        if finding["status"] == "FAIL" {
            merged_failures.entry(account).or_default().insert((
                finding["rule_id"].as_str().expect("rule").to_owned(),
                finding["resource"]["arn"].as_str().expect("arn").to_owned(),
            ));
        }
    }
    for id in expected.keys().filter(|id| **id != denied) {
        let report = Report::read(&out_dir.join(id).join("report.json")).expect("report");
        assert_eq!(
            merged_failures.remove(id).unwrap_or_default(),
            failures(&report),
            "{id}"
        );
    }
    assert!(merged_failures.is_empty(), "{merged_failures:?}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("org.sarif")).expect("sarif"))
            .expect("JSON");
    assert_eq!(
        support::schema_errors("sarif-schema-2.1.0.json", &sarif),
        Vec::<String>::new()
    );
    // One run (GitHub takes at most 20 per file), every account's failures
    // in it, each located in its account.
    assert_eq!(sarif["runs"].as_array().map(Vec::len), Some(1));
    let failing_total: usize = expected
        .keys()
        .filter(|id| **id != denied)
        .map(|id| {
            Report::read(&out_dir.join(id).join("report.json"))
                .expect("report")
                .findings
                .iter()
                .filter(|f| f.is_failing())
                .count()
        })
        .sum();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), failing_total);
    let located: BTreeSet<&str> = results
        .iter()
        .map(|r| r["properties"]["account"].as_str().expect("account"))
        .collect();
    assert_eq!(located.len(), 12);
    let ocsf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("org.ocsf.json")).expect("ocsf"))
            .expect("JSON");
    let results: usize = expected
        .keys()
        .filter(|id| **id != denied)
        .map(|id| {
            Report::read(&out_dir.join(id).join("report.json"))
                .expect("report")
                .findings
                .len()
        })
        .sum();
    assert_eq!(ocsf.as_array().map(Vec::len), Some(results));
    let markdown = std::fs::read_to_string(home.join("org.md")).expect("markdown");
    assert!(markdown.starts_with("# rampart: 13 account(s) of an organization"));
    assert_eq!(markdown.matches("\n## rampart: AWS account ").count(), 12);
    // JUnit: a suite per account, the unscanned one an error; a case per
    // result and failed call, a failure per failing finding.
    let xml = std::fs::read_to_string(home.join("org.xml")).expect("junit");
    let elements = junit_elements(&xml);
    let (cases, failing): (usize, usize) = expected
        .keys()
        .filter(|id| **id != denied)
        .map(|id| {
            let report = Report::read(&out_dir.join(id).join("report.json")).expect("report");
            (
                report.findings.len() + report.collection_errors.len(),
                report.findings.iter().filter(|f| f.is_failing()).count(),
            )
        })
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    assert_eq!(elements.get("testsuite"), Some(&13));
    assert_eq!(elements.get("testcase"), Some(&(cases + 1)));
    assert_eq!(elements.get("failure").copied().unwrap_or(0), failing);
    assert!(xml.contains(&format!("<testcase classname=\"scan\" name=\"{denied} ")));
    let retry_path = retry;
    let (retry, _) = AccountsFile::read(&retry_path).expect("retry list");
    assert_eq!(
        retry
            .accounts
            .iter()
            .map(|a| a.id.as_str())
            .collect::<Vec<_>>(),
        vec![denied.as_str()]
    );
    assert_eq!(retry.retry_of.as_deref(), Some(digest.as_str()));

    // The re-run of that list, once the member's role can be assumed,
    // merges over the first run: every account scanned, the member's
    // result from the re-run, and the list, now stale, removed.
    let unfenced = ReplayServer::start(&moto.endpoint, Replay::standard());
    let retry_dir = home.join("retry");
    let rerun = support::rampart(home)
        .args(accounts_scan(
            retry_path.to_str().expect("utf-8"),
            &unfenced.endpoint,
            retry_dir.to_str().expect("utf-8"),
        ))
        .args(["--fail-on", "never"])
        .output()
        .expect("run rampart");
    assert_eq!(rerun.status.code(), Some(0), "{}", support::stderr(&rerun));
    let whole_json = home.join("whole.json");
    let whole = run(
        home,
        &[
            "merge",
            out,
            retry_dir.to_str().expect("utf-8"),
            "--fail-on",
            "never",
            "--output",
            &format!("json={}", whole_json.display()),
            "--emit-failed",
            retry_path.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        (whole.status.code(), support::stderr(&whole)),
        (
            Some(0),
            format!(
                "rampart: every account was scanned; removed the earlier list {}\n",
                retry_path.display()
            )
        )
    );
    assert!(!retry_path.exists());
    let whole: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&whole_json).expect("merged")).expect("JSON");
    assert_eq!(whole["summary"]["scanned"], 13);
    assert_eq!(whole["accounts_sha256"], digest.as_str());
    let member = whole["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["id"] == denied.as_str())
        .expect("the re-scanned member");
    assert_eq!(member["status"], "ok");
    let ssh = whole["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == SSH_RULE && f["resource"]["account"] == denied.as_str())
        .count();
    let denied_member = members
        .iter()
        .find(|m| m.id == denied)
        .expect("the denied member");
    assert_eq!(ssh, denied_member.open_groups);

    // How many unscanned accounts the merge tolerates.
    for (allowed, code) in [("1", 0), ("10%", 0), ("5%", 3), ("0", 3)] {
        let merged = run(
            home,
            &[
                "merge",
                out,
                "--fail-on",
                "never",
                "--max-failed-accounts",
                allowed,
            ],
        );
        assert_eq!(merged.status.code(), Some(code), "{allowed}");
    }
    // A later run of one shard compared with this one: a member of it has
    // opened SSH once more since. Every earlier failure is existing, the
    // new group's is new, and with --fail-on-new only that fails the run.
    let shard = (denied_shard + 1) % 3;
    let changed = members
        .iter()
        .find(|m| planned[&m.id] == shard)
        .expect("a member in the shard");
    seed_member(
        &moto.endpoint,
        &Member {
            name: format!("{}-later", changed.name),
            open_groups: 1,
            ..changed.clone()
        },
    )
    .await;
    let later_dir = home.join("later");
    let later_shard = |shard: u32| {
        support::rampart(home)
            .args(shard_scan(
                accounts,
                &front.endpoint,
                shard,
                later_dir.to_str().expect("utf-8"),
            ))
            .args(["--baseline", out, "--fail-on", "high", "--fail-on-new"])
            .output()
            .expect("run rampart")
    };
    let later = later_shard(shard);
    assert_eq!(later.status.code(), Some(1), "{}", support::stderr(&later));
    // With --fail-on-new, an account's failing count is its new failures
    // at or above --fail-on: the changed member's, on its new group only.
    let manifest = Manifest::read(&later_dir.join(format!("manifest-{shard}-of-3.json")))
        .expect("later manifest");
    for run in &manifest.accounts {
        let report = Report::read(&later_dir.join(&run.account.id).join("report.json"))
            .expect("later report");
        let new_high = report
            .findings
            .iter()
            .filter(|f| {
                f.baseline == Some(rampart::results::BaselineState::New)
                    && f.finding.severity >= rampart::verdict::Severity::High
            })
            .count();
        assert_eq!(run.failing, Some(new_high), "{}", run.account.name);
        assert_eq!(new_high > 0, run.account.id == changed.id);
    }
    for member in members.iter().filter(|m| planned[&m.id] == shard) {
        let report =
            Report::read(&later_dir.join(&member.id).join("report.json")).expect("later report");
        let earlier = out_dir.join(&member.id).join("report.json");
        assert_eq!(
            report.scan.baseline.as_deref(),
            Some(earlier.display().to_string().as_str())
        );
        let new: Vec<(&str, &str)> = report
            .findings
            .iter()
            .filter(|f| f.baseline == Some(rampart::results::BaselineState::New))
            .map(|f| (f.finding.rule_id.as_str(), f.finding.resource.arn.as_str()))
            .collect();
        if member.id == changed.id {
            assert!(new.iter().any(|(rule, _)| *rule == SSH_RULE), "{new:?}");
            let arns: BTreeSet<&str> = new.iter().map(|(_, arn)| *arn).collect();
            assert_eq!(arns.len(), 1, "only the new group: {new:?}");
        } else {
            assert_eq!(new, [], "{}", member.name);
        }
    }
    // The other shards of the later run, then its merge: with
    // --fail-on-new only the changed member's new failures fail it.
    let new_failing: usize = manifest.accounts.iter().filter_map(|run| run.failing).sum();
    for other in (0..3).filter(|s| *s != shard) {
        let output = later_shard(other);
        let expected = if other == denied_shard { 3 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{}",
            support::stderr(&output)
        );
    }
    let later_merge = run(
        home,
        &[
            "merge",
            later_dir.to_str().expect("utf-8"),
            "--fail-on",
            "high",
            "--fail-on-new",
        ],
    );
    assert_eq!(
        (later_merge.status.code(), support::stderr(&later_merge)),
        (
            Some(1),
            format!("rampart: {new_failing} new failing finding(s) at or above high\n")
        )
    );

    // A shard missing is refused, naming it.
    std::fs::remove_file(out_dir.join("manifest-1-of-3.json")).expect("remove a manifest");
    let partial = run(home, &["merge", out]);
    assert_eq!(
        (partial.status.code(), support::stderr(&partial)),
        (
            Some(2),
            "rampart: error: the shards cannot be merged: shard(s) 1/3 are missing\n".to_owned()
        )
    );
}

/// How many elements of each name a well-formed XML document holds.
fn junit_elements(xml: &str) -> BTreeMap<String, usize> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = BTreeMap::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                *counts.entry(name).or_default() += 1;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    counts
}
