//! Text encodings: UTF-8, or Windows-1252 (a superset of Latin-1's printable range), declared in
//! the mapping or detected from the start of the file.

use enlace_model::mapping::TextEncoding;

/// How many bytes from the start of a file are looked at to detect its encoding.
pub const SNIFF_BYTES: usize = 1 << 20;

/// Decodes field bytes in one encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    Utf8,
    Windows1252,
}

impl Decoder {
    /// Chooses the decoder for a declared encoding, looking at `head` (the file's first bytes)
    /// when the mapping says `auto`.
    pub fn choose(declared: TextEncoding, head: &[u8]) -> Decoder {
        match declared {
            TextEncoding::Utf8 => Decoder::Utf8,
            TextEncoding::Windows1252 => Decoder::Windows1252,
            TextEncoding::Auto => match std::str::from_utf8(head) {
                Ok(_) => Decoder::Utf8,
                // A sequence cut off by the end of `head` is not evidence against UTF-8.
                Err(e) if e.error_len().is_none() => Decoder::Utf8,
                Err(_) => Decoder::Windows1252,
            },
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Decoder::Utf8 => "utf-8",
            Decoder::Windows1252 => "windows-1252",
        }
    }

    /// Decodes one field; `None` when the bytes are not valid in this encoding (only possible
    /// for UTF-8: every byte sequence is valid Windows-1252).
    pub fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Decoder::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_string),
            Decoder::Windows1252 => Some(
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned(),
            ),
        }
    }

    /// Decodes for display whatever the bytes are: used for the raw text of rejected rows.
    pub fn decode_lossy(self, bytes: &[u8]) -> String {
        match self.decode(bytes) {
            Some(s) => s,
            None => encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }
}

/// Strips a UTF-8 byte-order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_detects_windows_1252() {
        let latin = b"nombres\nJos\xe9\n";
        assert_eq!(
            Decoder::choose(TextEncoding::Auto, latin),
            Decoder::Windows1252
        );
        assert_eq!(
            Decoder::choose(TextEncoding::Auto, "José\n".as_bytes()),
            Decoder::Utf8
        );
        assert_eq!(
            Decoder::Windows1252.decode(b"Jos\xe9").as_deref(),
            Some("José")
        );
        assert_eq!(Decoder::Utf8.decode(b"Jos\xe9"), None);
    }

    #[test]
    fn utf8_cut_at_the_sniff_boundary_is_still_utf8() {
        let text = "é".as_bytes();
        assert_eq!(
            Decoder::choose(TextEncoding::Auto, &text[..1]),
            Decoder::Utf8
        );
    }
}
