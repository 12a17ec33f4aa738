//! A browser batch body, as `POST /api/v1/monitoring/frontend-metrics` takes it once inflated:
//! parsed and validated, then normalized into the records the store takes. Every item of a
//! taken batch must be accepted or rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfwatch_collector::normalize::{self, Batch};
use perfwatch_fuzz_common::item_count;
use perfwatch_protocol::parse_browser_batch;

#[path = "../common.rs"]
#[allow(dead_code)]
mod perfwatch_fuzz_common;

/// When the collector received the batch, epoch ms.
const RECEIVED_MS: f64 = 1_795_676_400_000.0;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = parse_browser_batch(data) else {
        return;
    };
    let events = item_count(data, "events");
    assert_eq!(parsed.accepted.len() + parsed.rejected.len(), events);
    let records = normalize::browser_records(parsed, RECEIVED_MS);
    let _ = normalize::browser_timings(&records);
    let _ = normalize::browser_errors(&records);
    let batch = Batch::from(records);
    assert!(batch.len() <= events);
});
