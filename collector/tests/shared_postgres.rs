//! Two collectors sharing one PostgreSQL database, each fed half of a known data set, answer
//! exactly what one collector fed all of it answers (on a database of its own), and agree with
//! each other. The data set has several pages, vitals reported twice with rising `seq` (one
//! report to each collector, in either order) and a batch retried to the other collector.
//! The same holds for the roll-ups (a window longer than a day), which one of the two
//! collectors computes for both, and which are within the sketch's 1 % of the exact values.

mod common;

use common::load::{get_json, post, send_json, Collector};
use common::postgres::test_db;
use common::{ai_calls_by, now_ms};
use serde_json::{json, Value};

const PAGE_VIEWS: usize = 24;
const ROUTES: [&str; 3] = ["/chat/:id", "/models", "/settings"];

/// The batches of the data set, in order: for every page view a first report of FCP, LCP and
/// TTFB, then a second, higher-`seq` LCP report.
fn data_set() -> Vec<Value> {
    let now = now_ms();
    let mut batches = Vec::new();
    for i in 0..PAGE_VIEWS {
        let session = format!("s{}", i % 5);
        let page_view = format!("pv{i}");
        let route = ROUTES[i % ROUTES.len()];
        let vital = |name: &str, value: f64, seq: u32| {
            let id = format!("{page_view}-{name}");
            json!({"type": "web_vital", "event_id": format!("{id}-{seq}"), "name": name,
                   "value": value, "delta": value, "id": id, "seq": seq,
                   "rating": "good", "navigation_type": "navigate"})
        };
        let header = |events: Vec<Value>| {
            json!({"v": 1, "app": "shared", "session_id": session, "page_view_id": page_view,
                   "url": format!("https://app.example{route}"), "route": route,
                   "time_origin": now - 60_000.0, "sent_at": now, "events": events})
        };
        let fcp = 100.0 + (i * 37 % 900) as f64;
        let ttfb = 20.0 + (i * 13 % 300) as f64 + 0.25;
        let lcp_first = fcp + 50.0;
        let lcp_final = fcp + 400.0 + (i * 71 % 2000) as f64;
        batches.push(header(vec![
            json!({"type": "page_view", "event_id": format!("{page_view}-pv"),
                   "navigation_type": "navigate", "start_time": 0}),
            vital("FCP", fcp, 1),
            vital("LCP", lcp_first, 1),
            vital("TTFB", ttfb, 1),
        ]));
        batches.push(header(vec![vital("LCP", lcp_final, 2)]));
    }
    batches
}

fn send(collector: &Collector, batch: &Value) {
    assert_eq!(post(collector.addr, &batch.to_string()), Some(200));
}

fn vitals(collector: &Collector, hours: u32) -> Value {
    let mut body = get_json(
        collector.addr,
        &format!("/api/v1/monitoring/frontend/vitals?hours={hours}&group_by=page"),
    );
    body["data"].take()
}

/// The roll-up answer (48 hours) once the roll-ups hold every page view, polled while the
/// collectors' roll-up passes (every second here) catch up.
fn rolled_up_vitals(collector: &Collector) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let report = vitals(collector, 48);
        assert_eq!(report["source"], json!("rollups"));
        let lcp_count = &report["vitals"]["LCP"]["count"];
        if report["page_views"] == json!(PAGE_VIEWS) && *lcp_count == json!(PAGE_VIEWS) {
            return report;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the roll-ups never caught up: {report}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `rolled`'s p75 of every vital, over all pages and per page, is within the sketch's 1 % of
/// `exact`'s, and every count and share is equal.
fn assert_within_sketch_error(rolled: &Value, exact: &Value) {
    let compare = |rolled: &Value, exact: &Value, at: &str| {
        for name in ["LCP", "INP", "CLS", "FCP", "TTFB"] {
            let (r, e) = (&rolled[name], &exact[name]);
            for key in [
                "count",
                "good_percent",
                "needs_improvement_percent",
                "poor_percent",
            ] {
                assert_eq!(r[key], e[key], "{at} {name} {key}");
            }
            match (r["p75"].as_f64(), e["p75"].as_f64()) {
                (Some(r), Some(e)) => assert!(
                    (r - e).abs() <= 0.01 * e,
                    "{at} {name} p75: roll-ups {r}, exact {e}"
                ),
                (r, e) => assert_eq!(r, e, "{at} {name} p75"),
            }
        }
    };
    compare(&rolled["vitals"], &exact["vitals"], "all pages");
    assert_eq!(rolled["page_views"], exact["page_views"]);
    let (Some(rolled_pages), Some(exact_pages)) =
        (rolled["pages"].as_array(), exact["pages"].as_array())
    else {
        panic!("no pages: {rolled} {exact}");
    };
    assert_eq!(rolled_pages.len(), exact_pages.len());
    for exact_page in exact_pages {
        let page = &exact_page["page"];
        let rolled_page = rolled_pages
            .iter()
            .find(|p| p["page"] == *page)
            .unwrap_or_else(|| panic!("{page} missing from the roll-ups"));
        assert_eq!(rolled_page["page_views"], exact_page["page_views"]);
        compare(
            &rolled_page["vitals"],
            &exact_page["vitals"],
            &page.to_string(),
        );
    }
}

#[test]
fn two_collectors_on_one_database_answer_as_one_fed_everything() {
    let shared = test_db();
    let alone = test_db();
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    // Roll up every second rather than every minute.
    let config = dirs[0].path().join("perfwatch.toml");
    std::fs::write(&config, "rollup_interval_seconds = 1\n").expect("write the config");
    let store = |url: &str| {
        vec![
            "--config".to_owned(),
            config.display().to_string(),
            "--store".to_owned(),
            url.to_owned(),
        ]
    };
    let first = Collector::start(dirs[0].path(), &store(&shared.url));
    let second = Collector::start(dirs[1].path(), &store(&shared.url));
    let single = Collector::start(dirs[2].path(), &store(&alone.url));
    for c in [&first, &second, &single] {
        c.until_healthy();
    }

    let batches = data_set();
    for (n, batch) in batches.iter().enumerate() {
        // Alternate halves; for odd page views the seq-2 report reaches the collector before
        // the seq-1 report reaches the other one.
        let (a, b) = if (n / 2) % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        send(if n % 2 == 0 { a } else { b }, batch);
        send(&single, batch);
    }
    // A retry of an already stored batch, to the other collector: stored once.
    send(&second, &batches[0]);
    send(&single, &batches[0]);

    let (one, two, reference) = (vitals(&first, 1), vitals(&second, 1), vitals(&single, 1));
    assert_eq!(reference["source"], json!("raw"));
    assert_eq!(one, two, "collectors sharing a database agree");
    assert_eq!(one, reference, "two halves answer as one whole");
    assert_eq!(reference["page_views"], json!(PAGE_VIEWS));
    assert_eq!(reference["vitals"]["LCP"]["count"], json!(PAGE_VIEWS));
    assert_eq!(
        reference["pages"].as_array().map(Vec::len),
        Some(ROUTES.len())
    );

    // The roll-ups: the shared database's, whichever collector computed them, answer as the
    // single collector's do, and within the sketch's error of the exact raw answer.
    let (one, two, reference) = (
        rolled_up_vitals(&first),
        rolled_up_vitals(&second),
        rolled_up_vitals(&single),
    );
    assert_eq!(
        one, two,
        "collectors sharing a database agree on the roll-ups"
    );
    assert_eq!(one, reference, "two halves roll up as one whole");
    assert_within_sketch_error(&reference, &vitals(&single, 1));

    for c in [first, second, single] {
        assert!(c.sigterm().success());
    }
}

/// A user erased through one collector is gone from the other's answers at once, although the
/// other had cached the merged statistics naming the user (its cache lives in its own memory).
#[test]
fn an_erasure_on_one_collector_empties_the_other_collectors_caches() {
    let shared = test_db();
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let config = dirs[0].path().join("perfwatch.toml");
    std::fs::write(&config, "rollup_interval_seconds = 1\n").expect("write the config");
    let args = vec![
        "--config".to_owned(),
        config.display().to_string(),
        "--store".to_owned(),
        shared.url.clone(),
    ];
    let first = Collector::start(dirs[0].path(), &args);
    let second = Collector::start(dirs[1].path(), &args);
    first.until_healthy();
    second.until_healthy();

    // Calls half an hour ago, asked for in a fixed 40-minute window around them: long enough
    // to be read from the roll-ups, ended long enough ago for the merged range to be cached,
    // and the same range at every request.
    const MINUTE: i64 = 60_000;
    let at = now_ms() as i64 - 30 * MINUTE;
    let minute = at - at.rem_euclid(MINUTE);
    let body = ai_calls_by(&["u_gone", "u_gone", "u_stays"], at).to_string();
    assert_eq!(
        send_json(first.addr, "POST", "/api/v1/monitoring/ai-calls", &body),
        Some(200)
    );
    // Until the roll-up pass has the calls' minute (a minute still marked is read raw, and
    // what is read raw is not cached).
    let rolled = || {
        shared.with_client(move |client| {
            let mut count = |sql: &str| -> i64 {
                client
                    .query_one(sql, &[&minute])
                    .and_then(|row| row.try_get(0))
                    .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            };
            count(
                "SELECT COUNT(*) FROM rollup_ai_calls
                 WHERE tier = 'minute' AND dimension = 'user' AND bucket_ms = $1",
            ) == 2
                && count(
                    "SELECT COUNT(*) FROM rollup_dirty WHERE tier = 'minute' AND bucket_ms = $1",
                ) == 0
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !rolled() {
        assert!(
            std::time::Instant::now() < deadline,
            "the roll-ups never caught up"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let by_user = format!(
        "/api/v1/monitoring/ai/stats?from={}&to={}&group_by=user",
        minute - 20 * MINUTE,
        minute + 20 * MINUTE
    );
    let users = |collector: &Collector| -> Vec<String> {
        let body = get_json(collector.addr, &by_user);
        assert_eq!(body["data"]["source"], json!("rollups"), "{body}");
        body["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["key"].as_str().map(str::to_owned))
            .collect()
    };
    // The second collector answers, and caches what it merged.
    assert_eq!(users(&second), ["u_gone", "u_stays"]);

    assert_eq!(
        send_json(first.addr, "DELETE", "/api/v1/monitoring/users/u_gone", ""),
        Some(200)
    );
    assert_eq!(users(&second), ["u_stays"], "the second collector's answer");
    assert_eq!(users(&first), ["u_stays"], "the first collector's answer");

    for c in [first, second] {
        assert!(c.sigterm().success());
    }
}
