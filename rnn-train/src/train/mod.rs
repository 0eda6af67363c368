//! The training loop, the same for every task: epochs of shuffled minibatches (or, in
//! stream mode, the windows of parallel streams in order), gradient clipping, an optimiser
//! step per minibatch, the loss (and accuracy) on the training, validation and test sets
//! after every epoch, the best epoch by validation loss, early stopping and Ctrl-C.
//!
//! A task contributes only its data ([`TaskData`]: its examples, scored by the network's
//! softmax cross-entropy at every step or once per sequence); the engine
//! ([`engine::Engine`]) and everything here serve all of them.
//!
//! Determinism: the result depends only on the data, the [`Hyper`] parameters and the
//! seed. Each epoch's shuffle is drawn from `(seed, epoch)` alone and stream-mode states
//! restart at zero every epoch, so the state after an epoch is a function of the state
//! before it: resuming from a checkpoint continues exactly.

pub mod checkpoint;
pub mod engine;
pub mod helpers;
pub mod interrupt;
pub mod optim;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

pub use engine::{BatchScore, Engine, Reduction, Score};

use crate::data::{Examples, Mode};
use crate::error::{Error, Result};
use crate::nn::{CellType, Model, Task, MAX_LAYERS};
use crate::rng::SplitMix64;
use optim::{clip_elementwise, clip_global_norm, LrSchedule, Optimizer, OptimizerKind};

/// The hyper-parameters only one task has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum TaskHyper {
    /// Next-symbol prediction: how text is cut into sequences and how a sequence's loss
    /// is formed.
    Next {
        mode: Mode,
        seq_len: usize,
        reduction: Reduction,
    },
    /// Classification: whether a second stack reads each sequence backwards, and the
    /// convolutional front-end (`--conv`, as written: `K:C:S,…`; empty for none).
    Classify {
        bidirectional: bool,
        #[serde(default)]
        conv: String,
        /// Each sequence normalised by its own mean and standard deviation first.
        #[serde(default)]
        sequence_norm: bool,
        /// Each epoch, half the training sequences cut to this fraction of their steps
        /// ([`crate::data::augment`]); 1 for none, as in files written before it.
        #[serde(default = "no_crop")]
        crop: f64,
    },
    /// Tagging, a class at every step: whether a second stack reads each recording
    /// backwards (then it reads whole recordings), else the window length of truncated
    /// BPTT over long recordings.
    Tag { bidirectional: bool, seq_len: usize },
    /// Regression, values at every step: as for tagging.
    Regress { bidirectional: bool, seq_len: usize },
}

fn no_crop() -> f64 {
    1.0
}

impl TaskHyper {
    /// The fraction of their steps that half the training sequences are cut to each epoch
    /// (1: none).
    pub fn crop(&self) -> f64 {
        match *self {
            TaskHyper::Classify { crop, .. } => crop,
            _ => 1.0,
        }
    }

    /// The convolutional front-end these settings ask for (none but for a classifier).
    pub fn conv(&self) -> Result<rnn_core::ConvStack> {
        match self {
            TaskHyper::Classify { conv, .. } => parse_conv(conv),
            _ => Ok(rnn_core::ConvStack::NONE),
        }
    }

    /// Whether a backward stack reads each sequence.
    pub fn bidirectional(&self) -> bool {
        match *self {
            TaskHyper::Next { .. } => false,
            TaskHyper::Classify { bidirectional, .. }
            | TaskHyper::Tag { bidirectional, .. }
            | TaskHyper::Regress { bidirectional, .. } => bidirectional,
        }
    }

    pub fn set_bidirectional(&mut self, value: bool) {
        match self {
            TaskHyper::Next { .. } => {}
            TaskHyper::Classify { bidirectional, .. }
            | TaskHyper::Tag { bidirectional, .. }
            | TaskHyper::Regress { bidirectional, .. } => *bidirectional = value,
        }
    }
}

/// A front-end written as `K:C:S[,K:C:S…]` (kernel, channels, stride per layer; empty or
/// `none` for none).
pub fn parse_conv(text: &str) -> Result<rnn_core::ConvStack> {
    let bad = |why: String| {
        Err(Error::Config(format!(
            "--conv {text:?}: {why}; write KERNEL:CHANNELS:STRIDE per layer, e.g. 8:16:4,4:16:2"
        )))
    };
    if text.trim().is_empty() || text.trim() == "none" {
        return Ok(rnn_core::ConvStack::NONE);
    }
    let mut specs = Vec::new();
    for layer in text.split(',') {
        let parts: Vec<&str> = layer.trim().split(':').collect();
        let [k, c, s] = parts.as_slice() else {
            return bad(format!("{layer:?} is not three numbers"));
        };
        let (Ok(kernel), Ok(channels), Ok(stride)) =
            (k.parse::<u8>(), c.parse::<u16>(), s.parse::<u8>())
        else {
            return bad(format!(
                "{layer:?}: the kernel and stride must be 1 to 255, the channels 1 to 4096"
            ));
        };
        specs.push(rnn_core::ConvSpec {
            kernel,
            stride,
            channels,
        });
    }
    match rnn_core::ConvStack::new(&specs) {
        Ok(s) => Ok(s),
        Err(e) => bad(e.to_string()),
    }
}

/// The `--conv` text of a front-end ([`parse_conv`]'s inverse; empty for none).
pub fn conv_text(stack: &rnn_core::ConvStack) -> String {
    stack
        .layers()
        .iter()
        .map(|s| format!("{}:{}:{}", s.kernel, s.channels, s.stride))
        .collect::<Vec<_>>()
        .join(",")
}

/// Everything that decides the trained weights. Stored in checkpoints, so that a resumed
/// run is refused when any of it differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    #[serde(flatten)]
    pub task: TaskHyper,
    pub cell: CellType,
    /// Stacked recurrent layers, 1 to 4.
    pub layers: usize,
    pub hidden: usize,
    #[serde(with = "crate::io::exact::scalar")]
    pub lr: f32,
    pub batch: usize,
    /// Element-wise clip limit; 0 turns it off.
    #[serde(with = "crate::io::exact::scalar")]
    pub clip: f32,
    #[serde(with = "crate::io::exact::option")]
    pub clip_norm: Option<f32>,
    pub optimizer: OptimizerKind,
    /// How the learning rate changes over the run (files of older checkpoints: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    pub val_split: f64,
    pub seed: u64,
    pub shuffle: bool,
    /// Stop after this many epochs without a better validation loss, keeping the best.
    pub early_stop: Option<usize>,
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
        if let TaskHyper::Next { seq_len: 0, .. }
        | TaskHyper::Tag { seq_len: 0, .. }
        | TaskHyper::Regress { seq_len: 0, .. } = self.task
        {
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
        let crop = self.task.crop();
        if !(crop > 0.0 && crop <= 1.0) {
            return bad(format!("--crop {crop} must be in (0, 1]; 1 is off"));
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return bad(format!("--val-split {} must be in [0, 1)", self.val_split));
        }
        match self.early_stop {
            Some(0) => return bad("--early-stop must be at least 1 epoch".into()),
            Some(_) if self.val_split == 0.0 => {
                return bad("--early-stop needs a validation set: a --val-split above 0".into())
            }
            _ => {}
        }
        Ok(())
    }

    /// The task these settings train for.
    pub fn task(&self) -> Task {
        match self.task {
            TaskHyper::Next { .. } => Task::Next,
            TaskHyper::Classify { .. } => Task::Classify,
            TaskHyper::Tag { .. } => Task::Tag,
            TaskHyper::Regress { .. } => Task::Regress,
        }
    }

    /// The reduction of a sequence's loss (a classifier's one prediction: either).
    pub fn reduction(&self) -> Reduction {
        match self.task {
            TaskHyper::Next { reduction, .. } => reduction,
            _ => Reduction::Mean,
        }
    }
}

/// What a task gives the training loop: its examples and how to go through them.
pub struct TaskData<'a> {
    pub train: &'a dyn Examples,
    /// Stream mode: windows per stream of `train`; each minibatch is window `j` of every
    /// stream, in order, with the states carried. `None`: shuffled minibatches.
    pub windows_per_stream: Option<usize>,
    /// The training set as it is scored after each epoch (stream mode: one stream).
    pub train_eval: &'a dyn Examples,
    pub val: Option<&'a dyn Examples>,
    /// Scored after every epoch and reported; it never influences training.
    pub test: Option<&'a dyn Examples>,
}

impl TaskData<'_> {
    fn carry(&self) -> bool {
        self.windows_per_stream.is_some()
    }

    /// The longest example of any set, the size of the forward-pass caches.
    fn max_len(&self) -> usize {
        [Some(self.train), Some(self.train_eval), self.val, self.test]
            .into_iter()
            .flatten()
            .map(|d| d.max_len())
            .max()
            .unwrap_or(1)
    }
}

/// The numbers of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Loss per prediction and accuracy on the training set, weights at the epoch's end.
    pub train: Score,
    pub val: Option<Score>,
    pub test: Option<Score>,
    /// Mean loss of the minibatches during the epoch (the weights changing as it went).
    pub running_loss: f64,
    /// Whether `train` is the training set scored again with the epoch's final weights
    /// (`--rescore-train`) rather than its score during the epoch.
    #[serde(default)]
    pub train_rescored: bool,
    /// Predictions (characters or sequences) per second while training.
    pub rate: f64,
}

impl EpochStats {
    /// One line, e.g. `epoch  3/20  train 2.1234  val 2.2345 nats/char  812345 chars/s`,
    /// with accuracies for a classifier; `train` is the score during the epoch, or with
    /// `--rescore-train` the score afterwards, followed by the one during the epoch.
    pub fn line(&self, epochs: usize, task: Task) -> String {
        let width = epochs.to_string().len();
        let e = format!("epoch {:>width$}/{epochs}", self.epoch);
        let during = if self.train_rescored {
            format!("  (during epoch {:.4})", self.running_loss)
        } else {
            String::new()
        };
        match task {
            Task::Next => format!(
                "{e}  train {:.4}  val {} nats/char{during}  {:.0} chars/s",
                self.train.loss,
                self.val
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |v| format!("{:.4}", v.loss)),
                self.rate
            ),
            Task::Classify | Task::Tag => {
                let f = |name: &str, s: &Option<Score>| {
                    s.as_ref().map_or_else(String::new, |s| {
                        format!("  {name} {:.4} acc {:.4}", s.loss, s.accuracy)
                    })
                };
                format!(
                    "{e}  train {:.4} acc {:.4}{}{}{during}  {:.0} {}/s",
                    self.train.loss,
                    self.train.accuracy,
                    f("val", &self.val),
                    f("test", &self.test),
                    self.rate,
                    task_unit(task)
                )
            }
            Task::Regress => {
                let f = |name: &str, s: &Option<Score>| {
                    s.as_ref()
                        .map_or_else(String::new, |s| format!("  {name} {:.4}", s.loss))
                };
                format!(
                    "{e}  train {:.4}{}{} mse (normalised targets){during}  {:.0} steps/s",
                    self.train.loss,
                    f("val", &self.val),
                    f("test", &self.test),
                    self.rate
                )
            }
        }
    }
}

/// What a task's predictions are, in the progress bar and the speed figures.
pub fn task_unit(task: Task) -> &'static str {
    match task {
        Task::Next => "chars",
        Task::Classify => "seqs",
        Task::Tag | Task::Regress => "steps",
    }
}

/// The epoch with the lowest validation loss so far and its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    pub epoch: usize,
    pub val_loss: f64,
    #[serde(with = "crate::io::exact::vec")]
    pub params: Vec<f32>,
}

/// Everything that changes during training: what a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub model: Model,
    pub optimizer: Optimizer,
    pub epochs_done: usize,
    pub history: Vec<EpochStats>,
    pub best: Option<Best>,
    /// Minibatches skipped so far because their gradient overflowed.
    pub skipped: usize,
}

impl State {
    pub fn new(model: Model, hyper: &Hyper) -> Self {
        let n = model.params.len();
        State {
            model,
            optimizer: Optimizer::new(hyper.optimizer, hyper.lr, n),
            epochs_done: 0,
            history: Vec::new(),
            best: None,
            skipped: 0,
        }
    }

    /// The model of the best epoch by validation loss, or the current one when there is
    /// no validation set.
    pub fn best_model(&self) -> Model {
        let mut m = self.model.clone();
        if let Some(b) = &self.best {
            m.params.clone_from(&b.params);
        }
        m
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
    /// Score the training set again after every epoch (a forward pass over it) instead of
    /// reporting its score during the epoch.
    pub rescore_train: bool,
}

/// Why [`run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every epoch ran.
    Finished,
    /// `--early-stop` epochs went by without a better validation loss.
    EarlyStopped,
    /// Ctrl-C: the state is that of the last completed epoch.
    Interrupted,
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

/// The minibatches of one epoch: lists of example indices.
fn epoch_batches(data: &TaskData<'_>, hyper: &Hyper, epoch: usize) -> Vec<Vec<usize>> {
    match data.windows_per_stream {
        None => epoch_order(data.train.len(), hyper.seed, epoch, hyper.shuffle)
            .chunks(hyper.batch)
            .map(|c| c.to_vec())
            .collect(),
        // Window j of every stream; the order is the text's, since the state runs on.
        Some(wps) => {
            let streams = data.train.len() / wps.max(1);
            (0..wps)
                .map(|j| (0..streams).map(|s| s * wps + j).collect())
                .collect()
        }
    }
}

/// Whether every value is finite; `&` rather than a short-circuiting `all`, so that the
/// check vectorises (it runs over the whole gradient every minibatch).
fn all_finite(v: &[f32]) -> bool {
    v.iter().fold(true, |ok, g| ok & g.is_finite())
}

/// Consecutive minibatches with an overflowing gradient that count as divergence.
const MAX_SKIPPED_IN_A_ROW: usize = 20;

/// How an epoch ended early.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EpochEnd {
    /// A minibatch's loss was not finite.
    Diverged(f64),
    /// Ctrl-C between two minibatches.
    Interrupted,
}

/// Trains one epoch; returns its score during training (mean loss per prediction and
/// accuracy over its minibatches, each before its update) and predictions per second.
pub fn train_epoch(
    engine: &mut Engine,
    state: &mut State,
    data: &TaskData<'_>,
    hyper: &Hyper,
    epoch: usize,
    epochs: usize,
    bar: &ProgressBar,
) -> std::result::Result<(Score, f64), EpochEnd> {
    let batches = epoch_batches(data, hyper, epoch);
    // Every epoch has as many minibatches, so update `u` of the run is known here.
    let total_updates = batches.len() * epochs;
    let first_update = batches.len() * epoch.saturating_sub(1);
    let (carry, reduction) = (data.carry(), hyper.reduction());
    let crop = hyper.task.crop();
    let cropped;
    let train: &dyn crate::data::Examples = if crop < 1.0 && !carry {
        cropped = crate::data::augment::Cropped::new(data.train, crop, hyper.seed, epoch);
        &cropped
    } else {
        data.train
    };
    engine.reset_states();
    let started = Instant::now();
    let mut last_draw = started;
    let (mut loss_sum, mut correct, mut done) = (0.0f64, 0usize, 0usize);
    let mut skipped_in_a_row = 0usize;
    for (b, ids) in batches.iter().enumerate() {
        if interrupt::requested() {
            return Err(EpochEnd::Interrupted);
        }
        let params = &state.model.params;
        let batch = engine.batch_gradient(params, train, ids, reduction, carry);
        let loss = batch.loss;
        if !loss.is_finite() {
            return Err(EpochEnd::Diverged(loss));
        }
        // A gradient that overflowed (BPTT through a long sequence can) would turn every
        // weight into NaN: the minibatch is skipped instead, as mixed-precision trainers
        // do; only a run of them is divergence.
        if !all_finite(&engine.grad) {
            state.skipped += 1;
            skipped_in_a_row += 1;
            if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW {
                return Err(EpochEnd::Diverged(f64::INFINITY));
            }
            continue;
        }
        skipped_in_a_row = 0;
        if let Some(max) = hyper.clip_norm {
            clip_global_norm(&mut engine.grad, max);
        }
        if hyper.clip > 0.0 {
            clip_elementwise(&mut engine.grad, hyper.clip);
        }
        let scale = hyper.lr_schedule.factor(first_update + b, total_updates);
        state
            .optimizer
            .step(&mut state.model.params, &engine.grad, scale);
        loss_sum += loss;
        correct += batch.correct;
        done += ids.iter().map(|&k| train.predictions(k)).sum::<usize>();
        // Redrawing costs a formatted string: only every 50 ms, never per example.
        if b % 16 == 15 && last_draw.elapsed() > Duration::from_millis(50) {
            last_draw = Instant::now();
            let rate = done as f64 / started.elapsed().as_secs_f64();
            bar.set_position(done as u64);
            bar.set_message(format!("loss {:.4}  {rate:.0}/s", loss_sum / done as f64));
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    bar.set_position(done as u64);
    let n = done.max(1) as f64;
    let score = Score {
        loss: loss_sum / n,
        accuracy: correct as f64 / n,
    };
    Ok((score, done as f64 / secs))
}

/// Runs epochs `state.epochs_done + 1 ..= opts.epochs`, calling `after_epoch` with the
/// state after each one (to save the model and checkpoints), until the last epoch,
/// early stopping or Ctrl-C. On a non-finite loss it stops with [`Error::Diverged`],
/// leaving whatever `after_epoch` last saved untouched.
pub fn run(
    hyper: &Hyper,
    opts: &RunOptions,
    data: &TaskData<'_>,
    state: &mut State,
    after_epoch: &mut dyn FnMut(&State) -> Result<()>,
) -> Result<Stop> {
    let task = state.model.arch.task;
    let mut engine = Engine::new(state.model.arch, hyper.batch, data.max_len(), opts.threads)?;
    let unit = task_unit(task);
    let style = ProgressStyle::with_template(&format!(
        "{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}"
    ))
    .map_err(|e| Error::Internal(e.to_string()))?
    .progress_chars("=> ");
    for epoch in state.epochs_done + 1..=opts.epochs {
        if early_stop_due(hyper, state) {
            return Ok(Stop::EarlyStopped);
        }
        let bar = if opts.quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(
                Some(data.train.total_predictions() as u64),
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
        let before = (state.model.params.clone(), state.optimizer.clone());
        let (during, rate) =
            match train_epoch(&mut engine, state, data, hyper, epoch, opts.epochs, &bar) {
                Ok(r) => r,
                Err(end) => {
                    bar.abandon();
                    (state.model.params, state.optimizer) = before;
                    return match end {
                        EpochEnd::Diverged(value) => Err(diverged(value)),
                        EpochEnd::Interrupted => Ok(Stop::Interrupted),
                    };
                }
            };
        bar.finish_and_clear();
        if let Some(bad) = state.model.params.iter().find(|p| !p.is_finite()) {
            return Err(diverged(f64::from(*bad)));
        }
        let params = &state.model.params;
        let carry = data.carry();
        let running_loss = during.loss;
        let train = if opts.rescore_train {
            engine
                .score(params, data.train_eval, carry)
                .ok_or_else(|| Error::Internal("empty training set".into()))?
        } else {
            during
        };
        if !train.loss.is_finite() {
            return Err(diverged(train.loss));
        }
        let val = data.val.and_then(|d| engine.score(params, d, carry));
        let test = data.test.and_then(|d| engine.score(params, d, carry));
        if let Some(v) = &val {
            if state.best.as_ref().is_none_or(|b| v.loss < b.val_loss) {
                state.best = Some(Best {
                    epoch,
                    val_loss: v.loss,
                    params: params.clone(),
                });
            }
        }
        let stats = EpochStats {
            epoch,
            train,
            val,
            test,
            running_loss,
            train_rescored: opts.rescore_train,
            rate,
        };
        if !opts.quiet {
            println!("{}", stats.line(opts.epochs, task));
        }
        state.history.push(stats);
        state.epochs_done = epoch;
        after_epoch(state)?;
    }
    Ok(if early_stop_due(hyper, state) {
        Stop::EarlyStopped
    } else {
        Stop::Finished
    })
}

/// Whether `--early-stop N` epochs have gone by since the best one.
fn early_stop_due(hyper: &Hyper, state: &State) -> bool {
    match (hyper.early_stop, &state.best) {
        (Some(n), Some(b)) => state.epochs_done >= b.epoch + n,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_settings_written_before_the_crop_load_without_it() {
        let old = r#"{"task":"classify","bidirectional":false,"conv":"","sequence_norm":true}"#;
        let task: TaskHyper = serde_json::from_str(old).unwrap();
        assert_eq!(task.crop(), 1.0);
        let new = TaskHyper::Classify {
            bidirectional: false,
            conv: String::new(),
            sequence_norm: true,
            crop: 0.9,
        };
        let back: TaskHyper = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
    }
}
