//! The few loops every cell is made of, each with one fixed summation order so that all
//! targets compute the same bits.

use super::{Input, Weight};
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, ModelView, Task};

#[inline(always)]
pub(crate) fn f<W: Weight>(w: &W) -> f32 {
    w.value()
}

/// `Σ_j w_j · x_j`, summed from `j = 0` up: the one order every target uses.
#[inline(always)]
pub(crate) fn dot<W: Weight>(w: &[W], x: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (w, x) in w.iter().zip(x) {
        acc += f(w) * *x;
    }
    acc
}

/// The consecutive rows of `n` values at the front of `values` (none when `n` is 0):
/// `chunks_exact(n)` without its division of the length by `n`, which on the Cortex-M0 is
/// a library routine (about 400 bytes) and tens of instructions per call. What is left
/// after the last whole row is [`Rows::rest`] once the rows are taken.
pub(crate) fn rows<T>(values: &[T], n: usize) -> Rows<'_, T> {
    Rows { rest: values, n }
}

/// The iterator of [`rows`].
#[derive(Debug, Clone)]
pub(crate) struct Rows<'a, T> {
    rest: &'a [T],
    n: usize,
}

impl<'a, T> Rows<'a, T> {
    /// The values not yet taken as rows.
    pub(crate) fn rest(&self) -> &'a [T] {
        self.rest
    }
}

impl<'a, T> Iterator for Rows<'a, T> {
    type Item = &'a [T];

    #[inline(always)]
    fn next(&mut self) -> Option<&'a [T]> {
        if self.n == 0 {
            return None;
        }
        let (row, rest) = self.rest.split_at_checked(self.n)?;
        self.rest = rest;
        Some(row)
    }
}

/// [`rows`] of a mutable slice.
pub(crate) fn rows_mut<T>(values: &mut [T], n: usize) -> RowsMut<'_, T> {
    RowsMut { rest: values, n }
}

/// The iterator of [`rows_mut`].
#[derive(Debug)]
pub(crate) struct RowsMut<'a, T> {
    rest: &'a mut [T],
    n: usize,
}

impl<'a, T> Iterator for RowsMut<'a, T> {
    type Item = &'a mut [T];

    #[inline(always)]
    fn next(&mut self) -> Option<&'a mut [T]> {
        if self.n == 0 || self.rest.len() < self.n {
            return None;
        }
        let (row, rest) = core::mem::take(&mut self.rest).split_at_mut(self.n);
        self.rest = rest;
        Some(row)
    }
}

/// `out[r] = finish(r, w[r] · x)` for each row `r` of the row-major matrix `w` with rows
/// of length `n`, four rows a pass through [`Weight::dot4`] (each summed exactly as [`dot`]
/// sums it), so that each `x_j` is loaded once for four multiply-adds.
#[inline(always)]
pub(crate) fn matvec<W: Weight>(
    w: &[W],
    n: usize,
    x: &[f32],
    out: &mut [f32],
    mut finish: impl FnMut(usize, f32) -> f32,
) {
    if n == 0 {
        return;
    }
    if W::COLUMNS {
        return super::columns::matvec(w, n, x, out, finish);
    }
    let mut r = 0;
    #[cfg(not(target_os = "none"))]
    let w = if W::PLAIN {
        // Eight: sixteen measured slower (the SSE2 baseline has 16 vector registers).
        row_groups::<W, 8>(w, n, x, out, &mut r, &mut finish)
    } else {
        w
    };
    let mut quads = rows(w, 4 * n);
    let tail = out.get_mut(r..).unwrap_or_default();
    for (o, rows) in tail.chunks_exact_mut(4).zip(&mut quads) {
        let (w0, rest) = rows.split_at(n);
        let (w1, rest) = rest.split_at(n);
        let (w2, w3) = rest.split_at(n);
        let s = W::dot4(w0, w1, w2, w3, x);
        for (k, (o, s)) in o.iter_mut().zip(s).enumerate() {
            *o = finish(r + k, s);
        }
        r += 4;
    }
    // The last 1 to 3 rows go through `dot4` too, with the last row standing in for the
    // missing ones (their sums are dropped): each sum is independent of the others, so
    // the bits are the same, and an FPU kernel then serves every row.
    let left = quads.rest();
    let rows: [&[W]; 3] =
        core::array::from_fn(|k| left.get(k * n..(k + 1) * n).unwrap_or_default());
    let left = rows.iter().filter(|row| !row.is_empty()).count();
    if left > 0 {
        let last = rows[left - 1];
        let pick = |k: usize| if k < left { rows[k] } else { last };
        let s = W::dot4(pick(0), pick(1), pick(2), last, x);
        let rest = out.get_mut(r..).unwrap_or_default();
        for (k, (o, s)) in rest.iter_mut().zip(s).take(left).enumerate() {
            *o = finish(r + k, s);
        }
    }
}

/// The host's part of [`matvec`]: as many groups of `R` rows (each of length `n`) as `w`
/// holds, from row `*r` of `out` on; returns the rows left over.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn row_groups<'w, W: Weight, const R: usize>(
    w: &'w [W],
    n: usize,
    x: &[f32],
    out: &mut [f32],
    r: &mut usize,
    finish: &mut impl FnMut(usize, f32) -> f32,
) -> &'w [W] {
    let mut groups = w.chunks_exact(R * n);
    let tail = out.get_mut(*r..).unwrap_or_default();
    for (o, rows) in tail.chunks_exact_mut(R).zip(&mut groups) {
        let s = dot_rows::<W, R>(
            core::array::from_fn(|k| rows.get(k * n..(k + 1) * n).unwrap_or_default()),
            x,
        );
        for (k, (o, s)) in o.iter_mut().zip(s).enumerate() {
            *o = finish(*r + k, s);
        }
        *r += R;
    }
    groups.remainder()
}

/// `R` rows' dot products with `x` at once, each row one running sum from index 0 up (the
/// bits of [`dot`]). Four columns a pass: the `4 × R` weights are turned into columns in
/// registers, so each column adds one vector of `R` products, and the `R` independent
/// chains of additions hide the adder's latency (the four of [`Weight::dot4`] do not on a
/// host CPU).
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn dot_rows<W: Weight, const R: usize>(w: [&[W]; R], x: &[f32]) -> [f32; R] {
    let n = w.iter().fold(x.len(), |n, row| n.min(row.len()));
    let m = n / 4;
    let (xq, xr) = x[..n].as_chunks::<4>();
    // Every row cut to the same `m` blocks, so that no bounds check is left in the loop.
    let q: [&[[W; 4]]; R] = w.map(|row| row[..n].as_chunks::<4>().0.get(..m).unwrap_or_default());
    let xq = xq.get(..m).unwrap_or_default();
    let mut s = [0.0f32; R];
    for (j, x) in xq.iter().enumerate() {
        let a: [[f32; 4]; R] = core::array::from_fn(|r| q[r][j].map(|w| w.value()));
        for k in 0..4 {
            for r in 0..R {
                s[r] += a[r][k] * x[k];
            }
        }
    }
    for (k, x) in xr.iter().enumerate() {
        for (s, row) in s.iter_mut().zip(w) {
            *s += row.get(4 * m + k).map_or(0.0, f) * *x;
        }
    }
    s
}

/// The column length `p` that [`input_term`] takes: a column-major matrix's, worked out
/// once per step rather than once per row (a division per row was 6 % of an Elman H = 25
/// step's instructions on the host); 0, a constant, for the file's layout.
#[inline(always)]
pub(crate) fn column_len<W: Weight>(w: &[W], n: usize) -> usize {
    if W::COLUMNS {
        w.len().checked_div(n).unwrap_or(0)
    } else {
        0
    }
}

/// `W_x · x_t` for row `row` of an input weight matrix with rows of length `n` (columns
/// of length `p`, [`column_len`], when column-major): a column lookup for a one-hot
/// input, nothing for the start input.
#[inline(always)]
pub(crate) fn input_term<W: Weight>(w: &[W], n: usize, p: usize, row: usize, x: Input<'_>) -> f32 {
    match x {
        Input::Start => 0.0,
        // The caller checked `token < n`.
        Input::Token(token) if W::COLUMNS => super::columns::at(w, p, row, token),
        Input::Token(token) => w.get(row * n + token).map_or(0.0, f),
        Input::Dense(v) if W::COLUMNS => super::columns::dot_row(w, p, row, v),
        Input::Dense(v) => dot(w.get(row * n..(row + 1) * n).unwrap_or_default(), v),
    }
}

/// Rows a matrix of `rows` rows stores: padded for a column-major type.
pub(crate) const fn stored_rows<W: Weight>(rows: usize) -> usize {
    if W::COLUMNS {
        super::columns::padded(rows)
    } else {
        rows
    }
}

/// Takes the next `n` weights off the front of `rest`.
pub(crate) fn take<'a, W>(rest: &mut &'a [W], n: usize) -> Result<&'a [W], Error> {
    let (head, tail) = rest.split_at_checked(n).ok_or(Error::Truncated)?;
    *rest = tail;
    Ok(head)
}

/// The sizes `(I, H, O)` of a one-layer model of kind `expected`, or
/// [`Error::WrongCellKind`], or a [`Error::SizeMismatch`] on the number of layers.
pub(crate) fn sizes(
    view: &ModelView<'_>,
    expected: CellKind,
) -> Result<(usize, usize, usize), Error> {
    let header = view.header();
    if header.cell != expected {
        return Err(Error::WrongCellKind {
            expected,
            found: header.cell,
        });
    }
    if header.layers != 1 {
        return Err(Error::SizeMismatch {
            dim: Dim::Layers,
            expected: 1,
            found: u32::from(header.layers),
        });
    }
    any_sizes(view)
}

/// The sizes `(I, H, O)` of a next-symbol model of any kind and depth, or
/// [`Error::WrongTask`].
pub(crate) fn any_sizes(view: &ModelView<'_>) -> Result<(usize, usize, usize), Error> {
    let header = view.header();
    if header.task != Task::Next {
        return Err(Error::WrongTask {
            expected: Task::Next,
            found: header.task,
        });
    }
    model_sizes(view)
}

/// The sizes `(I, H, O)` of any model.
pub(crate) fn model_sizes(view: &ModelView<'_>) -> Result<(usize, usize, usize), Error> {
    let header = view.header();
    if header.quant.is_quantized() {
        return Err(Error::WrongPrecision {
            expected: crate::quant::Precision::F32,
            found: header.quant.precision,
        });
    }
    // `ModelView::parse` checked that the sizes fit and the byte count is exact, so these
    // conversions cannot fail; they still return errors, not panics.
    let size = |dim, v: u32| usize::try_from(v).map_err(|_| Error::InvalidSize { dim, found: v });
    Ok((
        size(Dim::Input, header.input)?,
        size(Dim::Hidden, header.hidden)?,
        size(Dim::Output, header.output)?,
    ))
}

/// Checks that `floats` equal the file's weights bit for bit (in the file's layout: a
/// column-major type never does, [`crate::Network::columns`] makes those).
pub(crate) fn check_floats<W: Weight>(view: &ModelView<'_>, floats: &[W]) -> Result<(), Error> {
    if W::COLUMNS {
        return Err(Error::FloatsDiffer { index: 0 });
    }
    let (words, _) = view.weight_bytes().as_chunks::<4>();
    if floats.len() != words.len() {
        return Err(Error::FloatsDiffer {
            index: floats.len().min(words.len()),
        });
    }
    match floats
        .iter()
        .zip(words)
        .position(|(x, w)| x.value().to_bits() != u32::from_le_bytes(*w))
    {
        Some(index) => Err(Error::FloatsDiffer { index }),
        None => Ok(()),
    }
}

/// Checks an input against the input size `I`.
pub(crate) fn check_input(x: Input<'_>, input: usize) -> Result<(), Error> {
    match x {
        Input::Start => Ok(()),
        Input::Token(token) if token >= input => Err(Error::TokenOutOfRange { token, len: input }),
        Input::Token(_) => Ok(()),
        Input::Dense(v) => check_len(Dim::Input, input, v.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_chunks_exact_without_the_division() {
        let values: [u8; 11] = core::array::from_fn(|k| k as u8);
        assert_eq!(rows(&values, 0).count(), 0);
        assert_eq!(rows_mut(&mut [0u8; 3], 0).count(), 0);
        for n in 1..13 {
            let mut taken = rows(&values, n);
            assert!(taken.by_ref().eq(values.chunks_exact(n)), "n = {n}");
            assert_eq!(taken.rest(), values.chunks_exact(n).remainder(), "n = {n}");
            let mut copy = values;
            assert!(rows_mut(&mut copy, n)
                .map(|r| &*r)
                .eq(values.chunks_exact(n)));
        }
    }
}
