//! Helpers shared by the integration tests: the app over a fresh SQLite store, realistic
//! batches, assertions on the JSON envelope, and ([`postgres`]) a real PostgreSQL server.
#![allow(dead_code)] // each test binary uses its own part of these helpers

pub mod certs;
pub mod load;
pub mod postgres;

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use std::sync::Arc;

use perfwatch_collector::ingest_queue::{IngestQueue, QueueLimits};
use perfwatch_collector::store::{SharedStore, SqliteStore};
use perfwatch_collector::system::SystemInfo;
use perfwatch_collector::AppState;
use serde_json::{json, Value};
use tempfile::TempDir;

pub const INGEST: &str = "/api/v1/monitoring/frontend-metrics";
pub const HEALTH: &str = "/api/v1/monitoring/health";
pub const VITALS: &str = "/api/v1/monitoring/frontend/vitals";
pub const SYSTEM_INFO: &str = "/api/v1/monitoring/system/info";

/// A fresh data directory and a SQLite store in it (keep the directory alive).
pub fn fresh_store() -> (TempDir, SharedStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: SharedStore =
        Arc::new(SqliteStore::open(&dir.path().join("perfwatch.db")).expect("store"));
    (dir, store)
}

/// A fresh data directory and the state over a SQLite store in it, with its writer thread
/// running (keep the directory alive).
pub fn fresh_state() -> (TempDir, AppState) {
    let (dir, store) = fresh_store();
    (dir, state_over(store))
}

/// The state over `store`, with its writer thread running.
pub fn state_over(store: SharedStore) -> AppState {
    let (queue, _writer) =
        IngestQueue::start(Arc::clone(&store), QueueLimits::default()).expect("writer thread");
    AppState::new(store, queue, SystemInfo::gather())
}

/// The service the binary runs, over a fresh store: `let (_dir, app) = service!();`.
#[macro_export]
macro_rules! service {
    () => {{
        let (dir, state) = common::fresh_state();
        (
            dir,
            actix_web::test::init_service(perfwatch_collector::app(state)).await,
        )
    }};
}

/// Epoch milliseconds now.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
        * 1000.0
}

/// A batch of `events` from session `s1`, page view `p1`, sent now by a page loaded 5 s ago.
pub fn batch(events: Value) -> Value {
    let now = now_ms();
    json!({
        "v": 1, "app": "ai-hub", "release": "1.4.2", "session_id": "s1", "page_view_id": "p1",
        "user_id": "u_42", "url": "https://app.example/chat/7", "route": "/chat/:id",
        "time_origin": now - 5000.0, "sent_at": now, "events": events
    })
}

/// A web vital report in web-vitals' shape.
pub fn vital(name: &str, value: f64, id: &str, seq: u32) -> Value {
    json!({"type": "web_vital", "name": name, "value": value, "delta": value, "id": id,
           "seq": seq, "rating": "good", "navigation_type": "navigate", "attribution": {}})
}

/// A page view starting now.
pub fn page_view(page_view_id: &str, route: &str) -> Value {
    json!({"type": "page_view", "page_view_id": page_view_id, "route": route,
           "url": format!("https://app.example{route}"), "navigation_type": "navigate",
           "start_time": 0})
}

/// The body of `POST /ai-calls`: one small gpt-4o call per entry of `users`, at `at_ms`, by
/// that user: the erasure tests' data.
pub fn ai_calls_by(users: &[&str], at_ms: i64) -> Value {
    let calls: Vec<Value> = users
        .iter()
        .map(|user| {
            json!({"model": "gpt-4o", "provider": "openai", "input_tokens": 100,
                   "output_tokens": 10, "duration_ms": 300.0, "user_id": user,
                   "timestamp": at_ms})
        })
        .collect();
    json!({ "calls": calls })
}

/// gzip-compresses `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A batch POST as `sendBeacon` sends it (`text/plain;charset=UTF-8`).
pub fn post_batch(body: impl Into<Vec<u8>>) -> TestRequest {
    post_raw(body).insert_header((CONTENT_TYPE, "text/plain;charset=UTF-8"))
}

/// A POST to the ingest endpoint without any header.
pub fn post_raw(body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post().uri(INGEST).set_payload(body.into())
}

/// A gzip-encoded batch POST.
pub fn post_gzip(body: &[u8]) -> TestRequest {
    post_batch(gzip(body)).insert_header((CONTENT_ENCODING, "gzip"))
}

/// An answer, its body parsed as JSON (`Value::Null` when it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// A header's value as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The envelope's `data`, asserting a 200 success.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(self.json["success"], json!(true), "{}", self.text);
        assert_eq!(self.header("content-type"), "application/json");
        &self.json["data"]
    }
}

/// Sends `req` to `app` and reads the whole answer.
pub async fn send<S, R, B>(app: &S, req: R) -> Reply
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = match app.call(req).await {
        Ok(res) => res,
        Err(err) => panic!("the service failed instead of answering: {err}"),
    };
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// GETs `uri`.
pub async fn get<S, B>(app: &S, uri: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    send(app, TestRequest::get().uri(uri).to_request()).await
}
