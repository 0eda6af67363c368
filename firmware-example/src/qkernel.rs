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
    // Built for the model's cell kind and weight type alone: the other kinds' integer steps
    // and the other type's products are not in the image.
    const CELL: Option<rnn_core::CellKind> = Some(crate::model::CELL);
    const PRECISION: Option<rnn_core::Precision> = Some(crate::model::PRECISION);

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

    /// Four int8 rows against one `x` (`rnn-core`'s products come through `matvec_i8`
    /// below, which runs the same loops without this call's per-group setup): per 4
    /// columns the inputs are paired once (`PKHBT`/`PKHTB`: `[x0, x2]`, `[x1, x3]`) for
    /// all four rows, and each row costs one word load, two `SXTB16`s and two `SMLAD`s:
    /// 23 instructions per 16 MACs, 94 per 64 in the 16-column loop with its branch.
    #[inline(always)]
    fn dot4_i8(rows: [&[u8]; 4], x: &[i16]) -> [i32; 4] {
        let [r0, r1, r2, r3] = rows;
        let n = x
            .len()
            .min(r0.len())
            .min(r1.len())
            .min(r2.len())
            .min(r3.len());
        // The loop reads rows 1 and 3 at one offset from rows 0 and 2 (one register for
        // both, one register fewer than four pointers: the loop needs every other one).
        // `rnn-core` passes four consecutive rows of a matrix, so the offsets are equal;
        // any other four rows take the portable loop.
        let stride = (r1.as_ptr() as usize).wrapping_sub(r0.as_ptr() as usize);
        if (r3.as_ptr() as usize).wrapping_sub(r2.as_ptr() as usize) != stride {
            return rnn_core::quant::Portable::dot4_i8(rows, x);
        }
        let aligned = (x.as_ptr() as usize).is_multiple_of(4);
        let mut acc = [0i32; 4];
        let mut done = 0;
        for (block, columns) in [(BLOCK4_WIDE, n / BLOCK4_WIDE), (4, 0)] {
            // The 16-column loop first, then the 4-column one for what it leaves.
            let blocks = if block == 4 { (n - done) / 4 } else { columns };
            if blocks == 0 {
                continue;
            }
            let at = |r: &[u8]| r.as_ptr().wrapping_add(done);
            let xp = x.as_ptr().wrapping_add(done);
            // SAFETY: each row is read for `block · blocks` bytes from `done` and `x` for
            // as many `i16`s, within the `n` every slice has (row 1 at `r0 + stride` is
            // `r1`, row 3 at `r2 + stride` is `r3`); `blocks > 0`; the `ldrd` loop is taken
            // only for a 4-aligned `x` (the core's `ldr` reads unaligned words).
            acc = unsafe {
                match (block, aligned) {
                    (BLOCK4_WIDE, true) => {
                        dot4_wide_aligned(at(r0), at(r2), stride, xp, blocks, acc)
                    }
                    (BLOCK4_WIDE, false) => {
                        dot4_wide_unaligned(at(r0), at(r2), stride, xp, blocks, acc)
                    }
                    (_, true) => dot4_narrow_aligned(at(r0), at(r2), stride, xp, blocks, acc),
                    (_, false) => dot4_narrow_unaligned(at(r0), at(r2), stride, xp, blocks, acc),
                }
            };
            done += block * blocks;
        }
        for j in done..n {
            let x = i32::from(x[j]);
            for (a, r) in acc.iter_mut().zip([r0, r1, r2, r3]) {
                *a = a.wrapping_add(i32::from(r[j] as i8) * x);
            }
        }
        acc
    }

    /// A whole int8 matrix (`rnn-core`'s matrix-vector products): the lengths, the loops'
    /// passes and `x`'s alignment are worked out once for all rows, then every four rows
    /// go through the four-row loops. The rows a matrix leaves after its groups of four
    /// (1 to 3) are the last rows of one more group of four that ends at the matrix's last
    /// row, when it has four: cheaper than single rows, and the rows it computes again
    /// give the same sums.
    #[inline(never)]
    fn matvec_i8(values: &[u8], cols: usize, x: &[i16], out: &mut [i32]) {
        let rows = values.len().checked_div(cols).unwrap_or(0).min(out.len());
        let n = cols.min(x.len());
        if rows < 4 || n < 4 {
            return rnn_core::quant::Portable::matvec_i8(values, cols, x, out);
        }
        let (out, missing) = out.split_at_mut(rows);
        missing.fill(0);
        let passes = Passes {
            wide: n / BLOCK4_WIDE,
            narrow: (n % BLOCK4_WIDE) / 4,
            aligned: (x.as_ptr() as usize).is_multiple_of(4),
        };
        let groups = rows / 4;
        if passes.narrow == 0 && n == BLOCK4_WIDE * passes.wide {
            // Every column in the 16-column loop: the whole matrix in one block of asm.
            // SAFETY: `groups · 4 <= rows` rows of `cols >= n = 16 · wide` bytes are in
            // `values`, `x` holds `n` values, `out` `rows >= 4 · groups` `i32`s; `wide >
            // 0` (`n >= 4` and a multiple of 16) and `groups > 0` (`rows >= 4`).
            unsafe {
                let (p, xp, o) = (values.as_ptr(), x.as_ptr(), out.as_mut_ptr());
                if passes.aligned {
                    dot4_matrix_aligned(p, cols, xp, passes.wide, groups, o);
                } else {
                    dot4_matrix_unaligned(p, cols, xp, passes.wide, groups, o);
                }
            }
        } else {
            for (o, rows) in out.chunks_exact_mut(4).zip(values.chunks_exact(4 * cols)) {
                o.copy_from_slice(&passes.run(rows, cols, x));
            }
        }
        let left = rows % 4;
        if left > 0 {
            let last = values
                .get((rows - 4) * cols..rows * cols)
                .unwrap_or_default();
            let sums = passes.run(last, cols, x);
            out[rows - left..].copy_from_slice(&sums[4 - left..]);
        }
        // The columns after the loops' (`n` not a multiple of 4), row by row.
        let done = 4 * (n / 4);
        if done < n {
            let x = x.get(done..n).unwrap_or_default();
            for (o, row) in out.iter_mut().zip(values.chunks_exact(cols)) {
                let row = row.get(done..n).unwrap_or_default();
                let sum = row
                    .iter()
                    .zip(x)
                    .map(|(&w, &x)| i32::from(w as i8) * i32::from(x));
                *o = sum.fold(*o, i32::wrapping_add);
            }
        }
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

/// The four-row loops' passes over one matrix's rows, worked out once per matrix.
#[derive(Clone, Copy)]
struct Passes {
    /// Passes of the 16-column loop.
    wide: usize,
    /// Passes of the 4-column loop after it.
    narrow: usize,
    /// Whether `x` is 4-aligned (the `ldrd` loops).
    aligned: bool,
}

impl Passes {
    /// The sums of four rows (`rows`, `cols` bytes each, row after row) with `x` over the
    /// loops' columns (`n` rounded down to a multiple of 4).
    #[inline(always)]
    fn run(self, rows: &[u8], cols: usize, x: &[i16]) -> [i32; 4] {
        if rows.len() < 4 * cols {
            return [0; 4];
        }
        let p = rows.as_ptr();
        let p1 = p.wrapping_add(2 * cols);
        let mut acc = [0i32; 4];
        // SAFETY: the four rows are in `rows` (row 1 at `p + cols`, row 3 at `p1 + cols`)
        // and read for their first `16 · wide + 4 · narrow <= n` bytes, `x` for as many
        // values (`n <= x.len()`, `n <= cols`); each loop runs only with a pass to do; the
        // `ldrd` loops only for a 4-aligned `x`.
        unsafe {
            if self.wide > 0 {
                acc = if self.aligned {
                    dot4_wide_aligned(p, p1, cols, x.as_ptr(), self.wide, acc)
                } else {
                    dot4_wide_unaligned(p, p1, cols, x.as_ptr(), self.wide, acc)
                };
            }
            if self.narrow > 0 {
                let d = BLOCK4_WIDE * self.wide;
                let (q0, q1) = (p.wrapping_add(d), p1.wrapping_add(d));
                let xp = x.as_ptr().wrapping_add(d);
                acc = if self.aligned {
                    dot4_narrow_aligned(q0, q1, cols, xp, self.narrow, acc)
                } else {
                    dot4_narrow_unaligned(q0, q1, cols, xp, self.narrow, acc)
                };
            }
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

/// Columns per pass of the wide four-row loop.
const BLOCK4_WIDE: usize = 16;

/// Four columns of four rows: `x[0..4]` into `{a}` and `{w}` (`$load`), paired into
/// `{t0}` = `[x0, x2]` and `{t1}` = `[x1, x3]` once; then per row one word of four
/// weights, `SXTB16` into `[b0, b2]` and (rotated by 8) `[b1, b3]`, two `SMLAD`s. Row 1 is
/// read at `{p0} + {s}` before row 0's load advances `{p0}`, row 3 at `{p1} + {s}` before
/// row 2's.
macro_rules! dot4_group {
    // `x[0..4]` from a 4-aligned `x`: one `ldrd` (which faults on an unaligned address).
    (aligned) => {
        dot4_group!(@ "ldrd {a}, {w}, [{x}], #8\n")
    };
    // From an `x` that is only 2-aligned: two `ldr`s.
    (unaligned) => {
        dot4_group!(@ "ldr {a}, [{x}], #4\nldr {w}, [{x}], #4\n")
    };
    (@ $load:literal) => {
        concat!(
            $load,
            "pkhbt {t0}, {a}, {w}, lsl #16\n",
            "pkhtb {t1}, {w}, {a}, asr #16\n",
            "ldr {w}, [{p0}, {s}]\n",
            "sxtb16 {a}, {w}\n",
            "sxtb16 {w}, {w}, ror #8\n",
            "smlad {c1}, {a}, {t0}, {c1}\n",
            "smlad {c1}, {w}, {t1}, {c1}\n",
            "ldr {w}, [{p0}], #4\n",
            "sxtb16 {a}, {w}\n",
            "sxtb16 {w}, {w}, ror #8\n",
            "smlad {c0}, {a}, {t0}, {c0}\n",
            "smlad {c0}, {w}, {t1}, {c0}\n",
            "ldr {w}, [{p1}, {s}]\n",
            "sxtb16 {a}, {w}\n",
            "sxtb16 {w}, {w}, ror #8\n",
            "smlad {c3}, {a}, {t0}, {c3}\n",
            "smlad {c3}, {w}, {t1}, {c3}\n",
            "ldr {w}, [{p1}], #4\n",
            "sxtb16 {a}, {w}\n",
            "sxtb16 {w}, {w}, ror #8\n",
            "smlad {c2}, {a}, {t0}, {c2}\n",
            "smlad {c2}, {w}, {t1}, {c2}\n",
        )
    };
}

/// The four-row loop over `blocks` passes of `$body` (the groups of one pass), adding
/// into `$acc`. It needs 13 registers and the compiler gives inline assembly 12 (r0-r5,
/// r8-r12, lr): the pass counter lives in r7, the frame pointer, saved on the stack
/// around the loop (nothing in the loop reads the frame pointer; no call is made).
macro_rules! dot4_loop {
    ($p0:expr, $p1:expr, $stride:expr, $x:expr, $blocks:expr, $acc:expr, $($body:expr),+) => {{
        let [mut c0, mut c1, mut c2, mut c3] = $acc;
        // SAFETY: the callers' contract; the asm reads only those bytes, writes only the
        // registers declared here and r7, which it restores, and pushes one word.
        unsafe {
            core::arch::asm!(
                "push {{r7}}",
                "mov r7, {a}",
                "2:",
                $($body,)+
                "subs r7, r7, #1",
                "bne 2b",
                "pop {{r7}}",
                p0 = inout(reg) $p0 => _,
                p1 = inout(reg) $p1 => _,
                s = in(reg) $stride,
                x = inout(reg) $x => _,
                a = inout(reg) $blocks => _,
                w = out(reg) _,
                t0 = out(reg) _,
                t1 = out(reg) _,
                c0 = inout(reg) c0,
                c1 = inout(reg) c1,
                c2 = inout(reg) c2,
                c3 = inout(reg) c3,
                options(readonly),
            );
        }
        [c0, c1, c2, c3]
    }};
}

/// Every group of four rows of a matrix through the 16-column loop, in one block of
/// assembly: the loop over the groups is here too, so that nothing is spilled and
/// reloaded around each group's loop by compiled code. The registers are those of
/// [`dot4_loop!`]; what the outer loop needs besides (`x`'s start, the passes per group,
/// the groups left, the output pointer, the step from one group's end to the next
/// group's start) is pushed below r7's slot at the start and read from there.
macro_rules! dot4_matrix {
    ($p0:expr, $stride:expr, $x:expr, $wide:expr, $groups:expr, $out:expr, $body:expr) => {{
        let p0: *const u8 = $p0;
        let stride: usize = $stride;
        let p1 = p0.wrapping_add(2 * stride);
        // From the end of a group's row 0 and row 2 to the start of the next group's.
        let delta = 4 * stride - BLOCK4_WIDE * $wide;
        // SAFETY: the callers' contract; the asm reads the rows and `x`, writes
        // `4 · groups` `i32`s at `out`, restores r7 and the stack pointer.
        unsafe {
            core::arch::asm!(
                "push {{r7}}",
                "str {t1}, [sp, #-4]!",
                "str {t0}, [sp, #-4]!",
                "str {a}, [sp, #-4]!",
                "str {w}, [sp, #-4]!",
                "str {x}, [sp, #-4]!",
                "3:",
                "mov.w {c0}, #0",
                "mov.w {c1}, #0",
                "mov.w {c2}, #0",
                "mov.w {c3}, #0",
                "ldr {x}, [sp]",
                "ldr r7, [sp, #4]",
                "2:",
                $body,
                $body,
                $body,
                $body,
                "subs r7, r7, #1",
                "bne 2b",
                "ldr {w}, [sp, #12]",
                "strd {c0}, {c1}, [{w}], #8",
                "strd {c2}, {c3}, [{w}], #8",
                "str {w}, [sp, #12]",
                "ldr {w}, [sp, #16]",
                "add {p0}, {p0}, {w}",
                "add {p1}, {p1}, {w}",
                "ldr {w}, [sp, #8]",
                "subs {w}, {w}, #1",
                "str {w}, [sp, #8]",
                "bne 3b",
                "add sp, sp, #20",
                "pop {{r7}}",
                p0 = inout(reg) p0 => _,
                p1 = inout(reg) p1 => _,
                s = in(reg) stride,
                x = inout(reg) $x => _,
                w = inout(reg) $wide => _,
                a = inout(reg) $groups => _,
                t0 = inout(reg) $out => _,
                t1 = inout(reg) delta => _,
                c0 = out(reg) _,
                c1 = out(reg) _,
                c2 = out(reg) _,
                c3 = out(reg) _,
            );
        }
    }};
}

/// `out[4g + k]` = the sum of row `4g + k` of the matrix at `p0` (rows of `stride` bytes)
/// with `x` over `16 · wide` columns, for `g < groups`; `x` 4-aligned.
///
/// # Safety
/// The `4 · groups` rows must be valid for reading their first `16 · wide` bytes, `x` for
/// `16 · wide` `i16`s and 4-byte aligned, `out` for writing `4 · groups` `i32`s (4-byte
/// aligned); `wide > 0`, `groups > 0`, `16 · wide <= stride`.
#[inline(always)]
unsafe fn dot4_matrix_aligned(
    p0: *const u8,
    stride: usize,
    x: *const i16,
    wide: usize,
    groups: usize,
    out: *mut i32,
) {
    dot4_matrix!(p0, stride, x, wide, groups, out, dot4_group!(aligned))
}

/// As [`dot4_matrix_aligned`] for an `x` that is only 2-aligned.
///
/// # Safety
/// As [`dot4_matrix_aligned`], but `x` need only be 2-byte aligned.
#[inline(always)]
unsafe fn dot4_matrix_unaligned(
    p0: *const u8,
    stride: usize,
    x: *const i16,
    wide: usize,
    groups: usize,
    out: *mut i32,
) {
    dot4_matrix!(p0, stride, x, wide, groups, out, dot4_group!(unaligned))
}

/// Adds to `acc` the sums of rows `p0`, `p0 + stride`, `p1`, `p1 + stride` with `x` over
/// `16 · blocks` columns, `x` 4-aligned.
///
/// # Safety
/// The four rows must be valid for reading `16 · blocks` bytes and `x` for `16 · blocks`
/// `i16`s, `x` 4-byte aligned, and `blocks > 0`.
#[inline(always)]
unsafe fn dot4_wide_aligned(
    p0: *const u8,
    p1: *const u8,
    stride: usize,
    x: *const i16,
    blocks: usize,
    acc: [i32; 4],
) -> [i32; 4] {
    dot4_loop!(
        p0,
        p1,
        stride,
        x,
        blocks,
        acc,
        dot4_group!(aligned),
        dot4_group!(aligned),
        dot4_group!(aligned),
        dot4_group!(aligned)
    )
}

/// As [`dot4_wide_aligned`] for an `x` that is only 2-aligned: two `ldr`s for the `ldrd`.
///
/// # Safety
/// As [`dot4_wide_aligned`], but `x` need only be 2-byte aligned.
#[inline(always)]
unsafe fn dot4_wide_unaligned(
    p0: *const u8,
    p1: *const u8,
    stride: usize,
    x: *const i16,
    blocks: usize,
    acc: [i32; 4],
) -> [i32; 4] {
    dot4_loop!(
        p0,
        p1,
        stride,
        x,
        blocks,
        acc,
        dot4_group!(unaligned),
        dot4_group!(unaligned),
        dot4_group!(unaligned),
        dot4_group!(unaligned)
    )
}

/// As [`dot4_wide_aligned`] over `4 · blocks` columns.
///
/// # Safety
/// As [`dot4_wide_aligned`], for `4 · blocks` columns.
#[inline(always)]
unsafe fn dot4_narrow_aligned(
    p0: *const u8,
    p1: *const u8,
    stride: usize,
    x: *const i16,
    blocks: usize,
    acc: [i32; 4],
) -> [i32; 4] {
    dot4_loop!(p0, p1, stride, x, blocks, acc, dot4_group!(aligned))
}

/// As [`dot4_wide_unaligned`] over `4 · blocks` columns.
///
/// # Safety
/// As [`dot4_wide_unaligned`], for `4 · blocks` columns.
#[inline(always)]
unsafe fn dot4_narrow_unaligned(
    p0: *const u8,
    p1: *const u8,
    stride: usize,
    x: *const i16,
    blocks: usize,
    acc: [i32; 4],
) -> [i32; 4] {
    dot4_loop!(p0, p1, stride, x, blocks, acc, dot4_group!(unaligned))
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
