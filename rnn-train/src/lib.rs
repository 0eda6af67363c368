//! `rnn-train`: trains small recurrent networks on the host and writes the `.rnn` model
//! files that `rnn-core` runs bit-for-bit on microcontrollers.
//!
//! The Elman network, in the notation used throughout the project:
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)
//! y_t = softmax(W_ya · a_t + b_y)
//! ```
//!
//! `--cell gru` and `--cell lstm` replace the cell, `--layers N` stacks 1 to 4 of them,
//! and a classifier may read each sequence in both directions. Where things are:
//!
//! - [`nn`]: the network: architecture, model and file I/O, each cell's forward and
//!   backward step side by side, the recurrent driver (BPTT), the loss;
//! - [`train`]: the one training loop and engine for every task, optimisers,
//!   checkpoints, Ctrl-C;
//! - [`data`]: text, `label<TAB>text` and `.ts` files, validation splits;
//! - [`io`]: JSON weights, atomic writes, plots, metrics;
//! - [`cli`]: what each subcommand of the binary does.

pub mod cli;
pub mod data;
pub mod error;
pub mod io;
pub mod nn;
pub mod rng;
pub mod train;

pub use error::{Error, Result};
