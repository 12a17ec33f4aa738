//! `POST /api/v1/monitoring/frontend-metrics`: every refusal answers its status in the envelope
//! and leaves the collector healthy; sound batches are stored, bad items refused one by one.

mod common;

use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::http::StatusCode;
use common::*;
use perfwatch_protocol::LIMITS;
use serde_json::{json, Value};

/// Asserts a refusal in the envelope: status, `application/json`, `error.code`, and a message
/// mentioning each of `mentions`.
fn assert_refused(reply: &Reply, status: u16, code: &str, mentions: &[&str]) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json["success"], json!(false), "{}", reply.text);
    assert_eq!(reply.json["error"]["code"], json!(code), "{}", reply.text);
    let message = reply.json["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.trim().is_empty(), "{}", reply.text);
    for mention in mentions {
        assert!(
            message.contains(mention),
            "`{message}` should mention `{mention}`"
        );
    }
}

/// Sends `req`, asserts the refusal, then asserts that the collector still answers health.
macro_rules! assert_refusal_then_healthy {
    ($app:expr, $req:expr, $status:expr, $code:expr, $mentions:expr) => {{
        let reply = send(&$app, $req.to_request()).await;
        assert_refused(&reply, $status, $code, $mentions);
        let health = get(&$app, HEALTH).await;
        assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    }};
}

fn good_batch() -> Value {
    batch(json!([
        page_view("p1", "/chat/:id"),
        vital("LCP", 1234.5, "v6-1-1", 1)
    ]))
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_400() {
    let (_dir, app) = service!();
    assert_refusal_then_healthy!(
        app,
        post_batch(r#"{"v": 1, "events": [}"#),
        400,
        "malformed_body",
        &["JSON"]
    );
}

#[actix_web::test]
async fn a_body_that_is_not_utf8_is_400() {
    let (_dir, app) = service!();
    let mut body = good_batch().to_string().into_bytes();
    body.insert(12, 0xff);
    assert_refusal_then_healthy!(app, post_batch(body), 400, "malformed_body", &["UTF-8"]);
}

#[actix_web::test]
async fn a_json_array_body_is_400() {
    let (_dir, app) = service!();
    let body = json!([good_batch()]).to_string();
    assert_refusal_then_healthy!(
        app,
        post_batch(body),
        400,
        "malformed_body",
        &["object", "array"]
    );
}

#[actix_web::test]
async fn an_oversized_plain_body_is_413_and_names_the_limit() {
    let (_dir, app) = service!();
    let mut body = good_batch().to_string().into_bytes();
    body.resize(LIMITS.browser_batch_bytes + 1, b' ');
    assert_refusal_then_healthy!(app, post_batch(body), 413, "payload_too_large", &["65536"]);
}

#[actix_web::test]
async fn a_body_of_exactly_the_limit_is_read() {
    let (_dir, app) = service!();
    let mut body = good_batch().to_string().into_bytes();
    body.resize(LIMITS.browser_batch_bytes, b' ');
    let reply = send(&app, post_batch(body).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(2));
}

#[actix_web::test]
async fn a_gzip_bomb_is_413_counted_on_decompressed_bytes() {
    let (_dir, app) = service!();
    // 16 MB of spaces after the start of a batch: a few KB on the wire.
    let mut plain = good_batch().to_string().into_bytes();
    plain.resize(16 * 1024 * 1024, b' ');
    let zipped = gzip(&plain);
    assert!(
        zipped.len() < LIMITS.browser_batch_bytes / 2,
        "{}",
        zipped.len()
    );
    let req = post_batch(zipped).insert_header((CONTENT_ENCODING, "gzip"));
    assert_refusal_then_healthy!(app, req, 413, "payload_too_large", &["65536", "decompress"]);
}

#[actix_web::test]
async fn a_wrong_content_type_is_415_naming_what_is_accepted() {
    let (_dir, app) = service!();
    let req = post_raw(good_batch().to_string()).insert_header((CONTENT_TYPE, "text/html"));
    assert_refusal_then_healthy!(
        app,
        req,
        415,
        "unsupported_media_type",
        &["text/html", "text/plain", "application/json"]
    );
}

#[actix_web::test]
async fn a_missing_content_type_is_415() {
    let (_dir, app) = service!();
    let req = post_raw(good_batch().to_string());
    assert_refusal_then_healthy!(
        app,
        req,
        415,
        "unsupported_media_type",
        &["Content-Type", "text/plain"]
    );
}

#[actix_web::test]
async fn an_unsupported_content_encoding_is_415() {
    let (_dir, app) = service!();
    let req = post_batch(good_batch().to_string()).insert_header((CONTENT_ENCODING, "br"));
    assert_refusal_then_healthy!(app, req, 415, "unsupported_encoding", &["br", "gzip"]);
}

#[actix_web::test]
async fn a_corrupt_gzip_body_is_400() {
    let (_dir, app) = service!();
    let req = post_batch(good_batch().to_string()).insert_header((CONTENT_ENCODING, "gzip"));
    assert_refusal_then_healthy!(app, req, 400, "malformed_body", &["gzip"]);
}

#[actix_web::test]
async fn a_batch_without_v_is_422() {
    let (_dir, app) = service!();
    let mut body = good_batch();
    body.as_object_mut().map(|o| o.remove("v"));
    assert_refusal_then_healthy!(
        app,
        post_batch(body.to_string()),
        422,
        "invalid_batch",
        &["`v`"]
    );
}

#[actix_web::test]
async fn a_batch_of_201_events_is_422() {
    let (_dir, app) = service!();
    let events: Vec<Value> = (0..=LIMITS.browser_batch_events)
        .map(|i| vital("FCP", 100.0, &format!("v6-{i}"), 1))
        .collect();
    let body = batch(json!(events)).to_string();
    assert_refusal_then_healthy!(app, post_batch(body), 422, "invalid_batch", &["201", "200"]);
    // Nothing of a refused batch is stored.
    let data = get(&app, &format!("{VITALS}?hours=1")).await;
    assert_eq!(data.data()["vitals"]["FCP"]["count"], json!(0));
}

#[actix_web::test]
async fn a_batch_whose_events_are_not_an_array_is_422() {
    let (_dir, app) = service!();
    let body = batch(json!({"type": "page_view", "start_time": 0})).to_string();
    assert_refusal_then_healthy!(
        app,
        post_batch(body),
        422,
        "invalid_batch",
        &["`events` must be an array"]
    );
}

#[actix_web::test]
async fn bad_items_are_refused_alone_and_the_good_ones_stored() {
    let (_dir, app) = service!();
    let mut negative = vital("LCP", 1.0, "v6-neg", 1);
    negative["value"] = json!(-5.0);
    let body = batch(json!([
        vital("LCP", 1500.0, "v6-lcp", 1),
        {"type": "teleport", "start_time": 0},
        negative,
        vital("FCP", 900.0, "v6-fcp", 1),
        "not an object",
    ]));
    let reply = send(&app, post_batch(body.to_string()).to_request()).await;
    let data = reply.data();
    assert_eq!(data["accepted"], json!(2));
    let rejected = data["rejected"].as_array().cloned().unwrap_or_default();
    let indexes: Vec<&Value> = rejected.iter().map(|r| &r["index"]).collect();
    assert_eq!(indexes, [&json!(1), &json!(2), &json!(4)], "{}", reply.text);
    for r in &rejected {
        assert!(!r["reason"].as_str().unwrap_or_default().is_empty(), "{r}");
    }
    assert!(rejected[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("teleport"));

    let vitals = get(&app, &format!("{VITALS}?hours=1")).await;
    let vitals = &vitals.data()["vitals"];
    assert_eq!(vitals["LCP"]["count"], json!(1));
    assert_eq!(vitals["LCP"]["p75"], json!(1500.0));
    assert_eq!(vitals["FCP"]["count"], json!(1));
    assert_eq!(vitals["FCP"]["p75"], json!(900.0));
}

#[actix_web::test]
async fn text_plain_with_charset_is_accepted() {
    let (_dir, app) = service!();
    for content_type in [
        "text/plain;charset=UTF-8",
        "text/plain",
        "text/plain; charset=utf-8",
    ] {
        let req = post_raw(good_batch().to_string()).insert_header((CONTENT_TYPE, content_type));
        let reply = send(&app, req.to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(2), "{content_type}");
        assert_eq!(reply.data()["rejected"], json!([]));
    }
}

#[actix_web::test]
async fn application_json_is_accepted() {
    let (_dir, app) = service!();
    let req = post_raw(good_batch().to_string()).insert_header((CONTENT_TYPE, "application/json"));
    let reply = send(&app, req.to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(2));
}

#[actix_web::test]
async fn a_gzip_encoded_batch_is_accepted_and_stored() {
    let (_dir, app) = service!();
    let body = batch(json!([vital("TTFB", 321.0, "v6-ttfb", 1)])).to_string();
    let reply = send(&app, post_gzip(body.as_bytes()).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(1));
    let vitals = get(&app, &format!("{VITALS}?hours=1")).await;
    assert_eq!(vitals.data()["vitals"]["TTFB"]["p75"], json!(321.0));
}

#[actix_web::test]
async fn a_write_key_in_the_query_or_header_is_taken() {
    let (_dir, app) = service!();
    let req = post_batch(good_batch().to_string()).uri(&format!("{INGEST}?key=pk_test"));
    assert_eq!(send(&app, req.to_request()).await.status, StatusCode::OK);
    let req = post_batch(good_batch().to_string()).insert_header(("X-Perfwatch-Key", "pk_test"));
    assert_eq!(send(&app, req.to_request()).await.status, StatusCode::OK);
}
