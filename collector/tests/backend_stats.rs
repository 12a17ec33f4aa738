//! `GET /api/v1/monitoring/api/stats` and `.../ai/stats` over records posted through the ingest
//! endpoints: counts, rates and costs exact, percentiles within the sketch's 1 % of the exact
//! nearest-rank values, groups bounded, bad parameters refused by name.

mod common;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use perfwatch_collector::stats::nearest_rank;
use serde_json::{json, Value};

fn post(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(body.to_string())
}

fn close(got: &Value, want: f64) -> bool {
    got.as_f64()
        .is_some_and(|got| (got - want).abs() <= 0.01 * want)
}

#[actix_web::test]
async fn api_stats_count_rates_and_percentiles_as_the_calls_were() {
    let (_dir, app) = service!();
    let mut durations = Vec::new();
    let mut calls = Vec::new();
    for i in 0..600u32 {
        let duration = f64::from((i * 37) % 1000) + 0.25;
        durations.push(duration);
        let status = match i % 10 {
            0 => 500,
            1 => 404,
            _ => 200,
        };
        let endpoint = if i % 3 == 0 {
            "/api/v1/chat"
        } else {
            "/api/v1/models"
        };
        calls.push(
            json!({"endpoint": endpoint, "method": "GET", "status": status,
                          "duration_ms": duration, "user_id": format!("u{}", i % 4),
                          "event_id": format!("e{i}")}),
        );
    }
    for chunk in calls.chunks(200) {
        let reply = send(
            &app,
            post("/api/v1/monitoring/api-calls", &json!({ "calls": chunk })).to_request(),
        )
        .await;
        assert_eq!(reply.data()["accepted"], json!(200), "{}", reply.text);
    }
    durations.sort_by(f64::total_cmp);

    let reply = get(
        &app,
        "/api/v1/monitoring/api/stats?hours=1&group_by=endpoint",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let data = reply.data();
    assert_eq!(data["source"], json!("rollups"));
    assert_eq!(data["total_requests"], json!(600));
    assert_eq!(data["error_rate_percent"], json!(10.0));
    assert_eq!(data["any_error_rate_percent"], json!(20.0));
    assert!(close(&data["requests_per_second"], 600.0 / 3600.0));
    assert_eq!(data["status_distribution"]["404"], json!(60));
    for (q, key) in [(50, "p50"), (90, "p90"), (95, "p95"), (99, "p99")] {
        let want = nearest_rank(&durations, q).expect("values");
        assert!(
            close(&data["latency_ms"][key], want),
            "{key}: {} vs {want}",
            data["latency_ms"]
        );
    }
    let groups = data["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["key"], json!("GET /api/v1/models"));
    assert_eq!(groups[0]["count"], json!(400));
    assert_eq!(data["slowest_endpoints"].as_array().map(Vec::len), Some(2));

    let by_user = get(&app, "/api/v1/monitoring/api/stats?hours=1&group_by=user").await;
    let groups = by_user.data()["groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(groups.len(), 4);
    assert!(groups.iter().all(|g| g["count"] == json!(150)));

    // A window before the calls holds none.
    let earlier = get(
        &app,
        &format!(
            "/api/v1/monitoring/api/stats?from={}&to={}",
            now_ms() as i64 - 7_200_000,
            now_ms() as i64 - 3_600_000
        ),
    )
    .await;
    assert_eq!(
        earlier.data()["total_requests"],
        json!(0),
        "{}",
        earlier.text
    );
    assert_eq!(earlier.data()["latency_ms"]["p95"], Value::Null);

    let bad = get(&app, "/api/v1/monitoring/api/stats?group_by=planet").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("group_by"), "{}", bad.text);
    let bad = get(&app, "/api/v1/monitoring/api/stats?hours=-1").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("hours"), "{}", bad.text);
}

#[actix_web::test]
async fn ai_stats_sum_tokens_and_costs_and_say_which_costs_they_sum() {
    let (_dir, app) = service!();
    let call = |user: &str, model: &str, cost: Value, success: bool| {
        json!({"model": model, "provider": "openai", "input_tokens": 1000, "output_tokens": 200,
               "cached_input_tokens": 400, "duration_ms": 1500, "success": success,
               "user_id": user, "cost_usd": cost})
    };
    let calls = json!({"calls": [
        call("alice", "gpt-4o", Value::Null, true),
        call("alice", "gpt-4o", Value::Null, true),
        call("bob", "gpt-4o-mini", Value::Null, false),
        call("carol", "house-model", json!(0.5), true),
        call("dave", "house-model", Value::Null, true),
    ]});
    let reply = send(
        &app,
        post("/api/v1/monitoring/ai-calls", &calls).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(5), "{}", reply.text);

    let reply = get(&app, "/api/v1/monitoring/ai/stats?hours=1&group_by=model").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let data = reply.data();
    assert_eq!(data["total_calls"], json!(5));
    assert_eq!(data["success_rate_percent"], json!(80.0));
    assert_eq!(data["tokens"]["input"], json!(5000));
    assert_eq!(data["tokens"]["cached_input"], json!(2000));
    let cost = &data["cost"];
    assert_eq!(
        (
            &cost["computed_calls"],
            &cost["sent_only_calls"],
            &cost["unpriced_calls"]
        ),
        (&json!(3), &json!(1), &json!(1)),
        "{cost}"
    );
    let computed = cost["computed_cost_usd"].as_f64().unwrap_or_default();
    assert!(computed > 0.0);
    assert!(close(&cost["cost_usd"], computed + 0.5), "{cost}");
    let models: Vec<&Value> = data["groups"]
        .as_array()
        .map(|g| g.iter().map(|g| &g["key"]).collect())
        .unwrap_or_default();
    assert_eq!(
        models,
        [
            &json!("gpt-4o"),
            &json!("house-model"),
            &json!("gpt-4o-mini")
        ]
    );
    // carol's one call came with its sender's $0.50, more than alice's two computed ones.
    let top = &data["top_users_by_cost"];
    let users: Vec<&Value> = top
        .as_array()
        .map(|t| t.iter().map(|u| &u["key"]).collect())
        .unwrap_or_default();
    assert_eq!(users[..2], [&json!("carol"), &json!("alice")], "{top}");
    assert!(close(&data["latency_ms"]["p50"], 1500.0));
}

/// Read answers are compressed when the client accepts it, and plain otherwise.
#[actix_web::test]
async fn read_answers_are_compressed_when_accepted() {
    use actix_web::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
    use std::io::Read;

    let (_dir, app) = service!();
    let ask = |encoding: &'static str| {
        TestRequest::get()
            .uri("/api/v1/monitoring/api/stats?hours=1")
            .insert_header((ACCEPT_ENCODING, encoding))
            .to_request()
    };
    let plain = actix_web::test::call_service(&app, ask("identity")).await;
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    let plain = actix_web::test::read_body(plain).await;

    let gzipped = actix_web::test::call_service(&app, ask("gzip")).await;
    assert_eq!(gzipped.headers().get(CONTENT_ENCODING).unwrap(), "gzip");
    let body = actix_web::test::read_body(gzipped).await;
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut unzipped)
        .expect("gzip");
    // The same answer (but for the window, which moved with the clock).
    let without_window = |bytes: &[u8]| {
        let mut answer: Value = serde_json::from_slice(bytes).expect("JSON");
        for key in ["from_ms", "to_ms"] {
            answer["data"][key] = Value::Null;
        }
        answer
    };
    assert_eq!(without_window(&unzipped), without_window(&plain));

    let brotli = actix_web::test::call_service(&app, ask("br")).await;
    assert_eq!(brotli.headers().get(CONTENT_ENCODING).unwrap(), "br");
}

/// The dashboard brings the window's API, AI and frontend statistics and the host together,
/// the same numbers the separate endpoints answer.
#[actix_web::test]
async fn the_dashboard_answers_what_the_separate_endpoints_answer() {
    let (_dir, app) = service!();
    let api = json!({"calls": [
        {"endpoint": "/a", "method": "GET", "status": 200, "duration_ms": 10.0},
        {"endpoint": "/a", "method": "GET", "status": 502, "duration_ms": 30.0},
    ]});
    send(
        &app,
        post("/api/v1/monitoring/api-calls", &api).to_request(),
    )
    .await;
    let ai = json!({"calls": [{"model": "gpt-4o", "input_tokens": 10, "output_tokens": 5,
                               "duration_ms": 800.0}]});
    send(&app, post("/api/v1/monitoring/ai-calls", &ai).to_request()).await;
    let browser = batch(json!([vital("LCP", 1800.0, "v6-1", 1)]));
    send(&app, post_batch(browser.to_string()).to_request()).await;

    let reply = get(&app, "/api/v1/monitoring/dashboard?hours=1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let data = reply.data();
    assert_eq!(data["api_statistics"]["total_requests"], json!(2));
    assert_eq!(data["api_statistics"]["error_rate_percent"], json!(50.0));
    assert_eq!(data["ai_statistics"]["total_calls"], json!(1));
    assert_eq!(
        data["frontend_vitals"]["vitals"]["LCP"]["p75"],
        json!(1800.0)
    );
    assert_eq!(data["active_alerts"], json!([]));
    // No host sample yet in this test (the monitor thread is not running).
    assert_eq!(data["system_overview"]["current"], Value::Null);
    let api_stats = get(&app, "/api/v1/monitoring/api/stats?hours=1").await;
    assert_eq!(
        api_stats.data()["latency_ms"],
        data["api_statistics"]["latency_ms"]
    );
    let bad = get(&app, "/api/v1/monitoring/dashboard?hours=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

/// A window longer than 15 minutes is answered from the roll-ups, with the minutes not yet
/// rolled read raw: the same numbers as the raw records give. `top=` sets how many groups are listed.
#[actix_web::test]
async fn long_windows_come_from_rollups_with_the_same_numbers() {
    let (_dir, app) = service!();
    let calls: Vec<Value> = (0..40u32)
        .map(|i| {
            json!({"endpoint": format!("/e{}", i % 5), "method": "GET",
                   "status": if i % 8 == 0 { 502 } else { 200 },
                   "duration_ms": f64::from(i) * 3.0 + 1.0, "user_id": format!("u{}", i % 3)})
        })
        .collect();
    let reply = send(
        &app,
        post("/api/v1/monitoring/api-calls", &json!({ "calls": calls })).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(40), "{}", reply.text);
    let ai: Vec<Value> = (0..9u32)
        .map(|i| {
            let model = ["gpt-4o", "gpt-4.1", "mystery"][(i % 3) as usize];
            json!({"model": model,
                   "provider": "openai", "input_tokens": 1000, "output_tokens": 100,
                   "duration_ms": 500.0 + f64::from(i), "user_id": format!("u{}", i % 2)})
        })
        .collect();
    let reply = send(
        &app,
        post("/api/v1/monitoring/ai-calls", &json!({ "calls": ai })).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(9), "{}", reply.text);

    for path in [
        "/api/v1/monitoring/api/stats?group_by=endpoint",
        "/api/v1/monitoring/ai/stats?group_by=model",
    ] {
        let raw = get(&app, &format!("{path}&hours=0.25")).await;
        let rolled = get(&app, &format!("{path}&hours=48")).await;
        let (raw, rolled) = (raw.data(), rolled.data());
        assert_eq!(raw["source"], json!("raw"));
        assert_eq!(rolled["source"], json!("rollups"));
        for key in [
            "total_requests",
            "total_calls",
            "error_rate_percent",
            "latency_ms",
            "status_distribution",
            "groups",
            "cost",
            "tokens",
            "top_users_by_cost",
        ] {
            assert_eq!(raw[key], rolled[key], "{path}: {key}");
        }
    }

    let top = get(
        &app,
        "/api/v1/monitoring/api/stats?hours=1&group_by=endpoint&top=2",
    )
    .await;
    let groups = top.data()["groups"].as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = groups.iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(keys.len(), 3, "two groups and other: {keys:?}");
    assert_eq!(keys[2], "other");
    let counted: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    assert_eq!(counted, 40);
    for bad in ["0", "101", "ten"] {
        let reply = get(&app, &format!("/api/v1/monitoring/ai/stats?top={bad}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(reply.text.contains("`top`"), "{}", reply.text);
    }
}

#[actix_web::test]
async fn an_erased_user_leaves_the_cached_statistics_at_once() {
    let (_dir, store) = fresh_store();
    let app = actix_web::test::init_service(perfwatch_collector::app(state_over(
        std::sync::Arc::clone(&store),
    )))
    .await;
    // Calls half an hour ago, rolled up: an hour's statistics merge that minute's roll-up
    // and cache the merged range (it ended more than two minutes ago).
    let at = now_ms() as i64 - 30 * 60_000;
    let calls = ai_calls_by(&["u_gone", "u_gone", "u_stays"], at);
    let reply = send(
        &app,
        post("/api/v1/monitoring/ai-calls", &calls).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(3), "{}", reply.text);
    let rolling = std::sync::Arc::clone(&store);
    actix_web::web::block(move || {
        perfwatch_collector::rollup::roll_once(
            rolling.as_ref(),
            perfwatch_collector::rollup::RollupPolicy::default(),
            7,
            now_ms() as i64,
        )
    })
    .await
    .expect("blocking")
    .expect("roll-up pass");

    let users = |reply: &Reply| -> Vec<String> {
        reply.data()["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["key"].as_str().map(str::to_owned))
            .collect()
    };
    const BY_USER: &str = "/api/v1/monitoring/ai/stats?hours=1&group_by=user";
    let before = get(&app, BY_USER).await;
    assert_eq!(before.data()["source"], json!("rollups"));
    assert_eq!(users(&before), ["u_gone", "u_stays"]);

    let erased = send(
        &app,
        TestRequest::delete()
            .uri("/api/v1/monitoring/users/u_gone")
            .to_request(),
    )
    .await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    // The same request at once: no cached range may still name the user.
    let after = get(&app, BY_USER).await;
    assert_eq!(users(&after), ["u_stays"], "{}", after.text);
}
