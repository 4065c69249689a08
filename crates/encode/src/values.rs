//! Remembered filter bits of whole field values, a level above the token memo of
//! [`crate::memo`].
//!
//! A given name or a surname recurs far more than its q-grams are worth looking up one by one:
//! in a year of births, most records share their given name with an earlier one. So a session
//! remembers, per field and salt, the bits a value sets in the field's filter and in the CLK,
//! and a repeated value costs one look-up and an OR of the words instead of a look-up and a
//! dozen bit sets per token. Values are keyed by what their tokens are made from, not by the
//! tokens: a name field by its text ([`crate::tokens::for_each_text`]; the bag of all names
//! name by name, its filter being the union of its names'), a birth date by its packed parts
//! ([`crate::tokens::date_key`]), sex and nationality by their one token. Keying a name by its
//! q-grams meant cutting it into q-grams on every record, hit or miss, which cost more than the
//! look-up; keyed by its parts, a date is worth remembering too (a birth year's records share a
//! few hundred dates), where keyed by its tokens it cost a tenth of the throughput. The
//! phonetic keys (three words whose combination rarely repeats) are placed token by token.
//!
//! The entries map a value to filter bits, so they are as sensitive as the keys: wiped when
//! their memory is given back or reused, and on drop.

use std::hash::BuildHasher;

use zeroize::Zeroize;

use crate::fingerprints::{FingerprintIndex, grow_wiping};
use crate::memo::{salt_len, salt_marker};
use crate::schema::Field;

/// Bytes of salt and length-prefixed tokens a key holds; longer values are not remembered.
const KEY_BYTES: usize = 160;
/// Values a field's table remembers; it stops adding when full.
const MAX_ENTRIES: usize = 1 << 13;
/// Index slots a table grows to: a power of two, at most half full.
const SLOTS: usize = 2 * MAX_ENTRIES;
const FIRST_SLOTS: usize = 1 << 8;
/// Look-ups of a field's values before [`Values::pays`] judges them.
const TRIAL: u64 = 4096;

/// Whether a field's values are remembered whole.
pub(crate) fn remembers_values(field: Field) -> bool {
    matches!(
        field,
        Field::Given
            | Field::GivenFirst
            | Field::GivenAlternates
            | Field::Surname1
            | Field::Surname2
            | Field::Surnames
            | Field::MarriedSurname
            | Field::Names
            | Field::Sex
            | Field::Nationality
    )
}

/// A field value's key: the salt (marker and bytes, as the token memo writes them) then each
/// token with its length, built on the stack.
pub(crate) struct ValueKey {
    bytes: [u8; KEY_BYTES],
    len: usize,
    tokens: usize,
    overflow: bool,
}

impl ValueKey {
    pub(crate) fn new(salt: Option<&[u8]>) -> ValueKey {
        let mut key = ValueKey {
            bytes: [0; KEY_BYTES],
            len: 0,
            tokens: 0,
            overflow: false,
        };
        match salt_marker(salt) {
            Some(marker) => key.append(&[marker]),
            None => key.overflow = true,
        }
        key.append(salt.unwrap_or_default());
        key
    }

    pub(crate) fn push(&mut self, token: &[u8]) {
        self.tokens += 1;
        match u8::try_from(token.len()) {
            Ok(n) => {
                self.append(&[n]);
                self.append(token);
            }
            Err(_) => self.overflow = true,
        }
    }

    fn append(&mut self, part: &[u8]) {
        match self.bytes.get_mut(self.len..self.len + part.len()) {
            Some(to) if !self.overflow => {
                to.copy_from_slice(part);
                self.len += part.len();
            }
            _ => self.overflow = true,
        }
    }

    /// The tokens pushed.
    pub(crate) fn tokens(&self) -> usize {
        self.tokens
    }

    /// The key, or `None` when the value is too long to remember.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        (!self.overflow).then_some(&self.bytes[..self.len])
    }

    /// Calls `emit` with each token pushed, in order, read back from the key (so a value met
    /// for the first time is not split into tokens twice); nothing when the key overflowed.
    pub(crate) fn each_token(&self, emit: &mut dyn FnMut(&[u8])) {
        let Some(bytes) = self.bytes() else { return };
        let salt = bytes.first().map_or(0, |&m| salt_len(m));
        let mut rest = bytes.get(1 + salt..).unwrap_or_default();
        while let Some((&n, after)) = rest.split_first() {
            let (token, next) = after.split_at(usize::from(n).min(after.len()));
            emit(token);
            rest = next;
        }
    }
}

/// One field's values, in the order they came, looked up through a fingerprint index. Keys and
/// words lie back to back in three arrays, so a look-up follows no pointer of its own and a new
/// value takes no allocation of its own.
#[derive(Default)]
struct Table {
    index: FingerprintIndex,
    /// Where each value's key ends in `keys` (it starts where the previous one ends).
    key_ends: Vec<u32>,
    keys: Vec<u8>,
    /// Words per value: the field filter's, then the CLK's; fixed by the first value.
    stride: usize,
    words: Vec<u64>,
    /// Look-ups made since the table was full, and those that found their value (see
    /// [`Values::pays`]).
    looked: u64,
    found: u64,
}

impl Table {
    fn len(&self) -> usize {
        self.key_ends.len()
    }

    fn key(&self, at: usize) -> &[u8] {
        key_at(&self.key_ends, &self.keys, at)
    }

    fn words(&self, at: usize) -> &[u64] {
        &self.words[at * self.stride..(at + 1) * self.stride]
    }

    /// The value holding `key`, or the empty slot where it would go; the index must have slots.
    fn find(&self, hash: u64, key: &[u8]) -> Result<usize, usize> {
        self.index.find(hash, |at| self.key(at) == key)
    }

    /// Grows the index when half full (up to [`SLOTS`]) and the arrays when full, wiping what
    /// they leave behind.
    fn make_room(&mut self, key_len: usize, hasher: &foldhash::fast::RandomState) {
        let used = self.len();
        grow_wiping(&mut self.key_ends, 1, MAX_ENTRIES);
        grow_wiping(&mut self.keys, key_len, usize::MAX);
        grow_wiping(&mut self.words, self.stride, MAX_ENTRIES * self.stride);
        let (ends, keys) = (&self.key_ends, &self.keys);
        self.index.make_room(used, FIRST_SLOTS, SLOTS, |at| {
            hasher.hash_one(key_at(ends, keys, at))
        });
    }

    fn clear(&mut self) {
        (self.looked, self.found) = (0, 0);
        self.keys.zeroize();
        self.words.zeroize();
        self.key_ends.clear();
        self.index.clear();
    }
}

/// Value `at`'s key: it ends at `ends[at]` and starts where the previous one ends.
fn key_at<'k>(ends: &[u32], keys: &'k [u8], at: usize) -> &'k [u8] {
    let start = at.checked_sub(1).map_or(0, |i| ends[i] as usize);
    &keys[start..ends[at] as usize]
}

/// Remembered field values, one table per field plan.
pub(crate) struct Values {
    tables: Vec<Table>,
    hasher: foldhash::fast::RandomState,
}

impl Values {
    pub(crate) fn new(plans: usize) -> Values {
        Values {
            tables: (0..plans).map(|_| Table::default()).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Whether remembering plan `plan`'s values still pays. A look-up that misses costs more
    /// than a hit saves, and once a field's table is full a value missed is never found later:
    /// so when, of [`TRIAL`] look-ups made in a full table, fewer than half found their value
    /// (more distinct values than a table holds, as dates are when one memo serves every year),
    /// the field's values are placed token by token instead. A table that is not full is never
    /// judged: its misses are remembered, and pay when the values come again.
    pub(crate) fn pays(&self, plan: usize) -> bool {
        self.tables
            .get(plan)
            .is_none_or(|t| t.looked < TRIAL || 2 * t.found >= t.looked)
    }

    /// ORs a remembered value's words into `field` and `clk`; `false` when it is not
    /// remembered (or was remembered with other filter sizes).
    pub(crate) fn apply(
        &mut self,
        plan: usize,
        key: &[u8],
        field: &mut [u64],
        clk: &mut [u64],
    ) -> bool {
        let hash = self.hasher.hash_one(key);
        let Some(table) = self.tables.get_mut(plan) else {
            return false;
        };
        if table.index.is_empty() || table.stride != field.len() + clk.len() {
            return false;
        }
        let full = table.len() >= MAX_ENTRIES;
        table.looked += u64::from(full);
        let Ok(at) = table.find(hash, key) else {
            return false;
        };
        table.found += u64::from(full);
        let (f, c) = table.words(at).split_at(field.len());
        field.iter_mut().zip(f).for_each(|(to, w)| *to |= w);
        clk.iter_mut().zip(c).for_each(|(to, w)| *to |= w);
        true
    }

    /// Remembers the words a value sets, unless the field's table is full.
    pub(crate) fn remember(&mut self, plan: usize, key: &[u8], field: &[u64], clk: &[u64]) {
        let hash = self.hasher.hash_one(key);
        let Some(table) = self.tables.get_mut(plan) else {
            return;
        };
        if table.len() == 0 {
            table.stride = field.len() + clk.len();
        }
        if table.len() >= MAX_ENTRIES
            || table.stride != field.len() + clk.len()
            || u32::try_from(table.keys.len() + key.len()).is_err()
        {
            return;
        }
        table.make_room(key.len(), &self.hasher);
        if let Err(slot) = table.find(hash, key) {
            table.index.put(slot, hash, table.len());
            table.keys.extend_from_slice(key);
            table.key_ends.push(table.keys.len() as u32);
            table.words.extend_from_slice(field);
            table.words.extend_from_slice(clk);
        }
    }

    /// Values remembered, over all fields.
    pub(crate) fn len(&self) -> usize {
        self.tables.iter().map(Table::len).sum()
    }
}

impl Drop for Values {
    fn drop(&mut self) {
        self.tables.iter_mut().for_each(Table::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(salt: Option<&[u8]>, tokens: &[&[u8]]) -> ValueKey {
        let mut k = ValueKey::new(salt);
        tokens.iter().for_each(|t| k.push(t));
        k
    }

    #[test]
    fn a_full_field_whose_values_are_rarely_found_stops_paying() {
        let mut v = Values::new(2);
        for plan in [0, 1] {
            for i in 0..MAX_ENTRIES {
                let k = key(None, &[format!("full{i}").as_bytes()]);
                v.remember(plan, k.bytes().unwrap(), &[1], &[]);
            }
        }
        let k = key(None, &[b"often"]);
        v.remember(0, k.bytes().unwrap(), &[1], &[]);
        assert!(
            !v.apply(0, k.bytes().unwrap(), &mut [0], &mut []),
            "full, not taken"
        );
        let k = key(None, &[b"full0"]);
        for i in 0..TRIAL {
            // Field 0: two in three found; field 1: never found.
            let k0 = key(None, &[if i % 3 != 0 { &b"full0"[..] } else { b"never" }]);
            v.apply(0, k0.bytes().unwrap(), &mut [0], &mut []);
            assert!(v.pays(1), "judged after {i} look-ups");
            let k1 = key(None, &[format!("v{i}").as_bytes()]);
            v.apply(1, k1.bytes().unwrap(), &mut [0], &mut []);
        }
        assert!(v.pays(0));
        assert!(!v.pays(1));
        // A plan without a table is never judged, nor a table with room.
        assert!(v.pays(7));
        let mut room = Values::new(1);
        room.remember(0, k.bytes().unwrap(), &[1], &[]);
        for i in 0..2 * TRIAL {
            let miss = key(None, &[format!("m{i}").as_bytes()]);
            room.apply(0, miss.bytes().unwrap(), &mut [0], &mut []);
        }
        assert!(room.pays(0));
    }

    #[test]
    fn keys_keep_salt_and_token_boundaries() {
        let a = key(Some(b"1980"), &[b"_a", b"an"]);
        let b = key(Some(b"1980"), &[b"_aa", b"n"]);
        let c = key(Some(b"1981"), &[b"_a", b"an"]);
        let d = key(None, &[b"_a", b"an"]);
        let all = [a.bytes(), b.bytes(), c.bytes(), d.bytes()];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(a.tokens(), 2);
        for k in [&a, &b, &c, &d] {
            let mut back: Vec<Vec<u8>> = Vec::new();
            k.each_token(&mut |t| back.push(t.to_vec()));
            assert_eq!(back.len(), 2);
        }
        let mut back: Vec<Vec<u8>> = Vec::new();
        b.each_token(&mut |t| back.push(t.to_vec()));
        assert_eq!(back, [b"_aa".to_vec(), b"n".to_vec()]);
        let long = key(None, &[&[b'x'; 100], &[b'y'; 100]]);
        assert_eq!(long.bytes(), None);
    }

    #[test]
    fn remembered_values_come_back_until_full_and_are_forgotten_when_wiped() {
        let mut v = Values::new(2);
        let words = |i: u64| (vec![i, i << 1], vec![i ^ 0xff]);
        for i in 0..(MAX_ENTRIES as u64 + 100) {
            let k = key(Some(b"1990"), &[format!("t{i}").as_bytes()]);
            let (f, c) = words(i + 1);
            v.remember(1, k.bytes().unwrap(), &f, &c);
        }
        for i in 0..(MAX_ENTRIES as u64 + 100) {
            let k = key(Some(b"1990"), &[format!("t{i}").as_bytes()]);
            let (mut f, mut c) = (vec![0u64; 2], vec![0u64; 1]);
            let found = v.apply(1, k.bytes().unwrap(), &mut f, &mut c);
            assert_eq!(found, i < MAX_ENTRIES as u64, "value {i}");
            if found {
                assert_eq!((f, c), words(i + 1));
            }
            assert!(!v.apply(0, k.bytes().unwrap(), &mut [0; 2], &mut [0; 1]));
        }
        // Other filter sizes never take a remembered value.
        let k = key(Some(b"1990"), &[b"t0"]);
        assert!(!v.apply(1, k.bytes().unwrap(), &mut [0; 3], &mut [0; 1]));
        // Wiped, a table forgets all.
        v.tables[1].clear();
        assert!(!v.apply(1, k.bytes().unwrap(), &mut [0; 2], &mut [0; 1]));
        assert!(v.tables[1].keys.is_empty() && v.tables[1].words.is_empty());
    }
}
