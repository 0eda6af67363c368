//! Next-symbol mode: the model completes a prefix into a name (`/seed N`, `/greedy`,
//! `/sample T`), or predicts each next character as the bytes arrive (`/stream`). Built
//! when the embedded model predicts the next symbol (any cell kind, 1 to 4 layers).

use cortex_m::peripheral::SYST;
#[cfg(not(rnn_quantized))]
use rnn_core::sample::argmax;
#[cfg(not(rnn_quantized))]
use rnn_core::sample::sample;
#[cfg(not(any(rnn_elman_fast_path, rnn_quantized)))]
use rnn_core::Cell;
#[cfg(not(rnn_elman_fast_path))]
use rnn_core::Input;
use rnn_core::{CellKind, Error, ModelView, Rng, Sampler, Text, Vocab};

use crate::{board, measure, model, msg, BootError, Mode, Out};

/// The most symbols generated after a prefix (the end-of-name symbol not counted).
const MAX_LEN: usize = 50;
/// The sampler's seed at boot.
const DEFAULT_SEED: u64 = 0;
/// The sampling mode at boot: temperature 1, the model's own distribution.
const DEFAULT_SAMPLER: Sampler = Sampler::Temperature(1.0);
/// The byte that ends streaming mode (Ctrl-D).
const STREAM_END: u8 = 0x04;
/// Steps measured by `/bench`.
const BENCH_STEPS: u32 = 16;

const I: usize = model::I;
const H: usize = model::H;
const O: usize = model::O;
const CELL: CellKind = model::CELL;
const LAYERS: usize = model::LAYERS;
const STATE_LEN: usize = model::STATE_LEN;
const SCRATCH_LEN: usize = model::SCRATCH_LEN;

/// The recurrent state: every layer's `h` (and `c` for LSTM), one after the other; `i16`
/// in Q15 (the LSTM cell state in its calibrated format) for a quantized model.
#[cfg(not(rnn_quantized))]
type State = [f32; STATE_LEN];
#[cfg(rnn_quantized)]
type State = crate::Words<[i16; STATE_LEN]>;
/// The working space of one step (`i32` pre-activations in Q12 when quantized).
#[cfg(not(rnn_quantized))]
type Scratch = [f32; SCRATCH_LEN];
#[cfg(rnn_quantized)]
type Scratch = [i32; SCRATCH_LEN];
/// The output layer's logits (`i32` in Q12 when quantized).
#[cfg(not(rnn_quantized))]
type Logits = [f32; O];
#[cfg(rnn_quantized)]
type Logits = [i32; O];

// Kept, not merged into `Network`: under `qemu -icount shift=0` (`/bench`), `Network` takes
// 11.2 % more instructions per greedy step than `Elman` on the Cortex-M4F with the dinosaur
// model, H = 25 (7,137 against 6,417), 5.7 % more at H = 64 (17,967 against 16,992),
// within 1 % on the M3 and M0, and 9.4–16.2 KB more code: over the 10 % allowed. Both give
// the same bits (firmware README, "Footprint and speed", has every number).
/// One Elman layer: sizes fixed at compile time, the weights read as `f32`s straight from
/// flash (one load per weight).
#[cfg(rnn_elman_fast_path)]
type Cells = rnn_core::Elman<'static, I, H, O, crate::W>;
/// Any other float architecture: `rnn-core`'s stack of layers, weights read from flash as
/// `f32`s. The table keeps the format's four slots: sized for the model's depth
/// (`Network::for_depth`), the boot built the whole state on its stack before moving it
/// (an H = 64 LSTM's stack peak 852 -> 2,048 bytes on the M3) for 12 bytes less RAM on
/// a two-layer GRU.
#[cfg(not(any(rnn_elman_fast_path, rnn_quantized)))]
type Cells = rnn_core::Network<'static, crate::W>;
/// A quantized model (any cell kind and depth): `rnn-core`'s integer stack, its weight
/// rows read from flash in place, the dot products through the board's kernel.
#[cfg(rnn_quantized)]
/// Built for the model's depth: no empty slots in the layer table it keeps in RAM.
type Cells = rnn_core::QNetwork<'static, crate::QK, LAYERS>;

/// The loaded model: its cells and its vocabulary.
struct Model {
    cells: Cells,
    vocab: Vocab<'static>,
}

/// The buffers of a step: state, scratch, logits.
#[derive(Clone, Copy)]
struct Buffers {
    state: State,
    scratch: Scratch,
    logits: Logits,
}

impl Buffers {
    #[cfg(not(rnn_quantized))]
    const ZERO: Buffers = Buffers {
        state: [0.0; STATE_LEN],
        scratch: [0.0; SCRATCH_LEN],
        logits: [0.0; O],
    };
    #[cfg(rnn_quantized)]
    const ZERO: Buffers = Buffers {
        state: crate::Words([0; STATE_LEN]),
        scratch: [0; SCRATCH_LEN],
        logits: [0; O],
    };

    /// The most likely symbol (the first on a tie), from the logits of the last step.
    #[cfg(not(rnn_quantized))]
    fn greedy(&self) -> usize {
        argmax(&self.logits)
    }

    /// The most likely symbol (the first on a tie), compared in integers.
    #[cfg(rnn_quantized)]
    fn greedy(&self) -> usize {
        rnn_core::sample::argmax_i32(&self.logits)
    }

    /// A symbol drawn by `sampler` from the logits of the last step.
    #[cfg(not(rnn_quantized))]
    fn draw(&mut self, sampler: Sampler, rng: &mut Rng) -> Result<usize, Error> {
        sample(&self.logits, sampler, rng)
    }

    /// A symbol drawn by `sampler` from the Q12 logits, each read as `f32` (exactly) where
    /// the float sampler reads it: the draws of `generate_quantized`, without a buffer of
    /// `O` floats.
    #[cfg(rnn_quantized)]
    fn draw(&mut self, sampler: Sampler, rng: &mut Rng) -> Result<usize, Error> {
        rnn_core::sample::sample_q12(&self.logits, sampler, rng)
    }
}

/// Multiply-accumulates of one step with a one-hot input, as `rnn-core` counts them
/// ([`rnn_core::Header::macs_per_step`]): per layer `G` gate blocks (1 Elman, 3 GRU,
/// 4 LSTM) of `H` rows; layer 0 does `G·H·H` recurrent MACs plus `G·H` for its one-hot
/// input (one weight added per row), each further layer `G·H·H` recurrent plus `G·H·H` for
/// its dense input; the output layer `O·H`. Activations, gate products and bias adds are
/// not counted.
const MACS: u64 = model::HEADER.macs_per_step(true);

impl Model {
    /// Checks the embedded model with all of `rnn-core`'s checks and against the compiled
    /// architecture, and opens it in place. A quantized model's is inlined into the boot,
    /// so that its layer table is built where it stays rather than copied there (the
    /// micro:bit's stack peak at boot 256 bytes lower, its code 264 smaller); the float
    /// paths gain nothing from it.
    #[cfg_attr(rnn_quantized, inline(always))]
    fn load() -> Result<Self, Error> {
        let view = ModelView::parse_for::<crate::Models>(&model::MODEL.0)?;
        crate::check_arch(&view)?;
        #[cfg(rnn_elman_fast_path)]
        let cells = Cells::with_weights(&view, crate::weight_words(&view))?;
        #[cfg(not(rnn_elman_fast_path))]
        let cells = {
            use rnn_core::{check_len, Dim};
            // `with_weights` checks that the floats hold the file's weights bit for bit;
            // the quantized loader refuses a float file (and the float one a quantized
            // file) with `WrongPrecision`.
            #[cfg(not(rnn_quantized))]
            let cells = Cells::with_weights(&view, crate::weight_words(&view))?;
            #[cfg(rnn_quantized)]
            let cells = Cells::with_kernel(&view)?;
            // Equal whenever the checks above hold; checked so that no step can fail.
            check_len(Dim::Hidden, STATE_LEN, cells.state_len())?;
            check_len(Dim::Hidden, SCRATCH_LEN, cells.scratch_len())?;
            cells
        };
        Ok(Model {
            cells,
            vocab: view.vocab(),
        })
    }

    /// Completes `prefix` with `sampler`, each generated character to `emit`: `rnn-core`'s
    /// `generate` (or `generate_quantized`), the loop `rnn-train sample` runs.
    #[cfg(not(rnn_quantized))]
    fn generate(
        &self,
        b: &mut Buffers,
        prefix: &str,
        sampler: Sampler,
        rng: &mut Rng,
        emit: impl FnMut(char),
    ) -> Result<usize, Error> {
        #[cfg(rnn_elman_fast_path)]
        let cell = self.cells.weights();
        #[cfg(not(rnn_elman_fast_path))]
        let cell = &self.cells;
        rnn_core::generate(
            cell,
            &self.vocab,
            prefix,
            sampler,
            rng,
            MAX_LEN,
            &mut b.state,
            &mut b.scratch,
            &mut b.logits,
            emit,
        )
    }

    /// Completes `prefix` with `sampler`: `rnn-core`'s `generate_quantized`, the loop
    /// `rnn-train sample` runs for a quantized file.
    #[cfg(rnn_quantized)]
    fn generate(
        &self,
        b: &mut Buffers,
        prefix: &str,
        sampler: Sampler,
        rng: &mut Rng,
        emit: impl FnMut(char),
    ) -> Result<usize, Error> {
        rnn_core::generate_quantized(
            &self.cells,
            &self.vocab,
            prefix,
            sampler,
            rng,
            MAX_LEN,
            &mut b.state.0,
            &mut b.scratch,
            &mut b.logits,
            emit,
        )
    }

    /// One step with the zero input (the start of a sequence). The Elman fast path keeps
    /// its scratch vector on the stack.
    #[cfg(rnn_elman_fast_path)]
    fn step_start(&self, b: &mut Buffers) {
        self.cells.step_start(&mut b.state, &mut b.logits);
    }

    /// One step with the zero input (the start of a sequence).
    #[cfg(not(rnn_elman_fast_path))]
    fn step_start(&self, b: &mut Buffers) {
        // The array types fix every length (checked against the model at boot): the step
        // cannot fail.
        let _ = self.step(b, Input::Start);
    }

    /// One step with symbol `token`; [`Error::TokenOutOfRange`] when `token >= I`.
    #[cfg(rnn_elman_fast_path)]
    fn step_token(&self, b: &mut Buffers, token: usize) -> Result<(), Error> {
        self.cells.step_token(&mut b.state, token, &mut b.logits)
    }

    /// One step with symbol `token`; [`Error::TokenOutOfRange`] when `token >= I`.
    #[cfg(not(rnn_elman_fast_path))]
    fn step_token(&self, b: &mut Buffers, token: usize) -> Result<(), Error> {
        self.step(b, Input::Token(token))
    }

    #[cfg(not(any(rnn_elman_fast_path, rnn_quantized)))]
    fn step(&self, b: &mut Buffers, x: Input<'_>) -> Result<(), Error> {
        self.cells
            .step(&mut b.state, x, &mut b.scratch, &mut b.logits)
    }

    // Not inlined so that the quantized step is one function in the image: the check that
    // it calls no soft-float routine (`__aeabi_f*`, README "Integer inference") reads its
    // disassembly. One call per step costs a few instructions.
    #[cfg(rnn_quantized)]
    #[inline(never)]
    fn step(&self, b: &mut Buffers, x: Input<'_>) -> Result<(), Error> {
        let x = match x {
            Input::Token(t) => rnn_core::QInput::Token(t),
            _ => rnn_core::QInput::Start,
        };
        self.cells
            .step(&mut b.state.0, x, &mut b.scratch, &mut b.logits)
    }
}

/// Everything the protocol remembers between two bytes.
pub struct App {
    model: Model,
    syst: SYST,
    rng: Rng,
    sampler: Sampler,
    streaming: bool,
    buffers: Buffers,
}

impl Mode for App {
    const HELP: &'static str = "a line is a prefix to complete (start it with // to begin with /)";
    const COMMANDS: &'static str = "/seed N, /greedy, /sample T, /stream, ";

    #[cfg_attr(rnn_quantized, inline(always))]
    fn boot(syst: SYST) -> Result<Self, BootError> {
        Ok(App {
            model: Model::load()?,
            syst,
            rng: Rng::new(DEFAULT_SEED),
            sampler: DEFAULT_SAMPLER,
            streaming: false,
            buffers: Buffers::ZERO,
        })
    }

    fn banner(&self, out: &mut Out) {
        out.str("cell=");
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
        out.uint(self.model.vocab.len() as u64);
        // Float banners stay as they were; a quantized model names its weights' type.
        #[cfg(rnn_quantized)]
        {
            out.str(" weights=");
            out.str(self.model.cells.precision().name());
        }
    }

    /// In streaming mode every byte is the model's.
    fn raw_byte(&mut self, byte: u8, out: &mut Out) -> bool {
        if self.streaming {
            self.stream_byte(byte, out);
            return true;
        }
        false
    }

    /// Completes the prefix `prefix` into a name and prints it on one line.
    fn input(&mut self, prefix: &str, out: &mut Out) {
        let vocab = self.model.vocab;
        // Check every character before printing anything, so that an error is one line.
        if let Some(e) = prefix.chars().find_map(|c| vocab.index_of(c).err()) {
            out.error(&e);
            return;
        }
        out.str(prefix);
        let result = self.model.generate(
            &mut self.buffers,
            prefix,
            self.sampler,
            &mut self.rng,
            |c| out.char(c),
        );
        out.byte(b'\n');
        if let Err(e) = result {
            out.error(&e);
        }
    }

    fn command(&mut self, name: &str, arg: Option<&str>, extra: bool, out: &mut Out) -> bool {
        match (name, arg, extra) {
            ("seed", Some(n), false) => match n.parse::<u64>() {
                Ok(seed) => {
                    self.rng = Rng::new(seed);
                    out.str("ok: seed ");
                    out.uint(seed);
                    out.byte(b'\n');
                }
                Err(_) => out.line(SEED_USAGE),
            },
            ("seed", ..) => out.line(SEED_USAGE),
            ("sample", Some(t), false) => {
                match parse_temperature(t).map(|t| Sampler::Temperature(t).checked()) {
                    // Echoed as written: formatting an f32 would cost kilobytes of flash.
                    Some(Ok(sampler)) => {
                        self.sampler = sampler;
                        out.str("ok: sample ");
                        out.line(t);
                    }
                    _ => out.line(SAMPLE_USAGE),
                }
            }
            ("sample", ..) => out.line(SAMPLE_USAGE),
            ("greedy", None, _) => {
                self.sampler = Sampler::Greedy;
                out.line("ok: greedy");
            }
            ("stream", None, _) => {
                out.line(
                    "ok: stream (each byte is answered with the predicted next character; \
                     byte 0x04 ends)",
                );
                self.buffers = Buffers::ZERO;
                self.model.step_start(&mut self.buffers);
                self.streaming = true;
            }
            ("greedy" | "stream", ..) => crate::takes_no_argument(name, out),
            _ => return false,
        }
        true
    }

    /// Measures the instructions per step: greedy (step + argmax, fed back) and sampling
    /// at temperature 1 (step + draw). Runs in the protocol's own buffers, which carry
    /// nothing from line to line outside `/stream` (where no command is read; each name
    /// starts from the zero state): a copy of its own, inlined into `main`, kept the
    /// buffers' size in `main`'s frame under every command.
    fn bench(&mut self, out: &mut Out) {
        let model = &self.model;
        let b = &mut self.buffers;
        *b = Buffers::ZERO;
        model.step_start(b);
        let greedy = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = b.greedy();
                let _ = model.step_token(b, token);
            }
            core::hint::black_box(&b.logits);
        });
        let mut rng = Rng::new(DEFAULT_SEED);
        *b = Buffers::ZERO;
        model.step_start(b);
        let sampled = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = b.draw(Sampler::Temperature(1.0), &mut rng).unwrap_or(0);
                let _ = model.step_token(b, token);
            }
            core::hint::black_box(&b.logits);
        });
        let (Some(greedy), Some(sampled)) = (greedy, sampled) else {
            out.line(msg::BENCH_NO_COUNT);
            return;
        };
        let per_step = |ticks| {
            measure::div(
                measure::instructions(ticks, board::CLOCK_HZ),
                BENCH_STEPS.into(),
            )
        };
        let (greedy, sampled) = (per_step(greedy), per_step(sampled));
        out.str("bench: greedy ");
        out.uint(greedy);
        out.str(" instructions/step (");
        out.fixed(measure::div(greedy * 100, MACS), 2);
        out.str(" per MAC), sampling ");
        out.uint(sampled);
        out.str(" instructions/step, ");
        out.uint(MACS);
        out.str(" MACs/step (");
        out.str(CELL.name());
        out.str(" L=");
        out.uint(LAYERS as u64);
        out.str(" H=");
        out.uint(H as u64);
        out.str(" O=");
        out.uint(O as u64);
        out.str("), ");
        out.uint(BENCH_STEPS.into());
        out.str(" steps");
        crate::bench_clock(out);
    }
}

impl App {
    /// Streaming mode: one byte in, the greedy prediction of the next character out.
    fn stream_byte(&mut self, byte: u8, out: &mut Out) {
        if byte == STREAM_END {
            self.streaming = false;
            out.end_line();
            out.line("ok: stream ended");
            return;
        }
        if !byte.is_ascii() {
            out.end_line();
            crate::non_ascii(byte, out);
            return;
        }
        let vocab = self.model.vocab;
        let stepped = vocab
            .index_of(char::from(byte))
            .and_then(|token| self.model.step_token(&mut self.buffers, token));
        match stepped {
            Ok(()) => match vocab.symbol(self.buffers.greedy()) {
                Some(c) => out.char(c),
                None => {
                    out.end_line();
                    out.line("error: the model predicted a symbol it has no character for");
                }
            },
            Err(e) => {
                out.end_line();
                out.error(&e);
            }
        }
    }
}

const SEED_USAGE: &str = "error: usage: /seed N (N a whole number from 0 to 18446744073709551615)";
const SAMPLE_USAGE: &str =
    "error: usage: /sample T (T above 0, written as digits with an optional point, at most 7 \
     digits)";

/// Parses a temperature written `DIGITS[.DIGITS]` whose digits, read as one whole number
/// `m`, stay below 2^24, with at most 10 after the point. `m` and `10^k` are then exact
/// `f32`s and one IEEE division rounds `m / 10^k` correctly: the same `f32` as Rust's
/// `str::parse` on the host, without a general float parser (kilobytes of flash and
/// 1.5 KiB of stack).
fn parse_temperature(text: &str) -> Option<f32> {
    // Split at the first point as bytes: `str::split_once` links `str`'s slicing checks
    // and their panic path (156 bytes on the Cortex-M0).
    let bytes = text.as_bytes();
    let point = bytes.iter().position(|&b| b == b'.').unwrap_or(bytes.len());
    let (whole, fraction) = bytes.split_at(point);
    let fraction = fraction.get(1..).unwrap_or_default();
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 10 {
        return None;
    }
    let mut m: u32 = 0;
    for &b in whole.iter().chain(fraction) {
        if !b.is_ascii_digit() {
            return None;
        }
        m = m.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        if m >= 1 << 24 {
            return None;
        }
    }
    let mut scale = 1.0f32;
    for _ in 0..fraction.len() {
        scale *= 10.0;
    }
    Some(m as f32 / scale)
}
