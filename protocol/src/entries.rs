//! The performance timeline entries a page reports as they come: long tasks, long animation
//! frames and resource loads. Each is one event of a batch, checked on its own like the others
//! (an unknown field is ignored, a bad value rejects the item with a reason).
//!
//! Times are ms after the page's `time_origin`, as the entries' `startTime`; durations are ms.

use serde::{Deserialize, Serialize};

use crate::browser::http_status;
use crate::limits::LIMITS;
use crate::validate::{self as v, ValidationError};

/// A task that kept the main thread busy for 50 ms or more (Long Tasks API,
/// `PerformanceLongTaskTiming`). Its blocking time is what it lasted beyond 50 ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongTask {
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
    /// The entry's `name`: whose work it was (`self`, `same-origin-ancestor`,
    /// `cross-origin-descendant`, `unknown`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The attribution's container: the frame's `containerSrc`, else its `containerId` or
    /// `containerName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

impl LongTask {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        v::duration("start_time", self.start_time)?;
        v::duration("duration", self.duration)?;
        v::opt_string("name", self.name.as_deref(), LIMITS.name_bytes)?;
        v::opt_plain_text("name", self.name.as_deref())?;
        v::opt_string("container", self.container.as_deref(), LIMITS.url_bytes)?;
        v::opt_plain_text("container", self.container.as_deref())
    }
}

/// A frame whose rendering was delayed past 50 ms (Long Animation Frames API,
/// `PerformanceLongAnimationFrameTiming`), with its longest script when the SDK names one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongAnimationFrame {
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
    /// The entry's `blockingDuration`: how long the frame kept input waiting. At most
    /// `duration`.
    pub blocking_duration: f64,
    /// `renderStart`, ms after `time_origin` (0 when the frame did not render).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_start: Option<f64>,
    /// `styleAndLayoutStart`, ms after `time_origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style_and_layout_start: Option<f64>,
    /// The longest script's `sourceURL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_url: Option<String>,
    /// The longest script's `sourceFunctionName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_function: Option<String>,
    /// The longest script's `invoker` (`BUTTON#send.onclick`, `Promise.then`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_invoker: Option<String>,
    /// The longest script's `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_duration: Option<f64>,
}

impl LongAnimationFrame {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        v::duration("start_time", self.start_time)?;
        v::duration("duration", self.duration)?;
        v::duration("blocking_duration", self.blocking_duration)?;
        // The Long Animation Frames spec computes blocking time from the frame's own tasks.
        if self.blocking_duration > self.duration {
            return Err(ValidationError::Inconsistent {
                rule: "`blocking_duration` must not exceed `duration`",
            });
        }
        v::opt_duration("render_start", self.render_start)?;
        v::opt_duration("style_and_layout_start", self.style_and_layout_start)?;
        v::opt_string("script_url", self.script_url.as_deref(), LIMITS.url_bytes)?;
        v::opt_plain_text("script_url", self.script_url.as_deref())?;
        v::opt_string(
            "script_function",
            self.script_function.as_deref(),
            LIMITS.name_bytes,
        )?;
        v::opt_plain_text("script_function", self.script_function.as_deref())?;
        // A classic script's invoker is its URL: URL-sized.
        v::opt_string(
            "script_invoker",
            self.script_invoker.as_deref(),
            LIMITS.url_bytes,
        )?;
        v::opt_plain_text("script_invoker", self.script_invoker.as_deref())?;
        v::opt_duration("script_duration", self.script_duration)
    }
}

/// A resource the page loaded (Resource Timing, `PerformanceResourceTiming`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's URL (the entry's `name`); the SDK scrubs its query string.
    pub name: String,
    /// What loaded it: `img`, `script`, `link`, `css`, `fetch`, `xmlhttprequest`, ...
    pub initiator_type: String,
    #[serde(default)]
    pub start_time: f64,
    pub duration: f64,
    /// Bytes over the network, headers included (0 from the cache, or cross-origin without
    /// `Timing-Allow-Origin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_body_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded_body_size: Option<u64>,
    /// `blocking` or `non-blocking`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_blocking_status: Option<String>,
    /// The HTTP status; 0 when the browser does not say (cross-origin, or no answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<i64>,
    /// The entry's `nextHopProtocol` (`h2`, `h3`, `http/1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl Resource {
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        v::required_string("name", &self.name, LIMITS.url_bytes)?;
        v::plain_text("name", &self.name)?;
        v::required_string("initiator_type", &self.initiator_type, LIMITS.name_bytes)?;
        v::plain_text("initiator_type", &self.initiator_type)?;
        v::duration("start_time", self.start_time)?;
        v::duration("duration", self.duration)?;
        for (field, value) in [
            ("transfer_size", self.transfer_size),
            ("encoded_body_size", self.encoded_body_size),
            ("decoded_body_size", self.decoded_body_size),
        ] {
            v::opt_size(field, value)?;
        }
        for (field, value) in [
            (
                "render_blocking_status",
                self.render_blocking_status.as_deref(),
            ),
            ("protocol", self.protocol.as_deref()),
        ] {
            v::opt_string(field, value, LIMITS.name_bytes)?;
            v::opt_plain_text(field, value)?;
        }
        self.response_status
            .map_or(Ok(()), |status| http_status("response_status", status))
    }
}
