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
    let classifier = tmp("q-cls.rnn");
    let words = common::series_file("q-series.ts", 20, 1);
    ok(&[
        "train",
        "--task",
        "classify",
        "--data",
        s(&words),
        "--out",
        s(&classifier),
        "--epochs",
        "1",
        "--quiet",
    ]);
    assert_bad_input(&q(s(&classifier), s(&data)), "next-symbol");
}
