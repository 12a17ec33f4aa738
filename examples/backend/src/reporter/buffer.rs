//! The bounded buffer records wait in, and the limiter that keeps its warnings to one a minute.
//!
//! When the buffer is full the *oldest* record is dropped, and counted: a monitoring backlog is
//! worth less the older it gets, and a service must not grow without bound because its
//! collector is down.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Records waiting to be sent, at most `capacity`.
#[derive(Debug)]
pub struct RecordBuffer<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> RecordBuffer<T> {
    /// An empty buffer holding at most `capacity` records (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RecordBuffer {
            items: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            dropped: 0,
        }
    }

    /// Adds `item` as the newest record; when full, drops the oldest first. Returns how many
    /// records were dropped (0 or 1).
    pub fn push(&mut self, item: T) -> u64 {
        let dropped = if self.items.len() >= self.capacity {
            self.items.pop_front();
            1
        } else {
            0
        };
        self.items.push_back(item);
        self.dropped += dropped;
        dropped
    }

    /// Puts back `batch`, taken earlier and so older than every record waiting, in front; the
    /// records that no longer fit are its oldest, and are dropped. Returns how many were.
    pub fn requeue(&mut self, mut batch: Vec<T>) -> u64 {
        let room = self.capacity - self.items.len();
        let dropped = batch.len().saturating_sub(room);
        for item in batch.drain(dropped..).rev() {
            self.items.push_front(item);
        }
        self.dropped += dropped as u64;
        dropped as u64
    }

    /// Takes up to `max` of the oldest records.
    pub fn take(&mut self, max: usize) -> Vec<T> {
        let n = max.min(self.items.len());
        self.items.drain(..n).collect()
    }

    /// Drops every record waiting, counting them; returns how many.
    pub fn clear(&mut self) -> u64 {
        let n = self.items.len() as u64;
        self.items.clear();
        self.dropped += n;
        n
    }

    /// The records waiting, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Records dropped since the buffer was made.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Lets a repeated warning through at most once per `interval`, saying how many times it
/// happened since the last one that went through.
#[derive(Debug)]
pub struct WarnLimiter {
    interval: Duration,
    last: Option<Instant>,
    pending: u64,
}

impl WarnLimiter {
    pub fn new(interval: Duration) -> Self {
        WarnLimiter {
            interval,
            last: None,
            pending: 0,
        }
    }

    /// Notes `count` occurrences at `now`; `Some(total since the last warning)` when a warning
    /// is due.
    pub fn note(&mut self, count: u64, now: Instant) -> Option<u64> {
        self.pending += count;
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due || self.pending == 0 {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(buffer: &mut RecordBuffer<u32>) -> Vec<u32> {
        buffer.take(usize::MAX)
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_and_counts_them() {
        let mut buffer = RecordBuffer::new(3);
        let dropped: u64 = (1..=5).map(|i| buffer.push(i)).sum();
        assert_eq!(dropped, 2);
        assert_eq!(buffer.dropped(), 2);
        assert_eq!(buffer.len(), 3);
        assert_eq!(contents(&mut buffer), [3, 4, 5]);
        assert!(buffer.is_empty());
        assert_eq!(buffer.dropped(), 2, "taking is not dropping");
    }

    #[test]
    fn records_are_taken_oldest_first_in_bounded_batches() {
        let mut buffer = RecordBuffer::new(10);
        for i in 1..=5 {
            buffer.push(i);
        }
        assert_eq!(buffer.take(2), [1, 2]);
        assert_eq!(buffer.take(2), [3, 4]);
        assert_eq!(buffer.take(2), [5]);
        assert!(buffer.take(2).is_empty());
    }

    #[test]
    fn a_requeued_batch_goes_back_in_front_and_its_oldest_are_dropped_when_full() {
        let mut buffer = RecordBuffer::new(5);
        for i in 1..=4 {
            buffer.push(i);
        }
        let batch = buffer.take(3); // 1, 2, 3 in flight
        buffer.push(5);
        buffer.push(6); // 4, 5, 6 waiting: room for two
        assert_eq!(buffer.requeue(batch), 1);
        assert_eq!(buffer.dropped(), 1);
        assert_eq!(contents(&mut buffer), [2, 3, 4, 5, 6]);

        buffer.push(7);
        assert_eq!(buffer.requeue(vec![1, 2]), 0);
        assert_eq!(contents(&mut buffer), [1, 2, 7]);
        buffer.push(8);
        assert_eq!(buffer.clear(), 1);
        assert_eq!(buffer.dropped(), 2);
    }

    #[test]
    fn a_zero_capacity_still_holds_the_newest_record() {
        let mut buffer = RecordBuffer::new(0);
        buffer.push(1);
        buffer.push(2);
        assert_eq!(contents(&mut buffer), [2]);
        assert_eq!(buffer.dropped(), 1);
    }

    #[test]
    fn warnings_go_through_once_a_minute_with_the_count_since_the_last() {
        let start = Instant::now();
        let mut limiter = WarnLimiter::new(Duration::from_secs(60));
        assert_eq!(limiter.note(1, start), Some(1));
        assert_eq!(limiter.note(1, start + Duration::from_secs(1)), None);
        assert_eq!(limiter.note(5, start + Duration::from_secs(59)), None);
        assert_eq!(limiter.note(1, start + Duration::from_secs(60)), Some(7));
        assert_eq!(limiter.note(0, start + Duration::from_secs(200)), None);
        assert_eq!(limiter.note(2, start + Duration::from_secs(201)), Some(2));
    }
}
