//! Reading a request body: its content type checked, its encoding decoded, its size bounded.
//!
//! The size limit counts *decompressed* bytes (CONTRACT.md, "Limits"), so actix-web's own
//! decompression is compiled out and gzip is decoded here, incrementally: a gzip bomb (a few
//! kilobytes that inflate to gigabytes) stops as soon as the decoded bytes pass the limit, and
//! memory never holds more than the limit plus one decoder buffer.

use std::io::{self, Write};

use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderMap, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::Bytes;
use flate2::write::MultiGzDecoder;
use futures_util::{Stream, StreamExt};
use thiserror::Error;

/// Room a gzip stream may need beyond its decoded size (header, trailer and the 5-byte headers
/// of stored blocks): compressed bodies are capped at the decoded limit plus this.
pub const GZIP_OVERHEAD_BYTES: usize = 1024;

/// Longest client-supplied header value quoted back in an error message.
const QUOTE_MAX: usize = 100;

/// Why a body was not read. Each maps to a status code in [`crate::error`].
#[derive(Debug, Error)]
pub enum BodyError {
    /// No `Content-Type` header (415).
    #[error("a Content-Type header is required; send {accepted}")]
    MissingContentType {
        /// The accepted types, in words.
        accepted: &'static str,
    },
    /// A `Content-Type` this endpoint does not take (415).
    #[error("Content-Type `{got}` is not accepted; send {accepted}")]
    UnsupportedContentType {
        /// The type the client sent (shortened).
        got: String,
        /// The accepted types, in words.
        accepted: &'static str,
    },
    /// A `Content-Encoding` other than gzip or identity (415).
    #[error("Content-Encoding `{got}` is not supported; send the body as is, or gzip-encoded with `Content-Encoding: gzip`")]
    UnsupportedEncoding {
        /// The encoding the client sent (shortened).
        got: String,
    },
    /// More than `limit` bytes once decoded (413).
    #[error("the body is larger than {limit} bytes (counted after decompression); at most {limit} bytes are accepted, split the batch")]
    TooLarge {
        /// The limit, in decoded bytes.
        limit: usize,
    },
    /// A gzip body whose compressed size alone passes the cap (413).
    #[error("the gzip-encoded body is larger than {max} bytes; at most {limit} bytes are accepted after decompression, split the batch")]
    CompressedTooLarge {
        /// The cap on compressed bytes.
        max: usize,
        /// The limit, in decoded bytes.
        limit: usize,
    },
    /// `Content-Encoding: gzip` on something that is not a gzip stream (400).
    #[error("the body is not a valid gzip stream: {0}")]
    BadGzip(String),
    /// The body did not arrive within the time allowed (408): a client that starts a request
    /// and stalls must not hold a connection and a worker's attention for ever.
    #[error("the body did not arrive within {seconds} s; send it whole, promptly")]
    TimedOut {
        /// The time allowed.
        seconds: u64,
    },
    /// The connection broke or the HTTP framing was wrong while reading (400).
    #[error("the body could not be read: {0}")]
    Read(#[from] PayloadError),
}

/// How the body is encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// As is (no header, or `identity`).
    Identity,
    /// `gzip` (also its old alias `x-gzip`).
    Gzip,
}

impl ContentEncoding {
    /// The encoding `headers` declare. Only one encoding is taken: a chain such as
    /// `gzip, br` is refused like any other unsupported encoding.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, BodyError> {
        let Some(value) = headers.get(CONTENT_ENCODING) else {
            return Ok(Self::Identity);
        };
        let text = value.to_str().unwrap_or("(not text)").trim();
        match text.to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Self::Identity),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            _ => Err(BodyError::UnsupportedEncoding { got: quote(text) }),
        }
    }
}

/// Checks that `headers` name one of `accepted` as the media type, whatever its parameters
/// (`text/plain;charset=UTF-8` is `text/plain`), and gives its position in `accepted`. `in_words`
/// describes `accepted` for the message.
pub fn require_content_type(
    headers: &HeaderMap,
    accepted: &[&str],
    in_words: &'static str,
) -> Result<usize, BodyError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(BodyError::MissingContentType { accepted: in_words });
    };
    let text = value.to_str().unwrap_or("(not text)");
    let essence = text.split(';').next().unwrap_or_default().trim();
    accepted
        .iter()
        .position(|a| a.eq_ignore_ascii_case(essence))
        .ok_or_else(|| BodyError::UnsupportedContentType {
            got: quote(text),
            accepted: in_words,
        })
}

/// How long a request body may take to arrive by default.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads the whole body from `payload`, decoding `encoding`, within `limit` bytes (see
/// [`read_capped`]) and `timeout` ([`BodyError::TimedOut`] when it has not arrived whole by
/// then). Every endpoint that takes a body reads it through this.
pub async fn read_bounded<S>(
    headers: &HeaderMap,
    payload: S,
    encoding: ContentEncoding,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, BodyError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    actix_web::rt::time::timeout(timeout, read_capped(headers, payload, encoding, limit))
        .await
        .map_err(|_| BodyError::TimedOut {
            seconds: timeout.as_secs(),
        })?
}

/// Reads the whole body from `payload`, decoding `encoding`, and fails as soon as more than
/// `limit` decoded bytes (or, for gzip, more than `limit + GZIP_OVERHEAD_BYTES` compressed
/// bytes) have arrived. A `Content-Length` already over the cap fails before reading.
async fn read_capped<S>(
    headers: &HeaderMap,
    mut payload: S,
    encoding: ContentEncoding,
    limit: usize,
) -> Result<Vec<u8>, BodyError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let wire_cap = match encoding {
        ContentEncoding::Identity => limit,
        ContentEncoding::Gzip => limit + GZIP_OVERHEAD_BYTES,
    };
    let too_large = || match encoding {
        ContentEncoding::Identity => BodyError::TooLarge { limit },
        ContentEncoding::Gzip => BodyError::CompressedTooLarge {
            max: wire_cap,
            limit,
        },
    };
    if declared_length(headers).is_some_and(|len| len > wire_cap) {
        return Err(too_large());
    }

    let mut sink = Decoder::new(encoding, limit);
    let mut wire_bytes = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        wire_bytes += chunk.len();
        if wire_bytes > wire_cap {
            return Err(too_large());
        }
        sink.write(&chunk)?;
    }
    sink.finish()
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Where the wire bytes go: straight into the buffer, or through a gzip decoder into it.
enum Decoder {
    Identity(CappedBuffer),
    Gzip(Box<MultiGzDecoder<CappedBuffer>>),
}

impl Decoder {
    fn new(encoding: ContentEncoding, limit: usize) -> Self {
        let buffer = CappedBuffer {
            bytes: Vec::new(),
            limit,
            exceeded: false,
        };
        match encoding {
            ContentEncoding::Identity => Self::Identity(buffer),
            ContentEncoding::Gzip => Self::Gzip(Box::new(MultiGzDecoder::new(buffer))),
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        match self {
            Self::Identity(buffer) => buffer.write_all(chunk).map_err(|_| BodyError::TooLarge {
                limit: buffer.limit,
            }),
            Self::Gzip(decoder) => decoder
                .write_all(chunk)
                .map_err(|e| gzip_error(decoder.get_ref(), &e)),
        }
    }

    fn finish(self) -> Result<Vec<u8>, BodyError> {
        match self {
            Self::Identity(buffer) => Ok(buffer.bytes),
            Self::Gzip(mut decoder) => {
                // `try_finish` flushes what the decoder still holds and fails on a stream that
                // stopped before its end (a truncated upload).
                decoder
                    .try_finish()
                    .map_err(|e| gzip_error(decoder.get_ref(), &e))?;
                decoder
                    .finish()
                    .map(|buffer| buffer.bytes)
                    .map_err(|e| BodyError::BadGzip(e.to_string()))
            }
        }
    }
}

/// A decoder error is either the buffer refusing more bytes (the limit) or a broken stream.
fn gzip_error(buffer: &CappedBuffer, err: &io::Error) -> BodyError {
    if buffer.exceeded {
        BodyError::TooLarge {
            limit: buffer.limit,
        }
    } else {
        BodyError::BadGzip(err.to_string())
    }
}

/// A byte buffer that refuses to grow past `limit`.
struct CappedBuffer {
    bytes: Vec<u8>,
    limit: usize,
    exceeded: bool,
}

impl Write for CappedBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + data.len() > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("the decoded body passed the size limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A client-supplied value, shortened for quoting in a message.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use futures_util::stream;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    async fn read(
        chunks: Vec<Vec<u8>>,
        encoding: ContentEncoding,
        limit: usize,
    ) -> Result<Vec<u8>, BodyError> {
        let s = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
        read_capped(&HeaderMap::new(), s, encoding, limit).await
    }

    #[actix_web::test]
    async fn identity_bodies_are_read_up_to_the_limit() {
        let body = read(
            vec![b"abc".to_vec(), b"def".to_vec()],
            ContentEncoding::Identity,
            6,
        )
        .await
        .unwrap();
        assert_eq!(body, b"abcdef");
        let err = read(
            vec![b"abc".to_vec(), b"defg".to_vec()],
            ContentEncoding::Identity,
            6,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { limit: 6 }));
    }

    #[actix_web::test]
    async fn gzip_bodies_are_decoded_across_chunks() {
        let zipped = gzip(b"hello, gzip");
        let (a, b) = zipped.split_at(7);
        let body = read(vec![a.to_vec(), b.to_vec()], ContentEncoding::Gzip, 64)
            .await
            .unwrap();
        assert_eq!(body, b"hello, gzip");
    }

    #[actix_web::test]
    async fn a_gzip_bomb_stops_at_the_limit() {
        let zipped = gzip(&vec![b' '; 10 * 1024 * 1024]);
        assert!(zipped.len() < 20 * 1024, "{}", zipped.len());
        let err = read(vec![zipped], ContentEncoding::Gzip, 64 * 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { limit: 65536 }), "{err}");
    }

    #[actix_web::test]
    async fn broken_and_truncated_gzip_is_refused() {
        let err = read(vec![b"not gzip at all".to_vec()], ContentEncoding::Gzip, 64)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::BadGzip(_)), "{err}");
        let zipped = gzip(b"hello, gzip, hello, gzip");
        let truncated = zipped[..zipped.len() - 6].to_vec();
        let err = read(vec![truncated], ContentEncoding::Gzip, 64)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::BadGzip(_)), "{err}");
    }

    #[actix_web::test]
    async fn compressed_bytes_are_capped_too() {
        let err = read(
            vec![vec![0u8; 100 + GZIP_OVERHEAD_BYTES + 1]],
            ContentEncoding::Gzip,
            100,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, BodyError::CompressedTooLarge { .. }), "{err}");
    }

    #[actix_web::test]
    async fn a_declared_length_over_the_cap_fails_before_reading() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, "1000".parse().unwrap());
        let err = read_capped(&headers, stream::empty(), ContentEncoding::Identity, 10)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { limit: 10 }));
    }

    #[test]
    fn content_types_are_matched_without_parameters() {
        let ok = ["text/plain", "application/json"];
        let mut headers = HeaderMap::new();
        assert!(matches!(
            require_content_type(&headers, &ok, "x"),
            Err(BodyError::MissingContentType { .. })
        ));
        for good in ["text/plain;charset=UTF-8", "Application/JSON", "text/plain"] {
            headers.insert(CONTENT_TYPE, good.parse().unwrap());
            assert!(require_content_type(&headers, &ok, "x").is_ok(), "{good}");
        }
        headers.insert(CONTENT_TYPE, "text/html".parse().unwrap());
        assert!(require_content_type(&headers, &ok, "x").is_err());
    }

    #[test]
    fn encodings() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            ContentEncoding::from_headers(&headers).unwrap(),
            ContentEncoding::Identity
        );
        headers.insert(CONTENT_ENCODING, "GZIP".parse().unwrap());
        assert_eq!(
            ContentEncoding::from_headers(&headers).unwrap(),
            ContentEncoding::Gzip
        );
        headers.insert(CONTENT_ENCODING, "br".parse().unwrap());
        assert!(ContentEncoding::from_headers(&headers).is_err());
    }
}
