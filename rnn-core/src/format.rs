//! The `.rnn` model file: reader and writer in one place, so the host trainer and the
//! microcontroller share one definition of the format. The byte layout is described in
//! `FORMAT.md` beside this crate's `Cargo.toml`.
//!
//! A file is three postcard values and a checksum:
//!
//! ```text
//! Preamble { magic: [u8; 4], version: u16 }
//! Body     { cell: u8, layers: u8, task: u8, flags: u8, input: u32, hidden: u32,
//!            output: u32, vocab: &str, classes: &str, pad: bytes, weights: bytes }
//! crc32    [u8; 4], little-endian, over every byte before it
//! ```
//!
//! The weights stay as the little-endian bytes of the file: [`ModelView`] borrows them, so a
//! model in flash (`include_bytes!`) is read in place and costs no RAM.

use serde::de::{Deserializer, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::classes::Classes;
use crate::conv::{ConvStack, MAX_CONV};
use crate::crc32::crc32;
use crate::error::{Dim, Error};
use crate::quant::{self, Precision, Quant};
use crate::vocab::Vocab;

/// The first four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"RNN\x1a";

/// The newest format version this build reads and writes. Version 2 added the per-step
/// tasks ([`Task::Tag`], [`Task::Regress`]) and the convolutional front-end, version 3
/// quantized weights ([`crate::quant`]), version 4 quantized models with a convolutional
/// front-end (the exponents of its outputs, [`Quant::conv_exp`]); a model is written in
/// the first version that has what it uses ([`Header::version`]), so firmware built with
/// an older `rnn-core` keeps reading it. Every version from 1 up to this one loads.
pub const VERSION: u16 = 4;

/// The most recurrent layers a file may stack.
pub const MAX_LAYERS: u8 = 4;

/// The largest size (`I`, `H` or `O`) a file may declare. Far above anything a
/// microcontroller runs; it exists so that a corrupt size cannot overflow the arithmetic.
pub const MAX_SIZE: u32 = 1 << 16;

/// The kind of recurrent cell stored in a file. The byte codes are fixed forever; the
/// weight layouts are in `FORMAT.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Elman cell, code 0: `a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a)`.
    Elman,
    /// Gated recurrent unit, code 1 (PyTorch's equations; see [`crate::cell::gru`]).
    Gru,
    /// Long short-term memory, code 2 (gates i, f, g, o; see [`crate::cell::lstm`]).
    Lstm,
}

impl CellKind {
    /// The byte that stands for this kind in a file.
    pub const fn code(self) -> u8 {
        match self {
            CellKind::Elman => 0,
            CellKind::Gru => 1,
            CellKind::Lstm => 2,
        }
    }

    /// The kind for a file's byte, or [`Error::UnknownCellKind`].
    pub const fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(CellKind::Elman),
            1 => Ok(CellKind::Gru),
            2 => Ok(CellKind::Lstm),
            found => Err(Error::UnknownCellKind { found }),
        }
    }

    /// Lower-case name, as printed in banners and errors.
    pub const fn name(self) -> &'static str {
        match self {
            CellKind::Elman => "elman",
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
        }
    }

    /// Every kind, in code order (Elman, GRU, LSTM).
    pub const ALL: [CellKind; 3] = [CellKind::Elman, CellKind::Gru, CellKind::Lstm];

    /// How many gate blocks of `H` rows a layer's weights have: 1 for Elman, 3 for GRU
    /// (r, z, n), 4 for LSTM (i, f, g, o). Its input and recurrent weights have `G·H` rows,
    /// and so has each of its biases.
    pub const fn gates(self) -> usize {
        match self {
            CellKind::Elman => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }

    /// Floats of recurrent state of one layer in one direction with `hidden` units: `H`
    /// for Elman and GRU, `2·H` for LSTM (`h` then `c`). Saturates instead of overflowing.
    pub const fn state_len(self, hidden: usize) -> usize {
        match self {
            CellKind::Lstm => hidden.saturating_mul(2),
            CellKind::Elman | CellKind::Gru => hidden,
        }
    }

    /// Whether a layer has a recurrent bias `b_hh` besides its input bias `b_ih` (GRU and
    /// LSTM, PyTorch's layout), or the one bias `b_a` (Elman).
    pub const fn has_recurrent_bias(self) -> bool {
        match self {
            CellKind::Elman => false,
            CellKind::Gru | CellKind::Lstm => true,
        }
    }
}

/// What a network predicts. The byte codes are fixed forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Code 0: a prediction at every step, of the next symbol (many-to-many; generation).
    Next,
    /// Code 1: one prediction per sequence, a class, from the final hidden state
    /// (many-to-one).
    Classify,
    /// Code 2 (format version 2): a class at every step (many-to-many tagging). A
    /// unidirectional tagger is causal and streams ([`crate::Stream`]); a bidirectional one
    /// needs the whole sequence ([`crate::Classifier::per_step`]).
    Tag,
    /// Code 3 (format version 2): `O` real values at every step (many-to-many regression),
    /// `target_mean + target_std ⊙ (W_ya · h_t + b_y)` in the targets' own units.
    Regress,
}

impl Task {
    /// The byte that stands for this task in a file.
    pub const fn code(self) -> u8 {
        match self {
            Task::Next => 0,
            Task::Classify => 1,
            Task::Tag => 2,
            Task::Regress => 3,
        }
    }

    /// The task for a file's byte, or [`Error::UnknownTask`].
    pub const fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Task::Next),
            1 => Ok(Task::Classify),
            2 => Ok(Task::Tag),
            3 => Ok(Task::Regress),
            found => Err(Error::UnknownTask { found }),
        }
    }

    /// Lower-case name, as printed in banners and errors.
    pub const fn name(self) -> &'static str {
        match self {
            Task::Next => "next",
            Task::Classify => "classify",
            Task::Tag => "tag",
            Task::Regress => "regress",
        }
    }

    /// Every task, in code order.
    pub const ALL: [Task; 4] = [Task::Next, Task::Classify, Task::Tag, Task::Regress];

    /// Whether the output layer answers at every step (next symbol, tagging, regression)
    /// rather than once per sequence (classification).
    pub const fn per_step(self) -> bool {
        !matches!(self, Task::Classify)
    }

    /// Whether the file names each output: class names (classification, tagging) or
    /// target names (regression). A next-symbol model's outputs are its vocabulary.
    pub const fn names_outputs(self) -> bool {
        !matches!(self, Task::Next)
    }

    /// The first format version that has this task: 1 for next-symbol and
    /// classification, 2 for tagging and regression.
    pub const fn since_version(self) -> u16 {
        match self {
            Task::Next | Task::Classify => 1,
            Task::Tag | Task::Regress => 2,
        }
    }
}

/// Flag bit: a second stack reads the sequence backwards (every task but next-symbol).
const FLAG_BIDIRECTIONAL: u8 = 1;
/// Flag bit: dense inputs are normalised per channel, `(x - mean) · scale`.
const FLAG_NORMALIZED: u8 = 2;
/// Flag bit (format version 2): each sequence is normalised per channel by its own mean and
/// standard deviation before anything else (classifiers of dense inputs).
const FLAG_SEQUENCE_NORMALIZED: u8 = 4;

/// What a file says about the network: its cell kind, depth and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The cell kind, the same in every layer.
    pub cell: CellKind,
    /// Number of stacked recurrent layers, 1 to [`MAX_LAYERS`]: layer 0 reads `x_t`, each
    /// further layer reads the hidden state of the one below, and the output layer reads
    /// the top one.
    pub layers: u8,
    /// `I`: length of the input vector `x_t` (the vocabulary size for a character model).
    pub input: u32,
    /// `H`: length of the hidden state `a_t`.
    pub hidden: u32,
    /// `O`: length of the prediction `y_t` (the vocabulary size for a character model, the
    /// number of classes for a classifier).
    pub output: u32,
    /// What the network predicts.
    pub task: Task,
    /// A second recurrent stack reads the sequence from its end; the output layer reads
    /// both directions (every task but next-symbol prediction).
    pub bidirectional: bool,
    /// Dense inputs are normalised per channel before the first layer: `(x - mean) · scale`
    /// (models with an empty vocabulary, every task but next-symbol prediction).
    pub normalized: bool,
    /// The convolutional front-end before the recurrent stack (classifiers only; format
    /// version 2), or [`ConvStack::NONE`].
    pub conv: ConvStack,
    /// Each sequence is normalised per channel by its own mean and standard deviation
    /// before the input normalisation ([`crate::classify::sequence_moments`]; classifiers
    /// of dense inputs only; format version 2).
    pub sequence_normalized: bool,
    /// How the weights are stored and the activations' scales: [`Quant::FLOAT`], or a
    /// quantized model (format version 3, run by [`crate::QNetwork`]).
    pub quant: Quant,
}

impl Header {
    /// A one-layer Elman header with the given sizes.
    pub const fn elman(input: u32, hidden: u32, output: u32) -> Self {
        Header::new(CellKind::Elman, 1, input, hidden, output)
    }

    /// A header for `layers` stacked layers of `cell` that predict the next symbol.
    pub const fn new(cell: CellKind, layers: u8, input: u32, hidden: u32, output: u32) -> Self {
        Header {
            cell,
            layers,
            input,
            hidden,
            output,
            task: Task::Next,
            bidirectional: false,
            normalized: false,
            conv: ConvStack::NONE,
            sequence_normalized: false,
            quant: Quant::FLOAT,
        }
    }

    /// The same header for a classifier (`output` classes).
    pub const fn classifier(self) -> Self {
        Header {
            task: Task::Classify,
            ..self
        }
    }

    /// The same header for another task (`output` classes, targets or symbols).
    pub const fn with_task(self, task: Task) -> Self {
        Header { task, ..self }
    }

    /// The same header with each sequence normalised by its own statistics (or without).
    pub const fn with_sequence_normalized(self, sequence_normalized: bool) -> Self {
        Header {
            sequence_normalized,
            ..self
        }
    }

    /// The same header with a convolutional front-end (or [`ConvStack::NONE`]).
    pub const fn with_conv(self, conv: ConvStack) -> Self {
        Header { conv, ..self }
    }

    /// The same header with another quantization (or [`Quant::FLOAT`]).
    pub const fn with_quant(self, quant: Quant) -> Self {
        Header { quant, ..self }
    }

    /// Bytes of the weights in a file with this header: `4·N` for a float model
    /// ([`Header::param_count`]), for a quantized one the sum of
    /// [`quant::tensor_bytes`] over [`Header::tensors`].
    pub fn weight_bytes(&self) -> Result<usize, Error> {
        let n = self.param_count()?;
        if !self.quant.is_quantized() {
            return n.checked_mul(4).ok_or(Error::InvalidSize {
                dim: Dim::Hidden,
                found: self.hidden,
            });
        }
        let p = self.quant.precision;
        // At most 5 bytes per weight: no overflow where `4·N` fits.
        Ok(self
            .tensors()
            .map(|t| quant::tensor_bytes(p, t.role, t.rows, t.cols))
            .fold(0usize, usize::saturating_add))
    }

    /// The format version a file with this header is written in: the first that has its
    /// task ([`Task::since_version`]) and its front-end (2 for a convolutional one; 3 for
    /// quantized weights, 4 for quantized weights after a front-end), so older readers
    /// keep reading what they can.
    pub const fn version(&self) -> u16 {
        if self.quant.is_quantized() {
            if self.conv.is_empty() {
                3
            } else {
                4
            }
        } else if self.conv.is_empty() && !self.sequence_normalized {
            self.task.since_version()
        } else {
            2
        }
    }

    /// Number of floats before the recurrent layers: the input normalisation (`2·I`,
    /// `mean` and `scale`, when `normalized`) and a regression model's target statistics
    /// (`2·O`, `target_mean` and `target_std`). Saturates instead of overflowing.
    pub const fn stats_len(&self) -> usize {
        let norm = if self.normalized {
            (self.input as usize).saturating_mul(2)
        } else {
            0
        };
        let targets = if matches!(self.task, Task::Regress) {
            (self.output as usize).saturating_mul(2)
        } else {
            0
        };
        norm.saturating_add(targets)
    }

    /// The same header with a backward stack (or without).
    pub const fn with_bidirectional(self, bidirectional: bool) -> Self {
        Header {
            bidirectional,
            ..self
        }
    }

    /// The same header with per-channel input normalisation (or without).
    pub const fn with_normalized(self, normalized: bool) -> Self {
        Header { normalized, ..self }
    }

    /// Checks a file's header against the architecture a program was built for (`built`),
    /// in this order: task ([`Error::WrongTask`]), cell kind ([`Error::WrongCellKind`]),
    /// then the number of layers, `I`, `H`, `O` and the number of directions
    /// ([`Error::SizeMismatch`], naming which), then normalisation
    /// ([`Error::NormalizationMismatch`]), then the convolutional front-end and the
    /// per-sequence normalisation ([`Error::FrontEndMismatch`]).
    pub fn check_built_for(&self, built: &Header) -> Result<(), Error> {
        if self.task != built.task {
            return Err(Error::WrongTask {
                expected: built.task,
                found: self.task,
            });
        }
        if self.cell != built.cell {
            return Err(Error::WrongCellKind {
                expected: built.cell,
                found: self.cell,
            });
        }
        let directions = |h: &Header| h.directions() as u32;
        for (dim, expected, found) in [
            (Dim::Layers, u32::from(built.layers), u32::from(self.layers)),
            (Dim::Input, built.input, self.input),
            (Dim::Hidden, built.hidden, self.hidden),
            (Dim::Output, built.output, self.output),
            (Dim::Directions, directions(built), directions(self)),
        ] {
            if expected != found {
                return Err(Error::SizeMismatch {
                    dim,
                    expected,
                    found,
                });
            }
        }
        if self.normalized != built.normalized {
            return Err(Error::NormalizationMismatch {
                expected: built.normalized,
                found: self.normalized,
            });
        }
        if self.conv != built.conv || self.sequence_normalized != built.sequence_normalized {
            return Err(Error::FrontEndMismatch);
        }
        Ok(())
    }

    /// Number of directions: 2 for a bidirectional model, else 1.
    pub const fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Multiply-accumulates of one time step, the count the firmware's `/bench` prints.
    /// Per direction, layer 0 does `G·H·H` recurrent MACs plus `G·H` for a one-hot input
    /// (`one_hot`: one weight added per row) or `G·H·I` for a dense one; each further layer
    /// `G·H·H` recurrent plus `G·H·D·H` for its input (both directions of the layer below).
    /// A per-step model (next symbol, tagging, regression) adds its output layer,
    /// [`Header::head_macs`], at every step; a classifier runs it once per sequence, so it is not counted here. Activations, gate
    /// products, bias adds and the normalisation are not counted. `G` is
    /// [`CellKind::gates`], `D` [`Header::directions`]. Saturates at `u64::MAX` instead of
    /// overflowing.
    pub const fn macs_per_step(&self, one_hot: bool) -> u64 {
        let h = self.hidden as u64;
        let rows = (self.cell.gates() as u64).saturating_mul(h);
        let recurrent = rows.saturating_mul(h);
        let first_input = if one_hot && self.conv.is_empty() {
            rows
        } else {
            rows.saturating_mul(self.conv.out_channels(self.input as usize) as u64)
        };
        let below = (self.directions() as u64).saturating_mul(h);
        let further = recurrent.saturating_add(rows.saturating_mul(below));
        let per_direction = if self.layers == 0 {
            0
        } else {
            let above = further.saturating_mul(self.layers as u64 - 1);
            recurrent.saturating_add(first_input).saturating_add(above)
        };
        let stacks = per_direction.saturating_mul(self.directions() as u64);
        if self.task.per_step() {
            stacks.saturating_add(self.head_macs())
        } else {
            stacks
        }
    }

    /// `O·D·H`, the output layer's multiply-accumulates: at every step of a next-symbol
    /// model, once per sequence in a classifier. Saturates instead of overflowing.
    pub const fn head_macs(&self) -> u64 {
        let below = (self.directions() as u64).saturating_mul(self.hidden as u64);
        (self.output as u64).saturating_mul(below)
    }

    const fn flags(&self) -> u8 {
        let b = if self.bidirectional {
            FLAG_BIDIRECTIONAL
        } else {
            0
        };
        let n = if self.normalized { FLAG_NORMALIZED } else { 0 };
        let q = if self.sequence_normalized {
            FLAG_SEQUENCE_NORMALIZED
        } else {
            0
        };
        b | n | q
    }

    /// `I_l`, the length of recurrent layer `l`'s input: `I` for layer 0 (or the last
    /// convolutional layer's channels), `D·H` above (both directions of the layer below,
    /// `D` = [`Header::directions`]). Saturates instead of overflowing.
    pub const fn layer_input(&self, layer: usize) -> usize {
        if layer == 0 {
            self.conv.out_channels(self.input as usize)
        } else {
            self.head_input()
        }
    }

    /// Multiply-accumulates of classifying a sequence of `t_len` steps: the
    /// convolutional front-end, the recurrent stacks over the steps it leaves, and the
    /// output layer once. Saturates instead of overflowing.
    pub fn macs_per_sequence(&self, t_len: usize, one_hot: bool) -> u64 {
        let steps = self.conv.steps_out(t_len) as u64;
        // With a front-end the first layer reads dense vectors.
        let one_hot = one_hot && self.conv.is_empty();
        let per_step = self.macs_per_step(one_hot);
        let head = if self.task.per_step() {
            0
        } else {
            self.head_macs()
        };
        self.conv
            .macs(t_len, self.input as usize)
            .saturating_add(per_step.saturating_mul(steps))
            .saturating_add(head)
    }

    /// `D·H`, the length of what the output layer reads: the top layer's final state in
    /// each direction. Saturates instead of overflowing.
    pub const fn head_input(&self) -> usize {
        self.directions().saturating_mul(self.hidden as usize)
    }

    /// Floats of recurrent state of one layer in one direction:
    /// [`CellKind::state_len`] of `H` (`H`, or `2·H` for LSTM).
    pub const fn layer_state_len(&self) -> usize {
        self.cell.state_len(self.hidden as usize)
    }

    /// Number of `f32` weights of layer `l`'s recurrent part in one direction:
    /// `G·H·I_l + G·H·H + G·H`, plus `G·H` for the recurrent bias of GRU and LSTM, with
    /// `G` = [`CellKind::gates`] and `I_l` = [`Header::layer_input`]; `None` when it does
    /// not fit a `usize`.
    fn layer_count(&self, l: usize) -> Option<usize> {
        let h = self.hidden as usize;
        let rows = self.cell.gates().checked_mul(h)?;
        let biases = if self.cell.has_recurrent_bias() { 2 } else { 1 };
        rows.checked_mul(self.layer_input(l).checked_add(h)?.checked_add(biases)?)
    }

    /// Whether a table of `slots` layers per direction holds this model's layers (a
    /// loader sized for a firmware's model), or [`Error::SizeMismatch`] on the depth.
    #[inline(always)]
    pub(crate) fn check_table(&self, slots: usize) -> Result<(), Error> {
        if usize::from(self.layers) > slots {
            return Err(Error::SizeMismatch {
                dim: Dim::Layers,
                expected: slots as u32,
                found: u32::from(self.layers),
            });
        }
        Ok(())
    }

    /// Number of `f32` weights a file with this header holds, or [`Error::InvalidSize`]
    /// when a size is zero or above [`MAX_SIZE`], or the depth is not 1 to [`MAX_LAYERS`].
    ///
    /// In file order: the normalisation (`2·I`, when `normalized`), a regression model's
    /// target statistics (`2·O`), the convolutional layers (`C·K·C_in + C` each), the
    /// layers' recurrent
    /// weights (the forward stack, then the backward one when `bidirectional`), then the
    /// output layer (`O·D·H + O`). One Elman layer: `H·I + H·H + H + O·H + O` (`W_ax`,
    /// `W_aa`, `b_a`, `W_ya`, `b_y`). For every header it accepts, this is the sum of the
    /// lengths of [`Header::tensors`].
    pub fn param_count(&self) -> Result<usize, Error> {
        if self.layers == 0 || self.layers > MAX_LAYERS {
            return Err(Error::InvalidSize {
                dim: Dim::Layers,
                found: u32::from(self.layers),
            });
        }
        // Three calls, not a loop over an array of the three, which stood on the stack.
        let size = |dim, found| match found {
            1..=MAX_SIZE => Ok(()),
            _ => Err(Error::InvalidSize { dim, found }),
        };
        size(Dim::Input, self.input)?;
        size(Dim::Hidden, self.hidden)?;
        size(Dim::Output, self.output)?;
        // Each term is at most the sum, so an overflow anywhere is an overflow of the sum
        // (possible on a 32-bit target only). Checked `usize` rather than `u64`, whose
        // register pairs gave this function a 128-byte frame on the Cortex-M3, at boot.
        let too_big = Error::InvalidSize {
            dim: Dim::Hidden,
            found: self.hidden,
        };
        let (i, o) = (self.input as usize, self.output as usize);
        let norm = if self.normalized { 2 * i } else { 0 };
        let targets = if self.task == Task::Regress { 2 * o } else { 0 };
        let mut n = norm + targets;
        for l in 0..self.conv.layers().len() {
            n = n
                .checked_add(self.conv.layer_weights(l, i))
                .ok_or(too_big)?;
        }
        for _ in 0..self.directions() {
            for l in 0..usize::from(self.layers) {
                let layer = self.layer_count(l).ok_or(too_big)?;
                n = n.checked_add(layer).ok_or(too_big)?;
            }
        }
        let head = o.checked_mul(self.head_input() + 1).ok_or(too_big)?;
        n.checked_add(head).ok_or(too_big)
    }
}

/// The start of every file. Kept apart from the body so the version is checked before a
/// layout that might have changed is parsed.
#[derive(Serialize, Deserialize)]
struct Preamble {
    magic: [u8; 4],
    version: u16,
}

/// The header's fields of the body, the same in every version.
#[derive(Serialize, Deserialize)]
struct Fields<'a> {
    cell: u8,
    layers: u8,
    task: u8,
    flags: u8,
    input: u32,
    hidden: u32,
    output: u32,
    vocab: &'a str,
    /// Class (or target) names, each ended by `\n`, or empty.
    classes: &'a str,
}

/// The end of the body: padding and weights.
#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    /// 0 to 3 zero bytes, so that the weights start at a multiple of 4 from the start of
    /// the file: a firmware that keeps the file 4-aligned in flash can then read them as
    /// `f32` directly (see [`crate::ElmanWeights::with_floats`]).
    pad: &'a [u8],
    #[serde(borrow)]
    weights: WeightBytes<'a>,
}

/// Everything between the preamble and the checksum: the fields, in version 2 the
/// convolutional layers (a byte string, [`ConvStack::encode`]), then the payload.
struct Body<'a> {
    fields: Fields<'a>,
    conv: Option<&'a [u8]>,
    /// Versions 3 and 4: the quantization ([`Quant::encode`]).
    quant: Option<&'a [u8]>,
    payload: Payload<'a>,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        // Postcard writes a tuple as its elements one after the other.
        let mut t = serializer.serialize_tuple(4)?;
        t.serialize_element(&self.fields)?;
        if let Some(conv) = self.conv {
            t.serialize_element(conv)?;
        }
        if let Some(quant) = self.quant {
            t.serialize_element(quant)?;
        }
        t.serialize_element(&self.payload)?;
        t.end()
    }
}

impl<'a> Body<'a> {
    /// Reads a body of format `version` off the front of `bytes`.
    fn take(bytes: &'a [u8], version: u16) -> Result<(Self, &'a [u8]), Error> {
        let (fields, rest) =
            postcard::take_from_bytes::<Fields<'a>>(bytes).map_err(map_postcard)?;
        let (conv, rest) = if version >= 2 {
            let (c, r) = postcard::take_from_bytes::<&'a [u8]>(rest).map_err(map_postcard)?;
            (Some(c), r)
        } else {
            (None, rest)
        };
        let (quant, rest) = if version >= 3 {
            let (q, r) = postcard::take_from_bytes::<&'a [u8]>(rest).map_err(map_postcard)?;
            (Some(q), r)
        } else {
            (None, rest)
        };
        let (payload, rest) =
            postcard::take_from_bytes::<Payload<'a>>(rest).map_err(map_postcard)?;
        Ok((
            Body {
                fields,
                conv,
                quant,
                payload,
            },
            rest,
        ))
    }
}

/// The weights on the wire: a postcard byte string (varint length, then the little-endian
/// `f32`s). Read as a borrowed slice; written from the caller's `f32` tensors without an
/// intermediate buffer.
enum WeightBytes<'a> {
    Borrowed(&'a [u8]),
    Tensors(Weights<'a>),
}

/// The weights a writer is given: `f32` tensors, or a float model's weights (as bytes)
/// to be quantized as they are written, as `header` says.
#[derive(Clone, Copy)]
enum Weights<'a> {
    Float(&'a [&'a [f32]]),
    Quantize(&'a [u8], &'a Header),
}

impl Weights<'_> {
    fn byte_len(&self) -> usize {
        match *self {
            Weights::Float(t) => t.iter().map(|t| t.len() * 4).sum(),
            Weights::Quantize(_, header) => header.weight_bytes().unwrap_or(0),
        }
    }
}

/// Streams the quantized form of float weights `floats` (file order) to `put`, tensor by
/// tensor as [`Header::tensors`] of `header` lists them.
fn quantized_bytes<E>(
    header: &Header,
    floats: &[u8],
    put: &mut impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let p = header.quant.precision;
    let mut rest = floats.as_chunks::<4>().0;
    for t in header.tensors() {
        let (w, tail) = rest.split_at(t.len().min(rest.len()));
        rest = tail;
        let f = |k: &[u8; 4]| f32::from_le_bytes(*k);
        if t.role.is_statistic() {
            for k in w {
                put(k)?;
            }
        } else if quant::is_bias(t.role) {
            for k in w {
                put(&quant::quantize_bias(f(k)).to_le_bytes())?;
            }
        } else {
            let rows = || w.chunks(t.cols.max(1));
            for r in rows() {
                put(&[quant::row_exp(p, r.iter().map(f)) as u8])?;
            }
            for r in rows() {
                let e = quant::row_exp(p, r.iter().map(f));
                for k in r {
                    let q = quant::quantize(f(k), e, p).to_le_bytes();
                    put(&q[..p.weight_bytes().min(2)])?;
                }
            }
        }
    }
    Ok(())
}

impl Serialize for WeightBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            WeightBytes::Borrowed(bytes) => serializer.serialize_bytes(bytes),
            WeightBytes::Tensors(weights) => {
                // postcard writes a byte string as varint(len) + raw bytes, and a sequence
                // of `u8` as varint(len) + one raw byte each: the same bytes, streamed from
                // the tensors without a buffer.
                let mut seq = serializer.serialize_seq(Some(weights.byte_len()))?;
                let mut put = |bytes: &[u8]| -> Result<(), S::Error> {
                    bytes.iter().try_for_each(|b| seq.serialize_element(b))
                };
                match *weights {
                    Weights::Float(tensors) => {
                        for w in tensors.iter().flat_map(|t| t.iter()) {
                            put(&w.to_le_bytes())?;
                        }
                    }
                    Weights::Quantize(floats, header) => quantized_bytes(header, floats, &mut put)?,
                }
                seq.end()
            }
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WeightBytes<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = WeightBytes<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("the weights as a byte string")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> Result<Self::Value, E> {
                Ok(WeightBytes::Borrowed(v))
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

fn map_postcard(e: postcard::Error) -> Error {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => Error::Truncated,
        _ => Error::Malformed,
    }
}

/// Which number types a loader reads ([`ModelView::parse_for`]), as [`crate::Stages`]
/// says which stages a classifier runs: leaving one out leaves its code out of a binary.
pub trait Models: Copy + core::fmt::Debug {
    /// Whether quantized files (format version 3) are read.
    const QUANTIZED: bool;
}

/// Float and quantized files: what [`ModelView::parse`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllModels;

impl Models for AllModels {
    const QUANTIZED: bool = true;
}

/// Float files only.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatModels;

impl Models for FloatModels {
    const QUANTIZED: bool = false;
}

/// A checked model file, borrowing from the bytes it was parsed from: the header, the
/// vocabulary and the weights, none of them copied.
#[derive(Debug, Clone, Copy)]
pub struct ModelView<'a> {
    header: Header,
    vocab: Vocab<'a>,
    classes: Classes<'a>,
    weights: &'a [u8],
}

impl<'a> ModelView<'a> {
    /// Parses and checks a whole model file: magic, version, structure, no trailing bytes,
    /// CRC-32, cell kind, sizes, weight count, vocabulary, finite weights (in that order).
    /// Every failure is a typed [`Error`]; no input makes this panic. Reads float and
    /// quantized files ([`AllModels`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::parse_for::<AllModels>(bytes)
    }

    /// [`ModelView::parse`] for the number types of `F`: with [`FloatModels`] a quantized
    /// file is [`Error::WrongPrecision`] and the checks of quantized tensors are left out
    /// of the binary (about 1.3 KB on a Cortex-M0), for a firmware built for a float model.
    pub fn parse_for<F: Models>(bytes: &'a [u8]) -> Result<Self, Error> {
        check_magic(bytes)?;
        let (preamble, rest) =
            postcard::take_from_bytes::<Preamble>(bytes).map_err(map_postcard)?;
        if preamble.version == 0 || preamble.version > VERSION {
            return Err(Error::UnsupportedVersion {
                found: preamble.version,
                supported: VERSION,
            });
        }
        let (body, rest) = Body::take(rest, preamble.version)?;
        let Some((stored, trailing)) = rest.split_first_chunk::<4>() else {
            return Err(Error::Truncated);
        };
        if !trailing.is_empty() {
            return Err(Error::TrailingBytes {
                count: trailing.len(),
            });
        }
        let covered = &bytes[..bytes.len() - 4];
        let (stored, computed) = (u32::from_le_bytes(*stored), crc32(covered));
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        let Body {
            fields: body,
            conv,
            quant,
            payload,
        } = body;
        let known = if preamble.version >= 2 {
            FLAG_BIDIRECTIONAL | FLAG_NORMALIZED | FLAG_SEQUENCE_NORMALIZED
        } else {
            FLAG_BIDIRECTIONAL | FLAG_NORMALIZED
        };
        if body.flags & !known != 0 {
            return Err(Error::UnknownFlags { found: body.flags });
        }
        let header = Header {
            cell: CellKind::from_code(body.cell)?,
            layers: body.layers,
            input: body.input,
            hidden: body.hidden,
            output: body.output,
            task: task_of(body.task, preamble.version)?,
            bidirectional: body.flags & FLAG_BIDIRECTIONAL != 0,
            normalized: body.flags & FLAG_NORMALIZED != 0,
            conv: ConvStack::decode(conv.unwrap_or_default())?,
            sequence_normalized: body.flags & FLAG_SEQUENCE_NORMALIZED != 0,
            quant: Quant::FLOAT,
        };
        let weights = match payload.weights {
            WeightBytes::Borrowed(w) => w,
            // Deserialisation only ever yields borrowed bytes.
            WeightBytes::Tensors(_) => return Err(Error::Malformed),
        };
        // Only the canonical padding is accepted, so one model has one encoding.
        let offset = (weights.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        let pad = payload.pad;
        if pad.len() > 3 || pad.iter().any(|&b| b != 0) || !offset.is_multiple_of(4) {
            return Err(Error::Malformed);
        }
        let expected = header.param_count()?;
        let mut header = header;
        if let Some(q) = quant {
            if !F::QUANTIZED {
                let found = q.first().copied().and_then(Precision::from_code);
                return Err(Error::WrongPrecision {
                    expected: Precision::F32,
                    found: found.unwrap_or(Precision::Int8),
                });
            }
            header.quant = Quant::decode(q, &header)?;
            // Version 3 had no integer front-end (its writers wrote no exponents for one):
            // one model, one encoding.
            if preamble.version < 4 && !header.conv.is_empty() {
                return Err(Error::Malformed);
            }
        }
        if F::QUANTIZED && header.quant.is_quantized() {
            let expected_bytes = header.weight_bytes()?;
            if weights.len() != expected_bytes {
                return Err(Error::WeightBytesMismatch {
                    expected: expected_bytes,
                    found: weights.len(),
                });
            }
        } else if weights.len() != expected * 4 {
            return Err(Error::WeightCountMismatch {
                expected,
                found_bytes: weights.len(),
            });
        }
        let vocab = check_vocab(body.vocab, &header)?;
        let classes = check_classes(body.classes, &header)?;
        if F::QUANTIZED && header.quant.is_quantized() {
            check_weight_values(&header, weights)?;
        } else {
            let (words, _) = weights.as_chunks::<4>();
            if let Some(index) = words
                .iter()
                .position(|w| !f32::from_le_bytes(*w).is_finite())
            {
                return Err(Error::NonFiniteWeight { index });
            }
        }
        Ok(ModelView {
            header,
            vocab,
            classes,
            weights,
        })
    }

    /// Cell kind and sizes.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The vocabulary (empty for a model that reads dense vectors).
    pub fn vocab(&self) -> Vocab<'a> {
        self.vocab
    }

    /// The class names of a classifier (empty for a next-symbol model).
    pub fn classes(&self) -> Classes<'a> {
        self.classes
    }

    /// All weights as little-endian `f32` bytes, in file order.
    pub fn weight_bytes(&self) -> &'a [u8] {
        self.weights
    }

    /// All weights in file order.
    pub fn weights(&self) -> impl Iterator<Item = f32> + 'a {
        self.weights
            .as_chunks::<4>()
            .0
            .iter()
            .map(|w| f32::from_le_bytes(*w))
    }
}

/// Checks the weights' values: every `f32` finite (in a quantized file, the statistics),
/// every row exponent of a quantized file in [`quant::ROW_EXP`]. `weights` has the length
/// the header calls for.
fn check_weight_values(header: &Header, weights: &[u8]) -> Result<(), Error> {
    let p = header.quant.precision;
    let mut rest = weights;
    // Index of the first weight of the current tensor, counting values over all tensors.
    let mut index = 0usize;
    for t in header.tensors() {
        let n = quant::tensor_bytes(p, t.role, t.rows, t.cols);
        let (bytes, tail) = rest.split_at_checked(n).ok_or(Error::Truncated)?;
        rest = tail;
        let floats = !header.quant.is_quantized() || t.role.is_statistic();
        if floats {
            let (words, _) = bytes.as_chunks::<4>();
            if let Some(k) = words
                .iter()
                .position(|w| !f32::from_le_bytes(*w).is_finite())
            {
                return Err(Error::NonFiniteWeight { index: index + k });
            }
        } else if !quant::is_bias(t.role) {
            let exps = bytes.get(..t.rows).unwrap_or_default();
            if exps.iter().any(|&e| !quant::ROW_EXP.contains(&(e as i8))) {
                return Err(Error::InvalidModel {
                    reason: "a quantized weight row's exponent is out of range",
                });
            }
        }
        index += t.len();
    }
    Ok(())
}

/// The task of a file's byte, which must be a task its version has: a version-1 file
/// with code 2 is as unknown as code 9 is to every version.
fn task_of(code: u8, version: u16) -> Result<Task, Error> {
    match Task::from_code(code)? {
        task if task.since_version() <= version => Ok(task),
        _ => Err(Error::UnknownTask { found: code }),
    }
}

fn check_magic(bytes: &[u8]) -> Result<(), Error> {
    let n = bytes.len().min(4);
    if bytes[..n] != MAGIC[..n] {
        let mut found = [0u8; 4];
        found[..n].copy_from_slice(&bytes[..n]);
        return Err(Error::BadMagic { found });
    }
    if n < 4 {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// Checks the vocabulary and the flags against the task: a next-symbol model reads and
/// predicts its symbols (`I = O = |vocab|`) or dense vectors; the other tasks read their
/// symbols (`I = |vocab|`) or dense vectors; only dense inputs are normalised, and a
/// next-symbol model neither normalises nor reads backwards (it generates, one step at a
/// time).
fn check_vocab<'a>(symbols: &'a str, header: &Header) -> Result<Vocab<'a>, Error> {
    let vocab = Vocab::new(symbols)?;
    if header.bidirectional && header.task == Task::Next {
        return Err(Error::InvalidModel {
            reason: "a next-symbol model cannot be bidirectional",
        });
    }
    if header.normalized && (header.task == Task::Next || !vocab.is_empty()) {
        return Err(Error::InvalidModel {
            reason: "only a model of dense inputs, not a next-symbol one, can normalise them",
        });
    }
    if header.sequence_normalized && (header.task != Task::Classify || !vocab.is_empty()) {
        return Err(Error::InvalidModel {
            reason: "only a classifier of dense inputs can normalise each sequence",
        });
    }
    if !header.conv.is_empty() && header.task != Task::Classify {
        return Err(Error::InvalidModel {
            reason: "only a classifier can have a convolutional front-end",
        });
    }
    let len = vocab.len();
    let fits = |size: u32| usize::try_from(size).is_ok_and(|s| s == len);
    let one_symbol_per_unit = match header.task {
        Task::Next => fits(header.input) && fits(header.output),
        Task::Classify | Task::Tag | Task::Regress => fits(header.input),
    };
    if !(vocab.is_empty() || one_symbol_per_unit) {
        return Err(Error::VocabSizeMismatch {
            vocab: len,
            input: header.input,
            output: header.output,
        });
    }
    Ok(vocab)
}

/// A classifier or tagger has one class name per output, a regression model one target
/// name per output; a next-symbol model has none.
fn check_classes<'a>(names: &'a str, header: &Header) -> Result<Classes<'a>, Error> {
    let classes = Classes::new(names)?;
    let expected = if header.task.names_outputs() {
        usize::try_from(header.output).unwrap_or(usize::MAX)
    } else {
        0
    };
    if classes.len() != expected {
        return Err(Error::ClassCountMismatch {
            classes: classes.len(),
            output: header.output,
        });
    }
    Ok(classes)
}

/// Counts bytes instead of storing them, to size a buffer before writing.
struct Counter(usize);

impl postcard::ser_flavors::Flavor for Counter {
    type Output = usize;
    fn try_push(&mut self, _data: u8) -> postcard::Result<()> {
        self.0 += 1;
        Ok(())
    }
    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.0)
    }
}

/// Checks what the reader will check, so that nothing is written that cannot be read.
fn check_for_writing(
    header: &Header,
    vocab: &str,
    classes: &str,
    weights: Weights<'_>,
) -> Result<(), Error> {
    let expected = header.param_count()?;
    CellKind::from_code(header.cell.code())?;
    check_vocab(vocab, header)?;
    check_classes(classes, header)?;
    match weights {
        Weights::Float(tensors) => {
            if header.quant.is_quantized() {
                return Err(Error::WrongPrecision {
                    expected: header.quant.precision,
                    found: Precision::F32,
                });
            }
            let found: usize = tensors.iter().map(|t| t.len()).sum();
            if found != expected {
                return Err(Error::WeightCountMismatch {
                    expected,
                    found_bytes: found.saturating_mul(4),
                });
            }
            if let Some(index) = tensors
                .iter()
                .flat_map(|t| t.iter())
                .position(|w| !w.is_finite())
            {
                return Err(Error::NonFiniteWeight { index });
            }
        }
        Weights::Quantize(floats, q) => {
            if floats.len() != expected.saturating_mul(4) || !q.quant.is_quantized() {
                return Err(Error::WeightCountMismatch {
                    expected,
                    found_bytes: floats.len(),
                });
            }
            let mut probe = [0u8; quant::QUANT_FIELD];
            Quant::decode(q.quant.encode(q, &mut probe), q)?;
            quant::check_rows(q)?;
        }
    }
    Ok(())
}

const ZEROS: [u8; 3] = [0; 3];

/// The encoded front-end and quantization fields of a header.
struct Extra {
    conv: [u8; 4 * MAX_CONV],
    conv_len: usize,
    quant: [u8; quant::QUANT_FIELD],
    quant_len: usize,
}

impl Extra {
    fn new(header: &Header) -> Self {
        let mut conv = [0u8; 4 * MAX_CONV];
        let conv_len = header.conv.encode(&mut conv).len();
        let mut quant = [0u8; quant::QUANT_FIELD];
        let quant_len = header.quant.encode(header, &mut quant).len();
        Extra {
            conv,
            conv_len,
            quant,
            quant_len,
        }
    }
}

fn parts<'a>(
    header: &Header,
    vocab: &'a str,
    classes: &'a str,
    extra: &'a Extra,
    weights: Weights<'a>,
    pad: usize,
) -> (Preamble, Body<'a>) {
    let version = header.version();
    (
        Preamble {
            magic: MAGIC,
            version,
        },
        Body {
            fields: Fields {
                cell: header.cell.code(),
                layers: header.layers,
                task: header.task.code(),
                flags: header.flags(),
                input: header.input,
                hidden: header.hidden,
                output: header.output,
                vocab,
                classes,
            },
            conv: (version >= 2).then_some(&extra.conv[..extra.conv_len]),
            quant: (version >= 3).then_some(&extra.quant[..extra.quant_len]),
            payload: Payload {
                pad: &ZEROS[..pad.min(3)],
                weights: WeightBytes::Tensors(weights),
            },
        },
    )
}

/// Length of preamble + body with `pad` padding bytes.
fn unchecked_len(
    header: &Header,
    vocab: &str,
    classes: &str,
    weights: Weights<'_>,
    pad: usize,
) -> Result<usize, Error> {
    let extra = Extra::new(header);
    let (preamble, body) = parts(header, vocab, classes, &extra, weights, pad);
    let a = postcard::serialize_with_flavor(&preamble, Counter(0)).map_err(map_postcard)?;
    let b = postcard::serialize_with_flavor(&body, Counter(0)).map_err(map_postcard)?;
    Ok(a + b)
}

/// Padding that puts the first weight byte at a multiple of 4: the weights are the last
/// bytes of the body, so they start `len` bytes before its end.
fn padding(
    header: &Header,
    vocab: &str,
    classes: &str,
    weights: Weights<'_>,
) -> Result<usize, Error> {
    let start = unchecked_len(header, vocab, classes, weights, 0)? - weights.byte_len();
    Ok((4 - start % 4) % 4)
}

fn checked_len(
    header: &Header,
    vocab: &str,
    classes: &str,
    weights: Weights<'_>,
) -> Result<usize, Error> {
    check_for_writing(header, vocab, classes, weights)?;
    let pad = padding(header, vocab, classes, weights)?;
    Ok(unchecked_len(header, vocab, classes, weights, pad)? + 4)
}

fn write(
    buf: &mut [u8],
    header: &Header,
    vocab: &str,
    classes: &str,
    weights: Weights<'_>,
) -> Result<usize, Error> {
    let needed = checked_len(header, vocab, classes, weights)?;
    if buf.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    let pad = padding(header, vocab, classes, weights)?;
    let extra = Extra::new(header);
    let (preamble, body) = parts(header, vocab, classes, &extra, weights, pad);
    let a = postcard::to_slice(&preamble, buf)
        .map_err(map_postcard)?
        .len();
    let b = postcard::to_slice(&body, &mut buf[a..])
        .map_err(map_postcard)?
        .len();
    let crc = crc32(&buf[..a + b]);
    buf[a + b..needed].copy_from_slice(&crc.to_le_bytes());
    Ok(needed)
}

/// Number of bytes [`write_model`] will write for these arguments, after the same checks.
pub fn encoded_len(header: &Header, vocab: &str, tensors: &[&[f32]]) -> Result<usize, Error> {
    classifier_len(header, vocab, "", tensors)
}

/// Writes a model file into `buf` and returns its length. `tensors` hold the weights in
/// file order (for Elman: `W_ax`, `W_aa`, `b_a`, `W_ya`, `b_y`, each row-major); they
/// are checked as the reader would check them (count, finite values, vocabulary).
pub fn write_model(
    buf: &mut [u8],
    header: &Header,
    vocab: &str,
    tensors: &[&[f32]],
) -> Result<usize, Error> {
    write_classifier(buf, header, vocab, "", tensors)
}

/// Like [`encoded_len`], for a model with class names (`classes`: each name ended by
/// `\n`; empty for a next-symbol model).
pub fn classifier_len(
    header: &Header,
    vocab: &str,
    classes: &str,
    tensors: &[&[f32]],
) -> Result<usize, Error> {
    checked_len(header, vocab, classes, Weights::Float(tensors))
}

/// Like [`write_model`], for a model with class names (`classes`: each name ended by
/// `\n`, one per output; empty for a next-symbol model).
pub fn write_classifier(
    buf: &mut [u8],
    header: &Header,
    vocab: &str,
    classes: &str,
    tensors: &[&[f32]],
) -> Result<usize, Error> {
    write(buf, header, vocab, classes, Weights::Float(tensors))
}

/// Number of bytes [`write_quantized`] will write, after the same checks.
pub fn quantized_len(view: &ModelView<'_>, quant: Quant) -> Result<usize, Error> {
    let header = view.header();
    let header = header.with_quant(quant.for_header(&header));
    let (vocab, classes) = (view.vocab().as_str(), view.classes().as_str());
    checked_len(
        &header,
        vocab,
        classes,
        Weights::Quantize(view.weight_bytes(), &header),
    )
}

/// Writes the float model `view` quantized as `quant` says (format version 3, or 4 with a convolutional front-end; see
/// [`crate::quant`]) into `buf` and returns its length: each weight row with its own
/// exponent ([`quant::row_exp`]), biases in Q12, statistics as they are. The activation
/// exponents in `quant` come from calibration (the trainer's `quantize` command).
pub fn write_quantized(buf: &mut [u8], view: &ModelView<'_>, quant: Quant) -> Result<usize, Error> {
    if view.header().quant.is_quantized() {
        return Err(Error::WrongPrecision {
            expected: Precision::F32,
            found: view.header().quant.precision,
        });
    }
    let header = view.header();
    let header = header.with_quant(quant.for_header(&header));
    let (vocab, classes) = (view.vocab().as_str(), view.classes().as_str());
    write(
        buf,
        &header,
        vocab,
        classes,
        Weights::Quantize(view.weight_bytes(), &header),
    )
}
