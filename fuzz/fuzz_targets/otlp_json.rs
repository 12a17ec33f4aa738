//! An OTLP/HTTP JSON body, as `POST /v1/traces` takes it once inflated: decoded, its spans
//! mapped to API and AI calls, the calls normalized. Every span must be recorded, ignored or
//! refused, once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfwatch_collector::otlp::ExportTraceServiceRequest;
use perfwatch_fuzz_common::map_and_account;

#[path = "../common.rs"]
#[allow(dead_code)]
mod perfwatch_fuzz_common;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<ExportTraceServiceRequest>(data) {
        map_and_account(&request);
    }
});
