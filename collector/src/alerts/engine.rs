//! The rule engine: each evaluation turns every rule's observations into alert states, the way
//! Prometheus' rule manager does.
//!
//! ```text
//!              condition holds               held for `for`
//!  inactive ───────────────────▶ pending ─────────────────▶ firing
//!      ▲                            │                         │ condition stops holding for
//!      └──── condition stops ◀──────┘                         │ `keep_firing_for` (and the
//!                                                             ▼ value is `hysteresis` past)
//!                                                          resolved
//! ```
//!
//! One alert per rule, series and severity (a value past the critical threshold is past the
//! warning one too: both fire, and notifications inhibit the warning). A series without data
//! follows the rule's `no_data`; an evaluation whose reading failed changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::anomaly::Detector;
use super::model::{fingerprint, Alert, AlertState, Labels, Severity, ALERTNAME, SEVERITY};
use super::predict::predict_linear;
use super::rules::{NoData, Rule, RuleKind, MAX_SERIES_PER_RULE};

/// The label a no-data alert carries.
pub const NODATA_LABEL: &str = "nodata";

/// One series of a rule's expression as read at one evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// The series' label (`host`, `endpoint`, `model` or `page`); empty for an aggregate.
    pub series: Labels,
    /// The value over the rule's window (`None`: no value in the window).
    pub value: Option<f64>,
    /// Calls or measurements behind the value (for `min_count`).
    pub count: u64,
    /// The window's points, oldest first (predict rules).
    pub points: Vec<(i64, f64)>,
}

/// What one evaluation changed, for the store and the notifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Every pending and firing alert after the evaluation.
    pub active: Vec<Alert>,
    /// The alerts that resolved in this evaluation.
    pub resolved: Vec<Alert>,
    /// Pending alerts that ended without firing: `(fingerprint, active_at_ms)`.
    pub abandoned: Vec<(String, i64)>,
    /// Rules whose reading failed (their alerts were left as they were), with the reason.
    pub failed: Vec<(String, String)>,
    /// Series ignored beyond [`MAX_SERIES_PER_RULE`].
    pub series_dropped: usize,
}

/// One alert the engine follows.
#[derive(Debug, Clone)]
struct Tracked {
    alert: Alert,
    /// When the condition last held.
    last_true_ms: i64,
}

/// The engine: the rules, and the state of every alert they raised.
#[derive(Debug, Default)]
pub struct Engine {
    rules: Vec<Rule>,
    /// By fingerprint.
    alerts: BTreeMap<String, Tracked>,
    /// Anomaly baselines by rule name and series.
    detectors: HashMap<(String, Labels), Detector>,
}

impl Engine {
    /// An engine over `rules`, with no alert yet.
    pub fn new(rules: Vec<Rule>) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Replaces the rules, keeping the state of the alerts whose rule keeps its name (and the
    /// anomaly baselines whose rule keeps its parameters). Alerts of rules that are gone
    /// resolve at the next evaluation.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.detectors.retain(|(name, _), detector| {
            rules.iter().any(|r| {
                &r.name == name
                    && matches!(&r.kind, RuleKind::Anomaly(p) if *p == detector.params())
            })
        });
        self.rules = rules;
    }

    /// Takes up `alerts` read back from the store (pending and firing), after a restart or when
    /// this collector starts evaluating for others.
    pub fn restore(&mut self, alerts: Vec<Alert>) {
        for alert in alerts {
            if matches!(alert.state, AlertState::Pending | AlertState::Firing) {
                let last_true_ms = alert.active_at_ms;
                self.alerts.insert(
                    alert.fingerprint.clone(),
                    Tracked {
                        alert,
                        last_true_ms,
                    },
                );
            }
        }
    }

    /// The pending and firing alerts.
    pub fn active(&self) -> Vec<Alert> {
        self.alerts.values().map(|t| t.alert.clone()).collect()
    }

    /// Evaluates every rule at `now_ms`, reading each rule's observations with `read` (an `Err`
    /// leaves the rule's alerts as they are).
    pub fn evaluate(
        &mut self,
        now_ms: i64,
        read: &mut dyn FnMut(&Rule) -> Result<Vec<Observation>, String>,
    ) -> Evaluation {
        let mut out = Evaluation::default();
        let rules = self.rules.clone();
        for rule in &rules {
            match read(rule) {
                Ok(mut observations) => {
                    if observations.len() > MAX_SERIES_PER_RULE {
                        out.series_dropped += observations.len() - MAX_SERIES_PER_RULE;
                        observations.truncate(MAX_SERIES_PER_RULE);
                    }
                    self.apply(rule, observations, now_ms, &mut out);
                }
                Err(reason) => out.failed.push((rule.name.clone(), reason)),
            }
        }
        // Alerts whose rule is gone resolve.
        let orphans: Vec<String> = self
            .alerts
            .iter()
            .filter(|(_, t)| !rules.iter().any(|r| r.name == t.alert.name()))
            .map(|(f, _)| f.clone())
            .collect();
        for fp in orphans {
            self.end(&fp, now_ms, &mut out);
        }
        out.active = self.active();
        out
    }

    /// Applies one rule's observations.
    fn apply(
        &mut self,
        rule: &Rule,
        observations: Vec<Observation>,
        now_ms: i64,
        out: &mut Evaluation,
    ) {
        let mut seen: HashSet<String> = HashSet::new();
        let mut any_data = false;
        for obs in observations {
            let Some(value) = self.judged_value(rule, &obs, now_ms) else {
                continue;
            };
            any_data = true;
            for &(severity, threshold) in &rule.thresholds {
                let labels = rule.alert_labels(&obs.series, severity);
                let fp = fingerprint(&labels);
                let firing = self
                    .alerts
                    .get(&fp)
                    .is_some_and(|t| t.alert.state == AlertState::Firing);
                let holds = match value {
                    Judged::Value(v) => {
                        let margin = if firing { rule.hysteresis } else { 0.0 };
                        rule.op.holds(v, threshold, margin)
                    }
                    Judged::Anomalous(a, _) => a,
                };
                let shown = match value {
                    Judged::Value(v) | Judged::Anomalous(_, v) => v,
                };
                self.step(
                    rule,
                    labels,
                    fp.clone(),
                    holds,
                    Some(shown),
                    threshold,
                    now_ms,
                    out,
                );
                seen.insert(fp);
            }
        }
        // Series of this rule without data now.
        let nodata_fp = rule.thresholds.last().map(|(severity, _)| {
            let labels = nodata_labels(rule, *severity);
            (fingerprint(&labels), labels)
        });
        let unseen: Vec<String> = self
            .alerts
            .iter()
            .filter(|(fp, t)| {
                t.alert.name() == rule.name
                    && !seen.contains(*fp)
                    && nodata_fp.as_ref().is_none_or(|(nfp, _)| nfp != *fp)
            })
            .map(|(fp, _)| fp.clone())
            .collect();
        if rule.no_data != NoData::Keep {
            for fp in unseen {
                let threshold = self.threshold_of(rule, &fp);
                let labels = self
                    .alerts
                    .get(&fp)
                    .map(|t| t.alert.labels.clone())
                    .unwrap_or_default();
                self.step(rule, labels, fp, false, None, threshold, now_ms, out);
            }
        }
        if let Some((nfp, labels)) = nodata_fp {
            if rule.no_data == NoData::Alert {
                self.step(rule, labels, nfp, !any_data, None, 0.0, now_ms, out);
            } else if self.alerts.contains_key(&nfp) {
                self.end(&nfp, now_ms, out);
            }
        }
    }

    /// The threshold of the severity of the alert `fp` of `rule`.
    fn threshold_of(&self, rule: &Rule, fp: &str) -> f64 {
        let severity = self
            .alerts
            .get(fp)
            .and_then(|t| t.alert.labels.get(SEVERITY).cloned());
        rule.thresholds
            .iter()
            .find(|(s, _)| Some(s.as_str()) == severity.as_deref())
            .map_or(0.0, |(_, t)| *t)
    }

    /// What the rule compares for `obs`, or `None` when the series has no data.
    fn judged_value(&mut self, rule: &Rule, obs: &Observation, now_ms: i64) -> Option<Judged> {
        if obs.count < rule.min_count {
            return None;
        }
        match &rule.kind {
            RuleKind::Threshold => obs.value.map(Judged::Value),
            RuleKind::Predict { horizon } => {
                let ahead = now_ms + i64::try_from(horizon.as_millis()).unwrap_or(i64::MAX / 2);
                predict_linear(&obs.points, ahead).map(Judged::Value)
            }
            RuleKind::Anomaly(params) => {
                let value = obs.value?;
                let detector = self
                    .detectors
                    .entry((rule.name.clone(), obs.series.clone()))
                    .or_insert_with(|| Detector::new(*params));
                let verdict = detector.observe(now_ms, value);
                Some(Judged::Anomalous(verdict.anomalous == Some(true), value))
            }
        }
    }

    /// Moves the alert `fp` one evaluation on.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        rule: &Rule,
        labels: Labels,
        fp: String,
        holds: bool,
        value: Option<f64>,
        threshold: f64,
        now_ms: i64,
        out: &mut Evaluation,
    ) {
        let for_ms = millis(rule.for_);
        match self.alerts.get_mut(&fp) {
            None if holds => {
                let state = if for_ms == 0 {
                    AlertState::Firing
                } else {
                    AlertState::Pending
                };
                let mut alert = Alert {
                    labels,
                    annotations: Labels::new(),
                    state,
                    value,
                    active_at_ms: now_ms,
                    starts_at_ms: (state == AlertState::Firing).then_some(now_ms),
                    ends_at_ms: None,
                    fingerprint: fp.clone(),
                };
                annotate(rule, &mut alert, threshold);
                self.alerts.insert(
                    fp,
                    Tracked {
                        alert,
                        last_true_ms: now_ms,
                    },
                );
            }
            None => {}
            Some(tracked) if holds => {
                tracked.last_true_ms = now_ms;
                tracked.alert.value = value;
                if tracked.alert.state == AlertState::Pending
                    && now_ms - tracked.alert.active_at_ms >= for_ms
                {
                    tracked.alert.state = AlertState::Firing;
                    tracked.alert.starts_at_ms = Some(now_ms);
                }
                annotate(rule, &mut tracked.alert, threshold);
            }
            Some(tracked) => {
                if value.is_some() {
                    tracked.alert.value = value;
                    annotate(rule, &mut tracked.alert, threshold);
                }
                let kept = tracked.alert.state == AlertState::Firing
                    && now_ms - tracked.last_true_ms < millis(rule.keep_firing_for);
                if !kept {
                    self.end(&fp, now_ms, out);
                }
            }
        }
    }

    /// Ends the alert `fp`: a firing one resolves, a pending one is abandoned.
    fn end(&mut self, fp: &str, now_ms: i64, out: &mut Evaluation) {
        let Some(tracked) = self.alerts.remove(fp) else {
            return;
        };
        let mut alert = tracked.alert;
        if alert.state == AlertState::Firing {
            alert.state = AlertState::Resolved;
            alert.ends_at_ms = Some(now_ms);
            out.resolved.push(alert);
        } else {
            out.abandoned.push((alert.fingerprint, alert.active_at_ms));
        }
    }
}

/// What a rule compares.
#[derive(Debug, Clone, Copy)]
enum Judged {
    /// A value against the thresholds (threshold and predict rules).
    Value(f64),
    /// An anomaly verdict and the value judged.
    Anomalous(bool, f64),
}

/// The labels of `rule`'s no-data alert.
fn nodata_labels(rule: &Rule, severity: Severity) -> Labels {
    let mut labels = rule.labels.clone();
    labels.insert(ALERTNAME.into(), rule.name.clone());
    labels.insert(SEVERITY.into(), severity.as_str().into());
    labels.insert(NODATA_LABEL.into(), "true".into());
    labels
}

/// Sets `alert`'s annotations from `rule`'s templates.
fn annotate(rule: &Rule, alert: &mut Alert, threshold: f64) {
    let mut annotations = Labels::new();
    let summary = if alert.labels.contains_key(NODATA_LABEL) {
        format!("{}: no data for {}", rule.name, rule.expr.text)
    } else {
        rule.render(&rule.summary, &alert.labels, alert.value, threshold)
    };
    annotations.insert("summary".into(), summary);
    if !rule.description.is_empty() {
        annotations.insert(
            "description".into(),
            rule.render(&rule.description, &alert.labels, alert.value, threshold),
        );
    }
    annotations.insert("expr".into(), rule.expr.text.clone());
    annotations.insert("kind".into(), rule.kind.as_str().into());
    if let Some(value) = alert.value {
        annotations.insert("value".into(), value.to_string());
    }
    if !matches!(rule.kind, RuleKind::Anomaly(_)) {
        annotations.insert("threshold".into(), threshold.to_string());
    }
    alert.annotations = annotations;
}

/// A duration in ms, saturating.
fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
