//! The Cortex-M4F's dot-product kernel: four rows of weights against one vector, loading
//! four consecutive floats per instruction (`vldmia`), which Rust's portable loops do not
//! get from LLVM. It keeps `rnn-core`'s summation contract (see `rnn_core::Weight`): each
//! sum starts at 0.0 and adds `w[j] · x[j]` for `j = 0, 1, …` with `vmla.f32`, which rounds
//! the product and then the sum (it is not fused), so the bits equal the host's. The QEMU
//! parity tests compare every answer with the host.

/// A weight read by the M4F kernel: an `f32` in a 4-aligned model file.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub struct Vfp(pub f32);

impl rnn_core::Weight for Vfp {
    #[inline(always)]
    fn value(&self) -> f32 {
        self.0
    }

    #[inline(always)]
    fn dot4(w0: &[Self], w1: &[Self], w2: &[Self], w3: &[Self], x: &[f32]) -> [f32; 4] {
        let n = x
            .len()
            .min(w0.len())
            .min(w1.len())
            .min(w2.len())
            .min(w3.len());
        let blocks = n / 4;
        let mut s = [0.0f32; 4];
        if blocks > 0 {
            // SAFETY: each pointer is read for `4 · blocks <= n` floats of a slice at least
            // `n` long, 4-byte aligned as `vldmia` needs (`&[f32]`, `&[Vfp]`); the FPU is
            // there on this board (the target is `thumbv7em-none-eabihf`).
            s = unsafe {
                dot4_blocks(
                    [w0.as_ptr(), w1.as_ptr(), w2.as_ptr(), w3.as_ptr()],
                    x.as_ptr(),
                    blocks,
                )
            };
        }
        let [mut s0, mut s1, mut s2, mut s3] = s;
        for j in 4 * blocks..n {
            let xj = x[j];
            s0 += w0[j].0 * xj;
            s1 += w1[j].0 * xj;
            s2 += w2[j].0 * xj;
            s3 += w3[j].0 * xj;
        }
        [s0, s1, s2, s3]
    }
}

/// The sums over the first `4 · blocks` columns.
///
/// # Safety
/// Each of the five pointers must be 4-byte aligned and valid for reading `4 · blocks`
/// floats, and `blocks > 0`.
unsafe fn dot4_blocks(w: [*const Vfp; 4], x: *const f32, blocks: usize) -> [f32; 4] {
    // The sums live in s0-s3 inside the loop and in memory outside it: stable Rust cannot
    // bind single-precision registers as operands on this target, only clobber them.
    let mut acc = [0.0f32; 4];
    // SAFETY: the caller's contract; the asm reads only those floats, writes only the
    // registers declared here, and does not touch the stack.
    unsafe {
        core::arch::asm!(
            "vldmia {acc}, {{s0-s3}}",
            "2:",
            "vldmia {x}!, {{s4-s7}}",
            "vldmia {a}!, {{s8-s11}}",
            "vmla.f32 s0, s8, s4",
            "vmla.f32 s0, s9, s5",
            "vmla.f32 s0, s10, s6",
            "vmla.f32 s0, s11, s7",
            "vldmia {b}!, {{s8-s11}}",
            "vmla.f32 s1, s8, s4",
            "vmla.f32 s1, s9, s5",
            "vmla.f32 s1, s10, s6",
            "vmla.f32 s1, s11, s7",
            "vldmia {c}!, {{s8-s11}}",
            "vmla.f32 s2, s8, s4",
            "vmla.f32 s2, s9, s5",
            "vmla.f32 s2, s10, s6",
            "vmla.f32 s2, s11, s7",
            "vldmia {d}!, {{s8-s11}}",
            "vmla.f32 s3, s8, s4",
            "vmla.f32 s3, s9, s5",
            "vmla.f32 s3, s10, s6",
            "vmla.f32 s3, s11, s7",
            "subs {n}, {n}, #1",
            "bne 2b",
            "vstmia {acc}, {{s0-s3}}",
            acc = in(reg) acc.as_mut_ptr(),
            x = inout(reg) x => _,
            a = inout(reg) w[0] => _,
            b = inout(reg) w[1] => _,
            c = inout(reg) w[2] => _,
            d = inout(reg) w[3] => _,
            n = inout(reg) blocks => _,
            out("s0") _, out("s1") _, out("s2") _, out("s3") _,
            out("s4") _, out("s5") _, out("s6") _, out("s7") _,
            out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            options(nostack),
        );
    }
    acc
}
