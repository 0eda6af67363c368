//! GRU, LSTM and stacked networks: BPTT gradients against central finite differences of an
//! independent f64 forward pass (every parameter of every tensor), the trainer's forward
//! pass against rnn-core's `Network::step`, the generic stack path against the Elman fast
//! path, and JSON round trips for every kind.

use std::path::Path;

use rnn_train::data::{read_text, Mode, START};
use rnn_train::model::{Arch, CellType, Model};
use rnn_train::net::{backward, forward, Workspace};
use rnn_train::rng::SplitMix64;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `Σ_t -ln softmax(W_ya h^{L-1}_t + b_y)[y_t]` in f64, written from the equations of
/// PyTorch's nn.RNN / nn.GRU / nn.LSTM and sharing no code with the trainer. The weights
/// are read off `p` in file order with a cursor. `state0` is every layer's initial state
/// (h, then c for LSTM). Indexed loops, to read like the equations.
#[allow(clippy::needless_range_loop)]
fn reference_loss(arch: &Arch, p: &[f64], inputs: &[u32], targets: &[u32], state0: &[f64]) -> f64 {
    let (h, o) = (arch.hidden, arch.output);
    let g = match arch.cell {
        CellType::Elman => 1,
        CellType::Gru => 3,
        CellType::Lstm => 4,
    };
    let mut cursor = 0;
    let mut take = |n: usize| {
        let s = &p[cursor..cursor + n];
        cursor += n;
        s
    };
    struct L<'a> {
        wx: &'a [f64],
        wh: &'a [f64],
        bx: &'a [f64],
        bh: &'a [f64],
        n_in: usize,
    }
    let mut layers = Vec::new();
    for l in 0..arch.layers {
        let n_in = if l == 0 { arch.input } else { h };
        let wx = take(g * h * n_in);
        let wh = take(g * h * h);
        let bx = take(g * h);
        let bh = if g == 1 { &[][..] } else { take(g * h) };
        layers.push(L {
            wx,
            wh,
            bx,
            bh,
            n_in,
        });
    }
    let w_ya = take(o * h);
    let b_y = take(o);
    assert_eq!(cursor, p.len());

    let per = if arch.cell == CellType::Lstm {
        2 * h
    } else {
        h
    };
    let mut hs: Vec<Vec<f64>> = (0..arch.layers)
        .map(|l| state0[l * per..l * per + h].to_vec())
        .collect();
    let mut cs: Vec<Vec<f64>> = (0..arch.layers)
        .map(|l| {
            if arch.cell == CellType::Lstm {
                state0[l * per + h..(l + 1) * per].to_vec()
            } else {
                vec![]
            }
        })
        .collect();
    let mut loss = 0.0;
    for (&x, &y) in inputs.iter().zip(targets) {
        let mut below: Vec<f64> = Vec::new();
        for (l, lw) in layers.iter().enumerate() {
            // W_x x + b_x and W_h h + b_h for every gate row.
            let xin = |row: usize| -> f64 {
                let r = &lw.wx[row * lw.n_in..(row + 1) * lw.n_in];
                let dot = if l == 0 {
                    if x == START {
                        0.0
                    } else {
                        r[x as usize]
                    }
                } else {
                    r.iter().zip(&below).map(|(a, b)| a * b).sum()
                };
                dot + lw.bx[row]
            };
            let hp = hs[l].clone();
            let hin = |row: usize| -> f64 {
                let r = &lw.wh[row * h..(row + 1) * h];
                r.iter().zip(&hp).map(|(a, b)| a * b).sum::<f64>()
                    + lw.bh.get(row).copied().unwrap_or(0.0)
            };
            let mut next = vec![0.0; h];
            match arch.cell {
                CellType::Elman => {
                    for j in 0..h {
                        next[j] = (xin(j) + hin(j)).tanh();
                    }
                }
                CellType::Gru => {
                    for j in 0..h {
                        let r = sigmoid(xin(j) + hin(j));
                        let z = sigmoid(xin(h + j) + hin(h + j));
                        let n = (xin(2 * h + j) + r * hin(2 * h + j)).tanh();
                        next[j] = (1.0 - z) * n + z * hp[j];
                    }
                }
                CellType::Lstm => {
                    for j in 0..h {
                        let i = sigmoid(xin(j) + hin(j));
                        let f = sigmoid(xin(h + j) + hin(h + j));
                        let gg = (xin(2 * h + j) + hin(2 * h + j)).tanh();
                        let og = sigmoid(xin(3 * h + j) + hin(3 * h + j));
                        let c = f * cs[l][j] + i * gg;
                        cs[l][j] = c;
                        next[j] = og * c.tanh();
                    }
                }
            }
            hs[l] = next.clone();
            below = next;
        }
        let logits: Vec<f64> = (0..o)
            .map(|k| b_y[k] + (0..h).map(|j| w_ya[k * h + j] * below[j]).sum::<f64>())
            .collect();
        let log_sum = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        loss += log_sum - logits[y as usize];
    }
    loss
}

fn gradcheck(arch: Arch, inputs: &[u32], targets: &[u32], state0: &[f32], scale: f32, seed: u64) {
    assert_eq!(state0.len(), arch.state_len());
    let mut rng = SplitMix64::new(seed);
    // Weights larger than the initial ones, so that every gate is well inside its
    // non-linear range and every term of the gradient matters.
    let params: Vec<f32> = (0..arch.param_count()).map(|_| rng.uniform(0.8)).collect();
    let mut ws = Workspace::new(arch, inputs.len());
    let loss = forward(&params, inputs, targets, state0, &mut ws);
    let mut grad = vec![0.0f32; arch.param_count()];
    backward(&params, inputs, targets, scale, &mut ws, &mut grad);

    let p64: Vec<f64> = params.iter().map(|&x| x as f64).collect();
    let s64: Vec<f64> = state0.iter().map(|&x| x as f64).collect();
    let reference = reference_loss(&arch, &p64, inputs, targets, &s64);
    assert!(
        (loss as f64 - reference).abs() < 1e-5 * reference.max(1.0),
        "{}: forward loss {loss} vs f64 reference {reference}",
        arch.describe()
    );
    let eps = 1e-6;
    for t in arch.tensors() {
        for j in t.range.clone() {
            let mut plus = p64.clone();
            plus[j] += eps;
            let mut minus = p64.clone();
            minus[j] -= eps;
            let numeric = scale as f64
                * (reference_loss(&arch, &plus, inputs, targets, &s64)
                    - reference_loss(&arch, &minus, inputs, targets, &s64))
                / (2.0 * eps);
            let analytic = grad[j] as f64;
            let tol = 2e-5 + 1e-3 * numeric.abs();
            assert!(
                (analytic - numeric).abs() <= tol,
                "{}: {}[{}]: BPTT {analytic:e}, finite differences {numeric:e}",
                arch.describe(),
                t.name,
                j - t.range.start
            );
        }
        // Guard against a vacuous pass: every tensor's gradient must be non-trivial.
        let norm: f32 = grad[t.range.clone()].iter().map(|g| g * g).sum();
        assert!(
            norm > 1e-6,
            "{}: {}: gradient is (almost) zero ({norm:e})",
            arch.describe(),
            t.name
        );
    }
}

fn arch(cell: CellType, layers: usize, input: usize, hidden: usize, output: usize) -> Arch {
    Arch {
        cell,
        layers,
        input,
        hidden,
        output,
    }
}

/// A name from the zero input: inputs START b d c e, targets b d c e '\n' (0).
const NAME_IN: [u32; 5] = [START, 1, 3, 2, 4];
const NAME_OUT: [u32; 5] = [1, 3, 2, 4, 0];
/// A stream window: different input and output sizes catch a transposed index.
const WIN_IN: [u32; 7] = [2, 0, 1, 1, 2, 0, 0];
const WIN_OUT: [u32; 7] = [6, 5, 0, 3, 1, 4, 2];

fn carried_state(n: usize) -> Vec<f32> {
    (0..n).map(|k| ((k * 7 % 11) as f32 - 5.0) * 0.15).collect()
}

#[test]
fn gru_gradients_match_finite_differences() {
    gradcheck(
        arch(CellType::Gru, 1, 5, 4, 5),
        &NAME_IN,
        &NAME_OUT,
        &[0.0; 4],
        0.2,
        1,
    );
    let a = arch(CellType::Gru, 1, 3, 5, 7);
    gradcheck(a, &WIN_IN, &WIN_OUT, &carried_state(a.state_len()), 1.0, 2);
}

#[test]
fn lstm_gradients_match_finite_differences() {
    gradcheck(
        arch(CellType::Lstm, 1, 5, 4, 5),
        &NAME_IN,
        &NAME_OUT,
        &[0.0; 8],
        0.2,
        3,
    );
    // A carried (h, c) state: the gradient through c_{t-1} at the first step matters.
    let a = arch(CellType::Lstm, 1, 3, 5, 7);
    gradcheck(a, &WIN_IN, &WIN_OUT, &carried_state(a.state_len()), 1.0, 4);
}

#[test]
fn two_layer_stacks_gradients_match_finite_differences() {
    for (k, cell) in CellType::ALL.into_iter().enumerate() {
        let a = arch(cell, 2, 3, 4, 7);
        gradcheck(
            a,
            &WIN_IN,
            &WIN_OUT,
            &carried_state(a.state_len()),
            1.0,
            10 + k as u64,
        );
        gradcheck(
            arch(cell, 2, 5, 3, 5),
            &NAME_IN,
            &NAME_OUT,
            &vec![0.0; arch(cell, 2, 5, 3, 5).state_len()],
            1.0,
            20 + k as u64,
        );
    }
}

#[test]
fn four_layer_gru_gradients_match_finite_differences() {
    let a = arch(CellType::Gru, 4, 3, 3, 7);
    gradcheck(a, &WIN_IN, &WIN_OUT, &carried_state(a.state_len()), 1.0, 30);
}

#[test]
fn generic_stack_path_agrees_with_the_elman_fast_path() {
    let a = arch(CellType::Elman, 1, 3, 6, 7);
    let mut rng = SplitMix64::new(5);
    let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.8)).collect();
    let s0 = carried_state(6);
    let mut fast = Workspace::new(a, WIN_IN.len());
    let mut generic = Workspace::Stack(rnn_train::stack::Workspace::new(a, WIN_IN.len()));
    assert!(matches!(fast, Workspace::Elman(..)));
    let mut g_fast = vec![0.0f32; a.param_count()];
    let mut g_gen = vec![0.0f32; a.param_count()];
    let l_fast = forward(&params, &WIN_IN, &WIN_OUT, &s0, &mut fast);
    let l_gen = forward(&params, &WIN_IN, &WIN_OUT, &s0, &mut generic);
    backward(&params, &WIN_IN, &WIN_OUT, 1.0, &mut fast, &mut g_fast);
    backward(&params, &WIN_IN, &WIN_OUT, 1.0, &mut generic, &mut g_gen);
    assert!((l_fast - l_gen).abs() < 1e-5, "{l_fast} vs {l_gen}");
    for (k, (x, y)) in g_fast.iter().zip(&g_gen).enumerate() {
        assert!((x - y).abs() < 1e-5, "gradient {k}: {x} vs {y}");
    }
    assert!(g_fast.iter().any(|g| g.abs() > 1e-3));
}

const DINOSAURS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/dinosaurs.txt");

#[test]
fn trainer_forward_agrees_with_rnn_core_network_for_every_kind_and_depth() {
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let vocab = text.vocab(Mode::Lines);
    let name: Vec<u32> = "tyrannosaurus"
        .chars()
        .map(|c| vocab.index_of(c).unwrap())
        .collect();
    let inputs: Vec<u32> = std::iter::once(START).chain(name.iter().copied()).collect();
    let targets: Vec<u32> = name
        .iter()
        .copied()
        .chain([vocab.newline().unwrap()])
        .collect();
    let mut worst_all = Vec::new();
    for cell in CellType::ALL {
        for layers in [1, 2, 3] {
            let mut model = Model::init_arch(cell, layers, vocab.clone(), 16, 99);
            // Larger weights than the initial ones, so that gates saturate for some units.
            for (k, p) in model.params.iter_mut().enumerate() {
                *p *= 1.0 + (k % 4) as f32;
            }
            let bytes = model.to_bytes().unwrap();
            let view = rnn_core::ModelView::parse(&bytes).unwrap();
            assert_eq!(view.header().layers as usize, layers);
            assert_eq!(view.header().cell, cell.core());
            let core = rnn_core::Network::from_view(&view).unwrap();
            use rnn_core::Cell;
            assert_eq!(core.state_len(), model.arch.state_len());

            let mut ws = Workspace::new(model.arch, inputs.len());
            let zero = vec![0.0f32; model.arch.state_len()];
            forward(&model.params, &inputs, &targets, &zero, &mut ws);

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
                    for (mine, theirs) in ws.layer_state(l, t).iter().zip(theirs) {
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

#[test]
fn lstm_starts_with_forget_bias_one_and_layers_draw_their_own_weights() {
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let vocab = text.vocab(Mode::Lines);
    let m = Model::init_arch(CellType::Lstm, 2, vocab.clone(), 8, 1);
    for l in 0..2 {
        let r = m.arch.layer_ranges(l);
        let b = &m.params[r.b_x];
        assert!(b[..8].iter().all(|&x| x == 0.0));
        assert!(b[8..16].iter().all(|&x| x == 1.0), "forget-gate bias");
        assert!(b[16..].iter().all(|&x| x == 0.0));
        assert!(m.params[r.b_h].iter().all(|&x| x == 0.0));
    }
    // A one-layer Elman model draws what the Elman-only trainer drew.
    let e = Model::init_arch(CellType::Elman, 1, vocab.clone(), 8, 1);
    assert_eq!(e, Model::init(vocab, 8, 1));
}

#[test]
fn json_round_trip_keeps_every_bit_for_every_kind_and_depth() {
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let vocab = text.vocab(Mode::Lines);
    let dir = std::env::temp_dir().join(format!("rnn-train-cells-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for cell in CellType::ALL {
        for layers in [1, 2, 4] {
            let mut m = Model::init_arch(cell, layers, vocab.clone(), 5, 3);
            // Values whose shortest f32 and f64 decimals differ, and subnormals.
            for (k, p) in m.params.iter_mut().enumerate() {
                *p = f32::from_bits(p.to_bits() ^ (k as u32 & 0xff)) / 3.0;
            }
            m.params[0] = f32::from_bits(1);
            let path = dir.join(format!("{}-{layers}.json", cell.name()));
            rnn_train::json::export(&m, &path).unwrap();
            let back = rnn_train::json::import(&path).unwrap();
            assert_eq!(back.arch, m.arch);
            let bits = |m: &Model| m.params.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&m), "{}", m.arch.describe());
            assert_eq!(back.to_bytes().unwrap(), m.to_bytes().unwrap());
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(doc["cell"], cell.name());
            assert_eq!(doc["layers"], layers);
        }
    }
}
