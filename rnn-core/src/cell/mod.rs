//! Recurrent cells, forward pass only, fixed-size and heap-free; one file per kind:
//! [`elman`], [`gru`], [`lstm`]. The trainer in `rnn-train` holds the backward passes.
//!
//! Bit-for-bit reproducibility across x86-64 and every Cortex-M rests on three rules kept
//! in every cell: the activations are [`crate::math`]'s, plain arithmetic (never the
//! target's own library), every sum runs in one fixed order, and there are no fused
//! multiply-adds (Rust never contracts `a * b + c`).

pub mod columns;
pub mod elman;
pub mod gru;
pub(crate) mod linalg;
pub mod lstm;
pub mod network;

use crate::error::Error;
use crate::format::CellKind;

/// The input `x_t` of one step.
#[derive(Debug, Clone, Copy)]
pub enum Input<'x> {
    /// The zero vector: the first input of every sequence in line mode, before any symbol.
    Start,
    /// A one-hot vector with a 1 at this index, done as a column lookup in `W_ax`.
    Token(usize),
    /// A dense vector of length `I` (sensor data).
    Dense(&'x [f32]),
}

/// How one weight is stored, and how rows of them are multiplied with a vector.
///
/// `rnn-core` provides `[u8; 4]`, the little-endian bytes of the file at any alignment
/// (what [`ElmanWeights::from_view`](crate::ElmanWeights::from_view) gives), and `f32`, for
/// a firmware that keeps the file 4-aligned and hands the same weights over as floats
/// ([`ElmanWeights::with_floats`](crate::ElmanWeights::with_floats)): one load per weight
/// instead of a load and a move on an FPU. Both give the same bits.
///
/// A firmware may implement it for its own weight type to supply a faster [`Weight::dot4`]
/// (in assembly, say), and load a model with `with_weights`. The contract keeps every
/// target bit-identical: each of the four sums starts at `0.0` and adds `w[j] · x[j]` for
/// `j = 0, 1, …` in that order, rounding the product and then the sum to `f32` (a
/// multiply-accumulate that rounds twice, such as the Cortex-M4's `vmla.f32`, not a fused
/// one). The QEMU parity tests check a firmware's kernel against the host.
pub trait Weight: Copy {
    /// Whether a host build may sum rows of this type many at a time in plain vectorised
    /// code instead of through [`Weight::dot4`] (the same bits either way: each row still
    /// has one running sum from index 0 up). True for `rnn-core`'s own `[u8; 4]` and
    /// `f32`; false by default, so that a type with a kernel of its own is always summed
    /// by that kernel. Devices (`target_os = "none"`) ignore it and always use `dot4`.
    const PLAIN: bool = false;

    /// Whether a matrix of this type is stored column by column, each column padded with
    /// zeros to a multiple of [`columns::PAD`] rows, instead of in the file's rows. True
    /// only for [`columns::Column`], whose buffers [`crate::Network::columns`] fills; a
    /// type of a firmware's own keeps the default.
    const COLUMNS: bool = false;

    /// The weight's value.
    fn value(&self) -> f32;

    /// `[w0 · x, w1 · x, w2 · x, w3 · x]` over the shortest of the five slices, each
    /// summed as described above.
    #[inline(always)]
    fn dot4(w0: &[Self], w1: &[Self], w2: &[Self], w3: &[Self], x: &[f32]) -> [f32; 4] {
        let mut s = [0.0f32; 4];
        for ((((w0, w1), w2), w3), x) in w0.iter().zip(w1).zip(w2).zip(w3).zip(x) {
            s[0] += w0.value() * *x;
            s[1] += w1.value() * *x;
            s[2] += w2.value() * *x;
            s[3] += w3.value() * *x;
        }
        s
    }
}

impl Weight for [u8; 4] {
    const PLAIN: bool = true;

    #[inline(always)]
    fn value(&self) -> f32 {
        f32::from_le_bytes(*self)
    }
}

impl Weight for f32 {
    const PLAIN: bool = true;

    #[inline(always)]
    fn value(&self) -> f32 {
        *self
    }
}

/// What every cell offers with its sizes known at run time, so that
/// [`generate`](crate::generate), the host tools and the firmware drive any kind alike.
pub trait Cell {
    /// The kind of cell.
    fn kind(&self) -> CellKind;
    /// `I`, the input size.
    fn input_size(&self) -> usize;
    /// `H`, the hidden size.
    fn hidden_size(&self) -> usize;
    /// `O`, the output size.
    fn output_size(&self) -> usize;
    /// Length of the recurrent state: `H` for Elman and GRU, `2·H` for LSTM (`h` then `c`).
    fn state_len(&self) -> usize;
    /// Length of the working space [`Cell::step`] needs.
    fn scratch_len(&self) -> usize;
    /// One step: `state` holds the state after `t-1` on entry and after `t` on return;
    /// `logits` (length `O`) receives `W_ya · h_t + b_y`. Wrong buffer lengths and
    /// out-of-range tokens are errors.
    fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error>;
}

/// One recurrent layer's weights, borrowed from the file: input weights (`G·H` rows of
/// `n_in`), recurrent weights (`G·H` rows of `H`), the input bias and, for gated cells, the
/// recurrent bias (empty for Elman). `G` is [`CellKind::gates`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layer<'a, W> {
    pub(crate) n_in: usize,
    pub(crate) w_x: &'a [W],
    pub(crate) w_h: &'a [W],
    pub(crate) b_x: &'a [W],
    pub(crate) b_h: &'a [W],
}

impl<'a, W: Weight> Layer<'a, W> {
    /// Takes layer weights of `kind` off the front of `rest`, in file order (the order of
    /// [`Header::tensors`](crate::Header::tensors)).
    pub(crate) fn take(
        rest: &mut &'a [W],
        kind: CellKind,
        n_in: usize,
        h: usize,
    ) -> Result<Self, Error> {
        let rows = kind.gates() * h;
        let stored = linalg::stored_rows::<W>(rows);
        Ok(Layer {
            n_in,
            w_x: linalg::take(rest, stored * n_in)?,
            w_h: linalg::take(rest, stored * h)?,
            b_x: linalg::take(rest, rows)?,
            b_h: linalg::take(rest, if kind.has_recurrent_bias() { rows } else { 0 })?,
        })
    }

    /// Fills `layers` (`L` empty slots) with the header's recurrent layers of one
    /// direction, taken off the front of `rest`; a model of more layers is refused
    /// ([`Error::SizeMismatch`]). In place, not returned: a returned table was built on the
    /// stack and copied (216 bytes more stack at a firmware's boot on the Cortex-M3).
    pub(crate) fn take_stack<const L: usize>(
        layers: &mut [Option<Self>; L],
        rest: &mut &'a [W],
        header: &crate::Header,
    ) -> Result<(), Error> {
        header.check_table(L)?;
        for (l, slot) in layers
            .iter_mut()
            .enumerate()
            .take(usize::from(header.layers))
        {
            let (n_in, h) = (header.layer_input(l), header.hidden as usize);
            *slot = Some(Layer::take(rest, header.cell, n_in, h)?);
        }
        Ok(())
    }
}

/// The output layer: `logits = W_ya · h + b_y`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'a, W> {
    pub(crate) w_ya: &'a [W],
    pub(crate) b_y: &'a [W],
}

impl<'a, W: Weight> Head<'a, W> {
    pub(crate) fn take(rest: &mut &'a [W], h: usize, o: usize) -> Result<Self, Error> {
        Ok(Head {
            w_ya: linalg::take(rest, linalg::stored_rows::<W>(o) * h)?,
            b_y: linalg::take(rest, o)?,
        })
    }

    /// `logits = W_ya · h + b_y`, each row summed from index 0 up.
    pub(crate) fn logits(&self, h: &[f32], logits: &mut [f32]) {
        if W::COLUMNS {
            return columns::matvec_plus(self.w_ya, h.len(), h, logits, [self.b_y], None);
        }
        linalg::matvec(self.w_ya, h.len(), h, logits, |k, acc| {
            acc + self.b_y.get(k).map_or(0.0, linalg::f)
        });
    }
}

/// The statistics a file keeps before its layers ([`crate::Header::stats_len`]): the input
/// normalisation `x' = (x - mean) ⊙ scale` and a regression model's target statistics
/// `y = target_mean + target_std ⊙ v`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats<'a, W> {
    pub(crate) norm: Option<(&'a [W], &'a [W])>,
    pub(crate) targets: Option<(&'a [W], &'a [W])>,
}

impl<'a, W: Weight> Stats<'a, W> {
    /// Takes the statistics of `header` off the front of `rest`, in file order.
    pub(crate) fn take(rest: &mut &'a [W], header: &crate::Header) -> Result<Self, Error> {
        let (i, o) = (header.input as usize, header.output as usize);
        let mut pair =
            |n| -> Result<_, Error> { Ok((linalg::take(rest, n)?, linalg::take(rest, n)?)) };
        let norm = if header.normalized {
            Some(pair(i)?)
        } else {
            None
        };
        let targets = if header.task == crate::Task::Regress {
            Some(pair(o)?)
        } else {
            None
        };
        Ok(Stats { norm, targets })
    }

    /// The first layer's input: as given, or for a dense step of a normalised model
    /// normalised into `x_norm` (`I` floats).
    pub(crate) fn input<'x>(&self, x: Input<'x>, x_norm: &'x mut [f32]) -> Input<'x> {
        match (x, self.norm) {
            (Input::Dense(v), Some((mean, scale))) => {
                for (((n, x), m), s) in x_norm.iter_mut().zip(v).zip(mean).zip(scale) {
                    *n = (*x - linalg::f(m)) * linalg::f(s);
                }
                Input::Dense(x_norm)
            }
            (x, _) => x,
        }
    }

    /// Turns the output layer's values into the targets' units (regression; a no-op
    /// otherwise).
    pub(crate) fn outputs(&self, out: &mut [f32]) {
        if let Some((mean, std)) = self.targets {
            for ((y, m), s) in out.iter_mut().zip(mean).zip(std) {
                *y = linalg::f(m) + linalg::f(s) * *y;
            }
        }
    }
}

/// One step of a unidirectional stack of `layers` (stopping at the first empty slot): layer
/// 0 reads `x`, each further layer the hidden state of the one below; `state` holds the
/// layers' states one after the other. Returns the top layer's hidden state, what the
/// output layer reads.
pub(crate) fn stack_step<'s, W: Weight>(
    kind: CellKind,
    hidden: usize,
    layers: &[Option<Layer<'_, W>>],
    state: &'s mut [f32],
    x: Input<'_>,
    scratch: &mut [f32],
) -> &'s [f32] {
    let per_layer = kind.state_len(hidden);
    let mut below: &[f32] = &[];
    for (l, (layer, s)) in layers
        .iter()
        .zip(state.chunks_exact_mut(per_layer))
        .enumerate()
    {
        let Some(layer) = layer else { break };
        let x_l = if l == 0 { x } else { Input::Dense(below) };
        layer_step(kind, layer, s, x_l, scratch);
        below = s.get(..hidden).unwrap_or_default();
    }
    below
}

/// Scratch floats one layer step needs: `G·H` ([`CellKind::gates`] blocks of `H`).
pub(crate) fn layer_scratch_len(kind: CellKind, h: usize) -> usize {
    kind.gates() * h
}

/// One step of one layer of any kind; the lengths were checked by the caller.
pub(crate) fn layer_step<W: Weight>(
    kind: CellKind,
    layer: &Layer<'_, W>,
    state: &mut [f32],
    x: Input<'_>,
    scratch: &mut [f32],
) {
    match kind {
        CellKind::Elman => elman::layer_step(layer, state, x, scratch),
        CellKind::Gru => gru::layer_step(layer, state, x, scratch),
        CellKind::Lstm => lstm::layer_step(layer, state, x, scratch),
    }
}
