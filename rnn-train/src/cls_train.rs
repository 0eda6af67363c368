//! Training and evaluating classifiers: minibatches of whole sequences, one loss per
//! sequence (softmax cross-entropy of its class), mean over the minibatch.
//!
//! Determinism as for the character models ([`crate::train`]): each sequence of a
//! minibatch has its own gradient buffer, added up in the minibatch's order after all are
//! done, so `--threads` does not change a bit; each epoch's order is drawn from `(seed,
//! epoch)` alone.

use std::time::Instant;

use rayon::prelude::*;

use crate::classify::{backward, forward, ClsArch, Workspace};
use crate::cls_data::{ClsData, InputSpec};
use crate::error::{Error, Result};
use crate::metrics::Confusion;
use crate::optim::{clip_elementwise, clip_global_norm, Optimizer};
use crate::train::{epoch_order, Hyper};

/// A classifier: architecture, how it reads its input, class names, weights (in the
/// layout of [`crate::classify`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    pub arch: ClsArch,
    pub input: InputSpec,
    pub classes: Vec<String>,
    pub params: Vec<f32>,
}

impl Classifier {
    /// Fresh weights for `input` and `classes` with the architecture of `hyper`.
    pub fn init(
        input: InputSpec,
        classes: Vec<String>,
        hyper: &Hyper,
        bidirectional: bool,
    ) -> Result<Self> {
        let arch = ClsArch {
            cell: hyper.cell,
            layers: hyper.layers,
            bidirectional,
            input: input.size(),
            hidden: hyper.hidden,
            classes: classes.len(),
        };
        arch.check().map_err(Error::Config)?;
        Ok(Classifier {
            params: arch.init(hyper.seed),
            arch,
            input,
            classes,
        })
    }
}

/// Loss and accuracy of one set.
#[derive(Clone, Debug, PartialEq)]
pub struct SetScore {
    /// Mean cross-entropy per sequence, nats.
    pub loss: f64,
    pub accuracy: f64,
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct ClsEpoch {
    pub epoch: usize,
    pub train: SetScore,
    pub val: Option<SetScore>,
    pub test: Option<SetScore>,
    /// Mean minibatch loss during the epoch.
    pub running_loss: f64,
    pub seqs_per_sec: f64,
}

impl ClsEpoch {
    /// One line, e.g. `epoch  3/40  train 0.4123 acc 0.8815  val …  test …`.
    pub fn line(&self, epochs: usize) -> String {
        let width = epochs.to_string().len();
        let f = |name: &str, s: &Option<SetScore>| {
            s.as_ref().map_or_else(String::new, |s| {
                format!("  {name} {:.4} acc {:.4}", s.loss, s.accuracy)
            })
        };
        format!(
            "epoch {:>width$}/{epochs}  train {:.4} acc {:.4}{}{}  (during epoch {:.4})  {:.0} seqs/s",
            self.epoch,
            self.train.loss,
            self.train.accuracy,
            f("val", &self.val),
            f("test", &self.test),
            self.running_loss,
            self.seqs_per_sec
        )
    }
}

type Slot<'a> = (
    ((&'a mut Vec<f32>, &'a mut Workspace), &'a mut f32),
    &'a usize,
);

/// Buffers reused by every minibatch.
pub struct Engine {
    arch: ClsArch,
    grad: Vec<f32>,
    slot_grads: Vec<Vec<f32>>,
    workspaces: Vec<Workspace>,
    slot_losses: Vec<f32>,
    pool: Option<rayon::ThreadPool>,
}

impl Engine {
    pub fn new(arch: ClsArch, batch: usize, max_len: usize, threads: usize) -> Result<Self> {
        let p = arch.param_count();
        let pool = crate::train::thread_pool(threads)?;
        Ok(Engine {
            arch,
            grad: vec![0.0; p],
            slot_grads: (0..batch).map(|_| vec![0.0; p]).collect(),
            workspaces: (0..batch).map(|_| Workspace::new(arch, max_len)).collect(),
            slot_losses: vec![0.0; batch],
            pool,
        })
    }

    /// The mean gradient of sequences `ids` into `self.grad`; returns the sum of their
    /// losses.
    pub fn batch_gradient(&mut self, params: &[f32], data: &ClsData, ids: &[usize]) -> f64 {
        let n = ids.len();
        let scale = 1.0 / n as f32;
        let run = |(((g, ws), l), &k): Slot<'_>| {
            g.fill(0.0);
            let x = data.get(k);
            let y = data.labels[k] as usize;
            *l = forward(params, x, y, ws);
            backward(params, x, y, scale, ws, g);
        };
        let Engine {
            slot_grads,
            workspaces,
            slot_losses,
            pool,
            ..
        } = self;
        let slots = slot_grads[..n]
            .iter_mut()
            .zip(&mut workspaces[..n])
            .zip(&mut slot_losses[..n]);
        match pool {
            Some(pool) if n > 1 => {
                let slots: Vec<_> = slots.zip(ids).collect();
                pool.install(|| slots.into_par_iter().for_each(run));
            }
            _ => slots.zip(ids).for_each(run),
        }
        self.grad.fill(0.0);
        for g in &self.slot_grads[..n] {
            for (t, s) in self.grad.iter_mut().zip(g) {
                *t += s;
            }
        }
        self.slot_losses[..n].iter().map(|&l| f64::from(l)).sum()
    }

    /// Predicted class and loss of every sequence of `data` (forward passes only, in
    /// parallel when there are threads; the results do not depend on it).
    pub fn predict(&mut self, params: &[f32], data: &ClsData) -> Vec<(usize, f32)> {
        let arch = self.arch;
        let max_len = data.max_len();
        let one = |ws: &mut Workspace, k: usize| {
            let loss = forward(params, data.get(k), data.labels[k] as usize, ws);
            (ws.predicted(), loss)
        };
        match &self.pool {
            Some(pool) => pool.install(|| {
                (0..data.len())
                    .into_par_iter()
                    .map_init(|| Workspace::new(arch, max_len), |ws, k| one(ws, k))
                    .collect()
            }),
            None => {
                let ws = &mut self.workspaces[0];
                (0..data.len()).map(|k| one(ws, k)).collect()
            }
        }
    }

    /// Loss and accuracy on `data`.
    pub fn score(&mut self, params: &[f32], data: &ClsData) -> Option<SetScore> {
        if data.is_empty() {
            return None;
        }
        let r = self.predict(params, data);
        let loss = r.iter().map(|&(_, l)| f64::from(l)).sum::<f64>() / r.len() as f64;
        let correct = r
            .iter()
            .zip(&data.labels)
            .filter(|((p, _), &y)| *p == y as usize)
            .count();
        Some(SetScore {
            loss,
            accuracy: correct as f64 / r.len() as f64,
        })
    }

    /// The confusion matrix of `model` on `data`.
    pub fn confusion(&mut self, model: &Classifier, data: &ClsData) -> Confusion {
        let mut c = Confusion::new(model.classes.clone());
        for ((p, _), &y) in self.predict(&model.params, data).iter().zip(&data.labels) {
            c.add(y as usize, *p);
        }
        c
    }
}

/// Options that do not change the result.
#[derive(Clone, Debug)]
pub struct ClsRun {
    pub epochs: usize,
    pub threads: usize,
    pub quiet: bool,
}

/// Trains `model` on `train` for `opts.epochs` epochs, scoring `val` and `test` after each
/// (they never influence training); `after_epoch` sees the model after every epoch (to
/// save it). A non-finite loss stops with [`Error::Diverged`].
pub fn run(
    hyper: &Hyper,
    opts: &ClsRun,
    model: &mut Classifier,
    train: &ClsData,
    val: Option<&ClsData>,
    test: Option<&ClsData>,
    after_epoch: &mut dyn FnMut(&Classifier, &ClsEpoch) -> Result<()>,
) -> Result<Vec<ClsEpoch>> {
    let max_len = [Some(train), val, test]
        .iter()
        .flatten()
        .map(|d| d.max_len())
        .max()
        .unwrap_or(1);
    let mut engine = Engine::new(model.arch, hyper.batch, max_len, opts.threads)?;
    let mut optimizer = Optimizer::new(hyper.optimizer, hyper.lr, model.params.len());
    let mut history = Vec::new();
    for epoch in 1..=opts.epochs {
        let started = Instant::now();
        let order = epoch_order(train.len(), hyper.seed, epoch, hyper.shuffle);
        let mut loss_sum = 0.0f64;
        for ids in order.chunks(hyper.batch) {
            let loss = engine.batch_gradient(&model.params, train, ids);
            if !loss.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    value: loss,
                    last_good_epoch: epoch - 1,
                    kept: "(the model file of the last epoch)".into(),
                });
            }
            if let Some(max) = hyper.clip_norm {
                clip_global_norm(&mut engine.grad, max);
            }
            if hyper.clip > 0.0 {
                clip_elementwise(&mut engine.grad, hyper.clip);
            }
            optimizer.step(&mut model.params, &engine.grad);
            loss_sum += loss;
        }
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let train_score = engine
            .score(&model.params, train)
            .ok_or_else(|| Error::Internal("empty training set".into()))?;
        if !train_score.loss.is_finite() {
            return Err(Error::Diverged {
                epoch,
                value: train_score.loss,
                last_good_epoch: epoch - 1,
                kept: "(the model file of the last epoch)".into(),
            });
        }
        let stats = ClsEpoch {
            epoch,
            train: train_score,
            val: val.and_then(|d| engine.score(&model.params, d)),
            test: test.and_then(|d| engine.score(&model.params, d)),
            running_loss: loss_sum / train.len() as f64,
            seqs_per_sec: train.len() as f64 / secs,
        };
        if !opts.quiet {
            println!("{}", stats.line(opts.epochs));
        }
        after_epoch(model, &stats)?;
        history.push(stats);
    }
    Ok(history)
}

impl Classifier {
    /// The `rnn-core` header of this classifier.
    pub fn header(&self) -> rnn_core::Header {
        let a = &self.arch;
        rnn_core::Header::new(
            a.cell.core(),
            a.layers as u8,
            a.input as u32,
            a.hidden as u32,
            a.classes as u32,
        )
        .classifier()
        .with_bidirectional(a.bidirectional)
        .with_normalized(matches!(self.input, InputSpec::Dense { .. }))
    }

    /// The class names as the file stores them: each ended by `\n`.
    fn class_names(&self) -> String {
        self.classes
            .iter()
            .flat_map(|c| [c.as_str(), "\n"])
            .collect()
    }

    /// The weights as the file orders them: normalisation, the forward stack's layers,
    /// the backward stack's layers, the output layer (FORMAT.md). Here they are kept
    /// layer by layer with both directions together (PyTorch's order), so the blocks are
    /// listed in the file's order.
    fn file_tensors(&self) -> Vec<&[f32]> {
        let a = &self.arch;
        let mut t: Vec<&[f32]> = Vec::new();
        if let InputSpec::Dense { mean, scale } = &self.input {
            t.push(mean);
            t.push(scale);
        }
        for d in 0..a.directions() {
            for l in 0..a.layers {
                t.push(&self.params[a.block(l, d)]);
            }
        }
        let (w, b) = a.head_ranges();
        t.push(&self.params[w.start..b.end]);
        t
    }

    /// The `.rnn` file bytes, written by `rnn-core`'s own writer.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = self.header();
        let vocab = match &self.input {
            InputSpec::Chars(v) => v.as_string(),
            InputSpec::Dense { .. } => String::new(),
        };
        let classes = self.class_names();
        let tensors = self.file_tensors();
        let bad = |e: rnn_core::Error| Error::Internal(format!("cannot encode the model: {e}"));
        let len = rnn_core::classifier_len(&header, &vocab, &classes, &tensors).map_err(bad)?;
        let mut buf = vec![0u8; len];
        let n = rnn_core::write_classifier(&mut buf, &header, &vocab, &classes, &tensors)
            .map_err(bad)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Writes the model atomically.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        crate::atomic::write(path, &self.to_bytes()?)
    }

    /// A classifier from `.rnn` bytes, with every check of `rnn-core`'s reader; a
    /// next-symbol model is an error.
    pub fn from_bytes(bytes: &[u8], path: &std::path::Path) -> Result<Self> {
        let bad = |reason: String| Error::Model {
            path: path.into(),
            reason,
        };
        let view = rnn_core::ModelView::parse(bytes).map_err(|e| bad(e.to_string()))?;
        let h = view.header();
        if h.task != rnn_core::Task::Classify {
            return Err(bad(format!("a {} model, not a classifier", h.task.name())));
        }
        let arch = ClsArch {
            cell: crate::model::CellType::from_core(h.cell),
            layers: usize::from(h.layers),
            bidirectional: h.bidirectional,
            input: h.input as usize,
            hidden: h.hidden as usize,
            classes: h.output as usize,
        };
        let weights: Vec<f32> = view.weights().collect();
        let mut rest = &weights[..];
        let mut take = |n: usize| -> Result<&[f32]> {
            if rest.len() < n {
                return Err(bad("fewer weights than its header needs".into()));
            }
            let (a, b) = rest.split_at(n);
            rest = b;
            Ok(a)
        };
        let input = if h.normalized {
            let mean = take(arch.input)?.to_vec();
            let scale = take(arch.input)?.to_vec();
            InputSpec::Dense { mean, scale }
        } else if view.vocab().is_empty() {
            // Dense inputs without normalisation: the identity.
            InputSpec::Dense {
                mean: vec![0.0; arch.input],
                scale: vec![1.0; arch.input],
            }
        } else {
            InputSpec::Chars(crate::data::Vocab::from_symbols(view.vocab().as_str()).map_err(bad)?)
        };
        let mut params = vec![0.0f32; arch.param_count()];
        for d in 0..arch.directions() {
            for l in 0..arch.layers {
                let r = arch.block(l, d);
                params[r.clone()].copy_from_slice(take(r.len())?);
            }
        }
        let (w, b) = arch.head_ranges();
        params[w.start..b.end].copy_from_slice(take(b.end - w.start)?);
        if !rest.is_empty() {
            return Err(bad("more weights than its header needs".into()));
        }
        let classes = view.classes().iter().map(String::from).collect();
        Ok(Classifier {
            arch,
            input,
            classes,
            params,
        })
    }

    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }
}
