//! Many-to-one classifiers: BPTT gradients of the sequence loss against central finite
//! differences of an independent f64 forward pass, for every parameter of every tensor,
//! every cell kind, one and two layers, with and without --bidirectional, one-hot and
//! dense inputs.

use rnn_train::classify::{backward, forward, ClsArch, SeqInput, Workspace};
use rnn_train::model::CellType;
use rnn_train::rng::SplitMix64;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One step of one cell in f64 from PyTorch's equations; `state` is h (and c for LSTM).
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn cell_step(
    cell: CellType,
    h: usize,
    wx: &[f64],
    wh: &[f64],
    bx: &[f64],
    bh: &[f64],
    x: &[f64],
    state: &[f64],
) -> Vec<f64> {
    let n_in = x.len();
    let lin = |w: &[f64], v: &[f64], row: usize, n: usize| -> f64 {
        (0..n).map(|j| w[row * n + j] * v[j]).sum::<f64>()
    };
    let hp = &state[..h];
    match cell {
        CellType::Elman => (0..h)
            .map(|i| (lin(wx, x, i, n_in) + lin(wh, hp, i, h) + bx[i]).tanh())
            .collect(),
        CellType::Gru => {
            let mut out = vec![0.0; h];
            for j in 0..h {
                let r = sigmoid(lin(wx, x, j, n_in) + bx[j] + lin(wh, hp, j, h) + bh[j]);
                let z = sigmoid(
                    lin(wx, x, h + j, n_in) + bx[h + j] + lin(wh, hp, h + j, h) + bh[h + j],
                );
                let n = (lin(wx, x, 2 * h + j, n_in)
                    + bx[2 * h + j]
                    + r * (lin(wh, hp, 2 * h + j, h) + bh[2 * h + j]))
                    .tanh();
                out[j] = (1.0 - z) * n + z * hp[j];
            }
            out
        }
        CellType::Lstm => {
            let cp = &state[h..];
            let mut out = vec![0.0; 2 * h];
            for j in 0..h {
                let gate = |b: usize| {
                    lin(wx, x, b * h + j, n_in)
                        + bx[b * h + j]
                        + lin(wh, hp, b * h + j, h)
                        + bh[b * h + j]
                };
                let (i, f, g, o) = (
                    sigmoid(gate(0)),
                    sigmoid(gate(1)),
                    gate(2).tanh(),
                    sigmoid(gate(3)),
                );
                let c = f * cp[j] + i * g;
                out[j] = o * c.tanh();
                out[h + j] = c;
            }
            out
        }
    }
}

/// `-ln softmax(W_ya z + b_y)[label]`, written from the equations in f64, reading the
/// weights off `p` with a cursor in the documented order and sharing no code with the
/// trainer. `xs` are the layer-0 input vectors (one-hot or dense).
fn reference_loss(a: &ClsArch, p: &[f64], xs: &[Vec<f64>], label: usize) -> f64 {
    let (h, nd, t_len) = (a.hidden, a.directions(), xs.len());
    let g = a.cell.gates();
    let mut cursor = 0;
    let mut take = |n: usize| {
        let s = &p[cursor..cursor + n];
        cursor += n;
        s
    };
    let mut inputs: Vec<Vec<f64>> = xs.to_vec();
    for _ in 0..a.layers {
        let n_in = inputs[0].len();
        let mut outs = vec![vec![0.0; nd * h]; t_len];
        for d in 0..nd {
            let wx = take(g * h * n_in);
            let wh = take(g * h * h);
            let bx = take(g * h);
            let bh = if g == 1 {
                vec![0.0; h]
            } else {
                take(g * h).to_vec()
            };
            let s = if a.cell == CellType::Lstm { 2 * h } else { h };
            let mut state = vec![0.0; s];
            let order: Vec<usize> = if d == 0 {
                (0..t_len).collect()
            } else {
                (0..t_len).rev().collect()
            };
            for t in order {
                state = cell_step(a.cell, h, wx, wh, bx, &bh, &inputs[t], &state);
                outs[t][d * h..(d + 1) * h].copy_from_slice(&state[..h]);
            }
        }
        inputs = outs;
    }
    let mut z = inputs[t_len - 1][..h].to_vec();
    if nd == 2 {
        z.extend_from_slice(&inputs[0][h..2 * h]);
    }
    let w_ya = take(a.classes * nd * h);
    let b_y = take(a.classes);
    let logits: Vec<f64> = (0..a.classes)
        .map(|k| {
            b_y[k]
                + (0..nd * h)
                    .map(|j| w_ya[k * nd * h + j] * z[j])
                    .sum::<f64>()
        })
        .collect();
    assert_eq!(
        cursor,
        p.len(),
        "reference read a different number of weights"
    );
    let log_sum = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
    log_sum - logits[label]
}

fn check(arch: ClsArch, dense: bool, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let params: Vec<f32> = (0..arch.param_count()).map(|_| rng.uniform(0.7)).collect();
    let t_len = 5;
    let tokens: Vec<u32> = (0..t_len)
        .map(|_| rng.below(arch.input as u64) as u32)
        .collect();
    let values: Vec<f32> = (0..t_len * arch.input).map(|_| rng.uniform(1.5)).collect();
    let x = if dense {
        SeqInput::Dense {
            values: &values,
            channels: arch.input,
        }
    } else {
        SeqInput::Tokens(&tokens)
    };
    let xs: Vec<Vec<f64>> = (0..t_len)
        .map(|t| {
            if dense {
                values[t * arch.input..(t + 1) * arch.input]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect()
            } else {
                let mut v = vec![0.0; arch.input];
                v[tokens[t] as usize] = 1.0;
                v
            }
        })
        .collect();
    let label = 1;
    let scale = 0.5f32;
    // A workspace too small on purpose: forward must grow it.
    let mut ws = Workspace::new(arch, 2);
    let loss = forward(&params, x, label, &mut ws);
    let mut grad = vec![0.0f32; arch.param_count()];
    backward(&params, x, label, scale, &mut ws, &mut grad);

    let p64: Vec<f64> = params.iter().map(|&v| f64::from(v)).collect();
    let reference = reference_loss(&arch, &p64, &xs, label);
    let what = format!("{} dense={dense}", arch.describe());
    assert!(
        (f64::from(loss) - reference).abs() < 1e-5 * reference.max(1.0),
        "{what}: forward loss {loss} vs f64 reference {reference}"
    );
    let eps = 1e-6;
    for t in arch.tensors() {
        let mut norm = 0.0f64;
        for j in t.range.clone() {
            let mut plus = p64.clone();
            plus[j] += eps;
            let mut minus = p64.clone();
            minus[j] -= eps;
            let numeric = f64::from(scale)
                * (reference_loss(&arch, &plus, &xs, label)
                    - reference_loss(&arch, &minus, &xs, label))
                / (2.0 * eps);
            let analytic = f64::from(grad[j]);
            assert!(
                (analytic - numeric).abs() <= 2e-5 + 1e-3 * numeric.abs(),
                "{what}: {}[{}]: BPTT {analytic:e}, finite differences {numeric:e}",
                t.name,
                j - t.range.start
            );
            norm += analytic * analytic;
        }
        // Not vacuous: every tensor gets a gradient (a one-hot input touches few columns,
        // but every tensor has some).
        assert!(
            norm > 1e-10,
            "{what}: {} has an (almost) zero gradient",
            t.name
        );
    }
}

#[test]
fn gradients_match_finite_differences_for_every_cell_depth_and_direction() {
    let mut seed = 10;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            for bidirectional in [false, true] {
                for dense in [false, true] {
                    let arch = ClsArch {
                        cell,
                        layers,
                        bidirectional,
                        input: 4,
                        hidden: 3,
                        classes: 3,
                    };
                    seed += 1;
                    check(arch, dense, seed);
                }
            }
        }
    }
}

#[test]
fn tensor_names_follow_pytorch_order() {
    let a = ClsArch {
        cell: CellType::Gru,
        layers: 2,
        bidirectional: true,
        input: 5,
        hidden: 3,
        classes: 4,
    };
    let names: Vec<String> = a.tensors().iter().map(|t| t.name.clone()).collect();
    assert_eq!(
        names,
        [
            "w_ih_l0",
            "w_hh_l0",
            "b_ih_l0",
            "b_hh_l0",
            "w_ih_l0_reverse",
            "w_hh_l0_reverse",
            "b_ih_l0_reverse",
            "b_hh_l0_reverse",
            "w_ih_l1",
            "w_hh_l1",
            "b_ih_l1",
            "b_hh_l1",
            "w_ih_l1_reverse",
            "w_hh_l1_reverse",
            "b_ih_l1_reverse",
            "b_hh_l1_reverse",
            "w_ya",
            "b_y"
        ]
    );
    // Layer 1 reads both directions of layer 0: 2·H inputs.
    let t = &a.tensors()[8];
    assert_eq!((t.rows, t.cols), (9, Some(6)));
    assert_eq!(a.tensors().last().unwrap().range.end, a.param_count());
    // G·H·I + G·H·H + 2·G·H per block: (45+27+18)·2 + (54+27+18)·2 + 4·6 + 4.
    assert_eq!(a.param_count(), 180 + 198 + 28);
}

/// The trainer's forward pass against rnn-core's `Classifier::classify` (the code the
/// device runs), through a real model file: class probabilities within 1e-5, for every
/// cell kind, one and two layers, both directions, characters and normalised vectors.
#[test]
fn trainer_forward_agrees_with_rnn_core_classifier() {
    use rnn_train::cls_data::InputSpec;
    use rnn_train::cls_train::Classifier;
    use rnn_train::data::Vocab;
    let mut worst = 0.0f32;
    let mut spread = 0.0f32;
    let mut seed = 100;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            for bidirectional in [false, true] {
                for dense in [false, true] {
                    seed += 1;
                    let mut rng = SplitMix64::new(seed);
                    let input = if dense {
                        InputSpec::Dense {
                            mean: (0..5).map(|_| rng.uniform(2.0)).collect(),
                            scale: (0..5).map(|_| 0.5 + rng.next_f32()).collect(),
                        }
                    } else {
                        InputSpec::Chars(Vocab::from_symbols("abcdé").unwrap())
                    };
                    let arch = ClsArch {
                        cell,
                        layers,
                        bidirectional,
                        input: 5,
                        hidden: 7,
                        classes: 3,
                    };
                    // Weights larger than the initial ones, so that the cells saturate.
                    let params = (0..arch.param_count()).map(|_| rng.uniform(0.9)).collect();
                    let model = Classifier {
                        arch,
                        input: input.clone(),
                        classes: vec!["x".into(), "y".into(), "z".into()],
                        params,
                    };
                    let bytes = model.to_bytes().unwrap();
                    let back = Classifier::from_bytes(&bytes, "m.rnn".as_ref()).unwrap();
                    assert_eq!(back, model, "file round trip");
                    let view = rnn_core::ModelView::parse(&bytes).unwrap();
                    let core = rnn_core::Classifier::from_view(&view).unwrap();
                    let mut ws = Workspace::new(arch, 1);
                    for t_len in [1, 2, 9] {
                        let tokens: Vec<u32> = (0..t_len).map(|_| rng.below(5) as u32).collect();
                        let raw: Vec<f32> = (0..t_len * 5).map(|_| rng.uniform(3.0)).collect();
                        let mut logits = [0.0f32; 3];
                        let mut work = vec![0.0f32; core.work_len(t_len)];
                        if let InputSpec::Dense { mean, scale } = &input {
                            let norm: Vec<f32> = raw
                                .iter()
                                .enumerate()
                                .map(|(k, &x)| (x - mean[k % 5]) * scale[k % 5])
                                .collect();
                            let x = SeqInput::Dense {
                                values: &norm,
                                channels: 5,
                            };
                            forward(&model.params, x, 0, &mut ws);
                            core.classify(rnn_core::Steps::Dense(&raw), &mut work, &mut logits)
                                .unwrap();
                        } else {
                            forward(&model.params, SeqInput::Tokens(&tokens), 0, &mut ws);
                            let t16: Vec<u16> = tokens.iter().map(|&t| t as u16).collect();
                            core.classify(rnn_core::Steps::Tokens(&t16), &mut work, &mut logits)
                                .unwrap();
                        }
                        rnn_core::sample::softmax(&mut logits);
                        let (lo, hi) = logits
                            .iter()
                            .fold((1.0f32, 0.0f32), |(lo, hi), &p| (lo.min(p), hi.max(p)));
                        spread = spread.max(hi - lo);
                        for (a, b) in ws.probs().iter().zip(&logits) {
                            let d = (a - b).abs();
                            assert!(
                                d < 1e-5,
                                "{} dense={dense} T={t_len}: {:?} vs rnn-core {logits:?}",
                                arch.describe(),
                                ws.probs()
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
