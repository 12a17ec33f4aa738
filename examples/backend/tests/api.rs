//! The simulated AI API and the app's files, as a browser sees them, and the records each API
//! request leaves in the reporter's buffer (aimed at no collector, so they stay there).

mod common;

use common::*;
use perfwatch_example_backend::reporter::Record;
use perfwatch_example_backend::simulate::Simulation;
use serde_json::{json, Value};

#[actix_web::test]
async fn models_and_chat_answer_their_documented_shapes() {
    let app = built_app();
    let backend = Backend::start(quick(0.0), idle_reporter(), app.path());

    let models = get(&format!("{}/api/models", backend.url)).await;
    assert_eq!(models.status, 200);
    assert!(models.content_type.starts_with("application/json"));
    let models = models.json();
    assert_eq!(
        models[0],
        json!({"id": "gpt-4o", "name": "GPT-4o", "provider": "openai"})
    );
    let providers: Vec<&str> = models
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["provider"].as_str())
        .collect();
    assert!(providers.contains(&"anthropic") && providers.contains(&"google"));

    let chat = post_json(
        &format!("{}/api/chat", backend.url),
        &json!({"model": "claude-sonnet-4", "message": "What is INP?"}),
    )
    .await;
    assert_eq!(chat.status, 200, "{}", chat.text());
    let reply = chat.json();
    let fields: Vec<&str> = reply
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        [
            "input_tokens",
            "latency_ms",
            "model",
            "output_tokens",
            "reply"
        ]
    );
    assert_eq!(reply["model"], json!("claude-sonnet-4"));
    assert!(reply["reply"]
        .as_str()
        .unwrap_or_default()
        .contains("Claude"));
    assert!(reply["input_tokens"].as_u64().unwrap_or_default() > 0);
    assert!(reply["output_tokens"].as_u64().unwrap_or_default() > 0);
    let latency = reply["latency_ms"].as_u64().unwrap_or_default();
    assert!((5..=200).contains(&latency), "{reply}");

    // A string body sent by `fetch` without a header arrives as text/plain: taken too.
    let plain = send(
        awc::Client::new()
            .post(format!("{}/api/chat", backend.url))
            .insert_header(("content-type", "text/plain;charset=UTF-8")),
        r#"{"model": "gpt-4o", "message": "hi"}"#,
    )
    .await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    backend.stop().await;
}

#[actix_web::test]
async fn bad_requests_get_a_status_and_a_clear_message() {
    let app = built_app();
    let backend = Backend::start(quick(0.0), idle_reporter(), app.path());
    let chat = format!("{}/api/chat", backend.url);
    let error = |reply: &Reply| {
        reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    let unknown = post_json(&chat, &json!({"model": "gpt-9", "message": "hi"})).await;
    assert_eq!(unknown.status, 404);
    assert!(
        error(&unknown).contains("unknown model `gpt-9`"),
        "{}",
        unknown.text()
    );

    let not_json = send(
        awc::Client::new()
            .post(&chat)
            .insert_header(("content-type", "application/json")),
        "{model: gpt-4o",
    )
    .await;
    assert_eq!(not_json.status, 400);
    assert!(
        error(&not_json).starts_with("malformed request body"),
        "{}",
        not_json.text()
    );

    let missing = post_json(&chat, &json!({"model": "gpt-4o"})).await;
    assert_eq!(missing.status, 400);
    assert!(error(&missing).contains("`message`"), "{}", missing.text());

    let wrong_type = post_json(&chat, &json!({"model": "gpt-4o", "message": 42})).await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.text());

    let empty = post_json(&chat, &json!({"model": "gpt-4o", "message": "  "})).await;
    assert_eq!(empty.status, 400);
    assert!(error(&empty).contains("must not be empty"));

    let huge = post_json(
        &chat,
        &json!({"model": "gpt-4o", "message": "x".repeat(17_000)}),
    )
    .await;
    assert_eq!(huge.status, 413, "{}", huge.text());
    assert!(error(&huge).contains("16384 bytes"), "{}", huge.text());

    let xml = send(
        awc::Client::new()
            .post(&chat)
            .insert_header(("content-type", "application/xml")),
        "<chat/>",
    )
    .await;
    assert_eq!(xml.status, 415, "{}", xml.text());

    let get_chat = get(&chat).await;
    assert_eq!(get_chat.status, 405);
    assert_eq!(
        get_chat.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );

    let nowhere = get(&format!("{}/api/nowhere", backend.url)).await;
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.content_type.starts_with("application/json"));
    assert!(error(&nowhere).contains("/api/nowhere"));

    // Every one of them is an API call record, under its route (or the unmatched one).
    let endpoints: Vec<(String, String, u16)> = backend
        .reporter
        .waiting()
        .into_iter()
        .filter_map(|r| match r {
            Record::Api(a) => Some((a.method, a.endpoint, a.status)),
            Record::Ai(_) => None,
        })
        .collect();
    assert_eq!(endpoints.len(), 9, "{endpoints:?}");
    assert!(endpoints.contains(&("POST".into(), "/api/chat".into(), 413)));
    assert!(endpoints.contains(&("GET".into(), "/api/{unmatched}".into(), 404)));
    backend.stop().await;
}

#[actix_web::test]
async fn a_failed_model_call_is_a_503_and_an_unsuccessful_ai_record() {
    let app = built_app();
    let backend = Backend::start(quick(1.0), idle_reporter(), app.path());
    let reply = post_json(
        &format!("{}/api/chat", backend.url),
        &json!({"model": "gemini-2.5-flash", "message": "hello"}),
    )
    .await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert!(reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .contains("gemini-2.5-flash is overloaded"));
    let ai: Vec<_> = backend
        .reporter
        .waiting()
        .into_iter()
        .filter_map(|r| match r {
            Record::Ai(a) => Some(a),
            Record::Api(_) => None,
        })
        .collect();
    assert_eq!(ai.len(), 1);
    assert_eq!(
        (ai[0].provider.as_str(), ai[0].success, ai[0].error_type),
        ("google", false, Some("overloaded"))
    );
    backend.stop().await;
}

#[actix_web::test]
async fn the_browsers_trace_id_is_on_the_records() {
    let app = built_app();
    let backend = Backend::start(quick(0.0), idle_reporter(), app.path());
    let reply = send(
        awc::Client::new()
            .post(format!("{}/api/chat", backend.url))
            .insert_header(("content-type", "application/json"))
            .insert_header((
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )),
        r#"{"model": "gpt-4o", "message": "trace me"}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    get(&format!("{}/api/models", backend.url)).await;
    let traces: Vec<Option<String>> = backend
        .reporter
        .waiting()
        .into_iter()
        .map(|r| match r {
            Record::Api(a) => a.trace_id,
            Record::Ai(a) => a.trace_id,
        })
        .collect();
    let id = Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned());
    // The model call, the chat request, then the models request (no header).
    assert_eq!(traces, [id.clone(), id, None]);
    backend.stop().await;
}

/// Many chats at once are all answered (the simulated model latency is a timer, not a blocked
/// worker; no wall-clock threshold here: machines are shared and noisy).
#[actix_web::test]
async fn concurrent_chats_are_all_answered() {
    let app = built_app();
    let simulation = Simulation {
        latency_ms: 400..=400,
        failure_rate: 0.0,
    };
    let backend = Backend::start(simulation, idle_reporter(), app.path());
    let url = format!("{}/api/chat", backend.url);
    let calls = (0..8).map(|_| {
        let url = url.clone();
        async move { post_json(&url, &json!({"model": "gpt-4o", "message": "hi"})).await }
    });
    let replies = futures_join(calls).await;
    assert_eq!(replies.len(), 8);
    assert!(replies.iter().all(|r| r.status == 200));
    backend.stop().await;
}

/// Awaits every future, concurrently, on this thread.
async fn futures_join<F: std::future::Future<Output = Reply> + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<Reply> {
    let handles: Vec<_> = futures.map(actix_web::rt::spawn).collect();
    let mut replies = Vec::new();
    for handle in handles {
        replies.push(handle.await.expect("the call completes"));
    }
    replies
}

#[actix_web::test]
async fn the_app_is_served_with_its_content_types_and_a_fallback_to_index() {
    let app = built_app();
    let backend = Backend::start(quick(0.0), idle_reporter(), app.path());
    let expect = |path: &'static str, status: u16, content_type: &'static str| {
        let url = format!("{}{path}", backend.url);
        async move {
            let reply = get(&url).await;
            assert_eq!(reply.status, status, "{path}: {}", reply.text());
            assert!(
                reply.content_type.starts_with(content_type),
                "{path}: {}",
                reply.content_type
            );
            reply
        }
    };
    let index = expect("/", 200, "text/html").await;
    assert!(index.text().contains("ai-hub"));
    expect("/assets/index-abc123.js", 200, "text/javascript").await;
    expect("/assets/index-abc123.css", 200, "text/css").await;
    let wasm = expect("/assets/perfwatch_bg.wasm", 200, "application/wasm").await;
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");
    // A client-side route: the app's index.html, not cached.
    let route = expect("/chat/42", 200, "text/html").await;
    assert!(route.text().contains("ai-hub"));
    assert_eq!(
        route
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
    // Outside the directory: never served.
    let escape = get(&format!("{}/../Cargo.toml", backend.url)).await;
    assert!(!escape.text().contains("[package]"));
    // Files are not API calls: nothing was recorded.
    assert!(backend.reporter.waiting().is_empty());
    backend.stop().await;
}

#[actix_web::test]
async fn without_a_built_app_the_api_still_works() {
    let empty = tempfile::tempdir().expect("a directory");
    let backend = Backend::start(quick(0.0), idle_reporter(), empty.path());
    let page = get(&format!("{}/", backend.url)).await;
    assert_eq!(page.status, 404);
    assert!(page.text().contains("not built"), "{}", page.text());
    let models = get(&format!("{}/api/models", backend.url)).await;
    assert_eq!(models.status, 200);
    assert!(matches!(models.json(), Value::Array(a) if a.len() == 4));
    backend.stop().await;
}
