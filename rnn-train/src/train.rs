//! The training loop: epochs of shuffled minibatches, gradient clipping, an optimiser step
//! per minibatch, and the per-character cross-entropy on the training and validation sets
//! after every epoch.
//!
//! Determinism: the result depends only on the data, the [`Hyper`] parameters and the
//! seed. Each sequence of a minibatch gets its own gradient buffer; the buffers are added up
//! in the minibatch's order after all of them are done, so running the sequences on one
//! thread or several gives the same bits. Each epoch's shuffle is drawn from `(seed, epoch)`
//! alone and stream-mode hidden states restart at zero every epoch, so the state after an
//! epoch is a function of the state before it: resuming from a checkpoint continues exactly.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{split_indices, Mode, Sequences, Text, Vocab};
use crate::error::{Error, Result};
use crate::model::{Arch, CellType, Model, MAX_LAYERS};
use crate::net::{backward, forward, Workspace};
use crate::optim::{clip_elementwise, clip_global_norm, Optimizer, OptimizerKind};
use crate::rng::SplitMix64;

/// How the loss of one sequence is formed from its characters' cross-entropies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// Mean over the sequence's characters (Keras and PyTorch).
    Mean,
    /// Sum over the characters (the classic dinosaur exercise).
    Sum,
}

/// Everything that decides the trained weights. Stored in checkpoints, so that a resumed
/// run is refused when any of it differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    pub mode: Mode,
    pub seq_len: usize,
    /// The recurrent cell (absent from checkpoints of the Elman-only trainer: Elman).
    #[serde(default)]
    pub cell: CellType,
    /// Stacked recurrent layers, 1 to 4 (absent from older checkpoints: 1).
    #[serde(default = "one")]
    pub layers: usize,
    pub hidden: usize,
    #[serde(with = "crate::exact::scalar")]
    pub lr: f32,
    pub batch: usize,
    /// Element-wise clip limit; 0 turns it off.
    #[serde(with = "crate::exact::scalar")]
    pub clip: f32,
    #[serde(with = "crate::exact::option")]
    pub clip_norm: Option<f32>,
    pub optimizer: OptimizerKind,
    pub val_split: f64,
    pub seed: u64,
    pub reduction: Reduction,
    pub shuffle: bool,
}

fn one() -> usize {
    1
}

impl Hyper {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.layers == 0 || self.layers > MAX_LAYERS {
            return bad(format!(
                "--layers {} must be in 1..={MAX_LAYERS}",
                self.layers
            ));
        }
        if self.hidden == 0 || self.hidden > 4096 {
            return bad(format!("--hidden {} must be in 1..=4096", self.hidden));
        }
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        if self.seq_len == 0 {
            return bad("--seq-len must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr {} must be a positive number", self.lr));
        }
        if !(self.clip.is_finite() && self.clip >= 0.0) {
            return bad(format!("--clip {} must be 0 (off) or positive", self.clip));
        }
        if let Some(n) = self.clip_norm {
            if !(n.is_finite() && n > 0.0) {
                return bad(format!("--clip-norm {n} must be positive"));
            }
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return bad(format!("--val-split {} must be in [0, 1)", self.val_split));
        }
        Ok(())
    }
}

/// The data of a run, cut into training and validation sequences.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub vocab: Vocab,
    pub mode: Mode,
    /// The training sequences as minibatches see them (stream mode: `batch` streams).
    pub train: Sequences,
    /// Stream mode: windows per stream in `train`; 0 in lines mode.
    pub windows_per_stream: usize,
    /// The training text for evaluation (stream mode: one stream, state carried).
    pub train_eval: Sequences,
    pub val_eval: Sequences,
    /// Longest sequence, the size of the forward-pass caches.
    pub max_len: usize,
}

/// Cuts `text` into sequences over `vocab` (the data's own vocabulary, or that of the model
/// being fine-tuned) and splits them into training and validation parts.
pub fn prepare(text: &Text, vocab: &Vocab, hyper: &Hyper) -> Result<Prepared> {
    let newline = vocab.newline().ok_or_else(|| Error::Data {
        path: text.path.clone(),
        reason: "the model's vocabulary has no '\\n' (end-of-name symbol)".into(),
    })?;
    let (train, windows_per_stream, train_eval, val_eval) = match hyper.mode {
        Mode::Lines => {
            let lines = text.encode_lines(vocab)?;
            let (train_idx, val_idx) = split_indices(lines.len(), hyper.val_split, hyper.seed);
            let pick = |idx: &[usize]| {
                Sequences::from_lines(idx.iter().map(|&i| lines[i].as_slice()), newline)
            };
            let train = pick(&train_idx);
            (train.clone(), 0, train, pick(&val_idx))
        }
        Mode::Stream => {
            let tokens = text.encode_stream(vocab)?;
            let n_train = ((tokens.len() as f64) * (1.0 - hyper.val_split)).round() as usize;
            let (train_tokens, val_tokens) = tokens.split_at(n_train.min(tokens.len()));
            let (train, wps) = Sequences::from_stream(train_tokens, hyper.seq_len, hyper.batch);
            if train.is_empty() {
                return Err(Error::Data {
                    path: text.path.clone(),
                    reason: format!(
                        "{} characters of training text are too few for --seq-len {} \
                         with --batch {} streams",
                        train_tokens.len(),
                        hyper.seq_len,
                        hyper.batch
                    ),
                });
            }
            let (train_eval, _) = Sequences::from_stream(train_tokens, hyper.seq_len, 1);
            let (val_eval, _) = Sequences::from_stream(val_tokens, hyper.seq_len, 1);
            (train, wps, train_eval, val_eval)
        }
    };
    let max_len = [&train, &train_eval, &val_eval]
        .iter()
        .flat_map(|s| s.spans.iter().map(|r| r.len()))
        .max()
        .unwrap_or(1);
    Ok(Prepared {
        vocab: vocab.clone(),
        mode: hyper.mode,
        train,
        windows_per_stream,
        train_eval,
        val_eval,
        max_len,
    })
}

/// Losses of one epoch, in nats per predicted character.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Cross-entropy on the training set with the weights at the end of the epoch.
    pub train_loss: f64,
    /// Same on the validation set, when there is one.
    pub val_loss: Option<f64>,
    /// Mean loss of the minibatches during the epoch (the weights changing as it went).
    pub running_loss: f64,
    /// Predicted characters per second of the training part (not the evaluation).
    pub chars_per_sec: f64,
}

/// Everything that changes during training: what a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub model: Model,
    pub optimizer: Optimizer,
    pub epochs_done: usize,
    pub history: Vec<EpochStats>,
}

impl State {
    pub fn new(model: Model, hyper: &Hyper) -> Self {
        let n = model.params.len();
        State {
            model,
            optimizer: Optimizer::new(hyper.optimizer, hyper.lr, n),
            epochs_done: 0,
            history: Vec::new(),
        }
    }
}

/// Options that do not change the result.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub epochs: usize,
    pub threads: usize,
    pub quiet: bool,
    /// Where the model is kept, named in the error when training diverges.
    pub out: Option<PathBuf>,
}

/// One minibatch slot: its gradient, workspace, stream state and loss.
type SlotMut<'a> = (
    ((&'a mut Vec<f32>, &'a mut Workspace), &'a mut Vec<f32>),
    &'a mut f32,
);

/// Buffers reused by every minibatch, so the training loop allocates nothing.
pub struct Engine {
    arch: Arch,
    grad: Vec<f32>,
    /// One gradient buffer, workspace and stream state per sequence of a minibatch.
    slot_grads: Vec<Vec<f32>>,
    workspaces: Vec<Workspace>,
    states: Vec<Vec<f32>>,
    slot_losses: Vec<f32>,
    pool: Option<rayon::ThreadPool>,
}

/// A pool of `threads` workers, or none for one thread (the caller's thread does the work).
pub(crate) fn thread_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map(Some)
        .map_err(|e| Error::Internal(format!("cannot start threads: {e}")))
}

impl Engine {
    pub fn new(arch: Arch, batch: usize, max_len: usize, threads: usize) -> Result<Self> {
        let p = arch.param_count();
        // One sequence per minibatch leaves nothing to share out.
        let pool = thread_pool(if batch > 1 { threads } else { 1 })?;
        Ok(Engine {
            arch,
            grad: vec![0.0; p],
            slot_grads: (0..batch).map(|_| vec![0.0; p]).collect(),
            workspaces: (0..batch).map(|_| Workspace::new(arch, max_len)).collect(),
            states: (0..batch).map(|_| vec![0.0; arch.state_len()]).collect(),
            slot_losses: vec![0.0; batch],
            pool,
        })
    }

    /// Fills `self.grad` with the minibatch gradient of sequences `ids` and returns the sum
    /// of their unscaled losses. In stream mode (`carry`) slot `s` starts from, and then
    /// keeps, the hidden state of stream `s`.
    fn batch_gradient(
        &mut self,
        params: &[f32],
        seqs: &Sequences,
        ids: &[usize],
        reduction: Reduction,
        carry: bool,
    ) -> f64 {
        let nb = ids.len() as f32;
        let scale_of = |len: usize| match reduction {
            Reduction::Mean => 1.0 / (len as f32 * nb),
            Reduction::Sum => 1.0 / nb,
        };
        let one = |k: usize, g: &mut [f32], ws: &mut Workspace, state: &mut [f32]| -> f32 {
            let (inputs, targets) = seqs.get(k);
            if !carry {
                state.fill(0.0);
            }
            let loss = forward(params, inputs, targets, state, ws);
            backward(params, inputs, targets, scale_of(inputs.len()), ws, g);
            if carry {
                ws.final_state_into(inputs.len(), state);
            }
            loss
        };

        if ids.len() == 1 {
            // Adding into a zeroed buffer gives the same bits as summing one slot into it.
            self.grad.fill(0.0);
            return f64::from(one(
                ids[0],
                &mut self.grad,
                &mut self.workspaces[0],
                &mut self.states[0],
            ));
        }
        let n = ids.len();
        let Engine {
            slot_grads,
            workspaces,
            states,
            slot_losses,
            pool,
            ..
        } = self;
        let run = |(((g, ws), st), l): SlotMut<'_>, k: usize| {
            g.fill(0.0);
            *l = one(k, g, ws, st);
        };
        match pool {
            Some(pool) => pool.install(|| {
                slot_grads[..n]
                    .par_iter_mut()
                    .zip(&mut workspaces[..n])
                    .zip(&mut states[..n])
                    .zip(&mut slot_losses[..n])
                    .zip(ids)
                    .for_each(|(slot, &k)| run(slot, k))
            }),
            None => slot_grads[..n]
                .iter_mut()
                .zip(&mut workspaces[..n])
                .zip(&mut states[..n])
                .zip(&mut slot_losses[..n])
                .zip(ids)
                .for_each(|(slot, &k)| run(slot, k)),
        }
        self.grad.fill(0.0);
        for g in &self.slot_grads[..n] {
            for (t, s) in self.grad.iter_mut().zip(g) {
                *t += s;
            }
        }
        self.slot_losses[..n].iter().map(|&l| f64::from(l)).sum()
    }

    /// Mean cross-entropy per predicted character of `seqs` (forward passes only). With
    /// `carry` the state runs on from one sequence to the next (stream mode).
    pub fn evaluate(&mut self, params: &[f32], seqs: &Sequences, carry: bool) -> Option<f64> {
        if seqs.is_empty() {
            return None;
        }
        let arch = self.arch;
        let total: f64 = match (&self.pool, carry) {
            (Some(pool), false) => {
                let max_len = self.workspaces[0].capacity();
                let losses: Vec<f32> = pool.install(|| {
                    (0..seqs.len())
                        .into_par_iter()
                        .map_init(
                            || {
                                (
                                    Workspace::new(arch, max_len),
                                    vec![0.0f32; arch.state_len()],
                                )
                            },
                            |(ws, zero), k| {
                                let (i, t) = seqs.get(k);
                                forward(params, i, t, zero, ws)
                            },
                        )
                        .collect()
                });
                losses.iter().map(|&l| f64::from(l)).sum()
            }
            _ => {
                let ws = &mut self.workspaces[0];
                let state = &mut self.states[0];
                state.fill(0.0);
                let mut total = 0.0f64;
                for k in 0..seqs.len() {
                    let (i, t) = seqs.get(k);
                    if !carry {
                        state.fill(0.0);
                    }
                    total += f64::from(forward(params, i, t, state, ws));
                    if carry {
                        ws.final_state_into(i.len(), state);
                    }
                }
                total
            }
        };
        Some(total / seqs.predicted_chars() as f64)
    }
}

/// The order of the training sequences in an epoch, drawn from `(seed, epoch)` only.
pub fn epoch_order(n: usize, seed: u64, epoch: usize, shuffle: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        let base = SplitMix64::new(seed ^ SHUFFLE_STREAM).next_u64();
        SplitMix64::new(base.wrapping_add(epoch as u64)).shuffle(&mut order);
    }
    order
}

const SHUFFLE_STREAM: u64 = 0x5eed_0f5a_f1e0_0001;

/// The minibatches of one epoch: lists of sequence indices.
fn epoch_batches(prep: &Prepared, hyper: &Hyper, epoch: usize) -> Vec<Vec<usize>> {
    match prep.mode {
        Mode::Lines => epoch_order(prep.train.len(), hyper.seed, epoch, hyper.shuffle)
            .chunks(hyper.batch)
            .map(|c| c.to_vec())
            .collect(),
        // Window j of every stream; the order is the text's, since the state runs on.
        Mode::Stream => {
            let wps = prep.windows_per_stream;
            let streams = prep.train.len() / wps.max(1);
            (0..wps)
                .map(|j| (0..streams).map(|s| s * wps + j).collect())
                .collect()
        }
    }
}

/// Trains one epoch. `Err(value)` carries the non-finite loss that stopped it.
pub fn train_epoch(
    engine: &mut Engine,
    state: &mut State,
    prep: &Prepared,
    hyper: &Hyper,
    epoch: usize,
    bar: &ProgressBar,
) -> std::result::Result<(f64, f64), f64> {
    let batches = epoch_batches(prep, hyper, epoch);
    let carry = prep.mode == Mode::Stream;
    for s in &mut engine.states {
        s.fill(0.0);
    }
    let started = Instant::now();
    let mut last_draw = started;
    let (mut loss_sum, mut chars) = (0.0f64, 0usize);
    for (b, ids) in batches.iter().enumerate() {
        let loss = engine.batch_gradient(
            &state.model.params,
            &prep.train,
            ids,
            hyper.reduction,
            carry,
        );
        if !loss.is_finite() {
            return Err(loss);
        }
        if let Some(max) = hyper.clip_norm {
            clip_global_norm(&mut engine.grad, max);
        }
        if hyper.clip > 0.0 {
            clip_elementwise(&mut engine.grad, hyper.clip);
        }
        state.optimizer.step(&mut state.model.params, &engine.grad);
        let n: usize = ids.iter().map(|&k| prep.train.spans[k].len()).sum();
        loss_sum += loss;
        chars += n;
        // Redrawing costs a formatted string: only every 50 ms, never per character.
        if b % 64 == 63 && last_draw.elapsed() > Duration::from_millis(50) {
            last_draw = Instant::now();
            let rate = chars as f64 / started.elapsed().as_secs_f64();
            bar.set_position(chars as u64);
            bar.set_message(format!(
                "loss {:.4}  {:.0} chars/s",
                loss_sum / chars as f64,
                rate
            ));
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    bar.set_position(chars as u64);
    Ok((loss_sum / chars.max(1) as f64, chars as f64 / secs))
}

/// Runs epochs `state.epochs_done + 1 ..= opts.epochs`, calling `after_epoch` with the
/// state after each one (to save the model and checkpoints). On a non-finite loss it stops
/// with [`Error::Diverged`], leaving whatever `after_epoch` last saved untouched.
pub fn run(
    hyper: &Hyper,
    opts: &RunOptions,
    prep: &Prepared,
    mut state: State,
    after_epoch: &mut dyn FnMut(&State) -> Result<()>,
) -> Result<State> {
    let mut engine = Engine::new(state.model.arch, hyper.batch, prep.max_len, opts.threads)?;
    let carry = prep.mode == Mode::Stream;
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} chars  {msg}")
        .map_err(|e| Error::Internal(e.to_string()))?
        .progress_chars("=> ");
    for epoch in state.epochs_done + 1..=opts.epochs {
        let bar = if opts.quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(
                Some(prep.train.predicted_chars() as u64),
                ProgressDrawTarget::stderr(),
            );
            b.set_style(style.clone());
            b.set_prefix(format!("epoch {epoch}/{}", opts.epochs));
            b
        };
        let last_good_epoch = state.epochs_done;
        let diverged = |value: f64| Error::Diverged {
            epoch,
            value,
            last_good_epoch,
            kept: opts
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("(no output file)")),
        };
        let (running, rate) = match train_epoch(&mut engine, &mut state, prep, hyper, epoch, &bar) {
            Ok(r) => r,
            Err(value) => {
                bar.abandon();
                return Err(diverged(value));
            }
        };
        bar.finish_and_clear();
        if let Some(bad) = state.model.params.iter().find(|p| !p.is_finite()) {
            return Err(diverged(f64::from(*bad)));
        }
        let train_loss = engine
            .evaluate(&state.model.params, &prep.train_eval, carry)
            .unwrap_or(f64::NAN);
        let val_loss = engine.evaluate(&state.model.params, &prep.val_eval, carry);
        if !train_loss.is_finite() {
            return Err(diverged(train_loss));
        }
        let stats = EpochStats {
            epoch,
            train_loss,
            val_loss,
            running_loss: running,
            chars_per_sec: rate,
        };
        if !opts.quiet {
            println!("{}", format_epoch(&stats, opts.epochs));
        }
        state.history.push(stats);
        state.epochs_done = epoch;
        after_epoch(&state)?;
    }
    Ok(state)
}

/// One line per epoch, e.g. `epoch  3/20  train 2.1234  val 2.2345 nats/char  812345 chars/s`.
pub fn format_epoch(s: &EpochStats, epochs: usize) -> String {
    let width = epochs.to_string().len();
    let val = s
        .val_loss
        .map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    format!(
        "epoch {:>width$}/{epochs}  train {:.4}  val {val} nats/char  (during epoch {:.4})  {:.0} chars/s",
        s.epoch, s.train_loss, s.running_loss, s.chars_per_sec
    )
}
