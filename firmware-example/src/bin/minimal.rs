//! What `rnn-core` costs in flash on its own: load the embedded model from flash (every
//! check of the loader), one step from the start symbol, the greedy next symbol — nothing
//! printed, no protocol. `cargo xtask test` measures this binary's code size on the
//! micro:bit against `size-budget.txt`, and the number is stated in `rnn-core`'s docs.
//!
//! The exit status (semihosting, so QEMU ends with it) says whether a symbol came out:
//! the work cannot be optimised away, and a test can run it.
//!
//! Built for a one-layer Elman model (the dinosaur model); with another float model it
//! builds but the loader's check of the architecture fails and it exits with failure. A
//! quantized next-symbol model of any architecture runs through `QNetwork` instead (built
//! for its cell kind and weight type): the integer path's own share.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
#[cfg(not(rnn_quantized))]
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
#[cfg(not(rnn_quantized))]
fn next_symbol() -> Option<char> {
    let cell =
        rnn_core::Elman::<{ model::I }, { model::H }, { model::O }>::from_bytes(&model::MODEL.0)
            .ok()?;
    let mut state = [0.0f32; model::H];
    let mut logits = [0.0f32; model::O];
    cell.step_start(&mut state, &mut logits);
    cell.vocab().symbol(argmax(&logits))
}

/// The portable integer kernel, built for the model's cell kind and weight type alone, as
/// the firmware builds its own: the other kinds' steps are not linked.
#[cfg(rnn_quantized)]
struct ForModel;

#[cfg(rnn_quantized)]
impl rnn_core::quant::Kernel for ForModel {
    const CELL: Option<rnn_core::CellKind> = Some(model::CELL);
    const PRECISION: Option<rnn_core::Precision> = Some(model::PRECISION);
}

/// A quantized model (`build.rs`'s `cfg(rnn_quantized)`): the same through `QNetwork`
/// (any depth, the portable kernel built for the model's cell kind and weight type) and
/// the integer logits' greedy symbol, or `None` when the model does not load as a
/// quantized next-symbol model of the compiled kind and buffer sizes.
#[cfg(rnn_quantized)]
fn next_symbol() -> Option<char> {
    let view = rnn_core::ModelView::parse(&model::MODEL.0).ok()?;
    // Sized for the model's depth, as the firmware does: no empty layer slots.
    let net = rnn_core::QNetwork::<ForModel, { model::LAYERS }>::with_kernel(&view).ok()?;
    let mut state = [0i16; model::STATE_LEN];
    let mut scratch = [0i32; model::SCRATCH_LEN];
    let mut logits = [0i32; model::O];
    net.step(
        &mut state,
        rnn_core::QInput::Start,
        &mut scratch,
        &mut logits,
    )
    .ok()?;
    view.vocab().symbol(rnn_core::sample::argmax_i32(&logits))
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
