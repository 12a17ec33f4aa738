//! Alerts through the real collector binary, as an operator uses them: a rule in the config
//! file fires on API calls a backend reports, shows in `/alerts` and the dashboard, is silenced
//! and unsilenced through the API (admin token required), survives a reload that changes its
//! rule, and a broken reload (by API or SIGHUP) keeps the old rules.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::load::Collector;
use serde_json::{json, Value};

const ADMIN: &str = "ops:0123456789abcdef0123";
const SECRET: &str = "0123456789abcdef0123";

/// One HTTP exchange; the status and the body parsed as JSON (`Null` when it is not JSON).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().expect("a status");
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::Null),
        head.to_owned(),
    )
}

/// GETs `path` with the admin token (admin tokens read too).
fn get(addr: SocketAddr, path: &str) -> Value {
    let auth = format!("Bearer {SECRET}");
    let (status, body, _) = request(addr, "GET", path, &[("Authorization", &auth)], "");
    assert_eq!(status, 200, "GET {path}: {body}");
    body["data"].clone()
}

fn admin_post(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {SECRET}");
    let (status, body, _) = request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    (status, body)
}

/// Reports `ok` successful and `failed` failing calls of `POST /api/chat`.
fn report_calls(addr: SocketAddr, ok: usize, failed: usize) {
    let now = common::now_ms() as i64;
    let calls: Vec<Value> = (0..ok + failed)
        .map(|i| {
            json!({"endpoint": "/api/chat", "method": "POST", "status": if i < failed { 503 } else { 200 },
                   "duration_ms": 120.0, "service": "api", "timestamp": now - i as i64})
        })
        .collect();
    let (status, body, _) = request(
        addr,
        "POST",
        "/api/v1/monitoring/api-calls",
        &[("Content-Type", "application/json")],
        &json!({ "calls": calls }).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

/// Polls `/alerts` until `check` holds on its data, or fails after 30 s.
fn until(addr: SocketAddr, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let data = get(addr, "/api/v1/monitoring/alerts");
        if check(&data) {
            return data;
        }
        assert!(
            Instant::now() < deadline,
            "never: {what}\nlast answer: {data:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn active<'a>(data: &'a Value, severity: &str) -> Option<&'a Value> {
    data["active"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["severity"] == severity && a["labels"]["alertname"] == "ChatErrors")
}

fn write_config(path: &Path, critical: &str, receiver: SocketAddr) {
    std::fs::write(
        path,
        format!(
            r#"admin_tokens = ["{ADMIN}"]

[alerts]
evaluation_interval = "200ms"
default_rules = false

[alerts.notify]
group_wait = "100ms"
group_interval = "300ms"
repeat_interval = "1h"

[[alerts.notify.webhook]]
name = "recorder"
url = "http://{receiver}/hook"

[[alerts.rules]]
name = "ChatErrors"
expr = 'api.error_rate_percent{{endpoint="POST /api/chat"}}'
window = "10m"
warning = 20
critical = {critical}
min_count = 4
summary = "{{{{ endpoint }}}} fails {{{{ value }}}}% of calls"
"#
        ),
    )
    .unwrap();
}

/// A webhook receiver on loopback that answers 200 and keeps every JSON body it got.
fn start_receiver() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_ok() {
                        if let Ok(json) = serde_json::from_slice(&body) {
                            keep.lock().unwrap().push(json);
                        }
                    }
                    let _ = reader.get_mut().write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    break;
                }
            }
        }
    });
    (addr, received)
}

/// Waits until the receiver got a notification `check` accepts.
fn until_notified(
    received: &Mutex<Vec<Value>>,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = received.lock().unwrap().iter().find(|n| check(n)) {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "never notified: {what}\n{:#?}",
            received.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rule_fires_is_silenced_reloaded_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perfwatch.toml");
    let (receiver, received) = start_receiver();
    write_config(&config, "50", receiver);
    let collector = Collector::start(
        dir.path(),
        &["--config".into(), config.display().to_string()],
    );
    collector.until_healthy_as(Some(SECRET));
    let addr = collector.addr;

    // 6 of 10 calls fail: 60 % is past both thresholds.
    report_calls(addr, 4, 6);
    let data = until(addr, "both severities fire", |d| {
        active(d, "critical").is_some_and(|a| a["state"] == "firing")
            && active(d, "warning").is_some_and(|a| a["state"] == "firing")
    });
    let critical = active(&data, "critical").unwrap();
    assert_eq!(critical["labels"]["endpoint"], "POST /api/chat");
    assert_eq!(
        critical["annotations"]["summary"],
        "POST /api/chat fails 60% of calls"
    );
    assert_eq!(critical["value"], 60.0);
    assert_eq!(critical["inhibited"], false);
    assert_eq!(
        active(&data, "warning").unwrap()["inhibited"],
        true,
        "critical inhibits warning"
    );
    assert_eq!(data["evaluation"]["evaluating"], true);
    let warning_since = active(&data, "warning").unwrap()["active_at_ms"].clone();

    // The webhook gets Alertmanager's payload with the critical alert only: the warning one is
    // inhibited by it.
    let firing = until_notified(&received, "ChatErrors firing", |n| n["status"] == "firing");
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["receiver"], "recorder");
    assert_eq!(firing["groupLabels"], json!({"alertname": "ChatErrors"}));
    let alerts = firing["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{firing:#}");
    assert_eq!(alerts[0]["labels"]["severity"], "critical");
    assert_eq!(
        alerts[0]["annotations"]["summary"],
        "POST /api/chat fails 60% of calls"
    );
    assert_eq!(alerts[0]["fingerprint"], critical["fingerprint"]);

    // The dashboard lists them.
    let dashboard = get(addr, "/api/v1/monitoring/dashboard?hours=1");
    let names: Vec<&str> = dashboard["active_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["severity"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // Silences need the admin token, and a sound body.
    let silence = json!({"matchers": [{"name": "alertname", "value": "ChatErrors"},
                                       {"name": "severity", "value": "crit.*", "isRegex": true}],
                         "duration": "1h", "comment": "deploying a fix"})
    .to_string();
    let path = "/api/v1/monitoring/alerts/silences";
    let json_type = ("Content-Type", "application/json");
    let (status, body, head) = request(addr, "POST", path, &[json_type], &silence);
    assert_eq!(status, 401, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    let (status, _, _) = request(
        addr,
        "POST",
        path,
        &[json_type, ("Authorization", "Bearer wrong-secret-0000000")],
        &silence,
    );
    assert_eq!(status, 401);
    let (status, body) = admin_post(addr, path, "{\"matchers\": [");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "malformed_body");
    let (status, body) = admin_post(addr, path, r#"{"matchers": [], "duration": "1h"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at least one matcher"));
    let (status, body) = admin_post(
        addr,
        path,
        r#"{"matchers": [{"name": "a", "value": "(", "isRegex": true}], "duration": "1h"}"#,
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = admin_post(addr, path, r#"{"matchers": [{"name": "a", "value": "b"}]}"#);
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("endsAt"));
    let (status, body) = admin_post(addr, path, &silence);
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["silence_id"].as_str().unwrap().to_owned();
    let data = get(addr, "/api/v1/monitoring/alerts");
    assert_eq!(
        active(&data, "critical").unwrap()["silenced_by"],
        json!([id])
    );
    assert_eq!(active(&data, "warning").unwrap()["silenced_by"], json!([]));
    assert_eq!(data["silences"][0]["id"], id.as_str());
    assert_eq!(get(addr, path)["silences"][0]["comment"], "deploying a fix");
    // Removing it needs the token too; an unknown id is a 404.
    let silence_path = format!("{path}/{id}");
    assert_eq!(request(addr, "DELETE", &silence_path, &[], "").0, 401);
    let auth = format!("Bearer {SECRET}");
    let (status, body, _) = request(
        addr,
        "DELETE",
        &silence_path,
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        request(
            addr,
            "DELETE",
            &format!("{path}/nope"),
            &[("Authorization", &auth)],
            ""
        )
        .0,
        404
    );
    let data = get(addr, "/api/v1/monitoring/alerts");
    assert_eq!(active(&data, "critical").unwrap()["silenced_by"], json!([]));
    assert!(data["silences"].as_array().unwrap().is_empty());

    // Reload through the API with the critical threshold at 70: the critical alert resolves,
    // the warning one keeps its state (same episode).
    write_config(&config, "70", receiver);
    assert_eq!(
        request(addr, "POST", "/api/v1/monitoring/alerts/reload", &[], "").0,
        401
    );
    let (status, body) = admin_post(addr, "/api/v1/monitoring/alerts/reload", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["rules"], 1);
    let data = until(addr, "critical resolves after the reload", |d| {
        active(d, "critical").is_none()
            && d["history"]
                .as_array()
                .is_some_and(|h| h.iter().any(|a| a["labels"]["severity"] == "critical"))
    });
    assert_eq!(
        active(&data, "warning").unwrap()["active_at_ms"],
        warning_since
    );
    let resolved = &data["history"][0];
    assert_eq!(resolved["state"], "resolved");
    assert!(resolved["ends_at_ms"].as_i64().unwrap() >= resolved["starts_at_ms"].as_i64().unwrap());
    let filtered = get(
        addr,
        "/api/v1/monitoring/alerts?state=resolved&severity=critical",
    );
    assert!(filtered["active"].as_array().unwrap().is_empty());
    assert_eq!(filtered["history"].as_array().unwrap().len(), 1);
    let (status, body, _) = request(
        addr,
        "GET",
        "/api/v1/monitoring/alerts?state=burning",
        &[("Authorization", &format!("Bearer {SECRET}"))],
        "",
    );
    assert_eq!(status, 400, "{body}");

    // A broken file: the API says why (with the line) and the old rules stay.
    std::fs::write(&config, format!("admin_tokens = [\"{ADMIN}\"]\n[[alerts.rules]]\nname = \"X\"\nexpr = \"api.nope\"\ncritical = 1\n")).unwrap();
    let (status, body) = admin_post(addr, "/api/v1/monitoring/alerts/reload", "");
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("line 2") && message.contains("unknown metric `api.nope`"),
        "{message}"
    );
    let rules = get(addr, "/api/v1/monitoring/alerts/rules");
    assert_eq!(rules["rules"][0]["name"], "ChatErrors");
    assert_eq!(
        rules["rules"][0]["thresholds"][1],
        json!(["critical", "70"])
    );

    // SIGHUP: a broken file changes nothing; a sound one (critical 55) takes effect.
    let pid = collector.pid().to_string();
    let hup = || {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success())
    };
    hup();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        get(addr, "/api/v1/monitoring/alerts/rules")["rules"][0]["thresholds"][1],
        json!(["critical", "70"])
    );
    write_config(&config, "55", receiver);
    hup();
    let data = until(addr, "critical fires again after SIGHUP", |d| {
        active(d, "critical").is_some_and(|a| a["state"] == "firing")
    });
    assert_eq!(
        active(&data, "warning").unwrap()["active_at_ms"],
        warning_since
    );

    // 30 more good calls: 6 of 40 fail, 15 %, under both thresholds: everything resolves.
    report_calls(addr, 30, 0);
    let data = until(addr, "everything resolves", |d| {
        d["active"].as_array().is_some_and(|a| a.is_empty())
    });
    assert!(data["history"].as_array().unwrap().len() >= 3, "{data:#}");
    let resolved = until_notified(&received, "ChatErrors resolved", |n| {
        n["status"] == "resolved"
            && n["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().all(|a| a["status"] == "resolved"))
    });
    // Its end is the stored episode's, in Alertmanager's RFC 3339 form.
    let notified = &resolved["alerts"][0];
    let history = get(addr, "/api/v1/monitoring/alerts?state=resolved")["history"].clone();
    let episode = history
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["fingerprint"] == notified["fingerprint"])
        .unwrap_or_else(|| panic!("the notified alert in the history: {history:#}"));
    assert_eq!(
        notified["endsAt"].as_str(),
        Some(
            perfwatch_collector::alerts::notify::payload::rfc3339(episode["ends_at_ms"].as_i64())
                .as_str()
        )
    );

    // /metrics counts the transitions.
    // (A token is needed: the config has one, and /metrics is not made public.)
    let (status, _, _) = request(addr, "GET", "/metrics", &[], "");
    assert_eq!(status, 401);
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(
        text.contains("perfwatch_alert_transitions_total{to=\"firing\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("perfwatch_alert_transitions_total{to=\"resolved\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("perfwatch_alert_notifications_total{kind=\"webhook\"}")
            && !text.contains("perfwatch_alert_notifications_total{kind=\"webhook\"} 0"),
        "{text}"
    );
    assert!(collector.sigterm().success());
}

/// Two collectors sharing PostgreSQL: one evaluates, both answer the same alerts; when the
/// evaluating one dies, the other takes over with the alerts' state.
#[test]
fn collectors_sharing_postgres_evaluate_once_and_take_over() {
    let db = common::postgres::test_db();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perfwatch.toml");
    let (receiver, _) = start_receiver();
    write_config(&config, "50", receiver);
    let args = [
        "--config".to_owned(),
        config.display().to_string(),
        "--store".to_owned(),
        db.url.clone(),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Collector::start(dir_a.path(), &args);
    let b = Collector::start(dir_b.path(), &args);
    a.until_healthy_as(Some(SECRET));
    b.until_healthy_as(Some(SECRET));
    report_calls(a.addr, 4, 6);
    let seen_a = until(a.addr, "firing seen through A", |d| {
        active(d, "critical").is_some_and(|x| x["state"] == "firing")
    });
    let seen_b = until(b.addr, "the same alert seen through B", |d| {
        active(d, "critical").is_some_and(|x| x["state"] == "firing")
    });
    let critical = active(&seen_a, "critical").unwrap().clone();
    assert_eq!(
        active(&seen_b, "critical").unwrap()["starts_at_ms"],
        critical["starts_at_ms"]
    );
    let evaluating = |d: &Value| d["evaluation"]["evaluating"] == true;
    assert!(
        evaluating(&seen_a) != evaluating(&seen_b),
        "exactly one evaluates: A {} B {}",
        seen_a["evaluation"],
        seen_b["evaluation"]
    );
    // The evaluating one dies (its connection, and so its lock, with it).
    let (dead, survivor) = if evaluating(&seen_a) { (a, b) } else { (b, a) };
    dead.sigkill();
    let data = until(survivor.addr, "the survivor evaluates", |d| {
        evaluating(d)
            && d["evaluation"]["last_evaluation_ms"].as_i64() > critical["starts_at_ms"].as_i64()
    });
    let taken_over = active(&data, "critical").expect("still firing");
    assert_eq!(taken_over["state"], "firing");
    assert_eq!(
        taken_over["starts_at_ms"], critical["starts_at_ms"],
        "the same episode, not a new one"
    );
    assert!(survivor.sigterm().success());
}
