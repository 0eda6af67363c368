//! `rnn-train`: train an Elman, GRU or LSTM network (1 to 4 layers) on text, sample from it, evaluate, inspect, and move
//! weights to and from JSON. Every error is one line on stderr; bad input (files, flags)
//! exits with code 2, other failures with 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rnn_train::commands::{self, TrainArgs};
use rnn_train::data::Mode;
use rnn_train::model::CellType;
use rnn_train::optim::OptimizerKind;
use rnn_train::train::{Hyper, Reduction};

#[derive(Parser)]
#[command(name = "rnn-train", version, about = "Train small recurrent networks (Elman, GRU, LSTM) on text for rnn-core", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a text file and write it as an .rnn file.
    Train(Box<TrainCmd>),
    /// Generate names with rnn-core's own sampler (what the firmware prints).
    Sample {
        #[arg(long)]
        model: PathBuf,
        /// How many names.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Start every name with this text (it is printed too).
        #[arg(long, default_value = "")]
        prefix: String,
        /// Softmax temperature; 0 picks the most likely symbol (greedy).
        #[arg(long, default_value_t = 1.0)]
        temperature: f32,
        /// Seed of rnn-core's SplitMix64, one stream for all names.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Most symbols generated per name (after the prefix).
        #[arg(long, default_value_t = 50)]
        max_len: usize,
    },
    /// Character models: mean cross-entropy per predicted character (nats), as a number on
    /// the last line. Classifiers: accuracy, per-class precision and recall, and the
    /// confusion matrix, computed by rnn-core's own classifier (what the device runs).
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// Text (character models, classifiers of words), or a .ts file (classifiers of
        /// feature vectors).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum, default_value_t = Mode::Lines)]
        mode: Mode,
        /// Classifiers: draw the confusion matrix to this SVG file.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Describe a model file: cell kind, sizes, vocabulary, parameters, checksum.
    Inspect {
        #[arg(long)]
        model: PathBuf,
    },
    /// Write a model's weights as JSON (schema in the README and `rnn_train::json`).
    Export {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
    },
    /// Build a model file from JSON weights: our own schema, or PyTorch's or Keras's layout
    /// (see `rnn_train::json` for the three).
    Import {
        /// The JSON weight file.
        json: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Training throughput (predicted chars/s, one thread) at several hidden sizes.
    Bench {
        #[arg(long, default_value = "data/dinosaurs.txt")]
        data: PathBuf,
        /// The recurrent cell.
        #[arg(long, value_enum, default_value_t = CellType::Elman)]
        cell: CellType,
        /// Stacked recurrent layers.
        #[arg(long, default_value_t = 1)]
        layers: usize,
        /// Hidden sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![25, 64, 128])]
        hidden: Vec<usize>,
        /// Timed epochs per size (after one warm-up epoch).
        #[arg(long, default_value_t = 5)]
        epochs: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
}

/// What the network learns to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Task {
    /// The next character at every step (names, text).
    Next,
    /// One class per sequence (many-to-one): `label<TAB>text` lines, or a `.ts` file.
    Classify,
}

#[derive(Args)]
struct TrainCmd {
    /// Training data: text (UTF-8); with --task classify `label<TAB>text` lines, or a UEA/UCR
    /// `.ts` file of feature vectors (chosen by the extension).
    #[arg(long)]
    data: PathBuf,
    /// next: predict the next character; classify: one class per sequence.
    #[arg(long, value_enum, default_value_t = Task::Next)]
    task: Task,
    /// --task classify: a test file (same kind as --data), scored after every epoch and
    /// reported at the end; it never influences training.
    #[arg(long)]
    test: Option<PathBuf>,
    /// --task classify: a second recurrent stack reads each sequence backwards; the output
    /// layer reads both final states.
    #[arg(long)]
    bidirectional: bool,
    /// The model file to write (rewritten atomically after every epoch).
    #[arg(long)]
    out: PathBuf,
    /// lines: one sequence per line; stream: continuous text in windows.
    #[arg(long, value_enum, default_value_t = Mode::Lines)]
    mode: Mode,
    /// Window length in stream mode.
    #[arg(long, default_value_t = 25)]
    seq_len: usize,
    /// The recurrent cell [default: elman].
    #[arg(long, value_enum)]
    cell: Option<CellType>,
    /// Stacked recurrent layers, 1 to 4 [default: 1].
    #[arg(long)]
    layers: Option<usize>,
    /// Hidden size H of every layer [default: 25].
    #[arg(long)]
    hidden: Option<usize>,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Learning rate [default: 0.1 for sgd, 0.01 for momentum, 0.005 for adam].
    #[arg(long)]
    lr: Option<f32>,
    /// Sequences per minibatch (stream mode: parallel streams).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Clip every gradient element to ±CLIP; 0 turns it off.
    #[arg(long, default_value_t = 5.0)]
    clip: f32,
    /// Also scale the gradient down to this global norm.
    #[arg(long)]
    clip_norm: Option<f32>,
    /// The update rule; plain SGD is the paper's.
    #[arg(long, value_enum, default_value_t = DEFAULT_OPTIMIZER)]
    optimizer: OptimizerKind,
    /// Fraction of the lines (or the end of the stream) held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val_split: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Loss of a sequence: mean over its characters or their sum.
    #[arg(long, value_enum, default_value_t = Reduction::Mean)]
    reduction: Reduction,
    /// Start from the weights in this JSON file (cell, layers, vocabulary and sizes from it).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Keep the file's order instead of shuffling every epoch.
    #[arg(long)]
    no_shuffle: bool,
    /// Worker threads [default: all cores]; the result does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Write the loss curves (train and validation per epoch) to this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Write OUT.ckpt every N epochs (and after the last).
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Continue from a checkpoint written by --checkpoint-every.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

const DEFAULT_OPTIMIZER: OptimizerKind = OptimizerKind::Sgd;

/// A learning rate that works for each optimiser with the mean loss per character: momentum
/// 0.9 takes steps about ten times the gradient's, and Adam's steps are about `lr` each.
fn default_lr(optimizer: OptimizerKind) -> f32 {
    match optimizer {
        OptimizerKind::Sgd => 0.1,
        OptimizerKind::Momentum => 0.01,
        OptimizerKind::Adam => 0.005,
    }
}
const DEFAULT_HIDDEN: usize = 25;

fn run(cli: Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Train(t) => {
            let threads = t
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let args = TrainArgs {
                data: t.data,
                out: t.out,
                hyper: Hyper {
                    mode: t.mode,
                    seq_len: t.seq_len,
                    cell: t.cell.unwrap_or_default(),
                    layers: t.layers.unwrap_or(1),
                    hidden: t.hidden.unwrap_or(DEFAULT_HIDDEN),
                    lr: t.lr.unwrap_or_else(|| default_lr(t.optimizer)),
                    batch: t.batch,
                    clip: t.clip,
                    clip_norm: t.clip_norm,
                    optimizer: t.optimizer,
                    val_split: t.val_split,
                    seed: t.seed,
                    reduction: t.reduction,
                    shuffle: !t.no_shuffle,
                },
                hidden_given: t.hidden.is_some(),
                cell_given: t.cell.is_some(),
                layers_given: t.layers.is_some(),
                epochs: t.epochs,
                init: t.init,
                threads,
                plot: t.plot,
                checkpoint_every: t.checkpoint_every,
                resume: t.resume,
                quiet: t.quiet,
            };
            if t.task == Task::Classify {
                let cls = commands::ClassifyArgs {
                    test: t.test,
                    bidirectional: t.bidirectional,
                };
                commands::train_classifier(&args, &cls)?;
            } else {
                if t.test.is_some() || t.bidirectional {
                    anyhow::bail!(rnn_train::Error::Config(
                        "--test and --bidirectional need --task classify".into()
                    ));
                }
                commands::train(&args)?;
            }
        }
        Command::Sample {
            model,
            count,
            prefix,
            temperature,
            seed,
            max_len,
        } => commands::sample(&model, count, &prefix, temperature, seed, max_len, &mut out)?,
        Command::Eval {
            model,
            data,
            mode,
            plot,
        } => {
            if commands::is_classifier(&model)? {
                let c = commands::eval_classifier(&model, &data)?;
                writeln!(out, "{}: {} sequences", data.display(), c.total())?;
                write!(out, "{}", c.report())?;
                if let Some(plot) = plot {
                    let name = data.file_name().map_or_else(
                        || data.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    c.write_svg(&plot, &name)?;
                }
                return Ok(());
            }
            if plot.is_some() {
                anyhow::bail!(rnn_train::Error::Config(
                    "--plot draws a classifier's confusion matrix; this is a character model"
                        .into()
                ));
            }
            let r = commands::eval(&model, &data, mode)?;
            writeln!(
                out,
                "{}: {} sequences, {} predicted characters; mean cross-entropy (nats/char):",
                data.display(),
                r.sequences,
                r.predicted_chars
            )?;
            writeln!(out, "{:.6}", r.loss)?;
        }
        Command::Inspect { model } => commands::inspect(&model, &mut out)?,
        Command::Export {
            model,
            format,
            out: path,
        } => match format {
            ExportFormat::Json => {
                let m = rnn_train::model::Model::load(&model)?;
                rnn_train::json::export(&m, &path)?;
            }
        },
        Command::Import { json, out: path } => {
            let m = rnn_train::json::import(&json)?;
            m.save(&path)?;
        }
        Command::Bench {
            data,
            cell,
            layers,
            hidden,
            epochs,
        } => {
            commands::bench(&data, cell, layers, &hidden, epochs.max(1), &mut out)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let bad_input = e
                .downcast_ref::<rnn_train::Error>()
                .is_some_and(rnn_train::Error::is_bad_input);
            // One line, whatever the message holds.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("rnn-train: error: {msg}");
            if bad_input {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
