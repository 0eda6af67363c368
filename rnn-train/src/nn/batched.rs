//! The whole network over a minibatch at once, forward and backward side by side: the
//! sequences go through each time step together, so that every product is a matrix
//! product ([`super::gemm`]) instead of one matrix–vector product per sequence. The
//! per-sequence passes ([`super::network`], [`super::recurrent`]) are the reference; the
//! equations are theirs, the order of the sums is not (the tests compare within rounding).
//!
//! ```text
//! sorted by length, longest first: at step k the sequences with T_p > k are rows 0 .. n_k
//! XP  = X · W_xᵀ + b_x                  all steps of all sequences, one product   (M × G·H)
//! HP_k = A_{k-1}[0..n_k] · W_hᵀ + b_h   one product per step                      (n_k × G·H)
//! A_k = cell(XP rows of step k, HP_k, A_{k-1})                                  row by row
//! backward, k = K-1 .. 0:  dA_{k-1} += dHP_k · W_h                               (n_k × H)
//! dW_h += Σ_k dHP_kᵀ · A_{k-1}          one product, K = Σ_k n_k rows
//! dW_x += dXPᵀ · X     dX = dXP · W_x   one product each; one-hot inputs gather and scatter
//! ```
//!
//! Direction `←` runs its step `k` at time `T_p - 1 - k` of each sequence, so the active
//! rows are the same prefix in both directions. Rows of `X`, `XP`, the layers' outputs and
//! the output layer are sequence-major (sequence `p`'s step `t` at `off_p + t`); states and
//! caches are step-major (the state before step `k` is block `k`, one row per sequence
//! still running). Gradient does not flow into the initial states (stream mode's
//! truncation), as in the per-sequence passes.

use multiversion::multiversion;

use super::arch::{Arch, Layout};
use super::conv::{self, ConvWorkspace};
use super::gemm::{gemm, Strided};
use super::loss::{mse_row, mse_row_backward, softmax_ce_row, softmax_ce_row_backward};
use super::network::{Example, Targets};
use super::recurrent::{layer_w, layer_w_mut, SeqInput};
use super::{elman, gru, lstm, CellType};
use crate::data::START;

/// One sequence of a minibatch: the example, the state it starts from (zero when `None`)
/// and its loss's weight in the minibatch.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub ex: Example<'a>,
    pub state0: Option<&'a [f32]>,
    pub scale: f32,
}

/// The weights the products read transposed (`W_xᵀ`, `W_hᵀ` per layer-direction, `W_yaᵀ`),
/// made once per minibatch and shared by its chunks.
#[derive(Clone, Debug)]
pub struct Transposed {
    arch: Arch,
    layout: Layout,
    wxt: Vec<Vec<f32>>,
    wht: Vec<Vec<f32>>,
    wyt: Vec<f32>,
}

impl Transposed {
    /// The transposes of `params`' weights.
    pub fn of(arch: Arch, params: &[f32]) -> Self {
        let n = arch.layers * arch.directions;
        let mut t = Transposed {
            arch,
            layout: arch.layout(),
            wxt: vec![Vec::new(); n],
            wht: vec![Vec::new(); n],
            wyt: Vec::new(),
        };
        t.update(params);
        t
    }

    /// Makes the transposes again for new `params`.
    pub fn update(&mut self, params: &[f32]) {
        let a = self.arch;
        let gh = a.cell.gates() * a.hidden;
        for l in 0..a.layers {
            for d in 0..a.directions {
                let w = layer_w(self.layout.layer(l, d), params);
                let ld = l * a.directions + d;
                transpose(w.w_x, gh, a.layer_input(l), &mut self.wxt[ld]);
                transpose(w.w_h, gh, a.hidden, &mut self.wht[ld]);
            }
        }
        let w_ya = &params[self.layout.head.0.clone()];
        transpose(w_ya, a.output, a.head_input(), &mut self.wyt);
    }
}

/// Buffers of the batched passes, grown to the largest minibatch seen and then reused.
#[derive(Clone, Debug)]
pub struct BatchWorkspace {
    arch: Arch,
    layout: Layout,
    /// Position `p` in length order → index of the item.
    order: Vec<usize>,
    /// Steps the recurrent layers run for sequence `p`.
    lens: Vec<usize>,
    /// Sequence `p`'s first row in the sequence-major buffers.
    off: Vec<usize>,
    /// `n_k`: sequences still running at step `k`.
    n_at: Vec<usize>,
    /// First row of state block `k` (`k = 0 ..= K`), block 0 the initial states.
    blk: Vec<usize>,
    /// Rows `M = Σ_p T_p`.
    m: usize,
    /// Layer 0's input: symbols (one-hot inputs) or dense rows (`M × I_0`).
    tokens: Vec<u32>,
    x0: Vec<f32>,
    /// `XP` of the layer-direction being run.
    xp: Vec<f32>,
    /// `HP_k` of the step being run (`n_0 × G·H`).
    hp: Vec<f32>,
    /// Per layer-direction: `(N + M) × S` states in blocks.
    states: Vec<Vec<f32>>,
    /// Per layer-direction: `M × C` caches, step-major like the states without block 0.
    caches: Vec<Vec<f32>>,
    /// Per layer: outputs and their gradients, `M × D·H`, sequence-major.
    outs: Vec<Vec<f32>>,
    douts: Vec<Vec<f32>>,
    /// `N × S`: `∂L/∂` the states of the step being undone.
    dstate: Vec<f32>,
    /// `dXP` (sequence-major) and `dHP` (aligned with the state blocks it multiplies).
    dxp: Vec<f32>,
    dhp: Vec<f32>,
    /// `∂L/∂` layer 0's input (a front-end's output), `M × I_0`.
    dx0: Vec<f32>,
    /// The one-hot scatter's `I × G·H` transposed gradient.
    gxt: Vec<f32>,
    /// The output layer's rows (logits, then `dl`), and a final readout's inputs.
    head: Vec<f32>,
    z: Vec<f32>,
    dz: Vec<f32>,
    conv: Vec<ConvWorkspace>,
    /// Per item: unscaled loss and right predictions.
    losses: Vec<f32>,
    correct: Vec<usize>,
    /// Per item: its position `p`, or `usize::MAX` when it was skipped (no steps).
    pos: Vec<usize>,
}

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

impl BatchWorkspace {
    pub fn new(arch: Arch) -> Self {
        let n = arch.layers * arch.directions;
        BatchWorkspace {
            arch,
            layout: arch.layout(),
            order: Vec::new(),
            lens: Vec::new(),
            off: Vec::new(),
            n_at: Vec::new(),
            blk: Vec::new(),
            m: 0,
            tokens: Vec::new(),
            x0: Vec::new(),
            xp: Vec::new(),
            hp: Vec::new(),
            states: vec![Vec::new(); n],
            caches: vec![Vec::new(); n],
            outs: vec![Vec::new(); arch.layers],
            douts: vec![Vec::new(); arch.layers],
            dstate: Vec::new(),
            dxp: Vec::new(),
            dhp: Vec::new(),
            dx0: Vec::new(),
            gxt: Vec::new(),
            head: Vec::new(),
            z: Vec::new(),
            dz: Vec::new(),
            conv: Vec::new(),
            losses: Vec::new(),
            correct: Vec::new(),
            pos: Vec::new(),
        }
    }

    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// Item `i`'s unscaled loss (`Σ` over its predictions, nats) in the latest pass.
    pub fn loss(&self, i: usize) -> f32 {
        self.losses[i]
    }

    /// Item `i`'s right predictions in the latest pass.
    pub fn correct(&self, i: usize) -> usize {
        self.correct[i]
    }

    /// Copies item `i`'s state after its last step, every layer-direction
    /// ([`Arch::state_len`] floats), into `out`; leaves `out` alone for an item without
    /// steps.
    pub fn final_state_into(&self, i: usize, out: &mut [f32]) {
        let p = self.pos[i];
        if p == usize::MAX {
            return;
        }
        let s = self.arch.layer_state_len();
        let row = self.blk[self.lens[p]] + p;
        for (st, o) in self.states.iter().zip(out.chunks_exact_mut(s)) {
            o.copy_from_slice(&st[row * s..(row + 1) * s]);
        }
    }

    /// Sorts the items by length and lays out the rows; runs a front-end's forward pass.
    fn prepare(&mut self, params: &[f32], items: &[Item<'_>]) {
        let arch = self.arch;
        let i0 = arch.layer_input(0);
        let conv_front = !arch.conv.is_empty();
        if conv_front && self.conv.len() < items.len() {
            self.conv.resize(items.len(), ConvWorkspace::default());
        }
        self.pos.clear();
        self.pos.resize(items.len(), usize::MAX);
        self.losses.clear();
        self.losses.resize(items.len(), 0.0);
        self.correct.clear();
        self.correct.resize(items.len(), 0);
        let mut steps = vec![0usize; items.len()];
        for (i, it) in items.iter().enumerate() {
            if it.ex.x.is_empty() || it.ex.predictions() == 0 {
                continue;
            }
            steps[i] = if conv_front {
                let ranges = &self.layout.conv;
                conv::forward(
                    params,
                    &arch.conv,
                    ranges,
                    arch.input,
                    it.ex.x,
                    &mut self.conv[i],
                );
                self.conv[i].top().len() / i0
            } else {
                it.ex.x.len()
            };
        }
        self.order.clear();
        self.order
            .extend((0..items.len()).filter(|&i| steps[i] > 0));
        // Stable: equal lengths keep the minibatch's order, so the layout is a function of
        // the minibatch alone.
        self.order.sort_by_key(|&i| std::cmp::Reverse(steps[i]));
        self.lens.clear();
        self.lens.extend(self.order.iter().map(|&i| steps[i]));
        self.off.clear();
        let mut m = 0;
        for (p, &i) in self.order.iter().enumerate() {
            self.pos[i] = p;
            self.off.push(m);
            m += self.lens[p];
        }
        self.m = m;
        let n = self.order.len();
        let k_max = self.lens.first().copied().unwrap_or(0);
        self.n_at.clear();
        self.n_at
            .extend((0..k_max).map(|k| self.lens.iter().take_while(|&&t| t > k).count()));
        self.blk.clear();
        self.blk.push(0);
        let mut row = n;
        for k in 0..k_max {
            self.blk.push(row);
            row += self.n_at[k];
        }
        // Layer 0's input rows.
        self.tokens.clear();
        if arch.input_kind == super::InputKind::OneHot && !conv_front {
            for &i in &self.order {
                if let SeqInput::Tokens(t) = items[i].ex.x {
                    self.tokens.extend_from_slice(t);
                }
            }
        } else {
            grow(&mut self.x0, m * i0);
            for (p, &i) in self.order.iter().enumerate() {
                let rows = &mut self.x0[self.off[p] * i0..(self.off[p] + self.lens[p]) * i0];
                if conv_front {
                    rows.copy_from_slice(self.conv[i].top());
                } else if let SeqInput::Dense { values, .. } = items[i].ex.x {
                    rows.copy_from_slice(&values[..rows.len()]);
                }
            }
        }
        let (s, gh, dh) = (
            arch.layer_state_len(),
            arch.cell.gates() * arch.hidden,
            arch.head_input(),
        );
        let c = arch.cell.cache_per_unit() * arch.hidden;
        for st in &mut self.states {
            grow(st, (n + m) * s);
        }
        for ca in &mut self.caches {
            grow(ca, m * c);
        }
        for o in self.outs.iter_mut().chain(&mut self.douts) {
            grow(o, m * dh);
        }
        grow(&mut self.xp, m * gh);
        grow(&mut self.dxp, m * gh);
        grow(&mut self.dhp, (n + m) * gh);
        grow(&mut self.hp, n * gh);
        grow(&mut self.dstate, n * s);
        if conv_front {
            grow(&mut self.dx0, m * i0);
        }
    }
}

/// `dst[r] = v` for each of `rows` rows of `v.len()`.
#[inline(always)]
fn broadcast_rows(dst: &mut [f32], rows: usize, v: &[f32]) {
    for r in dst.chunks_exact_mut(v.len()).take(rows) {
        r.copy_from_slice(v);
    }
}

/// `out[c][r] = w[r][c]` for a `rows × cols` row-major `w`, in tiles of 16 rows × 8
/// columns: each tile writes 8 runs of 16 floats (a cache line each) to `out`'s rows. (One
/// element at a time down a column of `out` would miss the cache at every write, and
/// 16 × 16 tiles put 16 lines `rows · 4` bytes apart in flight: with an LSTM's 4·H = 1,024
/// rows those are 4 KiB apart, all in one set of the L1 cache, and the tiles thrashed it.)
fn transpose(w: &[f32], rows: usize, cols: usize, out: &mut Vec<f32>) {
    const R: usize = 16;
    const C: usize = 8;
    grow(out, rows * cols);
    for r0 in (0..rows).step_by(R) {
        let r1 = (r0 + R).min(rows);
        for c0 in (0..cols).step_by(C) {
            for c in c0..(c0 + C).min(cols) {
                for (k, d) in out[c * rows + r0..c * rows + r1].iter_mut().enumerate() {
                    *d = w[(r0 + k) * cols + c];
                }
            }
        }
    }
}

/// `acc += Σ_r m[r]` over `rows` rows of `acc.len()`, in order of the rows.
#[inline(always)]
fn add_column_sums(m: &[f32], rows: usize, acc: &mut [f32]) {
    for r in m.chunks_exact(acc.len()).take(rows) {
        for (a, v) in acc.iter_mut().zip(r) {
            *a += v;
        }
    }
}

/// Forward and backward over a minibatch: adds `Σ_i scale_i · ∂L_i/∂θ` into `grad` (laid
/// out like the parameters) and keeps each item's loss, right predictions and final state
/// in `ws`. Items without steps or predictions count for nothing.
/// `tw` holds the transposes of `params`' weights. Compiled for AVX2 and AVX as well, so
/// that the cells' rows (`tanh`, `σ`) run over whole vectors.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma", "x86_64+avx"))]
pub fn gradient<'x>(
    params: &[f32],
    tw: &Transposed,
    items: &[Item<'x>],
    ws: &mut BatchWorkspace,
    grad: &mut [f32],
) {
    ws.prepare(params, items);
    if ws.order.is_empty() {
        return;
    }
    for l in 0..ws.arch.layers {
        for d in 0..ws.arch.directions {
            forward_layer(params, tw, items, ws, l, d);
        }
    }
    head(params, tw, items, ws, grad);
    for l in (0..ws.arch.layers).rev() {
        let arch = ws.arch;
        let width = arch.layer_input(l);
        let has_dx = l > 0 || !arch.conv.is_empty();
        if has_dx {
            let m = ws.m;
            let dx = if l > 0 {
                &mut ws.douts[l - 1]
            } else {
                &mut ws.dx0
            };
            dx[..m * width].fill(0.0);
        }
        for d in 0..arch.directions {
            backward_layer(params, ws, grad, l, d, has_dx);
        }
    }
    if !ws.arch.conv.is_empty() {
        let arch = ws.arch;
        let i0 = arch.layer_input(0);
        for (p, &i) in ws.order.iter().enumerate() {
            let rows = ws.off[p] * i0..(ws.off[p] + ws.lens[p]) * i0;
            let cw = &mut ws.conv[i];
            cw.top_grad().copy_from_slice(&ws.dx0[rows]);
            let ranges = &ws.layout.conv;
            conv::backward(
                params,
                &arch.conv,
                ranges,
                arch.input,
                items[i].ex.x,
                cw,
                grad,
            );
        }
    }
}

/// Layer `l`, direction `d`, forward over every step of every sequence.
#[inline(always)]
fn forward_layer(
    params: &[f32],
    tw: &Transposed,
    items: &[Item<'_>],
    ws: &mut BatchWorkspace,
    l: usize,
    d: usize,
) {
    let arch = ws.arch;
    let (h, s, nd) = (arch.hidden, arch.layer_state_len(), arch.directions);
    let (gh, dh, i_l) = (arch.cell.gates() * h, nd * h, arch.layer_input(l));
    let c = arch.cell.cache_per_unit() * h;
    let (m, n) = (ws.m, ws.order.len());
    let w = layer_w(ws.layout.layer(l, d), params);
    // XP = X · W_xᵀ + b_x for every row at once.
    let ld = l * nd + d;
    let (wxt, wht) = (&tw.wxt[ld], &tw.wht[ld]);
    broadcast_rows(&mut ws.xp, m, w.b_x);
    if l == 0 && !ws.tokens.is_empty() {
        for (row, &tok) in ws.xp.chunks_exact_mut(gh).zip(&ws.tokens) {
            if tok != START {
                let col = &wxt[tok as usize * gh..(tok as usize + 1) * gh];
                for (x, wv) in row.iter_mut().zip(col) {
                    *x += wv;
                }
            }
        }
    } else {
        let x = if l == 0 { &ws.x0 } else { &ws.outs[l - 1] };
        gemm(m, gh, i_l, Strided::rows(x, i_l), wxt, gh, &mut ws.xp, gh);
    }
    let (states, caches) = (&mut ws.states[ld], &mut ws.caches[ld]);
    for (p, &i) in ws.order.iter().enumerate() {
        let row = &mut states[p * s..(p + 1) * s];
        match items[i].state0 {
            Some(s0) => row.copy_from_slice(&s0[ld * s..(ld + 1) * s]),
            None => row.fill(0.0),
        }
    }
    let out = &mut ws.outs[l];
    for (k, &nk) in ws.n_at.iter().enumerate() {
        let (b_prev, b_cur) = (ws.blk[k], ws.blk[k + 1]);
        // HP_k = A_{k-1} · W_hᵀ + b_h.
        if w.b_h.is_empty() {
            ws.hp[..nk * gh].fill(0.0);
        } else {
            broadcast_rows(&mut ws.hp, nk, w.b_h);
        }
        let prev = Strided::rows(&states[b_prev * s..], s);
        gemm(nk, gh, h, prev, wht, gh, &mut ws.hp, gh);
        let (past, future) = states.split_at_mut(b_cur * s);
        for p in 0..nk {
            let t = if d == 0 { k } else { ws.lens[p] - 1 - k };
            let r = ws.off[p] + t;
            let xp = &ws.xp[r * gh..(r + 1) * gh];
            let hp = &ws.hp[p * gh..(p + 1) * gh];
            let prev = &past[(b_prev + p) * s..(b_prev + p + 1) * s];
            let cur = &mut future[p * s..(p + 1) * s];
            let ci = b_cur - n + p;
            let cache = &mut caches[ci * c..(ci + 1) * c];
            match arch.cell {
                CellType::Elman => elman::forward_row(xp, hp, prev, cur, cache),
                CellType::Gru => gru::forward_row(xp, hp, prev, cur, cache),
                CellType::Lstm => lstm::forward_row(xp, hp, prev, cur, cache),
            }
            out[r * dh + d * h..r * dh + (d + 1) * h].copy_from_slice(&cur[..h]);
        }
    }
}

/// Layer `l`, direction `d`, backward over every step (its output gradient in `douts[l]`):
/// adds the layer's weight gradients into `grad` and, with `has_dx`, its input gradient
/// into the layer below's `douts` (or the front-end's `dx0`).
#[inline(always)]
fn backward_layer(
    params: &[f32],
    ws: &mut BatchWorkspace,
    grad: &mut [f32],
    l: usize,
    d: usize,
    has_dx: bool,
) {
    let arch = ws.arch;
    let (h, s, nd) = (arch.hidden, arch.layer_state_len(), arch.directions);
    let (gh, dh, i_l) = (arch.cell.gates() * h, nd * h, arch.layer_input(l));
    let c = arch.cell.cache_per_unit() * h;
    let (m, n) = (ws.m, ws.order.len());
    let ranges = ws.layout.layer(l, d).clone();
    let w = layer_w(&ranges, params);
    let ld = l * nd + d;
    let k_max = ws.n_at.len();
    let rows_prev = ws.blk[k_max];
    ws.dstate[..n * s].fill(0.0);
    // Rows of a state block beyond the sequences still running at the next step stay zero.
    ws.dhp[..rows_prev * gh].fill(0.0);
    let (states, caches) = (&ws.states[ld], &ws.caches[ld]);
    let dout = &ws.douts[l];
    for k in (0..k_max).rev() {
        let nk = ws.n_at[k];
        let (b_prev, b_cur) = (ws.blk[k], ws.blk[k + 1]);
        for p in 0..nk {
            let t = if d == 0 { k } else { ws.lens[p] - 1 - k };
            let r = ws.off[p] + t;
            let ds = &mut ws.dstate[p * s..(p + 1) * s];
            for (v, g) in ds[..h]
                .iter_mut()
                .zip(&dout[r * dh + d * h..r * dh + (d + 1) * h])
            {
                *v += g;
            }
            let prev = &states[(b_prev + p) * s..(b_prev + p + 1) * s];
            let cur = &states[(b_cur + p) * s..(b_cur + p + 1) * s];
            let ci = b_cur - n + p;
            let cache = &caches[ci * c..(ci + 1) * c];
            let d_i = &mut ws.dxp[r * gh..(r + 1) * gh];
            let d_h = &mut ws.dhp[(b_prev + p) * gh..(b_prev + p + 1) * gh];
            match arch.cell {
                CellType::Elman => elman::backward_row(prev, cur, cache, ds, d_i, d_h),
                CellType::Gru => gru::backward_row(prev, cur, cache, ds, d_i, d_h),
                CellType::Lstm => lstm::backward_row(prev, cur, cache, ds, d_i, d_h),
            }
        }
        // dA_{k-1} += dHP_k · W_h.
        let dhp = Strided::rows(&ws.dhp[b_prev * gh..], gh);
        gemm(nk, h, gh, dhp, w.w_h, h, &mut ws.dstate, s);
    }
    let g = layer_w_mut(&ranges, grad);
    // dW_h += Σ_k dHP_kᵀ · A_{k-1}, db_h += Σ dHP.
    let dhp_t = Strided::transposed(&ws.dhp, gh);
    gemm(gh, h, rows_prev, dhp_t, states, s, g.w_h, h);
    if !g.b_h.is_empty() {
        add_column_sums(&ws.dhp, rows_prev, g.b_h);
    }
    // dW_x += dXPᵀ · X, db_x += Σ dXP, dX += dXP · W_x.
    add_column_sums(&ws.dxp, m, g.b_x);
    if l == 0 && !ws.tokens.is_empty() {
        ws.gxt.clear();
        ws.gxt.resize(i_l * gh, 0.0);
        for (row, &tok) in ws.dxp.chunks_exact(gh).zip(&ws.tokens) {
            if tok != START {
                let col = &mut ws.gxt[tok as usize * gh..(tok as usize + 1) * gh];
                for (gv, v) in col.iter_mut().zip(row) {
                    *gv += v;
                }
            }
        }
        for r in 0..gh {
            for (ci, gv) in g.w_x[r * i_l..(r + 1) * i_l].iter_mut().enumerate() {
                *gv += ws.gxt[ci * gh + r];
            }
        }
    } else {
        let x = if l == 0 { &ws.x0 } else { &ws.outs[l - 1] };
        let dxp_t = Strided::transposed(&ws.dxp, gh);
        gemm(gh, i_l, m, dxp_t, x, i_l, g.w_x, i_l);
    }
    if has_dx {
        let dx = if l > 0 {
            &mut ws.douts[l - 1]
        } else {
            &mut ws.dx0
        };
        gemm(m, i_l, gh, Strided::rows(&ws.dxp, gh), w.w_x, i_l, dx, i_l);
    }
}

/// The output layer and the loss, forward and backward: fills each item's loss and right
/// predictions, adds the output layer's gradients into `grad` and leaves `∂L/∂` the top
/// layer's outputs in `douts[L-1]`.
///
/// ```text
/// every step:  LG = OUT · W_yaᵀ + b_y (M × O)    dOUT = dLG · W_ya    dW_ya += dLGᵀ · OUT
/// final:       Z_p = [h→ at T_p-1 ; h← at 0]      the same products over N rows
/// ```
#[inline(always)]
fn head(
    params: &[f32],
    tw: &Transposed,
    items: &[Item<'_>],
    ws: &mut BatchWorkspace,
    grad: &mut [f32],
) {
    let arch = ws.arch;
    let (o, h, dh) = (arch.output, arch.hidden, arch.head_input());
    let (m, n) = (ws.m, ws.order.len());
    let top = arch.layers - 1;
    let (r_w, r_b) = ws.layout.head.clone();
    let (w_ya, b_y) = (&params[r_w.clone()], &params[r_b.clone()]);
    let wyt = &tw.wyt;
    let final_readout = matches!(items[ws.order[0]].ex.y, Targets::Final(_));
    let rows = if final_readout { n } else { m };
    if final_readout {
        grow(&mut ws.z, n * dh);
        grow(&mut ws.dz, n * dh);
        for p in 0..n {
            let z = &mut ws.z[p * dh..(p + 1) * dh];
            let last = ws.off[p] + ws.lens[p] - 1;
            let first = ws.off[p];
            for (dd, zd) in z.chunks_exact_mut(h).enumerate() {
                let r = if dd == 0 { last } else { first };
                zd.copy_from_slice(&ws.outs[top][r * dh + dd * h..r * dh + (dd + 1) * h]);
            }
        }
    }
    grow(&mut ws.head, rows * o);
    broadcast_rows(&mut ws.head, rows, b_y);
    let input = if final_readout {
        &ws.z[..]
    } else {
        &ws.outs[top][..]
    };
    gemm(
        rows,
        o,
        dh,
        Strided::rows(input, dh),
        wyt,
        o,
        &mut ws.head,
        o,
    );
    for (p, &i) in ws.order.iter().enumerate() {
        let it = &items[i];
        let (mut loss, mut right) = (0.0f32, 0usize);
        match it.ex.y {
            Targets::EveryStep(y) => {
                let t_len = ws.lens[p];
                for t in 0..t_len {
                    let r = ws.off[p] + t;
                    let row = &mut ws.head[r * o..(r + 1) * o];
                    match y.get(t) {
                        Some(&y) => {
                            loss += softmax_ce_row(row, y as usize);
                            right += usize::from(rnn_core::sample::argmax(row) == y as usize);
                            softmax_ce_row_backward(row, y as usize, it.scale);
                        }
                        None => row.fill(0.0),
                    }
                }
            }
            Targets::Values(y) => {
                for t in 0..ws.lens[p] {
                    let r = ws.off[p] + t;
                    let row = &mut ws.head[r * o..(r + 1) * o];
                    match y.get(t * o..(t + 1) * o) {
                        Some(y) => {
                            loss += mse_row(row, y);
                            mse_row_backward(row, y, it.scale);
                        }
                        None => row.fill(0.0),
                    }
                }
            }
            Targets::Final(y) => {
                let row = &mut ws.head[p * o..(p + 1) * o];
                loss = softmax_ce_row(row, y);
                right = usize::from(rnn_core::sample::argmax(row) == y);
                softmax_ce_row_backward(row, y, it.scale);
            }
        }
        ws.losses[i] = loss;
        ws.correct[i] = right;
    }
    // The output layer's gradients.
    {
        let (g_rest, g_b) = grad.split_at_mut(r_b.start);
        let (g_w, g_b) = (&mut g_rest[r_w], &mut g_b[..o]);
        add_column_sums(&ws.head, rows, g_b);
        gemm(
            o,
            dh,
            rows,
            Strided::transposed(&ws.head, o),
            input,
            dh,
            g_w,
            dh,
        );
    }
    let dtop = &mut ws.douts[top];
    dtop[..m * dh].fill(0.0);
    if final_readout {
        ws.dz[..n * dh].fill(0.0);
        gemm(
            n,
            dh,
            o,
            Strided::rows(&ws.head, o),
            w_ya,
            dh,
            &mut ws.dz,
            dh,
        );
        for p in 0..n {
            let last = ws.off[p] + ws.lens[p] - 1;
            let first = ws.off[p];
            for (dd, dzd) in ws.dz[p * dh..(p + 1) * dh].chunks_exact(h).enumerate() {
                let r = if dd == 0 { last } else { first };
                dtop[r * dh + dd * h..r * dh + (dd + 1) * h].copy_from_slice(dzd);
            }
        }
    } else {
        gemm(m, dh, o, Strided::rows(&ws.head, o), w_ya, dh, dtop, dh);
    }
}

#[cfg(test)]
mod tests {
    use super::transpose;

    #[test]
    fn transpose_moves_every_element_for_shapes_off_the_tiles() {
        // Shapes below, at and off the 16 × 8 tiles, and an LSTM-like 1,024 × 24.
        for (rows, cols) in [(1, 1), (3, 5), (16, 8), (17, 9), (37, 19), (1024, 24)] {
            let w: Vec<f32> = (0..rows * cols).map(|k| k as f32).collect();
            let mut out = Vec::new();
            transpose(&w, rows, cols, &mut out);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        out[c * rows + r],
                        w[r * cols + c],
                        "{rows} x {cols} at {r}, {c}"
                    );
                }
            }
        }
    }
}
