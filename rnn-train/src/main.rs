//! `rnn-train`: train an Elman, GRU or LSTM network (1 to 4 layers) to predict the next
//! character or to classify sequences, sample from it, evaluate, inspect, and move
//! weights to and from JSON. Every error is one line on stderr; bad input (files, flags)
//! exits with code 2, Ctrl-C during training with 130, other failures with 1.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rnn_train::cli;

#[derive(Parser)]
#[command(
    name = "rnn-train",
    version,
    about = "Train small recurrent networks (Elman, GRU, LSTM) for rnn-core: next-character models and sequence classifiers",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Train(Box<cli::train::TrainCmd>),
    Sample(cli::sample::SampleCmd),
    Eval(cli::eval::EvalCmd),
    Inspect(cli::inspect::InspectCmd),
    Quantize(cli::quantize::QuantizeCmd),
    Export(cli::export::ExportCmd),
    Import(cli::export::ImportCmd),
    Bench(cli::bench::BenchCmd),
}

fn run(cli: Cli) -> rnn_train::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Train(t) => {
            rnn_train::train::interrupt::install()?;
            t.run().map(|_| ())
        }
        Command::Sample(c) => c.run(&mut out),
        Command::Eval(c) => c.run(&mut out),
        Command::Inspect(c) => c.run(&mut out),
        Command::Quantize(c) => c.run(&mut out),
        Command::Export(c) => c.run(),
        Command::Import(c) => c.run(),
        Command::Bench(c) => c.run(&mut out),
    }
}

/// The exit status of a process killed by SIGPIPE, as shells report it (128 + 13).
const BROKEN_PIPE_EXIT: i32 = 141;

/// `rnn-train train … | head` closes the pipe while training still prints: Rust ignores
/// SIGPIPE, so `println!` panics. That is the reader having seen enough, not a bug: exit
/// quietly as a program killed by SIGPIPE would (the model file is rewritten atomically,
/// so what was written stays whole).
fn exit_quietly_on_a_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload_as_str().unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_a_closed_stdout();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ rnn_train::Error::Interrupted { .. }) => {
            eprintln!("rnn-train: {e}");
            ExitCode::from(rnn_train::train::interrupt::EXIT_CODE)
        }
        Err(e) => {
            // One line, whatever the message holds.
            let msg = e.to_string().replace('\n', " ");
            eprintln!("rnn-train: error: {msg}");
            if e.is_bad_input() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
