//! What one notification says, and how each kind of receiver is told: Alertmanager's webhook
//! payload (version 4, `notify/webhook/webhook.go`'s `Message` around `template.Data`), a Slack
//! incoming-webhook message, an e-mail's subject and body, and the values of SMS templates.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::alerts::model::{Alert, AlertState, Labels, ALERTNAME, SEVERITY};

/// What Alertmanager's webhook sends as `endsAt` for an alert that has not resolved (Go's zero
/// `time.Time`).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Slack shows at most this many alerts, one attachment each; the rest are counted in the text.
const SLACK_MAX_ATTACHMENTS: usize = 20;
/// An SMS's `{{summary}}` is cut at this many characters.
const SMS_SUMMARY_CHARS: usize = 300;

/// One notification of one group to one receiver (Alertmanager's `template.Data` plus the
/// group key and truncation): the group's alerts that are neither silenced nor inhibited.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The receiver's name.
    pub receiver: String,
    /// Identifies the group (`{}:{alertname="HighCpu"}`), stable across notifications.
    pub group_key: String,
    /// The labels the group is formed by.
    pub group_labels: Labels,
    /// Firing and resolved alerts, firing first.
    pub alerts: Vec<Alert>,
    /// Alerts of the group left out of `alerts` (bounds).
    pub truncated: usize,
    /// `[alerts.notify] external_url`.
    pub external_url: String,
}

impl Notification {
    /// Whether any alert fires.
    pub fn is_firing(&self) -> bool {
        self.alerts.iter().any(|a| a.state != AlertState::Resolved)
    }

    /// `firing` when any alert fires, else `resolved`.
    pub fn status(&self) -> &'static str {
        if self.is_firing() {
            AlertState::Firing.as_str()
        } else {
            AlertState::Resolved.as_str()
        }
    }

    /// How many alerts fire.
    pub fn firing_count(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.state != AlertState::Resolved)
            .count()
    }

    /// The labels all alerts share.
    pub fn common_labels(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.labels))
    }

    /// The annotations all alerts share.
    pub fn common_annotations(&self) -> Labels {
        common(self.alerts.iter().map(|a| &a.annotations))
    }

    /// Alertmanager's default title: `[FIRING:2] HighCpu (critical web-1)`: the status (with
    /// the number firing), the group's label values, then the other common label values.
    pub fn title(&self) -> String {
        let mut title = if self.is_firing() {
            format!("[FIRING:{}]", self.firing_count())
        } else {
            "[RESOLVED]".to_owned()
        };
        for value in self.group_labels.values() {
            title.push(' ');
            title.push_str(value);
        }
        let common = self.common_labels();
        let rest: Vec<&str> = common
            .iter()
            .filter(|(name, _)| !self.group_labels.contains_key(*name))
            .map(|(_, value)| value.as_str())
            .collect();
        if !rest.is_empty() {
            title.push_str(&format!(" ({})", rest.join(" ")));
        }
        title
    }

    fn generator_url(&self) -> String {
        if self.external_url.is_empty() {
            String::new()
        } else {
            format!(
                "{}/api/v1/monitoring/alerts",
                self.external_url.trim_end_matches('/')
            )
        }
    }
}

/// The entries every one of `sets` has with the same value.
fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
    let Some(first) = sets.next() else {
        return Labels::new();
    };
    let mut shared = first.clone();
    for set in sets {
        shared.retain(|name, value| set.get(name) == Some(value));
    }
    shared
}

/// A label set as Alertmanager prints it in group keys: `{alertname="HighCpu", host="a"}`.
pub fn label_set_string(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| {
            let quoted = serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""));
            format!("{name}={quoted}")
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// Epoch milliseconds as RFC 3339 with milliseconds (`2026-11-26T07:00:00.123Z`); Go's zero
/// time for none.
pub fn rfc3339(ms: Option<i64>) -> String {
    match ms.and_then(|ms| u64::try_from(ms).ok()) {
        Some(ms) => {
            humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
        }
        None => ZERO_TIME.to_owned(),
    }
}

/// Alertmanager's webhook message, version 4.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage<'a> {
    pub version: &'static str,
    pub group_key: &'a str,
    pub truncated_alerts: usize,
    pub status: &'static str,
    pub receiver: &'a str,
    pub group_labels: &'a Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    pub alerts: Vec<WebhookAlert<'a>>,
}

/// One alert of [`WebhookMessage`] (Alertmanager's `template.Alert`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert<'a> {
    pub status: &'static str,
    pub labels: &'a Labels,
    pub annotations: &'a Labels,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// The webhook body of `n`, at most `max_alerts` alerts (0: all).
pub fn webhook(n: &Notification, max_alerts: usize) -> serde_json::Value {
    let keep = if max_alerts == 0 {
        n.alerts.len()
    } else {
        max_alerts.min(n.alerts.len())
    };
    let generator_url = n.generator_url();
    let message = WebhookMessage {
        version: "4",
        group_key: &n.group_key,
        truncated_alerts: n.truncated + (n.alerts.len() - keep),
        status: n.status(),
        receiver: &n.receiver,
        group_labels: &n.group_labels,
        common_labels: n.common_labels(),
        common_annotations: n.common_annotations(),
        external_url: &n.external_url,
        alerts: n.alerts[..keep]
            .iter()
            .map(|a| WebhookAlert {
                status: if a.state == AlertState::Resolved {
                    AlertState::Resolved.as_str()
                } else {
                    AlertState::Firing.as_str()
                },
                labels: &a.labels,
                annotations: &a.annotations,
                starts_at: rfc3339(Some(a.starts_at_ms.unwrap_or(a.active_at_ms))),
                ends_at: if a.state == AlertState::Resolved {
                    rfc3339(a.ends_at_ms)
                } else {
                    ZERO_TIME.to_owned()
                },
                generator_url: generator_url.clone(),
                fingerprint: a.fingerprint.clone(),
            })
            .collect(),
    };
    serde_json::to_value(message).unwrap_or(serde_json::Value::Null)
}

/// What an alert says in one line: its `summary`, else its `description`, else its labels.
fn one_line(alert: &Alert) -> String {
    alert
        .annotations
        .get("summary")
        .or_else(|| alert.annotations.get("description"))
        .cloned()
        .unwrap_or_else(|| label_set_string(&alert.labels))
}

/// A Slack incoming-webhook message: the title as `text`, one coloured attachment per alert
/// (red critical, orange warning, green resolved).
pub fn slack(n: &Notification, channel: Option<&str>, username: Option<&str>) -> serde_json::Value {
    let attachments: Vec<serde_json::Value> = n
        .alerts
        .iter()
        .take(SLACK_MAX_ATTACHMENTS)
        .map(|a| {
            let resolved = a.state == AlertState::Resolved;
            let color = match (resolved, a.labels.get(SEVERITY).map(String::as_str)) {
                (true, _) => "good",
                (false, Some("critical")) => "danger",
                (false, _) => "warning",
            };
            let status = if resolved { "RESOLVED" } else { "FIRING" };
            let text = one_line(a);
            serde_json::json!({
                "color": color,
                "title": format!("[{status}] {}", a.name()),
                "text": text,
                "fallback": format!("[{status}] {}: {text}", a.name()),
                "footer": label_set_string(&a.labels),
            })
        })
        .collect();
    let mut text = n.title();
    let hidden = n.alerts.len().saturating_sub(SLACK_MAX_ATTACHMENTS) + n.truncated;
    if hidden > 0 {
        text.push_str(&format!(" (and {hidden} more alerts not shown)"));
    }
    let mut message = serde_json::json!({ "text": text, "attachments": attachments });
    if let Some(channel) = channel {
        message["channel"] = channel.into();
    }
    if let Some(username) = username {
        message["username"] = username.into();
    }
    message
}

/// An e-mail's subject and plain-text body.
pub fn email(n: &Notification) -> (String, String) {
    let mut body = String::new();
    for (heading, resolved) in [("Firing", false), ("Resolved", true)] {
        let alerts: Vec<&Alert> = n
            .alerts
            .iter()
            .filter(|a| (a.state == AlertState::Resolved) == resolved)
            .collect();
        if alerts.is_empty() {
            continue;
        }
        body.push_str(&format!("{heading} ({}):\n\n", alerts.len()));
        for a in alerts {
            body.push_str(&format!("* {}\n", one_line(a)));
            if let Some(d) = a.annotations.get("description") {
                body.push_str(&format!("  {d}\n"));
            }
            body.push_str(&format!("  labels: {}\n", label_set_string(&a.labels)));
            body.push_str(&format!(
                "  since: {}\n",
                rfc3339(Some(a.starts_at_ms.unwrap_or(a.active_at_ms)))
            ));
            if resolved {
                body.push_str(&format!("  resolved: {}\n", rfc3339(a.ends_at_ms)));
            }
            body.push('\n');
        }
    }
    if n.truncated > 0 {
        body.push_str(&format!("({} more alerts not shown)\n", n.truncated));
    }
    let url = n.generator_url();
    if !url.is_empty() {
        body.push_str(&format!("Alerts: {url}\n"));
    }
    (n.title(), body)
}

/// The value of SMS placeholder `name` (see [`super::template::PLACEHOLDERS`]) for `n` sent
/// to `to`.
pub fn sms_value(n: &Notification, to: &str, name: &str) -> String {
    let common = n.common_labels();
    let label = |label: &str| {
        n.group_labels
            .get(label)
            .or_else(|| common.get(label))
            .or_else(|| n.alerts.first().and_then(|a| a.labels.get(label)))
            .cloned()
            .unwrap_or_default()
    };
    match name {
        "to" => to.to_owned(),
        "status" => n.status().to_owned(),
        "alertname" => label(ALERTNAME),
        "severity" => label(SEVERITY),
        "summary" => {
            let mut seen = BTreeSet::new();
            let lines: Vec<String> = n
                .alerts
                .iter()
                .map(one_line)
                .filter(|l| seen.insert(l.clone()))
                .collect();
            let joined = lines.join("; ");
            if joined.chars().count() > SMS_SUMMARY_CHARS {
                let mut cut: String = joined.chars().take(SMS_SUMMARY_CHARS - 1).collect();
                cut.push('…');
                cut
            } else {
                joined
            }
        }
        "description" => n
            .common_annotations()
            .get("description")
            .or_else(|| {
                n.alerts
                    .first()
                    .and_then(|a| a.annotations.get("description"))
            })
            .cloned()
            .unwrap_or_default(),
        "count" => n.alerts.len().to_string(),
        "group" => label_set_string(&n.group_labels),
        "receiver" => n.receiver.clone(),
        "external_url" => n.external_url.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::model::fingerprint;

    fn alert(name: &str, severity: &str, host: &str, resolved: bool) -> Alert {
        let labels: Labels = [("alertname", name), ("severity", severity), ("host", host)]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        Alert {
            fingerprint: fingerprint(&labels),
            annotations: Labels::from([("summary".to_owned(), format!("CPU high on {host}"))]),
            labels,
            state: if resolved {
                AlertState::Resolved
            } else {
                AlertState::Firing
            },
            value: Some(97.0),
            active_at_ms: 1_795_676_300_000,
            starts_at_ms: Some(1_795_676_400_000),
            ends_at_ms: resolved.then_some(1_795_676_460_500),
        }
    }

    fn notification(alerts: Vec<Alert>) -> Notification {
        Notification {
            receiver: "ops".into(),
            group_key: "{}:{alertname=\"HighCpu\"}".into(),
            group_labels: Labels::from([("alertname".to_owned(), "HighCpu".to_owned())]),
            alerts,
            truncated: 0,
            external_url: "https://pw.example/".into(),
        }
    }

    #[test]
    fn webhook_payload_is_alertmanagers_v4() {
        let n = notification(vec![
            alert("HighCpu", "critical", "a", false),
            alert("HighCpu", "critical", "b", true),
        ]);
        let body = webhook(&n, 0);
        assert_eq!(body["version"], "4");
        assert_eq!(body["groupKey"], "{}:{alertname=\"HighCpu\"}");
        assert_eq!(body["truncatedAlerts"], 0);
        assert_eq!(body["status"], "firing");
        assert_eq!(body["receiver"], "ops");
        assert_eq!(body["groupLabels"]["alertname"], "HighCpu");
        assert_eq!(body["commonLabels"]["severity"], "critical");
        assert!(body["commonLabels"].get("host").is_none());
        assert_eq!(body["externalURL"], "https://pw.example/");
        let a = &body["alerts"][0];
        assert_eq!(a["status"], "firing");
        assert_eq!(a["startsAt"], "2026-11-26T07:00:00.000Z");
        assert_eq!(a["endsAt"], ZERO_TIME);
        assert_eq!(
            a["generatorURL"],
            "https://pw.example/api/v1/monitoring/alerts"
        );
        assert_eq!(a["fingerprint"], n.alerts[0].fingerprint.as_str());
        let b = &body["alerts"][1];
        assert_eq!(b["status"], "resolved");
        assert_eq!(b["endsAt"], "2026-11-26T07:01:00.500Z");
        // max_alerts truncates and says so.
        let body = webhook(&n, 1);
        assert_eq!(body["alerts"].as_array().map(Vec::len), Some(1));
        assert_eq!(body["truncatedAlerts"], 1);
        // All resolved: the status says so.
        let n = notification(vec![alert("HighCpu", "critical", "b", true)]);
        assert_eq!(webhook(&n, 0)["status"], "resolved");
    }

    #[test]
    fn titles_slack_email_and_sms_values() {
        let n = notification(vec![
            alert("HighCpu", "critical", "a", false),
            alert("HighCpu", "warning", "b", true),
        ]);
        assert_eq!(n.title(), "[FIRING:1] HighCpu");
        let one = notification(vec![alert("HighCpu", "critical", "a", false)]);
        assert_eq!(one.title(), "[FIRING:1] HighCpu (a critical)");
        let s = slack(&n, Some("#ops"), None);
        assert_eq!(s["text"], "[FIRING:1] HighCpu");
        assert_eq!(s["channel"], "#ops");
        assert_eq!(s["attachments"][0]["color"], "danger");
        assert_eq!(s["attachments"][0]["text"], "CPU high on a");
        assert_eq!(s["attachments"][1]["color"], "good");
        let (subject, body) = email(&n);
        assert_eq!(subject, "[FIRING:1] HighCpu");
        assert!(body.contains("Firing (1):\n\n* CPU high on a"), "{body}");
        assert!(body.contains("Resolved (1):\n\n* CPU high on b"), "{body}");
        assert_eq!(sms_value(&n, "+1555", "to"), "+1555");
        assert_eq!(sms_value(&n, "", "status"), "firing");
        assert_eq!(sms_value(&n, "", "alertname"), "HighCpu");
        assert_eq!(sms_value(&n, "", "summary"), "CPU high on a; CPU high on b");
        assert_eq!(sms_value(&n, "", "count"), "2");
        assert_eq!(sms_value(&n, "", "group"), "{alertname=\"HighCpu\"}");
    }

    #[test]
    fn times_before_1970_or_missing_are_gos_zero() {
        assert_eq!(rfc3339(None), ZERO_TIME);
        assert_eq!(rfc3339(Some(-1)), ZERO_TIME);
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00.000Z");
    }
}
