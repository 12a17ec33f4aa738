//! The evaluation loop and the handle the rest of the collector holds ([`Alerting`]): every
//! `evaluation_interval` the collector holding the alert lock reads each rule's series
//! ([`super::series`]), moves the alerts on ([`super::engine`]), stores them, and hands the
//! firing and resolved ones to the notifier. Reloading swaps the rules and the notifier's
//! settings without touching the alerts' state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{Engine, Evaluation};
use super::model::{Alert, AlertState, Severity, SEVERITY};
use super::notify::{Notifier, NotifyCounters};
use super::rules::{self, AlertsConfig, RuleError};
use super::series::Reader;
use crate::clock;
use crate::host_history::Thresholds;
use crate::periodic::Periodic;
use crate::routes::backend_stats::Rollups;
use crate::store::{LeaderLock, SharedStore};

/// Most alert rows read back when this collector starts evaluating.
const RESTORE_LIMIT: usize = 10_000;
/// Most resolved alerts kept for a store that failed to take them.
const UNSAVED_LIMIT: usize = 1_000;

/// How the evaluation goes, for the API and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvaluationStatus {
    /// Whether this collector evaluates (holds the alert lock).
    pub evaluating: bool,
    /// When the last evaluation ran, epoch ms.
    pub last_evaluation_ms: Option<i64>,
    /// How long it took, ms.
    pub last_duration_ms: Option<f64>,
    /// Rules whose series could not be read at the last evaluation, with the reason.
    pub failed_rules: BTreeMap<String, String>,
    /// The error of the last evaluation's store write, if it failed.
    pub store_error: Option<String>,
}

/// Counters since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct AlertCounters {
    /// Evaluations run.
    pub evaluations: AtomicU64,
    /// Rule readings that failed.
    pub rule_failures: AtomicU64,
    /// Evaluations whose alerts could not be stored.
    pub store_failures: AtomicU64,
    /// Series ignored beyond a rule's limit.
    pub series_dropped: AtomicU64,
    /// Alerts that started firing.
    pub fired: AtomicU64,
    /// Alerts that resolved.
    pub resolved: AtomicU64,
    /// Reloads that kept the old rules because the new ones were refused.
    pub reload_failures: AtomicU64,
}

/// What an evaluation needs besides the engine.
struct Shared {
    engine: Mutex<Engine>,
    config: Mutex<AlertsConfig>,
    notifier: Notifier,
    status: Mutex<EvaluationStatus>,
    counters: AlertCounters,
    /// The config file rules come from (`None`: the defaults).
    config_file: Option<PathBuf>,
    /// The host thresholds the default host rules use.
    thresholds: Thresholds,
}

/// The handle on alerting: rules, status, reload. Cheap to clone.
#[derive(Clone)]
pub struct Alerting(Arc<Shared>);

impl std::fmt::Debug for Alerting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerting")
            .field("config_file", &self.0.config_file)
            .finish_non_exhaustive()
    }
}

impl Alerting {
    /// Alerting over `config` (read from `config_file`, if any), notifying through a new
    /// notifier. Nothing is evaluated until [`Alerting::start`].
    pub fn new(
        config: AlertsConfig,
        config_file: Option<PathBuf>,
        thresholds: Thresholds,
    ) -> std::io::Result<Self> {
        let notifier = Notifier::start(config.notify.clone())?;
        Ok(Self(Arc::new(Shared {
            engine: Mutex::new(Engine::new(config.rules.clone())),
            config: Mutex::new(config),
            notifier,
            status: Mutex::default(),
            counters: AlertCounters::default(),
            config_file,
            thresholds,
        })))
    }

    /// Reads `[alerts]` of `config_file` (the defaults without one).
    pub fn load(
        config_file: Option<&std::path::Path>,
        thresholds: Thresholds,
    ) -> Result<AlertsConfig, RuleError> {
        match config_file {
            None => Ok(rules::defaults(thresholds)),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| RuleError::Toml(format!("cannot read {}: {e}", path.display())))?;
                rules::parse(&text, thresholds)
            }
        }
    }

    /// Reads the config file again and, if its `[alerts]` is sound, evaluates its rules and
    /// notifies with its settings from now on; alerts keep their state. A refused file
    /// changes nothing, and the error says why.
    pub fn reload(&self) -> Result<usize, RuleError> {
        let loaded = Self::load(self.0.config_file.as_deref(), self.0.thresholds);
        let config = match loaded {
            Ok(config) => config,
            Err(error) => {
                self.0
                    .counters
                    .reload_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "alert rules not reloaded; the old ones stay");
                return Err(error);
            }
        };
        let count = config.rules.len();
        lock(&self.0.engine).set_rules(config.rules.clone());
        self.0.notifier.reload(config.notify.clone());
        *lock(&self.0.config) = config;
        tracing::info!(rules = count, "alert rules reloaded");
        Ok(count)
    }

    /// The configuration in force.
    pub fn config(&self) -> AlertsConfig {
        lock(&self.0.config).clone()
    }

    /// How evaluation goes.
    pub fn status(&self) -> EvaluationStatus {
        lock(&self.0.status).clone()
    }

    /// How many alerts this collector's engine holds, by state and severity (all zero where
    /// another collector evaluates).
    pub fn active_counts(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        let mut counts = BTreeMap::new();
        for state in [AlertState::Pending, AlertState::Firing] {
            for severity in [Severity::Warning, Severity::Critical] {
                counts.insert((state.as_str(), severity.as_str()), 0);
            }
        }
        for alert in lock(&self.0.engine).active() {
            let severity = match alert.labels.get(SEVERITY).map(String::as_str) {
                Some("critical") => Severity::Critical,
                _ => Severity::Warning,
            };
            *counts
                .entry((alert.state.as_str(), severity.as_str()))
                .or_default() += 1;
        }
        counts
    }

    /// Counters since start.
    pub fn counters(&self) -> &AlertCounters {
        &self.0.counters
    }

    /// The notifier's counters.
    pub fn notify_counters(&self) -> NotifyCounters {
        self.0.notifier.counters()
    }

    /// Stops the notifier, once no evaluation runs any more ([`Evaluator::stop`] first): what
    /// it is delivering gets a moment to finish. Clones held elsewhere (the SIGHUP handler's)
    /// stay valid; their notifications are dropped from then on.
    pub fn stop(&self) {
        self.0.notifier.stop();
    }

    /// Starts evaluating on a thread of its own: each interval, if this collector holds (or
    /// can take) the alert lock.
    pub fn start(&self, store: SharedStore, rollups: Rollups) -> std::io::Result<Evaluator> {
        let alerting = self.clone();
        let mut runner = Runner {
            alerting: self.clone(),
            store,
            rollups,
            lock: None,
            unsaved: Vec::new(),
        };
        let first = alerting.config().evaluation_interval;
        Periodic::start_paced("perfwatch-alerts", first, move || {
            runner.tick(clock::to_epoch_ms(clock::now_ms()));
            alerting.config().evaluation_interval
        })
        .map(Evaluator)
    }
}

/// The evaluation thread; [`Evaluator::stop`] ends it (and gives the lock up).
pub struct Evaluator(Periodic);

impl Evaluator {
    /// Stops after the evaluation in progress.
    pub fn stop(self) {
        self.0.stop();
    }
}

/// The evaluation loop's own state.
struct Runner {
    alerting: Alerting,
    store: SharedStore,
    rollups: Rollups,
    /// Held while this collector evaluates.
    lock: Option<Box<dyn LeaderLock>>,
    /// Resolved alerts a failed store write did not take, written with the next.
    unsaved: Vec<Alert>,
}

impl Runner {
    /// One evaluation at `now_ms`, if this collector is (or becomes) the evaluating one.
    fn tick(&mut self, now_ms: i64) {
        if !self.lead() {
            lock(&self.alerting.0.status).evaluating = false;
            return;
        }
        let shared = &self.alerting.0;
        let started = Instant::now();
        let evaluation = {
            let mut reader = Reader::new(self.store.as_ref(), &self.rollups, now_ms);
            let mut engine = lock(&shared.engine);
            engine.evaluate(now_ms, &mut |rule| {
                reader.observe(rule).map_err(|e| e.to_string())
            })
        };
        self.record(&evaluation, started.elapsed(), now_ms);
        let mut resolved = std::mem::take(&mut self.unsaved);
        resolved.extend(evaluation.resolved.iter().cloned());
        let mut rows = evaluation.active.clone();
        rows.extend(resolved.iter().cloned());
        let stored = self
            .store
            .write_alerts(&rows, &evaluation.abandoned, now_ms);
        let store_error = stored.err().map(|error| {
            shared
                .counters
                .store_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, "alerts not stored; retrying at the next evaluation");
            self.unsaved = resolved
                .into_iter()
                .rev()
                .take(UNSAVED_LIMIT)
                .rev()
                .collect();
            error.to_string()
        });
        lock(&shared.status).store_error = store_error;
        let silences = match self.store.silences(now_ms) {
            Ok(silences) => silences,
            Err(error) => {
                // Notifying without them would page for silenced alerts; the notifier keeps
                // its groups until the next evaluation hands them over.
                tracing::warn!(%error, "silences not read; notifications wait for the next evaluation");
                return;
            }
        };
        let mut notify: Vec<Alert> = evaluation
            .active
            .into_iter()
            .filter(|a| a.state == AlertState::Firing)
            .collect();
        notify.extend(evaluation.resolved);
        shared.notifier.observe(&notify, &silences, now_ms);
    }

    /// Whether this collector evaluates: it holds the lock, or takes it now (and then takes
    /// up the alerts the previous evaluator stored).
    fn lead(&mut self) -> bool {
        if let Some(held) = self.lock.as_mut() {
            if held.held() {
                return true;
            }
            tracing::warn!("the alert lock was lost; another collector may evaluate now");
            self.lock = None;
        }
        match self.store.try_lock_alerts() {
            Ok(Some(lock)) => {
                match self.store.read_alerts(i64::MAX, RESTORE_LIMIT) {
                    Ok(open) => {
                        let mut engine = lock_engine(&self.alerting);
                        *engine = Engine::new(engine.rules().to_vec());
                        engine.restore(open);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "stored alerts not read; not evaluating yet");
                        return false;
                    }
                }
                tracing::info!("this collector evaluates the alert rules");
                self.lock = Some(lock);
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(%error, "cannot take the alert lock");
                false
            }
        }
    }

    /// Notes `evaluation` in the status and counters.
    fn record(&self, evaluation: &Evaluation, took: Duration, now_ms: i64) {
        let c = &self.alerting.0.counters;
        c.evaluations.fetch_add(1, Ordering::Relaxed);
        c.rule_failures
            .fetch_add(evaluation.failed.len() as u64, Ordering::Relaxed);
        c.series_dropped
            .fetch_add(evaluation.series_dropped as u64, Ordering::Relaxed);
        c.resolved
            .fetch_add(evaluation.resolved.len() as u64, Ordering::Relaxed);
        let fired = evaluation
            .active
            .iter()
            .filter(|a| a.state == AlertState::Firing && a.starts_at_ms == Some(now_ms))
            .count();
        c.fired.fetch_add(fired as u64, Ordering::Relaxed);
        for (rule, reason) in &evaluation.failed {
            tracing::warn!(rule, reason, "alert rule not evaluated");
        }
        let mut status = lock(&self.alerting.0.status);
        status.evaluating = true;
        status.last_evaluation_ms = Some(now_ms);
        status.last_duration_ms = Some(took.as_secs_f64() * 1000.0);
        status.failed_rules = evaluation.failed.iter().cloned().collect();
    }
}

/// The engine of `alerting`.
fn lock_engine(alerting: &Alerting) -> MutexGuard<'_, Engine> {
    lock(&alerting.0.engine)
}

/// `mutex` locked, even if a thread panicked holding it (the data stay consistent: every
/// update is a whole assignment).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
