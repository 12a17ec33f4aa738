//! What browsers observed of their own performance timeline in a window: long tasks, long
//! animation frames and the resources pages loaded. They show beside the web vitals in
//! `GET /frontend/vitals` (CONTRACT.md: "long tasks, slowest resources"), read from the raw
//! timings (`browser_timings`), kept `retention_days`.
//!
//! Durations go into DDSketches (percentiles within 1 %); at most [`MAX_TRACKED_GROUPS`]
//! resources, scripts and initiator types are tracked, later ones counted under `other`, so
//! neither memory nor the answer grows with the number of URLs.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use crate::backend_stats::{Latency, MAX_TRACKED_GROUPS, OTHER, TOP_GROUPS};
use crate::normalize::TimingKind;
use crate::sketch::{DdSketch, Hll};
use crate::store::TimingRow;

/// A task blocks input for what it lasts beyond this (the Long Tasks API's threshold, and Total
/// Blocking Time's rule).
pub const LONG_TASK_THRESHOLD_MS: f64 = 50.0;
/// Scripts listed in `long_animation_frames.top_scripts`; the rest are summed as `other`.
pub const TOP_SCRIPTS: usize = 10;
/// Resources listed in `resources.slowest`; the rest are summed as `other`.
pub const SLOWEST_RESOURCES: usize = TOP_GROUPS;

/// Long tasks of the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LongTasks {
    pub count: u64,
    /// Page views with at least one long task (a HyperLogLog estimate: exact for a few, within
    /// 1.6 % beyond).
    pub page_views_with_long_tasks: u64,
    pub duration_ms: Latency,
    /// What the tasks lasted beyond [`LONG_TASK_THRESHOLD_MS`], summed.
    pub total_blocking_ms: f64,
}

/// Long animation frames of the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LongAnimationFrames {
    pub count: u64,
    pub duration_ms: Latency,
    pub blocking_duration_ms: Latency,
    /// The scripts that were a frame's longest, by their time in those frames, most first
    /// ([`TOP_SCRIPTS`], then `other`). Frames that named no script are not listed.
    pub top_scripts: Vec<ScriptGroup>,
}

/// A script that was the longest of some long animation frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptGroup {
    /// Its URL without query string, or `other`.
    pub script_url: String,
    /// Frames it was the longest script of.
    pub count: u64,
    /// Its own duration in those frames, summed.
    pub total_duration_ms: f64,
}

/// The resources pages loaded in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    /// Per URL and initiator type, slowest p75 first ([`SLOWEST_RESOURCES`], then `other`).
    pub slowest: Vec<ResourceGroup>,
    /// Per initiator type, busiest first ([`TOP_GROUPS`], then `other`).
    pub initiator_types: Vec<InitiatorTypeGroup>,
}

/// One resource's loads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceGroup {
    /// Its URL without query string, or `other`.
    pub name: String,
    /// `img`, `script`, `link`, ... (`other` for the folded resources).
    pub initiator_type: String,
    pub count: u64,
    pub duration_ms: Latency,
    /// Mean bytes over the network per load that reported a size (0 from the cache);
    /// `null` when none did.
    pub transfer_size_bytes_mean: Option<f64>,
}

/// The loads of one initiator type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitiatorTypeGroup {
    pub initiator_type: String,
    pub count: u64,
    pub duration_ms: Latency,
    /// Bytes over the network, summed over the loads that reported a size.
    pub transfer_size_bytes_total: u64,
}

/// The three parts of an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Entries {
    pub long_tasks: LongTasks,
    pub long_animation_frames: LongAnimationFrames,
    pub resources: Resources,
}

/// Up to [`MAX_TRACKED_GROUPS`] aggregates by key; later keys share `other`. Also what the
/// browser timings' lists ([`crate::timing_stats`]) are built with.
#[derive(Debug)]
pub(crate) struct Bounded<K, A> {
    by_key: HashMap<K, A>,
    other: A,
}

impl<K, A: Default> Default for Bounded<K, A> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
            other: A::default(),
        }
    }
}

impl<K: Eq + Hash, A: Default + Merge> Bounded<K, A> {
    pub(crate) fn entry(&mut self, key: K) -> &mut A {
        if self.by_key.len() < MAX_TRACKED_GROUPS || self.by_key.contains_key(&key) {
            return self.by_key.entry(key).or_default();
        }
        &mut self.other
    }

    /// The first `keep` groups in `order`, and the rest merged with the untracked ones (`None`
    /// when there are none).
    pub(crate) fn top(
        self,
        keep: usize,
        order: impl Fn(&A, &A) -> Ordering,
    ) -> (Vec<(K, A)>, Option<A>)
    where
        K: Ord,
    {
        let mut all: Vec<(K, A)> = self.by_key.into_iter().collect();
        // Ties by key: the same data always gives the same answer.
        all.sort_by(|(ka, a), (kb, b)| order(a, b).then_with(|| ka.cmp(kb)));
        let mut other = self.other;
        for (_, rest) in all.drain(keep.min(all.len())..) {
            other.merge(&rest);
        }
        (all, (!other.is_empty()).then_some(other))
    }
}

/// An aggregate that can absorb another (into `other`).
pub(crate) trait Merge {
    fn merge(&mut self, other: &Self);
    fn is_empty(&self) -> bool;
}

/// What long tasks add up to.
#[derive(Debug, Default)]
struct LongTaskAggregate {
    durations: DdSketch,
    page_views: Hll,
    blocking_ms: f64,
}

/// A script's frames.
#[derive(Debug, Default)]
struct ScriptAggregate {
    count: u64,
    duration_ms: f64,
}

impl Merge for ScriptAggregate {
    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.duration_ms += other.duration_ms;
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A group of resource loads.
#[derive(Debug, Default)]
struct LoadAggregate {
    durations: DdSketch,
    transfer_bytes: u64,
    sized: u64,
}

impl LoadAggregate {
    fn add(&mut self, duration_ms: f64, transfer_size: Option<u64>) {
        self.durations.add(duration_ms);
        if let Some(size) = transfer_size {
            self.transfer_bytes = self.transfer_bytes.saturating_add(size);
            self.sized += 1;
        }
    }

    fn p75(&self) -> f64 {
        self.durations.quantile(0.75).unwrap_or_default()
    }
}

impl Merge for LoadAggregate {
    fn merge(&mut self, other: &Self) {
        self.durations.merge(&other.durations);
        self.transfer_bytes = self.transfer_bytes.saturating_add(other.transfer_bytes);
        self.sized += other.sized;
    }

    fn is_empty(&self) -> bool {
        self.durations.count() == 0
    }
}

/// Folds the [`TimingRow`]s of long tasks, long animation frames and resources into
/// [`Entries`]; rows of other kinds are not its business and are skipped.
#[derive(Debug, Default)]
pub struct EntriesBuilder {
    long_tasks: LongTaskAggregate,
    frame_durations: DdSketch,
    frame_blocking: DdSketch,
    scripts: Bounded<String, ScriptAggregate>,
    resources: Bounded<(String, String), LoadAggregate>,
    initiator_types: Bounded<String, LoadAggregate>,
}

impl EntriesBuilder {
    /// Counts one entry.
    pub fn add(&mut self, row: TimingRow) {
        match row.kind {
            TimingKind::LongTask => {
                let tasks = &mut self.long_tasks;
                tasks.durations.add(row.duration_ms);
                tasks.blocking_ms += (row.duration_ms - LONG_TASK_THRESHOLD_MS).max(0.0);
                if let Some(page_view) = &row.page_view {
                    tasks.page_views.insert_str(page_view);
                }
            }
            TimingKind::LongAnimationFrame => {
                self.frame_durations.add(row.duration_ms);
                self.frame_blocking.add(row.blocking_ms.unwrap_or_default());
                // The name is the longest script's URL, empty when the frame named none.
                if !row.name.is_empty() {
                    let script = self.scripts.entry(row.name);
                    script.count += 1;
                    script.duration_ms += row.script_ms.unwrap_or_default();
                }
            }
            TimingKind::Resource => {
                let initiator_type = row.detail.unwrap_or_default();
                self.initiator_types
                    .entry(initiator_type.clone())
                    .add(row.duration_ms, row.transfer_size);
                self.resources
                    .entry((row.name, initiator_type))
                    .add(row.duration_ms, row.transfer_size);
            }
            TimingKind::ApiCall | TimingKind::Interaction | TimingKind::Measure => {}
        }
    }

    /// The answer's three parts.
    pub fn finish(self) -> Entries {
        let tasks = self.long_tasks;
        let (scripts, other_scripts) = self.scripts.top(TOP_SCRIPTS, |a, b| {
            b.duration_ms
                .total_cmp(&a.duration_ms)
                .then(b.count.cmp(&a.count))
        });
        let (slowest, other_resources) = self
            .resources
            .top(SLOWEST_RESOURCES, |a, b| b.p75().total_cmp(&a.p75()));
        let (initiator_types, other_types) = self.initiator_types.top(TOP_GROUPS, |a, b| {
            b.durations.count().cmp(&a.durations.count())
        });
        Entries {
            long_tasks: LongTasks {
                count: tasks.durations.count(),
                page_views_with_long_tasks: tasks.page_views.estimate(),
                duration_ms: Latency::of(&tasks.durations),
                total_blocking_ms: tasks.blocking_ms,
            },
            long_animation_frames: LongAnimationFrames {
                count: self.frame_durations.count(),
                duration_ms: Latency::of(&self.frame_durations),
                blocking_duration_ms: Latency::of(&self.frame_blocking),
                top_scripts: scripts
                    .into_iter()
                    .chain(other_scripts.map(|other| (OTHER.to_owned(), other)))
                    .map(|(script_url, a)| ScriptGroup {
                        script_url,
                        count: a.count,
                        total_duration_ms: a.duration_ms,
                    })
                    .collect(),
            },
            resources: Resources {
                slowest: slowest
                    .into_iter()
                    .chain(
                        other_resources.map(|other| ((OTHER.to_owned(), OTHER.to_owned()), other)),
                    )
                    .map(|((name, initiator_type), a)| ResourceGroup {
                        name,
                        initiator_type,
                        count: a.durations.count(),
                        duration_ms: Latency::of(&a.durations),
                        transfer_size_bytes_mean: (a.sized > 0)
                            .then(|| a.transfer_bytes as f64 / a.sized as f64),
                    })
                    .collect(),
                initiator_types: initiator_types
                    .into_iter()
                    .chain(other_types.map(|other| (OTHER.to_owned(), other)))
                    .map(|(initiator_type, a)| InitiatorTypeGroup {
                        initiator_type,
                        count: a.durations.count(),
                        duration_ms: Latency::of(&a.durations),
                        transfer_size_bytes_total: a.transfer_bytes,
                    })
                    .collect(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: TimingKind, name: &str, duration_ms: f64) -> TimingRow {
        TimingRow {
            kind,
            name: name.to_owned(),
            failed: false,
            duration_ms,
            page_view: None,
            detail: None,
            blocking_ms: None,
            script_ms: None,
            transfer_size: None,
        }
    }

    fn long_task(page_view: &str, duration_ms: f64) -> TimingRow {
        TimingRow {
            page_view: Some(page_view.to_owned()),
            ..row(TimingKind::LongTask, "self", duration_ms)
        }
    }

    fn frame(script_url: &str, duration_ms: f64, blocking_ms: f64, script_ms: f64) -> TimingRow {
        TimingRow {
            blocking_ms: Some(blocking_ms),
            script_ms: Some(script_ms),
            ..row(TimingKind::LongAnimationFrame, script_url, duration_ms)
        }
    }

    fn resource(url: &str, initiator_type: &str, duration_ms: f64, size: Option<u64>) -> TimingRow {
        TimingRow {
            detail: Some(initiator_type.to_owned()),
            transfer_size: size,
            ..row(TimingKind::Resource, url, duration_ms)
        }
    }

    #[test]
    fn long_tasks_count_their_page_views_and_the_time_past_50_ms() {
        let mut builder = EntriesBuilder::default();
        for (page_view, duration) in [
            ("s p1", 120.0),
            ("s p1", 60.0),
            ("s p2", 50.0),
            ("t p1", 250.0),
        ] {
            builder.add(long_task(page_view, duration));
        }
        builder.add(row(TimingKind::ApiCall, "GET /x", 900.0));
        let tasks = builder.finish().long_tasks;
        assert_eq!(tasks.count, 4);
        assert_eq!(tasks.page_views_with_long_tasks, 3);
        assert_eq!(tasks.total_blocking_ms, 70.0 + 10.0 + 0.0 + 200.0);
        assert_eq!(tasks.duration_ms.max, Some(250.0));
        let p75 = tasks.duration_ms.p75.expect("a p75");
        assert!((p75 - 120.0).abs() <= 1.2, "{p75}");
    }

    #[test]
    fn frames_list_their_longest_scripts_by_time_with_the_rest_as_other() {
        let mut builder = EntriesBuilder::default();
        // Script i ran 10·(i+1) ms in one frame; "busy.js" ran twice, 100 ms in all.
        for i in 0..(TOP_SCRIPTS + 3) {
            builder.add(frame(
                &format!("https://x/{i:02}.js"),
                200.0,
                100.0,
                10.0 * (i as f64 + 1.0),
            ));
        }
        builder.add(frame("https://x/busy.js", 80.0, 0.0, 60.0));
        builder.add(frame("https://x/busy.js", 80.0, 0.0, 40.0));
        // A frame without a script counts, but lists no script.
        builder.add(frame("", 70.0, 20.0, 0.0));
        let frames = builder.finish().long_animation_frames;
        assert_eq!(frames.count, TOP_SCRIPTS as u64 + 6);
        assert_eq!(frames.duration_ms.max, Some(200.0));
        assert_eq!(frames.blocking_duration_ms.max, Some(100.0));
        let scripts: Vec<(&str, u64, f64)> = frames
            .top_scripts
            .iter()
            .map(|s| (s.script_url.as_str(), s.count, s.total_duration_ms))
            .collect();
        assert_eq!(scripts.len(), TOP_SCRIPTS + 1);
        assert_eq!(scripts[0], ("https://x/12.js", 1, 130.0));
        assert_eq!(scripts[3], ("https://x/busy.js", 2, 100.0), "{scripts:?}");
        // busy.js ties with 09.js at 100 ms and leads it by its count.
        assert_eq!(scripts[4], ("https://x/09.js", 1, 100.0));
        // Left out: scripts 00 to 03 (10 + 20 + 30 + 40 ms).
        assert_eq!(scripts[TOP_SCRIPTS], (OTHER, 4, 100.0));
    }

    #[test]
    fn resources_are_ranked_by_p75_not_by_count() {
        let mut builder = EntriesBuilder::default();
        for _ in 0..10 {
            builder.add(resource("https://cdn/a.png", "img", 20.0, Some(1000)));
        }
        builder.add(resource("https://cdn/a.png", "img", 20.0, None));
        builder.add(resource("https://x/app.js", "script", 300.0, Some(50_000)));
        builder.add(resource("https://x/app.css", "link", 90.0, Some(0)));
        builder.add(resource("https://x/app.css", "link", 110.0, Some(4000)));
        let resources = builder.finish().resources;
        let order: Vec<(&str, &str, u64)> = resources
            .slowest
            .iter()
            .map(|r| (r.name.as_str(), r.initiator_type.as_str(), r.count))
            .collect();
        assert_eq!(
            order,
            [
                ("https://x/app.js", "script", 1),
                ("https://x/app.css", "link", 2),
                ("https://cdn/a.png", "img", 11)
            ]
        );
        assert_eq!(resources.slowest[1].transfer_size_bytes_mean, Some(2000.0));
        assert_eq!(
            resources.slowest[2].transfer_size_bytes_mean,
            Some(1000.0),
            "the unsized load left out"
        );
        let types: Vec<(&str, u64, u64)> = resources
            .initiator_types
            .iter()
            .map(|t| {
                (
                    t.initiator_type.as_str(),
                    t.count,
                    t.transfer_size_bytes_total,
                )
            })
            .collect();
        assert_eq!(
            types,
            [
                ("img", 11, 10_000),
                ("link", 2, 4000),
                ("script", 1, 50_000)
            ]
        );
        let p75 = resources.initiator_types[0].duration_ms.p75.expect("a p75");
        assert!((p75 - 20.0).abs() <= 0.2, "{p75}");
    }

    #[test]
    fn resources_beyond_the_tracked_and_listed_ones_are_other() {
        let mut builder = EntriesBuilder::default();
        for i in 0..(MAX_TRACKED_GROUPS + 50) {
            builder.add(resource(
                &format!("https://x/{i}.png"),
                "img",
                10.0 + i as f64,
                None,
            ));
        }
        let resources = builder.finish().resources;
        assert_eq!(resources.slowest.len(), SLOWEST_RESOURCES + 1);
        let other = &resources.slowest[SLOWEST_RESOURCES];
        assert_eq!(
            (other.name.as_str(), other.initiator_type.as_str()),
            (OTHER, OTHER)
        );
        assert_eq!(
            other.count,
            (MAX_TRACKED_GROUPS + 50 - SLOWEST_RESOURCES) as u64
        );
        // The slowest tracked one leads; the 50 untracked ones only count under `other`.
        assert_eq!(
            resources.slowest[0].name,
            format!("https://x/{}.png", MAX_TRACKED_GROUPS - 1)
        );
        assert_eq!(resources.initiator_types.len(), 1);
        assert_eq!(
            resources.initiator_types[0].count,
            (MAX_TRACKED_GROUPS + 50) as u64
        );
    }

    #[test]
    fn an_empty_window_answers_zeros_and_nulls() {
        let entries = EntriesBuilder::default().finish();
        assert_eq!(entries, Entries::default());
        let json = serde_json::to_value(&entries).expect("json");
        assert_eq!(json["long_tasks"]["count"], 0);
        assert_eq!(
            json["long_tasks"]["duration_ms"]["p75"],
            serde_json::Value::Null
        );
        assert_eq!(json["resources"]["slowest"], serde_json::json!([]));
    }
}
