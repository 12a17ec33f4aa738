//! Notifications: the alerts the engine hands over, grouped, inhibited and silenced as
//! Alertmanager does, delivered to webhooks, Slack, e-mail and SMS with retries, never blocking
//! evaluation. (Skeleton: the interface the engine uses; delivery is being built.)

use serde::Deserialize;

use super::model::{Alert, Silence};

/// `[alerts.notify]` of the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {}

impl NotifyConfig {
    /// Why these settings cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Deliveries so far, by receiver kind, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifyCounters {
    /// `(receiver kind, notifications delivered, attempts failed, notifications given up)`.
    pub by_receiver: Vec<(&'static str, u64, u64, u64)>,
}

/// The notifier: takes the engine's alerts after every evaluation and delivers on its own
/// thread.
#[derive(Debug)]
pub struct Notifier {}

impl Notifier {
    /// Starts delivering with `config`.
    pub fn start(config: NotifyConfig) -> std::io::Result<Notifier> {
        let _ = config;
        Ok(Notifier {})
    }

    /// Hands over the alerts of one evaluation at `now_ms`: every firing alert, and those resolved
    /// since the last call; `silences` are the silences stored now. Never blocks.
    pub fn observe(&self, alerts: &[Alert], silences: &[Silence], now_ms: i64) {
        let _ = (alerts, silences, now_ms);
    }

    /// Delivers with `config` from now on, keeping the groups and what they last sent.
    pub fn reload(&self, config: NotifyConfig) {
        let _ = config;
    }

    /// Deliveries so far.
    pub fn counters(&self) -> NotifyCounters {
        NotifyCounters::default()
    }

    /// Stops delivering (what is in flight is given a moment to finish).
    pub fn stop(self) {}
}
