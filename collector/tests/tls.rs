//! HTTPS served by the collector itself, against the real binary: a self-signed certificate made
//! here (rcgen), a client that trusts exactly that certificate, a plain-HTTP client and a client
//! that trusts something else on the same port, and the files that stop the binary at start-up.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tempfile::TempDir;

use common::certs::{self_signed, Pair};
use common::load::Collector;

const HEALTH: &str = "/api/v1/monitoring/health";
const INGEST: &str = "/api/v1/monitoring/frontend-metrics?key=pk_test";

/// A temporary directory holding `cert.pem` and `key.pem` of a fresh pair.
struct Files {
    dir: TempDir,
    pair: Pair,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().expect("temp dir");
        let pair = self_signed();
        pair.write(&dir.path().join("cert.pem"), &dir.path().join("key.pem"));
        Files { dir, pair }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path
    }
}

/// The collector binary serving HTTPS with `files`' certificate on a free loopback port.
fn start_https(files: &Files) -> Collector {
    let arg = |name: &str| files.path(name).display().to_string();
    Collector::start(
        &files.path("data"),
        &[
            "--tls-cert".into(),
            arg("cert.pem"),
            "--tls-key".into(),
            arg("key.pem"),
        ],
    )
}

/// `path` on `collector`, over HTTPS.
fn url(collector: &Collector, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", collector.addr.port())
}

/// An HTTPS client whose only trusted root is `cert_pem`.
fn client_trusting(cert_pem: &str) -> ureq::Agent {
    let root = ureq::tls::Certificate::from_pem(cert_pem.as_bytes()).expect("a PEM certificate");
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .proxy(None)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![root])))
                    .build(),
            )
            .build(),
    )
}

fn json_of(body: &mut ureq::Body) -> Value {
    let text = body.read_to_string().expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn small_batch() -> String {
    let now = common::now_ms();
    json!({"v": 1, "app": "tls", "session_id": "s-tls", "page_view_id": "pv-tls",
           "url": "https://app.example/", "time_origin": now - 1000.0, "sent_at": now,
           "events": [{"type": "page_view", "event_id": "tls-pv", "navigation_type": "navigate",
                       "start_time": 0},
                      {"type": "web_vital", "event_id": "tls-lcp", "name": "LCP", "value": 812.5,
                       "delta": 812.5, "id": "v-tls", "seq": 1, "rating": "good",
                       "navigation_type": "navigate"}]})
    .to_string()
}

/// The TLS handshake with the collector, offering `alpn`, by a rustls client trusting `cert_pem`;
/// the connection, ready for requests.
fn handshake(
    addr: SocketAddr,
    cert_pem: &str,
    alpn: &[&[u8]],
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("a certificate"))
        .expect("a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ServerName::try_from("localhost").expect("a name");
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).expect("a client connection");
    let mut tcp = TcpStream::connect(addr).expect("connects");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    while connection.is_handshaking() {
        connection.complete_io(&mut tcp).expect("the handshake");
    }
    rustls::StreamOwned::new(connection, tcp)
}

#[test]
fn serves_https_to_a_client_that_trusts_its_certificate_and_stops_gracefully() {
    let files = Files::new();
    let collector = start_https(&files);
    let client = client_trusting(&files.pair.cert);

    let mut health = client
        .get(url(&collector, HEALTH))
        .call()
        .expect("GET /health over HTTPS");
    assert_eq!(health.status(), 200);
    let body: Value = json_of(health.body_mut());
    assert_eq!(body["success"], true, "{body}");

    let mut posted = client
        .post(url(&collector, INGEST))
        .header("Content-Type", "text/plain;charset=UTF-8")
        .send(small_batch())
        .expect("POST a browser batch over HTTPS");
    assert_eq!(posted.status(), 200);
    let body: Value = json_of(posted.body_mut());
    assert_eq!(body["data"]["accepted"], 2, "{body}");
    assert_eq!(body["data"]["rejected"], json!([]), "{body}");

    // HTTP/2 by ALPN when the client offers it, HTTP/1.1 otherwise.
    let h2 = handshake(collector.addr, &files.pair.cert, &[b"h2", b"http/1.1"]);
    assert_eq!(h2.conn.alpn_protocol(), Some(&b"h2"[..]));
    drop(h2);
    let mut h1 = handshake(collector.addr, &files.pair.cert, &[b"http/1.1"]);
    assert_eq!(h1.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    h1.write_all(
        format!("GET {HEALTH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("request");
    let mut answer = Vec::new();
    // The server may close without close_notify after `Connection: close`: what was read counts.
    let _ = h1.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // SIGTERM still stops it gracefully.
    let status = collector.sigterm();
    assert!(status.success(), "{status:?}");
}

#[test]
fn plain_http_to_the_tls_port_gets_no_http_answer() {
    let files = Files::new();
    let collector = start_https(&files);
    let mut tcp = TcpStream::connect(collector.addr).expect("connects");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    tcp.write_all(
        format!("GET {HEALTH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("request");
    let mut answer = Vec::new();
    // A reset is as good as a TLS alert: either way no HTTP.
    let _ = tcp.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // At most a TLS alert record (content type 21).
    assert!(answer.is_empty() || answer[0] == 21, "{answer:?}");
}

#[test]
fn a_client_that_does_not_trust_the_certificate_fails_the_handshake() {
    let files = Files::new();
    let collector = start_https(&files);
    let stranger = self_signed();
    let error = client_trusting(&stranger.cert)
        .get(url(&collector, HEALTH))
        .call()
        .expect_err("an untrusted certificate");
    let message = error.to_string();
    assert!(
        message.to_lowercase().contains("certificate"),
        "not a certificate error: {message}"
    );
    // Nor does a client with the public web roots trust it.
    let error = ureq::Agent::new_with_config(ureq::Agent::config_builder().proxy(None).build())
        .get(url(&collector, HEALTH))
        .call()
        .expect_err("a self-signed certificate");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    // The collector still serves a client that trusts it.
    let health = client_trusting(&files.pair.cert)
        .get(url(&collector, HEALTH))
        .call()
        .expect("GET /health");
    assert_eq!(health.status(), 200);
}

/// Runs the binary with `args` (it must stop at start-up).
fn refused(args: &[&Path]) -> Output {
    let data = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_perfwatch-collector"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("PERFWATCH_TLS_CERT")
        .env_remove("PERFWATCH_TLS_KEY")
        .env_remove("PERFWATCH_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn unusable_certificate_or_key_files_stop_the_binary_with_a_clear_message() {
    let files = Files::new();
    let other = Files::new();
    let cert = files.path("cert.pem");
    let key = files.path("key.pem");
    let missing = files.path("missing.pem");
    let other_key = other.path("key.pem");
    let torn = files.write(
        "torn.pem",
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n",
    );
    let flag = |name: &'static str| -> &'static Path { Path::new(name) };

    let cases: Vec<(Vec<&Path>, String)> = vec![
        (
            vec![flag("--tls-cert"), &missing, flag("--tls-key"), &key],
            format!("cannot read the TLS certificate file {}", missing.display()),
        ),
        (
            vec![flag("--tls-cert"), &cert, flag("--tls-key"), &missing],
            format!("cannot read the TLS key file {}", missing.display()),
        ),
        (
            // Swapped: the "certificate" holds only a key, the "key" only a certificate.
            vec![flag("--tls-cert"), &key, flag("--tls-key"), &cert],
            format!(
                "the TLS certificate file {} holds no certificate",
                key.display()
            ),
        ),
        (
            vec![flag("--tls-cert"), &cert, flag("--tls-key"), &cert],
            format!("the TLS key file {} holds no private key", cert.display()),
        ),
        (
            vec![flag("--tls-cert"), &cert, flag("--tls-key"), &other_key],
            "does not match the certificate".to_owned(),
        ),
        (
            vec![flag("--tls-cert"), &cert, flag("--tls-key"), &torn],
            format!("the TLS key file {} is not valid PEM", torn.display()),
        ),
        (
            vec![flag("--tls-cert"), &cert],
            "HTTPS needs both a certificate and its key: a certificate (--tls-cert, \
             PERFWATCH_TLS_CERT or tls_cert) was given without a key"
                .to_owned(),
        ),
        (
            vec![flag("--tls-key"), &key],
            "was given without a certificate".to_owned(),
        ),
    ];
    // No line of either key may ever be printed.
    let secret_lines: Vec<&str> = files
        .pair
        .key
        .lines()
        .chain(other.pair.key.lines())
        .filter(|line| !line.starts_with("-----"))
        .collect();
    for (args, expected) in cases {
        let output = refused(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} started: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} announced itself");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        for line in &secret_lines {
            assert!(!stderr.contains(line), "{args:?} printed key material");
        }
    }
}
