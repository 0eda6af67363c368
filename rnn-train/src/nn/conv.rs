//! The convolutional front-end of a classifier for training: causal strided 1-D
//! convolutions with ReLU over a whole sequence, forward and backward side by side (the
//! device runs the same equation one step at a time, `rnn_core::Conv`).
//!
//! ```text
//! forward, layer l:   z_j = b + Σ_{k<K} W[·,k,·] · u_{jS-k}     v_j = ReLU(z_j)     j = 0 .. ceil(T/S)-1
//! backward:           dz_j = dv_j ⊙ [v_j > 0]
//!                     dW[o,k,c] += dz_j[o] · u_{jS-k}[c]     db += dz_j
//!                     du_{jS-k}[c] += W[o,k,c] · dz_j[o]      (layers above the first)
//! ```
//!
//! `u` before the first step is zero; layer 0 reads the (normalised) dense input, or the
//! one-hot vector of each symbol.

use std::ops::Range;

use rnn_core::ConvStack;

use super::recurrent::SeqInput;

/// The ranges of one convolutional layer's weights and bias in the parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvRanges {
    pub w: Range<usize>,
    pub b: Range<usize>,
}

/// The outputs of every layer of the latest forward pass, and their gradients.
#[derive(Clone, Debug, Default)]
pub struct ConvWorkspace {
    /// Per layer: `T_l × C_l` outputs, `T_l = ceil(T_{l-1} / S_l)`.
    outs: Vec<Vec<f32>>,
    douts: Vec<Vec<f32>>,
    /// Steps of the input of the latest forward pass.
    t_in: usize,
}

impl ConvWorkspace {
    /// The last layer's outputs of the latest forward pass (what the recurrent stack reads)
    /// and their count of steps.
    pub fn top(&self) -> &[f32] {
        self.outs.last().map_or(&[], Vec::as_slice)
    }

    /// `∂L/∂` the last layer's outputs, zeroed and sized for the latest forward pass, for
    /// the recurrent stack's backward pass to fill.
    pub fn top_grad(&mut self) -> &mut [f32] {
        let n = self.outs.last().map_or(0, Vec::len);
        match self.douts.last_mut() {
            Some(d) => {
                d.clear();
                d.resize(n, 0.0);
                d
            }
            None => &mut [],
        }
    }
}

/// `u_t[c]` of layer 0: the dense input, or the one-hot vector of a symbol (the start
/// symbol is the zero vector).
#[inline(always)]
fn input_at(x: &SeqInput<'_>, t: usize, c: usize, c_in: usize) -> f32 {
    match *x {
        SeqInput::Tokens(tok) => f32::from(u8::from(tok[t] as usize == c)),
        SeqInput::Dense { values, .. } => values[t * c_in + c],
    }
}

/// Runs every layer over `x` (input channels `input`), keeping each layer's outputs.
pub fn forward(
    params: &[f32],
    stack: &ConvStack,
    ranges: &[ConvRanges],
    input: usize,
    x: SeqInput<'_>,
    ws: &mut ConvWorkspace,
) {
    let layers = stack.layers();
    ws.outs.resize(layers.len(), Vec::new());
    ws.douts.resize(layers.len(), Vec::new());
    ws.t_in = x.len();
    let mut t_len = x.len();
    for (l, (s, r)) in layers.iter().zip(ranges).enumerate() {
        let (k, st, c) = (
            usize::from(s.kernel),
            usize::from(s.stride),
            usize::from(s.channels),
        );
        let c_in = stack.layer_input(l, input);
        let (w, b) = (&params[r.w.clone()], &params[r.b.clone()]);
        let t_out = t_len.div_ceil(st);
        let (below, here) = ws.outs.split_at_mut(l);
        let out = &mut here[0];
        out.clear();
        out.resize(t_out * c, 0.0);
        for j in 0..t_out {
            let t = j * st;
            for o in 0..c {
                let mut acc = 0.0f32;
                for back in 0..k.min(t + 1) {
                    let row = &w[(o * k + back) * c_in..(o * k + back + 1) * c_in];
                    let u = t - back;
                    match below.last() {
                        None => {
                            for (ch, wv) in row.iter().enumerate() {
                                acc += wv * input_at(&x, u, ch, c_in);
                            }
                        }
                        Some(prev) => {
                            for (wv, uv) in row.iter().zip(&prev[u * c_in..(u + 1) * c_in]) {
                                acc += wv * uv;
                            }
                        }
                    }
                }
                let z = acc + b[o];
                out[j * c + o] = if z > 0.0 { z } else { 0.0 };
            }
        }
        t_len = t_out;
    }
}

/// Backward through [`forward`] (same `params` and `x`) from the gradient of the last
/// layer's outputs left in [`ConvWorkspace::top_grad`]; adds `∂L/∂W`, `∂L/∂b` of every
/// layer into `grad`.
pub fn backward(
    params: &[f32],
    stack: &ConvStack,
    ranges: &[ConvRanges],
    input: usize,
    x: SeqInput<'_>,
    ws: &mut ConvWorkspace,
    grad: &mut [f32],
) {
    let layers = stack.layers();
    let ConvWorkspace { outs, douts, .. } = ws;
    for l in (0..layers.len()).rev() {
        let s = layers[l];
        let (k, st, c) = (
            usize::from(s.kernel),
            usize::from(s.stride),
            usize::from(s.channels),
        );
        let c_in = stack.layer_input(l, input);
        let r = &ranges[l];
        let w = &params[r.w.clone()];
        let (dbelow, dhere) = douts.split_at_mut(l);
        let dout = &mut dhere[0];
        let out = &outs[l];
        // dz = dv ⊙ [v > 0], in place.
        for (d, v) in dout.iter_mut().zip(out) {
            if *v <= 0.0 {
                *d = 0.0;
            }
        }
        let t_out = out.len() / c.max(1);
        let mut du = dbelow.last_mut();
        if let (Some(du), Some(prev)) = (du.as_deref_mut(), l.checked_sub(1).map(|b| &outs[b])) {
            du.clear();
            du.resize(prev.len(), 0.0);
        }
        let (g_w, g_b) = {
            let (head, tail) = grad.split_at_mut(r.b.start);
            (&mut head[r.w.clone()], &mut tail[..c])
        };
        for j in 0..t_out {
            let t = j * st;
            for o in 0..c {
                let dz = dout[j * c + o];
                if dz == 0.0 {
                    continue;
                }
                g_b[o] += dz;
                for back in 0..k.min(t + 1) {
                    let at = (o * k + back) * c_in;
                    let u = t - back;
                    if l == 0 {
                        for ch in 0..c_in {
                            g_w[at + ch] += dz * input_at(&x, u, ch, c_in);
                        }
                    } else {
                        let prev = &outs[l - 1][u * c_in..(u + 1) * c_in];
                        for (g, uv) in g_w[at..at + c_in].iter_mut().zip(prev) {
                            *g += dz * uv;
                        }
                        if let Some(du) = du.as_deref_mut() {
                            let row = &w[at..at + c_in];
                            for (d, wv) in du[u * c_in..(u + 1) * c_in].iter_mut().zip(row) {
                                *d += dz * wv;
                            }
                        }
                    }
                }
            }
        }
    }
}
