//! The JSON envelope every `/api/v1/...` answer wears (CONTRACT.md, "Collector HTTP API"):
//! `{"success": true, "data": ...}` or
//! `{"success": false, "error": {"code": "snake_case", "message": "human words"}}`.

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    success: bool,
    data: &'a T,
}

#[derive(Serialize)]
struct Failure<'a> {
    success: bool,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

/// What is sent if an answer cannot be serialized (it never should: the data types are plain).
const UNSERIALIZABLE: &str = r#"{"success":false,"error":{"code":"internal","message":"the answer could not be written as JSON"}}"#;

/// A 200 answer carrying `data`.
pub fn success<T: Serialize>(data: &T) -> HttpResponse {
    let body = serde_json::to_vec(&Success {
        success: true,
        data,
    })
    .unwrap_or_else(|_| UNSERIALIZABLE.as_bytes().to_vec());
    HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body)
}

/// A failure answer: `builder` already carries the status and any extra headers
/// (`Retry-After`, `Allow`).
pub fn failure(mut builder: HttpResponseBuilder, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::to_vec(&Failure {
        success: false,
        error: ErrorBody { code, message },
    })
    .unwrap_or_else(|_| UNSERIALIZABLE.as_bytes().to_vec());
    builder.insert_header(ContentType::json()).body(body)
}
