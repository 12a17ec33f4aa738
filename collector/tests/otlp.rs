//! `POST /v1/traces` in binary protobuf, as most OpenTelemetry exporters send it (gzip-encoded
//! when `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`): answers are OTLP messages in the request's
//! encoding, AI spans are priced from the collector's table, and a body over the 4 MB limit is
//! refused with a `google.rpc.Status`. (The OpenTelemetry JS SDK's own exporters are driven
//! against the real binary in `tests/e2e/otlp.test.mjs`.)

mod common;

use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::*;
use perfwatch_collector::otlp::wire::{
    AnyValue, ExportTraceServiceRequest, KeyValue, Resource, ResourceSpans, RpcStatus, ScopeSpans,
    Span, Status, Value, STATUS_CODE_ERROR,
};
use perfwatch_collector::otlp::ExportTraceServiceResponse;
use perfwatch_collector::pricing::{PriceTable, TokenUsage};
use perfwatch_protocol::LIMITS;
use prost::Message;

const PROTOBUF: &str = "application/x-protobuf";

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    attr(key, Value::String(value.to_owned()))
}

/// A chat span of `model` that started `ms_ago` and took 800 ms.
fn chat_span(span_id: u64, model: &str, attributes: Vec<KeyValue>) -> Span {
    let start = (now_ms() as u64 - 1_000) * 1_000_000;
    let mut all = vec![
        text("gen_ai.operation.name", "chat"),
        text("gen_ai.provider.name", "openai"),
        text("gen_ai.request.model", model),
    ];
    all.extend(attributes);
    Span {
        trace_id: vec![7; 16],
        span_id: span_id.to_be_bytes().to_vec(),
        name: format!("chat {model}"),
        kind: 3,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 800_000_000,
        attributes: all,
        status: None,
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![text("service.name", "chat-api")],
            }),
            scope_spans: vec![ScopeSpans { spans }],
        }],
    }
}

fn post(body: Vec<u8>) -> TestRequest {
    TestRequest::post()
        .uri("/v1/traces")
        .insert_header((CONTENT_TYPE, PROTOBUF))
        .set_payload(body)
}

/// Sends `req`, giving the status, content type and raw body.
async fn call<S, B>(app: &S, req: TestRequest) -> (StatusCode, String, Vec<u8>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, test::read_body(res).await.to_vec())
}

#[actix_web::test]
async fn a_gzip_protobuf_export_is_priced_and_answered_in_protobuf() {
    let (dir, app) = service!();
    let usage = [
        attr("gen_ai.usage.input_tokens", Value::Int(10_000)),
        attr("gen_ai.usage.output_tokens", Value::Int(2_000)),
        attr("gen_ai.usage.cache_read.input_tokens", Value::Int(6_000)),
        text("user.id", "u_1"),
    ];
    let mut failed = chat_span(2, "gpt-4o", vec![text("error.type", "timeout")]);
    failed.status = Some(Status {
        message: "deadline exceeded".to_owned(),
        code: STATUS_CODE_ERROR,
    });
    let body = request(vec![chat_span(1, "gpt-4o", usage.to_vec()), failed]).encode_to_vec();

    let (status, content_type, answer) = call(
        &app,
        post(gzip(&body)).insert_header((CONTENT_ENCODING, "gzip")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, PROTOBUF);
    let answer = ExportTraceServiceResponse::decode(answer.as_slice()).expect("an OTLP answer");
    assert_eq!(answer.partial_success, None, "every span was taken");

    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    let (computed, at_ms, success): (f64, i64, bool) = conn
        .query_row(
            "SELECT computed_cost_usd, at_ms, success FROM ai_calls WHERE event_id = '0000000000000001'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("the priced call is stored under its span id");
    assert!(success);
    let expected = PriceTable::builtin()
        .cost(
            Some("openai"),
            "gpt-4o",
            &TokenUsage {
                input_tokens: 10_000,
                output_tokens: 2_000,
                cached_input_tokens: 6_000,
                ..TokenUsage::default()
            },
            at_ms,
        )
        .expect("gpt-4o is in the table");
    assert!(
        (computed - expected.cost_usd).abs() < 1e-12,
        "{computed} vs {expected:?}"
    );
    let (error_type, service): (String, String) = conn
        .query_row(
            "SELECT error_type, service FROM ai_calls WHERE event_id = '0000000000000002' AND NOT success",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the failed call is stored as failed");
    assert_eq!(
        (error_type.as_str(), service.as_str()),
        ("timeout", "chat-api")
    );
}

#[actix_web::test]
async fn refusals_are_protobuf_messages_in_the_answer() {
    let (_dir, app) = service!();
    let bad = chat_span(
        3,
        "gpt-4o",
        vec![attr("gen_ai.usage.output_tokens", Value::Int(-1))],
    );
    let body = request(vec![bad, chat_span(4, "gpt-4o", vec![])]).encode_to_vec();
    let (status, _, answer) = call(&app, post(body)).await;
    assert_eq!(status, StatusCode::OK);
    let partial = ExportTraceServiceResponse::decode(answer.as_slice())
        .expect("an OTLP answer")
        .partial_success
        .expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("gen_ai.usage.output_tokens"),
        "{}",
        partial.error_message
    );
}

#[actix_web::test]
async fn an_export_over_the_limit_or_not_protobuf_gets_a_status_body() {
    let (_dir, app) = service!();
    let (status, content_type, answer) = call(&app, post(vec![0u8; LIMITS.otlp_bytes + 1])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, PROTOBUF);
    let refusal = RpcStatus::decode(answer.as_slice()).expect("a google.rpc.Status");
    assert!(
        refusal.message.contains("4194304 bytes"),
        "{}",
        refusal.message
    );

    let (status, _, answer) = call(&app, post(b"\x0a\x05hello".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let refusal = RpcStatus::decode(answer.as_slice()).expect("a google.rpc.Status");
    assert_eq!(refusal.code, 3);
    assert!(refusal.message.contains("protobuf"), "{}", refusal.message);

    // Still serving.
    let (status, _, _) = call(&app, post(request(vec![]).encode_to_vec())).await;
    assert_eq!(status, StatusCode::OK);
}

/// A server span with the conventions' `_OTHER` method is stored (as `OTHER`); one without a
/// status (no answer was sent) is not a call, and not refused either.
#[actix_web::test]
async fn server_spans_as_the_conventions_allow_them() {
    let (dir, app) = service!();
    let server = |span_id: u64, method: &str, status: Option<i64>| {
        let mut span = chat_span(span_id, "unused", vec![]);
        span.kind = 2;
        span.attributes = vec![
            text("http.request.method", method),
            text("http.route", "/items/{id}"),
        ];
        if let Some(status) = status {
            span.attributes
                .push(attr("http.response.status_code", Value::Int(status)));
        }
        span
    };
    let body = request(vec![server(1, "_OTHER", Some(405)), server(2, "GET", None)]);
    let (status, _, answer) = call(&app, post(body.encode_to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    let answer = ExportTraceServiceResponse::decode(answer.as_slice()).expect("an OTLP answer");
    assert_eq!(answer.partial_success, None);
    let conn = rusqlite::Connection::open(dir.path().join("perfwatch.db")).expect("database");
    let stored: Vec<(String, i64)> = conn
        .prepare("SELECT method, status FROM api_calls WHERE service = 'chat-api'")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("query");
    assert_eq!(stored, [("OTHER".to_owned(), 405)]);
}
