//! Alerts, the way Prometheus and Alertmanager users expect them to behave.
//!
//! ```text
//!  [alerts] of the config file ──rules::parse──▶ Rule (expr, thresholds, for, keep_firing_for)
//!                                                   │
//!  every evaluation_interval, on the collector holding the alert lock (evaluator):
//!    series::Reader ── the statistics the endpoints answer (host samples, API and AI calls,
//!         │            web vitals), each source and window read once
//!         ▼
//!    engine::Engine ── inactive → pending → firing → resolved, per rule, series and severity;
//!         │            predict (linear trend) and anomaly (EWMA baseline) rules alike
//!         ├──▶ Store::write_alerts (active and history, read by every collector's API)
//!         └──▶ notify::Notifier ── groups, inhibition, silences, webhook / Slack / e-mail / SMS
//! ```

pub mod anomaly;
pub mod engine;
pub mod evaluator;
pub mod model;
pub mod notify;
pub mod predict;
pub mod rules;
pub mod series;
