//! Declared field mappings (TOML): which column holds which field, in what format. A mapping is
//! checked when it is loaded ([`Mapping::from_toml`]) and bound to a file's header
//! ([`Mapping::bind`]) before any row is read, so a missing column fails at once.
//!
//! The format is documented with worked examples in `docs/mapping.md`.

use std::collections::BTreeMap;

use enlace_normalize::name::FullNameOrder;
use enlace_normalize::{DateOrder, IdKind, Sex};
use serde::{Deserialize, Serialize};

use crate::record::Binding;

/// A declared mapping for one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub source: SourceSpec,
    pub name: NameSpec,
    #[serde(default)]
    pub birth_date: Option<DateSpec>,
    #[serde(default)]
    pub sex: Option<CodedSpec>,
    #[serde(default)]
    pub nationality: Option<CodedSpec>,
    #[serde(default)]
    pub identifiers: Vec<IdentifierSpec>,
    #[serde(default)]
    pub events: Vec<EventSpec>,
    #[serde(default)]
    pub address: Option<AddressSpec>,
    #[serde(default)]
    pub attributes: Option<AttributesSpec>,
}

/// The file and the source it feeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The source's name in the store (the CLI's `--source` overrides it).
    #[serde(default)]
    pub name: Option<String>,
    /// The agency that holds the records, e.g. "US-CBP".
    #[serde(default)]
    pub agency: Option<String>,
    /// The source's country (ISO 3166-1 alpha-2): the default for phones and issuers.
    pub country: String,
    /// File format; inferred from the file's extension when absent.
    #[serde(default)]
    pub format: Option<FileFormat>,
    /// Text encoding of CSV and JSONL files.
    #[serde(default)]
    pub encoding: TextEncoding,
    /// CSV field delimiter (one byte); "auto" looks at the header line.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// The column holding the record's id, unique within the source.
    pub record_id: String,
    /// Columns that may be absent from a file; every other column named here must be present.
    #[serde(default)]
    pub optional_columns: Vec<String>,
}

fn default_delimiter() -> String {
    ",".to_string()
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Jsonl,
    Parquet,
}

/// Text encodings of CSV and JSONL input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-8 unless the start of the file is not valid UTF-8, then Windows-1252.
    #[default]
    Auto,
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// Windows-1252, a superset of Latin-1 for printable text; "latin1" is accepted as a name.
    #[serde(
        rename = "windows-1252",
        alias = "latin1",
        alias = "latin-1",
        alias = "iso-8859-1",
        alias = "cp1252"
    )]
    Windows1252,
}

/// Where the name is and how it is laid out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "layout", rename_all = "snake_case", deny_unknown_fields)]
pub enum NameSpec {
    /// Given name columns (joined with spaces) and one or two surname columns.
    GivenSurnames {
        given: Columns,
        surname1: String,
        #[serde(default)]
        surname2: Option<String>,
    },
    /// US style: FIRST, MIDDLE, LAST where LAST may hold one or two surnames.
    FirstMiddleLast {
        first: String,
        #[serde(default)]
        middle: Option<String>,
        last: String,
    },
    /// One column with the whole name.
    FullName {
        column: String,
        #[serde(default)]
        order: FullNameOrder,
    },
}

/// One column name, or several joined in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Columns {
    One(String),
    Many(Vec<String>),
}

impl Columns {
    pub fn names(&self) -> Vec<&str> {
        match self {
            Columns::One(c) => vec![c.as_str()],
            Columns::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

/// What to do with a value that does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnInvalid {
    /// Reject the row, with the field and the reason.
    #[default]
    Reject,
    /// Store the row without the value and note a warning on the record.
    Blank,
}

/// A date column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateSpec {
    pub column: String,
    #[serde(default)]
    pub order: DateOrder,
    #[serde(default)]
    pub invalid: OnInvalid,
}

/// A coded column (sex, nationality): source values mapped to the model's codes. Matching of
/// source values ignores case and accents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodedSpec {
    pub column: String,
    #[serde(default)]
    pub codes: BTreeMap<String, String>,
}

/// An identifier column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifierSpec {
    pub column: String,
    pub kind: IdKind,
    /// Issuing or dialling country (alpha-2); the source's country when absent.
    #[serde(default)]
    pub country: Option<String>,
    /// A column holding the issuing country per row (passports, plates).
    #[serde(default)]
    pub country_column: Option<String>,
}

/// An event the record took part in (encounter, crossing, case, transfer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// The event's kind, e.g. "encounter", "crossing", "case", "transfer".
    pub kind: String,
    /// Column with the event's id; records sharing it took part in the same event.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub date_order: DateOrder,
    #[serde(default)]
    pub place: Option<String>,
}

/// A postal address: which columns hold its parts. Every part is optional; a street written
/// across several columns (number, street, second line) is joined in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressSpec {
    #[serde(default)]
    pub street: Option<Columns>,
    #[serde(default)]
    pub locality: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// A column with the country (alpha-2 or a name); the source's country when absent.
    #[serde(default)]
    pub country: Option<String>,
}

impl AddressSpec {
    fn columns(&self) -> Vec<&str> {
        let mut cols: Vec<&str> = self.street.as_ref().map(Columns::names).unwrap_or_default();
        cols.extend(
            [&self.locality, &self.postcode, &self.region, &self.country]
                .into_iter()
                .filter_map(|c| c.as_deref()),
        );
        cols
    }
}

/// Free attributes kept with the record, by column name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributesSpec {
    pub columns: Vec<String>,
}

/// A mapping that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping is not valid TOML or does not fit the format: {0}")]
    Parse(String),
    #[error("mapping: {0}")]
    Invalid(String),
    #[error("required column `{column}` is missing; columns found: {found}")]
    MissingColumn { column: String, found: String },
}

impl Mapping {
    /// Parses and checks a mapping.
    pub fn from_toml(text: &str) -> Result<Mapping, MappingError> {
        let mapping: Mapping =
            toml::from_str(text).map_err(|e| MappingError::Parse(e.to_string()))?;
        mapping.check()?;
        Ok(mapping)
    }

    fn check(&self) -> Result<(), MappingError> {
        if !is_country_code(&self.source.country) {
            return Err(MappingError::Invalid(format!(
                "source.country `{}` is not an ISO 3166-1 alpha-2 code",
                self.source.country
            )));
        }
        if self.source.delimiter != "auto" && self.source.delimiter.len() != 1 {
            return Err(MappingError::Invalid(
                "source.delimiter must be one byte (\",\", \";\", \"|\", \"\\t\") or \"auto\""
                    .into(),
            ));
        }
        for id in &self.identifiers {
            if let Some(c) = &id.country
                && !is_country_code(c)
            {
                return Err(MappingError::Invalid(format!(
                    "identifier `{}`: country `{c}` is not an ISO 3166-1 alpha-2 code",
                    id.column
                )));
            }
        }
        if let Some(sex) = &self.sex {
            for (from, to) in &sex.codes {
                if parse_sex_code(to).is_none() {
                    return Err(MappingError::Invalid(format!(
                        "sex code `{from}` maps to `{to}`; use male, female or unknown"
                    )));
                }
            }
        }
        if let Some(nat) = &self.nationality {
            for (from, to) in &nat.codes {
                if !is_country_code(to) {
                    return Err(MappingError::Invalid(format!(
                        "nationality code `{from}` maps to `{to}`, not an ISO 3166-1 alpha-2 code"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Every column the mapping reads, in a stable order, without repeats.
    pub fn columns(&self) -> Vec<&str> {
        let mut cols: Vec<&str> = vec![self.source.record_id.as_str()];
        match &self.name {
            NameSpec::GivenSurnames {
                given,
                surname1,
                surname2,
            } => {
                cols.extend(given.names());
                cols.push(surname1);
                cols.extend(surname2.as_deref());
            }
            NameSpec::FirstMiddleLast {
                first,
                middle,
                last,
            } => {
                cols.push(first);
                cols.extend(middle.as_deref());
                cols.push(last);
            }
            NameSpec::FullName { column, .. } => cols.push(column),
        }
        cols.extend(self.birth_date.as_ref().map(|d| d.column.as_str()));
        cols.extend(self.sex.as_ref().map(|d| d.column.as_str()));
        cols.extend(self.nationality.as_ref().map(|d| d.column.as_str()));
        for id in &self.identifiers {
            cols.push(&id.column);
            cols.extend(id.country_column.as_deref());
        }
        for ev in &self.events {
            cols.extend(ev.id.as_deref());
            cols.extend(ev.date.as_deref());
            cols.extend(ev.place.as_deref());
        }
        if let Some(address) = &self.address {
            cols.extend(address.columns());
        }
        if let Some(attrs) = &self.attributes {
            cols.extend(attrs.columns.iter().map(String::as_str));
        }
        let mut seen = std::collections::HashSet::new();
        cols.retain(|c| seen.insert(*c));
        cols
    }

    /// Binds the mapping to a file's header. Fails on the first required column that is missing.
    pub fn bind(&self, header: &[String]) -> Result<Binding, MappingError> {
        Binding::new(self, header)
    }
}

/// Whether `s` looks like an ISO 3166-1 alpha-2 code (two ASCII capitals).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Reads the model's sex names.
pub fn parse_sex_code(s: &str) -> Option<Sex> {
    match s.trim().to_ascii_lowercase().as_str() {
        "male" | "m" => Some(Sex::Male),
        "female" | "f" => Some(Sex::Female),
        "unknown" | "u" | "x" => Some(Sex::Unknown),
        _ => None,
    }
}
