//! The collector records its own API calls (`service` `perfwatch-collector`) through its
//! middleware, stores them within a couple of seconds, and on shutdown stores the last ones:
//! checked on the real binary over loopback.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::load::{get, get_json, Collector};

/// The count of `key` in the endpoint groups of the collector's API statistics.
fn count_of(collector: &Collector, key: &str) -> u64 {
    let stats = get_json(
        collector.addr,
        "/api/v1/monitoring/api/stats?hours=1&group_by=endpoint",
    );
    stats["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|group| group["key"] == key)
        .and_then(|group| group["count"].as_u64())
        .unwrap_or(0)
}

#[test]
fn the_collector_records_and_stores_its_own_api_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = Collector::start(dir.path(), &[]);
    collector.until_healthy();
    for _ in 0..5 {
        assert_eq!(
            get(collector.addr, "/api/v1/monitoring/system/info"),
            Some(200)
        );
    }
    assert_eq!(get(collector.addr, "/no/such/path/42"), Some(404));
    let deadline = Instant::now() + Duration::from_secs(30);
    while count_of(&collector, "GET /api/v1/monitoring/system/info") < 5 {
        assert!(Instant::now() < deadline, "the own calls were never stored");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        count_of(&collector, "GET /api/v1/monitoring/system/info"),
        5
    );
    assert!(
        count_of(&collector, "GET (unmatched)") >= 1,
        "a 404 is recorded under one name, not its path"
    );

    // Calls answered just before a SIGTERM are stored on the way out.
    for _ in 0..3 {
        assert_eq!(get(collector.addr, "/api/v1/monitoring/health"), Some(200));
    }
    let data_dir = dir.path().to_path_buf();
    assert!(collector.sigterm().success());
    let conn = rusqlite::Connection::open(data_dir.join("perfwatch.db")).expect("database");
    let stored: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM api_calls WHERE service = 'perfwatch-collector'
             AND endpoint = '/api/v1/monitoring/health'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert!(stored >= 3, "{stored} health checks stored");
}
