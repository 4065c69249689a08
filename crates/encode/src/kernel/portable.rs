//! The portable path: safe Rust on `u64::count_ones`, the reference the SIMD paths are tested
//! against.

use super::{BlockSpan, LANES, meets_threshold};

pub(super) fn and_popcount(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

pub(super) fn scan(
    query: &[u64],
    query_pop: u32,
    span: &BlockSpan<'_>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    let stride = span.words * LANES;
    for (b, block) in span.data.chunks_exact(stride).enumerate() {
        let mut counts = [0u32; LANES];
        for (row, &q) in block.chunks_exact(LANES).zip(query) {
            for (count, &x) in counts.iter_mut().zip(row) {
                *count += (q & x).count_ones();
            }
        }
        report(span, b, &counts, query_pop, threshold, hit);
    }
}

/// Applies the threshold to one block's counts and reports the lanes that pass.
pub(super) fn report(
    span: &BlockSpan<'_>,
    block: usize,
    counts: &[u32; LANES],
    query_pop: u32,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    let pops = &span.popcounts[block * LANES..(block + 1) * LANES];
    for (lane, (&c, &p)) in counts.iter().zip(pops).enumerate() {
        if meets_threshold(c, query_pop, p, threshold) {
            hit(span.first + block * LANES + lane, c);
        }
    }
}
