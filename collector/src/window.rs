//! The time window a read endpoint covers: `hours=` back from now (CONTRACT.md: decimals allowed,
//! 0.25 is 15 minutes, at most 720), or `minutes=` for the host's history (at most 90 days).
//! `from`/`to` in RFC 3339 will join them here.

use thiserror::Error;

use crate::clock::{self, MS_PER_HOUR};

/// The window when `hours=` is absent.
pub const DEFAULT_HOURS: f64 = 24.0;
/// The widest window (30 days).
pub const MAX_HOURS: f64 = 720.0;

/// Why a window parameter was refused (400).
#[derive(Debug, Error, PartialEq)]
pub enum WindowError {
    /// Not a decimal number.
    #[error("`{param}` must be a number such as {example}, got `{text}`")]
    NotANumber {
        /// `hours` or `minutes`.
        param: &'static str,
        /// What was given (shortened).
        text: String,
        /// A valid value, for the message.
        example: &'static str,
    },
    /// `from` or `to` is neither RFC 3339 nor epoch milliseconds.
    #[error("`{param}` must be an RFC 3339 time such as 2026-11-26T07:00:00Z or epoch milliseconds, got `{text}`")]
    BadTime {
        /// `from` or `to`.
        param: &'static str,
        /// What was given (shortened).
        text: String,
    },
    /// Both `hours` and `from`/`to`.
    #[error("give either `hours` or `from`/`to`, not both")]
    Conflicting,
    /// `from` is not before `to`, or they are more than [`MAX_HOURS`] apart.
    #[error("`from` must be before `to` and at most {MAX_HOURS} hours before it, got {from_ms} and {to_ms} (epoch ms)")]
    BadRange {
        /// `from`, epoch ms.
        from_ms: i64,
        /// `to`, epoch ms.
        to_ms: i64,
    },
    /// Zero, negative, or more than allowed.
    #[error("`{param}` must be more than 0 and at most {max}, got {value}")]
    OutOfRange {
        /// `hours` or `minutes`.
        param: &'static str,
        /// What was given.
        value: f64,
        /// The largest allowed.
        max: f64,
    },
}

/// The window parameters of every statistics endpoint: `hours`, or `from`/`to`. Taken as text
/// so that a bad value gets a message naming its parameter. Endpoint queries flatten it in.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct WindowParams {
    /// Hours back from now (decimal, default 24, at most 720).
    pub hours: Option<String>,
    /// The window's start instead (RFC 3339 or epoch ms; `to` defaults to now).
    pub from: Option<String>,
    /// The window's end (excluded).
    pub to: Option<String>,
}

impl WindowParams {
    /// The window these parameters ask for, placed against `now_ms` (collector clock).
    pub fn window_at(&self, now_ms: f64) -> Result<Window, WindowError> {
        Window::from_query_at(
            self.hours.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            now_ms,
        )
    }
}

/// A time window: the last `hours` hours up to now, or `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The window's length, hours.
    pub hours: f64,
    /// Its start, epoch milliseconds on the collector's clock.
    pub since_ms: i64,
    /// Its end (excluded), epoch milliseconds.
    pub until_ms: i64,
}

/// The window when `minutes=` is absent (an hour).
pub const DEFAULT_MINUTES: f64 = 60.0;
/// The widest `minutes=` window (90 days: the default retention of hourly roll-ups).
pub const MAX_MINUTES: f64 = 129_600.0;

impl Window {
    /// The window an `hours=` parameter asks for ([`DEFAULT_HOURS`] when absent).
    pub fn from_hours_param(hours: Option<&str>) -> Result<Self, WindowError> {
        Self::from_query_at(hours, None, None, clock::now_ms())
    }

    /// The window a `minutes=` parameter asks for ([`DEFAULT_MINUTES`] when absent, at most
    /// [`MAX_MINUTES`]).
    pub fn from_minutes_param(minutes: Option<&str>) -> Result<Self, WindowError> {
        let minutes = parse_length(
            "minutes",
            "60 or 2.5",
            minutes,
            DEFAULT_MINUTES,
            MAX_MINUTES,
        )?;
        Ok(Self::last_hours(minutes / 60.0, clock::now_ms()))
    }

    /// The window `hours=`, or `from=`/`to=` (RFC 3339 or epoch ms; `to` defaults to now,
    /// `from` to [`DEFAULT_HOURS`] before `to`), ask for; both kinds at once is an error.
    pub fn from_query(
        hours: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self, WindowError> {
        Self::from_query_at(hours, from, to, clock::now_ms())
    }

    /// [`Window::from_query`] with "now" given (collector clock, ms), so that a caller can
    /// place the window against the same instant.
    pub fn from_query_at(
        hours: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        now_ms: f64,
    ) -> Result<Self, WindowError> {
        if from.is_none() && to.is_none() {
            let hours = parse_length("hours", "24 or 0.25", hours, DEFAULT_HOURS, MAX_HOURS)?;
            return Ok(Self::last_hours(hours, now_ms));
        }
        if hours.is_some() {
            return Err(WindowError::Conflicting);
        }
        let time = |param: &'static str, text: &str| {
            clock::parse_time(text).ok_or_else(|| WindowError::BadTime {
                param,
                text: shorten(text),
            })
        };
        let to_ms = match to {
            Some(text) => time("to", text)?,
            None => clock::to_epoch_ms(now_ms),
        };
        let from_ms = match from {
            Some(text) => time("from", text)?,
            None => to_ms - (DEFAULT_HOURS * MS_PER_HOUR) as i64,
        };
        let span_ms = to_ms.saturating_sub(from_ms);
        if span_ms <= 0 || span_ms as f64 > MAX_HOURS * MS_PER_HOUR {
            return Err(WindowError::BadRange { from_ms, to_ms });
        }
        Ok(Self {
            hours: span_ms as f64 / MS_PER_HOUR,
            since_ms: from_ms,
            until_ms: to_ms,
        })
    }

    fn last_hours(hours: f64, now: f64) -> Self {
        Self {
            hours,
            since_ms: clock::to_epoch_ms(now - hours * MS_PER_HOUR),
            // Up to and including now.
            until_ms: clock::to_epoch_ms(now) + 1,
        }
    }
}

/// A window's length from its parameter's text: a finite decimal in `(0, max]`.
fn parse_length(
    param: &'static str,
    example: &'static str,
    text: Option<&str>,
    default: f64,
    max: f64,
) -> Result<f64, WindowError> {
    let Some(text) = text else {
        return Ok(default);
    };
    let not_a_number = || WindowError::NotANumber {
        param,
        text: shorten(text),
        example,
    };
    let value: f64 = text.trim().parse().map_err(|_| not_a_number())?;
    // `NaN` and `inf` parse as f64; neither is a window.
    if !value.is_finite() {
        return Err(not_a_number());
    }
    if value <= 0.0 || value > max {
        return Err(WindowError::OutOfRange { param, value, max });
    }
    Ok(value)
}

/// At most 40 characters of a client's text, for an error message.
pub(crate) fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_decimal_positive_and_at_most_90_days() {
        assert_eq!(Window::from_minutes_param(None).unwrap().hours, 1.0);
        assert_eq!(Window::from_minutes_param(Some("90")).unwrap().hours, 1.5);
        let err = Window::from_minutes_param(Some("129601")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`minutes` must be more than 0 and at most 129600, got 129601"
        );
        let err = Window::from_minutes_param(Some("soon")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`minutes` must be a number such as 60 or 2.5, got `soon`"
        );
    }

    #[test]
    fn from_and_to_are_rfc3339_or_epoch_ms_ordered_and_bounded() {
        let w =
            Window::from_query(None, Some("2026-11-26T07:00:00Z"), Some("1795680000000")).unwrap();
        assert_eq!(
            (w.since_ms, w.until_ms, w.hours),
            (1_795_676_400_000, 1_795_680_000_000, 1.0)
        );
        let w = Window::from_query(None, None, Some("2026-11-26T07:00:00Z")).unwrap();
        assert_eq!(w.hours, DEFAULT_HOURS);
        assert_eq!(
            Window::from_query(Some("1"), Some("2026-11-26T07:00:00Z"), None),
            Err(WindowError::Conflicting)
        );
        let err = Window::from_query(None, Some("yesterday"), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`from` must be an RFC 3339 time"),
            "{err}"
        );
        for (from, to) in [
            ("2026-11-26T07:00:00Z", "2026-11-26T07:00:00Z"),
            ("2026-11-26T07:00:00Z", "2026-10-26T07:00:00Z"),
            ("2026-01-01T00:00:00Z", "2026-11-26T07:00:00Z"),
        ] {
            assert!(
                matches!(
                    Window::from_query(None, Some(from), Some(to)),
                    Err(WindowError::BadRange { .. })
                ),
                "{from} {to}"
            );
        }
    }

    #[test]
    fn hours_are_decimal_positive_and_bounded() {
        assert_eq!(Window::from_hours_param(None).unwrap().hours, 24.0);
        assert_eq!(Window::from_hours_param(Some("0.25")).unwrap().hours, 0.25);
        assert_eq!(Window::from_hours_param(Some("720")).unwrap().hours, 720.0);
        for bad in ["abc", "", "NaN", "inf"] {
            assert!(matches!(
                Window::from_hours_param(Some(bad)),
                Err(WindowError::NotANumber { .. })
            ));
        }
        for bad in ["0", "-1", "720.5", "1000"] {
            assert!(matches!(
                Window::from_hours_param(Some(bad)),
                Err(WindowError::OutOfRange { .. })
            ));
        }
    }
}
