//! End to end on encodings: generate a scenario, import it, encode each source under one
//! project secret, link the encodings (deduplication and links across), and score the result
//! against the truth mapped through the references; the plaintext run on the same records is
//! the yardstick.

use enlace_encode::{EncodedRecord, Encoder, EncodingFile, Hardening, ProjectSecret, Schema};
use enlace_link::encoded::{EncodedBlocker, EncodedDataset, EncodedSource, reference_key};
use enlace_link::evaluate::pairs_completeness;
use enlace_link::{
    Blocker, ComparisonKind, Dataset, LinkOutput, Metrics, TrainOptions, Truth, run, run_encoded,
};
use rustc_hash::FxHashSet;

mod common;

fn env(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[test]
fn links_generated_scenario_on_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let people = env("ENLACE_LINK_PEOPLE", 1_500) as usize;
    let seed = env("ENLACE_LINK_SEED", 7);
    enlace_synth::generate(
        &enlace_synth::GenerateOptions::new(people, seed),
        dir.path(),
    )
    .unwrap();
    let data = common::load(dir.path());
    let truth = Truth::from_records_csv(&dir.path().join("truth/records.csv")).unwrap();

    let train = TrainOptions {
        seed: 11,
        u_samples: 60_000,
        ..TrainOptions::default()
    };
    let unhardened = encode_and_link(&data, &truth, Hardening::NONE, &train);
    let hardened = encode_and_link(
        &data,
        &truth,
        Schema::default_with_id("test").hardening,
        &train,
    );
    let (encoded, out, truth_pairs, completeness, m) = (
        &hardened.encoded,
        &hardened.out,
        &hardened.truth_pairs,
        hardened.completeness,
        hardened.metrics,
    );
    assert_eq!(out.model.kind, ComparisonKind::Encoded);
    // The files carry event tokens, so the companions' pass ran: linked companions count for
    // a pair.
    let cotravel = &out
        .companions
        .as_ref()
        .expect("companions' evidence")
        .report;
    assert!(cotravel.weights[1] > 1.0, "{cotravel:?}");
    let candidates: Vec<(u32, u32)> = out.scored.iter().map(|p| (p.a, p.b)).collect();

    let plain = run(&data, &Blocker::default(), None, &train).unwrap();
    let pm = Metrics::of_clusters(&plain.clusters, &truth.pairs(&data));
    println!(
        "encoded, default hardening: {} pairs, completeness {completeness:.4}, threshold {:.2}; P {:.4} R {:.4} F1 {:.4}",
        out.blocking.pairs, out.model.threshold, m.precision, m.recall, m.f1
    );
    let um = unhardened.metrics;
    println!(
        "encoded, unhardened: {} pairs, completeness {:.4}; P {:.4} R {:.4} F1 {:.4}",
        unhardened.out.blocking.pairs, unhardened.completeness, um.precision, um.recall, um.f1
    );
    println!(
        "plaintext: P {:.4} R {:.4} F1 {:.4}",
        pm.precision, pm.recall, pm.f1
    );
    for f in &out.model.fields {
        println!("{:?} m={:.3?} u={:.4?}", f.field, f.m, f.u);
    }
    if std::env::var_os("ENLACE_LINK_DEBUG").is_some() {
        let score = |a: u32, b: u32| out.model.weigh(encoded, a, b);
        for t in [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0] {
            let c = enlace_link::dedupe_then_link(encoded, &out.scored, t, &score);
            let m = Metrics::of_clusters(&c, truth_pairs);
            println!(
                "threshold {t:+}: P {:.4} R {:.4} F1 {:.4}",
                m.precision, m.recall, m.f1
            );
        }
        let cand: std::collections::HashSet<(u32, u32)> = candidates.iter().copied().collect();
        let predicted: std::collections::HashSet<(u32, u32)> =
            enlace_link::evaluate::cluster_pairs(&out.clusters)
                .into_iter()
                .collect();
        // Up to 25 pairs of each kind, with their levels, weight and plaintext.
        let show = |label: &str, pairs: &mut dyn Iterator<Item = &(u32, u32)>| {
            for p in pairs.take(25) {
                let (a, b) = data_pair(&data, encoded, p.0, p.1);
                println!(
                    "{label} {:?} w={:.2} {a} | {b}",
                    enlace_link::Linkable::compare(encoded, p.0, p.1).0,
                    out.model.weigh(encoded, p.0, p.1)
                );
            }
        };
        show(
            "MISSED",
            &mut truth_pairs
                .iter()
                .filter(|p| cand.contains(p) && !predicted.contains(p)),
        );
        show(
            "FALSE",
            &mut predicted.iter().filter(|p| !truth_pairs.contains(p)),
        );
    }
    // Measured on this scenario (docs/linkage.md, docs/privacy.md): unhardened completeness
    // 0.963, F1 0.940; salted by birth year (the default) 0.931 and 0.915; plaintext F1 0.981.
    // The floors leave a margin.
    assert!(
        unhardened.completeness > 0.95,
        "pairs completeness {}",
        unhardened.completeness
    );
    assert!(um.f1 > 0.92, "unhardened encoded F1 {}", um.f1);
    assert!(completeness > 0.92, "pairs completeness {completeness}");
    assert!(m.f1 > 0.9, "encoded F1 {}", m.f1);
    assert!(
        m.precision > 0.92 && m.recall > 0.86,
        "P {} R {}",
        m.precision,
        m.recall
    );
    // Salting costs some recall, not the model's calibration: u of the salted fields is
    // estimated among pairs that share a salt.
    assert!(um.f1 - m.f1 < 0.04, "salting costs {} in F1", um.f1 - m.f1);

    search_agrees_with_the_run(&hardened.sources, encoded, out);

    // The plaintext model cannot score encodings.
    let err = run_encoded(
        encoded,
        &EncodedBlocker::default(),
        Some(plain.model),
        &train,
    )
    .unwrap_err();
    assert!(err.to_string().contains("Plaintext"), "{err}");
}

/// The online search, fed the run's model and every source, finds each pair across sources the
/// run scored at or above its threshold (most of them: the run also pairs by LSH bands, which
/// the search does not use), with the same weight, and nothing the run weighed differently.
fn search_agrees_with_the_run(
    sources: &[EncodedSource],
    encoded: &EncodedDataset,
    out: &LinkOutput,
) {
    use enlace_link::Linkable;
    use enlace_link::encoded::SearchIndex;
    let schema = encoded.schema().unwrap();
    let mut index = SearchIndex::new(schema, out.model.clone(), 300);
    for s in sources {
        index.replace_source(&s.name, s.file.records.clone());
    }
    assert_eq!(index.len(), encoded.len());
    // The search weighs a pair on its fields alone; the run added what the records'
    // companions said in its second pass.
    let own_weight = |p: &enlace_link::ScoredPair| {
        p.weight
            - out
                .companions
                .as_ref()
                .map_or(0.0, |e| e.adjustment(p.a, p.b))
    };
    let above: Vec<_> = out
        .scored
        .iter()
        .filter(|p| {
            own_weight(p) >= out.model.threshold && encoded.source_of(p.a) != encoded.source_of(p.b)
        })
        .collect();
    assert!(above.len() > 100);
    let mut found = 0;
    for p in &above {
        // The dataset holds its filters apart; the query is the record as its file holds it.
        let (a, b) = (as_received(sources, p.a), encoded.record(p.b));
        let hits = index.search(a, Some(encoded.source_name(p.a)));
        assert!(hits.iter().all(|h| h.source != encoded.source_name(p.a)));
        assert!(hits.iter().all(|h| h.weight >= out.model.threshold));
        if let Some(h) = hits
            .iter()
            .find(|h| h.source == encoded.source_name(p.b) && h.reference == b.reference)
        {
            found += 1;
            assert!(
                (h.weight - own_weight(p)).abs() < 1e-9,
                "{} vs {}",
                h.weight,
                own_weight(p)
            );
        }
    }
    let share = found as f64 / above.len() as f64;
    assert!(
        share > 0.9,
        "the search found {found} of {} pairs",
        above.len()
    );
}

/// Record `id` (a global id: sources in order, records in file order) as its file holds it.
fn as_received(sources: &[EncodedSource], mut id: u32) -> &EncodedRecord {
    for s in sources {
        match s.file.records.get(id as usize) {
            Some(r) => return r,
            None => id -= s.file.records.len() as u32,
        }
    }
    panic!("no record {id}")
}

/// The plaintext of two encoded records (same global ids: sources and records in one order),
/// for debugging output only.
fn data_pair(data: &enlace_link::Dataset, _e: &EncodedDataset, a: u32, b: u32) -> (String, String) {
    let show = |id: u32| {
        let r = data.record(id);
        format!(
            "{} / {} / {:?}",
            r.name.given_display,
            r.name.surnames_display,
            r.birth_date.map(|d| d.iso())
        )
    };
    (show(a), show(b))
}

/// One encoded run: the encodings, the output, the truth pairs among them, and the scores.
struct EncodedRun {
    /// The files as the linkage unit received them (the dataset holds their filters apart).
    sources: Vec<EncodedSource>,
    encoded: EncodedDataset,
    out: LinkOutput,
    truth_pairs: FxHashSet<(u32, u32)>,
    completeness: f64,
    metrics: Metrics,
}

/// Encodes every source under `hardening` (through the file format, as the linkage unit
/// receives it), links the encodings and scores the result through the references.
fn encode_and_link(
    data: &Dataset,
    truth: &Truth,
    hardening: Hardening,
    train: &TrainOptions,
) -> EncodedRun {
    let secret = ProjectSecret::from_bytes(&[7u8; 32]).unwrap();
    let mut schema = Schema::default_with_id("test");
    schema.hardening = hardening;
    let encoder = Encoder::new(&secret, schema).unwrap();
    let (mut sources, mut split) = (Vec::new(), Vec::new());
    let mut encoded_truth = Vec::new();
    for s in &data.sources {
        let records = encoder.encode_all(&s.records, |_, r| encoder.reference_for(&r.key));
        for (r, e) in s.records.iter().zip(&records) {
            if let Some(p) = truth.person(&s.name, &r.key) {
                encoded_truth.push((s.name.clone(), reference_key(e.reference), p.to_string()));
            }
        }
        let file = EncodingFile {
            schema: encoder.schema().clone(),
            key_check: encoder.key_check(),
            records,
        };
        let bytes = file.to_bytes().unwrap();
        sources.push(EncodedSource::new(
            &s.name,
            EncodingFile::from_bytes(&bytes).unwrap(),
        ));
        split.push(EncodedSource::split(
            &s.name,
            EncodingFile::split_from_bytes(&bytes).unwrap(),
        ));
    }
    // The dataset is built as the command line builds it, from files read with their filters
    // apart; the files with their filters in the records serve the online search.
    let encoded = EncodedDataset::new(split).unwrap();
    let truth_pairs = Truth::from_assignments(encoded_truth).pairs(&encoded);
    let out = run_encoded(&encoded, &EncodedBlocker::default(), None, train).unwrap();
    let completeness = pairs_completeness(out.scored.iter().map(|p| (p.a, p.b)), &truth_pairs);
    let metrics = Metrics::of_clusters(&out.clusters, &truth_pairs);
    EncodedRun {
        sources,
        encoded,
        out,
        truth_pairs,
        completeness,
        metrics,
    }
}
