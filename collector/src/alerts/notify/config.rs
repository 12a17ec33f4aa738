//! `[alerts.notify]`: how alerts are grouped and timed, where notifications go, and the bounds
//! that keep the notifier's memory and threads finite. Every key has a default; `check()` says
//! in words a person can act on why a setting cannot be used (never echoing a secret).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::template;
use crate::alerts::model::{Labels, Matcher};

/// A value that must never reach a log or `Debug` output: an SMTP password, an auth token, a
/// webhook URL with a token in it (Slack's). Deserializes from a plain string.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("<secret>")
        }
    }
}

/// `[alerts.notify]` of the config file.
///
/// ```toml
/// [alerts.notify]
/// group_by = ["alertname"]          # default ["alertname"]; ["..."] groups by all labels
/// group_wait = "30s"                # default 30s
/// group_interval = "5m"             # default 5m
/// repeat_interval = "4h"            # default 4h
/// external_url = "https://perfwatch.example"   # default ""
///
/// [[alerts.notify.webhook]]
/// name = "ops"
/// url = "https://hooks.example/alertmanager"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Labels whose values form a group: alerts with equal values are notified together.
    /// Default `["alertname"]`. `["..."]` groups by every label (one alert per group).
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first notification. Default "30s".
    #[serde(deserialize_with = "duration")]
    pub group_wait: Duration,
    /// How often a group that has notified is looked at again: changes (a new firing alert, a
    /// resolution) are sent at the next of these ticks. Default "5m".
    #[serde(deserialize_with = "duration")]
    pub group_interval: Duration,
    /// After how long an unchanged firing group is notified again. Default "4h".
    #[serde(deserialize_with = "duration")]
    pub repeat_interval: Duration,
    /// This collector's address as people reach it, sent as `externalURL` and used for
    /// `generatorURL` (`<external_url>/api/v1/monitoring/alerts`). Default "" (none).
    pub external_url: String,
    /// Timeout of one HTTP request or SMTP session. Default "10s".
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// Which certificate authorities HTTPS and SMTP over TLS trust: `"system"` (the system's
    /// store, `SSL_CERT_FILE` / `SSL_CERT_DIR` honoured; the bundled Mozilla roots when it has
    /// none) or `"webpki"` (the bundled Mozilla roots only). Default "system".
    pub tls_roots: TlsRoots,
    /// How many times one notification is tried before it is given up. Default 8.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for every further one, with jitter. Default "1s".
    #[serde(deserialize_with = "duration")]
    pub retry_initial: Duration,
    /// The longest wait between two tries. Default "60s".
    #[serde(deserialize_with = "duration")]
    pub retry_max: Duration,
    /// Threads that deliver (each does one request at a time). Default 2.
    pub delivery_threads: usize,
    /// Evaluations waiting to be grouped; when full the oldest is dropped (and counted).
    /// Default 16.
    pub handover_capacity: usize,
    /// Deliveries waiting (including retries); when full the oldest is dropped (and counted).
    /// Default 1000.
    pub max_queued_deliveries: usize,
    /// Groups kept at once; alerts of further groups are dropped (and counted). Default 1000.
    pub max_groups: usize,
    /// Alerts kept per group; further ones are left out and reported as `truncatedAlerts`.
    /// Default 1000.
    pub max_alerts_per_group: usize,
    /// Generic webhooks receiving Alertmanager's webhook payload (version 4).
    pub webhook: Vec<WebhookConfig>,
    /// Slack incoming webhooks.
    pub slack: Vec<SlackConfig>,
    /// E-mail over SMTP.
    pub email: Vec<EmailConfig>,
    /// SMS (or anything else) through an HTTP request template, e.g. Twilio's API.
    pub sms: Vec<SmsConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            group_by: vec![crate::alerts::model::ALERTNAME.to_owned()],
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
            external_url: String::new(),
            timeout: Duration::from_secs(10),
            tls_roots: TlsRoots::System,
            max_attempts: 8,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            delivery_threads: 2,
            handover_capacity: 16,
            max_queued_deliveries: 1000,
            max_groups: 1000,
            max_alerts_per_group: 1000,
            webhook: Vec::new(),
            slack: Vec::new(),
            email: Vec::new(),
            sms: Vec::new(),
        }
    }
}

/// What every receiver has, borrowed from its config.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    /// The receiver's `name`.
    pub name: &'a str,
    /// Its `send_resolved`.
    pub send_resolved: bool,
    /// Its `matchers`.
    pub matchers: &'a [Matcher],
}

/// The keys every receiver has (`name`, `send_resolved`, `matchers`), spelled into each
/// receiver's struct (serde's `flatten` does not mix with `deny_unknown_fields`).
macro_rules! common_keys {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            /// Names the receiver in logs, counters and the payload's `receiver`; unique per
            /// kind.
            pub name: String,
            /// Whether resolutions are notified too. Default true.
            #[serde(default = "yes")]
            pub send_resolved: bool,
            /// Only alerts matching all of these are sent to this receiver, written as in
            /// Alertmanager: `team="web"`, `host!="a"`, `env=~"prod|stage"`, `job!~"test.*"`.
            /// Default none (every alert).
            #[serde(default, deserialize_with = "matchers")]
            pub matchers: Vec<Matcher>,
            $($body)*
        }

        impl $name {
            /// The keys every receiver has.
            pub fn common(&self) -> Common<'_> {
                Common {
                    name: &self.name,
                    send_resolved: self.send_resolved,
                    matchers: &self.matchers,
                }
            }
        }
    };
}

fn yes() -> bool {
    true
}

common_keys! {
/// `[[alerts.notify.webhook]]`: Alertmanager's webhook payload, POSTed as JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST (http or https). Treated as a secret (it may carry a token).
    pub url: Secret,
    /// Alerts per notification at most; the rest are counted in `truncatedAlerts`. Default 0
    /// (all the group keeps).
    #[serde(default)]
    pub max_alerts: usize,
    /// Extra request headers, e.g. `Authorization = "Bearer ..."` (values are secrets).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}
}

common_keys! {
/// `[[alerts.notify.slack]]`: a message to a Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming webhook's URL (`https://hooks.slack.com/services/...`; a secret).
    pub url: Secret,
    /// Overrides the webhook's channel (`#ops`). Default: the webhook's own.
    #[serde(default)]
    pub channel: Option<String>,
    /// Overrides the poster's name. Default: the webhook's own.
    #[serde(default)]
    pub username: Option<String>,
}
}

/// `tls_roots`: which certificate authorities to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsRoots {
    /// The system's store.
    System,
    /// The Mozilla roots bundled with the collector.
    Webpki,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// No encryption (a relay on localhost or in a trusted network).
    None,
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
}

common_keys! {
/// `[[alerts.notify.email]]`: a plain-text e-mail through an SMTP server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The SMTP server's host name (without port).
    pub smarthost: String,
    /// Its port. Default: 25 with `security = "none"`, 587 with "starttls", 465 with "tls".
    #[serde(default)]
    pub port: Option<u16>,
    /// `"none"`, `"starttls"` or `"tls"`. Default "starttls".
    #[serde(default = "starttls")]
    pub security: SmtpSecurity,
    /// The sender, `perfwatch@example.com` or `Perfwatch <perfwatch@example.com>`.
    pub from: String,
    /// The recipients (at least one).
    pub to: Vec<String>,
    /// SMTP user, if the server wants a login. Default none.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password (a secret). Default none.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The name sent in EHLO. Default: this host's name.
    #[serde(default)]
    pub hello: Option<String>,
}
}

fn starttls() -> SmtpSecurity {
    SmtpSecurity::Starttls
}

impl EmailConfig {
    /// `port`, or the usual port of `security`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        })
    }
}

/// How an SMS request's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (Twilio).
    Form,
    /// A JSON object of strings.
    Json,
}

common_keys! {
/// `[[alerts.notify.sms]]`: one HTTP request per recipient, built from templates.
///
/// Placeholders (in `url`, header values and body values): `{{to}}` (the recipient),
/// `{{status}}` (firing/resolved), `{{alertname}}`, `{{severity}}`, `{{summary}}` (the alerts'
/// summaries, shortened), `{{description}}`, `{{count}}` (alerts in the notification),
/// `{{group}}` (the group's labels), `{{receiver}}`, `{{external_url}}`.
///
/// ```toml
/// [[alerts.notify.sms]]
/// name = "oncall"
/// url = "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
/// basic_auth_user = "AC123"
/// basic_auth_password = "token"
/// to = ["+15550001111"]
/// body = { To = "{{to}}", From = "+15559998888", Body = "[{{status}}] {{summary}}" }
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// HTTP method. Default "POST".
    #[serde(default = "post")]
    pub method: String,
    /// The request URL (http or https; placeholders allowed; a secret).
    pub url: Secret,
    /// Extra headers (values are templates and secrets). Default none.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Basic auth user (Twilio's account SID). Default none.
    #[serde(default)]
    pub basic_auth_user: Option<String>,
    /// Basic auth password (Twilio's auth token; a secret). Default none.
    #[serde(default)]
    pub basic_auth_password: Option<Secret>,
    /// `"form"` or `"json"`. Default "form".
    #[serde(default = "form")]
    pub body_format: BodyFormat,
    /// Body fields, name to template. Default `{ To = "{{to}}", Body = "[{{status}}] {{summary}}" }`.
    #[serde(default = "default_sms_body")]
    pub body: BTreeMap<String, String>,
    /// The recipients' numbers (at least one); one request per number.
    pub to: Vec<String>,
}
}

fn post() -> String {
    "POST".to_owned()
}

fn form() -> BodyFormat {
    BodyFormat::Form
}

fn default_sms_body() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("To".to_owned(), "{{to}}".to_owned()),
        ("Body".to_owned(), "[{{status}}] {{summary}}".to_owned()),
    ])
}

/// Deserializes a humantime duration ("30s", "5m", "1h 30m").
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!("{text:?} is not a duration like \"30s\": {e}"))
    })
}

/// Deserializes Alertmanager-style matcher strings.
fn matchers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Matcher>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    texts
        .iter()
        .map(|t| parse_matcher(t).map_err(serde::de::Error::custom))
        .collect()
}

/// Parses `name="value"`, `name!="value"`, `name=~"regex"` or `name!~"regex"` (the quotes are
/// optional).
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let bad = || format!("matcher {text:?}: write it as name=\"value\", !=, =~ or !~");
    let at = text.find(['=', '!']).ok_or_else(bad)?;
    let name = text[..at].trim();
    let rest = &text[at..];
    let (is_equal, is_regex, value) = if let Some(v) = rest.strip_prefix("=~") {
        (true, true, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (false, true, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (false, false, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (true, false, v)
    } else {
        return Err(bad());
    };
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let matcher = Matcher {
        name: name.to_owned(),
        value: value.replace("\\\"", "\""),
        is_regex,
        is_equal,
    };
    matcher.check()?;
    Ok(matcher)
}

/// Why `url` (a secret: never echoed) cannot be requested.
fn check_url(what: &str, url: &str) -> Result<(), String> {
    let parsed: ureq::http::Uri = url
        .parse()
        .map_err(|_| format!("{what}: url is not a valid URL"))?;
    match parsed.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("{what}: url must start with http:// or https://")),
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(format!("{what}: url has no host"));
    }
    Ok(())
}

impl NotifyConfig {
    /// Why these settings cannot be used, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        let positive = |key: &str, d: Duration| {
            if d.is_zero() {
                Err(format!("alerts.notify.{key} must be more than 0"))
            } else {
                Ok(())
            }
        };
        positive("group_wait", self.group_wait)?;
        positive("group_interval", self.group_interval)?;
        positive("repeat_interval", self.repeat_interval)?;
        positive("timeout", self.timeout)?;
        positive("retry_initial", self.retry_initial)?;
        if self.retry_max < self.retry_initial {
            return Err("alerts.notify.retry_max must be at least retry_initial".into());
        }
        for (key, n) in [
            ("max_attempts", self.max_attempts as usize),
            ("delivery_threads", self.delivery_threads),
            ("handover_capacity", self.handover_capacity),
            ("max_queued_deliveries", self.max_queued_deliveries),
            ("max_groups", self.max_groups),
            ("max_alerts_per_group", self.max_alerts_per_group),
        ] {
            if n == 0 {
                return Err(format!("alerts.notify.{key} must be at least 1"));
            }
        }
        if self.delivery_threads > 64 {
            return Err("alerts.notify.delivery_threads must be at most 64".into());
        }
        if self.group_by.iter().any(|l| l.is_empty()) {
            return Err("alerts.notify.group_by has an empty label name".into());
        }
        if !self.external_url.is_empty() {
            check_url("alerts.notify.external_url", &self.external_url)?;
        }
        let mut names: std::collections::BTreeSet<(String, String)> =
            std::collections::BTreeSet::new();
        let mut common = |kind: &str, c: Common<'_>| -> Result<String, String> {
            let what = format!("alerts.notify.{kind} {:?}", c.name);
            if c.name.trim().is_empty() {
                return Err(format!("every alerts.notify.{kind} needs a name"));
            }
            if !names.insert((kind.to_owned(), c.name.to_owned())) {
                return Err(format!("{what}: the name is used twice"));
            }
            for m in c.matchers {
                m.check().map_err(|e| format!("{what}: {e}"))?;
            }
            Ok(what)
        };
        for w in &self.webhook {
            let what = common("webhook", w.common())?;
            check_url(&what, w.url.expose())?;
            check_headers(&what, &w.headers, false)?;
        }
        for s in &self.slack {
            let what = common("slack", s.common())?;
            check_url(&what, s.url.expose())?;
        }
        for e in &self.email {
            let what = common("email", e.common())?;
            if e.smarthost.trim().is_empty() || e.smarthost.contains([':', '/', ' ']) {
                return Err(format!(
                    "{what}: smarthost must be a host name without port or scheme (the port is `port`)"
                ));
            }
            if e.port == Some(0) {
                return Err(format!("{what}: port must be 1 to 65535"));
            }
            e.from
                .parse::<lettre::message::Mailbox>()
                .map_err(|err| format!("{what}: from {:?} is not an address: {err}", e.from))?;
            if e.to.is_empty() {
                return Err(format!("{what}: to needs at least one recipient"));
            }
            for to in &e.to {
                to.parse::<lettre::message::Mailbox>()
                    .map_err(|err| format!("{what}: to {to:?} is not an address: {err}"))?;
            }
            if e.password.is_some() && e.username.is_none() {
                return Err(format!("{what}: a password needs a username"));
            }
        }
        for s in &self.sms {
            let what = common("sms", s.common())?;
            ureq::http::Method::from_bytes(s.method.as_bytes())
                .map_err(|_| format!("{what}: method {:?} is not an HTTP method", s.method))?;
            template::check(s.url.expose()).map_err(|e| format!("{what}: url: {e}"))?;
            // The URL with every placeholder filled with something harmless must parse.
            check_url(
                &what,
                &template::render(s.url.expose(), &|_| "0".to_owned()),
            )?;
            check_headers(&what, &s.headers, true)?;
            if s.to.is_empty() || s.to.iter().any(|t| t.trim().is_empty()) {
                return Err(format!("{what}: to needs at least one recipient number"));
            }
            if s.body.is_empty() {
                return Err(format!("{what}: body needs at least one field"));
            }
            for (field, value) in &s.body {
                template::check(value).map_err(|e| format!("{what}: body field {field}: {e}"))?;
            }
            if s.basic_auth_password.is_some() && s.basic_auth_user.is_none() {
                return Err(format!("{what}: basic_auth_password needs basic_auth_user"));
            }
        }
        Ok(())
    }

    /// Whether any receiver is configured.
    pub fn has_receivers(&self) -> bool {
        !(self.webhook.is_empty()
            && self.slack.is_empty()
            && self.email.is_empty()
            && self.sms.is_empty())
    }

    /// The labels of `labels` that name its group.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        if self.group_by.iter().any(|l| l == "...") {
            return labels.clone();
        }
        self.group_by
            .iter()
            .filter_map(|name| labels.get(name).map(|v| (name.clone(), v.clone())))
            .collect()
    }
}

/// Why these headers cannot be sent (values are secrets: never echoed).
fn check_headers(
    what: &str,
    headers: &BTreeMap<String, Secret>,
    templated: bool,
) -> Result<(), String> {
    for (name, value) in headers {
        ureq::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{what}: {name:?} is not a header name"))?;
        if templated {
            template::check(value.expose()).map_err(|e| format!("{what}: header {name}: {e}"))?;
        }
        ureq::http::HeaderValue::from_str(value.expose())
            .map_err(|_| format!("{what}: header {name} has a character a header cannot carry"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NotifyConfig, String> {
        toml::from_str::<NotifyConfig>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_alertmanagers() {
        let c = parse("").unwrap();
        assert_eq!(c, NotifyConfig::default());
        assert_eq!(c.group_by, ["alertname"]);
        assert_eq!(c.group_wait, Duration::from_secs(30));
        assert_eq!(c.group_interval, Duration::from_secs(300));
        assert_eq!(c.repeat_interval, Duration::from_secs(14400));
        assert!(c.check().is_ok());
    }

    #[test]
    fn a_full_config_parses_and_checks() {
        let c = parse(
            r#"
            group_by = ["alertname", "host"]
            group_wait = "200ms"
            group_interval = "1m"
            repeat_interval = "1h 30m"
            [[webhook]]
            name = "ops"
            url = "https://hooks.example/am?token=abc"
            matchers = ['team="web"', 'env=~"prod|stage"']
            [[slack]]
            name = "chat"
            url = "https://hooks.slack.com/services/T/B/XYZ"
            send_resolved = false
            [[email]]
            name = "mail"
            smarthost = "smtp.example.com"
            security = "tls"
            port = 465
            from = "Perfwatch <pw@example.com>"
            to = ["ops@example.com"]
            username = "pw"
            password = "hunter2"
            [[sms]]
            name = "twilio"
            url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
            basic_auth_user = "AC1"
            basic_auth_password = "tok"
            to = ["+15550001111"]
            body = { To = "{{to}}", From = "+1555", Body = "[{{status}}] {{summary}}" }
            "#,
        )
        .unwrap();
        c.check().unwrap();
        assert_eq!(c.group_wait, Duration::from_millis(200));
        assert_eq!(c.webhook[0].matchers.len(), 2);
        assert!(c.webhook[0].send_resolved);
        assert!(!c.slack[0].send_resolved);
        assert_eq!(c.email[0].security, SmtpSecurity::Tls);
        // Secrets never show in Debug.
        let debug = format!("{c:?}");
        for secret in ["token=abc", "XYZ", "hunter2", "\"tok\""] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
    }

    #[test]
    fn bad_settings_are_rejected_with_a_reason() {
        let reason = |text: &str| match parse(text) {
            Ok(c) => c.check().err().unwrap_or_default(),
            Err(e) => e,
        };
        assert!(reason("group_wait = \"0s\"").contains("group_wait must be more than 0"));
        assert!(reason("group_interval = \"soon\"").contains("not a duration"));
        let r = reason("[[webhook]]\nname = \"a\"\nurl = \"ftp://secret-host/x\"");
        assert!(r.contains("http:// or https://"), "{r}");
        assert!(!r.contains("secret-host"), "the URL is a secret: {r}");
        assert!(
            reason("[[webhook]]\nname = \"a\"\nurl = \"not a url\"").contains("not a valid URL")
        );
        assert!(
            reason("[[webhook]]\nname = \"a\"\nurl = \"http://x\"\n[[webhook]]\nname = \"a\"\nurl = \"http://y\"")
                .contains("used twice")
        );
        let email =
            "[[email]]\nname = \"m\"\nsmarthost = \"smtp.example.com\"\nfrom = \"a@example.com\"\n";
        assert!(reason(&format!("{email}to = []")).contains("at least one recipient"));
        assert!(reason(&format!("{email}to = [\"nobody\"]")).contains("not an address"));
        let sms = "[[sms]]\nname = \"s\"\nurl = \"https://api.example/send\"\n";
        assert!(reason(&format!("{sms}to = []")).contains("at least one recipient"));
        let r = reason(&format!(
            "{sms}to = [\"+1\"]\nbody = {{ Body = \"{{{{nope}}}}\" }}"
        ));
        assert!(r.contains("unknown placeholder {{nope}}"), "{r}");
        assert!(
            reason("[[slack]]\nname = \"s\"\nurl = \"https://h\"\nmatchers = ['x']")
                .contains("matcher")
        );
    }

    #[test]
    fn matchers_parse_like_alertmanagers() {
        let m = parse_matcher("team=\"web\"").unwrap();
        assert!(m.is_equal && !m.is_regex && m.name == "team" && m.value == "web");
        let m = parse_matcher("env!~prod.*").unwrap();
        assert!(!m.is_equal && m.is_regex && m.value == "prod.*");
        assert!(parse_matcher("env=~\"(\"").is_err());
        assert!(parse_matcher("=\"x\"").is_err());
    }
}
