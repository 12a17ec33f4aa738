//! Parsing a browser batch: the envelope whole, then every event on its own.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

use crate::browser::{BatchHeader, Event};
use crate::limits::LIMITS;
use crate::validate::ValidationError;
use crate::PROTOCOL_VERSION;

/// Why a whole batch was refused. [`BatchError::is_malformed`] tells a body that is not a JSON
/// object (400) from an object whose envelope breaks a rule (422).
#[derive(Debug, Error)]
pub enum BatchError {
    #[error("the body is not valid UTF-8 (first bad byte at offset {offset}); send JSON encoded as UTF-8")]
    NotUtf8 { offset: usize },
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    #[error("a batch must be a JSON object, like {{\"v\": 1, \"app\": ..., \"events\": [...]}}; got {0}")]
    NotAnObject(&'static str),
    #[error("the batch envelope is invalid: {0}")]
    Envelope(String),
    #[error("protocol version {0} is not supported; this collector speaks v{PROTOCOL_VERSION}")]
    Version(u32),
    #[error("the batch has {count} events; at most {max} are accepted in one batch, split it")]
    TooManyEvents { count: usize, max: usize },
    #[error("the batch envelope is invalid: {0}")]
    Rule(#[from] ValidationError),
    #[error("the batch has {count} records; at most {max} are accepted in one batch, split it")]
    TooManyRecords { count: usize, max: usize },
}

impl BatchError {
    /// True when the body is not a JSON object at all (HTTP 400); false when it is one whose
    /// envelope breaks a rule (HTTP 422).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            Self::NotUtf8 { .. } | Self::NotJson(_) | Self::NotAnObject(_)
        )
    }
}

/// One refused item of a sound batch, as the collector reports it back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRejection {
    /// Index of the item in `events` (a browser batch) or `calls` (backend records).
    pub index: usize,
    /// What is wrong with it and what would be accepted, for a person.
    pub reason: String,
    /// The rule broken, for counting: [`ValidationError::code`], or `schema` when the item
    /// does not have an event's shape (unknown type, missing or mistyped field).
    pub code: &'static str,
}

/// [`ItemRejection::code`] of an item that is not an event's shape.
pub const SCHEMA_CODE: &str = "schema";

/// A batch whose envelope is sound: its header, the events that passed, and why the others failed.
#[derive(Debug, Clone)]
pub struct ParsedBatch {
    pub header: BatchHeader,
    /// Accepted events with their index in `events`.
    pub accepted: Vec<(usize, Event)>,
    pub rejected: Vec<ItemRejection>,
}

#[derive(Deserialize)]
struct EventsOnly<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// Parses and validates a browser batch. The caller has already bounded the body's size.
pub fn parse_browser_batch(body: &[u8]) -> Result<ParsedBatch, BatchError> {
    let text = json_object_text(body)?;

    let header: BatchHeader =
        serde_json::from_str(text).map_err(|e| BatchError::Envelope(without_position(&e)))?;
    if header.v != PROTOCOL_VERSION {
        return Err(BatchError::Version(header.v));
    }
    let events = serde_json::from_str::<EventsOnly<'_>>(text)
        .map_err(|e| match without_position(&e) {
            missing if missing.starts_with("missing field") => BatchError::Envelope(missing),
            other => BatchError::Envelope(format!("`events` must be an array of events ({other})")),
        })?
        .events;
    if events.len() > LIMITS.browser_batch_events {
        return Err(BatchError::TooManyEvents {
            count: events.len(),
            max: LIMITS.browser_batch_events,
        });
    }
    header.validate()?;

    let mut accepted = Vec::with_capacity(events.len());
    let mut rejected = Vec::new();
    for (index, raw) in events.into_iter().enumerate() {
        let checked = serde_json::from_str::<Event>(raw.get())
            .map_err(|e| (without_position(&e), SCHEMA_CODE))
            .and_then(|event| {
                event
                    .validate(&header)
                    .map(|()| event)
                    .map_err(|e| (e.to_string(), e.code()))
            });
        match checked {
            Ok(event) => accepted.push((index, event)),
            Err((reason, code)) => rejected.push(ItemRejection {
                index,
                reason,
                code,
            }),
        }
    }
    Ok(ParsedBatch {
        header,
        accepted,
        rejected,
    })
}

/// `body` as the text of a JSON object: UTF-8, valid JSON syntax (checked first, so that a broken
/// body is always a 400 whatever its first fields say), and an object.
pub(crate) fn json_object_text(body: &[u8]) -> Result<&str, BatchError> {
    let text = std::str::from_utf8(body).map_err(|e| BatchError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    serde_json::from_str::<IgnoredAny>(text).map_err(|e| BatchError::NotJson(e.to_string()))?;
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(text),
        Some(b'[') => Err(BatchError::NotAnObject("an array")),
        Some(b'"') => Err(BatchError::NotAnObject("a string")),
        _ => Err(BatchError::NotAnObject("a number, boolean or null")),
    }
}

/// serde_json's message without "at line 1 column 80": positions inside a one-line beacon body
/// help nobody, the field name does.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(cut) => msg[..cut].to_string(),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::{
        BrowserApiCall, BrowserError, EventBody, NavigationType, Rating, VitalName,
    };
    use serde_json::json;

    const SENT: f64 = 1_795_676_400_000.0;

    fn batch(events: serde_json::Value) -> serde_json::Value {
        json!({
            "v": 1, "app": "ai-hub", "release": "1.4.2", "session_id": "s1", "page_view_id": "p1",
            "user_id": "u_42", "url": "https://app.example/chat", "route": "/chat/:id",
            "time_origin": SENT - 5000.5, "sent_at": SENT, "events": events
        })
    }

    fn parse(value: &serde_json::Value) -> Result<ParsedBatch, BatchError> {
        parse_browser_batch(value.to_string().as_bytes())
    }

    /// `event` with `extra`'s fields added (or replaced).
    fn with(mut event: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
        if let (Some(event), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
            event.extend(extra.clone());
        }
        event
    }

    /// Each rejection names what its case expects, in order.
    fn assert_reasons(rejected: &[ItemRejection], cases: &[(serde_json::Value, &str)]) {
        for (rejection, (event, expected)) in rejected.iter().zip(cases) {
            assert!(
                rejection.reason.contains(expected),
                "item {} ({event}): {:?} lacks {expected:?}",
                rejection.index,
                rejection.reason
            );
        }
    }

    /// Parses the bad items of `cases` and the `good` ones interleaved in one batch (bad,
    /// good, bad, ...; `good` repeated as needed), and checks that each bad one, and only
    /// it, was rejected at its index with its reason.
    fn parse_interleaved(
        cases: &[(serde_json::Value, &str)],
        good: &[serde_json::Value],
    ) -> ParsedBatch {
        let events: Vec<serde_json::Value> = cases
            .iter()
            .map(|(event, _)| event.clone())
            .zip(good.iter().cycle().cloned())
            .flat_map(|(bad, good)| [bad, good])
            .collect();
        let parsed = parse(&batch(json!(events))).unwrap();
        assert_eq!(parsed.rejected.len(), cases.len(), "{:?}", parsed.rejected);
        assert_reasons(&parsed.rejected, cases);
        let indexes: Vec<usize> = parsed.rejected.iter().map(|r| r.index).collect();
        assert_eq!(indexes, (0..cases.len()).map(|i| 2 * i).collect::<Vec<_>>());
        assert_eq!(parsed.accepted.len(), cases.len());
        assert!(parsed.accepted.iter().all(|(index, _)| index % 2 == 1));
        parsed
    }

    fn vital(name: &str, value: f64) -> serde_json::Value {
        json!({"type": "web_vital", "name": name, "value": value, "delta": value,
               "id": "v6-1-1", "seq": 1, "rating": "good", "navigation_type": "navigate"})
    }

    #[test]
    fn parses_the_contract_example() {
        let parsed = parse(&batch(json!([
            {"type": "page_view", "page_view_id": "p1", "url": "https://app.example/chat",
             "route": "/chat/:id", "navigation_type": "navigate", "start_time": 0, "event_id": "e1"},
            {"type": "web_vital", "name": "LCP", "value": 1234.5, "delta": 1234.5, "id": "v6-1-2",
             "seq": 1, "rating": "needs-improvement", "navigation_type": "navigate", "attribution": {}},
            {"type": "navigation", "dns": 1.5, "connect": 2.0, "tls": 0, "ttfb": 80.25,
             "dom_interactive": 120, "load": 300, "transfer_size": 1200, "unknown_field": [1, 2]}
        ])))
        .unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.accepted.len(), 3);
        assert_eq!(parsed.header.app, "ai-hub");
        assert_eq!(parsed.accepted[0].1.event_id.as_deref(), Some("e1"));
        match &parsed.accepted[1].1.body {
            EventBody::WebVital(w) => {
                assert_eq!(w.name, VitalName::LCP);
                assert_eq!(w.value, 1234.5);
                assert_eq!(w.rating, Rating::NeedsImprovement);
                assert_eq!(w.navigation_type, Some(NavigationType::Navigate));
            }
            other => panic!("expected a web vital, got {other:?}"),
        }
        match &parsed.accepted[2].1.body {
            EventBody::Navigation(n) => {
                assert_eq!(n.ttfb, Some(80.25));
                assert_eq!(n.transfer_size, Some(1200));
            }
            other => panic!("expected navigation, got {other:?}"),
        }
    }

    #[test]
    fn bad_utf8_is_malformed() {
        let mut body = batch(json!([])).to_string().into_bytes();
        body.insert(10, 0xff);
        let err = parse_browser_batch(&body).unwrap_err();
        assert!(matches!(err, BatchError::NotUtf8 { offset: 10 }));
        assert!(err.is_malformed());
    }

    #[test]
    fn broken_json_is_malformed_even_when_fields_are_also_wrong() {
        let err = parse_browser_batch(br#"{"v": "one", "events": [}"#).unwrap_err();
        assert!(matches!(err, BatchError::NotJson(_)), "{err}");
        assert!(err.is_malformed());
        assert!(parse_browser_batch(b"").unwrap_err().is_malformed());
    }

    #[test]
    fn a_non_object_body_is_malformed() {
        for body in [&b"[1,2]"[..], b"\"batch\"", b"42", b"null"] {
            let err = parse_browser_batch(body).unwrap_err();
            assert!(matches!(err, BatchError::NotAnObject(_)), "{err}");
            assert!(err.is_malformed());
        }
    }

    #[test]
    fn missing_version_breaks_the_envelope() {
        let mut b = batch(json!([]));
        b.as_object_mut().unwrap().remove("v");
        let err = parse(&b).unwrap_err();
        assert!(!err.is_malformed());
        assert!(err.to_string().contains("missing field `v`"), "{err}");
    }

    #[test]
    fn other_versions_are_refused() {
        let mut b = batch(json!([]));
        b["v"] = json!(2);
        assert!(matches!(parse(&b).unwrap_err(), BatchError::Version(2)));
    }

    #[test]
    fn events_must_be_an_array() {
        let err = parse(&batch(json!({"type": "page_view"}))).unwrap_err();
        assert!(matches!(err, BatchError::Envelope(_)), "{err}");
        assert!(
            err.to_string().contains("`events` must be an array"),
            "{err}"
        );
        let mut b = batch(json!([]));
        b.as_object_mut().unwrap().remove("events");
        let err = parse(&b).unwrap_err();
        assert!(err.to_string().contains("`events`"), "{err}");
    }

    #[test]
    fn too_many_events_break_the_envelope() {
        let events: Vec<_> = (0..=LIMITS.browser_batch_events)
            .map(|_| json!({"type": "page_view", "start_time": 0}))
            .collect();
        let err = parse(&batch(json!(events))).unwrap_err();
        assert!(matches!(
            err,
            BatchError::TooManyEvents {
                count: 201,
                max: 200
            }
        ));
        let events: Vec<_> = (0..LIMITS.browser_batch_events)
            .map(|_| json!({"type": "page_view", "start_time": 0}))
            .collect();
        assert_eq!(parse(&batch(json!(events))).unwrap().accepted.len(), 200);
    }

    #[test]
    fn envelope_strings_are_bounded_and_required() {
        let mut b = batch(json!([]));
        b["app"] = json!("");
        assert!(matches!(
            parse(&b).unwrap_err(),
            BatchError::Rule(ValidationError::Empty { field: "app" })
        ));
        let mut b = batch(json!([]));
        b["session_id"] = json!("s".repeat(257));
        assert!(matches!(
            parse(&b).unwrap_err(),
            BatchError::Rule(ValidationError::StringTooLong {
                field: "session_id",
                ..
            })
        ));
        let mut b = batch(json!([]));
        b["url"] = json!(format!("https://x/{}", "a".repeat(2048)));
        assert!(parse(&b).is_err());
    }

    #[test]
    fn envelope_times_must_be_positive_and_ordered() {
        let mut b = batch(json!([]));
        b["time_origin"] = json!(-1.0);
        assert!(matches!(
            parse(&b).unwrap_err(),
            BatchError::Rule(ValidationError::NotPositive { .. })
        ));
        // A page that started an hour after its batch was sent.
        let mut b = batch(json!([]));
        b["time_origin"] = json!(SENT + 3_600_000.0);
        assert!(matches!(
            parse(&b).unwrap_err(),
            BatchError::Rule(ValidationError::TooFarAhead { .. })
        ));
        // Numbers JSON cannot hold as f64 are a parse error, not an infinity.
        let text = batch(json!([]))
            .to_string()
            .replace(&format!("\"sent_at\":{}", json!(SENT)), "\"sent_at\":1e400");
        assert!(parse_browser_batch(text.as_bytes()).is_err());
    }

    #[test]
    fn a_bad_item_is_rejected_alone_with_its_index_and_reason() {
        let parsed = parse(&batch(json!([
            vital("FCP", 100.0),
            {"type": "teleport", "start_time": 0},
            vital("LCP", -5.0),
            {"type": "web_vital", "name": "XYZ", "value": 1, "delta": 1, "id": "a", "rating": "good"},
            {"type": "page_view", "start_time": 0, "event_id": "e".repeat(300)},
            "not an object",
            vital("TTFB", 80.0),
        ])))
        .unwrap();
        let accepted: Vec<usize> = parsed.accepted.iter().map(|(i, _)| *i).collect();
        assert_eq!(accepted, vec![0, 6]);
        let rejected: Vec<usize> = parsed.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, vec![1, 2, 3, 4, 5]);
        assert!(parsed.rejected[0].reason.contains("teleport"));
        assert!(parsed.rejected[1]
            .reason
            .contains("`value` must not be negative"));
        assert!(parsed.rejected[2].reason.contains("XYZ"));
        assert!(parsed.rejected[3].reason.contains("`event_id`"));
    }

    #[test]
    fn vital_rules() {
        let mut zero_seq = vital("LCP", 1.0);
        zero_seq["seq"] = json!(0);
        let mut cls_negative = vital("CLS", 0.1);
        cls_negative["value"] = json!(-0.01);
        let mut negative_delta = vital("INP", 120.0);
        negative_delta["delta"] = json!(-40.0);
        let mut empty_id = vital("FCP", 1.0);
        empty_id["id"] = json!("");
        let mut bad_rating = vital("FCP", 1.0);
        bad_rating["rating"] = json!("great");
        let parsed = parse(&batch(json!([
            zero_seq,
            cls_negative,
            negative_delta,
            empty_id,
            bad_rating
        ])))
        .unwrap();
        let accepted: Vec<usize> = parsed.accepted.iter().map(|(i, _)| *i).collect();
        assert_eq!(accepted, vec![2], "{:?}", parsed.rejected);
    }

    #[test]
    fn api_calls_and_interactions_are_checked_item_by_item() {
        let parsed = parse(&batch(json!([
            {"type": "api_call", "name": "GET /models", "method": "GET",
             "url": "https://api.example/models", "status": 200, "ok": true,
             "start_time": 10, "duration": 83.2, "event_id": "c1"},
            {"type": "api_call", "name": "POST /chat", "status": 0, "ok": false, "duration": 5},
            {"type": "interaction", "name": "open-chat", "start_time": 0, "duration": 41.0},
            {"type": "api_call", "name": "GET /x", "status": 999, "duration": 1},
            {"type": "api_call", "name": "", "duration": 1},
            {"type": "interaction", "name": "a\u{7}b", "duration": 1},
            {"type": "interaction", "name": "slow", "duration": -1},
            {"type": "api_call", "name": "GET /y", "method": "G E T", "duration": 1}
        ])))
        .unwrap();
        let rejected: Vec<(usize, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.as_str()))
            .collect();
        assert_eq!(
            rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
            [3, 4, 5, 6, 7],
            "{rejected:?}"
        );
        assert!(rejected[0].1.contains("status"), "{rejected:?}");
        assert!(rejected[2].1.contains("control"), "{rejected:?}");
        let EventBody::ApiCall(call) = &parsed.accepted[0].1.body else {
            panic!("{:?}", parsed.accepted[0]);
        };
        assert_eq!(call.method_and_endpoint(), ("GET".into(), "/models".into()));
        assert!(!call.failed());
        // The called URL is the event's `url`.
        assert_eq!(
            parsed.accepted[0].1.url.as_deref(),
            Some("https://api.example/models")
        );
        let EventBody::ApiCall(unanswered) = &parsed.accepted[1].1.body else {
            panic!("{:?}", parsed.accepted[1]);
        };
        assert!(unanswered.failed());
        // Status 0 with `ok: true`: work that returned no HTTP status, and succeeded.
        let statusless = BrowserApiCall {
            ok: Some(true),
            ..unanswered.clone()
        };
        assert!(!statusless.failed());
        assert_eq!(
            unanswered.method_and_endpoint(),
            ("POST".into(), "/chat".into())
        );
    }

    #[test]
    fn the_apps_own_work_is_kept_and_each_bad_item_rejected_by_its_field() {
        let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let measure = |extra| with(json!({"type": "measure", "name": "chat-render"}), extra);
        let call = |extra| {
            let call = json!({"type": "api_call", "name": "GET /a", "status": 200,
                              "duration": 1});
            with(call, extra)
        };
        let not_a_trace_id = "`trace_id` must be a W3C trace id";
        let cases = [
            (
                json!({"type": "measure", "start_time": 1, "duration": 2}),
                "missing field `name`",
            ),
            (
                measure(json!({"name": "", "duration": 2})),
                "`name` must not be empty",
            ),
            (
                measure(json!({"name": "m".repeat(257), "duration": 2})),
                "`name` is 257 bytes",
            ),
            (
                measure(json!({"name": "chat\u{0}render", "duration": 2})),
                "`name` contains a control character",
            ),
            (
                measure(json!({"duration": -1})),
                "`duration` must not be negative",
            ),
            (
                measure(json!({"start_time": -3, "duration": 1})),
                "`start_time` must not be negative",
            ),
            (measure(json!({})), "missing field `duration`"),
            (
                json!({"type": "interaction", "name": "send", "duration": 1, "ok": "no"}),
                "`ok`: invalid type",
            ),
            (
                call(json!({"status": 0, "error_type": "E".repeat(257)})),
                "`error_type` is 257 bytes",
            ),
            (
                call(json!({"status": 0, "error_type": "Type\tError"})),
                "`error_type` contains a control character",
            ),
            (
                call(json!({"trace_id": trace_id.to_uppercase()})),
                not_a_trace_id,
            ),
            (call(json!({"trace_id": "0".repeat(32)})), not_a_trace_id),
            (call(json!({"trace_id": "4bf92f"})), not_a_trace_id),
            (call(json!({"trace_id": 42})), "`trace_id`: invalid type"),
        ];
        let good = [
            json!({"type": "measure", "name": "chat-render", "start_time": 0, "duration": 12.5,
                   "event_id": "m1"}),
            json!({"type": "interaction", "name": "send", "start_time": 5, "duration": 3,
                   "ok": false}),
            json!({"type": "interaction", "name": "open-chat", "duration": 41, "ok": true}),
            json!({"type": "api_call", "name": "POST /chat", "status": 0, "ok": false,
                   "duration": 7, "error_type": "TypeError", "trace_id": trace_id}),
            json!({"type": "api_call", "name": "GET /models", "status": 200, "duration": 80,
                   "error_type": "SyntaxError"}),
        ];
        let parsed = parse_interleaved(&cases, &good);

        let bodies: Vec<&EventBody> = parsed.accepted[..good.len()]
            .iter()
            .map(|(_, event)| &event.body)
            .collect();
        let [EventBody::Measure(measure), EventBody::Interaction(threw), EventBody::Interaction(done), EventBody::ApiCall(threw_call), EventBody::ApiCall(bad_body)] =
            bodies[..]
        else {
            panic!("{bodies:?}");
        };
        assert_eq!(
            (measure.name.as_str(), measure.start_time, measure.duration),
            ("chat-render", 0.0, 12.5)
        );
        assert_eq!(parsed.accepted[0].1.type_name(), "measure");
        assert!(threw.failed() && !done.failed());
        assert_eq!(threw_call.error_type.as_deref(), Some("TypeError"));
        assert_eq!(threw_call.trace_id.as_deref(), Some(trace_id));
        assert!(threw_call.failed());
        assert!(bad_body.failed(), "answered 200, but the call threw");
        for (_, event) in &parsed.accepted {
            let text = serde_json::to_string(event).unwrap();
            assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), event);
        }
    }

    #[test]
    fn errors_are_kept_with_their_lines_and_each_bad_one_rejected_by_its_field() {
        let error = |extra| {
            let error = json!({"type": "error", "message": "x is undefined", "kind": "render"});
            with(error, extra)
        };
        let long_stack = "    at f (https://x/app.js:1:2)\n".repeat(400);
        let cases = [
            (
                json!({"type": "error", "kind": "render"}),
                "missing field `message`",
            ),
            (
                json!({"type": "error", "message": "boom"}),
                "missing field `kind`",
            ),
            (error(json!({"message": 42})), "`message`: invalid type"),
            (
                error(json!({"message": "m".repeat(2049)})),
                "`message` is 2049 bytes long; at most 2048",
            ),
            (
                error(json!({"message": "bad\u{0}byte"})),
                "`message` contains a control character other than tab",
            ),
            (error(json!({"kind": ""})), "`kind` must not be empty"),
            (
                error(json!({"kind": "k".repeat(257)})),
                "`kind` is 257 bytes",
            ),
            (
                error(json!({"kind": "render\n"})),
                "`kind` contains a control character",
            ),
            (error(json!({"kind": ["render"]})), "`kind`: invalid type"),
            (
                error(json!({"name": "N".repeat(257)})),
                "`name` is 257 bytes",
            ),
            (
                error(json!({"name": "Type\tError"})),
                "`name` contains a control character",
            ),
            (error(json!({"name": 7})), "`name`: invalid type"),
            (
                error(json!({"stack": "s".repeat(16 * 1024 + 1)})),
                "`stack` is 16385 bytes long; at most 16384",
            ),
            (
                error(json!({"stack": "at f\u{1b}[0m"})),
                "`stack` contains a control character other than tab",
            ),
            (
                error(json!({"stack": {"frames": []}})),
                "`stack`: invalid type",
            ),
            (
                error(json!({"component_stack": "c".repeat(16 * 1024 + 1)})),
                "`component_stack` is 16385 bytes long",
            ),
            (
                error(json!({"component_stack": "in App\u{7}"})),
                "`component_stack` contains a control character other than tab",
            ),
            (
                error(json!({"start_time": -1})),
                "`start_time` must not be negative",
            ),
        ];
        let good = [
            json!({"type": "error", "kind": "render", "name": "TypeError",
                   "message": "Cannot read properties of undefined (reading 'id')\nin ChatView",
                   "stack": format!("TypeError: Cannot read properties\r\n\tat ChatView{long_stack}"),
                   "component_stack": "\n    in ChatView\n    in App", "start_time": 812.5,
                   "event_id": "err-1"}),
            json!({"type": "error", "kind": "unhandledrejection", "message": ""}),
            json!({"type": "error", "kind": "chunk-load", "message": "m".repeat(2048),
                   "name": "ChunkLoadError", "stack": "s".repeat(16 * 1024)}),
        ];
        let parsed = parse_interleaved(&cases, &good);

        let errors: Vec<&BrowserError> = parsed.accepted[..good.len()]
            .iter()
            .map(|(_, event)| match &event.body {
                EventBody::Error(error) => error,
                other => panic!("{other:?}"),
            })
            .collect();
        let [render, rejection, custom] = errors[..] else {
            panic!("{errors:?}");
        };
        assert_eq!(parsed.accepted[0].1.type_name(), "error");
        assert_eq!(parsed.accepted[0].1.start_time(), 812.5);
        assert_eq!(parsed.accepted[0].1.event_id.as_deref(), Some("err-1"));
        assert_eq!(
            (render.kind.as_str(), render.name.as_deref()),
            ("render", Some("TypeError"))
        );
        assert!(render.message.contains('\n'), "a message may span lines");
        assert!(render
            .stack
            .as_deref()
            .is_some_and(|s| s.contains("\r\n\tat")));
        assert_eq!(
            render.component_stack.as_deref(),
            Some("\n    in ChatView\n    in App")
        );
        assert_eq!(render.known_kind(), Some("render"));
        assert_eq!(
            (rejection.message.as_str(), rejection.name.as_deref()),
            ("", None),
            "an error without a message or a name"
        );
        assert_eq!(rejection.known_kind(), Some("unhandledrejection"));
        assert_eq!(rejection.start_time, 0.0);
        assert_eq!(custom.known_kind(), None, "any other kind is accepted");
        for (_, event) in &parsed.accepted {
            let text = serde_json::to_string(event).unwrap();
            assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), event);
        }
    }

    #[test]
    fn performance_entries_are_accepted_with_every_field() {
        let parsed = parse(&batch(json!([
            {"type": "long_task", "start_time": 812.0, "duration": 120.0},
            {"type": "long_task", "start_time": 900, "duration": 51, "name": "self",
             "container": "https://ads.example/frame.html", "event_id": "lt2"},
            {"type": "long_animation_frame", "start_time": 0, "duration": 0,
             "blocking_duration": 0},
            {"type": "long_animation_frame", "start_time": 1000, "duration": 180,
             "blocking_duration": 180, "render_start": 1150, "style_and_layout_start": 1160,
             "script_url": "https://app.example/main.js", "script_function": "render",
             "script_invoker": "BUTTON#send.onclick", "script_duration": 140.5},
            {"type": "resource", "name": "https://cdn.example/a.png", "initiator_type": "img",
             "start_time": 0, "duration": 0, "transfer_size": 0},
            {"type": "resource", "name": "https://app.example/app.css", "initiator_type": "link",
             "start_time": 20.5, "duration": 80.25, "transfer_size": 1300,
             "encoded_body_size": 1000, "decoded_body_size": 4000,
             "render_blocking_status": "blocking", "response_status": 200, "protocol": "h2",
             "server_timing": [{"name": "cache"}]}
        ])))
        .unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let types: Vec<&str> = parsed.accepted.iter().map(|(_, e)| e.type_name()).collect();
        assert_eq!(
            types,
            [
                "long_task",
                "long_task",
                "long_animation_frame",
                "long_animation_frame",
                "resource",
                "resource"
            ]
        );
        assert_eq!(parsed.accepted[0].1.start_time(), 812.0);
        let EventBody::LongTask(task) = &parsed.accepted[1].1.body else {
            panic!("{:?}", parsed.accepted[1]);
        };
        assert_eq!(task.name.as_deref(), Some("self"));
        let EventBody::LongAnimationFrame(frame) = &parsed.accepted[3].1.body else {
            panic!("{:?}", parsed.accepted[3]);
        };
        assert_eq!(frame.blocking_duration, 180.0);
        assert_eq!(frame.script_duration, Some(140.5));
        let EventBody::Resource(resource) = &parsed.accepted[5].1.body else {
            panic!("{:?}", parsed.accepted[5]);
        };
        assert_eq!(resource.initiator_type, "link");
        assert_eq!(resource.response_status, Some(200));
        assert_eq!(resource.decoded_body_size, Some(4000));
        for (_, event) in &parsed.accepted {
            let text = serde_json::to_string(event).unwrap();
            assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), event);
        }
    }

    #[test]
    fn a_bad_performance_entry_is_rejected_with_the_field_it_breaks() {
        let url = |len: usize| format!("https://x.example/{}", "a".repeat(len));
        let frame = |extra| {
            let frame = json!({"type": "long_animation_frame", "start_time": 10,
                               "duration": 100, "blocking_duration": 40});
            with(frame, extra)
        };
        let resource = |extra| {
            let resource = json!({"type": "resource", "name": "https://x.example/a.js",
                                  "initiator_type": "script", "duration": 5});
            with(resource, extra)
        };
        let cases = [
            (
                json!({"type": "long_task", "start_time": 1}),
                "missing field `duration`",
            ),
            (
                json!({"type": "long_task", "duration": -1}),
                "`duration` must not be negative",
            ),
            (
                json!({"type": "long_task", "start_time": -5, "duration": 60}),
                "`start_time`",
            ),
            (
                json!({"type": "long_task", "duration": 1e12}),
                "`duration` is 1000000000000 ms",
            ),
            (
                json!({"type": "long_task", "duration": 60, "name": "n".repeat(257)}),
                "`name` is 257 bytes",
            ),
            (
                json!({"type": "long_task", "duration": 60, "name": "se\u{1b}lf"}),
                "`name` contains a control character",
            ),
            (
                json!({"type": "long_task", "duration": 60, "container": url(2048)}),
                "`container` is 2066 bytes",
            ),
            (
                frame(json!({"blocking_duration": 101})),
                "`blocking_duration` must not exceed `duration`",
            ),
            (
                frame(json!({"blocking_duration": -1})),
                "`blocking_duration` must not be negative",
            ),
            (
                json!({"type": "long_animation_frame", "duration": 60}),
                "missing field `blocking_duration`",
            ),
            (frame(json!({"render_start": -1})), "`render_start`"),
            (
                frame(json!({"style_and_layout_start": "soon"})),
                "invalid type",
            ),
            (
                frame(json!({"script_url": url(2048)})),
                "`script_url` is 2066 bytes",
            ),
            (
                frame(json!({"script_function": "f".repeat(257)})),
                "`script_function` is 257 bytes",
            ),
            (
                frame(json!({"script_invoker": "i".repeat(2049)})),
                "`script_invoker` is 2049 bytes",
            ),
            (
                frame(json!({"script_duration": -3})),
                "`script_duration` must not be negative",
            ),
            (resource(json!({"name": ""})), "`name` must not be empty"),
            (resource(json!({"name": url(2048)})), "`name` is 2066 bytes"),
            (
                json!({"type": "resource", "name": "https://x.example/a", "duration": 1}),
                "missing field `initiator_type`",
            ),
            (
                resource(json!({"initiator_type": "t".repeat(257)})),
                "`initiator_type` is 257 bytes",
            ),
            (
                resource(json!({"duration": -0.5})),
                "`duration` must not be negative",
            ),
            (
                resource(json!({"transfer_size": 1_u64 << 53})),
                "`transfer_size` is 9007199254740992 bytes",
            ),
            (
                resource(json!({"encoded_body_size": 1_u64 << 60})),
                "`encoded_body_size`",
            ),
            (
                resource(json!({"decoded_body_size": -1})),
                "invalid value: integer `-1`",
            ),
            (
                resource(json!({"response_status": 99})),
                "`response_status` is 99; it must be between 100 and 599",
            ),
            (
                resource(json!({"response_status": 600})),
                "`response_status` is 600",
            ),
            (
                resource(json!({"render_blocking_status": "b".repeat(257)})),
                "`render_blocking_status` is 257 bytes",
            ),
            (
                resource(json!({"protocol": "p".repeat(257)})),
                "`protocol` is 257 bytes",
            ),
        ];
        let mut events: Vec<serde_json::Value> = cases.iter().map(|(e, _)| e.clone()).collect();
        // The good ones around them stay.
        events.push(frame(json!({"response_status": 99})));
        events.push(resource(json!({"response_status": 0})));
        let parsed = parse(&batch(json!(events))).unwrap();
        assert_eq!(parsed.accepted.len(), 2, "{:?}", parsed.rejected);
        assert_eq!(parsed.rejected.len(), cases.len());
        assert_reasons(&parsed.rejected, &cases);
        let indexes: Vec<usize> = parsed.rejected.iter().map(|r| r.index).collect();
        assert_eq!(indexes, (0..cases.len()).collect::<Vec<_>>());
    }

    #[test]
    fn seq_defaults_to_one() {
        let mut v = vital("FCP", 10.0);
        v.as_object_mut().unwrap().remove("seq");
        let parsed = parse(&batch(json!([v]))).unwrap();
        match &parsed.accepted[0].1.body {
            EventBody::WebVital(w) => assert_eq!(w.seq, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn items_outside_the_time_window_are_rejected() {
        // time_origin is 5 s before sent_at; an item 6 minutes after sent_at is too far ahead.
        let ahead = json!({"type": "page_view", "start_time": 5000.5 + 360_000.0});
        let ok = json!({"type": "page_view", "start_time": 5000.5 + 60_000.0});
        let parsed = parse(&batch(json!([ahead, ok]))).unwrap();
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].index, 0);
        assert!(parsed.rejected[0]
            .reason
            .contains("after the batch was sent"));
        // A page loaded 31 days before its batch was sent (a replayed offline batch).
        let mut old = batch(json!([vital("FCP", 1.0)]));
        old["time_origin"] = json!(SENT - 31.0 * 86_400_000.0);
        let parsed = parse(&old).unwrap();
        assert!(parsed.rejected[0].reason.contains("older than"));
    }

    #[test]
    fn navigation_durations_must_not_be_negative() {
        let parsed = parse(&batch(json!([
            {"type": "navigation", "dns": -1},
            {"type": "navigation", "load": 1e12},
            {"type": "navigation", "transfer_size": -3},
        ])))
        .unwrap();
        assert!(parsed.accepted.is_empty());
        assert!(parsed.rejected[0].reason.contains("`dns`"));
        assert!(parsed.rejected[1].reason.contains("`load`"));
    }

    #[test]
    fn serialized_events_parse_back_identically() {
        let events = json!([
            {"type": "page_view", "start_time": 12.5, "navigation_type": "back-forward-cache"},
            vital("CLS", 0.125),
            {"type": "navigation", "protocol": "h2", "ttfb": 33.3}
        ]);
        let parsed = parse(&batch(events)).unwrap();
        for (_, event) in &parsed.accepted {
            let text = serde_json::to_string(event).unwrap();
            let again: Event = serde_json::from_str(&text).unwrap();
            assert_eq!(&again, event);
        }
    }

    #[test]
    fn ratings_follow_web_vitals_thresholds() {
        assert_eq!(VitalName::LCP.rate(2500.0), Rating::Good);
        assert_eq!(VitalName::LCP.rate(2500.1), Rating::NeedsImprovement);
        assert_eq!(VitalName::LCP.rate(4000.1), Rating::Poor);
        assert_eq!(VitalName::CLS.rate(0.1), Rating::Good);
        assert_eq!(VitalName::CLS.rate(0.26), Rating::Poor);
        assert_eq!(VitalName::TTFB.rate(801.0), Rating::NeedsImprovement);
    }
}
