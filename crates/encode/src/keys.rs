//! Key derivation: every use of the project secret gets its own key, derived with HKDF-SHA256
//! under an info string naming the schema (id, version, fingerprint), the domain (a field, an
//! identifier kind, a blocking key) and the purpose. Keys for different fields, purposes or
//! schemas are therefore independent: learning how one filter maps q-grams to positions says
//! nothing about any other.

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::schema::Schema;
use crate::secret::ProjectSecret;

/// HKDF salt: fixed, it only separates this use of the secret from any other.
const HKDF_SALT: &[u8] = b"enlace-encode/hkdf/v1";

/// What a derived key is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Positions of a field's tokens in its filter and in the CLK.
    Bloom,
    /// Keyed hash of an exact identifier.
    Identifier,
    /// Keyed blocking token.
    Blocking,
    /// Seeds of the BLIP bit flips.
    Flip,
    /// The key-check value that lets two parties confirm they share a secret.
    KeyCheck,
    /// Opaque record references.
    Reference,
    /// Keyed tokens of event ids.
    Event,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Bloom => "bloom",
            Purpose::Identifier => "identifier",
            Purpose::Blocking => "blocking",
            Purpose::Flip => "flip",
            Purpose::KeyCheck => "key-check",
            Purpose::Reference => "reference",
            Purpose::Event => "event",
        }
    }
}

/// A 32-byte derived key, wiped on drop.
pub(crate) struct Key(Zeroizing<[u8; 32]>);

impl Key {
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key from given bytes, for unit tests of what is hashed under a key.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(Zeroizing::new(bytes))
    }
}

/// The info string of a derived key; part of the format (see docs/encoding.md).
pub(crate) fn info(schema: &Schema, domain: &str, purpose: Purpose) -> String {
    format!(
        "enlace-encode/v1\0schema={}\0version={}\0fingerprint={}\0domain={}\0purpose={}",
        schema.id,
        schema.version,
        schema.fingerprint().to_hex(),
        domain,
        purpose.label()
    )
}

pub(crate) fn derive(
    secret: &ProjectSecret,
    schema: &Schema,
    domain: &str,
    purpose: Purpose,
) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.expose());
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    if hk
        .expand(info(schema, domain, purpose).as_bytes(), &mut okm[..])
        .is_err()
    {
        unreachable!("HKDF output length is fixed at 32 bytes");
    }
    Key(okm)
}

/// A value derived from the secret and the schema that both parties can publish: equal key
/// checks mean the encodings were made under the same secret and schema. It reveals nothing
/// about the secret (it is a PRF output of a fixed label).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyCheck(pub [u8; 32]);

impl KeyCheck {
    pub(crate) fn compute(secret: &ProjectSecret, schema: &Schema) -> KeyCheck {
        let key = derive(secret, schema, "project", Purpose::KeyCheck);
        KeyCheck(*blake3::keyed_hash(key.bytes(), b"enlace key check").as_bytes())
    }

    /// Constant-time equality: the comparison authenticates a party's secret, so its timing
    /// must not reveal how many leading bytes agreed.
    pub fn matches(&self, other: &KeyCheck) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for KeyCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyCheck({})", hex::encode(&self.0[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_domain_purpose_and_schema() {
        let secret = ProjectSecret::from_bytes(&[7u8; 32]).unwrap();
        let s = Schema::default_with_id("a");
        let k1 = derive(&secret, &s, "surname1", Purpose::Bloom);
        let k2 = derive(&secret, &s, "surname2", Purpose::Bloom);
        let k3 = derive(&secret, &s, "surname1", Purpose::Blocking);
        let k4 = derive(
            &secret,
            &Schema::default_with_id("b"),
            "surname1",
            Purpose::Bloom,
        );
        let again = derive(&secret, &s, "surname1", Purpose::Bloom);
        assert_eq!(k1.bytes(), again.bytes());
        for other in [&k2, &k3, &k4] {
            assert_ne!(k1.bytes(), other.bytes());
        }
    }

    #[test]
    fn key_check_depends_on_secret() {
        let s = Schema::default_with_id("a");
        let a = KeyCheck::compute(&ProjectSecret::from_bytes(&[1u8; 32]).unwrap(), &s);
        let b = KeyCheck::compute(&ProjectSecret::from_bytes(&[2u8; 32]).unwrap(), &s);
        assert!(a.matches(&a));
        assert!(!a.matches(&b));
    }
}
