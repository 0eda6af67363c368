//! `rnn-train quantize`: float models of every cell turned into int8 and int16 files that
//! `eval`, `sample` and `inspect` run through rnn-core's integer path, within a stated loss
//! of the float model; bad input gives one line and exit code 2.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_bad_input, ok, run, s, small_data, tmp};

/// Trains a small next-symbol model and returns its path.
fn trained(data: &Path, cell: &str, layers: &str, name: &str) -> PathBuf {
    let model = tmp(name);
    ok(&[
        "train",
        "--data",
        s(data),
        "--out",
        s(&model),
        "--epochs",
        "3",
        "--hidden",
        "16",
        "--cell",
        cell,
        "--layers",
        layers,
        "--quiet",
    ]);
    model
}

/// The number on the last line of `eval`.
fn eval_loss(model: &Path, data: &Path) -> f64 {
    let out = ok(&["eval", "--model", s(model), "--data", s(data)]);
    out.lines().last().unwrap().trim().parse().unwrap()
}

#[test]
fn every_cell_quantizes_within_the_loss_bound_and_runs_on_the_host() {
    let data = small_data(200);
    for (cell, layers) in [("elman", "1"), ("gru", "1"), ("lstm", "2")] {
        let float = trained(&data, cell, layers, &format!("q-{cell}.rnn"));
        let f = eval_loss(&float, &data);
        for (weights, bound) in [("int8", 0.02), ("int16", 0.002)] {
            let q = tmp(&format!("q-{cell}-{weights}.rnn"));
            let out = ok(&[
                "quantize",
                "--model",
                s(&float),
                "--calibrate",
                s(&data),
                "--out",
                s(&q),
                "--weights",
                weights,
                "--test",
                s(&data),
            ]);
            assert!(
                out.contains("loss (nats/char)") && out.contains(weights),
                "{out}"
            );
            // Scored again by `eval`, through rnn-core's integer path.
            let l = eval_loss(&q, &data);
            assert!((l - f).abs() < bound, "{cell} {weights}: {l} vs float {f}");
            let info = ok(&["inspect", "--model", s(&q)]);
            assert!(
                info.contains("version 3") && info.contains(weights),
                "{info}"
            );
            let float_len = std::fs::metadata(&float).unwrap().len();
            let q_len = std::fs::metadata(&q).unwrap().len();
            if weights == "int8" {
                // A third at H = 16, where the i32 biases weigh most (28% at the H = 25
                // dinosaur model).
                assert!(q_len * 3 <= float_len, "{q_len} vs {float_len}");
            }
            let names = ok(&["sample", "--model", s(&q), "--count", "3", "--prefix", "a"]);
            assert_eq!(names.lines().count(), 3, "{names}");
            let greedy = ok(&[
                "sample",
                "--model",
                s(&q),
                "--count",
                "2",
                "--temperature",
                "0",
            ]);
            let g: Vec<&str> = greedy.lines().collect();
            assert_eq!(g[0], g[1], "greedy names differ: {greedy}");
        }
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    // Another file than the other test's, which runs at the same time.
    let data = small_data(150);
    let float = trained(&data, "elman", "1", "q-bad.rnn");
    let out = tmp("q-bad-out.rnn");
    let q = |model: &str, calib: &str| {
        run(&[
            "quantize",
            "--model",
            model,
            "--calibrate",
            calib,
            "--out",
            s(&out),
        ])
    };
    assert_bad_input(&q("/nonexistent/m.rnn", s(&data)), "m.rnn");
    let unknown = tmp("q-unknown.txt");
    std::fs::write(&unknown, "abc\nΩmega\n").unwrap();
    assert_bad_input(&q(s(&float), s(&unknown)), "Ω");
    let empty = tmp("q-empty.txt");
    std::fs::write(&empty, "").unwrap();
    assert_bad_input(&q(s(&float), s(&empty)), "q-empty.txt");
    assert!(!out.exists(), "nothing is written on bad input");
    ok(&[
        "quantize",
        "--model",
        s(&float),
        "--calibrate",
        s(&data),
        "--out",
        s(&out),
    ]);
    assert_bad_input(&q(s(&out), s(&data)), "already quantized");
    let series = common::series_file("q-series-bad.ts", 20, 1);
    let bad_task = tmp("q-cls-bad.rnn");
    ok(&[
        "train",
        "--task",
        "classify",
        "--data",
        s(&series),
        "--out",
        s(&bad_task),
        "--epochs",
        "1",
        "--quiet",
    ]);
    // A classifier's data is a labelled file, not a text.
    assert_bad_input(&q(s(&bad_task), s(&data)), "small150.txt");
}

/// The float and quantized values and the change of `metric` in `quantize`'s table.
fn change(out: &str, metric: &str) -> (f64, f64) {
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with(metric))
        .unwrap_or_else(|| panic!("no {metric} in {out}"));
    let v: Vec<f64> = row[row.find(metric).unwrap() + metric.len()..]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[2])
}

/// Trains a model of `task` on `data` (`args` the task's own flags) and quantizes it with
/// `quantize` (`qargs` more flags); returns the quantized file and `quantize`'s table.
fn train_and_quantize(
    name: &str,
    task: &str,
    data: &Path,
    args: &[&str],
    qargs: &[&str],
) -> (PathBuf, String) {
    let (float, q) = (tmp(&format!("{name}.rnn")), tmp(&format!("{name}-q.rnn")));
    let train = [
        "train",
        "--task",
        task,
        "--data",
        s(data),
        "--out",
        s(&float),
        "--quiet",
    ];
    ok(&[&train[..], args].concat());
    let quantize = [
        "quantize",
        "--model",
        s(&float),
        "--calibrate",
        s(data),
        "--out",
        s(&q),
    ];
    let out = ok(&[&quantize[..], args_for_quantize(args), qargs].concat());
    (q, out)
}

/// The flags of `args` that say which columns are what, which `quantize` needs too.
fn args_for_quantize<'a>(args: &'a [&'a str]) -> &'a [&'a str] {
    let at = args
        .iter()
        .position(|a| a.starts_with("--group") || a.starts_with("--targets"));
    at.map_or(&[], |k| &args[k..])
}

#[test]
fn classifiers_taggers_and_regression_models_quantize_too() {
    // A classifier of dense sequences (calibrates the input range).
    let train = common::series_file("q-up-down.ts", 40, 3);
    let test = common::series_file("q-up-down-test.ts", 40, 4);
    let lstm = ["--epochs", "20", "--cell", "lstm"];
    let (q, out) = train_and_quantize("q-updown", "classify", &train, &lstm, &["--test", s(&test)]);
    let (f, d) = change(&out, "accuracy");
    assert!(d >= -0.05, "classifier accuracy {f} changed by {d}: {out}");
    let report = ok(&["eval", "--model", s(&q), "--data", s(&test)]);
    assert!(report.contains("accuracy"), "{report}");
    // With a convolutional front-end (calibrates each layer's output; format version 4).
    let conv = ["--epochs", "20", "--conv", "2:8:2"];
    let (q, out) = train_and_quantize("q-conv", "classify", &train, &conv, &["--test", s(&test)]);
    let (f, d) = change(&out, "accuracy");
    assert!(
        d >= -0.05,
        "front-end classifier accuracy {f} changed by {d}: {out}"
    );
    let info = ok(&["inspect", "--model", s(&q)]);
    assert!(
        info.contains("version 4") && info.contains("2:8:2 Q"),
        "{info}"
    );
    // A tagger that needs memory, and a smoothing regression model.
    let latch = common::latch_csv("q-latch.csv", 6, 150, 1);
    let tag = [
        "--hidden", "16", "--epochs", "10", "--group", "run", "--label", "state",
    ];
    let (_, out) = train_and_quantize("q-latch", "tag", &latch, &tag, &[]);
    let (f, d) = change(&out, "per-step accuracy");
    assert!(d >= -0.02, "tagger accuracy {f} changed by {d}: {out}");
    let (smooth, _) = common::smoothing_csv("q-smooth.csv", 800, 3);
    let reg = ["--hidden", "8", "--epochs", "10", "--targets", "y"];
    let (qr, out) = train_and_quantize(
        "q-smooth",
        "regress",
        &smooth,
        &reg,
        &["--weights", "int16"],
    );
    let (f, d) = change(&out, "RMSE y");
    assert!(d.abs() <= 0.02 * f, "RMSE {f} changed by {d}: {out}");
    let info = ok(&["inspect", "--model", s(&qr)]);
    assert!(info.contains("int16") && info.contains("regress"), "{info}");
}
