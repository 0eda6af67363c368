//! Training data: text for next-symbol models ([`text`]), labelled sequences for
//! classifiers ([`classes`], read from `label<TAB>text` files, [`labeled`], UEA/UCR
//! `.ts` files, [`ts`], the UCR archive's `.tsv` and `.txt` series, [`ucr`], or ARFF,
//! [`arff`]), the split into training and validation parts, and the one
//! interface the training engine reads every task's examples through ([`Examples`]).

pub mod arff;
pub mod augment;
pub mod classes;
pub mod csv;
pub mod labeled;
pub mod missing;
pub mod steps;
pub mod tagged;
pub mod text;
pub mod ts;
pub mod ucr;

pub use classes::{ClsData, RawSet};
pub use text::{read_text, Mode, Sequences, Text, Vocab, START};

use crate::nn::Example;
use crate::rng::SplitMix64;

/// A set of examples of one task, as the training engine reads them.
pub trait Examples: Sync {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `k`.
    fn example(&self, k: usize) -> Example<'_>;

    /// Predictions example `k` is scored on (its steps, or one class): the unit of the
    /// mean loss and of the speed figures.
    fn predictions(&self, k: usize) -> usize {
        self.example(k).predictions()
    }

    /// Whether example `k` begins a recording, so that in stream mode it starts from the
    /// zero state instead of the state the previous window of its stream left (text
    /// streams only start fresh at the start of an epoch).
    fn starts_recording(&self, _k: usize) -> bool {
        false
    }

    /// Predictions over all examples.
    fn total_predictions(&self) -> usize {
        (0..self.len()).map(|k| self.predictions(k)).sum()
    }

    /// The longest example, in steps.
    fn max_len(&self) -> usize {
        (0..self.len())
            .map(|k| self.example(k).x.len())
            .max()
            .unwrap_or(1)
    }
}

/// Sequences and classification sets: both keep their examples' steps as `spans` and
/// hand out an example with their own `example`.
macro_rules! examples_of {
    ($($set:ty),*) => {$(
        impl Examples for $set {
            fn len(&self) -> usize {
                self.spans.len()
            }

            fn example(&self, k: usize) -> Example<'_> {
                <$set>::example(self, k)
            }
        }
    )*};
}

examples_of!(Sequences, ClsData);

/// Which lines go to validation: a seeded random choice of `round(n * fraction)` lines (at
/// least one when the fraction is positive and there are two or more lines), so the split
/// does not depend on the file being sorted. Returns `(train, validation)` indices, each in
/// file order, so `--no-shuffle` still trains in the file's order.
pub fn split_indices(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut n_val = (n as f64 * fraction).round() as usize;
    if fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    } else {
        n_val = n_val.min(n);
    }
    let mut order: Vec<usize> = (0..n).collect();
    // A stream of its own, so the split stays the same when the shuffling code changes.
    SplitMix64::new(seed ^ SPLIT_STREAM).shuffle(&mut order);
    let mut is_val = vec![false; n];
    for &i in &order[..n_val] {
        is_val[i] = true;
    }
    let train = (0..n).filter(|&i| !is_val[i]).collect();
    let val = (0..n).filter(|&i| is_val[i]).collect();
    (train, val)
}

/// Mixed into the seed for the train/validation split.
const SPLIT_STREAM: u64 = 0x5eed_5b11_7000_0001;

/// The validation part of a classification set, stratified: of each class, a seeded
/// random choice of `round(n_c · fraction)` of its `n_c` sequences (never all of them),
/// so every class keeps its share in both parts; when that leaves none at all (tiny sets)
/// and `fraction` is positive, one sequence of the largest class. Returns `(train,
/// validation)` indices, each in file order.
pub fn stratified_split(labels: &[u32], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len();
    let classes = labels.iter().map(|&y| y as usize + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); classes];
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed ^ SPLIT_STREAM).shuffle(&mut order);
    for &i in &order {
        members[labels[i] as usize].push(i);
    }
    let mut is_val = vec![false; n];
    let mut any = false;
    for m in &members {
        let k = ((m.len() as f64 * fraction).round() as usize).min(m.len().saturating_sub(1));
        for &i in &m[..k] {
            is_val[i] = true;
            any = true;
        }
    }
    if !any && fraction > 0.0 && n >= 2 {
        if let Some(m) = members
            .iter()
            .filter(|m| m.len() >= 2)
            .max_by_key(|m| m.len())
        {
            is_val[m[0]] = true;
        }
    }
    let train = (0..n).filter(|&i| !is_val[i]).collect();
    let val = (0..n).filter(|&i| is_val[i]).collect();
    (train, val)
}

/// The message of a reader's bad-input error, checked to be one line (the readers' tests).
#[cfg(test)]
pub(crate) fn one_line_error<T: std::fmt::Debug>(read: crate::error::Result<T>) -> String {
    let e = read.unwrap_err();
    assert!(e.is_bad_input(), "{e}");
    let m = e.to_string();
    assert!(!m.contains('\n'), "{m}");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_deterministic_and_disjoint() {
        let (t1, v1) = split_indices(100, 0.1, 42);
        let (t2, v2) = split_indices(100, 0.1, 42);
        assert_eq!((&t1, &v1), (&t2, &v2));
        assert_eq!(v1.len(), 10);
        assert_eq!(t1.len(), 90);
        assert!(t1.windows(2).all(|w| w[0] < w[1]));
        assert!(v1.iter().all(|i| !t1.contains(i)));
        let (_, v3) = split_indices(100, 0.1, 43);
        assert_ne!(v1, v3);
        assert_eq!(split_indices(5, 0.0, 1).1.len(), 0);
        assert_eq!(split_indices(3, 0.01, 1).1.len(), 1);
    }

    #[test]
    fn stratified_split_keeps_every_class_in_proportion() {
        // 60 of class 0, 30 of class 1, 10 of class 2, interleaved.
        let labels: Vec<u32> = (0..100)
            .map(|i| [0, 0, 1, 0, 0, 1, 0, 1, 0, 2][i % 10])
            .collect();
        let (train, val) = stratified_split(&labels, 0.2, 7);
        let count = |idx: &[usize], c: u32| idx.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!((count(&val, 0), count(&val, 1), count(&val, 2)), (12, 6, 2));
        assert_eq!(train.len() + val.len(), 100);
        assert!(train.windows(2).all(|w| w[0] < w[1]) && val.iter().all(|i| !train.contains(i)));
        assert_eq!(stratified_split(&labels, 0.2, 7), (train, val.clone()));
        assert_ne!(stratified_split(&labels, 0.2, 8).1, val);
        // A class of one stays in training; a tiny set still gets one validation case.
        let (t, v) = stratified_split(&[0, 1, 1], 0.1, 1);
        assert_eq!((t.len(), v.len()), (2, 1));
        assert_eq!(labels[0], 0);
        assert!(v.iter().all(|&i| [0, 1, 1][i] == 1));
        assert_eq!(stratified_split(&[0, 1, 1], 0.0, 1).1.len(), 0);
    }
}
