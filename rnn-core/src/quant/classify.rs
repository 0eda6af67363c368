//! Quantized whole-sequence models: the integer counterpart of [`crate::Classifier`] for
//! classifiers (one class per sequence) and for bidirectional taggers and regression
//! models (an answer at every step, from both directions). The recurrent stacks run in
//! integers; a dense sequence is normalised (per sequence, then by the file's statistics)
//! and quantized once before them, the only float work besides the outputs.

use core::marker::PhantomData;

use super::cell::{layer_step, matvec_q12, QInput, QLayer};
use super::conv::QConv;
use super::network::{check_quantized, quantize_input, quantize_value, take_stack, QStats};
use super::{f32_at, take_bytes, take_matrix, Kernel, Portable, QMatrix, H_FRAC};
use crate::classes::Classes;
use crate::classify::{channel_moments, AllStages, Stages, Steps};
use crate::conv::ConvStack;
use crate::error::{check_len, Dim, Error};
use crate::format::{Header, ModelView, Task, MAX_LAYERS};

const STACK: usize = MAX_LAYERS as usize;

/// What the stacks read: a sequence as a float classifier takes it, or dense steps
/// quantized already ([`QClassifier::quantize_step`]).
#[derive(Clone, Copy)]
enum Src<'x> {
    Steps(Steps<'x>),
    Quantized(&'x [i16]),
}

/// A quantized classifier, tagger or regression model of any cell kind, depth and
/// direction. Working memory: [`QClassifier::work_len`] `i16` and
/// [`QClassifier::scratch_len`] `i32`.
///
/// `L` is the most layers per direction it holds (4, the format's limit, by default), as
/// in [`super::network::QNetwork`]: a firmware sets it to its model's depth. `S` says which
/// optional stages are compiled in, as for the float [`crate::Classifier`]: with
/// [`crate::NoStages`] the front-end's and the per-sequence normalisation's code is left
/// out, and a model that needs them is refused when loaded.
#[derive(Debug, Clone, Copy)]
pub struct QClassifier<'a, K: Kernel = Portable, const L: usize = STACK, S: Stages = AllStages> {
    header: Header,
    stats: QStats<'a>,
    conv: QConv<'a>,
    stacks: [[Option<QLayer<'a>>; L]; 2],
    w_ya: QMatrix<'a>,
    b_y: &'a [u8],
    classes: Classes<'a>,
    /// Whether the input is dense vectors (an empty vocabulary), not symbols.
    dense: bool,
    kernel: PhantomData<K>,
    stages: PhantomData<S>,
}

impl<'a> QClassifier<'a> {
    /// The model of a parsed quantized file of any task but next-symbol prediction.
    pub fn from_view(view: &ModelView<'a>) -> Result<Self, Error> {
        Self::with_kernel(view)
    }
}

impl<'a, K: Kernel, const L: usize, S: Stages> QClassifier<'a, K, L, S> {
    /// Like [`QClassifier::from_view`], with a firmware's own [`Kernel`]. Inlined, so that a
    /// firmware builds the layer tables where they stay rather than copying them there.
    #[inline(always)]
    pub fn with_kernel(view: &ModelView<'a>) -> Result<Self, Error> {
        let header = view.header();
        if header.task == Task::Next {
            return Err(Error::WrongTask {
                expected: Task::Classify,
                found: header.task,
            });
        }
        let q = check_quantized::<K>(view)?;
        if (!S::CONV && !header.conv.is_empty())
            || (!S::SEQUENCE_NORM && header.sequence_normalized)
        {
            return Err(Error::InvalidModel {
                reason: "the model needs a stage this classifier was built without",
            });
        }
        let mut rest = view.weight_bytes();
        let stats = QStats::take(&mut rest, &header)?;
        let conv = if S::CONV {
            QConv::take(&mut rest, &header)?
        } else {
            QConv::none(&header)
        };
        let mut stacks = [[None; L]; 2];
        for stack in stacks.iter_mut().take(header.directions()) {
            *stack = take_stack(&mut rest, &header)?;
        }
        let o = header.output as usize;
        let w_ya = take_matrix(&mut rest, q.precision, o, header.head_input())?;
        let b_y = take_bytes(&mut rest, 4 * o)?;
        Ok(QClassifier {
            header,
            stats,
            conv,
            stacks,
            w_ya,
            b_y,
            classes: view.classes(),
            dense: view.vocab().is_empty(),
            kernel: PhantomData,
            stages: PhantomData,
        })
    }

    /// The file's header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The class (or target) names.
    pub fn classes(&self) -> Classes<'a> {
        self.classes
    }

    /// `O`.
    pub fn output_size(&self) -> usize {
        self.header.output as usize
    }

    fn dense(&self) -> bool {
        self.dense
    }

    /// `i16` of working memory for a sequence of `steps` steps: the quantized input of a
    /// dense model (the whole sequence when it is normalised per sequence or read in two
    /// directions, one step otherwise), one layer's state, the final states, and two
    /// sequences of layer outputs (when there is a layer above or every step is
    /// answered).
    pub fn work_len(&self, steps: usize) -> usize {
        self.x_len(Src::Steps(Steps::Dense(&[])), steps)
            .saturating_add(self.stack_work_len(steps))
    }

    /// `i16` of working memory for [`QClassifier::classify_quantized_input`]: as
    /// [`QClassifier::work_len`], without the room for quantizing the input.
    pub fn quantized_input_work_len(&self, steps: usize) -> usize {
        self.stack_work_len(steps)
    }

    /// The working memory of the stacks: one layer's state, the final states, the
    /// front-end's (its rings, scratch and output sequence), and two sequences of layer
    /// outputs (when there is a layer above or every step is answered).
    fn stack_work_len(&self, steps: usize) -> usize {
        let h = &self.header;
        let dh = h.head_input();
        let front = self.front();
        let t_len = if front.is_empty() {
            steps
        } else {
            front.steps_out(steps)
        };
        let sequences = if h.layers > 1 || h.task != Task::Classify {
            t_len.saturating_mul(2 * dh)
        } else {
            0
        };
        h.layer_state_len()
            .saturating_add(dh)
            .saturating_add(self.conv_work_len(t_len))
            .saturating_add(sequences)
    }

    /// The front-end's working memory for `t_len` outputs (none without one).
    fn conv_work_len(&self, t_len: usize) -> usize {
        if self.front().is_empty() {
            return 0;
        }
        let c = self.front().out_channels(self.header.input as usize);
        self.conv
            .state_len()
            .saturating_add(self.conv.scratch_len())
            .saturating_add(t_len.saturating_mul(c))
    }

    /// The room for the quantized input of `src` over `steps` steps: none for symbols or
    /// an input quantized already, one step or the whole sequence of a dense one.
    fn x_len(&self, src: Src<'_>, steps: usize) -> usize {
        let ni = self.header.input as usize;
        match src {
            Src::Quantized(_) => 0,
            Src::Steps(_) if !self.dense() => 0,
            Src::Steps(_) if self.quantize_whole() => steps.saturating_mul(ni),
            Src::Steps(_) => ni,
        }
    }

    /// One step of a dense input normalised with the file's statistics and quantized into
    /// `xq` (`I` values), exactly as [`QClassifier::classify`] quantizes it: so that a
    /// device can keep a sequence as `i16` as it arrives, half the room of `f32`, for
    /// [`QClassifier::classify_quantized_input`]. A model that normalises each sequence
    /// by its own statistics needs the whole sequence first: [`Error::InvalidModel`].
    pub fn quantize_step(&self, x: &[f32], xq: &mut [i16]) -> Result<(), Error> {
        let ni = self.header.input as usize;
        if !self.dense() || self.seq_normalized() {
            return Err(Error::InvalidModel {
                reason: "only a dense model without per-sequence normalisation quantizes steps",
            });
        }
        check_len(Dim::Input, ni, x.len())?;
        let (mean, scale) = (self.stats.mean(), self.stats.scale());
        quantize_input(x, mean, scale, self.header.quant.input_exp, xq)
    }

    /// [`QClassifier::classify`] of a dense sequence quantized already, step after step by
    /// [`QClassifier::quantize_step`] (`T · I` values): the same logits, bit for bit.
    pub fn classify_quantized_input(
        &self,
        xq: &[i16],
        work: &mut [i16],
        scratch: &mut [i32],
        logits: &mut [i32],
    ) -> Result<(), Error> {
        if self.header.task != Task::Classify {
            return Err(Error::WrongTask {
                expected: Task::Classify,
                found: self.header.task,
            });
        }
        check_len(Dim::Output, self.output_size(), logits.len())?;
        let (finals, _) = self.run(Src::Quantized(xq), work, scratch)?;
        self.head(finals, logits);
        Ok(())
    }

    /// `i32` of scratch a step needs (`G·H`, or the widest convolution's channels).
    pub fn scratch_len(&self) -> usize {
        let gh = self.header.cell.gates() * self.header.hidden as usize;
        if self.front().is_empty() {
            gh
        } else {
            gh.max(self.conv.sums_len())
        }
    }

    /// Classifies a whole sequence: `logits` (`O`) receives the class scores in Q12
    /// (greedy: the largest; [`super::network::logits_to_f32`] and
    /// [`crate::sample::softmax`] for probabilities).
    pub fn classify(
        &self,
        steps: Steps<'_>,
        work: &mut [i16],
        scratch: &mut [i32],
        logits: &mut [i32],
    ) -> Result<(), Error> {
        if self.header.task != Task::Classify {
            return Err(Error::WrongTask {
                expected: Task::Classify,
                found: self.header.task,
            });
        }
        check_len(Dim::Output, self.output_size(), logits.len())?;
        let (finals, _) = self.run(Src::Steps(steps), work, scratch)?;
        self.head(finals, logits);
        Ok(())
    }

    /// Runs a tagger or regression model over a whole sequence: `out` (`T · O`, step after
    /// step) receives each step's outputs in Q12 ([`QClassifier::outputs_to_f32`] for a
    /// regression's units).
    pub fn per_step(
        &self,
        steps: Steps<'_>,
        work: &mut [i16],
        scratch: &mut [i32],
        out: &mut [i32],
    ) -> Result<(), Error> {
        if !matches!(self.header.task, Task::Tag | Task::Regress) {
            return Err(Error::WrongTask {
                expected: Task::Tag,
                found: self.header.task,
            });
        }
        let t_len = self.steps_len(Src::Steps(steps))?;
        check_len(Dim::Output, t_len * self.output_size(), out.len())?;
        let (_, tops) = self.run(Src::Steps(steps), work, scratch)?;
        let dh = self.header.head_input();
        for (top, y) in tops
            .chunks_exact(dh)
            .zip(out.chunks_exact_mut(self.output_size()))
        {
            self.head(top, y);
        }
        Ok(())
    }

    /// Q12 outputs as `f32`, in a regression model's target units.
    pub fn outputs_to_f32(&self, q: &[i32], out: &mut [f32]) {
        self.stats.outputs(q, out);
    }

    fn head(&self, top: &[i16], out: &mut [i32]) {
        matvec_q12::<K>(&self.w_ya, top, H_FRAC, self.b_y, out);
    }

    fn steps_len(&self, src: Src<'_>) -> Result<usize, Error> {
        let ni = self.header.input as usize;
        let t_len = match src {
            Src::Quantized(values) => {
                if !self.dense() || self.seq_normalized() || values.len() % ni.max(1) != 0 {
                    return Err(Error::BufferLength {
                        dim: Dim::Input,
                        expected: ni * (values.len() / ni.max(1) + 1),
                        found: values.len(),
                    });
                }
                values.len() / ni.max(1)
            }
            Src::Steps(Steps::Tokens(tokens)) => {
                if self.dense() {
                    return Err(Error::BufferLength {
                        dim: Dim::Input,
                        expected: ni,
                        found: 1,
                    });
                }
                if let Some(&t) = tokens.iter().find(|&&t| usize::from(t) >= ni) {
                    return Err(Error::TokenOutOfRange {
                        token: usize::from(t),
                        len: ni,
                    });
                }
                tokens.len()
            }
            Src::Steps(Steps::Dense(values)) => {
                if !self.dense() || values.len() % ni.max(1) != 0 {
                    return Err(Error::BufferLength {
                        dim: Dim::Input,
                        expected: ni * (values.len() / ni.max(1) + 1),
                        found: values.len(),
                    });
                }
                values.len() / ni.max(1)
            }
        };
        if t_len == 0 {
            return Err(Error::EmptySequence);
        }
        Ok(t_len)
    }

    /// The stacks over a whole sequence (after the front-end, if the model has one): the
    /// final states `[h_{T-1}; g_0]` and the top layer's outputs at every step (empty for
    /// a one-layer classifier).
    fn run<'w>(
        &self,
        src: Src<'_>,
        work: &'w mut [i16],
        scratch: &mut [i32],
    ) -> Result<(&'w [i16], &'w [i16]), Error> {
        let h = &self.header;
        let (hid, dh) = (h.hidden as usize, h.head_input());
        let t_in = self.steps_len(src)?;
        let front = self.front();
        let t_len = if front.is_empty() {
            t_in
        } else {
            front.steps_out(t_in)
        };
        let x_len = self.x_len(src, t_in);
        let needed = x_len.saturating_add(self.stack_work_len(t_in));
        let found = work.len();
        let work = work.get_mut(..needed).ok_or(Error::BufferLength {
            dim: Dim::Work,
            expected: needed,
            found,
        })?;
        check_len(Dim::Work, self.scratch_len(), scratch.len())?;
        let gh = h.cell.gates() * hid;
        let (xq, rest) = work.split_at_mut(x_len);
        let (state, rest) = rest.split_at_mut(h.layer_state_len());
        let (finals, rest) = rest.split_at_mut(dh);
        let (conv_area, rest) = rest.split_at_mut(self.conv_work_len(t_len));
        let (mut below, mut above) = rest.split_at_mut(rest.len() / 2);
        if let (Src::Steps(Steps::Dense(values)), true) = (src, self.quantize_whole()) {
            self.quantize_sequence(values, xq);
        }
        // The front-end first, over the whole sequence: what the first layer reads.
        let c = front.out_channels(h.input as usize);
        let conv_out: &[i16] = if front.is_empty() {
            &[]
        } else {
            let (conv_state, rest) = conv_area
                .split_at_mut_checked(self.conv.state_len())
                .ok_or(Error::Truncated)?;
            let (conv_scratch, conv_out) = rest
                .split_at_mut_checked(self.conv.scratch_len())
                .ok_or(Error::Truncated)?;
            conv_state.fill(0);
            let sums = scratch
                .get_mut(..self.conv.sums_len())
                .ok_or(Error::Truncated)?;
            let mut j = 0;
            for t in 0..t_in {
                let x = self.first_input(src, t, xq)?;
                let out = conv_out.get_mut(j * c..(j + 1) * c).unwrap_or_default();
                if self
                    .conv
                    .step::<K>(conv_state, t, x, conv_scratch, sums, out)?
                {
                    j += 1;
                }
            }
            conv_out
        };
        let conv_frac = self.conv.out_frac();
        let scratch = scratch.get_mut(..gh).ok_or(Error::Truncated)?;
        let keep_top = h.task != Task::Classify;
        for l in 0..usize::from(h.layers) {
            let keep = keep_top || l + 1 < usize::from(h.layers);
            for (dir, stack) in self.stacks.iter().enumerate().take(h.directions()) {
                let Some(layer) = stack.get(l).copied().flatten() else {
                    return Err(Error::Truncated);
                };
                let c_frac = u32::from(h.quant.cell_exp[l * h.directions() + dir]);
                state.fill(0);
                for k in 0..t_len {
                    let t = if dir == 0 { k } else { t_len - 1 - k };
                    let x = if l > 0 {
                        QInput::Dense(below.get(t * dh..(t + 1) * dh).unwrap_or_default(), H_FRAC)
                    } else if !front.is_empty() {
                        QInput::Dense(
                            conv_out.get(t * c..(t + 1) * c).unwrap_or_default(),
                            conv_frac,
                        )
                    } else {
                        self.first_input(src, t, xq)?
                    };
                    layer_step::<K>(h.cell, &layer, state, x, c_frac, scratch);
                    if keep {
                        let out = above.get_mut(t * dh + dir * hid..t * dh + (dir + 1) * hid);
                        for (o, s) in out.unwrap_or_default().iter_mut().zip(state.iter()) {
                            *o = *s;
                        }
                    }
                }
                if l + 1 == usize::from(h.layers) {
                    let out = finals
                        .get_mut(dir * hid..(dir + 1) * hid)
                        .unwrap_or_default();
                    for (o, s) in out.iter_mut().zip(state.iter()) {
                        *o = *s;
                    }
                }
            }
            core::mem::swap(&mut below, &mut above);
        }
        let tops = if keep_top {
            below.get(..t_len * dh).unwrap_or_default()
        } else {
            &below[..0]
        };
        Ok((finals, tops))
    }

    /// Step `t` of the input as the first layer (convolutional or recurrent) reads it: a
    /// token, a step quantized already (in `src`, or in `xq` when the sequence was
    /// quantized whole), or a dense step quantized now into `xq`.
    fn first_input<'x>(
        &self,
        src: Src<'x>,
        t: usize,
        xq: &'x mut [i16],
    ) -> Result<QInput<'x>, Error> {
        let h = &self.header;
        let (ni, x_frac) = (h.input as usize, u32::from(h.quant.input_exp));
        Ok(match src {
            Src::Quantized(values) => {
                QInput::Dense(values.get(t * ni..(t + 1) * ni).unwrap_or_default(), x_frac)
            }
            Src::Steps(Steps::Tokens(tokens)) => {
                QInput::Token(tokens.get(t).map_or(0, |&v| usize::from(v)))
            }
            Src::Steps(Steps::Dense(_)) if self.quantize_whole() => {
                QInput::Dense(xq.get(t * ni..(t + 1) * ni).unwrap_or_default(), x_frac)
            }
            Src::Steps(Steps::Dense(values)) => {
                let v = values.get(t * ni..(t + 1) * ni).unwrap_or_default();
                let (mean, scale) = (self.stats.mean(), self.stats.scale());
                quantize_input(v, mean, scale, h.quant.input_exp, xq)?;
                QInput::Dense(xq, x_frac)
            }
        })
    }

    /// The front-end, when compiled in (a constant `NONE` otherwise, so that its code goes).
    fn front(&self) -> ConvStack {
        if S::CONV {
            self.conv.stack()
        } else {
            ConvStack::NONE
        }
    }

    /// Whether each sequence is normalised by its own statistics, when compiled in.
    fn seq_normalized(&self) -> bool {
        S::SEQUENCE_NORM && self.header.sequence_normalized
    }

    /// Whether a dense sequence is quantized whole before the stacks run, rather than one
    /// step at a time as the first layer reads it. Whole when the sequence is normalised
    /// by its own statistics (they need all of it first) and when two directions read
    /// each step (once, not twice: on a chip without an FPU the float work of quantizing
    /// costs about as much as the step); one step at a time otherwise, which keeps `I`
    /// values of working memory instead of `T · I`. A front-end reads each step once, in
    /// either direction.
    fn quantize_whole(&self) -> bool {
        let h = &self.header;
        self.seq_normalized() || (h.bidirectional && self.front().is_empty())
    }

    /// A dense sequence normalised (by its own statistics, then the file's) and quantized,
    /// channel by channel.
    fn quantize_sequence(&self, values: &[f32], xq: &mut [i16]) {
        let h = &self.header;
        let ni = (h.input as usize).max(1);
        let (means, scales) = (self.stats.mean(), self.stats.scale());
        for c in 0..ni {
            let (m, s) = if self.seq_normalized() {
                channel_moments(values, ni, c)
            } else {
                (0.0, 1.0)
            };
            let (mean, scale) = if means.is_empty() {
                (0.0, 1.0)
            } else {
                (f32_at(means, c), f32_at(scales, c))
            };
            let column = values.iter().skip(c).step_by(ni);
            for (q, &v) in xq.iter_mut().skip(c).step_by(ni).zip(column) {
                let v = if self.seq_normalized() {
                    (v - m) * s
                } else {
                    v
                };
                let v = if means.is_empty() {
                    v
                } else {
                    (v - mean) * scale
                };
                *q = quantize_value(v, h.quant.input_exp);
            }
        }
    }
}
