//! Runs a character-level recurrent network (Elman, GRU or LSTM, 1 to 4 stacked layers,
//! chosen at build time by the embedded model) on a Cortex-M board and talks a line
//! protocol on UART0 (documented in `README.md`): each line is a prefix that the model
//! completes into a name, or a command (`/seed N`, `/greedy`, `/sample T`, `/stream`,
//! `/bench`, `/mem`, `/help`). The model is embedded at build time and checked by
//! `rnn-core`'s loader at boot, then against the architecture the firmware was built for;
//! its weights are read from flash in place.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod board;
mod line;
mod measure;

#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use core::fmt::Write;

use cortex_m::peripheral::SYST;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug;
use rnn_core::sample::{argmax, sample};
use rnn_core::{generate, Cell, CellKind, Dim, Error, ModelView, Rng, Sampler, Vocab};

use board::Uart;
use line::{LineReader, Problem, LINE_MAX};

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

/// One Elman layer: sizes fixed at compile time, the weights read as `f32`s straight from
/// flash (one load per weight).
#[cfg(rnn_elman_fast_path)]
type Cells = rnn_core::Elman<'static, I, H, O, f32>;
/// Any other architecture: `rnn-core`'s stack of layers, weights read from flash as `f32`s.
#[cfg(not(rnn_elman_fast_path))]
type Cells = rnn_core::Network<'static, f32>;

/// The loaded model: its cells and its vocabulary.
struct Model {
    cells: Cells,
    vocab: Vocab<'static>,
}

/// Places the embedded model file at a 4-aligned address; the format aligns the weights
/// within the file, so they can be viewed as `f32`s in place.
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// Checks the file's architecture against the one compiled in, in this order: cell kind
/// ([`Error::WrongCellKind`]), number of layers, then `I`, `H`, `O`
/// ([`Error::SizeMismatch`]).
fn check_arch(view: &ModelView<'_>) -> Result<(), Error> {
    let header = view.header();
    if header.cell != CELL {
        return Err(Error::WrongCellKind {
            expected: CELL,
            found: header.cell,
        });
    }
    for (dim, expected, found) in [
        (Dim::Layers, LAYERS, u32::from(header.layers)),
        (Dim::Input, I, header.input),
        (Dim::Hidden, H, header.hidden),
        (Dim::Output, O, header.output),
    ] {
        if usize::try_from(found).ok() != Some(expected) {
            return Err(Error::SizeMismatch {
                dim,
                expected: u32::try_from(expected).unwrap_or(u32::MAX),
                found,
            });
        }
    }
    Ok(())
}

/// [`Error::BufferLength`] unless `found == expected`.
#[cfg_attr(rnn_elman_fast_path, allow(dead_code))]
fn check_len(dim: Dim, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::BufferLength {
            dim,
            expected,
            found,
        })
    }
}

impl Model {
    /// Checks the embedded model with all of `rnn-core`'s checks and against the compiled
    /// architecture, and opens it in place.
    fn load() -> Result<Self, Error> {
        let view = ModelView::parse(&model::MODEL.0)?;
        check_arch(&view)?;
        // SAFETY: every bit pattern is a valid `f32`, and `align_to` only hands out the
        // part of the slice that is aligned for it.
        let (head, floats, tail) = unsafe { view.weight_bytes().align_to::<f32>() };
        // Not reached: `Aligned` and the format's padding align the weights. Should it
        // happen, `with_floats` rejects the short slice with a typed error.
        let floats = if head.is_empty() && tail.is_empty() {
            floats
        } else {
            &[]
        };
        // `with_floats` checks that `floats` holds the file's weights bit for bit.
        #[cfg(rnn_elman_fast_path)]
        let cells = Cells::with_floats(&view, floats)?;
        #[cfg(not(rnn_elman_fast_path))]
        let cells = {
            let cells = Cells::with_floats(&view, floats)?;
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

    /// Multiply-accumulates of one step with a one-hot input: per layer `G` gate blocks
    /// (1 Elman, 3 GRU, 4 LSTM) of `H` rows; layer 0 does `G·H·H` recurrent MACs plus `G·H`
    /// for its one-hot input (one weight added per row), each further layer `G·H·H`
    /// recurrent plus `G·H·H` for its dense input; the output layer `O·H`. Activations,
    /// gate products and bias adds are not counted.
    fn macs() -> u64 {
        let g = match CELL {
            CellKind::Elman => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        };
        let (h, o, l) = (H as u64, O as u64, LAYERS as u64);
        g * h * (h + 1) + (l - 1) * 2 * g * h * h + o * h
    }
}

/// UART0 output that remembers its last byte, so that an error line in streaming mode can
/// start on a line of its own.
struct Out {
    uart: Uart,
    last: u8,
}

impl Out {
    fn byte(&mut self, b: u8) {
        self.uart.write_byte(b);
        self.last = b;
    }

    /// Ends the current output line unless it is already ended.
    fn end_line(&mut self) {
        if self.last != b'\n' {
            self.byte(b'\n');
        }
    }
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        Ok(())
    }
}

/// Everything the protocol remembers between two bytes.
struct App {
    model: Model,
    syst: SYST,
    rng: Rng,
    sampler: Sampler,
    streaming: bool,
    /// The last line ended with `\r`: a `\n` right after it belongs to the same line end.
    skip_lf: bool,
    state: State,
    scratch: Scratch,
    logits: [f32; O],
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let mut out = Out {
        uart: Uart::init(),
        last: b'\n',
    };
    let model = match Model::load() {
        Ok(model) => model,
        Err(e) => {
            let _ = writeln!(out, "error: cannot load the model: {e}");
            exit_failure();
        }
    };
    let syst = match cortex_m::Peripherals::take() {
        Some(p) => p.SYST,
        None => {
            let _ = writeln!(out, "error: core peripherals already taken");
            exit_failure();
        }
    };

    // The protocol's state lives in static RAM (.bss), the stack holds only what a
    // command needs while it runs: `/mem` then tells the two apart.
    let state = cortex_m::singleton!(: (App, LineReader) = (
        App {
            model,
            syst,
            rng: Rng::new(DEFAULT_SEED),
            sampler: DEFAULT_SAMPLER,
            streaming: false,
            skip_lf: false,
            state: [0.0; STATE_LEN],
            scratch: [0.0; SCRATCH_LEN],
            logits: [0.0; O],
        },
        LineReader::new(),
    ));
    let Some((app, reader)) = state else {
        let _ = writeln!(out, "error: the state was already taken");
        exit_failure();
    };
    let _ = writeln!(
        out,
        "rnn-firmware board={} cpu={} cell={} layers={LAYERS} input={I} hidden={H} \
         output={O} vocab={} model_bytes={}",
        board::NAME,
        board::CPU,
        CELL.name(),
        app.model.vocab.len(),
        model::MODEL.0.len(),
    );
    let _ = writeln!(out, "READY");
    loop {
        let byte = out.uart.read_byte();
        if core::mem::take(&mut app.skip_lf) && byte == b'\n' {
            continue;
        }
        if app.streaming {
            app.stream_byte(byte, &mut out);
        } else if let Some(line) = reader.push(byte) {
            app.skip_lf = byte == b'\r';
            match line {
                Ok(line) => app.line(line, &mut out),
                Err(Problem::TooLong) => {
                    let _ = writeln!(out, "error: line longer than {LINE_MAX} bytes");
                }
                Err(Problem::NonAscii(b)) => {
                    let _ = writeln!(out, "error: non-ASCII byte 0x{b:02X}");
                }
            }
        }
    }
}

impl App {
    /// One complete line: a command when it starts with `/` (but not `//`), else a prefix.
    fn line(&mut self, line: &[u8], out: &mut Out) {
        // The reader only passes ASCII, which is always UTF-8.
        let Ok(text) = core::str::from_utf8(line) else {
            let _ = writeln!(out, "error: line is not UTF-8");
            return;
        };
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
            ("mem", None, _) => mem(out),
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
        let macs = Model::macs();
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

fn mem(out: &mut Out) {
    let (peak, available) = measure::stack_peak();
    let _ = write!(
        out,
        "mem: static {} bytes (.data+.bss), stack peak ",
        measure::static_ram()
    );
    let _ = match peak {
        Some(peak) => write!(out, "{peak}"),
        None => write!(out, "unknown"),
    };
    let _ = writeln!(out, " bytes of {available}");
}

/// Ends the QEMU session with a failure status (semihosting), or stops here on a board
/// without a debugger.
fn exit_failure() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut uart = Uart::init();
    let _ = writeln!(uart, "\nerror: panic: {}", info.message());
    exit_failure();
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    let mut uart = Uart::init();
    let _ = writeln!(uart, "\nerror: hard fault at pc 0x{:08x}", frame.pc());
    exit_failure();
}
