//! The per-project secret every encoding key is derived from.
//!
//! The secret is shared by the agencies' nodes of one project and never by the linkage unit. It
//! is loaded from bytes or a file only: there is deliberately no `FromStr` and no constructor
//! from a string, so that it cannot be passed on a command line (where it would sit in shell
//! history and the process table).

use std::io::Read;
use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

/// Length of a project secret in bytes.
pub const SECRET_LEN: usize = 32;

/// Why a secret could not be loaded. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a project secret is {SECRET_LEN} bytes, got {0}")]
    WrongLength(usize),
    #[error("secret file `{path}` holds neither {SECRET_LEN} raw bytes nor {} hex digits", 2 * SECRET_LEN)]
    BadFile { path: String },
    #[error("cannot read secret file `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("a project secret must not be all zero bytes")]
    AllZero,
}

/// A 32-byte project secret, wiped from memory when dropped. `Debug` prints no secret material.
pub struct ProjectSecret {
    bytes: [u8; SECRET_LEN],
}

impl ProjectSecret {
    /// A secret from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<ProjectSecret, SecretError> {
        let mut secret = ProjectSecret {
            bytes: [0u8; SECRET_LEN],
        };
        if bytes.len() != SECRET_LEN {
            return Err(SecretError::WrongLength(bytes.len()));
        }
        secret.bytes.copy_from_slice(bytes);
        if secret.bytes.iter().all(|&b| b == 0) {
            return Err(SecretError::AllZero);
        }
        Ok(secret)
    }

    /// A secret from a file holding either the 32 raw bytes or 64 hex digits (surrounding
    /// whitespace allowed).
    pub fn from_file(path: &Path) -> Result<ProjectSecret, SecretError> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| SecretError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut content = Zeroizing::new(Vec::with_capacity(80));
        // Anything longer than hex plus some whitespace is not a secret file.
        file.take(256)
            .read_to_end(&mut content)
            .map_err(|source| SecretError::Io {
                path: shown.clone(),
                source,
            })?;
        if content.len() == SECRET_LEN {
            return ProjectSecret::from_bytes(&content);
        }
        let text = content.trim_ascii();
        if text.len() == 2 * SECRET_LEN {
            let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
            if hex::decode_to_slice(text, &mut bytes[..]).is_ok() {
                return ProjectSecret::from_bytes(&bytes[..]);
            }
        }
        Err(SecretError::BadFile { path: shown })
    }

    /// A fresh secret from a cryptographic random source.
    pub fn generate<R: rand::CryptoRng + ?Sized>(rng: &mut R) -> ProjectSecret {
        let mut secret = ProjectSecret {
            bytes: [0u8; SECRET_LEN],
        };
        while secret.bytes.iter().all(|&b| b == 0) {
            rng.fill_bytes(&mut secret.bytes);
        }
        secret
    }

    /// The secret as lower-case hex, for writing a new secret file; wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.bytes))
    }

    pub(crate) fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.bytes
    }
}

impl Drop for ProjectSecret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl std::fmt::Debug for ProjectSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectSecret(<redacted>)")
    }
}
