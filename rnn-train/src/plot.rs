//! Loss curves as an SVG: training and validation cross-entropy per epoch.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::train::EpochStats;

/// Draws the curves into an SVG string.
pub fn render_svg(history: &[EpochStats], title: &str) -> Result<String> {
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (800, 500));
        draw(backend, history, title).map_err(|e| Error::Internal(format!("plot: {e}")))?;
    }
    Ok(svg)
}

/// Writes the curves to `path` (SVG), atomically.
pub fn write(path: &Path, history: &[EpochStats], title: &str) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case("svg") {
        return Err(Error::Config(format!(
            "--plot {}: only .svg files can be written",
            path.display()
        )));
    }
    crate::atomic::write(path, render_svg(history, title)?.as_bytes())
}

fn draw<DB: DrawingBackend>(
    backend: DB,
    history: &[EpochStats],
    title: &str,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let losses = history
        .iter()
        .flat_map(|s| std::iter::once(s.train_loss).chain(s.val_loss))
        .filter(|v| v.is_finite());
    let (lo, hi) = losses.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(0.01);
    let last = history.last().map_or(1, |s| s.epoch).max(1);
    let first = history.first().map_or(1, |s| s.epoch).min(last);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(first as f64..last as f64 + 1e-9, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy (nats/char)")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|s| (s.epoch as f64, s.train_loss)),
            &BLUE,
        ))?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    if history.iter().any(|s| s.val_loss.is_some()) {
        chart
            .draw_series(LineSeries::new(
                history
                    .iter()
                    .filter_map(|s| s.val_loss.map(|v| (s.epoch as f64, v))),
                &RED,
            ))?
            .label("validation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_has_both_curves() {
        let history: Vec<EpochStats> = (1..=5)
            .map(|e| EpochStats {
                epoch: e,
                train_loss: 3.0 / e as f64,
                val_loss: Some(3.2 / e as f64),
                running_loss: 3.0,
                chars_per_sec: 1.0,
            })
            .collect();
        let svg = render_svg(&history, "test").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        // One line per curve plus its legend sample.
        assert_eq!(svg.matches(r##"stroke="#0000FF""##).count(), 2, "{svg}");
        assert_eq!(svg.matches(r##"stroke="#FF0000""##).count(), 2, "{svg}");
        assert!(svg.contains("validation"));
    }
}
