//! Every way the trainer can fail, as one typed error.
//!
//! Messages are written to be printed as a single line on stderr by the binary, so none of
//! them contains a newline, and each names the file (and line) that the problem is in when
//! there is one. [`Error::is_bad_input`] decides the exit code: 2 for anything the user can
//! fix by giving different files or flags, 1 for everything else.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    // The I/O error is part of the message, not a `source`: the CLI prints the whole chain
    // on one line, and a source would repeat it.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },

    #[error("{path}: the file is empty")]
    EmptyFile { path: PathBuf },

    #[error("{path}: no training text (only blank lines)")]
    NoSequences { path: PathBuf },

    #[error("{path}:{line}: invalid UTF-8 (byte offset {offset} in the file)")]
    InvalidUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },

    #[error("{path}:{line}: character {ch:?} is not in the model's vocabulary {vocab:?}")]
    UnknownChar {
        path: PathBuf,
        line: usize,
        ch: char,
        vocab: String,
    },

    #[error("{path}: {reason}")]
    Data { path: PathBuf, reason: String },

    /// A problem on one line of a data file (`.ts` series, `label<TAB>text` lines).
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("{path}: not a valid model file: {reason}")]
    Model { path: PathBuf, reason: String },

    #[error("{path}: {reason}")]
    Json { path: PathBuf, reason: String },

    #[error("{path}: key `{key}` has shape {found}, expected {expected}")]
    Shape {
        path: PathBuf,
        key: String,
        expected: String,
        found: String,
    },

    #[error("{path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },

    #[error("invalid option: {0}")]
    Config(String),

    #[error(
        "training diverged: the loss became {value} in epoch {epoch}; \
         the last good model (after epoch {last_good_epoch}) is kept in {kept}"
    )]
    Diverged {
        epoch: usize,
        value: f64,
        last_good_epoch: usize,
        kept: PathBuf,
    },

    /// Ctrl-C: the model of the best (or last completed) epoch was written.
    #[error("interrupted after epoch {epoch}; the best model so far is in {kept}")]
    Interrupted { epoch: usize, kept: PathBuf },

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the failure comes from the files or flags the user gave (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Io { err, .. } => matches!(
                err.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::InvalidData
                    | std::io::ErrorKind::IsADirectory
            ),
            Error::EmptyFile { .. }
            | Error::NoSequences { .. }
            | Error::InvalidUtf8 { .. }
            | Error::UnknownChar { .. }
            | Error::Data { .. }
            | Error::Parse { .. }
            | Error::Model { .. }
            | Error::Json { .. }
            | Error::Shape { .. }
            | Error::Checkpoint { .. }
            | Error::Config(_) => true,
            Error::Diverged { .. } | Error::Interrupted { .. } | Error::Internal(_) => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err: source,
        }
    }
}
