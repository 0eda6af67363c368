//! `rnn-train inspect`: what a model file holds, checked by `rnn-core`'s reader.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{core_err, read_model_bytes};
use crate::error::Result;
use crate::nn::{InputSpec, Model};
use rnn_core::Cell;

/// Describe a model file: task, cell kind, sizes, tensors, vocabulary or classes, checksum.
#[derive(clap::Args, Debug)]
pub struct InspectCmd {
    #[arg(long)]
    pub model: PathBuf,
}

impl InspectCmd {
    pub fn run(&self, out: &mut dyn Write) -> Result<()> {
        inspect(&self.model, out)
    }
}

/// A description of a model file of any task. A file that fails its checks is described
/// as far as possible and then reported as an error.
pub fn inspect(path: &Path, out: &mut dyn Write) -> Result<()> {
    let bytes = read_model_bytes(path)?;
    let w = |out: &mut dyn Write, s: String| super::line(out, s);
    w(
        out,
        format!("file: {} ({} bytes)", path.display(), bytes.len()),
    )?;
    let view = match rnn_core::ModelView::parse(&bytes) {
        Ok(v) => v,
        Err(e) => {
            if let rnn_core::Error::ChecksumMismatch { stored, computed } = e {
                w(
                    out,
                    format!(
                        "checksum: MISMATCH (stored CRC-32 {stored:08x}, computed {computed:08x})"
                    ),
                )?;
            }
            return Err(core_err(path)(e));
        }
    };
    let crc = bytes
        .last_chunk::<4>()
        .map_or(0, |c| u32::from_le_bytes(*c));
    w(
        out,
        format!(
            "format: version {}, checksum: ok (CRC-32 {crc:08x})",
            view.header().version()
        ),
    )?;
    if view.header().quant.is_quantized() {
        return inspect_quantized(&view, path, out);
    }
    let m = Model::from_bytes(&bytes, path)?;
    let a = m.arch;
    w(out, format!("cell: {}", a.cell.name()))?;
    w(out, format!("layers: {}", a.layers))?;
    let task = a.task;
    let named = task.names_outputs();
    if task != rnn_core::Task::Next {
        let dirs = if a.directions == 2 {
            "bidirectional (a forward and a backward stack)"
        } else {
            "unidirectional"
        };
        let what = match task {
            rnn_core::Task::Classify => "one class per sequence",
            rnn_core::Task::Tag => "a class at every step",
            _ => "values at every step",
        };
        w(out, format!("task: {}, {dirs} ({what})", task.name()))?;
    }
    let o = match task {
        rnn_core::Task::Next => "output",
        rnn_core::Task::Regress => "targets",
        _ => "classes",
    };
    w(
        out,
        format!(
            "sizes: input I = {}, hidden H = {}, {o} O = {}",
            a.input, a.hidden, a.output
        ),
    )?;
    if task != rnn_core::Task::Next {
        w(out, format!("input: {}", m.input.describe()))?;
    }
    if a.sequence_norm {
        w(
            out,
            "per-sequence normalisation: each channel of a sequence shifted and scaled by the sequence's own mean and standard deviation first".to_string(),
        )?;
    }
    if !a.conv.is_empty() {
        let layers: Vec<String> = a
            .conv
            .layers()
            .iter()
            .map(|s| {
                format!(
                    "kernel {} channels {} stride {}",
                    s.kernel, s.channels, s.stride
                )
            })
            .collect();
        w(
            out,
            format!(
                "convolutional front-end (ReLU, causal): {}; a sequence of T steps gives the recurrent stack ceil(T / {}) steps",
                layers.join(", then "),
                a.conv.layers().iter().map(|s| usize::from(s.stride)).product::<usize>()
            ),
        )?;
    }
    let shapes: Vec<String> = a
        .tensors()
        .iter()
        .map(|t| match t.cols {
            Some(c) => format!("{} {}×{c}", t.name, t.rows),
            None => format!("{} {}", t.name, t.rows),
        })
        .collect();
    let norm = match &m.input {
        InputSpec::Dense { norm: Some(_), .. } => 2 * a.input,
        _ => 0,
    };
    let stats = view.header().stats_len();
    let norm_text = match (norm, stats - norm) {
        (0, 0) => String::new(),
        (n, 0) => format!(", plus mean and scale {n}"),
        (0, t) => format!(", plus target_mean and target_std {t}"),
        (n, t) => format!(", plus mean and scale {n}, target_mean and target_std {t}"),
    };
    w(
        out,
        format!(
            "parameters: {} ({}){norm_text}, {} bytes of weights",
            a.param_count(),
            shapes.join(", "),
            (a.param_count() + stats) * 4
        ),
    )?;
    if task == rnn_core::Task::Classify {
        let h = view.header();
        let one_hot = m.vocab().is_some();
        let per: Vec<String> = [100usize, 1000]
            .iter()
            .map(|&t| {
                format!(
                    "{t} steps {} (front-end {})",
                    h.macs_per_sequence(t, one_hot),
                    h.conv.macs(t, a.input)
                )
            })
            .collect();
        w(
            out,
            format!(
                "multiply-accumulates to classify a sequence: {}",
                per.join(", ")
            ),
        )?;
    }
    let err = core_err(path);
    if task == rnn_core::Task::Classify || a.directions == 2 {
        let net = rnn_core::Classifier::from_view(&view).map_err(&err)?;
        w(
            out,
            format!(
                "run-time buffers: work {} floats for a 32-step sequence ({} per further step), logits {}",
                net.work_len(32),
                net.work_len(33) - net.work_len(32),
                net.output_size()
            ),
        )?;
    } else if task != rnn_core::Task::Next {
        let net = rnn_core::Stream::from_view(&view).map_err(&err)?;
        w(
            out,
            format!(
                "run-time buffers: state {} floats, scratch {}, outputs {} (it streams: one step at a time)",
                net.state_len(),
                net.scratch_len(),
                net.output_size()
            ),
        )?;
    } else {
        let net = rnn_core::Network::from_view(&view).map_err(&err)?;
        w(
            out,
            format!(
                "run-time buffers: state {} floats, scratch {}, logits {}",
                net.state_len(),
                net.scratch_len(),
                net.output_size()
            ),
        )?;
    }
    if let Some(v) = m.vocab() {
        w(
            out,
            format!("vocab ({} symbols): {:?}", v.len(), v.as_string()),
        )?;
    }
    if named {
        w(
            out,
            format!("{o} ({}): {}", m.classes.len(), m.classes.join(", ")),
        )?;
    }
    if let Some(t) = &m.targets {
        let f = |v: &[f32]| {
            v.iter()
                .map(|x| format!("{x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        w(
            out,
            format!("target statistics: mean {}; std {}", f(&t.mean), f(&t.std)),
        )?;
    }
    Ok(())
}

/// A quantized file: its number type, scales, tensors and buffers.
fn inspect_quantized(
    view: &rnn_core::ModelView<'_>,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    let h = view.header();
    let q = h.quant;
    let w = |out: &mut dyn Write, s: String| super::line(out, s);
    w(out, format!("cell: {}", h.cell.name()))?;
    w(out, format!("layers: {}", h.layers))?;
    w(out, format!("task: {}", h.task.name()))?;
    w(
        out,
        format!(
            "sizes: input I = {}, hidden H = {}, output O = {}",
            h.input, h.hidden, h.output
        ),
    )?;
    let lstm: Vec<String> = q.cell_exp[..h.directions() * usize::from(h.layers)]
        .iter()
        .map(|e| format!("Q{e}"))
        .collect();
    let mut cells = if h.cell == rnn_core::CellKind::Lstm {
        format!(", LSTM cell states {}", lstm.join(" "))
    } else {
        String::new()
    };
    if !h.conv.is_empty() {
        let specs: Vec<String> = h
            .conv
            .layers()
            .iter()
            .zip(q.conv_exp)
            .map(|(s, e)| format!("{}:{}:{} Q{e}", s.kernel, s.channels, s.stride))
            .collect();
        cells.push_str(&format!(
            "; convolutional front-end (ReLU, causal; kernel:channels:stride, output i16) {}",
            specs.join(", ")
        ));
    }
    w(
        out,
        format!(
            "number type: {} weights, one power-of-two scale per row; biases and logits i32 Q12; states i16 Q15{cells}",
            q.precision.name()
        ),
    )?;
    let shapes: Vec<String> = h
        .tensors()
        .map(|t| {
            let name = t.role.name(h.cell);
            let bytes = rnn_core::quant::tensor_bytes(q.precision, t.role, t.rows, t.cols);
            if t.is_vector() {
                format!("{name} {} ({bytes} B)", t.rows)
            } else {
                format!("{name} {}×{} ({bytes} B)", t.rows, t.cols)
            }
        })
        .collect();
    let n = h.param_count().map_err(core_err(path))?;
    w(
        out,
        format!(
            "parameters: {n} ({}), {} bytes of weights ({} as f32)",
            shapes.join(", "),
            view.weight_bytes().len(),
            4 * n
        ),
    )?;
    if h.task == rnn_core::Task::Classify || h.bidirectional {
        let net = rnn_core::QClassifier::from_view(view).map_err(core_err(path))?;
        w(
            out,
            format!(
                "run-time buffers: work {} i16 for a 32-step sequence ({} per further step), scratch {} i32, outputs {} i32",
                net.work_len(32),
                net.work_len(33) - net.work_len(32),
                net.scratch_len(),
                net.output_size()
            ),
        )?;
    } else {
        let net = rnn_core::QNetwork::from_view(view).map_err(core_err(path))?;
        w(
            out,
            format!(
                "run-time buffers: state {} i16, scratch {} i32, outputs {} i32",
                net.state_len(),
                net.scratch_len(),
                net.output_size()
            ),
        )?;
    }
    let v = view.vocab();
    if v.is_empty() {
        let norm = if h.normalized {
            ", normalised by f32 statistics"
        } else {
            ""
        };
        w(
            out,
            format!(
                "input: {} channels{norm}, quantized to i16 Q{}",
                h.input, q.input_exp
            ),
        )?;
    } else {
        w(
            out,
            format!("vocab ({} symbols): {:?}", v.len(), v.as_str()),
        )?;
    }
    if !view.classes().is_empty() {
        let names: Vec<&str> = view.classes().iter().collect();
        w(
            out,
            format!("names ({}): {}", names.len(), names.join(", ")),
        )?;
    }
    Ok(())
}
