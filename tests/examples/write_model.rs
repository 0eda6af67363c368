//! Writes a model with random weights, for building the firmware without a trained model
//! (e.g. to measure the footprint at another hidden size or of another cell kind):
//!
//! ```text
//! cargo run -p tests --example write_model -- OUT.rnn HIDDEN [SEED [CELL [LAYERS]]]
//! ```
//!
//! `CELL` is `elman` (the default), `gru` or `lstm`, `LAYERS` 1 to 4 (default 1). The
//! vocabulary is the dinosaur names' (`\n` and `a`–`z`), so I = O = 27.

use std::path::PathBuf;
use std::process::ExitCode;

use rnn_core::CellKind;

const USAGE: &str = "usage: write_model OUT.rnn HIDDEN [SEED [elman|gru|lstm [LAYERS]]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, hidden, rest @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if rest.len() > 3 {
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
    let (Ok(hidden @ 1..), Ok(seed), Some(cell), Ok(layers @ 1..=4)) =
        (hidden.parse::<usize>(), seed, cell, layers)
    else {
        eprintln!(
            "error: HIDDEN must be a whole number above 0, SEED a whole number, CELL one of \
             elman, gru, lstm and LAYERS 1 to 4\n{USAGE}"
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
    let path = PathBuf::from(out);
    tests::fixture::save(&path, &bytes);
    println!(
        "wrote {} ({} bytes, {} x {layers}, H={hidden})",
        path.display(),
        bytes.len(),
        cell.name()
    );
    ExitCode::SUCCESS
}
