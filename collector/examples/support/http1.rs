//! What the load examples (`loadgen`, `soak`) share: the clock, reading one HTTP/1.1 answer
//! off a keep-alive connection, and a nearest-rank percentile. Included by each with
//! `#[path = "support/http1.rs"] mod http1;` (a directory without `main.rs` is no example).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

/// Epoch milliseconds now.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default()
}

/// Reads one HTTP/1.1 answer with a Content-Length: its status and body.
pub fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, body))
}

/// The nearest-rank `p` (0–1) of `sorted` microseconds, in milliseconds (0 when empty).
pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}
