//! `GET /api/v1/monitoring/timeseries?hours=` (or `from=&to=`): the window's API, AI and
//! web-vitals numbers over time, in columns for charts ([`crate::timeseries`] cuts the window
//! and builds the columns).
//!
//! Per bucket (its part inside the window):
//! - **API and AI calls**: the code `api/stats` and `ai/stats` run for a long window,
//!   [`ApiStatsBuilder`] and [`AiStatsBuilder`] fed by [`rollup::read_call_window`]: whole
//!   minutes, hours and days from the roll-ups, the minutes not rolled since their calls
//!   changed and the minutes the window's edges cut from the raw calls. So each bucket's
//!   numbers are the raw calls' (counts exact, percentiles within 1 %) and fresh to the last
//!   commit, as `api/stats?from=&to=` answers for the same range.
//! - **Web vitals**: p75 and count as `frontend/vitals` reads them ([`read_vitals`]): from the
//!   raw reports for a bucket within the last day (the exact nearest-rank p75, the newest
//!   minute included), from the per-minute roll-ups beyond (within 1 %). One bucket is read
//!   at a time, so memory holds one bucket's reports, not the window's.
//!
//! All of it is read in one task on the blocking pool.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::backend_stats::{AiGroupBy, AiStatsBuilder, ApiStatsBuilder, MAX_TRACKED_GROUPS};
use crate::call_rollup::{AiDimension, ApiDimension};
use crate::clock::{self, MS_PER_HOUR};
use crate::envelope;
use crate::error::ApiError;
use crate::routes::backend_stats::Rollups;
use crate::routes::vitals::read_vitals;
use crate::state::AppState;
use crate::store::{Store, StoreError};
use crate::timeseries::{BucketCache, BucketPoint, Timeseries, TimeseriesBuilder};
use crate::window::{Window, WindowParams};

/// The query parameters: the window, as every statistics endpoint takes it.
#[derive(Debug, Deserialize)]
pub struct TimeseriesQuery {
    #[serde(flatten)]
    pub window: WindowParams,
}

/// The series of `window`, bucket by bucket, at `now_ms` (which says which vitals are still
/// kept raw), taking the buckets that ended minutes ago from `cache` when it has them.
/// Blocking: call it on the blocking pool or a thread of its own.
pub fn read_timeseries(
    store: &dyn Store,
    rollups: &Rollups,
    cache: &BucketCache,
    window: Window,
    now_ms: f64,
) -> Result<Timeseries, StoreError> {
    let mut series = TimeseriesBuilder::new(window);
    // The dirty marks of the whole window, once, not once per bucket.
    let rollups = rollups.clone().behind_in(store, window)?;
    let now = clock::to_epoch_ms(now_ms);
    let step_ms = series.buckets().step_ms;
    // Read before the cache: what the store holds now reflects every erasure up to it.
    let generation = store.erasure_generation()?;
    for range in series.buckets().ranges() {
        // A bucket the window's edge cuts is another range at the next request: not kept.
        let whole = range.1 - range.0 == step_ms;
        // (A cut bucket is never kept, so never found.)
        let point = match cache.get(range, now, generation) {
            Some(point) => point,
            None => {
                let point = Arc::new(read_bucket(store, &rollups, range, now_ms)?);
                if whole {
                    cache.put(range, now, generation, Arc::clone(&point));
                }
                point
            }
        };
        series.push_point(&point);
    }
    Ok(series.finish())
}

/// The numbers of the bucket `[from_ms, to_ms)`.
fn read_bucket(
    store: &dyn Store,
    rollups: &Rollups,
    (from_ms, to_ms): (i64, i64),
    now_ms: f64,
) -> Result<BucketPoint, StoreError> {
    let bucket = Window {
        hours: (to_ms - from_ms) as f64 / MS_PER_HOUR,
        since_ms: from_ms,
        until_ms: to_ms,
    };
    // The status series make the API totals, the model series the AI totals and the
    // per-model costs: no other dimension is read.
    let mut api = ApiStatsBuilder::new((to_ms - from_ms) as f64 / 1000.0, None);
    let mut ai = AiStatsBuilder::new(Some(AiGroupBy::Model)).with_top(MAX_TRACKED_GROUPS);
    rollups.read(
        store,
        bucket,
        (&[ApiDimension::Status], &[AiDimension::Model]),
        &mut |s| api.add_series(s),
        &mut |s| ai.add_series(s),
    )?;
    let vitals = read_vitals(store, bucket, now_ms, false)?.vitals;
    Ok(BucketPoint::of(&api.finish(), &ai.finish(), &vitals))
}

/// The window's values over time.
pub async fn timeseries(
    state: web::Data<AppState>,
    query: web::Query<TimeseriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = clock::now_ms();
    let window = query.window.window_at(now)?;
    // Without the shared range cache: it keeps 256 ranges and empties itself when full, and a
    // series reads up to 180 ranges per request, so two charts of different windows would
    // empty it every refresh, losing the merged 30-day ranges the dashboard's statistics
    // reuse. A bucket reads at most 15 minute, 6 hour or 1 day roll-up rows per series, cheap
    // to read again, so caching it would save little.
    let rollups = Rollups::of(&state).without_cache();
    let series = state
        .with_store({
            let cache = Arc::clone(&state.timeseries_cache);
            move |store| read_timeseries(store, &rollups, &cache, window, now)
        })
        .await?;
    Ok(envelope::success(&series))
}
