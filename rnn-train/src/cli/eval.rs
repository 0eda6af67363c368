//! `rnn-train eval`: a model scored on a data file by `rnn-core` itself (what the device
//! runs): the mean cross-entropy per character of a next-symbol model; the accuracy,
//! per-class precision, recall and F1 and the confusion matrix of a classifier or (per
//! step) a tagger, with a tagger's accuracy by steps since the class changed; RMSE and MAE
//! per target, in the targets' units, of a regression model.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{core_err, file_name, line, read_model_bytes};
use crate::data::Mode;
use crate::error::{Error, Result};

/// Next-symbol models: mean cross-entropy per predicted character (nats), as a number on
/// the last line. Classifiers: accuracy, per-class precision and recall, and the
/// confusion matrix, computed by rnn-core's own classifier (what the device runs).
#[derive(clap::Args, Debug)]
pub struct EvalCmd {
    #[arg(long)]
    pub model: PathBuf,
    /// Text (next-symbol models, classifiers of words), or a series file (.ts, .tsv, .txt,
    /// .arff: classifiers of feature vectors).
    #[arg(long)]
    pub data: PathBuf,
    /// Next-symbol models: lines (one sequence per line) or stream (one text).
    #[arg(long, value_enum, default_value_t = Mode::Lines)]
    pub mode: Mode,
    /// Classifiers and taggers: draw the confusion matrix to this SVG file; regression:
    /// predictions and truth over time.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Taggers and regression models: which columns of a CSV file are what (as for
    /// `train`; the label or targets are the model's own by default).
    #[command(flatten)]
    pub columns: super::train::ColumnArgs,
}

impl EvalCmd {
    pub fn run(&self, out: &mut dyn Write) -> Result<()> {
        let (model, data) = (&self.model, &self.data);
        let bytes = read_model_bytes(model)?;
        let task = rnn_core::ModelView::parse(&bytes)
            .map_err(core_err(model))?
            .header()
            .task;
        if matches!(task, rnn_core::Task::Tag | rnn_core::Task::Regress) {
            let trained = crate::nn::Model::from_bytes(&bytes, model)?;
            let columns = self.columns.for_model(&trained)?;
            let file = crate::data::steps::PerStepFile::read(data, task, &columns)?;
            let r = eval_per_step(&bytes, model, &file)?;
            let note = crate::data::missing::note(file.filled());
            line(out, format!("{}:{note}", data.display()))?;
            write!(out, "{}", r.text()).map_err(|e| Error::io("<stdout>", e))?;
            if let Some(plot) = &self.plot {
                r.write_svg(plot, &file_name(data))?;
            }
            return Ok(());
        }
        if self.columns.any() {
            return Err(Error::Config(
                "--inputs, --label, --targets and --group are for taggers and regression models"
                    .into(),
            ));
        }
        if is_classifier(model)? {
            let (c, filled) = eval_classifier(model, data)?;
            line(
                out,
                format!(
                    "{}: {} sequences{}",
                    data.display(),
                    c.total(),
                    crate::data::missing::note(filled)
                ),
            )?;
            write!(out, "{}", c.report()).map_err(|e| Error::io("<stdout>", e))?;
            if let Some(plot) = &self.plot {
                c.write_svg(plot, &file_name(data))?;
            }
            return Ok(());
        }
        if self.plot.is_some() {
            return Err(Error::Config(
                "--plot draws a classifier's confusion matrix; this is a next-symbol model".into(),
            ));
        }
        let r = eval(model, data, self.mode)?;
        line(
            out,
            format!(
                "{}: {} sequences, {} predicted characters; mean cross-entropy (nats/char):",
                data.display(),
                r.sequences,
                r.predicted_chars
            ),
        )?;
        line(out, format!("{:.6}", r.loss))
    }
}

/// Result of `rnn-train eval`.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalResult {
    pub sequences: usize,
    pub predicted_chars: usize,
    /// Mean cross-entropy per predicted character, in nats.
    pub loss: f64,
}

/// `rnn-train eval`: mean cross-entropy of the model (any kind, any depth, float or
/// quantized) on a text, computed with `rnn-core`'s `Network::step` or `QNetwork::step` (what the device runs) and an f64 log-softmax. Lines mode scores each line from a
/// zero state, ending with `'\n'`; stream mode runs the state through the whole text.
pub fn eval(model: &Path, data: &Path, mode: Mode) -> Result<EvalResult> {
    let bytes = read_model_bytes(model)?;
    let view = rnn_core::ModelView::parse(&bytes).map_err(core_err(model))?;
    let mut net = super::next_model::NextModel::new(&view, model)?;
    let seqs = super::next_model::read_sequences(view.vocab().as_str(), data, mode, model)?;
    let (loss, _) = super::next_model::score(&mut net, &seqs, model, |_| {})?;
    Ok(EvalResult {
        sequences: seqs.len(),
        predicted_chars: seqs.predicted_chars(),
        loss,
    })
}

/// `rnn-train eval` of a classifier: every sequence of `data` is classified by `rnn-core`'s
/// own `Classifier` (the code the firmware runs), and the predictions are compared with
/// the labels.
/// Returns the confusion matrix and how many missing values of `data` were filled.
pub fn eval_classifier(
    model: &Path,
    data: &Path,
) -> Result<(crate::io::metrics::Confusion, usize)> {
    use crate::data::RawSet;
    let bytes = read_model_bytes(model)?;
    let err = core_err(model);
    let view = rnn_core::ModelView::parse(&bytes).map_err(&err)?;
    if view.header().task != rnn_core::Task::Classify {
        return Err(err(rnn_core::Error::WrongTask {
            expected: rnn_core::Task::Classify,
            found: view.header().task,
        }));
    }
    let net = Runner::new(&view).map_err(&err)?;
    let classes: Vec<String> = view.classes().iter().map(String::from).collect();
    let vocab = view.vocab();
    let raw = RawSet::read(data)?;
    let mut confusion = crate::io::metrics::Confusion::new(classes.clone());
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
    let mut one = |steps: rnn_core::Steps<'_>, _t_len: usize, truth: usize| -> Result<()> {
        let logits = net.classify(steps).map_err(&err)?;
        confusion.add(truth, rnn_core::sample::argmax(&logits));
        Ok(())
    };
    match &raw {
        RawSet::Text(t) => {
            if vocab.is_empty() {
                return Err(Error::Data {
                    path: data.into(),
                    reason: crate::data::classes::TEXT_FOR_A_SERIES_MODEL.into(),
                });
            }
            for e in &t.examples {
                let tokens = tokens_of(&e.text, vocab, data, e.line)?;
                let truth = class_of(&e.label, e.line)?;
                one(rnn_core::Steps::Tokens(&tokens), tokens.len(), truth)?;
            }
        }
        RawSet::Series(s) => {
            if !vocab.is_empty() {
                return Err(Error::Data {
                    path: data.into(),
                    reason: crate::data::classes::SERIES_FOR_A_TEXT_MODEL.into(),
                });
            }
            let input = view.header().input as usize;
            if s.channels != input {
                return Err(Error::Data {
                    path: data.into(),
                    reason: format!("{} channels, but the model reads {input}", s.channels),
                });
            }
            for c in &s.cases {
                let truth = class_of(&c.label, c.line)?;
                one(rnn_core::Steps::Dense(&c.values), c.len, truth)?;
            }
        }
    }
    Ok((confusion, raw.filled()))
}

/// The symbol indices of `text` (line `line` of `path`) over a model's vocabulary; an
/// unknown character is an error naming the line.
pub(super) fn tokens_of(
    text: &str,
    vocab: rnn_core::Vocab<'_>,
    path: &Path,
    line: usize,
) -> Result<Vec<u16>> {
    text.chars()
        .map(|ch| {
            vocab
                .index_of(ch)
                .ok()
                .and_then(|k| u16::try_from(k).ok())
                .ok_or_else(|| Error::UnknownChar {
                    path: path.into(),
                    line,
                    ch,
                    vocab: vocab.as_str().into(),
                })
        })
        .collect()
}

/// Whether the model file holds a classifier (every check of the reader applied).
pub fn is_classifier(model: &Path) -> Result<bool> {
    let bytes = read_model_bytes(model)?;
    let view = rnn_core::ModelView::parse(&bytes).map_err(core_err(model))?;
    Ok(view.header().task == rnn_core::Task::Classify)
}

/// What `eval` measured on a tagging or regression model.
#[derive(Clone, Debug)]
pub enum PerStepReport {
    Tag {
        confusion: crate::io::metrics::Confusion,
        /// Accuracy by steps since the true class last changed.
        by_position: crate::io::metrics::ByPosition,
    },
    Regress(crate::io::metrics::Regression),
}

impl PerStepReport {
    /// What `eval` prints.
    pub fn text(&self) -> String {
        match self {
            PerStepReport::Tag {
                confusion,
                by_position,
            } => format!("per-step {}{}", confusion.report(), by_position.report()),
            PerStepReport::Regress(r) => r.report(),
        }
    }

    /// The picture `--plot` draws: the confusion matrix (tagging), or predictions and
    /// truth over time (regression).
    pub fn write_svg(&self, path: &Path, title: &str) -> Result<()> {
        match self {
            PerStepReport::Tag { confusion, .. } => confusion.write_svg(path, title),
            PerStepReport::Regress(r) => r.write_svg(path, title),
        }
    }
}

/// `eval` of a tagging or regression model (the file's `bytes`, from `model`): every
/// recording of `file` runs through `rnn-core` (what the device runs): step by step
/// through `Stream`, or whole through `Classifier::per_step` when it is bidirectional;
/// the answers are compared with the file's labels or targets (in their own units).
pub fn eval_per_step(
    bytes: &[u8],
    model: &Path,
    file: &crate::data::steps::PerStepFile,
) -> Result<PerStepReport> {
    use crate::data::csv::StepTargets;
    use crate::data::steps::PerStepFile;
    let err = core_err(model);
    let view = rnn_core::ModelView::parse(bytes).map_err(&err)?;
    let h = view.header();
    let names: Vec<String> = view.classes().iter().map(String::from).collect();
    let o = names.len();
    let runner = Runner::new(&view).map_err(&err)?;
    let path = file.path().to_path_buf();
    let class_of = |label: &str, line: usize| {
        names
            .iter()
            .position(|c| c == label)
            .ok_or_else(|| Error::Parse {
                path: path.clone(),
                line,
                reason: format!(
                    "label {label:?} is not one of the model's classes ({})",
                    names.join(", ")
                ),
            })
    };
    // Per recording: the model's outputs (T·O) and the truth (classes, or T·O values).
    let mut outputs: Vec<Vec<f32>> = Vec::new();
    let mut classes: Vec<Vec<usize>> = Vec::new();
    let mut values: Vec<Vec<f32>> = Vec::new();
    match file {
        PerStepFile::Csv(c) => {
            if !view.vocab().is_empty() {
                return Err(Error::Data {
                    path: path.clone(),
                    reason: "a CSV file, but the model reads characters (text<TAB>tags lines)"
                        .into(),
                });
            }
            if c.channels() != h.input as usize {
                return Err(Error::Data {
                    path: path.clone(),
                    reason: format!(
                        "{} input columns ({}), the model reads {}",
                        c.channels(),
                        c.inputs.join(", "),
                        h.input
                    ),
                });
            }
            for r in &c.recordings {
                match (&r.y, h.task) {
                    (StepTargets::Labels(l), rnn_core::Task::Tag) => classes.push(
                        l.iter()
                            .enumerate()
                            .map(|(k, s)| class_of(s, r.lines.get(k).copied().unwrap_or(r.line)))
                            .collect::<Result<_>>()?,
                    ),
                    (StepTargets::Values(v), rnn_core::Task::Regress)
                        if v.len() == r.x.len() / c.channels().max(1) * o =>
                    {
                        values.push(v.clone())
                    }
                    _ => {
                        return Err(Error::Data {
                            path: path.clone(),
                            reason: format!(
                                "the file's columns do not give what this {} model predicts \
                                 ({})",
                                h.task.name(),
                                names.join(", ")
                            ),
                        })
                    }
                }
                outputs.push(runner.run(rnn_core::Steps::Dense(&r.x)).map_err(&err)?);
            }
        }
        PerStepFile::Text(t) => {
            let vocab = view.vocab();
            if vocab.is_empty() || h.task != rnn_core::Task::Tag {
                return Err(Error::Data {
                    path: path.clone(),
                    reason: "text<TAB>tags lines, but the model is not a character tagger".into(),
                });
            }
            for e in &t.examples {
                let tokens = tokens_of(&e.text, vocab, &path, e.line)?;
                let tags: Vec<usize> = e
                    .tags
                    .iter()
                    .map(|t| class_of(&t.to_string(), e.line))
                    .collect::<Result<_>>()?;
                classes.push(tags);
                outputs.push(runner.run(rnn_core::Steps::Tokens(&tokens)).map_err(&err)?);
            }
        }
    }
    Ok(match h.task {
        rnn_core::Task::Tag => {
            let mut confusion = crate::io::metrics::Confusion::new(names);
            let mut by_position = crate::io::metrics::ByPosition::default();
            for (out, truth) in outputs.iter().zip(&classes) {
                let predicted: Vec<usize> =
                    out.chunks_exact(o).map(rnn_core::sample::argmax).collect();
                for (&y, &p) in truth.iter().zip(&predicted) {
                    confusion.add(y, p);
                }
                by_position.add(truth, &predicted);
            }
            PerStepReport::Tag {
                confusion,
                by_position,
            }
        }
        _ => {
            let mut r = crate::io::metrics::Regression::new(names);
            for (out, truth) in outputs.iter().zip(&values) {
                r.add(out, truth);
            }
            PerStepReport::Regress(r)
        }
    })
}

/// A whole-sequence or per-step model as `rnn-core` runs it: streaming (unidirectional
/// taggers and regression models) or whole-sequence (classifiers, bidirectional models),
/// float or quantized.
enum Runner<'a> {
    Stream(Box<rnn_core::Stream<'a, rnn_core::Column>>),
    Whole(Box<rnn_core::Classifier<'a, rnn_core::Column>>),
    QStream(Box<rnn_core::QNetwork<'a>>),
    QWhole(Box<rnn_core::QClassifier<'a>>),
}

/// The number of steps of a sequence of `input`-channel vectors or tokens.
fn steps_of(steps: rnn_core::Steps<'_>, input: usize) -> usize {
    match steps {
        rnn_core::Steps::Tokens(t) => t.len(),
        rnn_core::Steps::Dense(v) => v.len() / input.max(1),
    }
}

impl<'a> Runner<'a> {
    fn new(view: &rnn_core::ModelView<'a>) -> std::result::Result<Self, rnn_core::Error> {
        let h = view.header();
        let whole = h.bidirectional || h.task == rnn_core::Task::Classify;
        let columns = || super::column_buffer(view);
        Ok(match (h.quant.is_quantized(), whole) {
            (false, true) => {
                Runner::Whole(Box::new(rnn_core::Classifier::columns(view, columns()?)?))
            }
            (false, false) => {
                Runner::Stream(Box::new(rnn_core::Stream::columns(view, columns()?)?))
            }
            (true, true) => Runner::QWhole(Box::new(rnn_core::QClassifier::from_view(view)?)),
            (true, false) => Runner::QStream(Box::new(rnn_core::QNetwork::from_view(view)?)),
        })
    }

    /// A classifier's class scores for one sequence (Q12 logits as `f32` for a quantized
    /// model).
    fn classify(
        &self,
        steps: rnn_core::Steps<'_>,
    ) -> std::result::Result<Vec<f32>, rnn_core::Error> {
        match self {
            Runner::Whole(c) => {
                let t_len = steps_of(steps, c.input_size());
                let mut work = vec![0.0f32; c.work_len(t_len)];
                let mut logits = vec![0.0f32; c.output_size()];
                c.classify(steps, &mut work, &mut logits)?;
                Ok(logits)
            }
            Runner::QWhole(c) => {
                let t_len = steps_of(steps, c.header().input as usize);
                let mut work = vec![0i16; c.work_len(t_len)];
                let mut scratch = vec![0i32; c.scratch_len()];
                let mut q = vec![0i32; c.output_size()];
                c.classify(steps, &mut work, &mut scratch, &mut q)?;
                let mut logits = vec![0.0f32; q.len()];
                rnn_core::quant::network::logits_to_f32(&q, &mut logits);
                Ok(logits)
            }
            _ => Err(rnn_core::Error::WrongTask {
                expected: rnn_core::Task::Classify,
                found: rnn_core::Task::Tag,
            }),
        }
    }

    /// The outputs of every step of one recording (`T · O`), from a zero state.
    fn run(&self, steps: rnn_core::Steps<'_>) -> std::result::Result<Vec<f32>, rnn_core::Error> {
        match self {
            Runner::Whole(c) => {
                let t_len = steps_of(steps, c.input_size());
                let mut work = vec![0.0f32; c.per_step_work_len(t_len)];
                let mut out = vec![0.0f32; t_len * c.output_size()];
                c.per_step(steps, &mut work, &mut out)?;
                Ok(out)
            }
            Runner::QWhole(c) => {
                let t_len = steps_of(steps, c.header().input as usize);
                let mut work = vec![0i16; c.work_len(t_len)];
                let mut scratch = vec![0i32; c.scratch_len()];
                let mut q = vec![0i32; t_len * c.output_size()];
                c.per_step(steps, &mut work, &mut scratch, &mut q)?;
                let mut out = vec![0.0f32; q.len()];
                c.outputs_to_f32(&q, &mut out);
                Ok(out)
            }
            Runner::Stream(s) => {
                let mut state = vec![0.0f32; s.state_len()];
                let mut scratch = vec![0.0f32; s.scratch_len()];
                let o = s.output_size();
                let mut out = Vec::new();
                each_input(steps, s.input_size(), |x| {
                    let at = out.len();
                    out.resize(at + o, 0.0);
                    s.step(&mut state, x, &mut scratch, &mut out[at..])
                })?;
                Ok(out)
            }
            Runner::QStream(s) => {
                let mut state = vec![0i16; s.state_len()];
                let mut scratch = vec![0i32; s.scratch_len()];
                let mut xq = vec![0i16; s.input_size()];
                let mut q = vec![0i32; s.output_size()];
                let mut out = Vec::new();
                each_input(steps, s.input_size(), |x| {
                    s.step_input(&mut state, x, &mut xq, &mut scratch, &mut q)?;
                    let at = out.len();
                    out.resize(at + q.len(), 0.0);
                    s.outputs_to_f32(&q, &mut out[at..]);
                    Ok(())
                })?;
                Ok(out)
            }
        }
    }
}

/// Calls `f` with every step of a sequence as a step input.
fn each_input(
    steps: rnn_core::Steps<'_>,
    input: usize,
    mut f: impl FnMut(rnn_core::Input<'_>) -> std::result::Result<(), rnn_core::Error>,
) -> std::result::Result<(), rnn_core::Error> {
    match steps {
        rnn_core::Steps::Tokens(t) => t
            .iter()
            .try_for_each(|&k| f(rnn_core::Input::Token(usize::from(k)))),
        rnn_core::Steps::Dense(v) => v
            .chunks(input.max(1))
            .try_for_each(|x| f(rnn_core::Input::Dense(x))),
    }
}
