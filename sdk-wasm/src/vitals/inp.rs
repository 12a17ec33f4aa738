//! Interaction to Next Paint (web-vitals `onINP`): `event` entries (duration threshold 40 ms)
//! and `first-input`, grouped by interaction; the value is the 98th-percentile interaction
//! latency estimated from the ten longest ([`super::interactions`]). Entries are processed in an
//! idle task, reported when the page is hidden; a bfcache restore starts a new metric.
//!
//! Attribution (web-vitals' `INPAttribution`): the target's selector, the interaction type and
//! time, and the latency's three parts — input delay, processing duration, presentation delay —
//! from all event entries presented in the same frame. The selector of each input's target is
//! also taken when the input happens, so an element that leaves the DOM keeps its name.

use crate::prelude::*;

use core::cell::RefCell;

use js_sys::Array;

use crate::bindings::{self, Entry};
use crate::lifecycle;
use crate::monitor::Core;
use crate::observe::{observe, sorted, Observe};
use crate::selector::selector;
use crate::vitals::interactions::{CountEstimate, Interaction, Interactions};
use crate::vitals::{with_soft_navigations, Attribution, Metric, SoftNavigation, Value};

/// web-vitals' `INPThresholds`.
pub const THRESHOLDS: (f64, f64) = (200.0, 500.0);

/// web-vitals' default `durationThreshold`: event durations are rounded to 8 ms, so 40 ms is
/// two and a half frames at 60 Hz.
pub const DURATION_THRESHOLD: f64 = 40.0;

/// Groups of entries presented in the same frame, kept for attribution: the last ten, and
/// those of the longest interactions.
const MAX_PENDING_FRAMES: usize = 10;

/// The inputs that start an interaction, whose targets are named when they happen (one selector
/// per interaction on the input's path); the last few are kept.
const CAPTURED_INPUTS: [&str; 2] = ["pointerdown", "keydown"];
const MAX_CAPTURED: usize = 8;
/// An input's `timeStamp` may read a little after its entry's `startTime`.
const CAPTURE_SLACK_MS: f64 = 5.0;
/// How long before its entry an interaction's first input may have started (a held press).
const MAX_PRESS_MS: f64 = 2000.0;

/// An event entry and the frame group it was presented in.
struct Event {
    entry: Entry,
    group: u32,
}

/// Event entries presented in the same animation frame (render times within 8 ms).
struct Group {
    id: u32,
    start_time: f64,
    processing_start: f64,
    processing_end: f64,
    render_time: f64,
}

struct Inp {
    metric: Metric,
    interactions: Interactions<Event>,
    /// The interaction the value comes from.
    interaction: Option<u64>,
    groups: Vec<Group>,
    next_group: u32,
    /// Where `performance.interactionCount` is missing: the estimate from interaction ids.
    count_estimate: Option<&'static RefCell<CountEstimate>>,
    /// `(timeStamp, selector)` of the last inputs.
    captured: &'static RefCell<Vec<(f64, String)>>,
}

type State = &'static RefCell<Inp>;

/// Observes INP. `early`: `event` and `first-input` entries the npm layer buffered before the
/// module loaded; when given, the observer does not ask the browser for buffered entries again.
pub fn observe_inp(core: &'static Core, early: Option<Array>) {
    if !supported() {
        return;
    }
    lifecycle::when_activated(move || {
        let state: State = leak(RefCell::new(Inp {
            metric: Metric::new("INP", THRESHOLDS, -1.0, None, core),
            interactions: Interactions::default(),
            interaction: None,
            groups: Vec::new(),
            next_group: 0,
            count_estimate: count_estimate(),
            captured: leak(RefCell::default()),
        }));
        capture_targets(state.borrow().captured);
        if let Some(early) = early.as_ref() {
            handle(state, core, sorted(early.clone(), true), false);
        }
        let how = Observe {
            types: with_soft_navigations(core, &["event", "first-input", "soft-navigation"]),
            buffered: early.is_none(),
            duration_threshold: Some(DURATION_THRESHOLD),
        };
        let on_entries = move |entries| handle(state, core, entries, false);
        let Some(observer) = observe(how, on_entries) else {
            return;
        };
        lifecycle::on_hidden(move || {
            let entries = sorted(observer.take_records(), true);
            handle(state, core, entries, true);
        });
        lifecycle::on_bfcache_restore(move |_| {
            let metric = Metric::new("INP", THRESHOLDS, -1.0, Some("back-forward-cache"), core);
            state.borrow_mut().start_page_view(metric);
        });
    });
}

/// INP needs Event Timing with interaction ids.
fn supported() -> bool {
    let global = Entry(js_sys::global().into());
    global
        .child("PerformanceEventTiming")
        .and_then(|timing| timing.child("prototype"))
        .is_some_and(|prototype| {
            js_sys::Reflect::has(&prototype.0, &"interactionId".into()).unwrap_or(false)
        })
}

/// `performance.interactionCount`, or where it is missing an estimate from all event entries
/// (web-vitals' polyfill).
fn count_estimate() -> Option<&'static RefCell<CountEstimate>> {
    let performance = Entry(bindings::performance()?.into());
    if performance.opt_num("interactionCount").is_some() {
        return None;
    }
    let estimate = leak(RefCell::new(CountEstimate::default()));
    let how = Observe {
        types: &["event"],
        buffered: true,
        duration_threshold: Some(0.0),
    };
    observe(how, move |entries| {
        let mut estimate = estimate.borrow_mut();
        for entry in entries {
            estimate.add(entry.num("interactionId") as u64);
        }
    })?;
    Some(estimate)
}

/// Names the target of each interaction's first input when it happens, keyed by the event's
/// `timeStamp` (the interaction's entries, `pointerup` and `click` too, start at or after it).
fn capture_targets(captured: &'static RefCell<Vec<(f64, String)>>) {
    for event_type in CAPTURED_INPUTS {
        lifecycle::listen(event_type, move |event| {
            let event = Entry(event);
            if let Some(target) = event.child("target") {
                let mut captured = captured.borrow_mut();
                if captured.len() == MAX_CAPTURED {
                    captured.remove(0);
                }
                captured.push((event.num("timeStamp"), selector(&target)));
            }
        });
    }
}

/// web-vitals' `handleEntries`: in an idle task (so that all entries of the interaction have
/// arrived), then the value is updated and, when `force`, reported.
fn handle(state: State, core: &'static Core, entries: Vec<Entry>, force: bool) {
    lifecycle::when_idle_or_hidden(move || {
        let mut inp = state.borrow_mut();
        for entry in entries {
            if entry.get("entryType").as_string().as_deref() == Some("soft-navigation") {
                // The previous page view's INP is final; the next one counts its own.
                inp.update();
                inp.report(core);
                let soft = SoftNavigation::of(&entry);
                inp.start_page_view(Metric::for_soft_navigation(
                    "INP", THRESHOLDS, -1.0, &soft, core,
                ));
                continue;
            }
            inp.add(entry);
        }
        inp.forget_old_groups();
        inp.update();
        if force {
            inp.report(core);
        }
    });
}

impl Inp {
    /// A new page view (bfcache restore, soft navigation) counts its own interactions.
    fn start_page_view(&mut self, metric: Metric) {
        let count = self.interaction_count();
        self.interactions.reset(count);
        self.interaction = None;
        self.metric = metric;
    }

    fn report(&mut self, core: &'static Core) {
        self.metric.attribution = self.attribution();
        self.metric.report(true, core);
    }

    fn interaction_count(&self) -> f64 {
        match &self.count_estimate {
            Some(estimate) => estimate.borrow().count(),
            None => bindings::performance()
                .map(|p| Entry(p.into()).num("interactionCount"))
                .unwrap_or(0.0),
        }
    }

    fn add(&mut self, entry: Entry) {
        let group = self.group_by_render_time(&entry);
        let interaction_id = entry.num("interactionId") as u64;
        let (duration, start_time) = (entry.duration(), entry.start_time());
        let captured = self.captured;
        let event = Event { entry, group };
        if let Some(interaction) =
            self.interactions
                .add(interaction_id, duration, start_time, event)
        {
            if interaction.target.is_none() {
                interaction.target = target(interaction, &captured.borrow());
            }
        }
    }

    /// web-vitals' `groupEntriesByRenderTime`: the group of entries presented within 8 ms.
    fn group_by_render_time(&mut self, entry: &Entry) -> u32 {
        let render_time = entry.start_time() + entry.duration();
        let (start, processing_start) = (entry.start_time(), entry.num("processingStart"));
        let processing_end = entry.num("processingEnd");
        if let Some(group) = self
            .groups
            .iter_mut()
            .rev()
            .find(|g| (render_time - g.render_time).abs() <= 8.0)
        {
            group.start_time = group.start_time.min(start);
            group.processing_start = group.processing_start.min(processing_start);
            group.processing_end = group.processing_end.max(processing_end);
            return group.id;
        }
        self.next_group += 1;
        self.groups.push(Group {
            id: self.next_group,
            start_time: start,
            processing_start,
            processing_end,
            render_time,
        });
        self.next_group
    }

    /// Keeps the last [`MAX_PENDING_FRAMES`] groups and those of the longest interactions.
    fn forget_old_groups(&mut self) {
        let keep_from = self.groups.len().saturating_sub(MAX_PENDING_FRAMES);
        let longest: Vec<u32> = self
            .interactions
            .longest()
            .iter()
            .filter_map(|i| i.entries.first().map(|e| e.group))
            .collect();
        let mut index = 0;
        self.groups.retain(|g| {
            index += 1;
            index > keep_from || longest.contains(&g.id)
        });
    }

    /// web-vitals' `updateINPMetric`.
    fn update(&mut self) {
        let special = matches!(
            self.metric.navigation_type,
            "back-forward-cache" | "soft-navigation"
        );
        let count = self.interaction_count();
        let Some(estimate) = self.interactions.estimate(count, special) else {
            return;
        };
        if estimate.latency != self.metric.value {
            self.metric.value = estimate.latency;
            self.metric.entries = estimate
                .interaction
                .map(|i| i.entries.iter().map(|e| e.entry.0.clone()).collect())
                .unwrap_or_default();
            self.interaction = estimate.interaction.map(|i| i.id);
        }
    }

    /// When the page view started (web-vitals' `navigationStartTime`).
    fn navigation_start(&self) -> f64 {
        match &self.metric.soft_navigation {
            Some(soft) => soft.start_time,
            None => lifecycle::bfcache_restore_time().max(0.0),
        }
    }

    /// web-vitals' `attributeINP` (without the long animation frame details).
    fn attribution(&self) -> Attribution {
        let interaction = self.interaction.and_then(|id| self.interactions.get(id));
        let Some((interaction, first)) = interaction.and_then(|i| Some((i, i.entries.first()?)))
        else {
            return vec![
                ("inputDelay", Value::Num(0.0)),
                ("processingDuration", Value::Num(0.0)),
                ("presentationDelay", Value::Num(self.metric.value)),
                (
                    "loadState",
                    Value::Str(lifecycle::load_state(self.navigation_start()).to_string()),
                ),
            ];
        };
        let entry = &first.entry;
        let start_time = entry.start_time();
        let (group_start, group_end) = self.groups.iter().find(|g| g.id == first.group).map_or(
            (entry.num("processingStart"), entry.num("processingEnd")),
            |g| (g.processing_start, g.processing_end),
        );
        let processing_start = group_start.max(start_time);
        let next_paint = (start_time + entry.duration()).max(processing_start);
        let processing_end = group_end.min(next_paint);
        let kind = if entry.name().starts_with("key") {
            "keyboard"
        } else {
            "pointer"
        };
        let mut attribution = Attribution::new();
        if let Some(target) = &interaction.target {
            attribution.push(("interactionTarget", Value::Str(target.clone())));
        }
        attribution.extend([
            ("interactionType", Value::Str(kind.to_string())),
            ("interactionTime", Value::Num(start_time)),
            ("nextPaintTime", Value::Num(next_paint)),
            ("inputDelay", Value::Num(processing_start - start_time)),
            (
                "processingDuration",
                Value::Num(processing_end - processing_start),
            ),
            ("presentationDelay", Value::Num(next_paint - processing_end)),
            (
                "loadState",
                Value::Str(lifecycle::load_state(start_time).to_string()),
            ),
        ]);
        attribution
    }
}

/// The selector of the interaction's target: from the first entry whose target is still in the
/// document, else the browser's own `targetSelector` (both as web-vitals), else the one this
/// SDK named when the input happened (the element has left the DOM and the browser does not
/// say; web-vitals then has no target).
fn target(interaction: &Interaction<Event>, captured: &[(f64, String)]) -> Option<String> {
    let entries = &interaction.entries;
    if let Some(node) = entries.iter().find_map(|e| e.entry.child("target")) {
        return Some(selector(&node));
    }
    entries
        .iter()
        .find_map(|e| e.entry.string("targetSelector"))
        .or_else(|| {
            // The last input that started the interaction: at or before its entry's
            // `startTime` (with a little slack: the two need not be one clock reading), and not
            // longer ago than a held press.
            let time = entries.first()?.entry.start_time();
            captured
                .iter()
                .rev()
                .find(|(t, _)| *t <= time + CAPTURE_SLACK_MS && time - *t < MAX_PRESS_MS)
                .map(|(_, s)| s.clone())
        })
}
