//! Turning logits into symbols: softmax, greedy and temperature sampling, the PRNG that
//! drives them, and [`generate`], the name-completion loop that the host CLI and the
//! firmware share so that both print the same text from the same seed.

use crate::cell::{Cell, Input};
use crate::error::Error;
use crate::math;
use crate::quant::cell::QInput;
use crate::quant::network::QNetwork;
use crate::quant::Kernel;
use crate::vocab::Vocab;

/// The end-of-sequence symbol: a name is complete when the model predicts it.
pub const END: char = '\n';

/// SplitMix64 (Steele, Lea & Flood, 2014; the generator Java's `SplittableRandom` uses and
/// the one recommended to seed xoshiro): the state advances by the golden-ratio constant
/// `0x9E3779B97F4A7C15` and each output is that state through a fixed 64-bit mixer. It is
/// tiny, has no bad seeds and uses only wrapping integer arithmetic, so every target
/// produces the same stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose stream is fixed by `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator seeded with a `u32` (the same stream as `Rng::new(seed as u64)`).
    pub const fn from_u32(seed: u32) -> Self {
        Rng::new(seed as u64)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform `f32` in `[0, 1)`: the top 24 bits of [`Rng::next_u64`] times `2^-24`, exact
    /// in `f32`.
    pub fn next_f32(&mut self) -> f32 {
        // Below 2^24, so exact as an `i32`: a soft-float part converts that with the
        // routine it links anyway, not with a 64-bit one.
        let top = (self.next_u64() >> 40) as i32;
        top as f32 * (1.0 / (1u32 << 24) as f32)
    }
}

/// How to pick the next symbol from the logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampler {
    /// The most likely symbol (the first one on a tie). Draws nothing from the [`Rng`].
    Greedy,
    /// A draw from `softmax(logits / T)`; `T` must be finite and above zero. Lower is
    /// more conservative, 1 is the model's own distribution. One [`Rng::next_f32`] per draw.
    Temperature(f32),
}

impl Sampler {
    /// Checks the temperature: [`Error::InvalidTemperature`] unless it is finite and above
    /// zero.
    pub fn checked(self) -> Result<Self, Error> {
        match self {
            Sampler::Temperature(t) if !(t.is_finite() && t > 0.0) => {
                Err(Error::InvalidTemperature)
            }
            s => Ok(s),
        }
    }
}

/// Index of the largest logit; the first one on a tie, 0 for an empty slice. NaNs are
/// never chosen over a number.
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    let mut best_value = f32::NEG_INFINITY;
    for (k, &v) in logits.iter().enumerate() {
        if v > best_value {
            best = k;
            best_value = v;
        }
    }
    best
}

fn max_of(logits: &[f32]) -> f32 {
    logits
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// A temperature draw's `e^a` for `a = (z - max z) / T <= 0`: the cells' own [`math::exp`],
/// so that a next-symbol program holds one exponential (`libm`'s `expf` beside it took 596
/// bytes on the Cortex-M0), and 0 below -87, where `math::exp` stops at `e^-87`: a symbol
/// that far below the best is never drawn (with `expf` its weight was below `2^-125` of
/// the best's). [`softmax`] and [`top`] keep `expf`: in soft float it takes fewer
/// instructions, and a classifier's or a tagger's answer runs them at every step (a
/// tagger's step on the Cortex-M3 took 13 % more with `math::exp`).
fn exp_below_max(a: f32) -> f32 {
    if a < -87.0 {
        0.0
    } else {
        math::exp(a)
    }
}

/// `softmax` in place: `p_k = exp(z_k - max z) / Σ_j exp(z_j - max z)`. Subtracting the
/// maximum keeps every `expf` argument at or below zero, so nothing overflows.
pub fn softmax(logits: &mut [f32]) {
    let m = max_of(logits);
    let mut total = 0.0f32;
    for z in logits.iter_mut() {
        *z = libm::expf(*z - m);
        total += *z;
    }
    for p in logits.iter_mut() {
        *p /= total;
    }
}

/// The most probable class of `logits` ([`argmax`]) and its probability, the value
/// [`softmax`] would give it (`1 / Σ_j exp(z_j - max z)`, the same bits), without a
/// buffer: what a tagger answers at each step. `(0, 0.0)` for an empty slice.
pub fn top(logits: &[f32]) -> (usize, f32) {
    if logits.is_empty() {
        return (0, 0.0);
    }
    let m = max_of(logits);
    let total = logits.iter().fold(0.0f32, |t, &z| t + libm::expf(z - m));
    (argmax(logits), libm::expf(0.0) / total)
}

/// Picks a symbol index from `logits`. Temperature sampling computes
/// `w_k = exp((z_k - max z) / T)`, draws `u = next_f32() · Σ w`, and returns the first `k`
/// whose running sum of `w` exceeds `u`; the exponentials are computed twice rather than
/// stored, so no buffer is needed.
pub fn sample(logits: &[f32], sampler: Sampler, rng: &mut Rng) -> Result<usize, Error> {
    match sampler.checked()? {
        Sampler::Greedy => Ok(argmax(logits)),
        Sampler::Temperature(t) => Ok(draw(logits.iter().copied(), t, rng)),
    }
}

/// [`sample`] of a quantized model's Q12 logits, with the same draws as [`sample`] of
/// their `f32` values (`q / 4096`) and no buffer for them: greedy compares the integers,
/// temperature sampling converts each logit as it reads it.
pub fn sample_q12(logits: &[i32], sampler: Sampler, rng: &mut Rng) -> Result<usize, Error> {
    match sampler.checked()? {
        Sampler::Greedy => Ok(argmax_i32(logits)),
        Sampler::Temperature(t) => {
            let unit = (1u32 << crate::quant::Z_FRAC) as f32;
            Ok(draw(logits.iter().map(|&q| q as f32 / unit), t, rng))
        }
    }
}

/// One temperature draw from logits read (three times) from `logits`.
fn draw(logits: impl Iterator<Item = f32> + Clone, t: f32, rng: &mut Rng) -> usize {
    let m = logits
        .clone()
        .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
    let weight = |z: f32| exp_below_max((z - m) / t);
    let total: f32 = logits.clone().map(weight).sum();
    let u = rng.next_f32() * total;
    let mut running = 0.0f32;
    let mut last_positive = None;
    for (k, z) in logits.clone().enumerate() {
        let w = weight(z);
        running += w;
        if w > 0.0 {
            last_positive = Some(k);
        }
        if u < running {
            return k;
        }
    }
    // Only reached when rounding leaves `u` at the very top of the sum (or the logits are
    // not numbers): fall back to the last symbol that could be drawn, else to greedy.
    last_positive.unwrap_or_else(|| {
        let mut best = (0, f32::NEG_INFINITY);
        for (k, v) in logits.enumerate() {
            if v > best.1 {
                best = (k, v);
            }
        }
        best.0
    })
}

/// Completes a name: resets `state` to zero, steps once with the zero input, then once per
/// character of `prefix`, then samples with `sampler` and feeds each sampled symbol back
/// until the model predicts [`END`] or `max_len` symbols were generated. Each generated
/// symbol except the final `END` goes to `emit`; the return value is how many.
///
/// Every character of `prefix` is checked against the vocabulary before anything is
/// emitted. `state`, `scratch` and `logits` have the lengths [`Cell::state_len`],
/// [`Cell::scratch_len`] and [`Cell::output_size`] (for Elman: H, H, O). The host CLI
/// (`rnn-train sample`) and the firmware both call this, so they print the same names.
#[allow(clippy::too_many_arguments)]
pub fn generate<C: Cell + ?Sized>(
    cell: &C,
    vocab: &Vocab<'_>,
    prefix: &str,
    sampler: Sampler,
    rng: &mut Rng,
    max_len: usize,
    state: &mut [f32],
    scratch: &mut [f32],
    logits: &mut [f32],
    emit: impl FnMut(char),
) -> Result<usize, Error> {
    state.fill(0.0);
    let mut d = FloatDecoder {
        cell,
        state,
        scratch,
        logits,
        sampler: sampler.checked()?,
    };
    complete(&mut d, vocab, prefix, rng, max_len, emit)
}

/// [`generate`] for a quantized model ([`QNetwork`]): the same loop and the same draws, the
/// state in `i16` and the logits in Q12 `i32` (`logits_q`). Greedy decoding compares the
/// integer logits; temperature sampling reads each as `f32` ([`sample_q12`]), the only
/// float work.
#[allow(clippy::too_many_arguments)]
pub fn generate_quantized<K: Kernel, const L: usize>(
    net: &QNetwork<'_, K, L>,
    vocab: &Vocab<'_>,
    prefix: &str,
    sampler: Sampler,
    rng: &mut Rng,
    max_len: usize,
    state: &mut [i16],
    scratch: &mut [i32],
    logits_q: &mut [i32],
    emit: impl FnMut(char),
) -> Result<usize, Error> {
    state.fill(0);
    let mut d = QuantDecoder {
        net,
        state,
        scratch,
        logits_q,
        sampler: sampler.checked()?,
    };
    complete(&mut d, vocab, prefix, rng, max_len, emit)
}

/// One step of a model and the choice of the next symbol from its output.
trait Decoder {
    fn step(&mut self, x: Input<'_>) -> Result<(), Error>;
    fn pick(&mut self, rng: &mut Rng) -> Result<usize, Error>;
}

struct FloatDecoder<'c, 'b, C: Cell + ?Sized> {
    cell: &'c C,
    state: &'b mut [f32],
    scratch: &'b mut [f32],
    logits: &'b mut [f32],
    sampler: Sampler,
}

impl<C: Cell + ?Sized> Decoder for FloatDecoder<'_, '_, C> {
    fn step(&mut self, x: Input<'_>) -> Result<(), Error> {
        self.cell.step(self.state, x, self.scratch, self.logits)
    }
    fn pick(&mut self, rng: &mut Rng) -> Result<usize, Error> {
        sample(self.logits, self.sampler, rng)
    }
}

struct QuantDecoder<'n, 'a, 'b, K: Kernel, const L: usize> {
    net: &'n QNetwork<'a, K, L>,
    state: &'b mut [i16],
    scratch: &'b mut [i32],
    logits_q: &'b mut [i32],
    sampler: Sampler,
}

impl<K: Kernel, const L: usize> Decoder for QuantDecoder<'_, '_, '_, K, L> {
    fn step(&mut self, x: Input<'_>) -> Result<(), Error> {
        let x = match x {
            Input::Token(k) => QInput::Token(k),
            _ => QInput::Start,
        };
        self.net.step(self.state, x, self.scratch, self.logits_q)
    }
    fn pick(&mut self, rng: &mut Rng) -> Result<usize, Error> {
        sample_q12(self.logits_q, self.sampler, rng)
    }
}

/// Index of the largest value, the first on a tie (0 for an empty slice): greedy
/// decoding of integer logits.
pub fn argmax_i32(logits: &[i32]) -> usize {
    let mut best = 0;
    for (k, &v) in logits.iter().enumerate() {
        if logits.get(best).is_some_and(|&b| v > b) {
            best = k;
        }
    }
    best
}

/// The loop [`generate`] and [`generate_quantized`] share.
fn complete(
    d: &mut impl Decoder,
    vocab: &Vocab<'_>,
    prefix: &str,
    rng: &mut Rng,
    max_len: usize,
    mut emit: impl FnMut(char),
) -> Result<usize, Error> {
    for c in prefix.chars() {
        vocab.index_of(c)?;
    }
    d.step(Input::Start)?;
    for c in prefix.chars() {
        d.step(Input::Token(vocab.index_of(c)?))?;
    }
    let mut count = 0;
    while count < max_len {
        let k = d.pick(rng)?;
        let Some(c) = vocab.symbol(k) else {
            return Err(Error::TokenOutOfRange {
                token: k,
                len: vocab.len(),
            });
        };
        if c == END {
            break;
        }
        emit(c);
        count += 1;
        d.step(Input::Token(k))?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_published_reference() {
        // First outputs of the reference C implementation (Vigna's splitmix64.c) seeded
        // with 1234567, as listed in several independent ports' test suites.
        let mut rng = Rng::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317u64,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn next_f32_stays_in_unit_interval() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let u = rng.next_f32();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn softmax_is_stable_and_normalised() {
        let mut z = [1000.0f32, 1001.0, 999.0];
        softmax(&mut z);
        let total: f32 = z.iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!(z.iter().all(|p| p.is_finite()));
        // Independent path: f64 softmax of the shifted logits.
        let e: [f64; 3] = [1.0f64.exp(), 2.0f64.exp(), 0.0f64.exp()];
        let s: f64 = e.iter().sum();
        for (p, e) in z.iter().zip(e) {
            assert!((f64::from(*p) - e / s).abs() < 1e-6);
        }
    }

    #[test]
    fn symbols_far_below_the_best_have_no_weight() {
        // 87 below the best still counts (e^-87 against f64), 88 below does not, in every
        // temperature draw, whatever the random number.
        let rel = |a: f32, b: f64| (f64::from(a) - b).abs() / b;
        assert!(rel(exp_below_max(-87.0), (-87.0f64).exp()) < 1e-5);
        assert_eq!(exp_below_max(-88.0), 0.0);
        assert_eq!(exp_below_max(-1e30), 0.0);
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let k = sample(&[-100.0, 0.0, -100.0], Sampler::Temperature(1.0), &mut rng);
            assert_eq!(k, Ok(1));
        }
    }

    #[test]
    fn argmax_takes_first_of_ties_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5, 0.2]), 1);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn temperature_sampling_follows_the_distribution() {
        let logits = [0.0f32, (2.0f32).ln(), (5.0f32).ln()]; // p = 1/8, 2/8, 5/8
        let mut rng = Rng::new(42);
        let mut counts = [0usize; 3];
        let n = 80_000;
        for _ in 0..n {
            counts[sample(&logits, Sampler::Temperature(1.0), &mut rng).unwrap()] += 1;
        }
        for (c, p) in counts.iter().zip([0.125, 0.25, 0.625]) {
            let freq = *c as f64 / n as f64;
            assert!((freq - p).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn bad_temperatures_are_errors() {
        let mut rng = Rng::new(0);
        for t in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert_eq!(
                sample(&[0.0, 1.0], Sampler::Temperature(t), &mut rng),
                Err(Error::InvalidTemperature)
            );
        }
    }
}
