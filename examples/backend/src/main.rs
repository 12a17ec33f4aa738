//! `perfwatch-example-backend [--listen ADDR:PORT] [--static-dir DIR] [--collector URL]
//! [--key KEY] ...`: see [`perfwatch_example_backend::config::Args`].

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use perfwatch_example_backend::config::Args;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing();
    let config = match args.into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("perfwatch-example-backend: {err}");
            return ExitCode::from(2);
        }
    };
    let collector = config.reporter.collector.clone();
    let static_dir = config.static_dir.clone();
    let served = actix_web::rt::System::new().block_on(async move {
        let running = perfwatch_example_backend::start(config)?;
        // The one line on stdout, for scripts waiting for the port (as the collector does).
        println!(
            "perfwatch-example-backend listening on http://{}",
            running.addr
        );
        tracing::info!(
            %collector,
            static_dir = %static_dir.display(),
            "serving the example app and its API; reporting to the collector"
        );
        running.run().await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("perfwatch-example-backend: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, at `info` unless `RUST_LOG` says otherwise.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
