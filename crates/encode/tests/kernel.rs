use enlace_encode::kernel::{
    self, AndPopcount, FilterSet, KernelError, Path, and_popcount_with, best_path, meets_threshold,
    search_many_vs_many_with, search_one_vs_many_with, supported_paths,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Filters that cluster around a few random bases, so that thresholds find real hits.
fn clustered(rng: &mut ChaCha8Rng, n: usize, words: usize) -> Vec<Vec<u64>> {
    let bases: Vec<Vec<u64>> = (0..3)
        .map(|_| {
            (0..words)
                .map(|_| rng.random::<u64>() & rng.random::<u64>())
                .collect()
        })
        .collect();
    (0..n)
        .map(|_| {
            let mut f = bases[rng.random_range(0..bases.len())].clone();
            for _ in 0..rng.random_range(0..words * 8) {
                let bit = rng.random_range(0..words * 64);
                f[bit / 64] ^= 1 << (bit % 64);
            }
            if rng.random_ratio(1, 10) {
                f.iter_mut().for_each(|w| *w = 0);
            }
            f
        })
        .collect()
}

fn brute_force(left: &[Vec<u64>], right: &[Vec<u64>], t: f64) -> Vec<(u32, u32, f64)> {
    let mut out = Vec::new();
    for (i, a) in left.iter().enumerate() {
        for (j, b) in right.iter().enumerate() {
            let c = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
            let (pa, pb) = (kernel::popcount(a), kernel::popcount(b));
            if meets_threshold(c, pa, pb, t) {
                out.push((i as u32, j as u32, kernel::dice_from_counts(c, pa, pb)));
            }
        }
    }
    out
}

fn set(words: usize, rows: &[Vec<u64>]) -> FilterSet {
    FilterSet::from_rows(words, rows.iter().map(Vec::as_slice)).unwrap()
}

#[test]
fn reports_the_paths_this_cpu_ran() {
    let paths = supported_paths();
    assert!(paths.contains(&Path::Portable));
    let a: Vec<u64> = (0..16)
        .map(|i| 0x0123_4567_89ab_cdef_u64.rotate_left(i))
        .collect();
    let b: Vec<u64> = (0..16)
        .map(|i| 0xfedc_ba98_7654_3210_u64.rotate_left(3 * i))
        .collect();
    let expected = and_popcount_with(Path::Portable, &a, &b).unwrap();
    for &p in &Path::ALL {
        if p.is_supported() {
            assert_eq!(and_popcount_with(p, &a, &b).unwrap(), expected, "{p:?}");
            println!(
                "kernel path {} supported and run; best path {}",
                p.name(),
                kernel::best_path().name()
            );
        } else {
            assert_eq!(
                and_popcount_with(p, &a, &b),
                Err(KernelError::PathUnavailable(p))
            );
            println!(
                "kernel path {} not supported by this CPU: skipped",
                p.name()
            );
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(Path::Avx2.is_supported(), is_x86_feature_detected!("avx2"));
        assert_eq!(
            Path::Avx512Vpopcnt.is_supported(),
            is_x86_feature_detected!("avx512vpopcntdq") && is_x86_feature_detected!("avx512dq")
        );
    }
}

#[test]
fn dice_basics() {
    assert_eq!(kernel::dice(&[0b1111], &[0b0011]).unwrap(), 2.0 * 2.0 / 6.0);
    assert_eq!(kernel::dice(&[0], &[0]).unwrap(), 0.0);
    assert!(matches!(
        kernel::dice(&[1], &[1, 2]),
        Err(KernelError::WidthMismatch { .. })
    ));
}

#[test]
fn searches_refuse_bad_arguments() {
    let a = set(2, &[vec![1, 2]]);
    let b = set(3, &[vec![1, 2, 3]]);
    assert!(matches!(
        kernel::search_many_vs_many(&a, &b, 0.5),
        Err(KernelError::WidthMismatch { .. })
    ));
    for t in [0.0, -1.0, 1.5, f64::NAN] {
        assert!(matches!(
            kernel::search_many_vs_many(&a, &a, t),
            Err(KernelError::BadThreshold(_))
        ));
    }
    assert!(kernel::search_one_vs_many(&[1], &a, 0.5).is_err());
    assert!(FilterSet::new(0).is_err());
    let mut s = FilterSet::new(2).unwrap();
    assert!(s.push(&[1]).is_err());
    assert_eq!(s.push(&[1, 3]).unwrap(), 0);
    assert_eq!(s.row(0), Some(vec![1, 3]));
    assert_eq!(s.popcount(0), Some(3));
    assert_eq!(s.row(1), None);
}

#[test]
fn identical_filters_meet_threshold_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let rows = clustered(&mut rng, 100, 16);
    let s = set(16, &rows);
    for &p in &supported_paths() {
        let pairs = search_many_vs_many_with(p, &s, &s, 1.0).unwrap();
        assert_eq!(pairs.len(), brute_force(&rows, &rows, 1.0).len());
        assert!(pairs.iter().all(|x| x.dice == 1.0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn all_paths_count_alike(words in 1usize..40, seed in any::<u64>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<u64> = (0..words).map(|_| rng.random()).collect();
        let b: Vec<u64> = (0..words).map(|_| rng.random()).collect();
        let expected = and_popcount_with(Path::Portable, &a, &b).unwrap();
        for &p in &supported_paths() {
            prop_assert_eq!(and_popcount_with(p, &a, &b).unwrap(), expected, "{:?}", p);
            let counter = AndPopcount::on(p).unwrap();
            prop_assert_eq!(counter.path(), p);
            prop_assert_eq!(counter.count(&a, &b), expected, "{:?}", p);
            // A longer second filter: its tail is ignored.
            let mut longer = b.clone();
            longer.push(u64::MAX);
            prop_assert_eq!(counter.count(&a, &longer), expected, "{:?}", p);
        }
        prop_assert_eq!(AndPopcount::best().path(), best_path());
    }

    #[test]
    fn threshold_search_returns_exactly_the_brute_force_pairs(
        words in prop::sample::select(vec![1usize, 3, 16, 17, 40]),
        n_left in 0usize..30,
        n_right in 0usize..90,
        threshold in prop::sample::select(vec![0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0]),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = clustered(&mut rng, n_left + n_right, words);
        let (left, right) = rows.split_at(n_left);
        let expected = brute_force(left, right, threshold);
        let (ls, rs) = (set(words, left), set(words, right));
        for &p in &supported_paths() {
            let got: Vec<(u32, u32, f64)> = search_many_vs_many_with(p, &ls, &rs, threshold)
                .unwrap().into_iter().map(|x| (x.left, x.right, x.dice)).collect();
            prop_assert_eq!(&got, &expected, "path {:?}", p);
            for (i, query) in left.iter().enumerate() {
                let one: Vec<(u32, f64)> = search_one_vs_many_with(p, query, &rs, threshold).unwrap();
                let want: Vec<(u32, f64)> = expected.iter().filter(|x| x.0 == i as u32).map(|x| (x.1, x.2)).collect();
                prop_assert_eq!(one, want, "one-vs-many, path {:?}", p);
            }
        }
    }
}

#[test]
fn large_sets_span_several_tiles_and_chunks() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let rows = clustered(&mut rng, 700, 16);
    let (left, right) = rows.split_at(150);
    let expected = brute_force(left, right, 0.8);
    assert!(!expected.is_empty());
    let (ls, rs) = (set(16, left), set(16, right));
    for &p in &supported_paths() {
        let got: Vec<(u32, u32, f64)> = search_many_vs_many_with(p, &ls, &rs, 0.8)
            .unwrap()
            .into_iter()
            .map(|x| (x.left, x.right, x.dice))
            .collect();
        assert_eq!(got, expected, "{p:?}");
    }
}
