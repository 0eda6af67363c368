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

use super::linalg::{check_floats, check_input, column_len, f, input_term, matvec, sizes};
use super::{columns, Head, Layer};
pub use super::{Cell, Input, Weight};
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, Header, ModelView};
use crate::math::tanh;
use crate::vocab::Vocab;

/// The Elman weights of a model, borrowed from the file (never copied), with sizes known
/// at run time. [`Elman`] wraps it with sizes fixed at compile time.
#[derive(Debug, Clone, Copy)]
pub struct ElmanWeights<'a, W: Weight = [u8; 4]> {
    input: usize,
    hidden: usize,
    output: usize,
    /// `W_ax` (as `w_x`), `W_aa` (`w_h`), `b_a` (`b_x`).
    layer: Layer<'a, W>,
    /// `W_ya`, `b_y`.
    head: Head<'a, W>,
}

/// Splits the weights in file order: `W_ax`, `W_aa`, `b_a`, `W_ya`, `b_y`.
fn split<W: Weight>(
    mut rest: &[W],
    (i, h, o): (usize, usize, usize),
) -> Result<ElmanWeights<'_, W>, Error> {
    Ok(ElmanWeights {
        input: i,
        hidden: h,
        output: o,
        layer: Layer::take(&mut rest, CellKind::Elman, i, h)?,
        head: Head::take(&mut rest, h, o)?,
    })
}

/// One Elman layer step: `a` (length `H`) holds `a_{t-1}` on entry and `a_t` on return;
/// `scratch` has `H` floats. Lengths are the caller's to check.
///
/// `a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)`, unit `i` summed in this order on every
/// target: `((W_aa[i] · a_{t-1}) + W_ax[i] · x_t) + b_a[i]`, each dot product from index 0
/// up.
pub(crate) fn layer_step<W: Weight>(
    layer: &Layer<'_, W>,
    a: &mut [f32],
    x: Input<'_>,
    scratch: &mut [f32],
) {
    let p = column_len(layer.w_x, layer.n_in);
    if let Some((w_x, b_x)) = columns::token_column(layer, x, a.len()) {
        columns::matvec_plus(layer.w_h, a.len(), a, scratch, [w_x, b_x], None);
    } else if let (true, Input::Dense(v)) = (W::COLUMNS, x) {
        let input = Some((layer.w_x, layer.n_in, v));
        columns::matvec_plus(layer.w_h, a.len(), a, scratch, [layer.b_x], input);
    } else {
        matvec(layer.w_h, a.len(), a, scratch, |i, acc| {
            let acc = acc + input_term(layer.w_x, layer.n_in, p, i, x);
            acc + layer.b_x.get(i).map_or(0.0, f)
        });
    }
    // A loop of its own, so that the host vectorises the activations.
    for (a, z) in a.iter_mut().zip(scratch.iter()) {
        *a = tanh(*z);
    }
}

impl<'a> ElmanWeights<'a, f32> {
    /// The weights of `view` read from `floats`, which must hold the same values bit for
    /// bit (checked here, once): a firmware that keeps the model file 4-aligned in flash
    /// can view [`ModelView::weight_bytes`] as `&[f32]` (the format aligns them) and pass
    /// it here, so the step loads each weight straight into an FPU register.
    /// [`Error::FloatsDiffer`] when the two disagree.
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        Self::with_weights(view, floats)
    }
}

impl<'a, W: Weight> ElmanWeights<'a, W> {
    /// Like [`ElmanWeights::with_floats`], for weights of any [`Weight`] type (a firmware's
    /// own, with a faster [`Weight::dot4`]): each must have the file's value, bit for bit.
    pub fn with_weights(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Elman)?;
        check_floats(view, words)?;
        split(words, sizes)
    }
}

impl<'a> ElmanWeights<'a> {
    /// The Elman weights of a parsed model, or [`Error::WrongCellKind`].
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        let sizes = sizes(view, CellKind::Elman)?;
        split(view.weight_bytes().as_chunks::<4>().0, sizes)
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
        self.layer.w_x.iter().map(f)
    }

    /// `W_aa`, H×H row-major.
    pub fn w_aa(&self) -> impl Iterator<Item = f32> + 'a {
        self.layer.w_h.iter().map(f)
    }

    /// `b_a`, length H.
    pub fn b_a(&self) -> impl Iterator<Item = f32> + 'a {
        self.layer.b_x.iter().map(f)
    }

    /// `W_ya`, O×H row-major.
    pub fn w_ya(&self) -> impl Iterator<Item = f32> + 'a {
        self.head.w_ya.iter().map(f)
    }

    /// `b_y`, length O.
    pub fn b_y(&self) -> impl Iterator<Item = f32> + 'a {
        self.head.b_y.iter().map(f)
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
        check_input(x, self.input)?;

        layer_step(&self.layer, a, x, scratch);
        // logits = W_ya · a_t + b_y   (y_t = softmax(logits))
        self.head.logits(a, logits);
        Ok(())
    }
}

impl<W: Weight> Cell for ElmanWeights<'_, W> {
    fn kind(&self) -> CellKind {
        CellKind::Elman
    }
    fn input_size(&self) -> usize {
        self.input
    }
    fn hidden_size(&self) -> usize {
        self.hidden
    }
    fn output_size(&self) -> usize {
        self.output
    }
    fn state_len(&self) -> usize {
        self.hidden
    }
    fn scratch_len(&self) -> usize {
        self.hidden
    }
    fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        ElmanWeights::step(self, state, x, scratch, logits)
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
    let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    view.header()
        .check_built_for(&Header::elman(size(I), size(H), size(O)))
}

impl<'a, const I: usize, const H: usize, const O: usize> Elman<'a, I, H, O> {
    /// Parses and checks a model file (see [`ModelView::parse`]) and checks that it is an
    /// Elman cell of exactly these sizes. The weights stay where `bytes` are.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_view(&ModelView::parse_for::<crate::format::FloatModels>(bytes)?)
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
        Self::with_weights(view, floats)
    }
}

impl<'a, const I: usize, const H: usize, const O: usize, W: Weight> Elman<'a, I, H, O, W> {
    /// Like [`Elman::with_floats`], for weights of any [`Weight`] type (see
    /// [`ElmanWeights::with_weights`]).
    pub fn with_weights(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        check_sizes::<I, H, O>(view)?;
        Ok(Elman {
            weights: ElmanWeights::with_weights(view, words)?,
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
