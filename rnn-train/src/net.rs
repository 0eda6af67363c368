//! The training network of any architecture behind one interface: the one-layer Elman
//! network runs on [`crate::elman`]'s fast path (unchanged, bit for bit what the Elman-only
//! trainer computed), everything else (GRU, LSTM, stacks of any kind) on [`crate::stack`].

use crate::elman;
use crate::model::{split, split_arch, split_arch_mut, split_mut, Arch};
use crate::stack;

/// Activations and buffers for one sequence at a time, sized once for the longest.
#[derive(Clone, Debug)]
pub enum Workspace {
    Elman(Arch, elman::Workspace),
    Stack(stack::Workspace),
}

impl Workspace {
    pub fn new(arch: Arch, capacity: usize) -> Self {
        if arch.is_single_elman() {
            Workspace::Elman(arch, elman::Workspace::new(arch.dims(), capacity))
        } else {
            Workspace::Stack(stack::Workspace::new(arch, capacity))
        }
    }

    pub fn arch(&self) -> &Arch {
        match self {
            Workspace::Elman(a, _) => a,
            Workspace::Stack(ws) => ws.arch(),
        }
    }

    /// The longest sequence this workspace holds.
    pub fn capacity(&self) -> usize {
        match self {
            Workspace::Elman(_, ws) => ws.capacity(),
            Workspace::Stack(ws) => ws.capacity(),
        }
    }

    /// Copies the state of every layer after the first `t_len` steps of the latest forward
    /// pass into `out` ([`Arch::state_len`] floats).
    pub fn final_state_into(&self, t_len: usize, out: &mut [f32]) {
        match self {
            Workspace::Elman(_, ws) => out.copy_from_slice(ws.final_state(t_len)),
            Workspace::Stack(ws) => ws.final_state_into(t_len, out),
        }
    }

    /// The state of layer `l` after step `t` (`h`, then `c` for LSTM).
    pub fn layer_state(&self, l: usize, t: usize) -> &[f32] {
        match self {
            Workspace::Elman(_, ws) => ws.state(t),
            Workspace::Stack(ws) => ws.layer_state(l, t),
        }
    }

    /// `p_t` of the latest forward pass.
    pub fn probs(&self, t: usize) -> &[f32] {
        match self {
            Workspace::Elman(_, ws) => ws.probs(t),
            Workspace::Stack(ws) => ws.probs(t),
        }
    }
}

/// Forward pass over one sequence from `state0`; returns `Σ_t -ln p_t[y_t]`.
pub fn forward(
    params: &[f32],
    inputs: &[u32],
    targets: &[u32],
    state0: &[f32],
    ws: &mut Workspace,
) -> f32 {
    match ws {
        Workspace::Elman(arch, ws) => {
            let w = split(&arch.dims(), params);
            elman::forward(&w, inputs, targets, state0, ws)
        }
        Workspace::Stack(ws) => {
            let w = split_arch(ws.arch(), params);
            stack::forward(&w, inputs, targets, state0, ws)
        }
    }
}

/// Backward pass of the latest [`forward`], adding `scale · ∂L/∂θ` into `grad` (laid out
/// like the parameters).
pub fn backward(
    params: &[f32],
    inputs: &[u32],
    targets: &[u32],
    scale: f32,
    ws: &mut Workspace,
    grad: &mut [f32],
) {
    match ws {
        Workspace::Elman(arch, ws) => {
            let dims = arch.dims();
            let w = split(&dims, params);
            elman::backward(&w, inputs, targets, scale, ws, &mut split_mut(&dims, grad));
        }
        Workspace::Stack(ws) => {
            let arch = *ws.arch();
            let w = split_arch(&arch, params);
            stack::backward(
                &w,
                inputs,
                targets,
                scale,
                ws,
                &mut split_arch_mut(&arch, grad),
            );
        }
    }
}
