//! `rnn-train train`: a model of either task trained by the one training loop
//! ([`crate::train::run`]), written after every epoch (atomically), with checkpoints,
//! `--resume`, `--init`, early stopping, Ctrl-C, the loss curves and, for a classifier,
//! the test set's report.

use std::path::{Path, PathBuf};

use super::all_cores;
use crate::data::classes::{encode, split as split_classes};
use crate::data::text::{prepare, Cut};
use crate::data::{read_text, ClsData, Examples, Mode, RawSet};
use crate::error::{Error, Result};
use crate::nn::{Arch, CellType, Model, Task};
use crate::train::checkpoint;
use crate::train::optim::OptimizerKind;
use crate::train::{self, Hyper, Reduction, RunOptions, State, Stop, TaskData, TaskHyper};

/// What the network learns to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskArg {
    /// The next character at every step (names, text).
    Next,
    /// One class per sequence (many-to-one): lines of a label, a tab and a text, or a .ts file.
    Classify,
}

/// Train a model on a data file and write it as an .rnn file.
///
/// Ctrl-C stops after the current minibatch, writes the best model so far (by validation
/// loss, or the last completed epoch) and exits with code 130; a second Ctrl-C quits at
/// once.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainCmd {
    /// Training data: text (UTF-8); with --task classify lines of a label, a tab and a
    /// text, or a UEA/UCR .ts file of feature vectors (chosen by the extension).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// next: predict the next character; classify: one class per sequence.
    #[arg(long, value_enum, default_value_t = TaskArg::Next)]
    pub task: TaskArg,
    /// The model file to write (rewritten atomically after every epoch).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The recurrent cell [default: elman].
    #[arg(long, value_enum)]
    pub cell: Option<CellType>,
    /// Stacked recurrent layers, 1 to 4 [default: 1].
    #[arg(long)]
    pub layers: Option<usize>,
    /// Hidden size H of every layer [default: 25].
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Passes over the training data (the most, with --early-stop).
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Learning rate [default: 0.1 for sgd, 0.01 for momentum, 0.005 for adam].
    #[arg(long)]
    pub lr: Option<f32>,
    /// Sequences per minibatch (stream mode: parallel streams).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Clip every gradient element to ±CLIP; 0 turns it off.
    #[arg(long, default_value_t = 5.0)]
    pub clip: f32,
    /// Also scale the gradient down to this global norm.
    #[arg(long)]
    pub clip_norm: Option<f32>,
    /// The update rule; plain SGD is the paper's.
    #[arg(long, value_enum, default_value_t = OptimizerKind::Sgd)]
    pub optimizer: OptimizerKind,
    /// Fraction held out for validation: of the lines (next, lines mode), of the end of
    /// the text (stream mode), or of each class (classify).
    #[arg(long, default_value_t = 0.1)]
    pub val_split: f64,
    /// Seed of every random choice: initial weights, validation split, shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after N epochs without a better validation loss, and write the model of the
    /// best epoch.
    #[arg(long, value_name = "N")]
    pub early_stop: Option<usize>,
    /// Start from the weights in this JSON file (written by export; its task, cell,
    /// layers, sizes, vocabulary or classes are used).
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Keep the file's order instead of shuffling every epoch.
    #[arg(long)]
    pub no_shuffle: bool,
    /// Worker threads [default: all cores]; the result does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the loss curves (train and validation per epoch) to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Write OUT.ckpt every N epochs (and after the last).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// Continue from a checkpoint written by --checkpoint-every.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// --task next: lines (one sequence per line) or stream (continuous text in windows)
    /// [default: lines].
    #[arg(long, value_enum, help_heading = "Next-symbol models")]
    pub mode: Option<Mode>,
    /// --task next: window length in stream mode [default: 25].
    #[arg(long, help_heading = "Next-symbol models")]
    pub seq_len: Option<usize>,
    /// --task next: a sequence's loss is the mean over its characters or their sum
    /// [default: mean].
    #[arg(long, value_enum, help_heading = "Next-symbol models")]
    pub reduction: Option<Reduction>,
    /// --task classify: a test file (same kind as --data), scored after every epoch and
    /// reported at the end; it never influences training.
    #[arg(long, value_name = "FILE", help_heading = "Classifiers")]
    pub test: Option<PathBuf>,
    /// --task classify: a second recurrent stack reads each sequence backwards; the
    /// output layer reads both final states.
    #[arg(long, help_heading = "Classifiers")]
    pub bidirectional: bool,
}

const DEFAULT_HIDDEN: usize = 25;

/// A learning rate that works for each optimiser with the mean loss: momentum 0.9 takes
/// steps about ten times the gradient's, and Adam's steps are about `lr` each.
fn default_lr(optimizer: OptimizerKind) -> f32 {
    match optimizer {
        OptimizerKind::Sgd => 0.1,
        OptimizerKind::Momentum => 0.01,
        OptimizerKind::Adam => 0.005,
    }
}

/// The largest model `train` starts (about 0.4 GB per copy of the weights; training keeps
/// several copies: gradients, optimiser state).
pub const MAX_PARAMS: usize = 100_000_000;

/// The data of a run, read and cut for its task.
enum Loaded {
    Next(Box<crate::data::text::NextData>),
    Classify(Box<ClassifyData>),
}

/// A classifier's training file split into its two parts, and the test file.
struct ClassifyData {
    train: ClsData,
    val: ClsData,
    test: Option<ClsData>,
}

impl Loaded {
    fn task_data(&self) -> TaskData<'_> {
        match self {
            Loaded::Next(d) => TaskData {
                train: &d.train,
                windows_per_stream: d.windows_per_stream,
                train_eval: &d.train_eval,
                val: (!d.val.is_empty()).then_some(&d.val as &dyn Examples),
                test: None,
            },
            Loaded::Classify(c) => TaskData {
                train: &c.train,
                windows_per_stream: None,
                train_eval: &c.train,
                val: (!c.val.is_empty()).then_some(&c.val as &dyn Examples),
                test: c.test.as_ref().map(|t| t as &dyn Examples),
            },
        }
    }
}

/// What a finished run leaves: the final state and why it stopped.
#[derive(Debug)]
pub struct Trained {
    pub state: State,
    pub stop: Stop,
}

impl TrainCmd {
    /// The hyper-parameters these flags ask for; flags of the other task are an error.
    pub fn hyper(&self) -> Result<Hyper> {
        let task = match self.task {
            TaskArg::Next => {
                if self.test.is_some() || self.bidirectional {
                    return Err(Error::Config(
                        "--test and --bidirectional need --task classify".into(),
                    ));
                }
                TaskHyper::Next {
                    mode: self.mode.unwrap_or(Mode::Lines),
                    seq_len: self.seq_len.unwrap_or(25),
                    reduction: self.reduction.unwrap_or(Reduction::Mean),
                }
            }
            TaskArg::Classify => {
                let given = [
                    ("--mode", self.mode.is_some()),
                    ("--seq-len", self.seq_len.is_some()),
                    ("--reduction", self.reduction.is_some()),
                ];
                if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                    return Err(Error::Config(format!(
                        "{flag} is for --task next; a classifier reads whole sequences and \
                         has one loss per sequence"
                    )));
                }
                TaskHyper::Classify {
                    bidirectional: self.bidirectional,
                }
            }
        };
        Ok(Hyper {
            task,
            cell: self.cell.unwrap_or_default(),
            layers: self.layers.unwrap_or(1),
            hidden: self.hidden.unwrap_or(DEFAULT_HIDDEN),
            lr: self.lr.unwrap_or_else(|| default_lr(self.optimizer)),
            batch: self.batch,
            clip: self.clip,
            clip_norm: self.clip_norm,
            optimizer: self.optimizer,
            val_split: self.val_split,
            seed: self.seed,
            shuffle: !self.no_shuffle,
            early_stop: self.early_stop,
        })
    }

    /// Trains and writes the model; see the module documentation.
    pub fn run(&self) -> Result<Trained> {
        let mut hyper = self.hyper()?;
        if self.checkpoint_every == Some(0) {
            return Err(Error::Config(
                "--checkpoint-every must be at least 1".into(),
            ));
        }
        if self.resume.is_some() && self.init.is_some() {
            return Err(Error::Config(
                "--resume and --init cannot be used together".into(),
            ));
        }
        crate::io::atomic::remove_stale(&self.out);
        let fingerprint = checkpoint::fingerprint(
            &std::fs::read(&self.data).map_err(|e| Error::io(&self.data, e))?,
        );
        let (initial, loaded) = match hyper.task() {
            Task::Next => self.load_next(&mut hyper)?,
            Task::Classify => self.load_classify(&mut hyper)?,
        };
        hyper.validate()?;
        let data = loaded.task_data();
        let mut state = match &self.resume {
            Some(path) => checkpoint::load(path, &hyper, &fingerprint)?,
            None => {
                let s = State::new(initial, &hyper);
                // So that a run diverging in its first epoch still leaves a usable model.
                s.model.save(&self.out)?;
                s
            }
        };
        if !self.quiet {
            self.banner(&hyper, &state, &data);
        }
        let opts = RunOptions {
            epochs: self.epochs,
            threads: self.threads.unwrap_or_else(all_cores).max(1),
            quiet: self.quiet,
            out: Some(self.out.clone()),
        };
        let ckpt_path = checkpoint::path_for(&self.out);
        let keep_best = hyper.early_stop.is_some();
        let mut after_epoch = |s: &State| -> Result<()> {
            if keep_best {
                s.best_model().save(&self.out)?;
            } else {
                s.model.save(&self.out)?;
            }
            if let Some(n) = self.checkpoint_every {
                if s.epochs_done.is_multiple_of(n) || s.epochs_done == self.epochs {
                    checkpoint::save(&ckpt_path, &hyper, &fingerprint, s)?;
                }
            }
            Ok(())
        };
        let stop = train::run(&hyper, &opts, &data, &mut state, &mut after_epoch)?;
        let written = if keep_best || stop == Stop::Interrupted {
            state.best_model()
        } else {
            state.model.clone()
        };
        written.save(&self.out)?;
        if let Some(plot) = &self.plot {
            let a = state.model.arch;
            let title = format!("{} — {}", self.data.display(), a.describe());
            let unit = match a.task {
                Task::Next => "nats/char",
                Task::Classify => "nats/sequence",
            };
            crate::io::plot::write(plot, &state.history, &title, unit)?;
        }
        if !self.quiet {
            self.report(&state, stop, &written, &loaded, &opts)?;
        }
        if stop == Stop::Interrupted {
            return Err(Error::Interrupted {
                epoch: state.epochs_done,
                kept: self.out.clone(),
            });
        }
        Ok(Trained { state, stop })
    }

    /// Checks `--cell`, `--layers`, `--hidden` (and for classifiers `--bidirectional`)
    /// against the model of `--init`, and takes its architecture.
    fn take_init_arch(&self, hyper: &mut Hyper, a: &Arch, path: &Path) -> Result<()> {
        let differs = |flag: &str, given: String, found: String| {
            Err(Error::Config(format!(
                "--{flag} {given} differs from the {flag} {found} of --init {}",
                path.display()
            )))
        };
        if a.task != hyper.task() {
            return Err(Error::Config(format!(
                "--init {} holds a {} model; this is --task {}",
                path.display(),
                a.task.name(),
                hyper.task().name()
            )));
        }
        if let Some(h) = self.hidden.filter(|&h| h != a.hidden) {
            return differs("hidden", h.to_string(), a.hidden.to_string());
        }
        if let Some(c) = self.cell.filter(|&c| c != a.cell) {
            return differs("cell", c.name().into(), a.cell.name().into());
        }
        if let Some(l) = self.layers.filter(|&l| l != a.layers) {
            return differs("layers", l.to_string(), a.layers.to_string());
        }
        if let TaskHyper::Classify { bidirectional } = &mut hyper.task {
            if *bidirectional && a.directions != 2 {
                return Err(Error::Config(format!(
                    "--bidirectional, but the model of --init {} reads one direction",
                    path.display()
                )));
            }
            *bidirectional = a.directions == 2;
        }
        hyper.hidden = a.hidden;
        hyper.cell = a.cell;
        hyper.layers = a.layers;
        Ok(())
    }

    fn load_next(&self, hyper: &mut Hyper) -> Result<(Model, Loaded)> {
        let TaskHyper::Next { mode, seq_len, .. } = hyper.task else {
            return Err(Error::Internal("not a next-symbol run".into()));
        };
        let text = read_text(&self.data)?;
        let model = match &self.init {
            Some(path) => {
                let m = crate::io::json::import(path)?;
                self.take_init_arch(hyper, &m.arch, path)?;
                m
            }
            None => {
                hyper.validate()?;
                let vocab = text.vocab(mode);
                let arch = Arch::next(hyper.cell, hyper.layers, vocab.len(), hyper.hidden);
                check_size(&arch)?;
                Model::init_next(hyper.cell, hyper.layers, vocab, hyper.hidden, hyper.seed)
            }
        };
        let vocab = model
            .vocab()
            .ok_or_else(|| Error::Internal("a next-symbol model without a vocabulary".into()))?;
        let cut = Cut {
            mode,
            seq_len,
            streams: hyper.batch,
            val_split: hyper.val_split,
            seed: hyper.seed,
        };
        let prep = prepare(&text, vocab, &cut)?;
        Ok((model, Loaded::Next(Box::new(prep))))
    }

    fn load_classify(&self, hyper: &mut Hyper) -> Result<(Model, Loaded)> {
        let raw = RawSet::read(&self.data)?;
        let test_raw = self.test.as_deref().map(RawSet::read).transpose()?;
        let model = match &self.init {
            Some(path) => {
                let m = crate::io::json::import(path)?;
                self.take_init_arch(hyper, &m.arch, path)?;
                m
            }
            None => {
                hyper.validate()?;
                let classes = raw.classes();
                let input = raw.input_spec()?;
                let bidirectional = matches!(
                    hyper.task,
                    TaskHyper::Classify {
                        bidirectional: true
                    }
                );
                let arch = Arch {
                    task: Task::Classify,
                    cell: hyper.cell,
                    layers: hyper.layers,
                    directions: 1 + usize::from(bidirectional),
                    input_kind: input.kind(),
                    input: input.size(),
                    hidden: hyper.hidden,
                    output: classes.len(),
                };
                arch.check().map_err(Error::Config)?;
                check_size(&arch)?;
                Model::init(arch, input, classes, hyper.seed)
            }
        };
        let all = encode(&raw, &model.input, &model.classes)?;
        let test = test_raw
            .as_ref()
            .map(|t| encode(t, &model.input, &model.classes))
            .transpose()?;
        let (train, val) = split_classes(&all, hyper.val_split, hyper.seed);
        if train.is_empty() {
            return Err(Error::NoSequences {
                path: self.data.clone(),
            });
        }
        Ok((
            model,
            Loaded::Classify(Box::new(ClassifyData { train, val, test })),
        ))
    }

    fn banner(&self, hyper: &Hyper, state: &State, data: &TaskData<'_>) {
        let a = state.model.arch;
        let sets = match a.task {
            Task::Next => format!(
                "{} mode, {} training and {} validation sequences ({} and {} predicted chars), vocab {}",
                match hyper.task {
                    TaskHyper::Next { mode: Mode::Stream, .. } => "stream",
                    _ => "lines",
                },
                data.train.len(),
                data.val.map_or(0, |v| v.len()),
                data.train.total_predictions(),
                data.val.map_or(0, |v| v.total_predictions()),
                a.input
            ),
            Task::Classify => format!(
                "{} training and {} validation sequences (stratified){}; {}",
                data.train.len(),
                data.val.map_or(0, |v| v.len()),
                data.test
                    .map_or_else(String::new, |t| format!(", {} test sequences", t.len())),
                state.model.input.describe()
            ),
        };
        println!(
            "{}: {sets}; {}, {} parameters, {:?} lr {} batch {}, seed {}{}",
            self.data.display(),
            a.describe(),
            a.param_count(),
            hyper.optimizer,
            hyper.lr,
            hyper.batch,
            hyper.seed,
            hyper.early_stop.map_or_else(String::new, |n| format!(
                ", early stop after {} without a better validation loss",
                plural(n, "epoch")
            )),
        );
        if state.epochs_done > 0 {
            println!("resuming after epoch {}", state.epochs_done);
        }
    }

    fn report(
        &self,
        state: &State,
        stop: Stop,
        written: &Model,
        loaded: &Loaded,
        opts: &RunOptions,
    ) -> Result<()> {
        let out = self.out.display();
        let last = state.epochs_done;
        let which = match (&state.best, stop, self.early_stop) {
            (Some(b), Stop::Interrupted, _) | (Some(b), _, Some(_)) => {
                format!(
                    "the model of the best epoch, {} (val {:.4})",
                    b.epoch, b.val_loss
                )
            }
            _ => format!("the model of epoch {last}"),
        };
        match stop {
            Stop::Interrupted => println!("interrupted in epoch {}: {which} written to {out}", last + 1),
            Stop::EarlyStopped => println!(
                "early stop after epoch {last}: no better validation loss for {}; {which} written to {out}",
                plural(self.early_stop.unwrap_or(0), "epoch")
            ),
            Stop::Finished => {}
        }
        if let Some(s) = state.history.last() {
            if stop == Stop::Finished && written.arch.task == Task::Next {
                let val = s
                    .val
                    .as_ref()
                    .map_or_else(|| "-".into(), |v| format!("{:.4}", v.loss));
                println!(
                    "final (epoch {}): train {:.4}  val {val} nats/char; {which} written to {out}",
                    s.epoch, s.train.loss
                );
            }
        }
        if let Some(test) = match loaded {
            Loaded::Classify(c) => c.test.as_ref(),
            Loaded::Next(_) => None,
        } {
            let mut engine = train::Engine::new(written.arch, 1, test.max_len(), opts.threads)?;
            let mut c = crate::io::metrics::Confusion::new(written.classes.clone());
            for (s, &y) in engine
                .score_each(&written.params, test, false)
                .iter()
                .zip(&test.labels)
            {
                c.add(y as usize, s.predicted);
            }
            println!("test set {}:", test.path.display());
            print!("{}", c.report());
        }
        if stop == Stop::Finished && written.arch.task == Task::Classify {
            println!("{which} written to {out}");
        }
        Ok(())
    }
}

/// `1 epoch`, `3 epochs`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Refuses a model larger than [`MAX_PARAMS`].
fn check_size(arch: &Arch) -> Result<()> {
    if arch.param_count() > MAX_PARAMS {
        return Err(Error::Config(format!(
            "{} has {} parameters, more than this trainer's {MAX_PARAMS}",
            arch.describe(),
            arch.param_count()
        )));
    }
    Ok(())
}
