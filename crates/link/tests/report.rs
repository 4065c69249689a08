//! The evaluation report: threshold sweep, best F1, and the two SVG charts.

use enlace_link::report::{
    CurvePoint, MAX_CHART_POINTS, best_f1, pr_chart_svg, threshold_curve, weight_histogram_svg,
};
use proptest::prelude::*;

// The charts' colours (see report.rs): the tests find the series and the marker by them.
const PRECISION: &str = "#1F77B4";
const RECALL: &str = "#FF7F0E";
const F1: &str = "#2CA02C";
const MARKER: &str = "#D62728";

/// Weights 5, 4, 3, 3, 1, 0; four true pairs in scope, one of which was never scored.
fn case() -> Vec<(f64, bool)> {
    vec![
        (3.0, false),
        (5.0, true),
        (0.0, false),
        (3.0, true),
        (4.0, true),
        (1.0, false),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn at(curve: &[CurvePoint], t: f64) -> CurvePoint {
    *curve
        .iter()
        .find(|p| p.threshold == t)
        .unwrap_or_else(|| panic!("no point at {t}"))
}

#[test]
fn curve_on_a_hand_built_case() {
    let curve = threshold_curve(&case(), 4);
    let thresholds: Vec<f64> = curve.iter().map(|p| p.threshold).collect();
    assert_eq!(thresholds, [0.0, 1.0, 3.0, 4.0, 5.0]);
    // (threshold, predicted, true positives, precision, recall, F1)
    let expected = [
        (5.0, 1, 1, 1.0, 0.25, 0.4),
        (4.0, 2, 2, 1.0, 0.5, 2.0 / 3.0),
        (3.0, 4, 3, 0.75, 0.75, 0.75),
        (1.0, 5, 3, 0.6, 0.75, 2.0 / 3.0),
        (0.0, 6, 3, 0.5, 0.75, 0.6),
    ];
    for (t, predicted, tp, precision, recall, f1) in expected {
        let p = at(&curve, t);
        assert_eq!((p.predicted, p.true_positives), (predicted, tp), "at {t}");
        assert!(close(p.precision, precision), "precision at {t}: {p:?}");
        assert!(close(p.recall, recall), "recall at {t}: {p:?}");
        assert!(close(p.f1, f1), "F1 at {t}: {p:?}");
    }
}

#[test]
fn recall_counts_pairs_never_scored_as_misses() {
    let pairs = case();
    // All three scored true pairs found at threshold 0: recall is 3 / total_true.
    assert!(close(at(&threshold_curve(&pairs, 3), 0.0).recall, 1.0));
    assert!(close(at(&threshold_curve(&pairs, 4), 0.0).recall, 0.75));
    assert!(close(at(&threshold_curve(&pairs, 12), 0.0).recall, 0.25));
    // Precision does not depend on it.
    assert!(close(at(&threshold_curve(&pairs, 12), 3.0).precision, 0.75));
    // A total below the true pairs actually scored is raised to them, so recall stays <= 1.
    assert!(close(at(&threshold_curve(&pairs, 0), 0.0).recall, 1.0));
    // No true pair at all: recall is 1 (nothing to find), as in `Metrics`.
    let none = threshold_curve(&[(1.0, false), (2.0, false)], 0);
    assert!(none.iter().all(|p| p.recall == 1.0 && p.precision == 0.0));
}

#[test]
fn nan_weights_are_never_predicted() {
    let mut pairs = case();
    pairs.push((f64::NAN, true));
    let curve = threshold_curve(&pairs, 4);
    assert_eq!(curve.len(), 5);
    let p = at(&curve, 0.0);
    assert_eq!((p.predicted, p.true_positives), (6, 3));
    assert!(close(p.recall, 0.75));
}

#[test]
fn best_f1_picks_the_highest_and_breaks_ties_upwards() {
    let curve = threshold_curve(&case(), 4);
    let best = best_f1(&curve).unwrap();
    assert_eq!(best.threshold, 3.0);
    assert!(close(best.f1, 0.75));
    // F1 2/3 at both 1.0 and 4.0: with 3.0 gone, the higher threshold wins.
    let tied: Vec<CurvePoint> = curve.into_iter().filter(|p| p.threshold != 3.0).collect();
    assert_eq!(best_f1(&tied).unwrap().threshold, 4.0);
    assert_eq!(best_f1(&[]), None);
}

#[test]
fn empty_input() {
    let curve = threshold_curve(&[], 10);
    assert!(curve.is_empty());
    assert_eq!(best_f1(&curve), None);
    for svg in [
        pr_chart_svg(&curve, Some(2.0), "Empty run"),
        weight_histogram_svg(&[], 40, Some(2.0), "Empty run"),
        weight_histogram_svg(&[(f64::NAN, true)], 40, None, "Only NaN"),
    ] {
        let doc = parse(&svg);
        assert!(texts(&doc).iter().any(|t| t.contains("no data")), "{svg}");
    }
}

#[test]
fn pr_chart_has_three_lines_a_marker_and_a_legend() {
    let curve = threshold_curve(&case(), 4);
    let svg = pr_chart_svg(&curve, Some(3.0), "Precision & recall <test>");
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    for color in [PRECISION, RECALL, F1] {
        // The series line (one point per curve point) and its legend swatch.
        let lines = polylines(&doc, color);
        assert!(
            lines.iter().any(|l| l.len() == curve.len()),
            "{color}: {lines:?}"
        );
    }
    let marker = polylines(&doc, MARKER);
    assert!(
        marker
            .iter()
            .any(|l| l.len() == 2 && l[0].0 == l[1].0 && l[0].1 != l[1].1),
        "no vertical threshold marker: {marker:?}"
    );
    let texts = texts(&doc);
    for label in ["precision", "recall", "F1", "threshold +3.00"] {
        assert!(
            texts.iter().any(|t| t == label),
            "legend lacks {label}: {texts:?}"
        );
    }
    assert!(
        texts.iter().any(|t| t == "Precision & recall <test>"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("match weight threshold")));

    // Without a chosen threshold there is no marker.
    let svg = pr_chart_svg(&curve, None, "t");
    assert!(polylines(&parse(&svg), MARKER).is_empty());
}

#[test]
fn pr_chart_is_thinned_to_at_most_500_points() {
    // 20 000 distinct weights.
    let pairs: Vec<(f64, bool)> = (0..20_000)
        .map(|i| {
            let w = (i as f64 * 0.61803).sin() * 15.0 + i as f64 * 1e-4;
            (w, i % 7 == 0)
        })
        .collect();
    let curve = threshold_curve(&pairs, 3_000);
    assert_eq!(curve.len(), 20_000);
    let svg = pr_chart_svg(&curve, best_f1(&curve).map(|p| p.threshold), "big");
    let doc = parse(&svg);
    for color in [PRECISION, RECALL, F1] {
        let longest = polylines(&doc, color).iter().map(Vec::len).max().unwrap();
        assert!(
            (MAX_CHART_POINTS / 2..=MAX_CHART_POINTS).contains(&longest),
            "{color}: {longest} points"
        );
    }
}

#[test]
fn histogram_has_both_kinds_of_bars_a_log_axis_and_a_marker() {
    let mut pairs = Vec::new();
    for i in 0..5000 {
        pairs.push((-10.0 + (i % 100) as f64 * 0.1, false));
    }
    for i in 0..40 {
        pairs.push((8.0 + (i % 10) as f64 * 0.3, true));
    }
    pairs.push((f64::INFINITY, true));
    let svg = weight_histogram_svg(&pairs, 50, Some(4.5), "Weights");
    let doc = parse(&svg);
    let fills: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter_map(|n| n.attribute("fill").map(str::to_uppercase))
        .collect();
    assert!(fills.iter().any(|f| f == PRECISION), "no non-match bars");
    assert!(fills.iter().any(|f| f == F1), "no match bars");
    let marker = polylines(&doc, MARKER);
    assert!(
        marker.iter().any(|l| l.len() == 2 && l[0].0 == l[1].0),
        "{marker:?}"
    );
    let texts = texts(&doc);
    for label in [
        "non-matches (5000)",
        "true matches (40)",
        "threshold +4.50",
        "pairs per bin (log scale)",
        "match weight",
        "100",
    ] {
        assert!(texts.iter().any(|t| t == label), "lacks {label}: {texts:?}");
    }
}

#[test]
fn one_weight_and_odd_titles_still_make_valid_charts() {
    let pairs = [(2.0, true), (2.0, false)];
    let title = "a\u{1}b\u{7f} <x> & \"q\" 'r'";
    let curve = threshold_curve(&pairs, 1);
    for svg in [
        pr_chart_svg(&curve, Some(f64::NAN), title),
        weight_histogram_svg(&pairs, 0, Some(2.0), title),
    ] {
        let doc = parse(&svg);
        assert!(
            texts(&doc).iter().any(|t| t == "a b  <x> & \"q\" 'r'"),
            "{svg}"
        );
    }
}

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"))
}

/// Every text element's content, trimmed.
fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// The points of each polyline stroked in `color`.
fn polylines(doc: &roxmltree::Document<'_>, color: &str) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| {
            n.attribute("stroke")
                .is_some_and(|s| s.eq_ignore_ascii_case(color))
        })
        .map(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

proptest! {
    #[test]
    fn curve_stays_in_range_and_recall_falls_as_threshold_rises(
        pairs in prop::collection::vec((-40i32..40, any::<bool>()), 0..300),
        unscored_true in 0usize..50,
    ) {
        // Integer-valued halves, so ties are common.
        let pairs: Vec<(f64, bool)> = pairs.into_iter().map(|(w, m)| (w as f64 / 2.0, m)).collect();
        let total_true = pairs.iter().filter(|p| p.1).count() + unscored_true;
        let curve = threshold_curve(&pairs, total_true);
        for p in &curve {
            for v in [p.precision, p.recall, p.f1] {
                prop_assert!((0.0..=1.0).contains(&v), "{:?}", p);
            }
            prop_assert!(p.true_positives <= p.predicted);
        }
        for w in curve.windows(2) {
            prop_assert!(w[0].threshold < w[1].threshold);
            prop_assert!(w[1].recall <= w[0].recall);
            prop_assert!(w[1].predicted < w[0].predicted);
        }
        if let Some(lowest) = curve.first() {
            prop_assert_eq!(lowest.predicted, pairs.len());
        }
        if let Some(best) = best_f1(&curve) {
            prop_assert!(curve.iter().all(|p| p.f1 <= best.f1));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn charts_are_well_formed_for_any_input(
        pairs in prop::collection::vec((-1e6f64..1e6, any::<bool>()), 0..200),
        bins in 0usize..1000,
        chosen in prop::option::of(-1e6f64..1e6),
        title in ".{0,40}",
    ) {
        let curve = threshold_curve(&pairs, pairs.len());
        for svg in [
            pr_chart_svg(&curve, chosen, &title),
            weight_histogram_svg(&pairs, bins, chosen, &title),
        ] {
            prop_assert!(roxmltree::Document::parse(&svg).is_ok(), "{}", svg);
        }
    }
}
