//! Writes one of the QEMU tests' fixture classifiers, taggers or regression models (random
//! weights), for building the firmware in classify or streaming mode without a trained
//! model:
//!
//! ```text
//! cargo run -p tests --example write_classifier -- OUT.rnn words|utf8-words|dense|conv|tag|regress
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

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    const USAGE: &str = "usage: write_classifier OUT.rnn words|utf8-words|dense|conv|tag|regress";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = match args.as_slice() {
        [_, kind] if kind == "words" => tests::fixture::WORD_CLASSIFIER,
        [_, kind] if kind == "utf8-words" => tests::fixture::UTF8_WORD_CLASSIFIER,
        [_, kind] if kind == "dense" => tests::fixture::DENSE_CLASSIFIER,
        [_, kind] if kind == "conv" => tests::fixture::CONV_CLASSIFIER,
        [_, kind] if kind == "tag" => tests::fixture::TAGGER,
        [_, kind] if kind == "regress" => tests::fixture::REGRESSOR,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = tests::fixture::classifier_bytes(&spec);
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
