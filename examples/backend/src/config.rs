//! The backend's settings: command-line flags, each also an environment variable (a flag wins).

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

use crate::reporter::ReporterConfig;
use crate::simulate::Simulation;

/// Default listen address (CONTRACT.md, "Ports": the example backend is 8002).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8002";
/// Default collector (CONTRACT.md, "Ports").
pub const DEFAULT_COLLECTOR: &str = "http://127.0.0.1:8001";
/// Default directory of the built app, relative to the working directory (the repository root
/// when started by `scripts/run.sh` or `cargo run` there).
pub const DEFAULT_STATIC_DIR: &str = "examples/react-app/dist";

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "perfwatch-example-backend",
    version,
    about = "perfwatch example backend: serves the example app and a simulated AI API, \
             and reports every API and AI call to the perfwatch collector"
)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one
    #[arg(long, env = "EXAMPLE_LISTEN", default_value = DEFAULT_LISTEN, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Directory of the built single-page app (index.html and its assets)
    #[arg(long, env = "EXAMPLE_STATIC_DIR", default_value = DEFAULT_STATIC_DIR, value_name = "DIR")]
    pub static_dir: PathBuf,
    /// The perfwatch collector the records are sent to
    #[arg(long, env = "EXAMPLE_COLLECTOR", default_value = DEFAULT_COLLECTOR, value_name = "URL")]
    pub collector: String,
    /// Write key sent to the collector as `X-Perfwatch-Key` (none by default)
    #[arg(
        long,
        env = "EXAMPLE_WRITE_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Shortest simulated model latency, ms
    #[arg(
        long,
        env = "EXAMPLE_MIN_LATENCY_MS",
        default_value_t = 200,
        value_name = "MS"
    )]
    pub min_latency_ms: u64,
    /// Longest simulated model latency, ms
    #[arg(
        long,
        env = "EXAMPLE_MAX_LATENCY_MS",
        default_value_t = 1500,
        value_name = "MS"
    )]
    pub max_latency_ms: u64,
    /// Share of simulated model calls that fail with 503, from 0 to 1
    #[arg(
        long,
        env = "EXAMPLE_FAILURE_RATE",
        default_value_t = 0.1,
        value_name = "SHARE"
    )]
    pub failure_rate: f64,
}

/// The settings, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub static_dir: PathBuf,
    pub simulation: Simulation,
    pub reporter: ReporterConfig,
}

impl Args {
    /// The settings these flags give, or why they are unusable.
    pub fn into_config(self) -> Result<Config, String> {
        if self.min_latency_ms > self.max_latency_ms {
            return Err(format!(
                "--min-latency-ms ({}) is above --max-latency-ms ({})",
                self.min_latency_ms, self.max_latency_ms
            ));
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "--failure-rate must be from 0 to 1, got {}",
                self.failure_rate
            ));
        }
        let collector = self.collector.trim_end_matches('/').to_owned();
        if !collector.starts_with("http://") {
            return Err(format!(
                "--collector must be an http:// URL (this example has no TLS client), got `{collector}`"
            ));
        }
        Ok(Config {
            listen: self.listen,
            static_dir: resolve_static_dir(&self.static_dir),
            simulation: Simulation {
                latency_ms: RangeInclusive::new(self.min_latency_ms, self.max_latency_ms),
                failure_rate: self.failure_rate,
            },
            reporter: ReporterConfig {
                collector,
                write_key: self.key.filter(|k| !k.is_empty()),
                ..ReporterConfig::default()
            },
        })
    }
}

impl Default for Config {
    /// The defaults, but listening on a free loopback port: for tests.
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            static_dir: PathBuf::from(DEFAULT_STATIC_DIR),
            simulation: Simulation::default(),
            reporter: ReporterConfig::default(),
        }
    }
}

/// `dir` as given when it exists; the default, when the working directory is not the repository
/// root (`cargo run` from `examples/backend`), is also looked for beside this crate.
fn resolve_static_dir(dir: &Path) -> PathBuf {
    if dir.is_dir() || dir != Path::new(DEFAULT_STATIC_DIR) {
        return dir.to_path_buf();
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../react-app/dist");
    if beside.is_dir() {
        beside
    } else {
        dir.to_path_buf()
    }
}

/// How long the reporter may take to send what is left when the server stops.
pub const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let mut all = vec!["perfwatch-example-backend"];
        all.extend_from_slice(args);
        Args::try_parse_from(all)
            .map_err(|e| e.to_string())?
            .into_config()
    }

    #[test]
    fn flags_are_checked() {
        let config = parse(&["--listen", "127.0.0.1:9000", "--key", "pk_1"]).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.reporter.write_key.as_deref(), Some("pk_1"));
        assert!(parse(&["--min-latency-ms", "10", "--max-latency-ms", "5"]).is_err());
        assert!(parse(&["--failure-rate", "1.5"]).is_err());
        assert!(parse(&["--collector", "https://collector.example"]).is_err());
        let slash = parse(&["--collector", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(slash.reporter.collector, "http://127.0.0.1:1");
    }
}
