//! The errors pages reported in a window (`error` events: render errors a React error boundary
//! caught, unhandled errors and promise rejections): how many, how many sessions they hit, and
//! the commonest groups of the same kind, name and message, each with its count, the sessions
//! it hit, when it was last seen and the stacks of its latest occurrence that had any. They
//! show as `errors` in `GET /frontend/vitals`, read from the raw errors (`browser_errors`),
//! kept `retention_days`.
//!
//! Bounded as the other lists are ([`crate::entry_stats`]): at most
//! [`MAX_TRACKED_GROUPS`](crate::backend_stats::MAX_TRACKED_GROUPS) groups are tracked, later ones counted under `other`, and the answer lists the
//! [`TOP_GROUPS`] commonest, then `other`. A group's sessions are counted exactly up to
//! [`EXACT_SESSIONS`], then by a HyperLogLog (within 1.6 %), so a group costs its texts and a
//! few hundred bytes until it has hit many sessions, and 4 KB more after. The rows are read
//! without their stacks; the stacks of the groups listed are read afterwards, by id
//! ([`Store::error_samples`]).

use serde::Serialize;

use crate::backend_stats::{OTHER, TOP_GROUPS};
use crate::entry_stats::{Bounded, Merge};
use crate::sketch::hll::xxh64;
use crate::sketch::Hll;
use crate::store::{ErrorRow, ErrorSample, Store, StoreError};

/// Sessions a group counts exactly, by their hashes; beyond, a HyperLogLog.
pub const EXACT_SESSIONS: usize = 64;

/// The errors of a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Errors {
    /// Errors thrown in the window.
    pub count: u64,
    /// Sessions with at least one (exact up to [`EXACT_SESSIONS`], then within 1.6 %).
    pub sessions_affected: u64,
    /// The commonest groups of the same kind, name and message, most first
    /// ([`TOP_GROUPS`], then `other`).
    pub groups: Vec<ErrorGroup>,
}

/// The errors of one kind, name and message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    /// `render`, `unhandled`, `unhandledrejection`, another name a sender used, or `other`
    /// (the groups not listed).
    pub kind: String,
    /// The JavaScript error's name (`TypeError`, ...); `null` when none was sent.
    pub name: Option<String>,
    /// The message the group's errors share (`other` for the groups not listed).
    pub message: String,
    /// Errors of the group in the window.
    pub count: u64,
    /// Sessions it hit (exact up to [`EXACT_SESSIONS`], then within 1.6 %).
    pub sessions_affected: u64,
    /// When the latest was thrown, epoch ms.
    pub last_seen_at: i64,
    /// The stack of the latest one that had a stack or a component stack; `null` when none
    /// had.
    pub sample_stack: Option<String>,
    /// React's component stack of that same error.
    pub sample_component_stack: Option<String>,
    /// The stored error the samples are read from.
    #[serde(skip)]
    sample_id: Option<i64>,
}

impl Errors {
    /// The stored errors whose stacks the listed groups show.
    pub fn sample_ids(&self) -> Vec<i64> {
        self.groups.iter().filter_map(|g| g.sample_id).collect()
    }

    /// Gives each listed group the stacks of its sample, from `samples`
    /// ([`Store::error_samples`] of [`Errors::sample_ids`]); a sample deleted meanwhile
    /// leaves its group without.
    pub fn fill_samples(&mut self, samples: &[ErrorSample]) {
        for group in &mut self.groups {
            let Some(id) = group.sample_id else {
                continue;
            };
            if let Some(sample) = samples.iter().find(|sample| sample.id == id) {
                group.sample_stack.clone_from(&sample.stack);
                group
                    .sample_component_stack
                    .clone_from(&sample.component_stack);
            }
        }
    }
}

/// The errors of `[since_ms, until_ms)` in `store`, with the listed groups' stacks. Blocks:
/// call it from the blocking pool.
pub fn read(store: &dyn Store, since_ms: i64, until_ms: i64) -> Result<Errors, StoreError> {
    let mut builder = ErrorsBuilder::default();
    store.scan_errors(since_ms, until_ms, &mut |row| builder.add(row))?;
    let mut errors = builder.finish();
    let ids = errors.sample_ids();
    if !ids.is_empty() {
        errors.fill_samples(&store.error_samples(&ids)?);
    }
    Ok(errors)
}

/// Distinct sessions: their hashes while they are few, then a HyperLogLog of them (the same
/// hashes, so the two agree).
#[derive(Debug, Clone)]
enum Sessions {
    Few(Vec<u64>),
    Many(Hll),
}

impl Default for Sessions {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl Sessions {
    fn insert(&mut self, session: &str) {
        self.insert_hash(xxh64(session.as_bytes(), 0));
    }

    fn insert_hash(&mut self, hash: u64) {
        match self {
            Self::Few(hashes) if hashes.contains(&hash) => {}
            Self::Few(hashes) if hashes.len() < EXACT_SESSIONS => hashes.push(hash),
            Self::Few(hashes) => {
                let mut sketch = Hll::new();
                for known in hashes.iter().chain([&hash]) {
                    sketch.insert_hash(*known);
                }
                *self = Self::Many(sketch);
            }
            Self::Many(sketch) => sketch.insert_hash(hash),
        }
    }

    fn merge(&mut self, other: &Self) {
        match other {
            Self::Few(hashes) => hashes.iter().for_each(|hash| self.insert_hash(*hash)),
            Self::Many(theirs) => {
                if let Self::Few(hashes) = self {
                    let mut sketch = Hll::new();
                    hashes.iter().for_each(|hash| sketch.insert_hash(*hash));
                    *self = Self::Many(sketch);
                }
                if let Self::Many(mine) = self {
                    mine.merge(theirs);
                }
            }
        }
    }

    fn count(&self) -> u64 {
        match self {
            Self::Few(hashes) => hashes.len() as u64,
            Self::Many(sketch) => sketch.estimate(),
        }
    }
}

/// What errors are grouped by: kind, name and message.
type GroupKey = (String, Option<String>, String);

/// One group's errors.
#[derive(Debug, Default)]
struct GroupAggregate {
    count: u64,
    sessions: Sessions,
    last_seen_at: Option<i64>,
    /// `(at_ms, id)` of the latest error with a stack: its stacks are the group's sample.
    sample: Option<(i64, i64)>,
}

impl Merge for GroupAggregate {
    fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sessions.merge(&other.sessions);
        self.last_seen_at = self.last_seen_at.max(other.last_seen_at);
        self.sample = self.sample.max(other.sample);
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Folds [`ErrorRow`]s into [`Errors`] (without their samples' stacks, which
/// [`Errors::fill_samples`] adds).
#[derive(Debug, Default)]
pub struct ErrorsBuilder {
    count: u64,
    sessions: Sessions,
    groups: Bounded<GroupKey, GroupAggregate>,
}

impl ErrorsBuilder {
    /// Counts one error.
    pub fn add(&mut self, row: ErrorRow) {
        self.count += 1;
        self.sessions.insert(&row.session);
        let group = self.groups.entry((row.kind, row.name, row.message));
        group.count += 1;
        group.sessions.insert(&row.session);
        group.last_seen_at = group.last_seen_at.max(Some(row.at_ms));
        if row.has_stack {
            group.sample = group.sample.max(Some((row.at_ms, row.id)));
        }
    }

    /// The totals and the [`TOP_GROUPS`] commonest groups, then `other`.
    pub fn finish(self) -> Errors {
        let (top, other) = self.groups.top(TOP_GROUPS, |a, b| b.count.cmp(&a.count));
        let other_key = || (OTHER.to_owned(), Some(OTHER.to_owned()), OTHER.to_owned());
        let groups = top
            .into_iter()
            .chain(other.map(|other| (other_key(), other)))
            .map(|((kind, name, message), a)| ErrorGroup {
                kind,
                name,
                message,
                count: a.count,
                sessions_affected: a.sessions.count(),
                last_seen_at: a.last_seen_at.unwrap_or_default(),
                sample_stack: None,
                sample_component_stack: None,
                sample_id: a.sample.map(|(_, id)| id),
            })
            .collect();
        Errors {
            count: self.count,
            sessions_affected: self.sessions.count(),
            groups,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, kind: &str, message: &str, session: &str, at_ms: i64) -> ErrorRow {
        ErrorRow {
            id,
            kind: kind.to_owned(),
            name: Some("TypeError".to_owned()),
            message: message.to_owned(),
            session: format!("a {session}"),
            at_ms,
            has_stack: true,
        }
    }

    #[test]
    fn groups_count_their_sessions_and_keep_their_latest_stack() {
        let mut builder = ErrorsBuilder::default();
        builder.add(row(1, "render", "x is undefined", "s1", 100));
        builder.add(row(2, "render", "x is undefined", "s1", 300));
        builder.add(row(3, "render", "x is undefined", "s2", 200));
        // The latest has no stack: the sample stays the latest that had one.
        builder.add(ErrorRow {
            has_stack: false,
            ..row(4, "render", "x is undefined", "s3", 400)
        });
        // Same message, another kind or name: other groups.
        builder.add(row(5, "unhandled", "x is undefined", "s1", 50));
        builder.add(ErrorRow {
            name: None,
            ..row(6, "render", "x is undefined", "s1", 60)
        });
        let mut errors = builder.finish();
        assert_eq!((errors.count, errors.sessions_affected), (6, 3));
        let first = &errors.groups[0];
        assert_eq!(
            (
                first.kind.as_str(),
                first.name.as_deref(),
                first.message.as_str()
            ),
            ("render", Some("TypeError"), "x is undefined")
        );
        assert_eq!((first.count, first.sessions_affected), (4, 3));
        assert_eq!(first.last_seen_at, 400);
        assert_eq!(errors.sample_ids(), [2, 6, 5]);
        // Ties by key: `None` names first, then `render` before `unhandled`.
        let rest: Vec<(&str, Option<&str>, u64)> = errors.groups[1..]
            .iter()
            .map(|g| (g.kind.as_str(), g.name.as_deref(), g.count))
            .collect();
        assert_eq!(
            rest,
            [("render", None, 1), ("unhandled", Some("TypeError"), 1)]
        );

        errors.fill_samples(&[
            ErrorSample {
                id: 2,
                stack: Some("TypeError: x is undefined\n    at A".to_owned()),
                component_stack: Some("\n    in A".to_owned()),
            },
            ErrorSample {
                id: 5,
                stack: None,
                component_stack: None,
            },
        ]);
        assert_eq!(
            errors.groups[0].sample_stack.as_deref(),
            Some("TypeError: x is undefined\n    at A")
        );
        assert_eq!(
            errors.groups[0].sample_component_stack.as_deref(),
            Some("\n    in A")
        );
        assert_eq!(errors.groups[1].sample_stack, None, "its sample is gone");
        let json = serde_json::to_value(&errors.groups[0]).expect("json");
        assert!(json.get("sample_id").is_none(), "{json}");
        assert_eq!(json["last_seen_at"], 400);
    }

    #[test]
    fn beyond_the_top_groups_are_folded_into_other() {
        let mut builder = ErrorsBuilder::default();
        for i in 0..(TOP_GROUPS + 3) {
            for n in 0..=i {
                builder.add(row(
                    (i * 100 + n) as i64,
                    "unhandled",
                    &format!("e{i:02}"),
                    &format!("s{n}"),
                    i as i64,
                ));
            }
        }
        let errors = builder.finish();
        assert_eq!(errors.groups.len(), TOP_GROUPS + 1);
        assert_eq!(errors.groups[0].message, format!("e{:02}", TOP_GROUPS + 2));
        let other = &errors.groups[TOP_GROUPS];
        assert_eq!(
            (
                other.kind.as_str(),
                other.name.as_deref(),
                other.message.as_str()
            ),
            (OTHER, Some(OTHER), OTHER)
        );
        // e00, e01, e02: 1 + 2 + 3 errors, in sessions s0 to s2.
        assert_eq!((other.count, other.sessions_affected), (6, 3));
        assert_eq!(other.last_seen_at, 2);
        assert_eq!(other.sample_id, Some(202));
        assert_eq!(errors.sessions_affected, TOP_GROUPS as u64 + 3);
    }

    #[test]
    fn many_sessions_are_counted_by_a_sketch_within_its_error() {
        let mut builder = ErrorsBuilder::default();
        let sessions = 10_000;
        for i in 0..sessions {
            builder.add(row(i, "render", "boom", &format!("s{i}"), i));
            // Each session twice: counted once.
            builder.add(row(i, "render", "boom", &format!("s{i}"), i));
        }
        let errors = builder.finish();
        assert_eq!(errors.count, 2 * sessions as u64);
        let estimate = errors.groups[0].sessions_affected as f64;
        assert!(
            (estimate - sessions as f64).abs() < 0.05 * sessions as f64,
            "{estimate}"
        );
        // Merging a sketch into a few exact ones, and the other way round.
        let (mut few, mut many) = (Sessions::default(), Sessions::default());
        few.insert("a x");
        for i in 0..(EXACT_SESSIONS + 1) {
            many.insert(&format!("a s{i}"));
        }
        assert!(matches!(many, Sessions::Many(_)));
        // A sketch of a few dozen items is nearly exact.
        let about = |count: u64, expected: usize| count.abs_diff(expected as u64) <= 1;
        assert!(about(many.count(), EXACT_SESSIONS + 1), "{}", many.count());
        let mut merged = few.clone();
        merged.merge(&many);
        assert!(matches!(merged, Sessions::Many(_)));
        assert!(
            about(merged.count(), EXACT_SESSIONS + 2),
            "{}",
            merged.count()
        );
        many.merge(&few);
        assert!(about(many.count(), EXACT_SESSIONS + 2), "{}", many.count());
    }

    #[test]
    fn an_empty_window_answers_zeros() {
        let errors = ErrorsBuilder::default().finish();
        assert_eq!(errors, Errors::default());
        assert_eq!(
            serde_json::to_value(&errors).expect("json"),
            serde_json::json!({"count": 0, "sessions_affected": 0, "groups": []})
        );
    }
}
