//! Random crops of the training sequences, drawn afresh every epoch: a classifier that
//! reads the last state learns from where in a recording a pattern sits less, and a small
//! set looks bigger (window slicing, Le Guennec et al. 2016).

use std::ops::Range;

use super::Examples;
use crate::nn::{Example, SeqInput};
use crate::rng::SplitMix64;

/// `base` with a random half of its examples each cut to a window of `⌈fraction · T⌉`
/// of its `T` steps at a random start, drawn from `(seed, epoch)` only (so a resumed run
/// draws what an uninterrupted one would). Cutting every example did less well on the
/// README's UEA/UCR sets: the model then rarely sees a whole recording as it will be asked.
pub struct Cropped<'a> {
    base: &'a dyn Examples,
    windows: Vec<Range<usize>>,
}

/// Mixed into the seed for the crops.
const CROP_STREAM: u64 = 0x5eed_c70b_0000_0001;

impl<'a> Cropped<'a> {
    pub fn new(base: &'a dyn Examples, fraction: f64, seed: u64, epoch: usize) -> Self {
        let first = SplitMix64::new(seed ^ CROP_STREAM).next_u64();
        let mut rng = SplitMix64::new(first.wrapping_add(epoch as u64));
        let windows = (0..base.len())
            .map(|k| {
                let t = base.example(k).x.len();
                let len = ((t as f64 * fraction).ceil() as usize).clamp(t.min(1), t);
                let start = rng.below((t - len + 1) as u64) as usize;
                if rng.below(2) == 0 {
                    0..t
                } else {
                    start..start + len
                }
            })
            .collect();
        Cropped { base, windows }
    }
}

impl Examples for Cropped<'_> {
    fn len(&self) -> usize {
        self.windows.len()
    }

    fn example(&self, k: usize) -> Example<'_> {
        let ex = self.base.example(k);
        let r = self.windows[k].clone();
        let x = match ex.x {
            SeqInput::Tokens(t) => SeqInput::Tokens(&t[r]),
            SeqInput::Dense { values, channels } => SeqInput::Dense {
                values: &values[r.start * channels..r.end * channels],
                channels,
            },
        };
        Example { x, y: ex.y }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Targets;

    /// Sequences of tokens `0..len`, so a window shows where it was cut.
    struct Ramps(Vec<Vec<u32>>);

    impl Examples for Ramps {
        fn len(&self) -> usize {
            self.0.len()
        }

        fn example(&self, k: usize) -> Example<'_> {
            Example {
                x: SeqInput::Tokens(&self.0[k]),
                y: Targets::Final(k),
            }
        }
    }

    fn tokens(ex: &Example<'_>) -> Vec<u32> {
        match ex.x {
            SeqInput::Tokens(t) => t.to_vec(),
            SeqInput::Dense { .. } => unreachable!("token data"),
        }
    }

    #[test]
    fn half_the_sequences_are_cut_to_a_window_of_the_fraction() {
        let lens: Vec<u32> = (0..400).map(|k| 1 + k % 57).collect();
        let base = Ramps(lens.iter().map(|&t| (0..t).collect()).collect());
        let crops = Cropped::new(&base, 0.9, 7, 3);
        let mut cut = 0;
        for (k, &t) in lens.iter().enumerate() {
            let ex = crops.example(k);
            assert!(matches!(ex.y, Targets::Final(y) if y == k));
            let w = tokens(&ex);
            let t = t as usize;
            // A contiguous run of the original steps, whole or of ⌈0.9·T⌉ steps.
            assert!(w.windows(2).all(|p| p[1] == p[0] + 1));
            assert!(w.last().map_or(0, |&x| x as usize + 1) <= t);
            if w.len() < t {
                assert_eq!(w.len(), (t as f64 * 0.9).ceil() as usize);
                cut += 1;
            }
        }
        // Sequences of 10 steps or more lose at least one step when cut: about half do.
        let cuttable = lens.iter().filter(|&&t| t >= 10).count();
        assert!(
            (cut as f64 / cuttable as f64 - 0.5).abs() < 0.1,
            "{cut} of {cuttable}"
        );
    }

    #[test]
    fn crops_depend_on_seed_and_epoch_only() {
        let base = Ramps((0..50).map(|_| (0..100).collect()).collect());
        let windows = |seed, epoch| {
            let c = Cropped::new(&base, 0.5, seed, epoch);
            (0..50).map(|k| tokens(&c.example(k))).collect::<Vec<_>>()
        };
        assert_eq!(windows(1, 2), windows(1, 2));
        assert_ne!(windows(1, 2), windows(1, 3));
        assert_ne!(windows(1, 2), windows(2, 2));
        // A fraction of 1 leaves every sequence whole.
        let whole = Cropped::new(&base, 1.0, 1, 1);
        assert!((0..50).all(|k| tokens(&whole.example(k)).len() == 100));
    }
}
