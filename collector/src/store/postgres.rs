//! The PostgreSQL store: one database that several collectors may share
//! (`--store postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`).
//!
//! The same schema, migrations and rules as [`super::sqlite`] (an event with an `event_id` stored
//! once per `(app, session_id, event_id)`, a web vital kept at its highest `seq`, a navigation
//! replaced by a later report of its page view, a page view inserted once), in PostgreSQL types:
//! `DOUBLE PRECISION` for SQLite's `REAL`, `BIGINT` for times (epoch ms), sizes and `seq`. One
//! difference: `TEXT` cannot hold U+0000, which JSON allows, so it is stored as U+FFFD (a
//! batch carrying one would otherwise fail on every retry).
//!
//! Connections: an [`r2d2`] pool of synchronous [`postgres`] clients (default
//! [`DEFAULT_POOL_SIZE`]). The writer thread takes one per group; reads take others from
//! actix's blocking pool. Each pooled connection prepares its statements once and keeps them
//! (`prepare_cached`).
//!
//! Group write: one transaction per [`Store::write_group`] and one statement per table, whatever
//! the number of batches. Each statement is a multi-row `INSERT ... SELECT * FROM unnest($1,
//! $2, ...)` over one array parameter per column, so its text (and prepared plan) is the same for
//! 1 row or 51 200 and it never meets PostgreSQL's 65 535-parameter limit. The rows are reduced
//! first to what the SQLite store would have left after writing them one by one (PostgreSQL's
//! `ON CONFLICT DO UPDATE` may not touch a row twice in one statement), and sorted by key so
//! that two collectors writing the same keys lock them in the same order.
//!
//! Durability: a commit returns once PostgreSQL has flushed its WAL, with PostgreSQL's default
//! `synchronous_commit = on` (and `fsync = on`): a batch the collector acknowledged survives
//! the collector being killed and the database server crashing or losing power (on a disk that
//! honours fsync). With `synchronous_commit = off` on the server a crash of the *server* may
//! lose the last commits; the store logs a warning at start-up when it finds that, or `fsync`
//! off.
//!
//! Migrations: numbered as SQLite's, each applied at open in its own transaction, the version in
//! the one-row table `perfwatch_schema`. Each migration transaction first takes the
//! transaction-scoped advisory lock [`MIGRATION_LOCK`], so collectors starting together on one
//! database migrate it once, one after the other.
//!
//! Roll-ups ([`crate::rollup`]): the group's transaction also marks, in `rollup_dirty`, the
//! minute of every page view it inserted and of every web vital it inserted or updated (read
//! with `RETURNING`; a web vital stays dated by its first report). Of several collectors on one
//! database, the one holding the session advisory lock [`ROLLUP_LOCK`] rolls up; the others
//! skip their pass. The lock is held on a pooled connection for the whole pass, which also
//! takes others: a pool of one connection cannot roll up.
//!
//! TLS: not supported yet (connections are made without TLS; `sslmode=prefer`, the default,
//! falls back to plain TCP and `sslmode=require` fails).

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{mpsc, LazyLock};
use std::time::Duration;

use perfwatch_protocol::{EventBody, Navigation, NavigationType, VitalName, WebVital};
use postgres::{Client, GenericClient, NoTls, Statement};
use r2d2::{HandleError, ManageConnection, Pool, PooledConnection};
use thiserror::Error;

use std::io::Write;
use std::path::Path;

use postgres::types::Type;

use super::{
    export, labels_from_json, labels_to_json, limit_beyond, matchers_from_json, matchers_to_json,
    ActiveCounts, ErrorRow, ErrorSample, LeaderLock, Store, StoreError, StoreOutcome, TimingRow,
    VitalRows, VitalSample, ERROR_ROW_COLUMNS, TIMING_ROW_COLUMNS,
};
use crate::alerts::model::{Alert, AlertState, Silence, SEVERITY};
use crate::backend_stats::{AiAggregate, AiCallRow, ApiAggregate, ApiCallRow, Cost, Tokens};
use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::config::{redact_url, scrub_secrets};
use crate::host_history::{HostPoint, SeriesRollup};
use crate::normalize::{
    self, AiCallRecord, ApiCallRecord, Batch, BrowserRecords, ErrorRecord, Record, TimingKind,
    TimingRecord,
};
use crate::rollup::{
    self, DirtyBucket, PageViewSeries, RawMinute, RawPageView, RawVital, Rollup, RollupLock, Tier,
    VitalSeries,
};
use crate::session_stats::{self, SessionPoint};
use crate::sketch::{DdSketch, Hll};
use postgres::fallible_iterator::FallibleIterator;

/// The schema version this collector writes: the number of [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Connections in the pool by default.
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// The advisory lock (`pg_advisory_xact_lock`) every migration transaction takes first: the
/// bytes of "perfwatc".
pub const MIGRATION_LOCK: i64 = 0x7065_7266_7761_7463;

/// The session advisory lock (`pg_try_advisory_lock`) held by the one collector that rolls up
/// ([`Store::try_lock_rollups`]): the bytes of "pwrollup". It lives in the database's
/// advisory-lock key space, next to [`MIGRATION_LOCK`], so collectors sharing a database
/// exclude each other and collectors of other databases do not.
pub const ROLLUP_LOCK: i64 = 0x7077_726f_6c6c_7570;

/// The session advisory lock held by the one collector that evaluates alert rules
/// ([`Store::try_lock_alerts`]): the bytes of "pwalerts".
pub const ALERT_LOCK: i64 = 0x7077_616c_6572_7473;

/// Schema version 1, as SQLite's (times are epoch ms on the collector's clock).
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
    started_at_ms   BIGINT NOT NULL,
    received_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (app, session_id, page_view_id)
);
CREATE INDEX IF NOT EXISTS page_views_by_start ON page_views (started_at_ms);

-- One row per metric instance (web-vitals' `id`), holding its report with the highest `seq`.
CREATE TABLE IF NOT EXISTS web_vitals (
    app             TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    page_view_id    TEXT NOT NULL,
    metric_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    delta           DOUBLE PRECISION NOT NULL,
    seq             BIGINT NOT NULL,
    rating          TEXT NOT NULL,
    navigation_type TEXT,
    url             TEXT NOT NULL,
    route           TEXT,
    measured_at_ms  BIGINT NOT NULL,
    received_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (app, session_id, metric_id)
);
CREATE INDEX IF NOT EXISTS web_vitals_by_measured ON web_vitals (measured_at_ms);

-- The navigation timing of a page load; a later report for the same page view replaces it.
CREATE TABLE IF NOT EXISTS navigations (
    app                   TEXT NOT NULL,
    session_id            TEXT NOT NULL,
    page_view_id          TEXT NOT NULL,
    url                   TEXT NOT NULL,
    route                 TEXT,
    navigation_type       TEXT,
    protocol              TEXT,
    redirect_ms           DOUBLE PRECISION,
    dns_ms                DOUBLE PRECISION,
    connect_ms            DOUBLE PRECISION,
    tls_ms                DOUBLE PRECISION,
    ttfb_ms               DOUBLE PRECISION,
    download_ms           DOUBLE PRECISION,
    dom_interactive_ms    DOUBLE PRECISION,
    dom_content_loaded_ms DOUBLE PRECISION,
    dom_complete_ms       DOUBLE PRECISION,
    load_ms               DOUBLE PRECISION,
    transfer_size         BIGINT,
    encoded_body_size     BIGINT,
    decoded_body_size     BIGINT,
    started_at_ms         BIGINT NOT NULL,
    received_at_ms        BIGINT NOT NULL,
    PRIMARY KEY (app, session_id, page_view_id)
);
CREATE INDEX IF NOT EXISTS navigations_by_start ON navigations (started_at_ms);

-- Events already stored, by the id the SDK gave them.
CREATE TABLE IF NOT EXISTS seen_events (
    app            TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (app, session_id, event_id)
);
";

/// Migration 2: retention will prune `seen_events` by age.
const SCHEMA_V2: &str = "
CREATE INDEX IF NOT EXISTS seen_events_by_received ON seen_events (received_at_ms);
";

/// Migration 3, as SQLite's: no table of remembered event ids (every event kind is idempotent
/// by its own key), and a navigation row records how complete it is.
const SCHEMA_V3: &str = "
DROP TABLE IF EXISTS seen_events;
ALTER TABLE navigations ADD COLUMN IF NOT EXISTS completeness INTEGER NOT NULL DEFAULT 0;
";

/// Migration 4, as SQLite's: the roll-up tiers ([`crate::rollup`]) and the marks of buckets to
/// recompute. Sketches are their canonical encodings ([`DdSketch::to_bytes`],
/// [`Hll::to_bytes`]).
const SCHEMA_V4: &str = "
CREATE TABLE IF NOT EXISTS rollup_vitals (
    tier              TEXT NOT NULL,
    bucket_ms         BIGINT NOT NULL,
    app               TEXT NOT NULL,
    page              TEXT NOT NULL,
    name              TEXT NOT NULL,
    count             BIGINT NOT NULL,
    sum               DOUBLE PRECISION NOT NULL,
    good              BIGINT NOT NULL,
    needs_improvement BIGINT NOT NULL,
    poor              BIGINT NOT NULL,
    sketch            BYTEA NOT NULL,
    PRIMARY KEY (tier, bucket_ms, app, page, name)
);
CREATE TABLE IF NOT EXISTS rollup_page_views (
    tier      TEXT NOT NULL,
    bucket_ms BIGINT NOT NULL,
    app       TEXT NOT NULL,
    page      TEXT NOT NULL,
    count     BIGINT NOT NULL,
    sessions  BYTEA NOT NULL,
    users     BYTEA NOT NULL,
    PRIMARY KEY (tier, bucket_ms, app, page)
);
CREATE TABLE IF NOT EXISTS rollup_dirty (
    id        BIGSERIAL PRIMARY KEY,
    tier      TEXT NOT NULL,
    bucket_ms BIGINT NOT NULL
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

/// Migration 5, as SQLite's: the host's samples and their hourly roll-ups, per host.
const SCHEMA_V5: &str = "
CREATE TABLE IF NOT EXISTS system_samples (
    host                   TEXT NOT NULL,
    at_ms                  BIGINT NOT NULL,
    cpu_percent            DOUBLE PRECISION,
    memory_percent         DOUBLE PRECISION NOT NULL,
    swap_percent           DOUBLE PRECISION NOT NULL,
    disk_percent           DOUBLE PRECISION,
    load_1                 DOUBLE PRECISION,
    network_rx_bytes_per_s DOUBLE PRECISION NOT NULL,
    network_tx_bytes_per_s DOUBLE PRECISION NOT NULL,
    process_cpu_percent    DOUBLE PRECISION,
    process_resident_bytes BIGINT NOT NULL,
    PRIMARY KEY (host, at_ms)
);
CREATE INDEX IF NOT EXISTS system_samples_by_time ON system_samples (at_ms);
CREATE TABLE IF NOT EXISTS system_rollups (
    tier      TEXT NOT NULL,
    bucket_ms BIGINT NOT NULL,
    host      TEXT NOT NULL,
    series    TEXT NOT NULL,
    count     BIGINT NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sketch    BYTEA NOT NULL,
    PRIMARY KEY (tier, bucket_ms, host, series)
);
";

/// Migration 6: backend records, as SQLite's migration 7 (NULL event ids never conflict).
const SCHEMA_V6: &str = "
CREATE TABLE IF NOT EXISTS api_calls (
    service        TEXT NOT NULL,
    event_id       TEXT,
    endpoint       TEXT NOT NULL,
    method         TEXT NOT NULL,
    status         INTEGER NOT NULL,
    duration_ms    DOUBLE PRECISION NOT NULL,
    user_id        TEXT,
    trace_id       TEXT,
    at_ms          BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_calls_by_event ON api_calls (service, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS api_calls_by_time ON api_calls (at_ms);
CREATE TABLE IF NOT EXISTS ai_calls (
    service             TEXT NOT NULL,
    event_id            TEXT,
    model               TEXT NOT NULL,
    provider            TEXT,
    operation           TEXT,
    input_tokens        BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    cache_write_tokens  BIGINT NOT NULL,
    reasoning_tokens    BIGINT NOT NULL,
    duration_ms         DOUBLE PRECISION NOT NULL,
    success             BOOLEAN NOT NULL,
    error_type          TEXT,
    user_id             TEXT,
    trace_id            TEXT,
    sent_cost_usd       DOUBLE PRECISION,
    computed_cost_usd   DOUBLE PRECISION,
    at_ms               BIGINT NOT NULL,
    received_at_ms      BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ai_calls_by_event ON ai_calls (service, event_id)
    WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ai_calls_by_time ON ai_calls (at_ms);
";

/// Backend API calls, many rows to a statement, once per `(service, event_id)`.
const INSERT_API_CALLS: &str = "
INSERT INTO api_calls (service, event_id, endpoint, method, status, duration_ms, user_id,
                       trace_id, at_ms, received_at_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[],
                     $6::float8[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])
ON CONFLICT (service, event_id) WHERE event_id IS NOT NULL DO NOTHING";

/// AI model calls, many rows to a statement, once per `(service, event_id)`.
const INSERT_AI_CALLS: &str = "
INSERT INTO ai_calls (service, event_id, model, provider, operation, input_tokens,
    output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, duration_ms,
    success, error_type, user_id, trace_id, sent_cost_usd, computed_cost_usd, at_ms,
    received_at_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                     $11::float8[], $12::bool[], $13::text[], $14::text[], $15::text[],
                     $16::float8[], $17::float8[], $18::bigint[], $19::bigint[])
ON CONFLICT (service, event_id) WHERE event_id IS NOT NULL DO NOTHING";

/// Migration 7: when each browser session was active, a row per session and minute
/// ([`crate::session_stats`]), filled from the page views already stored.
const SCHEMA_V7: &str = "
CREATE TABLE IF NOT EXISTS session_activity (
    app        TEXT NOT NULL,
    session_id TEXT NOT NULL,
    minute_ms  BIGINT NOT NULL,
    first_ms   BIGINT NOT NULL,
    last_ms    BIGINT NOT NULL,
    user_id    TEXT,
    PRIMARY KEY (app, session_id, minute_ms)
);
CREATE INDEX IF NOT EXISTS session_activity_by_minute ON session_activity (minute_ms);
INSERT INTO session_activity (app, session_id, minute_ms, first_ms, last_ms, user_id)
SELECT app, session_id, (started_at_ms / 60000) * 60000, MIN(started_at_ms), MAX(started_at_ms),
       MAX(user_id)
FROM page_views GROUP BY 1, 2, 3
ON CONFLICT DO NOTHING;
";

/// Migration 8: roll-ups of API and AI calls ([`crate::call_rollup`]), keyed so that one
/// dimension of a range of buckets is one range of the key, with a `(tier, bucket_ms)` index
/// for pruning; the minutes already holding calls are marked for the roller.
const SCHEMA_V8: &str = "
CREATE TABLE IF NOT EXISTS rollup_api_calls (
    tier          TEXT NOT NULL,
    dimension     TEXT NOT NULL,
    bucket_ms     BIGINT NOT NULL,
    key           TEXT NOT NULL,
    count         BIGINT NOT NULL,
    server_errors BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    latency       BYTEA NOT NULL,
    PRIMARY KEY (tier, dimension, bucket_ms, key)
);
CREATE INDEX IF NOT EXISTS rollup_api_calls_by_bucket ON rollup_api_calls (tier, bucket_ms);
CREATE TABLE IF NOT EXISTS rollup_ai_calls (
    tier                TEXT NOT NULL,
    dimension           TEXT NOT NULL,
    bucket_ms           BIGINT NOT NULL,
    key                 TEXT NOT NULL,
    calls               BIGINT NOT NULL,
    succeeded           BIGINT NOT NULL,
    input_tokens        BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    cache_write_tokens  BIGINT NOT NULL,
    reasoning_tokens    BIGINT NOT NULL,
    cost_usd            DOUBLE PRECISION NOT NULL,
    computed_cost_usd   DOUBLE PRECISION NOT NULL,
    sent_cost_usd       DOUBLE PRECISION NOT NULL,
    computed_calls      BIGINT NOT NULL,
    sent_only_calls     BIGINT NOT NULL,
    unpriced_calls      BIGINT NOT NULL,
    latency             BYTEA NOT NULL,
    PRIMARY KEY (tier, dimension, bucket_ms, key)
);
CREATE INDEX IF NOT EXISTS rollup_ai_calls_by_bucket ON rollup_ai_calls (tier, bucket_ms);
INSERT INTO rollup_dirty (tier, bucket_ms)
SELECT 'minute', minute FROM (
    SELECT DISTINCT (at_ms / 60000) * 60000 AS minute FROM api_calls
    UNION
    SELECT DISTINCT (at_ms / 60000) * 60000 FROM ai_calls
) AS history;
";

/// Migration 9: what browsers timed of their own API calls and interactions, once per
/// `(app, session_id, event_id)` (SQLite's migration 10).
const SCHEMA_V9: &str = "
CREATE TABLE IF NOT EXISTS browser_timings (
    kind           TEXT NOT NULL,
    app            TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    event_id       TEXT,
    page_view_id   TEXT NOT NULL,
    name           TEXT NOT NULL,
    status         INTEGER,
    failed         BOOLEAN NOT NULL,
    duration_ms    DOUBLE PRECISION NOT NULL,
    user_id        TEXT,
    at_ms          BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS browser_timings_by_event
    ON browser_timings (app, session_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS browser_timings_by_time ON browser_timings (at_ms);
";

/// Migration 10: room in `browser_timings` for long tasks, long animation frames and resources
/// (SQLite's migration 11).
const SCHEMA_V10: &str = "
ALTER TABLE browser_timings ADD COLUMN IF NOT EXISTS detail TEXT;
ALTER TABLE browser_timings ADD COLUMN IF NOT EXISTS blocking_ms DOUBLE PRECISION;
ALTER TABLE browser_timings ADD COLUMN IF NOT EXISTS script_ms DOUBLE PRECISION;
ALTER TABLE browser_timings ADD COLUMN IF NOT EXISTS transfer_size BIGINT;
";

/// Migration 11: the navigation's request phase (SQLite's migration 12).
const SCHEMA_V11: &str =
    "ALTER TABLE navigations ADD COLUMN IF NOT EXISTS request_ms DOUBLE PRECISION;";

/// Migration 12: a browser API call's W3C trace id (SQLite's migration 13).
const SCHEMA_V12: &str = "ALTER TABLE browser_timings ADD COLUMN IF NOT EXISTS trace_id TEXT;";

/// Migration 13: the errors pages report, once per `(app, session_id, event_id)` (SQLite's
/// migration 14).
const SCHEMA_V13: &str = "
CREATE TABLE IF NOT EXISTS browser_errors (
    id              BIGSERIAL PRIMARY KEY,
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
    at_ms           BIGINT NOT NULL,
    received_at_ms  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS browser_errors_by_event
    ON browser_errors (app, session_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS browser_errors_by_time ON browser_errors (at_ms);
";

/// Migration 14: alert episodes and silences (SQLite's migration 15).
const SCHEMA_V14: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint   TEXT NOT NULL,
    active_at_ms  BIGINT NOT NULL,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    state         TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    value         DOUBLE PRECISION,
    starts_at_ms  BIGINT,
    ends_at_ms    BIGINT,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (fingerprint, active_at_ms)
);
CREATE INDEX IF NOT EXISTS alerts_by_update ON alerts (updated_at_ms);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (state) WHERE state <> 'resolved';
CREATE TABLE IF NOT EXISTS silences (
    id            TEXT PRIMARY KEY,
    matchers      TEXT NOT NULL,
    starts_at_ms  BIGINT NOT NULL,
    ends_at_ms    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    comment       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS silences_by_end ON silences (ends_at_ms);
";

/// Migration 15: the audit log of administrative actions, and the indexes erasure finds a
/// user's rows by (SQLite's migration 16).
const SCHEMA_V15: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at_ms  BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (at_ms);
CREATE INDEX IF NOT EXISTS session_activity_by_user ON session_activity (user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS page_views_by_user ON page_views (user_id) WHERE user_id IS NOT NULL;
";

/// An alert episode, updated in place while it lasts.
const UPSERT_ALERT: &str = "
INSERT INTO alerts (fingerprint, active_at_ms, rule, severity, state, labels, annotations, value,
                    starts_at_ms, ends_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (fingerprint, active_at_ms) DO UPDATE SET
    state = excluded.state, labels = excluded.labels, annotations = excluded.annotations,
    value = excluded.value, starts_at_ms = excluded.starts_at_ms,
    ends_at_ms = excluded.ends_at_ms, updated_at_ms = excluded.updated_at_ms";

/// Migration 16: the erasure count ([`Store::erasure_generation`]), one row (SQLite's
/// migration 17).
const SCHEMA_V16: &str = "
CREATE TABLE IF NOT EXISTS erasures (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO erasures (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
";

/// The schema's history, oldest first: migration `n` (1-based) brings a database from version
/// `n - 1` to `n`. Never edit a released entry; append a new one (and SQLite's alike).
pub const MIGRATIONS: [&str; 16] = [
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9, SCHEMA_V10, SCHEMA_V11, SCHEMA_V12, SCHEMA_V13, SCHEMA_V14, SCHEMA_V15, SCHEMA_V16,
];

/// The browser timings dated in `[$1, $2)`, as [`TimingRow`]s.
static SELECT_TIMINGS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {TIMING_ROW_COLUMNS} FROM browser_timings WHERE at_ms >= $1 AND at_ms < $2")
});

/// Browser timings, many rows to a statement, once per `(app, session_id, event_id)`.
const INSERT_TIMINGS: &str = "
INSERT INTO browser_timings (kind, app, session_id, event_id, page_view_id, name, detail, status,
                             failed, duration_ms, blocking_ms, script_ms, transfer_size, user_id,
                             at_ms, received_at_ms, trace_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::int[], $9::bool[], $10::float8[], $11::float8[],
                     $12::float8[], $13::bigint[], $14::text[], $15::bigint[], $16::bigint[],
                     $17::text[])
ON CONFLICT (app, session_id, event_id) WHERE event_id IS NOT NULL DO NOTHING";

/// The browser errors dated in `[$1, $2)`, as [`ErrorRow`]s.
static SELECT_ERRORS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {ERROR_ROW_COLUMNS} FROM browser_errors WHERE at_ms >= $1 AND at_ms < $2")
});

/// Browser errors, many rows to a statement, once per `(app, session_id, event_id)`.
const INSERT_ERRORS: &str = "
INSERT INTO browser_errors (app, session_id, event_id, page_view_id, url, route, release,
                            user_id, kind, name, message, stack, component_stack, at_ms,
                            received_at_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                     $12::text[], $13::text[], $14::bigint[], $15::bigint[])
ON CONFLICT (app, session_id, event_id) WHERE event_id IS NOT NULL DO NOTHING";

const SELECT_ROLLUP_API_CALLS: &str = "
SELECT key, count, server_errors, errors, latency FROM rollup_api_calls
WHERE tier = $1 AND dimension = $2 AND bucket_ms >= $3 AND bucket_ms < $4";

const SELECT_ROLLUP_AI_CALLS: &str = "
SELECT key, calls, succeeded, input_tokens, output_tokens, cached_input_tokens,
       cache_write_tokens, reasoning_tokens, cost_usd, computed_cost_usd, sent_cost_usd,
       computed_calls, sent_only_calls, unpriced_calls, latency
FROM rollup_ai_calls
WHERE tier = $1 AND dimension = $2 AND bucket_ms >= $3 AND bucket_ms < $4";

const DELETE_ROLLUP_API_CALLS: &str =
    "DELETE FROM rollup_api_calls WHERE tier = $1 AND bucket_ms = $2";

const DELETE_ROLLUP_AI_CALLS: &str =
    "DELETE FROM rollup_ai_calls WHERE tier = $1 AND bucket_ms = $2";

const INSERT_ROLLUP_API_CALLS: &str = "
INSERT INTO rollup_api_calls (tier, bucket_ms, dimension, key, count, server_errors, errors,
                              latency)
SELECT $1::text, $2::bigint, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[],
                                           $7::bigint[], $8::bytea[])";

const INSERT_ROLLUP_AI_CALLS: &str = "
INSERT INTO rollup_ai_calls (tier, bucket_ms, dimension, key, calls, succeeded, input_tokens,
    output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd,
    computed_cost_usd, sent_cost_usd, computed_calls, sent_only_calls, unpriced_calls, latency)
SELECT $1::text, $2::bigint, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[],
    $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::float8[],
    $13::float8[], $14::float8[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bytea[])";

/// Sessions' activity per minute, many rows to a statement (one per key: the writer merges
/// a group's rows first), merged with what is already there. Rows come sorted by key, so two
/// collectors upserting the same rows lock them in the same order.
const UPSERT_SESSION_ACTIVITY: &str = "
INSERT INTO session_activity (app, session_id, minute_ms, first_ms, last_ms, user_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                     $6::text[])
ON CONFLICT (app, session_id, minute_ms) DO UPDATE SET
    first_ms = LEAST(session_activity.first_ms, EXCLUDED.first_ms),
    last_ms = GREATEST(session_activity.last_ms, EXCLUDED.last_ms),
    user_id = COALESCE(EXCLUDED.user_id, session_activity.user_id)";

/// The activity and page views of every session active in `[$1, $2)` (minutes), ordered by
/// session and time (SQLite's `SESSION_POINTS`).
const SESSION_POINTS: &str = "
WITH active AS (SELECT DISTINCT app, session_id FROM session_activity
                WHERE minute_ms >= $1 AND minute_ms < $2)
SELECT a.app, a.session_id, a.first_ms, a.last_ms, 0, a.user_id
FROM session_activity a JOIN active USING (app, session_id)
UNION ALL
SELECT p.app, p.session_id, p.started_at_ms, p.started_at_ms, 1, p.user_id
FROM page_views p JOIN active USING (app, session_id)
ORDER BY 1, 2, 3";

/// Sessions active since `$2` (its minute `$1`), those without a user, and the distinct users
/// of active sessions and backend calls (SQLite's `ACTIVE_USERS`).
const ACTIVE_USERS: &str = "
SELECT
  (SELECT COUNT(*) FROM (SELECT 1 FROM session_activity
                         WHERE minute_ms >= $1 AND last_ms >= $2 GROUP BY app, session_id) s),
  (SELECT COUNT(*) FROM (SELECT 1 FROM session_activity
                         WHERE minute_ms >= $1 AND last_ms >= $2 GROUP BY app, session_id
                         HAVING MAX(user_id) IS NULL) a),
  (SELECT COUNT(*) FROM (
      SELECT user_id FROM session_activity
      WHERE minute_ms >= $1 AND last_ms >= $2 AND user_id IS NOT NULL
      UNION SELECT user_id FROM api_calls WHERE at_ms >= $2 AND user_id IS NOT NULL
      UNION SELECT user_id FROM ai_calls WHERE at_ms >= $2 AND user_id IS NOT NULL) u)";

/// The version table: one row, created by the first migration transaction.
const VERSION_TABLE: &str = "
CREATE TABLE IF NOT EXISTS perfwatch_schema (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    version   BIGINT NOT NULL CHECK (version >= 0)
);
";

const SELECT_VERSION: &str = "SELECT version FROM perfwatch_schema";

const SET_VERSION: &str = "
INSERT INTO perfwatch_schema (singleton, version) VALUES (TRUE, $1)
ON CONFLICT (singleton) DO UPDATE SET version = excluded.version";

const INSERT_PAGE_VIEWS: &str = "
INSERT INTO page_views (app, session_id, page_view_id, url, route, navigation_type, release,
                        user_id, started_at_ms, received_at_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::bigint[], $10::bigint[])
ON CONFLICT (app, session_id, page_view_id) DO NOTHING
RETURNING started_at_ms";

/// As SQLite's `UPSERT_WEB_VITAL`: a metric stays dated by its first report (so it stays in
/// the roll-up minute it was counted in), and the rows changed return that date.
const UPSERT_WEB_VITALS: &str = "
INSERT INTO web_vitals (app, session_id, page_view_id, metric_id, name, value, delta, seq,
                        rating, navigation_type, url, route, measured_at_ms, received_at_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::float8[], $7::float8[], $8::bigint[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::bigint[], $14::bigint[])
ON CONFLICT (app, session_id, metric_id) DO UPDATE SET
    page_view_id = excluded.page_view_id, name = excluded.name,
    value = excluded.value, delta = excluded.delta, seq = excluded.seq,
    rating = excluded.rating, navigation_type = excluded.navigation_type,
    url = excluded.url, route = excluded.route, received_at_ms = excluded.received_at_ms
WHERE excluded.seq > web_vitals.seq
RETURNING measured_at_ms";

/// Buckets of tier `$1` to recompute, one mark each.
const MARK_DIRTY: &str = "
INSERT INTO rollup_dirty (tier, bucket_ms) SELECT $1::text, unnest($2::bigint[])";

const UPSERT_NAVIGATIONS: &str = "
INSERT INTO navigations (app, session_id, page_view_id, url, route, navigation_type, protocol,
    redirect_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, download_ms, dom_interactive_ms,
    dom_content_loaded_ms, dom_complete_ms, load_ms, transfer_size, encoded_body_size,
    decoded_body_size, started_at_ms, received_at_ms, completeness, request_ms)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::float8[], $9::float8[], $10::float8[], $11::float8[],
                     $12::float8[], $13::float8[], $14::float8[], $15::float8[], $16::float8[],
                     $17::float8[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[],
                     $22::bigint[], $23::int4[], $24::float8[])
ON CONFLICT (app, session_id, page_view_id) DO UPDATE SET
    url = excluded.url, route = excluded.route, navigation_type = excluded.navigation_type,
    protocol = excluded.protocol, redirect_ms = excluded.redirect_ms, dns_ms = excluded.dns_ms,
    connect_ms = excluded.connect_ms, tls_ms = excluded.tls_ms, ttfb_ms = excluded.ttfb_ms,
    download_ms = excluded.download_ms, dom_interactive_ms = excluded.dom_interactive_ms,
    dom_content_loaded_ms = excluded.dom_content_loaded_ms,
    dom_complete_ms = excluded.dom_complete_ms, load_ms = excluded.load_ms,
    transfer_size = excluded.transfer_size, encoded_body_size = excluded.encoded_body_size,
    decoded_body_size = excluded.decoded_body_size, started_at_ms = excluded.started_at_ms,
    received_at_ms = excluded.received_at_ms, completeness = excluded.completeness,
    request_ms = excluded.request_ms
WHERE excluded.completeness > navigations.completeness";

const SELECT_VITALS: &str = "
SELECT name, value, COALESCE(NULLIF(route, ''), url) FROM web_vitals
WHERE measured_at_ms >= $1 AND measured_at_ms < $2
LIMIT $3";

const COUNT_PAGE_VIEWS: &str = "
SELECT COALESCE(NULLIF(route, ''), url), COUNT(*) FROM page_views
WHERE started_at_ms >= $1 AND started_at_ms < $2 GROUP BY 1";

const INSERT_HOST_POINT: &str = "
INSERT INTO system_samples (host, at_ms, cpu_percent, memory_percent, swap_percent, disk_percent,
    load_1, network_rx_bytes_per_s, network_tx_bytes_per_s, process_cpu_percent,
    process_resident_bytes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (host, at_ms) DO NOTHING";

const SELECT_HOST_POINTS: &str = "
SELECT at_ms, cpu_percent, memory_percent, swap_percent, disk_percent, load_1,
       network_rx_bytes_per_s, network_tx_bytes_per_s, process_cpu_percent,
       process_resident_bytes
FROM system_samples WHERE host = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms";

const DELETE_HOST_ROLLUP: &str =
    "DELETE FROM system_rollups WHERE tier = $1 AND bucket_ms = $2 AND host = $3";

const INSERT_HOST_ROLLUP: &str = "
INSERT INTO system_rollups (tier, bucket_ms, host, series, count, sum, min, max, sketch)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const SELECT_HOST_ROLLUPS: &str = "
SELECT bucket_ms, series, sketch FROM system_rollups
WHERE tier = $1 AND host = $2 AND bucket_ms >= $3 AND bucket_ms < $4 ORDER BY bucket_ms";

const TRY_LOCK_ROLLUPS: &str = "SELECT pg_try_advisory_lock($1)";

const UNLOCK_ROLLUPS: &str = "SELECT pg_advisory_unlock($1)";

const SELECT_DIRTY: &str = "
SELECT id, bucket_ms FROM rollup_dirty WHERE tier = $1 ORDER BY id LIMIT $2";

const SELECT_RAW_VITALS: &str = "
SELECT app, COALESCE(NULLIF(route, ''), url), name, value FROM web_vitals
WHERE measured_at_ms >= $1 AND measured_at_ms < $2";

const SELECT_RAW_PAGE_VIEWS: &str = "
SELECT app, COALESCE(NULLIF(route, ''), url), session_id, user_id FROM page_views
WHERE started_at_ms >= $1 AND started_at_ms < $2";

const SELECT_ROLLUP_VITALS: &str = "
SELECT app, page, name, good, needs_improvement, poor, sketch FROM rollup_vitals
WHERE tier = $1 AND bucket_ms >= $2 AND bucket_ms < $3";

const SELECT_ROLLUP_PAGE_VIEWS: &str = "
SELECT app, page, count, sessions, users FROM rollup_page_views
WHERE tier = $1 AND bucket_ms >= $2 AND bucket_ms < $3";

const DELETE_ROLLUP_VITALS: &str = "DELETE FROM rollup_vitals WHERE tier = $1 AND bucket_ms = $2";

const DELETE_ROLLUP_PAGE_VIEWS: &str =
    "DELETE FROM rollup_page_views WHERE tier = $1 AND bucket_ms = $2";

const INSERT_ROLLUP_VITALS: &str = "
INSERT INTO rollup_vitals (tier, bucket_ms, app, page, name, count, sum, good,
                           needs_improvement, poor, sketch)
SELECT $1::text, $2::bigint, * FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[],
                                           $7::float8[], $8::bigint[], $9::bigint[],
                                           $10::bigint[], $11::bytea[])";

const INSERT_ROLLUP_PAGE_VIEWS: &str = "
INSERT INTO rollup_page_views (tier, bucket_ms, app, page, count, sessions, users)
SELECT $1::text, $2::bigint, * FROM unnest($3::text[], $4::text[], $5::bigint[],
                                           $6::bytea[], $7::bytea[])";

const CLEAR_MARKS: &str = "DELETE FROM rollup_dirty WHERE id = ANY($1::bigint[])";

/// How the PostgreSQL store connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections at most: the writer thread uses one at a time, reads the others. Default
    /// [`DEFAULT_POOL_SIZE`].
    pub pool_size: u32,
    /// How long a store call waits for a free (or new) connection before it fails. Default 2 s:
    /// while the database is down, every commit attempt waits this long before its batches are
    /// answered 503, so it stays short; a healthy pool hands out connections in microseconds.
    pub acquire_timeout: Duration,
    /// How long connecting may take, unless the URL sets `connect_timeout`. Default 10 s.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            acquire_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The raw tables and the column that dates their rows, for retention. (SQLite's
/// layout differs: see its `PRUNE`.)
const RAW_TABLES: [(&str, &str); 9] = [
    ("browser_timings", "at_ms"),
    ("browser_errors", "at_ms"),
    ("session_activity", "minute_ms"),
    ("api_calls", "at_ms"),
    ("ai_calls", "at_ms"),
    ("page_views", "started_at_ms"),
    ("web_vitals", "measured_at_ms"),
    ("navigations", "started_at_ms"),
    ("system_samples", "at_ms"),
];

/// The PostgreSQL store.
pub struct PostgresStore {
    /// Always `Some` but while dropping (see the `Drop` impl).
    pool: Option<Pool<Manager>>,
    /// The URL without its password, for `Debug`.
    target: String,
    /// Makes the connection that holds [`ALERT_LOCK`], outside the pool.
    locks: Manager,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.target)
            .field("pool", &self.pool.as_ref().map(Pool::state))
            .finish()
    }
}

impl PostgresStore {
    /// Connects to the database `url` names, brings its schema to [`SCHEMA_VERSION`] and opens
    /// the connection pool. Blocks: call it from a plain thread or the blocking pool.
    pub fn open(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let mut config =
            postgres::Config::from_str(url).map_err(|err| StoreError::PostgresUrl {
                reason: scrub_secrets(&describe(&err), url),
            })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("perfwatch-collector");
        }
        let locks = Manager {
            config: config.clone(),
            url: url.to_owned(),
        };
        let manager = Manager {
            config,
            url: url.to_owned(),
        };
        // A first connection of our own: its error says why (the pool's would only say that it
        // timed out), and it runs the migrations before any pooled connection prepares a
        // statement against the schema.
        let mut first = manager.connect().map_err(StoreError::PostgresConnect)?;
        migrate(&mut first.client, &MIGRATIONS)?;
        warn_if_not_durable(&mut first.client);
        drop(first);

        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(options.pool_size.clamp(1, 2)))
            .connection_timeout(options.acquire_timeout)
            .error_handler(Box::new(LogConnectErrors))
            .build(manager)?;
        tracing::info!(url = %redact_url(url), pool_size = options.pool_size, "PostgreSQL store open");
        Ok(Self {
            pool: Some(pool),
            target: redact_url(url),
            locks,
        })
    }

    fn connection(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.as_ref().ok_or(StoreError::Closed)?.get()?)
    }
}

impl Drop for PostgresStore {
    /// A `postgres` client runs its own small tokio runtime, and closing it on a thread that is
    /// driving async tasks (an actix worker holding the last [`super::SharedStore`]) panics.
    /// There the connections are closed on a plain thread.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            off_async_thread("perfwatch-pg-close", pool, drop);
        }
    }
}

/// Runs `finish(value)` here when this thread drives no async tasks, else on a plain thread
/// named `name` (waited for): the synchronous client panics when it blocks on an async
/// thread. If no thread can be started, `value` is leaked rather than panic in a destructor
/// (the server closes its connections when the process exits).
fn off_async_thread<T: Send + 'static>(
    name: &'static str,
    value: T,
    finish: impl FnOnce(T) + Send + 'static,
) {
    if tokio::runtime::Handle::try_current().is_err() {
        finish(value);
        return;
    }
    let (send, receive) = mpsc::channel::<T>();
    let worker = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Ok(value) = receive.recv() {
                finish(value);
            }
        });
    match worker {
        Ok(thread) => {
            if let Err(returned) = send.send(value) {
                std::mem::forget(returned.0);
            }
            if thread.join().is_err() {
                tracing::warn!(thread = name, "closing PostgreSQL connections panicked");
            }
        }
        Err(err) => {
            tracing::warn!(thread = name, error = %err, "cannot start a thread to close PostgreSQL connections");
            std::mem::forget(value);
        }
    }
}

impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let ping = conn.prepare_cached("SELECT 1")?;
        conn.client.query_one(&ping, &[])?;
        Ok(())
    }

    fn schema_version(&self) -> Result<i64, StoreError> {
        read_version(&mut self.connection()?.client)
    }

    fn write_group(&self, group: &[&Batch]) -> Result<Vec<StoreOutcome>, StoreError> {
        let mut batches: Vec<&BrowserRecords> = Vec::new();
        let mut api_calls: Vec<&ApiCallRecord> = Vec::new();
        let mut ai_calls: Vec<&AiCallRecord> = Vec::new();
        let mut timings: Vec<&TimingRecord> = Vec::new();
        // A page's timings, written in the same transaction as the rest of its batch.
        let page_timings: Vec<TimingRecord> = group
            .iter()
            .filter_map(|batch| match batch {
                Batch::Browser(browser) => Some(normalize::browser_timings(browser)),
                _ => None,
            })
            .flatten()
            .collect();
        timings.extend(&page_timings);
        // And its errors.
        let errors: Vec<ErrorRecord> = group
            .iter()
            .filter_map(|batch| match batch {
                Batch::Browser(browser) => Some(normalize::browser_errors(browser)),
                _ => None,
            })
            .flatten()
            .collect();
        for batch in group {
            match batch {
                Batch::Browser(browser) => batches.push(browser),
                Batch::Timings(records) => timings.extend(records),
                Batch::ApiCalls(calls) => api_calls.extend(calls),
                Batch::AiCalls(calls) => ai_calls.extend(calls),
            }
        }
        let mut conn = self.connection()?;
        let statements = WriteStatements {
            page_views: conn.prepare_cached(INSERT_PAGE_VIEWS)?,
            web_vitals: conn.prepare_cached(UPSERT_WEB_VITALS)?,
            navigations: conn.prepare_cached(UPSERT_NAVIGATIONS)?,
            mark_dirty: conn.prepare_cached(MARK_DIRTY)?,
        };
        let insert_api_calls = conn.prepare_cached(INSERT_API_CALLS)?;
        let insert_ai_calls = conn.prepare_cached(INSERT_AI_CALLS)?;
        let upsert_activity = conn.prepare_cached(UPSERT_SESSION_ACTIVITY)?;
        let insert_timings = conn.prepare_cached(INSERT_TIMINGS)?;
        let insert_errors = conn.prepare_cached(INSERT_ERRORS)?;
        let cleaned: Vec<Cow<'_, BrowserRecords>> =
            batches.iter().map(|batch| without_nul(batch)).collect();
        let batches: Vec<&BrowserRecords> = cleaned.iter().map(|batch| &**batch).collect();
        let mut tx = conn.client.transaction()?;
        write_api_calls(&mut tx, &insert_api_calls, &api_calls)?;
        write_ai_calls(&mut tx, &insert_ai_calls, &ai_calls)?;
        write_timings(&mut tx, &insert_timings, &timings)?;
        write_errors(&mut tx, &insert_errors, &errors)?;
        let (browser_outcomes, rows) = plan_group(&batches);
        let mut changed = rows.write(&mut tx, &statements)?;
        // Backend calls' minutes are recomputed too (idempotent for a call stored before).
        changed.extend(api_calls.iter().map(|call| call.at_ms));
        changed.extend(ai_calls.iter().map(|call| call.at_ms));
        let activity = session_stats::group_activity(batches.iter().copied());
        if !activity.is_empty() {
            let keys: Vec<_> = activity.keys().collect();
            let rows: Vec<_> = activity.values().collect();
            tx.execute(
                &upsert_activity,
                &[
                    &column(&keys, |(app, _, _)| *app),
                    &column(&keys, |(_, session_id, _)| *session_id),
                    &column(&keys, |(_, _, minute)| *minute),
                    &column(&rows, |(a, _)| a.first_ms),
                    &column(&rows, |(a, _)| a.last_ms),
                    &column(&rows, |(_, user)| *user),
                ],
            )?;
        }
        // The minutes whose roll-ups the group changed, marked in its transaction.
        let minutes: Vec<i64> = changed
            .into_iter()
            .map(|at_ms| Tier::Minute.bucket_of(at_ms))
            .collect::<BTreeSet<i64>>()
            .into_iter()
            .collect();
        if !minutes.is_empty() {
            tx.execute(&statements.mark_dirty, &[&Tier::Minute.as_str(), &minutes])?;
        }
        tx.commit()?;
        // One outcome per batch, in the group's order.
        let mut browser_outcomes = browser_outcomes.into_iter();
        Ok(group
            .iter()
            .map(|batch| match batch {
                Batch::Browser(_) => browser_outcomes.next().unwrap_or_default(),
                other => StoreOutcome {
                    stored: other.len(),
                },
            })
            .collect())
    }

    fn scan_api_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(ApiCallRow),
    ) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(
            "SELECT endpoint, method, status, duration_ms, user_id FROM api_calls
             WHERE at_ms >= $1 AND at_ms < $2",
        )?;
        // Streamed, not collected: a long window may hold millions of rows.
        let mut rows = conn.client.query_raw(&stmt, [&since_ms, &until_ms])?;
        while let Some(row) = rows.next()? {
            let status: i32 = row.try_get(2)?;
            each(ApiCallRow {
                endpoint: row.try_get(0)?,
                method: row.try_get(1)?,
                status: u16::try_from(status).unwrap_or_default(),
                duration_ms: row.try_get(3)?,
                user_id: row.try_get(4)?,
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
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(
            "SELECT model, provider, user_id, input_tokens, output_tokens, cached_input_tokens,
                    cache_write_tokens, reasoning_tokens, duration_ms, success, sent_cost_usd,
                    computed_cost_usd
             FROM ai_calls WHERE at_ms >= $1 AND at_ms < $2",
        )?;
        let mut rows = conn.client.query_raw(&stmt, [&since_ms, &until_ms])?;
        while let Some(row) = rows.next()? {
            each(AiCallRow {
                model: row.try_get(0)?,
                provider: row.try_get(1)?,
                user_id: row.try_get(2)?,
                input_tokens: row.try_get(3)?,
                output_tokens: row.try_get(4)?,
                cached_input_tokens: row.try_get(5)?,
                cache_write_tokens: row.try_get(6)?,
                reasoning_tokens: row.try_get(7)?,
                duration_ms: row.try_get(8)?,
                success: row.try_get(9)?,
                sent_cost_usd: row.try_get(10)?,
                computed_cost_usd: row.try_get(11)?,
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
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(&SELECT_TIMINGS)?;
        let mut rows = conn.client.query_raw(&stmt, [&since_ms, &until_ms])?;
        while let Some(row) = rows.next()? {
            // A kind this collector does not know (written by a newer one) is skipped.
            if let Some(kind) = TimingKind::from_name(row.try_get(0)?) {
                let transfer_size: Option<i64> = row.try_get(8)?;
                each(TimingRow {
                    kind,
                    name: row.try_get(1)?,
                    failed: row.try_get(2)?,
                    duration_ms: row.try_get(3)?,
                    page_view: row.try_get(4)?,
                    detail: row.try_get(5)?,
                    blocking_ms: row.try_get(6)?,
                    script_ms: row.try_get(7)?,
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
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(&SELECT_ERRORS)?;
        let mut rows = conn.client.query_raw(&stmt, [&since_ms, &until_ms])?;
        while let Some(row) = rows.next()? {
            each(ErrorRow {
                id: row.try_get(0)?,
                kind: row.try_get(1)?,
                name: row.try_get(2)?,
                message: row.try_get(3)?,
                session: row.try_get(4)?,
                at_ms: row.try_get(5)?,
                has_stack: row.try_get(6)?,
            });
        }
        Ok(())
    }

    fn error_samples(&self, ids: &[i64]) -> Result<Vec<ErrorSample>, StoreError> {
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(
            "SELECT id, stack, component_stack FROM browser_errors WHERE id = ANY($1::bigint[])",
        )?;
        let mut samples = Vec::with_capacity(ids.len());
        for row in conn.client.query(&stmt, &[&ids])? {
            samples.push(ErrorSample {
                id: row.try_get(0)?,
                stack: row.try_get(1)?,
                component_stack: row.try_get(2)?,
            });
        }
        Ok(samples)
    }

    fn scan_sessions(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(SessionPoint),
    ) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(SESSION_POINTS)?;
        let since_minute = Tier::Minute.bucket_of(since_ms);
        let mut rows = conn.client.query_raw(&stmt, [&since_minute, &until_ms])?;
        while let Some(row) = rows.next()? {
            each(SessionPoint {
                app: row.try_get(0)?,
                session_id: row.try_get(1)?,
                first_ms: row.try_get(2)?,
                last_ms: row.try_get(3)?,
                page_view: row.try_get::<_, i32>(4)? == 1,
                user_id: row.try_get(5)?,
            });
        }
        Ok(())
    }

    fn active_users(&self, since_ms: i64) -> Result<ActiveCounts, StoreError> {
        let mut conn = self.connection()?;
        let stmt = conn.prepare_cached(ACTIVE_USERS)?;
        let row = conn
            .client
            .query_one(&stmt, &[&Tier::Minute.bucket_of(since_ms), &since_ms])?;
        Ok(ActiveCounts {
            sessions: count(row.try_get(0)?),
            anonymous_sessions: count(row.try_get(1)?),
            named_users: count(row.try_get(2)?),
        })
    }

    fn vital_rows(
        &self,
        since_ms: i64,
        until_ms: i64,
        max_samples: usize,
    ) -> Result<Option<VitalRows>, StoreError> {
        let mut conn = self.connection()?;
        let select_vitals = conn.prepare_cached(SELECT_VITALS)?;
        let count_page_views = conn.prepare_cached(COUNT_PAGE_VIEWS)?;
        let mut rows = VitalRows::default();
        let limit = limit_beyond(max_samples);
        let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&since_ms, &until_ms, &limit];
        {
            // Streamed, so that a window over the cap is given up without holding its rows.
            let mut cursor = conn.client.query_raw(&select_vitals, params)?;
            let mut read = 0;
            while let Some(row) = cursor.next()? {
                read += 1;
                if read > max_samples {
                    return Ok(None);
                }
                let name: &str = row.try_get(0)?;
                // A name this collector does not know (written by a newer one) is skipped.
                if let Some(name) = VitalName::from_wire(name) {
                    rows.samples.push(VitalSample {
                        name,
                        value: row.try_get(1)?,
                        page: row.try_get(2)?,
                    });
                }
            }
        }
        for row in conn
            .client
            .query(&count_page_views, &[&since_ms, &until_ms])?
        {
            let count: i64 = row.try_get(1)?;
            rows.page_views
                .push((row.try_get(0)?, u64::try_from(count).unwrap_or_default()));
        }
        Ok(Some(rows))
    }

    fn export(&self, from_ms: i64, to_ms: i64, out: &mut dyn Write) -> Result<u64, StoreError> {
        let mut conn = self.connection()?;
        let mut lines = 0;
        for (kind, table, time_column) in export::TABLES {
            let sql = export::query(table, time_column, "$1", "$2");
            for row in conn.client.query(sql.as_str(), &[&from_ms, &to_ms])? {
                let mut columns = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let value = match *column.type_() {
                        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.into(),
                        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.into(),
                        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.into(),
                        // As SQLite stores it: 0 or 1.
                        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(i64::from).into(),
                        _ => row.try_get::<_, Option<String>>(i)?.into(),
                    };
                    columns.push((column.name().to_owned(), value));
                }
                export::write_line(out, kind, columns)?;
                lines += 1;
            }
        }
        Ok(lines)
    }

    /// Deletes by `ctid`, a chunk per table, in one short transaction. Several collectors may
    /// prune one database at once: deleting what is already gone deletes nothing.
    fn prune(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.connection()?;
        let mut tx = conn.client.transaction()?;
        let mut deleted = 0;
        for (table, column) in RAW_TABLES {
            let sql = format!(
                "DELETE FROM {table} WHERE ctid IN \
                 (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2)"
            );
            deleted += tx.execute(sql.as_str(), &[&before_ms, &limit])?;
        }
        deleted += tx.execute(
            "DELETE FROM alerts WHERE ctid IN (SELECT ctid FROM alerts \
             WHERE state = 'resolved' AND updated_at_ms < $1 LIMIT $2)",
            &[&before_ms, &limit],
        )?;
        deleted += tx.execute(
            "DELETE FROM silences WHERE ctid IN \
             (SELECT ctid FROM silences WHERE ends_at_ms < $1 LIMIT $2)",
            &[&before_ms, &limit],
        )?;
        tx.commit()?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// A session advisory lock ([`ROLLUP_LOCK`]) on a pooled connection that the guard keeps
    /// out of the pool until it drops and unlocks. The server releases the lock by itself if
    /// the connection ends (the collector dies, an administrator ends the backend).
    fn try_lock_rollups(&self) -> Result<Option<RollupLock>, StoreError> {
        let mut conn = self.connection()?;
        let try_lock = conn.prepare_cached(TRY_LOCK_ROLLUPS)?;
        let locked: bool = conn
            .client
            .query_one(&try_lock, &[&ROLLUP_LOCK])?
            .try_get(0)?;
        if !locked {
            return Ok(None);
        }
        Ok(Some(Box::new(RollupGuard { conn: Some(conn) })))
    }

    /// A session advisory lock ([`ALERT_LOCK`]) on a connection of its own, outside the pool
    /// (the evaluating collector holds it for as long as it runs). The server releases the lock
    /// when the connection ends.
    fn try_lock_alerts(&self) -> Result<Option<Box<dyn LeaderLock>>, StoreError> {
        let mut conn = self.locks.connect().map_err(StoreError::PostgresConnect)?;
        let locked: bool = conn
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&ALERT_LOCK])?
            .try_get(0)?;
        if !locked {
            off_async_thread("perfwatch-pg-close", conn, drop);
            return Ok(None);
        }
        Ok(Some(Box::new(AlertGuard(Some(conn)))))
    }

    fn erase_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut conn = self.connection()?;
        let mut tx = conn.client.transaction()?;
        let (apps, session_ids): (Vec<String>, Vec<String>) = tx
            .query(
                "SELECT app, session_id FROM session_activity WHERE user_id = $1
                 UNION SELECT app, session_id FROM page_views WHERE user_id = $1",
                &[&user_id],
            )?
            .iter()
            .map(|row| Ok((row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?)))
            .collect::<Result<Vec<_>, postgres::Error>>()?
            .into_iter()
            .unzip();
        let mut deleted = 0u64;
        // The sessions' records, one statement per table whatever the number of sessions.
        if !apps.is_empty() {
            for table in [
                "web_vitals",
                "page_views",
                "navigations",
                "session_activity",
                "browser_timings",
                "browser_errors",
            ] {
                let sql = format!(
                    "DELETE FROM {table} t
                     USING unnest($1::text[], $2::text[]) AS s(app, session_id)
                     WHERE t.app = s.app AND t.session_id = s.session_id"
                );
                deleted += tx.execute(sql.as_str(), &[&apps, &session_ids])?;
            }
        }
        for sql in [
            "DELETE FROM page_views WHERE user_id = $1",
            "DELETE FROM session_activity WHERE user_id = $1",
            "DELETE FROM api_calls WHERE user_id = $1",
            "DELETE FROM ai_calls WHERE user_id = $1",
            "DELETE FROM browser_timings WHERE user_id = $1",
            "DELETE FROM browser_errors WHERE user_id = $1",
            "DELETE FROM rollup_api_calls WHERE dimension = 'user' AND key = $1",
            "DELETE FROM rollup_ai_calls WHERE dimension = 'user' AND key = $1",
        ] {
            deleted += tx.execute(sql, &[&user_id])?;
        }
        tx.execute(
            "UPDATE erasures SET generation = generation + 1 WHERE id = 1",
            &[],
        )?;
        tx.commit()?;
        Ok(deleted)
    }

    fn erasure_generation(&self) -> Result<i64, StoreError> {
        let mut conn = self.connection()?;
        let row = conn
            .client
            .query_one("SELECT generation FROM erasures WHERE id = 1", &[])?;
        Ok(row.try_get(0)?)
    }

    fn write_audit(&self, entry: &super::AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        conn.client.execute(
            "INSERT INTO audit_log (at_ms, actor, action, target, detail)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &entry.at_ms,
                &entry.actor,
                &entry.action,
                &entry.target,
                &entry.detail,
            ],
        )?;
        Ok(())
    }

    fn read_audit(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> Result<Vec<super::AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.connection()?;
        let rows = conn.client.query(
            "SELECT at_ms, actor, action, target, detail FROM audit_log WHERE at_ms >= $1
             ORDER BY at_ms DESC, id DESC LIMIT $2",
            &[&since_ms, &limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(super::AuditEntry {
                    at_ms: row.try_get(0)?,
                    actor: row.try_get(1)?,
                    action: row.try_get(2)?,
                    target: row.try_get(3)?,
                    detail: row.try_get(4)?,
                })
            })
            .collect()
    }

    fn host_names(&self, since_ms: i64) -> Result<Vec<String>, StoreError> {
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(
            "SELECT DISTINCT host FROM system_samples WHERE at_ms >= $1 ORDER BY host",
        )?;
        let rows = conn.client.query(&select, &[&since_ms])?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    fn write_alerts(
        &self,
        alerts: &[Alert],
        abandoned: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let upsert = conn.prepare_cached(UPSERT_ALERT)?;
        let mut tx = conn.client.transaction()?;
        for alert in alerts {
            tx.execute(
                &upsert,
                &[
                    &alert.fingerprint,
                    &alert.active_at_ms,
                    &alert.name(),
                    &alert.labels.get(SEVERITY).map_or("", String::as_str),
                    &alert.state.as_str(),
                    &labels_to_json(&alert.labels),
                    &labels_to_json(&alert.annotations),
                    &alert.value.filter(|v| v.is_finite()),
                    &alert.starts_at_ms,
                    &alert.ends_at_ms,
                    &now_ms,
                ],
            )?;
        }
        for (fingerprint, active_at_ms) in abandoned {
            tx.execute(
                "DELETE FROM alerts WHERE fingerprint = $1 AND active_at_ms = $2 \
                 AND state = 'pending'",
                &[fingerprint, active_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn read_alerts(&self, since_ms: i64, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(
            "SELECT fingerprint, active_at_ms, state, labels, annotations, value, starts_at_ms,
                    ends_at_ms
             FROM alerts WHERE state <> 'resolved' OR updated_at_ms >= $1
             ORDER BY state = 'resolved', updated_at_ms DESC, active_at_ms DESC LIMIT $2",
        )?;
        let rows = conn.client.query(&select, &[&since_ms, &limit])?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get(2)?;
                let labels: String = row.try_get(3)?;
                let annotations: String = row.try_get(4)?;
                Ok(Alert {
                    fingerprint: row.try_get(0)?,
                    active_at_ms: row.try_get(1)?,
                    state: AlertState::parse(&state).unwrap_or(AlertState::Resolved),
                    labels: labels_from_json(&labels),
                    annotations: labels_from_json(&annotations),
                    value: row.try_get(5)?,
                    starts_at_ms: row.try_get(6)?,
                    ends_at_ms: row.try_get(7)?,
                })
            })
            .collect()
    }

    fn write_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let upsert = conn.prepare_cached(
            "INSERT INTO silences (id, matchers, starts_at_ms, ends_at_ms, created_by, comment,
                                   created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers,
                 starts_at_ms = excluded.starts_at_ms, ends_at_ms = excluded.ends_at_ms,
                 created_by = excluded.created_by, comment = excluded.comment",
        )?;
        conn.client.execute(
            &upsert,
            &[
                &silence.id,
                &matchers_to_json(&silence.matchers),
                &silence.starts_at_ms,
                &silence.ends_at_ms,
                &silence.created_by,
                &silence.comment,
                &silence.created_at_ms,
            ],
        )?;
        Ok(())
    }

    fn expire_silence(&self, id: &str, at_ms: i64) -> Result<bool, StoreError> {
        let mut conn = self.connection()?;
        let exists: bool = conn
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM silences WHERE id = $1)",
                &[&id],
            )?
            .try_get(0)?;
        conn.client.execute(
            "UPDATE silences SET ends_at_ms = $2, starts_at_ms = LEAST(starts_at_ms, $2)
             WHERE id = $1 AND ends_at_ms > $2",
            &[&id, &at_ms],
        )?;
        Ok(exists)
    }

    fn silences(&self, after_ms: i64) -> Result<Vec<Silence>, StoreError> {
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(
            "SELECT id, matchers, starts_at_ms, ends_at_ms, created_by, comment, created_at_ms
             FROM silences WHERE ends_at_ms > $1 ORDER BY starts_at_ms, id LIMIT 10000",
        )?;
        let rows = conn.client.query(&select, &[&after_ms])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let matchers: String = row.try_get(1)?;
            let Some(matchers) = matchers_from_json(&matchers) else {
                continue;
            };
            out.push(Silence {
                id: row.try_get(0)?,
                matchers,
                starts_at_ms: row.try_get(2)?,
                ends_at_ms: row.try_get(3)?,
                created_by: row.try_get(4)?,
                comment: row.try_get(5)?,
                created_at_ms: row.try_get(6)?,
            });
        }
        Ok(out)
    }

    fn dirty_buckets(&self, tier: Tier, limit: usize) -> Result<Vec<DirtyBucket>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(SELECT_DIRTY)?;
        let marks = conn
            .client
            .query(&select, &[&tier.as_str(), &limit])?
            .into_iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<Vec<(i64, i64)>, postgres::Error>>()?;
        Ok(rollup::group_marks(tier, marks))
    }

    fn dirty_in(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<BTreeSet<i64>, StoreError> {
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(
            "SELECT DISTINCT bucket_ms FROM rollup_dirty
             WHERE tier = $1 AND bucket_ms >= $2 AND bucket_ms < $3",
        )?;
        let rows = conn
            .client
            .query(&select, &[&tier.as_str(), &from_ms, &to_ms])?;
        Ok(rows
            .into_iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    fn raw_minute(&self, from_ms: i64, to_ms: i64) -> Result<RawMinute, StoreError> {
        let mut conn = self.connection()?;
        let select_vitals = conn.prepare_cached(SELECT_RAW_VITALS)?;
        let select_page_views = conn.prepare_cached(SELECT_RAW_PAGE_VIEWS)?;
        let mut raw = RawMinute::default();
        for row in conn.client.query(&select_vitals, &[&from_ms, &to_ms])? {
            let name: &str = row.try_get(2)?;
            // A name this collector does not know (written by a newer one) is skipped.
            if let Some(name) = VitalName::from_wire(name) {
                raw.vitals.push(RawVital {
                    app: row.try_get(0)?,
                    page: row.try_get(1)?,
                    name,
                    value: row.try_get(3)?,
                });
            }
        }
        for row in conn.client.query(&select_page_views, &[&from_ms, &to_ms])? {
            raw.page_views.push(RawPageView {
                app: row.try_get(0)?,
                page: row.try_get(1)?,
                session_id: row.try_get(2)?,
                user_id: row.try_get(3)?,
            });
        }
        drop(conn);
        self.scan_api_calls(from_ms, to_ms, &mut |row| raw.api_calls.push(row))?;
        self.scan_ai_calls(from_ms, to_ms, &mut |row| raw.ai_calls.push(row))?;
        Ok(raw)
    }

    fn read_rollups(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<Rollup, StoreError> {
        let mut conn = self.connection()?;
        let select_vitals = conn.prepare_cached(SELECT_ROLLUP_VITALS)?;
        let select_page_views = conn.prepare_cached(SELECT_ROLLUP_PAGE_VIEWS)?;
        let mut rollup = Rollup::default();
        let params: [&(dyn postgres::types::ToSql + Sync); 3] = [&tier.as_str(), &from_ms, &to_ms];
        for row in conn.client.query(&select_vitals, &params)? {
            let Some(name) = VitalName::from_wire(row.try_get(2)?) else {
                continue;
            };
            rollup.vitals.push(VitalSeries {
                app: row.try_get(0)?,
                page: row.try_get(1)?,
                name,
                ratings: [
                    count(row.try_get(3)?),
                    count(row.try_get(4)?),
                    count(row.try_get(5)?),
                ],
                sketch: DdSketch::from_bytes(row.try_get(6)?)?,
            });
        }
        for row in conn.client.query(&select_page_views, &params)? {
            rollup.page_views.push(PageViewSeries {
                app: row.try_get(0)?,
                page: row.try_get(1)?,
                count: count(row.try_get(2)?),
                sessions: Hll::from_bytes(row.try_get(3)?)?,
                users: Hll::from_bytes(row.try_get(4)?)?,
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
        read_call_series(&mut *self.connection()?, tier, from_ms, to_ms, api, ai)
    }

    fn replace_rollup(
        &self,
        dirty: &DirtyBucket,
        rollup: Option<&Rollup>,
    ) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        // Prepared once per connection, used or not.
        let clear_marks = conn.prepare_cached(CLEAR_MARKS)?;
        let delete_vitals = conn.prepare_cached(DELETE_ROLLUP_VITALS)?;
        let delete_page_views = conn.prepare_cached(DELETE_ROLLUP_PAGE_VIEWS)?;
        let insert_vitals = conn.prepare_cached(INSERT_ROLLUP_VITALS)?;
        let insert_page_views = conn.prepare_cached(INSERT_ROLLUP_PAGE_VIEWS)?;
        let mark_dirty = conn.prepare_cached(MARK_DIRTY)?;
        let delete_api_calls = conn.prepare_cached(DELETE_ROLLUP_API_CALLS)?;
        let delete_ai_calls = conn.prepare_cached(DELETE_ROLLUP_AI_CALLS)?;
        let insert_api_calls = conn.prepare_cached(INSERT_ROLLUP_API_CALLS)?;
        let insert_ai_calls = conn.prepare_cached(INSERT_ROLLUP_AI_CALLS)?;
        let (tier, bucket) = (dirty.tier.as_str(), dirty.bucket_ms);
        let mut tx = conn.client.transaction()?;
        if let Some(rollup) = rollup {
            tx.execute(&delete_vitals, &[&tier, &bucket])?;
            tx.execute(&delete_page_views, &[&tier, &bucket])?;
            tx.execute(&delete_api_calls, &[&tier, &bucket])?;
            tx.execute(&delete_ai_calls, &[&tier, &bucket])?;
            if !rollup.api_calls.is_empty() {
                let r = &rollup.api_calls[..];
                tx.execute(
                    &insert_api_calls,
                    &[
                        &tier,
                        &bucket,
                        &column(r, |s| s.dimension.as_str()),
                        &column(r, |s| s.key.as_str()),
                        &column(r, |s| saturating_i64(s.aggregate.count)),
                        &column(r, |s| saturating_i64(s.aggregate.server_errors)),
                        &column(r, |s| saturating_i64(s.aggregate.errors)),
                        &column(r, |s| s.aggregate.latency.to_bytes()),
                    ],
                )?;
            }
            if !rollup.ai_calls.is_empty() {
                let r = &rollup.ai_calls[..];
                let n = |f: fn(&AiAggregate) -> u64| {
                    column(r, move |s| saturating_i64(f(&s.aggregate)))
                };
                let usd = |f: fn(&AiAggregate) -> f64| column(r, move |s| f(&s.aggregate));
                tx.execute(
                    &insert_ai_calls,
                    &[
                        &tier,
                        &bucket,
                        &column(r, |s| s.dimension.as_str()),
                        &column(r, |s| s.key.as_str()),
                        &n(|a| a.calls),
                        &n(|a| a.succeeded),
                        &n(|a| a.tokens.input),
                        &n(|a| a.tokens.output),
                        &n(|a| a.tokens.cached_input),
                        &n(|a| a.tokens.cache_write),
                        &n(|a| a.tokens.reasoning),
                        &usd(|a| a.cost.cost_usd),
                        &usd(|a| a.cost.computed_cost_usd),
                        &usd(|a| a.cost.sent_cost_usd),
                        &n(|a| a.cost.computed_calls),
                        &n(|a| a.cost.sent_only_calls),
                        &n(|a| a.cost.unpriced_calls),
                        &column(r, |s| s.aggregate.latency.to_bytes()),
                    ],
                )?;
            }
            if !rollup.vitals.is_empty() {
                let v = &rollup.vitals[..];
                let ratings = |i: usize| column(v, move |s| saturating_i64(s.ratings[i]));
                tx.execute(
                    &insert_vitals,
                    &[
                        &tier,
                        &bucket,
                        &column(v, |s| s.app.as_str()),
                        &column(v, |s| s.page.as_str()),
                        &column(v, |s| s.name.as_str()),
                        &column(v, |s| saturating_i64(s.count())),
                        &column(v, |s| s.sketch.sum()),
                        &ratings(0),
                        &ratings(1),
                        &ratings(2),
                        &column(v, |s| s.sketch.to_bytes()),
                    ],
                )?;
            }
            if !rollup.page_views.is_empty() {
                let p = &rollup.page_views[..];
                tx.execute(
                    &insert_page_views,
                    &[
                        &tier,
                        &bucket,
                        &column(p, |s| s.app.as_str()),
                        &column(p, |s| s.page.as_str()),
                        &column(p, |s| saturating_i64(s.count)),
                        &column(p, |s| s.sessions.to_bytes()),
                        &column(p, |s| s.users.to_bytes()),
                    ],
                )?;
            }
            if let Some(parent) = dirty.tier.parent() {
                tx.execute(
                    &mark_dirty,
                    &[&parent.as_str(), &vec![parent.bucket_of(bucket)]],
                )?;
            }
        }
        // Exactly the marks read: one made meanwhile (a higher id, or a lower one whose
        // transaction committed late) stays for the next pass.
        tx.execute(&clear_marks, &[&dirty.marks])?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes by `ctid`, a chunk per roll-up table, in one short transaction, as [`Self::prune`]
    /// (the primary keys start with `(tier, bucket_ms)`, so the chunk is found by index).
    fn prune_rollups(&self, tier: Tier, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut conn = self.connection()?;
        let mut tx = conn.client.transaction()?;
        let mut deleted = 0;
        for table in super::ROLLUP_TABLES {
            let sql = format!(
                "DELETE FROM {table} WHERE ctid IN \
                 (SELECT ctid FROM {table} WHERE tier = $1 AND bucket_ms < $2 LIMIT $3)"
            );
            deleted += tx.execute(sql.as_str(), &[&tier.as_str(), &before_ms, &limit])?;
        }
        tx.commit()?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    fn write_host_point(&self, host: &str, point: &HostPoint) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let insert = conn.prepare_cached(INSERT_HOST_POINT)?;
        conn.client.execute(
            &insert,
            &[
                &host,
                &point.at_ms,
                &point.cpu_percent,
                &point.memory_percent,
                &point.swap_percent,
                &point.disk_percent,
                &point.load_1,
                &point.network_rx_bytes_per_s,
                &point.network_tx_bytes_per_s,
                &point.process_cpu_percent,
                &saturating_i64(point.process_resident_bytes),
            ],
        )?;
        Ok(())
    }

    fn host_points(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HostPoint>, StoreError> {
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(SELECT_HOST_POINTS)?;
        conn.client
            .query(&select, &[&host, &from_ms, &to_ms])?
            .iter()
            .map(|row| {
                Ok(HostPoint {
                    at_ms: row.try_get(0)?,
                    cpu_percent: row.try_get(1)?,
                    memory_percent: row.try_get(2)?,
                    swap_percent: row.try_get(3)?,
                    disk_percent: row.try_get(4)?,
                    load_1: row.try_get(5)?,
                    network_rx_bytes_per_s: row.try_get(6)?,
                    network_tx_bytes_per_s: row.try_get(7)?,
                    process_cpu_percent: row.try_get(8)?,
                    process_resident_bytes: count(row.try_get(9)?),
                })
            })
            .collect()
    }

    fn write_host_rollup(
        &self,
        host: &str,
        hour_ms: i64,
        rollups: &[SeriesRollup],
    ) -> Result<(), StoreError> {
        let mut conn = self.connection()?;
        let delete = conn.prepare_cached(DELETE_HOST_ROLLUP)?;
        let insert = conn.prepare_cached(INSERT_HOST_ROLLUP)?;
        let tier = Tier::Hour.as_str();
        let mut tx = conn.client.transaction()?;
        tx.execute(&delete, &[&tier, &hour_ms, &host])?;
        for rollup in rollups {
            let sketch = &rollup.sketch;
            tx.execute(
                &insert,
                &[
                    &tier,
                    &hour_ms,
                    &host,
                    &rollup.series,
                    &saturating_i64(sketch.count()),
                    &sketch.sum(),
                    &sketch.min().unwrap_or_default(),
                    &sketch.max().unwrap_or_default(),
                    &sketch.to_bytes(),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn host_rollups(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, Vec<SeriesRollup>)>, StoreError> {
        let mut conn = self.connection()?;
        let select = conn.prepare_cached(SELECT_HOST_ROLLUPS)?;
        let mut hours: Vec<(i64, Vec<SeriesRollup>)> = Vec::new();
        for row in conn
            .client
            .query(&select, &[&Tier::Hour.as_str(), &host, &from_ms, &to_ms])?
        {
            let hour: i64 = row.try_get(0)?;
            let rollup = SeriesRollup {
                series: row.try_get(1)?,
                sketch: DdSketch::from_bytes(row.try_get(2)?)?,
            };
            match hours.last_mut() {
                Some((last, rollups)) if *last == hour => rollups.push(rollup),
                _ => hours.push((hour, vec![rollup])),
            }
        }
        Ok(hours)
    }

    fn backup(&self, _to: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "the collector backs up SQLite only; back up a PostgreSQL database with pg_dump \
             (e.g. pg_dump --format=custom --file=perfwatch.dump DATABASE_URL)",
        ))
    }
}

/// Brings the database to the version `migrations` reach. Each migration runs in its own
/// transaction, which first takes the advisory lock [`MIGRATION_LOCK`] and then reads the
/// version, so that collectors opening one database together apply each migration once.
/// Refuses a database newer than `migrations` ([`StoreError::SchemaTooNew`]).
pub fn migrate(client: &mut Client, migrations: &[&str]) -> Result<(), StoreError> {
    let known = migrations.len() as i64;
    loop {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        // No "already exists, skipping" notices for the `IF NOT EXISTS` in the log.
        tx.batch_execute("SET LOCAL client_min_messages = warning")?;
        tx.batch_execute(VERSION_TABLE)?;
        let found = read_version(&mut tx)?;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        let Some(sql) = migrations.get(usize::try_from(found).unwrap_or_default()) else {
            // Up to date (the version table may just have been created, so commit it).
            tx.commit()?;
            return Ok(());
        };
        let version = found + 1;
        tx.batch_execute(sql)?;
        tx.execute(SET_VERSION, &[&version])?;
        tx.commit()?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
}

/// The version in `perfwatch_schema` (0 without a row).
fn read_version(client: &mut impl GenericClient) -> Result<i64, StoreError> {
    Ok(match client.query_opt(SELECT_VERSION, &[])? {
        Some(row) => row.try_get(0)?,
        None => 0,
    })
}

/// Logs a warning when the server would lose acknowledged commits in a crash of its own.
fn warn_if_not_durable(client: &mut Client) {
    for setting in ["synchronous_commit", "fsync"] {
        match client.query_one(&format!("SHOW {setting}"), &[]) {
            Ok(row) => {
                let value: String = row.try_get(0).unwrap_or_default();
                if value == "off" {
                    tracing::warn!(
                        setting,
                        "PostgreSQL runs with {setting} = off: acknowledged batches may be lost \
                         if the database server crashes"
                    );
                }
            }
            Err(err) => tracing::debug!(setting, error = %describe(&err), "cannot read setting"),
        }
    }
}

/// A `postgres` error with its cause, on one line (its `Display` alone says only "db error" or
/// "error connecting to server"). It never contains the password: the server does not repeat
/// it, and a URL that does not parse is scrubbed by the callers.
pub fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        return text;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Why a pooled connection could not be made, described (see [`describe`]).
#[derive(Debug, Error)]
#[error("cannot connect to PostgreSQL: {0}")]
pub struct ConnectError(String);

/// A connection and the statements prepared on it.
struct PgConnection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// Set when the connection must not be reused (a session lock could not be released): the
    /// pool then closes it rather than take it back ([`Manager::has_broken`]).
    broken: bool,
}

impl PgConnection {
    /// `sql` prepared on this connection, once.
    fn prepare_cached(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// Makes the pool's connections (`r2d2_postgres` keeps no prepared statements, hence this one).
#[derive(Debug)]
struct Manager {
    /// Its `Debug` hides the password.
    config: postgres::Config,
    /// To scrub the password from error messages.
    url: String,
}

impl ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<PgConnection, ConnectError> {
        match self.config.connect(NoTls) {
            Ok(client) => Ok(PgConnection {
                client,
                statements: HashMap::new(),
                broken: false,
            }),
            Err(err) => Err(ConnectError(scrub_secrets(&describe(&err), &self.url))),
        }
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), ConnectError> {
        conn.client
            .simple_query("")
            .map(drop)
            .map_err(|err| ConnectError(describe(&err)))
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// Holds [`ALERT_LOCK`] on a connection of its own; dropping it closes the connection, which
/// releases the lock (off any async thread: closing a client there panics).
struct AlertGuard(Option<PgConnection>);

impl super::LeaderLock for AlertGuard {
    fn held(&mut self) -> bool {
        self.0.as_mut().is_some_and(|conn| {
            !conn.client.is_closed() && conn.client.simple_query("SELECT 1").is_ok()
        })
    }
}

impl Drop for AlertGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            off_async_thread("perfwatch-pg-close", conn, drop);
        }
    }
}

/// Holds [`ROLLUP_LOCK`] on its pooled connection, and releases it when dropped.
struct RollupGuard {
    /// Always `Some` but while dropping.
    conn: Option<PooledConnection<Manager>>,
}

impl RollupGuard {
    /// Unlocks on `conn`, then gives it back to the pool, or has the pool close it when the
    /// lock may still be held (closing the session releases it). Runs on a plain thread.
    fn release(mut conn: PooledConnection<Manager>) {
        let unlocked = conn
            .prepare_cached(UNLOCK_ROLLUPS)
            .and_then(|unlock| conn.client.query_one(&unlock, &[&ROLLUP_LOCK]))
            .and_then(|row| row.try_get::<_, bool>(0));
        match unlocked {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the roll-up lock was not held by its connection; closing it");
                conn.broken = true;
            }
            Err(err) => {
                tracing::warn!(error = %describe(&err), "cannot release the roll-up lock; closing its connection");
                conn.broken = true;
            }
        }
    }
}

impl Drop for RollupGuard {
    /// Like [`PostgresStore`]'s `Drop`: the synchronous client panics on a thread that drives
    /// async tasks, so there the lock is released on a plain thread.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            off_async_thread("perfwatch-pg-unlock", conn, Self::release);
        }
    }
}

/// Logs the pool's failed connection attempts (r2d2 would use the `log` crate).
#[derive(Debug)]
struct LogConnectErrors;

impl HandleError<ConnectError> for LogConnectErrors {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(%error, "PostgreSQL connection failed");
    }
}

/// The statements of a group write, prepared on its connection.
struct WriteStatements {
    page_views: Statement,
    web_vitals: Statement,
    navigations: Statement,
    mark_dirty: Statement,
}

/// Writes API call records in one statement; one already stored stays as it is.
fn write_api_calls(
    tx: &mut postgres::Transaction<'_>,
    statement: &Statement,
    calls: &[&ApiCallRecord],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    tx.execute(
        statement,
        &[
            &column(calls, |c| c.service.as_str()),
            &column(calls, |c| c.event_id.as_deref()),
            &column(calls, |c| c.endpoint.as_str()),
            &column(calls, |c| c.method.as_str()),
            &column(calls, |c| i32::from(c.status)),
            &column(calls, |c| c.duration_ms),
            &column(calls, |c| c.user_id.as_deref()),
            &column(calls, |c| c.trace_id.as_deref()),
            &column(calls, |c| c.at_ms),
            &column(calls, |c| c.received_at_ms),
        ],
    )?;
    Ok(())
}

/// Writes browser timings in one statement; one already stored stays as it is. Texts lose
/// any U+0000 (PostgreSQL's `TEXT` cannot hold it; the protocol refuses it in names).
fn write_timings(
    tx: &mut postgres::Transaction<'_>,
    statement: &Statement,
    timings: &[&TimingRecord],
) -> Result<(), StoreError> {
    if timings.is_empty() {
        return Ok(());
    }
    tx.execute(
        statement,
        &[
            &column(timings, |t| t.kind.as_str()),
            &column(timings, |t| clean(&t.app)),
            &column(timings, |t| clean(&t.session_id)),
            &column(timings, |t| t.event_id.as_deref().map(clean)),
            &column(timings, |t| clean(&t.page_view_id)),
            &column(timings, |t| clean(&t.name)),
            &column(timings, |t| t.detail.as_deref().map(clean)),
            &column(timings, |t| t.status.map(i32::from)),
            &column(timings, |t| t.failed),
            &column(timings, |t| t.duration_ms),
            &column(timings, |t| t.blocking_ms),
            &column(timings, |t| t.script_ms),
            // Validated: at most 2^53 - 1.
            &column(timings, |t| {
                t.transfer_size
                    .map(|size| i64::try_from(size).unwrap_or(i64::MAX))
            }),
            &column(timings, |t| t.user_id.as_deref().map(clean)),
            &column(timings, |t| t.at_ms),
            &column(timings, |t| t.received_at_ms),
            &column(timings, |t| t.trace_id.as_deref().map(clean)),
        ],
    )?;
    Ok(())
}

/// `text` with any U+0000 replaced by U+FFFD, which PostgreSQL's `TEXT` can hold.
fn clean(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Writes browser errors in one statement; one already stored stays as it is. Texts lose any
/// U+0000, as [`write_timings`]' do (the protocol refuses it in an error's own texts, not in
/// its batch's ids).
fn write_errors(
    tx: &mut postgres::Transaction<'_>,
    statement: &Statement,
    errors: &[ErrorRecord],
) -> Result<(), StoreError> {
    if errors.is_empty() {
        return Ok(());
    }
    let opt = |text: &Option<String>| text.as_deref().map(clean);
    tx.execute(
        statement,
        &[
            &column(errors, |e| clean(&e.app)),
            &column(errors, |e| clean(&e.session_id)),
            &column(errors, |e| opt(&e.event_id)),
            &column(errors, |e| clean(&e.page_view_id)),
            &column(errors, |e| clean(&e.url)),
            &column(errors, |e| opt(&e.route)),
            &column(errors, |e| opt(&e.release)),
            &column(errors, |e| opt(&e.user_id)),
            &column(errors, |e| clean(&e.kind)),
            &column(errors, |e| opt(&e.name)),
            &column(errors, |e| clean(&e.message)),
            &column(errors, |e| opt(&e.stack)),
            &column(errors, |e| opt(&e.component_stack)),
            &column(errors, |e| e.at_ms),
            &column(errors, |e| e.received_at_ms),
        ],
    )?;
    Ok(())
}

/// Writes AI call records in one statement; one already stored stays as it is.
fn write_ai_calls(
    tx: &mut postgres::Transaction<'_>,
    statement: &Statement,
    calls: &[&AiCallRecord],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    tx.execute(
        statement,
        &[
            &column(calls, |c| c.service.as_str()),
            &column(calls, |c| c.event_id.as_deref()),
            &column(calls, |c| c.model.as_str()),
            &column(calls, |c| c.provider.as_deref()),
            &column(calls, |c| c.operation.as_deref()),
            &column(calls, |c| c.input_tokens),
            &column(calls, |c| c.output_tokens),
            &column(calls, |c| c.cached_input_tokens),
            &column(calls, |c| c.cache_write_tokens),
            &column(calls, |c| c.reasoning_tokens),
            &column(calls, |c| c.duration_ms),
            &column(calls, |c| c.success),
            &column(calls, |c| c.error_type.as_deref()),
            &column(calls, |c| c.user_id.as_deref()),
            &column(calls, |c| c.trace_id.as_deref()),
            &column(calls, |c| c.sent_cost_usd),
            &column(calls, |c| c.computed_cost_usd),
            &column(calls, |c| c.at_ms),
            &column(calls, |c| c.received_at_ms),
        ],
    )?;
    Ok(())
}

/// `(app, session_id, id)`: the key of every table.
type Key<'a> = (&'a str, &'a str, &'a str);

/// The rows of one table, one per key, in key order once [`Unique::into_sorted`].
struct Unique<'a, R> {
    index: HashMap<Key<'a>, usize>,
    rows: Vec<(Key<'a>, R)>,
}

impl<'a, R> Default for Unique<'a, R> {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            rows: Vec::new(),
        }
    }
}

impl<'a, R> Unique<'a, R> {
    /// Offers `row` under `key`: kept if the key is new, else `merge(kept, row)` decides what
    /// is kept.
    fn offer(&mut self, key: Key<'a>, row: R, merge: impl FnOnce(&mut R, R)) {
        match self.index.get(&key) {
            Some(&i) => merge(&mut self.rows[i].1, row),
            None => {
                self.index.insert(key, self.rows.len());
                self.rows.push((key, row));
            }
        }
    }

    fn into_sorted(mut self) -> Vec<R> {
        self.rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.rows.into_iter().map(|(_, row)| row).collect()
    }
}

/// One event to store and the batch it came in.
struct Row<'a, T> {
    batch: &'a BrowserRecords,
    record: &'a Record,
    body: &'a T,
    /// The time stored: the record's, but a web vital's is its first report's in the group.
    at_ms: i64,
}

/// What a group leaves in each table.
#[derive(Default)]
struct GroupRows<'a> {
    page_views: Unique<'a, Row<'a, Option<NavigationType>>>,
    web_vitals: Unique<'a, Row<'a, WebVital>>,
    navigations: Unique<'a, Row<'a, Navigation>>,
}

/// Reduces the group to one row per key, as the SQLite store's statements would leave it one
/// by one: a page view, the first; a web vital, the first with the highest `seq`, dated by the
/// first report of the group (the one SQLite inserts; later ones update it but its date); a
/// navigation, the first of the highest completeness. The upserts then apply the same rules
/// against what the table holds.
fn plan_group<'a>(batches: &[&'a BrowserRecords]) -> (Vec<StoreOutcome>, GroupRows<'a>) {
    let mut rows = GroupRows::default();
    let mut outcomes = Vec::with_capacity(batches.len());
    for &batch in batches {
        let app = batch.app.as_str();
        let session_id = batch.session_id.as_str();
        for record in &batch.records {
            match &record.body {
                EventBody::PageView(page_view) => rows.page_views.offer(
                    (app, session_id, record.page_view_id.as_str()),
                    Row {
                        batch,
                        record,
                        body: &page_view.navigation_type,
                        at_ms: record.at_ms,
                    },
                    |_, _| {},
                ),
                EventBody::WebVital(vital) => rows.web_vitals.offer(
                    (app, session_id, vital.id.as_str()),
                    Row {
                        batch,
                        record,
                        body: vital,
                        at_ms: record.at_ms,
                    },
                    |kept, new| {
                        if new.body.seq > kept.body.seq {
                            *kept = Row {
                                at_ms: kept.at_ms,
                                ..new
                            };
                        }
                    },
                ),
                EventBody::Navigation(navigation) => rows.navigations.offer(
                    (app, session_id, record.page_view_id.as_str()),
                    Row {
                        batch,
                        record,
                        body: navigation,
                        at_ms: record.at_ms,
                    },
                    |kept, new| {
                        if new.body.completeness() > kept.body.completeness() {
                            *kept = new;
                        }
                    },
                ),
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
        }
        outcomes.push(StoreOutcome {
            stored: batch.records.len(),
        });
    }
    (outcomes, rows)
}

/// `batch`, or a copy of it with every U+0000 in what is stored replaced by U+FFFD.
/// PostgreSQL's `TEXT` cannot hold U+0000, which JSON and the protocol allow: without this a
/// batch carrying one would fail its group and then itself on every retry. The same string
/// always maps to the same text, so an `event_id` holding U+0000 is still recognized.
fn without_nul(batch: &BrowserRecords) -> Cow<'_, BrowserRecords> {
    let mut has_nul = false;
    visit_texts(batch, |text| has_nul |= text.contains('\0'));
    if !has_nul {
        return Cow::Borrowed(batch);
    }
    let mut clean = batch.clone();
    visit_texts_mut(&mut clean, |text| {
        if text.contains('\0') {
            *text = text.replace('\0', "\u{FFFD}");
        }
    });
    Cow::Owned(clean)
}

/// Calls `f` with every text of `batch` that is stored.
fn visit_texts(batch: &BrowserRecords, mut f: impl FnMut(&str)) {
    f(&batch.app);
    f(&batch.session_id);
    batch
        .release
        .iter()
        .chain(&batch.user_id)
        .for_each(|t| f(t));
    for record in &batch.records {
        f(&record.page_view_id);
        f(&record.url);
        record
            .event_id
            .iter()
            .chain(&record.route)
            .for_each(|t| f(t));
        match &record.body {
            EventBody::WebVital(vital) => f(&vital.id),
            EventBody::Navigation(navigation) => navigation.protocol.iter().for_each(|t| f(t)),
            EventBody::ApiCall(call) => {
                f(&call.name);
                call.method
                    .iter()
                    .chain(&call.error_type)
                    .chain(&call.trace_id)
                    .for_each(|t| f(t));
            }
            EventBody::Interaction(interaction) => f(&interaction.name),
            EventBody::Measure(measure) => f(&measure.name),
            EventBody::Error(error) => {
                f(&error.kind);
                f(&error.message);
                error
                    .name
                    .iter()
                    .chain(&error.stack)
                    .chain(&error.component_stack)
                    .for_each(|t| f(t));
            }
            EventBody::LongTask(task) => task.name.iter().chain(&task.container).for_each(|t| f(t)),
            EventBody::LongAnimationFrame(frame) => frame
                .script_url
                .iter()
                .chain(&frame.script_function)
                .chain(&frame.script_invoker)
                .for_each(|t| f(t)),
            EventBody::Resource(resource) => {
                f(&resource.name);
                f(&resource.initiator_type);
            }
            EventBody::PageView(_) => {}
        }
    }
}

/// [`visit_texts`], to change them.
fn visit_texts_mut(batch: &mut BrowserRecords, mut f: impl FnMut(&mut String)) {
    f(&mut batch.app);
    f(&mut batch.session_id);
    batch
        .release
        .iter_mut()
        .chain(&mut batch.user_id)
        .for_each(&mut f);
    for record in &mut batch.records {
        f(&mut record.page_view_id);
        f(&mut record.url);
        record
            .event_id
            .iter_mut()
            .chain(&mut record.route)
            .for_each(&mut f);
        match &mut record.body {
            EventBody::WebVital(vital) => f(&mut vital.id),
            EventBody::Navigation(navigation) => navigation.protocol.iter_mut().for_each(&mut f),
            EventBody::ApiCall(call) => {
                f(&mut call.name);
                call.method
                    .iter_mut()
                    .chain(&mut call.error_type)
                    .chain(&mut call.trace_id)
                    .for_each(&mut f);
            }
            EventBody::Interaction(interaction) => f(&mut interaction.name),
            EventBody::Measure(measure) => f(&mut measure.name),
            EventBody::Error(error) => {
                f(&mut error.kind);
                f(&mut error.message);
                error
                    .name
                    .iter_mut()
                    .chain(&mut error.stack)
                    .chain(&mut error.component_stack)
                    .for_each(&mut f);
            }
            EventBody::LongTask(task) => task
                .name
                .iter_mut()
                .chain(&mut task.container)
                .for_each(&mut f),
            EventBody::LongAnimationFrame(frame) => frame
                .script_url
                .iter_mut()
                .chain(&mut frame.script_function)
                .chain(&mut frame.script_invoker)
                .for_each(&mut f),
            EventBody::Resource(resource) => {
                f(&mut resource.name);
                f(&mut resource.initiator_type);
            }
            EventBody::PageView(_) => {}
        }
    }
}

/// One column of `rows`.
fn column<'r, R, T>(rows: &'r [R], value: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(value).collect()
}

impl GroupRows<'_> {
    /// One multi-row statement per table that has rows. Returns the times of the page views
    /// inserted and of the web vitals inserted or updated (their first report's): what the
    /// roll-ups must recompute.
    fn write(
        self,
        tx: &mut postgres::Transaction<'_>,
        statements: &WriteStatements,
    ) -> Result<Vec<i64>, StoreError> {
        let mut changed = Vec::new();
        let page_views = self.page_views.into_sorted();
        if !page_views.is_empty() {
            let r = &page_views[..];
            let inserted = tx.query(
                &statements.page_views,
                &[
                    &column(r, |r| r.batch.app.as_str()),
                    &column(r, |r| r.batch.session_id.as_str()),
                    &column(r, |r| r.record.page_view_id.as_str()),
                    &column(r, |r| r.record.url.as_str()),
                    &column(r, |r| r.record.route.as_deref()),
                    &column(r, |r| r.body.map(NavigationType::as_str)),
                    &column(r, |r| r.batch.release.as_deref()),
                    &column(r, |r| r.batch.user_id.as_deref()),
                    &column(r, |r| r.at_ms),
                    &column(r, |r| r.batch.received_at_ms),
                ],
            )?;
            for row in inserted {
                changed.push(row.try_get(0)?);
            }
        }
        let web_vitals = self.web_vitals.into_sorted();
        if !web_vitals.is_empty() {
            let r = &web_vitals[..];
            let upserted = tx.query(
                &statements.web_vitals,
                &[
                    &column(r, |r| r.batch.app.as_str()),
                    &column(r, |r| r.batch.session_id.as_str()),
                    &column(r, |r| r.record.page_view_id.as_str()),
                    &column(r, |r| r.body.id.as_str()),
                    &column(r, |r| r.body.name.as_str()),
                    &column(r, |r| r.body.value),
                    &column(r, |r| r.body.delta),
                    &column(r, |r| i64::from(r.body.seq)),
                    // The collector's rating, from the value; the client's is not kept.
                    &column(r, |r| r.body.name.rate(r.body.value).as_str()),
                    &column(r, |r| r.body.navigation_type.map(NavigationType::as_str)),
                    &column(r, |r| r.record.url.as_str()),
                    &column(r, |r| r.record.route.as_deref()),
                    &column(r, |r| r.at_ms),
                    &column(r, |r| r.batch.received_at_ms),
                ],
            )?;
            for row in upserted {
                changed.push(row.try_get(0)?);
            }
        }
        let navigations = self.navigations.into_sorted();
        if !navigations.is_empty() {
            let r = &navigations[..];
            tx.execute(
                &statements.navigations,
                &[
                    &column(r, |r| r.batch.app.as_str()),
                    &column(r, |r| r.batch.session_id.as_str()),
                    &column(r, |r| r.record.page_view_id.as_str()),
                    &column(r, |r| r.record.url.as_str()),
                    &column(r, |r| r.record.route.as_deref()),
                    &column(r, |r| r.body.navigation_type.map(NavigationType::as_str)),
                    &column(r, |r| r.body.protocol.as_deref()),
                    &column(r, |r| r.body.redirect),
                    &column(r, |r| r.body.dns),
                    &column(r, |r| r.body.connect),
                    &column(r, |r| r.body.tls),
                    &column(r, |r| r.body.ttfb),
                    &column(r, |r| r.body.download),
                    &column(r, |r| r.body.dom_interactive),
                    &column(r, |r| r.body.dom_content_loaded),
                    &column(r, |r| r.body.dom_complete),
                    &column(r, |r| r.body.load),
                    &column(r, |r| r.body.transfer_size.map(saturating_i64)),
                    &column(r, |r| r.body.encoded_body_size.map(saturating_i64)),
                    &column(r, |r| r.body.decoded_body_size.map(saturating_i64)),
                    &column(r, |r| r.at_ms),
                    &column(r, |r| r.batch.received_at_ms),
                    &column(r, |r| i32::from(r.body.completeness())),
                    &column(r, |r| r.body.request),
                ],
            )?;
        }
        Ok(changed)
    }
}

/// The call series of the dimensions asked, of `tier`'s buckets in `[from_ms, to_ms)`.
fn read_call_series(
    conn: &mut PgConnection,
    tier: Tier,
    from_ms: i64,
    to_ms: i64,
    api: &[ApiDimension],
    ai: &[AiDimension],
) -> Result<(Vec<ApiSeries>, Vec<AiSeries>), StoreError> {
    let select_api = conn.prepare_cached(SELECT_ROLLUP_API_CALLS)?;
    let select_ai = conn.prepare_cached(SELECT_ROLLUP_AI_CALLS)?;
    let mut api_series = Vec::new();
    for &dimension in api {
        let params: [&(dyn postgres::types::ToSql + Sync); 4] =
            [&tier.as_str(), &dimension.as_str(), &from_ms, &to_ms];
        for row in conn.client.query(&select_api, &params)? {
            api_series.push(ApiSeries {
                dimension,
                key: row.try_get(0)?,
                aggregate: ApiAggregate {
                    count: count(row.try_get(1)?),
                    server_errors: count(row.try_get(2)?),
                    errors: count(row.try_get(3)?),
                    latency: DdSketch::from_bytes(row.try_get(4)?)?,
                },
            });
        }
    }
    let mut ai_series = Vec::new();
    for &dimension in ai {
        let params: [&(dyn postgres::types::ToSql + Sync); 4] =
            [&tier.as_str(), &dimension.as_str(), &from_ms, &to_ms];
        for row in conn.client.query(&select_ai, &params)? {
            ai_series.push(AiSeries {
                dimension,
                key: row.try_get(0)?,
                aggregate: AiAggregate {
                    calls: count(row.try_get(1)?),
                    succeeded: count(row.try_get(2)?),
                    tokens: Tokens {
                        input: count(row.try_get(3)?),
                        output: count(row.try_get(4)?),
                        cached_input: count(row.try_get(5)?),
                        cache_write: count(row.try_get(6)?),
                        reasoning: count(row.try_get(7)?),
                    },
                    cost: Cost {
                        cost_usd: row.try_get(8)?,
                        computed_cost_usd: row.try_get(9)?,
                        sent_cost_usd: row.try_get(10)?,
                        computed_calls: count(row.try_get(11)?),
                        sent_only_calls: count(row.try_get(12)?),
                        unpriced_calls: count(row.try_get(13)?),
                    },
                    latency: DdSketch::from_bytes(row.try_get(14)?)?,
                },
            });
        }
    }
    Ok((api_series, ai_series))
}

/// A stored count (never negative when this collector wrote it).
fn count(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or_default()
}

/// `BIGINT` is signed. The protocol bounds sizes at 2^53 - 1, so this never saturates for a
/// validated record; it stays total rather than panic on a record built another way.
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
