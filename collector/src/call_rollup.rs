//! Roll-up series of API and AI calls ([`crate::rollup`] keeps them per minute, hour and day
//! beside the web vitals): per bucket, one [`ApiAggregate`] per endpoint, per user and per
//! status, and one [`AiAggregate`] per model, per user and per provider. Every call counts in
//! exactly one series of each dimension, so any one dimension gives the totals, and a window's
//! statistics merge a few hundred series instead of reading millions of calls.
//!
//! A bucket keeps at most [`MAX_KEYS_PER_DIMENSION`] keys per dimension, the most frequent;
//! the rest are merged into one series keyed [`OTHER`], so a bucket's size is bounded whatever
//! the cardinality of users or endpoints, and so is the cost of reading a long window (reading
//! and merging a series costs about a microsecond; a 30-day window reads about 200 buckets).
//! The price: in a bucket with more keys than that, the calls of the less busy ones are
//! counted under `other`, so a window's per-key numbers are exact for keys that are among the
//! busiest of every bucket (endpoints, models and the heaviest users, in practice) and a lower
//! bound for the others; totals are always exact.

use std::collections::{BTreeMap, HashMap};

use crate::backend_stats::{
    AiAggregate, AiCallRow, AiGroupBy, ApiAggregate, ApiCallRow, ApiGroupBy, OTHER,
};

/// Most keys a bucket keeps per dimension; the rest are merged into [`OTHER`].
pub const MAX_KEYS_PER_DIMENSION: usize = 200;

/// The key of a call without a user.
pub const ANONYMOUS: &str = "anonymous";
/// The key of an AI call without a provider.
pub const UNKNOWN_PROVIDER: &str = "unknown";

/// What an API call series is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiDimension {
    /// `METHOD endpoint`.
    Endpoint,
    User,
    Status,
}

/// What an AI call series is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AiDimension {
    Model,
    User,
    Provider,
}

impl ApiDimension {
    pub const ALL: [ApiDimension; 3] = [Self::Endpoint, Self::User, Self::Status];

    /// The name stored in the `dimension` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::User => "user",
            Self::Status => "status",
        }
    }

    /// The dimension named `name` (`None` for one a newer collector wrote).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The dimension a `group_by` asks for.
    pub fn of(group_by: ApiGroupBy) -> Self {
        match group_by {
            ApiGroupBy::Endpoint => Self::Endpoint,
            ApiGroupBy::User => Self::User,
            ApiGroupBy::Status => Self::Status,
        }
    }

    /// `row`'s key in this dimension.
    pub fn key(self, row: &ApiCallRow) -> String {
        match self {
            Self::Endpoint => format!("{} {}", row.method, row.endpoint),
            Self::User => row.user_id.clone().unwrap_or_else(|| ANONYMOUS.to_owned()),
            Self::Status => row.status.to_string(),
        }
    }
}

impl AiDimension {
    pub const ALL: [AiDimension; 3] = [Self::Model, Self::User, Self::Provider];

    /// The name stored in the `dimension` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::User => "user",
            Self::Provider => "provider",
        }
    }

    /// The dimension named `name` (`None` for one a newer collector wrote).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The dimension a `group_by` asks for.
    pub fn of(group_by: AiGroupBy) -> Self {
        match group_by {
            AiGroupBy::Model => Self::Model,
            AiGroupBy::User => Self::User,
            AiGroupBy::Provider => Self::Provider,
        }
    }

    /// `row`'s key in this dimension.
    pub fn key(self, row: &AiCallRow) -> &str {
        match self {
            Self::Model => &row.model,
            Self::User => row.user_id.as_deref().unwrap_or(ANONYMOUS),
            Self::Provider => row.provider.as_deref().unwrap_or(UNKNOWN_PROVIDER),
        }
    }
}

/// The calls of one key of one dimension in one bucket (or window).
#[derive(Debug, Clone, PartialEq)]
pub struct Series<D, A> {
    pub dimension: D,
    pub key: String,
    pub aggregate: A,
}

/// The API calls of one endpoint, user or status.
pub type ApiSeries = Series<ApiDimension, ApiAggregate>;
/// The AI calls of one model, user or provider.
pub type AiSeries = Series<AiDimension, AiAggregate>;

/// What series are keyed by, for one kind of call.
pub trait Dimension: Copy + Ord + std::hash::Hash {
    type Row;
    /// Every dimension: each call counts once in each.
    const EVERY: [Self; 3];
    /// `row`'s key in this dimension.
    fn key_of(self, row: &Self::Row) -> String;
}

/// What a series sums, for one kind of call.
pub trait CallAggregate: Default {
    type Row;
    fn add(&mut self, row: &Self::Row);
    fn merge(&mut self, other: &Self);
    /// Calls counted: what ranks keys.
    fn calls(&self) -> u64;
}

impl Dimension for ApiDimension {
    type Row = ApiCallRow;
    const EVERY: [Self; 3] = Self::ALL;
    fn key_of(self, row: &ApiCallRow) -> String {
        self.key(row)
    }
}

impl Dimension for AiDimension {
    type Row = AiCallRow;
    const EVERY: [Self; 3] = Self::ALL;
    fn key_of(self, row: &AiCallRow) -> String {
        self.key(row).to_owned()
    }
}

impl CallAggregate for ApiAggregate {
    type Row = ApiCallRow;
    fn add(&mut self, row: &ApiCallRow) {
        ApiAggregate::add(self, row);
    }
    fn merge(&mut self, other: &Self) {
        ApiAggregate::merge(self, other);
    }
    fn calls(&self) -> u64 {
        self.count
    }
}

impl CallAggregate for AiAggregate {
    type Row = AiCallRow;
    fn add(&mut self, row: &AiCallRow) {
        AiAggregate::add(self, row);
    }
    fn merge(&mut self, other: &Self) {
        AiAggregate::merge(self, other);
    }
    fn calls(&self) -> u64 {
        self.calls
    }
}

/// The series of raw API calls, every dimension.
pub fn api_series(rows: &[ApiCallRow]) -> Vec<ApiSeries> {
    series_of(rows)
}

/// The series of raw AI calls, every dimension.
pub fn ai_series(rows: &[AiCallRow]) -> Vec<AiSeries> {
    series_of(rows)
}

/// One series per dimension and key over all of `parts`, at most [`MAX_KEYS_PER_DIMENSION`]
/// keys per dimension (a bucket's series).
pub fn merge_api(parts: impl IntoIterator<Item = ApiSeries>) -> Vec<ApiSeries> {
    merge_keeping(parts, MAX_KEYS_PER_DIMENSION)
}

/// One series per dimension and key over all of `parts`, at most [`MAX_KEYS_PER_DIMENSION`]
/// keys per dimension (a bucket's series).
pub fn merge_ai(parts: impl IntoIterator<Item = AiSeries>) -> Vec<AiSeries> {
    merge_keeping(parts, MAX_KEYS_PER_DIMENSION)
}

/// The series of raw calls, every dimension, at most [`MAX_KEYS_PER_DIMENSION`] keys each.
pub fn series_of<D, A>(rows: &[D::Row]) -> Vec<Series<D, A>>
where
    D: Dimension,
    A: CallAggregate<Row = D::Row>,
{
    let mut by_key: HashMap<(D, String), A> = HashMap::new();
    for row in rows {
        for dimension in D::EVERY {
            by_key
                .entry((dimension, dimension.key_of(row)))
                .or_default()
                .add(row);
        }
    }
    into_series(bounded(by_key, MAX_KEYS_PER_DIMENSION))
}

/// One series per dimension and key over all of `parts`, at most `max_keys` keys per
/// dimension.
pub fn merge_keeping<D: Dimension, A: CallAggregate>(
    parts: impl IntoIterator<Item = Series<D, A>>,
    max_keys: usize,
) -> Vec<Series<D, A>> {
    let mut by_key: HashMap<(D, String), A> = HashMap::new();
    for series in parts {
        match by_key.entry((series.dimension, series.key)) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                e.get_mut().merge(&series.aggregate)
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(series.aggregate);
            }
        }
    }
    into_series(bounded(by_key, max_keys))
}

fn into_series<D, A>(keyed: Vec<((D, String), A)>) -> Vec<Series<D, A>> {
    keyed
        .into_iter()
        .map(|((dimension, key), aggregate)| Series {
            dimension,
            key,
            aggregate,
        })
        .collect()
}

/// At most `max_keys` keys per dimension, the largest by `size` (ties by key), the rest merged
/// into [`OTHER`]; sorted by dimension and key.
fn bounded<D: Copy + Ord, A: CallAggregate>(
    by_key: HashMap<(D, String), A>,
    max_keys: usize,
) -> Vec<((D, String), A)> {
    let mut all: Vec<((D, String), A)> = by_key.into_iter().collect();
    all.sort_by(|((da, ka), a), ((db, kb), b)| {
        da.cmp(db)
            .then_with(|| b.calls().cmp(&a.calls()))
            .then_with(|| ka.cmp(kb))
    });
    let mut keys_per_dimension: BTreeMap<D, usize> = BTreeMap::new();
    for ((dimension, _), _) in &all {
        *keys_per_dimension.entry(*dimension).or_default() += 1;
    }
    let mut kept: Vec<((D, String), A)> = Vec::with_capacity(all.len());
    let mut others: Vec<(D, A)> = Vec::new();
    let mut run = 0;
    let mut last: Option<D> = None;
    for ((dimension, key), aggregate) in all {
        if last != Some(dimension) {
            last = Some(dimension);
            run = 0;
        }
        run += 1;
        // Within the limit, every key stays (an `other` already there too); beyond it, the
        // largest `max_keys - 1` stay and the rest become one `other`.
        let fits = keys_per_dimension.get(&dimension).copied().unwrap_or(0) <= max_keys;
        if fits || (run < max_keys && key != OTHER) {
            kept.push(((dimension, key), aggregate));
            continue;
        }
        match others.last_mut() {
            Some((d, other)) if *d == dimension => other.merge(&aggregate),
            _ => others.push((dimension, aggregate)),
        }
    }
    kept.extend(
        others
            .into_iter()
            .map(|(dimension, aggregate)| ((dimension, OTHER.to_owned()), aggregate)),
    );
    kept.sort_by(|(a, _), (b, _)| a.cmp(b));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_stats::{AiStatsBuilder, ApiStatsBuilder};

    fn api(endpoint: &str, status: u16, user: Option<&str>, duration_ms: f64) -> ApiCallRow {
        ApiCallRow {
            endpoint: endpoint.into(),
            method: "GET".into(),
            status,
            duration_ms,
            user_id: user.map(str::to_owned),
        }
    }

    #[test]
    fn statistics_from_series_equal_statistics_from_rows() {
        let rows: Vec<ApiCallRow> = (0..3000u32)
            .map(|i| {
                let status = if i % 10 == 0 { 503 } else { 200 };
                let user = format!("u{}", i % 7);
                api(
                    &format!("/e{}", i % 4),
                    status,
                    Some(&user),
                    f64::from(i % 900) + 1.0,
                )
            })
            .collect();
        for group_by in [
            None,
            Some(ApiGroupBy::Endpoint),
            Some(ApiGroupBy::User),
            Some(ApiGroupBy::Status),
        ] {
            let mut from_rows = ApiStatsBuilder::new(60.0, group_by);
            for row in &rows {
                from_rows.add(row.clone());
            }
            // Three buckets, merged.
            let parts = rows.chunks(1000).flat_map(api_series);
            let mut from_series = ApiStatsBuilder::new(60.0, group_by);
            for series in merge_api(parts) {
                from_series.add_series(&series);
            }
            assert_eq!(from_rows.finish(), from_series.finish(), "{group_by:?}");
        }
    }

    #[test]
    fn ai_statistics_from_series_equal_statistics_from_rows() {
        let rows: Vec<AiCallRow> = (0..500i64)
            .map(|i| AiCallRow {
                model: format!("m{}", i % 3),
                provider: (i % 4 != 0).then(|| "openai".to_owned()),
                user_id: Some(format!("u{}", i % 5)),
                input_tokens: 100 + i,
                output_tokens: 10,
                cached_input_tokens: 20,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
                duration_ms: 100.0 + i as f64,
                success: i % 9 != 0,
                sent_cost_usd: None,
                computed_cost_usd: (i % 3 != 2).then_some(0.25),
            })
            .collect();
        for group_by in [
            None,
            Some(AiGroupBy::Model),
            Some(AiGroupBy::User),
            Some(AiGroupBy::Provider),
        ] {
            let mut from_rows = AiStatsBuilder::new(group_by);
            for row in &rows {
                from_rows.add(row.clone());
            }
            let mut from_series = AiStatsBuilder::new(group_by);
            for series in merge_ai(rows.chunks(128).flat_map(ai_series)) {
                from_series.add_series(&series);
            }
            assert_eq!(from_rows.finish(), from_series.finish(), "{group_by:?}");
        }
    }

    #[test]
    fn a_bucket_at_the_limit_keeps_every_key() {
        let rows: Vec<ApiCallRow> = (0..MAX_KEYS_PER_DIMENSION)
            .map(|i| api("/x", 200, Some(&format!("user-{i:05}")), 1.0))
            .collect();
        let series = api_series(&rows);
        let users = series.iter().filter(|s| s.dimension == ApiDimension::User);
        assert_eq!(users.clone().count(), MAX_KEYS_PER_DIMENSION);
        assert!(users.clone().all(|s| s.key != OTHER));
    }

    #[test]
    fn a_bucket_keeps_the_largest_keys_and_merges_the_rest_into_other() {
        let rows: Vec<ApiCallRow> = (0..(MAX_KEYS_PER_DIMENSION as u32 + 50))
            .map(|i| api("/x", 200, Some(&format!("user-{i:05}")), 1.0))
            .chain((0..5).map(|_| api("/x", 200, Some("heavy"), 1.0)))
            .collect();
        let series = api_series(&rows);
        let users: Vec<&ApiSeries> = series
            .iter()
            .filter(|s| s.dimension == ApiDimension::User)
            .collect();
        assert_eq!(users.len(), MAX_KEYS_PER_DIMENSION);
        assert!(users
            .iter()
            .any(|s| s.key == "heavy" && s.aggregate.count == 5));
        let total: u64 = users.iter().map(|s| s.aggregate.count).sum();
        assert_eq!(total, rows.len() as u64, "nothing lost");
        let other = users
            .iter()
            .find(|s| s.key == OTHER)
            .map(|s| s.aggregate.count);
        // 251 keys: the 199 largest kept (the heavy one first), 52 merged.
        assert_eq!(other, Some(52));
    }
}
