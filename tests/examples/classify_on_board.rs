//! Classifies a test set on an emulated board: builds the firmware with a classifier
//! embedded, sends every case over UART0 (a `.ts` case as one comma-separated vector per
//! line and an empty line; a `label<TAB>text` example as its word), checks that every
//! answer is byte-identical to the host's (`tests::protocol::Reference`, the same
//! `rnn-core` on x86-64), and prints the board's accuracy.
//!
//! ```text
//! cargo run --release -p tests --example classify_on_board -- MODEL.rnn TEST.ts|TEST.tsv [BOARD [N]]
//! ```
//!
//! `BOARD` is `lm3s6965evb` (the default), `mps2-an386` or `microbit`; `N` limits the run
//! to the first `N` cases. The firmware is built to hold the longest case (`RNN_MAX_STEPS`,
//! unless it is set).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use tests::protocol::{Reference, DEFAULT_MAX_STEPS};
use tests::qemu;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classify_on_board: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The protocol's input for every case, the case labels, and the most steps of a case.
fn cases(data: &Path, limit: usize) -> Result<(Vec<u8>, Vec<String>, usize), String> {
    let mut input = Vec::new();
    let mut labels = Vec::new();
    let mut longest = 0;
    let raw = rnn_train::data::RawSet::read(data).map_err(|e| e.to_string())?;
    if let rnn_train::data::RawSet::Series(file) = &raw {
        for case in file.cases.iter().take(limit) {
            longest = longest.max(case.len);
            for step in case.values.chunks(file.channels.max(1)) {
                // `{}` prints the shortest text that reads back as the same f32.
                let line: Vec<String> = step.iter().map(|v| format!("{v}")).collect();
                input.extend_from_slice(line.join(",").as_bytes());
                input.push(b'\n');
            }
            input.push(b'\n');
            labels.push(case.label.clone());
        }
    } else if let rnn_train::data::RawSet::Text(file) = &raw {
        for ex in file.examples.iter().take(limit) {
            longest = longest.max(ex.text.chars().count());
            input.extend_from_slice(ex.text.as_bytes());
            input.push(b'\n');
            labels.push(ex.label.clone());
        }
    }
    Ok((input, labels, longest))
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    const USAGE: &str = "usage: classify_on_board MODEL.rnn TEST.ts|TEST.tsv [BOARD [N]]";
    let (model, data, board, limit) = match args.as_slice() {
        [m, d] => (m, d, "lm3s6965evb", None),
        [m, d, b] => (m, d, b.as_str(), None),
        [m, d, b, n] => (
            m,
            d,
            b.as_str(),
            Some(n.parse::<usize>().map_err(|_| USAGE)?),
        ),
        _ => return Err(USAGE.into()),
    };
    // The firmware is built from its own directory: hand it an absolute path.
    let model = std::fs::canonicalize(PathBuf::from(model)).map_err(|e| format!("{model}: {e}"))?;
    let bytes = std::fs::read(&model).map_err(|e| format!("{}: {e}", model.display()))?;
    let (mut input, labels, longest) = cases(Path::new(data), limit.unwrap_or(usize::MAX))?;
    // The firmware holds a sequence of `RNN_MAX_STEPS` steps: unless told otherwise, as
    // many as the longest case has (the firmware's default of 32 would refuse longer
    // series, here and on the host alike).
    let max_steps = match std::env::var("RNN_MAX_STEPS") {
        Ok(n) => n
            .parse()
            .map_err(|_| format!("RNN_MAX_STEPS {n:?} is not a number"))?,
        Err(_) => longest.max(DEFAULT_MAX_STEPS),
    };
    std::env::set_var("RNN_MAX_STEPS", max_steps.to_string());
    let mut reference = Reference::with_max_steps(&bytes, max_steps)
        .map_err(|e| format!("{}: {e}", model.display()))?;
    let expected = reference.feed(&input);
    // The reference does not model `/exit`; the board answers it with `ok: exit`.
    input.extend_from_slice(b"/exit\n");

    let board = qemu::all()
        .iter()
        .copied()
        .find(|b| b.name == board)
        .ok_or_else(|| format!("unknown board {board}"))?;
    // One target directory for the examples' builds (stream_on_board's too): another
    // model rebuilds only the firmware crate.
    let target_dir = qemu::firmware_dir().join("target").join("on-board");
    let elf = target_dir.join(format!("{}.elf", board.name));
    eprintln!(
        "building the firmware for {} with {}",
        board.name,
        model.display()
    );
    qemu::build(&board, &model, None, &target_dir, &elf)?;
    eprintln!(
        "classifying {} cases on the emulated {}",
        labels.len(),
        board.name
    );
    let session = qemu::run(&board, &elf, input, false, Duration::from_secs(600));
    let text = session.text();
    let answers: Vec<&str> = text
        .split_once("READY\n")
        .map_or("", |(_, rest)| rest)
        .lines()
        .collect();
    let expected = String::from_utf8_lossy(&expected).into_owned() + "ok: exit\n";
    let expected: Vec<&str> = expected.lines().collect();
    if let Some(k) =
        (0..answers.len().max(expected.len())).find(|&k| answers.get(k) != expected.get(k))
    {
        return Err(format!(
            "answer {} differs: the board said {:?}, the host {:?}",
            k + 1,
            answers.get(k),
            expected.get(k)
        ));
    }
    let correct = answers
        .iter()
        .zip(&labels)
        .filter(|(a, l)| a.split(' ').next() == Some(l.as_str()))
        .count();
    // An error line is an answer too (the host gives the same one), but no class.
    let errors = answers.iter().filter(|a| a.starts_with("error")).count();
    println!(
        "{}: {} of {} cases right (accuracy {:.4}{}); all {} answers byte-identical to the host's",
        board.name,
        correct,
        labels.len(),
        correct as f64 / labels.len().max(1) as f64,
        if errors > 0 {
            format!("; {errors} answered with an error line")
        } else {
            String::new()
        },
        answers.len() - 1
    );
    if session.status.is_none_or(|s| !s.success()) {
        return Err(format!(
            "the firmware did not exit cleanly: {:?}",
            session.status
        ));
    }
    Ok(())
}
