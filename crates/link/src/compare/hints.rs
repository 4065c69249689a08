//! Per-record hints that settle most tests of a candidate pair without reading the records'
//! strings.
//!
//! A million-record run compares tens of millions of candidate pairs, and each comparison used
//! to follow pointers to every name's bytes to find, most of the time, that the names differ.
//! The hints are worked out once per record, side by side in one vector: for each name, the
//! name itself when it has at most 15 bytes (one integer), a hash of it without spaces and
//! hyphens, and its letter counts; the nationality and phonetic keys when short; hashes of the
//! valid identifiers and of the given names and their alternates.
//!
//! A hint answers only what it knows for certain: held texts are compared exactly, different
//! hashes mean different strings, and letter counts bound Jaro–Winkler from above (names with
//! `c` letters in common have at least `c` in the coarser counts). Anything else — equal
//! hashes, a name too long to hold — goes to the exact test on the strings. So the levels are
//! those of the plain comparison, bit for bit; property tests hold them to it.

use std::hash::Hasher;

use enlace_model::Record;
use enlace_normalize::IdKind;
use rayon::prelude::*;
use rustc_hash::FxHasher;

use super::NAME_SEPARATORS;
use super::similarity::bound_from_common;

/// Letter counts of a name: one lane per letter `a`–`z`, and six lanes shared by the other
/// ASCII bytes (space, hyphen, apostrophe, digits). Sharing lanes only raises the count of
/// letters two names have in common, so the bound it gives stays above the similarity.
///
/// Held as four words of eight one-byte counts, so that two profiles' common count is a few
/// word operations (see [`common_letters`]). A profile is made only for names of at most
/// [`PROFILE_MAX`] bytes: every count, and every sum of counts, then fits in seven bits.
type Profile = [u64; 4];
const PROFILE_MAX: usize = 127;

/// One name, reduced: 64 bytes, one cache line, the letter counts first so that they are read
/// in aligned lanes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameHint {
    /// Letter counts, when the name is non-empty ASCII of at most 255 bytes (`has_profile`;
    /// else no bound).
    profile: Profile,
    /// The name itself when it fits: up to 15 bytes and its length (see [`inline`]); 0 when
    /// missing or longer.
    text: u128,
    /// Hash of the name's bytes without spaces and hyphens; 0 when the name is missing.
    compact: u64,
    /// Length in bytes (saturated) and first four bytes, for the bound's length and prefix.
    len: u8,
    prefix: [u8; 4],
    has_profile: bool,
    /// One character.
    initial: bool,
    /// No space or hyphen: the compact form is the name itself.
    plain: bool,
}

const _: () = assert!(std::mem::size_of::<NameHint>() == 64);

/// Up to 15 bytes of text and their count in one integer, so that equal integers are equal
/// texts; `None` for longer text.
fn inline(text: &[u8]) -> Option<u128> {
    if text.len() > 15 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..text.len()].copy_from_slice(text);
    bytes[15] = text.len() as u8;
    Some(u128::from_le_bytes(bytes))
}

/// [`inline`] text, or one of two values no inline text takes (their length byte is 255).
fn short_text(text: Option<&str>) -> u128 {
    match text {
        Some(t) => inline(t.as_bytes()).unwrap_or(TOO_LONG),
        None => MISSING,
    }
}
const MISSING: u128 = u128::MAX;
const TOO_LONG: u128 = u128::MAX - 1;

impl NameHint {
    fn of(name: Option<&str>, buf: &mut Vec<u8>) -> NameHint {
        let Some(name) = name else {
            return NameHint::default();
        };
        let bytes = name.as_bytes();
        let profile =
            (!bytes.is_empty() && bytes.len() <= PROFILE_MAX && bytes.is_ascii()).then(|| {
                let mut counts = [0u8; 32];
                for &x in bytes {
                    counts[lane(x)] += 1;
                }
                let mut p = [0u64; 4];
                for (word, eight) in p.iter_mut().zip(counts.chunks_exact(8)) {
                    let mut le = [0u8; 8];
                    le.copy_from_slice(eight);
                    *word = u64::from_le_bytes(le);
                }
                p
            });
        let mut prefix = [0u8; 4];
        for (p, &x) in prefix.iter_mut().zip(bytes) {
            *p = x;
        }
        NameHint {
            has_profile: profile.is_some(),
            profile: profile.unwrap_or_default(),
            text: inline(bytes).unwrap_or(0),
            compact: compact_hash(name, buf),
            len: u8::try_from(bytes.len()).unwrap_or(u8::MAX),
            prefix,
            initial: super::is_initial(name),
            plain: !name.contains(NAME_SEPARATORS),
        }
    }

    /// Whether the two names are equal, when the hints alone tell; `None` when only the names
    /// can (then they may be equal). Both missing count as unknown.
    pub(crate) fn equal(&self, other: &NameHint) -> Option<bool> {
        if self.compact != other.compact {
            Some(false)
        } else if self.text != 0 && other.text != 0 {
            Some(self.text == other.text)
        } else {
            None
        }
    }

    /// Whether the two names are equal once spaces and hyphens are dropped, when the hints
    /// alone tell.
    pub(crate) fn same_compact(&self, other: &NameHint) -> Option<bool> {
        if self.compact != other.compact {
            Some(false)
        } else if self.plain && other.plain {
            self.equal(other)
        } else {
            None
        }
    }

    /// A name of one word: no space or hyphen.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// One character (the name is there).
    pub(crate) fn is_initial(&self) -> bool {
        self.initial
    }

    /// False only when the two names' Jaro–Winkler similarity is certainly below `floor`; the
    /// cut of [`super::similarity::jaro_winkler_from`], from the hints alone.
    pub(crate) fn may_reach(&self, other: &NameHint, floor: f64) -> bool {
        if !self.has_profile || !other.has_profile {
            return true;
        }
        let common = common_letters(&self.profile, &other.profile);
        let prefix = self
            .prefix
            .iter()
            .zip(&other.prefix)
            .take(usize::from(self.len.min(other.len)))
            .take_while(|(x, y)| x == y)
            .count();
        let bound = bound_from_common(
            common,
            usize::from(self.len),
            usize::from(other.len),
            prefix,
        );
        bound >= floor - 1e-9
    }
}

/// The sum over the lanes of the smaller of two profiles' counts: the letters two names have
/// in common, at most.
///
/// Word by word, eight lanes at a time: with every count below 128, `(x | 0x80) − y` borrows
/// nothing across lanes and its lane's top bit is set exactly where `x ≥ y`; that picks each
/// lane's smaller count. The smaller counts add up to at most the shorter name's length
/// (< 128), so no lane of their sum carries, and one multiplication adds the eight lanes.
fn common_letters(p: &Profile, q: &Profile) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut mins = 0u64;
    for (&x, &y) in p.iter().zip(q) {
        let x_at_least_y = (((x | HIGH) - y) & HIGH) >> 7;
        let mask = x_at_least_y * 0xFF;
        mins += (y & mask) | (x & !mask);
    }
    (mins.wrapping_mul(ONES) >> 56) as usize
}

fn lane(x: u8) -> usize {
    if x.is_ascii_lowercase() {
        usize::from(x - b'a')
    } else {
        26 + usize::from(x % 6)
    }
}

/// A hash of `name` without spaces and hyphens, never 0 (0 stands for a missing name).
fn compact_hash(name: &str, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    // The separators are ASCII, so dropping their bytes drops the characters.
    buf.extend(
        name.bytes()
            .filter(|&x| !NAME_SEPARATORS.contains(&char::from(x))),
    );
    let mut h = FxHasher::default();
    h.write(buf);
    h.finish().max(1)
}

/// The phonetic keys a comparison reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phonetic {
    Given,
    Surname1,
    Surname2,
}

/// The hints of one record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecordHints {
    pub(crate) given: NameHint,
    pub(crate) surname1: NameHint,
    pub(crate) surname2: NameHint,
    /// The nationality and the phonetic keys of the first given name and the surnames (in
    /// [`Phonetic`]'s order), each held by [`short_text`].
    nationality: u128,
    phonetic: [u128; 3],
    /// In its chunk's sets from `set_at`: `official_len` entries of the valid official
    /// identifiers and `phones_len` of the valid phones (each a hash of the value with the
    /// kind in its low byte), `first_len` hashes of the first given name and its alternates
    /// (none when it is an initial), then `names_len` of all given names and alternates.
    set_at: u32,
    official_len: u16,
    phones_len: u16,
    first_len: u16,
    names_len: u16,
    /// False when the sets were too long to keep: then they rule nothing out.
    sets_known: bool,
}

/// Records per chunk of [`Hints`].
const CHUNK: usize = 4096;

/// The hints of every record of a dataset, by global id, in chunks of [`CHUNK`] records, each
/// chunk with its records' sets. The chunks are made in parallel and kept as they are: copying
/// them into one vector was a third of the hints' time at a million records, most of it the
/// kernel zeroing the new vector's pages.
#[derive(Debug, Default)]
pub(crate) struct Hints {
    chunks: Vec<Chunk>,
}

#[derive(Debug, Default)]
struct Chunk {
    records: Vec<RecordHints>,
    sets: Vec<u64>,
}

/// Two records' hints, as a comparison reads them.
#[derive(Clone, Copy)]
pub(crate) struct PairHints<'a> {
    pub(crate) a: &'a RecordHints,
    pub(crate) b: &'a RecordHints,
    /// The sets of each record's chunk.
    a_sets: &'a [u64],
    b_sets: &'a [u64],
}

impl Hints {
    /// The hints of `records`, worked out in parallel.
    pub(crate) fn of<'r>(records: impl IndexedParallelIterator<Item = &'r Record>) -> Hints {
        // Each chunk has one vector of sets: one allocation per chunk, not per record.
        let chunks = records
            .chunks(CHUNK)
            .map(|chunk| {
                let (mut sets, mut buf) = (Vec::new(), Vec::new());
                let records = chunk
                    .into_iter()
                    .map(|r| record_hints(r, &mut buf, &mut sets))
                    .collect();
                Chunk { records, sets }
            })
            .collect();
        Hints { chunks }
    }

    /// The hints of record `id` and the sets of its chunk.
    fn get(&self, id: u32) -> (&RecordHints, &[u64]) {
        let chunk = &self.chunks[id as usize / CHUNK];
        (&chunk.records[id as usize % CHUNK], &chunk.sets)
    }

    pub(crate) fn pair(&self, a: u32, b: u32) -> PairHints<'_> {
        let ((a, a_sets), (b, b_sets)) = (self.get(a), self.get(b));
        PairHints {
            a,
            b,
            a_sets,
            b_sets,
        }
    }
}

impl RecordHints {
    /// `len` entries of the record's sets after the first `skip`; `sets` are its chunk's.
    fn set<'s>(&self, sets: &'s [u64], skip: u16, len: u16) -> &'s [u64] {
        let at = self.set_at as usize + usize::from(skip);
        sets.get(at..at + usize::from(len)).unwrap_or(&[])
    }

    fn identifiers<'s>(&self, sets: &'s [u64], phones: bool) -> &'s [u64] {
        if phones {
            self.set(sets, self.official_len, self.phones_len)
        } else {
            self.set(sets, 0, self.official_len)
        }
    }

    fn first_set<'s>(&self, sets: &'s [u64]) -> &'s [u64] {
        self.set(sets, self.official_len + self.phones_len, self.first_len)
    }

    fn names_set<'s>(&self, sets: &'s [u64]) -> &'s [u64] {
        let skip = self.official_len + self.phones_len + self.first_len;
        self.set(sets, skip, self.names_len)
    }
}

impl PairHints<'_> {
    /// False only when neither record's first given name, nor an alternate of it, is among the
    /// other's given names and alternates: the hint of `first_among` both ways.
    pub(crate) fn may_share_first(&self) -> bool {
        if !self.a.sets_known || !self.b.sets_known {
            return true;
        }
        let meets = |x: &RecordHints, xs, y: &RecordHints, ys| {
            let names = y.names_set(ys);
            x.first_set(xs).iter().any(|v| names.contains(v))
        };
        meets(self.a, self.a_sets, self.b, self.b_sets)
            || meets(self.b, self.b_sets, self.a, self.a_sets)
    }

    /// The level of the phones (`phones`) or official identifiers, when the hashes settle it:
    /// none of a kind on one side (null), or no phone of the same kind shared (disagree).
    /// `None` when two of the same kind have the same hash, or official identifiers of a kind
    /// differ: then only the values can tell.
    pub(crate) fn identifier_level(&self, phones: bool) -> Option<u8> {
        if !self.a.sets_known || !self.b.sets_known {
            return None;
        }
        let (xs, ys) = (
            self.a.identifiers(self.a_sets, phones),
            self.b.identifiers(self.b_sets, phones),
        );
        let mut same_kind = false;
        for x in xs {
            for y in ys.iter().filter(|y| *y & 0xFF == x & 0xFF) {
                if x == y {
                    return None;
                }
                same_kind = true;
            }
        }
        match (same_kind, phones) {
            (false, _) => Some(super::NULL_LEVEL),
            (true, true) => Some(super::agree::DISAGREE),
            // Official identifiers one keying slip apart have a level of their own, which the
            // hashes cannot tell.
            (true, false) => None,
        }
    }

    /// Whether both records have the phonetic key and it is the same, when the hints tell.
    pub(crate) fn phonetic_equal(&self, key: Phonetic) -> Option<bool> {
        let (x, y) = (self.a.phonetic[key as usize], self.b.phonetic[key as usize]);
        if x == TOO_LONG || y == TOO_LONG {
            return None;
        }
        Some(x != MISSING && x == y)
    }

    /// The nationality level, when the hints settle it.
    pub(crate) fn nationality_level(&self) -> Option<u8> {
        let (x, y) = (self.a.nationality, self.b.nationality);
        if [x, y].iter().any(|&t| t == MISSING || t == TOO_LONG) {
            return None;
        }
        Some(if x == y {
            super::agree::AGREE
        } else {
            super::agree::DISAGREE
        })
    }
}

/// The hints of `r`, its sets appended to `set` (`set_at` is where they begin there).
fn record_hints(r: &Record, buf: &mut Vec<u8>, set: &mut Vec<u64>) -> RecordHints {
    let n = &r.name;
    let start = set.len();
    let mut identifiers = |phones: bool| {
        let before = set.len();
        let kept = r
            .identifiers
            .iter()
            .filter(|i| i.valid && (i.kind == IdKind::Phone) == phones)
            .filter(|i| phones || i.kind.is_official());
        for i in kept {
            let mut h = FxHasher::default();
            h.write(i.value.as_bytes());
            set.push((h.finish() << 8) | u64::from(i.kind as u8));
        }
        set.len() - before
    };
    let official_len = identifiers(false);
    let phones_len = identifiers(true);
    if let Some(first) = n.given.first().filter(|f| !super::is_initial(f)) {
        set.push(compact_hash(first, buf));
        set.extend(enlace_normalize::nicknames::alternates(first).map(|a| compact_hash(a, buf)));
    }
    let first_len = set.len() - start;
    set.extend(
        n.given
            .iter()
            .chain(&n.given_alternates)
            .map(|g| compact_hash(g, buf)),
    );
    let names_len = set.len() - start - first_len;
    let first_len = first_len - official_len - phones_len;
    let lens = [official_len, phones_len, first_len, names_len].map(u16::try_from);
    let (lens, sets_known) = match lens {
        [Ok(o), Ok(p), Ok(f), Ok(n)] => ([o, p, f, n], true),
        // Sets too long to count in 16 bits (no real record has them): no hint.
        _ => ([0; 4], false),
    };
    let [official_len, phones_len, first_len, names_len] = lens;
    if !sets_known {
        set.truncate(start);
    }
    RecordHints {
        given: NameHint::of(n.given.first().map(String::as_str), buf),
        surname1: NameHint::of(n.surname1.as_deref(), buf),
        surname2: NameHint::of(n.surname2.as_deref(), buf),
        nationality: short_text(r.nationality.as_deref()),
        phonetic: [
            &n.given_phonetic,
            &n.surname1_phonetic,
            &n.surname2_phonetic,
        ]
        .map(|k| short_text(k.as_deref())),
        set_at: u32::try_from(start).unwrap_or(0),
        official_len,
        phones_len,
        first_len,
        names_len,
        sets_known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, compare_hinted};
    use crate::testutil::rec;
    use proptest::prelude::*;

    /// Names that meet in every way a comparison distinguishes: equal, nicknames and English
    /// equivalents, near spellings, one surname in the other's place, compact spellings,
    /// initials, particles.
    const WORDS: &[&str] = &[
        "juan",
        "john",
        "jose",
        "pepe",
        "luis",
        "jose luis",
        "guadalupe",
        "lupe",
        "maria",
        "mario",
        "maria guadalupe",
        "fernando",
        "fernadno",
        "garcia",
        "garza",
        "hernandez",
        "fernandez",
        "de la cruz",
        "delacruz",
        "tzunun",
        "tzul",
        "chavez",
        "chavez-gonzalez",
        "gonzalez",
        "petrona",
        "j",
        "m",
        "angeles",
        "lopez",
        "lopes",
    ];

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(WORDS).prop_map(str::to_string),
            1 => "[aeilnorsu -]{0,9}",
            1 => Just(String::new()),
        ]
    }

    /// A record of these names, when they make a name at all.
    fn person(given: &str, s1: &str, s2: &str, dob: &str) -> Option<Record> {
        let input = enlace_normalize::NameInput::Parts {
            given,
            surname1: s1,
            surname2: s2,
        };
        let name = enlace_normalize::parse_name(input).ok()?;
        let mut r = rec("x", "juan", "", "", dob);
        r.name = name;
        Some(r)
    }

    /// Identifiers drawn from a few, valid and not, so that pairs share some, differ in
    /// others of the same kind, or have none of a kind.
    const IDS: &[(IdKind, &str, &str)] = &[
        (IdKind::Phone, "+52 55 1234 5678", "MX"),
        (IdKind::Phone, "+52 55 1234 5679", "MX"),
        (IdKind::Phone, "+502 5555 1234", "GT"),
        (IdKind::Phone, "12", "MX"),
        (IdKind::Curp, "GOPJ800101HDFRRN09", "MX"),
        (IdKind::Curp, "GOPJ800101HDFRRN0X", "MX"),
        (IdKind::Passport, "G12345678", "MX"),
        (IdKind::Passport, "G12345679", "MX"),
        (IdKind::ANumber, "A012345678", "US"),
        (IdKind::ANumber, "A012345687", "US"),
        (IdKind::ANumber, "A098765432", "US"),
        (IdKind::Plate, "ABC1234", "MX"),
    ];
    const NATIONALITIES: &[Option<&str>] = &[
        Some("MX"),
        Some("GT"),
        Some(""),
        None,
        Some("a nationality written out in full"),
    ];

    /// Gives `r` the identifiers `ids` and the nationality `nationality` of the lists above
    /// (any numbers: taken modulo the lists' lengths).
    fn extras(r: &mut Record, ids: &[usize], nationality: usize) {
        for i in ids {
            let (kind, raw, country) = IDS[i % IDS.len()];
            *r = crate::testutil::with_id(r.clone(), kind, raw, country);
        }
        r.nationality = NATIONALITIES[nationality % NATIONALITIES.len()].map(str::to_string);
    }

    proptest! {
        /// Hinted or not, every pair gets the same levels, both ways round.
        #[test]
        fn hinted_levels_are_the_plain_ones(
            g in proptest::collection::vec(name(), 4),
            s in proptest::collection::vec(name(), 4),
            swap in any::<bool>(),
            ids_a in proptest::collection::vec(0..IDS.len(), 0..3),
            ids_b in proptest::collection::vec(0..IDS.len(), 0..3),
            nat in proptest::collection::vec(0..NATIONALITIES.len(), 2),
        ) {
            let a = person(&format!("{} {}", g[0], g[1]), &s[0], &s[1], "1990-03-04");
            // Now and then `b` has its fields crossed over, so the swap path runs too.
            let b = if swap {
                person(&s[2], &g[2], &g[3], "1990-03-04")
            } else {
                person(&format!("{} {}", g[2], g[3]), &s[2], &s[3], "1990-04-03")
            };
            let (Some(mut a), Some(mut b)) = (a, b) else {
                return Ok(());
            };
            extras(&mut a, &ids_a, nat[0]);
            extras(&mut b, &ids_b, nat[1]);
            let records = [a, b];
            let hints = Hints::of(records.par_iter());
            let (a, b) = (&records[0], &records[1]);
            prop_assert_eq!(compare_hinted(a, b, Some(hints.pair(0, 1))), compare(a, b));
            prop_assert_eq!(compare_hinted(b, a, Some(hints.pair(1, 0))), compare(b, a));
        }
    }

    /// Hints worked out in several chunks address each record's own sets.
    #[test]
    fn hints_of_many_records_are_each_records_own() {
        let n = 3 * 4096 + 17;
        let word = |i: usize| WORDS[i % WORDS.len()];
        let records: Vec<Record> = (0..n)
            .filter_map(|i| {
                let mut r = person(word(i), word(i / 7), word(i / 3 + 1), "1990-03-04")?;
                let ids: &[usize] = if i % 5 < 2 { &[i / 5] } else { &[] };
                extras(&mut r, ids, i / 2);
                Some(r)
            })
            .collect();
        let hints = Hints::of(records.par_iter());
        let step = 409;
        for i in (0..records.len()).step_by(step) {
            for j in (i % 11..records.len()).step_by(step + 2) {
                let (a, b) = (&records[i], &records[j]);
                let hinted = compare_hinted(a, b, Some(hints.pair(i as u32, j as u32)));
                assert_eq!(hinted, compare(a, b), "records {i} and {j}");
            }
        }
    }

    proptest! {
        /// The word-wise count of common letters is the lane-by-lane one.
        #[test]
        fn common_letters_counts_lane_by_lane(a in "[ -~]{1,127}", b in "[ -~]{1,127}") {
            let hint = |s: &str| NameHint::of(Some(s), &mut Vec::new());
            let counts = |s: &str| {
                let mut c = [0usize; 32];
                s.bytes().for_each(|x| c[lane(x)] += 1);
                c
            };
            let (ca, cb) = (counts(&a), counts(&b));
            let want: usize = ca.iter().zip(&cb).map(|(x, y)| x.min(y)).sum();
            prop_assert_eq!(common_letters(&hint(&a).profile, &hint(&b).profile), want);
        }
    }

    #[test]
    fn hints_rule_out_only_what_differs() {
        let hint = |s: &str| NameHint::of(Some(s), &mut Vec::new());
        // Compact forms agree; whether the names do, only the names can tell.
        assert_eq!(hint("de la cruz").same_compact(&hint("delacruz")), None);
        assert_eq!(hint("de la cruz").equal(&hint("delacruz")), Some(false));
        assert_eq!(hint("garcia").equal(&hint("garza")), Some(false));
        assert_eq!(hint("garcia").same_compact(&hint("garcia")), Some(true));
        assert_eq!(hint("juan").equal(&hint("juan")), Some(true));
        // Past 15 bytes a name is not held: equal hashes leave the answer to the names.
        let long = "maria de los angeles";
        assert_eq!(hint(long).equal(&hint(long)), None);
        assert_eq!(NameHint::default().equal(&hint("juan")), Some(false));
        assert_eq!(NameHint::default().equal(&NameHint::default()), None);
        assert!(hint("j").is_initial() && !hint("juan").is_initial());
        // The longest names with a profile, all one letter: the count and its sum at their
        // largest.
        let (x, y) = ("a".repeat(PROFILE_MAX), "a".repeat(PROFILE_MAX - 1));
        assert_eq!(
            common_letters(&hint(&x).profile, &hint(&x).profile),
            PROFILE_MAX
        );
        assert_eq!(
            common_letters(&hint(&x).profile, &hint(&y).profile),
            PROFILE_MAX - 1
        );
        assert!(!hint(&"a".repeat(PROFILE_MAX + 1)).has_profile);
        assert!(hint("garcia").may_reach(&hint("garza"), 0.8));
        assert!(!hint("carlos").may_reach(&hint("maria"), 0.8));
        // No profile for a name that is not ASCII: nothing ruled out.
        assert!(hint("ñandú").may_reach(&hint("x"), 0.99));
    }
}
