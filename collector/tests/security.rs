//! The collector as the open internet meets it, through the real binary: keys, tokens,
//! origins, preflights, rate limits, erasure and the audit log; then a hostile-input suite
//! where every bad request gets its status and a message a person can act on, the collector
//! stays up, and the good events sent before, between and after are all stored.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::load::Collector;
use serde_json::{json, Value};

const WEB_KEY: &str = "pk_web_0123456789";
const BACKEND_KEY: &str = "pk_backend_0123456789";
const READ_SECRET: &str = "read-secret-0123456789";
const ADMIN_SECRET: &str = "admin-secret-0123456789";
const EXPIRED_SECRET: &str = "expired-secret-0123456789";
const APP_ORIGIN: &str = "https://app.example";
const DASH_ORIGIN: &str = "https://dash.example";
const EVIL_ORIGIN: &str = "https://evil.example";

/// An answer: status, head (lowercased) and body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim() == name).then(|| v.trim().to_owned())
        })
    }
}

/// One request on its own connection: `head` is the request line and headers (without the
/// blank line); `Content-Length` is added for `body` unless the head has a Transfer-Encoding.
fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
    if !head.to_ascii_lowercase().contains("transfer-encoding") {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    // A server may answer (413) and close before reading all of a large body.
    let _ = stream.write_all(&bytes);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer {
        status,
        head,
        body: response.get(split + 4..).unwrap_or_default().to_vec(),
    }
}

fn get(addr: SocketAddr, path: &str, extra: &str) -> Answer {
    send(addr, &format!("GET {path} HTTP/1.1{extra}"), b"")
}

fn bearer(secret: &str) -> String {
    format!("\r\nAuthorization: Bearer {secret}")
}

/// A browser batch of app `app` with `events`, sent now.
fn batch(app: &str, session: &str, events: Value) -> String {
    let now = common::now_ms();
    json!({"v": 1, "app": app, "session_id": session, "page_view_id": format!("{session}-pv"),
           "user_id": "u_42", "url": "https://app.example/chat?token=abc", "route": "/chat",
           "time_origin": now - 5000.0, "sent_at": now, "events": events})
    .to_string()
}

fn measure(event_id: &str) -> Value {
    json!({"type": "measure", "event_id": event_id, "name": "render", "start_time": 1.0,
           "duration": 12.5})
}

/// Posts a browser batch with the web key in `?key=`, from `origin` if given.
fn post_batch(addr: SocketAddr, body: &str, origin: Option<&str>) -> Answer {
    let origin = origin.map_or(String::new(), |o| format!("\r\nOrigin: {o}"));
    send(
        addr,
        &format!(
            "POST /api/v1/monitoring/frontend-metrics?key={WEB_KEY} HTTP/1.1\r\nContent-Type: text/plain;charset=UTF-8{origin}"
        ),
        body.as_bytes(),
    )
}

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("perfwatch.toml");
    std::fs::write(
        &path,
        format!(
            r#"read_tokens = ["grafana:{READ_SECRET}", "old-ci:{EXPIRED_SECRET}:expires=2020-01-01T00:00:00Z"]
admin_tokens = ["ops:{ADMIN_SECRET}"]
read_origins = ["{DASH_ORIGIN}"]
trusted_proxies = ["127.0.0.1/32"]
request_body_timeout_seconds = 2
{extra}

[[write_keys]]
key = "{WEB_KEY}"
app = "ai-hub"
origins = ["{APP_ORIGIN}"]

[[write_keys]]
key = "{BACKEND_KEY}"
origins = ["https://ops.example"]

[alerts]
default_rules = false
"#
        ),
    )
    .unwrap();
    path
}

fn start(dir: &Path, extra: &str) -> Collector {
    let config = write_config(dir, extra);
    let collector = Collector::start(dir, &["--config".into(), config.display().to_string()]);
    collector.until_healthy_as(Some(READ_SECRET));
    collector
}

#[test]
fn keys_tokens_and_origins_decide_who_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path(), "");
    let addr = collector.addr;
    let ingest = "POST /api/v1/monitoring/frontend-metrics HTTP/1.1\r\nContent-Type: text/plain";
    let good = batch("ai-hub", "s1", json!([measure("k1")]));

    // Ingest: no key, a wrong key, then the key in the header and in the query.
    let a = send(addr, ingest, good.as_bytes());
    assert_eq!((a.status, a.code().as_str()), (401, "unauthorized"));
    assert!(a.message().contains("write key"), "{}", a.message());
    let a = send(
        addr,
        &format!("{ingest}\r\nX-Perfwatch-Key: pk_wrong_000000"),
        good.as_bytes(),
    );
    assert_eq!(a.status, 401);
    assert!(
        !String::from_utf8_lossy(&a.body).contains("pk_wrong"),
        "never echoed"
    );
    let a = send(
        addr,
        &format!("{ingest}\r\nX-Perfwatch-Key: {WEB_KEY}"),
        good.as_bytes(),
    );
    assert_eq!(a.status, 200, "{:?}", a.json());
    assert_eq!(
        post_batch(addr, &batch("ai-hub", "s1", json!([measure("k2")])), None).status,
        200
    );

    // The key's origins: a forbidden page gets 403 (a text/plain post needs no preflight, so
    // the collector itself must say no), an allowed one gets in.
    let a = post_batch(addr, &good, Some(EVIL_ORIGIN));
    assert_eq!(
        (a.status, a.code().as_str()),
        (403, "forbidden"),
        "{:?}",
        a.json()
    );
    assert!(a.message().contains("evil.example"), "{}", a.message());
    let a = post_batch(
        addr,
        &batch("ai-hub", "s1", json!([measure("k3")])),
        Some(APP_ORIGIN),
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    // The key's app.
    let a = post_batch(
        addr,
        &batch("other-app", "s1", json!([measure("k4")])),
        None,
    );
    assert_eq!(a.status, 403);
    assert!(a.message().contains("`ai-hub`"), "{}", a.message());
    // The backend key, for backend records.
    let calls = json!({"calls": [{"endpoint": "/api/chat", "method": "POST", "status": 200,
                                  "duration_ms": 80.0, "user_id": "u_42", "service": "api"},
                                 {"endpoint": "/api/chat", "method": "POST", "status": 200,
                                  "duration_ms": 90.0, "user_id": "u_7", "service": "api"}]});
    let a = send(
        addr,
        &format!("POST /api/v1/monitoring/api-calls HTTP/1.1\r\nContent-Type: application/json\r\nX-Perfwatch-Key: {BACKEND_KEY}"),
        calls.to_string().as_bytes(),
    );
    assert_eq!(a.status, 200, "{:?}", a.json());

    // Reads: no token, a wrong one, a read token, an admin token; /metrics too.
    let path = "/api/v1/monitoring/api/stats?hours=1&group_by=user";
    let a = get(addr, path, "");
    assert_eq!(a.status, 401);
    assert_eq!(a.header("www-authenticate").as_deref(), Some("bearer"));
    let a = get(addr, path, &bearer("not-a-token-at-all-but-long"));
    assert_eq!(a.status, 401);
    assert!(
        !String::from_utf8_lossy(&a.body).contains("not-a-token"),
        "never echoed"
    );
    let a = get(addr, path, &bearer(EXPIRED_SECRET));
    assert_eq!((a.status, a.code().as_str()), (401, "token_expired"));
    assert!(a.message().contains("`old-ci`"), "{}", a.message());
    assert!(!String::from_utf8_lossy(&a.body).contains(EXPIRED_SECRET));
    assert_eq!(get(addr, path, &bearer(READ_SECRET)).status, 200);
    assert_eq!(get(addr, path, &bearer(ADMIN_SECRET)).status, 200);
    assert_eq!(get(addr, "/metrics", "").status, 401);
    assert_eq!(get(addr, "/metrics", &bearer(READ_SECRET)).status, 200);
    assert_eq!(
        get(addr, "/", "").status,
        200,
        "the dashboard page asks for a token itself"
    );
    // Its assets are public too (whichever the binary embeds: the npm build's, or none beside
    // the built-in page), while the data they show still needs a token.
    let page = send(addr, "HEAD / HTTP/1.1", b"");
    assert_eq!(page.status, 200);
    assert!(page.body.is_empty(), "HEAD has no body");
    let a = get(addr, "/assets/nope.js", "");
    assert_eq!((a.status, a.code().as_str()), (404, "not_found"));
    // (tests/dashboard_page.rs checks what the assets are served as.)
    let script = perfwatch_collector::dashboard_assets::ASSETS
        .iter()
        .find(|asset| asset.path.starts_with("assets/"));
    assert_eq!(
        script.is_some(),
        perfwatch_collector::dashboard_assets::FROM_NPM_BUILD
    );
    if let Some(asset) = script {
        assert_eq!(get(addr, &format!("/{}", asset.path), "").status, 200);
    }
    assert_eq!(
        get(addr, "/api/v1/monitoring/timeseries?hours=1", "").status,
        401
    );
    assert_eq!(
        get(
            addr,
            "/api/v1/monitoring/timeseries?hours=1",
            &bearer(READ_SECRET)
        )
        .status,
        200
    );
    // Read origins.
    let a = get(
        addr,
        path,
        &format!("{}\r\nOrigin: {EVIL_ORIGIN}", bearer(READ_SECRET)),
    );
    assert_eq!(a.status, 403);
    let a = get(
        addr,
        path,
        &format!("{}\r\nOrigin: {DASH_ORIGIN}", bearer(READ_SECRET)),
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("access-control-allow-origin").as_deref(),
        Some(DASH_ORIGIN)
    );

    // Preflights: answered for allowed origins, never for forbidden ones, never with credentials.
    let preflight = |path: &str, origin: &str, headers: &str| {
        send(
            addr,
            &format!("OPTIONS {path} HTTP/1.1\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: {headers}"),
            b"",
        )
    };
    let a = preflight(
        "/api/v1/monitoring/frontend-metrics",
        APP_ORIGIN,
        "content-type,x-perfwatch-key",
    );
    assert!(a.status < 300, "{}", a.head);
    assert_eq!(
        a.header("access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert!(a.header("access-control-allow-credentials").is_none());
    let a = preflight(
        "/api/v1/monitoring/frontend-metrics",
        EVIL_ORIGIN,
        "content-type",
    );
    assert_ne!(
        a.header("access-control-allow-origin").as_deref(),
        Some(EVIL_ORIGIN),
        "{}",
        a.head
    );
    let a = preflight(
        "/api/v1/monitoring/alerts/silences",
        DASH_ORIGIN,
        "authorization,content-type",
    );
    assert_eq!(
        a.header("access-control-allow-origin").as_deref(),
        Some(DASH_ORIGIN)
    );
    let a = preflight(
        "/api/v1/monitoring/alerts/silences",
        APP_ORIGIN,
        "authorization",
    );
    assert!(
        a.header("access-control-allow-origin").is_none(),
        "{}",
        a.head
    );

    // Admin: a read token may not, an admin token may; both land in the audit log by name.
    let silence =
        json!({"matchers": [{"name": "alertname", "value": "X"}], "duration": "1h"}).to_string();
    let admin_post = |secret: &str, path: &str, body: &str| {
        send(
            addr,
            &format!(
                "POST {path} HTTP/1.1\r\nContent-Type: application/json{}",
                bearer(secret)
            ),
            body.as_bytes(),
        )
    };
    let a = admin_post(READ_SECRET, "/api/v1/monitoring/alerts/silences", &silence);
    assert_eq!(a.status, 403);
    assert!(a.message().contains("admin token"), "{}", a.message());
    let a = admin_post(ADMIN_SECRET, "/api/v1/monitoring/alerts/silences", &silence);
    assert_eq!(a.status, 200, "{:?}", a.json());

    // Erasure: the user's calls and sessions go, another user's stay.
    let users = |addr| {
        let stats = get(addr, path, &bearer(READ_SECRET)).json();
        let mut keys: Vec<String> = stats["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["key"].as_str().map(str::to_owned))
            // (The collector's own calls have no user.)
            .filter(|k| k.starts_with("u_"))
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(users(addr), ["u_42", "u_7"]);
    let before = get(
        addr,
        "/api/v1/monitoring/sessions?hours=1",
        &bearer(READ_SECRET),
    )
    .json();
    assert_eq!(before["data"]["sessions_started"], 1, "{before:#}");
    let erase = |secret: &str| {
        send(
            addr,
            &format!(
                "DELETE /api/v1/monitoring/users/u_42 HTTP/1.1{}",
                bearer(secret)
            ),
            b"",
        )
    };
    assert_eq!(erase(READ_SECRET).status, 403);
    let a = erase(ADMIN_SECRET);
    assert_eq!(a.status, 200, "{:?}", a.json());
    assert!(
        a.json()["data"]["rows_deleted"].as_u64().unwrap() >= 4,
        "{:?}",
        a.json()
    );
    assert_eq!(users(addr), ["u_7"]);
    let sessions = get(
        addr,
        "/api/v1/monitoring/sessions?hours=1",
        &bearer(READ_SECRET),
    )
    .json();
    assert_eq!(
        sessions["data"]["sessions_started"], 0,
        "the user's session is gone: {sessions:#}"
    );

    let audit = get(addr, "/api/v1/monitoring/audit", &bearer(READ_SECRET)).json();
    let entries = audit["data"]["entries"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("user.erase", "ops"), ("silence.create", "ops")]);
    assert_eq!(entries[0]["target"], "u_42");
    let text = audit.to_string();
    assert!(!text.contains(ADMIN_SECRET) && !text.contains(READ_SECRET));
    assert!(collector.sigterm().success());
}

#[test]
fn clients_are_rate_limited_per_key_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(
        dir.path(),
        "rate_limit_per_key = { per_second = 1, burst = 3 }\nrate_limit_per_ip = { per_second = 1, burst = 2 }",
    );
    let addr = collector.addr;
    // Per key: three at once, then 429 with Retry-After.
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            post_batch(
                addr,
                &batch("ai-hub", "r", json!([measure(&format!("r{i}"))])),
                None,
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    let a = post_batch(addr, &batch("ai-hub", "r", json!([measure("r9")])), None);
    assert_eq!((a.status, a.code().as_str()), (429, "rate_limited"));
    assert_eq!(a.header("retry-after").as_deref(), Some("1"));
    assert!(a.message().contains("write key"), "{}", a.message());
    // Per address: loopback clients are not limited, but behind the trusted proxy (127.0.0.1)
    // the forwarded address is; another address has its own bucket.
    let read = |forwarded: &str| {
        get(
            addr,
            "/api/v1/monitoring/health",
            &format!("{}\r\nX-Forwarded-For: {forwarded}", bearer(READ_SECRET)),
        )
        .status
    };
    assert_eq!(
        [
            read("203.0.113.5"),
            read("203.0.113.5"),
            read("203.0.113.5")
        ],
        [200, 200, 429]
    );
    assert_eq!(read("198.51.100.8"), 200);
    for _ in 0..5 {
        assert_eq!(
            get(addr, "/api/v1/monitoring/health", &bearer(READ_SECRET)).status,
            200,
            "loopback"
        );
    }
    assert!(collector.sigterm().success());
}

/// `batch` with its field `key` set to `value` (removed when `value` is null).
fn with(batch: &str, key: &str, value: Value) -> Vec<u8> {
    let mut parsed: Value = serde_json::from_str(batch).unwrap();
    if value.is_null() {
        parsed.as_object_mut().unwrap().remove(key);
    } else {
        parsed[key] = value;
    }
    parsed.to_string().into_bytes()
}

#[test]
fn hostile_inputs_get_clear_errors_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start(dir.path(), "");
    let addr = collector.addr;
    let ingest = format!(
        "POST /api/v1/monitoring/frontend-metrics?key={WEB_KEY} HTTP/1.1\r\nContent-Type: text/plain"
    );
    assert_eq!(
        post_batch(
            addr,
            &batch("ai-hub", "h", json!([{"type": "page_view", "event_id": "pv-h", "navigation_type": "navigate", "start_time": 0}, measure("before")])),
            None
        )
        .status,
        200
    );

    let good = batch("ai-hub", "h", json!([measure("x")]));
    let huge_string = format!("{{\"v\":1,\"app\":\"{}\"}}", "a".repeat(10 << 20));
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let bomb = common::gzip(&vec![b' '; 50 << 20]);
    let mut invalid_utf8 = good.clone().into_bytes();
    invalid_utf8[30] = 0xff;
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", ingest.clone(), b"{\"v\": 1,".to_vec(), 400, "malformed_body"),
        ("truncated batch", ingest.clone(), good.as_bytes()[..good.len() / 2].to_vec(), 400, "malformed_body"),
        ("invalid UTF-8", ingest.clone(), invalid_utf8, 400, "malformed_body"),
        ("NaN", ingest.clone(), good.replace("12.5", "NaN").into_bytes(), 400, "malformed_body"),
        ("deep nesting", ingest.clone(), deep.into_bytes(), 400, "malformed_body"),
        ("a 10 MB string", ingest.clone(), huge_string.into_bytes(), 413, "payload_too_large"),
        ("a gzip bomb", format!("{ingest}\r\nContent-Encoding: gzip"), bomb, 413, "payload_too_large"),
        ("not gzip", format!("{ingest}\r\nContent-Encoding: gzip"), good.clone().into_bytes(), 400, "malformed_body"),
        ("an unknown encoding", format!("{ingest}\r\nContent-Encoding: zstd"), good.clone().into_bytes(), 415, "unsupported_encoding"),
        (
            "a wrong content type",
            format!("POST /api/v1/monitoring/frontend-metrics?key={WEB_KEY} HTTP/1.1\r\nContent-Type: image/png"),
            good.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            format!("POST /api/v1/monitoring/frontend-metrics?key={WEB_KEY} HTTP/1.1"),
            good.clone().into_bytes(),
            415,
            "unsupported_media_type",
        ),
        ("events not an array", ingest.clone(), with(&good, "events", json!({"a": 1})), 422, "invalid_batch"),
        ("no version", ingest.clone(), with(&good, "v", Value::Null), 422, "invalid_batch"),
        (
            "too many events",
            ingest.clone(),
            batch("ai-hub", "h", Value::Array((0..201).map(|i| measure(&format!("m{i}"))).collect())).into_bytes(),
            422,
            "invalid_batch",
        ),
        ("the app as a number", ingest.clone(), with(&good, "app", json!(5)), 422, "invalid_batch"),
    ];
    for (what, head, body, status, code) in cases {
        let a = send(addr, &head, &body);
        assert_eq!(
            (a.status, a.code().as_str()),
            (status, code),
            "{what}: {:?}",
            String::from_utf8_lossy(&a.body)
        );
        assert!(
            a.message().len() > 10,
            "{what}: a message a person can act on: {:?}",
            a.json()
        );
        assert!(
            a.message().len() < 1_000,
            "{what}: not an echo of the input"
        );
    }

    // Items the envelope allows but the rules do not: each refused with its index and reason,
    // the good ones in the same batch kept.
    let mixed = batch(
        "ai-hub",
        "h",
        json!([
            measure("mixed-good"),
            {"type": "measure", "event_id": "bad1", "name": "x", "start_time": 0, "duration": -5},
            {"type": "measure", "event_id": "bad2", "name": 7, "start_time": 0, "duration": 1},
            {"type": "web_vital", "event_id": "bad3", "name": "LCP", "value": 424242.5, "delta": 1,
             "id": "v1", "seq": 1, "rating": "good"},
            {"type": "long_task", "event_id": "bad4", "start_time": "soon", "duration": 60},
            {"type": "measure", "event_id": "bad5", "name": "x".repeat(3_000), "start_time": 0, "duration": 1},
            {"type": "teleport", "event_id": "bad6"}
        ]),
    );
    // JSON has no NaN or Infinity, but a number past f64's range is valid JSON.
    let mixed = mixed.replace("424242.5", "1e400");
    let a = send(addr, &ingest, mixed.as_bytes());
    assert_eq!(a.status, 200, "{:?}", String::from_utf8_lossy(&a.body));
    let data = a.json()["data"].clone();
    assert_eq!(data["accepted"], 1, "{data:#}");
    let rejected: Vec<u64> = data["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [1, 2, 3, 4, 5, 6], "{data:#}");
    for r in data["rejected"].as_array().unwrap() {
        assert!(r["reason"].as_str().unwrap().len() > 5, "{r}");
    }

    // A header block of 100 KB, and a chunked body that never ends: refused, cut off.
    let a = send(
        addr,
        &format!("{ingest}\r\nX-Padding: {}", "p".repeat(100 << 10)),
        good.as_bytes(),
    );
    assert_eq!(
        (a.status, a.code().as_str()),
        (431, "headers_too_large"),
        "{}",
        a.head
    );
    // Every endpoint that takes a body: the browser batches and OTLP's traces.
    let traces =
        format!("POST /v1/traces?key={WEB_KEY} HTTP/1.1\r\nContent-Type: application/json");
    for head in [ingest.as_str(), traces.as_str()] {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "{head}\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{{\"v\": 1, \"app\""
        )
        .unwrap();
        // Read until the answer is whole (the server may keep the socket until the client goes).
        let mut answer = String::new();
        let mut chunk = [0u8; 4096];
        while !answer.contains("}}") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
        assert!(answer.starts_with("HTTP/1.1 408"), "{head}: {answer}");
        // The envelope (`request_timeout`) or OTLP's google.rpc.Status, the same words.
        assert!(
            answer.contains("did not arrive within 2 s"),
            "{head}: {answer}"
        );
    }

    // Still up, and the good events before, between and after are all stored.
    assert_eq!(
        post_batch(addr, &batch("ai-hub", "h", json!([measure("after")])), None).status,
        200
    );
    assert_eq!(
        get(addr, "/api/v1/monitoring/health", &bearer(READ_SECRET)).status,
        200
    );
    assert!(collector.sigterm().success());
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["export", "--hours", "1"])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let text = String::from_utf8_lossy(&export.stdout);
    for id in ["before", "mixed-good", "after"] {
        assert!(
            text.contains(&format!("\"event_id\":\"{id}\"")),
            "{id} is stored:\n{text}"
        );
    }
    // The page URL was scrubbed again on the server with the SDK's rules.
    assert!(
        text.contains("\"url\":\"https://app.example/chat\""),
        "{text}"
    );
    assert!(!text.contains("token=abc"), "{text}");
    for id in ["bad1", "bad2", "bad3", "bad4", "bad5", "bad6"] {
        assert!(
            !text.contains(&format!("\"event_id\":\"{id}\"")),
            "{id} is not stored"
        );
    }
}
