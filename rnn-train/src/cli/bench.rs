//! `rnn-train bench`: training throughput of the one training engine (plain SGD, summed
//! loss per name, on the whole of a text) for several hidden sizes, at a minibatch size,
//! thread count and matrix kernel of choice; the median of `--repeats` runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::ProgressBar;

use super::line;
use crate::data::text::{prepare, Cut};
use crate::data::{read_text, Examples, Mode};
use crate::error::{Error, Result};
use crate::nn::gemm::{set_kernel, Kernel};
use crate::nn::{CellType, Model};
use crate::train::optim::{LrSchedule, OptimizerKind};
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
    /// Names per update (minibatches of more than one run through the batched passes).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Worker threads (the trained weights do not depend on it).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// The batched passes' matrix products: `fused` (the default unless RNN_TRAIN_KERNEL
    /// says otherwise) or `exact` (both the same bits on every x86-64), or `matrixmultiply`
    /// (CPU-dependent bits).
    #[arg(long, value_enum)]
    pub kernel: Option<Kernel>,
    /// Timed runs per size, each from the same initial weights; the median is printed.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
}

/// What one benchmark measures besides the cell and the sizes.
#[derive(Clone, Copy, Debug)]
pub struct BenchSettings {
    pub layers: usize,
    pub epochs: usize,
    pub batch: usize,
    pub threads: usize,
    pub repeats: usize,
    pub lr: f32,
}

impl BenchCmd {
    pub fn run(&self, out: &mut dyn Write) -> Result<()> {
        if let Some(k) = self.kernel {
            set_kernel(k);
        }
        let settings = BenchSettings {
            layers: self.layers,
            epochs: self.epochs.max(1),
            batch: self.batch.max(1),
            threads: self.threads.max(1),
            repeats: self.repeats.max(1),
            lr: self.lr,
        };
        bench(&self.data, self.cell, &self.hidden, &settings, out).map(|_| ())
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
        lr_schedule: LrSchedule::Constant,
        val_split: 0.0,
        seed: 1,
        shuffle: true,
        early_stop: None,
    }
}

/// Runs the benchmark; returns `(hidden, median chars per second)` for each size.
pub fn bench(
    data: &Path,
    cell: CellType,
    hidden: &[usize],
    b: &BenchSettings,
    out: &mut dyn Write,
) -> Result<Vec<(usize, f64)>> {
    let text = read_text(data)?;
    let mut results = Vec::new();
    let per_update = if b.batch == 1 {
        "one name per update".to_string()
    } else {
        format!("{} names per update", b.batch)
    };
    line(
        out,
        format!(
            "training throughput on {} ({} layer(s) of {}, lines mode, SGD lr {}, {per_update}, {} thread(s), {:?} kernel, {} epochs each, median of {})",
            data.display(),
            b.layers,
            cell.name(),
            b.lr,
            b.threads,
            crate::nn::gemm::kernel(),
            b.epochs,
            b.repeats
        ),
    )?;
    line(
        out,
        format!(
            "{:>6}  {:>10}  {:>12}  {:>10}  {:>14}  {:>10}",
            "hidden", "params", "chars/epoch", "ms/epoch", "chars/s", "loss/char"
        ),
    )?;
    for &h in hidden {
        let mut hyper = next_hyper(cell, b.layers, h, b.batch);
        hyper.lr = b.lr;
        hyper.validate()?;
        let model = Model::init_next(cell, b.layers, text.vocab(Mode::Lines), h, hyper.seed);
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
        let (mut rates, mut last_loss) = (Vec::new(), 0.0);
        let mut params = 0;
        for _ in 0..b.repeats {
            let mut state = State::new(model.clone(), &hyper);
            params = state.model.arch.param_count();
            let max_len = prep.train.max_len();
            let mut engine = Engine::new(state.model.arch, b.batch, max_len, b.threads)?;
            let bar = ProgressBar::hidden();
            // One epoch first to warm caches and the branch predictor.
            let _ = train::train_epoch(&mut engine, &mut state, &task, &hyper, 0, 1, &bar);
            let started = Instant::now();
            for e in 1..=b.epochs {
                let (score, _) =
                    train::train_epoch(&mut engine, &mut state, &task, &hyper, e, b.epochs, &bar)
                        .map_err(|v| {
                        Error::Internal(format!("benchmark training stopped early ({v:?})"))
                    })?;
                last_loss = score.loss;
            }
            let secs = started.elapsed().as_secs_f64();
            rates.push(prep.train.predicted_chars() as f64 * b.epochs as f64 / secs);
        }
        rates.sort_by(f64::total_cmp);
        let rate = rates[rates.len() / 2];
        let chars = prep.train.predicted_chars() as f64;
        line(
            out,
            format!(
                "{h:>6}  {params:>10}  {:>12}  {:>10.2}  {:>14.0}  {last_loss:>10.4}",
                prep.train.predicted_chars(),
                chars / rate * 1000.0,
                rate
            ),
        )?;
        results.push((h, rate));
    }
    Ok(results)
}
