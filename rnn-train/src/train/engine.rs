//! The training engine, the same for every task: the gradient of a minibatch and the
//! loss and accuracy of a set, over [`Examples`] of any task.
//!
//! A minibatch of one sequence runs through the per-sequence passes ([`crate::nn::forward`],
//! [`crate::nn::backward`]); a larger one is cut into chunks of at most [`CHUNK`]
//! sequences, each run through the batched passes ([`crate::nn::batched`]) into its own
//! gradient buffer.
//!
//! Determinism: the chunks depend on the minibatch alone, never on the thread count, and
//! their gradients are added up in the minibatch's order after all of them are done, so
//! running them on one thread or several gives the same bits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::helpers::{lock, Helpers};

use crate::data::Examples;
use crate::error::{Error, Result};
use crate::nn::batched::{self, BatchWorkspace, Item, Transposed};
use crate::nn::{backward, forward, Arch, Workspace};

/// Sequences per chunk of a minibatch: the unit of work of one thread. Part of the
/// arithmetic (it decides which products are summed together), so a constant, not the
/// thread count: 8 keeps two cores busy from a minibatch of 16 up; at batch 32 on one
/// thread, chunks of 8, 16 and 32 trained within the noise of one another at H = 64 and
/// 256 on the development machine.
pub const CHUNK: usize = 8;

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

/// Runs `f(state, i)` for every `i < n`, each once, on the calling thread and the
/// helpers together, each thread taking the next `i` off a shared counter (`state` made
/// by `init` on a thread's first `i`). Which thread runs which `i` changes nothing that
/// `f` computes, so neither does the thread count.
fn share_out<S>(
    helpers: &Helpers,
    n: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, usize) + Sync,
) {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut state = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            f(state.get_or_insert_with(&init), i);
        }
    };
    if n > 1 {
        helpers.run(&work);
    } else {
        work();
    }
}

/// The per-sequence passes' slot: workspace, stream state, loss and right predictions.
struct Slot {
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

/// One chunk of a minibatch: its batched workspace and gradient.
struct Chunk {
    ws: BatchWorkspace,
    grad: Vec<f32>,
}

/// Buffers reused by every minibatch, so the training loop allocates little.
pub struct Engine {
    arch: Arch,
    /// The minibatch gradient of the latest [`Engine::batch_gradient`].
    pub grad: Vec<f32>,
    slots: Vec<Slot>,
    /// Stream mode's carried state of each position of the minibatch.
    states: Vec<Vec<f32>>,
    chunks: Vec<Chunk>,
    /// The transposed weights of the latest minibatch of more than one sequence.
    transposed: Option<Transposed>,
    helpers: Helpers,
}

impl Engine {
    pub fn new(arch: Arch, batch: usize, max_len: usize, threads: usize) -> Result<Self> {
        let p = arch.param_count();
        // (One sequence per minibatch leaves nothing to share out but the scoring.)
        let helpers = Helpers::new(threads)
            .map_err(|e| Error::Internal(format!("cannot start threads: {e}")))?;
        let slot = || Slot {
            ws: Workspace::new(arch, max_len),
            state: vec![0.0; arch.state_len()],
            loss: 0.0,
            correct: 0,
        };
        let batch = batch.max(1);
        let chunks = if batch > 1 { batch.div_ceil(CHUNK) } else { 0 };
        Ok(Engine {
            arch,
            grad: vec![0.0; p],
            slots: vec![slot()],
            states: vec![vec![0.0; arch.state_len()]; batch],
            chunks: (0..chunks)
                .map(|_| Chunk {
                    ws: BatchWorkspace::new(arch),
                    grad: vec![0.0; p],
                })
                .collect(),
            transposed: None,
            helpers,
        })
    }

    /// Zeroes the carried states (stream mode starts every epoch from zero).
    pub fn reset_states(&mut self) {
        for s in self
            .slots
            .iter_mut()
            .map(|s| &mut s.state)
            .chain(&mut self.states)
        {
            s.fill(0.0);
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
            std::mem::swap(&mut slot.state, &mut self.states[0]);
            run(slot, ids[0], &mut self.grad);
            std::mem::swap(&mut slot.state, &mut self.states[0]);
            return BatchScore {
                loss: f64::from(slot.loss),
                correct: slot.correct,
            };
        }
        let arch = self.arch;
        if self.states.len() < ids.len() {
            self.states.resize(ids.len(), vec![0.0; arch.state_len()]);
        }
        let need = ids.len().div_ceil(CHUNK);
        while self.chunks.len() < need {
            self.chunks.push(Chunk {
                ws: BatchWorkspace::new(arch),
                grad: vec![0.0; arch.param_count()],
            });
        }
        let tw = match &mut self.transposed {
            Some(t) => {
                t.update(params);
                &*t
            }
            None => self.transposed.insert(Transposed::of(arch, params)),
        };
        // Which positions of the minibatch each chunk runs: sorted by length (stably) and
        // dealt out back and forth, so that every chunk gets about one of the longest and
        // as many steps as the others. A chunk costs about as much as its longest sequence
        // (its rows run each step together), so the chunks of one minibatch take about the
        // same time on their threads. A function of the minibatch alone, like everything
        // the sums depend on.
        let mut by_len: Vec<usize> = (0..ids.len()).collect();
        by_len.sort_by_key(|&j| std::cmp::Reverse(data.example(ids[j]).x.len()));
        let mut dealt: Vec<Vec<usize>> = vec![Vec::with_capacity(CHUNK); need];
        for (q, &j) in by_len.iter().enumerate() {
            let (round, at) = (q / need, q % need);
            let c = if round % 2 == 0 { at } else { need - 1 - at };
            dealt[c].push(j);
        }
        let (states, dealt) = (&self.states, &dealt);
        let one = |(ci, chunk): (usize, &mut Chunk)| {
            let items: Vec<Item<'_>> = dealt[ci]
                .iter()
                .map(|&j| {
                    let k = ids[j];
                    let ex = data.example(k);
                    let scale = match reduction {
                        Reduction::Mean => 1.0 / (ex.predictions().max(1) as f32 * nb),
                        Reduction::Sum => 1.0 / nb,
                    };
                    let state0 = (carry && !data.starts_recording(k)).then_some(&states[j][..]);
                    Item { ex, state0, scale }
                })
                .collect();
            chunk.grad.fill(0.0);
            batched::gradient(params, tw, &items, &mut chunk.ws, &mut chunk.grad);
        };
        // Then the chunks' gradients added in their order, element by element; the elements
        // are shared out between the threads in stretches, which changes no sum.
        const STRETCH: usize = 4096;
        let add = |done: &[&Chunk], (s, t): (usize, &mut [f32])| {
            let at = s * STRETCH;
            t.copy_from_slice(&done[0].grad[at..at + t.len()]);
            for c in &done[1..] {
                for (t, g) in t.iter_mut().zip(&c.grad[at..]) {
                    *t += g;
                }
            }
        };
        let (grad, chunks) = (&mut self.grad, &mut self.chunks[..need]);
        let slots: Vec<Mutex<&mut Chunk>> = chunks.iter_mut().map(Mutex::new).collect();
        share_out(
            &self.helpers,
            need,
            || (),
            |_, c| one((c, &mut *lock(&slots[c]))),
        );
        let done: Vec<&Chunk> = slots
            .into_iter()
            .map(|m| &*m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let stretches: Vec<Mutex<&mut [f32]>> = grad.chunks_mut(STRETCH).map(Mutex::new).collect();
        share_out(
            &self.helpers,
            stretches.len(),
            || (),
            |_, st| add(&done, (st, &mut *lock(&stretches[st]))),
        );
        let mut at = vec![(0, 0); ids.len()];
        for (c, js) in dealt.iter().enumerate() {
            for (i, &j) in js.iter().enumerate() {
                at[j] = (c, i);
            }
        }
        let mut score = BatchScore::default();
        for (j, &(c, i)) in at.iter().enumerate() {
            let chunk = &self.chunks[c];
            score.loss += f64::from(chunk.ws.loss(i));
            score.correct += chunk.ws.correct(i);
            if carry {
                chunk.ws.final_state_into(i, &mut self.states[j]);
            }
        }
        score
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
        match (self.helpers.count() == 1, carry) {
            (false, false) => {
                let max_len = data.max_len();
                let zero = Scored {
                    loss: 0.0,
                    correct: 0,
                    predicted: 0,
                };
                let out: Vec<Mutex<Scored>> = (0..data.len()).map(|_| Mutex::new(zero)).collect();
                let init = || Workspace::new(arch, max_len);
                share_out(&self.helpers, data.len(), init, |ws, k| {
                    *lock(&out[k]) = one(ws, None, k);
                });
                out.into_iter()
                    .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
                    .collect()
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
