//! The baseline for series data sets (`.ts`, and the UCR archive's `.tsv` and `.txt`): one-nearest-neighbour with multivariate ("dependent")
//! dynamic time warping, full window.
//!
//! ```text
//! cargo run --release -p rnn-train --example dtw_1nn -- TRAIN.ts TEST.ts
//! ```
//!
//! The cost of matching step `i` of one case with step `j` of another is the squared
//! Euclidean distance over all channels; DTW sums it along the cheapest monotone path.
//! Each test case takes the label of the training case at the smallest DTW distance (the
//! first one on ties). Prints the accuracy on the raw values and on values normalised per
//! channel with the training set's mean and standard deviation.

use std::process::ExitCode;

use rnn_train::data::ts::TsFile;
use rnn_train::data::RawSet;

fn dtw(a: &[f32], b: &[f32], c: usize) -> f64 {
    let (n, m) = (a.len() / c, b.len() / c);
    let mut prev = vec![f64::INFINITY; m + 1];
    let mut cur = vec![f64::INFINITY; m + 1];
    prev[0] = 0.0;
    for i in 1..=n {
        cur[0] = f64::INFINITY;
        for j in 1..=m {
            let cost: f64 = (0..c)
                .map(|k| {
                    let d = f64::from(a[(i - 1) * c + k]) - f64::from(b[(j - 1) * c + k]);
                    d * d
                })
                .sum();
            cur[j] = cost + prev[j].min(cur[j - 1]).min(prev[j - 1]);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

fn accuracy(train: &TsFile, test: &TsFile) -> (usize, usize) {
    let c = train.channels;
    let correct = test
        .cases
        .iter()
        .filter(|q| {
            let mut best = (f64::INFINITY, "");
            for r in &train.cases {
                let d = dtw(&q.values, &r.values, c);
                if d < best.0 {
                    best = (d, r.label.as_str());
                }
            }
            best.1 == q.label
        })
        .count();
    (correct, test.cases.len())
}

fn normalise(f: &mut TsFile, mean: &[f64], std: &[f64]) {
    let c = f.channels;
    for case in &mut f.cases {
        for (k, v) in case.values.iter_mut().enumerate() {
            *v = ((f64::from(*v) - mean[k % c]) / std[k % c]) as f32;
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train, test] = args.as_slice() else {
        return Err("usage: dtw_1nn TRAIN.ts TEST.ts".into());
    };
    let series = |path: &str| match RawSet::read(path.as_ref()) {
        Ok(RawSet::Series(f)) => Ok(f),
        Ok(RawSet::Text(_)) => Err(format!("{path}: labelled text, not series")),
        Err(e) => Err(e.to_string()),
    };
    let mut train = series(train)?;
    let mut test = series(test)?;
    if train.channels != test.channels {
        return Err("the files have different numbers of channels".into());
    }
    let (ok, n) = accuracy(&train, &test);
    println!(
        "1-NN DTW (dependent, full window), raw values: test accuracy {:.4} ({ok} of {n})",
        ok as f64 / n as f64
    );
    let c = train.channels;
    let (mut sum, mut sq, mut count) = (vec![0.0f64; c], vec![0.0f64; c], 0usize);
    for case in &train.cases {
        for (k, &v) in case.values.iter().enumerate() {
            sum[k % c] += f64::from(v);
            sq[k % c] += f64::from(v) * f64::from(v);
        }
        count += case.len;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
    let std: Vec<f64> = (0..c)
        .map(|k| (sq[k] / count as f64 - mean[k] * mean[k]).sqrt().max(1e-12))
        .collect();
    normalise(&mut train, &mean, &std);
    normalise(&mut test, &mean, &std);
    let (ok, n) = accuracy(&train, &test);
    println!(
        "1-NN DTW (dependent, full window), channels normalised: test accuracy {:.4} ({ok} of {n})",
        ok as f64 / n as f64
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dtw_1nn: error: {e}");
            ExitCode::from(2)
        }
    }
}
