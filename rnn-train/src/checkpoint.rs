//! Checkpoints: everything needed to continue a training run exactly where it stopped.
//!
//! A checkpoint is a JSON document (written atomically) holding the hyper-parameters, a
//! fingerprint of the training text, the weights, the optimiser state and the loss history.
//! Floats are stored so that they read back to the same bits (see [`crate::exact`]), and
//! every epoch depends only on the state before it, so `--resume` ends with the same model,
//! bit for bit, as the uninterrupted run. Resuming with different data or hyper-parameters
//! is refused with a message naming what differs; `--epochs` may differ (train longer).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::model::{Arch, CellType, Model};
use crate::optim::Optimizer;
use crate::train::{EpochStats, Hyper, State};

const FORMAT: &str = "rnn-train checkpoint";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct CheckpointFile {
    format: String,
    version: u32,
    hyper: Hyper,
    /// FNV-1a 64 of the (normalised) training text, in hex.
    data_fingerprint: String,
    vocab: String,
    /// Absent in checkpoints of the Elman-only trainer: one Elman layer.
    #[serde(default)]
    cell: CellType,
    #[serde(default = "one")]
    layers: usize,
    input: usize,
    hidden: usize,
    output: usize,
    epochs_done: usize,
    #[serde(with = "crate::exact::vec")]
    params: Vec<f32>,
    optimizer: Optimizer,
    history: Vec<EpochStats>,
}

fn one() -> usize {
    1
}

/// The checkpoint file that goes with a model file: `MODEL.rnn` → `MODEL.rnn.ckpt`.
pub fn path_for(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_os_string();
    name.push(".ckpt");
    PathBuf::from(name)
}

/// FNV-1a 64: enough to notice that a checkpoint belongs to other data.
pub fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn save(path: &Path, hyper: &Hyper, data_fingerprint: &str, state: &State) -> Result<()> {
    let m = &state.model;
    let file = CheckpointFile {
        format: FORMAT.into(),
        version: VERSION,
        hyper: hyper.clone(),
        data_fingerprint: data_fingerprint.into(),
        vocab: m.vocab.as_string(),
        cell: m.arch.cell,
        layers: m.arch.layers,
        input: m.arch.input,
        hidden: m.arch.hidden,
        output: m.arch.output,
        epochs_done: state.epochs_done,
        params: m.params.clone(),
        optimizer: state.optimizer.clone(),
        history: state.history.clone(),
    };
    let json = serde_json::to_vec(&file).map_err(|e| Error::Internal(e.to_string()))?;
    crate::atomic::write(path, &json)
}

/// Reads a checkpoint and checks that it continues a run with `hyper` on this data.
pub fn load(path: &Path, hyper: &Hyper, data_fingerprint: &str) -> Result<State> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.into(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file: CheckpointFile = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("not a readable checkpoint: {e}")))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(bad(format!(
            "unsupported checkpoint (format {:?} version {}, expected {FORMAT:?} version {VERSION})",
            file.format, file.version
        )));
    }
    if file.hyper != *hyper {
        let a = serde_json::to_value(&file.hyper).unwrap_or_default();
        let b = serde_json::to_value(hyper).unwrap_or_default();
        let diffs: Vec<String> = a
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| b.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k} was {v}, now {}",
                    b.get(k.as_str()).unwrap_or(&"?".into())
                )
            })
            .collect();
        return Err(bad(format!(
            "made with other settings, cannot resume: {}",
            diffs.join(", ")
        )));
    }
    if file.data_fingerprint != data_fingerprint {
        return Err(bad(
            "made from different training data, cannot resume".into()
        ));
    }
    let arch = Arch {
        cell: file.cell,
        layers: file.layers,
        input: file.input,
        hidden: file.hidden,
        output: file.output,
    };
    arch.check().map_err(&bad)?;
    let vocab = Vocab::from_symbols(&file.vocab).map_err(bad)?;
    if vocab.len() != arch.input
        || vocab.len() != arch.output
        || arch.cell != hyper.cell
        || arch.layers != hyper.layers
        || file.params.len() != arch.param_count()
        || !file.optimizer.fits(arch.param_count())
        || file.history.len() != file.epochs_done
    {
        return Err(bad("inconsistent sizes inside the checkpoint".into()));
    }
    Ok(State {
        model: Model {
            arch,
            vocab,
            params: file.params,
        },
        optimizer: file.optimizer,
        epochs_done: file.epochs_done,
        history: file.history,
    })
}
