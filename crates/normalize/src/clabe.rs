//! CLABE (Clave Bancaria Estandarizada, Mexico): 18 digits — bank (3), branch city (3),
//! account (11) and a check digit.
//!
//! The first 17 digits are weighted 3, 7, 1, 3, 7, 1, …; each product is taken modulo 10, the
//! results are summed, and the check digit is `(10 - sum % 10) % 10`.

/// The check digit (18th) of a CLABE from its first 17 digits; extra characters are ignored.
/// `None` when fewer than 17 digits are given.
pub fn check_digit(clabe17: &str) -> Option<char> {
    let b = clabe17.as_bytes();
    if b.len() < 17 || !b[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip([3u32, 7, 1].iter().cycle())
        .map(|(d, w)| (u32::from(d - b'0') * w) % 10)
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Whether an 18-digit string is a CLABE with a matching check digit.
pub fn is_valid(clabe: &str) -> bool {
    clabe.len() == 18 && check_digit(clabe) == clabe.chars().last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_example() {
        // The worked example of the published algorithm.
        assert_eq!(check_digit("03218000011835971"), Some('9'));
        assert!(is_valid("032180000118359719"));
        assert!(!is_valid("032180000118359718"));
        assert!(!is_valid("03218000011835971"));
        assert_eq!(check_digit("0021800001183597"), None);
    }
}
