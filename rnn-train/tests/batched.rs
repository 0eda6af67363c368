//! The batched passes (`nn::batched`: a minibatch through each step together, matrix
//! products) against the per-sequence passes they replace for minibatches of more than one
//! sequence: losses, right predictions, final states and gradients within rounding, for
//! every cell, depth, direction, task, input kind and the convolutional front-end, with
//! sequences of unequal lengths and carried states; and their gradient against finite
//! differences of the independent f64 reference. Then the engine: the same bytes for one
//! thread and two.

mod common;

use common::{reference_loss, TestExample};
use rnn_train::nn::batched::{self, BatchWorkspace, Item, Transposed};
use rnn_train::nn::gemm::{set_kernel, Kernel};
use rnn_train::nn::{backward, forward, Arch, CellType, InputKind, Task, Workspace};
use rnn_train::rng::SplitMix64;
use rnn_train::train::parse_conv;

fn arch(task: Task, cell: CellType, layers: usize, directions: usize, dense: bool) -> Arch {
    Arch {
        task,
        cell,
        layers,
        directions,
        input_kind: if dense {
            InputKind::Dense { normalized: true }
        } else {
            InputKind::OneHot
        },
        input: 4,
        hidden: 3,
        output: if task == Task::Next { 4 } else { 3 },
        conv: rnn_core::ConvStack::NONE,
        sequence_norm: false,
    }
}

/// A minibatch of `lens.len()` random examples (lengths `lens`, some equal, out of order),
/// with carried states when `carry`.
struct Batch {
    exs: Vec<TestExample>,
    states: Vec<Vec<f32>>,
    scales: Vec<f32>,
}

fn batch(a: &Arch, lens: &[usize], dense: bool, carry: bool, rng: &mut SplitMix64) -> Batch {
    let start = a.task == Task::Next && !carry;
    let exs: Vec<TestExample> = lens
        .iter()
        .map(|&t| TestExample::random(a, t, dense, start, rng))
        .collect();
    let states = lens
        .iter()
        .map(|_| (0..a.state_len()).map(|_| rng.uniform(0.8)).collect())
        .collect();
    let scales = lens.iter().map(|&t| 1.0 / (t as f32 * 3.0)).collect();
    Batch {
        exs,
        states,
        scales,
    }
}

impl Batch {
    fn items(&self, carry: bool) -> Vec<Item<'_>> {
        self.exs
            .iter()
            .zip(&self.states)
            .zip(&self.scales)
            .map(|((e, s), &scale)| Item {
                ex: e.example(),
                state0: carry.then_some(&s[..]),
                scale,
            })
            .collect()
    }
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// The batched gradient, losses, right predictions and final states against the sum of
/// the per-sequence passes.
fn compare(a: Arch, b: &Batch, carry: bool, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.7)).collect();
    let what = format!("{} carry={carry}", a.describe());
    let items = b.items(carry);
    let mut want = vec![0.0f32; a.param_count()];
    let mut ws = Workspace::new(a, 1);
    let mut reference = Vec::new();
    for it in &items {
        let loss = forward(&params, &it.ex, it.state0, &mut ws);
        let correct = ws.correct(&it.ex);
        backward(&params, &it.ex, it.scale, &mut ws, &mut want);
        let mut fin = vec![0.0f32; a.state_len()];
        ws.rec.final_state_into(&mut fin);
        reference.push((loss, correct, fin));
    }
    let mut bws = BatchWorkspace::new(a);
    let tw = Transposed::of(a, &params);
    // Twice through one workspace: the second minibatch must not see the first's leftovers.
    for round in 0..2 {
        let mut got = vec![0.0f32; a.param_count()];
        batched::gradient(&params, &tw, &items, &mut bws, &mut got);
        for (i, (loss, correct, fin)) in reference.iter().enumerate() {
            assert!(
                close(bws.loss(i), *loss, 1e-5),
                "{what}: item {i} loss {} vs {loss}",
                bws.loss(i)
            );
            assert_eq!(bws.correct(i), *correct, "{what}: item {i}");
            let mut f = vec![9.0f32; a.state_len()];
            bws.final_state_into(i, &mut f);
            for (x, y) in f.iter().zip(fin) {
                assert!(close(*x, *y, 1e-5), "{what}: final state {f:?} vs {fin:?}");
            }
        }
        for t in a.tensors() {
            for j in t.range.clone() {
                assert!(
                    close(got[j], want[j], 2e-5),
                    "{what} round {round}: {}[{}]: batched {:e}, per sequence {:e}",
                    t.name,
                    j - t.range.start,
                    got[j],
                    want[j]
                );
            }
        }
        assert!(got.iter().any(|&g| g != 0.0), "{what}: zero gradient");
    }
}

const LENS: [usize; 6] = [3, 7, 1, 7, 5, 2];

#[test]
fn batched_passes_agree_with_the_per_sequence_ones_for_every_cell_depth_direction_and_task() {
    let mut seed = 700;
    for cell in CellType::ALL {
        for layers in [1, 2] {
            for (task, directions, dense) in [
                (Task::Next, 1, false),
                (Task::Classify, 1, false),
                (Task::Classify, 2, true),
                (Task::Classify, 2, false),
                (Task::Tag, 2, true),
                (Task::Tag, 1, false),
                (Task::Regress, 1, true),
                (Task::Regress, 2, true),
            ] {
                let a = arch(task, cell, layers, directions, dense);
                seed += 1;
                let mut rng = SplitMix64::new(seed);
                let b = batch(&a, &LENS, dense, false, &mut rng);
                compare(a, &b, false, seed);
                if directions == 1 && task != Task::Classify {
                    // Stream mode: every window starts from its stream's carried state.
                    let b = batch(&a, &LENS, dense, true, &mut rng);
                    compare(a, &b, true, seed);
                }
            }
        }
    }
    // Four layers, and one sequence alone.
    let a = arch(Task::Tag, CellType::Lstm, 4, 2, true);
    let b = batch(&a, &[4, 6, 6], true, false, &mut SplitMix64::new(1));
    compare(a, &b, false, 2);
    let a = arch(Task::Next, CellType::Gru, 3, 1, false);
    let b = batch(&a, &[5], false, false, &mut SplitMix64::new(3));
    compare(a, &b, false, 4);
}

#[test]
fn batched_passes_agree_with_a_convolutional_front_end() {
    let mut seed = 800;
    for (cell, layers, directions, dense, conv) in [
        (CellType::Elman, 1, 1, true, "3:4:2"),
        (CellType::Gru, 1, 2, true, "2:3:1,3:2:2"),
        (CellType::Lstm, 2, 1, false, "3:3:2"),
        (CellType::Gru, 2, 2, false, "2:4:1,2:3:3"),
    ] {
        let mut a = arch(Task::Classify, cell, layers, directions, dense);
        a.conv = parse_conv(conv).unwrap();
        seed += 1;
        let b = batch(
            &a,
            &[7, 10, 3, 9, 10],
            dense,
            false,
            &mut SplitMix64::new(seed),
        );
        compare(a, &b, false, seed);
    }
}

#[test]
fn batched_gradients_match_finite_differences() {
    let mut seed = 900;
    for (task, cell, layers, directions, dense, carry) in [
        (Task::Next, CellType::Elman, 2, 1, false, true),
        (Task::Classify, CellType::Gru, 1, 2, true, false),
        (Task::Tag, CellType::Lstm, 2, 2, false, false),
        (Task::Regress, CellType::Gru, 1, 1, true, true),
    ] {
        let a = arch(task, cell, layers, directions, dense);
        seed += 1;
        let b = batch(&a, &[4, 2, 5, 4], dense, carry, &mut SplitMix64::new(seed));
        let mut rng = SplitMix64::new(seed);
        let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.7)).collect();
        let mut grad = vec![0.0f32; a.param_count()];
        let mut ws = BatchWorkspace::new(a);
        let tw = Transposed::of(a, &params);
        batched::gradient(&params, &tw, &b.items(carry), &mut ws, &mut grad);
        let p64: Vec<f64> = params.iter().map(|&v| f64::from(v)).collect();
        let states: Vec<Vec<f64>> = b
            .states
            .iter()
            .map(|s| s.iter().map(|&v| f64::from(v)).collect())
            .collect();
        let total = |p: &[f64]| -> f64 {
            b.exs
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let s0 = carry.then_some(&states[i][..]);
                    f64::from(b.scales[i]) * reference_loss(&a, p, &e.xs(a.input), &e.y, s0)
                })
                .sum()
        };
        let eps = 1e-6;
        for t in a.tensors() {
            for j in t.range.clone() {
                let (mut plus, mut minus) = (p64.clone(), p64.clone());
                plus[j] += eps;
                minus[j] -= eps;
                let numeric = (total(&plus) - total(&minus)) / (2.0 * eps);
                let analytic = f64::from(grad[j]);
                assert!(
                    (analytic - numeric).abs() <= 2e-5 + 1e-3 * numeric.abs(),
                    "{}: {}[{}]: batched {analytic:e}, finite differences {numeric:e}",
                    a.describe(),
                    t.name,
                    j - t.range.start
                );
            }
        }
    }
}

#[test]
fn the_three_kernels_give_the_same_gradient_within_rounding() {
    let a = arch(Task::Tag, CellType::Gru, 2, 2, true);
    let b = batch(&a, &[9, 4, 9, 1, 6], true, false, &mut SplitMix64::new(5));
    let mut rng = SplitMix64::new(6);
    let params: Vec<f32> = (0..a.param_count()).map(|_| rng.uniform(0.7)).collect();
    let run = |k: Kernel| {
        set_kernel(k);
        let mut grad = vec![0.0f32; a.param_count()];
        let (tw, mut ws) = (Transposed::of(a, &params), BatchWorkspace::new(a));
        batched::gradient(&params, &tw, &b.items(false), &mut ws, &mut grad);
        set_kernel(Kernel::Fused);
        grad
    };
    let fused = run(Kernel::Fused);
    for k in [Kernel::Exact, Kernel::Matrixmultiply] {
        let other = run(k);
        for (x, y) in fused.iter().zip(&other) {
            assert!(close(*x, *y, 1e-5), "{k:?}: {x} vs {y}");
        }
        assert_ne!(fused, other, "{k:?} rounds like the fused kernel");
    }
}
