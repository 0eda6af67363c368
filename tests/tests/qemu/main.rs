//! The firmware under QEMU, on all three boards, against the host.
//!
//! Each test builds `firmware-example` (release) with a fixture model made here, runs it
//! under `qemu-system-arm`, feeds it input, and compares every byte it answers with what
//! `tests::protocol::Reference` (the same `rnn-core`, compiled for the host) answers.
//! The Elman model gets the long session; the GRU, LSTM and two-layer LSTM models a
//! shorter one (fewer random lines) with the same coverage of the protocol.
//! Each (board, model) is built once per run and shared by the tests that need it.
//!
//! Needs `qemu-system-arm` and the three thumb targets; without them the tests fail and
//! say how to install them.
//!
//! By topic: `next.rs`, `classify.rs`, `stream.rs`, `boot.rs`, `bench.rs`; `common.rs`
//! builds and compares.

mod bench;
mod boot;
mod classify;
mod common;
mod next;
mod quantized;
mod stream;

use common::*;
use rnn_core::ModelView;
use std::path::Path;
use tests::fixture;

/// The fixture files are what the tests think they are.
#[test]
fn fixtures_are_sound() {
    let elman = ModelView::parse(Fixture::Elman.bytes()).expect("valid");
    assert_eq!(elman.header().hidden, 25);
    assert_eq!(elman.vocab().as_str(), fixture::VOCAB);
    for (fixture, kind, layers, hidden, _) in NETWORKS {
        let h = ModelView::parse(fixture.bytes()).expect("valid").header();
        assert_eq!((h.cell, h.layers, h.hidden), (kind, layers, hidden as u32));
        assert_eq!(h.input as usize, fixture::VOCAB.len());
    }
    assert!(ModelView::parse(Fixture::Corrupt.bytes()).is_err());
    // The front-end fixture and its twins without one and with a stride of 1 differ in
    // the front-end only.
    let (conv, no_conv) = (
        ModelView::parse(Fixture::Conv.bytes())
            .expect("valid")
            .header(),
        ModelView::parse(Fixture::NoConv.bytes())
            .expect("valid")
            .header(),
    );
    assert_eq!(conv.conv.layers().len(), 1);
    assert_eq!(conv.with_conv(rnn_core::ConvStack::NONE), no_conv);
    let stride_1 = ModelView::parse(Fixture::ConvStride1.bytes())
        .expect("valid")
        .header();
    assert_eq!(stride_1.conv.layers()[0].stride, 1);
    assert_eq!(conv.with_conv(stride_1.conv), stride_1);
    assert!(Path::new(env!("CARGO_TARGET_TMPDIR")).is_absolute());
}

// ---------------------------------------------------------------------------------------
// Classify mode: the word and the dense fixture classifiers on every board.
