//! # rnn-core
//!
//! A `no_std`, heap-free recurrent network that runs the same bits on a host and on a
//! Cortex-M microcontroller. It reads the `.rnn` files that `rnn-train` writes and runs the
//! Elman cell, in the notation used throughout the project:
//!
//! ```text
//! a_t = tanh(W_aa · a_{t-1} + W_ax · x_t + b_a)      hidden state ("activation")
//! y_t = softmax(W_ya · a_t + b_y)                     prediction
//! ```
//!
//! Where things are:
//! - [`cell`]: the forward steps: [`cell::elman`] ([`Elman`] with compile-time sizes `I`,
//!   `H`, `O`; [`ElmanWeights`] with run-time sizes), [`cell::gru`], [`cell::lstm`],
//!   [`Network`] for any kind and 1 to 4 stacked layers, and the [`Cell`] trait;
//!   [`cell::columns`]: a host's copy of the weights column by column ([`columns_len`],
//!   [`Network::columns`]), the same bits in about half the time;
//! - [`format`]: the model file, reader and writer (byte layout in `FORMAT.md`), and the
//!   facts of its header every crate needs: [`CellKind::gates`],
//!   [`CellKind::state_len`], [`CellKind::has_recurrent_bias`], [`Header::layer_input`],
//!   [`Header::param_count`], and the MACs of a step ([`Header::macs_per_step`],
//!   [`Header::head_macs`]);
//! - [`layout`]: every tensor of a file in file order ([`Header::tensors`], the one
//!   definition of that order), with its role, name and shape ([`TensorSpec`]);
//! - [`vocab`]: characters to indices and back;
//! - [`sample`]: softmax, greedy and temperature sampling, the PRNG, and [`generate`];
//! - [`text`]: messages and numbers without `core::fmt` ([`Text`], [`Error::write_to`])
//!   and a correctly rounding `f32` parser without tables ([`parse_f32`]), for firmware;
//! - [`quant`]: integer inference for chips without an FPU: quantized model files
//!   (format versions 3 and 4), [`QNetwork`] and [`QClassifier`] (with the integer
//!   convolutional front-end, [`quant::conv`]), fixed-point `tanh` and `σ`;
//! - [`error`]: the one error type, and [`check_len`], the buffer-length check a firmware
//!   can use for its own buffers; nothing in this crate panics.
//!
//! ## What it costs in flash
//!
//! `firmware-example/src/bin/minimal.rs` is the least a program does with this crate:
//! load the dinosaur model (Elman, H = 25) from flash with every check of the loader
//! ([`ModelView::parse`]: CRC-32, sizes, vocabulary, finite weights), one step from the
//! start symbol, the greedy next symbol, nothing printed. Built for the micro:bit
//! (Cortex-M0, `thumbv6m-none-eabi`, `opt-level = "s"`, LTO) it takes **9,672 bytes** of
//! flash besides the model file — cortex-m-rt's start-up and vector table, the soft-float
//! routines a step calls and [`math`]'s `exp` for its `tanh`, the loader and its checks,
//! and the step — and no static RAM; 9,384 bytes on the Cortex-M3, 14,096 on the
//! Cortex-M4F (built at `opt-level = 3` for speed). With the same model quantized to int8
//! ([`QNetwork`], built for the Elman kind and int8 weights alone through
//! [`quant::Kernel::CELL`] and [`quant::Kernel::PRECISION`]): 10,900 bytes on the
//! Cortex-M0, 11,136 on the M3, 15,240 on the M4F — no soft-float routine, but the
//! integer loader's checks and the `tanh` table. `cargo xtask test` holds both to
//! `firmware-example/size-budget.txt`. (Measured 2026-12-04; the target of 6 KiB is not reached yet.)
//!
//! Messages and numbers go through [`Text`] ([`Error::write_to`]) and dense numbers
//! through [`parse_f32`], so a firmware needs neither `core::fmt` nor `core`'s float
//! parser, which together cost tens of kilobytes on a Cortex-M0.
//!
//! ## Example: load a model, feed characters, sample
//!
//! On a microcontroller the bytes come from `include_bytes!("dinosaurs.rnn")` and stay in
//! flash; here a tiny model is written first so the example runs anywhere.
//!
//! ```
//! use rnn_core::{generate, Elman, Error, Header, Rng, Sampler};
//!
//! // A 3-symbol model ('\n', 'a', 'b') with 4 hidden units and made-up weights.
//! let (i, h, o) = (3usize, 4usize, 3usize);
//! let w_ax: Vec<f32> = (0..h * i).map(|k| (k as f32 * 0.37).sin()).collect();
//! let w_aa: Vec<f32> = (0..h * h).map(|k| (k as f32 * 0.11).cos() * 0.5).collect();
//! let b_a = vec![0.1f32; h];
//! let w_ya: Vec<f32> = (0..o * h).map(|k| (k as f32 * 0.73).sin()).collect();
//! let b_y = vec![0.0f32; o];
//! let header = Header::elman(i as u32, h as u32, o as u32);
//! let mut bytes = [0u8; 256];
//! let len = rnn_core::write_model(&mut bytes, &header, "\nab", &[&w_ax, &w_aa, &b_a, &w_ya, &b_y])?;
//!
//! // Load: every check of the format runs here; the weights stay in `bytes`.
//! let model = Elman::<3, 4, 3>::from_bytes(&bytes[..len])?;
//!
//! // Feed characters through the cell; the state belongs to the caller.
//! let mut a = [0.0f32; 4];
//! let mut logits = [0.0f32; 3];
//! model.step_start(&mut a, &mut logits);
//! for c in "ab".chars() {
//!     model.step_char(&mut a, c, &mut logits)?;
//! }
//! let next = model.vocab().symbol(rnn_core::sample::argmax(&logits));
//! assert!(next.is_some());
//!
//! // An unknown character is an error, not a panic.
//! assert_eq!(model.step_char(&mut a, 'z', &mut logits), Err(Error::UnknownSymbol { symbol: 'z' }));
//!
//! // Complete a name from the prefix "a" with temperature sampling and a fixed seed.
//! let mut rng = Rng::new(42);
//! let (mut scratch, mut name) = ([0.0f32; 4], String::from("a"));
//! generate(model.weights(), &model.vocab(), "a", Sampler::Temperature(1.0), &mut rng, 20,
//!          &mut a, &mut scratch, &mut logits, |c| name.push(c))?;
//! assert!(name.starts_with('a') && name.len() <= 21);
//! # Ok::<(), Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cell;
pub mod classes;
pub mod classify;
pub mod conv;
mod crc32;
pub mod error;
pub mod format;
pub mod layout;
pub mod math;
pub mod quant;
pub mod sample;
pub mod stream;
pub mod text;
pub mod vocab;

pub use cell::columns::{columns_len, Column};
pub use cell::elman::{Elman, ElmanWeights};
pub use cell::network::Network;
pub use cell::{Cell, Input, Weight};
pub use classes::Classes;
pub use classify::{
    AllStages, Classifier, DenseBuffer, NoStages, Probe, Stages, Steps, TokenBuffer,
};
pub use conv::{Conv, ConvSpec, ConvStack};
pub use crc32::crc32;
pub use error::{check_len, Dim, Error};
pub use format::{
    classifier_len, encoded_len, quantized_len, write_classifier, write_model, write_quantized,
    AllModels, CellKind, FloatModels, Header, ModelView, Models, Task,
};
pub use layout::{TensorRole, TensorSpec, Tensors};
pub use quant::cell::QInput;
pub use quant::classify::QClassifier;
pub use quant::network::QNetwork;
pub use quant::{Precision, Quant};
pub use sample::{generate, generate_quantized, Rng, Sampler};
pub use stream::Stream;
pub use text::{parse_f32, Text};
pub use vocab::Vocab;
