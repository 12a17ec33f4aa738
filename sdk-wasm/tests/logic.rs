//! The metrics' pure bookkeeping — CLS session windows, INP's longest interactions, ratings —
//! run as WebAssembly in headless Chromium (`cargo test --target wasm32-unknown-unknown --test
//! logic`, ChromeDriver on PATH) and natively. The scenarios follow web-vitals' own test suite
//! (test/e2e/onCLS-test.js, onINP-test.js): values are the sums and picks those tests expect.

use perfwatch_sdk::logic::interactions::{CountEstimate, Interactions, MAX_INTERACTIONS};
use perfwatch_sdk::logic::layout_shifts::{largest, SessionWindow, Shift};
use perfwatch_sdk::logic::rate;

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
