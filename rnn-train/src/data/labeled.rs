//! Text classification files: one example per line, `label<TAB>text`.
//!
//! ```text
//! en<TAB>house
//! es<TAB>casa
//! ```
//!
//! The label is everything before the first tab (surrounding spaces removed; it may not be
//! empty), the text everything after it, exactly as written (it may contain spaces and
//! further tabs; it may not be empty). Blank lines are skipped. The file must be UTF-8;
//! CRLF line ends and a byte-order mark are fine, as for every text file of the trainer
//! ([`crate::data::read_text`]). Errors name the file and the line.
//!
//! The network reads the text one character at a time, one-hot over the characters of the
//! training file; a character of a test file that the training file never had is an error
//! naming its line (the setup scripts in `datasets/` keep every split within one fixed
//! alphabet, so this does not happen there).

use std::path::{Path, PathBuf};

use super::read_text;
use crate::error::{Error, Result};

/// One labelled example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// 1-based line in the file.
    pub line: usize,
    pub label: String,
    pub text: String,
}

/// A whole `label<TAB>text` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabeledText {
    pub path: PathBuf,
    pub examples: Vec<Example>,
}

/// Reads and checks a `label<TAB>text` file.
pub fn read(path: &Path) -> Result<LabeledText> {
    let text = read_text(path)?;
    parse(&text.text, path)
}

/// Parses the text of a `label<TAB>text` file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<LabeledText> {
    let err = |line: usize, reason: &str| Error::Parse {
        path: path.into(),
        line,
        reason: reason.into(),
    };
    let mut examples = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, body)) = line.split_once('\t') else {
            return Err(err(i + 1, "expected `label<TAB>text`: the line has no tab"));
        };
        let label = label.trim();
        if label.is_empty() {
            return Err(err(i + 1, "the label (before the tab) is empty"));
        }
        if body.is_empty() {
            return Err(err(i + 1, "the text (after the tab) is empty"));
        }
        examples.push(Example {
            line: i + 1,
            label: label.to_string(),
            text: body.to_string(),
        });
    }
    if examples.is_empty() {
        return Err(Error::NoSequences { path: path.into() });
    }
    Ok(LabeledText {
        path: path.into(),
        examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_texts() {
        let t = parse(
            "en\thouse\n\n es \tcasa grande\nfr\ta\tb\n",
            Path::new("w.txt"),
        )
        .unwrap();
        let got: Vec<_> = t
            .examples
            .iter()
            .map(|e| (e.line, e.label.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "en", "house"),
                (3, "es", "casa grande"),
                (4, "fr", "a\tb")
            ]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("en\tok\nno tab here\n", Path::new("w.txt")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "w.txt:2: expected `label<TAB>text`: the line has no tab"
        );
        assert!(e.is_bad_input());
        let e = parse("\tword\n", Path::new("w.txt")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "w.txt:1: the label (before the tab) is empty"
        );
        let e = parse("en\tx\nes\t\n", Path::new("w.txt")).unwrap_err();
        assert_eq!(e.to_string(), "w.txt:2: the text (after the tab) is empty");
        assert!(matches!(
            parse("\n  \n", Path::new("w.txt")),
            Err(Error::NoSequences { .. })
        ));
    }
}
