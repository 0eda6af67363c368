//! Recurrent cells, forward pass only, fixed-size and heap-free; one file per kind:
//! [`elman`], [`gru`], [`lstm`]. The trainer in `rnn-train` holds the backward passes.
//!
//! Bit-for-bit reproducibility across x86-64 and every Cortex-M rests on three rules kept
//! in every cell: transcendental functions come from `libm` (never the target's own),
//! every sum runs in one fixed order, and there are no fused multiply-adds (Rust never
//! contracts `a * b + c`).

pub mod elman;
pub mod gru;
mod linalg;
pub mod lstm;

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

mod sealed {
    pub trait Sealed {}
    impl Sealed for [u8; 4] {}
    impl Sealed for f32 {}
}

/// How one weight is stored: `[u8; 4]`, the little-endian bytes of the file at any
/// alignment (what [`ElmanWeights::from_view`](crate::ElmanWeights::from_view) gives), or `f32`, for a firmware that keeps
/// the file 4-aligned and hands the same weights over as floats
/// ([`ElmanWeights::with_floats`](crate::ElmanWeights::with_floats)): one load per weight instead of a load and a move on an
/// FPU. Both give the same bits.
pub trait Weight: Copy + sealed::Sealed {
    /// The weight's value.
    fn value(&self) -> f32;
}

impl Weight for [u8; 4] {
    #[inline(always)]
    fn value(&self) -> f32 {
        f32::from_le_bytes(*self)
    }
}

impl Weight for f32 {
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

/// A cell of any kind, picked from the file's header at run time (the host tools use it;
/// a firmware usually knows its kind at build time).
#[derive(Debug, Clone, Copy)]
pub enum AnyCell<'a, W: Weight = [u8; 4]> {
    /// An Elman cell.
    Elman(elman::ElmanWeights<'a, W>),
    /// A GRU cell.
    Gru(gru::GruWeights<'a, W>),
    /// An LSTM cell.
    Lstm(lstm::LstmWeights<'a, W>),
}

impl<'a> AnyCell<'a> {
    /// The cell a parsed model holds, whatever its kind.
    pub fn from_view(view: &crate::ModelView<'a>) -> Result<Self, Error> {
        Ok(match view.header().cell {
            CellKind::Elman => AnyCell::Elman(elman::ElmanWeights::from_view(view)?),
            CellKind::Gru => AnyCell::Gru(gru::GruWeights::from_view(view)?),
            CellKind::Lstm => AnyCell::Lstm(lstm::LstmWeights::from_view(view)?),
        })
    }
}

impl<W: Weight> AnyCell<'_, W> {
    fn cell(&self) -> &dyn Cell {
        match self {
            AnyCell::Elman(c) => c,
            AnyCell::Gru(c) => c,
            AnyCell::Lstm(c) => c,
        }
    }
}

impl<W: Weight> Cell for AnyCell<'_, W> {
    fn kind(&self) -> CellKind {
        self.cell().kind()
    }
    fn input_size(&self) -> usize {
        self.cell().input_size()
    }
    fn hidden_size(&self) -> usize {
        self.cell().hidden_size()
    }
    fn output_size(&self) -> usize {
        self.cell().output_size()
    }
    fn state_len(&self) -> usize {
        self.cell().state_len()
    }
    fn scratch_len(&self) -> usize {
        self.cell().scratch_len()
    }
    fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        self.cell().step(state, x, scratch, logits)
    }
}
