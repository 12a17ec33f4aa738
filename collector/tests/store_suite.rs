//! The store's behaviours, written once and run against both implementations: each test below
//! is a function of a [`Backend`], instantiated as `on_sqlite::NAME` and `on_postgres::NAME` by
//! `both_stores!`. PostgreSQL runs on this binary's throwaway server (`common::postgres`); each
//! test gets its own database. Then what only PostgreSQL has (concurrent migration, passwords in
//! URLs, one roller among collectors) and the whole ingest → vitals path over PostgreSQL.

mod common;

use perfwatch_collector::alerts::model::{
    fingerprint, Alert, AlertState, Labels, Matcher, Silence,
};
use perfwatch_collector::store::AuditEntry;
use std::sync::{Arc, Barrier};

use perfwatch_collector::backend_stats::{
    AiGroupBy, AiStats, AiStatsBuilder, ApiGroupBy, ApiStats, ApiStatsBuilder,
};
use perfwatch_collector::call_rollup::{AiDimension, ApiDimension};
use perfwatch_collector::config::StoreLocation;
use perfwatch_collector::error_stats;
use perfwatch_collector::normalize::{
    browser_records, AiCallRecord, ApiCallRecord, Batch, BrowserRecords, TimingKind, TimingRecord,
};
use perfwatch_collector::rollup::{
    self, roll_once, DirtyBucket, RawMinute, RawPageView, RawVital, RollStats, Rollup,
    RollupPolicy, Tier,
};
use perfwatch_collector::rollup::{CallRangeCache, Kept};
use perfwatch_collector::routes::vitals::read_vitals_within;
use perfwatch_collector::session_stats::{ActiveUsers, SessionStats, SessionStatsBuilder};
use perfwatch_collector::stats::ReportSource;
use perfwatch_collector::store::{
    self, postgres as pg_store, sqlite as sqlite_store, ActiveCounts, PostgresOptions,
    PostgresStore, SharedStore, Store, StoreError, StoreOutcome, TimingRow,
};
use perfwatch_collector::window::Window;
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
    /// Makes the database as a schema-version-3 collector (the last without roll-ups) left it,
    /// having stored [`version_3_rows`] at `at_ms`.
    fn make_version_3(&self, at_ms: i64);
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

    fn make_version_3(&self, at_ms: i64) {
        let mut conn = self.connection();
        sqlite_store::migrate(&mut conn, &sqlite_store::MIGRATIONS[..3]).expect("migrations 1-3");
        conn.execute_batch(&version_3_rows(at_ms)).expect("insert");
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

    fn make_version_3(&self, at_ms: i64) {
        self.db.with_client(|client| {
            pg_store::migrate(client, &pg_store::MIGRATIONS[..3]).expect("migrations 1-3");
            client
                .batch_execute(&version_3_rows(at_ms))
                .expect("insert");
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

/// What a schema-version-3 collector stored at `at_ms`: page view `p` of session `s` (user
/// `u`) on route `/a`, and its LCP `m-old` (1200 ms, seq 1).
fn version_3_rows(at_ms: i64) -> String {
    format!(
        "INSERT INTO page_views (app, session_id, page_view_id, url, route, user_id,
                                 started_at_ms, received_at_ms)
         VALUES ('a', 's', 'p', 'https://x.example/a', '/a', 'u', {at_ms}, {at_ms});
         INSERT INTO web_vitals (app, session_id, page_view_id, metric_id, name, value, delta,
                                 seq, rating, url, route, measured_at_ms, received_at_ms)
         VALUES ('a', 's', 'p', 'm-old', 'LCP', 1200.0, 1200.0, 1, 'good',
                 'https://x.example/a', '/a', {at_ms}, {at_ms});"
    )
}

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
    a_large_batch_keeps_each_metric_once_at_its_highest_seq,
    backend_records_are_stored_once_per_service_and_event_id,
    a_navigation_keeps_its_most_complete_report,
    a_version_1_database_is_migrated_with_its_data,
    reopening_an_up_to_date_database_changes_nothing,
    a_newer_schema_is_refused,
    the_largest_group_is_written_whole,
    a_nul_character_does_not_poison_a_batch,
    old_events_are_pruned_in_chunks_and_recent_ones_kept,
    a_version_3_database_is_migrated_and_rolls_up_its_data,
    rollups_count_each_metric_once_at_its_highest_seq,
    a_mark_made_during_a_roll_is_kept,
    stale_marks_are_cleared_without_touching_the_bucket,
    old_rollups_are_pruned_per_tier,
    host_samples_and_their_hourly_rollups_are_kept_per_host,
    sessions_are_cut_at_long_pauses_and_active_users_counted,
    call_statistics_from_rollups_equal_those_from_raw_calls,
    browser_timings_are_stored_once_per_event_id_and_pruned,
    performance_entries_are_stored_with_what_they_say,
    the_apps_own_work_is_stored_with_its_outcome_error_type_and_trace_id,
    browser_errors_are_stored_once_per_event_id_grouped_exported_and_pruned,
    alert_episodes_and_silences_are_stored_updated_and_pruned,
    a_users_data_is_erased_and_administrative_actions_audited,
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
    let batches: Vec<Batch> = batches.iter().map(|&b| b.clone().into()).collect();
    write_batches(store, &batches)
}

fn write_batches(store: &SharedStore, batches: &[Batch]) -> Vec<StoreOutcome> {
    let batches: Vec<&Batch> = batches.iter().collect();
    on_plain_thread(|| store.write_group(&batches)).expect("write_group")
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

    let rows = store
        .vital_rows(an_hour_ago(), i64::MAX, usize::MAX)
        .expect("vital_rows")
        .expect("no cap");
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
    // A cap below what the window holds: nothing (the caller reads the roll-ups); at it, all.
    let capped = store
        .vital_rows(an_hour_ago(), i64::MAX, 2)
        .expect("vital_rows");
    assert_eq!(capped, None);
    let exact = store
        .vital_rows(an_hour_ago(), i64::MAX, 3)
        .expect("vital_rows")
        .expect("three vitals are within a cap of three");
    assert_eq!(exact.samples.len(), 3);
    // A report over more raw vitals than it may hold reads the roll-ups instead.
    let window = Window {
        hours: 2.0,
        since_ms: an_hour_ago(),
        until_ms: an_hour_ago() + 2 * 3_600_000,
    };
    let now = (an_hour_ago() + 3_600_000) as f64;
    let report = on_plain_thread(|| read_vitals_within(store.as_ref(), window, now, false, 3))
        .expect("raw report");
    assert_eq!(report.source, ReportSource::Raw);
    assert_eq!(report.vitals.get(VitalName::LCP).map(|s| s.count), Some(1));
    let report = on_plain_thread(|| read_vitals_within(store.as_ref(), window, now, false, 2))
        .expect("report from the roll-ups");
    assert_eq!(report.source, ReportSource::Rollups);
    // Nothing measured after now.
    let later = store
        .vital_rows(an_hour_ago() + 2 * 3_600_000, i64::MAX, usize::MAX)
        .expect("vital_rows")
        .expect("no cap");
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

/// A batch of many metrics, first reports mixed with later ones (some before their first
/// report), and the same batch again: each metric once, at its highest `seq`, dated by its
/// first report. (SQLite writes first reports many to a statement.)
fn a_large_batch_keeps_each_metric_once_at_its_highest_seq(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let mut events: Vec<Value> = Vec::new();
    for i in 0..40 {
        if i == 30 {
            // m30's second report arrives before its first.
            events.push(vital("LCP", 3030.0, "m30", 2));
        }
        events.push(vital("LCP", f64::from(i), &format!("m{i}"), 1));
        if i == 20 {
            // m3's second report, after its first (written earlier in the batch).
            events.push(vital("LCP", 3003.0, "m3", 2));
        }
    }
    let batch = records("s", Value::Array(events));
    assert_eq!(write(&store, &[&batch]), [outcome(42)]);
    assert_eq!(write(&store, &[&batch]), [outcome(42)], "the batch again");
    assert_eq!(backend.count("web_vitals"), 40);
    let value = |id: &str| {
        backend.number(&format!(
            "SELECT value FROM web_vitals WHERE metric_id = '{id}'"
        ))
    };
    assert_eq!(value("m3"), 3003.0);
    assert_eq!(value("m30"), 3030.0);
    assert_eq!(value("m39"), 39.0);
    assert_eq!(
        backend.number("SELECT SUM(value) FROM web_vitals"),
        (0..40).sum::<i32>() as f64 - 3.0 - 30.0 + 3003.0 + 3030.0
    );
    assert_eq!(
        backend.number("SELECT COUNT(DISTINCT measured_at_ms) FROM web_vitals"),
        1.0,
        "all dated by the batch's one time"
    );
}

fn browser_timings_are_stored_once_per_event_id_and_pruned(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let timing = |event_id: Option<&str>, name: &str, at_ms: i64| TimingRecord {
        kind: TimingKind::ApiCall,
        app: "a".to_owned(),
        session_id: "s".to_owned(),
        event_id: event_id.map(str::to_owned),
        page_view_id: "p".to_owned(),
        name: name.to_owned(),
        detail: None,
        status: Some(0),
        failed: true,
        duration_ms: 12.5,
        blocking_ms: None,
        script_ms: None,
        transfer_size: None,
        trace_id: None,
        user_id: None,
        at_ms,
        received_at_ms: at_ms,
    };
    let batch = Batch::Timings(vec![
        timing(Some("e1"), "GET /a", now),
        timing(Some("e1"), "GET /a", now),
        timing(None, "GET /\0b", now),
        timing(Some("old"), "GET /a", now - 10 * DAY_MS),
    ]);
    write_batches(&store, &[batch.clone(), batch]);
    assert_eq!(
        backend.count("browser_timings"),
        4,
        "e1 and old once, the id-less twice"
    );
    let mut rows = Vec::new();
    on_plain_thread(|| store.scan_timings(now - HOUR_MS, now + 1, &mut |row| rows.push(row)))
        .expect("scan");
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|row| row.failed && row.kind == TimingKind::ApiCall));
    on_plain_thread(|| store.prune(now - 7 * DAY_MS, 100)).expect("prune");
    assert_eq!(backend.count("browser_timings"), 3);
}

/// The timings dated within an hour of now, by kind, name and duration.
fn recent_timings(store: &SharedStore) -> Vec<TimingRow> {
    let mut rows = Vec::new();
    let now = now();
    on_plain_thread(|| store.scan_timings(now - HOUR_MS, now + HOUR_MS, &mut |row| rows.push(row)))
        .expect("scan");
    rows.sort_by(|a, b| {
        (a.kind.as_str(), &a.name)
            .cmp(&(b.kind.as_str(), &b.name))
            .then(a.duration_ms.total_cmp(&b.duration_ms))
    });
    rows
}

fn performance_entries_are_stored_with_what_they_say(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let batch = records(
        "s",
        json!([
            {"type": "long_task", "start_time": 100, "duration": 120, "event_id": "t1",
             "container": "https://ads.example/f.html?slot=1"},
            {"type": "long_animation_frame", "start_time": 200, "duration": 180,
             "blocking_duration": 90, "script_url": "https://x.example/main.js?v=2",
             "script_invoker": "BUTTON#send.onclick", "script_duration": 70, "event_id": "f1"},
            {"type": "resource", "name": "https://cdn.example/a.png?w=64", "initiator_type": "img",
             "start_time": 300, "duration": 40, "transfer_size": 9_007_199_254_740_991_u64,
             "response_status": 404, "event_id": "r1"},
            {"type": "resource", "name": "https://cdn.example/b.js", "initiator_type": "script",
             "start_time": 310, "duration": 5}
        ]),
    );
    // Delivered twice: the entries with an event id are stored once.
    assert_eq!(
        write(&store, &[&batch, &batch]),
        vec![outcome(4), outcome(4)]
    );
    assert_eq!(backend.count("browser_timings"), 5);
    let rows = recent_timings(&store);
    let [frame, task, image, script, _script_again] = &rows[..] else {
        panic!("{rows:?}");
    };
    assert_eq!(task.kind, TimingKind::LongTask);
    assert_eq!(task.name, "unknown");
    assert_eq!(
        task.page_view.as_deref(),
        Some("s p"),
        "a long task's page view"
    );
    assert_eq!(task.detail.as_deref(), Some("https://ads.example/f.html"));
    assert_eq!(frame.kind, TimingKind::LongAnimationFrame);
    assert_eq!(frame.name, "https://x.example/main.js");
    assert_eq!(frame.detail.as_deref(), Some("BUTTON#send.onclick"));
    assert_eq!(
        (frame.duration_ms, frame.blocking_ms, frame.script_ms),
        (180.0, Some(90.0), Some(70.0))
    );
    assert_eq!(frame.page_view, None, "only long tasks need theirs");
    assert_eq!(image.name, "https://cdn.example/a.png");
    assert_eq!(image.detail.as_deref(), Some("img"));
    assert!(image.failed, "answered 404");
    assert_eq!(
        image.transfer_size,
        Some(9_007_199_254_740_991),
        "2^53 - 1 kept exactly"
    );
    assert_eq!(
        (script.detail.as_deref(), script.transfer_size),
        (Some("script"), None)
    );
    assert_eq!(
        backend.number("SELECT CAST(status AS BIGINT) FROM browser_timings WHERE event_id = 'r1'"),
        404.0
    );
}

fn the_apps_own_work_is_stored_with_its_outcome_error_type_and_trace_id(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let batch = records(
        "s",
        json!([
            {"type": "measure", "name": "chat-render", "start_time": 100, "duration": 12.5,
             "event_id": "m1"},
            {"type": "measure", "name": "chat-render", "start_time": 200, "duration": 20.0},
            {"type": "interaction", "name": "send", "start_time": 300, "duration": 3.0,
             "ok": false, "event_id": "i1"},
            {"type": "api_call", "name": "POST /chat", "status": 0, "ok": false,
             "start_time": 400, "duration": 7.0, "error_type": "TypeError",
             "trace_id": trace_id, "event_id": "c1"},
            {"type": "api_call", "name": "GET /models", "status": 200, "start_time": 500,
             "duration": 80.0, "event_id": "c2"}
        ]),
    );
    // Delivered twice: what has an event id is stored once.
    assert_eq!(
        write(&store, &[&batch, &batch]),
        vec![outcome(5), outcome(5)]
    );
    assert_eq!(backend.count("browser_timings"), 6);
    let rows = recent_timings(&store);
    let [answered, threw, interaction, measures @ ..] = &rows[..] else {
        panic!("{rows:?}");
    };
    assert_eq!(
        (answered.kind, answered.failed, answered.detail.as_deref()),
        (TimingKind::ApiCall, false, None)
    );
    assert_eq!(
        (threw.name.as_str(), threw.failed, threw.detail.as_deref()),
        ("POST /chat", true, Some("TypeError"))
    );
    assert_eq!(
        (interaction.kind, interaction.failed),
        (TimingKind::Interaction, true),
        "its handler threw"
    );
    assert_eq!(measures.len(), 3, "m1 once, the id-less twice");
    for (row, duration_ms) in measures.iter().zip([12.5, 20.0, 20.0]) {
        assert_eq!(
            (row.kind, row.name.as_str(), row.duration_ms, row.failed),
            (TimingKind::Measure, "chat-render", duration_ms, false)
        );
    }
    assert_eq!(
        backend.number(&format!(
            "SELECT COUNT(*) FROM browser_timings WHERE trace_id = '{trace_id}' \
             AND event_id = 'c1' AND detail = 'TypeError'"
        )),
        1.0
    );
    assert_eq!(
        backend.number("SELECT COUNT(*) FROM browser_timings WHERE trace_id IS NULL"),
        5.0
    );
}

fn browser_errors_are_stored_once_per_event_id_grouped_exported_and_pruned(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let message = "Cannot read properties of undefined (reading 'id')\nin ChatView";
    let render = |start_time: f64, stack: Option<&str>| {
        let mut error = json!({"type": "error", "kind": "render", "name": "TypeError",
                               "message": message, "start_time": start_time});
        if let Some(stack) = stack {
            error["stack"] = json!(stack);
            error["component_stack"] = json!("\n    in ChatView\n    in App");
        }
        error
    };
    let batch = records(
        "s",
        json!([
            with_event_id(render(100.0, Some("TypeError: first\n    at ChatView")), "e1"),
            // Without an id: it cannot be recognised again.
            render(200.0, None),
            with_event_id(
                json!({"type": "error", "kind": "unhandledrejection", "message": "",
                       "start_time": 300}),
                "e2"
            ),
            {"type": "page_view", "start_time": 0},
        ]),
    );
    // Delivered twice, in one group: what has an event id is stored once.
    assert_eq!(
        write(&store, &[&batch, &batch]),
        vec![outcome(4), outcome(4)]
    );
    assert_eq!(backend.count("browser_errors"), 4, "e1 and e2 once");
    // Another session: the same event id is another error; a U+0000 in its ids does not
    // poison the batch (PostgreSQL's TEXT cannot hold it), and a retry is still recognised.
    let other = records(
        "s\u{0}2",
        json!([with_event_id(
            render(400.0, Some("TypeError: latest\n    at ChatView")),
            "e\u{0}1"
        )]),
    );
    write(&store, &[&other]);
    write(&store, &[&other]);
    // Ten days old: the retention pass deletes it.
    let old = dated(
        records("old", json!([with_event_id(render(0.0, None), "e-old")])),
        now - 10 * DAY_MS,
    );
    write(&store, &[&old]);
    assert_eq!(backend.count("browser_errors"), 6);
    assert_eq!(
        backend.number(
            "SELECT COUNT(*) FROM browser_errors WHERE url = 'https://x.example/a' \
             AND route = '/a' AND release = '1.0' AND user_id = 'u'"
        ),
        6.0,
        "each with its page, release and user"
    );

    let mut rows = Vec::new();
    on_plain_thread(|| store.scan_errors(now - HOUR_MS, now + HOUR_MS, &mut |row| rows.push(row)))
        .expect("scan");
    rows.sort_by_key(|row| row.at_ms);
    let kinds: Vec<(&str, bool)> = rows
        .iter()
        .map(|row| (row.kind.as_str(), row.has_stack))
        .collect();
    assert_eq!(
        kinds,
        [
            ("render", true),
            ("render", false),
            ("render", false),
            ("unhandledrejection", false),
            ("render", true)
        ]
    );
    assert_eq!(
        (rows[0].name.as_deref(), rows[0].message.as_str()),
        (Some("TypeError"), message)
    );
    assert_eq!(
        (rows[3].name.as_deref(), rows[3].message.as_str()),
        (None, "")
    );
    assert_eq!(rows[0].session, "a s");

    let errors =
        on_plain_thread(|| error_stats::read(store.as_ref(), now - HOUR_MS, now + HOUR_MS))
            .expect("read");
    assert_eq!((errors.count, errors.sessions_affected), (5, 2));
    let render = &errors.groups[0];
    assert_eq!(
        (render.kind.as_str(), render.message.as_str(), render.count),
        ("render", message, 4)
    );
    assert_eq!(render.sessions_affected, 2);
    assert_eq!(
        render.sample_stack.as_deref(),
        Some("TypeError: latest\n    at ChatView"),
        "the latest error with a stack"
    );
    assert_eq!(
        render.sample_component_stack.as_deref(),
        Some("\n    in ChatView\n    in App")
    );
    assert_eq!(errors.groups[1].kind, "unhandledrejection");
    assert_eq!(errors.groups[1].sample_stack, None);
    // The stacks of an error gone meanwhile are not an error.
    let samples = on_plain_thread(|| store.error_samples(&[i64::MAX])).expect("samples");
    assert!(samples.is_empty());

    let mut exported = Vec::new();
    on_plain_thread(|| store.export(now - HOUR_MS, now + HOUR_MS, &mut exported)).expect("export");
    let exported = String::from_utf8(exported).expect("UTF-8");
    assert_eq!(exported.matches("\"type\":\"browser_error\"").count(), 5);

    on_plain_thread(|| store.prune(now - 7 * DAY_MS, 100)).expect("prune");
    assert_eq!(backend.count("browser_errors"), 5, "the old one went");
}

/// A batch of session `session` holding page view `page_view` started at `at_ms`, arriving at
/// `received_at_ms`.
fn page_view_batch(
    session: &str,
    user: Option<&str>,
    page_view: &str,
    at_ms: i64,
    received_at_ms: i64,
) -> BrowserRecords {
    let mut batch = records(
        session,
        json!([{"type": "page_view", "start_time": 0, "page_view_id": page_view}]),
    );
    batch.user_id = user.map(str::to_owned);
    batch.received_at_ms = received_at_ms;
    for record in &mut batch.records {
        record.at_ms = at_ms;
    }
    batch
}

/// The session statistics of `[since_ms, until_ms)` with a 30-minute timeout.
fn session_stats(store: &SharedStore, since_ms: i64, until_ms: i64) -> SessionStats {
    on_plain_thread(|| {
        let mut builder = SessionStatsBuilder::new(since_ms, until_ms, 30 * MINUTE_MS);
        store.scan_sessions(since_ms, until_ms, &mut |point| builder.add(point))?;
        Ok::<_, StoreError>(builder.finish(ActiveUsers::default()))
    })
    .expect("scan sessions")
}

fn sessions_are_cut_at_long_pauses_and_active_users_counted(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let t = Tier::Minute.bucket_of(now());
    let batches = [
        // u's first visit: two pages 10 minutes apart, the second sent 2 minutes later.
        page_view_batch(
            "s1",
            Some("u"),
            "p1",
            t - 90 * MINUTE_MS,
            t - 90 * MINUTE_MS,
        ),
        page_view_batch(
            "s1",
            Some("u"),
            "p2",
            t - 80 * MINUTE_MS,
            t - 78 * MINUTE_MS,
        ),
        // Back 76 minutes later under the same session id: a new visit.
        page_view_batch("s1", Some("u"), "p3", t - 2 * MINUTE_MS, t - 2 * MINUTE_MS),
        // Someone not signed in, whose page was still sending a minute ago.
        page_view_batch("s2", None, "q1", t - 10 * MINUTE_MS, t - MINUTE_MS),
    ];
    let refs: Vec<&BrowserRecords> = batches.iter().collect();
    write(&store, &refs);
    // Delivered again: nothing changes.
    write(&store, &refs[1..2]);
    write_batches(
        &store,
        &[Batch::ApiCalls(vec![api_call(
            "api",
            None,
            200,
            t - MINUTE_MS,
        )])],
    );

    let stats = session_stats(&store, t - 2 * HOUR_MS, t + MINUTE_MS);
    assert_eq!(stats.sessions_started, 3, "{stats:?}");
    assert_eq!(stats.page_views.total, 4);
    assert_eq!(
        (stats.users, stats.anonymous_sessions),
        (1, 1),
        "u twice, and one session without a user"
    );
    // s1's first visit: from its first page to the arrival of the second page's batch.
    assert_eq!(
        stats.duration_ms.max.map(f64::round),
        Some((12 * MINUTE_MS) as f64)
    );
    let views: Vec<u64> = stats
        .page_views
        .distribution
        .iter()
        .map(|b| b.sessions)
        .collect();
    assert_eq!(views, [2, 1, 0, 0, 0]);
    // A window starting after s1's first visit sees only the visits started in it.
    let recent = session_stats(&store, t - 30 * MINUTE_MS, t + MINUTE_MS);
    assert_eq!(recent.sessions_started, 2);

    let active = on_plain_thread(|| store.active_users(t - 5 * MINUTE_MS)).expect("active");
    // s1 and s2 are active; s2 has no user; u and the backend's u_42 are the named users.
    assert_eq!(
        active,
        ActiveCounts {
            sessions: 2,
            anonymous_sessions: 1,
            named_users: 2
        }
    );
}

fn api_call(service: &str, event_id: Option<&str>, status: u16, at_ms: i64) -> ApiCallRecord {
    ApiCallRecord {
        service: service.to_owned(),
        event_id: event_id.map(str::to_owned),
        endpoint: "/api/v1/chat".to_owned(),
        method: "POST".to_owned(),
        status,
        duration_ms: 123.5,
        user_id: Some("u_42".to_owned()),
        trace_id: None,
        at_ms,
        received_at_ms: at_ms,
    }
}

fn ai_call(event_id: Option<&str>, model: &str, cost: Option<f64>, at_ms: i64) -> AiCallRecord {
    AiCallRecord {
        service: "api".to_owned(),
        event_id: event_id.map(str::to_owned),
        model: model.to_owned(),
        provider: Some("openai".to_owned()),
        operation: Some("chat".to_owned()),
        input_tokens: 1200,
        output_tokens: 300,
        cached_input_tokens: 200,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        duration_ms: 2300.0,
        success: true,
        error_type: None,
        user_id: Some("u_42".to_owned()),
        trace_id: None,
        sent_cost_usd: None,
        computed_cost_usd: cost,
        at_ms,
        received_at_ms: at_ms,
    }
}

/// API and AI calls: once per `(service, event_id)` however often delivered, in one group or
/// across groups; records without an `event_id` are all kept; an unknown model's cost stays
/// unknown (NULL), never 0; exported and pruned with the raw events.
fn backend_records_are_stored_once_per_service_and_event_id(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let api = Batch::ApiCalls(vec![
        api_call("api", Some("e1"), 200, now),
        api_call("api", Some("e1"), 503, now),
        api_call("worker", Some("e1"), 201, now),
        api_call("api", None, 204, now),
        api_call("api", None, 204, now),
    ]);
    let ai = Batch::AiCalls(vec![
        ai_call(Some("a1"), "gpt-4o", Some(0.0054), now),
        ai_call(Some("a1"), "gpt-4o", Some(0.0054), now),
        ai_call(Some("a2"), "no-such-model", None, now),
    ]);
    let outcomes = write_batches(&store, &[api.clone(), ai.clone()]);
    assert_eq!(
        outcomes.iter().map(|o| o.stored).collect::<Vec<_>>(),
        [5, 3]
    );
    assert_eq!(backend.count("api_calls"), 4);
    assert_eq!(
        backend.number(
            "SELECT CAST(status AS BIGINT) FROM api_calls WHERE service = 'api' AND event_id = 'e1'",
        ),
        200.0,
        "the first delivery stays"
    );
    assert_eq!(backend.count("ai_calls"), 2);
    assert_eq!(
        backend.number("SELECT COUNT(*) FROM ai_calls WHERE computed_cost_usd IS NULL"),
        1.0,
        "an unknown model's cost is unknown, not 0"
    );
    // The same batches again, in another group: only the records without an id add rows.
    write_batches(&store, &[ai, api]);
    assert_eq!(backend.count("api_calls"), 6);
    assert_eq!(backend.count("ai_calls"), 2);

    // Read back for statistics, one row at a time, only inside the window.
    let mut api_rows = Vec::new();
    on_plain_thread(|| store.scan_api_calls(now, now + 1, &mut |row| api_rows.push(row)))
        .expect("scan");
    assert_eq!(api_rows.len(), 6);
    assert!(api_rows
        .iter()
        .all(|r| r.method == "POST" && r.duration_ms == 123.5));
    assert_eq!(api_rows.iter().filter(|r| r.status == 204).count(), 4);
    let mut outside = 0;
    on_plain_thread(|| store.scan_api_calls(now + 1, now + HOUR_MS, &mut |_| outside += 1))
        .expect("scan");
    assert_eq!(outside, 0);
    let mut ai_rows = Vec::new();
    on_plain_thread(|| store.scan_ai_calls(now, now + 1, &mut |row| ai_rows.push(row)))
        .expect("scan");
    ai_rows.sort_by(|a, b| a.model.cmp(&b.model));
    assert_eq!(ai_rows.len(), 2);
    assert_eq!(ai_rows[0].computed_cost_usd, Some(0.0054));
    assert_eq!(ai_rows[1].computed_cost_usd, None);
    assert!(ai_rows[0].success);
    assert_eq!(
        (ai_rows[0].input_tokens, ai_rows[0].cached_input_tokens),
        (1200, 200)
    );

    let mut exported = Vec::new();
    on_plain_thread(|| store.export(now - HOUR_MS, now + HOUR_MS, &mut exported)).expect("export");
    let exported = String::from_utf8(exported).expect("UTF-8");
    assert_eq!(exported.matches("\"type\":\"api_call\"").count(), 6);
    assert_eq!(exported.matches("\"type\":\"ai_call\"").count(), 2);

    let pruned = on_plain_thread(|| store.prune(now + 1, 100)).expect("prune");
    assert!(pruned >= 8, "{pruned}");
    assert_eq!(
        (backend.count("api_calls"), backend.count("ai_calls")),
        (0, 0)
    );
}

fn a_navigation_keeps_its_most_complete_report(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let report = |ttfb: f64, load: Value, tls: Value| {
        records(
            "s",
            json!([{"type": "navigation", "ttfb": ttfb, "load": load, "tls": tls, "dns": 4.0,
                    "request": ttfb / 2.0}]),
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
    assert_eq!(backend.number("SELECT request_ms FROM navigations"), 75.0);
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
    let rows = store
        .vital_rows(an_hour_ago(), i64::MAX, usize::MAX)
        .expect("vital_rows")
        .expect("no cap");
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
    let error = json!({"type": "error", "kind": "render", "name": "TypeError",
                       "message": "x is undefined", "stack": "TypeError: x is undefined\n  at A",
                       "start_time": 10, "event_id": "e-2"});
    let body = common::batch(json!([view, lcp, inp, error])).to_string();
    for _ in 0..2 {
        let reply = send(&app, post_batch(body.clone()).to_request()).await;
        assert_eq!(reply.data()["accepted"], json!(4));
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
    assert_eq!(data["errors"]["count"], json!(1), "{data}");
    assert_eq!(
        data["errors"]["groups"][0]["sample_stack"],
        json!("TypeError: x is undefined\n  at A")
    );

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
    assert_eq!(
        first, 4,
        "a page view, a vital, a navigation and the session's minute of activity"
    );
    let mut total = first;
    loop {
        let deleted = on_plain_thread(|| store.prune(cutoff, 1)).expect("prune");
        if deleted == 0 {
            break;
        }
        total += deleted;
    }
    // 4 raw events and the minute of activity, and on SQLite the session, page view and
    // minute their metrics referred to.
    let references = if backend.has_table("pages") { 3 } else { 0 };
    assert_eq!(total, 5 + references);
    // Only the recent session's activity is left.
    let mut sessions = std::collections::BTreeSet::new();
    on_plain_thread(|| {
        store.scan_sessions(ten_days_ago - DAY_MS, now() + MINUTE_MS, &mut |point| {
            sessions.insert(point.session_id);
        })
    })
    .expect("scan sessions");
    assert_eq!(sessions.into_iter().collect::<Vec<_>>(), ["new"]);
    if references > 0 {
        for table in ["pages", "sessions", "vital_minutes"] {
            assert_eq!(
                backend.count(table),
                1,
                "{table}: the recent metric's stays"
            );
        }
    }
    assert_eq!(backend.count("page_views"), 1);
    assert_eq!(backend.count("web_vitals"), 1);
    assert_eq!(backend.count("navigations"), 0);
    assert_eq!(
        backend.number("SELECT value FROM web_vitals WHERE metric_id = 'new-lcp'"),
        2.0
    );
}

// ---- Roll-ups ----

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Epoch ms now, as an integer.
fn now() -> i64 {
    common::now_ms() as i64
}

/// `batch` with every record dated `at_ms`.
fn dated(mut batch: BrowserRecords, at_ms: i64) -> BrowserRecords {
    for record in &mut batch.records {
        record.at_ms = at_ms;
    }
    batch
}

/// `batch` with every record on `route`.
fn on_route(mut batch: BrowserRecords, route: &str) -> BrowserRecords {
    for record in &mut batch.records {
        record.route = Some(route.to_owned());
    }
    batch
}

/// `batch` of `user` (`None`: nobody signed in).
fn of_user(mut batch: BrowserRecords, user: Option<&str>) -> BrowserRecords {
    batch.user_id = user.map(str::to_owned);
    batch
}

fn page_view_event(id: &str) -> Value {
    json!({"type": "page_view", "start_time": 0, "page_view_id": id})
}

/// API and AI call statistics of `[from_ms, to_ms)` from the raw calls, and from the roll-ups
/// (with unrolled minutes read raw).
fn call_stats(
    store: &SharedStore,
    kept: Kept,
    cache: Option<&CallRangeCache>,
    from_ms: i64,
    to_ms: i64,
) -> ((ApiStats, AiStats), (ApiStats, AiStats)) {
    on_plain_thread(|| {
        let group = Some(ApiGroupBy::Endpoint);
        let (mut api_raw, mut ai_raw) = (
            ApiStatsBuilder::new(60.0, group),
            AiStatsBuilder::new(Some(AiGroupBy::User)),
        );
        store.scan_api_calls(from_ms, to_ms, &mut |row| api_raw.add(row))?;
        store.scan_ai_calls(from_ms, to_ms, &mut |row| ai_raw.add(row))?;
        let (mut api, mut ai) = (
            ApiStatsBuilder::new(60.0, group),
            AiStatsBuilder::new(Some(AiGroupBy::User)),
        );
        rollup::read_call_window(
            store.as_ref(),
            cache,
            kept,
            (from_ms, to_ms),
            (&ApiDimension::ALL, &AiDimension::ALL),
            &mut |series| api.add_series(series),
            &mut |series| ai.add_series(series),
        )?;
        Ok::<_, StoreError>((
            (api_raw.finish(), ai_raw.finish()),
            (api.finish(), ai.finish()),
        ))
    })
    .expect("call statistics")
}

/// Calls spread over three days are rolled into minutes, hours and days; a 3-day window read
/// from the roll-ups gives the statistics the raw calls give; calls written after the last
/// pass are in it too, read raw from their dirty minutes.
fn call_statistics_from_rollups_equal_those_from_raw_calls(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let mut api = Vec::new();
    let mut ai = Vec::new();
    for i in 0..600i64 {
        // From 3 days ago to 10 minutes ago, an hour and 7 minutes apart.
        let at = now - 3 * DAY_MS + i * (67 * MINUTE_MS) % (3 * DAY_MS - 10 * MINUTE_MS);
        let mut call = api_call(
            "api",
            Some(&format!("a{i}")),
            [200, 404, 503][(i % 3) as usize],
            at,
        );
        call.endpoint = format!("/e{}", i % 4);
        call.duration_ms = (i % 50) as f64 * 10.0 + 5.0;
        call.user_id = Some(format!("u{}", i % 6));
        api.push(call);
        let mut model_call = ai_call(
            Some(&format!("m{i}")),
            ["gpt-4o", "gpt-4.1"][(i % 2) as usize],
            Some(0.25),
            at,
        );
        model_call.user_id = Some(format!("u{}", i % 5));
        model_call.success = i % 7 != 0;
        ai.push(model_call);
    }
    // A window whose start cuts a minute in two, with a call in each part.
    let (from, to) = (
        Tier::Minute.bucket_of(now - 2 * DAY_MS) + 30_000,
        now + MINUTE_MS,
    );
    for (id, at) in [("edge-out", from - 5_000), ("edge-in", from + 5_000)] {
        api.push(api_call("api", Some(id), 200, at));
        ai.push(ai_call(Some(id), "gpt-4o", Some(0.25), at));
    }
    write_batches(&store, &[Batch::ApiCalls(api), Batch::AiCalls(ai)]);
    // Minutes kept a week, so that the hours and days of three days ago are rolled from them.
    let policy = RollupPolicy {
        minute_days: 7,
        ..RollupPolicy::default()
    };
    let stats = on_plain_thread(|| roll_once(store.as_ref(), policy, 7, now)).expect("roll");
    let kept = Kept::at(policy, 7, now);
    assert!(stats.rolled > 0, "{stats:?}");
    assert!(
        backend.number("SELECT COUNT(*) FROM rollup_api_calls WHERE tier = 'day'") > 0.0,
        "day buckets written"
    );
    let cache = CallRangeCache::default();
    let (raw, rolled) = call_stats(&store, kept, None, from, to);
    let before = raw.0.total_requests;
    assert!((300..600).contains(&before), "{before}");
    assert_eq!(raw, rolled);
    // Through the cache, filled and then used: the same.
    for _ in 0..2 {
        let (_, cached) = call_stats(&store, kept, Some(&cache), from, to);
        assert_eq!(cached, raw);
    }

    // Written after the pass, now and in a minute a day ago: not rolled yet, still counted,
    // with or without the cache.
    write_batches(
        &store,
        &[Batch::ApiCalls(vec![
            api_call("api", Some("late"), 200, now),
            api_call("api", Some("later"), 200, now - DAY_MS),
        ])],
    );
    for cache in [None, Some(&cache)] {
        let (raw, rolled) = call_stats(&store, kept, cache, from, to);
        assert_eq!(rolled.0.total_requests, before + 2);
        assert_eq!(raw, rolled);
    }
}

fn roll(store: &SharedStore, raw_days: u32, now_ms: i64) -> RollStats {
    on_plain_thread(|| roll_once(store.as_ref(), RollupPolicy::default(), raw_days, now_ms))
        .expect("roll_once")
}

fn window(store: &SharedStore, from_ms: i64, to_ms: i64) -> Rollup {
    on_plain_thread(|| rollup::read_window(store.as_ref(), from_ms, to_ms)).expect("read_window")
}

/// The buckets of `tier` starting in `[from_ms, to_ms)`, merged (so in key order).
fn tier_rollup(store: &SharedStore, tier: Tier, from_ms: i64, to_ms: i64) -> Rollup {
    let parts = on_plain_thread(|| store.read_rollups(tier, from_ms, to_ms)).expect("read");
    rollup::merge([parts])
}

/// `(count, ratings, p75, max)` of the series of `name` on `page` of app `a`.
fn vital_series(rollup: &Rollup, page: &str, name: VitalName) -> (u64, [u64; 3], f64, f64) {
    let series = rollup
        .vitals
        .iter()
        .find(|s| s.app == "a" && s.page == page && s.name == name)
        .unwrap_or_else(|| panic!("no {name:?} on {page} in {rollup:?}"));
    assert_eq!(series.sketch.count(), series.count());
    (
        series.count(),
        series.ratings,
        series.sketch.quantile(0.75).expect("p75"),
        series.sketch.max().expect("max"),
    )
}

/// `(count, distinct sessions, distinct users)` of the page views of `page` of app `a`.
fn page_view_series(rollup: &Rollup, page: &str) -> (u64, u64, u64) {
    let series = rollup
        .page_views
        .iter()
        .find(|s| s.app == "a" && s.page == page)
        .unwrap_or_else(|| panic!("no page views of {page} in {rollup:?}"));
    (
        series.count,
        series.sessions.estimate(),
        series.users.estimate(),
    )
}

/// The exact nearest-rank quantile `q` of `values`.
fn nearest_rank(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

fn rows_of_tier(backend: &dyn Backend, table: &str, tier: Tier) -> i64 {
    backend.number(&format!(
        "SELECT COUNT(*) FROM {table} WHERE tier = '{}'",
        tier.as_str()
    )) as i64
}

/// Web vitals and page views of several pages, sessions and users in one minute, then
/// reports that change (a higher `seq`) or do not (a lower one) some metrics: each metric
/// counts once, with its highest-`seq` value, in the minute of its first report, in every tier.
fn rollups_count_each_metric_once_at_its_highest_seq(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let minute = Tier::Minute.bucket_of(now - HOUR_MS);
    let at = minute + 10_000;
    // 20 LCPs on /a, 1000 ms to 5750 ms, alternately in sessions s1 (user u) and s2 (user v).
    let lcp = |i: u32| vital("LCP", 1000.0 + 250.0 * f64::from(i), &format!("lcp-{i}"), 2);
    let events = |pages: &[&str], lcps: std::iter::StepBy<std::ops::Range<u32>>| {
        let views = pages.iter().map(|id| page_view_event(id));
        Value::Array(views.chain(lcps.map(lcp)).collect())
    };
    let s1 = dated(records("s1", events(&["p1", "p2"], (0..20).step_by(2))), at);
    let s2 = dated(
        of_user(
            records("s2", events(&["p3"], (1..20).step_by(2))),
            Some("v"),
        ),
        at + 20_000,
    );
    // A page view and a CLS on /b, nobody signed in; a page view of s3 (user u again) on /a.
    let s4 = dated(
        on_route(
            of_user(
                records(
                    "s4",
                    json!([page_view_event("p5"), vital("CLS", 0.3, "cls-1", 1)]),
                ),
                None,
            ),
            "/b",
        ),
        at,
    );
    let s3 = dated(records("s3", json!([page_view_event("p4")])), at + 5_000);
    // An FCP reported twice in the group, the second report two minutes later: the metric
    // keeps its first report's minute and its second report's value.
    let fcp_first = dated(records("s1", json!([vital("FCP", 900.0, "fcp-1", 1)])), at);
    let fcp_second = dated(
        records("s1", json!([vital("FCP", 1900.0, "fcp-1", 2)])),
        at + 2 * MINUTE_MS,
    );
    write(&store, &[&s1, &s2, &s4, &s3, &fcp_first, &fcp_second]);
    assert_eq!(
        backend.number("SELECT measured_at_ms FROM web_vitals WHERE metric_id = 'fcp-1'") as i64,
        at,
        "a metric stays dated by its first report"
    );
    // Later groups: lcp-0 reported again (seq 3, now poor), half an hour later; lcp-1's
    // older report (seq 1) arriving late changes nothing.
    let later = dated(
        records(
            "s1",
            json!([
                vital("LCP", 9000.0, "lcp-0", 3),
                {"type": "page_view", "start_time": 0, "page_view_id": "p1"},
            ]),
        ),
        at + 30 * MINUTE_MS,
    );
    let late = dated(records("s2", json!([vital("LCP", 1.0, "lcp-1", 1)])), at);
    write(&store, &[&later]);
    write(&store, &[&late]);
    assert_eq!(
        backend.number(&format!(
            "SELECT COUNT(*) FROM rollup_dirty WHERE tier = 'minute' AND bucket_ms <> {minute}"
        )),
        0.0,
        "every change is in the first reports' minute"
    );
    assert_eq!(
        backend.number("SELECT measured_at_ms FROM web_vitals WHERE metric_id = 'lcp-0'") as i64,
        at
    );

    let stats = roll(&store, 7, now);
    assert_eq!(
        stats,
        RollStats {
            ran: true,
            rolled: 3,
            stale: 0
        },
        "one minute, its hour and its day"
    );
    assert_eq!(backend.count("rollup_dirty"), 0, "every mark is cleared");

    // What the last hour holds.
    let lcp_values: Vec<f64> = std::iter::once(9000.0)
        .chain((1..20).map(|i| 1000.0 + 250.0 * f64::from(i)))
        .collect();
    let exact_p75 = nearest_rank(&lcp_values, 0.75);
    assert_eq!(exact_p75, 4750.0, "rank 15 of 20");
    let check = |rollup: &Rollup, what: &str| {
        let (count, ratings, p75, max) = vital_series(rollup, "/a", VitalName::LCP);
        assert_eq!(count, 20, "{what}: each LCP once");
        // Good up to 2500 ms, poor above 4000 ms: 1250..=2500, 2750..=4000, 4250..=5750 and
        // 9000.
        assert_eq!(ratings, [6, 6, 8], "{what}");
        assert!(
            (p75 - exact_p75).abs() <= 0.01 * exact_p75,
            "{what}: p75 {p75}, exactly {exact_p75}"
        );
        assert_eq!(max, 9000.0, "{what}: lcp-0 at its highest seq");
        let (count, ratings, _, max) = vital_series(rollup, "/a", VitalName::FCP);
        assert_eq!((count, ratings, max), (1, [0, 1, 0], 1900.0), "{what}: FCP");
        let (count, ratings, _, max) = vital_series(rollup, "/b", VitalName::CLS);
        assert_eq!((count, ratings, max), (1, [0, 0, 1], 0.3), "{what}: CLS");
        assert_eq!(rollup.vitals.len(), 3, "{what}: {rollup:?}");
        // /a: p1, p2 (s1, u), p3 (s2, v), p4 (s3, u); /b: p5 (s4, nobody).
        assert_eq!(page_view_series(rollup, "/a"), (4, 3, 2), "{what}: /a");
        assert_eq!(page_view_series(rollup, "/b"), (1, 1, 0), "{what}: /b");
        assert_eq!(rollup.page_views.len(), 2, "{what}");
    };
    let last_hour = window(&store, now - HOUR_MS, now);
    check(&last_hour, "the last hour");
    // Each tier holds the same series in the bucket of that minute.
    let minute_rollup = tier_rollup(&store, Tier::Minute, minute, minute + MINUTE_MS);
    for tier in Tier::ALL {
        let bucket = tier.bucket_of(minute);
        let rollup = tier_rollup(&store, tier, bucket, bucket + tier.width_ms());
        check(&rollup, tier.as_str());
        assert_eq!(rollup, minute_rollup, "{tier:?}");
        assert_eq!(rows_of_tier(backend, "rollup_vitals", tier), 3, "{tier:?}");
        assert_eq!(
            rows_of_tier(backend, "rollup_page_views", tier),
            2,
            "{tier:?}"
        );
    }
    assert_eq!(
        backend.number("SELECT sum FROM rollup_vitals WHERE tier = 'day' AND name = 'FCP'"),
        1900.0
    );

    // A second pass finds nothing to do and changes nothing.
    assert_eq!(
        roll(&store, 7, now),
        RollStats {
            ran: true,
            rolled: 0,
            stale: 0
        }
    );
    assert_eq!(window(&store, now - HOUR_MS, now), last_hour);
    // Delivering everything again changes no row, so marks nothing.
    write(&store, &[&s1, &s2, &s4, &s3, &fcp_first, &fcp_second]);
    assert_eq!(backend.count("rollup_dirty"), 0);
}

/// A write into a minute after the roller read it: its mark is not among those the roller
/// clears, so the next pass counts it.
fn a_mark_made_during_a_roll_is_kept(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let minute = Tier::Minute.bucket_of(now - HOUR_MS);
    write(
        &store,
        &[&dated(
            records("s", json!([vital("LCP", 1000.0, "m1", 1)])),
            minute + 1_000,
        )],
    );
    // The roller's first steps for the minute tier ...
    let dirty = on_plain_thread(|| store.dirty_buckets(Tier::Minute, 100)).expect("dirty");
    assert_eq!(dirty.len(), 1);
    assert_eq!(dirty[0].bucket_ms, minute);
    let computed = rollup::aggregate(
        on_plain_thread(|| store.raw_minute(minute, minute + MINUTE_MS)).expect("raw"),
    );
    // ... another event of that minute is written meanwhile ...
    write(
        &store,
        &[&dated(
            records("s", json!([vital("LCP", 3000.0, "m2", 1)])),
            minute + 2_000,
        )],
    );
    // ... and the roller replaces the bucket with what it computed.
    on_plain_thread(|| store.replace_rollup(&dirty[0], Some(&computed))).expect("replace");
    let marks = |tier: Tier, bucket: i64| {
        backend.number(&format!(
            "SELECT COUNT(*) FROM rollup_dirty WHERE tier = '{}' AND bucket_ms = {bucket}",
            tier.as_str()
        ))
    };
    assert_eq!(marks(Tier::Minute, minute), 1.0, "the new mark stays");
    assert_eq!(marks(Tier::Hour, Tier::Hour.bucket_of(minute)), 1.0);
    let lcp = |rollup: &Rollup| vital_series(rollup, "/a", VitalName::LCP).0;
    let stored = tier_rollup(&store, Tier::Minute, minute, minute + 1);
    assert_eq!(lcp(&stored), 1, "the bucket as computed");

    // The next pass counts both.
    let stats = roll(&store, 7, now);
    assert_eq!((stats.rolled, stats.stale), (3, 0));
    assert_eq!(lcp(&window(&store, now - HOUR_MS, now)), 2);
    let day = Tier::Day.bucket_of(minute);
    assert_eq!(lcp(&tier_rollup(&store, Tier::Day, day, day + DAY_MS)), 2);
    assert_eq!(backend.count("rollup_dirty"), 0);
}

/// A change to a minute whose raw events retention has already started deleting: the mark is
/// cleared, counted as stale, and the bucket kept as it was.
fn stale_marks_are_cleared_without_touching_the_bucket(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let old = now - 10 * DAY_MS;
    let minute = Tier::Minute.bucket_of(old);
    write(
        &store,
        &[&dated(
            records("s", json!([vital("LCP", 1000.0, "old-1", 1)])),
            old,
        )],
    );
    // With 30 days of raw events kept, the minute rolls; its hour is past the minute tier's
    // 2 days and is stale.
    assert_eq!(
        roll(&store, 30, now),
        RollStats {
            ran: true,
            rolled: 1,
            stale: 1
        }
    );
    let lcp = || {
        vital_series(
            &tier_rollup(&store, Tier::Minute, minute, minute + 1),
            "/a",
            VitalName::LCP,
        )
        .0
    };
    assert_eq!(lcp(), 1);
    assert_eq!(backend.count("rollup_dirty"), 0);

    // Another metric of that minute arrives; with 7 days of raw events kept, the minute's
    // source is no longer whole.
    write(
        &store,
        &[&dated(
            records("s", json!([vital("LCP", 2000.0, "old-2", 1)])),
            old + 1_000,
        )],
    );
    assert_eq!(backend.count("rollup_dirty"), 1);
    assert_eq!(
        roll(&store, 7, now),
        RollStats {
            ran: true,
            rolled: 0,
            stale: 1
        }
    );
    assert_eq!(
        backend.count("rollup_dirty"),
        0,
        "the stale mark is cleared"
    );
    assert_eq!(lcp(), 1, "the bucket is kept as it was");
    assert_eq!(backend.count("web_vitals"), 2, "the raw table has both");
    assert_eq!(rows_of_tier(backend, "rollup_vitals", Tier::Hour), 0);
}

/// Each tier's buckets starting before its cut-off go, a chunk at a time; newer buckets and
/// other tiers' stay.
fn old_rollups_are_pruned_per_tier(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = now();
    let policy = RollupPolicy::default();
    let vital = |name, value| RawVital {
        app: "a".into(),
        page: "/a".into(),
        name,
        value,
    };
    // Two vital series and one page view series per bucket.
    let sample = rollup::aggregate(RawMinute {
        vitals: vec![vital(VitalName::LCP, 1000.0), vital(VitalName::CLS, 0.1)],
        page_views: vec![RawPageView {
            app: "a".into(),
            page: "/a".into(),
            session_id: "s".into(),
            user_id: None,
        }],
        ..RawMinute::default()
    });
    let buckets = |tier: Tier| {
        let width = tier.width_ms();
        let edge = tier.bucket_of(policy.cutoff(tier, now));
        // Two before the cut-off, two after it.
        [
            edge - 2 * width,
            edge - width,
            edge + width,
            tier.bucket_of(now),
        ]
    };
    for tier in Tier::ALL {
        for bucket_ms in buckets(tier) {
            let dirty = DirtyBucket {
                tier,
                bucket_ms,
                marks: Vec::new(),
            };
            on_plain_thread(|| store.replace_rollup(&dirty, Some(&sample))).expect("replace");
        }
    }
    let rows = |tier: Tier| {
        (
            rows_of_tier(backend, "rollup_vitals", tier),
            rows_of_tier(backend, "rollup_page_views", tier),
        )
    };
    for tier in Tier::ALL {
        assert_eq!(rows(tier), (8, 4), "{tier:?}");
    }
    for (i, tier) in Tier::ALL.into_iter().enumerate() {
        let cutoff = policy.cutoff(tier, now);
        // One row per table and chunk: the old buckets' 4 vital rows take 4 chunks.
        let first = on_plain_thread(|| store.prune_rollups(tier, cutoff, 1)).expect("prune");
        assert_eq!(first, 2, "{tier:?}: a vital row and a page view row");
        let mut total = first;
        loop {
            let deleted = on_plain_thread(|| store.prune_rollups(tier, cutoff, 1)).expect("prune");
            if deleted == 0 {
                break;
            }
            total += deleted;
        }
        assert_eq!(total, 6, "{tier:?}: 2 buckets of 3 rows");
        assert_eq!(rows(tier), (4, 2), "{tier:?}");
        assert_eq!(
            backend.number(&format!(
                "SELECT COUNT(*) FROM rollup_vitals WHERE tier = '{}' AND bucket_ms < {cutoff}",
                tier.as_str()
            )),
            0.0,
            "{tier:?}"
        );
        for later in &Tier::ALL[i + 1..] {
            assert_eq!(
                rows(*later),
                (8, 4),
                "{later:?} untouched by pruning {tier:?}"
            );
        }
        // The buckets kept read back whole.
        let kept = tier_rollup(&store, tier, cutoff, now + 1);
        assert_eq!(vital_series(&kept, "/a", VitalName::LCP).0, 2, "{tier:?}");
    }
}

/// A database of the last schema without roll-ups: migrated, its data kept, and a change to
/// one of its metrics rolls up the whole minute, rows written before the migration included.
fn a_version_3_database_is_migrated_and_rolls_up_its_data(backend: &dyn Backend) {
    let now = now();
    let at = Tier::Minute.bucket_of(now - HOUR_MS) + 30_000;
    backend.make_version_3(at);
    assert!(!backend.has_table("rollup_vitals"));
    let store = backend.open().expect("open a version-3 database");
    assert_eq!(
        store.schema_version().expect("version"),
        backend.current_version()
    );
    for table in ["rollup_vitals", "rollup_page_views", "rollup_dirty"] {
        assert!(backend.has_table(table), "{table}");
    }
    assert!(backend.has_index("rollup_dirty_by_tier"));
    assert_eq!(
        (backend.count("page_views"), backend.count("web_vitals")),
        (1, 1),
        "the data is kept"
    );
    // The migration marked the history for the roll-ups: the one minute holding events.
    assert_eq!(backend.count("rollup_dirty"), 1);
    // Session activity is filled from the page views stored before.
    assert_eq!(backend.count("session_activity"), 1);
    // The metric stored under version 3 is reported again (seq 2), now.
    write(
        &store,
        &[&records("s", json!([vital("LCP", 3000.0, "m-old", 2)]))],
    );
    assert_eq!(
        backend.number("SELECT measured_at_ms FROM web_vitals") as i64,
        at,
        "still dated by its first report"
    );
    let stats = roll(&store, 7, now);
    assert_eq!((stats.ran, stats.rolled, stats.stale), (true, 3, 0));
    let rollup = window(&store, now - 2 * HOUR_MS, now);
    let (count, ratings, _, max) = vital_series(&rollup, "/a", VitalName::LCP);
    assert_eq!((count, ratings, max), (1, [0, 1, 0], 3000.0));
    assert_eq!(page_view_series(&rollup, "/a"), (1, 1, 1));
}

// ---- Roll-ups, PostgreSQL only ----

/// The advisory locks held in `db`.
fn advisory_locks(db: &TestDb) -> i64 {
    db.with_client(|c| {
        c.query_one(
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            &[],
        )
        .and_then(|row| row.try_get::<_, i64>(0))
        .expect("count the advisory locks")
    })
}

#[test]
fn two_collectors_never_roll_at_once() {
    let db = test_db();
    let open = || {
        let store = on_plain_thread(|| PostgresStore::open(&db.url, PostgresOptions::default()))
            .expect("open");
        Arc::new(store) as SharedStore
    };
    let (a, b) = (open(), open());
    let lock = |store: &SharedStore| on_plain_thread(|| store.try_lock_rollups()).expect("lock");
    let now = now();
    write(
        &a,
        &[&dated(
            records("s", json!([vital("LCP", 1000.0, "m", 1)])),
            now - HOUR_MS,
        )],
    );

    let a_guard = lock(&a).expect("A rolls");
    assert_eq!(advisory_locks(&db), 1);
    assert!(lock(&b).is_none(), "B waits while A rolls");
    assert!(lock(&a).is_none(), "and so does a second pass of A");
    assert_eq!(roll(&b, 7, now), RollStats::default(), "B's pass skips");
    assert_eq!(backend_marks(&db), 1, "nothing rolled");

    on_plain_thread(move || drop(a_guard));
    assert_eq!(advisory_locks(&db), 0, "released");
    let b_guard = lock(&b).expect("B rolls once A is done");
    assert_eq!(roll(&a, 7, now), RollStats::default(), "A's pass skips");
    on_plain_thread(move || drop(b_guard));
    let stats = roll(&b, 7, now);
    assert_eq!((stats.ran, stats.rolled), (true, 3));
    assert_eq!(backend_marks(&db), 0);

    // A roller whose connection ends (killed, or a failover) loses the lock to the server;
    // dropping its guard later only warns.
    let b_guard = lock(&b).expect("B rolls");
    db.with_client(|c| {
        c.execute(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
             JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND d.datname = current_database()",
            &[],
        )
        .expect("terminate")
    });
    let mut a_guard = None;
    for _ in 0..100 {
        a_guard = lock(&a);
        if a_guard.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let a_guard = a_guard.expect("A rolls once B's session is gone");
    on_plain_thread(move || drop(b_guard));
    assert_eq!(advisory_locks(&db), 1, "A's lock is A's");
    assert!(lock(&b).is_none());
    on_plain_thread(move || drop(a_guard));
    assert!(lock(&b).is_some());
    // Both stores keep working.
    on_plain_thread(|| b.ping()).expect("B pings");
    on_plain_thread(|| a.ping()).expect("A pings");
}

/// The roll-up marks in `db`.
fn backend_marks(db: &TestDb) -> i64 {
    db.with_client(|c| {
        c.query_one("SELECT COUNT(*) FROM rollup_dirty", &[])
            .and_then(|row| row.try_get::<_, i64>(0))
            .expect("count the marks")
    })
}

/// The roll-up guard is meant for the roller's plain thread; dropped on a thread that drives
/// async tasks, it still releases the lock without panicking.
#[actix_web::test]
async fn a_rollup_lock_can_be_dropped_on_an_async_thread() {
    let db = test_db();
    let store =
        on_plain_thread(|| PostgresStore::open(&db.url, PostgresOptions::default())).expect("open");
    let guard = on_plain_thread(|| store.try_lock_rollups())
        .expect("lock")
        .expect("nobody else rolls");
    assert_eq!(advisory_locks(&db), 1);
    drop(guard);
    assert_eq!(advisory_locks(&db), 0, "released");
    assert!(on_plain_thread(|| store.try_lock_rollups())
        .expect("lock")
        .is_some());
    on_plain_thread(move || drop(store));
}

/// The host monitor's history: samples per host, read back in order within a window, their
/// hourly roll-ups replaced whole, both pruned by their own retention.
fn host_samples_and_their_hourly_rollups_are_kept_per_host(backend: &dyn Backend) {
    use perfwatch_collector::host_history::{roll_hour, HostPoint};
    let store = backend.open().expect("open");
    // An hour boundary (2026-11-26T03:00:00Z).
    let hour = 1_795_676_400_000;
    let point = |i: i64, cpu: Option<f64>| HostPoint {
        at_ms: hour + i * 10_000,
        cpu_percent: cpu,
        memory_percent: 50.0 + i as f64,
        swap_percent: 1.5,
        disk_percent: Some(70.25),
        load_1: None,
        network_rx_bytes_per_s: 1e5,
        network_tx_bytes_per_s: 2e4,
        process_cpu_percent: Some(0.5),
        process_resident_bytes: 12_345_678,
    };
    let points: Vec<HostPoint> = (0..6)
        .map(|i| point(i, (i > 0).then_some(i as f64)))
        .collect();
    on_plain_thread(|| {
        for p in &points {
            store.write_host_point("host-a", p)?;
        }
        store.write_host_point("host-b", &points[0])
    })
    .expect("write the samples");
    let read = on_plain_thread(|| store.host_points("host-a", hour, hour + 3_600_000))
        .expect("read the samples");
    assert_eq!(read, points, "every column back, in time order");
    let window = on_plain_thread(|| store.host_points("host-a", hour + 10_000, hour + 30_000))
        .expect("read a window");
    assert_eq!(window, points[1..3]);

    let rollup = roll_hour(&points);
    on_plain_thread(|| {
        store.write_host_rollup("host-a", hour, &rollup)?;
        // Written again: replaced, not doubled.
        store.write_host_rollup("host-a", hour, &rollup)
    })
    .expect("write the roll-up");
    let hours = on_plain_thread(|| store.host_rollups("host-a", hour, hour + 1))
        .expect("read the roll-ups");
    assert_eq!(hours.len(), 1);
    let (at, series) = &hours[0];
    assert_eq!(*at, hour);
    assert_eq!(series.len(), rollup.len(), "load_1 has no values: no row");
    let cpu = series
        .iter()
        .find(|s| s.series == "cpu_percent")
        .expect("cpu");
    assert_eq!((cpu.sketch.count(), cpu.sketch.max()), (5, Some(5.0)));
    assert!(
        on_plain_thread(|| store.host_rollups("host-b", 0, i64::MAX))
            .expect("read")
            .is_empty()
    );

    // Samples go with raw retention, hourly roll-ups with the hour tier's.
    on_plain_thread(|| store.prune(hour + 3_600_000, 1000)).expect("prune raw");
    assert_eq!(backend.count("system_samples"), 0);
    assert_eq!(backend.count("system_rollups"), rollup.len() as i64);
    on_plain_thread(|| store.prune_rollups(Tier::Hour, hour + 1, 1000)).expect("prune");
    assert_eq!(backend.count("system_rollups"), 0);
}

/// An alert of rule `name` on host `host`, as the engine hands it over.
fn alert(name: &str, host: &str, state: AlertState, active_at_ms: i64) -> Alert {
    let labels: Labels = [
        ("alertname", name),
        ("severity", "critical"),
        ("host", host),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Alert {
        fingerprint: fingerprint(&labels),
        labels,
        annotations: Labels::from([(
            "summary".to_owned(),
            format!("{name} on {host} \u{1F525} \"quoted\""),
        )]),
        state,
        value: Some(97.5),
        active_at_ms,
        starts_at_ms: (state != AlertState::Pending).then_some(active_at_ms + 60_000),
        ends_at_ms: (state == AlertState::Resolved).then_some(active_at_ms + 120_000),
    }
}

fn alert_episodes_and_silences_are_stored_updated_and_pruned(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = common::now_ms() as i64;
    let firing = alert("Cpu", "a", AlertState::Firing, now - 300_000);
    let pending = alert("Cpu", "b", AlertState::Pending, now - 10_000);
    let old = alert("Mem", "a", AlertState::Resolved, now - 10 * 86_400_000);
    on_plain_thread(|| {
        store
            .write_alerts(&[firing.clone(), pending.clone()], &[], now)
            .unwrap();
        store
            .write_alerts(std::slice::from_ref(&old), &[], now - 9 * 86_400_000)
            .unwrap();
        // The open ones come first, whatever the window.
        let read = store.read_alerts(i64::MAX, 100).unwrap();
        assert_eq!(read.len(), 2);
        assert!(
            read.contains(&firing) && read.contains(&pending),
            "{read:?}"
        );
        assert_eq!(store.read_alerts(0, 100).unwrap().len(), 3);
        // The same episode updated in place: resolved, with its end; the pending one abandoned.
        let mut resolved = firing.clone();
        resolved.state = AlertState::Resolved;
        resolved.ends_at_ms = Some(now);
        store
            .write_alerts(
                &[resolved.clone()],
                &[(pending.fingerprint.clone(), pending.active_at_ms)],
                now + 1,
            )
            .unwrap();
        let read = store.read_alerts(now - 3_600_000, 100).unwrap();
        assert_eq!(
            read,
            [resolved.clone()],
            "one row per episode, the abandoned one gone"
        );
        // A new episode of the same alert is a row of its own.
        let again = alert("Cpu", "a", AlertState::Firing, now + 5_000);
        store
            .write_alerts(std::slice::from_ref(&again), &[], now + 5_000)
            .unwrap();
        assert_eq!(
            store.read_alerts(now - 3_600_000, 100).unwrap(),
            [again.clone(), resolved.clone()]
        );
        assert_eq!(
            store.read_alerts(now - 3_600_000, 1).unwrap(),
            std::slice::from_ref(&again),
            "limit"
        );

        let silence = |id: &str, ends_at_ms: i64| Silence {
            id: id.into(),
            matchers: vec![Matcher {
                name: "host".into(),
                value: "a|b".into(),
                is_regex: true,
                is_equal: true,
            }],
            starts_at_ms: now - 1_000,
            ends_at_ms,
            created_by: "ops".into(),
            comment: "maintenance \u{1F6E0}".into(),
            created_at_ms: now - 1_000,
        };
        store
            .write_silence(&silence("s1", now + 3_600_000))
            .unwrap();
        store
            .write_silence(&silence("s2", now - 10 * 86_400_000))
            .unwrap();
        assert_eq!(
            store.silences(now).unwrap(),
            [silence("s1", now + 3_600_000)]
        );
        // Expiring ends it now; an unknown id says so.
        assert!(store.expire_silence("s1", now + 10).unwrap());
        assert!(!store.expire_silence("nope", now).unwrap());
        assert!(store.silences(now + 10).unwrap().is_empty());
        assert_eq!(store.silences(now).unwrap()[0].ends_at_ms, now + 10);

        // Retention removes resolved alerts and silences that ended before the cut-off, not
        // open alerts however old.
        let ancient_open = alert("Disk", "a", AlertState::Firing, now - 30 * 86_400_000);
        store
            .write_alerts(
                std::slice::from_ref(&ancient_open),
                &[],
                now - 30 * 86_400_000,
            )
            .unwrap();
        while store.prune(now - 7 * 86_400_000, 1).unwrap() > 0 {}
        let left = store.read_alerts(0, 100).unwrap();
        assert!(left.contains(&ancient_open), "{left:?}");
        assert!(!left.contains(&old), "{left:?}");
        assert_eq!(
            store.silences(0).unwrap().len(),
            1,
            "the silence that ended long ago is gone"
        );
        // A store others share grants the alert lock to one holder at a time.
        let first = store.try_lock_alerts().unwrap();
        assert!(first.is_some());
    });
}

#[test]
fn one_postgres_collector_at_a_time_evaluates_alerts() {
    let db = test_db();
    let open = || -> SharedStore {
        Arc::new(
            on_plain_thread(|| PostgresStore::open(&db.url, PostgresOptions::default()))
                .expect("open"),
        )
    };
    let (a, b) = (open(), open());
    on_plain_thread(move || {
        let mut held = a
            .try_lock_alerts()
            .unwrap()
            .expect("the first takes the lock");
        assert!(held.held());
        assert!(b.try_lock_alerts().unwrap().is_none(), "the second waits");
        assert!(b.try_lock_alerts().unwrap().is_none(), "and keeps waiting");
        drop(held);
        // Released when the holder lets go (or its connection ends).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(mut taken) = b.try_lock_alerts().unwrap() {
                assert!(taken.held());
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the lock was never released"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
}

fn a_users_data_is_erased_and_administrative_actions_audited(backend: &dyn Backend) {
    let store = backend.open().expect("open");
    let now = common::now_ms() as i64;
    // u_42's browser session (a page view, a web vital, a timing) and API calls; u_7's call.
    let mut session = records(
        "s-erase",
        json!([{"type": "page_view", "event_id": "pv", "start_time": 0},
               vital("LCP", 1200.0, "m-erase", 1),
               {"type": "measure", "event_id": "t1", "name": "render", "start_time": 1, "duration": 5}]),
    );
    session.user_id = Some("u_42".into());
    // A second session of u_42's, in another tab.
    let mut second = records("s-erase-2", json!([vital("CLS", 0.1, "m-erase-2", 1)]));
    second.user_id = Some("u_42".into());
    let kept = records("s-kept", json!([vital("LCP", 900.0, "m-kept", 1)]));
    write(&store, &[&session, &second, &kept]);
    let mut other = api_call("api", Some("e2"), 200, now);
    other.user_id = Some("u_7".into());
    write_batches(
        &store,
        &[Batch::ApiCalls(vec![
            api_call("api", Some("e1"), 200, now),
            other,
        ])],
    );
    assert_eq!(backend.count("web_vitals"), 3);
    assert_eq!(backend.count("api_calls"), 2);
    on_plain_thread(|| {
        let generation = store.erasure_generation().unwrap();
        let deleted = store.erase_user("u_42").unwrap();
        assert!(deleted >= 5, "{deleted}");
        // Again: nothing left to erase.
        assert_eq!(store.erase_user("u_42").unwrap(), 0);
        // Each erasure raises the generation the statistics caches are checked against.
        assert_eq!(store.erasure_generation().unwrap(), generation + 2);
    });
    assert_eq!(
        backend.count("web_vitals"),
        1,
        "the other session's vital stays"
    );
    assert_eq!(backend.count("api_calls"), 1, "u_7's call stays");
    assert_eq!(backend.count("browser_timings"), 0);
    assert_eq!(
        backend.number("SELECT COUNT(*) FROM page_views WHERE user_id = 'u_42'"),
        0.0
    );
    on_plain_thread(|| {
        let entry = |action: &str, at_ms: i64| AuditEntry {
            at_ms,
            actor: "ops".into(),
            action: action.into(),
            target: "u_42".into(),
            detail: "rows \u{2705}".into(),
        };
        store
            .write_audit(&entry("user.erase", now - 1_000))
            .unwrap();
        store.write_audit(&entry("silence.create", now)).unwrap();
        store
            .write_audit(&entry("rules.reload", now - 90 * 86_400_000))
            .unwrap();
        let read = store.read_audit(now - 86_400_000, 10).unwrap();
        assert_eq!(
            read,
            [
                entry("silence.create", now),
                entry("user.erase", now - 1_000)
            ]
        );
        assert_eq!(store.read_audit(0, 1).unwrap().len(), 1);
    });
}
