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

use super::linalg::{f, input_term, matvec, sigmoid};
use super::{Input, Layer, Weight};

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
    matvec(layer.w_h, h, h_state, scratch, |g, acc| {
        acc + layer.b_h.get(g).map_or(0.0, f)
    });
    let (g_r, rest) = scratch.split_at(h.min(scratch.len()));
    let (g_z, g_n) = rest.split_at(h.min(rest.len()));
    let gate_x =
        |row: usize| input_term(layer.w_x, layer.n_in, row, x) + layer.b_x.get(row).map_or(0.0, f);
    let units = h_state.iter_mut().zip(g_r).zip(g_z).zip(g_n).enumerate();
    for (j, (((h_j, g_r), g_z), g_n)) in units {
        let r = sigmoid(gate_x(j) + g_r);
        let z = sigmoid(gate_x(h + j) + g_z);
        let n = libm::tanhf(gate_x(2 * h + j) + r * g_n);
        *h_j = (1.0 - z) * n + z * *h_j;
    }
}
