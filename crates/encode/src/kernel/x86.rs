//! The x86-64 SIMD paths. Every function here that carries `#[target_feature]` is entered only
//! through the safe wrappers at the top of each section, which are themselves reached only after
//! [`super::Path::is_supported`] confirmed the features at run time (`check_path` in the public
//! entry points). Memory is read only inside the slices passed in: a [`BlockSpan`] holds exactly
//! `blocks × words × LANES` data words and `blocks × LANES` popcounts, and the query has
//! `words` words (checked by the public entry points).

use std::arch::x86_64::*;

use super::{BlockSpan, CUTS, LANES};

// ---------------------------------------------------------------------------------------------
// AVX-512 (F + DQ + VPOPCNTDQ)
// ---------------------------------------------------------------------------------------------

pub(super) fn and_popcount_avx512(a: &[u64], b: &[u64]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: reached only after Path::Avx512Vpopcnt was found supported.
    unsafe { and_popcount_avx512_impl(a, b) }
}

#[target_feature(enable = "avx512f,avx512dq,avx512vpopcntdq")]
fn and_popcount_avx512_impl(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len().min(b.len());
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i < n {
        let left = n - i;
        // Lanes past the end are masked off and read as zero.
        let mask: __mmask8 = if left >= 8 { 0xff } else { (1u8 << left) - 1 };
        // SAFETY: the mask limits the loads to indices i..n, inside both slices.
        let (x, y) = unsafe {
            (
                _mm512_maskz_loadu_epi64(mask, a.as_ptr().add(i).cast()),
                _mm512_maskz_loadu_epi64(mask, b.as_ptr().add(i).cast()),
            )
        };
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
        i += 8;
    }
    _mm512_reduce_add_epi64(acc) as u32
}

pub(super) fn scan_avx512(
    query: &[u64],
    query_pop: u32,
    span: &BlockSpan<'_>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    debug_assert_eq!(query.len(), span.words);
    // SAFETY: reached only after Path::Avx512Vpopcnt was found supported. The fixed-width
    // instance is used only when the width is exactly 16 words.
    unsafe {
        match (span.words == 16, threshold >= STAGED_FROM) {
            (true, true) => scan_avx512_impl::<16, true>(query, query_pop, span, threshold, hit),
            (true, false) => scan_avx512_impl::<16, false>(query, query_pop, span, threshold, hit),
            (false, true) => scan_avx512_impl::<0, true>(query, query_pop, span, threshold, hit),
            (false, false) => scan_avx512_impl::<0, false>(query, query_pop, span, threshold, hit),
        }
    }
}

/// Thresholds from which a block is checked part-way (see `STAGED` below). Below it almost no
/// block can be ruled out early, and the checks' registers slow the plain loop (measured on
/// random 1024-bit filters: at 0.5 the checked scan ran at 0.7 × the plain one, at 0.7 and
/// above it was faster).
const STAGED_FROM: f64 = 0.65;

/// `W` is the filter width when known at compile time (1024-bit filters: 16), so the loop over
/// words unrolls and the query's broadcasts stay in registers across blocks; `W == 0` reads the
/// width from the span. With `STAGED`, a block is checked after a quarter and half of its words
/// against the best count its filters could still reach, and dropped when none can reach the
/// threshold.
#[target_feature(enable = "avx512f,avx512dq,avx512vpopcntdq")]
fn scan_avx512_impl<const W: usize, const STAGED: bool>(
    query: &[u64],
    query_pop: u32,
    span: &BlockSpan<'_>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    let words = if W == 0 { span.words } else { W };
    if query.len() < words || span.data.len() < span.blocks() * words * LANES {
        return;
    }
    let tv = _mm512_set1_pd(threshold);
    let half = _mm512_set1_pd(0.5);
    let qp = _mm512_set1_epi64(i64::from(query_pop));
    let cuts = super::cuts(words);
    let query_tails =
        cuts.map(|cut| _mm512_set1_epi64(i64::from(super::popcount(&query[cut..words]))));
    let data = span.data.as_ptr();
    let pops = span.popcounts.as_ptr();
    let tails = span.tail_popcounts.map(<[u32]>::as_ptr);
    // Blocks are scanned in groups with no call inside the group's loop, so the query's
    // broadcasts stay in registers; hits are reported after each group.
    const GROUP: usize = 32;
    let mut masks = [0u8; GROUP];
    let mut counts = [[0u64; LANES]; GROUP];
    let blocks = span.blocks();
    let mut start = 0;
    while start < blocks {
        let end = (start + GROUP).min(blocks);
        let mut any = 0u8;
        for b in start..end {
            // SAFETY: span.popcounts holds LANES entries for every block.
            let pb = unsafe { _mm256_loadu_si256(pops.add(b * LANES).cast()) };
            let sum = _mm512_add_epi64(_mm512_cvtepu32_epi64(pb), qp);
            // `(2c) as f64 >= t * (|a|+|b|) as f64`, the test of `meets_threshold`, holds exactly
            // when c >= ceil(t * (|a|+|b|) / 2): the halving and the ceiling are exact in
            // floating point and every count is far below 2^53. So each lane's smallest passing
            // count is found once, and every test below is an integer comparison.
            let half_rhs = _mm512_mul_pd(_mm512_mul_pd(tv, _mm512_cvtepu64_pd(sum)), half);
            let need =
                _mm512_cvt_roundpd_epu64::<{ _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC }>(half_rhs);
            // Word `w` of the block's eight filters ANDed with the query's, popcounted, summed.
            let add_words = |acc: __m512i, range: std::ops::Range<usize>| {
                let mut acc = acc;
                for (w, &q) in query[range.clone()].iter().enumerate() {
                    // SAFETY: b < blocks and range.start + w < words, so the 8 words read lie
                    // inside span.data.
                    let row = unsafe {
                        _mm512_loadu_si512(data.add((b * words + range.start + w) * LANES).cast())
                    };
                    let x = _mm512_and_si512(row, _mm512_set1_epi64(q as i64));
                    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
                }
                acc
            };
            let mut acc = _mm512_setzero_si512();
            if STAGED {
                let mut from = 0;
                let mut reachable = u8::MAX;
                for (stage, &cut) in cuts.iter().enumerate() {
                    acc = add_words(acc, from..cut);
                    from = cut;
                    // From here the intersection can grow by at most the smaller of the two
                    // tails' popcounts. When even that bound misses the threshold in every lane,
                    // so does the whole count (the same comparison on a larger number): the
                    // block is done.
                    // SAFETY: each tail_popcounts holds LANES entries for every block.
                    let tb = unsafe { _mm256_loadu_si256(tails[stage].add(b * LANES).cast()) };
                    let most = _mm512_min_epu64(_mm512_cvtepu32_epi64(tb), query_tails[stage]);
                    reachable = _mm512_cmpge_epu64_mask(_mm512_add_epi64(acc, most), need);
                    if reachable == 0 {
                        break;
                    }
                }
                if reachable == 0 {
                    masks[b - start] = 0;
                    continue;
                }
                acc = add_words(acc, cuts[CUTS - 1]..words);
            } else {
                acc = add_words(acc, 0..words);
            }
            let mask = _mm512_cmpge_epu64_mask(acc, need) & _mm512_test_epi64_mask(acc, acc);
            masks[b - start] = mask;
            any |= mask;
            if mask != 0 {
                // SAFETY: counts[b - start] is 8 u64s = 64 bytes.
                unsafe { _mm512_storeu_si512(counts[b - start].as_mut_ptr().cast(), acc) };
            }
        }
        if any != 0 {
            for b in start..end {
                let mask = masks[b - start];
                for (lane, &c) in counts[b - start].iter().enumerate() {
                    if mask & (1 << lane) != 0 {
                        hit(span.first + b * LANES + lane, c as u32);
                    }
                }
            }
        }
        start = end;
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2: per-byte popcount by a nibble table (VPSHUFB), bytes summed per 64-bit lane by VPSADBW.
// ---------------------------------------------------------------------------------------------

/// Byte counts can grow by at most 8 per word added; flush to 64-bit sums before 255.
const AVX2_FLUSH: usize = 31;

#[target_feature(enable = "avx2")]
fn nibble_table() -> __m256i {
    _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    )
}

/// Popcount of every byte of `x`.
#[target_feature(enable = "avx2")]
fn byte_popcounts(table: __m256i, x: __m256i) -> __m256i {
    let low = _mm256_set1_epi8(0x0f);
    let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(x, low));
    let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16::<4>(x), low));
    _mm256_add_epi8(lo, hi)
}

pub(super) fn and_popcount_avx2(a: &[u64], b: &[u64]) -> u32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: reached only after Path::Avx2 was found supported.
    unsafe { and_popcount_avx2_impl(a, b) }
}

#[target_feature(enable = "avx2")]
fn and_popcount_avx2_impl(a: &[u64], b: &[u64]) -> u32 {
    let table = nibble_table();
    let zero = _mm256_setzero_si256();
    let mut bytes = zero;
    let mut sums = zero;
    let mut pending = 0;
    let chunks = a.len().min(b.len()) / 4;
    for i in 0..chunks {
        // SAFETY: i < chunks, so words 4i..4i+4 lie inside both slices.
        let (x, y) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(4 * i).cast()),
                _mm256_loadu_si256(b.as_ptr().add(4 * i).cast()),
            )
        };
        bytes = _mm256_add_epi8(bytes, byte_popcounts(table, _mm256_and_si256(x, y)));
        pending += 1;
        if pending == AVX2_FLUSH {
            sums = _mm256_add_epi64(sums, _mm256_sad_epu8(bytes, zero));
            bytes = zero;
            pending = 0;
        }
    }
    sums = _mm256_add_epi64(sums, _mm256_sad_epu8(bytes, zero));
    let mut lanes = [0u64; 4];
    // SAFETY: lanes is 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sums) };
    let tail: u32 = a[chunks * 4..]
        .iter()
        .zip(&b[chunks * 4..])
        .map(|(x, y)| (x & y).count_ones())
        .sum();
    lanes.iter().sum::<u64>() as u32 + tail
}

pub(super) fn scan_avx2(
    query: &[u64],
    query_pop: u32,
    span: &BlockSpan<'_>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    debug_assert_eq!(query.len(), span.words);
    if span.words >= AVX2_MAX_WORDS {
        // Sums of such filters' counts could overflow the 32-bit lanes below.
        return super::portable::scan(query, query_pop, span, threshold, hit);
    }
    // SAFETY: reached only after Path::Avx2 was found supported; the fixed-width instances are
    // used only when the width is exactly 16 words.
    unsafe {
        match (span.words == 16, threshold >= STAGED_FROM) {
            (true, true) => scan_avx2_impl::<16, true>(query, query_pop, span, threshold, hit),
            (true, false) => scan_avx2_impl::<16, false>(query, query_pop, span, threshold, hit),
            (false, true) => scan_avx2_impl::<0, true>(query, query_pop, span, threshold, hit),
            (false, false) => scan_avx2_impl::<0, false>(query, query_pop, span, threshold, hit),
        }
    }
}

/// Widths from which the AVX2 scan hands over to the portable one: below it every sum of two
/// popcounts (at most `2 × 64 × words` bits, under 2²¹) times 1024 fits a signed 32-bit lane.
/// Filters are a few thousand bits wide; this is a million.
const AVX2_MAX_WORDS: usize = 1 << 14;

/// The order in which [`pack_counts`] leaves the eight lanes of a block: lane `l` of the low
/// half at position `2l`, lane `4 + l` of the high half at `2l + 1`. Per-lane inputs are
/// permuted into it once per block, so that the threshold tests need no unpacking.
#[target_feature(enable = "avx2")]
fn packed_order() -> __m256i {
    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)
}

/// The block's eight 64-bit sums (each below 2³¹), four per half, as eight 32-bit counts in
/// [`packed_order`].
#[target_feature(enable = "avx2")]
fn pack_counts(lo: __m256i, hi: __m256i) -> __m256i {
    _mm256_blend_epi32::<0b1010_1010>(lo, _mm256_slli_epi64::<32>(hi))
}

/// The lane of a block at `position` of [`packed_order`].
fn lane_at(position: usize) -> usize {
    if position.is_multiple_of(2) {
        position / 2
    } else {
        4 + position / 2
    }
}

/// Each lane's smallest passing count: `ceil(t · (|q| + |x|) / 2)`, at least 1. As on the
/// AVX-512 path, `2c ≥ t·(|q|+|x|)` (the test of `meets_threshold`) holds exactly when `c`
/// reaches it: halving and the ceiling are exact in floating point, and the products are
/// the same IEEE operations. `sums` holds `|q| + |x|` per lane.
#[target_feature(enable = "avx2")]
fn smallest_passing(sums: __m256i, threshold: __m256d) -> __m256i {
    let half = _mm256_set1_pd(0.5);
    let need = |x: __m128i| {
        let rhs = _mm256_mul_pd(_mm256_mul_pd(threshold, _mm256_cvtepi32_pd(x)), half);
        _mm256_cvtpd_epi32(_mm256_ceil_pd(rhs))
    };
    let lo = need(_mm256_castsi256_si128(sums));
    let hi = need(_mm256_extracti128_si256::<1>(sums));
    // At least one common bit, as `meets_threshold` asks.
    _mm256_max_epi32(_mm256_set_m128i(hi, lo), _mm256_set1_epi32(1))
}

/// `W` is the filter width when known at compile time (1024-bit filters: 16), so the loop over
/// words unrolls; `W == 0` reads the width from the span. With `STAGED`, a block is checked
/// after a quarter and half of its words against the best count its filters could still reach,
/// and dropped when none can reach the threshold (as on the AVX-512 path; see the module
/// comment of `kernel`).
#[target_feature(enable = "avx2")]
fn scan_avx2_impl<const W: usize, const STAGED: bool>(
    query: &[u64],
    query_pop: u32,
    span: &BlockSpan<'_>,
    threshold: f64,
    hit: &mut dyn FnMut(usize, u32),
) {
    let words = if W == 0 { span.words } else { W };
    if query.len() < words || span.data.len() < span.blocks() * words * LANES {
        return;
    }
    let table = nibble_table();
    let zero = _mm256_setzero_si256();
    let order = packed_order();
    let tv = _mm256_set1_pd(threshold);
    // At most 1024 (the threshold is at most 1), so T·(|q|+|x|) < 1024 · 2^21 fits 32 bits.
    let fixed_threshold = _mm256_set1_epi32((threshold * 1024.0).floor() as i32);
    let qp = _mm256_set1_epi32(query_pop as i32);
    let cuts = super::cuts(words);
    let query_tails = cuts.map(|cut| _mm256_set1_epi32(super::popcount(&query[cut..words]) as i32));
    let data = span.data.as_ptr();
    let pops = span.popcounts.as_ptr();
    let tails = span.tail_popcounts.map(<[u32]>::as_ptr);
    // Words `range` of block `b` ANDed with the query, popcounted and added to the two halves'
    // 64-bit sums; byte counts are flushed before they can pass 255.
    let add_words = |sums: [__m256i; 2], b: usize, range: std::ops::Range<usize>| {
        let [mut sums_lo, mut sums_hi] = sums;
        let (mut bytes_lo, mut bytes_hi) = (zero, zero);
        for (n, w) in range.enumerate() {
            let qv = _mm256_set1_epi64x(query[w] as i64);
            // SAFETY: b < blocks and w < words, so the 8 words read lie inside span.data
            // (checked above).
            let (lo, hi) = unsafe {
                let p = data.add((b * words + w) * LANES);
                (
                    _mm256_loadu_si256(p.cast()),
                    _mm256_loadu_si256(p.add(4).cast()),
                )
            };
            bytes_lo = _mm256_add_epi8(bytes_lo, byte_popcounts(table, _mm256_and_si256(lo, qv)));
            bytes_hi = _mm256_add_epi8(bytes_hi, byte_popcounts(table, _mm256_and_si256(hi, qv)));
            if (n + 1) % AVX2_FLUSH == 0 {
                sums_lo = _mm256_add_epi64(sums_lo, _mm256_sad_epu8(bytes_lo, zero));
                sums_hi = _mm256_add_epi64(sums_hi, _mm256_sad_epu8(bytes_hi, zero));
                bytes_lo = zero;
                bytes_hi = zero;
            }
        }
        [
            _mm256_add_epi64(sums_lo, _mm256_sad_epu8(bytes_lo, zero)),
            _mm256_add_epi64(sums_hi, _mm256_sad_epu8(bytes_hi, zero)),
        ]
    };
    for b in 0..span.blocks() {
        // SAFETY: span.popcounts holds LANES entries for every block.
        let pb = unsafe { _mm256_loadu_si256(pops.add(b * LANES).cast()) };
        let pop_sums = _mm256_add_epi32(_mm256_permutevar8x32_epi32(pb, order), qp);
        let mut sums = [zero; 2];
        if STAGED {
            // The cuts rule blocks out against a lower bound of each lane's smallest passing
            // count, in integers: floor(T·(|q|+|x|) / 2048) with T = floor(1024·t) is at most
            // floor(t·(|q|+|x|)/2), which is at most the exact count `smallest_passing` gives.
            // A block it rules out is out for the exact count too; most blocks at high
            // thresholds never need the exact one.
            let need = _mm256_srli_epi32::<11>(_mm256_mullo_epi32(pop_sums, fixed_threshold));
            let mut from = 0;
            let mut out_of_reach = false;
            for (stage, &cut) in cuts.iter().enumerate() {
                sums = add_words(sums, b, from..cut);
                from = cut;
                // From here the intersection can grow by at most the smaller of the two tails'
                // popcounts; when even that misses in every lane, so does the whole count.
                // SAFETY: each tail_popcounts holds LANES entries for every block.
                let tb = unsafe { _mm256_loadu_si256(tails[stage].add(b * LANES).cast()) };
                let most =
                    _mm256_min_epu32(_mm256_permutevar8x32_epi32(tb, order), query_tails[stage]);
                let best = _mm256_add_epi32(pack_counts(sums[0], sums[1]), most);
                let short = _mm256_cmpgt_epi32(need, best);
                if _mm256_movemask_ps(_mm256_castsi256_ps(short)) == 0xff {
                    out_of_reach = true;
                    break;
                }
            }
            if out_of_reach {
                continue;
            }
            sums = add_words(sums, b, cuts[CUTS - 1]..words);
        } else {
            sums = add_words(sums, b, 0..words);
        }
        let need = smallest_passing(pop_sums, tv);
        let counts = pack_counts(sums[0], sums[1]);
        let short = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(need, counts)));
        let passing = !short & 0xff;
        if passing != 0 {
            let mut packed = [0u32; LANES];
            // SAFETY: packed is 8 u32s = 32 bytes.
            unsafe { _mm256_storeu_si256(packed.as_mut_ptr().cast(), counts) };
            // Hits in lane order, as the other paths report them.
            let mut found = [None; LANES];
            for (position, &count) in packed.iter().enumerate() {
                if passing & (1 << position) != 0 {
                    found[lane_at(position)] = Some(count);
                }
            }
            for (lane, count) in found.into_iter().enumerate() {
                if let Some(c) = count {
                    hit(span.first + b * LANES + lane, c);
                }
            }
        }
    }
}
