//! Whole-sequence models. Many-to-one: a recurrent stack reads a whole sequence, and a
//! dense layer turns its final hidden state into class scores ([`Classifier::classify`]).
//! Offline many-to-many: a (bidirectional) tagger or regression model answers at every
//! step from both directions' states at that step ([`Classifier::per_step`]; a
//! unidirectional one can stream instead, [`crate::Stream`]).
//!
//! ```text
//! x_t ← (x_t - m) ⊙ s                             per-sequence normalisation: m, 1/s the
//!                                                  sequence's own mean and s.d. per channel
//! x'_t = (x_t - mean) ⊙ scale                     dense inputs of a normalised model
//! h_t  = cell(h_{t-1}, x'_t)                       each layer of the forward stack, t = 0..T
//! g_t  = cell(g_{t+1}, x'_t)                       the backward stack (bidirectional), t = T-1..0
//! y    = softmax(W_ya · [h_{T-1}; g_0] + b_y)      class scores from the top layer
//! y_t  = W_ya · [h_t; g_t] + b_y                   per step (tagging; regression adds
//!                                                  target_mean + target_std ⊙ y_t)
//! ```
//!
//! In a stack, layer `l > 0` reads the top-down concatenation of both directions of layer
//! `l - 1` at the same step (PyTorch's bidirectional stacking). File order of the weights:
//! `mean` (I), `scale` (I) when normalised, the forward stack's layers, the backward stack's
//! layers, then `W_ya` (O × D·H) and `b_y` (O). Each layer runs the same code as in a
//! next-symbol model ([`crate::cell`]).
//!
//! A bidirectional model needs the whole sequence before it can answer, so the caller
//! keeps it, on a device in a [`TokenBuffer`] or [`DenseBuffer`] of fixed capacity, and
//! hands [`Classifier::classify`] working memory of [`Classifier::work_len`] floats.

use crate::cell::linalg::{check_floats, model_sizes};
use crate::cell::{layer_scratch_len, layer_step, Head, Input, Layer, Stats, Weight};
use crate::classes::Classes;
use crate::conv::Conv;
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, ModelView, Task, MAX_LAYERS};

const STACK: usize = MAX_LAYERS as usize;

/// A sequence to classify: symbol indices (one-hot inputs), or dense vectors of `I`
/// channels stored step after step (`values.len() = T · I`).
#[derive(Debug, Clone, Copy)]
pub enum Steps<'x> {
    /// One symbol index per step.
    Tokens(&'x [u16]),
    /// `T · I` values, step after step.
    Dense(&'x [f32]),
}

/// Which optional stages a [`Classifier`] is compiled with: the per-sequence normalisation
/// and the convolutional front-end. The default, [`AllStages`], runs every model; a
/// firmware whose embedded model has neither can use [`NoStages`], and the code of both
/// stages is left out of its binary (3 to 5 KB on a Cortex-M); a model that needs a stage
/// the classifier lacks is refused when it is loaded ([`Error::InvalidModel`]).
pub trait Stages: Copy + core::fmt::Debug {
    /// Whether the convolutional front-end is compiled in.
    const CONV: bool;
    /// Whether the per-sequence normalisation is compiled in.
    const SEQUENCE_NORM: bool;
}

/// Every stage: runs any classifier.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllStages;

impl Stages for AllStages {
    const CONV: bool = true;
    const SEQUENCE_NORM: bool = true;
}

/// Neither optional stage: the recurrent stack and the output layer only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStages;

impl Stages for NoStages {
    const CONV: bool = false;
    const SEQUENCE_NORM: bool = false;
}

/// A classifier of any cell kind, depth and direction, borrowed from the file, with sizes
/// known at run time (and the optional stages of `S`). `L` is the most layers per
/// direction it holds (4, the format's limit, by default): a firmware built for one model
/// gives its depth, so that the table of layers it keeps has no empty slots (each slot is
/// four slices), and a deeper model is refused when it loads.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a, W: Weight = [u8; 4], S: Stages = AllStages, const L: usize = STACK> {
    kind: CellKind,
    depth: usize,
    directions: usize,
    input: usize,
    hidden: usize,
    output: usize,
    task: Task,
    sequence_normalized: bool,
    stats: Stats<'a, W>,
    conv: Conv<'a, W>,
    stacks: [[Option<Layer<'a, W>>; L]; 2],
    head: Head<'a, W>,
    classes: Classes<'a>,
    stages: core::marker::PhantomData<S>,
}

pub(crate) fn split<'a, W: Weight, S: Stages, const L: usize>(
    mut rest: &'a [W],
    view: &ModelView<'a>,
) -> Result<Classifier<'a, W, S, L>, Error> {
    let header = view.header();
    if (!S::CONV && !header.conv.is_empty()) || (!S::SEQUENCE_NORM && header.sequence_normalized) {
        return Err(Error::InvalidModel {
            reason: "the model needs a stage this classifier was built without",
        });
    }
    if header.task == Task::Next {
        return Err(Error::WrongTask {
            expected: Task::Classify,
            found: header.task,
        });
    }
    let (i, h, o) = model_sizes(view)?;
    let (depth, directions) = (usize::from(header.layers), header.directions());
    let stats = Stats::take(&mut rest, &header)?;
    let conv = Conv::take(&mut rest, header.conv, i)?;
    let mut stacks = [[None; L]; 2];
    for stack in stacks.iter_mut().take(directions) {
        Layer::take_stack(stack, &mut rest, &header)?;
    }
    Ok(Classifier {
        kind: header.cell,
        depth,
        directions,
        input: i,
        hidden: h,
        output: o,
        task: header.task,
        sequence_normalized: header.sequence_normalized,
        stats,
        conv,
        stacks,
        head: Head::take(&mut rest, header.head_input(), o)?,
        classes: view.classes(),
        stages: core::marker::PhantomData,
    })
}

impl<'a> Classifier<'a> {
    /// The classifier a parsed model holds, or [`Error::WrongTask`].
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        split(view.weight_bytes().as_chunks::<4>().0, view)
    }
}

impl<'a> Classifier<'a, f32> {
    /// Like [`Classifier::from_view`], reading the weights from `floats`, which must equal
    /// the file's bit for bit (see [`crate::ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        Self::with_weights(view, floats)
    }
}

impl<'a, W: Weight> Classifier<'a, W> {
    /// Like [`Classifier::with_floats`], for weights of any [`Weight`] type (see
    /// [`crate::ElmanWeights::with_weights`]).
    pub fn with_weights(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        Self::with_stages(view, words)
    }
}

impl<'a, W: Weight, S: Stages, const L: usize> Classifier<'a, W, S, L> {
    /// Like [`Classifier::with_weights`], compiled with the stages of `S` only and a table
    /// of `L` layers per direction.
    pub fn with_stages(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        check_floats(view, words)?;
        split(words, view)
    }
}

impl<'a, W: Weight, S: Stages, const L: usize> Classifier<'a, W, S, L> {
    /// The cell kind of every layer.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// `I`: symbols in the vocabulary, or channels of a dense input.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// `O`: the number of classes.
    pub fn output_size(&self) -> usize {
        self.output
    }

    /// The convolutional front-end (empty without one), to run step by step.
    pub fn conv(&self) -> Conv<'a, W> {
        self.conv
    }

    /// The class names, in output order.
    pub fn classes(&self) -> Classes<'a> {
        self.classes
    }

    /// Floats of working memory [`Classifier::classify`] needs for a sequence of `steps`
    /// steps: one layer's state and scratch, a normalised input, the final states, and
    /// for a stack two sequences of the layers' outputs.
    pub fn work_len(&self, steps: usize) -> usize {
        let dh = self.directions * self.hidden;
        let t = self.front().steps_out(steps);
        let sequences = if self.depth > 1 { 2 * t * dh } else { 0 };
        self.kind.state_len(self.hidden)
            + layer_scratch_len(self.kind, self.hidden)
            + self.input
            + dh
            + sequences
            + self.conv_work_len(steps)
            + self.seq_norm_len()
    }

    /// The per-sequence normalisation's part of the working memory: the sequence's mean
    /// and inverse standard deviation per channel, and one normalised step.
    fn seq_norm_len(&self) -> usize {
        if self.seq_normalized() {
            3 * self.input
        } else {
            0
        }
    }

    /// The front-end, when compiled in (a constant `NONE` otherwise, so that its code goes).
    fn front(&self) -> crate::conv::ConvStack {
        if S::CONV {
            self.conv.stack()
        } else {
            crate::conv::ConvStack::NONE
        }
    }

    /// Whether each sequence is normalised, when compiled in.
    fn seq_normalized(&self) -> bool {
        S::SEQUENCE_NORM && self.sequence_normalized
    }

    /// The front-end's part of the working memory: its ring buffers and scratch, and its
    /// outputs for the whole sequence (what the recurrent stack reads).
    fn conv_work_len(&self, steps: usize) -> usize {
        let stack = self.front();
        if stack.is_empty() {
            return 0;
        }
        self.conv.state_len()
            + self.conv.scratch_len()
            + stack.steps_out(steps) * stack.out_channels(self.input)
    }

    /// Classifies a whole sequence: `logits` (length `O`) receives the class scores
    /// `W_ya · [h_{T-1}; g_0] + b_y` (the softmax is in [`crate::sample`]). `work` holds at
    /// least [`Classifier::work_len`] floats. Errors: a model that is not a classifier
    /// ([`Error::WrongTask`]), an empty sequence, a token out of range, a dense sequence
    /// whose length is not a multiple of `I`, too little working memory, a wrong `logits`
    /// length.
    pub fn classify(
        &self,
        steps: Steps<'_>,
        work: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        if self.task != Task::Classify {
            return Err(Error::WrongTask {
                expected: Task::Classify,
                found: self.task,
            });
        }
        check_len(Dim::Output, self.output, logits.len())?;
        let finals = self.run(steps, work, false, &mut no_probe)?;
        self.head.logits(finals, logits);
        Ok(())
    }

    /// Floats of working memory [`Classifier::per_step`] needs for `steps` steps: as
    /// [`Classifier::work_len`], with the top layer's outputs at every step kept too.
    pub fn per_step_work_len(&self, steps: usize) -> usize {
        let dh = self.directions * self.hidden;
        self.work_len(steps) + if self.depth > 1 { 0 } else { 2 * steps * dh }
    }

    /// Runs a tagging or regression model over a whole sequence (the way a bidirectional
    /// one must): `out` (`T · O` floats, step after step) receives each step's class
    /// scores `W_ya · [h_t; g_t] + b_y` (tagging) or values in the targets' units
    /// (regression). `work` holds at least [`Classifier::per_step_work_len`] floats.
    /// Errors as [`Classifier::classify`]'s, with [`Error::WrongTask`] for a classifier
    /// and [`Error::BufferLength`] when `out` is not `T · O` floats.
    pub fn per_step(
        &self,
        steps: Steps<'_>,
        work: &mut [f32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        if !matches!(self.task, Task::Tag | Task::Regress) {
            return Err(Error::WrongTask {
                expected: Task::Tag,
                found: self.task,
            });
        }
        let t_len = self.steps_len(steps)?;
        check_len(Dim::Output, t_len * self.output, out.len())?;
        self.run(steps, work, true, &mut no_probe)?;
        let dh = self.directions * self.hidden;
        let tops = self.tops(work, t_len);
        for (top, y) in tops.chunks_exact(dh).zip(out.chunks_exact_mut(self.output)) {
            self.head.logits(top, y);
            self.stats.outputs(y);
        }
        Ok(())
    }

    /// Runs the stacks over a whole sequence as [`Classifier::classify`] or
    /// [`Classifier::per_step`] would, and shows `probe` every dense input the first layer
    /// reads and every layer's state after each step: the ranges a quantizer calibrates
    /// on. `work` holds at least [`Classifier::per_step_work_len`] floats.
    pub fn probe(
        &self,
        steps: Steps<'_>,
        work: &mut [f32],
        probe: &mut impl FnMut(Probe<'_>),
    ) -> Result<(), Error> {
        self.run(steps, work, true, probe).map(|_| ())
    }

    /// The number of steps of a sequence, after checking its tokens or its length.
    fn steps_len(&self, steps: Steps<'_>) -> Result<usize, Error> {
        let ni = self.input;
        let t_len = match steps {
            Steps::Tokens(tokens) => {
                if let Some(&token) = tokens.iter().find(|&&t| usize::from(t) >= ni) {
                    return Err(Error::TokenOutOfRange {
                        token: usize::from(token),
                        len: ni,
                    });
                }
                tokens.len()
            }
            Steps::Dense(values) => {
                if values.len() % ni != 0 {
                    return Err(Error::BufferLength {
                        dim: Dim::Input,
                        expected: ni * (values.len() / ni + 1),
                        found: values.len(),
                    });
                }
                values.len() / ni
            }
        };
        if t_len == 0 {
            return Err(Error::EmptySequence);
        }
        Ok(t_len)
    }

    /// Step `t` of the input as the first layer (or the front-end) reads it: a token, or
    /// the dense vector normalised into `x_norm`.
    fn step_input<'x>(
        &self,
        steps: Steps<'x>,
        t: usize,
        seq: &SeqNorm<'_>,
        seq_x: &'x mut [f32],
        x_norm: &'x mut [f32],
    ) -> Input<'x> {
        let ni = self.input;
        match steps {
            Steps::Tokens(tokens) => Input::Token(tokens.get(t).map_or(0, |&v| usize::from(v))),
            Steps::Dense(values) => {
                let x = values.get(t * ni..(t + 1) * ni).unwrap_or_default();
                if self.seq_normalized() {
                    for (((o, x), m), s) in seq_x.iter_mut().zip(x).zip(seq.mean).zip(seq.inv_std) {
                        *o = (*x - *m) * *s;
                    }
                    self.stats.input(Input::Dense(seq_x), x_norm)
                } else {
                    self.stats.input(Input::Dense(x), x_norm)
                }
            }
        }
    }

    /// Where [`Classifier::run`] with `keep_top` leaves the top layer's outputs
    /// `[h_t; g_t]` of every step in `work`.
    fn tops<'w>(&self, work: &'w [f32], t_len: usize) -> &'w [f32] {
        let dh = self.directions * self.hidden;
        let start = self.kind.state_len(self.hidden)
            + layer_scratch_len(self.kind, self.hidden)
            + self.input
            + dh;
        // The layers swap two halves of the rest; the top one wrote the half indexed by
        // the parity of the depth.
        let half = self.per_step_work_len(t_len).saturating_sub(start) / 2;
        let at = start + if self.depth % 2 == 1 { half } else { 0 };
        work.get(at..at + t_len * dh).unwrap_or_default()
    }

    /// The recurrent stacks over a whole sequence; returns the final states
    /// `[h_{T-1}; g_0]`. With `keep_top` the top layer's outputs at every step are kept
    /// in `work` too ([`Classifier::tops`]).
    fn run<'w>(
        &self,
        steps: Steps<'_>,
        work: &'w mut [f32],
        keep_top: bool,
        probe: &mut impl FnMut(Probe<'_>),
    ) -> Result<&'w [f32], Error> {
        let (h, dh, ni) = (self.hidden, self.directions * self.hidden, self.input);
        let t_in = self.steps_len(steps)?;
        let needed = if keep_top {
            self.per_step_work_len(t_in)
        } else {
            self.work_len(t_in)
        };
        let found = work.len();
        let Some(work) = work.get_mut(..needed) else {
            return Err(Error::BufferLength {
                dim: Dim::Work,
                expected: needed,
                found,
            });
        };
        let (work, seq_area) = work
            .split_at_mut_checked(needed.saturating_sub(self.seq_norm_len()))
            .ok_or(Error::Truncated)?;
        let (work, conv_area) = work
            .split_at_mut_checked(work.len().saturating_sub(self.conv_work_len(t_in)))
            .ok_or(Error::Truncated)?;
        let (seq_mean, rest) = seq_area
            .split_at_mut_checked(self.seq_norm_len() / 3)
            .ok_or(Error::Truncated)?;
        let (seq_inv, seq_x) = rest
            .split_at_mut_checked(self.seq_norm_len() / 3)
            .ok_or(Error::Truncated)?;
        if let (true, Steps::Dense(values)) = (self.seq_normalized(), steps) {
            sequence_moments(values, ni, seq_mean, seq_inv);
        }
        let seq = SeqNorm {
            mean: seq_mean,
            inv_std: seq_inv,
        };
        let (state, rest) = work.split_at_mut(self.kind.state_len(h));
        let (scratch, rest) = rest.split_at_mut(layer_scratch_len(self.kind, h));
        let (x_norm, rest) = rest.split_at_mut(ni);
        let (finals, rest) = rest.split_at_mut(dh);
        let (mut below, mut above) = rest.split_at_mut(rest.len() / 2);
        // The front-end first, over the whole sequence: what the first layer reads.
        let front = self.front();
        let t_len = front.steps_out(t_in);
        let c = front.out_channels(ni);
        let (conv_state, rest) = conv_area
            .split_at_mut_checked(self.conv.state_len())
            .ok_or(Error::Truncated)?;
        let (conv_scratch, conv_out) = rest
            .split_at_mut_checked(self.conv.scratch_len())
            .ok_or(Error::Truncated)?;
        if !front.is_empty() {
            conv_state.fill(0.0);
            let mut j = 0;
            for t in 0..t_in {
                let x = self.step_input(steps, t, &seq, seq_x, x_norm);
                if let Input::Dense(v) = x {
                    probe(Probe::Input(v));
                }
                let out = conv_out.get_mut(j * c..(j + 1) * c).unwrap_or_default();
                let mut show = |layer, out: &[f32]| probe(Probe::Conv { layer, out });
                if self
                    .conv
                    .step_probed(conv_state, t, x, conv_scratch, out, &mut show)?
                {
                    j += 1;
                }
            }
        }

        for l in 0..self.depth {
            let keep = keep_top || l + 1 < self.depth;
            for (dir, stack) in self.stacks.iter().enumerate().take(self.directions) {
                let Some(layer) = stack.get(l).copied().flatten() else {
                    return Err(Error::Truncated);
                };
                state.fill(0.0);
                for k in 0..t_len {
                    let t = if dir == 0 { k } else { t_len - 1 - k };
                    let x = if l > 0 {
                        Input::Dense(below.get(t * dh..(t + 1) * dh).unwrap_or_default())
                    } else if !front.is_empty() {
                        Input::Dense(conv_out.get(t * c..(t + 1) * c).unwrap_or_default())
                    } else {
                        self.step_input(steps, t, &seq, seq_x, x_norm)
                    };
                    if let (0, 0, Input::Dense(v), true) = (l, dir, x, front.is_empty()) {
                        probe(Probe::Input(v));
                    }
                    layer_step(self.kind, &layer, state, x, scratch);
                    probe(Probe::State {
                        layer: l,
                        direction: dir,
                        state,
                    });
                    if keep {
                        let out = above.get_mut(t * dh + dir * h..t * dh + (dir + 1) * h);
                        for (o, s) in out.unwrap_or_default().iter_mut().zip(state.iter()) {
                            *o = *s;
                        }
                    }
                }
                if l + 1 == self.depth {
                    let out = finals.get_mut(dir * h..(dir + 1) * h).unwrap_or_default();
                    for (o, s) in out.iter_mut().zip(state.iter()) {
                        *o = *s;
                    }
                }
            }
            core::mem::swap(&mut below, &mut above);
        }
        Ok(finals)
    }
}

/// The probe of [`Classifier::classify`] and [`Classifier::per_step`]: one function type,
/// so that both share one copy of the stacks' code.
fn no_probe(_: Probe<'_>) {}

/// What [`Classifier::probe`] shows.
#[derive(Debug, Clone, Copy)]
pub enum Probe<'a> {
    /// A dense input step as the model reads it (normalised): the first convolutional
    /// layer's input, or the first recurrent layer's without a front-end.
    Input(&'a [f32]),
    /// A convolutional layer's output (after its ReLU), when it answers.
    Conv {
        /// The layer, from the input up.
        layer: usize,
        /// Its channels.
        out: &'a [f32],
    },
    /// A layer's state (`h`, then `c` for LSTM) after a step in one direction.
    State {
        /// The layer, from the input up.
        layer: usize,
        /// 0 forward, 1 backward.
        direction: usize,
        /// The state.
        state: &'a [f32],
    },
}

/// A sequence's own per-channel statistics (per-sequence normalisation).
struct SeqNorm<'a> {
    mean: &'a [f32],
    inv_std: &'a [f32],
}

/// The per-channel mean and inverse standard deviation of a sequence of `channels`-value
/// steps (`values.len() = T · channels`), the statistics of per-sequence normalisation
/// `x' = (x - mean) · inv_std`: in `f32`, each sum over the steps in order, the standard
/// deviation the population's (`√(Σ (x - mean)² / T)`); a constant channel (or an empty
/// sequence) gets `inv_std = 1`. The trainer normalises its data with this function too,
/// so host and device agree bit for bit.
pub fn sequence_moments(values: &[f32], channels: usize, mean: &mut [f32], inv_std: &mut [f32]) {
    for (c, (m, s)) in mean
        .iter_mut()
        .zip(inv_std.iter_mut())
        .enumerate()
        .take(channels)
    {
        (*m, *s) = channel_moments(values, channels, c);
    }
}

/// [`sequence_moments`] of channel `c` alone: `(mean, inv_std)`, the same bits.
pub fn channel_moments(values: &[f32], channels: usize, c: usize) -> (f32, f32) {
    let t_len = values.len() / channels.max(1);
    let n = t_len.max(1) as f32;
    let column = || values.iter().skip(c).step_by(channels.max(1)).take(t_len);
    let mut sum = 0.0f32;
    for x in column() {
        sum += *x;
    }
    let m = sum / n;
    let mut sq = 0.0f32;
    for x in column() {
        sq += (*x - m) * (*x - m);
    }
    let sd = libm::sqrtf(sq / n);
    let inv = 1.0 / sd;
    (
        m,
        if sd > 0.0 && inv.is_finite() {
            inv
        } else {
            1.0
        },
    )
}

/// A sequence of symbol indices of at most `T` steps, kept without a heap (for example a
/// word received over a serial line).
#[derive(Debug, Clone, Default)]
pub struct TokenBuffer<const T: usize> {
    steps: heapless::Vec<u16, T>,
}

impl<const T: usize> TokenBuffer<T> {
    /// An empty buffer.
    pub const fn new() -> Self {
        TokenBuffer {
            steps: heapless::Vec::new(),
        }
    }

    /// Appends a symbol index; [`Error::SequenceTooLong`] when the buffer is full, or
    /// [`Error::TokenOutOfRange`] for an index above `u16::MAX`.
    pub fn push(&mut self, token: usize) -> Result<(), Error> {
        let t = u16::try_from(token).map_err(|_| Error::TokenOutOfRange {
            token,
            len: usize::from(u16::MAX) + 1,
        })?;
        self.steps
            .push(t)
            .map_err(|_| Error::SequenceTooLong { capacity: T })
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.steps.clear();
    }

    /// Number of steps held.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when no step is held.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The sequence, for [`Classifier::classify`].
    pub fn steps(&self) -> Steps<'_> {
        Steps::Tokens(&self.steps)
    }
}

/// A sequence of dense vectors of `I` channels, at most `T` steps, kept without a heap
/// (for example sensor readings).
#[derive(Debug, Clone, Default)]
pub struct DenseBuffer<const T: usize, const I: usize> {
    steps: heapless::Vec<[f32; I], T>,
}

impl<const T: usize, const I: usize> DenseBuffer<T, I> {
    /// An empty buffer.
    pub const fn new() -> Self {
        DenseBuffer {
            steps: heapless::Vec::new(),
        }
    }

    /// Appends one step; [`Error::SequenceTooLong`] when the buffer is full.
    pub fn push(&mut self, x: [f32; I]) -> Result<(), Error> {
        self.steps
            .push(x)
            .map_err(|_| Error::SequenceTooLong { capacity: T })
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.steps.clear();
    }

    /// Number of steps held.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when no step is held.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The sequence, for [`Classifier::classify`].
    pub fn steps(&self) -> Steps<'_> {
        Steps::Dense(self.steps.as_flattened())
    }
}
