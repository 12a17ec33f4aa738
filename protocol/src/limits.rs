//! The published limits of protocol v1 (CONTRACT.md, "Limits"). The collector serves them at
//! `GET /api/v1/monitoring/health` so that clients can split their batches to fit.

use serde::Serialize;

/// Size and time limits, all counted after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest browser batch body, in bytes.
    pub browser_batch_bytes: usize,
    /// Most events in one browser batch.
    pub browser_batch_events: usize,
    /// Largest backend batch body (`api-calls`, `ai-calls`), in bytes.
    pub backend_batch_bytes: usize,
    /// Most records in one backend batch.
    pub backend_batch_records: usize,
    /// Largest OTLP request body, in bytes.
    pub otlp_bytes: usize,
    /// Longest URL-like string (`url`, `route`, resource names), in bytes.
    pub url_bytes: usize,
    /// Longest name or id string, in bytes.
    pub name_bytes: usize,
    /// Longest error message (an `error` event's `message`), in bytes.
    pub message_bytes: usize,
    /// Longest stack trace (an `error` event's `stack` and `component_stack`), in bytes: a
    /// JavaScript stack of a few dozen frames with long bundle URLs, and React's component
    /// stack of a deep tree, fit; a batch of 64 KB still holds a few such errors.
    pub stack_bytes: usize,
    /// Oldest accepted item, relative to the batch's `sent_at`, in milliseconds.
    pub max_age_ms: u64,
    /// How far an item may lie after the batch's `sent_at`, in milliseconds.
    pub max_ahead_ms: u64,
}

/// The limits of protocol v1.
pub const LIMITS: Limits = Limits {
    browser_batch_bytes: 64 * 1024,
    browser_batch_events: 200,
    backend_batch_bytes: 1024 * 1024,
    backend_batch_records: 1000,
    otlp_bytes: 4 * 1024 * 1024,
    url_bytes: 2048,
    name_bytes: 256,
    message_bytes: 2048,
    stack_bytes: 16 * 1024,
    max_age_ms: 30 * 24 * 60 * 60 * 1000,
    max_ahead_ms: 5 * 60 * 1000,
};
