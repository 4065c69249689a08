//! The project secret sealed to one data holder: an ephemeral X25519 key agreement with the
//! holder's published X25519 key, HKDF-SHA256 to a one-time key, ChaCha20-Poly1305 around the
//! secret, and the initiator's Ed25519 signature over the whole. The linkage unit relays these
//! and holds no X25519 secret of a holder, so it cannot open them; a holder opens only its own,
//! and only when the initiator's signature checks.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use enlace_encode::ProjectSecret;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Why a sealed secret cannot be made or opened. Never carries key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed secret of project {project} is for {recipient}, not for this node")]
    NotForUs { project: String, recipient: String },
    #[error("sealed secret of project {project} is not signed by its initiator {initiator}")]
    BadSignature { project: String, initiator: String },
    #[error("sealed secret of project {project} does not open: altered, or sealed to another key")]
    DoesNotOpen { project: String },
    #[error(
        "sealed secret of project {project}: the key agreement gave no shared secret (a bad public key)"
    )]
    WeakKey { project: String },
    #[error("sealed secret: {0}")]
    Malformed(String),
}

/// A project secret sealed to one holder, as relayed by the linkage unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSecret {
    pub version: u32,
    pub project: String,
    pub initiator: String,
    pub recipient: String,
    /// The ephemeral X25519 public key, 64 hex digits.
    pub ephemeral: String,
    /// ChaCha20-Poly1305 of the 32-byte secret, 96 hex digits.
    pub ciphertext: String,
    /// The initiator's Ed25519 signature over [`SealedSecret::signed_bytes`], 128 hex digits.
    pub signature: String,
}

fn put(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The context every derived key and tag is bound to: project, initiator, recipient.
fn context(project: &str, initiator: &str, recipient: &str) -> Vec<u8> {
    let mut out = b"enlace project secret v1\0".to_vec();
    for part in [project, initiator, recipient] {
        out.extend((part.len() as u64).to_le_bytes());
        out.extend(part.as_bytes());
    }
    out
}

fn one_time_key(
    shared: &[u8; 32],
    ephemeral: &PublicKey,
    recipient: &PublicKey,
    ctx: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF's limit of 255 blocks: this cannot fail.
    let _ = hk.expand(ctx, &mut key[..]);
    key
}

impl SealedSecret {
    /// Seals `secret` for `recipient` (its X25519 public key from its card), signed by the
    /// initiator. `ephemeral` is 32 fresh random bytes, never reused.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        secret: &ProjectSecret,
        project: &str,
        initiator: &str,
        initiator_key: &SigningKey,
        recipient: &str,
        recipient_key: &PublicKey,
        ephemeral: [u8; 32],
    ) -> Result<SealedSecret, SealError> {
        let eph = StaticSecret::from(ephemeral);
        let eph_pub = PublicKey::from(&eph);
        let shared = eph.diffie_hellman(recipient_key);
        if !shared.was_contributory() {
            return Err(SealError::WeakKey {
                project: project.to_string(),
            });
        }
        let ctx = context(project, initiator, recipient);
        let key = one_time_key(shared.as_bytes(), &eph_pub, recipient_key, &ctx);
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let plain = Zeroizing::new(
            hex::decode(secret.to_hex().as_str())
                .map_err(|e| SealError::Malformed(e.to_string()))?,
        );
        // The key is used once (a fresh ephemeral key each time), so a fixed nonce is safe.
        let ciphertext = cipher
            .encrypt(
                &Nonce::from([0u8; 12]),
                Payload {
                    msg: &plain,
                    aad: &ctx,
                },
            )
            .map_err(|_| SealError::Malformed("encryption failed".into()))?;
        let mut sealed = SealedSecret {
            version: 1,
            project: project.to_string(),
            initiator: initiator.to_string(),
            recipient: recipient.to_string(),
            ephemeral: hex::encode(eph_pub.as_bytes()),
            ciphertext: hex::encode(ciphertext),
            signature: String::new(),
        };
        sealed.signature = hex::encode(initiator_key.sign(&sealed.signed_bytes()).to_bytes());
        Ok(sealed)
    }

    /// What the initiator signs: every field but the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(b"enlace sealed secret v1\0");
        h.update(self.version.to_le_bytes());
        for part in [
            &self.project,
            &self.initiator,
            &self.recipient,
            &self.ephemeral,
            &self.ciphertext,
        ] {
            put(&mut h, part.as_bytes());
        }
        h.finalize().to_vec()
    }

    /// Opens the secret at node `me` with its X25519 secret, after checking the initiator's
    /// signature (the initiator's Ed25519 key from its card).
    pub fn open(
        &self,
        me: &str,
        my_key: &StaticSecret,
        initiator_key: &VerifyingKey,
    ) -> Result<ProjectSecret, SealError> {
        let project = self.project.clone();
        if self.recipient != me {
            return Err(SealError::NotForUs {
                project,
                recipient: self.recipient.clone(),
            });
        }
        let bad_signature = || SealError::BadSignature {
            project: self.project.clone(),
            initiator: self.initiator.clone(),
        };
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad_signature)?;
        initiator_key
            .verify_strict(&self.signed_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| bad_signature())?;
        if self.version != 1 {
            return Err(SealError::Malformed(format!(
                "unknown version {}",
                self.version
            )));
        }
        let eph: [u8; 32] = hex::decode(&self.ephemeral)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SealError::Malformed("the ephemeral key is not 64 hex digits".into()))?;
        let ciphertext = hex::decode(&self.ciphertext)
            .map_err(|_| SealError::Malformed("the ciphertext is not hex".into()))?;
        let eph_pub = PublicKey::from(eph);
        let shared = my_key.diffie_hellman(&eph_pub);
        if !shared.was_contributory() {
            return Err(SealError::WeakKey { project });
        }
        let ctx = context(&self.project, &self.initiator, &self.recipient);
        let key = one_time_key(shared.as_bytes(), &eph_pub, &PublicKey::from(my_key), &ctx);
        let cipher = ChaCha20Poly1305::new(&Key::from(*key));
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &Nonce::from([0u8; 12]),
                    Payload {
                        msg: &ciphertext,
                        aad: &ctx,
                    },
                )
                .map_err(|_| SealError::DoesNotOpen {
                    project: project.clone(),
                })?,
        );
        ProjectSecret::from_bytes(&plain).map_err(|e| SealError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> ProjectSecret {
        ProjectSecret::from_bytes(&[0x5a; 32]).unwrap()
    }

    struct Party {
        sign: SigningKey,
        x: StaticSecret,
    }

    fn party(seed: u8) -> Party {
        Party {
            sign: SigningKey::from_bytes(&[seed; 32]),
            x: StaticSecret::from([seed.wrapping_add(100); 32]),
        }
    }

    fn sealed_to(holder: &Party, initiator: &Party) -> SealedSecret {
        SealedSecret::seal(
            &secret(),
            "p-2026-07",
            "mx-a",
            &initiator.sign,
            "gt-a",
            &PublicKey::from(&holder.x),
            [7; 32],
        )
        .unwrap()
    }

    #[test]
    fn the_holder_opens_its_secret_and_nobody_else_does() {
        let (mx, gt, unit) = (party(1), party(2), party(3));
        let sealed = sealed_to(&gt, &mx);
        let opened = sealed
            .open("gt-a", &gt.x, &mx.sign.verifying_key())
            .unwrap();
        assert_eq!(opened.to_hex(), secret().to_hex());
        // The linkage unit (or anyone) with its own key, even claiming the holder's name.
        assert_eq!(
            sealed
                .open("gt-a", &unit.x, &mx.sign.verifying_key())
                .unwrap_err(),
            SealError::DoesNotOpen {
                project: "p-2026-07".into()
            }
        );
        assert!(matches!(
            sealed.open("us-a", &gt.x, &mx.sign.verifying_key()),
            Err(SealError::NotForUs { .. })
        ));
        // Nothing of the secret shows in the sealed form.
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains(secret().to_hex().as_str()));
    }

    #[test]
    fn alterations_and_other_signers_are_refused() {
        let (mx, gt, unit) = (party(1), party(2), party(3));
        let sealed = sealed_to(&gt, &mx);
        let vk = mx.sign.verifying_key();
        // The unit re-signs an altered ciphertext with its own key: not the initiator's.
        let mut forged = sealed.clone();
        forged.ciphertext.replace_range(
            0..2,
            if &forged.ciphertext[0..2] == "00" {
                "01"
            } else {
                "00"
            },
        );
        forged.signature = hex::encode(unit.sign.sign(&forged.signed_bytes()).to_bytes());
        assert!(matches!(
            forged.open("gt-a", &gt.x, &vk),
            Err(SealError::BadSignature { .. })
        ));
        assert!(matches!(
            forged.open("gt-a", &gt.x, &unit.sign.verifying_key()),
            Err(SealError::DoesNotOpen { .. })
        ));
        // A sealed secret moved to another project, under a valid signature, does not open:
        // the project is bound into the key and the tag.
        let mut moved = sealed.clone();
        moved.project = "p-other".into();
        moved.signature = hex::encode(mx.sign.sign(&moved.signed_bytes()).to_bytes());
        assert!(matches!(
            moved.open("gt-a", &gt.x, &vk),
            Err(SealError::DoesNotOpen { .. })
        ));
    }

    #[test]
    fn a_low_order_public_key_is_refused_when_sealing() {
        let mx = party(1);
        let zero = PublicKey::from([0u8; 32]);
        let err = SealedSecret::seal(&secret(), "p", "mx-a", &mx.sign, "gt-a", &zero, [7; 32])
            .unwrap_err();
        assert!(matches!(err, SealError::WeakKey { .. }));
    }
}
