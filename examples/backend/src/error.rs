//! The errors an API request can end in, and the one place that maps each to its status code.
//! Every error answers `{"error": "human words"}`.

use actix_web::error::JsonPayloadError;
use actix_web::http::header::{ALLOW, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use thiserror::Error;

/// Largest chat request body, bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Seconds a client should wait after a simulated overload.
pub const OVERLOAD_RETRY_AFTER_SECS: u32 = 1;

/// Everything an API request can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The body is not JSON, or not the shape the endpoint takes.
    #[error("malformed request body: {0}")]
    Malformed(String),
    /// The body is JSON of the right shape but a value is unusable.
    #[error("{0}")]
    Invalid(&'static str),
    /// The body is over [`MAX_BODY_BYTES`].
    #[error("the request body is over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body is declared as something other than JSON.
    #[error("send the body as JSON (Content-Type: application/json)")]
    NotJson,
    /// `model` names no model of the catalogue.
    #[error("unknown model `{0}`: GET /api/models lists the models")]
    UnknownModel(String),
    /// The simulated model failed, as real ones sometimes do.
    #[error("{0} is overloaded (simulated failure); try again")]
    ModelOverloaded(&'static str),
    /// The path takes another method, the one named.
    #[error("this endpoint takes {0} only")]
    MethodNotAllowed(&'static str),
    /// No API endpoint at this path.
    #[error("there is no API endpoint at {0}")]
    NotFound(String),
}

impl ApiError {
    /// The error the JSON extractor's `error` becomes.
    pub fn from_json(error: &JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                ApiError::TooLarge
            }
            JsonPayloadError::ContentType => ApiError::NotJson,
            // serde's own words name the field and the position ("missing field `model`").
            JsonPayloadError::Deserialize(e) => ApiError::Malformed(e.to_string()),
            other => ApiError::Malformed(other.to_string()),
        }
    }

    /// `text` cut to `max` characters, for echoing client input in a message.
    pub fn shown(text: &str, max: usize) -> String {
        let mut shown: String = text.chars().take(max).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        shown
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Malformed(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UnknownModel(_) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::ModelOverloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        match self {
            Self::ModelOverloaded(_) => {
                builder.insert_header((RETRY_AFTER, OVERLOAD_RETRY_AFTER_SECS));
            }
            Self::MethodNotAllowed(allowed) => {
                builder.insert_header((ALLOW, *allowed));
            }
            _ => {}
        }
        builder.json(ErrorBody {
            error: &self.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_text_is_cut_on_a_character_boundary() {
        assert_eq!(ApiError::shown("gpt-4o", 64), "gpt-4o");
        assert_eq!(ApiError::shown("ééééé", 2), "éé…");
    }
}
