//! What each subcommand of the `rnn-train` binary does, callable from tests. The binary
//! (`main.rs`) only parses the command line and maps errors to exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::ProgressBar;

use crate::checkpoint;
use crate::data::{read_text, Mode};
use crate::error::{Error, Result};
use crate::model::{Arch, CellType, Model};
use crate::train::{self, Hyper, RunOptions, State};
use rnn_core::Cell;

/// Everything `rnn-train train` takes.
#[derive(Clone, Debug)]
pub struct TrainArgs {
    pub data: PathBuf,
    pub out: PathBuf,
    pub hyper: Hyper,
    /// Set when `--hidden` was given explicitly (checked against `--init`).
    pub hidden_given: bool,
    /// Set when `--cell` was given explicitly (checked against `--init`).
    pub cell_given: bool,
    /// Set when `--layers` was given explicitly (checked against `--init`).
    pub layers_given: bool,
    pub epochs: usize,
    pub init: Option<PathBuf>,
    pub threads: usize,
    pub plot: Option<PathBuf>,
    pub checkpoint_every: Option<usize>,
    pub resume: Option<PathBuf>,
    pub quiet: bool,
}

/// The largest model `train` starts (about 0.4 GB per copy of the weights; training keeps
/// several copies: gradients, optimiser state).
pub const MAX_PARAMS: usize = 100_000_000;

/// Trains a model and writes it (after every epoch, atomically) to `args.out`.
pub fn train(args: &TrainArgs) -> Result<State> {
    let mut hyper = args.hyper.clone();
    let text = read_text(&args.data)?;
    let initial = match &args.init {
        Some(path) => {
            let m = crate::json::import(path)?;
            let a = m.arch;
            let differs = |flag: &str, given: String, found: String| {
                Err(Error::Config(format!(
                    "--{flag} {given} differs from the {flag} {found} of --init {}",
                    path.display()
                )))
            };
            if args.hidden_given && a.hidden != hyper.hidden {
                return differs("hidden", hyper.hidden.to_string(), a.hidden.to_string());
            }
            if args.cell_given && a.cell != hyper.cell {
                return differs("cell", hyper.cell.name().into(), a.cell.name().into());
            }
            if args.layers_given && a.layers != hyper.layers {
                return differs("layers", hyper.layers.to_string(), a.layers.to_string());
            }
            hyper.hidden = a.hidden;
            hyper.cell = a.cell;
            hyper.layers = a.layers;
            m
        }
        None => {
            hyper.validate()?;
            let vocab_len = text.vocab(hyper.mode).len();
            let arch = Arch {
                cell: hyper.cell,
                layers: hyper.layers,
                input: vocab_len,
                hidden: hyper.hidden,
                output: vocab_len,
            };
            if arch.param_count() > MAX_PARAMS {
                return Err(Error::Config(format!(
                    "{} has {} parameters, more than this trainer's {MAX_PARAMS}",
                    arch.describe(),
                    arch.param_count()
                )));
            }
            Model::init_arch(
                hyper.cell,
                hyper.layers,
                text.vocab(hyper.mode),
                hyper.hidden,
                hyper.seed,
            )
        }
    };
    hyper.validate()?;
    if args.checkpoint_every == Some(0) {
        return Err(Error::Config(
            "--checkpoint-every must be at least 1".into(),
        ));
    }
    let prep = train::prepare(&text, &initial.vocab, &hyper)?;
    let fingerprint = checkpoint::fingerprint(&text.text);
    let state = match &args.resume {
        Some(path) => {
            if args.init.is_some() {
                return Err(Error::Config(
                    "--resume and --init cannot be used together".into(),
                ));
            }
            checkpoint::load(path, &hyper, &fingerprint)?
        }
        None => {
            let s = State::new(initial, &hyper);
            // So that a run diverging in its first epoch still leaves a usable model.
            s.model.save(&args.out)?;
            s
        }
    };
    if !args.quiet {
        let d = state.model.arch;
        println!(
            "{}: {} mode, {} training and {} validation sequences ({} and {} predicted chars), \
             vocab {}, {} layer(s) of {} with hidden {}, {} parameters, {:?} lr {} batch {}, seed {}",
            args.data.display(),
            format!("{:?}", hyper.mode).to_lowercase(),
            prep.train.len(),
            prep.val_eval.len(),
            prep.train.predicted_chars(),
            prep.val_eval.predicted_chars(),
            d.input,
            d.layers,
            d.cell.name(),
            d.hidden,
            d.param_count(),
            hyper.optimizer,
            hyper.lr,
            hyper.batch,
            hyper.seed,
        );
        if state.epochs_done > 0 {
            println!("resuming after epoch {}", state.epochs_done);
        }
    }
    let opts = RunOptions {
        epochs: args.epochs,
        threads: args.threads.max(1),
        quiet: args.quiet,
        out: Some(args.out.clone()),
    };
    let ckpt_path = checkpoint::path_for(&args.out);
    let mut after_epoch = |s: &State| -> Result<()> {
        s.model.save(&args.out)?;
        if let Some(n) = args.checkpoint_every {
            if s.epochs_done.is_multiple_of(n) || s.epochs_done == args.epochs {
                checkpoint::save(&ckpt_path, &hyper, &fingerprint, s)?;
            }
        }
        Ok(())
    };
    let state = train::run(&hyper, &opts, &prep, state, &mut after_epoch)?;
    if let Some(plot) = &args.plot {
        let title = format!(
            "{} — {} layer(s) of {}, hidden {}",
            args.data.display(),
            hyper.layers,
            hyper.cell.name(),
            hyper.hidden
        );
        crate::plot::write(plot, &state.history, &title)?;
    }
    if !args.quiet {
        if let Some(last) = state.history.last() {
            let val = last
                .val_loss
                .map_or_else(|| "-".into(), |v| format!("{v:.4}"));
            println!(
                "final (epoch {}): train {:.4}  val {val} nats/char; model written to {}",
                last.epoch,
                last.train_loss,
                args.out.display()
            );
        }
    }
    Ok(state)
}

/// Maps an `rnn-core` error while using a model to this crate's error.
fn core_err(path: &Path) -> impl Fn(rnn_core::Error) -> Error + '_ {
    move |e| Error::Model {
        path: path.into(),
        reason: e.to_string(),
    }
}

fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// `rnn-train sample`: names generated by `rnn-core`'s own `generate` over its `Network`
/// (the code the firmware runs), for a model of any kind and depth, one per line, each
/// printed with its prefix.
pub fn sample(
    model: &Path,
    count: usize,
    prefix: &str,
    temperature: f32,
    seed: u64,
    max_len: usize,
    out: &mut dyn Write,
) -> Result<()> {
    let bytes = read_model_bytes(model)?;
    let err = core_err(model);
    let view = rnn_core::ModelView::parse(&bytes).map_err(&err)?;
    let net = rnn_core::Network::from_view(&view).map_err(&err)?;
    let vocab = view.vocab();
    let sampler = if temperature == 0.0 {
        rnn_core::Sampler::Greedy
    } else {
        rnn_core::Sampler::Temperature(temperature)
    };
    let (mut state, mut scratch) = (
        vec![0.0f32; net.state_len()],
        vec![0.0f32; net.scratch_len()],
    );
    let mut logits = vec![0.0f32; net.output_size()];
    let mut rng = rnn_core::Rng::new(seed);
    for _ in 0..count {
        let mut name = String::from(prefix);
        rnn_core::generate(
            &net,
            &vocab,
            prefix,
            sampler,
            &mut rng,
            max_len,
            &mut state,
            &mut scratch,
            &mut logits,
            |c| name.push(c),
        )
        .map_err(|e| match e {
            rnn_core::Error::UnknownSymbol { symbol } => Error::Config(format!(
                "--prefix: character {symbol:?} is not in the model's vocabulary {:?}",
                vocab.as_str()
            )),
            rnn_core::Error::InvalidTemperature => Error::Config(format!(
                "--temperature {temperature} must be positive (or 0 for greedy)"
            )),
            e => err(e),
        })?;
        writeln!(out, "{name}").map_err(|e| Error::io("<stdout>", e))?;
    }
    Ok(())
}

/// Result of `rnn-train eval`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    pub sequences: usize,
    pub predicted_chars: usize,
    /// Mean cross-entropy per predicted character, in nats.
    pub loss: f64,
}

/// `rnn-train eval`: mean cross-entropy of the model (any kind, any depth) on a text,
/// computed with `rnn-core`'s `Network::step` (what the device runs) and an f64 log-softmax. Lines mode scores each line from a
/// zero state, ending with `'\n'`; stream mode runs the state through the whole text.
pub fn eval(model: &Path, data: &Path, mode: Mode) -> Result<EvalResult> {
    let bytes = read_model_bytes(model)?;
    let err = core_err(model);
    let view = rnn_core::ModelView::parse(&bytes).map_err(&err)?;
    let net = rnn_core::Network::from_view(&view).map_err(&err)?;
    let vocab =
        crate::data::Vocab::from_symbols(view.vocab().as_str()).map_err(|r| Error::Model {
            path: model.into(),
            reason: r,
        })?;
    let text = read_text(data)?;
    let seqs = match mode {
        Mode::Lines => {
            let newline = vocab.newline().ok_or_else(|| Error::Model {
                path: model.into(),
                reason: "the vocabulary has no '\\n', so lines cannot be scored".into(),
            })?;
            let lines = text.encode_lines(&vocab)?;
            crate::data::Sequences::from_lines(lines.iter().map(|l| l.as_slice()), newline)
        }
        Mode::Stream => {
            let tokens = text.encode_stream(&vocab)?;
            crate::data::Sequences::from_stream(&tokens, tokens.len().saturating_sub(1).max(1), 1).0
        }
    };
    if seqs.predicted_chars() == 0 {
        return Err(Error::NoSequences { path: data.into() });
    }
    let (mut state, mut scratch) = (
        vec![0.0f32; net.state_len()],
        vec![0.0f32; net.scratch_len()],
    );
    let mut logits = vec![0.0f32; net.output_size()];
    let mut total = 0.0f64;
    for k in 0..seqs.len() {
        let (inputs, targets) = seqs.get(k);
        state.fill(0.0);
        for (&x, &y) in inputs.iter().zip(targets) {
            let input = if x == crate::data::START {
                rnn_core::Input::Start
            } else {
                rnn_core::Input::Token(x as usize)
            };
            net.step(&mut state, input, &mut scratch, &mut logits)
                .map_err(&err)?;
            let max = logits
                .iter()
                .fold(f64::NEG_INFINITY, |m, &l| m.max(f64::from(l)));
            let log_sum = logits
                .iter()
                .map(|&l| (f64::from(l) - max).exp())
                .sum::<f64>()
                .ln();
            total += log_sum - (f64::from(logits[y as usize]) - max);
        }
    }
    Ok(EvalResult {
        sequences: seqs.len(),
        predicted_chars: seqs.predicted_chars(),
        loss: total / seqs.predicted_chars() as f64,
    })
}

/// `rnn-train inspect`: a description of a model file. A file that fails its checks is
/// described as far as possible and then reported as an error.
pub fn inspect(model: &Path, out: &mut dyn Write) -> Result<()> {
    let bytes = read_model_bytes(model)?;
    let w =
        |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| Error::io("<stdout>", e));
    w(
        out,
        format!("file: {} ({} bytes)", model.display(), bytes.len()),
    )?;
    let view = match rnn_core::ModelView::parse(&bytes) {
        Ok(v) => v,
        Err(e) => {
            if let rnn_core::Error::ChecksumMismatch { stored, computed } = e {
                w(
                    out,
                    format!(
                        "checksum: MISMATCH (stored CRC-32 {stored:08x}, computed {computed:08x})"
                    ),
                )?;
            }
            return Err(core_err(model)(e));
        }
    };
    let crc = bytes
        .last_chunk::<4>()
        .map_or(0, |c| u32::from_le_bytes(*c));
    let hdr = view.header();
    w(
        out,
        format!(
            "format: version {}, checksum: ok (CRC-32 {crc:08x})",
            rnn_core::format::VERSION
        ),
    )?;
    w(out, format!("cell: {}", hdr.cell.name()))?;
    w(out, format!("layers: {}", hdr.layers))?;
    if hdr.task == rnn_core::Task::Classify {
        return inspect_classifier(model, &bytes, out);
    }
    w(
        out,
        format!(
            "sizes: input I = {}, hidden H = {}, output O = {}",
            hdr.input, hdr.hidden, hdr.output
        ),
    )?;
    let params = hdr.param_count().map_err(core_err(model))?;
    let arch = Arch {
        cell: CellType::from_core(hdr.cell),
        layers: usize::from(hdr.layers),
        input: hdr.input as usize,
        hidden: hdr.hidden as usize,
        output: hdr.output as usize,
    };
    let shapes: Vec<String> = arch
        .tensors()
        .iter()
        .map(|t| match t.cols {
            Some(c) => format!("{} {}×{c}", t.name, t.rows),
            None => format!("{} {}", t.name, t.rows),
        })
        .collect();
    w(
        out,
        format!(
            "parameters: {params} ({}), {} bytes of weights",
            shapes.join(", "),
            params * 4
        ),
    )?;
    let net = rnn_core::Network::from_view(&view).map_err(core_err(model))?;
    w(
        out,
        format!(
            "run-time buffers: state {} floats, scratch {}, logits {}",
            net.state_len(),
            net.scratch_len(),
            net.output_size()
        ),
    )?;
    let vocab = view.vocab();
    w(
        out,
        format!("vocab ({} symbols): {:?}", vocab.len(), vocab.as_str()),
    )?;
    Ok(())
}

/// `rnn-train bench`: training throughput, one thread, plain SGD, one name per update, on
/// the whole of `data`, for each hidden size, with `layers` layers of `cell`. Returns
/// `(hidden, chars per second)`.
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
    let line =
        |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| Error::io("<stdout>", e));
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
        let hyper = Hyper {
            mode: Mode::Lines,
            seq_len: 25,
            cell,
            layers,
            hidden: h,
            lr: 0.01,
            batch: 1,
            clip: 5.0,
            clip_norm: None,
            optimizer: crate::optim::OptimizerKind::Sgd,
            val_split: 0.0,
            seed: 1,
            reduction: train::Reduction::Sum,
            shuffle: true,
        };
        hyper.validate()?;
        let model = Model::init_arch(cell, layers, text.vocab(Mode::Lines), h, hyper.seed);
        let prep = train::prepare(&text, &model.vocab, &hyper)?;
        let mut state = State::new(model, &hyper);
        let mut engine = train::Engine::new(state.model.arch, 1, prep.max_len, 1)?;
        let bar = ProgressBar::hidden();
        // One epoch first to warm caches and the branch predictor.
        let _ = train::train_epoch(&mut engine, &mut state, &prep, &hyper, 0, &bar);
        let started = Instant::now();
        for e in 1..=epochs {
            train::train_epoch(&mut engine, &mut state, &prep, &hyper, e, &bar)
                .map_err(|v| Error::Internal(format!("benchmark training diverged (loss {v})")))?;
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

/// Everything `rnn-train train --task classify` takes besides [`TrainArgs`].
#[derive(Clone, Debug)]
pub struct ClassifyArgs {
    pub test: Option<PathBuf>,
    pub bidirectional: bool,
}

/// Trains a classifier on `args.data` (`.ts` or `label<TAB>text`), scoring the held-out
/// part (`--val-split`) and `--test` after every epoch, writes it to `args.out` after every
/// epoch, and prints the test set's report at the end (and draws its confusion matrix
/// with `--plot`).
pub fn train_classifier(
    args: &TrainArgs,
    cls: &ClassifyArgs,
) -> Result<Vec<crate::cls_train::ClsEpoch>> {
    use crate::cls_data::{encode, RawSet};
    use crate::cls_train::{self, Classifier, ClsRun};
    let hyper = args.hyper.clone();
    hyper.validate()?;
    for (flag, given) in [
        ("--init", args.init.is_some()),
        ("--resume", args.resume.is_some()),
        ("--checkpoint-every", args.checkpoint_every.is_some()),
    ] {
        if given {
            return Err(Error::Config(format!(
                "{flag} is not supported with --task classify yet"
            )));
        }
    }
    let raw = RawSet::read(&args.data)?;
    let test_raw = cls.test.as_deref().map(RawSet::read).transpose()?;
    let classes = raw.classes();
    let spec = raw.input_spec()?;
    let mut model = Classifier::init(spec.clone(), classes.clone(), &hyper, cls.bidirectional)?;
    if model.arch.param_count() > MAX_PARAMS {
        return Err(Error::Config(format!(
            "{} has {} parameters, more than this trainer's {MAX_PARAMS}",
            model.arch.describe(),
            model.arch.param_count()
        )));
    }
    let all = encode(&raw, &spec, &classes)?;
    let test = test_raw
        .as_ref()
        .map(|t| encode(t, &spec, &classes))
        .transpose()?;
    let (train_idx, val_idx) = crate::data::split_indices(all.len(), hyper.val_split, hyper.seed);
    let train = all.subset(&train_idx);
    let val = all.subset(&val_idx);
    if !args.quiet {
        println!(
            "{}: {} training and {} validation sequences{}; {}; {}, {} parameters, {:?} lr {} batch {}, seed {}",
            args.data.display(),
            train.len(),
            val.len(),
            test.as_ref()
                .map_or_else(String::new, |t| format!(", {} test sequences", t.len())),
            spec.describe(),
            model.arch.describe(),
            model.arch.param_count(),
            hyper.optimizer,
            hyper.lr,
            hyper.batch,
            hyper.seed,
        );
    }
    // So that a run diverging in its first epoch still leaves a usable model.
    model.save(&args.out)?;
    let opts = ClsRun {
        epochs: args.epochs,
        threads: args.threads.max(1),
        quiet: args.quiet,
    };
    let history = cls_train::run(
        &hyper,
        &opts,
        &mut model,
        &train,
        (!val.is_empty()).then_some(&val),
        test.as_ref(),
        &mut |m, _| m.save(&args.out),
    )?;
    if let Some(test) = &test {
        let mut engine =
            cls_train::Engine::new(model.arch, 1, test.max_len(), args.threads.max(1))?;
        let confusion = engine.confusion(&model, test);
        if !args.quiet {
            println!("test set {}:", test.path.display());
            print!("{}", confusion.report());
        }
        if let Some(plot) = &args.plot {
            confusion.write_svg(plot, &file_name(&test.path))?;
        }
    } else if args.plot.is_some() {
        return Err(Error::Config(
            "--plot with --task classify draws the test set's confusion matrix: give --test".into(),
        ));
    }
    if !args.quiet {
        println!("model written to {}", args.out.display());
    }
    Ok(history)
}

/// `rnn-train eval` of a classifier: every sequence of `data` is classified by `rnn-core`'s
/// own `Classifier` (the code the firmware runs), and the predictions are compared with
/// the labels.
pub fn eval_classifier(model: &Path, data: &Path) -> Result<crate::metrics::Confusion> {
    use crate::cls_data::RawSet;
    let bytes = read_model_bytes(model)?;
    let err = core_err(model);
    let view = rnn_core::ModelView::parse(&bytes).map_err(&err)?;
    let net = rnn_core::Classifier::from_view(&view).map_err(&err)?;
    let classes: Vec<String> = view.classes().iter().map(String::from).collect();
    let vocab = view.vocab();
    let raw = RawSet::read(data)?;
    let mut confusion = crate::metrics::Confusion::new(classes.clone());
    let mut logits = vec![0.0f32; net.output_size()];
    let mut work = Vec::new();
    let class_of = |label: &str, line: usize| {
        classes
            .iter()
            .position(|c| c == label)
            .ok_or_else(|| Error::Parse {
                path: data.into(),
                line,
                reason: format!(
                    "label {label:?} is not one of the model's classes ({})",
                    classes.join(", ")
                ),
            })
    };
    let mut one = |steps: rnn_core::Steps<'_>, t_len: usize, truth: usize| -> Result<()> {
        work.resize(net.work_len(t_len), 0.0);
        net.classify(steps, &mut work, &mut logits).map_err(&err)?;
        confusion.add(truth, crate::classify::argmax(&logits));
        Ok(())
    };
    match &raw {
        RawSet::Text(t) => {
            if vocab.is_empty() {
                return Err(Error::Data {
                    path: data.into(),
                    reason:
                        "a label<TAB>text file, but the model reads feature vectors (.ts files)"
                            .into(),
                });
            }
            for e in &t.examples {
                let tokens = e
                    .text
                    .chars()
                    .map(|ch| {
                        vocab
                            .index_of(ch)
                            .ok()
                            .and_then(|k| u16::try_from(k).ok())
                            .ok_or_else(|| Error::UnknownChar {
                                path: data.into(),
                                line: e.line,
                                ch,
                                vocab: vocab.as_str().into(),
                            })
                    })
                    .collect::<Result<Vec<u16>>>()?;
                let truth = class_of(&e.label, e.line)?;
                one(rnn_core::Steps::Tokens(&tokens), tokens.len(), truth)?;
            }
        }
        RawSet::Series(s) => {
            if !vocab.is_empty() {
                return Err(Error::Data {
                    path: data.into(),
                    reason: "a .ts file, but the model reads characters (label<TAB>text files)"
                        .into(),
                });
            }
            if s.channels != net.input_size() {
                return Err(Error::Data {
                    path: data.into(),
                    reason: format!(
                        "{} channels, but the model reads {}",
                        s.channels,
                        net.input_size()
                    ),
                });
            }
            for c in &s.cases {
                let truth = class_of(&c.label, c.line)?;
                one(rnn_core::Steps::Dense(&c.values), c.len, truth)?;
            }
        }
    }
    Ok(confusion)
}

/// Whether the model file holds a classifier (every check of the reader applied).
pub fn is_classifier(model: &Path) -> Result<bool> {
    let bytes = read_model_bytes(model)?;
    let view = rnn_core::ModelView::parse(&bytes).map_err(core_err(model))?;
    Ok(view.header().task == rnn_core::Task::Classify)
}

/// The classifier part of `inspect` (after the lines every model gets).
fn inspect_classifier(model: &Path, bytes: &[u8], out: &mut dyn Write) -> Result<()> {
    let w =
        |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| Error::io("<stdout>", e));
    let m = crate::cls_train::Classifier::from_bytes(bytes, model)?;
    let a = m.arch;
    w(
        out,
        format!(
            "task: classify, {}",
            if a.bidirectional {
                "bidirectional (a forward and a backward stack)"
            } else {
                "unidirectional"
            }
        ),
    )?;
    w(
        out,
        format!(
            "sizes: input I = {}, hidden H = {}, classes O = {}",
            a.input, a.hidden, a.classes
        ),
    )?;
    w(out, format!("input: {}", m.input.describe()))?;
    let shapes: Vec<String> = a
        .tensors()
        .iter()
        .map(|t| match t.cols {
            Some(c) => format!("{} {}×{c}", t.name, t.rows),
            None => format!("{} {}", t.name, t.rows),
        })
        .collect();
    let norm = if matches!(m.input, crate::cls_data::InputSpec::Dense { .. }) {
        2 * a.input
    } else {
        0
    };
    w(
        out,
        format!(
            "parameters: {} ({}){}, {} bytes of weights",
            a.param_count(),
            shapes.join(", "),
            if norm > 0 {
                format!(", plus mean and scale {norm}")
            } else {
                String::new()
            },
            (a.param_count() + norm) * 4
        ),
    )?;
    let view = rnn_core::ModelView::parse(bytes).map_err(core_err(model))?;
    let net = rnn_core::Classifier::from_view(&view).map_err(core_err(model))?;
    w(
        out,
        format!(
            "run-time buffers: work {} floats for a 32-step sequence ({} per further step), logits {}",
            net.work_len(32),
            net.work_len(33) - net.work_len(32),
            net.output_size()
        ),
    )?;
    if let crate::cls_data::InputSpec::Chars(v) = &m.input {
        w(
            out,
            format!("vocab ({} symbols): {:?}", v.len(), v.as_string()),
        )?;
    }
    w(
        out,
        format!("classes ({}): {}", m.classes.len(), m.classes.join(", ")),
    )?;
    Ok(())
}

/// The last part of a path, for plot titles.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
