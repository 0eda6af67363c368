//! The trainable parameters of an Elman network, their initialisation, and reading and
//! writing `.rnn` files through `rnn-core` (the only code that knows the file format).
//!
//! All five tensors live in one flat `Vec<f32>` in file order (`W_ax`, `W_aa`, `b_a`,
//! `W_ya`, `b_y`, each row-major), so optimisers, clipping and checkpoints treat the model
//! as a single vector and gradients share the same layout.
//!
//! ## Initialisation
//! Weight matrices are drawn uniformly from `[-1/√H, 1/√H)` with the trainer's SplitMix64
//! seeded by `--seed`, in file order (`W_ax`, then `W_aa`, then `W_ya`), the same range that
//! PyTorch's `nn.RNN` uses; biases start at zero. Uniform rather than normal draws keep the
//! initial weights exactly reproducible on every platform (no `ln`/`cos` from a libm).

use std::ops::Range;
use std::path::Path;

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// Sizes of an Elman network: input `I`, hidden `H`, output `O`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub input: usize,
    pub hidden: usize,
    pub output: usize,
}

impl Dims {
    pub fn param_count(&self) -> usize {
        let (i, h, o) = (self.input, self.hidden, self.output);
        h * i + h * h + h + o * h + o
    }

    /// Where each tensor lives in the flat parameter vector, in file order.
    pub fn ranges(&self) -> [Range<usize>; 5] {
        let (i, h, o) = (self.input, self.hidden, self.output);
        let mut start = 0;
        [h * i, h * h, h, o * h, o].map(|n| {
            let r = start..start + n;
            start += n;
            r
        })
    }

    /// `(rows, cols)` of each tensor in file order; vectors have one column.
    pub fn shapes(&self) -> [(usize, usize); 5] {
        let (i, h, o) = (self.input, self.hidden, self.output);
        [(h, i), (h, h), (h, 1), (o, h), (o, 1)]
    }
}

/// Names of the tensors in file order, as used in the JSON format and in messages.
pub const TENSOR_NAMES: [&str; 5] = ["w_ax", "w_aa", "b_a", "w_ya", "b_y"];

/// Borrowed views of the five tensors.
#[derive(Clone, Copy, Debug)]
pub struct Tensors<'a> {
    pub w_ax: &'a [f32],
    pub w_aa: &'a [f32],
    pub b_a: &'a [f32],
    pub w_ya: &'a [f32],
    pub b_y: &'a [f32],
}

/// Mutable views of the five tensors (parameters or their gradients).
#[derive(Debug)]
pub struct TensorsMut<'a> {
    pub w_ax: &'a mut [f32],
    pub w_aa: &'a mut [f32],
    pub b_a: &'a mut [f32],
    pub w_ya: &'a mut [f32],
    pub b_y: &'a mut [f32],
}

/// Splits a flat vector laid out by `dims` into the five tensors.
pub fn split<'a>(dims: &Dims, flat: &'a [f32]) -> Tensors<'a> {
    let [r0, r1, r2, r3, r4] = dims.ranges();
    Tensors {
        w_ax: &flat[r0],
        w_aa: &flat[r1],
        b_a: &flat[r2],
        w_ya: &flat[r3],
        b_y: &flat[r4],
    }
}

/// Mutable counterpart of [`split`].
pub fn split_mut<'a>(dims: &Dims, flat: &'a mut [f32]) -> TensorsMut<'a> {
    let [r0, r1, r2, r3, _] = dims.ranges();
    let (w_ax, rest) = flat.split_at_mut(r0.end);
    let (w_aa, rest) = rest.split_at_mut(r1.len());
    let (b_a, rest) = rest.split_at_mut(r2.len());
    let (w_ya, b_y) = rest.split_at_mut(r3.len());
    TensorsMut {
        w_ax,
        w_aa,
        b_a,
        w_ya,
        b_y,
    }
}

/// A character-level Elman model: sizes, vocabulary and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub dims: Dims,
    pub vocab: Vocab,
    /// All weights, flat, in file order (see [`Dims::ranges`]).
    pub params: Vec<f32>,
}

impl Model {
    /// A freshly initialised model (see the module documentation for the scheme).
    pub fn init(vocab: Vocab, hidden: usize, seed: u64) -> Self {
        let dims = Dims {
            input: vocab.len(),
            hidden,
            output: vocab.len(),
        };
        let mut params = vec![0.0f32; dims.param_count()];
        let limit = 1.0 / (hidden as f32).sqrt();
        let mut rng = SplitMix64::new(seed);
        let [r_ax, r_aa, _, r_ya, _] = dims.ranges();
        for r in [r_ax, r_aa, r_ya] {
            for w in &mut params[r] {
                *w = rng.uniform(limit);
            }
        }
        Model {
            dims,
            vocab,
            params,
        }
    }

    pub fn tensors(&self) -> Tensors<'_> {
        split(&self.dims, &self.params)
    }

    fn header(&self) -> rnn_core::Header {
        rnn_core::Header::elman(
            self.dims.input as u32,
            self.dims.hidden as u32,
            self.dims.output as u32,
        )
    }

    /// The `.rnn` file bytes, written by `rnn-core`'s own writer.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let t = self.tensors();
        let tensors: [&[f32]; 5] = [t.w_ax, t.w_aa, t.b_a, t.w_ya, t.b_y];
        let header = self.header();
        let vocab = self.vocab.as_string();
        let bad = |e: rnn_core::Error| Error::Internal(format!("cannot encode the model: {e}"));
        let len = rnn_core::encoded_len(&header, &vocab, &tensors).map_err(bad)?;
        let mut buf = vec![0u8; len];
        let written = rnn_core::write_model(&mut buf, &header, &vocab, &tensors).map_err(bad)?;
        buf.truncate(written);
        Ok(buf)
    }

    /// Writes the model atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic::write(path, &self.to_bytes()?)
    }

    /// A model from `.rnn` bytes, every check of `rnn-core`'s reader applied.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |e: rnn_core::Error| Error::Model {
            path: path.into(),
            reason: e.to_string(),
        };
        let view = rnn_core::ModelView::parse(bytes).map_err(bad)?;
        let w = rnn_core::ElmanWeights::from_view(&view).map_err(bad)?;
        let dims = Dims {
            input: w.input_size(),
            hidden: w.hidden_size(),
            output: w.output_size(),
        };
        let vocab = Vocab::from_symbols(view.vocab().as_str()).map_err(|reason| Error::Model {
            path: path.into(),
            reason: format!("this trainer needs a character model: {reason}"),
        })?;
        let params: Vec<f32> = w
            .w_ax()
            .chain(w.w_aa())
            .chain(w.b_a())
            .chain(w.w_ya())
            .chain(w.b_y())
            .collect();
        debug_assert_eq!(params.len(), dims.param_count());
        Ok(Model {
            dims,
            vocab,
            params,
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}
