//! The simulated AI API under `/api`, and the middleware that reports every request it serves.
//!
//! Handlers validate, ask [`crate::simulate`] what the model does, wait the simulated latency
//! on the timer (never blocking a worker), record the AI call and answer.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::mime;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, MAX_BODY_BYTES};
use crate::reporter::records::{epoch_ms, new_event_id, SERVICE};
use crate::reporter::{AiCallRecord, ApiCallRecord, Record, Reporter};
use crate::simulate::{self, Simulation, MODELS, OVERLOADED};
use crate::trace_context;

/// The endpoint an API call record names when no route matched (a 404), so that probes of
/// random paths do not each become a group in the collector.
pub const UNMATCHED_ENDPOINT: &str = "/api/{unmatched}";

/// Adds the `/api` scope to an app: the routes, the JSON rules and the reporting middleware.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        // A `fetch` with a string body and no Content-Type sends text/plain: take that too.
        .content_type(|mime| mime.subtype() == mime::JSON || mime.subtype() == mime::PLAIN)
        .error_handler(|err, _req| ApiError::from_json(&err).into());
    cfg.service(
        web::scope("/api")
            .app_data(json)
            .wrap(from_fn(report_api_call))
            .service(
                web::resource("/models")
                    .get(models)
                    .default_service(web::to(|| method_not_allowed("GET"))),
            )
            .service(
                web::resource("/chat")
                    .post(chat)
                    .default_service(web::to(|| method_not_allowed("POST"))),
            )
            .default_service(web::to(not_found)),
    );
}

/// `GET /api/models`: the catalogue.
async fn models() -> HttpResponse {
    HttpResponse::Ok().json(MODELS)
}

/// `POST /api/chat`'s body.
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub message: String,
}

/// `POST /api/chat`'s answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ChatReply {
    pub reply: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: u64,
}

/// `POST /api/chat`: one simulated model call.
async fn chat(
    req: HttpRequest,
    body: web::Json<ChatRequest>,
    simulation: web::Data<Simulation>,
    reporter: web::Data<Reporter>,
) -> Result<HttpResponse, ApiError> {
    let ChatRequest { model, message } = body.into_inner();
    let model = simulate::model(&model)
        .ok_or_else(|| ApiError::UnknownModel(ApiError::shown(&model, 64)))?;
    if message.trim().is_empty() {
        return Err(ApiError::Invalid("`message` must not be empty"));
    }
    let plan = simulation.plan();
    let (started, timestamp) = (Instant::now(), epoch_ms());
    actix_web::rt::time::sleep(plan.latency).await;
    let completion = (!plan.fails).then(|| simulate::complete(model, &message));
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    reporter.record(Record::Ai(AiCallRecord {
        model: model.id.to_owned(),
        provider: model.provider.to_owned(),
        operation: "chat",
        // A failed call is not billed: no usage, as providers report it.
        input_tokens: completion.as_ref().map_or(0, |c| c.input_tokens),
        output_tokens: completion.as_ref().map_or(0, |c| c.output_tokens),
        duration_ms,
        success: completion.is_some(),
        error_type: completion.is_none().then_some(OVERLOADED),
        service: SERVICE,
        event_id: new_event_id(),
        timestamp,
        trace_id: request_trace_id(&req),
    }));
    let completion = completion.ok_or(ApiError::ModelOverloaded(model.id))?;
    Ok(HttpResponse::Ok().json(ChatReply {
        reply: completion.reply,
        model: model.id.to_owned(),
        input_tokens: completion.input_tokens,
        output_tokens: completion.output_tokens,
        latency_ms: duration_ms.round() as u64,
    }))
}

/// Any other path under `/api`: a JSON 404, never the app's index.html.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(ApiError::shown(req.path(), 200)))
}

/// A known path with another method: 405 naming the one it takes (without this, the scope's
/// 404 would answer).
async fn method_not_allowed(allowed: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(allowed))
}

/// The trace id of the request's `traceparent` header, if it has a valid one.
fn request_trace_id(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("traceparent")?.to_str().ok()?;
    trace_context::trace_id(header).map(str::to_owned)
}

/// Times every `/api` request and records it as an API call once it is answered.
async fn report_api_call(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let (started, timestamp) = (Instant::now(), epoch_ms());
    let reporter = req.app_data::<web::Data<Reporter>>().cloned();
    // The collector takes methods of letters only; an extension method with other characters
    // (`M-SEARCH`) is recorded as `OTHER`.
    let method = match req.method().as_str() {
        m if m.len() <= 16 && m.bytes().all(|b| b.is_ascii_alphabetic()) => m.to_owned(),
        _ => "OTHER".to_owned(),
    };
    let trace_id = request_trace_id(req.request());
    let result = next.call(req).await;
    let (status, endpoint) = match &result {
        Ok(res) => (
            res.status(),
            res.request().match_pattern().filter(|p| p != "/api"),
        ),
        // An error no handler turned into a response (there is none today): its status.
        Err(e) => (e.as_response_error().status_code(), None),
    };
    if let Some(reporter) = reporter {
        reporter.record(Record::Api(ApiCallRecord {
            endpoint: endpoint.unwrap_or_else(|| UNMATCHED_ENDPOINT.to_owned()),
            method,
            status: status.as_u16(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            service: SERVICE,
            event_id: new_event_id(),
            timestamp,
            trace_id,
        }));
    }
    result
}
