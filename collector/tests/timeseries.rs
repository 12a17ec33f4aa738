//! `GET /api/v1/monitoring/timeseries` over calls and vitals posted through the real ingest
//! endpoints: buckets aligned to the step, each bucket holding what was posted in it and the
//! numbers `api/stats` gives for the same minute, costs per model with the rest as `other`,
//! `null` where a bucket has nothing, and bad windows refused as everywhere else.

mod common;

use std::sync::Arc;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use perfwatch_collector::rollup::{roll_once, RollupPolicy};
use perfwatch_collector::timeseries::MAX_BUCKETS;
use perfwatch_protocol::VitalName;
use serde_json::{json, Value};

const TIMESERIES: &str = "/api/v1/monitoring/timeseries";
const MINUTE: i64 = 60_000;

fn post(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(body.to_string())
}

fn api_call(at: i64, status: u16, duration_ms: f64) -> Value {
    json!({"endpoint": "/api/chat", "method": "POST", "status": status,
           "duration_ms": duration_ms, "timestamp": at})
}

/// A call of a model the price table does not know, so its cost is the one sent.
fn ai_call(at: i64, model: &str, cost_usd: f64) -> Value {
    json!({"model": model, "provider": "house", "input_tokens": 1000, "output_tokens": 200,
           "duration_ms": 800.0, "success": true, "cost_usd": cost_usd, "timestamp": at})
}

fn array(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn int(value: &Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("not an integer: {value}"))
}

#[actix_web::test]
async fn each_bucket_holds_what_was_posted_in_it() {
    let (_dir, store) = fresh_store();
    let app =
        actix_web::test::init_service(perfwatch_collector::app(state_over(Arc::clone(&store))))
            .await;

    // Calls in three minutes of the last quarter hour: 10, 7 and 3 minutes ago.
    let this_minute = now_ms() as i64 / MINUTE * MINUTE;
    let [a, b, c] = [10, 7, 3].map(|ago| this_minute - ago * MINUTE);
    let calls = json!({"calls": [
        api_call(a + 1_000, 200, 10.0), api_call(a + 2_000, 200, 20.0),
        api_call(a + 59_999, 200, 30.0),
        api_call(b, 200, 100.0), api_call(b + 10_000, 200, 200.0),
        api_call(b + 20_000, 500, 300.0), api_call(b + 30_000, 200, 400.0),
        api_call(c + 5_000, 404, 50.0), api_call(c + 6_000, 200, 70.0),
    ]});
    let reply = send(
        &app,
        post("/api/v1/monitoring/api-calls", &calls).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(9), "{}", reply.text);
    // Seven models: the five costliest get a series each, the other two are summed.
    let ai = json!({"calls": [
        ai_call(a + 500, "house-7", 7.0), ai_call(a + 600, "house-6", 6.0),
        ai_call(a + 700, "house-1", 1.0), ai_call(c, "house-5", 5.0),
        ai_call(c + 100, "house-4", 4.0), ai_call(c + 200, "house-3", 3.0),
        ai_call(c + 300, "house-2", 2.0), ai_call(c + 400, "house-7", 0.5),
    ]});
    let reply = send(&app, post("/api/v1/monitoring/ai-calls", &ai).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(8), "{}", reply.text);
    let lcp: Vec<Value> = [1200.0, 1800.0, 2500.0, 3100.0]
        .iter()
        .enumerate()
        .map(|(i, value)| vital("LCP", *value, &format!("lcp-{i}"), 1))
        .collect();
    let reply = send(&app, post_batch(batch(json!(lcp)).to_string()).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(4), "{}", reply.text);

    let reply = get(&app, &format!("{TIMESERIES}?hours=1")).await;
    let data = reply.data().clone();
    let (from_ms, to_ms) = (int(&data["from_ms"]), int(&data["to_ms"]));
    assert_eq!(data["hours"], json!(1.0));
    assert_eq!(data["step_ms"], json!(MINUTE));
    // The first bucket holds `from_ms`, the last `to_ms - 1`: an hour not on a minute
    // boundary is 61 of them, every one starting on a minute.
    let times: Vec<i64> = array(&data["times_ms"]).iter().map(int).collect();
    assert_eq!(times.len(), 61);
    assert!(times.iter().all(|t| t % MINUTE == 0), "{times:?}");
    assert!(times.windows(2).all(|w| w[1] - w[0] == MINUTE));
    assert!(times[0] <= from_ms && from_ms < times[0] + MINUTE);
    let last = times[times.len() - 1];
    assert!(last < to_ms && to_ms - 1 < last + MINUTE);
    // Every column has one value per bucket.
    for column in [
        &data["api"]["requests"],
        &data["api"]["requests_per_second"],
        &data["api"]["error_rate_percent"],
        &data["api"]["latency_p50_ms"],
        &data["api"]["latency_p95_ms"],
        &data["api"]["latency_p99_ms"],
        &data["ai"]["calls"],
        &data["ai"]["cost_usd"],
        &data["ai"]["tokens"],
    ] {
        assert_eq!(array(column).len(), times.len(), "{column}");
    }
    for name in VitalName::ALL.map(VitalName::as_str) {
        assert_eq!(array(&data["vitals"][name]["p75"]).len(), times.len());
        assert_eq!(array(&data["vitals"][name]["count"]).len(), times.len());
    }

    let at = |minute: i64| {
        times
            .iter()
            .position(|&t| t == minute)
            .expect("a bucket per minute")
    };
    let api = &data["api"];
    let requests = array(&api["requests"]);
    assert_eq!(
        [&requests[at(a)], &requests[at(b)], &requests[at(c)]],
        [&json!(3), &json!(4), &json!(2)]
    );
    assert_eq!(requests.iter().filter_map(Value::as_u64).sum::<u64>(), 9);
    assert_eq!(api["error_rate_percent"][at(b)], json!(25.0));
    assert_eq!(
        api["error_rate_percent"][at(c)],
        json!(0.0),
        "a 404 is no 5xx"
    );
    assert!(
        (api["requests_per_second"][at(b)]
            .as_f64()
            .unwrap_or_default()
            - 4.0 / 60.0)
            .abs()
            < 1e-9
    );
    // A minute without calls: 0 calls, and no rate or percentile of nothing.
    let empty = at(a) + 1;
    assert_eq!(requests[empty], json!(0));
    for key in [
        "error_rate_percent",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ] {
        assert_eq!(api[key][empty], Value::Null, "{key}");
    }
    // The same numbers `api/stats` gives for that minute.
    let stats = get(
        &app,
        &format!("/api/v1/monitoring/api/stats?from={b}&to={}", b + MINUTE),
    )
    .await;
    let stats = stats.data();
    assert_eq!(stats["total_requests"], json!(4));
    for (key, column) in [
        ("p50", "latency_p50_ms"),
        ("p95", "latency_p95_ms"),
        ("p99", "latency_p99_ms"),
    ] {
        assert_eq!(stats["latency_ms"][key], api[column][at(b)], "{key}");
    }
    assert_eq!(
        stats["error_rate_percent"],
        api["error_rate_percent"][at(b)]
    );

    // AI: calls, cost and tokens per bucket; the costliest five models, then `other`.
    let ai = &data["ai"];
    assert_eq!(ai["calls"][at(a)], json!(3));
    assert_eq!(ai["calls"][at(c)], json!(5));
    assert_eq!(ai["cost_usd"][at(a)], json!(14.0));
    assert_eq!(ai["cost_usd"][at(c)], json!(14.5));
    assert_eq!(ai["tokens"][at(c)], json!(5 * 1200));
    assert_eq!(ai["cost_usd"][empty], json!(0.0));
    let by_model = array(&ai["cost_usd_by_model"]);
    let models: Vec<&str> = by_model
        .iter()
        .filter_map(|m| m["model"].as_str())
        .collect();
    assert_eq!(
        models,
        ["house-7", "house-6", "house-5", "house-4", "house-3", "other"]
    );
    assert_eq!(by_model[0]["values"][at(a)], json!(7.0));
    assert_eq!(by_model[0]["values"][at(c)], json!(0.5));
    assert_eq!(by_model[5]["values"][at(a)], json!(1.0), "house-1");
    assert_eq!(by_model[5]["values"][at(c)], json!(2.0), "house-2");
    for series in &by_model {
        assert_eq!(array(&series["values"]).len(), times.len());
    }

    // Vitals are read as `frontend/vitals` reads a recent window: the four LCP reports at
    // once, before any roll-up pass, with the exact nearest-rank p75 it gives.
    let counts = |data: &Value, name: &str| -> u64 {
        array(&data["vitals"][name]["count"])
            .iter()
            .filter_map(Value::as_u64)
            .sum()
    };
    assert_eq!(counts(&data, "LCP"), 4);
    assert_eq!(counts(&data, "CLS"), 0);
    let lcp = &data["vitals"]["LCP"];
    let measured = array(&lcp["count"])
        .iter()
        .position(|n| n.as_u64() > Some(0))
        .expect("a bucket with LCP");
    let vitals = get(&app, "/api/v1/monitoring/frontend/vitals?hours=1").await;
    assert_eq!(lcp["p75"][measured], vitals.data()["vitals"]["LCP"]["p75"]);
    assert_eq!(lcp["p75"][measured], json!(2500.0));
    assert!(array(&lcp["p75"])
        .iter()
        .enumerate()
        .all(|(i, p)| (i == measured) != p.is_null()));
    assert!(array(&data["vitals"]["CLS"]["p75"])
        .iter()
        .all(Value::is_null));
    let rolling = Arc::clone(&store);
    let rolled = actix_web::web::block(move || {
        roll_once(
            rolling.as_ref(),
            RollupPolicy::default(),
            7,
            now_ms() as i64,
        )
    })
    .await
    .expect("blocking")
    .expect("roll-up pass");
    assert!(rolled.ran, "{rolled:?}");
    // A collector started now (its bucket cache empty) reads the roll-ups afresh.
    let fresh =
        actix_web::test::init_service(perfwatch_collector::app(state_over(Arc::clone(&store))))
            .await;
    let after = get(&fresh, &format!("{TIMESERIES}?hours=1")).await;
    let after = after.data().clone();
    assert_eq!(counts(&after, "LCP"), 4);
    // Once rolled, the calls read from the roll-ups give the same numbers.
    let moved = int(&after["times_ms"][0]) - times[0];
    assert!(moved == 0 || moved == MINUTE, "the clock moved {moved} ms");
    let shift = (moved / MINUTE) as usize;
    for key in ["requests", "latency_p95_ms", "error_rate_percent"] {
        assert_eq!(
            array(&after["api"][key])[..times.len() - shift],
            array(&data["api"][key])[shift..],
            "{key}"
        );
    }

    // `from`/`to` on minute boundaries: whole buckets only, the first at `from`.
    let reply = get(&app, &format!("{TIMESERIES}?from={a}&to={}", c + MINUTE)).await;
    let aligned = reply.data();
    assert_eq!(int(&aligned["times_ms"][0]), a);
    assert_eq!(array(&aligned["times_ms"]).len(), 8);
    assert_eq!(aligned["api"]["requests"], json!([3, 0, 0, 4, 0, 0, 0, 2]));
}

#[actix_web::test]
async fn long_windows_take_longer_steps() {
    let (_dir, app) = service!();
    for (hours, step) in [
        ("0.25", MINUTE),
        ("24", 15 * MINUTE),
        ("720", 6 * 60 * MINUTE),
    ] {
        let reply = get(&app, &format!("{TIMESERIES}?hours={hours}")).await;
        let data = reply.data();
        assert_eq!(data["step_ms"], json!(step), "{hours} h");
        let times = array(&data["times_ms"]);
        assert!(times.len() <= MAX_BUCKETS, "{hours} h: {}", times.len());
        assert_eq!(array(&data["api"]["requests"]).len(), times.len());
        assert!(array(&data["api"]["requests"])
            .iter()
            .all(|n| n == &json!(0)));
        assert!(array(&data["api"]["latency_p95_ms"])
            .iter()
            .all(Value::is_null));
        assert_eq!(data["ai"]["cost_usd_by_model"], json!([]));
    }
}

#[actix_web::test]
async fn bad_windows_are_refused_as_by_the_other_endpoints() {
    let (_dir, app) = service!();
    for query in [
        "hours=abc",
        "hours=0",
        "hours=1000",
        "hours=1&from=2026-11-26T07:00:00Z",
        "from=yesterday",
    ] {
        let reply = get(&app, &format!("{TIMESERIES}?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.json["error"]["code"], json!("invalid_query"));
        let stats = get(&app, &format!("/api/v1/monitoring/api/stats?{query}")).await;
        assert_eq!(
            reply.json["error"]["message"], stats.json["error"]["message"],
            "{query}"
        );
    }
    let reply = get(&app, &format!("{TIMESERIES}?hours=abc")).await;
    assert_eq!(
        reply.json["error"]["message"],
        json!("`hours` must be a number such as 24 or 0.25, got `abc`")
    );
}
