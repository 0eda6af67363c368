//! Long short-term memory, forward only. Gate order in every tensor, as in PyTorch:
//! i (input), f (forget), g (cell candidate), o (output). (Keras orders them i, f, c, o:
//! the same order, with `c` for `g`.)
//!
//! ```text
//! i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
//! f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
//! g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
//! o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
//! c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
//! h_t = o_t ⊙ tanh(c_t)
//! y_t = softmax(W_ya h_t + b_y)
//! ```
//!
//! File order: `W_ih` (4H×I, rows i, f, g, o), `W_hh` (4H×H), `b_ih` (4H), `b_hh` (4H),
//! `W_ya` (O×H), `b_y` (O). The state is `h` then `c`, `2·H` floats. Each gate's
//! pre-activation is summed as `(W_i· x_t + b_i·) + (W_h· h_{t-1} + b_h·)`.

use super::linalg::{
    check_floats, check_input, check_len, f, input_term, matvec, sigmoid, sizes, take,
};
use super::{Cell, Input, Weight};
use crate::error::{Dim, Error};
use crate::format::{CellKind, ModelView};

/// The LSTM weights of a model, borrowed from the file, with sizes known at run time. The
/// state is `h` then `c` (length `2·H`); a step needs `4·H` floats of scratch.
#[derive(Debug, Clone, Copy)]
pub struct LstmWeights<'a, W: Weight = [u8; 4]> {
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
) -> Result<LstmWeights<'_, W>, Error> {
    Ok(LstmWeights {
        input: i,
        hidden: h,
        output: o,
        w_ih: take(&mut rest, 4 * h * i)?,
        w_hh: take(&mut rest, 4 * h * h)?,
        b_ih: take(&mut rest, 4 * h)?,
        b_hh: take(&mut rest, 4 * h)?,
        w_ya: take(&mut rest, o * h)?,
        b_y: take(&mut rest, o)?,
    })
}

impl<'a> LstmWeights<'a> {
    /// The LSTM weights of a parsed model, or [`Error::WrongCellKind`].
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Lstm)?;
        split(view.weight_bytes().as_chunks::<4>().0, sizes)
    }
}

impl<'a> LstmWeights<'a, f32> {
    /// Like [`LstmWeights::from_view`], reading the weights from `floats`, which must equal
    /// the file's bit for bit (see [`crate::ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Lstm)?;
        check_floats(view, floats)?;
        split(floats, sizes)
    }
}

impl<W: Weight> Cell for LstmWeights<'_, W> {
    fn kind(&self) -> CellKind {
        CellKind::Lstm
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
        2 * self.hidden
    }
    fn scratch_len(&self) -> usize {
        4 * self.hidden
    }

    fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        let (ni, h) = (self.input, self.hidden);
        check_len(Dim::Hidden, 2 * h, state.len())?;
        check_len(Dim::Hidden, 4 * h, scratch.len())?;
        check_len(Dim::Output, self.output, logits.len())?;
        check_input(x, ni)?;
        let (h_state, c_state) = state.split_at_mut(h);

        // g = W_hh · h_{t-1} + b_hh, all four gates, before h changes.
        matvec(self.w_hh, h, h_state, scratch, |g, acc| {
            acc + self.b_hh.get(g).map_or(0.0, f)
        });
        let (g_i, rest) = scratch.split_at(h);
        let (g_f, rest) = rest.split_at(h);
        let (g_g, g_o) = rest.split_at(h);
        let gate_x =
            |row: usize| input_term(self.w_ih, ni, row, x) + self.b_ih.get(row).map_or(0.0, f);
        let units = h_state.iter_mut().zip(c_state.iter_mut());
        for (j, ((h_j, c_j), (((g_i, g_f), g_g), g_o))) in
            units.zip(g_i.iter().zip(g_f).zip(g_g).zip(g_o)).enumerate()
        {
            let i = sigmoid(gate_x(j) + g_i);
            let f_gate = sigmoid(gate_x(h + j) + g_f);
            let g = libm::tanhf(gate_x(2 * h + j) + g_g);
            let o = sigmoid(gate_x(3 * h + j) + g_o);
            *c_j = f_gate * *c_j + i * g;
            *h_j = o * libm::tanhf(*c_j);
        }

        // logits = W_ya · h_t + b_y
        matvec(self.w_ya, h, h_state, logits, |k, acc| {
            acc + self.b_y.get(k).map_or(0.0, f)
        });
        Ok(())
    }
}
