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
use crate::rng::SplitMix64;

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

/// Which lines go to validation: a seeded random choice of `round(n * fraction)` lines (at
/// least one when the fraction is positive and there are two or more lines), so the split
/// does not depend on the file being sorted. Returns `(train, validation)` indices, each in
/// file order, so `--no-shuffle` still trains in the file's order.
pub fn split_indices(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut n_val = (n as f64 * fraction).round() as usize;
    if fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    } else {
        n_val = n_val.min(n);
    }
    let mut order: Vec<usize> = (0..n).collect();
    // A stream of its own, so the split stays the same when the shuffling code changes.
    SplitMix64::new(seed ^ SPLIT_STREAM).shuffle(&mut order);
    let mut is_val = vec![false; n];
    for &i in &order[..n_val] {
        is_val[i] = true;
    }
    let train = (0..n).filter(|&i| !is_val[i]).collect();
    let val = (0..n).filter(|&i| is_val[i]).collect();
    (train, val)
}

/// Mixed into the seed for the train/validation split.
const SPLIT_STREAM: u64 = 0x5eed_5b11_7000_0001;

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
    fn split_is_deterministic_and_disjoint() {
        let (t1, v1) = split_indices(100, 0.1, 42);
        let (t2, v2) = split_indices(100, 0.1, 42);
        assert_eq!((&t1, &v1), (&t2, &v2));
        assert_eq!(v1.len(), 10);
        assert_eq!(t1.len(), 90);
        assert!(t1.windows(2).all(|w| w[0] < w[1]));
        assert!(v1.iter().all(|i| !t1.contains(i)));
        let (_, v3) = split_indices(100, 0.1, 43);
        assert_ne!(v1, v3);
        assert_eq!(split_indices(5, 0.0, 1).1.len(), 0);
        assert_eq!(split_indices(3, 0.01, 1).1.len(), 1);
    }

    #[test]
    fn duplicate_vocabulary_is_rejected() {
        assert!(Vocab::from_symbols("abca").is_err());
        assert!(Vocab::from_symbols("").is_err());
    }
}
