//! What the notifier counts for `/metrics`: per receiver what was delivered, what failed and
//! what was given up, and everything dropped to stay within bounds (nothing disappears
//! without a number going up).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The receiver kinds, in the order [`NotifyCounters::by_receiver`] lists them.
pub const KINDS: [&str; 4] = ["webhook", "slack", "email", "sms"];

/// Receivers counted by name at most (names of receivers removed by reloads stay counted
/// until this many are known; later ones are counted under their kind only).
const MAX_NAMED: usize = 256;

/// Deliveries so far, for `/metrics`. Every number only grows, except `groups` (a gauge).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotifyCounters {
    /// One entry per receiver kind, always all of [`KINDS`] in that order:
    /// `(kind, notifications delivered, attempts failed, notifications given up)`.
    /// Suggested names: `perfwatch_notifications_total{kind}`,
    /// `perfwatch_notification_attempts_failed_total{kind}`,
    /// `perfwatch_notifications_given_up_total{kind}`.
    pub by_receiver: Vec<(&'static str, u64, u64, u64)>,
    /// The same three numbers per configured receiver (at most 256 receivers).
    pub by_name: Vec<ReceiverCounters>,
    /// Evaluations the engine handed over that were dropped, oldest first, because the
    /// hand-over queue was full (`observe` never waits). The next evaluation carries every
    /// firing alert again, so a drop delays notifications, it does not lose alerts.
    pub dropped_handovers: u64,
    /// Deliveries (including retries waiting) dropped because the delivery queue was full.
    pub dropped_deliveries: u64,
    /// Deliveries abandoned because a newer notification of the same group to the same
    /// receiver (and recipient) replaced them.
    pub superseded: u64,
    /// Alerts not kept because `max_groups` groups existed already.
    pub dropped_alerts: u64,
    /// Groups held now (a gauge).
    pub groups: u64,
}

/// The counts of one receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverCounters {
    /// `webhook`, `slack`, `email` or `sms`.
    pub kind: &'static str,
    /// The receiver's `name`.
    pub name: String,
    /// Notifications the receiver accepted (an SMS counts once per recipient).
    pub delivered: u64,
    /// Attempts that failed (each retry that fails counts again).
    pub failed_attempts: u64,
    /// Notifications given up: a final failure (a 4xx other than 429, a permanent SMTP error)
    /// or `max_attempts` reached.
    pub given_up: u64,
}

/// The live counters, shared by the notifier's threads.
#[derive(Debug, Default)]
pub struct Counters {
    receivers: Mutex<BTreeMap<(&'static str, String), ReceiverCounters>>,
    kinds: Mutex<[(u64, u64, u64); 4]>,
    pub(crate) dropped_handovers: AtomicU64,
    pub(crate) dropped_deliveries: AtomicU64,
    pub(crate) superseded: AtomicU64,
    pub(crate) dropped_alerts: AtomicU64,
    pub(crate) groups: AtomicU64,
}

/// What happened to one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it.
    Delivered,
    /// It failed and will be tried again.
    Failed,
    /// It failed and will not be tried again.
    GivenUp,
}

impl Counters {
    /// Counts `outcome` for receiver `kind`/`name`.
    pub fn count(&self, kind: &'static str, name: &str, outcome: Outcome) {
        let bump = |c: &mut ReceiverCounters| match outcome {
            Outcome::Delivered => c.delivered += 1,
            Outcome::Failed => c.failed_attempts += 1,
            Outcome::GivenUp => {
                c.failed_attempts += 1;
                c.given_up += 1;
            }
        };
        if let (Ok(mut kinds), Some(i)) = (self.kinds.lock(), KINDS.iter().position(|k| *k == kind))
        {
            let mut c = ReceiverCounters::default();
            bump(&mut c);
            kinds[i].0 += c.delivered;
            kinds[i].1 += c.failed_attempts;
            kinds[i].2 += c.given_up;
        }
        if let Ok(mut receivers) = self.receivers.lock() {
            let key = (kind, name.to_owned());
            if let Some(c) = receivers.get_mut(&key) {
                bump(c);
            } else if receivers.len() < MAX_NAMED {
                let mut c = ReceiverCounters {
                    kind,
                    name: name.to_owned(),
                    ..ReceiverCounters::default()
                };
                bump(&mut c);
                receivers.insert(key, c);
            }
        }
    }

    /// A copy of the numbers now.
    pub fn snapshot(&self) -> NotifyCounters {
        let kinds = self.kinds.lock().map(|k| *k).unwrap_or_default();
        NotifyCounters {
            by_receiver: KINDS
                .iter()
                .zip(kinds)
                .map(|(kind, (d, f, g))| (*kind, d, f, g))
                .collect(),
            by_name: self
                .receivers
                .lock()
                .map(|r| r.values().cloned().collect())
                .unwrap_or_default(),
            dropped_handovers: self.dropped_handovers.load(Ordering::Relaxed),
            dropped_deliveries: self.dropped_deliveries.load(Ordering::Relaxed),
            superseded: self.superseded.load(Ordering::Relaxed),
            dropped_alerts: self.dropped_alerts.load(Ordering::Relaxed),
            groups: self.groups.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_name() {
        let c = Counters::default();
        c.count("webhook", "ops", Outcome::Failed);
        c.count("webhook", "ops", Outcome::Delivered);
        c.count("sms", "oncall", Outcome::GivenUp);
        let s = c.snapshot();
        assert_eq!(
            s.by_receiver,
            vec![
                ("webhook", 1, 1, 0),
                ("slack", 0, 0, 0),
                ("email", 0, 0, 0),
                ("sms", 0, 1, 1)
            ]
        );
        assert_eq!(s.by_name.len(), 2);
        assert_eq!(s.by_name[1].name, "ops");
        assert_eq!(s.by_name[1].failed_attempts, 1);
    }
}
