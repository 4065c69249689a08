//! The Fellegi–Sunter model: for each field and level, m = P(level | match) and
//! u = P(level | non-match); the match weight of a pair is log2(λ/(1−λ)) plus the sum over its
//! non-null levels of log2(m/u).
//!
//! * u is estimated from random pairs of records (seeded): almost all random pairs are
//!   non-matches, so their level frequencies are the non-match distribution.
//! * m is estimated by expectation–maximisation with u held fixed, once per training rule on
//!   that rule's pairs, leaving out the fields the rule's key forces to agree; λ then by EM over
//!   all candidate pairs with m and u fixed. Fixing u, and training on sets where relatives are
//!   rare, keeps EM from settling on a "match" class that is really "same family".
//! * Surnames get a term-frequency adjustment on the levels where the first surnames agree
//!   exactly: agreeing on García is weaker evidence than agreeing on Tzunún.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::blocking::{Blocker, BlockingRule, PairScope};
use crate::blocks::Compared;
use crate::compare::{
    Comparison, ComparisonKind, FIELD_COUNT, Field, NULL_LEVEL, compare, given, surname,
};
use crate::estimate::{
    Counts, EmSettings, MIN_PROB, count_patterns, count_patterns_known, em, estimate_u, initial_m,
    patterns_of, term_frequencies,
};
use crate::{Dataset, LinkError, Linkable};
use enlace_model::Record;

/// The model file format's version; bumped when the meaning of a field or level changes.
pub const MODEL_VERSION: u32 = 4;

/// Term-frequency adjustments are clamped to ±this many bits: a surname seen once in a small
/// dataset would otherwise outweigh every other field.
const MAX_TF_BITS: f64 = 4.0;

/// m and u of one field, indexed by level (index 0, the null level, is unused and kept at 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldParams {
    pub field: Field,
    pub m: Vec<f64>,
    pub u: Vec<f64>,
}

/// How often each value of a field occurs, for the term-frequency adjustment of an agreeing
/// value: log2(Σf² / f(value)), clamped to ±`MAX_TF_BITS`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermFrequencies {
    /// Relative frequency of each value seen at least `TF_MIN_COUNT` times.
    pub table: BTreeMap<String, f64>,
    /// Frequency assumed for values not in the table.
    pub rare: f64,
    /// Σ f², the probability that two random records share a value.
    pub mean: f64,
}

impl TermFrequencies {
    /// The adjustment (bits) for a pair agreeing on `value`; 0 without a table.
    pub fn adjustment(&self, value: &str) -> f64 {
        let f = self.table.get(value).copied().unwrap_or(self.rare);
        if f <= 0.0 || self.mean <= 0.0 {
            return 0.0;
        }
        (self.mean / f).log2().clamp(-MAX_TF_BITS, MAX_TF_BITS)
    }
}

/// A trained (or loaded) linkage model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub version: u32,
    /// Plaintext or encoded comparisons: which level tables `fields` follow.
    #[serde(default)]
    pub kind: ComparisonKind,
    /// Prior probability that a blocked candidate pair is a match.
    pub lambda: f64,
    pub fields: Vec<FieldParams>,
    /// Relative frequency of each first surname (compacted) seen at least `TF_MIN_COUNT` times.
    pub surname_tf: BTreeMap<String, f64>,
    /// Frequency assumed for surnames not in the table.
    pub tf_rare: f64,
    /// Σ f², the probability that two random records share a first surname: the frequency of
    /// the "average" agreeing value, against which a value's own frequency is compared.
    pub tf_mean: f64,
    /// The same for the first given name, adjusting an exactly agreeing one: "María" is weak
    /// evidence, "Glenda" strong. Absent from models saved before it existed (no adjustment).
    #[serde(default)]
    pub given_tf: TermFrequencies,
    /// Pairs at or above this match weight are links.
    pub threshold: f64,
    /// EM iterations run, and whether they converged, for the record.
    pub em_iterations: usize,
    pub em_converged: bool,
}

/// How to train a model.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub seed: u64,
    /// Random pairs drawn to estimate u.
    pub u_samples: usize,
    pub max_em_iterations: usize,
    /// EM stops when no m or λ moves by more than this.
    pub em_tolerance: f64,
    /// λ to start EM from.
    pub initial_lambda: f64,
    /// The rules whose pairs m is trained on, one EM session each (with the blocker's cap and
    /// scope). They need not be the blocking rules: training wants sets where the fields left
    /// free separate matches from non-matches, and where relatives are rare.
    pub training_rules: Vec<BlockingRule>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 1,
            u_samples: 200_000,
            max_em_iterations: 100,
            em_tolerance: 1e-5,
            initial_lambda: 0.05,
            training_rules: vec![
                BlockingRule::OfficialIdentifier,
                BlockingRule::Phone,
                BlockingRule::GivenPhoneticBirthDate,
            ],
        }
    }
}

/// The fields a training rule's set leaves out of EM: those its key is made of (their
/// agreement is forced by the block), and the event dates on the identifier and phone sets.
/// Official identifiers are each one agency's own (a CURP in Mexico, an A-number in the United
/// States), so those pairs are nearly all of one agency and would teach the two-agency
/// event-date levels nothing (their m fell to the floor, and cross-border matches with them);
/// the non-matches of the phone set are households, caught on the same days as each other.
/// The event dates are then learnt on the given name and birth date set, across agencies.
fn training_excluded(rule: BlockingRule) -> Vec<Field> {
    let mut fields = rule.fields().to_vec();
    if matches!(
        rule,
        BlockingRule::OfficialIdentifier | BlockingRule::Identifier | BlockingRule::Phone
    ) {
        fields.push(Field::EventDates);
    }
    fields
}

/// The match weight of a pair with the comparison it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub comparison: Comparison,
    pub weight: f64,
}

/// The first given name, unless it is an initial (an initial never agrees exactly).
pub(crate) fn given_key(r: &Record) -> Option<&str> {
    r.name
        .given
        .first()
        // Not an initial: more than one character (two steps of the iterator, not a count).
        .filter(|g| g.chars().nth(1).is_some())
        .map(String::as_str)
}

/// The first surname without its word separators; borrowed when it has none.
pub(crate) fn surname_key(r: &Record) -> Option<Cow<'_, str>> {
    let separators = crate::compare::NAME_SEPARATORS;
    r.name.surname1.as_deref().map(|s| {
        if s.contains(separators) {
            Cow::Owned(s.chars().filter(|c| !separators.contains(c)).collect())
        } else {
            Cow::Borrowed(s)
        }
    })
}

/// One EM session's training pairs, and the fields left out of it because the rule that made
/// the pairs forced them to agree.
#[derive(Clone, Debug)]
pub struct TrainingSet {
    pub pairs: Vec<(u32, u32)>,
    pub excluded: Vec<Field>,
    /// Used only after an earlier set has run: its non-matches are too like its matches for
    /// EM to tell apart without the fields held from a cleaner set (records sharing a phone
    /// are one person or a household, and a household shares surnames).
    pub follows: bool,
}

impl Model {
    /// Trains a model on `data`:
    /// * u from `opts.u_samples` random pairs;
    /// * m by EM once per training rule (`opts.training_rules`, with the blocker's cap, pairs
    ///   within and across sources whatever the blocker's scope), in order, on that rule's
    ///   pairs only, leaving out the fields the rule's key is made of (their agreement is
    ///   forced by the block, not a sign of a match); each field's m comes from the first rule
    ///   that leaves it free, and later rules hold it fixed (it still weighs in their
    ///   posterior; see [`Model::fit_sets`]);
    /// * λ by EM with m and u fixed over `pairs` (the union of the rules' pairs), as the share
    ///   of matches among *all* pairs of the blocker's scope, so that it is the prior that goes
    ///   with u from random pairs (pairs blocking missed count as non-matches);
    /// * the surname frequency table from all records;
    /// * the threshold from the weights of `pairs` (see [`Model::choose_threshold`]).
    pub fn train(
        data: &Dataset,
        blocker: &Blocker,
        pairs: &[(u32, u32)],
        opts: &TrainOptions,
    ) -> Result<Model, LinkError> {
        let mut model = Model::fit(data, blocker, pairs, None, opts)?;
        let weights = pairs
            .par_iter()
            .map(|&(a, b)| model.weight_of(&data.compare(a, b), data, a));
        model.threshold = model.choose_threshold_of(weights);
        Ok(model)
    }

    /// [`Model::train`] without choosing the threshold (left at 0), for callers that score the
    /// pairs anyway and choose it from those weights.
    /// `comparisons`, when given, are those of `pairs` in order, already computed.
    pub(crate) fn fit(
        data: &Dataset,
        blocker: &Blocker,
        pairs: &[(u32, u32)],
        comparisons: Option<&[Comparison]>,
        opts: &TrainOptions,
    ) -> Result<Model, LinkError> {
        let patterns = match comparisons {
            Some(c) => patterns_of(c.iter().copied()),
            None => count_patterns(data, pairs),
        };
        Model::fit_patterns(data, blocker, &patterns, &[], opts)
    }

    /// [`Model::fit`] from the distinct comparison vectors of the candidate pairs with their
    /// counts, for callers that hold the comparisons in their own shape.
    /// `known`: the candidates' comparisons, if held (see [`Model::fit_sets_known`]).
    pub(crate) fn fit_patterns(
        data: &Dataset,
        blocker: &Blocker,
        patterns: &[(Comparison, f64)],
        known: &[Compared],
        opts: &TrainOptions,
    ) -> Result<Model, LinkError> {
        // Training looks at pairs of every scope: when linking only across sources, the cleanest
        // training set (records sharing a CURP, DPI or A-number) is within sources.
        let trainer = Blocker {
            rules: opts.training_rules.clone(),
            max_block: blocker.max_block,
            scope: PairScope::All,
        };
        let sets: Vec<TrainingSet> = opts
            .training_rules
            .iter()
            .map(|&rule| TrainingSet {
                pairs: trainer.rule_pairs(data, rule).0,
                excluded: training_excluded(rule),
                follows: rule == BlockingRule::Phone,
            })
            .collect();
        Model::fit_sets_known(data, &sets, patterns, known, blocker.scope, opts)
    }

    /// The model of [`Model::fit`] for any kind of data: m by EM on each training set in turn,
    /// λ over `patterns` (the distinct comparison vectors of all candidate pairs, with their
    /// counts) among all pairs of `scope`.
    ///
    /// Sets come cleanest first. A field's m is estimated by the first set that leaves it
    /// free; a later set holds it at that estimate while estimating the fields still open.
    /// Re-estimating it there can fail badly: in the set of pairs sharing a given name and
    /// birth date, on encodings, surnames are the only field left that tells namesakes from
    /// matches, and EM free on all of them put 97 % of the set in the match class, with a
    /// third of "matches" having different surnames (m of that level 0.32 against 0.06 from
    /// the identifier set).
    ///
    /// The first set's non-matches are taken to be like random pairs (u from random pairs).
    /// A later set's are not: records sharing a phone that are not one person are a household
    /// (surnames agree, given names and birth dates differ), and with u from random pairs their
    /// agreeing surnames made EM count them as matches, so 6 % of "matches" had different
    /// A-numbers (0.04 % true, at a million people). A later set therefore learns its own
    /// non-matches' levels along with m, in that set only; the model keeps u from random pairs.
    /// A set marked [`TrainingSet::follows`] is skipped when no set ran before it.
    pub fn fit_sets<D: Linkable + ?Sized>(
        data: &D,
        sets: &[TrainingSet],
        patterns: &[(Comparison, f64)],
        scope: PairScope,
        opts: &TrainOptions,
    ) -> Result<Model, LinkError> {
        Model::fit_sets_known(data, sets, patterns, &[], scope, opts)
    }

    /// [`Model::fit_sets`], taking the training pairs' comparisons from `known` (the candidate
    /// pairs, compared, sorted by `(a, b)`) where they are there: the same model, without
    /// comparing the pairs again.
    pub(crate) fn fit_sets_known<D: Linkable + ?Sized>(
        data: &D,
        sets: &[TrainingSet],
        patterns: &[(Comparison, f64)],
        known: &[Compared],
        scope: PairScope,
        opts: &TrainOptions,
    ) -> Result<Model, LinkError> {
        if data.len() < 2 {
            return Err(LinkError::Training("fewer than two records".into()));
        }
        if patterns.is_empty() {
            return Err(LinkError::Training("no candidate pairs".into()));
        }
        let kind = data.kind();
        let u = estimate_u(data, opts);
        let surnames = term_frequencies(data, |d, id| d.surname_key(id));
        let given_tf = term_frequencies(data, |d, id| d.given_key(id));
        let mut iterations = 0;
        let mut converged = true;
        // Each field's m, from the first set that leaves it free.
        let mut held: Vec<Option<Vec<f64>>> = vec![None; FIELD_COUNT];
        let mut first_set = true;
        for set in sets {
            if set.pairs.is_empty() || (set.follows && first_set) {
                continue;
            }
            let mut active = [true; FIELD_COUNT];
            for f in &set.excluded {
                active[f.index()] = false;
            }
            // A set whose free fields earlier sets have all estimated has nothing to add.
            if (0..FIELD_COUNT).all(|f| !active[f] || held[f].is_some()) {
                continue;
            }
            let set_patterns = count_patterns_known(data, &set.pairs, known);
            let mut m: Counts = Field::ALL.iter().map(|&f| initial_m(f, kind)).collect();
            let mut update = [true; FIELD_COUNT];
            for f in 0..FIELD_COUNT {
                if let Some(h) = &held[f] {
                    m[f] = h.clone();
                    update[f] = false;
                }
            }
            let mut lambda = opts.initial_lambda.clamp(MIN_PROB, 0.5);
            let total: f64 = set_patterns.iter().map(|(_, n)| n).sum();
            let (it, conv) = em(
                &set_patterns,
                &mut m,
                &u,
                &mut lambda,
                EmSettings {
                    active,
                    update,
                    lambda_total: total,
                    max_iter: opts.max_em_iterations,
                    tolerance: opts.em_tolerance,
                    learn_u: !first_set,
                },
            );
            first_set = false;
            iterations += it;
            converged &= conv;
            tracing::debug!(
                pairs = set.pairs.len(),
                lambda,
                iterations = it,
                held = ?Field::ALL.iter().filter(|f| active[f.index()] && !update[f.index()]).collect::<Vec<_>>(),
                "EM on a training set"
            );
            for f in 0..FIELD_COUNT {
                if active[f] && update[f] {
                    held[f] = Some(m[f].clone());
                }
            }
        }
        // A field no set left free keeps the prior guess.
        let m: Counts = Field::ALL
            .iter()
            .zip(held)
            .map(|(&f, h)| h.unwrap_or_else(|| initial_m(f, kind)))
            .collect();
        let mut model = Model {
            version: MODEL_VERSION,
            kind,
            lambda: 1e-4,
            fields: Field::ALL
                .iter()
                .zip(m.into_iter().zip(u.clone()))
                .map(|(&field, (m, u))| FieldParams { field, m, u })
                .collect(),
            surname_tf: surnames.table,
            tf_rare: surnames.rare,
            tf_mean: surnames.mean,
            given_tf,
            threshold: 0.0,
            em_iterations: 0,
            em_converged: false,
        };
        let possible = scope.possible(&data.source_sizes()) as f64;
        let (it, conv) = model.fit_lambda(patterns, possible, opts);
        model.em_iterations = iterations + it;
        model.em_converged = converged && conv;
        Ok(model)
    }

    /// Re-estimates λ alone (m and u kept) for other data: λ is the share of matches among all
    /// pairs, so it shrinks roughly as 1/N and a model saved from one dataset overstates the
    /// prior on a larger one. `pairs` are the data's candidate pairs under `blocker`. The
    /// threshold is kept.
    pub fn reestimate_lambda(
        &mut self,
        data: &Dataset,
        blocker: &Blocker,
        pairs: &[(u32, u32)],
        opts: &TrainOptions,
    ) {
        let patterns = count_patterns(data, pairs);
        let possible = blocker.scope.possible(&data.source_sizes()) as f64;
        self.fit_lambda(&patterns, possible, opts);
    }

    /// EM for λ with m and u fixed: the expected matches among `patterns` over `possible`
    /// pairs (pairs blocking did not generate count as non-matches).
    fn fit_lambda(
        &mut self,
        patterns: &[(Comparison, f64)],
        possible: f64,
        opts: &TrainOptions,
    ) -> (usize, bool) {
        let mut m: Counts = self.fields.iter().map(|p| p.m.clone()).collect();
        let u: Counts = self.fields.iter().map(|p| p.u.clone()).collect();
        let mut lambda = 1e-4;
        let result = em(
            patterns,
            &mut m,
            &u,
            &mut lambda,
            EmSettings {
                active: [true; FIELD_COUNT],
                update: [false; FIELD_COUNT],
                lambda_total: possible.max(1.0),
                max_iter: opts.max_em_iterations,
                // λ is tiny among all pairs: its tolerance is relative.
                tolerance: opts.em_tolerance * 1e-4,
                learn_u: false,
            },
        );
        self.lambda = lambda;
        result
    }

    /// Runs EM for m and λ on distinct comparison vectors with their counts, all fields free,
    /// u fixed, λ as the share of matches among the given pairs.
    pub fn run_em(&mut self, patterns: &[(Comparison, f64)], max_iter: usize, tolerance: f64) {
        let mut m: Counts = self.fields.iter().map(|p| p.m.clone()).collect();
        let u: Counts = self.fields.iter().map(|p| p.u.clone()).collect();
        let mut lambda = self.lambda;
        let total: f64 = patterns.iter().map(|(_, n)| n).sum();
        let (it, conv) = em(
            patterns,
            &mut m,
            &u,
            &mut lambda,
            EmSettings {
                active: [true; FIELD_COUNT],
                update: [true; FIELD_COUNT],
                lambda_total: total,
                max_iter,
                tolerance,
                learn_u: false,
            },
        );
        for (p, m) in self.fields.iter_mut().zip(m) {
            p.m = m;
        }
        self.lambda = lambda;
        self.em_iterations = it;
        self.em_converged = conv;
    }

    /// log2 of the prior odds, λ/(1−λ).
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// log2(m/u) of one field's level; 0 for the null level.
    pub fn level_weight(&self, field: Field, level: u8) -> f64 {
        if level == NULL_LEVEL {
            return 0.0;
        }
        let Some(p) = self.fields.get(field.index()) else {
            return 0.0;
        };
        let l = level as usize;
        match (p.m.get(l), p.u.get(l)) {
            (Some(m), Some(u)) => (m / u).log2(),
            _ => 0.0,
        }
    }

    /// Sum of the fields' log2 Bayes factors, without prior or term-frequency adjustment.
    pub fn bayes_weight(&self, c: &Comparison) -> f64 {
        Field::ALL
            .iter()
            .map(|&f| self.level_weight(f, c.level(f)))
            .sum()
    }

    /// The term-frequency adjustment (bits) for a pair whose first surnames agree on `value`:
    /// u of the level scaled by f(value)/Σf², i.e. log2(Σf²/f(value)), clamped.
    pub fn tf_adjustment(&self, value: &str) -> f64 {
        let f = self.surname_tf.get(value).copied().unwrap_or(self.tf_rare);
        if f <= 0.0 || self.tf_mean <= 0.0 {
            return 0.0;
        }
        (self.tf_mean / f).log2().clamp(-MAX_TF_BITS, MAX_TF_BITS)
    }

    /// The term-frequency adjustments that apply to a compared pair, surname and given name
    /// together (0 when none does).
    pub fn pair_tf_adjustment(&self, c: &Comparison, a: &Record) -> f64 {
        self.tf_adjustment_for(c, surname_key(a).as_deref())
            + self.given_adjustment_for(c, given_key(a))
    }

    /// The surname and given-name frequency adjustments of comparison `c` of record `a` of
    /// `data` with another.
    pub fn adjustments_of<D: Linkable + ?Sized>(
        &self,
        c: &Comparison,
        data: &D,
        a: u32,
    ) -> (f64, f64) {
        (
            self.tf_adjustment_for(c, data.surname_key(a).as_deref()),
            self.given_adjustment_for(c, data.given_key(a).as_deref()),
        )
    }

    /// The given-name frequency adjustment of a comparison whose first record's given-name
    /// key is `key`: only on the levels where the first given names agree exactly.
    pub fn given_adjustment_for(&self, c: &Comparison, key: Option<&str>) -> f64 {
        match key {
            Some(k) if given::takes_frequency(c.level(Field::GivenName), self.kind) => {
                self.given_tf.adjustment(k)
            }
            _ => 0.0,
        }
    }

    /// The term-frequency adjustment of a comparison whose first record's surname key is
    /// `key` (0 when the levels do not call for one, or the key is unknown).
    pub fn tf_adjustment_for(&self, c: &Comparison, key: Option<&str>) -> f64 {
        // The encoded surname levels keep the plaintext numbering of the levels on which the
        // first surnames agree.
        match key {
            Some(k) if surname::first_agrees(c.level(Field::Surnames)) => self.tf_adjustment(k),
            _ => 0.0,
        }
    }

    /// The match weight of records `a` and `b` of any kind of data.
    pub fn weigh<D: Linkable + ?Sized>(&self, data: &D, a: u32, b: u32) -> f64 {
        let c = data.compare(a, b);
        self.weight_of(&c, data, a)
    }

    /// The match weight of a comparison of record `a` of `data` with another.
    pub fn weight_of<D: Linkable + ?Sized>(&self, c: &Comparison, data: &D, a: u32) -> f64 {
        let (surname, given) = self.adjustments_of(c, data, a);
        self.prior_weight() + self.bayes_weight(c) + surname + given
    }

    /// Compares two records and gives their match weight (prior, fields and TF adjustment).
    pub fn score(&self, a: &Record, b: &Record) -> Score {
        let comparison = compare(a, b);
        let weight = self.weight(&comparison, a);
        Score { comparison, weight }
    }

    /// The match weight of a comparison of `a` with another record: prior, fields and the
    /// surname frequency adjustment (which needs `a`'s surname).
    pub fn weight(&self, comparison: &Comparison, a: &Record) -> f64 {
        self.prior_weight()
            + self.bayes_weight(comparison)
            + self.tf_adjustment_for(comparison, surname_key(a).as_deref())
            + self.given_adjustment_for(comparison, given_key(a))
    }

    /// Match probability of a match weight: 2^w / (1 + 2^w).
    pub fn probability(&self, weight: f64) -> f64 {
        let odds = weight.clamp(-60.0, 60.0).exp2();
        odds / (1.0 + odds)
    }

    /// The threshold that maximises the F1 the model itself expects: each pair counts as
    /// p true positives and 1−p false positives when above the threshold, p false negatives
    /// when below, p being its match probability. No truth is needed; it is only as good as the
    /// model's calibration.
    pub fn choose_threshold(&self, weights: &[f64]) -> f64 {
        self.choose_threshold_of(weights.par_iter().copied())
    }

    /// [`Model::choose_threshold`] on the weights of a parallel iterator.
    ///
    /// Weights take few distinct values (one per comparison pattern and surname frequency):
    /// they are counted, each distinct value once, and only those are sorted (sorting tens of
    /// millions of weights was most of scoring a million records). The sums still add pair by
    /// pair, in descending order of weight, as they always did, so the threshold is the same
    /// to the last bit; cuts fall only between distinct weights.
    pub fn choose_threshold_of(&self, weights: impl ParallelIterator<Item = f64>) -> f64 {
        let counts = weights
            .filter(|x| x.is_finite())
            .fold(FxHashMap::<u64, usize>::default, |mut counts, x| {
                *counts.entry(x.to_bits()).or_insert(0) += 1;
                counts
            })
            .reduce(FxHashMap::default, |mut into, from| {
                for (bits, n) in from {
                    *into.entry(bits).or_insert(0) += n;
                }
                into
            });
        let mut distinct: Vec<(f64, usize)> = counts
            .into_iter()
            .map(|(bits, n)| (f64::from_bits(bits), n))
            .collect();
        distinct.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        // A run is the weights that compare equal (0.0 and −0.0 are one run, 0.0 first under
        // `total_cmp`): its probability from its first weight, its cut at its last.
        let runs: Vec<(f64, usize, f64)> = distinct
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| {
                let n = run.iter().map(|&(_, n)| n).sum();
                (self.probability(run[0].0), n, run[run.len() - 1].0)
            })
            .collect();
        let Some(&(_, _, first)) = runs.first() else {
            return 0.0;
        };
        let mut total_p = 0.0;
        for &(p, n, _) in &runs {
            for _ in 0..n {
                total_p += p;
            }
        }
        let (mut tp, mut fp) = (0.0, 0.0);
        let (mut best, mut best_f1) = (first, -1.0);
        for &(p, n, x) in &runs {
            for _ in 0..n {
                tp += p;
                fp += 1.0 - p;
            }
            let fneg = total_p - tp;
            let f1 = 2.0 * tp / (2.0 * tp + fp + fneg).max(f64::MIN_POSITIVE);
            if f1 > best_f1 {
                best_f1 = f1;
                best = x;
            }
        }
        best
    }

    pub fn to_json(&self) -> Result<String, LinkError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn from_json(text: &str) -> Result<Model, LinkError> {
        let model: Model = serde_json::from_str(text)?;
        model.validate()?;
        Ok(model)
    }

    pub fn save(&self, path: &Path) -> Result<(), LinkError> {
        std::fs::write(path, self.to_json()?).map_err(|source| LinkError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn load(path: &Path) -> Result<Model, LinkError> {
        let text = std::fs::read_to_string(path).map_err(|source| LinkError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Model::from_json(&text)
    }

    /// Checks a loaded model: its version, one entry per field in order, one probability per
    /// level, all within (0, 1].
    pub fn validate(&self) -> Result<(), LinkError> {
        let bad = |s: String| Err(LinkError::InvalidModel(s));
        if self.version != MODEL_VERSION {
            return bad(format!(
                "version {} (this build reads {MODEL_VERSION})",
                self.version
            ));
        }
        if !(self.lambda > 0.0 && self.lambda < 1.0) {
            return bad("lambda must lie strictly between 0 and 1".into());
        }
        if self.fields.len() != FIELD_COUNT {
            return bad(format!(
                "{} fields, expected {FIELD_COUNT}",
                self.fields.len()
            ));
        }
        for (p, f) in self.fields.iter().zip(Field::ALL) {
            if p.field != f {
                return bad(format!("field {:?} where {:?} was expected", p.field, f));
            }
            for v in [&p.m, &p.u] {
                if v.len() != f.level_count_of(self.kind) {
                    return bad(format!("{}: wrong number of levels", f.name()));
                }
                if v.iter().any(|x| !(*x > 0.0 && *x <= 1.0)) {
                    return bad(format!("{}: probabilities must lie in (0, 1]", f.name()));
                }
            }
        }
        if !self.threshold.is_finite() {
            return bad("threshold must be finite".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::normalise;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rustc_hash::FxHashMap;

    /// A level distribution for a field: decreasing from level 1 (matches) or increasing towards
    /// the last level (non-matches).
    fn dist(field: Field, matches: bool) -> Vec<f64> {
        let n = field.level_count();
        let raw: Vec<f64> = (0..n)
            .map(|l| {
                if l == 0 {
                    0.0
                } else if matches {
                    0.4f64.powi(l as i32)
                } else {
                    0.4f64.powi((n - l) as i32)
                }
            })
            .collect();
        normalise(&raw, 0.0)
    }

    fn draw(rng: &mut ChaCha8Rng, p: &[f64]) -> u8 {
        let x: f64 = rng.random();
        let mut acc = 0.0;
        for (l, q) in p.iter().enumerate().skip(1) {
            acc += q;
            if x < acc {
                return l as u8;
            }
        }
        (p.len() - 1) as u8
    }

    fn model_with(m: Vec<Vec<f64>>, u: Vec<Vec<f64>>, lambda: f64) -> Model {
        Model {
            version: MODEL_VERSION,
            kind: ComparisonKind::Plaintext,
            lambda,
            fields: Field::ALL
                .iter()
                .zip(m.into_iter().zip(u))
                .map(|(&field, (m, u))| FieldParams { field, m, u })
                .collect(),
            surname_tf: BTreeMap::from([
                ("garcia".to_string(), 0.1),
                ("tzunun".to_string(), 0.001),
            ]),
            tf_rare: 0.0005,
            tf_mean: 0.02,
            given_tf: TermFrequencies {
                table: BTreeMap::from([("juan".to_string(), 0.2), ("pedro".to_string(), 0.001)]),
                rare: 0.0005,
                mean: 0.05,
            },
            threshold: 3.5,
            em_iterations: 0,
            em_converged: false,
        }
    }

    /// The threshold choice as it was written first: probabilities worked out pair by pair.
    fn threshold_pair_by_pair(model: &Model, mut w: Vec<f64>) -> f64 {
        w.retain(|x| x.is_finite());
        if w.is_empty() {
            return 0.0;
        }
        w.sort_by(|a, b| b.total_cmp(a));
        let total_p: f64 = w.iter().map(|&x| model.probability(x)).sum();
        let (mut tp, mut fp) = (0.0, 0.0);
        let (mut best, mut best_f1) = (w[0], -1.0);
        for (i, &x) in w.iter().enumerate() {
            let p = model.probability(x);
            tp += p;
            fp += 1.0 - p;
            if w.get(i + 1).is_some_and(|&next| next == x) {
                continue;
            }
            let f1 = 2.0 * tp / (2.0 * tp + fp + (total_p - tp)).max(f64::MIN_POSITIVE);
            if f1 > best_f1 {
                best_f1 = f1;
                best = x;
            }
        }
        best
    }

    proptest::proptest! {
        /// Weights with many repeats (as a run's are), signed zeros and non-finite values: the
        /// threshold is the pair-by-pair choice's, to the bit.
        #[test]
        fn threshold_by_runs_is_the_pair_by_pair_one(
            w in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Strategy::prop_map(-24i32..24, |x| f64::from(x) / 2.0),
                    proptest::strategy::Just(-0.0),
                    proptest::strategy::Just(f64::NAN),
                    -30.0f64..30.0,
                ],
                0..400,
            )
        ) {
            let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
            let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
            let model = model_with(m, u, 0.02);
            let got = model.choose_threshold(&w);
            let expected = threshold_pair_by_pair(&model, w);
            proptest::prop_assert_eq!(got.to_bits(), expected.to_bits());
        }
    }

    #[test]
    fn em_recovers_known_m_and_lambda() {
        let true_m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let true_lambda = 0.2;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut counts: FxHashMap<Comparison, f64> = FxHashMap::default();
        for _ in 0..40_000 {
            let is_match = rng.random::<f64>() < true_lambda;
            let mut c = [0u8; FIELD_COUNT];
            for f in 0..FIELD_COUNT {
                c[f] = draw(&mut rng, if is_match { &true_m[f] } else { &u[f] });
            }
            *counts.entry(Comparison(c)).or_insert(0.0) += 1.0;
        }
        let mut patterns: Vec<(Comparison, f64)> = counts.into_iter().collect();
        patterns.sort_by_key(|p| p.0);
        let start: Vec<Vec<f64>> = Field::ALL
            .iter()
            .map(|&f| initial_m(f, ComparisonKind::Plaintext))
            .collect();
        let mut model = model_with(start, u, 0.05);
        model.run_em(&patterns, 500, 1e-7);
        assert!(model.em_converged);
        assert!(
            (model.lambda - true_lambda).abs() < 0.01,
            "lambda {}",
            model.lambda
        );
        for (p, m) in model.fields.iter().zip(&true_m) {
            for (l, (got, want)) in p.m.iter().zip(m).enumerate().skip(1) {
                assert!(
                    (got - want).abs() < 0.02,
                    "{:?} level {l}: m {got:.4} expected {want:.4}",
                    p.field
                );
            }
        }
    }

    #[test]
    fn json_round_trip_and_validation() {
        let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let model = model_with(m, u, 0.01);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        model.save(&path).unwrap();
        assert_eq!(Model::load(&path).unwrap(), model);

        let mut bad = model.clone();
        bad.version = 99;
        assert!(Model::from_json(&bad.to_json().unwrap()).is_err());
        let mut bad = model.clone();
        bad.fields[2].m.pop();
        assert!(Model::from_json(&bad.to_json().unwrap()).is_err());
        let mut bad = model.clone();
        bad.fields.swap(0, 1);
        assert!(Model::from_json(&bad.to_json().unwrap()).is_err());
        assert!(Model::from_json("{").is_err());
    }

    #[test]
    fn term_frequency_weakens_common_and_strengthens_rare_surnames() {
        let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let model = model_with(m, u, 0.01);
        assert!(model.tf_adjustment("garcia") < 0.0);
        assert!(model.tf_adjustment("tzunun") > 0.0);
        assert!(model.tf_adjustment("neverseen") <= MAX_TF_BITS);
        let a = crate::testutil::rec("1", "Juan", "García", "", "1990-01-02");
        let b = crate::testutil::rec("2", "Juan", "Garcia", "", "1990-01-02");
        let x = crate::testutil::rec("3", "Juan", "Tzunún", "", "1990-01-02");
        let y = crate::testutil::rec("4", "Juan", "Tzunun", "", "1990-01-02");
        assert!(model.score(&x, &y).weight > model.score(&a, &b).weight);
    }

    #[test]
    fn given_name_frequency_weakens_common_and_strengthens_rare_given_names() {
        let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let model = model_with(m, u, 0.01);
        assert!(model.given_tf.adjustment("juan") < 0.0);
        assert!(model.given_tf.adjustment("pedro") > 0.0);
        let rec = crate::testutil::rec;
        let (a, b) = (
            rec("1", "Juan", "Ixcoy", "", "1990-01-02"),
            rec("2", "Juan", "Ixcoy", "", "1990-01-02"),
        );
        let (x, y) = (
            rec("3", "Pedro", "Ixcoy", "", "1990-01-02"),
            rec("4", "Pedro", "Ixcoy", "", "1990-01-02"),
        );
        let common = model.score(&a, &b).weight;
        let rare = model.score(&x, &y).weight;
        assert!(rare > common, "{rare} {common}");
        let surnames_only = model.tf_adjustment("ixcoy");
        let c = model.score(&a, &b).comparison;
        assert_eq!(
            model.pair_tf_adjustment(&c, &a),
            surnames_only + model.given_tf.adjustment("juan")
        );
        // Only an exact agreement is adjusted: "Juan" against "Juana" is not.
        let z = rec("5", "Juana", "Ixcoy", "", "1990-01-02");
        let c = model.score(&a, &z).comparison;
        assert_ne!(c.level(Field::GivenName), given::EXACT);
        assert_eq!(model.pair_tf_adjustment(&c, &a), surnames_only);
    }

    /// A field's m comes from the first set that leaves it free; a later set holds it.
    #[test]
    fn later_training_sets_hold_the_fields_an_earlier_set_estimated() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let truth_m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let truth_u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let rec = crate::testutil::rec;
        let n = 200u32;
        let records: Vec<Record> = (0..n)
            .map(|i| rec(&i.to_string(), "Juan", "García", "", "1990-01-02"))
            .collect();
        let data = Dataset::new(vec![crate::Source {
            name: "s".into(),
            records,
        }]);
        // Every pair's comparison drawn from the true distributions (30 % matches) and held
        // as already compared, so the training sets see varied patterns.
        let mut known: Vec<Compared> = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let matches = rng.random::<f64>() < 0.3;
                let dists = if matches { &truth_m } else { &truth_u };
                let mut c = [NULL_LEVEL; FIELD_COUNT];
                for f in Field::ALL {
                    c[f.index()] = draw(&mut rng, &dists[f.index()]);
                }
                known.push(crate::blocks::compared(a, b, Comparison(c)));
            }
        }
        let patterns = patterns_of(known.iter().map(crate::blocks::levels_of));
        let pairs_from = |start: u32| -> Vec<(u32, u32)> {
            (start..start + 100)
                .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
                .collect()
        };
        let first = TrainingSet {
            pairs: pairs_from(0),
            excluded: vec![Field::Identifier],
            follows: false,
        };
        let second = TrainingSet {
            pairs: pairs_from(50),
            excluded: vec![Field::GivenName, Field::BirthDate],
            follows: false,
        };
        let opts = TrainOptions::default();
        let fit = |sets: &[TrainingSet]| {
            Model::fit_sets_known(&data, sets, &patterns, &known, PairScope::All, &opts).unwrap()
        };
        let alone = fit(std::slice::from_ref(&first));
        // A set that only follows does nothing first, and after another set it estimates
        // what that one left open, like any later set.
        let following = |set: &TrainingSet| TrainingSet {
            follows: true,
            ..set.clone()
        };
        let leading = fit(&[following(&second), following(&first)]);
        assert!(
            Field::ALL
                .iter()
                .all(|f| leading.fields[f.index()].m == initial_m(*f, ComparisonKind::Plaintext)),
            "a following set ran first"
        );
        let after = fit(&[first.clone(), following(&second)]);
        let both = fit(&[first, second]);
        assert_eq!(after.fields, both.fields);
        for f in Field::ALL {
            let (a, b) = (&alone.fields[f.index()].m, &both.fields[f.index()].m);
            if f == Field::Identifier {
                // Left out of the first set: the second estimates it.
                assert_ne!(a, b, "{f:?}");
            } else {
                assert_eq!(
                    a, b,
                    "{f:?}: the second set changed what the first estimated"
                );
            }
        }
    }

    #[test]
    fn threshold_separates_clear_groups() {
        let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let model = model_with(m, u, 0.01);
        let mut w = vec![-20.0; 100];
        w.extend(vec![20.0; 10]);
        let t = model.choose_threshold(&w);
        assert!(t > -20.0 && t <= 20.0, "{t}");
        assert_eq!(model.choose_threshold(&[]), 0.0);
    }

    #[test]
    fn the_weigher_gives_the_models_weights_to_the_last_bit() {
        let m: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, true)).collect();
        let u: Vec<Vec<f64>> = Field::ALL.iter().map(|&f| dist(f, false)).collect();
        let model = model_with(m, u, 0.01);
        let rec = crate::testutil::rec;
        let records = vec![
            rec("1", "Juan", "García", "López", "1990-03-05"),
            rec("2", "Juan", "Garcia", "Lopez", "1990-03-05"),
            rec("3", "María", "Tzunún", "Xol", "1985-11-20"),
            rec("4", "Maria", "Tzunun", "", "1985-11-20"),
            rec("5", "Pedro", "Ixcoy", "Pérez", "1970-01-01"),
            rec("6", "Pedro", "Ixcoy", "", "1970-01-01"),
            rec("7", "Ana", "", "", ""),
            rec("8", "Juan Luis", "García", "López", "1990-03-05"),
        ];
        let data = Dataset::new(vec![crate::Source {
            name: "s".into(),
            records,
        }]);
        let weigher = crate::weigher::Weigher::new(&model, &data);
        let (mut adjusted, mut given_adjusted, mut second_missing) = (0, 0, 0);
        for a in 0..data.len() as u32 {
            for b in 0..data.len() as u32 {
                let c = data.compare(a, b);
                let want = model.weight_of(&c, &data, a);
                let (surname, given) = model.adjustments_of(&c, &data, a);
                adjusted += usize::from(surname != 0.0);
                given_adjusted += usize::from(given != 0.0);
                let missing = c.level(Field::GivenName) == given::FIRST_SECOND_MISSING;
                second_missing += usize::from(missing && given != 0.0);
                assert_eq!(weigher.weight(&c, a).to_bits(), want.to_bits(), "{a} {b}");
                // The record-based weight is the same sum.
                let by_record = model.weight(&c, data.record(a));
                assert_eq!(by_record.to_bits(), want.to_bits(), "{a} {b}");
            }
        }
        // Common (García), rare (Tzunún) and unlisted (Ixcoy) surnames were all adjusted.
        assert!(adjusted >= 12, "{adjusted} pairs adjusted");
        // And common (Juan), rare (Pedro) and unlisted (María, Ana) given names.
        assert!(given_adjusted >= 12, "{given_adjusted} pairs adjusted");
        // "Juan Luis" against either "Juan", both ways.
        assert_eq!(second_missing, 4);
    }
}
