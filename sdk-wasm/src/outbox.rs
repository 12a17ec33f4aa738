//! The offline store: batches that could not be confirmed delivered, kept in `localStorage`
//! and sent again on the next page load of the same origin, with their own header (their own
//! `time_origin`, session and page view) and a new `sent_at`.
//!
//! Two kinds of entry:
//! - *unsent*: the collector could not be reached (or kept answering 503) for
//!   [`crate::retry::MAX_ATTEMPTS`] tries, or the page unloaded while the batch waited.
//! - *sent, unconfirmed*: handed to `sendBeacon` (or in flight) when the page was hidden,
//!   whose outcome the page never learns. A later 2xx answer to a request sent after it
//!   confirms it and removes it; else it is sent again on the next load. Every event carries an
//!   `event_id`, so the collector stores a repeated event once.
//!
//! The store is bounded: at most [`MAX_BYTES`] of text, entries older than [`MAX_AGE_MS`]
//! (unsent) or [`MAX_UNCONFIRMED_AGE_MS`] (sent) expire, and the oldest go first when it is
//! full; every entry lost that way is counted. Several tabs of one origin share it: each change
//! reads, edits and writes it in one synchronous step.
//!
//! Format: one entry a line, `saved_at<TAB>kind<TAB>head<TAB>event<TAB>event...`. The SDK's JSON
//! escapes tabs and newlines inside strings, so neither appears in a head or an event.

use crate::prelude::*;

use crate::wire::{parse_uint, Batch};

/// The `localStorage` key of the store.
pub const STORAGE_KEY: &str = "perfwatch.outbox";
/// Text kept at most (UTF-8 bytes; `localStorage` holds about 5 MB per origin, the app's own
/// data included).
pub const MAX_BYTES: usize = 256 * 1024;
/// Unsent batches are kept this long (the collector refuses events older than 30 days).
pub const MAX_AGE_MS: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;
/// Sent but unconfirmed batches are kept this long.
pub const MAX_UNCONFIRMED_AGE_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// One stored batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it was first stored, epoch ms.
    pub saved_at: f64,
    /// Handed to the browser to send (beacon, keepalive fetch), outcome unknown.
    pub sent: bool,
    pub batch: Batch,
}

impl Entry {
    fn encode(&self, out: &mut String) {
        crate::wire::number(out, crate::wire::whole(self.saved_at));
        out.push_str(if self.sent { "\ts" } else { "\tu" });
        out.push('\t');
        out.push_str(&self.batch.head);
        for event in &self.batch.events {
            out.push('\t');
            out.push_str(event);
        }
    }

    fn decode(line: &str) -> Option<Entry> {
        let mut fields = line.split('\t');
        let saved_at = parse_uint(fields.next()?)?;
        let sent = match fields.next()? {
            "s" => true,
            "u" => false,
            _ => return None,
        };
        let head = String::from(fields.next()?);
        let events: Vec<String> = fields.map(String::from).collect();
        (!events.is_empty()).then_some(Entry {
            saved_at,
            sent,
            batch: Batch { head, events },
        })
    }

    fn expired(&self, now: f64) -> bool {
        let max_age = if self.sent {
            MAX_UNCONFIRMED_AGE_MS
        } else {
            MAX_AGE_MS
        };
        now - self.saved_at > max_age
    }
}

/// The store's entries, oldest first, and how many entries were lost: expired, unreadable,
/// or pushed out by newer ones.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outbox {
    pub entries: Vec<Entry>,
    pub lost: u32,
}

impl Outbox {
    /// The store as read from `stored` at `now`: expired and unreadable entries are dropped
    /// and counted.
    pub fn decode(stored: &str, now: f64) -> Outbox {
        let mut outbox = Outbox::default();
        for line in stored.split('\n').filter(|l| !l.is_empty()) {
            match Entry::decode(line) {
                Some(entry) if !entry.expired(now) => outbox.entries.push(entry),
                _ => outbox.lost += 1,
            }
        }
        outbox
    }

    /// The text to store: the newest entries that fit in `max_bytes`; the older ones are
    /// dropped and counted in `lost`.
    pub fn encode(&mut self, max_bytes: usize) -> String {
        let mut lines: Vec<String> = Vec::with_capacity(self.entries.len());
        let mut total = 0;
        let mut keep = self.entries.len();
        for entry in self.entries.iter().rev() {
            let mut line = String::new();
            entry.encode(&mut line);
            if total + line.len() + 1 > max_bytes {
                break;
            }
            total += line.len() + 1;
            lines.push(line);
            keep -= 1;
        }
        self.lost += keep as u32;
        self.entries.drain(..keep);
        let mut out = String::with_capacity(total);
        for line in lines.iter().rev() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// After a 2xx answer to `delivered`, sent at `sent_at` (epoch ms): removes `delivered`
    /// itself, and the sent entries stored before it went, which that answer confirms as far
    /// as a page can know (the collector was up, and the browser sends a beacon at once).
    /// Whether anything was removed.
    pub fn confirm(&mut self, sent_at: f64, delivered: &Batch) -> bool {
        let count = self.entries.len();
        self.entries
            .retain(|e| !(e.sent && (e.saved_at <= sent_at || e.batch == *delivered)));
        self.entries.len() != count
    }
}
