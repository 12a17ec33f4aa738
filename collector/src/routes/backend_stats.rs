//! `GET /api/v1/monitoring/api/stats?hours=&group_by=endpoint|user|status` and
//! `GET /api/v1/monitoring/ai/stats?hours=&group_by=model|user|provider` (or `from=&to=`
//! instead of `hours`): statistics over a backend's API and AI calls.
//!
//! A window of up to 15 minutes reads the raw records, one at a time, on the blocking pool
//! ([`crate::backend_stats`]): exact counts, sums and shares, percentiles within 1 %, fresh to
//! the last commit. A longer one merges the roll-ups ([`crate::call_rollup`]): the same
//! numbers for a few hundred series instead of millions of rows, with the newest, not yet
//! rolled minutes and the minutes the window's edges cut read raw. `"source"` says which (`raw` or `rollups`); `top=` sets how many
//! groups are listed before `other`.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend_stats::{
    AiGroupBy, AiStats, AiStatsBuilder, ApiGroupBy, ApiStats, ApiStatsBuilder, TOP_GROUPS,
};
use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::rollup::{self, CallRangeCache, RollupPolicy};
use crate::state::AppState;
use crate::store::{Store, StoreError};
use crate::window::{shorten, Window, WindowParams};

/// Windows up to this many hours are read from the raw records; longer ones from the
/// roll-ups ([`rollup::read_call_window`]), which give the same numbers (the raw calls of the
/// newest minutes and of the edges included) for a few hundred series instead of every call.
pub const RAW_WINDOW_MAX_HOURS: f64 = 0.25;

/// Most groups `top=` may ask for.
pub const MAX_TOP: usize = 100;

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    #[serde(flatten)]
    pub window: WindowParams,
    /// What to group by, taken as text so that a wrong value gets a message naming `group_by`.
    pub group_by: Option<String>,
    /// How many groups to list before `other` (default 20, at most [`MAX_TOP`]).
    pub top: Option<String>,
}

impl StatsQuery {
    /// `top`'s value, [`TOP_GROUPS`] when absent.
    fn top(&self) -> Result<usize, ApiError> {
        let Some(text) = self.top.as_deref() else {
            return Ok(TOP_GROUPS);
        };
        text.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_TOP).contains(n))
            .ok_or_else(|| {
                let shown = shorten(text);
                ApiError::Query(format!(
                    "`top` must be a whole number from 1 to {MAX_TOP}, got `{shown}`"
                ))
            })
    }
}

/// `group_by`'s value as `G`, whose values `accepted` lists for the message.
fn group_by<G: DeserializeOwned>(
    query: &StatsQuery,
    accepted: &str,
) -> Result<Option<G>, ApiError> {
    query
        .group_by
        .as_deref()
        .map(|text| {
            serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
                let shown = shorten(text);
                ApiError::Query(format!("`group_by` must be {accepted}, got `{shown}`"))
            })
        })
        .transpose()
}

/// An answer: the window and the statistics.
#[derive(Debug, Serialize)]
struct WindowStats<S> {
    hours: f64,
    from_ms: i64,
    to_ms: i64,
    #[serde(flatten)]
    stats: S,
}

impl<S: Serialize> WindowStats<S> {
    /// The envelope answering `stats` of `window`.
    fn answer(window: Window, stats: S) -> HttpResponse {
        envelope::success(&Self {
            hours: window.hours,
            from_ms: window.since_ms,
            to_ms: window.until_ms,
            stats,
        })
    }
}

/// Whether `window` is answered from the raw records.
fn from_raw(window: Window) -> bool {
    window.hours <= RAW_WINDOW_MAX_HOURS
}

/// What a statistics request needs to read the call roll-ups: the range cache the collector
/// shares (if used), and the retention that says which finer sources still hold a bucket whole.
#[derive(Debug, Clone)]
pub struct Rollups {
    cache: Option<Arc<CallRangeCache>>,
    retention: (RollupPolicy, u32),
    /// The buckets behind, read once for a window that holds every window read after.
    behind: Option<Arc<rollup::Behind>>,
}

impl Rollups {
    /// The collector's cache and retention.
    pub fn of(state: &AppState) -> Rollups {
        Rollups {
            cache: Some(Arc::clone(&state.call_cache)),
            retention: state.retention,
            behind: None,
        }
    }

    /// The same, with the buckets behind in `window` read now, once, for the many windows
    /// inside it that are read next (a series' buckets).
    pub fn behind_in(self, store: &dyn Store, window: Window) -> Result<Rollups, StoreError> {
        let behind = rollup::Behind::read(store, self.kept(), (window.since_ms, window.until_ms))?;
        Ok(Rollups {
            behind: Some(Arc::new(behind)),
            ..self
        })
    }

    fn kept(&self) -> rollup::Kept {
        let (policy, raw_days) = self.retention;
        rollup::Kept::at(policy, raw_days, clock::now_ms() as i64)
    }

    /// The same, reading without the range cache: for many short ranges, each cheap to read
    /// again, which would only push the long windows' merged ranges out of it.
    pub fn without_cache(self) -> Rollups {
        Rollups {
            cache: None,
            ..self
        }
    }

    /// The series of `window` for `dimensions` (API, AI), merged from the roll-ups.
    pub(crate) fn read(
        &self,
        store: &dyn Store,
        window: Window,
        dimensions: (&[ApiDimension], &[AiDimension]),
        each_api: &mut dyn FnMut(&ApiSeries),
        each_ai: &mut dyn FnMut(&AiSeries),
    ) -> Result<(), StoreError> {
        let range = (window.since_ms, window.until_ms);
        let behind = match &self.behind {
            Some(behind) => rollup::Behind::clone(behind),
            None => rollup::Behind::read(store, self.kept(), range)?,
        };
        rollup::read_call_window_behind(
            store,
            self.cache.as_deref(),
            behind,
            range,
            dimensions,
            each_api,
            each_ai,
        )
    }
}

/// The API statistics of `window`, listing `top` groups: raw records for short windows,
/// roll-ups for longer ones. Blocking: call it on the blocking pool or a thread of its own.
pub fn read_api_statistics(
    store: &dyn Store,
    rollups: &Rollups,
    window: Window,
    group_by: Option<ApiGroupBy>,
    top: usize,
) -> Result<ApiStats, StoreError> {
    let seconds = (window.until_ms - window.since_ms) as f64 / 1000.0;
    let mut builder = ApiStatsBuilder::new(seconds, group_by).with_top(top);
    if from_raw(window) {
        store.scan_api_calls(window.since_ms, window.until_ms, &mut |row| {
            builder.add(row)
        })?;
        return Ok(builder.finish());
    }
    let mut dimensions = vec![ApiDimension::Status, ApiDimension::Endpoint];
    if group_by == Some(ApiGroupBy::User) {
        dimensions.push(ApiDimension::User);
    }
    rollups.read(
        store,
        window,
        (&dimensions, &[]),
        &mut |series| builder.add_series(series),
        &mut |_| {},
    )?;
    Ok(builder.finish().from_rollups())
}

/// The AI statistics of `window`, listing `top` groups (as [`read_api_statistics`]).
pub fn read_ai_statistics(
    store: &dyn Store,
    rollups: &Rollups,
    window: Window,
    group_by: Option<AiGroupBy>,
    top: usize,
) -> Result<AiStats, StoreError> {
    let mut builder = AiStatsBuilder::new(group_by).with_top(top);
    if from_raw(window) {
        store.scan_ai_calls(window.since_ms, window.until_ms, &mut |row| {
            builder.add(row)
        })?;
        return Ok(builder.finish());
    }
    let mut dimensions = vec![AiDimension::Model, AiDimension::User];
    if group_by == Some(AiGroupBy::Provider) {
        dimensions.push(AiDimension::Provider);
    }
    rollups.read(
        store,
        window,
        (&[], &dimensions),
        &mut |_| {},
        &mut |series| builder.add_series(series),
    )?;
    Ok(builder.finish().from_rollups())
}

/// The API statistics of `window`, listing `top` groups.
pub async fn api_statistics(
    state: &AppState,
    window: Window,
    group_by: Option<ApiGroupBy>,
    top: usize,
) -> Result<ApiStats, ApiError> {
    let rollups = Rollups::of(state);
    Ok(state
        .with_store(move |store| read_api_statistics(store, &rollups, window, group_by, top))
        .await?)
}

/// The AI statistics of `window`, listing `top` groups.
pub async fn ai_statistics(
    state: &AppState,
    window: Window,
    group_by: Option<AiGroupBy>,
    top: usize,
) -> Result<AiStats, ApiError> {
    let rollups = Rollups::of(state);
    Ok(state
        .with_store(move |store| read_ai_statistics(store, &rollups, window, group_by, top))
        .await?)
}

/// API call statistics.
pub async fn api_stats(
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = query.window.window_at(clock::now_ms())?;
    let group_by: Option<ApiGroupBy> = group_by(&query, "`endpoint`, `user` or `status`")?;
    let stats = api_statistics(&state, window, group_by, query.top()?).await?;
    Ok(WindowStats::answer(window, stats))
}

/// AI call statistics.
pub async fn ai_stats(
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let window = query.window.window_at(clock::now_ms())?;
    let group_by: Option<AiGroupBy> = group_by(&query, "`model`, `user` or `provider`")?;
    let stats = ai_statistics(&state, window, group_by, query.top()?).await?;
    Ok(WindowStats::answer(window, stats))
}
