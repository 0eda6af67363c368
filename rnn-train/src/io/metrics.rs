//! Results of a model on a data set: accuracy, per-class precision, recall and F1, the
//! confusion matrix as text and as an SVG picture (classification, tagging); accuracy by
//! steps since the class changed and the steps a tagger needs to follow a change
//! ([`ByPosition`]); RMSE and MAE per target, and predictions against truth over time
//! ([`Regression`]).

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    pub classes: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    pub fn new(classes: Vec<String>) -> Self {
        let n = classes.len();
        Confusion {
            classes,
            counts: vec![vec![0; n]; n],
        }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..self.classes.len()).map(|k| self.counts[k][k]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }

    /// Cases of class `k` (row sum).
    pub fn support(&self, k: usize) -> usize {
        self.counts[k].iter().sum()
    }

    /// Cases predicted as class `k` (column sum).
    pub fn predicted(&self, k: usize) -> usize {
        self.counts.iter().map(|row| row[k]).sum()
    }

    /// Of the cases predicted as `k`, the fraction that are `k`; `None` when none were.
    pub fn precision(&self, k: usize) -> Option<f64> {
        let p = self.predicted(k);
        (p > 0).then(|| self.counts[k][k] as f64 / p as f64)
    }

    /// Of the cases of class `k`, the fraction predicted as `k`; `None` when there are none.
    pub fn recall(&self, k: usize) -> Option<f64> {
        let s = self.support(k);
        (s > 0).then(|| self.counts[k][k] as f64 / s as f64)
    }

    /// The harmonic mean of precision and recall; `None` when either is undefined.
    pub fn f1(&self, k: usize) -> Option<f64> {
        let (p, r) = (self.precision(k)?, self.recall(k)?);
        Some(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        })
    }

    /// The report `eval` prints: accuracy, a per-class table (precision, recall, F1,
    /// support), the matrix (rows: true class, columns: predicted).
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "accuracy {:.4} ({} of {})",
            self.accuracy(),
            self.correct(),
            self.total()
        );
        let w = self
            .classes
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            s,
            "{:<w$}  {:>9}  {:>9}  {:>9}  {:>7}",
            "class", "precision", "recall", "f1", "support"
        );
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        for (k, name) in self.classes.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name:<w$}  {:>9}  {:>9}  {:>9}  {:>7}",
                f(self.precision(k)),
                f(self.recall(k)),
                f(self.f1(k)),
                self.support(k)
            );
        }
        let _ = writeln!(s, "confusion matrix (rows: true class, columns: predicted)");
        let cw = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .chain(self.classes.iter().map(|c| c.len()))
            .max()
            .unwrap_or(1);
        let _ = write!(s, "{:<w$}", "");
        for name in &self.classes {
            let _ = write!(s, "  {name:>cw$}");
        }
        s.push('\n');
        for (k, name) in self.classes.iter().enumerate() {
            let _ = write!(s, "{name:<w$}");
            for c in &self.counts[k] {
                let _ = write!(s, "  {c:>cw$}");
            }
            s.push('\n');
        }
        s
    }

    /// The matrix as an SVG image: one square per cell, shaded by the fraction of its row
    /// (recall), with the count written in it.
    pub fn render_svg(&self, title: &str) -> Result<String> {
        let n = self.classes.len();
        let cell = (560 / n.max(1)).clamp(12, 80) as u32;
        let side = cell * n as u32;
        let (left, top) = (150u32, 95u32);
        let mut svg = String::new();
        {
            let backend = SVGBackend::with_string(&mut svg, (left + side + 30, top + side + 70));
            self.draw(backend, title, cell, left, top)
                .map_err(|e| Error::Internal(format!("plot: {e}")))?;
        }
        Ok(svg)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        backend: DB,
        title: &str,
        cell: u32,
        left: u32,
        top: u32,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let root = backend.into_drawing_area();
        root.fill(&WHITE)?;
        let (l, t, c) = (left as i32, top as i32, cell as i32);
        root.draw(&Text::new(
            format!("{title} — accuracy {:.4}", self.accuracy()),
            (10, 10),
            ("sans-serif", 18),
        ))?;
        root.draw(&Text::new(
            "predicted class →",
            (l, t - 40),
            ("sans-serif", 14),
        ))?;
        root.draw(&Text::new("true class ↓", (10, t - 40), ("sans-serif", 14)))?;
        let font = (c / 3).clamp(8, 16);
        for (i, row) in self.counts.iter().enumerate() {
            let support = row.iter().sum::<usize>().max(1) as f64;
            for (j, &count) in row.iter().enumerate() {
                let frac = count as f64 / support;
                // Any error at all stays visible: at least 20 % of full colour.
                let ink = if count > 0 { 0.2 + 0.8 * frac } else { 0.0 };
                let shade = (255.0 * (1.0 - ink)) as u8;
                let color = if i == j {
                    RGBColor(shade, shade, 255)
                } else {
                    RGBColor(255, shade, shade)
                };
                let (x, y) = (l + j as i32 * c, t + i as i32 * c);
                root.draw(&Rectangle::new([(x, y), (x + c, y + c)], color.filled()))?;
                root.draw(&Rectangle::new([(x, y), (x + c, y + c)], BLACK.mix(0.2)))?;
                if count > 0 {
                    let text_color = if ink > 0.6 { WHITE } else { BLACK };
                    root.draw(&Text::new(
                        count.to_string(),
                        (x + c / 2, y + c / 2),
                        ("sans-serif", font)
                            .into_font()
                            .color(&text_color)
                            .pos(Pos::new(HPos::Center, VPos::Center)),
                    ))?;
                }
            }
        }
        for (k, name) in self.classes.iter().enumerate() {
            let k = k as i32;
            let label = |p: Pos| ("sans-serif", 16).into_font().color(&BLACK).pos(p);
            root.draw(&Text::new(
                name.clone(),
                (l - 8, t + k * c + c / 2),
                label(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            root.draw(&Text::new(
                name.clone(),
                (l + k * c + c / 2, t - 10),
                label(Pos::new(HPos::Center, VPos::Bottom)),
            ))?;
        }
        root.present()?;
        Ok(())
    }

    /// Writes [`Confusion::render_svg`] to `path` (must end in `.svg`), atomically.
    pub fn write_svg(&self, path: &Path, title: &str) -> Result<()> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("svg") {
            return Err(Error::Config(format!(
                "--plot {}: only .svg files can be written",
                path.display()
            )));
        }
        super::atomic::write(path, self.render_svg(title)?.as_bytes())
    }
}

/// Buckets of "steps since the true class changed" (0 is the step of the change, or the
/// first step of a recording), each `lo..hi`.
const POSITION_BUCKETS: [(usize, usize); 8] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (4, 5),
    (5, 10),
    (10, 20),
    (20, usize::MAX),
];

/// How a tagger does as a stream goes on: accuracy by the steps since the true class last
/// changed (or the recording began), and, for every change of class inside a recording,
/// how many steps of the new class it reads before it first answers it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ByPosition {
    /// Per bucket of [`POSITION_BUCKETS`]: (right, all).
    counts: [(usize, usize); 8],
    /// Per change: the steps until the first right answer, counting the changed step as 1;
    /// `None` when the class changed again (or the recording ended) first.
    pub switches: Vec<Option<usize>>,
}

impl ByPosition {
    /// One recording's true and predicted classes.
    pub fn add(&mut self, truth: &[usize], predicted: &[usize]) {
        let mut since = 0usize;
        let mut pending: Option<usize> = None;
        for (t, (&y, &p)) in truth.iter().zip(predicted).enumerate() {
            let changed = t > 0 && truth[t - 1] != y;
            if t == 0 || changed {
                if pending.take().is_some() {
                    self.switches.push(None);
                }
                since = 0;
                if changed {
                    pending = Some(t);
                }
            }
            if let Some(b) = POSITION_BUCKETS
                .iter()
                .position(|&(lo, hi)| since >= lo && since < hi)
            {
                self.counts[b].0 += usize::from(y == p);
                self.counts[b].1 += 1;
            }
            if y == p {
                if let Some(start) = pending.take() {
                    self.switches.push(Some(t - start + 1));
                }
            }
            since += 1;
        }
        if pending.is_some() {
            self.switches.push(None);
        }
    }

    /// Median of the steps to switch over the changes that were followed, if any.
    pub fn median_switch(&self) -> Option<usize> {
        let mut s: Vec<usize> = self.switches.iter().flatten().copied().collect();
        s.sort_unstable();
        s.get(s.len().saturating_sub(1) / 2).copied()
    }

    /// Accuracy of the steps `lo..hi` after a change, `None` when there are none.
    pub fn accuracy(&self, bucket: usize) -> Option<f64> {
        let (right, all) = *self.counts.get(bucket)?;
        (all > 0).then(|| right as f64 / all as f64)
    }

    pub fn report(&self) -> String {
        let mut s =
            String::from("accuracy by steps since the class changed (or the recording began):\n");
        for (b, &(lo, hi)) in POSITION_BUCKETS.iter().enumerate() {
            let (right, all) = self.counts[b];
            if all == 0 {
                continue;
            }
            let range = match (lo, hi) {
                (lo, usize::MAX) => format!("{lo}+"),
                (lo, hi) if hi == lo + 1 => format!("{lo}"),
                (lo, hi) => format!("{lo}-{}", hi - 1),
            };
            let _ = writeln!(
                s,
                "  {range:>5}  {:.4}  ({right} of {all})",
                right as f64 / all as f64
            );
        }
        if !self.switches.is_empty() {
            let followed: Vec<usize> = self.switches.iter().flatten().copied().collect();
            let mean = followed.iter().sum::<usize>() as f64 / followed.len().max(1) as f64;
            let _ = writeln!(
                s,
                "changes of class inside a recording: {}; followed {} (steps until the first right answer: median {}, mean {:.2}), never followed {}",
                self.switches.len(),
                followed.len(),
                self.median_switch().map_or_else(|| "-".into(), |m| m.to_string()),
                mean,
                self.switches.len() - followed.len()
            );
        }
        s
    }
}

/// Errors of a regression model per target, in the targets' units, accumulated in f64;
/// and the first recording's predictions and truth, for the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub names: Vec<String>,
    sq: Vec<f64>,
    abs: Vec<f64>,
    pub steps: usize,
    /// (truth, prediction) of the first target, first recording, at most `PLOT_STEPS`.
    series: Vec<(f32, f32)>,
}

/// Steps of the prediction-against-truth picture.
const PLOT_STEPS: usize = 2000;

impl Regression {
    pub fn new(names: Vec<String>) -> Self {
        let o = names.len();
        Regression {
            names,
            sq: vec![0.0; o],
            abs: vec![0.0; o],
            steps: 0,
            series: Vec::new(),
        }
    }

    /// One recording: predictions and truth, `O` per step.
    pub fn add(&mut self, predicted: &[f32], truth: &[f32]) {
        let o = self.names.len().max(1);
        let first = self.steps == 0;
        for (p, y) in predicted.chunks_exact(o).zip(truth.chunks_exact(o)) {
            for (k, (&p, &y)) in p.iter().zip(y).enumerate() {
                let d = f64::from(p) - f64::from(y);
                self.sq[k] += d * d;
                self.abs[k] += d.abs();
            }
            if first && self.series.len() < PLOT_STEPS {
                self.series.push((y[0], p[0]));
            }
            self.steps += 1;
        }
    }

    pub fn rmse(&self, k: usize) -> f64 {
        (self.sq[k] / self.steps.max(1) as f64).sqrt()
    }

    pub fn mae(&self, k: usize) -> f64 {
        self.abs[k] / self.steps.max(1) as f64
    }

    pub fn report(&self) -> String {
        let w = self.names.iter().map(|n| n.len()).max().unwrap_or(6).max(6);
        let mut s = format!("{} steps, errors in the targets' units\n", self.steps);
        let _ = writeln!(s, "{:<w$}  {:>12}  {:>12}", "target", "rmse", "mae");
        for (k, name) in self.names.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name:<w$}  {:>12.6}  {:>12.6}",
                self.rmse(k),
                self.mae(k)
            );
        }
        s
    }

    /// Prediction and truth of the first target over the first recording's steps (at most
    /// 2000), as an SVG (`path` must end in `.svg`).
    pub fn write_svg(&self, path: &Path, title: &str) -> Result<()> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("svg") {
            return Err(Error::Config(format!(
                "--plot {}: only .svg files can be written",
                path.display()
            )));
        }
        let mut svg = String::new();
        {
            let backend = SVGBackend::with_string(&mut svg, (1000, 400));
            self.draw(backend, title)
                .map_err(|e| Error::Internal(format!("plot: {e}")))?;
        }
        super::atomic::write(path, svg.as_bytes())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        backend: DB,
        title: &str,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let root = backend.into_drawing_area();
        root.fill(&WHITE)?;
        let (lo, hi) = self
            .series
            .iter()
            .flat_map(|&(y, p)| [y, p])
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let name = self.names.first().map_or("target", String::as_str);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{title} — {name}, rmse {:.4}", self.rmse(0)),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(
                0f32..self.series.len().max(2) as f32,
                (lo - pad)..(hi + pad),
            )?;
        chart.configure_mesh().x_desc("step").y_desc(name).draw()?;
        let line = |pick: fn(&(f32, f32)) -> f32| {
            self.series
                .iter()
                .enumerate()
                .map(move |(t, v)| (t as f32, pick(v)))
        };
        chart
            .draw_series(LineSeries::new(line(|v| v.0), BLACK.stroke_width(1)))?
            .label("truth")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        chart
            .draw_series(LineSeries::new(line(|v| v.1), RED.stroke_width(1)))?
            .label("prediction")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Confusion {
        let mut c = Confusion::new(vec!["en".into(), "es".into(), "fr".into()]);
        for (t, p, n) in [(0, 0, 8), (0, 1, 2), (1, 1, 5), (2, 0, 1)] {
            for _ in 0..n {
                c.add(t, p);
            }
        }
        c
    }

    #[test]
    fn accuracy_precision_recall() {
        let c = example();
        assert_eq!((c.total(), c.correct()), (16, 13));
        assert_eq!(c.accuracy(), 13.0 / 16.0);
        assert_eq!(c.precision(0), Some(8.0 / 9.0));
        assert_eq!(c.recall(0), Some(0.8));
        assert_eq!(c.precision(1), Some(5.0 / 7.0));
        assert_eq!(c.recall(1), Some(1.0));
        assert_eq!(c.precision(2), None);
        assert_eq!(c.recall(2), Some(0.0));
        assert_eq!(c.f1(1), Some(2.0 * (5.0 / 7.0) / (5.0 / 7.0 + 1.0)));
        assert_eq!(c.f1(2), None);
        let r = c.report();
        assert!(r.starts_with("accuracy 0.8125 (13 of 16)\n"), "{r}");
        assert!(
            r.contains("\nfr             -     0.0000          -        1\n"),
            "{r}"
        );
        assert!(
            r.contains("\n       en  es  fr\nen      8   2   0\n"),
            "{r}"
        );
    }

    #[test]
    fn position_and_switches() {
        let mut b = ByPosition::default();
        // Class 0 for 3 steps, then 1 (followed after 2 steps), then 0 (never followed).
        b.add(&[0, 0, 0, 1, 1, 1, 0, 0], &[0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(b.switches, vec![Some(2), None]);
        assert_eq!(b.median_switch(), Some(2));
        // Steps 0, 3 and 6 are at position 0: right, wrong, wrong.
        assert_eq!(b.accuracy(0), Some(1.0 / 3.0));
        assert_eq!(b.accuracy(2), Some(1.0));
        let mut r = Regression::new(vec!["x".into(), "y".into()]);
        r.add(&[1.0, 0.0, 3.0, 0.0], &[0.0, 0.0, 0.0, 2.0]);
        assert_eq!((r.rmse(0), r.mae(0)), ((5.0f64).sqrt(), 2.0));
        assert_eq!((r.rmse(1), r.mae(1)), ((2.0f64).sqrt(), 1.0));
    }

    #[test]
    fn svg_has_a_square_per_cell_and_the_counts() {
        let svg = example().render_svg("test").unwrap();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 1 + 2 * 9, "{svg}");
        assert!(
            svg.contains(">\n8\n</text>") && svg.contains(">\n5\n</text>"),
            "{svg}"
        );
        assert!(svg.contains("accuracy 0.8125"));
    }
}
