//! The HTTP surface: which handler answers which method and path. Handlers are thin: they take
//! the request apart, call the layer that does the work, and wrap its answer in the envelope.

pub mod admin;
pub mod alerts;
pub mod backend_stats;
pub mod dashboard;
pub mod dashboard_page;
pub mod health;
pub mod ingest;
pub mod metrics;
pub mod otlp;
pub mod sessions;
pub mod system;
pub mod system_metrics;
pub mod timeseries;
pub mod vitals;

use actix_web::error::QueryPayloadError;
use std::future::{ready, Ready};

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;

/// `POST`: a browser batch.
pub const FRONTEND_METRICS: &str = "/api/v1/monitoring/frontend-metrics";
pub const API_CALLS: &str = "/api/v1/monitoring/api-calls";
pub const AI_CALLS: &str = "/api/v1/monitoring/ai-calls";
/// OTLP/HTTP trace export (the path OpenTelemetry exporters append to their endpoint).
pub const OTLP_TRACES: &str = "/v1/traces";
pub const API_STATS: &str = "/api/v1/monitoring/api/stats";
pub const DASHBOARD: &str = "/api/v1/monitoring/dashboard";
pub const AI_STATS: &str = "/api/v1/monitoring/ai/stats";
/// `GET`: the API, AI and web-vitals numbers of a window over time, in columns for charts.
pub const TIMESERIES: &str = "/api/v1/monitoring/timeseries";
/// `GET`: liveness and readiness.
pub const HEALTH: &str = "/api/v1/monitoring/health";
/// `GET`: the host's facts.
pub const SYSTEM_INFO: &str = "/api/v1/monitoring/system/info";
/// `GET`: the host now, over a window, and its status.
pub const SYSTEM_METRICS: &str = "/api/v1/monitoring/system/metrics";
/// `GET`: the Prometheus exposition.
pub const METRICS: &str = "/metrics";
/// `GET`: web vitals statistics.
pub const FRONTEND_VITALS: &str = "/api/v1/monitoring/frontend/vitals";
/// Active users and session statistics.
pub const SESSIONS: &str = "/api/v1/monitoring/sessions";
/// `GET`: active alerts and history.
pub const ALERTS: &str = "/api/v1/monitoring/alerts";
/// `GET`: the alert rules in force.
pub const ALERT_RULES: &str = "/api/v1/monitoring/alerts/rules";
/// `POST` (admin): read the alert rules again.
pub const ALERT_RELOAD: &str = "/api/v1/monitoring/alerts/reload";
/// `GET`: silences; `POST` (admin): create one.
pub const SILENCES: &str = "/api/v1/monitoring/alerts/silences";
/// `DELETE /users/{id}` (admin): erase a user's data.
pub const USERS: &str = "/api/v1/monitoring/users";
/// `GET`: the audit log of administrative actions.
pub const AUDIT: &str = "/api/v1/monitoring/audit";
/// `DELETE` (admin): expire a silence.
pub const SILENCE: &str = "/api/v1/monitoring/alerts/silences/{id}";
/// `GET`, `HEAD`: the dashboard web page (public: it asks for a token itself).
pub const DASHBOARD_PAGE: &str = "/";
/// `GET`, `HEAD`: the page's assets under this prefix (public, like the page).
pub const DASHBOARD_ASSETS: &str = "/assets/";

/// Registers every route. A known path asked with another method answers 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(FRONTEND_METRICS)
            .route(web::post().to(ingest::frontend_metrics))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(API_CALLS)
            .route(web::post().to(ingest::api_calls))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(AI_CALLS)
            .route(web::post().to(ingest::ai_calls))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(OTLP_TRACES)
            .route(web::post().to(otlp::traces))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(DASHBOARD)
            .route(web::get().to(dashboard::dashboard))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(API_STATS)
            .route(web::get().to(backend_stats::api_stats))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(AI_STATS)
            .route(web::get().to(backend_stats::ai_stats))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(TIMESERIES)
            .route(web::get().to(timeseries::timeseries))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(HEALTH)
            .route(web::get().to(health::health))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(SYSTEM_INFO)
            .route(web::get().to(system::system_info))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(SYSTEM_METRICS)
            .route(web::get().to(system_metrics::system_metrics))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(FRONTEND_VITALS)
            .route(web::get().to(vitals::frontend_vitals))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(SESSIONS)
            .route(web::get().to(sessions::sessions))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(ALERTS)
            .route(web::get().to(alerts::alerts))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(ALERT_RULES)
            .route(web::get().to(alerts::rules))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(ALERT_RELOAD)
            .route(web::post().to(alerts::reload))
            .default_service(web::to(method_not_allowed("POST"))),
    )
    .service(
        web::resource(SILENCES)
            .route(web::get().to(alerts::silences))
            .route(web::post().to(alerts::create_silence))
            .default_service(web::to(method_not_allowed("GET, POST"))),
    )
    .service(
        web::resource(SILENCE)
            .route(web::delete().to(alerts::expire_silence))
            .default_service(web::to(method_not_allowed("DELETE"))),
    )
    .service(
        web::resource(format!("{USERS}/{{user_id}}"))
            .route(web::delete().to(admin::erase_user))
            .default_service(web::to(method_not_allowed("DELETE"))),
    )
    .service(
        web::resource(AUDIT)
            .route(web::get().to(admin::audit))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(METRICS)
            .route(web::get().to(metrics::metrics))
            .default_service(web::to(method_not_allowed("GET"))),
    )
    .service(
        web::resource(DASHBOARD_PAGE)
            .route(web::get().to(dashboard_page::page))
            .route(web::head().to(dashboard_page::page))
            .default_service(web::to(method_not_allowed("GET, HEAD"))),
    )
    .service(
        web::resource(format!("{DASHBOARD_ASSETS}{{path:.*}}"))
            .route(web::get().to(dashboard_page::asset))
            .route(web::head().to(dashboard_page::asset))
            .default_service(web::to(method_not_allowed("GET, HEAD"))),
    );
}

/// Query strings that do not fit an endpoint answer 400 in the envelope, not actix's plain text.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::Query(detail).into()
    })
}

/// A query parameter `name` parsed as `T` and checked by `valid`, `default` when absent; the
/// error says what is expected (`expected`, such as "a whole number from 1 to 1000").
pub fn query_param<T: std::str::FromStr>(
    text: Option<&str>,
    name: &str,
    default: T,
    valid: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, ApiError> {
    let Some(text) = text else {
        return Ok(default);
    };
    text.trim().parse::<T>().ok().filter(valid).ok_or_else(|| {
        ApiError::Query(format!(
            "`{name}` must be {expected}, got `{}`",
            crate::window::shorten(text)
        ))
    })
}

/// Anything no route matches (404).
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound {
        path: req.path().to_owned(),
    })
}

/// A handler answering 405 for a path that takes only `allowed`.
fn method_not_allowed(
    allowed: &'static str,
) -> impl Fn(HttpRequest) -> Ready<Result<HttpResponse, ApiError>> + Clone + 'static {
    move |req: HttpRequest| {
        ready(Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            allowed,
        }))
    }
}
