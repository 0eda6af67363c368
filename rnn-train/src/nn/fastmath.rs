//! `exp` and `tanh` for the training loop, written with plain arithmetic so LLVM can
//! vectorise them (a call into libm per element would cost more than the matrix work at
//! small hidden sizes).
//!
//! They are accurate to a few units in the last place: the trained weights are what matter,
//! and inference on the device uses `rnn-core`'s libm `tanhf`, which the tests compare
//! against (agreement within 1e-5). Only exact operations and plain `*`/`+` are used (no
//! `mul_add`), so the results are the same on every x86-64 and every vector width.

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two so that `n · LN2_HI` is exact for the n that occur (Cody–Waite).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2^23: adding and subtracting it rounds to the nearest integer without `round()`,
/// which would be a libm call on x86-64 without SSE4.1.
const ROUND: f32 = 12_582_912.0;

/// `e^x`, relative error below 2e-7 for `x` in [-87, 88]; clamped outside that range.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r to degree 7 on |r| <= ln2/2: truncation error < 3e-9.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// `tanh(x) = 1 - 2 / (e^{2x} + 1)`, absolute error below 3e-7.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Beyond |x| = 10, tanh rounds to ±1 in f32; clamping also keeps e^{2x} finite.
    let x = x.clamp(-10.0, 10.0);
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std() {
        let mut worst = 0.0f64;
        for k in -8700..=8800 {
            let x = k as f32 * 0.01;
            let want = (x as f64).exp();
            let rel = ((exp(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn tanh_matches_std() {
        let mut worst = 0.0f64;
        for k in -2000..=2000 {
            let x = k as f32 * 0.005;
            let err = (tanh(x) as f64 - (x as f64).tanh()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 3e-7, "worst absolute error {worst}");
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
        assert!(tanh(f32::NAN).is_nan());
    }
}
