//! The Cortex-M4's integer kernel for quantized models, beside the FPU kernel of
//! `kernel.rs`: built for the mps2-an386 board with a quantized model.

/// The Cortex-M4's integer kernel for quantized models (`rnn_core::quant::Kernel`): the
/// DSP extension's `SMLAD` does two 16 × 16-bit multiply-accumulates in one instruction
/// and `SXTB16` widens two int8 weights at once; int16 weights go through `SMLALD` (two
/// MACs into a 64-bit sum). Integer sums are exact, so these equal the portable kernel's
/// sums bit for bit in any order: an int8 row's sum fits `i32` (rnn-core limits the rows
/// to 512 inputs) and both wrap alike modulo 2^32 anyway; an int16 row's fits `i64`. The
/// QEMU parity tests compare every answer with the host's portable kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dsp;

/// Columns per pass of the assembly loops.
const BLOCK: usize = 8;

impl rnn_core::quant::Kernel for Dsp {
    #[inline(always)]
    fn dot_i8(row: &[u8], x: &[i16]) -> i32 {
        let n = row.len().min(x.len());
        let blocks = n / BLOCK;
        let mut acc = 0i32;
        if blocks > 0 {
            // SAFETY: both pointers are read for `BLOCK · blocks <= n` values of slices at
            // least `n` long; the aligned loop is taken only for a 4-aligned `x` (`ldm`
            // needs it; `ldr` reads unaligned words on this core).
            acc = unsafe {
                if (x.as_ptr() as usize).is_multiple_of(4) {
                    dot_i8_aligned(row.as_ptr(), x.as_ptr(), blocks)
                } else {
                    dot_i8_unaligned(row.as_ptr(), x.as_ptr(), blocks)
                }
            };
        }
        for j in BLOCK * blocks..n {
            acc = acc.wrapping_add(i32::from(row[j] as i8) * i32::from(x[j]));
        }
        acc
    }

    #[inline(always)]
    fn dot_i16(row: &[u8], x: &[i16]) -> i64 {
        let n = (row.len() / 2).min(x.len());
        let blocks = n / BLOCK;
        let mut acc = 0i64;
        if blocks > 0 {
            // SAFETY: as in `dot_i8`, for `2 · BLOCK · blocks <= 2 · n` bytes of `row`.
            acc = unsafe { dot_i16_blocks(row.as_ptr(), x.as_ptr(), blocks) };
        }
        for j in BLOCK * blocks..n {
            let w = i16::from_le_bytes([row[2 * j], row[2 * j + 1]]);
            acc = acc.wrapping_add(i64::from(i32::from(w) * i32::from(x[j])));
        }
        acc
    }
}

/// One int8 loop: `$load` puts `x[0..8]` into r0-r3 (two `i16`s each) and advances `x`.
/// Per 4 columns: `SXTB16` gives the weights' bytes 0 and 2 as `[b0, b2]` and (rotated by
/// 8) `[b1, b3]`; `PKHBT`/`PKHTB` pair the inputs the same way, `[x0, x2]` and `[x1, x3]`;
/// two `SMLAD`s add the four products.
macro_rules! dot_i8_loop {
    ($row:expr, $x:expr, $blocks:expr, $($load:literal),+) => {{
        let mut acc = 0i32;
        // SAFETY: the callers' contract; the asm reads only those bytes and writes only
        // the registers declared here.
        unsafe {
            core::arch::asm!(
                "2:",
                $($load,)+
                "ldr {w}, [{row}], #4",
                "sxtb16 {a}, {w}",
                "sxtb16 {w}, {w}, ror #8",
                "pkhbt {t}, r0, r1, lsl #16",
                "pkhtb r1, r1, r0, asr #16",
                "smlad {acc}, {a}, {t}, {acc}",
                "smlad {acc}, {w}, r1, {acc}",
                "ldr {w}, [{row}], #4",
                "sxtb16 {a}, {w}",
                "sxtb16 {w}, {w}, ror #8",
                "pkhbt {t}, r2, r3, lsl #16",
                "pkhtb r3, r3, r2, asr #16",
                "smlad {acc}, {a}, {t}, {acc}",
                "smlad {acc}, {w}, r3, {acc}",
                "subs {n}, {n}, #1",
                "bne 2b",
                row = inout(reg) $row => _,
                x = inout(reg) $x => _,
                n = inout(reg) $blocks => _,
                acc = inout(reg) acc,
                w = out(reg) _,
                a = out(reg) _,
                t = out(reg) _,
                out("r0") _, out("r1") _, out("r2") _, out("r3") _,
                options(nostack, readonly),
            );
        }
        acc
    }};
}

/// `Σ row[j] · x[j]` over the first `8 · blocks` columns, `x` 4-aligned.
///
/// # Safety
/// `row` must be valid for reading `8 · blocks` bytes and `x` for `8 · blocks` `i16`s,
/// `x` 4-byte aligned, and `blocks > 0`.
#[inline(always)]
unsafe fn dot_i8_aligned(row: *const u8, x: *const i16, blocks: usize) -> i32 {
    dot_i8_loop!(row, x, blocks, "ldm {x}!, {{r0, r1, r2, r3}}")
}

/// As [`dot_i8_aligned`] for an `x` that is only 2-aligned: four `ldr`s for one `ldm`.
///
/// # Safety
/// As [`dot_i8_aligned`], but `x` need only be 2-byte aligned.
#[inline(always)]
unsafe fn dot_i8_unaligned(row: *const u8, x: *const i16, blocks: usize) -> i32 {
    dot_i8_loop!(
        row,
        x,
        blocks,
        "ldr r0, [{x}], #4",
        "ldr r1, [{x}], #4",
        "ldr r2, [{x}], #4",
        "ldr r3, [{x}], #4"
    )
}

/// `Σ row[j] · x[j]` over the first `8 · blocks` int16 values of `row` (little-endian, as
/// the core reads them), in 64 bits: `SMLALD` pairs `[w0, w1]` with `[x0, x1]` as loaded.
///
/// # Safety
/// `row` must be valid for reading `16 · blocks` bytes and `x` for `8 · blocks` `i16`s
/// (2-byte aligned), and `blocks > 0`.
#[inline(always)]
unsafe fn dot_i16_blocks(row: *const u8, x: *const i16, blocks: usize) -> i64 {
    let (mut lo, mut hi) = (0u32, 0u32);
    // SAFETY: the caller's contract; unaligned `ldr`s only.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {w}, [{row}], #4",
            "ldr {v}, [{x}], #4",
            "smlald {lo}, {hi}, {w}, {v}",
            "ldr {w}, [{row}], #4",
            "ldr {v}, [{x}], #4",
            "smlald {lo}, {hi}, {w}, {v}",
            "ldr {w}, [{row}], #4",
            "ldr {v}, [{x}], #4",
            "smlald {lo}, {hi}, {w}, {v}",
            "ldr {w}, [{row}], #4",
            "ldr {v}, [{x}], #4",
            "smlald {lo}, {hi}, {w}, {v}",
            "subs {n}, {n}, #1",
            "bne 2b",
            row = inout(reg) row => _,
            x = inout(reg) x => _,
            n = inout(reg) blocks => _,
            lo = inout(reg) lo,
            hi = inout(reg) hi,
            w = out(reg) _,
            v = out(reg) _,
            options(nostack, readonly),
        );
    }
    ((u64::from(hi) << 32) | u64::from(lo)) as i64
}
