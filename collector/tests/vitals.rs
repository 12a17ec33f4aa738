//! `GET /api/v1/monitoring/frontend/vitals`: each metric counted once at its highest `seq`,
//! retried batches stored once, p75 by nearest rank, client clocks corrected, bad windows 400.

mod common;

use actix_web::http::StatusCode;
use std::sync::Arc;

use common::*;
use serde_json::{json, Value};

async fn vitals_data<S, B>(app: &S, query: &str) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = get(app, &format!("{VITALS}?{query}")).await;
    reply.data().clone()
}

#[actix_web::test]
async fn a_retried_batch_is_stored_once() {
    let (_dir, app) = service!();
    let mut lcp = vital("LCP", 2000.0, "v6-a", 1);
    lcp["event_id"] = json!("e-1");
    let mut view = page_view("p1", "/chat/:id");
    view["event_id"] = json!("e-0");
    let body = batch(json!([view, lcp])).to_string();
    for _ in 0..2 {
        let reply = send(&app, post_batch(body.clone()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(2));
    }
    let data = vitals_data(&app, "hours=1").await;
    assert_eq!(data["vitals"]["LCP"]["count"], json!(1));
    assert_eq!(data["page_views"], json!(1));
}

#[actix_web::test]
async fn a_metric_counts_once_at_its_highest_seq_whatever_the_order() {
    let (_dir, app) = service!();
    // seq 2 arrives first, then the older seq 1: the value of seq 2 stays.
    for (seq, value) in [(2, 200.0), (1, 100.0)] {
        let body = batch(json!([vital("INP", value, "v6-inp", seq)])).to_string();
        let reply = send(&app, post_batch(body).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(1));
    }
    let inp = &vitals_data(&app, "hours=1").await["vitals"]["INP"];
    assert_eq!(inp["count"], json!(1));
    assert_eq!(inp["p75"], json!(200.0));
    // And in order: a higher seq replaces the value.
    let body = batch(json!([vital("INP", 350.0, "v6-inp", 3)])).to_string();
    send(&app, post_batch(body).to_request()).await;
    let inp = &vitals_data(&app, "hours=1").await["vitals"]["INP"];
    assert_eq!((&inp["count"], &inp["p75"]), (&json!(1), &json!(350.0)));
    assert_eq!(inp["needs_improvement_percent"], json!(100.0));
}

#[actix_web::test]
async fn p75_is_the_nearest_rank_over_page_views() {
    let (_dir, app) = service!();
    // Eight page views with LCP 1..=8 ms, sent out of order over two batches.
    let events: Vec<Value> = [5, 1, 8, 3, 7, 2, 6, 4]
        .iter()
        .map(|v| {
            let mut e = vital("LCP", f64::from(*v), &format!("v6-lcp-{v}"), 1);
            e["page_view_id"] = json!(format!("p{v}"));
            e
        })
        .collect();
    for half in events.chunks(4) {
        let reply = send(
            &app,
            post_batch(batch(json!(half)).to_string()).to_request(),
        )
        .await;
        assert_eq!(reply.data()["accepted"], json!(4));
    }
    let data = vitals_data(&app, "hours=1").await;
    let lcp = &data["vitals"]["LCP"];
    assert_eq!(lcp["count"], json!(8));
    assert_eq!(lcp["p75"], json!(6.0));
    assert_eq!(lcp["good_percent"], json!(100.0));
    assert_eq!(lcp["poor_percent"], json!(0.0));
    // A vital nobody measured: null, not zero.
    assert_eq!(data["vitals"]["CLS"]["count"], json!(0));
    assert_eq!(data["vitals"]["CLS"]["p75"], Value::Null);
    assert_eq!(data["hours"], json!(1.0));
}

#[actix_web::test]
async fn ratings_are_the_collector_s_not_the_client_s() {
    let (_dir, app) = service!();
    // The client claims "good" for an LCP of 5 s.
    let body = batch(json!([vital("LCP", 5000.0, "v6-slow", 1)])).to_string();
    send(&app, post_batch(body).to_request()).await;
    let lcp = &vitals_data(&app, "hours=1").await["vitals"]["LCP"];
    assert_eq!(lcp["poor_percent"], json!(100.0));
    assert_eq!(lcp["good_percent"], json!(0.0));
}

#[actix_web::test]
async fn a_client_clock_hours_off_is_corrected() {
    let (_dir, app) = service!();
    // The browser's clock is three hours behind: without the correction its vitals would fall
    // outside a one-hour window.
    let mut body = batch(json!([vital("FCP", 800.0, "v6-fcp", 1)]));
    let behind = 3.0 * 3_600_000.0;
    body["sent_at"] = json!(body["sent_at"].as_f64().unwrap_or_default() - behind);
    body["time_origin"] = json!(body["time_origin"].as_f64().unwrap_or_default() - behind);
    let reply = send(&app, post_batch(body.to_string()).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(1));
    let fcp = &vitals_data(&app, "hours=1").await["vitals"]["FCP"];
    assert_eq!(fcp["count"], json!(1));
}

#[actix_web::test]
async fn vitals_group_by_page() {
    let (_dir, app) = service!();
    let mut on_settings = vital("LCP", 3000.0, "v6-s", 1);
    on_settings["page_view_id"] = json!("p2");
    on_settings["route"] = json!("/settings");
    let body = batch(json!([
        page_view("p1", "/chat/:id"),
        vital("LCP", 1000.0, "v6-c", 1),
        page_view("p2", "/settings"),
        on_settings,
    ]));
    send(&app, post_batch(body.to_string()).to_request()).await;
    let data = vitals_data(&app, "hours=1&group_by=page").await;
    assert_eq!(data["page_views"], json!(2));
    let pages = data["pages"].as_array().cloned().unwrap_or_default();
    let page = |name: &str| {
        pages
            .iter()
            .find(|p| p["page"] == json!(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(page("/chat/:id")["vitals"]["LCP"]["p75"], json!(1000.0));
    assert_eq!(page("/settings")["vitals"]["LCP"]["p75"], json!(3000.0));
    assert_eq!(page("/settings")["page_views"], json!(1));
    // Without group_by there is no per-page list.
    assert!(vitals_data(&app, "hours=1").await.get("pages").is_none());
}

/// Without a route, a page counts under its URL's path: the query string and fragment do not
/// make another page (nor reach the answer).
#[actix_web::test]
async fn pages_without_a_route_group_by_url_path() {
    let (_dir, app) = service!();
    for (i, url) in [
        "https://app.example/docs/intro?utm_source=mail&token=s3cret",
        "https://app.example/docs/intro#install",
        "https://app.example",
    ]
    .iter()
    .enumerate()
    {
        let mut body = batch(json!([vital(
            "LCP",
            1000.0 * (i as f64 + 1.0),
            &format!("v{i}"),
            1
        )]));
        body["session_id"] = json!(format!("s{i}"));
        body["url"] = json!(url);
        body.as_object_mut().map(|o| o.remove("route"));
        let reply = send(&app, post_batch(body.to_string()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(1), "{}", reply.text);
    }
    let data = vitals_data(&app, "hours=1&group_by=page").await;
    let pages: Vec<(String, u64)> = data["pages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["page"].as_str().unwrap_or_default().to_owned(),
                p["vitals"]["LCP"]["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [("/docs/intro".to_owned(), 2), ("/".to_owned(), 1)],
        "{data}"
    );
    assert!(!data.to_string().contains("s3cret"));
}

#[actix_web::test]
async fn bad_windows_are_400_in_the_envelope() {
    let (_dir, app) = service!();
    for query in [
        "hours=abc",
        "hours=0",
        "hours=1000",
        "hours=-2",
        "group_by=planet",
    ] {
        let reply = get(&app, &format!("{VITALS}?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.json["success"], json!(false));
        assert_eq!(reply.json["error"]["code"], json!("invalid_query"));
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        let field = if query.starts_with("hours") {
            "hours"
        } else {
            "planet"
        };
        assert!(message.contains(field), "{query}: {message}");
        assert_eq!(get(&app, HEALTH).await.status, StatusCode::OK);
    }
    // Decimal hours are fine.
    assert_eq!(vitals_data(&app, "hours=0.25").await["hours"], json!(0.25));
    assert_eq!(vitals_data(&app, "").await["hours"], json!(24.0));
}

/// A window longer than a day is answered from the roll-ups: the same counts and shares as the
/// raw events, p75 within the sketch's 1 %, and only what the last roll-up pass saw.
#[actix_web::test]
async fn long_windows_are_answered_from_the_rollups() {
    use perfwatch_collector::rollup::{roll_once, RollupPolicy};
    use perfwatch_collector::store::SharedStore;

    let (_dir, store) = fresh_store();
    let app =
        actix_web::test::init_service(perfwatch_collector::app(state_over(Arc::clone(&store))))
            .await;
    // 120 page views on two routes, each with an LCP and a CLS.
    for i in 0..120u32 {
        let route = if i % 3 == 0 { "/models" } else { "/chat/:id" };
        let events = json!([
            page_view(&format!("p{i}"), route),
            vital(
                "LCP",
                800.0 + f64::from(i * 37 % 4000),
                &format!("lcp-{i}"),
                1
            ),
            vital("CLS", f64::from(i % 40) / 100.0, &format!("cls-{i}"), 1),
        ]);
        let mut body = batch(events);
        body["session_id"] = json!(format!("s{}", i % 17));
        for event in body["events"].as_array_mut().expect("events") {
            event["page_view_id"] = json!(format!("p{i}"));
            event["route"] = json!(route);
        }
        let reply = send(&app, post_batch(body.to_string()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(3));
    }
    let roll = |store: SharedStore| async move {
        actix_web::web::block(move || {
            let now = now_ms() as i64;
            roll_once(store.as_ref(), RollupPolicy::default(), 7, now)
        })
        .await
        .expect("blocking")
        .expect("roll-up pass")
    };

    // Before any roll-up pass, the long window has nothing yet.
    let rolled = vitals_data(&app, "hours=48&group_by=page").await;
    assert_eq!(rolled["source"], json!("rollups"));
    assert_eq!(rolled["page_views"], json!(0));

    let stats = roll(Arc::clone(&store)).await;
    assert!(stats.ran && stats.rolled >= 3, "{stats:?}");
    let exact = vitals_data(&app, "hours=1&group_by=page").await;
    let rolled = vitals_data(&app, "hours=48&group_by=page").await;
    assert_eq!(exact["source"], json!("raw"));
    assert_eq!(rolled["page_views"], json!(120));
    for name in ["LCP", "CLS"] {
        let (r, e) = (&rolled["vitals"][name], &exact["vitals"][name]);
        assert_eq!(r["count"], json!(120));
        for key in ["good_percent", "needs_improvement_percent", "poor_percent"] {
            assert_eq!(r[key], e[key], "{name} {key}");
        }
        let (r, e) = (r["p75"].as_f64().unwrap(), e["p75"].as_f64().unwrap());
        assert!(
            (r - e).abs() <= 0.01 * e,
            "{name} p75: roll-ups {r}, exact {e}"
        );
    }
    assert_eq!(rolled["pages"][0]["page"], json!("/chat/:id"));
    assert_eq!(rolled["pages"][0]["page_views"], json!(80));

    // A metric reported again with a higher seq moves in the roll-ups after the next pass,
    // and still counts once.
    let mut again = batch(json!([vital("LCP", 60_000.0, "lcp-0", 2)]));
    again["session_id"] = json!("s0");
    send(&app, post_batch(again.to_string()).to_request()).await;
    roll(Arc::clone(&store)).await;
    let rolled = vitals_data(&app, "hours=48").await;
    assert_eq!(rolled["vitals"]["LCP"]["count"], json!(120));
    let exact = vitals_data(&app, "hours=1").await;
    assert_eq!(
        rolled["vitals"]["LCP"]["poor_percent"],
        exact["vitals"]["LCP"]["poor_percent"]
    );
    // A second pass over nothing new changes nothing.
    assert_eq!(roll(Arc::clone(&store)).await.rolled, 0);
    assert_eq!(
        vitals_data(&app, "hours=48").await["vitals"],
        rolled["vitals"]
    );
}

#[actix_web::test]
async fn from_and_to_choose_the_window_and_bad_ones_are_400() {
    let (_dir, app) = service!();
    let body = batch(json!([vital("LCP", 1500.0, "m1", 1)])).to_string();
    send(&app, post_batch(body).to_request()).await;
    let now = now_ms() as i64;
    let in_window = vitals_data(&app, &format!("from={}&to={}", now - 60_000, now + 1000)).await;
    assert_eq!(in_window["vitals"]["LCP"]["count"], json!(1));
    assert_eq!(in_window["source"], json!("raw"));
    // A window that ended before the measurement.
    let before = vitals_data(
        &app,
        &format!("from={}&to={}", now - 3_600_000, now - 60_000),
    )
    .await;
    assert_eq!(before["vitals"]["LCP"]["count"], json!(0));
    // RFC 3339 works too; to defaults to now.
    let iso = vitals_data(&app, "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z").await;
    assert_eq!(iso["hours"], json!(24.0));
    for (query, names) in [
        (
            "hours=1&from=2026-01-01T00:00:00Z",
            "`hours` or `from`/`to`",
        ),
        ("from=yesterday", "`from` must be an RFC 3339 time"),
        (
            "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "`from` must be before `to`",
        ),
    ] {
        let reply = get(&app, &format!("{VITALS}?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{query}: {message}");
    }
}
