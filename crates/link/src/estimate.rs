//! Estimating the model's parameters: u from random pairs, the level patterns of candidate
//! pairs, EM with u fixed, and the surname frequency table.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

use crate::Linkable;
use crate::blocks::{Compared, levels_of, pair_of};
use crate::compare::{Comparison, ComparisonKind, FIELD_COUNT, Field, NULL_LEVEL};
use crate::model::{TermFrequencies, TrainOptions};

/// Smallest probability a level may have, so no weight is infinite.
pub(crate) const MIN_PROB: f64 = 1e-6;

/// Smallest m EM may give a level. A level never seen among the training matches still happens
/// (the surnames of a record whose fields were swapped in a way no rule recognises); without a
/// floor its weight would be −20 bits, enough to veto every other field.
const MIN_M: f64 = 1e-3;

/// Surnames seen fewer times than this are not listed in the model's table (they all share the
/// `tf_rare` frequency): the table stays small and does not list rare names verbatim.
const TF_MIN_COUNT: usize = 3;

/// Level counts per field.
pub(crate) type Counts = Vec<Vec<f64>>;

pub(crate) fn empty_counts(kind: ComparisonKind) -> Counts {
    Field::ALL
        .iter()
        .map(|f| vec![0.0; f.level_count_of(kind)])
        .collect()
}

/// Normalises counts over the non-null levels, with `prior` added to each so an unseen level
/// keeps a small probability.
pub(crate) fn normalise(counts: &[f64], prior: f64) -> Vec<f64> {
    let total: f64 = counts.iter().skip(1).map(|c| c + prior).sum();
    let mut out = vec![1.0; counts.len()];
    for l in 1..counts.len() {
        out[l] = if total > 0.0 {
            ((counts[l] + prior) / total).max(MIN_PROB)
        } else {
            1.0 / (counts.len() - 1) as f64
        };
    }
    out
}

/// Starting m for EM: strong agreement likely, disagreement unlikely (any decreasing
/// distribution does; EM moves it).
pub(crate) fn initial_m(field: Field, kind: ComparisonKind) -> Vec<f64> {
    let n = field.level_count_of(kind);
    let raw: Vec<f64> = (0..n)
        .map(|l| if l == 0 { 0.0 } else { 0.5f64.powi(l as i32) })
        .collect();
    normalise(&raw, 0.0)
}

/// `n` random pairs of distinct records, `(a, b)` with `a != b`.
fn random_pairs(rng: &mut ChaCha8Rng, records: u32, n: usize) -> Vec<(u32, u32)> {
    (0..n)
        .map(|_| {
            let a = rng.random_range(0..records);
            // Draw b among the n−1 others, so a pair is never a record with itself.
            let mut b = rng.random_range(0..records - 1);
            if b >= a {
                b += 1;
            }
            (a, b)
        })
        .collect()
}

/// Level counts of the comparisons of `pairs`, per field.
fn level_counts<D: Linkable + ?Sized>(data: &D, pairs: &[(u32, u32)]) -> Counts {
    let comparisons: Vec<Comparison> = pairs.par_iter().map(|&(a, b)| data.compare(a, b)).collect();
    let mut counts = empty_counts(data.kind());
    for c in &comparisons {
        for (f, &l) in c.0.iter().enumerate() {
            if l != NULL_LEVEL {
                counts[f][l as usize] += 1.0;
            }
        }
    }
    counts
}

/// The fields whose filters salting makes incomparable across salts.
const SALTED_FIELDS: [Field; 2] = [Field::GivenName, Field::Surnames];

/// u per field from `opts.u_samples` random pairs of distinct records; for salted data, u of the
/// salted fields from random pairs that share a salt (up to 20 times as many draws to find them).
pub(crate) fn estimate_u<D: Linkable + ?Sized>(data: &D, opts: &TrainOptions) -> Vec<Vec<f64>> {
    let n = data.len() as u32;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let pairs = random_pairs(&mut rng, n, opts.u_samples);
    let mut counts = level_counts(data, &pairs);
    if data.salted() {
        let mut same: Vec<(u32, u32)> = pairs
            .iter()
            .copied()
            .filter(|&(a, b)| data.same_salt(a, b))
            .collect();
        for _ in 0..20 {
            if same.len() >= opts.u_samples / 4 {
                break;
            }
            let more = random_pairs(&mut rng, n, opts.u_samples);
            same.extend(more.into_iter().filter(|&(a, b)| data.same_salt(a, b)));
        }
        if !same.is_empty() {
            let salted = level_counts(data, &same);
            for f in SALTED_FIELDS {
                counts[f.index()] = salted[f.index()].clone();
            }
        }
    }
    // Half a pair added to every level: strong agreement levels are rare among random pairs,
    // and a zero would make their weight infinite.
    counts.iter().map(|c| normalise(c, 0.5)).collect()
}

/// Distinct comparison vectors of `pairs` with their counts, in a fixed order.
pub(crate) fn count_patterns<D: Linkable + ?Sized>(
    data: &D,
    pairs: &[(u32, u32)],
) -> Vec<(Comparison, f64)> {
    let comparisons: Vec<Comparison> = pairs.par_iter().map(|&(a, b)| data.compare(a, b)).collect();
    patterns_of(comparisons)
}

/// [`count_patterns`], taking a pair's comparison from `known` where it is there: the
/// candidate pairs, sorted by `(a, b)`, each compared as `compare(a, b)` with `a < b`. The
/// training pairs are mostly candidates, compared already; comparing them again was most of
/// the training time of a million-record run. The counts do not depend on the pairs' order.
pub(crate) fn count_patterns_known<D: Linkable + ?Sized>(
    data: &D,
    pairs: &[(u32, u32)],
    known: &[Compared],
) -> Vec<(Comparison, f64)> {
    if known.is_empty() {
        return count_patterns(data, pairs);
    }
    debug_assert!(known.is_sorted_by_key(pair_of));
    let mut sorted = pairs.to_vec();
    sorted.par_sort_unstable();
    let comparisons: Vec<Comparison> = sorted
        .par_chunks(4_096)
        .flat_map_iter(|chunk| {
            // Each chunk walks its own stretch of `known`, from its first pair on.
            let mut at = known.partition_point(|c| pair_of(c) < chunk[0]);
            chunk.iter().map(move |&(a, b)| {
                while known.get(at).is_some_and(|c| pair_of(c) < (a, b)) {
                    at += 1;
                }
                match known.get(at) {
                    Some(c) if pair_of(c) == (a, b) => levels_of(c),
                    _ => data.compare(a, b),
                }
            })
        })
        .collect();
    patterns_of(comparisons)
}

/// Distinct comparison vectors with their counts, in a fixed order.
pub(crate) fn patterns_of(
    comparisons: impl IntoIterator<Item = Comparison>,
) -> Vec<(Comparison, f64)> {
    let mut map: FxHashMap<Comparison, f64> = FxHashMap::default();
    for c in comparisons {
        *map.entry(c).or_insert(0.0) += 1.0;
    }
    let mut out: Vec<(Comparison, f64)> = map.into_iter().collect();
    out.sort_by_key(|a| a.0);
    out
}

/// The frequency table of the values `key` gives each record (those seen at least
/// `TF_MIN_COUNT` times), the frequency of rarer values, and Σ f².
pub(crate) fn term_frequencies<D: Linkable + ?Sized>(
    data: &D,
    key: impl Fn(&D, u32) -> Option<Cow<'_, str>> + Sync,
) -> TermFrequencies {
    // Counted in hash maps, one per thread, merged; then ordered by value, so that Σ f² is
    // summed in the order the table lists them, whatever the threads did (a tree map of a
    // million inserts, one thread, was a quarter of training at 1.13 M records).
    let counts = (0..data.len() as u32)
        .into_par_iter()
        .fold(
            FxHashMap::<Cow<'_, str>, usize>::default,
            |mut counts, id| {
                if let Some(k) = key(data, id) {
                    *counts.entry(k).or_insert(0) += 1;
                }
                counts
            },
        )
        .reduce(FxHashMap::default, |into, from| {
            if into.len() < from.len() {
                return merge_counts(from, into);
            }
            merge_counts(into, from)
        });
    let mut counts: Vec<(Cow<'_, str>, usize)> = counts.into_iter().collect();
    counts.par_sort_unstable_by(|x, y| x.0.cmp(&y.0));
    let total: usize = counts.iter().map(|(_, c)| c).sum();
    if total == 0 {
        return TermFrequencies::default();
    }
    let t = total as f64;
    let mean = counts.iter().map(|&(_, c)| (c as f64 / t).powi(2)).sum();
    let rare = 1.5 / t;
    let table = counts
        .into_iter()
        .filter(|(_, c)| *c >= TF_MIN_COUNT)
        .map(|(k, c)| (k.into_owned(), c as f64 / t))
        .collect();
    TermFrequencies { table, rare, mean }
}

/// `from`'s counts added to `into`'s.
fn merge_counts<'a>(
    mut into: FxHashMap<Cow<'a, str>, usize>,
    from: FxHashMap<Cow<'a, str>, usize>,
) -> FxHashMap<Cow<'a, str>, usize> {
    for (k, c) in from {
        *into.entry(k).or_insert(0) += c;
    }
    into
}

/// What one EM run estimates.
pub(crate) struct EmSettings {
    /// Fields that count in the posterior.
    pub(crate) active: [bool; FIELD_COUNT],
    /// Active fields whose m is re-estimated; the others' m is held as given.
    pub(crate) update: [bool; FIELD_COUNT],
    /// λ = Σ posterior / this.
    pub(crate) lambda_total: f64,
    pub(crate) max_iter: usize,
    pub(crate) tolerance: f64,
    /// Learn the non-matches' level distributions within the set as well (starting from the
    /// given u, which stays as it is outside this call), instead of holding u from random pairs.
    pub(crate) learn_u: bool,
}

/// Expectation–maximisation over comparison patterns with u fixed. Returns the iterations run
/// and whether the largest change fell below the tolerance.
pub(crate) fn em(
    patterns: &[(Comparison, f64)],
    m: &mut Counts,
    u: &Counts,
    lambda: &mut f64,
    s: EmSettings,
) -> (usize, bool) {
    let update_any = (0..FIELD_COUNT).any(|f| s.active[f] && s.update[f]);
    // The set's own u, when it learns one; otherwise `u` is read as given.
    let mut own_u: Option<Counts> = s.learn_u.then(|| u.clone());
    for it in 0..s.max_iter {
        let u = own_u.as_ref().unwrap_or(u);
        let mut counts: Counts = m.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut non_counts: Option<Counts> = own_u
            .is_some()
            .then(|| m.iter().map(|l| vec![0.0; l.len()]).collect());
        let mut matched = 0.0;
        let prior = (*lambda / (1.0 - *lambda)).log2();
        for (c, n) in patterns {
            let mut w = prior;
            for (f, &l) in c.0.iter().enumerate() {
                if s.active[f] && l != NULL_LEVEL {
                    w += (m[f][l as usize] / u[f][l as usize]).log2();
                }
            }
            let odds = w.clamp(-60.0, 60.0).exp2();
            let p = odds / (1.0 + odds);
            matched += p * n;
            if !update_any && non_counts.is_none() {
                continue;
            }
            for (f, &l) in c.0.iter().enumerate() {
                if l == NULL_LEVEL {
                    continue;
                }
                counts[f][l as usize] += p * n;
                if let Some(non) = non_counts.as_mut() {
                    non[f][l as usize] += (1.0 - p) * n;
                }
            }
        }
        if let (Some(own), Some(non)) = (own_u.as_mut(), non_counts) {
            for f in (0..FIELD_COUNT).filter(|&f| s.active[f]) {
                own[f] = normalise(&non[f], 1e-3);
            }
        }
        let mut change: f64 = 0.0;
        if update_any {
            for f in 0..FIELD_COUNT {
                if !(s.active[f] && s.update[f]) {
                    continue;
                }
                let mut new = normalise(&counts[f], 1e-3);
                for x in new.iter_mut().skip(1) {
                    *x = x.max(MIN_M);
                }
                for (old, new) in m[f].iter().zip(&new) {
                    change = change.max((old - new).abs());
                }
                m[f] = new;
            }
        }
        let new_lambda = (matched / s.lambda_total.max(1.0)).clamp(1e-12, 1.0 - MIN_PROB);
        change = change.max((new_lambda - *lambda).abs());
        *lambda = new_lambda;
        if change < s.tolerance {
            return (it + 1, true);
        }
    }
    (s.max_iter, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{given, identifier, surname};
    use crate::testutil::rec;
    use crate::{Dataset, Source};

    /// A set like the phone set: 1,000 matches (names agree, 2 % of identifiers one slip
    /// apart) and 1,000 households (surnames agree, given names and identifiers differ), with
    /// the name fields' m held and u from random pairs, where agreeing surnames are rare.
    /// Learning the set's own non-matches keeps households out of the match class, so m of
    /// "none shared" stays near its true 0; with u held from random pairs it does not.
    #[test]
    fn a_later_set_learns_its_own_non_matches() {
        let pattern = |g: u8, id: u8| {
            let mut c = [NULL_LEVEL; FIELD_COUNT];
            c[Field::Surnames.index()] = surname::BOTH;
            c[Field::GivenName.index()] = g;
            c[Field::Identifier.index()] = id;
            Comparison(c)
        };
        let patterns = vec![
            (pattern(given::EXACT, identifier::SHARED), 980.0),
            (pattern(given::EXACT, identifier::ONE_EDIT), 20.0),
            (pattern(given::DIFFERENT, identifier::DIFFERENT), 1000.0),
        ];
        let kind = ComparisonKind::Plaintext;
        let mut u: Counts = Field::ALL.iter().map(|&f| initial_m(f, kind)).collect();
        let mut held: Counts = u.clone();
        let levels = |f: Field, at: &[(u8, f64)]| {
            let mut p = vec![1e-3; f.level_count()];
            for &(l, x) in at {
                p[l as usize] = x;
            }
            p
        };
        held[Field::Surnames.index()] = levels(Field::Surnames, &[(surname::BOTH, 0.4)]);
        u[Field::Surnames.index()] = levels(Field::Surnames, &[(surname::BOTH, 0.0008)]);
        held[Field::GivenName.index()] = levels(
            Field::GivenName,
            &[(given::EXACT, 0.76), (given::DIFFERENT, 0.013)],
        );
        u[Field::GivenName.index()] = levels(
            Field::GivenName,
            &[(given::EXACT, 0.03), (given::DIFFERENT, 0.9)],
        );
        u[Field::Identifier.index()] = levels(
            Field::Identifier,
            &[(identifier::SHARED, 8e-6), (identifier::DIFFERENT, 0.99998)],
        );
        let different = |learn_u: bool| {
            let mut m = held.clone();
            let mut lambda = 0.05;
            let mut update = [false; FIELD_COUNT];
            update[Field::Identifier.index()] = true;
            em(
                &patterns,
                &mut m,
                &u,
                &mut lambda,
                EmSettings {
                    active: [true; FIELD_COUNT],
                    update,
                    lambda_total: 2000.0,
                    max_iter: 200,
                    tolerance: 1e-9,
                    learn_u,
                },
            );
            m[Field::Identifier.index()][identifier::DIFFERENT as usize]
        };
        let (learnt, held_u) = (different(true), different(false));
        assert!(learnt < 0.01, "learning the set's u: m(different) {learnt}");
        assert!(held_u > 0.3, "u from random pairs: m(different) {held_u}");
    }

    #[test]
    fn known_comparisons_count_as_comparing_again() {
        let people = [
            ("Juan", "Pérez", "1990-03-05"),
            ("Juan", "Peres", "1990-03-05"),
            ("Ana", "Xol", "1985-07-01"),
            ("Ana", "Xol", "1985-01-07"),
            ("Pedro", "Tzul", "1970-01-20"),
            ("Rosa", "López", ""),
        ];
        let records = people
            .iter()
            .enumerate()
            .map(|(i, p)| rec(&format!("r{i}"), p.0, p.1, "", p.2))
            .collect();
        let data = Dataset::new(vec![Source {
            name: "s".into(),
            records,
        }]);
        let n = data.len() as u32;
        // Every pair both ways round, one twice; every other pair (a < b) already compared.
        let mut pairs: Vec<(u32, u32)> = (0..n)
            .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
            .collect();
        pairs.push((0, 1));
        let mut known: Vec<Compared> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .step_by(2)
            .map(|(a, b)| crate::blocks::compared(a, b, data.compare(a, b)))
            .collect();
        let expected = count_patterns(&data, &pairs);
        assert_eq!(count_patterns_known(&data, &pairs, &known), expected);
        // The known comparison is the one counted: a wrong one shows.
        let (a, b) = pair_of(&known[0]);
        known[0] = crate::blocks::compared(a, b, Comparison([9; FIELD_COUNT]));
        assert_ne!(count_patterns_known(&data, &pairs, &known), expected);
    }
}
