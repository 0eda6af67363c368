//! Runs a recurrent network (Elman, GRU or LSTM, 1 to 4 stacked layers, chosen at build
//! time by the embedded model) on a Cortex-M board and talks a line protocol on UART0
//! (documented in `README.md`). A next-symbol model completes each line into a name
//! (`next.rs`: `/seed N`, `/greedy`, `/sample T`, `/stream`); a classifier answers each
//! word, or each sequence of feature vectors, with its class and probability
//! (`classify.rs`). Both have `/bench`, `/mem`, `/help` and `/exit`. The model is embedded
//! at build time and checked by `rnn-core`'s loader at boot, then against the
//! architecture the firmware was built for; its weights are read from flash in place.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod board;
#[cfg(rnn_classify)]
mod classify;
#[cfg(feature = "mps2-an386")]
mod kernel;
mod line;
mod measure;
#[cfg(not(rnn_classify))]
mod next;

#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use core::fmt::Write;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug;
use rnn_core::{Error, ModelView};

use board::Uart;
#[cfg(rnn_classify)]
use classify::App;
use line::{LineReader, Problem, LINE_MAX};
#[cfg(not(rnn_classify))]
use next::App;

/// Places the embedded model file at a 4-aligned address; the format aligns the weights
/// within the file, so they can be viewed as `f32`s in place.
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// Checks the file's architecture against the one compiled in (`rnn-core`'s typed
/// errors: task, cell kind, then layers, `I`, `H`, `O`, directions, normalisation).
fn check_arch(view: &ModelView<'_>) -> Result<(), Error> {
    view.header().check_built_for(&model::HEADER)
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

/// UART0 output that remembers its last byte, so that an error line in streaming mode can
/// start on a line of its own.
pub struct Out {
    uart: Uart,
    last: u8,
}

impl Out {
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
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    measure::paint_stack();
    let mut out = Out {
        uart: Uart::init(),
        last: b'\n',
    };
    let syst = match cortex_m::Peripherals::take() {
        Some(p) => p.SYST,
        None => {
            let _ = writeln!(out, "error: core peripherals already taken");
            exit_failure();
        }
    };
    let app = match App::boot(syst) {
        Ok(app) => app,
        Err(e) => {
            let _ = writeln!(out, "error: cannot load the model: {e}");
            exit_failure();
        }
    };

    // The protocol's state lives in static RAM (.bss), the stack holds only what a
    // command needs while it runs: `/mem` then tells the two apart.
    let state = cortex_m::singleton!(: (App, LineReader) = (app, LineReader::new()));
    let Some((app, reader)) = state else {
        let _ = writeln!(out, "error: the state was already taken");
        exit_failure();
    };
    let _ = write!(
        out,
        "rnn-firmware board={} cpu={} ",
        board::NAME,
        board::CPU
    );
    app.banner(&mut out);
    let _ = writeln!(out, " model_bytes={}", model::MODEL.0.len());
    let _ = writeln!(out, "READY");
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
            app.line(line, &mut out);
        }
    }
}

/// The answer to a line the reader dropped.
fn line_problem(problem: Problem, out: &mut Out) {
    let _ = match problem {
        Problem::TooLong => writeln!(out, "error: line longer than {LINE_MAX} bytes"),
        Problem::NonAscii(b) => writeln!(out, "error: non-ASCII byte 0x{b:02X}"),
        Problem::InvalidUtf8 { offset, byte } => writeln!(
            out,
            "error: invalid UTF-8 at byte offset {offset} (0x{byte:02X})"
        ),
    };
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
