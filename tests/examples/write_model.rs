//! Writes an Elman model with random weights, for building the firmware without a trained
//! model (e.g. to measure the footprint at another hidden size):
//!
//! ```text
//! cargo run -p tests --example write_model -- OUT.rnn HIDDEN [SEED]
//! ```
//!
//! The vocabulary is the dinosaur names' (`\n` and `a`–`z`), so I = O = 27.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, hidden, seed) = match args.as_slice() {
        [out, hidden] => (out, hidden.parse::<usize>(), Ok(1)),
        [out, hidden, seed] => (out, hidden.parse::<usize>(), seed.parse::<u64>()),
        _ => {
            eprintln!("usage: write_model OUT.rnn HIDDEN [SEED]");
            return ExitCode::from(2);
        }
    };
    let (Ok(hidden @ 1..), Ok(seed)) = (hidden, seed) else {
        eprintln!("error: HIDDEN must be a whole number above 0 and SEED a whole number");
        return ExitCode::from(2);
    };
    let bytes = tests::fixture::elman_bytes(tests::fixture::DINO_VOCAB, hidden, seed);
    let path = PathBuf::from(out);
    tests::fixture::save(&path, &bytes);
    println!(
        "wrote {} ({} bytes, H={hidden})",
        path.display(),
        bytes.len()
    );
    ExitCode::SUCCESS
}
