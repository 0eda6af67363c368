//! The few loops every training cell is made of. Plain slices of f32, written so that LLVM
//! vectorises them; no fused multiply-adds and one fixed order per sum, so every build and
//! every vector width gives the same bits.

use crate::data::START;

/// `Σ_j x_j · y_j` with eight running sums, a fixed order that LLVM turns into one vector
/// register of partial sums (it may not reorder a single running sum by itself).
#[inline(always)]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (xs, ys) in xc.zip(yc) {
        for k in 0..8 {
            acc[k] += xs[k] * ys[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// `y += alpha · x`.
#[inline(always)]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// The input `x_t` of one layer at one step: the zero vector, a one-hot token (a column of
/// the input weights), or the hidden state of the layer below.
#[derive(Clone, Copy, Debug)]
pub enum LayerInput<'a> {
    Zero,
    Token(usize),
    Dense(&'a [f32]),
}

impl<'a> LayerInput<'a> {
    /// Layer 0's input for a token of a sequence ([`START`] is the zero vector).
    #[inline(always)]
    pub fn token(x: u32) -> Self {
        if x == START {
            LayerInput::Zero
        } else {
            LayerInput::Token(x as usize)
        }
    }

    /// `w_row · x`, for a row of input weights.
    #[inline(always)]
    pub fn dot_row(&self, w_row: &[f32]) -> f32 {
        match *self {
            LayerInput::Zero => 0.0,
            LayerInput::Token(k) => w_row[k],
            LayerInput::Dense(v) => dot(w_row, v),
        }
    }

    /// `g_row += d · x`: the gradient of a row of input weights.
    #[inline(always)]
    pub fn add_outer(&self, d: f32, g_row: &mut [f32]) {
        match *self {
            LayerInput::Zero => {}
            LayerInput::Token(k) => g_row[k] += d,
            LayerInput::Dense(v) => axpy(d, v, g_row),
        }
    }
}
