//! Weka's ARFF, the form the UEA/UCR archive first published its sets in (its download
//! archives still carry `X_TRAIN.arff` beside `.ts`, and `aeon` ships some), read into the
//! same [`TsFile`] as a `.ts` file, so both forms of a data set train the same bytes.
//!
//! ```text
//! % comment lines start with '%'
//! @relation GunPoint
//! @attribute att0 numeric            univariate: one numeric attribute per time step
//! @attribute att1 numeric
//! @attribute target {1,2}            the class: a nominal attribute, the last one
//! @data
//! -0.64,-0.64,2
//! ```
//!
//! A multivariate set (`BasicMotions`) declares one relational attribute, whose numeric
//! attributes are the time steps, and writes each case as one quoted string of its
//! channels separated by `\n` (backslash, n), then the label:
//!
//! ```text
//! @attribute relationalAtt relational
//! @attribute att0 numeric
//! @end relationalAtt
//! @attribute activity {Standing,Running,Walking,Badminton}
//! @data
//! '0.07,0.08\n-0.9,1.1\n…',Standing
//! ```
//!
//! Keywords are case-insensitive; names and labels may be quoted (`'…'` or `"…"`). The
//! classes are the nominal values in their declared order (as `@classLabel` gives them in
//! a `.ts` file). Missing values (`?`) are filled by linear interpolation in time, and
//! steps missing in every channel at the end of a case dropped as padding (how the archive
//! writes variable-length series; [`super::missing`]).
//!
//! Refused, with the file and line: a last attribute that is not nominal (no class), string
//! or date attributes, sparse rows (`{…}`), a label not among the nominal values, a case
//! with a different number of channels than the first, channels of unequal length in one
//! case, values that are not numbers or are infinite, a channel with no value at all, and a
//! file with no `@data` or no cases.

use std::path::Path;

use super::read_text;
use super::ts::{self, Case, TsFile};
use crate::error::{Error, Result};

/// Reads and checks an ARFF file (UTF-8; CRLF and a byte-order mark are fine).
pub fn read(path: &Path) -> Result<TsFile> {
    parse(&read_text(path)?.text, path)
}

/// The kind of one top-level attribute.
#[derive(Clone, Debug, PartialEq)]
enum Attribute {
    Numeric,
    Relational,
    Nominal(Vec<String>),
}

/// `name` without one pair of surrounding quotes.
fn unquote(name: &str) -> &str {
    let name = name.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = name.strip_prefix(q).and_then(|n| n.strip_suffix(q)) {
            return inner;
        }
    }
    name
}

/// Splits `@attribute NAME TYPE` into its name (quoted or not) and type.
fn name_and_type(rest: &str) -> (&str, &str) {
    let rest = rest.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = rest.strip_prefix(q) {
            if let Some((name, kind)) = inner.split_once(q) {
                return (name, kind.trim());
            }
        }
    }
    rest.split_once(char::is_whitespace)
        .map_or((rest, ""), |(n, k)| (n, k.trim()))
}

/// The fields of a data row split at the commas outside quotes, each trimmed.
fn fields(row: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quote) = (0, None);
    for (i, ch) in row.char_indices() {
        match (quote, ch) {
            (None, '\'' | '"') => quote = Some(ch),
            (Some(q), _) if ch == q => quote = None,
            (None, ',') => {
                out.push(row[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(row[start..].trim());
    out
}

/// Parses the text of an ARFF file; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<TsFile> {
    let err = |line: usize, reason: String| Error::Parse {
        path: path.into(),
        line,
        reason,
    };
    let mut problem = None;
    let mut attributes: Vec<Attribute> = Vec::new();
    let mut in_relational = false;
    let mut in_data = false;
    let mut channels: Option<usize> = None;
    let mut cases = Vec::new();
    let mut filled = 0;
    let mut labels: Vec<String> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        if !in_data {
            let Some(header) = line.strip_prefix('@') else {
                return Err(err(
                    line_no,
                    "data before the @data line (header lines start with '@', comments with '%')"
                        .into(),
                ));
            };
            let (key, rest) = header
                .split_once(char::is_whitespace)
                .map_or((header, ""), |(k, r)| (k, r.trim()));
            match key.to_ascii_lowercase().as_str() {
                "relation" => problem = Some(unquote(rest).to_string()),
                "attribute" => {
                    let (name, kind) = name_and_type(rest);
                    let lower = kind.to_ascii_lowercase();
                    let attribute = if let Some(list) =
                        kind.strip_prefix('{').and_then(|k| k.strip_suffix('}'))
                    {
                        let values: Vec<String> =
                            list.split(',').map(|v| unquote(v).to_string()).collect();
                        Attribute::Nominal(values)
                    } else if ["numeric", "real", "integer"].contains(&lower.as_str()) {
                        Attribute::Numeric
                    } else if lower == "relational" {
                        Attribute::Relational
                    } else {
                        return Err(err(
                            line_no,
                            format!(
                                "attribute {name:?} is of type {kind:?}: only numeric, \
                                 relational and a nominal class are read"
                            ),
                        ));
                    };
                    if in_relational {
                        // The steps of each channel: the rows give their number.
                        if attribute != Attribute::Numeric {
                            return Err(err(
                                line_no,
                                format!(
                                    "attribute {name:?} inside a relational one must be numeric"
                                ),
                            ));
                        }
                        continue;
                    }
                    in_relational = attribute == Attribute::Relational;
                    attributes.push(attribute);
                }
                "end" => in_relational = false,
                "data" => {
                    in_data = true;
                    let Some(Attribute::Nominal(classes)) = attributes.last() else {
                        return Err(err(
                            line_no,
                            "the last @attribute is not nominal (such as {a,b}): no class \
                             to learn"
                                .into(),
                        ));
                    };
                    labels = classes.clone();
                    let mut sorted = labels.clone();
                    sorted.sort();
                    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                        return Err(err(
                            line_no,
                            format!("the class attribute lists {:?} twice", w[0]),
                        ));
                    }
                    let values = &attributes[..attributes.len() - 1];
                    if values.iter().any(|a| matches!(a, Attribute::Nominal(_)))
                        || (values.contains(&Attribute::Relational) && values.len() != 1)
                    {
                        return Err(err(
                            line_no,
                            "the attributes before the class must be numeric (one per step) or \
                             one relational (the channels)"
                                .into(),
                        ));
                    }
                }
                other => return Err(err(line_no, format!("unknown header line @{other}"))),
            }
            continue;
        }
        if line.starts_with('{') {
            return Err(err(
                line_no,
                "sparse ARFF rows ({…}) are not supported".into(),
            ));
        }
        let mut row = fields(line);
        let label = unquote(row.pop().unwrap_or_default());
        if label.is_empty() {
            return Err(err(
                line_no,
                "the class label (the last field) is empty".into(),
            ));
        }
        if !labels.iter().any(|l| l == label) {
            return Err(err(
                line_no,
                format!(
                    "label {label:?} is not one of the class attribute's {{{}}}",
                    labels.join(",")
                ),
            ));
        }
        let chans: Vec<Vec<&str>> = if attributes.first() == Some(&Attribute::Relational) {
            let [series] = row.as_slice() else {
                return Err(err(
                    line_no,
                    format!(
                        "{} fields before the label; a multivariate case is one quoted string \
                         of its channels",
                        row.len()
                    ),
                ));
            };
            unquote(series)
                .split("\\n")
                .map(|chan| chan.split(',').map(str::trim).collect())
                .collect()
        } else {
            vec![row]
        };
        let expected = *channels.get_or_insert(chans.len());
        if chans.len() != expected {
            return Err(err(
                line_no,
                format!("{} channels, expected {expected}", chans.len()),
            ));
        }
        let (mut values, _) = ts::channel_values(&chans, |m| err(line_no, m))?;
        filled += ts::fill(&mut values, expected, |m| err(line_no, m))?;
        cases.push(Case::new(line_no, label, values, expected));
    }
    TsFile {
        path: path.into(),
        problem,
        channels: channels.unwrap_or(1),
        class_labels: labels,
        cases,
        filled,
    }
    .finished(in_data, "an ARFF file")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<TsFile> {
        parse(text, Path::new("x.arff"))
    }

    fn msg(text: &str) -> String {
        crate::data::one_line_error(p(text))
    }

    /// The same cases as a `.ts` file reads them.
    fn ts(text: &str) -> TsFile {
        ts::parse(text, Path::new("x.arff")).unwrap()
    }

    /// `f` without what differs between two forms of one set: the name, the lines.
    fn without_lines(mut f: TsFile) -> TsFile {
        f.problem = None;
        for c in &mut f.cases {
            c.line = 0;
        }
        f
    }

    #[test]
    fn univariate_as_gun_point_writes_it_reads_as_its_ts_twin() {
        let arff = "%comment\n@relation Gun_Point\n\n@attribute att0 numeric\n\
            @attribute att1 NUMERIC\n@attribute att2 real\n@attribute  target {1,2}\n\n@data\n\
            -0.6,-0.5,1e-1,2\n1,?,3,1\n4,5,?,2\n";
        let f = p(arff).unwrap();
        assert_eq!(f.problem.as_deref(), Some("Gun_Point"));
        assert_eq!(f.class_labels, vec!["1", "2"]);
        assert_eq!(f.cases[0].line, 10);
        let twin = ts("@classLabel true 1 2\n@data\n-0.6,-0.5,1e-1:2\n1,?,3:1\n4,5,?:2\n");
        assert_eq!(without_lines(f), without_lines(twin));
    }

    #[test]
    fn multivariate_as_basic_motions_writes_it_reads_as_its_ts_twin() {
        let arff = "@relation 'BasicMotions'\n@attribute relationalAtt relational\n\
            @attribute att0 numeric\n@attribute att1 numeric\n@end relationalAtt\n\
            @attribute activity {Standing,Running}\n@data\n\
            '0.1,0.2\\n1,2\\n-3,4',Running\n\"5,6,7\\n8,?,9\\n1,1,1\",'Standing'\n";
        let f = p(arff).unwrap();
        assert_eq!(
            (f.channels, f.class_labels.clone()),
            (3, vec!["Standing".into(), "Running".into()])
        );
        let twin = ts("@classLabel true Standing Running\n@data\n\
            0.1,0.2:1,2:-3,4:Running\n5,6,7:8,?,9:1,1,1:Standing\n");
        assert_eq!(without_lines(f), without_lines(twin));
    }

    #[test]
    fn padding_at_the_end_is_dropped() {
        let f = p(
            "@attribute a numeric\n@attribute b numeric\n@attribute c numeric\n\
            @attribute k {x}\n@data\n1,2,?,x\n",
        )
        .unwrap();
        assert_eq!((f.cases[0].len, f.filled), (2, 0));
    }

    #[test]
    fn bad_files_get_one_line_each() {
        let head = "@attribute a numeric\n@attribute k {x,y}\n@data\n";
        assert_eq!(
            msg(&format!("{head}1,z\n")),
            "x.arff:4: label \"z\" is not one of the class attribute's {x,y}"
        );
        assert!(msg(&format!("{head}q,x\n")).contains("\"q\" is not a number"));
        assert!(msg(&format!("{head}inf,x\n")).contains("infinite values are not supported"));
        assert!(msg(&format!("{head}?,x\n")).contains("every value is missing"));
        assert!(msg(&format!("{head}{{0 1, 1 x}}\n")).contains("sparse ARFF rows"));
        assert!(msg(&format!("{head}1,\n")).contains("label (the last field) is empty"));
        assert!(msg(&format!("{head}\n")).contains("no training text"));
        assert!(msg("@attribute a numeric\n@attribute k numeric\n@data\n").contains("not nominal"));
        assert!(
            msg("@attribute s string\n@attribute k {x}\n@data\n").contains("of type \"string\"")
        );
        assert!(msg("@attribute k {x,x}\n@data\n").contains("twice"));
        assert!(msg("@attribute a {p,q}\n@attribute k {x}\n@data\n").contains("must be numeric"));
        assert!(msg("@relation r\n").contains("no @data line"));
        assert!(msg("1,2\n").contains("data before the @data line"));
        assert!(msg("@colour blue\n@data\n").contains("unknown header line @colour"));
        let multi =
            "@attribute r relational\n@attribute a numeric\n@end r\n@attribute k {x}\n@data\n";
        assert!(msg(&format!("{multi}'1,2\\n3',x\n")).contains("channel 2 has 1 steps"));
        assert!(msg(&format!("{multi}'1\\n2',x\n'1',x\n")).contains("1 channels, expected 2"));
        assert!(msg(&format!("{multi}1,2,x\n")).contains("one quoted string"));
    }
}
