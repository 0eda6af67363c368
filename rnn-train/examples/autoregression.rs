//! Baselines for one-step-ahead regression of a single series (`datasets/ecg.sh`):
//! persistence (the next value is the current one) and least-squares linear
//! autoregressions of the last `p` values.
//!
//! ```text
//! cargo run --release -p rnn-train --example autoregression -- TRAIN.csv TEST.csv P...
//! ```
//!
//! Both files are CSV with a header, an input column `x` and a target column `next` (the
//! value one step later), as `rnn-train train --task regress` reads them. AR(`p`) predicts
//! `next_t = c + Σ_{j<p} a_j x_{t-j}`, fitted on the training file by least squares (the
//! normal equations in f64, solved by Cholesky); at the start of a file, where fewer than
//! `p` values came before, the missing ones are taken equal to the first value. Prints the
//! RMSE on the test file, in the series' units, for persistence and each `p`.

use std::process::ExitCode;

use rnn_train::data::csv::{self, Columns, Outputs, StepTargets};

/// The `x` and `next` columns of a file (its recordings one after the other).
fn read(path: &str) -> Result<(Vec<f64>, Vec<f64>), String> {
    let columns = Columns {
        inputs: Some(vec!["x".into()]),
        outputs: Outputs::Targets(vec!["next".into()]),
        group: None,
    };
    let f = csv::read(path.as_ref(), &columns).map_err(|e| e.to_string())?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for r in &f.recordings {
        x.extend(r.x.iter().map(|&v| f64::from(v)));
        if let StepTargets::Values(v) = &r.y {
            y.extend(v.iter().map(|&v| f64::from(v)));
        }
    }
    Ok((x, y))
}

/// The features of step `t`: 1, then `x_t, x_{t-1}, …` (`p` values).
fn features(x: &[f64], t: usize, p: usize) -> Vec<f64> {
    // Before the first value, the first value: `t - j` saturates at 0.
    std::iter::once(1.0)
        .chain((0..p).map(|j| x[t.saturating_sub(j)]))
        .collect()
}

/// Solves `A w = b` for a symmetric positive definite `A` (n × n, row-major).
fn cholesky_solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Result<Vec<f64>, String> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 {
            return Err("the normal equations are singular".into());
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Ok(b)
}

fn rmse(pred: impl Iterator<Item = f64>, y: &[f64]) -> f64 {
    let sq: f64 = pred.zip(y).map(|(p, y)| (p - y) * (p - y)).sum();
    (sq / y.len().max(1) as f64).sqrt()
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train, test, orders @ ..] = args.as_slice() else {
        return Err("usage: autoregression TRAIN.csv TEST.csv P...".into());
    };
    let (x_train, y_train) = read(train)?;
    let (x_test, y_test) = read(test)?;
    println!(
        "persistence (next = current): test RMSE {:.6}",
        rmse(x_test.iter().copied(), &y_test)
    );
    for p in orders {
        let p: usize = p
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("P {p:?} is not a positive number"))?;
        let n = p + 1;
        let (mut ata, mut atb) = (vec![0.0; n * n], vec![0.0; n]);
        for (t, &y) in y_train.iter().enumerate() {
            let f = features(&x_train, t, p);
            for i in 0..n {
                atb[i] += f[i] * y;
                for j in 0..n {
                    ata[i * n + j] += f[i] * f[j];
                }
            }
        }
        // A whisper of ridge, so that collinear lags cannot make the system singular.
        for i in 1..n {
            ata[i * n + i] += 1e-9 * y_train.len() as f64;
        }
        let w = cholesky_solve(ata, atb, n)?;
        let pred = (0..y_test.len()).map(|t| {
            features(&x_test, t, p)
                .iter()
                .zip(&w)
                .map(|(f, w)| f * w)
                .sum::<f64>()
        });
        println!(
            "linear autoregression of the last {p} values (least squares on the training file): test RMSE {:.6}",
            rmse(pred, &y_test)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autoregression: {e}");
            ExitCode::from(2)
        }
    }
}
