//! Missing values in series files (`?` or `NaN` in `.ts`, `NaN` in the UCR text forms):
//! steps missing in every channel at the end of a case are padding (the archive pads
//! variable-length series that way) and are dropped; any other hole is filled per channel
//! by linear interpolation in time between the nearest known values on either side, and
//! before a channel's first or after its last known value by that value. The network reads
//! a value at every step, and the archive's own tools (aeon, sktime) interpolate the same
//! way before classifiers that cannot read holes.

/// Drops the trailing steps missing (NaN) in every channel of a time-major case
/// (`values[t * channels + c]`), then fills every other NaN as the module says. Returns
/// how many values were filled, or `Err(c)` when channel `c` (0-based) has no known value
/// at all. `channels` must divide `values.len()`.
pub fn fill_gaps(values: &mut Vec<f32>, channels: usize) -> Result<usize, usize> {
    let c = channels.max(1);
    while values.len() > c && values[values.len() - c..].iter().all(|v| v.is_nan()) {
        values.truncate(values.len() - c);
    }
    interpolate(values, channels)
}

/// Fills every NaN of a time-major case as the module says, keeping every step (a CSV
/// recording's steps have labels or targets of their own). Returns how many values were
/// filled, or `Err(c)` when channel `c` has no known value at all.
pub fn interpolate(values: &mut [f32], channels: usize) -> Result<usize, usize> {
    let c = channels.max(1);
    let steps = values.len() / c;
    let mut filled = 0;
    for ch in 0..c {
        let at = |t: usize| t * c + ch;
        let known: Vec<usize> = (0..steps).filter(|&t| !values[at(t)].is_nan()).collect();
        let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
            return Err(ch);
        };
        filled += steps - known.len();
        for t in 0..first {
            values[at(t)] = values[at(first)];
        }
        for t in last + 1..steps {
            values[at(t)] = values[at(last)];
        }
        for pair in known.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (va, vb) = (f64::from(values[at(a)]), f64::from(values[at(b)]));
            for t in a + 1..b {
                let w = (t - a) as f64 / (b - a) as f64;
                values[at(t)] = (va + w * (vb - va)) as f32;
            }
        }
    }
    Ok(filled)
}

/// `N missing values filled by linear interpolation`, what `train` says after a file's
/// name when it filled `filled > 0` values.
pub fn filled_text(filled: usize) -> String {
    match filled {
        1 => "1 missing value filled by linear interpolation".into(),
        n => format!("{n} missing values filled by linear interpolation"),
    }
}

/// The same in brackets after the counts `eval` prints, or nothing when none were filled.
pub fn note(filled: usize) -> String {
    match filled {
        0 => String::new(),
        n => format!(" ({})", filled_text(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: f32 = f32::NAN;

    #[test]
    fn holes_are_interpolated_and_ends_hold_the_nearest_value() {
        // Two channels, time-major: channel 0 = [N, 1, N, N, 4, N], channel 1 = [0, N, 2, 3, N, N].
        let mut v = vec![N, 0.0, 1.0, N, N, 2.0, N, 3.0, 4.0, N, N, N];
        // The last step is missing in both channels, so it is padding.
        let filled = fill_gaps(&mut v, 2).unwrap();
        assert_eq!(v.len(), 10);
        let ch0: Vec<f32> = v.iter().step_by(2).copied().collect();
        let ch1: Vec<f32> = v.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(ch0, [1.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(ch1, [0.0, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(filled, 3 + 2);
    }

    #[test]
    fn interpolation_is_the_straight_line_between_neighbours() {
        let mut v = vec![0.5, N, N, N, N, N, -2.5];
        fill_gaps(&mut v, 1).unwrap();
        for (t, x) in v.iter().enumerate() {
            let line = 0.5 + (t as f64 / 6.0) * (-3.0);
            assert!((f64::from(*x) - line).abs() < 1e-6, "step {t}: {x}");
        }
    }

    #[test]
    fn interpolation_alone_keeps_a_missing_last_step() {
        let mut v = vec![1.0, N, 3.0, N];
        assert_eq!(interpolate(&mut v, 1), Ok(2));
        assert_eq!(v, [1.0, 2.0, 3.0, 3.0]);
    }

    #[test]
    fn a_channel_without_any_value_is_an_error() {
        assert_eq!(fill_gaps(&mut vec![1.0, N, 2.0, N], 2), Err(1));
        assert_eq!(fill_gaps(&mut vec![N, N], 1), Err(0));
        let mut whole = vec![1.0, 2.0];
        assert_eq!(fill_gaps(&mut whole, 1), Ok(0));
        assert_eq!(whole, [1.0, 2.0]);
    }
}
