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

/// A named secret (`name:secret`), as `PERFWATCH_ADMIN_TOKENS` lists them. Its `Debug` hides
/// the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}:***)", self.name)
    }
}

impl Token {
    /// Parses `name:secret`; the error says what is wrong without showing the secret.
    pub fn parse(text: &str) -> Result<Token, String> {
        let (name, secret) = text
            .trim()
            .split_once(':')
            .ok_or("a token must be `name:secret`")?;
        if name.is_empty() || secret.len() < 16 {
            return Err(format!(
                "token `{name}`: a name and a secret of at least 16 characters are needed"
            ));
        }
        Ok(Token {
            name: name.to_owned(),
            secret: secret.to_owned(),
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

/// Checks that `req` carries `Authorization: Bearer <secret>` of one of the admin `tokens`, and
/// answers the token's name. With no admin token configured the collector is open (it then
/// listens on loopback only) and anyone is `anonymous`.
pub fn require_admin(
    req: &HttpRequest,
    tokens: &[Token],
) -> Result<String, crate::error::ApiError> {
    use crate::error::ApiError;
    if tokens.is_empty() {
        return Ok("anonymous".to_owned());
    }
    let presented = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized(
            "this endpoint needs an admin token: send `Authorization: Bearer <secret>`",
        ))?;
    tokens
        .iter()
        .find(|t| same_secret(t.secret.as_bytes(), presented.trim().as_bytes()))
        .map(|t| t.name.clone())
        .ok_or(ApiError::Unauthorized(
            "the bearer token is not an admin token of this collector",
        ))
}
