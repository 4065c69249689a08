//! Blocking: the candidate pairs worth comparing. Each rule puts records sharing a key in a
//! block; a pair is a candidate when some rule puts both records in the same block. The rules'
//! pairs are unioned without duplicates.
//!
//! Blocks larger than `max_block` records are skipped (and counted in the report): a block of
//! n records costs n²/2 comparisons, and a huge block means the key is too common to say
//! anything ("hernandez" born in 1990). The other rules still see those records, so a true pair
//! is lost only when every rule that could find it falls in an oversized block.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;
use serde::Serialize;

mod packed;

use crate::blocks::Blocks;
use crate::compare::Field;
use crate::{Dataset, Linkable};
use enlace_model::Record;
use enlace_normalize::IdKind;
use packed::{KeyParts, RuleBlocks};

/// One way of keying records into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockingRule {
    /// Phonetic key of the first surname, and birth year.
    Surname1PhoneticYear,
    /// Phonetic key of the first given name, and the full birth date.
    GivenPhoneticBirthDate,
    /// Each valid personal identifier (kind and value): phone, CURP, DPI/CUI, A-number, passport.
    Identifier,
    /// Phonetic keys of the second surname and of the first given name.
    Surname2PhoneticGivenPhonetic,
    /// Phonetic keys of the first surname and of the first given name: finds pairs whose birth
    /// dates disagree or are missing.
    Surname1PhoneticGivenPhonetic,
    /// The full birth date alone (not a placeholder): finds pairs whose names were swapped
    /// between fields or badly misspelt.
    BirthDate,
    /// Phonetic keys of both surnames, in either order: finds pairs whose given name and birth
    /// date both carry errors, and surnames written in the wrong order.
    SurnamesPhonetic,
    /// Phonetic key of the first surname, birth month and day: finds birth years off by one or
    /// two when the given name is misspelt too.
    Surname1PhoneticMonthDay,
    /// Phonetic keys of the first surname and the first given name, and birth year: splits
    /// the blocks of `Surname1PhoneticYear` and `Surname1PhoneticGivenPhonetic` that common
    /// names make too large to keep (José López born in 1990, at a million people).
    Surname1PhoneticGivenPhoneticYear,
    /// Phonetic keys of both surnames, in either order, and birth year: splits the too-large
    /// blocks of `SurnamesPhonetic` (García Pérez) for pairs whose given names disagree.
    SurnamesPhoneticYear,
    /// Each valid official identifier (CURP, DPI/CUI, A-number, passport, national id), phones
    /// left out.
    /// Not a default blocking rule (`Identifier` covers it) but the cleanest set to train on:
    /// two records sharing one are almost always the same person, whereas relatives share
    /// household phones.
    OfficialIdentifier,
    /// Each valid phone. Not a default blocking rule either (`Identifier` covers it): the set
    /// the official identifiers' m is trained on. Records sharing a phone are one person or a
    /// household, which names and birth dates (held from the identifier set) tell apart; the
    /// next set, records sharing a given name and birth date, holds namesakes those fields
    /// cannot tell from matches, and EM there read their different A-numbers as keying errors
    /// of one person (m of "none shared" 4.5 % at a million people, against 0.04 % true).
    Phone,
}

impl BlockingRule {
    /// Every rule, for lookups by name: the default set, the two that split common names'
    /// blocks (default when linking sources) and the training-only ones.
    pub fn all() -> impl Iterator<Item = BlockingRule> {
        BlockingRule::LINK_DEFAULT
            .into_iter()
            .chain([BlockingRule::OfficialIdentifier, BlockingRule::Phone])
    }

    /// The rule called `name` ([`BlockingRule::name`]).
    pub fn from_name(name: &str) -> Option<BlockingRule> {
        BlockingRule::all().find(|r| r.name() == name)
    }

    /// The default rule set.
    pub const DEFAULT: [BlockingRule; 8] = [
        BlockingRule::Surname1PhoneticYear,
        BlockingRule::GivenPhoneticBirthDate,
        BlockingRule::Identifier,
        BlockingRule::Surname2PhoneticGivenPhonetic,
        BlockingRule::Surname1PhoneticGivenPhonetic,
        BlockingRule::BirthDate,
        BlockingRule::SurnamesPhonetic,
        BlockingRule::Surname1PhoneticMonthDay,
    ];

    /// The default rules for linking several sources: [`BlockingRule::DEFAULT`] and the two
    /// that split common names' capped blocks by birth year. At a million people they bring
    /// the true pairs of common names that no other block under the cap holds (F1 0.949 →
    /// 0.952 on the generated scenario, 9 s more; docs/linkage.md, "Caps"). Deduplication
    /// keeps the eight: its time target has no room for them.
    pub const LINK_DEFAULT: [BlockingRule; 10] = {
        // The eight, then the two; the last is the fill.
        let mut rules = [BlockingRule::SurnamesPhoneticYear; 10];
        let mut i = 0;
        while i < BlockingRule::DEFAULT.len() {
            rules[i] = BlockingRule::DEFAULT[i];
            i += 1;
        }
        rules[8] = BlockingRule::Surname1PhoneticGivenPhoneticYear;
        rules
    };

    pub fn name(self) -> &'static str {
        match self {
            BlockingRule::Surname1PhoneticYear => "surname1_phonetic+birth_year",
            BlockingRule::GivenPhoneticBirthDate => "given_phonetic+birth_date",
            BlockingRule::Identifier => "identifier",
            BlockingRule::Surname2PhoneticGivenPhonetic => "surname2_phonetic+given_phonetic",
            BlockingRule::Surname1PhoneticGivenPhonetic => "surname1_phonetic+given_phonetic",
            BlockingRule::BirthDate => "birth_date",
            BlockingRule::SurnamesPhonetic => "surnames_phonetic",
            BlockingRule::Surname1PhoneticMonthDay => "surname1_phonetic+birth_month_day",
            BlockingRule::Surname1PhoneticGivenPhoneticYear => {
                "surname1_phonetic+given_phonetic+birth_year"
            }
            BlockingRule::SurnamesPhoneticYear => "surnames_phonetic+birth_year",
            BlockingRule::OfficialIdentifier => "official_identifier",
            BlockingRule::Phone => "phone",
        }
    }

    /// The compared fields a rule's key is made of: their agreement is forced by the block, so
    /// training on the rule's pairs learns nothing about them.
    pub fn fields(self) -> &'static [Field] {
        match self {
            BlockingRule::Surname1PhoneticYear => &[Field::Surnames, Field::BirthDate],
            BlockingRule::GivenPhoneticBirthDate => &[Field::GivenName, Field::BirthDate],
            BlockingRule::Identifier => &[Field::Identifier, Field::Phone],
            BlockingRule::Surname2PhoneticGivenPhonetic
            | BlockingRule::Surname1PhoneticGivenPhonetic => &[Field::Surnames, Field::GivenName],
            BlockingRule::BirthDate => &[Field::BirthDate],
            BlockingRule::SurnamesPhonetic => &[Field::Surnames],
            BlockingRule::Surname1PhoneticMonthDay => &[Field::Surnames, Field::BirthDate],
            BlockingRule::Surname1PhoneticGivenPhoneticYear => {
                &[Field::Surnames, Field::GivenName, Field::BirthDate]
            }
            BlockingRule::SurnamesPhoneticYear => &[Field::Surnames, Field::BirthDate],
            BlockingRule::OfficialIdentifier => &[Field::Identifier],
            BlockingRule::Phone => &[Field::Phone],
        }
    }

    /// Whether the rule keys records by their valid identifiers of `kind`; false for every
    /// kind when it keys them by names and dates.
    pub(crate) fn keys_identifiers_of(self, kind: IdKind) -> bool {
        match self {
            BlockingRule::Identifier => kind.is_personal(),
            BlockingRule::OfficialIdentifier => kind.is_official(),
            BlockingRule::Phone => kind == IdKind::Phone,
            _ => false,
        }
    }

    /// Whether the rule keys records by identifiers rather than names and dates.
    pub(crate) fn by_identifier(self) -> bool {
        matches!(
            self,
            BlockingRule::Identifier | BlockingRule::OfficialIdentifier | BlockingRule::Phone
        )
    }

    /// The keys a record gets under this rule (none when a needed value is missing), in
    /// readable form. Blocking itself keys records by numbers (module `packed`), which a test holds
    /// to grouping the records exactly as these strings do.
    pub fn keys(self, r: &Record) -> Vec<String> {
        let n = &r.name;
        let date = r
            .birth_date
            .filter(|d| !d.is_null_sentinel())
            .map(|d| (d, d.month.is_some() && d.day.is_some() && !d.placeholder));
        // Built only by the rules that use it: every rule runs on every record.
        let full_date = || date.filter(|(_, full)| *full).map(|(d, _)| d.iso());
        match self {
            BlockingRule::Surname1PhoneticYear => match (nonempty(&n.surname1_phonetic), date) {
                (Some(s), Some((d, _))) => vec![format!("{s}|{}", d.year)],
                _ => vec![],
            },
            BlockingRule::GivenPhoneticBirthDate => match nonempty(&n.given_phonetic) {
                Some(g) => full_date()
                    .map(|d| format!("{g}|{d}"))
                    .into_iter()
                    .collect(),
                None => vec![],
            },
            BlockingRule::Identifier | BlockingRule::OfficialIdentifier | BlockingRule::Phone => r
                .identifiers
                .iter()
                .filter(|i| i.valid && self.keys_identifiers_of(i.kind))
                .map(|i| format!("{}|{}", i.kind.as_str(), i.value))
                .collect(),
            BlockingRule::Surname2PhoneticGivenPhonetic => {
                match (nonempty(&n.surname2_phonetic), nonempty(&n.given_phonetic)) {
                    (Some(s), Some(g)) => vec![format!("{s}|{g}")],
                    _ => vec![],
                }
            }
            BlockingRule::Surname1PhoneticGivenPhonetic => {
                match (nonempty(&n.surname1_phonetic), nonempty(&n.given_phonetic)) {
                    (Some(s), Some(g)) => vec![format!("{s}|{g}")],
                    _ => vec![],
                }
            }
            BlockingRule::BirthDate => full_date().into_iter().collect(),
            BlockingRule::SurnamesPhonetic => {
                match (
                    nonempty(&n.surname1_phonetic),
                    nonempty(&n.surname2_phonetic),
                ) {
                    (Some(a), Some(b)) if a <= b => vec![format!("{a}|{b}")],
                    (Some(a), Some(b)) => vec![format!("{b}|{a}")],
                    _ => vec![],
                }
            }
            BlockingRule::Surname1PhoneticMonthDay => {
                let month_day = date
                    .filter(|(_, full)| *full)
                    .and_then(|(d, _)| Some((d.month?, d.day?)));
                match (nonempty(&n.surname1_phonetic), month_day) {
                    (Some(s), Some((m, d))) => vec![format!("{s}|{m:02}-{d:02}")],
                    _ => vec![],
                }
            }
            BlockingRule::Surname1PhoneticGivenPhoneticYear => match (
                nonempty(&n.surname1_phonetic),
                nonempty(&n.given_phonetic),
                date,
            ) {
                (Some(s), Some(g), Some((d, _))) => vec![format!("{s}|{g}|{}", d.year)],
                _ => vec![],
            },
            BlockingRule::SurnamesPhoneticYear => match (
                nonempty(&n.surname1_phonetic),
                nonempty(&n.surname2_phonetic),
                date,
            ) {
                (Some(a), Some(b), Some((d, _))) => {
                    let (a, b) = if a <= b { (a, b) } else { (b, a) };
                    vec![format!("{a}|{b}|{}", d.year)]
                }
                _ => vec![],
            },
        }
    }
}

/// A key part that is there and not empty.
fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|k| !k.is_empty())
}

/// Which pairs of records are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairScope {
    /// Every pair, within and across sources.
    All,
    /// Only pairs of records from different sources (linking).
    Across,
    /// Only pairs of records from the same source (deduplication).
    Within,
}

impl PairScope {
    pub(crate) fn admits<D: Linkable + ?Sized>(self, data: &D, a: u32, b: u32) -> bool {
        match self {
            PairScope::All => true,
            PairScope::Across => data.source_of(a) != data.source_of(b),
            PairScope::Within => data.source_of(a) == data.source_of(b),
        }
    }

    /// Number of pairs of the scope among sources of these sizes: the denominator of the
    /// reduction ratio.
    pub fn possible(self, sizes: &[u64]) -> u64 {
        let within: u64 = sizes.iter().map(|n| n * n.saturating_sub(1) / 2).sum();
        let n: u64 = sizes.iter().sum();
        let all = n * n.saturating_sub(1) / 2;
        match self {
            PairScope::All => all,
            PairScope::Within => within,
            PairScope::Across => all - within,
        }
    }
}

/// Blocking rules with their cap and scope.
#[derive(Debug, Clone)]
pub struct Blocker {
    pub rules: Vec<BlockingRule>,
    /// Blocks with more records than this are skipped.
    pub max_block: usize,
    pub scope: PairScope,
}

impl Default for Blocker {
    fn default() -> Self {
        Blocker {
            rules: BlockingRule::DEFAULT.to_vec(),
            // Measured (docs/linkage.md, "Caps"): 100 instead of 300 keeps F1 within 0.001 at
            // 3,000 to 100,000 people and cuts candidate pairs, time and memory by half or more.
            max_block: 100,
            scope: PairScope::All,
        }
    }
}

/// What one rule contributed.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// The rule's name ([`BlockingRule::name`], or an encoded blocking key's).
    pub rule: String,
    pub blocks: usize,
    /// Pairs this rule generated (before the union removed those other rules found too).
    pub pairs: usize,
    /// Pairs first found by this rule (rules run in order).
    pub new_pairs: usize,
    /// Blocks skipped for exceeding the cap, and the records in them.
    pub capped_blocks: usize,
    pub capped_records: usize,
    /// Parts of capped blocks kept for the pairs within one source (see [`Cap`]).
    pub kept_parts: usize,
}

/// What blocking produced.
#[derive(Debug, Clone, Serialize)]
pub struct BlockingReport {
    pub rules: Vec<RuleReport>,
    /// Distinct candidate pairs.
    pub pairs: usize,
    /// Pairs of the scope over the whole data.
    pub possible_pairs: u64,
    /// 1 − pairs / possible pairs.
    pub reduction_ratio: f64,
}

impl BlockingReport {
    /// Records a rule whose pairs came after blocking (all of them new), and counts them in
    /// the totals.
    pub(crate) fn add_rule_after_the_fact(&mut self, rule: &str, pairs: usize) {
        self.rules.push(RuleReport {
            pairs,
            new_pairs: pairs,
            ..RuleReport::named(rule)
        });
        self.pairs += pairs;
        if self.possible_pairs > 0 {
            self.reduction_ratio = 1.0 - self.pairs as f64 / self.possible_pairs as f64;
        }
    }
}

impl RuleReport {
    /// A rule's report before anything is counted.
    pub(crate) fn named(rule: impl Into<String>) -> RuleReport {
        RuleReport {
            rule: rule.into(),
            blocks: 0,
            pairs: 0,
            new_pairs: 0,
            capped_blocks: 0,
            capped_records: 0,
            kept_parts: 0,
        }
    }

    /// Counts `block` (its records ascending) among the rule's blocks and gives `keep` the
    /// records whose pairs are kept under `cap`: the whole block when it is within the cap, else
    /// (the block counted as capped, with its records) each source's part of it that is within
    /// the cap, when pairs within a source are wanted. A part of one record has no pairs.
    pub(crate) fn keep_parts<'b>(
        &mut self,
        block: &'b [u32],
        cap: &Cap,
        mut keep: impl FnMut(&'b [u32]),
    ) {
        self.blocks += 1;
        if block.len() <= cap.max {
            if block.len() > 1 {
                keep(block);
            }
            return;
        }
        self.capped_blocks += 1;
        self.capped_records += block.len();
        let Some(starts) = cap.source_starts.as_deref() else {
            return;
        };
        let mut rest = block;
        for &start in starts.iter().chain([&u32::MAX]) {
            let (part, after) = rest.split_at(rest.partition_point(|&id| id < start));
            // A block of one source is over the cap as a whole, so never kept here.
            if part.len() > 1 && part.len() <= cap.max {
                self.kept_parts += 1;
                keep(part);
            }
            rest = after;
        }
    }
}

/// How large blocks are capped. A block of more than `max` records is skipped: its key is too
/// common to mean anything, and it would cost `max²/2` comparisons. When the sources are linked
/// and deduplicated together, a block over the cap may still hold few records of each source:
/// a name common in all three files is not common in one. So each source's part of a capped
/// block is kept for the pairs within that source when it is within the cap itself, and a
/// source's duplicates are found as they are when it is deduplicated alone.
#[derive(Debug, Clone)]
pub(crate) struct Cap {
    pub(crate) max: usize,
    /// The first record of each source after the first (records are numbered source by
    /// source); `None` when pairs within a source are not wanted.
    source_starts: Option<Vec<u32>>,
}

impl Cap {
    /// Blocks over `max` records skipped whole, whatever their sources: the encoded path's cap.
    /// On encodings, keeping the sources' parts of capped blocks cost precision more than it
    /// gave recall (docs/linkage.md, "Caps").
    pub(crate) fn whole_blocks(max: usize) -> Cap {
        Cap {
            max,
            source_starts: None,
        }
    }

    /// The plaintext cap: each source's part of a capped block kept for the pairs within the
    /// source unless `scope` links only across sources.
    pub(crate) fn new(max: usize, scope: PairScope, source_sizes: &[u64]) -> Cap {
        let starts = source_sizes
            .iter()
            .scan(0u64, |at, &n| {
                *at += n;
                Some(u32::try_from(*at).unwrap_or(u32::MAX))
            })
            .take(source_sizes.len().saturating_sub(1))
            .collect();
        Cap {
            max,
            source_starts: (scope != PairScope::Across).then_some(starts),
        }
    }
}

impl BlockingReport {
    /// The report of `pairs` distinct candidates out of `possible` pairs of the scope.
    pub(crate) fn new(rules: Vec<RuleReport>, pairs: usize, possible: u64) -> BlockingReport {
        BlockingReport {
            rules,
            pairs,
            possible_pairs: possible,
            reduction_ratio: if possible == 0 {
                0.0
            } else {
                1.0 - pairs as f64 / possible as f64
            },
        }
    }
}

impl Blocker {
    /// The pairs one rule generates (each once, `a < b`, sorted), and its report.
    pub fn rule_pairs(&self, data: &Dataset, rule: BlockingRule) -> (Vec<(u32, u32)>, RuleReport) {
        let blocks = RuleBlocks::of(&KeyParts::new(data, &[rule]), rule);
        let mut rep = RuleReport::named(rule.name());
        let cap = Cap::new(self.max_block, self.scope, &data.source_sizes());
        let mut kept: Vec<&[u32]> = Vec::new();
        for block in blocks.iter() {
            rep.keep_parts(block, &cap, |part| kept.push(part));
        }
        // Pairs are gathered block by block in parallel, then sorted and deduplicated (a record
        // with two phones may meet another in two blocks of one rule): a sort of 8-byte pairs
        // costs less time and memory than a hash set of them, and the result does not depend on
        // hashing.
        let mut out: Vec<(u32, u32)> = kept
            .par_iter()
            .flat_map_iter(|members| {
                let mut v = Vec::with_capacity(members.len() * (members.len() - 1) / 2);
                for (i, &a) in members.iter().enumerate() {
                    for &b in &members[i + 1..] {
                        if a != b && self.scope.admits(data, a, b) {
                            v.push((a.min(b), a.max(b)));
                        }
                    }
                }
                v
            })
            .collect();
        out.par_sort_unstable();
        out.dedup();
        rep.pairs = out.len();
        (out, rep)
    }

    /// Every rule's blocks, for comparing the candidates block by block.
    pub(crate) fn blocks(&self, data: &Dataset) -> Blocks {
        let mut blocks = Blocks::new(data.len(), self.rules.len());
        // The rules do not depend on each other: as many at once as there are threads, their
        // blocks then numbered in rule order. A chunk at a time, so that no more rules' blocks
        // are held than there are threads.
        let parts = KeyParts::new(data, &self.rules);
        let cap = Cap::new(self.max_block, self.scope, &data.source_sizes());
        let threads = rayon::current_num_threads().max(1);
        for rules in self.rules.chunks(threads) {
            let grouped: Vec<RuleBlocks> = rules
                .par_iter()
                .map(|&rule| RuleBlocks::of(&parts, rule))
                .collect();
            for (rule, rule_blocks) in rules.iter().zip(grouped) {
                blocks.add_rule(rule.name().to_string(), rule_blocks.iter(), &cap);
            }
        }
        blocks
    }

    /// The candidate pairs `(a, b)`, `a < b`, sorted, without duplicates, and a report.
    pub fn pairs(&self, data: &Dataset) -> (Vec<(u32, u32)>, BlockingReport) {
        let per_rule = self.rules.iter().map(|&rule| self.rule_pairs(data, rule));
        union_of_rules(per_rule, self.scope.possible(&data.source_sizes()))
    }
}

/// The union of each rule's pairs, in rule order (a pair counts as new for the first rule that
/// found it), sorted, with the report; `possible` is the number of pairs of the scope.
pub(crate) fn union_of_rules(
    per_rule: impl Iterator<Item = (Vec<(u32, u32)>, RuleReport)>,
    possible: u64,
) -> (Vec<(u32, u32)>, BlockingReport) {
    // Each rule's pairs come sorted and without duplicates, so the union is a merge: the
    // lists' heads in a heap ordered by pair then rule, so that the first rule to find a pair
    // is the one that counts it as new. A merge reads each pair once, where sorting them all
    // again took a tenth of a run at a few million records; and the output's capacity is
    // an upper bound whose untouched tail never costs memory.
    let (lists, mut reports): (Vec<Vec<(u32, u32)>>, Vec<RuleReport>) = per_rule.unzip();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut heads: BinaryHeap<Reverse<((u32, u32), usize)>> = lists
        .iter()
        .enumerate()
        .filter_map(|(rule, pairs)| pairs.first().map(|&p| Reverse((p, rule))))
        .collect();
    let mut next = vec![1usize; lists.len()];
    while let Some(Reverse((pair, rule))) = heads.pop() {
        if out.last() != Some(&pair) {
            out.push(pair);
            reports[rule].new_pairs += 1;
        }
        if let Some(&p) = lists[rule].get(next[rule]) {
            next[rule] += 1;
            heads.push(Reverse((p, rule)));
        }
    }
    drop(lists);
    let report = BlockingReport::new(reports, out.len(), possible);
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use crate::testutil::{rec, with_id};

    #[test]
    fn linking_defaults_are_the_eight_then_the_two_that_split_common_names() {
        let link = BlockingRule::LINK_DEFAULT;
        assert_eq!(link[..8], BlockingRule::DEFAULT);
        assert_eq!(
            link[8..],
            [
                BlockingRule::Surname1PhoneticGivenPhoneticYear,
                BlockingRule::SurnamesPhoneticYear
            ]
        );
        // Every rule is found by its name, once.
        let names: std::collections::BTreeSet<&str> =
            BlockingRule::all().map(|r| r.name()).collect();
        assert_eq!(names.len(), 12);
        assert!(BlockingRule::all().all(|r| BlockingRule::from_name(r.name()) == Some(r)));
    }

    #[test]
    fn a_capped_block_keeps_each_sources_part_that_is_within_the_cap() {
        // Three sources of ten records: ids 0..10, 10..20, 20..30.
        let sizes = [10, 10, 10];
        let block = [1, 2, 3, 11, 12, 13, 14, 15, 21, 22];
        let parts = |cap: &Cap| {
            let mut rep = RuleReport::named("r");
            let mut kept: Vec<Vec<u32>> = Vec::new();
            rep.keep_parts(&block, cap, |p| kept.push(p.to_vec()));
            (kept, rep)
        };
        // Ten records over a cap of four: capped, but the first and third sources hold three
        // and two of them; the second's five stay capped.
        let (kept, rep) = parts(&Cap::new(4, PairScope::All, &sizes));
        assert_eq!(kept, vec![vec![1, 2, 3], vec![21, 22]]);
        assert_eq!(
            (
                rep.blocks,
                rep.capped_blocks,
                rep.capped_records,
                rep.kept_parts
            ),
            (1, 1, 10, 2)
        );
        // Linking only across sources, and on encodings, a capped block gives nothing.
        for cap in [Cap::new(4, PairScope::Across, &sizes), Cap::whole_blocks(4)] {
            let (kept, rep) = parts(&cap);
            assert!(kept.is_empty());
            assert_eq!((rep.capped_blocks, rep.kept_parts), (1, 0));
        }
        // Within the cap, the block is kept whole; one source alone is never split.
        assert_eq!(
            parts(&Cap::new(10, PairScope::All, &sizes)).0,
            vec![block.to_vec()]
        );
        assert!(parts(&Cap::new(4, PairScope::Within, &[30])).0.is_empty());
    }

    fn data() -> Dataset {
        let phone = |r| with_id(r, IdKind::Phone, "962 123 4567", "MX");
        Dataset::new(vec![
            Source {
                name: "us".into(),
                records: vec![
                    phone(rec("u1", "Juan", "Pérez", "García", "1990-03-05")),
                    rec("u2", "Juan", "Perez", "", "1990-03-05"),
                    rec("u3", "Ana", "Xol", "Caal", "1985-07-01"),
                ],
            },
            Source {
                name: "mx".into(),
                records: vec![
                    phone(rec("m1", "Juan", "Pérez", "García", "1990-03-05")),
                    rec("m2", "Ana", "Xol", "Caal", "1985-07-01"),
                    rec("m3", "Pedro", "Tzul", "", "1970-01-20"),
                ],
            },
        ])
    }

    #[test]
    fn union_has_no_duplicate_pairs() {
        let d = data();
        let (pairs, report) = Blocker::default().pairs(&d);
        let mut sorted = pairs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, pairs);
        assert!(pairs.iter().all(|(a, b)| a < b));
        // u1–m1 share every key, and appear once.
        assert!(pairs.contains(&(0, 3)));
        let generated: usize = report.rules.iter().map(|r| r.pairs).sum();
        assert!(
            generated > pairs.len(),
            "rules overlap, the union removes repeats"
        );
        assert_eq!(
            report.rules.iter().map(|r| r.new_pairs).sum::<usize>(),
            pairs.len()
        );
        assert!(report.reduction_ratio > 0.0 && report.reduction_ratio < 1.0);
    }

    proptest::proptest! {
        #[test]
        fn the_merged_union_is_the_sorted_union_and_credits_the_first_finder(
            lists in proptest::collection::vec(
                proptest::collection::btree_set((0u32..40, 0u32..40), 0..60), 0..5)
        ) {
            let per_rule = lists
                .iter()
                .enumerate()
                .map(|(i, set)| (set.iter().copied().collect::<Vec<_>>(), RuleReport::named(i.to_string())));
            let (union, rep) = union_of_rules(per_rule, 1000);
            let mut want: Vec<(u32, u32)> = lists.iter().flatten().copied().collect();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(&union, &want);
            for (i, r) in rep.rules.iter().enumerate() {
                let first = want
                    .iter()
                    .filter(|p| lists.iter().position(|l| l.contains(p)) == Some(i))
                    .count();
                proptest::prop_assert_eq!(r.new_pairs, first, "rule {}", i);
            }
            proptest::prop_assert_eq!(rep.pairs, want.len());
        }
    }

    #[test]
    fn scopes_and_caps() {
        let d = data();
        let across = Blocker {
            scope: PairScope::Across,
            ..Blocker::default()
        };
        let (pairs, report) = across.pairs(&d);
        assert!(pairs.iter().all(|&(a, b)| d.source_of(a) != d.source_of(b)));
        assert_eq!(report.possible_pairs, 9);
        let within = Blocker {
            scope: PairScope::Within,
            ..Blocker::default()
        };
        let (pairs, _) = within.pairs(&d);
        assert_eq!(pairs, vec![(0, 1)]);
        let capped = Blocker {
            max_block: 1,
            ..Blocker::default()
        };
        let (pairs, report) = capped.pairs(&d);
        assert!(pairs.is_empty());
        assert!(report.rules.iter().any(|r| r.capped_blocks > 0));
    }

    #[test]
    fn invalid_identifiers_make_no_keys() {
        let r = with_id(rec("1", "A", "B", "", ""), IdKind::Phone, "123", "MX");
        assert!(BlockingRule::Identifier.keys(&r).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn union_is_duplicate_free(names in proptest::collection::vec((0u8..4, 0u8..4, 0u8..3), 2..40)) {
            let given = ["Juan", "Ana", "Luis", "Rosa"];
            let surnames = ["Pérez", "Xol", "García", "Tzul"];
            let dates = ["1990-03-05", "1985-07-01", ""];
            let records: Vec<Record> = names
                .iter()
                .enumerate()
                .map(|(i, &(g, s, d))| {
                    rec(&i.to_string(), given[g as usize], surnames[s as usize], "", dates[d as usize])
                })
                .collect();
            let half = records.len() / 2;
            let d = Dataset::new(vec![
                Source { name: "a".into(), records: records[..half].to_vec() },
                Source { name: "b".into(), records: records[half..].to_vec() },
            ]);
            let (pairs, _) = Blocker::default().pairs(&d);
            let set: rustc_hash::FxHashSet<(u32, u32)> = pairs.iter().copied().collect();
            proptest::prop_assert_eq!(set.len(), pairs.len());
            proptest::prop_assert!(pairs.iter().all(|(a, b)| a < b));
        }
    }
}
