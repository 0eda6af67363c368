//! The trainable parameters of a network (Elman, GRU or LSTM, 1 to 4 stacked layers, then a
//! dense output layer), their initialisation, and reading and writing `.rnn` files through
//! `rnn-core` (the only code that knows the file format).
//!
//! All tensors live in one flat `Vec<f32>` in file order, each row-major, so optimisers,
//! clipping and checkpoints treat the model as a single vector and gradients share the same
//! layout. For each layer `l` (layer 0 reads `x_t`, `I_0 = I`; layer `l > 0` reads the
//! hidden state of layer `l - 1`, `I_l = H`):
//!
//! - Elman: `W_ax` (H×I_l), `W_aa` (H×H), `b_a` (H);
//! - GRU / LSTM, `G` = 3 / 4 gate blocks in PyTorch's order (r z n / i f g o): `W_ih`
//!   (G·H×I_l), `W_hh` (G·H×H), `b_ih` (G·H), `b_hh` (G·H);
//!
//! then `W_ya` (O×H), `b_y` (O), reading the top layer ([`Arch::tensors`] lists them).
//!
//! ## Initialisation
//! Weight matrices are drawn uniformly from `[-1/√H, 1/√H)` with the trainer's SplitMix64
//! seeded by `--seed`, in file order (each layer's input then recurrent weights, then
//! `W_ya`), the same range that PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM` use; biases start
//! at zero, except the LSTM's forget-gate input bias `b_ih[f]`, which starts at 1 (as Keras's
//! `unit_forget_bias`), so that a fresh LSTM keeps its cell state. Uniform rather than normal
//! draws keep the initial weights exactly reproducible on every platform (no `ln`/`cos` from
//! a libm). A one-layer Elman model draws exactly what the Elman-only trainer drew.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// Sizes of a network: input `I`, hidden `H`, output `O` (with [`Dims::param_count`] and
/// friends for the one-layer Elman network that [`crate::elman`] trains).
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

/// Names of a one-layer Elman network's tensors in file order.
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

/// The kind of recurrent cell, as chosen with `--cell` and stored in checkpoints.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CellType {
    /// `a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a)` ([`crate::elman`]).
    #[default]
    Elman,
    /// Gated recurrent unit with PyTorch's equations ([`crate::gru`]).
    Gru,
    /// Long short-term memory ([`crate::lstm`]).
    Lstm,
}

impl CellType {
    pub const ALL: [CellType; 3] = [CellType::Elman, CellType::Gru, CellType::Lstm];

    /// Gate blocks of `H` rows in the input and recurrent weights: 1, 3 or 4.
    pub const fn gates(self) -> usize {
        match self {
            CellType::Elman => 1,
            CellType::Gru => 3,
            CellType::Lstm => 4,
        }
    }

    /// Floats of state per layer for hidden size `h`: `h`, or `2h` for LSTM (`h` then `c`).
    pub const fn state_len(self, h: usize) -> usize {
        match self {
            CellType::Lstm => 2 * h,
            _ => h,
        }
    }

    /// Floats one step caches per hidden unit for the backward pass.
    pub const fn cache_per_unit(self) -> usize {
        match self {
            CellType::Elman => crate::elman::CACHE,
            CellType::Gru => crate::gru::CACHE,
            CellType::Lstm => crate::lstm::CACHE,
        }
    }

    /// Floats of working space one step needs per hidden unit.
    pub const fn tmp_per_unit(self) -> usize {
        match self {
            CellType::Elman => crate::elman::TMP,
            CellType::Gru => crate::gru::TMP,
            CellType::Lstm => crate::lstm::TMP,
        }
    }

    pub const fn name(self) -> &'static str {
        self.core().name()
    }

    pub const fn core(self) -> rnn_core::CellKind {
        match self {
            CellType::Elman => rnn_core::CellKind::Elman,
            CellType::Gru => rnn_core::CellKind::Gru,
            CellType::Lstm => rnn_core::CellKind::Lstm,
        }
    }

    pub const fn from_core(kind: rnn_core::CellKind) -> Self {
        match kind {
            rnn_core::CellKind::Elman => CellType::Elman,
            rnn_core::CellKind::Gru => CellType::Gru,
            rnn_core::CellKind::Lstm => CellType::Lstm,
        }
    }

    /// The kind named `name` (`elman`, `gru`, `lstm`).
    pub fn from_name(name: &str) -> Option<Self> {
        CellType::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// The most recurrent layers a model may stack (the file format's limit).
pub const MAX_LAYERS: usize = rnn_core::format::MAX_LAYERS as usize;

/// The architecture of a network: cell kind, depth and sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    pub cell: CellType,
    /// Stacked recurrent layers, 1 to [`MAX_LAYERS`].
    pub layers: usize,
    pub input: usize,
    pub hidden: usize,
    pub output: usize,
}

/// Where one layer's tensors live in the flat parameter vector. `b_h` is empty for Elman.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRanges {
    pub w_x: Range<usize>,
    pub w_h: Range<usize>,
    pub b_x: Range<usize>,
    pub b_h: Range<usize>,
}

/// One tensor of a model: its name (as in JSON files and messages), where it lives in the
/// flat vector, and its shape (`cols` is `None` for a vector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub range: Range<usize>,
    pub rows: usize,
    pub cols: Option<usize>,
}

impl Arch {
    /// A one-layer Elman network.
    pub fn elman(input: usize, hidden: usize, output: usize) -> Self {
        Arch {
            cell: CellType::Elman,
            layers: 1,
            input,
            hidden,
            output,
        }
    }

    pub fn dims(&self) -> Dims {
        Dims {
            input: self.input,
            hidden: self.hidden,
            output: self.output,
        }
    }

    /// Checks what the file format accepts: 1 to 4 layers, every size 1 to 65536.
    pub fn check(&self) -> std::result::Result<(), String> {
        check_format_sizes(
            self.layers,
            [
                ("input", self.input),
                ("hidden", self.hidden),
                ("output", self.output),
            ],
        )
    }

    /// Inputs of layer `l`: `I` for layer 0, `H` above.
    pub fn layer_input(&self, l: usize) -> usize {
        if l == 0 {
            self.input
        } else {
            self.hidden
        }
    }

    /// Floats of recurrent state over all layers.
    pub fn state_len(&self) -> usize {
        self.layers * self.cell.state_len(self.hidden)
    }

    /// Is this the one-layer Elman network that [`crate::elman`] trains on its fast path?
    pub fn is_single_elman(&self) -> bool {
        self.cell == CellType::Elman && self.layers == 1
    }

    fn layer_sizes(&self, l: usize) -> [usize; 4] {
        let (g, h) = (self.cell.gates(), self.hidden);
        let b_h = if self.cell == CellType::Elman {
            0
        } else {
            g * h
        };
        [g * h * self.layer_input(l), g * h * h, g * h, b_h]
    }

    /// The ranges of layer `l`'s tensors.
    pub fn layer_ranges(&self, l: usize) -> LayerRanges {
        let start: usize = (0..l)
            .map(|k| self.layer_sizes(k).iter().sum::<usize>())
            .sum();
        let [a, b, c, d] = self.layer_sizes(l);
        LayerRanges {
            w_x: start..start + a,
            w_h: start + a..start + a + b,
            b_x: start + a + b..start + a + b + c,
            b_h: start + a + b + c..start + a + b + c + d,
        }
    }

    /// The ranges of `W_ya` and `b_y`.
    pub fn head_ranges(&self) -> (Range<usize>, Range<usize>) {
        let start = self.layer_ranges(self.layers - 1).b_h.end;
        let (o, h) = (self.output, self.hidden);
        (start..start + o * h, start + o * h..start + o * h + o)
    }

    pub fn param_count(&self) -> usize {
        self.head_ranges().1.end
    }

    /// Every tensor in file order, named `w_ax_l{k}`, `w_aa_l{k}`, `b_a_l{k}` (Elman) or
    /// `w_ih_l{k}`, `w_hh_l{k}`, `b_ih_l{k}`, `b_hh_l{k}` (GRU, LSTM) for layer `k`, then
    /// `w_ya` and `b_y`.
    pub fn tensors(&self) -> Vec<TensorInfo> {
        let (gh, h) = (self.cell.gates() * self.hidden, self.hidden);
        let names: [&str; 4] = match self.cell {
            CellType::Elman => ["w_ax", "w_aa", "b_a", ""],
            _ => ["w_ih", "w_hh", "b_ih", "b_hh"],
        };
        let mut out = Vec::new();
        for l in 0..self.layers {
            let r = self.layer_ranges(l);
            let shapes = [
                (r.w_x, Some(self.layer_input(l))),
                (r.w_h, Some(h)),
                (r.b_x, None),
                (r.b_h, None),
            ];
            for (name, (range, cols)) in names.iter().zip(shapes) {
                if range.is_empty() {
                    continue;
                }
                out.push(TensorInfo {
                    name: format!("{name}_l{l}"),
                    range,
                    rows: gh,
                    cols,
                });
            }
        }
        let (w_ya, b_y) = self.head_ranges();
        out.push(TensorInfo {
            name: "w_ya".into(),
            range: w_ya,
            rows: self.output,
            cols: Some(h),
        });
        out.push(TensorInfo {
            name: "b_y".into(),
            range: b_y,
            rows: self.output,
            cols: None,
        });
        out
    }

    /// The header `rnn-core` writes for this architecture.
    pub fn header(&self) -> rnn_core::Header {
        rnn_core::Header::new(
            self.cell.core(),
            self.layers as u8,
            self.input as u32,
            self.hidden as u32,
            self.output as u32,
        )
    }

    /// A short description, e.g. `2-layer gru, I 27, H 64, O 27`.
    pub fn describe(&self) -> String {
        format!(
            "{}-layer {}, I {}, H {}, O {}",
            self.layers,
            self.cell.name(),
            self.input,
            self.hidden,
            self.output
        )
    }
}

/// One recurrent layer's weights (or their gradients): input weights `w_x` (G·H×I_l),
/// recurrent weights `w_h` (G·H×H), input bias `b_x` (G·H), recurrent bias `b_h` (G·H; empty
/// for Elman).
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerW<'a> {
    pub w_x: &'a [f32],
    pub w_h: &'a [f32],
    pub b_x: &'a [f32],
    pub b_h: &'a [f32],
}

/// Mutable counterpart of [`LayerW`].
#[derive(Debug, Default)]
pub struct LayerWMut<'a> {
    pub w_x: &'a mut [f32],
    pub w_h: &'a mut [f32],
    pub b_x: &'a mut [f32],
    pub b_h: &'a mut [f32],
}

/// All weights of a network, borrowed from the flat vector (no allocation).
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    pub layers: [LayerW<'a>; MAX_LAYERS],
    pub w_ya: &'a [f32],
    pub b_y: &'a [f32],
}

/// Mutable counterpart of [`Weights`] (parameters or gradients).
#[derive(Debug)]
pub struct WeightsMut<'a> {
    pub layers: [LayerWMut<'a>; MAX_LAYERS],
    pub w_ya: &'a mut [f32],
    pub b_y: &'a mut [f32],
}

/// Splits a flat vector laid out by `arch` into its tensors.
pub fn split_arch<'a>(arch: &Arch, flat: &'a [f32]) -> Weights<'a> {
    let mut layers = [LayerW::default(); MAX_LAYERS];
    for (l, layer) in layers.iter_mut().enumerate().take(arch.layers) {
        let r = arch.layer_ranges(l);
        *layer = LayerW {
            w_x: &flat[r.w_x],
            w_h: &flat[r.w_h],
            b_x: &flat[r.b_x],
            b_h: &flat[r.b_h],
        };
    }
    let (w_ya, b_y) = arch.head_ranges();
    Weights {
        layers,
        w_ya: &flat[w_ya],
        b_y: &flat[b_y],
    }
}

/// Mutable counterpart of [`split_arch`].
pub fn split_arch_mut<'a>(arch: &Arch, flat: &'a mut [f32]) -> WeightsMut<'a> {
    let mut layers: [LayerWMut<'a>; MAX_LAYERS] = Default::default();
    let mut rest = flat;
    for (l, layer) in layers.iter_mut().enumerate().take(arch.layers) {
        let r = arch.layer_ranges(l);
        let (w_x, tail) = std::mem::take(&mut rest).split_at_mut(r.w_x.len());
        let (w_h, tail) = tail.split_at_mut(r.w_h.len());
        let (b_x, tail) = tail.split_at_mut(r.b_x.len());
        let (b_h, tail) = tail.split_at_mut(r.b_h.len());
        rest = tail;
        *layer = LayerWMut { w_x, w_h, b_x, b_h };
    }
    let (w_ya, b_y) = rest.split_at_mut(arch.output * arch.hidden);
    WeightsMut {
        layers,
        w_ya,
        b_y: &mut b_y[..arch.output],
    }
}

/// A character-level model: architecture, vocabulary and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub arch: Arch,
    pub vocab: Vocab,
    /// All weights, flat, in file order (see [`Arch::tensors`]).
    pub params: Vec<f32>,
}

impl Model {
    /// A freshly initialised one-layer Elman model (see the module documentation).
    pub fn init(vocab: Vocab, hidden: usize, seed: u64) -> Self {
        Self::init_arch(CellType::Elman, 1, vocab, hidden, seed)
    }

    /// A freshly initialised model of `layers` layers of `cell` (see the module
    /// documentation for the scheme).
    pub fn init_arch(
        cell: CellType,
        layers: usize,
        vocab: Vocab,
        hidden: usize,
        seed: u64,
    ) -> Self {
        let arch = Arch {
            cell,
            layers,
            input: vocab.len(),
            hidden,
            output: vocab.len(),
        };
        let mut params = vec![0.0f32; arch.param_count()];
        let limit = 1.0 / (hidden as f32).sqrt();
        let mut rng = SplitMix64::new(seed);
        let mut matrices = Vec::new();
        for l in 0..layers {
            let r = arch.layer_ranges(l);
            matrices.push(r.w_x);
            matrices.push(r.w_h);
        }
        matrices.push(arch.head_ranges().0);
        for r in matrices {
            for w in &mut params[r] {
                *w = rng.uniform(limit);
            }
        }
        if cell == CellType::Lstm {
            for l in 0..layers {
                let b_x = arch.layer_ranges(l).b_x;
                // Gate blocks i, f, g, o: the second block is the forget gate.
                params[b_x.start + hidden..b_x.start + 2 * hidden].fill(1.0);
            }
        }
        Model {
            arch,
            vocab,
            params,
        }
    }

    /// The one-layer Elman tensors (for [`crate::elman`]); only meaningful when
    /// [`Arch::is_single_elman`].
    pub fn tensors(&self) -> Tensors<'_> {
        split(&self.arch.dims(), &self.params)
    }

    /// All tensors of any architecture.
    pub fn weights(&self) -> Weights<'_> {
        split_arch(&self.arch, &self.params)
    }

    /// The `.rnn` file bytes, written by `rnn-core`'s own writer.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let tensors: [&[f32]; 1] = [&self.params];
        let header = self.arch.header();
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

    /// A model from `.rnn` bytes of any kind and depth, every check of `rnn-core`'s reader
    /// applied.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |e: rnn_core::Error| Error::Model {
            path: path.into(),
            reason: e.to_string(),
        };
        let view = rnn_core::ModelView::parse(bytes).map_err(bad)?;
        let h = view.header();
        if h.task != rnn_core::Task::Next {
            return Err(Error::Model {
                path: path.into(),
                reason: format!(
                    "a {} model; this command works on next-character models",
                    h.task.name()
                ),
            });
        }
        let arch = Arch {
            cell: CellType::from_core(h.cell),
            layers: usize::from(h.layers),
            input: h.input as usize,
            hidden: h.hidden as usize,
            output: h.output as usize,
        };
        let vocab = Vocab::from_symbols(view.vocab().as_str()).map_err(|reason| Error::Model {
            path: path.into(),
            reason: format!("this trainer needs a character model: {reason}"),
        })?;
        let params: Vec<f32> = view.weights().collect();
        if params.len() != arch.param_count() {
            return Err(Error::Internal(format!(
                "{}: {} weights for {} (expected {})",
                path.display(),
                params.len(),
                arch.describe(),
                arch.param_count()
            )));
        }
        Ok(Model {
            arch,
            vocab,
            params,
        })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}

/// What the file format accepts of a network: 1 to 4 layers, every named size 1 to 65536.
pub fn check_format_sizes(
    layers: usize,
    sizes: [(&str, usize); 3],
) -> std::result::Result<(), String> {
    if layers == 0 || layers > MAX_LAYERS {
        return Err(format!(
            "{layers} layers: the format stacks 1 to {MAX_LAYERS}"
        ));
    }
    for (name, v) in sizes {
        if v == 0 || v > rnn_core::format::MAX_SIZE as usize {
            return Err(format!("{name} size {v} is not in 1..=65536"));
        }
    }
    Ok(())
}
