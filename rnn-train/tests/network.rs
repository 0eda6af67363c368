//! The network of every task, cell, depth and direction: BPTT gradients against finite
//! differences of an independent f64 forward pass, the trainer's forward pass against
//! `rnn-core` (the code the device runs) through a real model file, the tensor layout,
//! the initialisation, and the JSON round trip.

mod common;

use std::path::Path;

use common::{gradcheck, TestExample, DINOSAURS};
use rnn_core::Cell;
use rnn_train::data::{read_text, Mode, Vocab, START};
use rnn_train::io::json;
use rnn_train::nn::{
    forward, Arch, CellType, Example, InputKind, InputSpec, Model, Norm, SeqInput, Targets, Task,
    Workspace,
};
use rnn_train::rng::SplitMix64;

fn classifier(cell: CellType, layers: usize, directions: usize, input_kind: InputKind) -> Arch {
    Arch {
        task: Task::Classify,
        cell,
        layers,
        directions,
        input_kind,
        input: 4,
        hidden: 3,
        output: 3,
        conv: rnn_core::ConvStack::NONE,
        sequence_norm: false,
    }
}

#[test]
fn next_symbol_gradients_match_finite_differences() {
    let mut seed = 1;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            let a = Arch::next(cell, layers, 5, 3);
            let mut rng = SplitMix64::new(seed);
            seed += 1;
            // A name: the zero input first, mean over its 6 predictions.
            let name = TestExample::random(&a, 6, false, true, &mut rng);
            gradcheck(a, &name, None, 1.0 / 6.0, seed);
            // A stream window starting from a carried state, summed.
            let window = TestExample::random(&a, 7, false, false, &mut rng);
            let state0: Vec<f32> = (0..a.state_len()).map(|_| rng.uniform(0.8)).collect();
            gradcheck(a, &window, Some(&state0), 1.0, seed);
        }
    }
    let a = Arch::next(CellType::Gru, 4, 4, 2);
    let ex = TestExample::random(&a, 4, false, true, &mut SplitMix64::new(99));
    gradcheck(a, &ex, None, 0.5, 99);
}

#[test]
fn classifier_gradients_match_finite_differences_for_every_cell_depth_and_direction() {
    let mut seed = 10;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            for directions in [1, 2] {
                for dense in [false, true] {
                    let kind = if dense {
                        InputKind::Dense { normalized: true }
                    } else {
                        InputKind::OneHot
                    };
                    let a = classifier(cell, layers, directions, kind);
                    seed += 1;
                    let ex = TestExample::random(&a, 5, dense, false, &mut SplitMix64::new(seed));
                    gradcheck(a, &ex, None, 0.5, seed);
                }
            }
        }
    }
}

#[test]
fn tensor_names_and_shapes_follow_the_file_order() {
    let a = Arch {
        input: 5,
        output: 4,
        ..classifier(CellType::Gru, 2, 2, InputKind::OneHot)
    };
    let names: Vec<String> = a.tensors().iter().map(|t| t.name.clone()).collect();
    let mut want = Vec::new();
    for suffix in ["", "_reverse"] {
        for l in 0..2 {
            for n in ["w_ih", "w_hh", "b_ih", "b_hh"] {
                want.push(format!("{n}_l{l}{suffix}"));
            }
        }
    }
    want.extend(["w_ya".to_string(), "b_y".to_string()]);
    assert_eq!(names, want);
    // Layer 1 reads both directions of layer 0: 2·H inputs.
    let t = &a.tensors()[4];
    assert_eq!((t.name.as_str(), t.rows, t.cols), ("w_ih_l1", 9, Some(6)));
    assert_eq!(a.tensors().last().unwrap().range.end, a.param_count());
    // G·H·I + G·H·H + 2·G·H per block: (45+27+18)·2 + (54+27+18)·2 + 4·6 + 4.
    assert_eq!(a.param_count(), 180 + 198 + 28);
    assert_eq!(a.param_count(), a.header().param_count().unwrap());
}

/// The trainer's forward pass against `rnn-core`'s `Network::step` through a real model
/// file: every layer's state and the probabilities at every step within 1e-5.
#[test]
fn trainer_forward_agrees_with_rnn_core_network_for_every_kind_and_depth() {
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let vocab = text.vocab(Mode::Lines);
    let name: Vec<u32> = "tyrannosaurus"
        .chars()
        .map(|c| vocab.index_of(c).unwrap())
        .collect();
    let inputs: Vec<u32> = std::iter::once(START).chain(name.iter().copied()).collect();
    let targets: Vec<u32> = name.iter().copied().chain(vocab.newline()).collect();
    let ex = Example {
        x: SeqInput::Tokens(&inputs),
        y: Targets::EveryStep(&targets),
    };
    let mut worst_all = Vec::new();
    for cell in CellType::ALL {
        for layers in [1, 2, 3] {
            let mut model = Model::init_next(cell, layers, vocab.clone(), 16, 99);
            // Larger weights than the initial ones, so that gates saturate for some units.
            for (k, p) in model.params.iter_mut().enumerate() {
                *p *= 1.0 + (k % 4) as f32;
            }
            let bytes = model.to_bytes().unwrap();
            assert_eq!(Model::from_bytes(&bytes, "m.rnn".as_ref()).unwrap(), model);
            let view = rnn_core::ModelView::parse(&bytes).unwrap();
            let core = rnn_core::Network::from_view(&view).unwrap();
            assert_eq!(core.state_len(), model.arch.state_len());

            let mut ws = Workspace::new(model.arch, inputs.len());
            forward(&model.params, &ex, None, &mut ws);
            let mut state = vec![0.0f32; core.state_len()];
            let mut scratch = vec![0.0f32; core.scratch_len()];
            let mut logits = vec![0.0f32; core.output_size()];
            let per = cell.state_len(16);
            let mut worst = 0.0f32;
            for (t, &x) in inputs.iter().enumerate() {
                let input = if x == START {
                    rnn_core::Input::Start
                } else {
                    rnn_core::Input::Token(x as usize)
                };
                core.step(&mut state, input, &mut scratch, &mut logits)
                    .unwrap();
                for l in 0..layers {
                    let theirs = &state[l * per..(l + 1) * per];
                    for (mine, theirs) in ws.rec.layer_state(l, 0, t).iter().zip(theirs) {
                        worst = worst.max((mine - theirs).abs());
                    }
                }
                rnn_core::sample::softmax(&mut logits);
                for (mine, theirs) in ws.probs(t).iter().zip(&logits) {
                    worst = worst.max((mine - theirs).abs());
                }
            }
            worst_all.push((model.arch.describe(), worst));
            // The states are not trivially equal (all zero or saturated to the same value).
            assert!(state.iter().any(|s| s.abs() > 0.05));
        }
    }
    assert!(worst_all.iter().all(|(_, w)| *w < 1e-5), "{worst_all:?}");
}

/// A one-layer Elman model also runs on `rnn-core`'s `ElmanWeights` (the run-time-sized
/// Elman the host tools and `Elman<I, H, O>` share): the same states and probabilities.
#[test]
fn trainer_forward_agrees_with_rnn_core_elman_weights() {
    let vocab = read_text(Path::new(DINOSAURS)).unwrap().vocab(Mode::Lines);
    let mut model = Model::init_next(CellType::Elman, 1, vocab.clone(), 25, 99);
    // Larger weights than the initial ones, so that tanh saturates for some units.
    for (k, p) in model.params.iter_mut().enumerate() {
        *p *= 1.0 + (k % 7) as f32;
    }
    let bytes = model.to_bytes().unwrap();
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    let core = rnn_core::ElmanWeights::from_view(&view).unwrap();
    let inputs: Vec<u32> = std::iter::once(START)
        .chain("tyrannosaurus".chars().map(|c| vocab.index_of(c).unwrap()))
        .collect();
    let targets: Vec<u32> = inputs[1..].iter().copied().chain(vocab.newline()).collect();
    let ex = Example {
        x: SeqInput::Tokens(&inputs),
        y: Targets::EveryStep(&targets),
    };
    let mut ws = Workspace::new(model.arch, inputs.len());
    forward(&model.params, &ex, None, &mut ws);
    let (mut a, mut scratch, mut logits) = (vec![0.0f32; 25], vec![0.0f32; 25], vec![0.0f32; 27]);
    let mut worst = 0.0f32;
    for (t, &x) in inputs.iter().enumerate() {
        let input = if x == START {
            rnn_core::Input::Start
        } else {
            rnn_core::Input::Token(x as usize)
        };
        core.step(&mut a, input, &mut scratch, &mut logits).unwrap();
        for (mine, theirs) in ws.rec.layer_state(0, 0, t).iter().zip(&a) {
            worst = worst.max((mine - theirs).abs());
        }
        rnn_core::sample::softmax(&mut logits);
        for (mine, theirs) in ws.probs(t).iter().zip(&logits) {
            worst = worst.max((mine - theirs).abs());
        }
    }
    assert!(
        worst < 1e-5 && a.iter().any(|v| v.abs() > 0.5),
        "largest difference {worst}"
    );
}

/// The trainer's forward pass against `rnn-core`'s `Classifier::classify` through a real
/// model file: class probabilities within 1e-5, for every cell kind, one and two layers,
/// both directions, characters and normalised vectors.
#[test]
fn trainer_forward_agrees_with_rnn_core_classifier() {
    let mut worst = 0.0f32;
    let mut spread = 0.0f32;
    let mut seed = 100;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            for directions in [1, 2] {
                for dense in [false, true] {
                    seed += 1;
                    let mut rng = SplitMix64::new(seed);
                    let input = if dense {
                        InputSpec::Dense {
                            channels: 5,
                            norm: Some(Norm {
                                mean: (0..5).map(|_| rng.uniform(2.0)).collect(),
                                scale: (0..5).map(|_| 0.5 + rng.next_f32()).collect(),
                            }),
                        }
                    } else {
                        InputSpec::Chars(Vocab::from_symbols("abcdé").unwrap())
                    };
                    let arch = Arch {
                        input: 5,
                        hidden: 7,
                        ..classifier(cell, layers, directions, input.kind())
                    };
                    // Weights larger than the initial ones, so that the cells saturate.
                    let params = (0..arch.param_count()).map(|_| rng.uniform(0.9)).collect();
                    let model = Model {
                        arch,
                        input: input.clone(),
                        classes: vec!["x".into(), "y".into(), "z".into()],
                        targets: None,
                        params,
                    };
                    let bytes = model.to_bytes().unwrap();
                    let back = Model::from_bytes(&bytes, "m.rnn".as_ref()).unwrap();
                    assert_eq!(back, model, "file round trip");
                    let view = rnn_core::ModelView::parse(&bytes).unwrap();
                    let core = rnn_core::Classifier::from_view(&view).unwrap();
                    let mut ws = Workspace::new(arch, 1);
                    for t_len in [1, 2, 9] {
                        let tokens: Vec<u32> = (0..t_len).map(|_| rng.below(5) as u32).collect();
                        let raw: Vec<f32> = (0..t_len * 5).map(|_| rng.uniform(3.0)).collect();
                        let mut logits = [0.0f32; 3];
                        let mut work = vec![0.0f32; core.work_len(t_len)];
                        if let InputSpec::Dense { norm: Some(n), .. } = &input {
                            let norm: Vec<f32> = raw
                                .iter()
                                .enumerate()
                                .map(|(k, &x)| (x - n.mean[k % 5]) * n.scale[k % 5])
                                .collect();
                            let x = SeqInput::Dense {
                                values: &norm,
                                channels: 5,
                            };
                            forward(
                                &model.params,
                                &Example {
                                    x,
                                    y: Targets::Final(0),
                                },
                                None,
                                &mut ws,
                            );
                            core.classify(rnn_core::Steps::Dense(&raw), &mut work, &mut logits)
                                .unwrap();
                        } else {
                            let x = SeqInput::Tokens(&tokens);
                            forward(
                                &model.params,
                                &Example {
                                    x,
                                    y: Targets::Final(0),
                                },
                                None,
                                &mut ws,
                            );
                            let t16: Vec<u16> = tokens.iter().map(|&t| t as u16).collect();
                            core.classify(rnn_core::Steps::Tokens(&t16), &mut work, &mut logits)
                                .unwrap();
                        }
                        rnn_core::sample::softmax(&mut logits);
                        let (lo, hi) = logits
                            .iter()
                            .fold((1.0f32, 0.0f32), |(lo, hi), &p| (lo.min(p), hi.max(p)));
                        spread = spread.max(hi - lo);
                        for (a, b) in ws.probs(0).iter().zip(&logits) {
                            let d = (a - b).abs();
                            assert!(
                                d < 1e-5,
                                "{} dense={dense} T={t_len}: {:?} vs rnn-core {logits:?}",
                                arch.describe(),
                                ws.probs(0)
                            );
                            worst = worst.max(d);
                        }
                    }
                }
            }
        }
    }
    // Not vacuous: the probabilities are far from uniform.
    assert!(worst < 1e-5 && spread > 0.3, "{worst} {spread}");
}

#[test]
fn lstm_starts_with_forget_bias_one_and_layers_draw_their_own_weights() {
    let vocab = read_text(Path::new(DINOSAURS)).unwrap().vocab(Mode::Lines);
    let m = Model::init_next(CellType::Lstm, 2, vocab, 8, 1);
    for l in 0..2 {
        let r = m.arch.layer_ranges(l, 0);
        let b = &m.params[r.b_x];
        assert!(b[..8].iter().all(|&x| x == 0.0));
        assert!(b[8..16].iter().all(|&x| x == 1.0), "forget-gate bias");
        assert!(b[16..].iter().all(|&x| x == 0.0));
        assert!(m.params[r.b_h].iter().all(|&x| x == 0.0));
        let w = &m.params[r.w_x.start..r.w_h.end];
        assert!(w.iter().all(|&x| x.abs() < 1.0 / 8f32.sqrt()) && w.iter().any(|&x| x != 0.0));
    }
    let r = |l| m.arch.layer_ranges(l, 0).w_h;
    assert_ne!(m.params[r(0)][..8], m.params[r(1)][..8]);
}

/// Values whose shortest f32 and f64 decimals differ, and a subnormal.
fn awkward(m: &mut Model) {
    for (k, p) in m.params.iter_mut().enumerate() {
        *p = f32::from_bits(p.to_bits() ^ (k as u32 & 0xff)) / 3.0;
    }
    m.params[0] = f32::from_bits(1);
}

#[test]
fn json_round_trip_keeps_every_bit_for_every_task_kind_and_depth() {
    let vocab = read_text(Path::new(DINOSAURS)).unwrap().vocab(Mode::Lines);
    let mut models = Vec::new();
    for cell in CellType::ALL {
        for layers in [1, 2, 4] {
            models.push(Model::init_next(cell, layers, vocab.clone(), 5, 3));
        }
        for directions in [1, 2] {
            let dense = InputSpec::Dense {
                channels: 3,
                norm: Some(Norm {
                    mean: vec![0.1, -2.5, 1e-3],
                    scale: vec![1.0 / 3.0, 7.0, 0.01],
                }),
            };
            for input in [
                InputSpec::Chars(Vocab::from_symbols("xyzé").unwrap()),
                dense,
            ] {
                let a = Arch {
                    input: input.size(),
                    ..classifier(cell, 2, directions, input.kind())
                };
                let classes = vec!["un".into(), "deux".into(), "trois\t3".into()];
                models.push(Model::init(a, input.clone(), classes, None, 3));
                // The same network tagging, and regressing two targets.
                let tagger = Arch {
                    task: Task::Tag,
                    ..a
                };
                let classes = vec!["a".into(), "b".into(), "c".into()];
                models.push(Model::init(tagger, input.clone(), classes, None, 4));
                if !matches!(input, InputSpec::Chars(_)) {
                    let regress = Arch {
                        task: Task::Regress,
                        output: 2,
                        ..a
                    };
                    let stats = rnn_train::nn::TargetStats {
                        mean: vec![1.5, -3e-4],
                        std: vec![0.25, 40.0],
                    };
                    let names = vec!["speed".into(), "angle (rad)".into()];
                    models.push(Model::init(regress, input, names, Some(stats), 5));
                }
            }
        }
    }
    for (k, mut m) in models.into_iter().enumerate() {
        awkward(&mut m);
        let path = common::tmp(&format!("round-trip-{k}.json"));
        json::export(&m, &path).unwrap();
        let back = json::import(&path).unwrap();
        assert_eq!(back, m, "{}", m.arch.describe());
        let bits = |m: &Model| m.params.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&m), "{}", m.arch.describe());
        assert_eq!(back.to_bytes().unwrap(), m.to_bytes().unwrap());
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["cell"], m.arch.cell.name());
        assert_eq!(doc["task"], m.arch.task.name());
    }
}

#[test]
fn an_empty_sequence_scores_from_the_zero_state_without_panicking() {
    let a = classifier(CellType::Lstm, 2, 2, InputKind::OneHot);
    let mut rng = SplitMix64::new(5);
    let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.5)).collect();
    let ex = Example {
        x: SeqInput::Tokens(&[]),
        y: Targets::Final(2),
    };
    let mut ws = Workspace::new(a, 4);
    let loss = forward(&params, &ex, None, &mut ws);
    // Only the output bias speaks: -ln softmax(b_y)[2].
    let b_y = &params[a.head_ranges().1];
    let lse = b_y.iter().map(|&b| f64::from(b).exp()).sum::<f64>().ln();
    assert!(
        (f64::from(loss) - (lse - f64::from(b_y[2]))).abs() < 1e-5,
        "{loss}"
    );
    let mut grad = vec![0.0f32; a.param_count()];
    rnn_train::nn::backward(&params, &ex, 1.0, &mut ws, &mut grad);
    assert!(grad[..a.head_ranges().1.start].iter().all(|&g| g == 0.0));
}
