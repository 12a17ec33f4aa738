//! The load of the soak test (`scripts/soak.sh`): good browser batches with bad requests mixed
//! in, against a running collector, and the check that what was acknowledged was stored once.
//!
//! ```text
//! soak probe  ADDR SECONDS                      unthrottled good batches: the sustainable rate
//! soak run    ADDR SECONDS RATE PID ACKED_FILE  RATE good batches/s plus bad requests; samples
//!                                               PID's resident memory every 10 s; writes the
//!                                               acknowledged event ids to ACKED_FILE
//! soak verify ACKED_FILE EXPORT_FILE            every acknowledged id stored exactly once
//! ```
//!
//! Each prints one JSON object and exits 1 when its rule is broken (a good request answered
//! other than 2xx, a bad one answered 5xx, an acknowledged event missing or stored twice, a
//! refused item stored). Plain HTTP/1.1 over `TcpStream`, as `loadgen.rs` and the tests'
//! `common/load.rs`: good batches on a keep-alive connection per thread, every bad request on
//! its own connection (the collector may answer an oversized one before reading it all).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};

#[path = "support/http1.rs"]
mod http1;
use http1::{now_ms, percentile, read_response};

/// The app of the soak's batches (the probe's are `soak-probe`, so they are not counted).
const APP: &str = "soak";
const PROBE_APP: &str = "soak-probe";
/// Web vitals per good batch.
const EVENTS: usize = 10;
/// Every this many good batches carries two bad items among its good ones.
const WITH_BAD_ITEMS_EVERY: u64 = 5;
/// Threads sending good batches (as many as the probe's connections, so that the paced load
/// can reach the rate the probe measured).
const GOOD_THREADS: usize = 8;
/// Connections of the unthrottled probe.
const PROBE_CONNECTIONS: usize = 8;
/// Bad requests per good batch.
const BAD_SHARE: f64 = 0.2;
const INGEST: &str = "/api/v1/monitoring/frontend-metrics";

/// A good batch of `app`: [`EVENTS`] web vitals whose metric and event ids are
/// `{prefix}-e{i}`, and, when `bad_items`, two items the collector must refuse (a negative
/// LCP and an unknown type) at indexes 3 and 7. Returns the body and the good ids.
fn good_batch(app: &str, session: &str, prefix: &str, bad_items: bool) -> (String, Vec<String>) {
    let now = now_ms();
    let mut ids = Vec::with_capacity(EVENTS);
    let mut events = Vec::with_capacity(EVENTS + 2);
    for i in 0..EVENTS {
        if bad_items && (i == 3 || i == 7) {
            let bad = format!("bad-{prefix}-{i}");
            events.push(if i == 3 {
                json!({"type": "web_vital", "event_id": bad, "name": "LCP", "value": -1.0,
                       "delta": -1.0, "id": bad, "seq": 1, "rating": "good"})
            } else {
                json!({"type": "teleport", "event_id": bad, "start_time": 1})
            });
        }
        let id = format!("{prefix}-e{i}");
        events.push(json!({"type": "web_vital", "event_id": id, "name": "LCP",
                           "value": 1000.5 + i as f64, "delta": 1.5, "id": id, "seq": 1,
                           "rating": "good", "navigation_type": "navigate"}));
        ids.push(id);
    }
    let body = json!({"v": 1, "app": app, "session_id": session, "page_view_id": session,
                      "url": "https://app.example/chat", "route": "/chat/:id",
                      "time_origin": now - 5000.0, "sent_at": now, "events": events});
    (body.to_string(), ids)
}

/// A request with `body` to `path`; `headers` end with `\r\n` each.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}{connection}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A keep-alive connection that reconnects when the server closed it.
struct Connection {
    addr: String,
    stream: Option<(TcpStream, BufReader<TcpStream>)>,
}

impl Connection {
    fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    fn open(&mut self) -> std::io::Result<&mut (TcpStream, BufReader<TcpStream>)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            let reader = BufReader::new(stream.try_clone()?);
            self.stream = Some((stream, reader));
        }
        self.stream
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// Sends `request` and reads the answer; a connection the server closed while idle is
    /// reopened once.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let mut last = None;
        for _ in 0..2 {
            let reused = self.stream.is_some();
            let result = self.open().and_then(|(writer, reader)| {
                writer.write_all(request)?;
                read_response(reader)
            });
            match result {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    self.stream = None;
                    if !reused {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no answer")))
    }
}

fn good_request(addr: &str, body: &str) -> Vec<u8> {
    request(
        addr,
        "POST",
        &format!("{INGEST}?key=soak"),
        "Content-Type: text/plain;charset=UTF-8\r\n",
        body.as_bytes(),
        false,
    )
}

// ---------------------------------------------------------------------------------------------
// probe

fn probe(addr: &str, seconds: u64) -> ExitCode {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let threads: Vec<_> = (0..PROBE_CONNECTIONS)
        .map(|id| {
            let (addr, stop) = (addr.to_owned(), stop.clone());
            thread::spawn(move || {
                let mut connection = Connection::new(&addr);
                let (mut ok, mut other) = (0u64, 0u64);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let prefix = format!("p{id}-b{n}");
                    let (body, _) = good_batch(PROBE_APP, &format!("probe-{id}"), &prefix, false);
                    match connection.exchange(&good_request(&addr, &body)) {
                        Ok((200, _)) => ok += 1,
                        _ => other += 1,
                    }
                }
                (ok, other)
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let (ok, other) = threads
        .into_iter()
        .filter_map(|t| t.join().ok())
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"connections": PROBE_CONNECTIONS, "seconds": elapsed, "events_per_batch": EVENTS,
               "batches_ok": ok, "batches_not_ok": other,
               "batches_per_s": (ok as f64 / elapsed).round()})
    );
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// run

#[derive(Default)]
struct GoodTally {
    sent: u64,
    ok: u64,
    with_bad_items: u64,
    /// Answers other than 2xx (0 for a connection error), and how many.
    failed: BTreeMap<u16, u64>,
    /// 200s whose `accepted` or `rejected` count was not the batch's.
    miscounted: u64,
    events_acked: u64,
    latencies_us: Vec<u32>,
}

fn good_sender(
    addr: &str,
    worker: usize,
    interval: Duration,
    until: Instant,
    acked: &Mutex<BufWriter<File>>,
) -> GoodTally {
    let mut tally = GoodTally::default();
    let mut connection = Connection::new(addr);
    let session = format!("soak-w{worker}");
    let started = Instant::now();
    for n in 0u64.. {
        // Paced: the n-th batch of this thread is due at n intervals after the start (a
        // late one goes at once, so the rate holds on average); none is sent after `until`,
        // so a load that falls behind shows as a lower rate reached, not a longer run.
        let due = started + interval.mul_f64(n as f64);
        if due >= until || Instant::now() >= until {
            break;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let bad_items = n % WITH_BAD_ITEMS_EVERY == WITH_BAD_ITEMS_EVERY - 1;
        let (body, ids) = good_batch(APP, &session, &format!("w{worker}-b{n}"), bad_items);
        tally.sent += 1;
        tally.with_bad_items += u64::from(bad_items);
        let sent_at = Instant::now();
        match connection.exchange(&good_request(addr, &body)) {
            Ok((status, answer)) if (200..300).contains(&status) => {
                tally
                    .latencies_us
                    .push(sent_at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                tally.ok += 1;
                let answer: Value = serde_json::from_slice(&answer).unwrap_or_default();
                let accepted = answer["data"]["accepted"].as_u64();
                let rejected = answer["data"]["rejected"].as_array().map(Vec::len);
                let expected_rejected = if bad_items { 2 } else { 0 };
                if accepted != Some(ids.len() as u64) || rejected != Some(expected_rejected) {
                    tally.miscounted += 1;
                }
                tally.events_acked += ids.len() as u64;
                if let Ok(mut file) = acked.lock() {
                    for id in &ids {
                        let _ = writeln!(file, "{id}");
                    }
                }
            }
            Ok((status, _)) => *tally.failed.entry(status).or_default() += 1,
            Err(_) => *tally.failed.entry(0).or_default() += 1,
        }
    }
    tally
}

/// The bad requests, each with what the contract answers it.
struct BadRequests {
    kinds: Vec<(&'static str, Vec<u8>, u16)>,
}

impl BadRequests {
    fn new(addr: &str) -> std::io::Result<Self> {
        let text = "Content-Type: text/plain;charset=UTF-8\r\n";
        let (good, _) = good_batch(APP, "soak-bad", "never-stored", false);
        let path = format!("{INGEST}?key=soak");
        // 8 MiB of one byte inflate far past the 64 KB limit from a few KB on the wire.
        let mut bomb = GzEncoder::new(Vec::new(), Compression::best());
        bomb.write_all(&vec![b' '; 8 << 20])?;
        let bomb = bomb.finish()?;
        let oversized = format!(
            r#"{{"v":1,"app":"soak","padding":"{}"}}"#,
            "x".repeat(70 * 1024)
        );
        let too_many = {
            let mut batch: Value = serde_json::from_str(&good).unwrap_or_default();
            batch["events"] = Value::Array(vec![json!({"type": "page_view"}); 201]);
            batch.to_string()
        };
        let post = |headers: &str, body: &[u8]| request(addr, "POST", &path, headers, body, true);
        let kinds = vec![
            (
                "malformed_json",
                post(text, br#"{"v":1,"events":[{"type":"#),
                400,
            ),
            ("not_an_object", post(text, b"[1,2,3]"), 400),
            (
                "bad_utf8",
                post(text, b"{\"v\":1,\"app\":\"\xff\xfe\"}"),
                400,
            ),
            (
                "wrong_content_type",
                post("Content-Type: application/xml\r\n", good.as_bytes()),
                415,
            ),
            ("oversized_body", post(text, oversized.as_bytes()), 413),
            (
                "gzip_bomb",
                post(&format!("{text}Content-Encoding: gzip\r\n"), &bomb),
                413,
            ),
            (
                "broken_gzip",
                post(
                    &format!("{text}Content-Encoding: gzip\r\n"),
                    b"\x1f\x8b\x08\x00garbage",
                ),
                400,
            ),
            ("too_many_events", post(text, too_many.as_bytes()), 422),
            (
                "unknown_path",
                request(
                    addr,
                    "POST",
                    "/api/v1/monitoring/nowhere",
                    text,
                    good.as_bytes(),
                    true,
                ),
                404,
            ),
        ];
        Ok(Self { kinds })
    }
}

#[derive(Default)]
struct BadTally {
    /// Per kind: status (0: the connection closed without an answer) and count.
    statuses: BTreeMap<&'static str, BTreeMap<u16, u64>>,
    server_errors: u64,
    unexpected: u64,
}

/// Sends one bad request on its own connection; its status, or 0 when the collector closed
/// the connection without answering (allowed for a body it refuses before reading it all).
fn send_bad(addr: &str, request: &[u8]) -> u16 {
    let Ok(stream) = TcpStream::connect(addr) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(reader) = stream.try_clone() else {
        return 0;
    };
    let mut writer = stream;
    // A write error is expected when the collector answers 413 before reading the body.
    let _ = writer.write_all(request);
    read_response(&mut BufReader::new(reader)).map_or(0, |(status, _)| status)
}

fn bad_sender(addr: &str, bad: &BadRequests, interval: Duration, until: Instant) -> BadTally {
    let mut tally = BadTally::default();
    let started = Instant::now();
    for n in 0usize.. {
        let due = started + interval.mul_f64(n as f64);
        if due >= until || Instant::now() >= until {
            break;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let (kind, request, expected) = &bad.kinds[n % bad.kinds.len()];
        let status = send_bad(addr, request);
        *tally
            .statuses
            .entry(*kind)
            .or_default()
            .entry(status)
            .or_default() += 1;
        if status >= 500 {
            tally.server_errors += 1;
        }
        if status != *expected && status != 0 {
            tally.unexpected += 1;
        }
    }
    tally
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn run(addr: &str, seconds: u64, rate: f64, pid: u32, acked_file: &str) -> ExitCode {
    let acked = match File::create(acked_file) {
        Ok(file) => Arc::new(Mutex::new(BufWriter::new(file))),
        Err(e) => {
            eprintln!("soak: cannot write {acked_file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bad = match BadRequests::new(addr) {
        Ok(bad) => Arc::new(bad),
        Err(e) => {
            eprintln!("soak: cannot build the bad requests: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rate = rate.max(1.0);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let good_interval = Duration::from_secs_f64(GOOD_THREADS as f64 / rate);
    let bad_interval = Duration::from_secs_f64(1.0 / (rate * BAD_SHARE).max(0.5));

    // Resident memory every 10 s, from the start to after the load.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        thread::spawn(move || {
            let mut samples = vec![];
            let mut next = Instant::now();
            while sampling.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    samples.push((next.duration_since(started).as_secs(), rss_kib(pid)));
                    next += Duration::from_secs(10);
                }
                thread::sleep(Duration::from_millis(100));
            }
            samples.push((started.elapsed().as_secs(), rss_kib(pid)));
            samples
        })
    };
    let good: Vec<_> = (0..GOOD_THREADS)
        .map(|worker| {
            let (addr, acked) = (addr.to_owned(), acked.clone());
            thread::spawn(move || good_sender(&addr, worker, good_interval, until, &acked))
        })
        .collect();
    let bad_thread = {
        let (addr, bad) = (addr.to_owned(), bad.clone());
        thread::spawn(move || bad_sender(&addr, &bad, bad_interval, until))
    };

    let mut total = GoodTally::default();
    for tally in good.into_iter().filter_map(|t| t.join().ok()) {
        total.sent += tally.sent;
        total.ok += tally.ok;
        total.with_bad_items += tally.with_bad_items;
        total.miscounted += tally.miscounted;
        total.events_acked += tally.events_acked;
        total.latencies_us.extend(tally.latencies_us);
        for (status, n) in tally.failed {
            *total.failed.entry(status).or_default() += n;
        }
    }
    let bad = bad_thread.join().unwrap_or_default();
    let elapsed = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    if let Ok(mut file) = acked.lock() {
        let _ = file.flush();
    }
    total.latencies_us.sort_unstable();

    let rss: Vec<u64> = samples.iter().filter_map(|(_, kib)| *kib).collect();
    let failed: u64 = total.failed.values().sum();
    let bad_sent: u64 = bad.statuses.values().flat_map(|s| s.values()).sum();
    let summary = json!({
        "seconds": elapsed,
        "good": {
            "target_per_s": rate, "sent": total.sent, "ok": total.ok,
            "per_s": total.ok as f64 / elapsed, "with_bad_items": total.with_bad_items,
            "not_2xx": failed, "not_2xx_statuses": total.failed,
            "miscounted_answers": total.miscounted, "events_acked": total.events_acked,
            "latency_ms": {"p50": percentile(&total.latencies_us, 0.5),
                           "p99": percentile(&total.latencies_us, 0.99),
                           "max": percentile(&total.latencies_us, 1.0)},
        },
        "bad": {"sent": bad_sent, "per_s": bad_sent as f64 / elapsed,
                "statuses": bad.statuses, "server_errors": bad.server_errors,
                "unexpected_status": bad.unexpected},
        "rss_kib": {"start": rss.first(), "max": rss.iter().max(), "end": rss.last(),
                    "samples": samples.iter().map(|(s, k)| json!([s, k])).collect::<Vec<_>>()},
    });
    println!("{summary}");
    if failed > 0 || total.miscounted > 0 || bad.server_errors > 0 || total.ok == 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// verify

fn verify(acked_file: &str, export_file: &str) -> ExitCode {
    let read = |path: &str| {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| eprintln!("soak: cannot read {path}: {e}"))
    };
    let (Ok(acked), Ok(export)) = (read(acked_file), read(export_file)) else {
        return ExitCode::FAILURE;
    };
    let acked: HashSet<String> = acked.lines().map_while(Result::ok).collect();
    let mut stored: HashMap<String, u64> = HashMap::new();
    for line in export.lines().map_while(Result::ok) {
        let Ok(row) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if row["type"] == "web_vital" && row["app"] == APP {
            if let Some(id) = row["metric_id"].as_str() {
                *stored.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    let missing = acked.iter().filter(|id| !stored.contains_key(*id)).count();
    let twice = stored.values().filter(|n| **n > 1).count();
    let refused_stored = stored.keys().filter(|id| id.starts_with("bad-")).count();
    let not_acked = stored.keys().filter(|id| !acked.contains(*id)).count();
    println!(
        "{}",
        json!({"acked": acked.len(), "stored": stored.values().sum::<u64>(),
               "missing": missing, "stored_twice": twice, "refused_items_stored": refused_stored,
               "stored_not_acked": not_acked})
    );
    if missing > 0 || twice > 0 || refused_stored > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: soak probe ADDR SECONDS | soak run ADDR SECONDS RATE PID ACKED_FILE | \
         soak verify ACKED_FILE EXPORT_FILE"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["probe", addr, seconds] => match seconds.parse() {
            Ok(seconds) => probe(addr, seconds),
            Err(_) => usage(),
        },
        ["run", addr, seconds, rate, pid, acked] => {
            match (seconds.parse(), rate.parse(), pid.parse()) {
                (Ok(seconds), Ok(rate), Ok(pid)) => run(addr, seconds, rate, pid, acked),
                _ => usage(),
            }
        }
        ["verify", acked, export] => verify(acked, export),
        _ => usage(),
    }
}
