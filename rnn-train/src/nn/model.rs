//! A model of any task: its architecture, how it reads its input, its class names and its
//! trainable parameters, with their initialisation and the `.rnn` file through `rnn-core`
//! (the only code that knows the file format).
//!
//! The parameters live in one flat `Vec<f32>` in the file's order ([`Arch::tensors`]), so
//! optimisers, clipping and checkpoints treat the model as one vector, gradients share the
//! layout, and writing a file is a copy: the normalisation (dense inputs) and then the
//! parameters.
//!
//! ## Initialisation
//! Weight matrices are drawn uniformly from `[-1/√H, 1/√H)` with the trainer's SplitMix64
//! seeded by `--seed`, layer by layer, within a layer the forward direction first, input
//! then recurrent weights, then `W_ya` (PyTorch's `state_dict` order, the range its
//! `nn.RNN`, `nn.GRU` and `nn.LSTM` use), then a convolutional front-end's weights from
//! `[-√(6/(K·C_in)), √(6/(K·C_in)))` (He's bound for ReLU layers: with PyTorch's smaller
//! `nn.Conv1d` bound, two of five seeds on UCR Coffee started with units that never fired
//! and stayed at chance); biases start at zero, except the LSTM's
//! forget-gate input bias `b_ih[f]`, which starts at 1 (as Keras's `unit_forget_bias`), so
//! that a fresh LSTM keeps its cell state. Uniform rather than normal draws keep the
//! initial weights exactly reproducible on every platform (no `ln`/`cos` from a libm).

use std::path::Path;

use super::arch::{Arch, CellType, InputKind, Task};
use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// How a model reads its input.
#[derive(Clone, Debug, PartialEq)]
pub enum InputSpec {
    /// One-hot characters over this vocabulary.
    Chars(Vocab),
    /// Dense vectors of `channels` values, normalised as `(x - mean) · scale` when
    /// `norm` is given (the training set's statistics, stored in the file).
    Dense { channels: usize, norm: Option<Norm> },
}

/// Per-channel normalisation of dense inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Norm {
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
}

impl InputSpec {
    /// Input size `I`: vocabulary size or channels.
    pub fn size(&self) -> usize {
        match self {
            InputSpec::Chars(v) => v.len(),
            InputSpec::Dense { channels, .. } => *channels,
        }
    }

    pub fn kind(&self) -> InputKind {
        match self {
            InputSpec::Chars(_) => InputKind::OneHot,
            InputSpec::Dense { norm, .. } => InputKind::Dense {
                normalized: norm.is_some(),
            },
        }
    }

    pub fn vocab(&self) -> Option<&Vocab> {
        match self {
            InputSpec::Chars(v) => Some(v),
            InputSpec::Dense { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            InputSpec::Chars(v) => format!("one-hot characters ({} symbols)", v.len()),
            InputSpec::Dense { channels, norm } => format!(
                "{channels} channels{}",
                if norm.is_some() {
                    ", normalised per channel"
                } else {
                    ""
                }
            ),
        }
    }
}

/// A regression model's per-target statistics of the training set: the network learns
/// `(y - mean) / std`, and the file answers `mean + std ⊙ output` in the targets' units.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Per-column mean and standard deviation (population) of rows of `c` values, in f64:
/// the statistics behind the input normalisation and the target statistics.
pub fn moments<'a>(
    rows: impl Iterator<Item = &'a [f32]> + Clone,
    c: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut sum = vec![0.0f64; c];
    let mut n = 0usize;
    for row in rows.clone() {
        for (s, &x) in sum.iter_mut().zip(row) {
            *s += f64::from(x);
        }
        n += 1;
    }
    let n = n.max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let mut sq = vec![0.0f64; c];
    for row in rows {
        for ((q, &x), m) in sq.iter_mut().zip(row).zip(&mean) {
            let d = f64::from(x) - m;
            *q += d * d;
        }
    }
    let std = sq.iter().map(|&v| (v / n).sqrt()).collect();
    (mean, std)
}

/// Below this a column counts as constant: nothing to scale.
const CONSTANT: f64 = 1e-12;

impl Norm {
    /// `mean` and `scale = 1/std` of each channel of the rows (`scale = 1` for a constant
    /// channel).
    pub fn of<'a>(rows: impl Iterator<Item = &'a [f32]> + Clone, c: usize) -> Self {
        let (mean, std) = moments(rows, c);
        Norm {
            mean: mean.iter().map(|&m| m as f32).collect(),
            scale: std
                .iter()
                .map(|&s| if s > CONSTANT { (1.0 / s) as f32 } else { 1.0 })
                .collect(),
        }
    }
}

impl TargetStats {
    /// Mean and standard deviation of each of the `o` targets of `values` (rows of `o`);
    /// a constant target gets `std = 1` (nothing to scale).
    pub fn of(values: &[f32], o: usize) -> Self {
        let (mean, std) = moments(values.chunks_exact(o.max(1)), o);
        TargetStats {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: std
                .iter()
                .map(|&s| if s > CONSTANT { s as f32 } else { 1.0 })
                .collect(),
        }
    }

    /// `(y - mean) / std` for rows of targets, in place.
    pub fn normalize(&self, values: &mut [f32]) {
        let o = self.mean.len().max(1);
        for row in values.chunks_exact_mut(o) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }

    /// `mean + std · v` for rows of network outputs, in place: what `rnn-core` computes.
    pub fn denormalize(&self, values: &mut [f32]) {
        let o = self.mean.len().max(1);
        for row in values.chunks_exact_mut(o) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = m + s * *v;
            }
        }
    }
}

/// Architecture, input, output names, statistics and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub arch: Arch,
    pub input: InputSpec,
    /// Class names in index order (classifiers, taggers) or target names (regression);
    /// empty for next-symbol models.
    pub classes: Vec<String>,
    /// A regression model's target statistics (`None` for the other tasks).
    pub targets: Option<TargetStats>,
    /// All trained weights, flat, in file order (see [`Arch::tensors`]).
    pub params: Vec<f32>,
}

impl Model {
    /// A freshly initialised next-symbol model of `layers` layers of `cell` over `vocab`.
    pub fn init_next(
        cell: CellType,
        layers: usize,
        vocab: Vocab,
        hidden: usize,
        seed: u64,
    ) -> Self {
        let arch = Arch::next(cell, layers, vocab.len(), hidden);
        Self::init(arch, InputSpec::Chars(vocab), Vec::new(), None, seed)
    }

    /// A freshly initialised model (see the module documentation for the scheme).
    pub fn init(
        arch: Arch,
        input: InputSpec,
        classes: Vec<String>,
        targets: Option<TargetStats>,
        seed: u64,
    ) -> Self {
        let mut params = vec![0.0f32; arch.param_count()];
        let limit = 1.0 / (arch.hidden as f32).sqrt();
        let mut rng = SplitMix64::new(seed);
        for l in 0..arch.layers {
            for d in 0..arch.directions {
                let r = arch.layer_ranges(l, d);
                for w in &mut params[r.w_x.start..r.w_h.end] {
                    *w = rng.uniform(limit);
                }
                if arch.cell == CellType::Lstm {
                    // Gate blocks i, f, g, o: the second block is the forget gate.
                    let h = arch.hidden;
                    params[r.b_x.start + h..r.b_x.start + 2 * h].fill(1.0);
                }
            }
        }
        for w in &mut params[arch.head_ranges().0] {
            *w = rng.uniform(limit);
        }
        // Drawn last, so that a model without a front-end starts as it always did.
        for (l, r) in arch.layout().conv.iter().enumerate() {
            let fan_in = arch.conv.layer_weights(l, arch.input) - r.b.len();
            let per_output = fan_in / r.b.len().max(1);
            let bound = (6.0 / per_output.max(1) as f32).sqrt();
            for w in &mut params[r.w.clone()] {
                *w = rng.uniform(bound);
            }
        }
        Model {
            arch,
            input,
            classes,
            targets,
            params,
        }
    }

    /// The vocabulary of a model that reads characters.
    pub fn vocab(&self) -> Option<&Vocab> {
        self.input.vocab()
    }

    /// The `.rnn` file bytes, written by `rnn-core`'s own writer.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = self.arch.header();
        let vocab = self.vocab().map(Vocab::as_string).unwrap_or_default();
        let mut tensors: Vec<&[f32]> = Vec::new();
        if let InputSpec::Dense { norm: Some(n), .. } = &self.input {
            tensors.push(&n.mean);
            tensors.push(&n.scale);
        }
        if let Some(t) = &self.targets {
            tensors.push(&t.mean);
            tensors.push(&t.std);
        }
        tensors.push(&self.params);
        let bad = |e: rnn_core::Error| Error::Internal(format!("cannot encode the model: {e}"));
        let classes: String = self.classes.iter().flat_map(|c| [c, "\n"]).collect();
        let len = rnn_core::classifier_len(&header, &vocab, &classes, &tensors);
        let mut buf = vec![0u8; len.map_err(bad)?];
        let n = rnn_core::write_classifier(&mut buf, &header, &vocab, &classes, &tensors)
            .map_err(bad)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Writes the model atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::atomic::write(path, &self.to_bytes()?)
    }

    /// A model from `.rnn` bytes of any task, kind and depth, every check of `rnn-core`'s
    /// reader applied.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Model {
            path: path.into(),
            reason,
        };
        let view = rnn_core::ModelView::parse(bytes).map_err(|e| bad(e.to_string()))?;
        let h = view.header();
        let one_hot = !view.vocab().is_empty();
        let arch = Arch::from_header(&h, one_hot);
        let weights: Vec<f32> = view.weights().collect();
        let n_norm = if h.normalized { 2 * arch.input } else { 0 };
        let n_stats = h.stats_len();
        if weights.len() != n_stats + arch.param_count() {
            return Err(Error::Internal(format!(
                "{}: {} weights for {} (expected {})",
                path.display(),
                weights.len(),
                arch.describe(),
                n_stats + arch.param_count()
            )));
        }
        let input = if one_hot {
            let v = Vocab::from_symbols(view.vocab().as_str())
                .map_err(|r| bad(format!("this trainer needs a character model: {r}")))?;
            InputSpec::Chars(v)
        } else {
            InputSpec::Dense {
                channels: arch.input,
                norm: h.normalized.then(|| Norm {
                    mean: weights[..arch.input].to_vec(),
                    scale: weights[arch.input..n_norm].to_vec(),
                }),
            }
        };
        let o = arch.output;
        let targets = (h.task == Task::Regress).then(|| TargetStats {
            mean: weights[n_norm..n_norm + o].to_vec(),
            std: weights[n_norm + o..n_norm + 2 * o].to_vec(),
        });
        Ok(Model {
            arch,
            input,
            classes: view.classes().iter().map(String::from).collect(),
            targets,
            params: weights[n_stats..].to_vec(),
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}
