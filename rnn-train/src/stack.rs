//! A stack of 1 to 4 recurrent layers of one kind and a dense output layer: forward pass
//! over a sequence with cached activations, and exact backpropagation through time and
//! through the layers.
//!
//! ```text
//! h^0_t = cell(h^0_{t-1}, x_t)            layer 0 reads the input (one-hot or zero)
//! h^l_t = cell(h^l_{t-1}, h^{l-1}_t)      each further layer reads the one below
//! l_t   = W_ya h^{L-1}_t + b_y            p_t = softmax(l_t)
//! L     = s · Σ_t -ln p_t[y_t]
//! ```
//!
//! The cells' steps are in [`crate::elman`] ([`elman::layer_forward`]), [`crate::gru`] and
//! [`crate::lstm`], each with its backward step beside it. Backward runs time from the end;
//! at each step it goes down the layers: the top layer gets `W_yaᵀ dl_t` plus its own
//! recurrent gradient from `t + 1`; each layer's gradient with respect to its input
//! (`dx`) is added to the layer below's `∂L/∂h_t` before that layer's step is undone.
//!
//! The one-layer Elman network runs on [`crate::elman`]'s own fast path instead
//! ([`crate::net`] chooses); this generic path gives the same results within rounding.

use multiversion::multiversion;

use crate::elman;
use crate::fastmath::exp;
use crate::gru;
use crate::linalg::{axpy, dot, LayerInput};
use crate::lstm;
use crate::model::{Arch, CellType, Weights, WeightsMut};

/// Activations cached by the forward pass and buffers for the backward pass.
#[derive(Clone, Debug)]
pub struct Workspace {
    arch: Arch,
    capacity: usize,
    /// Per layer, `capacity + 1` rows of its state (`H`, or `2H` for LSTM); row 0 is the
    /// initial state, row `t + 1` the state after step `t`.
    states: Vec<Vec<f32>>,
    /// Per layer, `capacity` rows of what the cell's backward step needs.
    caches: Vec<Vec<f32>>,
    /// `p_t`, the softmax output of each step.
    p: Vec<f32>,
    /// Per layer, `∂L/∂state` flowing back in time.
    dstate: Vec<Vec<f32>>,
    /// `∂L/∂x_t` of the layer being undone (the layer below's `∂L/∂h_t`).
    dx: Vec<f32>,
    tmp: Vec<f32>,
}

impl Workspace {
    pub fn new(arch: Arch, capacity: usize) -> Self {
        let (h, s) = (arch.hidden, arch.cell.state_len(arch.hidden));
        let c = arch.cell.cache_per_unit() * h;
        Workspace {
            arch,
            capacity,
            states: (0..arch.layers)
                .map(|_| vec![0.0; (capacity + 1) * s])
                .collect(),
            caches: (0..arch.layers).map(|_| vec![0.0; capacity * c]).collect(),
            p: vec![0.0; capacity * arch.output],
            dstate: (0..arch.layers).map(|_| vec![0.0; s]).collect(),
            dx: vec![0.0; h],
            tmp: vec![0.0; arch.cell.tmp_per_unit() * h],
        }
    }

    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The longest sequence this workspace holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The state of layer `l` after step `t` of the latest forward pass (`h`, then `c` for
    /// LSTM).
    pub fn layer_state(&self, l: usize, t: usize) -> &[f32] {
        let s = self.arch.cell.state_len(self.arch.hidden);
        &self.states[l][(t + 1) * s..(t + 2) * s]
    }

    /// Copies the state of every layer after the first `t_len` steps into `out` (the
    /// layout of [`Arch::state_len`], what the next window starts from in stream mode).
    pub fn final_state_into(&self, t_len: usize, out: &mut [f32]) {
        let s = self.arch.cell.state_len(self.arch.hidden);
        for (l, o) in out.chunks_exact_mut(s).enumerate().take(self.arch.layers) {
            o.copy_from_slice(&self.states[l][t_len * s..(t_len + 1) * s]);
        }
    }

    /// `p_t` of the latest forward pass.
    pub fn probs(&self, t: usize) -> &[f32] {
        let o = self.arch.output;
        &self.p[t * o..(t + 1) * o]
    }
}

/// `p = softmax(W_ya h + b_y)`; returns `-ln p[target]` (computed from the logits).
#[inline(always)]
fn softmax_loss(w_ya: &[f32], b_y: &[f32], h: &[f32], p: &mut [f32], target: usize) -> f32 {
    let hs = h.len();
    let mut max = f32::NEG_INFINITY;
    for (k, l) in p.iter_mut().enumerate() {
        *l = dot(&w_ya[k * hs..(k + 1) * hs], h) + b_y[k];
        max = if *l > max { *l } else { max };
    }
    let target_logit = p[target] - max;
    let mut total = 0.0f32;
    for l in p.iter_mut() {
        *l = exp(*l - max);
        total += *l;
    }
    let inv = 1.0 / total;
    for l in p.iter_mut() {
        *l *= inv;
    }
    total.ln() - target_logit
}

/// Forward pass over one sequence, caching every layer's state and the cells' gate values
/// in `ws`; returns `Σ_t -ln p_t[y_t]` (the unscaled loss, in nats). `state0` holds the
/// initial state of every layer ([`Arch::state_len`] floats: zero for a name, the previous
/// window's last state in stream mode).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn forward<'w>(
    w: &Weights<'w>,
    inputs: &[u32],
    targets: &[u32],
    state0: &[f32],
    ws: &mut Workspace,
) -> f32 {
    let arch = ws.arch;
    let (h, s, o) = (arch.hidden, arch.cell.state_len(arch.hidden), arch.output);
    let c = arch.cell.cache_per_unit() * h;
    let t_len = inputs.len().min(targets.len()).min(ws.capacity);
    for (l, st) in ws.states.iter_mut().enumerate() {
        st[..s].copy_from_slice(&state0[l * s..(l + 1) * s]);
    }
    let mut loss = 0.0f32;
    for t in 0..t_len {
        for l in 0..arch.layers {
            let (below, here) = ws.states.split_at_mut(l);
            let x = match below.last() {
                None => LayerInput::token(inputs[t]),
                Some(b) => LayerInput::Dense(&b[(t + 1) * s..(t + 1) * s + h]),
            };
            let (past, future) = here[0].split_at_mut((t + 1) * s);
            let prev = &past[t * s..];
            let cur = &mut future[..s];
            let cache = &mut ws.caches[l][t * c..(t + 1) * c];
            let wl = &w.layers[l];
            match arch.cell {
                CellType::Elman => elman::layer_forward(wl, x, prev, cur),
                CellType::Gru => gru::forward(wl, x, prev, cur, cache),
                CellType::Lstm => lstm::forward(wl, x, prev, cur, cache),
            }
        }
        let top = &ws.states[arch.layers - 1][(t + 1) * s..(t + 1) * s + h];
        let p = &mut ws.p[t * o..(t + 1) * o];
        loss += softmax_loss(w.w_ya, w.b_y, top, p, targets[t] as usize);
    }
    loss
}

/// Backward pass through the sequence of the latest [`forward`], adding `scale · ∂L/∂θ` to
/// `g`. Gradient does not flow into the initial state: in stream mode this is the
/// truncation of BPTT.
///
/// ```text
/// dl_t   = s · (p_t - onehot(y_t))
/// dW_ya += dl_t ⊗ h^{L-1}_t      db_y += dl_t      ∂L/∂h^{L-1}_t += W_yaᵀ dl_t
/// for l = L-1 .. 0: undo layer l's step t (its backward step), then
///                   ∂L/∂h^{l-1}_t += dx (that step's gradient with respect to its input)
/// ```
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn backward<'w, 'g>(
    w: &Weights<'w>,
    inputs: &[u32],
    targets: &[u32],
    scale: f32,
    ws: &mut Workspace,
    g: &mut WeightsMut<'g>,
) {
    let arch = ws.arch;
    let (h, s, o) = (arch.hidden, arch.cell.state_len(arch.hidden), arch.output);
    let c = arch.cell.cache_per_unit() * h;
    let t_len = inputs.len().min(targets.len()).min(ws.capacity);
    let Workspace {
        states,
        caches,
        p,
        dstate,
        dx,
        tmp,
        ..
    } = ws;
    for d in dstate.iter_mut() {
        d.fill(0.0);
    }
    let top = arch.layers - 1;
    for t in (0..t_len).rev() {
        // dl_t in place of p_t: the probabilities are not needed again.
        let dl = &mut p[t * o..(t + 1) * o];
        dl[targets[t] as usize] -= 1.0;
        for d in dl.iter_mut() {
            *d *= scale;
        }
        let h_top = &states[top][(t + 1) * s..(t + 1) * s + h];
        for (k, &d) in dl.iter().enumerate() {
            axpy(d, h_top, &mut g.w_ya[k * h..(k + 1) * h]);
            g.b_y[k] += d;
            axpy(d, &w.w_ya[k * h..(k + 1) * h], &mut dstate[top][..h]);
        }
        for l in (0..arch.layers).rev() {
            let x = if l == 0 {
                LayerInput::token(inputs[t])
            } else {
                LayerInput::Dense(&states[l - 1][(t + 1) * s..(t + 1) * s + h])
            };
            let prev = &states[l][t * s..(t + 1) * s];
            let cur = &states[l][(t + 1) * s..(t + 2) * s];
            let cache = &caches[l][t * c..(t + 1) * c];
            let dxo = if l > 0 {
                dx.fill(0.0);
                Some(&mut dx[..])
            } else {
                None
            };
            let (wl, gl, ds) = (&w.layers[l], &mut g.layers[l], &mut dstate[l][..]);
            match arch.cell {
                CellType::Elman => elman::layer_backward(wl, x, prev, cur, ds, dxo, gl, tmp),
                CellType::Gru => gru::backward(wl, x, prev, cache, ds, dxo, gl, tmp),
                CellType::Lstm => lstm::backward(wl, x, prev, cache, ds, dxo, gl, tmp),
            }
            if l > 0 {
                for (d, x) in dstate[l - 1][..h].iter_mut().zip(dx.iter()) {
                    *d += x;
                }
            }
        }
    }
}
