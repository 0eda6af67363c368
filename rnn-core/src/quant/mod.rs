//! Integer inference: quantized model files (format versions 3 and 4) and their forward pass,
//! with no float operation inside a step, for microcontrollers without an FPU.
//!
//! ## The scheme
//!
//! Every scale is a power of two, as in NNoM, so that every rescaling is a shift: the
//! Cortex-M0 has no 32 × 32 → 64-bit multiply, and the fixed-point multipliers of TFLM and
//! CMSIS-NN would cost a library call per output there. A weight row with exponent `e`
//! stores `q = round(w · 2^e)`; `e` is the largest that keeps every `|q|` of the row within
//! the type (127 for int8, 32767 for int16), so each row uses at least half of its range.
//!
//! | value | type | scale |
//! |---|---|---|
//! | weight rows (`W_ax`/`W_ih`, `W_aa`/`W_hh`, `W_ya`) | `i8` (or `i16`) | `2^-e` per row (`e` an `i8` stored before the row values) |
//! | biases | `i32` | Q12 (`2^-12`), the pre-activation's format |
//! | pre-activations `z`, logits | `i32` | Q12 |
//! | hidden state `h`, gates | `i16` | Q15 (`tanh` and `σ` lie in `[-1, 1]`) |
//! | LSTM cell state `c` | `i16` | `2^-c_e` per layer, `c_e` from calibration (`Quant::cell_exp`) |
//! | a convolutional layer's output (after ReLU) | `i16` | `2^-v_e` per layer, from calibration (`Quant::conv_exp`; [`conv`]) |
//! | dense input `x` after normalisation | `i16` | `2^-x_e`, from calibration (`Quant::input_exp`) |
//! | statistics (mean, scale, target mean and s.d.) | `f32` | used outside the step |
//!
//! A row's dot product with a Q15 vector is accumulated exactly in `i32` (int8 weights: at
//! most 127 · 32767 · 512 < 2^31, so rows are limited to 512 inputs) or `i64` (int16
//! weights), then shifted to Q12 with rounding (half up). `tanh` and `σ` take Q12 (or the
//! cell state's format) and give Q15 through one table ([`act`]). Products of two Q15
//! values are rounded back to Q15. The only float work is at the edges: normalising and
//! quantizing a dense input before the step, and turning Q12 logits into `f32` for
//! temperature sampling or probabilities. Greedy decoding and classification compare the
//! integer logits.
//!
//! Integer arithmetic is exact, so every target computes the same bits by construction.
//!
//! ## Example: quantize a model, load it, run it
//!
//! ```
//! use rnn_core::{CellKind, Error, Header, ModelView, Precision, QInput, QNetwork, Quant};
//!
//! // A float GRU over the symbols '\n', 'a', 'b' with made-up weights.
//! let header = Header::new(CellKind::Gru, 1, 3, 8, 3);
//! let w: Vec<f32> = (0..header.param_count()?).map(|k| (k as f32 * 0.7).sin() * 0.5).collect();
//! let mut float = [0u8; 2048];
//! let n = rnn_core::write_model(&mut float, &header, "\nab", &[&w])?;
//!
//! // Quantize it as it is written: int8 rows (a GRU has no cell state to calibrate).
//! let view = ModelView::parse(&float[..n])?;
//! let quant = Quant { precision: Precision::Int8, ..Quant::FLOAT };
//! let mut file = [0u8; 1024];
//! let n = rnn_core::write_quantized(&mut file, &view, quant)?;
//!
//! // On the device: every check of the loader, then integer steps.
//! let view = ModelView::parse(&file[..n])?;
//! let net = QNetwork::from_view(&view)?;
//! let mut state = [0i16; 8];
//! let mut scratch = [0i32; 24];
//! let mut logits = [0i32; 3];
//! net.step(&mut state, QInput::Start, &mut scratch, &mut logits)?;
//! net.step(&mut state, QInput::Token(1), &mut scratch, &mut logits)?;
//! let next = rnn_core::sample::argmax_i32(&logits);
//! assert!(next < 3);
//! // The float loaders refuse the file rather than misread it.
//! assert!(matches!(rnn_core::Network::from_view(&view), Err(Error::WrongPrecision { .. })));
//! # Ok::<(), Error>(())
//! ```

pub mod act;
pub mod cell;
pub mod classify;
pub mod conv;
pub mod network;

use crate::cell::linalg;
use crate::conv::MAX_CONV;
use crate::error::Error;
use crate::format::{CellKind, Header, MAX_LAYERS};
use crate::layout::TensorRole;

/// The fraction bits of pre-activations, biases and logits (Q12).
pub const Z_FRAC: u32 = 12;
/// The fraction bits of hidden states and gate values (Q15).
pub const H_FRAC: u32 = 15;
/// Row exponents a file may hold: the shifts they imply stay within `0 ..= 31`.
pub const ROW_EXP: core::ops::RangeInclusive<i8> = -3..=28;
/// The most inputs an int8 row may have (its `i32` sum cannot overflow).
pub const MAX_ROW_INT8: usize = 512;

/// How the weights of a file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `f32` (format versions 1 and 2).
    F32,
    /// `i8` weight rows (format version 3).
    Int8,
    /// `i16` weight rows (format version 3), for models that lose too much at int8.
    Int16,
}

impl Precision {
    /// The code in a version-3 file.
    pub const fn code(self) -> u8 {
        match self {
            Precision::F32 => 0,
            Precision::Int8 => 1,
            Precision::Int16 => 2,
        }
    }

    /// The precision of a file's code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Precision::F32),
            1 => Some(Precision::Int8),
            2 => Some(Precision::Int16),
            _ => None,
        }
    }

    /// `f32`, `int8` or `int16`.
    pub const fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
            Precision::Int16 => "int16",
        }
    }

    /// Whether the weights are integers.
    pub const fn is_integer(self) -> bool {
        !matches!(self, Precision::F32)
    }

    /// Bytes of one weight value.
    pub const fn weight_bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::Int8 => 1,
            Precision::Int16 => 2,
        }
    }

    /// The largest stored magnitude of a weight.
    pub const fn max_weight(self) -> i32 {
        match self {
            Precision::Int8 => i8::MAX as i32,
            _ => i16::MAX as i32,
        }
    }
}

/// Layer-directions a file may have: [`MAX_LAYERS`] times two directions.
pub const MAX_STACKS: usize = 2 * MAX_LAYERS as usize;

/// The quantization of a file: the weights' type and the calibrated activation scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quant {
    /// How the weights are stored.
    pub precision: Precision,
    /// A dense input, after the file's normalisation, is stored as `round(x · 2^input_exp)`
    /// in `i16` (0 for one-hot inputs). At most 15.
    pub input_exp: u8,
    /// The LSTM cell state of layer-direction `l·D + d` is stored as `round(c · 2^exp)`
    /// (0 for other cells and unused slots). At most 15.
    pub cell_exp: [u8; MAX_STACKS],
    /// The output of convolutional layer `l` (after its ReLU) is stored as
    /// `round(v · 2^exp)` in `i16` (0 for layers the model does not have; format version 4).
    /// At most 15.
    pub conv_exp: [u8; MAX_CONV],
}

impl Quant {
    /// A float model.
    pub const FLOAT: Quant = Quant {
        precision: Precision::F32,
        input_exp: 0,
        cell_exp: [0; MAX_STACKS],
        conv_exp: [0; MAX_CONV],
    };

    /// The same quantization with the exponents `header` has no use for (the cell
    /// exponents of layer-directions it does not have, all of them but for LSTM; those of
    /// convolutional layers it does not have) set to 0, so that one model has one encoding.
    pub fn for_header(mut self, header: &Header) -> Quant {
        let n = if header.cell == CellKind::Lstm {
            stacks(header).min(MAX_STACKS)
        } else {
            0
        };
        self.cell_exp[n..].fill(0);
        let c = header.conv.layers().len().min(MAX_CONV);
        self.conv_exp[c..].fill(0);
        self
    }

    /// Whether the weights are integers.
    pub const fn is_quantized(&self) -> bool {
        !matches!(self.precision, Precision::F32)
    }

    /// The `quant` field of a version-3 (or 4) file: precision, input exponent, one cell
    /// exponent per layer-direction, then (version 4) one exponent per convolutional
    /// layer. Returns the used part of `out`.
    pub(crate) fn encode<'o>(&self, header: &Header, out: &'o mut [u8; QUANT_FIELD]) -> &'o [u8] {
        let n = stacks(header).min(MAX_STACKS);
        let c = header.conv.layers().len().min(MAX_CONV);
        out[0] = self.precision.code();
        out[1] = self.input_exp;
        out[2..2 + n].copy_from_slice(&self.cell_exp[..n]);
        out[2 + n..2 + n + c].copy_from_slice(&self.conv_exp[..c]);
        &out[..2 + n + c]
    }

    /// Reads the `quant` field of a version-3 (or 4) file of `header` (whose sizes are not
    /// yet checked).
    pub(crate) fn decode(bytes: &[u8], header: &Header) -> Result<Quant, Error> {
        let n = stacks(header);
        let c = header.conv.layers().len();
        let invalid = |reason| Err(Error::InvalidModel { reason });
        if bytes.len() != 2 + n + c || n > MAX_STACKS || c > MAX_CONV {
            return Err(Error::Malformed);
        }
        let precision = match Precision::from_code(bytes[0]) {
            Some(p @ (Precision::Int8 | Precision::Int16)) => p,
            _ => return invalid("unknown weight type in a quantized model"),
        };
        let mut cell_exp = [0u8; MAX_STACKS];
        cell_exp[..n].copy_from_slice(&bytes[2..2 + n]);
        let mut conv_exp = [0u8; MAX_CONV];
        conv_exp[..c].copy_from_slice(&bytes[2 + n..]);
        let q = Quant {
            precision,
            input_exp: bytes[1],
            cell_exp,
            conv_exp,
        };
        let lstm = header.cell == CellKind::Lstm;
        if q.input_exp > 15
            || q.cell_exp.iter().any(|&e| e > 15 || (!lstm && e != 0))
            || q.conv_exp.iter().any(|&e| e > 15)
        {
            return invalid("a quantized model's activation exponent is out of range");
        }
        Ok(q)
    }
}

/// The longest `quant` field: precision, input exponent, the cell and the convolutional
/// exponents.
pub(crate) const QUANT_FIELD: usize = 2 + MAX_STACKS + MAX_CONV;

/// Layer-directions of a header.
const fn stacks(header: &Header) -> usize {
    header.directions() * header.layers as usize
}

/// Bytes a tensor of `rows × cols` and `role` takes in a file of `precision`: `f32` for
/// every tensor of a float file and for the statistics; `i32` per bias; a weight matrix one
/// exponent byte per row, then its values. Saturates.
pub const fn tensor_bytes(
    precision: Precision,
    role: TensorRole,
    rows: usize,
    cols: usize,
) -> usize {
    if matches!(precision, Precision::F32) || role.is_statistic() || is_bias(role) {
        rows.saturating_mul(cols).saturating_mul(4)
    } else {
        let values = rows
            .saturating_mul(cols)
            .saturating_mul(precision.weight_bytes());
        rows.saturating_add(values)
    }
}

/// Whether a role is a bias (stored as `i32` in Q12 in a quantized file).
pub const fn is_bias(role: TensorRole) -> bool {
    matches!(
        role,
        TensorRole::InputBias
            | TensorRole::RecurrentBias
            | TensorRole::OutputBias
            | TensorRole::ConvBias
    )
}

/// The exponent of a weight row for `precision`: the largest `e` in [`ROW_EXP`] with every
/// `round(w · 2^e)` of the row within the type ([`Precision::max_weight`]).
pub fn row_exp(precision: Precision, row: impl Iterator<Item = f32>) -> i8 {
    let max = row.fold(0.0f32, |m, w| if w.abs() > m { w.abs() } else { m });
    let limit = precision.max_weight() as f64 + 0.5;
    let mut e = *ROW_EXP.end();
    while e > *ROW_EXP.start() && f64::from(max) * libm::exp2(f64::from(e)) >= limit {
        e -= 1;
    }
    e
}

/// `round(w · 2^e)` (half away from zero), clamped to the type's range.
pub fn quantize(w: f32, e: i8, precision: Precision) -> i16 {
    let m = precision.max_weight() as f64;
    libm::round(f64::from(w) * libm::exp2(f64::from(e))).clamp(-m, m) as i16
}

/// A bias in Q12: `round(b · 2^12)`, clamped to `i32`.
pub fn quantize_bias(b: f32) -> i32 {
    let v = libm::round(f64::from(b) * f64::from(1u32 << Z_FRAC));
    v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// [`Error::InvalidModel`] when an int8 model has a row longer than [`MAX_ROW_INT8`]
/// (a recurrent or output row, or a convolution's `K · C_in`).
#[inline(always)]
pub fn check_rows(header: &Header) -> Result<(), Error> {
    let widest = header
        .tensors()
        .filter(|t| !t.is_vector())
        .map(|t| t.cols)
        .max()
        .unwrap_or(0);
    if header.quant.precision == Precision::Int8 && widest > MAX_ROW_INT8 {
        return Err(Error::InvalidModel {
            reason: "an int8 weight row has more than 512 inputs",
        });
    }
    Ok(())
}

/// Rounds `acc / 2^shift` (half up) for `shift ≥ 0`, or saturates `acc · 2^-shift`.
#[inline(always)]
pub fn rescale(acc: i32, shift: i32) -> i32 {
    let s = shift as u32;
    if s <= 31 {
        // The shifts of a row times a Q15 state (`e + 3` for `e` in `ROW_EXP`): one
        // comparison (a negative shift is a large `u32`), no branch on the sign.
        // `(acc << 1) >> s` has bit `s - 1` of `acc` in its lowest bit, and 0 for `s = 0`.
        (acc >> s) + ((acc.wrapping_shl(1) >> s) & 1)
    } else {
        rescale_far(acc, shift)
    }
}

/// [`rescale`] for a shift outside `0 ..= 31`: out of line, so that each inlined
/// [`rescale`] is only its common case.
#[inline(never)]
fn rescale_far(acc: i32, shift: i32) -> i32 {
    if shift > 0 {
        // At least 32: `acc / 2^31` rounded.
        (acc >> 31) + ((acc >> 30) & 1)
    } else {
        let s = (-shift).min(31) as u32;
        if acc.unsigned_abs() > (i32::MAX as u32) >> s {
            if acc < 0 {
                i32::MIN
            } else {
                i32::MAX
            }
        } else {
            acc << s
        }
    }
}

/// [`rescale`] of a value in the `i16` range (a one-hot input's weight): a left shift by
/// at most 16 cannot leave `i32` (`-2^15 · 2^16` is `i32::MIN`, what [`rescale`]
/// saturates it to), so it needs no saturation.
#[inline(always)]
pub fn rescale_i16(q: i16, shift: i32) -> i32 {
    let q = i32::from(q);
    match shift {
        -16..=-1 => q << (-shift) as u32,
        _ => rescale(q, shift),
    }
}

/// [`rescale`] of an `i64` sum, saturated to `i32`.
#[inline(always)]
pub fn rescale64(acc: i64, shift: i32) -> i32 {
    let v = if shift > 0 {
        let s = shift.min(63) as u32;
        (acc >> s) + ((acc >> (s - 1)) & 1)
    } else {
        acc.saturating_mul(1i64 << (-shift).min(31))
    };
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `round(v · a / 2^15)` for a Q15 factor `0 ≤ a ≤ 2^15` and any `v`, exactly, in 32-bit
/// operations: `v` split into its high and low 15 bits.
#[inline(always)]
pub fn mul_q15(a: i32, v: i32) -> i32 {
    let hi = v >> 15;
    let lo = v & 0x7fff;
    hi * a + ((lo * a + (1 << 14)) >> 15)
}

/// `v` saturated to `i16`.
#[inline(always)]
pub fn sat16(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// A quantized weight matrix borrowed from the file: per row an exponent, then the rows'
/// values (`i8`, or `i16` little-endian).
#[derive(Debug, Clone, Copy)]
pub struct QMatrix<'a> {
    /// Row exponents, one `i8` per row (as bytes).
    pub exps: &'a [u8],
    /// Row-major values.
    pub values: &'a [u8],
    /// Values per row.
    pub cols: usize,
    /// Bytes per value (1 or 2).
    pub width: usize,
}

impl<'a> QMatrix<'a> {
    /// Whether the values are int8, as far as a build for kernel `K` can tell at compile
    /// time ([`Kernel::PRECISION`], checked when the model loaded) or else from the file.
    #[inline(always)]
    pub(crate) fn int8<K: Kernel>(&self) -> bool {
        match K::PRECISION {
            Some(p) => p == Precision::Int8,
            None => self.width == 1,
        }
    }

    /// Row `r`'s exponent and value bytes.
    #[inline(always)]
    pub fn row(&self, r: usize) -> (i32, &'a [u8]) {
        let e = self.exps.get(r).map_or(0, |&b| i32::from(b as i8));
        let n = self.cols * self.width;
        (e, self.values.get(r * n..(r + 1) * n).unwrap_or_default())
    }

    /// Row `r`'s exponent and its value in column `c` (a one-hot input's weight).
    #[inline(always)]
    pub fn at(&self, r: usize, c: usize) -> (i32, i32) {
        let e = self.exps.get(r).map_or(0, |&b| i32::from(b as i8));
        // The whole matrix read as one long row: no slice of row `r` to make.
        (e, self.value(self.values, r * self.cols + c))
    }

    /// Value `c` of a row's bytes (or of the whole matrix's, counted row after row).
    #[inline(always)]
    pub fn value(&self, row: &[u8], c: usize) -> i32 {
        if self.width == 1 {
            row.get(c).map_or(0, |&b| i32::from(b as i8))
        } else {
            match (row.get(2 * c), row.get(2 * c + 1)) {
                (Some(&lo), Some(&hi)) => i32::from(i16::from_le_bytes([lo, hi])),
                _ => 0,
            }
        }
    }
}

/// The dot products of quantized rows with a state vector: the step's inner loop. The
/// portable version is plain Rust that compiles to a load–multiply–add loop on every
/// Cortex-M; a firmware may supply its own (the Cortex-M4's `SMLAD`, say) through
/// [`network::QNetwork::with_kernel`], and must give the same integers.
pub trait Kernel {
    /// The one cell kind a build runs, when it is known at compile time (a firmware built
    /// for one model): the integer step then holds only that kind's code (the other two
    /// kinds' code and their larger stack frames left out), and a model of another kind
    /// is refused when it loads ([`Error::WrongCellKind`]). `None`, the default: any kind.
    const CELL: Option<CellKind> = None;

    /// The one weight type a build runs ([`Precision::Int8`] or [`Precision::Int16`]), when
    /// it is known at compile time: the other type's products are left out, and a model
    /// of another type is refused when it loads ([`Error::WrongPrecision`]). `None`, the
    /// default: either.
    const PRECISION: Option<Precision> = None;

    /// `Σ_j row[j] · x[j]` for int8 values (`row` as bytes), exact in `i32`.
    #[inline(always)]
    fn dot_i8(row: &[u8], x: &[i16]) -> i32 {
        let mut acc = 0i32;
        for (w, x) in row.iter().zip(x) {
            acc += i32::from(*w as i8) * i32::from(*x);
        }
        acc
    }

    /// The int8 dot products of four rows with the same `x`, so that each `x[j]` is loaded
    /// (and, in a DSP kernel, paired) once for four rows. Any order of the sums gives the
    /// same integers.
    #[inline(always)]
    fn dot4_i8(rows: [&[u8]; 4], x: &[i16]) -> [i32; 4] {
        let mut acc = [0i32; 4];
        let [r0, r1, r2, r3] = rows;
        for ((((w0, w1), w2), w3), x) in r0.iter().zip(r1).zip(r2).zip(r3).zip(x) {
            let x = i32::from(*x);
            acc[0] += i32::from(*w0 as i8) * x;
            acc[1] += i32::from(*w1 as i8) * x;
            acc[2] += i32::from(*w2 as i8) * x;
            acc[3] += i32::from(*w3 as i8) * x;
        }
        acc
    }

    /// `out[r] = Σ_j values[r · cols + j] · x[j]` for every `r < out.len()`: the int8
    /// rows of a matrix (`cols` values each, row after row, as bytes) against one `x`,
    /// exact in `i32` (a row the bytes do not hold gives 0). The default takes the rows
    /// four at a time through [`Kernel::dot4_i8`] and the rest through
    /// [`Kernel::dot_i8`]; a kernel may override it to set its loop up once per matrix
    /// rather than once per four rows, and must give the same integers.
    #[inline(always)]
    fn matvec_i8(values: &[u8], cols: usize, x: &[i16], out: &mut [i32]) {
        let mut done = 0;
        if cols > 0 {
            for (o, rows) in out
                .chunks_exact_mut(4)
                .zip(linalg::rows(values, cols.saturating_mul(4)))
            {
                o.copy_from_slice(&dot4_group::<Self>(rows, cols, x));
                done += 4;
            }
            let rows = values.get(done * cols..).unwrap_or_default();
            for (o, row) in out.iter_mut().skip(done).zip(linalg::rows(rows, cols)) {
                *o = Self::dot_i8(row, x);
                done += 1;
            }
        }
        out.iter_mut().skip(done).for_each(|o| *o = 0);
    }

    /// `Σ_j row[j] · x[j]` for int16 values (little-endian bytes), exact in `i64`. Out of
    /// line: inlined into the step, the Cortex-M0's loop lost registers to the code around
    /// it (19 instructions per MAC instead of 17).
    #[inline(never)]
    fn dot_i16(row: &[u8], x: &[i16]) -> i64 {
        let mut acc = 0i64;
        for (w, x) in row.chunks_exact(2).zip(x) {
            acc += i64::from(i32::from(i16::from_le_bytes([w[0], w[1]])) * i32::from(*x));
        }
        acc
    }
}

/// [`Kernel::dot4_i8`] of four consecutive rows (`rows`, `cols` values each), zeros for
/// a slice that is not four rows. Out of line, so that the loop has the registers to
/// itself: inlined into the step, the Cortex-M0's loop kept two of its four sums on the
/// stack.
#[inline(never)]
fn dot4_group<K: Kernel + ?Sized>(rows: &[u8], cols: usize, x: &[i16]) -> [i32; 4] {
    let n = cols.min(x.len());
    if rows.len() / 4 != cols || n == 0 {
        return [0; 4];
    }
    let (r01, r23) = rows.split_at(2 * cols);
    let (r0, r1) = r01.split_at(cols);
    let (r2, r3) = r23.split_at(cols);
    let (r0, r1, r2, r3, x) = (&r0[..n], &r1[..n], &r2[..n], &r3[..n], &x[..n]);
    K::dot4_i8([r0, r1, r2, r3], x)
}

/// The portable [`Kernel`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Portable;

impl Kernel for Portable {}

/// Takes `n` bytes off the front of `rest`.
pub(crate) fn take_bytes<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
    let (head, tail) = rest.split_at_checked(n).ok_or(Error::Truncated)?;
    *rest = tail;
    Ok(head)
}

/// Takes a quantized matrix of `rows × cols` off the front of `rest`.
pub(crate) fn take_matrix<'a>(
    rest: &mut &'a [u8],
    precision: Precision,
    rows: usize,
    cols: usize,
) -> Result<QMatrix<'a>, Error> {
    let width = precision.weight_bytes();
    let exps = take_bytes(rest, rows)?;
    let values = take_bytes(rest, rows.saturating_mul(cols).saturating_mul(width))?;
    Ok(QMatrix {
        exps,
        values,
        cols,
        width,
    })
}

/// `i32` number `k` of little-endian bytes (0 past the end).
#[inline(always)]
pub(crate) fn i32_at(bytes: &[u8], k: usize) -> i32 {
    match bytes.get(4 * k..4 * k + 4) {
        Some(&[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// `f32` number `k` of little-endian bytes (0 past the end).
#[inline(always)]
pub(crate) fn f32_at(bytes: &[u8], k: usize) -> f32 {
    f32::from_bits(i32_at(bytes, k) as u32)
}

#[cfg(test)]
mod tests {
    use super::{rescale, rescale_i16};

    /// `rescale` as first written: a branch for each sign of the shift.
    fn rescale_branchy(acc: i32, shift: i32) -> i32 {
        if shift > 0 {
            let s = shift.min(31) as u32;
            (acc >> s) + ((acc >> (s - 1)) & 1)
        } else if shift == 0 {
            acc
        } else {
            let s = (-shift).min(31) as u32;
            if acc.unsigned_abs() > (i32::MAX as u32) >> s {
                if acc < 0 {
                    i32::MIN
                } else {
                    i32::MAX
                }
            } else {
                acc << s
            }
        }
    }

    #[test]
    fn rescale_gives_the_branchy_rescales_bits() {
        let mut values = [0i32; 4300];
        let special = [0, 1, -1, 2, -2, 3, -3, i32::MAX, i32::MIN, i32::MIN + 1];
        values[..special.len()].copy_from_slice(&special);
        let mut n = special.len();
        for b in 0..31 {
            for d in [-1i32, 0, 1] {
                values[n] = (1i32 << b).wrapping_add(d);
                values[n + 1] = (-(1i32 << b)).wrapping_add(d);
                n += 2;
            }
        }
        let mut v = 0x1234_5678u32;
        while n + 2 <= values.len() {
            v ^= v << 13;
            v ^= v >> 17;
            v ^= v << 5;
            values[n] = v as i32;
            values[n + 1] = (v as i32) >> (v % 31);
            n += 2;
        }
        for &acc in &values {
            for shift in -70..=70 {
                assert_eq!(
                    rescale(acc, shift),
                    rescale_branchy(acc, shift),
                    "{acc} {shift}"
                );
            }
        }
        for q in i16::MIN..=i16::MAX {
            for shift in -40..=40 {
                let want = rescale_branchy(i32::from(q), shift);
                assert_eq!(rescale_i16(q, shift), want, "{q} {shift}");
            }
        }
    }
}
