//! One integer step of one layer of each cell kind, with the float cells' equations
//! (`cell::elman`, `cell::gru`, `cell::lstm`) in the formats of [`super`]: pre-activations
//! in Q12 (`i32`), hidden states and gates in Q15 (`i16`), an LSTM's cell state in its
//! calibrated format. Lengths are the caller's to check; nothing here can panic. The Q12
//! sums of a row's parts and its bias wrap on overflow (the same on every target, and a
//! trained model's stay far inside `i32`), which costs the Cortex-M0 fewer instructions
//! than saturating them; states saturate.

use super::act::{sigmoid_q, tanh_q};
use super::{i32_at, mul_q15, rescale, rescale64, sat16, Kernel, QMatrix, H_FRAC, Z_FRAC};
use crate::format::CellKind;

/// The input of one layer's step.
#[derive(Debug, Clone, Copy)]
pub enum QInput<'x> {
    /// The zero vector.
    Start,
    /// A one-hot vector (a column of the input weights).
    Token(usize),
    /// A dense vector with `frac` fraction bits: the quantized input of layer 0
    /// ([`super::network::quantize_input`]) or the Q15 state of the layer below.
    Dense(&'x [i16], u32),
}

/// One recurrent layer's quantized weights, borrowed from the file (file order).
#[derive(Debug, Clone, Copy)]
pub struct QLayer<'a> {
    /// Input weights, `G·H × I_l`.
    pub w_x: QMatrix<'a>,
    /// Recurrent weights, `G·H × H`.
    pub w_h: QMatrix<'a>,
    /// Input bias, `G·H` `i32` in Q12 (as bytes).
    pub b_x: &'a [u8],
    /// Recurrent bias of a gated cell (empty for Elman).
    pub b_h: &'a [u8],
}

/// `row r of m · x` in Q12, for `x` with `x_frac` fraction bits.
#[inline(always)]
pub fn row_q12<K: Kernel>(m: &QMatrix<'_>, r: usize, x: &[i16], x_frac: u32) -> i32 {
    let (e, row) = m.row(r);
    let shift = e + x_frac as i32 - Z_FRAC as i32;
    if m.width == 1 {
        rescale(K::dot_i8(row, x), shift)
    } else {
        rescale64(K::dot_i16(row, x), shift)
    }
}

/// `W_x[row] · x + b_x[row]` in Q12.
#[inline(always)]
fn input_term<K: Kernel>(layer: &QLayer<'_>, row: usize, x: QInput<'_>) -> i32 {
    let wx = match x {
        QInput::Start => 0,
        QInput::Token(k) => {
            let (e, q) = layer.w_x.at(row, k);
            rescale(q, e - Z_FRAC as i32)
        }
        QInput::Dense(v, frac) => row_q12::<K>(&layer.w_x, row, v, frac),
    };
    wx.wrapping_add(i32_at(layer.b_x, row))
}

/// `out[r] = m[r] · x + bias[r]` in Q12 for every row (`x` with `x_frac` fraction bits;
/// `bias` `i32`s as bytes, or empty for none): int8 rows four at a time through
/// [`Kernel::dot4_i8`].
#[inline(always)]
pub fn matvec_q12<K: Kernel>(
    m: &QMatrix<'_>,
    x: &[i16],
    x_frac: u32,
    bias: &[u8],
    out: &mut [i32],
) {
    let shift = x_frac as i32 - Z_FRAC as i32;
    let n = m.cols;
    let mut r = 0;
    if m.width == 1 && n > 0 {
        for (o, rows) in out.chunks_exact_mut(4).zip(m.values.chunks_exact(4 * n)) {
            let (r0, rest) = rows.split_at(n);
            let (r1, rest) = rest.split_at(n);
            let (r2, r3) = rest.split_at(n);
            let sums = K::dot4_i8([r0, r1, r2, r3], x);
            // The group's four exponents and biases with one bounds check each.
            let exps: [u8; 4] = m
                .exps
                .get(r..r + 4)
                .and_then(|e| e.try_into().ok())
                .unwrap_or_default();
            let biases: Option<&[u8; 16]> =
                bias.get(4 * r..4 * r + 16).and_then(|b| b.try_into().ok());
            for (k, (o, acc)) in o.iter_mut().zip(sums).enumerate() {
                let b = biases.map_or(0, |b| {
                    i32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]])
                });
                *o = rescale(acc, i32::from(exps[k] as i8) + shift).wrapping_add(b);
            }
            r += 4;
        }
    }
    for (k, o) in out.iter_mut().enumerate().skip(r) {
        *o = row_q12::<K>(m, k, x, x_frac).wrapping_add(i32_at(bias, k));
    }
}

/// `scratch[g] = W_h[g] · h + b_h[g]` for every row `g`, in Q12, before `h` changes.
#[inline(always)]
fn recurrent<K: Kernel>(layer: &QLayer<'_>, h: &[i16], scratch: &mut [i32]) {
    matvec_q12::<K>(&layer.w_h, h, H_FRAC, layer.b_h, scratch);
}

/// One step of a layer of `kind`: `state` holds `h` (Q15), then for LSTM `c` (`c_frac`
/// fraction bits); `scratch` has `G·H` values. Each kind's function below finds
/// `W_h · h_prev + b_h` of every gate in `scratch`.
pub fn layer_step<K: Kernel>(
    kind: CellKind,
    layer: &QLayer<'_>,
    state: &mut [i16],
    x: QInput<'_>,
    c_frac: u32,
    scratch: &mut [i32],
) {
    // Every kind starts with `W_h · h + b_h` for all its gates, before `h` changes: one
    // call here, so that the product's loop is compiled once for all three kinds.
    let h = if kind == CellKind::Lstm {
        state.len() / 2
    } else {
        state.len()
    };
    recurrent::<K>(layer, state.get(..h).unwrap_or_default(), scratch);
    match kind {
        CellKind::Elman => elman::<K>(layer, state, x, scratch),
        CellKind::Gru => gru::<K>(layer, state, x, scratch),
        CellKind::Lstm => lstm::<K>(layer, state, x, c_frac, scratch),
    }
}

/// `a = tanh(W_aa a_prev + W_ax x + b_a)`.
fn elman<K: Kernel>(layer: &QLayer<'_>, a: &mut [i16], x: QInput<'_>, scratch: &mut [i32]) {
    for (i, (a, z)) in a.iter_mut().zip(scratch.iter()).enumerate() {
        *a = tanh_q(z.wrapping_add(input_term::<K>(layer, i, x)), Z_FRAC);
    }
}

/// PyTorch's GRU: `r, z = σ(·)`, `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`,
/// `h = n + z ⊙ (h_prev − n)` (the same as `(1 − z) ⊙ n + z ⊙ h_prev`).
fn gru<K: Kernel>(layer: &QLayer<'_>, h_state: &mut [i16], x: QInput<'_>, scratch: &mut [i32]) {
    let h = h_state.len();
    let (g_r, rest) = scratch.split_at(h.min(scratch.len()));
    let (g_z, g_n) = rest.split_at(h.min(rest.len()));
    let units = h_state.iter_mut().zip(g_r).zip(g_z).zip(g_n).enumerate();
    for (j, (((h_j, g_r), g_z), g_n)) in units {
        let gx = |row| input_term::<K>(layer, row, x);
        let r = i32::from(sigmoid_q(gx(j).wrapping_add(*g_r), Z_FRAC));
        let z = i32::from(sigmoid_q(gx(h + j).wrapping_add(*g_z), Z_FRAC));
        let n = i32::from(tanh_q(gx(2 * h + j).wrapping_add(mul_q15(r, *g_n)), Z_FRAC));
        *h_j = sat16(n + mul_q15(z, i32::from(*h_j) - n));
    }
}

/// LSTM: `c = f ⊙ c_prev + i ⊙ g`, `h = o ⊙ tanh(c)`, gates i, f, g, o.
fn lstm<K: Kernel>(
    layer: &QLayer<'_>,
    state: &mut [i16],
    x: QInput<'_>,
    c_frac: u32,
    scratch: &mut [i32],
) {
    let h = state.len() / 2;
    let (h_state, c_state) = state.split_at_mut(h);
    let (g_i, rest) = scratch.split_at(h.min(scratch.len()));
    let (g_f, rest) = rest.split_at(h.min(rest.len()));
    let (g_g, g_o) = rest.split_at(h.min(rest.len()));
    let units = h_state.iter_mut().zip(c_state.iter_mut());
    let gates = g_i.iter().zip(g_f).zip(g_g).zip(g_o);
    // i · g is Q30; the cell state keeps `c_frac` bits.
    let ig_shift = 2 * H_FRAC as i32 - c_frac as i32;
    for (j, ((h_j, c_j), (((g_i, g_f), g_g), g_o))) in units.zip(gates).enumerate() {
        let gx = |row| input_term::<K>(layer, row, x);
        let i = i32::from(sigmoid_q(gx(j).wrapping_add(*g_i), Z_FRAC));
        let f = i32::from(sigmoid_q(gx(h + j).wrapping_add(*g_f), Z_FRAC));
        let g = i32::from(tanh_q(gx(2 * h + j).wrapping_add(*g_g), Z_FRAC));
        let o = i32::from(sigmoid_q(gx(3 * h + j).wrapping_add(*g_o), Z_FRAC));
        let c = sat16(mul_q15(f, i32::from(*c_j)).wrapping_add(rescale(i * g, ig_shift)));
        *c_j = c;
        *h_j = sat16(mul_q15(o, i32::from(tanh_q(i32::from(c), c_frac))));
    }
}
