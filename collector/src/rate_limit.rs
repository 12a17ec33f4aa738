//! Token buckets keyed by a write key or a client IP: each key may spend `burst` requests at
//! once and earns `per_second` back. The table of buckets is bounded; when it is full, buckets
//! that have refilled completely (idle clients, indistinguishable from new ones) are dropped,
//! and if none has, the new key is limited as if it had an empty bucket, so a flood of distinct
//! keys cannot grow memory without bound. That sweep walks the whole table under the lock, so
//! it runs at most once per refill time (`burst / per_second`, the soonest a busy bucket can
//! have become idle): a flood of new keys against a full table costs a lookup each, not a walk.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast a key may go: `per_second` on average, `burst` at once. A rate of 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate {
        per_second: 0.0,
        burst: 0.0,
    };

    /// Whether this rate limits anything.
    pub fn limits(self) -> bool {
        self.per_second > 0.0
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets for keys of type `K`.
#[derive(Debug)]
pub struct Limiter<K> {
    rate: Rate,
    max_keys: usize,
    table: Mutex<Table<K>>,
}

#[derive(Debug)]
struct Table<K> {
    buckets: HashMap<K, Bucket>,
    /// When the full table was last swept for idle buckets.
    swept_at: Option<Instant>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter at `rate`, following at most `max_keys` keys.
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Self {
            rate,
            max_keys: max_keys.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                swept_at: None,
            }),
        }
    }

    /// Takes one token for `key` at `now`: `Ok` if there was one, else how long until there is.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let rate = self.rate;
        if !rate.limits() {
            return Ok(());
        }
        let Ok(mut table) = self.table.lock() else {
            return Ok(());
        };
        let refill = |b: &Bucket| {
            let earned = now.saturating_duration_since(b.at).as_secs_f64() * rate.per_second;
            (b.tokens + earned).min(rate.burst)
        };
        let Table { buckets, swept_at } = &mut *table;
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            let refill_time = Duration::from_secs_f64(rate.burst / rate.per_second);
            let due = swept_at.is_none_or(|at| now.saturating_duration_since(at) >= refill_time);
            if due {
                buckets.retain(|_, b| refill(b) < rate.burst);
                *swept_at = Some(now);
            }
        }
        let fresh = buckets.len() < self.max_keys;
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None if fresh => buckets.entry(key.clone()).or_insert(Bucket {
                tokens: rate.burst,
                at: now,
            }),
            // Full of busy keys: a new one waits as if it had spent its burst.
            None => return Err(Duration::from_secs_f64(1.0 / rate.per_second)),
        };
        bucket.tokens = refill(bucket);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / rate.per_second,
            ))
        }
    }

    /// How many keys are followed now.
    pub fn keys(&self) -> usize {
        self.table
            .lock()
            .map(|t| t.buckets.len())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = Limiter::new(
            Rate {
                per_second: 10.0,
                burst: 3.0,
            },
            10,
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(&"k", t0).is_ok());
        }
        let wait = limiter.take(&"k", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // Another key has its own bucket.
        assert!(limiter.take(&"other", t0).is_ok());
        // 100 ms later one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert!(limiter.take(&"k", t1).is_ok());
        assert!(limiter.take(&"k", t1).is_err());
    }

    #[test]
    fn the_table_stays_bounded_and_idle_keys_make_room() {
        let rate = Rate {
            per_second: 1.0,
            burst: 2.0,
        };
        let limiter = Limiter::new(rate, 2);
        let t0 = Instant::now();
        assert!(limiter.take(&1, t0).is_ok());
        assert!(limiter.take(&2, t0).is_ok());
        // Both busy: a third key is limited, and not followed.
        assert!(limiter.take(&3, t0).is_err());
        assert_eq!(limiter.keys(), 2);
        // Once they have refilled, they make room.
        let later = t0 + Duration::from_secs(5);
        assert!(limiter.take(&3, later).is_ok());
        assert!(limiter.keys() <= 2);
    }

    #[test]
    fn a_full_table_is_swept_at_most_once_per_refill_time() {
        let rate = Rate {
            per_second: 1.0,
            burst: 2.0,
        };
        let limiter = Limiter::new(rate, 2);
        let t0 = Instant::now();
        // Two keys spend their burst at 0 s: both refilled (idle) at 2 s.
        for key in [1, 2] {
            assert!(limiter.take(&key, t0).is_ok());
            assert!(limiter.take(&key, t0).is_ok());
        }
        // Full at 1 s: swept (nothing idle yet), the new key limited.
        assert!(limiter.take(&3, t0 + Duration::from_secs(1)).is_err());
        // At 2.5 s both are idle, but the last sweep was 1.5 s ago (< 2 s to refill): no
        // sweep, the new key is still limited, and nothing was dropped.
        assert!(limiter.take(&4, t0 + Duration::from_millis(2500)).is_err());
        assert_eq!(limiter.keys(), 2);
        // At 3 s a sweep is due: both idle keys go, the new key comes in.
        assert!(limiter.take(&4, t0 + Duration::from_secs(3)).is_ok());
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn a_zero_rate_is_no_limit() {
        let limiter = Limiter::new(Rate::UNLIMITED, 1);
        let t0 = Instant::now();
        for i in 0..1000 {
            assert!(limiter.take(&i, t0).is_ok());
        }
        assert_eq!(limiter.keys(), 0);
    }
}
