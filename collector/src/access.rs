//! Who is calling. Ingest requests present a public write key in `?key=` (what `sendBeacon`
//! can carry) or in the `X-Perfwatch-Key` header.
//!
//! Keys are read but not enforced yet: access control arrives with the security work. Until
//! then the collector is open, which is why [`crate::config::Config::validate`] refuses any
//! listen address but a loopback one. The key travels in the query string, so nothing here or
//! in [`crate::request_log`] ever logs a query string.

use actix_web::web::Query;
use actix_web::HttpRequest;
use serde::Deserialize;

/// The header a server-side client may use instead of `?key=`.
pub const WRITE_KEY_HEADER: &str = "x-perfwatch-key";

#[derive(Deserialize)]
struct KeyParam {
    key: Option<String>,
}

/// The write key `req` presents, header first, then `?key=`. A query string that does not parse
/// presents no key (it must not turn an ingest into a 400 while keys are not enforced).
pub fn presented_write_key(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get(WRITE_KEY_HEADER) {
        if let Ok(text) = value.to_str() {
            return Some(text.to_owned());
        }
    }
    Query::<KeyParam>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().key)
}
