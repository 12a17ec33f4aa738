//! `GET /` and `GET /assets/{path}`: the dashboard web page, from the files embedded in the
//! binary ([`crate::dashboard_assets`]). Both are public ([`crate::access::classify`]): the
//! page asks for a read token itself and sends it as `Authorization: Bearer` to the API.
//!
//! The page is served `no-cache` (a new collector brings new asset names); assets carry a hash
//! in their names, so they are cached for good (`immutable`). Every answer has
//! `X-Content-Type-Options: nosniff` and a Content-Security-Policy for a same-origin app: its
//! own scripts only, no inline script, no frames around it, API calls to this origin only.

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpRequest, HttpResponse};

use crate::dashboard_assets::{self, Asset};
use crate::error::ApiError;

/// The page's Content-Security-Policy (inline styles allowed: chart libraries set them).
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; script-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// How long browsers keep an asset: its name changes with its contents.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The page is checked again on every load, so a new collector's assets are picked up.
const REVALIDATE: &str = "no-cache";

/// `asset` with its content type, `cache_control` and the security headers.
fn answer(asset: &Asset, cache_control: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, asset.content_type))
        .insert_header((CACHE_CONTROL, cache_control))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE))
        .body(asset.bytes)
}

/// The page (`GET` and `HEAD /`).
pub async fn page(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let index = dashboard_assets::index().ok_or_else(|| ApiError::NotFound {
        path: req.path().to_owned(),
    })?;
    Ok(answer(index, REVALIDATE))
}

/// One of the page's assets (`GET` and `HEAD /assets/{path}`); 404 in the envelope for a name
/// the binary does not hold.
pub async fn asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    // The table holds the names as the build wrote them, below the page: `assets/...`.
    dashboard_assets::get(req.path().trim_start_matches('/'))
        .map(|asset| answer(asset, IMMUTABLE))
        .ok_or_else(|| ApiError::NotFound {
            path: req.path().to_owned(),
        })
}
