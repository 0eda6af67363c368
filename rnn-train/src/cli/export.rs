//! `rnn-train export` and `import`: a model file of any task to and from JSON weights
//! (the schemas are in [`crate::io::json`]).

use std::path::PathBuf;

use crate::error::Result;
use crate::nn::Model;

/// The JSON layouts `export` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    /// Our own schema, read back bit for bit by `import` (and `train --init`).
    Json,
}

/// Write a model's weights (and its vocabulary, classes, normalisation) as JSON.
#[derive(clap::Args, Debug)]
pub struct ExportCmd {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    #[arg(long)]
    pub out: PathBuf,
}

impl ExportCmd {
    pub fn run(&self) -> Result<()> {
        match self.format {
            ExportFormat::Json => crate::io::json::export(&Model::load(&self.model)?, &self.out),
        }
    }
}

/// Build a model file from JSON weights: our own schema (any task), or PyTorch's or
/// Keras's layout of a next-symbol model.
#[derive(clap::Args, Debug)]
pub struct ImportCmd {
    /// The JSON weight file.
    pub json: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

impl ImportCmd {
    pub fn run(&self) -> Result<()> {
        crate::io::json::import(&self.json)?.save(&self.out)
    }
}
