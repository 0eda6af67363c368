//! `rnn-train`: trains small Elman recurrent networks on text, on the host, and writes the
//! `.rnn` model files that `rnn-core` runs bit-for-bit on microcontrollers.
//!
//! The network, in the notation used throughout the project:
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)
//! y_t = softmax(W_ya · a_t + b_y)
//! ```
//!
//! with `W_ax` H×I, `W_aa` H×H, `b_a` H, `W_ya` O×H and `b_y` O, all row-major f32, `x_t`
//! one-hot over the vocabulary (or the zero vector on the first step of a name).

pub mod atomic;
pub mod checkpoint;
pub mod commands;
pub mod data;
pub mod elman;
pub mod error;
pub mod exact;
pub mod fastmath;
pub mod json;
pub mod model;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod train;

pub use error::{Error, Result};
