//! Streams a CSV recording through a tagger or regression model on an emulated board:
//! builds the firmware with the model embedded (stream mode), sends the file's rows as one
//! recording, one row per line (no `/reset`), checks that every answer is byte-identical
//! to the host's (`tests::protocol::Reference`, the same `rnn-core` on x86-64), and prints
//! what the board's answers score: the per-step accuracy of a tagger against the label
//! column, or the RMSE of a regression model against its target columns (in the targets'
//! units, from the four decimals the board prints). Then `/bench`'s instructions per step,
//! in a second short session under `qemu -icount shift=0`.
//!
//! ```text
//! cargo run --release -p tests --example stream_on_board -- MODEL.rnn DATA.csv [BOARD [STEPS]]
//! ```
//!
//! `DATA.csv` has a header row. Its columns are taken by position: the **last** column is
//! a tagger's label (its values the model's class names), the last `O` columns are a
//! regression model's `O` targets (their names must be the model's target names, in
//! order), and every column before them is an input, in file order (there must be `I`).
//! So `c1,…,c12,speaker` for a 12-channel speaker tagger and `x,next` for a one-step-ahead
//! regression; a file with other columns (a group or time column, say) must be cut to
//! this shape first. The cells are read by `rnn-train`'s CSV reader (as `rnn-train eval`
//! reads them), and each value is sent as the shortest text that reads back as the same
//! `f32`. `BOARD` is `lm3s6965evb` (the default), `mps2-an386` or `microbit`; `STEPS`
//! limits the run to the first `STEPS` rows.
//!
//! Exit status 0 when every answer matched, 1 when the board's answers differ from the
//! host's (or are missing, or the firmware did not exit cleanly), 2 for any other error
//! (usage, the files, the build).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use rnn_core::{ModelView, Task};
use rnn_train::data::csv::{self, Columns, Outputs, StepTargets};
use tests::protocol::{line_max, Reference, DEFAULT_MAX_STEPS};
use tests::qemu;

/// How the run failed: the board disagreed with the host (exit 1), or something else did
/// (exit 2).
enum Failure {
    Board(String),
    Other(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Other(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Self {
        Failure::Other(e.into())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Board(e)) => {
            eprintln!("stream_on_board: error: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Other(e)) => {
            eprintln!("stream_on_board: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The names of the header row: the first non-blank line, split at the separator
/// `rnn-train`'s reader picks (a comma, else a semicolon, else a tab), each name trimmed
/// and unquoted.
fn header(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| format!("{}: no header row", path.display()))?;
    let separator = [',', ';', '\t']
        .into_iter()
        .find(|&c| first.contains(c))
        .unwrap_or(',');
    Ok(first
        .split(separator)
        .map(|name| {
            let name = name.trim();
            let unquoted = name
                .strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .map(|n| n.replace("\"\"", "\""));
            unquoted.unwrap_or_else(|| name.to_string())
        })
        .collect())
}

/// The shorter of `{}` and `{:e}`: both read back as the same `f32`.
fn number(v: f32) -> String {
    let (plain, exp) = (format!("{v}"), format!("{v:e}"));
    if exp.len() < plain.len() {
        exp
    } else {
        plain
    }
}

fn run() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    const USAGE: &str = "usage: stream_on_board MODEL.rnn DATA.csv [BOARD [STEPS]]";
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
    let board = qemu::all()
        .iter()
        .copied()
        .find(|b| b.name == board)
        .ok_or_else(|| format!("unknown board {board}"))?;
    // The firmware is built from its own directory: hand it an absolute path.
    let model = std::fs::canonicalize(PathBuf::from(model)).map_err(|e| format!("{model}: {e}"))?;
    let bytes = std::fs::read(&model).map_err(|e| format!("{}: {e}", model.display()))?;
    let view = ModelView::parse(&bytes).map_err(|e| format!("{}: {e}", model.display()))?;
    let h = view.header();
    if !matches!(h.task, Task::Tag | Task::Regress) || !view.vocab().is_empty() {
        return Err(format!(
            "{}: a {} model{}; stream_on_board runs taggers and regression models of dense \
             vectors (classify_on_board runs classifiers)",
            model.display(),
            h.task.name(),
            if view.vocab().is_empty() {
                ""
            } else {
                " with a vocabulary"
            }
        )
        .into());
    }
    let tag = h.task == Task::Tag;
    let (i, o) = (h.input as usize, h.output as usize);
    let names: Vec<&str> = view.classes().iter().collect();

    // The columns: the inputs, then the label (1) or the targets (O).
    let data = Path::new(data);
    let columns = header(data)?;
    let k = if tag { 1 } else { o };
    if columns.len() != i + k {
        return Err(format!(
            "{}: {} columns ({}); the model reads {i} inputs and {}, so the file needs {} \
             columns: the inputs, then {}",
            data.display(),
            columns.len(),
            columns.join(","),
            if tag {
                "answers a class".to_string()
            } else {
                format!("answers {o} targets")
            },
            i + k,
            if tag {
                "the label column".to_string()
            } else {
                format!("the target columns {}", names.join(","))
            }
        )
        .into());
    }
    let (inputs, outputs) = columns.split_at(i);
    if !tag && outputs != names.as_slice() {
        return Err(format!(
            "{}: the last {o} columns are {}, the model's targets are {}",
            data.display(),
            outputs.join(","),
            names.join(",")
        )
        .into());
    }
    let chosen = Columns {
        inputs: Some(inputs.to_vec()),
        outputs: if tag {
            Outputs::Label(outputs[0].clone())
        } else {
            Outputs::Targets(outputs.to_vec())
        },
        group: None,
    };
    let csv = csv::read(data, &chosen).map_err(|e| e.to_string())?;
    let recording = csv
        .recordings
        .first()
        .ok_or_else(|| format!("{}: no rows", data.display()))?;
    let rows = (recording.x.len() / i).min(limit.unwrap_or(usize::MAX));
    let mut input = Vec::new();
    for step in recording.x.chunks(i).take(rows) {
        let line: Vec<String> = step.iter().map(|&v| number(v)).collect();
        input.extend_from_slice(line.join(",").as_bytes());
        input.push(b'\n');
    }
    let longest = line_max(&view, DEFAULT_MAX_STEPS);
    if let Some(n) = input.split(|&b| b == b'\n').position(|l| l.len() > longest) {
        return Err(format!(
            "{}: row {} is longer than the firmware's {longest}-byte lines",
            data.display(),
            n + 1
        )
        .into());
    }

    let mut reference = Reference::new(&bytes).map_err(|e| format!("{}: {e}", model.display()))?;
    let expected = reference.feed(&input);
    let expected = reference.banner(board.name, board.cpu, bytes.len())
        + &String::from_utf8_lossy(&expected)
        + "ok: exit\n";
    // The reference does not model `/exit`; the board answers it with `ok: exit`.
    input.extend_from_slice(b"/exit\n");

    // One target directory for the examples' builds: another model rebuilds only the
    // firmware crate.
    let target_dir = qemu::firmware_dir().join("target").join("on-board");
    let elf = target_dir.join(format!("{}-stream.elf", board.name));
    eprintln!(
        "building the firmware for {} with {}",
        board.name,
        model.display()
    );
    qemu::build(&board, &model, None, &target_dir, &elf)?;
    eprintln!(
        "streaming {rows} rows of {} on the emulated {} (one recording)",
        data.display(),
        board.name
    );
    let started = Instant::now();
    let session = qemu::run(&board, &elf, input, false, Duration::from_secs(3 * 3600));
    let took = started.elapsed();
    let text = session.text();
    let answers: Vec<&str> = text.lines().collect();
    let expected: Vec<&str> = expected.lines().collect();
    if let Some(n) =
        (0..answers.len().max(expected.len())).find(|&n| answers.get(n) != expected.get(n))
    {
        // Lines 0 and 1 are the banner and READY; the answers to the rows follow.
        let what = match n {
            0 => "the banner".to_string(),
            1 => "READY".to_string(),
            n if n - 2 < rows => format!("the answer to row {}", n - 1),
            _ => "the answer to /exit".to_string(),
        };
        return Err(Failure::Board(format!(
            "{what} differs: the board said {:?}, the host {:?} (QEMU status {:?}{})",
            answers.get(n),
            expected.get(n),
            session.status,
            if session.stderr.trim().is_empty() {
                String::new()
            } else {
                format!(", stderr: {}", session.stderr.trim())
            }
        )));
    }
    if session.status.is_none_or(|s| !s.success()) {
        return Err(Failure::Board(format!(
            "the firmware did not exit cleanly: {:?}",
            session.status
        )));
    }
    let answers = &answers[2..2 + rows];
    println!(
        "{}: {rows} answers byte-identical to the host's ({:.0} s under QEMU)",
        board.name,
        took.as_secs_f64()
    );

    // What the board's answers score.
    match &recording.y {
        StepTargets::Labels(labels) => {
            let right = answers
                .iter()
                .zip(labels)
                .filter(|(a, l)| a.split(" p=").next() == Some(l.as_str()))
                .count();
            let unknown = labels[..rows]
                .iter()
                .filter(|l| !names.contains(&l.as_str()))
                .count();
            println!(
                "{}: per-step accuracy {:.4} ({right} of {rows} steps tagged right){}",
                board.name,
                right as f64 / rows.max(1) as f64,
                if unknown > 0 {
                    format!(", {unknown} labels not among the model's classes")
                } else {
                    String::new()
                }
            );
        }
        StepTargets::Values(targets) => {
            let mut squares = vec![0.0f64; o];
            for (answer, truth) in answers.iter().zip(targets.chunks(o)) {
                let values: Vec<f64> = answer
                    .split(',')
                    .map(|v| v.parse::<f64>().unwrap_or(f64::NAN))
                    .collect();
                for (s, (v, t)) in squares.iter_mut().zip(values.iter().zip(truth)) {
                    *s += (v - f64::from(*t)).powi(2);
                }
            }
            for (name, s) in names.iter().zip(&squares) {
                println!(
                    "{}: RMSE of {name} {:.6} (its units; over {rows} steps, from the 4-decimal \
                     answers)",
                    board.name,
                    (s / rows.max(1) as f64).sqrt()
                );
            }
        }
        StepTargets::None => unreachable!("the label or targets were chosen"),
    }

    // `/bench`, counted exactly under `-icount shift=0`: a short session of its own.
    let session = qemu::run(
        &board,
        &elf,
        b"/bench\n/exit\n".to_vec(),
        true,
        Duration::from_secs(600),
    );
    let text = session.text();
    match text.lines().find_map(|l| l.strip_prefix("bench: ")) {
        Some(bench) => println!("{}: /bench: {bench}", board.name),
        None => eprintln!("stream_on_board: /bench gave no count: {text}"),
    }
    Ok(())
}
