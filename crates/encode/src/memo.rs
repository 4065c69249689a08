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
//! entry is wiped before its memory is given back or reused (when the array grows and when the
//! memo is dropped).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use zeroize::Zeroize;

use crate::bloom::draw;
use crate::encoder::SaltYear;
use crate::fingerprints::{FingerprintIndex, grow_wiping};
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
        grow_wiping(&mut self.entries, 1, MAX_ENTRIES);
        let entries = &self.entries;
        self.index.make_room(used, FIRST_SLOTS, MAX_SLOTS, |at| {
            let e = &entries[at];
            SaltedToken::of_entry(&e.key[..usize::from(e.len)]).hash(hasher)
        });
        true
    }

    fn clear(&mut self) {
        self.entries.iter_mut().for_each(Zeroize::zeroize);
        self.entries.clear();
        self.index.clear();
    }
}

/// Memos of every salt met so far, kept from one run of records to the next.
///
/// `enlace encode` takes a file slice by slice (bounded memory), each slice in salt order, so a
/// salt's records come in many short groups, one per slice (at a million records, a thousand a
/// year per slice). A memo forgotten at every change of salt relearnt each year's names and
/// dates in every slice. The shelf keeps each salt's memo between its groups instead: a thread
/// takes the memo of the salt it meets ([`ShelvedMemo::for_salt`]) and puts it back when the
/// salt changes or its run ends. Only the memo of the salt at hand is touched, so the others
/// cost memory, not cache.
pub(crate) struct MemoShelf {
    plans: usize,
    parked: Mutex<HashMap<SaltYear, Memo>>,
}

impl MemoShelf {
    pub(crate) fn new(plans: usize) -> MemoShelf {
        MemoShelf {
            plans,
            parked: Mutex::new(HashMap::new()),
        }
    }

    /// A thread's hold on the shelf, for one run of records.
    pub(crate) fn hold(&self) -> ShelvedMemo<'_> {
        ShelvedMemo {
            shelf: self,
            current: None,
        }
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, HashMap<SaltYear, Memo>> {
        // A thread that panicked holding the lock left whole memos behind (an insert or a
        // removal either happened or did not), so the map is still sound.
        self.parked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, salt: SaltYear) -> Memo {
        self.parked()
            .remove(&salt)
            .unwrap_or_else(|| Memo::new(self.plans))
    }

    /// Puts a memo back. When two threads met the same salt at once, the memo that learnt more
    /// is kept and the other dropped (which wipes it).
    fn put(&self, salt: SaltYear, memo: Memo) {
        let mut parked = self.parked();
        match parked.get_mut(&salt) {
            Some(there) if there.remembered() >= memo.remembered() => {}
            Some(there) => *there = memo,
            None => {
                parked.insert(salt, memo);
            }
        }
    }
}

/// A thread's memo for the salt of the record at hand, taken from a [`MemoShelf`] and put back
/// when the salt changes and when dropped.
pub(crate) struct ShelvedMemo<'s> {
    shelf: &'s MemoShelf,
    current: Option<(SaltYear, Memo)>,
}

impl ShelvedMemo<'_> {
    /// The memo for a record of `salt`.
    pub(crate) fn for_salt(&mut self, salt: SaltYear) -> &mut Memo {
        if self.current.as_ref().is_some_and(|(s, _)| *s != salt)
            && let Some((s, memo)) = self.current.take()
        {
            self.shelf.put(s, memo);
        }
        let (_, memo) = self
            .current
            .get_or_insert_with(|| (salt, self.shelf.take(salt)));
        memo
    }
}

impl Drop for ShelvedMemo<'_> {
    fn drop(&mut self) {
        if let Some((salt, memo)) = self.current.take() {
            self.shelf.put(salt, memo);
        }
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

    /// Entries remembered, draws and values.
    fn remembered(&self) -> usize {
        self.tables.iter().map(|t| t.entries.len()).sum::<usize>() + self.values.len()
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
    fn a_shelf_keeps_each_salts_memo_and_the_one_that_learnt_more() {
        let key = key();
        let shelf = MemoShelf::new(1);
        let (y1990, y1991): (SaltYear, SaltYear) = (Some(Some(1990)), Some(Some(1991)));
        let learn = |memo: &mut Memo, tokens: &[&[u8]]| {
            for t in tokens {
                memo.draws(0, &key, Some(b"x"), t, &mut [0u16; 10]);
            }
        };
        let learnt = |salt: SaltYear| shelf.hold().for_salt(salt).tables[0].entries.len();
        {
            let mut hold = shelf.hold();
            learn(hold.for_salt(y1990), &[b"aa", b"bb"]);
            // Another salt puts the first back, and back again finds it.
            learn(hold.for_salt(y1991), &[b"cc"]);
            assert_eq!(hold.for_salt(y1990).tables[0].entries.len(), 2);
        }
        assert_eq!((learnt(y1990), learnt(y1991)), (2, 1));
        assert_eq!(learnt(None), 0);
        // Two threads on one salt at once: the second gets a fresh memo; whichever is put back
        // last, the one that learnt more stays.
        for bigger_last in [false, true] {
            let shelf = MemoShelf::new(1);
            let (mut a, mut b) = (shelf.hold(), shelf.hold());
            learn(a.for_salt(y1990), &[b"aa", b"bb", b"cc"]);
            learn(b.for_salt(y1990), &[b"dd"]);
            if bigger_last {
                drop(b);
                drop(a);
            } else {
                drop(a);
                drop(b);
            }
            assert_eq!(shelf.hold().for_salt(y1990).tables[0].entries.len(), 3);
        }
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
