//! How the sender treats the collector's answers, against a stand-in collector: a 429 with
//! `Retry-After` is waited out and retried, another 4xx drops the batch (counted as refused),
//! and the write key travels as `X-Perfwatch-Key`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::*;
use perfwatch_example_backend::reporter::ReporterConfig;
use serde_json::{json, Value};

/// What the stand-in collector saw: (path, key header, records, when).
type Seen = Arc<Mutex<Vec<(String, Option<String>, usize, Instant)>>>;

async fn stand_in(req: HttpRequest, body: web::Json<Value>, seen: web::Data<Seen>) -> HttpResponse {
    let path = req.path().to_owned();
    let key = req
        .headers()
        .get("x-perfwatch-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let records = body["calls"].as_array().map_or(0, Vec::len);
    let earlier = {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        let earlier = seen.iter().filter(|(p, ..)| *p == path).count();
        seen.push((path.clone(), key, records, Instant::now()));
        earlier
    };
    match (path.as_str(), earlier) {
        // API calls: rate limited once, then taken.
        ("/api/v1/monitoring/api-calls", 0) => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "1"))
            .json(json!({"success": false, "error": {"code": "rate_limited", "message": "slow down"}})),
        ("/api/v1/monitoring/api-calls", _) => HttpResponse::Ok()
            .json(json!({"success": true, "data": {"accepted": records, "rejected": []}})),
        // AI calls: refused for good.
        _ => HttpResponse::UnprocessableEntity().json(
            json!({"success": false, "error": {"code": "invalid_batch", "message": "no"}}),
        ),
    }
}

#[actix_web::test]
async fn rate_limits_are_waited_out_and_refusals_are_counted_not_retried() {
    let seen: Seen = Arc::default();
    let data = web::Data::new(Arc::clone(&seen));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::post().to(stand_in))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("a port");
    let collector = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let server_handle = server.handle();
    actix_web::rt::spawn(server);

    let app = built_app();
    let backend = Backend::start(
        quick(0.0),
        ReporterConfig {
            collector,
            write_key: Some("pk_test".into()),
            interval: Duration::from_millis(100),
            ..ReporterConfig::default()
        },
        app.path(),
    );
    let reply = post_json(
        &format!("{}/api/chat", backend.url),
        &json!({"model": "gpt-4o", "message": "hi"}),
    )
    .await;
    assert_eq!(reply.status, 200);

    let stats = eventually(Duration::from_secs(10), || async {
        let stats = backend.reporter.stats();
        (stats.sent == 1 && stats.refused == 1).then_some(stats)
    })
    .await
    .unwrap_or_else(|| panic!("{:?}", backend.reporter.stats()));
    assert_eq!(
        (stats.retries, stats.dropped, stats.buffered),
        (1, 0, 0),
        "{stats:?}"
    );

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let paths: Vec<&str> = seen.iter().map(|(p, ..)| p.as_str()).collect();
    // The API batch twice (429, then 200); the AI batch once (422, not retried).
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/api-calls")).count(),
        2,
        "{paths:?}"
    );
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/ai-calls")).count(),
        1,
        "{paths:?}"
    );
    assert!(seen
        .iter()
        .all(|(_, key, records, _)| key.as_deref() == Some("pk_test") && *records == 1));
    let api_times: Vec<Instant> = seen
        .iter()
        .filter(|(p, ..)| p.ends_with("/api-calls"))
        .map(|(.., at)| *at)
        .collect();
    let waited = api_times[1] - api_times[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 s, waited {waited:?}"
    );

    backend.stop().await;
    server_handle.stop(true).await;
}
