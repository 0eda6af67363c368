//! The training engine, the same for every task: the gradient of a minibatch and the
//! loss and accuracy of a set, over [`Examples`] of any task.
//!
//! Determinism: each sequence of a minibatch gets its own gradient buffer; the buffers are
//! added up in the minibatch's order after all of them are done, so running the sequences
//! on one thread or several gives the same bits.

use rayon::prelude::*;

use crate::data::Examples;
use crate::error::{Error, Result};
use crate::nn::{backward, forward, Arch, Workspace};

/// How the loss of one sequence is formed from its predictions' cross-entropies.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// Mean over the sequence's predictions (Keras and PyTorch).
    Mean,
    /// Sum over them (the classic dinosaur exercise).
    Sum,
}

/// Loss and accuracy of one set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// Mean cross-entropy per prediction (character or sequence), nats.
    pub loss: f64,
    /// Fraction of predictions whose most probable class (or symbol) is the right one.
    pub accuracy: f64,
}

/// What one example scored: its loss, right predictions, and the most probable class of
/// its last prediction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub loss: f32,
    pub correct: usize,
    pub predicted: usize,
}

/// A pool of `threads` workers, or none for one thread (the caller's thread does the work).
pub fn thread_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map(Some)
        .map_err(|e| Error::Internal(format!("cannot start threads: {e}")))
}

/// One minibatch slot: its gradient, workspace, stream state, loss and right predictions.
struct Slot {
    grad: Vec<f32>,
    ws: Workspace,
    state: Vec<f32>,
    loss: f32,
    correct: usize,
}

/// What a minibatch scored while its gradient was computed (the weights before its
/// update): the sum of its examples' unscaled losses and its right predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchScore {
    pub loss: f64,
    pub correct: usize,
}

/// Buffers reused by every minibatch, so the training loop allocates nothing.
pub struct Engine {
    arch: Arch,
    /// The minibatch gradient of the latest [`Engine::batch_gradient`].
    pub grad: Vec<f32>,
    slots: Vec<Slot>,
    pool: Option<rayon::ThreadPool>,
}

impl Engine {
    pub fn new(arch: Arch, batch: usize, max_len: usize, threads: usize) -> Result<Self> {
        let p = arch.param_count();
        // One sequence per minibatch leaves nothing to share out.
        let pool = thread_pool(threads)?;
        let slot = || Slot {
            grad: vec![0.0; p],
            ws: Workspace::new(arch, max_len),
            state: vec![0.0; arch.state_len()],
            loss: 0.0,
            correct: 0,
        };
        Ok(Engine {
            arch,
            grad: vec![0.0; p],
            slots: (0..batch.max(1)).map(|_| slot()).collect(),
            pool,
        })
    }

    /// Zeroes the carried states (stream mode starts every epoch from zero).
    pub fn reset_states(&mut self) {
        for s in &mut self.slots {
            s.state.fill(0.0);
        }
    }

    /// Fills [`Engine::grad`] with the minibatch gradient of examples `ids` and returns the
    /// sum of their unscaled losses and their right predictions. Each example's loss is weighted `1/(n·P)` for `Mean`
    /// (`P` its predictions) or `1/n` for `Sum`, `n` the minibatch size. With `carry`
    /// (stream mode) slot `s` starts from, and then keeps, the state of stream `s`.
    pub fn batch_gradient(
        &mut self,
        params: &[f32],
        data: &dyn Examples,
        ids: &[usize],
        reduction: Reduction,
        carry: bool,
    ) -> BatchScore {
        // Padding (an empty window, where a stream has run out) counts for nothing.
        let nb = ids
            .iter()
            .filter(|&&k| data.predictions(k) > 0)
            .count()
            .max(1) as f32;
        let run = |slot: &mut Slot, k: usize, grad: &mut [f32]| {
            let ex = data.example(k);
            if ex.x.is_empty() || ex.predictions() == 0 {
                (slot.loss, slot.correct) = (0.0, 0);
                return;
            }
            let scale = match reduction {
                Reduction::Mean => 1.0 / (ex.predictions() as f32 * nb),
                Reduction::Sum => 1.0 / nb,
            };
            let state0 = (carry && !data.starts_recording(k)).then_some(&slot.state[..]);
            slot.loss = forward(params, &ex, state0, &mut slot.ws);
            slot.correct = slot.ws.correct(&ex);
            backward(params, &ex, scale, &mut slot.ws, grad);
            if carry {
                slot.ws.rec.final_state_into(&mut slot.state);
            }
        };
        if ids.len() == 1 {
            // Adding into a zeroed buffer gives the same bits as summing one slot into it.
            self.grad.fill(0.0);
            let slot = &mut self.slots[0];
            run(slot, ids[0], &mut self.grad);
            return BatchScore {
                loss: f64::from(slot.loss),
                correct: slot.correct,
            };
        }
        let n = ids.len();
        let one = |(slot, &k): (&mut Slot, &usize)| {
            let mut g = std::mem::take(&mut slot.grad);
            g.fill(0.0);
            run(slot, k, &mut g);
            slot.grad = g;
        };
        match &self.pool {
            Some(pool) => pool.install(|| {
                self.slots[..n]
                    .par_iter_mut()
                    .zip(ids)
                    .for_each(|(s, k)| one((s, k)))
            }),
            None => self.slots[..n].iter_mut().zip(ids).for_each(one),
        }
        self.grad.fill(0.0);
        for s in &self.slots[..n] {
            for (t, g) in self.grad.iter_mut().zip(&s.grad) {
                *t += g;
            }
        }
        let slots = &self.slots[..n];
        BatchScore {
            loss: slots.iter().map(|s| f64::from(s.loss)).sum(),
            correct: slots.iter().map(|s| s.correct).sum(),
        }
    }

    /// What every example of `data` scores (forward passes only). With `carry` the state
    /// runs on from one example to the next (stream mode), so they go in order on one
    /// thread; otherwise in parallel when there are threads (the results do not depend on
    /// it).
    pub fn score_each(&mut self, params: &[f32], data: &dyn Examples, carry: bool) -> Vec<Scored> {
        let arch = self.arch;
        let one = |ws: &mut Workspace, state0: Option<&[f32]>, k: usize| {
            let ex = data.example(k);
            if ex.x.is_empty() || ex.predictions() == 0 {
                return Scored {
                    loss: 0.0,
                    correct: 0,
                    predicted: 0,
                };
            }
            let loss = forward(params, &ex, state0, ws);
            let last = ws.probs(ex.predictions().saturating_sub(1));
            Scored {
                loss,
                correct: ws.correct(&ex),
                predicted: rnn_core::sample::argmax(last),
            }
        };
        match (&self.pool, carry) {
            (Some(pool), false) => {
                let max_len = data.max_len();
                pool.install(|| {
                    (0..data.len())
                        .into_par_iter()
                        .map_init(|| Workspace::new(arch, max_len), |ws, k| one(ws, None, k))
                        .collect()
                })
            }
            _ => {
                let slot = &mut self.slots[0];
                slot.state.fill(0.0);
                let mut out = Vec::with_capacity(data.len());
                for k in 0..data.len() {
                    let state0 = (carry && !data.starts_recording(k)).then_some(&slot.state[..]);
                    out.push(one(&mut slot.ws, state0, k));
                    if carry {
                        slot.ws.rec.final_state_into(&mut slot.state);
                    }
                }
                out
            }
        }
    }

    /// Mean loss per prediction and accuracy of `data`, `None` when it is empty.
    pub fn score(&mut self, params: &[f32], data: &dyn Examples, carry: bool) -> Option<Score> {
        if data.is_empty() {
            return None;
        }
        let each = self.score_each(params, data, carry);
        let n = data.total_predictions().max(1) as f64;
        Some(Score {
            loss: each.iter().map(|s| f64::from(s.loss)).sum::<f64>() / n,
            accuracy: each.iter().map(|s| s.correct).sum::<usize>() as f64 / n,
        })
    }
}
