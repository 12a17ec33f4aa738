//! Statistics over a backend's records in a window: API calls (count, rate, error rates,
//! latency percentiles, status distribution, slowest endpoints) and AI model calls (calls,
//! success rate, tokens, cost, latency percentiles, top users by cost), overall and grouped.
//!
//! Rows are read one at a time from the store and folded into bounded aggregates: latencies go
//! into a DDSketch (1 % relative error) per group, and at most [`MAX_TRACKED_GROUPS`] groups are
//! tracked, later new keys being folded into `other` and counted, so neither memory nor the
//! answer grows with label cardinality. The answer lists the [`TOP_GROUPS`] largest groups and
//! folds the rest into `other` too.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::call_rollup::{AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::sketch::DdSketch;

/// Distinct group keys tracked while reading; later keys are counted under [`OTHER`].
pub const MAX_TRACKED_GROUPS: usize = 10_000;
/// Groups listed in an answer, by count (AI users: by cost); the rest are summed as [`OTHER`].
pub const TOP_GROUPS: usize = 20;
/// Endpoints listed as the slowest (by p95).
pub const SLOWEST: usize = 10;
/// The key of the folded groups.
pub const OTHER: &str = "other";

/// One stored API call, as the statistics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallRow {
    pub endpoint: String,
    pub method: String,
    pub status: u16,
    pub duration_ms: f64,
    pub user_id: Option<String>,
}

/// One stored AI call, as the statistics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AiCallRow {
    pub model: String,
    pub provider: Option<String>,
    pub user_id: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub duration_ms: f64,
    pub success: bool,
    pub sent_cost_usd: Option<f64>,
    pub computed_cost_usd: Option<f64>,
}

/// What API statistics can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiGroupBy {
    /// `METHOD endpoint`.
    Endpoint,
    User,
    Status,
}

/// What AI statistics can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiGroupBy {
    Model,
    User,
    Provider,
}

/// Latency percentiles and extremes, ms (`null` without calls). Percentiles are within 1 % of
/// the exact value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    pub avg: Option<f64>,
    pub p50: Option<f64>,
    /// The percentile web performance reports rank by (web-vitals' p75).
    pub p75: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Latency {
    pub fn of(sketch: &DdSketch) -> Self {
        let count = sketch.count();
        Self {
            avg: (count > 0).then(|| sketch.sum() / count as f64),
            p50: sketch.quantile(0.50),
            p75: sketch.quantile(0.75),
            p90: sketch.quantile(0.90),
            p95: sketch.quantile(0.95),
            p99: sketch.quantile(0.99),
            max: sketch.max(),
        }
    }
}

/// Share of `part` in `whole`, percent (0 without any).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Up to [`MAX_TRACKED_GROUPS`] groups by key, the rest folded into one.
#[derive(Debug)]
struct Groups<A> {
    by_key: HashMap<String, A>,
    other: Option<A>,
    /// Records whose key came after the limit.
    folded_records: u64,
}

impl<A: Default> Groups<A> {
    fn new() -> Self {
        Self {
            by_key: HashMap::new(),
            other: None,
            folded_records: 0,
        }
    }

    /// The aggregate of `key`, or of the folded groups once the limit is reached (counting
    /// `records` as folded).
    fn entry(&mut self, key: &str, records: u64) -> &mut A {
        // A roll-up's own `other` (its bucket's less busy keys) is folded too.
        if key != OTHER && (self.by_key.contains_key(key) || self.by_key.len() < MAX_TRACKED_GROUPS)
        {
            return self.by_key.entry(key.to_owned()).or_default();
        }
        self.folded_records += records;
        self.other.get_or_insert_with(A::default)
    }
}

/// An API call aggregate: what a group holds, and what a roll-up series stores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiAggregate {
    pub count: u64,
    /// Calls answered 5xx.
    pub server_errors: u64,
    /// Calls answered 4xx or 5xx.
    pub errors: u64,
    pub latency: DdSketch,
}

impl ApiAggregate {
    /// Counts one call.
    pub fn add(&mut self, row: &ApiCallRow) {
        self.count += 1;
        self.server_errors += u64::from(row.status >= 500);
        self.errors += u64::from(row.status >= 400);
        self.latency.add(row.duration_ms);
    }

    /// Adds `other`'s calls.
    pub fn merge(&mut self, other: &ApiAggregate) {
        self.count += other.count;
        self.server_errors += other.server_errors;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }

    fn summary(&self, key: String) -> ApiGroup {
        ApiGroup {
            key,
            count: self.count,
            error_rate_percent: percent(self.server_errors, self.count),
            any_error_rate_percent: percent(self.errors, self.count),
            latency_ms: Latency::of(&self.latency),
        }
    }
}

/// One group of API calls in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiGroup {
    /// The group's key (`POST /api/v1/chat`, a user id, a status code), or `other`.
    pub key: String,
    pub count: u64,
    /// Share of calls answered 5xx, percent.
    pub error_rate_percent: f64,
    /// Share of calls answered 4xx or 5xx, percent.
    pub any_error_rate_percent: f64,
    pub latency_ms: Latency,
}

/// `GET /api/v1/monitoring/api/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiStats {
    /// Calls in the window.
    pub total_requests: u64,
    /// Calls per second over the window.
    pub requests_per_second: f64,
    /// Share of calls answered 5xx, percent.
    pub error_rate_percent: f64,
    /// Share of calls answered 4xx or 5xx, percent.
    pub any_error_rate_percent: f64,
    pub latency_ms: Latency,
    /// Calls by status code.
    pub status_distribution: BTreeMap<u16, u64>,
    /// The endpoints (`METHOD endpoint`) with the highest p95 latency.
    pub slowest_endpoints: Vec<ApiGroup>,
    /// With `group_by`: the largest groups by count, then `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<ApiGroup>>,
    /// Distinct keys beyond those tracked, whose calls are counted under `other`.
    pub folded_groups_records: u64,
    /// `raw` (every record of the window read) or `rollups` (the window's roll-up series).
    pub source: &'static str,
}

impl ApiStats {
    /// These statistics, marked as computed from roll-ups.
    pub fn from_rollups(self) -> Self {
        Self {
            source: "rollups",
            ..self
        }
    }
}

/// Folds API call rows into [`ApiStats`].
#[derive(Debug)]
pub struct ApiStatsBuilder {
    group_by: Option<ApiGroupBy>,
    top: usize,
    window_seconds: f64,
    all: ApiAggregate,
    statuses: BTreeMap<u16, u64>,
    endpoints: Groups<ApiAggregate>,
    groups: Groups<ApiAggregate>,
}

impl ApiStatsBuilder {
    /// Statistics over a window of `window_seconds`, grouped by `group_by`.
    pub fn new(window_seconds: f64, group_by: Option<ApiGroupBy>) -> Self {
        Self {
            group_by,
            top: TOP_GROUPS,
            window_seconds,
            all: ApiAggregate::default(),
            statuses: BTreeMap::new(),
            endpoints: Groups::new(),
            groups: Groups::new(),
        }
    }

    /// Lists the `top` largest groups (at least 1) instead of [`TOP_GROUPS`].
    pub fn with_top(mut self, top: usize) -> Self {
        self.top = top.max(1);
        self
    }

    /// Counts a roll-up series. Every call is in exactly one series of each dimension: the
    /// status series make the totals.
    pub fn add_series(&mut self, series: &ApiSeries) {
        let (key, aggregate) = (series.key.as_str(), &series.aggregate);
        match series.dimension {
            ApiDimension::Status => {
                self.all.merge(aggregate);
                if let Ok(status) = key.parse::<u16>() {
                    *self.statuses.entry(status).or_default() += aggregate.count;
                }
            }
            ApiDimension::Endpoint => self.endpoints.entry(key, aggregate.count).merge(aggregate),
            ApiDimension::User => {}
        }
        if self.group_by.map(ApiDimension::of) == Some(series.dimension) {
            self.groups.entry(key, aggregate.count).merge(aggregate);
        }
    }

    /// Counts one call.
    pub fn add(&mut self, row: ApiCallRow) {
        self.all.add(&row);
        *self.statuses.entry(row.status).or_default() += 1;
        let endpoint = format!("{} {}", row.method, row.endpoint);
        self.endpoints.entry(&endpoint, 1).add(&row);
        let key = match self.group_by {
            None => return,
            Some(ApiGroupBy::Endpoint) => endpoint,
            Some(ApiGroupBy::User) => row.user_id.clone().unwrap_or_else(|| "anonymous".into()),
            Some(ApiGroupBy::Status) => row.status.to_string(),
        };
        self.groups.entry(&key, 1).add(&row);
    }

    /// The answer.
    pub fn finish(self) -> ApiStats {
        let mut slowest: Vec<ApiGroup> = self
            .endpoints
            .by_key
            .iter()
            .map(|(key, aggregate)| aggregate.summary(key.clone()))
            .collect();
        slowest.sort_by(|a, b| {
            b.latency_ms
                .p95
                .partial_cmp(&a.latency_ms.p95)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.key.cmp(&b.key))
        });
        slowest.truncate(SLOWEST);
        let folded = self.groups.folded_records + self.endpoints.folded_records;
        let groups = self.group_by.map(|_| {
            top_groups(
                self.groups,
                self.top,
                |a| a.count as f64,
                ApiAggregate::merge,
            )
            .into_iter()
            .map(|(key, aggregate)| aggregate.summary(key))
            .collect()
        });
        ApiStats {
            total_requests: self.all.count,
            requests_per_second: if self.window_seconds > 0.0 {
                self.all.count as f64 / self.window_seconds
            } else {
                0.0
            },
            error_rate_percent: percent(self.all.server_errors, self.all.count),
            any_error_rate_percent: percent(self.all.errors, self.all.count),
            latency_ms: Latency::of(&self.all.latency),
            status_distribution: self.statuses,
            slowest_endpoints: slowest,
            groups,
            folded_groups_records: folded,
            source: "raw",
        }
    }
}

/// The `top` largest groups by `size`, largest first (ties by key), then the others and the
/// folded ones merged as [`OTHER`].
fn top_groups<A: Default>(
    groups: Groups<A>,
    top: usize,
    size: impl Fn(&A) -> f64,
    merge: impl Fn(&mut A, &A),
) -> Vec<(String, A)> {
    let mut all: Vec<(String, A)> = groups.by_key.into_iter().collect();
    all.sort_by(|(ka, a), (kb, b)| {
        size(b)
            .partial_cmp(&size(a))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| ka.cmp(kb))
    });
    let rest = if all.len() > top {
        all.split_off(top)
    } else {
        Vec::new()
    };
    let mut other = groups.other;
    for (_, aggregate) in &rest {
        merge(other.get_or_insert_with(A::default), aggregate);
    }
    if let Some(other) = other {
        all.push((OTHER.to_owned(), other));
    }
    all
}

/// Token counts summed.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Tokens {
    /// All input tokens (cached and cache-write included).
    pub input: u64,
    /// All output tokens (reasoning included).
    pub output: u64,
    /// Input tokens read from a prompt cache.
    pub cached_input: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

/// An AI call aggregate: what a group holds, and what a roll-up series stores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AiAggregate {
    pub calls: u64,
    pub succeeded: u64,
    pub tokens: Tokens,
    pub cost: Cost,
    pub latency: DdSketch,
}

/// Costs summed, USD, saying which.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Cost {
    /// Each call at the collector's price where its model is in the price table, else at the
    /// cost its sender gave; calls with neither count in `unpriced_calls`.
    pub cost_usd: f64,
    /// The collector's prices alone, over the calls it could price.
    pub computed_cost_usd: f64,
    /// The senders' costs alone, over the calls that came with one.
    pub sent_cost_usd: f64,
    /// Calls priced by the collector.
    pub computed_calls: u64,
    /// Calls whose `cost_usd` comes from the sender (the collector could not price them).
    pub sent_only_calls: u64,
    /// Calls with no cost at all (an unknown model and no `cost_usd`).
    pub unpriced_calls: u64,
}

impl AiAggregate {
    /// Counts one call.
    pub fn add(&mut self, row: &AiCallRow) {
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        self.calls += 1;
        self.succeeded += u64::from(row.success);
        self.tokens.input += count(row.input_tokens);
        self.tokens.output += count(row.output_tokens);
        self.tokens.cached_input += count(row.cached_input_tokens);
        self.tokens.cache_write += count(row.cache_write_tokens);
        self.tokens.reasoning += count(row.reasoning_tokens);
        let cost = &mut self.cost;
        if let Some(sent) = row.sent_cost_usd {
            cost.sent_cost_usd += sent;
        }
        match (row.computed_cost_usd, row.sent_cost_usd) {
            (Some(computed), _) => {
                cost.computed_cost_usd += computed;
                cost.cost_usd += computed;
                cost.computed_calls += 1;
            }
            (None, Some(sent)) => {
                cost.cost_usd += sent;
                cost.sent_only_calls += 1;
            }
            (None, None) => cost.unpriced_calls += 1,
        }
        self.latency.add(row.duration_ms);
    }

    /// Adds `other`'s calls.
    pub fn merge(&mut self, other: &AiAggregate) {
        self.calls += other.calls;
        self.succeeded += other.succeeded;
        let (t, o) = (&mut self.tokens, &other.tokens);
        t.input += o.input;
        t.output += o.output;
        t.cached_input += o.cached_input;
        t.cache_write += o.cache_write;
        t.reasoning += o.reasoning;
        let (c, o) = (&mut self.cost, &other.cost);
        c.cost_usd += o.cost_usd;
        c.computed_cost_usd += o.computed_cost_usd;
        c.sent_cost_usd += o.sent_cost_usd;
        c.computed_calls += o.computed_calls;
        c.sent_only_calls += o.sent_only_calls;
        c.unpriced_calls += o.unpriced_calls;
        self.latency.merge(&other.latency);
    }

    fn summary(&self, key: String) -> AiGroup {
        AiGroup {
            key,
            calls: self.calls,
            success_rate_percent: percent(self.succeeded, self.calls),
            tokens: self.tokens.clone(),
            cost: self.cost.clone(),
            latency_ms: Latency::of(&self.latency),
        }
    }
}

/// One group of AI calls in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AiGroup {
    /// The model, user or provider, or `other`.
    pub key: String,
    pub calls: u64,
    pub success_rate_percent: f64,
    pub tokens: Tokens,
    pub cost: Cost,
    pub latency_ms: Latency,
}

/// `GET /api/v1/monitoring/ai/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AiStats {
    pub total_calls: u64,
    pub success_rate_percent: f64,
    pub tokens: Tokens,
    pub cost: Cost,
    pub latency_ms: Latency,
    /// The users who cost the most, most first (calls without a user are `anonymous`).
    pub top_users_by_cost: Vec<AiGroup>,
    /// With `group_by`: the largest groups by calls, then `other`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<AiGroup>>,
    /// Records of distinct keys beyond those tracked, counted under `other`.
    pub folded_groups_records: u64,
    /// `raw` (every record of the window read) or `rollups` (the window's roll-up series).
    pub source: &'static str,
}

impl AiStats {
    /// These statistics, marked as computed from roll-ups.
    pub fn from_rollups(self) -> Self {
        Self {
            source: "rollups",
            ..self
        }
    }
}

/// Folds AI call rows into [`AiStats`].
#[derive(Debug)]
pub struct AiStatsBuilder {
    group_by: Option<AiGroupBy>,
    top: usize,
    all: AiAggregate,
    users: Groups<AiAggregate>,
    groups: Groups<AiAggregate>,
}

impl AiStatsBuilder {
    /// Statistics grouped by `group_by`.
    pub fn new(group_by: Option<AiGroupBy>) -> Self {
        Self {
            group_by,
            top: TOP_GROUPS,
            all: AiAggregate::default(),
            users: Groups::new(),
            groups: Groups::new(),
        }
    }

    /// Lists the `top` largest groups (at least 1) instead of [`TOP_GROUPS`].
    pub fn with_top(mut self, top: usize) -> Self {
        self.top = top.max(1);
        self
    }

    /// Counts a roll-up series. Every call is in exactly one series of each dimension: the
    /// model series make the totals.
    pub fn add_series(&mut self, series: &AiSeries) {
        let (key, aggregate) = (series.key.as_str(), &series.aggregate);
        match series.dimension {
            AiDimension::Model => self.all.merge(aggregate),
            AiDimension::User => self.users.entry(key, aggregate.calls).merge(aggregate),
            AiDimension::Provider => {}
        }
        if self.group_by.map(AiDimension::of) == Some(series.dimension) {
            self.groups.entry(key, aggregate.calls).merge(aggregate);
        }
    }

    /// Counts one call.
    pub fn add(&mut self, row: AiCallRow) {
        self.all.add(&row);
        let user = row.user_id.as_deref().unwrap_or("anonymous");
        self.users.entry(user, 1).add(&row);
        let key = match self.group_by {
            None => return,
            Some(AiGroupBy::Model) => row.model.as_str(),
            Some(AiGroupBy::User) => user,
            Some(AiGroupBy::Provider) => row.provider.as_deref().unwrap_or("unknown"),
        };
        self.groups.entry(key, 1).add(&row);
    }

    /// The answer.
    pub fn finish(self) -> AiStats {
        let folded = self.users.folded_records + self.groups.folded_records;
        let top_users = top_groups(
            self.users,
            self.top,
            |a| a.cost.cost_usd,
            AiAggregate::merge,
        )
        .into_iter()
        .filter(|(key, _)| key != OTHER)
        .take(SLOWEST)
        .map(|(key, aggregate)| aggregate.summary(key))
        .collect();
        let groups = self.group_by.map(|_| {
            top_groups(
                self.groups,
                self.top,
                |a| a.calls as f64,
                AiAggregate::merge,
            )
            .into_iter()
            .map(|(key, aggregate)| aggregate.summary(key))
            .collect()
        });
        AiStats {
            total_calls: self.all.calls,
            success_rate_percent: percent(self.all.succeeded, self.all.calls),
            tokens: self.all.tokens.clone(),
            cost: self.all.cost.clone(),
            latency_ms: Latency::of(&self.all.latency),
            top_users_by_cost: top_users,
            groups,
            folded_groups_records: folded,
            source: "raw",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(endpoint: &str, status: u16, duration_ms: f64) -> ApiCallRow {
        ApiCallRow {
            endpoint: endpoint.into(),
            method: "GET".into(),
            status,
            duration_ms,
            user_id: None,
        }
    }

    #[test]
    fn api_percentiles_are_within_one_percent_of_exact_and_rates_exact() {
        let mut builder = ApiStatsBuilder::new(100.0, Some(ApiGroupBy::Status));
        let mut exact: Vec<f64> = Vec::new();
        for i in 0..10_000u32 {
            let duration = f64::from((i * 7919) % 5000) + 0.5;
            let status = match i % 20 {
                0 => 503,
                1 | 2 => 404,
                _ => 200,
            };
            exact.push(duration);
            builder.add(api(&format!("/e{}", i % 3), status, duration));
        }
        exact.sort_by(f64::total_cmp);
        let stats = builder.finish();
        assert_eq!(stats.total_requests, 10_000);
        assert_eq!(stats.requests_per_second, 100.0);
        assert_eq!(stats.error_rate_percent, 5.0);
        assert_eq!(stats.any_error_rate_percent, 15.0);
        assert_eq!(stats.status_distribution[&404], 1000);
        for (q, got) in [
            (50, stats.latency_ms.p50),
            (90, stats.latency_ms.p90),
            (95, stats.latency_ms.p95),
            (99, stats.latency_ms.p99),
        ] {
            let want = crate::stats::nearest_rank(&exact, q).unwrap();
            let got = got.unwrap();
            assert!((got - want).abs() <= 0.01 * want, "p{q}: {got} vs {want}");
        }
        let groups = stats.groups.unwrap();
        assert_eq!(groups[0].key, "200");
        assert_eq!(groups[0].count, 8500);
        assert_eq!(stats.slowest_endpoints.len(), 3);
    }

    #[test]
    fn groups_beyond_the_top_are_folded_into_other_and_nothing_is_lost() {
        let mut builder = ApiStatsBuilder::new(1.0, Some(ApiGroupBy::Endpoint));
        for i in 0..(MAX_TRACKED_GROUPS + 500) {
            builder.add(api(&format!("/e{i}"), 200, 1.0));
        }
        let stats = builder.finish();
        let groups = stats.groups.unwrap();
        assert_eq!(groups.len(), TOP_GROUPS + 1);
        assert_eq!(groups.last().unwrap().key, OTHER);
        let total: u64 = groups.iter().map(|g| g.count).sum();
        assert_eq!(total, stats.total_requests);
        assert_eq!(stats.folded_groups_records, 1000, "500 per tracked map");
    }

    #[test]
    fn ai_cost_says_what_it_sums() {
        let row = |user: &str, computed: Option<f64>, sent: Option<f64>, success| AiCallRow {
            model: "m".into(),
            provider: Some("openai".into()),
            user_id: Some(user.into()),
            input_tokens: 100,
            output_tokens: 10,
            cached_input_tokens: 40,
            cache_write_tokens: 0,
            reasoning_tokens: 5,
            duration_ms: 200.0,
            success,
            sent_cost_usd: sent,
            computed_cost_usd: computed,
        };
        let mut builder = AiStatsBuilder::new(Some(AiGroupBy::Provider));
        builder.add(row("a", Some(1.0), Some(0.9), true));
        builder.add(row("b", None, Some(0.5), true));
        builder.add(row("b", None, None, false));
        builder.add(row("c", Some(3.0), None, true));
        let stats = builder.finish();
        assert_eq!(stats.total_calls, 4);
        assert_eq!(stats.success_rate_percent, 75.0);
        assert_eq!(stats.tokens.input, 400);
        assert_eq!(stats.tokens.cached_input, 160);
        let cost = &stats.cost;
        assert_eq!(cost.cost_usd, 4.5);
        assert_eq!(cost.computed_cost_usd, 4.0);
        assert_eq!(cost.sent_cost_usd, 1.4);
        assert_eq!(
            (
                cost.computed_calls,
                cost.sent_only_calls,
                cost.unpriced_calls
            ),
            (2, 1, 1)
        );
        let users: Vec<&str> = stats
            .top_users_by_cost
            .iter()
            .map(|u| u.key.as_str())
            .collect();
        assert_eq!(users, ["c", "a", "b"]);
        assert_eq!(stats.groups.unwrap()[0].calls, 4);
    }
}
