//! The gated recurrent unit, forward only, with PyTorch's equations (Keras's GRU with
//! `reset_after=True`). Gate order in every tensor: r (reset), z (update), n (new).
//!
//! ```text
//! r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//! z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//! n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
//! h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//! y_t = softmax(W_ya h_t + b_y)
//! ```
//!
//! File order: `W_ih` (3H×I, rows r then z then n), `W_hh` (3H×H), `b_ih` (3H), `b_hh` (3H),
//! `W_ya` (O×H), `b_y` (O) — PyTorch's `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
//! `bias_hh_l0`, then the output layer. Each gate's pre-activation is summed as
//! `(W_i· x_t + b_i·) + (W_h· h_{t-1} + b_h·)`, each dot product from index 0 up.

use super::linalg::{
    check_floats, check_input, check_len, f, input_term, matvec, sigmoid, sizes, take,
};
use super::{Cell, Input, Weight};
use crate::error::{Dim, Error};
use crate::format::{CellKind, ModelView};

/// The GRU weights of a model, borrowed from the file, with sizes known at run time. The
/// state is `h` (length `H`); a step needs `3·H` floats of scratch.
#[derive(Debug, Clone, Copy)]
pub struct GruWeights<'a, W: Weight = [u8; 4]> {
    input: usize,
    hidden: usize,
    output: usize,
    w_ih: &'a [W],
    w_hh: &'a [W],
    b_ih: &'a [W],
    b_hh: &'a [W],
    w_ya: &'a [W],
    b_y: &'a [W],
}

fn split<W: Weight>(
    mut rest: &[W],
    (i, h, o): (usize, usize, usize),
) -> Result<GruWeights<'_, W>, Error> {
    Ok(GruWeights {
        input: i,
        hidden: h,
        output: o,
        w_ih: take(&mut rest, 3 * h * i)?,
        w_hh: take(&mut rest, 3 * h * h)?,
        b_ih: take(&mut rest, 3 * h)?,
        b_hh: take(&mut rest, 3 * h)?,
        w_ya: take(&mut rest, o * h)?,
        b_y: take(&mut rest, o)?,
    })
}

impl<'a> GruWeights<'a> {
    /// The GRU weights of a parsed model, or [`Error::WrongCellKind`].
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Gru)?;
        split(view.weight_bytes().as_chunks::<4>().0, sizes)
    }
}

impl<'a> GruWeights<'a, f32> {
    /// Like [`GruWeights::from_view`], reading the weights from `floats`, which must equal
    /// the file's bit for bit (see [`crate::ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Gru)?;
        check_floats(view, floats)?;
        split(floats, sizes)
    }
}

impl<W: Weight> Cell for GruWeights<'_, W> {
    fn kind(&self) -> CellKind {
        CellKind::Gru
    }
    fn input_size(&self) -> usize {
        self.input
    }
    fn hidden_size(&self) -> usize {
        self.hidden
    }
    fn output_size(&self) -> usize {
        self.output
    }
    fn state_len(&self) -> usize {
        self.hidden
    }
    fn scratch_len(&self) -> usize {
        3 * self.hidden
    }

    fn step(
        &self,
        h_state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        let (ni, h) = (self.input, self.hidden);
        check_len(Dim::Hidden, h, h_state.len())?;
        check_len(Dim::Hidden, 3 * h, scratch.len())?;
        check_len(Dim::Output, self.output, logits.len())?;
        check_input(x, ni)?;

        // g = W_hh · h_{t-1} + b_hh, all three gates, before h changes.
        matvec(self.w_hh, h, h_state, scratch, |g, acc| {
            acc + self.b_hh.get(g).map_or(0.0, f)
        });
        let (g_r, rest) = scratch.split_at(h);
        let (g_z, g_n) = rest.split_at(h);
        let gate_x =
            |row: usize| input_term(self.w_ih, ni, row, x) + self.b_ih.get(row).map_or(0.0, f);
        for (j, (((h_j, g_r), g_z), g_n)) in
            h_state.iter_mut().zip(g_r).zip(g_z).zip(g_n).enumerate()
        {
            let r = sigmoid(gate_x(j) + g_r);
            let z = sigmoid(gate_x(h + j) + g_z);
            let n = libm::tanhf(gate_x(2 * h + j) + r * g_n);
            *h_j = (1.0 - z) * n + z * *h_j;
        }

        // logits = W_ya · h_t + b_y
        matvec(self.w_ya, h, h_state, logits, |k, acc| {
            acc + self.b_y.get(k).map_or(0.0, f)
        });
        Ok(())
    }
}
