//! Classify mode: built when the embedded model is a classifier (any cell kind, 1 to 4
//! layers, one or two directions). A model with a vocabulary answers each line (a word)
//! with its class; a model of dense vectors reads one vector of `I` comma-separated
//! numbers per line, and an empty line ends the sequence and gets the answer. The answer
//! is the most likely class's name and its softmax probability with four decimals.
//!
//! The sequence is kept in `rnn-core`'s fixed-capacity buffer ([`TokenBuffer`] or
//! [`DenseBuffer`] of [`MAX_STEPS`] steps); a longer one is the buffer's typed
//! [`rnn_core::Error::SequenceTooLong`]. The weights are read from flash in place
//! ([`Classifier::with_stages`]: without the front-end's and the per-sequence
//! normalisation's code when the build's model has neither, `model::Stages`).
//!
//! A quantized classifier (format versions 3 and 4, `cfg(rnn_quantized)`) runs through
//! `rnn-core`'s [`rnn_core::QClassifier`] with the board's integer kernel (`crate::QK`):
//! the same lines, the same answers. The class is the largest integer logit; the only
//! float work is at the edges, the dense input's normalisation and quantization (inside
//! `QClassifier`, or as each vector arrives for a model without per-sequence
//! normalisation, `cfg(rnn_prequantized)`) and the printed probability (the Q12 logits as
//! `f32`, then softmax).
//! The float path's code is kept as it was (the quantized one beside it under `cfg`):
//! sharing a function between them moved `rnn-core`'s inlining and cost the float dense
//! classifier 400-740 bytes.

use cortex_m::peripheral::SYST;
#[cfg(not(rnn_quantized))]
use rnn_core::sample::argmax;
use rnn_core::sample::softmax;
#[cfg(all(rnn_classify_dense, not(rnn_prequantized)))]
use rnn_core::DenseBuffer;
#[cfg(not(rnn_classify_dense))]
use rnn_core::TokenBuffer;
use rnn_core::{check_len, CellKind, Dim, ModelView, Rng, Text, Vocab};

use crate::decimal::per_ten_thousand;
#[cfg(rnn_classify_dense)]
use crate::vector::parse_vector;
use crate::{measure, model, msg, BootError, Mode, Out};

const I: usize = model::I;
const H: usize = model::H;
const O: usize = model::O;
const CELL: CellKind = model::CELL;
const LAYERS: usize = model::LAYERS;
const DIRECTIONS: usize = model::DIRECTIONS;
const MAX_STEPS: usize = model::MAX_STEPS;
const WORK_LEN: usize = model::WORK_LEN;
#[cfg(rnn_quantized)]
const SCRATCH_LEN: usize = model::SCRATCH_LEN;

/// A float classifier: `rnn-core`'s `Classifier` over the weights in flash, with the
/// optional stages the build's model needs, built for the model's depth (no empty slots
/// in the layer table it keeps in RAM).
#[cfg(not(rnn_quantized))]
type Model = rnn_core::Classifier<'static, crate::W, model::Stages, LAYERS>;
/// A quantized classifier: `rnn-core`'s integer stacks, the weight rows read from flash in
/// place, the dot products through the board's kernel.
#[cfg(rnn_quantized)]
/// Built for the model's depth: no empty slots in the layer table it keeps in RAM.
type Model = rnn_core::QClassifier<'static, crate::QK, LAYERS, model::Stages>;

/// Working memory: `f32`s of `Classifier::work_len`, or `i16`s of
/// `QClassifier::work_len` (4-aligned for the M4F kernel).
#[cfg(not(rnn_quantized))]
type Work = [f32; WORK_LEN];
#[cfg(rnn_quantized)]
type Work = crate::Words<[i16; WORK_LEN]>;

/// A quantized classifier's integer buffers: its scratch and the Q12 logits.
#[cfg(rnn_quantized)]
struct IntBuffers {
    scratch: [i32; SCRATCH_LEN],
    logits: [i32; O],
}

/// Classifies `sequence` in integers: the largest Q12 logit (the first on a tie), then the
/// logits as `f32` (exact) into `probabilities` and their softmax.
#[cfg(rnn_quantized)]
fn classify_quantized(
    classifier: &Model,
    sequence: &Sequence,
    work: &mut Work,
    int: &mut IntBuffers,
    probabilities: &mut [f32; O],
) -> Result<usize, rnn_core::Error> {
    let (work, scratch, logits) = (&mut work.0, &mut int.scratch, &mut int.logits);
    #[cfg(rnn_prequantized)]
    classifier.classify_quantized_input(sequence.values(), work, scratch, logits)?;
    #[cfg(not(rnn_prequantized))]
    classifier.classify(sequence.steps(), work, scratch, logits)?;
    let k = rnn_core::sample::argmax_i32(&int.logits);
    classifier.outputs_to_f32(&int.logits, probabilities);
    softmax(probabilities);
    Ok(k)
}

/// The sequence being received: dense vectors of `I` channels.
#[cfg(all(rnn_classify_dense, not(rnn_prequantized)))]
type Sequence = DenseBuffer<MAX_STEPS, I>;

/// The sequence being received by a quantized dense classifier without per-sequence
/// normalisation (`cfg(rnn_prequantized)`): each vector normalised and quantized as it
/// arrives (`QClassifier::quantize_step`, the rounding `classify` does), so the sequence
/// takes `i16`s, half the room of `f32`s, and the working memory needs no quantized copy
/// of it.
#[cfg(rnn_prequantized)]
struct Sequence {
    steps: crate::Words<[[i16; I]; MAX_STEPS]>,
    len: usize,
}

#[cfg(rnn_prequantized)]
impl Sequence {
    const fn new() -> Self {
        Sequence {
            steps: crate::Words([[0; I]; MAX_STEPS]),
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Quantizes `x` into the next step, or `SequenceTooLong` as `DenseBuffer` says it.
    fn push(&mut self, classifier: &Model, x: [f32; I]) -> Result<(), rnn_core::Error> {
        let step = self
            .steps
            .0
            .get_mut(self.len)
            .ok_or(rnn_core::Error::SequenceTooLong {
                capacity: MAX_STEPS,
            })?;
        classifier.quantize_step(&x, step)?;
        self.len += 1;
        Ok(())
    }

    /// The steps so far, one after the other.
    fn values(&self) -> &[i16] {
        self.steps
            .0
            .get(..self.len)
            .unwrap_or_default()
            .as_flattened()
    }
}

/// The sequence being received: the symbols of one word.
#[cfg(not(rnn_classify_dense))]
type Sequence = TokenBuffer<MAX_STEPS>;

/// The buffers that grow with the model and `MAX_STEPS`, in static RAM from the start
/// ([`BUFFERS`], `take_static!`): never built on the stack and moved, which would need
/// their size twice over in the boot's frame (with a long `MAX_STEPS` more RAM than the
/// board has).
pub struct Buffers {
    work: Work,
    #[cfg(rnn_quantized)]
    int: IntBuffers,
}

impl Buffers {
    const ZERO: Buffers = Buffers {
        #[cfg(not(rnn_quantized))]
        work: [0.0; WORK_LEN],
        #[cfg(rnn_quantized)]
        work: crate::Words([0; WORK_LEN]),
        #[cfg(rnn_quantized)]
        int: IntBuffers {
            scratch: [0; SCRATCH_LEN],
            logits: [0; O],
        },
    };
}

/// The classifier's buffers, taken once by [`App::boot`].
static mut BUFFERS: Buffers = Buffers::ZERO;

/// A quantized dense sequence, in static RAM as [`BUFFERS`] (taken with it). `rnn-core`'s
/// float and symbol buffers stay in `App` (which moves into static RAM whole after the
/// boot): written through a reference to a static, a float vector's push there linked a
/// 1.3 KB `memmove` on the Cortex-M0.
#[cfg(rnn_prequantized)]
static mut SEQUENCE: Sequence = Sequence::new();

/// Where `App` keeps its sequence: in it, or (the quantized dense one) in [`SEQUENCE`].
#[cfg(not(rnn_prequantized))]
type SequenceSlot = Sequence;
#[cfg(rnn_prequantized)]
type SequenceSlot = &'static mut Sequence;

/// Everything the protocol remembers between two lines.
pub struct App {
    classifier: Model,
    vocab: Vocab<'static>,
    syst: SYST,
    /// The sequence received so far.
    sequence: SequenceSlot,
    buffers: &'static mut Buffers,
    /// Dense input: the sequence being received already had its error; its remaining
    /// lines are dropped up to the empty line that ends it.
    #[cfg(rnn_classify_dense)]
    failed: bool,
    /// The logits (as `f32`, from the Q12 ones when quantized), then their softmax.
    logits: [f32; O],
}

impl Mode for App {
    const HELP: &'static str = HELP;
    const COMMANDS: &'static str = "/classes, ";

    // Inlined when quantized: the integer layer tables are then built where they stay.
    #[cfg_attr(rnn_quantized, inline(always))]
    fn boot(syst: SYST) -> Result<Self, BootError> {
        let view = ModelView::parse_for::<crate::Models>(&model::MODEL.0)?;
        crate::check_arch(&view)?;
        let dense = view.vocab().is_empty();
        if dense != model::DENSE {
            return Err(BootError::InputKind { dense });
        }
        #[cfg(not(rnn_quantized))]
        let classifier = Model::with_stages(&view, crate::weight_words(&view))?;
        #[cfg(rnn_quantized)]
        let classifier = Model::with_kernel(&view)?;
        // Equal whenever the checks above hold and the model's convolutional front-end is
        // the build's. `check_built_for` does not compare front-ends: a build without one
        // (`NoStages`) refuses a model with one in `with_stages`, and another front-end is
        // refused here, as a working memory of another length. Checked so that no
        // sequence can fail for want of working memory.
        #[cfg(not(rnn_prequantized))]
        check_len(Dim::Work, classifier.work_len(MAX_STEPS), WORK_LEN)?;
        #[cfg(rnn_prequantized)]
        check_len(
            Dim::Work,
            classifier.quantized_input_work_len(MAX_STEPS),
            WORK_LEN,
        )?;
        #[cfg(rnn_quantized)]
        check_len(Dim::Work, classifier.scratch_len(), SCRATCH_LEN)?;
        let buffers = take_static!(BUFFERS).ok_or(BootError::StateTaken)?;
        #[cfg(rnn_prequantized)]
        let sequence = take_static!(SEQUENCE).ok_or(BootError::StateTaken)?;
        #[cfg(not(rnn_prequantized))]
        let sequence = Sequence::new();
        Ok(App {
            classifier,
            vocab: view.vocab(),
            syst,
            sequence,
            buffers,
            #[cfg(rnn_classify_dense)]
            failed: false,
            logits: [0.0; O],
        })
    }

    fn banner(&self, out: &mut Out) {
        out.str("task=classify cell=");
        out.str(CELL.name());
        out.str(" layers=");
        out.uint(LAYERS as u64);
        out.str(" directions=");
        out.uint(DIRECTIONS as u64);
        out.str(" input=");
        out.uint(I as u64);
        out.str(" hidden=");
        out.uint(H as u64);
        out.str(" output=");
        out.uint(O as u64);
        out.str(" vocab=");
        out.uint(self.vocab.len() as u64);
        out.str(" normalized=");
        out.uint(model::NORMALIZED.into());
        out.str(" max_steps=");
        out.uint(MAX_STEPS as u64);
        // Float banners stay as they were; a quantized model names its weights' type.
        #[cfg(rnn_quantized)]
        {
            out.str(" weights=");
            out.str(model::PRECISION.name());
        }
    }

    /// A word: classified at once.
    #[cfg(not(rnn_classify_dense))]
    fn input(&mut self, word: &str, out: &mut Out) {
        self.sequence.clear();
        for c in word.chars() {
            let pushed = self
                .vocab
                .index_of(c)
                .and_then(|token| self.sequence.push(token));
            if let Err(e) = pushed {
                out.error(&e);
                return;
            }
        }
        self.classify(out);
    }

    /// A vector of the sequence, or the empty line that ends it.
    #[cfg(rnn_classify_dense)]
    // `&mut self.sequence`: a reference to the buffer in quantized dense builds (a
    // `SequenceSlot`), the buffer itself in the others.
    #[cfg_attr(rnn_prequantized, allow(clippy::needless_borrow))]
    fn input(&mut self, line: &str, out: &mut Out) {
        if line.is_empty() {
            if !core::mem::take(&mut self.failed) {
                self.classify(out);
            }
            self.sequence.clear();
            return;
        }
        if self.failed {
            return;
        }
        let mut x = [0.0f32; I];
        #[cfg(rnn_prequantized)]
        let push = |sequence: &mut Sequence, x| sequence.push(&self.classifier, x);
        #[cfg(not(rnn_prequantized))]
        let push = |sequence: &mut Sequence, x| sequence.push(x);
        let pushed = match parse_vector(line, &mut x) {
            Ok(()) => push(&mut self.sequence, x).map_err(|e| out.error(&e)),
            Err(e) => {
                e.write_to(out);
                Err(())
            }
        };
        if pushed.is_err() {
            self.failed = true;
            self.sequence.clear();
        }
    }

    /// A dropped line belongs to a dense sequence: its first error only.
    #[cfg(rnn_classify_dense)]
    fn dropped(&mut self) -> bool {
        if core::mem::replace(&mut self.failed, true) {
            return false;
        }
        self.sequence.clear();
        true
    }

    fn command(&mut self, name: &str, arg: Option<&str>, _extra: bool, out: &mut Out) -> bool {
        match (name, arg) {
            ("classes", None) => {
                out.str("classes:");
                for (k, name) in self.classifier.classes().iter().enumerate() {
                    out.str(if k == 0 { " " } else { ", " });
                    out.str(name);
                }
                out.byte(b'\n');
            }
            ("classes", Some(_)) => crate::takes_no_argument(name, out),
            _ => return false,
        }
        true
    }

    /// Measures the instructions to classify a sequence of 1 and of [`MAX_STEPS`] steps
    /// (classifier, softmax and argmax), on inputs drawn from a fixed seed. The inputs go
    /// through the protocol's own sequence buffer (a second one, on the stack, would double
    /// the RAM that grows with `MAX_STEPS`), so a dense classifier measures only between
    /// sequences and refuses while one is being received.
    fn bench(&mut self, out: &mut Out) {
        #[cfg(rnn_classify_dense)]
        if !self.sequence.is_empty() {
            out.line(msg::BENCH_IN_SEQUENCE);
            return;
        }
        let mut counts = [0u64; 2];
        for (count, steps) in counts.iter_mut().zip([1, MAX_STEPS]) {
            let sequence = &mut self.sequence;
            sequence.clear();
            let mut rng = Rng::new(1);
            for _ in 0..steps {
                #[cfg(rnn_classify_dense)]
                let pushed = {
                    let mut x = [0.0f32; I];
                    x.iter_mut().for_each(|v| *v = rng.next_f32() * 2.0 - 1.0);
                    #[cfg(rnn_prequantized)]
                    let pushed = sequence.push(&self.classifier, x);
                    #[cfg(not(rnn_prequantized))]
                    let pushed = sequence.push(x);
                    pushed
                };
                #[cfg(not(rnn_classify_dense))]
                // The high 32 bits, so that the remainder is a 32-bit one (a 64-bit
                // division would link 900 bytes of library code on the Cortex-M0).
                let pushed = sequence.push(((rng.next_u64() >> 32) as u32 % I as u32) as usize);
                if pushed.is_err() {
                    break;
                }
            }
            let (classifier, work, logits) =
                (&self.classifier, &mut self.buffers.work, &mut self.logits);
            #[cfg(rnn_quantized)]
            let int = &mut self.buffers.int;
            let ticks = measure::ticks(&mut self.syst, || {
                #[cfg(not(rnn_quantized))]
                let _ = classifier.classify(sequence.steps(), work, logits);
                #[cfg(not(rnn_quantized))]
                let k = argmax(logits);
                #[cfg(not(rnn_quantized))]
                softmax(logits);
                #[cfg(rnn_quantized)]
                let k = classify_quantized(classifier, sequence, work, int, logits).ok();
                core::hint::black_box((k, &logits));
            });
            sequence.clear();
            let Some(ticks) = ticks else {
                out.line(msg::BENCH_NO_COUNT);
                return;
            };
            *count = measure::instructions(ticks, crate::board::CLOCK_HZ);
        }
        let [one, full] = counts;
        let macs = MACS_PER_STEP;
        let per_step = measure::div(full.saturating_sub(one), (MAX_STEPS as u64 - 1).max(1));
        // With a front-end a further input step is not a recurrent step (the strides
        // leave fewer) and adds the convolutions' MACs: the cost per MAC is the further
        // steps' instructions over their MACs, from `rnn-core`'s count per sequence.
        let [seq_one, seq_full] = model::MACS_PER_SEQUENCE;
        let per_mac = if CONV {
            measure::div(
                full.saturating_sub(one) * 100,
                seq_full.saturating_sub(seq_one).max(1),
            )
        } else {
            measure::div(per_step * 100, macs)
        };
        out.str("bench: classify 1 step ");
        out.uint(one);
        out.str(" instructions, ");
        out.uint(MAX_STEPS as u64);
        out.str(" steps ");
        out.uint(full);
        out.str(" instructions (");
        out.uint(per_step);
        out.str(" per further step, ");
        out.fixed(per_mac, 2);
        out.str(" per MAC), ");
        out.uint(macs);
        out.str(" MACs/step (");
        out.str(CELL.name());
        for (key, value) in [
            (" L=", LAYERS),
            (" D=", DIRECTIONS),
            (" I=", I),
            (" H=", H),
            (" O=", O),
        ] {
            out.str(key);
            out.uint(value as u64);
        }
        out.str(if model::DENSE {
            ", dense input"
        } else {
            ", one-hot input"
        });
        if CONV {
            // `front-end K:C:S,…` as rnn-train's `--conv` writes it, and the MACs of the
            // two sequences measured, front-end and output layer included.
            out.str(", front-end ");
            for (k, spec) in model::HEADER.conv.layers().iter().enumerate() {
                if k > 0 {
                    out.str(",");
                }
                for (n, value) in [spec.kernel.into(), spec.channels, spec.stride.into()]
                    .into_iter()
                    .enumerate()
                {
                    if n > 0 {
                        out.str(":");
                    }
                    out.uint(value.into());
                }
            }
            out.str(", ");
            out.uint(seq_one);
            out.str(" and ");
            out.uint(seq_full);
            out.str(" MACs per sequence");
        }
        out.str(")");
        crate::bench_clock(out);
    }
}

impl App {
    /// Classifies the sequence and answers the class's name and probability.
    // `&mut self.sequence`: a reference to the buffer in quantized dense builds (a
    // `SequenceSlot`), the buffer itself in the others.
    #[cfg_attr(rnn_prequantized, allow(clippy::needless_borrow))]
    fn classify(&mut self, out: &mut Out) {
        #[cfg(not(rnn_quantized))]
        let result = self.classifier.classify(
            self.sequence.steps(),
            &mut self.buffers.work,
            &mut self.logits,
        );
        #[cfg(not(rnn_quantized))]
        if let Err(e) = result {
            out.error(&e);
            return;
        }
        #[cfg(not(rnn_quantized))]
        let k = argmax(&self.logits);
        #[cfg(not(rnn_quantized))]
        softmax(&mut self.logits);
        #[cfg(rnn_quantized)]
        let k = match classify_quantized(
            &self.classifier,
            &self.sequence,
            &mut self.buffers.work,
            &mut self.buffers.int,
            &mut self.logits,
        ) {
            Ok(k) => k,
            Err(e) => {
                out.error(&e);
                return;
            }
        };
        let p = per_ten_thousand(self.logits.get(k).copied().unwrap_or(0.0));
        match self.classifier.classes().name(k) {
            Some(name) => {
                out.str(name);
                out.str(" ");
                out.fixed(p.into(), 4);
                out.byte(b'\n');
            }
            None => {
                out.str("error: the model has no name for class ");
                out.uint(k as u64);
                out.byte(b'\n');
            }
        }
    }
}

#[cfg(rnn_classify_dense)]
const HELP: &str = "a line is one vector of comma-separated numbers, an empty line ends \
                    the sequence and classifies it";
#[cfg(not(rnn_classify_dense))]
const HELP: &str = "a line is a word to classify (start it with // to begin with /)";

/// Multiply-accumulates of one step of the whole sequence (both directions, every layer),
/// as `rnn-core` counts them ([`rnn_core::Header::macs_per_step`]): per direction, layer 0
/// does `G·H·H` recurrent MACs plus `G·H·I` for a dense input or `G·H` for a one-hot one
/// (one weight added per row), each further layer `G·H·H` recurrent plus `G·H·D·H` for its
/// input (both directions of the layer below). The output layer (`O·D·H`, once per
/// sequence) and the normalisation are not counted.
const MACS_PER_STEP: u64 = model::HEADER.macs_per_step(!model::DENSE);

/// The model has a convolutional front-end (before the recurrent stack).
const CONV: bool = !model::HEADER.conv.is_empty();
