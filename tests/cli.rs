//! The command line's contract for bad input: one sentence on stderr naming
//! the problem and where it is, exit code 2, nothing written. None of these
//! cases may reach AWS, so none needs the emulator.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use support::{DEMO, rampart, run};

/// An endpoint nothing listens on: if a case wrongly got as far as an API
/// call it would fail differently from what the test expects.
const DEAD_ENDPOINT: &str = "http://127.0.0.1:9";

#[test]
fn a_profile_that_does_not_exist_is_named() {
    let home = tempfile::tempdir().expect("temp dir");
    fs::write(
        home.path().join("aws-config"),
        "[profile dev]\nregion = eu-west-1\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = x\n",
    )
    .expect("write config");
    let (code, stdout, stderr) = run(
        home.path(),
        &["scan", "--profile", "prod", "--endpoint-url", DEAD_ENDPOINT],
    );
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "rampart: error: the AWS profile `prod` does not exist in the AWS config or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)\n"
    );
}

#[test]
fn aws_profile_from_the_environment_is_checked_the_same_way() {
    let home = tempfile::tempdir().expect("temp dir");
    let output = rampart(home.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "typo")
        .args(["collect", "--endpoint-url", DEAD_ENDPOINT])
        .output()
        .expect("run rampart");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        support::stderr(&output),
        "rampart: error: the AWS profile `typo` does not exist in the AWS config or credentials file (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)\n"
    );
}

#[test]
fn no_credentials_at_all_is_one_sentence_and_exit_2() {
    let home = tempfile::tempdir().expect("temp dir");
    let output = rampart(home.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args([
            "scan",
            "--region",
            "us-east-1",
            "--endpoint-url",
            DEAD_ENDPOINT,
        ])
        .output()
        .expect("run rampart");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(support::stdout(&output), "");
    assert_eq!(
        support::stderr(&output),
        "rampart: error: no AWS credentials found: set AWS_PROFILE or pass --profile, run \
         `aws configure` or `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
    );
}

#[test]
fn a_malformed_region_fails_before_any_call() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(
        home.path(),
        &[
            "scan",
            "--region",
            "us-east-1",
            "--region",
            "eu-west",
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "rampart: error: `eu-west` is not an AWS region name (expected something like us-east-1), given to --region\n"
    );
}

#[test]
fn a_malformed_endpoint_url_is_rejected() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(home.path(), &["scan", "--endpoint-url", "localhost:4566"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "rampart: error: `localhost:4566` is not a valid --endpoint-url: expected an http:// or https:// URL\n"
    );
}

#[test]
fn an_unreachable_endpoint_names_the_call_and_the_cause() {
    let home = tempfile::tempdir().expect("temp dir");
    // Schemes are case-insensitive: the second reaches the same endpoint.
    for endpoint in [DEAD_ENDPOINT, "HTTP://127.0.0.1:9"] {
        let (code, _, stderr) = run(
            home.path(),
            &["scan", "--region", "us-east-1", "--endpoint-url", endpoint],
        );
        assert_eq!(code, 2);
        assert!(
            stderr.starts_with(
                "rampart: error: cannot identify the account (sts:GetCallerIdentity in us-east-1): DispatchFailure: "
            ),
            "{stderr}"
        );
        assert!(stderr.contains("Connection refused"), "{stderr}");
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(home.path(), &["scan", "--regoin", "us-east-1"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: unexpected argument '--regoin' found"),
        "{stderr}"
    );
}

#[test]
fn evaluate_reports_the_demo_snapshot_offline() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(home.path(), &["evaluate", DEMO, "--fail-on", "never"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(
            "rampart 0.1.0: account 123456789012 (aws) as arn:aws:sts::123456789012:user/moto, 2 region(s): eu-west-1, us-east-1\n"
        ),
        "{stdout}"
    );
    let row = |matches: &dyn Fn(&str) -> bool| -> Vec<String> {
        stdout
            .lines()
            .find(|line| matches(line))
            .unwrap_or_else(|| panic!("no such row in:\n{stdout}"))
            .split(['│', '┆'])
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let cells = |first: &str| row(&|line| line.starts_with(&format!("│ {first} ")));
    assert!(
        stdout
            .contains("\n136 failing finding(s): 7 critical, 38 high, 67 medium, 23 low, 1 info\n")
    );
    // By service and by region: critical, high, medium, low, info, total.
    assert_eq!(
        cells("guardduty"),
        ["guardduty", "6", "19", "29", "18", "-", "72"]
    );
    assert_eq!(cells("global"), ["global", "1", "2", "5", "2", "1", "11"]);
    assert!(stdout.contains("\nEverything requested was collected and evaluated.\n"));
    assert!(
        stdout.ends_with(
            "450 check(s): 136 failed, 314 passed, 0 not evaluated, 0 error(s), 0 suppressed\n"
        ),
        "{stdout}"
    );
    // Most severe first: GuardDuty's critical findings, then the root user.
    assert_eq!(cells("critical")[1], "guardduty-finding-active");
    let root = row(&|line| line.contains("iam-root-mfa-not-enabled"));
    assert_eq!(
        root,
        [
            "critical",
            "iam-root-mfa-not-enabled",
            "123456789012",
            "global",
            "The root user of account 123456789012 has no MFA device"
        ]
    );

    // --show pass lists passing checks; --quiet leaves only the summary.
    let (_, all, _) = run(
        home.path(),
        &["evaluate", DEMO, "--fail-on", "never", "--show", "pass"],
    );
    assert!(all.contains("\nPassing\n"), "{all}");
    assert_eq!(
        all.lines()
            .filter(|l| l.contains("vpc-flow-logs-disabled"))
            .count(),
        // One VPC of five has flow logs.
        stdout
            .lines()
            .filter(|l| l.contains("vpc-flow-logs-disabled"))
            .count()
            + 1
    );
    let (_, quiet, _) = run(home.path(), &["evaluate", DEMO, "--fail-on", "never", "-q"]);
    assert!(!quiet.contains("\nFailing\n"), "{quiet}");
    assert!(quiet.contains("136 failing finding(s)"));
}

#[test]
fn evaluate_points_at_the_line_and_column_of_a_malformed_snapshot() {
    let home = tempfile::tempdir().expect("temp dir");
    let path = home.path().join("broken.json");
    let demo = fs::read_to_string(DEMO).expect("read demo");
    // Break the "partition" value on line 9 of the pretty-printed file.
    let broken = demo.replacen("\"partition\": \"aws\"", "\"partition\": 42", 1);
    fs::write(&path, broken).expect("write broken snapshot");
    let (code, stdout, stderr) = run(home.path(), &["evaluate", path.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}: line 9, column 19: invalid type: integer `42`, expected a string\n",
            path.display()
        )
    );
}

#[test]
fn evaluate_rejects_other_schema_versions_and_other_files() {
    let home = tempfile::tempdir().expect("temp dir");
    let future = home.path().join("future.json");
    fs::write(&future, r#"{"schema_version": 99, "anything": true}"#).expect("write");
    let (code, _, stderr) = run(home.path(), &["evaluate", future.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}: snapshot schema version 99 is not supported; this rampart reads versions 1 to 2\n",
            future.display()
        )
    );

    let other = home.path().join("package.json");
    fs::write(&other, r#"{"name": "not-a-snapshot"}"#).expect("write");
    let (code, _, stderr) = run(home.path(), &["evaluate", other.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}: not a rampart snapshot: it has no `schema_version` field\n",
            other.display()
        )
    );

    let missing = home.path().join("missing.json");
    let (code, _, stderr) = run(home.path(), &["evaluate", missing.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: cannot read snapshot {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
}

const BROKEN_RULE: &str = "id: ec2-security-group-telnet-open
title: Telnet open
severity: high
resource: security_group
description: d
rationale: r
remediation:
  text: close it
when: resource.ingress.exists(p, p.port_range.from <= 23 &&)
message: open
tests:
  - {name: open, expect: fail, resource: {ingress: []}}
  - {name: closed, expect: pass, resource: {ingress: []}}
";

#[test]
fn a_malformed_rule_is_named_by_file_line_and_column_before_any_aws_call() {
    let home = tempfile::tempdir().expect("temp dir");
    let rules = home.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    let file = rules.join("telnet.yaml");
    fs::write(&file, BROKEN_RULE).expect("write rule");
    let (code, stdout, stderr) = run(
        home.path(),
        &[
            "scan",
            "--rules",
            rules.to_str().expect("utf-8"),
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    let expected = format!(
        "rampart: error: {}:9:60: in `when`: Syntax error: mismatched input ')'",
        file.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr.ends_with(" in `resource.ingress.exists(p, p.port_range.from <= 23 &&)`\n"),
        "the offending text is quoted: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_unknown_key_in_a_rule_is_rejected() {
    let home = tempfile::tempdir().expect("temp dir");
    let rules = home.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    let file = rules.join("typo.yaml");
    fs::write(&file, BROKEN_RULE.replace("rationale: r", "rational: r")).expect("write rule");
    let (code, _, stderr) = run(
        home.path(),
        &["rules", "list", "--rules", rules.to_str().expect("utf-8")],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:6:1: unknown field `rational`, expected one of id, aliases, title, \
             severity, severity_from, resource, description, rationale, remediation, references, compliance, \
             equivalents, vars, requires, when, message, unknown, now, tests\n",
            file.display()
        )
    );
}

#[test]
fn rules_test_fails_with_exit_1_when_a_rule_test_fails() {
    let home = tempfile::tempdir().expect("temp dir");
    let rules = home.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    let rule = BROKEN_RULE
        .replace("p.port_range.from <= 23 &&)", "p.port_range.from <= 23)")
        .replace(
            "{name: open, expect: fail, resource: {ingress: []}}",
            "{name: open, expect: fail, resource: {ingress: [{port_range: {from: 23}}]}}",
        )
        .replace(
            "{name: closed, expect: pass, resource: {ingress: []}}",
            "{name: closed, expect: pass, resource: {ingress: [{port_range: {from: 22}}]}}",
        );
    fs::write(rules.join("telnet.yaml"), rule).expect("write rule");
    let (code, stdout, _) = run(
        home.path(),
        &["rules", "test", rules.to_str().expect("utf-8")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stdout,
        format!(
            "FAIL ec2-security-group-telnet-open ({}:13): test `closed`: expected Pass, got Fail\n\
             1 rule(s) tested\n\
             rules: 1 passed, 1 failed\n",
            rules.join("telnet.yaml").display()
        )
    );
    // The same rule given to a scan stops it before any AWS call: its
    // verdicts cannot be trusted.
    let (code, stdout, stderr) = run(
        home.path(),
        &[
            "scan",
            "--rules",
            rules.to_str().expect("utf-8"),
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:13: rule `ec2-security-group-telnet-open` fails its inline test `closed`: \
             expected Pass, got Fail; `rampart rules test` lists every failure\n",
            rules.join("telnet.yaml").display()
        )
    );
}

#[test]
fn rules_test_on_a_directory_without_rules_is_an_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let empty = home.path().join("empty");
    fs::create_dir_all(&empty).expect("dir");
    fs::write(empty.join("README.md"), "no rules here").expect("write");
    let (code, stdout, stderr) = run(
        home.path(),
        &["rules", "test", empty.to_str().expect("utf-8")],
    );
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        format!(
            "rampart: error: no rule files (*.yaml, *.yml) under {}\n",
            empty.display()
        )
    );
}

#[test]
fn selecting_an_unknown_rule_is_a_usage_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(home.path(), &["evaluate", DEMO, "--rule", "ssh-open"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "rampart: error: no rule has the id or alias `ssh-open`\n"
    );
}

#[test]
fn selection_flags_pick_rules() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = run(
        home.path(),
        &[
            "evaluate",
            DEMO,
            "--severity",
            "critical",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code, 0);
    assert!(
        // The root user's MFA and GuardDuty's six critical findings (a rule
        // of nominal severity high whose findings keep GuardDuty's band).
        stdout.ends_with(
            "48 check(s): 7 failed, 41 passed, 0 not evaluated, 0 error(s), 0 suppressed\n"
        ),
        "{stdout}"
    );
    let (_, stdout, _) = run(
        home.path(),
        &[
            "evaluate",
            DEMO,
            "--exclude-rule",
            "ec2-security-group-default-restricts-all-traffic",
            "--compliance",
            "cis-aws-foundations-3.0",
        ],
    );
    assert!(
        stdout.ends_with(
            "77 check(s): 33 failed, 44 passed, 0 not evaluated, 0 error(s), 0 suppressed\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_config_file_changes_a_rule_parameter_and_names_its_mistakes() {
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("rampart.yaml");
    // SSH moved to 2222: the web group's port 22 no longer counts.
    fs::write(
        &config,
        "rules:\n  ec2-security-group-ssh-open-to-internet:\n    vars:\n      port: 2222\n",
    )
    .expect("write config");
    let config_arg = config.to_str().expect("utf-8");
    let (code, stdout, stderr) = run(
        home.path(),
        &[
            "evaluate",
            DEMO,
            "--rule",
            "ec2-security-group-ssh-open-to-internet",
            "--config",
            config_arg,
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.ends_with(
            "8 check(s): 0 failed, 8 passed, 0 not evaluated, 0 error(s), 0 suppressed\n"
        ),
        "{stdout}"
    );

    fs::write(
        &config,
        "rules:\n  ec2-security-group-ssh-open-to-internet:\n    vars:\n      prot: 2222\n",
    )
    .expect("write config");
    let (code, _, stderr) = run(home.path(), &["evaluate", DEMO, "--config", config_arg]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:4:7: rule `ec2-security-group-ssh-open-to-internet` has no parameter `prot` (it has: port)\n",
            config.display()
        )
    );
}

/// Runs rampart with `env` set on top of the test environment and checks
/// that it refuses: exit 2, nothing on stdout, exactly `expected` on
/// stderr, and not a file of `home` created, changed or removed.
fn assert_refused(home: &Path, args: &[&str], env: &[(&str, &str)], expected: &str) {
    let before = contents(home);
    let output = rampart(home)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run rampart");
    assert_eq!(
        (output.status.code(), support::stdout(&output).as_str()),
        (Some(2), ""),
        "{args:?}: {}",
        support::stderr(&output)
    );
    assert_eq!(
        support::stderr(&output),
        format!("rampart: error: {expected}\n"),
        "{args:?}"
    );
    assert_eq!(contents(home), before, "{args:?} changed files");
}

/// Every file under `dir` and its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("list dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(contents(&path));
        } else {
            files.insert(path.clone(), fs::read(&path).unwrap_or_default());
        }
    }
    files
}

#[test]
fn config_values_must_be_what_the_parameter_holds() {
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("rampart.yaml");
    let config_arg = config.to_str().expect("utf-8");
    for (value, problem) in [
        (
            "\"22\"",
            "`port` must be a port number (0 to 65535), not the string \"22\"",
        ),
        ("-1", "`port` must be a port number (0 to 65535), not -1"),
        (
            "[22]",
            "`port` must be a port number (0 to 65535), not a list",
        ),
    ] {
        fs::write(
            &config,
            format!("rules:\n  ec2-security-group-ssh-open-to-internet:\n    vars:\n      port: {value}\n"),
        )
        .expect("write config");
        assert_refused(
            home.path(),
            &[
                "scan",
                "--config",
                config_arg,
                "--endpoint-url",
                DEAD_ENDPOINT,
            ],
            &[],
            &format!(
                "{}:4:13: rule `ec2-security-group-ssh-open-to-internet`: {problem}",
                config.display()
            ),
        );
    }
    fs::write(
        &config,
        "rules:\n  ec2-security-group-unauthorized-port-open-to-internet:\n    vars:\n      authorized_udp_ports: [53, 65536]\n",
    )
    .expect("write config");
    assert_refused(
        home.path(),
        &["evaluate", DEMO, "--config", config_arg],
        &[],
        &format!(
            "{}:4:29: rule `ec2-security-group-unauthorized-port-open-to-internet`: item 2 of \
             `authorized_udp_ports` must be a port number (0 to 65535), not 65536",
            config.display()
        ),
    );
    fs::write(&config, "rules:\n  ssh-open:\n    vars: {port: 22}\n").expect("write config");
    assert_refused(
        home.path(),
        &["evaluate", DEMO, "--config", config_arg],
        &[],
        &format!(
            "{}:2:3: no rule has the id or alias `ssh-open`",
            config.display()
        ),
    );
}

#[test]
fn an_unknown_compliance_framework_names_the_known_ones() {
    let home = tempfile::tempdir().expect("temp dir");
    assert_refused(
        home.path(),
        &[
            "scan",
            "--compliance",
            "cis-3.0",
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
        &[],
        "no rule is mapped to the compliance framework `cis-3.0` given to --compliance; the \
         frameworks are: aws-fsbp, cis-aws-foundations-3.0, \
         cis-aws-foundations-6.0",
    );
}

#[test]
fn region_profile_and_endpoint_mistakes_stop_the_run_before_any_call() {
    let home = tempfile::tempdir().expect("temp dir");
    let scan = |extra: &[&'static str]| {
        let mut args = vec!["scan"];
        args.extend_from_slice(extra);
        args
    };
    assert_refused(
        home.path(),
        &scan(&[
            "--region",
            "all",
            "--region",
            "us-eest-1",
            "--endpoint-url",
            DEAD_ENDPOINT,
        ]),
        &[],
        "`--region all` selects every enabled region and cannot be combined with other regions",
    );
    assert_refused(
        home.path(),
        &scan(&["--profile", "", "--endpoint-url", DEAD_ENDPOINT]),
        &[],
        "--profile needs a profile name; leave it out to use AWS_PROFILE or the default chain",
    );
    assert_refused(
        home.path(),
        &scan(&["--endpoint-url", "http://127.0.0.1:99999"]),
        &[],
        "`http://127.0.0.1:99999` is not a valid --endpoint-url: invalid port number",
    );
    assert_refused(
        home.path(),
        &scan(&[]),
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566\r")],
        "`http://127.0.0.1:4566\r` is not a valid AWS_ENDPOINT_URL: it contains whitespace",
    );
    assert_refused(
        home.path(),
        &scan(&[]),
        &[("AWS_ENDPOINT_URL", "127.0.0.1:4566")],
        "`127.0.0.1:4566` is not a valid AWS_ENDPOINT_URL: relative URL without a base",
    );
    assert_refused(
        home.path(),
        &scan(&[]),
        &[("AWS_ENDPOINT_URL_EC2", "http://[::1")],
        "`http://[::1` is not a valid AWS_ENDPOINT_URL_EC2: invalid IPv6 address",
    );
    // Keys in the environment do not excuse a profile that does not exist:
    // the typo would scan whatever account they reach.
    assert_refused(
        home.path(),
        &scan(&["--endpoint-url", DEAD_ENDPOINT]),
        &[("AWS_PROFILE", "prodd")],
        "the AWS profile `prodd` does not exist in the AWS config or credentials file \
         (~/.aws/config, ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)",
    );
    fs::write(home.path().join("aws-config"), "[profile dev]\nregion\n").expect("write config");
    assert_refused(
        home.path(),
        &scan(&["--endpoint-url", DEAD_ENDPOINT]),
        &[],
        &format!(
            "cannot use the AWS configuration: error parsing {} on line 2: Expected an '=' sign defining a property",
            home.path().join("aws-config").display()
        ),
    );
    // Endpoints in the config file are checked like the variables, unless
    // configured endpoints are ignored.
    fs::write(
        home.path().join("aws-config"),
        "[default]\nendpoint_url = 127.0.0.1:4566\n",
    )
    .expect("write config");
    assert_refused(
        home.path(),
        &scan(&[]),
        &[],
        "`127.0.0.1:4566` is not a valid endpoint URL in the AWS config file (global profile \
         (`default`) key: `endpoint_url`): relative URL without a base",
    );
    fs::write(
        home.path().join("aws-config"),
        "[profile dev]\nservices = local\n[services local]\nec2 =\n  endpoint_url = http://[::1\n",
    )
    .expect("write config");
    assert_refused(
        home.path(),
        &scan(&["--profile", "dev"]),
        &[],
        "`http://[::1` is not a valid endpoint URL in the AWS config file (service-specific \
         (`EC2`) profile (`dev`) key: `endpoint_url`): invalid IPv6 address",
    );
    fs::remove_file(home.path().join("aws-config")).expect("remove config");
    assert_refused(
        home.path(),
        &scan(&[
            "--call-timeout",
            "2m",
            "--operation-deadline",
            "30",
            "--endpoint-url",
            DEAD_ENDPOINT,
        ]),
        &[],
        "--call-timeout (120s) is longer than --operation-deadline (30s), which bounds every attempt of a call together",
    );
}

#[test]
fn endless_or_huge_inputs_fail_fast_with_a_size_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let limit = "it is larger than 1024 MiB, the most rampart reads of such a file";
    assert_refused(
        home.path(),
        &["evaluate", "/dev/zero"],
        &[],
        &format!("cannot read snapshot /dev/zero: {limit}"),
    );
    assert_refused(
        home.path(),
        &["report", "/dev/zero"],
        &[],
        &format!("cannot read report /dev/zero: {limit}"),
    );
    assert_refused(
        home.path(),
        &["evaluate", DEMO, "--baseline", "/dev/zero"],
        &[],
        &format!("cannot read report /dev/zero: {limit}"),
    );
    let small = "it is larger than 16 MiB, the most rampart reads of such a file";
    assert_refused(
        home.path(),
        &["evaluate", DEMO, "--suppressions", "/dev/zero"],
        &[],
        &format!("/dev/zero: cannot read the suppression file: {small}"),
    );
    assert_refused(
        home.path(),
        &["evaluate", DEMO, "--config", "/dev/zero"],
        &[],
        &format!("/dev/zero: cannot read the configuration file: {small}"),
    );
}

#[test]
fn outputs_are_checked_before_collection_and_never_overwrite_an_input() {
    let home = tempfile::tempdir().expect("temp dir");
    let snapshot = home.path().join("snapshot.json");
    fs::copy(DEMO, &snapshot).expect("copy demo");
    fs::write(home.path().join("a.json"), "earlier report").expect("write");
    let missing = home.path().join("missing").join("report.sarif");
    // The scan would fail at its first call; the output is checked first.
    assert_refused(
        home.path(),
        &[
            "scan",
            "--output",
            &format!("sarif={}", missing.display()),
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
        &[],
        &format!(
            "cannot write sarif report {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    assert_refused(
        home.path(),
        &[
            "collect",
            "-o",
            &missing.display().to_string(),
            "--endpoint-url",
            DEAD_ENDPOINT,
        ],
        &[],
        &format!(
            "cannot write snapshot {}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    let a = home.path().join("a.json");
    let dotted = home.path().join(".").join("a.json");
    assert_refused(
        home.path(),
        &[
            "evaluate",
            snapshot.to_str().expect("utf-8"),
            "--output",
            &format!("json={}", a.display()),
            "--output",
            &format!("sarif={}", dotted.display()),
        ],
        &[],
        &format!(
            "two --output options write to the same file: {} and {}",
            a.display(),
            dotted.display()
        ),
    );
    let through_parent = home.path().join("sub").join("..").join("snapshot.json");
    fs::create_dir(home.path().join("sub")).expect("mkdir");
    assert_refused(
        home.path(),
        &[
            "evaluate",
            snapshot.to_str().expect("utf-8"),
            "--output",
            &format!("json={}", through_parent.display()),
        ],
        &[],
        &format!(
            "--output json={} would overwrite the snapshot {} this run reads",
            through_parent.display(),
            snapshot.display()
        ),
    );
    assert_refused(
        home.path(),
        &[
            "evaluate",
            snapshot.to_str().expect("utf-8"),
            "--baseline",
            a.to_str().expect("utf-8"),
            "--output",
            &format!("json={}", dotted.display()),
        ],
        &[],
        &format!(
            "--output json={} would overwrite the baseline {} this run reads",
            dotted.display(),
            a.display()
        ),
    );
    assert_refused(
        home.path(),
        &[
            "report",
            a.to_str().expect("utf-8"),
            "--output",
            &format!("json={}", dotted.display()),
        ],
        &[],
        &format!(
            "--output json={} would overwrite the report {} this run reads",
            dotted.display(),
            a.display()
        ),
    );
}

/// An accounts file as `rampart org accounts` writes it, with `ids`.
fn accounts_file(ids: &[&str]) -> String {
    let accounts: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "id": id, "name": format!("account-{id}"), "email": "a@example.com",
                "ou_path": ["Root"], "parent_id": "r-abcd", "management": false
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": 1,
        "organization_id": "o-abcdefghij",
        "management_account_id": "111111111111",
        "listed_at": "2026-12-01T00:00:00Z",
        "organizational_units": [],
        "excluded": [],
        "accounts": accounts,
    }))
    .expect("JSON")
}

#[test]
fn organization_scans_check_every_input_before_any_call() {
    let home = tempfile::tempdir().expect("temp dir");
    let path = home.path().join("accounts.json");
    let accounts = path.to_str().expect("utf-8");
    let out = home.path().join("out");
    let out = out.to_str().expect("utf-8");
    fs::write(&path, accounts_file(&["111111111111", "222222222222"])).expect("write");
    let scan = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "scan",
            "--accounts",
            accounts,
            "--endpoint-url",
            DEAD_ENDPOINT,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let refused = |extra: &[&str], env: &[(&str, &str)], expected: &str| {
        let args = scan(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(home.path(), &args, env, expected);
    };
    refused(
        &["--out-dir", out],
        &[],
        "--accounts needs --role-name or --role-arn-template: the role to assume in each account",
    );
    refused(
        &["--role-name", "scan"],
        &[],
        "--accounts needs --out-dir DIR: each account's report is written under it",
    );
    refused(
        &[
            "--role-arn-template",
            "arn:aws:iam::111111111111:role/scan",
            "--out-dir",
            out,
        ],
        &[],
        "the role ARN template `arn:aws:iam::111111111111:role/scan` does not contain {account_id}, so every account would assume the same role",
    );
    refused(
        &["--role-name", "scan role", "--out-dir", out],
        &[],
        "`scan role` is not an IAM role name: use letters, digits and +=,.@_- (a path before it, as path/NAME, is allowed)",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--session-name",
            "scan {account_id}",
            "--out-dir",
            out,
        ],
        &[],
        "`scan {account_id}` is not a role session name: 2 to 64 letters, digits and +=,.@_- once {account_id} is filled in",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--via-role",
            "arn:aws:iam::hub:role/x",
            "--out-dir",
            out,
        ],
        &[],
        "`arn:aws:iam::hub:role/x` is not an IAM role ARN (arn:aws:iam::ACCOUNT_ID:role/NAME), given to --via-role",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--out-dir",
            out,
            "--output",
            "sarif=reports/x.sarif",
        ],
        &[],
        "with --accounts, --output sarif=NAME names a file written in each account's directory under --out-dir, not a path or stdout",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--out-dir",
            out,
            "--output",
            "sarif=x.sarif/",
        ],
        &[],
        "with --accounts, --output sarif=NAME names a file written in each account's directory under --out-dir, not a path or stdout",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--out-dir",
            out,
            "--output",
            "markdown=Report.JSON",
        ],
        &[],
        "--output markdown=Report.JSON would replace each account's report.json",
    );
    refused(
        &[
            "--role-name",
            "scan",
            "--out-dir",
            out,
            "--output",
            "json=report.json",
        ],
        &[],
        "--output json=report.json would replace each account's report.json",
    );
    refused(
        &["--role-name", "scan", "--out-dir", out, "--baseline", DEMO],
        &[],
        &format!(
            "with --accounts, --baseline names an earlier run's --out-dir (ACCOUNT_ID/report.json in it per account); {DEMO} is not a directory"
        ),
    );
    let same = home.path().join("same");
    fs::create_dir_all(&same).expect("mkdir");
    let same = same.to_str().expect("utf-8");
    refused(
        &["--role-name", "scan", "--out-dir", same, "--baseline", same],
        &[],
        &format!(
            "--baseline {same} is the --out-dir: each account's report would replace the one it is compared with; write this run to another directory"
        ),
    );
    // An earlier run's directory holding another account's report.
    let earlier = home.path().join("earlier");
    fs::create_dir_all(earlier.join("222222222222")).expect("mkdir");
    let misplaced = earlier.join("222222222222").join("report.json");
    fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/report/report.json"),
        &misplaced,
    )
    .expect("copy a report");
    refused(
        &[
            "--role-name",
            "scan",
            "--out-dir",
            out,
            "--baseline",
            earlier.to_str().expect("utf-8"),
        ],
        &[],
        &format!(
            "{}: it is the report of account 123456789012, not 222222222222",
            misplaced.display()
        ),
    );
    refused(
        &["--role-name", "scan", "--out-dir", "/nonexistent/out"],
        &[],
        "cannot write output directory /nonexistent/out: No such file or directory (os error 2)",
    );
    refused(
        &["--shard-from-env", "--shards", "3", "--plan"],
        &[],
        "--shard-from-env needs JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX to be set",
    );
    refused(
        &["--shard-from-env", "--shards", "3", "--plan"],
        &[("JOB_COMPLETION_INDEX", "3")],
        "JOB_COMPLETION_INDEX: shard index 3 is out of range: with 3 shard(s) the index is 0 to 2",
    );

    // The accounts file itself.
    for (contents, problem) in [
        (
            accounts_file(&["111111111111", "111111111111"]),
            "account 111111111111 is listed twice",
        ),
        (
            accounts_file(&["222222222222", "111111111111"]),
            "its accounts are not sorted by id",
        ),
        (
            accounts_file(&["11111111111"]),
            "`11111111111` is not an AWS account id (twelve digits)",
        ),
        (accounts_file(&[]), "it lists no accounts"),
    ] {
        fs::write(&path, contents).expect("write");
        refused(&["--plan"], &[], &format!("{accounts}: {problem}"));
    }
    fs::write(&path, "{\"schema_version\": 1, \"accounts\": 3}").expect("write");
    refused(
        &["--plan"],
        &[],
        &format!("{accounts}: line 1, column 35: invalid type: integer `3`, expected a sequence"),
    );
    assert_refused(
        home.path(),
        &["scan", "--accounts", DEMO, "--plan"],
        &[],
        &format!(
            "{DEMO}: not a rampart accounts file: it is a snapshot; use `rampart evaluate` to evaluate it"
        ),
    );
}

#[test]
fn listing_an_organization_checks_its_arguments_before_any_call() {
    let home = tempfile::tempdir().expect("temp dir");
    let org = |extra: &[&str]| -> Vec<String> {
        ["org", "accounts", "--endpoint-url", DEAD_ENDPOINT]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    for (extra, expected) in [
        (
            &["--ou", "prod"][..],
            "`prod` is not an organizational unit id (ou-...) or root id (r-...), given to --ou",
        ),
        (
            &["--exclude-account", "12345"][..],
            "`12345` is not an AWS account id (twelve digits), given to --exclude-account",
        ),
        (
            &["--org-role", "OrgReader"][..],
            "`OrgReader` is not an IAM role ARN (arn:aws:iam::ACCOUNT_ID:role/NAME), given to --org-role",
        ),
        (
            &["-o", "/nonexistent/accounts.json"][..],
            "cannot write accounts file /nonexistent/accounts.json: No such file or directory (os error 2)",
        ),
    ] {
        let args = org(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_refused(home.path(), &args, &[], expected);
    }
}

/// A user rule the compiler cannot take (a map literal) runs on the
/// interpreter: `rules list` and `rules show` say so, and its verdicts are
/// still made.
#[test]
fn a_rule_the_compiler_does_not_take_runs_on_the_interpreter() {
    let home = tempfile::tempdir().expect("temp dir");
    let rules = home.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    fs::write(
        rules.join("named.yaml"),
        "id: ec2-security-group-named-web
title: The group is named web
severity: low
resource: security_group
description: d
rationale: r
remediation:
  text: rename it
when: '{\"web\": true, \"db\": false}[resource.name] == true'
message: '{{ resource.id }} is named web'
tests:
  - {name: web, expect: fail, resource: {id: sg-1, name: web}}
  - {name: db, expect: pass, resource: {id: sg-2, name: db}}
",
    )
    .expect("write rule");
    let dir = rules.to_str().expect("utf-8");
    let (code, stdout, stderr) = run(home.path(), &["rules", "list", "--rules", dir]);
    assert_eq!(code, 0, "{stderr}");
    let evaluators: BTreeMap<&str, usize> = stdout
        .lines()
        .filter_map(|line| {
            ["compiled", "interpreter"]
                .into_iter()
                .find(|name| line.contains(&format!("┆ {name} ")))
        })
        .fold(BTreeMap::new(), |mut counts, name| {
            *counts.entry(name).or_default() += 1;
            counts
        });
    let total = stdout
        .lines()
        .find_map(|line| line.strip_suffix(" rule(s)"))
        .and_then(|count| count.parse::<usize>().ok())
        .expect("the count of rules");
    assert_eq!(
        evaluators,
        BTreeMap::from([("compiled", total - 1), ("interpreter", 1)]),
        "{stdout}"
    );
    let (code, shown, _) = run(
        home.path(),
        &[
            "rules",
            "show",
            "ec2-security-group-named-web",
            "--rules",
            dir,
        ],
    );
    assert_eq!(code, 0);
    assert!(
        shown.contains(
            "\nEvaluator: interpreter (a map literal is not compiled, at 1:1 of its expression)\n"
        ),
        "{shown}"
    );
    let report = home.path().join("report.json");
    let (code, _, stderr) = run(
        home.path(),
        &[
            "evaluate",
            DEMO,
            "--rules",
            dir,
            "--rule",
            "ec2-security-group-named-web",
            "--fail-on",
            "never",
            "--output",
            &format!("json={}", report.display()),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("json");
    let failing: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "FAIL")
        .filter_map(|f| f["message"].as_str())
        .collect();
    let snapshot: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(DEMO).expect("demo")).expect("json");
    let mut web: Vec<String> = snapshot["regions"]
        .as_object()
        .expect("regions")
        .values()
        .flat_map(|region| {
            region["ec2"]["security_groups"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|group| group["name"] == "web")
        .map(|group| format!("{} is named web", group["id"].as_str().unwrap_or("")))
        .collect();
    web.sort();
    let mut failing: Vec<String> = failing.into_iter().map(str::to_owned).collect();
    failing.sort();
    assert!(!web.is_empty());
    assert_eq!(failing, web);
}

/// A rule's expressions and its tests' resources are checked against the
/// resource type's schema when it loads: a misspelt field stops `evaluate`
/// and `rules test` at its file, line and column (exit 2) before anything
/// is read or written, and `rules schema` lists the fields that exist.
#[test]
fn a_misspelt_field_stops_the_run_at_its_position() {
    let home = tempfile::tempdir().expect("temp dir");
    let rules = home.path().join("rules");
    fs::create_dir_all(&rules).expect("rules dir");
    let rule = |when: &str, tested_field: &str| {
        format!(
            "id: ec2-security-group-many-rules
title: The group has many rules
severity: low
resource: security_group
description: d
rationale: r
remediation:
  text: split it
when: {when}
message: '{{{{ resource.id }}}} has many rules'
tests:
  - {{name: many, expect: fail, resource: {{id: sg-1, {tested_field}: 60}}}}
  - {{name: few, expect: pass, resource: {{id: sg-2, {tested_field}: 2}}}}
"
        )
    };
    let file = rules.join("many.yaml");
    let dir = rules.to_str().expect("utf-8");
    let report = home.path().join("report.json");
    let evaluate = [
        "evaluate",
        DEMO,
        "--rules",
        dir,
        "--output",
        &format!("json={}", report.display()),
    ];

    fs::write(&file, rule("resource.rule_cont > 50", "rule_count")).expect("write rule");
    let (code, stdout, stderr) = run(home.path(), &evaluate);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:9:15: in `when`: `resource` (a security_group) has no field `rule_cont`; did you mean `rule_count`? in `resource.rule_cont > 50`\n",
            file.display()
        )
    );
    assert!(!report.exists());
    let (code, _, stderr) = run(home.path(), &["rules", "test", dir]);
    assert_eq!(code, 2, "{stderr}");

    fs::write(&file, rule("resource.rule_count > '50'", "rule_count")).expect("write rule");
    let (code, _, stderr) = run(home.path(), &evaluate);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:9:27: in `when`: `resource.rule_count` (a number) cannot be ordered against `'50'` (a string) in `resource.rule_count > '50'`\n",
            file.display()
        )
    );

    // The condition is right; a test's resource misspells the field, so
    // the test would test nothing.
    fs::write(&file, rule("resource.rule_count > 50", "rule_cont")).expect("write rule");
    let (code, _, stderr) = run(home.path(), &evaluate);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        format!(
            "rampart: error: {}:12:12: test `many`: `resource` has no field `rule_cont`; did you mean `rule_count`?\n",
            file.display()
        )
    );

    fs::write(&file, rule("resource.rule_count > 50", "rule_count")).expect("write rule");
    let (code, _, stderr) = run(home.path(), &evaluate);
    assert_eq!(code, 1, "{stderr}");
    assert!(report.exists());

    let (code, stdout, _) = run(home.path(), &["rules", "schema", "security_group"]);
    assert_eq!(code, 0);
    let rule_count = stdout
        .lines()
        .find(|line| line.contains(" resource.rule_count "))
        .expect("rule_count listed");
    assert!(
        rule_count.contains("┆ uint ") && rule_count.contains("┆ analysis "),
        "{rule_count}"
    );
    let (code, _, stderr) = run(home.path(), &["rules", "schema", "security_groups"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no resource type `security_groups` (one of: account, region,"),
        "{stderr}"
    );
}
