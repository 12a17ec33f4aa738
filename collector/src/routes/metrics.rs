//! `GET /metrics`: the Prometheus text exposition (format 0.0.4), in base units (seconds,
//! bytes, ratios 0–1), named as node_exporter names its own: the ingest pipeline, the host's
//! latest sample (`perfwatch_host_*`, labelled by device or mount point) and the collector's
//! own process (`process_*`, as Prometheus client libraries name theirs).

use std::fmt::Write;

use actix_web::{web, HttpResponse};

use crate::alerts::evaluator::Alerting;
use crate::histogram::{HistogramSnapshot, BUCKETS};
use crate::host::{DiskSample, HostSample, NetworkSample};
use crate::state::{AppState, IngestCounters, OTHER_ERROR_KIND};
use perfwatch_protocol::BrowserError;
use std::sync::atomic::Ordering;

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
    let latencies = state.queue.latencies();
    histogram(
        &mut out,
        "perfwatch_store_commit_duration_seconds",
        "How long group commits took.",
        &latencies.commit,
    );
    histogram(
        &mut out,
        "perfwatch_store_sync_duration_seconds",
        "How long flushes of committed groups to disk took.",
        &latencies.sync,
    );
    family(
        &mut out,
        "perfwatch_own_api_calls_dropped_total",
        "counter",
        "The collector's own API call records dropped: more than its buffer holds between two \
         flushes, or refused by a full queue.",
        state.own_calls.dropped() as f64,
    );
    let ingest = &state.ingest;
    family(
        &mut out,
        "perfwatch_ingest_batches_stored_total",
        "counter",
        "Batches stored (answered 200): browser batches and backend records.",
        ingest.batches_stored.load(Ordering::Relaxed) as f64,
    );
    family(
        &mut out,
        "perfwatch_ingest_events_accepted_total",
        "counter",
        "Events accepted in stored batches.",
        ingest.events_accepted.load(Ordering::Relaxed) as f64,
    );
    let refused = IngestCounters::snapshot(&ingest.batches_refused);
    labelled(
        &mut out,
        "perfwatch_ingest_batches_refused_total",
        "counter",
        "Browser batches refused whole, by the answer's error code.",
        refused
            .iter()
            .map(|(code, n)| (vec![("code", *code)], *n as f64))
            .collect(),
    );
    let rejected = IngestCounters::snapshot(&ingest.events_rejected);
    labelled(
        &mut out,
        "perfwatch_ingest_events_rejected_total",
        "counter",
        "Events refused item by item, by the rule broken.",
        rejected
            .iter()
            .map(|(code, n)| (vec![("reason", *code)], *n as f64))
            .collect(),
    );
    let errors = IngestCounters::snapshot(&ingest.browser_errors);
    labelled(
        &mut out,
        "perfwatch_browser_errors_total",
        "counter",
        "Errors pages reported (`error` events accepted in stored batches), by kind: the kinds \
         the SDK sends, every other as `other`.",
        BrowserError::KNOWN_KINDS
            .iter()
            .chain([&OTHER_ERROR_KIND])
            .map(|kind| {
                let n = errors.get(kind).copied().unwrap_or_default();
                (vec![("kind", *kind)], n as f64)
            })
            .collect(),
    );
    labelled(
        &mut out,
        "perfwatch_otlp_spans_total",
        "counter",
        "OTLP spans received, by outcome: recorded (as API or AI calls), ignored (neither AI \
         nor HTTP server spans) or refused (counted in partialSuccess).",
        [
            ("recorded", &ingest.otlp_spans_recorded),
            ("ignored", &ingest.otlp_spans_ignored),
            ("refused", &ingest.otlp_spans_refused),
        ]
        .iter()
        .map(|(outcome, n)| {
            (
                vec![("outcome", *outcome)],
                n.load(Ordering::Relaxed) as f64,
            )
        })
        .collect(),
    );
    if let Some(alerting) = &state.alerting {
        alert_families(&mut out, alerting);
    }
    if let Some(sample) = state.host.latest_sample() {
        host_families(&mut out, &sample);
    }
    HttpResponse::Ok().content_type(EXPOSITION).body(out)
}

/// The alert evaluation's families: evaluations and their failures, alerts fired and resolved,
/// and the alerts held now by state and severity (on the evaluating collector).
fn alert_families(out: &mut String, alerting: &Alerting) {
    let c = alerting.counters();
    let counter = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed) as f64;
    family(
        out,
        "perfwatch_alert_evaluations_total",
        "counter",
        "Evaluations of the alert rules run by this collector.",
        counter(&c.evaluations),
    );
    family(
        out,
        "perfwatch_alert_rule_failures_total",
        "counter",
        "Rule evaluations whose series could not be read (their alerts were left as they were).",
        counter(&c.rule_failures),
    );
    family(
        out,
        "perfwatch_alert_store_failures_total",
        "counter",
        "Evaluations whose alerts could not be stored (retried at the next).",
        counter(&c.store_failures),
    );
    family(
        out,
        "perfwatch_alert_series_dropped_total",
        "counter",
        "Series ignored beyond a rule's limit.",
        counter(&c.series_dropped),
    );
    family(
        out,
        "perfwatch_alert_reload_failures_total",
        "counter",
        "Reloads refused (the old rules stayed).",
        counter(&c.reload_failures),
    );
    labelled(
        out,
        "perfwatch_alert_transitions_total",
        "counter",
        "Alerts that started firing, and that resolved.",
        vec![
            (vec![("to", "firing")], counter(&c.fired)),
            (vec![("to", "resolved")], counter(&c.resolved)),
        ],
    );
    let n = alerting.notify_counters();
    let by_kind = |pick: fn(&(&'static str, u64, u64, u64)) -> u64| -> Samples<'static> {
        n.by_receiver
            .iter()
            .map(|r| (vec![("kind", r.0)], pick(r) as f64))
            .collect()
    };
    labelled(
        out,
        "perfwatch_alert_notifications_total",
        "counter",
        "Notifications delivered, by receiver kind.",
        by_kind(|r| r.1),
    );
    labelled(
        out,
        "perfwatch_alert_notification_failures_total",
        "counter",
        "Notification attempts that failed (each retry counts), by receiver kind.",
        by_kind(|r| r.2),
    );
    labelled(
        out,
        "perfwatch_alert_notifications_given_up_total",
        "counter",
        "Notifications given up after their last attempt, by receiver kind.",
        by_kind(|r| r.3),
    );
    labelled(
        out,
        "perfwatch_alert_notifications_dropped_total",
        "counter",
        "Notification work dropped because a bound was reached: evaluations handed over while \
         the notifier was behind (handover), deliveries beyond the queue (delivery), retries \
         replaced by a newer notification of their group (superseded), alerts beyond the group \
         limit (alert).",
        vec![
            (vec![("what", "handover")], n.dropped_handovers as f64),
            (vec![("what", "delivery")], n.dropped_deliveries as f64),
            (vec![("what", "superseded")], n.superseded as f64),
            (vec![("what", "alert")], n.dropped_alerts as f64),
        ],
    );
    family(
        out,
        "perfwatch_alert_groups",
        "gauge",
        "Alert groups the notifier follows.",
        n.groups as f64,
    );
    let counts = alerting.active_counts();
    labelled(
        out,
        "perfwatch_alerts",
        "gauge",
        "Alerts pending or firing now, by state and severity (0 on a collector that does not \
         evaluate).",
        counts
            .iter()
            .map(|((state, severity), n)| {
                (vec![("state", *state), ("severity", *severity)], *n as f64)
            })
            .collect(),
    );
}

/// Writes one histogram family: cumulative buckets, `+Inf`, sum and count.
fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in BUCKETS.iter().zip(h.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// A family's samples: label sets (name, value) and values.
type Samples<'a> = Vec<(Vec<(&'static str, &'a str)>, f64)>;

/// Writes one metric family with labelled samples (none: the family is left out).
fn labelled(out: &mut String, name: &str, kind: &str, help: &str, samples: Samples<'_>) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let labels: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("{key}=\"{}\"", escape_label(value)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// A label value as the exposition format quotes it: backslash, double quote and line feed
/// escaped.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The host's latest sample.
fn host_families(out: &mut String, s: &HostSample) {
    if let Some(cpu) = s.cpu.usage_percent {
        let help = "Share of CPU time busy (idle, iowait and steal excluded), all cores.";
        family(
            out,
            "perfwatch_host_cpu_usage_ratio",
            "gauge",
            help,
            cpu / 100.0,
        );
    }
    let cores: Vec<String> = (0..s.cpu.per_core_percent.len())
        .map(|i| i.to_string())
        .collect();
    labelled(
        out,
        "perfwatch_host_cpu_core_usage_ratio",
        "gauge",
        "Share of CPU time busy, per core.",
        cores
            .iter()
            .zip(&s.cpu.per_core_percent)
            .map(|(core, percent)| (vec![("core", core.as_str())], percent / 100.0))
            .collect(),
    );
    for (name, value) in [
        ("perfwatch_host_load1", s.cpu.load_1),
        ("perfwatch_host_load5", s.cpu.load_5),
        ("perfwatch_host_load15", s.cpu.load_15),
    ] {
        if let Some(value) = value {
            family(out, name, "gauge", "Load average.", value);
        }
    }
    let m = &s.memory;
    for (name, help, value) in [
        (
            "perfwatch_host_memory_total_bytes",
            "Installed memory.",
            m.total_bytes,
        ),
        (
            "perfwatch_host_memory_available_bytes",
            "Memory available without swapping.",
            m.available_bytes,
        ),
        (
            "perfwatch_host_memory_used_bytes",
            "Memory total minus available.",
            m.used_bytes,
        ),
        (
            "perfwatch_host_swap_total_bytes",
            "Swap space.",
            m.swap_total_bytes,
        ),
        (
            "perfwatch_host_swap_used_bytes",
            "Swap space in use.",
            m.swap_used_bytes,
        ),
    ] {
        family(out, name, "gauge", help, value as f64);
    }
    let disk = |read: fn(&DiskSample) -> f64| -> Samples<'_> {
        s.disks
            .iter()
            .map(|d| {
                let labels = vec![
                    ("mountpoint", d.mount_point.as_str()),
                    ("fstype", d.filesystem.as_str()),
                ];
                (labels, read(d))
            })
            .collect()
    };
    labelled(
        out,
        "perfwatch_host_filesystem_size_bytes",
        "gauge",
        "Filesystem size.",
        disk(|d| d.total_bytes as f64),
    );
    labelled(
        out,
        "perfwatch_host_filesystem_avail_bytes",
        "gauge",
        "Filesystem space available to unprivileged users.",
        disk(|d| d.available_bytes as f64),
    );
    let net = |read: fn(&NetworkSample) -> f64| -> Samples<'_> {
        s.network
            .iter()
            .map(|n| (vec![("device", n.interface.as_str())], read(n)))
            .collect()
    };
    labelled(
        out,
        "perfwatch_host_network_receive_bytes_total",
        "counter",
        "Bytes received.",
        net(|n| n.rx_bytes_total as f64),
    );
    labelled(
        out,
        "perfwatch_host_network_transmit_bytes_total",
        "counter",
        "Bytes sent.",
        net(|n| n.tx_bytes_total as f64),
    );
    let p = &s.process;
    if let Some(cpu) = p.cpu_percent {
        let help = "The collector's CPU time per second over the last interval (may pass 1 on several cores).";
        family(
            out,
            "perfwatch_process_cpu_usage_ratio",
            "gauge",
            help,
            cpu / 100.0,
        );
    }
    for (name, help, value) in [
        (
            "process_resident_memory_bytes",
            "Resident memory size.",
            p.resident_bytes,
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size.",
            p.virtual_bytes,
        ),
        ("process_open_fds", "Open file descriptors.", p.open_fds),
        ("process_threads", "Threads.", p.threads),
    ] {
        family(out, name, "gauge", help, value as f64);
    }
}
