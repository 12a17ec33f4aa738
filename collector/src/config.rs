//! The collector's settings and where they come from: command-line flags over environment
//! variables over the TOML file over defaults (CONTRACT.md, "Collector command line").
//!
//! The environment is passed in as a function ([`Config::resolve`]) rather than read here, so
//! that precedence can be tested without touching the process environment.

use crate::access::{AccessPolicy, Token, WriteKey};
use crate::alerts::evaluator::Alerting;
use crate::alerts::rules::{AlertsConfig, RuleError};
use crate::client_ip::Cidr;
use crate::rate_limit::Rate;
use crate::session_stats::SessionPolicy;
use crate::tls::TlsSettings;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Deserialize;
use thiserror::Error;

use crate::host_history::{MonitorSchedule, Thresholds};
use crate::rollup::RollupPolicy;

/// Default listen address: loopback only, port 8001.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8001";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./perfwatch-data";
/// The SQLite database's file name inside the data directory.
pub const SQLITE_FILE: &str = "perfwatch.db";

/// Environment variable naming the config file.
pub const ENV_CONFIG: &str = "PERFWATCH_CONFIG";
/// Environment variable for the listen address.
pub const ENV_LISTEN: &str = "PERFWATCH_LISTEN";
/// Environment variable for the data directory.
pub const ENV_DATA_DIR: &str = "PERFWATCH_DATA_DIR";
/// Environment variable for the store URL.
pub const ENV_STORE: &str = "PERFWATCH_STORE";
/// Environment variable for the TLS certificate chain (PEM).
pub const ENV_TLS_CERT: &str = "PERFWATCH_TLS_CERT";
/// Environment variable for the TLS private key (PEM).
pub const ENV_TLS_KEY: &str = "PERFWATCH_TLS_KEY";
/// Environment variable for the write keys (comma-separated).
pub const ENV_WRITE_KEYS: &str = "PERFWATCH_WRITE_KEYS";
/// Environment variable for the read tokens (comma-separated `name:secret`).
pub const ENV_READ_TOKENS: &str = "PERFWATCH_READ_TOKENS";
/// Environment variable for the admin tokens (comma-separated `name:secret`).
pub const ENV_ADMIN_TOKENS: &str = "PERFWATCH_ADMIN_TOKENS";

/// The command line. Each flag can also come from an environment variable or the config file;
/// a flag wins over both.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "perfwatch-collector",
    version,
    about = "perfwatch collector: receives browser performance batches and answers statistics"
)]
pub struct Args {
    /// TOML config file with the keys `listen`, `data_dir`, `store`, `tls_cert`, `tls_key`, ...
    /// [env: PERFWATCH_CONFIG]
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one. Loopback only while access keys are not
    /// configurable [env: PERFWATCH_LISTEN] [default: 127.0.0.1:8001]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Directory for the collector's data [env: PERFWATCH_DATA_DIR] [default: ./perfwatch-data]
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Store URL: sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// [env: PERFWATCH_STORE] [default: SQLite at DIR/perfwatch.db, DIR being the data dir]
    #[arg(long, value_name = "URL", global = true)]
    pub store: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); needs
    /// --tls-key [env: PERFWATCH_TLS_CERT] [default: plain HTTP]
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1/RSA or SEC1/EC); needs --tls-cert
    /// [env: PERFWATCH_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// What to do instead of serving (the store flags above apply to it too)
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Maintenance commands; without one, the collector serves.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Copies the SQLite database to FILE, consistent and compacted, while a collector may be
    /// running on it. For PostgreSQL use pg_dump.
    Backup {
        /// The copy to write; it must not exist yet
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Writes the raw events of a time window as NDJSON, one object per line
    Export {
        /// Start of the window: RFC 3339 (2026-11-26T07:00:00Z) or epoch milliseconds
        /// [default: --hours before --to]
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End of the window, excluded: RFC 3339 or epoch milliseconds [default: now]
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Length of the window when --from is not given [default: 24]
        #[arg(long, value_name = "HOURS")]
        hours: Option<f64>,
        /// Where to write [default: standard output]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The config file (`--config FILE`). Every key is optional; unknown keys are an error, so a
/// typo (or a key from a newer collector, such as access keys) is not silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, `IP:PORT`. Default `127.0.0.1:8001`.
    pub listen: Option<String>,
    /// Directory for the collector's data, relative to the working directory.
    /// Default `./perfwatch-data`.
    pub data_dir: Option<PathBuf>,
    /// Store URL, `sqlite://PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
    /// (`postgresql://` too). Default: SQLite at `<data_dir>/perfwatch.db`.
    pub store: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM), relative to the working directory; needs
    /// `tls_key`. Default: plain HTTP.
    pub tls_cert: Option<PathBuf>,
    /// The private key of `tls_cert` (PEM: PKCS#8, PKCS#1/RSA or SEC1/EC).
    pub tls_key: Option<PathBuf>,
    /// Days raw events (page views, web vitals, navigations) are kept. Default 7.
    pub retention_days: Option<u32>,
    /// Batches the ingest queue holds before ingest answers 503. Default 4096.
    pub queue_max_batches: Option<usize>,
    /// Bytes of batch bodies the ingest queue holds before ingest answers 503. Default 67108864
    /// (64 MiB).
    pub queue_max_bytes: Option<usize>,
    /// Connections in the PostgreSQL pool (ignored for SQLite), at least 2. Default 8.
    pub postgres_pool_size: Option<u32>,
    /// Days per-minute roll-ups are kept. Default 2.
    pub rollup_minute_days: Option<u32>,
    /// Days per-hour roll-ups are kept. Default 90.
    pub rollup_hour_days: Option<u32>,
    /// Days per-day roll-ups are kept. Default 730.
    pub rollup_day_days: Option<u32>,
    /// Seconds between roll-up passes. Default 60.
    pub rollup_interval_seconds: Option<u64>,
    /// Seconds between host samples. Default 10.
    pub system_sample_interval_seconds: Option<u64>,
    /// Seconds between lists of the busiest processes. Default 60.
    pub top_processes_interval_seconds: Option<u64>,
    /// CPU busy share (percent) from which the host is in warning. Default 75.
    pub cpu_warning_percent: Option<f64>,
    /// CPU busy share from which the host is critical. Default 90.
    pub cpu_critical_percent: Option<f64>,
    /// Memory used share from which the host is in warning. Default 80.
    pub memory_warning_percent: Option<f64>,
    /// Memory used share from which the host is critical. Default 90.
    pub memory_critical_percent: Option<f64>,
    /// A disk's used share from which the host is in warning. Default 85.
    pub disk_warning_percent: Option<f64>,
    /// A disk's used share from which the host is critical. Default 95.
    pub disk_critical_percent: Option<f64>,
    /// A TOML price table in the format of the built-in `collector/prices.toml`, whose entries
    /// replace the built-in ones of the same provider, model and date and add the others.
    /// Relative to the working directory. Default: the built-in table alone.
    pub prices_file: Option<PathBuf>,
    /// Minutes back a user counts as active. Default 5.
    pub active_user_minutes: Option<u32>,
    /// Minutes of inactivity after which a session's activity counts as a new session.
    /// Default 30.
    pub session_timeout_minutes: Option<u32>,
    /// Public write keys for ingest: `[[write_keys]]` tables of `key` (8 to 256 printable
    /// characters), optional `app` (browser batches with the key must be of this app) and
    /// `origins` (the pages that may post with it, `https://host[:port]`; default any).
    /// `PERFWATCH_WRITE_KEYS` (comma-separated keys, any app and origin) replaces them.
    /// Default none.
    pub write_keys: Option<Vec<FileWriteKey>>,
    /// Tokens that may read (`name:secret`, the secret at least 16 characters).
    /// `PERFWATCH_READ_TOKENS` (comma-separated) replaces them. Default none.
    pub read_tokens: Option<Vec<String>>,
    /// Tokens that may manage silences, reload the alert rules and erase a user's data (and
    /// read), each `name:secret`. `PERFWATCH_ADMIN_TOKENS` (comma-separated) replaces them.
    /// Default none: on an open collector (no key and no token at all) anyone on the loopback
    /// may; otherwise nobody may.
    pub admin_tokens: Option<Vec<String>>,
    /// Origins whose pages may call the read API (`https://dashboard.example`). Default any
    /// (the tokens decide).
    pub read_origins: Option<Vec<String>>,
    /// Serve `/metrics` without a token (for a Prometheus that cannot send one). Default false.
    pub public_metrics: Option<bool>,
    /// Address blocks of the reverse proxies whose `X-Forwarded-For` names the client
    /// (`["127.0.0.1/32", "10.0.0.0/8"]`). Default none.
    pub trusted_proxies: Option<Vec<String>>,
    /// Query parameters kept in the page and resource URLs of browser batches (the SDK's
    /// `allowedQueryParams`; every other parameter, the fragment and anything that looks
    /// secret are scrubbed again on the server). Default none.
    pub allowed_query_params: Option<Vec<String>>,
    /// Seconds a request body may take to arrive before the answer is 408. Default 30.
    pub request_body_timeout_seconds: Option<u64>,
    /// Requests per second per write key (`per_second`, `burst`; 0 = no limit). Default 2000,
    /// burst 4000.
    pub rate_limit_per_key: Option<FileRate>,
    /// Requests per second per client address, loopback clients excepted (`per_second`,
    /// `burst`; 0 = no limit). Default 100, burst 200.
    pub rate_limit_per_ip: Option<FileRate>,
    /// Alert rules, evaluation and notifications: see [`crate::alerts::rules`] (checked there,
    /// with the line of each rule).
    pub alerts: Option<toml::Value>,
}

impl FileConfig {
    /// Reads and parses the TOML file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::ParseFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }
}

/// Where events are stored.
///
/// Its `Debug` and `Display` never show a password: print it as it is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database: the URL as given (`postgres://` or `postgresql://`, in the
    /// syntax libpq and the `postgres` crate accept). It may carry a password; see
    /// [`redact_url`].
    Postgres(String),
    /// No store: batches are validated and dropped (`discard:`), only to measure the ingest
    /// path's ceiling in benchmarks.
    Discard,
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
            Self::Discard => f.write_str("Discard"),
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_url(url)),
            Self::Discard => f.write_str("discard:"),
        }
    }
}

impl StoreLocation {
    /// Parses a store URL: `sqlite://PATH` or `sqlite:PATH` (`sqlite:///abs/path.db` for an
    /// absolute path), or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMS]`
    /// (`postgresql://` too), whose syntax is checked here; `discard:` keeps nothing (benchmarks).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(ConfigError::EmptySqlitePath);
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            "discard" => Ok(Self::Discard),
            "postgres" | "postgresql" => match url.parse::<postgres::Config>() {
                Ok(_) => Ok(Self::Postgres(url.to_owned())),
                Err(err) => Err(ConfigError::PostgresUrl {
                    reason: scrub_secrets(&crate::store::postgres::describe(&err), url),
                }),
            },
            // Only the scheme is quoted: a URL may carry a password.
            _ => Err(ConfigError::UnknownStore {
                scheme: scheme.chars().take(20).collect(),
            }),
        }
    }
}

/// The collector's resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where to listen (port 0: a free port).
    pub listen: SocketAddr,
    /// The data directory (created at start-up).
    pub data_dir: PathBuf,
    /// Where events are stored.
    pub store: StoreLocation,
    /// HTTPS: the certificate chain and key, read and checked (`--tls-cert`/`--tls-key`,
    /// `PERFWATCH_TLS_CERT`/`PERFWATCH_TLS_KEY`, the file's `tls_cert`/`tls_key`); `None`
    /// serves plain HTTP (the default).
    pub tls: Option<TlsSettings>,
    /// Days raw events are kept (from the file's `retention_days`; default 7).
    pub retention_days: u32,
    /// Batches the ingest queue holds (file: `queue_max_batches`; default 4096).
    pub queue_max_batches: usize,
    /// Bytes the ingest queue holds (file: `queue_max_bytes`; default 64 MiB).
    pub queue_max_bytes: usize,
    /// PostgreSQL pool size (file: `postgres_pool_size`; default 8).
    pub postgres_pool_size: u32,
    /// How long each roll-up tier is kept (file: `rollup_minute_days`, `rollup_hour_days`,
    /// `rollup_day_days`; default 2, 90, 730).
    pub rollups: RollupPolicy,
    /// Time between roll-up passes (file: `rollup_interval_seconds`; default 60 s).
    pub rollup_interval: Duration,
    /// When the host samples, and lists its busiest processes (file:
    /// `system_sample_interval_seconds`, `top_processes_interval_seconds`; default 10 s, 60 s).
    pub monitor: MonitorSchedule,
    /// The host's warning and critical shares (file: `cpu_warning_percent`, ...; default
    /// 75/90 CPU, 80/90 memory, 85/95 disk).
    pub thresholds: Thresholds,
    /// The user's AI model prices, added to the built-in table (file: `prices_file`).
    pub prices_file: Option<PathBuf>,
    /// How users and sessions are counted (file: `active_user_minutes`,
    /// `session_timeout_minutes`; default 5, 30).
    pub sessions: SessionPolicy,
    /// The config file the settings came from: alert rules are read from it again on reload.
    pub config_file: Option<PathBuf>,
    /// Alert rules, evaluation and notifications (the file's `[alerts]`; default: the built-in
    /// rules, no notifications).
    pub alerts: AlertsConfig,
    /// Keys, tokens, origins, trusted proxies and rate limits (the file's `write_keys`,
    /// `read_tokens`, `admin_tokens`, `read_origins`, `public_metrics`, `trusted_proxies`,
    /// `rate_limit_per_key`, `rate_limit_per_ip`, and `PERFWATCH_WRITE_KEYS`,
    /// `PERFWATCH_READ_TOKENS`, `PERFWATCH_ADMIN_TOKENS`).
    pub access: AccessPolicy,
    /// How long a request body may take to arrive (file: `request_body_timeout_seconds`;
    /// default 30 s).
    pub body_timeout: Duration,
    /// Query parameters kept when URLs are scrubbed (file: `allowed_query_params`; default
    /// none).
    pub allowed_query_params: Vec<String>,
}

/// Seconds between roll-up passes when the config file does not say.
pub const DEFAULT_ROLLUP_INTERVAL_SECS: u64 = 60;

/// Days raw events are kept when the config file does not say.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;

/// Why the settings cannot start a collector. The binary prints the message and exits non-zero.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// `retention_days = 0` would delete events as they arrive.
    #[error("`retention_days` must be at least 1")]
    RetentionDays,
    /// A size in the config file is 0.
    #[error("`{key}` must be at least 1")]
    Zero {
        /// The key.
        key: &'static str,
    },
    /// A threshold outside (0, 100], or a warning above its critical threshold.
    #[error("`{warning}` and `{critical}` must be percentages in (0, 100] with the warning at most the critical one, got {warning_value} and {critical_value}")]
    Thresholds {
        /// The warning key.
        warning: &'static str,
        /// The critical key.
        critical: &'static str,
        /// Its value.
        warning_value: f64,
        /// Its value.
        critical_value: f64,
    },
    /// `postgres_pool_size = 1`: the roll-up pass holds a connection (its lock) while it reads
    /// and writes through others, and the writer needs one meanwhile.
    #[error("`postgres_pool_size` must be at least 2: the roll-up pass holds one connection while the others read and write")]
    PoolTooSmall,
    /// The config file could not be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown key.
    #[error("the config file {} is not valid: {source}", path.display())]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// Why (with line and column).
        source: Box<toml::de::Error>,
    },
    /// The listen address is not `IP:PORT`.
    #[error("the listen address `{value}` is not IP:PORT (such as 127.0.0.1:8001 or [::1]:8001): {source}")]
    Listen {
        /// What was given.
        value: String,
        /// Why it does not parse.
        source: std::net::AddrParseError,
    },
    /// A `postgres://` store URL that does not parse.
    #[error("the PostgreSQL store URL is not valid ({reason}); the form is postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")]
    PostgresUrl {
        /// Why (never the password).
        reason: String,
    },
    /// A store URL with an unknown scheme.
    #[error("the store URL scheme `{scheme}` is not supported; use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnknownStore {
        /// The URL's scheme.
        scheme: String,
    },
    /// `sqlite://` without a path.
    #[error(
        "the store URL sqlite:// needs a file path, such as sqlite://perfwatch-data/perfwatch.db"
    )]
    EmptySqlitePath,
    /// The `[alerts]` table cannot be used: which rule, on which line, and why.
    #[error("the config file {}: {source}", path.display())]
    Alerts {
        /// The file.
        path: PathBuf,
        /// Why.
        source: RuleError,
    },
    /// A write key, token, origin, proxy or rate that cannot be used.
    #[error("access settings: {0}")]
    Access(String),
    /// Only one of the TLS certificate and key was given.
    #[error("HTTPS needs both a certificate and its key: {given} was given without {missing}")]
    TlsIncomplete {
        /// What was given (the flag, environment variable and file key).
        given: &'static str,
        /// What is missing.
        missing: &'static str,
    },
    /// The TLS certificate or key file cannot be read (missing, or not readable by this user).
    #[error("cannot read the TLS {what} file {}: {source}", path.display())]
    TlsRead {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS certificate or key file is not well-formed PEM.
    #[error("the TLS {what} file {} is not valid PEM: {reason}", path.display())]
    TlsPem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong (never the file's content).
        reason: &'static str,
    },
    /// The certificate file holds no `CERTIFICATE` block.
    #[error("the TLS certificate file {} holds no certificate: expected PEM `-----BEGIN CERTIFICATE-----` blocks, the server's certificate first (are --tls-cert and --tls-key swapped?)", path.display())]
    TlsNoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key this version reads.
    #[error("the TLS key file {} holds no private key: expected PEM `-----BEGIN PRIVATE KEY-----` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`; an encrypted key must be decrypted first (openssl pkey -in KEY -out KEY.pem)", path.display())]
    TlsNoKey {
        /// The file.
        path: PathBuf,
    },
    /// The private key is not the certificate's.
    #[error("the TLS key {} does not match the certificate {}: the certificate's public key is not this key's", key.display(), cert.display())]
    TlsKeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refuses the certificate or key (an unsupported key type, a malformed certificate).
    #[error("the TLS certificate {} and key {} cannot be used: {reason}", cert.display(), key.display())]
    TlsUnusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason (never key material).
        reason: String,
    },
    /// An unprotected collector on a reachable address.
    #[error("refusing to listen on {addr}: a collector on a non-loopback address needs write keys (PERFWATCH_WRITE_KEYS or write_keys) and read tokens (PERFWATCH_READ_TOKENS or read_tokens); without them it listens only on a loopback address such as 127.0.0.1 or [::1]")]
    NotLoopback {
        /// The refused address.
        addr: SocketAddr,
    },
}

impl Config {
    /// Resolves the settings from `args`, then `env` (a lookup such as
    /// `|name| std::env::var(name).ok()`; empty values count as unset), then the config file,
    /// then the defaults; reads and checks the TLS certificate and key when given
    /// ([`TlsSettings::load`]); and checks that this version can run them ([`Config::validate`]).
    pub fn resolve(args: Args, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let config_file = args.config.or_else(|| env(ENV_CONFIG).map(PathBuf::from));
        let file = match &config_file {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let access = access_policy(&file, &env).map_err(ConfigError::Access)?;

        let listen = args
            .listen
            .or_else(|| env(ENV_LISTEN))
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen
            .trim()
            .parse()
            .map_err(|source| ConfigError::Listen {
                value: listen.clone(),
                source,
            })?;
        let data_dir = args
            .data_dir
            .or_else(|| env(ENV_DATA_DIR).map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let store = match args.store.or_else(|| env(ENV_STORE)).or(file.store) {
            Some(url) => StoreLocation::parse(url.trim())?,
            None => StoreLocation::Sqlite(data_dir.join(SQLITE_FILE)),
        };
        // Each file on its own: flag over environment over the config file.
        let tls_cert = args
            .tls_cert
            .or_else(|| env(ENV_TLS_CERT).map(PathBuf::from))
            .or(file.tls_cert);
        let tls_key = args
            .tls_key
            .or_else(|| env(ENV_TLS_KEY).map(PathBuf::from))
            .or(file.tls_key);
        const CERT: &str = "a certificate (--tls-cert, PERFWATCH_TLS_CERT or tls_cert)";
        const KEY: &str = "a key (--tls-key, PERFWATCH_TLS_KEY or tls_key)";
        let tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsSettings::load(&cert, &key)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::TlsIncomplete {
                    given: CERT,
                    missing: KEY,
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError::TlsIncomplete {
                    given: KEY,
                    missing: CERT,
                })
            }
        };

        let retention_days = file.retention_days.unwrap_or(DEFAULT_RETENTION_DAYS);
        if retention_days == 0 {
            return Err(ConfigError::RetentionDays);
        }
        let positive = |key: &'static str, value: Option<usize>, default: usize| match value {
            Some(0) => Err(ConfigError::Zero { key }),
            other => Ok(other.unwrap_or(default)),
        };
        let queue_defaults = crate::ingest_queue::QueueLimits::default();
        let days = |key: &'static str, value: Option<u32>, default: u32| match value {
            Some(0) => Err(ConfigError::Zero { key }),
            other => Ok(other.unwrap_or(default)),
        };
        let rollup_defaults = RollupPolicy::default();
        let session_defaults = SessionPolicy::default();
        let rollups = RollupPolicy {
            minute_days: days(
                "rollup_minute_days",
                file.rollup_minute_days,
                rollup_defaults.minute_days,
            )?,
            hour_days: days(
                "rollup_hour_days",
                file.rollup_hour_days,
                rollup_defaults.hour_days,
            )?,
            day_days: days(
                "rollup_day_days",
                file.rollup_day_days,
                rollup_defaults.day_days,
            )?,
        };
        let seconds = |key: &'static str, value: Option<u64>, default: Duration| match value {
            Some(0) => Err(ConfigError::Zero { key }),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(default),
        };
        let rollup_interval = seconds(
            "rollup_interval_seconds",
            file.rollup_interval_seconds,
            Duration::from_secs(DEFAULT_ROLLUP_INTERVAL_SECS),
        )?;
        let monitor_defaults = MonitorSchedule::default();
        let monitor = MonitorSchedule {
            interval: seconds(
                "system_sample_interval_seconds",
                file.system_sample_interval_seconds,
                monitor_defaults.interval,
            )?,
            top_interval: seconds(
                "top_processes_interval_seconds",
                file.top_processes_interval_seconds,
                monitor_defaults.top_interval,
            )?,
        };
        let defaults = Thresholds::default();
        let pair = |(warning, critical): (&'static str, &'static str),
                    values: (Option<f64>, Option<f64>),
                    default: (f64, f64)| {
            let (w, c) = (values.0.unwrap_or(default.0), values.1.unwrap_or(default.1));
            let valid = |v: f64| v > 0.0 && v <= 100.0;
            if valid(w) && valid(c) && w <= c {
                Ok((w, c))
            } else {
                Err(ConfigError::Thresholds {
                    warning,
                    critical,
                    warning_value: w,
                    critical_value: c,
                })
            }
        };
        let thresholds = Thresholds {
            cpu: pair(
                ("cpu_warning_percent", "cpu_critical_percent"),
                (file.cpu_warning_percent, file.cpu_critical_percent),
                defaults.cpu,
            )?,
            memory: pair(
                ("memory_warning_percent", "memory_critical_percent"),
                (file.memory_warning_percent, file.memory_critical_percent),
                defaults.memory,
            )?,
            disk: pair(
                ("disk_warning_percent", "disk_critical_percent"),
                (file.disk_warning_percent, file.disk_critical_percent),
                defaults.disk,
            )?,
        };
        let config = Self {
            listen,
            data_dir,
            store,
            tls,
            retention_days,
            queue_max_batches: positive(
                "queue_max_batches",
                file.queue_max_batches,
                queue_defaults.max_batches,
            )?,
            queue_max_bytes: positive(
                "queue_max_bytes",
                file.queue_max_bytes,
                queue_defaults.max_bytes,
            )?,
            postgres_pool_size: positive(
                "postgres_pool_size",
                file.postgres_pool_size.map(|n| n as usize),
                crate::store::postgres::DEFAULT_POOL_SIZE as usize,
            )? as u32,
            rollups,
            rollup_interval,
            monitor,
            thresholds,
            prices_file: file.prices_file,
            alerts: Alerting::load(config_file.as_deref(), thresholds).map_err(|source| {
                ConfigError::Alerts {
                    path: config_file.clone().unwrap_or_default(),
                    source,
                }
            })?,
            config_file,
            access,
            allowed_query_params: file.allowed_query_params.clone().unwrap_or_default(),
            body_timeout: seconds(
                "request_body_timeout_seconds",
                file.request_body_timeout_seconds,
                crate::body::DEFAULT_BODY_TIMEOUT,
            )?,
            sessions: SessionPolicy {
                active_minutes: days(
                    "active_user_minutes",
                    file.active_user_minutes,
                    session_defaults.active_minutes,
                )?,
                timeout_minutes: days(
                    "session_timeout_minutes",
                    file.session_timeout_minutes,
                    session_defaults.timeout_minutes,
                )?,
            },
        };
        if config.postgres_pool_size < 2 {
            return Err(ConfigError::PoolTooSmall);
        }
        config.validate()?;
        Ok(config)
    }

    /// The PostgreSQL pool's options these settings ask for.
    pub fn postgres_options(&self) -> crate::store::PostgresOptions {
        crate::store::PostgresOptions {
            pool_size: self.postgres_pool_size,
            ..crate::store::PostgresOptions::default()
        }
    }

    /// Checks what this version can run: without write keys and read tokens the collector
    /// listens on loopback addresses only.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let protected = !self.access.write_keys.is_empty() && !self.access.read_tokens.is_empty();
        if !self.listen.ip().is_loopback() && !protected {
            return Err(ConfigError::NotLoopback { addr: self.listen });
        }
        Ok(())
    }
}

/// A `[[write_keys]]` table of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWriteKey {
    pub key: String,
    pub app: Option<String>,
    #[serde(default)]
    pub origins: Vec<String>,
}

/// A rate in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRate {
    pub per_second: f64,
    pub burst: Option<f64>,
}

/// The access policy of `file` and the environment (which replaces the file's lists).
fn access_policy(
    file: &FileConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<AccessPolicy, String> {
    let tokens = |var: &str, listed: &Option<Vec<String>>| match env(var) {
        Some(list) => Token::parse_list(&list),
        None => listed.iter().flatten().map(|t| Token::parse(t)).collect(),
    };
    let write_keys = match env(ENV_WRITE_KEYS) {
        Some(list) => WriteKey::parse_list(&list)?,
        None => file
            .write_keys
            .iter()
            .flatten()
            .map(|k| WriteKey::new(&k.key, k.app.clone(), k.origins.clone()))
            .collect::<Result<_, _>>()?,
    };
    let rate = |key: &str, rate: Option<FileRate>| -> Result<Option<Rate>, String> {
        rate.map(|r| {
            let burst = r.burst.unwrap_or(r.per_second * 2.0);
            if r.per_second.is_finite() && r.per_second >= 0.0 && burst.is_finite() && burst >= 1.0
                || r.per_second == 0.0
            {
                Ok(Rate {
                    per_second: r.per_second,
                    burst,
                })
            } else {
                Err(format!(
                    "`{key}`: per_second must be 0 or more and burst at least 1"
                ))
            }
        })
        .transpose()
    };
    let read_origins = file.read_origins.clone().unwrap_or_default();
    crate::access::check_origins(&read_origins).map_err(|e| format!("read_origins: {e}"))?;
    Ok(AccessPolicy {
        write_keys,
        read_tokens: tokens(ENV_READ_TOKENS, &file.read_tokens)?,
        admin_tokens: tokens(ENV_ADMIN_TOKENS, &file.admin_tokens)?,
        read_origins,
        public_metrics: file.public_metrics.unwrap_or(false),
        trusted_proxies: file
            .trusted_proxies
            .iter()
            .flatten()
            .map(|c| Cidr::parse(c))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("trusted_proxies: {e}"))?,
        key_rate: rate("rate_limit_per_key", file.rate_limit_per_key)?,
        ip_rate: rate("rate_limit_per_ip", file.rate_limit_per_ip)?,
    })
}

/// `url` with every password it carries replaced by `***`: the one in the user info
/// (`postgres://user:PASSWORD@host/db`) and any `password=` query parameter. For logs, messages
/// and `Debug`.
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut last = 0;
    for range in secret_ranges(url) {
        out.push_str(&url[last..range.start]);
        out.push_str("***");
        last = range.end;
    }
    out.push_str(&url[last..]);
    out
}

/// `message` with every password of `url` (as written in it) replaced by `***`, for errors that
/// might quote part of the URL.
pub fn scrub_secrets(message: &str, url: &str) -> String {
    secret_ranges(url)
        .into_iter()
        .map(|range| &url[range])
        .filter(|secret| !secret.is_empty())
        .fold(message.to_owned(), |text, secret| {
            text.replace(secret, "***")
        })
}

/// Where `url`'s passwords are, in order. The user info ends at the first `@`, as the
/// `postgres` crate reads it (a password containing `@`, `/` or `?` must be percent-encoded
/// there, but a careless one is redacted all the same).
fn secret_ranges(url: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut query_from = 0;
    if let Some(scheme_end) = url.find("://") {
        let rest = scheme_end + 3;
        if let Some(at) = url[rest..].find('@').map(|i| rest + i) {
            if let Some(colon) = url[rest..at].find(':').map(|i| rest + i) {
                ranges.push(colon + 1..at);
            }
            query_from = at + 1;
        }
    }
    // `password=` parameters, wherever a parameter may start after the user info.
    let mut from = query_from;
    while let Some(found) = url[from..].find(['?', '&']).map(|i| from + i) {
        let key_start = found + 1;
        let value_start = key_start + "password=".len();
        if url
            .get(key_start..value_start)
            .is_some_and(|key| key.eq_ignore_ascii_case("password="))
        {
            let value_end = url[value_start..]
                .find('&')
                .map_or(url.len(), |i| value_start + i);
            ranges.push(value_start..value_end);
        }
        from = key_start;
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_they_are() {
        for (url, redacted) in [
            ("postgres://u:pw@db/x", "postgres://u:***@db/x"),
            ("postgresql://u@db:5433/x", "postgresql://u@db:5433/x"),
            (
                "postgres://u:p%40w@db/x?sslmode=disable",
                "postgres://u:***@db/x?sslmode=disable",
            ),
            ("postgres://u:pa/s?s@db/x", "postgres://u:***@db/x"),
            (
                "postgres://db/x?user=u&password=s3&sslmode=disable",
                "postgres://db/x?user=u&password=***&sslmode=disable",
            ),
            (
                "postgres://u:a@db/x?PASSWORD=b",
                "postgres://u:***@db/x?PASSWORD=***",
            ),
            ("postgres://u:@db/x", "postgres://u:***@db/x"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
        assert_eq!(
            scrub_secrets("failed near `s3cret` for u", "postgres://u:s3cret@db/x"),
            "failed near `***` for u"
        );
    }
}
