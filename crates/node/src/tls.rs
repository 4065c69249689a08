//! TLS for nodes: TLS 1.3 only, on the ring provider, with certificates pinned by their SHA-256
//! fingerprint instead of checked against a certificate authority.
//!
//! - The server asks every client for a certificate but does not require one (browsers have
//!   none). A certificate that is presented must be pinned in the roster, or the handshake fails;
//!   the node-to-node endpoints then also require that one was presented.
//! - A node connecting to a peer checks that the peer's certificate is the one its card pins,
//!   and presents its own.

use std::collections::HashSet;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme,
};

use crate::identity::{Fingerprint, NodeIdentity};
use crate::roster::Roster;

/// The handshake-signature checks both verifiers share: pinning decides which certificate is
/// accepted; whether the peer holds its key is checked by the crypto provider, as usual.
macro_rules! handshake_signatures_by_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

/// The crypto provider every node uses: ring (no C toolchain beyond a C compiler).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side's check of client certificates: optional, but pinned when presented.
#[derive(Debug)]
struct PinnedClients {
    pins: HashSet<Fingerprint>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for PinnedClients {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.pins.contains(&Fingerprint::of(end_entity)) {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::info!(
                "TLS client certificate refused: not pinned in the roster (sha256 {})",
                Fingerprint::of(end_entity)
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    handshake_signatures_by_provider!();
}

/// The client side's check of a server certificate: exactly the pinned one.
#[derive(Debug)]
struct PinnedServer {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if Fingerprint::of(end_entity) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    handshake_signatures_by_provider!();
}

/// The server's TLS configuration: the node's certificate, client certificates pinned by the
/// roster, HTTP/1.1.
pub fn server_config(
    identity: &NodeIdentity,
    roster: &Roster,
) -> Result<ServerConfig, rustls::Error> {
    let provider = provider();
    let verifier = PinnedClients {
        pins: roster.peers().iter().map(|c| c.tls_cert_sha256).collect(),
        provider: provider.clone(),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![identity.tls_cert_der().clone()], identity.tls_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client's TLS configuration: the server must present the certificate `server_pin` names;
/// `identity`, when given, is presented as the client certificate.
pub fn client_config(
    server_pin: Fingerprint,
    identity: Option<&NodeIdentity>,
) -> Result<ClientConfig, rustls::Error> {
    let provider = provider();
    let verifier = PinnedServer {
        pin: server_pin,
        provider: provider.clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match identity {
        Some(id) => builder.with_client_auth_cert(vec![id.tls_cert_der().clone()], id.tls_key())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
