//! Reading training text and turning it into token sequences.
//!
//! Two ways to read a file ([`Mode`]):
//! - `lines`: every non-blank line is one sequence (a dinosaur name). The network sees the
//!   zero input first (`Input::Start` in rnn-core), then the line's characters; the target at
//!   each step is the next character and the last target is `'\n'`, the end-of-name symbol.
//! - `stream`: the whole text is one long sequence, cut later into windows of `--seq-len`
//!   characters with the hidden state carried from one window to the next.
//!
//! Input files must be UTF-8. CRLF line ends count as LF, a missing final newline is fine,
//! a leading byte-order mark is dropped, and blank lines are skipped in `lines` mode.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::nn::{Example, SeqInput, Targets};

/// The input token that stands for "no character": the zero input vector of the first step.
pub const START: u32 = u32::MAX;

/// How a text file is cut into training sequences.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One sequence per non-blank line, ending with the target `'\n'`.
    Lines,
    /// The whole text as one stream, cut into windows (truncated BPTT).
    Stream,
}

/// The characters a model knows, sorted by code point; index `i` is one-hot position `i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    symbols: Vec<char>,
}

impl Vocab {
    /// The vocabulary of a text: every character in it plus `'\n'`, sorted by code point, so
    /// the same text always gives the same indices whatever order its lines are in.
    pub fn from_text(text: &str) -> Self {
        let mut symbols: Vec<char> = text.chars().collect();
        symbols.push('\n');
        symbols.sort_unstable();
        symbols.dedup();
        Vocab { symbols }
    }

    /// A vocabulary given as its symbols in index order (from a model or JSON file).
    /// Rejects duplicates, since two indices for one character cannot be looked up.
    pub fn from_symbols(symbols: &str) -> std::result::Result<Self, String> {
        let list: Vec<char> = symbols.chars().collect();
        if list.is_empty() {
            return Err("the vocabulary is empty".into());
        }
        let mut sorted = list.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("the vocabulary lists {:?} twice", w[0]));
        }
        Ok(Vocab { symbols: list })
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    pub fn index_of(&self, c: char) -> Option<u32> {
        // Vocabularies built here are sorted, but ones read from files need not be.
        self.symbols.iter().position(|&s| s == c).map(|i| i as u32)
    }

    pub fn symbol(&self, i: usize) -> Option<char> {
        self.symbols.get(i).copied()
    }

    pub fn as_string(&self) -> String {
        self.symbols.iter().collect()
    }

    /// Index of the end-of-sequence symbol, which every vocabulary used for training has.
    pub fn newline(&self) -> Option<u32> {
        self.index_of('\n')
    }
}

/// A whole text file, checked and normalised, remembering where it came from.
#[derive(Clone, Debug)]
pub struct Text {
    pub path: PathBuf,
    /// The text with CRLF turned into LF and any byte-order mark removed.
    pub text: String,
}

/// Reads a text file: an empty file or invalid UTF-8 is an error naming the file and line.
pub fn read_text(path: &Path) -> Result<Text> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.valid_up_to();
            let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count();
            return Err(Error::InvalidUtf8 {
                path: path.into(),
                line,
                offset,
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    if text.trim().is_empty() {
        return Err(Error::NoSequences { path: path.into() });
    }
    Ok(Text {
        path: path.into(),
        text,
    })
}

/// One line of a `lines`-mode file, with its 1-based line number for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: usize,
    pub text: &'a str,
}

impl Text {
    /// The non-blank lines (a line of only spaces or tabs counts as blank).
    pub fn lines(&self) -> Vec<Line<'_>> {
        self.text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, text)| Line {
                number: i + 1,
                text,
            })
            .collect()
    }

    /// The vocabulary of this text in the given mode: in `lines` mode the line breaks are
    /// not characters of the text but `'\n'` is still the end-of-name target.
    pub fn vocab(&self, mode: Mode) -> Vocab {
        match mode {
            Mode::Lines => {
                let joined: String = self.lines().iter().map(|l| l.text).collect();
                Vocab::from_text(&joined)
            }
            Mode::Stream => Vocab::from_text(&self.text),
        }
    }

    fn encode_str(&self, vocab: &Vocab, s: &str, first_line: usize) -> Result<Vec<u32>> {
        let mut line = first_line;
        s.chars()
            .map(|c| {
                let t = vocab.index_of(c).ok_or_else(|| Error::UnknownChar {
                    path: self.path.clone(),
                    line,
                    ch: c,
                    vocab: vocab.as_string(),
                });
                if c == '\n' {
                    line += 1;
                }
                t
            })
            .collect()
    }

    /// The lines as sequences of tokens (`lines` mode), checked against `vocab`.
    pub fn encode_lines(&self, vocab: &Vocab) -> Result<Vec<Vec<u32>>> {
        self.lines()
            .iter()
            .map(|l| self.encode_str(vocab, l.text, l.number))
            .collect()
    }

    /// The whole text as one token stream (`stream` mode), checked against `vocab`.
    pub fn encode_stream(&self, vocab: &Vocab) -> Result<Vec<u32>> {
        self.encode_str(vocab, &self.text, 1)
    }
}

/// Sequences ready for the network: step `t` of sequence `k` feeds `inputs[spans[k]][t]`
/// (a token or [`START`]) and is scored against `targets[spans[k]][t]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequences {
    pub inputs: Vec<u32>,
    pub targets: Vec<u32>,
    pub spans: Vec<Range<usize>>,
}

impl Sequences {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Number of predicted characters, the unit of every loss and speed figure.
    pub fn predicted_chars(&self) -> usize {
        self.targets.len()
    }

    pub fn get(&self, k: usize) -> (&[u32], &[u32]) {
        let r = self.spans[k].clone();
        (&self.inputs[r.clone()], &self.targets[r])
    }

    /// Sequence `k` as the network reads it: symbols in, the next symbol at every step.
    pub fn example(&self, k: usize) -> Example<'_> {
        let (inputs, targets) = self.get(k);
        Example {
            x: SeqInput::Tokens(inputs),
            y: Targets::EveryStep(targets),
        }
    }

    /// `lines` mode: `[START, c0, c1, ..]` predicts `[c0, c1, .., '\n']`.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a [u32]>, newline: u32) -> Self {
        let mut s = Sequences::default();
        for line in lines {
            let begin = s.inputs.len();
            s.inputs.push(START);
            s.inputs.extend_from_slice(line);
            s.targets.extend_from_slice(line);
            s.targets.push(newline);
            s.spans.push(begin..s.inputs.len());
        }
        s
    }

    /// `stream` mode: `tokens` cut into `streams` contiguous parts (the parallel streams of a
    /// minibatch, as char-rnn does), each cut into windows of `seq_len` steps. Window `j` of
    /// stream `s` is sequence `s * windows_per_stream + j`; a window's last target is the
    /// next window's first input, so carrying the hidden state across windows is exact.
    /// Returns the sequences and the number of windows per stream.
    pub fn from_stream(tokens: &[u32], seq_len: usize, streams: usize) -> (Self, usize) {
        let mut s = Sequences::default();
        let streams = streams.max(1);
        let seq_len = seq_len.max(1);
        if tokens.len() < 2 {
            return (s, 0);
        }
        let part = tokens.len() / streams;
        let windows = part.saturating_sub(1) / seq_len;
        for st in 0..streams {
            let base = st * part;
            for w in 0..windows {
                let p = base + w * seq_len;
                let begin = s.inputs.len();
                s.inputs.extend_from_slice(&tokens[p..p + seq_len]);
                s.targets.extend_from_slice(&tokens[p + 1..p + seq_len + 1]);
                s.spans.push(begin..s.inputs.len());
            }
        }
        (s, windows)
    }
}

/// How a text is cut into training and validation sequences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cut {
    pub mode: Mode,
    /// Window length in stream mode.
    pub seq_len: usize,
    /// Parallel streams in stream mode (the minibatch size).
    pub streams: usize,
    pub val_split: f64,
    pub seed: u64,
}

/// A text cut into sequences for next-symbol training.
#[derive(Clone, Debug)]
pub struct NextData {
    /// The training sequences as minibatches see them (stream mode: `streams` streams).
    pub train: Sequences,
    /// Stream mode: windows per stream in `train`.
    pub windows_per_stream: Option<usize>,
    /// The training text for evaluation (stream mode: one stream, state carried).
    pub train_eval: Sequences,
    pub val: Sequences,
}

/// Cuts `text` into sequences over `vocab` (the data's own vocabulary, or that of the model
/// being fine-tuned) and splits them into training and validation parts: lines mode holds
/// out a seeded random choice of lines ([`super::split_indices`]), stream mode the end of
/// the text.
pub fn prepare(text: &Text, vocab: &Vocab, cut: &Cut) -> Result<NextData> {
    let newline = vocab.newline().ok_or_else(|| Error::Data {
        path: text.path.clone(),
        reason: "the model's vocabulary has no '\\n' (end-of-name symbol)".into(),
    })?;
    Ok(match cut.mode {
        Mode::Lines => {
            let lines = text.encode_lines(vocab)?;
            let (train_idx, val_idx) = super::split_indices(lines.len(), cut.val_split, cut.seed);
            let pick = |idx: &[usize]| {
                Sequences::from_lines(idx.iter().map(|&i| lines[i].as_slice()), newline)
            };
            let train = pick(&train_idx);
            NextData {
                train_eval: train.clone(),
                train,
                windows_per_stream: None,
                val: pick(&val_idx),
            }
        }
        Mode::Stream => {
            let tokens = text.encode_stream(vocab)?;
            let n_train = ((tokens.len() as f64) * (1.0 - cut.val_split)).round() as usize;
            let (train_tokens, val_tokens) = tokens.split_at(n_train.min(tokens.len()));
            let (train, wps) = Sequences::from_stream(train_tokens, cut.seq_len, cut.streams);
            if train.is_empty() {
                return Err(Error::Data {
                    path: text.path.clone(),
                    reason: format!(
                        "{} characters of training text are too few for --seq-len {} \
                         with --batch {} streams",
                        train_tokens.len(),
                        cut.seq_len,
                        cut.streams
                    ),
                });
            }
            NextData {
                train,
                windows_per_stream: Some(wps),
                train_eval: Sequences::from_stream(train_tokens, cut.seq_len, 1).0,
                val: Sequences::from_stream(val_tokens, cut.seq_len, 1).0,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rnn-train-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn crlf_blank_lines_and_missing_final_newline() {
        let p = write("crlf.txt", b"bca\r\n\r\n  \r\nab\r\nc");
        let t = read_text(&p).unwrap();
        let lines = t.lines();
        let texts: Vec<_> = lines.iter().map(|l| (l.number, l.text)).collect();
        assert_eq!(texts, vec![(1, "bca"), (4, "ab"), (5, "c")]);
        let v = t.vocab(Mode::Lines);
        assert_eq!(v.as_string(), "\nabc");
        let enc = t.encode_lines(&v).unwrap();
        assert_eq!(enc, vec![vec![2, 3, 1], vec![1, 2], vec![3]]);
        let s = Sequences::from_lines(enc.iter().map(|l| l.as_slice()), 0);
        assert_eq!(s.get(1), (&[START, 1, 2][..], &[1, 2, 0][..]));
        assert_eq!(s.predicted_chars(), 4 + 3 + 2);
    }

    #[test]
    fn vocabulary_does_not_depend_on_line_order() {
        let a = write("a.txt", "zeta\nalpha\nbéta\n".as_bytes());
        let b = write("b.txt", "béta\nzeta\nalpha".as_bytes());
        let va = read_text(&a).unwrap().vocab(Mode::Lines);
        let vb = read_text(&b).unwrap().vocab(Mode::Lines);
        assert_eq!(va, vb);
        assert_eq!(va.as_string(), "\nabehlptzé");
    }

    #[test]
    fn empty_and_invalid_files_name_the_file_and_line() {
        let p = write("empty.txt", b"");
        let e = read_text(&p).unwrap_err();
        assert!(matches!(e, Error::EmptyFile { .. }), "{e}");
        assert!(e.to_string().contains("empty.txt"));
        assert!(e.is_bad_input());

        let p = write("blank.txt", b"\n \r\n\n");
        assert!(matches!(read_text(&p), Err(Error::NoSequences { .. })));

        let p = write("bad.txt", b"ok\nfine\nbr\xffoken\n");
        let e = read_text(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:3: invalid UTF-8 (byte offset 10 in the file)",
                p.display()
            )
        );

        let missing = std::env::temp_dir().join("rnn-train-definitely-missing.txt");
        let e = read_text(&missing).unwrap_err();
        assert!(e.is_bad_input() && !e.to_string().contains('\n'));
    }

    #[test]
    fn unknown_character_names_the_line() {
        let p = write("unknown.txt", b"ab\nac\n");
        let t = read_text(&p).unwrap();
        let v = Vocab::from_symbols("\nab").unwrap();
        let e = t.encode_lines(&v).unwrap_err();
        assert!(
            e.to_string().contains("unknown.txt:2: character 'c'"),
            "{e}"
        );
        let e = t.encode_stream(&v).unwrap_err();
        assert!(e.to_string().contains("unknown.txt:2:"), "{e}");
    }

    #[test]
    fn stream_windows_chain_exactly() {
        let tokens: Vec<u32> = (0..23).collect();
        let (s, wps) = Sequences::from_stream(&tokens, 5, 2);
        // Two streams of 11 tokens, each giving two windows of 5 steps.
        assert_eq!(wps, 2);
        assert_eq!(s.len(), 4);
        assert_eq!(s.get(0), (&[0, 1, 2, 3, 4][..], &[1, 2, 3, 4, 5][..]));
        assert_eq!(s.get(1).0[0], 5);
        assert_eq!(s.get(2).0[0], 11);
        assert_eq!(s.get(3).1, &[17, 18, 19, 20, 21][..]);
    }

    #[test]
    fn duplicate_vocabulary_is_rejected() {
        assert!(Vocab::from_symbols("abca").is_err());
        assert!(Vocab::from_symbols("").is_err());
    }
}
