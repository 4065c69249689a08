//! `enlace evaluate`: scores a linkage run's output against ground truth — precision, recall
//! and F1 of the clusters — and draws the precision/recall-vs-threshold chart and the
//! match-weight histogram from its scored candidate pairs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use enlace_link::evaluate::completeness_of;
use enlace_link::report::{best_f1, pr_chart_svg, threshold_curve, weight_histogram_svg};
use enlace_link::{Metrics, Model, Truth};
use rustc_hash::FxHashSet;
use serde::Serialize;

#[derive(Args)]
pub struct EvaluateArgs {
    /// The output directory of `enlace link` or `enlace dedupe` (clusters.csv, model.json and,
    /// for the charts, candidates.csv).
    #[arg(long)]
    pub run: PathBuf,
    /// Ground truth: a `source,record_id,person_id` CSV.
    #[arg(long)]
    pub truth: PathBuf,
    /// For a run on encodings: the `.refs.csv` files the agencies kept when encoding, mapping
    /// references back to record ids. Repeat for each source.
    #[arg(long)]
    pub refs: Vec<PathBuf>,
    /// Where to write the charts (default: the run directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Evaluation {
    records: usize,
    records_without_truth: usize,
    true_pairs: usize,
    clusters: Metrics,
    threshold: f64,
    best_threshold: Option<f64>,
    best_pairwise_f1: Option<f64>,
    /// From candidates.csv: the share of the true pairs blocking made candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pairs_completeness: Option<f64>,
    charts: Vec<PathBuf>,
}

/// Record names of one run, translated through the references when given.
struct Names {
    refs: HashMap<(String, String), String>,
}

impl Names {
    fn load(paths: &[PathBuf]) -> Result<Names> {
        let mut refs = HashMap::new();
        for path in paths {
            let mut r = csv::Reader::from_path(path)
                .with_context(|| format!("reading {}", path.display()))?;
            for (i, row) in r.records().enumerate() {
                let row = row.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
                let (Some(s), Some(reference), Some(id)) = (row.get(0), row.get(1), row.get(2))
                else {
                    bail!(
                        "{}: line {}: expected source,reference,record_id",
                        path.display(),
                        i + 2
                    );
                };
                refs.insert((s.to_string(), reference.to_string()), id.to_string());
            }
        }
        Ok(Names { refs })
    }

    /// The record id under which the truth knows `(source, id)`.
    fn record<'a>(&'a self, source: &str, id: &'a str) -> &'a str {
        if self.refs.is_empty() {
            return id;
        }
        self.refs
            .get(&(source.to_string(), id.to_string()))
            .map(String::as_str)
            .unwrap_or(id)
    }
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    let truth = Truth::from_records_csv(&args.truth)?;
    let names = Names::load(&args.refs)?;
    let clusters_path = args.run.join("clusters.csv");
    let mut reader = csv::Reader::from_path(&clusters_path)
        .with_context(|| format!("reading {}", clusters_path.display()))?;
    // Records in file order, with their person (if the truth knows them) and cluster.
    let mut index: HashMap<(String, String), u32> = HashMap::new();
    let mut person: Vec<Option<String>> = Vec::new();
    let mut members: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: line {}", clusters_path.display(), i + 2))?;
        let (Some(c), Some(s), Some(id)) = (row.get(0), row.get(1), row.get(2)) else {
            bail!(
                "{}: line {}: expected cluster_id,source,record_id",
                clusters_path.display(),
                i + 2
            );
        };
        let n = person.len() as u32;
        index.insert((s.to_string(), id.to_string()), n);
        person.push(truth.person(s, names.record(s, id)).map(str::to_string));
        members.entry(c.to_string()).or_default().push(n);
    }
    if person.is_empty() {
        bail!("{} lists no records", clusters_path.display());
    }
    let unknown = person.iter().filter(|p| p.is_none()).count();
    if unknown == person.len() {
        bail!(
            "the truth file {} names none of the run's records{}",
            args.truth.display(),
            if names.refs.is_empty() {
                " (for a run on encodings, give the agencies' --refs files)"
            } else {
                ""
            }
        );
    }
    let mut by_person: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, p) in person.iter().enumerate() {
        if let Some(p) = p {
            by_person.entry(p).or_default().push(i as u32);
        }
    }
    let mut truth_pairs: FxHashSet<(u32, u32)> = FxHashSet::default();
    for ids in by_person.values() {
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                truth_pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    let mut predicted = Vec::new();
    for m in members.values() {
        for (i, &a) in m.iter().enumerate() {
            for &b in &m[i + 1..] {
                predicted.push((a.min(b), a.max(b)));
            }
        }
    }
    let metrics = Metrics::of_pairs(&predicted, &truth_pairs);
    let model = Model::load(&args.run.join("model.json"))?;

    let out_dir = args.out.clone().unwrap_or_else(|| args.run.clone());
    let candidates = args.run.join("candidates.csv");
    let mut charts = Vec::new();
    let mut best = None;
    let mut completeness = None;
    if candidates.exists() {
        let scored = read_candidates(&candidates, &index, &person)?;
        let true_candidates = scored.iter().filter(|(_, is_match)| *is_match).count();
        completeness = Some(completeness_of(true_candidates, truth_pairs.len()));
        let curve = threshold_curve(&scored, truth_pairs.len());
        best = best_f1(&curve);
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        let pr = out_dir.join("precision-recall.svg");
        let title = "Pairwise precision, recall and F1 by match-weight threshold";
        std::fs::write(&pr, pr_chart_svg(&curve, Some(model.threshold), title))
            .with_context(|| format!("writing {}", pr.display()))?;
        let hist = out_dir.join("match-weights.svg");
        let title = "Match weights of candidate pairs";
        std::fs::write(
            &hist,
            weight_histogram_svg(&scored, 60, Some(model.threshold), title),
        )
        .with_context(|| format!("writing {}", hist.display()))?;
        charts = vec![pr, hist];
    } else {
        eprintln!(
            "note: {} is missing (run `enlace link` with --candidates): no charts drawn",
            candidates.display()
        );
    }
    let evaluation = Evaluation {
        records: person.len(),
        records_without_truth: unknown,
        true_pairs: truth_pairs.len(),
        clusters: metrics,
        threshold: model.threshold,
        best_threshold: best.map(|b| b.threshold),
        best_pairwise_f1: best.map(|b| b.f1),
        pairs_completeness: completeness,
        charts,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&evaluation)?);
        return Ok(());
    }
    outln!(
        "{} records ({} unknown to the truth), {} true pairs",
        evaluation.records,
        evaluation.records_without_truth,
        evaluation.true_pairs
    );
    outln!(
        "clusters at threshold {:.2}: precision {:.4}  recall {:.4}  F1 {:.4}  (tp {}, fp {}, fn {})",
        evaluation.threshold,
        metrics.precision,
        metrics.recall,
        metrics.f1,
        metrics.true_positives,
        metrics.false_positives,
        metrics.false_negatives
    );
    if let Some(c) = evaluation.pairs_completeness {
        outln!("pairs completeness (true pairs among the candidates): {c:.4}");
    }
    if let Some(b) = best {
        outln!(
            "candidate pairs alone, best threshold {:.2} (chosen with the truth): precision {:.4}  recall {:.4}  F1 {:.4}",
            b.threshold,
            b.precision,
            b.recall,
            b.f1
        );
    }
    for c in &evaluation.charts {
        outln!("written: {}", c.display());
    }
    Ok(())
}

/// Scored candidate pairs as `(weight, truly a match)`.
fn read_candidates(
    path: &Path,
    index: &HashMap<(String, String), u32>,
    person: &[Option<String>],
) -> Result<Vec<(f64, bool)>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}: line {line}", path.display()))?;
        let field = |n: usize| row.get(n).unwrap_or("");
        let find = |s: &str, id: &str| index.get(&(s.to_string(), id.to_string())).copied();
        let (Some(a), Some(b)) = (find(field(0), field(1)), find(field(2), field(3))) else {
            bail!(
                "{}: line {line}: a record that clusters.csv does not list",
                path.display()
            );
        };
        let weight: f64 = field(4).parse().with_context(|| {
            format!(
                "{}: line {line}: match_weight is not a number",
                path.display()
            )
        })?;
        let same = match (&person[a as usize], &person[b as usize]) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        };
        out.push((weight, same));
    }
    Ok(out)
}
