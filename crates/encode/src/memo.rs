//! Remembered token draws for an encoding session.
//!
//! Names, dates and phonetic keys repeat their q-grams constantly, so a session keeps each
//! (field, salt, token)'s draws and hashes a token only the first time. The look-up is the
//! encoder's hottest path, so it is built to touch little memory: a probe reads an 8-byte
//! index slot holding a fingerprint of the hash, and only a matching fingerprint leads to the
//! entry, which keeps the salted token and its draws together in a dense array. A map of boxed
//! keys and values cost two more cache misses a look-up. The salt and the token are hashed and
//! compared where they lie, not copied together first (measured: 10 % faster encoding than
//! packing them into words). A token or a draw count too long for an entry is simply not
//! remembered.
//!
//! The entries map tokens to filter positions, so they are as sensitive as the keys: every
//! entry is wiped before its memory is given back or reused (when the array grows, when the
//! memo is cleared and when the session ends).

use std::hash::BuildHasher;

use zeroize::Zeroize;

use crate::bloom::draw;
use crate::encoder::SaltYear;
use crate::fingerprints::FingerprintIndex;
use crate::keys::Key;
use crate::values::Values;

/// Draws an entry holds: the field's k plus its CLK k (30 at most in the default schema).
const ENTRY_DRAWS: usize = 32;
/// Bytes of salted token an entry holds: a salt marker, a salt of a few bytes (a birth year)
/// and a q-gram, date part or phonetic key.
const KEY_BYTES: usize = 30;
/// Index slots a field's table grows to; it stops remembering at three quarters full, so that
/// a miss stays a short scan.
const MAX_SLOTS: usize = 1 << 16;
const MAX_ENTRIES: usize = MAX_SLOTS / 4 * 3;
const FIRST_SLOTS: usize = 1 << 8;

#[derive(Clone, Copy)]
struct Entry {
    /// The salted token's length and bytes (see [`SaltedToken`]).
    len: u8,
    key: [u8; KEY_BYTES],
    /// Draws held; a field asks for the same number every time, but a mismatch must not
    /// return draws that were never computed.
    count: u8,
    draws: [u16; ENTRY_DRAWS],
}

impl Zeroize for Entry {
    fn zeroize(&mut self) {
        self.len.zeroize();
        self.key.zeroize();
        self.count.zeroize();
        self.draws.zeroize();
    }
}

/// One field's table: salted tokens with their draws, looked up through a fingerprint index.
struct Table {
    index: FingerprintIndex,
    entries: Vec<Entry>,
}

impl Table {
    fn new() -> Table {
        Table {
            index: FingerprintIndex::default(),
            entries: Vec::new(),
        }
    }

    /// The entry holding `key`, or the empty slot where it would go; the index must have slots.
    fn find(&self, hash: u64, key: SaltedToken<'_>) -> Result<usize, usize> {
        self.index.find(hash, |at| {
            let entry = &self.entries[at];
            key.is(&entry.key[..usize::from(entry.len)])
        })
    }

    /// Doubles the index when it is half full (up to [`MAX_SLOTS`]) and the entries' array when
    /// it is full (wiping the old one); `false` once the table holds [`MAX_ENTRIES`].
    fn make_room(&mut self, hasher: &foldhash::fast::RandomState) -> bool {
        let used = self.entries.len();
        if used >= MAX_ENTRIES {
            return false;
        }
        if used == self.entries.capacity() {
            let mut bigger = Vec::with_capacity((used * 2).clamp(64, MAX_ENTRIES));
            bigger.extend_from_slice(&self.entries);
            self.entries.iter_mut().for_each(Zeroize::zeroize);
            self.entries = bigger;
        }
        if used * 2 >= self.index.len() && self.index.len() < MAX_SLOTS {
            let size = (self.index.len() * 2).max(FIRST_SLOTS);
            let hashes = self
                .entries
                .iter()
                .map(|e| SaltedToken::of_entry(&e.key[..usize::from(e.len)]).hash(hasher));
            self.index.rebuild(size, hashes);
        }
        true
    }

    fn clear(&mut self) {
        self.entries.iter_mut().for_each(Zeroize::zeroize);
        self.entries.clear();
        self.index.clear();
    }
}

/// A memo for records taken in salt order (see [`crate::encoder::Encoder::salt_order`]): it
/// forgets everything whenever the salt changes. A salt's draws are of no use to another salt,
/// and dropping them keeps the tables small enough to stay in cache.
pub(crate) struct SaltMemo {
    memo: Memo,
    salt: Option<SaltYear>,
}

impl SaltMemo {
    pub(crate) fn new(plans: usize) -> SaltMemo {
        SaltMemo {
            memo: Memo::new(plans),
            salt: None,
        }
    }

    /// The memo for a record of `salt`, cleared if the last record's salt was another.
    pub(crate) fn for_salt(&mut self, salt: SaltYear) -> &mut Memo {
        if self.salt != Some(salt) {
            self.memo.clear();
            self.salt = Some(salt);
        }
        &mut self.memo
    }
}

/// Remembered draws, one table per field plan.
pub(crate) struct Memo {
    tables: Vec<Table>,
    hasher: foldhash::fast::RandomState,
    /// Whole field values remembered above the tokens.
    pub(crate) values: Values,
}

impl Memo {
    pub(crate) fn new(plans: usize) -> Memo {
        Memo {
            tables: (0..plans).map(|_| Table::new()).collect(),
            hasher: foldhash::fast::RandomState::default(),
            values: Values::new(plans),
        }
    }

    /// Forgets every draw and value (wiping the entries), keeping the tables' memory.
    pub(crate) fn clear(&mut self) {
        self.tables.iter_mut().for_each(Table::clear);
        self.values.clear();
    }

    /// The draws for `token` after `salt`, from the table or freshly computed into `scratch`
    /// (and remembered when they fit). The same as [`draw`] gives.
    pub(crate) fn draws<'a>(
        &mut self,
        plan: usize,
        key: &Key,
        salt: Option<&[u8]>,
        token: &[u8],
        scratch: &'a mut [u16],
    ) -> &'a [u16] {
        let n = scratch.len();
        let (Some(salted), Some(table), true) = (
            SaltedToken::new(salt, token),
            self.tables.get_mut(plan),
            n <= ENTRY_DRAWS,
        ) else {
            draw(key.bytes(), salt, token, scratch);
            return scratch;
        };
        let hash = salted.hash(&self.hasher);
        if !table.index.is_empty()
            && let Ok(at) = table.find(hash, salted)
        {
            let entry = &table.entries[at];
            if usize::from(entry.count) == n {
                scratch.copy_from_slice(&entry.draws[..n]);
            } else {
                draw(key.bytes(), salt, token, scratch);
            }
            return scratch;
        }
        draw(key.bytes(), salt, token, scratch);
        if table.make_room(&self.hasher)
            && let Err(slot) = table.find(hash, salted)
        {
            let mut entry = Entry {
                len: 0,
                key: [0; KEY_BYTES],
                count: n as u8,
                draws: [0; ENTRY_DRAWS],
            };
            entry.len = salted.write(&mut entry.key) as u8;
            entry.draws[..n].copy_from_slice(scratch);
            table.index.put(slot, hash, table.entries.len());
            table.entries.push(entry);
            entry.zeroize();
        }
        scratch
    }
}

impl Drop for Memo {
    fn drop(&mut self) {
        for table in &mut self.tables {
            table.clear();
        }
    }
}

/// The marker that opens a salted key: the salt's length, or [`NO_SALT`]; `None` for a salt
/// too long to mark. The token memo and the value memo both key on it, so that no two (salt,
/// rest) pairs give the same bytes.
pub(crate) fn salt_marker(salt: Option<&[u8]>) -> Option<u8> {
    match salt {
        None => Some(NO_SALT),
        Some(s) => u8::try_from(s.len()).ok().filter(|&n| n != NO_SALT),
    }
}

/// The salt length a marker stands for.
pub(crate) fn salt_len(marker: u8) -> usize {
    if marker == NO_SALT {
        0
    } else {
        usize::from(marker)
    }
}

/// The marker of a key with no salt.
pub(crate) const NO_SALT: u8 = 255;

/// A token after its salt, as an entry stores it: `marker ‖ salt ‖ token`, the marker being the
/// salt's length, or 255 for no salt, so that no two (salt, token) pairs give the same bytes.
#[derive(Clone, Copy)]
struct SaltedToken<'a> {
    marker: u8,
    salt: &'a [u8],
    token: &'a [u8],
}

impl<'a> SaltedToken<'a> {
    /// `None` when it would not fit an entry.
    fn new(salt: Option<&'a [u8]>, token: &'a [u8]) -> Option<SaltedToken<'a>> {
        let salt_bytes = salt.unwrap_or_default();
        if 1 + salt_bytes.len() + token.len() > KEY_BYTES {
            return None;
        }
        Some(SaltedToken {
            marker: salt_marker(salt)?,
            salt: salt_bytes,
            token,
        })
    }

    /// The parts of an entry's stored bytes.
    fn of_entry(bytes: &'a [u8]) -> SaltedToken<'a> {
        let (marker, rest) = bytes
            .split_first()
            .map_or((NO_SALT, &[][..]), |(m, r)| (*m, r));
        let salt_len = salt_len(marker);
        let (salt, token) = rest.split_at(salt_len.min(rest.len()));
        SaltedToken {
            marker,
            salt,
            token,
        }
    }

    fn hash(&self, hasher: &foldhash::fast::RandomState) -> u64 {
        hasher.hash_one((self.marker, self.salt, self.token))
    }

    /// Whether an entry's stored bytes are this salted token.
    fn is(&self, bytes: &[u8]) -> bool {
        let (s, t) = (self.salt.len(), self.token.len());
        bytes.len() == 1 + s + t
            && bytes[0] == self.marker
            && &bytes[1..1 + s] == self.salt
            && &bytes[1 + s..] == self.token
    }

    /// Writes the stored bytes into `out` (which [`SaltedToken::new`] checked they fit) and
    /// returns their length.
    fn write(&self, out: &mut [u8; KEY_BYTES]) -> usize {
        let (s, t) = (self.salt.len(), self.token.len());
        out[0] = self.marker;
        out[1..1 + s].copy_from_slice(self.salt);
        out[1 + s..1 + s + t].copy_from_slice(self.token);
        1 + s + t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Purpose, derive};
    use crate::secret::ProjectSecret;

    fn key() -> Key {
        let secret = ProjectSecret::from_bytes(&[3u8; 32]).unwrap();
        derive(
            &secret,
            &crate::schema::Schema::default_with_id("memo-test"),
            "given",
            Purpose::Bloom,
        )
    }

    #[test]
    fn remembered_draws_equal_fresh_ones_through_growth_and_when_full() {
        let key = key();
        let mut memo = Memo::new(2);
        // Enough distinct tokens to grow every size and fill the largest table, each asked
        // twice, with and without salt, with several draw counts.
        for round in 0..2 {
            for i in 0..120_000u32 {
                let token = format!("t{i}");
                let salt = (i % 3 != 0).then(|| format!("{}", 1940 + i % 80));
                let n = [10, 30, 32, 64][(i % 4) as usize];
                let mut want = vec![0u16; n];
                draw(
                    key.bytes(),
                    salt.as_deref().map(str::as_bytes),
                    token.as_bytes(),
                    &mut want,
                );
                let mut scratch = vec![0u16; n];
                let got = memo.draws(
                    (i % 2) as usize,
                    &key,
                    salt.as_deref().map(str::as_bytes),
                    token.as_bytes(),
                    &mut scratch,
                );
                assert_eq!(got, &want[..], "round {round} token {i}");
            }
        }
        assert!(memo.tables.iter().all(|t| t.index.len() == MAX_SLOTS));
        assert!(memo.tables.iter().any(|t| t.entries.len() == MAX_ENTRIES));
    }

    #[test]
    fn a_token_asked_with_another_draw_count_is_drawn_afresh() {
        let key = key();
        let mut memo = Memo::new(1);
        let mut short = vec![0u16; 10];
        memo.draws(0, &key, None, b"again", &mut short);
        let mut long = vec![0u16; 30];
        let mut want = vec![0u16; 30];
        draw(key.bytes(), None, b"again", &mut want);
        assert_eq!(memo.draws(0, &key, None, b"again", &mut long), &want[..]);
        assert_eq!(memo.tables[0].entries.len(), 1);
        memo.clear();
        assert!(memo.tables[0].entries.is_empty());
        assert_eq!(memo.draws(0, &key, None, b"again", &mut long), &want[..]);
    }

    #[test]
    fn salt_and_token_boundaries_cannot_shift() {
        let stored = |salt: Option<&[u8]>, token: &[u8]| {
            let mut out = [0u8; KEY_BYTES];
            let t = SaltedToken::new(salt, token).unwrap();
            let len = t.write(&mut out);
            assert!(t.is(&out[..len]));
            let back = SaltedToken::of_entry(&out[..len]);
            assert_eq!(
                (back.marker, back.salt, back.token),
                (t.marker, t.salt, t.token)
            );
            out[..len].to_vec()
        };
        assert_ne!(stored(Some(b"19"), b"80ab"), stored(Some(b"1980"), b"ab"));
        assert_ne!(stored(None, b"ab"), stored(Some(b""), b"ab"));
        let a = SaltedToken::new(Some(b"19"), b"80ab").unwrap();
        assert!(!a.is(&stored(Some(b"1980"), b"ab")));
        assert!(SaltedToken::new(None, &[b'x'; KEY_BYTES]).is_none());
        assert!(SaltedToken::new(None, &[b'x'; KEY_BYTES - 1]).is_some());
    }
}
