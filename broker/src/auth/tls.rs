//! The TLS side of SSL and SASL_SSL listeners: rustls with the ring provider (no OpenSSL),
//! TLS 1.2 and 1.3, certificates and keys from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use super::config::{ClientAuth, TlsSettings};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key} = {path}: {message}")]
    File {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("TLS set-up failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |message: String| TlsError::File {
        key,
        path: path.into(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM CERTIFICATE block".into()));
    }
    Ok(certs)
}

/// Builds the acceptor every TLS connection of the broker goes through.
pub fn acceptor(settings: &TlsSettings) -> Result<TlsAcceptor, TlsError> {
    let keystore = settings.keystore.as_deref().ok_or_else(|| TlsError::File {
        key: "ssl.keystore.location",
        path: PathBuf::new(),
        message: "not set, and a listener uses TLS".into(),
    })?;
    let chain = certificates("ssl.keystore.location", keystore)?;
    let (key_name, key_path) = match &settings.key {
        Some(k) => ("ssl.key.location", k.as_path()),
        None => ("ssl.keystore.location", keystore),
    };
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| TlsError::File {
        key: key_name,
        path: key_path.into(),
        message: format!("no unencrypted private key: {e}"),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match (settings.client_auth, &settings.truststore) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (auth, truststore) => {
            let path = truststore.as_deref().ok_or_else(|| TlsError::File {
                key: "ssl.truststore.location",
                path: PathBuf::new(),
                message: "not set, and ssl.client.auth is on".into(),
            })?;
            let mut roots = RootCertStore::empty();
            for ca in certificates("ssl.truststore.location", path)? {
                roots.add(ca).map_err(|e| TlsError::File {
                    key: "ssl.truststore.location",
                    path: path.into(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| rustls::Error::General(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
