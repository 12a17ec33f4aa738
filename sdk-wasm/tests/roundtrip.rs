//! The protocol crate parses everything the SDK writes, with every value intact. Runs natively
//! (`cargo test`) and as WebAssembly under Node (`cargo test --target wasm32-unknown-unknown`),
//! where numbers are formatted by JavaScript exactly as in the browser.

use perfwatch_protocol::{parse_browser_batch, EventBody, NavigationType, Rating, VitalName};
use perfwatch_sdk::wire::{self, Header, NavigationTiming, Value, VitalReport};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const SENT_AT: f64 = 1_795_676_400_000.0;

fn header() -> Header {
    Header {
        app: "ai-hub \"quoted\" \\ 界".to_string(),
        release: Some("1.4.2".to_string()),
        session_id: "0123456789abcdef0123456789abcdef".to_string(),
        page_view_id: "fedcba9876543210fedcba9876543210".to_string(),
        user_id: Some("u_42\n\t\u{1}".to_string()),
        url: "https://app.example/chat/é?".to_string(),
        route: None,
        time_origin: SENT_AT - 12_345.678_9,
    }
}

fn vital<'a>(name: &'a str, value: f64, rating: &'a str) -> VitalReport<'a> {
    VitalReport {
        name,
        value,
        delta: value,
        id: "v6-1795676399000-1234567890123",
        seq: 3,
        rating,
        navigation_type: "back-forward-cache",
        attribution: &[],
        page_view_id: None,
    }
}

#[test]
fn every_event_the_sdk_writes_parses_back_with_its_values() {
    // 15.099999999627471 is a TTFB Chrome measured; serde_json's default float parser read it
    // back one ulp off (its `float_roundtrip` feature fixes that).
    let awkward = [
        0.1 + 0.2,
        1234.5,
        1e-7,
        4_000.000_000_1,
        0.0,
        15.099_999_999_627_471,
    ];
    let mut events = vec![wire::page_view("pv-1", "navigate", 0.0)];
    for (i, value) in awkward.iter().enumerate() {
        events.push(wire::web_vital(&VitalReport {
            seq: i as u32 + 1,
            ..vital("LCP", *value, "good")
        }));
    }
    events.push(wire::web_vital(&vital(
        "CLS",
        0.123_456_789,
        "needs-improvement",
    )));
    let attribution = [
        (
            "interactionTarget",
            Value::Str("#chat>button.send\"x\"".to_string()),
        ),
        ("inputDelay", Value::Num(12.300_000_000_1)),
    ];
    events.push(wire::web_vital(&VitalReport {
        attribution: &attribution,
        page_view_id: Some("previous-page-view"),
        ..vital("INP", 96.0, "good")
    }));
    events.push(wire::web_vital(&vital("FCP", 3000.5, "poor")));
    events.push(wire::web_vital(&vital("TTFB", 12.300_000_000_1, "good")));
    let timing = NavigationTiming {
        navigation_type: "reload".to_string(),
        protocol: Some("h2".to_string()),
        dns: 1.25,
        ttfb: 80.123_456_7,
        request: 42.25,
        load: 300.5,
        transfer_size: Some(1_234_567.0),
        encoded_body_size: Some(0.0),
        ..NavigationTiming::default()
    };
    events.push(wire::navigation("nav-1", &timing));

    let body = wire::batch(&header(), SENT_AT, &events);
    let parsed = parse_browser_batch(body.as_bytes()).expect("the batch parses");
    assert!(parsed.rejected.is_empty(), "{:?}\n{body}", parsed.rejected);
    assert_eq!(parsed.accepted.len(), events.len());

    let h = &parsed.header;
    let expected = header();
    assert_eq!(h.v, 1);
    assert_eq!(h.app, expected.app);
    assert_eq!(h.user_id, expected.user_id);
    assert_eq!(h.url, expected.url);
    assert_eq!(h.route, None);
    assert_eq!(h.time_origin, expected.time_origin);
    assert_eq!(h.sent_at, SENT_AT);

    let vitals: Vec<_> = parsed
        .accepted
        .iter()
        .filter_map(|(_, e)| match &e.body {
            EventBody::WebVital(w) => Some((e.event_id.clone(), w.clone())),
            _ => None,
        })
        .collect();
    for (i, value) in awkward.iter().enumerate() {
        let (event_id, w) = &vitals[i];
        assert_eq!(w.name, VitalName::LCP);
        assert_eq!(w.value.to_bits(), value.to_bits(), "value {value} survives");
        assert_eq!(w.delta.to_bits(), value.to_bits());
        assert_eq!(w.seq, i as u32 + 1);
        assert_eq!(w.navigation_type, Some(NavigationType::BackForwardCache));
        assert_eq!(
            event_id.as_deref(),
            Some(format!("v6-1795676399000-1234567890123-{}", i + 1).as_str())
        );
    }
    let n = awkward.len();
    assert_eq!(vitals[n].1.name, VitalName::CLS);
    assert_eq!(vitals[n].1.value, 0.123_456_789);
    assert_eq!(vitals[n].1.rating, Rating::NeedsImprovement);
    assert_eq!(vitals[n + 2].1.rating, Rating::Poor);
    let inp = &vitals[n + 1].1;
    let attribution = inp.attribution.as_ref().expect("INP attribution");
    assert_eq!(
        attribution["interaction_target"],
        serde_json::json!("#chat>button.send\"x\"")
    );
    assert_eq!(
        attribution["input_delay"],
        serde_json::json!(12.300_000_000_1)
    );
    let inp_event = parsed
        .accepted
        .iter()
        .find(|(_, e)| matches!(&e.body, EventBody::WebVital(w) if w.name == VitalName::INP))
        .map(|(_, e)| e.page_view_id.clone());
    assert_eq!(inp_event, Some(Some("previous-page-view".to_string())));
    assert_eq!(vitals[n + 3].1.value, 12.300_000_000_1);

    match &parsed.accepted.last().expect("navigation").1.body {
        EventBody::Navigation(n) => {
            assert_eq!(n.navigation_type, Some(NavigationType::Reload));
            assert_eq!(n.protocol.as_deref(), Some("h2"));
            assert_eq!(n.dns, Some(1.25));
            assert_eq!(n.ttfb, Some(80.123_456_7));
            assert_eq!(n.request, Some(42.25));
            assert_eq!(n.load, Some(300.5));
            assert_eq!(n.transfer_size, Some(1_234_567));
            assert_eq!(n.encoded_body_size, Some(0));
            assert_eq!(n.decoded_body_size, None);
        }
        other => panic!("expected navigation, got {other:?}"),
    }
}

#[test]
fn batches_split_by_the_sdk_fit_the_collectors_limits() {
    let limits = perfwatch_protocol::LIMITS;
    let events: Vec<String> = (0..450)
        .map(|i| {
            wire::web_vital(&VitalReport {
                seq: i + 1,
                ..vital("INP", f64::from(i) * 1.5, "good")
            })
        })
        .collect();
    let header = header();
    let (batches, oversized) = wire::split(
        &wire::head(&header),
        events,
        limits.browser_batch_events,
        limits.browser_batch_bytes,
    );
    assert_eq!(oversized, 0);
    assert_eq!(batches.iter().map(|b| b.events.len()).sum::<usize>(), 450);
    for batch in batches {
        let body = batch.body(SENT_AT);
        assert!(body.len() <= limits.browser_batch_bytes);
        assert!(body.len() <= batch.bytes());
        let parsed = parse_browser_batch(body.as_bytes()).expect("parses");
        assert_eq!(parsed.accepted.len(), batch.events.len());
    }
}

#[test]
fn long_tasks_frames_and_resources_parse_back_with_their_values() {
    use perfwatch_sdk::wire::{AnimationFrame, LongTask, Resource};
    let events = vec![
        wire::long_task(
            "lt-1",
            &LongTask {
                start_time: 812.25,
                duration: 120.0,
                name: Some("self".to_string()),
                container: None,
            },
        ),
        wire::long_animation_frame(
            "lf-1",
            &AnimationFrame {
                start_time: 900.0,
                duration: 96.5,
                blocking_duration: 46.5,
                render_start: Some(980.0),
                style_and_layout_start: Some(985.5),
                script_url: Some("https://app.example/assets/app.js".to_string()),
                script_function: Some("onSend".to_string()),
                script_invoker: Some("BUTTON#send.onclick".to_string()),
                script_duration: Some(70.0),
            },
        ),
        wire::resource(
            "r-1",
            &Resource {
                name: "https://cdn.example/hero.avif".to_string(),
                initiator_type: "img".to_string(),
                start_time: 120.5,
                duration: 1500.25,
                transfer_size: Some(48_213.0),
                encoded_body_size: Some(47_900.0),
                decoded_body_size: Some(47_900.0),
                render_blocking_status: Some("non-blocking".to_string()),
                response_status: Some(200.0),
                protocol: Some("h2".to_string()),
            },
        ),
    ];
    let body = wire::batch(&header(), SENT_AT, &events);
    let parsed = parse_browser_batch(body.as_bytes()).expect("the batch parses");
    assert!(parsed.rejected.is_empty(), "{:?}\n{body}", parsed.rejected);
    let bodies: Vec<_> = parsed.accepted.iter().map(|(_, e)| &e.body).collect();
    match bodies.as_slice() {
        [EventBody::LongTask(t), EventBody::LongAnimationFrame(f), EventBody::Resource(r)] => {
            assert_eq!(
                (t.start_time, t.duration, t.name.as_deref()),
                (812.25, 120.0, Some("self"))
            );
            assert_eq!((f.duration, f.blocking_duration), (96.5, 46.5));
            assert_eq!(f.script_invoker.as_deref(), Some("BUTTON#send.onclick"));
            assert_eq!(f.script_duration, Some(70.0));
            assert_eq!(r.name, "https://cdn.example/hero.avif");
            assert_eq!((r.initiator_type.as_str(), r.duration), ("img", 1500.25));
            assert_eq!(
                (r.transfer_size, r.response_status),
                (Some(48_213), Some(200))
            );
            assert_eq!(r.render_blocking_status.as_deref(), Some("non-blocking"));
        }
        other => panic!("unexpected events: {other:?}"),
    }
}

#[test]
fn the_apps_own_calls_interactions_and_measures_parse_back() {
    let call = wire::ApiCall {
        name: "GET /models".to_string(),
        method: Some("GET".to_string()),
        url: Some("https://api.example/models".to_string()),
        status: 0,
        ok: false,
        start_time: 10.5,
        duration: 83.25,
        error_type: Some("TypeError".to_string()),
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".to_string()),
    };
    let events = vec![
        wire::api_call("c1", &call),
        wire::timed("i1", "interaction", "open-chat", 5.0, 41.0, Some(false)),
        wire::timed("m1", "measure", "chat-render", 7.0, 12.5, None),
    ];
    let body = wire::batch(&header(), SENT_AT, &events);
    let parsed = parse_browser_batch(body.as_bytes()).expect("the batch parses");
    assert!(parsed.rejected.is_empty(), "{:?}\n{body}", parsed.rejected);
    let accepted: Vec<_> = parsed.accepted.iter().map(|(_, e)| e).collect();
    match accepted.as_slice() {
        [c, i, m] => {
            let (
                EventBody::ApiCall(c_body),
                EventBody::Interaction(i_body),
                EventBody::Measure(m_body),
            ) = (&c.body, &i.body, &m.body)
            else {
                panic!("unexpected events: {accepted:?}");
            };
            assert_eq!(c.event_id.as_deref(), Some("c1"));
            assert_eq!(c.url.as_deref(), Some("https://api.example/models"));
            assert_eq!((c_body.status, c_body.duration), (0, 83.25));
            assert_eq!(c_body.error_type.as_deref(), Some("TypeError"));
            assert_eq!(
                c_body.trace_id.as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            assert!(c_body.failed());
            assert!(i_body.failed(), "ok: false is a handler that threw");
            assert_eq!(
                (m_body.name.as_str(), m_body.duration),
                ("chat-render", 12.5)
            );
        }
        other => panic!("unexpected events: {other:?}"),
    }
}

#[test]
fn error_events_parse_back() {
    let error = wire::BrowserError {
        kind: "render".to_string(),
        name: Some("TypeError".to_string()),
        message: "answer is undefined\nwhile rendering".to_string(),
        stack: Some("TypeError: answer is undefined\n    at Chat (https://app.example/assets/index.js:10:5)".to_string()),
        component_stack: Some("\n    at Chat\n    at App".to_string()),
        start_time: 1234.5,
    };
    let body = wire::batch(&header(), SENT_AT, &[wire::error("e1", &error)]);
    let parsed = parse_browser_batch(body.as_bytes()).expect("the batch parses");
    assert!(parsed.rejected.is_empty(), "{:?}\n{body}", parsed.rejected);
    let EventBody::Error(e) = &parsed.accepted[0].1.body else {
        panic!("{:?}", parsed.accepted);
    };
    assert_eq!(
        (e.kind.as_str(), e.name.as_deref()),
        ("render", Some("TypeError"))
    );
    assert_eq!(e.message, error.message);
    assert_eq!(e.stack, error.stack);
    assert_eq!(e.component_stack, error.component_stack);
    assert_eq!(e.start_time, 1234.5);
}
