//! A page's performance timeline entries (`long_task`, `long_animation_frame`, `resource`):
//! checked item by item, stored once per event id, and summed up beside the web vitals in
//! `GET /frontend/vitals` (long tasks, long animation frames and their scripts, the slowest
//! resources). The same path over SQLite and over PostgreSQL.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use common::postgres::{on_plain_thread, test_db};
use common::*;
use perfwatch_collector::config::StoreLocation;
use perfwatch_collector::store;
use serde_json::{json, Value};

/// Long tasks on two page views, four frames (three naming their longest script), five
/// resource loads; each with an event id. Then one bad item of each kind.
fn entries_batch() -> Value {
    let task = |id: &str, page_view: &str, start: f64, duration: f64| {
        json!({"type": "long_task", "event_id": id, "page_view_id": page_view,
               "start_time": start, "duration": duration, "name": "self"})
    };
    let frame = |id: &str, duration: f64, blocking: f64, script: Option<(&str, f64)>| {
        let mut frame = json!({"type": "long_animation_frame", "event_id": id,
                               "start_time": 1000, "duration": duration,
                               "blocking_duration": blocking, "render_start": 1100});
        if let Some((url, ms)) = script {
            frame["script_url"] = json!(url);
            frame["script_duration"] = json!(ms);
            frame["script_invoker"] = json!("BUTTON#send.onclick");
        }
        frame
    };
    let resource = |id: &str, url: &str, initiator: &str, duration: f64, size: u64| {
        json!({"type": "resource", "event_id": id, "name": url, "initiator_type": initiator,
               "start_time": 50, "duration": duration, "transfer_size": size,
               "response_status": 200, "render_blocking_status": "non-blocking",
               "protocol": "h2"})
    };
    batch(json!([
        page_view("p1", "/chat/:id"),
        task("t1", "p1", 100.0, 120.0),
        task("t2", "p1", 400.0, 60.0),
        task("t3", "p2", 900.0, 250.0),
        frame("f1", 180.0, 90.0, Some(("https://app.example/main.js?v=1", 70.0))),
        frame("f2", 120.0, 40.0, Some(("https://app.example/main.js?v=2", 50.0))),
        frame("f3", 300.0, 200.0, Some(("https://cdn.example/vendor.js", 250.0))),
        frame("f4", 60.0, 0.0, None),
        resource("r1", "https://cdn.example/hero.png?w=800", "img", 400.0, 50_000),
        resource("r2", "https://cdn.example/hero.png?w=800", "img", 420.0, 50_000),
        resource("r3", "https://app.example/app.js", "script", 150.0, 120_000),
        resource("r4", "https://app.example/app.css", "link", 80.0, 0),
        resource("r5", "https://fonts.example/inter.woff2", "css", 600.0, 30_000),
        // Index 13 to 15: one bad item of each kind.
        {"type": "long_task", "event_id": "bad-t", "start_time": 10, "duration": -5},
        {"type": "long_animation_frame", "event_id": "bad-f", "duration": 100,
         "blocking_duration": 200},
        {"type": "resource", "event_id": "bad-r", "name": "https://x.example/a.js",
         "initiator_type": "script", "duration": 10, "response_status": 700},
    ]))
}

/// Posts [`entries_batch`] twice and checks what is kept, what is refused and why, and what
/// `/frontend/vitals` makes of it.
async fn entries_are_kept_rejected_and_counted_once<S, B>(app: &S)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = entries_batch().to_string();
    // A retry after a lost answer: the same event ids, stored once.
    for _ in 0..2 {
        let reply = send(app, post_batch(body.clone()).to_request()).await;
        let data = reply.data();
        assert_eq!(data["accepted"], json!(13), "{}", reply.text);
        let rejected: Vec<(u64, &str)> = data["rejected"]
            .as_array()
            .expect("a list of rejections")
            .iter()
            .map(|r| {
                (
                    r["index"].as_u64().expect("an index"),
                    r["reason"].as_str().expect("a reason"),
                )
            })
            .collect();
        assert_eq!(
            rejected,
            [
                (13, "`duration` must not be negative, got -5"),
                (
                    14,
                    "the record contradicts itself: `blocking_duration` must not exceed `duration`"
                ),
                (
                    15,
                    "`response_status` is 700; it must be between 100 and 599"
                ),
            ]
        );
    }

    let data = get(app, &format!("{VITALS}?hours=1")).await.data().clone();

    let tasks = &data["long_tasks"];
    assert_eq!(tasks["count"], json!(3), "{tasks}");
    assert_eq!(tasks["page_views_with_long_tasks"], json!(2));
    // 120, 60 and 250 ms block for 70, 10 and 200 ms.
    assert_eq!(tasks["total_blocking_ms"], json!(280.0));
    // Nearest rank 3 of 3 is the longest (a sketch answers ranks 1 and n exactly).
    assert_eq!(tasks["duration_ms"]["p75"], json!(250.0));
    assert_eq!(tasks["duration_ms"]["max"], json!(250.0));

    let frames = &data["long_animation_frames"];
    assert_eq!(frames["count"], json!(4), "{frames}");
    within_1_percent(&frames["duration_ms"]["p75"], 180.0);
    within_1_percent(&frames["blocking_duration_ms"]["p75"], 90.0);
    assert_eq!(frames["blocking_duration_ms"]["max"], json!(200.0));
    // main.js counts once whatever its query string; the frame without a script is not listed.
    assert_eq!(
        frames["top_scripts"],
        json!([
            {"script_url": "https://cdn.example/vendor.js", "count": 1, "total_duration_ms": 250.0},
            {"script_url": "https://app.example/main.js", "count": 2, "total_duration_ms": 120.0},
        ])
    );

    let slowest = data["resources"]["slowest"]
        .as_array()
        .expect("a list of resources");
    let order: Vec<(&str, &str, u64)> = slowest
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default(),
                r["initiator_type"].as_str().unwrap_or_default(),
                r["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("https://fonts.example/inter.woff2", "css", 1),
            ("https://cdn.example/hero.png", "img", 2),
            ("https://app.example/app.js", "script", 1),
            ("https://app.example/app.css", "link", 1),
        ],
        "slowest p75 first, URLs without their query"
    );
    assert_eq!(slowest[1]["duration_ms"]["p75"], json!(420.0));
    assert_eq!(slowest[1]["transfer_size_bytes_mean"], json!(50_000.0));
    assert_eq!(
        slowest[3]["transfer_size_bytes_mean"],
        json!(0.0),
        "from the cache"
    );
    let types: Vec<(&str, u64, u64)> = data["resources"]["initiator_types"]
        .as_array()
        .expect("a list of initiator types")
        .iter()
        .map(|t| {
            (
                t["initiator_type"].as_str().unwrap_or_default(),
                t["count"].as_u64().unwrap_or_default(),
                t["transfer_size_bytes_total"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("img", 2, 100_000),
            ("css", 1, 30_000),
            ("link", 1, 0),
            ("script", 1, 120_000)
        ]
    );

    // Not mistaken for the page's own API calls or interactions.
    assert_eq!(data["api_calls"], json!([]));
    assert_eq!(data["interactions"], json!([]));
}

fn within_1_percent(value: &Value, expected: f64) {
    let got = value.as_f64().unwrap_or(f64::NAN);
    assert!(
        (got - expected).abs() <= expected * 0.01,
        "{got} is not within 1 % of {expected}"
    );
}

#[actix_web::test]
async fn entries_are_kept_rejected_and_counted_once_on_sqlite() {
    let (_dir, app) = service!();
    entries_are_kept_rejected_and_counted_once(&app).await;
}

#[actix_web::test]
async fn entries_are_kept_rejected_and_counted_once_on_postgres() {
    let db = test_db();
    let location = StoreLocation::parse(&db.url).expect("a postgres URL");
    // Opening connects: not on this async thread.
    let store = on_plain_thread(|| store::open(&location)).expect("open");
    let app = actix_web::test::init_service(perfwatch_collector::app(state_over(store))).await;
    entries_are_kept_rejected_and_counted_once(&app).await;
}

#[actix_web::test]
async fn an_empty_window_answers_empty_entries() {
    let (_dir, app) = service!();
    let data = get(&app, &format!("{VITALS}?hours=1")).await.data().clone();
    assert_eq!(data["long_tasks"]["count"], json!(0));
    assert_eq!(data["long_tasks"]["total_blocking_ms"], json!(0.0));
    assert_eq!(data["long_tasks"]["duration_ms"]["p75"], Value::Null);
    assert_eq!(data["long_animation_frames"]["top_scripts"], json!([]));
    assert_eq!(
        data["resources"],
        json!({"slowest": [], "initiator_types": []})
    );
}
