//! Alert rules from the config file's `[alerts]` table: parsing, checking (a rule that cannot
//! work is refused at start-up with its line and the reason), and the defaults that carry the
//! seed design's thresholds.
//!
//! ```toml
//! [alerts]
//! evaluation_interval = "15s"
//!
//! [[alerts.rules]]
//! name = "ApiLatencyHigh"
//! expr = 'api.latency_p95_ms{endpoint!="GET /health"}'
//! window = "5m"
//! op = ">"
//! warning = 2000
//! critical = 5000
//! for = "1m"
//! keep_firing_for = "2m"
//! min_count = 5
//! labels = { team = "backend" }
//! summary = "p95 of {{ endpoint }} is {{ value }} ms (over {{ threshold }} ms)"
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use perfwatch_protocol::VitalName;
use serde::Deserialize;

use super::model::{Labels, Severity, ALERTNAME, SEVERITY};
use super::notify::NotifyConfig;
use crate::host_history::Thresholds;

/// How often rules are evaluated by default.
pub const DEFAULT_EVALUATION_INTERVAL: Duration = Duration::from_secs(15);
/// How far back a rule's expression reads by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Most rules a configuration may hold (each is evaluated every interval).
pub const MAX_RULES: usize = 200;
/// Most series one rule may follow; the rest are counted and ignored.
pub const MAX_SERIES_PER_RULE: usize = 500;
/// The longest window a rule may read.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where a metric comes from, and the label that tells its series apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The stored host samples, one series per `host`.
    System,
    /// Backend API calls, one series per `endpoint` (`METHOD /path`).
    Api,
    /// AI model calls, one series per `model`.
    Ai,
    /// Web vitals, one series per `page` (route, or URL path).
    Frontend,
}

impl Source {
    /// The label naming a series of this source.
    pub fn label(self) -> &'static str {
        match self {
            Source::System => "host",
            Source::Api => "endpoint",
            Source::Ai => "model",
            Source::Frontend => "page",
        }
    }
}

/// One metric an expression can name: `source.measure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metric {
    pub source: Source,
    /// The measure within the source (`cpu_usage`, `latency_p95_ms`, ...).
    pub measure: &'static str,
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            Source::System => "system",
            Source::Api => "api",
            Source::Ai => "ai",
            Source::Frontend => "frontend",
        };
        write!(f, "{source}.{}", self.measure)
    }
}

/// Every metric rules can use, by source. System metrics average the samples of the window.
pub const METRICS: &[(Source, &[&str])] = &[
    (
        Source::System,
        &[
            "cpu_usage",
            "memory_usage",
            "swap_usage",
            "disk_usage",
            "load_1",
            "network_rx_bytes_per_s",
            "network_tx_bytes_per_s",
            "process_cpu_percent",
            "process_resident_bytes",
        ],
    ),
    (
        Source::Api,
        &[
            "latency_p50_ms",
            "latency_p90_ms",
            "latency_p95_ms",
            "latency_p99_ms",
            "error_rate_percent",
            "any_error_rate_percent",
            "requests_per_second",
            "count",
        ],
    ),
    (
        Source::Ai,
        &[
            "error_rate_percent",
            "success_rate_percent",
            "cost_usd_per_hour",
            "tokens_per_hour",
            "latency_p95_ms",
            "count",
        ],
    ),
    (
        Source::Frontend,
        &[
            "lcp_p75_ms",
            "inp_p75_ms",
            "cls_p75",
            "fcp_p75_ms",
            "ttfb_p75_ms",
            "poor_lcp_percent",
            "poor_inp_percent",
            "poor_cls_percent",
        ],
    ),
];

impl Metric {
    /// The metric named `name` (`system.cpu_usage`).
    pub fn parse(name: &str) -> Option<Metric> {
        let (source, measure) = name.split_once('.')?;
        let source = match source {
            "system" => Source::System,
            "api" => Source::Api,
            "ai" => Source::Ai,
            "frontend" => Source::Frontend,
            _ => return None,
        };
        let (_, measures) = METRICS.iter().find(|(s, _)| *s == source)?;
        let measure = measures.iter().find(|m| **m == measure)?;
        Some(Metric { source, measure })
    }

    /// The vital a frontend measure is about (`lcp_p75_ms` -> LCP).
    pub fn vital(self) -> Option<VitalName> {
        let head = self
            .measure
            .split('_')
            .nth(usize::from(self.measure.starts_with("poor_")))?;
        VitalName::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(head))
    }
}

/// How series of one metric are combined into one, if they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

impl Aggregate {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sum" => Aggregate::Sum,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "count" => Aggregate::Count,
            _ => return None,
        })
    }

    /// `values` combined (`None` without values).
    pub fn apply(self, values: &[f64]) -> Option<f64> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        Some(match self {
            Aggregate::Sum => values.iter().sum(),
            Aggregate::Avg => values.iter().sum::<f64>() / n,
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Count => n,
        })
    }
}

/// A label condition of an expression: `name="value"` or `name!="value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    pub name: String,
    pub value: String,
    pub equal: bool,
}

/// What a rule evaluates: `metric`, `metric{label="v",label!="w"}`, or one of those inside
/// `sum(...)`, `avg(...)`, `min(...)`, `max(...)` or `count(...)` (one series, no labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub metric: Metric,
    pub matchers: Vec<LabelMatch>,
    pub aggregate: Option<Aggregate>,
    /// The expression as written.
    pub text: String,
}

impl Expr {
    /// Parses `text`; the error says what is wrong and what is accepted.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let trimmed = text.trim();
        let (aggregate, inner) = match trimmed.split_once('(') {
            Some((name, rest)) => {
                let aggregate = Aggregate::parse(name.trim()).ok_or_else(|| {
                    format!(
                        "unknown function `{}`: use sum, avg, min, max or count",
                        name.trim()
                    )
                })?;
                let inner = rest
                    .trim_end()
                    .strip_suffix(')')
                    .ok_or("a `(` without its `)`")?;
                (Some(aggregate), inner.trim())
            }
            None => (None, trimmed),
        };
        let (name, matchers) = match inner.split_once('{') {
            Some((name, rest)) => {
                let body = rest
                    .trim_end()
                    .strip_suffix('}')
                    .ok_or("a `{` without its `}`")?;
                (name.trim(), parse_matchers(body)?)
            }
            None => (inner, Vec::new()),
        };
        let metric = Metric::parse(name).ok_or_else(|| {
            format!("unknown metric `{name}`; the metrics are listed in the README (\"Alerts\")")
        })?;
        if let Some(bad) = matchers.iter().find(|m| m.name != metric.source.label()) {
            return Err(format!(
                "{metric} has the label `{}` only, not `{}`",
                metric.source.label(),
                bad.name
            ));
        }
        Ok(Expr {
            metric,
            matchers,
            aggregate,
            text: trimmed.to_owned(),
        })
    }

    /// Whether a series labelled `value` (its source's label) is selected.
    pub fn selects(&self, value: &str) -> bool {
        self.matchers.iter().all(|m| (m.value == value) == m.equal)
    }
}

/// `name="value", name!="value"`.
fn parse_matchers(body: &str) -> Result<Vec<LabelMatch>, String> {
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (name, equal, after) = if let Some(at) = rest.find("!=") {
            let eq = rest.find('=').unwrap_or(at);
            if eq < at {
                let (n, a) = rest.split_at(eq);
                (n, true, &a[1..])
            } else {
                let (n, a) = rest.split_at(at);
                (n, false, &a[2..])
            }
        } else if let Some(eq) = rest.find('=') {
            let (n, a) = rest.split_at(eq);
            (n, true, &a[1..])
        } else {
            return Err(format!(
                "`{rest}` is not `label=\"value\"` or `label!=\"value\"`"
            ));
        };
        let after = after.trim_start();
        let quoted = after
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of `{}` must be in double quotes", name.trim()))?;
        let end = quoted
            .find('"')
            .ok_or_else(|| format!("the value of `{}` has no closing quote", name.trim()))?;
        out.push(LabelMatch {
            name: name.trim().to_owned(),
            value: quoted[..end].to_owned(),
            equal,
        });
        rest = quoted[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

/// The comparison that makes a value alarming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Whether `value` is alarming against `threshold`, with `margin` of hysteresis (a firing
    /// alert needs the value `margin` on the good side of the threshold to resolve).
    pub fn holds(self, value: f64, threshold: f64, margin: f64) -> bool {
        match self {
            Comparison::Above => value > threshold - margin,
            Comparison::AtLeast => value >= threshold - margin,
            Comparison::Below => value < threshold + margin,
            Comparison::AtMost => value <= threshold + margin,
        }
    }

    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }

    /// Whether a larger value is worse.
    fn upward(self) -> bool {
        matches!(self, Comparison::Above | Comparison::AtLeast)
    }
}

/// What a rule does when its expression has no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// Alerts stay as they are until data returns.
    Keep,
    /// Alerts of series without data resolve (Prometheus' behaviour).
    #[default]
    Resolve,
    /// When the whole expression has no data, a `nodata` alert fires (after `for`).
    Alert,
}

/// What kind of condition a rule checks.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// The value against the thresholds.
    Threshold,
    /// The value a linear trend over `window` predicts `horizon` ahead, against the thresholds
    /// (Prometheus' `predict_linear`). System metrics only.
    Predict { horizon: Duration },
    /// The value against its own exponentially weighted baseline ([`super::anomaly`]).
    Anomaly(AnomalyParams),
}

impl RuleKind {
    /// The name in the config file.
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleKind::Threshold => "threshold",
            RuleKind::Predict { .. } => "predict",
            RuleKind::Anomaly(_) => "anomaly",
        }
    }
}

/// The parameters of anomaly detection ([`super::anomaly`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyParams {
    /// How many standard deviations from the baseline count as anomalous.
    pub deviations: f64,
    /// The time in which an observation's weight in the baseline halves.
    pub half_life: Duration,
    /// Observations a baseline needs before it judges.
    pub min_samples: u32,
    /// Keep a baseline per hour of the day.
    pub daily: bool,
    /// Which side is anomalous.
    pub direction: Direction,
    /// The smallest standard deviation used, in the metric's unit: a perfectly flat series
    /// must not turn every tiny change into an anomaly.
    pub min_deviation: f64,
}

/// Which departures from the baseline an anomaly rule reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
    Both,
}

/// A rule, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The `alertname`.
    pub name: String,
    pub kind: RuleKind,
    pub expr: Expr,
    pub op: Comparison,
    /// The threshold of each severity the rule alerts at (anomaly rules: the severity alone,
    /// with a threshold of 0).
    pub thresholds: Vec<(Severity, f64)>,
    /// How far back the expression reads.
    pub window: Duration,
    /// How long the condition must hold before the alert fires.
    pub for_: Duration,
    /// How long a firing alert keeps firing after the condition stops holding.
    pub keep_firing_for: Duration,
    /// How far past the threshold, on the good side, a firing alert's value must go to resolve.
    pub hysteresis: f64,
    pub no_data: NoData,
    /// Series with fewer calls or measurements in the window than this count as no data.
    pub min_count: u64,
    /// Added to every alert of the rule.
    pub labels: Labels,
    /// Templates: `{{ value }}`, `{{ threshold }}`, `{{ severity }}`, `{{ alertname }}`,
    /// `{{ expr }}`, and any label (`{{ host }}`).
    pub summary: String,
    pub description: String,
    /// The line of the config file the rule starts on (0 for built-in rules).
    pub line: usize,
}

impl Rule {
    /// The label set of the alert of this rule on the series `series` at `severity`.
    pub fn alert_labels(&self, series: &Labels, severity: Severity) -> Labels {
        let mut labels = series.clone();
        labels.extend(self.labels.clone());
        labels.insert(ALERTNAME.into(), self.name.clone());
        labels.insert(SEVERITY.into(), severity.as_str().into());
        labels
    }

    /// `template` with its placeholders filled from `labels`, the value and the threshold.
    pub fn render(
        &self,
        template: &str,
        labels: &Labels,
        value: Option<f64>,
        threshold: f64,
    ) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            let key = after[..end].trim();
            match key {
                "value" => out.push_str(&value.map_or_else(|| "no data".into(), format_value)),
                "threshold" => out.push_str(&format_value(threshold)),
                "expr" => out.push_str(&self.expr.text),
                other => out.push_str(labels.get(other).map_or("", String::as_str)),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// A number for people: whole above 100, else at most two decimals, no trailing zeros.
pub fn format_value(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value.abs() >= 100.0 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The `[alerts]` table, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    /// How often rules are evaluated. Default 15 s.
    pub evaluation_interval: Duration,
    /// The rules: the defaults (unless `default_rules = false`), with a configured rule of the
    /// same name in place of a default one.
    pub rules: Vec<Rule>,
    /// `[alerts.notify]`.
    pub notify: NotifyConfig,
}

/// Why the `[alerts]` table cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    /// The file is not TOML, or a key has the wrong type (toml's message has the line).
    #[error("{0}")]
    Toml(String),
    /// A rule that cannot work.
    #[error("alert rule `{name}` (line {line}): {reason}")]
    Rule {
        name: String,
        line: usize,
        reason: String,
    },
    /// A setting of `[alerts]` itself.
    #[error("[alerts] {0}")]
    Settings(String),
}

/// The `[alerts]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    evaluation_interval: Option<String>,
    default_rules: Option<bool>,
    #[serde(default)]
    rules: Vec<toml::Spanned<RawRule>>,
    #[serde(default)]
    notify: NotifyConfig,
}

/// Only `[alerts]` of the file: the rest is [`crate::config::FileConfig`]'s.
#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    alerts: RawAlerts,
}

/// One `[[alerts.rules]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    expr: String,
    kind: Option<String>,
    op: Option<Comparison>,
    warning: Option<f64>,
    critical: Option<f64>,
    severity: Option<Severity>,
    window: Option<String>,
    #[serde(rename = "for")]
    for_: Option<String>,
    keep_firing_for: Option<String>,
    hysteresis: Option<f64>,
    no_data: Option<NoData>,
    min_count: Option<u64>,
    #[serde(default)]
    labels: Labels,
    summary: Option<String>,
    description: Option<String>,
    horizon: Option<String>,
    deviations: Option<f64>,
    half_life: Option<String>,
    min_samples: Option<u32>,
    seasonality: Option<String>,
    direction: Option<Direction>,
    min_deviation: Option<f64>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses a humantime duration (`30s`, `5m`, `1h 30m`).
fn duration(key: &str, text: Option<&str>, default: Duration) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(text) => humantime::parse_duration(text.trim()).map_err(|e| {
            format!("`{key}` = \"{text}\" is not a duration like \"30s\" or \"5m\": {e}")
        }),
    }
}

/// Parses `[alerts]` of the config file `text`; `thresholds` are the host thresholds the
/// default host rules use.
pub fn parse(text: &str, thresholds: Thresholds) -> Result<AlertsConfig, RuleError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| RuleError::Toml(e.to_string()))?;
    let raw = raw.alerts;
    let evaluation_interval = duration(
        "evaluation_interval",
        raw.evaluation_interval.as_deref(),
        DEFAULT_EVALUATION_INTERVAL,
    )
    .map_err(RuleError::Settings)?;
    if evaluation_interval < Duration::from_millis(100) {
        return Err(RuleError::Settings(
            "`evaluation_interval` must be at least 100ms".into(),
        ));
    }
    raw.notify.check().map_err(RuleError::Settings)?;
    if raw.rules.len() > MAX_RULES {
        return Err(RuleError::Settings(format!(
            "{} rules: at most {MAX_RULES} are allowed",
            raw.rules.len()
        )));
    }
    let mut rules = Vec::new();
    let mut names = BTreeSet::new();
    for spanned in raw.rules {
        let line = line_of(text, spanned.span().start);
        let raw_rule = spanned.into_inner();
        let name = raw_rule.name.clone();
        let rule = check_rule(raw_rule, line).map_err(|reason| RuleError::Rule {
            name: name.clone(),
            line,
            reason,
        })?;
        if !names.insert(rule.name.clone()) {
            return Err(RuleError::Rule {
                name,
                line,
                reason: "another rule has the same name".into(),
            });
        }
        rules.push(rule);
    }
    if raw.default_rules.unwrap_or(true) {
        let defaults = default_rules(thresholds);
        let mut all: Vec<Rule> = defaults
            .into_iter()
            .filter(|d| !names.contains(&d.name))
            .collect();
        all.extend(rules);
        rules = all;
    }
    Ok(AlertsConfig {
        evaluation_interval,
        rules,
        notify: raw.notify,
    })
}

/// The configuration without a config file: the default rules, no notifications.
pub fn defaults(thresholds: Thresholds) -> AlertsConfig {
    AlertsConfig {
        evaluation_interval: DEFAULT_EVALUATION_INTERVAL,
        rules: default_rules(thresholds),
        notify: NotifyConfig::default(),
    }
}

/// Checks one rule; the error is the reason.
fn check_rule(raw: RawRule, line: usize) -> Result<Rule, String> {
    let valid_name = !raw.name.is_empty()
        && raw.name.len() <= 128
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !valid_name {
        return Err("`name` must be 1 to 128 letters, digits, `_`, `-` or `.`".into());
    }
    let expr = Expr::parse(&raw.expr).map_err(|e| format!("`expr`: {e}"))?;
    let window = duration("window", raw.window.as_deref(), DEFAULT_WINDOW)?;
    if window.is_zero() || window > MAX_WINDOW {
        return Err("`window` must be more than 0 and at most 7 days".into());
    }
    let for_ = duration("for", raw.for_.as_deref(), Duration::ZERO)?;
    let keep_firing_for = duration(
        "keep_firing_for",
        raw.keep_firing_for.as_deref(),
        Duration::ZERO,
    )?;
    let kind = match raw.kind.as_deref().unwrap_or("threshold") {
        "threshold" => RuleKind::Threshold,
        "predict" => {
            if expr.metric.source != Source::System || expr.aggregate.is_some() {
                return Err(
                    "a predict rule follows one system metric per host (`system.disk_usage`), \
                     without sum/avg/min/max/count"
                        .into(),
                );
            }
            let horizon = duration(
                "horizon",
                raw.horizon.as_deref(),
                Duration::from_secs(24 * 3600),
            )?;
            if horizon.is_zero() {
                return Err("`horizon` must be more than 0".into());
            }
            RuleKind::Predict { horizon }
        }
        "anomaly" => {
            let deviations = raw.deviations.unwrap_or(3.0);
            if !(deviations.is_finite() && deviations > 0.0) {
                return Err("`deviations` must be a positive number".into());
            }
            let half_life = duration(
                "half_life",
                raw.half_life.as_deref(),
                Duration::from_secs(3600),
            )?;
            if half_life.is_zero() {
                return Err("`half_life` must be more than 0".into());
            }
            let daily = match raw.seasonality.as_deref() {
                None | Some("none") => false,
                Some("daily") => true,
                Some(other) => {
                    return Err(format!(
                        "`seasonality` = \"{other}\": use \"none\" or \"daily\""
                    ))
                }
            };
            let min_deviation = raw.min_deviation.unwrap_or(0.0);
            if !(min_deviation.is_finite() && min_deviation >= 0.0) {
                return Err("`min_deviation` must be 0 or more".into());
            }
            RuleKind::Anomaly(AnomalyParams {
                deviations,
                half_life,
                min_samples: raw.min_samples.unwrap_or(30).max(2),
                daily,
                direction: raw.direction.unwrap_or(Direction::Above),
                min_deviation,
            })
        }
        other => {
            return Err(format!(
                "`kind` = \"{other}\": use \"threshold\", \"predict\" or \"anomaly\""
            ))
        }
    };
    let is_anomaly = matches!(kind, RuleKind::Anomaly(_));
    let anomaly_only = [
        ("deviations", raw.deviations.is_some()),
        ("half_life", raw.half_life.is_some()),
        ("min_samples", raw.min_samples.is_some()),
        ("seasonality", raw.seasonality.is_some()),
        ("direction", raw.direction.is_some()),
        ("min_deviation", raw.min_deviation.is_some()),
    ];
    if let Some((key, _)) = anomaly_only.iter().find(|(_, set)| *set && !is_anomaly) {
        return Err(format!("`{key}` is for `kind = \"anomaly\"` rules only"));
    }
    if raw.horizon.is_some() && !matches!(kind, RuleKind::Predict { .. }) {
        return Err("`horizon` is for `kind = \"predict\"` rules only".into());
    }
    let op = raw.op.unwrap_or(Comparison::Above);
    let thresholds = if is_anomaly {
        if raw.warning.is_some() || raw.critical.is_some() || raw.op.is_some() {
            return Err(
                "an anomaly rule has no thresholds or `op`: it compares with the series' own \
                 baseline (set `deviations`, and `severity`)"
                    .into(),
            );
        }
        vec![(raw.severity.unwrap_or(Severity::Warning), 0.0)]
    } else {
        if raw.severity.is_some() {
            return Err(
                "`severity` is for anomaly rules; give `warning` and/or `critical` thresholds"
                    .into(),
            );
        }
        let mut thresholds = Vec::new();
        for (severity, value) in [
            (Severity::Warning, raw.warning),
            (Severity::Critical, raw.critical),
        ] {
            if let Some(value) = value {
                if !value.is_finite() {
                    return Err(format!("`{}` must be a finite number", severity.as_str()));
                }
                thresholds.push((severity, value));
            }
        }
        match thresholds.as_slice() {
            [] => return Err("give a `warning` or a `critical` threshold (or both)".into()),
            [(_, warning), (_, critical)] => {
                let ordered = if op.upward() {
                    warning <= critical
                } else {
                    warning >= critical
                };
                if !ordered {
                    return Err(format!(
                        "with `op = \"{}\"` the warning threshold must come before the critical one",
                        op.as_str()
                    ));
                }
            }
            _ => {}
        }
        thresholds
    };
    let hysteresis = raw.hysteresis.unwrap_or(0.0);
    if !(hysteresis.is_finite() && hysteresis >= 0.0) {
        return Err("`hysteresis` must be 0 or more".into());
    }
    let label_ok = |name: &str| {
        !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    };
    if let Some(bad) = raw.labels.keys().find(|n| !label_ok(n)) {
        return Err(format!("label `{bad}`: names are letters, digits and `_`"));
    }
    if let Some(reserved) = [ALERTNAME, SEVERITY, expr.metric.source.label()]
        .into_iter()
        .find(|r| raw.labels.contains_key(*r))
    {
        return Err(format!("label `{reserved}` is set by the collector"));
    }
    let summary = raw
        .summary
        .unwrap_or_else(|| default_summary(&kind, &expr, op));
    let description = raw.description.unwrap_or_default();
    let mut known: BTreeSet<&str> = ["value", "threshold", "severity", "alertname", "expr"].into();
    if expr.aggregate.is_none() {
        known.insert(expr.metric.source.label());
    }
    known.extend(raw.labels.keys().map(String::as_str));
    for (key, template) in [("summary", &summary), ("description", &description)] {
        check_template(template, &known).map_err(|e| format!("`{key}`: {e}"))?;
    }
    Ok(Rule {
        name: raw.name,
        kind,
        expr,
        op,
        thresholds,
        window,
        for_,
        keep_firing_for,
        hysteresis,
        no_data: raw.no_data.unwrap_or_default(),
        min_count: raw.min_count.unwrap_or(1),
        labels: raw.labels,
        summary,
        description,
        line,
    })
}

/// Checks that every `{{ placeholder }}` of `template` is one of `known`.
fn check_template(template: &str, known: &BTreeSet<&str>) -> Result<(), String> {
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a `{{` without its `}}`")?;
        let key = after[..end].trim();
        if !known.contains(key) {
            let list: Vec<&str> = known.iter().copied().collect();
            return Err(format!(
                "unknown placeholder `{{{{ {key} }}}}`; known here: {}",
                list.join(", ")
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// The summary a rule without one gets.
fn default_summary(kind: &RuleKind, expr: &Expr, op: Comparison) -> String {
    let subject = if expr.aggregate.is_none() {
        format!("{} on {{{{ {} }}}}", expr.text, expr.metric.source.label())
    } else {
        expr.text.clone()
    };
    match kind {
        RuleKind::Threshold => format!(
            "{subject} is {{{{ value }}}} ({} {{{{ threshold }}}})",
            op.as_str()
        ),
        RuleKind::Predict { horizon } => format!(
            "{subject} is heading for {{{{ value }}}} within {} ({} {{{{ threshold }}}})",
            humantime::format_duration(*horizon),
            op.as_str()
        ),
        RuleKind::Anomaly(_) => format!("{subject} is {{{{ value }}}}, far from its usual level"),
    }
}

/// The default rules: the seed design's thresholds (CPU > 90 %, memory > 90 %, disk > 95 %,
/// API response time > 5 s, error rate > 10 % critical), a warning level below each, disk
/// full within 24 h, and web-vitals' own thresholds for the p75 of LCP, INP and CLS.
pub fn default_rules(thresholds: Thresholds) -> Vec<Rule> {
    let rule = |name: &str, expr: &str, window: u64, levels: (f64, f64), min_count: u64| Rule {
        name: name.into(),
        kind: RuleKind::Threshold,
        expr: Expr::parse(expr).unwrap_or_else(|e| panic!("built-in rule {name}: {e}")),
        op: Comparison::Above,
        thresholds: vec![
            (Severity::Warning, levels.0),
            (Severity::Critical, levels.1),
        ],
        window: Duration::from_secs(window),
        for_: Duration::from_secs(60),
        keep_firing_for: Duration::ZERO,
        hysteresis: 0.0,
        no_data: NoData::Resolve,
        min_count,
        labels: Labels::new(),
        summary: String::new(),
        description: String::new(),
        line: 0,
    };
    let mut rules = vec![
        rule("HostCpuHigh", "system.cpu_usage", 60, thresholds.cpu, 1),
        rule(
            "HostMemoryHigh",
            "system.memory_usage",
            60,
            thresholds.memory,
            1,
        ),
        rule("HostDiskFull", "system.disk_usage", 60, thresholds.disk, 1),
        rule(
            "ApiLatencyHigh",
            "api.latency_p95_ms",
            300,
            (2000.0, 5000.0),
            5,
        ),
        rule(
            "ApiErrorRateHigh",
            "api.error_rate_percent",
            300,
            (5.0, 10.0),
            10,
        ),
        rule(
            "AiErrorRateHigh",
            "ai.error_rate_percent",
            300,
            (5.0, 10.0),
            10,
        ),
    ];
    for vital in [VitalName::LCP, VitalName::INP, VitalName::CLS] {
        let measure = match vital {
            VitalName::CLS => "cls_p75".to_owned(),
            other => format!("{}_p75_ms", other.as_str().to_ascii_lowercase()),
        };
        let name = format!("WebVital{}Poor", vital.as_str());
        let mut r = rule(
            &name,
            &format!("frontend.{measure}"),
            1800,
            vital.thresholds(),
            10,
        );
        r.for_ = Duration::from_secs(300);
        rules.push(r);
    }
    let mut disk_soon = rule(
        "HostDiskFullSoon",
        "system.disk_usage",
        6 * 3600,
        (100.0, 100.0),
        1,
    );
    disk_soon.kind = RuleKind::Predict {
        horizon: Duration::from_secs(24 * 3600),
    };
    disk_soon.op = Comparison::AtLeast;
    disk_soon.thresholds = vec![(Severity::Warning, 100.0)];
    disk_soon.for_ = Duration::from_secs(600);
    rules.push(disk_soon);
    for r in &mut rules {
        r.summary = default_summary(&r.kind, &r.expr, r.op);
    }
    rules
}
