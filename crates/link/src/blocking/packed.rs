//! Blocking keys as numbers.
//!
//! A rule's key was a string ("XL|1990") made, hashed and grouped for every record under every
//! rule: most of blocking's time at a million records. Here each text a key is made of (a
//! phonetic key, an identifier's value) is given a number once, from a table of the distinct
//! texts, and a record's key under a rule is those numbers and its date's fields packed into
//! one integer. Two records get the same integer under a rule exactly when
//! [`BlockingRule::keys`] gives them the same string, so the blocks are the same. Records are
//! grouped by sorting (key, record) pairs: each block comes out ascending, and the grouping
//! depends on no hashing.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::{BlockingRule, nonempty};
use crate::Dataset;
use enlace_normalize::IdKind;

/// A key part the record lacks (missing or empty).
const ABSENT: u32 = u32::MAX;

/// A record's birth date as the rules use it.
#[derive(Clone, Copy, Default)]
struct DateParts {
    /// A date that is not the "unknown" sentinel: its year keys rules.
    known: bool,
    /// Year, month and day all given, and not a placeholder: the whole date keys rules.
    full: bool,
    year: i32,
    month: u8,
    day: u8,
}

impl DateParts {
    /// Year, month and day in 48 bits, for a full date.
    fn bits(self) -> u64 {
        (u64::from(self.year as u32) << 16) | (u64::from(self.month) << 8) | u64::from(self.day)
    }
}

/// The parts of every record's keys, texts replaced by their numbers. Only the parts some of
/// the rules it was made for use are filled in.
pub(super) struct KeyParts {
    records: u32,
    /// Per record: the phonetic keys of the first surname, the second surname and the first
    /// given name.
    phonetic: Vec<[u32; 3]>,
    dates: Vec<DateParts>,
    /// Per record `r`, its valid phones and official identifiers as (kind, value's number):
    /// `ids[id_starts[r]..id_starts[r + 1]]`.
    id_starts: Vec<usize>,
    ids: Vec<(IdKind, u32)>,
}

/// Numbers distinct texts in the order they are first met.
#[derive(Default)]
struct Table<'a>(FxHashMap<&'a str, u32>);

impl<'a> Table<'a> {
    fn number(&mut self, text: Option<&'a str>) -> u32 {
        match text {
            None => ABSENT,
            Some(text) => {
                let next = self.0.len() as u32;
                *self.0.entry(text).or_insert(next)
            }
        }
    }
}

impl KeyParts {
    /// The key parts `rules` need, for every record of `data`. The names' and the
    /// identifiers' texts are numbered side by side, in tables of their own.
    pub(super) fn new(data: &Dataset, rules: &[BlockingRule]) -> KeyParts {
        let records = data.len() as u32;
        let by_identifier = |r: &BlockingRule| r.by_identifier();
        let needs_ids = rules.iter().any(by_identifier);
        let needs_names = rules
            .iter()
            .any(|r| !by_identifier(r) && *r != BlockingRule::BirthDate);
        let needs_dates = rules.iter().any(|r| !by_identifier(r));
        let names = || {
            if !needs_names {
                return Vec::new();
            }
            let mut table = Table::default();
            (0..records)
                .map(|id| {
                    let n = &data.record(id).name;
                    [
                        table.number(nonempty(&n.surname1_phonetic)),
                        table.number(nonempty(&n.surname2_phonetic)),
                        table.number(nonempty(&n.given_phonetic)),
                    ]
                })
                .collect()
        };
        let identifiers = || {
            if !needs_ids {
                return (Vec::new(), Vec::new());
            }
            let mut table = Table::default();
            let mut starts = Vec::with_capacity(records as usize + 1);
            let mut ids = Vec::new();
            starts.push(0);
            for id in 0..records {
                for i in &data.record(id).identifiers {
                    if i.valid && (i.kind == IdKind::Phone || i.kind.is_official()) {
                        ids.push((i.kind, table.number(Some(&i.value))));
                    }
                }
                starts.push(ids.len());
            }
            (starts, ids)
        };
        let ((phonetic, (id_starts, ids)), dates) = rayon::join(
            || rayon::join(names, identifiers),
            || {
                if !needs_dates {
                    return Vec::new();
                }
                (0..records)
                    .map(|id| date_parts(data, id))
                    .collect::<Vec<_>>()
            },
        );
        KeyParts {
            records,
            phonetic,
            dates,
            id_starts,
            ids,
        }
    }

    /// Calls `key` with each of record `id`'s keys under `rule` (none when a needed part is
    /// missing). `rule` must be one of those the parts were made for.
    fn each_key(&self, rule: BlockingRule, id: u32, mut key: impl FnMut(u128)) {
        let r = id as usize;
        let [s1, s2, given] = self.phonetic.get(r).copied().unwrap_or([ABSENT; 3]);
        let date = self.dates.get(r).copied().unwrap_or_default();
        let present = |parts: &[u32]| parts.iter().all(|&p| p != ABSENT);
        match rule {
            BlockingRule::Surname1PhoneticYear if present(&[s1]) && date.known => {
                key(pack(s1, 0, u64::from(date.year as u32)))
            }
            BlockingRule::GivenPhoneticBirthDate if present(&[given]) && date.full => {
                key(pack(given, 0, date.bits()))
            }
            BlockingRule::Identifier | BlockingRule::OfficialIdentifier | BlockingRule::Phone => {
                let (lo, hi) = (self.id_starts[r], self.id_starts[r + 1]);
                for &(kind, value) in &self.ids[lo..hi] {
                    if rule.keys_identifiers_of(kind) {
                        key(pack(kind as u32, value, 0));
                    }
                }
            }
            BlockingRule::Surname2PhoneticGivenPhonetic if present(&[s2, given]) => {
                key(pack(s2, given, 0))
            }
            BlockingRule::Surname1PhoneticGivenPhonetic if present(&[s1, given]) => {
                key(pack(s1, given, 0))
            }
            BlockingRule::BirthDate if date.full => key(pack(0, 0, date.bits())),
            BlockingRule::SurnamesPhonetic if present(&[s1, s2]) => {
                key(pack(s1.min(s2), s1.max(s2), 0))
            }
            BlockingRule::Surname1PhoneticMonthDay if present(&[s1]) && date.full => key(pack(
                s1,
                0,
                (u64::from(date.month) << 8) | u64::from(date.day),
            )),
            BlockingRule::Surname1PhoneticGivenPhoneticYear
                if present(&[s1, given]) && date.known =>
            {
                key(pack(s1, given, u64::from(date.year as u32)))
            }
            BlockingRule::SurnamesPhoneticYear if present(&[s1, s2]) && date.known => {
                key(pack(s1.min(s2), s1.max(s2), u64::from(date.year as u32)))
            }
            _ => {}
        }
    }
}

/// Two numbers and up to 64 bits more, in one key.
fn pack(a: u32, b: u32, rest: u64) -> u128 {
    (u128::from(a) << 96) | (u128::from(b) << 64) | u128::from(rest)
}

fn date_parts(data: &Dataset, id: u32) -> DateParts {
    match data.record(id).birth_date {
        Some(d) if !d.is_null_sentinel() => DateParts {
            known: true,
            full: d.month.is_some() && d.day.is_some() && !d.placeholder,
            year: d.year,
            month: d.month.unwrap_or(0),
            day: d.day.unwrap_or(0),
        },
        _ => DateParts::default(),
    }
}

/// One rule's blocks, every key's included (one record or more): the records of block `k`,
/// ascending and each once, are `members[starts[k]..starts[k + 1]]`. Blocks come in the order
/// of their keys.
pub(crate) struct RuleBlocks {
    members: Vec<u32>,
    starts: Vec<usize>,
}

impl RuleBlocks {
    /// The blocks of `rule` over the records `parts` were made from.
    pub(super) fn of(parts: &KeyParts, rule: BlockingRule) -> RuleBlocks {
        let mut keyed: Vec<(u128, u32)> = Vec::with_capacity(parts.records as usize);
        for id in 0..parts.records {
            parts.each_key(rule, id, |k| keyed.push((k, id)));
        }
        // A record with the same key twice (one phone written twice) is in its block once.
        keyed.par_sort_unstable();
        keyed.dedup();
        let mut members = Vec::with_capacity(keyed.len());
        let mut starts = vec![0];
        for (i, &(k, id)) in keyed.iter().enumerate() {
            if i > 0 && keyed[i - 1].0 != k {
                starts.push(members.len());
            }
            members.push(id);
        }
        if !members.is_empty() {
            starts.push(members.len());
        }
        RuleBlocks { members, starts }
    }

    /// The blocks, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u32]> {
        self.starts.windows(2).map(|w| &self.members[w[0]..w[1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use crate::testutil::{rec, with_id};
    use enlace_model::Record;
    use proptest::prelude::*;

    /// Each rule's blocks made from its string keys: the records of each key, as sets.
    fn string_blocks(data: &Dataset, rule: BlockingRule) -> Vec<Vec<u32>> {
        let mut by_key: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for id in 0..data.len() as u32 {
            let mut keys = rule.keys(data.record(id));
            keys.sort();
            keys.dedup();
            for k in keys {
                by_key.entry(k).or_default().push(id);
            }
        }
        let mut blocks: Vec<Vec<u32>> = by_key.into_values().collect();
        blocks.sort();
        blocks
    }

    fn packed_blocks(data: &Dataset, rules: &[BlockingRule], rule: BlockingRule) -> Vec<Vec<u32>> {
        let parts = KeyParts::new(data, rules);
        let mut blocks: Vec<Vec<u32>> = RuleBlocks::of(&parts, rule)
            .iter()
            .map(<[u32]>::to_vec)
            .collect();
        blocks.sort();
        blocks
    }

    fn record(
        (given, s1, s2, date, phones, official): (usize, usize, usize, usize, Vec<usize>, usize),
        i: usize,
    ) -> Record {
        // Few values, so that keys repeat; an empty surname, the sentinel, year-only and
        // placeholder dates, invalid and repeated identifiers.
        let names = ["Juan", "Ana", "Xol", "Caal", "Perez", "Pérez", ""];
        let dates = [
            "1990-03-05",
            "1990-05-03",
            "1985",
            "1990-01-01",
            "",
            "1985-07-01",
        ];
        let mut r = rec(
            &i.to_string(),
            names[given % (names.len() - 1)],
            names[s1 % names.len()],
            names[s2 % names.len()],
            dates[date % dates.len()],
        );
        let phone_numbers = ["962 123 4567", "962 765 4321", "123"];
        for p in phones {
            r = with_id(
                r,
                IdKind::Phone,
                phone_numbers[p % phone_numbers.len()],
                "MX",
            );
        }
        if official % 3 == 1 {
            r = with_id(r, IdKind::Passport, "G1234567", "GT");
        }
        r
    }

    proptest! {
        /// Under every rule, alone or made with every other rule, the packed keys group the
        /// records exactly as the string keys do.
        #[test]
        fn packed_keys_make_the_string_keys_blocks(
            shapes in proptest::collection::vec(
                (0usize..7, 0usize..7, 0usize..7, 0usize..6,
                 proptest::collection::vec(0usize..3, 0..3), 0usize..3),
                1..40,
            ),
            split in 0usize..40,
        ) {
            let records: Vec<Record> =
                shapes.into_iter().enumerate().map(|(i, s)| record(s, i)).collect();
            let split = split.min(records.len());
            let data = Dataset::new(vec![
                Source { name: "a".into(), records: records[..split].to_vec() },
                Source { name: "b".into(), records: records[split..].to_vec() },
            ]);
            let all: Vec<BlockingRule> = BlockingRule::all().collect();
            for rule in BlockingRule::all() {
                let want = string_blocks(&data, rule);
                prop_assert_eq!(&packed_blocks(&data, &[rule], rule), &want, "{} alone", rule.name());
                prop_assert_eq!(&packed_blocks(&data, &all, rule), &want, "{} among all", rule.name());
            }
        }
    }

    #[test]
    fn blocks_come_ascending_and_singletons_count() {
        let data = Dataset::new(vec![Source {
            name: "a".into(),
            records: vec![
                rec("1", "Juan", "Pérez", "", "1990-03-05"),
                rec("2", "Ana", "Xol", "", "1990-03-05"),
                rec("3", "Juan", "Perez", "", "1990-03-05"),
            ],
        }]);
        let parts = KeyParts::new(&data, &[BlockingRule::Surname1PhoneticYear]);
        let grouped = RuleBlocks::of(&parts, BlockingRule::Surname1PhoneticYear);
        let blocks: Vec<&[u32]> = grouped.iter().collect();
        assert_eq!(blocks.len(), 2, "{blocks:?}");
        assert!(blocks.contains(&&[0, 2][..]) && blocks.contains(&&[1][..]));
    }
}
