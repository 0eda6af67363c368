//! The `rnn-train` binary end to end: exit codes and one-line errors on bad input,
//! byte-identical models for the same seed (whatever --threads), resume == uninterrupted,
//! JSON round trip, shape errors on import, divergence handling.

mod common;

use std::path::PathBuf;

use common::{assert_bad_input, run, s, small_data, stderr, tmp};

#[test]
fn bad_data_files_exit_2_with_one_line() {
    let out = tmp("never.rnn");
    let empty = tmp("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    assert_bad_input(
        &run(&["train", "--data", s(&empty), "--out", s(&out)]),
        "empty.txt",
    );

    let bad = tmp("bad-utf8.txt");
    std::fs::write(&bad, b"abc\nd\xc3(e\n").unwrap();
    assert_bad_input(
        &run(&["train", "--data", s(&bad), "--out", s(&out)]),
        "bad-utf8.txt:2:",
    );

    let missing = tmp("does-not-exist.txt");
    assert_bad_input(
        &run(&["train", "--data", s(&missing), "--out", s(&out)]),
        "does-not-exist.txt",
    );
    assert!(!out.exists(), "no model may be written from bad input");

    let not_model = tmp("not-a-model.rnn");
    std::fs::write(&not_model, b"hello, world").unwrap();
    for cmd in ["inspect", "sample"] {
        assert_bad_input(&run(&[cmd, "--model", s(&not_model)]), "not-a-model.rnn");
    }
    // Bad flags are usage errors, also exit code 2.
    let o = run(&[
        "train",
        "--data",
        s(&empty),
        "--out",
        s(&out),
        "--lr",
        "fast",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn same_seed_same_bytes_whatever_the_threads_and_resume_continues_exactly() {
    let data = small_data(120);
    let common = [
        "train",
        "--data",
        s(&data),
        "--hidden",
        "12",
        "--batch",
        "4",
        "--seed",
        "7",
        "--quiet",
    ];
    let with = |extra: &[&str]| {
        let mut args = common.to_vec();
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let (a, b, c) = (tmp("a.rnn"), tmp("b.rnn"), tmp("c.rnn"));
    with(&["--out", s(&a), "--epochs", "4", "--threads", "1"]);
    with(&["--out", s(&b), "--epochs", "4", "--threads", "2"]);
    let (ba, bb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(ba, bb, "--threads changed the model");

    // Interrupted after epoch 2, then resumed to epoch 4.
    with(&[
        "--out",
        s(&c),
        "--epochs",
        "2",
        "--threads",
        "1",
        "--checkpoint-every",
        "1",
    ]);
    assert_ne!(
        std::fs::read(&c).unwrap(),
        ba,
        "2 epochs should differ from 4"
    );
    let ckpt = PathBuf::from(format!("{}.ckpt", s(&c)));
    with(&[
        "--out",
        s(&c),
        "--epochs",
        "4",
        "--threads",
        "2",
        "--resume",
        s(&ckpt),
    ]);
    assert_eq!(
        std::fs::read(&c).unwrap(),
        ba,
        "resumed run differs from the uninterrupted one"
    );

    // A checkpoint does not resume a run with other settings.
    let mut args = common.to_vec();
    args.extend_from_slice(&[
        "--out",
        s(&c),
        "--epochs",
        "4",
        "--lr",
        "0.05",
        "--resume",
        s(&ckpt),
    ]);
    assert_bad_input(&run(&args), "lr");
}

#[test]
fn stream_mode_is_deterministic_too() {
    let data = small_data(60);
    let (a, b) = (tmp("sa.rnn"), tmp("sb.rnn"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        let o = run(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(out),
            "--mode",
            "stream",
            "--seq-len",
            "16",
            "--batch",
            "3",
            "--hidden",
            "10",
            "--epochs",
            "2",
            "--threads",
            threads,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn json_round_trip_and_wrong_shapes() {
    let data = small_data(40);
    let (model, json, back) = (tmp("j.rnn"), tmp("j.json"), tmp("j2.rnn"));
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&model),
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--quiet",
        "--plot",
        s(&tmp("loss.svg")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(tmp("loss.svg"))
        .unwrap()
        .starts_with("<svg"));
    let o = run(&[
        "export",
        "--model",
        s(&model),
        "--format",
        "json",
        "--out",
        s(&json),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["import", s(&json), "--out", s(&back)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Same header, vocabulary and every weight bit: the files are identical.
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&back).unwrap()
    );

    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let vocab = doc["vocab"].as_str().unwrap().chars().count();
    // A version 2 file (before classifiers could be exported: no task, no directions).
    let mut v2 = doc.clone();
    let obj = v2.as_object_mut().unwrap();
    assert_eq!(obj["version"], 3);
    obj.remove("task");
    obj.remove("bidirectional");
    obj.insert("version".into(), 2.into());
    let (v2_json, v2_model) = (tmp("v2.json"), tmp("v2.rnn"));
    std::fs::write(&v2_json, serde_json::to_vec(&v2).unwrap()).unwrap();
    common::ok(&["import", s(&v2_json), "--out", s(&v2_model)]);
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&v2_model).unwrap()
    );
    let mut wrong = doc.clone();
    wrong["w_aa_l0"].as_array_mut().unwrap().pop();
    let bad = tmp("wrong.json");
    std::fs::write(&bad, serde_json::to_vec(&wrong).unwrap()).unwrap();
    let o = run(&["import", s(&bad), "--out", s(&tmp("never2.rnn"))]);
    assert_bad_input(&o, "key `w_aa_l0` has shape 7×8, expected 8×8");

    // Sizes the format allows but no trainer could hold: refused before allocating.
    let mut huge = doc.clone();
    huge["hidden_size"] = 65536.into();
    huge["layers"] = 4.into();
    let bad = tmp("huge.json");
    std::fs::write(&bad, serde_json::to_vec(&huge).unwrap()).unwrap();
    let o = run(&["import", s(&bad), "--out", s(&tmp("never3.rnn"))]);
    assert_bad_input(&o, "more than this trainer's 100000000");

    let mut wrong = doc.clone();
    wrong["w_ya"] = serde_json::to_value(vec![vec![0.5f64; 8]; 3]).unwrap();
    std::fs::write(&bad, serde_json::to_vec(&wrong).unwrap()).unwrap();
    let o = run(&["import", s(&bad), "--out", s(&tmp("never2.rnn"))]);
    assert_bad_input(&o, &format!("key `w_ya` has shape 3×8, expected {vocab}×8"));
}

#[test]
fn divergence_names_the_epoch_and_keeps_a_good_model() {
    let data = small_data(30);
    let out = tmp("diverge.rnn");
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--optimizer",
        "sgd",
        "--lr",
        "1e38",
        "--clip",
        "0",
        "--hidden",
        "6",
        "--quiet",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("in epoch 1") && err.contains("diverge"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    // The model on disk is the last good one and passes every check of rnn-core's reader.
    let o = run(&["inspect", "--model", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn sample_eval_inspect_outputs() {
    let data = small_data(50);
    let model = tmp("sei.rnn");
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&model),
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "sample",
        "--model",
        s(&model),
        "--count",
        "5",
        "--prefix",
        "ab",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = String::from_utf8(o.stdout).unwrap();
    assert_eq!(names.lines().count(), 5);
    assert!(names.lines().all(|l| l.starts_with("ab")), "{names}");
    let again = run(&[
        "sample",
        "--model",
        s(&model),
        "--count",
        "5",
        "--prefix",
        "ab",
        "--seed",
        "3",
    ]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), names);
    assert_bad_input(
        &run(&["sample", "--model", s(&model), "--prefix", "A"]),
        "'A'",
    );

    let o = run(&["eval", "--model", s(&model), "--data", s(&data)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let loss: f64 = text.lines().last().unwrap().parse().unwrap();
    assert!(loss > 0.5 && loss < 27f64.ln(), "{text}");

    let o = run(&["inspect", "--model", s(&model)]);
    let text = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "cell: elman",
        "hidden H = 8",
        "checksum: ok",
        "parameters:",
        "vocab (",
    ] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
    // One flipped weight bit: the checksum catches it.
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    let flipped = tmp("flipped.rnn");
    std::fs::write(&flipped, bytes).unwrap();
    let o = run(&["inspect", "--model", s(&flipped)]);
    assert_bad_input(&o, "checksum");
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("checksum: MISMATCH"));
}

#[test]
fn gru_and_lstm_stacks_train_sample_eval_inspect_and_round_trip() {
    let data = small_data(40);
    for (cell, layers) in [("gru", "2"), ("lstm", "3")] {
        let model = tmp(&format!("{cell}{layers}.rnn"));
        let o = run(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&model),
            "--cell",
            cell,
            "--layers",
            layers,
            "--hidden",
            "6",
            "--epochs",
            "2",
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(&["inspect", "--model", s(&model)]);
        let text = String::from_utf8(o.stdout).unwrap();
        for needle in [
            format!("cell: {cell}"),
            format!("layers: {layers}"),
            "hidden H = 6".into(),
            format!("w_hh_l{} ", layers.parse::<usize>().unwrap() - 1),
        ] {
            assert!(text.contains(&needle), "{needle} missing in {text}");
        }
        let o = run(&[
            "sample",
            "--model",
            s(&model),
            "--count",
            "4",
            "--seed",
            "2",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 4);
        let o = run(&["eval", "--model", s(&model), "--data", s(&data)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        let loss: f64 = text.lines().last().unwrap().parse().unwrap();
        assert!(loss > 0.5 && loss < 27f64.ln(), "{text}");

        let (json, back) = (
            tmp(&format!("{cell}.json")),
            tmp(&format!("{cell}-back.rnn")),
        );
        let o = run(&["export", "--model", s(&model), "--out", s(&json)]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(&["import", s(&json), "--out", s(&back)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            std::fs::read(&model).unwrap(),
            std::fs::read(&back).unwrap()
        );
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(doc["format"], "rnn-json");
        assert_eq!(doc["cell"], cell);
        assert_eq!(doc["layers"].to_string(), layers);

        // Fine-tuning from the JSON with another --cell or --layers is refused.
        let o = run(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&tmp("never3.rnn")),
            "--init",
            s(&json),
            "--cell",
            "elman",
        ]);
        assert_bad_input(&o, &format!("--cell elman differs from the cell {cell}"));
        let o = run(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&tmp("never3.rnn")),
            "--init",
            s(&json),
            "--layers",
            "1",
        ]);
        assert_bad_input(&o, &format!("--layers 1 differs from the layers {layers}"));
        assert!(!tmp("never3.rnn").exists());
    }
}

#[test]
fn bad_layers_and_cells_exit_2() {
    let data = small_data(10);
    let out = tmp("never4.rnn");
    for n in ["0", "5"] {
        let o = run(&["train", "--data", s(&data), "--out", s(&out), "--layers", n]);
        assert_bad_input(&o, &format!("--layers {n} must be in 1..=4"));
    }
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--cell",
        "lstm",
        "--layers",
        "4",
        "--hidden",
        "4096",
    ]);
    assert_bad_input(&o, "parameters, more than this trainer's 100000000");
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--cell",
        "rnn",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("gru"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn stacked_lstm_stream_mode_is_deterministic_and_resumes_exactly() {
    // Stream mode carries every layer's (h, c) from one window to the next.
    let data = small_data(60);
    let common = [
        "train",
        "--data",
        s(&data),
        "--mode",
        "stream",
        "--seq-len",
        "12",
        "--batch",
        "3",
        "--cell",
        "lstm",
        "--layers",
        "2",
        "--hidden",
        "7",
        "--quiet",
    ];
    let with = |extra: &[&str]| {
        let mut args = common.to_vec();
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let (a, b, c) = (tmp("la.rnn"), tmp("lb.rnn"), tmp("lc.rnn"));
    with(&["--out", s(&a), "--epochs", "3", "--threads", "1"]);
    with(&["--out", s(&b), "--epochs", "3", "--threads", "2"]);
    let ba = std::fs::read(&a).unwrap();
    assert_eq!(
        ba,
        std::fs::read(&b).unwrap(),
        "--threads changed the model"
    );
    with(&[
        "--out",
        s(&c),
        "--epochs",
        "1",
        "--checkpoint-every",
        "1",
        "--threads",
        "1",
    ]);
    let ckpt = PathBuf::from(format!("{}.ckpt", s(&c)));
    with(&[
        "--out",
        s(&c),
        "--epochs",
        "3",
        "--resume",
        s(&ckpt),
        "--threads",
        "2",
    ]);
    assert_eq!(std::fs::read(&c).unwrap(), ba, "resumed run differs");
    // The checkpoint does not resume a run of another cell.
    let mut args = common.to_vec();
    args.extend_from_slice(&["--out", s(&c), "--epochs", "3", "--resume", s(&ckpt)]);
    let pos = args.iter().position(|a| *a == "lstm").unwrap();
    args[pos] = "gru";
    assert_bad_input(&run(&args), "cell");
}

#[test]
fn version_1_elman_json_still_imports() {
    let data = small_data(20);
    let (model, json, old, back) = (
        tmp("v1.rnn"),
        tmp("v1.json"),
        tmp("v1-old.json"),
        tmp("v1-back.rnn"),
    );
    let o = run(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&model),
        "--hidden",
        "5",
        "--epochs",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["export", "--model", s(&model), "--out", s(&json)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Rewrite it as the Elman-only trainer wrote it.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut v1 = serde_json::Map::new();
    for (k, v) in doc.as_object().unwrap() {
        let key = match k.as_str() {
            "layers" => continue,
            "format" => {
                v1.insert(k.clone(), "rnn-elman-json".into());
                continue;
            }
            "version" => {
                v1.insert(k.clone(), 1.into());
                continue;
            }
            other => other.trim_end_matches("_l0").to_string(),
        };
        v1.insert(key, v.clone());
    }
    assert!(v1.contains_key("w_ax") && !v1.contains_key("w_ax_l0"));
    std::fs::write(&old, serde_json::to_vec(&v1).unwrap()).unwrap();
    let o = run(&["import", s(&old), "--out", s(&back)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&back).unwrap()
    );
}

#[test]
fn rescore_train_scores_the_training_set_again_after_each_epoch() {
    let data = small_data(60);
    let out = tmp("rescore.rnn");
    let base = [
        "train",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--epochs",
        "2",
        "--hidden",
        "8",
    ];
    let plain = common::ok(&base);
    let rescored = common::ok(&[&base[..], &["--rescore-train"]].concat());
    let train_losses = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|l| l.starts_with("epoch"))
            .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
            .collect()
    };
    assert!(!plain.contains("(during epoch"), "{plain}");
    assert_eq!(rescored.matches("(during epoch").count(), 2, "{rescored}");
    // The same training (the same bytes), scored two ways.
    assert_ne!(train_losses(&plain), train_losses(&rescored));
    let during: Vec<String> = rescored
        .lines()
        .filter_map(|l| {
            l.split("(during epoch ")
                .nth(1)?
                .split(')')
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(train_losses(&plain), during);
}

#[test]
fn a_closed_stdout_ends_training_quietly_with_a_whole_model() {
    use std::io::{BufRead, BufReader};
    let data = small_data(40);
    let out = tmp("closed-pipe.rnn");
    let mut child = common::bin()
        .args([
            "train",
            "--data",
            s(&data),
            "--out",
            s(&out),
            "--epochs",
            "4000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the banner, then close the pipe while epochs are still being printed (as
    // `| head -1`): 4,000 epoch lines are more than a pipe holds, so training cannot end first.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(first.contains("training"), "{first}");
    assert_eq!(o.status.code(), Some(141), "{}", common::stderr(&o));
    assert_eq!(common::stderr(&o), "");
    let info = common::ok(&["inspect", "--model", s(&out)]);
    assert!(info.contains("elman"), "{info}");
}
