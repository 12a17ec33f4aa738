//! Storage: one interface ([`Store`]), two implementations — SQLite (the default, one file in
//! the data dir) and PostgreSQL (several collectors sharing one database).
//!
//! Request handlers never write: they put batches on the [`crate::ingest_queue::IngestQueue`],
//! whose single writer thread calls [`Store::write_group`] with every batch waiting, in one
//! transaction (group commit), and answers each request only after that commit. Reads
//! ([`Store::vital_rows`]) run on actix's blocking pool.
//!
//! What both implementations guarantee:
//! - an event is stored once however often it is delivered, so a batch retried after a lost
//!   answer does not count twice. Every event kind is idempotent by its table's key, which is
//!   finer than or equal to `(app, session_id, event_id)`: a page view by its id; a web vital
//!   by its metric `id`, keeping the report with the highest `seq` whatever order the reports
//!   arrive in; a navigation by its page view, keeping the most complete report; a browser's
//!   timing or error by `(app, session_id, event_id)`; a backend's API or AI call by
//!   `(service, event_id)`, keeping the first delivery (records without an `event_id` cannot
//!   be recognised again, and are all kept). No table of remembered ids is needed (it cost
//!   half of the SQLite writer's time); a new event kind without a natural key must key its
//!   table by `event_id`;
//! - the schema is brought to the current version at start-up by numbered migrations, and a
//!   database written by a newer collector is refused rather than misread.

pub mod discard;
pub mod export;
pub mod postgres;
pub mod sqlite;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use perfwatch_protocol::VitalName;
use thiserror::Error;

use crate::alerts::model::{Alert, Labels, Matcher, Silence};
use crate::backend_stats::{AiCallRow, ApiCallRow};
use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::config::StoreLocation;
use crate::host_history::{HostPoint, SeriesRollup};
use crate::normalize::{Batch, TimingKind};
use crate::rollup::{DirtyBucket, RawMinute, Rollup, RollupLock, Tier};
use crate::session_stats::SessionPoint;

pub use self::postgres::{PostgresOptions, PostgresStore};
pub use discard::DiscardStore;
pub use sqlite::SqliteStore;

/// A browser timing, as the statistics read it ([`crate::normalize::TimingRecord`] says what
/// each column holds by kind).
#[derive(Debug, Clone, PartialEq)]
pub struct TimingRow {
    pub kind: TimingKind,
    pub name: String,
    pub failed: bool,
    pub duration_ms: f64,
    /// The page view of a long task (`session_id` and `page_view_id`, space-separated), to
    /// count the page views long tasks hit; `None` for other kinds, which need none.
    pub page_view: Option<String>,
    /// A resource's initiator type, a long animation frame's script invoker, a long task's
    /// container.
    pub detail: Option<String>,
    /// A long animation frame's blocking duration.
    pub blocking_ms: Option<f64>,
    /// A long animation frame's longest script's duration.
    pub script_ms: Option<f64>,
    /// A resource's transfer size, bytes.
    pub transfer_size: Option<u64>,
}

/// The columns of [`TimingRow`], in order, as both stores select them from `browser_timings`.
pub const TIMING_ROW_COLUMNS: &str = "kind, name, failed, duration_ms,
    CASE WHEN kind = 'long_task' THEN session_id || ' ' || page_view_id END,
    detail, blocking_ms, script_ms, transfer_size";

/// A browser error, as the statistics read it: what it is grouped by, the session it hit,
/// when, and whether it has a stack to show. The stacks themselves stay in the store until
/// an answer shows them ([`Store::error_samples`]): a window may hold many errors, and an
/// answer shows a few stacks.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    /// The stored error's id, to read its stacks back.
    pub id: i64,
    /// `render`, `unhandled`, `unhandledrejection`, or another short name.
    pub kind: String,
    /// The JavaScript error's name (`TypeError`, ...).
    pub name: Option<String>,
    /// The error's message (may span lines).
    pub message: String,
    /// The session it hit (`app` and `session_id`, space-separated), to count the sessions
    /// affected.
    pub session: String,
    /// When it was thrown, epoch ms.
    pub at_ms: i64,
    /// It has a `stack` or a `component_stack`.
    pub has_stack: bool,
}

/// The columns of [`ErrorRow`], in order, as both stores select them from `browser_errors`.
pub const ERROR_ROW_COLUMNS: &str = "id, kind, name, message, app || ' ' || session_id, at_ms,
    (stack IS NOT NULL OR component_stack IS NOT NULL)";

/// The stacks of one stored error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSample {
    /// [`ErrorRow::id`].
    pub id: i64,
    /// The error's stack, as the browser wrote it.
    pub stack: Option<String>,
    /// React's component stack.
    pub component_stack: Option<String>,
}

/// What [`Store::active_users`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActiveCounts {
    /// Browser sessions with activity.
    pub sessions: u64,
    /// Those of them that never named a user.
    pub anonymous_sessions: u64,
    /// Distinct user ids of active sessions and of backend calls.
    pub named_users: u64,
}

/// What a store does for the collector. Methods block: call them from the writer thread or the
/// blocking pool, never from an async worker.
pub trait Store: Send + Sync + Debug + 'static {
    /// `sqlite` or `postgres`, as `GET /health` reports it.
    fn kind(&self) -> &'static str;

    /// Checks that the database answers.
    fn ping(&self) -> Result<(), StoreError>;

    /// The schema version of the database.
    fn schema_version(&self) -> Result<i64, StoreError>;

    /// Writes `batches` in one transaction and returns one outcome per batch, in order. When it
    /// returns `Ok`, the batches survive the process being killed (and, with the durability the
    /// implementation documents, a power loss).
    fn write_group(&self, batches: &[&Batch]) -> Result<Vec<StoreOutcome>, StoreError>;

    /// Makes every group written so far durable against a power loss. [`Store::write_group`]
    /// alone guarantees that its batches survive the process being killed; the ingest queue
    /// answers a batch only after this too, called once for every group committed meanwhile,
    /// so the writer commits the next group while the disk flushes the last ones. The default
    /// does nothing: for a store whose commit already waits for the disk (PostgreSQL with
    /// `synchronous_commit = on`).
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Hands `each` every browser timing dated in `[since_ms, until_ms)`, one at a time.
    fn scan_timings(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(TimingRow),
    ) -> Result<(), StoreError>;

    /// Hands `each` every browser error dated in `[since_ms, until_ms)`, one at a time, without
    /// its stacks.
    fn scan_errors(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(ErrorRow),
    ) -> Result<(), StoreError>;

    /// The stacks of the errors `ids` names ([`ErrorRow::id`]); an error deleted meanwhile is
    /// left out.
    fn error_samples(&self, ids: &[i64]) -> Result<Vec<ErrorSample>, StoreError>;

    /// Hands `each` the activity rows and page view starts of every browser session active in
    /// `[since_ms, until_ms)` (all of each such session's, before and after too), ordered by
    /// app, session id and time, one at a time.
    fn scan_sessions(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(SessionPoint),
    ) -> Result<(), StoreError>;

    /// Browser sessions active since `since_ms`, and the users behind them and behind backend
    /// calls since then.
    fn active_users(&self, since_ms: i64) -> Result<ActiveCounts, StoreError>;

    /// The web vitals first measured, and the page views started, in `[since_ms, until_ms)`
    /// (epoch ms); `None` as soon as the window holds more than `max_samples` vitals (so a
    /// busy day is never read into memory whole: its caller reads the roll-ups instead).
    fn vital_rows(
        &self,
        since_ms: i64,
        until_ms: i64,
        max_samples: usize,
    ) -> Result<Option<VitalRows>, StoreError>;

    /// Hands every API call dated in `[since_ms, until_ms)` (epoch ms) to `each`, one at a
    /// time, so that statistics over any window take bounded memory.
    fn scan_api_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(ApiCallRow),
    ) -> Result<(), StoreError>;

    /// Hands every AI call dated in `[since_ms, until_ms)` to `each`, one at a time.
    fn scan_ai_calls(
        &self,
        since_ms: i64,
        until_ms: i64,
        each: &mut dyn FnMut(AiCallRow),
    ) -> Result<(), StoreError>;

    /// Writes the raw events dated in `[from_ms, to_ms)` to `out` as NDJSON ([`export`]);
    /// returns how many lines.
    fn export(&self, from_ms: i64, to_ms: i64, out: &mut dyn Write) -> Result<u64, StoreError>;

    /// Copies the database to `to` while the collector may be running. Only SQLite can; for
    /// PostgreSQL the answer says to use `pg_dump`.
    fn backup(&self, to: &Path) -> Result<(), StoreError>;

    /// Deletes at most `limit` rows from each raw event table dated before `before_ms`;
    /// returns how many rows went. Small chunks keep each delete's transaction short, so
    /// ingest never waits long ([`crate::retention`] calls it until nothing is left).
    fn prune(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError>;

    /// Makes this collector the one that rolls up, if no other is ([`crate::rollup`]):
    /// `None` while another holds the lock. PostgreSQL: a session advisory lock, released
    /// when the guard drops or the collector's connection ends. SQLite: always granted (one
    /// collector per file).
    fn try_lock_rollups(&self) -> Result<Option<RollupLock>, StoreError>;

    /// The buckets of `tier` marked dirty, oldest first, reading at most `limit` marks.
    fn dirty_buckets(&self, tier: Tier, limit: usize) -> Result<Vec<DirtyBucket>, StoreError>;

    /// The API and AI call series of the buckets of `tier` starting in `[from_ms, to_ms)`, of
    /// the dimensions asked, unmerged: what a statistics window reads.
    fn read_call_rollups(
        &self,
        tier: Tier,
        from_ms: i64,
        to_ms: i64,
        api: &[ApiDimension],
        ai: &[AiDimension],
    ) -> Result<(Vec<ApiSeries>, Vec<AiSeries>), StoreError>;

    /// The distinct buckets of `tier` starting in `[from_ms, to_ms)` that are marked dirty,
    /// however many marks there are.
    fn dirty_in(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<BTreeSet<i64>, StoreError>;

    /// The raw web vitals first measured, page views started, and API and AI calls dated, in
    /// `[from_ms, to_ms)`.
    fn raw_minute(&self, from_ms: i64, to_ms: i64) -> Result<RawMinute, StoreError>;

    /// The web vital and page view series of the buckets of `tier` starting in
    /// `[from_ms, to_ms)`, unmerged (the call series are [`Store::read_call_rollups`]').
    fn read_rollups(&self, tier: Tier, from_ms: i64, to_ms: i64) -> Result<Rollup, StoreError>;

    /// In one transaction: replaces the bucket `dirty` names with `rollup` and marks its
    /// parent bucket dirty, or with `None` keeps the bucket as it is; either way clears the
    /// marks `dirty` read (and only those: a mark made meanwhile stays).
    fn replace_rollup(
        &self,
        dirty: &DirtyBucket,
        rollup: Option<&Rollup>,
    ) -> Result<(), StoreError>;

    /// Keeps one host sample's headline numbers under `host` (the sampling machine's name, so
    /// that collectors sharing a database keep their own histories).
    fn write_host_point(&self, host: &str, point: &HostPoint) -> Result<(), StoreError>;

    /// The samples of `host` taken in `[from_ms, to_ms)`, oldest first.
    fn host_points(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<HostPoint>, StoreError>;

    /// Replaces the hourly roll-up of `host` for the hour starting at `hour_ms`.
    fn write_host_rollup(
        &self,
        host: &str,
        hour_ms: i64,
        rollups: &[SeriesRollup],
    ) -> Result<(), StoreError>;

    /// The hourly roll-ups of `host` for the hours starting in `[from_ms, to_ms)`, oldest
    /// first.
    fn host_rollups(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, Vec<SeriesRollup>)>, StoreError>;

    /// Deletes at most `limit` rows of `tier` starting before `before_ms` from each roll-up
    /// table; returns how many rows went.
    fn prune_rollups(&self, tier: Tier, before_ms: i64, limit: usize) -> Result<usize, StoreError>;

    /// The names of the hosts with samples taken since `since_ms`.
    fn host_names(&self, since_ms: i64) -> Result<Vec<String>, StoreError>;

    /// In one transaction: stores `alerts` as they are at `now_ms` (one row per alert episode,
    /// keyed by fingerprint and `active_at_ms`, updated in place) and deletes the pending
    /// alerts `abandoned` names (`(fingerprint, active_at_ms)`; they never fired).
    fn write_alerts(
        &self,
        alerts: &[Alert],
        abandoned: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// The alerts pending or firing, then the others last updated since `since_ms`, newest
    /// first, at most `limit`.
    fn read_alerts(&self, since_ms: i64, limit: usize) -> Result<Vec<Alert>, StoreError>;

    /// Stores `silence` (a new one, or one with the same id replaced).
    fn write_silence(&self, silence: &Silence) -> Result<(), StoreError>;

    /// Ends the silence `id` at `at_ms` if it ends later; false when there is no such silence.
    fn expire_silence(&self, id: &str, at_ms: i64) -> Result<bool, StoreError>;

    /// The silences ending after `after_ms`, soonest start first.
    fn silences(&self, after_ms: i64) -> Result<Vec<Silence>, StoreError>;

    /// Makes this collector the one that evaluates alert rules, if no other is: `None` while
    /// another holds the lock. PostgreSQL: a session advisory lock on a connection of its own,
    /// held as long as the guard lives (the alert state lives in the evaluating collector's
    /// memory, so the role does not hop between collectors). SQLite: always granted.
    fn try_lock_alerts(&self) -> Result<Option<Box<dyn LeaderLock>>, StoreError>;

    /// Erases what is stored about `user_id`, in one transaction: every record carrying the id
    /// (page views, session activity, API and AI calls, browser timings and errors), every
    /// record of the browser sessions the user was seen in (their web vitals, pages and
    /// navigations too), and the user's series in the call roll-ups. Counts that other roll-ups
    /// hold without the id (per endpoint, per model) stay. Returns the rows deleted.
    fn erase_user(&self, user_id: &str) -> Result<u64, StoreError>;

    /// How many erasures the store has seen (each [`Store::erase_user`] adds one, in its
    /// transaction). Collectors sharing a database compare it with what they last saw, so that
    /// an erasure by any of them empties every collector's caches of merged statistics.
    fn erasure_generation(&self) -> Result<i64, StoreError>;

    /// Appends `entry` to the audit log.
    fn write_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The audit log's entries since `since_ms`, newest first, at most `limit`.
    fn read_audit(&self, since_ms: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// One administrative action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// When, epoch ms.
    pub at_ms: i64,
    /// Who: the token's name (never its secret), `anonymous` on an open collector, or `SIGHUP`.
    pub actor: String,
    /// What: `silence.create`, `silence.expire`, `rules.reload`, `user.erase`.
    pub action: String,
    /// On what: a silence id, a user id, a config file.
    pub target: String,
    /// The outcome and details, in words.
    pub detail: String,
}

/// A lock that makes this collector the one doing a job for every collector sharing the store
/// (evaluating alert rules); released when dropped.
pub trait LeaderLock: Send {
    /// Whether the lock is still held (PostgreSQL: its connection still answers).
    fn held(&mut self) -> bool;
}

/// The lock of a store nobody else shares: always held.
impl LeaderLock for () {
    fn held(&mut self) -> bool {
        true
    }
}

/// Alert label sets and annotations as stored: JSON objects.
pub(crate) fn labels_to_json(labels: &Labels) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

/// Labels read back from the store (an unreadable value gives none, and a warning).
pub(crate) fn labels_from_json(text: &str) -> Labels {
    serde_json::from_str(text).unwrap_or_else(|error| {
        tracing::warn!(%error, "an alert's stored labels are not a JSON object");
        Labels::new()
    })
}

/// Silence matchers as stored: a JSON array.
pub(crate) fn matchers_to_json(matchers: &[Matcher]) -> String {
    serde_json::to_string(matchers).unwrap_or_else(|_| "[]".to_owned())
}

/// Matchers read back from the store (unreadable: none, which no alert fails, so it mutes all;
/// therefore the silence is dropped instead, with a warning).
pub(crate) fn matchers_from_json(text: &str) -> Option<Vec<Matcher>> {
    serde_json::from_str(text)
        .map_err(|error| tracing::warn!(%error, "a stored silence's matchers are unreadable"))
        .ok()
}

/// The roll-up tables, each with a `tier` and a `bucket_ms` column, pruned per tier.
pub const ROLLUP_TABLES: [&str; 5] = [
    "rollup_vitals",
    "rollup_page_views",
    "rollup_api_calls",
    "rollup_ai_calls",
    "system_rollups",
];

/// A store shared by the writer thread and the request handlers.
pub type SharedStore = Arc<dyn Store>;

/// Opens the store `location` names with default options, applying migrations. Blocks
/// (PostgreSQL connects): call it from a plain thread or the blocking pool, not from an async
/// worker.
pub fn open(location: &StoreLocation) -> Result<SharedStore, StoreError> {
    open_with(location, PostgresOptions::default())
}

/// Like [`open`], with the PostgreSQL pool's options (unused for SQLite).
pub fn open_with(
    location: &StoreLocation,
    postgres: PostgresOptions,
) -> Result<SharedStore, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        StoreLocation::Postgres(url) => Ok(Arc::new(PostgresStore::open(url, postgres)?)),
        StoreLocation::Discard => {
            tracing::warn!("store switched off (discard:): nothing received is kept");
            Ok(Arc::new(DiscardStore))
        }
    }
}

/// Why the store could not do what was asked. At request time every variant is a 503 with
/// `Retry-After` (see [`crate::error`]).
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file's directory could not be created.
    #[error("cannot create the directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite refused or failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL refused or failed (the message never holds the URL's password).
    #[error("PostgreSQL: {}", self::postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The PostgreSQL URL does not parse.
    #[error("the PostgreSQL URL is not valid: {reason}")]
    PostgresUrl {
        /// Why, with any password of the URL replaced by `***`.
        reason: String,
    },
    /// The first connection to PostgreSQL failed (wrong address, credentials or database).
    #[error(transparent)]
    PostgresConnect(self::postgres::ConnectError),
    /// No pooled PostgreSQL connection became free, or could be made, in time.
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database file could not be flushed to disk (fsync).
    #[error("flushing the database to disk: {0}")]
    Flush(std::io::Error),
    /// Writing the export failed.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// The store cannot do this.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The store is being dropped.
    #[error("the store is closed")]
    Closed,
    /// The database was written by a newer collector.
    #[error("the database has schema version {found}; this collector knows versions up to {known}, upgrade it")]
    SchemaTooNew {
        /// The database's schema version.
        found: i64,
        /// The newest version this collector knows.
        known: i64,
    },
    /// A request panicked while holding the connection.
    #[error("the store's connection lock is poisoned")]
    Poisoned,
    /// A stored roll-up sketch does not decode (the database was altered by hand, or is
    /// damaged).
    #[error("a stored roll-up sketch is damaged: {0}")]
    Sketch(#[from] crate::sketch::SketchError),
    /// The blocking pool did not run the store call.
    #[error("the store's worker did not complete")]
    Blocking,
}

impl StoreError {
    /// True when the store could not be reached or was too busy: the same write may succeed
    /// later, and writing a group's batches one by one would only wait again. False for an
    /// error that may be specific to the data written.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::DiskFull
                        | rusqlite::ErrorCode::SystemIoFailure
                )
            ),
            // No SQLSTATE: the connection itself failed. Classes 08 (connection exception),
            // 53 (insufficient resources) and 57 (operator intervention: shutting down, ...).
            Self::Postgres(e) => {
                e.is_closed()
                    || e.code().is_none_or(|state| {
                        let code = state.code();
                        code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
                    })
            }
            Self::PostgresConnect(_)
            | Self::Flush(_)
            | Self::Pool(_)
            | Self::Closed
            | Self::Poisoned
            | Self::Blocking => true,
            Self::CreateDir { .. }
            | Self::PostgresUrl { .. }
            | Self::SchemaTooNew { .. }
            | Self::Io(_)
            | Self::Sketch(_)
            | Self::Unsupported(_) => false,
        }
    }
}

/// What storing a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Events written, or offered to their table's idempotent upsert (which keeps an earlier
    /// copy of a redelivered event, or a web vital's report with a higher `seq`).
    pub stored: usize,
}

/// One web vital measurement in a read window.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalSample {
    /// Which vital.
    pub name: VitalName,
    /// Its value (ms, or unitless for CLS).
    pub value: f64,
    /// The page it was measured on: its route, or its URL when it has no route.
    pub page: String,
}

/// The rows a vitals report is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VitalRows {
    /// Every metric's latest report measured in the window (at most the number asked).
    pub samples: Vec<VitalSample>,
    /// Page views started in the window, per page (route, or URL when it has no route).
    pub page_views: Vec<(String, u64)>,
}

/// The `LIMIT` that reads `max_samples` rows and one more, which tells whether there were
/// more (saturating: `usize::MAX` reads everything).
pub fn limit_beyond(max_samples: usize) -> i64 {
    i64::try_from(max_samples).map_or(i64::MAX, |n| n.saturating_add(1))
}
