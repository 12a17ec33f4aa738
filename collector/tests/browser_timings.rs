//! A page's timings of its own API calls (`api_call`), interactions (`interaction`) and work
//! (`measure`): taken from browser batches, stored once per event id, listed beside the web
//! vitals, and kept apart from backend API calls.

mod common;

use actix_web::http::StatusCode;
use common::*;
use serde_json::{json, Value};

#[actix_web::test]
async fn timings_are_stored_once_listed_by_name_and_kept_apart_from_backend_calls() {
    let (dir, app) = service!();
    let body = batch(json!([
        page_view("p1", "/chat/:id"),
        {"type": "api_call", "name": "GET /models", "method": "GET",
         "url": "https://api.example/v1/models", "status": 200, "ok": true,
         "start_time": 100, "duration": 80.0, "event_id": "c1"},
        {"type": "api_call", "name": "GET /models", "status": 200, "start_time": 300,
         "duration": 120.0, "event_id": "c2"},
        {"type": "api_call", "name": "POST /chat", "status": 0, "ok": false, "start_time": 400,
         "duration": 30000.0, "event_id": "c3"},
        {"type": "interaction", "name": "open-chat", "start_time": 500, "duration": 41.0,
         "event_id": "i1"},
    ]))
    .to_string();
    for _ in 0..2 {
        let reply = send(&app, post_batch(body.clone()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(5), "{}", reply.text);
    }

    let reply = get(&app, "/api/v1/monitoring/frontend/vitals?hours=1").await;
    let data = reply.data();
    let calls = data["api_calls"].as_array().cloned().unwrap_or_default();
    assert_eq!(calls.len(), 2, "{data}");
    assert_eq!(calls[0]["name"], json!("GET /models"));
    assert_eq!(calls[0]["count"], json!(2), "delivered twice, stored once");
    assert_eq!(calls[0]["failure_rate_percent"], json!(0.0));
    assert_eq!(calls[0]["duration_ms"]["max"], json!(120.0));
    assert_eq!(calls[1]["name"], json!("POST /chat"));
    assert_eq!(calls[1]["failure_rate_percent"], json!(100.0));
    assert_eq!(
        data["interactions"],
        json!([{"name": "open-chat", "count": 1, "failure_rate_percent": 0.0,
                "duration_ms": {"avg": 41.0, "p50": 41.0, "p75": 41.0, "p90": 41.0,
                                "p95": 41.0, "p99": 41.0, "max": 41.0}}])
    );

    // Not backend calls: the API statistics stay empty.
    let api = get(&app, "/api/v1/monitoring/api/stats?hours=1").await;
    assert_eq!(api.data()["total_requests"], json!(0));
    // The called URL did not become the page's.
    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    let urls: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM page_views WHERE url LIKE '%api.example%'",
            [],
            |row| row.get(0),
        )
        .expect("query");
    assert_eq!(urls, 0);
}

#[actix_web::test]
async fn a_bad_timing_is_refused_alone() {
    let (_dir, app) = service!();
    let body = batch(json!([
        {"type": "api_call", "name": "GET /x", "status": 999, "duration": 1.0},
        {"type": "interaction", "name": "x".repeat(10_000), "duration": 1.0},
        {"type": "interaction", "name": "ok", "duration": 1.0},
    ]));
    let reply = send(&app, post_batch(body.to_string()).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.data()["accepted"], json!(1));
    let reasons: Vec<String> = reply.data()["rejected"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(reasons[0].contains("status"), "{reasons:?}");
    assert!(reasons[1].contains("name"), "{reasons:?}");
}

#[actix_web::test]
async fn measures_are_listed_and_thrown_calls_and_interactions_count_as_failed() {
    let (dir, app) = service!();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let body = batch(json!([
        {"type": "measure", "name": "chat-render", "start_time": 0, "duration": 12.5,
         "event_id": "m1"},
        {"type": "measure", "name": "chat-render", "start_time": 50, "duration": 20.0,
         "event_id": "m2"},
        {"type": "measure", "name": "parse-answer", "start_time": 60, "duration": 3.0,
         "event_id": "m3"},
        {"type": "interaction", "name": "send", "start_time": 100, "duration": 4.0, "ok": false,
         "event_id": "i1"},
        {"type": "interaction", "name": "send", "start_time": 200, "duration": 6.0, "ok": true,
         "event_id": "i2"},
        {"type": "api_call", "name": "POST /chat", "status": 0, "ok": false, "start_time": 300,
         "duration": 9.0, "error_type": "TypeError", "trace_id": trace_id, "event_id": "c1"},
        {"type": "api_call", "name": "POST /chat", "status": 200, "start_time": 400,
         "duration": 9.0, "trace_id": "0".repeat(32), "event_id": "c2"},
    ]))
    .to_string();
    for _ in 0..2 {
        let reply = send(&app, post_batch(body.clone()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(6), "{}", reply.text);
        let rejected = &reply.data()["rejected"];
        assert_eq!(rejected[0]["index"], json!(6), "{rejected}");
        assert!(
            rejected[0]["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("`trace_id`")),
            "{rejected}"
        );
    }

    let reply = get(&app, "/api/v1/monitoring/frontend/vitals?hours=1").await;
    let data = reply.data();
    let measures = data["measures"].as_array().cloned().unwrap_or_default();
    let listed: Vec<(Value, Value)> = measures
        .iter()
        .map(|m| (m["name"].clone(), m["count"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("chat-render"), json!(2)),
            (json!("parse-answer"), json!(1))
        ],
        "{data}"
    );
    assert_eq!(measures[0]["failure_rate_percent"], json!(0.0));
    assert_eq!(measures[0]["duration_ms"]["max"], json!(20.0));
    assert_eq!(data["interactions"][0]["name"], json!("send"));
    assert_eq!(data["interactions"][0]["count"], json!(2));
    assert_eq!(data["interactions"][0]["failure_rate_percent"], json!(50.0));
    assert_eq!(data["api_calls"][0]["name"], json!("POST /chat"));
    assert_eq!(data["api_calls"][0]["count"], json!(1));
    assert_eq!(data["api_calls"][0]["failure_rate_percent"], json!(100.0));

    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    let (error_type, stored_trace_id): (String, String) = conn
        .query_row(
            "SELECT detail, trace_id FROM browser_timings WHERE event_id = 'c1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the thrown call");
    assert_eq!(
        (error_type.as_str(), stored_trace_id.as_str()),
        ("TypeError", trace_id)
    );
}
