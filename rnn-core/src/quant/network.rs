//! A quantized unidirectional stack of 1 to 4 layers and its output layer, one step at a
//! time: the integer counterpart of [`crate::Network`] (next-symbol models) and
//! [`crate::Stream`] (taggers and regression models), with the state in `i16` and the
//! outputs in Q12 `i32`.

use core::marker::PhantomData;

use super::cell::{layer_step, matvec_q12, QInput, QLayer};
use super::{
    f32_at, take_bytes, take_matrix, Kernel, Portable, Precision, QMatrix, Quant, H_FRAC, Z_FRAC,
};
use crate::cell::linalg::rows_mut;
use crate::cell::Input;
use crate::error::{check_len, Dim, Error};
use crate::format::{CellKind, Header, ModelView, Task, MAX_LAYERS};

const STACK: usize = MAX_LAYERS as usize;

/// Any cell kind at any depth of a quantized model that answers at every step (next
/// symbol, tagging, regression; unidirectional), borrowed from the file. State:
/// [`QNetwork::state_len`] `i16`; scratch: [`QNetwork::scratch_len`] `i32`; outputs: `O`
/// `i32` in Q12 ([`QNetwork::outputs_to_f32`] for probabilities or a regression's units).
///
/// `L` is the most layers it holds (4, the format's limit, by default): a firmware built
/// for one model sets it to that model's depth, so that the layer table it keeps in RAM
/// has no empty slots (64 bytes each on a 32-bit target). A deeper model is refused with
/// [`Error::SizeMismatch`].
#[derive(Debug, Clone, Copy)]
pub struct QNetwork<'a, K: Kernel = Portable, const L: usize = STACK> {
    dims: Dims,
    stats: QStats<'a>,
    layers: [Option<QLayer<'a>>; L],
    w_ya: QMatrix<'a>,
    b_y: &'a [u8],
    kernel: PhantomData<K>,
}

/// What the step reads of the header: 24 bytes on a 32-bit target where the whole
/// [`Header`] (the front-end's and the classifier's fields too) is 52, and a firmware keeps
/// the network in static RAM.
#[derive(Debug, Clone, Copy)]
struct Dims {
    cell: CellKind,
    task: Task,
    precision: Precision,
    layers: u8,
    /// The dense input's exponent ([`Quant::input_exp`]).
    input_exp: u8,
    /// Each layer's cell-state exponent ([`Quant::cell_exp`]).
    cell_exp: [u8; STACK],
    input: u32,
    hidden: u32,
    output: u32,
}

impl Dims {
    #[inline(always)]
    fn of(header: &Header) -> Dims {
        let e = &header.quant.cell_exp;
        let cell_exp = [e[0], e[1], e[2], e[3]];
        Dims {
            cell: header.cell,
            task: header.task,
            precision: header.quant.precision,
            layers: header.layers,
            input_exp: header.quant.input_exp,
            cell_exp,
            input: header.input,
            hidden: header.hidden,
            output: header.output,
        }
    }
}

/// Checks that a view holds a quantized model whose rows fit the integer sums, of the cell
/// kind and weight type the kernel `K` is built for ([`Kernel::CELL`],
/// [`Kernel::PRECISION`]).
pub(crate) fn check_quantized<K: Kernel>(view: &ModelView<'_>) -> Result<Quant, Error> {
    let header = view.header();
    let q = header.quant;
    if !q.is_quantized() {
        return Err(Error::WrongPrecision {
            expected: Precision::Int8,
            found: Precision::F32,
        });
    }
    match K::PRECISION {
        Some(p) if p != q.precision => {
            return Err(Error::WrongPrecision {
                expected: p,
                found: q.precision,
            })
        }
        _ => {}
    }
    match K::CELL {
        Some(kind) if kind != header.cell => {
            return Err(Error::WrongCellKind {
                expected: kind,
                found: header.cell,
            })
        }
        _ => {}
    }
    super::check_rows(&header)?;
    Ok(q)
}

/// A file's statistics, as `f32` bytes: the input normalisation and a regression model's
/// target statistics (used outside the integer step). One slice and a length, not four
/// slices: the network sits in a firmware's static RAM and, while it boots, in `main`'s
/// frame (20 bytes less of each on a 32-bit target).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QStats<'a> {
    /// The mean and scale of each input (`4·I` bytes each, when normalised), then a
    /// regression model's target mean and standard deviation (`4·O` bytes each).
    bytes: &'a [u8],
    /// Bytes of the input mean (`4·I`, or 0).
    input: usize,
}

impl<'a> QStats<'a> {
    pub(crate) fn take(rest: &mut &'a [u8], header: &Header) -> Result<Self, Error> {
        let (i, o) = (4 * header.input as usize, 4 * header.output as usize);
        let input = if header.normalized { i } else { 0 };
        let targets = if header.task == Task::Regress { o } else { 0 };
        let bytes = take_bytes(rest, 2 * input + 2 * targets)?;
        Ok(QStats { bytes, input })
    }

    /// The input means (`f32` bytes; empty for a model without normalisation).
    pub(crate) fn mean(&self) -> &'a [u8] {
        self.bytes.get(..self.input).unwrap_or_default()
    }

    /// The input scales (`f32` bytes; empty for a model without normalisation).
    pub(crate) fn scale(&self) -> &'a [u8] {
        self.bytes
            .get(self.input..2 * self.input)
            .unwrap_or_default()
    }

    /// A regression model's target means and standard deviations (`f32` bytes; empty for
    /// other tasks).
    fn targets(&self) -> (&'a [u8], &'a [u8]) {
        let t = self.bytes.get(2 * self.input..).unwrap_or_default();
        t.split_at(t.len() / 2)
    }

    /// Q12 outputs in `f32`, in a regression model's target units (any number of steps of
    /// `O` values).
    pub(crate) fn outputs(&self, q: &[i32], out: &mut [f32]) {
        logits_to_f32(q, out);
        let (target_mean, target_std) = self.targets();
        let o = target_std.len() / 4;
        if o > 0 {
            for step in out.chunks_mut(o) {
                for (k, y) in step.iter_mut().enumerate() {
                    *y = f32_at(target_mean, k) + f32_at(target_std, k) * *y;
                }
            }
        }
    }
}

/// One direction's layers off the front of `rest`. Inlined, so that a firmware builds the
/// layer table in its caller's frame rather than in a frame of its own and a copy.
#[inline(always)]
pub(crate) fn take_stack<'a, const L: usize>(
    rest: &mut &'a [u8],
    header: &Header,
) -> Result<[Option<QLayer<'a>>; L], Error> {
    let (p, h) = (header.quant.precision, header.hidden as usize);
    let rows = header.cell.gates() * h;
    header.check_table(L)?;
    let mut layers = [None; L];
    for (l, slot) in layers
        .iter_mut()
        .enumerate()
        .take(usize::from(header.layers))
    {
        let w_x = take_matrix(rest, p, rows, header.layer_input(l))?;
        let w_h = take_matrix(rest, p, rows, h)?;
        let b_x = take_bytes(rest, 4 * rows)?;
        let b_h = take_bytes(
            rest,
            if header.cell.has_recurrent_bias() {
                4 * rows
            } else {
                0
            },
        )?;
        *slot = Some(QLayer { w_x, w_h, b_x, b_h });
    }
    Ok(layers)
}

impl<'a> QNetwork<'a> {
    /// The network of a parsed quantized model that answers at every step; a float file
    /// is [`Error::WrongPrecision`], a classifier [`Error::WrongTask`], a bidirectional or
    /// per-sequence normalised model [`Error::InvalidModel`] (they need the whole
    /// sequence: [`super::classify::QClassifier`]).
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        Self::with_kernel(view)
    }
}

impl<'a, K: Kernel, const L: usize> QNetwork<'a, K, L> {
    /// Like [`QNetwork::from_view`], with a firmware's own [`Kernel`].
    #[inline(always)]
    pub fn with_kernel(view: &ModelView<'a>) -> Result<Self, Error> {
        let header = view.header();
        if !header.task.per_step() {
            return Err(Error::WrongTask {
                expected: Task::Next,
                found: header.task,
            });
        }
        if header.bidirectional || header.sequence_normalized {
            return Err(Error::InvalidModel {
                reason: "a bidirectional or per-sequence normalised model needs the whole sequence",
            });
        }
        let q = check_quantized::<K>(view)?;
        let mut rest = view.weight_bytes();
        let stats = QStats::take(&mut rest, &header)?;
        let layers = take_stack(&mut rest, &header)?;
        let w_ya = take_matrix(
            &mut rest,
            q.precision,
            header.output as usize,
            header.head_input(),
        )?;
        let b_y = take_bytes(&mut rest, 4 * header.output as usize)?;
        Ok(QNetwork {
            dims: Dims::of(&header),
            stats,
            layers,
            w_ya,
            b_y,
            kernel: PhantomData,
        })
    }

    /// The weights' number type.
    pub fn precision(&self) -> Precision {
        self.dims.precision
    }

    /// The cell kind.
    pub fn kind(&self) -> CellKind {
        self.dims.cell
    }

    /// What the model predicts.
    pub fn task(&self) -> Task {
        self.dims.task
    }

    /// `I`: the symbols of a one-hot input, or a dense input's values.
    pub fn input_size(&self) -> usize {
        self.dims.input as usize
    }

    /// `O`.
    pub fn output_size(&self) -> usize {
        self.dims.output as usize
    }

    /// `i16` values of state: `H` per Elman or GRU layer, `2·H` per LSTM layer.
    pub fn state_len(&self) -> usize {
        usize::from(self.dims.layers) * self.dims.cell.state_len(self.dims.hidden as usize)
    }

    /// `i32` values of scratch a step needs (`G·H`).
    pub fn scratch_len(&self) -> usize {
        self.dims.cell.gates() * self.dims.hidden as usize
    }

    /// One step: `state` (zero at the start of a sequence) holds the state after `t-1` on
    /// entry and after `t` on return; `logits` (`O`) receives `W_ya · h_t + b_y` in Q12.
    /// Integer operations only.
    pub fn step(
        &self,
        state: &mut [i16],
        x: QInput<'_>,
        scratch: &mut [i32],
        logits: &mut [i32],
    ) -> Result<(), Error> {
        let h = self.dims.hidden as usize;
        check_len(Dim::Hidden, self.state_len(), state.len())?;
        check_len(Dim::Hidden, self.scratch_len(), scratch.len())?;
        check_len(Dim::Output, self.output_size(), logits.len())?;
        let i = self.dims.input as usize;
        match x {
            QInput::Token(token) if token >= i => {
                return Err(Error::TokenOutOfRange { token, len: i })
            }
            QInput::Dense(v, _) => check_len(Dim::Input, i, v.len())?,
            _ => {}
        }
        let per_layer = self.dims.cell.state_len(h);
        let mut below: &[i16] = &[];
        for (l, (layer, s)) in self
            .layers
            .iter()
            .zip(rows_mut(state, per_layer))
            .enumerate()
        {
            let Some(layer) = layer else { break };
            let x_l = if l == 0 {
                x
            } else {
                QInput::Dense(below, H_FRAC)
            };
            let c_frac = u32::from(self.dims.cell_exp.get(l).copied().unwrap_or(0));
            layer_step::<K>(self.dims.cell, layer, s, x_l, c_frac, scratch);
            below = s.get(..h).unwrap_or_default();
        }
        matvec_q12::<K>(&self.w_ya, below, H_FRAC, self.b_y, logits);
        Ok(())
    }

    /// [`QNetwork::step`] for a float-API input: a token or the start symbol as they are, a
    /// dense vector quantized into `xq` (`I` values) first.
    pub fn step_input(
        &self,
        state: &mut [i16],
        x: Input<'_>,
        xq: &mut [i16],
        scratch: &mut [i32],
        logits: &mut [i32],
    ) -> Result<(), Error> {
        let q = match x {
            Input::Start => QInput::Start,
            Input::Token(t) => QInput::Token(t),
            Input::Dense(v) => {
                let s = &self.stats;
                quantize_input(v, s.mean(), s.scale(), self.dims.input_exp, xq)?;
                QInput::Dense(xq, u32::from(self.dims.input_exp))
            }
        };
        self.step(state, q, scratch, logits)
    }

    /// Q12 outputs as `f32` (`q / 4096`, exact), in the targets' units for a regression
    /// model: for softmax and temperature sampling, or to print.
    pub fn outputs_to_f32(&self, q: &[i32], out: &mut [f32]) {
        self.stats.outputs(q, out);
    }
}

/// Q12 values as `f32` (`q / 4096`, exact below 2^24).
pub fn logits_to_f32(q: &[i32], out: &mut [f32]) {
    for (o, q) in out.iter_mut().zip(q) {
        *o = *q as f32 / (1u32 << Z_FRAC) as f32;
    }
}

/// A dense input, normalised by `mean` and `scale` (as bytes of `f32`; empty for none) and
/// stored as `round(x · 2^exp)` saturated to `i16`: the float edge before an integer
/// step.
pub fn quantize_input(
    x: &[f32],
    mean: &[u8],
    scale: &[u8],
    exp: u8,
    out: &mut [i16],
) -> Result<(), Error> {
    check_len(Dim::Input, out.len(), x.len())?;
    for (k, (o, &v)) in out.iter_mut().zip(x).enumerate() {
        let v = if mean.is_empty() {
            v
        } else {
            (v - f32_at(mean, k)) * f32_at(scale, k)
        };
        *o = quantize_value(v, exp);
    }
    Ok(())
}

/// `round(v · 2^exp)` (half away from zero) saturated to `i16`; NaN becomes 0.
pub fn quantize_value(v: f32, exp: u8) -> i16 {
    let s = v * (1u32 << exp.min(15)) as f32;
    let r = if s >= 0.0 { s + 0.5 } else { s - 0.5 };
    if r.is_nan() {
        0
    } else if r >= 32767.0 {
        i16::MAX
    } else if r <= -32768.0 {
        i16::MIN
    } else {
        r as i16
    }
}
