//! A stack of 1 to 4 recurrent layers of one kind (Elman, GRU or LSTM) and an output layer:
//!
//! ```text
//! h^0_t = cell(h^0_{t-1}, x_t)          layer 0 reads the input
//! h^l_t = cell(h^l_{t-1}, h^{l-1}_t)    each further layer reads the one below
//! y_t   = softmax(W_ya · h^{L-1}_t + b_y)
//! ```
//!
//! The state is the layers' states one after the other (`H` floats per Elman or GRU layer,
//! `2·H` per LSTM layer). Each layer runs the same code as a one-layer model of its kind,
//! so a one-layer [`Network`] gives the same bits as [`ElmanWeights`](crate::ElmanWeights).

use super::linalg::{any_sizes, check_floats, check_input};
use super::{layer_scratch_len, stack_step, Cell, Head, Input, Layer, Weight};
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, ModelView, MAX_LAYERS};

const STACK: usize = MAX_LAYERS as usize;

/// Any cell kind at any depth, borrowed from the file, with sizes known at run time. The
/// host tools run every model through it; a firmware can too, with buffers of
/// [`Cell::state_len`] and [`Cell::scratch_len`] floats (its build script can compute them
/// from the header). `L` is the most layers it holds (4, the format's limit, by default):
/// a firmware built for one model gives its depth, so that its table of layers has no
/// empty slots, and a deeper model is refused when it loads.
#[derive(Debug, Clone, Copy)]
pub struct Network<'a, W: Weight = [u8; 4], const L: usize = STACK> {
    kind: CellKind,
    depth: usize,
    input: usize,
    hidden: usize,
    output: usize,
    layers: [Option<Layer<'a, W>>; L],
    head: Head<'a, W>,
}

pub(crate) fn split<'a, W: Weight, const L: usize>(
    mut rest: &'a [W],
    view: &ModelView<'_>,
) -> Result<Network<'a, W, L>, Error> {
    let header = view.header();
    let (i, h, o) = any_sizes(view)?;
    let depth = usize::from(header.layers);
    let mut layers = [None; L];
    Layer::take_stack(&mut layers, &mut rest, &header)?;
    Ok(Network {
        kind: header.cell,
        depth,
        input: i,
        hidden: h,
        output: o,
        layers,
        head: Head::take(&mut rest, header.head_input(), o)?,
    })
}

impl<'a> Network<'a> {
    /// The network a parsed model holds, whatever its kind and depth.
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        split(view.weight_bytes().as_chunks::<4>().0, view)
    }
}

impl<'a> Network<'a, f32> {
    /// Like [`Network::from_view`], reading the weights from `floats`, which must equal the
    /// file's bit for bit (see [`crate::ElmanWeights::with_floats`]).
    pub fn with_floats(view: &ModelView<'a>, floats: &'a [f32]) -> Result<Self, Error> {
        Self::with_weights(view, floats)
    }
}

impl<'a, W: Weight> Network<'a, W> {
    /// Like [`Network::with_floats`], for weights of any [`Weight`] type (see
    /// [`crate::ElmanWeights::with_weights`]).
    pub fn with_weights(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        Self::for_depth(view, words)
    }
}

impl<'a, W: Weight, const L: usize> Network<'a, W, L> {
    /// Like [`Network::with_weights`], with a table of `L` layers (a firmware gives its
    /// model's depth): a deeper model is [`Error::SizeMismatch`].
    pub fn for_depth(view: &ModelView<'a>, words: &'a [W]) -> Result<Self, Error> {
        check_floats(view, words)?;
        split(words, view)
    }
}

impl<W: Weight, const L: usize> Network<'_, W, L> {
    /// Number of stacked recurrent layers.
    pub fn depth(&self) -> usize {
        self.depth
    }
}

impl<W: Weight, const L: usize> Cell for Network<'_, W, L> {
    fn kind(&self) -> CellKind {
        self.kind
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
        self.depth * self.kind.state_len(self.hidden)
    }
    fn scratch_len(&self) -> usize {
        layer_scratch_len(self.kind, self.hidden)
    }

    fn step(
        &self,
        state: &mut [f32],
        x: Input<'_>,
        scratch: &mut [f32],
        logits: &mut [f32],
    ) -> Result<(), Error> {
        check_len(Dim::Hidden, self.state_len(), state.len())?;
        check_len(Dim::Hidden, self.scratch_len(), scratch.len())?;
        check_len(Dim::Output, self.output, logits.len())?;
        check_input(x, self.input)?;
        let top = stack_step(self.kind, self.hidden, &self.layers, state, x, scratch);
        self.head.logits(top, logits);
        Ok(())
    }
}
