//! A host's faster copy of a model's weights: every recurrent and output matrix column by
//! column, each column padded with zero rows to a multiple of [`PAD`], in a buffer the
//! caller owns ([`columns_len`] floats; [`Network::columns`], [`Classifier::columns`],
//! [`Stream::columns`]).
//!
//! Why: a row-major matrix times a vector, summed row by row from column 0 up (the one
//! order every target keeps, so that all of them compute the same bits), makes a host turn
//! each block of weights into columns in registers at every step, and a row's chain of
//! additions waits on the adder. Stored as columns, `W · x` is `Σ_j x_j · W[:, j]`: a
//! vector of up to 32 rows' sums takes one column at a time, plain loads, a multiply and
//! an add per 4 or 8 rows, and every row's sum still adds `w[r][j] · x[j]` for `j = 0, 1,
//! …` in order: the same bits as the file's layout on every target (tested). The cost is
//! a copy of the weights in RAM, which a host has and a microcontroller, whose model stays
//! in flash, does not want.

use super::linalg::{any_sizes, column_len, f, input_term, model_sizes};
use super::network::{self, Network};
use super::{Input, Layer, Weight};
use crate::error::{Dim, Error};
use crate::format::ModelView;
use crate::layout::{TensorRole, TensorSpec};
use crate::{Classifier, Stream};

/// Rows a stored column is padded to a multiple of.
pub const PAD: usize = 8;

/// Rows a matrix of `rows` rows stores per column: `rows` rounded up to [`PAD`].
pub(crate) const fn padded(rows: usize) -> usize {
    rows.div_ceil(PAD).saturating_mul(PAD)
}

/// A weight of a column-major copy ([`columns_len`]): each column of its matrices
/// holds the rows rounded up to a multiple of [`PAD`], the padding zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column(f32);

impl Column {
    /// A zero, to fill a new buffer with.
    pub const ZERO: Column = Column(0.0);
}

impl Weight for Column {
    const COLUMNS: bool = true;

    #[inline(always)]
    fn value(&self) -> f32 {
        self.0
    }
}

/// A dense input's matrix and vector: `W_x` (column-major, rows of `n` inputs) and `x_t`.
pub(crate) type DenseInput<'w, 'x, W> = Option<(&'w [W], usize, &'x [f32])>;

/// `out[r] = finish(r, w[r] · x)` for the rows `out` has room for, `w` column-major with
/// columns of `p = w.len() / n` values.
#[inline(always)]
pub(crate) fn matvec<W: Weight>(
    w: &[W],
    n: usize,
    x: &[f32],
    out: &mut [f32],
    mut finish: impl FnMut(usize, f32) -> f32,
) {
    for_tiles(w, n, x, 0..out.len(), None, |r0, sums| {
        let rows = out.get_mut(r0..).unwrap_or_default();
        for (k, (o, s)) in rows.iter_mut().zip(sums).enumerate() {
            *o = finish(r0 + k, *s);
        }
    });
}

/// `out[r] = (((w[r] · x) + u[r]) + c_0[r]) + c_1[r] …`, where `u = W_u · v` for a dense
/// `input` (`W_u`, its row length, `v`; nothing without one) and `c_k` are the `addends`:
/// [`matvec`] with a finish that only adds, done a tile at a time (vector adds, one
/// bounds check per tile rather than per row): the same sums in the same order.
#[inline(always)]
pub(crate) fn matvec_plus<W: Weight, const K: usize>(
    w: &[W],
    n: usize,
    x: &[f32],
    out: &mut [f32],
    addends: [&[W]; K],
    input: DenseInput<'_, '_, W>,
) {
    if addends.iter().any(|c| c.len() < out.len()) {
        // Never for a loader's layers; a missing value adds zero, as the finish of the
        // file's layout has it.
        return matvec(w, n, x, out, |r, acc| {
            let acc = input.map_or(acc, |(w_u, n_u, v)| {
                acc + dot_row(w_u, column_len(w_u, n_u), r, v)
            });
            addends
                .iter()
                .fold(acc, |acc, c| acc + c.get(r).map_or(0.0, f))
        });
    }
    for_tiles(w, n, x, 0..out.len(), input, |r0, sums| {
        for c in addends {
            for (s, c) in sums.iter_mut().zip(c.get(r0..).unwrap_or_default()) {
                *s += f(c);
            }
        }
        let rows = out.get_mut(r0..).unwrap_or_default();
        for (o, s) in rows.iter_mut().zip(sums) {
            *o = *s;
        }
    });
}

/// `out[k] += W_x[r] · x_t + b_x[r]` for the rows `r = rows.start + k` of a layer of the
/// host's copy (the input term and the bias added first, as the file's layout adds them):
/// a one-hot input's column and a dense input's products a tile at a time, the start
/// input (and slices too short, which a loader never leaves) row by row.
#[inline(always)]
pub(crate) fn add_input<W: Weight>(
    layer: &Layer<'_, W>,
    x: Input<'_>,
    rows: core::ops::Range<usize>,
    out: &mut [f32],
) {
    let p = column_len(layer.w_x, layer.n_in);
    let b_x = layer.b_x.get(rows.clone()).unwrap_or_default();
    let n = rows.len().min(out.len());
    match x {
        Input::Token(token) if b_x.len() == rows.len() => {
            let at = token.saturating_mul(p).saturating_add(rows.start);
            if let Some(w_x) = layer.w_x.get(at..).and_then(|w| w.get(..n)) {
                for ((o, w), b) in out.iter_mut().zip(w_x).zip(b_x) {
                    *o += f(w) + f(b);
                }
                return;
            }
        }
        Input::Dense(v) if b_x.len() == rows.len() => {
            let start = rows.start;
            for_tiles(layer.w_x, layer.n_in, v, rows.clone(), None, |r0, sums| {
                let o = out.get_mut(r0 - start..).unwrap_or_default();
                let b = b_x.get(r0 - start..).unwrap_or_default();
                for ((o, s), b) in o.iter_mut().zip(sums).zip(b) {
                    *o += *s + f(b);
                }
            });
            return;
        }
        _ => {}
    }
    for (row, o) in rows.zip(out.iter_mut()) {
        *o += input_term(layer.w_x, layer.n_in, p, row, x) + layer.b_x.get(row).map_or(0.0, f);
    }
}

/// Calls `finish(r0, sums)` for tiles of up to 32 rows covering `rows` of a column-major
/// `w` (columns of `p = w.len() / n`) times `x`, each tile's sums plus those of a dense
/// `input`'s matrix times its vector (the two sums apart, then added).
#[inline(always)]
fn for_tiles<W: Weight>(
    w: &[W],
    n: usize,
    x: &[f32],
    rows: core::ops::Range<usize>,
    input: DenseInput<'_, '_, W>,
    mut finish: impl FnMut(usize, &mut [f32]),
) {
    let p = w.len().checked_div(n).unwrap_or(0);
    let input = input.map(|(w_u, n_u, v)| (w_u, column_len(w_u, n_u), v));
    let mut r0 = rows.start;
    while r0 < rows.end.min(p) {
        // 32 rows (8 vectors of 4 on x86-64) keep as many chains of additions going as
        // the adders can take; a tile is as tall as the rows left need (in steps of
        // `PAD`) and the column holds from `r0`, and single rows take the rest.
        let (need, room) = (rows.end - r0, p - r0);
        let step = match (need, room) {
            (25.., 32..) => 32,
            (17.., 24..) => 24,
            (9.., 16..) => 16,
            (_, 8..) => 8,
            _ => 1,
        };
        match step {
            32 => finish(r0, &mut sums::<W, 32>(w, p, x, r0, input)),
            24 => finish(r0, &mut sums::<W, 24>(w, p, x, r0, input)),
            16 => finish(r0, &mut sums::<W, 16>(w, p, x, r0, input)),
            8 => finish(r0, &mut sums::<W, 8>(w, p, x, r0, input)),
            _ => finish(r0, &mut sums::<W, 1>(w, p, x, r0, input)),
        }
        r0 += step;
    }
}

/// [`tile`] of `w` times `x`, plus the tile of a dense `input` (matrix, column length,
/// vector): the two sums apart, then added.
#[inline(always)]
fn sums<W: Weight, const R: usize>(
    w: &[W],
    p: usize,
    x: &[f32],
    r0: usize,
    input: Option<(&[W], usize, &[f32])>,
) -> [f32; R] {
    let mut acc = tile::<W, R>(w, p, x, r0);
    if let Some((w_u, p_u, v)) = input {
        for (a, u) in acc.iter_mut().zip(tile::<W, R>(w_u, p_u, v, r0)) {
            *a += u;
        }
    }
    acc
}

/// The sums of rows `r0 .. r0 + R` of a column-major `w` (columns of `p`) times `x`.
#[inline(always)]
fn tile<W: Weight, const R: usize>(w: &[W], p: usize, x: &[f32], r0: usize) -> [f32; R] {
    let mut acc = [0.0f32; R];
    // Column by column: each is `p` long, so the tile's bounds check does not vary and
    // leaves the loop.
    for (column, x) in w.chunks_exact(p.max(1)).zip(x) {
        let Some(c) = column.get(r0..).and_then(|c| c.first_chunk::<R>()) else {
            break;
        };
        for (s, w) in acc.iter_mut().zip(c) {
            *s += f(w) * *x;
        }
    }
    acc
}

/// The host's copy with a one-hot input: the first `rows` values of the token's column of
/// `W_x` and of `b_x`, so that an Elman layer adds them to its tiles' sums; `None` for the
/// file's layout, another input, or slices shorter than `rows`, which
/// [`super::linalg::input_term`] reads row by row.
#[inline(always)]
pub(crate) fn token_column<'l, W: Weight>(
    layer: &Layer<'l, W>,
    x: Input<'_>,
    rows: usize,
) -> Option<(&'l [W], &'l [W])> {
    let Input::Token(token) = x else {
        return None;
    };
    if !W::COLUMNS {
        return None;
    }
    let p = column_len(layer.w_x, layer.n_in);
    let w_x = layer.w_x.get(token.checked_mul(p)?..)?.get(..rows)?;
    Some((w_x, layer.b_x.get(..rows)?))
}

/// Row `row`'s weight in column `col` of a column-major `w` (columns of `p`).
#[inline(always)]
pub(crate) fn at<W: Weight>(w: &[W], p: usize, row: usize, col: usize) -> f32 {
    w.get(col * p + row).map_or(0.0, f)
}

/// `w[row] · v` of a column-major `w` with columns of `p` values, summed from column 0
/// up.
pub(crate) fn dot_row<W: Weight>(w: &[W], p: usize, row: usize, v: &[f32]) -> f32 {
    let column = w.get(row..).unwrap_or_default().iter().step_by(p.max(1));
    column.zip(v).fold(0.0, |acc, (w, x)| acc + f(w) * *x)
}

/// Whether a tensor is one of the matrices the copy stores column by column (a recurrent
/// layer's input and recurrent weights, the output layer's; a front-end's convolution
/// weights keep the file's order, which its own loops read).
fn transposed(t: &TensorSpec) -> bool {
    matches!(
        t.role,
        TensorRole::InputWeights | TensorRole::RecurrentWeights | TensorRole::OutputWeights
    )
}

/// Floats a tensor takes in the copy.
fn stored_len(t: &TensorSpec) -> usize {
    let rows = if transposed(t) {
        padded(t.rows)
    } else {
        t.rows
    };
    rows.saturating_mul(t.cols)
}

/// Column-major weights a float model of any task needs (the length of the buffer of
/// [`Network::columns`], [`Classifier::columns`] and [`Stream::columns`]): its float
/// count with every recurrent and output matrix's rows padded to a multiple of [`PAD`].
/// [`Error::WrongPrecision`] for a quantized model.
pub fn columns_len(view: &ModelView<'_>) -> Result<usize, Error> {
    model_sizes(view)?;
    let header = view.header();
    header.tensors().try_fold(0usize, |n, t| {
        n.checked_add(stored_len(&t)).ok_or(Error::InvalidSize {
            dim: Dim::Hidden,
            found: header.hidden,
        })
    })
}

/// Copies the weights of `view` into `buf` ([`columns_len`] of them), in file order, the
/// [`transposed`] matrices column by column with zero padding.
fn fill(view: &ModelView<'_>, buf: &mut [Column]) -> Result<(), Error> {
    crate::check_len(Dim::Work, columns_len(view)?, buf.len())?;
    let (mut from, _) = view.weight_bytes().as_chunks::<4>();
    let mut to = buf;
    for t in view.header().tensors() {
        let (src, rest) = from.split_at_checked(t.len()).ok_or(Error::Truncated)?;
        from = rest;
        let (dst, rest) = core::mem::take(&mut to)
            .split_at_mut_checked(stored_len(&t))
            .ok_or(Error::Truncated)?;
        to = rest;
        let value = |s: &[u8; 4]| Column(f32::from_le_bytes(*s));
        if !transposed(&t) {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = value(s);
            }
            continue;
        }
        // The padding's zeros, whatever the buffer held.
        dst.fill(Column::ZERO);
        let stored = padded(t.rows);
        for (r, row) in src.chunks_exact(t.cols.max(1)).enumerate() {
            for (j, s) in row.iter().enumerate() {
                if let Some(d) = dst.get_mut(j * stored + r) {
                    *d = value(s);
                }
            }
        }
    }
    Ok(())
}

impl<'a> Network<'a, Column> {
    /// A next-symbol model of any kind and depth with its weights copied into `buf`
    /// ([`columns_len`] of them) column by column: the same bits as
    /// [`Network::from_view`] from every step, in about half the time on an x86-64 host
    /// (`cargo bench -p rnn-core`), for the copy's RAM. [`Error::BufferLength`] for a
    /// buffer of another length; the model's own errors as `from_view` has them.
    pub fn columns(view: &ModelView<'_>, buf: &'a mut [Column]) -> Result<Self, Error> {
        any_sizes(view)?;
        fill(view, buf)?;
        network::split(&*buf, view)
    }
}

impl<'a> Classifier<'a, Column> {
    /// [`Classifier::from_view`] with the weights copied into `buf` ([`columns_len`] of
    /// them) column by column: the same bits (see [`Network::columns`]).
    pub fn columns(view: &ModelView<'a>, buf: &'a mut [Column]) -> Result<Self, Error> {
        fill(view, buf)?;
        crate::classify::split(&*buf, view)
    }
}

impl<'a> Stream<'a, Column> {
    /// [`Stream::from_view`] with the weights copied into `buf` ([`columns_len`] of them)
    /// column by column: the same bits (see [`Network::columns`]).
    pub fn columns(view: &ModelView<'a>, buf: &'a mut [Column]) -> Result<Self, Error> {
        fill(view, buf)?;
        crate::stream::split(&*buf, view)
    }
}
