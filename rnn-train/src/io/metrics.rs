//! Classification results: accuracy, per-class precision and recall, the confusion matrix
//! as text and as an SVG picture.

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

    /// The report `eval` prints: accuracy, a per-class table, the matrix (rows: true
    /// class, columns: predicted).
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
            "{:<w$}  {:>9}  {:>9}  {:>7}",
            "class", "precision", "recall", "support"
        );
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
        for (k, name) in self.classes.iter().enumerate() {
            let _ = writeln!(
                s,
                "{name:<w$}  {:>9}  {:>9}  {:>7}",
                f(self.precision(k)),
                f(self.recall(k)),
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
        let r = c.report();
        assert!(r.starts_with("accuracy 0.8125 (13 of 16)\n"), "{r}");
        assert!(
            r.contains("\nfr             -     0.0000        1\n"),
            "{r}"
        );
        assert!(
            r.contains("\n       en  es  fr\nen      8   2   0\n"),
            "{r}"
        );
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
