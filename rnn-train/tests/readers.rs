//! Every data reader on untrusted text: valid samples of each format cut, spliced and
//! sprinkled with the characters its syntax gives meaning to (proptest) either read or
//! fail with one line of bad-input error; none panics.

use std::path::Path;

use proptest::prelude::*;
use rnn_train::data::csv::{Columns, Outputs};
use rnn_train::data::{arff, csv, labeled, tagged, ts, ucr};
use rnn_train::error::Result;

/// A reader of one format on a file's text.
type Reader = fn(&str) -> Result<()>;

/// One valid sample of each format, and its reader.
fn readers() -> Vec<(&'static str, Reader)> {
    vec![
        (
            "@problemName p\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n\
             1,2,?:3,4,5:a\n6,7:8,?:b\n1,NaN:2,3:b\n",
            |t| ts::parse(t, Path::new("x.ts")).map(drop),
        ),
        (
            "% c\n@relation 'r'\n@attribute r relational\n@attribute a numeric\n@end r\n\
             @attribute k {x,'y'}\n@data\n'1,2\\n3,?',x\n\"4,5\\n6,7\",'y'\n",
            |t| arff::parse(t, Path::new("x.arff")).map(drop),
        ),
        (
            "@relation g\n@attribute a numeric\n@attribute b numeric\n@attribute k {1,2}\n\
             @data\n1,2,1\n?,3,2\n",
            |t| arff::parse(t, Path::new("x.arff")).map(drop),
        ),
        ("1\t0.5\t2\tNaN\n2\t1e3\tNaN\t4\n", |t| {
            ucr::parse(t, Path::new("x.tsv"), ucr::Form::Tsv).map(drop)
        }),
        ("  1.0000000e+00  0.5 2\n  2.0e+00  -1 3e-2\n", |t| {
            ucr::parse(t, Path::new("x.txt"), ucr::Form::Txt).map(drop)
        }),
        ("en\tthe cat\nes\tel gato\n", |t| {
            labeled::parse(t, Path::new("x.txt")).map(drop)
        }),
        ("John lives\tPPPPOOOOOO\nhi\tAB\n", |t| {
            tagged::parse(t, Path::new("x.txt")).map(drop)
        }),
        (
            "id,t,x,y,label\n1,0,0.5,,a\n1,1,NaN,2,b\n2,0,3,4,a\n",
            |t| {
                let columns = Columns {
                    inputs: None,
                    outputs: Outputs::Label("label".into()),
                    group: Some("id".into()),
                };
                csv::parse(t, Path::new("x.csv"), &columns).map(drop)
            },
        ),
    ]
}

/// Cuts, splices and inserts into `sample` at positions taken from `edits`.
fn mutate(sample: &str, edits: &[(usize, usize, char)]) -> String {
    let mut s: Vec<char> = sample.chars().collect();
    for &(at, kind, ch) in edits {
        let at = at % (s.len() + 1);
        match kind % 4 {
            0 => s.insert(at, ch),
            1 if at < s.len() => {
                s.remove(at);
            }
            2 if at < s.len() => s[at] = ch,
            _ => s.truncate(at),
        }
    }
    s.into_iter().collect()
}

fn check(read: Reader, text: &str) -> std::result::Result<(), TestCaseError> {
    if let Err(e) = read(text) {
        prop_assert!(e.is_bad_input(), "not a bad-input error: {e}");
        let m = e.to_string();
        prop_assert!(!m.contains('\n'), "not one line: {m:?}");
    }
    Ok(())
}

#[test]
fn every_valid_sample_reads() {
    for (sample, read) in readers() {
        read(sample).unwrap_or_else(|e| panic!("{sample:?}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_read_or_fail_in_one_line(
        edits in prop::collection::vec(
            (
                0usize..400,
                0usize..4,
                prop::sample::select(vec![
                    '@', ':', ',', '\'', '"', '\\', 'n', '\n', '\r', '\t', '?', '{', '}', '(',
                    ')', '%', '#', ' ', '-', '.', 'e', '9', 'N', 'a', 'é',
                ]),
            ),
            0..12,
        ),
    ) {
        for (sample, read) in readers() {
            check(read, &mutate(sample, &edits))?;
        }
    }

    #[test]
    fn any_text_reads_or_fails_in_one_line(text in "\\PC{0,200}") {
        for (_, read) in readers() {
            check(read, &text)?;
        }
    }
}
