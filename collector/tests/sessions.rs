//! `GET /api/v1/monitoring/sessions`: browser batches sent through ingest become sessions,
//! counted with their users, durations and page views; users of backend calls count as active
//! users; and the dashboard carries the same numbers.

mod common;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use serde_json::{json, Value};

/// A batch of session `session` (user `user`) whose page loaded `ago_ms` ago, holding the page
/// views `page_views` started then.
fn session_batch(session: &str, user: Value, ago_ms: f64, page_views: &[&str]) -> Value {
    let now = now_ms();
    let events: Vec<Value> = page_views
        .iter()
        .map(|id| json!({"type": "page_view", "page_view_id": id, "start_time": 0}))
        .collect();
    json!({
        "v": 1, "app": "ai-hub", "session_id": session, "page_view_id": page_views[0],
        "user_id": user, "url": "https://app.example/chat", "route": "/chat",
        "time_origin": now - ago_ms, "sent_at": now, "events": events
    })
}

#[actix_web::test]
async fn sessions_users_durations_and_page_views_are_counted() {
    let (_dir, app) = service!();
    for body in [
        session_batch("s1", json!("alice"), 90_000.0, &["a1", "a2", "a3"]),
        session_batch("s2", json!("bob"), 5_000.0, &["b1"]),
        session_batch("s3", Value::Null, 20_000.0, &["c1"]),
    ] {
        let reply = send(&app, post_batch(body.to_string()).to_request()).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let calls = json!({"calls": [{"endpoint": "/api/chat", "method": "POST", "status": 200,
                                  "duration_ms": 12.0, "user_id": "carol"}]});
    let reply = send(
        &app,
        TestRequest::post()
            .uri("/api/v1/monitoring/api-calls")
            .insert_header((CONTENT_TYPE, "application/json"))
            .set_payload(calls.to_string())
            .to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = get(&app, "/api/v1/monitoring/sessions?hours=1").await;
    let data = reply.data();
    assert_eq!(data["sessions_started"], json!(3), "{data}");
    assert_eq!(data["users"], json!(2));
    assert_eq!(data["anonymous_sessions"], json!(1));
    assert_eq!(data["page_views"]["total"], json!(5));
    // The sessions lasted from their page loads to their batches' arrival: about 90 s, 20 s
    // and 5 s.
    let max = data["duration_ms"]["max"].as_f64().unwrap_or_default();
    assert!((89_000.0..=91_500.0).contains(&max), "{data}");
    let bucket = |range: &str| {
        data["duration_distribution"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["range"] == json!(range)))
            .map(|b| b["sessions"].clone())
    };
    assert_eq!(bucket("0-10s"), Some(json!(1)));
    assert_eq!(bucket("10-30s"), Some(json!(1)));
    assert_eq!(bucket("1-3m"), Some(json!(1)));
    // Active now: three browser sessions; alice, bob, carol (backend) and the anonymous one.
    assert_eq!(
        data["active_users"],
        json!({"minutes": 5.0, "users": 4, "sessions": 3})
    );
    assert_eq!(data["inactivity_timeout_minutes"], json!(30.0));

    let dashboard = get(&app, "/api/v1/monitoring/dashboard?hours=1").await;
    let sessions = &dashboard.data()["sessions"];
    for key in [
        "sessions_started",
        "users",
        "page_views",
        "duration_distribution",
        "active_users",
    ] {
        assert_eq!(sessions[key], data[key], "{key}");
    }
}

#[actix_web::test]
async fn a_bad_window_is_refused_by_name() {
    let (_dir, app) = service!();
    for query in ["hours=abc", "hours=721", "from=yesterday"] {
        let reply = get(&app, &format!("/api/v1/monitoring/sessions?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        let name = query.split('=').next().unwrap_or_default();
        assert!(message.contains(name), "{query}: {message}");
    }
}
