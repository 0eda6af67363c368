//! Classifiers end to end: a seeded training run on the vendored English/Spanish words that
//! must beat a stated accuracy, and the binary's `train --task classify`, `eval`, `inspect`
//! on small files: same bytes whatever `--threads`, one-line errors with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rnn_train::cls_data::{encode, RawSet};
use rnn_train::cls_train::{self, Classifier, ClsRun, Engine};
use rnn_train::data::Mode;
use rnn_train::model::CellType;
use rnn_train::optim::OptimizerKind;
use rnn_train::train::{Hyper, Reduction};

const WORDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/words");

fn hyper(cell: CellType, hidden: usize) -> Hyper {
    Hyper {
        mode: Mode::Lines,
        seq_len: 25,
        cell,
        layers: 1,
        hidden,
        lr: 0.01,
        batch: 8,
        clip: 5.0,
        clip_norm: None,
        optimizer: OptimizerKind::Adam,
        val_split: 0.0,
        seed: 1,
        reduction: Reduction::Mean,
        shuffle: true,
    }
}

#[test]
fn seeded_run_on_vendored_words_beats_the_stated_accuracy() {
    // A fifth of the vendored training words (600 English, 600 Spanish), three epochs of a
    // GRU with 16 units, scored on all 2,000 vendored test words: seconds in a debug build.
    // Guessing scores 0.5; this run scores 0.919, 0.928 and 0.910 after epochs 1-3
    // (measured), so 0.88 or less after epoch 3 is a regression.
    let train_raw = RawSet::read(&Path::new(WORDS).join("train.txt")).unwrap();
    let test_raw = RawSet::read(&Path::new(WORDS).join("test.txt")).unwrap();
    let classes = train_raw.classes();
    assert_eq!(classes, vec!["en", "es"]);
    let spec = train_raw.input_spec().unwrap();
    let all = encode(&train_raw, &spec, &classes).unwrap();
    let idx: Vec<usize> = (0..all.len()).step_by(5).collect();
    let train = all.subset(&idx);
    let test = encode(&test_raw, &spec, &classes).unwrap();
    let h = hyper(CellType::Gru, 16);
    let mut model = Classifier::init(spec, classes, &h, false).unwrap();
    let opts = ClsRun {
        epochs: 3,
        threads: 1,
        quiet: true,
    };
    let history = cls_train::run(
        &h,
        &opts,
        &mut model,
        &train,
        None,
        Some(&test),
        &mut |_, _| Ok(()),
    )
    .unwrap();
    let acc: Vec<f64> = history
        .iter()
        .map(|e| e.test.as_ref().unwrap().accuracy)
        .collect();
    assert!(acc[2] > 0.88, "test accuracy per epoch: {acc:?}");
    // The confusion matrix agrees with the epoch's score.
    let mut engine = Engine::new(model.arch, 1, test.max_len(), 1).unwrap();
    let c = engine.confusion(&model, &test);
    assert_eq!(c.total(), 2000);
    assert!((c.accuracy() - acc[2]).abs() < 1e-12);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rnn-train"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-train-cls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run rnn-train")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_bad_input(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains(needle), "{err:?} does not mention {needle:?}");
}

/// A small two-channel `.ts` problem: class `up` rises, class `down` falls, lengths 3-8.
fn series_file(name: &str, cases: usize, seed: u64) -> PathBuf {
    let mut rng = rnn_train::rng::SplitMix64::new(seed);
    let mut text = String::from(
        "# made up for the tests\n@problemName UpDown\n@timeStamps false\n@missing false\n\
         @univariate false\n@dimensions 2\n@equalLength false\n@classLabel true up down\n@data\n",
    );
    for k in 0..cases {
        let up = k % 2 == 0;
        let len = 3 + rng.below(6) as usize;
        let chan = |rng: &mut rnn_train::rng::SplitMix64, slope: f32| {
            (0..len)
                .map(|t| format!("{}", 10.0 + slope * t as f32 + rng.uniform(0.8)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let slope = if up { 1.0 } else { -1.0 };
        let a = chan(&mut rng, slope);
        let b = chan(&mut rng, 0.0);
        text.push_str(&format!("{a}:{b}:{}\n", if up { "up" } else { "down" }));
    }
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn train_eval_inspect_a_series_classifier_same_bytes_whatever_the_threads() {
    let train = series_file("train.ts", 40, 1);
    let test = series_file("test.ts", 20, 2);
    let (a, b) = (tmp("a.rnn"), tmp("b.rnn"));
    let svg = tmp("cm.svg");
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        let o = run(&[
            "train",
            "--task",
            "classify",
            "--data",
            s(&train),
            "--test",
            s(&test),
            "--out",
            s(out),
            "--cell",
            "lstm",
            "--hidden",
            "6",
            "--bidirectional",
            "--optimizer",
            "adam",
            "--lr",
            "0.02",
            "--batch",
            "4",
            "--epochs",
            "8",
            "--val-split",
            "0.1",
            "--threads",
            threads,
            "--plot",
            s(&svg),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("epoch 8/8"), "{stdout}");
        assert!(stdout.contains("confusion matrix"), "{stdout}");
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "--threads changed the model"
    );
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let o = run(&[
        "eval",
        "--model",
        s(&a),
        "--data",
        s(&test),
        "--plot",
        s(&svg),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = String::from_utf8_lossy(&o.stdout);
    let acc: f64 = report
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {report}"));
    assert!(acc >= 0.9, "an easy problem: {report}");
    assert!(
        report.contains("precision") && report.contains("down"),
        "{report}"
    );

    let o = run(&["inspect", "--model", s(&a)]);
    let info = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{info}");
    assert!(info.contains("task: classify, bidirectional"), "{info}");
    assert!(info.contains("classes (2): up, down"), "{info}");
    assert!(info.contains("w_ih_l0_reverse 24×2"), "{info}");

    // A classifier is not a character model, and a text file is not its input.
    assert_bad_input(&run(&["sample", "--model", s(&a)]), "a.rnn");
    let json = tmp("a.json");
    assert_bad_input(
        &run(&["export", "--model", s(&a), "--out", s(&json)]),
        "a classify model",
    );
    let words = tmp("words.txt");
    std::fs::write(&words, "up\tabc\n").unwrap();
    assert_bad_input(
        &run(&["eval", "--model", s(&a), "--data", s(&words)]),
        "reads feature vectors",
    );
}

#[test]
fn bad_classification_input_is_one_line_and_exit_2() {
    let out = tmp("never.rnn");
    let bad_ts = tmp("bad.ts");
    std::fs::write(
        &bad_ts,
        "@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n1,?:3,4:b\n",
    )
    .unwrap();
    let train = |data: &Path| {
        run(&[
            "train",
            "--task",
            "classify",
            "--data",
            s(data),
            "--out",
            s(&out),
        ])
    };
    assert_bad_input(&train(&bad_ts), "bad.ts:5: missing value '?'");
    std::fs::write(&bad_ts, "@dimensions 2\n@data\n1,2:3,4:a\n1,2:b\n").unwrap();
    assert_bad_input(&train(&bad_ts), "bad.ts:4: 1 channels, expected 2");
    let bad_txt = tmp("bad.txt");
    std::fs::write(&bad_txt, "en\tone\nes uno\n").unwrap();
    assert_bad_input(&train(&bad_txt), "bad.txt:2: expected `label<TAB>text`");
    std::fs::write(&bad_txt, "en\tone\nen\ttwo\n").unwrap();
    assert_bad_input(&train(&bad_txt), "a classifier needs at least two");
    assert!(!out.exists(), "no model may be written from bad input");

    // A test label the training file never had.
    let good = tmp("good.txt");
    std::fs::write(&good, "en\tone\nes\tuno\n").unwrap();
    std::fs::write(&bad_txt, "en\tone\nfr\tun\n").unwrap();
    assert_bad_input(
        &run(&[
            "train",
            "--task",
            "classify",
            "--data",
            s(&good),
            "--test",
            s(&bad_txt),
            "--out",
            s(&out),
        ]),
        "bad.txt:2: label \"fr\"",
    );
    // Classification flags without --task classify.
    assert_bad_input(
        &run(&[
            "train",
            "--data",
            s(&good),
            "--out",
            s(&out),
            "--bidirectional",
        ]),
        "--task classify",
    );
}
