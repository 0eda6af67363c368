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
//! File order of a layer: `W_ih` (3H×I, rows r then z then n), `W_hh` (3H×H), `b_ih` (3H),
//! `b_hh` (3H) — PyTorch's `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
//! `bias_hh_l{k}`; the output layer follows the last layer. Each gate's pre-activation is summed as
//! `(W_i· x_t + b_i·) + (W_h· h_{t-1} + b_h·)`, each dot product from index 0 up.

use super::linalg::{column_len, f, input_term, matvec};
use super::{columns, Input, Layer, Weight};
use crate::math::{sigmoid, tanh};

/// One GRU layer step: `h` (length `H`) holds `h_{t-1}` on entry and `h_t` on return;
/// `scratch` has `3·H` floats. Lengths are the caller's to check.
pub(crate) fn layer_step<W: Weight>(
    layer: &Layer<'_, W>,
    h_state: &mut [f32],
    x: Input<'_>,
    scratch: &mut [f32],
) {
    let h = h_state.len();
    // g = W_hh · h_{t-1} + b_hh, all three gates, before h changes.
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
    let (g_rz, g_n) = scratch.split_at_mut((2 * h).min(scratch.len()));
    // The activations run in loops of their own over plain slices, so that the host
    // vectorises them; the sums are the same, in the same order, as one loop per unit.
    // The host's copy adds `g + gx` where the file's layout adds `gx + g`: the same bits
    // (addition commutes), and below `r ⊙ n` is kept before `gx` is added to it.
    if W::COLUMNS {
        columns::add_input(layer, x, 0..2 * h, g_rz);
        for g in g_rz.iter_mut() {
            *g = sigmoid(*g);
        }
    } else {
        for (row, g) in g_rz.iter_mut().enumerate() {
            *g = sigmoid(gate_x(row) + *g);
        }
    }
    let (r, z) = g_rz.split_at(h.min(g_rz.len()));
    if W::COLUMNS {
        for (n, r) in g_n.iter_mut().zip(r) {
            *n *= r;
        }
        columns::add_input(layer, x, 2 * h..3 * h, g_n);
    } else {
        for (j, (n, r)) in g_n.iter_mut().zip(r).enumerate() {
            *n = gate_x(2 * h + j) + r * *n;
        }
    }
    for n in g_n.iter_mut() {
        *n = tanh(*n);
    }
    for ((h_j, z), n) in h_state.iter_mut().zip(z).zip(g_n.iter()) {
        *h_j = (1.0 - z) * n + z * *h_j;
    }
}
