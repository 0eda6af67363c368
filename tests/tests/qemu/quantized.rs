//! Quantized next-symbol models (format version 3, int8 and int16 weights): the same
//! protocol, byte for byte against the host's `QNetwork` and `generate_quantized` (the
//! portable kernel; the Cortex-M4F firmware runs its DSP kernel), the names of
//! `rnn-train sample`, the precision checks at boot, `/bench` and `/mem`. Quantized
//! classifiers (a word and a dense one, through `QClassifier`) and a quantized tagger and
//! regression model in stream mode (through `QNetwork`), with the float fixtures'
//! sessions: every error path and random lines.

use crate::boot::fails_at_boot;
use crate::classify::{check_conv_active, check_coverage, dense_script, words_script};
use crate::common::*;
use crate::next::{check_rnn_train_sample, script};
use crate::stream;
use rnn_core::ModelView;
use tests::qemu;

/// The session of every quantized fixture: the whole protocol (prefixes, seeds, greedy and
/// nine temperatures, every error path, streaming) and 150 random lines.
fn session() -> Vec<u8> {
    script(150)
}

fn parity_on_every_board(fixture: Fixture) {
    let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
    assert!(view.header().quant.is_quantized(), "{fixture:?}");
    for board in qemu::all() {
        check_parity(board, fixture, &session());
    }
}

#[test]
fn quantized_elman_parity() {
    parity_on_every_board(Fixture::QElman);
}

#[test]
fn quantized_gru_parity() {
    parity_on_every_board(Fixture::QGru);
}

#[test]
fn quantized_lstm_parity() {
    parity_on_every_board(Fixture::QLstm);
}

#[test]
fn quantized_two_layer_gru_parity() {
    parity_on_every_board(Fixture::QGru2);
}

/// The word classifier's session (every word, UTF-8 and command error, random lines) with
/// its int8 twin, on every board.
#[test]
fn quantized_classify_words_parity_all_boards() {
    let script = words_script();
    check_coverage(
        Fixture::QWords,
        &script,
        80,
        &[
            "classes: english, spanish, french, german, italian, portuguese\n",
            "\nerror: the sequence has no steps\n",
            "\nerror: character 'H' is not in the model's vocabulary\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 128 bytes\n",
            "\nerror: invalid UTF-8 at byte offset 3 (0xE9)\n",
            "\nerror: /classes takes no argument\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::QWords, &script);
    }
}

/// The dense classifier's session (sequences, every vector error, random lines) with its
/// int8 twin, on every board.
#[test]
fn quantized_classify_dense_parity_all_boards() {
    let script = dense_script(Fixture::QDense);
    check_coverage(
        Fixture::QDense,
        &script,
        14,
        &[
            "\nerror: the sequence has no steps\n",
            "\nerror: expected 12 values separated by commas, the line has 11\n",
            "\nerror: value 12 is not a finite number: \"x\"\n",
            "\nerror: value 1 is not a finite number: \"1e39\"\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 288 bytes\n",
            "\nerror: non-ASCII byte 0xC3\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::QDense, &script);
    }
}

/// The front-end classifier's session with its int8 twin (format version 4), on every
/// board: the integer convolution runs on each board's kernel (the Cortex-M4F's `SMLAD`
/// one too).
#[test]
fn quantized_classify_conv_parity_all_boards() {
    let script = dense_script(Fixture::QConv);
    check_conv_active(Fixture::Conv, &script);
    check_coverage(
        Fixture::QConv,
        &script,
        14,
        &[
            "classes: wave, tap, shake, circle\n",
            "\nerror: the sequence has no steps\n",
            "\nerror: expected 6 values separated by commas, the line has 5\n",
            "\nerror: value 1 is not a finite number: \"inf\"\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::QConv, &script);
    }
}

/// The tagger's stream session (the state carried, `/reset`, every line error, random
/// lines) with its int8 twin, on every board.
#[test]
fn quantized_stream_tag_parity_all_boards() {
    let script = stream::script(Fixture::QTagger);
    stream::check_reference(
        Fixture::QTagger,
        &script,
        &[
            "\nclasses: still, walk, run, cycle\n",
            "\nok: reset\n",
            "\nerror: expected 6 values separated by commas, the line has 5\n",
            "\nerror: value 1 is not a finite number: \"inf\"\n",
            "\nerror: line longer than 144 bytes\n",
            "\nerror: /reset takes no argument\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::QTagger, &script);
    }
}

/// The regression model's stream session with its int8 twin (two LSTM layers, values in
/// the targets' units), on every board.
#[test]
fn quantized_stream_regress_parity_all_boards() {
    let script = stream::script(Fixture::QRegressor);
    stream::check_reference(
        Fixture::QRegressor,
        &script,
        &[
            "\ntargets: speed, heading\n",
            "\nok: reset\n",
            "\nerror: expected 3 values separated by commas, the line has 2\n",
            "\nerror: line longer than 72 bytes\n",
            "\nerror: non-ASCII byte 0xFF\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::QRegressor, &script);
    }
}

/// int16 weights on the Cortex-M4F, whose `SMLALD` loop is the firmware's own (the M0 and
/// M3 run `rnn-core`'s portable kernel, the one the host runs).
#[test]
fn quantized_int16_parity_mps2_an386() {
    check_parity(&qemu::board("mps2-an386"), Fixture::QElman16, &session());
}

/// The firmware's names equal `rnn-train sample`'s for quantized files (its library
/// function runs them through `generate_quantized`), on every board.
#[test]
fn quantized_firmware_matches_rnn_train_sample() {
    let cases = [
        ("", 0, "1", 4),
        ("b", 7, "0.5", 3),
        ("tyranno", 99, "0", 1),
        ("", 5, "0.8", 3),
    ];
    for fixture in [Fixture::QElman, Fixture::QLstm] {
        check_rnn_train_sample(fixture, &cases);
    }
}

/// A float model in a firmware built for its quantized twin, and the quantized model in
/// one built for the float model: `rnn-core`'s `WrongPrecision` at boot, exit status 1.
#[test]
fn other_precision_fails_at_boot() {
    let float = ModelView::parse(Fixture::Lstm.bytes()).expect("loads");
    let quantized = ModelView::parse(Fixture::QGru.bytes()).expect("loads");
    let in_quantized_build = rnn_core::QNetwork::from_view(&float)
        .expect_err("a float file is refused")
        .to_string();
    let in_float_build = rnn_core::Network::from_view(&quantized)
        .expect_err("a quantized file is refused")
        .to_string();
    assert!(in_quantized_build.contains("f32"), "{in_quantized_build}");
    assert!(in_float_build.contains("int8"), "{in_float_build}");
    fails_at_boot(&[
        (
            "microbit",
            Fixture::Lstm,
            Fixture::QLstm,
            &in_quantized_build,
        ),
        ("mps2-an386", Fixture::QGru, Fixture::Gru, &in_float_build),
    ]);
}

/// The same in classify and stream mode: a float tagger in a firmware built for its
/// quantized twin (the build's precision check at boot), and a quantized word classifier
/// in one built for the float classifier (the float loader's refusal).
#[test]
fn other_precision_fails_at_boot_classify_and_stream() {
    use rnn_core::{Error, Precision};
    let quantized = ModelView::parse(Fixture::QWords.bytes()).expect("loads");
    let in_float_build = rnn_core::Classifier::from_view(&quantized)
        .expect_err("a quantized file is refused")
        .to_string();
    let in_quantized_build = Error::WrongPrecision {
        expected: Precision::Int8,
        found: Precision::F32,
    }
    .to_string();
    assert!(in_float_build.contains("int8"), "{in_float_build}");
    fails_at_boot(&[
        (
            "lm3s6965evb",
            Fixture::Tagger,
            Fixture::QTagger,
            &in_quantized_build,
        ),
        ("microbit", Fixture::QWords, Fixture::Words, &in_float_build),
    ]);
}

/// `/bench` of the quantized models: the same count twice, the MAC count, a plausible cost
/// (`SMLAD` does two MACs per instruction: at least half an instruction per MAC); `/mem`:
/// the static RAM is the state (`i16`), scratch and logits (`i32`) plus at most 512 bytes.
#[test]
fn quantized_bench_and_mem() {
    for fixture in [Fixture::QElman, Fixture::QLstm, Fixture::QGru2] {
        let view = ModelView::parse(fixture.bytes()).expect("fixture loads");
        let net = rnn_core::QNetwork::from_view(&view).expect("quantized");
        let budget = 2 * net.state_len() + 4 * net.scratch_len() + 4 * net.output_size() + 512;
        crate::bench::check_bench_and_mem(fixture, budget as u64, |greedy, macs| {
            2 * greedy >= macs && greedy <= 100 * macs
        });
    }
}

/// Each quantized fixture is its float twin's architecture with integer weights.
#[test]
fn quantized_fixtures_are_sound() {
    for (fixture, float, precision) in QUANTIZED {
        let h = ModelView::parse(fixture.bytes()).expect("loads").header();
        assert_eq!(h.quant.precision, precision, "{fixture:?}");
        if let Some(float) = float {
            let f = ModelView::parse(float.bytes()).expect("loads").header();
            assert_eq!(h.with_quant(rnn_core::Quant::FLOAT), f, "{fixture:?}");
        }
    }
    let gru2 = ModelView::parse(Fixture::QGru2.bytes())
        .expect("loads")
        .header();
    assert_eq!(
        (gru2.cell, gru2.layers, gru2.hidden),
        (rnn_core::CellKind::Gru, 2, 25)
    );
}

/// `src/bin/minimal.rs` built with a quantized model loads it through `QNetwork`, steps
/// and finds a symbol on every board: exit status 0, nothing printed.
#[test]
fn quantized_minimal_runs_on_every_board() {
    for board in qemu::all() {
        let elf = minimal_path(&firmware(board, Fixture::QElman));
        let session = qemu::run(board, &elf, Vec::new(), false, SESSION_TIMEOUT);
        let status = session
            .status
            .unwrap_or_else(|| panic!("{}: minimal did not exit", board.name));
        assert!(
            status.success(),
            "{}: {status}, {}",
            board.name,
            session.stderr
        );
        assert!(
            session.stdout.is_empty(),
            "{}: {}",
            board.name,
            session.text()
        );
    }
}
