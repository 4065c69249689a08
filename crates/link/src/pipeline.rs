//! The whole plaintext run: block, train (or take a model), score, deduplicate and link.

use rayon::prelude::*;

use crate::blocking::{Blocker, BlockingReport, PairScope};
use crate::blocks::{Compared, levels_of, pair_of};
use crate::compare::{Comparison, Hints};
use crate::cotravel::{COMPANIONS_RULE, Companions, Evidence, companion_candidates};
use crate::encoded::{EncodedBlocker, EncodedDataset, training_sets};
use crate::estimate::patterns_of;
use crate::model::{Model, TrainOptions};
use crate::solve::{Cluster, ScoredPair, dedupe_then_link, link_entities};
use crate::weigher::Weigher;
use crate::{Dataset, LinkError, Linkable};

/// What a run produced.
#[derive(Debug, Clone)]
pub struct LinkOutput {
    pub model: Model,
    pub blocking: BlockingReport,
    /// Every candidate pair with its weight, in blocking order.
    pub scored: Vec<ScoredPair>,
    pub clusters: Vec<Cluster>,
    /// The co-traveller evidence the second pass added, when records had companions.
    pub companions: Option<Evidence>,
}

/// Refuses data with a source none of whose records has a field the comparison can use (every
/// level null when a record is compared with itself): a mapping that read the wrong columns, or
/// encodings without filters.
pub fn check_usable<D: Linkable + ?Sized>(
    data: &D,
    source_names: &[String],
) -> Result<(), LinkError> {
    let sizes = data.source_sizes();
    let mut start = 0u32;
    for (s, &n) in sizes.iter().enumerate() {
        let ids = start..start + n as u32;
        start += n as u32;
        if n == 0 {
            continue;
        }
        let usable = ids.into_par_iter().any(|id| {
            data.compare(id, id)
                .0
                .iter()
                .any(|&l| l != crate::compare::NULL_LEVEL)
        });
        if !usable {
            let name = source_names.get(s).map(String::as_str).unwrap_or("?");
            return Err(LinkError::Training(format!(
                "source `{name}`: no record has a name, birth date, sex or identifier to compare"
            )));
        }
    }
    Ok(())
}

/// Blocks, trains a model when none is given, scores the candidates, deduplicates within each
/// source and links across, at the model's threshold.
pub fn run(
    data: &Dataset,
    blocker: &Blocker,
    model: Option<Model>,
    train: &TrainOptions,
) -> Result<LinkOutput, LinkError> {
    let names: Vec<String> = data.sources.iter().map(|s| s.name.clone()).collect();
    check_usable(data, &names)?;
    // Every candidate is compared once, block by block (see `crate::blocks`), for λ's EM and
    // for the weights; each pair is held with its comparison and scored in the same memory.
    let clock = Phases::start();
    let blocks = blocker.blocks(data);
    clock.done("blocks built", blocks.kept());
    let hints = hints_of(data);
    clock.done("names hinted", data.len());
    let (compared, mut blocking) = blocks.compare_owned(data, blocker.scope, |a, b| {
        data.compare_hinted(a, b, Some(hints.pair(a, b)))
    });
    drop(hints);
    clock.done("candidate pairs compared", compared.len());
    let (mut model, trained) = match model {
        Some(m) => (m, false),
        None => {
            let patterns = patterns_of(compared.iter().map(levels_of));
            let model = Model::fit_patterns(data, blocker, &patterns, &compared, train)?;
            (model, true)
        }
    };
    clock.done("model ready", usize::from(trained));
    let (weigher, mut scored) = weigh_candidates(&mut model, trained, data, compared);
    clock.done("pairs weighed", scored.len());
    let score = |a: u32, b: u32| weigher.weight(&data.compare(a, b), a);
    let mut clusters = dedupe_then_link(data, &scored, model.threshold, &score);
    clock.done("clusters solved", clusters.len());
    let pass = SecondPass {
        data,
        companions: Companions::of_dataset(data),
        scope: blocker.scope,
        weigher: &weigher,
    };
    // Hinted comparisons for the new candidates, as the blocked ones had: several times
    // faster. The hints are made only once there are candidates to compare.
    let compare_new = || {
        let hints = hints_of(data);
        move |a: u32, b: u32| data.compare_hinted(a, b, Some(hints.pair(a, b)))
    };
    let evidence = pass.run(
        compare_new,
        |scored: &[ScoredPair], score: &(dyn Fn(u32, u32) -> f64 + Sync)| {
            dedupe_then_link(data, scored, model.threshold, score)
        },
        &mut scored,
        &mut clusters,
        &mut blocking,
        &clock,
    );
    Ok(LinkOutput {
        model,
        blocking,
        scored,
        clusters,
        companions: evidence,
    })
}

/// Every record's name hints, for the hinted comparisons.
fn hints_of(data: &Dataset) -> Hints {
    Hints::of(
        (0..data.len() as u32)
            .into_par_iter()
            .map(|id| data.record(id)),
    )
}

/// The companions' pass (`crate::cotravel`) over plaintext or encodings: what it reads.
struct SecondPass<'a, D: Linkable + ?Sized> {
    data: &'a D,
    companions: Companions,
    scope: PairScope,
    weigher: &'a Weigher,
}

impl<D: Linkable + ?Sized> SecondPass<'_, D> {
    /// The support of every candidate under the first answer's `clusters`, the companions of
    /// linked records added as candidates (compared by what `compare_new` makes), every
    /// weight adjusted and the candidates solved again by `solve` into `clusters`. `None`,
    /// changing nothing, when no record has a companion.
    fn run<C, S>(
        &self,
        compare_new: impl FnOnce() -> C,
        solve: S,
        scored: &mut Vec<ScoredPair>,
        clusters: &mut Vec<Cluster>,
        blocking: &mut BlockingReport,
        clock: &Phases,
    ) -> Option<Evidence>
    where
        C: Fn(u32, u32) -> Comparison + Sync,
        S: Fn(&[ScoredPair], &(dyn Fn(u32, u32) -> f64 + Sync)) -> Vec<Cluster>,
    {
        let (data, weigher) = (self.data, self.weigher);
        let evidence = Evidence::estimate(&self.companions, clusters, data.len(), scored)?;
        clock.done("companions' support estimated", scored.len());
        let extra = companion_candidates(data, self.scope, &self.companions, clusters, scored);
        clock.done("companions' candidates found", extra.len());
        blocking.add_rule_after_the_fact(COMPANIONS_RULE, extra.len());
        // Within the room the compared vector was made with (see `Blocks::compare_owned`).
        scored.reserve_exact(extra.len());
        let compare = compare_new();
        scored.par_extend(extra.into_par_iter().map(|(a, b)| ScoredPair {
            a,
            b,
            weight: weigher.weight(&compare(a, b), a),
        }));
        drop(compare);
        clock.done("companions' candidates weighed", scored.len());
        evidence.apply(scored);
        let score =
            |a: u32, b: u32| weigher.weight(&data.compare(a, b), a) + evidence.adjustment(a, b);
        *clusters = solve(scored, &score);
        clock.done("clusters solved again with companions", clusters.len());
        Some(evidence)
    }
}

/// [`run`] on encodings: blocks with tokens, identifier hashes and CLK bands, trains an
/// encoded model when none is given (refusing a plaintext one), scores, deduplicates within
/// each source and links across. When the holders grouped their records (their own plaintext
/// deduplication, carried in the files), those groups are the entities and only pairs across
/// sources are compared and linked. When the files carry event tokens, the companions' pass
/// runs on them as on plaintext events.
pub fn run_encoded(
    data: &EncodedDataset,
    blocker: &EncodedBlocker,
    model: Option<Model>,
    train: &TrainOptions,
) -> Result<LinkOutput, LinkError> {
    let names: Vec<String> = data.source_names().map(str::to_string).collect();
    check_usable(data, &names)?;
    let groups = data.holder_groups();
    let across;
    let blocker = if groups.is_some() {
        across = EncodedBlocker {
            scope: crate::PairScope::Across,
            ..blocker.clone()
        };
        &across
    } else {
        blocker
    };
    let clock = Phases::start();
    let blocks = blocker.blocks(data);
    clock.done("blocks built", blocks.kept());
    let (compared, mut blocking) =
        blocks.compare_owned(data, blocker.scope, |a, b| data.compare(a, b));
    clock.done("candidate pairs compared", compared.len());
    let (mut model, trained) = match model {
        Some(m) if m.kind != data.kind() => {
            return Err(LinkError::InvalidModel(format!(
                "the model was trained on {:?} comparisons; these are {:?}",
                m.kind,
                data.kind()
            )));
        }
        Some(m) => (m, false),
        None => {
            let sets = training_sets(data, blocker);
            let patterns = patterns_of(compared.iter().map(levels_of));
            let m = Model::fit_sets_known(data, &sets, &patterns, &compared, blocker.scope, train)?;
            (m, true)
        }
    };
    clock.done("model ready", usize::from(trained));
    let (weigher, mut scored) = weigh_candidates(&mut model, trained, data, compared);
    clock.done("pairs weighed", scored.len());
    let threshold = model.threshold;
    // The holders' groups are the entities when they sent them; else records are deduplicated
    // here first.
    let solve = |scored: &[ScoredPair], score: &(dyn Fn(u32, u32) -> f64 + Sync)| match &groups {
        Some(entities) => link_entities(data, entities.clone(), scored, threshold, score),
        None => dedupe_then_link(data, scored, threshold, score),
    };
    let score = |a: u32, b: u32| weigher.weight(&data.compare(a, b), a);
    let mut clusters = solve(&scored, &score);
    clock.done("clusters solved", clusters.len());
    let pass = SecondPass {
        data,
        companions: Companions::of_encoded(data),
        scope: blocker.scope,
        weigher: &weigher,
    };
    let evidence = pass.run(
        || |a: u32, b: u32| data.compare(a, b),
        solve,
        &mut scored,
        &mut clusters,
        &mut blocking,
        &clock,
    );
    Ok(LinkOutput {
        model,
        blocking,
        scored,
        clusters,
        companions: evidence,
    })
}

/// The compared candidates weighed, the threshold chosen from their weights when the model
/// was just trained (as `Model::train` does), and the weigher, which the solver uses again for
/// the pairs of two groups it may merge: its tables give `Model::weight_of`'s weights to the
/// last bit, without its logarithms and surname-key string.
fn weigh_candidates<D: Linkable + ?Sized>(
    model: &mut Model,
    trained: bool,
    data: &D,
    compared: Vec<Compared>,
) -> (Weigher, Vec<ScoredPair>) {
    let weigher = Weigher::new(model, data);
    let scored = score_compared(compared, &weigher);
    if trained {
        model.threshold = model.choose_threshold_of(scored.par_iter().map(|p| p.weight));
    }
    (weigher, scored)
}

/// Each phase's end, logged at info level with a count (never a record's content), so that
/// `-v` shows where a large run spends its time.
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Phases {
        Phases(std::time::Instant::now())
    }

    fn done(&self, phase: &str, count: usize) {
        tracing::info!(
            phase,
            count,
            seconds = self.0.elapsed().as_secs_f64(),
            "linkage phase done (seconds since the run began)"
        );
    }
}

/// The compared pairs weighed, in their own memory (see [`Compared`]), and so with its room
/// for the companions' candidates (see `Blocks::compare_owned`).
fn score_compared(compared: Vec<Compared>, weigher: &Weigher) -> Vec<ScoredPair> {
    compared
        .into_iter()
        .map(|c| {
            let (a, b) = pair_of(&c);
            ScoredPair {
                a,
                b,
                weight: weigher.weight(&levels_of(&c), a),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use crate::testutil::rec;

    #[test]
    fn a_source_with_nothing_to_compare_is_refused_by_name() {
        let mut empty = rec("x1", "Ana", "Xol", "", "");
        empty.name = Default::default();
        empty.sex = enlace_normalize::Sex::Unknown;
        empty.nationality = None;
        let data = Dataset::new(vec![
            Source {
                name: "good".into(),
                records: vec![rec("g1", "Juan", "Pérez", "García", "1990-03-05")],
            },
            Source {
                name: "blank".into(),
                records: vec![empty.clone(), empty],
            },
        ]);
        let err = run(&data, &Blocker::default(), None, &TrainOptions::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`blank`") && text.contains("no record has"),
            "{text}"
        );
    }

    fn data() -> Dataset {
        let people = [
            ("Juan", "Pérez", "García", "1990-03-05"),
            ("Ana", "Xol", "Caal", "1985-07-01"),
            ("Pedro", "Tzul", "Pop", "1970-01-20"),
            ("Rosa", "López", "Cruz", "2001-11-30"),
            ("Luis", "Hernández", "Ruiz", "1999-02-14"),
        ];
        let source = |name: &str, prefix: &str| Source {
            name: name.into(),
            records: people
                .iter()
                .enumerate()
                .map(|(i, p)| rec(&format!("{prefix}{i}"), p.0, p.1, p.2, p.3))
                .collect(),
        };
        Dataset::new(vec![
            source("us", "u"),
            source("mx", "m"),
            source("gt", "g"),
        ])
    }

    #[test]
    fn runs_are_deterministic_and_train_matches_run() {
        let d = data();
        let opts = TrainOptions {
            u_samples: 2_000,
            ..TrainOptions::default()
        };
        let a = run(&d, &Blocker::default(), None, &opts).unwrap();
        let b = run(&d, &Blocker::default(), None, &opts).unwrap();
        assert_eq!(a.model, b.model);
        assert_eq!(a.clusters, b.clusters);
        assert_eq!(a.scored, b.scored);
        // `run`'s shortcut (compare once) gives the same model as `Model::train`.
        let (pairs, _) = Blocker::default().pairs(&d);
        let trained = Model::train(&d, &Blocker::default(), &pairs, &opts).unwrap();
        assert_eq!(trained, a.model);
        // λ re-estimated on the same data is the trained one; with unrelated records added
        // (more pairs, no more matches) it is smaller.
        let mut again = a.model.clone();
        again.reestimate_lambda(&d, &Blocker::default(), &pairs, &opts);
        assert!((again.lambda - a.model.lambda).abs() < 1e-12);
        let mut bigger = d.sources.clone();
        bigger[0].records.extend((0..20u8).map(|i| {
            let surname = format!("Quispe{}", (b'a' + i) as char);
            let date = format!("1960-05-{:02}", i + 1);
            rec(&format!("x{i}"), "Zoe", &surname, "", &date)
        }));
        let big = Dataset::new(bigger);
        let (big_pairs, _) = Blocker::default().pairs(&big);
        again.reestimate_lambda(&big, &Blocker::default(), &big_pairs, &opts);
        assert!(
            again.lambda < a.model.lambda,
            "{} vs {}",
            again.lambda,
            a.model.lambda
        );
        // Each person's three records end up together, one per source.
        assert_eq!(a.clusters.len(), 5, "{:?}", a.clusters);
        assert!(a.clusters.iter().all(|c| c.members.len() == 3));
    }
}
