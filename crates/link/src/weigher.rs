//! A model's match weights laid out for scoring the candidate pairs of one dataset.
//!
//! [`Model::weight_of`] takes a logarithm per field and builds the first record's surname key
//! (a string) for every pair; over tens of millions of pairs that was a tenth of a run. Here
//! each level's weight is looked up in a table and each record's frequency adjustment is
//! worked out once, with the same arithmetic in the same order, so a weight is the same to
//! the last bit.

use rayon::prelude::*;

use crate::Linkable;
use crate::compare::{Comparison, ComparisonKind, FIELD_COUNT, Field, given, surname};
use crate::model::Model;

/// Levels are `u8`: a table per field covers every one.
const LEVELS: usize = u8::MAX as usize + 1;

/// [`Model::weight_of`] for the records of one dataset, precomputed.
pub struct Weigher {
    prior: f64,
    /// Per field, the weight of each level (0 for the null level and for levels the model
    /// does not know, as [`Model::level_weight`] says).
    levels: Box<[[f64; LEVELS]; FIELD_COUNT]>,
    /// Per record id, the term-frequency adjustment when its first surname agrees.
    surname_tf: Vec<f64>,
    /// Per record id, the adjustment when its first given name agrees exactly.
    given_tf: Vec<f64>,
    /// Which level tables the model's comparisons follow (which given-name levels are adjusted).
    kind: ComparisonKind,
}

impl Weigher {
    /// The tables of `model` for the records of `data`.
    pub fn new<D: Linkable + Sync + ?Sized>(model: &Model, data: &D) -> Weigher {
        let mut levels = Box::new([[0.0; LEVELS]; FIELD_COUNT]);
        for field in Field::ALL {
            for (level, weight) in levels[field.index()].iter_mut().enumerate() {
                *weight = model.level_weight(field, level as u8);
            }
        }
        let surname_tf = (0..data.len() as u32)
            .into_par_iter()
            .map(|id| {
                data.surname_key(id)
                    .map_or(0.0, |key| model.tf_adjustment(&key))
            })
            .collect();
        let given_tf = (0..data.len() as u32)
            .into_par_iter()
            .map(|id| {
                data.given_key(id)
                    .map_or(0.0, |key| model.given_tf.adjustment(&key))
            })
            .collect();
        Weigher {
            prior: model.prior_weight(),
            levels,
            surname_tf,
            given_tf,
            kind: model.kind,
        }
    }

    /// The match weight of comparison `c` of record `a` with another: what
    /// [`Model::weight_of`] gives.
    pub fn weight(&self, c: &Comparison, a: u32) -> f64 {
        let bayes: f64 = Field::ALL
            .iter()
            .map(|&f| self.levels[f.index()][usize::from(c.level(f))])
            .sum();
        let tf = if surname::first_agrees(c.level(Field::Surnames)) {
            self.surname_tf.get(a as usize).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        let given = if given::takes_frequency(c.level(Field::GivenName), self.kind) {
            self.given_tf.get(a as usize).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        self.prior + bayes + tf + given
    }
}
