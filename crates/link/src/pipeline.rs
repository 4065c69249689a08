//! The whole plaintext run: block, train (or take a model), score, deduplicate and link.

use rayon::prelude::*;

use crate::blocking::{Blocker, BlockingReport};
use crate::compare::{Comparison, compare};
use crate::model::{Model, TrainOptions};
use crate::solve::{Cluster, ScoredPair, dedupe_then_link};
use crate::{Dataset, LinkError};

/// What a run produced.
#[derive(Debug, Clone)]
pub struct LinkOutput {
    pub model: Model,
    pub blocking: BlockingReport,
    /// Every candidate pair with its weight, in blocking order.
    pub scored: Vec<ScoredPair>,
    pub clusters: Vec<Cluster>,
}

/// Scores candidate pairs with a model, in parallel, keeping their order.
pub fn score_pairs(model: &Model, data: &Dataset, pairs: &[(u32, u32)]) -> Vec<ScoredPair> {
    pairs
        .par_iter()
        .map(|&(a, b)| ScoredPair {
            a,
            b,
            weight: model.score(data.record(a), data.record(b)).weight,
        })
        .collect()
}

/// Blocks, trains a model when none is given, scores the candidates, deduplicates within each
/// source and links across, at the model's threshold.
pub fn run(
    data: &Dataset,
    blocker: &Blocker,
    model: Option<Model>,
    train: &TrainOptions,
) -> Result<LinkOutput, LinkError> {
    let (pairs, blocking) = blocker.pairs(data);
    let (model, scored) = match model {
        Some(m) => {
            let scored = score_pairs(&m, data, &pairs);
            (m, scored)
        }
        None => {
            // Compare every pair once, for λ's EM and for the weights, and choose the threshold
            // from those weights (what `Model::train` does).
            let comparisons: Vec<Comparison> = pairs
                .par_iter()
                .map(|&(a, b)| compare(data.record(a), data.record(b)))
                .collect();
            let mut m = Model::fit(data, blocker, &pairs, Some(&comparisons), train)?;
            let scored: Vec<ScoredPair> = pairs
                .iter()
                .zip(&comparisons)
                .map(|(&(a, b), c)| ScoredPair {
                    a,
                    b,
                    weight: m.weight(c, data.record(a)),
                })
                .collect();
            let weights: Vec<f64> = scored.iter().map(|p| p.weight).collect();
            m.threshold = m.choose_threshold(&weights);
            (m, scored)
        }
    };
    let score = |a: u32, b: u32| model.score(data.record(a), data.record(b)).weight;
    let clusters = dedupe_then_link(data, &scored, model.threshold, &score);
    Ok(LinkOutput {
        model,
        blocking,
        scored,
        clusters,
    })
}
