//! Runs a recurrent network (Elman, GRU or LSTM, 1 to 4 stacked layers, chosen at build
//! time by the embedded model) on a Cortex-M board and talks a line protocol on UART0
//! (documented in `README.md`). A next-symbol model completes each line into a name
//! (`next.rs`: `/seed N`, `/greedy`, `/sample T`, `/stream`); a classifier answers each
//! word, or each sequence of feature vectors, with its class and probability
//! (`classify.rs`); a tagger or regression model answers each input vector at once with
//! the step's class or values, its state carried from line to line (`stream.rs`:
//! `/reset`). All have `/bench`, `/mem`, `/help` and `/exit`. The model is embedded
//! at build time and checked by `rnn-core`'s loader at boot, then against the
//! architecture the firmware was built for; its weights are read from flash in place.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

/// The one `&'static mut` to a mode's `static mut` buffers, or `None` the second time:
/// the buffers are zeroed in `.bss` at reset and never built on the stack (built in the
/// boot and moved into static RAM with `App`, their size stood twice in `main`'s frame).
/// Each static is named at one call site only. Classify mode uses it; for next-symbol
/// and stream mode's small buffers it measured 150–170 bytes more stack, not less.
#[cfg(rnn_classify)]
macro_rules! take_static {
    ($name:ident) => {
        match cortex_m::singleton!(: () = ()) {
            // SAFETY: the zero-sized singleton lets this arm run once for this call site,
            // the only one that names the static: this is the one reference to it.
            Some(_) => Some(unsafe { &mut *core::ptr::addr_of_mut!($name) }),
            None => None,
        }
    };
}

mod board;
#[cfg(rnn_classify)]
mod classify;
// A classifier prints only probabilities; a regression model's values need the rest.
#[cfg(any(rnn_classify, rnn_stream))]
#[cfg_attr(not(rnn_stream), allow(dead_code))]
mod decimal;
#[cfg(feature = "mps2-an386")]
mod kernel;
mod line;
mod measure;
mod mem;
#[cfg(not(any(rnn_classify, rnn_stream)))]
mod next;
#[cfg(all(feature = "mps2-an386", rnn_quantized))]
mod qkernel;
#[cfg(rnn_stream)]
mod stream;
#[cfg(any(rnn_classify_dense, rnn_stream))]
mod vector;

/// The number types the loader reads: quantized files only in a quantized build, so that
/// a float build links none of their checks (and refuses a quantized file with
/// `WrongPrecision`, as the quantized build refuses a float one).
#[cfg(rnn_quantized)]
type Models = rnn_core::AllModels;
#[cfg(not(rnn_quantized))]
type Models = rnn_core::FloatModels;

#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use cortex_m::peripheral::SYST;
use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug;
use rnn_core::{Error, ModelView, Text};

use board::Uart;
#[cfg(rnn_classify)]
use classify::App;
use line::{LineReader, Problem, LINE_MAX};
#[cfg(not(any(rnn_classify, rnn_stream)))]
use next::App;
#[cfg(rnn_stream)]
use stream::App;

/// Places the embedded model file at a 4-aligned address; the format aligns the weights
/// within the file, so they can be viewed as `f32`s in place.
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// 4-aligned `i16`s (a quantized model's state, working memory, quantized input): the
/// Cortex-M4F's integer kernel loads two of them per `ldm` word when it can (it checks,
/// and takes a slower loop otherwise).
#[cfg(rnn_quantized)]
#[repr(C, align(4))]
#[derive(Clone, Copy)]
pub struct Words<T>(pub T);

/// What the three modes (next-symbol in `next.rs`, classify in `classify.rs`, streaming
/// in `stream.rs`) do differently; the line handling, the shared commands (`/bench`, `/mem`, `/exit`,
/// `/help`) and their error lines are written once, here.
pub trait Mode: Sized {
    /// What `/help` says about a line, before the list of commands.
    const HELP: &'static str;
    /// The mode's own commands for `/help`'s list, each followed by `", "`.
    const COMMANDS: &'static str;

    /// Loads the model (every check of `rnn-core`, then the architecture the firmware was
    /// built for) and sets the protocol's state at boot.
    fn boot(syst: SYST) -> Result<Self, BootError>;

    /// The banner's model part.
    fn banner(&self, out: &mut Out);

    /// Takes a byte before the line reader (next-symbol mode's `/stream`); returns whether
    /// it did.
    fn raw_byte(&mut self, _byte: u8, _out: &mut Out) -> bool {
        false
    }

    /// A line that is not a command (`//abc` arrives as `/abc`).
    fn input(&mut self, text: &str, out: &mut Out);

    /// The reader dropped a line: whether to answer it (a dense sequence answers only
    /// its first error).
    fn dropped(&mut self) -> bool {
        true
    }

    /// The mode's own command `name` with its first argument `arg`, `extra` when more
    /// followed; returns `false` for a command the mode does not know.
    fn command(&mut self, name: &str, arg: Option<&str>, extra: bool, out: &mut Out) -> bool;

    /// `/bench`: measures the instructions of the mode's work and prints one line.
    fn bench(&mut self, out: &mut Out);
}

/// Why the embedded model does not fit the build: `rnn-core`'s typed error, or a property
/// of classifiers, taggers and regression models that `rnn-core`'s errors do not name.
pub enum BootError {
    /// Any of `rnn-core`'s checks, or the architecture ([`check_arch`]).
    Core(Error),
    /// The model reads dense vectors and the build symbols, or the other way round.
    // Only a classifier or streaming build can find it.
    #[cfg_attr(not(any(rnn_classify, rnn_stream)), allow(dead_code))]
    InputKind { dense: bool },
    /// The mode's static buffers were taken already (a second boot).
    #[cfg_attr(not(rnn_classify), allow(dead_code))]
    StateTaken,
}

impl From<Error> for BootError {
    fn from(e: Error) -> Self {
        BootError::Core(e)
    }
}

impl BootError {
    fn write_to(&self, out: &mut Out) {
        let kind = |dense: bool| if dense { "dense vectors" } else { "symbols" };
        match *self {
            BootError::Core(e) => e.write_to(out),
            BootError::InputKind { dense } => {
                out.str("input mismatch: expected ");
                out.str(kind(model::DENSE));
                out.str(", the model reads ");
                out.str(kind(dense));
            }
            // The line's text without its "error: ", which the boot's line has already.
            BootError::StateTaken => out.str(msg::STATE_TAKEN.get(7..).unwrap_or_default()),
        }
    }
}

/// The firmware's own fixed messages, one definition each (`rnn-core`'s come from
/// [`Error::write_to`]).
pub mod msg {
    pub const READY: &str = "READY";
    pub const EXIT: &str = "ok: exit";
    pub const PERIPHERALS_TAKEN: &str = "error: core peripherals already taken";
    pub const STATE_TAKEN: &str = "error: the state was already taken";
    pub const CANNOT_LOAD: &str = "error: cannot load the model: ";
    pub const BENCH_NO_COUNT: &str = "error: bench: SysTick did not count, or wrapped";
    #[cfg(rnn_classify_dense)]
    pub const BENCH_IN_SEQUENCE: &str =
        "error: /bench measures between sequences: end this one with an empty line first";
    pub const TAKES_NO_ARGUMENT: &str = " takes no argument";
    pub const UNKNOWN_COMMAND: &str = "error: unknown command /";
    pub const TRY_HELP: &str = " (try /help)";
    pub const LINE_TOO_LONG: &str = "error: line longer than ";
    pub const NON_ASCII: &str = "error: non-ASCII byte 0x";
    pub const INVALID_UTF8: &str = "error: invalid UTF-8 at byte offset ";
    pub const PANIC: &str = "\nerror: panic\n";
    pub const OUT_OF_STACK: &str =
        "error: out of RAM: the stack reached the buffers; build with a smaller RNN_MAX_STEPS";
    pub const HARD_FAULT: &str = "\nerror: hard fault at pc 0x";
    /// The note every `/bench` line ends with.
    pub const EXACT: &str = " Hz (instructions are exact under qemu -icount shift=0)";
}

/// Checks the file's architecture against the one compiled in (`rnn-core`'s typed
/// errors: task, cell kind, then layers, `I`, `H`, `O`, directions, normalisation), then
/// float against integer weights (`check_built_for` does not compare them; an int8 build
/// runs int16 weights too, `QNetwork` reads either).
fn check_arch(view: &ModelView<'_>) -> Result<(), Error> {
    let header = view.header();
    header.check_built_for(&model::HEADER)?;
    let found = header.quant.precision;
    // Before the float loaders' check of the weights' bits, which would call integer
    // weights "f32 weights that differ from the file's".
    if found.is_integer() != model::PRECISION.is_integer() {
        return Err(Error::WrongPrecision {
            expected: model::PRECISION,
            found,
        });
    }
    Ok(())
}

/// The dot products of a quantized model: the DSP instructions on the Cortex-M4F
/// (`qkernel::Dsp`), `rnn-core`'s portable loop on the M0 and M3. Integer sums: the same
/// bits either way.
#[cfg(all(rnn_quantized, feature = "mps2-an386"))]
pub type QK = qkernel::Dsp;
/// The dot products of a quantized model: the DSP instructions on the Cortex-M4F
/// (`qkernel::Dsp`), `rnn-core`'s portable loop on the M0 and M3. Integer sums: the same
/// bits either way. Built for the model's cell kind and weight type alone (`Kernel::CELL`,
/// `Kernel::PRECISION`): the other kinds' integer steps and the other type's products are
/// not in the image.
#[cfg(all(rnn_quantized, not(feature = "mps2-an386")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct QK;

#[cfg(all(rnn_quantized, not(feature = "mps2-an386")))]
impl rnn_core::quant::Kernel for QK {
    const CELL: Option<rnn_core::CellKind> = Some(model::CELL);
    const PRECISION: Option<rnn_core::Precision> = Some(model::PRECISION);
}

/// How the cells read a weight: through the FPU kernel on the Cortex-M4F (four weights per
/// load instruction), as a plain `f32` elsewhere. Both keep `rnn-core`'s summation order.
#[cfg(feature = "mps2-an386")]
pub type W = kernel::Vfp;
/// How the cells read a weight: through the FPU kernel on the Cortex-M4F (four weights per
/// load instruction), as a plain `f32` elsewhere. Both keep `rnn-core`'s summation order.
#[cfg(not(feature = "mps2-an386"))]
pub type W = f32;

/// The file's weights in place as [`W`]s (the file is 4-aligned in flash and the format
/// aligns the weights within it). `with_weights` then checks that they are the file's
/// bits.
#[cfg_attr(rnn_quantized, allow(dead_code))]
fn weight_words(view: &ModelView<'static>) -> &'static [W] {
    // SAFETY: `W` is an `f32` (or a `repr(transparent)` wrapper of one), every bit pattern
    // is a valid `f32`, and `align_to` only hands out the part of the slice that is
    // aligned for it.
    let (head, floats, tail) = unsafe { view.weight_bytes().align_to::<W>() };
    // Not reached: `Aligned` and the format's padding align the weights. Should it
    // happen, `with_weights` rejects the short slice with a typed error.
    if head.is_empty() && tail.is_empty() {
        floats
    } else {
        &[]
    }
}

/// UART0 output that remembers its last byte, so that an error line in next-symbol mode's
/// `/stream` can start on a line of its own.
pub struct Out {
    uart: Uart,
    last: u8,
}

// Not inlined: the protocol prints from a hundred places, and a copy of the UART's loop in
// each would cost more flash than the calls cost time.
impl Out {
    #[inline(never)]
    pub fn byte(&mut self, b: u8) {
        self.uart.write_byte(b);
        self.last = b;
    }

    /// Ends the current output line unless it is already ended.
    pub fn end_line(&mut self) {
        if self.last != b'\n' {
            self.byte(b'\n');
        }
    }

    /// `s` and a line end.
    #[inline(never)]
    pub fn line(&mut self, s: &str) {
        self.str(s);
        self.byte(b'\n');
    }

    /// `error: ` and `rnn-core`'s message for `e`, on one line.
    #[inline(never)]
    pub fn error(&mut self, e: &Error) {
        self.str("error: ");
        e.write_to(self);
        self.byte(b'\n');
    }
}

impl Text for Out {
    #[inline(never)]
    fn str(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.byte(b);
        }
    }

    /// The same bytes as `Text::char_debug` for every character this build can quote (all
    /// ASCII: `cfg(rnn_ascii_symbols)`, from `build.rs`), without core's Unicode tables.
    #[cfg(rnn_ascii_symbols)]
    fn char_debug(&mut self, c: char) {
        self.char_debug_ascii(c);
    }
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let mut out = Out {
        uart: Uart::init(),
        last: b'\n',
    };
    let (app, reader) = boot(&mut out);
    serve(app, reader, out)
}

/// Loads the model and moves the protocol's state into static RAM, or ends the program
/// with the reason. Out of line, and the protocol's loop too ([`serve`]), so that boot's
/// frame (the loader's work, the state before it moves) is off the stack while the
/// protocol runs: on the M3 and M0 the stack's peak fell by 144–1,424 bytes over the
/// models measured, and the code by up to 1.8 KB. Not on the Cortex-M4F, whose
/// `opt-level = 3` then inlines more into the loop (2.6–11.9 KB more code with the
/// dinosaur model): there only [`load`] is out of line.
#[cfg_attr(not(feature = "mps2-an386"), inline(never))]
#[cfg_attr(feature = "mps2-an386", inline(always))]
fn boot(out: &mut Out) -> (&'static mut App, &'static mut LineReader) {
    let syst = match cortex_m::Peripherals::take() {
        Some(p) => p.SYST,
        None => {
            out.line(msg::PERIPHERALS_TAKEN);
            exit_failure();
        }
    };
    let Some((app, reader)) = load(syst, out) else {
        out.line(msg::STATE_TAKEN);
        exit_failure();
    };
    (app, reader)
}

/// The model loaded into the protocol's state in static RAM (`None` if that was taken
/// already), or the end of the program with the reason. Out of line on the Cortex-M4F,
/// where [`boot`] is inlined into `main`: there the mode's state before it moves stayed
/// in `main`'s frame, below the protocol for good (the stack's peak fell by 24–608
/// bytes over the fixtures, most for the quantized and classify builds; code −596 to
/// +1,684 bytes).
#[cfg_attr(feature = "mps2-an386", inline(never))]
#[cfg_attr(not(feature = "mps2-an386"), inline(always))]
fn load(syst: SYST, out: &mut Out) -> Option<&'static mut (App, LineReader)> {
    let app = App::boot(syst);
    // Boot (the loader's checks, the mode's state before it moves to static RAM) is the
    // first place where the stack can run into the buffers.
    stop_if_out_of_stack(out);
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            out.str(msg::CANNOT_LOAD);
            e.write_to(out);
            out.byte(b'\n');
            exit_failure();
        }
    };
    // The protocol's state lives in static RAM (.bss), the stack holds only what a
    // command needs while it runs: `/mem` then tells the two apart.
    cortex_m::singleton!(: (App, LineReader) = (app, LineReader::new()))
}

/// The banner, then the protocol: one line (or raw byte) at a time, for ever (out of
/// line but on the M4F: see [`boot`]).
#[cfg_attr(not(feature = "mps2-an386"), inline(never))]
#[cfg_attr(feature = "mps2-an386", inline(always))]
fn serve(app: &mut App, reader: &mut LineReader, mut out: Out) -> ! {
    out.str("rnn-firmware board=");
    out.str(board::NAME);
    out.str(" cpu=");
    out.str(board::CPU);
    out.str(" ");
    app.banner(&mut out);
    out.str(" model_bytes=");
    out.uint(model::MODEL.0.len() as u64);
    out.byte(b'\n');
    out.line(msg::READY);
    // The last line ended with `\r`: a `\n` right after it belongs to the same line end.
    let mut skip_lf = false;
    loop {
        let byte = out.uart.read_byte();
        if core::mem::take(&mut skip_lf) && byte == b'\n' {
            continue;
        }
        if app.raw_byte(byte, &mut out) {
            continue;
        }
        if let Some(line) = reader.push(byte) {
            skip_lf = byte == b'\r';
            match line {
                Ok(text) => match text.strip_prefix('/') {
                    // `//abc` is the input `/abc`.
                    Some(rest) if rest.starts_with('/') => app.input(rest, &mut out),
                    Some(command_line) => command(app, command_line, &mut out),
                    None => app.input(text, &mut out),
                },
                Err(problem) => {
                    if app.dropped() {
                        line_problem(problem, &mut out);
                    }
                }
            }
            stop_if_out_of_stack(&mut out);
        }
    }
}

/// A command line (after its `/`): the shared commands here, the others by the mode.
fn command<M: Mode>(app: &mut M, line: &str, out: &mut Out) {
    let mut rest = line;
    let name = next_word(&mut rest).unwrap_or("");
    let arg = next_word(&mut rest);
    let extra = next_word(&mut rest).is_some();
    match (name, arg) {
        ("bench", None) => app.bench(out),
        ("mem", None) => mem(out),
        ("exit", None) => {
            out.line(msg::EXIT);
            debug::exit(debug::EXIT_SUCCESS);
        }
        ("help", None) => {
            out.str("help: ");
            out.str(M::HELP);
            out.str("; commands: ");
            out.str(M::COMMANDS);
            out.line("/bench, /mem, /exit, /help");
        }
        ("bench" | "mem" | "exit" | "help", Some(_)) => takes_no_argument(name, out),
        _ => {
            if !app.command(name, arg, extra, out) {
                out.str(msg::UNKNOWN_COMMAND);
                out.escape_default(name);
                out.line(msg::TRY_HELP);
            }
        }
    }
}

/// The next word of `rest` (words are separated by runs of spaces), or `None`; `rest`
/// keeps what follows it. (A byte loop: `str::split` with a filter costs about 150 bytes
/// of flash more on the Cortex-M0.)
fn next_word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let bytes = rest.as_bytes();
    let start = bytes.iter().position(|&b| b != b' ')?;
    let len = bytes
        .get(start..)
        .and_then(|w| w.iter().position(|&b| b == b' '))
        .unwrap_or(bytes.len() - start);
    let word = rest.get(start..start + len)?;
    *rest = rest.get(start + len..).unwrap_or("");
    Some(word)
}

/// `error: /NAME takes no argument`.
pub fn takes_no_argument(name: &str, out: &mut Out) {
    out.str("error: /");
    out.str(name);
    out.line(msg::TAKES_NO_ARGUMENT);
}

/// The answer to a line the reader dropped.
pub fn line_problem(problem: Problem, out: &mut Out) {
    match problem {
        Problem::TooLong => {
            out.str(msg::LINE_TOO_LONG);
            out.uint(LINE_MAX as u64);
            out.line(" bytes");
        }
        Problem::NonAscii(b) => non_ascii(b, out),
        Problem::InvalidUtf8 { offset, byte } => {
            out.str(msg::INVALID_UTF8);
            out.uint(offset as u64);
            out.str(" (0x");
            out.hex(byte.into(), 2, true);
            out.line(")");
        }
    }
}

/// `error: non-ASCII byte 0xXX`.
pub fn non_ascii(b: u8, out: &mut Out) {
    out.str(msg::NON_ASCII);
    out.hex(b.into(), 2, true);
    out.byte(b'\n');
}

/// `/bench`'s closing words: the clock and why the counts are exact.
pub fn bench_clock(out: &mut Out) {
    out.str(", clock ");
    out.uint(board::CLOCK_HZ.into());
    out.line(msg::EXACT);
}

fn mem(out: &mut Out) {
    let (peak, available) = measure::stack_peak();
    out.str("mem: static ");
    out.uint(measure::static_ram() as u64);
    out.str(" bytes (.data+.bss), stack peak ");
    match peak {
        Some(peak) => out.uint(peak as u64),
        None => out.str("unknown"),
    }
    out.str(" bytes of ");
    out.uint(available as u64);
    out.byte(b'\n');
}

/// When the stack has grown into the static buffers, what follows may be wrong: say so
/// once, loudly, and stop (the answers before may be wrong too, as the message says).
/// Not inlined: at `opt-level = 3` two inlined copies reshaped the main loop (+1.1 KB).
#[inline(never)]
fn stop_if_out_of_stack(out: &mut Out) {
    if measure::stack_exhausted() {
        out.line(msg::OUT_OF_STACK);
        exit_failure();
    }
}

/// Ends the QEMU session with a failure status (semihosting), or stops here on a board
/// without a debugger.
fn exit_failure() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

// Formats nothing: the message and location would link `core::fmt` (kilobytes), and no
// panic is expected (the tests feed random bytes); the exit status says it happened.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    Uart::init().str(msg::PANIC);
    exit_failure();
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    let mut uart = Uart::init();
    uart.str(msg::HARD_FAULT);
    uart.hex(frame.pc().into(), 8, false);
    uart.str("\n");
    exit_failure();
}
