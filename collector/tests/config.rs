//! Where settings come from (flags over environment over the TOML file over defaults), and what
//! this version refuses to start with.

#[path = "common/certs.rs"]
mod certs;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::Parser;
use perfwatch_collector::config::{Args, Config, ConfigError, StoreLocation};
use perfwatch_collector::rollup::RollupPolicy;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn args(flags: &[&str]) -> Args {
    let argv = std::iter::once("perfwatch-collector").chain(flags.iter().copied());
    match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(err) => panic!("{err}"),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

#[test]
fn defaults() {
    let config = Config::resolve(args(&[]), no_env).expect("defaults resolve");
    assert_eq!(config.listen, addr("127.0.0.1:8001"));
    assert_eq!(config.data_dir, PathBuf::from("./perfwatch-data"));
    assert_eq!(
        config.store,
        StoreLocation::Sqlite(PathBuf::from("./perfwatch-data/perfwatch.db"))
    );
}

#[test]
fn flags_over_env_over_file_over_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.2:7000\"\ndata_dir = \"/from/file\"\nstore = \"sqlite:///from/file.db\"\n",
    )
    .expect("write config");
    let file_flag = file.to_string_lossy().into_owned();

    // The file alone.
    let config = Config::resolve(args(&["--config", &file_flag]), no_env).expect("file");
    assert_eq!(config.listen, addr("127.0.0.2:7000"));
    assert_eq!(config.data_dir, PathBuf::from("/from/file"));
    assert_eq!(config.store, StoreLocation::Sqlite("/from/file.db".into()));

    // The environment over the file (which the environment names too).
    let env = env_of(&[
        ("PERFWATCH_CONFIG", &file_flag),
        ("PERFWATCH_LISTEN", "127.0.0.3:7001"),
        ("PERFWATCH_DATA_DIR", "/from/env"),
    ]);
    let config = Config::resolve(args(&[]), &env).expect("env");
    assert_eq!(config.listen, addr("127.0.0.3:7001"));
    assert_eq!(config.data_dir, PathBuf::from("/from/env"));
    assert_eq!(config.store, StoreLocation::Sqlite("/from/file.db".into()));

    // Flags over both.
    let flags = args(&["--listen", "127.0.0.4:7002", "--store", "sqlite:flag.db"]);
    let config = Config::resolve(flags, &env).expect("flags");
    assert_eq!(config.listen, addr("127.0.0.4:7002"));
    assert_eq!(config.data_dir, PathBuf::from("/from/env"));
    assert_eq!(config.store, StoreLocation::Sqlite("flag.db".into()));
}

#[test]
fn the_default_store_follows_the_data_dir() {
    let env = env_of(&[("PERFWATCH_DATA_DIR", "/var/lib/perfwatch")]);
    let config = Config::resolve(args(&[]), env).expect("resolve");
    assert_eq!(
        config.store,
        StoreLocation::Sqlite("/var/lib/perfwatch/perfwatch.db".into())
    );
    let config = Config::resolve(args(&["--data-dir", "d"]), no_env).expect("resolve");
    assert_eq!(config.store, StoreLocation::Sqlite("d/perfwatch.db".into()));
}

#[test]
fn empty_environment_values_count_as_unset() {
    let env = env_of(&[("PERFWATCH_LISTEN", ""), ("PERFWATCH_TLS_CERT", " ")]);
    let config = Config::resolve(args(&[]), env).expect("resolve");
    assert_eq!(config.listen, addr("127.0.0.1:8001"));
}

#[test]
fn port_zero_and_ipv6_loopback_are_fine() {
    let config = Config::resolve(args(&["--listen", "[::1]:0"]), no_env).expect("resolve");
    assert_eq!(config.listen, addr("[::1]:0"));
}

#[test]
fn a_non_loopback_listen_address_is_refused() {
    for listen in ["0.0.0.0:8001", "[::]:8001", "192.0.2.10:8001"] {
        let err = Config::resolve(args(&["--listen", listen]), no_env).unwrap_err();
        assert!(
            matches!(err, ConfigError::NotLoopback { .. }),
            "{listen}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains("loopback"), "{message}");
    }
    let env = env_of(&[("PERFWATCH_LISTEN", "0.0.0.0:8001")]);
    let err = Config::resolve(args(&[]), env).unwrap_err();
    assert!(matches!(err, ConfigError::NotLoopback { .. }), "{err}");
    // `run` checks again, for a Config built by hand.
    let config = Config {
        listen: addr("0.0.0.0:0"),
        data_dir: "unused".into(),
        store: StoreLocation::Sqlite("unused.db".into()),
        tls: None,
        retention_days: 7,
        queue_max_batches: 1,
        queue_max_bytes: 1,
        postgres_pool_size: 1,
        rollups: RollupPolicy::default(),
        rollup_interval: std::time::Duration::from_secs(60),
        monitor: Default::default(),
        thresholds: Default::default(),
        prices_file: None,
        sessions: Default::default(),
        config_file: None,
        alerts: perfwatch_collector::alerts::rules::defaults(Default::default()),
        access: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
        allowed_query_params: Vec::new(),
    };
    assert!(config.validate().is_err());
}

#[test]
fn postgres_urls_select_postgresql_and_never_show_their_password() {
    for url in [
        "postgres://u:pw@db/perfwatch",
        "postgresql://u:pw@db:5433/perfwatch?sslmode=disable",
    ] {
        let config = Config::resolve(args(&["--store", url]), no_env).expect("resolve");
        assert_eq!(config.store, StoreLocation::Postgres(url.to_owned()));
        for shown in [format!("{:?}", config.store), config.store.to_string()] {
            assert!(shown.contains("u:***@db"), "{shown}");
            assert!(!shown.contains("pw@"), "{shown}");
        }
        // Nor does the whole config's Debug.
        assert!(!format!("{config:?}").contains("pw@"));
    }
    let env = env_of(&[(
        "PERFWATCH_STORE",
        "postgres://u@db/perfwatch?password=s3cret",
    )]);
    let config = Config::resolve(args(&[]), env).expect("resolve");
    assert!(
        !format!("{:?}", config.store).contains("s3cret"),
        "{:?}",
        config.store
    );

    // A URL that does not parse is refused at start-up, without quoting the password.
    for bad in [
        "postgres://u:s3cret@db:notaport/perfwatch",
        "postgres://u:s3cret@db/perfwatch?sslmode=sometimes",
        "postgres://u:s3cret@db/perfwatch?no_such_option=1",
    ] {
        let err = Config::resolve(args(&["--store", bad]), no_env).unwrap_err();
        assert!(
            matches!(err, ConfigError::PostgresUrl { .. }),
            "{bad}: {err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("PostgreSQL store URL is not valid"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
}

#[test]
fn what_this_version_cannot_do_is_refused_clearly() {
    let err = Config::resolve(args(&["--listen", "localhost:8001"]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::Listen { .. }), "{err}");
    let err = Config::resolve(args(&["--store", "mysql://x"]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownStore { .. }), "{err}");
}

#[test]
fn config_file_problems_are_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\nwrite_keys = \"pk\"\n").expect("write");
    let flag = file.to_string_lossy().into_owned();
    let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::ParseFile { .. }), "{err}");
    assert!(err.to_string().contains("write_keys"), "{err}");

    let missing = dir
        .path()
        .join("missing.toml")
        .to_string_lossy()
        .into_owned();
    let err = Config::resolve(args(&["--config", &missing]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::ReadFile { .. }), "{err}");
}

#[test]
fn discard_switches_the_store_off_for_benchmarks() {
    let config = Config::resolve(args(&["--store", "discard:"]), no_env).unwrap();
    assert_eq!(config.store, StoreLocation::Discard);
    assert_eq!(config.store.to_string(), "discard:");
}

#[test]
fn retention_days_come_from_the_file_default_7_and_never_0() {
    assert_eq!(
        Config::resolve(args(&[]), no_env).unwrap().retention_days,
        7
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    let flag = file.to_string_lossy().into_owned();
    std::fs::write(&file, "retention_days = 30\n").expect("write config");
    assert_eq!(
        Config::resolve(args(&["--config", &flag]), no_env)
            .unwrap()
            .retention_days,
        30
    );
    std::fs::write(&file, "retention_days = 0\n").expect("write config");
    let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
    assert!(err.to_string().contains("retention_days"), "{err}");
}

#[test]
fn queue_and_pool_sizes_come_from_the_file_and_are_never_0() {
    let defaults = Config::resolve(args(&[]), no_env).unwrap();
    assert_eq!(
        (
            defaults.queue_max_batches,
            defaults.queue_max_bytes,
            defaults.postgres_pool_size
        ),
        (4096, 64 * 1024 * 1024, 8)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    let flag = file.to_string_lossy().into_owned();
    std::fs::write(
        &file,
        "queue_max_batches = 100\nqueue_max_bytes = 1000000\npostgres_pool_size = 3\n",
    )
    .expect("write config");
    let config = Config::resolve(args(&["--config", &flag]), no_env).unwrap();
    assert_eq!(
        (
            config.queue_max_batches,
            config.queue_max_bytes,
            config.postgres_pool_size
        ),
        (100, 1_000_000, 3)
    );
    std::fs::write(&file, "queue_max_bytes = 0\n").expect("write config");
    let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
    assert!(err.to_string().contains("queue_max_bytes"), "{err}");
    std::fs::write(&file, "postgres_pool_size = 1\n").expect("write config");
    let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
}

#[test]
fn rollup_tiers_and_interval_come_from_the_file_and_are_never_0() {
    let defaults = Config::resolve(args(&[]), no_env).unwrap();
    assert_eq!(
        defaults.rollups,
        RollupPolicy {
            minute_days: 2,
            hour_days: 90,
            day_days: 730
        }
    );
    assert_eq!(defaults.rollup_interval, std::time::Duration::from_secs(60));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    let flag = file.to_string_lossy().into_owned();
    std::fs::write(
        &file,
        "rollup_minute_days = 3\nrollup_hour_days = 30\nrollup_day_days = 365\n\
         rollup_interval_seconds = 5\n",
    )
    .expect("write config");
    let config = Config::resolve(args(&["--config", &flag]), no_env).unwrap();
    assert_eq!(
        (config.rollups, config.rollup_interval),
        (
            RollupPolicy {
                minute_days: 3,
                hour_days: 30,
                day_days: 365
            },
            std::time::Duration::from_secs(5)
        )
    );
    for key in [
        "rollup_minute_days",
        "rollup_hour_days",
        "rollup_day_days",
        "rollup_interval_seconds",
    ] {
        std::fs::write(&file, format!("{key} = 0\n")).expect("write config");
        let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn session_counting_comes_from_the_file_and_is_never_0() {
    let defaults = Config::resolve(args(&[]), no_env).unwrap();
    assert_eq!(
        (
            defaults.sessions.active_minutes,
            defaults.sessions.timeout_minutes
        ),
        (5, 30)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    let flag = file.to_string_lossy().into_owned();
    std::fs::write(
        &file,
        "active_user_minutes = 15\nsession_timeout_minutes = 60\n",
    )
    .expect("write config");
    let config = Config::resolve(args(&["--config", &flag]), no_env).unwrap();
    assert_eq!(
        (
            config.sessions.active_minutes,
            config.sessions.timeout_minutes
        ),
        (15, 60)
    );
    for key in ["active_user_minutes", "session_timeout_minutes"] {
        std::fs::write(&file, format!("{key} = 0\n")).expect("write config");
        let err = Config::resolve(args(&["--config", &flag]), no_env).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

/// A fresh self-signed certificate and key written as `<name>.crt` and `<name>.key` in `dir`;
/// their paths.
fn tls_pair(dir: &std::path::Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    certs::self_signed().write(&cert, &key);
    (cert, key)
}

fn text(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn tls_is_off_by_default_and_its_files_come_from_flags_over_env_over_file() {
    assert_eq!(Config::resolve(args(&[]), no_env).unwrap().tls, None);

    let dir = tempfile::tempdir().expect("temp dir");
    let (file_cert, file_key) = tls_pair(dir.path(), "file");
    let (env_cert, env_key) = tls_pair(dir.path(), "env");
    let (flag_cert, flag_key) = tls_pair(dir.path(), "flag");
    let file = dir.path().join("collector.toml");
    std::fs::write(
        &file,
        format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            text(&file_cert),
            text(&file_key)
        ),
    )
    .expect("write config");
    let file_flag = text(&file);
    let files_of = |config: Config| {
        let tls = config.tls.expect("TLS on");
        (tls.cert, tls.key)
    };

    // The file alone.
    let config = Config::resolve(args(&["--config", &file_flag]), no_env).expect("file");
    assert_eq!(files_of(config), (file_cert.clone(), file_key.clone()));

    // The environment over the file.
    let (env_cert_text, env_key_text) = (text(&env_cert), text(&env_key));
    let env = env_of(&[
        ("PERFWATCH_CONFIG", &file_flag),
        ("PERFWATCH_TLS_CERT", &env_cert_text),
        ("PERFWATCH_TLS_KEY", &env_key_text),
    ]);
    let config = Config::resolve(args(&[]), &env).expect("env");
    assert_eq!(files_of(config), (env_cert.clone(), env_key.clone()));

    // Flags over both.
    let flags = args(&[
        "--tls-cert",
        &text(&flag_cert),
        "--tls-key",
        &text(&flag_key),
    ]);
    let config = Config::resolve(flags, &env).expect("flags");
    assert_eq!(files_of(config), (flag_cert.clone(), flag_key.clone()));

    // Each file on its own: a certificate from a flag and its key from the environment.
    let env = env_of(&[("PERFWATCH_TLS_KEY", &env_key_text)]);
    let config =
        Config::resolve(args(&["--tls-cert", &env_cert_text]), &env).expect("flag and env");
    assert_eq!(files_of(config), (env_cert.clone(), env_key.clone()));
    // ... and they must belong together.
    let err = Config::resolve(args(&["--tls-cert", &text(&flag_cert)]), &env).unwrap_err();
    assert!(matches!(err, ConfigError::TlsKeyMismatch { .. }), "{err}");

    // Neither the config's Debug nor an error shows the key.
    let key_pem = std::fs::read_to_string(&flag_key).expect("key");
    let secret = key_pem
        .lines()
        .find(|line| !line.starts_with("-----"))
        .expect("a base64 line");
    let config = Config::resolve(
        args(&[
            "--tls-cert",
            &text(&flag_cert),
            "--tls-key",
            &text(&flag_key),
        ]),
        no_env,
    )
    .expect("flags");
    assert!(!format!("{config:?}").contains(secret));
    assert!(!err.to_string().contains(secret));
}

#[test]
fn one_tls_file_without_the_other_or_a_missing_one_is_refused() {
    let env = env_of(&[("PERFWATCH_TLS_KEY", "k.pem")]);
    let err = Config::resolve(args(&[]), env).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::TlsIncomplete {
                missing: "a certificate (--tls-cert, PERFWATCH_TLS_CERT or tls_cert)",
                ..
            }
        ),
        "{err}"
    );
    let err = Config::resolve(args(&["--tls-cert", "c.pem"]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::TlsIncomplete { .. }), "{err}");
    assert!(err.to_string().contains("was given without a key"), "{err}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("collector.toml");
    std::fs::write(&file, "tls_key = \"k.pem\"\n").expect("write config");
    let err = Config::resolve(args(&["--config", &text(&file)]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::TlsIncomplete { .. }), "{err}");

    let missing = text(&dir.path().join("missing.crt"));
    let err = Config::resolve(
        args(&["--tls-cert", &missing, "--tls-key", "k.pem"]),
        no_env,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::TlsRead {
                what: "certificate",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&missing), "{err}");
}

/// The DER element at `at` in `der`: (its tag, where its content starts, where it ends).
fn der_element(der: &[u8], at: usize) -> (u8, usize, usize) {
    let (tag, first) = (der[at], der[at + 1]);
    let (len, start) = if first < 0x80 {
        (first as usize, at + 2)
    } else {
        let n = (first & 0x7f) as usize;
        let len = der[at + 2..at + 2 + n]
            .iter()
            .fold(0, |acc, b| acc * 256 + *b as usize);
        (len, at + 2 + n)
    };
    (tag, start, start + len)
}

#[test]
fn tls_keys_are_read_as_pkcs8_and_as_sec1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("rcgen makes a certificate");
    let cert = dir.path().join("c.crt");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    // rcgen writes PKCS#8 (`BEGIN PRIVATE KEY`).
    let pkcs8 = dir.path().join("pkcs8.key");
    std::fs::write(&pkcs8, made.signing_key.serialize_pem()).expect("write key");
    assert!(Config::resolve(
        args(&["--tls-cert", &text(&cert), "--tls-key", &text(&pkcs8)]),
        no_env
    )
    .is_ok());
    // The same EC key as SEC1 (`BEGIN EC PRIVATE KEY`, what `openssl ec` writes): the
    // ECPrivateKey inside the PKCS#8 OCTET STRING (version, algorithm, then the key).
    let der = made.signing_key.serialize_der();
    let (_, body, _) = der_element(&der, 0);
    let (_, _, after_version) = der_element(&der, body);
    let (_, _, after_algorithm) = der_element(&der, after_version);
    let (tag, key_start, key_end) = der_element(&der, after_algorithm);
    assert_eq!(tag, 0x04, "an OCTET STRING");
    let sec1 = dir.path().join("sec1.key");
    std::fs::write(
        &sec1,
        format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            STANDARD.encode(&der[key_start..key_end])
        ),
    )
    .expect("write key");
    let config = Config::resolve(
        args(&["--tls-cert", &text(&cert), "--tls-key", &text(&sec1)]),
        no_env,
    )
    .expect("a SEC1 key");
    assert_eq!(config.tls.expect("TLS").key, sec1);
}
