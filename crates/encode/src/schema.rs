//! The encoding schema: which fields are encoded and how. Two encodings can be compared only if
//! they were made under the same schema (same fingerprint) and the same project secret.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest filter accepted, in bits: positions are drawn as 16-bit values.
pub const MAX_FILTER_BITS: u32 = 65_536;
/// Most hash positions per token for one filter.
pub const MAX_K: u16 = 128;
/// Most field filters, and most blocking keys, in one schema (each has a bit in a `u32` mask).
pub const MAX_FIELDS: usize = 32;
/// Most identifier slots per record.
pub const MAX_IDENTIFIERS: u8 = 32;
/// Most event-id token slots a record may carry.
pub const MAX_EVENT_SLOTS: u8 = 16;

/// A value of a normalised record that can be encoded into a Bloom filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// All given names, folded, joined by a space; q-grams.
    Given,
    /// The first given name alone; q-grams.
    GivenFirst,
    /// Alternate given names (nickname expansions, abbreviations); q-grams of each.
    GivenAlternates,
    /// First (paternal) surname; q-grams.
    Surname1,
    /// Second (maternal) surname; q-grams.
    Surname2,
    /// Married surname; q-grams.
    MarriedSurname,
    /// Both surnames joined by a space; q-grams. Robust to sources that split surnames
    /// differently.
    Surnames,
    /// Every given name and surname, each padded on its own; q-grams. Blind to which field a
    /// name was written in, so it recognises names swapped between fields.
    Names,
    /// The Spanish phonetic keys of the first given name and the two surnames, each one whole
    /// token tagged with its role.
    Phonetic,
    /// Birth date as tokens: year, month, day, year-month, month-day (both readings when the
    /// day/month order was ambiguous; year only when day and month are placeholders).
    BirthDate,
    /// Sex as one token; unknown sex encodes as absent.
    Sex,
    /// Nationality (ISO alpha-2) as one token.
    Nationality,
    /// The record's event dates (encounters, registrations), each as the tokens of the
    /// overlapping windows around it: three 30-day windows and five 120-day ones. Two records
    /// share tokens of both kinds when their nearest events are within about two months (one
    /// journey), of the long kind only when they are within about a year. Dates are never
    /// tokens themselves.
    EventDates,
}

impl Field {
    /// The stable name used in key derivation, the schema JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Given => "given",
            Field::GivenFirst => "given_first",
            Field::GivenAlternates => "given_alternates",
            Field::Surname1 => "surname1",
            Field::Surname2 => "surname2",
            Field::MarriedSurname => "married_surname",
            Field::Surnames => "surnames",
            Field::Names => "names",
            Field::Phonetic => "phonetic",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Nationality => "nationality",
            Field::EventDates => "event_dates",
        }
    }
}

/// One field filter of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub field: Field,
    /// Hash positions set per token.
    pub k: u16,
}

/// A field's share of the record-level CLK: its tokens set `k` positions each, so `k` weighs the
/// field against the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClkField {
    pub field: Field,
    pub k: u16,
}

/// The record-level cryptographic long-term key: all listed fields in one filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClkSpec {
    pub bits: u32,
    pub fields: Vec<ClkField>,
}

/// A blocking key: a keyed token computed by the data holder, equal for two records only when
/// the underlying values are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockingKey {
    /// Phonetic key of surname 1 and the birth year.
    Surname1PhoneticBirthYear,
    /// Phonetic key of surname 2 and the birth year.
    Surname2PhoneticBirthYear,
    /// Phonetic key of the first given name and the full birth date (not for placeholders).
    GivenPhoneticBirthDate,
    /// Phonetic keys of the first given name and surname 1.
    GivenSurname1Phonetic,
    /// Sex and the full birth date (not for placeholders).
    SexBirthDate,
}

impl BlockingKey {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockingKey::Surname1PhoneticBirthYear => "surname1_phonetic_birth_year",
            BlockingKey::Surname2PhoneticBirthYear => "surname2_phonetic_birth_year",
            BlockingKey::GivenPhoneticBirthDate => "given_phonetic_birth_date",
            BlockingKey::GivenSurname1Phonetic => "given_surname1_phonetic",
            BlockingKey::SexBirthDate => "sex_birth_date",
        }
    }
}

/// What salts the name filters (attribute salting): records whose salt values differ get
/// unrelated filters, which defeats pattern-mining across the whole population at the cost of
/// missing pairs whose salt attribute disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaltSource {
    BirthYear,
}

/// Hardening against attacks on the published filters. `Default` (and a schema JSON without a
/// `hardening` object) is no hardening; [`Schema::default_with_id`] uses
/// [`Hardening::recommended`], chosen by the measurements in docs/privacy.md.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardening {
    /// Attribute salting of every filter (and CLK part) except those of the birth date, sex and
    /// nationality.
    #[serde(default)]
    pub salt: Option<SaltSource>,
    /// Random bit flips (BLIP), in parts per million per bit; 0 is off. Flips are drawn from a
    /// keyed generator seeded by the record (its key and all its filters) and the filter, so
    /// two records with the same value get independent noise, while encoding stays
    /// deterministic and re-encoding a record cannot average its noise away.
    #[serde(default)]
    pub flip_ppm: u32,
}

impl Hardening {
    /// No hardening: equal values give equal filters across the whole file.
    pub const NONE: Hardening = Hardening {
        salt: None,
        flip_ppm: 0,
    };

    /// The default: salting by birth year, no bit flips. Against the frequency alignment attack
    /// of docs/privacy.md, salting stops alignment over the whole file and leaves what the
    /// year-keyed blocking tokens leak anyway, for the loss of name similarity between records
    /// whose birth years differ; bit flips cost more recall than they cost that attack.
    pub fn recommended() -> Hardening {
        Hardening {
            salt: Some(SaltSource::BirthYear),
            flip_ppm: 0,
        }
    }
}

/// The full description of an encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// A project-chosen name, e.g. "mx-us-gt-2026".
    pub id: String,
    pub version: u32,
    /// Length of every field filter, in bits: a multiple of 64.
    pub filter_bits: u32,
    /// q-gram length.
    pub q: u8,
    /// Pad strings with q−1 marks at each end so first and last letters weigh as much as the
    /// middle ones.
    pub padded: bool,
    pub fields: Vec<FieldSpec>,
    pub clk: Option<ClkSpec>,
    pub blocking: Vec<BlockingKey>,
    /// Identifier slots per record; identifiers beyond this are dropped.
    pub max_identifiers: u8,
    /// Event-id token slots per record (0: no event ids leave the node). A token is a keyed
    /// hash of one of the record's events (kind and id), so the linkage unit sees which
    /// records of one file were met in one event, never the event; see docs/privacy.md.
    #[serde(default)]
    pub event_slots: u8,
    #[serde(default)]
    pub hardening: Hardening,
}

/// A schema that cannot be used, or two schemas that do not agree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("schema `{id}`: {reason}")]
    Invalid { id: String, reason: String },
    #[error(
        "schema `{}` version {} (fingerprint {}) is not compatible with schema `{}` version {} \
         (fingerprint {}): {}",
        .0.left_id, .0.left_version, .0.left_fp, .0.right_id, .0.right_version, .0.right_fp, .0.difference
    )]
    Incompatible(Box<Incompatibility>),
}

/// Two schemas that do not agree: both named, and the first difference found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub left_id: String,
    pub left_version: u32,
    pub left_fp: String,
    pub right_id: String,
    pub right_version: u32,
    pub right_fp: String,
    pub difference: String,
}

/// A schema's fingerprint: SHA-256 of its canonical byte encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 bytes as hex, for messages.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl Schema {
    /// The default schema: 1024-bit bigram filters (padded) for given names and both surnames,
    /// token filters for phonetic keys, birth date and sex, a 1024-bit CLK, three blocking keys,
    /// eight identifier slots, and the [recommended](Hardening::recommended) hardening.
    pub fn default_with_id(id: &str) -> Schema {
        let spec = |field, k| FieldSpec { field, k };
        let clk = |field, k| ClkField { field, k };
        Schema {
            id: id.to_string(),
            version: 1,
            filter_bits: 1024,
            q: 2,
            padded: true,
            fields: vec![
                spec(Field::Given, 20),
                spec(Field::GivenAlternates, 20),
                spec(Field::Names, 20),
                spec(Field::Surname1, 20),
                spec(Field::Surname2, 20),
                spec(Field::Phonetic, 10),
                spec(Field::BirthDate, 10),
                spec(Field::Sex, 10),
                spec(Field::EventDates, 10),
            ],
            clk: Some(ClkSpec {
                bits: 1024,
                fields: vec![
                    clk(Field::Given, 10),
                    clk(Field::Surname1, 10),
                    clk(Field::Surname2, 8),
                    clk(Field::BirthDate, 6),
                    clk(Field::Sex, 4),
                ],
            }),
            blocking: vec![
                BlockingKey::Surname1PhoneticBirthYear,
                BlockingKey::GivenPhoneticBirthDate,
                BlockingKey::Surname2PhoneticBirthYear,
            ],
            max_identifiers: 8,
            event_slots: 4,
            hardening: Hardening::recommended(),
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> SchemaError {
        SchemaError::Invalid {
            id: self.id.clone(),
            reason: reason.into(),
        }
    }

    /// Checks every parameter is within the supported ranges.
    pub fn validate(&self) -> Result<(), SchemaError> {
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(
                self.invalid("id must be 1 to 64 printable ASCII characters without spaces")
            );
        }
        check_bits(self.filter_bits).map_err(|r| self.invalid(format!("filter_bits: {r}")))?;
        if !(1..=5).contains(&self.q) {
            return Err(self.invalid(format!("q must be 1 to 5, got {}", self.q)));
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(self.invalid(format!("at most {MAX_FIELDS} field filters")));
        }
        if self.fields.is_empty() && self.clk.is_none() {
            return Err(self.invalid("no field filters and no CLK: nothing to compare"));
        }
        for (i, f) in self.fields.iter().enumerate() {
            check_k(f.k).map_err(|r| self.invalid(format!("field {}: {r}", f.field.as_str())))?;
            if self.fields[..i].iter().any(|g| g.field == f.field) {
                return Err(self.invalid(format!("field {} listed twice", f.field.as_str())));
            }
        }
        if let Some(clk) = &self.clk {
            check_bits(clk.bits).map_err(|r| self.invalid(format!("clk bits: {r}")))?;
            if clk.fields.is_empty() {
                return Err(self.invalid("clk lists no fields"));
            }
            for (i, f) in clk.fields.iter().enumerate() {
                check_k(f.k)
                    .map_err(|r| self.invalid(format!("clk field {}: {r}", f.field.as_str())))?;
                if clk.fields[..i].iter().any(|g| g.field == f.field) {
                    return Err(
                        self.invalid(format!("clk field {} listed twice", f.field.as_str()))
                    );
                }
                let k_field = self
                    .fields
                    .iter()
                    .find(|g| g.field == f.field)
                    .map_or(0, |g| g.k);
                if k_field + f.k > MAX_K {
                    return Err(self.invalid(format!(
                        "field {}: field k plus clk k exceeds {MAX_K}",
                        f.field.as_str()
                    )));
                }
            }
        }
        if self.blocking.len() > MAX_FIELDS {
            return Err(self.invalid(format!("at most {MAX_FIELDS} blocking keys")));
        }
        for (i, b) in self.blocking.iter().enumerate() {
            if self.blocking[..i].contains(b) {
                return Err(self.invalid(format!("blocking key {} listed twice", b.as_str())));
            }
        }
        if self.max_identifiers > MAX_IDENTIFIERS {
            return Err(self.invalid(format!("max_identifiers above {MAX_IDENTIFIERS}")));
        }
        if self.event_slots > MAX_EVENT_SLOTS {
            return Err(self.invalid(format!("event_slots above {MAX_EVENT_SLOTS}")));
        }
        if self.hardening.flip_ppm >= 500_000 {
            return Err(self
                .invalid("flip_ppm must be below 500000 (a flip rate of 1/2 erases the filter)"));
        }
        Ok(())
    }

    /// Canonical bytes of the schema: a fixed, hand-written layout (not JSON) so the fingerprint
    /// does not depend on serialiser details.
    fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = b"enlace-schema\0v1\0".to_vec();
        let put_str = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        put_str(&mut out, &self.id);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.filter_bits.to_le_bytes());
        out.push(self.q);
        out.push(u8::from(self.padded));
        out.extend_from_slice(&(self.fields.len() as u32).to_le_bytes());
        for f in &self.fields {
            put_str(&mut out, f.field.as_str());
            out.extend_from_slice(&f.k.to_le_bytes());
        }
        match &self.clk {
            None => out.push(0),
            Some(clk) => {
                out.push(1);
                out.extend_from_slice(&clk.bits.to_le_bytes());
                out.extend_from_slice(&(clk.fields.len() as u32).to_le_bytes());
                for f in &clk.fields {
                    put_str(&mut out, f.field.as_str());
                    out.extend_from_slice(&f.k.to_le_bytes());
                }
            }
        }
        out.extend_from_slice(&(self.blocking.len() as u32).to_le_bytes());
        for b in &self.blocking {
            put_str(&mut out, b.as_str());
        }
        out.push(self.max_identifiers);
        match self.hardening.salt {
            None => put_str(&mut out, ""),
            Some(SaltSource::BirthYear) => put_str(&mut out, "birth_year"),
        }
        out.extend_from_slice(&self.hardening.flip_ppm.to_le_bytes());
        // Appended only when set, so schemas written before event slots existed keep their
        // fingerprints (and their keys, which are derived under the fingerprint).
        if self.event_slots > 0 {
            put_str(&mut out, "event_slots");
            out.push(self.event_slots);
        }
        out
    }

    /// The schema's stable fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(Sha256::digest(self.canonical_bytes()).into())
    }

    /// Refuses `other` unless it describes the same encoding, naming both schemas and the first
    /// difference found.
    pub fn check_compatible(&self, other: &Schema) -> Result<(), SchemaError> {
        let (a, b) = (self.fingerprint(), other.fingerprint());
        if a == b {
            return Ok(());
        }
        Err(SchemaError::Incompatible(Box::new(Incompatibility {
            left_id: self.id.clone(),
            left_version: self.version,
            left_fp: a.short(),
            right_id: other.id.clone(),
            right_version: other.version,
            right_fp: b.short(),
            difference: self.first_difference(other),
        })))
    }

    fn first_difference(&self, other: &Schema) -> String {
        if self.id != other.id {
            return format!("id `{}` vs `{}`", self.id, other.id);
        }
        if self.version != other.version {
            return format!("version {} vs {}", self.version, other.version);
        }
        if self.filter_bits != other.filter_bits {
            return format!("filter_bits {} vs {}", self.filter_bits, other.filter_bits);
        }
        if (self.q, self.padded) != (other.q, other.padded) {
            return format!(
                "q {} padded {} vs q {} padded {}",
                self.q, self.padded, other.q, other.padded
            );
        }
        if self.fields != other.fields {
            return "field filters differ".to_string();
        }
        if self.clk != other.clk {
            return "CLK definitions differ".to_string();
        }
        if self.blocking != other.blocking {
            return "blocking keys differ".to_string();
        }
        if self.max_identifiers != other.max_identifiers {
            return format!(
                "max_identifiers {} vs {}",
                self.max_identifiers, other.max_identifiers
            );
        }
        if self.event_slots != other.event_slots {
            return format!("event_slots {} vs {}", self.event_slots, other.event_slots);
        }
        "hardening differs".to_string()
    }

    /// 64-bit words per field filter.
    pub fn filter_words(&self) -> usize {
        self.filter_bits as usize / 64
    }

    /// 64-bit words of the CLK (0 without one).
    pub fn clk_words(&self) -> usize {
        self.clk.as_ref().map_or(0, |c| c.bits as usize / 64)
    }

    /// Position of `field` among the schema's field filters.
    pub fn field_index(&self, field: Field) -> Option<usize> {
        self.fields.iter().position(|f| f.field == field)
    }

    /// The schema as JSON (the form stored in encoding files).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A schema from JSON, validated.
    pub fn from_json(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = serde_json::from_str(text).map_err(|e| SchemaError::Invalid {
            id: "?".to_string(),
            reason: format!("not a schema: {e}"),
        })?;
        schema.validate()?;
        Ok(schema)
    }
}

fn check_bits(bits: u32) -> Result<(), String> {
    if bits == 0 || !bits.is_multiple_of(64) || bits > MAX_FILTER_BITS {
        Err(format!(
            "must be a multiple of 64 from 64 to {MAX_FILTER_BITS}, got {bits}"
        ))
    } else {
        Ok(())
    }
}

fn check_k(k: u16) -> Result<(), String> {
    if k == 0 || k > MAX_K {
        Err(format!("k must be 1 to {MAX_K}, got {k}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_is_valid_and_round_trips_through_json() {
        let s = Schema::default_with_id("test");
        s.validate().unwrap();
        let back = Schema::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.fingerprint(), s.fingerprint());
    }

    #[test]
    fn fingerprint_changes_with_any_parameter() {
        let s = Schema::default_with_id("test");
        let mut t = s.clone();
        t.fields[0].k += 1;
        assert_ne!(s.fingerprint(), t.fingerprint());
        let mut u = s.clone();
        u.hardening.flip_ppm = 10;
        assert_ne!(s.fingerprint(), u.fingerprint());
        let mut v = s.clone();
        v.event_slots = 0;
        assert_ne!(s.fingerprint(), v.fingerprint());
        assert_eq!(s.first_difference(&v), "event_slots 4 vs 0");
    }

    #[test]
    fn a_schema_without_event_slots_reads_as_before_them() {
        // A schema JSON written before event slots existed: no `event_slots` key. It reads as
        // 0 slots and its fingerprint (hence its keys) is what it was: the canonical bytes
        // gain the slots only when there are some.
        let mut s = Schema::default_with_id("old");
        s.event_slots = 0;
        let mut json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        json.as_object_mut().unwrap().remove("event_slots");
        let back = Schema::from_json(&json.to_string()).unwrap();
        assert_eq!(back.event_slots, 0);
        assert!(
            !back
                .canonical_bytes()
                .windows(11)
                .any(|w| w == b"event_slots")
        );
        let mut many = Schema::default_with_id("t");
        many.event_slots = MAX_EVENT_SLOTS + 1;
        assert!(many.validate().is_err());
    }

    #[test]
    fn incompatible_schemas_are_named_in_the_message() {
        let a = Schema::default_with_id("mx-us");
        let mut b = Schema::default_with_id("mx-us");
        b.version = 2;
        let msg = a.check_compatible(&b).unwrap_err().to_string();
        assert!(msg.contains("`mx-us` version 1"), "{msg}");
        assert!(msg.contains("`mx-us` version 2"), "{msg}");
        assert!(msg.contains("version 1 vs 2"), "{msg}");
        a.check_compatible(&a.clone()).unwrap();
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let mut s = Schema::default_with_id("t");
        s.filter_bits = 1000;
        assert!(s.validate().is_err());
        let mut s = Schema::default_with_id("t");
        s.fields.push(FieldSpec {
            field: Field::Given,
            k: 3,
        });
        assert!(s.validate().is_err());
        let mut s = Schema::default_with_id("t");
        s.q = 0;
        assert!(s.validate().is_err());
        assert!(Schema::from_json("{\"id\":1}").is_err());
    }
}
