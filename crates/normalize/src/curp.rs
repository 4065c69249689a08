//! CURP (Clave Única de Registro de Población, Mexico): structure and check digit.
//!
//! Layout of the 18 characters:
//!
//! | pos   | content                                                          |
//! |-------|------------------------------------------------------------------|
//! | 1–4   | letters from the surnames and given name (2nd is a vowel or X)    |
//! | 5–10  | birth date YYMMDD                                                  |
//! | 11    | sex: H, M, or X (non-binary, since 2022)                          |
//! | 12–13 | state of birth (official two-letter code; NE = born abroad)       |
//! | 14–16 | first inner consonants of the surnames and given name              |
//! | 17    | homoclave: a digit for births up to 1999, a letter from 2000      |
//! | 18    | check digit                                                        |

/// The official character dictionary: a character's value is its index.
const DICTIONARY: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";

/// The official state codes, NE for people born abroad.
pub const STATE_CODES: &[&str] = &[
    "AS", "BC", "BS", "CC", "CL", "CM", "CS", "CH", "DF", "DG", "GT", "GR", "HG", "JC", "MC", "MN",
    "MS", "NT", "NL", "OC", "PL", "QT", "QR", "SP", "SL", "SR", "TC", "TS", "TL", "VZ", "YN", "ZS",
    "NE",
];

fn value(c: char) -> Option<u32> {
    DICTIONARY
        .chars()
        .position(|d| d == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// The check digit (18th character) of a CURP, computed from its first 17 characters; extra
/// characters are ignored. `None` when fewer than 17 characters are given or one is outside the
/// dictionary. Upper case expected.
///
/// Each character's dictionary value is weighted 18 down to 2; the digit is `10 - sum % 10`,
/// with 10 written as 0.
pub fn check_digit(curp17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut count = 0;
    for (i, c) in curp17.chars().take(17).enumerate() {
        let weight = 18 - u32::try_from(i).ok()?;
        sum += value(c)? * weight;
        count += 1;
    }
    if count < 17 {
        return None;
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Why a CURP is not valid; the texts never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CurpProblem {
    #[error("a CURP has 18 characters")]
    Length,
    #[error("the first four characters must be letters, the second a vowel or X")]
    Initials,
    #[error("characters 5 to 10 must be a birth date YYMMDD")]
    DateDigits,
    #[error("the birth date in the CURP does not exist")]
    Date,
    #[error("character 11 must be the sex (H, M or X)")]
    Sex,
    #[error("characters 12 and 13 are not a state code")]
    State,
    #[error("characters 14 to 16 must be consonants")]
    Consonants,
    #[error("character 17 must be a letter or digit")]
    Homoclave,
    #[error("character 18 must be a digit")]
    CheckDigitFormat,
    #[error("check digit does not match")]
    CheckDigit,
}

/// Checks an upper-case, 18-character CURP.
pub fn validate(curp: &str) -> Result<(), CurpProblem> {
    let c: Vec<char> = curp.chars().collect();
    if c.len() != 18 {
        return Err(CurpProblem::Length);
    }
    let letter = |x: char| x.is_ascii_uppercase() || x == 'Ñ';
    if !c[..4].iter().all(|&x| letter(x)) || !matches!(c[1], 'A' | 'E' | 'I' | 'O' | 'U' | 'X') {
        return Err(CurpProblem::Initials);
    }
    if !c[4..10].iter().all(char::is_ascii_digit) {
        return Err(CurpProblem::DateDigits);
    }
    if !matches!(c[10], 'H' | 'M' | 'X') {
        return Err(CurpProblem::Sex);
    }
    let state: String = c[11..13].iter().collect();
    if !STATE_CODES.contains(&state.as_str()) {
        return Err(CurpProblem::State);
    }
    let consonant = |x: char| (letter(x) && !matches!(x, 'A' | 'E' | 'I' | 'O' | 'U')) || x == 'X';
    if !c[13..16].iter().all(|&x| consonant(x)) {
        return Err(CurpProblem::Consonants);
    }
    if !(c[16].is_ascii_digit() || c[16].is_ascii_uppercase()) {
        return Err(CurpProblem::Homoclave);
    }
    if birth_date(curp).is_none() {
        return Err(CurpProblem::Date);
    }
    if !c[17].is_ascii_digit() {
        return Err(CurpProblem::CheckDigitFormat);
    }
    if check_digit(curp) != Some(c[17]) {
        return Err(CurpProblem::CheckDigit);
    }
    Ok(())
}

/// The birth date a CURP encodes; the century comes from the homoclave (digit: 1900s, letter:
/// 2000s). `None` when the characters are not a real date.
pub fn birth_date(curp: &str) -> Option<chrono::NaiveDate> {
    let c: Vec<char> = curp.chars().take(17).collect();
    if c.len() < 17 {
        return None;
    }
    let two = |i: usize| -> Option<u32> { Some(c[i].to_digit(10)? * 10 + c[i + 1].to_digit(10)?) };
    let (yy, mm, dd) = (two(4)?, two(6)?, two(8)?);
    let century = if c[16].is_ascii_digit() { 1900 } else { 2000 };
    chrono::NaiveDate::from_ymd_opt(century + i32::try_from(yy).ok()?, mm, dd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first is the sample CURP of the public format description; the others were completed
    /// with their computed check digits (a 1900s and a 2000s birth, a born-abroad code).
    const VALID: &[&str] = &[
        "HEGG560427MVZRRL04",
        "BADD110313HCMLNS06",
        "GODE561231HDFRRN00",
        "PEXA050101MNEXXXA6",
    ];

    #[test]
    fn valid_samples() {
        for c in VALID {
            assert_eq!(validate(c), Ok(()), "{c}");
        }
    }

    #[test]
    fn check_digit_of_samples() {
        for c in VALID {
            assert_eq!(check_digit(&c[..17]), c.chars().last());
        }
        assert_eq!(check_digit("SHORT"), None);
        assert_eq!(check_digit("HEGG560427MVZRRL?"), None);
    }

    #[test]
    fn problems() {
        let cases = [
            ("HEGG560427MVZRRL0", CurpProblem::Length),
            ("H1GG560427MVZRRL04", CurpProblem::Initials),
            ("HBGG560427MVZRRL04", CurpProblem::Initials),
            ("HEGG56O427MVZRRL04", CurpProblem::DateDigits),
            ("HEGG560427QVZRRL04", CurpProblem::Sex),
            ("HEGG560427MZZRRL04", CurpProblem::State),
            ("HEGG560427MVZARL04", CurpProblem::Consonants),
            ("HEGG560231MVZRRL04", CurpProblem::Date),
            ("HEGG560427MVZRRL0A", CurpProblem::CheckDigitFormat),
            ("HEGG560427MVZRRL05", CurpProblem::CheckDigit),
        ];
        for (c, want) in cases {
            assert_eq!(validate(c), Err(want), "{c}");
        }
    }

    #[test]
    fn century_from_homoclave() {
        assert_eq!(
            birth_date("HEGG560427MVZRRL04"),
            chrono::NaiveDate::from_ymd_opt(1956, 4, 27)
        );
        assert_eq!(
            birth_date("BADD110313HCMLNSA9"),
            chrono::NaiveDate::from_ymd_opt(2011, 3, 13)
        );
    }
}
