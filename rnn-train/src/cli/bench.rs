//! `rnn-train bench`: training throughput of the one training engine, one thread, plain
//! SGD, one name per update, on the whole of a text, for several hidden sizes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::ProgressBar;

use super::line;
use crate::data::text::{prepare, Cut};
use crate::data::{read_text, Examples, Mode};
use crate::error::{Error, Result};
use crate::nn::{CellType, Model};
use crate::train::optim::OptimizerKind;
use crate::train::{self, Engine, Hyper, Reduction, State, TaskData, TaskHyper};

/// Training throughput (predicted chars/s, one thread) at several hidden sizes.
#[derive(clap::Args, Debug)]
pub struct BenchCmd {
    #[arg(long, default_value = "data/dinosaurs.txt")]
    pub data: PathBuf,
    /// The recurrent cell.
    #[arg(long, value_enum, default_value_t = CellType::Elman)]
    pub cell: CellType,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Hidden sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![25, 64, 128])]
    pub hidden: Vec<usize>,
    /// Timed epochs per size (after one warm-up epoch).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
}

impl BenchCmd {
    pub fn run(&self, out: &mut dyn Write) -> Result<()> {
        let (c, l, e) = (self.cell, self.layers, self.epochs.max(1));
        bench(&self.data, c, l, &self.hidden, e, out).map(|_| ())
    }
}

/// The settings of a throughput measurement: lines mode, plain SGD, summed loss, no
/// validation, `batch` names per update (the criterion benchmarks use it too).
pub fn next_hyper(cell: CellType, layers: usize, hidden: usize, batch: usize) -> Hyper {
    Hyper {
        task: TaskHyper::Next {
            mode: Mode::Lines,
            seq_len: 25,
            reduction: Reduction::Sum,
        },
        cell,
        layers,
        hidden,
        lr: 0.01,
        batch,
        clip: 5.0,
        clip_norm: None,
        optimizer: OptimizerKind::Sgd,
        val_split: 0.0,
        seed: 1,
        shuffle: true,
        early_stop: None,
    }
}

/// Runs the benchmark; returns `(hidden, chars per second)` for each size.
pub fn bench(
    data: &Path,
    cell: CellType,
    layers: usize,
    hidden: &[usize],
    epochs: usize,
    out: &mut dyn Write,
) -> Result<Vec<(usize, f64)>> {
    let text = read_text(data)?;
    let mut results = Vec::new();
    line(
        out,
        format!(
            "training throughput on {} ({} layer(s) of {}, lines mode, SGD, one name per update, 1 thread, {} epochs each)",
            data.display(),
            layers,
            cell.name(),
            epochs
        ),
    )?;
    line(
        out,
        format!(
            "{:>6}  {:>10}  {:>12}  {:>10}  {:>14}",
            "hidden", "params", "chars/epoch", "ms/epoch", "chars/s"
        ),
    )?;
    for &h in hidden {
        let hyper = next_hyper(cell, layers, h, 1);
        hyper.validate()?;
        let model = Model::init_next(cell, layers, text.vocab(Mode::Lines), h, hyper.seed);
        let cut = Cut {
            mode: Mode::Lines,
            seq_len: 25,
            streams: 1,
            val_split: 0.0,
            seed: hyper.seed,
        };
        let vocab = model
            .vocab()
            .cloned()
            .unwrap_or_else(|| text.vocab(Mode::Lines));
        let prep = prepare(&text, &vocab, &cut)?;
        let task = TaskData {
            train: &prep.train,
            windows_per_stream: None,
            train_eval: &prep.train,
            val: None,
            test: None,
        };
        let mut state = State::new(model, &hyper);
        let mut engine = Engine::new(state.model.arch, 1, prep.train.max_len(), 1)?;
        let bar = ProgressBar::hidden();
        // One epoch first to warm caches and the branch predictor.
        let _ = train::train_epoch(&mut engine, &mut state, &task, &hyper, 0, &bar);
        let started = Instant::now();
        for e in 1..=epochs {
            train::train_epoch(&mut engine, &mut state, &task, &hyper, e, &bar).map_err(|v| {
                Error::Internal(format!("benchmark training stopped early ({v:?})"))
            })?;
        }
        let secs = started.elapsed().as_secs_f64();
        let chars = prep.train.predicted_chars() as f64 * epochs as f64;
        let rate = chars / secs;
        line(
            out,
            format!(
                "{h:>6}  {:>10}  {:>12}  {:>10.2}  {:>14.0}",
                state.model.arch.param_count(),
                prep.train.predicted_chars(),
                secs * 1000.0 / epochs as f64,
                rate
            ),
        )?;
        results.push((h, rate));
    }
    Ok(results)
}
