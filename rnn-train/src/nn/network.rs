//! The whole network for training, one sequence at a time: the recurrent layers
//! ([`super::recurrent`]), then the output layer and its loss ([`super::loss`]), forward
//! and backward side by side. A task only says where the output layer reads
//! ([`Targets`]):
//!
//! ```text
//! every step (next symbol, tags):  z_t = out^{L-1}_t               L = Σ_t -ln p_t[y_t]
//! every step (regression):         z_t = out^{L-1}_t               L = Σ_t (1/O)|v_t - y_t|²
//! final (classification):    z = [h^{L-1,→}_{T-1} ; h^{L-1,←}_0]  L = -ln p[y]
//! ```
//!
//! (`z` is just `h^{L-1}_{T-1}` with one direction.) A classifier's convolutional
//! front-end ([`super::conv`]) runs before the recurrent layers, which then read its
//! outputs. The backward pass scales the loss by `s`, its weight in the minibatch.

use multiversion::multiversion;

use super::arch::Arch;
use super::conv::{self, ConvWorkspace};
use super::linalg::{add_outer_sum, add_row_sum, add_transposed};
use super::loss::{
    mse_forward, mse_row_backward, softmax_ce_backward, softmax_ce_forward, softmax_ce_row_backward,
};
use super::recurrent::{self, SeqInput};

/// What the output layer is scored against.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// A symbol or class at every step (many-to-many).
    EveryStep(&'a [u32]),
    /// `O` real values at every step, step after step (regression, normalised).
    Values(&'a [f32]),
    /// One class for the whole sequence (many-to-one).
    Final(usize),
}

/// One training or evaluation example.
#[derive(Clone, Copy, Debug)]
pub struct Example<'a> {
    pub x: SeqInput<'a>,
    pub y: Targets<'a>,
}

impl Example<'_> {
    /// How many predictions the example is scored on: its steps, or one.
    pub fn predictions(&self) -> usize {
        match self.y {
            Targets::EveryStep(y) => y.len(),
            Targets::Values(_) => self.x.len(),
            Targets::Final(_) => 1,
        }
    }
}

/// The recurrent workspace plus the front-end's and the output layer's buffers.
#[derive(Clone, Debug)]
pub struct Workspace {
    pub rec: recurrent::Workspace,
    /// A classifier's convolutional front-end (unused without one).
    pub conv: ConvWorkspace,
    /// The output layer's input for a final readout (`D·H`).
    z: Vec<f32>,
    /// Probabilities (or a regression's values) of every prediction of the latest forward
    /// pass (`O` each).
    p: Vec<f32>,
    dz: Vec<f32>,
}

impl Workspace {
    pub fn new(arch: Arch, capacity: usize) -> Self {
        Workspace {
            rec: recurrent::Workspace::new(arch, capacity),
            conv: ConvWorkspace::default(),
            z: vec![0.0; arch.head_input()],
            p: vec![0.0; capacity.max(1) * arch.output],
            dz: vec![0.0; arch.head_input()],
        }
    }

    pub fn arch(&self) -> &Arch {
        self.rec.arch()
    }

    /// The probabilities of prediction `j` of the latest forward pass.
    pub fn probs(&self, j: usize) -> &[f32] {
        let o = self.arch().output;
        &self.p[j * o..(j + 1) * o]
    }

    /// How many predictions of the latest forward pass of `ex` are right (argmax, the
    /// first on ties, as `rnn-core` decides).
    pub fn correct(&self, ex: &Example<'_>) -> usize {
        let right = |j: usize, y: usize| usize::from(rnn_core::sample::argmax(self.probs(j)) == y);
        match ex.y {
            Targets::EveryStep(y) => y
                .iter()
                .enumerate()
                .map(|(j, &y)| right(j, y as usize))
                .sum(),
            Targets::Final(y) => right(0, y),
            Targets::Values(_) => 0,
        }
    }
}

/// `z = [h→ at the last step ; h← at time 0]`: each direction's final state.
fn final_features(rec: &recurrent::Workspace, z: &mut [f32]) {
    let (h, t_len) = (rec.arch().hidden, rec.steps());
    if t_len == 0 {
        // No steps, no state: the initial one, zero.
        z.fill(0.0);
        return;
    }
    for (d, zd) in z.chunks_exact_mut(h).enumerate() {
        let t = if d == 0 { t_len - 1 } else { 0 };
        zd.copy_from_slice(&rec.top(t)[d * h..(d + 1) * h]);
    }
}

/// Forward pass over one example (at least one step) from `state0` (zero when `None`);
/// returns the unscaled loss `Σ -ln p[y]` over its predictions, in nats.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn forward<'x>(
    params: &[f32],
    ex: &Example<'x>,
    state0: Option<&[f32]>,
    ws: &mut Workspace,
) -> f32 {
    let arch = *ws.arch();
    if arch.conv.is_empty() {
        recurrent::forward(params, ex.x, state0, &mut ws.rec);
    } else {
        let ranges = ws.rec.layout().conv.clone();
        conv::forward(params, &arch.conv, &ranges, arch.input, ex.x, &mut ws.conv);
        let x = SeqInput::Dense {
            values: ws.conv.top(),
            channels: arch.layer_input(0),
        };
        recurrent::forward(params, x, state0, &mut ws.rec);
    }
    let (r_w, r_b) = ws.rec.layout().head.clone();
    let (w_ya, b_y) = (&params[r_w], &params[r_b]);
    let o = arch.output;
    if ws.p.len() < ex.predictions() * o {
        ws.p.resize(ex.predictions() * o, 0.0);
    }
    match ex.y {
        Targets::EveryStep(y) => {
            let mut loss = 0.0f32;
            for (t, (&y, p)) in y.iter().zip(ws.p.chunks_exact_mut(o)).enumerate() {
                loss += softmax_ce_forward(w_ya, b_y, ws.rec.top(t), p, y as usize);
            }
            loss
        }
        Targets::Values(y) => {
            let mut loss = 0.0f32;
            let steps = ws.p.chunks_exact_mut(o).zip(y.chunks_exact(o));
            for (t, (v, y)) in steps.enumerate() {
                loss += mse_forward(w_ya, b_y, ws.rec.top(t), v, y);
            }
            loss
        }
        Targets::Final(y) => {
            final_features(&ws.rec, &mut ws.z);
            softmax_ce_forward(w_ya, b_y, &ws.z, &mut ws.p[..o], y)
        }
    }
}

/// Backward pass of the latest [`forward`] (same `params` and `ex`), adding
/// `scale · ∂L/∂θ` into `grad` (laid out like the parameters).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn backward<'x>(
    params: &[f32],
    ex: &Example<'x>,
    scale: f32,
    ws: &mut Workspace,
    grad: &mut [f32],
) {
    let arch = *ws.arch();
    let (r_w, r_b) = ws.rec.layout().head.clone();
    let w_ya = &params[r_w.clone()];
    let (o, h, dh) = (arch.output, arch.hidden, arch.head_input());
    {
        let (g_rest, g_b) = grad.split_at_mut(r_b.start);
        let (g_w, g_b) = (&mut g_rest[r_w], &mut g_b[..o]);
        let Workspace { rec, z, p, dz, .. } = ws;
        let t_len = rec.steps();
        let (tops, dtops) = rec.top_and_grad();
        // Every step: each step's `dl` (in place of its probabilities) and `dz += W_yaᵀ dl`
        // from the last step back, then the weight gradients summed over the steps in that
        // order ([`add_outer_sum`]: the bits of adding them step by step).
        let steps = match ex.y {
            Targets::EveryStep(y) => {
                let steps = t_len.min(y.len());
                for t in (0..steps).rev() {
                    let p = &mut p[t * o..(t + 1) * o];
                    softmax_ce_row_backward(p, y[t] as usize, scale);
                    add_transposed(p, w_ya, dh, &mut dtops[t * dh..(t + 1) * dh]);
                }
                steps
            }
            Targets::Values(y) => {
                let steps = t_len.min(y.len() / o);
                for t in (0..steps).rev() {
                    let v = &mut p[t * o..(t + 1) * o];
                    mse_row_backward(v, &y[t * o..(t + 1) * o], scale);
                    add_transposed(v, w_ya, dh, &mut dtops[t * dh..(t + 1) * dh]);
                }
                steps
            }
            Targets::Final(y) => {
                dz.fill(0.0);
                softmax_ce_backward(w_ya, z, &mut p[..o], y, scale, g_w, g_b, dz);
                if t_len > 0 {
                    for (d, dzd) in dz.chunks_exact(h).enumerate() {
                        let t = if d == 0 { t_len - 1 } else { 0 };
                        dtops[t * dh + d * h..t * dh + (d + 1) * h].copy_from_slice(dzd);
                    }
                }
                0
            }
        };
        let dl = &p[..steps * o];
        add_outer_sum(g_w, dh, dl, steps, |t| &tops[t * dh..(t + 1) * dh]);
        add_row_sum(g_b, dl, steps);
    }
    if arch.conv.is_empty() {
        recurrent::backward(params, ex.x, &mut ws.rec, grad);
        return;
    }
    let Workspace { rec, conv: cw, .. } = ws;
    let x = SeqInput::Dense {
        values: cw.top(),
        channels: arch.layer_input(0),
    };
    recurrent::backward(params, x, rec, grad);
    cw.top_grad().copy_from_slice(rec.input_grad());
    let ranges = rec.layout().conv.clone();
    conv::backward(params, &arch.conv, &ranges, arch.input, ex.x, cw, grad);
}
