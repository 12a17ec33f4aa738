//! A PostgreSQL outage under load: the server is stopped while loaders post batches, then
//! started again. Meanwhile the collector answers 503 with Retry-After (never 500), says it is
//! not ready, recovers by itself once the server is back, and loses nothing it acknowledged.
//! (A binary of its own: it stops the test server every test of the binary shares.)

mod common;

use std::time::{Duration, Instant};

use common::load::{assert_stored_exactly_once, get, Collector, Load, LOAD_APP};
use common::postgres::{start_server, stop_server, test_db};

#[test]
fn postgres_stopped_mid_load_means_503_then_recovery_without_loss() {
    let db = test_db();
    let dir = tempfile::tempdir().expect("temp dir");
    let collector = Collector::start(dir.path(), &["--store".to_owned(), db.url.clone()]);
    collector.until_healthy();
    let load = Load::start(collector.addr);
    load.until_acked(50);

    stop_server();
    // Refusals must come while the server is down; wait for a few, bounded by the loaders.
    let deadline = Instant::now() + Duration::from_secs(60);
    while load.statuses().get(&503).copied().unwrap_or(0) < 5 {
        assert!(
            Instant::now() < deadline,
            "no 503 during the outage: {:?}",
            load.statuses()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        get(collector.addr, "/api/v1/monitoring/health"),
        Some(503),
        "not ready while the store is down"
    );
    let acked_during_outage = load.acked_batches();

    start_server();
    load.until_acked(acked_during_outage + 50);
    collector.until_healthy();
    let statuses = load.statuses();
    let acked = load.finish();
    assert!(collector.sigterm().success());

    let unexpected: Vec<_> = statuses
        .keys()
        .filter(|s| **s != 200 && **s != 503)
        .collect();
    assert!(
        unexpected.is_empty(),
        "only 200 and 503 expected: {statuses:?}"
    );
    let stored: Vec<String> = db.with_client(|client| {
        client
            .query(
                "SELECT metric_id FROM web_vitals WHERE app = $1",
                &[&LOAD_APP],
            )
            .expect("query")
            .iter()
            .map(|row| row.get(0))
            .collect()
    });
    assert_stored_exactly_once(&stored, &acked);
}
