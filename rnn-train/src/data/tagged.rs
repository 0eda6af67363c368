//! Text tagging files: one example per line, the text, a tab, then one tag per character of
//! the text.
//!
//! ```text
//! John lives here<TAB>PPPPOOOOOOOOOOO
//! ```
//!
//! The text is everything before the tab, exactly as written (it may contain spaces, not
//! tabs; it may not be empty). The tags are everything after it, one character each: any
//! character except a tab, a space included, so nothing on the line is trimmed (an editor
//! that strips trailing spaces can break a line whose last tags are spaces). There must be
//! exactly as many tags as the text has characters, counted as Unicode code points: `é`
//! written as one code point needs one tag, `e` followed by a combining accent needs two.
//! Blank lines are skipped. The file must be
//! UTF-8; CRLF line ends and a byte-order mark are fine ([`crate::data::read_text`]).
//! Errors name the file and the line: no tab, a second tab, an empty text, a tag count
//! that differs from the text's length, and a file with no examples.

use std::path::{Path, PathBuf};

use super::read_text;
use crate::error::{Error, Result};

/// One tagged line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    /// 1-based line in the file.
    pub line: usize,
    pub text: String,
    /// One per character of `text`.
    pub tags: Vec<char>,
}

/// A whole `text<TAB>tags` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaggedText {
    pub path: PathBuf,
    pub examples: Vec<Tagged>,
}

/// Reads and checks a `text<TAB>tags` file.
pub fn read(path: &Path) -> Result<TaggedText> {
    parse(&read_text(path)?.text, path)
}

/// Parses the text of a `text<TAB>tags` file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<TaggedText> {
    let err = |line: usize, reason: String| Error::Parse {
        path: path.into(),
        line,
        reason,
    };
    let mut examples = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((body, tags)) = line.split_once('\t') else {
            return Err(err(
                i + 1,
                "expected `text<TAB>tags`: the line has no tab".into(),
            ));
        };
        if tags.contains('\t') {
            return Err(err(
                i + 1,
                "more than one tab: neither the text nor the tags may contain a tab".into(),
            ));
        }
        if body.is_empty() {
            return Err(err(i + 1, "the text (before the tab) is empty".into()));
        }
        let tags: Vec<char> = tags.chars().collect();
        let chars = body.chars().count();
        if tags.len() != chars {
            let s = |n: usize| if n == 1 { "" } else { "s" };
            return Err(err(
                i + 1,
                format!(
                    "{chars} character{}, {} tag{}: every character of the text needs one tag",
                    s(chars),
                    tags.len(),
                    s(tags.len())
                ),
            ));
        }
        examples.push(Tagged {
            line: i + 1,
            text: body.to_string(),
            tags,
        });
    }
    if examples.is_empty() {
        return Err(Error::NoSequences { path: path.into() });
    }
    Ok(TaggedText {
        path: path.into(),
        examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("t.txt")).unwrap_err().to_string()
    }

    #[test]
    fn texts_and_tags() {
        let t = parse("John lives\tPPPPOOOOOO\n\n é b\t- x \n", Path::new("t.txt")).unwrap();
        let got: Vec<_> = t
            .examples
            .iter()
            .map(|e| (e.line, e.text.as_str(), e.tags.iter().collect::<String>()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "John lives", "PPPPOOOOOO".to_string()),
                (3, " é b", "- x ".to_string())
            ]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            err("ab\tXY\nno tab\n"),
            "t.txt:2: expected `text<TAB>tags`: the line has no tab"
        );
        assert_eq!(
            err("a\tb\tX\n"),
            "t.txt:1: more than one tab: neither the text nor the tags may contain a tab"
        );
        assert_eq!(err("\tX\n"), "t.txt:1: the text (before the tab) is empty");
        assert_eq!(
            err("ab\tX\n"),
            "t.txt:1: 2 characters, 1 tag: every character of the text needs one tag"
        );
        assert_eq!(
            err("\nnaïve\tXXXXXX\n"),
            "t.txt:2: 5 characters, 6 tags: every character of the text needs one tag"
        );
        assert!(matches!(
            parse("\n \n", Path::new("t.txt")),
            Err(Error::NoSequences { .. })
        ));
    }
}
