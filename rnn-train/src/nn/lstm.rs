//! Long short-term memory for training: one step of one layer, forward (caching what the
//! backward pass needs) and exact backpropagation, side by side, in f32. [`crate::nn::recurrent`]
//! runs them over time, layers and directions.
//!
//! The equations of PyTorch's `nn.LSTM` and Keras's `LSTM`, the same as
//! `rnn-core/src/cell/lstm.rs`. Gate order in every tensor: **i** (input), **f** (forget),
//! **g** (cell candidate), **o** (output), each a block of `H` rows (Keras calls `g` `c`:
//! same order). A layer's state is `h` then `c` (`2H` floats).
//!
//! ```text
//! i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
//! f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
//! g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
//! o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
//! c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
//! h_t = o_t ⊙ tanh(c_t)
//! ```
//!
//! Tensors of a layer: `W_ih` (4H×I_l, rows i, f, g, o), `W_hh` (4H×H), `b_ih` (4H), `b_hh`
//! (4H); in [`super::LayerW`] they are `w_x`, `w_h`, `b_x`, `b_h`. The trainer starts the
//! forget-gate block of `b_ih` at 1 ([`crate::nn::Model::init`]).
//!
//! Backward, given `dh = ∂L/∂h_t` and `dc = ∂L/∂c_t` from `t + 1`, with `tc = tanh(c_t)`
//! cached:
//!
//! ```text
//! do = dh ⊙ tc                    dc' = dc + dh ⊙ o ⊙ (1 − tc²)
//! di = dc' ⊙ g    df = dc' ⊙ c_{t-1}    dg = dc' ⊙ i
//! d = [di ⊙ i(1 − i), df ⊙ f(1 − f), dg ⊙ (1 − g²), do ⊙ o(1 − o)]   (pre-activations)
//! dW_ih += d ⊗ x_t    db_ih += d    dW_hh += d ⊗ h_{t-1}    db_hh += d
//! dh_{t-1} = W_hhᵀ d    dc_{t-1} = dc' ⊙ f    dx_t = W_ihᵀ d
//! ```

use super::linalg::matvec;
use super::Step;
use rnn_core::math::{sigmoid, tanh};

/// Gate blocks (`rnn-core`'s fact).
const GATES: usize = rnn_core::CellKind::Lstm.gates();
/// Floats cached per unit and step: `i`, `f`, `g`, `o`, `tanh(c_t)`.
pub const CACHE: usize = 5;

/// One step: `state` (`[h | c]`) receives `(h_t, c_t)` from `s.prev` (`[h_{t-1} |
/// c_{t-1}]`) and `s.x`; `cache` (`5H`) receives `[i | f | g | o | tanh(c_t)]`.
#[inline(always)]
pub fn forward(s: &Step<'_>, state: &mut [f32], cache: &mut [f32]) {
    let Step { w, x, prev } = *s;
    let hs = state.len() / 2;
    let n_in = w.w_x.len() / (GATES * hs);
    let (h_prev, c_prev) = prev.split_at(hs);
    // Pre-activations (W_hh h_{t-1} + b_hh) + (W_ih x_t + b_ih) of the four gates, into
    // the gate slots.
    let x_part = |row: usize| x.dot_row(&w.w_x[row * n_in..(row + 1) * n_in]) + w.b_x[row];
    let gates = &mut cache[..GATES * hs];
    matvec(w.w_h, h_prev, gates);
    for (row, g) in gates.iter_mut().enumerate() {
        *g += w.b_h[row];
        *g += x_part(row);
    }
    unit_forward(c_prev, state, cache);
}

/// The units' step from the gates' pre-activations in `cache`'s gate slots (blocks i, f,
/// g, o) and `c_{t-1}`: `cache` receives `[i | f | g | o | tanh(c_t)]`, `state` `[h_t |
/// c_t]`. Shared by the per-sequence and the batched passes, so both compute the same
/// bits.
#[inline(always)]
fn unit_forward(c_prev: &[f32], state: &mut [f32], cache: &mut [f32]) {
    let hs = state.len() / 2;
    let (h, c) = state.split_at_mut(hs);
    let (gates, tc) = cache.split_at_mut(GATES * hs);
    // The activations block by block, then the cells: plain loops over slices, which
    // vectorise across the units (one unit's loop packed only its four gates); the same
    // operations per value, so the same bits.
    let (g_if, rest) = gates.split_at_mut(2 * hs);
    let (g_g, g_o) = rest.split_at_mut(hs);
    for v in g_if.iter_mut() {
        *v = sigmoid(*v);
    }
    for v in g_g.iter_mut() {
        *v = tanh(*v);
    }
    for v in g_o.iter_mut() {
        *v = sigmoid(*v);
    }
    let (g_i, g_f) = g_if.split_at(hs);
    let gates = g_i.iter().zip(g_f).zip(g_g.iter()).zip(g_o.iter());
    let cells = c_prev
        .iter()
        .zip(tc.iter_mut())
        .zip(c.iter_mut())
        .zip(h.iter_mut());
    for ((((i, f), g), o), (((c_prev, tc), c), h)) in gates.zip(cells) {
        let c_j = f * c_prev + i * g;
        let tc_j = tanh(c_j);
        *tc = tc_j;
        *c = c_j;
        *h = o * tc_j;
    }
}

// The step once the matrix products are done outside it, for one row of a minibatch
// ([`super::batched`], which multiplies the whole minibatch at once):
// `xp = W_ih x_t + b_ih` and `hp = W_hh h_{t-1} + b_hh` (gate blocks i, f, g, o) come in
// computed. Backward, for a minibatch's row and for one sequence
// ([`super::recurrent::backward`]) alike, is this part alone: `W_hhᵀ d_h`, `W_ihᵀ d_i`
// and the weight gradients summed over the steps are the driver's products.
//
//     forward:   i, f, g, o = σ, σ, tanh, σ of (xp + hp) per block
//                c_t = f ⊙ c_{t-1} + i ⊙ g    h_t = o ⊙ tanh(c_t)    cache [i | f | g | o | tanh c_t]
//     backward:  d as above; d_i = d_h = d; dc_{t-1} = dc' ⊙ f; dh_{t-1} = 0 (+ W_hhᵀ d later)

/// One row forward: `state` (`[h | c]`) from `prev` (`[h_{t-1} | c_{t-1}]`).
#[inline(always)]
pub fn forward_row(xp: &[f32], hp: &[f32], prev: &[f32], state: &mut [f32], cache: &mut [f32]) {
    let hs = state.len() / 2;
    for (g, (x, h)) in cache[..GATES * hs].iter_mut().zip(xp.iter().zip(hp)) {
        *g = x + h;
    }
    unit_forward(&prev[hs..], state, cache);
}

/// One row backward: `dstate` holds `(∂L/∂h_t, ∂L/∂c_t)` on entry and `(0, ∂L/∂c_{t-1})` on
/// return; `d_i` and `d_h` receive the pre-activation gradients.
#[inline(always)]
pub fn backward_row(
    prev: &[f32],
    _state: &[f32],
    cache: &[f32],
    dstate: &mut [f32],
    d_i: &mut [f32],
    d_h: &mut [f32],
) {
    unit_backward(&prev[dstate.len() / 2..], cache, dstate, d_i);
    d_h.copy_from_slice(d_i);
}

/// The units' part of the backward step: from `(∂L/∂h_t, ∂L/∂c_t)` in `dstate` to the
/// gates' pre-activation gradients `d` (blocks i, f, g, o), leaving `(0, ∂L/∂c_{t-1})` in
/// `dstate`.
#[inline(always)]
fn unit_backward(c_prev: &[f32], cache: &[f32], dstate: &mut [f32], d: &mut [f32]) {
    let hs = dstate.len() / 2;
    let (gates, tc) = cache.split_at(GATES * hs);
    let (dh, dc) = dstate.split_at_mut(hs);
    for j in 0..hs {
        let (i, f, gg, o) = (
            gates[j],
            gates[hs + j],
            gates[2 * hs + j],
            gates[3 * hs + j],
        );
        let tc = tc[j];
        let d_o = dh[j] * tc;
        let dcell = dc[j] + dh[j] * o * (1.0 - tc * tc);
        d[j] = dcell * gg * (i * (1.0 - i));
        d[hs + j] = dcell * c_prev[j] * (f * (1.0 - f));
        d[2 * hs + j] = dcell * i * (1.0 - gg * gg);
        d[3 * hs + j] = d_o * (o * (1.0 - o));
        dc[j] = dcell * f;
        dh[j] = 0.0;
    }
}
