//! Time on the collector's clock, and the correction of a client's clock skew.
//!
//! A browser's clock may be minutes or hours off. Every batch says when it was sent on the
//! client's clock (`sent_at`); the collector notes when it received the batch on its own clock,
//! and moves every event of the batch by the difference. Network latency is folded into the skew,
//! which is why the correction is good to a few hundred milliseconds, not better.

use std::time::{SystemTime, UNIX_EPOCH};

use perfwatch_protocol::{BatchHeader, Event};

/// Milliseconds per hour, for `hours=` windows.
pub const MS_PER_HOUR: f64 = 3_600_000.0;

/// Now, in epoch milliseconds on the collector's clock.
pub fn now_ms() -> f64 {
    // A clock before 1970 is not a state this service can do anything useful in; count it as 0.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// How far a batch's client clock is behind the collector's (negative when it is ahead).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockSkew {
    /// `received_at - sent_at`, in milliseconds.
    pub skew_ms: f64,
    time_origin: f64,
}

impl ClockSkew {
    /// The skew of the client that sent `header`, received at `received_at_ms`.
    pub fn new(header: &BatchHeader, received_at_ms: f64) -> Self {
        Self {
            skew_ms: received_at_ms - header.sent_at,
            time_origin: header.time_origin,
        }
    }

    /// When `event` happened, in epoch milliseconds on the collector's clock:
    /// `time_origin + start_time + skew`.
    pub fn event_epoch_ms(&self, event: &Event) -> i64 {
        to_epoch_ms(self.time_origin + event.start_time() + self.skew_ms)
    }
}

/// Rounds epoch milliseconds to the integer the store keeps (saturating; the protocol has
/// already checked that the numbers are finite).
pub fn to_epoch_ms(ms: f64) -> i64 {
    ms.round() as i64
}

/// Epoch milliseconds from RFC 3339 (`2026-11-26T07:00:00Z`) or from a number of
/// milliseconds; `None` for anything else.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_millis()).ok())
}
