//! The fixed vocabularies a policy and a follow-up request speak: offence categories, the fields
//! that can be released, and the conditions a request can carry.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
            /// The accepted names, for error messages.
            pub fn names() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// The offence category a follow-up request states (a fixed list, as in the exchange
    /// agreements: a request outside it is refused).
    Offence {
        SmugglingOfMigrants = "smuggling_of_migrants",
        TraffickingInPersons = "trafficking_in_persons",
        DocumentFraud = "document_fraud",
        MoneyLaundering = "money_laundering",
        MissingPerson = "missing_person",
        FamilyTracing = "family_tracing",
        Kidnapping = "kidnapping",
    }
}

vocabulary! {
    /// A field of a matched record that can be released.
    ReleaseField {
        GivenNames = "given_names",
        Surnames = "surnames",
        BirthDate = "birth_date",
        Sex = "sex",
        Nationality = "nationality",
        DocumentNumbers = "document_numbers",
        Phones = "phones",
        Address = "address",
        Encounters = "encounters",
        RelativeContact = "relative_contact",
        CaseReference = "case_reference",
    }
}

vocabulary! {
    /// A condition a request carries, which some rules require.
    Flag {
        CourtOrder = "court_order",
        SubjectConsent = "subject_consent",
        Urgent = "urgent",
    }
}
