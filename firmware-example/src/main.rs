//! Runs a character-level Elman network on a Cortex-M board and talks a line protocol on
//! UART0 (documented in `README.md`): each line is a prefix that the model completes into
//! a name, or a command (`/seed N`, `/greedy`, `/sample T`, `/stream`, `/bench`, `/mem`,
//! `/help`). The model is embedded at build time and checked by `rnn-core`'s loader at
//! boot; its weights are read from flash in place.

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
use rnn_core::{generate, Elman, ModelView, Rng, Sampler};

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

/// The model's weights are read as `f32`s straight from flash (one load per weight).
type Model = Elman<'static, I, H, O, f32>;

/// Places the embedded model file at a 4-aligned address; the format aligns the weights
/// within the file, so they can be viewed as `f32`s in place.
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// Checks the embedded model with all of `rnn-core`'s checks and opens it in place.
fn load_model() -> Result<Model, rnn_core::Error> {
    let view = ModelView::parse(&model::MODEL.0)?;
    // SAFETY: every bit pattern is a valid `f32`, and `align_to` only hands out the part
    // of the slice that is aligned for it.
    let (head, floats, tail) = unsafe { view.weight_bytes().align_to::<f32>() };
    if !head.is_empty() || !tail.is_empty() {
        // Not reached: `Aligned` and the format's padding align the weights. Should it
        // happen, `with_floats` rejects the short slice with a typed error.
        return Model::with_floats(&view, &[]);
    }
    // Checks the cell kind and the sizes against I, H, O, and that `floats` holds the
    // file's weights bit for bit.
    Model::with_floats(&view, floats)
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
    a: [f32; H],
    scratch: [f32; H],
    logits: [f32; O],
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let mut out = Out {
        uart: Uart::init(),
        last: b'\n',
    };
    let model = match load_model() {
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
            a: [0.0; H],
            scratch: [0.0; H],
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
        "rnn-firmware board={} cpu={} cell=elman input={I} hidden={H} output={O} vocab={} \
         model_bytes={}",
        board::NAME,
        board::CPU,
        app.model.vocab().len(),
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
        let vocab = self.model.vocab();
        // Check every character before printing anything, so that an error is one line.
        if let Some(e) = prefix.chars().find_map(|c| vocab.index_of(c).err()) {
            let _ = writeln!(out, "error: {e}");
            return;
        }
        let _ = out.write_str(prefix);
        let result = generate(
            self.model.weights(),
            &vocab,
            prefix,
            self.sampler,
            &mut self.rng,
            MAX_LEN,
            &mut self.a,
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
                self.a = [0.0; H];
                self.model.step_start(&mut self.a, &mut self.logits);
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
        let vocab = self.model.vocab();
        match self
            .model
            .step_char(&mut self.a, char::from(byte), &mut self.logits)
        {
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
        let mut a = [0.0f32; H];
        let mut logits = [0.0f32; O];
        model.step_start(&mut a, &mut logits);
        let greedy = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = argmax(&logits);
                let _ = model.step_token(&mut a, token, &mut logits);
            }
            core::hint::black_box(&logits);
        });
        let mut rng = Rng::new(DEFAULT_SEED);
        model.step_start(&mut a, &mut logits);
        let sampled = measure::ticks(&mut self.syst, || {
            for _ in 0..BENCH_STEPS {
                let token = sample(&logits, Sampler::Temperature(1.0), &mut rng).unwrap_or(0);
                let _ = model.step_token(&mut a, token, &mut logits);
            }
            core::hint::black_box(&logits);
        });
        let (Some(greedy), Some(sampled)) = (greedy, sampled) else {
            let _ = writeln!(out, "error: bench: SysTick did not count, or wrapped");
            return;
        };
        let macs = (H * H + O * H + H) as u64;
        let per_step =
            |ticks| measure::instructions(ticks, board::CLOCK_HZ) / u64::from(BENCH_STEPS);
        let (greedy, sampled) = (per_step(greedy), per_step(sampled));
        let hundredths = greedy * 100 / macs;
        let _ = writeln!(
            out,
            "bench: greedy {greedy} instructions/step ({}.{:02} per MAC), sampling {sampled} \
             instructions/step, {macs} MACs/step (H*H+O*H+H), {BENCH_STEPS} steps, \
             clock {} Hz (instructions are exact under qemu -icount shift=0)",
            hundredths / 100,
            hundredths % 100,
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
