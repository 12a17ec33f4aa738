//! The maintenance commands, run as a user runs them: `backup` while a collector is serving on
//! the same SQLite file, and `export` of a time window as NDJSON, for SQLite and PostgreSQL.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::load::{post, Collector};
use common::now_ms;
use common::postgres::test_db;
use serde_json::{json, Value};

fn collector_command(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

/// Stores a page view with FCP 123.25 and LCP 456.5 through `collector`.
fn store_a_page_view(collector: &Collector) {
    let now = now_ms();
    let vital = |name: &str, value: f64| {
        json!({"type": "web_vital", "event_id": format!("cli-{name}"), "name": name,
               "value": value, "delta": value, "id": format!("cli-{name}"), "seq": 1,
               "rating": "good", "navigation_type": "navigate"})
    };
    let batch = json!({"v": 1, "app": "cli", "session_id": "s", "page_view_id": "pv",
        "url": "https://app.example/chat", "route": "/chat/:id",
        "time_origin": now - 2000.0, "sent_at": now, "events": [
            {"type": "page_view", "event_id": "cli-pv", "navigation_type": "navigate", "start_time": 0},
            vital("FCP", 123.25), vital("LCP", 456.5)]});
    assert_eq!(post(collector.addr, &batch.to_string()), Some(200));
}

/// The NDJSON lines of an export.
fn lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

fn assert_exported_page_view(lines: &[Value]) {
    let vitals: Vec<(&str, f64)> = lines
        .iter()
        .filter(|l| l["type"] == "web_vital")
        .map(|l| {
            (
                l["name"].as_str().unwrap_or(""),
                l["value"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert!(vitals.contains(&("FCP", 123.25)), "{lines:?}");
    assert!(vitals.contains(&("LCP", 456.5)), "{lines:?}");
    let page_view = lines
        .iter()
        .find(|l| l["type"] == "page_view")
        .expect("a page view line");
    assert_eq!(page_view["route"], json!("/chat/:id"));
    assert_eq!(page_view["app"], json!("cli"));
}

#[test]
fn sqlite_backup_while_serving_and_export_of_a_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let collector = Collector::start(dir.path(), &[]);
    collector.until_healthy();
    store_a_page_view(&collector);

    let backup = dir.path().join("copy.db");
    let out = collector_command(&[
        "--data-dir",
        data,
        "backup",
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = rusqlite::Connection::open(&backup).expect("the copy opens");
    let value: f64 = copy
        .query_row("SELECT value FROM web_vitals WHERE name = 'LCP'", [], |r| {
            r.get(0)
        })
        .expect("the copy holds the vital");
    assert_eq!(value, 456.5);
    // A second backup never overwrites the first.
    let again = collector_command(&[
        "--data-dir",
        data,
        "backup",
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    assert_exported_page_view(&lines(&collector_command(&[
        "--data-dir",
        data,
        "export",
        "--hours",
        "1",
    ])));
    // A window that ends before the data holds nothing.
    let empty = collector_command(&[
        "export",
        "--data-dir",
        data,
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-02T00:00:00Z",
    ]);
    assert!(lines(&empty).is_empty());
    let bad = collector_command(&["--data-dir", data, "export", "--to", "yesterday"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));

    assert!(collector.sigterm().success());
    assert!(Path::new(&backup).exists());
}

#[test]
fn postgres_export_of_a_window_and_backup_points_to_pg_dump() {
    let db = test_db();
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = Collector::start(dir.path(), &["--store".to_owned(), db.url.clone()]);
    collector.until_healthy();
    store_a_page_view(&collector);
    assert!(collector.sigterm().success());

    assert_exported_page_view(&lines(&collector_command(&[
        "--store", &db.url, "export", "--hours", "1",
    ])));
    let backup = collector_command(&["--store", &db.url, "backup", "--to", "/tmp/never.db"]);
    assert!(!backup.status.success());
    assert!(String::from_utf8_lossy(&backup.stderr).contains("pg_dump"));
}
