//! # perfwatch example backend
//!
//! Serves the example app and the simulated AI API it calls, and reports every API request and
//! every model call to the perfwatch collector, the way a real backend would.
//!
//! ## A chat request's path
//!
//! ```text
//!  browser ──POST /api/chat {"model","message"} (traceparent)──▶ report_api_call (times it)
//!                                                                  │
//!      routes::chat: JSON ≤ 16 KB (413), shape (400), model known (404), message (400)
//!      Simulation::plan: latency 200–1500 ms, ~10 % fail ──▶ timer sleep (no worker blocked)
//!      Reporter::record(AI call) ──▶ 200 {"reply", ...} or 503 {"error"}
//!                                                                  │
//!      report_api_call: Reporter::record(API call: route, method, status, duration, trace id)
//!                                  ▼
//!      RecordBuffer (bounded) ──▶ sender task ──▶ collector /api/v1/monitoring/{api,ai}-calls
//! ```
//!
//! Any other path is a file of the built app, or its `index.html` ([`static_files`]).

pub mod config;
pub mod error;
pub mod reporter;
pub mod routes;
pub mod simulate;
pub mod static_files;
pub mod trace_context;

use std::io;
use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

use crate::config::{Config, SHUTDOWN_FLUSH};
use crate::reporter::{Reporter, ReporterTask};

/// The backend, listening.
pub struct Running {
    /// The address it listens on (the port chosen, when 0 was asked for).
    pub addr: SocketAddr,
    /// Stops the HTTP server.
    pub handle: ServerHandle,
    /// What the API calls are recorded through (for its statistics).
    pub reporter: Reporter,
    server: actix_web::dev::Server,
    task: ReporterTask,
}

/// Binds `config.listen` and starts the reporter; [`Running::run`] then serves. Must be called
/// inside an actix system (the reporter's client lives on its thread).
pub fn start(config: Config) -> io::Result<Running> {
    let (reporter, task) = reporter::start(config.reporter.clone());
    let app_reporter = web::Data::new(reporter.clone());
    let simulation = web::Data::new(config.simulation.clone());
    let static_app = static_files::StaticApp::new(&config.static_dir);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_reporter.clone())
            .app_data(simulation.clone())
            .configure(routes::configure)
            .configure(|cfg| static_app.configure(cfg))
    })
    .bind(config.listen)?;
    let addr = server.addrs().first().copied().unwrap_or(config.listen);
    let server = server.run();
    Ok(Running {
        addr,
        handle: server.handle(),
        reporter,
        server,
        task,
    })
}

impl Running {
    /// Serves until the server stops (SIGTERM, Ctrl-C or [`ServerHandle::stop`]), then sends
    /// the records still waiting, for at most a few seconds.
    pub async fn run(self) -> io::Result<()> {
        let result = self.server.await;
        self.task.shutdown(SHUTDOWN_FLUSH).await;
        let stats = self.reporter.stats();
        tracing::info!(
            sent = stats.sent,
            refused = stats.refused,
            dropped = stats.dropped,
            "stopped"
        );
        result
    }
}
