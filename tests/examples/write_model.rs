//! Writes a model with random weights, for building the firmware without a trained model
//! (e.g. to measure the footprint at another hidden size or of another cell kind):
//!
//! ```text
//! cargo run -p tests --example write_model -- OUT.rnn HIDDEN [SEED [CELL [LAYERS [WEIGHTS]]]]
//! ```
//!
//! `CELL` is `elman` (the default), `gru` or `lstm`, `LAYERS` 1 to 4 (default 1),
//! `WEIGHTS` `f32` (the default) or `int8` or `int16` (the same float weights quantized by
//! `rnn-core`, format version 3: `tests::fixture::quantized_bytes`). The vocabulary is the
//! dinosaur names' (`\n` and `a`–`z`), so I = O = 27.

use std::path::PathBuf;
use std::process::ExitCode;

use rnn_core::{CellKind, Precision};

const USAGE: &str =
    "usage: write_model OUT.rnn HIDDEN [SEED [elman|gru|lstm [LAYERS [f32|int8|int16]]]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, hidden, rest @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if rest.len() > 4 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let seed = rest.first().map_or(Ok(1), |s| s.parse::<u64>());
    let cell = match rest.get(1).map(String::as_str) {
        None | Some("elman") => Some(CellKind::Elman),
        Some("gru") => Some(CellKind::Gru),
        Some("lstm") => Some(CellKind::Lstm),
        Some(_) => None,
    };
    let layers = rest.get(2).map_or(Ok(1), |s| s.parse::<u8>());
    let weights = match rest.get(3).map(String::as_str) {
        None | Some("f32") => Some(None),
        Some("int8") => Some(Some(Precision::Int8)),
        Some("int16") => Some(Some(Precision::Int16)),
        Some(_) => None,
    };
    let (Ok(hidden @ 1..), Ok(seed), Some(cell), Ok(layers @ 1..=4), Some(weights)) =
        (hidden.parse::<usize>(), seed, cell, layers, weights)
    else {
        eprintln!(
            "error: HIDDEN must be a whole number above 0, SEED a whole number, CELL one of \
             elman, gru, lstm, LAYERS 1 to 4 and WEIGHTS one of f32, int8, int16\n{USAGE}"
        );
        return ExitCode::from(2);
    };
    let vocab = tests::fixture::DINO_VOCAB;
    // One Elman layer keeps the original fixture's weights (the same file as before).
    let bytes = if cell == CellKind::Elman && layers == 1 {
        tests::fixture::elman_bytes(vocab, hidden, seed)
    } else {
        tests::fixture::network_bytes(cell, layers, vocab, hidden, seed)
    };
    let bytes = match weights {
        Some(precision) => tests::fixture::quantized_bytes(&bytes, precision),
        None => bytes,
    };
    let path = PathBuf::from(out);
    tests::fixture::save(&path, &bytes);
    println!(
        "wrote {} ({} bytes, {} x {layers}, H={hidden}, {} weights)",
        path.display(),
        bytes.len(),
        cell.name(),
        weights.unwrap_or(Precision::F32).name()
    );
    ExitCode::SUCCESS
}
