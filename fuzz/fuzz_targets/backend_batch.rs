//! A backend batch body (`{"calls": [...]}`), as `POST /api/v1/monitoring/api-calls` and
//! `.../ai-calls` take it once inflated: parsed as API calls and as AI calls, then normalized
//! (AI calls priced from the built-in price table). Every record of a taken batch must be
//! accepted or rejected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfwatch_collector::normalize;
use perfwatch_fuzz_common::{item_count, prices};
use perfwatch_protocol::{parse_backend_batch, AiCall, ApiCall};

#[path = "../common.rs"]
#[allow(dead_code)]
mod perfwatch_fuzz_common;

/// When the collector received the batch, epoch ms.
const RECEIVED_MS: i64 = 1_795_676_400_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_backend_batch::<ApiCall>(data, RECEIVED_MS) {
        assert_eq!(
            parsed.accepted.len() + parsed.rejected.len(),
            item_count(data, "calls")
        );
        let _ = normalize::api_call_records(parsed, RECEIVED_MS);
    }
    if let Ok(parsed) = parse_backend_batch::<AiCall>(data, RECEIVED_MS) {
        assert_eq!(
            parsed.accepted.len() + parsed.rejected.len(),
            item_count(data, "calls")
        );
        let _ = normalize::ai_call_records(parsed, RECEIVED_MS, prices());
    }
});
