//! The Elman cell, forward only (the trainer in `rnn-train` holds the backward pass):
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)      hidden state ("activation")
//! y_t = softmax(W_ya · a_t + b_y)                     prediction
//! ```
//!
//! Shapes: `W_ax` H×I, `W_aa` H×H, `b_a` H, `W_ya` O×H, `b_y` O, row-major, in that order in
//! the file. The weights are read straight from the file's bytes, so a model in flash runs
//! without being copied to RAM. The step returns the logits `W_ya · a_t + b_y`; the softmax
//! lives in [`crate::sample`].
//!
//! Bit-for-bit reproducibility across x86-64 and every Cortex-M rests on three rules kept
//! here: `tanhf` comes from `libm` (never the target's own), every sum runs in the same
//! fixed order, and there are no fused multiply-adds (Rust never contracts `a * b + c`).

use crate::error::{Dim, Error};
use crate::format::{CellKind, Header, ModelView};
use crate::vocab::Vocab;

/// The input `x_t` of one step.
#[derive(Debug, Clone, Copy)]
pub enum Input<'x> {
    /// The zero vector: the first input of every sequence in line mode, before any symbol.
    Start,
    /// A one-hot vector with a 1 at this index, done as a column lookup in `W_ax`.
    Token(usize),
    /// A dense vector of length `I` (sensor data).
    Dense(&'x [f32]),
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for [u8; 4] {}
    impl Sealed for f32 {}
}

/// How one weight is stored: `[u8; 4]`, the little-endian bytes of the file at any
/// alignment (what [`ElmanWeights::from_view`] gives), or `f32`, for a firmware that keeps
/// the file 4-aligned and hands the same weights over as floats
/// ([`ElmanWeights::with_floats`]): one load per weight instead of a load and a move on an
/// FPU. Both give the same bits.
pub trait Weight: Copy + sealed::Sealed {
    /// The weight's value.
    fn value(&self) -> f32;
}

impl Weight for [u8; 4] {
    #[inline(always)]
    fn value(&self) -> f32 {
        f32::from_le_bytes(*self)
    }
}

impl Weight for f32 {
    #[inline(always)]
    fn value(&self) -> f32 {
        *self
    }
}

/// The Elman weights of a model, borrowed from the file (never copied), with sizes known
/// at run time. [`Elman`] wraps it with sizes fixed at compile time.
#[derive(Debug, Clone, Copy)]
pub struct ElmanWeights<'a, W: Weight = [u8; 4]> {
    input: usize,
    hidden: usize,
    output: usize,
    w_ax: &'a [W],
    w_aa: &'a [W],
    b_a: &'a [W],
    w_ya: &'a [W],
    b_y: &'a [W],
}

#[inline(always)]
fn f<W: Weight>(w: &W) -> f32 {
    w.value()
}

/// `Σ_j w_j · x_j`, summed from `j = 0` up: the one order every target uses.
#[inline(always)]
fn dot<W: Weight>(w: &[W], x: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (w, x) in w.iter().zip(x) {
        acc += f(w) * *x;
    }
    acc
}

/// Four rows at once, each summed exactly as [`dot`] sums it (same bits), so that each
/// `x_j` is loaded once for four multiply-adds.
#[inline(always)]
fn dot4<W: Weight>(w0: &[W], w1: &[W], w2: &[W], w3: &[W], x: &[f32]) -> [f32; 4] {
    let mut s = [0.0f32; 4];
    for ((((w0, w1), w2), w3), x) in w0.iter().zip(w1).zip(w2).zip(w3).zip(x) {
        s[0] += f(w0) * *x;
        s[1] += f(w1) * *x;
        s[2] += f(w2) * *x;
        s[3] += f(w3) * *x;
    }
    s
}

/// `out[r] = finish(r, w[r] · x)` for each row `r` of the row-major matrix `w` with rows
/// of length `n`, four rows a pass: on an FPU a pass costs about 9 instructions per column
/// for 4 multiply-adds, against 3 per multiply-add one row at a time.
#[inline(always)]
fn matvec<W: Weight>(
    w: &[W],
    n: usize,
    x: &[f32],
    out: &mut [f32],
    mut finish: impl FnMut(usize, f32) -> f32,
) {
    if n == 0 {
        return;
    }
    let mut quads = w.chunks_exact(4 * n);
    let mut r = 0;
    for (o, rows) in out.chunks_exact_mut(4).zip(&mut quads) {
        let (w0, rest) = rows.split_at(n);
        let (w1, rest) = rest.split_at(n);
        let (w2, w3) = rest.split_at(n);
        let s = dot4(w0, w1, w2, w3, x);
        for (k, (o, s)) in o.iter_mut().zip(s).enumerate() {
            *o = finish(r + k, s);
        }
        r += 4;
    }
    let rest = out.get_mut(r..).unwrap_or_default();
    for (o, row) in rest.iter_mut().zip(quads.remainder().chunks_exact(n)) {
        *o = finish(r, dot(row, x));
        r += 1;
    }
}

/// Splits the weights in file order: `W_ax`, `W_aa`, `b_a`, `W_ya`, `b_y`.
fn split<'a, W: Weight>(
    words: &'a [W],
    (i, h, o): (usize, usize, usize),
) -> Result<ElmanWeights<'a, W>, Error> {
    let mut rest = words;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at_checked(n).ok_or(Error::Truncated)?;
        rest = tail;
        Ok::<_, Error>(head)
    };
    Ok(ElmanWeights {
        input: i,
        hidden: h,
        output: o,
        w_ax: take(h * i)?,
        w_aa: take(h * h)?,
        b_a: take(h)?,
        w_ya: take(o * h)?,
        b_y: take(o)?,
    })
}

/// The sizes of an Elman model, or [`Error::WrongCellKind`].
fn elman_sizes(view: &ModelView<'_>) -> Result<(usize, usize, usize), Error> {
    let Header {
        cell,
        input,
        hidden,
        output,
    } = view.header();
    if cell != CellKind::Elman {
        return Err(Error::WrongCellKind {
            expected: CellKind::Elman,
            found: cell,
        });
    }
    // `ModelView::parse` checked that the sizes fit and the byte count is exact, so
    // these conversions cannot fail; they still return errors, not panics.
    let size = |dim, v: u32| usize::try_from(v).map_err(|_| Error::InvalidSize { dim, found: v });
    Ok((
        size(Dim::Input, input)?,
        size(Dim::Hidden, hidden)?,
        size(Dim::Output, output)?,
    ))
}

impl<'a> ElmanWeights<'a, f32> {
    /// The weights of `view` read from `floats`, which must hold the same values bit for
    /// bit (checked here, once): a firmware that keeps the model file 4-aligned in flash
    /// can view [`ModelView::weight_bytes`] as `&[f32]` (the format aligns them) and pass
    /// it here, so the step loads each weight straight into an FPU register.
    /// [`Error::FloatsDiffer`] when the two disagree.
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        let sizes = elman_sizes(view)?;
        let (words, _) = view.weight_bytes().as_chunks::<4>();
        if floats.len() != words.len() {
            return Err(Error::FloatsDiffer {
                index: floats.len().min(words.len()),
            });
        }
        if let Some(index) = floats
            .iter()
            .zip(words)
            .position(|(x, w)| x.to_bits() != u32::from_le_bytes(*w))
        {
            return Err(Error::FloatsDiffer { index });
        }
        split(floats, sizes)
    }
}

impl<'a> ElmanWeights<'a> {
    /// The Elman weights of a parsed model, or [`Error::WrongCellKind`].
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        let sizes = elman_sizes(view)?;
        let (words, _) = view.weight_bytes().as_chunks::<4>();
        split(words, sizes)
    }
}

impl<'a, W: Weight> ElmanWeights<'a, W> {
    /// `I`, the input size.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// `H`, the hidden size.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// `O`, the output size.
    pub fn output_size(&self) -> usize {
        self.output
    }

    /// `W_ax`, H×I row-major.
    pub fn w_ax(&self) -> impl Iterator<Item = f32> + 'a {
        self.w_ax.iter().map(f)
    }

    /// `W_aa`, H×H row-major.
    pub fn w_aa(&self) -> impl Iterator<Item = f32> + 'a {
        self.w_aa.iter().map(f)
    }

    /// `b_a`, length H.
    pub fn b_a(&self) -> impl Iterator<Item = f32> + 'a {
        self.b_a.iter().map(f)
    }

    /// `W_ya`, O×H row-major.
    pub fn w_ya(&self) -> impl Iterator<Item = f32> + 'a {
        self.w_ya.iter().map(f)
    }

    /// `b_y`, length O.
    pub fn b_y(&self) -> impl Iterator<Item = f32> + 'a {
        self.b_y.iter().map(f)
    }

    /// One step of the cell. `a` holds `a_{t-1}` on entry and `a_t` on return; `scratch`
    /// (length H) is working space; `logits` (length O) receives `W_ya · a_t + b_y`.
    ///
    /// The pre-activation of unit `i` is summed in this order on every target:
    /// `((W_aa[i] · a_{t-1}) + W_ax[i] · x_t) + b_a[i]`, each dot product from index 0 up.
    pub fn step(
        &self,
        a: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        check_len(Dim::Hidden, self.hidden, a.len())?;
        check_len(Dim::Hidden, self.hidden, scratch.len())?;
        check_len(Dim::Output, self.output, logits.len())?;
        match x {
            Input::Start => {}
            Input::Token(token) if token >= self.input => {
                return Err(Error::TokenOutOfRange {
                    token,
                    len: self.input,
                })
            }
            Input::Token(_) => {}
            Input::Dense(v) => check_len(Dim::Input, self.input, v.len())?,
        }

        // a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)
        let h = self.hidden;
        matvec(self.w_aa, h, a, scratch, |i, acc| {
            let row = self
                .w_ax
                .get(i * self.input..(i + 1) * self.input)
                .unwrap_or_default();
            let acc = match x {
                Input::Start => acc,
                // One-hot x_t: W_ax · x_t is column `token` of W_ax.
                Input::Token(token) => acc + row.get(token).map_or(0.0, f),
                Input::Dense(v) => acc + dot(row, v),
            };
            libm::tanhf(acc + self.b_a.get(i).map_or(0.0, f))
        });
        a.copy_from_slice(scratch);

        // logits = W_ya · a_t + b_y   (y_t = softmax(logits))
        matvec(self.w_ya, h, a, logits, |k, acc| {
            acc + self.b_y.get(k).map_or(0.0, f)
        });
        Ok(())
    }
}

fn check_len(dim: Dim, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::BufferLength {
            dim,
            expected,
            found,
        })
    }
}

/// An Elman model with its sizes fixed at compile time: input `I`, hidden `H`, output `O`.
/// The hidden state is the caller's (`[f32; H]`), so several streams can share one model.
/// `W` is how the weights are stored (see [`Weight`]); the default reads the file's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Elman<'a, const I: usize, const H: usize, const O: usize, W: Weight = [u8; 4]> {
    weights: ElmanWeights<'a, W>,
    vocab: Vocab<'a>,
}

/// Checks the file's cell kind and sizes against the compiled-in ones.
fn check_sizes<const I: usize, const H: usize, const O: usize>(
    view: &ModelView<'_>,
) -> Result<(), Error> {
    let header = view.header();
    if header.cell != CellKind::Elman {
        return Err(Error::WrongCellKind {
            expected: CellKind::Elman,
            found: header.cell,
        });
    }
    for (dim, expected, found) in [
        (Dim::Input, I, header.input),
        (Dim::Hidden, H, header.hidden),
        (Dim::Output, O, header.output),
    ] {
        if usize::try_from(found).ok() != Some(expected) {
            return Err(Error::SizeMismatch {
                dim,
                expected: u32::try_from(expected).unwrap_or(u32::MAX),
                found,
            });
        }
    }
    Ok(())
}

impl<'a, const I: usize, const H: usize, const O: usize> Elman<'a, I, H, O> {
    /// Parses and checks a model file (see [`ModelView::parse`]) and checks that it is an
    /// Elman cell of exactly these sizes. The weights stay where `bytes` are.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_view(&ModelView::parse(bytes)?)
    }

    /// Like [`Elman::from_bytes`], from an already parsed model.
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        check_sizes::<I, H, O>(view)?;
        Ok(Elman {
            weights: ElmanWeights::from_view(view)?,
            vocab: view.vocab(),
        })
    }
}

impl<'a, const I: usize, const H: usize, const O: usize> Elman<'a, I, H, O, f32> {
    /// Like [`Elman::from_view`], reading the weights from `floats`, which must equal the
    /// file's weights bit for bit (see [`ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        check_sizes::<I, H, O>(view)?;
        Ok(Elman {
            weights: ElmanWeights::with_floats(view, floats)?,
            vocab: view.vocab(),
        })
    }
}

impl<'a, const I: usize, const H: usize, const O: usize, W: Weight> Elman<'a, I, H, O, W> {
    /// The runtime-sized weights (what [`crate::sample::generate`] takes).
    pub fn weights(&self) -> &ElmanWeights<'a, W> {
        &self.weights
    }
    /// The model's vocabulary.
    pub fn vocab(&self) -> Vocab<'a> {
        self.vocab
    }

    /// One step with the zero input (the start of a sequence).
    pub fn step_start(&self, a: &mut [f32; H], logits: &mut [f32; O]) {
        self.step(a, Input::Start, logits);
    }

    /// One step with a one-hot input: symbol `token`. [`Error::TokenOutOfRange`] when
    /// `token >= I`.
    pub fn step_token(
        &self,
        a: &mut [f32; H],
        token: usize,
        logits: &mut [f32; O],
    ) -> Result<(), Error> {
        if token >= I {
            return Err(Error::TokenOutOfRange { token, len: I });
        }
        self.step(a, Input::Token(token), logits);
        Ok(())
    }

    /// One step with the character `symbol`, looked up in the vocabulary;
    /// [`Error::UnknownSymbol`] when it is not there.
    pub fn step_char(
        &self,
        a: &mut [f32; H],
        symbol: char,
        logits: &mut [f32; O],
    ) -> Result<(), Error> {
        let token = self.vocab.index_of(symbol)?;
        self.step_token(a, token, logits)
    }

    /// One step with a dense input vector (sensor data).
    pub fn step_dense(&self, a: &mut [f32; H], x: &[f32; I], logits: &mut [f32; O]) {
        self.step(a, Input::Dense(x), logits);
    }

    fn step(&self, a: &mut [f32; H], x: Input<'_>, logits: &mut [f32; O]) {
        let mut scratch = [0.0f32; H];
        // The array types fix every length and the token was checked, so the runtime
        // checks inside cannot fail; their result carries no information here.
        let _ = self.weights.step(a, x, &mut scratch, logits);
    }
}
