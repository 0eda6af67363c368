//! `rnn-train`: trains small recurrent networks on text, on the host, and writes the
//! `.rnn` model files that `rnn-core` runs bit-for-bit on microcontrollers.
//!
//! The Elman network, in the notation used throughout the project:
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)
//! y_t = softmax(W_ya · a_t + b_y)
//! ```
//!
//! with `W_ax` H×I, `W_aa` H×H, `b_a` H, `W_ya` O×H and `b_y` O, all row-major f32, `x_t`
//! one-hot over the vocabulary (or the zero vector on the first step of a name). `--cell gru`
//! and `--cell lstm` replace the cell ([`gru`], [`lstm`], PyTorch's equations and layout) and
//! `--layers N` stacks 1 to 4 of them ([`stack`]); [`model`] lays out the weights.

pub mod atomic;
pub mod checkpoint;
pub mod classify;
pub mod cls_data;
pub mod cls_train;
pub mod commands;
pub mod data;
pub mod elman;
pub mod error;
pub mod exact;
pub mod fastmath;
pub mod gru;
pub mod json;
pub mod labeled;
pub mod linalg;
pub mod lstm;
pub mod metrics;
pub mod model;
pub mod net;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod stack;
pub mod train;
pub mod ts;

pub use error::{Error, Result};
