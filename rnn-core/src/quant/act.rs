//! `tanh` and `σ` in fixed point: a table of `tanh` at 64 points per unit on `[0, 8]`,
//! linear interpolation between them, odd symmetry for negative inputs, and
//! `σ(x) = (1 + tanh(x/2)) / 2` from the same table. Integer operations only.
//!
//! The table is computed at compile time from an `f64` series (`const fn` float
//! arithmetic), not typed in, so it cannot drift from the function it stands for. Over
//! every `i16` input in Q12 (`x / 4096`, so `[-8, 8)`) the result is within
//! [`TANH_MAX_ERROR`] and [`SIGMOID_MAX_ERROR`] units of 2^-15 of the `f64` function; the
//! tests check every input.

/// Table points per unit of the input.
const PER_UNIT_BITS: u32 = 6;
/// The table covers `[0, 8]`: 512 intervals.
const POINTS: usize = (8 << PER_UNIT_BITS) + 1;

/// The largest error of [`tanh_q`] over every `i16` input in Q12, in units of 2^-15.
pub const TANH_MAX_ERROR: i32 = 2;
/// The largest error of [`sigmoid_q`] over every `i16` input in Q12, in units of 2^-15.
pub const SIGMOID_MAX_ERROR: i32 = 2;

/// `e^x` in `f64` for `0 ≤ x ≤ 16`, at compile time: `(e^{x/2^10})^{2^10}` with a Taylor
/// series for the small argument (relative error about 1e-13, far below a Q15 step).
const fn exp_f64(x: f64) -> f64 {
    let y = x / 1024.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1;
    while k < 12 {
        term = term * y / k as f64;
        sum += term;
        k += 1;
    }
    let mut i = 0;
    while i < 10 {
        sum *= sum;
        i += 1;
    }
    sum
}

/// `round(tanh(k / 64) · 2^15)`, capped at `2^15 - 1`, for `k = 0 ..= 512`.
const TABLE: [i16; POINTS] = {
    let mut t = [0i16; POINTS];
    let mut k = 0;
    while k < POINTS {
        let x = k as f64 / (1u32 << PER_UNIT_BITS) as f64;
        let e = exp_f64(2.0 * x);
        let v = (e - 1.0) / (e + 1.0) * 32768.0 + 0.5;
        let q = v as i32;
        t[k] = if q > i16::MAX as i32 {
            i16::MAX
        } else {
            q as i16
        };
        k += 1;
    }
    t
};

/// `tanh(x / 2^frac)` in Q15 (`[-32767, 32767]`) for any `x`: the table, interpolated with
/// the input's bits below the table's step. `frac` is at most 24.
#[inline(always)]
pub fn tanh_q(x: i32, frac: u32) -> i16 {
    let frac = frac.min(24);
    let mag = x.unsigned_abs();
    if mag >> frac >= 8 {
        return if x < 0 { -i16::MAX } else { i16::MAX };
    }
    // Bits of the input below one table step.
    let (index, rest, rest_bits) = if frac >= PER_UNIT_BITS {
        let b = frac - PER_UNIT_BITS;
        (mag >> b, mag & ((1u32 << b) - 1), b)
    } else {
        (mag << (PER_UNIT_BITS - frac), 0, 0)
    };
    let y = match (TABLE.get(index as usize), TABLE.get(index as usize + 1)) {
        (Some(&lo), Some(&hi)) => {
            let step = i32::from(hi) - i32::from(lo);
            let mut d = step * rest as i32;
            if rest_bits > 0 {
                d = (d + (1 << (rest_bits - 1))) >> rest_bits;
            }
            i32::from(lo) + d
        }
        _ => i32::from(i16::MAX),
    };
    (if x < 0 { -y } else { y }) as i16
}

/// `σ(x / 2^frac) = (1 + tanh(x / 2^{frac+1})) / 2` in Q15 (`[0, 32767]`).
#[inline(always)]
pub fn sigmoid_q(x: i32, frac: u32) -> i16 {
    ((32768 + i32::from(tanh_q(x, frac + 1))) >> 1) as i16
}
