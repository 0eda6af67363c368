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
            rnn_core::format::VERSION
        ),
    )?;
    let m = Model::from_bytes(&bytes, path)?;
    let a = m.arch;
    w(out, format!("cell: {}", a.cell.name()))?;
    w(out, format!("layers: {}", a.layers))?;
    let classify = a.task == rnn_core::Task::Classify;
    if classify {
        let dirs = if a.directions == 2 {
            "bidirectional (a forward and a backward stack)"
        } else {
            "unidirectional"
        };
        w(out, format!("task: classify, {dirs}"))?;
    }
    let o = if classify { "classes" } else { "output" };
    w(
        out,
        format!(
            "sizes: input I = {}, hidden H = {}, {o} O = {}",
            a.input, a.hidden, a.output
        ),
    )?;
    if classify {
        w(out, format!("input: {}", m.input.describe()))?;
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
    let norm_text = if norm > 0 {
        format!(", plus mean and scale {norm}")
    } else {
        String::new()
    };
    w(
        out,
        format!(
            "parameters: {} ({}){norm_text}, {} bytes of weights",
            a.param_count(),
            shapes.join(", "),
            (a.param_count() + norm) * 4
        ),
    )?;
    let err = core_err(path);
    if classify {
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
    if classify {
        w(
            out,
            format!("classes ({}): {}", m.classes.len(), m.classes.join(", ")),
        )?;
    }
    Ok(())
}
