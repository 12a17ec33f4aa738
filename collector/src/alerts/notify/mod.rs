//! Notifications: the alerts the engine hands over, grouped, inhibited and silenced as
//! Alertmanager does, delivered to webhooks, Slack, e-mail and SMS with retries, never blocking
//! evaluation.
//!
//! ```text
//! engine ──observe()──▶ hand-over (bounded, drops oldest) ──▶ dispatcher thread
//!                                                              │ groups, timers, mute, dedup
//!                                                              ▼ (dispatch.rs)
//!                        delivery threads ◀── queue (bounded, retries with backoff)
//!                        (deliver.rs: HTTP via ureq + rustls, SMTP via lettre)
//! ```
//!
//! - [`config`]: `[alerts.notify]` and its checks.
//! - [`dispatch`]: groups, group wait / interval / repeat, silences and inhibition.
//! - [`payload`]: Alertmanager's webhook body, Slack message, e-mail text, SMS values.
//! - [`template`]: the SMS request templates.
//! - [`deliver`]: requests, retries, the delivery threads.
//! - [`tls`]: the certificate authorities trusted.
//! - [`counters`]: what `/metrics` shows.

pub mod config;
pub mod counters;
pub mod deliver;
pub mod dispatch;
pub mod payload;
pub mod template;
pub mod tls;

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

pub use config::{
    BodyFormat, EmailConfig, NotifyConfig, Secret, SlackConfig, SmsConfig, SmtpSecurity, TlsRoots,
    WebhookConfig,
};
pub use counters::{NotifyCounters, ReceiverCounters};

use super::model::{Alert, Silence};
use counters::Counters;
use deliver::{Delivery, Receiver};
use dispatch::Dispatcher;

/// One evaluation as the engine handed it over.
struct Evaluation {
    alerts: Vec<Alert>,
    silences: Vec<Silence>,
    now_ms: i64,
    at: Instant,
}

/// What waits for the dispatcher thread. Reload and stop have their own slots so that a full
/// queue of evaluations can never crowd them out.
#[derive(Default)]
struct Inbox {
    evaluations: VecDeque<Evaluation>,
    capacity: usize,
    reload: Option<NotifyConfig>,
    stop: bool,
}

struct Handover {
    inbox: Mutex<Inbox>,
    wake: Condvar,
}

impl Handover {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The notifier: takes the engine's alerts after every evaluation and delivers on its own
/// threads (one dispatcher, `delivery_threads` deliverers).
pub struct Notifier {
    handover: Arc<Handover>,
    counters: Arc<Counters>,
    /// The dispatcher, until [`Notifier::stop`] has joined it.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("counters", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts delivering with `config`. Fails when `config` does not pass
    /// [`NotifyConfig::check`] (`InvalidInput`, with the reason) or a thread cannot start.
    pub fn start(config: NotifyConfig) -> std::io::Result<Notifier> {
        config
            .check()
            .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidInput, reason))?;
        let receivers = Receiver::build_all(&config).map_err(std::io::Error::other)?;
        let counters = Arc::new(Counters::default());
        let delivery = Delivery::start(&config, Arc::clone(&counters))?;
        let handover = Arc::new(Handover {
            inbox: Mutex::new(Inbox {
                capacity: config.handover_capacity,
                ..Inbox::default()
            }),
            wake: Condvar::new(),
        });
        let dispatcher = Dispatcher::new(config, receivers, Arc::clone(&counters));
        let thread = {
            let handover = Arc::clone(&handover);
            std::thread::Builder::new()
                .name("perfwatch-notify".into())
                .spawn(move || run(&handover, dispatcher, delivery))?
        };
        Ok(Notifier {
            handover,
            counters,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Hands over the alerts of one evaluation at `now_ms`: every firing alert, and those resolved
    /// since the last call; `silences` are the silences stored now. Never blocks: when the
    /// dispatcher is behind by `handover_capacity` evaluations, the oldest is dropped (and
    /// counted; the next evaluation carries every firing alert again).
    pub fn observe(&self, alerts: &[Alert], silences: &[Silence], now_ms: i64) {
        let evaluation = Evaluation {
            alerts: alerts.to_vec(),
            silences: silences.to_vec(),
            now_ms,
            at: Instant::now(),
        };
        let mut inbox = self.handover.lock();
        while inbox.evaluations.len() >= inbox.capacity.max(1) {
            inbox.evaluations.pop_front();
            self.counters
                .dropped_handovers
                .fetch_add(1, Ordering::Relaxed);
        }
        inbox.evaluations.push_back(evaluation);
        drop(inbox);
        self.handover.wake.notify_one();
    }

    /// Delivers with `config` from now on, keeping the groups and what they last sent. A config
    /// that does not pass [`NotifyConfig::check`] is refused (logged) and the old one kept.
    pub fn reload(&self, config: NotifyConfig) {
        if let Err(reason) = config.check() {
            tracing::error!(%reason, "notifier config not reloaded");
            return;
        }
        self.handover.lock().reload = Some(config);
        self.handover.wake.notify_one();
    }

    /// Deliveries so far.
    pub fn counters(&self) -> NotifyCounters {
        self.counters.snapshot()
    }

    /// Stops delivering (what is in flight is given a moment to finish; waiting notifications
    /// are dropped).
    /// Shared references may still exist (a signal handler's, say): stopping takes none of them,
    /// and a second call does nothing.
    pub fn stop(&self) {
        self.signal_stop();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    fn signal_stop(&self) {
        self.handover.lock().stop = true;
        self.handover.wake.notify_all();
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        // Setting the flag again after a stop does nothing.
        self.signal_stop();
    }
}

/// The dispatcher thread: takes evaluations and reloads, and flushes groups when they are due.
fn run(handover: &Handover, mut dispatcher: Dispatcher, delivery: Delivery) {
    loop {
        let mut inbox = handover.lock();
        loop {
            if inbox.stop {
                drop(inbox);
                delivery.stop();
                return;
            }
            if inbox.reload.is_some() || !inbox.evaluations.is_empty() {
                break;
            }
            let now = Instant::now();
            match dispatcher.next_due() {
                Some(due) if due <= now => break,
                Some(due) => {
                    inbox = match handover.wake.wait_timeout(inbox, due - now) {
                        Ok((i, _)) => i,
                        Err(p) => p.into_inner().0,
                    };
                }
                None => inbox = handover.wake.wait(inbox).unwrap_or_else(|p| p.into_inner()),
            }
        }
        let reload = inbox.reload.take();
        let evaluations = std::mem::take(&mut inbox.evaluations);
        if let Some(config) = &reload {
            inbox.capacity = config.handover_capacity;
        }
        drop(inbox);

        if let Some(config) = reload {
            match Receiver::build_all(&config) {
                Ok(receivers) => {
                    delivery.reload(&config);
                    dispatcher.reload(config, receivers);
                    tracing::info!("notifier config reloaded");
                }
                Err(e) => tracing::error!(error = %e, "notifier config not reloaded"),
            }
        }
        for e in evaluations {
            dispatcher.observe(e.alerts, e.silences, e.now_ms, e.at);
        }
        dispatcher.flush_due(Instant::now(), &delivery);
    }
}
