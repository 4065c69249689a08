//! Node cards and the roster of trusted peers.
//!
//! A **card** is what a node hands its peers (`enlace roster export`): its id, country, URL,
//! roles, TLS certificate and that certificate's SHA-256 fingerprint, its Ed25519 and X25519
//! public keys, and an Ed25519 signature over all of it. The **roster** (`roster.toml`) is the
//! list of cards a node trusts; a peer reaches its node-to-node endpoints only with the
//! certificate its card pins. Every card is checked whole when added and again when the roster is
//! read: the fingerprint must be the embedded certificate's, the keys must be valid points, the
//! signature must verify, and no two peers may share an id or a certificate.

use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use crate::config::{Country, NodeConfig, NodeId, NodeRole, validate_url};
use crate::fsutil::{self, Access};
use crate::identity::{Fingerprint, NodeIdentity, parse_hex32};

/// The card format this code writes and reads.
pub const CARD_FORMAT: u32 = 1;

/// Why a card or a roster was refused.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a valid {what}: {message}")]
    Parse {
        path: String,
        what: &'static str,
        message: String,
    },
    #[error("card of {id}: {message}")]
    BadCard { id: String, message: String },
    #[error("a peer with id {0} is already in the roster")]
    DuplicateId(NodeId),
    #[error("peer {new} has the same TLS certificate as peer {existing}, already in the roster")]
    DuplicateCertificate { new: NodeId, existing: NodeId },
    #[error("card of {0} is this node's own card")]
    OwnCard(NodeId),
}

/// A node's card, as exported and as stored in the roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub format: u32,
    pub id: NodeId,
    pub country: Country,
    pub url: String,
    pub roles: Vec<NodeRole>,
    /// SHA-256 of the certificate's DER encoding.
    pub tls_cert_sha256: Fingerprint,
    /// Ed25519 public key, 64 hex digits.
    pub ed25519: String,
    /// X25519 public key, 64 hex digits.
    pub x25519: String,
    /// Ed25519 signature over [`Card::signed_message`], 128 hex digits.
    pub signature: String,
    /// The TLS certificate, PEM.
    pub tls_cert: String,
}

impl Card {
    /// This node's card, signed with its Ed25519 key.
    pub fn of_node(config: &NodeConfig, identity: &NodeIdentity) -> Card {
        let mut card = Card {
            format: CARD_FORMAT,
            id: config.node_id.clone(),
            country: config.country,
            url: config.url.clone(),
            roles: config.roles.clone(),
            tls_cert_sha256: identity.fingerprint(),
            ed25519: hex::encode(identity.ed25519_public().as_bytes()),
            x25519: hex::encode(identity.x25519_public().as_bytes()),
            signature: String::new(),
            tls_cert: identity.tls_cert_pem().to_owned(),
        };
        card.signature = hex::encode(identity.sign(&card.signed_message()).to_bytes());
        card
    }

    /// The bytes the card's signature covers: every field but the certificate itself, which the
    /// fingerprint stands for, one `name=value` per line in a fixed order. No value can hold a
    /// newline (ids, URLs and hex are checked), so the encoding is unambiguous.
    pub fn signed_message(&self) -> Vec<u8> {
        let roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        format!(
            "enlace-card-v{}\nid={}\ncountry={}\nurl={}\nroles={}\ntls_cert_sha256={}\ned25519={}\nx25519={}\n",
            self.format,
            self.id,
            self.country,
            self.url,
            roles.join(","),
            self.tls_cert_sha256,
            self.ed25519,
            self.x25519,
        )
        .into_bytes()
    }

    /// Checks everything a card claims; returns its certificate's DER on success.
    pub fn verify(&self) -> Result<CertificateDer<'static>, RosterError> {
        let bad = |message: String| RosterError::BadCard {
            id: self.id.to_string(),
            message,
        };
        if self.format != CARD_FORMAT {
            return Err(bad(format!(
                "card format {} is not the supported format {CARD_FORMAT}",
                self.format
            )));
        }
        validate_url(&self.url).map_err(|e| bad(e.to_string()))?;
        if self.roles.is_empty() {
            return Err(bad("lists no role".into()));
        }
        for (i, role) in self.roles.iter().enumerate() {
            if self.roles[..i].contains(role) {
                return Err(bad(format!("lists role {role} twice")));
            }
        }
        let ed = self.ed25519_key().map_err(bad)?;
        let x = parse_hex32(&self.x25519).map_err(|e| bad(format!("x25519 key: {e}")))?;
        if x == [0u8; 32] {
            return Err(bad("x25519 key is all zeros".into()));
        }
        let der = CertificateDer::from_pem_slice(self.tls_cert.as_bytes())
            .map_err(|_| bad("tls_cert is not a PEM certificate".into()))?;
        if Fingerprint::of(&der) != self.tls_cert_sha256 {
            return Err(bad(
                "tls_cert_sha256 is not the fingerprint of the certificate in the card".into(),
            ));
        }
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("signature is not 128 hex digits".into()))?;
        ed.verify_strict(&self.signed_message(), &Signature::from_bytes(&sig))
            .map_err(|_| bad("signature does not verify with the card's ed25519 key".into()))?;
        Ok(der)
    }

    /// The card's Ed25519 key, refusing malformed and weak (small-order) keys.
    pub fn ed25519_key(&self) -> Result<VerifyingKey, String> {
        let bytes = parse_hex32(&self.ed25519).map_err(|e| format!("ed25519 key: {e}"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "ed25519 key is not a valid point".to_owned())?;
        if key.is_weak() {
            return Err("ed25519 key is a weak (small-order) key".into());
        }
        Ok(key)
    }

    pub fn to_toml(&self) -> Result<String, RosterError> {
        let body = toml::to_string(self).map_err(|e| RosterError::BadCard {
            id: self.id.to_string(),
            message: e.to_string(),
        })?;
        Ok(format!(
            "# Enlace node card: give it to the peers that should trust this node.\n{body}"
        ))
    }

    /// Reads a card file and checks it.
    pub fn read(path: &Path) -> Result<Card, RosterError> {
        let text = std::fs::read_to_string(path).map_err(|source| RosterError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let card: Card = toml::from_str(&text).map_err(|e| RosterError::Parse {
            path: path.display().to_string(),
            what: "node card",
            message: e.to_string(),
        })?;
        card.verify()?;
        Ok(card)
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    #[serde(default)]
    peer: Vec<Card>,
}

/// The peers a node trusts.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    peers: Vec<Card>,
}

impl Roster {
    /// Reads `roster.toml` (a missing file is an empty roster) and checks every card in it.
    pub fn load(path: &Path) -> Result<Roster, RosterError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Roster::default()),
            Err(source) => {
                return Err(RosterError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let file: RosterFile = toml::from_str(&text).map_err(|e| RosterError::Parse {
            path: path.display().to_string(),
            what: "roster",
            message: e.to_string(),
        })?;
        let mut roster = Roster::default();
        for card in file.peer {
            roster.insert(card)?;
        }
        Ok(roster)
    }

    pub fn save(&self, path: &Path) -> Result<(), RosterError> {
        let body = toml::to_string(&RosterFile {
            peer: self.peers.clone(),
        })
        .map_err(|e| RosterError::Parse {
            path: path.display().to_string(),
            what: "roster",
            message: e.to_string(),
        })?;
        let text = format!("# Enlace roster: the peers this node trusts.\n{body}");
        fsutil::write_atomic(path, text.as_bytes(), Access::Public).map_err(|source| {
            RosterError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Adds a peer's card after checking it, refusing this node's own card, an id already in the
    /// roster and a certificate another peer already has.
    pub fn add(&mut self, card: Card, own: &Card) -> Result<(), RosterError> {
        if card.id == own.id || card.tls_cert_sha256 == own.tls_cert_sha256 {
            return Err(RosterError::OwnCard(card.id));
        }
        self.insert(card)
    }

    fn insert(&mut self, card: Card) -> Result<(), RosterError> {
        card.verify()?;
        if self.get(&card.id).is_some() {
            return Err(RosterError::DuplicateId(card.id));
        }
        if let Some(existing) = self.by_fingerprint(&card.tls_cert_sha256) {
            return Err(RosterError::DuplicateCertificate {
                new: card.id,
                existing: existing.id.clone(),
            });
        }
        self.peers.push(card);
        Ok(())
    }

    pub fn get(&self, id: &NodeId) -> Option<&Card> {
        self.peers.iter().find(|c| &c.id == id)
    }

    pub fn by_fingerprint(&self, fingerprint: &Fingerprint) -> Option<&Card> {
        self.peers
            .iter()
            .find(|c| &c.tls_cert_sha256 == fingerprint)
    }

    pub fn peers(&self) -> &[Card] {
        &self.peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn node(id: &str, country: Country) -> (NodeConfig, NodeIdentity) {
        let config = NodeConfig {
            node_id: id.parse().unwrap(),
            country,
            roles: vec![NodeRole::Agency],
            listen: "127.0.0.1:0".parse().unwrap(),
            url: format!("https://{id}.example:8443"),
            limits: Limits::default(),
        };
        let identity = NodeIdentity::generate(&config.node_id, 2026).unwrap();
        (config, identity)
    }

    fn card(id: &str, country: Country) -> Card {
        let (config, identity) = node(id, country);
        Card::of_node(&config, &identity)
    }

    fn refusal(card: &Card) -> String {
        card.verify().unwrap_err().to_string()
    }

    #[test]
    fn a_card_round_trips_through_its_file_and_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let c = card("mx-a", Country::MX);
        let path = tmp.path().join("mx-a.card.toml");
        std::fs::write(&path, c.to_toml().unwrap()).unwrap();
        assert_eq!(Card::read(&path).unwrap(), c);
    }

    #[test]
    fn tampered_cards_are_refused_with_the_reason() {
        let good = card("gt-a", Country::GT);
        let other = card("gt-b", Country::GT);

        let mut c = good.clone();
        c.url = "https://evil.example".into();
        assert!(
            refusal(&c).contains("signature does not verify"),
            "{}",
            refusal(&c)
        );

        let mut c = good.clone();
        c.tls_cert = other.tls_cert.clone();
        assert!(
            refusal(&c).contains("not the fingerprint"),
            "{}",
            refusal(&c)
        );

        let mut c = good.clone();
        c.ed25519 = "zz".repeat(32);
        assert!(refusal(&c).contains("ed25519 key"), "{}", refusal(&c));

        let mut c = good.clone();
        c.x25519 = "00".repeat(32);
        assert!(refusal(&c).contains("all zeros"), "{}", refusal(&c));

        let mut c = good.clone();
        c.tls_cert = "not a certificate".into();
        assert!(
            refusal(&c).contains("not a PEM certificate"),
            "{}",
            refusal(&c)
        );

        let mut c = good.clone();
        c.signature = "00".repeat(10);
        assert!(refusal(&c).contains("128 hex digits"), "{}", refusal(&c));

        // Someone else's keys with the certificate's fingerprint kept: the signature fails.
        let mut c = good.clone();
        c.ed25519 = other.ed25519.clone();
        assert!(refusal(&c).contains("signature"), "{}", refusal(&c));
    }

    #[test]
    fn the_roster_refuses_duplicates_and_the_own_card_and_survives_a_reload() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("roster.toml");
        let own = card("us-a", Country::US);
        let mx = card("mx-a", Country::MX);
        let mut roster = Roster::load(&path).unwrap();
        assert!(roster.peers().is_empty());
        roster.add(mx.clone(), &own).unwrap();
        assert!(matches!(
            roster.add(mx.clone(), &own),
            Err(RosterError::DuplicateId(_))
        ));
        assert!(matches!(
            roster.add(own.clone(), &own),
            Err(RosterError::OwnCard(_))
        ));

        // A second card with a fresh id but the same certificate (re-signed by the same key).
        let (mut config, identity) = node("mx-b", Country::MX);
        config.node_id = "mx-b".parse().unwrap();
        let b = Card::of_node(&config, &identity);
        roster.add(b.clone(), &own).unwrap();
        let mut config_c = config.clone();
        config_c.node_id = "mx-c".parse().unwrap();
        let c = Card::of_node(&config_c, &identity);
        assert!(matches!(
            roster.add(c, &own),
            Err(RosterError::DuplicateCertificate { .. })
        ));

        roster.save(&path).unwrap();
        let back = Roster::load(&path).unwrap();
        assert_eq!(back.peers(), &[mx.clone(), b]);
        assert_eq!(
            back.by_fingerprint(&mx.tls_cert_sha256).map(|c| &c.id),
            Some(&mx.id)
        );
    }
}
