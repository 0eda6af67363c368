//! The tensors of a model file, in file order: the one definition of that order, which the
//! reader ([`crate::Network`], [`crate::Classifier`]) consumes and every writer follows
//! (`FORMAT.md` describes it in words).
//!
//! ```
//! use rnn_core::{CellKind, Header, TensorRole};
//!
//! let header = Header::new(CellKind::Gru, 2, 27, 16, 27);
//! let shapes: Vec<String> = header
//!     .tensors()
//!     .map(|t| format!("{} {}x{} (layer {})", t.role.name(header.cell), t.rows, t.cols, t.layer))
//!     .collect();
//! assert_eq!(shapes[..5], [
//!     "w_ih 48x27 (layer 0)", "w_hh 48x16 (layer 0)", "b_ih 48x1 (layer 0)", "b_hh 48x1 (layer 0)",
//!     "w_ih 48x16 (layer 1)",
//! ]);
//! assert_eq!(shapes[8..], ["w_ya 27x16 (layer 0)", "b_y 27x1 (layer 0)"]);
//! let total: usize = header.tensors().map(|t| t.len()).sum();
//! assert_eq!(Ok(total), header.param_count());
//! assert_eq!(header.tensors().filter(|t| t.role == TensorRole::RecurrentBias).count(), 2);
//! ```

use core::iter::FusedIterator;

use crate::format::{CellKind, Header, Task};

/// What a tensor of a model file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorRole {
    /// The per-channel mean subtracted from a dense input (normalised classifiers), `I`.
    InputMean,
    /// The per-channel factor applied after the mean is subtracted, `I`.
    InputScale,
    /// A regression model's per-target mean, added to its scaled output, `O`.
    TargetMean,
    /// A regression model's per-target standard deviation, which multiplies the output
    /// layer's value: `y = target_mean + target_std ⊙ (W_ya · z + b_y)`, `O`.
    TargetStd,
    /// A convolutional layer's weights, `C × K·C_in` (`[o][k][c]`, `k = 0` the current
    /// step).
    ConvWeights,
    /// A convolutional layer's bias, `C`.
    ConvBias,
    /// A layer's input weights, `G·H × I_l` (Elman `W_ax`, GRU/LSTM `W_ih`).
    InputWeights,
    /// A layer's recurrent weights, `G·H × H` (Elman `W_aa`, GRU/LSTM `W_hh`).
    RecurrentWeights,
    /// A layer's input bias, `G·H` (Elman's one bias `b_a`, GRU/LSTM `b_ih`).
    InputBias,
    /// A gated layer's recurrent bias `b_hh`, `G·H` (an Elman layer has none).
    RecurrentBias,
    /// The output layer's weights `W_ya`, `O × D·H`.
    OutputWeights,
    /// The output layer's bias `b_y`, `O`.
    OutputBias,
}

impl TensorRole {
    /// The project's name of the tensor in a model of `cell` kind, without a layer or
    /// direction suffix, as in the JSON export and the docs: `mean`, `scale`,
    /// `target_mean`, `target_std`; for Elman
    /// `w_ax`, `w_aa`, `b_a`; for GRU and LSTM `w_ih`, `w_hh`, `b_ih`, `b_hh`; then `w_ya`,
    /// `b_y`. (Elman has no recurrent bias; asked for one, this gives the gated cells'
    /// `b_hh`.)
    pub const fn name(self, cell: CellKind) -> &'static str {
        let elman = matches!(cell, CellKind::Elman);
        match self {
            TensorRole::InputMean => "mean",
            TensorRole::InputScale => "scale",
            TensorRole::TargetMean => "target_mean",
            TensorRole::TargetStd => "target_std",
            TensorRole::ConvWeights => "conv_w",
            TensorRole::ConvBias => "conv_b",
            TensorRole::InputWeights if elman => "w_ax",
            TensorRole::InputWeights => "w_ih",
            TensorRole::RecurrentWeights if elman => "w_aa",
            TensorRole::RecurrentWeights => "w_hh",
            TensorRole::InputBias if elman => "b_a",
            TensorRole::InputBias => "b_ih",
            TensorRole::RecurrentBias => "b_hh",
            TensorRole::OutputWeights => "w_ya",
            TensorRole::OutputBias => "b_y",
        }
    }

    /// Whether the tensor is a statistic of the data (input normalisation, target
    /// statistics) rather than a trained weight.
    pub const fn is_statistic(self) -> bool {
        matches!(
            self,
            TensorRole::InputMean
                | TensorRole::InputScale
                | TensorRole::TargetMean
                | TensorRole::TargetStd
        )
    }

    /// Whether tensors of this role are vectors (mean, scale, biases), stored with
    /// `cols = 1`.
    const fn is_vector(self) -> bool {
        !matches!(
            self,
            TensorRole::InputWeights
                | TensorRole::RecurrentWeights
                | TensorRole::OutputWeights
                | TensorRole::ConvWeights
        )
    }
}

/// One tensor of a model file: its role, the layer and direction (0 forward, 1 backward)
/// it belongs to (both 0 for the mean, the scale and the output layer), and its shape,
/// row-major (`cols = 1` for a vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorSpec {
    /// What the tensor is for.
    pub role: TensorRole,
    /// The recurrent layer, counted from the input (0 when not a layer's).
    pub layer: usize,
    /// 0 for the forward stack, 1 for the backward one (0 when not a layer's).
    pub direction: usize,
    /// Rows (the length of a vector).
    pub rows: usize,
    /// Columns (1 for a vector).
    pub cols: usize,
}

impl TensorSpec {
    /// Number of floats, `rows · cols` (saturating instead of overflowing).
    pub const fn len(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }

    /// Whether the tensor is a vector (mean, scale or a bias; then `cols` is 1). A matrix
    /// can have one column too (input weights when `I = 1`): the role decides.
    pub const fn is_vector(&self) -> bool {
        self.role.is_vector()
    }

    /// Whether the tensor holds no floats (only for a header with a zero size).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The tensors of a header in file order ([`Header::tensors`]): an iterator that needs no
/// heap, with its exact length known.
#[derive(Debug, Clone)]
pub struct Tensors<'h> {
    // Borrowed, not copied: on a microcontroller the loader walks the tensors on its
    // stack, where a copy of the header cost its size in every walk's frame.
    header: &'h Header,
    /// Index of the next tensor.
    next: usize,
    /// Number of tensors in all.
    count: usize,
}

impl<'h> Tensors<'h> {
    /// Tensors of one layer in one direction: input weights, recurrent weights, input
    /// bias, and the recurrent bias for gated cells.
    const fn per_layer(cell: CellKind) -> usize {
        if cell.has_recurrent_bias() {
            4
        } else {
            3
        }
    }

    /// Tensors of the normalisation: `mean` and `scale`, or none.
    const fn norm(header: &Header) -> usize {
        if header.normalized {
            2
        } else {
            0
        }
    }

    /// Tensors of the target statistics: `target_mean` and `target_std` (regression), or
    /// none.
    const fn targets(header: &Header) -> usize {
        if matches!(header.task, Task::Regress) {
            2
        } else {
            0
        }
    }

    /// Tensors of the recurrent stacks, all directions. At most 2 · 255 · 4.
    const fn stacks(header: &Header) -> usize {
        header.directions() * header.layers as usize * Self::per_layer(header.cell)
    }

    fn new(header: &'h Header) -> Self {
        let count = Self::norm(header)
            + Self::targets(header)
            + 2 * header.conv.layers().len()
            + Self::stacks(header)
            + 2;
        Tensors {
            header,
            next: 0,
            count,
        }
    }

    /// The tensor at `index` in file order, if there is one.
    fn spec(&self, index: usize) -> Option<TensorSpec> {
        let h = self.header;
        let hidden = h.hidden as usize;
        let rows = h.cell.gates().saturating_mul(hidden);
        let vector = |role, rows| TensorSpec {
            role,
            layer: 0,
            direction: 0,
            rows,
            cols: 1,
        };
        let mut k = index;
        let norm = Self::norm(h);
        if k < norm {
            let role = if k == 0 {
                TensorRole::InputMean
            } else {
                TensorRole::InputScale
            };
            return Some(vector(role, h.input as usize));
        }
        k -= norm;
        let targets = Self::targets(h);
        if k < targets {
            let role = if k == 0 {
                TensorRole::TargetMean
            } else {
                TensorRole::TargetStd
            };
            return Some(vector(role, h.output as usize));
        }
        k -= targets;
        let convs = 2 * h.conv.layers().len();
        if k < convs {
            let (layer, i) = (k / 2, h.input as usize);
            let spec = *h.conv.layers().get(layer)?;
            let c = usize::from(spec.channels);
            return Some(if k.is_multiple_of(2) {
                TensorSpec {
                    role: TensorRole::ConvWeights,
                    layer,
                    direction: 0,
                    rows: c,
                    cols: usize::from(spec.kernel).saturating_mul(h.conv.layer_input(layer, i)),
                }
            } else {
                TensorSpec {
                    layer,
                    ..vector(TensorRole::ConvBias, c)
                }
            });
        }
        k -= convs;
        let stacks = Self::stacks(h);
        if k < stacks {
            let per_layer = Self::per_layer(h.cell);
            let per_stack = per_layer * h.layers as usize;
            // By subtraction, not division (a library routine on the Cortex-M0): one or two
            // directions, at most 255 layers of 3 or 4 tensors.
            let (direction, mut k) = if k >= per_stack {
                (1, k - per_stack)
            } else {
                (0, k)
            };
            let mut layer = 0;
            while k >= per_layer {
                k -= per_layer;
                layer += 1;
            }
            let (role, cols) = match k {
                0 => (TensorRole::InputWeights, h.layer_input(layer)),
                1 => (TensorRole::RecurrentWeights, hidden),
                2 => (TensorRole::InputBias, 1),
                _ => (TensorRole::RecurrentBias, 1),
            };
            return Some(TensorSpec {
                role,
                layer,
                direction,
                rows,
                cols,
            });
        }
        k -= stacks;
        let o = h.output as usize;
        match k {
            0 => Some(TensorSpec {
                cols: h.head_input(),
                ..vector(TensorRole::OutputWeights, o)
            }),
            1 => Some(vector(TensorRole::OutputBias, o)),
            _ => None,
        }
    }
}

impl Iterator for Tensors<'_> {
    type Item = TensorSpec;

    fn next(&mut self) -> Option<TensorSpec> {
        if self.next >= self.count {
            return None;
        }
        let spec = self.spec(self.next);
        self.next += 1;
        spec
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Tensors<'_> {}

impl FusedIterator for Tensors<'_> {}

impl Header {
    /// Every tensor of a file with this header, in file order: `mean` and `scale` (`I`
    /// each, when normalised); `target_mean` and `target_std` (`O` each, regression); the
    /// convolutional layers' weights (`C × K·C_in`) and biases (`C`), from the input up; then for each direction (the forward stack, then the
    /// backward one when bidirectional) and each layer `l` from the input up: input
    /// weights (`G·H × I_l`), recurrent weights (`G·H × H`), input bias (`G·H`) and, for
    /// GRU and LSTM, recurrent bias (`G·H`); then the output layer's weights (`O × D·H`)
    /// and bias (`O`). `G` is [`CellKind::gates`], `I_l` [`Header::layer_input`].
    ///
    /// This is the code's one definition of the order `FORMAT.md` describes and the
    /// reader consumes. The sizes are not checked here ([`Header::param_count`] checks
    /// them); for any header the walk is finite and never panics or overflows (shapes
    /// saturate at `usize::MAX`).
    pub fn tensors(&self) -> Tensors<'_> {
        Tensors::new(self)
    }
}
