//! Where settings come from (flags over environment over the TOML file over defaults), and what
//! this version refuses to start with.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    let err =
        Config::resolve(args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]), no_env).unwrap_err();
    assert!(matches!(err, ConfigError::TlsNotSupported), "{err}");
    assert!(err.to_string().contains("not supported yet"));
    let env = env_of(&[("PERFWATCH_TLS_KEY", "k.pem")]);
    assert!(matches!(
        Config::resolve(args(&[]), env).unwrap_err(),
        ConfigError::TlsNotSupported
    ));

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
