//! Alerts over HTTP:
//! - `GET /api/v1/monitoring/alerts?state=&severity=&alertname=&hours=&limit=`: the pending and
//!   firing alerts, the history (alerts resolved in the window), the silences in force, and
//!   how evaluation goes. Each alert says whether a silence or a critical alert mutes it.
//! - `GET /api/v1/monitoring/alerts/rules`: the rules in force.
//! - `POST /api/v1/monitoring/alerts/reload` (admin): reads the rules again.
//! - `GET`, `POST /api/v1/monitoring/alerts/silences` and
//!   `DELETE /api/v1/monitoring/alerts/silences/{id}` (admin for changes): silences, in
//!   Alertmanager's shape (`matchers` with `name`, `value`, `isRegex`, `isEqual`; `startsAt`,
//!   `endsAt` or `duration`; `createdBy`; `comment`).
//!
//! Everything is read from the store, so every collector sharing a database answers the same,
//! whichever of them evaluates.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::access;
use crate::alerts::model::{inhibited, silenced_by, Alert, AlertState, Matcher, Silence};
use crate::alerts::rules::{format_value, Rule, RuleKind};
use crate::body::{self, ContentEncoding};
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::routes::{admin, query_param};
use crate::state::AppState;
use crate::window::{shorten, Window};

/// Most alerts an answer lists (`limit=`).
pub const MAX_LIMIT: usize = 1_000;
/// Alerts listed when `limit=` is absent.
pub const DEFAULT_LIMIT: usize = 100;
/// Most silences in force at once.
pub const MAX_SILENCES: usize = 1_000;
/// Most matchers per silence.
pub const MAX_MATCHERS: usize = 32;
/// The largest silence request body.
pub const MAX_SILENCE_BYTES: usize = 16 * 1024;
/// The longest a silence may last.
pub const MAX_SILENCE_DAYS: i64 = 365;

/// An alert as answered: the alert, and why it is not notified if it is not.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    /// The rule's `alertname`.
    pub name: String,
    /// The silences muting it now.
    pub silenced_by: Vec<String>,
    /// Whether a firing critical alert of the same labels mutes it.
    pub inhibited: bool,
}

/// The query of `GET /alerts`.
#[derive(Debug, Deserialize)]
pub struct AlertsQuery {
    state: Option<String>,
    severity: Option<String>,
    alertname: Option<String>,
    hours: Option<String>,
    limit: Option<String>,
}

/// The answer of `GET /alerts`.
#[derive(Debug, Serialize)]
struct AlertsAnswer {
    hours: f64,
    active: Vec<AlertView>,
    history: Vec<AlertView>,
    silences: Vec<Silence>,
    evaluation: EvaluationView,
}

/// How evaluation goes, as answered.
#[derive(Debug, Serialize)]
struct EvaluationView {
    /// Whether alerting runs in this collector.
    enabled: bool,
    #[serde(flatten)]
    status: crate::alerts::evaluator::EvaluationStatus,
    interval_seconds: f64,
    rules: usize,
}

/// Reads the active alerts and those resolved since `since_ms`, with how each is muted.
pub async fn read_views(
    state: &AppState,
    since_ms: i64,
    limit: usize,
) -> Result<(Vec<AlertView>, Vec<Silence>), ApiError> {
    let now = clock::to_epoch_ms(clock::now_ms());
    let (alerts, silences) = state
        .with_store(move |store| Ok((store.read_alerts(since_ms, limit)?, store.silences(now)?)))
        .await?;
    let firing: Vec<Alert> = alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .cloned()
        .collect();
    let views = alerts
        .into_iter()
        .map(|alert| AlertView {
            name: alert.name().to_owned(),
            silenced_by: silenced_by(&silences, &alert.labels, now),
            inhibited: inhibited(&alert, &firing),
            alert,
        })
        .collect();
    let in_force = silences.into_iter().filter(|s| s.active_at(now)).collect();
    Ok((views, in_force))
}

/// The pending and firing alerts, for the dashboard.
pub async fn active_alerts(state: &AppState) -> Result<Vec<AlertView>, ApiError> {
    let (views, _) = read_views(state, i64::MAX, MAX_LIMIT).await?;
    Ok(views
        .into_iter()
        .filter(|v| v.alert.state != AlertState::Resolved)
        .collect())
}

/// `GET /api/v1/monitoring/alerts`.
pub async fn alerts(
    state: web::Data<AppState>,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    // The history's window, as every read endpoint takes `hours=` (24 by default, at most 720).
    let window = Window::from_hours_param(query.hours.as_deref())?;
    let limit = query_param(
        query.limit.as_deref(),
        "limit",
        DEFAULT_LIMIT,
        |n| (1..=MAX_LIMIT).contains(n),
        &format!("a whole number from 1 to {MAX_LIMIT}"),
    )?;
    let wanted_state = match query.state.as_deref() {
        None => None,
        Some(text) => Some(AlertState::parse(text.trim()).ok_or_else(|| {
            ApiError::Query(format!(
                "`state` must be pending, firing or resolved, got `{}`",
                shorten(text)
            ))
        })?),
    };
    if let Some(severity) = query.severity.as_deref() {
        if !matches!(severity, "warning" | "critical") {
            return Err(ApiError::Query(format!(
                "`severity` must be warning or critical, got `{}`",
                shorten(severity)
            )));
        }
    }
    let since = window.since_ms;
    // Read past the limit so that filtering still fills it.
    let (views, silences) = read_views(&state, since, MAX_LIMIT * 10).await?;
    let keep = |v: &AlertView| {
        wanted_state.is_none_or(|s| v.alert.state == s)
            && query
                .severity
                .as_deref()
                .is_none_or(|s| v.alert.labels.get("severity").map(String::as_str) == Some(s))
            && query.alertname.as_deref().is_none_or(|n| v.name == n)
    };
    let (mut active, mut history): (Vec<AlertView>, Vec<AlertView>) = views
        .into_iter()
        .filter(keep)
        .partition(|v| v.alert.state != AlertState::Resolved);
    active.truncate(limit);
    history.truncate(limit);
    let evaluation = match &state.alerting {
        Some(alerting) => {
            let config = alerting.config();
            EvaluationView {
                enabled: true,
                status: alerting.status(),
                interval_seconds: config.evaluation_interval.as_secs_f64(),
                rules: config.rules.len(),
            }
        }
        None => EvaluationView {
            enabled: false,
            status: Default::default(),
            interval_seconds: 0.0,
            rules: 0,
        },
    };
    Ok(envelope::success(&AlertsAnswer {
        hours: window.hours,
        active,
        history,
        silences,
        evaluation,
    }))
}

/// A rule as answered.
#[derive(Debug, Serialize)]
struct RuleView {
    name: String,
    kind: &'static str,
    expr: String,
    op: &'static str,
    thresholds: Vec<(String, String)>,
    window_seconds: f64,
    for_seconds: f64,
    keep_firing_for_seconds: f64,
    hysteresis: f64,
    no_data: String,
    min_count: u64,
    labels: std::collections::BTreeMap<String, String>,
    summary: String,
    /// The config file's line (0 for a built-in rule).
    line: usize,
}

impl RuleView {
    fn of(rule: &Rule) -> Self {
        Self {
            name: rule.name.clone(),
            kind: rule.kind.as_str(),
            expr: rule.expr.text.clone(),
            op: if matches!(rule.kind, RuleKind::Anomaly(_)) {
                ""
            } else {
                rule.op.as_str()
            },
            thresholds: rule
                .thresholds
                .iter()
                .map(|(s, t)| (s.as_str().to_owned(), format_value(*t)))
                .collect(),
            window_seconds: rule.window.as_secs_f64(),
            for_seconds: rule.for_.as_secs_f64(),
            keep_firing_for_seconds: rule.keep_firing_for.as_secs_f64(),
            hysteresis: rule.hysteresis,
            no_data: format!("{:?}", rule.no_data).to_ascii_lowercase(),
            min_count: rule.min_count,
            labels: rule.labels.clone(),
            summary: rule.summary.clone(),
            line: rule.line,
        }
    }
}

/// `GET /api/v1/monitoring/alerts/rules`.
pub async fn rules(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rules: Vec<RuleView> = state
        .alerting
        .as_ref()
        .map(|a| a.config().rules.iter().map(RuleView::of).collect())
        .unwrap_or_default();
    Ok(envelope::success(&serde_json::json!({ "rules": rules })))
}

/// `POST /api/v1/monitoring/alerts/reload` (admin): 200 with the number of rules, or 422 with
/// why the file was refused (the old rules stay).
pub async fn reload(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = access::caller(&req).name;
    let Some(alerting) = state.alerting.clone() else {
        return Err(ApiError::NotReady("alerting is not running".into()));
    };
    let (reloaded, audited) = state
        .with_store(move |store| Ok(admin::reload_rules(&alerting, store, &who)))
        .await?;
    audited?;
    let count = reloaded.map_err(|e| ApiError::Unprocessable {
        code: "invalid_rules",
        message: format!("the alert rules were not reloaded (the old ones stay): {e}"),
    })?;
    Ok(envelope::success(&serde_json::json!({ "rules": count })))
}

/// A silence as posted (Alertmanager's `PostableSilence`, plus `duration`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PostedSilence {
    id: Option<String>,
    matchers: Vec<Matcher>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    duration: Option<String>,
    created_by: Option<String>,
    comment: Option<String>,
}

/// `GET /api/v1/monitoring/alerts/silences`: the silences in force or to come.
pub async fn silences(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = clock::to_epoch_ms(clock::now_ms());
    let silences = state.with_store(move |store| store.silences(now)).await?;
    Ok(envelope::success(
        &serde_json::json!({ "silences": silences }),
    ))
}

/// `POST /api/v1/monitoring/alerts/silences` (admin): creates a silence (or replaces the one
/// `id` names) and answers its id.
pub async fn create_silence(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = access::caller(&req).name;
    body::require_content_type(req.headers(), &["application/json"], "application/json")?;
    let encoding = ContentEncoding::from_headers(req.headers())?;
    let bytes = body::read_bounded(
        req.headers(),
        payload,
        encoding,
        MAX_SILENCE_BYTES,
        state.body_timeout,
    )
    .await?;
    let posted: PostedSilence = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::Json(format!(
            "the body must be a JSON silence {{\"matchers\": [{{\"name\", \"value\", \"isRegex\", \"isEqual\"}}], \"endsAt\" or \"duration\", \"createdBy\", \"comment\"}}: {e}"
        ))
    })?;
    let now = clock::to_epoch_ms(clock::now_ms());
    let silence = check_silence(posted, &who, now).map_err(|message| ApiError::Unprocessable {
        code: "invalid_silence",
        message,
    })?;
    let id = silence.id.clone();
    let detail = format!(
        "{} matcher(s) until {} ms: {}",
        silence.matchers.len(),
        silence.ends_at_ms,
        silence.comment.chars().take(200).collect::<String>()
    );
    state
        .with_store(move |store| {
            let in_force = store.silences(now)?;
            if in_force.len() >= MAX_SILENCES && !in_force.iter().any(|s| s.id == silence.id) {
                return Ok(false);
            }
            store.write_silence(&silence)?;
            Ok(true)
        })
        .await?
        .then_some(())
        .ok_or_else(|| ApiError::Unprocessable {
            code: "too_many_silences",
            message: format!(
                "{MAX_SILENCES} silences are in force or scheduled, the most allowed: expire some first"
            ),
        })?;
    tracing::info!(silence = %id, by = %who, "silence created");
    admin::record(&state, &who, "silence.create", &id, detail).await?;
    Ok(envelope::success(&serde_json::json!({ "silence_id": id })))
}

/// `DELETE /api/v1/monitoring/alerts/silences/{id}` (admin): expires the silence now.
pub async fn expire_silence(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = access::caller(&req).name;
    let id = path.into_inner();
    let now = clock::to_epoch_ms(clock::now_ms());
    let lookup = id.clone();
    let found = state
        .with_store(move |store| store.expire_silence(&lookup, now))
        .await?;
    if !found {
        return Err(ApiError::NotFound {
            path: format!("silence {}", shorten(&id)),
        });
    }
    tracing::info!(silence = %id, by = %who, "silence expired");
    admin::record(&state, &who, "silence.expire", &id, "expired now".into()).await?;
    Ok(envelope::success(
        &serde_json::json!({ "silence_id": id, "expired": true }),
    ))
}

/// Checks a posted silence; the error says what to fix.
fn check_silence(posted: PostedSilence, who: &str, now_ms: i64) -> Result<Silence, String> {
    if posted.matchers.is_empty() {
        return Err(
            "a silence needs at least one matcher (a silence of everything is refused)".into(),
        );
    }
    if posted.matchers.len() > MAX_MATCHERS {
        return Err(format!("at most {MAX_MATCHERS} matchers"));
    }
    for matcher in &posted.matchers {
        matcher.check()?;
        if matcher.name.len() > 256 || matcher.value.len() > 1024 {
            return Err("a matcher's name is at most 256 bytes and its value 1024".into());
        }
    }
    let time = |key: &str, text: &str| {
        clock::parse_time(text).ok_or_else(|| {
            format!(
                "`{key}` must be RFC 3339 or epoch ms, got `{}`",
                shorten(text)
            )
        })
    };
    let starts_at_ms = match posted.starts_at.as_deref() {
        Some(text) => time("startsAt", text)?.max(now_ms),
        None => now_ms,
    };
    let ends_at_ms = match (posted.ends_at.as_deref(), posted.duration.as_deref()) {
        (Some(_), Some(_)) => return Err("give `endsAt` or `duration`, not both".into()),
        (Some(text), None) => time("endsAt", text)?,
        (None, Some(text)) => {
            let d = humantime::parse_duration(text.trim())
                .map_err(|e| format!("`duration` must be like \"2h\" or \"30m\": {e}"))?;
            starts_at_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        }
        (None, None) => return Err("give `endsAt` (RFC 3339) or `duration` (\"2h\")".into()),
    };
    if ends_at_ms <= starts_at_ms {
        return Err("the silence must end after it starts, and in the future".into());
    }
    if ends_at_ms - starts_at_ms > MAX_SILENCE_DAYS * 86_400_000 {
        return Err(format!("a silence lasts at most {MAX_SILENCE_DAYS} days"));
    }
    let created_by = posted.created_by.unwrap_or_else(|| who.to_owned());
    let comment = posted.comment.unwrap_or_default();
    if created_by.len() > 256 || comment.len() > 4096 {
        return Err("`createdBy` is at most 256 bytes and `comment` 4096".into());
    }
    let id = match posted.id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            id
        }
        Some(_) => return Err("`id` must be 1 to 64 letters, digits or `-`".into()),
        None => new_id(now_ms),
    };
    Ok(Silence {
        id,
        matchers: posted.matchers,
        starts_at_ms,
        ends_at_ms,
        created_by,
        comment,
        created_at_ms: now_ms,
    })
}

/// A new silence id: the time and a random part, hex.
fn new_id(now_ms: i64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_i64(now_ms);
    format!("{now_ms:x}-{:016x}", hasher.finish())
}
