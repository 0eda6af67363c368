//! The convolutional front-end in integers ([`crate::conv`]'s layers, format version 4):
//! each layer's window of the last `K` inputs times its int8 (or int16) rows, summed
//! exactly and rescaled to Q12 with the bias, then ReLU and the layer's calibrated `i16`
//! format.
//!
//! ```text
//! layer l reads u_j in i16 with f_l fraction bits (layer 0: the quantized input, f_0 =
//! input_exp, or a one-hot vector of 1s, f_0 = 0; above: the layer below's output) and at
//! every S-th step answers, per output channel o,
//!   z_o = rescale(Σ_{k<K} W_q[o, k, ·] · u_{j-k}, e_o + f_l − 12) + b_o    (Q12)
//!   v_o = sat16(rescale(max(z_o, 0), 12 − conv_exp[l]))                   (conv_exp[l] bits)
//! ```
//!
//! The window is gathered (current step first, zeros before the start) into one vector,
//! so the sum is the recurrent layers' row product ([`super::cell::matvec_q12`]) and a
//! firmware's [`Kernel`] runs it too.

use super::cell::{matvec_q12, QInput};
use super::{rescale, sat16, take_bytes, take_matrix, Kernel, Precision, QMatrix, Z_FRAC};
use crate::conv::{push_ring, ConvStack, MAX_CONV};
use crate::error::{check_len, Dim, Error};
use crate::format::Header;

/// A quantized model's convolutional layers, borrowed from the file, run one input step
/// at a time: `i16` state (the rings of the last `K` inputs per layer) and scratch,
/// `i32` sums. Keeps the layers' bytes as one slice (each layer's rows are found again at
/// every step: a few instructions against the layer's `C · K · C_in` products), so that a
/// classifier that holds it stays small in a firmware's RAM.
#[derive(Debug, Clone, Copy)]
pub struct QConv<'a> {
    stack: ConvStack,
    input: usize,
    precision: Precision,
    bytes: &'a [u8],
    exps: [u8; MAX_CONV],
}

impl<'a> QConv<'a> {
    /// Takes the layers of `header`'s front-end off the front of `rest` (file order: each
    /// layer's rows, then its `i32` biases).
    pub(crate) fn take(rest: &mut &'a [u8], header: &Header) -> Result<Self, Error> {
        let (stack, input) = (header.conv, header.input as usize);
        let start = *rest;
        for l in 0..stack.layers().len() {
            layer_bytes(rest, header.quant.precision, stack, l, input)?;
        }
        let used = start.len() - rest.len();
        Ok(QConv {
            stack,
            input,
            precision: header.quant.precision,
            bytes: start.get(..used).unwrap_or_default(),
            exps: header.quant.conv_exp,
        })
    }

    /// No front-end, for a classifier built without one.
    pub(crate) fn none(header: &Header) -> Self {
        QConv {
            stack: ConvStack::NONE,
            input: header.input as usize,
            precision: header.quant.precision,
            bytes: &[],
            exps: [0; MAX_CONV],
        }
    }

    /// The layers.
    pub fn stack(&self) -> ConvStack {
        self.stack
    }

    /// The fraction bits of the last layer's output: what the first recurrent layer reads.
    pub fn out_frac(&self) -> u32 {
        let top = self.stack.layers().len();
        top.checked_sub(1)
            .and_then(|l| self.exps.get(l))
            .map_or(0, |&e| u32::from(e))
    }

    /// `i16` of state [`QConv::step`] keeps between steps: the rings, `K · C_in` per layer,
    /// zero at the start of a sequence.
    pub fn state_len(&self) -> usize {
        self.stack.rings_len(self.input)
    }

    /// `i16` of working space [`QConv::step`] needs: the widest window and two layer
    /// outputs (none without a front-end).
    pub fn scratch_len(&self) -> usize {
        if self.stack.is_empty() {
            return 0;
        }
        let window = (0..self.stack.layers().len())
            .map(|l| self.stack.window(l, self.input))
            .max()
            .unwrap_or(0);
        window.saturating_add(2 * self.widest())
    }

    /// `i32` of sums [`QConv::step`] needs: the widest layer's channels.
    pub fn sums_len(&self) -> usize {
        let c = self.stack.layers().iter().map(|s| usize::from(s.channels));
        c.max().unwrap_or(0)
    }

    fn widest(&self) -> usize {
        self.sums_len().max(self.input)
    }

    /// Feeds input step `t` (counted from 0 since the state was zeroed) through every
    /// layer; when the last layer answers at this step, writes its output (its channels,
    /// with [`QConv::out_frac`] fraction bits; checked only then) into `out` and returns
    /// `true`. `x` is the quantized dense input or a token. Wrong lengths are errors.
    pub fn step<K: Kernel>(
        &self,
        state: &mut [i16],
        t: usize,
        x: QInput<'_>,
        scratch: &mut [i16],
        sums: &mut [i32],
        out: &mut [i16],
    ) -> Result<bool, Error> {
        check_len(Dim::Hidden, self.state_len(), state.len())?;
        check_len(Dim::Work, self.scratch_len(), scratch.len())?;
        check_len(Dim::Work, self.sums_len(), sums.len())?;
        let window_len = scratch.len().checked_sub(2 * self.widest());
        let (window, rest) = scratch
            .split_at_mut_checked(window_len.ok_or(Error::Truncated)?)
            .ok_or(Error::Truncated)?;
        let (cur, next) = rest.split_at_mut(self.widest());
        let n0 = self.input;
        let row = cur.get_mut(..n0).ok_or(Error::Truncated)?;
        let mut frac = match x {
            QInput::Dense(v, frac) => {
                check_len(Dim::Input, n0, v.len())?;
                row.copy_from_slice(v);
                frac
            }
            QInput::Token(k) => {
                if k >= n0 {
                    return Err(Error::TokenOutOfRange { token: k, len: n0 });
                }
                row.fill(0);
                if let Some(r) = row.get_mut(k) {
                    *r = 1;
                }
                0
            }
            QInput::Start => {
                row.fill(0);
                0
            }
        };
        let (mut cur, mut next) = (cur, next);
        let mut j = t;
        let mut rings = state;
        let mut weights = self.bytes;
        for (l, s) in self.stack.layers().iter().enumerate() {
            let (w, b) = layer_bytes(&mut weights, self.precision, self.stack, l, self.input)?;
            let (k, stride) = (usize::from(s.kernel), usize::from(s.stride));
            let (c_in, c_out) = (
                self.stack.layer_input(l, self.input),
                usize::from(s.channels),
            );
            let ring = push_ring(&mut rings, j, k, c_in, cur)?;
            if !j.is_multiple_of(stride) {
                return Ok(false);
            }
            // The window in the rows' order: `k = 0` the current step, zeros before the
            // start of the sequence.
            let win = window.get_mut(..k * c_in).ok_or(Error::Truncated)?;
            for (back, part) in win.chunks_exact_mut(c_in.max(1)).enumerate() {
                match j.checked_sub(back) {
                    Some(i) => {
                        let r = i % k;
                        let u = ring.get(r * c_in..(r + 1) * c_in).unwrap_or_default();
                        for (p, u) in part.iter_mut().zip(u) {
                            *p = *u;
                        }
                    }
                    None => part.fill(0),
                }
            }
            let z = sums.get_mut(..c_out).ok_or(Error::Truncated)?;
            matvec_q12::<K>(&w, win, frac, b, z);
            let e = u32::from(self.exps[l]);
            let shift = Z_FRAC as i32 - e as i32;
            for (v, z) in next.iter_mut().zip(z.iter()) {
                *v = sat16(rescale((*z).max(0), shift));
            }
            core::mem::swap(&mut cur, &mut next);
            frac = e;
            j /= stride;
        }
        let c = self.stack.out_channels(self.input);
        check_len(Dim::Output, c, out.len())?;
        out.copy_from_slice(cur.get(..c).ok_or(Error::Truncated)?);
        Ok(true)
    }
}

/// Layer `l`'s rows and `i32` biases, taken off the front of `rest`.
fn layer_bytes<'a>(
    rest: &mut &'a [u8],
    precision: Precision,
    stack: ConvStack,
    l: usize,
    input: usize,
) -> Result<(QMatrix<'a>, &'a [u8]), Error> {
    let s = stack.layers().get(l).ok_or(Error::Truncated)?;
    let c = usize::from(s.channels);
    let cols = usize::from(s.kernel).saturating_mul(stack.layer_input(l, input));
    let w = take_matrix(rest, precision, c, cols)?;
    Ok((w, take_bytes(rest, 4 * c)?))
}
