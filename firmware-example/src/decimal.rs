//! Numbers printed as decimals without `core::fmt`, computed exactly from an `f32`'s bits
//! with integer arithmetic: a probability in units of 10⁻⁴ (the classify and tag
//! answers) and any `f32` with a fixed number of decimals, as Rust's `{:.N}` prints it
//! (a regression model's values).
//!
//! Only `rnn_core::Text` is used, so the host's tests compile this file as it is
//! (`tests/tests/protocol.rs`) and compare it with `core::fmt` on millions of values.

use rnn_core::Text;

/// `p` in units of 10⁻⁴, rounded to the nearest (half up), computed exactly from the
/// bits of `p`: `p = m · 2^e`, so `p · 10⁴ = m · 10⁴ / 2^-e`, in integers. Below 0 (or
/// NaN) is 0, 1 and above is 10,000.
pub fn per_ten_thousand(p: f32) -> u32 {
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return 10_000;
    }
    let bits = p.to_bits();
    let exponent = (bits >> 23) & 0xFF;
    let fraction = u64::from(bits & 0x7F_FFFF);
    // p = m · 2^-shift with m below 2^24; p < 1 makes the shift at least 24.
    let (m, shift) = if exponent == 0 {
        (fraction, 149)
    } else {
        (fraction | 1 << 23, 150 - exponent)
    };
    // m · 10⁴ < 2^38: from a shift of 39 on, p · 10⁴ is below one half.
    if shift >= 39 {
        return 0;
    }
    ((m * 10_000 + (1 << (shift - 1))) >> shift) as u32
}

/// The most decimals [`write_f32`] prints: `10^9` times a 24-bit fraction fits a `u64`.
pub const MAX_PLACES: u32 = 9;

/// Base of the limbs the integer part is printed from: nine decimal digits per `u32`.
const LIMB: u32 = 1_000_000_000;

/// Appends `v` with `places` decimals (at most [`MAX_PLACES`]), exactly as Rust's
/// `format!("{v:.places$}")` prints an `f32`: the exact binary value rounded to the
/// nearest, ties to even, a `-` for every negative value (also `-0.0` and those that round
/// to zero), `NaN`, `inf`, `-inf`, and every digit of the integer part
/// (`f32::MAX` has 39).
pub fn write_f32<T: Text + ?Sized>(out: &mut T, v: f32, places: u32) {
    let places = places.min(MAX_PLACES);
    if v.is_nan() {
        out.str("NaN");
        return;
    }
    let bits = v.to_bits();
    if bits >> 31 != 0 {
        out.str("-");
    }
    if v.is_infinite() {
        out.str("inf");
        return;
    }
    let exponent = ((bits >> 23) & 0xFF) as i32;
    let fraction = bits & 0x7F_FFFF;
    // |v| = m · 2^e with m below 2^24.
    let (m, e) = if exponent == 0 {
        (fraction, -149)
    } else {
        (fraction | 1 << 23, exponent - 150)
    };
    // The integer part in base 10⁹, least significant limb first: below 2^128, so five
    // limbs hold it.
    let mut limbs = [0u32; 5];
    let mut decimals = 0u64;
    if e >= 0 {
        // An integer: m, doubled e times (e ≤ 104), digit-exact.
        limbs[0] = m;
        for _ in 0..e {
            let mut carry = 0;
            for limb in limbs.iter_mut() {
                let doubled = *limb * 2 + carry;
                carry = u32::from(doubled >= LIMB);
                *limb = doubled - carry * LIMB;
            }
        }
    } else {
        let shift = e.unsigned_abs();
        let m = u64::from(m);
        let (whole, rest) = if shift < 64 {
            (m >> shift, m & ((1u64 << shift) - 1))
        } else {
            (0, m)
        };
        let scale = 10u64.pow(places);
        // rest · 10^places / 2^shift, rounded to the nearest, ties to even: rest is below
        // 2^24 and 10^places at most 10⁹, so the product stays below 2^54; from a shift of
        // 64 on it is below one half (rounds to 0, and 0 is even).
        if shift < 64 {
            let scaled = rest * scale;
            let q = scaled >> shift;
            let r = scaled & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            // The last digit printed is q's, or the integer part's when no decimals.
            let last = if places == 0 { whole } else { q };
            let up = r > half || (r == half && last & 1 == 1);
            decimals = q + u64::from(up);
        }
        let mut whole = whole;
        if decimals == scale {
            whole += 1;
            decimals = 0;
        }
        // whole ≤ 2^24: one limb.
        limbs[0] = whole as u32;
    }
    let top = limbs.iter().rposition(|&l| l != 0).unwrap_or(0);
    for (k, &limb) in limbs.iter().enumerate().take(top + 1).rev() {
        if k == top {
            out.uint(limb.into());
        } else {
            padded(out, limb.into(), 9);
        }
    }
    if places > 0 {
        out.str(".");
        padded(out, decimals, places);
    }
}

/// Appends `n` (below `10^width`) in decimal with exactly `width` digits, zero-padded.
fn padded<T: Text + ?Sized>(out: &mut T, n: u64, width: u32) {
    let mut buf = [b'0'; MAX_PLACES as usize];
    let width = (width as usize).min(buf.len());
    let mut n = n;
    for slot in buf.iter_mut().take(width).rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // Only ASCII digits were written.
    if let Ok(s) = core::str::from_utf8(buf.get(..width).unwrap_or(&[])) {
        out.str(s);
    }
}
