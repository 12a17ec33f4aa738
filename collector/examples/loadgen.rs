//! A load generator for the ingest benchmark (`scripts/bench-ingest.sh`).
//!
//! Unlike oha or wrk it sends a *different* batch every time: every event carries a fresh
//! `event_id` and metric id, so the collector really stores each one (a repeated body would be
//! deduplicated after its first delivery and measure nothing). Each connection is a thread with
//! a keep-alive HTTP/1.1 connection on loopback.
//!
//! `cargo run --release -p perfwatch-collector --example loadgen -- ADDR [CONNECTIONS] [SECONDS] [EVENTS_PER_BATCH]`
//! prints one JSON line: events/s, batches/s, status counts and latency percentiles.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[path = "support/http1.rs"]
mod http1;
use http1::{now_ms, percentile, read_response};

#[derive(Default)]
struct Tally {
    ok: u64,
    refused: u64,
    other: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

/// A batch of `events` web vitals whose ids start with `prefix`.
fn batch(prefix: &str, events: usize) -> String {
    let now = now_ms();
    let mut body = format!(
        r#"{{"v":1,"app":"bench","session_id":"{prefix}","page_view_id":"{prefix}","url":"https://app.example/chat","route":"/chat/:id","time_origin":{},"sent_at":{now},"events":["#,
        now - 5000.0
    );
    for i in 0..events {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"type":"web_vital","event_id":"{prefix}-{i}","name":"LCP","value":{}.5,"delta":1.5,"id":"{prefix}-{i}","seq":1,"rating":"good","navigation_type":"navigate"}}"#,
            1000 + i
        ));
    }
    body.push_str("]}");
    body
}

fn connection(addr: &str, id: usize, events: usize, stop: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0u64;
    'reconnect: while !stop.load(Ordering::Relaxed) {
        let Ok(stream) = TcpStream::connect(addr) else {
            tally.errors += 1;
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            tally.errors += 1;
            continue;
        };
        let mut reader = BufReader::new(stream);
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let body = batch(&format!("c{id}-{n}"), events);
            let request = format!(
                "POST /api/v1/monitoring/frontend-metrics?key=bench HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let started = Instant::now();
            let status = writer
                .write_all(request.as_bytes())
                .and_then(|()| read_response(&mut reader).map(|(status, _)| status));
            match status {
                Ok(200) => {
                    tally.ok += 1;
                    tally
                        .latencies_us
                        .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                Ok(429 | 503) => tally.refused += 1,
                Ok(_) => tally.other += 1,
                Err(_) => {
                    tally.errors += 1;
                    continue 'reconnect;
                }
            }
        }
    }
    tally
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8001".into());
    let connections: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let events: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(50);

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|id| {
            let (addr, stop) = (addr.clone(), stop.clone());
            thread::spawn(move || connection(&addr, id, events, &stop))
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for worker in workers {
        if let Ok(t) = worker.join() {
            total.ok += t.ok;
            total.refused += t.refused;
            total.other += t.other;
            total.errors += t.errors;
            total.latencies_us.extend(t.latencies_us);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    total.latencies_us.sort_unstable();
    println!(
        r#"{{"connections":{connections},"seconds":{elapsed:.1},"events_per_batch":{events},"batches_ok":{},"events_per_s":{:.0},"batches_per_s":{:.0},"refused_503":{},"other_status":{},"connection_errors":{},"latency_ms":{{"p50":{:.2},"p90":{:.2},"p99":{:.2}}}}}"#,
        total.ok,
        total.ok as f64 * events as f64 / elapsed,
        total.ok as f64 / elapsed,
        total.refused,
        total.other,
        total.errors,
        percentile(&total.latencies_us, 0.50),
        percentile(&total.latencies_us, 0.90),
        percentile(&total.latencies_us, 0.99),
    );
}
