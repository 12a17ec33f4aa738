//! Which certificate authorities HTTPS and SMTP over TLS trust. By default the system's store
//! (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set), so that a receiver behind
//! a company CA or a TLS-inspecting proxy works as it does for curl; the bundled Mozilla roots
//! (`webpki-roots`) when asked for, or when the system has none.

use std::sync::Arc;

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};

use super::config::TlsRoots;

/// The roots to trust, loaded once per (re)start of the notifier.
#[derive(Clone)]
pub enum Roots {
    /// These certificates (DER), from the system's store.
    System(Arc<Vec<Vec<u8>>>),
    /// The bundled Mozilla roots.
    WebPki,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::System(certs) => write!(f, "System({} certificates)", certs.len()),
            Roots::WebPki => f.write_str("WebPki"),
        }
    }
}

impl Roots {
    /// Loads what `choice` says.
    pub fn load(choice: TlsRoots) -> Roots {
        if choice == TlsRoots::Webpki {
            return Roots::WebPki;
        }
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "a system CA certificate could not be read");
        }
        if found.certs.is_empty() {
            tracing::warn!(
                "no system CA certificates found; notifications trust the bundled Mozilla roots"
            );
            return Roots::WebPki;
        }
        Roots::System(Arc::new(
            found.certs.iter().map(|c| c.as_ref().to_vec()).collect(),
        ))
    }

    /// For ureq.
    pub fn for_http(&self) -> ureq::tls::RootCerts {
        match self {
            Roots::System(certs) => ureq::tls::RootCerts::new_with_certs(
                &certs
                    .iter()
                    .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                    .collect::<Vec<_>>(),
            ),
            Roots::WebPki => ureq::tls::RootCerts::WebPki,
        }
    }

    /// For lettre, connecting to `host`.
    pub fn for_smtp(&self, host: &str) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let builder = TlsParameters::builder(host.to_owned());
        match self {
            Roots::System(certs) => {
                let mut builder = builder.certificate_store(CertificateStore::None);
                for der in certs.iter() {
                    // A certificate rustls cannot use is skipped, as the system store would.
                    if let Ok(cert) = Certificate::from_der(der.clone()) {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                builder.build_rustls()
            }
            Roots::WebPki => builder
                .certificate_store(CertificateStore::WebpkiRoots)
                .build_rustls(),
        }
    }
}
