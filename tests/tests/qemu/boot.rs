//! What fails at boot: a corrupt model, another architecture or task than the build's;
//! and `minimal` (rnn-core's own share of the flash) on every board.

use crate::common::*;
use rnn_core::ModelView;
use tests::qemu;

/// A bit flipped in the weights: the loader's checksum error at boot, exit status 1.
#[test]
fn corrupt_model_fails_at_boot() {
    let error = ModelView::parse(Fixture::Corrupt.bytes())
        .expect_err("a flipped bit must not load")
        .to_string();
    assert!(error.contains("checksum"), "{error}");
    for board in qemu::all() {
        let elf = firmware(board, Fixture::Corrupt);
        let session = qemu::run(board, &elf, b"a\n".to_vec(), false, SESSION_TIMEOUT);
        assert_eq!(
            session.text(),
            format!("error: cannot load the model: {error}\n"),
            "{}: boot output",
            board.name
        );
        let status = session
            .status
            .unwrap_or_else(|| panic!("{}: QEMU did not exit", board.name));
        assert_eq!(status.code(), Some(1), "{}: exit status", board.name);
    }
}

/// A valid model of another architecture than the firmware was built for (`RNN_SIZE_MODEL`):
/// `rnn-core`'s typed error at boot, exit status 1. One case per board: another cell kind,
/// another number of layers, another hidden size.
#[test]
fn other_architecture_fails_at_boot() {
    let cases = [
        (
            "lm3s6965evb",
            Fixture::Gru,
            Fixture::Elman,
            "wrong cell kind: expected elman, the model holds gru",
        ),
        (
            "mps2-an386",
            Fixture::Lstm2,
            Fixture::Lstm,
            "size mismatch: number of layers expected 1, the model has 2",
        ),
        (
            "microbit",
            Fixture::Gru24,
            Fixture::Gru,
            "size mismatch: hidden size H expected 25, the model has 24",
        ),
    ];
    fails_at_boot(&cases);
}

/// A model of the other task than the build's: `rnn-core`'s typed error at boot, exit
/// status 1 (a next-symbol model in a classifier build, and a classifier in a
/// next-symbol build); and a classifier of another cell kind than the build's.
#[test]
fn classify_other_task_fails_at_boot() {
    let cases = [
        (
            "lm3s6965evb",
            Fixture::Elman,
            Fixture::Words,
            "wrong task: expected a classify model, the file holds a next model",
        ),
        (
            "microbit",
            Fixture::Words,
            Fixture::Elman,
            "wrong task: expected a next model, the file holds a classify model",
        ),
        (
            "mps2-an386",
            Fixture::Dense,
            Fixture::Words,
            "wrong cell kind: expected gru, the model holds lstm",
        ),
    ];
    fails_at_boot(&cases);
}

/// A classifier with a convolutional front-end in a firmware built for the same classifier
/// without one, and in one built for another front-end (a stride of 1): `rnn-core`'s
/// `Header::check_built_for` refuses both at boot (`FrontEndMismatch`), exit status 1.
/// The micro:bit only: the checks are the same code on every board.
#[test]
fn classify_other_front_end_fails_at_boot() {
    let mismatch = rnn_core::Error::FrontEndMismatch.to_string();
    fails_at_boot(&[
        ("microbit", Fixture::Conv, Fixture::NoConv, &mismatch),
        ("microbit", Fixture::Conv, Fixture::ConvStride1, &mismatch),
    ]);
}

/// Each case's model in a firmware built for another (board, model, built for, error):
/// the loader's error line at boot and exit status 1.
pub fn fails_at_boot(cases: &[(&str, Fixture, Fixture, &str)]) {
    for &(board, model, sized_for, error) in cases {
        let board = qemu::board(board);
        let elf = firmware_sized(&board, model, sized_for);
        let session = qemu::run(&board, &elf, b"a\n".to_vec(), false, SESSION_TIMEOUT);
        assert_eq!(
            session.text(),
            format!("error: cannot load the model: {error}\n"),
            "{}: {model:?} in a firmware built for {sized_for:?}",
            board.name
        );
        assert_eq!(
            session.status.and_then(|s| s.code()),
            Some(1),
            "{}: exit status",
            board.name
        );
    }
}

/// `src/bin/minimal.rs` (rnn-core's own share of the flash) works on every board: with the
/// Elman model it loads it, steps and finds a symbol (exit status 0, nothing printed); a
/// model with a flipped bit fails the loader's checks (exit status 1).
#[test]
fn minimal_runs_on_every_board() {
    for board in qemu::all() {
        for (fixture, success) in [(Fixture::Elman, true), (Fixture::Corrupt, false)] {
            let elf = minimal_path(&firmware(board, fixture));
            let session = qemu::run(board, &elf, Vec::new(), false, SESSION_TIMEOUT);
            let status = session
                .status
                .unwrap_or_else(|| panic!("{}: minimal did not exit ({fixture:?})", board.name));
            assert_eq!(
                status.success(),
                success,
                "{} ({fixture:?}): {status}, {}",
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
}

/// The stack grows down towards the static buffers with nothing in between: on the
/// micro:bit (16 KiB of RAM) a classifier built for long sequences either does not link
/// (less than the least stack any model needs is left) or, when the stack reaches the
/// buffers (at boot, or while it classifies), stops with one error line and exit status 1
/// instead of going on from overwritten memory; a capacity that fits answers as usual.
/// The quantized front-end classifier, whose classification needs more stack than its
/// boot (about 1.9 KB against 1.2 KB; the float one's boot is its deepest part since the
/// boot runs in a frame of its own): 20 bytes of buffers per step, so 705 steps boot
/// and only the classification runs out.
#[test]
fn buffers_too_big_for_the_ram_are_refused_not_overwritten() {
    let board = qemu::board("microbit");
    let model = Fixture::QConv.path();
    // One session per capacity, the build under the builds' lock (shared target dir).
    let build = |steps: &str| {
        let _built = built_lock();
        let target_dir = qemu::firmware_dir().join("target").join("qemu-tests");
        let elf = work_dir().join(format!("microbit-qconv-{steps}-steps.elf"));
        let env = [("RNN_MAX_STEPS", steps)];
        qemu::build_with(&board, &model, None, &env, &target_dir, &elf).map(|_| elf)
    };
    let error = build("730").expect_err("730 steps of buffers leave less than 1 KiB of 16");
    assert!(
        error.contains("less than 1024 bytes of RAM are left for the stack on microbit"),
        "{error}"
    );
    let sequence = "0.1,0.2,0.3,0.4,0.5,0.6\n-0.1,0.2,-0.3,0.4,-0.5,0.6\n\n/exit\n";
    for (steps, fits, boots) in [
        ("722", false, false),
        ("705", false, true),
        ("600", true, true),
    ] {
        let elf = build(steps).unwrap_or_else(|e| panic!("{steps} steps: {e}"));
        let session = qemu::run(
            &board,
            &elf,
            sequence.as_bytes().to_vec(),
            false,
            SESSION_TIMEOUT,
        );
        let text = session.text();
        let status = session.status.and_then(|s| s.code());
        assert_eq!(text.contains("READY\n"), boots, "{steps}: {text}");
        if fits {
            assert!(
                text.ends_with("ok: exit\n") && status == Some(0),
                "{steps}: {text}"
            );
        } else {
            let last = text.lines().last().unwrap_or("");
            assert!(
                last.starts_with("error: out of RAM: the stack reached the buffers"),
                "{text}"
            );
            assert_eq!(status, Some(1), "{steps}: {text}");
        }
    }
}
