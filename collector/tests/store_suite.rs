//! The store's behaviours, written once and run against both implementations: each test below
//! is a function of a [`Backend`], instantiated as `on_sqlite::NAME` and `on_postgres::NAME` by
//! `both_stores!`. PostgreSQL runs on this binary's throwaway server (`common::postgres`); each
//! test gets its own database. Then what only PostgreSQL has (concurrent migration, passwords in
//! URLs) and the whole ingest → vitals path over PostgreSQL.

mod common;

use std::sync::{Arc, Barrier};

use perfwatch_collector::config::StoreLocation;
use perfwatch_collector::normalize::{browser_records, BrowserRecords};
use perfwatch_collector::store::{
    self, postgres as pg_store, sqlite as sqlite_store, PostgresOptions, PostgresStore,
    SharedStore, StoreError, StoreOutcome,
};
use perfwatch_protocol::{parse_browser_batch, VitalName};
use serde_json::{json, Value};
use tempfile::TempDir;

use common::postgres::{on_plain_thread, test_db, TestDb};

/// One implementation, over a fresh database of its own, and what the tests need to look
/// inside it.
trait Backend {
    /// Opens the store with the current code (migrating), through `store::open`.
    fn open(&self) -> Result<SharedStore, StoreError>;
    /// Makes the database as a schema-version-1 collector left it, having stored page view `p`
    /// (event `e1`) of session `s` of app `a`.
    fn make_version_1(&self);
    /// Stamps the database with `version`.
    fn set_version(&self, version: i64);
    /// The one number `sql` selects (a `COUNT(*)` or a `DOUBLE PRECISION`/`REAL` column).
    fn number(&self, sql: &str) -> f64;
    /// Whether an index of that name exists.
    fn has_index(&self, name: &str) -> bool;
    /// Whether a table of that name exists.
    fn has_table(&self, name: &str) -> bool;
    /// The schema version the current code writes.
    fn current_version(&self) -> i64;

    fn count(&self, table: &str) -> i64 {
        self.number(&format!("SELECT COUNT(*) FROM {table}")) as i64
    }
}

struct Sqlite {
    _dir: TempDir,
    path: std::path::PathBuf,
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("perfwatch.db");
        Self { _dir: dir, path }
    }

    fn connection(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open the SQLite file")
    }
}

impl Backend for Sqlite {
    fn open(&self) -> Result<SharedStore, StoreError> {
        store::open(&StoreLocation::Sqlite(self.path.clone()))
    }

    fn make_version_1(&self) {
        let mut conn = self.connection();
        sqlite_store::migrate(&mut conn, &sqlite_store::MIGRATIONS[..1]).expect("migration 1");
        conn.execute_batch(VERSION_1_ROWS).expect("insert");
    }

    fn set_version(&self, version: i64) {
        self.connection()
            .pragma_update(None, "user_version", version)
            .expect("user_version");
    }

    fn number(&self, sql: &str) -> f64 {
        self.connection()
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn has_index(&self, name: &str) -> bool {
        self.number(&format!(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = '{name}'"
        )) == 1.0
    }

    fn has_table(&self, name: &str) -> bool {
        self.number(&format!(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
        )) == 1.0
    }

    fn current_version(&self) -> i64 {
        sqlite_store::SCHEMA_VERSION
    }
}

struct Postgres {
    db: TestDb,
}

impl Postgres {
    fn new() -> Self {
        Self { db: test_db() }
    }
}

impl Backend for Postgres {
    fn open(&self) -> Result<SharedStore, StoreError> {
        let location = StoreLocation::parse(&self.db.url).expect("a postgres URL");
        on_plain_thread(|| store::open(&location))
    }

    fn make_version_1(&self) {
        self.db.with_client(|client| {
            pg_store::migrate(client, &pg_store::MIGRATIONS[..1]).expect("migration 1");
            client.batch_execute(VERSION_1_ROWS).expect("insert");
        });
    }

    fn set_version(&self, version: i64) {
        self.db.with_client(|client| {
            client
                .execute("UPDATE perfwatch_schema SET version = $1", &[&version])
                .expect("set the version")
        });
    }

    fn number(&self, sql: &str) -> f64 {
        self.db.with_client(|client| {
            let row = client
                .query_one(sql, &[])
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            row.try_get::<_, f64>(0)
                .or_else(|_| row.try_get::<_, i64>(0).map(|n| n as f64))
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        })
    }

    fn has_index(&self, name: &str) -> bool {
        self.number(&format!(
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = '{name}'"
        )) == 1.0
    }

    fn has_table(&self, name: &str) -> bool {
        self.number(&format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '{name}'"
        )) == 1.0
    }

    fn current_version(&self) -> i64 {
        pg_store::SCHEMA_VERSION
    }
}

/// What a schema-version-1 collector stored of page view `p`: the page view and the id of the
/// event that carried it.
const VERSION_1_ROWS: &str = "
INSERT INTO seen_events (app, session_id, event_id, received_at_ms) VALUES ('a', 's', 'e1', 1);
INSERT INTO page_views (app, session_id, page_view_id, url, started_at_ms, received_at_ms)
VALUES ('a', 's', 'p', 'https://x.example/a', 1, 1);";

/// Instantiates each named behaviour for both stores.
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(&super::Sqlite::new()); } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { super::$name(&super::Postgres::new()); } )*
        }
    };
}

both_stores!(
    batches_are_stored_and_read_back,
    a_redelivered_event_is_stored_once,
    a_vital_keeps_its_highest_seq_whatever_the_order,
    a_navigation_keeps_its_most_complete_report,
    a_version_1_database_is_migrated_with_its_data,
    reopening_an_up_to_date_database_changes_nothing,
    a_newer_schema_is_refused,
    the_largest_group_is_written_whole,
    a_nul_character_does_not_poison_a_batch,
    old_events_are_pruned_in_chunks_and_recent_ones_kept,
);

/// The records of a batch from app `a`, session `session`, page view `p` (route `/a`), sent
/// now by a page loaded 5 s ago.
fn records(session: &str, events: Value) -> BrowserRecords {
    let now = common::now_ms();
    let body = json!({
        "v": 1, "app": "a", "release": "1.0", "session_id": session, "page_view_id": "p",
        "user_id": "u", "url": "https://x.example/a", "route": "/a",
        "time_origin": now - 5000.0, "sent_at": now, "events": events
    });
    let parsed = parse_browser_batch(body.to_string().as_bytes()).expect("a valid batch");
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    browser_records(parsed, now)
}

fn vital(name: &str, value: f64, id: &str, seq: u32) -> Value {
    json!({"type": "web_vital", "name": name, "value": value, "delta": value, "id": id,
           "seq": seq, "rating": "good", "start_time": 0})
}

fn with_event_id(mut event: Value, event_id: &str) -> Value {
    event["event_id"] = json!(event_id);
    event
}

fn outcome(stored: usize) -> StoreOutcome {
    StoreOutcome { stored }
}

/// An hour ago, epoch ms.
fn an_hour_ago() -> i64 {
    (common::now_ms() - 3_600_000.0) as i64
}

fn write(store: &SharedStore, batches: &[&BrowserRecords]) -> Vec<StoreOutcome> {
    on_plain_thread(|| store.write_group(batches)).expect("write_group")
}

fn batches_are_stored_and_read_back(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    store.ping().expect("ping");
    assert_eq!(
        store.schema_version().expect("version"),
        backend.current_version()
    );
    let first = records(
        "s1",
        json!([
            {"type": "page_view", "start_time": 0, "navigation_type": "navigate"},
            vital("LCP", 1800.0, "m-lcp", 1),
            vital("CLS", 0.05, "m-cls", 1),
            {"type": "navigation", "ttfb": 120.0, "load": 900.0, "transfer_size": 5000,
             "protocol": "h2"},
        ]),
    );
    // Another page view of another session, on a page without a route (counted by URL).
    let mut second = records(
        "s2",
        json!([
            {"type": "page_view", "start_time": 0, "page_view_id": "q"},
            vital("TTFB", 300.0, "m-ttfb", 1),
        ]),
    );
    for record in &mut second.records {
        record.route = None;
        record.url = "https://x.example/b".into();
    }
    assert_eq!(write(&store, &[&first, &second]), [outcome(4), outcome(2)]);

    let rows = store.vital_rows(an_hour_ago()).expect("vital_rows");
    let mut samples: Vec<(VitalName, f64, String)> = rows
        .samples
        .into_iter()
        .map(|s| (s.name, s.value, s.page))
        .collect();
    samples.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    assert_eq!(
        samples,
        [
            (VitalName::CLS, 0.05, "/a".to_owned()),
            (VitalName::LCP, 1800.0, "/a".to_owned()),
            (VitalName::TTFB, 300.0, "https://x.example/b".to_owned()),
        ]
    );
    let mut page_views = rows.page_views;
    page_views.sort();
    assert_eq!(
        page_views,
        [("/a".to_owned(), 1), ("https://x.example/b".to_owned(), 1)]
    );
    // Nothing measured after now.
    let later = store
        .vital_rows(an_hour_ago() + 2 * 3_600_000)
        .expect("vital_rows");
    assert!(later.samples.is_empty() && later.page_views.is_empty());

    // What the columns hold: the collector's rating, the navigation's timing and sizes.
    assert_eq!(
        backend.number("SELECT COUNT(*) FROM web_vitals WHERE rating = 'good'"),
        3.0
    );
    assert_eq!(
        backend.number("SELECT ttfb_ms FROM navigations WHERE page_view_id = 'p'"),
        120.0
    );
    assert_eq!(
        backend.number("SELECT transfer_size FROM navigations WHERE page_view_id = 'p'"),
        5000.0
    );
}

fn a_redelivered_event_is_stored_once(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let batch = records(
        "s",
        json!([
            {"type": "page_view", "start_time": 0, "event_id": "e1"},
            {"type": "navigation", "ttfb": 12.5, "transfer_size": 9_007_199_254_740_991_u64,
             "event_id": "e2"},
            {"type": "web_vital", "name": "CLS", "value": 0.2, "delta": 0.2, "id": "m1",
             "rating": "good"},
        ]),
    );
    let rows = || {
        (
            backend.count("page_views"),
            backend.count("navigations"),
            backend.count("web_vitals"),
        )
    };
    assert_eq!(write(&store, &[&batch]), [outcome(3)]);
    assert_eq!(rows(), (1, 1, 1));
    // Retried, twice in one group, then again: each event is kept once.
    write(&store, &[&batch]);
    write(&store, &[&batch, &batch]);
    assert_eq!(rows(), (1, 1, 1));

    // New events, the batch twice in one group: stored once.
    let fresh = records(
        "s",
        json!([
            {"type": "page_view", "start_time": 0, "page_view_id": "p2", "event_id": "e3"},
            with_event_id(vital("LCP", 900.0, "m2", 1), "e4"),
        ]),
    );
    assert_eq!(write(&store, &[&fresh, &fresh]), [outcome(2); 2]);
    assert_eq!(rows(), (2, 1, 2));
    // The same ids in another session are other events.
    let other_session = records(
        "s-other",
        json!([{"type": "page_view", "start_time": 0, "event_id": "e1"}]),
    );
    write(&store, &[&other_session]);
    assert_eq!(rows(), (3, 1, 2));
    assert_eq!(
        backend.number("SELECT COUNT(*) FROM web_vitals WHERE rating = 'needs-improvement'"),
        1.0,
        "CLS 0.2 is rated by the collector"
    );
    assert_eq!(
        backend.number("SELECT transfer_size FROM navigations"),
        9_007_199_254_740_991.0
    );
}

fn a_vital_keeps_its_highest_seq_whatever_the_order(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let report = |seq: u32, value: f64| records("s", json!([vital("INP", value, "m-inp", seq)]));
    let value = || backend.number("SELECT value FROM web_vitals WHERE metric_id = 'm-inp'");
    // seq 2, then the older seq 1: seq 2's value stays.
    write(&store, &[&report(2, 200.0)]);
    assert_eq!(write(&store, &[&report(1, 100.0)]), [outcome(1)]);
    assert_eq!(value(), 200.0);
    // In one group, out of order: the highest wins, wherever it is.
    write(&store, &[&report(4, 400.0), &report(3, 300.0)]);
    assert_eq!(value(), 400.0);
    write(
        &store,
        &[&report(5, 500.0), &report(6, 600.0), &report(5, 550.0)],
    );
    assert_eq!(value(), 600.0);
    // A second report of the same seq changes nothing (in a group or not).
    write(&store, &[&report(7, 700.0), &report(7, 777.0)]);
    assert_eq!(value(), 700.0);
    write(&store, &[&report(7, 799.0)]);
    assert_eq!(value(), 700.0);
    assert_eq!(backend.count("web_vitals"), 1);
    assert_eq!(
        backend.number("SELECT seq FROM web_vitals"),
        7.0,
        "the kept report's seq"
    );
}

fn a_navigation_keeps_its_most_complete_report(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let report = |ttfb: f64, load: Value, tls: Value| {
        records(
            "s",
            json!([{"type": "navigation", "ttfb": ttfb, "load": load, "tls": tls, "dns": 4.0}]),
        )
    };
    let ttfb = || backend.number("SELECT ttfb_ms FROM navigations");
    let early = report(100.0, json!(null), json!(null));
    write(&store, &[&early]);
    write(&store, &[&report(110.0, json!(900.0), json!(null))]);
    assert_eq!(ttfb(), 110.0);
    assert_eq!(backend.number("SELECT load_ms FROM navigations"), 900.0);
    // The early report, delivered again late: it has seen less of the load, and changes nothing.
    write(&store, &[&early]);
    assert_eq!(ttfb(), 110.0);
    // Reports no more complete than the kept one change nothing, in a group or not ...
    write(
        &store,
        &[
            &report(120.0, json!(950.0), json!(null)),
            &report(130.0, json!(null), json!(null)),
        ],
    );
    assert_eq!(ttfb(), 110.0);
    // ... and a more complete one replaces every column, wherever it is in its group.
    write(
        &store,
        &[
            &report(140.0, json!(null), json!(null)),
            &report(150.0, json!(990.0), json!(8.0)),
            &report(160.0, json!(null), json!(9.0)),
        ],
    );
    assert_eq!(ttfb(), 150.0);
    assert_eq!(backend.number("SELECT tls_ms FROM navigations"), 8.0);
    assert_eq!(backend.count("navigations"), 1);
}

fn a_version_1_database_is_migrated_with_its_data(backend: &dyn Backend) {
    backend.make_version_1();
    assert!(backend.has_table("seen_events"));
    let store = backend.open().expect("open a version-1 database");
    assert_eq!(
        store.schema_version().expect("version"),
        backend.current_version()
    );
    assert!(
        !backend.has_table("seen_events") && !backend.has_index("seen_events_by_received"),
        "migration 3 dropped the remembered ids (migration 2 had indexed them)"
    );
    assert_eq!(backend.count("page_views"), 1, "the data is kept");
    // The page view stored under version 1, delivered again: still one.
    let batch = records_of(
        "a",
        "s",
        json!([{"type": "page_view", "start_time": 0, "event_id": "e1"}]),
    );
    write(&store, &[&batch]);
    assert_eq!(backend.count("page_views"), 1);
    // Navigations gained their completeness: a new report replaces none it should not.
    write(
        &store,
        &[&records_of(
            "a",
            "s",
            json!([{"type": "navigation", "ttfb": 10.0}]),
        )],
    );
    assert_eq!(
        backend.number("SELECT CAST(completeness AS DOUBLE PRECISION) FROM navigations"),
        1.0
    );
}

/// [`records`] of another app.
fn records_of(app: &str, session: &str, events: Value) -> BrowserRecords {
    let mut batch = records(session, events);
    batch.app = app.to_owned();
    batch
}

fn reopening_an_up_to_date_database_changes_nothing(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    write(
        &store,
        &[&records("s", json!([vital("FCP", 500.0, "m", 1)]))],
    );
    drop(store);
    let store = backend.open().expect("reopen");
    assert_eq!(
        store.schema_version().expect("version"),
        backend.current_version()
    );
    assert_eq!(backend.count("web_vitals"), 1);
}

fn a_newer_schema_is_refused(backend: &dyn Backend) {
    drop(backend.open().expect("open"));
    let newer = backend.current_version() + 1;
    backend.set_version(newer);
    let err = backend.open().expect_err("a newer schema must be refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, known } if found == newer && known == backend.current_version()),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade"), "{err}");
}

/// 256 batches of 200 events (the queue's largest group of the protocol's largest batches):
/// one transaction, and every event where it belongs.
fn the_largest_group_is_written_whole(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let batches: Vec<BrowserRecords> = (0..256)
        .map(|b| {
            let events: Vec<Value> = (0..200)
                .map(|i| {
                    let mut event = match i % 4 {
                        0 => json!({"type": "page_view", "start_time": 0,
                                    "page_view_id": format!("p{b}-{i}")}),
                        1 => json!({"type": "navigation", "ttfb": f64::from(i),
                                    "page_view_id": format!("p{b}-{}", i - 1)}),
                        _ => vital("LCP", f64::from(i), &format!("m{b}-{i}"), 1),
                    };
                    event["event_id"] = json!(format!("e{b}-{i}"));
                    event
                })
                .collect();
            records(&format!("s{}", b % 7), json!(events))
        })
        .collect();
    let group: Vec<&BrowserRecords> = batches.iter().collect();
    let outcomes = write(&store, &group);
    assert_eq!(outcomes, vec![outcome(200); 256]);
    let rows = || {
        (
            backend.count("page_views"),
            backend.count("navigations"),
            backend.count("web_vitals"),
        )
    };
    assert_eq!(rows(), (256 * 50, 256 * 50, 256 * 100));
    // And all of it again: nothing more.
    write(&store, &group);
    assert_eq!(rows(), (256 * 50, 256 * 50, 256 * 100));
}

/// JSON allows `\u0000` in strings and the protocol takes it; PostgreSQL's `TEXT` does not. A
/// batch carrying one must still be stored (else its client would retry it forever), and
/// still stored once when it is retried.
fn a_nul_character_does_not_poison_a_batch(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let mut batch = records(
        "s\u{0}",
        json!([
            with_event_id(json!({"type": "page_view", "start_time": 0}), "e\u{0}1"),
            with_event_id(vital("LCP", 1200.0, "m\u{0}", 1), "e\u{0}2"),
            {"type": "navigation", "protocol": "h2\u{0}", "ttfb": 50.0},
        ]),
    );
    batch.release = Some("1.0\u{0}".into());
    for record in &mut batch.records {
        record.url = "https://x.example/\u{0}".into();
        record.route = Some("/a\u{0}".into());
    }
    assert_eq!(write(&store, &[&batch]), [outcome(3)]);
    write(&store, &[&batch, &batch]);
    let rows = store.vital_rows(an_hour_ago()).expect("vital_rows");
    assert_eq!(rows.samples.len(), 1);
    assert_eq!(rows.page_views.len(), 1);
    assert_eq!(
        (
            backend.count("page_views"),
            backend.count("navigations"),
            backend.count("web_vitals"),
        ),
        (1, 1, 1)
    );
}

// ---- PostgreSQL only ----

#[test]
fn postgres_stores_opened_together_migrate_the_database_once() {
    for _ in 0..3 {
        let db = test_db();
        let openers = 4;
        let barrier = Arc::new(Barrier::new(openers));
        let threads: Vec<_> = (0..openers)
            .map(|_| {
                let url = db.url.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    PostgresStore::open(&url, PostgresOptions::default())
                })
            })
            .collect();
        for thread in threads {
            let store = thread
                .join()
                .expect("no panic")
                .unwrap_or_else(|e| panic!("a concurrent open failed: {e}"));
            assert_eq!(
                perfwatch_collector::store::Store::schema_version(&store).expect("version"),
                pg_store::SCHEMA_VERSION
            );
        }
        let versions = db.with_client(|c| {
            c.query_one("SELECT COUNT(*) FROM perfwatch_schema", &[])
                .and_then(|row| row.try_get::<_, i64>(0))
                .expect("count")
        });
        assert_eq!(versions, 1, "one version row");
    }
}

#[test]
fn postgres_urls_never_show_their_password() {
    let db = test_db();
    let secret = "s3cret-Pw";
    // The server trusts the loopback, so the password is not needed, but it is carried.
    let url = db.url_with_password(secret);
    let location = StoreLocation::parse(&url).expect("parse");
    assert_eq!(location, StoreLocation::Postgres(url.clone()));
    for shown in [format!("{location:?}"), location.to_string()] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("postgres:***@127.0.0.1"), "{shown}");
    }
    let store = on_plain_thread(|| store::open(&location)).expect("open");
    assert_eq!(store.kind(), "postgres");
    let debug = format!("{store:?}");
    assert!(!debug.contains(secret), "{debug}");

    // Failures name what failed, never the password.
    let missing_db = url.replace(&db.name, "no_such_database");
    let err = on_plain_thread(|| PostgresStore::open(&missing_db, PostgresOptions::default()))
        .expect_err("no such database");
    let message = err.to_string();
    assert!(message.contains("no_such_database"), "{message}");
    assert!(!message.contains(secret), "{message}");

    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let unreachable = format!("postgres://postgres:{secret}@127.0.0.1:{closed_port}/x");
    let err = on_plain_thread(|| PostgresStore::open(&unreachable, PostgresOptions::default()))
        .expect_err("nobody listens");
    let message = err.to_string();
    assert!(message.contains("connect"), "{message}");
    assert!(!message.contains(secret), "{message}");

    let bad = format!("postgres://postgres:{secret}@127.0.0.1:notaport/x");
    let err = StoreLocation::parse(&bad).expect_err("a bad port");
    assert!(!err.to_string().contains(secret), "{err}");
    let err = on_plain_thread(|| PostgresStore::open(&bad, PostgresOptions::default()))
        .expect_err("a bad port");
    assert!(matches!(err, StoreError::PostgresUrl { .. }), "{err}");
    assert!(!err.to_string().contains(secret), "{err}");
}

#[test]
fn a_postgres_store_survives_its_connections_being_killed() {
    let db = test_db();
    let store =
        on_plain_thread(|| PostgresStore::open(&db.url, PostgresOptions::default())).expect("open");
    let store: SharedStore = Arc::new(store);
    write(&store, &[&records("s", json!([vital("LCP", 1.0, "m", 1)]))]);
    // An administrator (or a failover) ends every connection of the collector.
    let name = db.name.clone();
    db.with_client(move |c| {
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .expect("terminate")
    });
    // The pool notices on check-out and connects again.
    on_plain_thread(|| store.ping()).expect("ping after the connections were killed");
    assert_eq!(
        write(&store, &[&records("s", json!([vital("LCP", 2.0, "m", 2)]))]),
        [outcome(1)]
    );
}

// ---- The whole path over PostgreSQL ----

#[actix_web::test]
async fn ingest_then_vitals_over_postgres() {
    use common::{get, page_view, post_batch, send, HEALTH, VITALS};

    let db = test_db();
    let location = StoreLocation::parse(&db.url).expect("parse");
    // Opening connects: not on this async thread.
    let store = on_plain_thread(|| store::open(&location)).expect("open");
    let app =
        actix_web::test::init_service(perfwatch_collector::app(common::state_over(store))).await;

    // A page view and two vitals, sent twice (a retry after a lost answer): stored once.
    let mut view = page_view("p1", "/chat/:id");
    view["event_id"] = json!("e-0");
    let mut lcp = common::vital("LCP", 2000.0, "v6-lcp", 1);
    lcp["event_id"] = json!("e-1");
    let inp = common::vital("INP", 200.0, "v6-inp", 2);
    let body = common::batch(json!([view, lcp, inp])).to_string();
    for _ in 0..2 {
        let reply = send(&app, post_batch(body.clone()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(3));
    }
    // An older report of INP arrives late: seq 2's value stays.
    let late = common::batch(json!([common::vital("INP", 100.0, "v6-inp", 1)])).to_string();
    send(&app, post_batch(late).to_request()).await;

    let data = get(&app, &format!("{VITALS}?hours=1")).await.data().clone();
    assert_eq!(data["vitals"]["LCP"]["count"], json!(1));
    assert_eq!(data["vitals"]["LCP"]["p75"], json!(2000.0));
    assert_eq!(data["vitals"]["INP"]["count"], json!(1));
    assert_eq!(data["vitals"]["INP"]["p75"], json!(200.0));
    assert_eq!(data["page_views"], json!(1));

    let health = get(&app, HEALTH).await.data().clone();
    assert_eq!(health["store"]["kind"], json!("postgres"));
    assert_eq!(
        health["store"]["schema_version"],
        json!(pg_store::SCHEMA_VERSION)
    );
    assert_eq!(health["store"]["reachable"], json!(true));
    // The app and its state are dropped here, on this async thread, and the writer thread
    // ends: whichever holds the store last closes its connections, without panicking.
}

/// An actix worker may hold the last reference to the store: dropping it there (on a thread
/// that drives async tasks) must close its connections without panicking.
#[actix_web::test]
async fn a_postgres_store_can_be_dropped_on_an_async_thread() {
    let db = test_db();
    let store =
        on_plain_thread(|| PostgresStore::open(&db.url, PostgresOptions::default())).expect("open");
    drop(store);
    // The connections are closed: only this check's own remains (polled: a server process
    // may take a moment to leave pg_stat_activity).
    let name = db.name.clone();
    let others = db.with_client(move |c| {
        let mut others = -1;
        for _ in 0..50 {
            others = c
                .query_one(
                    "SELECT COUNT(*) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&name],
                )
                .and_then(|row| row.try_get::<_, i64>(0))
                .expect("count");
            if others == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        others
    });
    assert_eq!(others, 0, "connections left open");
}

/// Retention: raw rows dated before the cut-off are deleted, a chunk at a time; everything
/// newer stays.
fn old_events_are_pruned_in_chunks_and_recent_ones_kept(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let ten_days_ago = (common::now_ms() - 10.0 * 86_400_000.0) as i64;
    let mut old = records(
        "old",
        json!([
            with_event_id(json!({"type": "page_view", "start_time": 0}), "o1"),
            with_event_id(vital("LCP", 1.0, "old-lcp", 1), "o2"),
            with_event_id(vital("FCP", 1.0, "old-fcp", 1), "o3"),
            with_event_id(json!({"type": "navigation", "ttfb": 5.0}), "o4"),
        ]),
    );
    old.received_at_ms = ten_days_ago;
    for record in &mut old.records {
        record.at_ms = ten_days_ago;
    }
    let recent = records(
        "new",
        json!([
            with_event_id(json!({"type": "page_view", "start_time": 0}), "n1"),
            with_event_id(vital("LCP", 2.0, "new-lcp", 1), "n2"),
        ]),
    );
    write(&store, &[&old, &recent]);
    let cutoff = (common::now_ms() - 7.0 * 86_400_000.0) as i64;

    // One row per table and chunk: the two old vitals need two chunks.
    let first = on_plain_thread(|| store.prune(cutoff, 1)).expect("prune");
    assert_eq!(first, 3, "a page view, a vital and a navigation");
    let mut total = first;
    loop {
        let deleted = on_plain_thread(|| store.prune(cutoff, 1)).expect("prune");
        if deleted == 0 {
            break;
        }
        total += deleted;
    }
    assert_eq!(total, 4, "4 raw rows");
    assert_eq!(backend.count("page_views"), 1);
    assert_eq!(backend.count("web_vitals"), 1);
    assert_eq!(backend.count("navigations"), 0);
    assert_eq!(
        backend.number("SELECT value FROM web_vitals WHERE metric_id = 'new-lcp'"),
        2.0
    );
}
