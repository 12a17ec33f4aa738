//! # perfwatch collector
//!
//! Receives the batches the browser SDK sends, stores them, and answers statistics over them.
//!
//! ## An event's path through the collector
//!
//! A browser batch arrives as `POST /api/v1/monitoring/frontend-metrics` (usually `text/plain`
//! from `sendBeacon`, so no CORS preflight). The request log and CORS middleware wrap every
//! route. The ingest handler checks the content type and encoding, reads the body within the
//! size limit (counted after gzip decoding), and hands the bytes to the protocol crate, which
//! refuses a malformed body (400) or a broken envelope (422) whole and checks every item on its
//! own. The accepted items are normalized (page overrides resolved, times moved to the
//! collector's clock) and put on the bounded ingest queue; its one writer thread commits every
//! batch waiting in one transaction, a sync thread flushes it to disk, and only then is the
//! request answered, listing the refused items with their reasons. A 200 therefore means the
//! batch is in the database. A background pass rolls the changed minutes up into the minute,
//! hour and day tiers ([`rollup`]) that answer windows longer than a day.
//!
//! ```text
//!  browser ──POST text/plain [gzip] ?key=──▶ RequestLog ─▶ Cors ─▶ routes::ingest
//!                                                                    │
//!        body::require_content_type / ContentEncoding (415)          │
//!        body::read_bounded: ≤ 64 KB decoded (413) ◀─────────────────┤
//!        perfwatch_protocol::parse_browser_batch ◀───────────────────┤
//!            ├─ not JSON / not UTF-8 / not an object ─▶ 400          │
//!            ├─ envelope rule broken ─────────────────▶ 422          │
//!            └─ items: accepted ┬ rejected[i] (reason) ──▶ answer    │
//!                               ▼                                    │
//!        normalize::browser_records (page overrides, clock skew)     │
//!                               ▼                                    │
//!        IngestQueue::submit ── bounded (batches, bytes): full ─▶ 503 + Retry-After
//!                               ▼
//!        writer thread: every batch waiting, one transaction (group commit),
//!        then the sync thread: one fsync for every group committed meanwhile
//!        Store::write_group ── page_views (once per id) · web_vitals (highest seq)
//!                              · navigations (most complete) · browser_timings and
//!                              browser_errors (once per event id), each idempotent by its key
//!                               ▼   (the handler waits for its batch's commit)
//!        200 {"success": true, "data": {"accepted": N, "rejected": [...]}}
//!
//!  dashboard ──GET /frontend/vitals?hours=──▶ Window ─▶ Store::vital_rows ─▶ stats::VitalsReport
//! ```
//!
//! Errors of every layer are gathered in [`error::ApiError`], whose `ResponseError` impl is the
//! one place that maps them to status codes and the JSON envelope ([`envelope`]).

pub mod access;
pub mod alerts;
pub mod api_call_recorder;
pub mod backend_stats;
pub mod body;
pub mod call_rollup;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod dashboard_assets;
pub mod entry_stats;
pub mod envelope;
pub mod erasure_cache;
pub mod error;
pub mod error_stats;
pub mod histogram;
pub mod host;
pub mod host_history;
pub mod ingest_queue;
pub mod normalize;
pub mod otlp;
pub mod periodic;
pub mod pricing;
pub mod rate_limit;
pub mod request_log;
pub mod retention;
pub mod rollup;
pub mod routes;
pub mod scrub;
pub mod session_stats;
pub mod sketch;
pub mod state;
pub mod stats;
pub mod store;
pub mod system;
pub mod timeseries;
pub mod timing_stats;
pub mod tls;
pub mod window;

/// What the SDK's source files expect in scope (they are `no_std` + `alloc` in the browser):
/// [`scrub`] compiles one of them.
mod prelude {
    pub use std::string::String;
    pub use std::vec::Vec;
}

use std::io::{self, Write};
use std::net::SocketAddr;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    HeaderName, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use actix_web::middleware::Compress;
use actix_web::{web, App, HttpServer};
use api_call_recorder::RecordApiCalls;

pub use config::{Config, ConfigError};
pub use state::AppState;

use host_history::Monitor;
use ingest_queue::{IngestQueue, QueueLimits};
use request_log::RequestLog;
use retention::{Pruner, RetentionPolicy};
use rollup::Roller;
use std::sync::Arc;
use system::SystemInfo;

/// How long browsers may cache a preflight answer, in seconds.
const CORS_MAX_AGE_SECS: usize = 86_400;

/// Seconds in-flight requests get to finish after SIGTERM / Ctrl-C.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// The whole application over `state`: routes, query error handling, the 404 fallback, CORS and
/// the request log. The binary and the tests build the same app with it.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let own_calls = RecordApiCalls::new(state::OWN_SERVICE, state.own_calls.clone());
    let policy = Arc::clone(&state.gate);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(routes::query_config())
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
        // Keys, tokens, origins and rate limits, before any handler (inside CORS, so that a
        // browser can read a 401, 403 or 429).
        .wrap(actix_web::middleware::from_fn(access::enforce))
        // Answers compressed (gzip or brotli) when the client accepts it. Request bodies are
        // not touched: ingest reads and bounds its own (see `body`).
        .wrap(Compress::default())
        .wrap(cors(&policy))
        .wrap(actix_web::middleware::from_fn(access::refuse_preflight))
        .wrap(own_calls)
        .wrap(RequestLog)
}

/// How often the collector stores its own API calls.
const OWN_CALLS_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);

/// Stores the collector's own API calls ([`api_call_recorder`]) every [`OWN_CALLS_FLUSH`].
async fn flush_own_calls(calls: Arc<api_call_recorder::BufferedCalls>, queue: IngestQueue) {
    let mut tick = actix_web::rt::time::interval(OWN_CALLS_FLUSH);
    loop {
        tick.tick().await;
        store_own_calls(&calls, &queue).await;
    }
}

/// Puts the buffered own API calls on the ingest queue; counts them as dropped if it refuses.
async fn store_own_calls(calls: &api_call_recorder::BufferedCalls, queue: &IngestQueue) {
    let taken = calls.take();
    if taken.is_empty() {
        return;
    }
    let count = taken.len();
    // About what their JSON would weigh, for the queue's byte bound.
    let bytes = count * 160;
    if let Err(error) = queue.submit(normalize::Batch::ApiCalls(taken), bytes).await {
        calls.count_dropped(count);
        tracing::warn!(%error, count, "the collector's own API calls were not stored");
    }
}

/// CORS for the browser SDK and dashboards on other origins, never with credentials, on every
/// answer including errors (a browser needs the header to read a 413 or 422): on an open
/// collector any origin (`*`); else the origins the write keys allow for ingest and
/// `read_origins` for the rest (each checked again by [`access::enforce`], since a
/// `text/plain` post needs no preflight).
fn cors(gate: &access::Gate) -> Cors {
    let unrestricted = gate.policy.any_origin();
    // Forbidden origins are refused by `access::refuse_preflight` (preflights) and
    // `access::enforce` (requests, 403 in the envelope, which the page may read); CORS itself
    // echoes the origin of whatever gets that far.
    let cors = Cors::default().allow_any_origin();
    let cors = if unrestricted {
        cors.send_wildcard()
    } else {
        cors
    };
    cors.allowed_methods(["GET", "POST", "DELETE", "OPTIONS"])
        .allowed_headers([
            CONTENT_TYPE,
            CONTENT_ENCODING,
            HeaderName::from_static(access::WRITE_KEY_HEADER),
            AUTHORIZATION,
        ])
        .expose_headers([RETRY_AFTER])
        .max_age(CORS_MAX_AGE_SECS)
}

/// Runs the collector until SIGTERM or Ctrl-C: opens the store, binds, prints
/// `perfwatch-collector listening on http://IP:PORT` (the bound address; `https://` when
/// `config.tls` is set) on stdout, and serves.
///
/// On a signal actix stops accepting and lets in-flight requests finish (each waits for its
/// batch's commit); then the ingest queue is closed and the writer drains it, and the process
/// exits 0.
pub async fn run(config: Config) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            ),
        )
    })?;
    // Opening connects and migrates: blocking work, kept off the async thread (the PostgreSQL
    // client would panic there).
    let location = config.store.clone();
    let postgres = config.postgres_options();
    let store = web::block(move || store::open_with(&location, postgres))
        .await
        .map_err(|e| io::Error::other(format!("cannot open the store: {e}")))?
        .map_err(|e| io::Error::other(format!("cannot open the store {}: {e}", config.store)))?;
    tracing::info!(kind = store.kind(), location = %config.store, "store open");
    let limits = QueueLimits {
        max_batches: config.queue_max_batches,
        max_bytes: config.queue_max_bytes,
        ..QueueLimits::default()
    };
    let (queue, writer) = IngestQueue::start(Arc::clone(&store), limits)?;
    let pruner = Pruner::start(
        Arc::clone(&store),
        RetentionPolicy {
            raw_days: config.retention_days,
            rollups: config.rollups,
        },
    )?;
    let roller = Roller::start(
        Arc::clone(&store),
        config.rollups,
        config.retention_days,
        config.rollup_interval,
    )?;

    let prices = pricing::PriceTable::with_user_file(config.prices_file.as_deref())
        .map_err(|e| io::Error::other(format!("cannot use the price table: {e}")))?;
    let alerting = alerts::evaluator::Alerting::new(
        config.alerts.clone(),
        config.config_file.clone(),
        config.thresholds,
    )?;
    let state = AppState::new(Arc::clone(&store), queue.clone(), SystemInfo::gather())
        .with_thresholds(config.thresholds)
        .with_prices(prices)
        .with_sessions(config.sessions)
        .with_retention(config.rollups, config.retention_days)
        .with_alerting(alerting.clone())
        .with_access(config.access.clone())
        .with_body_timeout(config.body_timeout)
        .with_allowed_query_params(&config.allowed_query_params);
    if config.access.is_open() {
        tracing::warn!(
            "no write key or token is configured: the collector is open to anyone who can reach \
             it, and therefore listens on loopback addresses only (set PERFWATCH_WRITE_KEYS and \
             PERFWATCH_READ_TOKENS to serve other addresses)"
        );
    }
    let evaluator = alerting.start(
        Arc::clone(&store),
        routes::backend_stats::Rollups::of(&state),
    )?;
    tracing::info!(
        rules = config.alerts.rules.len(),
        interval = ?config.alerts.evaluation_interval,
        "alert rules loaded"
    );
    let monitor = Monitor::start(
        Arc::clone(&store),
        state.host.name.clone(),
        Arc::clone(&state.host.latest),
        config.monitor,
    )?;
    let own_calls = Arc::clone(&state.own_calls);
    let flusher = actix_web::rt::spawn(flush_own_calls(Arc::clone(&own_calls), queue.clone()));
    let server = HttpServer::new(move || app(state.clone()))
        // Nagle's algorithm off on every accepted connection, plain or TLS. With it on, an
        // answer written in two parts (head, then a body of a few kilobytes) waits for the
        // client's delayed ACK of the first: 40 ms on every keep-alive request after the first
        // (measured, BENCHMARKS.md).
        .tcp_nodelay(true)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .disable_signals();
    // With a certificate: HTTPS only (HTTP/2 or HTTP/1.1 by ALPN); without: plain HTTP/1.1.
    let (server, scheme) = match &config.tls {
        Some(tls) => (
            server.bind_rustls_0_23(config.listen, tls.server_config())?,
            "https",
        ),
        None => (server.bind(config.listen)?, "http"),
    };
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| io::Error::other("the server bound no address"))?;
    let server = server.run();
    // Our own handlers, registered before the address is announced: a SIGTERM that follows the
    // announcement at once still stops the collector gracefully (actix registers its own only
    // once the server first runs, after this line would have gone out).
    stop_on_signals(server.handle())?;
    reload_on_sighup(alerting.clone(), Arc::clone(&store))?;
    announce(scheme, addr)?;
    let served = server.await;
    // The server has stopped accepting and its requests are answered: store its own last
    // calls, refuse what is left, let the writer commit everything queued, then exit.
    flusher.abort();
    store_own_calls(&own_calls, &queue).await;
    queue.close();
    writer.join();
    pruner.stop();
    roller.stop();
    monitor.stop();
    evaluator.stop();
    alerting.stop();
    served?;
    tracing::info!("perfwatch-collector stopped");
    Ok(())
}

/// Stops `server` gracefully on SIGTERM, SIGINT (Ctrl-C) or SIGQUIT. The handlers are in place
/// when this returns.
fn stop_on_signals(server: actix_web::dev::ServerHandle) -> io::Result<()> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    actix_web::rt::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = quit.recv() => "SIGQUIT",
        };
        tracing::info!(
            signal = name,
            "stopping: finishing requests, draining the queue"
        );
        server.stop(true).await;
    });
    Ok(())
}

/// Reloads the alert rules on SIGHUP (a refused file keeps the old rules and says why in the
/// log).
fn reload_on_sighup(
    alerting: alerts::evaluator::Alerting,
    store: store::SharedStore,
) -> io::Result<()> {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())?;
    actix_web::rt::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the alert rules");
            let alerting = alerting.clone();
            let store = Arc::clone(&store);
            // A refused file is logged by the reload, a refused audit entry by the log.
            let _ = web::block(move || {
                routes::admin::reload_rules(&alerting, store.as_ref(), "SIGHUP")
            })
            .await;
        }
    });
    Ok(())
}

/// Tells the world where the collector listens: one line on stdout,
/// `perfwatch-collector listening on http://IP:PORT` (`https://` with TLS; end-to-end tests
/// wait for it, so it is flushed at once), and the same in the log.
fn announce(scheme: &str, addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "perfwatch-collector listening on {scheme}://{addr}")?;
    stdout.flush()?;
    tracing::info!(%addr, "perfwatch-collector listening on {scheme}://{addr}");
    Ok(())
}
