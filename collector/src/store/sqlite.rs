//! The SQLite store: one file, `<data-dir>/perfwatch.db`, in WAL mode.
//!
//! Two connections: the writer's (only the ingest queue's writer thread writes) and the
//! readers', each behind a [`Mutex`]. WAL lets the reader see the last commit while the writer
//! writes, so statistics never wait for ingest.
//!
//! Durability: `synchronous = FULL`, so a commit returns only after the WAL is fsync'd. A batch
//! the collector acknowledged survives the process being killed *and* a power loss (on a disk
//! that honours fsync). Group commit pays that fsync once for every batch waiting.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use std::io::Write;

use rusqlite::types::ValueRef;

use super::{export, Store, StoreError, StoreOutcome, VitalRows, VitalSample};
use std::time::Duration;

use perfwatch_protocol::{EventBody, Navigation, NavigationType, VitalName, WebVital};
use rusqlite::{params, Connection, Transaction};

use crate::normalize::{BrowserRecords, Record};

/// The schema version this collector writes (`PRAGMA user_version`): the number of
/// [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for a lock held by another connection.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Schema version 1. Times are epoch milliseconds on the collector's clock (client skew
/// corrected); durations are milliseconds.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS page_views (
    app             TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    page_view_id    TEXT NOT NULL,
    url             TEXT NOT NULL,
    route           TEXT,
    navigation_type TEXT,
    release         TEXT,
    user_id         TEXT,
    started_at_ms   INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (app, session_id, page_view_id)
);
CREATE INDEX IF NOT EXISTS page_views_by_start ON page_views (started_at_ms);

-- One row per metric instance (web-vitals' `id`), holding its report with the highest `seq`.
-- `rating` is the collector's, from `value` and web-vitals' thresholds; the client's is not kept.
CREATE TABLE IF NOT EXISTS web_vitals (
    app             TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    page_view_id    TEXT NOT NULL,
    metric_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    value           REAL NOT NULL,
    delta           REAL NOT NULL,
    seq             INTEGER NOT NULL,
    rating          TEXT NOT NULL,
    navigation_type TEXT,
    url             TEXT NOT NULL,
    route           TEXT,
    measured_at_ms  INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (app, session_id, metric_id)
);
CREATE INDEX IF NOT EXISTS web_vitals_by_measured ON web_vitals (measured_at_ms);

-- The navigation timing of a page load; a later report for the same page view replaces the
-- earlier one (it has seen more of the load).
CREATE TABLE IF NOT EXISTS navigations (
    app                   TEXT NOT NULL,
    session_id            TEXT NOT NULL,
    page_view_id          TEXT NOT NULL,
    url                   TEXT NOT NULL,
    route                 TEXT,
    navigation_type       TEXT,
    protocol              TEXT,
    redirect_ms           REAL,
    dns_ms                REAL,
    connect_ms            REAL,
    tls_ms                REAL,
    ttfb_ms               REAL,
    download_ms           REAL,
    dom_interactive_ms    REAL,
    dom_content_loaded_ms REAL,
    dom_complete_ms       REAL,
    load_ms               REAL,
    transfer_size         INTEGER,
    encoded_body_size     INTEGER,
    decoded_body_size     INTEGER,
    started_at_ms         INTEGER NOT NULL,
    received_at_ms        INTEGER NOT NULL,
    PRIMARY KEY (app, session_id, page_view_id)
);
CREATE INDEX IF NOT EXISTS navigations_by_start ON navigations (started_at_ms);

-- Events already stored, by the id the SDK gave them.
CREATE TABLE IF NOT EXISTS seen_events (
    app            TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (app, session_id, event_id)
) WITHOUT ROWID;
";

/// Migration 2: retention will prune `seen_events` by age.
const SCHEMA_V2: &str = "
CREATE INDEX IF NOT EXISTS seen_events_by_received ON seen_events (received_at_ms);
";

/// Migration 3: no table of remembered event ids. Every event kind is idempotent by its own
/// key (a page view by its id, a web vital by its metric id and `seq`, a navigation by its page
/// view and completeness), so a redelivered event changes nothing without one; remembering ids
/// cost half of the writer's time. A navigation row records how complete it is, so that an
/// earlier, less complete report arriving late does not replace it.
const SCHEMA_V3: &str = "
DROP INDEX IF EXISTS seen_events_by_received;
DROP TABLE IF EXISTS seen_events;
ALTER TABLE navigations ADD COLUMN completeness INTEGER NOT NULL DEFAULT 0;
";

/// The schema's history, oldest first: migration `n` (1-based) brings a database from version
/// `n - 1` to `n`. Never edit a released entry; append a new one.
pub const MIGRATIONS: [&str; 3] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the SQLite database at `path`, sets it up
    /// for concurrent readers (WAL) and brings its schema to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut writer = connect(path)?;
        writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        migrate(&mut writer, &MIGRATIONS)?;
        let reader = connect(path)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.writer.lock().map_err(|_| StoreError::Poisoned)
    }

    fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.reader.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // 32 MiB of page cache per connection (the default 2 MiB makes every group re-read the
    // index pages it updates), and checkpoints every ~16 MiB of WAL rather than every 4 MiB:
    // fewer, larger copies back into the database file.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "wal_autocheckpoint", 4_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.reader()?
            .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?;
        Ok(())
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .reader()?
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    fn write_group(&self, batches: &[&BrowserRecords]) -> Result<Vec<StoreOutcome>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let outcomes = batches
            .iter()
            .map(|batch| write_batch(&tx, batch))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        Ok(outcomes)
    }

    fn vital_rows(&self, since_ms: i64) -> Result<VitalRows, StoreError> {
        let conn = self.reader()?;
        let mut rows = VitalRows::default();
        let mut stmt = conn.prepare_cached(
            "SELECT name, value, COALESCE(NULLIF(route, ''), url) FROM web_vitals
             WHERE measured_at_ms >= ?1",
        )?;
        let mut cursor = stmt.query([since_ms])?;
        while let Some(row) = cursor.next()? {
            let name: String = row.get(0)?;
            // A name this collector does not know (written by a newer one) is skipped.
            if let Some(name) = VitalName::ALL.into_iter().find(|n| n.as_str() == name) {
                rows.samples.push(VitalSample {
                    name,
                    value: row.get(1)?,
                    page: row.get(2)?,
                });
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT COALESCE(NULLIF(route, ''), url), COUNT(*) FROM page_views
             WHERE started_at_ms >= ?1 GROUP BY 1",
        )?;
        rows.page_views = stmt
            .query_map([since_ms], |row| {
                let count: i64 = row.get(1)?;
                Ok((row.get(0)?, u64::try_from(count).unwrap_or_default()))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn export(&self, from_ms: i64, to_ms: i64, out: &mut dyn Write) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let mut lines = 0;
        for (kind, table, time_column) in export::TABLES {
            let mut stmt = conn.prepare(&export::query(table, time_column, "?1", "?2"))?;
            let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
            let mut rows = stmt.query([from_ms, to_ms])?;
            while let Some(row) = rows.next()? {
                let mut columns = Vec::with_capacity(names.len());
                for (i, name) in names.iter().enumerate() {
                    let value = match row.get_ref(i)? {
                        ValueRef::Null => serde_json::Value::Null,
                        ValueRef::Integer(n) => n.into(),
                        ValueRef::Real(x) => x.into(),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            String::from_utf8_lossy(t).into_owned().into()
                        }
                    };
                    columns.push((name.clone(), value));
                }
                export::write_line(out, kind, columns)?;
                lines += 1;
            }
        }
        Ok(lines)
    }

    /// Deletes by rowid, a chunk per table, in one short transaction on the writer's
    /// connection: the ingest writer waits for one chunk at most.
    fn prune(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut deleted = 0;
        for (table, column) in super::RAW_TABLES {
            deleted += tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE rowid IN \
                     (SELECT rowid FROM {table} WHERE {column} < ?1 LIMIT ?2)"
                ),
                params![before_ms, limit],
            )?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    /// `VACUUM INTO`: a consistent copy from one read transaction, so the writer carries on
    /// meanwhile (unlike the page-by-page backup API, which restarts whenever another
    /// connection writes). The copy is compacted and must not exist yet.
    fn backup(&self, to: &Path) -> Result<(), StoreError> {
        if to.exists() {
            return Err(StoreError::Unsupported(
                "the backup file already exists; choose a new name",
            ));
        }
        let target = to.to_string_lossy().into_owned();
        self.reader()?.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }
}

/// Writes one batch's records inside the group's transaction. Every statement is idempotent
/// by its table's key, so a redelivered event changes nothing.
fn write_batch(tx: &Transaction<'_>, batch: &BrowserRecords) -> Result<StoreOutcome, StoreError> {
    let mut outcome = StoreOutcome::default();
    for record in &batch.records {
        match &record.body {
            EventBody::PageView(page_view) => {
                insert_page_view(tx, batch, record, page_view.navigation_type)?
            }
            EventBody::WebVital(vital) => upsert_web_vital(tx, batch, record, vital)?,
            EventBody::Navigation(navigation) => upsert_navigation(tx, batch, record, navigation)?,
        }
        outcome.stored += 1;
    }
    Ok(outcome)
}

/// Brings the database to the version `migrations` reach, each migration in its own
/// transaction with the version it sets. Refuses a database newer than `migrations`
/// ([`StoreError::SchemaTooNew`]). Public so that tests can build a database as an older
/// collector left it (`&MIGRATIONS[..1]`).
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let known = migrations.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, sql) in (1..).zip(migrations).skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "SQLite schema migrated");
    }
    Ok(())
}

fn insert_page_view(
    tx: &Transaction<'_>,
    batch: &BrowserRecords,
    record: &Record,
    navigation_type: Option<NavigationType>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO page_views (app, session_id, page_view_id, url, route, navigation_type,
                                 release, user_id, started_at_ms, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (app, session_id, page_view_id) DO NOTHING",
    )?
    .execute(params![
        batch.app,
        batch.session_id,
        record.page_view_id,
        record.url,
        record.route,
        navigation_type.map(NavigationType::as_str),
        batch.release,
        batch.user_id,
        record.at_ms,
        batch.received_at_ms,
    ])?;
    Ok(())
}

fn upsert_web_vital(
    tx: &Transaction<'_>,
    batch: &BrowserRecords,
    record: &Record,
    vital: &WebVital,
) -> Result<(), StoreError> {
    let rating = vital.name.rate(vital.value).as_str();
    tx.prepare_cached(
        "INSERT INTO web_vitals (app, session_id, page_view_id, metric_id, name, value, delta,
                                 seq, rating, navigation_type, url, route, measured_at_ms,
                                 received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (app, session_id, metric_id) DO UPDATE SET
             page_view_id = excluded.page_view_id, name = excluded.name,
             value = excluded.value, delta = excluded.delta, seq = excluded.seq,
             rating = excluded.rating, navigation_type = excluded.navigation_type,
             url = excluded.url, route = excluded.route,
             measured_at_ms = excluded.measured_at_ms, received_at_ms = excluded.received_at_ms
         WHERE excluded.seq > web_vitals.seq",
    )?
    .execute(params![
        batch.app,
        batch.session_id,
        record.page_view_id,
        vital.id,
        vital.name.as_str(),
        vital.value,
        vital.delta,
        vital.seq,
        rating,
        vital.navigation_type.map(NavigationType::as_str),
        record.url,
        record.route,
        record.at_ms,
        batch.received_at_ms,
    ])?;
    Ok(())
}

fn upsert_navigation(
    tx: &Transaction<'_>,
    batch: &BrowserRecords,
    record: &Record,
    nav: &Navigation,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO navigations (app, session_id, page_view_id, url, route,
             navigation_type, protocol, redirect_ms, dns_ms, connect_ms, tls_ms, ttfb_ms,
             download_ms, dom_interactive_ms, dom_content_loaded_ms, dom_complete_ms, load_ms,
             transfer_size, encoded_body_size, decoded_body_size, started_at_ms, received_at_ms,
             completeness)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23)
         ON CONFLICT (app, session_id, page_view_id) DO UPDATE SET
             url = excluded.url, route = excluded.route,
             navigation_type = excluded.navigation_type, protocol = excluded.protocol,
             redirect_ms = excluded.redirect_ms, dns_ms = excluded.dns_ms,
             connect_ms = excluded.connect_ms, tls_ms = excluded.tls_ms,
             ttfb_ms = excluded.ttfb_ms, download_ms = excluded.download_ms,
             dom_interactive_ms = excluded.dom_interactive_ms,
             dom_content_loaded_ms = excluded.dom_content_loaded_ms,
             dom_complete_ms = excluded.dom_complete_ms, load_ms = excluded.load_ms,
             transfer_size = excluded.transfer_size,
             encoded_body_size = excluded.encoded_body_size,
             decoded_body_size = excluded.decoded_body_size,
             started_at_ms = excluded.started_at_ms, received_at_ms = excluded.received_at_ms,
             completeness = excluded.completeness
         WHERE excluded.completeness > navigations.completeness",
    )?
    .execute(params![
        batch.app,
        batch.session_id,
        record.page_view_id,
        record.url,
        record.route,
        nav.navigation_type.map(NavigationType::as_str),
        nav.protocol,
        nav.redirect,
        nav.dns,
        nav.connect,
        nav.tls,
        nav.ttfb,
        nav.download,
        nav.dom_interactive,
        nav.dom_content_loaded,
        nav.dom_complete,
        nav.load,
        nav.transfer_size.map(saturating_i64),
        nav.encoded_body_size.map(saturating_i64),
        nav.decoded_body_size.map(saturating_i64),
        record.at_ms,
        batch.received_at_ms,
        nav.completeness(),
    ])?;
    Ok(())
}

/// SQLite integers are signed. The protocol bounds sizes at 2^53 - 1, so this never saturates
/// for a validated record; it stays total rather than panic on a record built another way.
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_creates_the_directory_and_the_schema_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("perfwatch.db");
        let store = SqliteStore::open(&path).unwrap();
        store.ping().unwrap();
        drop(store);
        // Reopening an up-to-date database applies nothing and works.
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let conn = store.reader().unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous = FULL");
    }

    fn records(events: serde_json::Value) -> BrowserRecords {
        let body = serde_json::json!({
            "v": 1, "app": "a", "session_id": "s", "page_view_id": "p", "url": "https://x/",
            "time_origin": 1_000_000.0, "sent_at": 1_001_000.0, "events": events
        });
        let parsed = perfwatch_protocol::parse_browser_batch(body.to_string().as_bytes()).unwrap();
        crate::normalize::browser_records(parsed, 1_002_000.0)
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn every_event_is_stored_once_however_often_it_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("perfwatch.db")).unwrap();
        let batch = records(serde_json::json!([
            {"type": "page_view", "start_time": 0, "event_id": "e1"},
            {"type": "navigation", "ttfb": 12.5, "transfer_size": 9_007_199_254_740_991_u64, "event_id": "e2"},
            {"type": "web_vital", "name": "CLS", "value": 0.2, "delta": 0.2, "id": "m1",
             "rating": "good"},
        ]));
        assert_eq!(
            store.write_group(&[&batch]).unwrap(),
            [StoreOutcome { stored: 3 }]
        );
        // The same batch twice in one group, then again: each event is kept once.
        store.write_group(&[&batch, &batch]).unwrap();
        store.write_group(&[&batch]).unwrap();
        let conn = store.reader().unwrap();
        assert_eq!(
            (
                count(&conn, "page_views"),
                count(&conn, "navigations"),
                count(&conn, "web_vitals")
            ),
            (1, 1, 1)
        );
        let (rating, size): (String, i64) = conn
            .query_row(
                "SELECT w.rating, n.transfer_size FROM web_vitals w, navigations n",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (rating.as_str(), size),
            ("needs-improvement", 9_007_199_254_740_991)
        );
    }

    #[test]
    fn the_more_complete_navigation_report_is_kept_whatever_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("perfwatch.db")).unwrap();
        let early = records(serde_json::json!([
            {"type": "navigation", "ttfb": 12.5, "event_id": "n1"}
        ]));
        let full = records(serde_json::json!([
            {"type": "navigation", "ttfb": 13.0, "load": 480.0, "event_id": "n2"}
        ]));
        let load = |store: &SqliteStore| -> (f64, Option<f64>) {
            store
                .reader()
                .unwrap()
                .query_row("SELECT ttfb_ms, load_ms FROM navigations", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap()
        };
        store.write_group(&[&early]).unwrap();
        store.write_group(&[&full]).unwrap();
        assert_eq!(load(&store), (13.0, Some(480.0)));
        // The early report delivered again, late: it changes nothing.
        store.write_group(&[&early]).unwrap();
        assert_eq!(load(&store), (13.0, Some(480.0)));
    }

    #[test]
    fn a_database_made_by_an_older_version_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perfwatch.db");
        {
            // What the walking skeleton's collector (schema version 1) left behind.
            let mut old = Connection::open(&path).unwrap();
            migrate(&mut old, &MIGRATIONS[..1]).unwrap();
            old.execute_batch(
                "INSERT INTO seen_events (app, session_id, event_id, received_at_ms)
                 VALUES ('a', 's', 'e1', 1);
                 INSERT INTO navigations (app, session_id, page_view_id, url, ttfb_ms,
                                          started_at_ms, received_at_ms)
                 VALUES ('a', 's', 'p', 'https://x/', 10.0, 1, 1);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let conn = store.reader().unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'seen_events%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "migration 3 dropped the remembered ids");
        assert_eq!(count(&conn, "navigations"), 1, "the data is kept");
        drop(conn);
        // The old row (completeness 0) gives way to a new report for its page view.
        let batch = records(serde_json::json!([
            {"type": "navigation", "ttfb": 11.0, "event_id": "n2"}
        ]));
        store.write_group(&[&batch]).unwrap();
        let ttfb: f64 = store
            .reader()
            .unwrap()
            .query_row("SELECT ttfb_ms FROM navigations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ttfb, 11.0);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perfwatch.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, known } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
            "{err}"
        );
    }
}
