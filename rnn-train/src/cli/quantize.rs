//! `rnn-train quantize`: a float model turned into an integer one (format version 3) for
//! microcontrollers without an FPU. The weights are quantized row by row by `rnn-core`'s
//! writer (`write_quantized`, the scheme in `rnn_core::quant`); what needs data is the
//! range of an LSTM's cell state, measured here by running the float model over the
//! calibration text. The float and the quantized model are then scored side by side,
//! both through `rnn-core`.

use std::io::Write;
use std::path::PathBuf;

use super::next_model::{read_sequences, score, NextModel};
use super::{core_err, line, read_model_bytes};
use crate::data::Mode;
use crate::error::{Error, Result};
use rnn_core::quant::MAX_STACKS;
use rnn_core::{CellKind, ModelView, Precision, Quant};

/// The weights' integer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Weights {
    /// One byte per weight (a quarter of the float file).
    Int8,
    /// Two bytes per weight, for models that lose too much at int8.
    Int16,
}

/// Quantize a float model to int8 (or int16) weights for integer inference.
#[derive(clap::Args, Debug)]
pub struct QuantizeCmd {
    /// The float model (a next-symbol model).
    #[arg(long)]
    pub model: PathBuf,
    /// Text to calibrate on (the training text will do): the LSTM cell state's range is
    /// measured on it, and both models are scored on it.
    #[arg(long)]
    pub calibrate: PathBuf,
    /// Where to write the quantized model.
    #[arg(long)]
    pub out: PathBuf,
    /// The weights' type.
    #[arg(long, value_enum, default_value_t = Weights::Int8)]
    pub weights: Weights,
    /// Also score both models on this text.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Lines (one sequence per line) or stream (one text).
    #[arg(long, value_enum, default_value_t = Mode::Lines)]
    pub mode: Mode,
}

/// Loss (nats per character) and accuracy of one model on one data set.
pub type Scores = (f64, f64);

/// What `quantize` measured: the scores of the float and the quantized model.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeReport {
    pub quant: Quant,
    pub float_bytes: usize,
    pub quantized_bytes: usize,
    /// Per data set: its path, (loss, accuracy) of the float and of the quantized model.
    pub scores: Vec<(PathBuf, Scores, Scores)>,
}

impl QuantizeCmd {
    pub fn run(&self, out: &mut dyn Write) -> Result<()> {
        let r = self.quantize()?;
        let p = r.quant.precision.name();
        line(
            out,
            format!(
                "wrote {} ({p} weights, {} bytes; the float file has {}: {:.0}%)",
                self.out.display(),
                r.quantized_bytes,
                r.float_bytes,
                100.0 * r.quantized_bytes as f64 / r.float_bytes as f64
            ),
        )?;
        for (path, f, q) in &r.scores {
            line(out, format!("{}:", path.display()))?;
            line(
                out,
                format!("  {:<26} {:>9} {:>9} {:>9}", "", "f32", p, "change"),
            )?;
            line(
                out,
                format!(
                    "  {:<26} {:>9.4} {:>9.4} {:>+9.4}",
                    "loss (nats/char)",
                    f.0,
                    q.0,
                    q.0 - f.0
                ),
            )?;
            line(
                out,
                format!(
                    "  {:<26} {:>9.4} {:>9.4} {:>+9.4}",
                    "accuracy (top symbol)",
                    f.1,
                    q.1,
                    q.1 - f.1
                ),
            )?;
        }
        Ok(())
    }

    /// Calibrates, writes the quantized model and scores both.
    pub fn quantize(&self) -> Result<QuantizeReport> {
        let path = &self.model;
        let bytes = read_model_bytes(path)?;
        let err = core_err(path);
        let view = ModelView::parse(&bytes).map_err(&err)?;
        let header = view.header();
        if header.quant.is_quantized() {
            return Err(Error::Config(format!(
                "{} is already quantized ({} weights); quantize its float model",
                path.display(),
                header.quant.precision.name()
            )));
        }
        if header.task != rnn_core::Task::Next {
            return Err(Error::Config(format!(
                "{}: quantize runs next-symbol models so far; this is a {} model",
                path.display(),
                header.task.name()
            )));
        }
        let symbols = view.vocab().as_str();
        let calib = read_sequences(symbols, &self.calibrate, self.mode, path)?;
        let mut float = NextModel::new(&view, path)?;
        // The largest |c| of each LSTM layer over the calibration text.
        let (h, per) = (header.hidden as usize, header.layer_state_len());
        let mut c_max = [0f32; MAX_STACKS];
        let float_calib = score(&mut float, &calib, path, |m| {
            if header.cell == CellKind::Lstm {
                if let Some(s) = m.float_state() {
                    for (max, layer) in c_max.iter_mut().zip(s.chunks_exact(per)) {
                        *max = layer[h..].iter().fold(*max, |a, c| a.max(c.abs()));
                    }
                }
            }
        })?;
        let mut quant = Quant {
            precision: match self.weights {
                Weights::Int8 => Precision::Int8,
                Weights::Int16 => Precision::Int16,
            },
            ..Quant::FLOAT
        };
        if header.cell == CellKind::Lstm {
            for (e, &max) in quant.cell_exp.iter_mut().zip(&c_max) {
                *e = cell_exp(max);
            }
        }
        let quant = quant.for_header(&header);
        let n = rnn_core::quantized_len(&view, quant).map_err(&err)?;
        let mut qbytes = vec![0u8; n];
        rnn_core::write_quantized(&mut qbytes, &view, quant).map_err(&err)?;
        crate::io::atomic::write(&self.out, &qbytes)?;
        let qview = ModelView::parse(&qbytes).map_err(core_err(&self.out))?;
        let mut q = NextModel::new(&qview, &self.out)?;
        let mut scores = vec![(
            self.calibrate.clone(),
            float_calib,
            score(&mut q, &calib, &self.out, |_| {})?,
        )];
        if let Some(test) = &self.test {
            let seqs = read_sequences(symbols, test, self.mode, path)?;
            let f = score(&mut float, &seqs, path, |_| {})?;
            scores.push((test.clone(), f, score(&mut q, &seqs, &self.out, |_| {})?));
        }
        Ok(QuantizeReport {
            quant,
            float_bytes: bytes.len(),
            quantized_bytes: qbytes.len(),
            scores,
        })
    }
}

/// The fraction bits of an LSTM cell state whose calibrated magnitude is at most `max`:
/// the most that leave twice that range in an `i16` (one bit of headroom for data the
/// calibration did not see), between 0 and 15.
pub fn cell_exp(max: f32) -> u8 {
    let mut e = 15u8;
    while e > 0 && f64::from(max) * 2.0 * f64::from(1u32 << e) > 32767.0 {
        e -= 1;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::cell_exp;

    #[test]
    fn cell_exponent_leaves_a_bit_of_headroom() {
        assert_eq!(cell_exp(0.0), 15);
        assert_eq!(cell_exp(0.49), 15);
        assert_eq!(cell_exp(1.0), 14);
        assert_eq!(cell_exp(3.9), 12);
        assert_eq!(cell_exp(4.1), 11);
        assert_eq!(cell_exp(1e9), 0);
    }
}
