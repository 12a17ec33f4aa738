//! Who is calling, and whether they may: the access policy of CONTRACT.md, enforced for every
//! request by one middleware ([`enforce`]) before any handler runs.
//!
//! - **Ingest** (browser batches, backend records, OTLP) presents a public write key in `?key=`
//!   (what `sendBeacon` can carry) or the `X-Perfwatch-Key` header. A key may be tied to an app
//!   (browser batches of other apps are refused) and to the origins whose pages may post with it
//!   (a `text/plain` post needs no preflight, so CORS alone would not stop a forbidden page: the
//!   `Origin` header is checked here, 403).
//! - **Read** endpoints (statistics, the dashboard's data, `/metrics` unless made public) need
//!   `Authorization: Bearer` with a read or admin token; browsers may read from `read_origins`.
//! - **Admin** calls (silences, reloads, erasure) need an admin token.
//! - Ingest and every other call are rate limited per write key and per client IP (token
//!   buckets, [`crate::rate_limit`]); the client IP comes from `X-Forwarded-For` only when the
//!   peer is a trusted proxy ([`crate::client_ip`]). Clients on the loopback are not limited
//!   per IP (the host itself: benchmarks, a local backend).
//!
//! With no key and no token configured the collector is open, which is why
//! [`crate::config::Config::validate`] then refuses any listen address but a loopback one.
//! Secrets are compared in constant time and never logged or echoed; the key travels in the
//! query string, so nothing here or in [`crate::request_log`] ever logs a query string.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, AUTHORIZATION, ORIGIN};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use crate::client_ip::{client_ip, Cidr};
use crate::error::ApiError;
use crate::rate_limit::{Limiter, Rate};
use crate::routes;
use crate::state::AppState;
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
/// presents no key.
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

/// A named secret (`name:secret`, or `name:secret:expires=2027-01-01T00:00:00Z` for one that
/// stops working then), as `PERFWATCH_READ_TOKENS` and `PERFWATCH_ADMIN_TOKENS` list them. Its
/// `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    secret: String,
    /// When it stops working, epoch ms.
    pub expires_at_ms: Option<i64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}:***)", self.name)
    }
}

impl Token {
    /// Parses `name:secret[:expires=RFC3339]`; the error says what is wrong without showing
    /// the secret.
    pub fn parse(text: &str) -> Result<Token, String> {
        let (name, rest) = text
            .trim()
            .split_once(':')
            .ok_or("a token must be `name:secret` (or `name:secret:expires=RFC3339`)")?;
        let (secret, expires_at_ms) = match rest.split_once(":expires=") {
            None => (rest, None),
            Some((secret, when)) => {
                let at = crate::clock::parse_time(when).ok_or_else(|| {
                    format!("token `{name}`: `expires=` must be an RFC 3339 time such as 2027-01-01T00:00:00Z")
                })?;
                (secret, Some(at))
            }
        };
        if name.is_empty() || secret.len() < 16 {
            return Err(format!(
                "token `{name}`: a name and a secret of at least 16 characters are needed"
            ));
        }
        Ok(Token {
            name: name.to_owned(),
            secret: secret.to_owned(),
            expires_at_ms,
        })
    }

    /// Parses a comma-separated list of `name:secret`.
    pub fn parse_list(text: &str) -> Result<Vec<Token>, String> {
        text.split(',')
            .filter(|t| !t.trim().is_empty())
            .map(Token::parse)
            .collect()
    }
}

/// Compares two byte strings in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A public write key, tied to an app and to origins if the config says so. Its `Debug` shows
/// the key's first characters only.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteKey {
    key: String,
    /// Browser batches with this key must be of this app.
    pub app: Option<String>,
    /// The origins (`https://app.example`) whose pages may post with this key; empty: any.
    pub origins: Vec<String>,
}

impl std::fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: String = self.key.chars().take(6).collect();
        f.debug_struct("WriteKey")
            .field("key", &format_args!("{shown}..."))
            .field("app", &self.app)
            .field("origins", &self.origins)
            .finish()
    }
}

impl WriteKey {
    /// A key; the error says what is wrong with it.
    pub fn new(key: &str, app: Option<String>, origins: Vec<String>) -> Result<Self, String> {
        let key = key.trim();
        if key.len() < 8 || key.len() > 256 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err("a write key is 8 to 256 printable ASCII characters".into());
        }
        check_origins(&origins)?;
        Ok(Self {
            key: key.to_owned(),
            app,
            origins,
        })
    }

    /// Parses a comma-separated list of keys (`PERFWATCH_WRITE_KEYS`), each for any app and origin.
    pub fn parse_list(text: &str) -> Result<Vec<WriteKey>, String> {
        text.split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| WriteKey::new(k, None, Vec::new()))
            .collect()
    }

    /// Whether a page of `origin` may post with this key.
    fn allows_origin(&self, origin: &str) -> bool {
        self.origins.is_empty() || self.origins.iter().any(|o| o == origin)
    }
}

/// Who may do what: the keys, tokens, origins, proxies and rates of the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessPolicy {
    pub write_keys: Vec<WriteKey>,
    pub read_tokens: Vec<Token>,
    pub admin_tokens: Vec<Token>,
    /// Origins whose pages may call the read API (empty: any, the tokens decide).
    pub read_origins: Vec<String>,
    /// `/metrics` without a token.
    pub public_metrics: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Requests per write key.
    pub key_rate: Option<Rate>,
    /// Requests per client IP (loopback clients are not limited).
    pub ip_rate: Option<Rate>,
}

/// Requests per second per write key, and the burst, by default.
pub const DEFAULT_KEY_RATE: Rate = Rate {
    per_second: 2000.0,
    burst: 4000.0,
};
/// Requests per second per client IP, and the burst, by default.
pub const DEFAULT_IP_RATE: Rate = Rate {
    per_second: 100.0,
    burst: 200.0,
};
/// The most bytes a request's headers may take in all (names, values, separators).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Keys and IPs the rate limiters follow at most each.
pub const RATE_LIMITED_KEYS: usize = 100_000;

/// Checks that each of `origins` is an origin (`scheme://host[:port]`, no path, no trailing
/// slash), as a write key's `origins` and `read_origins` must be.
pub fn check_origins(origins: &[String]) -> Result<(), String> {
    for origin in origins {
        if !(origin.starts_with("https://") || origin.starts_with("http://"))
            || origin.trim_end_matches('/') != origin
            || origin["https://".len().min(origin.len())..].contains('/')
        {
            return Err(format!(
                "origin `{origin}`: an origin is scheme://host[:port], without a path or a trailing slash"
            ));
        }
    }
    Ok(())
}

impl AccessPolicy {
    /// Whether no credential at all is configured: everything is allowed (loopback only).
    pub fn is_open(&self) -> bool {
        self.write_keys.is_empty() && self.read_tokens.is_empty() && self.admin_tokens.is_empty()
    }

    /// Whether a page of `origin` may make a CORS request to `path` (for preflights).
    pub fn allows_cors(&self, origin: &str, path: &str) -> bool {
        match classify(&Method::POST, path) {
            Role::Ingest => {
                self.write_keys.is_empty()
                    || self.write_keys.iter().any(|k| k.allows_origin(origin))
            }
            _ => self.allows_read_origin(origin),
        }
    }

    /// Whether pages of `origin` may read this collector's data (`read_origins`; any when it
    /// is empty).
    pub fn allows_read_origin(&self, origin: &str) -> bool {
        self.read_origins.is_empty() || self.read_origins.iter().any(|o| o == origin)
    }

    /// Whether no origin is restricted anywhere (no write key's `origins`, no `read_origins`):
    /// CORS may answer `*`.
    pub fn any_origin(&self) -> bool {
        self.write_keys.iter().all(|k| k.origins.is_empty()) && self.read_origins.is_empty()
    }
}

/// What a request is, for access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Posting data.
    Ingest,
    /// Reading data.
    Read,
    /// Changing the collector's state: silences, reloads, erasure.
    Admin,
    /// The dashboard page and its assets (the page asks for a token itself).
    Public,
}

/// The role of `method path`.
pub fn classify(method: &Method, path: &str) -> Role {
    let ingest = [
        routes::FRONTEND_METRICS,
        routes::API_CALLS,
        routes::AI_CALLS,
        routes::OTLP_TRACES,
    ];
    if ingest.contains(&path) {
        return Role::Ingest;
    }
    if path == routes::DASHBOARD_PAGE || path.starts_with(routes::DASHBOARD_ASSETS) {
        return Role::Public;
    }
    let changes = *method != Method::GET && *method != Method::HEAD && *method != Method::OPTIONS;
    if changes && (path.starts_with(routes::ALERTS) || path.starts_with(routes::USERS)) {
        return Role::Admin;
    }
    Role::Read
}

/// The caller a request was let in as: a token's name (or a write key's first characters), for
/// the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    /// The app the write key is tied to, if any.
    pub app: Option<String>,
}

/// The caller of `req` (`anonymous` on an open collector).
pub fn caller(req: &actix_web::HttpRequest) -> Caller {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller {
            name: "anonymous".into(),
            app: None,
        })
}

/// The access policy with its rate limiters: what the middleware checks against.
#[derive(Debug)]
pub struct Gate {
    pub policy: AccessPolicy,
    keys: Limiter<String>,
    ips: Limiter<IpAddr>,
}

impl Gate {
    /// A gate for `policy`.
    pub fn new(policy: AccessPolicy) -> Self {
        Self {
            keys: Limiter::new(
                policy.key_rate.unwrap_or(DEFAULT_KEY_RATE),
                RATE_LIMITED_KEYS,
            ),
            ips: Limiter::new(policy.ip_rate.unwrap_or(DEFAULT_IP_RATE), RATE_LIMITED_KEYS),
            policy,
        }
    }

    /// Lets `req` in as a [`Caller`], or says why not.
    pub fn check(&self, req: &ServiceRequest, now: Instant) -> Result<Caller, ApiError> {
        let header_bytes: usize = req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if header_bytes > MAX_HEADER_BYTES {
            return Err(ApiError::HeadersTooLarge {
                limit: MAX_HEADER_BYTES,
            });
        }
        let role = classify(req.method(), req.path());
        if role == Role::Public || req.method() == Method::OPTIONS {
            return Ok(anonymous());
        }
        // First, so that guessing keys and tokens is limited too.
        self.limit_ip(req, now)?;
        let p = &self.policy;
        let origin = req.headers().get(ORIGIN).and_then(|v| v.to_str().ok());
        let caller = match role {
            Role::Ingest => self.ingest(req, origin, now)?,
            Role::Read => {
                let public = p.public_metrics && req.path() == routes::METRICS;
                if let Some(origin) = origin {
                    if !p.allows_read_origin(origin) {
                        return Err(ApiError::Forbidden(format!(
                            "pages of {} may not read this collector's data (read_origins)",
                            shown(origin)
                        )));
                    }
                }
                if p.is_open() || public {
                    anonymous()
                } else {
                    let token = bearer(req).ok_or(ApiError::Unauthorized(
                        "this endpoint needs a read token: send `Authorization: Bearer <secret>`",
                    ))?;
                    find(&p.read_tokens, token)
                        .or_else(|| find(&p.admin_tokens, token))
                        .ok_or(ApiError::Unauthorized(
                            "the bearer token is not a read or admin token of this collector",
                        ))??
                }
            }
            Role::Admin => {
                if p.is_open() {
                    anonymous()
                } else if p.admin_tokens.is_empty() {
                    return Err(ApiError::Forbidden(
                        "no admin token is configured: set admin_tokens (or PERFWATCH_ADMIN_TOKENS) to manage silences, reloads and erasure".into(),
                    ));
                } else {
                    let token = bearer(req).ok_or(ApiError::Unauthorized(
                        "this endpoint needs an admin token: send `Authorization: Bearer <secret>`",
                    ))?;
                    match find(&p.admin_tokens, token) {
                        Some(caller) => caller?,
                        None if find(&p.read_tokens, token).is_some() => {
                            return Err(ApiError::Forbidden(
                                "a read token may not do this: it needs an admin token".into(),
                            ))
                        }
                        None => {
                            return Err(ApiError::Unauthorized(
                                "the bearer token is not an admin token of this collector",
                            ))
                        }
                    }
                }
            }
            Role::Public => anonymous(),
        };
        Ok(caller)
    }

    /// An ingest request: its key (when keys are configured), the key's origins, its rate.
    fn ingest(
        &self,
        req: &ServiceRequest,
        origin: Option<&str>,
        now: Instant,
    ) -> Result<Caller, ApiError> {
        let p = &self.policy;
        if p.write_keys.is_empty() {
            return Ok(anonymous());
        }
        let presented = presented_write_key(req.request()).ok_or(ApiError::Unauthorized(
            "ingest needs a write key: `?key=` or the X-Perfwatch-Key header",
        ))?;
        let key = p
            .write_keys
            .iter()
            .find(|k| same_secret(k.key.as_bytes(), presented.as_bytes()))
            .ok_or(ApiError::Unauthorized(
                "the write key is not one of this collector's",
            ))?;
        if let Some(origin) = origin {
            if !key.allows_origin(origin) {
                return Err(ApiError::Forbidden(format!(
                    "pages of {} may not post with this write key (its origins)",
                    shown(origin)
                )));
            }
        }
        if let Err(wait) = self.keys.take(&key.key, now) {
            return Err(ApiError::RateLimited {
                what: "this write key",
                retry_after: wait,
            });
        }
        let prefix: String = key.key.chars().take(6).collect();
        Ok(Caller {
            name: format!("key {prefix}..."),
            app: key.app.clone(),
        })
    }

    /// The per-IP rate limit (loopback clients are not limited).
    fn limit_ip(&self, req: &ServiceRequest, now: Instant) -> Result<(), ApiError> {
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return Ok(());
        };
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = client_ip(peer, &forwarded, &self.policy.trusted_proxies);
        if ip.is_loopback() {
            return Ok(());
        }
        self.ips
            .take(&ip, now)
            .map_err(|wait| ApiError::RateLimited {
                what: "this client address",
                retry_after: wait,
            })
    }
}

fn anonymous() -> Caller {
    Caller {
        name: "anonymous".into(),
        app: None,
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(req: &ServiceRequest) -> Option<&str> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The caller whose token in `tokens` is `presented`, comparing every one in constant time; an
/// expired token is refused by name.
fn find(tokens: &[Token], presented: &str) -> Option<Result<Caller, ApiError>> {
    let mut found = None;
    for token in tokens {
        if same_secret(token.secret.as_bytes(), presented.as_bytes()) && found.is_none() {
            found = Some(token);
        }
    }
    let token = found?;
    let now = crate::clock::to_epoch_ms(crate::clock::now_ms());
    Some(match token.expires_at_ms {
        Some(at) if at <= now => Err(ApiError::TokenExpired(format!(
            "the token `{}` has expired; ask for a new one",
            token.name
        ))),
        _ => Ok(Caller {
            name: token.name.clone(),
            app: None,
        }),
    })
}

/// An origin for a message: at most 100 characters, control characters dropped.
fn shown(origin: &str) -> String {
    origin
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}

/// The middleware: lets a request through as its [`Caller`], or answers the error (401, 403,
/// 429) in the envelope, with CORS headers added by the middleware outside.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let gate = req
        .app_data::<web::Data<AppState>>()
        .map(|state| Arc::clone(&state.gate));
    if let Some(gate) = gate {
        match gate.check(&req, Instant::now()) {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
            }
            Err(error) => {
                let response = error.error_response();
                return Ok(req.into_response(response).map_into_right_body());
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Refuses a CORS preflight from an origin the policy does not allow for its path (403 in the
/// envelope, without CORS headers, so the browser stops there); lets every other request on to
/// the CORS middleware.
pub async fn refuse_preflight(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method")
        && req
            .headers()
            .get(ORIGIN)
            .and_then(|o| o.to_str().ok())
            .zip(req.app_data::<web::Data<AppState>>())
            .is_some_and(|(origin, state)| !state.gate.policy.allows_cors(origin, req.path()));
    if refused {
        let error = ApiError::Forbidden(format!(
            "pages of this origin may not call {} (write key origins, read_origins)",
            req.path()
        ));
        let response = error.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// How long a client should wait, in whole seconds (at least 1), for `Retry-After`.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_page_and_its_assets_are_public_and_the_api_is_not() {
        for method in [Method::GET, Method::HEAD] {
            assert_eq!(classify(&method, "/"), Role::Public);
            assert_eq!(classify(&method, "/assets/index-3f2a9c.js"), Role::Public);
            assert_eq!(classify(&method, "/assets/nope.css"), Role::Public);
        }
        for path in [
            routes::DASHBOARD,
            routes::TIMESERIES,
            routes::API_STATS,
            routes::FRONTEND_VITALS,
            routes::METRICS,
            "/assetsx/index.js",
            "/api/v1/monitoring/assets/x.js",
        ] {
            assert_eq!(classify(&Method::GET, path), Role::Read, "{path}");
        }
        assert_eq!(classify(&Method::POST, routes::API_CALLS), Role::Ingest);
        assert_eq!(classify(&Method::POST, routes::SILENCES), Role::Admin);
    }
}
