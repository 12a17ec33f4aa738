//! Roll-ups: what a long window needs, kept per minute, hour and day instead of per event.
//!
//! Raw events are kept a few days ([`crate::retention`]); a 30-day question must not read
//! millions of them. Each tier keeps, per bucket and series, counts, sums, a [`DdSketch`] of
//! the values (quantiles within 1 %) and [`Hll`] sketches of distinct sessions and users:
//!
//! ```text
//!  raw web_vitals, page_views ──▶ minute (kept 2 days) ──▶ hour (90 days) ──▶ day (2 years)
//!        every write marks its minute dirty ─┘   each rolled bucket marks its parent dirty
//! ```
//!
//! - **Dirty marks, not clocks.** The writer notes, in the same transaction as the events, the
//!   minute of every row it changed (a web vital counts in the minute it was *first* measured,
//!   so a later report with a higher `seq` re-marks that minute, never another). The roller
//!   recomputes exactly the marked buckets, from the tier below, and replaces them: the same
//!   input gives the same rows, so running twice, or after a crash, changes nothing. A mark
//!   made while its bucket was being computed is newer than the ones the roller read and
//!   survives for the next pass.
//! - **One roller at a time.** With several collectors on one PostgreSQL database, a session
//!   advisory lock ([`Store::try_lock_rollups`]) decides which one rolls; the others skip the
//!   pass. SQLite has one collector per file.
//! - **Final after the minute tier's retention.** A minute can be recomputed while its raw
//!   events exist, an hour while its minutes do: a change to data older than the minute
//!   tier's retention (a metric reported again two days later) reaches the raw table but not
//!   the hour and day roll-ups, and is counted in `stale` of [`RollStats`].
//! - **Reads** ([`read_window`]) cover a window with whole days, then whole hours, then
//!   minutes at the edges, so 30 days read at most 28 days + 46 hours + 118 minutes of rows
//!   per series.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use perfwatch_protocol::{Rating, VitalName};

use crate::backend_stats::{AiCallRow, ApiCallRow, MAX_TRACKED_GROUPS};
use crate::call_rollup::{self, AiDimension, AiSeries, ApiDimension, ApiSeries};
use crate::clock;
use crate::erasure_cache::StatsCache;
use crate::periodic::Periodic;
use crate::sketch::{DdSketch, Hll};
use crate::stats::page_key;
use crate::store::{SharedStore, Store, StoreError};

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 86_400_000;

/// Dirty marks read at a time: a pass reads again while a read comes back full, so marks
/// never pile up, and memory stays bounded.
pub const MARKS_PER_PASS: usize = 10_000;

/// A roll-up tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// One bucket per minute, computed from the raw events.
    Minute,
    /// One bucket per hour, merged from its minutes.
    Hour,
    /// One bucket per day (UTC), merged from its hours.
    Day,
}

impl Tier {
    /// Every tier, finest first: the order a pass rolls them in.
    pub const ALL: [Tier; 3] = [Tier::Minute, Tier::Hour, Tier::Day];

    /// The name stored in the `tier` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Minute => "minute",
            Tier::Hour => "hour",
            Tier::Day => "day",
        }
    }

    /// A bucket's length, ms.
    pub fn width_ms(self) -> i64 {
        match self {
            Tier::Minute => MS_PER_MINUTE,
            Tier::Hour => MS_PER_HOUR,
            Tier::Day => MS_PER_DAY,
        }
    }

    /// The start of the bucket holding `at_ms`.
    pub fn bucket_of(self, at_ms: i64) -> i64 {
        at_ms.div_euclid(self.width_ms()) * self.width_ms()
    }

    /// The tier a bucket of this one rolls into.
    pub fn parent(self) -> Option<Tier> {
        match self {
            Tier::Minute => Some(Tier::Hour),
            Tier::Hour => Some(Tier::Day),
            Tier::Day => None,
        }
    }

    /// The tier this one is computed from (`None`: the raw events).
    pub fn child(self) -> Option<Tier> {
        match self {
            Tier::Minute => None,
            Tier::Hour => Some(Tier::Minute),
            Tier::Day => Some(Tier::Hour),
        }
    }
}

/// How long each tier is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupPolicy {
    /// Days of minute buckets (default 2).
    pub minute_days: u32,
    /// Days of hour buckets (default 90).
    pub hour_days: u32,
    /// Days of day buckets (default 730).
    pub day_days: u32,
}

impl Default for RollupPolicy {
    fn default() -> Self {
        Self {
            minute_days: 2,
            hour_days: 90,
            day_days: 730,
        }
    }
}

impl RollupPolicy {
    /// Days `tier` is kept.
    pub fn days(self, tier: Tier) -> u32 {
        match tier {
            Tier::Minute => self.minute_days,
            Tier::Hour => self.hour_days,
            Tier::Day => self.day_days,
        }
    }

    /// Buckets of `tier` starting before this are deleted at `now_ms`.
    pub fn cutoff(self, tier: Tier, now_ms: i64) -> i64 {
        now_ms - i64::from(self.days(tier)) * MS_PER_DAY
    }
}

/// One web vital on one page in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalSeries {
    /// The application.
    pub app: String,
    /// The route, or the URL when the page has no route.
    pub page: String,
    /// Which vital.
    pub name: VitalName,
    /// Rated good, needs-improvement and poor by the collector (their sum is the count).
    pub ratings: [u64; 3],
    /// The values: count, sum, min, max and quantiles.
    pub sketch: DdSketch,
}

impl VitalSeries {
    /// How many metrics.
    pub fn count(&self) -> u64 {
        self.ratings.iter().sum()
    }
}

/// Page views of one page in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct PageViewSeries {
    /// The application.
    pub app: String,
    /// The route, or the URL when the page has no route.
    pub page: String,
    /// Page views started.
    pub count: u64,
    /// Distinct sessions.
    pub sessions: Hll,
    /// Distinct signed-in users.
    pub users: Hll,
}

/// Everything one bucket (or a merged window) holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    /// Per vital and page.
    pub vitals: Vec<VitalSeries>,
    /// Per page.
    pub page_views: Vec<PageViewSeries>,
    /// Backend API calls per endpoint, user and status.
    pub api_calls: Vec<ApiSeries>,
    /// AI calls per model, user and provider.
    pub ai_calls: Vec<AiSeries>,
}

/// One raw web vital, as the minute tier reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawVital {
    /// The application.
    pub app: String,
    /// The route, or the URL.
    pub page: String,
    /// Which vital.
    pub name: VitalName,
    /// Its value at its highest `seq`.
    pub value: f64,
}

/// One raw page view, as the minute tier reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPageView {
    /// The application.
    pub app: String,
    /// The route, or the URL.
    pub page: String,
    /// Its session.
    pub session_id: String,
    /// Its user, if the app said who.
    pub user_id: Option<String>,
}

/// The raw events of one minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawMinute {
    /// Web vitals first measured in the minute.
    pub vitals: Vec<RawVital>,
    /// Page views started in the minute.
    pub page_views: Vec<RawPageView>,
    /// Backend API calls dated in the minute.
    pub api_calls: Vec<ApiCallRow>,
    /// AI calls dated in the minute.
    pub ai_calls: Vec<AiCallRow>,
}

/// A bucket to recompute, and the marks that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyBucket {
    /// Its tier.
    pub tier: Tier,
    /// Its start, epoch ms.
    pub bucket_ms: i64,
    /// The ids of the marks read. Exactly these are cleared when the bucket is replaced: with
    /// several writers, a mark with a lower id may commit after a higher one was read.
    pub marks: Vec<i64>,
}

/// Groups marks `(id, bucket_ms)` of `tier` into buckets, oldest bucket first.
pub fn group_marks(tier: Tier, marks: impl IntoIterator<Item = (i64, i64)>) -> Vec<DirtyBucket> {
    let mut buckets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, bucket_ms) in marks {
        buckets.entry(bucket_ms).or_default().push(id);
    }
    buckets
        .into_iter()
        .map(|(bucket_ms, marks)| DirtyBucket {
            tier,
            bucket_ms,
            marks,
        })
        .collect()
}

/// Held while this collector is the one rolling up; dropping it lets another collector.
pub type RollupLock = Box<dyn Send>;

/// Builder of one bucket's series.
#[derive(Default)]
struct Builder {
    vitals: BTreeMap<(String, String, VitalName), ([u64; 3], DdSketch)>,
    page_views: BTreeMap<(String, String), (u64, Hll, Hll)>,
}

fn rating_index(rating: Rating) -> usize {
    match rating {
        Rating::Good => 0,
        Rating::NeedsImprovement => 1,
        Rating::Poor => 2,
    }
}

impl Builder {
    fn finish(self, api_calls: Vec<ApiSeries>, ai_calls: Vec<AiSeries>) -> Rollup {
        Rollup {
            api_calls,
            ai_calls,
            vitals: self
                .vitals
                .into_iter()
                .map(|((app, page, name), (ratings, sketch))| VitalSeries {
                    app,
                    page,
                    name,
                    ratings,
                    sketch,
                })
                .collect(),
            page_views: self
                .page_views
                .into_iter()
                .map(|((app, page), (count, sessions, users))| PageViewSeries {
                    app,
                    page,
                    count,
                    sessions,
                    users,
                })
                .collect(),
        }
    }
}

/// The minute bucket of `raw`.
pub fn aggregate(raw: RawMinute) -> Rollup {
    let mut builder = Builder::default();
    for vital in raw.vitals {
        let entry = builder
            .vitals
            .entry((vital.app, page_key(vital.page), vital.name))
            .or_default();
        // A value the sketch refuses (negative or not finite) is not counted either; the
        // protocol's validation lets none through.
        if entry.1.add(vital.value) {
            entry.0[rating_index(vital.name.rate(vital.value))] += 1;
        }
    }
    for view in raw.page_views {
        let entry = builder
            .page_views
            .entry((view.app, page_key(view.page)))
            .or_default();
        entry.0 += 1;
        entry.1.insert_str(&view.session_id);
        if let Some(user) = &view.user_id {
            entry.2.insert_str(user);
        }
    }
    builder.finish(
        call_rollup::api_series(&raw.api_calls),
        call_rollup::ai_series(&raw.ai_calls),
    )
}

/// One series per key over all of `parts` (buckets of a tier, or of several tiers).
pub fn merge(parts: impl IntoIterator<Item = Rollup>) -> Rollup {
    let mut builder = Builder::default();
    let (mut api_calls, mut ai_calls) = (Vec::new(), Vec::new());
    for part in parts {
        api_calls.extend(part.api_calls);
        ai_calls.extend(part.ai_calls);
        for series in part.vitals {
            let entry = builder
                .vitals
                .entry((series.app, series.page, series.name))
                .or_default();
            for (total, n) in entry.0.iter_mut().zip(series.ratings) {
                *total = total.saturating_add(n);
            }
            entry.1.merge(&series.sketch);
        }
        for series in part.page_views {
            let entry = builder
                .page_views
                .entry((series.app, series.page))
                .or_default();
            entry.0 = entry.0.saturating_add(series.count);
            entry.1.merge(&series.sessions);
            entry.2.merge(&series.users);
        }
    }
    builder.finish(
        call_rollup::merge_api(api_calls),
        call_rollup::merge_ai(ai_calls),
    )
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollStats {
    /// False when another collector holds the roll-up lock.
    pub ran: bool,
    /// Buckets recomputed, all tiers.
    pub rolled: usize,
    /// Buckets whose source had already been deleted by retention: their marks were cleared
    /// and the bucket kept as it was.
    pub stale: usize,
}

/// Recomputes every dirty bucket, finest tier first, if no other collector is rolling.
pub fn roll_once(
    store: &dyn Store,
    policy: RollupPolicy,
    raw_days: u32,
    now_ms: i64,
) -> Result<RollStats, StoreError> {
    let Some(_lock) = store.try_lock_rollups()? else {
        return Ok(RollStats::default());
    };
    let mut stats = RollStats {
        ran: true,
        ..RollStats::default()
    };
    let kept = Kept::at(policy, raw_days, now_ms);
    for tier in Tier::ALL {
        // The oldest bucket whose source is still whole.
        let source_kept_from = kept.source_of(tier);
        // A full read may have left marks behind: read again until the tier is clean.
        loop {
            let dirty = store.dirty_buckets(tier, MARKS_PER_PASS)?;
            let marks: usize = dirty.iter().map(|bucket| bucket.marks.len()).sum();
            for dirty in dirty {
                if dirty.bucket_ms < source_kept_from {
                    store.replace_rollup(&dirty, None)?;
                    stats.stale += 1;
                    continue;
                }
                let end = dirty.bucket_ms + tier.width_ms();
                let rollup = match tier.child() {
                    None => aggregate(store.raw_minute(dirty.bucket_ms, end)?),
                    Some(child) => {
                        let mut parts = store.read_rollups(child, dirty.bucket_ms, end)?;
                        (parts.api_calls, parts.ai_calls) = store.read_call_rollups(
                            child,
                            dirty.bucket_ms,
                            end,
                            &ApiDimension::ALL,
                            &AiDimension::ALL,
                        )?;
                        merge([parts])
                    }
                };
                store.replace_rollup(&dirty, Some(&rollup))?;
                stats.rolled += 1;
            }
            if marks < MARKS_PER_PASS {
                break;
            }
        }
    }
    Ok(stats)
}

/// The window `[from_ms, to_ms)` from the roll-ups: whole days, then whole hours, then
/// minutes (a minute partly inside counts whole), merged into one [`Rollup`].
pub fn read_window(store: &dyn Store, from_ms: i64, to_ms: i64) -> Result<Rollup, StoreError> {
    let parts = cover(from_ms, to_ms)
        .into_iter()
        .map(|(tier, from, to)| store.read_rollups(tier, from, to))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merge(parts))
}

/// The API and AI call series of `[from_ms, to_ms)` of the dimensions asked, handed to
/// `each_api` and `each_ai`: whole days, hours and minutes from the roll-ups, as [`cover`]
/// splits the window, except the buckets not rolled since their calls changed (the newest
/// minutes, or an old one a late call fell in, and the hour and day holding it), which are
/// read from the tier below, down to the raw calls of the minutes, and the minutes the
/// window's edges cut, read raw for the part inside. So the answer is the raw calls', fresh
/// to the last commit (but for the keys a busy bucket counts under `other`). With a `cache`, ranges that ended two minutes ago or more are merged once
/// and reused for [`CACHE_TTL`]: a bucket rolled again meanwhile shows after that.
pub fn read_call_window(
    store: &dyn Store,
    cache: Option<&CallRangeCache>,
    kept: Kept,
    window: (i64, i64),
    dimensions: (&[ApiDimension], &[AiDimension]),
    each_api: &mut dyn FnMut(&ApiSeries),
    each_ai: &mut dyn FnMut(&AiSeries),
) -> Result<(), StoreError> {
    let behind = Behind::read(store, kept, window)?;
    read_call_window_behind(store, cache, behind, window, dimensions, each_api, each_ai)
}

/// The buckets whose roll-up may be behind, per tier: marked dirty, or holding a finer bucket
/// that is (a late call dated a day ago marks its minute, and so its hour and its day). They
/// are read from the tier below, down to the raw calls of the minutes themselves; only while
/// the finer source still holds the bucket whole (older ones are read as they are: the roller
/// cannot redo them either).
#[derive(Debug, Clone)]
pub struct Behind {
    /// What the finer sources still hold whole, when these were read.
    kept: Kept,
    stale: BTreeMap<Tier, BTreeSet<i64>>,
}

impl Behind {
    /// Those of the window `[from_ms, to_ms)` (and of the hours and days holding it), as the
    /// store marks them now: one query per tier, which a series of many buckets makes once.
    pub fn read(
        store: &dyn Store,
        kept: Kept,
        (from_ms, to_ms): (i64, i64),
    ) -> Result<Behind, StoreError> {
        let mut stale: BTreeMap<Tier, BTreeSet<i64>> = BTreeMap::new();
        for tier in Tier::ALL {
            let mut buckets = store.dirty_in(tier, tier.bucket_of(from_ms), to_ms)?;
            if let Some(child) = tier.child() {
                let finer = stale.get(&child).cloned().unwrap_or_default();
                buckets.extend(finer.into_iter().map(|b| tier.bucket_of(b)));
            }
            buckets.retain(|&bucket| bucket >= kept.source_of(tier));
            stale.insert(tier, buckets);
        }
        Ok(Behind { kept, stale })
    }
}

/// [`read_call_window`] with the buckets `behind` read before (by [`Behind::read`] for a
/// window holding this one).
pub fn read_call_window_behind(
    store: &dyn Store,
    cache: Option<&CallRangeCache>,
    Behind { kept, mut stale }: Behind,
    (from_ms, to_ms): (i64, i64),
    dimensions: (&[ApiDimension], &[AiDimension]),
    each_api: &mut dyn FnMut(&ApiSeries),
    each_ai: &mut dyn FnMut(&AiSeries),
) -> Result<(), StoreError> {
    let (api, ai) = dimensions;
    let stable_before = clock::now_ms() as i64 - CACHE_STABLE_AFTER_MS;
    // Read before the cache: what the store holds now reflects every erasure up to it.
    let generation = match cache {
        Some(_) => store.erasure_generation()?,
        None => 0,
    };
    let mut read_one = |tier: Tier, from: i64, to: i64| -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let key = (tier, from, to, api.to_vec(), ai.to_vec());
        let cached = cache
            .filter(|_| to <= stable_before)
            .map(|cache| cache.0.get(&key, generation, CACHE_TTL));
        let series = match cached {
            Some(Some(series)) => series,
            Some(None) => {
                // Merged once (without dropping keys), so later reads walk a few series.
                let (api_series, ai_series) = store.read_call_rollups(tier, from, to, api, ai)?;
                let merged = Arc::new((
                    call_rollup::merge_keeping(api_series, MAX_TRACKED_GROUPS),
                    call_rollup::merge_keeping(ai_series, MAX_TRACKED_GROUPS),
                ));
                if let Some(cache) = cache {
                    cache.0.put(key, generation, Arc::clone(&merged));
                }
                merged
            }
            None => Arc::new(store.read_call_rollups(tier, from, to, api, ai)?),
        };
        series.0.iter().for_each(&mut *each_api);
        series.1.iter().for_each(&mut *each_ai);
        Ok(())
    };
    // A range reaching the newest buckets is read in two: its older part can be cached.
    let mut read = |tier: Tier, from: i64, to: i64| -> Result<(), StoreError> {
        let split = tier.bucket_of(stable_before);
        if cache.is_some() && from < split && split < to {
            read_one(tier, from, split)?;
            read_one(tier, split, to)
        } else {
            read_one(tier, from, to)
        }
    };
    // The minutes the window's edges cut are read raw, for the part inside: the answer is
    // the raw calls' whatever the window.
    let edges: BTreeSet<i64> = [from_ms, to_ms]
        .into_iter()
        .filter(|at| Tier::Minute.bucket_of(*at) != *at)
        .map(|at| Tier::Minute.bucket_of(at))
        .filter(|&minute| minute >= kept.source_of(Tier::Minute))
        .collect();
    stale.entry(Tier::Minute).or_default().extend(&edges);
    let mut raw_ranges = Vec::new();
    let mut ranges = cover(from_ms, to_ms);
    while let Some((tier, from, to)) = ranges.pop() {
        let mut clean_from = from;
        let behind: Vec<i64> = stale
            .get(&tier)
            .map(|buckets| buckets.range(from..to).copied().collect())
            .unwrap_or_default();
        for bucket in behind {
            read(tier, clean_from, bucket)?;
            let end = bucket + tier.width_ms();
            match tier.child() {
                Some(child) => ranges.push((child, bucket, end)),
                None => raw_ranges.push((bucket.max(from_ms), end.min(to_ms))),
            }
            clean_from = end;
        }
        read(tier, clean_from, to)?;
    }
    for (from, to) in raw_ranges {
        let (mut api_rows, mut ai_rows) = (Vec::new(), Vec::new());
        if !api.is_empty() {
            store.scan_api_calls(from, to, &mut |row| api_rows.push(row))?;
        }
        if !ai.is_empty() {
            store.scan_ai_calls(from, to, &mut |row| ai_rows.push(row))?;
        }
        call_rollup::api_series(&api_rows)
            .iter()
            .filter(|s| api.contains(&s.dimension))
            .for_each(&mut *each_api);
        call_rollup::ai_series(&ai_rows)
            .iter()
            .filter(|s| ai.contains(&s.dimension))
            .for_each(&mut *each_ai);
    }
    Ok(())
}

/// From when each tier's source is still whole: the raw calls for minutes (raw retention),
/// the minute roll-ups for hours, the hour roll-ups for days. A bucket older than that can be
/// neither rolled again nor read from below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub raw_since_ms: i64,
    pub minutes_since_ms: i64,
    pub hours_since_ms: i64,
}

impl Kept {
    /// What `policy` and `raw_days` of raw retention keep at `now_ms`.
    pub fn at(policy: RollupPolicy, raw_days: u32, now_ms: i64) -> Self {
        Self {
            raw_since_ms: now_ms - i64::from(raw_days) * MS_PER_DAY,
            minutes_since_ms: policy.cutoff(Tier::Minute, now_ms),
            hours_since_ms: policy.cutoff(Tier::Hour, now_ms),
        }
    }

    /// The oldest bucket of `tier` whose source (the tier below, or the raw calls) is whole.
    pub fn source_of(self, tier: Tier) -> i64 {
        match tier {
            Tier::Minute => self.raw_since_ms,
            Tier::Hour => self.minutes_since_ms,
            Tier::Day => self.hours_since_ms,
        }
    }
}

/// Ranges of buckets ending at least this long ago are cached: newer minutes may not be
/// rolled yet.
pub const CACHE_STABLE_AFTER_MS: i64 = 2 * MS_PER_MINUTE;
/// How long a cached range is used: a bucket rolled again (late calls) shows after this.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Ranges kept at most; when full, expired ones go, and if none has, all.
pub const CACHE_ENTRIES: usize = 256;

type RangeKey = (Tier, i64, i64, Vec<ApiDimension>, Vec<AiDimension>);
type MergedSeries = Arc<(Vec<ApiSeries>, Vec<AiSeries>)>;

/// The merged call series of bucket ranges read lately, for [`read_call_window`]: a dashboard
/// asking for the last 30 days every few seconds reads the same 29 days and 46 hours each
/// time, and only the newest minutes change. Entries live [`CACHE_TTL`], at most
/// [`CACHE_ENTRIES`] of them, and none outlives an erasure (see [`crate::erasure_cache`]): a
/// merged series may name the user.
#[derive(Debug)]
pub struct CallRangeCache(StatsCache<RangeKey, MergedSeries>);

impl Default for CallRangeCache {
    fn default() -> Self {
        CallRangeCache(StatsCache::new(CACHE_ENTRIES, CACHE_TTL))
    }
}

/// The bucket ranges `[from, to)` per tier that cover `[from_ms, to_ms)` with the fewest
/// buckets: whole days inside it, whole hours inside the rest, minutes at the edges.
pub fn cover(from_ms: i64, to_ms: i64) -> Vec<(Tier, i64, i64)> {
    fn ceil(at: i64, width: i64) -> i64 {
        -(-at).div_euclid(width) * width
    }
    fn split(tier: Tier, from: i64, to: i64, out: &mut Vec<(Tier, i64, i64)>) {
        if from >= to {
            return;
        }
        let Some(child) = tier.child() else {
            // Minutes: the one holding `to - 1` counts whole.
            out.push((
                tier,
                tier.bucket_of(from),
                tier.bucket_of(to - 1) + tier.width_ms(),
            ));
            return;
        };
        let (start, end) = (ceil(from, tier.width_ms()), tier.bucket_of(to));
        if start >= end {
            split(child, from, to, out);
            return;
        }
        split(child, from, start, out);
        out.push((tier, start, end));
        split(child, end, to, out);
    }
    let mut out = Vec::new();
    split(Tier::Day, from_ms, to_ms, &mut out);
    out
}

/// The roll-up thread; [`Roller::stop`] ends it.
pub struct Roller(Periodic);

impl Roller {
    /// Rolls `store` up every `interval` (the first pass after one interval).
    pub fn start(
        store: SharedStore,
        policy: RollupPolicy,
        raw_days: u32,
        interval: Duration,
    ) -> std::io::Result<Roller> {
        let task = move || {
            let now = clock::to_epoch_ms(clock::now_ms());
            match roll_once(store.as_ref(), policy, raw_days, now) {
                Ok(stats) if stats.stale > 0 => tracing::info!(
                    rolled = stats.rolled,
                    stale = stats.stale,
                    "roll-up pass: some changes came after their minutes were deleted"
                ),
                Ok(stats) => {
                    tracing::debug!(rolled = stats.rolled, ran = stats.ran, "roll-up pass")
                }
                Err(e) => tracing::warn!(error = %e, "roll-up pass failed"),
            }
        };
        Periodic::start("perfwatch-rollup", interval, interval, task).map(Roller)
    }

    /// Stops the thread after the pass it is running, if any.
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_parents_line_up() {
        let at = 1_795_676_461_234; // 2026-11-26T03:41:01.234Z
        assert_eq!(Tier::Minute.bucket_of(at), at - 1_234);
        assert_eq!(Tier::Hour.bucket_of(at) % MS_PER_HOUR, 0);
        assert_eq!(Tier::Day.bucket_of(at) % MS_PER_DAY, 0);
        assert_eq!(Tier::Minute.bucket_of(-1), -MS_PER_MINUTE);
        assert_eq!(Tier::Minute.parent(), Some(Tier::Hour));
        assert_eq!(Tier::Day.parent(), None);
        assert_eq!(Tier::Hour.child(), Some(Tier::Minute));
    }

    #[test]
    fn a_window_is_covered_by_days_then_hours_then_minutes() {
        let day = 20_000 * MS_PER_DAY;
        // From 22:30:30 on day 0 to 01:15:10 on day 3.
        let from = day - MS_PER_HOUR - 29 * MS_PER_MINUTE - 30_000;
        let to = day + 3 * MS_PER_DAY + MS_PER_HOUR + 15 * MS_PER_MINUTE + 10_000;
        assert_eq!(
            cover(from, to),
            [
                (Tier::Minute, from - 30_000, day - MS_PER_HOUR),
                (Tier::Hour, day - MS_PER_HOUR, day),
                (Tier::Day, day, day + 3 * MS_PER_DAY),
                (
                    Tier::Hour,
                    day + 3 * MS_PER_DAY,
                    day + 3 * MS_PER_DAY + MS_PER_HOUR
                ),
                (
                    Tier::Minute,
                    day + 3 * MS_PER_DAY + MS_PER_HOUR,
                    day + 3 * MS_PER_DAY + MS_PER_HOUR + 16 * MS_PER_MINUTE
                ),
            ]
        );
        // Within one hour: minutes only; an empty window: nothing.
        assert_eq!(
            cover(day + 60_000, day + 150_000),
            [(Tier::Minute, day + 60_000, day + 180_000)]
        );
        assert!(cover(day, day).is_empty());
        // 30 days read at most a few hundred buckets per series.
        let buckets: i64 = cover(from, from + 30 * MS_PER_DAY)
            .iter()
            .map(|(tier, a, b)| (b - a) / tier.width_ms())
            .sum();
        assert!(buckets < 200, "{buckets}");
    }

    fn vital(page: &str, name: VitalName, value: f64) -> RawVital {
        RawVital {
            app: "a".into(),
            page: page.into(),
            name,
            value,
        }
    }

    fn view(page: &str, session: &str, user: Option<&str>) -> RawPageView {
        RawPageView {
            app: "a".into(),
            page: page.into(),
            session_id: session.into(),
            user_id: user.map(Into::into),
        }
    }

    #[test]
    fn a_minute_aggregates_per_series_and_merging_equals_aggregating_all() {
        let all: Vec<RawVital> = (0..300)
            .map(|i| {
                let page = if i % 3 == 0 { "/a" } else { "/b" };
                vital(page, VitalName::LCP, f64::from(i) * 17.0)
            })
            .chain([vital("/a", VitalName::CLS, 0.3)])
            .collect();
        let views: Vec<RawPageView> = (0..50)
            .map(|i| view("/a", &format!("s{}", i % 20), (i % 2 == 0).then_some("u")))
            .collect();
        let whole = aggregate(RawMinute {
            vitals: all.clone(),
            page_views: views.clone(),
            ..RawMinute::default()
        });
        let (first, second) = all.split_at(120);
        let halves = merge([
            aggregate(RawMinute {
                vitals: first.to_vec(),
                page_views: views[..10].to_vec(),
                ..RawMinute::default()
            }),
            aggregate(RawMinute {
                vitals: second.to_vec(),
                page_views: views[10..].to_vec(),
                ..RawMinute::default()
            }),
        ]);
        assert_eq!(whole.vitals.len(), 3, "LCP on /a and /b, CLS on /a");
        for (a, b) in whole.vitals.iter().zip(&halves.vitals) {
            assert_eq!((&a.app, &a.page, a.name), (&b.app, &b.page, b.name));
            assert_eq!(a.ratings, b.ratings);
            assert_eq!(a.sketch.quantile(0.75), b.sketch.quantile(0.75));
        }
        let series = |page: &str, name| {
            whole
                .vitals
                .iter()
                .find(|s| s.page == page && s.name == name)
                .unwrap()
        };
        assert_eq!(series("/a", VitalName::CLS).ratings, [0, 0, 1]);
        let lcp_a = series("/a", VitalName::LCP);
        assert_eq!(lcp_a.count(), 100);
        // The ratings are web-vitals' thresholds applied to the values of /a, one by one.
        let mut expected = [0u64; 3];
        for v in all
            .iter()
            .filter(|v| v.page == "/a" && v.name == VitalName::LCP)
        {
            expected[rating_index(VitalName::LCP.rate(v.value))] += 1;
        }
        assert_eq!(lcp_a.ratings, expected);
        assert!(expected.iter().all(|n| *n > 0), "every rating is exercised");
        let pv = &whole.page_views[0];
        assert_eq!((pv.count, pv.users.estimate()), (50, 1));
        // 20 sessions: HyperLogLog is near exact this small (two may share a register).
        let sessions = pv.sessions.estimate();
        assert!((19..=21).contains(&sessions), "{sessions}");
        assert_eq!(
            halves.page_views[0].sessions, pv.sessions,
            "merging is exact"
        );
    }
}
