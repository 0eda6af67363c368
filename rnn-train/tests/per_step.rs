//! The per-step tasks, tagging and regression, for every cell, depth and direction: BPTT
//! gradients against finite differences of the f64 reference, the trainer's outputs at
//! every step against `rnn-core`'s (`Stream` step by step, `Classifier::per_step` for a
//! bidirectional model) through a real model file.

mod common;

use common::{gradcheck, TestExample};
use rnn_train::nn::{
    forward, Arch, CellType, Example, InputKind, InputSpec, Model, Norm, SeqInput, TargetStats,
    Targets, Task, Workspace,
};
use rnn_train::rng::SplitMix64;

fn per_step(task: Task, cell: CellType, layers: usize, directions: usize, kind: InputKind) -> Arch {
    Arch {
        task,
        cell,
        layers,
        directions,
        input_kind: kind,
        input: 4,
        hidden: 3,
        output: if task == Task::Regress { 2 } else { 3 },
        conv: rnn_core::ConvStack::NONE,
        sequence_norm: false,
    }
}

#[test]
fn tag_and_regress_gradients_match_finite_differences() {
    let mut seed = 300;
    for task in [Task::Tag, Task::Regress] {
        for cell in CellType::ALL {
            for (layers, directions) in [(1, 1), (2, 1), (1, 2), (2, 2)] {
                let dense = task == Task::Regress || directions == 2;
                let kind = if dense {
                    InputKind::Dense { normalized: true }
                } else {
                    InputKind::OneHot
                };
                let a = per_step(task, cell, layers, directions, kind);
                seed += 1;
                let mut rng = SplitMix64::new(seed);
                let ex = TestExample::random(&a, 5, dense, false, &mut rng);
                gradcheck(a, &ex, None, 0.2, seed);
                if directions == 1 {
                    // A window that continues a recording, from a carried state.
                    let state0: Vec<f32> = (0..a.state_len()).map(|_| rng.uniform(0.8)).collect();
                    gradcheck(a, &ex, Some(&state0), 0.2, seed);
                }
            }
        }
    }
}

/// A model with weights large enough to saturate the cells; dense inputs normalised,
/// regression targets scaled and shifted.
fn model(arch: Arch, rng: &mut SplitMix64) -> Model {
    let input = match arch.input_kind {
        InputKind::OneHot => {
            InputSpec::Chars(rnn_train::data::Vocab::from_symbols("abcé").unwrap())
        }
        InputKind::Dense { .. } => InputSpec::Dense {
            channels: 4,
            norm: Some(Norm {
                mean: (0..4).map(|_| rng.uniform(2.0)).collect(),
                scale: (0..4).map(|_| 0.5 + rng.next_f32()).collect(),
            }),
        },
    };
    let (classes, targets) = match arch.task {
        Task::Regress => (
            vec!["x".into(), "y".into()],
            Some(TargetStats {
                mean: vec![3.0, -0.5],
                std: vec![0.1, 20.0],
            }),
        ),
        _ => (vec!["p".into(), "q".into(), "r".into()], None),
    };
    Model {
        arch,
        input,
        classes,
        targets,
        params: (0..arch.param_count()).map(|_| rng.uniform(0.9)).collect(),
    }
}

#[test]
fn trainer_outputs_at_every_step_agree_with_rnn_core() {
    let mut rng = SplitMix64::new(77);
    let mut worst = 0.0f32;
    for task in [Task::Tag, Task::Regress] {
        for cell in CellType::ALL {
            for (layers, directions) in [(1, 1), (2, 1), (2, 2)] {
                for dense in [false, true] {
                    if task == Task::Regress && !dense {
                        continue;
                    }
                    let kind = if dense {
                        InputKind::Dense { normalized: true }
                    } else {
                        InputKind::OneHot
                    };
                    let m = model(per_step(task, cell, layers, directions, kind), &mut rng);
                    let bytes = m.to_bytes().unwrap();
                    assert_eq!(Model::from_bytes(&bytes, "m.rnn".as_ref()).unwrap(), m);
                    let view = rnn_core::ModelView::parse(&bytes).unwrap();
                    let t_len = 9;
                    let tokens: Vec<u32> = (0..t_len).map(|_| rng.below(4) as u32).collect();
                    let raw: Vec<f32> = (0..t_len * 4).map(|_| rng.uniform(3.0)).collect();
                    let norm: Vec<f32> = match &m.input {
                        InputSpec::Dense { norm: Some(n), .. } => raw
                            .iter()
                            .enumerate()
                            .map(|(k, &x)| (x - n.mean[k % 4]) * n.scale[k % 4])
                            .collect(),
                        _ => Vec::new(),
                    };
                    let x = if dense {
                        SeqInput::Dense {
                            values: &norm,
                            channels: 4,
                        }
                    } else {
                        SeqInput::Tokens(&tokens)
                    };
                    let o = m.arch.output;
                    let (labels, values) = (vec![0u32; t_len], vec![0.0f32; t_len * o]);
                    let y = if task == Task::Regress {
                        Targets::Values(&values)
                    } else {
                        Targets::EveryStep(&labels)
                    };
                    let mut ws = Workspace::new(m.arch, 1);
                    forward(&m.params, &Example { x, y }, None, &mut ws);
                    // rnn-core's outputs: logits (softmaxed here) or values in target units.
                    let mut core = vec![0.0f32; t_len * o];
                    if directions == 2 {
                        let c = rnn_core::Classifier::from_view(&view).unwrap();
                        let mut work = vec![0.0f32; c.per_step_work_len(t_len)];
                        let t16: Vec<u16> = tokens.iter().map(|&t| t as u16).collect();
                        let steps = if dense {
                            rnn_core::Steps::Dense(&raw)
                        } else {
                            rnn_core::Steps::Tokens(&t16)
                        };
                        c.per_step(steps, &mut work, &mut core).unwrap();
                        assert!(rnn_core::Stream::from_view(&view).is_err());
                    } else {
                        let s = rnn_core::Stream::from_view(&view).unwrap();
                        let mut state = vec![0.0f32; s.state_len()];
                        let mut scratch = vec![0.0f32; s.scratch_len()];
                        for (t, out) in core.chunks_exact_mut(o).enumerate() {
                            let x = if dense {
                                rnn_core::Input::Dense(&raw[t * 4..(t + 1) * 4])
                            } else {
                                rnn_core::Input::Token(tokens[t] as usize)
                            };
                            s.step(&mut state, x, &mut scratch, out).unwrap();
                        }
                    }
                    for (t, out) in core.chunks_exact_mut(o).enumerate() {
                        let mut mine = ws.probs(t).to_vec();
                        match &m.targets {
                            Some(stats) => stats.denormalize(&mut mine),
                            None => rnn_core::sample::softmax(out),
                        }
                        for (a, b) in mine.iter().zip(out.iter()) {
                            // Regression values are up to 20 times the network's scale.
                            let d = (a - b).abs() / b.abs().max(1.0);
                            assert!(d < 1e-5, "{} t={t}: {mine:?} vs {out:?}", m.arch.describe());
                            worst = worst.max(d);
                        }
                    }
                }
            }
        }
    }
    assert!(worst < 1e-5);
}
