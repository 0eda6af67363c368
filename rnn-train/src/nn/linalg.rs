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

/// `out[r] = w[r] · x` for the rows of the row-major matrix `w` (rows of `x.len()`), each
/// summed by [`dot`]. (Four rows a pass, sharing the loads of `x`, measured no faster: the
/// rows' chains already overlap.)
#[inline(always)]
pub fn matvec(w: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot(&w[r * n..(r + 1) * n], x);
    }
}

/// `y += alpha · x`.
#[inline(always)]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `y_j += Σ_r d_r · w[r·n + j]` (`y += Wᵀ d` for the row-major `R × n` matrix `w`), each
/// `y_j` summed over the rows from `r = 0` up, as `R` calls of [`axpy`] would sum it. Up
/// to 32 `y_j` are kept in registers across the rows (independent chains of additions, so
/// the rows' latency overlaps), so `w` is read once and `y` not at all in between.
#[inline(always)]
pub fn add_transposed(d: &[f32], w: &[f32], n: usize, y: &mut [f32]) {
    let rows = d.len().min(w.len() / n.max(1));
    let (d, len) = (&d[..rows], n.min(y.len()));
    for c0 in (0..len).step_by(32) {
        let y = &mut y[c0..len.min(c0 + 32)];
        match y.len() / 8 {
            0 => transposed_group::<0>(d, w, n, c0, y),
            1 => transposed_group::<1>(d, w, n, c0, y),
            2 => transposed_group::<2>(d, w, n, c0, y),
            3 => transposed_group::<3>(d, w, n, c0, y),
            _ => transposed_group::<4>(d, w, n, c0, y),
        }
    }
}

/// [`add_transposed`] for the columns `c0 ..` of `y` (`Q` chunks of eight and fewer than
/// eight more).
#[inline(always)]
fn transposed_group<const Q: usize>(d: &[f32], w: &[f32], n: usize, c0: usize, y: &mut [f32]) {
    let rem = y.len() - 8 * Q;
    let mut acc = [[0.0f32; 8]; Q];
    let mut tail = [0.0f32; 8];
    for (q, acc) in acc.iter_mut().enumerate() {
        acc.copy_from_slice(&y[8 * q..8 * q + 8]);
    }
    tail[..rem].copy_from_slice(&y[8 * Q..]);
    for (r, &dr) in d.iter().enumerate() {
        let wr = &w[r * n + c0..r * n + c0 + y.len()];
        for (q, acc) in acc.iter_mut().enumerate() {
            let wq = &wr[8 * q..8 * q + 8];
            for k in 0..8 {
                acc[k] += dr * wq[k];
            }
        }
        for (t, &wk) in tail.iter_mut().zip(&wr[8 * Q..]) {
            *t += dr * wk;
        }
    }
    for (q, acc) in acc.iter().enumerate() {
        y[8 * q..8 * q + 8].copy_from_slice(acc);
    }
    y[8 * Q..].copy_from_slice(&tail[..rem]);
}

/// `g[r·n + j] += Σ_k d[k·R + r] · x(k)[j]` over the steps `k = steps − 1` down to `0`
/// (`g += Σ_k d_k ⊗ x_k` for `R × n` gradients `g`): each element gets its terms in the
/// order per-step [`axpy`]s from the last step back would add them, but four rows of eight
/// elements stay in registers over all the steps, so `g` is read and written once.
#[inline(always)]
pub fn add_outer_sum<'x>(
    g: &mut [f32],
    n: usize,
    d: &[f32],
    steps: usize,
    x: impl Fn(usize) -> &'x [f32],
) {
    if n == 0 {
        return;
    }
    let rows = g.len() / n;
    let mut r = 0;
    while r + 4 <= rows {
        outer_sum_rows::<4>(g, n, rows, r, d, steps, &x);
        r += 4;
    }
    while r < rows {
        outer_sum_rows::<1>(g, n, rows, r, d, steps, &x);
        r += 1;
    }
}

/// [`add_outer_sum`] for the `Q` rows from `r` (a number known at compile time, so that
/// the sums stay in registers).
#[inline(always)]
fn outer_sum_rows<'x, const Q: usize>(
    g: &mut [f32],
    n: usize,
    rows: usize,
    r: usize,
    d: &[f32],
    steps: usize,
    x: &impl Fn(usize) -> &'x [f32],
) {
    let full = n / 8 * 8;
    let d = &d[..steps * rows];
    for c in (0..full).step_by(8) {
        let mut acc = [[0.0f32; 8]; Q];
        for (i, acc) in acc.iter_mut().enumerate() {
            acc.copy_from_slice(&g[(r + i) * n + c..(r + i) * n + c + 8]);
        }
        for k in (0..steps).rev() {
            let xk = &x(k)[c..c + 8];
            let dk = &d[k * rows + r..k * rows + r + Q];
            for i in 0..Q {
                for j in 0..8 {
                    acc[i][j] += dk[i] * xk[j];
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            g[(r + i) * n + c..(r + i) * n + c + 8].copy_from_slice(acc);
        }
    }
    for i in 0..Q {
        for j in full..n {
            let mut acc = g[(r + i) * n + j];
            for k in (0..steps).rev() {
                acc += d[k * rows + r + i] * x(k)[j];
            }
            g[(r + i) * n + j] = acc;
        }
    }
}

/// `b[r] += Σ_k d[k·R + r]` over the steps `k = steps − 1` down to `0`: a bias's gradient.
#[inline(always)]
pub fn add_row_sum(b: &mut [f32], d: &[f32], steps: usize) {
    let rows = b.len();
    for k in (0..steps).rev() {
        for (b, &dk) in b.iter_mut().zip(&d[k * rows..(k + 1) * rows]) {
            *b += dk;
        }
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
}
