//! What the integration tests share: the backend started in-process, the real collector binary
//! started as a process (as tests/e2e/harness.mjs does), and a small HTTP client.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use perfwatch_example_backend::config::Config;
use perfwatch_example_backend::reporter::{Reporter, ReporterConfig};
use perfwatch_example_backend::simulate::Simulation;
use serde_json::Value;

/// A backend running in this test's actix system.
pub struct Backend {
    pub url: String,
    pub reporter: Reporter,
    pub handle: ServerHandle,
    /// Ends when the server has stopped and the reporter has flushed.
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Backend {
    /// Starts the backend with `simulation`, reporting with `reporter`, serving `static_dir`.
    pub fn start(simulation: Simulation, reporter: ReporterConfig, static_dir: &Path) -> Backend {
        let config = Config {
            simulation,
            reporter,
            static_dir: static_dir.to_path_buf(),
            ..Config::default()
        };
        let running = perfwatch_example_backend::start(config).expect("the backend starts");
        let url = format!("http://{}", running.addr);
        let (reporter, handle) = (running.reporter.clone(), running.handle.clone());
        let done = actix_web::rt::spawn(running.run());
        Backend {
            url,
            reporter,
            handle,
            done,
        }
    }

    /// Stops the server and waits until the reporter has sent (or dropped) what was left.
    pub async fn stop(self) -> Duration {
        let started = Instant::now();
        self.handle.stop(true).await;
        self.done
            .await
            .expect("the server task ends")
            .expect("the server ends cleanly");
        started.elapsed()
    }
}

/// Model calls that take 5 to 30 ms and fail at `failure_rate`.
pub fn quick(failure_rate: f64) -> Simulation {
    Simulation {
        latency_ms: 5..=30,
        failure_rate,
    }
}

/// A loopback address nothing listens on (a port just freed).
pub fn closed_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// A reporter aimed at a port nothing listens on, that never sends on its own (the records
/// stay in the buffer, where [`Reporter::waiting`] sees them).
pub fn idle_reporter() -> ReporterConfig {
    ReporterConfig {
        collector: format!("http://{}", closed_address()),
        batch_trigger: usize::MAX,
        interval: Duration::from_secs(3600),
        ..ReporterConfig::default()
    }
}

/// An answer: status, headers and body.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` with `body` and reads the whole answer.
pub async fn send(request: awc::ClientRequest, body: impl Into<Vec<u8>>) -> Reply {
    let mut response = request
        .timeout(Duration::from_secs(10))
        .send_body(body.into())
        .await
        .expect("the request is answered");
    let body = response
        .body()
        .limit(4 * 1024 * 1024)
        .await
        .expect("the body is read")
        .to_vec();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Reply {
        status: response.status().as_u16(),
        content_type,
        headers: response.headers().clone(),
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send(awc::Client::new().get(url), Vec::new()).await
}

pub async fn post_json(url: &str, body: &Value) -> Reply {
    send(
        awc::Client::new()
            .post(url)
            .insert_header(("content-type", "application/json")),
        body.to_string(),
    )
    .await
}

/// A directory holding a small built app: index.html, a script, a stylesheet and a module.
pub fn built_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let write = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("the folder");
        std::fs::write(path, body).expect("the file");
    };
    write(
        "index.html",
        b"<!doctype html><title>ai-hub</title><div id=root></div>",
    );
    write("assets/index-abc123.js", b"console.log('app');");
    write("assets/index-abc123.css", b"body { margin: 0 }");
    write("assets/perfwatch_bg.wasm", b"\0asm\x01\0\0\0");
    dir
}

/// The real collector, started from this workspace's binary.
pub struct Collector {
    pub url: String,
    child: Child,
    _data_dir: tempfile::TempDir,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/perfwatch-collector` beside this test's own executable
/// (`target/<profile>/deps/<test>`), built first if it is not there yet (as when only this
/// package's tests are run).
fn collector_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = profile_dir.join(format!(
        "perfwatch-collector{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !binary.is_file() {
        let target_dir = profile_dir.parent().expect("target/");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "perfwatch-collector",
                "--bin",
                "perfwatch-collector",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(target_dir)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building perfwatch-collector failed");
    }
    binary
}

impl Collector {
    /// Starts the collector on a free loopback port with a fresh data directory and waits for
    /// its "listening on" line.
    pub fn start() -> Collector {
        let data_dir = tempfile::tempdir().expect("a data directory");
        let mut child = Command::new(collector_binary())
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env_remove("PERFWATCH_CONFIG")
            .env_remove("PERFWATCH_WRITE_KEYS")
            .env_remove("PERFWATCH_READ_TOKENS")
            .env_remove("PERFWATCH_ADMIN_TOKENS")
            .env_remove("PERFWATCH_STORE")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the collector starts");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("perfwatch-collector listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the collector says where it listens within 30 s");
        Collector {
            url,
            child,
            _data_dir: data_dir,
        }
    }

    /// `GET path`'s envelope `data`, asserting success.
    pub async fn data(&self, path: &str) -> Value {
        let reply = get(&format!("{}{path}", self.url)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["success"], Value::Bool(true), "{body}");
        body["data"].clone()
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}
