//! `tanh` and `σ` in fixed point: a table of `tanh` at 64 points per unit on `[0, 8]`
//! (stored up to where it saturates), linear interpolation between them, odd symmetry for negative inputs, and
//! `σ(x) = (1 + tanh(x/2)) / 2` from the same table. Integer operations only.
//!
//! The table is computed at compile time from an `f64` series (`const fn` float
//! arithmetic), not typed in, so it cannot drift from the function it stands for. Over
//! every `i16` input in Q12 (`x / 4096`, so `[-8, 8)`) the result is within
//! [`TANH_MAX_ERROR`] and [`SIGMOID_MAX_ERROR`] units of 2^-15 of the `f64` function; the
//! tests check every input.

/// Table points per unit of the input.
const PER_UNIT_BITS: u32 = 6;
/// The points on `[0, 8]`, 512 intervals; beyond 8 the result saturates.
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

/// `round(tanh(k / 64) · 2^15)`, capped at `2^15 - 1`.
const fn point(k: usize) -> i16 {
    let x = k as f64 / (1u32 << PER_UNIT_BITS) as f64;
    let e = exp_f64(2.0 * x);
    let v = (e - 1.0) / (e + 1.0) * 32768.0 + 0.5;
    let q = v as i32;
    if q > i16::MAX as i32 {
        i16::MAX
    } else {
        q as i16
    }
}

/// The first point where the table reaches `2^15 - 1` (about `x = 5.3`): every point after
/// it is the same, so the table stops there and an input beyond it gets `2^15 - 1`, the
/// value interpolating between two saturated points gives: 338 bytes less in every build.
const SATURATED: usize = {
    let mut k = 0;
    while k + 1 < POINTS && point(k) < i16::MAX {
        k += 1;
    }
    k
};

/// [`point`] for `k = 0 ..= SATURATED + 1` (the last two both `2^15 - 1`).
const TABLE: [i16; SATURATED + 2] = {
    let mut t = [0i16; SATURATED + 2];
    let mut k = 0;
    while k <= SATURATED + 1 {
        t[k] = point(k);
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
    // Bits of the input below one table step; an index past the table saturates.
    let (index, rest, rest_bits) = if frac >= PER_UNIT_BITS {
        let b = frac - PER_UNIT_BITS;
        (mag >> b, mag & ((1u32 << b) - 1), b)
    } else if mag >> frac < 8 {
        (mag << (PER_UNIT_BITS - frac), 0, 0)
    } else {
        (SATURATED as u32, 0, 0)
    };
    // Clamped, not branched on: the table's last two points are both saturated, so an
    // index past the table interpolates between them to 2^15 - 1, and both reads are in
    // the table, which the compiler sees.
    let i = (index as usize).min(SATURATED);
    let y = match (TABLE.get(i), TABLE.get(i + 1)) {
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
