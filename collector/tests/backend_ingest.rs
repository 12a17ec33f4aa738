//! `POST /api/v1/monitoring/api-calls` and `.../ai-calls`: a backend's records, validated one by
//! one (the good ones stored, each bad one refused with its index and a reason), stored once per
//! `(service, event_id)`, AI calls priced from the collector's table; every refusal of a whole
//! batch answers its status in the envelope and leaves the collector healthy.

mod common;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use perfwatch_collector::pricing::{PriceTable, TokenUsage};
use perfwatch_protocol::LIMITS;
use serde_json::{json, Value};

const API_CALLS: &str = "/api/v1/monitoring/api-calls";
const AI_CALLS: &str = "/api/v1/monitoring/ai-calls";

fn post(path: &str, body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(body.into())
}

fn api_call(event_id: &str, status: u16) -> Value {
    json!({"endpoint": "/api/v1/chat", "method": "post", "status": status, "duration_ms": 123.4,
           "user_id": "u_42", "service": "api", "trace_id": "4bf92f", "event_id": event_id})
}

fn ai_call(event_id: &str, model: &str) -> Value {
    json!({"model": model, "provider": "openai", "input_tokens": 1200, "output_tokens": 300,
           "cached_input_tokens": 200, "cache_write_tokens": 0, "reasoning_tokens": 0,
           "duration_ms": 2300, "success": true, "error_type": null, "user_id": "u_42",
           "cost_usd": null, "event_id": event_id, "timestamp": now_ms()})
}

/// Rows of the store under `dir`, by a query returning one number.
fn number(dir: &tempfile::TempDir, sql: &str) -> f64 {
    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    conn.query_row(sql, [], |row| row.get(0)).expect(sql)
}

fn rejected_reasons(reply: &Reply) -> Vec<(u64, String)> {
    reply.data()["rejected"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap_or(u64::MAX),
                r["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn api_calls_are_stored_once_and_bad_ones_refused_by_name() {
    let (dir, app) = service!();
    let mut long_endpoint = api_call("e4", 200);
    long_endpoint["endpoint"] = json!(format!("/{}", "x".repeat(LIMITS.url_bytes)));
    let body = json!({"calls": [
        api_call("e1", 200),
        api_call("e2", 999),
        api_call("e1", 500),
        {"endpoint": "/x", "method": "GET", "duration_ms": 1},
        long_endpoint,
        api_call("e3", 404),
    ]});
    let reply = send(&app, post(API_CALLS, body.to_string()).to_request()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.data()["accepted"], json!(3), "{}", reply.text);
    let rejected = rejected_reasons(&reply);
    let indexes: Vec<u64> = rejected.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [1, 3, 4], "{}", reply.text);
    assert!(rejected[0].1.contains("`status` is 999"), "{rejected:?}");
    assert!(rejected[1].1.contains("status"), "{rejected:?}");
    assert!(rejected[2].1.contains("`endpoint`"), "{rejected:?}");

    // e1 twice in the batch, and the whole batch again: stored once each.
    send(&app, post(API_CALLS, body.to_string()).to_request()).await;
    assert_eq!(number(&dir, "SELECT COUNT(*) FROM api_calls"), 2.0);
    assert_eq!(
        number(&dir, "SELECT status FROM api_calls WHERE event_id = 'e1'"),
        200.0
    );
    assert_eq!(
        number(&dir, "SELECT COUNT(*) FROM api_calls WHERE method = 'POST'"),
        2.0,
        "methods are stored upper case"
    );
}

#[actix_web::test]
async fn ai_calls_keep_the_good_records_and_an_unknown_models_cost_is_unknown() {
    let (dir, app) = service!();
    let mut negative = ai_call("a3", "gpt-4o");
    negative["input_tokens"] = json!(-5);
    let mut year_3000 = ai_call("a4", "gpt-4o");
    year_3000["timestamp"] = json!("3000-01-01T00:00:00Z");
    let mut long_model = ai_call("a5", "gpt-4o");
    long_model["model"] = json!("m".repeat(10_000));
    let mut sent_cost = ai_call("a6", "gpt-4o");
    sent_cost["cost_usd"] = json!(0.25);
    let body = json!({"calls": [
        ai_call("a1", "gpt-4o"), negative, year_3000, long_model,
        ai_call("a2", "no-such-model-9000"), sent_cost,
    ]});
    let reply = send(&app, post(AI_CALLS, body.to_string()).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(3), "{}", reply.text);
    let rejected = rejected_reasons(&reply);
    assert_eq!(rejected.len(), 3, "{}", reply.text);
    assert!(rejected[0].1.contains("input_tokens"), "{rejected:?}");
    assert!(rejected[1].1.contains("after"), "{rejected:?}");
    assert!(rejected[2].1.contains("model"), "{rejected:?}");

    assert_eq!(number(&dir, "SELECT COUNT(*) FROM ai_calls"), 3.0);
    assert_eq!(
        number(
            &dir,
            "SELECT COUNT(*) FROM ai_calls WHERE model = 'no-such-model-9000' \
             AND computed_cost_usd IS NULL"
        ),
        1.0,
        "an unknown model is stored, its cost unknown rather than 0"
    );
    assert_eq!(
        number(
            &dir,
            "SELECT sent_cost_usd FROM ai_calls WHERE event_id = 'a6'"
        ),
        0.25,
        "the sender's cost is kept"
    );
    // A known model is priced from the built-in table as the table itself prices that usage.
    let usage = TokenUsage {
        input_tokens: 1200,
        output_tokens: 300,
        cached_input_tokens: 200,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    };
    let at_ms = number(&dir, "SELECT at_ms FROM ai_calls WHERE event_id = 'a1'") as i64;
    let expected = PriceTable::builtin()
        .cost(Some("openai"), "gpt-4o", &usage, at_ms)
        .expect("gpt-4o is in the built-in table")
        .cost_usd;
    assert!(expected > 0.0);
    assert_eq!(
        number(
            &dir,
            "SELECT computed_cost_usd FROM ai_calls WHERE event_id = 'a1'"
        ),
        expected
    );
}

/// The user's price table (the config's `prices_file`) prices a model the built-in one lacks.
#[actix_web::test]
async fn a_users_price_table_prices_its_own_models() {
    let table = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        table.path(),
        r#"
[[model]]
provider = "house"
model = "house-model"
effective = "2020-01-01"
source = "our own contract"
input = 1.0
output = 2.0
"#,
    )
    .expect("written");
    let prices = PriceTable::with_user_file(Some(table.path())).expect("a valid table");
    let (dir, state) = fresh_state();
    let app =
        actix_web::test::init_service(perfwatch_collector::app(state.with_prices(prices))).await;
    let mut call = ai_call("h1", "house-model");
    call["provider"] = json!("house");
    call["input_tokens"] = json!(1000);
    call["cached_input_tokens"] = json!(0);
    call["output_tokens"] = json!(500);
    let reply = send(
        &app,
        post(AI_CALLS, json!({"calls": [call]}).to_string()).to_request(),
    )
    .await;
    assert_eq!(reply.data()["accepted"], json!(1), "{}", reply.text);
    // 1000 input tokens at $1/M and 500 output tokens at $2/M.
    let cost = number(&dir, "SELECT computed_cost_usd FROM ai_calls");
    assert!((cost - 0.002).abs() < 1e-12, "{cost}");

    let broken = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(broken.path(), "[[model]]\nprovider = \"house\"\n").expect("written");
    let err = PriceTable::with_user_file(Some(broken.path())).unwrap_err();
    assert!(err.to_string().contains("`model`"), "{err}");
}

#[actix_web::test]
async fn broken_envelopes_are_refused_whole_and_the_collector_stays_up() {
    let (_dir, app) = service!();
    for path in [API_CALLS, AI_CALLS] {
        let cases: [(Vec<u8>, u16, &str); 5] = [
            (b"{\"calls\": [".to_vec(), 400, "malformed_body"),
            (b"[]".to_vec(), 400, "malformed_body"),
            (vec![0xff, 0xfe], 400, "malformed_body"),
            (b"{\"records\": []}".to_vec(), 422, "invalid_batch"),
            (
                json!({ "calls": vec![json!({}); LIMITS.backend_batch_records + 1] })
                    .to_string()
                    .into_bytes(),
                422,
                "invalid_batch",
            ),
        ];
        for (body, status, code) in cases {
            let reply = send(&app, post(path, body).to_request()).await;
            assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.text);
            assert_eq!(reply.json["error"]["code"], json!(code), "{}", reply.text);
            let health = get(&app, HEALTH).await;
            assert_eq!(health.status, StatusCode::OK);
        }
        let oversized = vec![b' '; LIMITS.backend_batch_bytes + 1];
        let reply = send(&app, post(path, oversized).to_request()).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            reply.text
        );
        let wrong_type = TestRequest::post()
            .uri(path)
            .insert_header((CONTENT_TYPE, "application/xml"))
            .set_payload("<calls/>");
        let reply = send(&app, wrong_type.to_request()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{}",
            reply.text
        );
        let reply = get(&app, path).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
