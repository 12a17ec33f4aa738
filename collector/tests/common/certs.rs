//! Self-signed certificates for the TLS tests (rcgen): the collector's own HTTPS, its
//! certificate options, and the notifier's mail over TLS. Tests that do not use the rest of
//! `common` take this file alone (`#[path = "common/certs.rs"]`).
#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::path::Path;

/// A certificate for `localhost` and 127.0.0.1, and its key, as PEM.
pub struct Pair {
    pub cert: String,
    pub key: String,
}

/// A fresh self-signed [`Pair`].
pub fn self_signed() -> Pair {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("rcgen makes a certificate");
    Pair {
        cert: made.cert.pem(),
        key: made.signing_key.serialize_pem(),
    }
}

impl Pair {
    /// Writes the certificate to `cert` and the key to `key`.
    pub fn write(&self, cert: &Path, key: &Path) {
        std::fs::write(cert, &self.cert).expect("write the certificate");
        std::fs::write(key, &self.key).expect("write the key");
    }
}
