//! The host monitor through its endpoints: `GET /api/v1/monitoring/system/metrics` (the latest
//! sample against the real machine, the history and its statistics, bad windows 400) and the
//! host's families in `GET /metrics`, checked with a real exposition parser.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use common::*;
use perfwatch_collector::host_history::{roll_stored_hour, HostPoint, Monitor, MonitorSchedule};
use perfwatch_collector::store::{SharedStore, SqliteStore};
use serde_json::{json, Value};

const SYSTEM_METRICS: &str = "/api/v1/monitoring/system/metrics";

/// The app over a fresh SQLite store, with the monitor sampling every 200 ms.
macro_rules! monitored {
    () => {{
        let dir = tempfile::tempdir().expect("temp dir");
        let store: SharedStore =
            Arc::new(SqliteStore::open(&dir.path().join("perfwatch.db")).expect("store"));
        let state = state_over(Arc::clone(&store));
        let schedule = MonitorSchedule {
            interval: Duration::from_millis(200),
            top_interval: Duration::from_millis(400),
        };
        let monitor = Monitor::start(
            Arc::clone(&store),
            state.host.name.clone(),
            Arc::clone(&state.host.latest),
            schedule,
        )
        .expect("monitor");
        let app = actix_web::test::init_service(perfwatch_collector::app(state.clone())).await;
        (dir, store, state, monitor, app)
    }};
}

fn percent(value: &Value, what: &str) -> f64 {
    let v = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"));
    assert!((0.0..=100.0).contains(&v), "{what} = {v}");
    v
}

#[actix_web::test]
async fn the_current_sample_is_within_physical_bounds_with_history_and_statistics() {
    let (_dir, _store, _state, monitor, app) = monitored!();
    // Until the CPU share is known (two readings apart), and a few samples are stored.
    let mut data = Value::Null;
    for _ in 0..100 {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        data = get(&app, &format!("{SYSTEM_METRICS}?minutes=5"))
            .await
            .data()
            .clone();
        if !data["current"]["cpu"]["usage_percent"].is_null()
            && data["history"]["samples"].as_u64() >= Some(3)
            && !data["top_processes"].is_null()
        {
            break;
        }
    }
    monitor.stop();
    let current = &data["current"];
    percent(&current["cpu"]["usage_percent"], "CPU");
    let cores = current["cpu"]["per_core_percent"]
        .as_array()
        .expect("cores");
    assert_eq!(
        cores.len() as u64,
        current["cpu"]["cores"].as_u64().unwrap()
    );
    for core in cores {
        percent(core, "a core");
    }
    let memory = &current["memory"];
    let total = memory["total_bytes"].as_u64().unwrap();
    assert!(total > 0);
    assert!(memory["used_bytes"].as_u64().unwrap() <= total);
    assert!(memory["available_bytes"].as_u64().unwrap() <= total);
    percent(&memory["usage_percent"], "memory");
    for disk in current["disks"].as_array().expect("disks") {
        assert!(disk["available_bytes"].as_u64() <= disk["total_bytes"].as_u64());
        percent(&disk["usage_percent"], "disk");
    }
    for nic in current["network"].as_array().expect("network") {
        for key in [
            "rx_bytes_per_s",
            "tx_bytes_per_s",
            "rx_packets_per_s",
            "tx_drops_per_s",
        ] {
            assert!(nic[key].as_f64().unwrap() >= 0.0, "{key}: {nic}");
        }
    }
    let process = &current["process"];
    assert_eq!(process["pid"], json!(std::process::id()));
    assert!(process["resident_bytes"].as_u64().unwrap() > 1_000_000);
    assert!(process["threads"].as_u64().unwrap() >= 2);
    assert!(process["open_fds"].as_u64().unwrap() >= 3);
    let top = &data["top_processes"];
    for list in ["by_cpu", "by_memory"] {
        let entries = top[list].as_array().expect("a list");
        assert!(!entries.is_empty() && entries.len() <= 10, "{top}");
    }
    let status = data["status"]["status"].as_str().expect("a status");
    assert!(["healthy", "warning", "critical"].contains(&status));

    assert!(data["history"]["samples"].as_u64().unwrap() >= 3);
    let stats = &data["statistics"]["memory_percent"];
    let (min, avg, max) = (
        stats["min"].as_f64().unwrap(),
        stats["avg"].as_f64().unwrap(),
        stats["max"].as_f64().unwrap(),
    );
    assert!(min <= avg && avg <= max, "{stats}");
    assert_eq!(data["minutes"], json!(5.0));
}

#[actix_web::test]
async fn a_week_of_history_is_answered_in_at_most_500_points() {
    let (_dir, store, state, monitor, app) = monitored!();
    monitor.stop();
    let now = now_ms() as i64;
    // 2000 samples over the last 100 minutes, memory at 40 % then 60 %.
    for i in 0..2000i64 {
        let point = HostPoint {
            at_ms: now - 6_000_000 + i * 3000,
            cpu_percent: Some((i % 100) as f64),
            memory_percent: if i < 1000 { 40.0 } else { 60.0 },
            swap_percent: 0.0,
            disk_percent: Some(50.0),
            load_1: Some(1.0),
            network_rx_bytes_per_s: 10.0,
            network_tx_bytes_per_s: 5.0,
            process_cpu_percent: Some(1.0),
            process_resident_bytes: 20_000_000,
        };
        store
            .write_host_point(&state.host.name, &point)
            .expect("write a point");
    }
    let data = get(&app, &format!("{SYSTEM_METRICS}?minutes=120"))
        .await
        .data()
        .clone();
    // The monitor's own first sample is stored too.
    let samples = data["history"]["samples"].as_u64().unwrap();
    assert!((2000..=2002).contains(&samples), "{samples}");
    assert_eq!(data["history"]["points"].as_array().unwrap().len(), 500);
    let cpu = &data["statistics"]["cpu_percent"];
    assert_eq!(cpu["max"].as_f64(), Some(99.0));
    let memory = &data["statistics"]["memory_percent"];
    assert_eq!(memory["p95"].as_f64(), Some(60.0));
    // Another host's samples (a collector sharing the database) are not this host's.
    let mut other = store.host_points(&state.host.name, 0, i64::MAX).unwrap()[0].clone();
    other.at_ms += 1;
    store.write_host_point("another-host", &other).unwrap();
    let again = get(&app, &format!("{SYSTEM_METRICS}?minutes=120"))
        .await
        .data()
        .clone();
    assert_eq!(again["history"]["samples"].as_u64(), Some(samples));
}

#[actix_web::test]
async fn a_bad_window_is_a_400_naming_minutes() {
    let (_dir, _store, _state, monitor, app) = monitored!();
    monitor.stop();
    for bad in ["0", "-5", "129601", "abc", "NaN", "inf", ""] {
        let reply = get(&app, &format!("{SYSTEM_METRICS}?minutes={bad}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("`minutes`"), "{bad}: {message}");
    }
}

#[actix_web::test]
async fn metrics_carry_the_host_and_parse_as_prometheus_exposition() {
    let (_dir, _store, _state, monitor, app) = monitored!();
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    monitor.stop();
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    let lines = reply.text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("a valid exposition");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} missing:\n{}", reply.text))
    };
    assert!(value("perfwatch_host_memory_total_bytes") > 0.0);
    assert!(value("process_resident_memory_bytes") > 1e6);
    let cpu = value("perfwatch_host_cpu_usage_ratio");
    assert!((0.0..=1.0).contains(&cpu), "{cpu}");
    assert_eq!(value("perfwatch_ingest_queue_batches"), 0.0);
    // Every family has its HELP and TYPE, and counters end in _total.
    for (name, doc) in &scrape.docs {
        assert!(!doc.is_empty(), "{name}");
    }
    for sample in &scrape.samples {
        if let prometheus_parse::Value::Counter(_) = sample.value {
            assert!(sample.metric.ends_with("_total"), "{}", sample.metric);
        }
    }
}

#[actix_web::test]
async fn metrics_count_what_ingest_took_and_refused_by_reason() {
    let (_dir, app) = service!();
    // One batch with two good events and two refused items, then a malformed body.
    let events = json!([
        page_view("p1", "/a"),
        vital("LCP", 1200.0, "m1", 1),
        vital("LCP", -5.0, "m2", 1),
        {"type": "no_such_type"},
    ]);
    let reply = send(&app, post_batch(batch(events).to_string()).to_request()).await;
    assert_eq!(reply.data()["accepted"], json!(2));
    let reply = send(&app, post_batch("{not json").to_request()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    let text = get(&app, "/metrics").await.text;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("a valid exposition");
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} {label:?} missing:\n{text}"))
    };
    assert_eq!(value("perfwatch_ingest_batches_stored_total", None), 1.0);
    assert_eq!(value("perfwatch_ingest_events_accepted_total", None), 2.0);
    assert_eq!(
        value(
            "perfwatch_ingest_events_rejected_total",
            Some(("reason", "negative"))
        ),
        1.0
    );
    assert_eq!(
        value(
            "perfwatch_ingest_events_rejected_total",
            Some(("reason", "schema"))
        ),
        1.0
    );
    assert_eq!(
        value(
            "perfwatch_ingest_batches_refused_total",
            Some(("code", "malformed_body"))
        ),
        1.0
    );
    // The store's latencies as histograms: the one stored batch was committed and flushed.
    for name in [
        "perfwatch_store_commit_duration_seconds",
        "perfwatch_store_sync_duration_seconds",
    ] {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        let prometheus_parse::Value::Histogram(buckets) = &sample.value else {
            panic!("{name} is not a histogram: {:?}", sample.value);
        };
        let infinite = buckets.last().expect("buckets");
        assert!(
            infinite.less_than.is_infinite() && infinite.count == 1.0,
            "{buckets:?}"
        );
        assert!(
            buckets.windows(2).all(|w| w[0].count <= w[1].count),
            "cumulative"
        );
    }
}

#[actix_web::test]
async fn windows_over_a_day_are_answered_from_hourly_rollups_that_outlive_the_samples() {
    let (_dir, store, state, monitor, app) = monitored!();
    monitor.stop();
    let hour_ms = 3_600_000;
    let first_hour = (now_ms() as i64 / hour_ms - 30) * hour_ms;
    // Three hours, 360 samples each, 30 hours ago; CPU rising 0..=99 within each hour.
    let mut cpu_values = Vec::new();
    for h in 0..3 {
        for i in 0..360i64 {
            let cpu = (i % 100) as f64 + f64::from(h);
            cpu_values.push(cpu);
            let point = HostPoint {
                at_ms: first_hour + h as i64 * hour_ms + i * 10_000,
                cpu_percent: Some(cpu),
                memory_percent: 40.0 + f64::from(h),
                swap_percent: 0.0,
                disk_percent: None,
                load_1: Some(1.0),
                network_rx_bytes_per_s: 10.0,
                network_tx_bytes_per_s: 5.0,
                process_cpu_percent: None,
                process_resident_bytes: 20_000_000,
            };
            store
                .write_host_point(&state.host.name, &point)
                .expect("write");
        }
        roll_stored_hour(
            store.as_ref(),
            &state.host.name,
            first_hour + h as i64 * hour_ms,
        )
        .expect("roll the hour up");
    }
    // Retention deletes the samples; the roll-ups stay.
    store.prune(now_ms() as i64, 100_000).expect("prune");
    assert!(store
        .host_points(&state.host.name, 0, i64::MAX)
        .unwrap()
        .is_empty());

    let data = get(&app, &format!("{SYSTEM_METRICS}?minutes=2880"))
        .await
        .data()
        .clone();
    assert_eq!(data["source"], json!("hourly_rollups"));
    assert_eq!(data["history"]["points"].as_array().unwrap().len(), 3);
    assert_eq!(data["history"]["samples"], json!(1080));
    let memory = &data["statistics"]["memory_percent"];
    assert_eq!(
        (memory["min"].as_f64(), memory["max"].as_f64()),
        (Some(40.0), Some(42.0))
    );
    assert_eq!(memory["avg"].as_f64(), Some(41.0));
    assert_eq!(data["statistics"]["disk_percent"]["samples"], json!(0));
    cpu_values.sort_by(f64::total_cmp);
    let exact_p95 = cpu_values[(cpu_values.len() * 95).div_ceil(100) - 1];
    let p95 = data["statistics"]["cpu_percent"]["p95"].as_f64().unwrap();
    assert!(
        (p95 - exact_p95).abs() <= 0.01 * exact_p95,
        "{p95} vs {exact_p95}"
    );
    // Rolling an hour again changes nothing.
    roll_stored_hour(store.as_ref(), &state.host.name, first_hour).expect("again");
    let again = get(&app, &format!("{SYSTEM_METRICS}?minutes=2880"))
        .await
        .data()
        .clone();
    assert_eq!(again["statistics"], data["statistics"]);
}
