//! What browsers timed of their own API calls (`monitorApiCall`), interactions
//! (`monitorUserInteraction`) and other work of the app's (`measure` events) in a window: per
//! name, how many, how many failed and how long they took (percentiles within 1 %), busiest
//! first. They show beside the web vitals in
//! `GET /frontend/vitals`, apart from backend API calls (the same call seen from both sides
//! would otherwise count twice). Read from the raw timings, kept `retention_days`, with the
//! long tasks, long animation frames and resources beside them ([`crate::entry_stats`]).

use serde::Serialize;

use crate::backend_stats::{Latency, OTHER, TOP_GROUPS};
use crate::entry_stats::{Bounded, Entries, EntriesBuilder, Merge};
use crate::normalize::TimingKind;
use crate::sketch::DdSketch;
use crate::store::TimingRow;

/// One name's timings in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingGroup {
    /// `GET /models`, `open-chat`, or `other`.
    pub name: String,
    pub count: u64,
    /// Calls without an answer, answered 4xx/5xx or that threw; interactions whose handler
    /// threw (0 for measures); percent.
    pub failure_rate_percent: f64,
    pub duration_ms: Latency,
}

/// What the browsers timed in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// The page's own API calls, busiest first.
    pub api_calls: Vec<TimingGroup>,
    /// Interactions, busiest first.
    pub interactions: Vec<TimingGroup>,
    /// The app's measures of its own work, busiest first.
    pub measures: Vec<TimingGroup>,
    /// `long_tasks`, `long_animation_frames` and `resources`.
    #[serde(flatten)]
    pub entries: Entries,
}

#[derive(Debug, Default)]
struct Aggregate {
    count: u64,
    failed: u64,
    durations: DdSketch,
}

impl Merge for Aggregate {
    fn merge(&mut self, other: &Aggregate) {
        self.count += other.count;
        self.failed += other.failed;
        self.durations.merge(&other.durations);
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Folds [`TimingRow`]s into [`Timings`]: at most
/// [`crate::backend_stats::MAX_TRACKED_GROUPS`] names per kind, later ones under `other`.
#[derive(Debug, Default)]
pub struct TimingsBuilder {
    api_calls: Bounded<String, Aggregate>,
    interactions: Bounded<String, Aggregate>,
    measures: Bounded<String, Aggregate>,
    entries: EntriesBuilder,
}

impl TimingsBuilder {
    /// Counts one timing.
    pub fn add(&mut self, row: TimingRow) {
        let groups = match row.kind {
            TimingKind::ApiCall => &mut self.api_calls,
            TimingKind::Interaction => &mut self.interactions,
            TimingKind::Measure => &mut self.measures,
            TimingKind::LongTask | TimingKind::LongAnimationFrame | TimingKind::Resource => {
                return self.entries.add(row)
            }
        };
        let aggregate = groups.entry(row.name);
        aggregate.count += 1;
        aggregate.failed += u64::from(row.failed);
        aggregate.durations.add(row.duration_ms);
    }

    /// The lists: the [`TOP_GROUPS`] busiest names of each kind, then `other`; and the
    /// entries' statistics.
    pub fn finish(self) -> Timings {
        Timings {
            api_calls: top(self.api_calls),
            interactions: top(self.interactions),
            measures: top(self.measures),
            entries: self.entries.finish(),
        }
    }
}

fn top(groups: Bounded<String, Aggregate>) -> Vec<TimingGroup> {
    let (kept, other) = groups.top(TOP_GROUPS, |a, b| b.count.cmp(&a.count));
    kept.into_iter()
        .chain(other.map(|other| (OTHER.to_owned(), other)))
        .map(|(name, a)| TimingGroup {
            name,
            count: a.count,
            failure_rate_percent: if a.count == 0 {
                0.0
            } else {
                a.failed as f64 * 100.0 / a.count as f64
            },
            duration_ms: Latency::of(&a.durations),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: TimingKind, name: &str, failed: bool, duration_ms: f64) -> TimingRow {
        TimingRow {
            kind,
            name: name.to_owned(),
            failed,
            duration_ms,
            page_view: None,
            detail: None,
            blocking_ms: None,
            script_ms: None,
            transfer_size: None,
        }
    }

    #[test]
    fn names_are_counted_busiest_first_with_failures_and_durations() {
        let mut builder = TimingsBuilder::default();
        for i in 0..10 {
            builder.add(row(
                TimingKind::ApiCall,
                "GET /models",
                i == 0,
                100.0 + f64::from(i),
            ));
        }
        builder.add(row(TimingKind::ApiCall, "POST /chat", true, 900.0));
        builder.add(row(TimingKind::Interaction, "open-chat", false, 41.0));
        builder.add(row(TimingKind::Interaction, "open-chat", true, 45.0));
        for duration in [12.5, 20.0, 7.5] {
            builder.add(row(TimingKind::Measure, "chat-render", false, duration));
        }
        builder.add(row(TimingKind::Measure, "parse-answer", false, 3.0));
        let timings = builder.finish();
        assert_eq!(timings.api_calls.len(), 2);
        assert_eq!(timings.api_calls[0].name, "GET /models");
        assert_eq!(timings.api_calls[0].count, 10);
        assert_eq!(timings.api_calls[0].failure_rate_percent, 10.0);
        assert_eq!(timings.api_calls[0].duration_ms.max, Some(109.0));
        assert_eq!(timings.api_calls[1].failure_rate_percent, 100.0);
        assert_eq!(timings.interactions[0].name, "open-chat");
        assert_eq!(timings.interactions[0].failure_rate_percent, 50.0);
        let measures: Vec<(&str, u64)> = timings
            .measures
            .iter()
            .map(|m| (m.name.as_str(), m.count))
            .collect();
        assert_eq!(measures, [("chat-render", 3), ("parse-answer", 1)]);
        assert_eq!(timings.measures[0].duration_ms.max, Some(20.0));
        assert_eq!(timings.measures[0].failure_rate_percent, 0.0);
    }

    #[test]
    fn beyond_the_top_names_are_folded_into_other() {
        let mut builder = TimingsBuilder::default();
        for i in 0..(TOP_GROUPS + 5) {
            builder.add(row(
                TimingKind::Interaction,
                &format!("i{i:02}"),
                false,
                1.0,
            ));
        }
        let interactions = builder.finish().interactions;
        assert_eq!(interactions.len(), TOP_GROUPS + 1);
        assert_eq!(interactions[TOP_GROUPS].name, OTHER);
        assert_eq!(interactions[TOP_GROUPS].count, 5);
    }
}
