//! The errors a request can end in, and the one place that maps each to its HTTP status code.
//!
//! Every layer has its own `thiserror` type ([`BodyError`], [`BatchError`], [`WindowError`],
//! [`StoreError`], [`QueueError`]); [`ApiError`] gathers them, and its [`ResponseError`] impl below is the only
//! code that decides status codes, error codes and extra headers. Bad input is always a 4xx:
//! the only 5xx is 503 for a store that cannot answer, with `Retry-After`.

use actix_web::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use perfwatch_protocol::BatchError;
use thiserror::Error;

use crate::body::BodyError;
use crate::envelope;
use crate::ingest_queue::QueueError;
use crate::store::StoreError;
use crate::window::WindowError;

/// Seconds a client should wait before retrying when the store is down.
pub const STORE_RETRY_AFTER_SECS: u32 = 5;

/// Seconds a client should wait before retrying when the ingest queue is full: the writer
/// empties it within about a commit, so a short wait is enough.
pub const OVERLOAD_RETRY_AFTER_SECS: u32 = 1;

/// Everything an API request can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The body could not be taken: content type, encoding, size or transport.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The batch is malformed (400) or its envelope breaks a rule (422).
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// An OTLP request body that does not decode (400).
    #[error("{0}")]
    Otlp(String),
    /// The `hours=` window is not acceptable.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The query string does not fit the endpoint (an unknown `group_by`, say).
    #[error("invalid query string: {0}")]
    Query(String),
    /// The ingest queue did not take or store the batch; the client should retry.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The collector cannot take batches now (`/health`).
    #[error("not ready: {0}")]
    NotReady(String),
    /// The store did not answer; the client should retry.
    #[error("the store is unavailable, try again in {STORE_RETRY_AFTER_SECS} s: {0}")]
    Store(#[from] StoreError),
    /// No endpoint at this path.
    #[error("there is no endpoint at {path}")]
    NotFound {
        /// The request path, without its query string.
        path: String,
    },
    /// A JSON request body that does not parse or has the wrong shape (400).
    #[error("{0}")]
    Json(String),
    /// A well-formed request that cannot be carried out as asked (422).
    #[error("{message}")]
    Unprocessable {
        /// The envelope's `error.code`.
        code: &'static str,
        message: String,
    },
    /// No credential, or a wrong one, for an endpoint that needs one (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A request whose headers together pass [`crate::access::MAX_HEADER_BYTES`] (431).
    #[error("the request's headers are larger than {limit} bytes in all")]
    HeadersTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A token that has expired (401).
    #[error("{0}")]
    TokenExpired(String),
    /// A credential or origin that may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests from one key or address (429 + `Retry-After`).
    #[error("too many requests from {what}: retry in {} s", crate::access::retry_after_secs(*retry_after))]
    RateLimited {
        what: &'static str,
        retry_after: std::time::Duration,
    },
    /// The path exists but not with this method.
    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The request path, without its query string.
        path: String,
        /// The methods the path takes, as for the `Allow` header.
        allowed: &'static str,
    },
}

impl ApiError {
    /// The envelope's machine-readable `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Body(BodyError::MissingContentType { .. })
            | Self::Body(BodyError::UnsupportedContentType { .. }) => "unsupported_media_type",
            Self::Body(BodyError::UnsupportedEncoding { .. }) => "unsupported_encoding",
            Self::Body(BodyError::TooLarge { .. })
            | Self::Body(BodyError::CompressedTooLarge { .. }) => "payload_too_large",
            Self::Body(BodyError::BadGzip(_)) | Self::Body(BodyError::Read(_)) => "malformed_body",
            Self::Body(BodyError::TimedOut { .. }) => "request_timeout",
            Self::Batch(e) if e.is_malformed() => "malformed_body",
            Self::Batch(_) => "invalid_batch",
            Self::Otlp(_) => "malformed_body",
            Self::Window(_) | Self::Query(_) => "invalid_query",
            Self::Store(_) | Self::Queue(QueueError::Store(_)) => "store_unavailable",
            Self::Queue(QueueError::Full { .. }) => "overloaded",
            Self::Queue(QueueError::Closed) => "shutting_down",
            Self::NotReady(_) => "not_ready",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Json(_) => "malformed_body",
            Self::Unprocessable { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TokenExpired(_) => "token_expired",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::RateLimited { .. } => "rate_limited",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Body(BodyError::MissingContentType { .. })
            | Self::Body(BodyError::UnsupportedContentType { .. })
            | Self::Body(BodyError::UnsupportedEncoding { .. }) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Body(BodyError::TooLarge { .. })
            | Self::Body(BodyError::CompressedTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(BodyError::TimedOut { .. }) => StatusCode::REQUEST_TIMEOUT,
            Self::Body(BodyError::BadGzip(_)) | Self::Body(BodyError::Read(_)) => {
                StatusCode::BAD_REQUEST
            }
            Self::Batch(e) if e.is_malformed() => StatusCode::BAD_REQUEST,
            Self::Batch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Otlp(_) => StatusCode::BAD_REQUEST,
            Self::Window(_) | Self::Query(_) => StatusCode::BAD_REQUEST,
            Self::Store(_) | Self::Queue(_) | Self::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Json(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TokenExpired(_) => StatusCode::UNAUTHORIZED,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            Self::Store(_) | Self::Queue(QueueError::Store(_)) | Self::NotReady(_) => {
                builder.insert_header((RETRY_AFTER, STORE_RETRY_AFTER_SECS));
            }
            Self::Queue(QueueError::Full { .. } | QueueError::Closed) => {
                builder.insert_header((RETRY_AFTER, OVERLOAD_RETRY_AFTER_SECS));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                builder.insert_header((ALLOW, *allowed));
            }
            Self::Unauthorized(_) => {
                builder.insert_header((WWW_AUTHENTICATE, "Bearer"));
            }
            Self::TokenExpired(_) => {
                builder.insert_header((WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            Self::RateLimited { retry_after, .. } => {
                builder.insert_header((RETRY_AFTER, crate::access::retry_after_secs(*retry_after)));
            }
            _ => {}
        }
        envelope::failure(builder, self.code(), &self.to_string())
    }
}
