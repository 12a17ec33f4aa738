//! What rules read: the stored series behind each metric, computed by the same code that
//! answers the statistics endpoints (so an alert and the dashboard agree on a number), and
//! shared between the rules of one evaluation that read the same source over the same window.

use std::collections::HashMap;
use std::time::Duration;

use super::engine::Observation;
use super::model::Labels;
use super::rules::{Aggregate, Rule, RuleKind, Source};
use crate::backend_stats::{AiGroup, AiGroupBy, AiStats, ApiGroup, ApiGroupBy, ApiStats};
use crate::host_history::{HostPoint, SERIES};
use crate::routes::backend_stats::{read_ai_statistics, read_api_statistics, Rollups, MAX_TOP};
use crate::routes::vitals::vitals_from_rollups;
use crate::stats::{VitalSummary, VitalsReport};
use crate::store::{Store, StoreError};
use crate::window::Window;

/// One source over one window, read once per evaluation.
#[derive(Debug)]
enum Read {
    System(Vec<(String, Vec<HostPoint>)>),
    Api(ApiStats),
    Ai(AiStats),
    Frontend(Box<VitalsReport>),
}

/// Reads the observations of rules at one evaluation, each source and window once.
pub struct Reader<'a> {
    store: &'a dyn Store,
    rollups: &'a Rollups,
    now_ms: i64,
    cache: HashMap<(Source, Duration), Read>,
}

impl<'a> Reader<'a> {
    /// A reader of `store` at `now_ms`, with no source read yet.
    pub fn new(store: &'a dyn Store, rollups: &'a Rollups, now_ms: i64) -> Self {
        Self {
            store,
            rollups,
            now_ms,
            cache: HashMap::new(),
        }
    }

    /// The observations of `rule`: one per series its expression selects, or one in all with an
    /// aggregate.
    pub fn observe(&mut self, rule: &Rule) -> Result<Vec<Observation>, StoreError> {
        let key = (rule.expr.metric.source, rule.window);
        if !self.cache.contains_key(&key) {
            let read = self.read(key.0, rule.window)?;
            self.cache.insert(key, read);
        }
        let Some(read) = self.cache.get(&key) else {
            return Ok(Vec::new());
        };
        let label = rule.expr.metric.source.label();
        let measure = rule.expr.metric.measure;
        let keep_points = matches!(rule.kind, RuleKind::Predict { .. });
        let mut series: Vec<Observation> = match read {
            Read::System(hosts) => hosts
                .iter()
                .map(|(host, points)| system_series(host, points, measure, keep_points))
                .collect(),
            Read::Api(stats) => stats
                .groups
                .iter()
                .flatten()
                .map(|group| api_series(group, measure, rule.window))
                .collect(),
            Read::Ai(stats) => stats
                .groups
                .iter()
                .flatten()
                .map(|group| ai_series(group, measure, rule.window))
                .collect(),
            Read::Frontend(report) => report
                .pages
                .iter()
                .flatten()
                .filter_map(|page| {
                    let vital = rule.expr.metric.vital()?;
                    let summary = page.vitals.get(vital)?;
                    Some(vital_series(&page.page, summary, measure))
                })
                .collect(),
        };
        series.retain(|obs| {
            obs.series
                .get(label)
                .is_some_and(|value| rule.expr.selects(value))
        });
        Ok(match rule.expr.aggregate {
            None => series,
            Some(aggregate) => aggregated(aggregate, &series),
        })
    }

    /// Reads `source` over the `window` ending now.
    fn read(&self, source: Source, window: Duration) -> Result<Read, StoreError> {
        let width = i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 2);
        let window = Window {
            hours: window.as_secs_f64() / 3600.0,
            since_ms: self.now_ms - width,
            until_ms: self.now_ms,
        };
        Ok(match source {
            Source::System => {
                let mut hosts = Vec::new();
                for host in self.store.host_names(window.since_ms)? {
                    let points = self
                        .store
                        .host_points(&host, window.since_ms, window.until_ms)?;
                    hosts.push((host, points));
                }
                Read::System(hosts)
            }
            Source::Api => Read::Api(read_api_statistics(
                self.store,
                self.rollups,
                window,
                Some(ApiGroupBy::Endpoint),
                MAX_TOP,
            )?),
            Source::Ai => Read::Ai(read_ai_statistics(
                self.store,
                self.rollups,
                window,
                Some(AiGroupBy::Model),
                MAX_TOP,
            )?),
            // From the roll-ups (per-minute sketches), never the raw vitals: a window of raw
            // vitals is held whole in memory to rank it exactly, which at a few thousand
            // batches a second is gigabytes every evaluation (found by the soak). The newest
            // minute may not be rolled yet; for alerting over a window of minutes that is fine.
            Source::Frontend => {
                Read::Frontend(Box::new(vitals_from_rollups(self.store, window, true)?))
            }
        })
    }
}

/// The labels of a series: its source's label.
fn series_labels(label: &str, value: &str) -> Labels {
    Labels::from([(label.to_owned(), value.to_owned())])
}

/// A host's series of `measure`: the average of the window's samples.
fn system_series(
    host: &str,
    points: &[HostPoint],
    measure: &str,
    keep_points: bool,
) -> Observation {
    // The rule names follow the JSON API (`cpu_usage`), the stored series the samples.
    let stored = match measure {
        "cpu_usage" => "cpu_percent",
        "memory_usage" => "memory_percent",
        "swap_usage" => "swap_percent",
        "disk_usage" => "disk_percent",
        other => other,
    };
    let read = SERIES
        .iter()
        .find(|(name, _)| *name == stored)
        .map(|(_, read)| *read);
    let values: Vec<(i64, f64)> = read
        .map(|read| {
            points
                .iter()
                .filter_map(|p| read(p).filter(|v| v.is_finite()).map(|v| (p.at_ms, v)))
                .collect()
        })
        .unwrap_or_default();
    let value = Aggregate::Avg.apply(&values.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    Observation {
        series: series_labels("host", host),
        value,
        count: values.len() as u64,
        points: if keep_points { values } else { Vec::new() },
    }
}

/// An endpoint's series of `measure`.
fn api_series(group: &ApiGroup, measure: &str, window: Duration) -> Observation {
    let latency = &group.latency_ms;
    let seconds = window.as_secs_f64();
    let value = match measure {
        "latency_p50_ms" => latency.p50,
        "latency_p90_ms" => latency.p90,
        "latency_p95_ms" => latency.p95,
        "latency_p99_ms" => latency.p99,
        "error_rate_percent" => Some(group.error_rate_percent),
        "any_error_rate_percent" => Some(group.any_error_rate_percent),
        "requests_per_second" => (seconds > 0.0).then(|| group.count as f64 / seconds),
        "count" => Some(group.count as f64),
        _ => None,
    };
    Observation {
        series: series_labels("endpoint", &group.key),
        value,
        count: group.count,
        points: Vec::new(),
    }
}

/// A model's series of `measure`; per-hour rates are over the rule's window.
fn ai_series(group: &AiGroup, measure: &str, window: Duration) -> Observation {
    let hours = window.as_secs_f64() / 3600.0;
    let per_hour = |x: f64| (hours > 0.0).then(|| x / hours);
    let value = match measure {
        "error_rate_percent" => Some(100.0 - group.success_rate_percent),
        "success_rate_percent" => Some(group.success_rate_percent),
        "cost_usd_per_hour" => per_hour(group.cost.cost_usd),
        "tokens_per_hour" => per_hour((group.tokens.input + group.tokens.output) as f64),
        "latency_p95_ms" => group.latency_ms.p95,
        "count" => Some(group.calls as f64),
        _ => None,
    };
    Observation {
        series: series_labels("model", &group.key),
        value: value.filter(|_| group.calls > 0),
        count: group.calls,
        points: Vec::new(),
    }
}

/// A page's series of `measure` of one vital.
fn vital_series(page: &str, summary: &VitalSummary, measure: &str) -> Observation {
    let value = if measure.starts_with("poor_") {
        summary.poor_percent
    } else if measure == "count" {
        Some(summary.count as f64)
    } else {
        summary.p75
    };
    Observation {
        series: series_labels("page", page),
        value,
        count: summary.count as u64,
        points: Vec::new(),
    }
}

/// `series` combined into one observation without labels.
fn aggregated(aggregate: Aggregate, series: &[Observation]) -> Vec<Observation> {
    let values: Vec<f64> = series.iter().filter_map(|o| o.value).collect();
    match aggregate.apply(&values) {
        Some(value) => vec![Observation {
            series: Labels::new(),
            value: Some(value),
            count: series.iter().map(|o| o.count).sum(),
            points: Vec::new(),
        }],
        // count() of nothing is 0 (and passes any `min_count`); the others have no value.
        None if aggregate == Aggregate::Count => vec![Observation {
            series: Labels::new(),
            value: Some(0.0),
            count: u64::MAX,
            points: Vec::new(),
        }],
        None => Vec::new(),
    }
}
