//! Gradient clipping and the optimisers: plain SGD (the paper's), SGD with momentum, Adam.
//!
//! Every update is element-wise over the flat parameter vector, in index order, with plain
//! `*`, `+`, `/` and `sqrt` (all exactly rounded in IEEE 754), so it is deterministic and
//! vectorises. The optimiser state is serialisable so a checkpoint can resume bit for bit.

use serde::{Deserialize, Serialize};

/// Which update rule to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `θ -= lr · g`
    Sgd,
    /// Classical momentum 0.9: `v = 0.9 v + g; θ -= lr · v`
    Momentum,
    /// Adam (Kingma & Ba) with β1 = 0.9, β2 = 0.999, ε = 1e-8 and bias correction.
    Adam,
}

/// How the learning rate changes over a run's updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate for every update (the paper's).
    #[default]
    Constant,
    /// Cosine decay from the rate to zero over the run: `lr · (1 + cos(π·u/U)) / 2` at
    /// update `u` of `U`, so that the last updates of a run without early stopping settle
    /// instead of hopping around a minimum.
    Cosine,
}

impl LrSchedule {
    /// The factor of the learning rate at update `u` (from 0) of `total`: exactly 1 for
    /// [`LrSchedule::Constant`], so that a constant run rounds as it always did.
    pub fn factor(self, u: usize, total: usize) -> f32 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let x = u as f64 / total.max(1) as f64;
                (0.5 * (1.0 + (std::f64::consts::PI * x.min(1.0)).cos())) as f32
            }
        }
    }
}

pub const MOMENTUM: f32 = 0.9;
pub const ADAM_BETA1: f32 = 0.9;
pub const ADAM_BETA2: f32 = 0.999;
pub const ADAM_EPS: f32 = 1e-8;

/// An optimiser and its state (empty for SGD).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    #[serde(with = "crate::io::exact::scalar")]
    pub lr: f32,
    /// Momentum's velocity, or Adam's first moment.
    #[serde(with = "crate::io::exact::vec")]
    m: Vec<f32>,
    /// Adam's second moment.
    #[serde(with = "crate::io::exact::vec")]
    v: Vec<f32>,
    /// `β1^t` and `β2^t` for Adam's bias correction, kept as running products (in f64)
    /// rather than recomputed with `powi`, so resuming continues the same sequence.
    beta1_t: f64,
    beta2_t: f64,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, lr: f32, params: usize) -> Self {
        let (m, v) = match kind {
            OptimizerKind::Sgd => (Vec::new(), Vec::new()),
            OptimizerKind::Momentum => (vec![0.0; params], Vec::new()),
            OptimizerKind::Adam => (vec![0.0; params], vec![0.0; params]),
        };
        Optimizer {
            kind,
            lr,
            m,
            v,
            beta1_t: 1.0,
            beta2_t: 1.0,
        }
    }

    /// Whether this state fits a model with `params` parameters.
    pub fn fits(&self, params: usize) -> bool {
        match self.kind {
            OptimizerKind::Sgd => self.m.is_empty() && self.v.is_empty(),
            OptimizerKind::Momentum => self.m.len() == params && self.v.is_empty(),
            OptimizerKind::Adam => self.m.len() == params && self.v.len() == params,
        }
    }

    /// One update of `params` with the (already clipped) gradient `grad`, at `scale`
    /// times the learning rate (the schedule's factor).
    pub fn step(&mut self, params: &mut [f32], grad: &[f32], scale: f32) {
        let lr = self.lr * scale;
        match self.kind {
            OptimizerKind::Sgd => {
                for (p, g) in params.iter_mut().zip(grad) {
                    *p -= lr * g;
                }
            }
            OptimizerKind::Momentum => {
                for ((p, g), v) in params.iter_mut().zip(grad).zip(&mut self.m) {
                    *v = MOMENTUM * *v + g;
                    *p -= lr * *v;
                }
            }
            OptimizerKind::Adam => {
                self.beta1_t *= f64::from(ADAM_BETA1);
                self.beta2_t *= f64::from(ADAM_BETA2);
                // Bias correction folded into the step size and ε, as in the paper's
                // "efficient" form: lr_t = lr · √(1-β2^t) / (1-β1^t).
                let c2 = (1.0 - self.beta2_t).sqrt();
                let lr_t = (f64::from(lr) * c2 / (1.0 - self.beta1_t)) as f32;
                let eps_t = (f64::from(ADAM_EPS) * c2) as f32;
                for (((p, g), m), v) in params
                    .iter_mut()
                    .zip(grad)
                    .zip(&mut self.m)
                    .zip(&mut self.v)
                {
                    *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
                    *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * (g * g);
                    *p -= lr_t * *m / (v.sqrt() + eps_t);
                }
            }
        }
    }
}

/// Clips every gradient element to `[-limit, limit]` (the classic dinosaur exercise's
/// `np.clip`, applied to all five tensors).
pub fn clip_elementwise(grad: &mut [f32], limit: f32) {
    for g in grad {
        *g = g.clamp(-limit, limit);
    }
}

/// Scales the whole gradient down so its Euclidean norm is at most `max_norm`; returns the
/// norm before clipping. The norm is summed in f64 in index order.
pub fn clip_global_norm(grad: &mut [f32], max_norm: f32) -> f64 {
    let norm = grad
        .iter()
        .map(|&g| f64::from(g) * f64::from(g))
        .sum::<f64>()
        .sqrt();
    if norm > f64::from(max_norm) {
        let s = (f64::from(max_norm) / norm) as f32;
        for g in grad {
            *g *= s;
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_and_momentum_follow_their_formulas() {
        let mut p = vec![1.0f32, -2.0];
        Optimizer::new(OptimizerKind::Sgd, 0.5, 2).step(&mut p, &[1.0, -4.0], 1.0);
        assert_eq!(p, vec![0.5, 0.0]);

        let mut opt = Optimizer::new(OptimizerKind::Momentum, 0.1, 1);
        let mut p = vec![0.0f32];
        opt.step(&mut p, &[1.0], 1.0); // v = 1
        opt.step(&mut p, &[1.0], 1.0); // v = 1.9
        assert!((p[0] - -(0.1 + 0.19)).abs() < 1e-7, "{p:?}");
    }

    #[test]
    fn adam_first_step_moves_by_lr_in_the_gradient_sign() {
        // With bias correction the first Adam step is lr · g/|g| (up to ε).
        let mut opt = Optimizer::new(OptimizerKind::Adam, 0.01, 3);
        let mut p = vec![0.0f32; 3];
        opt.step(&mut p, &[3.0, -0.001, 0.0], 1.0);
        assert!((p[0] + 0.01).abs() < 1e-6, "{p:?}");
        assert!((p[1] - 0.01).abs() < 1e-4, "{p:?}");
        assert_eq!(p[2], 0.0);
        assert!(opt.fits(3) && !opt.fits(4));
    }

    #[test]
    fn clipping() {
        let mut g = vec![7.0f32, -9.0, 0.5];
        clip_elementwise(&mut g, 5.0);
        assert_eq!(g, vec![5.0, -5.0, 0.5]);
        let mut g = vec![3.0f32, 4.0];
        assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-7 && (g[1] - 0.8).abs() < 1e-7);
        let mut g = vec![0.3f32, 0.4];
        clip_global_norm(&mut g, 1.0);
        assert_eq!(g, vec![0.3, 0.4]);
    }

    #[test]
    fn cosine_decays_from_one_to_zero_and_constant_is_exactly_one() {
        let c = LrSchedule::Cosine;
        assert_eq!(c.factor(0, 100), 1.0);
        assert!((c.factor(50, 100) - 0.5).abs() < 1e-6);
        assert!(c.factor(100, 100).abs() < 1e-6);
        let f: Vec<f32> = (0..=100).map(|u| c.factor(u, 100)).collect();
        assert!(f.windows(2).all(|w| w[1] <= w[0]));
        assert!((0..1000).all(|u| LrSchedule::Constant.factor(u, 10) == 1.0));
    }
}
