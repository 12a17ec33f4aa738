//! A window's values over time, for charts: the window cut into buckets of one step, and per
//! bucket the API, AI and web-vitals numbers, as columns (one array per value, aligned with the
//! bucket starts), the shape uPlot and most chart libraries take as they are.
//!
//! This module is the pure part: which step ([`Buckets::of`]), where the buckets begin and end,
//! which models get a cost series of their own ([`fold_top_models`]), and the columns built
//! from each bucket's statistics ([`TimeseriesBuilder`]). Reading the store is
//! [`crate::routes::timeseries`]'.
//!
//! ```text
//!  from_ms                                                         to_ms
//!     │ first (partial) │  step  │  step  │  ...  │  step  │ last (partial) │
//!  ───┼────────────────┼────────┼────────┼───────┼────────┼────────────────┼──▶
//!   times_ms[0]: the multiple of step_ms holding from_ms;  times_ms[n-1]: the one holding to_ms - 1
//! ```
//!
//! The edge buckets hold only their part inside the window, so a bucket's numbers are those
//! `api/stats` and `ai/stats` answer for `from`/`to` set to that part.

use std::sync::Arc;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use perfwatch_protocol::VitalName;

use crate::backend_stats::{AiStats, ApiStats, OTHER};
use crate::erasure_cache::StatsCache;
use crate::stats::VitalSummaries;
use crate::window::Window;

/// The steps a series may take, shortest first: 1 min, 5 min, 15 min, 1 h, 6 h, 1 day. Each
/// divides the next, so buckets of every step line up with the roll-ups' minutes, hours and
/// (UTC) days.
pub const STEPS_MS: [i64; 6] = [
    60_000,
    5 * 60_000,
    15 * 60_000,
    3_600_000,
    6 * 3_600_000,
    86_400_000,
];

/// Most buckets a series holds: the shortest step that keeps a window within this is taken.
/// A chart a few hundred pixels wide shows no more, and each bucket costs a few store reads.
pub const MAX_BUCKETS: usize = 180;

/// Models with a cost series of their own; the others are summed as [`OTHER`].
pub const TOP_MODELS: usize = 5;

/// How a window `[from_ms, to_ms)` is cut: buckets of `step_ms` aligned to multiples of it
/// (from the epoch), the first one holding `from_ms`, the last one holding `to_ms - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    /// The window's start, epoch ms.
    pub from_ms: i64,
    /// The window's end (excluded), epoch ms.
    pub to_ms: i64,
    /// A bucket's length, ms (one of [`STEPS_MS`]).
    pub step_ms: i64,
    /// The first bucket's start: the multiple of `step_ms` at or before `from_ms`.
    pub first_ms: i64,
    /// How many buckets.
    pub count: usize,
}

impl Buckets {
    /// The buckets of `[from_ms, to_ms)` with the shortest step giving at most
    /// [`MAX_BUCKETS`] (the longest step when none does, which no window of at most 720 hours
    /// needs). An empty window is taken as its first millisecond.
    pub fn of(from_ms: i64, to_ms: i64) -> Self {
        let to_ms = to_ms.max(from_ms.saturating_add(1));
        let count = |step: i64| (to_ms - 1).div_euclid(step) - from_ms.div_euclid(step) + 1;
        let step_ms = STEPS_MS
            .into_iter()
            .find(|&step| count(step) <= MAX_BUCKETS as i64)
            .unwrap_or(STEPS_MS[STEPS_MS.len() - 1]);
        Self {
            from_ms,
            to_ms,
            step_ms,
            first_ms: from_ms.div_euclid(step_ms) * step_ms,
            count: usize::try_from(count(step_ms)).unwrap_or(0),
        }
    }

    /// Each bucket's start, ascending (the series' `times_ms`).
    pub fn starts(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.count as i64).map(move |i| self.first_ms + i * self.step_ms)
    }

    /// Each bucket's part inside the window, `[from, to)`: whole buckets but for the first and
    /// the last, which the window's edges may cut.
    pub fn ranges(&self) -> Vec<(i64, i64)> {
        self.starts()
            .map(|start| {
                (
                    start.max(self.from_ms),
                    (start + self.step_ms).min(self.to_ms),
                )
            })
            .collect()
    }
}

/// One model's cost in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCost {
    /// The model, or [`OTHER`] for what a bucket already summed (a roll-up's less busy keys).
    pub model: String,
    /// Its calls' cost, USD (as `ai/stats`' `cost.cost_usd`).
    pub cost_usd: f64,
    /// Its calls.
    pub calls: u64,
}

/// One model's cost per bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSeries {
    /// The model, or [`OTHER`].
    pub model: String,
    /// Its cost per bucket, USD (0 in a bucket where it made no call).
    pub values: Vec<f64>,
}

/// The cost series by model: the `top` models costing the most over all `buckets`
/// (ties: more calls first, then by name) each get a series, costliest first; every other
/// model, and what the buckets already counted under [`OTHER`], is summed per bucket into a
/// last series named [`OTHER`], left out when no such call exists.
pub fn fold_top_models(buckets: &[Vec<ModelCost>], top: usize) -> Vec<ModelSeries> {
    let mut totals: std::collections::HashMap<&str, (f64, u64)> = Default::default();
    for cost in buckets.iter().flatten().filter(|c| c.model != OTHER) {
        let total = totals.entry(cost.model.as_str()).or_default();
        total.0 += cost.cost_usd;
        total.1 += cost.calls;
    }
    let mut ranked: Vec<(&str, (f64, u64))> = totals.into_iter().collect();
    ranked.sort_by(|(a, (cost_a, calls_a)), (b, (cost_b, calls_b))| {
        cost_b
            .total_cmp(cost_a)
            .then_with(|| calls_b.cmp(calls_a))
            .then_with(|| a.cmp(b))
    });
    let kept: Vec<&str> = ranked.iter().take(top).map(|(model, _)| *model).collect();
    let mut series: Vec<ModelSeries> = kept
        .iter()
        .map(|model| ModelSeries {
            model: (*model).to_owned(),
            values: vec![0.0; buckets.len()],
        })
        .collect();
    let mut other = ModelSeries {
        model: OTHER.to_owned(),
        values: vec![0.0; buckets.len()],
    };
    let mut any_other = false;
    for (i, bucket) in buckets.iter().enumerate() {
        for cost in bucket {
            let slot = match kept.iter().position(|model| *model == cost.model) {
                Some(at) => &mut series[at],
                None => {
                    any_other = true;
                    &mut other
                }
            };
            slot.values[i] += cost.cost_usd;
        }
    }
    if any_other {
        series.push(other);
    }
    series
}

/// The API columns: one value per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiColumns {
    /// Calls.
    pub requests: Vec<u64>,
    /// Calls per second over the bucket's part inside the window.
    pub requests_per_second: Vec<f64>,
    /// Share of calls answered 5xx, percent (`null` without calls).
    pub error_rate_percent: Vec<Option<f64>>,
    /// Median latency, ms (`null` without calls), within 1 %.
    pub latency_p50_ms: Vec<Option<f64>>,
    /// 95th percentile latency, ms (`null` without calls), within 1 %.
    pub latency_p95_ms: Vec<Option<f64>>,
    /// 99th percentile latency, ms (`null` without calls), within 1 %.
    pub latency_p99_ms: Vec<Option<f64>>,
}

/// The AI columns: one value per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AiColumns {
    /// Calls.
    pub calls: Vec<u64>,
    /// Cost, USD (`ai/stats`' `cost.cost_usd`: the collector's price, else the sender's).
    pub cost_usd: Vec<f64>,
    /// Input plus output tokens.
    pub tokens: Vec<u64>,
    /// The costliest models' cost over the window, then `other`.
    pub cost_usd_by_model: Vec<ModelSeries>,
}

/// One web vital's columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VitalColumn {
    /// The 75th percentile (ms, unitless for CLS; `null` without measurements): exact within
    /// the last day, within 1 % beyond.
    pub p75: Vec<Option<f64>>,
    /// Measurements.
    pub count: Vec<u64>,
}

/// Every vital's columns, in [`VitalName::ALL`] order; serialized as a map keyed by name.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalColumns(pub [(VitalName, VitalColumn); 5]);

impl Default for VitalColumns {
    fn default() -> Self {
        Self(VitalName::ALL.map(|name| (name, VitalColumn::default())))
    }
}

impl Serialize for VitalColumns {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, column) in &self.0 {
            map.serialize_entry(name.as_str(), column)?;
        }
        map.end()
    }
}

/// The answer of `GET /api/v1/monitoring/timeseries`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeseries {
    /// The window's length, hours.
    pub hours: f64,
    /// The window's start, epoch ms.
    pub from_ms: i64,
    /// The window's end (excluded), epoch ms.
    pub to_ms: i64,
    /// A bucket's length, ms.
    pub step_ms: i64,
    /// Each bucket's start, ascending, a multiple of `step_ms`.
    pub times_ms: Vec<i64>,
    /// Backend API calls per bucket.
    pub api: ApiColumns,
    /// AI model calls per bucket.
    pub ai: AiColumns,
    /// Web vitals per bucket, as `frontend/vitals` reads the bucket (raw within the last day).
    pub vitals: VitalColumns,
}

/// What a series keeps of one bucket's statistics (and what [`BucketCache`] holds).
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPoint {
    pub requests: u64,
    pub requests_per_second: f64,
    /// `None` without calls.
    pub error_rate_percent: Option<f64>,
    /// p50, p95, p99.
    pub latency_ms: [Option<f64>; 3],
    pub ai_calls: u64,
    pub cost_usd: f64,
    /// Input plus output.
    pub tokens: u64,
    /// Every model's cost in the bucket.
    pub models: Vec<ModelCost>,
    /// Each vital's p75 and count, in [`VitalName::ALL`] order.
    pub vitals: [(Option<f64>, u64); 5],
}

impl BucketPoint {
    /// The numbers of a bucket's API statistics, AI statistics grouped by model, and vitals.
    pub fn of(api: &ApiStats, ai: &AiStats, vitals: &VitalSummaries) -> Self {
        Self {
            requests: api.total_requests,
            requests_per_second: api.requests_per_second,
            error_rate_percent: (api.total_requests > 0).then_some(api.error_rate_percent),
            latency_ms: [api.latency_ms.p50, api.latency_ms.p95, api.latency_ms.p99],
            ai_calls: ai.total_calls,
            cost_usd: ai.cost.cost_usd,
            tokens: ai.tokens.input.saturating_add(ai.tokens.output),
            models: ai
                .groups
                .iter()
                .flatten()
                .map(|group| ModelCost {
                    model: group.key.clone(),
                    cost_usd: group.cost.cost_usd,
                    calls: group.calls,
                })
                .collect(),
            vitals: VitalName::ALL.map(|name| {
                let summary = vitals.get(name);
                (
                    summary.and_then(|s| s.p75),
                    summary.map_or(0, |s| u64::try_from(s.count).unwrap_or(u64::MAX)),
                )
            }),
        }
    }
}

// Buckets are cached as the statistics' merged ranges are: once they ended
// [`CACHE_STABLE_AFTER_MS`] ago (newer ones may still be written to), for [`CACHE_TTL`] while
// they ended less than [`CACHE_OLD_AFTER_MS`] ago (a late call or vital shows after that).
pub use crate::rollup::{CACHE_STABLE_AFTER_MS, CACHE_TTL};
/// Buckets that ended this long ago change only with calls or vitals dated that far back
/// (a page's offline store sending the next day): they are kept [`CACHE_TTL_OLD`].
pub const CACHE_OLD_AFTER_MS: i64 = 3_600_000;
/// How long a cached bucket that ended over an hour ago is used.
pub const CACHE_TTL_OLD: Duration = Duration::from_secs(600);
/// Buckets kept at most (a point is a few hundred bytes, more with many models): when full,
/// those read over [`CACHE_TTL_OLD`] ago go, and if none has, all.
pub const CACHE_ENTRIES: usize = 2048;

/// The points of buckets read lately, by their range: a dashboard refreshing a 30-day chart
/// every 30 seconds reads its 121 buckets again, of which only the newest changes. None
/// outlives an erasure (`generation`, see [`crate::erasure_cache`]).
#[derive(Debug)]
pub struct BucketCache(StatsCache<(i64, i64), Arc<BucketPoint>>);

impl Default for BucketCache {
    fn default() -> Self {
        BucketCache(StatsCache::new(CACHE_ENTRIES, CACHE_TTL_OLD))
    }
}

impl BucketCache {
    /// The point of `range` cached at `now_ms`, if still fresh and read under the store's
    /// erasure `generation`.
    pub fn get(&self, range: (i64, i64), now_ms: i64, generation: i64) -> Option<Arc<BucketPoint>> {
        let ttl = if now_ms - range.1 >= CACHE_OLD_AFTER_MS {
            CACHE_TTL_OLD
        } else {
            CACHE_TTL
        };
        self.0.get(&range, generation, ttl)
    }

    /// Keeps `point` for `range`, read under erasure `generation`, when that range ended
    /// [`CACHE_STABLE_AFTER_MS`] before `now_ms`.
    pub fn put(&self, range: (i64, i64), now_ms: i64, generation: i64, point: Arc<BucketPoint>) {
        if now_ms - range.1 >= CACHE_STABLE_AFTER_MS {
            self.0.put(range, generation, point);
        }
    }
}

/// Builds a [`Timeseries`] from each bucket's statistics, bucket after bucket.
#[derive(Debug)]
pub struct TimeseriesBuilder {
    hours: f64,
    buckets: Buckets,
    api: ApiColumns,
    ai: AiColumns,
    models: Vec<Vec<ModelCost>>,
    vitals: VitalColumns,
}

impl TimeseriesBuilder {
    /// A series over `window`, cut as [`Buckets::of`] says.
    pub fn new(window: Window) -> Self {
        Self {
            hours: window.hours,
            buckets: Buckets::of(window.since_ms, window.until_ms),
            api: ApiColumns::default(),
            ai: AiColumns::default(),
            models: Vec::new(),
            vitals: VitalColumns::default(),
        }
    }

    /// The buckets, whose statistics [`TimeseriesBuilder::push_point`] takes in order.
    pub fn buckets(&self) -> Buckets {
        self.buckets
    }

    /// Adds the next bucket's numbers (its models' costs are folded over the whole window by
    /// [`fold_top_models`] when the series is finished).
    pub fn push_point(&mut self, point: &BucketPoint) {
        let a = &mut self.api;
        a.requests.push(point.requests);
        a.requests_per_second.push(point.requests_per_second);
        a.error_rate_percent.push(point.error_rate_percent);
        a.latency_p50_ms.push(point.latency_ms[0]);
        a.latency_p95_ms.push(point.latency_ms[1]);
        a.latency_p99_ms.push(point.latency_ms[2]);
        self.ai.calls.push(point.ai_calls);
        self.ai.cost_usd.push(point.cost_usd);
        self.ai.tokens.push(point.tokens);
        self.models.push(point.models.clone());
        for ((_, column), (p75, count)) in self.vitals.0.iter_mut().zip(point.vitals) {
            column.p75.push(p75);
            column.count.push(count);
        }
    }

    /// The series. Buckets never pushed are left out of the columns, so the caller pushes
    /// exactly [`Buckets::count`] of them.
    pub fn finish(self) -> Timeseries {
        let mut ai = self.ai;
        ai.cost_usd_by_model = fold_top_models(&self.models, TOP_MODELS);
        Timeseries {
            hours: self.hours,
            from_ms: self.buckets.from_ms,
            to_ms: self.buckets.to_ms,
            step_ms: self.buckets.step_ms,
            times_ms: self.buckets.starts().take(self.models.len()).collect(),
            api: self.api,
            ai,
            vitals: self.vitals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(requests: u64) -> Arc<BucketPoint> {
        Arc::new(BucketPoint {
            requests,
            requests_per_second: 0.0,
            error_rate_percent: None,
            latency_ms: [None; 3],
            ai_calls: 0,
            cost_usd: 0.0,
            tokens: 0,
            models: Vec::new(),
            vitals: [(None, 0); 5],
        })
    }

    #[test]
    fn the_cache_keeps_buckets_that_ended_minutes_ago_and_no_more_than_its_bound() {
        let cache = BucketCache::default();
        let now = T0 + HOUR;
        // The newest minute may still be written to: not kept.
        cache.put((now - MINUTE, now), now, 1, point(1));
        assert_eq!(cache.get((now - MINUTE, now), now, 1), None);
        // One that ended two minutes ago is.
        let old = (now - 3 * MINUTE, now - 2 * MINUTE);
        cache.put(old, now, 1, point(2));
        assert_eq!(cache.get(old, now, 1).map(|p| p.requests), Some(2));
        assert_eq!(
            cache.get((old.0, old.1 + 1), now, 1),
            None,
            "by exact range"
        );
        // A user was erased (generation 2, by any collector on the store): nothing read before
        // answers, and what a request read before the erasure is not kept.
        assert_eq!(cache.get(old, now, 2), None);
        cache.put(old, now, 1, point(2));
        assert_eq!(cache.get(old, now, 2), None);
        // Full: what has not expired is dropped whole, never more than the bound kept.
        for i in 0..CACHE_ENTRIES as i64 + 10 {
            cache.put((i, i + 1), now, 2, point(3));
        }
        assert!(cache.0.len() <= CACHE_ENTRIES, "{}", cache.0.len());
    }
    use crate::backend_stats::{
        AiCallRow, AiGroupBy, AiStatsBuilder, ApiCallRow, ApiStatsBuilder, MAX_TRACKED_GROUPS,
    };
    use crate::stats::VitalSummary;

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 3_600_000;
    /// 2026-11-26T07:00:00Z.
    const T0: i64 = 1_795_676_400_000;

    #[test]
    fn the_step_is_the_shortest_giving_at_most_180_buckets() {
        // An hour not on a minute boundary: 61 buckets of a minute, both edges partial.
        let b = Buckets::of(T0 + 1_234, T0 + HOUR + 1_234);
        assert_eq!((b.step_ms, b.count), (MINUTE, 61));
        // Three aligned hours are exactly 180 minutes; one millisecond off, 181: 5 minutes.
        assert_eq!(Buckets::of(T0, T0 + 3 * HOUR).step_ms, MINUTE);
        let b = Buckets::of(T0 + 1, T0 + 3 * HOUR + 1);
        assert_eq!((b.step_ms, b.count), (5 * MINUTE, 37));
        assert_eq!(Buckets::of(T0, T0 + 24 * HOUR).step_ms, 15 * MINUTE);
        assert_eq!(Buckets::of(T0, T0 + 7 * 24 * HOUR).step_ms, HOUR);
        assert_eq!(Buckets::of(T0, T0 + 30 * 24 * HOUR).step_ms, 6 * HOUR);
        for hours in [0.001, 0.25, 1.0, 2.99, 3.5, 12.0, 45.0, 180.0, 500.0, 720.0] {
            let b = Buckets::of(T0 + 7, T0 + 7 + (hours * HOUR as f64) as i64);
            assert!(b.count <= MAX_BUCKETS, "{hours} h: {b:?}");
            if let Some(shorter) = STEPS_MS.iter().rev().find(|&&s| s < b.step_ms) {
                let finer = (b.to_ms - 1) / shorter - b.from_ms / shorter + 1;
                assert!(finer > MAX_BUCKETS as i64, "{hours} h could use {shorter}");
            }
        }
    }

    #[test]
    fn buckets_are_aligned_and_the_edges_clipped_to_the_window() {
        let (from, to) = (T0 + 90_000, T0 + 5 * MINUTE + 30_000);
        let b = Buckets::of(from, to);
        let starts: Vec<i64> = b.starts().collect();
        assert_eq!(
            starts,
            [
                T0 + MINUTE,
                T0 + 2 * MINUTE,
                T0 + 3 * MINUTE,
                T0 + 4 * MINUTE,
                T0 + 5 * MINUTE
            ]
        );
        assert!(starts.iter().all(|s| s % MINUTE == 0));
        let ranges = b.ranges();
        assert_eq!(ranges[0], (from, T0 + 2 * MINUTE));
        assert_eq!(ranges[1], (T0 + 2 * MINUTE, T0 + 3 * MINUTE));
        assert_eq!(ranges[4], (T0 + 5 * MINUTE, to));
        // The ranges tile the window: nothing counted twice or lost.
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0));
        // An aligned window has whole buckets only; `to` itself is not in it.
        let b = Buckets::of(T0, T0 + 2 * MINUTE);
        assert_eq!(
            b.ranges(),
            [(T0, T0 + MINUTE), (T0 + MINUTE, T0 + 2 * MINUTE)]
        );
        // Before 1970 too (floor, not truncation).
        let b = Buckets::of(-90_000, -30_000);
        assert_eq!(b.starts().collect::<Vec<_>>(), [-2 * MINUTE, -MINUTE]);
        assert_eq!(Buckets::of(T0, T0).count, 1);
    }

    fn cost(model: &str, cost_usd: f64) -> ModelCost {
        ModelCost {
            model: model.into(),
            cost_usd,
            calls: 1,
        }
    }

    #[test]
    fn the_costliest_models_get_a_series_and_the_rest_is_other() {
        let buckets = vec![
            vec![cost("a", 1.0), cost("b", 5.0), cost("c", 0.5)],
            vec![],
            vec![cost("a", 3.0), cost("d", 0.25), cost(OTHER, 0.125)],
        ];
        let series = fold_top_models(&buckets, 2);
        let names: Vec<&str> = series.iter().map(|s| s.model.as_str()).collect();
        assert_eq!(names, ["b", "a", OTHER]);
        assert_eq!(series[0].values, [5.0, 0.0, 0.0]);
        assert_eq!(series[1].values, [1.0, 0.0, 3.0]);
        assert_eq!(series[2].values, [0.5, 0.0, 0.375]);
        // Per bucket, the series sum to the bucket's cost.
        for (i, bucket) in buckets.iter().enumerate() {
            let want: f64 = bucket.iter().map(|c| c.cost_usd).sum();
            let got: f64 = series.iter().map(|s| s.values[i]).sum();
            assert_eq!(got, want, "bucket {i}");
        }
        // Few enough models: no `other`; no calls at all: no series.
        let series = fold_top_models(&buckets[..1], 5);
        assert_eq!(series.len(), 3);
        assert!(series.iter().all(|s| s.model != OTHER));
        assert_eq!(fold_top_models(&[vec![], vec![]], 5), []);
        // Unpriced models (cost 0) rank by calls, then by name.
        let mut busy = cost("z", 0.0);
        busy.calls = 9;
        let series = fold_top_models(&[vec![cost("y", 0.0), cost("x", 0.0), busy]], 2);
        let names: Vec<&str> = series.iter().map(|s| s.model.as_str()).collect();
        assert_eq!(names, ["z", "x", OTHER]);
    }

    fn api_call(status: u16, duration_ms: f64) -> ApiCallRow {
        ApiCallRow {
            endpoint: "/chat".into(),
            method: "POST".into(),
            status,
            duration_ms,
            user_id: None,
        }
    }

    fn ai_call(model: &str, cost: f64) -> AiCallRow {
        AiCallRow {
            model: model.into(),
            provider: None,
            user_id: None,
            input_tokens: 100,
            output_tokens: 20,
            cached_input_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            duration_ms: 900.0,
            success: true,
            sent_cost_usd: Some(cost),
            computed_cost_usd: None,
        }
    }

    #[test]
    fn columns_hold_each_buckets_numbers_and_null_where_there_is_nothing() {
        let window = Window {
            hours: 2.0 / 60.0,
            since_ms: T0,
            until_ms: T0 + 2 * MINUTE,
        };
        let mut builder = TimeseriesBuilder::new(window);
        assert_eq!(builder.buckets().count, 2);

        let mut api = ApiStatsBuilder::new(60.0, None);
        for (status, duration) in [(200, 10.0), (200, 20.0), (500, 30.0), (200, 40.0)] {
            api.add(api_call(status, duration));
        }
        let mut ai = AiStatsBuilder::new(Some(AiGroupBy::Model)).with_top(MAX_TRACKED_GROUPS);
        ai.add(ai_call("gpt-4o", 0.5));
        ai.add(ai_call("gpt-4o-mini", 0.25));
        let mut vitals =
            VitalSummaries(VitalName::ALL.map(|name| (name, VitalSummary::of(name, Vec::new()))));
        vitals.0[0].1 = VitalSummary::of(VitalName::LCP, vec![1000.0, 2000.0, 3000.0, 4000.0]);
        builder.push_point(&BucketPoint::of(&api.finish(), &ai.finish(), &vitals));

        let empty =
            VitalSummaries(VitalName::ALL.map(|name| (name, VitalSummary::of(name, Vec::new()))));
        builder.push_point(&BucketPoint::of(
            &ApiStatsBuilder::new(60.0, None).finish(),
            &AiStatsBuilder::new(Some(AiGroupBy::Model)).finish(),
            &empty,
        ));
        let series = builder.finish();

        assert_eq!(series.times_ms, [T0, T0 + MINUTE]);
        assert_eq!(series.step_ms, MINUTE);
        assert_eq!(series.api.requests, [4, 0]);
        assert_eq!(series.api.requests_per_second, [4.0 / 60.0, 0.0]);
        assert_eq!(series.api.error_rate_percent, [Some(25.0), None]);
        assert_eq!(series.api.latency_p95_ms[1], None);
        let p50 = series.api.latency_p50_ms[0].unwrap_or_default();
        assert!((p50 - 20.0).abs() <= 0.2, "{p50}");
        assert_eq!(series.ai.calls, [2, 0]);
        assert_eq!(series.ai.cost_usd, [0.75, 0.0]);
        assert_eq!(series.ai.tokens, [240, 0]);
        let by_model = &series.ai.cost_usd_by_model;
        assert_eq!(by_model[0].model, "gpt-4o");
        assert_eq!(by_model[0].values, [0.5, 0.0]);
        assert_eq!(by_model[1].values, [0.25, 0.0]);
        let (name, lcp) = &series.vitals.0[0];
        assert_eq!(*name, VitalName::LCP);
        assert_eq!(lcp.p75, [Some(3000.0), None]);
        assert_eq!(lcp.count, [4, 0]);

        let json = serde_json::to_value(&series).unwrap_or_default();
        let keys: Vec<&String> = json["vitals"]
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 5);
        assert_eq!(
            json["vitals"]["CLS"]["p75"],
            serde_json::json!([null, null])
        );
        assert_eq!(
            json["api"]["error_rate_percent"][1],
            serde_json::Value::Null
        );
    }
}
