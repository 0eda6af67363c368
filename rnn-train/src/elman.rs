//! The Elman cell for training: forward pass with cached activations and exact
//! backpropagation through time, side by side, in f32.
//!
//! ```text
//! z_t = W_aa · a_{t-1} + W_ax · x_t + b_a        a_t = tanh(z_t)
//! l_t = W_ya · a_t + b_y                          p_t = softmax(l_t)
//! L   = s · Σ_t -ln p_t[y_t]                      (s = 1/T for --reduction mean, 1 for sum,
//!                                                  further divided by the batch size)
//! ```
//!
//! `x_t` is one-hot (token `k` selects column `k` of `W_ax`) or the zero vector ([`START`]).
//! [`forward`] and [`backward`] are the one-layer network, the fast path; [`layer_forward`]
//! and [`layer_backward`] are one step of one layer, for stacks ([`crate::stack`]), where a
//! layer above the first reads the hidden state of the one below as a dense `x_t`.
//! Everything here is allocation-free: the caller owns a [`Workspace`] sized once for the
//! longest sequence. The hot loops are plain slices of f32 written so that LLVM vectorises
//! them; [`multiversion`] compiles them again for AVX/AVX2 and picks one at run time. No
//! fused multiply-adds and no reordered sums are used, so every version gives the same bits.

use multiversion::multiversion;

use crate::data::START;
use crate::fastmath::{exp, tanh};
use crate::linalg::LayerInput;
use crate::linalg::{axpy, dot};
use crate::model::{Dims, LayerW, LayerWMut, Tensors, TensorsMut};

/// Activations cached by the forward pass and buffers for the backward pass.
#[derive(Clone, Debug)]
pub struct Workspace {
    dims: Dims,
    capacity: usize,
    /// `a_{-1}, a_0, .., a_{T-1}`: row `t + 1` is `a_t`, row 0 the initial state.
    a: Vec<f32>,
    /// `p_t`, the softmax output of each step.
    p: Vec<f32>,
    da: Vec<f32>,
    da_next: Vec<f32>,
    dz: Vec<f32>,
}

impl Workspace {
    pub fn new(dims: Dims, capacity: usize) -> Self {
        let (h, o) = (dims.hidden, dims.output);
        Workspace {
            dims,
            capacity,
            a: vec![0.0; (capacity + 1) * h],
            p: vec![0.0; capacity * o],
            da: vec![0.0; h],
            da_next: vec![0.0; h],
            dz: vec![0.0; h],
        }
    }

    /// The longest sequence this workspace holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The hidden state after the last step of the latest forward pass of length `t_len`.
    pub fn final_state(&self, t_len: usize) -> &[f32] {
        let h = self.dims.hidden;
        &self.a[t_len * h..(t_len + 1) * h]
    }

    /// `a_t` of the latest forward pass (`t` counts from 0).
    pub fn state(&self, t: usize) -> &[f32] {
        self.final_state(t + 1)
    }

    /// `p_t` of the latest forward pass.
    pub fn probs(&self, t: usize) -> &[f32] {
        let o = self.dims.output;
        &self.p[t * o..(t + 1) * o]
    }
}

/// Forward pass over one sequence, caching every `a_t` and `p_t` in `ws`; returns
/// `Σ_t -ln p_t[y_t]` (the unscaled loss, in nats).
///
/// ```text
/// z_t[i] = (W_aa[i] · a_{t-1} + W_ax[i, x_t]) + b_a[i]     (rnn-core's order of the sum)
/// a_t    = tanh(z_t)
/// l_t[k] = W_ya[k] · a_t + b_y[k]
/// p_t    = exp(l_t - max l_t) / Σ exp(l_t - max l_t)
/// -ln p_t[y] = ln Σ exp(l_t - max l_t) - (l_t[y] - max l_t)
/// ```
///
/// `a0` is the initial state (zero for a name; the previous window's last state in stream
/// mode). `inputs` and `targets` have the same length, at most the workspace capacity.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn forward<'w>(
    w: &Tensors<'w>,
    inputs: &[u32],
    targets: &[u32],
    a0: &[f32],
    ws: &mut Workspace,
) -> f32 {
    let Dims {
        input: ni,
        hidden: h,
        output: o,
    } = ws.dims;
    let t_len = inputs.len().min(targets.len()).min(ws.capacity);
    ws.a[..h].copy_from_slice(&a0[..h]);
    let mut loss = 0.0f32;
    for t in 0..t_len {
        let (past, future) = ws.a.split_at_mut((t + 1) * h);
        let a_prev = &past[t * h..];
        let a_t = &mut future[..h];
        let x = inputs[t];
        for (i, z) in a_t.iter_mut().enumerate() {
            let mut acc = dot(&w.w_aa[i * h..(i + 1) * h], a_prev);
            if x != START {
                acc += w.w_ax[i * ni + x as usize];
            }
            *z = acc + w.b_a[i];
        }
        for z in a_t.iter_mut() {
            *z = tanh(*z);
        }
        let p = &mut ws.p[t * o..(t + 1) * o];
        let mut max = f32::NEG_INFINITY;
        for (k, l) in p.iter_mut().enumerate() {
            *l = dot(&w.w_ya[k * h..(k + 1) * h], a_t) + w.b_y[k];
            max = if *l > max { *l } else { max };
        }
        let target_logit = p[targets[t] as usize] - max;
        let mut total = 0.0f32;
        for l in p.iter_mut() {
            *l = exp(*l - max);
            total += *l;
        }
        let inv = 1.0 / total;
        for l in p.iter_mut() {
            *l *= inv;
        }
        loss += total.ln() - target_logit;
    }
    loss
}

/// Backward pass through the sequence of the latest [`forward`], adding `scale · ∂L/∂θ` to
/// `g` (so per-sequence gradients of a minibatch can be summed in a fixed order). Gradient
/// does not flow into the initial state: in stream mode this is the truncation of BPTT.
///
/// ```text
/// dl_t   = s · (p_t - onehot(y_t))                         softmax + cross-entropy
/// dW_ya += dl_t ⊗ a_t            db_y += dl_t
/// da_t   = W_yaᵀ · dl_t + W_aaᵀ · dz_{t+1}                 (dz_T = 0)
/// dz_t   = da_t ⊙ (1 - a_t²)                               tanh' from the cached a_t
/// dW_aa += dz_t ⊗ a_{t-1}        dW_ax[:, x_t] += dz_t     db_a += dz_t
/// ```
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn backward<'w, 'g>(
    w: &Tensors<'w>,
    inputs: &[u32],
    targets: &[u32],
    scale: f32,
    ws: &mut Workspace,
    g: &mut TensorsMut<'g>,
) {
    let Dims {
        input: ni,
        hidden: h,
        output: o,
    } = ws.dims;
    let t_len = inputs.len().min(targets.len()).min(ws.capacity);
    let Workspace {
        a,
        p,
        da,
        da_next,
        dz,
        ..
    } = ws;
    da_next.fill(0.0);
    for t in (0..t_len).rev() {
        let a_prev = &a[t * h..(t + 1) * h];
        let a_t = &a[(t + 1) * h..(t + 2) * h];
        // dl_t in place of p_t: the probabilities are not needed again.
        let dl = &mut p[t * o..(t + 1) * o];
        dl[targets[t] as usize] -= 1.0;
        for d in dl.iter_mut() {
            *d *= scale;
        }
        da.copy_from_slice(da_next);
        for (k, &d) in dl.iter().enumerate() {
            axpy(d, a_t, &mut g.w_ya[k * h..(k + 1) * h]);
            g.b_y[k] += d;
            axpy(d, &w.w_ya[k * h..(k + 1) * h], da);
        }
        for ((dz, &da), &a) in dz.iter_mut().zip(da.iter()).zip(a_t) {
            *dz = da * (1.0 - a * a);
        }
        let x = inputs[t];
        da_next.fill(0.0);
        for (i, &d) in dz.iter().enumerate() {
            axpy(d, a_prev, &mut g.w_aa[i * h..(i + 1) * h]);
            if x != START {
                g.w_ax[i * ni + x as usize] += d;
            }
            g.b_a[i] += d;
            axpy(d, &w.w_aa[i * h..(i + 1) * h], da_next);
        }
    }
}

/// Floats [`layer_forward`] caches per unit and step (none: `a_t` is the state).
pub const CACHE: usize = 0;
/// Floats of working space per unit [`layer_backward`] needs (`dz`).
pub const TMP: usize = 1;

/// One step of one Elman layer in a stack: `a = tanh(W_aa a_prev + W_ax x + b_a)`, summed
/// in rnn-core's order `((W_aa[i] · a_prev) + W_ax[i] · x) + b_a[i]`. `w.w_x` is `W_ax`,
/// `w.w_h` `W_aa`, `w.b_x` `b_a`.
#[inline(always)]
pub fn layer_forward(w: &LayerW<'_>, x: LayerInput<'_>, a_prev: &[f32], a: &mut [f32]) {
    let h = a.len();
    let n_in = w.w_x.len() / h;
    for (i, z) in a.iter_mut().enumerate() {
        let acc =
            dot(&w.w_h[i * h..(i + 1) * h], a_prev) + x.dot_row(&w.w_x[i * n_in..(i + 1) * n_in]);
        *z = tanh(acc + w.b_x[i]);
    }
}

/// Backward through one [`layer_forward`]: `da` holds `∂L/∂a_t` on entry and this step's
/// `∂L/∂a_{t-1}` on return; `dx` (when the input is a lower layer's state) receives
/// `+= W_axᵀ dz`; `dz` is `H` floats of working space.
///
/// ```text
/// dz = da ⊙ (1 - a²)
/// dW_aa += dz ⊗ a_prev    dW_ax += dz ⊗ x    db_a += dz
/// da_prev = W_aaᵀ dz      dx += W_axᵀ dz
/// ```
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn layer_backward(
    w: &LayerW<'_>,
    x: LayerInput<'_>,
    a_prev: &[f32],
    a: &[f32],
    da: &mut [f32],
    mut dx: Option<&mut [f32]>,
    g: &mut LayerWMut<'_>,
    dz: &mut [f32],
) {
    let h = a.len();
    let n_in = w.w_x.len() / h;
    for ((dz, da), &a) in dz.iter_mut().zip(da.iter()).zip(a) {
        *dz = da * (1.0 - a * a);
    }
    da.fill(0.0);
    for (i, &d) in dz.iter().enumerate() {
        axpy(d, a_prev, &mut g.w_h[i * h..(i + 1) * h]);
        x.add_outer(d, &mut g.w_x[i * n_in..(i + 1) * n_in]);
        g.b_x[i] += d;
        axpy(d, &w.w_h[i * h..(i + 1) * h], da);
        if let Some(dx) = dx.as_deref_mut() {
            axpy(d, &w.w_x[i * n_in..(i + 1) * n_in], dx);
        }
    }
}
