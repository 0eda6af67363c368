//! A training run's life, for both tasks, through the binary: killed with SIGKILL and
//! resumed from its checkpoint (the same bytes as an uninterrupted run, no temporary
//! files left), stopped early (the best epoch's model), interrupted with Ctrl-C (the best
//! model so far, exit code 130), started from exported JSON (`--init`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{assert_bad_input, bin, ok, run, s, series_file, small_data, stderr, tmp};

/// The flags of a small run of `task` on its own data, without `--out` and `--epochs`.
fn task_args(task: &str) -> Vec<String> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match task {
        "next" => v(&[
            "train",
            "--data",
            s(&small_data(150)),
            "--hidden",
            "10",
            "--batch",
            "4",
            "--optimizer",
            "adam",
            "--lr",
            "0.03",
            "--cell",
            "gru",
            "--quiet",
        ]),
        _ => v(&[
            "train",
            "--task",
            "classify",
            "--data",
            s(&series_file("life.ts", 80, 5)),
            "--hidden",
            "8",
            "--batch",
            "4",
            "--cell",
            "lstm",
            "--bidirectional",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--val-split",
            "0.25",
            // A constant rate, so that each epoch depends on the one before alone (the
            // cosine decay also on how many epochs the run has).
            "--lr-schedule",
            "constant",
            "--quiet",
        ]),
    }
}

fn with(base: &[String], extra: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn spawn(args: &[String]) -> Child {
    bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rnn-train")
}

/// Waits until `path` exists (the first checkpoint), while `child` is still training.
fn wait_for(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no checkpoint after a minute"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn epochs_done(ckpt: &Path) -> u64 {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(ckpt).unwrap()).unwrap();
    doc["epochs_done"].as_u64().unwrap()
}

fn killed_and_resumed_equals_uninterrupted(task: &str) {
    let base = task_args(task);
    let (full, killed) = (
        tmp(&format!("{task}-full.rnn")),
        tmp(&format!("{task}-killed.rnn")),
    );
    let epochs = "40";
    ok(&strs(&with(
        &base,
        &["--out", s(&full), "--epochs", epochs],
    )));
    // What earlier versions left when killed mid-write is cleaned up.
    let stale = PathBuf::from(format!("{}.ckpt.4242.tmp", s(&killed)));
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    let ckpt = PathBuf::from(format!("{}.ckpt", s(&killed)));
    let args = with(
        &base,
        &[
            "--out",
            s(&killed),
            "--epochs",
            epochs,
            "--checkpoint-every",
            "1",
        ],
    );
    let mut child = spawn(&args);
    wait_for(&ckpt, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let at = epochs_done(&ckpt);
    assert!(
        at < 40,
        "killed after the last epoch: nothing was interrupted"
    );
    ok(&strs(&with(&args, &["--resume", s(&ckpt)])));
    assert_eq!(
        std::fs::read(&full).unwrap(),
        std::fs::read(&killed).unwrap(),
        "{task}: killed after epoch {at} and resumed, the model differs from the uninterrupted run"
    );
    assert_eq!(epochs_done(&ckpt), 40);
    assert!(!stale.exists(), "a stale temporary file was left");
    let dir = killed.parent().unwrap();
    let left: Vec<String> = common::stray_tmp_files(dir)
        .into_iter()
        .filter(|n| n.starts_with(&format!("{task}-")))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn a_killed_classifier_run_resumes_to_the_same_bytes() {
    killed_and_resumed_equals_uninterrupted("classify");
}

#[test]
fn a_killed_next_symbol_run_resumes_to_the_same_bytes() {
    killed_and_resumed_equals_uninterrupted("next");
}

/// The epoch a report line names after `marker`, e.g. `best epoch, 7 (val`.
fn number_after(text: &str, marker: &str) -> usize {
    let rest = text
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("{marker:?} not in {text:?}"));
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?} in {text:?}"))
}

/// Runs `base` for exactly `epochs` epochs and returns the model's bytes: what the best
/// epoch's model must be, since every epoch depends only on the one before.
fn model_after(base: &[String], epochs: usize, name: &str) -> Vec<u8> {
    let out = tmp(name);
    ok(&strs(&with(
        base,
        &["--out", s(&out), "--epochs", &epochs.to_string()],
    )));
    std::fs::read(out).unwrap()
}

fn early_stop_keeps_the_best_epoch(task: &str) {
    // Without --quiet, to read the report.
    let base: Vec<String> = task_args(task)
        .into_iter()
        .filter(|a| a != "--quiet")
        .collect();
    let out = tmp(&format!("{task}-early.rnn"));
    let report = ok(&strs(&with(
        &base,
        &["--out", s(&out), "--epochs", "200", "--early-stop", "3"],
    )));
    let stopped = number_after(&report, "early stop after epoch");
    let best = number_after(&report, "best epoch,");
    assert_eq!(stopped, best + 3, "{report}");
    assert!(stopped < 200, "{report}");
    let val = |e: usize| -> f64 {
        let line = report
            .lines()
            .find(|l| l.starts_with("epoch") && l.contains(&format!(" {e}/200")))
            .unwrap();
        let v = line
            .split("val ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        v.parse().unwrap()
    };
    assert!((1..=stopped).all(|e| val(e) >= val(best)), "{report}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        model_after(&base, best, &format!("{task}-best.rnn")),
        "{task}: the written model is not the best epoch's"
    );
}

#[test]
fn early_stopping_writes_the_best_classifier() {
    early_stop_keeps_the_best_epoch("classify");
}

#[test]
fn early_stopping_writes_the_best_next_symbol_model() {
    early_stop_keeps_the_best_epoch("next");
}

#[test]
fn ctrl_c_writes_the_best_model_so_far_and_exits_130() {
    let base: Vec<String> = task_args("classify")
        .into_iter()
        .filter(|a| a != "--quiet")
        .collect();
    let out = tmp("ctrl-c.rnn");
    let ckpt = PathBuf::from(format!("{}.ckpt", s(&out)));
    let args = with(
        &base,
        &[
            "--out",
            s(&out),
            "--epochs",
            "100000",
            "--checkpoint-every",
            "1",
        ],
    );
    let mut child = spawn(&args);
    wait_for(&ckpt, &mut child);
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    let (report, err) = (common::stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains("interrupted") && !err.contains("panicked"),
        "{err}"
    );
    let best = number_after(&report, "best epoch,");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        model_after(&base, best, "ctrl-c-best.rnn"),
        "{report}"
    );
}

#[test]
fn a_classifier_trains_on_from_its_exported_json() {
    let base = task_args("classify");
    let (first, json, second) = (tmp("init-a.rnn"), tmp("init-a.json"), tmp("init-b.rnn"));
    ok(&strs(&with(&base, &["--out", s(&first), "--epochs", "2"])));
    ok(&["export", "--model", s(&first), "--out", s(&json)]);
    ok(&strs(&with(
        &base,
        &["--out", s(&second), "--epochs", "1", "--init", s(&json)],
    )));
    assert_ne!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    let hidden_9: Vec<String> = base
        .iter()
        .map(|a| if a == "8" { "9".into() } else { a.clone() })
        .collect();
    assert_bad_input(
        &run(&strs(&with(
            &hidden_9,
            &["--out", s(&second), "--init", s(&json)],
        ))),
        "--hidden 9 differs from the hidden 8",
    );
    // A next-symbol model's JSON does not start a classifier.
    let (next, next_json) = (tmp("init-next.rnn"), tmp("init-next.json"));
    ok(&strs(&with(
        &task_args("next"),
        &["--out", s(&next), "--epochs", "1"],
    )));
    ok(&["export", "--model", s(&next), "--out", s(&next_json)]);
    assert_bad_input(
        &run(&strs(&with(
            &base,
            &["--out", s(&second), "--init", s(&next_json)],
        ))),
        "holds a next model",
    );
}
