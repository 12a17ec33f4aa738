//! Caches of merged statistics that an erasure empties, on every collector sharing the store.
//!
//! The statistics caches ([`crate::rollup::CallRangeCache`], [`crate::timeseries::BucketCache`])
//! hold what the store held when they were read, and a merged series may name a user. When a
//! user is erased, no answer may still come from before: not on the collector that erased, nor
//! on the others sharing its PostgreSQL database, whose memory it cannot reach. So every entry
//! is kept with the store's erasure generation it was read under
//! ([`crate::store::Store::erasure_generation`], which each erasure raises in its own
//! transaction), and a request reads the generation before it reads the cache.

use std::collections::HashMap;
use std::hash::Hash;

/// Cached entries, all read under one erasure generation.
#[derive(Debug)]
pub struct ByGeneration<K, V> {
    generation: i64,
    entries: HashMap<K, V>,
}

impl<K, V> Default for ByGeneration<K, V> {
    fn default() -> Self {
        ByGeneration {
            generation: i64::MIN,
            entries: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash, V> ByGeneration<K, V> {
    /// The entries for a request that read `generation`: emptied first when the store has
    /// erased since they were read; `None` when the request read the store before an erasure
    /// these entries already know of (what it read must neither answer from them nor be kept).
    pub fn at(&mut self, generation: i64) -> Option<&mut HashMap<K, V>> {
        if generation > self.generation {
            self.entries.clear();
            self.generation = generation;
        }
        (generation == self.generation).then_some(&mut self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erasure_empties_the_entries_and_an_older_read_is_not_kept() {
        let mut cache: ByGeneration<&str, u32> = ByGeneration::default();
        cache.at(3).map(|e| e.insert("range", 1));
        assert_eq!(cache.at(3).and_then(|e| e.get("range").copied()), Some(1));
        // Another collector erased a user: generation 4.
        assert_eq!(cache.at(4).map(|e| e.len()), Some(0));
        // A request that read generation 3 before the erasure finishes now.
        assert!(cache.at(3).is_none());
        cache.at(4).map(|e| e.insert("range", 2));
        assert_eq!(cache.at(4).and_then(|e| e.get("range").copied()), Some(2));
    }
}
