//! The SMS request templates: text with `{{name}}` placeholders from a fixed list, checked when
//! the config is loaded so that a typo is an error at start, not an empty SMS at 3 a.m.

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "to",
    "status",
    "alertname",
    "severity",
    "summary",
    "description",
    "count",
    "group",
    "receiver",
    "external_url",
];

/// Why `text` cannot be used as a template: an unknown placeholder, or `{{` never closed.
pub fn check(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "a {{ is never closed with }}".to_owned())?;
        let name = after[..close].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{{{name}}}}} (known: {})",
                PLACEHOLDERS.join(", ")
            ));
        }
        rest = &after[close + 2..];
    }
    Ok(())
}

/// `text` with every `{{name}}` replaced by `value(name)` (a checked template; anything not a
/// placeholder is kept as written).
pub fn render(text: &str, value: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) if PLACEHOLDERS.contains(&after[..close].trim()) => {
                out.push_str(&value(after[..close].trim()));
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_placeholders_and_rejects_unknown_ones() {
        assert!(check("[{{status}}] {{ summary }} to {{to}}").is_ok());
        assert!(check("{{sumary}}")
            .unwrap_err()
            .contains("unknown placeholder {{sumary}}"));
        assert!(check("{{status").is_err());
        let value = |name: &str| name.to_uppercase();
        assert_eq!(
            render("[{{status}}] {{ summary }}!", &value),
            "[STATUS] SUMMARY!"
        );
        assert_eq!(render("a {{b", &value), "a {{b");
    }
}
