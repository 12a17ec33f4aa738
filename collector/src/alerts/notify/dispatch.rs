//! Grouping and timing, as Alertmanager's dispatcher and notification pipeline do
//! (`dispatch/dispatch.go`'s aggregation groups, `notify/notify.go`'s mute and dedup stages):
//!
//! - Alerts with equal values of the `group_by` labels form a group. A new group waits
//!   `group_wait` (or not at all when its alert started longer ago than that), then notifies.
//! - After that the group is looked at every `group_interval`. For each receiver it notifies
//!   again when a firing alert is new to that receiver, when an alert resolved (if the receiver
//!   has `send_resolved`, or when nothing fires any more), or when `repeat_interval` has passed
//!   since its last notification. Otherwise it stays quiet.
//! - Silenced and inhibited alerts are left out before that decision, so a group whose alerts
//!   are all muted sends nothing, and an alert whose silence expires counts as new.
//! - A resolved alert is sent once and then dropped from its group; an empty group is removed.
//!
//! The engine reports every firing alert at every evaluation, so an alert that is missing from
//! an evaluation has ended: it is resolved then (like Alertmanager's `resolve_timeout`). This
//! also makes a dropped hand-over harmless.
//!
//! Unlike Alertmanager, what was notified is recorded when the notification is handed to
//! delivery, not when it arrived (delivery retries on its own threads).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::NotifyConfig;
use super::counters::Counters;
use super::deliver::{Delivery, Receiver};
use super::payload::{label_set_string, Notification};
use crate::alerts::model::{self, Alert, AlertState, Labels, Silence};

/// What a receiver was last told about a group.
#[derive(Debug, Clone)]
struct Sent {
    firing: BTreeSet<String>,
    resolved: BTreeSet<String>,
    at: Instant,
}

/// Alerts that are notified together.
#[derive(Debug)]
struct Group {
    labels: Labels,
    /// Fingerprint to alert (the latest state the engine reported).
    alerts: BTreeMap<String, Alert>,
    /// Alerts of the last evaluation left out because the group was full.
    truncated: usize,
    next_flush: Instant,
    has_flushed: bool,
    /// By receiver id.
    sent: HashMap<String, Sent>,
}

/// The groups, their timers, and what muting needs to know.
pub struct Dispatcher {
    config: NotifyConfig,
    receivers: Vec<Arc<Receiver>>,
    /// By group key.
    groups: BTreeMap<String, Group>,
    /// The firing alerts of the last evaluation (the sources of inhibition).
    current: Vec<Alert>,
    silences: Vec<Silence>,
    /// The engine's clock at the last evaluation, and when that was on ours.
    clock: (i64, Instant),
    counters: Arc<Counters>,
}

impl Dispatcher {
    /// A dispatcher with no groups yet.
    pub fn new(
        config: NotifyConfig,
        receivers: Vec<Arc<Receiver>>,
        counters: Arc<Counters>,
    ) -> Self {
        Dispatcher {
            config,
            receivers,
            groups: BTreeMap::new(),
            current: Vec::new(),
            silences: Vec::new(),
            clock: (0, Instant::now()),
            counters,
        }
    }

    /// Takes `config` and its `receivers` from now on; groups and what they sent are kept
    /// (a receiver that is gone is forgotten at its groups' next flush).
    pub fn reload(&mut self, config: NotifyConfig, receivers: Vec<Arc<Receiver>>) {
        self.config = config;
        self.receivers = receivers;
    }

    /// The engine's clock now.
    fn now_ms(&self, at: Instant) -> i64 {
        let elapsed = at.saturating_duration_since(self.clock.1);
        self.clock.0 + i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// Takes in one evaluation: `alerts` firing or resolved at `now_ms`, received at `at`.
    pub fn observe(
        &mut self,
        alerts: Vec<Alert>,
        silences: Vec<Silence>,
        now_ms: i64,
        at: Instant,
    ) {
        self.clock = (now_ms, at);
        for group in self.groups.values_mut() {
            group.truncated = 0;
        }
        let mut seen = BTreeSet::new();
        let mut firing = Vec::new();
        for mut alert in alerts {
            if alert.state == AlertState::Pending {
                continue;
            }
            if alert.fingerprint.is_empty() {
                alert.fingerprint = model::fingerprint(&alert.labels);
            }
            if alert.state == AlertState::Resolved && alert.ends_at_ms.is_none() {
                alert.ends_at_ms = Some(now_ms);
            }
            seen.insert(alert.fingerprint.clone());
            if alert.state == AlertState::Firing {
                firing.push(alert.clone());
            }
            self.insert(alert, now_ms, at);
        }
        // Missing from this evaluation: ended.
        for group in self.groups.values_mut() {
            for alert in group.alerts.values_mut() {
                if alert.state == AlertState::Firing && !seen.contains(&alert.fingerprint) {
                    alert.state = AlertState::Resolved;
                    alert.ends_at_ms = Some(now_ms);
                }
            }
        }
        self.current = firing;
        self.silences = silences;
        self.counters
            .groups
            .store(self.groups.len() as u64, Ordering::Relaxed);
    }

    fn insert(&mut self, alert: Alert, now_ms: i64, at: Instant) {
        let labels = self.config.group_labels(&alert.labels);
        let key = format!("{{}}:{}", label_set_string(&labels));
        if !self.groups.contains_key(&key) {
            if alert.state == AlertState::Resolved {
                // Nothing was told about it under this group: nothing to resolve.
                return;
            }
            if self.groups.len() >= self.config.max_groups {
                self.counters.dropped_alerts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(group = %key, "alert not notified: max_groups reached");
                return;
            }
            self.groups.insert(
                key.clone(),
                Group {
                    labels,
                    alerts: BTreeMap::new(),
                    truncated: 0,
                    next_flush: at + self.config.group_wait,
                    has_flushed: false,
                    sent: HashMap::new(),
                },
            );
        }
        let Some(group) = self.groups.get_mut(&key) else {
            return;
        };
        if !group.alerts.contains_key(&alert.fingerprint)
            && group.alerts.len() >= self.config.max_alerts_per_group
        {
            group.truncated += 1;
            return;
        }
        // Alertmanager: an alert that started longer than group_wait ago (say, across a
        // restart) is not made to wait again.
        let wait_ms = i64::try_from(self.config.group_wait.as_millis()).unwrap_or(i64::MAX);
        if !group.has_flushed
            && alert.state == AlertState::Firing
            && alert
                .starts_at_ms
                .is_some_and(|s| s.saturating_add(wait_ms) < now_ms)
        {
            group.next_flush = group.next_flush.min(at);
        }
        group.alerts.insert(alert.fingerprint.clone(), alert);
    }

    /// When the next group is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.groups.values().map(|g| g.next_flush).min()
    }

    /// Notifies every group due at `at`.
    pub fn flush_due(&mut self, at: Instant, delivery: &Delivery) {
        let now_ms = self.now_ms(at);
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next_flush <= at)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(mut group) = self.groups.remove(&key) else {
                continue;
            };
            self.flush(&key, &mut group, now_ms, at, delivery);
            group.has_flushed = true;
            group.next_flush = at + self.config.group_interval;
            group.alerts.retain(|_, a| a.state != AlertState::Resolved);
            if !group.alerts.is_empty() {
                self.groups.insert(key, group);
            }
        }
        self.counters
            .groups
            .store(self.groups.len() as u64, Ordering::Relaxed);
    }

    fn muted(&self, alert: &Alert, now_ms: i64) -> bool {
        !model::silenced_by(&self.silences, &alert.labels, now_ms).is_empty()
            || model::inhibited(alert, &self.current)
    }

    fn flush(&self, key: &str, group: &mut Group, now_ms: i64, at: Instant, delivery: &Delivery) {
        let ids: BTreeSet<String> = self.receivers.iter().map(|r| r.id()).collect();
        group.sent.retain(|id, _| ids.contains(id));
        for receiver in &self.receivers {
            let mut alerts: Vec<Alert> = group
                .alerts
                .values()
                .filter(|a| receiver.wants(&a.labels) && !self.muted(a, now_ms))
                .cloned()
                .collect();
            if alerts.is_empty() {
                continue;
            }
            let firing: BTreeSet<String> = alerts
                .iter()
                .filter(|a| a.state == AlertState::Firing)
                .map(|a| a.fingerprint.clone())
                .collect();
            let resolved: BTreeSet<String> = alerts
                .iter()
                .filter(|a| a.state == AlertState::Resolved)
                .map(|a| a.fingerprint.clone())
                .collect();
            let id = receiver.id();
            let last = group.sent.get(&id);
            if !needs_update(
                last,
                &firing,
                &resolved,
                receiver.send_resolved,
                self.config.repeat_interval,
                at,
            ) {
                continue;
            }
            group.sent.insert(
                id,
                Sent {
                    firing: firing.clone(),
                    resolved: resolved.clone(),
                    at,
                },
            );
            if !receiver.send_resolved {
                alerts.retain(|a| a.state == AlertState::Firing);
                if alerts.is_empty() {
                    continue;
                }
            }
            // Firing first, as a reader wants them.
            alerts.sort_by_key(|a| a.state == AlertState::Resolved);
            let n = Notification {
                receiver: receiver.name.clone(),
                group_key: key.to_owned(),
                group_labels: group.labels.clone(),
                alerts,
                truncated: group.truncated,
                external_url: self.config.external_url.clone(),
            };
            tracing::debug!(
                receiver = %receiver.id(),
                group = %key,
                status = n.status(),
                alerts = n.alerts.len(),
                "notifying"
            );
            delivery.enqueue(receiver, &n);
        }
    }
}

/// Alertmanager's `DedupStage.needsUpdate`: whether a receiver that was last told `last` must
/// be told about a group whose unmuted alerts are now `firing` and `resolved`.
fn needs_update(
    last: Option<&Sent>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    send_resolved: bool,
    repeat: Duration,
    at: Instant,
) -> bool {
    let Some(last) = last else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&last.firing) {
        return true;
    }
    if firing.is_empty() {
        // Everything resolved: tell it if something was firing.
        return !last.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&last.resolved) {
        return true;
    }
    at.saturating_duration_since(last.at) >= repeat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dedup_is_alertmanagers() {
        let now = Instant::now();
        let hour = Duration::from_secs(3600);
        let last = Sent {
            firing: set(&["a", "b"]),
            resolved: set(&[]),
            at: now,
        };
        assert!(needs_update(None, &set(&["a"]), &set(&[]), true, hour, now));
        assert!(!needs_update(
            None,
            &set(&[]),
            &set(&["a"]),
            true,
            hour,
            now
        ));
        // Unchanged: quiet until the repeat interval.
        assert!(!needs_update(
            Some(&last),
            &set(&["a", "b"]),
            &set(&[]),
            true,
            hour,
            now
        ));
        assert!(needs_update(
            Some(&last),
            &set(&["a", "b"]),
            &set(&[]),
            true,
            hour,
            now + hour
        ));
        // New firing alert.
        assert!(needs_update(
            Some(&last),
            &set(&["a", "c"]),
            &set(&[]),
            true,
            hour,
            now
        ));
        // One resolved: only with send_resolved.
        assert!(needs_update(
            Some(&last),
            &set(&["a"]),
            &set(&["b"]),
            true,
            hour,
            now
        ));
        assert!(!needs_update(
            Some(&last),
            &set(&["a"]),
            &set(&["b"]),
            false,
            hour,
            now
        ));
        // All resolved: always (the resolved alerts are then left out without send_resolved).
        assert!(needs_update(
            Some(&last),
            &set(&[]),
            &set(&["a", "b"]),
            false,
            hour,
            now
        ));
    }
}
