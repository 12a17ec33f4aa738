//! `perfwatch-collector [--config FILE] [--listen ADDR:PORT] [--data-dir DIR] [--store URL]
//! [--tls-cert F --tls-key F] [backup --to FILE | export ...]`: see
//! [`perfwatch_collector::config`] and [`perfwatch_collector::cli`].

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use perfwatch_collector::config::{Args, Config};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut args = Args::parse();
    let command = args.command.take();
    init_tracing();
    let config = match Config::resolve(args, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("perfwatch-collector: {err}");
            return ExitCode::from(2);
        }
    };
    if let Some(command) = command {
        return match perfwatch_collector::cli::run(command, &config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("perfwatch-collector: {err}");
                ExitCode::FAILURE
            }
        };
    }
    match actix_web::rt::System::new().block_on(perfwatch_collector::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("perfwatch-collector: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries only the "listening on" line), at `info` unless `RUST_LOG`
/// says otherwise.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Fails only if a subscriber is already set, which cannot happen in this binary.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
