//! Sessions: one id per browser tab across its page loads, kept in `sessionStorage`, ended by
//! 30 minutes without activity or after 4 hours, whichever comes first. Whether a session
//! reports at all (`sampleRate`) is decided once, when it starts, and kept with it.
//!
//! Pure bookkeeping over epoch milliseconds; reading and writing the storage is the monitor's.

use crate::prelude::*;

use crate::wire::parse_uint;

/// A session ends after this long without an event.
pub const INACTIVITY_MS: f64 = 30.0 * 60.0 * 1000.0;
/// And after this long in all.
pub const MAX_DURATION_MS: f64 = 4.0 * 60.0 * 60.0 * 1000.0;

/// The `sessionStorage` key the session is kept under.
pub const STORAGE_KEY: &str = "perfwatch.session";

/// One session: its id, when it started and was last active (epoch ms), and whether it is
/// sampled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub started_at: f64,
    pub last_active_at: f64,
    pub sampled: bool,
}

impl Session {
    /// A session starting at `now`; sampled in when `random` (0..1) is below `sample_rate`.
    pub fn start(id: String, now: f64, sample_rate: f64, random: f64) -> Session {
        Session {
            id,
            started_at: now,
            last_active_at: now,
            sampled: random < sample_rate,
        }
    }

    /// Whether the session has ended by `now`.
    pub fn expired(&self, now: f64) -> bool {
        now - self.last_active_at >= INACTIVITY_MS || now - self.started_at >= MAX_DURATION_MS
    }

    /// `id started_at last_active_at sampled`, as kept in storage (whole milliseconds).
    pub fn encode(&self) -> String {
        let mut out = self.id.clone();
        for n in [self.started_at, self.last_active_at] {
            out.push(' ');
            crate::wire::number(&mut out, crate::wire::whole(n));
        }
        out.push_str(if self.sampled { " 1" } else { " 0" });
        out
    }

    /// A stored session, or `None` for anything else (another version's format, a value the
    /// page changed); also `None` for times that cannot be, such as a start in the future.
    pub fn decode(stored: &str, now: f64) -> Option<Session> {
        let mut parts = stored.split(' ');
        let id = parts.next().filter(|id| valid_id(id))?;
        let started_at = parse_uint(parts.next()?)?;
        let last_active_at = parse_uint(parts.next()?)?;
        let sampled = match parts.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let ordered = started_at <= last_active_at && last_active_at <= now;
        (parts.next().is_none() && ordered).then(|| Session {
            id: String::from(id),
            started_at,
            last_active_at,
            sampled,
        })
    }
}

/// The session to use at `now`: the stored one while it lasts, else a new one with `new_id`.
pub fn resume_or_start(
    stored: Option<&str>,
    now: f64,
    new_id: impl FnOnce() -> String,
    sample_rate: f64,
    random: f64,
) -> Session {
    match stored.and_then(|s| Session::decode(s, now)) {
        Some(session) if !session.expired(now) => session,
        _ => Session::start(new_id(), now, sample_rate, random),
    }
}

/// Ids are the SDK's own 32 hex digits; anything else in storage is not ours.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
