//! Parsing cost of a browser batch: `parse_browser_batch` (UTF-8 check, syntax pass, envelope,
//! item-by-item parse and validation) against the baseline of one plain
//! `serde_json::from_slice::<Value>` of the same bytes, measured in the same run.
//!
//! `cargo bench -p perfwatch-protocol --bench parse`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use perfwatch_protocol::parse_browser_batch;
use serde_json::{json, Value};

/// A realistic batch: a page view, a navigation and web vitals, `n` events in all.
fn batch(n: usize) -> Vec<u8> {
    let sent_at = 1_795_676_400_000.0_f64;
    let events: Vec<Value> = (0..n)
        .map(|i| match i % 3 {
            0 => json!({"type": "page_view", "event_id": format!("e{i}"), "navigation_type": "navigate",
                        "start_time": i as f64 * 10.5}),
            1 => json!({"type": "web_vital", "event_id": format!("e{i}"), "name": "LCP",
                        "value": 1234.5 + i as f64, "delta": 12.25, "id": format!("v6-1795676399000-{i}"),
                        "seq": 1, "rating": "good", "navigation_type": "navigate"}),
            _ => json!({"type": "navigation", "event_id": format!("e{i}"), "dns": 1.5, "connect": 2.25,
                        "tls": 3.0, "ttfb": 80.125, "download": 4.5, "dom_interactive": 120.0,
                        "dom_content_loaded": 130.0, "dom_complete": 290.0, "load": 300.5,
                        "transfer_size": 1200, "encoded_body_size": 900, "decoded_body_size": 3000}),
        })
        .collect();
    serde_json::to_vec(&json!({
        "v": 1, "app": "ai-hub", "release": "1.4.2", "session_id": "0123456789abcdef0123456789abcdef",
        "page_view_id": "fedcba9876543210fedcba9876543210", "user_id": "u_42",
        "url": "https://app.example/chat", "route": "/chat/:id",
        "time_origin": sent_at - 60_000.0, "sent_at": sent_at, "events": events
    }))
    .expect("serializable")
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("browser_batch");
    for n in [10, 50, 200] {
        let body = batch(n);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("serde_json_value_baseline", n),
            &body,
            |b, body| b.iter(|| serde_json::from_slice::<Value>(body).expect("valid")),
        );
        group.bench_with_input(
            BenchmarkId::new("parse_browser_batch", n),
            &body,
            |b, body| b.iter(|| parse_browser_batch(body).expect("valid")),
        );
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
