//! Sequence classification (many-to-one), optionally bidirectional: the forward pass over a
//! whole sequence and exact backpropagation through time for the one loss at its end.
//!
//! ```text
//! h^{l,→}_t = cell(h^{l,→}_{t-1}, x^l_t)   t = 0 .. T-1      (forward direction)
//! h^{l,←}_t = cell(h^{l,←}_{t+1}, x^l_t)   t = T-1 .. 0      (backward direction, --bidirectional)
//! x^0_t = the input (one-hot character or normalised feature vector)
//! x^l_t = [h^{l-1,→}_t ; h^{l-1,←}_t]      l > 0 (PyTorch's stacked bidirectional semantics)
//! z     = [h^{L-1,→}_{T-1} ; h^{L-1,←}_0]  (just h^{L-1,→}_{T-1} when unidirectional)
//! s     = W_ya z + b_y                      class scores, p = softmax(s)
//! L     = -ln p[y] · scale                  (scale = 1/batch)
//! ```
//!
//! Every state starts at zero. The directions have their own weights; a layer above the
//! first reads both directions of the layer below at the same time step, so its input has
//! `D·H` values (`D` = 2 directions, or 1).
//!
//! The parameter vector, flat and in this order (PyTorch's `state_dict` order for
//! `nn.RNN/GRU/LSTM(bidirectional=True)` followed by an `nn.Linear`): for each layer `l`,
//! for each direction (forward, then backward): input weights `w_ih` (G·H×I_l), recurrent
//! weights `w_hh` (G·H×H), input bias `b_ih` (G·H), recurrent bias `b_hh` (G·H; none for
//! Elman, whose one bias is `b_a`); then `w_ya` (O×D·H) and `b_y` (O). `I_0` is the input
//! size, `I_l = D·H` above. The cells' steps are those of [`crate::elman`], [`crate::gru`]
//! and [`crate::lstm`] (forward and backward side by side there).
//!
//! Backward goes down the layers; within a layer each direction is undone in the reverse of
//! its own order of steps. `dout[l][t]` (`D·H` values) collects `∂L/∂x^{l+1}_t`, the
//! gradient reaching layer `l`'s outputs from the layer above (for the top layer: `W_yaᵀ
//! dl` at the two final steps only); undoing step `t` of layer `l` adds it to that
//! direction's `∂L/∂h_t` and adds the step's input gradient to `dout[l-1][t]`.

use std::ops::Range;

use crate::elman;
use crate::fastmath::exp;
use crate::gru;
use crate::linalg::{axpy, dot, LayerInput};
use crate::lstm;
use crate::model::{CellType, LayerW, LayerWMut};
use crate::rng::SplitMix64;

/// The architecture of a classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClsArch {
    pub cell: CellType,
    /// Recurrent layers per direction, 1 to [`MAX_LAYERS`].
    pub layers: usize,
    pub bidirectional: bool,
    /// Input size: vocabulary size (one-hot characters) or channels (dense vectors).
    pub input: usize,
    pub hidden: usize,
    /// Number of classes.
    pub classes: usize,
}

/// One tensor: name, place in the flat vector, rows and columns (`None` for a vector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClsTensor {
    pub name: String,
    pub range: Range<usize>,
    pub rows: usize,
    pub cols: Option<usize>,
}

impl ClsArch {
    /// Directions: 2 when bidirectional, else 1.
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Inputs of layer `l`: `I` for layer 0, `D·H` above.
    pub fn layer_input(&self, l: usize) -> usize {
        if l == 0 {
            self.input
        } else {
            self.directions() * self.hidden
        }
    }

    /// Length of the vector the output layer reads: `D·H`.
    pub fn head_input(&self) -> usize {
        self.directions() * self.hidden
    }

    fn block_sizes(&self, l: usize) -> [usize; 4] {
        let (g, h) = (self.cell.gates(), self.hidden);
        let b_h = if self.cell == CellType::Elman {
            0
        } else {
            g * h
        };
        [g * h * self.layer_input(l), g * h * h, g * h, b_h]
    }

    /// Where the weights of layer `l`, direction `d` start and end (one contiguous block:
    /// `w_ih`, `w_hh`, `b_ih`, `b_hh`).
    pub fn block(&self, l: usize, d: usize) -> Range<usize> {
        let mut start = 0;
        for k in 0..=l {
            let n: usize = self.block_sizes(k).iter().sum();
            for dd in 0..self.directions() {
                if k == l && dd == d {
                    return start..start + n;
                }
                start += n;
            }
        }
        start..start
    }

    /// The ranges of `w_ya` (O × D·H) and `b_y` (O).
    pub fn head_ranges(&self) -> (Range<usize>, Range<usize>) {
        let start = self.block(self.layers - 1, self.directions() - 1).end;
        let n = self.classes * self.head_input();
        (start..start + n, start + n..start + n + self.classes)
    }

    pub fn param_count(&self) -> usize {
        self.head_ranges().1.end
    }

    /// Floats of state of one layer in one direction (`H`, or `2H` for LSTM).
    pub fn state_len(&self) -> usize {
        self.cell.state_len(self.hidden)
    }

    /// Every tensor in file order, named as in PyTorch (`weight_ih_l0`, …,
    /// `weight_ih_l0_reverse`, …) but in this project's spelling: `w_ih_l{k}` / `w_ax_l{k}`
    /// and so on, with `_reverse` for the backward direction, then `w_ya`, `b_y`.
    pub fn tensors(&self) -> Vec<ClsTensor> {
        let (gh, h) = (self.cell.gates() * self.hidden, self.hidden);
        let names: [&str; 4] = match self.cell {
            CellType::Elman => ["w_ax", "w_aa", "b_a", ""],
            _ => ["w_ih", "w_hh", "b_ih", "b_hh"],
        };
        let mut out = Vec::new();
        for l in 0..self.layers {
            for d in 0..self.directions() {
                let mut start = self.block(l, d).start;
                let sizes = self.block_sizes(l);
                let cols = [Some(self.layer_input(l)), Some(h), None, None];
                for k in 0..4 {
                    let range = start..start + sizes[k];
                    start += sizes[k];
                    if range.is_empty() {
                        continue;
                    }
                    let suffix = if d == 1 { "_reverse" } else { "" };
                    out.push(ClsTensor {
                        name: format!("{}_l{l}{suffix}", names[k]),
                        range,
                        rows: gh,
                        cols: cols[k],
                    });
                }
            }
        }
        let (w_ya, b_y) = self.head_ranges();
        out.push(ClsTensor {
            name: "w_ya".into(),
            range: w_ya,
            rows: self.classes,
            cols: Some(self.head_input()),
        });
        out.push(ClsTensor {
            name: "b_y".into(),
            range: b_y,
            rows: self.classes,
            cols: None,
        });
        out
    }

    /// Checks the sizes: 1 to 4 layers, every size 1 to 65536, at least two classes.
    pub fn check(&self) -> std::result::Result<(), String> {
        crate::model::check_format_sizes(
            self.layers,
            [
                ("input", self.input),
                ("hidden", self.hidden),
                ("classes", self.classes),
            ],
        )?;
        if self.classes < 2 {
            return Err(format!(
                "{} class: a classifier needs at least two",
                self.classes
            ));
        }
        Ok(())
    }

    /// E.g. `bidirectional 2-layer gru, I 12, H 32, 9 classes`.
    pub fn describe(&self) -> String {
        format!(
            "{}{}-layer {}, I {}, H {}, {} classes",
            if self.bidirectional {
                "bidirectional "
            } else {
                ""
            },
            self.layers,
            self.cell.name(),
            self.input,
            self.hidden,
            self.classes
        )
    }

    /// Fresh weights: matrices uniform in `[-1/√H, 1/√H)` from SplitMix64(`seed`) in file
    /// order, biases zero, the LSTM's forget-gate input bias 1 (as for the character
    /// models, [`crate::model`]).
    pub fn init(&self, seed: u64) -> Vec<f32> {
        let mut params = vec![0.0f32; self.param_count()];
        let limit = 1.0 / (self.hidden as f32).sqrt();
        let mut rng = SplitMix64::new(seed);
        let h = self.hidden;
        for l in 0..self.layers {
            for d in 0..self.directions() {
                let b = self.block(l, d);
                let [wx, wh, _, _] = self.block_sizes(l);
                for w in &mut params[b.start..b.start + wx + wh] {
                    *w = rng.uniform(limit);
                }
                if self.cell == CellType::Lstm {
                    let b_ih = b.start + wx + wh;
                    params[b_ih + h..b_ih + 2 * h].fill(1.0);
                }
            }
        }
        for w in &mut params[self.head_ranges().0] {
            *w = rng.uniform(limit);
        }
        params
    }
}

/// Splits one layer-direction block into its tensors.
fn layer_w<'a>(arch: &ClsArch, l: usize, block: &'a [f32]) -> LayerW<'a> {
    let [a, b, c, _] = arch.block_sizes(l);
    let (w_x, rest) = block.split_at(a);
    let (w_h, rest) = rest.split_at(b);
    let (b_x, b_h) = rest.split_at(c);
    LayerW { w_x, w_h, b_x, b_h }
}

fn layer_w_mut<'a>(arch: &ClsArch, l: usize, block: &'a mut [f32]) -> LayerWMut<'a> {
    let [a, b, c, _] = arch.block_sizes(l);
    let (w_x, rest) = block.split_at_mut(a);
    let (w_h, rest) = rest.split_at_mut(b);
    let (b_x, b_h) = rest.split_at_mut(c);
    LayerWMut { w_x, w_h, b_x, b_h }
}

/// A sequence as the first layer reads it.
#[derive(Clone, Copy, Debug)]
pub enum SeqInput<'a> {
    /// Character indices (one-hot inputs).
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
            SeqInput::Tokens(tok) => LayerInput::Token(tok[t] as usize),
            SeqInput::Dense { values, channels } => {
                LayerInput::Dense(&values[t * channels..(t + 1) * channels])
            }
        }
    }
}

/// Activations of the latest forward pass and buffers for the backward pass, sized once
/// for the longest sequence; [`forward`] grows it if a longer one comes.
#[derive(Clone, Debug)]
pub struct Workspace {
    arch: ClsArch,
    capacity: usize,
    /// Steps of the latest forward pass.
    t_len: usize,
    /// Per layer and direction (`l * D + d`): `capacity + 1` states in the direction's own
    /// order of steps (row 0 is the zero initial state, row `k + 1` after step `k`).
    states: Vec<Vec<f32>>,
    /// Per layer and direction: the cells' caches, one row per step `k`.
    caches: Vec<Vec<f32>>,
    /// Per layer: the outputs `[h→_t ; h←_t]` in time order (`capacity` rows of `D·H`).
    outs: Vec<Vec<f32>>,
    /// Per layer: `∂L/∂` those outputs.
    douts: Vec<Vec<f32>>,
    /// The output layer's input `z` and the softmax `p`.
    z: Vec<f32>,
    p: Vec<f32>,
    dz: Vec<f32>,
    dstate: Vec<f32>,
    tmp: Vec<f32>,
}

impl Workspace {
    pub fn new(arch: ClsArch, capacity: usize) -> Self {
        let n = arch.layers * arch.directions();
        let (s, dh) = (arch.state_len(), arch.head_input());
        let c = arch.cell.cache_per_unit() * arch.hidden;
        let capacity = capacity.max(1);
        Workspace {
            arch,
            capacity,
            t_len: 0,
            states: (0..n).map(|_| vec![0.0; (capacity + 1) * s]).collect(),
            caches: (0..n).map(|_| vec![0.0; capacity * c]).collect(),
            outs: (0..arch.layers).map(|_| vec![0.0; capacity * dh]).collect(),
            douts: (0..arch.layers).map(|_| vec![0.0; capacity * dh]).collect(),
            z: vec![0.0; dh],
            p: vec![0.0; arch.classes],
            dz: vec![0.0; dh],
            dstate: vec![0.0; s],
            tmp: vec![0.0; arch.cell.tmp_per_unit() * arch.hidden],
        }
    }

    pub fn arch(&self) -> &ClsArch {
        &self.arch
    }

    /// Class probabilities of the latest forward pass.
    pub fn probs(&self) -> &[f32] {
        &self.p
    }

    /// The output layer's input `z` of the latest forward pass (`D·H` values).
    pub fn features(&self) -> &[f32] {
        &self.z
    }

    /// The most probable class of the latest forward pass (the first on ties).
    pub fn predicted(&self) -> usize {
        argmax(&self.p)
    }
}

/// Index of the largest value, the first one on ties.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = k;
        }
    }
    best
}

/// Forward pass over one sequence (at least one step); returns `-ln p[label]` (nats).
/// The class probabilities are in [`Workspace::probs`] afterwards.
pub fn forward(params: &[f32], x: SeqInput<'_>, label: usize, ws: &mut Workspace) -> f32 {
    let arch = ws.arch;
    let t_len = x.len();
    if t_len > ws.capacity {
        *ws = Workspace::new(arch, t_len);
    }
    ws.t_len = t_len;
    let (h, s, nd) = (arch.hidden, arch.state_len(), arch.directions());
    let dh = nd * h;
    let c = arch.cell.cache_per_unit() * h;
    for l in 0..arch.layers {
        let (below, here) = ws.outs.split_at_mut(l);
        let out = &mut here[0];
        for d in 0..nd {
            let w = layer_w(&arch, l, &params[arch.block(l, d)]);
            let states = &mut ws.states[l * nd + d];
            let caches = &mut ws.caches[l * nd + d];
            states[..s].fill(0.0);
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
                match arch.cell {
                    CellType::Elman => elman::layer_forward(&w, xin, prev, cur),
                    CellType::Gru => gru::forward(&w, xin, prev, cur, cache),
                    CellType::Lstm => lstm::forward(&w, xin, prev, cur, cache),
                }
                out[t * dh + d * h..t * dh + (d + 1) * h].copy_from_slice(&cur[..h]);
            }
        }
    }
    // z = [h→ at the last step ; h← at time 0]: each direction's final state.
    let top = &ws.outs[arch.layers - 1];
    for d in 0..nd {
        let t = if d == 0 { t_len - 1 } else { 0 };
        ws.z[d * h..(d + 1) * h].copy_from_slice(&top[t * dh + d * h..t * dh + (d + 1) * h]);
    }
    let (w_ya, b_y) = arch.head_ranges();
    let (w_ya, b_y) = (&params[w_ya], &params[b_y]);
    let p = &mut ws.p;
    let mut max = f32::NEG_INFINITY;
    for (k, l) in p.iter_mut().enumerate() {
        *l = dot(&w_ya[k * dh..(k + 1) * dh], &ws.z) + b_y[k];
        max = if *l > max { *l } else { max };
    }
    let target = p[label] - max;
    let mut total = 0.0f32;
    for l in p.iter_mut() {
        *l = exp(*l - max);
        total += *l;
    }
    let inv = 1.0 / total;
    for l in p.iter_mut() {
        *l *= inv;
    }
    total.ln() - target
}

/// Backward pass of the latest [`forward`] (same `params`, `x` and `label`), adding
/// `scale · ∂L/∂θ` into `grad` (laid out like the parameters).
pub fn backward(
    params: &[f32],
    x: SeqInput<'_>,
    label: usize,
    scale: f32,
    ws: &mut Workspace,
    grad: &mut [f32],
) {
    let arch = ws.arch;
    let t_len = ws.t_len;
    let (h, s, nd) = (arch.hidden, arch.state_len(), arch.directions());
    let dh = nd * h;
    let c = arch.cell.cache_per_unit() * h;
    let Workspace {
        states,
        caches,
        outs,
        douts,
        z,
        p,
        dz,
        dstate,
        tmp,
        ..
    } = ws;
    // Output layer: dl = scale · (p - onehot(y)).
    p[label] -= 1.0;
    for v in p.iter_mut() {
        *v *= scale;
    }
    let (r_w, r_b) = arch.head_ranges();
    let w_ya = &params[r_w.clone()];
    dz.fill(0.0);
    {
        let (g_rest, g_b) = grad.split_at_mut(r_b.start);
        let g_w = &mut g_rest[r_w];
        for (k, &d) in p.iter().enumerate() {
            axpy(d, z, &mut g_w[k * dh..(k + 1) * dh]);
            g_b[k] += d;
            axpy(d, &w_ya[k * dh..(k + 1) * dh], dz);
        }
    }
    let top = &mut douts[arch.layers - 1];
    top[..t_len * dh].fill(0.0);
    for d in 0..nd {
        let t = if d == 0 { t_len - 1 } else { 0 };
        top[t * dh + d * h..t * dh + (d + 1) * h].copy_from_slice(&dz[d * h..(d + 1) * h]);
    }
    for l in (0..arch.layers).rev() {
        let (dbelow, dhere) = douts.split_at_mut(l);
        let dout = &dhere[0];
        let mut dx_buf = dbelow.last_mut();
        if let Some(b) = dx_buf.as_deref_mut() {
            b[..t_len * dh].fill(0.0);
        }
        for d in 0..nd {
            let block = arch.block(l, d);
            let w = layer_w(&arch, l, &params[block.clone()]);
            let mut g = layer_w_mut(&arch, l, &mut grad[block]);
            let st = &states[l * nd + d];
            let ca = &caches[l * nd + d];
            dstate.fill(0.0);
            for k in (0..t_len).rev() {
                let t = if d == 0 { k } else { t_len - 1 - k };
                for (ds, &g_out) in dstate[..h]
                    .iter_mut()
                    .zip(&dout[t * dh + d * h..t * dh + (d + 1) * h])
                {
                    *ds += g_out;
                }
                let xin = if l == 0 {
                    x.at(t)
                } else {
                    LayerInput::Dense(&outs[l - 1][t * dh..(t + 1) * dh])
                };
                let prev = &st[k * s..(k + 1) * s];
                let cur = &st[(k + 1) * s..(k + 2) * s];
                let cache = &ca[k * c..(k + 1) * c];
                let dxo = dx_buf.as_deref_mut().map(|b| &mut b[t * dh..(t + 1) * dh]);
                match arch.cell {
                    CellType::Elman => {
                        elman::layer_backward(&w, xin, prev, cur, dstate, dxo, &mut g, tmp)
                    }
                    CellType::Gru => gru::backward(&w, xin, prev, cache, dstate, dxo, &mut g, tmp),
                    CellType::Lstm => {
                        lstm::backward(&w, xin, prev, cache, dstate, dxo, &mut g, tmp)
                    }
                }
            }
        }
    }
}
