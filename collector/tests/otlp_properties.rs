//! Properties of OTLP trace ingest, checked on generated inputs (proptest), through the entry
//! points `POST /v1/traces` uses: [`otlp::decode_protobuf`] or serde for OTLP JSON, then
//! [`otlp::records`] and the normalizing of the records it takes.
//!
//! - arbitrary bytes never panic the protobuf decoder, the JSON decoder nor the mapping;
//! - whatever decodes is accounted for: every span is recorded, ignored or refused, once;
//! - generated valid requests (AI spans, HTTP server spans, other spans) map exactly: each AI
//!   and HTTP server span becomes its call, the others are ignored, none is refused;
//! - the same request in OTLP JSON decodes to the same message as in protobuf, and maps the
//!   same.
//!
//! Each property runs [`CASES`] cases; `fuzz/` searches the same entry points for longer.

use std::collections::BTreeSet;

use perfwatch_collector::normalize;
use perfwatch_collector::otlp::wire::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, Resource, ResourceSpans, ScopeSpans, Span,
    SpanKind, Status, Value as Attr, STATUS_CODE_ERROR,
};
use perfwatch_collector::otlp::{self, ExportTraceServiceRequest, SpanRecords};
use perfwatch_collector::pricing::PriceTable;
use perfwatch_protocol::LIMITS;
use proptest::prelude::*;
use proptest::sample::select;
use prost::Message;
use serde_json::{json, Value};

#[path = "../../protocol/tests/support/mutate.rs"]
mod mutate;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use mutate::mutated;

/// Cases per property.
const CASES: u32 = 256;

/// When the collector received the requests, epoch ms.
const RECEIVED: i64 = 1_795_676_400_000;

// ---------------------------------------------------------------------------------------------
// The invariants

/// The spans of `request`, counted from the message itself.
fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// Spans taken: those with an AI call or an API call (a span may give both).
fn recorded(found: &SpanRecords) -> usize {
    let taken: BTreeSet<usize> = found
        .ai_calls
        .accepted
        .iter()
        .map(|(i, _, _)| *i)
        .chain(found.api_calls.accepted.iter().map(|(i, _, _)| *i))
        .collect();
    assert!(taken.iter().all(|i| *i < found.spans), "indexes in range");
    taken.len()
}

/// Maps `request` as the endpoint does and checks that every span is accounted for once;
/// the records normalize (and are priced) without panicking.
fn map_and_account(request: &ExportTraceServiceRequest) -> SpanRecords {
    let found = otlp::records(request, RECEIVED);
    assert_eq!(found.spans, span_count(request));
    assert_eq!(
        recorded(&found) + found.ignored + found.refused.len(),
        found.spans,
        "recorded + ignored + refused == spans; refused: {:?}",
        found.refused
    );
    assert!(found.ai_calls.rejected.is_empty() && found.api_calls.rejected.is_empty());
    for reason in &found.refused {
        assert!(reason.starts_with("span "), "{reason}");
    }
    if !found.refused.is_empty() {
        assert!(found.refusal_message().contains(" spans refused"));
    }
    for (_, call, at_ms) in &found.api_calls.accepted {
        assert!(call.endpoint.len() <= LIMITS.url_bytes && !call.endpoint.is_empty());
        assert!((100..=599).contains(&call.status));
        assert!(call.duration_ms.is_finite() && call.duration_ms >= 0.0);
        assert!(
            (RECEIVED - LIMITS.max_age_ms as i64..=RECEIVED + LIMITS.max_ahead_ms as i64)
                .contains(at_ms)
        );
    }
    for (_, call, _) in &found.ai_calls.accepted {
        assert!(call.model.len() <= LIMITS.name_bytes && !call.model.is_empty());
        assert!(call.cached_input_tokens + call.cache_write_tokens <= call.input_tokens);
    }
    let copy = SpanRecords {
        api_calls: found.api_calls.clone(),
        ai_calls: found.ai_calls.clone(),
        spans: found.spans,
        ignored: found.ignored,
        refused: found.refused.clone(),
    };
    let api = normalize::api_call_records(copy.api_calls, RECEIVED);
    let ai = normalize::ai_call_records(copy.ai_calls, RECEIVED, &PriceTable::builtin());
    assert_eq!(api.len(), found.api_calls.accepted.len());
    assert_eq!(ai.len(), found.ai_calls.accepted.len());
    found
}

// ---------------------------------------------------------------------------------------------
// OTLP JSON, written from the prost message (the collector only reads it)

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn any_value_json(value: &AnyValue) -> Value {
    match &value.value {
        None => json!({}),
        Some(Attr::String(s)) => json!({ "stringValue": s }),
        Some(Attr::Bool(b)) => json!({ "boolValue": b }),
        Some(Attr::Int(n)) => json!({ "intValue": n.to_string() }),
        Some(Attr::Double(d)) if d.is_finite() => json!({ "doubleValue": d }),
        Some(Attr::Double(d)) => {
            json!({ "doubleValue": if *d > 0.0 { "Infinity" } else { "-Infinity" } })
        }
        Some(Attr::Array(a)) => {
            json!({"arrayValue": {"values": a.values.iter().map(any_value_json).collect::<Vec<_>>()}})
        }
        Some(Attr::KeyValueList(l)) => {
            json!({"kvlistValue": {"values": attributes_json(&l.values)}})
        }
        Some(Attr::Bytes(b)) => json!({ "bytesValue": STANDARD.encode(b) }),
    }
}

fn attributes_json(attributes: &[KeyValue]) -> Vec<Value> {
    attributes
        .iter()
        .map(|kv| match &kv.value {
            Some(value) => json!({"key": kv.key, "value": any_value_json(value)}),
            None => json!({ "key": kv.key }),
        })
        .collect()
}

/// `request` in OTLP's JSON mapping: camelCase keys, hex ids, 64-bit integers as strings (or
/// numbers, which receivers accept too), enums as numbers.
fn otlp_json(request: &ExportTraceServiceRequest) -> Value {
    let resource_spans: Vec<Value> = request
        .resource_spans
        .iter()
        .map(|rs| {
            let scope_spans: Vec<Value> = rs
                .scope_spans
                .iter()
                .map(|ss| {
                    let spans: Vec<Value> = ss
                        .spans
                        .iter()
                        .enumerate()
                        .map(|(i, span)| {
                            let time = |t: u64| {
                                if i % 2 == 0 {
                                    json!(t.to_string())
                                } else {
                                    json!(t)
                                }
                            };
                            let mut out = json!({
                                "traceId": hex(&span.trace_id), "spanId": hex(&span.span_id),
                                "name": span.name, "kind": span.kind,
                                "startTimeUnixNano": time(span.start_time_unix_nano),
                                "endTimeUnixNano": time(span.end_time_unix_nano),
                                "attributes": attributes_json(&span.attributes),
                                "droppedAttributesCount": 0, "events": []
                            });
                            if let Some(status) = &span.status {
                                out["status"] =
                                    json!({"message": status.message, "code": status.code});
                            }
                            out
                        })
                        .collect();
                    json!({"scope": {"name": "generated"}, "spans": spans})
                })
                .collect();
            let mut out = json!({ "scopeSpans": scope_spans });
            if let Some(resource) = &rs.resource {
                out["resource"] = json!({"attributes": attributes_json(&resource.attributes)});
            }
            out
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

// ---------------------------------------------------------------------------------------------
// Generated spans

fn kv(key: &str, value: Attr) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

/// Plain text (no control characters) of 1 to about 40 characters.
fn plain() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            6 => proptest::char::range(' ', '~'),
            1 => any::<char>().prop_filter("plain", |c| !c.is_control()),
        ],
        1..40,
    )
    .prop_map(|c| c.into_iter().collect())
}

/// An integer attribute as senders write it: int, whole double or text.
fn integer(n: i64) -> impl Strategy<Value = Attr> {
    prop_oneof![
        Just(Attr::Int(n)),
        Just(Attr::Double(n as f64)),
        Just(Attr::String(n.to_string())),
    ]
}

/// What a generated span should become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    AiCall,
    ApiCall,
    Ignored,
}

/// The fields every generated span has: ids, name, a start inside the accepted window and a
/// duration under a day.
fn span_frame() -> impl Strategy<Value = Span> {
    let window = -(LIMITS.max_age_ms as i64) + 1000..LIMITS.max_ahead_ms as i64 - 1000;
    (
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 8),
        any::<String>(),
        window,
        0..86_400_000_000_000u64,
        proptest::option::of((any::<String>(), 0..2i32)),
    )
        .prop_map(|(trace_id, span_id, name, offset_ms, nanos, status)| {
            let start = (RECEIVED + offset_ms) as u64 * 1_000_000;
            Span {
                trace_id,
                span_id,
                name,
                kind: SpanKind::Internal as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: start + nanos,
                attributes: vec![],
                status: status.map(|(message, code)| Status { message, code }),
            }
        })
}

fn ai_span() -> impl Strategy<Value = (Span, Expect)> {
    const MAX: i64 = 1 << 40;
    let tokens = (0..=MAX, 0..=MAX, 0.0..=1.0f64, 0.0..=1.0f64, 0.0..=1.0f64);
    (
        span_frame(),
        (plain(), any::<bool>(), proptest::option::of(plain())),
        proptest::option::of(select(vec!["chat", "embeddings", "execute_tool", "x"])),
        tokens.prop_flat_map(|(input, output, cached, write, reasoning)| {
            let cached = (input as f64 * cached) as i64;
            let write = ((input - cached) as f64 * write) as i64;
            let reasoning = (output as f64 * reasoning) as i64;
            (
                integer(input),
                integer(output),
                integer(cached),
                integer(write),
                integer(reasoning),
            )
        }),
        (
            proptest::option::of(plain()),
            proptest::option::of(plain()),
            select(vec![0, 1, 3]),
        ),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(mut span, (model, requested, provider), op, tokens, (error, user, kind), failed)| {
                let (input, output, cached, write, reasoning) = tokens;
                let model_key = if requested {
                    "gen_ai.request.model"
                } else {
                    "gen_ai.response.model"
                };
                span.kind = kind;
                span.attributes = vec![
                    kv(model_key, Attr::String(model)),
                    kv("gen_ai.usage.input_tokens", input),
                    kv("gen_ai.usage.output_tokens", output),
                    kv("gen_ai.usage.cache_read.input_tokens", cached),
                    kv("gen_ai.usage.cache_creation.input_tokens", write),
                    kv("gen_ai.usage.reasoning.output_tokens", reasoning),
                ];
                let optional = [
                    ("gen_ai.provider.name", provider),
                    ("gen_ai.operation.name", op.map(str::to_owned)),
                    ("error.type", error),
                    ("user.id", user),
                ];
                for (key, value) in optional {
                    if let Some(value) = value {
                        span.attributes.push(kv(key, Attr::String(value)));
                    }
                }
                if failed.0 {
                    span.status = Some(Status {
                        message: if failed.1 {
                            "x".repeat(300)
                        } else {
                            String::new()
                        },
                        code: STATUS_CODE_ERROR,
                    });
                }
                (span, Expect::AiCall)
            },
        )
}

fn http_server_span() -> impl Strategy<Value = (Span, Expect)> {
    let method = prop_oneof![
        select(vec!["GET", "POST", "_OTHER", "delete"]).prop_map(str::to_owned),
        "[A-Za-z]{1,16}",
    ];
    (
        span_frame(),
        method,
        (100..=599i64).prop_flat_map(integer),
        prop_oneof![
            plain().prop_map(|r| ("http.route", r)),
            plain().prop_map(|p| ("url.path", format!("/{p}?q=1"))),
            plain().prop_map(|p| ("http.target", p)),
        ],
        any::<bool>(),
    )
        .prop_map(|(mut span, method, status, (route_key, route), old)| {
            span.kind = SpanKind::Server as i32;
            let (method_key, status_key) = if old {
                ("http.method", "http.status_code")
            } else {
                ("http.request.method", "http.response.status_code")
            };
            span.attributes = vec![
                kv(method_key, Attr::String(method)),
                kv(status_key, status),
                kv(route_key, Attr::String(route)),
            ];
            (span, Expect::ApiCall)
        })
}

/// A span that is not a call: internal work, a client call, a tool execution without a model,
/// a server span that sent no answer.
fn other_span() -> impl Strategy<Value = (Span, Expect)> {
    (span_frame(), select(vec![0, 1, 2, 3, 4, 5]), plain()).prop_map(|(mut span, kind, text)| {
        span.kind = kind;
        span.attributes = vec![
            kv("app.detail", Attr::String(text)),
            kv("gen_ai.operation.name", Attr::String("execute_tool".into())),
            kv("http.request.method", Attr::String("GET".into())),
            kv("http.route", Attr::String("/x".into())),
        ];
        (span, Expect::Ignored)
    })
}

/// A valid export request and what each of its spans (in order) should become.
fn valid_request() -> impl Strategy<Value = (ExportTraceServiceRequest, Vec<Expect>)> {
    let span = prop_oneof![ai_span(), http_server_span(), other_span()];
    let scope = proptest::collection::vec(span, 0..8);
    let resource = (
        proptest::option::of(plain()),
        proptest::collection::vec(scope, 0..3),
    );
    proptest::collection::vec(resource, 0..4).prop_map(|resources| {
        let mut expected = vec![];
        let resource_spans = resources
            .into_iter()
            .map(|(service, scopes)| ResourceSpans {
                resource: service.map(|s| Resource {
                    attributes: vec![kv("service.name", Attr::String(s))],
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|spans| ScopeSpans {
                        spans: spans
                            .into_iter()
                            .map(|(span, expect)| {
                                expected.push(expect);
                                span
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        (ExportTraceServiceRequest { resource_spans }, expected)
    })
}

/// Any attribute value, nested a few levels (no NaN, so that messages compare equal).
fn any_attr() -> impl Strategy<Value = Option<Attr>> {
    let leaf = prop_oneof![
        Just(None),
        any::<String>().prop_map(|s| Some(Attr::String(s))),
        select(vec![
            "",
            "0",
            "42",
            " 7 ",
            "-1",
            "1e3",
            "99999999999999999999",
            "gpt-4o"
        ])
        .prop_map(|s| Some(Attr::String(s.to_owned()))),
        any::<bool>().prop_map(|b| Some(Attr::Bool(b))),
        any::<i64>().prop_map(|n| Some(Attr::Int(n))),
        select(vec![-1i64, 0, 99, 100, 599, 600, 1 << 40, (1 << 40) + 1])
            .prop_map(|n| Some(Attr::Int(n))),
        any::<f64>()
            .prop_filter("no NaN", |d| !d.is_nan())
            .prop_map(|d| Some(Attr::Double(d))),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(|b| Some(Attr::Bytes(b))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|values| {
                Some(Attr::Array(ArrayValue {
                    values: values.into_iter().map(|value| AnyValue { value }).collect(),
                }))
            }),
            proptest::collection::vec(inner, 0..4).prop_map(|values| {
                Some(Attr::KeyValueList(KeyValueList {
                    values: values
                        .into_iter()
                        .map(|value| KeyValue {
                            key: "k".into(),
                            value: Some(AnyValue { value }),
                        })
                        .collect(),
                }))
            }),
        ]
    })
}

/// A span with any ids, kind, times, status and any values under the attributes the mapping
/// reads.
fn any_span() -> impl Strategy<Value = Span> {
    let keys = select(vec![
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.system",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "error.type",
        "http.request.method",
        "http.method",
        "http.response.status_code",
        "http.status_code",
        "http.route",
        "url.path",
        "http.target",
        "user.id",
        "enduser.id",
        "other",
    ]);
    let time = prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        any::<u64>(),
        (-40 * 86_400_000i64..600_000).prop_map(|ms| (RECEIVED + ms) as u64 * 1_000_000),
    ];
    (
        (
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 0..10),
            any::<String>(),
            prop_oneof![-1..7i32, any::<i32>()],
        ),
        (time.clone(), time),
        proptest::collection::vec((keys, any_attr()), 0..10),
        proptest::option::of((any::<String>(), prop_oneof![0..3i32, any::<i32>()])),
    )
        .prop_map(
            |((trace_id, span_id, name, kind), (start, end), attrs, status)| Span {
                trace_id,
                span_id,
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes: attrs
                    .into_iter()
                    .map(|(key, value)| KeyValue {
                        key: key.to_owned(),
                        value: value.map(|value| AnyValue { value: Some(value) }),
                    })
                    .collect(),
                status: status.map(|(message, code)| Status { message, code }),
            },
        )
}

fn any_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope = proptest::collection::vec(any_span(), 0..6).prop_map(|spans| ScopeSpans { spans });
    let resource = (
        proptest::option::of(proptest::collection::vec(
            (select(vec!["service.name", "x"]), any_attr()),
            0..3,
        )),
        proptest::collection::vec(scope, 0..3),
    )
        .prop_map(|(attributes, scope_spans)| ResourceSpans {
            resource: attributes.map(|attributes| Resource {
                attributes: attributes
                    .into_iter()
                    .map(|(key, value)| KeyValue {
                        key: key.to_owned(),
                        value: value.map(|value| AnyValue { value: Some(value) }),
                    })
                    .collect(),
            }),
            scope_spans,
        });
    proptest::collection::vec(resource, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

/// Arbitrary bytes, or a generated request (protobuf or JSON) damaged in a few places.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        any_request().prop_flat_map(|r| mutated(r.encode_to_vec())),
        any_request().prop_flat_map(|r| mutated(otlp_json(&r).to_string().into_bytes())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_never_panic_decoding_and_mapping(body in any_body()) {
        if let Ok(request) = otlp::decode_protobuf(&body) {
            map_and_account(&request);
        }
        if let Ok(request) = serde_json::from_slice::<ExportTraceServiceRequest>(&body) {
            map_and_account(&request);
        }
    }

    /// Any values under the attributes the mapping reads, any kinds, times and statuses: each
    /// span is still recorded, ignored or refused, once, in protobuf and in JSON alike.
    #[test]
    fn any_span_is_accounted_for_in_both_encodings(request in any_request()) {
        let decoded = otlp::decode_protobuf(&request.encode_to_vec()).expect("decodes");
        prop_assert_eq!(&decoded, &request);
        let protobuf = map_and_account(&decoded);

        let text = otlp_json(&request).to_string();
        let from_json: ExportTraceServiceRequest = serde_json::from_str(&text).expect("decodes");
        prop_assert_eq!(&from_json, &request);
        let json = map_and_account(&from_json);
        prop_assert_eq!(recorded(&json), recorded(&protobuf));
        prop_assert_eq!(json.ignored, protobuf.ignored);
        prop_assert_eq!(json.refused, protobuf.refused);
    }

    #[test]
    fn valid_requests_map_every_span_to_its_call((request, expected) in valid_request()) {
        let count = |e: Expect| expected.iter().filter(|x| **x == e).count();
        for body in [
            request.encode_to_vec(),
            otlp_json(&request).to_string().into_bytes(),
        ] {
            let decoded: ExportTraceServiceRequest = match body.first() {
                Some(b'{') => serde_json::from_slice(&body).expect("OTLP JSON decodes"),
                _ => otlp::decode_protobuf(&body).expect("protobuf decodes"),
            };
            prop_assert_eq!(&decoded, &request);
            let found = map_and_account(&decoded);
            prop_assert!(found.refused.is_empty(), "{:?}", found.refused);
            prop_assert_eq!(found.ai_calls.accepted.len(), count(Expect::AiCall));
            prop_assert_eq!(found.api_calls.accepted.len(), count(Expect::ApiCall));
            prop_assert_eq!(found.ignored, count(Expect::Ignored));
            prop_assert_eq!(recorded(&found), count(Expect::AiCall) + count(Expect::ApiCall));
            for (index, _, _) in &found.ai_calls.accepted {
                prop_assert_eq!(expected[*index], Expect::AiCall);
            }
            for (index, call, _) in &found.api_calls.accepted {
                prop_assert_eq!(expected[*index], Expect::ApiCall);
                prop_assert!(call.method.bytes().all(|b| b.is_ascii_alphabetic()));
            }
        }
    }
}
