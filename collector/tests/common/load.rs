//! A real collector process and a load against it: for the crash, shutdown and outage tests.
//!
//! [`Collector`] runs the binary on a free loopback port; [`Load`] posts batches of fresh web
//! vitals from several threads, each on its own connection per request, and records which
//! events were acknowledged (200) and which statuses came back.
#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;

use super::now_ms;

/// The app name every load batch carries.
pub const LOAD_APP: &str = "load-test";
const LOADERS: usize = 4;
const EVENTS_PER_BATCH: usize = 10;

/// A collector process and the address it printed.
pub struct Collector {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Collector {
    /// Starts the binary with `--data-dir data_dir` and `extra` arguments (e.g. `--store`,
    /// `--tls-cert`: the announced address is taken with either scheme).
    pub fn start(data_dir: &Path, extra: &[String]) -> Collector {
        let mut child = Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("collector starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("collector prints its address");
        let announced = line.trim();
        let addr = announced
            .strip_prefix("perfwatch-collector listening on http://")
            .or_else(|| announced.strip_prefix("perfwatch-collector listening on https://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("an address");
        Collector { child, addr }
    }

    /// Waits until `/health` answers 200: the store answers and the server (with its signal
    /// handlers) runs.
    pub fn until_healthy(&self) {
        self.until_healthy_as(None);
    }

    /// [`Collector::until_healthy`] with `Authorization: Bearer <token>` (a collector with read
    /// tokens).
    pub fn until_healthy_as(&self, token: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let request = format!(
            "GET /api/v1/monitoring/health HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.addr
        );
        while exchange(self.addr, &request) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the collector never became healthy"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL.
    pub fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn sigterm(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("exits")
    }
}

/// A test that fails midway must not leave its collector running (nor the test harness waiting
/// on the pipe the collector holds).
impl Drop for Collector {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Posts `body` as a browser batch; the status code, or None when the connection failed.
pub fn post(addr: SocketAddr, body: &str) -> Option<u16> {
    let request = format!(
        "POST /api/v1/monitoring/frontend-metrics?key=pk_test HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, &request)
}

/// Sends `method path` with a JSON `body` (empty: none); the status code, or None when the
/// connection failed.
pub fn send_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<u16> {
    exchange(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// GETs `path`; the status code, or None when the connection failed.
pub fn get(addr: SocketAddr, path: &str) -> Option<u16> {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// GETs `path` and parses the answer's body as JSON; panics unless it is a 200.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let response = exchange_full(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .unwrap_or_else(|| panic!("GET {path}: no answer"));
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "GET {path}: {head}\n{body}"
    );
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// One HTTP/1.1 request on its own connection; the answer's status code.
fn exchange(addr: SocketAddr, request: &str) -> Option<u16> {
    exchange_full(addr, request)?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// One HTTP/1.1 request on its own connection; the whole answer.
fn exchange_full(addr: SocketAddr, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
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
    json!({"v": 1, "app": LOAD_APP, "session_id": session, "page_view_id": session,
           "url": "https://app.example/", "time_origin": now - 1000.0, "sent_at": now,
           "events": events})
    .to_string()
}

/// Loader threads posting batches until [`Load::finish`] or until the collector is gone.
pub struct Load {
    acked: Arc<Mutex<Vec<String>>>,
    acked_batches: Arc<AtomicUsize>,
    statuses: Arc<Mutex<HashMap<u16, usize>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts the loaders against `addr`.
    pub fn start(addr: SocketAddr) -> Load {
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let acked_batches = Arc::new(AtomicUsize::new(0));
        let statuses: Arc<Mutex<HashMap<u16, usize>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..LOADERS)
            .map(|loader| {
                let (acked, acked_batches, statuses, stop) = (
                    acked.clone(),
                    acked_batches.clone(),
                    statuses.clone(),
                    stop.clone(),
                );
                thread::spawn(move || {
                    let session = format!("s{loader}");
                    for n in 0.. {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        let ids: Vec<String> = (0..EVENTS_PER_BATCH)
                            .map(|e| format!("l{loader}-b{n}-e{e}"))
                            .collect();
                        let Some(status) = post(addr, &batch(&session, &ids)) else {
                            // The collector is gone (killed): nothing more to send.
                            break;
                        };
                        *statuses.lock().expect("lock").entry(status).or_default() += 1;
                        if status == 200 {
                            acked.lock().expect("lock").extend(ids);
                            acked_batches.fetch_add(1, Ordering::AcqRel);
                        } else {
                            // Refused (503): not acknowledged, may or may not be stored. Back
                            // off a little (a real client would wait Retry-After; the test
                            // wants to see the collector recover, not to wait).
                            thread::sleep(Duration::from_millis(20));
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            acked_batches,
            statuses,
            stop,
            threads,
        }
    }

    /// Batches acknowledged so far.
    pub fn acked_batches(&self) -> usize {
        self.acked_batches.load(Ordering::Acquire)
    }

    /// Waits until at least `n` batches were acknowledged in all.
    pub fn until_acked(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.acked_batches() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} batches acknowledged; statuses {:?}",
                self.acked_batches(),
                self.statuses()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many answers had each status code.
    pub fn statuses(&self) -> HashMap<u16, usize> {
        self.statuses.lock().expect("lock").clone()
    }

    /// Stops the loaders; the ids of every acknowledged event.
    pub fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads {
            thread.join().expect("loader");
        }
        let acked = self.acked.lock().expect("lock").clone();
        acked
    }
}

/// Asserts that every id in `acked` is among `stored`, and that nothing is stored twice.
pub fn assert_stored_exactly_once(stored: &[String], acked: &[String]) {
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
}
