//! A classifier's convolutional front-end in the trainer: BPTT through the recurrent stack
//! and the convolutions against finite differences of the f64 reference (which has the
//! front-end too), and the trainer's class probabilities against `rnn-core`'s classifier
//! through a real model file.

mod common;

use common::{gradcheck, TestExample};
use rnn_train::nn::{
    forward, Arch, CellType, Example, InputKind, InputSpec, Model, Norm, SeqInput, Targets, Task,
    Workspace,
};
use rnn_train::rng::SplitMix64;
use rnn_train::train::parse_conv;

fn arch(cell: CellType, layers: usize, directions: usize, kind: InputKind, conv: &str) -> Arch {
    Arch {
        task: Task::Classify,
        cell,
        layers,
        directions,
        input_kind: kind,
        input: 4,
        hidden: 3,
        output: 3,
        conv: parse_conv(conv).unwrap(),
        sequence_norm: false,
    }
}

#[test]
fn conv_classifier_gradients_match_finite_differences() {
    let mut seed = 500;
    for (cell, layers, directions, dense, conv) in [
        (CellType::Elman, 1, 1, true, "3:4:2"),
        (CellType::Gru, 1, 2, true, "2:3:1,3:2:2"),
        (CellType::Lstm, 2, 1, false, "3:3:2"),
        (CellType::Gru, 2, 2, false, "2:4:1,2:3:3"),
    ] {
        let kind = if dense {
            InputKind::Dense { normalized: true }
        } else {
            InputKind::OneHot
        };
        let a = arch(cell, layers, directions, kind, conv);
        seed += 1;
        for t_len in [7, 10] {
            let ex = TestExample::random(&a, t_len, dense, false, &mut SplitMix64::new(seed));
            gradcheck(a, &ex, None, 0.5, seed);
        }
    }
}

#[test]
fn trainer_forward_with_a_front_end_agrees_with_rnn_core() {
    let mut rng = SplitMix64::new(9);
    let mut worst = 0.0f32;
    for (conv, dense, directions) in [
        ("3:5:2", true, 1),
        ("2:4:1,4:3:3", true, 2),
        ("3:4:2", false, 1),
    ] {
        let input = if dense {
            InputSpec::Dense {
                channels: 4,
                norm: Some(Norm {
                    mean: (0..4).map(|_| rng.uniform(1.0)).collect(),
                    scale: (0..4).map(|_| 0.5 + rng.next_f32()).collect(),
                }),
            }
        } else {
            InputSpec::Chars(rnn_train::data::Vocab::from_symbols("abcd").unwrap())
        };
        let a = arch(CellType::Gru, 1, directions, input.kind(), conv);
        let m = Model {
            arch: a,
            input: input.clone(),
            classes: vec!["x".into(), "y".into(), "z".into()],
            targets: None,
            params: (0..a.param_count()).map(|_| rng.uniform(0.9)).collect(),
        };
        let bytes = m.to_bytes().unwrap();
        assert_eq!(
            rnn_train::nn::Model::from_bytes(&bytes, "m.rnn".as_ref()).unwrap(),
            m
        );
        let view = rnn_core::ModelView::parse(&bytes).unwrap();
        let core = rnn_core::Classifier::from_view(&view).unwrap();
        let mut ws = Workspace::new(a, 1);
        for t_len in [1, 5, 12] {
            let raw: Vec<f32> = (0..t_len * 4).map(|_| rng.uniform(2.0)).collect();
            let tokens: Vec<u32> = (0..t_len).map(|_| rng.below(4) as u32).collect();
            let mut logits = [0.0f32; 3];
            let mut work = vec![0.0f32; core.work_len(t_len)];
            if let InputSpec::Dense { norm: Some(n), .. } = &input {
                let x: Vec<f32> = raw
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| (v - n.mean[k % 4]) * n.scale[k % 4])
                    .collect();
                let ex = Example {
                    x: SeqInput::Dense {
                        values: &x,
                        channels: 4,
                    },
                    y: Targets::Final(0),
                };
                forward(&m.params, &ex, None, &mut ws);
                core.classify(rnn_core::Steps::Dense(&raw), &mut work, &mut logits)
                    .unwrap();
            } else {
                let ex = Example {
                    x: SeqInput::Tokens(&tokens),
                    y: Targets::Final(0),
                };
                forward(&m.params, &ex, None, &mut ws);
                let t16: Vec<u16> = tokens.iter().map(|&t| t as u16).collect();
                core.classify(rnn_core::Steps::Tokens(&t16), &mut work, &mut logits)
                    .unwrap();
            }
            rnn_core::sample::softmax(&mut logits);
            for (p, q) in ws.probs(0).iter().zip(&logits) {
                let d = (p - q).abs();
                assert!(
                    d < 1e-5,
                    "{conv} T={t_len}: {:?} vs {logits:?}",
                    ws.probs(0)
                );
                worst = worst.max(d);
            }
        }
        // Export and import keep the front-end and every bit.
        let json = common::tmp(&format!("conv-{conv}.json"));
        rnn_train::io::json::export(&m, &json).unwrap();
        assert_eq!(rnn_train::io::json::import(&json).unwrap(), m);
    }
    assert!(worst < 1e-5);
}

#[test]
fn train_with_a_front_end_from_the_command_line_and_bad_conv_flags() {
    use common::{assert_bad_input, ok, run, s, series_file, tmp};
    let train = series_file("conv-train.ts", 60, 3);
    let test = series_file("conv-test.ts", 30, 4);
    let model = tmp("conv-cli.rnn");
    ok(&[
        "train",
        "--task",
        "classify",
        "--data",
        s(&train),
        "--conv",
        "3:6:2",
        "--out",
        s(&model),
        "--epochs",
        "30",
        "--hidden",
        "8",
        "--quiet",
    ]);
    let info = ok(&["inspect", "--model", s(&model)]);
    assert!(
        info.contains("convolutional front-end (ReLU, causal): kernel 3 channels 6 stride 2"),
        "{info}"
    );
    assert!(info.contains("format: version 2"), "{info}");
    let report = ok(&["eval", "--model", s(&model), "--data", s(&test)]);
    let acc: f64 = report
        .lines()
        .find_map(|l| l.strip_prefix("accuracy "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    // Rising against falling series: easy, with the front-end in the way or not.
    assert!(acc >= 0.9, "{report}");
    let out = tmp("conv-never.rnn");
    let bad = |conv: &str, task: &str| {
        run(&[
            "train",
            "--task",
            task,
            "--data",
            s(&train),
            "--conv",
            conv,
            "--out",
            s(&out),
        ])
    };
    assert_bad_input(&bad("3:6", "classify"), "is not three numbers");
    assert_bad_input(&bad("0:6:2", "classify"), "--conv \"0:6:2\"");
    assert_bad_input(
        &bad("3:6:2,1:1:1,1:1:1,1:1:1,1:1:1", "classify"),
        "more than 4",
    );
    assert_bad_input(&bad("3:6:2", "next"), "--conv is for --task classify");
    assert!(!out.exists());
}

#[test]
fn per_sequence_normalisation_in_the_trainer_agrees_with_rnn_core() {
    let mut rng = SplitMix64::new(21);
    let a = Arch {
        sequence_norm: true,
        ..arch(
            CellType::Lstm,
            1,
            2,
            InputKind::Dense { normalized: true },
            "2:4:2",
        )
    };
    let norm = Norm {
        mean: (0..4).map(|_| rng.uniform(0.2)).collect(),
        scale: (0..4).map(|_| 0.8 + 0.4 * rng.next_f32()).collect(),
    };
    let m = Model {
        arch: a,
        input: InputSpec::Dense {
            channels: 4,
            norm: Some(norm.clone()),
        },
        classes: vec!["x".into(), "y".into(), "z".into()],
        targets: None,
        params: (0..a.param_count()).map(|_| rng.uniform(0.9)).collect(),
    };
    let bytes = m.to_bytes().unwrap();
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    assert!(view.header().sequence_normalized);
    let core = rnn_core::Classifier::from_view(&view).unwrap();
    let t_len = 9;
    // Raw values far from zero and of another scale: only the shape should matter.
    let raw: Vec<f32> = (0..t_len * 4)
        .map(|_| 50.0 + 20.0 * rng.uniform(1.0))
        .collect();
    let (mut mean, mut inv) = (vec![0.0f32; 4], vec![0.0f32; 4]);
    rnn_core::classify::sequence_moments(&raw, 4, &mut mean, &mut inv);
    let x: Vec<f32> = raw
        .iter()
        .enumerate()
        .map(|(k, &v)| ((v - mean[k % 4]) * inv[k % 4] - norm.mean[k % 4]) * norm.scale[k % 4])
        .collect();
    let mut ws = Workspace::new(a, 1);
    let ex = Example {
        x: SeqInput::Dense {
            values: &x,
            channels: 4,
        },
        y: Targets::Final(0),
    };
    forward(&m.params, &ex, None, &mut ws);
    let mut logits = [0.0f32; 3];
    let mut work = vec![0.0f32; core.work_len(t_len)];
    core.classify(rnn_core::Steps::Dense(&raw), &mut work, &mut logits)
        .unwrap();
    rnn_core::sample::softmax(&mut logits);
    for (p, q) in ws.probs(0).iter().zip(&logits) {
        assert!((p - q).abs() < 1e-5, "{:?} vs {logits:?}", ws.probs(0));
    }
    let json = common::tmp("seqnorm.json");
    rnn_train::io::json::export(&m, &json).unwrap();
    assert_eq!(rnn_train::io::json::import(&json).unwrap(), m);
}
