//! BPTT gradients against central finite differences of an independent f64 forward pass,
//! for every parameter of every tensor.

use rnn_train::data::START;
use rnn_train::elman::{backward, forward, Workspace};
use rnn_train::model::{split, split_mut, Dims, TENSOR_NAMES};
use rnn_train::rng::SplitMix64;

/// The loss `Σ_t -ln softmax(W_ya a_t + b_y)[y_t]` computed naively in f64, written from
/// the equations and sharing no code with the trainer.
fn reference_loss(d: &Dims, p: &[f64], inputs: &[u32], targets: &[u32], a0: &[f64]) -> f64 {
    let (i_n, h, o) = (d.input, d.hidden, d.output);
    let r = d.ranges();
    let (w_ax, w_aa, b_a) = (&p[r[0].clone()], &p[r[1].clone()], &p[r[2].clone()]);
    let (w_ya, b_y) = (&p[r[3].clone()], &p[r[4].clone()]);
    let mut a = a0.to_vec();
    let mut loss = 0.0;
    for (&x, &y) in inputs.iter().zip(targets) {
        let mut next = vec![0.0; h];
        for i in 0..h {
            let mut z = b_a[i];
            for j in 0..h {
                z += w_aa[i * h + j] * a[j];
            }
            if x != START {
                z += w_ax[i * i_n + x as usize];
            }
            next[i] = z.tanh();
        }
        a = next;
        let logits: Vec<f64> = (0..o)
            .map(|k| b_y[k] + (0..h).map(|j| w_ya[k * h + j] * a[j]).sum::<f64>())
            .collect();
        let log_sum = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        loss += log_sum - logits[y as usize];
    }
    loss
}

fn check(dims: Dims, inputs: &[u32], targets: &[u32], a0: &[f32], scale: f32, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    // Weights larger than the initial ones, so that tanh is well into its non-linear range
    // and every term of the gradient matters.
    let params: Vec<f32> = (0..dims.param_count()).map(|_| rng.uniform(0.8)).collect();
    let mut ws = Workspace::new(dims, inputs.len());
    let w = split(&dims, &params);
    let loss = forward(&w, inputs, targets, a0, &mut ws);
    let mut grad = vec![0.0f32; dims.param_count()];
    backward(
        &w,
        inputs,
        targets,
        scale,
        &mut ws,
        &mut split_mut(&dims, &mut grad),
    );

    let p64: Vec<f64> = params.iter().map(|&x| x as f64).collect();
    let a64: Vec<f64> = a0.iter().map(|&x| x as f64).collect();
    let reference = reference_loss(&dims, &p64, inputs, targets, &a64);
    assert!(
        (loss as f64 - reference).abs() < 1e-5 * reference.max(1.0),
        "forward loss {loss} vs f64 reference {reference}"
    );

    let eps = 1e-6;
    for (name, range) in TENSOR_NAMES.iter().zip(dims.ranges()) {
        for j in range.clone() {
            let mut plus = p64.clone();
            plus[j] += eps;
            let mut minus = p64.clone();
            minus[j] -= eps;
            let numeric = scale as f64
                * (reference_loss(&dims, &plus, inputs, targets, &a64)
                    - reference_loss(&dims, &minus, inputs, targets, &a64))
                / (2.0 * eps);
            let analytic = grad[j] as f64;
            let tol = 2e-5 + 1e-3 * numeric.abs();
            assert!(
                (analytic - numeric).abs() <= tol,
                "{name}[{}]: BPTT {analytic:e}, finite differences {numeric:e}",
                j - range.start
            );
        }
    }
    // Guard against a vacuous pass: the gradient of every tensor must be non-trivial.
    for (name, range) in TENSOR_NAMES.iter().zip(dims.ranges()) {
        let norm: f32 = grad[range].iter().map(|g| g * g).sum();
        assert!(norm > 1e-6, "{name}: gradient is (almost) zero");
    }
}

#[test]
fn lines_mode_sequence_mean_reduction() {
    let dims = Dims {
        input: 5,
        hidden: 4,
        output: 5,
    };
    // A name "bdce" from the zero input: inputs START b d c e, targets b d c e '\n'(0).
    let inputs = [START, 1, 3, 2, 4];
    let targets = [1, 3, 2, 4, 0];
    check(
        dims,
        &inputs,
        &targets,
        &[0.0; 4],
        1.0 / inputs.len() as f32,
        1,
    );
}

#[test]
fn stream_window_with_carried_state_sum_reduction() {
    // Different input and output sizes catch a transposed index; a non-zero initial state
    // is what a carried-over window starts from.
    let dims = Dims {
        input: 3,
        hidden: 6,
        output: 7,
    };
    let inputs = [2, 0, 1, 1, 2, 0, 0];
    let targets = [6, 5, 0, 3, 1, 4, 2];
    check(
        dims,
        &inputs,
        &targets,
        &[0.3, -0.2, 0.5, -0.7, 0.1, 0.9],
        1.0,
        2,
    );
}
