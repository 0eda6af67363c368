//! Text without `core::fmt`: a sink for message pieces ([`Text`]) with the few number
//! and character renderings the crate's messages need, and a correctly rounding `f32`
//! parser ([`parse_f32`]) without the tables of `core`'s.
//!
//! Why: on a Cortex-M0 `core::fmt` and `f32::from_str` cost tens of kilobytes of flash
//! (the formatting machinery, and the power-of-five tables of the float parser), more than
//! the network. A firmware implements [`Text::str`] for its UART and prints
//! [`Error::write_to`](crate::Error::write_to) and its own numbers through the provided
//! methods; the host's [`Display`](core::fmt::Display) of [`Error`](crate::Error) is
//! written through the same [`Text`] pieces, so both print the same bytes.

/// Where text goes, a piece at a time. Only [`Text::str`] is needed; the other methods
/// render numbers and characters into it.
pub trait Text {
    /// Appends `s`.
    fn str(&mut self, s: &str);

    /// Appends one character, UTF-8 encoded.
    fn char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.str(c.encode_utf8(&mut buf));
    }

    /// Appends `n` in decimal, as `{n}` prints it.
    fn uint(&mut self, n: u64) {
        digits(self, n, 10, 1, false);
    }

    /// Appends `n` in hexadecimal with at least `width` digits (zero-padded), in upper
    /// case when `upper`: `{n:08x}` is `hex(n, 8, false)`, `{n:02X}` is `hex(n, 2, true)`.
    fn hex(&mut self, n: u64, width: usize, upper: bool) {
        digits(self, n, 16, width, upper);
    }

    /// Appends `n / 10^places`, a point and `n % 10^places` zero-padded to `places`
    /// digits: a fixed-point decimal, e.g. `fixed(9275, 4)` is `0.9275`.
    fn fixed(&mut self, n: u64, places: u32) {
        let mut buf = [b'0'; 20];
        let places = (places as usize).min(buf.len() - 1);
        let all = render(n, 10, places + 1, false, &mut buf);
        // Digits only, so every index is a boundary; `split_at_checked` links no panic path
        // (`str::split_at`'s took 344 bytes of the Cortex-M0's dinosaur firmware).
        let (whole, frac) = all
            .split_at_checked(all.len().saturating_sub(places))
            .unwrap_or((all, ""));
        self.str(whole);
        self.str(".");
        // No places still prints one zero after the point, as it always has.
        self.str(if frac.is_empty() { "0" } else { frac });
    }

    /// Appends `c` as `{c:?}` prints a `char`: in single quotes, escaped as
    /// [`char::escape_debug`] escapes it, except that `"` stays as it is.
    fn char_debug(&mut self, c: char) {
        self.str("'");
        if c == '"' {
            self.char(c);
        } else {
            c.escape_debug().for_each(|e| self.char(e));
        }
        self.str("'");
    }

    /// Appends `c` as [`Text::char_debug`] does when `c` is ASCII, and any other `char` as
    /// its `'\u{…}'` escape. Unlike `char_debug` it needs none of `core`'s Unicode tables
    /// (about 3 KB on a Cortex-M0): a firmware whose characters are all ASCII by
    /// construction can answer `char_debug` with it and print the same bytes.
    fn char_debug_ascii(&mut self, c: char) {
        self.str("'");
        match c {
            '\0' => self.str("\\0"),
            '\t' => self.str("\\t"),
            '\r' => self.str("\\r"),
            '\n' => self.str("\\n"),
            '\\' => self.str("\\\\"),
            '\'' => self.str("\\'"),
            ' '..='~' => self.char(c),
            _ => {
                self.str("\\u{");
                self.hex(u64::from(u32::from(c)), 1, false);
                self.str("}");
            }
        }
        self.str("'");
    }

    /// Appends `s` as `s.escape_default()` prints it.
    fn escape_default(&mut self, s: &str) {
        s.chars()
            .flat_map(char::escape_default)
            .for_each(|e| self.char(e));
    }
}

/// Appends `n` in `radix` (10 or 16) with at least `width` digits.
// Out of line on a microcontroller: a message quotes many numbers, and the call is smaller
// than the rendering inlined at each.
#[cfg_attr(target_os = "none", inline(never))]
fn digits<T: Text + ?Sized>(t: &mut T, n: u64, radix: u32, width: usize, upper: bool) {
    let mut buf = [b'0'; 20];
    t.str(render(n, radix, width, upper, &mut buf));
}

/// `n` in `radix` with at least `width` digits (at most 20), at the end of `buf`.
fn render(mut n: u64, radix: u32, width: usize, upper: bool, buf: &mut [u8; 20]) -> &str {
    let radix = radix.clamp(2, 16);
    // 20 decimal digits hold any u64 (16 hexadecimal ones); wider padding is capped.
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        let (q, d) = div_small(n, radix);
        let d = d as u8;
        *slot = match d {
            0..=9 => b'0' + d,
            _ if upper => b'A' + d - 10,
            _ => b'a' + d - 10,
        };
        n = q;
        len += 1;
        if n == 0 && len >= width {
            break;
        }
    }
    let start = buf.len().saturating_sub(len);
    // Only ASCII digits were written.
    core::str::from_utf8(buf.get(start..).unwrap_or(&[])).unwrap_or("")
}

/// `ceil(2^16 / d)` for `d` up to 16 (computed when compiling: at run time it would be a
/// division).
const RECIPROCALS: [u32; 17] = {
    let mut t = [0u32; 17];
    let mut d = 1;
    while d < 17 {
        t[d] = (1u32 << 16).div_ceil(d as u32);
        d += 1;
    }
    t
};

/// `(n / d, n % d)` for a radix `2 ≤ d ≤ 16`, 8 bits of `n` at a time and without a
/// division: on a Cortex-M0 a 64-bit division is a library routine of about 900 bytes, a
/// 32-bit one of about 400.
fn div_small(n: u64, d: u32) -> (u64, u32) {
    let d = d.clamp(2, 16);
    // `cur < 16 · 2^8`, and `cur · m` fits 32 bits: `(cur · m) >> 16` is `cur / d` for
    // every such `cur` (the error of `m`, below `d`, adds less than `1 / d`; checked for
    // all of them in the tests).
    let m = RECIPROCALS.get(d as usize).copied().unwrap_or(0);
    let (mut q, mut r) = (0u64, 0u32);
    for shift in (0..64).step_by(8).rev() {
        let cur = (r << 8) | ((n >> shift) as u32 & 0xFF);
        let digit = (cur * m) >> 16;
        q |= u64::from(digit) << shift;
        r = cur - digit * d;
    }
    (q, r)
}

/// [`Text`] into a [`core::fmt::Formatter`]: the host's `Display` of the crate's
/// messages, from the same pieces as a firmware's.
pub(crate) struct FmtText<'a, 'b> {
    pub(crate) f: &'a mut core::fmt::Formatter<'b>,
    pub(crate) result: core::fmt::Result,
}

impl Text for FmtText<'_, '_> {
    fn str(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
}

/// Significant decimal digits kept exactly by [`parse_f32`]; further digits only count
/// as "more than zero". Every midpoint between two adjacent `f32`s has at most 113
/// significant digits (an odd number below 2^25 times 2^-150 at worst), so with 128 digits
/// the digits dropped can never decide a rounding.
const MAX_DIGITS: usize = 128;

/// 32-bit limbs of the big integers in [`parse_f32`]: the largest is `10^(128 + 45)`
/// times `2^25` (the divisor for 128 digits of a value near the smallest subnormal), under
/// 600 bits; 26 limbs hold 832.
const LIMBS: usize = 26;

/// Parses `s` exactly as `s.parse::<f32>().ok()` does (Rust's grammar: an optional sign,
/// then `inf`, `infinity` or `nan` in any case, or digits with an optional point and an
/// optional exponent `e`/`E` with an optional sign, at least one digit before or after the
/// point; no spaces), correctly rounded to the nearest `f32`, ties to even, with
/// overflow to infinity and underflow to zero.
///
/// The value is computed exactly with small big integers (a few hundred bytes of stack)
/// instead of `core`'s tables; one IEEE operation on exact operands (Clinger's fast path)
/// answers short numbers. Never panics.
pub fn parse_f32(s: &str) -> Option<f32> {
    let bytes = s.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    let sign = |v: f32| if negative { -v } else { v };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(sign(f32::INFINITY));
    }
    if rest.eq_ignore_ascii_case(b"nan") {
        return Some(sign(f32::NAN));
    }
    let decimal = Decimal::parse(rest)?;
    Some(sign(decimal.to_f32()))
}

/// `0.d₁d₂…dₙ × 10^point` (plus something below the last digit when `sticky`).
struct Decimal {
    digits: [u8; MAX_DIGITS],
    len: usize,
    /// Nonzero digits were dropped after the [`MAX_DIGITS`] kept ones.
    sticky: bool,
    point: i64,
}

impl Decimal {
    fn parse(bytes: &[u8]) -> Option<Decimal> {
        let mut d = Decimal {
            digits: [0; MAX_DIGITS],
            len: 0,
            sticky: false,
            point: 0,
        };
        let mut rest = bytes;
        let mut any_digit = false;
        let mut after_point = false;
        while let Some((&b, tail)) = rest.split_first() {
            match b {
                b'0'..=b'9' => {
                    any_digit = true;
                    let digit = b - b'0';
                    if d.len == 0 && digit == 0 {
                        // A leading zero: after the point it moves the point.
                        if after_point {
                            d.point = d.point.saturating_sub(1);
                        }
                    } else {
                        if !after_point {
                            d.point = d.point.saturating_add(1);
                        }
                        match d.digits.get_mut(d.len) {
                            Some(slot) => {
                                *slot = digit;
                                d.len += 1;
                            }
                            None => d.sticky |= digit != 0,
                        }
                    }
                }
                b'.' if !after_point => after_point = true,
                _ => break,
            }
            rest = tail;
        }
        if !any_digit {
            return None;
        }
        if let Some((&(b'e' | b'E'), tail)) = rest.split_first() {
            let (negative, digits) = match tail.split_first() {
                Some((b'-', t)) => (true, t),
                Some((b'+', t)) => (false, t),
                _ => (false, tail),
            };
            if digits.is_empty() {
                return None;
            }
            let mut exp: i64 = 0;
            for &b in digits {
                if !b.is_ascii_digit() {
                    return None;
                }
                // Far beyond any f32: the value is 0 or infinite either way.
                exp = (exp * 10 + i64::from(b - b'0')).min(1 << 20);
            }
            d.point = d.point.saturating_add(if negative { -exp } else { exp });
        } else if !rest.is_empty() {
            return None;
        }
        Some(d)
    }

    fn to_f32(&self) -> f32 {
        let digits = self.digits.get(..self.len).unwrap_or(&[]);
        if digits.is_empty() {
            return 0.0;
        }
        // 0.d… × 10^point lies in [10^(point-1), 10^point).
        if self.point > 39 {
            return f32::INFINITY; // at least 10^39, above f32::MAX
        }
        if self.point < -45 {
            return 0.0; // below 10^-46, under half the smallest subnormal
        }
        // The value is D × 10^q with D the digits as an integer.
        let q = self.point - self.len as i64;
        if !self.sticky && self.len <= 8 {
            let d = digits.iter().fold(0u32, |m, &b| m * 10 + u32::from(b));
            if d < 1 << 24 && (-10..=10).contains(&q) {
                // Clinger: D and 10^|q| ≤ 10^10 are exact f32s, and one IEEE operation
                // rounds their product or quotient correctly.
                let mut scale = 1.0f32;
                for _ in 0..q.unsigned_abs() {
                    scale *= 10.0;
                }
                let d = d as f32;
                return if q < 0 { d / scale } else { d * scale };
            }
        }
        // value = num / den exactly (sticky aside).
        let mut num = Big::zero();
        for &b in digits {
            num.mul_small(10);
            num.add_small(u32::from(b));
        }
        let mut den = Big::from(1);
        if q >= 0 {
            num.mul_pow10(q as u32);
        } else {
            den.mul_pow10(q.unsigned_abs() as u32);
        }
        // k = floor(log2(value)): within one of the difference of the bit lengths.
        let mut k = num.bits() as i64 - den.bits() as i64;
        if num.cmp_shifted(&den, k) == core::cmp::Ordering::Less {
            k -= 1;
        }
        if k >= 128 {
            return f32::INFINITY;
        }
        // The weight of the significand's last bit: 24 bits for a normal number, a fixed
        // 2^-149 for a subnormal.
        let lsb = (k - 23).max(-149);
        // num / den / 2^lsb < 2^24; twice it gives the round bit as the 25th.
        let (mut a, mut t) = (num, den);
        if lsb >= 0 {
            t.shl(lsb as u32);
        } else {
            a.shl(lsb.unsigned_abs() as u32);
        }
        a.shl(1);
        t.shl(24);
        let mut quotient: u32 = 0;
        for _ in 0..25 {
            quotient <<= 1;
            if a.cmp_shifted(&t, 0) != core::cmp::Ordering::Less {
                a.sub(&t);
                quotient |= 1;
            }
            a.shl(1);
        }
        let round = quotient & 1 == 1;
        let sticky = self.sticky || !a.is_zero();
        let mut m = quotient >> 1;
        if round && (sticky || m & 1 == 1) {
            m += 1;
        }
        // m ≤ 2^24; m = 2^24 (rounded up) is 2^23 at the next exponent, which the sum
        // below carries into the exponent field.
        let bits = if m >= 1 << 23 {
            let biased = lsb + 150;
            if biased + i64::from(m >> 24) >= 255 {
                return f32::INFINITY;
            }
            ((biased as u32) << 23).wrapping_add(m - (1 << 23))
        } else {
            m // subnormal (lsb = -149); 2^23 is the smallest normal's bits
        };
        f32::from_bits(bits)
    }
}

/// A nonnegative integer below 2^(32·[`LIMBS`]), little-endian limbs. The callers keep
/// every value in range (see [`LIMBS`]); a carry out of the top limb would be dropped.
#[derive(Clone, Copy)]
struct Big {
    limbs: [u32; LIMBS],
}

impl Big {
    fn zero() -> Self {
        Big { limbs: [0; LIMBS] }
    }

    fn from(n: u32) -> Self {
        let mut b = Big::zero();
        b.limbs[0] = n;
        b
    }

    fn is_zero(&self) -> bool {
        self.limbs.iter().all(|&l| l == 0)
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in self.limbs.iter_mut() {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
    }

    fn add_small(&mut self, n: u32) {
        let mut carry = u64::from(n);
        for l in self.limbs.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = u64::from(*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
    }

    fn mul_pow10(&mut self, mut e: u32) {
        while e >= 9 {
            self.mul_small(1_000_000_000);
            e -= 9;
        }
        self.mul_small(10u32.pow(e));
    }

    /// Bit length (0 for zero).
    fn bits(&self) -> u32 {
        for (i, &l) in self.limbs.iter().enumerate().rev() {
            if l != 0 {
                return 32 * i as u32 + (32 - l.leading_zeros());
            }
        }
        0
    }

    fn shl(&mut self, n: u32) {
        let (words, bits) = ((n / 32) as usize, n % 32);
        for i in (0..LIMBS).rev() {
            let src = |j: usize| -> u32 {
                i.checked_sub(words)
                    .and_then(|k| k.checked_sub(j))
                    .and_then(|k| self.limbs.get(k).copied())
                    .unwrap_or(0)
            };
            let v = if bits == 0 {
                src(0)
            } else {
                (src(0) << bits) | (src(1) >> (32 - bits))
            };
            if let Some(l) = self.limbs.get_mut(i) {
                *l = v;
            }
        }
    }

    /// `self` − `other`, for `self` ≥ `other`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = false;
        for (a, &b) in self.limbs.iter_mut().zip(other.limbs.iter()) {
            let (v, o1) = a.overflowing_sub(b);
            let (v, o2) = v.overflowing_sub(u32::from(borrow));
            *a = v;
            borrow = o1 || o2;
        }
    }

    /// Compares `self` with `other · 2^shift` (`shift` may be negative: then `self` is
    /// shifted instead).
    fn cmp_shifted(&self, other: &Big, shift: i64) -> core::cmp::Ordering {
        let (mut a, mut b) = (*self, *other);
        if shift >= 0 {
            b.shl(shift as u32);
        } else {
            a.shl(shift.unsigned_abs() as u32);
        }
        a.limbs.iter().rev().cmp(b.limbs.iter().rev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div_small_divides_every_radix_exactly() {
        // Every step's `cur` against a plain division, then whole numbers.
        for d in 2..=16u32 {
            let m = RECIPROCALS[d as usize];
            for cur in 0..16u32 << 8 {
                assert_eq!((cur * m) >> 16, cur / d, "{cur} / {d}");
            }
            let plain = |n: u64| (n / u64::from(d), (n % u64::from(d)) as u32);
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            for n in [0, 1, 9, 10, 255, 256, u64::MAX, u64::MAX - 1, 1 << 63] {
                assert_eq!(div_small(n, d), plain(n));
            }
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = x >> (x % 64);
                assert_eq!(div_small(n, d), plain(n));
            }
        }
    }
}
