//! The recurrent driver: `L` layers × `D` directions of one cell kind over a whole
//! sequence, forward (caching what the backward pass needs) and backward (BPTT), for every
//! task. The output layer and the loss are [`crate::nn::network`]'s.
//!
//! ```text
//! h^{l,→}_t = cell(h^{l,→}_{t-1}, x^l_t)   t = 0 .. T-1      (forward direction)
//! h^{l,←}_t = cell(h^{l,←}_{t+1}, x^l_t)   t = T-1 .. 0      (backward direction, D = 2)
//! x^0_t = the input (one-hot symbol, the zero vector, or a dense vector)
//! x^l_t = [h^{l-1,→}_t ; h^{l-1,←}_t]      l > 0 (PyTorch's stacked bidirectional semantics)
//! out^l_t = [h^{l,→}_t ; h^{l,←}_t]        what the layer above (or the output layer) reads
//! ```
//!
//! The cells' steps are in [`super::elman`], [`super::gru`] and [`super::lstm`], each with
//! its backward step beside it. Backward goes down the layers; within a layer each
//! direction is undone in the reverse of its own order of steps. `dout[l][t]` (`D·H`
//! values) is `∂L/∂out^l_t`: for the top layer the output layer's gradient, for a lower
//! layer the sum of the input gradients of layer `l + 1`'s steps at `t`. Undoing step `t`
//! adds it to that direction's `∂L/∂h_t`. Gradient does not flow into the initial state:
//! in stream mode that is the truncation of BPTT.

use multiversion::multiversion;

use super::arch::{Arch, LayerRanges, Layout};
use super::linalg::{add_outer_sum, add_row_sum, add_transposed, LayerInput};
use super::{elman, gru, lstm, CellType, LayerW, LayerWMut, Step};

/// A sequence as the first layer reads it.
#[derive(Clone, Copy, Debug)]
pub enum SeqInput<'a> {
    /// Symbol indices (one-hot inputs); [`crate::data::START`] is the zero vector.
    Tokens(&'a [u32]),
    /// `T` vectors of `channels` values, time-major, already normalised.
    Dense { values: &'a [f32], channels: usize },
}

impl<'a> SeqInput<'a> {
    pub fn len(&self) -> usize {
        match *self {
            SeqInput::Tokens(t) => t.len(),
            SeqInput::Dense { values, channels } => values.len() / channels.max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    fn at(&self, t: usize) -> LayerInput<'a> {
        match *self {
            SeqInput::Tokens(tok) => LayerInput::token(tok[t]),
            SeqInput::Dense { values, channels } => {
                LayerInput::Dense(&values[t * channels..(t + 1) * channels])
            }
        }
    }
}

/// Splits one layer-direction's tensors (at `r`) off a parameter vector.
pub fn layer_w<'a>(r: &LayerRanges, params: &'a [f32]) -> LayerW<'a> {
    let r = r.clone();
    LayerW {
        w_x: &params[r.w_x],
        w_h: &params[r.w_h],
        b_x: &params[r.b_x],
        b_h: &params[r.b_h],
    }
}

/// Mutable counterpart of [`layer_w`].
pub fn layer_w_mut<'a>(r: &LayerRanges, grad: &'a mut [f32]) -> LayerWMut<'a> {
    let block = &mut grad[r.w_x.start..r.b_h.end];
    let (w_x, rest) = block.split_at_mut(r.w_x.len());
    let (w_h, rest) = rest.split_at_mut(r.w_h.len());
    let (b_x, b_h) = rest.split_at_mut(r.b_x.len());
    LayerWMut { w_x, w_h, b_x, b_h }
}

/// The states and caches of the latest forward pass, and the buffers of the backward pass,
/// sized for the longest sequence (grown when a longer one comes).
#[derive(Clone, Debug)]
pub struct Workspace {
    arch: Arch,
    layout: Layout,
    capacity: usize,
    /// Steps of the latest forward pass.
    t_len: usize,
    /// Per layer-direction (`l·D + d`): `capacity + 1` states in the direction's own order
    /// of steps (row 0 the initial state, row `k + 1` after step `k`).
    states: Vec<Vec<f32>>,
    /// Per layer-direction: the cell's cache, one row per step `k`.
    caches: Vec<Vec<f32>>,
    /// Per layer: `out^l_t` in time order, `capacity` rows of `D·H`.
    outs: Vec<Vec<f32>>,
    /// Per layer: `∂L/∂out^l_t`.
    douts: Vec<Vec<f32>>,
    dstate: Vec<f32>,
    /// `d_i` and `d_h` of every step of the layer-direction being undone (`capacity` rows
    /// of `G·H` each): the cells' pre-activation gradients, which the weight gradients
    /// sum over the steps.
    d_in: Vec<f32>,
    d_rec: Vec<f32>,
    /// `∂L/∂x^0_t` (`capacity` rows of `I_0`) when the input is a convolutional front-end's
    /// output, which needs it; empty otherwise.
    dinput: Vec<f32>,
}

impl Workspace {
    pub fn new(arch: Arch, capacity: usize) -> Self {
        let n = arch.layers * arch.directions;
        let (s, dh) = (arch.layer_state_len(), arch.head_input());
        let c = arch.cell.cache_per_unit() * arch.hidden;
        let capacity = capacity.max(1);
        Workspace {
            arch,
            layout: arch.layout(),
            capacity,
            t_len: 0,
            states: (0..n).map(|_| vec![0.0; (capacity + 1) * s]).collect(),
            caches: (0..n).map(|_| vec![0.0; capacity * c]).collect(),
            outs: (0..arch.layers).map(|_| vec![0.0; capacity * dh]).collect(),
            douts: (0..arch.layers).map(|_| vec![0.0; capacity * dh]).collect(),
            dstate: vec![0.0; s],
            d_in: vec![0.0; capacity * arch.cell.gates() * arch.hidden],
            d_rec: vec![0.0; capacity * arch.cell.gates() * arch.hidden],
            dinput: if arch.conv.is_empty() {
                Vec::new()
            } else {
                vec![0.0; capacity * arch.layer_input(0)]
            },
        }
    }

    /// `∂L/∂x^0_t` of the latest [`backward`], `T` rows of `I_0` (empty without a
    /// convolutional front-end).
    pub fn input_grad(&self) -> &[f32] {
        let n = self.t_len * self.arch.layer_input(0);
        self.dinput.get(..n).unwrap_or_default()
    }

    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// Where every tensor lives in the parameters.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The longest sequence the buffers hold without growing.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Steps of the latest forward pass.
    pub fn steps(&self) -> usize {
        self.t_len
    }

    /// `out^{L-1}_t` of the latest forward pass: what the output layer reads at step `t`.
    pub fn top(&self, t: usize) -> &[f32] {
        let dh = self.arch.head_input();
        &self.outs[self.arch.layers - 1][t * dh..(t + 1) * dh]
    }

    /// The state of layer `l` in direction `d` after its `k`-th step (`h`, then `c` for
    /// LSTM), in that direction's order of steps.
    pub fn layer_state(&self, l: usize, d: usize, k: usize) -> &[f32] {
        let s = self.arch.layer_state_len();
        &self.states[l * self.arch.directions + d][(k + 1) * s..(k + 2) * s]
    }

    /// Copies every layer-direction's state after its last step into `out`
    /// ([`Arch::state_len`] floats: what the next window starts from in stream mode).
    pub fn final_state_into(&self, out: &mut [f32]) {
        let s = self.arch.layer_state_len();
        for (st, o) in self.states.iter().zip(out.chunks_exact_mut(s)) {
            o.copy_from_slice(&st[self.t_len * s..(self.t_len + 1) * s]);
        }
    }

    /// The top layer's outputs of the latest forward pass (`T` rows of `D·H`) and
    /// `∂L/∂` them, zeroed, for the output layer's backward pass to fill before
    /// [`backward`].
    pub fn top_and_grad(&mut self) -> (&[f32], &mut [f32]) {
        let n = self.t_len * self.arch.head_input();
        let top = self.arch.layers - 1;
        let grad = &mut self.douts[top][..n];
        grad.fill(0.0);
        (&self.outs[top][..n], grad)
    }
}

/// Runs every layer and direction over `x` from `state0` (zero when `None`), caching the
/// states, the cells' gate values and every layer's outputs in `ws`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn forward<'x>(params: &[f32], x: SeqInput<'x>, state0: Option<&[f32]>, ws: &mut Workspace) {
    let arch = ws.arch;
    let t_len = x.len();
    if t_len > ws.capacity {
        *ws = Workspace::new(arch, t_len);
    }
    ws.t_len = t_len;
    let (h, s, nd) = (arch.hidden, arch.layer_state_len(), arch.directions);
    let dh = nd * h;
    let c = arch.cell.cache_per_unit() * h;
    for l in 0..arch.layers {
        let (below, here) = ws.outs.split_at_mut(l);
        let out = &mut here[0];
        for d in 0..nd {
            let w = layer_w(ws.layout.layer(l, d), params);
            let i = l * nd + d;
            let (states, caches) = (&mut ws.states[i], &mut ws.caches[i]);
            match state0 {
                Some(s0) => states[..s].copy_from_slice(&s0[i * s..(i + 1) * s]),
                None => states[..s].fill(0.0),
            }
            for k in 0..t_len {
                let t = if d == 0 { k } else { t_len - 1 - k };
                let xin = match below.last() {
                    None => x.at(t),
                    Some(b) => LayerInput::Dense(&b[t * dh..(t + 1) * dh]),
                };
                let (past, future) = states.split_at_mut((k + 1) * s);
                let prev = &past[k * s..];
                let cur = &mut future[..s];
                let cache = &mut caches[k * c..(k + 1) * c];
                let step = Step { w, x: xin, prev };
                match arch.cell {
                    CellType::Elman => elman::forward(&step, cur, cache),
                    CellType::Gru => gru::forward(&step, cur, cache),
                    CellType::Lstm => lstm::forward(&step, cur, cache),
                }
                out[t * dh + d * h..t * dh + (d + 1) * h].copy_from_slice(&cur[..h]);
            }
        }
    }
}

/// Backpropagation through time of the latest [`forward`] (same `params` and `x`), from
/// the gradient the output layer left in [`Workspace::top_and_grad`]; adds `∂L/∂θ` of every
/// recurrent layer into `grad` (laid out like the parameters).
///
/// Going back through the steps of a layer-direction, each cell's `backward_row` turns
/// `∂L/∂state_t` into the gradients `d_i`, `d_h` of its input and recurrent
/// pre-activations (kept for every step), and the recurrence `∂L/∂h_{t-1} += W_hᵀ d_h`
/// and the input gradient `dx_t += W_xᵀ d_i` follow at once; the weight gradients,
/// `dW_h += Σ_t d_h ⊗ h_{t-1}` and `dW_x += Σ_t d_i ⊗ x_t`, wait until the last step back,
/// each element summed over the steps in that same order (so the bits are those of adding
/// them step by step).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
pub fn backward<'x>(params: &[f32], x: SeqInput<'x>, ws: &mut Workspace, grad: &mut [f32]) {
    let arch = ws.arch;
    let t_len = ws.t_len;
    let (h, s, nd) = (arch.hidden, arch.layer_state_len(), arch.directions);
    let (dh, gh) = (nd * h, arch.cell.gates() * h);
    let c = arch.cell.cache_per_unit() * h;
    let Workspace {
        layout,
        states,
        caches,
        outs,
        douts,
        dstate,
        d_in,
        d_rec,
        dinput,
        ..
    } = ws;
    for l in (0..arch.layers).rev() {
        let (dbelow, dhere) = douts.split_at_mut(l);
        let dout = &dhere[0];
        // Row width of this layer's input: D·H, or I_0 for the first layer.
        let width = arch.layer_input(l);
        let mut dx_buf: Option<&mut [f32]> = match dbelow.last_mut() {
            Some(b) => Some(b.as_mut_slice()),
            None if !dinput.is_empty() => Some(dinput.as_mut_slice()),
            None => None,
        };
        if let Some(b) = dx_buf.as_deref_mut() {
            b[..t_len * width].fill(0.0);
        }
        let below = l.checked_sub(1).map(|b| outs[b].as_slice());
        for d in 0..nd {
            let w = layer_w(layout.layer(l, d), params);
            let g = layer_w_mut(layout.layer(l, d), grad);
            let (st, ca) = (&states[l * nd + d], &caches[l * nd + d]);
            let time = |k: usize| if d == 0 { k } else { t_len - 1 - k };
            dstate.fill(0.0);
            for k in (0..t_len).rev() {
                let t = time(k);
                let from_above = &dout[t * dh + d * h..t * dh + (d + 1) * h];
                for (ds, &g_out) in dstate[..h].iter_mut().zip(from_above) {
                    *ds += g_out;
                }
                let prev = &st[k * s..(k + 1) * s];
                let cur = &st[(k + 1) * s..(k + 2) * s];
                let cache = &ca[k * c..(k + 1) * c];
                let di = &mut d_in[k * gh..(k + 1) * gh];
                let dr = &mut d_rec[k * gh..(k + 1) * gh];
                match arch.cell {
                    CellType::Elman => elman::backward_row(prev, cur, cache, dstate, di, dr),
                    CellType::Gru => gru::backward_row(prev, cur, cache, dstate, di, dr),
                    CellType::Lstm => lstm::backward_row(prev, cur, cache, dstate, di, dr),
                }
                add_transposed(dr, w.w_h, h, &mut dstate[..h]);
                if let Some(b) = dx_buf.as_deref_mut() {
                    add_transposed(di, w.w_x, width, &mut b[t * width..(t + 1) * width]);
                }
            }
            let (d_in, d_rec) = (&d_in[..t_len * gh], &d_rec[..t_len * gh]);
            add_outer_sum(g.w_h, h, d_rec, t_len, |k| &st[k * s..k * s + h]);
            add_row_sum(g.b_h, d_rec, t_len);
            match (below, x) {
                (Some(b), _) => add_outer_sum(g.w_x, width, d_in, t_len, |k| {
                    &b[time(k) * dh..(time(k) + 1) * dh]
                }),
                (None, SeqInput::Dense { values, channels }) => {
                    add_outer_sum(g.w_x, width, d_in, t_len, |k| {
                        &values[time(k) * channels..(time(k) + 1) * channels]
                    })
                }
                (None, SeqInput::Tokens(tokens)) => {
                    for k in (0..t_len).rev() {
                        if let LayerInput::Token(tok) = LayerInput::token(tokens[time(k)]) {
                            let dk = &d_in[k * gh..(k + 1) * gh];
                            for (row, &dv) in dk.iter().enumerate() {
                                g.w_x[row * width + tok] += dv;
                            }
                        }
                    }
                }
            }
            add_row_sum(g.b_x, d_in, t_len);
        }
    }
}
