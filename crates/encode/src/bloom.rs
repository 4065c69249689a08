//! Bloom filters as packed bit vectors, and the keyed hashing that places a token's bits.
//!
//! Each token is hashed once with keyed BLAKE3 under its field's key; the extendable output is
//! read as a stream of 16-bit values, one per position. The i-th position is thus an
//! independent pseudo-random function of the token, not `h1 + i·h2` (double hashing, which an
//! attacker can invert from the filters alone: see docs/encoding.md).

use crate::kernel;

/// A filter of `64 × words` bits, bit `i` in word `i / 64` at bit `i % 64`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BitVector {
    words: Vec<u64>,
}

impl BitVector {
    /// An empty filter of `bits` bits, rounded up to whole words.
    pub fn zeros(bits: usize) -> BitVector {
        BitVector {
            words: vec![0; bits.div_ceil(64)],
        }
    }

    pub fn from_words(words: Vec<u64>) -> BitVector {
        BitVector { words }
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    pub fn into_words(self) -> Vec<u64> {
        self.words
    }

    pub fn bits(&self) -> usize {
        self.words.len() * 64
    }

    /// Sets bit `i`; positions past the end are ignored.
    pub fn set(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    pub fn get(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    pub fn flip(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w ^= 1 << (i % 64);
        }
    }

    pub fn count_ones(&self) -> u32 {
        kernel::popcount(&self.words)
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Dice coefficient with `other`; 0 when the widths differ or both are empty.
    pub fn dice(&self, other: &BitVector) -> f64 {
        kernel::dice(&self.words, &other.words).unwrap_or(0.0)
    }
}

impl std::fmt::Debug for BitVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BitVector({} bits, {} set)",
            self.bits(),
            self.count_ones()
        )
    }
}

/// Maps a uniform 16-bit value onto `0..bits` by multiply-shift: exactly uniform when `bits`
/// divides 65536 (every power of two up to the maximum), otherwise biased by at most one part
/// in 65536/bits.
#[inline]
pub(crate) fn reduce(raw: u16, bits: u32) -> usize {
    ((u32::from(raw) * bits) >> 16) as usize
}

/// Most draws per token: field k plus CLK k.
pub(crate) const MAX_DRAWS: usize = crate::schema::MAX_K as usize;

/// Draws `out.len()` (at most [`MAX_DRAWS`]) 16-bit values for `token`, after an optional salt,
/// from keyed BLAKE3.
pub(crate) fn draw(key: &[u8; 32], salt: Option<&[u8]>, token: &[u8], out: &mut [u16]) {
    let mut hasher = blake3::Hasher::new_keyed(key);
    if let Some(salt) = salt {
        // Length-prefixed so that salt and token boundaries cannot be shifted.
        hasher.update(&(salt.len() as u32).to_le_bytes());
        hasher.update(salt);
    }
    hasher.update(token);
    let mut bytes = [0u8; 2 * MAX_DRAWS];
    let n = out.len().min(MAX_DRAWS);
    if n <= 16 {
        // The plain 32-byte hash is the first 32 bytes of the XOF stream, and cheaper to get.
        bytes[..32].copy_from_slice(hasher.finalize().as_bytes());
    } else {
        hasher.finalize_xof().fill(&mut bytes[..2 * n]);
    }
    for (i, slot) in out.iter_mut().take(n).enumerate() {
        *slot = u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]);
    }
}

/// Sets the bits `reduce(raw, bits)` of `words` for each raw draw.
#[inline]
pub(crate) fn set_positions(words: &mut [u64], bits: u32, draws: &[u16]) {
    for &raw in draws {
        let p = reduce(raw, bits);
        if let Some(w) = words.get_mut(p / 64) {
            *w |= 1 << (p % 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_is_uniform_for_powers_of_two() {
        let mut hits = vec![0u32; 1024];
        for raw in 0..=u16::MAX {
            hits[reduce(raw, 1024)] += 1;
        }
        assert!(hits.iter().all(|&h| h == 64));
        assert_eq!(reduce(u16::MAX, 960), 959);
    }

    #[test]
    fn draws_depend_on_key_and_token() {
        let collect = |key: [u8; 32], token: &[u8]| {
            let mut v = vec![0u16; 40];
            draw(&key, None, token, &mut v);
            v
        };
        let a = collect([1; 32], b"an");
        assert_eq!(a.len(), 40);
        assert_eq!(a, collect([1; 32], b"an"));
        assert_ne!(a, collect([2; 32], b"an"));
        assert_ne!(a, collect([1; 32], b"na"));
        // Short draws are a prefix of long ones: both read the same XOF stream.
        let mut short = [0u16; 16];
        draw(&[1; 32], None, b"an", &mut short);
        assert_eq!(&short[..], &a[..16]);
    }
}
