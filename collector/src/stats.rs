//! Statistics over stored measurements: nearest-rank percentiles and web-vitals rating shares.
//!
//! p75 is the nearest-rank percentile (the value at rank ceil(0.75 n), 1-based, of the sorted
//! values), the method web-vitals' own reporting and CrUX use: it is always a value some page
//! view really measured, never an interpolation between two.

use std::collections::BTreeMap;

use perfwatch_protocol::{Rating, VitalName};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::error_stats::Errors;
use crate::rollup::{Rollup, VitalSeries};
use crate::sketch::DdSketch;
use crate::store::VitalRows;
use crate::timing_stats::Timings;

/// The value at rank ceil(`percent`/100 · n) (1-based) of `sorted`, or `None` when empty.
pub fn nearest_rank(sorted: &[f64], percent: usize) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// One vital over a set of page views. With no measurement, `p75` and the shares are `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitalSummary {
    /// The nearest-rank 75th percentile (ms, or unitless for CLS).
    pub p75: Option<f64>,
    /// How many metrics were measured (each counted once, at its highest `seq`).
    pub count: usize,
    /// Share rated good by web-vitals' thresholds, 0–100.
    pub good_percent: Option<f64>,
    /// Share rated needs-improvement, 0–100.
    pub needs_improvement_percent: Option<f64>,
    /// Share rated poor, 0–100.
    pub poor_percent: Option<f64>,
}

impl VitalSummary {
    /// Summarizes the measurements `values` of `name`. The ratings are the collector's, from
    /// the values; whatever rating a client sent is not trusted.
    pub fn of(name: VitalName, mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let count = values.len();
        let share = |rating: Rating| {
            (count > 0).then(|| {
                let n = values.iter().filter(|v| name.rate(**v) == rating).count();
                n as f64 * 100.0 / count as f64
            })
        };
        Self {
            p75: nearest_rank(&values, 75),
            count,
            good_percent: share(Rating::Good),
            needs_improvement_percent: share(Rating::NeedsImprovement),
            poor_percent: share(Rating::Poor),
        }
    }
}

impl VitalSummary {
    /// Summarizes a roll-up's `ratings` (good, needs-improvement, poor) and `sketch` of one
    /// vital: the p75 is the sketch's, within 1 % of the exact nearest-rank value.
    pub fn of_sketch(ratings: [u64; 3], sketch: &DdSketch) -> Self {
        let count: u64 = ratings.iter().sum();
        let share = |n: u64| (count > 0).then(|| n as f64 * 100.0 / count as f64);
        Self {
            p75: sketch.quantile(0.75),
            count: usize::try_from(count).unwrap_or(usize::MAX),
            good_percent: share(ratings[0]),
            needs_improvement_percent: share(ratings[1]),
            poor_percent: share(ratings[2]),
        }
    }
}

/// The roll-up of each vital, in [`VitalName::ALL`] order.
#[derive(Debug, Clone)]
struct VitalSketches([(VitalName, [u64; 3], DdSketch); 5]);

impl Default for VitalSketches {
    fn default() -> Self {
        Self(VitalName::ALL.map(|name| (name, [0; 3], DdSketch::new())))
    }
}

impl VitalSketches {
    fn merge(&mut self, series: &VitalSeries) {
        if let Some((_, ratings, sketch)) = self.0.iter_mut().find(|(n, ..)| *n == series.name) {
            for (total, n) in ratings.iter_mut().zip(series.ratings) {
                *total = total.saturating_add(n);
            }
            sketch.merge(&series.sketch);
        }
    }

    fn count(&self) -> u64 {
        self.0
            .iter()
            .map(|(_, ratings, _)| ratings.iter().sum::<u64>())
            .sum()
    }

    fn summarize(self) -> VitalSummaries {
        VitalSummaries(
            self.0
                .map(|(name, ratings, sketch)| (name, VitalSummary::of_sketch(ratings, &sketch))),
        )
    }
}

/// The measurements of each vital, in [`VitalName::ALL`] order.
#[derive(Debug, Clone)]
struct VitalValues([(VitalName, Vec<f64>); 5]);

impl Default for VitalValues {
    fn default() -> Self {
        Self(VitalName::ALL.map(|name| (name, Vec::new())))
    }
}

impl VitalValues {
    fn push(&mut self, name: VitalName, value: f64) {
        if let Some((_, values)) = self.0.iter_mut().find(|(n, _)| *n == name) {
            values.push(value);
        }
    }

    fn len(&self) -> usize {
        self.0.iter().map(|(_, values)| values.len()).sum()
    }

    fn summarize(self) -> VitalSummaries {
        VitalSummaries(
            self.0
                .map(|(name, values)| (name, VitalSummary::of(name, values))),
        )
    }
}

/// Every vital's summary; serialized as a map keyed by the vital's name, in
/// [`VitalName::ALL`] order (`{"LCP": {...}, "INP": {...}, ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct VitalSummaries(pub [(VitalName, VitalSummary); 5]);

impl VitalSummaries {
    /// The summary of `name`.
    pub fn get(&self, name: VitalName) -> Option<&VitalSummary> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, s)| s)
    }
}

impl Serialize for VitalSummaries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, summary) in &self.0 {
            map.serialize_entry(name.as_str(), summary)?;
        }
        map.end()
    }
}

/// The vitals of one page (its route, or its URL when it has no route).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageVitals {
    /// The route, or the URL.
    pub page: String,
    /// Page views of this page started in the window.
    pub page_views: u64,
    /// Its vitals.
    pub vitals: VitalSummaries,
}

/// Where a report's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// Every stored measurement: p75 exact.
    Raw,
    /// The roll-ups (windows longer than a day): p75 within 1 % of the exact value, up to the
    /// last roll-up pass.
    Rollups,
}

/// The page a vital or page view counts under when grouped by page: its route when the SDK sent
/// one (the stores hand that over as is), else its URL's path (`https://app.example/chat/7?x=1`
/// counts under `/chat/7`): query strings and fragments would make every URL its own page,
/// and may carry what must not be shown.
pub fn page_key(route_or_url: String) -> String {
    if route_or_url.contains("://") {
        url_path(&route_or_url).to_owned()
    } else {
        route_or_url
    }
}

/// The path of a URL or of a request target, without query string or fragment:
/// `https://app.example/chat/7?x=1` and `/chat/7?x=1` are both `/chat/7`.
pub fn url_path(url: &str) -> &str {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => url,
    };
    match path.split(['?', '#']).next() {
        Some(path) if !path.is_empty() => path,
        _ => "/",
    }
}

/// The answer of `GET /api/v1/monitoring/frontend/vitals`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VitalsReport {
    /// The window, in hours back from now.
    pub hours: f64,
    /// Raw events or roll-ups.
    pub source: ReportSource,
    /// Page views started in the window.
    pub page_views: u64,
    /// Every vital over all pages.
    pub vitals: VitalSummaries,
    /// Per page, busiest first; only when grouped by page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<PageVitals>>,
    /// What the pages timed of their own API calls, interactions and work (from the raw
    /// timings).
    #[serde(flatten)]
    pub timings: Timings,
    /// The errors the pages reported (from the raw errors).
    pub errors: Errors,
}

impl VitalsReport {
    /// The report over `rows` for a window of `hours`, per page too when `by_page`.
    pub fn new(hours: f64, rows: VitalRows, by_page: bool) -> Self {
        let mut all = VitalValues::default();
        let mut per_page: BTreeMap<String, (u64, VitalValues)> = BTreeMap::new();
        for sample in rows.samples {
            all.push(sample.name, sample.value);
            if by_page {
                per_page
                    .entry(page_key(sample.page))
                    .or_default()
                    .1
                    .push(sample.name, sample.value);
            }
        }
        let mut page_views = 0;
        for (page, count) in rows.page_views {
            page_views += count;
            if by_page {
                per_page.entry(page_key(page)).or_default().0 += count;
            }
        }
        let pages = by_page.then(|| {
            let mut pages: Vec<_> = per_page.into_iter().collect();
            // Busiest first; the BTreeMap already ordered equals by name.
            pages.sort_by_key(|(_, (views, values))| std::cmp::Reverse((*views, values.len())));
            pages
                .into_iter()
                .map(|(page, (page_views, values))| PageVitals {
                    page,
                    page_views,
                    vitals: values.summarize(),
                })
                .collect()
        });
        Self {
            hours,
            source: ReportSource::Raw,
            page_views,
            vitals: all.summarize(),
            pages,
            timings: Timings::default(),
            errors: Errors::default(),
        }
    }

    /// The report over a window's merged roll-up, per page too when `by_page`. Applications
    /// are merged, as [`VitalsReport::new`] does.
    pub fn from_rollup(hours: f64, rollup: Rollup, by_page: bool) -> Self {
        let mut all = VitalSketches::default();
        let mut per_page: BTreeMap<String, (u64, VitalSketches)> = BTreeMap::new();
        for series in &rollup.vitals {
            all.merge(series);
            if by_page {
                per_page
                    .entry(series.page.clone())
                    .or_default()
                    .1
                    .merge(series);
            }
        }
        let mut page_views = 0u64;
        for series in &rollup.page_views {
            page_views = page_views.saturating_add(series.count);
            if by_page {
                let entry = &mut per_page.entry(series.page.clone()).or_default().0;
                *entry = entry.saturating_add(series.count);
            }
        }
        let pages = by_page.then(|| {
            let mut pages: Vec<_> = per_page.into_iter().collect();
            pages.sort_by_key(|(_, (views, sketches))| {
                std::cmp::Reverse((*views, sketches.count()))
            });
            pages
                .into_iter()
                .map(|(page, (page_views, sketches))| PageVitals {
                    page,
                    page_views,
                    vitals: sketches.summarize(),
                })
                .collect()
        });
        Self {
            hours,
            source: ReportSource::Rollups,
            page_views,
            vitals: all.summarize(),
            pages,
            timings: Timings::default(),
            errors: Errors::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::VitalSample;

    #[test]
    fn nearest_rank_is_an_observed_value() {
        let values: Vec<f64> = (1..=8).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 75), Some(6.0));
        assert_eq!(nearest_rank(&[42.5], 75), Some(42.5));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 75), Some(3.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 75), Some(3.0));
        assert_eq!(nearest_rank(&[], 75), None);
        assert_eq!(nearest_rank(&[1.0, 2.0], 0), Some(1.0));
        assert_eq!(nearest_rank(&[1.0, 2.0], 100), Some(2.0));
    }

    #[test]
    fn shares_use_the_collector_s_ratings() {
        let summary = VitalSummary::of(VitalName::LCP, vec![4500.0, 1000.0, 3000.0, 2000.0]);
        assert_eq!(summary.count, 4);
        assert_eq!(summary.p75, Some(3000.0));
        assert_eq!(summary.good_percent, Some(50.0));
        assert_eq!(summary.needs_improvement_percent, Some(25.0));
        assert_eq!(summary.poor_percent, Some(25.0));
        let empty = VitalSummary::of(VitalName::CLS, Vec::new());
        assert_eq!(
            (empty.p75, empty.count, empty.good_percent),
            (None, 0, None)
        );
    }

    #[test]
    fn reports_group_by_page_and_serialize_in_vital_order() {
        let sample = |name, value, page: &str| VitalSample {
            name,
            value,
            page: page.to_owned(),
        };
        let rows = VitalRows {
            samples: vec![
                sample(VitalName::LCP, 100.0, "/a"),
                sample(VitalName::LCP, 300.0, "/b"),
                sample(VitalName::CLS, 0.3, "/b"),
            ],
            page_views: vec![("/a".into(), 1), ("/b".into(), 2), ("/c".into(), 1)],
        };
        let report = VitalsReport::new(1.0, rows, true);
        assert_eq!(report.page_views, 4);
        let lcp = report.vitals.get(VitalName::LCP).unwrap();
        assert_eq!((lcp.count, lcp.p75), (2, Some(300.0)));
        let pages = report.pages.as_ref().unwrap();
        let names: Vec<&str> = pages.iter().map(|p| p.page.as_str()).collect();
        assert_eq!(names, ["/b", "/a", "/c"]);
        let text = serde_json::to_string(&report.vitals).unwrap();
        let order: Vec<usize> = ["LCP", "INP", "CLS", "FCP", "TTFB"]
            .iter()
            .map(|n| text.find(&format!("\"{n}\"")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    }
}
