//! Stream mode: built when the embedded model is a tagger or a regression model (header
//! task `tag` or `regress`; one direction, any cell kind, 1 to 4 layers) of dense
//! vectors. Every line is one step's input, `I` comma-separated numbers; the firmware
//! steps the model at once and answers the step's class and its probability (tagging:
//! `walk p=0.9731`) or its `O` values in the targets' units (regression:
//! `1.2345,-0.5000`). The recurrent state is kept from line to line — a stream, such as a
//! sensor's samples — until `/reset` sets it back to zero for a new recording.
//!
//! The model runs through `rnn-core`'s [`Stream`], the weights read from flash in place
//! ([`Stream::for_depth`]); the input normalisation and a regression model's target
//! statistics are applied inside it. A line that is not a vector (a malformed number, the
//! wrong number of values, too long, non-ASCII) is answered with one `error:` line and
//! leaves the state as it was.
//!
//! A quantized tagger or regression model (format version 3, `cfg(rnn_quantized)`) runs
//! through `rnn-core`'s [`rnn_core::QNetwork`] with the board's integer kernel
//! (`crate::QK`): the same lines, the same answers. The float work is at the edges only:
//! the input vector normalised and quantized (`QNetwork::step_input`), the Q12 outputs as
//! `f32` in the targets' units (`QNetwork::outputs_to_f32`) and a tag's probability; the
//! tag itself is the largest integer output.

use cortex_m::peripheral::SYST;
use rnn_core::sample::top;
use rnn_core::{check_len, CellKind, Classes, Dim, Error, Input, ModelView, Rng, Task, Text};

use crate::decimal::{per_ten_thousand, write_f32};
use crate::vector::parse_vector;
use crate::{board, measure, model, msg, BootError, Mode, Out};

const I: usize = model::I;
const H: usize = model::H;
const O: usize = model::O;
const CELL: CellKind = model::CELL;
const LAYERS: usize = model::LAYERS;
const STATE_LEN: usize = model::STATE_LEN;
const SCRATCH_LEN: usize = model::SCRATCH_LEN;

/// A tagger (a class at every step), else a regression model (`O` values at every step).
const TAG: bool = matches!(model::TASK, Task::Tag);
/// The command that lists the outputs' names: the classes, or the targets.
const NAMES: &str = if TAG { "classes" } else { "targets" };
/// Decimals of a regression model's values (as Rust's `{:.4}` prints them).
const DECIMALS: u32 = 4;
/// Steps measured by `/bench`.
const BENCH_STEPS: u32 = 16;

/// Multiply-accumulates of one step with a dense input, as `rnn-core` counts them
/// ([`rnn_core::Header::macs_per_step`]): layer 0 does `G·H·H` recurrent MACs plus `G·H·I`
/// for its input, each further layer `G·H·H` plus `G·H·H`, and the output layer `O·H` at
/// every step. The normalisation, activations, gate products, bias adds and a regression
/// model's target scaling are not counted.
const MACS: u64 = model::HEADER.macs_per_step(false);

/// A float model: `rnn-core`'s `Stream` over the weights in flash, built for the model's
/// depth (no empty slots in its table of layers).
#[cfg(not(rnn_quantized))]
type Model = rnn_core::Stream<'static, crate::W, LAYERS>;
/// A quantized model: `rnn-core`'s integer stack, the weight rows read from flash in
/// place, the dot products through the board's kernel.
#[cfg(rnn_quantized)]
/// Built for the model's depth: no empty slots in the layer table it keeps in RAM.
type Model = rnn_core::QNetwork<'static, crate::QK, LAYERS>;

/// The recurrent state and the working memory of a step.
struct Buffers {
    /// The recurrent state after the last step (zero at boot and after `/reset`): `f32`,
    /// or `i16` in Q15 (an LSTM's cell state in its calibrated format) when quantized.
    #[cfg(not(rnn_quantized))]
    state: [f32; STATE_LEN],
    #[cfg(rnn_quantized)]
    state: crate::Words<[i16; STATE_LEN]>,
    #[cfg(not(rnn_quantized))]
    scratch: [f32; SCRATCH_LEN],
    #[cfg(rnn_quantized)]
    scratch: [i32; SCRATCH_LEN],
    /// The input vector quantized.
    #[cfg(rnn_quantized)]
    xq: crate::Words<[i16; I]>,
    /// The step's outputs in Q12.
    #[cfg(rnn_quantized)]
    out_q: [i32; O],
    /// The step's outputs: logits, or values in the targets' units.
    out: [f32; O],
}

impl Buffers {
    /// The zero state and buffers. A function, not a constant: a constant is built on the
    /// stack and copied where a function's literal is zeroed in place (the quantized
    /// classifier's boot took 3.2 KB more stack with constants).
    #[inline(always)]
    fn zero() -> Buffers {
        Buffers {
            #[cfg(not(rnn_quantized))]
            state: [0.0; STATE_LEN],
            #[cfg(rnn_quantized)]
            state: crate::Words([0; STATE_LEN]),
            #[cfg(not(rnn_quantized))]
            scratch: [0.0; SCRATCH_LEN],
            #[cfg(rnn_quantized)]
            scratch: [0; SCRATCH_LEN],
            #[cfg(rnn_quantized)]
            xq: crate::Words([0; I]),
            #[cfg(rnn_quantized)]
            out_q: [0; O],
            out: [0.0; O],
        }
    }

    /// Back to the zero state.
    fn reset(&mut self) {
        #[cfg(not(rnn_quantized))]
        {
            self.state = [0.0; STATE_LEN];
        }
        #[cfg(rnn_quantized)]
        {
            self.state.0 = [0; STATE_LEN];
        }
    }

    /// One step with the input vector `x`; the outputs in `out`.
    #[cfg(not(rnn_quantized))]
    fn step(&mut self, model: &Model, x: &[f32; I]) -> Result<(), Error> {
        model.step(
            &mut self.state,
            Input::Dense(x),
            &mut self.scratch,
            &mut self.out,
        )
    }

    /// One step with the input vector `x` in integers (normalised and quantized first);
    /// the Q12 outputs in `out_q` and as `f32` in `out`.
    #[cfg(rnn_quantized)]
    fn step(&mut self, model: &Model, x: &[f32; I]) -> Result<(), Error> {
        model.step_input(
            &mut self.state.0,
            Input::Dense(x),
            &mut self.xq.0,
            &mut self.scratch,
            &mut self.out_q,
        )?;
        model.outputs_to_f32(&self.out_q, &mut self.out);
        Ok(())
    }

    /// A tagger's answer: the most likely class (the first on a tie) and its softmax
    /// probability.
    #[cfg(not(rnn_quantized))]
    fn top(&self) -> (usize, f32) {
        top(&self.out)
    }

    /// A quantized tagger's answer: the largest integer output (the first on a tie) and
    /// the softmax probability of the largest (`top` over the exact `f32`s).
    #[cfg(rnn_quantized)]
    fn top(&self) -> (usize, f32) {
        (rnn_core::sample::argmax_i32(&self.out_q), top(&self.out).1)
    }
}

/// Everything the protocol remembers between two lines.
pub struct App {
    stream: Model,
    /// The class names (tagging) or target names (regression), in output order.
    names: Classes<'static>,
    vocab_len: usize,
    syst: SYST,
    buffers: Buffers,
}

impl Mode for App {
    const HELP: &'static str = if TAG {
        "a line is one step's vector of comma-separated numbers, answered with the step's \
         class; the state carries over to the next line until /reset"
    } else {
        "a line is one step's vector of comma-separated numbers, answered with the step's \
         values; the state carries over to the next line until /reset"
    };
    const COMMANDS: &'static str = if TAG {
        "/classes, /reset, "
    } else {
        "/targets, /reset, "
    };

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
        let stream = Model::for_depth(&view, crate::weight_words(&view))?;
        #[cfg(rnn_quantized)]
        let stream = Model::with_kernel(&view)?;
        // Equal whenever the checks above hold; checked so that no step can fail.
        check_len(Dim::Hidden, stream.state_len(), STATE_LEN)?;
        check_len(Dim::Work, stream.scratch_len(), SCRATCH_LEN)?;
        Ok(App {
            stream,
            names: view.classes(),
            vocab_len: view.vocab().len(),
            syst,
            buffers: Buffers::zero(),
        })
    }

    fn banner(&self, out: &mut Out) {
        out.str("task=");
        out.str(model::TASK.name());
        out.str(" cell=");
        out.str(CELL.name());
        out.str(" layers=");
        out.uint(LAYERS as u64);
        out.str(" input=");
        out.uint(I as u64);
        out.str(" hidden=");
        out.uint(H as u64);
        out.str(" output=");
        out.uint(O as u64);
        out.str(" vocab=");
        out.uint(self.vocab_len as u64);
        out.str(" normalized=");
        out.uint(model::NORMALIZED.into());
        // Float banners stay as they were; a quantized model names its weights' type.
        #[cfg(rnn_quantized)]
        {
            out.str(" weights=");
            out.str(model::PRECISION.name());
        }
    }

    /// One step's input vector: the model steps at once and the step is answered.
    fn input(&mut self, line: &str, out: &mut Out) {
        let mut x = [0.0f32; I];
        if let Err(e) = parse_vector(line, &mut x) {
            e.write_to(out);
            return;
        }
        // The array types fix every length (checked against the model at boot): the step
        // cannot fail.
        match self.buffers.step(&self.stream, &x) {
            Ok(()) => self.answer(out),
            Err(e) => out.error(&e),
        }
    }

    fn command(&mut self, name: &str, arg: Option<&str>, _extra: bool, out: &mut Out) -> bool {
        match (name, arg) {
            ("reset", None) => {
                self.buffers.reset();
                out.line("ok: reset");
            }
            (n, None) if n == NAMES => {
                out.str(NAMES);
                out.str(":");
                for (k, name) in self.names.iter().enumerate() {
                    out.str(if k == 0 { " " } else { ", " });
                    out.str(name);
                }
                out.byte(b'\n');
            }
            ("reset", Some(_)) => crate::takes_no_argument(name, out),
            (n, Some(_)) if n == NAMES => crate::takes_no_argument(name, out),
            _ => return false,
        }
        true
    }

    /// Measures the instructions per step: [`BENCH_STEPS`] steps from the zero state, each
    /// on the same input drawn from a fixed seed, with the tag's label and probability
    /// (`sample::top`) at each step of a tagger. Leaves the protocol's state alone: only
    /// the recurrent state is kept aside and put back, the step runs in the protocol's
    /// other buffers, which carry nothing from line to line (a whole second set on the
    /// stack, inlined into `main`, kept its size in `main`'s frame under every line).
    fn bench(&mut self, out: &mut Out) {
        let saved = self.buffers.state;
        let b = &mut self.buffers;
        b.reset();
        let mut x = [0.0f32; I];
        let mut rng = Rng::new(1);
        x.iter_mut().for_each(|v| *v = rng.next_f32() * 2.0 - 1.0);
        let stream = &self.stream;
        let ticks = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let _ = b.step(stream, &x);
                if TAG {
                    core::hint::black_box(b.top());
                }
            }
            core::hint::black_box(&b.out);
        });
        self.buffers.state = saved;
        let Some(ticks) = ticks else {
            out.line(msg::BENCH_NO_COUNT);
            return;
        };
        let per_step = measure::div(
            measure::instructions(ticks, board::CLOCK_HZ),
            BENCH_STEPS.into(),
        );
        out.str("bench: ");
        out.str(model::TASK.name());
        out.str(" ");
        out.uint(per_step);
        out.str(" instructions/step (");
        out.fixed(measure::div(per_step * 100, MACS.max(1)), 2);
        out.str(" per MAC), ");
        out.uint(MACS);
        out.str(" MACs/step (");
        out.str(CELL.name());
        for (key, value) in [(" L=", LAYERS), (" I=", I), (" H=", H), (" O=", O)] {
            out.str(key);
            out.uint(value as u64);
        }
        out.str(", dense input), ");
        out.uint(BENCH_STEPS.into());
        out.str(" steps");
        crate::bench_clock(out);
    }
}

impl App {
    /// The step's answer: the most likely class's name (the first on a tie of the logits)
    /// and its softmax probability with four decimals, or the `O` values with
    /// [`DECIMALS`] decimals, separated by commas.
    fn answer(&self, out: &mut Out) {
        if TAG {
            let (k, p) = self.buffers.top();
            match self.names.name(k) {
                Some(name) => {
                    out.str(name);
                    out.str(" p=");
                    out.fixed(per_ten_thousand(p).into(), 4);
                    out.byte(b'\n');
                }
                None => {
                    out.str("error: the model has no name for class ");
                    out.uint(k as u64);
                    out.byte(b'\n');
                }
            }
            return;
        }
        for (k, &v) in self.buffers.out.iter().enumerate() {
            if k > 0 {
                out.str(",");
            }
            write_f32(out, v, DECIMALS);
        }
        out.byte(b'\n');
    }
}
