//! `rnn-train quantize`: a float model of any task turned into an integer one (format
//! version 3) for microcontrollers without an FPU. The weights are quantized row by row by
//! `rnn-core`'s writer (`write_quantized`, the scheme in `rnn_core::quant`); what needs
//! data is the range of a dense input, of each convolutional layer's output and of an
//! LSTM's cell state, measured here by running
//! the float model over the calibration data through `rnn-core`. The float and the
//! quantized model are then scored side by side by `eval`'s code.

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
    /// The float model (any task).
    #[arg(long)]
    pub model: PathBuf,
    /// Data to calibrate on (the training data will do), in the model's own format (as
    /// for `eval`): the ranges of the input and of an LSTM's cell state are measured on
    /// it, and both models are scored on it.
    #[arg(long)]
    pub calibrate: PathBuf,
    /// Where to write the quantized model.
    #[arg(long)]
    pub out: PathBuf,
    /// The weights' type.
    #[arg(long, value_enum, default_value_t = Weights::Int8)]
    pub weights: Weights,
    /// Also score both models on this file.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Next-symbol models: lines (one sequence per line) or stream (one text).
    #[arg(long, value_enum, default_value_t = Mode::Lines)]
    pub mode: Mode,
    /// Taggers and regression models: which columns of a CSV file are what (as for
    /// `eval`).
    #[command(flatten)]
    pub columns: super::train::ColumnArgs,
}

/// One score of the float and of the quantized model on one data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    pub data: PathBuf,
    /// What is measured ("loss (nats/char)", "accuracy", "RMSE", ...).
    pub metric: String,
    pub float: f64,
    pub quantized: f64,
}

/// What `quantize` measured.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeReport {
    pub quant: Quant,
    pub float_bytes: usize,
    pub quantized_bytes: usize,
    pub scores: Vec<Score>,
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
        let mut last: Option<&PathBuf> = None;
        for s in &r.scores {
            if last != Some(&s.data) {
                line(out, format!("{}:", s.data.display()))?;
                line(
                    out,
                    format!("  {:<26} {:>10} {:>10} {:>10}", "", "f32", p, "change"),
                )?;
                last = Some(&s.data);
            }
            line(
                out,
                format!(
                    "  {:<26} {:>10.4} {:>10.4} {:>+10.4}",
                    s.metric,
                    s.float,
                    s.quantized,
                    s.quantized - s.float
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
        rnn_core::quant::check_rows(&header.with_quant(Quant {
            precision: Precision::Int8,
            ..Quant::FLOAT
        }))
        .map_err(&err)?;
        if self.columns.any() && !header.task.per_step() {
            return Err(Error::Config(
                "--inputs, --label, --targets and --group are for taggers and regression models"
                    .into(),
            ));
        }
        let ranges = self.calibrate(&view)?;
        let precision = match self.weights {
            Weights::Int8 => Precision::Int8,
            Weights::Int16 => Precision::Int16,
        };
        let mut quant = Quant {
            precision,
            input_exp: if view.vocab().is_empty() {
                fraction_bits(ranges.input)
            } else {
                0
            },
            ..Quant::FLOAT
        };
        if header.cell == CellKind::Lstm {
            for (e, &max) in quant.cell_exp.iter_mut().zip(&ranges.cell) {
                *e = fraction_bits(max);
            }
        }
        for (e, &max) in quant.conv_exp.iter_mut().zip(&ranges.conv) {
            *e = fraction_bits(max);
        }
        let quant = quant.for_header(&header);
        let n = rnn_core::quantized_len(&view, quant).map_err(&err)?;
        let mut qbytes = vec![0u8; n];
        rnn_core::write_quantized(&mut qbytes, &view, quant).map_err(&err)?;
        crate::io::atomic::write(&self.out, &qbytes)?;
        let mut scores = self.scores(&self.calibrate)?;
        if let Some(test) = &self.test {
            scores.extend(self.scores(test)?);
        }
        Ok(QuantizeReport {
            quant,
            float_bytes: bytes.len(),
            quantized_bytes: qbytes.len(),
            scores,
        })
    }

    /// The largest magnitudes of the normalised input, of each convolutional layer's output
    /// and of each LSTM layer-direction's cell state, with the float model run over the calibration data by `rnn-core`.
    fn calibrate(&self, view: &ModelView<'_>) -> Result<Ranges> {
        let path = &self.model;
        let header = view.header();
        let (h, per) = (header.hidden as usize, header.layer_state_len());
        let lstm = header.cell == CellKind::Lstm;
        let mut r = Ranges::default();
        let max_of = |m: f32, v: &[f32]| v.iter().fold(m, |a, x| a.max(x.abs()));
        if header.task == rnn_core::Task::Next {
            let calib = read_sequences(view.vocab().as_str(), &self.calibrate, self.mode, path)?;
            let mut float = NextModel::new(view, path)?;
            score(&mut float, &calib, path, |m| {
                if let (true, Some(s)) = (lstm, m.float_state()) {
                    for (max, layer) in r.cell.iter_mut().zip(s.chunks_exact(per)) {
                        *max = max_of(*max, &layer[h..]);
                    }
                }
            })?;
            return Ok(r);
        }
        let net = rnn_core::Classifier::from_view(view).map_err(core_err(path))?;
        let d = header.directions();
        let mut work = Vec::new();
        for steps in self.sequences(view, &self.calibrate)? {
            let steps = steps.as_steps();
            let t_len = match steps {
                rnn_core::Steps::Tokens(t) => t.len(),
                rnn_core::Steps::Dense(v) => v.len() / (header.input as usize).max(1),
            };
            work.resize(net.per_step_work_len(t_len), 0.0);
            net.probe(steps, &mut work, &mut |p| match p {
                rnn_core::Probe::Input(x) => r.input = max_of(r.input, x),
                rnn_core::Probe::Conv { layer, out } => {
                    if let Some(m) = r.conv.get_mut(layer) {
                        *m = max_of(*m, out);
                    }
                }
                rnn_core::Probe::State {
                    layer,
                    direction,
                    state,
                } => {
                    if lstm {
                        if let Some(m) = r.cell.get_mut(layer * d + direction) {
                            *m = max_of(*m, state.get(h..).unwrap_or_default());
                        }
                    }
                }
            })
            .map_err(core_err(path))?;
        }
        Ok(r)
    }

    /// Every sequence of a classifier's, tagger's or regression model's data file.
    fn sequences(&self, view: &ModelView<'_>, data: &std::path::Path) -> Result<Vec<Seq>> {
        let header = view.header();
        let vocab = view.vocab();
        let tokens = |text: &str, line: usize| super::eval::tokens_of(text, vocab, data, line);
        let mut out = Vec::new();
        if header.task == rnn_core::Task::Classify {
            match crate::data::RawSet::read(data)? {
                crate::data::RawSet::Text(t) => {
                    for e in &t.examples {
                        out.push(Seq::Tokens(tokens(&e.text, e.line)?));
                    }
                }
                crate::data::RawSet::Series(s) => {
                    out.extend(s.cases.into_iter().map(|c| Seq::Dense(c.values)));
                }
            }
        } else {
            let float = read_model_bytes(&self.model)?;
            let trained = crate::nn::Model::from_bytes(&float, &self.model)?;
            let columns = self.columns.for_model(&trained)?;
            match crate::data::steps::PerStepFile::read(data, header.task, &columns)? {
                crate::data::steps::PerStepFile::Csv(c) => {
                    out.extend(c.recordings.into_iter().map(|r| Seq::Dense(r.x)));
                }
                crate::data::steps::PerStepFile::Text(t) => {
                    for e in &t.examples {
                        out.push(Seq::Tokens(tokens(&e.text, e.line)?));
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(Error::NoSequences { path: data.into() });
        }
        Ok(out)
    }

    /// The float and the quantized model scored on `data` by `eval`'s code.
    fn scores(&self, data: &std::path::Path) -> Result<Vec<Score>> {
        let (f, q) = (&self.model, &self.out);
        let score = |metric: &str, float: f64, quantized: f64| Score {
            data: data.into(),
            metric: metric.into(),
            float,
            quantized,
        };
        let bytes = read_model_bytes(f)?;
        let task = ModelView::parse(&bytes).map_err(core_err(f))?.header().task;
        Ok(match task {
            rnn_core::Task::Next => {
                let view = ModelView::parse(&bytes).map_err(core_err(f))?;
                let seqs = read_sequences(view.vocab().as_str(), data, self.mode, f)?;
                let qbytes = read_model_bytes(q)?;
                let qview = ModelView::parse(&qbytes).map_err(core_err(q))?;
                let a = score_of(&view, f, &seqs)?;
                let b = score_of(&qview, q, &seqs)?;
                vec![
                    score("loss (nats/char)", a.0, b.0),
                    score("accuracy (top symbol)", a.1, b.1),
                ]
            }
            rnn_core::Task::Classify => {
                let a = super::eval::eval_classifier(f, data)?.0.accuracy();
                let b = super::eval::eval_classifier(q, data)?.0.accuracy();
                vec![score("accuracy", a, b)]
            }
            _ => {
                let trained = crate::nn::Model::from_bytes(&bytes, f)?;
                let columns = self.columns.for_model(&trained)?;
                let file = crate::data::steps::PerStepFile::read(data, task, &columns)?;
                let a = super::eval::eval_per_step(&bytes, f, &file)?;
                let b = super::eval::eval_per_step(&read_model_bytes(q)?, q, &file)?;
                use super::eval::PerStepReport as R;
                match (a, b) {
                    (R::Tag { confusion: a, .. }, R::Tag { confusion: b, .. }) => {
                        vec![score("per-step accuracy", a.accuracy(), b.accuracy())]
                    }
                    (R::Regress(a), R::Regress(b)) => (0..trained.classes.len())
                        .map(|k| {
                            let name = format!("RMSE {}", trained.classes[k]);
                            score(&name, a.rmse(k), b.rmse(k))
                        })
                        .collect(),
                    _ => Vec::new(),
                }
            }
        })
    }
}

fn score_of(
    view: &ModelView<'_>,
    path: &std::path::Path,
    seqs: &crate::data::Sequences,
) -> Result<Scores> {
    let mut m = NextModel::new(view, path)?;
    score(&mut m, seqs, path, |_| {})
}

/// Loss (nats per character) and accuracy of one model on one data set.
pub type Scores = (f64, f64);

/// A sequence of a calibration file.
enum Seq {
    Tokens(Vec<u16>),
    Dense(Vec<f32>),
}

impl Seq {
    fn as_steps(&self) -> rnn_core::Steps<'_> {
        match self {
            Seq::Tokens(t) => rnn_core::Steps::Tokens(t),
            Seq::Dense(v) => rnn_core::Steps::Dense(v),
        }
    }
}

/// Calibrated magnitudes.
#[derive(Default)]
struct Ranges {
    input: f32,
    cell: [f32; MAX_STACKS],
    /// Each convolutional layer's output (after its ReLU).
    conv: [f32; rnn_core::conv::MAX_CONV],
}

/// The fraction bits of an `i16` value (an LSTM cell state, a normalised input) whose
/// calibrated magnitude is at most `max`: the most that leave twice that range (one bit
/// of headroom for data the calibration did not see), between 0 and 15.
pub fn fraction_bits(max: f32) -> u8 {
    let mut e = 15u8;
    while e > 0 && f64::from(max) * 2.0 * f64::from(1u32 << e) > 32767.0 {
        e -= 1;
    }
    e
}

#[cfg(test)]
mod tests {
    use super::fraction_bits as cell_exp;

    #[test]
    fn cell_exponent_leaves_a_bit_of_headroom() {
        assert_eq!(cell_exp(0.0), 15);
        assert_eq!(cell_exp(0.49), 15);
        assert_eq!(cell_exp(1.0), 13);
        assert_eq!(cell_exp(3.9), 12);
        assert_eq!(cell_exp(4.1), 11);
        assert_eq!(cell_exp(1e9), 0);
    }
}
