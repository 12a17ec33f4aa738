//! Getting batches to the collector: ordinary sends with their answers seen and retried, and
//! the unload send, whose answers are never seen.
//!
//! ```text
//!  send(batch) ─▶ waiting ─(≤ 9 in flight)─▶ host.post ─▶ answered(id, status, Retry-After)
//!                    ▲                          │ keepalive while ≤ 60 KB in flight
//!                    └──── retrying ◀─ 0/408/429/5xx (backoff, Retry-After; 5 tries) ─▶ outbox
//!  unload(batches) + waiting + retrying ─▶ host.beacon ─▶ outbox (sent: until confirmed)
//! ```
//!
//! The I/O itself is the npm layer's (`npm/src/host.ts`: fetch, gzip, sendBeacon, storage);
//! every decision is made here. Requests go as `text/plain` with the key in the query string
//! and no credentials, so none needs a CORS preflight (unless gzip is switched on).

use crate::prelude::*;

use core::cell::RefCell;

use crate::bindings::{self, Host};
use crate::outbox::{self, Outbox};
use crate::retry::{self, Outcome};
use crate::wire::Batch;

/// Requests in flight at most; more batches wait for one to end.
pub const MAX_IN_FLIGHT: usize = 9;
/// Bytes of `keepalive` requests in flight at most: browsers refuse keepalive bodies beyond
/// 64 KB in all, so requests over this budget go as plain fetches.
pub const KEEPALIVE_BUDGET: usize = 60_000;
/// Batches waiting to be sent or retried at most; beyond it the oldest go to the offline
/// store.
pub const MAX_PENDING: usize = 32;

/// A batch and what happened to it so far.
struct Item {
    batch: Batch,
    /// Tries so far.
    attempts: u32,
    /// When it was first stored offline (epoch ms), if it came from the offline store.
    saved_at: Option<f64>,
}

/// A request whose answer is awaited.
struct Flight {
    id: u32,
    item: Item,
    /// Its share of the keepalive budget (0 for a plain fetch).
    keepalive: usize,
    started_at: f64,
    /// Already in the offline store (the page was hidden while it was in flight).
    stored: bool,
}

/// What has been sent, refused and lost, for `monitor.stats()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Events the collector answered 2xx for.
    pub delivered: u32,
    /// Events in batches the collector refused for good (a 4xx other than 408, 413 and 429).
    pub refused: u32,
    /// Events in batches handed to `sendBeacon` (their outcome is not known).
    pub beaconed: u32,
    /// Batches lost from the offline store: expired, unreadable, or pushed out when full.
    pub lost_batches: u32,
}

#[derive(Default)]
struct State {
    next_id: u32,
    in_flight: Vec<Flight>,
    /// Ready to go as soon as fewer than [`MAX_IN_FLIGHT`] are in flight.
    waiting: Vec<Item>,
    /// Waiting for their retry time, by timer id.
    retrying: Vec<(u32, Item)>,
    keepalive_bytes: usize,
    /// Whether this page stored sent-but-unconfirmed batches that an answer may confirm.
    unconfirmed: bool,
    /// HTTP statuses already warned about, so that the console gets each once.
    warned: Vec<u16>,
    counts: Counts,
}

/// The page's one transport.
pub struct Transport {
    url: String,
    compress: bool,
    host: Host,
    state: RefCell<State>,
}

impl Transport {
    pub fn new(url: String, compress: bool, host: Host) -> Transport {
        Transport {
            url,
            compress,
            host,
            state: RefCell::new(State::default()),
        }
    }

    pub fn counts(&self) -> Counts {
        self.state.borrow().counts
    }

    /// Sends what earlier pages left in the offline store (and empties it: what fails again
    /// goes back).
    pub fn resend_stored(&'static self) {
        let stored = self.host.load(outbox::STORAGE_KEY, false);
        let Some(stored) = stored.filter(|s| !s.is_empty()) else {
            return;
        };
        self.host.save(outbox::STORAGE_KEY, "", false);
        let outbox = Outbox::decode(&stored, js_sys::Date::now());
        self.state.borrow_mut().counts.lost_batches += outbox.lost;
        for entry in outbox.entries {
            self.enqueue(Item {
                batch: entry.batch,
                attempts: 0,
                saved_at: Some(entry.saved_at),
            });
        }
    }

    /// Sends `batch` when a request slot is free.
    pub fn send(&'static self, batch: Batch) {
        self.enqueue(Item {
            batch,
            attempts: 0,
            saved_at: None,
        });
    }

    fn enqueue(&'static self, item: Item) {
        let overflow = {
            let mut state = self.state.borrow_mut();
            state.waiting.push(item);
            if state.waiting.len() + state.retrying.len() > MAX_PENDING {
                Some(state.waiting.remove(0))
            } else {
                None
            }
        };
        if let Some(oldest) = overflow {
            self.store(vec![(oldest, false)]);
        }
        self.pump();
    }

    /// Starts waiting batches while request slots are free.
    fn pump(&'static self) {
        loop {
            let (id, body, keepalive) = {
                let mut state = self.state.borrow_mut();
                if state.in_flight.len() >= MAX_IN_FLIGHT || state.waiting.is_empty() {
                    return;
                }
                let mut item = state.waiting.remove(0);
                item.attempts += 1;
                let body = item.batch.body(js_sys::Date::now());
                let keepalive = if state.keepalive_bytes + body.len() <= KEEPALIVE_BUDGET {
                    body.len()
                } else {
                    0
                };
                state.keepalive_bytes += keepalive;
                state.next_id = state.next_id.wrapping_add(1);
                let id = state.next_id;
                state.in_flight.push(Flight {
                    id,
                    item,
                    keepalive,
                    started_at: js_sys::Date::now(),
                    stored: false,
                });
                (id, body, keepalive > 0)
            };
            self.host
                .post(&self.url, &body, keepalive, self.compress, id);
        }
    }

    /// The answer to request `id`: its HTTP status (0 for none) and `Retry-After` in ms
    /// (negative when absent).
    pub fn answered(&'static self, id: u32, status: u16, retry_after_ms: f64) {
        let flight = {
            let mut state = self.state.borrow_mut();
            let Some(index) = state.in_flight.iter().position(|f| f.id == id) else {
                return;
            };
            let flight = state.in_flight.remove(index);
            state.keepalive_bytes -= flight.keepalive;
            flight
        };
        let events = flight.item.batch.events.len() as u32;
        match retry::outcome(status) {
            Outcome::Delivered => {
                self.state.borrow_mut().counts.delivered += events;
                self.confirm(flight.started_at, &flight.item.batch);
            }
            Outcome::Retry if flight.item.attempts < retry::MAX_ATTEMPTS => {
                let delay =
                    retry::delay_ms(flight.item.attempts, retry_after_ms, js_sys::Math::random());
                self.retry_later(flight.item, delay);
            }
            Outcome::Retry => self.store(vec![(flight.item, false)]),
            Outcome::Split => match flight.item.batch.halves() {
                Some((first, second)) => {
                    let saved_at = flight.item.saved_at;
                    for batch in [first, second] {
                        self.enqueue(Item {
                            batch,
                            attempts: 0,
                            saved_at,
                        });
                    }
                }
                None => self.refused(status, events),
            },
            Outcome::Refused => self.refused(status, events),
        }
        self.pump();
    }

    fn refused(&self, status: u16, events: u32) {
        let first = {
            let mut state = self.state.borrow_mut();
            state.counts.refused += events;
            let first = !state.warned.contains(&status);
            if first {
                state.warned.push(status);
            }
            first
        };
        if first {
            let mut message = String::from("perfwatch: the collector refused a batch with HTTP ");
            crate::wire::number(&mut message, f64::from(status));
            message.push_str(
                " and it will not be sent again (401: check `key`; 403: the collector does not accept this origin; 422: the SDK and the collector disagree on the protocol)",
            );
            self.host.warn(&message);
        }
    }

    fn retry_later(&'static self, item: Item, delay_ms: f64) {
        let timer = {
            let mut state = self.state.borrow_mut();
            state.next_id = state.next_id.wrapping_add(1);
            let timer = state.next_id;
            state.retrying.push((timer, item));
            timer
        };
        let fire = crate::lifecycle::function_once(move || {
            let item = {
                let mut state = self.state.borrow_mut();
                let index = state.retrying.iter().position(|(t, _)| *t == timer);
                index.map(|i| state.retrying.remove(i).1)
            };
            // Gone when the page was hidden meanwhile: it went with the unload send.
            if let Some(item) = item {
                self.enqueue(item);
            }
        });
        bindings::set_timeout(&fire, delay_ms as i32);
    }

    /// The page is being hidden or unloaded: `batches`, and every batch still waiting, go by
    /// `sendBeacon`, which the browser delivers after the page is gone; each is also stored
    /// offline until a later answer confirms it. Requests in flight are stored the same way:
    /// a plain fetch dies with the page.
    pub fn unload(&'static self, batches: Vec<Batch>) {
        let (pending, in_flight) = {
            let mut state = self.state.borrow_mut();
            let mut pending: Vec<Item> = core::mem::take(&mut state.waiting);
            pending.extend(
                core::mem::take(&mut state.retrying)
                    .into_iter()
                    .map(|(_, i)| i),
            );
            // Each once: `pagehide` often follows the hidden `visibilitychange`.
            let in_flight: Vec<Item> = state
                .in_flight
                .iter_mut()
                .filter(|f| !f.stored)
                .map(|f| {
                    f.stored = true;
                    Item {
                        batch: f.item.batch.clone(),
                        attempts: f.item.attempts,
                        saved_at: f.item.saved_at,
                    }
                })
                .collect();
            (pending, in_flight)
        };
        let fresh = batches.into_iter().map(|batch| Item {
            batch,
            attempts: 0,
            saved_at: None,
        });
        let mut stored: Vec<(Item, bool)> = in_flight.into_iter().map(|i| (i, true)).collect();
        let now = js_sys::Date::now();
        let mut beaconed = 0;
        for item in pending.into_iter().chain(fresh) {
            let sent = self.host.beacon(&self.url, &item.batch.body(now));
            if sent {
                beaconed += item.batch.events.len() as u32;
            }
            stored.push((item, sent));
        }
        self.state.borrow_mut().counts.beaconed += beaconed;
        self.store(stored);
    }

    /// Adds items to the offline store, `true` for those sent but unconfirmed.
    fn store(&self, items: Vec<(Item, bool)>) {
        if items.is_empty() {
            return;
        }
        let now = js_sys::Date::now();
        let mut outbox = self.load();
        let mut unconfirmed = false;
        for (item, sent) in items {
            unconfirmed |= sent;
            outbox.entries.push(outbox::Entry {
                saved_at: item.saved_at.unwrap_or(now),
                sent,
                batch: item.batch,
            });
        }
        self.save(outbox);
        self.state.borrow_mut().unconfirmed |= unconfirmed;
    }

    /// A 2xx answer to `delivered`, started at `started_at`, confirms it and what this page
    /// sent before it ([`Outbox::confirm`]).
    fn confirm(&self, started_at: f64, delivered: &Batch) {
        if !self.state.borrow().unconfirmed {
            return;
        }
        let mut outbox = self.load();
        let changed = outbox.confirm(started_at, delivered);
        self.state.borrow_mut().unconfirmed = outbox.entries.iter().any(|e| e.sent);
        if changed {
            self.save(outbox);
        }
    }

    fn load(&self) -> Outbox {
        let stored = self.host.load(outbox::STORAGE_KEY, false);
        Outbox::decode(&stored.unwrap_or_default(), js_sys::Date::now())
    }

    fn save(&self, mut outbox: Outbox) {
        let text = outbox.encode(outbox::MAX_BYTES);
        self.state.borrow_mut().counts.lost_batches += outbox.lost;
        self.host.save(outbox::STORAGE_KEY, &text, false);
    }
}
