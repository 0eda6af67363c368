//! Next-symbol mode: the model completes a prefix into a name (`/seed N`, `/greedy`,
//! `/sample T`), or predicts each next character as the bytes arrive (`/stream`). Built
//! when the embedded model predicts the next symbol (any cell kind, 1 to 4 layers).

use core::fmt::Write;

use cortex_m::peripheral::SYST;
use cortex_m_semihosting::debug;
use rnn_core::sample::{argmax, sample};
use rnn_core::{generate, Cell, CellKind, Error, ModelView, Rng, Sampler, Vocab};

use crate::line::Problem;
use crate::{board, measure, model, Out};

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

/// The recurrent state: every layer's `h` (and `c` for LSTM), one after the other.
type State = [f32; STATE_LEN];
/// The working space of one step.
type Scratch = [f32; SCRATCH_LEN];

// Kept, not merged into `Network`: under `qemu -icount shift=0` (`/bench`), `Network` takes
// 11.2 % more instructions per greedy step than `Elman` on the Cortex-M4F with the dinosaur
// model, H = 25 (7,137 against 6,417), 5.7 % more at H = 64 (17,967 against 16,992),
// within 1 % on the M3 and M0, and 9.4–16.2 KB more code: over the 10 % allowed. Both give
// the same bits (firmware README, "Footprint and speed", has every number).
/// One Elman layer: sizes fixed at compile time, the weights read as `f32`s straight from
/// flash (one load per weight).
#[cfg(rnn_elman_fast_path)]
type Cells = rnn_core::Elman<'static, I, H, O, crate::W>;
/// Any other architecture: `rnn-core`'s stack of layers, weights read from flash as `f32`s.
#[cfg(not(rnn_elman_fast_path))]
type Cells = rnn_core::Network<'static, crate::W>;

/// The loaded model: its cells and its vocabulary.
struct Model {
    cells: Cells,
    vocab: Vocab<'static>,
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
    /// architecture, and opens it in place.
    fn load() -> Result<Self, Error> {
        let view = ModelView::parse(&model::MODEL.0)?;
        crate::check_arch(&view)?;
        let floats = crate::weight_words(&view);
        // `with_weights` checks that `floats` holds the file's weights bit for bit.
        #[cfg(rnn_elman_fast_path)]
        let cells = Cells::with_weights(&view, floats)?;
        #[cfg(not(rnn_elman_fast_path))]
        let cells = {
            use rnn_core::{check_len, Dim};
            let cells = Cells::with_weights(&view, floats)?;
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

    /// The cells, as [`generate`] takes them.
    #[cfg(rnn_elman_fast_path)]
    fn cell(&self) -> &impl Cell {
        self.cells.weights()
    }

    /// The cells, as [`generate`] takes them.
    #[cfg(not(rnn_elman_fast_path))]
    fn cell(&self) -> &impl Cell {
        &self.cells
    }

    /// One step with the zero input (the start of a sequence). The Elman fast path keeps
    /// its scratch vector on the stack.
    #[cfg(rnn_elman_fast_path)]
    fn step_start(&self, state: &mut State, _scratch: &mut Scratch, logits: &mut [f32; O]) {
        self.cells.step_start(state, logits);
    }

    /// One step with the zero input (the start of a sequence).
    #[cfg(not(rnn_elman_fast_path))]
    fn step_start(&self, state: &mut State, scratch: &mut Scratch, logits: &mut [f32; O]) {
        // The array types fix every length (checked against the model at boot): the step
        // cannot fail.
        let _ = self
            .cells
            .step(state, rnn_core::Input::Start, scratch, logits);
    }

    /// One step with symbol `token`; [`Error::TokenOutOfRange`] when `token >= I`.
    #[cfg(rnn_elman_fast_path)]
    fn step_token(
        &self,
        state: &mut State,
        token: usize,
        _scratch: &mut Scratch,
        logits: &mut [f32; O],
    ) -> Result<(), Error> {
        self.cells.step_token(state, token, logits)
    }

    /// One step with symbol `token`; [`Error::TokenOutOfRange`] when `token >= I`.
    #[cfg(not(rnn_elman_fast_path))]
    fn step_token(
        &self,
        state: &mut State,
        token: usize,
        scratch: &mut Scratch,
        logits: &mut [f32; O],
    ) -> Result<(), Error> {
        self.cells
            .step(state, rnn_core::Input::Token(token), scratch, logits)
    }
}

/// Everything the protocol remembers between two bytes.
pub struct App {
    model: Model,
    syst: SYST,
    rng: Rng,
    sampler: Sampler,
    streaming: bool,
    state: State,
    scratch: Scratch,
    logits: [f32; O],
}

impl App {
    /// Loads the model (every check) and sets the protocol's state at boot.
    pub fn boot(syst: SYST) -> Result<Self, Error> {
        Ok(App {
            model: Model::load()?,
            syst,
            rng: Rng::new(DEFAULT_SEED),
            sampler: DEFAULT_SAMPLER,
            streaming: false,
            state: [0.0; STATE_LEN],
            scratch: [0.0; SCRATCH_LEN],
            logits: [0.0; O],
        })
    }

    /// The banner's model part.
    pub fn banner(&self, out: &mut Out) {
        let _ = write!(
            out,
            "cell={} layers={LAYERS} input={I} hidden={H} output={O} vocab={}",
            CELL.name(),
            self.model.vocab.len(),
        );
    }

    /// Takes a byte before the line reader: in streaming mode every byte is the model's.
    /// Returns whether it took the byte.
    pub fn raw_byte(&mut self, byte: u8, out: &mut Out) -> bool {
        if self.streaming {
            self.stream_byte(byte, out);
            return true;
        }
        false
    }

    /// A line as the reader delivers it: its bytes, or why it was dropped.
    pub fn line(&mut self, line: Result<&str, Problem>, out: &mut Out) {
        match line {
            Ok(line) => self.text_line(line, out),
            Err(problem) => crate::line_problem(problem, out),
        }
    }

    /// One complete line: a command when it starts with `/` (but not `//`), else a prefix.
    fn text_line(&mut self, text: &str, out: &mut Out) {
        match text.strip_prefix('/') {
            // `//abc` is the prefix `/abc`.
            Some(rest) if rest.starts_with('/') => self.complete(rest, out),
            Some(command) => self.command(command, out),
            None => self.complete(text, out),
        }
    }

    /// Completes `prefix` into a name and prints it on one line.
    fn complete(&mut self, prefix: &str, out: &mut Out) {
        let vocab = self.model.vocab;
        // Check every character before printing anything, so that an error is one line.
        if let Some(e) = prefix.chars().find_map(|c| vocab.index_of(c).err()) {
            let _ = writeln!(out, "error: {e}");
            return;
        }
        let _ = out.write_str(prefix);
        let result = generate(
            self.model.cell(),
            &vocab,
            prefix,
            self.sampler,
            &mut self.rng,
            MAX_LEN,
            &mut self.state,
            &mut self.scratch,
            &mut self.logits,
            |c| {
                let _ = out.write_char(c);
            },
        );
        out.byte(b'\n');
        if let Err(e) = result {
            let _ = writeln!(out, "error: {e}");
        }
    }

    fn command(&mut self, command: &str, out: &mut Out) {
        let mut words = command.split(' ').filter(|w| !w.is_empty());
        let name = words.next().unwrap_or("");
        let arg = words.next();
        let extra = words.next().is_some();
        match (name, arg, extra) {
            ("seed", Some(n), false) => match n.parse::<u64>() {
                Ok(seed) => {
                    self.rng = Rng::new(seed);
                    let _ = writeln!(out, "ok: seed {seed}");
                }
                Err(_) => usage(
                    out,
                    "/seed N (N a whole number from 0 to 18446744073709551615)",
                ),
            },
            ("seed", ..) => usage(
                out,
                "/seed N (N a whole number from 0 to 18446744073709551615)",
            ),
            ("sample", Some(t), false) => {
                match parse_temperature(t).map(|t| Sampler::Temperature(t).checked()) {
                    // Echoed as written: formatting an f32 would cost 14 KiB of flash.
                    Some(Ok(sampler)) => {
                        self.sampler = sampler;
                        let _ = writeln!(out, "ok: sample {t}");
                    }
                    _ => usage(out, SAMPLE_USAGE),
                }
            }
            ("sample", ..) => usage(out, SAMPLE_USAGE),
            ("greedy", None, _) => {
                self.sampler = Sampler::Greedy;
                let _ = writeln!(out, "ok: greedy");
            }
            ("stream", None, _) => {
                let _ = writeln!(
                    out,
                    "ok: stream (each byte is answered with the predicted next character; \
                     byte 0x04 ends)"
                );
                self.state = [0.0; STATE_LEN];
                self.model
                    .step_start(&mut self.state, &mut self.scratch, &mut self.logits);
                self.streaming = true;
            }
            ("bench", None, _) => self.bench(out),
            ("mem", None, _) => crate::mem(out),
            ("exit", None, _) => {
                let _ = writeln!(out, "ok: exit");
                debug::exit(debug::EXIT_SUCCESS);
            }
            ("help", None, _) => {
                let _ = writeln!(
                    out,
                    "help: a line is a prefix to complete (start it with // to begin with /); \
                     commands: /seed N, /greedy, /sample T, /stream, /bench, /mem, /exit, /help"
                );
            }
            ("greedy" | "stream" | "bench" | "mem" | "exit" | "help", ..) => {
                let _ = writeln!(out, "error: /{name} takes no argument");
            }
            _ => {
                let _ = writeln!(
                    out,
                    "error: unknown command /{} (try /help)",
                    name.escape_default()
                );
            }
        }
    }

    /// Streaming mode: one byte in, the greedy prediction of the next character out.
    fn stream_byte(&mut self, byte: u8, out: &mut Out) {
        if byte == STREAM_END {
            self.streaming = false;
            out.end_line();
            let _ = writeln!(out, "ok: stream ended");
            return;
        }
        if !byte.is_ascii() {
            out.end_line();
            let _ = writeln!(out, "error: non-ASCII byte 0x{byte:02X}");
            return;
        }
        let vocab = self.model.vocab;
        let stepped = vocab.index_of(char::from(byte)).and_then(|token| {
            self.model
                .step_token(&mut self.state, token, &mut self.scratch, &mut self.logits)
        });
        match stepped {
            Ok(()) => match vocab.symbol(argmax(&self.logits)) {
                Some(c) => {
                    let _ = out.write_char(c);
                }
                None => {
                    out.end_line();
                    let _ = writeln!(
                        out,
                        "error: the model predicted a symbol it has no character for"
                    );
                }
            },
            Err(e) => {
                out.end_line();
                let _ = writeln!(out, "error: {e}");
            }
        }
    }

    /// Measures the instructions per step: greedy (step + argmax, fed back) and sampling
    /// at temperature 1 (step + draw). Leaves the protocol's state alone.
    fn bench(&mut self, out: &mut Out) {
        let model = &self.model;
        let mut state = [0.0f32; STATE_LEN];
        let mut scratch = [0.0f32; SCRATCH_LEN];
        let mut logits = [0.0f32; O];
        model.step_start(&mut state, &mut scratch, &mut logits);
        let greedy = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = argmax(&logits);
                let _ = model.step_token(&mut state, token, &mut scratch, &mut logits);
            }
            core::hint::black_box(&logits);
        });
        let mut rng = Rng::new(DEFAULT_SEED);
        model.step_start(&mut state, &mut scratch, &mut logits);
        let sampled = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = sample(&logits, Sampler::Temperature(1.0), &mut rng).unwrap_or(0);
                let _ = model.step_token(&mut state, token, &mut scratch, &mut logits);
            }
            core::hint::black_box(&logits);
        });
        let (Some(greedy), Some(sampled)) = (greedy, sampled) else {
            let _ = writeln!(out, "error: bench: SysTick did not count, or wrapped");
            return;
        };
        let macs = MACS;
        let per_step =
            |ticks| measure::instructions(ticks, board::CLOCK_HZ) / u64::from(BENCH_STEPS);
        let (greedy, sampled) = (per_step(greedy), per_step(sampled));
        let hundredths = greedy * 100 / macs;
        let _ = writeln!(
            out,
            "bench: greedy {greedy} instructions/step ({}.{:02} per MAC), sampling {sampled} \
             instructions/step, {macs} MACs/step ({} L={LAYERS} H={H} O={O}), \
             {BENCH_STEPS} steps, clock {} Hz (instructions are exact under qemu -icount \
             shift=0)",
            hundredths / 100,
            hundredths % 100,
            CELL.name(),
            board::CLOCK_HZ,
        );
    }
}

const SAMPLE_USAGE: &str =
    "/sample T (T above 0, written as digits with an optional point, at most 7 digits)";

/// Parses a temperature written `DIGITS[.DIGITS]` whose digits, read as one whole number
/// `m`, stay below 2^24, with at most 10 after the point. `m` and `10^k` are then exact
/// `f32`s and one IEEE division rounds `m / 10^k` correctly: the same `f32` as Rust's
/// `str::parse` on the host, without a general float parser (kilobytes of flash and
/// 1.5 KiB of stack).
fn parse_temperature(text: &str) -> Option<f32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 10 {
        return None;
    }
    let mut m: u32 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
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

fn usage(out: &mut Out, usage: &str) {
    let _ = writeln!(out, "error: usage: {usage}");
}
