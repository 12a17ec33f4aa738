//! HTTPS served by the collector itself (`--tls-cert F --tls-key F`): the certificate chain and
//! private key are read from PEM files and checked at start-up, so that a missing file, a file
//! without a certificate or key, or a key that is not the certificate's stops the collector with
//! a message naming the file ([`ConfigError`]) instead of failing every handshake later.
//!
//! rustls with the *ring* provider, as the notifier's HTTP and SMTP clients use: no system
//! OpenSSL and no aws-lc (which needs cmake to build). actix-web offers `h2` and `http/1.1` by
//! ALPN on the TLS listener; plain HTTP stays HTTP/1.1.
//!
//! Nothing here ever prints key material: errors name the files and say what is wrong, and
//! [`TlsSettings`]' `Debug` shows the paths only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::config::ConfigError;

/// A certificate chain and its private key, read and checked: what the TLS listener serves.
#[derive(Clone)]
pub struct TlsSettings {
    /// The PEM file with the certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// The PEM file with the private key (PKCS#8, PKCS#1/RSA or SEC1/EC).
    pub key: PathBuf,
    server: Arc<ServerConfig>,
}

impl TlsSettings {
    /// Reads the certificate chain from `cert` and the private key from `key` (PEM), and checks
    /// that the key is the certificate's and that rustls can serve them.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, ConfigError> {
        let chain = read_chain(cert)?;
        let private_key = read_key(key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| unusable(cert, key, &e))?
            .with_no_client_auth()
            // Checks that the key's public key is the end-entity certificate's.
            .with_single_cert(chain, private_key)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                    ConfigError::TlsKeyMismatch {
                        cert: cert.to_path_buf(),
                        key: key.to_path_buf(),
                    }
                }
                other => unusable(cert, key, &other),
            })?;
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            server: Arc::new(server),
        })
    }

    /// The rustls server configuration for `HttpServer::bind_rustls_0_23` (which adds the ALPN
    /// protocols itself).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::clone(&self.server)
    }
}

/// Settings are equal when they name the same files (the loaded keys are not compared).
impl PartialEq for TlsSettings {
    fn eq(&self, other: &Self) -> bool {
        self.cert == other.cert && self.key == other.key
    }
}

/// The paths only, never the key.
impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// rustls refused the pair for another reason than a mismatch; its message names no key material.
fn unusable(cert: &Path, key: &Path, error: &rustls::Error) -> ConfigError {
    ConfigError::TlsUnusable {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        reason: error.to_string(),
    }
}

/// The file's bytes, or why it cannot be read.
fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::TlsRead {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Every `CERTIFICATE` block of the file, in order; other blocks (a key in the same file) are
/// skipped.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read("certificate", path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem("certificate", path, &e))?;
    if chain.is_empty() {
        return Err(ConfigError::TlsNoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// The file's first private key block (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let bytes = read("key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => ConfigError::TlsNoKey {
            path: path.to_path_buf(),
        },
        other => bad_pem("key", path, &other),
    })
}

/// Says what is wrong with the PEM without quoting the file: a key file's lines are secret.
fn bad_pem(what: &'static str, path: &Path, error: &pem::Error) -> ConfigError {
    let reason = match error {
        pem::Error::MissingSectionEnd { .. } => "a block has no `-----END ...-----` line",
        pem::Error::IllegalSectionStart { .. } => "a `-----BEGIN ...-----` line is malformed",
        pem::Error::Base64Decode(_) => "a block's base64 is broken",
        pem::Error::SectionTooLarge => "a block is too large",
        pem::Error::NoItemsFound => "no PEM block found",
        _ => "it cannot be read as PEM",
    };
    ConfigError::TlsPem {
        what,
        path: path.to_path_buf(),
        reason,
    }
}
