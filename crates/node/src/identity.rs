//! A node's identity: an Ed25519 key to sign with, an X25519 key to receive sealed secrets on,
//! and a self-signed TLS certificate whose SHA-256 fingerprint peers pin.
//!
//! On disk, under the node's `keys/` directory (0700):
//!
//! | file | holds | mode |
//! |---|---|---|
//! | `ed25519.key` | the Ed25519 secret key, 64 hex digits | 0600 |
//! | `x25519.key` | the X25519 secret key, 64 hex digits | 0600 |
//! | `tls.key` | the TLS private key (ECDSA P-256), PKCS#8 PEM | 0600 |
//! | `tls.crt` | the TLS certificate, PEM | 0644 |

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::TryRngCore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::config::NodeId;
use crate::fsutil::{self, Access};

/// Errors making, writing or reading a node's identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    #[error("making the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// The SHA-256 digest of a certificate's DER encoding: what peers pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_hex32(s).map(Fingerprint)
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.to_string()
    }
}

/// 64 lowercase hex digits into 32 bytes.
pub fn parse_hex32(s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("expected 64 lowercase hex digits".into());
    }
    hex::decode_to_slice(s, &mut out).map_err(|_| "expected 64 lowercase hex digits".to_owned())?;
    Ok(out)
}

/// Fills a buffer from the operating system's random number generator.
pub(crate) fn os_random<const N: usize>() -> Result<[u8; N], IdentityError> {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| IdentityError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A node's secret keys and certificate.
pub struct NodeIdentity {
    signing: SigningKey,
    x25519: StaticSecret,
    tls_cert_pem: String,
    tls_cert_der: CertificateDer<'static>,
    tls_key: PrivatePkcs8KeyDer<'static>,
    tls_key_pem: Zeroizing<String>,
}

impl fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("tls_cert_sha256", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

const ED25519_FILE: &str = "ed25519.key";
const X25519_FILE: &str = "x25519.key";
const TLS_KEY_FILE: &str = "tls.key";
const TLS_CERT_FILE: &str = "tls.crt";

impl NodeIdentity {
    /// Makes fresh keys and a self-signed certificate for `node_id`, valid for ten years from
    /// the start of this year (peers pin the fingerprint, so the validity dates are informative).
    pub fn generate(node_id: &NodeId, this_year: i32) -> Result<Self, IdentityError> {
        let signing = SigningKey::from_bytes(&os_random::<32>()?);
        let x25519 = StaticSecret::from(os_random::<32>()?);

        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = rcgen::CertificateParams::new(vec![node_id.to_string()])?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("enlace node {node_id}"));
        params.not_before = rcgen::date_time_ymd(this_year, 1, 1);
        params.not_after = rcgen::date_time_ymd(this_year + 10, 1, 1);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&os_random::<16>()?));
        let cert = params.self_signed(&key_pair)?;

        Ok(NodeIdentity {
            signing,
            x25519,
            tls_cert_pem: cert.pem(),
            tls_cert_der: cert.der().clone(),
            tls_key: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
            tls_key_pem: Zeroizing::new(key_pair.serialize_pem()),
        })
    }

    /// Writes the identity into `keys_dir`, which must not hold one already.
    pub fn write_new(&self, keys_dir: &Path) -> Result<(), IdentityError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| IdentityError::Io { path, source }
        };
        for name in [ED25519_FILE, X25519_FILE, TLS_KEY_FILE, TLS_CERT_FILE] {
            let path = keys_dir.join(name);
            if path.exists() {
                return Err(IdentityError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a key is already there; refusing to overwrite it",
                    ),
                });
            }
        }
        fsutil::create_private_dir(keys_dir).map_err(io(keys_dir))?;
        let write = |name: &str, bytes: &[u8], access| {
            let path = keys_dir.join(name);
            fsutil::write_atomic(&path, bytes, access).map_err(io(&path))
        };
        let ed = Zeroizing::new(hex::encode(self.signing.to_bytes()) + "\n");
        write(ED25519_FILE, ed.as_bytes(), Access::Secret)?;
        let x = Zeroizing::new(hex::encode(self.x25519.to_bytes()) + "\n");
        write(X25519_FILE, x.as_bytes(), Access::Secret)?;
        write(TLS_KEY_FILE, self.tls_key_pem.as_bytes(), Access::Secret)?;
        write(TLS_CERT_FILE, self.tls_cert_pem.as_bytes(), Access::Public)
    }

    /// Reads the identity from `keys_dir`, refusing secret files others may read.
    pub fn load(keys_dir: &Path) -> Result<Self, IdentityError> {
        let read_secret = |name: &str| {
            let path = keys_dir.join(name);
            fsutil::read_secret(&path).map_err(|source| IdentityError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let malformed = |name: &str, message: &str| IdentityError::Malformed {
            path: keys_dir.join(name).display().to_string(),
            message: message.to_owned(),
        };
        let hex_key = |name: &str| -> Result<[u8; 32], IdentityError> {
            let bytes = Zeroizing::new(read_secret(name)?);
            let text = std::str::from_utf8(&bytes).map_err(|_| malformed(name, "not text"))?;
            parse_hex32(text.trim()).map_err(|e| malformed(name, &e))
        };
        let signing = SigningKey::from_bytes(&hex_key(ED25519_FILE)?);
        let x25519 = StaticSecret::from(hex_key(X25519_FILE)?);

        let key_pem = Zeroizing::new(read_secret(TLS_KEY_FILE)?);
        let tls_key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(PrivateKeyDer::Pkcs8(key)) => key,
            _ => return Err(malformed(TLS_KEY_FILE, "expected a PKCS#8 PEM private key")),
        };
        let cert_path = keys_dir.join(TLS_CERT_FILE);
        let tls_cert_pem =
            std::fs::read_to_string(&cert_path).map_err(|source| IdentityError::Io {
                path: cert_path.display().to_string(),
                source,
            })?;
        let tls_cert_der = CertificateDer::from_pem_slice(tls_cert_pem.as_bytes())
            .map_err(|_| malformed(TLS_CERT_FILE, "expected a PEM certificate"))?;
        Ok(NodeIdentity {
            signing,
            x25519,
            tls_cert_pem,
            tls_cert_der,
            tls_key,
            tls_key_pem: Zeroizing::new(
                String::from_utf8(key_pem.to_vec())
                    .map_err(|_| malformed(TLS_KEY_FILE, "not text"))?,
            ),
        })
    }

    /// The SHA-256 fingerprint of the TLS certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.tls_cert_der)
    }

    /// The signing key, for the audit log's writer (which signs each entry).
    /// Opens a project secret sealed to this node (the X25519 secret never leaves this type).
    pub fn open_sealed(
        &self,
        sealed: &crate::project::SealedSecret,
        me: &str,
        initiator_key: &VerifyingKey,
    ) -> Result<enlace_encode::ProjectSecret, crate::project::SealError> {
        sealed.open(me, &self.x25519, initiator_key)
    }

    pub(crate) fn signing_key(&self) -> SigningKey {
        self.signing.clone()
    }

    pub fn ed25519_public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn x25519_public(&self) -> x25519_dalek::PublicKey {
        x25519_dalek::PublicKey::from(&self.x25519)
    }

    /// Signs `message` with the node's Ed25519 key.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.signing.sign(message)
    }

    pub fn tls_cert_pem(&self) -> &str {
        &self.tls_cert_pem
    }

    pub fn tls_cert_der(&self) -> &CertificateDer<'static> {
        &self.tls_cert_der
    }

    /// A copy of the TLS private key, for a rustls configuration.
    pub fn tls_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.tls_key.clone_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_written_reads_back_the_same_and_is_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        let id = NodeIdentity::generate(&"us-a".parse().unwrap(), 2026).unwrap();
        id.write_new(&keys).unwrap();
        let back = NodeIdentity::load(&keys).unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
        assert_eq!(back.ed25519_public(), id.ed25519_public());
        assert_eq!(
            back.x25519_public().as_bytes(),
            id.x25519_public().as_bytes()
        );
        assert_eq!(
            back.tls_key().secret_der(),
            id.tls_key().secret_der(),
            "the PEM written decodes to the same key"
        );
        let other = NodeIdentity::generate(&"us-a".parse().unwrap(), 2026).unwrap();
        assert!(other.write_new(&keys).is_err());
        assert_eq!(
            NodeIdentity::load(&keys).unwrap().fingerprint(),
            id.fingerprint()
        );
        assert_ne!(other.fingerprint(), id.fingerprint());
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_0600_and_the_keys_dir_0700() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        NodeIdentity::generate(&"gt-a".parse().unwrap(), 2026)
            .unwrap()
            .write_new(&keys)
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        for name in [ED25519_FILE, X25519_FILE, TLS_KEY_FILE] {
            assert_eq!(mode(&keys.join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn fingerprints_parse_only_as_64_lowercase_hex_digits() {
        let f = Fingerprint::of(b"x");
        assert_eq!(f.to_string().parse::<Fingerprint>().unwrap(), f);
        assert!("ab".parse::<Fingerprint>().is_err());
        assert!(f.to_string().to_uppercase().parse::<Fingerprint>().is_err());
    }
}
