//! The gated recurrent unit for training: one step of one layer, forward (caching what the
//! backward pass needs) and exact backpropagation, side by side, in f32. [`crate::nn::recurrent`]
//! runs them over time, layers and directions.
//!
//! PyTorch's equations (`nn.GRU`; Keras's `GRU` with `reset_after=True`), the same as
//! `rnn-core/src/cell/gru.rs`. Gate order in every tensor: **r** (reset), **z** (update),
//! **n** (new), each a block of `H` rows.
//!
//! ```text
//! r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
//! z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
//! n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
//! h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//! ```
//!
//! Tensors of a layer: `W_ih` (3H×I_l, rows r, z, n), `W_hh` (3H×H), `b_ih` (3H), `b_hh`
//! (3H); in [`super::LayerW`] they are `w_x`, `w_h`, `b_x`, `b_h`.
//!
//! Backward, given `dh = ∂L/∂h_t` (from the output layer or the layer above, plus the
//! recurrence from `t + 1`), with `hn = W_hn h_{t-1} + b_hn` cached:
//!
//! ```text
//! dn  = dh ⊙ (1 − z)            dz = dh ⊙ (h_{t-1} − n)
//! dan = dn ⊙ (1 − n²)            (pre-activation of n)
//! dar = dan ⊙ hn ⊙ r (1 − r)     daz = dz ⊙ z (1 − z)
//! input gates      d_i = [dar, daz, dan]        recurrent gates d_h = [dar, daz, dan ⊙ r]
//! dW_ih += d_i ⊗ x_t    db_ih += d_i    dW_hh += d_h ⊗ h_{t-1}    db_hh += d_h
//! dh_{t-1} = dh ⊙ z + W_hhᵀ d_h         dx_t = W_ihᵀ d_i
//! ```

use super::linalg::matvec;
use super::Step;
use rnn_core::math::{sigmoid, tanh};

/// Gate blocks (`rnn-core`'s fact).
const GATES: usize = rnn_core::CellKind::Gru.gates();
/// Floats cached per unit and step: `r`, `z`, `n`, `hn`.
pub const CACHE: usize = 4;

/// One step: `h` receives `h_t` from `s.prev` (`h_{t-1}`) and `s.x`; `cache` (`4H`) receives
/// `[r | z | n | hn]`.
#[inline(always)]
pub fn forward(s: &Step<'_>, h: &mut [f32], cache: &mut [f32]) {
    let Step { w, x, prev: h_prev } = *s;
    let hs = h.len();
    let n_in = w.w_x.len() / (GATES * hs);
    // Recurrent parts W_hh h_{t-1} + b_hh of the three gates, into the r, z and hn slots.
    let (rzn, hn) = cache.split_at_mut(3 * hs);
    let (w_rz, w_n) = w.w_h.split_at(2 * hs * hs);
    matvec(w_rz, h_prev, &mut rzn[..2 * hs]);
    matvec(w_n, h_prev, hn);
    for (v, &b) in rzn[..2 * hs].iter_mut().chain(hn.iter_mut()).zip(w.b_h) {
        *v += b;
    }
    let x_part = |row: usize| x.dot_row(&w.w_x[row * n_in..(row + 1) * n_in]) + w.b_x[row];
    let (rz, n) = rzn.split_at_mut(2 * hs);
    for (row, a) in rz.iter_mut().enumerate() {
        *a += x_part(row);
    }
    for (row, a) in n.iter_mut().enumerate() {
        *a = x_part(2 * hs + row);
    }
    units_forward(rzn, hn, h_prev, h);
}

/// The units' step from the pre-activations `a_r`, `a_z` and `W_in x_t + b_in` in `rzn`'s
/// blocks and `hn = W_hn h_{t-1} + b_hn`: `rzn` receives `[r | z | n]`, `h` receives `h_t`.
/// Shared by the per-sequence and the batched passes, so both compute the same bits; each
/// equation a loop of its own over whole blocks, which vectorises across the units.
#[inline(always)]
fn units_forward(rzn: &mut [f32], hn: &[f32], h_prev: &[f32], h: &mut [f32]) {
    let hs = h.len();
    let (rz, n) = rzn.split_at_mut(2 * hs);
    for v in rz.iter_mut() {
        *v = sigmoid(*v);
    }
    let (r, z) = rz.split_at(hs);
    for ((n, r), hn) in n.iter_mut().zip(r).zip(hn) {
        *n = tanh(*n + r * hn);
    }
    for (((h, z), n), h_prev) in h.iter_mut().zip(z).zip(n.iter()).zip(h_prev) {
        *h = (1.0 - z) * n + z * h_prev;
    }
}

// The step once the matrix products are done outside it, for one row of a minibatch
// ([`super::batched`], which multiplies the whole minibatch at once):
// `xp = W_ih x_t + b_ih` and `hp = W_hh h_{t-1} + b_hh` (gate blocks r, z, n) come in
// computed. Backward, for a minibatch's row and for one sequence
// ([`super::recurrent::backward`]) alike, is this part alone: `W_hhᵀ d_h`, `W_ihᵀ d_i`
// and the weight gradients summed over the steps are the driver's products.
//
//     forward:   r = σ(xp_r + hp_r)   z = σ(xp_z + hp_z)   n = tanh(xp_n + r ⊙ hp_n)
//                h = (1 − z) ⊙ n + z ⊙ h_{t-1}             cache [r | z | n | hp_n]
//     backward:  as above: d_i = [dar, daz, dan], d_h = [dar, daz, dan ⊙ r],
//                dh_{t-1} = dh ⊙ z (+ W_hhᵀ d_h later)

/// One row forward.
#[inline(always)]
pub fn forward_row(xp: &[f32], hp: &[f32], h_prev: &[f32], h: &mut [f32], cache: &mut [f32]) {
    let hs = h.len();
    let (rzn, hn) = cache.split_at_mut(3 * hs);
    let (rz, n) = rzn.split_at_mut(2 * hs);
    for ((a, x), h) in rz.iter_mut().zip(xp).zip(hp) {
        *a = x + h;
    }
    n.copy_from_slice(&xp[2 * hs..3 * hs]);
    hn.copy_from_slice(&hp[2 * hs..3 * hs]);
    units_forward(rzn, hn, h_prev, h);
}

/// One row backward: `dh` holds `∂L/∂h_t` on entry and `dh ⊙ z` on return (also the
/// per-unit part of the batched pass, and what the per-sequence BPTT of
/// [`super::recurrent::backward`] calls).
#[inline(always)]
pub fn backward_row(
    h_prev: &[f32],
    _h: &[f32],
    cache: &[f32],
    dh: &mut [f32],
    d_i: &mut [f32],
    d_h: &mut [f32],
) {
    let hs = dh.len();
    let (r, rest) = cache.split_at(hs);
    let (z, rest) = rest.split_at(hs);
    let (n, hn) = rest.split_at(hs);
    for j in 0..hs {
        let (r, z, n) = (r[j], z[j], n[j]);
        let dn = dh[j] * (1.0 - z);
        let dz = dh[j] * (h_prev[j] - n);
        let dan = dn * (1.0 - n * n);
        let dar = dan * hn[j] * (r * (1.0 - r));
        let daz = dz * (z * (1.0 - z));
        d_i[j] = dar;
        d_i[hs + j] = daz;
        d_i[2 * hs + j] = dan;
        d_h[j] = dar;
        d_h[hs + j] = daz;
        d_h[2 * hs + j] = dan * r;
        dh[j] *= z;
    }
}
