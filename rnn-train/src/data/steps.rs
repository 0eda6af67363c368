//! Per-step data (tagging, regression): recordings read from a CSV file ([`super::csv`]) or
//! a `text<TAB>tags` file ([`super::tagged`]), encoded for a model ([`Recordings`]), split
//! into training and validation parts, and cut into the examples the engine trains on
//! ([`StepData`]).
//!
//! A recording shorter than `--seq-len` steps is one example. Longer ones are cut into
//! windows of `--seq-len` steps for truncated BPTT, with the state carried from one window
//! to the next of the same recording, as `--mode stream` does for text: the training set
//! is dealt into `--batch` lanes (parallel streams of whole recordings, the longest
//! first, each to the lane with the fewest steps so far; a single long recording is cut
//! into as many pieces first), and minibatch `j` is window `j` of every lane. A
//! bidirectional model reads every recording whole: its backward stack cannot carry a
//! state from the future.
//!
//! The validation part is a seeded random choice of recordings when there are at least
//! [`MIN_RECORDINGS_TO_PICK`]; with fewer, the last `--val-split` of every recording's
//! steps (so one long recording still gets a validation tail).

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::csv::{Columns, CsvData, StepTargets};
use super::tagged::TaggedText;
use super::{Examples, Vocab};
use crate::error::{Error, Result};
use crate::nn::{Example, InputSpec, Model, Norm, SeqInput, TargetStats, Targets, Task};

/// Below this many recordings the validation part is the tail of each one.
pub const MIN_RECORDINGS_TO_PICK: usize = 10;

/// Recordings encoded for a model: inputs (symbol indices or normalised values) and
/// targets (class indices or normalised values), all recordings one after the other.
#[derive(Clone, Debug, Default)]
pub struct Recordings {
    pub path: PathBuf,
    tokens: Vec<u32>,
    /// Normalised inputs, `channels` per step (dense inputs).
    values: Vec<f32>,
    /// 0 for one-hot inputs.
    channels: usize,
    /// The class of every step (tagging).
    labels: Vec<u32>,
    /// Normalised targets, `targets` per step (regression; 0 for tagging).
    y: Vec<f32>,
    targets: usize,
    /// Each recording's steps.
    pub spans: Vec<Range<usize>>,
    /// 1-based line of each recording's first step.
    pub lines: Vec<usize>,
}

impl Recordings {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Steps over all recordings.
    pub fn steps(&self) -> usize {
        self.spans.iter().map(|r| r.len()).sum()
    }

    /// The normalised targets of every step (regression), `targets` per step.
    pub fn targets(&self) -> &[f32] {
        &self.y
    }

    /// Steps `r` (of the whole set) as the first layer reads them.
    pub fn input(&self, r: Range<usize>) -> SeqInput<'_> {
        if self.channels == 0 {
            SeqInput::Tokens(&self.tokens[r])
        } else {
            let c = self.channels;
            SeqInput::Dense {
                values: &self.values[r.start * c..r.end * c],
                channels: c,
            }
        }
    }

    /// Steps `r` as an example.
    pub fn example(&self, r: Range<usize>) -> Example<'_> {
        let o = self.targets;
        let y = if o == 0 {
            Targets::EveryStep(&self.labels[r.clone()])
        } else {
            Targets::Values(&self.y[r.start * o..r.end * o])
        };
        Example {
            x: self.input(r),
            y,
        }
    }

    /// Appends steps `r` of `from` as a recording that starts at `line`.
    fn push(&mut self, from: &Recordings, r: Range<usize>, line: usize) {
        let start = self.steps();
        if from.channels == 0 {
            self.tokens.extend_from_slice(&from.tokens[r.clone()]);
        } else {
            let c = from.channels;
            self.values
                .extend_from_slice(&from.values[r.start * c..r.end * c]);
        }
        if from.targets == 0 {
            self.labels.extend_from_slice(&from.labels[r.clone()]);
        } else {
            let o = from.targets;
            self.y.extend_from_slice(&from.y[r.start * o..r.end * o]);
        }
        self.spans.push(start..start + r.len());
        self.lines.push(line);
    }

    /// An empty set of the same shape.
    fn empty_like(&self) -> Recordings {
        Recordings {
            path: self.path.clone(),
            channels: self.channels,
            targets: self.targets,
            ..Recordings::default()
        }
    }

    /// Splits into training and validation parts (see the module documentation).
    pub fn split(&self, val_split: f64, seed: u64) -> (Recordings, Recordings) {
        let (mut train, mut val) = (self.empty_like(), self.empty_like());
        if self.len() >= MIN_RECORDINGS_TO_PICK {
            let (t, v) = super::split_indices(self.len(), val_split, seed);
            for (set, idx) in [(&mut train, t), (&mut val, v)] {
                for k in idx {
                    set.push(self, self.spans[k].clone(), self.lines[k]);
                }
            }
        } else {
            for (r, &line) in self.spans.iter().zip(&self.lines) {
                let n_val = ((r.len() as f64) * val_split).round() as usize;
                // Keep at least one training step in every recording.
                let n_val = n_val.min(r.len().saturating_sub(1));
                let cut = r.end - n_val;
                train.push(self, r.start..cut, line);
                if n_val > 0 {
                    val.push(self, cut..r.end, line + (cut - r.start));
                }
            }
        }
        (train, val)
    }
}

/// The input encoding learned from a training CSV file: every channel normalised.
pub fn dense_spec(csv: &CsvData) -> InputSpec {
    let c = csv.channels();
    let rows = csv.recordings.iter().flat_map(|r| r.x.chunks_exact(c));
    InputSpec::Dense {
        channels: c,
        norm: Some(Norm::of(rows, c)),
    }
}

/// The character vocabulary of a training `text<TAB>tags` file, sorted.
pub fn text_spec(t: &TaggedText) -> Result<InputSpec> {
    let mut symbols: Vec<char> = t.examples.iter().flat_map(|e| e.text.chars()).collect();
    symbols.sort_unstable();
    symbols.dedup();
    let s: String = symbols.into_iter().collect();
    let vocab = Vocab::from_symbols(&s).map_err(|reason| Error::Data {
        path: t.path.clone(),
        reason,
    })?;
    Ok(InputSpec::Chars(vocab))
}

/// The classes of a training file's tags, in output order.
pub fn csv_classes(csv: &CsvData) -> Vec<String> {
    let labels = csv.recordings.iter().flat_map(|r| match &r.y {
        StepTargets::Labels(l) => l.as_slice(),
        _ => &[],
    });
    super::classes::class_order(labels.map(String::as_str))
}

/// The tag characters of a training `text<TAB>tags` file, sorted.
pub fn text_classes(t: &TaggedText) -> Vec<String> {
    let mut tags: Vec<char> = t.examples.iter().flat_map(|e| e.tags.clone()).collect();
    tags.sort_unstable();
    tags.dedup();
    tags.into_iter().map(String::from).collect()
}

/// The target statistics of a training CSV file (regression).
pub fn target_stats(csv: &CsvData) -> TargetStats {
    let o = csv.outputs.len();
    let all: Vec<f32> = csv
        .recordings
        .iter()
        .flat_map(|r| match &r.y {
            StepTargets::Values(v) => v.as_slice(),
            _ => &[],
        })
        .copied()
        .collect();
    TargetStats::of(&all, o)
}

/// What a model needs to encode a file: its input, its classes (tagging) or its target
/// statistics (regression).
pub struct Encoding<'a> {
    pub input: &'a InputSpec,
    pub classes: &'a [String],
    pub targets: Option<&'a TargetStats>,
}

/// A CSV file encoded for a model: the inputs normalised as the model does, labels turned
/// into class indices (an unknown label is an error naming its line), targets normalised.
pub fn encode_csv(csv: &CsvData, enc: &Encoding<'_>) -> Result<Recordings> {
    let InputSpec::Dense { channels, norm } = enc.input else {
        return Err(Error::Data {
            path: csv.path.clone(),
            reason: "this model reads characters; a CSV file has numeric columns (use a \
                     text<TAB>tags file)"
                .into(),
        });
    };
    if csv.channels() != *channels {
        return Err(Error::Data {
            path: csv.path.clone(),
            reason: format!(
                "{} input columns ({}), the model reads {channels}",
                csv.channels(),
                csv.inputs.join(", ")
            ),
        });
    }
    let mut out = Recordings {
        path: csv.path.clone(),
        channels: *channels,
        targets: enc.targets.map_or(0, |t| t.mean.len()),
        ..Recordings::default()
    };
    for r in &csv.recordings {
        let start = out.steps();
        let mut x = r.x.clone();
        if let Some(n) = norm {
            for row in x.chunks_exact_mut(*channels) {
                for ((v, m), s) in row.iter_mut().zip(&n.mean).zip(&n.scale) {
                    *v = (*v - m) * s;
                }
            }
        }
        let t_len = x.len() / channels.max(&1);
        out.values.extend_from_slice(&x);
        match (&r.y, enc.targets) {
            (StepTargets::Labels(labels), None) => {
                for (k, label) in labels.iter().enumerate() {
                    let Some(c) = enc.classes.iter().position(|c| c == label) else {
                        return Err(Error::Parse {
                            path: csv.path.clone(),
                            line: r.lines.get(k).copied().unwrap_or(r.line),
                            reason: format!(
                                "label {label:?} is not one of the model's classes ({})",
                                enc.classes.join(", ")
                            ),
                        });
                    };
                    out.labels.push(c as u32);
                }
            }
            (StepTargets::Values(v), Some(stats)) => {
                let mut v = v.clone();
                stats.normalize(&mut v);
                out.y.extend_from_slice(&v);
            }
            _ => {
                return Err(Error::Data {
                    path: csv.path.clone(),
                    reason: "the file's columns do not give what this model predicts".into(),
                })
            }
        }
        out.spans.push(start..start + t_len);
        out.lines.push(r.line);
    }
    Ok(out)
}

/// A `text<TAB>tags` file encoded for a model: characters over its vocabulary, tags as
/// class indices (an unknown character or tag is an error naming its line).
pub fn encode_text(t: &TaggedText, input: &InputSpec, classes: &[String]) -> Result<Recordings> {
    let Some(vocab) = input.vocab() else {
        return Err(Error::Data {
            path: t.path.clone(),
            reason: "this model reads dense vectors; give it a CSV file".into(),
        });
    };
    let mut out = Recordings {
        path: t.path.clone(),
        ..Recordings::default()
    };
    for e in &t.examples {
        let start = out.steps();
        for (ch, tag) in e.text.chars().zip(&e.tags) {
            let token = vocab.index_of(ch).ok_or_else(|| Error::UnknownChar {
                path: t.path.clone(),
                line: e.line,
                ch,
                vocab: vocab.as_string(),
            })?;
            let class = classes
                .iter()
                .position(|c| c.chars().eq([*tag]))
                .ok_or_else(|| Error::Parse {
                    path: t.path.clone(),
                    line: e.line,
                    reason: format!(
                        "tag {tag:?} is not one of the model's tags ({})",
                        classes.concat()
                    ),
                })?;
            out.tokens.push(token);
            out.labels.push(class as u32);
        }
        out.spans.push(start..out.tokens.len());
        out.lines.push(e.line);
    }
    Ok(out)
}

/// Examples cut from recordings: whole recordings, windows in order, or windows dealt
/// into lanes (empty windows pad lanes that run out).
#[derive(Clone, Debug)]
pub struct StepData {
    pub rec: Recordings,
    /// Each example's steps (empty: padding).
    windows: Vec<Range<usize>>,
    /// Whether each example starts a recording (its state starts at zero).
    fresh: Vec<bool>,
}

impl StepData {
    /// One example per recording.
    pub fn whole(rec: Recordings) -> Self {
        let windows = rec.spans.clone();
        let fresh = vec![true; windows.len()];
        StepData {
            rec,
            windows,
            fresh,
        }
    }

    /// Every recording cut into windows of `seq_len` steps, in order (for scoring with
    /// the state carried).
    pub fn windows(rec: Recordings, seq_len: usize) -> Self {
        let (mut windows, mut fresh) = (Vec::new(), Vec::new());
        for r in &rec.spans {
            for (k, w) in cut(r.clone(), seq_len).enumerate() {
                windows.push(w);
                fresh.push(k == 0);
            }
        }
        StepData {
            rec,
            windows,
            fresh,
        }
    }

    /// The windows dealt into `lanes` parallel streams; returns the set, laid out lane
    /// after lane (example `s · W + j` is window `j` of lane `s`), and `W`, the windows
    /// per lane.
    pub fn lanes(rec: Recordings, seq_len: usize, lanes: usize) -> (Self, usize) {
        let seq_len = seq_len.max(1);
        let lanes = lanes.max(1);
        // Pieces: the recordings, the longest cut in two (at a window boundary) while
        // there are fewer pieces than lanes and it spans at least two windows.
        let mut pieces: Vec<Range<usize>> = rec.spans.clone();
        while pieces.len() < lanes {
            let Some((k, _)) = pieces
                .iter()
                .enumerate()
                .filter(|(_, p)| p.len() >= 2 * seq_len)
                .max_by_key(|(k, p)| (p.len(), usize::MAX - k))
            else {
                break;
            };
            let p = pieces[k].clone();
            let mid = p.start + (p.len() / seq_len).div_ceil(2) * seq_len;
            pieces[k] = p.start..mid;
            pieces.insert(k + 1, mid..p.end);
        }
        // Longest first, each to the least loaded lane (ties: the lower one).
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        order.sort_by_key(|&k| (usize::MAX - pieces[k].len(), k));
        let mut load = vec![0usize; lanes];
        let mut assigned: Vec<Vec<usize>> = vec![Vec::new(); lanes];
        for k in order {
            let lane = (0..lanes).min_by_key(|&l| (load[l], l)).unwrap_or(0);
            load[lane] += pieces[k].len().div_ceil(seq_len) * seq_len;
            assigned[lane].push(k);
        }
        // Within a lane, pieces in file order.
        let per_lane: Vec<Vec<(Range<usize>, bool)>> = assigned
            .iter_mut()
            .map(|ks| {
                ks.sort_unstable();
                ks.iter()
                    .flat_map(|&k| cut(pieces[k].clone(), seq_len).enumerate())
                    .map(|(j, w)| (w, j == 0))
                    .collect()
            })
            .collect();
        let wps = per_lane.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let (mut windows, mut fresh) = (Vec::new(), Vec::new());
        for lane in &per_lane {
            for j in 0..wps {
                let (w, f) = lane.get(j).cloned().unwrap_or((0..0, true));
                windows.push(w);
                fresh.push(f);
            }
        }
        (
            StepData {
                rec,
                windows,
                fresh,
            },
            wps,
        )
    }
}

/// `r` in windows of `seq_len` steps (the last one shorter).
fn cut(r: Range<usize>, seq_len: usize) -> impl Iterator<Item = Range<usize>> {
    let seq_len = seq_len.max(1);
    (r.start..r.end)
        .step_by(seq_len)
        .map(move |s| s..(s + seq_len).min(r.end))
}

impl Examples for StepData {
    fn len(&self) -> usize {
        self.windows.len()
    }

    fn example(&self, k: usize) -> Example<'_> {
        self.rec.example(self.windows[k].clone())
    }

    fn starts_recording(&self, k: usize) -> bool {
        self.fresh[k]
    }

    fn predictions(&self, k: usize) -> usize {
        self.windows[k].len()
    }
}

/// A per-step training or test file: CSV, or for tagging `text<TAB>tags` lines.
pub enum PerStepFile {
    Csv(CsvData),
    Text(TaggedText),
}

impl PerStepFile {
    /// A `.csv` file (any case), or for tagging anything else as `text<TAB>tags`.
    pub fn read(path: &Path, task: Task, columns: &Columns) -> Result<Self> {
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv || task == Task::Regress {
            Ok(PerStepFile::Csv(super::csv::read(path, columns)?))
        } else {
            if columns.inputs.is_some() || columns.group.is_some() {
                return Err(Error::Config(format!(
                    "--inputs and --group are for CSV files; {} is read as \
                     text<TAB>tags lines (name it .csv for a CSV file)",
                    path.display()
                )));
            }
            Ok(PerStepFile::Text(super::tagged::read(path)?))
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            PerStepFile::Csv(c) => &c.path,
            PerStepFile::Text(t) => &t.path,
        }
    }

    /// How many missing input cells were filled ([`super::missing`]).
    pub fn filled(&self) -> usize {
        match self {
            PerStepFile::Csv(c) => c.filled,
            PerStepFile::Text(_) => 0,
        }
    }

    /// What a new model learns from its training file: the input encoding, the classes
    /// or target names, and the target statistics.
    pub fn learn(&self, task: Task) -> Result<(InputSpec, Vec<String>, Option<TargetStats>)> {
        Ok(match self {
            PerStepFile::Csv(c) if task == Task::Regress => {
                (dense_spec(c), c.outputs.clone(), Some(target_stats(c)))
            }
            PerStepFile::Csv(c) => (dense_spec(c), csv_classes(c), None),
            PerStepFile::Text(t) => (text_spec(t)?, text_classes(t), None),
        })
    }

    /// The file encoded for `model` (inputs and targets normalised as it was trained).
    pub fn encode(&self, model: &Model) -> Result<Recordings> {
        match self {
            PerStepFile::Csv(c) => encode_csv(
                c,
                &Encoding {
                    input: &model.input,
                    classes: &model.classes,
                    targets: model.targets.as_ref(),
                },
            ),
            PerStepFile::Text(t) => encode_text(t, &model.input, &model.classes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recordings(lens: &[usize]) -> Recordings {
        let mut r = Recordings {
            channels: 1,
            targets: 1,
            ..Recordings::default()
        };
        for &n in lens {
            let start = r.steps();
            r.values.extend((0..n).map(|t| t as f32));
            r.y.extend((0..n).map(|t| t as f32));
            r.spans.push(start..start + n);
            r.lines.push(2 + start);
        }
        r
    }

    #[test]
    fn lanes_cover_every_step_once_and_start_recordings_fresh() {
        for (lens, seq_len, lanes) in [
            (vec![95], 10, 4),
            (vec![5, 30, 12, 7, 40], 8, 3),
            (vec![3], 10, 8),
        ] {
            let rec = recordings(&lens);
            let total = rec.steps();
            let (d, wps) = StepData::lanes(rec, seq_len, lanes);
            assert_eq!(d.len(), lanes * wps);
            let mut seen = vec![0; total];
            for k in 0..d.len() {
                let w = d.windows[k].clone();
                assert!(w.len() <= seq_len);
                seen[w.clone()].iter_mut().for_each(|s| *s += 1);
                // A window that continues a piece follows the previous window of its lane.
                if !d.fresh[k] {
                    assert_eq!(d.windows[k - 1].end, w.start, "{lens:?} window {k}");
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{lens:?}");
            // Every recording's first step opens a fresh window.
            let starts: Vec<usize> = d.rec.spans.iter().map(|r| r.start).collect();
            for k in 0..d.len() {
                if starts.contains(&d.windows[k].start) && !d.windows[k].is_empty() {
                    assert!(d.fresh[k]);
                }
            }
        }
    }

    #[test]
    fn a_long_recording_is_cut_for_every_lane() {
        let (d, wps) = StepData::lanes(recordings(&[400]), 10, 4);
        assert_eq!(wps, 10);
        assert_eq!(d.windows.iter().filter(|w| !w.is_empty()).count(), 40);
    }

    #[test]
    fn few_recordings_give_a_validation_tail() {
        let (t, v) = recordings(&[100, 10]).split(0.1, 1);
        assert_eq!(t.spans, vec![0..90, 90..99]);
        assert_eq!(v.spans, vec![0..10, 10..11]);
        assert_eq!(v.targets()[0], 90.0);
        let (t, v) = recordings(&[5; 20]).split(0.1, 1);
        assert_eq!((t.len(), v.len()), (18, 2));
    }
}
