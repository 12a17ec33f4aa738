//! The errors pages report (`error` events): taken from browser batches item by item, stored
//! once per event id, grouped by kind, name and message in `GET /frontend/vitals` (and the
//! dashboard's `frontend_vitals`), and counted by kind in `/metrics`.

mod common;

use actix_web::http::StatusCode;
use common::*;
use serde_json::{json, Value};

/// A batch of `events` from session `session` (otherwise [`batch`]'s).
fn batch_of(session: &str, events: Value) -> String {
    let mut body = batch(events);
    body["session_id"] = json!(session);
    body.to_string()
}

fn render_error(event_id: &str, start_time: f64) -> Value {
    json!({"type": "error", "kind": "render", "name": "TypeError",
           "message": "Cannot read properties of undefined (reading 'id')",
           "stack": format!("TypeError: Cannot read properties of undefined (reading 'id')\n    at ChatView (https://app.example/assets/index.js:1:{start_time})"),
           "component_stack": "\n    in ChatView\n    in ErrorBoundary\n    in App",
           "start_time": start_time, "event_id": event_id})
}

#[actix_web::test]
async fn errors_are_stored_once_grouped_in_the_vitals_and_counted_by_kind() {
    let (dir, app) = service!();
    let first = batch_of(
        "s1",
        json!([
            page_view("p1", "/chat/:id"),
            render_error("e1", 100.0),
            {"type": "error", "kind": "render", "message": "no stack here", "event_id": "bad",
             "stack": "at f\u{1b}[31m"},
            render_error("e2", 200.0),
            {"type": "error", "kind": "unhandledrejection", "message": "",
             "start_time": 300, "event_id": "e3"},
            {"type": "error", "message": "kind is missing", "event_id": "bad2"},
            {"type": "error", "kind": "chunk-load", "name": "ChunkLoadError",
             "message": "Loading chunk 7 failed.\n(error: https://app.example/7.js)",
             "start_time": 400, "event_id": "e4"},
        ]),
    );
    // Delivered twice (a retry after a lost answer): each error is stored once.
    for _ in 0..2 {
        let reply = send(&app, post_batch(first.clone()).to_request()).await;
        let data = reply.data();
        assert_eq!(data["accepted"], json!(5), "{}", reply.text);
        let rejected: Vec<(Value, String)> = data["rejected"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let reason = r["reason"].as_str().unwrap_or_default().to_owned();
                (r["index"].clone(), reason)
            })
            .collect();
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        assert_eq!(rejected[0].0, json!(2));
        assert!(rejected[0].1.contains("`stack`"), "{rejected:?}");
        assert_eq!(rejected[1].0, json!(5));
        assert!(rejected[1].1.contains("`kind`"), "{rejected:?}");
    }
    // The same render error in another session, later.
    let second = batch_of("s2", json!([render_error("e1", 900.0)]));
    assert_eq!(
        send(&app, post_batch(second).to_request()).await.data()["accepted"],
        json!(1)
    );

    let now = now_ms();
    let reply = get(&app, &format!("{VITALS}?hours=1")).await;
    let data = reply.data();
    let errors = &data["errors"];
    assert_eq!(errors["count"], json!(5), "{errors}");
    assert_eq!(errors["sessions_affected"], json!(2), "{errors}");
    let groups = errors["groups"].as_array().cloned().unwrap_or_default();
    let listed: Vec<(Value, Value, Value)> = groups
        .iter()
        .map(|g| (g["kind"].clone(), g["name"].clone(), g["count"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("render"), json!("TypeError"), json!(3)),
            (json!("chunk-load"), json!("ChunkLoadError"), json!(1)),
            (json!("unhandledrejection"), Value::Null, json!(1)),
        ],
        "{errors}"
    );
    let render = &groups[0];
    assert_eq!(
        render["message"],
        json!("Cannot read properties of undefined (reading 'id')")
    );
    assert_eq!(render["sessions_affected"], json!(2));
    // The sample is the latest: session s2's, thrown 900 ms after its page's origin.
    assert!(
        render["sample_stack"]
            .as_str()
            .is_some_and(|stack| stack.ends_with("index.js:1:900)")),
        "{render}"
    );
    assert_eq!(
        render["sample_component_stack"],
        json!("\n    in ChatView\n    in ErrorBoundary\n    in App")
    );
    let last_seen = render["last_seen_at"].as_f64().unwrap_or_default();
    assert!((now - last_seen).abs() < 60_000.0, "{last_seen} vs {now}");
    assert_eq!(
        groups[1]["message"],
        json!("Loading chunk 7 failed.\n(error: https://app.example/7.js)"),
        "a message keeps its lines"
    );
    assert_eq!(groups[1]["sample_stack"], Value::Null, "it had none");
    assert_eq!(groups[2]["message"], json!(""));
    // Errors are neither timings nor vitals: those lists stay as they were.
    assert_eq!(data["api_calls"], json!([]));
    assert_eq!(data["page_views"], json!(1));

    // The dashboard's frontend_vitals is the same answer.
    let dashboard = get(&app, "/api/v1/monitoring/dashboard?hours=1").await;
    assert_eq!(
        dashboard.data()["frontend_vitals"]["errors"]["count"],
        json!(5)
    );

    // Stored with their page, release and user.
    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    let stored: (String, String, String, String, i64) = conn
        .query_row(
            "SELECT route, url, release, user_id, COUNT(*) FROM browser_errors
             WHERE session_id = 's1' AND kind = 'render'",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .expect("the render errors");
    assert_eq!(
        stored,
        (
            "/chat/:id".to_owned(),
            "https://app.example/chat/7".to_owned(),
            "1.4.2".to_owned(),
            "u_42".to_owned(),
            2
        )
    );

    // /metrics counts accepted errors by kind (a retried batch's again, as every accepted
    // event is); kinds the SDK does not send share `other`.
    let text = get(&app, "/metrics").await.text;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("a valid exposition");
    let errors_of = |kind: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "perfwatch_browser_errors_total" && s.labels.get("kind") == Some(kind)
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{kind} missing:\n{text}"))
    };
    assert_eq!(errors_of("render"), 5.0);
    assert_eq!(errors_of("unhandledrejection"), 2.0);
    assert_eq!(errors_of("unhandled"), 0.0, "listed before any arrives");
    assert_eq!(errors_of("other"), 2.0);
    let kinds = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "perfwatch_browser_errors_total")
        .count();
    assert_eq!(kinds, 4, "a fixed label set");
}

#[actix_web::test]
async fn a_window_without_errors_answers_zeros_and_the_limits_are_published() {
    let (_dir, app) = service!();
    let reply = get(&app, &format!("{VITALS}?hours=1")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.data()["errors"],
        json!({"count": 0, "sessions_affected": 0, "groups": []})
    );
    let health = get(&app, HEALTH).await;
    let limits = &health.data()["limits"];
    assert_eq!(
        (&limits["message_bytes"], &limits["stack_bytes"]),
        (&json!(2048), &json!(16384)),
        "{limits}"
    );
}
