//! User sessions: when each browser session was active, and the statistics of a window.
//!
//! The writer keeps one activity row per session and minute ([`activity`]): the first and last
//! moment anything of the session happened in that minute (its events' times, and the time its
//! batch arrived, which is when the page last said it was alive) and its user. Reading a window
//! ([`SessionStatsBuilder`]) takes every activity row and page view of the sessions active in
//! it, ordered by session and time, and cuts each session's activity into **visits** wherever
//! it pauses for longer than the inactivity timeout (30 minutes by default, as in Google
//! Analytics): a session id that comes back after a longer pause is a new session for the
//! statistics. A visit counts in the window it starts in.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend_stats::Latency;
use crate::normalize::BrowserRecords;
use crate::rollup::Tier;
use crate::sketch::{DdSketch, Hll};

/// How users and sessions are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Minutes back a user or session counts as active now.
    pub active_minutes: u32,
    /// A pause longer than this, in minutes, ends a session.
    pub timeout_minutes: u32,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            active_minutes: 5,
            timeout_minutes: 30,
        }
    }
}

/// One minute of a session's activity, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// The minute, epoch ms.
    pub minute_ms: i64,
    /// The first and last moments of activity in it, epoch ms.
    pub first_ms: i64,
    pub last_ms: i64,
}

/// The activity `batch` shows, a row per minute: its events' times and its arrival.
pub fn activity(batch: &BrowserRecords) -> Vec<Activity> {
    let mut minutes: BTreeMap<i64, Activity> = BTreeMap::new();
    let times = batch
        .records
        .iter()
        .map(|record| record.at_ms)
        .chain([batch.received_at_ms]);
    for at_ms in times {
        let minute_ms = Tier::Minute.bucket_of(at_ms);
        minutes
            .entry(minute_ms)
            .and_modify(|a| {
                a.first_ms = a.first_ms.min(at_ms);
                a.last_ms = a.last_ms.max(at_ms);
            })
            .or_insert(Activity {
                minute_ms,
                first_ms: at_ms,
                last_ms: at_ms,
            });
    }
    minutes.into_values().collect()
}

/// The activity rows of a group of batches, merged per session and minute (a statement may
/// touch a row once), with the session's latest user id.
pub fn group_activity<'a>(
    batches: impl IntoIterator<Item = &'a BrowserRecords>,
) -> BTreeMap<(&'a str, &'a str, i64), (Activity, Option<&'a str>)> {
    let mut rows: BTreeMap<(&str, &str, i64), (Activity, Option<&str>)> = BTreeMap::new();
    for batch in batches {
        let user = batch.user_id.as_deref();
        for a in activity(batch) {
            rows.entry((&batch.app, &batch.session_id, a.minute_ms))
                .and_modify(|(row, row_user)| {
                    row.first_ms = row.first_ms.min(a.first_ms);
                    row.last_ms = row.last_ms.max(a.last_ms);
                    *row_user = user.or(*row_user);
                })
                .or_insert((a, user));
        }
    }
    rows
}

/// A moment of a session's activity as read back: an activity row, or a page view's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPoint {
    pub app: String,
    pub session_id: String,
    pub first_ms: i64,
    pub last_ms: i64,
    /// A page view started at `first_ms` (not an activity row).
    pub page_view: bool,
    pub user_id: Option<String>,
}

/// Sessions active in the last minutes, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ActiveUsers {
    /// The minutes looked back.
    pub minutes: f64,
    /// Distinct users: signed-in users of active browser sessions and of backend calls, and
    /// each active session without a user.
    pub users: u64,
    /// Browser sessions with activity in those minutes.
    pub sessions: u64,
}

/// Session duration buckets: (upper bound in ms, label). The last is open.
const DURATION_BUCKETS: [(i64, &str); 8] = [
    (10_000, "0-10s"),
    (30_000, "10-30s"),
    (60_000, "30s-1m"),
    (180_000, "1-3m"),
    (600_000, "3-10m"),
    (1_800_000, "10-30m"),
    (3_600_000, "30m-1h"),
    (i64::MAX, "1h+"),
];

/// Page views per session buckets: (most page views, label). The last is open.
const PAGE_VIEW_BUCKETS: [(u64, &str); 5] = [
    (1, "1"),
    (2, "2"),
    (5, "3-5"),
    (10, "6-10"),
    (u64::MAX, "11+"),
];

/// One bucket of a distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub range: &'static str,
    pub sessions: u64,
    pub percent: f64,
}

/// Page views per session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageViews {
    /// Page views in the sessions started in the window.
    pub total: u64,
    pub per_session_avg: Option<f64>,
    pub distribution: Vec<Bucket>,
}

/// The session statistics of a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionStats {
    /// Now, not over the window.
    pub active_users: ActiveUsers,
    /// Sessions (visits) that started in the window.
    pub sessions_started: u64,
    /// Distinct signed-in users among them (HyperLogLog, about 1.6 % error).
    pub users: u64,
    /// Sessions without a user id.
    pub anonymous_sessions: u64,
    /// From a session's first to its last activity, ms; percentiles within 1 %. A session still
    /// going counts the time so far.
    pub duration_ms: Latency,
    pub duration_distribution: Vec<Bucket>,
    pub page_views: PageViews,
    /// The pause after which a session's activity counts as a new session, minutes.
    pub inactivity_timeout_minutes: f64,
}

/// One visit being read.
#[derive(Debug)]
struct Visit {
    start_ms: i64,
    last_ms: i64,
    page_views: u64,
    user: Option<String>,
}

/// Reads [`SessionPoint`]s ordered by app, session and time, and counts the visits that start
/// in `[since_ms, until_ms)`. Memory is bounded: one session's visit at a time, the sketches,
/// and fixed buckets.
#[derive(Debug)]
pub struct SessionStatsBuilder {
    since_ms: i64,
    until_ms: i64,
    timeout_ms: i64,
    current: Option<((String, String), Visit)>,
    started: u64,
    anonymous: u64,
    users: Hll,
    durations: DdSketch,
    duration_buckets: [u64; DURATION_BUCKETS.len()],
    page_views: u64,
    page_view_buckets: [u64; PAGE_VIEW_BUCKETS.len()],
}

impl SessionStatsBuilder {
    /// Counts the visits starting in `[since_ms, until_ms)`, a session's activity being cut
    /// at pauses longer than `timeout_ms`.
    pub fn new(since_ms: i64, until_ms: i64, timeout_ms: i64) -> Self {
        Self {
            since_ms,
            until_ms,
            timeout_ms,
            current: None,
            started: 0,
            anonymous: 0,
            users: Hll::new(),
            durations: DdSketch::new(),
            duration_buckets: [0; DURATION_BUCKETS.len()],
            page_views: 0,
            page_view_buckets: [0; PAGE_VIEW_BUCKETS.len()],
        }
    }

    /// Takes the next point (ordered by app, session id and `first_ms`).
    pub fn add(&mut self, point: SessionPoint) {
        let same_session = self
            .current
            .as_ref()
            .is_some_and(|((app, id), _)| *app == point.app && *id == point.session_id);
        if same_session {
            if let Some((_, visit)) = &mut self.current {
                if point.first_ms - visit.last_ms <= self.timeout_ms {
                    visit.last_ms = visit.last_ms.max(point.last_ms);
                    visit.page_views += u64::from(point.page_view);
                    if point.user_id.is_some() {
                        visit.user = point.user_id;
                    }
                    return;
                }
            }
        }
        self.close_visit();
        self.current = Some((
            (point.app, point.session_id),
            Visit {
                start_ms: point.first_ms,
                last_ms: point.last_ms,
                page_views: u64::from(point.page_view),
                user: point.user_id,
            },
        ));
    }

    /// Counts the visit being read, if it starts in the window.
    fn close_visit(&mut self) {
        let Some((_, visit)) = self.current.take() else {
            return;
        };
        if visit.start_ms < self.since_ms || visit.start_ms >= self.until_ms {
            return;
        }
        self.started += 1;
        match &visit.user {
            Some(user) => self.users.insert_str(user),
            None => self.anonymous += 1,
        }
        let duration = visit.last_ms - visit.start_ms;
        self.durations.add(duration as f64);
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|(below, _)| duration < *below)
            .unwrap_or(DURATION_BUCKETS.len() - 1);
        self.duration_buckets[bucket] += 1;
        // A session seen only through later batches of a page loaded earlier has no page view
        // start in it; it counts as one page view.
        let views = visit.page_views.max(1);
        self.page_views += visit.page_views;
        let bucket = PAGE_VIEW_BUCKETS
            .iter()
            .position(|(most, _)| views <= *most)
            .unwrap_or(PAGE_VIEW_BUCKETS.len() - 1);
        self.page_view_buckets[bucket] += 1;
    }

    /// The statistics, with `active_users` as measured apart.
    pub fn finish(mut self, active_users: ActiveUsers) -> SessionStats {
        self.close_visit();
        let started = self.started;
        let buckets = |labels: &mut dyn Iterator<Item = &'static str>, counts: &[u64]| {
            labels
                .zip(counts)
                .map(|(range, &sessions)| Bucket {
                    range,
                    sessions,
                    percent: if started == 0 {
                        0.0
                    } else {
                        sessions as f64 * 100.0 / started as f64
                    },
                })
                .collect()
        };
        SessionStats {
            active_users,
            sessions_started: started,
            users: self.users.estimate(),
            anonymous_sessions: self.anonymous,
            duration_ms: Latency::of(&self.durations),
            duration_distribution: buckets(
                &mut DURATION_BUCKETS.iter().map(|(_, label)| *label),
                &self.duration_buckets,
            ),
            page_views: PageViews {
                total: self.page_views,
                per_session_avg: (started > 0).then(|| self.page_views as f64 / started as f64),
                distribution: buckets(
                    &mut PAGE_VIEW_BUCKETS.iter().map(|(_, label)| *label),
                    &self.page_view_buckets,
                ),
            },
            inactivity_timeout_minutes: self.timeout_ms as f64 / 60_000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_795_676_400_000;

    fn point(session: &str, at_ms: i64, page_view: bool, user: Option<&str>) -> SessionPoint {
        SessionPoint {
            app: "app".to_owned(),
            session_id: session.to_owned(),
            first_ms: at_ms,
            last_ms: at_ms,
            page_view,
            user_id: user.map(str::to_owned),
        }
    }

    fn stats(points: Vec<SessionPoint>, since_ms: i64) -> SessionStats {
        let mut builder = SessionStatsBuilder::new(since_ms, T0 + 1000 * MIN, 30 * MIN);
        for p in points {
            builder.add(p);
        }
        builder.finish(ActiveUsers::default())
    }

    #[test]
    fn a_pause_longer_than_the_timeout_starts_a_new_session() {
        let s = stats(
            vec![
                point("a", T0, true, None),
                point("a", T0 + 10 * MIN, true, Some("u1")),
                // 30 minutes exactly: the same session.
                point("a", T0 + 40 * MIN, false, None),
                // 31 minutes later: a new one.
                point("a", T0 + 71 * MIN, true, None),
                point("a", T0 + 71 * MIN + 5_000, false, None),
                point("b", T0 + 5 * MIN, true, None),
            ],
            T0,
        );
        assert_eq!(s.sessions_started, 3);
        assert_eq!(s.page_views.total, 4);
        assert_eq!(s.duration_ms.max.map(f64::round), Some((40 * MIN) as f64));
        let count = |range: &str| {
            s.duration_distribution
                .iter()
                .find(|b| b.range == range)
                .map(|b| b.sessions)
        };
        assert_eq!(count("0-10s"), Some(2));
        assert_eq!(count("30m-1h"), Some(1));
        let views: Vec<u64> = s
            .page_views
            .distribution
            .iter()
            .map(|b| b.sessions)
            .collect();
        assert_eq!(views, [2, 1, 0, 0, 0]);
        // The user signed in during the first visit; the later visit has no user.
        assert_eq!((s.users, s.anonymous_sessions), (1, 2));
    }

    #[test]
    fn a_session_counts_in_the_window_it_starts_in() {
        let s = stats(
            vec![
                point("early", T0 - 20 * MIN, true, None),
                point("early", T0 + 5 * MIN, true, None),
                point("late", T0 + 2 * MIN, true, None),
            ],
            T0,
        );
        assert_eq!(s.sessions_started, 1);
        assert_eq!(s.page_views.total, 1);
    }

    #[test]
    fn activity_is_kept_per_minute_with_its_first_and_last_moments() {
        let batch = BrowserRecords {
            app: "a".to_owned(),
            session_id: "s".to_owned(),
            release: None,
            user_id: None,
            received_at_ms: T0 + MIN + 30_000,
            records: Vec::new(),
        };
        assert_eq!(
            activity(&batch),
            [Activity {
                minute_ms: T0 + MIN,
                first_ms: T0 + MIN + 30_000,
                last_ms: T0 + MIN + 30_000
            }]
        );
    }
}
