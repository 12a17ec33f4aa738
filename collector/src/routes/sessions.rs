//! `GET /api/v1/monitoring/sessions?hours=` (or `from=&to=`): the users active now, and the
//! sessions that started in the window: how many, by how many users, how long they lasted and
//! how many pages they viewed ([`crate::session_stats`]).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::envelope;
use crate::error::ApiError;
use crate::session_stats::{ActiveUsers, SessionStats, SessionStatsBuilder};
use crate::state::AppState;
use crate::window::{Window, WindowParams};

/// The query parameters.
#[derive(Debug, Deserialize)]
pub struct SessionsQuery {
    #[serde(flatten)]
    pub window: WindowParams,
}

#[derive(Debug, Serialize)]
struct Answer {
    hours: f64,
    from_ms: i64,
    to_ms: i64,
    #[serde(flatten)]
    stats: SessionStats,
}

/// The session statistics of `window`, with the users active at `now_ms`.
pub async fn session_statistics(
    state: &AppState,
    window: Window,
    now_ms: f64,
) -> Result<SessionStats, ApiError> {
    let policy = state.sessions;
    let active_since = now_ms as i64 - i64::from(policy.active_minutes) * 60_000;
    Ok(state
        .with_store(move |store| {
            let counts = store.active_users(active_since)?;
            let active = ActiveUsers {
                minutes: f64::from(policy.active_minutes),
                users: counts.named_users + counts.anonymous_sessions,
                sessions: counts.sessions,
            };
            let timeout_ms = i64::from(policy.timeout_minutes) * 60_000;
            let mut builder =
                SessionStatsBuilder::new(window.since_ms, window.until_ms, timeout_ms);
            store.scan_sessions(window.since_ms, window.until_ms, &mut |point| {
                builder.add(point)
            })?;
            Ok(builder.finish(active))
        })
        .await?)
}

/// Session statistics.
pub async fn sessions(
    state: web::Data<AppState>,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = clock::now_ms();
    let window = query.window.window_at(now)?;
    let stats = session_statistics(&state, window, now).await?;
    Ok(envelope::success(&Answer {
        hours: window.hours,
        from_ms: window.since_ms,
        to_ms: window.until_ms,
        stats,
    }))
}
