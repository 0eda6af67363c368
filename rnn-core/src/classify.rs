//! Many-to-one: a recurrent stack reads a whole sequence, and a dense layer turns its final
//! hidden state into class scores.
//!
//! ```text
//! x'_t = (x_t - mean) ⊙ scale                     dense inputs of a normalised model
//! h_t  = cell(h_{t-1}, x'_t)                       each layer of the forward stack, t = 0..T
//! g_t  = cell(g_{t+1}, x'_t)                       the backward stack (bidirectional), t = T-1..0
//! y    = softmax(W_ya · [h_{T-1}; g_0] + b_y)      class scores from the top layer
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

use crate::cell::linalg::{check_floats, f, model_sizes, take};
use crate::cell::{layer_scratch_len, layer_step, Head, Input, Layer, Weight};
use crate::classes::Classes;
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

/// A classifier of any cell kind, depth and direction, borrowed from the file, with sizes
/// known at run time.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a, W: Weight = [u8; 4]> {
    kind: CellKind,
    depth: usize,
    directions: usize,
    input: usize,
    hidden: usize,
    output: usize,
    norm: Option<(&'a [W], &'a [W])>,
    stacks: [[Option<Layer<'a, W>>; STACK]; 2],
    head: Head<'a, W>,
    classes: Classes<'a>,
}

fn split<'a, W: Weight>(
    mut rest: &'a [W],
    view: &ModelView<'a>,
) -> Result<Classifier<'a, W>, Error> {
    let header = view.header();
    if header.task != Task::Classify {
        return Err(Error::WrongTask {
            expected: Task::Classify,
            found: header.task,
        });
    }
    let (i, h, o) = model_sizes(view)?;
    let (depth, directions) = (usize::from(header.layers), header.directions());
    let norm = if header.normalized {
        Some((take(&mut rest, i)?, take(&mut rest, i)?))
    } else {
        None
    };
    let mut stacks = [[None; STACK]; 2];
    for stack in stacks.iter_mut().take(directions) {
        for (l, slot) in stack.iter_mut().enumerate().take(depth) {
            let n_in = header.layer_input(l);
            *slot = Some(Layer::take(&mut rest, header.cell, n_in, h)?);
        }
    }
    Ok(Classifier {
        kind: header.cell,
        depth,
        directions,
        input: i,
        hidden: h,
        output: o,
        norm,
        stacks,
        head: Head::take(&mut rest, header.head_input(), o)?,
        classes: view.classes(),
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
        check_floats(view, words)?;
        split(words, view)
    }
}

impl<'a, W: Weight> Classifier<'a, W> {
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

    /// The class names, in output order.
    pub fn classes(&self) -> Classes<'a> {
        self.classes
    }

    /// Floats of working memory [`Classifier::classify`] needs for a sequence of `steps`
    /// steps: one layer's state and scratch, a normalised input, the final states, and
    /// for a stack two sequences of the layers' outputs.
    pub fn work_len(&self, steps: usize) -> usize {
        let dh = self.directions * self.hidden;
        let sequences = if self.depth > 1 { 2 * steps * dh } else { 0 };
        self.kind.state_len(self.hidden)
            + layer_scratch_len(self.kind, self.hidden)
            + self.input
            + dh
            + sequences
    }

    /// Classifies a whole sequence: `logits` (length `O`) receives the class scores
    /// `W_ya · [h_{T-1}; g_0] + b_y` (the softmax is in [`crate::sample`]). `work` holds at
    /// least [`Classifier::work_len`] floats. Errors: an empty sequence, a token out of
    /// range, a dense sequence whose length is not a multiple of `I`, too little working
    /// memory, a wrong `logits` length.
    pub fn classify(
        &self,
        steps: Steps<'_>,
        work: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        let (h, dh, ni) = (self.hidden, self.directions * self.hidden, self.input);
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
        check_len(Dim::Output, self.output, logits.len())?;
        let needed = self.work_len(t_len);
        let Some(work) = work.get_mut(..needed) else {
            return Err(Error::BufferLength {
                dim: Dim::Work,
                expected: needed,
                found: work.len(),
            });
        };
        let (state, rest) = work.split_at_mut(self.kind.state_len(h));
        let (scratch, rest) = rest.split_at_mut(layer_scratch_len(self.kind, h));
        let (x_norm, rest) = rest.split_at_mut(ni);
        let (finals, rest) = rest.split_at_mut(dh);
        let (mut below, mut above) = rest.split_at_mut(rest.len() / 2);

        for l in 0..self.depth {
            for (dir, stack) in self.stacks.iter().enumerate().take(self.directions) {
                let Some(layer) = stack.get(l).copied().flatten() else {
                    return Err(Error::Truncated);
                };
                state.fill(0.0);
                for k in 0..t_len {
                    let t = if dir == 0 { k } else { t_len - 1 - k };
                    let x = if l > 0 {
                        Input::Dense(below.get(t * dh..(t + 1) * dh).unwrap_or_default())
                    } else {
                        match steps {
                            Steps::Tokens(tokens) => {
                                Input::Token(tokens.get(t).map_or(0, |&v| usize::from(v)))
                            }
                            Steps::Dense(values) => {
                                let x = values.get(t * ni..(t + 1) * ni).unwrap_or_default();
                                self.input_vector(x, x_norm)
                            }
                        }
                    };
                    layer_step(self.kind, &layer, state, x, scratch);
                    if l + 1 < self.depth {
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
        self.head.logits(finals, logits);
        Ok(())
    }

    /// The first layer's input for a dense step: as given, or normalised into `x_norm`.
    fn input_vector<'x>(&self, x: &'x [f32], x_norm: &'x mut [f32]) -> Input<'x> {
        match self.norm {
            None => Input::Dense(x),
            Some((mean, scale)) => {
                for (((n, x), m), s) in x_norm.iter_mut().zip(x).zip(mean).zip(scale) {
                    *n = (*x - f(m)) * f(s);
                }
                Input::Dense(x_norm)
            }
        }
    }
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
