//! perfwatch wire protocol, version 1.
//!
//! The browser SDK (`perfwatch-sdk`) writes these batches with its own small JSON writer; the
//! collector (`perfwatch-collector`) parses them with the serde types here. Validation lives
//! beside the types so that both sides agree on what a good item is.
//!
//! ```text
//!  browser (sdk-wasm) ──JSON text/plain──▶ collector ──parse_browser_batch──▶ envelope rules (422)
//!                                                                        └──▶ item rules (rejected[i])
//! ```
//!
//! A batch whose envelope breaks a rule is refused whole ([`BatchError`]); inside a sound
//! envelope every event is checked on its own, so one bad item never loses the good ones
//! ([`ParsedBatch::items`]).

pub mod backend;
pub mod browser;
pub mod entries;
pub mod limits;
pub mod parse;
pub mod validate;

pub use backend::{
    check_record, parse_backend_batch, AiCall, ApiCall, BackendRecord, ParsedCalls, RecordMeta,
    Timestamp, DEFAULT_SERVICE,
};
pub use browser::{
    BatchHeader, BrowserApiCall, BrowserError, Event, EventBody, Interaction, Measure, Navigation,
    NavigationType, PageView, Rating, VitalName, WebVital,
};
pub use entries::{LongAnimationFrame, LongTask, Resource};
pub use limits::{Limits, LIMITS};
pub use parse::{parse_browser_batch, BatchError, ItemRejection, ParsedBatch};
pub use validate::ValidationError;

/// The protocol version this crate speaks (`"v"` in a batch).
pub const PROTOCOL_VERSION: u32 = 1;
