//! TLS (feature `tls`): rustls with the `ring` provider, TLS 1.2 and 1.3.
//!
//! - [`TlsConfig`]: the `/metrics` server's certificate chain and key
//!   ([`ServerConfig::tls`](crate::http::ServerConfig::tls), with feature `http`), so that a
//!   service exposed beyond loopback serves its metrics (and checks scrapers' credentials, see
//!   [`Auth`](crate::http::Auth)) over TLS only. The handshake has the server's
//!   `header_read_timeout` to complete; a client that fails it is closed and counted.
//! - [`ClientTls`]: the roots the HTTP push exporters trust for `https://` URLs
//!   ([`PushConfig::tls`](crate::push::PushConfig::tls), with their features): Mozilla's root
//!   certificates (`webpki-roots`) by default, or the certificates of a private CA.
//!
//! # Examples
//!
//! ```
//! use metrics_runtime::tls::{ClientTls, TlsConfig, TlsError};
//!
//! // Certificates and keys are PEM: a chain (leaf first) and a PKCS#8, PKCS#1 or SEC1 key.
//! assert!(matches!(TlsConfig::from_pem(b"", b""), Err(TlsError::NoCertificate)));
//! assert!(matches!(ClientTls::with_ca_pem(b"not a certificate"), Err(TlsError::NoCertificate)));
//! let _default = ClientTls::default(); // Mozilla's roots
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a TLS configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The PEM holds no certificate.
    NoCertificate,
    /// The PEM holds no private key.
    NoKey,
    /// rustls refused the certificate, the key or the pair.
    Invalid(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Io { path, error } => write!(f, "cannot read `{path}`: {error}"),
            TlsError::NoCertificate => write!(f, "no PEM certificate (`-----BEGIN CERTIFICATE-----`) found"),
            TlsError::NoKey => write!(f, "no PEM private key (PKCS#8, PKCS#1 or SEC1) found"),
            TlsError::Invalid(reason) => write!(f, "invalid TLS configuration: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Io { path: path.display().to_string(), error })
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Invalid(format!("certificate PEM: {e:?}")))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    Ok(certs)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The `/metrics` server's TLS: its certificate chain and private key.
#[derive(Clone)]
pub struct TlsConfig {
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// From a PEM certificate chain (leaf first) and a PEM private key.
    ///
    /// # Errors
    ///
    /// [`TlsError::NoCertificate`], [`TlsError::NoKey`], or [`TlsError::Invalid`] when rustls
    /// refuses them (a key that does not match the certificate, say).
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsError> {
        let certs = certificates(cert_chain)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|_| TlsError::NoKey)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Invalid(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { config: Arc::new(config) })
    }

    /// From PEM files.
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem), and [`TlsError::Io`].
    pub fn from_pem_files(cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// From a rustls configuration built by hand (client certificates, other versions); its
    /// ALPN list should offer `http/1.1`.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        Self { config }
    }
}

/// The roots the HTTP push exporters trust for `https://` URLs.
#[derive(Clone, Default)]
pub struct ClientTls {
    /// `None`: Mozilla's roots.
    pub(crate) config: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roots = if self.config.is_some() { "custom" } else { "webpki-roots" };
        f.debug_struct("ClientTls").field("roots", &roots).finish()
    }
}

/// Equal when both trust Mozilla's roots or share one configuration.
impl PartialEq for ClientTls {
    fn eq(&self, other: &Self) -> bool {
        match (&self.config, &other.config) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl ClientTls {
    /// Trusts only the CA certificates in `pem` (a private CA, a self-signed receiver).
    ///
    /// # Errors
    ///
    /// [`TlsError::NoCertificate`], or [`TlsError::Invalid`] for a certificate rustls refuses.
    pub fn with_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(pem)? {
            roots.add(cert).map_err(|e| TlsError::Invalid(e.to_string()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self { config: Some(Arc::new(config)) })
    }

    /// As [`with_ca_pem`](Self::with_ca_pem), from a file.
    ///
    /// # Errors
    ///
    /// As [`with_ca_pem`](Self::with_ca_pem), and [`TlsError::Io`].
    pub fn with_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::with_ca_pem(&read(path.as_ref())?)
    }

    /// From a rustls configuration built by hand (client certificates, other roots).
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        Self { config: Some(config) }
    }
}
