//! Writes one of the QEMU tests' fixture classifiers, taggers or regression models (random
//! weights), for building the firmware in classify or streaming mode without a trained
//! model:
//!
//! ```text
//! cargo run -p tests --example write_classifier -- OUT.rnn words|utf8-words|dense|conv|tag|regress [int8|int16]
//! ```
//!
//! `words`: a bidirectional GRU (H = 16) over `a`–`z`, `'`, `-`, `/`, six classes;
//! `utf8-words`: a one-direction LSTM (H = 16) over `a`–`z`, 14 non-ASCII letters (2, 3
//! and 4 bytes in UTF-8), `'`, `-`, `/`, three classes;
//! `dense`: a bidirectional LSTM (H = 12) over 12 normalised channels, nine classes;
//! `conv`: a convolutional front-end (`4:8:2`, ReLU) over 6 normalised channels, then a
//! bidirectional GRU (H = 12), four classes;
//! `tag`: a tagger, a one-direction GRU (H = 16) over 6 normalised channels, four classes;
//! `regress`: a regression model, two LSTM layers (H = 12) over 3 channels, two targets.
//!
//! `int8` or `int16` writes the model quantized (format version 3, `fixture::quantized_bytes`,
//! as the QEMU tests quantize their fixtures).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    const USAGE: &str = "usage: write_classifier OUT.rnn \
                         words|utf8-words|dense|conv|tag|regress [int8|int16]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let precision = match args.get(2).map(String::as_str) {
        None if args.len() == 2 => None,
        Some("int8") if args.len() == 3 => Some(rnn_core::Precision::Int8),
        Some("int16") if args.len() == 3 => Some(rnn_core::Precision::Int16),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let spec = match args[1].as_str() {
        "words" => tests::fixture::WORD_CLASSIFIER,
        "utf8-words" => tests::fixture::UTF8_WORD_CLASSIFIER,
        "dense" => tests::fixture::DENSE_CLASSIFIER,
        "conv" => tests::fixture::CONV_CLASSIFIER,
        "tag" => tests::fixture::TAGGER,
        "regress" => tests::fixture::REGRESSOR,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut bytes = tests::fixture::classifier_bytes(&spec);
    if let Some(precision) = precision {
        bytes = tests::fixture::quantized_bytes(&bytes, precision);
    }
    let path = PathBuf::from(&args[0]);
    tests::fixture::save(&path, &bytes);
    println!(
        "wrote {} ({} bytes, {} {} x {}, H={}, {} outputs)",
        path.display(),
        bytes.len(),
        spec.task.name(),
        spec.kind.name(),
        spec.layers,
        spec.hidden,
        spec.classes.len()
    );
    ExitCode::SUCCESS
}
