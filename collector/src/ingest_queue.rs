//! The bounded queue between the ingest handlers and the one writer thread.
//!
//! ```text
//!  handler ─submit(records)─▶ [ bounded: batches and bytes ] ─▶ writer thread
//!     ▲                          full → 503 + Retry-After           │ takes every batch waiting
//!     │                                                             ▼ Store::write_group
//!     │                                                     (one transaction: survives a kill)
//!     │                                                             │ committed groups
//!     └──── ack (after commit and flush) ◀── sync thread ◀──────────┘ (bounded)
//!                                            Store::sync once for every group waiting
//!                                            (survives a power loss)
//! ```
//!
//! Handlers never touch the store: they validate, submit, and answer when their batch is
//! committed and flushed to disk — so a 200 means the batch is in the database. Group commit:
//! the writer pays one commit for every batch that arrived while the previous commit ran, and
//! the sync thread one flush for every group committed while the previous flush ran, while the
//! writer goes on with the next group. When the queue is full the handler answers 503 with
//! `Retry-After` at once instead of growing memory; when the store fails, every batch of that
//! commit (or flush) answers 503 and the client retries, which stores nothing twice.
//!
//! Shutdown: [`IngestQueue::close`] refuses new batches; the writer drains what is queued and
//! commits it, the sync thread flushes and answers, both exit, and [`Writer::join`] waits for
//! them.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;
use tokio::sync::oneshot;

use crate::histogram::{Histogram, HistogramSnapshot};
use crate::normalize::Batch;
use crate::store::{SharedStore, StoreOutcome};

/// How much may wait for the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Batches waiting in the queue, at most (the group the writer is committing comes on top).
    /// `/health` reports not ready from this many waiting or being written.
    pub max_batches: usize,
    /// Bytes of batch bodies waiting, at most.
    pub max_bytes: usize,
    /// Batches written in one transaction, at most.
    pub max_group: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            max_batches: 4096,
            max_bytes: 64 * 1024 * 1024,
            max_group: 256,
        }
    }
}

/// Why a batch was not stored. Each maps to 503 with `Retry-After` in [`crate::error`].
#[derive(Debug, Error)]
pub enum QueueError {
    /// The queue is at its limit: the writer cannot keep up.
    #[error("the collector is overloaded ({batches} batches, {bytes} bytes waiting to be written); retry later")]
    Full {
        /// Batches waiting.
        batches: usize,
        /// Bytes waiting.
        bytes: usize,
    },
    /// The collector is shutting down and takes no more batches.
    #[error("the collector is shutting down; retry later")]
    Closed,
    /// The store failed to commit the batch. The detail (the database's own message) is for
    /// the collector's log, not for the client on the open internet: `Display` leaves it out.
    #[error("the store could not write the batch; retry later")]
    Store(String),
}

/// The queue's state, for `/health` and `/metrics`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct QueueStats {
    /// Batches waiting for the writer.
    pub depth_batches: usize,
    /// Bytes of batch bodies waiting.
    pub depth_bytes: usize,
    /// The limits.
    pub max_batches: usize,
    /// The limits.
    pub max_bytes: usize,
    /// Commits done since start.
    pub commits: u64,
    /// Batches written since start.
    pub batches_written: u64,
    /// Commits that failed since start.
    pub commit_failures: u64,
    /// How long the last commit took, in microseconds.
    pub last_commit_micros: u64,
    /// How long the last flush to disk took, in microseconds.
    pub last_sync_micros: u64,
    /// Whether the last commit succeeded (false until the store works again).
    pub store_ok: bool,
}

struct Job {
    records: Batch,
    bytes: usize,
    done: oneshot::Sender<Result<StoreOutcome, QueueError>>,
}

#[derive(Default)]
struct Counters {
    depth_batches: AtomicUsize,
    depth_bytes: AtomicUsize,
    commits: AtomicU64,
    batches_written: AtomicU64,
    commit_failures: AtomicU64,
    last_commit_micros: AtomicU64,
    last_sync_micros: AtomicU64,
    store_failing: AtomicBool,
    commit_seconds: Histogram,
    sync_seconds: Histogram,
}

/// The store's write latencies since start.
#[derive(Debug, Clone, PartialEq)]
pub struct Latencies {
    /// Group commits ([`crate::store::Store::write_group`]).
    pub commit: HistogramSnapshot,
    /// Flushes to disk ([`crate::store::Store::sync`]).
    pub sync: HistogramSnapshot,
}

/// Committed groups waiting for the sync thread, at most: beyond, the writer waits.
const GROUPS_AWAITING_SYNC: usize = 16;

/// A committed group, waiting for [`crate::store::Store::sync`] before its handlers are
/// answered.
struct Committed {
    jobs: Vec<Job>,
    results: Vec<Result<StoreOutcome, QueueError>>,
}

/// The handlers' end of the queue; cheap to clone.
#[derive(Clone)]
pub struct IngestQueue {
    sender: Arc<Mutex<Option<SyncSender<Job>>>>,
    counters: Arc<Counters>,
    limits: QueueLimits,
}

impl std::fmt::Debug for IngestQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestQueue")
            .field("stats", &self.stats())
            .finish()
    }
}

/// The writer and sync threads; [`Writer::join`] after [`IngestQueue::close`].
pub struct Writer {
    writer: JoinHandle<()>,
    syncer: JoinHandle<()>,
}

impl Writer {
    /// Waits until the writer has drained the queue and the sync thread has answered
    /// everything committed.
    pub fn join(self) {
        if self.writer.join().is_err() {
            tracing::error!("the writer thread panicked");
        }
        if self.syncer.join().is_err() {
            tracing::error!("the sync thread panicked");
        }
    }
}

impl IngestQueue {
    /// Starts the writer thread over `store`.
    pub fn start(store: SharedStore, limits: QueueLimits) -> std::io::Result<(Self, Writer)> {
        let (sender, receiver) = mpsc::sync_channel(limits.max_batches);
        let (committed, to_sync) = mpsc::sync_channel(GROUPS_AWAITING_SYNC);
        let counters = Arc::new(Counters::default());
        let syncer = std::thread::Builder::new()
            .name("perfwatch-sync".into())
            .spawn({
                let (store, counters) = (Arc::clone(&store), Arc::clone(&counters));
                move || sync_loop(&to_sync, store.as_ref(), &counters)
            })?;
        let writer = std::thread::Builder::new()
            .name("perfwatch-writer".into())
            .spawn({
                let counters = Arc::clone(&counters);
                move || {
                    write_loop(
                        &receiver,
                        &committed,
                        store.as_ref(),
                        &counters,
                        limits.max_group,
                    )
                }
            })?;
        let queue = Self {
            sender: Arc::new(Mutex::new(Some(sender))),
            counters,
            limits,
        };
        Ok((queue, Writer { writer, syncer }))
    }

    /// Queues `records` (whose body was `bytes` long) and waits until they are committed.
    pub async fn submit(&self, records: Batch, bytes: usize) -> Result<StoreOutcome, QueueError> {
        let c = &self.counters;
        let waiting_bytes = c.depth_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if waiting_bytes > self.limits.max_bytes {
            c.depth_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(self.full());
        }
        // Counted before sending, so the writer never takes away what was not yet added.
        c.depth_batches.fetch_add(1, Ordering::AcqRel);
        let (done, answer) = oneshot::channel();
        let job = Job {
            records,
            bytes,
            done,
        };
        let sent = match self.sender.lock() {
            Ok(guard) => match guard.as_ref() {
                Some(sender) => sender.try_send(job),
                None => Err(TrySendError::Disconnected(job)),
            },
            Err(_) => Err(TrySendError::Disconnected(job)),
        };
        if let Err(refused) = sent {
            c.depth_batches.fetch_sub(1, Ordering::AcqRel);
            c.depth_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(match refused {
                TrySendError::Full(_) => self.full(),
                TrySendError::Disconnected(_) => QueueError::Closed,
            });
        }
        // A dropped sender means the writer stopped without answering (it only does so when
        // shutting down).
        answer.await.unwrap_or(Err(QueueError::Closed))
    }

    fn full(&self) -> QueueError {
        QueueError::Full {
            batches: self.counters.depth_batches.load(Ordering::Acquire),
            bytes: self.counters.depth_bytes.load(Ordering::Acquire),
        }
    }

    /// Refuses new batches; the writer drains the queue and exits.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
    }

    /// How long group commits and flushes to disk have taken since start.
    pub fn latencies(&self) -> Latencies {
        Latencies {
            commit: self.counters.commit_seconds.snapshot(),
            sync: self.counters.sync_seconds.snapshot(),
        }
    }

    /// True while the queue has room (whether the store answers is the store's to say).
    pub fn has_room(&self) -> bool {
        let stats = self.stats();
        stats.depth_batches < stats.max_batches && stats.depth_bytes < stats.max_bytes
    }

    /// The queue's state now.
    pub fn stats(&self) -> QueueStats {
        let c = &self.counters;
        QueueStats {
            depth_batches: c.depth_batches.load(Ordering::Acquire),
            depth_bytes: c.depth_bytes.load(Ordering::Acquire),
            max_batches: self.limits.max_batches,
            max_bytes: self.limits.max_bytes,
            commits: c.commits.load(Ordering::Acquire),
            batches_written: c.batches_written.load(Ordering::Acquire),
            commit_failures: c.commit_failures.load(Ordering::Acquire),
            last_commit_micros: c.last_commit_micros.load(Ordering::Acquire),
            last_sync_micros: c.last_sync_micros.load(Ordering::Acquire),
            store_ok: !c.store_failing.load(Ordering::Acquire),
        }
    }
}

/// The writer: takes every batch waiting (up to `max_group`), commits them together, and hands
/// the group to the sync thread.
fn write_loop(
    receiver: &Receiver<Job>,
    committed: &SyncSender<Committed>,
    store: &dyn crate::store::Store,
    counters: &Counters,
    max_group: usize,
) {
    // `recv` fails once the queue is closed *and* empty: everything queued is written first.
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let results = commit(store, counters, &jobs);
        if results.iter().all(Result::is_err) {
            // Nothing to flush: answer the failures now.
            answer(counters, jobs, results);
        } else if let Err(mpsc::SendError(group)) = committed.send(Committed { jobs, results }) {
            // The sync thread is gone (it panicked): what was committed may not be on disk.
            tracing::error!("the sync thread is gone; answering 503");
            let results = group.jobs.iter().map(|_| Err(QueueError::Closed)).collect();
            answer(counters, group.jobs, results);
        }
    }
    tracing::info!("writer drained the queue and stopped");
}

/// The sync thread: flushes once for every group committed meanwhile, then answers their
/// handlers. A failed flush answers the group's batches 503: committed but maybe not on disk,
/// so the clients retry, which stores nothing twice.
fn sync_loop(to_sync: &Receiver<Committed>, store: &dyn crate::store::Store, counters: &Counters) {
    while let Ok(first) = to_sync.recv() {
        let mut groups = vec![first];
        while let Ok(group) = to_sync.try_recv() {
            groups.push(group);
        }
        let started = Instant::now();
        let synced = store.sync();
        let elapsed = started.elapsed();
        counters
            .last_sync_micros
            .store(elapsed.as_micros() as u64, Ordering::Release);
        counters.sync_seconds.observe(elapsed);
        let failure = match synced {
            Ok(()) => {
                counters.store_failing.store(false, Ordering::Release);
                None
            }
            Err(e) => {
                tracing::error!(error = %e, groups = groups.len(), "flush to disk failed");
                counters.store_failing.store(true, Ordering::Release);
                Some(e.to_string())
            }
        };
        for group in groups {
            let results = match &failure {
                None => group.results,
                Some(message) => group
                    .results
                    .into_iter()
                    .map(|result| result.and(Err(QueueError::Store(message.clone()))))
                    .collect(),
            };
            answer(counters, group.jobs, results);
        }
    }
}

/// Answers each job's handler with its result.
fn answer(counters: &Counters, jobs: Vec<Job>, results: Vec<Result<StoreOutcome, QueueError>>) {
    for (job, result) in jobs.into_iter().zip(results) {
        counters.depth_batches.fetch_sub(1, Ordering::AcqRel);
        counters.depth_bytes.fetch_sub(job.bytes, Ordering::AcqRel);
        // The handler may have gone (client disconnected); the batch is stored anyway.
        let _ = job.done.send(result);
    }
}

/// Commits `jobs` as one group; if that fails for a reason other than the store being down,
/// each alone, so that one batch the store refuses does not fail the others.
fn commit(
    store: &dyn crate::store::Store,
    counters: &Counters,
    jobs: &[Job],
) -> Vec<Result<StoreOutcome, QueueError>> {
    let group: Vec<&Batch> = jobs.iter().map(|job| &job.records).collect();
    let started = Instant::now();
    let result = store.write_group(&group);
    let elapsed = started.elapsed();
    counters
        .last_commit_micros
        .store(elapsed.as_micros() as u64, Ordering::Release);
    counters.commit_seconds.observe(elapsed);
    counters.commits.fetch_add(1, Ordering::AcqRel);
    match result {
        Ok(outcomes) => {
            counters.store_failing.store(false, Ordering::Release);
            counters
                .batches_written
                .fetch_add(jobs.len() as u64, Ordering::AcqRel);
            outcomes.into_iter().map(Ok).collect()
        }
        // A store that is down fails every batch alike; retrying them one by one would only
        // make each wait again. Any other failure may belong to one batch: isolate it.
        Err(e) if jobs.len() > 1 && !e.is_unavailable() => {
            tracing::warn!(error = %e, batches = jobs.len(), "group commit failed; writing batches one by one");
            counters.commit_failures.fetch_add(1, Ordering::AcqRel);
            jobs.iter()
                .flat_map(|job| commit(store, counters, std::slice::from_ref(job)))
                .collect()
        }
        Err(e) => {
            tracing::error!(error = %e, batches = jobs.len(), "commit failed");
            counters.commit_failures.fetch_add(1, Ordering::AcqRel);
            counters.store_failing.store(true, Ordering::Release);
            let message = e.to_string();
            jobs.iter()
                .map(|_| Err(QueueError::Store(message.clone())))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::rollup::{DirtyBucket, RawMinute, Rollup, RollupLock, Tier};
    use crate::store::{SqliteStore, Store, StoreError, VitalRows};

    /// A real SQLite store whose writes wait at a gate the test opens, so that batches pile up
    /// behind a commit deterministically.
    #[derive(Debug)]
    struct GatedStore {
        inner: SqliteStore,
        open: Mutex<bool>,
        opened: Condvar,
        groups: Mutex<Vec<usize>>,
        /// Groups that reached the gate.
        arrived: AtomicUsize,
        /// Flushes to fail before flushing works again (a disk error).
        failing_syncs: AtomicUsize,
    }

    impl GatedStore {
        fn new(dir: &tempfile::TempDir) -> Arc<Self> {
            Arc::new(Self {
                inner: SqliteStore::open(&dir.path().join("perfwatch.db")).unwrap(),
                open: Mutex::new(false),
                opened: Condvar::new(),
                groups: Mutex::new(Vec::new()),
                arrived: AtomicUsize::new(0),
                failing_syncs: AtomicUsize::new(0),
            })
        }

        /// Waits until `n` groups have reached the gate (the writer holds their batches).
        async fn until_arrived(&self, n: usize) {
            for _ in 0..1000 {
                if self.arrived.load(Ordering::Acquire) >= n {
                    return;
                }
                actix_web::rt::time::sleep(Duration::from_millis(2)).await;
            }
            panic!("the writer never reached the gate");
        }

        fn open_gate(&self) {
            *self.open.lock().unwrap() = true;
            self.opened.notify_all();
        }
    }

    impl Store for GatedStore {
        fn kind(&self) -> &'static str {
            "gated"
        }
        fn ping(&self) -> Result<(), StoreError> {
            self.inner.ping()
        }
        fn schema_version(&self) -> Result<i64, StoreError> {
            self.inner.schema_version()
        }
        fn write_group(&self, batches: &[&Batch]) -> Result<Vec<StoreOutcome>, StoreError> {
            self.arrived.fetch_add(1, Ordering::AcqRel);
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            drop(open);
            self.groups.lock().unwrap().push(batches.len());
            self.inner.write_group(batches)
        }
        fn scan_api_calls(
            &self,
            since_ms: i64,
            until_ms: i64,
            each: &mut dyn FnMut(crate::backend_stats::ApiCallRow),
        ) -> Result<(), StoreError> {
            self.inner.scan_api_calls(since_ms, until_ms, each)
        }
        fn scan_ai_calls(
            &self,
            since_ms: i64,
            until_ms: i64,
            each: &mut dyn FnMut(crate::backend_stats::AiCallRow),
        ) -> Result<(), StoreError> {
            self.inner.scan_ai_calls(since_ms, until_ms, each)
        }
        fn dirty_in(
            &self,
            tier: Tier,
            from_ms: i64,
            to_ms: i64,
        ) -> Result<std::collections::BTreeSet<i64>, StoreError> {
            self.inner.dirty_in(tier, from_ms, to_ms)
        }
        fn read_call_rollups(
            &self,
            tier: Tier,
            from_ms: i64,
            to_ms: i64,
            api: &[crate::call_rollup::ApiDimension],
            ai: &[crate::call_rollup::AiDimension],
        ) -> Result<
            (
                Vec<crate::call_rollup::ApiSeries>,
                Vec<crate::call_rollup::AiSeries>,
            ),
            StoreError,
        > {
            self.inner.read_call_rollups(tier, from_ms, to_ms, api, ai)
        }
        fn scan_timings(
            &self,
            since_ms: i64,
            until_ms: i64,
            each: &mut dyn FnMut(crate::store::TimingRow),
        ) -> Result<(), StoreError> {
            self.inner.scan_timings(since_ms, until_ms, each)
        }
        fn scan_errors(
            &self,
            since_ms: i64,
            until_ms: i64,
            each: &mut dyn FnMut(crate::store::ErrorRow),
        ) -> Result<(), StoreError> {
            self.inner.scan_errors(since_ms, until_ms, each)
        }
        fn error_samples(&self, ids: &[i64]) -> Result<Vec<crate::store::ErrorSample>, StoreError> {
            self.inner.error_samples(ids)
        }
        fn scan_sessions(
            &self,
            since_ms: i64,
            until_ms: i64,
            each: &mut dyn FnMut(crate::session_stats::SessionPoint),
        ) -> Result<(), StoreError> {
            self.inner.scan_sessions(since_ms, until_ms, each)
        }
        fn active_users(&self, since_ms: i64) -> Result<crate::store::ActiveCounts, StoreError> {
            self.inner.active_users(since_ms)
        }
        fn sync(&self) -> Result<(), StoreError> {
            let failing = self.failing_syncs.load(Ordering::Acquire);
            if failing > 0 {
                self.failing_syncs.store(failing - 1, Ordering::Release);
                return Err(StoreError::Flush(std::io::Error::other("I/O error")));
            }
            self.inner.sync()
        }
        fn vital_rows(
            &self,
            since_ms: i64,
            until_ms: i64,
            max_samples: usize,
        ) -> Result<Option<VitalRows>, StoreError> {
            self.inner.vital_rows(since_ms, until_ms, max_samples)
        }
        fn export(
            &self,
            from_ms: i64,
            to_ms: i64,
            out: &mut dyn std::io::Write,
        ) -> Result<u64, StoreError> {
            self.inner.export(from_ms, to_ms, out)
        }
        fn backup(&self, to: &std::path::Path) -> Result<(), StoreError> {
            self.inner.backup(to)
        }
        fn prune(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
            self.inner.prune(before_ms, limit)
        }
        fn write_host_point(
            &self,
            host: &str,
            point: &crate::host_history::HostPoint,
        ) -> Result<(), StoreError> {
            self.inner.write_host_point(host, point)
        }
        fn host_points(
            &self,
            host: &str,
            from: i64,
            to: i64,
        ) -> Result<Vec<crate::host_history::HostPoint>, StoreError> {
            self.inner.host_points(host, from, to)
        }
        fn write_host_rollup(
            &self,
            host: &str,
            hour: i64,
            rollups: &[crate::host_history::SeriesRollup],
        ) -> Result<(), StoreError> {
            self.inner.write_host_rollup(host, hour, rollups)
        }
        fn host_rollups(
            &self,
            host: &str,
            from: i64,
            to: i64,
        ) -> Result<Vec<(i64, Vec<crate::host_history::SeriesRollup>)>, StoreError> {
            self.inner.host_rollups(host, from, to)
        }
        fn try_lock_rollups(&self) -> Result<Option<RollupLock>, StoreError> {
            self.inner.try_lock_rollups()
        }
        fn try_lock_alerts(&self) -> Result<Option<Box<dyn crate::store::LeaderLock>>, StoreError> {
            self.inner.try_lock_alerts()
        }
        fn erase_user(&self, user_id: &str) -> Result<u64, StoreError> {
            self.inner.erase_user(user_id)
        }
        fn erasure_generation(&self) -> Result<i64, StoreError> {
            self.inner.erasure_generation()
        }
        fn write_audit(&self, entry: &crate::store::AuditEntry) -> Result<(), StoreError> {
            self.inner.write_audit(entry)
        }
        fn read_audit(
            &self,
            since_ms: i64,
            limit: usize,
        ) -> Result<Vec<crate::store::AuditEntry>, StoreError> {
            self.inner.read_audit(since_ms, limit)
        }
        fn host_names(&self, since_ms: i64) -> Result<Vec<String>, StoreError> {
            self.inner.host_names(since_ms)
        }
        fn write_alerts(
            &self,
            alerts: &[crate::alerts::model::Alert],
            abandoned: &[(String, i64)],
            now_ms: i64,
        ) -> Result<(), StoreError> {
            self.inner.write_alerts(alerts, abandoned, now_ms)
        }
        fn read_alerts(
            &self,
            since_ms: i64,
            limit: usize,
        ) -> Result<Vec<crate::alerts::model::Alert>, StoreError> {
            self.inner.read_alerts(since_ms, limit)
        }
        fn write_silence(&self, silence: &crate::alerts::model::Silence) -> Result<(), StoreError> {
            self.inner.write_silence(silence)
        }
        fn expire_silence(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
            self.inner.expire_silence(id, at_ms)
        }
        fn silences(
            &self,
            after_ms: i64,
        ) -> Result<Vec<crate::alerts::model::Silence>, StoreError> {
            self.inner.silences(after_ms)
        }
        fn dirty_buckets(&self, tier: Tier, limit: usize) -> Result<Vec<DirtyBucket>, StoreError> {
            self.inner.dirty_buckets(tier, limit)
        }
        fn raw_minute(&self, from_ms: i64, to_ms: i64) -> Result<RawMinute, StoreError> {
            self.inner.raw_minute(from_ms, to_ms)
        }
        fn read_rollups(&self, tier: Tier, from: i64, to: i64) -> Result<Rollup, StoreError> {
            self.inner.read_rollups(tier, from, to)
        }
        fn replace_rollup(
            &self,
            dirty: &DirtyBucket,
            rollup: Option<&Rollup>,
        ) -> Result<(), StoreError> {
            self.inner.replace_rollup(dirty, rollup)
        }
        fn prune_rollups(
            &self,
            tier: Tier,
            before: i64,
            limit: usize,
        ) -> Result<usize, StoreError> {
            self.inner.prune_rollups(tier, before, limit)
        }
    }

    fn records(event_id: &str) -> Batch {
        let body = serde_json::json!({
            "v": 1, "app": "a", "session_id": "s", "page_view_id": "p", "url": "https://x/",
            "time_origin": 1_000_000.0, "sent_at": 1_001_000.0,
            "events": [{"type": "page_view", "start_time": 0, "event_id": event_id}]
        });
        let parsed = perfwatch_protocol::parse_browser_batch(body.to_string().as_bytes()).unwrap();
        crate::normalize::browser_records(parsed, 1_002_000.0).into()
    }

    fn limits(max_batches: usize, max_bytes: usize) -> QueueLimits {
        QueueLimits {
            max_batches,
            max_bytes,
            max_group: 64,
        }
    }

    /// Waits until `n` batches are queued or held by the writer (letting the submits run).
    async fn until_depth(queue: &IngestQueue, n: usize) {
        for _ in 0..1000 {
            if queue.stats().depth_batches == n {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("queue depth never reached {n}: {:?}", queue.stats());
    }

    fn spawn_submit(
        queue: &IngestQueue,
        event_id: &str,
        bytes: usize,
    ) -> actix_web::rt::task::JoinHandle<Result<StoreOutcome, QueueError>> {
        let queue = queue.clone();
        let records = records(event_id);
        actix_web::rt::spawn(async move { queue.submit(records, bytes).await })
    }

    #[actix_web::test]
    async fn batches_waiting_behind_a_commit_are_written_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatedStore::new(&dir);
        let (queue, writer) = IngestQueue::start(store.clone(), limits(100, 1 << 20)).unwrap();
        let submits: Vec<_> = (0..10)
            .map(|i| spawn_submit(&queue, &format!("e{i}"), 100))
            .collect();
        // Everything is queued (the writer holds the first at the gate) before it opens.
        until_depth(&queue, 10).await;
        store.open_gate();
        for submit in submits {
            let outcome = submit.await.unwrap().unwrap();
            assert_eq!(outcome.stored, 1);
        }
        let groups = store.groups.lock().unwrap().clone();
        assert_eq!(groups.iter().sum::<usize>(), 10);
        assert!(
            groups.len() <= 2,
            "one commit for the first, one for the rest: {groups:?}"
        );
        let stats = queue.stats();
        assert_eq!((stats.depth_batches, stats.depth_bytes), (0, 0));
        assert_eq!(stats.batches_written, 10);
        queue.close();
        writer.join();
    }

    #[actix_web::test]
    async fn a_batch_is_answered_only_once_flushed_and_a_failed_flush_is_a_retryable_503() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatedStore::new(&dir);
        store.open_gate();
        store.failing_syncs.store(1, Ordering::Release);
        let (queue, writer) = IngestQueue::start(store.clone(), limits(100, 1 << 20)).unwrap();
        // Committed, but the flush failed: not acknowledged.
        let failed = spawn_submit(&queue, "e1", 10).await.unwrap();
        assert!(matches!(failed, Err(QueueError::Store(_))), "{failed:?}");
        assert!(!queue.stats().store_ok);
        // The client retries: acknowledged, and stored once.
        let retried = spawn_submit(&queue, "e1", 10).await.unwrap().unwrap();
        assert_eq!(retried.stored, 1);
        assert!(queue.stats().store_ok);
        assert_eq!(
            store
                .vital_rows(0, i64::MAX, usize::MAX)
                .unwrap()
                .unwrap()
                .page_views
                .len(),
            1
        );
        let count: i64 = rusqlite::Connection::open(dir.path().join("perfwatch.db"))
            .unwrap()
            .query_row("SELECT COUNT(*) FROM page_views", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1);
        queue.close();
        writer.join();
    }

    #[actix_web::test]
    async fn a_full_queue_refuses_at_once_instead_of_growing() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatedStore::new(&dir);
        let (queue, writer) = IngestQueue::start(store.clone(), limits(2, 1 << 20)).unwrap();
        // The writer holds the first batch at the gate; then the channel takes two more.
        let mut accepted = vec![spawn_submit(&queue, "e1", 10)];
        store.until_arrived(1).await;
        for (i, event_id) in ["e2", "e3"].into_iter().enumerate() {
            accepted.push(spawn_submit(&queue, event_id, 10));
            until_depth(&queue, i + 2).await;
        }
        let refused = queue.submit(records("e4"), 10).await;
        assert!(
            matches!(refused, Err(QueueError::Full { batches: 3, .. })),
            "{refused:?}"
        );
        assert!(!queue.has_room());
        assert_eq!(
            queue.stats().depth_batches,
            3,
            "the refused batch is not counted"
        );
        store.open_gate();
        for submit in accepted {
            assert_eq!(submit.await.unwrap().unwrap().stored, 1);
        }
        assert!(queue.has_room());
        queue.close();
        writer.join();
    }

    #[actix_web::test]
    async fn the_byte_bound_refuses_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatedStore::new(&dir);
        let (queue, writer) = IngestQueue::start(store.clone(), limits(100, 1000)).unwrap();
        let first = spawn_submit(&queue, "e1", 600);
        until_depth(&queue, 1).await;
        let second = queue.submit(records("e2"), 600).await;
        match second {
            Err(QueueError::Full { bytes, .. }) => assert_eq!(bytes, 600),
            other => panic!("expected Full, got {other:?}"),
        }
        store.open_gate();
        assert!(first.await.unwrap().is_ok());
        assert_eq!(queue.stats().depth_bytes, 0);
        queue.close();
        writer.join();
    }

    #[actix_web::test]
    async fn closing_drains_what_is_queued_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = GatedStore::new(&dir);
        let (queue, writer) = IngestQueue::start(store.clone(), limits(100, 1 << 20)).unwrap();
        let queued: Vec<_> = (0..5)
            .map(|i| spawn_submit(&queue, &format!("e{i}"), 10))
            .collect();
        until_depth(&queue, 5).await;
        queue.close();
        assert!(matches!(
            queue.submit(records("late"), 10).await,
            Err(QueueError::Closed)
        ));
        store.open_gate();
        for submit in queued {
            assert_eq!(submit.await.unwrap().unwrap().stored, 1);
        }
        writer.join();
        assert_eq!(store.groups.lock().unwrap().iter().sum::<usize>(), 5);
    }
}
