//! What `rnn-core` costs in flash on its own: load the embedded model from flash (every
//! check of the loader), one step from the start symbol, the greedy next symbol — nothing
//! printed, no protocol. `cargo xtask test` measures this binary's code size on the
//! micro:bit against `size-budget.txt`, and the number is stated in `rnn-core`'s docs.
//!
//! The exit status (semihosting, so QEMU ends with it) says whether a symbol came out:
//! the work cannot be optimised away, and a test can run it.
//!
//! Built for a one-layer Elman model (the dinosaur model); with another model it builds
//! but the loader's check of the architecture fails and it exits with failure.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use rnn_core::sample::argmax;

/// Places the embedded model file at a 4-aligned address (`build.rs`'s `MODEL` names it).
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

// The model file and its sizes, from `build.rs` (the same constants the firmware uses).
#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

/// The greedy next symbol after the start symbol, or `None` when the model does not load
/// as an Elman layer of the compiled sizes.
fn next_symbol() -> Option<char> {
    let cell =
        rnn_core::Elman::<{ model::I }, { model::H }, { model::O }>::from_bytes(&model::MODEL.0)
            .ok()?;
    let mut state = [0.0f32; model::H];
    let mut logits = [0.0f32; model::O];
    cell.step_start(&mut state, &mut logits);
    cell.vocab().symbol(argmax(&logits))
}

#[entry]
fn main() -> ! {
    let status = match core::hint::black_box(next_symbol()) {
        Some(_) => debug::EXIT_SUCCESS,
        None => debug::EXIT_FAILURE,
    };
    debug::exit(status);
    loop {
        cortex_m::asm::wfi();
    }
}

// Formats nothing, as in the firmware: `rnn-core` does not panic, so this is not reached.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
