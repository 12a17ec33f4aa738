//! The time window a read endpoint covers: `hours=` back from now (CONTRACT.md: decimals allowed,
//! 0.25 is 15 minutes, at most 720). `from`/`to` in RFC 3339 will join it here.

use thiserror::Error;

use crate::clock::{self, MS_PER_HOUR};

/// The window when `hours=` is absent.
pub const DEFAULT_HOURS: f64 = 24.0;
/// The widest window (30 days).
pub const MAX_HOURS: f64 = 720.0;

/// Why `hours=` was refused (400).
#[derive(Debug, Error, PartialEq)]
pub enum WindowError {
    /// Not a decimal number.
    #[error("`hours` must be a number of hours such as 24 or 0.25, got `{0}`")]
    NotANumber(String),
    /// Zero, negative, or more than [`MAX_HOURS`].
    #[error("`hours` must be more than 0 and at most {MAX_HOURS}, got {0}")]
    OutOfRange(f64),
}

/// The last `hours` hours, up to now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The window's length, as asked.
    pub hours: f64,
    /// Its start, epoch milliseconds on the collector's clock.
    pub since_ms: i64,
}

impl Window {
    /// The window an `hours=` parameter asks for ([`DEFAULT_HOURS`] when absent).
    pub fn from_hours_param(hours: Option<&str>) -> Result<Self, WindowError> {
        let hours = match hours {
            None => DEFAULT_HOURS,
            Some(text) => {
                let hours: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| WindowError::NotANumber(shorten(text)))?;
                // `NaN` and `inf` parse as f64; neither is a window.
                if !hours.is_finite() {
                    return Err(WindowError::NotANumber(shorten(text)));
                }
                if hours <= 0.0 || hours > MAX_HOURS {
                    return Err(WindowError::OutOfRange(hours));
                }
                hours
            }
        };
        Ok(Self {
            hours,
            since_ms: clock::to_epoch_ms(clock::now_ms() - hours * MS_PER_HOUR),
        })
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_decimal_positive_and_bounded() {
        assert_eq!(Window::from_hours_param(None).unwrap().hours, 24.0);
        assert_eq!(Window::from_hours_param(Some("0.25")).unwrap().hours, 0.25);
        assert_eq!(Window::from_hours_param(Some("720")).unwrap().hours, 720.0);
        for bad in ["abc", "", "NaN", "inf"] {
            assert!(matches!(
                Window::from_hours_param(Some(bad)),
                Err(WindowError::NotANumber(_))
            ));
        }
        for bad in ["0", "-1", "720.5", "1000"] {
            assert!(matches!(
                Window::from_hours_param(Some(bad)),
                Err(WindowError::OutOfRange(_))
            ));
        }
    }
}
