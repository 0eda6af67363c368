//! Classification data: a training or test file turned into sequences and class indices.
//!
//! The kind of input is chosen by the file name: `*.ts` is a UEA/UCR time-series file
//! ([`super::ts`]) of dense feature vectors, as are `*.tsv` and `*.arff` (the archive's
//! other forms, [`super::ucr`], [`super::arff`]), anything else a `label<TAB>text` file
//! ([`super::labeled`]) read one character at a time (one-hot).
//!
//! What the model learns from the training file alone, and applies unchanged to every
//! other file:
//! - **classes**: for `.ts`, the labels of `@classLabel` in the file's order (or, without
//!   that header, the labels sorted); for text, the labels sorted (byte order), so the
//!   order of the lines does not matter;
//! - **characters** (text): every character of the training texts, sorted by code point;
//!   the input is one-hot over them;
//! - **normalisation** (`.ts`): per channel, the mean and standard deviation of all time
//!   steps of all training cases (population formula, in f64); the network reads
//!   `(x - mean) · scale` with `scale = 1/std` (1 for a constant channel), computed in f32,
//!   exactly the operation `rnn-core` runs on the device.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::arff;
use super::labeled::{self, LabeledText};
use super::ts::{self, TsFile};
use super::ucr;
use super::Vocab;
use crate::error::{Error, Result};
use crate::nn::{Example, InputSpec, Norm, SeqInput, Targets};

/// What reading a text file for a model of series says (and `eval`).
pub const TEXT_FOR_A_SERIES_MODEL: &str =
    "a label<TAB>text file, but the model reads feature vectors (.ts, .tsv, .txt or .arff files)";
/// What reading a series file for a model of characters says (and `eval`).
pub const SERIES_FOR_A_TEXT_MODEL: &str =
    "a series file, but the model reads characters (label<TAB>text files)";

/// A file of labelled sequences as read, before encoding.
#[derive(Clone, Debug)]
pub enum RawSet {
    Text(LabeledText),
    Series(TsFile),
}

/// Whether a path is read as a `.ts` time-series file.
pub fn is_ts(path: &Path) -> bool {
    has_extension(path, "ts")
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

impl RawSet {
    /// Reads `path` by its extension: `.ts` (UEA/UCR time series), `.tsv` (the UCR
    /// archive's tab-separated series), `.arff` (the archive's ARFF), anything else
    /// `label<TAB>text` lines, unless its every line is numbers only, which is the UCR
    /// archive's older `.txt` form ([`super::ucr`]).
    pub fn read(path: &Path) -> Result<Self> {
        if is_ts(path) {
            return Ok(RawSet::Series(ts::read(path)?));
        }
        if has_extension(path, "tsv") {
            return Ok(RawSet::Series(ucr::read(path, ucr::Form::Tsv)?));
        }
        if has_extension(path, "arff") {
            return Ok(RawSet::Series(arff::read(path)?));
        }
        let text = super::read_text(path)?;
        if ucr::looks_like_txt(&text.text) {
            Ok(RawSet::Series(ucr::parse(
                &text.text,
                path,
                ucr::Form::Txt,
            )?))
        } else {
            Ok(RawSet::Text(labeled::parse(&text.text, path)?))
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            RawSet::Text(t) => &t.path,
            RawSet::Series(s) => &s.path,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            RawSet::Text(t) => t.examples.len(),
            RawSet::Series(s) => s.cases.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn labels(&self) -> Vec<&str> {
        match self {
            RawSet::Text(t) => t.examples.iter().map(|e| e.label.as_str()).collect(),
            RawSet::Series(s) => s.cases.iter().map(|c| c.label.as_str()).collect(),
        }
    }

    /// The classes a model trained on this file predicts (see the module documentation;
    /// labels that are all numbers are sorted as numbers, so `2` comes before `10`).
    pub fn classes(&self) -> Vec<String> {
        if let RawSet::Series(s) = self {
            if !s.class_labels.is_empty() {
                return s.class_labels.clone();
            }
        }
        class_order(self.labels().into_iter())
    }

    /// Normalises every sequence of a series file per channel by its own mean and
    /// standard deviation, with `rnn-core`'s own function (what a model with per-sequence
    /// normalisation does first on the device); a text file is left as it is.
    pub fn normalize_each_sequence(&mut self) {
        if let RawSet::Series(s) = self {
            let c = s.channels;
            let (mut mean, mut inv) = (vec![0.0f32; c], vec![0.0f32; c]);
            for case in &mut s.cases {
                rnn_core::classify::sequence_moments(&case.values, c, &mut mean, &mut inv);
                for step in case.values.chunks_exact_mut(c.max(1)) {
                    for ((x, m), s) in step.iter_mut().zip(&mean).zip(&inv) {
                        *x = (*x - m) * s;
                    }
                }
            }
        }
    }

    /// How many missing values of a series file were filled ([`super::missing`]).
    pub fn filled(&self) -> usize {
        match self {
            RawSet::Text(_) => 0,
            RawSet::Series(s) => s.filled,
        }
    }

    /// Whether the file holds series (dense vectors) rather than text.
    pub fn is_series(&self) -> bool {
        matches!(self, RawSet::Series(_))
    }

    /// The input encoding learned from this (training) file.
    pub fn input_spec(&self) -> Result<InputSpec> {
        Ok(match self {
            RawSet::Text(t) => {
                let all: String = t.examples.iter().map(|e| e.text.as_str()).collect();
                let mut symbols: Vec<char> = all.chars().collect();
                symbols.sort_unstable();
                symbols.dedup();
                let s: String = symbols.into_iter().collect();
                InputSpec::Chars(Vocab::from_symbols(&s).map_err(|reason| Error::Data {
                    path: t.path.clone(),
                    reason,
                })?)
            }
            RawSet::Series(s) => {
                let c = s.channels;
                let rows = s.cases.iter().flat_map(|case| case.values.chunks_exact(c));
                InputSpec::Dense {
                    channels: c,
                    norm: Some(Norm::of(rows, c)),
                }
            }
        })
    }
}

/// The distinct labels in the order a model's outputs take them: sorted, and when all are
/// numbers sorted as numbers, so `2` comes before `10`.
pub fn class_order<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = labels.map(str::to_string).collect();
    names.sort();
    names.dedup();
    let numbers: Option<Vec<f64>> = names.iter().map(|n| n.parse().ok()).collect();
    if let Some(numbers) = numbers {
        let mut pairs: Vec<(f64, String)> = numbers.into_iter().zip(names).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        names = pairs.into_iter().map(|p| p.1).collect();
    }
    names
}

/// Encoded sequences with their class indices.
#[derive(Clone, Debug)]
pub struct ClsData {
    pub path: PathBuf,
    /// Characters (tokens) or normalised values, all sequences one after the other.
    tokens: Vec<u32>,
    values: Vec<f32>,
    channels: usize,
    /// Per sequence: its steps in `tokens` (or its rows of `values`).
    pub spans: Vec<Range<usize>>,
    pub labels: Vec<u32>,
    /// 1-based line of each sequence in its file.
    pub lines: Vec<usize>,
}

impl ClsData {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Sequence `k` as the first layer reads it.
    pub fn get(&self, k: usize) -> SeqInput<'_> {
        let r = self.spans[k].clone();
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

    /// Sequence `k` and its class, as the network reads them.
    pub fn example(&self, k: usize) -> Example<'_> {
        Example {
            x: self.get(k),
            y: Targets::Final(self.labels[k] as usize),
        }
    }

    /// The longest sequence, in steps.
    pub fn max_len(&self) -> usize {
        self.spans.iter().map(|r| r.len()).max().unwrap_or(1)
    }

    /// The sequences `idx` (in that order) as a set of their own.
    pub fn subset(&self, idx: &[usize]) -> ClsData {
        let mut out = ClsData {
            path: self.path.clone(),
            tokens: Vec::new(),
            values: Vec::new(),
            channels: self.channels,
            spans: Vec::new(),
            labels: Vec::new(),
            lines: Vec::new(),
        };
        for &k in idx {
            let r = self.spans[k].clone();
            let start = out.spans.last().map_or(0, |s| s.end);
            if self.channels == 0 {
                out.tokens.extend_from_slice(&self.tokens[r.clone()]);
            } else {
                let c = self.channels;
                out.values
                    .extend_from_slice(&self.values[r.start * c..r.end * c]);
            }
            out.spans.push(start..start + r.len());
            out.labels.push(self.labels[k]);
            out.lines.push(self.lines[k]);
        }
        out
    }
}

/// Splits a training set into training and validation parts, stratified by class
/// ([`super::stratified_split`]).
pub fn split(all: &ClsData, val_split: f64, seed: u64) -> (ClsData, ClsData) {
    let (train, val) = super::stratified_split(&all.labels, val_split, seed);
    (all.subset(&train), all.subset(&val))
}

/// Encodes `raw` for a model with inputs `spec` and classes `classes`: a label the model
/// does not know, a character outside its vocabulary, the other kind of file, or a wrong
/// number of channels is an error naming the file (and line).
pub fn encode(raw: &RawSet, spec: &InputSpec, classes: &[String]) -> Result<ClsData> {
    let path = raw.path().to_path_buf();
    let class_of = |label: &str, line: usize| -> Result<u32> {
        classes
            .iter()
            .position(|c| c == label)
            .map(|k| k as u32)
            .ok_or_else(|| Error::Parse {
                path: path.clone(),
                line,
                reason: format!(
                    "label {label:?} is not one of the model's classes ({})",
                    classes.join(", ")
                ),
            })
    };
    let mut data = ClsData {
        path: path.clone(),
        tokens: Vec::new(),
        values: Vec::new(),
        channels: 0,
        spans: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
    };
    match (raw, spec) {
        (RawSet::Text(t), InputSpec::Chars(vocab)) => {
            for e in &t.examples {
                let start = data.tokens.len();
                for ch in e.text.chars() {
                    let k = vocab.index_of(ch).ok_or_else(|| Error::UnknownChar {
                        path: path.clone(),
                        line: e.line,
                        ch,
                        vocab: vocab.as_string(),
                    })?;
                    data.tokens.push(k);
                }
                data.spans.push(start..data.tokens.len());
                data.labels.push(class_of(&e.label, e.line)?);
                data.lines.push(e.line);
            }
        }
        (RawSet::Series(s), InputSpec::Dense { channels, norm }) => {
            let c = *channels;
            if s.channels != c {
                return Err(Error::Data {
                    path,
                    reason: format!("{} channels, but the model reads {c}", s.channels),
                });
            }
            data.channels = c;
            for case in &s.cases {
                let start = data.values.len() / c;
                for step in case.values.chunks_exact(c) {
                    match norm {
                        Some(n) => data
                            .values
                            .extend((0..c).map(|k| (step[k] - n.mean[k]) * n.scale[k])),
                        None => data.values.extend_from_slice(step),
                    }
                }
                data.spans.push(start..start + case.len);
                data.labels.push(class_of(&case.label, case.line)?);
                data.lines.push(case.line);
            }
        }
        (RawSet::Text(_), InputSpec::Dense { .. }) => {
            return Err(Error::Data {
                path,
                reason: TEXT_FOR_A_SERIES_MODEL.into(),
            })
        }
        (RawSet::Series(_), InputSpec::Chars(_)) => {
            return Err(Error::Data {
                path,
                reason: SERIES_FOR_A_TEXT_MODEL.into(),
            })
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_is_learned_on_the_training_file() {
        let f = ts::parse(
            "@dimensions 2\n@classLabel true b a\n@data\n1,3:10,10:a\n5:10:b\n",
            Path::new("t.ts"),
        )
        .unwrap();
        let raw = RawSet::Series(f);
        assert_eq!(raw.classes(), vec!["b", "a"]);
        let spec = raw.input_spec().unwrap();
        let InputSpec::Dense {
            norm: Some(Norm { mean, scale }),
            ..
        } = &spec
        else {
            panic!("dense expected")
        };
        // Channel 0: 1, 3, 5 → mean 3, std √(8/3); channel 1 constant → scale 1.
        assert_eq!(mean, &vec![3.0, 10.0]);
        assert!((scale[0] - (3.0f32 / 8.0).sqrt()).abs() < 1e-6);
        assert_eq!(scale[1], 1.0);
        let d = encode(&raw, &spec, &raw.classes()).unwrap();
        assert_eq!(d.labels, vec![1, 0]);
        let SeqInput::Dense { values, channels } = d.get(0) else {
            panic!()
        };
        assert_eq!(channels, 2);
        assert_eq!(values.len(), 4);
        assert!((values[0] + 2.0 * scale[0]).abs() < 1e-6 && values[1] == 0.0);
        let sub = d.subset(&[1]);
        assert_eq!((sub.len(), sub.labels[0], sub.get(0).len()), (1, 0, 1));
    }

    #[test]
    fn text_classes_are_sorted_and_unknowns_name_the_line() {
        let train =
            RawSet::Text(labeled::parse("es\tcasa\nen\thouse\n", Path::new("a.txt")).unwrap());
        assert_eq!(train.classes(), vec!["en", "es"]);
        let spec = train.input_spec().unwrap();
        assert_eq!(spec.size(), 7); // a c e h o s u
        let d = encode(&train, &spec, &train.classes()).unwrap();
        assert_eq!(d.labels, vec![1, 0]);
        let test =
            RawSet::Text(labeled::parse("en\tcase\nfr\tchose\n", Path::new("b.txt")).unwrap());
        let e = encode(&test, &spec, &train.classes()).unwrap_err();
        assert!(e.to_string().starts_with("b.txt:2: label \"fr\""), "{e}");
        let test = RawSet::Text(labeled::parse("en\tcasz\n", Path::new("b.txt")).unwrap());
        let e = encode(&test, &spec, &train.classes()).unwrap_err();
        assert!(e.to_string().starts_with("b.txt:1: character 'z'"), "{e}");
    }
}
