//! One integer step of one layer of each cell kind, with the float cells' equations
//! (`cell::elman`, `cell::gru`, `cell::lstm`) in the formats of [`super`]: pre-activations
//! in Q12 (`i32`), hidden states and gates in Q15 (`i16`), an LSTM's cell state in its
//! calibrated format. Lengths are the caller's to check; nothing here can panic. The Q12
//! sums of a row's parts and its bias wrap on overflow (the same on every target, and a
//! trained model's stay far inside `i32`), which costs the Cortex-M0 fewer instructions
//! than saturating them; states saturate.

use super::act::{sigmoid_q, tanh_q};
use super::{
    i32_at, mul_q15, rescale, rescale64, rescale_i16, sat16, Kernel, QMatrix, H_FRAC, Z_FRAC,
};
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
    if m.int8::<K>() {
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
            // A stored weight: within `i16` (`value` reads an `i8` or an `i16`).
            let (e, q) = layer.w_x.at(row, k);
            rescale_i16(q as i16, e - Z_FRAC as i32)
        }
        QInput::Dense(v, frac) => row_q12::<K>(&layer.w_x, row, v, frac),
    };
    wx.wrapping_add(i32_at(layer.b_x, row))
}

/// `z[r] += W_x[r] · x + b_x[r]` (Q12, wrapping) for the rows `r < z.len()`: the input's
/// share of every pre-activation, what [`input_term`] gives row by row (the start
/// symbol's, the bias alone, in one loop without a bounds check per row when the layer
/// holds every bias).
#[inline(always)]
fn add_input<K: Kernel>(layer: &QLayer<'_>, x: QInput<'_>, z: &mut [i32]) {
    match (x, layer.b_x.get(..4 * z.len())) {
        (QInput::Start, Some(biases)) => {
            for (z, b) in z.iter_mut().zip(biases.chunks_exact(4)) {
                *z = z.wrapping_add(le_i32(b));
            }
        }
        _ => {
            for (r, z) in z.iter_mut().enumerate() {
                *z = z.wrapping_add(input_term::<K>(layer, r, x));
            }
        }
    }
}

/// `out[r] = m[r] · x + bias[r]` in Q12 for every row (`x` with `x_frac` fraction bits;
/// `bias` `i32`s as bytes, or empty for none): int8 rows through [`Kernel::matvec_i8`]
/// (four at a time), then each sum rescaled and its bias added in a loop of its own.
#[inline(never)]
pub fn matvec_q12<K: Kernel>(
    m: &QMatrix<'_>,
    x: &[i16],
    x_frac: u32,
    bias: &[u8],
    out: &mut [i32],
) {
    let shift = x_frac as i32 - Z_FRAC as i32;
    if !m.int8::<K>() {
        for (k, o) in out.iter_mut().enumerate() {
            *o = row_q12::<K>(m, k, x, x_frac).wrapping_add(i32_at(bias, k));
        }
        return;
    }
    K::matvec_i8(m.values, m.cols, x, out);
    let rows = out.len();
    match (m.exps.get(..rows), bias.get(..4 * rows)) {
        // Every row's exponent and bias there (a loaded model's): no bounds check per row.
        (Some(exps), Some(biases)) => {
            for ((o, &e), b) in out.iter_mut().zip(exps).zip(biases.chunks_exact(4)) {
                *o = rescale(*o, i32::from(e as i8) + shift).wrapping_add(le_i32(b));
            }
        }
        _ => {
            for (k, o) in out.iter_mut().enumerate() {
                let e = m.exps.get(k).map_or(0, |&b| i32::from(b as i8));
                *o = rescale(*o, e + shift).wrapping_add(i32_at(bias, k));
            }
        }
    }
}

/// `scratch[g] = W_h[g] · h + b_h[g]` for every row `g`, plus `W_x[g] · x + b_x[g]` for
/// the rows `g < with_input`, in Q12, before `h` changes. For int8 rows and a one-hot
/// input (the common case, when the layer holds every exponent and bias), one loop
/// rescales each row's sum and adds its biases and its input column; otherwise
/// [`matvec_q12`], then [`add_input`].
#[inline(always)]
fn preact<K: Kernel>(
    layer: &QLayer<'_>,
    h: &[i16],
    x: QInput<'_>,
    with_input: usize,
    scratch: &mut [i32],
) {
    let (m, mx) = (&layer.w_h, &layer.w_x);
    let rows = scratch.len();
    let n = with_input.min(rows);
    let fused = match x {
        QInput::Token(k) if k < mx.cols && m.int8::<K>() && mx.int8::<K>() => (
            k,
            m.exps.get(..rows),
            mx.exps.get(..n),
            layer.b_x.get(..4 * n),
            mx.values.get(..n.saturating_mul(mx.cols)),
        ),
        _ => (0, None, None, None, None),
    };
    if let (k, Some(exps), Some(exps_x), Some(b_x), Some(values_x)) = fused {
        let (e_in, e_rest) = exps.split_at(n);
        let column = values_x.chunks_exact(mx.cols.max(1));
        let input = exps_x.iter().zip(b_x.chunks_exact(4)).zip(column);
        match layer.b_h.get(..4 * rows) {
            Some(b_h) => {
                K::matvec_i8(m.values, m.cols, h, scratch);
                let (z_in, z_rest) = scratch.split_at_mut(n);
                let (b_in, b_rest) = b_h.split_at(4 * n);
                let (b_in, b_rest) = (b_in.chunks_exact(4), b_rest.chunks_exact(4));
                rows_with_input(z_in, e_in, b_in.map(le_i32), k, input);
                rows_alone(z_rest, e_rest, b_rest.map(le_i32));
                return;
            }
            // No recurrent bias (Elman): every row has the input's share.
            None if layer.b_h.is_empty() && n == rows => {
                K::matvec_i8(m.values, m.cols, h, scratch);
                rows_with_input(scratch, e_in, core::iter::repeat(0), k, input);
                return;
            }
            None => {}
        }
    }
    matvec_q12::<K>(m, h, H_FRAC, layer.b_h, scratch);
    add_input::<K>(layer, x, scratch.get_mut(..n).unwrap_or_default());
}

/// The `i32` of 4 little-endian bytes (0 for fewer).
#[inline(always)]
fn le_i32(b: &[u8]) -> i32 {
    match b {
        [a, b, c, d, ..] => i32::from_le_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// [`preact`]'s loop: `z = rescale(sum, e + 3) + b_h + rescale(row[k], e_x − 12) + b_x`
/// for the rows `input` holds (exponent, bias bytes and row of `W_x`): the sums of
/// [`matvec_q12`] and [`add_input`] in one pass.
#[inline(always)]
fn rows_with_input<'a>(
    z: &mut [i32],
    exps: &[u8],
    b_h: impl Iterator<Item = i32>,
    k: usize,
    input: impl Iterator<Item = ((&'a u8, &'a [u8]), &'a [u8])>,
) {
    let shift = H_FRAC as i32 - Z_FRAC as i32;
    let rows = z.iter_mut().zip(exps).zip(b_h);
    for (((z, &e), b), ((&e_x, b_x), row)) in rows.zip(input) {
        let q = row.get(k).map_or(0, |&q| i16::from(q as i8));
        let wx = rescale_i16(q, i32::from(e_x as i8) - Z_FRAC as i32);
        let r = rescale(*z, i32::from(e as i8) + shift).wrapping_add(b);
        *z = r.wrapping_add(wx.wrapping_add(le_i32(b_x)));
    }
}

/// [`preact`]'s rows without the input's share (a GRU's n gate): `rescale(sum, e + 3) +
/// b_h`.
#[inline(always)]
fn rows_alone(z: &mut [i32], exps: &[u8], b_h: impl Iterator<Item = i32>) {
    let shift = H_FRAC as i32 - Z_FRAC as i32;
    for ((z, &e), b) in z.iter_mut().zip(exps).zip(b_h) {
        *z = rescale(*z, i32::from(e as i8) + shift).wrapping_add(b);
    }
}

/// One step of a layer of `kind`: `state` holds `h` (Q15), then for LSTM `c` (`c_frac`
/// fraction bits); `scratch` has `G·H` values. Each kind's function below finds
/// `W_h · h_prev + b_h` of every gate in `scratch`, with `W_x · x + b_x` added but for a
/// GRU's n gate (which needs `r` first).
pub fn layer_step<K: Kernel>(
    kind: CellKind,
    layer: &QLayer<'_>,
    state: &mut [i16],
    x: QInput<'_>,
    c_frac: u32,
    scratch: &mut [i32],
) {
    // A build for one kind (checked when the model loaded) compiles that kind's code alone.
    let kind = K::CELL.unwrap_or(kind);
    // Every kind starts with `W_h · h + b_h` for all its gates, before `h` changes: one
    // call here, so that the product's loop is compiled once for all three kinds.
    let h = if kind == CellKind::Lstm {
        state.len() / 2
    } else {
        state.len()
    };
    let with_input = if kind == CellKind::Gru {
        2 * h
    } else {
        scratch.len()
    };
    preact::<K>(
        layer,
        state.get(..h).unwrap_or_default(),
        x,
        with_input,
        scratch,
    );
    match kind {
        CellKind::Elman => elman(state, scratch),
        CellKind::Gru => gru::<K>(layer, state, x, scratch),
        CellKind::Lstm => lstm(state, c_frac, scratch),
    }
}

/// `a = tanh(W_aa a_prev + W_ax x + b_a)`.
fn elman(a: &mut [i16], scratch: &[i32]) {
    for (a, z) in a.iter_mut().zip(scratch) {
        *a = tanh_q(*z, Z_FRAC);
    }
}

/// PyTorch's GRU: `r, z = σ(·)`, `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`,
/// `h = n + z ⊙ (h_prev − n)` (the same as `(1 − z) ⊙ n + z ⊙ h_prev`).
fn gru<K: Kernel>(layer: &QLayer<'_>, h_state: &mut [i16], x: QInput<'_>, scratch: &[i32]) {
    let h = h_state.len();
    // The input's share of r and z is in their sums; n's must wait for `r`: for a
    // one-hot input (int8, every row there) read down the n rows' column, else row by
    // row.
    let mx = &layer.w_x;
    let column = match x {
        QInput::Token(k) if k < mx.cols && mx.int8::<K>() => (
            k,
            mx.exps.get(h.saturating_mul(2)..h.saturating_mul(3)),
            layer.b_x.get(h.saturating_mul(8)..h.saturating_mul(12)),
            mx.values.get(
                h.saturating_mul(2).saturating_mul(mx.cols)
                    ..h.saturating_mul(3).saturating_mul(mx.cols),
            ),
        ),
        _ => (0, None, None, None),
    };
    if let (k, Some(exps), Some(b_x), Some(values)) = column {
        let rows = exps.iter().zip(b_x.chunks_exact(4));
        let terms = rows
            .zip(values.chunks_exact(mx.cols.max(1)))
            .map(|((&e, b), row)| {
                let q = row.get(k).map_or(0, |&q| i16::from(q as i8));
                rescale_i16(q, i32::from(e as i8) - Z_FRAC as i32).wrapping_add(le_i32(b))
            });
        gru_units(h_state, scratch, terms);
    } else {
        let terms = (0..h).map(|j| input_term::<K>(layer, 2 * h + j, x));
        gru_units(h_state, scratch, terms);
    }
}

/// [`gru`]'s loop over the units, with `W_in x + b_in` of each from `gx_n`.
#[inline(always)]
fn gru_units(h_state: &mut [i16], scratch: &[i32], gx_n: impl Iterator<Item = i32>) {
    let h = h_state.len();
    let (g_rz, g_n) = scratch.split_at((2 * h).min(scratch.len()));
    let (g_r, g_z) = g_rz.split_at(h.min(g_rz.len()));
    let units = h_state.iter_mut().zip(g_r).zip(g_z).zip(g_n).zip(gx_n);
    for ((((h_j, g_r), g_z), g_n), gx) in units {
        let r = i32::from(sigmoid_q(*g_r, Z_FRAC));
        let z = i32::from(sigmoid_q(*g_z, Z_FRAC));
        let n = i32::from(tanh_q(gx.wrapping_add(mul_q15(r, *g_n)), Z_FRAC));
        *h_j = sat16(n + mul_q15(z, i32::from(*h_j) - n));
    }
}

/// LSTM: `c = f ⊙ c_prev + i ⊙ g`, `h = o ⊙ tanh(c)`, gates i, f, g, o.
fn lstm(state: &mut [i16], c_frac: u32, scratch: &[i32]) {
    let h = state.len() / 2;
    let (h_state, c_state) = state.split_at_mut(h);
    let (g_i, rest) = scratch.split_at(h.min(scratch.len()));
    let (g_f, rest) = rest.split_at(h.min(rest.len()));
    let (g_g, g_o) = rest.split_at(h.min(rest.len()));
    let units = h_state.iter_mut().zip(c_state.iter_mut());
    let gates = g_i.iter().zip(g_f).zip(g_g).zip(g_o);
    // i · g is Q30; the cell state keeps `c_frac` bits.
    let ig_shift = 2 * H_FRAC as i32 - c_frac as i32;
    for ((h_j, c_j), (((g_i, g_f), g_g), g_o)) in units.zip(gates) {
        let i = i32::from(sigmoid_q(*g_i, Z_FRAC));
        let f = i32::from(sigmoid_q(*g_f, Z_FRAC));
        let g = i32::from(tanh_q(*g_g, Z_FRAC));
        let o = i32::from(sigmoid_q(*g_o, Z_FRAC));
        let c = sat16(mul_q15(f, i32::from(*c_j)).wrapping_add(rescale(i * g, ig_shift)));
        *c_j = c;
        *h_j = sat16(mul_q15(o, i32::from(tanh_q(i32::from(c), c_frac))));
    }
}
