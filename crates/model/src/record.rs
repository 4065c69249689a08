//! The normalised record and the binding that builds one from a row of a mapped file.

use rustc_hash::FxHashMap;

use enlace_normalize::name::NameInput;
use enlace_normalize::{
    Address, AddressInput, IdKind, Identifier, PartialDate, PersonName, Sex, fold,
    normalize_address, normalize_identifier, parse_date, parse_name,
};
use serde::{Deserialize, Serialize};

use crate::mapping::{
    CodedSpec, Columns, Mapping, MappingError, NameSpec, OnInvalid, is_country_code, parse_sex_code,
};

/// One record of a source after its mapping and normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's id within its source.
    pub key: String,
    pub name: PersonName,
    pub birth_date: Option<PartialDate>,
    pub sex: Sex,
    /// ISO 3166-1 alpha-2, when the source's value was recognised.
    pub nationality: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub events: Vec<Event>,
    /// Postal address, when the mapping declares one and the row has any part of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Free attributes, by column name.
    pub attributes: Vec<(String, String)>,
    /// Problems that did not stop the record being stored, as "COLUMN: reason".
    pub warnings: Vec<String>,
}

/// An event the record took part in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub id: Option<String>,
    pub date: Option<PartialDate>,
    pub place: Option<String>,
}

/// Why a row could not become a record: the column at fault and the reason. Reasons never
/// repeat the value itself, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{column}`: {reason}")]
pub struct FieldProblem {
    pub column: String,
    pub reason: String,
}

impl FieldProblem {
    fn new(column: &str, reason: impl Into<String>) -> Self {
        FieldProblem {
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// A mapping bound to one file's header: column positions resolved once, applied to every row.
#[derive(Debug, Clone)]
pub struct Binding {
    mapping: Mapping,
    /// Column name → position. Looked up for every field of every row, so a fast hash matters
    /// (SipHash showed up at 3% of an import's time).
    index: FxHashMap<String, usize>,
    header: Vec<String>,
}

impl Binding {
    pub(crate) fn new(mapping: &Mapping, header: &[String]) -> Result<Binding, MappingError> {
        let mut index = FxHashMap::default();
        for (i, name) in header.iter().enumerate() {
            // A header column named twice keeps its first position.
            index.entry(name.trim().to_string()).or_insert(i);
        }
        for col in mapping.columns() {
            if !index.contains_key(col) && !mapping.source.optional_columns.iter().any(|c| c == col)
            {
                return Err(MappingError::MissingColumn {
                    column: col.to_string(),
                    found: header.join(", "),
                });
            }
        }
        Ok(Binding {
            mapping: mapping.clone(),
            index,
            header: header.to_vec(),
        })
    }

    /// The header the binding was made for.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    fn get<'r>(&self, row: &[&'r str], column: &str) -> &'r str {
        self.index
            .get(column)
            .and_then(|&i| row.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    /// Builds a record from one row, `today` bounding dates in the future.
    pub fn apply(
        &self,
        row: &[&str],
        today: chrono_date::NaiveDate,
    ) -> Result<Record, FieldProblem> {
        let m = &self.mapping;
        let mut warnings = Vec::new();
        let key = self.get(row, &m.source.record_id);
        if key.is_empty() {
            return Err(FieldProblem::new(&m.source.record_id, "record id is empty"));
        }
        let (name_column, name_input) = match &m.name {
            NameSpec::GivenSurnames {
                given,
                surname1,
                surname2,
            } => {
                let given_cols = given.names();
                let parts: Vec<&str> = given_cols
                    .iter()
                    .map(|c| self.get(row, c))
                    .filter(|s| !s.is_empty())
                    .collect();
                (
                    given_cols.first().copied().unwrap_or(surname1.as_str()),
                    NameOwned::Parts {
                        given: parts.join(" "),
                        surname1: self.get(row, surname1).to_string(),
                        surname2: surname2
                            .as_deref()
                            .map(|c| self.get(row, c))
                            .unwrap_or("")
                            .to_string(),
                    },
                )
            }
            NameSpec::FirstMiddleLast {
                first,
                middle,
                last,
            } => (
                first.as_str(),
                NameOwned::FirstMiddleLast {
                    first: self.get(row, first).to_string(),
                    middle: middle
                        .as_deref()
                        .map(|c| self.get(row, c))
                        .unwrap_or("")
                        .to_string(),
                    last: self.get(row, last).to_string(),
                },
            ),
            NameSpec::FullName { column, order } => (
                column.as_str(),
                NameOwned::Full {
                    full: self.get(row, column).to_string(),
                    order: *order,
                },
            ),
        };
        let name = parse_name(name_input.as_input())
            .map_err(|e| FieldProblem::new(name_column, e.to_string()))?;

        let birth_date = match &m.birth_date {
            None => None,
            Some(spec) => {
                let text = self.get(row, &spec.column);
                if text.is_empty() {
                    None
                } else {
                    match parse_date(text, spec.order, today) {
                        Ok(d) => Some(d),
                        Err(e) => match spec.invalid {
                            OnInvalid::Reject => {
                                return Err(FieldProblem::new(&spec.column, e.to_string()));
                            }
                            OnInvalid::Blank => {
                                warnings.push(format!("{}: {e}", spec.column));
                                None
                            }
                        },
                    }
                }
            }
        };

        let sex = match &m.sex {
            None => Sex::Unknown,
            Some(spec) => {
                let text = self.get(row, &spec.column);
                match decode_sex(spec, text) {
                    Some(s) => s,
                    None => {
                        warnings.push(format!("{}: unrecognised sex code", spec.column));
                        Sex::Unknown
                    }
                }
            }
        };

        let nationality = match &m.nationality {
            None => None,
            Some(spec) => {
                let text = self.get(row, &spec.column);
                if text.is_empty() {
                    None
                } else {
                    let code = decode_country(spec, text);
                    if code.is_none() {
                        warnings.push(format!("{}: unrecognised country", spec.column));
                    }
                    code
                }
            }
        };

        let mut identifiers = Vec::new();
        for spec in &m.identifiers {
            let text = self.get(row, &spec.column);
            if text.is_empty() {
                continue;
            }
            let row_country = spec
                .country_column
                .as_deref()
                .map(|c| self.get(row, c))
                .filter(|c| !c.is_empty())
                .map(|c| {
                    let upper = c.to_ascii_uppercase();
                    if is_country_code(&upper) {
                        Some(upper)
                    } else {
                        builtin_country(&fold(c)).map(str::to_string)
                    }
                });
            let country = match row_country {
                Some(Some(c)) => Some(c),
                _ => spec
                    .country
                    .clone()
                    .or_else(|| default_issuer(spec.kind, &m.source.country)),
            };
            let id = normalize_identifier(spec.kind, text, country.as_deref());
            if let Some(problem) = &id.problem {
                warnings.push(format!("{}: {problem}", spec.column));
            }
            identifiers.push(id);
        }

        let mut events = Vec::new();
        for spec in &m.events {
            let id = spec
                .id
                .as_deref()
                .map(|c| self.get(row, c))
                .filter(|s| !s.is_empty());
            let place = spec
                .place
                .as_deref()
                .map(|c| self.get(row, c))
                .filter(|s| !s.is_empty());
            let date = match spec.date.as_deref() {
                Some(col) => {
                    let text = self.get(row, col);
                    if text.is_empty() {
                        None
                    } else {
                        Some(
                            parse_date(text, spec.date_order, today)
                                .map_err(|e| FieldProblem::new(col, e.to_string()))?,
                        )
                    }
                }
                None => None,
            };
            if id.is_none() && date.is_none() && place.is_none() {
                continue;
            }
            events.push(Event {
                kind: spec.kind.clone(),
                id: id.map(str::to_string),
                date,
                place: place.map(str::to_string),
            });
        }

        let address = m.address.as_ref().and_then(|spec| {
            let street_cols = spec.street.as_ref().map(Columns::names).unwrap_or_default();
            let street: Vec<&str> = street_cols
                .iter()
                .map(|c| self.get(row, c))
                .filter(|s| !s.is_empty())
                .collect();
            let street = street.join(" ");
            let part = |c: &Option<String>| c.as_deref().map(|c| self.get(row, c)).unwrap_or("");
            let country_text = part(&spec.country);
            let country = if spec.country.is_none() {
                Some(m.source.country.to_ascii_uppercase())
            } else {
                let upper = country_text.to_ascii_uppercase();
                if is_country_code(&upper) {
                    Some(upper)
                } else {
                    builtin_country(&fold(country_text)).map(str::to_string)
                }
            };
            normalize_address(AddressInput {
                street: &street,
                locality: part(&spec.locality),
                postcode: part(&spec.postcode),
                region: part(&spec.region),
                country: country.as_deref(),
            })
        });

        let attributes = match &m.attributes {
            None => Vec::new(),
            Some(spec) => spec
                .columns
                .iter()
                .map(|c| (c.clone(), self.get(row, c).to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        };

        Ok(Record {
            key: key.to_string(),
            name,
            birth_date,
            sex,
            nationality,
            identifiers,
            events,
            address,
            attributes,
            warnings,
        })
    }
}

/// The date type `apply` takes, re-exported so callers need not name chrono themselves.
pub mod chrono_date {
    pub use chrono::NaiveDate;
}

enum NameOwned {
    Parts {
        given: String,
        surname1: String,
        surname2: String,
    },
    FirstMiddleLast {
        first: String,
        middle: String,
        last: String,
    },
    Full {
        full: String,
        order: enlace_normalize::name::FullNameOrder,
    },
}

impl NameOwned {
    fn as_input(&self) -> NameInput<'_> {
        match self {
            NameOwned::Parts {
                given,
                surname1,
                surname2,
            } => NameInput::Parts {
                given,
                surname1,
                surname2,
            },
            NameOwned::FirstMiddleLast {
                first,
                middle,
                last,
            } => NameInput::FirstMiddleLast {
                first,
                middle,
                last,
            },
            NameOwned::Full { full, order } => NameInput::Full {
                full,
                order: *order,
            },
        }
    }
}

/// Passports and plates are issued by the source's country unless said otherwise; other
/// identifiers carry their issuer in their kind (CURP: MX, DPI: GT, A-number: US).
fn default_issuer(kind: IdKind, source_country: &str) -> Option<String> {
    Some(match kind {
        IdKind::Curp => "MX".to_string(),
        IdKind::DpiCui => "GT".to_string(),
        IdKind::ANumber => "US".to_string(),
        _ => source_country.to_string(),
    })
}

fn decode_sex(spec: &CodedSpec, text: &str) -> Option<Sex> {
    if text.is_empty() {
        return Some(Sex::Unknown);
    }
    let folded = fold(text);
    for (from, to) in &spec.codes {
        if fold(from) == folded {
            return parse_sex_code(to);
        }
    }
    // Whole words are unambiguous in both languages; single letters are not ("M" is male in the
    // US and mujer in Mexico), so they must be declared in the mapping.
    match folded.as_str() {
        "male" | "hombre" | "masculino" => Some(Sex::Male),
        "female" | "mujer" | "femenino" => Some(Sex::Female),
        "unknown" | "desconocido" | "no especificado" | "u" | "x" => Some(Sex::Unknown),
        _ => None,
    }
}

fn decode_country(spec: &CodedSpec, text: &str) -> Option<String> {
    let folded = fold(text);
    for (from, to) in &spec.codes {
        if fold(from) == folded {
            return Some(to.clone());
        }
    }
    let upper = text.trim().to_ascii_uppercase();
    if is_country_code(&upper) {
        return Some(upper);
    }
    builtin_country(&folded).map(str::to_string)
}

/// Country names and demonyms, in English and Spanish, for the countries whose nationals the three
/// agencies meet most; anything else must be declared in the mapping's `codes`.
fn builtin_country(folded: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &[&str])] = &[
        ("MX", &["mex", "mexico", "mexicano", "mexicana", "mexican"]),
        (
            "GT",
            &[
                "gtm",
                "guatemala",
                "guatemalteco",
                "guatemalteca",
                "guatemalan",
            ],
        ),
        (
            "US",
            &[
                "usa",
                "united states",
                "estados unidos",
                "estadounidense",
                "american",
            ],
        ),
        (
            "HN",
            &["hnd", "honduras", "hondureno", "hondurena", "honduran"],
        ),
        (
            "SV",
            &[
                "slv",
                "el salvador",
                "salvadoreno",
                "salvadorena",
                "salvadoran",
            ],
        ),
        ("NI", &["nic", "nicaragua", "nicaraguense", "nicaraguan"]),
        ("CR", &["cri", "costa rica", "costarricense", "costa rican"]),
        (
            "PA",
            &["pan", "panama", "panameno", "panamena", "panamanian"],
        ),
        (
            "BZ",
            &[
                "blz", "belize", "belice", "beliceno", "belicena", "belizean",
            ],
        ),
        (
            "CO",
            &["col", "colombia", "colombiano", "colombiana", "colombian"],
        ),
        (
            "EC",
            &["ecu", "ecuador", "ecuatoriano", "ecuatoriana", "ecuadorian"],
        ),
        (
            "VE",
            &["ven", "venezuela", "venezolano", "venezolana", "venezuelan"],
        ),
        ("CU", &["cub", "cuba", "cubano", "cubana", "cuban"]),
        ("HT", &["hti", "haiti", "haitiano", "haitiana", "haitian"]),
        ("PE", &["per", "peru", "peruano", "peruana", "peruvian"]),
        (
            "BR",
            &[
                "bra",
                "brazil",
                "brasil",
                "brasileno",
                "brasilena",
                "brazilian",
            ],
        ),
        (
            "DO",
            &[
                "dom",
                "dominican republic",
                "republica dominicana",
                "dominicano",
                "dominicana",
            ],
        ),
    ];
    TABLE
        .iter()
        .find(|(_, names)| names.contains(&folded))
        .map(|(code, _)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: &str = r#"
[source]
country = "US"
record_id = "ID"
optional_columns = ["MIDDLE_NAME"]
[name]
layout = "first_middle_last"
first = "FIRST_NAME"
middle = "MIDDLE_NAME"
last = "LAST_NAME"
[birth_date]
column = "DOB"
order = "mdy"
[sex]
column = "SEX"
codes = { M = "male", F = "female" }
[nationality]
column = "CIT"
[[identifiers]]
column = "PHONE"
kind = "phone"
"#;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn missing_column_names_it_and_lists_found() {
        let m = Mapping::from_toml(US).unwrap();
        let err = m
            .bind(&header(&[
                "ID",
                "FIRST_NAME",
                "LAST_NAME",
                "DOB",
                "SEX",
                "PHONE",
            ]))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`CIT`"), "{text}");
        assert!(text.contains("columns found: ID, FIRST_NAME"), "{text}");
    }

    #[test]
    fn optional_column_may_be_absent() {
        let m = Mapping::from_toml(US).unwrap();
        let b = m
            .bind(&header(&[
                "ID",
                "FIRST_NAME",
                "LAST_NAME",
                "DOB",
                "SEX",
                "CIT",
                "PHONE",
            ]))
            .unwrap();
        let r = b
            .apply(&["7", "Juan", "Pérez", "", "M", "MEXICO", ""], today())
            .unwrap();
        assert_eq!(r.key, "7");
        assert_eq!(r.sex, Sex::Male);
        assert_eq!(r.nationality.as_deref(), Some("MX"));
    }

    #[test]
    fn empty_record_id_is_a_problem_naming_the_column() {
        let m = Mapping::from_toml(US).unwrap();
        let b = m
            .bind(&header(&[
                "ID",
                "FIRST_NAME",
                "LAST_NAME",
                "DOB",
                "SEX",
                "CIT",
                "PHONE",
            ]))
            .unwrap();
        let err = b
            .apply(&["", "Juan", "Pérez", "", "M", "MX", ""], today())
            .unwrap_err();
        assert_eq!(err.column, "ID");
    }

    #[test]
    fn unknown_sex_code_is_a_warning_not_a_reject() {
        let m = Mapping::from_toml(US).unwrap();
        let b = m
            .bind(&header(&[
                "ID",
                "FIRST_NAME",
                "LAST_NAME",
                "DOB",
                "SEX",
                "CIT",
                "PHONE",
            ]))
            .unwrap();
        let r = b
            .apply(&["1", "Ana", "Ruiz", "", "Q", "", ""], today())
            .unwrap();
        assert_eq!(r.sex, Sex::Unknown);
        assert_eq!(r.warnings, vec!["SEX: unrecognised sex code".to_string()]);
    }

    #[test]
    fn bad_country_code_in_mapping_is_refused() {
        let text = US.replace("country = \"US\"", "country = \"usa\"");
        assert!(Mapping::from_toml(&text).is_err());
    }

    #[test]
    fn unknown_mapping_key_is_refused() {
        let text = format!("{US}\n[extra]\nx = 1\n");
        assert!(matches!(
            Mapping::from_toml(&text),
            Err(MappingError::Parse(_))
        ));
    }

    #[test]
    fn address_columns_are_bound_and_a_country_column_is_read() {
        let text = format!(
            "{US}\n[address]\nstreet = [\"NUM\", \"STREET\"]\npostcode = \"ZIP\"\ncountry = \"ADDR_COUNTRY\"\n"
        );
        let m = Mapping::from_toml(&text).unwrap();
        let cols = [
            "ID",
            "FIRST_NAME",
            "LAST_NAME",
            "DOB",
            "SEX",
            "CIT",
            "PHONE",
            "NUM",
            "STREET",
        ];
        let err = m.bind(&header(&cols)).unwrap_err().to_string();
        assert!(err.contains("`ZIP`"), "{err}");
        let mut cols = cols.to_vec();
        cols.extend(["ZIP", "ADDR_COUNTRY"]);
        let b = m.bind(&header(&cols)).unwrap();
        let row = [
            "1", "Ana", "Ruiz", "", "F", "", "", "12", "Main St", "79901", "México",
        ];
        let a = b.apply(&row, today()).unwrap().address.unwrap();
        assert_eq!(a.street.as_deref(), Some("12 main street"));
        assert_eq!(a.postcode.as_deref(), Some("79901"));
        assert_eq!(a.country.as_deref(), Some("MX"));
    }

    #[test]
    fn builtin_countries_fold_accents() {
        assert_eq!(builtin_country(&fold("MÉXICO")), Some("MX"));
        assert_eq!(builtin_country(&fold("Hondureña")), Some("HN"));
        assert_eq!(builtin_country(&fold("Atlantis")), None);
    }
}

#[cfg(test)]
mod example_mappings {
    use crate::Mapping;

    #[test]
    fn shipped_example_mappings_parse() {
        for text in [
            include_str!("../../../examples/mappings/us-encounters.toml"),
            include_str!("../../../examples/mappings/mx-registros.toml"),
            include_str!("../../../examples/mappings/gt-registros.toml"),
        ] {
            let m = Mapping::from_toml(text).unwrap();
            assert!(m.columns().len() >= 8);
        }
    }
}
