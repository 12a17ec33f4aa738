//! `GET /metrics`: the Prometheus text exposition (format 0.0.4), in base units (seconds,
//! bytes). Today it carries the ingest pipeline; the system and business monitors add theirs.

use std::fmt::Write;

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// The exposition's media type.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes one metric family with a single unlabelled sample.
fn family(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// The collector's own metrics.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let q = state.queue.stats();
    let mut out = String::with_capacity(2048);
    family(
        &mut out,
        "perfwatch_ingest_queue_batches",
        "gauge",
        "Batches waiting for the writer or being written.",
        q.depth_batches as f64,
    );
    family(
        &mut out,
        "perfwatch_ingest_queue_bytes",
        "gauge",
        "Bytes of batch bodies waiting for the writer or being written.",
        q.depth_bytes as f64,
    );
    family(
        &mut out,
        "perfwatch_ingest_queue_max_batches",
        "gauge",
        "Batches the ingest queue holds before answering 503.",
        q.max_batches as f64,
    );
    family(
        &mut out,
        "perfwatch_ingest_queue_max_bytes",
        "gauge",
        "Bytes the ingest queue holds before answering 503.",
        q.max_bytes as f64,
    );
    family(
        &mut out,
        "perfwatch_store_commits_total",
        "counter",
        "Group commits attempted by the writer.",
        q.commits as f64,
    );
    family(
        &mut out,
        "perfwatch_store_commit_failures_total",
        "counter",
        "Group commits that failed.",
        q.commit_failures as f64,
    );
    family(
        &mut out,
        "perfwatch_store_batches_written_total",
        "counter",
        "Batches committed to the store.",
        q.batches_written as f64,
    );
    family(
        &mut out,
        "perfwatch_store_last_commit_seconds",
        "gauge",
        "How long the last group commit took.",
        q.last_commit_micros as f64 / 1e6,
    );
    family(
        &mut out,
        "perfwatch_store_last_sync_seconds",
        "gauge",
        "How long the last flush of committed groups to disk took.",
        q.last_sync_micros as f64 / 1e6,
    );
    family(
        &mut out,
        "perfwatch_store_up",
        "gauge",
        "1 when the last commit succeeded, 0 after a failed one.",
        if q.store_ok { 1.0 } else { 0.0 },
    );
    HttpResponse::Ok().content_type(EXPOSITION).body(out)
}
