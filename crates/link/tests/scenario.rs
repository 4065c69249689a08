//! End to end on a generated scenario: generate, import into a store through the shipped
//! mappings, link US↔MX↔GT with deduplication, and score against the scenario's truth.

use std::collections::BTreeMap;
use std::time::Instant;

use enlace_link::evaluate::{cluster_pairs, pairs_completeness};
use enlace_link::{
    Blocker, Dataset, LinkOutput, Metrics, TrainOptions, Truth, dedupe_then_link, explain, run,
};
use rustc_hash::FxHashSet;

const PEOPLE: usize = 1_500;
const SEED: u64 = 7;
mod common;
use common::load;

#[test]
fn links_generated_scenario() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // Other sizes and seeds can be measured with ENLACE_LINK_PEOPLE and ENLACE_LINK_SEED (the
    // floors below hold for the defaults).
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (people, seed) = (
        env("ENLACE_LINK_PEOPLE", PEOPLE as u64) as usize,
        env("ENLACE_LINK_SEED", SEED),
    );
    let opts = enlace_synth::GenerateOptions::new(people, seed);
    enlace_synth::generate(&opts, dir.path()).unwrap();
    let data = load(dir.path());
    let truth = Truth::from_records_csv(&dir.path().join("truth/records.csv")).unwrap();
    let truth_pairs = truth.pairs(&data);
    let t_load = t0.elapsed();

    let train = TrainOptions {
        seed: 11,
        u_samples: 60_000,
        ..TrainOptions::default()
    };
    let out = run(&data, &Blocker::default(), None, &train).unwrap();
    let candidates: Vec<(u32, u32)> = out.scored.iter().map(|p| (p.a, p.b)).collect();
    let completeness = pairs_completeness(candidates.iter().copied(), &truth_pairs);
    let m = Metrics::of_clusters(&out.clusters, &truth_pairs);
    println!(
        "scenario: {people} people, seed {seed}; {} records; {} true pairs",
        data.len(),
        truth_pairs.len()
    );
    println!(
        "blocking: {} pairs, reduction ratio {:.5}, pairs completeness {:.4}",
        out.blocking.pairs, out.blocking.reduction_ratio, completeness
    );
    println!(
        "model: lambda {:.5}, EM {} iterations (converged: {}), threshold {:.2}",
        out.model.lambda, out.model.em_iterations, out.model.em_converged, out.model.threshold
    );
    println!(
        "pairwise: precision {:.4} recall {:.4} F1 {:.4} (tp {}, fp {}, fn {})",
        m.precision, m.recall, m.f1, m.true_positives, m.false_positives, m.false_negatives
    );
    println!("load {:?}, total {:?}", t_load, t0.elapsed());
    if std::env::var_os("ENLACE_LINK_DEBUG").is_some() {
        report_errors(&data, &out, &truth_pairs, &candidates);
    }

    // Measured on this scenario: P 0.980, R 0.982, F1 0.981 (docs/linkage.md); the floors
    // leave a margin for small changes elsewhere in the pipeline.
    assert!(completeness > 0.98, "pairs completeness {completeness}");
    assert!(m.precision > 0.96, "precision {}", m.precision);
    assert!(m.recall > 0.955, "recall {}", m.recall);
    assert!(m.f1 > 0.96, "F1 {}", m.f1);

    // Linking only across sources: training still finds its (within-source) training pairs, and
    // one-to-one US↔MX links are precise (recall is bounded: a US person with repeat
    // encounters has one MX record to pair with).
    let across = Blocker {
        scope: enlace_link::PairScope::Across,
        ..Blocker::default()
    };
    let out_across = run(&data, &across, None, &train).unwrap();
    let date_m = &out_across.model.fields[enlace_link::Field::BirthDate.index()].m;
    assert!(date_m[1] > 0.5, "m(birth date exact) {}", date_m[1]);
    let links =
        enlace_link::one_to_one(&data, &out_across.scored, 0, 1, out_across.model.threshold);
    let pairs: Vec<(u32, u32)> = links.iter().map(|l| (l.a, l.b)).collect();
    let m11 = Metrics::of_pairs(&pairs, &truth_pairs);
    println!(
        "one-to-one US-MX: {} links, precision {:.4}",
        links.len(),
        m11.precision
    );
    assert!(
        m11.precision > 0.95,
        "one-to-one precision {}",
        m11.precision
    );

    // A saved and reloaded model links to the same clusters, with the same ids.
    let path = dir.path().join("model.json");
    out.model.save(&path).unwrap();
    let model = enlace_link::Model::load(&path).unwrap();
    let again = run(&data, &Blocker::default(), Some(model), &train).unwrap();
    assert_eq!(again.clusters, out.clusters);
}

/// Prints what went wrong, for tuning: samples of missed, unblocked and false pairs with their
/// waterfalls, errors by pair of sources, and F1 over a sweep of thresholds.
fn report_errors(
    data: &Dataset,
    out: &LinkOutput,
    truth: &FxHashSet<(u32, u32)>,
    candidates: &[(u32, u32)],
) {
    let predicted: FxHashSet<(u32, u32)> = cluster_pairs(&out.clusters).into_iter().collect();
    let show = |label: &str, a: u32, b: u32| {
        let (x, y) = (data.record(a), data.record(b));
        println!("{label} {:?} {:?}", data.key(a), data.key(b));
        for r in [x, y] {
            println!(
                "  {} / {} / {:?}",
                r.name.given_display,
                r.name.surnames_display,
                r.birth_date.map(|d| d.iso())
            );
        }
        println!("{}", explain(&out.model, x, y).render());
    };
    let mut missed: Vec<&(u32, u32)> = truth.iter().filter(|p| !predicted.contains(p)).collect();
    missed.sort();
    for p in missed.iter().take(12) {
        show("MISSED", p.0, p.1);
    }
    let mut false_pairs: Vec<&(u32, u32)> =
        predicted.iter().filter(|p| !truth.contains(p)).collect();
    false_pairs.sort();
    for p in false_pairs.iter().take(12) {
        show("FALSE", p.0, p.1);
    }
    let cand: FxHashSet<(u32, u32)> = candidates.iter().copied().collect();
    for p in missed.iter().filter(|p| !cand.contains(p)).take(12) {
        show("UNBLOCKED", p.0, p.1);
    }
    let by_sources = |pairs: &[&(u32, u32)]| {
        let mut m: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for p in pairs {
            *m.entry((data.source_of(p.0), data.source_of(p.1)))
                .or_default() += 1;
        }
        m
    };
    println!("false pairs by sources {:?}", by_sources(&false_pairs));
    println!("missed pairs by sources {:?}", by_sources(&missed));
    let score = |a: u32, b: u32| out.model.score(data.record(a), data.record(b)).weight;
    for t in [-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0] {
        let c = dedupe_then_link(data, &out.scored, t, &score);
        let m = Metrics::of_clusters(&c, truth);
        println!(
            "threshold {t:+}: P {:.4} R {:.4} F1 {:.4}",
            m.precision, m.recall, m.f1
        );
    }
    for f in &out.model.fields {
        println!("{:?} m={:.4?} u={:.5?}", f.field, f.m, f.u);
    }
}
