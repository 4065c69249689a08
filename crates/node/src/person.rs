//! One person's details as an officer enters them (the CLI's `enlace query --person`, the web
//! UI's border query), normalised as an import would normalise them and encoded as a
//! one-record encoding file under a project's secret: what the linkage unit's online query
//! takes. The CLI and the server share this code so that both encode a person alike.

use chrono::NaiveDate;
use enlace_encode::{Encoder, EncodingFile};
use enlace_model::Record;
use enlace_normalize::{DateOrder, IdKind, NameInput, Sex};
use serde::Deserialize;

/// One person's details as an officer enters them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub given: String,
    pub surname1: String,
    #[serde(default)]
    pub surname2: String,
    /// ISO 8601 (1990-03-04, 1990-03 or 1990).
    #[serde(default)]
    pub birth_date: Option<String>,
    /// M or F.
    #[serde(default)]
    pub sex: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<PersonId>,
}

/// An identifier of the person.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonId {
    /// `phone`, `curp`, `dpi_cui`, `a_number`, `passport`, `national_id`, `plate`, `account`
    /// or `other`.
    #[schema(value_type = String)]
    pub kind: IdKind,
    pub value: String,
    /// Issuing country, ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
}

/// Why a person's details cannot be used. Names the field, never its value.
#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    #[error("name: {0}")]
    Name(String),
    #[error("birth_date: {0}")]
    BirthDate(String),
    #[error("sex: give M or F")]
    Sex,
    #[error("nationality: give an ISO 3166-1 alpha-2 code (GT, MX, US…)")]
    Nationality,
    #[error("encoding: {0}")]
    Encoding(String),
}

impl Person {
    /// Normalises the details as an import would (the same rules, so that the encoding agrees
    /// with the uploaded records'). `today` bounds the birth date.
    pub fn record(&self, today: NaiveDate) -> Result<Record, PersonError> {
        let name = enlace_normalize::parse_name(NameInput::Parts {
            given: &self.given,
            surname1: &self.surname1,
            surname2: &self.surname2,
        })
        .map_err(|e| PersonError::Name(e.to_string()))?;
        let birth_date = match self.birth_date.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Some(
                enlace_normalize::parse_date(d, DateOrder::Ymd, today)
                    .map_err(|e| PersonError::BirthDate(e.to_string()))?,
            ),
            _ => None,
        };
        let sex = match self.sex.as_deref().map(str::trim) {
            Some("M" | "m") => Sex::Male,
            Some("F" | "f") => Sex::Female,
            None | Some("") => Sex::Unknown,
            Some(_) => return Err(PersonError::Sex),
        };
        let nationality = match self.nationality.as_deref().map(str::trim) {
            Some(n) if n.len() == 2 && n.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(n.to_ascii_uppercase())
            }
            None | Some("") => None,
            Some(_) => return Err(PersonError::Nationality),
        };
        let identifiers = self
            .identifiers
            .iter()
            .filter(|i| !i.value.trim().is_empty())
            .map(|i| {
                enlace_normalize::normalize_identifier(
                    i.kind,
                    &i.value,
                    i.country.as_deref().or(nationality.as_deref()),
                )
            })
            .collect();
        Ok(Record {
            key: "query".into(),
            name,
            birth_date,
            sex,
            nationality,
            identifiers,
            events: Vec::new(),
            address: None,
            attributes: Vec::new(),
            warnings: Vec::new(),
        })
    }
}

/// One record as a one-record encoding file under the project's secret and schema.
pub fn encode_one(encoder: &Encoder, record: &Record) -> Result<Vec<u8>, PersonError> {
    let encoded = encoder.encode_all(std::slice::from_ref(record), |_, _| 0);
    EncodingFile {
        schema: encoder.schema().clone(),
        key_check: encoder.key_check(),
        records: encoded,
    }
    .to_bytes()
    .map_err(|e| PersonError::Encoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    fn person(json: &str) -> Person {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn details_normalise_like_an_import() {
        let p = person(
            r#"{"given":"José Luis","surname1":"García","surname2":"López","birth_date":"1990-03-04",
                "sex":"m","nationality":"gt","identifiers":[{"kind":"passport","value":"A123"},{"kind":"phone","value":" "}]}"#,
        );
        let r = p.record(today()).unwrap();
        assert_eq!(r.nationality.as_deref(), Some("GT"));
        assert_eq!(r.sex, Sex::Male);
        assert!(r.birth_date.is_some());
        // The blank phone is dropped; the passport kept.
        assert_eq!(r.identifiers.len(), 1);
    }

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let bad_sex = person(r#"{"given":"Ana","surname1":"Ruiz","sex":"Zorro"}"#);
        let e = bad_sex.record(today()).unwrap_err().to_string();
        assert!(e.starts_with("sex:") && !e.contains("Zorro"), "{e}");
        let bad_nat = person(r#"{"given":"Ana","surname1":"Ruiz","nationality":"Guatemala"}"#);
        let e = bad_nat.record(today()).unwrap_err().to_string();
        assert!(
            e.starts_with("nationality:") && !e.contains("Guatemala"),
            "{e}"
        );
        let bad_date = person(r#"{"given":"Ana","surname1":"Ruiz","birth_date":"31/31/31"}"#);
        let e = bad_date.record(today()).unwrap_err().to_string();
        assert!(
            e.starts_with("birth_date:") && !e.contains("31/31/31"),
            "{e}"
        );
    }
}
