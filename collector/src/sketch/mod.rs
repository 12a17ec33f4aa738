//! Mergeable sketches for time-bucketed roll-ups.
//!
//! A roll-up (per minute, hour or day) keeps one sketch per series instead of the raw values,
//! stores it as a BLOB (SQLite or PostgreSQL), and answers a longer window by merging the
//! buckets, including buckets written by other collectors:
//!
//! - [`DdSketch`]: quantiles (p75 of a web vital, p99 of a duration) within 1 % relative error
//!   of the exact nearest-rank value, with exact count, sum, min and max.
//! - [`Hll`]: distinct counts (sessions, users) within about 1.6 % standard error.
//!
//! Both merge exactly: merging the sketches of two sets gives the sketch of their union (for
//! [`DdSketch`], up to the rounding of the floating-point sum). Their byte encodings are a
//! storage format kept for years: each starts with a version byte, and [`Hll`]'s hash is a
//! hand-written xxHash64 pinned by the reference test vectors, never `std`'s hasher. Decoding
//! refuses any malformed, truncated or hostile input with a [`SketchError`] and never panics.

pub mod ddsketch;
pub mod hll;

use std::fmt;

pub use ddsketch::DdSketch;
pub use hll::Hll;

/// Why [`DdSketch::from_bytes`] or [`Hll::from_bytes`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SketchError {
    /// The input ends before the encoded sketch does.
    Truncated,
    /// The version byte is not one this code writes.
    UnsupportedVersion(u8),
    /// An HLL encoded with another precision (only [`hll::PRECISION`] is supported).
    UnsupportedPrecision(u8),
    /// A variable-length integer not in its shortest form, or above `u64::MAX`.
    InvalidVarint,
    /// Bytes are left after the encoded sketch.
    TrailingBytes(usize),
    /// The fields decode but contradict each other or a limit; the text says which.
    Invalid(&'static str),
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("sketch bytes are truncated"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported sketch encoding version {v}"),
            Self::UnsupportedPrecision(p) => write!(f, "unsupported HLL precision {p}"),
            Self::InvalidVarint => f.write_str("invalid variable-length integer in sketch bytes"),
            Self::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the sketch"),
            Self::Invalid(why) => write!(f, "invalid sketch: {why}"),
        }
    }
}

impl std::error::Error for SketchError {}

/// Appends `value` as a LEB128 varint (7 bits a byte, low bits first).
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Maps signed to unsigned so that small magnitudes stay small: 0, -1, 1, -2 → 0, 1, 2, 3.
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// The inverse of [`zigzag`].
fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// A cursor over encoded bytes whose every read checks the length first.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SketchError> {
        if n > self.bytes.len() {
            return Err(SketchError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SketchError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, SketchError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16_le(&mut self) -> Result<u16, SketchError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    fn f64_le(&mut self) -> Result<f64, SketchError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A LEB128 varint in its shortest form (so that every value has one encoding).
    fn varint(&mut self) -> Result<u64, SketchError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            // A last byte of 0 (but the first) is padding; the tenth byte holds bit 63 only.
            if (shift > 0 && byte == 0) || (shift == 63 && byte > 1) {
                return Err(SketchError::InvalidVarint);
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(SketchError::InvalidVarint)
    }

    /// Succeeds only when every byte was read.
    fn finish(self) -> Result<(), SketchError> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(SketchError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_roundtrip() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut reader = Reader::new(&out);
            assert_eq!(reader.varint(), Ok(v));
            assert_eq!(reader.finish(), Ok(()));
        }
        for v in [0, 1, -1, 63, -64, 1 << 40, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn bad_varints_are_errors() {
        assert_eq!(Reader::new(&[0x80]).varint(), Err(SketchError::Truncated));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(
            Reader::new(&too_big).varint(),
            Err(SketchError::InvalidVarint)
        );
        let too_long = [0x80; 11];
        assert_eq!(
            Reader::new(&too_long).varint(),
            Err(SketchError::InvalidVarint)
        );
        assert_eq!(
            Reader::new(&[0x81, 0x00]).varint(),
            Err(SketchError::InvalidVarint)
        );
        assert_eq!(Reader::new(&[0x00]).varint(), Ok(0));
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            SketchError::UnsupportedVersion(9).to_string(),
            "unsupported sketch encoding version 9"
        );
        assert_eq!(
            SketchError::TrailingBytes(2).to_string(),
            "2 unexpected bytes after the sketch"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(SketchError::Truncated);
        assert_eq!(boxed.to_string(), "sketch bytes are truncated");
    }
}
