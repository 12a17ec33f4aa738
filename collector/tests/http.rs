//! The HTTP surface around the endpoints: CORS (preflights and error answers too), 404/405 in the
//! envelope, health, system info, and 503 when the store cannot write (the dashboard page:
//! `dashboard_page.rs`).

mod common;

use actix_web::http::header::{CONTENT_TYPE, ORIGIN};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::*;
use perfwatch_protocol::LIMITS;
use serde_json::json;

const APP_ORIGIN: &str = "https://app.example";

#[actix_web::test]
async fn a_cors_preflight_is_answered() {
    let (_dir, app) = service!();
    let req = TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri(INGEST)
        .insert_header((ORIGIN, APP_ORIGIN))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "content-type, content-encoding, x-perfwatch-key",
        ));
    let reply = send(&app, req.to_request()).await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.header("access-control-allow-origin"), "*");
    let methods = reply
        .header("access-control-allow-methods")
        .to_ascii_uppercase();
    for method in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = reply
        .header("access-control-allow-headers")
        .to_ascii_lowercase();
    for header in [
        "content-type",
        "content-encoding",
        "x-perfwatch-key",
        "authorization",
    ] {
        assert!(headers.contains(header), "{headers}");
    }
    assert_eq!(reply.header("access-control-max-age"), "86400");
    assert_eq!(reply.header("access-control-allow-credentials"), "");
}

#[actix_web::test]
async fn cross_origin_answers_carry_cors_headers_errors_included() {
    let (_dir, app) = service!();
    let good = batch(json!([vital("CLS", 0.05, "v6-cls", 1)])).to_string();
    let reply = send(
        &app,
        post_batch(good)
            .insert_header((ORIGIN, APP_ORIGIN))
            .to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), "*");

    let mut huge = vec![b' '; LIMITS.browser_batch_bytes + 10];
    huge[0] = b'{';
    let reply = send(
        &app,
        post_batch(huge)
            .insert_header((ORIGIN, APP_ORIGIN))
            .to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.header("access-control-allow-origin"), "*");

    let no_v = json!({"app": "x", "events": []}).to_string();
    let reply = send(
        &app,
        post_batch(no_v)
            .insert_header((ORIGIN, APP_ORIGIN))
            .to_request(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.header("access-control-allow-origin"), "*");
}

#[actix_web::test]
async fn an_unknown_api_path_is_404_in_the_envelope() {
    let (_dir, app) = service!();
    let reply = get(&app, "/api/v1/monitoring/nope?key=secret").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json["success"], json!(false));
    assert_eq!(reply.json["error"]["code"], json!("not_found"));
    let message = reply.json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("/api/v1/monitoring/nope"), "{message}");
    assert!(
        !message.contains("secret"),
        "the query string must not be echoed: {message}"
    );
}

#[actix_web::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let (_dir, app) = service!();
    let reply = get(&app, INGEST).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "POST");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json["error"]["code"], json!("method_not_allowed"));
    let req = TestRequest::post()
        .uri(HEALTH)
        .insert_header((CONTENT_TYPE, "application/json"));
    let reply = send(&app, req.to_request()).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow"), "GET");
}

#[actix_web::test]
async fn health_reports_store_limits_and_version() {
    let (_dir, app) = service!();
    let reply = get(&app, HEALTH).await;
    let data = reply.data();
    assert_eq!(data["status"], json!("ok"));
    assert_eq!(data["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(data["uptime_seconds"].is_u64());
    assert_eq!(data["store"]["kind"], json!("sqlite"));
    assert_eq!(data["store"]["reachable"], json!(true));
    assert_eq!(
        data["store"]["schema_version"],
        json!(perfwatch_collector::store::sqlite::SCHEMA_VERSION)
    );
    assert_eq!(data["queue_depth"], json!(0));
    assert_eq!(data["limits"]["browser_batch_bytes"], json!(65536));
    assert_eq!(data["limits"]["browser_batch_events"], json!(200));
}

#[actix_web::test]
async fn system_info_describes_the_host() {
    let (_dir, app) = service!();
    let reply = get(&app, SYSTEM_INFO).await;
    let data = reply.data();
    assert!(
        data["cpu_count"].as_u64().unwrap_or_default() >= 1,
        "{data}"
    );
    assert!(!data["architecture"].as_str().unwrap_or_default().is_empty());
    for key in [
        "hostname",
        "platform",
        "kernel_version",
        "cpu_model",
        "memory_total_bytes",
        "boot_time",
        "boot_time_rfc3339",
        "uptime_seconds",
    ] {
        assert!(data.get(key).is_some(), "{key} missing in {data}");
    }
}

#[actix_web::test]
async fn a_store_that_cannot_write_answers_503_with_retry_after() {
    let (dir, app) = service!();
    // Another process holds the write lock longer than the store's 5 s busy timeout.
    let blocker = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("open");
    blocker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let body = batch(json!([vital("LCP", 1000.0, "v6-x", 1)])).to_string();
    let reply = send(&app, post_batch(body).to_request()).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text
    );
    assert_eq!(reply.header("retry-after"), "5");
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json["error"]["code"], json!("store_unavailable"));
    // The database's own words stay in the log: the answer goes to the open internet.
    let message = reply.json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("retry later"), "{message}");
    assert!(!message.to_lowercase().contains("sqlite"), "{message}");
    blocker.execute_batch("ROLLBACK").expect("unlock");
    // Once the lock is gone, the same batch goes in.
    let body = batch(json!([vital("LCP", 1000.0, "v6-x", 1)])).to_string();
    assert_eq!(
        send(&app, post_batch(body).to_request()).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn metrics_expose_the_ingest_pipeline_in_prometheus_text() {
    let (_dir, app) = service!();
    let body = batch(json!([vital("LCP", 1200.0, "m1", 1)])).to_string();
    let stored = send(&app, post_batch(body).to_request()).await;
    assert_eq!(stored.status, StatusCode::OK);
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        reply.header("content-type")
    );
    let sample = |name: &str| -> f64 {
        reply
            .text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing in:\n{}", reply.text))
            .parse()
            .unwrap()
    };
    assert_eq!(sample("perfwatch_store_batches_written_total"), 1.0);
    assert_eq!(sample("perfwatch_ingest_queue_batches"), 0.0);
    assert!(sample("perfwatch_store_commits_total") >= 1.0);
    assert!(sample("perfwatch_store_last_commit_seconds") > 0.0);
    assert_eq!(sample("perfwatch_store_up"), 1.0);
    assert!(reply
        .text
        .contains("# TYPE perfwatch_store_commits_total counter"));
}
