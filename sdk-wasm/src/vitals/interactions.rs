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

#[cfg(test)]
mod tests {
    use super::*;

    fn inp(entries: &[(u64, f64, f64)], count: f64) -> Option<f64> {
        let mut interactions = Interactions::default();
        for (i, &(id, duration, start)) in entries.iter().enumerate() {
            interactions.add(id, duration, start, i);
        }
        interactions.estimate(count, false).map(|e| e.latency)
    }

    #[test]
    fn the_longest_entry_of_an_interaction_is_its_latency() {
        // pointerdown, pointerup, click of one interaction.
        assert_eq!(
            inp(&[(7, 48.0, 100.0), (7, 96.0, 120.0), (7, 88.0, 120.0)], 1.0),
            Some(96.0)
        );
    }

    #[test]
    fn entries_without_an_interaction_id_are_not_interactions() {
        assert_eq!(inp(&[(0, 300.0, 100.0)], 0.0), None);
    }

    #[test]
    fn the_worst_interaction_below_fifty() {
        let entries: Vec<_> = (1..=49)
            .map(|i| (i * 7, f64::from(i as u32) * 8.0, 0.0))
            .collect();
        assert_eq!(inp(&entries, 49.0), Some(392.0));
    }

    #[test]
    fn one_interaction_in_fifty_is_skipped_as_an_outlier() {
        // 120 interactions: index floor(120 / 50) = 2, the third longest.
        let entries: Vec<_> = (1..=120)
            .map(|i| (i * 7, f64::from(i as u32) * 8.0, 0.0))
            .collect();
        assert_eq!(inp(&entries, 120.0), Some(118.0 * 8.0));
    }

    #[test]
    fn only_ten_interactions_are_kept_and_the_index_is_clamped() {
        let mut interactions = Interactions::default();
        for i in 1..=1000u64 {
            interactions.add(i * 7, (i % 97) as f64 * 8.0, 0.0, ());
        }
        assert_eq!(interactions.longest().len(), MAX_INTERACTIONS);
        // floor(1000 / 50) = 20, clamped to the last of the ten.
        let estimate = interactions.estimate(1000.0, false).map(|e| e.latency);
        assert_eq!(estimate, Some(96.0 * 8.0));
    }

    #[test]
    fn equal_entries_that_started_together_are_kept_together() {
        let mut interactions = Interactions::default();
        interactions.add(7, 64.0, 10.0, 'a');
        interactions.add(7, 64.0, 10.0, 'b');
        interactions.add(7, 64.0, 20.0, 'c');
        assert_eq!(
            interactions.get(7).map(|i| i.entries.clone()),
            Some(vec!['a', 'b'])
        );
    }

    #[test]
    fn a_new_page_view_counts_its_own_interactions() {
        let mut interactions = Interactions::default();
        interactions.add(7, 200.0, 0.0, ());
        interactions.reset(60.0);
        // Interactions happened after the restore, none long enough to be observed: 8 ms.
        let estimate = interactions.estimate(61.0, true).map(|e| e.latency);
        assert_eq!(estimate, Some(8.0));
        assert_eq!(interactions.estimate(60.0, true), None);
        assert_eq!(interactions.estimate(61.0, false), None);
    }

    #[test]
    fn the_count_estimate_follows_interaction_ids() {
        let mut count = CountEstimate::default();
        assert_eq!(count.count(), 0.0);
        for id in [0, 5000, 5007, 5014, 5035] {
            count.add(id);
        }
        assert_eq!(count.count(), 6.0);
    }
}
