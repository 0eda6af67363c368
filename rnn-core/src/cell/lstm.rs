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
//! File order of a layer: `W_ih` (4H×I, rows i, f, g, o), `W_hh` (4H×H), `b_ih` (4H),
//! `b_hh` (4H); the output layer follows the last layer. A layer's state is `h` then `c`,
//! `2·H` floats. Each gate's
//! pre-activation is summed as `(W_i· x_t + b_i·) + (W_h· h_{t-1} + b_h·)`.

use super::linalg::{column_len, f, input_term, matvec};
use super::{columns, Input, Layer, Weight};
use crate::math::{sigmoid, tanh};

/// One LSTM layer step: `state` (length `2·H`) holds `h_{t-1}, c_{t-1}` on entry and
/// `h_t, c_t` on return; `scratch` has `4·H` floats. Lengths are the caller's to check.
pub(crate) fn layer_step<W: Weight>(
    layer: &Layer<'_, W>,
    state: &mut [f32],
    x: Input<'_>,
    scratch: &mut [f32],
) {
    let h = state.len() / 2;
    let (h_state, c_state) = state.split_at_mut(h);
    // g = W_hh · h_{t-1} + b_hh, all four gates, before h changes.
    if W::COLUMNS {
        columns::matvec_plus(layer.w_h, h, h_state, scratch, [layer.b_h], None);
    } else {
        matvec(layer.w_h, h, h_state, scratch, |g, acc| {
            acc + layer.b_h.get(g).map_or(0.0, f)
        });
    }
    let p = column_len(layer.w_x, layer.n_in);
    let gate_x = |row: usize| {
        input_term(layer.w_x, layer.n_in, p, row, x) + layer.b_x.get(row).map_or(0.0, f)
    };
    if W::COLUMNS {
        columns::add_input(layer, x, 0..scratch.len(), scratch);
    } else {
        for (row, g) in scratch.iter_mut().enumerate() {
            *g += gate_x(row);
        }
    }
    // The activations run in loops of their own over plain slices, so that the host
    // vectorises them; the sums are the same, in the same order, as one loop per unit.
    let (g_if, rest) = scratch.split_at_mut((2 * h).min(scratch.len()));
    let (g_g, g_o) = rest.split_at_mut(h.min(rest.len()));
    for g in g_if.iter_mut() {
        *g = sigmoid(*g);
    }
    for g in g_g.iter_mut() {
        *g = tanh(*g);
    }
    for g in g_o.iter_mut() {
        *g = sigmoid(*g);
    }
    let (g_i, g_f) = g_if.split_at(h.min(g_if.len()));
    let gates = g_i.iter().zip(g_f).zip(g_g.iter());
    for (c_j, ((i, f_gate), g)) in c_state.iter_mut().zip(gates) {
        *c_j = f_gate * *c_j + i * g;
    }
    for ((h_j, c_j), o) in h_state.iter_mut().zip(c_state.iter()).zip(g_o.iter()) {
        *h_j = o * tanh(*c_j);
    }
}
