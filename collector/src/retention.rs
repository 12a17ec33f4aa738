//! Retention: raw events are kept `retention_days` (default 7) and each roll-up tier its own
//! days ([`RollupPolicy`]), then deleted in small chunks by a background thread, so that no
//! delete holds the store long enough to stall ingest.
//!
//! An event older than the retention period that arrives late (the protocol accepts items up to
//! 30 days old) is stored and then deleted by the next run: it falls outside every raw window.

use std::time::Duration;

use crate::clock;
use crate::periodic::Periodic;
use crate::rollup::{RollupPolicy, Tier};
use crate::store::{SharedStore, Store, StoreError};

const MS_PER_DAY: i64 = 86_400_000;
/// Rows deleted per table and chunk.
pub const CHUNK_ROWS: usize = 1000;
/// Pause between chunks, leaving the store to ingest.
const CHUNK_PAUSE: Duration = Duration::from_millis(20);
/// How often the pruner runs, after a first run soon after start-up.
const INTERVAL: Duration = Duration::from_secs(600);
const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);

/// How long what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Days raw events are kept.
    pub raw_days: u32,
    /// Days each roll-up tier is kept.
    pub rollups: RollupPolicy,
}

impl RetentionPolicy {
    /// The cut-off at `now_ms`: raw events dated before it are deleted.
    pub fn cutoff(self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.raw_days) * MS_PER_DAY
    }
}

/// Deletes everything `policy` no longer keeps, chunk by chunk; returns how many rows went.
pub fn prune_all(
    store: &dyn Store,
    policy: RetentionPolicy,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let mut total = chunk_by_chunk(|| store.prune(policy.cutoff(now_ms), CHUNK_ROWS))?;
    for tier in Tier::ALL {
        let cutoff = policy.rollups.cutoff(tier, now_ms);
        total += chunk_by_chunk(|| store.prune_rollups(tier, cutoff, CHUNK_ROWS))?;
    }
    Ok(total)
}

/// Calls `prune` until it deletes nothing, pausing between chunks; returns the rows deleted.
fn chunk_by_chunk(
    mut prune: impl FnMut() -> Result<usize, StoreError>,
) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let deleted = prune()?;
        total += deleted;
        if deleted == 0 {
            return Ok(total);
        }
        std::thread::sleep(CHUNK_PAUSE);
    }
}

/// The pruning thread; [`Pruner::stop`] ends it.
pub struct Pruner(Periodic);

impl Pruner {
    /// Starts pruning `store` by `policy`: soon after start-up, then every ten minutes.
    pub fn start(store: SharedStore, policy: RetentionPolicy) -> std::io::Result<Pruner> {
        Self::start_with(store, policy, FIRST_RUN_AFTER, INTERVAL)
    }

    /// Like [`Pruner::start`], with its own schedule.
    pub fn start_with(
        store: SharedStore,
        policy: RetentionPolicy,
        first_run_after: Duration,
        interval: Duration,
    ) -> std::io::Result<Pruner> {
        let task = move || {
            let now = clock::to_epoch_ms(clock::now_ms());
            match prune_all(store.as_ref(), policy, now) {
                Ok(0) => {}
                Ok(rows) => tracing::info!(rows, "retention deleted old rows"),
                Err(e) => tracing::warn!(error = %e, "retention could not prune"),
            }
        };
        Periodic::start("perfwatch-retention", first_run_after, interval, task).map(Pruner)
    }

    /// Stops the thread (after the chunk it is deleting, if any).
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_pruner_thread_deletes_old_rows_and_keeps_new_ones_then_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore =
            Arc::new(crate::store::SqliteStore::open(&dir.path().join("p.db")).unwrap());
        let batch = |session: &str, age_days: i64| {
            let body = serde_json::json!({
                "v": 1, "app": "a", "session_id": session, "page_view_id": session,
                "url": "https://x/", "time_origin": 1_000_000.0, "sent_at": 1_001_000.0,
                "events": [{"type": "web_vital", "name": "LCP", "value": 1.0, "delta": 1.0,
                            "id": session, "rating": "good"},
                           {"type": "error", "kind": "render", "message": "boom",
                            "event_id": session}]
            });
            let parsed =
                perfwatch_protocol::parse_browser_batch(body.to_string().as_bytes()).unwrap();
            let mut records = crate::normalize::browser_records(parsed, 1_002_000.0);
            let at = clock::to_epoch_ms(clock::now_ms()) - age_days * MS_PER_DAY;
            records.received_at_ms = at;
            for record in &mut records.records {
                record.at_ms = at;
            }
            records
        };
        let (old, new) = (batch("old", 10), batch("new", 1));
        store
            .write_group(&[&old.clone().into(), &new.clone().into()])
            .unwrap();
        let vitals = || {
            store
                .vital_rows(0, i64::MAX, usize::MAX)
                .unwrap()
                .unwrap()
                .samples
                .len()
        };
        let errors = || {
            let mut errors = Vec::new();
            store
                .scan_errors(0, i64::MAX, &mut |row| errors.push(row.session))
                .unwrap();
            errors
        };
        assert_eq!(vitals(), 2);
        assert_eq!(errors().len(), 2);

        let pruner = Pruner::start_with(
            Arc::clone(&store),
            RetentionPolicy {
                raw_days: 7,
                rollups: RollupPolicy::default(),
            },
            Duration::ZERO,
            Duration::from_secs(3600),
        )
        .unwrap();
        for _ in 0..500 {
            if vitals() == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Stopping does not wait for the next run, an hour away.
        pruner.stop();
        let left = store
            .vital_rows(0, i64::MAX, usize::MAX)
            .unwrap()
            .unwrap()
            .samples;
        assert_eq!(
            left.len(),
            1,
            "the 10-day-old vital went, the 1-day-old one stayed"
        );
        assert_eq!(errors(), ["a new"], "and so did the errors");
    }
}
