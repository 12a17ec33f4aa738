//! The writer's cost alone: `Store::write_group` then `Store::sync` on SQLite (a real file: the
//! group committed, then the WAL fsync'd, as a batch is before it is answered)
//! for groups of 64 batches of 50 web vitals — what one commit holds under the ingest
//! benchmark's load — against the baseline of the same group written to the discard store
//! (normalization done, nothing kept), in the same run.
//!
//! `cargo bench -p perfwatch-collector --bench store_write`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use perfwatch_collector::normalize::{browser_records, Batch, BrowserRecords};
use perfwatch_collector::store::{DiscardStore, SqliteStore, Store};
use serde_json::json;

const BATCHES: usize = 64;
const EVENTS: usize = 50;

fn group(round: u64) -> Vec<BrowserRecords> {
    let now = 1_795_676_400_000.0;
    (0..BATCHES)
        .map(|b| {
            let session = format!("r{round}-s{b}");
            let events: Vec<_> = (0..EVENTS)
                .map(|e| {
                    let id = format!("{session}-{e}");
                    json!({"type": "web_vital", "event_id": id, "name": "LCP", "value": 1000.5,
                           "delta": 1.5, "id": id, "seq": 1, "rating": "good",
                           "navigation_type": "navigate"})
                })
                .collect();
            let body = json!({"v": 1, "app": "bench", "session_id": session,
                              "page_view_id": session, "url": "https://app.example/chat",
                              "route": "/chat/:id", "time_origin": now - 5000.0,
                              "sent_at": now, "events": events});
            let parsed = perfwatch_protocol::parse_browser_batch(body.to_string().as_bytes())
                .expect("valid batch");
            browser_records(parsed, now)
        })
        .collect()
}

fn write(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteStore::open(&dir.path().join("perfwatch.db")).expect("store");
    let mut round = 0u64;
    let mut bench = c.benchmark_group("write_group_64x50");
    bench.throughput(Throughput::Elements((BATCHES * EVENTS) as u64));
    bench.sample_size(20);
    for (name, store) in [
        ("discard_baseline", &DiscardStore as &dyn Store),
        ("sqlite_commit_and_fsync", &sqlite as &dyn Store),
    ] {
        bench.bench_function(name, |b| {
            b.iter_batched(
                || {
                    round += 1;
                    group(round)
                },
                |batches| {
                    let batches: Vec<Batch> = batches.into_iter().map(Batch::from).collect();
                    let refs: Vec<&Batch> = batches.iter().collect();
                    let outcomes = store.write_group(&refs).expect("written");
                    store.sync().expect("flushed");
                    outcomes
                },
                BatchSize::LargeInput,
            )
        });
    }
    bench.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
