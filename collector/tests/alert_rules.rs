//! Alert rules as a user writes them in the config file: what is accepted, the defaults, and
//! every way a rule is refused at start-up (with its line and a reason a person can act on).

use std::time::Duration;

use perfwatch_collector::alerts::model::Severity;
use perfwatch_collector::alerts::rules::{
    self, Comparison, Direction, NoData, RuleError, RuleKind, Source,
};
use perfwatch_collector::config::{Args, Config, ConfigError};
use perfwatch_collector::host_history::Thresholds;

fn parse(text: &str) -> Result<rules::AlertsConfig, RuleError> {
    rules::parse(text, Thresholds::default())
}

#[test]
fn a_full_rule_parses_with_every_setting() {
    let config = parse(
        r#"
listen = "127.0.0.1:8001"   # other keys of the file are not the rules' business

[alerts]
evaluation_interval = "30s"
default_rules = false

[[alerts.rules]]
name = "ChatSlow"
expr = 'api.latency_p95_ms{endpoint="POST /api/chat", endpoint!="GET /health"}'
window = "10m"
op = ">="
warning = 1500
critical = 4000
for = "2m"
keep_firing_for = "5m"
hysteresis = 200
no_data = "alert"
min_count = 20
labels = { team = "ai" }
summary = "{{ endpoint }} p95 {{ value }} ms (>= {{ threshold }} ms) for {{ team }}"
description = "see the runbook"
"#,
    )
    .expect("parses");
    assert_eq!(config.evaluation_interval, Duration::from_secs(30));
    assert_eq!(config.rules.len(), 1, "default_rules = false");
    let rule = &config.rules[0];
    assert_eq!(rule.name, "ChatSlow");
    assert_eq!(rule.line, 8, "the line of [[alerts.rules]]");
    assert_eq!(rule.expr.metric.source, Source::Api);
    assert_eq!(rule.expr.metric.measure, "latency_p95_ms");
    assert!(rule.expr.selects("POST /api/chat"));
    assert!(!rule.expr.selects("GET /health"));
    assert_eq!(rule.op, Comparison::AtLeast);
    assert_eq!(
        rule.thresholds,
        [(Severity::Warning, 1500.0), (Severity::Critical, 4000.0)]
    );
    assert_eq!(rule.window, Duration::from_secs(600));
    assert_eq!(rule.for_, Duration::from_secs(120));
    assert_eq!(rule.keep_firing_for, Duration::from_secs(300));
    assert_eq!(rule.hysteresis, 200.0);
    assert_eq!(rule.no_data, NoData::Alert);
    assert_eq!(rule.min_count, 20);
    assert_eq!(rule.labels["team"], "ai");
}

#[test]
fn the_defaults_carry_the_seed_designs_thresholds() {
    let config = parse("").expect("an empty file is the defaults");
    assert_eq!(config.evaluation_interval, Duration::from_secs(15));
    let rule = |name: &str| {
        config
            .rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("default rule {name}"))
    };
    let critical = |name: &str| {
        rule(name)
            .thresholds
            .iter()
            .find(|(s, _)| *s == Severity::Critical)
            .map(|(_, t)| *t)
    };
    // CPU > 90 %, memory > 90 %, disk > 95 %, API response time > 5 s, error rate > 10 %.
    assert_eq!(critical("HostCpuHigh"), Some(90.0));
    assert_eq!(critical("HostMemoryHigh"), Some(90.0));
    assert_eq!(critical("HostDiskFull"), Some(95.0));
    assert_eq!(critical("ApiLatencyHigh"), Some(5000.0));
    assert_eq!(critical("ApiErrorRateHigh"), Some(10.0));
    for name in ["HostCpuHigh", "ApiLatencyHigh", "ApiErrorRateHigh"] {
        assert_eq!(rule(name).op, Comparison::Above);
        assert_eq!(
            rule(name).thresholds.len(),
            2,
            "{name}: warning and critical"
        );
    }
    assert!(matches!(
        rule("HostDiskFullSoon").kind,
        RuleKind::Predict { horizon } if horizon == Duration::from_secs(86_400)
    ));
    // The host rules follow the host thresholds of the config.
    let custom = rules::parse(
        "",
        Thresholds {
            cpu: (60.0, 70.0),
            ..Thresholds::default()
        },
    )
    .unwrap();
    let cpu = custom
        .rules
        .iter()
        .find(|r| r.name == "HostCpuHigh")
        .unwrap();
    assert_eq!(cpu.thresholds[1], (Severity::Critical, 70.0));
}

#[test]
fn a_rule_named_like_a_default_replaces_it() {
    let config = parse(
        r#"
[[alerts.rules]]
name = "HostCpuHigh"
expr = "system.cpu_usage"
critical = 99
"#,
    )
    .unwrap();
    let cpu: Vec<_> = config
        .rules
        .iter()
        .filter(|r| r.name == "HostCpuHigh")
        .collect();
    assert_eq!(cpu.len(), 1);
    assert_eq!(cpu[0].thresholds, [(Severity::Critical, 99.0)]);
    assert!(config.rules.len() > 5, "the other defaults stay");
}

#[test]
fn predict_and_anomaly_rules_parse() {
    let config = parse(
        r#"
[alerts]
default_rules = false

[[alerts.rules]]
name = "DiskFullIn24h"
kind = "predict"
expr = "system.disk_usage"
window = "6h"
horizon = "24h"
op = ">="
critical = 100

[[alerts.rules]]
name = "CostAnomaly"
kind = "anomaly"
expr = "sum(ai.cost_usd_per_hour)"
window = "15m"
deviations = 4
half_life = "3h"
seasonality = "daily"
min_samples = 50
direction = "both"
min_deviation = 0.5
severity = "critical"
for = "10m"
"#,
    )
    .unwrap();
    assert!(matches!(config.rules[0].kind, RuleKind::Predict { .. }));
    let RuleKind::Anomaly(p) = &config.rules[1].kind else {
        panic!("anomaly")
    };
    assert_eq!(p.deviations, 4.0);
    assert_eq!(p.half_life, Duration::from_secs(3 * 3600));
    assert!(p.daily);
    assert_eq!(p.min_samples, 50);
    assert_eq!(p.direction, Direction::Both);
    assert_eq!(config.rules[1].thresholds, [(Severity::Critical, 0.0)]);
    assert!(config.rules[1].expr.aggregate.is_some());
}

/// `rule` (the body of one `[[alerts.rules]]`, starting on line 3) is refused with a message
/// naming the rule, line 3, and containing `reason`.
fn assert_refused(rule: &str, reason: &str) {
    let text = format!("[alerts]\n\n[[alerts.rules]]\n{rule}\n");
    let error = parse(&text).expect_err(rule);
    let message = error.to_string();
    match &error {
        RuleError::Rule { line, .. } => assert_eq!(*line, 3, "{message}"),
        // toml's own message points at the offending key's line.
        RuleError::Toml(_) => assert!(message.contains("at line "), "{message}"),
        RuleError::Settings(_) => {}
    }
    assert!(
        message.contains(reason),
        "{rule}\n=> {message}\n(expected `{reason}`)"
    );
}

#[test]
fn broken_rules_are_refused_with_the_line_and_the_reason() {
    let base = "name = \"R\"\nexpr = \"system.cpu_usage\"";
    assert_refused(
        "name = \"R\"\nexpr = \"system.cpu\"\ncritical = 1",
        "unknown metric `system.cpu`",
    );
    assert_refused(
        "name = \"R\"\nexpr = \"cpu\"\ncritical = 1",
        "unknown metric",
    );
    assert_refused(
        "name = \"R\"\nexpr = 'api.count{model=\"x\"}'\ncritical = 1",
        "has the label `endpoint` only",
    );
    assert_refused(
        "name = \"R\"\nexpr = 'api.count{endpoint=x}'\ncritical = 1",
        "must be in double quotes",
    );
    assert_refused(
        "name = \"R\"\nexpr = \"median(api.count)\"\ncritical = 1",
        "unknown function `median`",
    );
    assert_refused(base, "give a `warning` or a `critical` threshold");
    assert_refused(
        &format!("{base}\nwarning = 95\ncritical = 90"),
        "warning threshold must come before",
    );
    assert_refused(
        &format!("{base}\nop = \"<\"\nwarning = 10\ncritical = 20"),
        "warning threshold must come before",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nfor = \"soon\""),
        "`for` = \"soon\" is not a duration",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nwindow = \"30d\""),
        "at most 7 days",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nop = \"!=\""),
        "unknown variant",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nthreshold = 3"),
        "unknown field `threshold`",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nkind = \"magic\""),
        "`kind` = \"magic\"",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nsummary = \"{{{{ endpoint }}}} is slow\""),
        "unknown placeholder `{{ endpoint }}`",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nlabels = {{ severity = \"x\" }}"),
        "set by the collector",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\nlabels = {{ \"bad-name\" = \"x\" }}"),
        "label `bad-name`",
    );
    assert_refused(
        &format!("{base}\ncritical = 90\ndeviations = 3"),
        "for `kind = \"anomaly\"` rules only",
    );
    assert_refused(
        "name = \"R\"\nkind = \"predict\"\nexpr = \"api.latency_p95_ms\"\ncritical = 1",
        "a predict rule follows one system metric",
    );
    assert_refused(
        "name = \"R\"\nkind = \"anomaly\"\nexpr = \"api.latency_p95_ms\"\ncritical = 1",
        "an anomaly rule has no thresholds",
    );
    assert_refused(
        "name = \"has space\"\nexpr = \"system.cpu_usage\"\ncritical = 1",
        "`name` must be",
    );
}

#[test]
fn two_rules_of_one_name_are_refused_on_the_second() {
    let text = "[[alerts.rules]]\nname = \"A\"\nexpr = \"system.cpu_usage\"\ncritical = 1\n\n\
                [[alerts.rules]]\nname = \"A\"\nexpr = \"system.memory_usage\"\ncritical = 1\n";
    let error = parse(text).unwrap_err();
    assert_eq!(
        error,
        RuleError::Rule {
            name: "A".into(),
            line: 6,
            reason: "another rule has the same name".into()
        }
    );
}

#[test]
fn the_collector_refuses_to_start_with_a_broken_rule() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("perfwatch.toml");
    std::fs::write(
        &file,
        "retention_days = 7\n\n[[alerts.rules]]\nname = \"Typo\"\nexpr = \"system.cpu_usgae\"\ncritical = 90\n",
    )
    .unwrap();
    let args = Args {
        config: Some(file.clone()),
        listen: None,
        data_dir: None,
        store: None,
        tls_cert: None,
        tls_key: None,
        command: None,
    };
    let error = Config::resolve(args, |_| None).unwrap_err();
    assert!(matches!(error, ConfigError::Alerts { .. }), "{error}");
    let message = error.to_string();
    for part in [
        "perfwatch.toml",
        "`Typo`",
        "line 3",
        "unknown metric `system.cpu_usgae`",
    ] {
        assert!(message.contains(part), "{message} lacks {part}");
    }
    // And the binary says so and exits non-zero.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("unknown metric"),
        "{stderr}"
    );
}
