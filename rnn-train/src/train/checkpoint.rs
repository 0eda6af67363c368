//! Checkpoints: everything needed to continue a training run of any task exactly where it
//! stopped.
//!
//! A checkpoint is a JSON document (written atomically) holding the hyper-parameters, a
//! fingerprint of the training data, the model (in the JSON schema of `export`,
//! [`crate::io::json`]), the optimiser state, the loss history and the best epoch so far.
//! Floats are stored so that they read back to the same bits ([`crate::io::exact`]), and
//! every epoch depends only on the state before it, so `--resume` ends with the same model,
//! bit for bit, as the uninterrupted run. Resuming with different data or
//! hyper-parameters is refused with a message naming what differs; `--epochs` may differ
//! (train longer).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::optim::Optimizer;
use super::{Best, EpochStats, Hyper, State};
use crate::error::{Error, Result};

const FORMAT: &str = "rnn-train checkpoint";
/// Version 2: any task; the model as `rnn-json`; the best epoch. Version 1 (next-symbol
/// models only) is refused with what to do instead.
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct CheckpointFile {
    format: String,
    version: u32,
    hyper: Hyper,
    /// FNV-1a 64 of the training data, in hex.
    data_fingerprint: String,
    model: serde_json::Value,
    epochs_done: usize,
    optimizer: Optimizer,
    history: Vec<EpochStats>,
    best: Option<Best>,
    skipped: usize,
}

/// Just the version, to tell an old checkpoint from a damaged one.
#[derive(Deserialize)]
struct Preamble {
    format: String,
    version: u32,
}

/// The checkpoint file that goes with a model file: `MODEL.rnn` → `MODEL.rnn.ckpt`.
pub fn path_for(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_os_string();
    name.push(".ckpt");
    PathBuf::from(name)
}

/// FNV-1a 64: enough to notice that a checkpoint belongs to other data.
pub fn fingerprint(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn save(path: &Path, hyper: &Hyper, data_fingerprint: &str, state: &State) -> Result<()> {
    let file = CheckpointFile {
        format: FORMAT.into(),
        version: VERSION,
        hyper: hyper.clone(),
        data_fingerprint: data_fingerprint.into(),
        model: crate::io::json::to_json(&state.model),
        epochs_done: state.epochs_done,
        optimizer: state.optimizer.clone(),
        history: state.history.clone(),
        best: state.best.clone(),
        skipped: state.skipped,
    };
    let json = serde_json::to_vec(&file).map_err(|e| Error::Internal(e.to_string()))?;
    crate::io::atomic::write(path, &json)
}

/// Reads a checkpoint and checks that it continues a run with `hyper` on this data.
pub fn load(path: &Path, hyper: &Hyper, data_fingerprint: &str) -> Result<State> {
    let bad = |reason: String| Error::Checkpoint {
        path: path.into(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let pre: Preamble = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("not a readable checkpoint: {e}")))?;
    if pre.format != FORMAT || pre.version > VERSION {
        return Err(bad(format!(
            "unsupported checkpoint (format {:?} version {}, expected {FORMAT:?} version {VERSION})",
            pre.format, pre.version
        )));
    }
    if pre.version < VERSION {
        return Err(bad(format!(
            "a version {} checkpoint of an older rnn-train, which this one cannot resume: \
             finish that run with the rnn-train that wrote it, or train again without --resume",
            pre.version
        )));
    }
    let file: CheckpointFile = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("not a readable checkpoint: {e}")))?;
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
    let model = crate::io::json::from_json(&file.model, path)
        .map_err(|e| bad(format!("its model: {e}")))?;
    let a = model.arch;
    let n = a.param_count();
    if a.task != hyper.task()
        || a.cell != hyper.cell
        || a.layers != hyper.layers
        || a.hidden != hyper.hidden
        || !file.optimizer.fits(n)
        || file.history.len() != file.epochs_done
        || file.best.as_ref().is_some_and(|b| b.params.len() != n)
    {
        return Err(bad("inconsistent sizes inside the checkpoint".into()));
    }
    Ok(State {
        model,
        optimizer: file.optimizer,
        epochs_done: file.epochs_done,
        history: file.history,
        best: file.best,
        skipped: file.skipped,
    })
}
