//! A next-symbol model as `rnn-core` runs it on the device, float (`Network`) or quantized
//! (`QNetwork`, integer steps), with its buffers: what `eval`, `sample` and `quantize`
//! score and sample through.

use std::path::Path;

use rnn_core::{Cell, Column, Input, ModelView, Network, QInput, QNetwork};

use super::core_err;
use crate::data::{read_text, Mode, Sequences, START};
use crate::error::{Error, Result};

/// One model and its state. (Each is made once per command: the size of the variants
/// does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum NextModel<'a> {
    Float {
        /// The weights copied column by column (`Network::columns`): the bits of the
        /// file's layout, the device's, in about half the time per step.
        net: Network<'a, Column>,
        state: Vec<f32>,
        scratch: Vec<f32>,
    },
    Quantized {
        net: QNetwork<'a>,
        state: Vec<i16>,
        scratch: Vec<i32>,
        logits: Vec<i32>,
    },
}

impl<'a> NextModel<'a> {
    /// The model of a parsed next-symbol file, either number type.
    pub fn new(view: &ModelView<'a>, path: &Path) -> Result<Self> {
        let err = core_err(path);
        Ok(if view.header().quant.is_quantized() {
            let net = QNetwork::from_view(view).map_err(&err)?;
            NextModel::Quantized {
                state: vec![0; net.state_len()],
                scratch: vec![0; net.scratch_len()],
                logits: vec![0; net.output_size()],
                net,
            }
        } else {
            let buf = super::column_buffer(view).map_err(&err)?;
            let net = Network::columns(view, buf).map_err(&err)?;
            NextModel::Float {
                state: vec![0.0; net.state_len()],
                scratch: vec![0.0; net.scratch_len()],
                net,
            }
        })
    }

    /// `O`.
    pub fn output_size(&self) -> usize {
        match self {
            NextModel::Float { net, .. } => net.output_size(),
            NextModel::Quantized { net, .. } => net.output_size(),
        }
    }

    /// The zero state, where every sequence starts.
    pub fn reset(&mut self) {
        match self {
            NextModel::Float { state, .. } => state.fill(0.0),
            NextModel::Quantized { state, .. } => state.fill(0),
        }
    }

    /// One step with token `x` ([`START`] for the zero input); `logits` (`O`) receives the
    /// output layer's values (for a quantized model, its Q12 logits as `f32`).
    pub fn step(&mut self, x: u32, logits: &mut [f32]) -> std::result::Result<(), rnn_core::Error> {
        match self {
            NextModel::Float {
                net,
                state,
                scratch,
            } => {
                let x = if x == START {
                    Input::Start
                } else {
                    Input::Token(x as usize)
                };
                net.step(state, x, scratch, logits)
            }
            NextModel::Quantized {
                net,
                state,
                scratch,
                logits: q,
            } => {
                let x = if x == START {
                    QInput::Start
                } else {
                    QInput::Token(x as usize)
                };
                net.step(state, x, scratch, q)?;
                rnn_core::quant::network::logits_to_f32(q, logits);
                Ok(())
            }
        }
    }

    /// The float state after the latest step (`None` for a quantized model).
    pub fn float_state(&self) -> Option<&[f32]> {
        match self {
            NextModel::Float { state, .. } => Some(state),
            NextModel::Quantized { .. } => None,
        }
    }
}

/// A text as scored sequences for a model of vocabulary `symbols`: one per line (each
/// ending with `'\n'`), or the whole text as one stream.
pub fn read_sequences(symbols: &str, data: &Path, mode: Mode, model: &Path) -> Result<Sequences> {
    let vocab = crate::data::Vocab::from_symbols(symbols).map_err(|r| Error::Model {
        path: model.into(),
        reason: r,
    })?;
    let text = read_text(data)?;
    let seqs = match mode {
        Mode::Lines => {
            let newline = vocab.newline().ok_or_else(|| Error::Model {
                path: model.into(),
                reason: "the vocabulary has no '\\n', so lines cannot be scored".into(),
            })?;
            let lines = text.encode_lines(&vocab)?;
            Sequences::from_lines(lines.iter().map(|l| l.as_slice()), newline)
        }
        Mode::Stream => {
            let tokens = text.encode_stream(&vocab)?;
            Sequences::from_stream(&tokens, tokens.len().saturating_sub(1).max(1), 1).0
        }
    };
    if seqs.predicted_chars() == 0 {
        return Err(Error::NoSequences { path: data.into() });
    }
    Ok(seqs)
}

/// Mean cross-entropy per predicted character (nats, an `f64` log-softmax of the logits
/// `rnn-core` computed) and the fraction of characters that are the most probable one.
/// `each_step` sees the model after every step (calibration reads the states).
pub fn score(
    model: &mut NextModel<'_>,
    seqs: &Sequences,
    path: &Path,
    mut each_step: impl FnMut(&NextModel<'_>),
) -> Result<(f64, f64)> {
    let err = core_err(path);
    let mut logits = vec![0.0f32; model.output_size()];
    let (mut total, mut right) = (0.0f64, 0usize);
    for k in 0..seqs.len() {
        let (inputs, targets) = seqs.get(k);
        model.reset();
        for (&x, &y) in inputs.iter().zip(targets) {
            model.step(x, &mut logits).map_err(&err)?;
            each_step(model);
            let max = logits
                .iter()
                .fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
            let log_sum = logits
                .iter()
                .map(|&l| (f64::from(l) - max).exp())
                .sum::<f64>()
                .ln();
            total += log_sum - (f64::from(logits[y as usize]) - max);
            right += usize::from(rnn_core::sample::argmax(&logits) == y as usize);
        }
    }
    let n = seqs.predicted_chars() as f64;
    Ok((total / n, right as f64 / n))
}
