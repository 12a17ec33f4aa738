//! The bounded caches of merged statistics, which an erasure empties on every collector sharing
//! the store.
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
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Values read from the store, each with when it was read, all under one erasure generation;
/// at most `capacity` of them.
#[derive(Debug)]
pub struct StatsCache<K, V> {
    entries: Mutex<ByGeneration<K, (Instant, V)>>,
    capacity: usize,
    ttl: Duration,
}

impl<K: Eq + Hash, V: Clone> StatsCache<K, V> {
    /// A cache of at most `capacity` entries; when full, those read over `ttl` ago go first,
    /// and if none has expired, all.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        StatsCache {
            entries: Mutex::new(ByGeneration::default()),
            capacity,
            ttl,
        }
    }

    /// The value of `key`, if it was read under erasure `generation` less than `ttl` ago.
    pub fn get(&self, key: &K, generation: i64, ttl: Duration) -> Option<V> {
        let mut cached = self.entries.lock().ok()?;
        let (at, value) = cached.at(generation)?.get(key)?;
        (at.elapsed() < ttl).then(|| value.clone())
    }

    /// Keeps `value`, read under erasure `generation`, for `key`; not when an erasure has
    /// happened since (the cache already holds a newer generation).
    pub fn put(&self, key: K, generation: i64, value: V) {
        let Ok(mut cached) = self.entries.lock() else {
            return;
        };
        let Some(entries) = cached.at(generation) else {
            return;
        };
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// How many entries the cache holds.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.entries.len())
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Cached entries, all read under one erasure generation.
#[derive(Debug)]
struct ByGeneration<K, V> {
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
    fn at(&mut self, generation: i64) -> Option<&mut HashMap<K, V>> {
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

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn an_erasure_empties_the_cache_and_an_older_read_is_not_kept() {
        let cache: StatsCache<&str, u32> = StatsCache::new(8, MINUTE);
        cache.put("range", 3, 1);
        assert_eq!(cache.get(&"range", 3, MINUTE), Some(1));
        // Another collector erased a user: generation 4.
        assert_eq!(cache.get(&"range", 4, MINUTE), None);
        assert!(cache.is_empty());
        // A request that read generation 3 before the erasure finishes now.
        cache.put("range", 3, 1);
        assert_eq!(cache.get(&"range", 3, MINUTE), None);
        assert!(cache.is_empty());
        cache.put("range", 4, 2);
        assert_eq!(cache.get(&"range", 4, MINUTE), Some(2));
    }

    #[test]
    fn a_full_cache_never_holds_more_than_its_capacity() {
        let cache: StatsCache<u32, u32> = StatsCache::new(8, MINUTE);
        for i in 0..20 {
            cache.put(i, 1, i);
            assert!(cache.len() <= 8);
        }
        assert_eq!(cache.get(&19, 1, MINUTE), Some(19), "the newest is kept");
        assert_eq!(
            cache.get(&19, 1, Duration::ZERO),
            None,
            "older than the ttl asked"
        );
    }
}
