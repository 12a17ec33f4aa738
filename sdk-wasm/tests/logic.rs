//! The metrics' pure bookkeeping — CLS session windows, INP's longest interactions, ratings —
//! run as WebAssembly in headless Chromium (`cargo test --target wasm32-unknown-unknown --test
//! logic`, ChromeDriver on PATH) and natively. The scenarios follow web-vitals' own test suite
//! (test/e2e/onCLS-test.js, onINP-test.js): values are the sums and picks those tests expect.
//! Then the scrubbing of the URLs and names the SDK sends, and the delivery's decisions: what an
//! answer means and how long to wait, sessions and sampling, the offline store, batches.

use perfwatch_sdk::logic::interactions::{CountEstimate, Interactions, MAX_INTERACTIONS};
use perfwatch_sdk::logic::layout_shifts::{largest, SessionWindow, Shift};
use perfwatch_sdk::logic::rate;
use perfwatch_sdk::logic::scrub::{Rules, MAX_NAME_LEN, MAX_URL_LEN};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// CLS as onCLS computes it: the largest session window value seen, and its shifts.
fn cls(shifts: &[(f64, f64, bool)]) -> (f64, Vec<usize>) {
    let mut window = SessionWindow::default();
    let (mut value, mut entries) = (0.0, Vec::new());
    for (i, &(start_time, shift, had_recent_input)) in shifts.iter().enumerate() {
        window.add(
            had_recent_input,
            Shift {
                start_time,
                value: shift,
                data: i,
            },
        );
        if window.value() > value {
            value = window.value();
            entries = window.shifts().iter().map(|s| s.data).collect();
        }
    }
    (value, entries)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn cls_reports_the_largest_of_several_session_windows() {
    // web-vitals: "reports the correct value when layout shifts happen in multiple session windows".
    let (value, entries) = cls(&[
        (100.0, 0.05, false),
        (600.0, 0.05, false),
        // 1.5 s gap: the first window ends at 0.1.
        (2100.0, 0.1, false),
        (2900.0, 0.08, false),
        (3500.0, 0.02, false),
    ]);
    assert!(close(value, 0.2), "{value}");
    assert_eq!(entries, [2, 3, 4]);
}

#[test]
fn cls_keeps_an_earlier_larger_window() {
    let (value, entries) = cls(&[
        (0.0, 0.3, false),
        (2000.0, 0.1, false),
        (2500.0, 0.1, false),
    ]);
    assert!(close(value, 0.3));
    assert_eq!(entries, [0]);
}

#[test]
fn cls_windows_are_capped_at_five_seconds() {
    // Shifts every 800 ms never leave a 1 s gap, but a window closes 5 s after its first shift.
    let shifts: Vec<_> = (0..10)
        .map(|i| (f64::from(i) * 800.0, 0.01, false))
        .collect();
    let (value, entries) = cls(&shifts);
    // 0, 800, ..., 4800 ms: seven shifts; 5600 ms is more than 5 s after the first.
    assert_eq!(entries, [0, 1, 2, 3, 4, 5, 6]);
    assert!(close(value, 0.07), "{value}");
}

#[test]
fn cls_ignores_shifts_after_input() {
    // web-vitals: "does not report layout shifts with recent input".
    let (value, _) = cls(&[(100.0, 0.2, true), (200.0, 0.05, false)]);
    assert!(close(value, 0.05));
    let (value, entries) = cls(&[(100.0, 0.2, true)]);
    assert_eq!((value, entries.len()), (0.0, 0));
}

#[test]
fn cls_attribution_names_the_largest_shift() {
    let shifts = [
        Shift {
            start_time: 10.0,
            value: 0.02,
            data: "p",
        },
        Shift {
            start_time: 20.0,
            value: 0.09,
            data: "img.hero",
        },
        Shift {
            start_time: 30.0,
            value: 0.04,
            data: "footer",
        },
    ];
    assert_eq!(largest(&shifts).map(|s| s.data), Some("img.hero"));
    assert_eq!(largest::<()>(&[]), None);
    // Of equal shifts the later, as web-vitals' reduce keeps it.
    let tied = [
        Shift {
            start_time: 1.0,
            value: 0.2,
            data: 'a',
        },
        Shift {
            start_time: 2.0,
            value: 0.2,
            data: 'b',
        },
    ];
    assert_eq!(largest(&tied).map(|s| s.data), Some('b'));
}

/// INP as onINP estimates it from `(interaction id, duration, start)` entries.
fn inp(entries: &[(u64, f64, f64)], interaction_count: f64) -> Option<f64> {
    let mut interactions = Interactions::default();
    for &(id, duration, start) in entries {
        interactions.add(id, duration, start, ());
    }
    interactions
        .estimate(interaction_count, false)
        .map(|e| e.latency)
}

#[test]
fn inp_is_the_longest_interaction_with_few_interactions() {
    // web-vitals: "reports the correct value given multiple interactions": the slowest of a
    // click (pointerdown/pointerup/click entries) and key presses.
    let entries = [
        (7, 56.0, 100.0),
        (7, 104.0, 140.0),
        (7, 104.0, 140.0),
        (14, 48.0, 900.0),
        (21, 312.0, 1500.0),
        (21, 64.0, 1500.0),
    ];
    assert_eq!(inp(&entries, 3.0), Some(312.0));
}

#[test]
fn inp_skips_one_interaction_per_fifty_as_outliers() {
    // web-vitals: "reports the 98th percentile interaction on pages with many interactions".
    let entries: Vec<_> = (1..=200u64)
        .map(|i| (i * 7, 40.0 + i as f64, 0.0))
        .collect();
    // floor(200 / 50) = 4: the fifth longest.
    assert_eq!(inp(&entries, 200.0), Some(40.0 + 196.0));
}

#[test]
fn inp_keeps_only_the_ten_longest_interactions() {
    let mut interactions = Interactions::default();
    for i in 1..=500u64 {
        interactions.add(i * 7, (i % 50) as f64 * 8.0, i as f64, i);
    }
    assert_eq!(interactions.longest().len(), MAX_INTERACTIONS);
    let latencies: Vec<f64> = interactions.longest().iter().map(|i| i.latency).collect();
    assert!(latencies.windows(2).all(|w| w[0] >= w[1]), "{latencies:?}");
    assert_eq!(latencies[0], 49.0 * 8.0);
}

#[test]
fn equal_entries_that_started_together_stay_with_their_interaction() {
    // A pointerup and click of one interaction, both the longest, starting together.
    let mut interactions = Interactions::default();
    interactions.add(7, 64.0, 10.0, 'a');
    interactions.add(7, 64.0, 10.0, 'b');
    interactions.add(7, 64.0, 20.0, 'c');
    assert_eq!(
        interactions.get(7).map(|i| i.entries.clone()),
        Some(vec!['a', 'b'])
    );
}

#[test]
fn a_new_page_view_counts_its_own_interactions() {
    // web-vitals after a bfcache restore or soft navigation: interactions since then only, and
    // 8 ms when some happened but none was long enough to be observed.
    let mut interactions = Interactions::default();
    interactions.add(7, 200.0, 0.0, ());
    interactions.reset(60.0);
    assert_eq!(
        interactions.estimate(61.0, true).map(|e| e.latency),
        Some(8.0)
    );
    assert_eq!(interactions.estimate(60.0, true), None);
    assert_eq!(interactions.estimate(61.0, false), None);
}

#[test]
fn inp_has_no_value_without_interactions() {
    assert_eq!(inp(&[(0, 500.0, 0.0)], 0.0), None);
}

#[test]
fn interaction_count_estimate_follows_ids() {
    let mut estimate = CountEstimate::default();
    for id in [700, 707, 714, 0, 735] {
        estimate.add(id);
    }
    assert_eq!(estimate.count(), 6.0);
}

#[test]
fn ratings_use_web_vitals_thresholds() {
    // [good, poor] boundaries of LCP, INP, CLS, FCP, TTFB: at the boundary still the better.
    for (thresholds, good, middle, poor) in [
        ((2500.0, 4000.0), 2500.0, 4000.0, 4000.1),
        ((200.0, 500.0), 200.0, 500.0, 504.0),
        ((0.1, 0.25), 0.1, 0.25, 0.2501),
        ((1800.0, 3000.0), 1800.0, 3000.0, 3000.5),
        ((800.0, 1800.0), 800.0, 1800.0, 1800.1),
    ] {
        assert_eq!(rate(good, thresholds), "good");
        assert_eq!(rate(middle, thresholds), "needs-improvement");
        assert_eq!(rate(poor, thresholds), "poor");
    }
}

const PAGE: &str = "https://app.example";

fn page_url(url: &str) -> String {
    Rules::default().page_url(url)
}

#[test]
fn urls_lose_their_query_and_fragment() {
    assert_eq!(
        page_url("https://app.example/chat?token=abc"),
        "https://app.example/chat"
    );
    assert_eq!(
        page_url("https://app.example/chat#access_token=abc"),
        "https://app.example/chat"
    );
    assert_eq!(
        page_url("https://app.example/?a=1&b=2#top"),
        "https://app.example/"
    );
    assert_eq!(page_url("https://app.example"), "https://app.example");
    // User info is a password more often than not.
    assert_eq!(
        page_url("https://bob:hunter2@app.example/a"),
        "https://app.example/a"
    );
}

#[test]
fn allowed_query_parameters_are_kept_in_order() {
    let rules = Rules {
        allowed_params: vec!["page".into(), "lang".into(), "ref".into()],
        ..Rules::default()
    };
    assert_eq!(
        rules.page_url("https://app.example/docs?token=abc&lang=de&page=2&sid=x&flag#s"),
        "https://app.example/docs?lang=de&page=2"
    );
    // A parameter without a value stays one; repeated ones all stay.
    assert_eq!(
        rules.page_url("https://app.example/?page&page=3"),
        "https://app.example/?page&page=3"
    );
    // A kept parameter whose value looks secret keeps only its name.
    assert_eq!(
        rules.page_url("https://app.example/?ref=bob%40example.com&page=2"),
        "https://app.example/?ref=[redacted]&page=2"
    );
    // Names are compared as written.
    assert_eq!(
        rules.page_url("https://app.example/?Page=2"),
        "https://app.example/"
    );
}

#[test]
fn secret_path_segments_are_redacted() {
    for (url, expected) in [
        (
            "https://app.example/users/bob@example.com/orders",
            "https://app.example/users/[redacted]/orders",
        ),
        (
            "https://app.example/u/x-bob@mail.example.org-y",
            "https://app.example/u/[redacted]",
        ),
        // JWT-like: three dot-separated base64url parts of at least 8 characters.
        (
            "https://app.example/reset/abcdefgh.ijklmnop.qrstuvwx",
            "https://app.example/reset/[redacted]",
        ),
        (
            "https://app.example/s/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "https://app.example/s/[redacted]",
        ),
        (
            "https://app.example/orders/550e8400-e29b-41d4-a716-446655440000/items",
            "https://app.example/orders/[redacted]/items",
        ),
        (
            "https://app.example/files/0123456789abcdef0123456789ABCDEF",
            "https://app.example/files/[redacted]",
        ),
        // A mixed base64 API key, anywhere in a segment.
        (
            "https://app.example/v1/key-sk_live_4eC39HqLyjWDarjtT1zdp7dc/charges",
            "https://app.example/v1/[redacted]/charges",
        ),
        // Standard base64 (`+`, `=`); a `/` ends a run, as it ends a segment.
        (
            "https://app.example/t/AbCdEfGh12345678+ijklmnop=/x",
            "https://app.example/t/[redacted]/x",
        ),
        // A random base64url id (32 bytes), its `-` and `_` inside.
        (
            "https://app.example/s/q7Xk2P-m9ZvLr4T8wQe_1Yb6Nc3Hd0Ju5",
            "https://app.example/s/[redacted]",
        ),
    ] {
        assert_eq!(page_url(url), expected);
    }
}

#[test]
fn ordinary_segments_stay() {
    for url in [
        "https://app.example/static/app.bundle.js",
        "https://app.example/static/js/main.3f2a1b9c.chunk.js",
        "https://app.example/css/styles.abc123def.css",
        "https://app.example/reports/2024-annual-report-final-version",
        "https://app.example/reports/2024-Annual-Report-Final-Version",
        // Content-hashed assets as bundlers name them.
        "https://app.example/assets/perfwatch_sdk_bg-C5YNojqq.wasm",
        "https://app.example/assets/index-CmMMwIy3.js",
        "https://app.example/assets/chat_message_list_component-Dx8kP2qa.js",
        "https://app.example/users/42",
        "https://app.example/img/logo@2x.png",
        "https://app.example/npm/@babel/core@7.22.0/lib/index.js",
        // 23 hex digits, 23 mixed characters: not yet long tokens.
        "https://app.example/c/0123456789abcdef0123456",
        "https://app.example/c/AbCdEfGh12345678ijklmno",
        "https://app.example/",
    ] {
        assert_eq!(page_url(url), url);
    }
}

#[test]
fn percent_encoded_segments_are_judged_decoded() {
    assert_eq!(
        page_url("https://app.example/users/bob%40example.com/orders"),
        "https://app.example/users/[redacted]/orders"
    );
    assert_eq!(
        page_url("https://app.example/users/bob%2540example.com"),
        "https://app.example/users/bob%2540example.com"
    );
    // Kept segments are sent as written.
    assert_eq!(
        page_url("https://app.example/caf%C3%A9/a%20b"),
        "https://app.example/caf%C3%A9/a%20b"
    );
}

#[test]
fn the_placeholder_and_redaction_are_configurable() {
    let rules = Rules {
        placeholder: ":id".into(),
        ..Rules::default()
    };
    assert_eq!(
        rules.page_url("https://app.example/u/bob@example.com"),
        "https://app.example/u/:id"
    );
    let off = Rules {
        redact: false,
        ..Rules::default()
    };
    assert_eq!(
        off.page_url("https://app.example/u/bob@example.com?t=1#x"),
        "https://app.example/u/bob@example.com"
    );
    assert_eq!(off.name("GET /u/bob@example.com"), "GET /u/bob@example.com");
}

#[test]
fn other_origins_are_reduced_unless_allowed() {
    let rules = Rules {
        allowed_origins: vec!["https://api.example/".into()],
        ..Rules::default()
    };
    assert_eq!(
        rules.url("https://cdn.example/lib/app.js?v=3", PAGE),
        "https://cdn.example"
    );
    assert_eq!(
        rules.url("https://bob:pw@cdn.example:8443/x", PAGE),
        "https://cdn.example:8443"
    );
    // The same host on another scheme or port is another origin.
    assert_eq!(
        rules.url("http://app.example/a", PAGE),
        "http://app.example"
    );
    assert_eq!(
        rules.url("https://app.example:8443/a", PAGE),
        "https://app.example:8443"
    );
    assert_eq!(
        rules.url("https://API.example/users/bob@example.com?k=1", PAGE),
        "https://API.example/users/[redacted]"
    );
    assert_eq!(
        rules.url(
            "https://app.example/api/users/42?q=x",
            "https://APP.example"
        ),
        "https://app.example/api/users/42"
    );
    // Scheme-relative: the page's scheme.
    assert_eq!(rules.url("//cdn.example/a.js", PAGE), "https://cdn.example");
    assert_eq!(
        rules.url("//app.example/a.js?v=1", "http://app.example"),
        "http://app.example/a.js"
    );
}

#[test]
fn relative_data_and_blob_urls() {
    let rules = Rules::default();
    assert_eq!(
        rules.url("/api/users/bob@example.com/orders?page=2#x", PAGE),
        "/api/users/[redacted]/orders"
    );
    assert_eq!(rules.url("img/logo.png", PAGE), "img/logo.png");
    assert_eq!(rules.url("?token=abc", PAGE), "");
    let huge = "data:image/png;base64,".to_string() + &"iVBORw0KGgo".repeat(100_000);
    assert_eq!(rules.url(&huge, PAGE), "data:");
    assert_eq!(rules.url(" DATA:text/plain,hi", PAGE), "data:");
    assert_eq!(
        rules.url(
            "blob:https://app.example/550e8400-e29b-41d4-a716-446655440000",
            PAGE
        ),
        "blob:https://app.example"
    );
    assert_eq!(rules.url("blob:null/1234", PAGE), "blob:");
    assert_eq!(rules.page_url("about:blank"), "about:");
    assert_eq!(
        rules.url("javascript:alert(document.cookie)", PAGE),
        "javascript:"
    );
}

#[test]
fn names_are_scrubbed_token_by_token() {
    let rules = Rules::default();
    assert_eq!(
        rules.name("GET /users/bob@example.com/orders"),
        "GET /users/[redacted]/orders"
    );
    assert_eq!(
        rules.name("POST /v1/sessions/550e8400-e29b-41d4-a716-446655440000"),
        "POST /v1/sessions/[redacted]"
    );
    assert_eq!(
        rules.name("click  button.primary sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        "click  button.primary [redacted]"
    );
    assert_eq!(rules.name("checkout step 2"), "checkout step 2");
    assert_eq!(rules.name("GET /users/42"), "GET /users/42");
}

#[test]
fn outputs_are_bounded_at_a_char_boundary() {
    let rules = Rules::default();
    // "é" is two bytes: 255 of them is 510 bytes, cut to 256 between two of them.
    let name = rules.name(&"é".repeat(255));
    assert_eq!(name, "é".repeat(128));
    // "€" is three bytes: 256 is not a boundary, 255 is.
    let name = rules.name(&("a/".to_string() + &"€".repeat(200)));
    assert_eq!(name.len(), 254);
    assert!(name.len() <= MAX_NAME_LEN && name.ends_with('€'));
    let url = rules.page_url(&("https://app.example/".to_string() + &"€/".repeat(1000)));
    assert!(
        url.len() <= MAX_URL_LEN && url.len() > MAX_URL_LEN - 3,
        "{}",
        url.len()
    );
    assert!(url.starts_with("https://app.example/€/€/"));
    // A long secret is judged whole, not cut into harmless pieces.
    let secret = "AbCdEf123456".repeat(400);
    assert_eq!(
        rules.page_url(&("https://app.example/k/".to_string() + &secret)),
        "https://app.example/k/[redacted]"
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery: what an answer means, how long to wait, sessions, the offline store, batches.

use perfwatch_sdk::logic::retry::{self, Outcome};
use perfwatch_sdk::logic::session::{self, Session};
use perfwatch_sdk::logic::{Outbox, OutboxEntry};
use perfwatch_sdk::wire::Batch;

#[test]
fn answers_are_retried_only_when_retrying_can_help() {
    for status in [200, 202, 204] {
        assert_eq!(retry::outcome(status), Outcome::Delivered, "{status}");
    }
    // No answer, a timeout, rate limits and overload: later.
    for status in [0, 408, 429, 500, 502, 503, 504] {
        assert_eq!(retry::outcome(status), Outcome::Retry, "{status}");
    }
    // The batch itself is wrong: never again.
    for status in [400, 401, 403, 404, 415, 422] {
        assert_eq!(retry::outcome(status), Outcome::Refused, "{status}");
    }
    assert_eq!(retry::outcome(413), Outcome::Split);
}

#[test]
fn backoff_doubles_with_jitter_is_capped_and_honours_retry_after() {
    for attempt in 1..=4 {
        let ceiling = retry::BASE_DELAY_MS * f64::from(1u32 << (attempt - 1));
        let low = retry::delay_ms(attempt, -1.0, 0.0);
        let high = retry::delay_ms(attempt, -1.0, 0.999_999);
        assert_eq!(low, ceiling / 2.0, "attempt {attempt}: at least half");
        assert!(
            high <= ceiling && high > ceiling * 0.99,
            "attempt {attempt}: {high}"
        );
    }
    assert!(retry::delay_ms(30, -1.0, 1.0) <= retry::MAX_DELAY_MS);
    // Retry-After wins when it is longer than the backoff, and is itself bounded.
    assert_eq!(retry::delay_ms(1, 2000.0, 0.0), 2000.0);
    assert_eq!(retry::delay_ms(3, 100.0, 0.0), 2000.0);
    assert_eq!(retry::delay_ms(1, 1e9, 0.0), retry::MAX_RETRY_AFTER_MS);
}

const NOW: f64 = 1_795_676_400_000.0;
const ID: &str = "0123456789abcdef0123456789abcdef";

fn new_id() -> String {
    "fedcba9876543210fedcba9876543210".to_string()
}

#[test]
fn a_session_lasts_through_reloads_until_30_minutes_idle_or_4_hours() {
    let stored = Session::start(ID.to_string(), NOW, 1.0, 0.5).encode();
    let resumed = session::resume_or_start(Some(&stored), NOW + 60_000.0, new_id, 1.0, 0.5);
    assert_eq!(resumed.id, ID, "a reload a minute later keeps the session");

    let idle = session::resume_or_start(
        Some(&stored),
        NOW + session::INACTIVITY_MS,
        new_id,
        1.0,
        0.5,
    );
    assert_ne!(idle.id, ID, "30 minutes without activity end it");

    let mut busy = Session::start(ID.to_string(), NOW, 1.0, 0.5);
    busy.last_active_at = NOW + session::MAX_DURATION_MS - 1000.0;
    let at = NOW + session::MAX_DURATION_MS;
    assert!(!busy.expired(at - 2000.0));
    assert!(busy.expired(at), "4 hours end it however active");

    for junk in [
        "",
        "x",
        "not-ours 1 2 1",
        &format!("{ID} 5 4 1"),
        &format!("{ID} 1 2 7"),
    ] {
        let fresh = session::resume_or_start(Some(junk), NOW, new_id, 1.0, 0.5);
        assert_eq!(fresh.id, new_id(), "{junk:?} is not a session");
    }
    let future = Session::start(ID.to_string(), NOW + 10_000.0, 1.0, 0.5).encode();
    assert_eq!(
        session::resume_or_start(Some(&future), NOW, new_id, 1.0, 0.5).id,
        new_id()
    );
}

#[test]
fn sampling_is_decided_once_per_session() {
    let out = Session::start(ID.to_string(), NOW, 0.25, 0.5);
    assert!(!out.sampled);
    // A later page load of the same session keeps the decision, whatever its own draw.
    let stored = out.encode();
    let later = session::resume_or_start(Some(&stored), NOW + 1000.0, new_id, 0.25, 0.0);
    assert!(!later.sampled);
    assert!(Session::start(ID.to_string(), NOW, 0.25, 0.1).sampled);
    assert!(
        !Session::start(ID.to_string(), NOW, 0.0, 0.0).sampled,
        "0 samples nobody"
    );
}

fn batch(tag: &str, events: usize) -> Batch {
    Batch {
        head: format!("\"v\":1,\"app\":\"{tag}\""),
        events: (0..events)
            .map(|i| format!("{{\"i\":{i},\"t\":\"a\\tb\\n\"}}"))
            .collect(),
    }
}

fn entry(saved_at: f64, sent: bool, tag: &str) -> OutboxEntry {
    OutboxEntry {
        saved_at,
        sent,
        batch: batch(tag, 2),
    }
}

#[test]
fn the_offline_store_keeps_batches_whole_and_newest_first_when_full() {
    let mut outbox = Outbox {
        entries: vec![entry(NOW, false, "a"), entry(NOW + 1.0, true, "b")],
        lost: 0,
    };
    let text = outbox.encode(64 * 1024);
    let read = Outbox::decode(&text, NOW + 2.0);
    assert_eq!(read.entries, outbox.entries);
    assert_eq!(read.lost, 0);

    // Room for one entry: the older goes, and is counted.
    let one = text.lines().next().map_or(0, |l| l.len() + 1);
    let mut full = read.clone();
    let kept = full.encode(one + 5);
    assert_eq!(full.entries.len(), 1);
    assert_eq!(full.entries[0].batch.head, batch("b", 0).head);
    assert_eq!(full.lost, 1);
    assert_eq!(Outbox::decode(&kept, NOW).entries, full.entries);
}

#[test]
fn the_offline_store_forgets_old_and_unreadable_entries_and_counts_them() {
    let mut outbox = Outbox {
        entries: vec![entry(NOW, false, "unsent"), entry(NOW, true, "sent")],
        lost: 0,
    };
    let text = format!("{}garbage line\n", outbox.encode(64 * 1024));
    let day = 24.0 * 3600.0 * 1000.0;
    let next_day = Outbox::decode(&text, NOW + day + 1.0);
    assert_eq!(
        next_day.entries.len(),
        1,
        "sent, unconfirmed batches are kept a day"
    );
    assert!(!next_day.entries[0].sent);
    assert_eq!(
        next_day.lost, 2,
        "the expired entry and the unreadable line"
    );
    let next_week = Outbox::decode(&text, NOW + 7.0 * day + 1.0);
    assert!(
        next_week.entries.is_empty(),
        "unsent batches are kept a week"
    );
}

#[test]
fn an_answer_confirms_what_was_sent_before_it_and_itself() {
    let mut outbox = Outbox {
        entries: vec![
            entry(NOW, true, "beaconed"),
            entry(NOW, false, "unsent"),
            entry(NOW + 5000.0, true, "later"),
        ],
        lost: 0,
    };
    assert!(outbox.confirm(NOW + 1000.0, &batch("other", 1)));
    let tags: Vec<_> = outbox
        .entries
        .iter()
        .map(|e| e.batch.head.clone())
        .collect();
    assert_eq!(tags, [batch("unsent", 0).head, batch("later", 0).head]);
    assert!(outbox.confirm(NOW + 1000.0, &entry(0.0, true, "later").batch));
    assert_eq!(outbox.entries.len(), 1);
    assert!(
        !outbox.confirm(NOW + 1e9, &batch("other", 1)),
        "unsent batches wait to be sent"
    );
}

#[test]
fn a_batch_too_large_for_the_collector_halves_with_its_header() {
    let (first, second) = batch("h", 5).halves().expect("five events split");
    assert_eq!((first.events.len(), second.events.len()), (2, 3));
    assert_eq!(first.head, second.head);
    assert!(
        batch("h", 1).halves().is_none(),
        "one event cannot be split"
    );
    // The body is JSON with `sent_at` first, which a replayed batch gets anew.
    let body = first.body(NOW);
    assert!(
        body.starts_with("{\"sent_at\":1795676400000,\"v\":1,"),
        "{body}"
    );
    assert!(body.len() <= first.bytes());
}

#[test]
fn error_messages_and_stacks_are_scrubbed_as_free_text() {
    let rules = Rules::default();
    assert_eq!(
        rules.text("Failed to load user bob@example.com: 401", 2048),
        // The whole token goes, its colon with it.
        "Failed to load user [redacted] 401",
    );
    let stack = "TypeError: x is undefined\n    at send (https://app.example/assets/index-CmMMwIy3.js?token=s3cr3t:10:5)\n    at https://app.example/chat/bob@example.com";
    assert_eq!(
        rules.text(stack, 16 * 1024),
        "TypeError: x is undefined\n    at send (https://app.example/assets/index-CmMMwIy3.js)\n    at https://app.example/chat/[redacted]"
    );
    // Control characters the collector refuses become spaces; lines stay.
    assert_eq!(rules.text("bad \u{1}byte\tat\n1", 100), "bad  byte\tat\n1");
    assert_eq!(rules.name("open\u{7}chat\n"), "open chat ");
    let long = "word ".repeat(1000);
    let cut = rules.text(&long, 2048);
    assert!(cut.len() <= 2048 && cut.starts_with("word word"));
}
