//! The output layer and its loss for one prediction, forward and backward side by side:
//! softmax cross-entropy (next symbol, classes, tags) and mean squared error (regression).
//!
//! ```text
//! l = W_ya · z + b_y                p = softmax(l)             L = -ln p[y]
//! dl = s · (p - onehot(y))          dW_ya += dl ⊗ z    db_y += dl    dz += W_yaᵀ · dl
//! ```
//!
//! `z` is what the output layer reads (the top layer's output at a step, or the final
//! states of both directions) and `s` the loss's weight in the minibatch.

use super::linalg::{axpy, dot, matvec};
use rnn_core::math::exp;

/// `p = softmax(W_ya z + b_y)`; returns `-ln p[target]`, computed from the logits
/// (`ln Σ exp(l - max) - (l[y] - max)`), so a confident wrong answer costs no `ln 0`.
#[inline(always)]
pub fn softmax_ce_forward(
    w_ya: &[f32],
    b_y: &[f32],
    z: &[f32],
    p: &mut [f32],
    target: usize,
) -> f32 {
    matvec(w_ya, z, p);
    let mut max = f32::NEG_INFINITY;
    for (l, &b) in p.iter_mut().zip(b_y) {
        *l += b;
        max = if *l > max { *l } else { max };
    }
    let target_logit = p[target] - max;
    // The exponentials in a loop of their own, which vectorises; the sum after it, in
    // the same order.
    for l in p.iter_mut() {
        *l = exp(*l - max);
    }
    let mut total = 0.0f32;
    for &l in p.iter() {
        total += l;
    }
    let inv = 1.0 / total;
    for l in p.iter_mut() {
        *l *= inv;
    }
    total.ln() - target_logit
}

/// Backward through [`softmax_ce_forward`]: `p` (the probabilities) becomes `dl`; the
/// gradients of `W_ya` and `b_y` are added into `g_w`, `g_b`, and `W_yaᵀ dl` into `dz`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn softmax_ce_backward(
    w_ya: &[f32],
    z: &[f32],
    p: &mut [f32],
    target: usize,
    scale: f32,
    g_w: &mut [f32],
    g_b: &mut [f32],
    dz: &mut [f32],
) {
    let n = z.len();
    p[target] -= 1.0;
    for (k, d) in p.iter_mut().enumerate() {
        *d *= scale;
        axpy(*d, z, &mut g_w[k * n..(k + 1) * n]);
        g_b[k] += *d;
        axpy(*d, &w_ya[k * n..(k + 1) * n], dz);
    }
}

// Regression: the output layer's values against real targets, mean squared error over the
// `O` targets of one step (the targets normalised by the training set's statistics).
//
//     v = W_ya · z + b_y            L = (1/O) Σ_k (v_k - y_k)²
//     dv = s · (2/O) (v - y)        dW_ya += dv ⊗ z    db_y += dv    dz += W_yaᵀ · dv

/// `v = W_ya z + b_y` into `v`; returns the step's mean squared error against `y`.
#[inline(always)]
pub fn mse_forward(w_ya: &[f32], b_y: &[f32], z: &[f32], v: &mut [f32], y: &[f32]) -> f32 {
    let n = z.len();
    let mut total = 0.0f32;
    for (k, (v, y)) in v.iter_mut().zip(y).enumerate() {
        *v = dot(&w_ya[k * n..(k + 1) * n], z) + b_y[k];
        total += (*v - y) * (*v - y);
    }
    total / y.len().max(1) as f32
}

// The same two losses for a row of logits (or values) that a matrix product already
// computed, as the batched passes ([`super::batched`]) use them:
//
//     p = softmax(l)    L = -ln p[y]           dl = s · (p - onehot(y))
//     L = (1/O) Σ_k (v_k - y_k)²               dv = s · (2/O) (v - y)

/// `l` (logits) becomes `softmax(l)`; returns `-ln p[target]`, from the logits as
/// [`softmax_ce_forward`] does.
#[inline(always)]
pub fn softmax_ce_row(l: &mut [f32], target: usize) -> f32 {
    let mut max = f32::NEG_INFINITY;
    for &v in l.iter() {
        max = if v > max { v } else { max };
    }
    let target_logit = l[target] - max;
    // The exponentials in a loop of their own, which vectorises; the sum after it, in
    // the same order.
    for v in l.iter_mut() {
        *v = exp(*v - max);
    }
    let mut total = 0.0f32;
    for &v in l.iter() {
        total += v;
    }
    let inv = 1.0 / total;
    for v in l.iter_mut() {
        *v *= inv;
    }
    total.ln() - target_logit
}

/// Backward through [`softmax_ce_row`]: `p` becomes `dl`.
#[inline(always)]
pub fn softmax_ce_row_backward(p: &mut [f32], target: usize, scale: f32) {
    p[target] -= 1.0;
    for d in p.iter_mut() {
        *d *= scale;
    }
}

/// The mean squared error of the values `v` against `y`.
#[inline(always)]
pub fn mse_row(v: &[f32], y: &[f32]) -> f32 {
    let mut total = 0.0f32;
    for (v, y) in v.iter().zip(y) {
        total += (v - y) * (v - y);
    }
    total / y.len().max(1) as f32
}

/// Backward through [`mse_row`]: `v` becomes `dv`.
#[inline(always)]
pub fn mse_row_backward(v: &mut [f32], y: &[f32], scale: f32) {
    let factor = scale * 2.0 / y.len().max(1) as f32;
    for (d, y) in v.iter_mut().zip(y) {
        *d = factor * (*d - y);
    }
}
