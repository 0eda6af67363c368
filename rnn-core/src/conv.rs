//! The convolutional front-end of a classifier: up to four causal 1-D convolutions with
//! ReLU, each with a stride, before the recurrent stack. On long sensor series they
//! extract local features and cut the number of recurrent steps by the product of the
//! strides, which is most of a step's cost on a microcontroller.
//!
//! ```text
//! layer l reads u_j (C_in values per step; layer 0 reads the normalised input x_t, or
//! its one-hot vector), and at every S-th step (j = 0, S, 2S, …) answers
//!   v = ReLU(b + Σ_{k<K} W[·, k, ·] · u_{j-k})        u_{j-k} = 0 before the start
//! ```
//!
//! A layer therefore turns `T` steps into `ceil(T / S)`, and the stack never looks ahead:
//! [`Conv::step`] runs it one input at a time with a ring buffer of the last `K` inputs per
//! layer (what a device keeps), answering when the last layer has an output. Weights of a
//! layer in file order: `W` (`C` rows of `K · C_in`, index `[o][k][c]`, `k = 0` the current
//! step), then `b` (`C`).

use crate::cell::linalg::{f, take};
use crate::cell::{Input, Weight};
use crate::error::{check_len, Dim, Error};

/// The most convolutional layers a file may have.
pub const MAX_CONV: usize = 4;

/// One convolutional layer: `kernel` steps, `channels` outputs, answering every `stride`-th
/// step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvSpec {
    /// `K`, the steps each output reads (1 to 255).
    pub kernel: u8,
    /// `S`, the steps between outputs (1 to 255).
    pub stride: u8,
    /// `C`, the output channels (1 to 4096).
    pub channels: u16,
}

/// The most channels a convolutional layer may have.
pub const MAX_CONV_CHANNELS: u16 = 4096;

/// The convolutional layers of a model (none, or 1 to [`MAX_CONV`]).
// Word-aligned: the loader copies it several times, and on the Cortex-M a copy of a
// 2-aligned 18-byte value is a call to `memcpy` (whose 80-byte frame was the top of the
// M3's stack at boot), a word-aligned one five loads and stores.
#[repr(align(4))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvStack {
    specs: [ConvSpec; MAX_CONV],
    len: u8,
}

impl ConvStack {
    /// No convolutional front-end.
    pub const NONE: ConvStack = ConvStack {
        specs: [ConvSpec {
            kernel: 0,
            stride: 0,
            channels: 0,
        }; MAX_CONV],
        len: 0,
    };

    /// The stack of `specs` (empty for none), or [`Error::InvalidModel`] for more than
    /// [`MAX_CONV`] layers or a zero (or too large) kernel, stride or channel count.
    pub const fn new(specs: &[ConvSpec]) -> Result<Self, Error> {
        if specs.len() > MAX_CONV {
            return Err(Error::InvalidModel {
                reason: "more than 4 convolutional layers",
            });
        }
        let mut out = ConvStack::NONE;
        let mut k = 0;
        while k < specs.len() {
            let s = specs[k];
            if s.kernel == 0 || s.stride == 0 || s.channels == 0 || s.channels > MAX_CONV_CHANNELS {
                return Err(Error::InvalidModel {
                    reason: "a convolutional layer needs a kernel, stride and 1 to 4096 channels",
                });
            }
            out.specs[k] = s;
            k += 1;
        }
        out.len = specs.len() as u8;
        Ok(out)
    }

    /// The layers, from the input up.
    pub fn layers(&self) -> &[ConvSpec] {
        self.specs.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether there is no convolutional layer.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Channels of what the recurrent stack reads: the last layer's, or `input` without
    /// a front-end.
    pub const fn out_channels(&self, input: usize) -> usize {
        let top = self.len as usize;
        if top == 0 || top > MAX_CONV {
            input
        } else {
            self.specs[top - 1].channels as usize
        }
    }

    /// The input channels of layer `l`: `input` for layer 0, the channels of the one below
    /// above it.
    pub fn layer_input(&self, l: usize, input: usize) -> usize {
        match l.checked_sub(1).and_then(|b| self.layers().get(b)) {
            Some(below) => usize::from(below.channels),
            None => input,
        }
    }

    /// Steps the recurrent stack reads for `t_len` input steps: `ceil(T / S)` per layer.
    pub fn steps_out(&self, t_len: usize) -> usize {
        self.layers()
            .iter()
            .fold(t_len, |t, s| t.div_ceil(usize::from(s.stride)))
    }

    /// `K · C_in` of layer `l` (reading `input` channels at layer 0): its window, and its
    /// ring of the last `K` inputs (saturating; 0 past the last layer).
    pub fn window(&self, l: usize, input: usize) -> usize {
        let k = self.layers().get(l).map_or(0, |s| usize::from(s.kernel));
        k.saturating_mul(self.layer_input(l, input))
    }

    /// Values of state a streamed front-end keeps: every layer's ring (saturating).
    pub fn rings_len(&self, input: usize) -> usize {
        (0..self.layers().len())
            .map(|l| self.window(l, input))
            .fold(0, usize::saturating_add)
    }

    /// Weights of layer `l` reading `input` channels at layer 0: `C · K · C_in + C`
    /// (saturating).
    pub fn layer_weights(&self, l: usize, input: usize) -> usize {
        self.layers().get(l).map_or(0, |s| {
            let c = usize::from(s.channels);
            c.saturating_mul(usize::from(s.kernel))
                .saturating_mul(self.layer_input(l, input))
                .saturating_add(c)
        })
    }

    /// Multiply-accumulates of the front-end over `t_len` input steps: each layer's
    /// `C · K · C_in` per output, times its outputs (saturating).
    pub fn macs(&self, t_len: usize, input: usize) -> u64 {
        let mut t = t_len as u64;
        let mut total = 0u64;
        for (l, s) in self.layers().iter().enumerate() {
            t = t.div_ceil(u64::from(s.stride));
            let per = u64::from(s.channels)
                .saturating_mul(u64::from(s.kernel))
                .saturating_mul(self.layer_input(l, input) as u64);
            total = total.saturating_add(per.saturating_mul(t));
        }
        total
    }

    /// The stack as the file stores it: 4 bytes per layer, kernel, stride, channels
    /// (little-endian `u16`); returns the used part of `buf`.
    pub fn encode<'b>(&self, buf: &'b mut [u8; 4 * MAX_CONV]) -> &'b [u8] {
        for (chunk, s) in buf.chunks_exact_mut(4).zip(self.layers()) {
            let [c0, c1] = s.channels.to_le_bytes();
            chunk.copy_from_slice(&[s.kernel, s.stride, c0, c1]);
        }
        buf.get(..4 * usize::from(self.len)).unwrap_or_default()
    }

    /// The stack a file's bytes describe ([`ConvStack::encode`]'s form):
    /// [`Error::Malformed`] for a length that is not a multiple of 4, otherwise the checks
    /// of [`ConvStack::new`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let (chunks, rest) = bytes.as_chunks::<4>();
        if !rest.is_empty() {
            return Err(Error::Malformed);
        }
        if chunks.len() > MAX_CONV {
            return Err(Error::InvalidModel {
                reason: "more than 4 convolutional layers",
            });
        }
        let mut specs = [ConvSpec::default(); MAX_CONV];
        for (s, c) in specs.iter_mut().zip(chunks) {
            *s = ConvSpec {
                kernel: c[0],
                stride: c[1],
                channels: u16::from_le_bytes([c[2], c[3]]),
            };
        }
        ConvStack::new(specs.get(..chunks.len()).unwrap_or_default())
    }
}

/// A model's convolutional layers, borrowed from the file, run one input step at a time.
#[derive(Debug, Clone, Copy)]
pub struct Conv<'a, W> {
    stack: ConvStack,
    input: usize,
    weights: [(&'a [W], &'a [W]); MAX_CONV],
}

impl<'a, W: Weight> Conv<'a, W> {
    /// Takes the layers' weights of `stack` (reading `input` channels) off the front of
    /// `rest`, in file order.
    pub(crate) fn take(rest: &mut &'a [W], stack: ConvStack, input: usize) -> Result<Self, Error> {
        let mut weights: [(&'a [W], &'a [W]); MAX_CONV] = [(&[], &[]); MAX_CONV];
        for (l, (slot, s)) in weights.iter_mut().zip(stack.layers()).enumerate() {
            let c = usize::from(s.channels);
            let w = take(rest, stack.layer_weights(l, input).saturating_sub(c))?;
            *slot = (w, take(rest, c)?);
        }
        Ok(Conv {
            stack,
            input,
            weights,
        })
    }

    /// The layers.
    pub fn stack(&self) -> ConvStack {
        self.stack
    }

    /// Floats of state [`Conv::step`] keeps between steps: the ring buffers, `K · C_in`
    /// per layer, zero at the start of a sequence.
    pub fn state_len(&self) -> usize {
        // `ConvStack::rings_len` computes the same; called here it made the M4F's
        // `opt-level = 3` float firmware with a front-end 1.1 KB larger.
        (0..self.stack.layers().len())
            .map(|l| {
                let k = usize::from(self.stack.layers()[l].kernel);
                k.saturating_mul(self.stack.layer_input(l, self.input))
            })
            .sum()
    }

    /// Floats of working space [`Conv::step`] needs: two layer outputs (none without a
    /// front-end).
    pub fn scratch_len(&self) -> usize {
        if self.stack.is_empty() {
            return 0;
        }
        let widest = self
            .stack
            .layers()
            .iter()
            .map(|s| usize::from(s.channels))
            .max()
            .unwrap_or(0);
        2 * widest.max(self.input)
    }

    /// Feeds input step `t` (counted from 0 since the state was zeroed; the caller counts)
    /// through every layer; when the last layer answers at this step, writes its output
    /// into `out` (its channels; checked only then) and returns `true`. `x` is a dense input (already
    /// normalised) or a token (one-hot). Wrong lengths are errors.
    pub fn step(
        &self,
        state: &mut [f32],
        t: usize,
        x: Input<'_>,
        scratch: &mut [f32],
        out: &mut [f32],
    ) -> Result<bool, Error> {
        self.step_probed(state, t, x, scratch, out, &mut |_, _| {})
    }

    /// [`Conv::step`], showing `probe` each layer's output (its index and channels) when
    /// the layer answers: the ranges a quantizer calibrates.
    pub(crate) fn step_probed(
        &self,
        state: &mut [f32],
        t: usize,
        x: Input<'_>,
        scratch: &mut [f32],
        out: &mut [f32],
        probe: &mut impl FnMut(usize, &[f32]),
    ) -> Result<bool, Error> {
        check_len(Dim::Hidden, self.state_len(), state.len())?;
        check_len(Dim::Work, self.scratch_len(), scratch.len())?;
        let (cur, next) = scratch.split_at_mut(scratch.len() / 2);
        // The input as a vector of C_in values in `cur`.
        let n0 = self.input;
        let row = cur.get_mut(..n0).ok_or(Error::Truncated)?;
        match x {
            Input::Dense(v) => {
                check_len(Dim::Input, n0, v.len())?;
                row.copy_from_slice(v);
            }
            Input::Token(k) => {
                if k >= n0 {
                    return Err(Error::TokenOutOfRange { token: k, len: n0 });
                }
                row.fill(0.0);
                if let Some(r) = row.get_mut(k) {
                    *r = 1.0;
                }
            }
            Input::Start => row.fill(0.0),
        }
        let (mut cur, mut next) = (cur, next);
        // Step index of the current layer's input, and the rings, layer after layer.
        let mut j = t;
        let mut rings = state;
        for (l, s) in self.stack.layers().iter().enumerate() {
            let (k, stride) = (usize::from(s.kernel), usize::from(s.stride));
            let (c_in, c_out) = (
                self.stack.layer_input(l, self.input),
                usize::from(s.channels),
            );
            let ring = push_ring(&mut rings, j, k, c_in, cur)?;
            if !j.is_multiple_of(stride) {
                return Ok(false);
            }
            let (w, b) = self.weights[l];
            let v = next.get_mut(..c_out).ok_or(Error::Truncated)?;
            for (o, v) in v.iter_mut().enumerate() {
                let mut acc = 0.0f32;
                // `k = 0` is the current step, `k = K - 1` the oldest.
                for back in 0..k.min(j + 1) {
                    let r = (j - back) % k;
                    let u = ring.get(r * c_in..(r + 1) * c_in).unwrap_or_default();
                    let wr = w
                        .get((o * k + back) * c_in..(o * k + back + 1) * c_in)
                        .unwrap_or_default();
                    for (w, u) in wr.iter().zip(u) {
                        acc += f(w) * *u;
                    }
                }
                let z = acc + b.get(o).map_or(0.0, f);
                *v = if z > 0.0 { z } else { 0.0 };
            }
            probe(l, v);
            core::mem::swap(&mut cur, &mut next);
            j /= stride;
        }
        let c = self.stack.out_channels(self.input);
        check_len(Dim::Output, c, out.len())?;
        out.copy_from_slice(cur.get(..c).ok_or(Error::Truncated)?);
        Ok(true)
    }
}

/// Takes a layer's ring (`k · c_in` values) off the front of `rings` and writes the layer's
/// input at step `j` (the first `c_in` values of `cur`) into its slot, `j mod k`; returns
/// the ring. The float and the integer front-end keep their state alike.
pub(crate) fn push_ring<'r, T: Copy>(
    rings: &mut &'r mut [T],
    j: usize,
    k: usize,
    c_in: usize,
    cur: &[T],
) -> Result<&'r mut [T], Error> {
    let (ring, rest) = core::mem::take(rings)
        .split_at_mut_checked(k * c_in)
        .ok_or(Error::Truncated)?;
    *rings = rest;
    let slot = j % k;
    ring.get_mut(slot * c_in..(slot + 1) * c_in)
        .ok_or(Error::Truncated)?
        .copy_from_slice(cur.get(..c_in).ok_or(Error::Truncated)?);
    Ok(ring)
}
