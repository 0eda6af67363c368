//! `exp`, `tanh` and `σ` of the float cells, written with plain arithmetic: the same
//! functions in the trainer and on every target, so trainer and device agree on the
//! activations bit for bit, and cheap where a library call is not (LLVM vectorises them
//! on the host; on a soft-float part they take fewer routine calls than `libm`'s
//! `tanhf`/`expf`).
//!
//! Only exact operations and plain `*`, `+`, `-`, `/` are used (no fused multiply-add),
//! each correctly rounded by IEEE 754, so the results are the same on every x86-64 vector
//! width, on the Cortex-M4F's FPU and in the M0's and M3's soft float.

const LOG2E: f32 = core::f32::consts::LOG2_E;
// ln 2 split in two so that `n · LN2_HI` is exact for the n that occur (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2^23: adding and subtracting it rounds to the nearest integer without `round()`,
/// which would be a library call on x86-64 without SSE4.1 and on every Cortex-M.
const ROUND: f32 = 12_582_912.0;

/// `e^x`, relative error below 2e-7 for `x` in [-87, 88]; clamped outside that range (so
/// `exp(-inf)` is `e^-87`, not 0). NaN in, NaN out.
// Out of line on a microcontroller: one copy of the polynomial instead of one in every
// activation loop of every cell (1-3 KB on the Cortex-M4F at `opt-level = 3`), at the
// cost of a call; on the host it is inlined so that those loops vectorise.
#[cfg_attr(target_os = "none", inline(never))]
#[cfg_attr(not(target_os = "none"), inline)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r to degree 7 on |r| <= ln2/2: truncation error < 3e-9.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    // `n` is an integer in [-126, 127] here, and `shifted`'s low mantissa bits hold it
    // offset by ROUND's: read off the bits rather than with `n as i32`, a saturating
    // conversion that keeps the host's loops scalar and is a library call in soft float.
    // (A NaN `x` gives some `scale`, and `p` is NaN anyway.)
    let k = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits((k.wrapping_add(127) as u32) << 23);
    p * scale
}

/// `tanh(x) = 1 - 2 / (e^{2x} + 1)`, absolute error below 3e-7.
#[inline]
pub fn tanh(x: f32) -> f32 {
    // Beyond |x| = 10, tanh rounds to ±1 in f32; clamping also keeps e^{2x} finite.
    let x = x.clamp(-10.0, 10.0);
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// `σ(x) = 1 / (1 + e^{-x})`, absolute error below 2e-7.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest error of `f` against `reference` (in f64, `libm`'s) over `x = k · step`
    /// for `k` in `range`, relative when `relative`.
    fn worst(
        f: fn(f32) -> f32,
        reference: fn(f64) -> f64,
        range: core::ops::RangeInclusive<i32>,
        step: f32,
        relative: bool,
    ) -> f64 {
        range
            .map(|k| {
                let x = k as f32 * step;
                let want = reference(f64::from(x));
                let err = (f64::from(f(x)) - want).abs();
                if relative {
                    err / want
                } else {
                    err
                }
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_within_2e_7_relative() {
        let e = worst(exp, libm::exp, -8700..=8800, 0.01, true);
        assert!(e < 2e-7, "worst relative error {e}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_within_3e_7_absolute() {
        let e = worst(tanh, libm::tanh, -2000..=2000, 0.005, false);
        assert!(e < 3e-7, "tanh: worst absolute error {e}");
        let e = worst(
            sigmoid,
            |x| 1.0 / (1.0 + libm::exp(-x)),
            -4000..=4000,
            0.005,
            false,
        );
        assert!(e < 2e-7, "sigmoid: worst absolute error {e}");
        assert_eq!((tanh(50.0), tanh(-50.0)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
        assert!(sigmoid(-1000.0) > 0.0);
    }
}
