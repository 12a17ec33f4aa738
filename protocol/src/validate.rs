//! Field rules shared by every wire type: finite numbers, non-negative durations, bounded strings.

use thiserror::Error;

use crate::limits::LIMITS;

/// Why one field (or one item) was refused. The `Display` text is what the client reads in
/// `rejected[i].reason`, so it names the field and says what would be accepted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValidationError {
    #[error("`{field}` must be a finite number, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    #[error("`{field}` must not be negative, got {value}")]
    Negative { field: &'static str, value: f64 },
    #[error("`{field}` is {value} ms; at most {max} ms is accepted")]
    TooLarge {
        field: &'static str,
        value: f64,
        max: f64,
    },
    #[error("`{field}` is {value} bytes; at most {max} bytes are accepted")]
    SizeTooLarge {
        field: &'static str,
        value: u64,
        max: u64,
    },
    #[error("`{field}` is {len} bytes long; at most {max} bytes are accepted")]
    StringTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("`{field}` must not be empty")]
    Empty { field: &'static str },
    #[error("`{field}` must be at least 1")]
    NotPositive { field: &'static str },
    #[error("`{field}` must be {expected}")]
    Invalid {
        field: &'static str,
        expected: &'static str,
    },
    #[error("`{field}` is {value}; it must be between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("the record contradicts itself: {rule}")]
    Inconsistent { rule: &'static str },
    #[error(
        "`{field}` contains a control character (U+0000–U+001F or U+007F–U+009F); send plain text"
    )]
    ControlCharacter { field: &'static str },
    #[error(
        "`{field}` contains a control character other than tab, line feed or carriage return \
         (U+0000–U+001F or U+007F–U+009F); replace it before sending"
    )]
    ControlCharacterInText { field: &'static str },
    #[error(
        "item is dated {age_ms:.0} ms before the batch was sent; items older than {max} ms are refused"
    )]
    TooOld { age_ms: f64, max: u64 },
    #[error(
        "item is dated {ahead_ms:.0} ms after the batch was sent; at most {max} ms ahead is accepted"
    )]
    TooFarAhead { ahead_ms: f64, max: u64 },
}

impl ValidationError {
    /// A short, stable name of the rule broken (`not_finite`, `too_old`, ...), for counting
    /// rejections by reason without one label value per message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFinite { .. } => "not_finite",
            Self::Negative { .. } => "negative",
            Self::TooLarge { .. } => "too_large",
            Self::SizeTooLarge { .. } => "size_too_large",
            Self::StringTooLong { .. } => "string_too_long",
            Self::Empty { .. } => "empty",
            Self::NotPositive { .. } => "not_positive",
            Self::Invalid { .. } => "invalid",
            Self::OutOfRange { .. } => "out_of_range",
            Self::Inconsistent { .. } => "inconsistent",
            Self::ControlCharacter { .. } | Self::ControlCharacterInText { .. } => {
                "control_character"
            }
            Self::TooOld { .. } => "too_old",
            Self::TooFarAhead { .. } => "too_far_ahead",
        }
    }
}

/// Longest relative time or duration accepted, in ms: nothing on a page lasts longer than the
/// accepted age window.
pub const MAX_DURATION_MS: f64 = LIMITS.max_age_ms as f64;

/// A number that must be finite (it may be negative, like a metric `delta`).
pub fn finite(field: &'static str, value: f64) -> Result<(), ValidationError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(ValidationError::NotFinite { field, value })
    }
}

/// A time relative to `time_origin` or a duration, in ms: finite, at least 0 and inside the
/// accepted window.
pub fn duration(field: &'static str, value: f64) -> Result<(), ValidationError> {
    finite(field, value)?;
    if value < 0.0 {
        return Err(ValidationError::Negative { field, value });
    }
    if value > MAX_DURATION_MS {
        return Err(ValidationError::TooLarge {
            field,
            value,
            max: MAX_DURATION_MS,
        });
    }
    Ok(())
}

/// Like [`duration`], for a field that may be absent.
pub fn opt_duration(field: &'static str, value: Option<f64>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| duration(field, v))
}

/// Largest byte size accepted (`transfer_size`, ...): JavaScript's largest exact integer, far
/// beyond any real resource, and below `i64::MAX` so every store can hold it.
pub const MAX_SIZE_BYTES: u64 = (1 << 53) - 1;

/// A byte size that may be absent: at most [`MAX_SIZE_BYTES`].
pub fn opt_size(field: &'static str, value: Option<u64>) -> Result<(), ValidationError> {
    match value {
        Some(value) if value > MAX_SIZE_BYTES => Err(ValidationError::SizeTooLarge {
            field,
            value,
            max: MAX_SIZE_BYTES,
        }),
        _ => Ok(()),
    }
}

/// A string of at most `max` UTF-8 bytes.
pub fn string(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        return Err(ValidationError::StringTooLong {
            field,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// A required string: not empty, at most `max` UTF-8 bytes.
pub fn required_string(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    string(field, value, max)
}

/// Like [`string`], for a field that may be absent.
pub fn opt_string(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |v| string(field, v, max))
}

/// A name shown in statistics: no control characters (no store keeps U+0000, and none
/// belongs in a name).
pub fn plain_text(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::ControlCharacter { field });
    }
    Ok(())
}

/// A required name or text: not empty, at most `max` UTF-8 bytes, plain text.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    required_string(field, value, max)?;
    plain_text(field, value)
}

/// Like [`plain_text`], for a field that may be absent.
pub fn opt_plain_text(field: &'static str, value: Option<&str>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |value| plain_text(field, value))
}

/// Free text that may span lines (an error's message, a stack trace): at most `max` UTF-8
/// bytes, and no control character but tab, line feed and carriage return. The others are
/// refused rather than dropped: the collector stores what it was sent or says why not, U+0000
/// cannot be stored in PostgreSQL at all, and terminal escapes have no business in a message
/// someone will read in a terminal.
pub fn multiline_text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    string(field, value, max)?;
    let line_layout = |c: char| matches!(c, '\t' | '\n' | '\r');
    if value.chars().any(|c| c.is_control() && !line_layout(c)) {
        return Err(ValidationError::ControlCharacterInText { field });
    }
    Ok(())
}

/// Like [`multiline_text`], for a field that may be absent.
pub fn opt_multiline_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |value| multiline_text(field, value, max))
}

/// A name or id that may be absent: at most [`LIMITS.name_bytes`], plain text.
pub fn opt_name(field: &'static str, value: Option<&str>) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |value| {
        string(field, value, LIMITS.name_bytes)?;
        plain_text(field, value)
    })
}

/// A W3C Trace Context trace id that may be absent (`traceparent`'s second field, Trace
/// Context §3.2.2.3): exactly 32 lowercase hex digits, and not all zero, which the spec makes
/// the invalid value. What the SDK sent in its header, so that the call can be found beside
/// the backend's spans of the same trace.
pub fn opt_trace_id(field: &'static str, value: Option<&str>) -> Result<(), ValidationError> {
    let Some(value) = value else {
        return Ok(());
    };
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if value.len() != 32 || !value.bytes().all(lower_hex) || value.bytes().all(|b| b == b'0') {
        return Err(ValidationError::Invalid {
            field,
            expected: "a W3C trace id: 32 lowercase hex digits, not all zero",
        });
    }
    Ok(())
}

/// An item's epoch time against the batch's `sent_at`, both on the client's clock: items may be
/// at most [`LIMITS.max_age_ms`] old and [`LIMITS.max_ahead_ms`] ahead. Comparing two readings of
/// the same clock makes the rule immune to a wrong client clock (the collector corrects that skew
/// separately, with `sent_at` against its own receive time).
pub fn item_time(item_epoch_ms: f64, sent_at: f64) -> Result<(), ValidationError> {
    let age = sent_at - item_epoch_ms;
    if age > LIMITS.max_age_ms as f64 {
        return Err(ValidationError::TooOld {
            age_ms: age,
            max: LIMITS.max_age_ms,
        });
    }
    if -age > LIMITS.max_ahead_ms as f64 {
        return Err(ValidationError::TooFarAhead {
            ahead_ms: -age,
            max: LIMITS.max_ahead_ms,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_rejects_nan_and_infinities() {
        assert!(finite("value", 1.5).is_ok());
        assert!(finite("value", -1.5).is_ok());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = finite("value", bad).unwrap_err();
            assert!(matches!(
                err,
                ValidationError::NotFinite { field: "value", .. }
            ));
        }
    }

    #[test]
    fn duration_rejects_negative_non_finite_and_absurd_values() {
        assert!(duration("duration", 0.0).is_ok());
        assert!(duration("duration", 1234.5).is_ok());
        assert!(matches!(
            duration("duration", -0.1),
            Err(ValidationError::Negative { .. })
        ));
        assert!(matches!(
            duration("duration", f64::NAN),
            Err(ValidationError::NotFinite { .. })
        ));
        assert!(matches!(
            duration("duration", MAX_DURATION_MS + 1.0),
            Err(ValidationError::TooLarge { .. })
        ));
        assert!(opt_duration("duration", None).is_ok());
        assert!(opt_duration("duration", Some(-1.0)).is_err());
    }

    #[test]
    fn strings_are_bounded_in_utf8_bytes_not_chars() {
        assert!(string("name", &"a".repeat(256), 256).is_ok());
        assert!(string("name", &"a".repeat(257), 256).is_err());
        // 100 three-byte characters are 300 bytes: over a 256-byte limit.
        let wide = "界".repeat(100);
        let err = string("name", &wide, 256).unwrap_err();
        assert_eq!(
            err,
            ValidationError::StringTooLong {
                field: "name",
                len: 300,
                max: 256
            }
        );
        assert!(opt_string("name", None, 1).is_ok());
    }

    #[test]
    fn sizes_stay_exact_in_javascript_and_in_an_i64() {
        assert!(opt_size("transfer_size", None).is_ok());
        assert!(opt_size("transfer_size", Some(MAX_SIZE_BYTES)).is_ok());
        assert!(matches!(
            opt_size("transfer_size", Some(MAX_SIZE_BYTES + 1)),
            Err(ValidationError::SizeTooLarge { .. })
        ));
    }

    #[test]
    fn required_strings_must_not_be_empty() {
        assert_eq!(
            required_string("app", "", 256),
            Err(ValidationError::Empty { field: "app" })
        );
        assert!(required_string("app", "x", 256).is_ok());
    }

    #[test]
    fn item_time_window_is_30_days_back_and_5_minutes_ahead() {
        let sent = 1_795_676_400_000.0;
        assert!(item_time(sent, sent).is_ok());
        assert!(item_time(sent - LIMITS.max_age_ms as f64, sent).is_ok());
        assert!(matches!(
            item_time(sent - LIMITS.max_age_ms as f64 - 1.0, sent),
            Err(ValidationError::TooOld { .. })
        ));
        assert!(item_time(sent + LIMITS.max_ahead_ms as f64, sent).is_ok());
        assert!(matches!(
            item_time(sent + LIMITS.max_ahead_ms as f64 + 1.0, sent),
            Err(ValidationError::TooFarAhead { .. })
        ));
    }

    #[test]
    fn trace_ids_are_w3c_trace_context_ids() {
        assert!(opt_trace_id("trace_id", None).is_ok());
        assert!(opt_trace_id("trace_id", Some("4bf92f3577b34da6a3ce929d0e0e4736")).is_ok());
        for bad in [
            "",
            "4bf92f",
            "4BF92F3577B34DA6A3CE929D0E0E4736",
            "00000000000000000000000000000000",
            "4bf92f3577b34da6a3ce929d0e0e47360",
            "4bf92f3577b34da6a3ce929d0e0e473g",
            "4bf92f3577b34da6-3ce929d0e0e4736",
        ] {
            let err = opt_trace_id("trace_id", Some(bad)).unwrap_err();
            assert!(err.to_string().contains("`trace_id`"), "{bad}: {err}");
        }
    }

    #[test]
    fn optional_names_are_bounded_plain_text() {
        assert!(opt_name("error_type", None).is_ok());
        assert!(opt_name("error_type", Some("TypeError")).is_ok());
        assert!(matches!(
            opt_name("error_type", Some(&"E".repeat(257))),
            Err(ValidationError::StringTooLong {
                field: "error_type",
                ..
            })
        ));
        assert_eq!(
            opt_name("error_type", Some("Type\nError")),
            Err(ValidationError::ControlCharacter {
                field: "error_type"
            })
        );
    }

    #[test]
    fn multiline_text_keeps_its_lines_and_refuses_other_control_characters() {
        let stack = "TypeError: x is undefined\n\tat render (https://x/app.js:1:2)\r\n";
        assert!(multiline_text("stack", stack, 100).is_ok());
        assert!(opt_multiline_text("stack", None, 0).is_ok());
        for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{85}b", "a\u{7f}"] {
            let err = multiline_text("message", bad, 100).unwrap_err();
            assert_eq!(
                err,
                ValidationError::ControlCharacterInText { field: "message" }
            );
            assert_eq!(err.code(), "control_character");
            assert!(err.to_string().contains("`message`"), "{err}");
        }
        assert!(matches!(
            multiline_text("stack", &"s".repeat(101), 100),
            Err(ValidationError::StringTooLong {
                field: "stack",
                len: 101,
                max: 100
            })
        ));
    }

    #[test]
    fn messages_name_the_field_and_the_limit() {
        let msg = string("url", &"x".repeat(3000), 2048)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`url`") && msg.contains("2048"), "{msg}");
    }
}
