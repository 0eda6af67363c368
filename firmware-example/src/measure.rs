//! Measurements the firmware reports about itself: instructions per step (SysTick under
//! QEMU's `-icount shift=0`) and RAM use (static sections from the linker's symbols, the
//! stack's high-water mark by painting it at boot).

use core::ptr::{read_volatile, write_volatile};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

/// The SysTick reload value: the counter's full 24 bits.
const RELOAD: u32 = 0x00FF_FFFF;

/// Runs `f` and returns the SysTick ticks it took (processor clock, counting down from
/// [`RELOAD`], reset right before `f`), or `None` when the counter wrapped (more than
/// 2^24 ticks) or did not count at all.
pub fn ticks(syst: &mut SYST, f: impl FnOnce()) -> Option<u32> {
    syst.disable_counter();
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    // Reading the control register clears COUNTFLAG.
    let _ = syst.has_wrapped();
    syst.enable_counter();
    f();
    let end = SYST::get_current();
    let wrapped = syst.has_wrapped();
    syst.disable_counter();
    let elapsed = RELOAD - end;
    (!wrapped && elapsed > 0).then_some(elapsed)
}

/// Converts processor-clock ticks to instructions: under `qemu -icount shift=0` one
/// instruction takes 1 ns of virtual time, so `instructions = ticks · 10⁹ / clock_hz`.
pub fn instructions(ticks: u32, clock_hz: u32) -> u64 {
    div(u64::from(ticks) * 1_000_000_000, u64::from(clock_hz))
}

/// `n / d` (0 for `d = 0`), a bit at a time: a few dozen bytes of code where the library's
/// 64-bit division takes about 900 on the Cortex-M0, and only `/bench` divides 64-bit
/// numbers, a few times per command.
pub fn div(n: u64, d: u64) -> u64 {
    if d == 0 {
        return 0;
    }
    let (mut q, mut r) = (0u64, 0u64);
    for i in (0..64).rev() {
        // `r < d` before the shift; the bit shifted out makes `r` at least `d`.
        let over = r >> 63 == 1;
        r = (r << 1) | ((n >> i) & 1);
        if over || r >= d {
            r = r.wrapping_sub(d);
            q |= 1 << i;
        }
    }
    q
}

extern "C" {
    // Symbols of cortex-m-rt's `link.x`.
    static __sdata: u32;
    static __edata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static __suninit: u32;
    static __euninit: u32;
    static _stack_start: u32;
    static _stack_end: u32;
}

fn addr(symbol: *const u32) -> usize {
    symbol as usize
}

/// Bytes of the static RAM sections: `.data`, `.bss` and `.uninit`.
pub fn static_ram() -> usize {
    let (data, bss, uninit) = (
        addr(&raw const __edata) - addr(&raw const __sdata),
        addr(&raw const __ebss) - addr(&raw const __sbss),
        addr(&raw const __euninit) - addr(&raw const __suninit),
    );
    data + bss + uninit
}

/// The word written over the free stack at boot.
const PAINT: u32 = 0x5AC3_A55A;
/// At most this much of the stack is painted, so boot stays quick on boards with
/// megabytes of RAM; a stack that grows past it reads as "at least" this deep.
const PAINT_MAX: usize = 64 * 1024;

/// The stack's lowest address that is painted.
fn paint_bottom() -> usize {
    let top = addr(&raw const _stack_start);
    let end = addr(&raw const _stack_end);
    end.max(top.saturating_sub(PAINT_MAX))
}

/// Fills the unused stack below the current stack pointer with [`PAINT`]. Call first
/// thing at boot, before the stack has been deep.
#[inline(never)]
pub fn paint_stack() {
    // Leave a margin below the stack pointer for this function's own frame.
    let sp = cortex_m::register::msp::read() as usize;
    let top = (sp - 64) & !3;
    let mut p = paint_bottom();
    while p < top {
        // SAFETY: `p` is word-aligned and lies between the end of the static sections
        // (`_stack_end`) and the live part of the stack, memory that nothing uses yet.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Whether the stack has grown down to the static sections since boot: the lowest word
/// above them, painted at boot, was written, so the buffers below may have been
/// overwritten too. Only where the whole free stack was painted (see [`PAINT_MAX`]).
pub fn stack_exhausted() -> bool {
    let end = addr(&raw const _stack_end);
    // SAFETY: a word-aligned address of the stack region (`_stack_end` is 4-aligned,
    // cortex-m-rt asserts it), below its live part whenever this is called.
    paint_bottom() == end
        && end < addr(&raw const _stack_start)
        && unsafe { read_volatile(end as *const u32) } != PAINT
}

/// The stack's high-water mark since boot, and the stack space the linker left, in bytes.
/// The mark is `None` when the stack grew past the painted area (see [`PAINT_MAX`]).
pub fn stack_peak() -> (Option<usize>, usize) {
    let top = addr(&raw const _stack_start);
    let bottom = paint_bottom();
    let mut p = bottom;
    // SAFETY: reads word-aligned addresses inside the stack region, below its live part.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    let available = top - addr(&raw const _stack_end);
    ((p > bottom).then_some(top - p), available)
}
