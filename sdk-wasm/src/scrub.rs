//! What the SDK sends of URLs and names, made safe: query strings, fragments, credentials and
//! path segments that look like secrets or personal data never leave the page.
//!
//! # URLs ([`Rules::page_url`], [`Rules::url`])
//!
//! - The query string and the fragment are dropped, except query parameters whose name is in
//!   [`Rules::allowed_params`] (none by default): those keep their order and value, unless the
//!   value looks secret (below), which then becomes the placeholder. Names are compared exactly
//!   as written (case-sensitive, not decoded).
//! - User info (`https://user:password@host`) is always dropped.
//! - Every path segment that looks secret is replaced, whole, by [`Rules::placeholder`]
//!   (`[redacted]` by default); the `/` between segments stay.
//! - A resource or API URL ([`Rules::url`]) on another origin than the page is reduced to its
//!   origin (`https://cdn.example`), unless that origin is in [`Rules::allowed_origins`]: those
//!   are scrubbed like the page's own. Origins are compared scheme and host (with port) as
//!   written, ASCII case-insensitively (browsers write no default port); an allowed origin may
//!   be written with a trailing `/`. Scheme-relative URLs (`//cdn.example/x`) take the page's
//!   scheme.
//! - A relative URL (`/api/users/42?page=2`) is the page's own: scrubbed as a path and query.
//! - `data:` URLs become `data:` (they can be megabytes of content); `blob:` URLs `blob:` and
//!   their origin (`blob:https://app.example`); other URLs without an authority (`about:blank`,
//!   `javascript:…`, `mailto:…`) just their scheme (`about:`).
//! - At most [`MAX_URL_LEN`] bytes, cut at a character boundary.
//!
//! # Names ([`Rules::name`])
//!
//! An API call name (`GET /users/bob@example.com/orders`), an interaction's or a measure's name
//! is split on spaces and `/`; each token that looks secret becomes the placeholder, the
//! separators stay (`GET /users/[redacted]/orders`). At most [`MAX_NAME_LEN`] bytes. A name
//! keeps a `?` and what follows it (ordinary text in a measure's name): build an API call's name
//! from its scrubbed URL, not from the URL as called.
//!
//! # What looks secret
//!
//! A path segment, query value or name token that contains anywhere:
//! - an e-mail address: `local@domain.tld`, one character of the local part before the `@` and a
//!   domain with a dot followed by two letters (`bob@example.com`, `x-bob@mail.example.org-y`).
//!   Retina image names (`logo@2x.png`: a domain starting with digits and `x`) are not addresses;
//! - a JWT-like token: three consecutive dot-separated parts of base64url characters
//!   (`[A-Za-z0-9_-]`), each at least 8 long (`app.bundle.js`, `styles.abc123def.css` and
//!   `main.3f2a1b9c.chunk.js` stay);
//! - a run of 24 or more hex digits, dashes allowed between them (UUIDs, hashes, long numeric
//!   ids; `0123…ef.png` content hashes too);
//! - a run of 24 or more base64 characters (`[A-Za-z0-9+=]`) with at least one upper-case
//!   letter, one lower-case letter and one digit (API keys: `sk_live_4eC39HqLyjWDarjtT1zdp7dc`);
//! - a run of 32 or more base64url characters (`[A-Za-z0-9+=_-]`), mixed the same way, none of
//!   whose `-`/`_`-separated pieces is a word (four or more letters only): random base64url ids.
//!   Names joined by `-` and `_` stay: content-hashed assets (`perfwatch_sdk_bg-C5YNojqq.wasm`),
//!   slugs (`2024-Annual-Report-Final-Version`), as do `/users/42` and other short ids.
//!
//! It is judged percent-decoded (`bob%40example.com` is an address); what is kept is sent as
//! written. [`Rules::redact`] `false` turns this judgement off (segments, query values and
//! names are then kept); the query, fragment, credential, origin and length rules still apply.

use crate::prelude::*;

/// The longest URL the SDK sends, in bytes: the collector's limit for URLs.
pub const MAX_URL_LEN: usize = 2048;
/// The longest name the SDK sends, in bytes: the collector's limit for names.
pub const MAX_NAME_LEN: usize = 256;

/// How URLs and names are scrubbed; see the [module](self) for the rules.
pub struct Rules {
    /// Query parameters kept (names as written); every other parameter is dropped.
    pub allowed_params: Vec<String>,
    /// Origins other than the page's whose URLs are kept, scrubbed (`https://cdn.example`);
    /// URLs on any other origin are reduced to their origin.
    pub allowed_origins: Vec<String>,
    /// What replaces a segment, value or token that looks secret.
    pub placeholder: String,
    /// Whether what looks secret is replaced (the default).
    pub redact: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            allowed_params: Vec::new(),
            allowed_origins: Vec::new(),
            placeholder: String::from("[redacted]"),
            redact: true,
        }
    }
}

impl Rules {
    /// The page's own URL (`location.href`), scrubbed.
    pub fn page_url(&self, url: &str) -> String {
        self.scrub_url(url, None)
    }

    /// A resource's or API call's URL, scrubbed; reduced to its origin when that is neither
    /// `page_origin` (`location.origin`) nor allowed.
    pub fn url(&self, url: &str, page_origin: &str) -> String {
        self.scrub_url(url, Some(page_origin))
    }

    /// A name (API call, interaction, measure), scrubbed token by token.
    pub fn name(&self, name: &str) -> String {
        let name = &without_controls(name, false);
        let mut out = String::new();
        self.push_tokens(&mut out, name, true, MAX_NAME_LEN);
        bounded(out, MAX_NAME_LEN)
    }

    /// Free text (an error's message or stack), at most `max` bytes: every URL in it (a
    /// whitespace- or parenthesis-delimited token with `://`) scrubbed as the page's own URL
    /// (no query string, no fragment, secret-looking segments replaced), every other token as
    /// a name's.
    pub fn text(&self, text: &str, max: usize) -> String {
        let text = &without_controls(text, true);
        let mut out = String::new();
        let mut start = 0;
        let end = text.len();
        let delimiters = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_whitespace() || *b == b'(' || *b == b')')
            .chain(core::iter::once((end, b' ')));
        for (at, delimiter) in delimiters {
            let token = text.get(start..at).unwrap_or_default();
            if token.as_bytes().windows(3).any(|w| w == b"://") {
                out.push_str(&self.scrub_url(token, None));
            } else {
                self.push_tokens(&mut out, token, true, max);
            }
            if at < end {
                out.push(char::from(delimiter));
            }
            start = at + 1;
            if out.len() > max {
                break;
            }
        }
        bounded(out, max)
    }

    fn scrub_url(&self, url: &str, page_origin: Option<&str>) -> String {
        let url = trimmed(url);
        let page = page_origin.and_then(origin);
        let mut out = String::new();
        match scheme(url) {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("data") => out.push_str("data:"),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("blob") => {
                out.push_str("blob:");
                if let Some(inner) = origin(rest) {
                    push_origin(&mut out, &inner);
                }
            }
            Some((scheme, rest)) => match rest.strip_prefix("//") {
                Some(after) => self.push_url(&mut out, with_authority(scheme, after), &page),
                None => {
                    out.push_str(scheme);
                    out.push(':');
                }
            },
            None => match url.strip_prefix("//") {
                Some(after) => {
                    let scheme = page.as_ref().map_or("https", |p| p.scheme);
                    self.push_url(&mut out, with_authority(scheme, after), &page);
                }
                None => self.push_path_and_query(&mut out, url),
            },
        }
        bounded(out, MAX_URL_LEN)
    }

    /// An absolute URL: its origin, then its path and query where its origin is the page's
    /// (always for the page's own URL, `page` `None`) or allowed.
    fn push_url(&self, out: &mut String, url: Origin, page: &Option<Origin>) {
        push_origin(out, &url);
        let kept = match page {
            None => true,
            Some(page) => {
                url.same(page)
                    || self
                        .allowed_origins
                        .iter()
                        .any(|o| origin(o).is_some_and(|o| url.same(&o)))
            }
        };
        if kept {
            self.push_path_and_query(out, url.rest);
        }
    }

    fn push_path_and_query(&self, out: &mut String, url: &str) {
        let url = url.split('#').next().unwrap_or_default();
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        self.push_tokens(out, path, false, MAX_URL_LEN);
        let mut separator = '?';
        for param in query.split('&') {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (param, None),
            };
            if out.len() > MAX_URL_LEN || !self.allowed_params.iter().any(|p| p == name) {
                continue;
            }
            out.push(separator);
            separator = '&';
            out.push_str(name);
            if let Some(value) = value {
                out.push('=');
                self.push_scrubbed(out, value);
            }
        }
    }

    /// `text`'s tokens between `/` (and spaces for `names`), scrubbed, with their separators;
    /// stops once `out` is longer than `max`.
    fn push_tokens(&self, out: &mut String, text: &str, names: bool, max: usize) {
        // Bytes and `get`, not `char` patterns and indexing: those pull core's formatting (kB
        // of wasm) in for their panics. Separators are ASCII, so every cut is a char boundary.
        let mut start = 0;
        for (at, byte) in text.bytes().enumerate() {
            if byte == b'/' || (names && byte == b' ') {
                self.push_scrubbed(out, text.get(start..at).unwrap_or_default());
                out.push(char::from(byte));
                start = at + 1;
                if out.len() > max {
                    return;
                }
            }
        }
        self.push_scrubbed(out, text.get(start..).unwrap_or_default());
    }

    fn push_scrubbed(&self, out: &mut String, token: &str) {
        out.push_str(if self.redact && looks_secret(token) {
            &self.placeholder
        } else {
            token
        });
    }
}

/// Whether `token` contains, percent-decoded, an e-mail address, a JWT-like token or a long
/// hex or base64 token (the [module](self)'s rules).
fn looks_secret(token: &str) -> bool {
    let decoded;
    let bytes = if token.contains('%') {
        decoded = percent_decoded(token);
        &decoded[..]
    } else {
        token.as_bytes()
    };
    let base64url = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-';
    let hex_run = bytes
        .split(|c| !c.is_ascii_hexdigit() && *c != b'-')
        .any(|run| run.iter().filter(|c| c.is_ascii_hexdigit()).count() >= 24);
    let mixed = |run: &[u8]| {
        run.iter().any(u8::is_ascii_uppercase)
            && run.iter().any(u8::is_ascii_lowercase)
            && run.iter().any(u8::is_ascii_digit)
    };
    let base64_run = bytes
        .split(|c| !c.is_ascii_alphanumeric() && *c != b'+' && *c != b'=')
        .any(|run| run.len() >= 24 && mixed(run));
    let word = |piece: &[u8]| piece.len() >= 4 && piece.iter().all(u8::is_ascii_alphabetic);
    let base64url_run = bytes
        .split(|c| !base64url(c) && *c != b'+' && *c != b'=')
        .any(|run| {
            run.len() >= 32 && mixed(run) && !run.split(|c| *c == b'-' || *c == b'_').any(word)
        });
    let jwt = bytes.split(|c| !base64url(c) && *c != b'.').any(|run| {
        let mut long_parts = 0;
        run.split(|c| *c == b'.').any(|part| {
            long_parts = if part.len() >= 8 { long_parts + 1 } else { 0 };
            long_parts == 3
        })
    });
    hex_run || base64_run || base64url_run || jwt || has_email(bytes)
}

/// `local@domain.tld` anywhere in `bytes`: a local-part character before an `@`, then a domain
/// with a dot followed by two letters. Not `logo@2x.png`.
fn has_email(bytes: &[u8]) -> bool {
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-'".contains(&c);
    let domain = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.';
    (1..bytes.len()).any(|at| {
        if bytes[at] != b'@' || !local(bytes[at - 1]) {
            return false;
        }
        let after = &bytes[at + 1..];
        let domain = &after[..after.iter().position(|c| !domain(c)).unwrap_or(after.len())];
        let first_label = domain.split(|c| *c == b'.').next().unwrap_or_default();
        let retina = first_label.len() > 1
            && first_label.ends_with(b"x")
            && first_label[..first_label.len() - 1]
                .iter()
                .all(u8::is_ascii_digit);
        !retina
            && domain.windows(4).any(|w| {
                w[0] != b'.'
                    && w[1] == b'.'
                    && w[2].is_ascii_alphabetic()
                    && w[3].is_ascii_alphabetic()
            })
    })
}

/// `%XX` escapes decoded to their bytes; anything else (a lone `%` too) kept.
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|c| char::from(*c).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// An absolute URL's scheme, host (with port, without user info) and what follows the host.
struct Origin<'a> {
    scheme: &'a str,
    host: &'a str,
    rest: &'a str,
}

impl Origin<'_> {
    fn same(&self, other: &Origin) -> bool {
        self.scheme.eq_ignore_ascii_case(other.scheme) && self.host.eq_ignore_ascii_case(other.host)
    }
}

/// `scheme://host…` split, or `None` for any other URL.
fn origin(url: &str) -> Option<Origin<'_>> {
    let (scheme, rest) = scheme(trimmed(url))?;
    Some(with_authority(scheme, rest.strip_prefix("//")?))
}

/// `after` is what follows `scheme://`: the authority, up to the path, query or fragment.
fn with_authority<'a>(scheme: &'a str, after: &'a str) -> Origin<'a> {
    let end = after
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#' | b'\\'))
        .unwrap_or(after.len());
    let (authority, rest) = after.split_at_checked(end).unwrap_or((after, ""));
    Origin {
        scheme,
        host: authority.rsplit('@').next().unwrap_or_default(),
        rest,
    }
}

fn push_origin(out: &mut String, origin: &Origin) {
    out.push_str(origin.scheme);
    out.push_str("://");
    out.push_str(origin.host);
}

/// The scheme (as the URL standard reads one: a letter, then letters, digits, `+`, `-`, `.`,
/// then `:`) and what follows the `:`.
fn scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut bytes = scheme.bytes();
    let valid = bytes.next()?.is_ascii_alphabetic()
        && bytes.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c));
    valid.then_some((scheme, rest))
}

/// Without the leading and trailing control characters and spaces the URL standard strips.
fn trimmed(url: &str) -> &str {
    let kept = |b: &u8| *b > b' ';
    let start = url.bytes().position(|b| kept(&b)).unwrap_or(url.len());
    let end = url.bytes().rposition(|b| kept(&b)).map_or(start, |i| i + 1);
    url.get(start..end).unwrap_or_default()
}

/// `text` with control characters (which the collector refuses in names and messages) as
/// spaces; tabs and line breaks kept where `lines`.
fn without_controls(text: &str, lines: bool) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' if lines => c,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
