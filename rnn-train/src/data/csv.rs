//! Per-step data from a CSV file with a header row, as loggers and pandas write them: the
//! first row names the columns, then each row is one time step.
//!
//! ```text
//! run,t,ax,ay,activity
//! 1,0.00,0.12,-0.98,walk
//! 1,0.01,0.15,-0.97,walk
//! 2,0.00,0.01,-1.00,sit
//! ```
//!
//! Which columns are what is chosen by name (matched exactly against the header, surrounding
//! spaces removed): the inputs (by default every column that is not the label, a target or
//! the group), what is predicted at every step (one label column, for tagging, or one or
//! more numeric target columns, for regression, or nothing), and optionally a group column.
//! A column may be chosen for one role only. The header's names must differ; pandas writes
//! its index as a first column with an empty name, which is an input like any other unless
//! the inputs are named (or the file is written with `index=False`).
//!
//! Consecutive rows with the same value in the group column form one recording, an
//! independent sequence; a value that comes back after another group's rows starts a new,
//! separate recording (so a file need not be sorted, but a group split in two is two
//! sequences). Without a group column the whole file is one recording.
//!
//! Fields are separated by commas; a header line that has no comma but a semicolon (as
//! spreadsheets in many locales write) or a tab makes that the separator for the whole
//! file. Fields may be quoted (`"a, b"`, with `""` for a quote inside); spaces around a
//! field are removed. Input and target cells must be finite numbers (`1`, `-0.5`, `2e-3`;
//! a decimal comma is not understood), label cells must not be empty. An empty or `NaN`
//! input cell is a missing value, filled by linear interpolation in time within its
//! recording ([`super::missing`]; [`CsvData::filled`] counts them); targets and labels
//! cannot be missing. Blank lines are
//! skipped. The file must be UTF-8; CRLF line ends and a byte-order mark are fine
//! ([`crate::data::read_text`]). Errors name the file and the line: a row with more or
//! fewer fields than the header, a cell that is not a number, an empty label, a column name
//! that is not in the header (the message lists the header's names), a column chosen
//! twice, a header with no rows after it.

use std::path::{Path, PathBuf};

use super::read_text;
use crate::error::{Error, Result};

/// Which columns are what. Names are matched exactly (after trimming spaces) against the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// Input channels; `None`: every column that is not the label, a target or the group.
    pub inputs: Option<Vec<String>>,
    /// What is predicted at every step: one label column (tagging) or target columns (regression).
    pub outputs: Outputs,
    /// Consecutive rows with the same value of this column form one recording (independent
    /// sequence); `None`: the whole file is one recording.
    pub group: Option<String>,
}

/// What is predicted at every step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Outputs {
    /// Nothing (the inputs alone, e.g. for running a trained model).
    #[default]
    None,
    /// One column of class labels, one per step.
    Label(String),
    /// Numeric columns, one value of each per step.
    Targets(Vec<String>),
}

/// One independent sequence: the rows of one group (or the whole file).
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    /// The group column's value ("" without a group column).
    pub id: String,
    /// 1-based line of its first row.
    pub line: usize,
    /// 1-based line of each row (errors found later, such as an unknown label, name it).
    pub lines: Vec<usize>,
    /// T × inputs values, row after row.
    pub x: Vec<f32>,
    pub y: StepTargets,
}

/// What a recording's rows hold besides the inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum StepTargets {
    None,
    /// One label per row, trimmed.
    Labels(Vec<String>),
    /// T × targets values, row after row.
    Values(Vec<f32>),
}

/// A whole CSV file, split into recordings.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvData {
    pub path: PathBuf,
    /// The input columns, in the order of the values of a step.
    pub inputs: Vec<String>,
    /// The label column's name, or the target columns' names; empty for [`Outputs::None`].
    pub outputs: Vec<String>,
    pub recordings: Vec<Recording>,
    /// Missing input cells filled by interpolation ([`super::missing`]), over all
    /// recordings.
    pub filled: usize,
}

impl CsvData {
    /// Rows (time steps) over all recordings.
    pub fn steps(&self) -> usize {
        match self.channels() {
            0 => 0,
            c => self.recordings.iter().map(|r| r.x.len() / c).sum(),
        }
    }

    /// Input values per step.
    pub fn channels(&self) -> usize {
        self.inputs.len()
    }
}

/// Reads and checks a CSV file.
pub fn read(path: &Path, columns: &Columns) -> Result<CsvData> {
    parse(&read_text(path)?.text, path, columns)
}

/// Parses the text of a CSV file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path, columns: &Columns) -> Result<CsvData> {
    let perr = |line: usize, reason: String| Error::Parse {
        path: path.into(),
        line,
        reason,
    };
    let derr = |reason: String| Error::Data {
        path: path.into(),
        reason,
    };
    let Some(first) = text.split('\n').find(|l| !l.trim().is_empty()) else {
        return Err(Error::EmptyFile { path: path.into() });
    };
    let delimiter = if first.contains(',') {
        b','
    } else if first.contains(';') {
        b';'
    } else if first.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .delimiter(delimiter)
        // Lines end at `\n` only, so that the lines counted below are the reader's lines.
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes());

    // The reader's positions point where it began reading a record, before the empty lines
    // it skipped, so the line of a record's first field is counted here.
    let bytes = text.as_bytes();
    let (mut counted_to, mut line_no) = (0usize, 1usize);
    let mut start_of = |byte: usize| -> (usize, usize) {
        let skip = bytes
            .get(byte..)
            .map_or(0, |b| b.iter().take_while(|&&c| c == b'\n').count());
        let start = byte + skip;
        if start > counted_to {
            let newlines = bytes
                .get(counted_to..start)
                .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
            line_no += newlines;
            counted_to = start;
        }
        (start, line_no)
    };
    let mut rows = reader.records().filter_map(|r| match r {
        Ok(rec) => {
            let (start, line) = start_of(rec.position().map_or(0, |p| p.byte() as usize));
            // The reader skips only empty lines; one of spaces (or tabs between empty
            // fields) would otherwise be a row of empty cells.
            let raw = text.get(start..).unwrap_or("");
            let raw = raw.split('\n').next().unwrap_or("");
            (!raw.trim().is_empty()).then_some(Ok((line, rec)))
        }
        Err(e) => {
            let (_, line) = start_of(e.position().map_or(0, |p| p.byte() as usize));
            let reason = format!("not readable as CSV: {e}").replace('\n', " ");
            Some(Err(perr(line, reason)))
        }
    });

    let (header_line, header) = match rows.next() {
        Some(r) => r?,
        None => return Err(Error::EmptyFile { path: path.into() }),
    };
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    for (i, name) in names.iter().enumerate() {
        if names.iter().take(i).any(|n| n == name) {
            return Err(perr(
                header_line,
                format!("the header names the column {name:?} twice"),
            ));
        }
    }

    // Which role each column has, so that choosing one twice is caught whatever the roles.
    let mut roles: Vec<Option<&'static str>> = vec![None; names.len()];
    let mut claim = |name: &str, role: &'static str| -> Result<usize> {
        let name = name.trim();
        let Some(col) = names.iter().position(|n| n == name) else {
            let available: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
            return Err(perr(
                header_line,
                format!(
                    "there is no column {name:?} (the header has {})",
                    available.join(", ")
                ),
            ));
        };
        match roles.get_mut(col) {
            Some(Some(earlier)) => Err(perr(
                header_line,
                format!("column {name:?} is chosen twice: as {earlier} and as {role}"),
            )),
            Some(slot) => {
                *slot = Some(role);
                Ok(col)
            }
            None => Err(Error::Internal("column index out of range".into())),
        }
    };

    let group = match &columns.group {
        Some(g) => Some(claim(g, "the group")?),
        None => None,
    };
    let (label, targets, output_names) = match &columns.outputs {
        Outputs::None => (None, Vec::new(), Vec::new()),
        Outputs::Label(l) => (
            Some(claim(l, "the label")?),
            Vec::new(),
            vec![l.trim().to_string()],
        ),
        Outputs::Targets(ts) => {
            if ts.is_empty() {
                return Err(derr("no target columns are given".into()));
            }
            let cols = ts
                .iter()
                .map(|t| claim(t, "a target"))
                .collect::<Result<Vec<_>>>()?;
            let names = ts.iter().map(|t| t.trim().to_string()).collect();
            (None, cols, names)
        }
    };
    let inputs: Vec<usize> = match &columns.inputs {
        Some(list) => list
            .iter()
            .map(|i| claim(i, "an input"))
            .collect::<Result<_>>()?,
        None => (0..names.len())
            .filter(|&c| roles.get(c).is_some_and(|r| r.is_none()))
            .collect(),
    };
    if inputs.is_empty() {
        return Err(match columns.inputs {
            Some(_) => derr("no input columns are given".into()),
            None => perr(
                header_line,
                "no input columns: every column is the label, a target or the group".into(),
            ),
        });
    }
    let input_names = inputs
        .iter()
        .map(|&c| names.get(c).cloned().unwrap_or_default())
        .collect();

    let number = |line: usize, rec: &::csv::StringRecord, col: usize| -> Result<f32> {
        let cell = rec.get(col).unwrap_or("");
        let name = names.get(col).map_or("", String::as_str);
        if cell.is_empty() {
            return Err(perr(line, format!("column {name:?} is empty")));
        }
        match cell.parse::<f32>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(perr(
                line,
                format!("column {name:?}: {cell:?} is not a finite number"),
            )),
            Err(_) => Err(perr(
                line,
                format!("column {name:?}: {cell:?} is not a number"),
            )),
        }
    };

    let mut recordings: Vec<Recording> = Vec::new();
    for row in rows {
        let (line, rec) = row?;
        if rec.len() != names.len() {
            return Err(perr(
                line,
                format!(
                    "{} field{}, the header has {}",
                    rec.len(),
                    if rec.len() == 1 { "" } else { "s" },
                    names.len()
                ),
            ));
        }
        let id = group.and_then(|g| rec.get(g)).unwrap_or("");
        let current = match recordings.last_mut() {
            Some(r) if r.id == id => r,
            _ => {
                recordings.push(Recording {
                    id: id.to_string(),
                    line,
                    lines: Vec::new(),
                    x: Vec::new(),
                    y: match columns.outputs {
                        Outputs::None => StepTargets::None,
                        Outputs::Label(_) => StepTargets::Labels(Vec::new()),
                        Outputs::Targets(_) => StepTargets::Values(Vec::new()),
                    },
                });
                match recordings.last_mut() {
                    Some(r) => r,
                    None => return Err(Error::Internal("no recording".into())),
                }
            }
        };
        current.lines.push(line);
        for &c in &inputs {
            // A missing input (an empty cell, NaN) is filled in once the recording is read.
            let cell = rec.get(c).unwrap_or("");
            let missing = cell.is_empty() || cell.eq_ignore_ascii_case("nan");
            current.x.push(if missing {
                f32::NAN
            } else {
                number(line, &rec, c)?
            });
        }
        match &mut current.y {
            StepTargets::None => {}
            StepTargets::Labels(labels) => {
                let cell = label.and_then(|c| rec.get(c)).unwrap_or("");
                if cell.is_empty() {
                    let name = output_names.first().map_or("", String::as_str);
                    return Err(perr(line, format!("the label (column {name:?}) is empty")));
                }
                labels.push(cell.to_string());
            }
            StepTargets::Values(values) => {
                for &c in &targets {
                    values.push(number(line, &rec, c)?);
                }
            }
        }
    }
    if recordings.is_empty() {
        return Err(derr(format!(
            "only a header (line {header_line}), no rows of data"
        )));
    }
    let mut filled = 0;
    for r in &mut recordings {
        filled += super::missing::interpolate(&mut r.x, inputs.len()).map_err(|k| {
            let name = inputs
                .get(k)
                .and_then(|&c| names.get(c))
                .map_or("", String::as_str);
            perr(
                r.line,
                format!(
                    "column {name:?}: every value of the recording that starts here is missing"
                ),
            )
        })?;
    }
    Ok(CsvData {
        path: path.into(),
        inputs: input_names,
        outputs: output_names,
        recordings,
        filled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(inputs: Option<&[&str]>, outputs: Outputs, group: Option<&str>) -> Columns {
        Columns {
            inputs: inputs.map(|l| l.iter().map(|s| s.to_string()).collect()),
            outputs,
            group: group.map(str::to_string),
        }
    }

    fn label(l: &str) -> Outputs {
        Outputs::Label(l.into())
    }

    fn err(text: &str, columns: &Columns) -> String {
        parse(text, Path::new("d.csv"), columns)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn groups_make_recordings_and_inputs_default_to_the_rest() {
        let text = "run, a ,b,tag\n1,1,2,x\n1,3,4, y \n\n \t\n2,5,6,x\n1,7,8,z\n";
        let d = parse(
            text,
            Path::new("d.csv"),
            &cols(None, label("tag"), Some("run")),
        )
        .unwrap();
        assert_eq!(d.inputs, ["a", "b"]);
        assert_eq!(d.outputs, ["tag"]);
        assert_eq!((d.steps(), d.channels()), (4, 2));
        let got: Vec<_> = d
            .recordings
            .iter()
            .map(|r| (r.id.as_str(), r.line, r.x.clone(), r.y.clone()))
            .collect();
        let labels = |l: &[&str]| StepTargets::Labels(l.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            got,
            vec![
                ("1", 2, vec![1.0, 2.0, 3.0, 4.0], labels(&["x", "y"])),
                ("2", 6, vec![5.0, 6.0], labels(&["x"])),
                ("1", 7, vec![7.0, 8.0], labels(&["z"])),
            ]
        );
    }

    #[test]
    fn targets_named_inputs_and_quoted_fields() {
        let text = "\"t, s\",u,v,w\n\"1.5\",2,-3e1,\"4\"\n0,1,2,3\n";
        let c = cols(
            Some(&["w", "t, s"]),
            Outputs::Targets(vec!["v".into(), " u".into()]),
            None,
        );
        let d = parse(text, Path::new("d.csv"), &c).unwrap();
        assert_eq!(
            (d.inputs.clone(), d.outputs.clone()),
            (
                vec!["w".to_string(), "t, s".into()],
                vec!["v".to_string(), "u".into()]
            )
        );
        assert_eq!(d.recordings.len(), 1);
        assert_eq!(d.recordings[0].id, "");
        assert_eq!(d.recordings[0].x, [4.0, 1.5, 3.0, 0.0]);
        assert_eq!(
            d.recordings[0].y,
            StepTargets::Values(vec![-30.0, 2.0, 2.0, 1.0])
        );
    }

    #[test]
    fn semicolons_and_tabs_when_the_header_has_no_comma() {
        let none = Columns::default();
        let d = parse("a;b\n1;2,5\n", Path::new("d.csv"), &none);
        // With `;` as the separator a decimal comma stays in the cell, and is refused.
        assert_eq!(
            d.unwrap_err().to_string(),
            "d.csv:2: column \"b\": \"2,5\" is not a number"
        );
        let d = parse("a\tb\n1\t2\n", Path::new("d.csv"), &none).unwrap();
        assert_eq!(d.recordings[0].x, [1.0, 2.0]);
        assert_eq!(d.recordings[0].y, StepTargets::None);
    }

    #[test]
    fn row_errors_name_line_and_column() {
        let c = cols(None, label("c"), None);
        assert_eq!(
            err("a,b,c\n1,2,x\n1,2\n", &c),
            "d.csv:3: 2 fields, the header has 3"
        );
        assert_eq!(
            err("a,b,c\n1,abc,x\n", &c),
            "d.csv:2: column \"b\": \"abc\" is not a number"
        );
        assert_eq!(
            err("a,b,c\n\n1,inf,x\n", &c),
            "d.csv:3: column \"b\": \"inf\" is not a finite number"
        );
        // An input with no value in its whole recording; a target cannot be missing.
        assert_eq!(
            err("a,b,c\n1,,x\n2,NaN,y\n", &c),
            "d.csv:2: column \"b\": every value of the recording that starts here is missing"
        );
        let t = cols(None, Outputs::Targets(vec!["c".into()]), None);
        assert_eq!(err("a,b,c\n1,2,\n", &t), "d.csv:2: column \"c\" is empty");
        assert_eq!(
            err("a,b,c\n1,2,\" \"\n", &c),
            "d.csv:2: the label (column \"c\") is empty"
        );
        assert_eq!(
            err("a,b,c\n1,2,1e40\n", &t),
            "d.csv:2: column \"c\": \"1e40\" is not a finite number"
        );
    }

    #[test]
    fn missing_inputs_are_interpolated_within_their_recording() {
        let g = cols(None, label("c"), Some("g"));
        let text = "g,a,b,c\n1,0,,x\n1,,4,y\n1,2,6,x\n2,,1,y\n2,5,NaN,x\n";
        let d = parse(text, Path::new("d.csv"), &g).unwrap();
        // Recording 1: a = 0, (1), 2; b = (4), 4, 6. Recording 2: a = (5), 5; b = 1, (1).
        assert_eq!(d.recordings[0].x, [0.0, 4.0, 1.0, 4.0, 2.0, 6.0]);
        assert_eq!(d.recordings[1].x, [5.0, 1.0, 5.0, 1.0]);
        assert_eq!(d.filled, 4);
    }

    #[test]
    fn column_errors() {
        let text = "a,b,c\n1,2,3\n";
        assert_eq!(
            err(text, &cols(Some(&["a", "x"]), Outputs::None, None)),
            "d.csv:1: there is no column \"x\" (the header has \"a\", \"b\", \"c\")"
        );
        assert_eq!(
            err(text, &cols(None, label("c"), Some("zz"))),
            "d.csv:1: there is no column \"zz\" (the header has \"a\", \"b\", \"c\")"
        );
        assert_eq!(
            err(
                text,
                &cols(Some(&["a", "c"]), Outputs::Targets(vec!["c".into()]), None)
            ),
            "d.csv:1: column \"c\" is chosen twice: as a target and as an input"
        );
        assert_eq!(
            err(text, &cols(None, label("a"), Some("a"))),
            "d.csv:1: column \"a\" is chosen twice: as the group and as the label"
        );
        assert_eq!(
            err(
                text,
                &cols(
                    None,
                    Outputs::Targets(vec!["a".into(), "b".into()]),
                    Some("c")
                )
            ),
            "d.csv:1: no input columns: every column is the label, a target or the group"
        );
        assert_eq!(
            err(text, &cols(None, Outputs::Targets(vec![]), None)),
            "d.csv: no target columns are given"
        );
        assert_eq!(
            err(text, &cols(Some(&[]), Outputs::None, None)),
            "d.csv: no input columns are given"
        );
        assert_eq!(
            err("\na,b,a\n1,2,3\n", &Columns::default()),
            "d.csv:2: the header names the column \"a\" twice"
        );
    }

    #[test]
    fn empty_and_header_only_files() {
        let none = Columns::default();
        assert_eq!(
            err("a,b\n\n  \n", &none),
            "d.csv: only a header (line 1), no rows of data"
        );
        assert!(matches!(
            parse(" \n\n", Path::new("d.csv"), &none),
            Err(Error::EmptyFile { .. })
        ));
        assert!(matches!(
            parse("", Path::new("d.csv"), &none),
            Err(Error::EmptyFile { .. })
        ));
    }
}
