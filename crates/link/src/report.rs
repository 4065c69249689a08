//! The evaluation report of `enlace evaluate --truth`: the precision/recall sweep over match-weight
//! thresholds, the threshold with the best F1, and the report's two SVG charts (precision, recall
//! and F1 against the threshold; a histogram of match weights split into true matches and
//! non-matches).
//!
//! Everything here is a pure function of scored pairs `(match weight, truly a match)`: no I/O, no
//! records. The charts carry only numbers and the caller's title, never personal data. A pair is
//! a predicted link when its weight is at or above the threshold, as in [`crate::Model`].
//!
//! Charts are drawn with `plotters` (SVG backend only, no font libraries: text is written as SVG
//! `<text>` and laid out by the viewer). Every text is escaped; control characters in the title
//! are replaced by spaces so the output is always well-formed XML.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

/// Precision, recall and F1 when every scored pair with weight `>= threshold` is a link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// A match weight that some scored pair has.
    pub threshold: f64,
    /// `true_positives / predicted`.
    pub precision: f64,
    /// `true_positives / total_true`, where `total_true` counts the true pairs blocking never
    /// produced too; 1.0 when there are no true pairs.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Scored pairs with weight `>= threshold`.
    pub predicted: usize,
    /// Those of them that are true matches.
    pub true_positives: usize,
}

/// The most points a chart line is drawn with; longer curves are thinned (see [`pr_chart_svg`]).
pub const MAX_CHART_POINTS: usize = 500;
/// The most bins [`weight_histogram_svg`] draws; more are clamped to this.
pub const MAX_BINS: usize = 400;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 500;
/// Width of the legend panel at the right of each chart.
const LEGEND_WIDTH: u32 = 190;
const FONT: &str = "sans-serif";

const PRECISION_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const RECALL_COLOR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const F1_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const MARKER_COLOR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const NON_MATCH_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const MATCH_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

type DrawResult<T = ()> = Result<T, Box<dyn Error>>;

/// Precision, recall and F1 at every distinct weight of `pairs`, by ascending threshold.
///
/// `total_true` is the number of true pairs in scope, including those that were never scored
/// (blocking did not generate them), so recall counts them as misses; it is raised to the number
/// of true pairs in `pairs` if smaller. Pairs with a NaN weight are never predicted. One sort,
/// then one pass: O(n log n).
pub fn threshold_curve(pairs: &[(f64, bool)], total_true: usize) -> Vec<CurvePoint> {
    let total_true = total_true.max(pairs.iter().filter(|p| p.1).count());
    let mut scored: Vec<(f64, bool)> = pairs.iter().copied().filter(|p| !p.0.is_nan()).collect();
    scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = Vec::new();
    let (mut predicted, mut true_positives) = (0usize, 0usize);
    let mut i = 0;
    while i < scored.len() {
        let threshold = scored[i].0;
        while i < scored.len() && scored[i].0 == threshold {
            predicted += 1;
            true_positives += usize::from(scored[i].1);
            i += 1;
        }
        out.push(point(threshold, predicted, true_positives, total_true));
    }
    out.reverse();
    out
}

fn point(threshold: f64, predicted: usize, true_positives: usize, total_true: usize) -> CurvePoint {
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    let precision = ratio(true_positives, predicted);
    let recall = ratio(true_positives, total_true);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    CurvePoint {
        threshold,
        precision,
        recall,
        f1,
        predicted,
        true_positives,
    }
}

/// The point with the highest F1; on a tie, the one with the higher threshold (fewer links for
/// the same F1). `None` for an empty curve.
pub fn best_f1(curve: &[CurvePoint]) -> Option<CurvePoint> {
    let mut best: Option<CurvePoint> = None;
    for p in curve.iter().filter(|p| !p.f1.is_nan()) {
        best = match best {
            Some(b) if p.f1 < b.f1 || (p.f1 == b.f1 && p.threshold <= b.threshold) => Some(b),
            _ => Some(*p),
        };
    }
    best
}

/// An SVG chart of precision, recall and F1 (one line each) against the match-weight threshold,
/// with axes, a legend and, when given, a vertical marker at `chosen_threshold`.
///
/// Points with a non-finite threshold are left out. A curve longer than [`MAX_CHART_POINTS`] is
/// thinned to the first and last point of each of `MAX_CHART_POINTS / 2` equal slices of the
/// threshold range, which keeps its shape at any screen resolution. An empty curve gives a chart
/// with a "no data" note.
pub fn pr_chart_svg(curve: &[CurvePoint], chosen_threshold: Option<f64>, title: &str) -> String {
    let title = clean_text(title);
    let points = downsample(curve);
    if points.is_empty() {
        return note_svg(&title, "no data: no scored pairs");
    }
    let chosen = chosen_threshold.filter(|t| t.is_finite());
    let mut svg = String::new();
    match draw_pr(&mut svg, &points, chosen, &title) {
        Ok(()) => svg,
        Err(_) => note_svg(&title, "the chart could not be drawn"),
    }
}

/// An SVG histogram of match weights in `bins` equal bins (clamped to `1..=MAX_BINS`), true
/// matches and non-matches as overlaid translucent bars, with axes, a legend and, when given, a
/// vertical marker at `chosen_threshold`.
///
/// The count axis is logarithmic: non-matches usually outnumber matches by orders of magnitude,
/// and on a linear axis the matches would be invisible. Bars are overlaid rather than stacked
/// because on a log axis a stacked segment's height does not show its own count. Pairs with a
/// non-finite weight are left out. No finite weight gives a chart with a "no data" note.
pub fn weight_histogram_svg(
    pairs: &[(f64, bool)],
    bins: usize,
    chosen_threshold: Option<f64>,
    title: &str,
) -> String {
    let title = clean_text(title);
    let Some(hist) = Histogram::of(pairs, bins.clamp(1, MAX_BINS)) else {
        return note_svg(&title, "no data: no scored pairs");
    };
    let chosen = chosen_threshold.filter(|t| t.is_finite());
    let mut svg = String::new();
    match draw_histogram(&mut svg, &hist, chosen, &title) {
        Ok(()) => svg,
        Err(_) => note_svg(&title, "the chart could not be drawn"),
    }
}

/// The finite points of `curve` by ascending threshold, at most [`MAX_CHART_POINTS`] of them.
fn downsample(curve: &[CurvePoint]) -> Vec<CurvePoint> {
    let mut points: Vec<CurvePoint> = curve
        .iter()
        .copied()
        .filter(|p| p.threshold.is_finite())
        .collect();
    if !points.is_sorted_by(|a, b| a.threshold <= b.threshold) {
        points.sort_by(|a, b| a.threshold.total_cmp(&b.threshold));
    }
    if points.len() <= MAX_CHART_POINTS {
        return points;
    }
    let slices = MAX_CHART_POINTS / 2;
    let (lo, hi) = (points[0].threshold, points[points.len() - 1].threshold);
    let span = hi - lo;
    let slice = |t: f64| {
        if span > 0.0 {
            (((t - lo) / span * slices as f64) as usize).min(slices - 1)
        } else {
            0
        }
    };
    let mut out = Vec::with_capacity(MAX_CHART_POINTS);
    let mut i = 0;
    while i < points.len() {
        let s = slice(points[i].threshold);
        let mut j = i;
        while j + 1 < points.len() && slice(points[j + 1].threshold) == s {
            j += 1;
        }
        out.push(points[i]);
        if j > i {
            out.push(points[j]);
        }
        i = j + 1;
    }
    out
}

/// Counts of matches and non-matches per weight bin.
struct Histogram {
    lo: f64,
    width: f64,
    matches: Vec<u64>,
    non_matches: Vec<u64>,
}

impl Histogram {
    fn of(pairs: &[(f64, bool)], bins: usize) -> Option<Histogram> {
        let finite = || pairs.iter().filter(|p| p.0.is_finite());
        let lo = finite().map(|p| p.0).min_by(f64::total_cmp)?;
        let hi = finite().map(|p| p.0).max_by(f64::total_cmp)?;
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        };
        let width = (hi - lo) / bins as f64;
        if !(width.is_finite() && width > 0.0) {
            return None;
        }
        let mut hist = Histogram {
            lo,
            width,
            matches: vec![0; bins],
            non_matches: vec![0; bins],
        };
        for &(w, is_match) in finite() {
            let bin = (((w - lo) / width) as usize).min(bins - 1);
            if is_match {
                hist.matches[bin] += 1;
            } else {
                hist.non_matches[bin] += 1;
            }
        }
        Some(hist)
    }

    fn bins(&self) -> usize {
        self.matches.len()
    }

    fn hi(&self) -> f64 {
        self.lo + self.width * self.bins() as f64
    }

    fn edges(&self, bin: usize) -> (f64, f64) {
        let x0 = self.lo + self.width * bin as f64;
        (x0, x0 + self.width)
    }
}

fn draw_pr(
    out: &mut String,
    points: &[CurvePoint],
    chosen: Option<f64>,
    title: &str,
) -> DrawResult {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(title, (FONT, 22))?;
    let (plot, legend) = body.split_horizontally(WIDTH - LEGEND_WIDTH);
    let (x0, x1) = x_range(points.iter().map(|p| p.threshold).chain(chosen));
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0f64..1.0)?;
    chart
        .configure_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .max_light_lines(0)
        .x_desc("match weight threshold (a pair at or above it is a link)")
        .y_desc("precision / recall / F1")
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()?;
    type Series = (&'static str, RGBColor, fn(&CurvePoint) -> f64);
    let series: [Series; 3] = [
        ("precision", PRECISION_COLOR, |p| p.precision),
        ("recall", RECALL_COLOR, |p| p.recall),
        ("F1", F1_COLOR, |p| p.f1),
    ];
    let mut entries = Vec::new();
    for (name, color, value) in series {
        let style = color.stroke_width(2);
        chart.draw_series(LineSeries::new(
            points.iter().map(|p| (p.threshold, value(p))),
            style,
        ))?;
        entries.push((name.to_string(), style));
    }
    if let Some(t) = chosen {
        let style = MARKER_COLOR.stroke_width(2);
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(t, 0.0), (t, 1.0)],
            style,
        )))?;
        entries.push((format!("threshold {t:+.2}"), style));
    }
    draw_legend(&legend, &entries)?;
    root.present()?;
    Ok(())
}

fn draw_histogram(
    out: &mut String,
    hist: &Histogram,
    chosen: Option<f64>,
    title: &str,
) -> DrawResult {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let body = root.titled(title, (FONT, 22))?;
    let (plot, legend) = body.split_horizontally(WIDTH - LEGEND_WIDTH);
    let (x0, x1) = x_range([hist.lo, hist.hi()].into_iter().chain(chosen));
    let top = hist
        .matches
        .iter()
        .chain(&hist.non_matches)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    // Bars rise from just under 1, so a bin of one pair still shows.
    let floor = 0.5;
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, (floor..top * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .disable_x_mesh()
        .x_desc("match weight")
        .y_desc("pairs per bin (log scale)")
        .y_label_formatter(&|v| {
            if *v >= 1.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .draw()?;
    let mut entries = Vec::new();
    let kinds = [
        ("non-matches", NON_MATCH_COLOR, &hist.non_matches),
        ("true matches", MATCH_COLOR, &hist.matches),
    ];
    for (name, color, counts) in kinds {
        let style = color.mix(0.55).filled();
        chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
            |(bin, &c)| {
                let (a, b) = hist.edges(bin);
                Rectangle::new([(a, floor), (b, c as f64)], style)
            },
        ))?;
        let total: u64 = counts.iter().sum();
        entries.push((format!("{name} ({total})"), style));
    }
    if let Some(t) = chosen {
        let style = MARKER_COLOR.stroke_width(2);
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(t, floor), (t, top * 2.0)],
            style,
        )))?;
        entries.push((format!("threshold {t:+.2}"), style));
    }
    draw_legend(&legend, &entries)?;
    root.present()?;
    Ok(())
}

/// One row per entry in the panel right of the plot: a swatch (a box for a filled style, a line
/// otherwise) and its label.
fn draw_legend(
    area: &DrawingArea<SVGBackend, Shift>,
    entries: &[(String, ShapeStyle)],
) -> DrawResult {
    let font = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (row, (label, style)) in entries.iter().enumerate() {
        let y = 30 + 26 * row as i32;
        if style.filled {
            area.draw(&Rectangle::new([(6, y - 7), (30, y + 7)], *style))?;
        } else {
            area.draw(&PathElement::new(vec![(6, y), (30, y)], *style))?;
        }
        area.draw(&Text::new(label.as_str(), (38, y), font.clone()))?;
    }
    Ok(())
}

/// The axis range covering `values` (all finite), with a little room on each side.
fn x_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.02 } else { 1.0 };
    (lo - pad, hi + pad)
}

/// A chart-sized SVG with the title and a one-line note in the middle.
fn note_svg(title: &str, note: &str) -> String {
    let mut svg = String::new();
    let drawn = (|| -> DrawResult {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = root.titled(title, (FONT, 22))?;
        let (w, h) = body.dim_in_pixel();
        let font = TextStyle::from((FONT, 18).into_font())
            .pos(Pos::new(HPos::Center, VPos::Center))
            .color(&RGBColor(0x55, 0x55, 0x55));
        body.draw(&Text::new(note, (w as i32 / 2, h as i32 / 2), font))?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        // Unreachable in practice (drawing into a String cannot fail); still a valid SVG.
        Err(_) => format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"></svg>"#
        ),
    }
}

/// The title as it may go into the SVG: no control characters (not allowed in XML), at most 200
/// characters. Markup characters are escaped by the SVG writer.
fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' {
                ' '
            } else {
                c
            }
        })
        .take(200)
        .collect()
}
