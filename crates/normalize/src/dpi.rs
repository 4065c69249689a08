//! DPI/CUI (Documento Personal de Identificación / Código Único de Identificación, Guatemala).
//!
//! 13 digits: an 8-digit serial, a verifier digit, the department of registration (01–22) and
//! the municipality within it (01 up to the department's number of municipalities). The verifier
//! is the serial's digits weighted 2 to 9, summed, modulo 11. A serial whose sum leaves 10 has no
//! verifier digit and is never issued.

/// Municipalities per department, 01 Guatemala to 22 Jutiapa. Counts include the municipalities
/// created in 2015 (Sipacate in Escuintla, Petatán in Huehuetenango): rejecting a real DPI costs
/// more than accepting an unused code.
pub const MUNICIPALITIES: [u8; 22] = [
    17, 8, 16, 16, 14, 14, 19, 8, 24, 21, 9, 30, 33, 21, 8, 17, 14, 5, 11, 11, 7, 17,
];

/// The verifier (9th digit) of a DPI/CUI from its 8-digit serial; extra characters are ignored.
/// `None` when the first 8 characters are not all digits, or when the serial's sum leaves 10
/// (such serials are not issued: pick another).
pub fn check_digit(serial: &str) -> Option<char> {
    let b = serial.as_bytes();
    if b.len() < 8 || !b[..8].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b[..8]
        .iter()
        .zip(2u32..)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let m = sum % 11;
    if m == 10 {
        None
    } else {
        char::from_digit(m, 10)
    }
}

/// Why a DPI/CUI is not valid; the texts never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DpiProblem {
    #[error("a DPI/CUI has 13 digits")]
    Length,
    #[error("unknown department code")]
    Department,
    #[error("unknown municipality code for the department")]
    Municipality,
    #[error("verifier digit does not match")]
    CheckDigit,
}

/// Checks a DPI/CUI given as 13 digits.
pub fn validate(cui: &str) -> Result<(), DpiProblem> {
    let b = cui.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return Err(DpiProblem::Length);
    }
    let two = |i: usize| usize::from((b[i] - b'0') * 10 + (b[i + 1] - b'0'));
    let (dept, muni) = (two(9), two(11));
    let Some(&count) = dept.checked_sub(1).and_then(|d| MUNICIPALITIES.get(d)) else {
        return Err(DpiProblem::Department);
    };
    if muni == 0 || muni > usize::from(count) {
        return Err(DpiProblem::Municipality);
    }
    if check_digit(cui) != Some(char::from(b[8])) {
        return Err(DpiProblem::CheckDigit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        // 1·2 + 2·3 + 3·4 + 4·5 + 5·6 + 6·7 + 7·8 + 8·9 = 240 = 21·11 + 9.
        assert_eq!(check_digit("12345678"), Some('9'));
        assert_eq!(validate("1234567890101"), Ok(()));
        // A number seen in public validator documentation, whose verifier does not match.
        assert_eq!(validate("5486270650101"), Err(DpiProblem::CheckDigit));
    }

    #[test]
    fn problems() {
        let cases = [
            ("123456789010", DpiProblem::Length),
            ("123456789010A", DpiProblem::Length),
            ("1234567890001", DpiProblem::Department),
            ("1234567892301", DpiProblem::Department),
            ("1234567890100", DpiProblem::Municipality),
            ("1234567890118", DpiProblem::Municipality),
            ("1234567880101", DpiProblem::CheckDigit),
        ];
        for (c, want) in cases {
            assert_eq!(validate(c), Err(want), "{c}");
        }
        // Huehuetenango has 33 municipalities, Izabal 5.
        assert_eq!(validate("1234567891333"), Ok(()));
        assert_eq!(validate("1234567891806"), Err(DpiProblem::Municipality));
    }

    #[test]
    fn serial_with_remainder_ten_has_no_verifier() {
        // 0000000 then 6: 6 * 9 = 54 = 4 * 11 + 10.
        assert_eq!(check_digit("00000006"), None);
        assert_eq!(check_digit("0000001"), None);
        assert_eq!(check_digit("0000000x"), None);
    }
}
