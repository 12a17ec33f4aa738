//! Crash test: load generators post batches to a real collector process and record which were
//! acknowledged (200); the collector is killed with SIGKILL mid-load and restarted on the same
//! data; every acknowledged event must then be in the store, exactly once.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

const LOADERS: usize = 4;
const EVENTS_PER_BATCH: usize = 10;
/// Acknowledged batches to wait for before the kill, so that it lands mid-load.
const ACKED_BEFORE_KILL: usize = 100;

/// A collector process and the address it printed.
struct Collector {
    child: Child,
    addr: SocketAddr,
}

impl Collector {
    fn start(data_dir: &Path) -> Collector {
        let mut child = Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("collector starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("collector prints its address");
        let addr = line
            .trim()
            .strip_prefix("perfwatch-collector listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("an address");
        Collector { child, addr }
    }

    /// Waits until `/health` answers 200: the store opened and the server (with its signal
    /// handlers) runs.
    fn until_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(self.addr, "/api/v1/monitoring/health") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the collector never became healthy"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn sigterm(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("exits")
    }
}

/// Posts `body` as a browser batch; the status code, or None when the connection failed.
fn post(addr: SocketAddr, body: &str) -> Option<u16> {
    let request = format!(
        "POST /api/v1/monitoring/frontend-metrics?key=pk_test HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, &request)
}

/// GETs `path`; the status code, or None when the connection failed.
fn get(addr: SocketAddr, path: &str) -> Option<u16> {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// One HTTP/1.1 request on its own connection; the answer's status code.
fn exchange(addr: SocketAddr, request: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
        * 1000.0
}

/// A batch of web vitals whose metric ids (and event ids) are `ids`.
fn batch(session: &str, ids: &[String]) -> String {
    let now = now_ms();
    let events: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"type": "web_vital", "event_id": id, "name": "LCP", "value": 1234.5,
                   "delta": 1234.5, "id": id, "seq": 1, "rating": "good",
                   "navigation_type": "navigate"})
        })
        .collect();
    json!({"v": 1, "app": "crash-test", "session_id": session, "page_view_id": session,
           "url": "https://app.example/", "time_origin": now - 1000.0, "sent_at": now,
           "events": events})
    .to_string()
}

/// Runs the loaders against `collector` until [`ACKED_BEFORE_KILL`] batches are acknowledged,
/// then calls `interrupt` mid-load; returns the ids of every acknowledged event.
fn load_then(collector: Collector, interrupt: impl FnOnce(Collector)) -> Vec<String> {
    let addr = collector.addr;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let acked_batches = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let loaders: Vec<_> = (0..LOADERS)
        .map(|loader| {
            let (acked, acked_batches, stop) = (acked.clone(), acked_batches.clone(), stop.clone());
            thread::spawn(move || {
                let session = format!("s{loader}");
                for n in 0.. {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let ids: Vec<String> = (0..EVENTS_PER_BATCH)
                        .map(|e| format!("l{loader}-b{n}-e{e}"))
                        .collect();
                    match post(addr, &batch(&session, &ids)) {
                        Some(200) => {
                            acked.lock().expect("lock").extend(ids);
                            acked_batches.fetch_add(1, Ordering::AcqRel);
                        }
                        // Refused (503 while shutting down) or cut off: not acknowledged, may
                        // or may not be stored. Once the collector is gone, stop.
                        Some(_) => {}
                        None => break,
                    }
                }
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_batches.load(Ordering::Acquire) < ACKED_BEFORE_KILL {
        assert!(
            Instant::now() < deadline,
            "the collector acknowledged too few batches"
        );
        thread::sleep(Duration::from_millis(5));
    }
    interrupt(collector);
    stop.store(true, Ordering::Release);
    for loader in loaders {
        loader.join().expect("loader");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= ACKED_BEFORE_KILL * EVENTS_PER_BATCH);
    acked
}

/// Asserts that every id in `acked` is stored once in the SQLite database in `dir`, and that
/// nothing is stored twice.
fn assert_stored_exactly_once(dir: &Path, acked: &[String]) {
    let db = rusqlite::Connection::open(dir.join("perfwatch.db")).expect("open db");
    let stored: Vec<String> = db
        .prepare("SELECT metric_id FROM web_vitals WHERE app = 'crash-test'")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .expect("query");
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    let seen: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM seen_events WHERE app = 'crash-test'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(
        seen as usize,
        stored.len(),
        "one seen_events row per stored event"
    );
}

#[test]
fn acknowledged_events_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acked = load_then(Collector::start(dir.path()), Collector::sigkill);

    // The collector starts again on the data the kill left behind, and stops cleanly.
    let restarted = Collector::start(dir.path());
    restarted.until_healthy();
    assert!(
        restarted.sigterm().success(),
        "exit 0 on SIGTERM after recovery"
    );
    assert_stored_exactly_once(dir.path(), &acked);
}

#[test]
fn sigterm_mid_load_drains_commits_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = Collector::start(dir.path());
    collector.until_healthy();
    // actix gives in-flight requests 10 s and the writer drains a bounded queue, so the wait
    // is bounded; the test asserts the outcome, not a duration (machines here are noisy).
    let acked = load_then(collector, |collector| {
        let status = collector.sigterm();
        assert!(status.success(), "exit 0 on SIGTERM under load: {status}");
    });
    assert_stored_exactly_once(dir.path(), &acked);
}
