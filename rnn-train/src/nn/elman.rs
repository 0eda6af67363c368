//! The Elman cell for training: one step of one layer, forward and exact backpropagation,
//! side by side, in f32. [`crate::nn::recurrent`] runs them over time, layers and
//! directions.
//!
//! ```text
//! z_t = W_aa · a_{t-1} + W_ax · x_t + b_a        a_t = tanh(z_t)
//! ```
//!
//! `x_t` is one-hot (token `k` selects column `k` of `W_ax`), the zero vector (the first
//! step of a name), a dense vector, or the states of the layer below. The loops are plain
//! slices of f32 written so that LLVM vectorises them; no fused multiply-adds and no
//! reordered sums, so every build gives the same bits.

use super::linalg::matvec;
use super::Step;
use rnn_core::math::tanh;

/// Floats [`forward`] caches per unit and step (none: `a_t` is the state).
pub const CACHE: usize = 0;

/// One step of one Elman layer in a stack: `a = tanh(W_aa a_prev + W_ax x + b_a)`, summed
/// in rnn-core's order `((W_aa[i] · a_prev) + W_ax[i] · x) + b_a[i]`. `w.w_x` is `W_ax`,
/// `w.w_h` `W_aa`, `w.b_x` `b_a`.
#[inline(always)]
pub fn forward(s: &Step<'_>, a: &mut [f32], _cache: &mut [f32]) {
    let Step { w, x, prev: a_prev } = *s;
    let h = a.len();
    let n_in = w.w_x.len() / h;
    matvec(w.w_h, a_prev, a);
    for (i, z) in a.iter_mut().enumerate() {
        *z = (*z + x.dot_row(&w.w_x[i * n_in..(i + 1) * n_in])) + w.b_x[i];
    }
    // A loop of its own, so that tanh runs over whole vectors.
    for z in a.iter_mut() {
        *z = tanh(*z);
    }
}

// The step once the matrix products are done outside it, for one row of a minibatch
// ([`super::batched`], which multiplies the whole minibatch at once): `xp = W_ax x_t + b_a`
// and `hp = W_aa a_{t-1}` come in computed. Backward, both for a minibatch's row and for
// one sequence ([`super::recurrent::backward`]), is this part alone: the products
// (`W_aaᵀ dz` into `da_prev`, `W_axᵀ dz` into a lower layer, and the weight gradients
// summed over the steps) are the driver's.
//
//     forward:   a = tanh(xp + hp)
//     backward:  dz = da ⊙ (1 - a²)    d_i = d_h = dz    da_prev = 0 (+ W_aaᵀ dz)
//     products:  dW_aa += Σ_t dz ⊗ a_{t-1}    dW_ax += Σ_t dz ⊗ x_t    db_a += Σ_t dz

/// One row forward: `a = tanh(xp + hp)`.
#[inline(always)]
pub fn forward_row(xp: &[f32], hp: &[f32], _prev: &[f32], a: &mut [f32], _cache: &mut [f32]) {
    for ((a, &x), &h) in a.iter_mut().zip(xp).zip(hp) {
        *a = tanh(x + h);
    }
}

/// One row backward (given its output `a`): `da` holds `∂L/∂a_t` on entry and zero on
/// return; `d_i` and `d_h` receive `dz`.
#[inline(always)]
pub fn backward_row(
    _prev: &[f32],
    a: &[f32],
    _cache: &[f32],
    da: &mut [f32],
    d_i: &mut [f32],
    d_h: &mut [f32],
) {
    for (((da, &a), di), dh) in da.iter_mut().zip(a).zip(d_i.iter_mut()).zip(d_h.iter_mut()) {
        let dz = *da * (1.0 - a * a);
        *di = dz;
        *dh = dz;
        *da = 0.0;
    }
}
