//! The SQLite store: one file, `<data-dir>/perfwatch.db`, in WAL mode.
//!
//! Two connections: the writer's (only the ingest queue's writer thread writes) and the
//! readers', each behind a [`Mutex`]. WAL lets the reader see the last commit while the writer
//! writes, so statistics never wait for ingest.
//!
//! Durability: the writer commits with `synchronous = NORMAL`, so a commit returns once the WAL
//! frames are written to the operating system (they survive the process being killed), and
//! [`Store::sync`] fsyncs the WAL file, after which they survive a power loss too (on a disk
//! that honours fsync). The ingest queue answers a batch only after both, and calls `sync`
//! once for every group committed meanwhile, on a thread of its own: the writer commits the
//! next group while the disk flushes the last ones. A batch is therefore acknowledged with the
//! guarantee of `synchronous = FULL`, without the writer waiting for each fsync. Checkpoints
//! keep SQLite's own ordering (WAL synced before it is copied into the database, the database
//! synced after).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};

use std::io::Write;

use rusqlite::types::ValueRef;

use super::{
    export, labels_from_json, labels_to_json, limit_beyond, matchers_from_json, matchers_to_json,
    ActiveCounts, ErrorRow, ErrorSample, LeaderLock, Store, StoreError, StoreOutcome, TimingRow,
    VitalRows, VitalSample, ERROR_ROW_COLUMNS, TIMING_ROW_COLUMNS,
};
use std::time::Duration;

use perfwatch_protocol::{EventBody, Navigation, NavigationType, Rating, VitalName, WebVital};
use rusqlite::{params, CachedStatement, Connection, Transaction};

use crate::alerts::model::{Alert, AlertState, Silence, SEVERITY};
use crate::backend_stats::{AiAggregate, AiCallRow, ApiAggregate, ApiCallRow, Cost, Tokens};
use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::host_history::{HostPoint, SeriesRollup};
use crate::normalize::{
    self, AiCallRecord, ApiCallRecord, Batch, BrowserRecords, ErrorRecord, Record, TimingKind,
    TimingRecord,
};
use crate::rollup::{
    self, DirtyBucket, RawMinute, RawPageView, RawVital, Rollup, RollupLock, Tier,
};
use crate::session_stats::{self, SessionPoint};
use crate::sketch::{DdSketch, Hll};

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

/// Migration 4: the roll-up tiers ([`crate::rollup`]) and the marks of buckets to recompute.
const SCHEMA_V4: &str = "
CREATE TABLE IF NOT EXISTS rollup_vitals (
    tier              TEXT NOT NULL,
    bucket_ms         INTEGER NOT NULL,
    app               TEXT NOT NULL,
    page              TEXT NOT NULL,
    name              TEXT NOT NULL,
    count             INTEGER NOT NULL,
    sum               REAL NOT NULL,
    good              INTEGER NOT NULL,
    needs_improvement INTEGER NOT NULL,
    poor              INTEGER NOT NULL,
    sketch            BLOB NOT NULL,
    PRIMARY KEY (tier, bucket_ms, app, page, name)
);
CREATE TABLE IF NOT EXISTS rollup_page_views (
    tier      TEXT NOT NULL,
    bucket_ms INTEGER NOT NULL,
    app       TEXT NOT NULL,
    page      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    sessions  BLOB NOT NULL,
    users     BLOB NOT NULL,
    PRIMARY KEY (tier, bucket_ms, app, page)
);
CREATE TABLE IF NOT EXISTS rollup_dirty (
    id        INTEGER PRIMARY KEY,
    tier      TEXT NOT NULL,
    bucket_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rollup_dirty_by_tier ON rollup_dirty (tier, id);
-- Marks every minute already holding raw events, so that the history reaches the roll-ups
-- (the hour and day tiers only for the minute tier's retention, 2 days by default).
INSERT INTO rollup_dirty (tier, bucket_ms)
SELECT 'minute', minute FROM (
    SELECT DISTINCT (measured_at_ms / 60000) * 60000 AS minute FROM web_vitals
    UNION
    SELECT DISTINCT (started_at_ms / 60000) * 60000 FROM page_views
) AS history;
";

/// Migration 5: the host's samples ([`crate::host_history`]) and their hourly roll-ups, per
/// host.
const SCHEMA_V5: &str = "
CREATE TABLE IF NOT EXISTS system_samples (
    host                   TEXT NOT NULL,
    at_ms                  INTEGER NOT NULL,
    cpu_percent            REAL,
    memory_percent         REAL NOT NULL,
    swap_percent           REAL NOT NULL,
    disk_percent           REAL,
    load_1                 REAL,
    network_rx_bytes_per_s REAL NOT NULL,
    network_tx_bytes_per_s REAL NOT NULL,
    process_cpu_percent    REAL,
    process_resident_bytes INTEGER NOT NULL,
    PRIMARY KEY (host, at_ms)
);
CREATE INDEX IF NOT EXISTS system_samples_by_time ON system_samples (at_ms);
CREATE TABLE IF NOT EXISTS system_rollups (
    tier      TEXT NOT NULL,
    bucket_ms INTEGER NOT NULL,
    host      TEXT NOT NULL,
    series    TEXT NOT NULL,
    count     INTEGER NOT NULL,
    sum       REAL NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sketch    BLOB NOT NULL,
    PRIMARY KEY (tier, bucket_ms, host, series)
);
";

/// Migration 6: a web vital row no longer repeats its session and page view. Their identity and
/// address (app, session id, page view id, URL, route: about 150 bytes with real ids) are kept
/// once, in `sessions` and `pages`, and `vitals` holds what is the metric's own, keyed by the
/// session's integer id and the metric id, without a rowid; its time index is a row per
/// session and minute (`vital_minutes`). Per event the writer now stores about a third of the
/// bytes and updates one B-tree instead of three (`BENCHMARKS.md`). `web_vitals`
/// stays, as a view with the columns the table had, for every reader and for exports. A page
/// view's URL and route are those of its first event.
const SCHEMA_V6: &str = "
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    app           TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    UNIQUE (app, session_id)
);
CREATE INDEX sessions_by_first_seen ON sessions (first_seen_ms);
CREATE TABLE pages (
    id            INTEGER PRIMARY KEY,
    session       INTEGER NOT NULL,
    page_view_id  TEXT NOT NULL,
    url           TEXT NOT NULL,
    route         TEXT,
    first_seen_ms INTEGER NOT NULL,
    UNIQUE (session, page_view_id)
);
CREATE INDEX pages_by_first_seen ON pages (first_seen_ms);
-- rating: 0 good, 1 needs-improvement, 2 poor.
CREATE TABLE vitals (
    session         INTEGER NOT NULL,
    metric_id       TEXT NOT NULL,
    page            INTEGER NOT NULL,
    name            TEXT NOT NULL,
    value           REAL NOT NULL,
    delta           REAL NOT NULL,
    seq             INTEGER NOT NULL,
    rating          INTEGER NOT NULL,
    navigation_type TEXT,
    measured_at_ms  INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (session, metric_id)
) WITHOUT ROWID;
-- The time index of `vitals`: which sessions have metrics first measured in which minute, an
-- entry per session and minute rather than per metric (an index entry per metric cost the
-- writer a fifth of its time). A range of time reads its sessions' metrics by key.
CREATE TABLE vital_minutes (
    minute_ms INTEGER NOT NULL,
    session   INTEGER NOT NULL,
    PRIMARY KEY (minute_ms, session)
) WITHOUT ROWID;
-- MIN() makes SQLite take the bare columns from the first report.
INSERT INTO sessions (app, session_id, first_seen_ms)
SELECT app, session_id, MIN(measured_at_ms) FROM web_vitals GROUP BY app, session_id;
INSERT INTO pages (session, page_view_id, url, route, first_seen_ms)
SELECT s.id, w.page_view_id, w.url, w.route, MIN(w.measured_at_ms)
FROM web_vitals w JOIN sessions s ON s.app = w.app AND s.session_id = w.session_id
GROUP BY s.id, w.page_view_id;
INSERT INTO vitals (session, metric_id, page, name, value, delta, seq, rating,
                    navigation_type, measured_at_ms, received_at_ms)
SELECT s.id, w.metric_id, p.id, w.name, w.value, w.delta, w.seq,
       CASE w.rating WHEN 'good' THEN 0 WHEN 'needs-improvement' THEN 1 ELSE 2 END,
       w.navigation_type, w.measured_at_ms, w.received_at_ms
FROM web_vitals w
JOIN sessions s ON s.app = w.app AND s.session_id = w.session_id
JOIN pages p ON p.session = s.id AND p.page_view_id = w.page_view_id;
INSERT INTO vital_minutes (minute_ms, session)
SELECT DISTINCT (measured_at_ms / 60000) * 60000, session FROM vitals;
DROP TABLE web_vitals;
CREATE VIEW web_vitals AS
SELECT s.app, s.session_id, p.page_view_id, v.metric_id, v.name, v.value, v.delta, v.seq,
       CASE v.rating WHEN 0 THEN 'good' WHEN 1 THEN 'needs-improvement' ELSE 'poor' END
           AS rating,
       v.navigation_type, p.url, p.route, v.measured_at_ms, v.received_at_ms
FROM vitals v JOIN sessions s ON s.id = v.session JOIN pages p ON p.id = v.page;
";

/// Migration 7: backend records, API calls and AI model calls, each stored once per
/// `(service, event_id)` when it has an `event_id`. Records without one (the collector's own
/// calls, say) are all kept, and stay out of the unique index, which costs them nothing.
const SCHEMA_V7: &str = "
CREATE TABLE api_calls (
    service        TEXT NOT NULL,
    event_id       TEXT,
    endpoint       TEXT NOT NULL,
    method         TEXT NOT NULL,
    status         INTEGER NOT NULL,
    duration_ms    REAL NOT NULL,
    user_id        TEXT,
    trace_id       TEXT,
    at_ms          INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX api_calls_by_event ON api_calls (service, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX api_calls_by_time ON api_calls (at_ms);
CREATE TABLE ai_calls (
    service             TEXT NOT NULL,
    event_id            TEXT,
    model               TEXT NOT NULL,
    provider            TEXT,
    operation           TEXT,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    duration_ms         REAL NOT NULL,
    success             INTEGER NOT NULL,
    error_type          TEXT,
    user_id             TEXT,
    trace_id            TEXT,
    sent_cost_usd       REAL,
    computed_cost_usd   REAL,
    at_ms               INTEGER NOT NULL,
    received_at_ms      INTEGER NOT NULL
);
CREATE UNIQUE INDEX ai_calls_by_event ON ai_calls (service, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX ai_calls_by_time ON ai_calls (at_ms);
";

/// Migration 8: when each browser session was active, a row per session and minute
/// ([`crate::session_stats`]), for session statistics, keyed by the session's id in
/// `sessions` (new sessions get increasing ids, so a row is appended, not inserted at a random
/// place as a text key would be: that cost a tenth of ingest). Filled from the page views
/// already stored.
const SCHEMA_V8: &str = "
CREATE TABLE session_activity (
    session   INTEGER NOT NULL,
    minute_ms INTEGER NOT NULL,
    first_ms  INTEGER NOT NULL,
    last_ms   INTEGER NOT NULL,
    user_id   TEXT,
    PRIMARY KEY (session, minute_ms)
) WITHOUT ROWID;
CREATE INDEX session_activity_by_minute ON session_activity (minute_ms);
INSERT OR IGNORE INTO sessions (app, session_id, first_seen_ms)
SELECT app, session_id, MIN(started_at_ms) FROM page_views GROUP BY app, session_id;
INSERT INTO session_activity (session, minute_ms, first_ms, last_ms, user_id)
SELECT s.id, (p.started_at_ms / 60000) * 60000, MIN(p.started_at_ms), MAX(p.started_at_ms),
       MAX(p.user_id)
FROM page_views p JOIN sessions s ON s.app = p.app AND s.session_id = p.session_id
GROUP BY 1, 2;
";

/// Migration 9: roll-ups of API and AI calls ([`crate::call_rollup`]), keyed so that one
/// dimension of a range of buckets is one range of the key; the minutes already holding calls
/// are marked for the roller.
const SCHEMA_V9: &str = "
CREATE TABLE rollup_api_calls (
    tier          TEXT NOT NULL,
    dimension     TEXT NOT NULL,
    bucket_ms     INTEGER NOT NULL,
    key           TEXT NOT NULL,
    count         INTEGER NOT NULL,
    server_errors INTEGER NOT NULL,
    errors        INTEGER NOT NULL,
    latency       BLOB NOT NULL,
    PRIMARY KEY (tier, dimension, bucket_ms, key)
);
CREATE INDEX rollup_api_calls_by_bucket ON rollup_api_calls (tier, bucket_ms);
CREATE TABLE rollup_ai_calls (
    tier                TEXT NOT NULL,
    dimension           TEXT NOT NULL,
    bucket_ms           INTEGER NOT NULL,
    key                 TEXT NOT NULL,
    calls               INTEGER NOT NULL,
    succeeded           INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_usd            REAL NOT NULL,
    computed_cost_usd   REAL NOT NULL,
    sent_cost_usd       REAL NOT NULL,
    computed_calls      INTEGER NOT NULL,
    sent_only_calls     INTEGER NOT NULL,
    unpriced_calls      INTEGER NOT NULL,
    latency             BLOB NOT NULL,
    PRIMARY KEY (tier, dimension, bucket_ms, key)
);
CREATE INDEX rollup_ai_calls_by_bucket ON rollup_ai_calls (tier, bucket_ms);
INSERT INTO rollup_dirty (tier, bucket_ms)
SELECT 'minute', minute FROM (
    SELECT DISTINCT (at_ms / 60000) * 60000 AS minute FROM api_calls
    UNION
    SELECT DISTINCT (at_ms / 60000) * 60000 FROM ai_calls
);
";

/// Migration 10: what browsers timed of their own API calls and interactions
/// ([`crate::normalize::TimingRecord`]), once per `(app, session_id, event_id)`.
const SCHEMA_V10: &str = "
CREATE TABLE browser_timings (
    kind           TEXT NOT NULL,
    app            TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    event_id       TEXT,
    page_view_id   TEXT NOT NULL,
    name           TEXT NOT NULL,
    status         INTEGER,
    failed         INTEGER NOT NULL,
    duration_ms    REAL NOT NULL,
    user_id        TEXT,
    at_ms          INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX browser_timings_by_event ON browser_timings (app, session_id, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX browser_timings_by_time ON browser_timings (at_ms);
";

/// Migration 11: room in `browser_timings` for long tasks, long animation frames and resources
/// (what each column holds by kind: [`crate::normalize::TimingRecord`]). Older rows leave
/// them empty.
const SCHEMA_V11: &str = "
ALTER TABLE browser_timings ADD COLUMN detail TEXT;
ALTER TABLE browser_timings ADD COLUMN blocking_ms REAL;
ALTER TABLE browser_timings ADD COLUMN script_ms REAL;
ALTER TABLE browser_timings ADD COLUMN transfer_size INTEGER;
";

/// Migration 12: the navigation's request phase (`responseStart - requestStart`).
const SCHEMA_V12: &str = "ALTER TABLE navigations ADD COLUMN request_ms REAL;";

/// Migration 13: a browser API call's W3C trace id (its `traceparent`), to find the backend's
/// side of the call. Its error type goes in `detail`, which API calls left empty.
const SCHEMA_V13: &str = "ALTER TABLE browser_timings ADD COLUMN trace_id TEXT;";

/// Migration 14: the errors pages report ([`crate::normalize::ErrorRecord`]), once per
/// `(app, session_id, event_id)`. `id` (the rowid) lets an answer read the stacks of the few
/// errors it shows after grouping all of them without their stacks.
const SCHEMA_V14: &str = "
CREATE TABLE browser_errors (
    id              INTEGER PRIMARY KEY,
    app             TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    event_id        TEXT,
    page_view_id    TEXT NOT NULL,
    url             TEXT NOT NULL,
    route           TEXT,
    release         TEXT,
    user_id         TEXT,
    kind            TEXT NOT NULL,
    name            TEXT,
    message         TEXT NOT NULL,
    stack           TEXT,
    component_stack TEXT,
    at_ms           INTEGER NOT NULL,
    received_at_ms  INTEGER NOT NULL
);
CREATE UNIQUE INDEX browser_errors_by_event ON browser_errors (app, session_id, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX browser_errors_by_time ON browser_errors (at_ms);
";

/// Migration 15: alert episodes (one row per alert from pending to resolved, keyed by its
/// fingerprint and when it became active) and silences ([`crate::alerts`]).
const SCHEMA_V15: &str = "
CREATE TABLE alerts (
    fingerprint   TEXT NOT NULL,
    active_at_ms  INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    state         TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    value         REAL,
    starts_at_ms  INTEGER,
    ends_at_ms    INTEGER,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, active_at_ms)
);
CREATE INDEX alerts_by_update ON alerts (updated_at_ms);
CREATE INDEX alerts_open ON alerts (state) WHERE state <> 'resolved';
CREATE TABLE silences (
    id            TEXT PRIMARY KEY,
    matchers      TEXT NOT NULL,
    starts_at_ms  INTEGER NOT NULL,
    ends_at_ms    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    comment       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX silences_by_end ON silences (ends_at_ms);
";

/// Migration 16: the audit log of administrative actions, and the indexes erasure finds a
/// user's rows by.
const SCHEMA_V16: &str = "
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
CREATE INDEX session_activity_by_user ON session_activity (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX page_views_by_user ON page_views (user_id) WHERE user_id IS NOT NULL;
";

/// Migration 17: the erasure count ([`Store::erasure_generation`]), one row.
const SCHEMA_V17: &str = "
CREATE TABLE erasures (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO erasures (id, generation) VALUES (1, 0);
";

/// The schema's history, oldest first: migration `n` (1-based) brings a database from version
/// `n - 1` to `n`. Never edit a released entry; append a new one.
pub const MIGRATIONS: [&str; 17] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9, SCHEMA_V10, SCHEMA_V11, SCHEMA_V12, SCHEMA_V13, SCHEMA_V14, SCHEMA_V15, SCHEMA_V16,
    SCHEMA_V17,
];

/// The browser timings dated in `[?1, ?2)`, as [`TimingRow`]s.
static SELECT_TIMINGS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {TIMING_ROW_COLUMNS} FROM browser_timings WHERE at_ms >= ?1 AND at_ms < ?2")
});

/// A browser timing once per `(app, session_id, event_id)`.
const INSERT_TIMING: &str = "
INSERT INTO browser_timings (kind, app, session_id, event_id, page_view_id, name, detail, status,
                             failed, duration_ms, blocking_ms, script_ms, transfer_size, user_id,
                             at_ms, received_at_ms, trace_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
ON CONFLICT (app, session_id, event_id) WHERE event_id IS NOT NULL DO NOTHING";

/// The browser errors dated in `[?1, ?2)`, as [`ErrorRow`]s.
static SELECT_ERRORS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {ERROR_ROW_COLUMNS} FROM browser_errors WHERE at_ms >= ?1 AND at_ms < ?2")
});

/// A browser error once per `(app, session_id, event_id)`.
const INSERT_ERROR: &str = "
INSERT INTO browser_errors (app, session_id, event_id, page_view_id, url, route, release,
                            user_id, kind, name, message, stack, component_stack, at_ms,
                            received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (app, session_id, event_id) WHERE event_id IS NOT NULL DO NOTHING";

/// One dimension of the API call series of a range of buckets.
const READ_API_ROLLUPS: &str = "
SELECT key, count, server_errors, errors, latency FROM rollup_api_calls
WHERE tier = ?1 AND dimension = ?2 AND bucket_ms >= ?3 AND bucket_ms < ?4";

/// One dimension of the AI call series of a range of buckets.
const READ_AI_ROLLUPS: &str = "
SELECT key, calls, succeeded, input_tokens, output_tokens, cached_input_tokens,
       cache_write_tokens, reasoning_tokens, cost_usd, computed_cost_usd, sent_cost_usd,
       computed_calls, sent_only_calls, unpriced_calls, latency
FROM rollup_ai_calls
WHERE tier = ?1 AND dimension = ?2 AND bucket_ms >= ?3 AND bucket_ms < ?4";

/// A session's activity in a minute, merged with what is already there.
const UPSERT_SESSION_ACTIVITY: &str = "
INSERT INTO session_activity (session, minute_ms, first_ms, last_ms, user_id)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (session, minute_ms) DO UPDATE SET
    first_ms = MIN(first_ms, excluded.first_ms),
    last_ms = MAX(last_ms, excluded.last_ms),
    user_id = COALESCE(excluded.user_id, user_id)";

/// The activity and page views of every session active in `[?1, ?2)` (minutes), ordered by
/// session and time, for [`crate::session_stats::SessionStatsBuilder`].
const SESSION_POINTS: &str = "
WITH active AS (SELECT DISTINCT session FROM session_activity
                WHERE minute_ms >= ?1 AND minute_ms < ?2)
SELECT s.app, s.session_id, a.first_ms, a.last_ms, 0, a.user_id
FROM active JOIN session_activity a ON a.session = active.session
            JOIN sessions s ON s.id = active.session
UNION ALL
SELECT p.app, p.session_id, p.started_at_ms, p.started_at_ms, 1, p.user_id
FROM active JOIN sessions s ON s.id = active.session
            JOIN page_views p ON p.app = s.app AND p.session_id = s.session_id
ORDER BY 1, 2, 3";

/// Sessions active since `?2` (its minute `?1`), those of them without a user, and the
/// distinct users of active sessions and of backend calls since then.
const ACTIVE_USERS: &str = "
SELECT
  (SELECT COUNT(*) FROM (SELECT 1 FROM session_activity
                         WHERE minute_ms >= ?1 AND last_ms >= ?2 GROUP BY session)),
  (SELECT COUNT(*) FROM (SELECT 1 FROM session_activity
                         WHERE minute_ms >= ?1 AND last_ms >= ?2 GROUP BY session
                         HAVING MAX(user_id) IS NULL)),
  (SELECT COUNT(*) FROM (
      SELECT user_id FROM session_activity
      WHERE minute_ms >= ?1 AND last_ms >= ?2 AND user_id IS NOT NULL
      UNION SELECT user_id FROM api_calls WHERE at_ms >= ?2 AND user_id IS NOT NULL
      UNION SELECT user_id FROM ai_calls WHERE at_ms >= ?2 AND user_id IS NOT NULL))";

/// A page view once per id.
const INSERT_PAGE_VIEW: &str = "
INSERT INTO page_views (app, session_id, page_view_id, url, route, navigation_type,
                        release, user_id, started_at_ms, received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (app, session_id, page_view_id) DO NOTHING";

/// A session's id in `sessions`, and the session when it has none yet.
const SELECT_SESSION: &str = "SELECT id FROM sessions WHERE app = ?1 AND session_id = ?2";
const INSERT_SESSION: &str =
    "INSERT INTO sessions (app, session_id, first_seen_ms) VALUES (?1, ?2, ?3)";

/// A page view's id in `pages`, and the page view when it has none yet.
const SELECT_PAGE: &str = "SELECT id FROM pages WHERE session = ?1 AND page_view_id = ?2";
const INSERT_PAGE: &str = "
INSERT INTO pages (session, page_view_id, url, route, first_seen_ms)
VALUES (?1, ?2, ?3, ?4, ?5)";

/// A metric's report, kept while no report with a higher `seq` arrives. The metric stays dated
/// by its first report, so it stays in the roll-up minute it was counted in.
const UPSERT_WEB_VITAL: &str = "
INSERT INTO vitals (session, metric_id, page, name, value, delta, seq, rating,
                    navigation_type, measured_at_ms, received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (session, metric_id) DO UPDATE SET
    page = excluded.page, name = excluded.name, value = excluded.value, delta = excluded.delta,
    seq = excluded.seq, rating = excluded.rating,
    navigation_type = excluded.navigation_type, received_at_ms = excluded.received_at_ms
WHERE excluded.seq > vitals.seq";

/// A metric's first report (`seq` 1): any row already there is this report again, or a later
/// one, so it stays. Cheaper for SQLite than the upsert.
const INSERT_FIRST_WEB_VITAL: &str = "
INSERT OR IGNORE INTO vitals (session, metric_id, page, name, value, delta, seq, rating,
                              navigation_type, measured_at_ms, received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// [`INSERT_FIRST_WEB_VITAL`] for each of [`ROWS_PER_STATEMENT`] rows.
static INSERT_FIRST_WEB_VITALS: LazyLock<[String; ROWS_PER_STATEMENT.len()]> =
    LazyLock::new(|| {
        let (columns, _) = INSERT_FIRST_WEB_VITAL
            .split_once("VALUES")
            .expect("an INSERT statement");
        ROWS_PER_STATEMENT.map(|rows| {
            let tuples: Vec<String> = (0..rows)
                .map(|row| {
                    let first = row * VITAL_COLUMNS + 1;
                    let params: Vec<String> = (first..first + VITAL_COLUMNS)
                        .map(|n| format!("?{n}"))
                        .collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            format!("{columns}VALUES {}", tuples.join(",\n"))
        })
    });

/// When a metric was first measured. (A `RETURNING` clause on the upsert would say it too, but
/// costs SQLite an ephemeral table per statement.)
const SELECT_MEASURED_AT: &str =
    "SELECT measured_at_ms FROM vitals WHERE session = ?1 AND metric_id = ?2";

/// An entry of the metrics' time index.
const INSERT_VITAL_MINUTE: &str =
    "INSERT OR IGNORE INTO vital_minutes (minute_ms, session) VALUES (?1, ?2)";

/// A bucket to recompute.
const MARK_DIRTY: &str = "INSERT INTO rollup_dirty (tier, bucket_ms) VALUES (?1, ?2)";

/// A page load's timing, kept while no more complete report arrives.
const UPSERT_NAVIGATION: &str = "
INSERT INTO navigations (app, session_id, page_view_id, url, route,
    navigation_type, protocol, redirect_ms, dns_ms, connect_ms, tls_ms, ttfb_ms,
    download_ms, dom_interactive_ms, dom_content_loaded_ms, dom_complete_ms, load_ms,
    transfer_size, encoded_body_size, decoded_body_size, started_at_ms, received_at_ms,
    completeness, request_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
        ?18, ?19, ?20, ?21, ?22, ?23, ?24)
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
    completeness = excluded.completeness, request_ms = excluded.request_ms
WHERE excluded.completeness > navigations.completeness";

/// A backend API call, once per `(service, event_id)`.
const INSERT_API_CALL: &str = "
INSERT OR IGNORE INTO api_calls (service, event_id, endpoint, method, status, duration_ms,
                                 user_id, trace_id, at_ms, received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// An AI model call, once per `(service, event_id)`.
const INSERT_AI_CALL: &str = "
INSERT OR IGNORE INTO ai_calls (service, event_id, model, provider, operation, input_tokens,
    output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, duration_ms,
    success, error_type, user_id, trace_id, sent_cost_usd, computed_cost_usd, at_ms,
    received_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// An alert episode, updated in place while it lasts.
const UPSERT_ALERT: &str = "
INSERT INTO alerts (fingerprint, active_at_ms, rule, severity, state, labels, annotations, value,
                    starts_at_ms, ends_at_ms, updated_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (fingerprint, active_at_ms) DO UPDATE SET
    state = excluded.state, labels = excluded.labels, annotations = excluded.annotations,
    value = excluded.value, starts_at_ms = excluded.starts_at_ms,
    ends_at_ms = excluded.ends_at_ms, updated_at_ms = excluded.updated_at_ms";

/// Retention: each statement deletes at most `?2` rows dated before `?1`. Metrics are found
/// through `vital_minutes`, whose entries go once their minute has no metrics left; a page
/// goes once its session has no metrics left, a session once it has no pages left.
const PRUNE: [&str; 14] = [
    "DELETE FROM alerts WHERE rowid IN
     (SELECT rowid FROM alerts WHERE state = 'resolved' AND updated_at_ms < ?1 LIMIT ?2)",
    "DELETE FROM silences WHERE rowid IN
     (SELECT rowid FROM silences WHERE ends_at_ms < ?1 LIMIT ?2)",
    "DELETE FROM browser_timings WHERE rowid IN
     (SELECT rowid FROM browser_timings WHERE at_ms < ?1 LIMIT ?2)",
    "DELETE FROM browser_errors WHERE id IN
     (SELECT id FROM browser_errors WHERE at_ms < ?1 LIMIT ?2)",
    "DELETE FROM session_activity WHERE (session, minute_ms) IN
     (SELECT session, minute_ms FROM session_activity WHERE minute_ms < ?1 LIMIT ?2)",
    "DELETE FROM api_calls WHERE rowid IN
     (SELECT rowid FROM api_calls WHERE at_ms < ?1 LIMIT ?2)",
    "DELETE FROM ai_calls WHERE rowid IN
     (SELECT rowid FROM ai_calls WHERE at_ms < ?1 LIMIT ?2)",
    "DELETE FROM page_views WHERE rowid IN
     (SELECT rowid FROM page_views WHERE started_at_ms < ?1 LIMIT ?2)",
    "DELETE FROM vitals WHERE (session, metric_id) IN
     (SELECT v.session, v.metric_id FROM vital_minutes m JOIN vitals v ON v.session = m.session
      WHERE m.minute_ms < ?1 AND v.measured_at_ms < ?1 LIMIT ?2)",
    "DELETE FROM vital_minutes WHERE (minute_ms, session) IN
     (SELECT minute_ms, session FROM vital_minutes m WHERE minute_ms < ?1
      AND NOT EXISTS (SELECT 1 FROM vitals v WHERE v.session = m.session
                      AND v.measured_at_ms >= m.minute_ms
                      AND v.measured_at_ms < m.minute_ms + 60000)
      LIMIT ?2)",
    "DELETE FROM navigations WHERE rowid IN
     (SELECT rowid FROM navigations WHERE started_at_ms < ?1 LIMIT ?2)",
    "DELETE FROM system_samples WHERE rowid IN
     (SELECT rowid FROM system_samples WHERE at_ms < ?1 LIMIT ?2)",
    "DELETE FROM pages WHERE id IN
     (SELECT id FROM pages p WHERE first_seen_ms < ?1
      AND NOT EXISTS (SELECT 1 FROM vitals v WHERE v.session = p.session) LIMIT ?2)",
    "DELETE FROM sessions WHERE id IN
     (SELECT id FROM sessions s WHERE first_seen_ms < ?1
      AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.session = s.id)
      AND NOT EXISTS (SELECT 1 FROM session_activity a WHERE a.session = s.id) LIMIT ?2)",
];

/// The metrics (`v`, joined to their session `s` and page view `p`) first measured in
/// `[?1, ?2)`, where `?3` is the minute `?1` is in: read by key, through `vital_minutes`.
const VITALS_MEASURED_IN: &str = "
FROM vitals v JOIN sessions s ON s.id = v.session JOIN pages p ON p.id = v.page
WHERE v.session IN (SELECT session FROM vital_minutes WHERE minute_ms >= ?3 AND minute_ms < ?2)
  AND v.measured_at_ms >= ?1 AND v.measured_at_ms < ?2";

/// The columns of the `web_vitals` view, for exports.
const EXPORT_VITALS: &str = "
SELECT s.app, s.session_id, p.page_view_id, v.metric_id, v.name, v.value, v.delta, v.seq,
       CASE v.rating WHEN 0 THEN 'good' WHEN 1 THEN 'needs-improvement' ELSE 'poor' END
           AS rating,
       v.navigation_type, p.url, p.route, v.measured_at_ms, v.received_at_ms";

/// The parameters of [`VITALS_MEASURED_IN`].
fn measured_in(from_ms: i64, to_ms: i64) -> [i64; 3] {
    [from_ms, to_ms, Tier::Minute.bucket_of(from_ms)]
}

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
    // The WAL is fsync'd by `Store::sync`, off the writer's path (see the module's docs).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // 32 MiB of page cache per connection (the default 2 MiB makes every group re-read the
    // index pages it updates), and checkpoints every ~16 MiB of WAL rather than every 4 MiB:
    // fewer, larger copies back into the database file.
    conn.pragma_update(None, "cache_size", -32_768)?;
    conn.pragma_update(None, "wal_autocheckpoint", 4_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Room for every statement the writer repeats (ingest, roll-ups, host samples), so none is
    // compiled again per group.
    conn.set_prepared_statement_cache_capacity(32);
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

    fn write_group(&self, batches: &[&Batch]) -> Result<Vec<StoreOutcome>, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut statements = GroupStatements::prepare(&tx)?;
        let mut outcomes = Vec::with_capacity(batches.len());
        for batch in batches {
            outcomes.push(match batch {
                Batch::Browser(browser) => {
                    // The page's timings and errors, in the same transaction as the rest of
                    // its batch.
                    write_timings(&tx, &normalize::browser_timings(browser))?;
                    write_errors(&tx, &normalize::browser_errors(browser))?;
                    statements.write_activity(browser)?;
                    statements.write_batch(browser)?
                }
                Batch::Timings(timings) => write_timings(&tx, timings)?,
                Batch::ApiCalls(calls) => {
                    statements.calls_written(calls.iter().map(|call| call.at_ms));
                    write_api_calls(&tx, calls)?
                }
                Batch::AiCalls(calls) => {
                    statements.calls_written(calls.iter().map(|call| call.at_ms));
                    write_ai_calls(&tx, calls)?
                }
            });
        }
        statements.finish(&tx)?;
        tx.commit()?;
        Ok(outcomes)
    }

    /// fsyncs the WAL file: every frame committed so far reaches the disk. The file exists
    /// while the store's connections are open (WAL mode keeps it), and is opened afresh so
    /// that the flush always reaches the file SQLite writes.
    fn sync(&self) -> Result<(), StoreError> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        fs::File::open(&wal)
            .and_then(|file| file.sync_data())
            .map_err(StoreError::Flush)
    }

    fn scan_api_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(ApiCallRow),
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT endpoint, method, status, duration_ms, user_id FROM api_calls
             WHERE at_ms >= ?1 AND at_ms < ?2",
        )?;
        let mut rows = stmt.query([since_ms, until_ms])?;
        while let Some(row) = rows.next()? {
            each(ApiCallRow {
                endpoint: row.get(0)?,
                method: row.get(1)?,
                status: row.get(2)?,
                duration_ms: row.get(3)?,
                user_id: row.get(4)?,
            });
        }
        Ok(())
    }

    fn scan_ai_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(AiCallRow),
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT model, provider, user_id, input_tokens, output_tokens, cached_input_tokens,
                    cache_write_tokens, reasoning_tokens, duration_ms, success, sent_cost_usd,
                    computed_cost_usd
             FROM ai_calls WHERE at_ms >= ?1 AND at_ms < ?2",
        )?;
        let mut rows = stmt.query([since_ms, until_ms])?;
        while let Some(row) = rows.next()? {
            each(AiCallRow {
                model: row.get(0)?,
                provider: row.get(1)?,
                user_id: row.get(2)?,
                input_tokens: row.get(3)?,
                output_tokens: row.get(4)?,
                cached_input_tokens: row.get(5)?,
                cache_write_tokens: row.get(6)?,
                reasoning_tokens: row.get(7)?,
                duration_ms: row.get(8)?,
                success: row.get(9)?,
                sent_cost_usd: row.get(10)?,
                computed_cost_usd: row.get(11)?,
            });
        }
        Ok(())
    }

    fn scan_timings(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(TimingRow),
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&SELECT_TIMINGS)?;
        let mut rows = stmt.query([since_ms, until_ms])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            // A kind this collector does not know (written by a newer one) is skipped.
            if let Some(kind) = TimingKind::from_name(&kind) {
                let transfer_size: Option<i64> = row.get(8)?;
                each(TimingRow {
                    kind,
                    name: row.get(1)?,
                    failed: row.get(2)?,
                    duration_ms: row.get(3)?,
                    page_view: row.get(4)?,
                    detail: row.get(5)?,
                    blocking_ms: row.get(6)?,
                    script_ms: row.get(7)?,
                    transfer_size: transfer_size.and_then(|size| u64::try_from(size).ok()),
                });
            }
        }
        Ok(())
    }

    fn scan_errors(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(ErrorRow),
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&SELECT_ERRORS)?;
        let mut rows = stmt.query([since_ms, until_ms])?;
        while let Some(row) = rows.next()? {
            each(ErrorRow {
                id: row.get(0)?,
                kind: row.get(1)?,
                name: row.get(2)?,
                message: row.get(3)?,
                session: row.get(4)?,
                at_ms: row.get(5)?,
                has_stack: row.get(6)?,
            });
        }
        Ok(())
    }

    fn error_samples(&self, ids: &[i64]) -> Result<Vec<ErrorSample>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, stack, component_stack FROM browser_errors WHERE id = ?1",
        )?;
        let mut samples = Vec::with_capacity(ids.len());
        for id in ids {
            let mut rows = stmt.query([id])?;
            if let Some(row) = rows.next()? {
                samples.push(ErrorSample {
                    id: row.get(0)?,
                    stack: row.get(1)?,
                    component_stack: row.get(2)?,
                });
            }
        }
        Ok(samples)
    }

    fn scan_sessions(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(SessionPoint),
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(SESSION_POINTS)?;
        let mut rows = stmt.query([Tier::Minute.bucket_of(since_ms), until_ms])?;
        while let Some(row) = rows.next()? {
            each(SessionPoint {
                app: row.get(0)?,
                session_id: row.get(1)?,
                first_ms: row.get(2)?,
                last_ms: row.get(3)?,
                page_view: row.get::<_, i64>(4)? == 1,
                user_id: row.get(5)?,
            });
        }
        Ok(())
    }

    fn active_users(&self, since_ms: i64) -> Result<ActiveCounts, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(ACTIVE_USERS)?;
        Ok(
            stmt.query_row([Tier::Minute.bucket_of(since_ms), since_ms], |row| {
                Ok(ActiveCounts {
                    sessions: count(row.get(0)?),
                    anonymous_sessions: count(row.get(1)?),
                    named_users: count(row.get(2)?),
                })
            })?,
        )
    }

    fn vital_rows(
        &self,
        since_ms: i64,
        until_ms: i64,
        max_samples: usize,
    ) -> Result<Option<VitalRows>, StoreError> {
        let conn = self.reader()?;
        let mut rows = VitalRows::default();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT v.name, v.value, COALESCE(NULLIF(p.route, ''), p.url) {VITALS_MEASURED_IN}
             LIMIT ?4"
        ))?;
        let [from, to, minute] = measured_in(since_ms, until_ms);
        let mut cursor = stmt.query([from, to, minute, limit_beyond(max_samples)])?;
        let mut read = 0;
        while let Some(row) = cursor.next()? {
            read += 1;
            if read > max_samples {
                return Ok(None);
            }
            let name: String = row.get(0)?;
            // A name this collector does not know (written by a newer one) is skipped.
            if let Some(name) = VitalName::from_wire(&name) {
                rows.samples.push(VitalSample {
                    name,
                    value: row.get(1)?,
                    page: row.get(2)?,
                });
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT COALESCE(NULLIF(route, ''), url), COUNT(*) FROM page_views
             WHERE started_at_ms >= ?1 AND started_at_ms < ?2 GROUP BY 1",
        )?;
        rows.page_views = stmt
            .query_map([since_ms, until_ms], |row| {
                let count: i64 = row.get(1)?;
                Ok((row.get(0)?, u64::try_from(count).unwrap_or_default()))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(rows))
    }

    fn export(&self, from_ms: i64, to_ms: i64, out: &mut dyn Write) -> Result<u64, StoreError> {
        let conn = self.reader()?;
        let mut lines = 0;
        for (kind, table, time_column) in export::TABLES {
            // `web_vitals` is a view here; its rows are found by key, through `vital_minutes`.
            let sql = if table == "web_vitals" {
                format!("{EXPORT_VITALS} {VITALS_MEASURED_IN} ORDER BY v.measured_at_ms")
            } else {
                export::query(table, time_column, "?1", "?2")
            };
            let mut stmt = conn.prepare(&sql)?;
            let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
            let params = measured_in(from_ms, to_ms);
            let used = params.len().min(stmt.parameter_count());
            let mut rows = stmt.query(rusqlite::params_from_iter(&params[..used]))?;
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

    /// Deletes a chunk per table, by key, in one short transaction on the writer's
    /// connection: the ingest writer waits for one chunk at most ([`PRUNE`]).
    fn prune(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut deleted = 0;
        for sql in PRUNE {
            deleted += tx.execute(sql, params![before_ms, limit])?;
        }
        tx.commit()?;
        Ok(deleted)
    }

    fn try_lock_rollups(&self) -> Result<Option<RollupLock>, StoreError> {
        // One collector per file: nobody to exclude.
        Ok(Some(Box::new(())))
    }

    fn try_lock_alerts(&self) -> Result<Option<Box<dyn LeaderLock>>, StoreError> {
        // One collector per file: nobody to exclude.
        Ok(Some(Box::new(())))
    }

    fn erase_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut deleted = 0u64;
        let sessions: Vec<(i64, String, String)> = {
            let mut select = tx.prepare(
                "SELECT s.id, s.app, s.session_id FROM sessions s
                 WHERE s.id IN (SELECT session FROM session_activity WHERE user_id = ?1)
                    OR EXISTS (SELECT 1 FROM page_views p WHERE p.user_id = ?1
                               AND p.app = s.app AND p.session_id = s.session_id)",
            )?;
            let rows = select
                .query_map(params![user_id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows
        };
        // Each statement prepared once, whatever the number of sessions.
        for sql in [
            "DELETE FROM vitals WHERE session = ?1",
            "DELETE FROM vital_minutes WHERE session = ?1",
            "DELETE FROM pages WHERE session = ?1",
            "DELETE FROM session_activity WHERE session = ?1",
            "DELETE FROM sessions WHERE id = ?1",
        ] {
            let mut delete = tx.prepare(sql)?;
            for (id, _, _) in &sessions {
                deleted += delete.execute(params![id])? as u64;
            }
        }
        for sql in [
            "DELETE FROM page_views WHERE app = ?1 AND session_id = ?2",
            "DELETE FROM navigations WHERE app = ?1 AND session_id = ?2",
            "DELETE FROM browser_timings WHERE app = ?1 AND session_id = ?2",
            "DELETE FROM browser_errors WHERE app = ?1 AND session_id = ?2",
        ] {
            let mut delete = tx.prepare(sql)?;
            for (_, app, session_id) in &sessions {
                deleted += delete.execute(params![app, session_id])? as u64;
            }
        }
        for sql in [
            "DELETE FROM page_views WHERE user_id = ?1",
            "DELETE FROM session_activity WHERE user_id = ?1",
            "DELETE FROM api_calls WHERE user_id = ?1",
            "DELETE FROM ai_calls WHERE user_id = ?1",
            "DELETE FROM browser_timings WHERE user_id = ?1",
            "DELETE FROM browser_errors WHERE user_id = ?1",
            "DELETE FROM rollup_api_calls WHERE dimension = 'user' AND key = ?1",
            "DELETE FROM rollup_ai_calls WHERE dimension = 'user' AND key = ?1",
        ] {
            deleted += tx.execute(sql, params![user_id])? as u64;
        }
        tx.execute(
            "UPDATE erasures SET generation = generation + 1 WHERE id = 1",
            [],
        )?;
        tx.commit()?;
        Ok(deleted)
    }

    fn erasure_generation(&self) -> Result<i64, StoreError> {
        let conn = self.reader()?;
        Ok(
            conn.query_row("SELECT generation FROM erasures WHERE id = 1", [], |row| {
                row.get(0)
            })?,
        )
    }

    fn write_audit(&self, entry: &super::AuditEntry) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(
                "INSERT INTO audit_log (at_ms, actor, action, target, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                entry.at_ms,
                entry.actor,
                entry.action,
                entry.target,
                entry.detail
            ])?;
        Ok(())
    }

    fn read_audit(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<super::AuditEntry>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, actor, action, target, detail FROM audit_log WHERE at_ms >= ?1
             ORDER BY at_ms DESC, id DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![since_ms, limit], |row| {
                Ok(super::AuditEntry {
                    at_ms: row.get(0)?,
                    actor: row.get(1)?,
                    action: row.get(2)?,
                    target: row.get(3)?,
                    detail: row.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn host_names(&self, since_ms: i64) -> Result<Vec<String>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT host FROM system_samples WHERE at_ms >= ?1 ORDER BY host",
        )?;
        let names = stmt
            .query_map(params![since_ms], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    fn write_alerts(
        &self,
        alerts: &[Alert],
        abandoned: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(UPSERT_ALERT)?;
            for alert in alerts {
                upsert.execute(params![
                    alert.fingerprint,
                    alert.active_at_ms,
                    alert.name(),
                    alert.labels.get(SEVERITY).map_or("", String::as_str),
                    alert.state.as_str(),
                    labels_to_json(&alert.labels),
                    labels_to_json(&alert.annotations),
                    alert.value.filter(|v| v.is_finite()),
                    alert.starts_at_ms,
                    alert.ends_at_ms,
                    now_ms,
                ])?;
            }
            let mut delete = tx.prepare_cached(
                "DELETE FROM alerts WHERE fingerprint = ?1 AND active_at_ms = ?2 \
                 AND state = 'pending'",
            )?;
            for (fingerprint, active_at_ms) in abandoned {
                delete.execute(params![fingerprint, active_at_ms])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn read_alerts(&self, since_ms: i64, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT fingerprint, active_at_ms, state, labels, annotations, value, starts_at_ms,
                    ends_at_ms
             FROM alerts WHERE state <> 'resolved' OR updated_at_ms >= ?1
             ORDER BY state = 'resolved', updated_at_ms DESC, active_at_ms DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![since_ms, limit], |row| {
                let state: String = row.get(2)?;
                let labels: String = row.get(3)?;
                let annotations: String = row.get(4)?;
                Ok(Alert {
                    fingerprint: row.get(0)?,
                    active_at_ms: row.get(1)?,
                    state: AlertState::parse(&state).unwrap_or(AlertState::Resolved),
                    labels: labels_from_json(&labels),
                    annotations: labels_from_json(&annotations),
                    value: row.get(5)?,
                    starts_at_ms: row.get(6)?,
                    ends_at_ms: row.get(7)?,
                })
            })?
            .collect::<Result<Vec<Alert>, _>>()?;
        Ok(rows)
    }

    fn write_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(
                "INSERT OR REPLACE INTO silences (id, matchers, starts_at_ms, ends_at_ms,
                     created_by, comment, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                silence.id,
                matchers_to_json(&silence.matchers),
                silence.starts_at_ms,
                silence.ends_at_ms,
                silence.created_by,
                silence.comment,
                silence.created_at_ms,
            ])?;
        Ok(())
    }

    fn expire_silence(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let conn = self.writer()?;
        let exists: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM silences WHERE id = ?1)")?
            .query_row(params![id], |row| row.get(0))?;
        conn.prepare_cached(
            "UPDATE silences SET ends_at_ms = ?2, starts_at_ms = MIN(starts_at_ms, ?2)
             WHERE id = ?1 AND ends_at_ms > ?2",
        )?
        .execute(params![id, at_ms])?;
        Ok(exists)
    }

    fn silences(&self, after_ms: i64) -> Result<Vec<Silence>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, matchers, starts_at_ms, ends_at_ms, created_by, comment, created_at_ms
             FROM silences WHERE ends_at_ms > ?1 ORDER BY starts_at_ms, id LIMIT 10000",
        )?;
        let rows = stmt
            .query_map(params![after_ms], |row| {
                let matchers: String = row.get(1)?;
                let silence = Silence {
                    id: row.get(0)?,
                    matchers: Vec::new(),
                    starts_at_ms: row.get(2)?,
                    ends_at_ms: row.get(3)?,
                    created_by: row.get(4)?,
                    comment: row.get(5)?,
                    created_at_ms: row.get(6)?,
                };
                Ok(matchers_from_json(&matchers).map(|matchers| Silence {
                    matchers,
                    ..silence
                }))
            })?
            .collect::<Result<Vec<Option<Silence>>, _>>()?;
        Ok(rows.into_iter().flatten().collect())
    }

    fn dirty_buckets(&self, tier: Tier, limit: usize) -> Result<Vec<DirtyBucket>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, bucket_ms FROM rollup_dirty WHERE tier = ?1 ORDER BY id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let marks = stmt
            .query_map(params![tier.as_str(), limit], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<Vec<(i64, i64)>, _>>()?;
        Ok(rollup::group_marks(tier, marks))
    }

    fn dirty_in(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<BTreeSet<i64>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT bucket_ms FROM rollup_dirty
             WHERE tier = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3",
        )?;
        let buckets = stmt
            .query_map(params![tier.as_str(), from_ms, to_ms], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(buckets)
    }

    fn raw_minute(&self, from_ms: i64, to_ms: i64) -> Result<RawMinute, StoreError> {
        let mut raw = RawMinute::default();
        self.scan_api_calls(from_ms, to_ms, &mut |row| raw.api_calls.push(row))?;
        self.scan_ai_calls(from_ms, to_ms, &mut |row| raw.ai_calls.push(row))?;
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT s.app, COALESCE(NULLIF(p.route, ''), p.url), v.name, v.value \
             {VITALS_MEASURED_IN}"
        ))?;
        let mut rows = stmt.query(measured_in(from_ms, to_ms))?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(2)?;
            // A name this collector does not know (written by a newer one) is skipped.
            if let Some(name) = VitalName::from_wire(&name) {
                raw.vitals.push(RawVital {
                    app: row.get(0)?,
                    page: row.get(1)?,
                    name,
                    value: row.get(3)?,
                });
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT app, COALESCE(NULLIF(route, ''), url), session_id, user_id FROM page_views
             WHERE started_at_ms >= ?1 AND started_at_ms < ?2",
        )?;
        raw.page_views = stmt
            .query_map([from_ms, to_ms], |row| {
                Ok(RawPageView {
                    app: row.get(0)?,
                    page: row.get(1)?,
                    session_id: row.get(2)?,
                    user_id: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(raw)
    }

    fn read_rollups(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<Rollup, StoreError> {
        let conn = self.reader()?;
        let mut rollup = Rollup::default();
        let mut stmt = conn.prepare_cached(
            "SELECT app, page, name, good, needs_improvement, poor, sketch FROM rollup_vitals
             WHERE tier = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3",
        )?;
        let mut rows = stmt.query(params![tier.as_str(), from_ms, to_ms])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(2)?;
            let Some(name) = VitalName::from_wire(&name) else {
                continue;
            };
            rollup.vitals.push(rollup::VitalSeries {
                app: row.get(0)?,
                page: row.get(1)?,
                name,
                ratings: [count(row.get(3)?), count(row.get(4)?), count(row.get(5)?)],
                sketch: DdSketch::from_bytes(&row.get::<_, Vec<u8>>(6)?)?,
            });
        }
        let mut stmt = conn.prepare_cached(
            "SELECT app, page, count, sessions, users FROM rollup_page_views
             WHERE tier = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3",
        )?;
        let mut rows = stmt.query(params![tier.as_str(), from_ms, to_ms])?;
        while let Some(row) = rows.next()? {
            rollup.page_views.push(rollup::PageViewSeries {
                app: row.get(0)?,
                page: row.get(1)?,
                count: count(row.get(2)?),
                sessions: Hll::from_bytes(&row.get::<_, Vec<u8>>(3)?)?,
                users: Hll::from_bytes(&row.get::<_, Vec<u8>>(4)?)?,
            });
        }
        Ok(rollup)
    }

    fn read_call_rollups(
        &self,
        tier: Tier,
        from_ms: i64,
        to_ms: i64,
        api: &[ApiDimension],
        ai: &[AiDimension],
    ) -> Result<(Vec<ApiSeries>, Vec<AiSeries>), StoreError> {
        read_call_series(&*self.reader()?, tier, from_ms, to_ms, api, ai)
    }

    fn replace_rollup(
        &self,
        dirty: &DirtyBucket,
        rollup: Option<&Rollup>,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let (tier, bucket) = (dirty.tier.as_str(), dirty.bucket_ms);
        if let Some(rollup) = rollup {
            for table in [
                "rollup_vitals",
                "rollup_page_views",
                "rollup_api_calls",
                "rollup_ai_calls",
            ] {
                tx.prepare_cached(&format!(
                    "DELETE FROM {table} WHERE tier = ?1 AND bucket_ms = ?2"
                ))?
                .execute(params![tier, bucket])?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO rollup_vitals (tier, bucket_ms, app, page, name, count, sum, good,
                                            needs_improvement, poor, sketch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for series in &rollup.vitals {
                let [good, needs_improvement, poor] = series.ratings.map(saturating_i64);
                insert.execute(params![
                    tier,
                    bucket,
                    series.app,
                    series.page,
                    series.name.as_str(),
                    saturating_i64(series.count()),
                    series.sketch.sum(),
                    good,
                    needs_improvement,
                    poor,
                    series.sketch.to_bytes(),
                ])?;
            }
            let mut insert = tx.prepare_cached(
                "INSERT INTO rollup_page_views (tier, bucket_ms, app, page, count, sessions,
                                                users)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for series in &rollup.page_views {
                insert.execute(params![
                    tier,
                    bucket,
                    series.app,
                    series.page,
                    saturating_i64(series.count),
                    series.sessions.to_bytes(),
                    series.users.to_bytes(),
                ])?;
            }
            write_call_series(&tx, tier, bucket, rollup)?;
            if let Some(parent) = dirty.tier.parent() {
                tx.prepare_cached(MARK_DIRTY)?
                    .execute(params![parent.as_str(), parent.bucket_of(bucket)])?;
            }
        }
        let mut clear = tx.prepare_cached("DELETE FROM rollup_dirty WHERE id = ?1")?;
        for id in &dirty.marks {
            clear.execute([id])?;
        }
        drop(clear);
        tx.commit()?;
        Ok(())
    }

    fn write_host_point(&self, host: &str, point: &HostPoint) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(
                "INSERT OR REPLACE INTO system_samples (host, at_ms, cpu_percent, memory_percent,
                     swap_percent, disk_percent, load_1, network_rx_bytes_per_s,
                     network_tx_bytes_per_s, process_cpu_percent, process_resident_bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                host,
                point.at_ms,
                point.cpu_percent,
                point.memory_percent,
                point.swap_percent,
                point.disk_percent,
                point.load_1,
                point.network_rx_bytes_per_s,
                point.network_tx_bytes_per_s,
                point.process_cpu_percent,
                saturating_i64(point.process_resident_bytes),
            ])?;
        Ok(())
    }

    fn host_points(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HostPoint>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, cpu_percent, memory_percent, swap_percent, disk_percent, load_1,
                    network_rx_bytes_per_s, network_tx_bytes_per_s, process_cpu_percent,
                    process_resident_bytes
             FROM system_samples WHERE host = ?1 AND at_ms >= ?2 AND at_ms < ?3 ORDER BY at_ms",
        )?;
        let points = stmt
            .query_map(params![host, from_ms, to_ms], |row| {
                Ok(HostPoint {
                    at_ms: row.get(0)?,
                    cpu_percent: row.get(1)?,
                    memory_percent: row.get(2)?,
                    swap_percent: row.get(3)?,
                    disk_percent: row.get(4)?,
                    load_1: row.get(5)?,
                    network_rx_bytes_per_s: row.get(6)?,
                    network_tx_bytes_per_s: row.get(7)?,
                    process_cpu_percent: row.get(8)?,
                    process_resident_bytes: count(row.get(9)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(points)
    }

    fn write_host_rollup(
        &self,
        host: &str,
        hour_ms: i64,
        rollups: &[SeriesRollup],
    ) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "DELETE FROM system_rollups WHERE tier = ?1 AND bucket_ms = ?2 AND host = ?3",
        )?
        .execute(params![Tier::Hour.as_str(), hour_ms, host])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO system_rollups (tier, bucket_ms, host, series, count, sum, min, max,
                                         sketch)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for rollup in rollups {
            let sketch = &rollup.sketch;
            insert.execute(params![
                Tier::Hour.as_str(),
                hour_ms,
                host,
                rollup.series,
                saturating_i64(sketch.count()),
                sketch.sum(),
                sketch.min().unwrap_or_default(),
                sketch.max().unwrap_or_default(),
                sketch.to_bytes(),
            ])?;
        }
        drop(insert);
        tx.commit()?;
        Ok(())
    }

    fn host_rollups(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, Vec<SeriesRollup>)>, StoreError> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT bucket_ms, series, sketch FROM system_rollups
             WHERE tier = ?1 AND host = ?2 AND bucket_ms >= ?3 AND bucket_ms < ?4
             ORDER BY bucket_ms",
        )?;
        let mut rows = stmt.query(params![Tier::Hour.as_str(), host, from_ms, to_ms])?;
        let mut hours: Vec<(i64, Vec<SeriesRollup>)> = Vec::new();
        while let Some(row) = rows.next()? {
            let hour: i64 = row.get(0)?;
            let rollup = SeriesRollup {
                series: row.get(1)?,
                sketch: DdSketch::from_bytes(&row.get::<_, Vec<u8>>(2)?)?,
            };
            match hours.last_mut() {
                Some((last, rollups)) if *last == hour => rollups.push(rollup),
                _ => hours.push((hour, vec![rollup])),
            }
        }
        Ok(hours)
    }

    fn prune_rollups(&self, tier: Tier, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut deleted = 0;
        for table in super::ROLLUP_TABLES {
            deleted += tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE rowid IN \
                     (SELECT rowid FROM {table} WHERE tier = ?1 AND bucket_ms < ?2 LIMIT ?3)"
                ),
                params![tier.as_str(), before_ms, limit],
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

/// The group's statements, looked up in the connection's statement cache once per
/// transaction rather than once per event.
struct GroupStatements<'t> {
    page_view: CachedStatement<'t>,
    select_session: CachedStatement<'t>,
    insert_session: CachedStatement<'t>,
    select_page: CachedStatement<'t>,
    insert_page: CachedStatement<'t>,
    web_vital: CachedStatement<'t>,
    /// [`INSERT_FIRST_WEB_VITALS`], in the order of [`ROWS_PER_STATEMENT`].
    first_web_vitals: Vec<CachedStatement<'t>>,
    measured_at: CachedStatement<'t>,
    navigation: CachedStatement<'t>,
    activity: CachedStatement<'t>,
    /// The session and page view last written, with their ids: a batch is one session's, and
    /// its events mostly one page view's.
    last_session: Option<(String, String, i64)>,
    last_page: Option<(i64, String, i64)>,
    /// The minutes whose roll-ups the group changed.
    dirty_minutes: BTreeSet<i64>,
    /// The `(minute, session)` entries of `vital_minutes` the group's metrics need.
    vital_minutes: BTreeSet<(i64, i64)>,
}

impl<'t> GroupStatements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> Result<Self, StoreError> {
        Ok(Self {
            page_view: tx.prepare_cached(INSERT_PAGE_VIEW)?,
            select_session: tx.prepare_cached(SELECT_SESSION)?,
            insert_session: tx.prepare_cached(INSERT_SESSION)?,
            select_page: tx.prepare_cached(SELECT_PAGE)?,
            insert_page: tx.prepare_cached(INSERT_PAGE)?,
            web_vital: tx.prepare_cached(UPSERT_WEB_VITAL)?,
            first_web_vitals: INSERT_FIRST_WEB_VITALS
                .iter()
                .map(|sql| tx.prepare_cached(sql))
                .collect::<Result<_, _>>()?,
            measured_at: tx.prepare_cached(SELECT_MEASURED_AT)?,
            navigation: tx.prepare_cached(UPSERT_NAVIGATION)?,
            activity: tx.prepare_cached(UPSERT_SESSION_ACTIVITY)?,
            last_session: None,
            last_page: None,
            dirty_minutes: BTreeSet::new(),
            vital_minutes: BTreeSet::new(),
        })
    }

    /// Notes that a metric of `session` first measured at `at_ms` changed: its minute's
    /// roll-ups are recomputed, and the minute's entry in `vital_minutes` is made.
    fn vital_changed(&mut self, session: i64, at_ms: i64) {
        let minute = Tier::Minute.bucket_of(at_ms);
        self.dirty_minutes.insert(minute);
        self.vital_minutes.insert((minute, session));
    }

    /// Notes that backend calls dated `times` were written: their minutes' roll-ups are
    /// recomputed (a call already stored changes nothing there, and recomputing is idempotent).
    fn calls_written(&mut self, times: impl Iterator<Item = i64>) {
        self.dirty_minutes
            .extend(times.map(|at_ms| Tier::Minute.bucket_of(at_ms)));
    }

    /// Writes the group's time index entries, and marks the minutes the group changed for the
    /// roll-ups, in its transaction.
    fn finish(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let mut entry = tx.prepare_cached(INSERT_VITAL_MINUTE)?;
        for (minute, session) in &self.vital_minutes {
            entry.execute(params![minute, session])?;
        }
        let mut mark = tx.prepare_cached(MARK_DIRTY)?;
        for minute in &self.dirty_minutes {
            mark.execute(params![Tier::Minute.as_str(), minute])?;
        }
        Ok(())
    }

    /// Writes one batch's records. Every statement is idempotent by its table's key, so a
    /// redelivered event changes nothing.
    fn write_batch(&mut self, batch: &BrowserRecords) -> Result<StoreOutcome, StoreError> {
        let mut outcome = StoreOutcome::default();
        let mut first_reports = Vec::with_capacity(ROWS_PER_STATEMENT[0]);
        for record in &batch.records {
            match &record.body {
                EventBody::PageView(page_view) => {
                    let inserted = insert_page_view(
                        &mut self.page_view,
                        batch,
                        record,
                        page_view.navigation_type,
                    )?;
                    if inserted {
                        self.dirty_minutes
                            .insert(Tier::Minute.bucket_of(record.at_ms));
                    }
                }
                EventBody::WebVital(vital) => {
                    let session = self.session_id(batch, record.at_ms)?;
                    let page = self.page_id(session, record)?;
                    if vital.seq == 1 {
                        first_reports.push(Report {
                            session,
                            page,
                            record,
                            vital,
                        });
                        if first_reports.len() == ROWS_PER_STATEMENT[0] {
                            self.insert_first_reports(batch, &mut first_reports)?;
                        }
                    } else {
                        // After any first report of the same metric in this batch.
                        self.insert_first_reports(batch, &mut first_reports)?;
                        self.upsert_later_report(batch, (session, page), record, vital)?;
                    }
                }
                EventBody::Navigation(navigation) => {
                    upsert_navigation(&mut self.navigation, batch, record, navigation)?
                }
                // Stored as timings (`normalize::browser_timings`) and errors
                // (`normalize::browser_errors`).
                EventBody::ApiCall(_)
                | EventBody::Interaction(_)
                | EventBody::Measure(_)
                | EventBody::LongTask(_)
                | EventBody::LongAnimationFrame(_)
                | EventBody::Resource(_)
                | EventBody::Error(_) => {}
            }
            outcome.stored += 1;
        }
        self.insert_first_reports(batch, &mut first_reports)?;
        Ok(outcome)
    }

    /// Inserts metrics' first reports (`seq` 1), as many to a statement as
    /// [`ROWS_PER_STATEMENT`] allows: SQLite's cost per statement (binding, stepping,
    /// resetting) is most of the cost of a row this small. A row already there is this report
    /// again, or a later one, so it stays. The minutes of a statement's reports are marked for
    /// the roll-ups when any of its rows was new (recomputing a minute is idempotent), so a
    /// batch delivered again marks nothing.
    fn insert_first_reports(
        &mut self,
        batch: &BrowserRecords,
        reports: &mut Vec<Report<'_>>,
    ) -> Result<(), StoreError> {
        let rows: Vec<VitalRow<'_>> = reports.iter().map(|r| r.row(batch)).collect();
        let mut written = 0;
        for (statement, size) in ROWS_PER_STATEMENT.into_iter().enumerate() {
            while rows.len() - written >= size {
                let chunk = &rows[written..written + size];
                let values: Vec<&dyn rusqlite::ToSql> =
                    chunk.iter().flat_map(VitalRow::params).collect();
                if self.first_web_vitals[statement].execute(values.as_slice())? > 0 {
                    for row in chunk {
                        self.vital_changed(row.session, row.measured_at_ms);
                    }
                }
                written += size;
            }
        }
        reports.clear();
        Ok(())
    }

    /// A metric's later report (`seq` > 1): kept if its `seq` is the highest so far, its
    /// metric staying dated by the first report.
    fn upsert_later_report(
        &mut self,
        batch: &BrowserRecords,
        (session, page): (i64, i64),
        record: &Record,
        vital: &WebVital,
    ) -> Result<(), StoreError> {
        let report = Report {
            session,
            page,
            record,
            vital,
        };
        let row = report.row(batch);
        if self.web_vital.execute(row.params().as_slice())? == 1 {
            let measured_at: i64 = self
                .measured_at
                .query_row(params![session, vital.id], |row| row.get(0))?;
            self.vital_changed(session, measured_at);
        }
        Ok(())
    }
}

/// How many metrics' first reports one statement inserts: a statement for each, so that any
/// number of reports takes a few statements (50: 32 + 16 + 2).
const ROWS_PER_STATEMENT: [usize; 6] = [32, 16, 8, 4, 2, 1];

/// The columns of a `vitals` row.
const VITAL_COLUMNS: usize = 11;

/// A web vital report to write, with its session and page ids.
struct Report<'r> {
    session: i64,
    page: i64,
    record: &'r Record,
    vital: &'r WebVital,
}

impl<'r> Report<'r> {
    /// The report's `vitals` row.
    fn row(&self, batch: &'r BrowserRecords) -> VitalRow<'r> {
        let vital = self.vital;
        VitalRow {
            session: self.session,
            metric_id: &vital.id,
            page: self.page,
            name: vital.name.as_str(),
            value: vital.value,
            delta: vital.delta,
            seq: vital.seq,
            rating: match vital.name.rate(vital.value) {
                Rating::Good => 0,
                Rating::NeedsImprovement => 1,
                Rating::Poor => 2,
            },
            navigation_type: vital.navigation_type.map(NavigationType::as_str),
            measured_at_ms: self.record.at_ms,
            received_at_ms: batch.received_at_ms,
        }
    }
}

/// A `vitals` row's values, in column order.
struct VitalRow<'r> {
    session: i64,
    metric_id: &'r str,
    page: i64,
    name: &'static str,
    value: f64,
    delta: f64,
    seq: u32,
    rating: i64,
    navigation_type: Option<&'static str>,
    measured_at_ms: i64,
    received_at_ms: i64,
}

impl VitalRow<'_> {
    fn params(&self) -> [&dyn rusqlite::ToSql; VITAL_COLUMNS] {
        [
            &self.session,
            &self.metric_id,
            &self.page,
            &self.name,
            &self.value,
            &self.delta,
            &self.seq,
            &self.rating,
            &self.navigation_type,
            &self.measured_at_ms,
            &self.received_at_ms,
        ]
    }
}

impl GroupStatements<'_> {
    /// Notes when `batch`'s session was active, a row per minute.
    fn write_activity(&mut self, batch: &BrowserRecords) -> Result<(), StoreError> {
        let minutes = session_stats::activity(batch);
        let Some(first) = minutes.iter().map(|a| a.first_ms).min() else {
            return Ok(());
        };
        let session = self.session_id(batch, first)?;
        for a in minutes {
            self.activity.execute(params![
                session,
                a.minute_ms,
                a.first_ms,
                a.last_ms,
                batch.user_id
            ])?;
        }
        Ok(())
    }

    /// The `sessions` id of `batch`'s session, added (first seen at `at_ms`) when it has none
    /// yet.
    fn session_id(&mut self, batch: &BrowserRecords, at_ms: i64) -> Result<i64, StoreError> {
        if let Some((app, session_id, id)) = &self.last_session {
            if *app == batch.app && *session_id == batch.session_id {
                return Ok(*id);
            }
        }
        let id = select_or_insert(
            &mut self.select_session,
            params![batch.app, batch.session_id],
            &mut self.insert_session,
            params![batch.app, batch.session_id, at_ms],
        )?;
        self.last_session = Some((batch.app.clone(), batch.session_id.clone(), id));
        Ok(id)
    }

    /// The `pages` id of `record`'s page view in `session`, added with the record's URL and
    /// route when it has none yet.
    fn page_id(&mut self, session: i64, record: &Record) -> Result<i64, StoreError> {
        if let Some((last_session, page_view_id, id)) = &self.last_page {
            if *last_session == session && *page_view_id == record.page_view_id {
                return Ok(*id);
            }
        }
        let id = select_or_insert(
            &mut self.select_page,
            params![session, record.page_view_id],
            &mut self.insert_page,
            params![
                session,
                record.page_view_id,
                record.url,
                record.route,
                record.at_ms
            ],
        )?;
        self.last_page = Some((session, record.page_view_id.clone(), id));
        Ok(id)
    }
}

/// The call series of the dimensions asked, of `tier`'s buckets in `[from_ms, to_ms)`.
fn read_call_series(
    conn: &Connection,
    tier: Tier,
    from_ms: i64,
    to_ms: i64,
    api: &[ApiDimension],
    ai: &[AiDimension],
) -> Result<(Vec<ApiSeries>, Vec<AiSeries>), StoreError> {
    let mut api_series = Vec::new();
    let mut stmt = conn.prepare_cached(READ_API_ROLLUPS)?;
    for &dimension in api {
        let mut rows = stmt.query(params![tier.as_str(), dimension.as_str(), from_ms, to_ms])?;
        while let Some(row) = rows.next()? {
            api_series.push(ApiSeries {
                dimension,
                key: row.get(0)?,
                aggregate: ApiAggregate {
                    count: count(row.get(1)?),
                    server_errors: count(row.get(2)?),
                    errors: count(row.get(3)?),
                    latency: DdSketch::from_bytes(&row.get::<_, Vec<u8>>(4)?)?,
                },
            });
        }
    }
    let mut ai_series = Vec::new();
    let mut stmt = conn.prepare_cached(READ_AI_ROLLUPS)?;
    for &dimension in ai {
        let mut rows = stmt.query(params![tier.as_str(), dimension.as_str(), from_ms, to_ms])?;
        while let Some(row) = rows.next()? {
            ai_series.push(AiSeries {
                dimension,
                key: row.get(0)?,
                aggregate: AiAggregate {
                    calls: count(row.get(1)?),
                    succeeded: count(row.get(2)?),
                    tokens: Tokens {
                        input: count(row.get(3)?),
                        output: count(row.get(4)?),
                        cached_input: count(row.get(5)?),
                        cache_write: count(row.get(6)?),
                        reasoning: count(row.get(7)?),
                    },
                    cost: Cost {
                        cost_usd: row.get(8)?,
                        computed_cost_usd: row.get(9)?,
                        sent_cost_usd: row.get(10)?,
                        computed_calls: count(row.get(11)?),
                        sent_only_calls: count(row.get(12)?),
                        unpriced_calls: count(row.get(13)?),
                    },
                    latency: DdSketch::from_bytes(&row.get::<_, Vec<u8>>(14)?)?,
                },
            });
        }
    }
    Ok((api_series, ai_series))
}

/// Inserts `rollup`'s call series as bucket `bucket` of `tier` (already emptied).
fn write_call_series(
    tx: &Transaction<'_>,
    tier: &str,
    bucket: i64,
    rollup: &Rollup,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO rollup_api_calls (tier, dimension, bucket_ms, key, count, server_errors,
                                       errors, latency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for series in &rollup.api_calls {
        let a = &series.aggregate;
        insert.execute(params![
            tier,
            series.dimension.as_str(),
            bucket,
            series.key,
            saturating_i64(a.count),
            saturating_i64(a.server_errors),
            saturating_i64(a.errors),
            a.latency.to_bytes(),
        ])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO rollup_ai_calls (tier, dimension, bucket_ms, key, calls, succeeded,
             input_tokens, output_tokens, cached_input_tokens, cache_write_tokens,
             reasoning_tokens, cost_usd, computed_cost_usd, sent_cost_usd, computed_calls,
             sent_only_calls, unpriced_calls, latency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for series in &rollup.ai_calls {
        let (a, t, c) = (
            &series.aggregate,
            &series.aggregate.tokens,
            &series.aggregate.cost,
        );
        insert.execute(params![
            tier,
            series.dimension.as_str(),
            bucket,
            series.key,
            saturating_i64(a.calls),
            saturating_i64(a.succeeded),
            saturating_i64(t.input),
            saturating_i64(t.output),
            saturating_i64(t.cached_input),
            saturating_i64(t.cache_write),
            saturating_i64(t.reasoning),
            c.cost_usd,
            c.computed_cost_usd,
            c.sent_cost_usd,
            saturating_i64(c.computed_calls),
            saturating_i64(c.sent_only_calls),
            saturating_i64(c.unpriced_calls),
            a.latency.to_bytes(),
        ])?;
    }
    Ok(())
}

/// The id `select` finds, or the rowid of the row `insert` adds when it finds none.
fn select_or_insert(
    select: &mut CachedStatement<'_>,
    key: &[&dyn rusqlite::ToSql],
    insert: &mut CachedStatement<'_>,
    row: &[&dyn rusqlite::ToSql],
) -> Result<i64, StoreError> {
    match select.query_row(key, |found| found.get(0)) {
        Ok(id) => Ok(id),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(insert.insert(row)?),
        Err(error) => Err(error.into()),
    }
}

/// Writes browser timings; one already stored (same app, session and event id) stays as it is.
fn write_timings(
    tx: &Transaction<'_>,
    timings: &[TimingRecord],
) -> Result<StoreOutcome, StoreError> {
    let mut stmt = tx.prepare_cached(INSERT_TIMING)?;
    for t in timings {
        stmt.execute(params![
            t.kind.as_str(),
            t.app,
            t.session_id,
            t.event_id,
            t.page_view_id,
            t.name,
            t.detail,
            t.status,
            t.failed,
            t.duration_ms,
            t.blocking_ms,
            t.script_ms,
            // Validated: at most 2^53 - 1.
            t.transfer_size
                .map(|size| i64::try_from(size).unwrap_or(i64::MAX)),
            t.user_id,
            t.at_ms,
            t.received_at_ms,
            t.trace_id,
        ])?;
    }
    Ok(StoreOutcome {
        stored: timings.len(),
    })
}

/// Writes browser errors; one already stored (same app, session and event id) stays as it is.
fn write_errors(tx: &Transaction<'_>, errors: &[ErrorRecord]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(INSERT_ERROR)?;
    for e in errors {
        stmt.execute(params![
            e.app,
            e.session_id,
            e.event_id,
            e.page_view_id,
            e.url,
            e.route,
            e.release,
            e.user_id,
            e.kind,
            e.name,
            e.message,
            e.stack,
            e.component_stack,
            e.at_ms,
            e.received_at_ms,
        ])?;
    }
    Ok(())
}

/// Writes API call records; one already stored (same service and event id) stays as it is.
fn write_api_calls(
    tx: &Transaction<'_>,
    calls: &[ApiCallRecord],
) -> Result<StoreOutcome, StoreError> {
    let mut stmt = tx.prepare_cached(INSERT_API_CALL)?;
    for call in calls {
        stmt.execute(params![
            call.service,
            call.event_id,
            call.endpoint,
            call.method,
            call.status,
            call.duration_ms,
            call.user_id,
            call.trace_id,
            call.at_ms,
            call.received_at_ms,
        ])?;
    }
    Ok(StoreOutcome {
        stored: calls.len(),
    })
}

/// Writes AI call records; one already stored (same service and event id) stays as it is.
fn write_ai_calls(
    tx: &Transaction<'_>,
    calls: &[AiCallRecord],
) -> Result<StoreOutcome, StoreError> {
    let mut stmt = tx.prepare_cached(INSERT_AI_CALL)?;
    for call in calls {
        stmt.execute(params![
            call.service,
            call.event_id,
            call.model,
            call.provider,
            call.operation,
            call.input_tokens,
            call.output_tokens,
            call.cached_input_tokens,
            call.cache_write_tokens,
            call.reasoning_tokens,
            call.duration_ms,
            call.success,
            call.error_type,
            call.user_id,
            call.trace_id,
            call.sent_cost_usd,
            call.computed_cost_usd,
            call.at_ms,
            call.received_at_ms,
        ])?;
    }
    Ok(StoreOutcome {
        stored: calls.len(),
    })
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
    stmt: &mut CachedStatement<'_>,
    batch: &BrowserRecords,
    record: &Record,
    navigation_type: Option<NavigationType>,
) -> Result<bool, StoreError> {
    let inserted = stmt.execute(params![
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
    Ok(inserted == 1)
}

fn upsert_navigation(
    stmt: &mut CachedStatement<'_>,
    batch: &BrowserRecords,
    record: &Record,
    nav: &Navigation,
) -> Result<(), StoreError> {
    stmt.execute(params![
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
        nav.request,
    ])?;
    Ok(())
}

/// A stored count (never negative when this collector wrote it).
fn count(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or_default()
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
        assert_eq!(sync, 1, "synchronous = NORMAL: Store::sync flushes the WAL");
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
            store.write_group(&[&Batch::from(batch.clone())]).unwrap(),
            [StoreOutcome { stored: 3 }]
        );
        // The same batch twice in one group, then again: each event is kept once.
        store
            .write_group(&[&Batch::from(batch.clone()), &Batch::from(batch.clone())])
            .unwrap();
        store.write_group(&[&Batch::from(batch.clone())]).unwrap();
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
        store.write_group(&[&Batch::from(early.clone())]).unwrap();
        store.write_group(&[&Batch::from(full.clone())]).unwrap();
        assert_eq!(load(&store), (13.0, Some(480.0)));
        // The early report delivered again, late: it changes nothing.
        store.write_group(&[&Batch::from(early.clone())]).unwrap();
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
        store.write_group(&[&Batch::from(batch.clone())]).unwrap();
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
