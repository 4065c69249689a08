//! The similarity kernel: Dice coefficients of packed bit vectors, and threshold searches that
//! compare one filter or a whole set against another set.
//!
//! Dice(a, b) = 2·|a ∧ b| / (|a| + |b|), where |x| is the number of set bits. Popcounts of every
//! filter are computed once when it enters a [`FilterSet`], so a comparison costs one
//! AND-and-popcount of the pair.
//!
//! Three code paths compute |a ∧ b|, chosen at run time from what the CPU offers (see [`Path`]):
//! AVX-512 with `VPOPCNTQ`, AVX2 with a nibble look-up table (`VPSHUFB`), and portable Rust
//! (`u64::count_ones`). They return identical results; the tests hold them to that.
//!
//! Sets are stored interleaved in blocks of [`LANES`] filters: word `w` of the eight filters of a
//! block lies in eight consecutive `u64`s. One query word broadcast against one such row feeds
//! eight comparisons at once, and the per-lane sums need no horizontal reduction.
//!
//! Threshold searches on the SIMD paths stop early where they can: a set also keeps, for each
//! filter, the popcount of its last three quarters and of its last half, so after a quarter (and
//! again after half) of a block's words the count can grow by at most the smaller of the two
//! tails. When that bound misses the threshold in all eight lanes, the block is done. The
//! results are exactly those of the full count (the tests compare every path with a brute-force
//! search); only the work changes, and how much depends on the threshold: nearly half or three
//! quarters of it is skipped at 0.9, little at 0.5, where the plain loop runs instead.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use rayon::prelude::*;
use std::sync::OnceLock;

/// Filters per interleaved block.
pub const LANES: usize = 8;

/// Errors from the kernel's entry points; all are caller mistakes, none depends on data values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    #[error("filters have different widths: {left} words against {right} words")]
    WidthMismatch { left: usize, right: usize },
    #[error("filter width must be at least one 64-bit word")]
    ZeroWidth,
    #[error("threshold must lie in (0, 1], got {0}")]
    BadThreshold(f64),
    #[error("code path {0:?} is not supported by this CPU")]
    PathUnavailable(Path),
    #[error("a set holds at most {max} filters", max = u32::MAX)]
    TooMany,
}

/// A code path of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// AVX-512F + AVX-512DQ + AVX-512 VPOPCNTDQ: eight 64-bit popcounts per instruction.
    Avx512Vpopcnt,
    /// AVX2: popcount of each byte through a 16-entry table with `VPSHUFB`, summed by `VPSADBW`.
    Avx2,
    /// Plain Rust, `u64::count_ones`; what the compiler makes of it depends on the target.
    Portable,
}

impl Path {
    /// Every path, fastest first.
    pub const ALL: [Path; 3] = [Path::Avx512Vpopcnt, Path::Avx2, Path::Portable];

    /// Whether this CPU can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Vpopcnt => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// A short name for reports and benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx512Vpopcnt => "avx512-vpopcntdq",
            Path::Avx2 => "avx2",
            Path::Portable => "portable",
        }
    }
}

/// The paths this CPU supports, fastest first.
pub fn supported_paths() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_supported()).collect()
}

/// The path the dispatching functions use: the fastest one supported, detected once.
pub fn best_path() -> Path {
    static BEST: OnceLock<Path> = OnceLock::new();
    *BEST.get_or_init(|| supported_paths().first().copied().unwrap_or(Path::Portable))
}

fn check_path(path: Path) -> Result<(), KernelError> {
    if path.is_supported() {
        Ok(())
    } else {
        Err(KernelError::PathUnavailable(path))
    }
}

/// Set bits of `words`.
pub fn popcount(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}

/// |a ∧ b| on the given path.
pub fn and_popcount_with(path: Path, a: &[u64], b: &[u64]) -> Result<u32, KernelError> {
    let counter = AndPopcount::on(path)?;
    if a.len() != b.len() {
        return Err(KernelError::WidthMismatch {
            left: a.len(),
            right: b.len(),
        });
    }
    Ok(counter.count(a, b))
}

/// |a ∧ b| on the best path.
pub fn and_popcount(a: &[u64], b: &[u64]) -> Result<u32, KernelError> {
    and_popcount_with(best_path(), a, b)
}

/// |a ∧ b| on a path checked once: for callers that count many short pairs (the linkage unit
/// compares a dozen 16-word field filters per candidate pair), where detecting the CPU's
/// features and checking widths at each call costs as much as the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AndPopcount(Path);

impl Default for AndPopcount {
    fn default() -> AndPopcount {
        AndPopcount::best()
    }
}

impl AndPopcount {
    /// The best path this CPU runs.
    pub fn best() -> AndPopcount {
        AndPopcount(best_path())
    }

    /// A given path, when this CPU runs it.
    pub fn on(path: Path) -> Result<AndPopcount, KernelError> {
        check_path(path)?;
        Ok(AndPopcount(path))
    }

    /// The path it counts on.
    pub fn path(self) -> Path {
        self.0
    }

    /// |a ∧ b| over the words both hold: callers give equal widths, and a longer tail is
    /// ignored rather than refused.
    pub fn count(self, a: &[u64], b: &[u64]) -> u32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        match self.0 {
            Path::Portable => portable::and_popcount(a, b),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512Vpopcnt => x86::and_popcount_avx512(a, b),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => x86::and_popcount_avx2(a, b),
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::and_popcount(a, b),
        }
    }
}

/// Dice from the intersection count and the two popcounts. Two empty filters score 0: an
/// absent value is no evidence of agreement.
pub fn dice_from_counts(common: u32, pop_a: u32, pop_b: u32) -> f64 {
    let sum = u64::from(pop_a) + u64::from(pop_b);
    if sum == 0 {
        0.0
    } else {
        2.0 * f64::from(common) / sum as f64
    }
}

/// Dice coefficient of two equally wide filters.
pub fn dice(a: &[u64], b: &[u64]) -> Result<f64, KernelError> {
    let common = and_popcount(a, b)?;
    Ok(dice_from_counts(common, popcount(a), popcount(b)))
}

/// The threshold test every search applies, written once so that the SIMD paths (which evaluate
/// the same IEEE operations lane by lane) and brute force agree exactly: `2c ≥ t·(|a|+|b|)`,
/// with at least one common bit.
pub fn meets_threshold(common: u32, pop_a: u32, pop_b: u32, threshold: f64) -> bool {
    let sum = u64::from(pop_a) + u64::from(pop_b);
    common > 0 && (2 * u64::from(common)) as f64 >= threshold * sum as f64
}

fn check_threshold(t: f64) -> Result<(), KernelError> {
    if t.is_finite() && t > 0.0 && t <= 1.0 {
        Ok(())
    } else {
        Err(KernelError::BadThreshold(t))
    }
}

/// A set of equally wide filters, interleaved in blocks of [`LANES`], with their popcounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSet {
    words: usize,
    len: usize,
    /// `blocks × words × LANES` words; the last block is padded with empty filters.
    data: Vec<u64>,
    /// One per slot, padding included (padding counts 0).
    popcounts: Vec<u32>,
    /// Per cut of [`cuts`], the popcount of each filter from that word on, per slot: with the
    /// intersection of the words before the cut it bounds the whole one, so a search can stop
    /// part-way through a block none of whose filters can still meet the threshold.
    tail_popcounts: [Vec<u32>; CUTS],
}

/// Checks per block in a threshold search.
const CUTS: usize = 2;

/// The words after which a threshold search checks whether a block can still meet the
/// threshold: a quarter and half of the filter.
fn cuts(words: usize) -> [usize; CUTS] {
    [words / 4, words / 2]
}

impl FilterSet {
    /// An empty set of filters `words` 64-bit words wide.
    pub fn new(words: usize) -> Result<FilterSet, KernelError> {
        if words == 0 {
            return Err(KernelError::ZeroWidth);
        }
        Ok(FilterSet {
            words,
            len: 0,
            data: Vec::new(),
            popcounts: Vec::new(),
            tail_popcounts: Default::default(),
        })
    }

    /// A set built from row-major filters.
    pub fn from_rows<'a>(
        words: usize,
        rows: impl IntoIterator<Item = &'a [u64]>,
    ) -> Result<FilterSet, KernelError> {
        let mut set = FilterSet::new(words)?;
        for row in rows {
            set.push(row)?;
        }
        Ok(set)
    }

    /// Appends a filter; returns its index.
    pub fn push(&mut self, filter: &[u64]) -> Result<u32, KernelError> {
        if filter.len() != self.words {
            return Err(KernelError::WidthMismatch {
                left: self.words,
                right: filter.len(),
            });
        }
        let index = u32::try_from(self.len).map_err(|_| KernelError::TooMany)?;
        let (block, lane) = (self.len / LANES, self.len % LANES);
        if lane == 0 {
            self.data.resize(self.data.len() + self.words * LANES, 0);
            self.popcounts.resize(self.popcounts.len() + LANES, 0);
            for tails in &mut self.tail_popcounts {
                tails.resize(tails.len() + LANES, 0);
            }
        }
        let base = block * self.words * LANES;
        for (w, &word) in filter.iter().enumerate() {
            self.data[base + w * LANES + lane] = word;
        }
        self.popcounts[self.len] = popcount(filter);
        for (tails, cut) in self.tail_popcounts.iter_mut().zip(cuts(self.words)) {
            tails[self.len] = popcount(&filter[cut..]);
        }
        self.len += 1;
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Width of each filter in 64-bit words.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Filter `i`, row-major, or `None` past the end.
    pub fn row(&self, i: usize) -> Option<Vec<u64>> {
        let mut out = vec![0; self.words];
        self.copy_row(i, &mut out).then_some(out)
    }

    fn copy_row(&self, i: usize, out: &mut [u64]) -> bool {
        if i >= self.len || out.len() != self.words {
            return false;
        }
        let base = (i / LANES) * self.words * LANES + i % LANES;
        for (w, slot) in out.iter_mut().enumerate() {
            *slot = self.data[base + w * LANES];
        }
        true
    }

    /// Popcount of filter `i`.
    pub fn popcount(&self, i: usize) -> Option<u32> {
        (i < self.len).then(|| self.popcounts[i])
    }

    fn blocks(&self) -> usize {
        self.len.div_ceil(LANES)
    }
}

/// A pair found by a many-vs-many search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Index in the left set.
    pub left: u32,
    /// Index in the right set.
    pub right: u32,
    pub dice: f64,
}

/// Scans blocks `blocks` of `set` against one query and calls `hit(index, common)` for every
/// filter meeting the threshold. `query.len() == set.words` is the caller's promise.
fn scan(
    path: Path,
    query: &[u64],
    query_pop: u32,
    set: &FilterSet,
    blocks: std::ops::Range<usize>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    let span = BlockSpan::new(set, blocks);
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512Vpopcnt => x86::scan_avx512(query, query_pop, &span, threshold, hit),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => x86::scan_avx2(query, query_pop, &span, threshold, hit),
        _ => portable::scan(query, query_pop, &span, threshold, hit),
    }
}

/// A run of whole blocks of a set, as the path implementations see it: `data` holds
/// `popcounts.len() / LANES` blocks of `words × LANES` words, `first` is the set index of lane 0
/// of the first block.
struct BlockSpan<'a> {
    words: usize,
    first: usize,
    data: &'a [u64],
    popcounts: &'a [u32],
    tail_popcounts: [&'a [u32]; CUTS],
}

impl<'a> BlockSpan<'a> {
    fn new(set: &'a FilterSet, blocks: std::ops::Range<usize>) -> BlockSpan<'a> {
        let end = blocks.end.min(set.blocks());
        let start = blocks.start.min(end);
        let stride = set.words * LANES;
        BlockSpan {
            words: set.words,
            first: start * LANES,
            data: &set.data[start * stride..end * stride],
            popcounts: &set.popcounts[start * LANES..end * LANES],
            tail_popcounts: set
                .tail_popcounts
                .each_ref()
                .map(|tails| &tails[start * LANES..end * LANES]),
        }
    }

    fn blocks(&self) -> usize {
        self.popcounts.len() / LANES
    }
}

/// Every filter of `set` whose Dice with `query` meets `threshold`, as (index, Dice), in index
/// order; the set's blocks are spread over rayon's threads.
pub fn search_one_vs_many(
    query: &[u64],
    set: &FilterSet,
    threshold: f64,
) -> Result<Vec<(u32, f64)>, KernelError> {
    search_one_vs_many_with(best_path(), query, set, threshold)
}

/// [`search_one_vs_many`] on a chosen path.
pub fn search_one_vs_many_with(
    path: Path,
    query: &[u64],
    set: &FilterSet,
    threshold: f64,
) -> Result<Vec<(u32, f64)>, KernelError> {
    check_path(path)?;
    check_threshold(threshold)?;
    if query.len() != set.words {
        return Err(KernelError::WidthMismatch {
            left: query.len(),
            right: set.words,
        });
    }
    let qpop = popcount(query);
    let tile = tile_blocks(set.words);
    let chunks: Vec<Vec<(u32, f64)>> = (0..set.blocks().div_ceil(tile))
        .into_par_iter()
        .map(|t| {
            let mut out = Vec::new();
            scan(
                path,
                query,
                qpop,
                set,
                t * tile..(t + 1) * tile,
                threshold,
                &mut |i, c| {
                    out.push((i as u32, dice_from_counts(c, qpop, set.popcounts[i])));
                },
            );
            out
        })
        .collect();
    Ok(chunks.into_iter().flatten().collect())
}

/// Blocks of the right-hand set compared against a chunk of left rows before moving on: sized so
/// that the tile (plus the rows) stays in a 32 KiB L1 data cache.
const TILE_BYTES: usize = 24 * 1024;

fn tile_blocks(words: usize) -> usize {
    (TILE_BYTES / (words * LANES * 8)).max(1)
}

/// Left rows handled together by one task: each right tile is loaded once per chunk.
const LEFT_CHUNK: usize = 64;

/// Every pair (l, r) with Dice(left[l], right[r]) ≥ `threshold`, sorted by (left, right).
/// Left rows are split into chunks across rayon's threads; within a chunk the right set is
/// walked tile by tile so each tile is reused from cache by every row of the chunk.
pub fn search_many_vs_many(
    left: &FilterSet,
    right: &FilterSet,
    threshold: f64,
) -> Result<Vec<Pair>, KernelError> {
    search_many_vs_many_with(best_path(), left, right, threshold)
}

/// [`search_many_vs_many`] on a chosen path.
pub fn search_many_vs_many_with(
    path: Path,
    left: &FilterSet,
    right: &FilterSet,
    threshold: f64,
) -> Result<Vec<Pair>, KernelError> {
    check_path(path)?;
    check_threshold(threshold)?;
    if left.words != right.words {
        return Err(KernelError::WidthMismatch {
            left: left.words,
            right: right.words,
        });
    }
    let words = left.words;
    let tile = tile_blocks(words);
    let chunks: Vec<Vec<Pair>> = (0..left.len.div_ceil(LEFT_CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let rows = chunk * LEFT_CHUNK..((chunk + 1) * LEFT_CHUNK).min(left.len);
            // Row-major copies of the chunk's queries, gathered once.
            let mut queries = vec![0u64; rows.len() * words];
            for (slot, i) in queries.chunks_exact_mut(words).zip(rows.clone()) {
                left.copy_row(i, slot);
            }
            let mut out = Vec::new();
            let mut t = 0;
            while t < right.blocks() {
                for (query, l) in queries.chunks_exact(words).zip(rows.clone()) {
                    let qpop = left.popcounts[l];
                    scan(
                        path,
                        query,
                        qpop,
                        right,
                        t..t + tile,
                        threshold,
                        &mut |r, c| {
                            out.push(Pair {
                                left: l as u32,
                                right: r as u32,
                                dice: dice_from_counts(c, qpop, right.popcounts[r]),
                            });
                        },
                    );
                }
                t += tile;
            }
            out.sort_by_key(|p| (p.left, p.right));
            out
        })
        .collect();
    Ok(chunks.into_iter().flatten().collect())
}

/// Number of pairs meeting `threshold`, without collecting them (for benchmarks and sizing).
pub fn count_many_vs_many_with(
    path: Path,
    left: &FilterSet,
    right: &FilterSet,
    threshold: f64,
) -> Result<u64, KernelError> {
    // Collecting is cheap next to the comparisons when few pairs pass; keep one code path.
    Ok(search_many_vs_many_with(path, left, right, threshold)?.len() as u64)
}
