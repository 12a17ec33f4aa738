//! Delivery: each notification becomes one request per receiver (per recipient for SMS), put in
//! a bounded queue that a few threads work through. A request that fails for a reason that may
//! pass (a 5xx, a 429, no answer, a transient SMTP error) is tried again after 1 s, 2 s, 4 s ...
//! up to `retry_max`, with jitter, until `max_attempts` or until a newer notification of the
//! same group to the same receiver replaces it; a 4xx other than 429 (or a permanent SMTP
//! error) is final. Nothing here ever makes the engine wait.
//!
//! A resolution is sent once (the dispatcher then drops the alert from its group), so a newer
//! notification that replaces one still being retried carries the resolved alerts the older one
//! had not delivered yet: otherwise the receiver would never hear that they ended.
//!
//! URLs, headers and passwords are secrets: logs name the receiver, never its address.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

use super::config::{
    BodyFormat, Common, EmailConfig, NotifyConfig, SlackConfig, SmsConfig, SmtpSecurity,
    WebhookConfig,
};
use super::counters::{Counters, Outcome};
use super::payload::{self, Notification};
use super::template;
use super::tls::Roots;
use crate::alerts::model::{Alert, AlertState, Labels, Matcher};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// The longest answer body read from a receiver (it is only read to free the connection).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// Who calls (as Alertmanager sends `Alertmanager/<version>`).
const USER_AGENT: &str = concat!("perfwatch-collector/", env!("CARGO_PKG_VERSION"));
/// How long `stop` waits for requests in flight.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why a delivery could not be prepared or did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver answered with a status that is not a success.
    #[error("the receiver answered HTTP {status}")]
    Status {
        status: u16,
        /// What a 429 or 503 said in `Retry-After` (seconds).
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, timeout, TLS failure (the URL is left out).
    #[error("no answer: {0}")]
    Transport(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {message}")]
    Smtp { message: String, permanent: bool },
    /// The request could not be built (a bad address, header or template result).
    #[error("cannot build the request: {0}")]
    Build(String),
}

impl DeliveryError {
    /// Whether trying again may help: 5xx, 429, no answer, a transient SMTP error.
    pub fn retryable(&self) -> bool {
        match self {
            DeliveryError::Status { status, .. } => *status == 429 || *status >= 500,
            DeliveryError::Transport(_) => true,
            DeliveryError::Smtp { permanent, .. } => !permanent,
            DeliveryError::Build(_) => false,
        }
    }
}

/// One receiver from the config, with its client.
pub struct Receiver {
    /// `webhook`, `slack`, `email` or `sms`.
    pub kind: &'static str,
    /// Its `name`.
    pub name: String,
    /// Its `send_resolved`.
    pub send_resolved: bool,
    /// Its `matchers`.
    pub matchers: Vec<Matcher>,
    target: Target,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Receiver({}/{})", self.kind, self.name)
    }
}

enum Target {
    Webhook(WebhookConfig, ureq::Agent),
    Slack(SlackConfig, ureq::Agent),
    Email(EmailConfig, SmtpTransport),
    Sms(SmsConfig, ureq::Agent),
}

/// One request to make.
#[derive(Debug)]
enum Request {
    Http(HttpRequest),
    Email(Box<Message>),
}

struct HttpRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HttpRequest({} <url>, {} bytes)",
            self.method,
            self.body.len()
        )
    }
}

fn agent(timeout: Duration, roots: &Roots) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(roots.for_http())
                    .build(),
            )
            .build(),
    )
}

fn mailer(
    cfg: &EmailConfig,
    timeout: Duration,
    roots: &Roots,
) -> Result<SmtpTransport, DeliveryError> {
    let build = |e: lettre::transport::smtp::Error| DeliveryError::Build(e.to_string());
    let builder = SmtpTransport::builder_dangerous(cfg.smarthost.as_str());
    let builder = match cfg.security {
        SmtpSecurity::None => builder.tls(Tls::None),
        SmtpSecurity::Starttls => builder.tls(Tls::Required(
            roots.for_smtp(&cfg.smarthost).map_err(build)?,
        )),
        SmtpSecurity::Tls => {
            builder.tls(Tls::Wrapper(roots.for_smtp(&cfg.smarthost).map_err(build)?))
        }
    };
    let mut builder = builder.port(cfg.port()).timeout(Some(timeout));
    if let Some(user) = &cfg.username {
        let password = cfg
            .password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    if let Some(hello) = &cfg.hello {
        builder = builder.hello_name(ClientId::Domain(hello.clone()));
    }
    Ok(builder.build())
}

impl Receiver {
    /// Every receiver of `config`, ready to send.
    pub fn build_all(config: &NotifyConfig) -> Result<Vec<Arc<Receiver>>, DeliveryError> {
        let roots = Roots::load(config.tls_roots);
        let mut all = Vec::new();
        let mut add = |kind: &'static str, common: Common<'_>, target: Target| {
            all.push(Arc::new(Receiver {
                kind,
                name: common.name.to_owned(),
                send_resolved: common.send_resolved,
                matchers: common.matchers.to_vec(),
                target,
            }));
        };
        for w in &config.webhook {
            add(
                "webhook",
                w.common(),
                Target::Webhook(w.clone(), agent(config.timeout, &roots)),
            );
        }
        for s in &config.slack {
            add(
                "slack",
                s.common(),
                Target::Slack(s.clone(), agent(config.timeout, &roots)),
            );
        }
        for e in &config.email {
            add(
                "email",
                e.common(),
                Target::Email(e.clone(), mailer(e, config.timeout, &roots)?),
            );
        }
        for s in &config.sms {
            add(
                "sms",
                s.common(),
                Target::Sms(s.clone(), agent(config.timeout, &roots)),
            );
        }
        Ok(all)
    }

    /// `kind/name`: the receiver's identity across reloads.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Whether `labels` are for this receiver (its matchers).
    pub fn wants(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// The requests that tell `n`, each with its recipient (`""` when there is one).
    fn requests(&self, n: &Notification) -> Result<Vec<(String, Request)>, DeliveryError> {
        let json = |value: serde_json::Value| serde_json::to_vec(&value).unwrap_or_default();
        let json_headers = |extra: &[(String, String)]| {
            let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
            headers.extend(extra.iter().cloned());
            headers
        };
        match &self.target {
            Target::Webhook(cfg, _) => {
                let extra: Vec<(String, String)> = cfg
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned()))
                    .collect();
                Ok(vec![(
                    String::new(),
                    Request::Http(HttpRequest {
                        method: "POST".into(),
                        url: cfg.url.expose().to_owned(),
                        headers: json_headers(&extra),
                        body: json(payload::webhook(n, cfg.max_alerts)),
                    }),
                )])
            }
            Target::Slack(cfg, _) => Ok(vec![(
                String::new(),
                Request::Http(HttpRequest {
                    method: "POST".into(),
                    url: cfg.url.expose().to_owned(),
                    headers: json_headers(&[]),
                    body: json(payload::slack(
                        n,
                        cfg.channel.as_deref(),
                        cfg.username.as_deref(),
                    )),
                }),
            )]),
            Target::Email(cfg, _) => {
                let (subject, body) = payload::email(n);
                let address = |text: &str| {
                    text.parse::<lettre::message::Mailbox>()
                        .map_err(|e| DeliveryError::Build(format!("address {text:?}: {e}")))
                };
                let mut builder = Message::builder()
                    .from(address(&cfg.from)?)
                    .subject(subject)
                    .message_id(None)
                    .header(ContentType::TEXT_PLAIN);
                for to in &cfg.to {
                    builder = builder.to(address(to)?);
                }
                let message = builder
                    .body(body)
                    .map_err(|e| DeliveryError::Build(e.to_string()))?;
                Ok(vec![(String::new(), Request::Email(Box::new(message)))])
            }
            Target::Sms(cfg, _) => Ok(cfg
                .to
                .iter()
                .map(|to| (to.clone(), Request::Http(sms_request(cfg, n, to))))
                .collect()),
        }
    }

    /// Makes `request` once.
    fn send(&self, request: &Request) -> Result<(), DeliveryError> {
        match (&self.target, request) {
            (
                Target::Webhook(_, agent) | Target::Slack(_, agent) | Target::Sms(_, agent),
                Request::Http(http),
            ) => send_http(agent, http),
            (Target::Email(_, mailer), Request::Email(message)) => match mailer.send(message) {
                Ok(_) => Ok(()),
                Err(e) => Err(DeliveryError::Smtp {
                    message: e.to_string(),
                    permanent: e.is_permanent(),
                }),
            },
            _ => Err(DeliveryError::Build(
                "request of another receiver kind".into(),
            )),
        }
    }
}

/// The SMS request for recipient `to`: templates filled, body form- or JSON-encoded.
fn sms_request(cfg: &SmsConfig, n: &Notification, to: &str) -> HttpRequest {
    let value = |name: &str| payload::sms_value(n, to, name);
    let fields: Vec<(String, String)> = cfg
        .body
        .iter()
        .map(|(k, v)| (k.clone(), template::render(v, &value)))
        .collect();
    let (content_type, body) = match cfg.body_format {
        BodyFormat::Form => (
            "application/x-www-form-urlencoded",
            fields
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes(),
        ),
        BodyFormat::Json => (
            "application/json",
            serde_json::to_vec(
                &fields
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect::<serde_json::Map<_, _>>(),
            )
            .unwrap_or_default(),
        ),
    };
    let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
    if let Some(user) = &cfg.basic_auth_user {
        let password = cfg.basic_auth_password.as_ref().map_or("", |p| p.expose());
        headers.push((
            "Authorization".to_owned(),
            format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
        ));
    }
    for (name, v) in &cfg.headers {
        headers.push((name.clone(), template::render(v.expose(), &value)));
    }
    HttpRequest {
        method: cfg.method.to_ascii_uppercase(),
        url: template::render(cfg.url.expose(), &|name| {
            form_encode(&payload::sms_value(n, to, name))
        }),
        headers,
        body,
    }
}

/// `application/x-www-form-urlencoded` (WHATWG): alphanumerics and `*-._` kept, space as `+`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn send_http(agent: &ureq::Agent, r: &HttpRequest) -> Result<(), DeliveryError> {
    let mut builder = ureq::http::Request::builder()
        .method(r.method.as_str())
        .uri(r.url.as_str());
    if !r
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
    {
        builder = builder.header("User-Agent", USER_AGENT);
    }
    for (name, value) in &r.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    // The error of a bad URL or header would quote it: say what, not which.
    let request = builder
        .body(r.body.clone())
        .map_err(|_| DeliveryError::Build("the URL or a header is not valid".into()))?;
    match agent.run(request) {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut sink = Vec::new();
            let _ = answer
                .body_mut()
                .as_reader()
                .take(MAX_ANSWER_BYTES)
                .read_to_end(&mut sink);
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(DeliveryError::Status {
                    status,
                    retry_after,
                })
            }
        }
        Err(e) => Err(DeliveryError::Transport(
            e.to_string().replace(r.url.as_str(), "<url>"),
        )),
    }
}

/// Retry settings, taken from the config at start and at every reload.
#[derive(Debug, Clone, Copy)]
struct Retry {
    max_attempts: u32,
    initial: Duration,
    max: Duration,
    capacity: usize,
}

impl Retry {
    fn from(config: &NotifyConfig) -> Self {
        Retry {
            max_attempts: config.max_attempts,
            initial: config.retry_initial,
            max: config.retry_max,
            capacity: config.max_queued_deliveries,
        }
    }

    /// The wait after `failures` failed attempts: doubling from `initial` up to `max`, then
    /// between half and all of that ("equal jitter"), so that many senders do not retry in step.
    fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
            .min(self.max);
        let half = doubled / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1), different every call (std's per-instance random hash keys).
fn jitter() -> f64 {
    let bits = RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

struct Job {
    receiver: Arc<Receiver>,
    request: Request,
    /// Group key, receiver and recipient: a newer job with the same key replaces this one.
    key: String,
    seq: u64,
    failures: u32,
    due: Instant,
}

/// At most this many resolved alerts are carried from replaced notifications into a newer one
/// (per group, receiver and recipient); more are left out and counted as truncated.
const MAX_CARRIED_RESOLUTIONS: usize = 1000;

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    latest: HashMap<String, u64>,
    /// By job key: the resolved alerts its latest job tells, until that job is delivered or
    /// given up. A newer job for the key carries those it does not mention itself.
    resolutions: HashMap<String, Vec<Alert>>,
    next_seq: u64,
    busy: usize,
    stopping: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    idle: Condvar,
    retry: Mutex<Retry>,
    counters: Arc<Counters>,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves the queue as consistent as between two
        // statements; keep delivering rather than stop notifying.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn retry(&self) -> Retry {
        *self.retry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `job` in the queue, dropping the oldest job when it is full.
    fn push(&self, queue: &mut Queue, job: Job) {
        let capacity = self.retry().capacity;
        while queue.jobs.len() >= capacity {
            let Some(oldest) = queue
                .jobs
                .iter()
                .enumerate()
                .min_by_key(|(_, j)| j.seq)
                .map(|(i, _)| i)
            else {
                break;
            };
            let dropped = queue.jobs.swap_remove(oldest);
            forget(queue, &dropped);
            self.counters
                .dropped_deliveries
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                receiver = %dropped.receiver.id(),
                "notification dropped: the delivery queue is full"
            );
        }
        queue.jobs.push(job);
        self.wake.notify_one();
    }
}

/// Forgets that `job` is the latest of its key, if it is.
fn forget(queue: &mut Queue, job: &Job) {
    if queue.latest.get(&job.key) == Some(&job.seq) {
        queue.latest.remove(&job.key);
        queue.resolutions.remove(&job.key);
    }
}

/// The resolved alerts of `n`.
fn resolutions(n: &Notification) -> Vec<Alert> {
    n.alerts
        .iter()
        .filter(|a| a.state == AlertState::Resolved)
        .cloned()
        .collect()
}

/// `n` with the resolutions in `undelivered` it does not mention (by fingerprint) added after
/// its own alerts, at most [`MAX_CARRIED_RESOLUTIONS`]; `None` when it mentions them all.
fn with_undelivered(n: &Notification, undelivered: &[Alert]) -> Option<Notification> {
    let missing: Vec<&Alert> = undelivered
        .iter()
        .filter(|old| !n.alerts.iter().any(|a| a.fingerprint == old.fingerprint))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut carried = n.clone();
    let kept = missing.len().min(MAX_CARRIED_RESOLUTIONS);
    carried.truncated += missing.len() - kept;
    carried
        .alerts
        .extend(missing.into_iter().take(kept).cloned());
    Some(carried)
}

/// The delivery threads and their queue.
pub struct Delivery {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Delivery {
    /// Starts `config.delivery_threads` threads.
    pub fn start(config: &NotifyConfig, counters: Arc<Counters>) -> std::io::Result<Delivery> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            idle: Condvar::new(),
            retry: Mutex::new(Retry::from(config)),
            counters,
        });
        let mut workers = Vec::new();
        for i in 0..config.delivery_threads.max(1) {
            let shared = Arc::clone(&shared);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("perfwatch-deliver-{i}"))
                    .spawn(move || work(&shared))?,
            );
        }
        Ok(Delivery { shared, workers })
    }

    /// Takes the retry settings of `config` from now on.
    pub fn reload(&self, config: &NotifyConfig) {
        *self.shared.retry.lock().unwrap_or_else(|p| p.into_inner()) = Retry::from(config);
    }

    /// Queues the requests that tell `n` to `receiver`; they replace any still waiting for the
    /// same group, receiver and recipient.
    pub fn enqueue(&self, receiver: &Arc<Receiver>, n: &Notification) {
        let requests = match receiver.requests(n) {
            Ok(requests) => requests,
            Err(e) => {
                tracing::error!(receiver = %receiver.id(), error = %e, "notification not sent");
                self.shared
                    .counters
                    .count(receiver.kind, &receiver.name, Outcome::GivenUp);
                return;
            }
        };
        let now = Instant::now();
        let mut queue = self.shared.queue();
        for (recipient, mut request) in requests {
            queue.next_seq += 1;
            let seq = queue.next_seq;
            let key = format!("{}\u{0}{}\u{0}{recipient}", n.group_key, receiver.id());
            queue.latest.insert(key.clone(), seq);
            let carried = queue
                .resolutions
                .get(&key)
                .and_then(|undelivered| with_undelivered(n, undelivered));
            let told = match carried {
                Some(carried) => {
                    let rendered = receiver.requests(&carried).ok().and_then(|all| {
                        all.into_iter()
                            .find(|(r, _)| *r == recipient)
                            .map(|(_, request)| request)
                    });
                    if let Some(rendered) = rendered {
                        request = rendered;
                    }
                    resolutions(&carried)
                }
                None => resolutions(n),
            };
            if told.is_empty() {
                queue.resolutions.remove(&key);
            } else {
                queue.resolutions.insert(key.clone(), told);
            }
            let job = Job {
                receiver: Arc::clone(receiver),
                request,
                key,
                seq,
                failures: 0,
                due: now,
            };
            self.shared.push(&mut queue, job);
        }
    }

    /// Stops the threads: waiting deliveries are dropped, those in flight get a moment.
    pub fn stop(self) {
        let mut queue = self.shared.queue();
        queue.stopping = true;
        queue.jobs.clear();
        self.shared.wake.notify_all();
        let deadline = Instant::now() + STOP_GRACE;
        while queue.busy > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!("notifier stopped with deliveries still in flight");
                return;
            }
            queue = match self.shared.idle.wait_timeout(queue, left) {
                Ok((q, _)) => q,
                Err(p) => p.into_inner().0,
            };
        }
        drop(queue);
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// One delivery thread: takes the job due first, tries it, and puts it back for a retry.
fn work(shared: &Shared) {
    let mut queue = shared.queue();
    loop {
        if queue.stopping {
            return;
        }
        let now = Instant::now();
        let next = queue
            .jobs
            .iter()
            .enumerate()
            .min_by_key(|(_, j)| (j.due, j.seq))
            .map(|(i, j)| (i, j.due));
        let Some((index, due)) = next else {
            queue = shared.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        if due > now {
            queue = match shared.wake.wait_timeout(queue, due - now) {
                Ok((q, _)) => q,
                Err(p) => p.into_inner().0,
            };
            continue;
        }
        let mut job = queue.jobs.swap_remove(index);
        if queue.latest.get(&job.key) != Some(&job.seq) {
            shared.counters.superseded.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(receiver = %job.receiver.id(), "retry replaced by a newer notification");
            continue;
        }
        queue.busy += 1;
        drop(queue);

        let result = job.receiver.send(&job.request);

        queue = shared.queue();
        queue.busy -= 1;
        if queue.busy == 0 {
            shared.idle.notify_all();
        }
        let (kind, name) = (job.receiver.kind, job.receiver.name.clone());
        match result {
            Ok(()) => {
                forget(&mut queue, &job);
                shared.counters.count(kind, &name, Outcome::Delivered);
                tracing::debug!(receiver = %job.receiver.id(), "notification delivered");
            }
            Err(e) => {
                job.failures += 1;
                let retry = shared.retry();
                if !e.retryable() || job.failures >= retry.max_attempts || queue.stopping {
                    forget(&mut queue, &job);
                    shared.counters.count(kind, &name, Outcome::GivenUp);
                    tracing::warn!(
                        receiver = %job.receiver.id(),
                        attempts = job.failures,
                        error = %e,
                        "notification given up"
                    );
                } else {
                    shared.counters.count(kind, &name, Outcome::Failed);
                    let mut wait = retry.backoff(job.failures);
                    if let DeliveryError::Status {
                        retry_after: Some(asked),
                        ..
                    } = &e
                    {
                        wait = wait.max((*asked).min(retry.max));
                    }
                    tracing::info!(
                        receiver = %job.receiver.id(),
                        attempt = job.failures,
                        error = %e,
                        retry_in_ms = wait.as_millis() as u64,
                        "notification failed, will retry"
                    );
                    job.due = Instant::now() + wait;
                    shared.push(&mut queue, job);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(form_encode("+1 555/ü"), "%2B1+555%2F%C3%BC");
    }

    fn alert(fingerprint: &str, state: AlertState) -> Alert {
        Alert {
            labels: Labels::new(),
            annotations: Labels::new(),
            state,
            value: None,
            active_at_ms: 0,
            starts_at_ms: None,
            ends_at_ms: None,
            fingerprint: fingerprint.to_owned(),
        }
    }

    #[test]
    fn a_newer_notification_carries_the_undelivered_resolutions_it_does_not_mention() {
        let n = Notification {
            receiver: "ops".into(),
            group_key: "{}:{}".into(),
            group_labels: Labels::new(),
            alerts: vec![alert("a", AlertState::Firing)],
            truncated: 0,
            external_url: String::new(),
        };
        // "a" resolved, then fired again: the newer state stands, nothing is carried.
        assert_eq!(
            with_undelivered(&n, &[alert("a", AlertState::Resolved)]),
            None
        );
        let undelivered: Vec<Alert> = (0..MAX_CARRIED_RESOLUTIONS + 5)
            .map(|i| alert(&format!("r{i}"), AlertState::Resolved))
            .chain([alert("a", AlertState::Resolved)])
            .collect();
        let carried = with_undelivered(&n, &undelivered).expect("carried");
        assert_eq!(carried.alerts.len(), 1 + MAX_CARRIED_RESOLUTIONS);
        assert_eq!(carried.alerts[0], n.alerts[0], "its own alerts first");
        assert_eq!(carried.truncated, 5, "the rest counted as left out");
        assert_eq!(resolutions(&carried).len(), MAX_CARRIED_RESOLUTIONS);
    }

    #[test]
    fn every_kind_of_receiver_builds_with_either_roots() {
        for roots in ["system", "webpki"] {
            let config: NotifyConfig = toml::from_str(&format!(
                r#"
                tls_roots = "{roots}"
                [[email]]
                name = "tls"
                smarthost = "smtp.example.com"
                security = "tls"
                from = "a@example.com"
                to = ["b@example.com"]
                [[email]]
                name = "starttls"
                smarthost = "smtp.example.com"
                from = "a@example.com"
                to = ["b@example.com"]
                username = "a"
                password = "p"
                [[slack]]
                name = "s"
                url = "https://hooks.slack.com/services/T/B/X"
                "#
            ))
            .expect("parses");
            config.check().expect("valid");
            let receivers = Receiver::build_all(&config).expect("builds");
            assert_eq!(receivers.len(), 3);
            assert_eq!(config.email[0].port(), 465);
            assert_eq!(config.email[1].port(), 587);
        }
    }

    /// HTTPS through the system's roots to a real server (crates.io is the one reachable
    /// here): the TLS stack builds and verifies. Run with `--ignored` where there is network.
    #[test]
    #[ignore = "needs network"]
    fn https_reaches_a_real_server() {
        let roots = Roots::load(super::super::config::TlsRoots::System);
        let request = HttpRequest {
            method: "GET".into(),
            url: "https://index.crates.io/config.json".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        send_http(&agent(Duration::from_secs(20), &roots), &request).expect("HTTPS works");
    }

    #[test]
    fn what_is_retried() {
        let status = |status| DeliveryError::Status {
            status,
            retry_after: None,
        };
        assert!(status(500).retryable());
        assert!(status(503).retryable());
        assert!(status(429).retryable());
        assert!(!status(400).retryable());
        assert!(!status(404).retryable());
        assert!(DeliveryError::Transport("timeout".into()).retryable());
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        let retry = Retry {
            max_attempts: 10,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            capacity: 1,
        };
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (30, 60)] {
            let wait = retry.backoff(failures);
            let full = Duration::from_secs(full);
            assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?}");
        }
    }
}
