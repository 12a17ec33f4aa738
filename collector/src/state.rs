//! What every request handler shares.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::web;
use perfwatch_protocol::BrowserError;

use crate::access::{AccessPolicy, Gate};
use crate::alerts::evaluator::Alerting;
use crate::api_call_recorder::BufferedCalls;
use crate::config::DEFAULT_RETENTION_DAYS;
use crate::host::HostSample;
use crate::host_history::{SharedLatest, Thresholds};
use crate::ingest_queue::IngestQueue;
use crate::pricing::PriceTable;
use crate::rollup::{CallRangeCache, RollupPolicy};
use crate::session_stats::SessionPolicy;
use crate::store::{SharedStore, Store, StoreError};
use crate::system::SystemInfo;

/// The collector's shared state; cheap to clone (one per worker).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database, for reads (writes go through [`AppState::queue`]).
    pub store: SharedStore,
    /// The ingest queue to the one writer.
    pub queue: IngestQueue,
    /// The host's facts, gathered at start-up.
    pub system: Arc<SystemInfo>,
    /// When the collector started, for its uptime.
    pub started_at: Instant,
    /// The host monitor's view: this host's name, its latest sample and the thresholds.
    pub host: HostView,
    /// What ingest has taken and refused since start, for `/metrics`.
    pub ingest: Arc<IngestCounters>,
    /// The AI model prices that AI calls are costed with.
    pub prices: Arc<PriceTable>,
    /// The collector's own API calls, waiting to be stored ([`crate::api_call_recorder`]).
    pub own_calls: Arc<BufferedCalls>,
    /// How users and sessions are counted.
    pub sessions: SessionPolicy,
    /// Merged call roll-ups of ranges read lately ([`crate::rollup::read_call_window`]).
    pub call_cache: Arc<CallRangeCache>,
    /// The timeseries buckets read lately (see [`crate::timeseries::BucketCache`]).
    pub timeseries_cache: Arc<crate::timeseries::BucketCache>,
    /// How long each roll-up tier is kept, and raw events (days): what a window can read.
    pub retention: (RollupPolicy, u32),
    /// Alert rules and their evaluation (`None` where the collector runs without them, as in
    /// most tests).
    pub alerting: Option<Alerting>,
    /// Who may do what, with the rate limiters ([`crate::access`]).
    pub gate: Arc<Gate>,
    /// How long a request body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// How URLs, names and error texts of browser batches are scrubbed ([`crate::scrub`]).
    pub scrub_rules: Arc<crate::scrub::ServerRules>,
}

/// What ingest has taken and refused since start. Every label set is bounded: refusals are
/// counted by the envelope's error code, rejected items by [`perfwatch_protocol::ItemRejection::code`].
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Batches answered 200 (stored).
    pub batches_stored: AtomicU64,
    /// Batches refused whole, by error code (`malformed_body`, `overloaded`, ...).
    pub batches_refused: Mutex<BTreeMap<&'static str, u64>>,
    /// Events accepted (in stored batches).
    pub events_accepted: AtomicU64,
    /// Events refused item by item, by rule broken.
    pub events_rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Browser errors accepted (in stored batches), by [`error_kind_label`].
    pub browser_errors: Mutex<BTreeMap<&'static str, u64>>,
    /// OTLP spans stored as API or AI calls.
    pub otlp_spans_recorded: AtomicU64,
    /// OTLP spans that are neither AI nor HTTP server spans (taken, not stored).
    pub otlp_spans_ignored: AtomicU64,
    /// OTLP spans refused (counted in `partialSuccess.rejectedSpans`).
    pub otlp_spans_refused: AtomicU64,
}

impl IngestCounters {
    /// Adds one to `key` of `counts`.
    pub fn bump(counts: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
        if let Ok(mut counts) = counts.lock() {
            *counts.entry(key).or_default() += 1;
        }
    }

    /// A copy of `counts`.
    pub fn snapshot(counts: &Mutex<BTreeMap<&'static str, u64>>) -> BTreeMap<&'static str, u64> {
        counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// The label `/metrics` counts `error`'s `kind` under: one of
/// [`BrowserError::KNOWN_KINDS`], else [`OTHER_ERROR_KIND`], so that senders cannot grow the
/// label set.
pub fn error_kind_label(error: &BrowserError) -> &'static str {
    error.known_kind().unwrap_or(OTHER_ERROR_KIND)
}

/// The label of the error kinds not in [`BrowserError::KNOWN_KINDS`].
pub const OTHER_ERROR_KIND: &str = "other";

/// What the endpoints read of the host monitor ([`crate::host_history::Monitor`]).
#[derive(Debug, Clone)]
pub struct HostView {
    /// The name the samples are stored under (the hostname).
    pub name: String,
    /// The latest sample and list of busiest processes (empty until the monitor runs).
    pub latest: SharedLatest,
    /// When the host is in warning or critical.
    pub thresholds: Thresholds,
}

impl HostView {
    /// A copy of the latest sample (`None` before the monitor's first).
    pub fn latest_sample(&self) -> Option<HostSample> {
        self.latest
            .read()
            .map(|latest| latest.sample.clone())
            .unwrap_or_default()
    }
}

/// The collector's own API calls buffered between two flushes, at most: at the flush interval of
/// a second, 10 000 requests a second are all recorded; beyond, the excess is counted and dropped.
pub const OWN_CALLS_BUFFERED: usize = 10_000;

/// The service name the collector records its own API calls under.
pub const OWN_SERVICE: &str = "perfwatch-collector";

impl AppState {
    /// State over `store` and its writer's `queue`, starting the uptime clock now.
    pub fn new(store: SharedStore, queue: IngestQueue, system: SystemInfo) -> Self {
        let host = HostView {
            name: system
                .hostname
                .clone()
                .unwrap_or_else(|| "localhost".to_owned()),
            latest: SharedLatest::default(),
            thresholds: Thresholds::default(),
        };
        Self {
            store,
            queue,
            system: Arc::new(system),
            started_at: Instant::now(),
            host,
            ingest: Arc::default(),
            prices: Arc::new(PriceTable::builtin()),
            own_calls: Arc::new(BufferedCalls::new(OWN_CALLS_BUFFERED)),
            sessions: SessionPolicy::default(),
            call_cache: Arc::default(),
            timeseries_cache: Arc::default(),
            retention: (RollupPolicy::default(), DEFAULT_RETENTION_DAYS),
            alerting: None,
            gate: Arc::new(Gate::new(AccessPolicy::default())),
            body_timeout: crate::body::DEFAULT_BODY_TIMEOUT,
            scrub_rules: Arc::new(crate::scrub::rules(&[])),
        }
    }

    /// This state with `alerting` (whose evaluation the caller starts).
    pub fn with_alerting(mut self, alerting: Alerting) -> Self {
        self.alerting = Some(alerting);
        self
    }

    /// This state giving request bodies `timeout` to arrive.
    pub fn with_body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// This state keeping the query parameters `allowed` in scrubbed URLs.
    pub fn with_allowed_query_params(mut self, allowed: &[String]) -> Self {
        self.scrub_rules = Arc::new(crate::scrub::rules(allowed));
        self
    }

    /// This state letting in whom `policy` lets in.
    pub fn with_access(mut self, policy: AccessPolicy) -> Self {
        self.gate = Arc::new(Gate::new(policy));
        self
    }

    /// This state pricing AI calls with `prices` (the built-in table with the user's entries).
    pub fn with_prices(mut self, prices: PriceTable) -> Self {
        self.prices = Arc::new(prices);
        self
    }

    /// This state knowing that roll-ups are kept by `policy` and raw events `raw_days`.
    pub fn with_retention(mut self, policy: RollupPolicy, raw_days: u32) -> Self {
        self.retention = (policy, raw_days);
        self
    }

    /// This state counting users and sessions by `policy`.
    pub fn with_sessions(mut self, policy: SessionPolicy) -> Self {
        self.sessions = policy;
        self
    }

    /// This state with the host monitor's `thresholds` (the monitor writes into
    /// [`HostView::latest`]).
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.host.thresholds = thresholds;
        self
    }

    /// Runs `work` against the store on actix's blocking pool, so that database I/O and lock
    /// waits never stall an async worker.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        web::block(move || work(store.as_ref()))
            .await
            .map_err(|_| StoreError::Blocking)?
    }
}
