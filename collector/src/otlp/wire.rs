//! The part of OTLP's trace messages the collector reads (opentelemetry-proto,
//! `collector/trace/v1/trace_service.proto` and `trace/v1/trace.proto`), decodable from both
//! OTLP/HTTP encodings: binary protobuf (prost) and OTLP's JSON mapping (serde).
//!
//! Fields the collector does not use (links, events, dropped counts, schema URLs, ...) are left
//! out; protobuf skips unknown fields and serde ignores unknown keys, so requests that carry
//! them decode the same. The JSON mapping follows the OTLP specification: lowerCamelCase keys,
//! trace and span ids as hex strings, 64-bit integers as strings or numbers, enums as numbers
//! (their names are accepted too).

use prost::Message;
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::window::shorten;

/// `ExportTraceServiceRequest`: the body of `POST /v1/traces`.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// The spans of one resource (one process of one service).
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
}

/// What produced the spans: `service.name` and the other resource attributes.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

/// The spans of one instrumentation scope.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeSpans {
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
}

/// One span.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Span {
    /// 16 bytes (32 hex digits in JSON).
    #[prost(bytes = "vec", tag = "1")]
    #[serde(deserialize_with = "hex_id")]
    pub trace_id: Vec<u8>,
    /// 8 bytes (16 hex digits in JSON).
    #[prost(bytes = "vec", tag = "2")]
    #[serde(deserialize_with = "hex_id")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "5")]
    pub name: String,
    /// [`SpanKind`] as a number.
    #[prost(int32, tag = "6")]
    #[serde(deserialize_with = "span_kind")]
    pub kind: i32,
    #[prost(fixed64, tag = "7")]
    #[serde(deserialize_with = "uint64")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    #[serde(deserialize_with = "uint64")]
    pub end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

/// `Span.SpanKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum SpanKind {
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

/// A span's outcome.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    #[prost(string, tag = "2")]
    pub message: String,
    /// [`STATUS_CODE_ERROR`] when the span failed.
    #[prost(int32, tag = "3")]
    #[serde(deserialize_with = "status_code")]
    pub code: i32,
}

/// `Status.StatusCode.STATUS_CODE_ERROR`.
pub const STATUS_CODE_ERROR: i32 = 2;

/// One attribute.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// An attribute's value: one of its variants, or none.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(from = "AnyValueJson")]
pub struct AnyValue {
    #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<Value>,
}

/// The variants of [`AnyValue`].
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    #[prost(string, tag = "1")]
    String(String),
    #[prost(bool, tag = "2")]
    Bool(bool),
    #[prost(int64, tag = "3")]
    Int(i64),
    #[prost(double, tag = "4")]
    Double(f64),
    #[prost(message, tag = "5")]
    Array(ArrayValue),
    #[prost(message, tag = "6")]
    KeyValueList(KeyValueList),
    #[prost(bytes = "vec", tag = "7")]
    Bytes(Vec<u8>),
}

/// An array attribute.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// A map attribute.
#[derive(Clone, PartialEq, Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValueList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// `ExportTraceServiceResponse`: what `POST /v1/traces` answers on success.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceResponse {
    /// Set when some spans were refused.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportTracePartialSuccess>,
}

/// How many spans were refused, and why.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTracePartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_spans: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `google.rpc.Status`: the body of an OTLP/HTTP error answer.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// [`AnyValue`] in OTLP JSON: `{"stringValue": "..."}`, `{"intValue": "42"}`, ...
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AnyValueJson {
    string_value: Option<String>,
    bool_value: Option<bool>,
    #[serde(deserialize_with = "opt_int64")]
    int_value: Option<i64>,
    #[serde(deserialize_with = "opt_double")]
    double_value: Option<f64>,
    array_value: Option<ArrayValue>,
    kvlist_value: Option<KeyValueList>,
    #[serde(deserialize_with = "opt_base64")]
    bytes_value: Option<Vec<u8>>,
}

impl From<AnyValueJson> for AnyValue {
    fn from(json: AnyValueJson) -> Self {
        let value = json
            .string_value
            .map(Value::String)
            .or(json.bool_value.map(Value::Bool))
            .or(json.int_value.map(Value::Int))
            .or(json.double_value.map(Value::Double))
            .or(json.array_value.map(Value::Array))
            .or(json.kvlist_value.map(Value::KeyValueList))
            .or(json.bytes_value.map(Value::Bytes));
        Self { value }
    }
}

/// A JSON number or a string holding one (protobuf's JSON mapping writes 64-bit integers as
/// strings; most senders accept and some send numbers).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(serde_json::Number),
    Text(String),
}

impl NumberOrText {
    fn text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

fn uint64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let raw = NumberOrText::deserialize(d)?;
    raw.text().parse().map_err(|_| {
        de::Error::custom(format!(
            "`{}` is not an unsigned 64-bit integer",
            raw.text()
        ))
    })
}

fn opt_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let raw = NumberOrText::deserialize(d)?;
    raw.text().parse().map(Some).map_err(|_| {
        de::Error::custom(format!("intValue `{}` is not a 64-bit integer", raw.text()))
    })
}

fn opt_double<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match NumberOrText::deserialize(d)? {
        NumberOrText::Number(n) => Ok(n.as_f64()),
        // The JSON mapping writes the special values as strings.
        NumberOrText::Text(t) => match t.as_str() {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            other => other
                .parse()
                .map(Some)
                .map_err(|_| de::Error::custom(format!("doubleValue `{other}` is not a number"))),
        },
    }
}

fn opt_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    let text = String::deserialize(d)?;
    base64_decode(&text)
        .map(Some)
        .ok_or_else(|| de::Error::custom("bytesValue is not base64"))
}

/// A trace or span id: hex digits (OTLP JSON), or empty.
fn hex_id<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    if text.len() % 2 != 0 || text.len() > 64 {
        return Err(de::Error::custom(format!(
            "id `{}` is not an even number of hex digits",
            shorten(&text)
        )));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("x"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| de::Error::custom(format!("id `{}` is not hex", shorten(&text))))
}

/// An enum field: its number, or its name from `names` (index = number).
fn enum_number<'de, D: Deserializer<'de>>(
    d: D,
    names: &[&str],
    what: &str,
) -> Result<i32, D::Error> {
    match NumberOrText::deserialize(d)? {
        NumberOrText::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| de::Error::custom(format!("{what} `{n}` is not an enum number"))),
        NumberOrText::Text(name) => names
            .iter()
            .position(|known| *known == name)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| de::Error::custom(format!("{what} `{}` is unknown", shorten(&name)))),
    }
}

fn span_kind<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    const NAMES: [&str; 6] = [
        "SPAN_KIND_UNSPECIFIED",
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    ];
    enum_number(d, &NAMES, "kind")
}

fn status_code<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    const NAMES: [&str; 3] = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
    enum_number(d, &NAMES, "status code")
}

/// Standard or URL-safe base64, padded or not (protobuf's JSON mapping accepts both).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const ENGINES: [GeneralPurpose; 2] = [
        GeneralPurpose::new(&STANDARD, LENIENT),
        GeneralPurpose::new(&URL_SAFE, LENIENT),
    ];
    ENGINES.iter().find_map(|engine| engine.decode(text).ok())
}

/// Decodes a protobuf request body.
pub fn decode_protobuf(body: &[u8]) -> Result<ExportTraceServiceRequest, prost::DecodeError> {
    ExportTraceServiceRequest::decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_alphabet_padded_or_not() {
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(base64_decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(base64_decode(""), Some(Vec::new()));
        assert_eq!(base64_decode("a*b"), None);
    }

    #[test]
    fn json_and_protobuf_decode_to_the_same_request() {
        let json = r#"{"resourceSpans":[{"resource":{"attributes":[
              {"key":"service.name","value":{"stringValue":"chat-api"}}]},
            "scopeSpans":[{"scope":{"name":"manual"},"spans":[{
              "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
              "name":"chat gpt-4o","kind":3,
              "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
              "attributes":[
                {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},
                {"key":"ratio","value":{"doubleValue":0.5}},
                {"key":"ok","value":{"boolValue":true}},
                {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}},
                {"key":"raw","value":{"bytesValue":"aGk="}}],
              "status":{"code":"STATUS_CODE_ERROR","message":"boom"},
              "events":[],"droppedAttributesCount":0}]}]}]}"#;
        let from_json: ExportTraceServiceRequest =
            serde_json::from_str(json).expect("OTLP JSON decodes");
        let encoded = from_json.encode_to_vec();
        let from_protobuf = decode_protobuf(&encoded).expect("protobuf decodes");
        assert_eq!(from_json, from_protobuf);

        let span = &from_protobuf.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id.len(), 16);
        assert_eq!(
            span.span_id,
            [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
        );
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(
            span.end_time_unix_nano - span.start_time_unix_nano,
            1_000_000_000
        );
        assert_eq!(
            span.status.as_ref().map(|s| s.code),
            Some(STATUS_CODE_ERROR)
        );
        let values: Vec<_> = span.attributes.iter().map(|kv| kv.value.clone()).collect();
        assert_eq!(
            values[0].as_ref().and_then(|v| v.value.clone()),
            Some(Value::Int(1200))
        );
        assert_eq!(
            values[4].as_ref().and_then(|v| v.value.clone()),
            Some(Value::Bytes(b"hi".to_vec()))
        );
    }

    #[test]
    fn bad_json_names_what_is_wrong() {
        for (body, expected) in [
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#,
                "even number of hex digits",
            ),
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SIDEWAYS"}]}]}]}"#,
                "is unknown",
            ),
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-5"}]}]}]}"#,
                "unsigned 64-bit",
            ),
        ] {
            let error = serde_json::from_str::<ExportTraceServiceRequest>(body)
                .expect_err(body)
                .to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
