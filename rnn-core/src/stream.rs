//! Streaming per-step models: a tagger or a regression model reads one input at a time and
//! answers at once, with the state owned by the caller (a sensor sample in, the activity
//! or the filtered value out).
//!
//! ```text
//! x'_t = (x_t - mean) ⊙ scale                       dense inputs of a normalised model
//! h^l_t = cell(h^l_{t-1}, h^{l-1}_t)                each layer, h^{-1}_t = x'_t
//! tag:     logits_t = W_ya · h^{L-1}_t + b_y        label = argmax, p = softmax(logits)[label]
//! regress: y_t = target_mean + target_std ⊙ (W_ya · h^{L-1}_t + b_y)
//! ```
//!
//! Only a unidirectional model streams: a bidirectional one reads every step from both
//! ends, so it needs the whole sequence ([`crate::Classifier::per_step`]).
//!
//! ```
//! use rnn_core::{CellKind, Error, Header, Input, Stream, Task};
//!
//! // A regression model: 2 channels in, 1 target out, 3 hidden units, made-up weights.
//! let header = Header::new(CellKind::Elman, 1, 2, 3, 1).with_task(Task::Regress);
//! let weights: Vec<f32> = (0..header.param_count()?).map(|k| (k as f32 * 0.3).sin()).collect();
//! let mut weights = weights;
//! weights[1] = 2.0; // target_std: the output layer's value times 2, plus target_mean
//! let mut file = [0u8; 512];
//! let len = rnn_core::write_classifier(&mut file, &header, "", "speed\n", &[&weights])?;
//!
//! let view = rnn_core::ModelView::parse(&file[..len])?;
//! let model = Stream::from_view(&view)?;
//! let mut state = [0.0f32; 3];
//! let mut scratch = [0.0f32; 5];
//! let mut y = [0.0f32; 1];
//! assert_eq!((model.state_len(), model.scratch_len()), (3, 5));
//! for sample in [[0.5f32, -1.0], [0.25, 0.0]] {
//!     model.step(&mut state, Input::Dense(&sample), &mut scratch, &mut y)?;
//!     assert!(y[0].is_finite());
//! }
//! // A wrong number of channels is an error, not a panic.
//! assert!(model.step(&mut state, Input::Dense(&[1.0]), &mut scratch, &mut y).is_err());
//! # Ok::<(), Error>(())
//! ```

use crate::cell::linalg::{check_floats, check_input, model_sizes};
use crate::cell::{layer_scratch_len, stack_step, Head, Input, Layer, Stats, Weight};
use crate::classes::Classes;
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, ModelView, Task, MAX_LAYERS};

const STACK: usize = MAX_LAYERS as usize;

/// A unidirectional tagger or regression model of any cell kind and depth, borrowed from
/// the file, that answers at every step. `L` is the most layers it holds (4, the format's
/// limit, by default): a firmware built for one model gives its depth, so that its table
/// of layers has no empty slots, and a deeper model is refused when it loads.
#[derive(Debug, Clone, Copy)]
pub struct Stream<'a, W: Weight = [u8; 4], const L: usize = STACK> {
    task: Task,
    kind: CellKind,
    depth: usize,
    input: usize,
    hidden: usize,
    output: usize,
    stats: Stats<'a, W>,
    layers: [Option<Layer<'a, W>>; L],
    head: Head<'a, W>,
    names: Classes<'a>,
}

pub(crate) fn split<'a, W: Weight, const L: usize>(
    mut rest: &'a [W],
    view: &ModelView<'a>,
) -> Result<Stream<'a, W, L>, Error> {
    let header = view.header();
    if !matches!(header.task, Task::Tag | Task::Regress) {
        return Err(Error::WrongTask {
            expected: Task::Tag,
            found: header.task,
        });
    }
    if header.bidirectional {
        return Err(Error::InvalidModel {
            reason: "a bidirectional model needs the whole sequence; it cannot stream",
        });
    }
    let (i, h, o) = model_sizes(view)?;
    let stats = Stats::take(&mut rest, &header)?;
    let depth = usize::from(header.layers);
    let mut layers = [None; L];
    Layer::take_stack(&mut layers, &mut rest, &header)?;
    Ok(Stream {
        task: header.task,
        kind: header.cell,
        depth,
        input: i,
        hidden: h,
        output: o,
        stats,
        layers,
        head: Head::take(&mut rest, h, o)?,
        names: view.classes(),
    })
}

impl<'a> Stream<'a> {
    /// The streaming model a parsed file holds: [`Error::WrongTask`] unless it tags or
    /// regresses, [`Error::InvalidModel`] when it is bidirectional.
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        split(view.weight_bytes().as_chunks::<4>().0, view)
    }
}

impl<'a> Stream<'a, f32> {
    /// Like [`Stream::from_view`], reading the weights from `floats`, which must equal the
    /// file's bit for bit (see [`crate::ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        Self::with_weights(view, floats)
    }
}

impl<'a, W: Weight> Stream<'a, W> {
    /// Like [`Stream::with_floats`], for weights of any [`Weight`] type.
    pub fn with_weights(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        Self::for_depth(view, words)
    }
}

impl<'a, W: Weight, const L: usize> Stream<'a, W, L> {
    /// Like [`Stream::with_weights`], with a table of `L` layers (a firmware gives its
    /// model's depth): a deeper model is [`Error::SizeMismatch`].
    pub fn for_depth(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        check_floats(view, words)?;
        split(words, view)
    }

    /// [`Task::Tag`] or [`Task::Regress`].
    pub fn task(&self) -> Task {
        self.task
    }

    /// The cell kind of every layer.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// Number of stacked recurrent layers.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `I`: symbols in the vocabulary, or channels of a dense input.
    pub fn input_size(&self) -> usize {
        self.input
    }

    /// `H`, the hidden size of every layer.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// `O`: classes (tagging) or targets (regression).
    pub fn output_size(&self) -> usize {
        self.output
    }

    /// The class names (tagging) or target names (regression), in output order.
    pub fn names(&self) -> Classes<'a> {
        self.names
    }

    /// Floats of state the caller keeps between steps: every layer's (`H`, or `2·H` for
    /// LSTM), zero at the start of a recording.
    pub fn state_len(&self) -> usize {
        self.depth * self.kind.state_len(self.hidden)
    }

    /// Floats of working space [`Stream::step`] needs: one layer's gates and a
    /// normalised input.
    pub fn scratch_len(&self) -> usize {
        layer_scratch_len(self.kind, self.hidden) + self.input
    }

    /// One step: `state` holds the state after `t-1` on entry and after `t` on return;
    /// `out` (length `O`) receives the step's class scores (tagging; [`crate::sample::top`]
    /// gives the label and its probability) or its values in the targets' units
    /// (regression). Wrong buffer lengths and out-of-range tokens are errors.
    pub fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        out: &mut [f32],
    ) -> Result<(), Error> {
        check_len(Dim::Hidden, self.state_len(), state.len())?;
        check_len(Dim::Work, self.scratch_len(), scratch.len())?;
        check_len(Dim::Output, self.output, out.len())?;
        check_input(x, self.input)?;
        let (gates, x_norm) = scratch.split_at_mut(layer_scratch_len(self.kind, self.hidden));
        let x = self.stats.input(x, x_norm);
        let top = stack_step(self.kind, self.hidden, &self.layers, state, x, gates);
        self.head.logits(top, out);
        self.stats.outputs(out);
        Ok(())
    }
}
