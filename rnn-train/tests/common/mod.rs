//! Helpers the integration tests share: the binary and its temporary files, the
//! bad-input assertion, small data sets, and an independent f64 reference of the whole
//! network (written from the equations, sharing no code with the trainer) with the
//! finite-difference gradient check built on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rnn_train::nn::{backward, forward, Arch, CellType, Example, SeqInput, Targets, Workspace};
use rnn_train::rng::SplitMix64;

pub const DINOSAURS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/dinosaurs.txt");
pub const WORDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/words");

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rnn-train"))
}

/// A path in this test process's own temporary directory.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-train-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run rnn-train")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs the binary and insists that it succeeds; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A bad-input failure: exit code 2 and exactly one line on stderr, containing `needle`.
pub fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains(needle), "{err:?} does not mention {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Writes `holed` (a data file with `holes` missing values) and `filled` (the same with
/// each hole given its interpolated value) as `NAME.EXT`, trains `--task TASK` on each
/// for two epochs, and checks that `train` and `eval` count the holes for the holed
/// file only and that both models are the same bytes (a hole trains as its
/// interpolation).
pub fn assert_holes_train_as_filled(
    task: &str,
    ext: &str,
    holed: &str,
    filled: &str,
    holes: usize,
) {
    let note = format!("{holes} missing values filled by linear interpolation");
    let mut models = Vec::new();
    for (name, text) in [("holed", holed), ("filled", filled)] {
        let data = tmp(&format!("{name}-{task}.{ext}"));
        std::fs::write(&data, text).unwrap();
        let out = tmp(&format!("{name}-{task}.rnn"));
        let args = [
            "train",
            "--task",
            task,
            "--data",
            s(&data),
            "--out",
            s(&out),
            "--epochs",
            "2",
        ];
        let printed = ok(&args);
        assert_eq!(printed.contains(&note), name == "holed", "{printed}");
        let eval = ok(&["eval", "--model", s(&out), "--data", s(&data)]);
        assert_eq!(eval.contains(&note), name == "holed", "{eval}");
        models.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(models[0], models[1], "a hole trains as its interpolation");
}

/// The first `n` dinosaur names: enough to train on in a debug build within a second.
pub fn small_data(n: usize) -> PathBuf {
    let all = std::fs::read_to_string(DINOSAURS).unwrap();
    let text: String = all.lines().take(n).flat_map(|l| [l, "\n"]).collect();
    let p = tmp(&format!("small{n}.txt"));
    // Tests run in parallel and ask for the same file: each writes a twin of its own and
    // renames it over, so that a test reading the file never sees it half written.
    let twin = tmp(&format!("small{n}.txt.{:?}", std::thread::current().id()));
    std::fs::write(&twin, text).unwrap();
    std::fs::rename(&twin, &p).unwrap();
    p
}

/// A small two-channel `.ts` problem: class `up` rises, class `down` falls, lengths 3-8.
pub fn series_file(name: &str, cases: usize, seed: u64) -> PathBuf {
    let mut rng = SplitMix64::new(seed);
    let mut text = String::from(
        "# made up for the tests\n@problemName UpDown\n@timeStamps false\n@missing false\n\
         @univariate false\n@dimensions 2\n@equalLength false\n@classLabel true up down\n@data\n",
    );
    for k in 0..cases {
        let up = k % 2 == 0;
        let len = 3 + rng.below(6) as usize;
        let chan = |rng: &mut SplitMix64, slope: f32| {
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

/// A latch to tag, as a CSV file with a header (`run,x,noise,state`): `x` is mostly 0
/// with a spike of +1 or -1 now and then; `state` is `on` from a +1 spike until the next
/// -1 spike and `off` otherwise, so a tagger must remember the last spike (the current
/// input alone says nothing between spikes). `recordings` runs of `len` steps.
pub fn latch_csv(name: &str, recordings: usize, len: usize, seed: u64) -> PathBuf {
    let mut rng = SplitMix64::new(seed);
    let mut text = String::from("run,x,noise,state\n");
    for r in 0..recordings {
        let mut on = false;
        for _ in 0..len {
            let u = rng.next_f32();
            let x = if u < 0.08 {
                1.0
            } else if u < 0.16 {
                -1.0
            } else {
                0.0
            };
            if x > 0.0 {
                on = true;
            } else if x < 0.0 {
                on = false;
            }
            let noise = rng.uniform(1.0);
            text.push_str(&format!(
                "r{r},{x},{noise},{}\n",
                if on { "on" } else { "off" }
            ));
        }
    }
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A smoothing filter to learn, as a CSV file (`x,y`, one recording): `x` a random walk
/// with noise, `y_t = 0.8 y_{t-1} + 0.2 x_t` (an exponential moving average), so the
/// answer needs the past. Returns the file and the RMSE of predicting `y_t = x_t`
/// (persistence of the input, the baseline without memory).
pub fn smoothing_csv(name: &str, len: usize, seed: u64) -> (PathBuf, f64) {
    let mut rng = SplitMix64::new(seed);
    let mut text = String::from("x,y\n");
    let (mut walk, mut y) = (0.0f32, 0.0f32);
    let mut sq = 0.0f64;
    for _ in 0..len {
        walk = 0.95 * walk + rng.uniform(0.5);
        let x = walk + rng.uniform(1.0);
        y = 0.8 * y + 0.2 * x;
        sq += f64::from(x - y).powi(2);
        text.push_str(&format!("{x},{y}\n"));
    }
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    (p, (sq / len as f64).sqrt())
}

/// The files in `dir` whose names end in `.tmp`.
pub fn stray_tmp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The f64 reference network.

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One step of one cell in f64 from PyTorch's equations; `state` is h (and c for LSTM).
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn cell_step(cell: CellType, h: usize, w: &LayerRef<'_>, x: &[f64], state: &[f64]) -> Vec<f64> {
    let n_in = x.len();
    let lin = |m: &[f64], v: &[f64], row: usize, n: usize| -> f64 {
        (0..n).map(|j| m[row * n + j] * v[j]).sum::<f64>()
    };
    let (wx, wh, bx, bh) = (w.wx, w.wh, w.bx, &w.bh);
    let hp = &state[..h];
    match cell {
        CellType::Elman => (0..h)
            .map(|i| (lin(wx, x, i, n_in) + lin(wh, hp, i, h) + bx[i]).tanh())
            .collect(),
        CellType::Gru => {
            let mut out = vec![0.0; h];
            for j in 0..h {
                let gate = |b: usize| lin(wx, x, b * h + j, n_in) + bx[b * h + j];
                let rec = |b: usize| lin(wh, hp, b * h + j, h) + bh[b * h + j];
                let r = sigmoid(gate(0) + rec(0));
                let z = sigmoid(gate(1) + rec(1));
                let n = (gate(2) + r * rec(2)).tanh();
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

struct LayerRef<'a> {
    wx: &'a [f64],
    wh: &'a [f64],
    bx: &'a [f64],
    bh: Vec<f64>,
}

/// What the reference is scored against.
#[derive(Clone, Debug)]
pub enum RefTargets {
    EveryStep(Vec<usize>),
    /// `O` real targets per step (regression): mean squared error over the `O`.
    Values(Vec<f64>),
    Final(usize),
}

/// The loss `Σ -ln softmax(W_ya z + b_y)[y]` of the network `a` with parameters `p`
/// (read with a cursor in the order FORMAT.md documents: the forward stack's layers, the
/// backward stack's, then the output layer), on layer-0 inputs `xs` (one-hot, zero or
/// dense vectors), starting from `state0` (per layer-direction, or zero).
#[allow(clippy::needless_range_loop)]
pub fn reference_loss(
    a: &Arch,
    p: &[f64],
    xs: &[Vec<f64>],
    y: &RefTargets,
    state0: Option<&[f64]>,
) -> f64 {
    let (h, nd, g) = (a.hidden, a.directions, a.cell.gates());
    let s = if a.cell == CellType::Lstm { 2 * h } else { h };
    let mut cursor = 0;
    let mut take = |n: usize| {
        let r = &p[cursor..cursor + n];
        cursor += n;
        r
    };
    // The convolutional front-end's weights come first: C × K·C_in, then C.
    let mut conv_w: Vec<(&[f64], &[f64])> = Vec::new();
    let mut c_in = a.input;
    for spec in a.conv.layers() {
        let (k, c) = (spec.kernel as usize, spec.channels as usize);
        conv_w.push((take(c * k * c_in), take(c)));
        c_in = c;
    }
    let mut layers: Vec<Vec<LayerRef<'_>>> = vec![Vec::new(), Vec::new()];
    for d in 0..nd {
        for l in 0..a.layers {
            let n_in = if l == 0 { c_in } else { nd * h };
            let wx = take(g * h * n_in);
            let wh = take(g * h * h);
            let bx = take(g * h);
            let bh = if g == 1 {
                vec![0.0; h]
            } else {
                take(g * h).to_vec()
            };
            layers[d].push(LayerRef { wx, wh, bx, bh });
        }
    }
    let w_ya = take(a.output * nd * h);
    let b_y = take(a.output);
    assert_eq!(
        cursor,
        p.len(),
        "reference read a different number of weights"
    );
    let mut inputs: Vec<Vec<f64>> = xs.to_vec();
    // v_j = ReLU(b + Σ_k W[·,k,·] u_{jS-k}), u before the start zero.
    let mut c_in = a.input;
    for (spec, (w, b)) in a.conv.layers().iter().zip(&conv_w) {
        let (k, st, c) = (
            spec.kernel as usize,
            spec.stride as usize,
            spec.channels as usize,
        );
        inputs = (0..inputs.len())
            .step_by(st)
            .map(|t| {
                (0..c)
                    .map(|o| {
                        let mut z = b[o];
                        for back in 0..k.min(t + 1) {
                            for ch in 0..c_in {
                                z += w[(o * k + back) * c_in + ch] * inputs[t - back][ch];
                            }
                        }
                        z.max(0.0)
                    })
                    .collect()
            })
            .collect();
        c_in = c;
    }
    let t_len = inputs.len();
    for l in 0..a.layers {
        let mut outs = vec![vec![0.0; nd * h]; t_len];
        for d in 0..nd {
            let i = l * nd + d;
            let mut state =
                state0.map_or_else(|| vec![0.0; s], |s0| s0[i * s..(i + 1) * s].to_vec());
            let order: Vec<usize> = if d == 0 {
                (0..t_len).collect()
            } else {
                (0..t_len).rev().collect()
            };
            for t in order {
                state = cell_step(a.cell, h, &layers[d][l], &inputs[t], &state);
                outs[t][d * h..(d + 1) * h].copy_from_slice(&state[..h]);
            }
        }
        inputs = outs;
    }
    let nll = |z: &[f64], y: usize| {
        let logits: Vec<f64> = (0..a.output)
            .map(|k| {
                b_y[k]
                    + (0..nd * h)
                        .map(|j| w_ya[k * nd * h + j] * z[j])
                        .sum::<f64>()
            })
            .collect();
        logits.iter().map(|l| l.exp()).sum::<f64>().ln() - logits[y]
    };
    match y {
        RefTargets::EveryStep(ys) => ys
            .iter()
            .enumerate()
            .map(|(t, &y)| nll(&inputs[t], y))
            .sum(),
        RefTargets::Values(ys) => {
            let o = a.output;
            (0..t_len)
                .map(|t| {
                    (0..o)
                        .map(|k| {
                            let v = b_y[k]
                                + (0..nd * h)
                                    .map(|j| w_ya[k * nd * h + j] * inputs[t][j])
                                    .sum::<f64>();
                            (v - ys[t * o + k]).powi(2)
                        })
                        .sum::<f64>()
                        / o as f64
                })
                .sum()
        }
        RefTargets::Final(y) => {
            let mut z = inputs[t_len - 1][..h].to_vec();
            if nd == 2 {
                z.extend_from_slice(&inputs[0][h..2 * h]);
            }
            nll(&z, *y)
        }
    }
}

/// An example for both the trainer and the reference: random symbols (with the start
/// symbol first when `start`) or dense vectors, and targets of the architecture's task.
pub struct TestExample {
    pub tokens: Vec<u32>,
    pub values: Vec<f32>,
    pub dense: bool,
    pub y: RefTargets,
    pub targets: Vec<u32>,
    /// Regression targets, `O` per step.
    pub target_values: Vec<f32>,
}

impl TestExample {
    pub fn random(a: &Arch, t_len: usize, dense: bool, start: bool, rng: &mut SplitMix64) -> Self {
        let mut tokens: Vec<u32> = (0..t_len)
            .map(|_| rng.below(a.input as u64) as u32)
            .collect();
        if start {
            tokens[0] = rnn_train::data::START;
        }
        let values: Vec<f32> = (0..t_len * a.input).map(|_| rng.uniform(1.5)).collect();
        let targets: Vec<u32> = (0..t_len)
            .map(|_| rng.below(a.output as u64) as u32)
            .collect();
        let target_values: Vec<f32> = (0..t_len * a.output).map(|_| rng.uniform(2.0)).collect();
        let y = match a.task {
            rnn_train::nn::Task::Next | rnn_train::nn::Task::Tag => {
                RefTargets::EveryStep(targets.iter().map(|&t| t as usize).collect())
            }
            rnn_train::nn::Task::Regress => {
                RefTargets::Values(target_values.iter().map(|&v| f64::from(v)).collect())
            }
            rnn_train::nn::Task::Classify => RefTargets::Final(1),
        };
        TestExample {
            tokens,
            values,
            dense,
            y,
            targets,
            target_values,
        }
    }

    pub fn example(&self) -> Example<'_> {
        let x = if self.dense {
            SeqInput::Dense {
                values: &self.values,
                channels: self.values.len() / self.tokens.len(),
            }
        } else {
            SeqInput::Tokens(&self.tokens)
        };
        let y = match &self.y {
            RefTargets::EveryStep(_) => Targets::EveryStep(&self.targets),
            RefTargets::Values(_) => Targets::Values(&self.target_values),
            RefTargets::Final(y) => Targets::Final(*y),
        };
        Example { x, y }
    }

    /// The layer-0 input vectors as the reference reads them.
    pub fn xs(&self, input: usize) -> Vec<Vec<f64>> {
        (0..self.tokens.len())
            .map(|t| {
                if self.dense {
                    self.values[t * input..(t + 1) * input]
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect()
                } else {
                    let mut v = vec![0.0; input];
                    if self.tokens[t] != rnn_train::data::START {
                        v[self.tokens[t] as usize] = 1.0;
                    }
                    v
                }
            })
            .collect()
    }
}

/// BPTT against central finite differences of the f64 reference, for every parameter of
/// every tensor: the forward loss within 1e-5 (relative), each gradient within
/// `2e-5 + 1e-3·|numeric|`, and every tensor's gradient not (almost) zero.
pub fn gradcheck(a: Arch, ex: &TestExample, state0: Option<&[f32]>, scale: f32, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.7)).collect();
    // A workspace too small on purpose: forward must grow it.
    let mut ws = Workspace::new(a, 2);
    let e = ex.example();
    let loss = forward(&params, &e, state0, &mut ws);
    let mut grad = vec![0.0f32; a.param_count()];
    backward(&params, &e, scale, &mut ws, &mut grad);

    let p64: Vec<f64> = params.iter().map(|&v| f64::from(v)).collect();
    let s64: Option<Vec<f64>> = state0.map(|s| s.iter().map(|&v| f64::from(v)).collect());
    let xs = ex.xs(a.input);
    let reference = |p: &[f64]| reference_loss(&a, p, &xs, &ex.y, s64.as_deref());
    let r = reference(&p64);
    let what = format!("{} dense={}", a.describe(), ex.dense);
    assert!(
        (f64::from(loss) - r).abs() < 1e-5 * r.max(1.0),
        "{what}: forward loss {loss} vs f64 reference {r}"
    );
    let eps = 1e-6;
    for t in a.tensors() {
        let mut norm = 0.0f64;
        for j in t.range.clone() {
            let (mut plus, mut minus) = (p64.clone(), p64.clone());
            plus[j] += eps;
            minus[j] -= eps;
            let numeric = f64::from(scale) * (reference(&plus) - reference(&minus)) / (2.0 * eps);
            let analytic = f64::from(grad[j]);
            assert!(
                (analytic - numeric).abs() <= 2e-5 + 1e-3 * numeric.abs(),
                "{what}: {}[{}]: BPTT {analytic:e}, finite differences {numeric:e}",
                t.name,
                j - t.range.start
            );
            norm += analytic * analytic;
        }
        assert!(
            norm > 1e-10,
            "{what}: {} has an (almost) zero gradient",
            t.name
        );
    }
}
