//! The records reach the real collector: the backend in-process, pointed at the collector
//! binary of this workspace, answers calls to its API, and the collector's statistics count
//! every API call by endpoint and every model call by model, failures included.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use perfwatch_example_backend::reporter::ReporterConfig;
use serde_json::{json, Value};

/// `groups` of a statistics answer as key → the number under `count_field`.
fn counts(data: &Value, count_field: &str) -> BTreeMap<String, u64> {
    data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            (
                g["key"].as_str().unwrap_or_default().to_owned(),
                g[count_field].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn api_and_ai_calls_arrive_at_the_collector_with_the_right_counts() {
    let collector = Collector::start();
    let app = built_app();
    let backend = Backend::start(
        quick(0.3),
        ReporterConfig {
            collector: collector.url.clone(),
            interval: Duration::from_millis(200),
            ..ReporterConfig::default()
        },
        app.path(),
    );

    for _ in 0..3 {
        let reply = get(&format!("{}/api/models", backend.url)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let models = ["gpt-4o", "claude-sonnet-4", "gemini-2.5-flash", "gpt-4o"];
    let (mut succeeded, mut failed) = (0u64, 0u64);
    for i in 0..8 {
        let reply = post_json(
            &format!("{}/api/chat", backend.url),
            &json!({"model": models[i % models.len()], "message": format!("question {i}")}),
        )
        .await;
        match reply.status {
            200 => succeeded += 1,
            503 => failed += 1,
            other => panic!("chat answered {other}: {}", reply.text()),
        }
    }
    let unknown = post_json(
        &format!("{}/api/chat", backend.url),
        &json!({"model": "no-such-model", "message": "hi"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    // A page of the app is served, but not reported: only API calls are.
    assert_eq!(get(&format!("{}/chat/1", backend.url)).await.status, 200);

    let expected_endpoints = BTreeMap::from([
        ("GET /api/models".to_owned(), 3),
        ("POST /api/chat".to_owned(), 9),
    ]);
    let api = eventually(Duration::from_secs(20), || async {
        let data = collector
            .data("/api/v1/monitoring/api/stats?hours=1&group_by=endpoint")
            .await;
        (counts(&data, "count") == expected_endpoints).then_some(data)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the API calls did not arrive: {:?}",
            backend.reporter.stats()
        )
    });
    assert_eq!(api["total_requests"], json!(12), "{api}");
    let statuses = &api["status_distribution"];
    assert_eq!(statuses["200"], json!(3 + succeeded), "{api}");
    assert_eq!(statuses["404"], json!(1), "{api}");
    if failed > 0 {
        assert_eq!(statuses["503"], json!(failed), "{api}");
    }

    let expected_models = BTreeMap::from([
        ("gpt-4o".to_owned(), 4),
        ("claude-sonnet-4".to_owned(), 2),
        ("gemini-2.5-flash".to_owned(), 2),
    ]);
    let ai = eventually(Duration::from_secs(20), || async {
        let data = collector
            .data("/api/v1/monitoring/ai/stats?hours=1&group_by=model")
            .await;
        (counts(&data, "calls") == expected_models).then_some(data)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the AI calls did not arrive: {:?}",
            backend.reporter.stats()
        )
    });
    assert_eq!(ai["total_calls"], json!(8), "{ai}");
    let success_rate = ai["success_rate_percent"].as_f64().unwrap_or(-1.0);
    assert!(
        (success_rate - succeeded as f64 * 100.0 / 8.0).abs() < 1e-6,
        "{succeeded} of 8 succeeded: {ai}"
    );
    assert!(
        ai["tokens"]["input"].as_u64().unwrap_or_default() > 0,
        "{ai}"
    );

    let stats = backend.reporter.stats();
    assert_eq!(
        (stats.sent, stats.refused, stats.dropped),
        (20, 0, 0),
        "{stats:?}"
    );
    backend.stop().await;
}

#[actix_web::test]
async fn requests_are_answered_promptly_while_the_collector_is_down() {
    let app = built_app();
    let backend = Backend::start(
        quick(0.0),
        ReporterConfig {
            collector: format!("http://{}", closed_address()),
            capacity: 5,
            interval: Duration::from_millis(50),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            ..ReporterConfig::default()
        },
        app.path(),
    );

    let mut records = 0;
    for i in 0..20 {
        let reply = if i % 2 == 0 {
            records += 1;
            get(&format!("{}/api/models", backend.url)).await
        } else {
            records += 2; // the API call and the model call
            post_json(
                &format!("{}/api/chat", backend.url),
                &json!({"model": "gpt-4o-mini", "message": "still there?"}),
            )
            .await
        };
        assert_eq!(reply.status, 200, "request {i}: {}", reply.text());
    }

    // The sender keeps trying; the buffer holds the newest five, the rest are dropped.
    let stats = eventually(Duration::from_secs(5), || async {
        let stats = backend.reporter.stats();
        (stats.retries >= 2).then_some(stats)
    })
    .await
    .unwrap_or_else(|| panic!("no retries: {:?}", backend.reporter.stats()));
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert!(stats.buffered <= 5, "{stats:?}");
    assert!(
        stats.dropped >= records - 10,
        "{records} records: {stats:?}"
    );

    // At shutdown one last try fails; what is left is dropped, and every record is counted.
    let took = backend.reporter.clone();
    backend.stop().await;
    let stats = took.stats();
    assert_eq!(stats.buffered, 0, "{stats:?}");
    assert_eq!(stats.dropped, records, "{stats:?}");
}
