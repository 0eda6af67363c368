//! The subcommands of the `rnn-train` binary, one file each, callable from tests: each
//! holds its command-line arguments (clap) and what it does. The binary (`main.rs`) only
//! parses the command line and maps errors to exit codes.

pub mod bench;
pub mod eval;
pub mod export;
pub mod inspect;
pub mod next_model;
pub mod quantize;
pub mod sample;
pub mod train;

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Maps an `rnn-core` error while using a model to this crate's error.
fn core_err(path: &Path) -> impl Fn(rnn_core::Error) -> Error + '_ {
    move |e| Error::Model {
        path: path.into(),
        reason: e.to_string(),
    }
}

/// A zeroed buffer for the column-major copy of a float model's weights
/// (`rnn_core::columns_len`), which the host tools run their models through: the bits of
/// the file's layout in about half the time. A command makes one or two models, so the
/// buffer lives as long as the process does.
fn column_buffer(
    view: &rnn_core::ModelView<'_>,
) -> std::result::Result<&'static mut [rnn_core::Column], rnn_core::Error> {
    Ok(vec![rnn_core::Column::ZERO; rnn_core::columns_len(view)?].leak())
}

fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Writes one line to the command's output.
fn line(out: &mut dyn Write, s: impl std::fmt::Display) -> Result<()> {
    writeln!(out, "{s}").map_err(|e| Error::io("<stdout>", e))
}

/// The last part of a path, for plot titles.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Every core of the machine, the default of `--threads`.
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
