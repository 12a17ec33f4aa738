//! URLs, names and error texts scrubbed again on the server, with the SDK's own rules: this
//! module compiles the very source file the browser SDK compiles (`sdk-wasm/src/scrub.rs`), so
//! the two sides cannot drift. A page that ran an old SDK, or a client that is not the SDK at
//! all, still gets no query string, fragment, credential, e-mail address, token or long id
//! stored. Query parameters the SDK was told to keep (`allowedQueryParams`) are kept only if
//! the collector's `allowed_query_params` lists them too.

#[path = "../../sdk-wasm/src/scrub.rs"]
mod sdk_rules;

pub use sdk_rules::{Rules, MAX_NAME_LEN, MAX_URL_LEN};

/// The SDK's rules as the collector holds them (with a `Debug` the SDK's type does without, to
/// stay small in the browser).
pub struct ServerRules(Rules);

impl std::fmt::Debug for ServerRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerRules")
            .field("allowed_params", &self.0.allowed_params)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for ServerRules {
    type Target = Rules;
    fn deref(&self) -> &Rules {
        &self.0
    }
}

/// The scrubbing rules with `allowed_params` kept.
pub fn rules(allowed_params: &[String]) -> ServerRules {
    ServerRules(Rules {
        allowed_params: allowed_params.to_vec(),
        ..Rules::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_rules_apply_on_the_server() {
        let r = rules(&[]);
        assert_eq!(
            r.page_url("https://user:pw@app.example/users/bob@example.com/orders?token=abc#x"),
            "https://app.example/users/[redacted]/orders"
        );
        assert_eq!(
            r.url(
                "https://cdn.other.example/img/a.png?sig=1",
                "https://app.example"
            ),
            "https://cdn.other.example"
        );
        assert_eq!(
            r.name("GET /users/bob@example.com"),
            "GET /users/[redacted]"
        );
        let kept = rules(&["page".to_owned()]);
        assert_eq!(
            kept.page_url("https://app.example/list?page=2&q=secret"),
            "https://app.example/list?page=2"
        );
    }
}
