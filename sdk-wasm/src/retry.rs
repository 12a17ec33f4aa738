//! What to do with the collector's answer to a batch, and how long to wait before trying again.
//!
//! Network errors (status 0), 408, 429 and 503 are worth retrying, with exponential backoff and
//! jitter (between half and all of the backoff), never sooner than the collector's `Retry-After`. Any other 4xx means the batch
//! itself is wrong and retrying cannot help; 413 (a collector configured below protocol v1's
//! limits) splits the batch in two instead. Other 5xx answers are retried as well: the
//! collector promises never to answer 500 for bad input, so one is a fault on its side.

/// The first retry waits up to this long; each further one doubles it.
pub const BASE_DELAY_MS: f64 = 1000.0;
/// No backoff grows beyond this.
pub const MAX_DELAY_MS: f64 = 60_000.0;
/// A batch is tried this many times in one page before it goes to the offline store.
pub const MAX_ATTEMPTS: u32 = 5;
/// A `Retry-After` longer than this is taken as this (a page does not wait an hour).
pub const MAX_RETRY_AFTER_MS: f64 = 10.0 * 60.0 * 1000.0;

/// What an answer means for the batch that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored (2xx; items the collector rejected one by one are not retried either).
    Delivered,
    /// Try again later.
    Retry,
    /// Too large for this collector: send each half on its own.
    Split,
    /// Refused for good (a wrong key, a malformed batch): counted and reported, not retried.
    Refused,
}

/// The outcome of answer `status` (0 when no answer came).
pub fn outcome(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        413 => Outcome::Split,
        408 | 429 => Outcome::Retry,
        400..=499 => Outcome::Refused,
        _ => Outcome::Retry,
    }
}

/// How long to wait before attempt `attempt + 1` (`attempt` counts from 1), given the answer's
/// `Retry-After` in ms (negative when it had none) and `random` in 0..1: a random share of the
/// backoff's upper half (so that many pages do not return at once), but at least `Retry-After`.
pub fn delay_ms(attempt: u32, retry_after_ms: f64, random: f64) -> f64 {
    let exponent = attempt.saturating_sub(1).min(16) as i32;
    let backoff = (BASE_DELAY_MS * pow2(exponent)).min(MAX_DELAY_MS);
    let jittered = backoff * (0.5 + random.clamp(0.0, 1.0) / 2.0);
    jittered.max(retry_after_ms.min(MAX_RETRY_AFTER_MS))
}

/// 2^`exponent` without `f64::powi` (std only).
fn pow2(exponent: i32) -> f64 {
    f64::from(1u32 << exponent)
}
