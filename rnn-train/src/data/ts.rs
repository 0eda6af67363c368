//! The `.ts` format of the UEA/UCR time-series classification archive (the files that
//! `aeon` and `sktime` load), for dense sensor sequences.
//!
//! ```text
//! # comment lines start with '#' (or '%', as in ARFF and some archive files)
//! @problemName JapaneseVowels
//! @timeStamps false
//! @missing false
//! @univariate false
//! @dimensions 12
//! @equalLength false
//! @classLabel true 1 2 3 4 5 6 7 8 9
//! @data
//! 1.86,1.89,1.93:-0.20,-0.19,-0.23: … :1
//! ```
//!
//! Header keywords are case-insensitive (the archive writes both `@problemName` and
//! `@problemname`). Known keys: `@problemName NAME`, `@timeStamps true|false`,
//! `@missing true|false`, `@univariate true|false`, `@dimensions N` (or `@dimension N`),
//! `@equalLength true|false`, `@seriesLength N`, `@classLabel true LABEL…` (or `false`), and
//! `@data`, after which each non-blank line is one case: its channels separated by `:`, the
//! values of a channel by `,`, and the class label last. Lengths may vary from case to case,
//! but the channels of one case must have the same length, since the network reads one
//! vector of all channels per time step.
//!
//! Missing values (`?` or `NaN`) are filled by linear interpolation in time, and steps
//! missing in every channel at the end of a case dropped as padding ([`super::missing`]);
//! [`TsFile::filled`] counts the values filled. With `@timeStamps true` each value is
//! written `(stamp,value)`: the stamps are read past and the values taken in the file's
//! order, one step each (the archive's time-stamped files are sampled regularly).
//!
//! Refused, with the file and line: a channel of a case with no value at all, infinite
//! values, a case with a different number of channels than `@dimensions`
//! (or `@univariate true`, or the first case), channels of unequal length in one case,
//! lengths other than `@seriesLength` when `@equalLength true`, a label not in
//! `@classLabel`, regression files (`@targetLabel`, `@classLabel false`), unknown header
//! keys, and a file with no cases.

use std::path::{Path, PathBuf};

use super::{missing, read_text};
use crate::error::{Error, Result};

/// One case: a label and `len` time steps of `channels` values, time-major
/// (`values[t * channels + c]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// 1-based line in the file.
    pub line: usize,
    pub label: String,
    pub len: usize,
    pub values: Vec<f32>,
}

/// A whole `.ts` file.
#[derive(Clone, Debug, PartialEq)]
pub struct TsFile {
    pub path: PathBuf,
    pub problem: Option<String>,
    pub channels: usize,
    /// The labels of `@classLabel true …`, in the file's order (empty if not declared).
    pub class_labels: Vec<String>,
    pub cases: Vec<Case>,
    /// Missing values filled by interpolation ([`super::missing`]), over all cases.
    pub filled: usize,
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Reads and checks a `.ts` file (UTF-8; CRLF and a byte-order mark are fine).
pub fn read(path: &Path) -> Result<TsFile> {
    let text = read_text(path)?;
    parse(&text.text, path)
}

/// Parses the text of a `.ts` file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<TsFile> {
    let err = |line: usize, reason: String| Error::Parse {
        path: path.into(),
        line,
        reason,
    };
    let mut problem = None;
    let mut univariate: Option<bool> = None;
    let mut dimensions: Option<usize> = None;
    let mut equal_length: Option<bool> = None;
    let mut series_length: Option<usize> = None;
    let mut class_labels: Option<Vec<String>> = None;
    let mut in_data = false;
    let mut channels: Option<usize> = None;
    let mut time_stamps = false;
    let mut cases = Vec::new();
    let mut filled = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', '%']) {
            continue;
        }
        if !in_data {
            let Some(header) = line.strip_prefix('@') else {
                return Err(err(
                    line_no,
                    "data before the @data line (header lines start with '@', comments with '#' \
                     or '%')"
                        .into(),
                ));
            };
            let (key, rest) = header
                .split_once(char::is_whitespace)
                .map_or((header, ""), |(k, r)| (k, r.trim()));
            let key = key.to_ascii_lowercase();
            let need_bool = |v: &str| {
                parse_bool(v)
                    .ok_or_else(|| err(line_no, format!("@{key} must be true or false, not {v:?}")))
            };
            let need_count = |v: &str| {
                v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    err(
                        line_no,
                        format!("@{key} must be a positive whole number, not {v:?}"),
                    )
                })
            };
            match key.as_str() {
                "problemname" => problem = Some(rest.to_string()),
                "timestamps" => time_stamps = need_bool(rest)?,
                "missing" => {
                    need_bool(rest)?;
                }
                "univariate" => univariate = Some(need_bool(rest)?),
                "dimension" | "dimensions" => dimensions = Some(need_count(rest)?),
                "equallength" => equal_length = Some(need_bool(rest)?),
                "serieslength" => series_length = Some(need_count(rest)?),
                "classlabel" => {
                    let mut words = rest.split_whitespace();
                    match words.next().and_then(parse_bool) {
                        Some(true) => {
                            let labels: Vec<String> = words.map(String::from).collect();
                            if labels.is_empty() {
                                return Err(err(
                                    line_no,
                                    "@classLabel true lists no labels".into(),
                                ));
                            }
                            let mut sorted = labels.clone();
                            sorted.sort();
                            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                                return Err(err(
                                    line_no,
                                    format!("@classLabel lists {:?} twice", w[0]),
                                ));
                            }
                            class_labels = Some(labels);
                        }
                        Some(false) => {
                            return Err(err(
                                line_no,
                                "@classLabel false: the file has no class labels to learn".into(),
                            ))
                        }
                        None => {
                            return Err(err(
                                line_no,
                                "@classLabel must be followed by true and the labels, or false"
                                    .into(),
                            ))
                        }
                    }
                }
                "targetlabel" => {
                    return Err(err(
                        line_no,
                        "@targetLabel: a regression file, not classification".into(),
                    ))
                }
                "data" => {
                    in_data = true;
                    if univariate == Some(true) {
                        if let Some(d) = dimensions.filter(|&d| d != 1) {
                            return Err(err(
                                line_no,
                                format!("@univariate true contradicts @dimensions {d}"),
                            ));
                        }
                        dimensions = Some(1);
                    }
                    channels = dimensions;
                }
                _ => return Err(err(line_no, format!("unknown header line @{key}"))),
            }
            continue;
        }
        // A case: channels separated by ':', the label last.
        // Time stamps hold ':' of their own, inside the parentheses.
        let mut depth = 0i32;
        let fields: Vec<&str> = line
            .split(|ch| {
                depth += i32::from(ch == '(') - i32::from(ch == ')');
                ch == ':' && (depth <= 0 || !time_stamps)
            })
            .collect();
        if fields.len() < 2 {
            return Err(err(
                line_no,
                "a case needs at least one channel and a label, separated by ':'".into(),
            ));
        }
        let (label, chans) = fields
            .split_last()
            .map(|(l, c)| (l.trim(), c))
            .unwrap_or_default();
        if label.is_empty() {
            return Err(err(
                line_no,
                "the class label (after the last ':') is empty".into(),
            ));
        }
        if let Some(labels) = &class_labels {
            if !labels.iter().any(|l| l == label) {
                return Err(err(
                    line_no,
                    format!(
                        "label {label:?} is not one of @classLabel {}",
                        labels.join(" ")
                    ),
                ));
            }
        }
        let expected = *channels.get_or_insert(chans.len());
        if chans.len() != expected {
            return Err(err(
                line_no,
                format!("{} channels, expected {expected}", chans.len()),
            ));
        }
        let fields: Vec<Vec<&str>> = chans
            .iter()
            .enumerate()
            .map(|(c, chan)| {
                if time_stamps {
                    stamped_values(chan).map_err(|k| {
                        err(
                            line_no,
                            format!(
                                "channel {} step {k}: not a (stamp,value) pair, as @timeStamps \
                                 true needs",
                                c + 1
                            ),
                        )
                    })
                } else {
                    Ok(chan.split(',').map(str::trim).collect())
                }
            })
            .collect::<Result<_>>()?;
        let (mut values, len) = channel_values(&fields, |m| err(line_no, m))?;
        if equal_length == Some(true) {
            if let Some(n) = series_length.filter(|&n| n != len) {
                return Err(err(
                    line_no,
                    format!("{len} steps, but @equalLength true and @seriesLength {n}"),
                ));
            }
        }
        filled += fill(&mut values, expected, |m| err(line_no, m))?;
        cases.push(Case::new(line_no, label, values, expected));
    }
    TsFile {
        path: path.into(),
        problem,
        channels: channels.unwrap_or(1),
        class_labels: class_labels.unwrap_or_default(),
        cases,
        filled,
    }
    .finished(in_data, "a .ts file")
}

impl Case {
    /// Case of line `line` with time-major `values` of `channels` channels.
    pub(super) fn new(line: usize, label: &str, values: Vec<f32>, channels: usize) -> Self {
        Case {
            line,
            label: label.to_string(),
            len: values.len() / channels.max(1),
            values,
        }
    }
}

impl TsFile {
    /// The file as read, or the error of one that never reached its `@data` line (`form`
    /// names what it is not) or holds no case.
    pub(super) fn finished(self, in_data: bool, form: &str) -> Result<Self> {
        if !in_data {
            return Err(Error::Data {
                path: self.path,
                reason: format!("no @data line: not {form}"),
            });
        }
        if self.cases.is_empty() {
            return Err(Error::NoSequences { path: self.path });
        }
        Ok(self)
    }
}

/// One case's channels, each as its value fields (`?` or `NaN` missing), turned into
/// time-major values (`values[t * channels + c]`) and their number of steps; `err` makes
/// the message of the case's line. Shared by the `.ts` and ARFF readers.
pub(super) fn channel_values(
    chans: &[Vec<&str>],
    err: impl Fn(String) -> Error,
) -> Result<(Vec<f32>, usize)> {
    let mut per_channel: Vec<Vec<f32>> = Vec::with_capacity(chans.len());
    for (c, fields) in chans.iter().enumerate() {
        let mut vals = Vec::with_capacity(fields.len());
        for (k, v) in fields.iter().enumerate() {
            let x = match *v {
                "?" => f32::NAN,
                _ => v.parse::<f32>().map_err(|_| {
                    err(format!(
                        "channel {} step {}: {v:?} is not a number",
                        c + 1,
                        k + 1
                    ))
                })?,
            };
            if x.is_infinite() {
                return Err(err(format!(
                    "channel {} step {}: {v} (infinite values are not supported)",
                    c + 1,
                    k + 1
                )));
            }
            vals.push(x);
        }
        per_channel.push(vals);
    }
    let len = per_channel.first().map_or(0, Vec::len);
    if let Some((c, v)) = per_channel.iter().enumerate().find(|(_, v)| v.len() != len) {
        return Err(err(format!(
            "channel {} has {} steps but channel 1 has {len}; a case's channels must have \
             equal lengths",
            c + 1,
            v.len()
        )));
    }
    let n = per_channel.len();
    let mut values = vec![0.0f32; len * n];
    for (c, vals) in per_channel.iter().enumerate() {
        for (t, &x) in vals.iter().enumerate() {
            values[t * n + c] = x;
        }
    }
    Ok((values, len))
}

/// Fills one case's missing values ([`missing::fill_gaps`]); returns how many.
pub(super) fn fill(
    values: &mut Vec<f32>,
    channels: usize,
    err: impl Fn(String) -> Error,
) -> Result<usize> {
    missing::fill_gaps(values, channels)
        .map_err(|c| err(format!("channel {}: every value is missing", c + 1)))
}

/// The values of one channel written as `(stamp,value),(stamp,value)…`, in order; `Err(k)`
/// names the first step (1-based) that is not such a pair.
fn stamped_values(chan: &str) -> std::result::Result<Vec<&str>, usize> {
    let mut out = Vec::new();
    let mut rest = chan.trim();
    while !rest.is_empty() {
        let k = out.len() + 1;
        let inner = rest.strip_prefix('(').ok_or(k)?;
        let (pair, after) = inner.split_once(')').ok_or(k)?;
        let (_, value) = pair.rsplit_once(',').ok_or(k)?;
        out.push(value.trim());
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
            if rest.is_empty() {
                return Err(k + 1);
            }
        } else if !rest.is_empty() {
            return Err(k + 1);
        }
    }
    if out.is_empty() {
        return Err(1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<TsFile> {
        parse(text, Path::new("x.ts"))
    }

    fn msg(text: &str) -> String {
        crate::data::one_line_error(p(text))
    }

    /// The header of JapaneseVowels_TRAIN.ts in aeon 1.6.0, comments shortened.
    const JV_HEADER: &str =
        "#A UCI Archive dataset.\n#Paper: M. Kudo, J. Toyama and M. Shimbo. (1999).\n#\n\
        @problemName JapaneseVowels\n@timeStamps false\n@missing false\n@univariate false\n\
        @dimensions 12\n@equalLength false\n@classLabel true 1 2 3 4 5 6 7 8 9\n@data\n";

    #[test]
    fn multivariate_variable_length_as_in_japanese_vowels() {
        let mut text = String::from(JV_HEADER);
        for (len, label) in [(3, "1"), (5, "9")] {
            let chans: Vec<String> = (0..12)
                .map(|c| {
                    (0..len)
                        .map(|t| format!("{}", c as f32 + t as f32 * 0.5))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            text.push_str(&format!("{}:{label}\n", chans.join(":")));
        }
        let f = p(&text).unwrap();
        assert_eq!(f.problem.as_deref(), Some("JapaneseVowels"));
        assert_eq!(f.channels, 12);
        assert_eq!(f.class_labels.len(), 9);
        assert_eq!(f.cases.len(), 2);
        assert_eq!((f.cases[0].len, f.cases[1].len), (3, 5));
        assert_eq!(f.cases[1].label, "9");
        assert_eq!(f.cases[1].line, 13);
        // Time-major: step 2 of channel 4 is 4 + 2 · 0.5.
        assert_eq!(f.cases[1].values[2 * 12 + 4], 5.0);
    }

    #[test]
    fn univariate_lower_case_keys_and_series_length() {
        // The older univariate header form (e.g. GunPoint), with CRLF already normalised.
        let text = "@problemname GunPoint\n@timestamps false\n@missing false\n@univariate true\n\
            @equallength true\n@serieslength 4\n@classlabel true 1 2\n@data\n\
            -0.6,-0.5,0.1,2e-1:2\n1,2,3,4:1\n";
        let f = p(text).unwrap();
        assert_eq!(f.channels, 1);
        assert_eq!(f.cases[0].values, vec![-0.6, -0.5, 0.1, 0.2]);
        assert_eq!(f.class_labels, vec!["1", "2"]);
        let bad = text.replace("1,2,3,4:1", "1,2,3:1");
        assert_eq!(
            msg(&bad),
            "x.ts:10: 3 steps, but @equalLength true and @seriesLength 4"
        );
        // '%' comments, as aeon's UnitTest files have them, are comments too.
        let f = p("%# a cut-down Chinatown\n%\n@classLabel true 1 2\n@data\n5,6:2\n").unwrap();
        assert_eq!((f.channels, f.cases[0].values.clone()), (1, vec![5.0, 6.0]));
        // '@dimension' (singular) is accepted as well.
        let f = p("@dimension 2\n@classLabel true a b\n@data\n1,2:3,4:b\n").unwrap();
        assert_eq!(
            (f.channels, f.cases[0].values.clone()),
            (2, vec![1.0, 3.0, 2.0, 4.0])
        );
    }

    #[test]
    fn missing_values_are_interpolated_and_end_padding_dropped() {
        let text = format!("{JV_HEADER}{}:1\n{}:2\n", ["1,2,3"; 12].join(":"), {
            let mut c = ["1,2,?"; 12];
            c[3] = "1,?,5";
            c.join(":")
        });
        let f = p(&text).unwrap();
        // Case 2: step 3 is missing in 11 channels only, so it stays and holds step 2's
        // value there; channel 4's hole is the mean of its neighbours.
        assert_eq!(f.cases[1].len, 3);
        assert_eq!(f.cases[1].values[12 + 3], 3.0);
        assert_eq!(f.cases[1].values[2 * 12], 2.0);
        assert_eq!(f.filled, 12);
        let f = p("@classLabel true a\n@data\n1,NaN,3,?,nan:a\n").unwrap();
        assert_eq!(
            (f.cases[0].values.clone(), f.filled),
            (vec![1.0, 2.0, 3.0], 1)
        );
        assert_eq!(
            msg("@data\n1,2:?,NaN:a\n"),
            "x.ts:2: channel 2: every value is missing"
        );
        assert!(msg("@data\n1,inf:a\n").contains("infinite values are not supported"));
    }

    #[test]
    fn time_stamped_values_are_read_in_order() {
        // As aeon's UnitTestTimeStamps_TRAIN.ts writes them.
        let text = "@timeStamps True\n@univariate true\n@classLabel true 1 2\n@data\n\
            (2007-01-01 00:00:00,241.97),(2007-01-01 00:01:00,241.75), (2007-01-01 00:02:00,?):1\n";
        let f = p(text).unwrap();
        assert_eq!(f.cases[0].values, vec![241.97, 241.75]);
        assert_eq!(
            msg("@timeStamps true\n@data\n(1,2),3:a\n"),
            "x.ts:3: channel 1 step 2: not a (stamp,value) pair, as @timeStamps true needs"
        );
        assert!(msg("@timeStamps true\n@data\n(1,2),:a\n").contains("step 2: not a"));
        assert!(msg("@timeStamps true\n@data\n(1 2):a\n").contains("step 1: not a"));
    }

    #[test]
    fn wrong_channel_counts_and_unequal_channels_are_rejected() {
        let text = format!("{JV_HEADER}{}:1\n", ["1,2"; 11].join(":"));
        assert_eq!(msg(&text), "x.ts:12: 11 channels, expected 12");
        // Without @dimensions the first case decides.
        let text = "@classLabel true a b\n@data\n1,2:3,4:a\n1,2:b\n";
        assert_eq!(msg(text), "x.ts:4: 1 channels, expected 2");
        let text = "@univariate true\n@data\n1,2:3,4:a\n";
        assert_eq!(msg(text), "x.ts:3: 2 channels, expected 1");
        let text = "@data\n1,2:3:a\n";
        assert!(msg(text).contains("channel 2 has 1 steps but channel 1 has 2"));
    }

    #[test]
    fn other_header_problems() {
        assert!(msg("@classLabel true a\n@data\n1,2:c\n").contains("label \"c\" is not one of"));
        assert!(msg("@targetLabel true\n@data\n").contains("regression"));
        assert!(msg("@classLabel false\n@data\n").contains("no class labels"));
        assert!(msg("@dimensions twelve\n@data\n").contains("positive whole number"));
        assert!(msg("@colour blue\n@data\n").starts_with("x.ts:1: unknown header line @colour"));
        assert!(msg("1,2:a\n").contains("data before the @data line"));
        assert!(msg("@data\n1,x:a\n").contains("\"x\" is not a number"));
        assert!(msg("@problemName a\n").contains("no @data line"));
        assert!(msg("@data\n\n").contains("no training text"));
        assert!(msg("@classLabel true a a\n@data\n").contains("twice"));
    }
}
