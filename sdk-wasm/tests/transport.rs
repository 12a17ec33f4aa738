//! The send queue as it runs in the browser (`cargo test --target wasm32-unknown-unknown --test
//! transport`, ChromeDriver on PATH): the real `Transport` over a recording host, the JS object
//! the npm layer would give it (`npm/src/host.ts` does the fetches, beacons and storage; the
//! end-to-end tests in tests/e2e/delivery.test.mjs run them for real). What is checked is what
//! the transport decides: how many requests at once, which go with keepalive, what an answer
//! does to a batch, what the page's unload leaves in the offline store.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use js_sys::{Object, Reflect};
use perfwatch_sdk::logic::{Host, Outbox, Transport, KEEPALIVE_BUDGET, MAX_IN_FLIGHT};
use perfwatch_sdk::wire::Batch;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test as test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// One `post` the transport asked for.
#[derive(Debug, Clone)]
struct Post {
    body: String,
    keepalive: bool,
    id: u32,
}

/// What the transport asked of its host.
#[derive(Default)]
struct Recorded {
    posts: RefCell<Vec<Post>>,
    beacons: RefCell<Vec<String>>,
    storage: RefCell<HashMap<String, String>>,
    warnings: RefCell<Vec<String>>,
    beacon_accepts: Cell<bool>,
}

fn set(target: &Object, name: &str, f: JsValue) {
    Reflect::set(target, &name.into(), &f).expect("a plain object takes properties");
}

/// A host that records every call, on a page-lifetime transport.
fn transport() -> (&'static Transport, &'static Recorded) {
    let rec: &'static Recorded = Box::leak(Box::default());
    rec.beacon_accepts.set(true);
    let host = Object::new();
    let post = Closure::<dyn FnMut(String, String, bool, bool, u32)>::new(
        move |_url: String, body: String, keepalive: bool, _gzip: bool, id: u32| {
            rec.posts.borrow_mut().push(Post {
                body,
                keepalive,
                id,
            });
        },
    );
    set(&host, "post", post.into_js_value());
    let beacon =
        Closure::<dyn FnMut(String, String) -> bool>::new(move |_url: String, body: String| {
            rec.beacons.borrow_mut().push(body);
            rec.beacon_accepts.get()
        });
    set(&host, "beacon", beacon.into_js_value());
    let load =
        Closure::<dyn FnMut(String, bool) -> JsValue>::new(move |key: String, _session: bool| {
            rec.storage
                .borrow()
                .get(&key)
                .map_or(JsValue::UNDEFINED, |v| JsValue::from_str(v))
        });
    set(&host, "load", load.into_js_value());
    let save = Closure::<dyn FnMut(String, String, bool)>::new(
        move |key: String, value: String, _session: bool| {
            rec.storage.borrow_mut().insert(key, value);
        },
    );
    set(&host, "save", save.into_js_value());
    let warn = Closure::<dyn FnMut(String)>::new(move |message: String| {
        rec.warnings.borrow_mut().push(message);
    });
    set(&host, "warn", warn.into_js_value());
    let host: Host = host.unchecked_into();
    let transport = Box::leak(Box::new(Transport::new(
        "https://collector.example/ingest".into(),
        false,
        host,
    )));
    (transport, rec)
}

/// A batch of `events` events of about `bytes` bytes each, its header naming it `tag`.
fn batch(tag: &str, events: usize, bytes: usize) -> Batch {
    Batch {
        head: format!("\"v\":1,\"app\":\"{tag}\""),
        events: (0..events)
            .map(|i| {
                format!(
                    "{{\"i\":{i},\"pad\":\"{}\"}}",
                    "x".repeat(bytes.saturating_sub(20))
                )
            })
            .collect(),
    }
}

fn stored(rec: &Recorded) -> Outbox {
    let text = rec
        .storage
        .borrow()
        .get("perfwatch.outbox")
        .cloned()
        .unwrap_or_default();
    Outbox::decode(&text, js_sys::Date::now())
}

#[test]
fn at_most_nine_requests_in_flight_the_rest_waits_its_turn() {
    let (t, rec) = transport();
    for i in 0..MAX_IN_FLIGHT + 3 {
        t.send(batch(&format!("b{i}"), 1, 50));
    }
    assert_eq!(rec.posts.borrow().len(), MAX_IN_FLIGHT);
    let first = rec.posts.borrow()[0].id;
    t.answered(first, 200, -1.0);
    assert_eq!(
        rec.posts.borrow().len(),
        MAX_IN_FLIGHT + 1,
        "an answer frees a slot"
    );
    assert!(
        rec.posts.borrow()[MAX_IN_FLIGHT].body.contains("\"b9\""),
        "in order"
    );
    assert_eq!(t.counts().delivered, 1);
}

#[test]
fn keepalive_only_within_its_budget() {
    let (t, rec) = transport();
    // Three batches of about 25 KB: two fit in 60 KB of keepalive, the third does not.
    for i in 0..3 {
        t.send(batch(&format!("k{i}"), 25, 1000));
    }
    let keepalive: Vec<bool> = rec.posts.borrow().iter().map(|p| p.keepalive).collect();
    assert_eq!(keepalive, [true, true, false]);
    let in_flight: usize = rec
        .posts
        .borrow()
        .iter()
        .filter(|p| p.keepalive)
        .map(|p| p.body.len())
        .sum();
    assert!(in_flight <= KEEPALIVE_BUDGET);
    // The first answer gives its bytes back: the next batch goes with keepalive again.
    let first = rec.posts.borrow()[0].id;
    t.answered(first, 200, -1.0);
    t.send(batch("k3", 25, 1000));
    assert!(rec.posts.borrow()[3].keepalive);
}

#[test]
fn a_refusal_is_not_retried_and_warned_about_once() {
    let (t, rec) = transport();
    t.send(batch("r1", 2, 50));
    t.send(batch("r2", 3, 50));
    let ids: Vec<u32> = rec.posts.borrow().iter().map(|p| p.id).collect();
    t.answered(ids[0], 401, -1.0);
    t.answered(ids[1], 401, -1.0);
    assert_eq!(rec.posts.borrow().len(), 2, "nothing sent again");
    assert_eq!(t.counts().refused, 5);
    let warnings = rec.warnings.borrow();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("401"), "{warnings:?}");
    assert!(
        stored(rec).entries.is_empty(),
        "a refused batch is not kept"
    );
}

#[test]
fn a_batch_too_large_for_the_collector_is_sent_again_in_halves() {
    let (t, rec) = transport();
    t.send(batch("big", 4, 50));
    let id = rec.posts.borrow()[0].id;
    t.answered(id, 413, -1.0);
    let posts = rec.posts.borrow();
    assert_eq!(posts.len(), 3);
    for half in &posts[1..] {
        assert_eq!(half.body.matches("\"i\":").count(), 2, "{}", half.body);
        assert!(half.body.contains("\"big\""), "each half keeps the header");
    }
}

#[test]
fn a_retry_waits_and_goes_by_beacon_if_the_page_is_hidden_first() {
    let (t, rec) = transport();
    t.send(batch("later", 2, 50));
    let id = rec.posts.borrow()[0].id;
    t.answered(id, 503, 30_000.0);
    assert_eq!(rec.posts.borrow().len(), 1, "not sent again at once");
    // Hidden before the retry is due: the batch goes by beacon and is kept until confirmed.
    t.unload(vec![batch("queued", 1, 50)]);
    let beacons = rec.beacons.borrow();
    assert_eq!(beacons.len(), 2);
    assert!(beacons[0].contains("\"later\"") && beacons[1].contains("\"queued\""));
    let outbox = stored(rec);
    assert_eq!(outbox.entries.len(), 2);
    assert!(outbox.entries.iter().all(|e| e.sent), "sent, unconfirmed");
    assert_eq!(t.counts().beaconed, 3);
}

#[test]
fn a_batch_in_flight_when_the_page_is_hidden_is_stored_once_and_its_answer_confirms_it() {
    let (t, rec) = transport();
    t.send(batch("in-flight", 2, 50));
    // Hidden, then `pagehide`: two unload sends.
    t.unload(Vec::new());
    t.unload(Vec::new());
    let outbox = stored(rec);
    assert_eq!(outbox.entries.len(), 1, "stored once");
    assert!(outbox.entries[0].sent);
    assert!(
        rec.beacons.borrow().is_empty(),
        "in flight already: not sent twice now"
    );
    // The page lives on and the request is answered: it is confirmed.
    let id = rec.posts.borrow()[0].id;
    t.answered(id, 200, -1.0);
    assert!(stored(rec).entries.is_empty());
}

#[test]
fn a_beacon_the_browser_refuses_is_kept_as_unsent_and_a_later_answer_confirms_the_rest() {
    let (t, rec) = transport();
    t.unload(vec![batch("beaconed", 1, 50)]);
    rec.beacon_accepts.set(false);
    t.unload(vec![batch("refused-beacon", 1, 50)]);
    let outbox = stored(rec);
    let kinds: Vec<bool> = outbox.entries.iter().map(|e| e.sent).collect();
    assert_eq!(kinds, [true, false]);
    // The page comes back and a send succeeds: the beaconed batch is confirmed, the refused
    // one waits for the next load.
    t.send(batch("next", 1, 50));
    let id = rec.posts.borrow()[0].id;
    t.answered(id, 200, -1.0);
    let outbox = stored(rec);
    assert_eq!(outbox.entries.len(), 1);
    assert!(!outbox.entries[0].sent);
    assert!(outbox.entries[0].batch.head.contains("refused-beacon"));
}

#[test]
fn the_next_load_sends_what_the_offline_store_kept_with_a_new_sent_at() {
    let (earlier, rec) = transport();
    earlier.unload(vec![batch("from-last-page", 2, 50)]);
    let kept = rec
        .storage
        .borrow()
        .get("perfwatch.outbox")
        .cloned()
        .expect("stored");
    let (t, next) = transport();
    next.storage
        .borrow_mut()
        .insert("perfwatch.outbox".into(), kept);
    let before = js_sys::Date::now();
    t.resend_stored();
    let posts = next.posts.borrow();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].body.contains("from-last-page"));
    let sent_at: f64 = posts[0].body["{\"sent_at\":".len()..]
        .split(',')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("sent_at first");
    assert!(sent_at >= before.floor(), "dated by this send");
    assert_eq!(
        next.storage
            .borrow()
            .get("perfwatch.outbox")
            .map(String::as_str),
        Some(""),
        "taken out of the store while it is sent"
    );
}
