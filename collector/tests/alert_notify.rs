//! The notifier against real receivers on 127.0.0.1: an HTTP server that records every request
//! (and can be told to answer 500 or 400 first, or to never answer) and an SMTP server speaking
//! just enough SMTP, plain, with STARTTLS or over TLS (rustls, a self-signed certificate the
//! notifier is told to trust through `SSL_CERT_FILE`, or one it is not). Timers are short (group_wait 200 ms, group_interval 500 ms); the tests wait
//! for what must arrive with generous deadlines and never assert on how fast it did.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use perfwatch_collector::alerts::model::{
    fingerprint, Alert, AlertState, Labels, Matcher, Silence,
};
use perfwatch_collector::alerts::notify::{Notifier, NotifyConfig, NotifyCounters};
use perfwatch_collector::tls::TlsSettings;

#[path = "common/certs.rs"]
mod certs;

/// How long anything may take to arrive before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn alert(name: &str, severity: &str, host: &str) -> Alert {
    let labels: Labels = [("alertname", name), ("severity", severity), ("host", host)]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    Alert {
        fingerprint: fingerprint(&labels),
        annotations: Labels::from([
            ("summary".to_owned(), format!("{name} on {host}")),
            ("description".to_owned(), "value above threshold".to_owned()),
        ]),
        labels,
        state: AlertState::Firing,
        value: Some(97.5),
        active_at_ms: now_ms() - 60_000,
        starts_at_ms: Some(now_ms()),
        ends_at_ms: None,
    }
}

fn resolved(mut a: Alert) -> Alert {
    a.state = AlertState::Resolved;
    a.ends_at_ms = Some(now_ms());
    a
}

/// A TOML notifier config with short timers (`extra` lines replace them) and `receivers`.
fn config(extra: &str, receivers: &str) -> NotifyConfig {
    let base = [
        "group_wait = \"200ms\"",
        "group_interval = \"500ms\"",
        "repeat_interval = \"1h\"",
        "retry_initial = \"50ms\"",
        "retry_max = \"200ms\"",
        "timeout = \"5s\"",
        "external_url = \"http://perfwatch.test:8001\"",
    ];
    let overridden = |line: &str| {
        let key = line.split('=').next().unwrap_or_default().trim();
        extra
            .lines()
            .any(|l| l.split('=').next().unwrap_or_default().trim() == key)
    };
    let mut text: String = base
        .iter()
        .filter(|line| !overridden(line))
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(extra);
    text.push('\n');
    text.push_str(receivers);
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn webhook(url: &str) -> String {
    format!("[[webhook]]\nname = \"ops\"\nurl = \"{url}/hook\"\n")
}

// ---- a recording HTTP receiver ------------------------------------------------------------

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    answered: u16,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

struct HttpReceiver {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Requests still to answer with the failing status given to `failing`.
    fail_first: Arc<AtomicUsize>,
    /// Never answer (hold the connection open).
    hang: Arc<AtomicBool>,
}

impl HttpReceiver {
    fn start() -> Self {
        Self::failing(0, 500)
    }

    fn failing(n: usize, status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let receiver = HttpReceiver {
            url,
            requests: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(n)),
            hang: Arc::default(),
        };
        let (requests, fail_first, hang) = (
            Arc::clone(&receiver.requests),
            Arc::clone(&receiver.fail_first),
            Arc::clone(&receiver.hang),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (requests, fail_first, hang) = (
                    Arc::clone(&requests),
                    Arc::clone(&fail_first),
                    Arc::clone(&hang),
                );
                std::thread::spawn(move || {
                    let _ = serve(stream, &requests, &fail_first, status, &hang);
                });
            }
        });
        receiver
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }

    /// Waits until `done` holds for the requests so far; panics after [`DEADLINE`].
    fn wait_for(&self, what: &str, done: impl Fn(&[Request]) -> bool) -> Vec<Request> {
        let start = Instant::now();
        loop {
            let requests = self.requests();
            if done(&requests) {
                return requests;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; got {:#?}",
                requests
                    .iter()
                    .map(|r| (r.answered, r.json()))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Request>>,
    fail_first: &AtomicUsize,
    fail_status: u16,
    hang: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.trim_end().split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if hang.load(Ordering::SeqCst) {
        requests.lock().expect("lock").push(Request {
            method,
            path,
            headers,
            body,
            answered: 0,
        });
        std::thread::sleep(Duration::from_secs(120));
        return Ok(());
    }
    let fail = fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if fail { fail_status } else { 200 };
    requests.lock().expect("lock").push(Request {
        method,
        path,
        headers,
        body,
        answered: status,
    });
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    )?;
    stream.flush()
}

fn webhook_counts(c: &NotifyCounters) -> (u64, u64, u64) {
    let (_, d, f, g) = c.by_receiver[0];
    (d, f, g)
}

fn wait_counters(notifier: &Notifier, what: &str, done: impl Fn(&NotifyCounters) -> bool) {
    let start = Instant::now();
    loop {
        let c = notifier.counters();
        if done(&c) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "waited for {what}: {c:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gives the notifier a few group intervals to send what it should not.
fn settle() {
    std::thread::sleep(Duration::from_millis(1500));
}

fn alertnames(body: &serde_json::Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    format!(
                        "{}/{}/{}",
                        a["labels"]["alertname"].as_str().unwrap_or_default(),
                        a["labels"]["severity"].as_str().unwrap_or_default(),
                        a["labels"]["host"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

// ---- the tests ----------------------------------------------------------------------------

#[test]
fn webhook_payload_is_alertmanagers_v4_and_alerts_are_grouped_by_alertname() {
    let server = HttpReceiver::start();
    let notifier = Notifier::start(config("", &webhook(&server.url))).expect("start");
    let cpu_a = alert("HighCpu", "critical", "web-1");
    let cpu_b = alert("HighCpu", "critical", "web-2");
    let mem = alert("HighMemory", "warning", "web-1");
    notifier.observe(&[cpu_a.clone(), cpu_b.clone(), mem.clone()], &[], now_ms());

    let requests = server.wait_for("two notifications", |r| r.len() >= 2);
    settle();
    assert_eq!(server.requests().len(), 2, "one notification per group");
    let cpu = requests
        .iter()
        .find(|r| r.json()["groupLabels"]["alertname"] == "HighCpu")
        .expect("the HighCpu group");
    let mem_request = requests
        .iter()
        .find(|r| r.json()["groupLabels"]["alertname"] == "HighMemory")
        .expect("the HighMemory group");
    assert_eq!(
        alertnames(&mem_request.json()),
        ["HighMemory/warning/web-1"]
    );

    assert_eq!(cpu.method, "POST");
    assert_eq!(cpu.path, "/hook");
    assert_eq!(cpu.header("content-type"), Some("application/json"));
    assert!(cpu
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("perfwatch-collector/")));
    let body = cpu.json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["groupKey"], "{}:{alertname=\"HighCpu\"}");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "ops");
    assert_eq!(
        body["groupLabels"],
        serde_json::json!({"alertname": "HighCpu"})
    );
    assert_eq!(
        body["commonLabels"],
        serde_json::json!({"alertname": "HighCpu", "severity": "critical"})
    );
    assert_eq!(
        body["commonAnnotations"],
        serde_json::json!({"description": "value above threshold"})
    );
    assert_eq!(body["externalURL"], "http://perfwatch.test:8001");
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 2, "both HighCpu alerts in one notification");
    for (sent, original) in alerts.iter().zip([&cpu_a, &cpu_b]) {
        assert_eq!(sent["status"], "firing");
        assert_eq!(sent["labels"]["host"], original.labels["host"].as_str());
        assert_eq!(
            sent["annotations"]["summary"],
            original.annotations["summary"].as_str()
        );
        assert_eq!(sent["fingerprint"], fingerprint(&original.labels).as_str());
        let starts = humantime::parse_rfc3339(sent["startsAt"].as_str().unwrap_or_default())
            .expect("startsAt is RFC 3339");
        let starts_ms = starts
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        assert_eq!(Some(starts_ms), original.starts_at_ms);
        assert_eq!(sent["endsAt"], "0001-01-01T00:00:00Z");
        assert_eq!(
            sent["generatorURL"],
            "http://perfwatch.test:8001/api/v1/monitoring/alerts"
        );
    }
    wait_counters(&notifier, "two delivered", |c| {
        webhook_counts(c) == (2, 0, 0)
    });
    notifier.stop();
}

#[test]
fn slack_message_arrives_with_colour_and_summary() {
    let server = HttpReceiver::start();
    let receivers = format!(
        "[[slack]]\nname = \"chat\"\nurl = \"{}/services/T0/B0/secret\"\nchannel = \"#ops\"\n",
        server.url
    );
    let notifier = Notifier::start(config("", &receivers)).expect("start");
    notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
    let requests = server.wait_for("a Slack message", |r| !r.is_empty());
    let body = requests[0].json();
    assert_eq!(requests[0].path, "/services/T0/B0/secret");
    assert_eq!(body["channel"], "#ops");
    let text = body["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("[FIRING:1] HighCpu"), "{text}");
    assert_eq!(body["attachments"][0]["color"], "danger");
    assert_eq!(body["attachments"][0]["text"], "HighCpu on web-1");
    wait_counters(&notifier, "slack delivered", |c| c.by_receiver[1].1 == 1);
    notifier.stop();
}

#[test]
fn an_unchanged_group_repeats_and_a_resolution_is_sent_once() {
    let server = HttpReceiver::start();
    let notifier =
        Notifier::start(config("repeat_interval = \"1s\"", &webhook(&server.url))).expect("start");
    let cpu = alert("HighCpu", "critical", "web-1");
    notifier.observe(std::slice::from_ref(&cpu), &[], now_ms());
    let requests = server.wait_for("the first notification and a repeat", |r| r.len() >= 2);
    for r in &requests[..2] {
        assert_eq!(r.json()["status"], "firing");
        assert_eq!(alertnames(&r.json()), ["HighCpu/critical/web-1"]);
    }

    notifier.observe(&[resolved(cpu.clone())], &[], now_ms());
    let requests = server.wait_for("the resolution", |r| {
        r.iter().any(|r| r.json()["status"] == "resolved")
    });
    let resolution = requests
        .iter()
        .find(|r| r.json()["status"] == "resolved")
        .map(Request::json)
        .unwrap_or_default();
    assert_eq!(resolution["alerts"][0]["status"], "resolved");
    let ends = resolution["alerts"][0]["endsAt"]
        .as_str()
        .unwrap_or_default();
    assert!(humantime::parse_rfc3339(ends).is_ok(), "endsAt {ends}");
    // Past several group intervals and the repeat interval: nothing more about it.
    notifier.observe(&[], &[], now_ms());
    settle();
    let after: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .map(Request::json)
        .skip_while(|b| b["status"] != "resolved")
        .collect();
    assert_eq!(after.len(), 1, "resolved once, then dropped: {after:#?}");
    wait_counters(&notifier, "the group removed", |c| c.groups == 0);
    notifier.stop();
}

#[test]
fn a_firing_critical_inhibits_the_warning_of_the_same_labels() {
    let server = HttpReceiver::start();
    let notifier = Notifier::start(config(
        "group_by = [\"alertname\", \"severity\"]",
        &webhook(&server.url),
    ))
    .expect("start");
    let alerts = [
        alert("HighCpu", "critical", "web-1"),
        alert("HighCpu", "warning", "web-1"),
        alert("HighCpu", "warning", "web-2"),
    ];
    notifier.observe(&alerts, &[], now_ms());
    server.wait_for("critical and the other warning", |r| r.len() >= 2);
    settle();
    let mut sent: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| alertnames(&r.json()))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        ["HighCpu/critical/web-1", "HighCpu/warning/web-2"],
        "the warning on web-1 is inhibited"
    );

    // A group whose every alert is inhibited sends nothing.
    let server = HttpReceiver::start();
    let notifier2 = Notifier::start(config(
        "group_by = [\"alertname\", \"severity\"]",
        &webhook(&server.url),
    ))
    .expect("start");
    notifier2.observe(&alerts[..2], &[], now_ms());
    server.wait_for("the critical", |r| !r.is_empty());
    settle();
    let sent: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| alertnames(&r.json()))
        .collect();
    assert_eq!(sent, ["HighCpu/critical/web-1"]);
    notifier.stop();
    notifier2.stop();
}

fn silence(id: &str, host: &str, starts_at_ms: i64, ends_at_ms: i64) -> Silence {
    Silence {
        id: id.into(),
        matchers: vec![Matcher {
            name: "host".into(),
            value: host.into(),
            is_regex: false,
            is_equal: true,
        }],
        starts_at_ms,
        ends_at_ms,
        created_by: "test".into(),
        comment: "maintenance".into(),
        created_at_ms: starts_at_ms,
    }
}

#[test]
fn an_active_silence_mutes_and_an_expired_one_does_not() {
    let server = HttpReceiver::start();
    let notifier = Notifier::start(config("", &webhook(&server.url))).expect("start");
    let now = now_ms();
    let silences = [
        silence("active", "web-1", now - 60_000, now + 3_600_000),
        silence("expired", "web-2", now - 120_000, now - 60_000),
    ];
    let alerts = [
        alert("HighCpu", "critical", "web-1"),
        alert("HighCpu", "critical", "web-2"),
        // Its own group, all of it silenced: nothing is sent for it.
        alert("HighMemory", "warning", "web-1"),
    ];
    notifier.observe(&alerts, &silences, now);
    server.wait_for("the unsilenced alert", |r| !r.is_empty());
    settle();
    let sent: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| alertnames(&r.json()))
        .collect();
    assert_eq!(sent, ["HighCpu/critical/web-2"]);
    notifier.stop();
}

#[test]
fn a_receiver_answering_500_is_retried_until_it_takes_the_notification() {
    let server = HttpReceiver::failing(2, 500);
    let notifier = Notifier::start(config("", &webhook(&server.url))).expect("start");
    notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
    let requests = server.wait_for("a request answered 200", |r| {
        r.iter().any(|r| r.answered == 200)
    });
    assert_eq!(
        requests.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    assert_eq!(requests[0].body, requests[2].body, "the same notification");
    wait_counters(&notifier, "delivered after two failures", |c| {
        webhook_counts(c) == (1, 2, 0)
    });
    let c = notifier.counters();
    assert_eq!(c.by_name[0].name, "ops");
    assert_eq!(c.by_name[0].failed_attempts, 2);
    notifier.stop();
}

#[test]
fn a_resolution_still_being_retried_travels_with_the_notification_that_replaces_it() {
    let server = HttpReceiver::start();
    let notifier =
        Notifier::start(config("max_attempts = 100", &webhook(&server.url))).expect("start");
    let (web1, web2) = (
        alert("HighCpu", "critical", "web-1"),
        alert("HighCpu", "critical", "web-2"),
    );
    notifier.observe(&[web1.clone(), web2.clone()], &[], now_ms());
    server.wait_for("both firing, delivered", |r| r.len() == 1);

    // The receiver fails while web-2's resolution is being told.
    server.fail_first.store(usize::MAX, Ordering::SeqCst);
    notifier.observe(&[web1.clone(), resolved(web2)], &[], now_ms());
    server.wait_for("the resolution, answered 500", |r| {
        r.iter()
            .any(|r| r.answered == 500 && r.json()["alerts"][1]["status"] == "resolved")
    });
    // web-3 joins the group: a newer notification replaces the one being retried. Once it has
    // been tried, the older one is never tried again.
    let web3 = alert("HighCpu", "critical", "web-3");
    notifier.observe(&[web1, web3], &[], now_ms());
    server.wait_for("the newer notification, answered 500", |r| {
        r.iter().any(|r| {
            r.answered == 500
                && alertnames(&r.json()).contains(&"HighCpu/critical/web-3".to_owned())
        })
    });
    server.fail_first.store(0, Ordering::SeqCst);
    // (Were the replaced one in flight meanwhile and delivered, the newer one would carry
    // web-2's resolution all the same: it is the newer one that must.)
    let has_web3 = |r: &Request| {
        r.answered == 200 && alertnames(&r.json()).contains(&"HighCpu/critical/web-3".to_owned())
    };
    let requests = server.wait_for("the newer notification delivered", |r| {
        r.iter().any(has_web3)
    });
    let delivered = requests
        .iter()
        .find(|r| has_web3(r))
        .map(Request::json)
        .unwrap_or_default();
    let states: Vec<(String, String)> = alertnames(&delivered)
        .into_iter()
        .zip(delivered["alerts"].as_array().into_iter().flatten())
        .map(|(name, a)| (name, a["status"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(
        states,
        [
            ("HighCpu/critical/web-1".to_owned(), "firing".to_owned()),
            ("HighCpu/critical/web-3".to_owned(), "firing".to_owned()),
            ("HighCpu/critical/web-2".to_owned(), "resolved".to_owned()),
        ],
        "web-2's resolution reaches the receiver"
    );
    assert_eq!(delivered["status"], "firing");
    notifier.stop();
}

#[test]
fn a_receiver_answering_400_is_not_retried() {
    let server = HttpReceiver::failing(usize::MAX, 400);
    let notifier = Notifier::start(config("", &webhook(&server.url))).expect("start");
    notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
    wait_counters(&notifier, "given up", |c| webhook_counts(c) == (0, 1, 1));
    settle();
    assert_eq!(server.requests().len(), 1, "a 400 is final");
    assert_eq!(webhook_counts(&notifier.counters()), (0, 1, 1));
    notifier.stop();
}

#[test]
fn observe_never_blocks_even_when_the_receiver_hangs() {
    let server = HttpReceiver::start();
    server.hang.store(true, Ordering::SeqCst);
    let notifier = Arc::new(
        Notifier::start(config(
            "timeout = \"60s\"\ndelivery_threads = 1\nhandover_capacity = 2\nmax_queued_deliveries = 4\ngroup_by = [\"...\"]",
            &webhook(&server.url),
        ))
        .expect("start"),
    );
    notifier.observe(&[alert("HighCpu", "critical", "web-0")], &[], now_ms());
    server.wait_for("the request that hangs", |r| !r.is_empty());

    // The only delivery thread is stuck; the engine keeps evaluating.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let n = Arc::clone(&notifier);
    std::thread::spawn(move || {
        for i in 0..2000 {
            let alerts: Vec<Alert> = (0..20)
                .map(|j| alert("HighCpu", "critical", &format!("web-{}", (i + j) % 50)))
                .collect();
            n.observe(&alerts, &[], now_ms());
        }
        // Let go of the notifier before saying so: the test then takes it back to stop it.
        drop(n);
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(DEADLINE)
        .expect("2000 observe calls return while delivery hangs");
    wait_counters(&notifier, "deliveries dropped for the full queue", |c| {
        c.dropped_deliveries > 0
    });
    let notifier = Arc::try_unwrap(notifier).expect("one owner");
    // Stops (giving the hung request a moment, not waiting for it).
    notifier.stop();
}

// ---- a minimal SMTP server ----------------------------------------------------------------

/// How a test SMTP server speaks: plain, offering STARTTLS, or TLS from the first byte.
#[derive(Clone, Copy, PartialEq)]
enum Smtp {
    Plain,
    StartTls,
    Tls,
}

/// A message the test SMTP server took, and whether it came over TLS.
#[derive(Clone)]
struct Mail {
    text: String,
    tls: bool,
}

/// An SMTP server on 127.0.0.1 speaking just enough SMTP (with `tls`' certificate for
/// [`Smtp::StartTls`] and [`Smtp::Tls`]); its port and the messages it took.
fn smtp_server(mode: Smtp, tls: Option<Arc<rustls::ServerConfig>>) -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let messages: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let store = Arc::clone(&messages);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (store, tls) = (Arc::clone(&store), tls.clone());
            std::thread::spawn(move || {
                let _ = smtp_session(stream, mode, tls, &store);
            });
        }
    });
    (port, messages)
}

fn smtp_session(
    stream: TcpStream,
    mode: Smtp,
    tls: Option<Arc<rustls::ServerConfig>>,
    messages: &Mutex<Vec<Mail>>,
) -> std::io::Result<()> {
    let wrap = |stream: TcpStream| -> std::io::Result<_> {
        let config = tls.clone().expect("a TLS mode has a certificate");
        let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        Ok(rustls::StreamOwned::new(connection, stream))
    };
    match mode {
        Smtp::Plain => converse(stream, false, false, true, messages).map(drop),
        Smtp::Tls => converse(wrap(stream)?, true, false, true, messages).map(drop),
        Smtp::StartTls => match converse(stream, false, true, true, messages)? {
            // The client said STARTTLS: the rest of the dialogue over TLS, from the client's
            // second EHLO.
            Some(plain) => converse(wrap(plain)?, true, false, false, messages).map(drop),
            None => Ok(()),
        },
    }
}

/// One SMTP dialogue, from the server's greeting when `greet`; returns the stream when the
/// client asked for STARTTLS (offered when `offer_starttls`), `None` when the dialogue ended.
/// `tls`: whether the stream is encrypted, as the messages taken are marked.
fn converse<S: Read + Write>(
    stream: S,
    tls: bool,
    offer_starttls: bool,
    greet: bool,
    messages: &Mutex<Vec<Mail>>,
) -> std::io::Result<Option<S>> {
    let mut reader = BufReader::new(stream);
    if greet {
        reader.get_mut().write_all(b"220 localhost test SMTP\r\n")?;
        reader.get_mut().flush()?;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let out = reader.get_mut();
        match verb.as_str() {
            "EHLO" if offer_starttls => {
                out.write_all(b"250-localhost\r\n250-STARTTLS\r\n250 8BITMIME\r\n")?;
            }
            "EHLO" => out.write_all(b"250-localhost\r\n250 8BITMIME\r\n")?,
            "STAR" if offer_starttls => {
                out.write_all(b"220 go ahead\r\n")?;
                out.flush()?;
                return Ok(Some(reader.into_inner()));
            }
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => out.write_all(b"250 OK\r\n")?,
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                out.flush()?;
                let mut text = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line == ".\r\n" {
                        break;
                    }
                    text.push_str(&line);
                }
                messages.lock().expect("lock").push(Mail { text, tls });
                reader.get_mut().write_all(b"250 queued\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                out.flush()?;
                return Ok(None);
            }
            _ => out.write_all(b"502 not here\r\n")?,
        }
        reader.get_mut().flush()?;
    }
}

/// The first message `messages` takes; panics after [`DEADLINE`].
fn first_mail(messages: &Mutex<Vec<Mail>>) -> Mail {
    let start = Instant::now();
    loop {
        if let Some(m) = messages.lock().expect("lock").first().cloned() {
            return m;
        }
        assert!(start.elapsed() < DEADLINE, "no e-mail arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn email_arrives_over_smtp_with_the_summary() {
    let (port, messages) = smtp_server(Smtp::Plain, None);
    let receivers = format!(
        "[[email]]\nname = \"mail\"\nsmarthost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nfrom = \"Perfwatch <pw@example.com>\"\nto = [\"ops@example.com\", \"dev@example.com\"]\n"
    );
    let notifier = Notifier::start(config("", &receivers)).expect("start");
    notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
    let message = first_mail(&messages).text;
    assert!(
        message.contains("Subject: [FIRING:1] HighCpu (web-1 critical)"),
        "{message}"
    );
    assert!(
        message.contains("To: ops@example.com, dev@example.com"),
        "{message}"
    );
    assert!(message.contains("* HighCpu on web-1"), "{message}");
    assert!(message.contains("Message-ID: <"), "{message}");
    assert!(message.contains("Date: "), "{message}");
    assert!(message.contains("value above threshold"), "{message}");
    wait_counters(&notifier, "email delivered", |c| c.by_receiver[2].1 == 1);
    notifier.stop();
}

/// The TLS server configuration of a fresh self-signed certificate for 127.0.0.1 (as the
/// collector's own HTTPS loads one), and the certificate's file, in `dir`.
fn self_signed_server(dir: &std::path::Path) -> (Arc<rustls::ServerConfig>, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    certs::self_signed().write(&cert, &key);
    let settings = TlsSettings::load(&cert, &key).expect("a usable certificate");
    (Arc::new(settings.server_config()), cert)
}

/// The TLS server configuration whose certificate the notifier trusts: made once, and named
/// by `SSL_CERT_FILE`, which the system store the notifier reads by default honours (as curl
/// and OpenSSL do). No other test here uses TLS, so the others are unaffected.
fn trusted_server() -> Arc<rustls::ServerConfig> {
    static TRUSTED: std::sync::OnceLock<(Arc<rustls::ServerConfig>, tempfile::TempDir)> =
        std::sync::OnceLock::new();
    let (config, _) = TRUSTED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let (config, cert) = self_signed_server(dir.path());
        std::env::set_var("SSL_CERT_FILE", &cert);
        (config, dir)
    });
    Arc::clone(config)
}

fn email_receiver(port: u16, security: &str) -> String {
    format!(
        "[[email]]\nname = \"mail\"\nsmarthost = \"127.0.0.1\"\nport = {port}\n\
         security = \"{security}\"\nfrom = \"pw@example.com\"\nto = [\"ops@example.com\"]\n"
    )
}

#[test]
fn email_over_starttls_or_tls_arrives_encrypted_at_a_server_the_notifier_trusts() {
    let tls = trusted_server();
    for (mode, security) in [(Smtp::StartTls, "starttls"), (Smtp::Tls, "tls")] {
        let (port, messages) = smtp_server(mode, Some(Arc::clone(&tls)));
        let notifier = Notifier::start(config("", &email_receiver(port, security))).expect("start");
        notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
        let mail = first_mail(&messages);
        assert!(mail.tls, "{security}: the message came over TLS");
        assert!(
            mail.text
                .contains("Subject: [FIRING:1] HighCpu (web-1 critical)"),
            "{security}: {}",
            mail.text
        );
        wait_counters(&notifier, "delivered", |c| c.by_receiver[2].1 == 1);
        notifier.stop();
    }
}

#[test]
fn email_to_a_server_whose_certificate_is_not_trusted_is_not_sent() {
    let _trusted = trusted_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let (untrusted, _) = self_signed_server(dir.path());
    for (mode, security) in [(Smtp::StartTls, "starttls"), (Smtp::Tls, "tls")] {
        let (port, messages) = smtp_server(mode, Some(Arc::clone(&untrusted)));
        let notifier = Notifier::start(config("max_attempts = 2", &email_receiver(port, security)))
            .expect("start");
        notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
        wait_counters(&notifier, "given up", |c| c.by_receiver[2].3 == 1);
        let c = notifier.counters();
        assert_eq!(c.by_receiver[2].1, 0, "{security}: nothing delivered");
        assert!(messages.lock().expect("lock").is_empty(), "{security}");
        notifier.stop();
    }
}

fn form_decode(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

#[test]
fn sms_template_renders_a_twilio_style_form_per_recipient() {
    let server = HttpReceiver::start();
    let receivers = format!(
        r#"
        [[sms]]
        name = "twilio"
        url = "{}/2010-04-01/Accounts/AC1/Messages.json"
        basic_auth_user = "AC1"
        basic_auth_password = "tok"
        to = ["+15550001111", "+15550002222"]
        body = {{ To = "{{{{to}}}}", From = "+15559998888", Body = "[{{{{status}}}}] {{{{alertname}}}}: {{{{summary}}}}" }}
        "#,
        server.url
    );
    let notifier = Notifier::start(config("", &receivers)).expect("start");
    notifier.observe(&[alert("HighCpu", "critical", "web-1")], &[], now_ms());
    let requests = server.wait_for("one SMS per number", |r| r.len() >= 2);
    let mut tos = Vec::new();
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/2010-04-01/Accounts/AC1/Messages.json");
        assert_eq!(r.header("authorization"), Some("Basic QUMxOnRvaw=="));
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let form = form_decode(&String::from_utf8_lossy(&r.body));
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(field("From"), "+15559998888");
        assert_eq!(field("Body"), "[firing] HighCpu: HighCpu on web-1");
        tos.push(field("To"));
    }
    tos.sort();
    assert_eq!(tos, ["+15550001111", "+15550002222"]);
    wait_counters(&notifier, "two SMS delivered", |c| c.by_receiver[3].1 == 2);
    notifier.stop();
}

#[test]
fn a_receiver_with_matchers_gets_only_its_alerts() {
    let server = HttpReceiver::start();
    let receivers = format!(
        "[[webhook]]\nname = \"web-1-only\"\nurl = \"{}/hook\"\nmatchers = ['host=\"web-1\"']\n",
        server.url
    );
    let notifier = Notifier::start(config("", &receivers)).expect("start");
    notifier.observe(
        &[
            alert("HighCpu", "critical", "web-1"),
            alert("HighCpu", "critical", "web-2"),
        ],
        &[],
        now_ms(),
    );
    let requests = server.wait_for("a notification", |r| !r.is_empty());
    assert_eq!(alertnames(&requests[0].json()), ["HighCpu/critical/web-1"]);
    notifier.stop();
}

#[test]
fn reload_moves_receivers_and_keeps_what_groups_sent() {
    let first = HttpReceiver::start();
    let second = HttpReceiver::start();
    let notifier = Notifier::start(config("", &webhook(&first.url))).expect("start");
    let web1 = alert("HighCpu", "critical", "web-1");
    notifier.observe(std::slice::from_ref(&web1), &[], now_ms());
    first.wait_for("the first notification", |r| !r.is_empty());

    // Same receiver name at a new address: the group remembers what "ops" was told, so only
    // the new alert makes it notify again, at the new address.
    notifier.reload(config("", &webhook(&second.url)));
    notifier.observe(std::slice::from_ref(&web1), &[], now_ms());
    settle();
    assert!(
        second.requests().is_empty(),
        "nothing changed, nothing sent"
    );
    let web2 = alert("HighCpu", "critical", "web-2");
    notifier.observe(&[web1, web2], &[], now_ms());
    let requests = second.wait_for("the new alert at the new address", |r| !r.is_empty());
    assert_eq!(
        alertnames(&requests[0].json()),
        ["HighCpu/critical/web-1", "HighCpu/critical/web-2"]
    );
    assert_eq!(first.requests().len(), 1);
    notifier.stop();
}

#[test]
fn a_full_group_truncates_and_says_so() {
    let server = HttpReceiver::start();
    let notifier =
        Notifier::start(config("max_alerts_per_group = 2", &webhook(&server.url))).expect("start");
    let alerts: Vec<Alert> = (1..=3)
        .map(|i| alert("HighCpu", "critical", &format!("web-{i}")))
        .collect();
    notifier.observe(&alerts, &[], now_ms());
    let requests = server.wait_for("a notification", |r| !r.is_empty());
    let body = requests[0].json();
    assert_eq!(body["alerts"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["truncatedAlerts"], 1);
    notifier.stop();
}
