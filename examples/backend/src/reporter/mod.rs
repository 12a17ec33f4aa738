//! Reporting to the collector without slowing a request down.
//!
//! A handler only pushes its record into a bounded buffer under a short lock ([`Reporter`]);
//! one background task ([`sender`]) takes batches from it and posts them to the collector. When
//! the collector is slow or down the buffer absorbs the records, up to its capacity; past it
//! the oldest are dropped and counted, and a warning says so at most once a minute. Every
//! record ends up counted in [`ReporterStats`]: sent, refused by the collector, or dropped.
//!
//! ```text
//!  handler ─ record() ─▶ RecordBuffer (≤ 10,000; full: drop oldest, count, warn ≤ 1/min)
//!                              │  every second, or at once when 100 are waiting
//!                              ▼
//!  sender task ── take ≤ 1000 ─▶ POST /api/v1/monitoring/api-calls, .../ai-calls
//!      2xx ─▶ sent (items the collector rejected one by one: refused, logged)
//!      connection error, timeout, 408, 429, 502, 503, 504 ─▶ back in front of the buffer,
//!                                       wait Retry-After or the backoff (0.5 s doubling to 30 s)
//!      any other answer ─▶ the batch is refused: counted and logged, not retried
//! ```

mod buffer;
pub mod records;
mod sender;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub use buffer::{RecordBuffer, WarnLimiter};
pub use records::{AiCallRecord, ApiCallRecord, Record};

/// How the records are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReporterConfig {
    /// The collector's base URL (`http://127.0.0.1:8001`), without a trailing slash.
    pub collector: String,
    /// Sent as `X-Perfwatch-Key` when set.
    pub write_key: Option<String>,
    /// Most records waiting; past it the oldest are dropped.
    pub capacity: usize,
    /// Most records in one batch (the collector's limit).
    pub batch_max: usize,
    /// A batch is sent at once when this many records are waiting...
    pub batch_trigger: usize,
    /// ...and otherwise every interval.
    pub interval: Duration,
    /// How long one post may take.
    pub request_timeout: Duration,
    /// The first wait after a failed post; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ReporterConfig {
    fn default() -> Self {
        ReporterConfig {
            collector: crate::config::DEFAULT_COLLECTOR.to_owned(),
            write_key: None,
            capacity: 10_000,
            batch_max: perfwatch_protocol::LIMITS.backend_batch_records,
            batch_trigger: 100,
            interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(10),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What became of the records so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Waiting in the buffer.
    pub buffered: usize,
    /// Dropped: the buffer was full, or the collector was still unreachable at shutdown.
    pub dropped: u64,
    /// Accepted by the collector.
    pub sent: u64,
    /// Refused by the collector (a whole batch with a 4xx, or items rejected one by one).
    pub refused: u64,
    /// Posts that failed and were retried.
    pub retries: u64,
}

/// Drops are warned about at most this often.
const WARN_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Waiting {
    buffer: RecordBuffer<Record>,
    drop_warning: WarnLimiter,
}

/// What handlers and the sender task share.
#[derive(Debug)]
struct Shared {
    waiting: Mutex<Waiting>,
    /// Wakes the sender: a batch is due, or the reporter is closing.
    wake: Notify,
    closing: AtomicBool,
    batch_trigger: usize,
    sent: AtomicU64,
    refused: AtomicU64,
    retries: AtomicU64,
}

impl Shared {
    /// The buffer. A handler that panicked while holding the lock left it consistent (every
    /// operation on it is a single step), so a poisoned lock is used as it is.
    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn take(&self, max: usize) -> Vec<Record> {
        self.waiting().buffer.take(max)
    }

    /// Puts back a batch that could not be sent yet.
    fn requeue(&self, batch: Vec<Record>) {
        let warning = {
            let mut waiting = self.waiting();
            let dropped = waiting.buffer.requeue(batch);
            waiting.drop_warning.note(dropped, Instant::now())
        };
        warn_dropped(warning);
    }

    /// Drops everything still waiting (the collector was unreachable at shutdown).
    fn abandon(&self) -> u64 {
        self.waiting().buffer.clear()
    }
}

fn warn_dropped(warning: Option<u64>) {
    if let Some(count) = warning {
        tracing::warn!(
            dropped = count,
            "the report buffer is full: the oldest records were dropped (the collector is \
             unreachable or slower than this service)"
        );
    }
}

/// The handle handlers record through. Cheap to clone; never waits on the network.
#[derive(Debug, Clone)]
pub struct Reporter {
    shared: Arc<Shared>,
}

impl Reporter {
    /// Records `record` to be sent. When the buffer is full the oldest record is dropped.
    pub fn record(&self, record: Record) {
        let (warning, waiting) = {
            let mut waiting = self.shared.waiting();
            let dropped = waiting.buffer.push(record);
            let warning = waiting.drop_warning.note(dropped, Instant::now());
            (warning, waiting.buffer.len())
        };
        warn_dropped(warning);
        if waiting >= self.shared.batch_trigger {
            self.shared.wake.notify_one();
        }
    }

    /// A copy of the records waiting, oldest first (for tests and diagnostics).
    pub fn waiting(&self) -> Vec<Record> {
        self.shared.waiting().buffer.iter().cloned().collect()
    }

    /// What became of the records so far.
    pub fn stats(&self) -> ReporterStats {
        let (buffered, dropped) = {
            let waiting = self.shared.waiting();
            (waiting.buffer.len(), waiting.buffer.dropped())
        };
        ReporterStats {
            buffered,
            dropped,
            sent: self.shared.sent.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
            retries: self.shared.retries.load(Ordering::Relaxed),
        }
    }
}

/// The running sender task; [`ReporterTask::shutdown`] sends what is left and stops it.
#[derive(Debug)]
pub struct ReporterTask {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the sender task on the current actix system (its HTTP client lives on this thread)
/// and returns the handle to record through.
pub fn start(config: ReporterConfig) -> (Reporter, ReporterTask) {
    let shared = Arc::new(Shared {
        waiting: Mutex::new(Waiting {
            buffer: RecordBuffer::new(config.capacity),
            drop_warning: WarnLimiter::new(WARN_INTERVAL),
        }),
        wake: Notify::new(),
        closing: AtomicBool::new(false),
        batch_trigger: config.batch_trigger.max(1),
        sent: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        retries: AtomicU64::new(0),
    });
    let task = actix_web::rt::spawn(sender::run(Arc::clone(&shared), config));
    (
        Reporter {
            shared: Arc::clone(&shared),
        },
        ReporterTask { shared, task },
    )
}

impl ReporterTask {
    /// Sends what is waiting (one try: a collector still down drops it, counted) and stops,
    /// waiting at most `within`.
    pub async fn shutdown(self, within: Duration) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let abort = self.task.abort_handle();
        if tokio::time::timeout(within, self.task).await.is_err() {
            abort.abort();
            let dropped = self.shared.abandon();
            tracing::warn!(
                dropped,
                "the collector did not take the last records within {within:?}"
            );
        }
    }
}
