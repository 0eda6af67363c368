//! The architecture of a network, the trainer's one description of it: task, cell kind,
//! depth, directions, input kind and sizes. It maps one-to-one onto `rnn_core::Header`
//! ([`Arch::header`], [`Arch::from_header`]), and the layout of the weights is the file's,
//! taken from `rnn_core::Header::tensors` ([`Arch::tensors`]), so a model's parameter vector
//! is the file's weights without the input normalisation, in the same order.

use std::ops::Range;

use rnn_core::TensorRole;
use serde::{Deserialize, Serialize};

pub use rnn_core::Task;

/// The most recurrent layers a model may stack (the file format's limit).
pub const MAX_LAYERS: usize = rnn_core::format::MAX_LAYERS as usize;

/// The kind of recurrent cell, as chosen with `--cell` and stored in checkpoints; the facts
/// about each kind come from `rnn_core::CellKind`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CellType {
    /// a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a)
    #[default]
    Elman,
    /// Gated recurrent unit with PyTorch's equations.
    Gru,
    /// Long short-term memory, gates i f g o.
    Lstm,
}

impl CellType {
    pub const ALL: [CellType; 3] = [CellType::Elman, CellType::Gru, CellType::Lstm];

    /// Gate blocks of `H` rows in the input and recurrent weights.
    pub const fn gates(self) -> usize {
        self.core().gates()
    }

    /// Floats of state of one layer in one direction: `h`, or `h` then `c` for LSTM.
    pub const fn state_len(self, h: usize) -> usize {
        self.core().state_len(h)
    }

    /// Floats one step caches per hidden unit for the backward pass.
    pub const fn cache_per_unit(self) -> usize {
        match self {
            CellType::Elman => super::elman::CACHE,
            CellType::Gru => super::gru::CACHE,
            CellType::Lstm => super::lstm::CACHE,
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

/// How the first layer reads `x_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// One-hot symbols of a vocabulary (a column lookup in the input weights).
    OneHot,
    /// Dense vectors, normalised per channel before the first layer when `normalized`.
    Dense { normalized: bool },
}

/// The architecture of a network of any task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// Next symbol, class or values at every step, or one class per sequence.
    pub task: Task,
    pub cell: CellType,
    /// Stacked recurrent layers per direction, 1 to [`MAX_LAYERS`].
    pub layers: usize,
    /// 1, or 2 when a second stack reads the sequence backwards (not next-symbol models).
    pub directions: usize,
    pub input_kind: InputKind,
    /// `I`: vocabulary size or channels.
    pub input: usize,
    /// `H`, the same in every layer and direction.
    pub hidden: usize,
    /// `O`: vocabulary size (next symbol), number of classes or of targets.
    pub output: usize,
    /// A classifier's convolutional front-end (`ConvStack::NONE` for none).
    pub conv: rnn_core::ConvStack,
    /// A classifier of dense inputs normalises each sequence by its own statistics first.
    pub sequence_norm: bool,
}

/// Where one of a layer's tensors (or the output layer's) lives in the parameter vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name in JSON files and messages: `w_ih_l0`, `w_aa_l1_reverse`, `w_ya`, …
    pub name: String,
    pub range: Range<usize>,
    pub rows: usize,
    /// `None` for a vector.
    pub cols: Option<usize>,
}

/// The ranges of one layer-direction's tensors (`b_h` is empty for Elman).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerRanges {
    pub w_x: Range<usize>,
    pub w_h: Range<usize>,
    pub b_x: Range<usize>,
    pub b_h: Range<usize>,
}

/// [`Arch::layout`]: the ranges of every layer-direction's tensors and the output layer's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    directions: usize,
    layers: Vec<LayerRanges>,
    /// `W_ya` and `b_y`.
    pub head: (Range<usize>, Range<usize>),
    /// The convolutional layers' weights and biases, from the input up.
    pub conv: Vec<super::conv::ConvRanges>,
}

impl Layout {
    /// The ranges of layer `l` in direction `d`.
    pub fn layer(&self, l: usize, d: usize) -> &LayerRanges {
        &self.layers[l * self.directions + d]
    }
}

impl Arch {
    /// A one-direction next-symbol model over a vocabulary of `vocab` symbols.
    pub fn next(cell: CellType, layers: usize, vocab: usize, hidden: usize) -> Self {
        Arch {
            task: Task::Next,
            cell,
            layers,
            directions: 1,
            input_kind: InputKind::OneHot,
            input: vocab,
            hidden,
            output: vocab,
            conv: rnn_core::ConvStack::NONE,
            sequence_norm: false,
        }
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
        .with_bidirectional(self.directions == 2)
        .with_normalized(self.input_kind == InputKind::Dense { normalized: true })
        .with_task(self.task)
        .with_conv(self.conv)
        .with_sequence_normalized(self.sequence_norm)
    }

    /// The architecture a file's header describes; `one_hot` when the file has a
    /// vocabulary.
    pub fn from_header(h: &rnn_core::Header, one_hot: bool) -> Self {
        Arch {
            task: h.task,
            cell: CellType::from_core(h.cell),
            layers: usize::from(h.layers),
            directions: h.directions(),
            input_kind: if one_hot {
                InputKind::OneHot
            } else {
                InputKind::Dense {
                    normalized: h.normalized,
                }
            },
            input: h.input as usize,
            hidden: h.hidden as usize,
            output: h.output as usize,
            conv: h.conv,
            sequence_norm: h.sequence_normalized,
        }
    }

    /// What the file format accepts: 1 to 4 layers, 1 or 2 directions, every size 1 to
    /// 65536, at least two classes for a classifier.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.layers == 0 || self.layers > MAX_LAYERS {
            return Err(format!(
                "{} layers: the format stacks 1 to {MAX_LAYERS}",
                self.layers
            ));
        }
        if self.directions != 1 && !(self.directions == 2 && self.task != Task::Next) {
            return Err(format!(
                "{} directions for a {} model",
                self.directions,
                self.task.name()
            ));
        }
        let out = match self.task {
            Task::Classify | Task::Tag => "classes",
            Task::Regress => "targets",
            Task::Next => "output",
        };
        for (name, v) in [
            ("input", self.input),
            ("hidden", self.hidden),
            (out, self.output),
        ] {
            if v == 0 || v > rnn_core::format::MAX_SIZE as usize {
                return Err(format!("{name} size {v} is not in 1..=65536"));
            }
        }
        if self.sequence_norm
            && (self.task != Task::Classify || self.input_kind == InputKind::OneHot)
        {
            return Err(
                "per-sequence normalisation is for classifiers of dense inputs".to_string(),
            );
        }
        if !self.conv.is_empty() && self.task != Task::Classify {
            return Err(format!(
                "a convolutional front-end is for classifiers, not a {} model",
                self.task.name()
            ));
        }
        if matches!(self.task, Task::Classify | Task::Tag) && self.output < 2 {
            let who = if self.task == Task::Tag {
                "a tagger"
            } else {
                "a classifier"
            };
            return Err(format!("{} class: {who} needs at least two", self.output));
        }
        Ok(())
    }

    /// Inputs of layer `l`: `I` for layer 0, `D·H` above.
    pub fn layer_input(&self, l: usize) -> usize {
        self.header().layer_input(l)
    }

    /// What the output layer reads: `D·H`.
    pub fn head_input(&self) -> usize {
        self.header().head_input()
    }

    /// Floats of state of one layer in one direction.
    pub fn layer_state_len(&self) -> usize {
        self.cell.state_len(self.hidden)
    }

    /// Floats of recurrent state over all layers and directions (what stream mode carries
    /// from one window to the next), layer-direction `l·D + d` at `(l·D + d)·S`.
    pub fn state_len(&self) -> usize {
        self.layers * self.directions * self.layer_state_len()
    }

    /// Every trained tensor in file order (the file's tensors without the statistics of
    /// the data, input normalisation and target statistics, as `rnn_core::Header::tensors` lists them), with its place in the
    /// parameter vector, named `w_ax_l{k}`, `w_aa_l{k}`, `b_a_l{k}` (Elman) or `w_ih_l{k}`,
    /// `w_hh_l{k}`, `b_ih_l{k}`, `b_hh_l{k}` (GRU, LSTM) for layer `k`, with `_reverse` for
    /// the backward stack, then `w_ya` and `b_y`.
    pub fn tensors(&self) -> Vec<TensorInfo> {
        self.placed()
            .map(|(t, range)| {
                let mut name = t.role.name(self.cell.core()).to_string();
                if !matches!(t.role, TensorRole::OutputWeights | TensorRole::OutputBias) {
                    name.push_str(&format!("_l{}", t.layer));
                    if t.direction == 1 {
                        name.push_str("_reverse");
                    }
                }
                TensorInfo {
                    name,
                    range,
                    rows: t.rows,
                    cols: (!t.is_vector()).then_some(t.cols),
                }
            })
            .collect()
    }

    /// The trained tensors of the file in order, each with its range in the parameters.
    fn placed(&self) -> impl Iterator<Item = (rnn_core::TensorSpec, Range<usize>)> {
        let mut start = 0;
        let trained: Vec<_> = self
            .header()
            .tensors()
            .filter(|t| !t.role.is_statistic())
            .collect();
        trained.into_iter().map(move |t| {
            let range = start..start + t.len();
            start = range.end;
            (t, range)
        })
    }

    pub fn param_count(&self) -> usize {
        self.placed().last().map_or(0, |(_, r)| r.end)
    }

    /// The ranges of the tensors of layer `l` in direction `d` (`b_h` empty for Elman).
    pub fn layer_ranges(&self, l: usize, d: usize) -> LayerRanges {
        let mut r = LayerRanges::default();
        for (t, range) in self.placed() {
            if (t.layer, t.direction) != (l, d) {
                continue;
            }
            match t.role {
                TensorRole::InputWeights => r.w_x = range,
                TensorRole::RecurrentWeights => r.w_h = range,
                TensorRole::InputBias => r.b_x = range,
                TensorRole::RecurrentBias => r.b_h = range,
                _ => {}
            }
        }
        if r.b_h.is_empty() {
            r.b_h = r.b_x.end..r.b_x.end;
        }
        r
    }

    /// Every range the forward and backward passes look up, computed once (a workspace
    /// keeps it, so that a pass over a short sequence does not walk the tensor list).
    pub fn layout(&self) -> Layout {
        let mut layers = Vec::new();
        for l in 0..self.layers {
            for d in 0..self.directions {
                layers.push(self.layer_ranges(l, d));
            }
        }
        let mut conv = vec![super::conv::ConvRanges::default(); self.conv.layers().len()];
        for (t, range) in self.placed() {
            match t.role {
                TensorRole::ConvWeights => conv[t.layer].w = range,
                TensorRole::ConvBias => conv[t.layer].b = range,
                _ => {}
            }
        }
        Layout {
            directions: self.directions,
            layers,
            head: self.head_ranges(),
            conv,
        }
    }

    /// The ranges of `W_ya` (O × D·H) and `b_y` (O).
    pub fn head_ranges(&self) -> (Range<usize>, Range<usize>) {
        let (mut w, mut b) = (0..0, 0..0);
        for (t, range) in self.placed() {
            match t.role {
                TensorRole::OutputWeights => w = range,
                TensorRole::OutputBias => b = range,
                _ => {}
            }
        }
        (w, b)
    }

    /// A short description, e.g. `2-layer gru, I 27, H 64, O 27` or `bidirectional 1-layer
    /// lstm, I 12, H 32, 9 classes`.
    pub fn describe(&self) -> String {
        let bi = if self.directions == 2 {
            "bidirectional "
        } else {
            ""
        };
        let out = match self.task {
            Task::Next => format!("O {}", self.output),
            Task::Classify | Task::Tag => format!("{} classes", self.output),
            Task::Regress => format!("{} targets", self.output),
        };
        let mut conv: String = self
            .conv
            .layers()
            .iter()
            .map(|s| format!("conv {}:{}:{} → ", s.kernel, s.channels, s.stride))
            .collect();
        if self.sequence_norm {
            conv.insert_str(0, "per-sequence norm → ");
        }
        format!(
            "{conv}{bi}{}-layer {}, I {}, H {}, {out}",
            self.layers,
            self.cell.name(),
            self.input,
            self.hidden
        )
    }
}
