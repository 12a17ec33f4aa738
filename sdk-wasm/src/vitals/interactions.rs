//! INP's bookkeeping (web-vitals' `InteractionManager`): event timing entries grouped by
//! `interactionId`, the longest entry of each interaction as its latency, only the ten longest
//! interactions kept, and the 98th percentile estimated from them and the interaction count.
//! Pure data, so it is tested natively and in the browser alike.

use crate::prelude::*;

/// Only the ten longest interactions are INP candidates (bounded memory on busy pages).
pub const MAX_INTERACTIONS: usize = 10;

/// One interaction: its latency (the longest duration among its entries) and those entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction<T> {
    pub id: u64,
    pub latency: f64,
    /// The entries with the interaction's latency that started together (a pointerdown,
    /// pointerup and click can share one).
    pub entries: Vec<T>,
    /// The `startTime` of `entries[0]`.
    start_time: f64,
    /// The selector of the first entry's target that had one (attribution).
    pub target: Option<String>,
}

/// The longest interactions of the current page view.
#[derive(Debug)]
pub struct Interactions<T> {
    /// Longest first; at most [`MAX_INTERACTIONS`].
    longest: Vec<Interaction<T>>,
    /// The interaction count when the page view started (a bfcache restore or soft navigation).
    count_at_start: f64,
}

impl<T> Default for Interactions<T> {
    fn default() -> Self {
        Interactions {
            longest: Vec::new(),
            count_at_start: 0.0,
        }
    }
}

/// The estimated INP: a latency and the interaction it comes from, if any.
#[derive(Debug, PartialEq)]
pub struct Estimate<'a, T> {
    pub latency: f64,
    pub interaction: Option<&'a Interaction<T>>,
}

impl<T> Interactions<T> {
    /// Takes one event timing entry. Entries without an interaction id (0) are not
    /// interactions. Returns the interaction it was counted in, if it is among the longest.
    pub fn add(
        &mut self,
        interaction_id: u64,
        duration: f64,
        start_time: f64,
        entry: T,
    ) -> Option<&mut Interaction<T>> {
        if interaction_id == 0 {
            return None;
        }
        let existing = self.longest.iter().position(|i| i.id == interaction_id);
        let shortest = self.longest.last().map_or(0.0, |i| i.latency);
        if existing.is_none() && self.longest.len() >= MAX_INTERACTIONS && duration <= shortest {
            return None;
        }
        match existing {
            Some(index) => {
                let interaction = &mut self.longest[index];
                if duration > interaction.latency {
                    interaction.entries.clear();
                    interaction.entries.push(entry);
                    interaction.latency = duration;
                    interaction.start_time = start_time;
                } else if duration == interaction.latency && start_time == interaction.start_time {
                    interaction.entries.push(entry);
                }
            }
            None => self.longest.push(Interaction {
                id: interaction_id,
                latency: duration,
                entries: vec![entry],
                start_time,
                target: None,
            }),
        }
        // Longest first; a stable sort, as `Array.prototype.sort`.
        crate::sort::stable_sort_by(&mut self.longest, |a, b| a.latency > b.latency);
        self.longest.truncate(MAX_INTERACTIONS);
        self.longest.iter_mut().find(|i| i.id == interaction_id)
    }

    /// The interaction with `id`, if it is among the longest.
    pub fn get(&self, id: u64) -> Option<&Interaction<T>> {
        self.longest.iter().find(|i| i.id == id)
    }

    /// The longest interactions, longest first.
    pub fn longest(&self) -> &[Interaction<T>] {
        &self.longest
    }

    /// Starts a new page view: forgets the interactions and counts from `interaction_count`.
    pub fn reset(&mut self, interaction_count: f64) {
        self.count_at_start = interaction_count;
        self.longest.clear();
    }

    /// web-vitals' `_estimateP98LongestInteraction`: of the page view's `interaction_count`
    /// interactions, the one at index `min(len - 1, floor(count / 50))` among the longest. After
    /// a bfcache restore or soft navigation with interactions too short to be observed, 8 ms.
    pub fn estimate(
        &self,
        interaction_count: f64,
        after_restore_or_soft_nav: bool,
    ) -> Option<Estimate<'_, T>> {
        let count = interaction_count - self.count_at_start;
        // `as` truncates toward zero: the floor of a non-negative count.
        let index = ((count / 50.0) as usize).min(self.longest.len().wrapping_sub(1));
        if self.longest.is_empty() {
            return (count != 0.0 && after_restore_or_soft_nav).then_some(Estimate {
                latency: 8.0,
                interaction: None,
            });
        }
        let interaction = &self.longest[index];
        Some(Estimate {
            latency: interaction.latency,
            interaction: Some(interaction),
        })
    }
}

/// web-vitals' interaction count estimate where `performance.interactionCount` is missing:
/// interaction ids rise by 7 per interaction in Chromium.
#[derive(Debug, Default)]
pub struct CountEstimate {
    min_id: Option<u64>,
    max_id: u64,
}

impl CountEstimate {
    pub fn add(&mut self, interaction_id: u64) {
        if interaction_id == 0 {
            return;
        }
        self.min_id = Some(
            self.min_id
                .map_or(interaction_id, |m| m.min(interaction_id)),
        );
        self.max_id = self.max_id.max(interaction_id);
    }

    pub fn count(&self) -> f64 {
        match self.min_id {
            Some(min) => (self.max_id - min) as f64 / 7.0 + 1.0,
            None => 0.0,
        }
    }
}
