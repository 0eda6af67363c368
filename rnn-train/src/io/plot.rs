//! Loss curves as an SVG: training and validation cross-entropy per epoch, for every task.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::train::EpochStats;

/// The unit of the loss axis: `nats/char` or `nats/sequence`.
pub type Unit = &'static str;

/// Draws the curves into an SVG string.
pub fn render_svg(history: &[EpochStats], title: &str, unit: Unit) -> Result<String> {
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (800, 500));
        draw(backend, history, title, unit).map_err(|e| Error::Internal(format!("plot: {e}")))?;
    }
    Ok(svg)
}

/// Writes the curves to `path` (SVG), atomically.
pub fn write(path: &Path, history: &[EpochStats], title: &str, unit: Unit) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !ext.eq_ignore_ascii_case("svg") {
        return Err(Error::Config(format!(
            "--plot {}: only .svg files can be written",
            path.display()
        )));
    }
    super::atomic::write(path, render_svg(history, title, unit)?.as_bytes())
}

/// An epoch axis label: whole epochs only (`3`, not `3.0`), nothing between them.
fn epoch_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-6 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

fn draw<DB: DrawingBackend>(
    backend: DB,
    history: &[EpochStats],
    title: &str,
    unit: Unit,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE)?;
    let losses = history
        .iter()
        .flat_map(|s| std::iter::once(s.train.loss).chain(s.val.as_ref().map(|v| v.loss)))
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
    // Epochs are whole numbers: at most one label per epoch, printed without decimals.
    let span = last - first;
    let measure = if unit.starts_with("nats") {
        "cross-entropy"
    } else {
        "loss"
    };
    let y_desc = format!("{measure} ({unit})");
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc.as_str())
        .x_labels(span.clamp(1, 10) + 1)
        .x_label_formatter(&epoch_label)
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|s| (s.epoch as f64, s.train.loss)),
            &BLUE,
        ))?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    if history.iter().any(|s| s.val.is_some()) {
        chart
            .draw_series(LineSeries::new(
                history
                    .iter()
                    .filter_map(|s| s.val.as_ref().map(|v| (s.epoch as f64, v.loss))),
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

    use crate::train::Score;

    fn history(epochs: usize) -> Vec<EpochStats> {
        let score = |loss: f64| Score {
            loss,
            accuracy: 0.5,
        };
        (1..=epochs)
            .map(|e| EpochStats {
                epoch: e,
                train: score(3.0 / e as f64),
                val: Some(score(3.2 / e as f64)),
                test: None,
                running_loss: 3.0,
                train_rescored: false,
                rate: 1.0,
            })
            .collect()
    }

    #[test]
    fn svg_has_both_curves() {
        let svg = render_svg(&history(5), "test", "nats/char").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        // One line per curve plus its legend sample.
        assert_eq!(svg.matches(r##"stroke="#0000FF""##).count(), 2, "{svg}");
        assert_eq!(svg.matches(r##"stroke="#FF0000""##).count(), 2, "{svg}");
        assert!(svg.contains("validation") && svg.contains("nats/char"));
    }

    #[test]
    fn epoch_axis_has_whole_numbers_only() {
        assert_eq!(epoch_label(&2.0), "2");
        assert_eq!(epoch_label(&2.5), "");
        for epochs in [2, 7, 150] {
            let svg = render_svg(&history(epochs), "t", "nats/sequence").unwrap();
            // (y, text) of every label.
            let labels: Vec<(&str, &str)> = svg
                .split("<text ")
                .skip(1)
                .filter_map(|t| {
                    let y = t.split("y=\"").nth(1)?.split('"').next()?;
                    Some((y, t.split('>').nth(1)?.trim().split('<').next()?.trim()))
                })
                .collect();
            // The epoch axis: the most labels on one line.
            let on_line = |y: &str| labels.iter().filter(|l| l.0 == y).map(|l| l.1).collect();
            let axis: Vec<&str> = labels
                .iter()
                .map(|l| on_line(l.0))
                .max_by_key(|v: &Vec<&str>| v.len())
                .unwrap();
            assert!(axis.len() >= 2, "{axis:?}");
            assert!(axis.iter().all(|l| l.parse::<usize>().is_ok()), "{axis:?}");
        }
    }
}
