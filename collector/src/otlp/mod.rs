//! OTLP trace ingest: the wire messages ([`wire`]) and which spans become API and AI call
//! records ([`spans`]). The endpoint is [`crate::routes::otlp`].

pub mod spans;
pub mod wire;

pub use spans::{records, SpanRecords};
pub use wire::{
    decode_protobuf, ExportTracePartialSuccess, ExportTraceServiceRequest,
    ExportTraceServiceResponse, RpcStatus,
};
