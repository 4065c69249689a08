//! Scoring linkage against ground truth, and explaining a pair's weight.
//!
//! Truth pairs are all pairs of records that share a person id, within and across sources,
//! restricted to records present in the dataset (rows the import rejected cannot be linked and
//! are not counted against recall).

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::compare::{Comparison, Field};
use crate::model::Model;
use crate::solve::{Cluster, ScoredPair};
use crate::{LinkError, Linkable};
use enlace_model::Record;

/// Who each record truly is: `(source, record key)` → person id.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    person: FxHashMap<(String, String), String>,
}

impl Truth {
    /// From `(source, record key, person id)` triples.
    pub fn from_assignments<I, S>(items: I) -> Truth
    where
        I: IntoIterator<Item = (S, S, S)>,
        S: Into<String>,
    {
        Truth {
            person: items
                .into_iter()
                .map(|(s, k, p)| ((s.into(), k.into()), p.into()))
                .collect(),
        }
    }

    /// Reads a CSV with columns `source`, `record_id`, `person_id` (the scenario's
    /// `truth/records.csv`).
    pub fn from_records_csv(path: &Path) -> Result<Truth, LinkError> {
        let csv_err = |source| LinkError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut reader = csv::Reader::from_path(path).map_err(csv_err)?;
        let header = reader.headers().map_err(csv_err)?.clone();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| LinkError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                })
        };
        let (s, r, p) = (col("source")?, col("record_id")?, col("person_id")?);
        let mut person = FxHashMap::default();
        for row in reader.records() {
            let row = row.map_err(csv_err)?;
            let get = |i: usize| row.get(i).unwrap_or("").to_string();
            person.insert((get(s), get(r)), get(p));
        }
        Ok(Truth { person })
    }

    /// The person of a record, when known.
    pub fn person(&self, source: &str, key: &str) -> Option<&str> {
        self.person
            .get(&(source.to_string(), key.to_string()))
            .map(String::as_str)
    }

    /// Records the truth names in the data's sources that the data does not hold (rows
    /// rejected at import, or a truth file for other data), and how many it names there in all.
    pub fn unknown_in<D: Linkable + ?Sized>(&self, data: &D) -> (usize, usize) {
        let mut held: FxHashSet<(&str, &str)> = FxHashSet::default();
        let mut sources: FxHashSet<&str> = FxHashSet::default();
        for id in 0..data.len() as u32 {
            let k = data.key(id);
            sources.insert(k.0);
            held.insert(k);
        }
        let mut named = 0;
        let mut unknown = 0;
        for (s, k) in self.person.keys() {
            if sources.contains(s.as_str()) {
                named += 1;
                if !held.contains(&(s.as_str(), k.as_str())) {
                    unknown += 1;
                }
            }
        }
        (unknown, named)
    }

    /// All true pairs `(a, b)`, `a < b`, among the dataset's records.
    pub fn pairs<D: Linkable + ?Sized>(&self, data: &D) -> FxHashSet<(u32, u32)> {
        let mut by_person: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        for id in 0..data.len() as u32 {
            let (s, k) = data.key(id);
            if let Some(p) = self.person(s, k) {
                by_person.entry(p).or_default().push(id);
            }
        }
        let mut out = FxHashSet::default();
        for ids in by_person.values() {
            for (i, &a) in ids.iter().enumerate() {
                for &b in &ids[i + 1..] {
                    out.insert((a.min(b), a.max(b)));
                }
            }
        }
        out
    }
}

/// Pairwise precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Metrics {
    /// Scores predicted pairs (any order within a pair; duplicates ignored) against truth.
    pub fn of_pairs(predicted: &[(u32, u32)], truth: &FxHashSet<(u32, u32)>) -> Metrics {
        let predicted: FxHashSet<(u32, u32)> = predicted
            .iter()
            .map(|&(a, b)| (a.min(b), a.max(b)))
            .filter(|(a, b)| a != b)
            .collect();
        let tp = predicted.iter().filter(|p| truth.contains(p)).count();
        let fp = predicted.len() - tp;
        let fneg = truth.len() - tp;
        let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fneg);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Metrics {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fneg,
            precision,
            recall,
            f1,
        }
    }

    /// Scores clusters: every pair of records in one cluster is a predicted pair.
    pub fn of_clusters(clusters: &[Cluster], truth: &FxHashSet<(u32, u32)>) -> Metrics {
        Metrics::of_pairs(&cluster_pairs(clusters), truth)
    }
}

/// All pairs of records sharing a cluster.
pub fn cluster_pairs(clusters: &[Cluster]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for c in clusters {
        for (i, &a) in c.members.iter().enumerate() {
            for &b in &c.members[i + 1..] {
                out.push((a.min(b), a.max(b)));
            }
        }
    }
    out
}

/// Where a run's errors come from, against the truth: each true pair the clusters missed and
/// each false pair they hold, by its kind. The missed kinds add up to the false negatives and
/// the false kinds to the false positives of the clusters' [`Metrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ErrorSources {
    /// True pairs blocking never made candidates (nor did the clusters join them otherwise).
    pub missed_not_candidates: usize,
    /// True candidates weighed below the threshold, left apart.
    pub missed_below_threshold: usize,
    /// True candidates at or above the threshold that the solver left apart (a merge refused
    /// by average linkage, or by two records of one event).
    pub missed_by_solver: usize,
    /// False pairs in the clusters that were candidates at or above the threshold.
    pub false_direct: usize,
    /// False pairs in the clusters joined only through other records.
    pub false_through_merges: usize,
}

impl ErrorSources {
    /// The kinds of the errors of `clusters` (scored as `metrics`) over records
    /// `0..records`, from the run's scored candidates and threshold; and how many of the
    /// candidates are true pairs (for [`completeness_of`]), from the same pass over them.
    pub fn with_true_candidates(
        scored: &[ScoredPair],
        threshold: f64,
        clusters: &[Cluster],
        records: usize,
        truth: &FxHashSet<(u32, u32)>,
        metrics: &Metrics,
    ) -> (ErrorSources, usize) {
        let cluster_of = cluster_positions(clusters, records);
        let together = |a: u32, b: u32| {
            let (x, y) = (cluster_of[a as usize], cluster_of[b as usize]);
            x == y && x != u32::MAX
        };
        // (true, below threshold, by the solver, false direct) over the candidates.
        let (true_candidates, below, by_solver, direct) = scored
            .par_iter()
            .map(|p| {
                let is_true = truth.contains(&(p.a.min(p.b), p.a.max(p.b)));
                let joined = together(p.a, p.b);
                let kept = p.weight >= threshold;
                (
                    usize::from(is_true),
                    usize::from(is_true && !joined && !kept),
                    usize::from(is_true && !joined && kept),
                    usize::from(!is_true && joined && kept),
                )
            })
            .reduce(
                || (0, 0, 0, 0),
                |x, y| (x.0 + y.0, x.1 + y.1, x.2 + y.2, x.3 + y.3),
            );
        let errors = ErrorSources {
            missed_not_candidates: metrics.false_negatives.saturating_sub(below + by_solver),
            missed_below_threshold: below,
            missed_by_solver: by_solver,
            false_direct: direct,
            false_through_merges: metrics.false_positives.saturating_sub(direct),
        };
        (errors, true_candidates)
    }
}

/// Each of records `0..records`'s cluster, by its position in `clusters` (`u32::MAX` for a
/// record in none).
pub fn cluster_positions(clusters: &[Cluster], records: usize) -> Vec<u32> {
    let mut cluster_of = vec![u32::MAX; records];
    for (i, c) in clusters.iter().enumerate() {
        for &m in &c.members {
            if let Some(slot) = cluster_of.get_mut(m as usize) {
                *slot = i as u32;
            }
        }
    }
    cluster_of
}

/// The share of `true_pairs` true pairs that `found` of them are (1.0 when there are none).
pub fn completeness_of(found: usize, true_pairs: usize) -> f64 {
    if true_pairs == 0 {
        1.0
    } else {
        found as f64 / true_pairs as f64
    }
}

/// Share of the true pairs that blocking generated (1.0 when there are none).
pub fn pairs_completeness(
    candidates: impl IntoIterator<Item = (u32, u32)>,
    truth: &FxHashSet<(u32, u32)>,
) -> f64 {
    let found = candidates
        .into_iter()
        .filter(|&(a, b)| truth.contains(&(a.min(b), a.max(b))))
        .count();
    completeness_of(found, truth.len())
}

/// One field's part in a pair's weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldWeight {
    pub field: Field,
    pub level: u8,
    pub level_name: &'static str,
    pub m: Option<f64>,
    pub u: Option<f64>,
    /// log2(m/u); 0 for the null level.
    pub weight: f64,
}

/// Why a pair got its weight: the prior, each field's level and weight, the surname and
/// given-name term-frequency adjustments, the total and the match probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub prior: f64,
    pub fields: Vec<FieldWeight>,
    pub tf_adjustment: f64,
    /// The given-name frequency adjustment (0 unless the given names agree exactly).
    pub given_tf_adjustment: f64,
    /// What the records' companions added in a run's second pass (docs/linkage.md,
    /// "Companions"), when the caller knows it: the support's name and its weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub companions: Option<(String, f64)>,
    pub total: f64,
    pub probability: f64,
    pub threshold: f64,
}

/// Explains the model's weight for two records of two agencies.
pub fn explain(model: &Model, a: &Record, b: &Record) -> Explanation {
    explain_records(model, a, b, false)
}

/// Explains the model's weight for two records, of one agency when `one_agency` (see
/// [`crate::compare::within_one_agency`]).
pub fn explain_records(model: &Model, a: &Record, b: &Record, one_agency: bool) -> Explanation {
    let comparison = model.score(a, b).comparison;
    let comparison = if one_agency {
        crate::compare::within_one_agency(comparison)
    } else {
        comparison
    };
    let surname = model.tf_adjustment_for(&comparison, crate::model::surname_key(a).as_deref());
    let given = model.given_adjustment_for(&comparison, crate::model::given_key(a));
    explain_comparison(model, &comparison, (surname, given))
}

/// Explains the model's weight for records `a` and `b` of any kind of data (plaintext or
/// encodings): the same steps, with the level names of the data's comparisons.
pub fn explain_pair<D: Linkable + ?Sized>(model: &Model, data: &D, a: u32, b: u32) -> Explanation {
    let comparison = data.compare(a, b);
    let adjustments = model.adjustments_of(&comparison, data, a);
    explain_comparison(model, &comparison, adjustments)
}

/// The explanation of one comparison vector with its (surname, given name) frequency
/// adjustments.
fn explain_comparison(model: &Model, comparison: &Comparison, tf: (f64, f64)) -> Explanation {
    let fields = Field::ALL
        .iter()
        .map(|&f| {
            let level = comparison.level(f);
            let p = model.fields.get(f.index());
            let known = level != 0;
            FieldWeight {
                field: f,
                level,
                level_name: f
                    .levels_of(model.kind)
                    .get(level as usize)
                    .copied()
                    .unwrap_or("?"),
                m: p.and_then(|p| p.m.get(level as usize).copied())
                    .filter(|_| known),
                u: p.and_then(|p| p.u.get(level as usize).copied())
                    .filter(|_| known),
                weight: model.level_weight(f, level),
            }
        })
        .collect();
    let total = model.prior_weight() + model.bayes_weight(comparison) + tf.0 + tf.1;
    Explanation {
        prior: model.prior_weight(),
        fields,
        tf_adjustment: tf.0,
        given_tf_adjustment: tf.1,
        companions: None,
        total,
        probability: model.probability(total),
        threshold: model.threshold,
    }
}

/// The weight of every level of every field under a model: what a holder needs to draw the
/// waterfall of one of its hits from the hit's levels alone, without the partner's record or
/// the model's m and u.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightTable {
    /// log2 of the prior odds.
    pub prior: f64,
    /// Pairs at or above this total are links.
    pub threshold: f64,
    /// In [`Field::ALL`] order: a hit's levels index into each field's `levels`.
    pub fields: Vec<FieldLevels>,
}

/// One field's levels and their weights (the null level weighs 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldLevels {
    pub field: String,
    pub levels: Vec<LevelWeight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelWeight {
    pub name: String,
    pub weight: f64,
}

/// The table of `model`'s level weights, named for the model's kind of comparisons.
pub fn weight_table(model: &Model) -> WeightTable {
    let fields = Field::ALL
        .iter()
        .map(|&f| FieldLevels {
            field: f.name().to_string(),
            levels: f
                .levels_of(model.kind)
                .iter()
                .enumerate()
                .map(|(level, name)| LevelWeight {
                    name: (*name).to_string(),
                    weight: model.level_weight(f, level as u8),
                })
                .collect(),
        })
        .collect();
    WeightTable {
        prior: model.prior_weight(),
        threshold: model.threshold,
        fields,
    }
}

/// A comparison's levels as text, one digit per field in [`Field::ALL`] order joined by dots
/// ("1.1.2.1.0.1.0.0"): the compact form a holder receives with each hit.
pub fn levels_text(c: &Comparison) -> String {
    c.0.iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

impl Explanation {
    /// The explanation with the companions' term of a run added to its total.
    pub fn with_companions(mut self, model: &Model, support: &str, weight: f64) -> Explanation {
        self.total += weight;
        self.probability = model.probability(self.total);
        self.companions = Some((support.to_string(), weight));
        self
    }

    /// A text waterfall: one line per step with its weight, a bar, and the running total.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut running = 0.0;
        let line = |out: &mut String, label: &str, w: f64, running: f64| {
            let n = (w.abs().round() as usize).min(30);
            let bar = if w >= 0.0 {
                "+".repeat(n)
            } else {
                "-".repeat(n)
            };
            let _ = writeln!(out, "{label:<58} {w:>+7.2}  {running:>+7.2}  {bar}");
        };
        running += self.prior;
        line(&mut out, "prior (lambda)", self.prior, running);
        for f in &self.fields {
            running += f.weight;
            let label = format!("{}: {}", f.field.name(), f.level_name);
            line(&mut out, &label, f.weight, running);
        }
        if self.tf_adjustment != 0.0 {
            running += self.tf_adjustment;
            line(
                &mut out,
                "surname frequency adjustment",
                self.tf_adjustment,
                running,
            );
        }
        if self.given_tf_adjustment != 0.0 {
            running += self.given_tf_adjustment;
            line(
                &mut out,
                "given-name frequency adjustment",
                self.given_tf_adjustment,
                running,
            );
        }
        if let Some((support, weight)) = &self.companions {
            running += weight;
            line(
                &mut out,
                &format!("companions: {support}"),
                *weight,
                running,
            );
        }
        let verdict = if self.total >= self.threshold {
            "link"
        } else {
            "no link"
        };
        let _ = writeln!(
            out,
            "total {:+.2} (threshold {:+.2}): match probability {:.4}, {verdict}",
            self.total, self.threshold, self.probability
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;
    use crate::Source;
    use crate::testutil::rec;

    #[test]
    fn error_sources_add_up_to_the_clusters_errors() {
        // Persons {0, 1, 2}, {3, 4}, {5}, {6, 7}; clusters {0, 1}, {2}, {3, 4, 5}, {6}, {7}.
        let truth: FxHashSet<(u32, u32)> = [(0, 1), (0, 2), (1, 2), (3, 4), (6, 7)]
            .into_iter()
            .collect();
        let cluster = |members: Vec<u32>| Cluster {
            id: String::new(),
            members,
        };
        let clusters = vec![
            cluster(vec![0, 1]),
            cluster(vec![2]),
            cluster(vec![3, 4, 5]),
            cluster(vec![6]),
            cluster(vec![7]),
        ];
        let pair = |a, b, weight| ScoredPair { a, b, weight };
        let scored = [
            pair(0, 1, 5.0),  // found
            pair(2, 0, -3.0), // true, below the threshold
            pair(1, 2, 1.0),  // true, above it, left apart
            pair(3, 5, 2.0),  // false, above it, joined
            pair(4, 5, -1.0), // false, below it, joined through 3
            pair(2, 3, 4.0),  // false, above it, left apart: no error
        ];
        let metrics = Metrics::of_clusters(&clusters, &truth);
        assert_eq!(
            (
                metrics.true_positives,
                metrics.false_positives,
                metrics.false_negatives
            ),
            (2, 2, 3)
        );
        let (e, true_candidates) =
            ErrorSources::with_true_candidates(&scored, 0.0, &clusters, 8, &truth, &metrics);
        // (0, 1), (2, 0) and (1, 2) are true pairs among the candidates.
        assert_eq!(true_candidates, 3);
        assert_eq!(
            e,
            ErrorSources {
                missed_not_candidates: 1,
                missed_below_threshold: 1,
                missed_by_solver: 1,
                false_direct: 1,
                false_through_merges: 1,
            }
        );
    }

    #[test]
    fn metrics_count_pairs() {
        let truth: FxHashSet<(u32, u32)> = [(0, 1), (2, 3), (2, 4), (3, 4)].into_iter().collect();
        let m = Metrics::of_pairs(&[(1, 0), (2, 3), (5, 6), (0, 1)], &truth);
        assert_eq!(
            (m.true_positives, m.false_positives, m.false_negatives),
            (2, 1, 2)
        );
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert!((pairs_completeness([(0, 1), (3, 2)], &truth) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn truth_pairs_within_and_across_sources() {
        let d = Dataset::new(vec![
            Source {
                name: "us".into(),
                records: vec![rec("a", "X", "Y", "", ""), rec("b", "X", "Y", "", "")],
            },
            Source {
                name: "mx".into(),
                records: vec![rec("c", "X", "Y", "", ""), rec("d", "X", "Y", "", "")],
            },
        ]);
        let t = Truth::from_assignments([
            ("us", "a", "p1"),
            ("us", "b", "p1"),
            ("mx", "c", "p1"),
            ("mx", "d", "p2"),
            ("gt", "rejected-row", "p2"),
        ]);
        let pairs = t.pairs(&d);
        let expected: FxHashSet<(u32, u32)> = [(0, 1), (0, 2), (1, 2)].into_iter().collect();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn truth_from_csv() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.csv");
        std::fs::write(&p, "source,record_id,person_id\nus,a,P1\nmx,c,P1\n").unwrap();
        let t = Truth::from_records_csv(&p).unwrap();
        assert_eq!(t.person("mx", "c"), Some("P1"));
        std::fs::write(&p, "source,id\nus,a\n").unwrap();
        assert!(matches!(
            Truth::from_records_csv(&p),
            Err(LinkError::MissingColumn { .. })
        ));
    }

    #[test]
    fn explanation_adds_up_and_renders() {
        let m: Vec<(Vec<f64>, Vec<f64>)> = Field::ALL
            .iter()
            .map(|f| {
                let n = f.level_count();
                let mut m = vec![1.0; n];
                let mut u = vec![1.0; n];
                for l in 1..n {
                    m[l] = if l == 1 { 0.9 } else { 0.1 / (n - 2) as f64 };
                    u[l] = if l == n - 1 {
                        0.9
                    } else {
                        0.1 / (n - 2) as f64
                    };
                }
                (m, u)
            })
            .collect();
        let model = Model {
            kind: crate::ComparisonKind::Plaintext,
            version: crate::model::MODEL_VERSION,
            lambda: 0.001,
            fields: Field::ALL
                .iter()
                .zip(m)
                .map(|(&field, (m, u))| crate::model::FieldParams { field, m, u })
                .collect(),
            surname_tf: Default::default(),
            tf_rare: 0.001,
            tf_mean: 0.01,
            given_tf: Default::default(),
            threshold: 0.0,
            em_iterations: 0,
            em_converged: true,
        };
        let a = rec("1", "Juan", "Pérez", "García", "1990-03-05");
        let b = rec("2", "Juan", "Perez", "Garcia", "1990-03-05");
        let e = explain(&model, &a, &b);
        let sum: f64 = e.prior + e.fields.iter().map(|f| f.weight).sum::<f64>() + e.tf_adjustment;
        assert!((sum - e.total).abs() < 1e-9);
        assert!(e.tf_adjustment > 0.0, "a surname seen nowhere is rare");
        let text = e.render();
        assert!(text.contains("given_name: exact"), "{text}");
        assert!(text.contains("birth_date: exact"), "{text}");
        assert!(text.contains("identifier: null"), "{text}");
        assert!(text.contains(", link"), "{text}");

        // The table and the levels text give a holder the same waterfall.
        let table = weight_table(&model);
        let c = model.score(&a, &b).comparison;
        let levels: Vec<usize> = levels_text(&c)
            .split('.')
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(levels.len(), Field::ALL.len());
        let from_table: f64 = table
            .fields
            .iter()
            .zip(&levels)
            .map(|(f, &l)| f.levels[l].weight)
            .sum();
        let fields: f64 = e.fields.iter().map(|f| f.weight).sum();
        assert!((from_table - fields).abs() < 1e-9);
        assert_eq!(table.prior, e.prior);
        assert_eq!(table.fields[0].levels[levels[0]].name, "exact");
        assert_eq!(table.fields[0].levels[0].weight, 0.0, "null weighs nothing");
    }
}
