//! Cross-crate tests and their helpers. The tests themselves are in `tests/tests/`:
//! `tests/qemu/` builds the firmware for each QEMU board, runs it, and checks every byte it
//! answers against the host.
//!
//! - [`fixture`]: model files with random weights, written with `rnn-core`'s writer;
//! - [`protocol`]: the firmware's UART protocol computed on the host with `rnn-core`, the
//!   independent side of the parity tests;
//! - [`qemu`]: the `boards` crate (shared with xtask and the firmware's build script): the
//!   board table, building the firmware and running it under `qemu-system-arm`.

pub mod fixture;
pub mod protocol;
pub mod qemu;
