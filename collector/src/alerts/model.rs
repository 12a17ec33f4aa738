//! What the rule engine, the notifier, the store and the API say about alerts: an [`Alert`]
//! (labels, annotations, state and times, as Prometheus hands alerts to Alertmanager), a
//! [`Silence`] with its [`Matcher`]s, and inhibition (a firing critical alert mutes the warning
//! of the same labels).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Label names to values, sorted by name (so fingerprints and groups are stable).
pub type Labels = BTreeMap<String, String>;

/// The label every alert carries with its rule's name (Prometheus' `alertname`).
pub const ALERTNAME: &str = "alertname";
/// The label with the alert's [`Severity`].
pub const SEVERITY: &str = "severity";

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, but not yet for the rule's `for`.
    Pending,
    /// The condition has held for `for` (or is kept firing by `keep_firing_for`).
    Firing,
    /// Was firing, no longer is: `ends_at_ms` says since when.
    Resolved,
}

impl AlertState {
    /// The name in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    /// The state named `name` ([`AlertState::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(AlertState::Pending),
            "firing" => Some(AlertState::Firing),
            "resolved" => Some(AlertState::Resolved),
            _ => None,
        }
    }
}

/// How bad: the seed design's two levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    /// The value of the [`SEVERITY`] label.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alert: a rule's condition on one series at one severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identify the alert: [`ALERTNAME`], [`SEVERITY`], the series' labels and the rule's.
    pub labels: Labels,
    /// Describe it: `summary` (with the value in it), `description`, and what the rule adds.
    pub annotations: Labels,
    pub state: AlertState,
    /// The value that last decided the state (`None` when the series had no data).
    pub value: Option<f64>,
    /// When the condition first held (the start of `pending`), epoch ms.
    pub active_at_ms: i64,
    /// When it started firing, epoch ms.
    pub starts_at_ms: Option<i64>,
    /// When it resolved, epoch ms.
    pub ends_at_ms: Option<i64>,
    /// [`fingerprint`] of `labels`.
    pub fingerprint: String,
}

impl Alert {
    /// The alert's rule name ([`ALERTNAME`]).
    pub fn name(&self) -> &str {
        self.labels.get(ALERTNAME).map_or("", String::as_str)
    }
}

/// Alertmanager's fingerprint of a label set: 64-bit FNV-1a over each name and value, each
/// followed by the byte 0xff, in name order; 16 lowercase hex digits.
pub fn fingerprint(labels: &Labels) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        eat(name.as_bytes());
        eat(&[0xff]);
        eat(value.as_bytes());
        eat(&[0xff]);
    }
    format!("{hash:016x}")
}

/// One condition of a silence on one label, as Alertmanager's API states it. A label the alert
/// lacks has the value "".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    /// `value` is a regular expression, matched against the whole label value.
    #[serde(default)]
    pub is_regex: bool,
    /// `true`: the label must match; `false`: it must not.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// Whether `labels` satisfy this matcher. A regular expression that does not compile
    /// matches nothing (silences are checked when they are created, see [`Matcher::check`]).
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            anchored(&self.value).is_ok_and(|re| re.is_match(value))
        } else {
            value == self.value
        };
        hit == self.is_equal
    }

    /// Why this matcher cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("a matcher needs a label name".into());
        }
        if self.is_regex {
            anchored(&self.value)
                .map_err(|e| format!("matcher {}: not a regular expression: {e}", self.name))?;
        }
        Ok(())
    }
}

/// `pattern` anchored at both ends, as Alertmanager and Prometheus match label values.
fn anchored(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

/// A silence: alerts whose labels satisfy every matcher are not notified between `starts_at_ms`
/// and `ends_at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub created_by: String,
    pub comment: String,
    pub created_at_ms: i64,
}

impl Silence {
    /// Whether this silence is in force at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.starts_at_ms <= now_ms && now_ms < self.ends_at_ms
    }

    /// Whether this silence mutes an alert labelled `labels` at `now_ms`.
    pub fn mutes(&self, labels: &Labels, now_ms: i64) -> bool {
        self.active_at(now_ms) && self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// The ids of the silences in `silences` that mute `labels` at `now_ms`.
pub fn silenced_by(silences: &[Silence], labels: &Labels, now_ms: i64) -> Vec<String> {
    silences
        .iter()
        .filter(|s| s.mutes(labels, now_ms))
        .map(|s| s.id.clone())
        .collect()
}

/// Whether `alert` is inhibited by one of `alerts`: a firing critical alert whose labels, apart
/// from the severity, equal the warning's (Alertmanager's usual rule: source `severity=critical`,
/// target `severity=warning`, `equal` every other label).
pub fn inhibited(alert: &Alert, alerts: &[Alert]) -> bool {
    if alert.labels.get(SEVERITY).map(String::as_str) != Some(Severity::Warning.as_str()) {
        return false;
    }
    let without_severity = |labels: &Labels| {
        labels
            .iter()
            .filter(|(name, _)| name.as_str() != SEVERITY)
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect::<Labels>()
    };
    let target = without_severity(&alert.labels);
    alerts.iter().any(|source| {
        source.state == AlertState::Firing
            && source.labels.get(SEVERITY).map(String::as_str) == Some(Severity::Critical.as_str())
            && without_severity(&source.labels) == target
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fingerprints_are_alertmanagers() {
        // Alertmanager: model.LabelSet{}.Fingerprint() is the FNV-1a offset basis.
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
        let a = labels(&[("alertname", "HighCpu"), ("severity", "warning")]);
        let b = labels(&[("severity", "warning"), ("alertname", "HighCpu")]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&labels(&[("alertname", "HighCpu")]))
        );
    }

    #[test]
    fn matchers_equal_not_equal_and_anchored_regex() {
        let alert = labels(&[("alertname", "HighCpu"), ("host", "web-1")]);
        let m = |name: &str, value: &str, is_regex, is_equal| Matcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        };
        assert!(m("host", "web-1", false, true).matches(&alert));
        assert!(!m("host", "web-2", false, true).matches(&alert));
        assert!(m("host", "web-2", false, false).matches(&alert));
        assert!(m("host", "web-.*", true, true).matches(&alert));
        assert!(!m("host", "web", true, true).matches(&alert), "anchored");
        assert!(
            m("team", "", false, true).matches(&alert),
            "missing is empty"
        );
        assert!(m("host", "(", true, true).check().is_err());
    }

    #[test]
    fn critical_inhibits_the_warning_of_the_same_labels_only() {
        let alert = |severity: &str, host: &str, state| Alert {
            labels: labels(&[
                ("alertname", "HighCpu"),
                ("severity", severity),
                ("host", host),
            ]),
            annotations: Labels::new(),
            state,
            value: Some(95.0),
            active_at_ms: 0,
            starts_at_ms: Some(0),
            ends_at_ms: None,
            fingerprint: String::new(),
        };
        let warning = alert("warning", "a", AlertState::Firing);
        let all = [
            warning.clone(),
            alert("critical", "a", AlertState::Firing),
            alert("critical", "b", AlertState::Firing),
        ];
        assert!(inhibited(&warning, &all));
        assert!(!inhibited(&all[1], &all), "critical is never inhibited");
        let other_host = alert("warning", "c", AlertState::Firing);
        assert!(!inhibited(&other_host, &all));
        let pending_critical = [alert("critical", "a", AlertState::Pending)];
        assert!(!inhibited(&warning, &pending_critical));
    }
}
