//! Administrative calls and their record:
//! - `DELETE /api/v1/monitoring/users/{user_id}` (admin): erases what is stored about a user
//!   (the right to erasure; [`crate::store::Store::erase_user`] says what goes).
//! - `GET /api/v1/monitoring/audit?hours=&limit=`: the audit log of administrative actions
//!   (silences, reloads, erasures): what, when, by which token's name.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::access;
use crate::alerts::evaluator::Alerting;
use crate::alerts::rules::RuleError;
use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::routes::query_param;
use crate::state::AppState;
use crate::store::{AuditEntry, Store, StoreError};

/// Entries an audit answer lists at most.
pub const MAX_AUDIT_ENTRIES: usize = 1_000;

/// Appends an entry to the audit log, off the async thread; a failure is logged (the action
/// itself has happened) and answered as the store's error.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    detail: String,
) -> Result<(), ApiError> {
    let (actor, action, target) = (actor.to_owned(), action.to_owned(), target.to_owned());
    Ok(state
        .with_store(move |store| record_blocking(store, &actor, &action, &target, detail))
        .await?)
}

/// Appends an entry from a plain thread; a failure is logged and returned.
pub fn record_blocking(
    store: &dyn Store,
    actor: &str,
    action: &str,
    target: &str,
    detail: String,
) -> Result<(), StoreError> {
    let entry = entry(actor, action, target, detail);
    let written = store.write_audit(&entry);
    if let Err(error) = &written {
        tracing::error!(%error, action, actor, "the audit log did not take an entry");
    }
    written
}

/// Reloads the alert rules for `actor` (the API's caller, or `SIGHUP`) and records it in the
/// audit log, from a plain thread (a reload waits for an evaluation in progress): the reload's
/// outcome, and whether the audit log took it.
pub fn reload_rules(
    alerting: &Alerting,
    store: &dyn Store,
    actor: &str,
) -> (Result<usize, RuleError>, Result<(), StoreError>) {
    let reloaded = alerting.reload();
    let detail = match &reloaded {
        Ok(n) => format!("{n} rules in force"),
        Err(e) => e.to_string(),
    };
    let audited = record_blocking(store, actor, "rules.reload", "config file", detail);
    (reloaded, audited)
}

fn entry(actor: &str, action: &str, target: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at_ms: clock::to_epoch_ms(clock::now_ms()),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
    }
}

/// `DELETE /api/v1/monitoring/users/{user_id}` (admin).
pub async fn erase_user(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = access::caller(&req).name;
    let user_id = path.into_inner();
    if user_id.is_empty() || user_id.len() > 256 {
        return Err(ApiError::Query("a user id is 1 to 256 bytes".into()));
    }
    let target = user_id.clone();
    let deleted = state
        .with_store(move |store| store.erase_user(&target))
        .await?;
    // The statistics caches of every collector on this store are emptied by the generation
    // the erasure raised (crate::erasure_cache).
    tracing::info!(by = %who, deleted, "a user's data was erased");
    record(
        &state,
        &who,
        "user.erase",
        &user_id,
        format!("{deleted} rows deleted"),
    )
    .await?;
    Ok(envelope::success(
        &serde_json::json!({ "user_id": user_id, "rows_deleted": deleted }),
    ))
}

/// The query of `GET /audit`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    hours: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/monitoring/audit`.
pub async fn audit(
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let hours = query_param(
        query.hours.as_deref(),
        "hours",
        24.0 * 30.0,
        |h: &f64| h.is_finite() && *h > 0.0 && *h <= 24.0 * 366.0,
        "a number of hours above 0 and at most 8784",
    )?;
    let limit = query_param(
        query.limit.as_deref(),
        "limit",
        100,
        |n| (1..=MAX_AUDIT_ENTRIES).contains(n),
        &format!("a whole number from 1 to {MAX_AUDIT_ENTRIES}"),
    )?;
    let since = clock::to_epoch_ms(clock::now_ms()) - (hours * 3.6e6) as i64;
    let entries = state
        .with_store(move |store| store.read_audit(since, limit))
        .await?;
    Ok(envelope::success(
        &serde_json::json!({ "hours": hours, "entries": entries }),
    ))
}
