//! Next-symbol mode: byte-for-byte parity of whole sessions on every board and model
//! kind, and the names of `rnn-train sample`.

use crate::common::*;
use rnn_core::Rng;
use tests::fixture;
use tests::protocol::{LINE_MAX, STREAM_END};
use tests::qemu;

/// Prefixes, seeds, both sampling modes and the `//` escape.
fn prefixes_and_modes() -> Vec<u8> {
    let long: String = "thequickbrownfoxjumpsoverthelazydog"
        .chars()
        .cycle()
        .take(LINE_MAX)
        .collect();
    let mut s = String::new();
    // Temperature 1 and seed 0 from boot.
    for line in ["", "a", "b", "", "zz"] {
        s.push_str(line);
        s.push('\n');
    }
    // One generator per seed: a seed then several lines, as `rnn-train sample --count`.
    for seed in ["1", "42", "18446744073709551615", "0"] {
        s.push_str(&format!("/seed {seed}\n"));
        for line in ["", "", "sa", "sa", "x"] {
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push_str(&long);
    s.push('\n');
    s.push_str("/greedy\n\na\nthe\n");
    s.push_str(&long);
    s.push('\n');
    // Greedy draws nothing: the seed does not matter.
    s.push_str("/seed 5\nthe\n");
    for t in [
        "0.5",
        "2",
        "0.7",
        "1.3",
        "1.",
        ".25",
        "0.1234567",
        "0010.000",
        "16777215",
    ] {
        s.push_str(&format!("/sample {t}\n/seed 3\n\nab\nab\n"));
    }
    // `//` starts a prefix with `/` (in this vocabulary); `/` alone is a command.
    s.push_str("/sample 1\n//\n//a/b\n///\n");
    // Extra spaces around command words are allowed.
    s.push_str("/  seed   11  \nq\n");
    s.push_str("/help\n");
    s.into_bytes()
}

/// Every `error:` path of line mode, with `\r\n` and `\r` line ends mixed in.
fn errors_and_line_ends() -> Vec<u8> {
    let mut s: Vec<u8> = Vec::new();
    let letters = |n: usize| {
        "abcdefghijklmnopqrstuvwxyz"
            .bytes()
            .cycle()
            .take(n)
            .collect::<Vec<u8>>()
    };
    // Unknown characters (upper case, digit, space, control bytes).
    for line in [
        &b"Abc"[..],
        b"ab1",
        b"a b",
        b"\x07",
        b"\x04",
        b"\x00x",
        b"~",
    ] {
        s.extend_from_slice(line);
        s.push(b'\n');
    }
    // Too long: one byte over, far over; exactly LINE_MAX is fine (checked above).
    for n in [LINE_MAX + 1, 200, 1000] {
        s.extend(letters(n));
        s.push(b'\n');
    }
    // Non-ASCII: UTF-8, a lone high byte, after the buffer is full (non-ASCII comes
    // first), and after an overflow (too long comes first).
    s.extend_from_slice("caf\u{e9}\n".as_bytes());
    s.extend_from_slice(b"\xff\n\x80abc\n");
    s.extend(letters(LINE_MAX));
    s.extend_from_slice(b"\xc3\n");
    s.extend(letters(LINE_MAX + 1));
    s.extend_from_slice(b"\xc3\n");
    // Malformed and unknown commands.
    for line in [
        "/seed",
        "/seed x",
        "/seed 1 2",
        "/seed -1",
        "/seed 18446744073709551616",
        "/seed 0x10",
        "/sample",
        "/sample 0",
        "/sample 0.0",
        "/sample -1",
        "/sample nan",
        "/sample inf",
        "/sample 1e3",
        "/sample 16777216",
        "/sample 0.12345678901",
        "/sample .",
        "/sample 1 2",
        "/greedy now",
        "/stream x",
        "/bench 1",
        "/mem x",
        "/exit now",
        "/help me",
        "/foo",
        "/Seed 1",
        "/",
        "/ ",
        "/\x07bell",
    ] {
        s.extend_from_slice(line.as_bytes());
        s.push(b'\n');
    }
    // Line ends: CRLF is one end, a lone CR is one, CR CR LF is two (an empty line).
    s.extend_from_slice(b"/seed 8\r\nab\r\n\r\ncd\ref\n\r\r\nzz\n");
    // The firmware is still in the same state machine: a normal line works.
    s.extend_from_slice(b"abc\n");
    s
}

/// Streaming mode: every byte answered, errors on their own lines, 0x04 ends.
fn streaming() -> Vec<u8> {
    let mut s: Vec<u8> = Vec::new();
    s.extend_from_slice(b"/stream\n");
    s.extend_from_slice(b"dinosaur/\nrex");
    s.push(b'A'); // unknown
    s.extend_from_slice(b"bc");
    s.push(0xC3); // non-ASCII
    s.extend_from_slice(b"ab\r"); // CR is just an unknown byte here
    s.push(STREAM_END);
    s.extend_from_slice(b"abc\n");
    // CR LF after the command: the LF is part of the line end, not streamed.
    s.extend_from_slice(b"/stream\r\n\nab");
    s.push(STREAM_END);
    // An empty stream, and a stream that starts with an error.
    s.extend_from_slice(b"/stream\n");
    s.push(STREAM_END);
    s.extend_from_slice(b"/stream\n?a");
    s.push(STREAM_END);
    s.extend_from_slice(b"/greedy\nab\n");
    s
}

/// `count` lines of random bytes (any byte but CR and LF), then a valid prefix.
fn random_lines(seed: u64, count: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut below = |n: u64| rng.next_u64() % n;
    let alphabet: Vec<u8> = fixture::VOCAB.bytes().filter(|&b| b != b'\n').collect();
    let mut s = Vec::new();
    for _ in 0..count {
        let len = below(90) as usize;
        let kind = below(4);
        for k in 0..len {
            let b = match kind {
                // Any byte.
                0 => loop {
                    let b = below(256) as u8;
                    if b != b'\r' && b != b'\n' {
                        break b;
                    }
                },
                // Printable ASCII.
                1 => 0x20 + below(95) as u8,
                // Mostly the vocabulary (some lines are real prefixes).
                2 if below(20) != 0 => alphabet[below(alphabet.len() as u64) as usize],
                2 => 0x20 + below(95) as u8,
                // A command word and random arguments.
                _ if k == 0 => b'/',
                _ => b" seedsamplegreedy0123456789."[below(28) as usize],
            };
            s.push(b);
        }
        s.push(b'\n');
    }
    s.extend_from_slice(b"/seed 9\n/sample 1\ndino\n/greedy\ndino\n");
    s
}

/// Every part of the protocol, then `random` lines of random bytes.
pub(crate) fn script(random: usize) -> Vec<u8> {
    let mut s = prefixes_and_modes();
    s.extend(errors_and_line_ends());
    s.extend(streaming());
    s.extend(random_lines(2024, random));
    s
}

fn full_script() -> Vec<u8> {
    script(1000)
}

/// The session for the GRU and LSTM models: the same script with 150 random lines (their
/// steps cost 3 to 4 times an Elman step's).
fn short_script() -> Vec<u8> {
    script(150)
}

#[test]
fn parity_lm3s6965evb() {
    check_parity(&qemu::board("lm3s6965evb"), Fixture::Elman, &full_script());
}

#[test]
fn parity_mps2_an386() {
    check_parity(&qemu::board("mps2-an386"), Fixture::Elman, &full_script());
}

#[test]
fn parity_microbit() {
    check_parity(&qemu::board("microbit"), Fixture::Elman, &full_script());
}

#[test]
fn parity_gru_lm3s6965evb() {
    check_parity(&qemu::board("lm3s6965evb"), Fixture::Gru, &short_script());
}

#[test]
fn parity_gru_mps2_an386() {
    check_parity(&qemu::board("mps2-an386"), Fixture::Gru, &short_script());
}

#[test]
fn parity_gru_microbit() {
    check_parity(&qemu::board("microbit"), Fixture::Gru, &short_script());
}

#[test]
fn parity_lstm_lm3s6965evb() {
    check_parity(&qemu::board("lm3s6965evb"), Fixture::Lstm, &short_script());
}

#[test]
fn parity_lstm_mps2_an386() {
    check_parity(&qemu::board("mps2-an386"), Fixture::Lstm, &short_script());
}

#[test]
fn parity_lstm_microbit() {
    check_parity(&qemu::board("microbit"), Fixture::Lstm, &short_script());
}

#[test]
fn parity_lstm2_lm3s6965evb() {
    check_parity(&qemu::board("lm3s6965evb"), Fixture::Lstm2, &short_script());
}

#[test]
fn parity_lstm2_mps2_an386() {
    check_parity(&qemu::board("mps2-an386"), Fixture::Lstm2, &short_script());
}

#[test]
fn parity_lstm2_microbit() {
    check_parity(&qemu::board("microbit"), Fixture::Lstm2, &short_script());
}

/// (prefix, seed, temperature as typed — "0" is greedy for rnn-train —, count)
pub(crate) type SampleCase = (&'static str, u64, &'static str, usize);

/// The firmware prints exactly what the host CLI prints: `/seed S`, the mode, then N
/// lines `P` give the N names of `rnn-train sample --prefix P --seed S --count N
/// --temperature T` (default `--max-len`), on every board.
#[test]
fn firmware_matches_rnn_train_sample() {
    let cases = [
        ("", 0, "1", 8),
        ("", 1, "1", 5),
        ("b", 7, "0.5", 4),
        ("pter", 123, "1.5", 4),
        ("tyranno", 99, "0", 2),
        ("", 5, "0.8", 6),
    ];
    check_rnn_train_sample(Fixture::Elman, &cases);
}

/// As [`firmware_matches_rnn_train_sample`], for the GRU, the LSTM and the stacked LSTM.
#[test]
fn gated_and_stacked_firmware_match_rnn_train_sample() {
    let cases = [
        ("", 0, "1", 4),
        ("b", 7, "0.5", 3),
        ("tyranno", 99, "0", 1),
        ("", 5, "0.8", 3),
    ];
    for fixture in [Fixture::Gru, Fixture::Lstm, Fixture::Lstm2] {
        check_rnn_train_sample(fixture, &cases);
    }
}

pub(crate) fn check_rnn_train_sample(fixture: Fixture, cases: &[SampleCase]) {
    let model = fixture.path();
    let mut input = String::new();
    let mut expected = Vec::new();
    for &(prefix, seed, t, count) in cases {
        let mut host = Vec::new();
        let temperature: f32 = t.parse().expect("a number");
        rnn_train::cli::sample::sample(&model, count, prefix, temperature, seed, 50, &mut host)
            .expect("rnn-train sample runs");
        let host = String::from_utf8(host).expect("names are text");
        assert_eq!(host.lines().count(), count, "{host}");
        input.push_str(&format!("/seed {seed}\n"));
        input.push_str(&if t == "0" {
            "/greedy\n".to_string()
        } else {
            format!("/sample {t}\n")
        });
        for _ in 0..count {
            input.push_str(prefix);
            input.push('\n');
        }
        expected.extend(host.lines().map(str::to_owned));
    }
    input.push_str("/exit\n");
    for board in qemu::all() {
        let elf = firmware(board, fixture);
        let session = qemu::run(
            board,
            &elf,
            input.clone().into_bytes(),
            false,
            SESSION_TIMEOUT,
        );
        let text = session.text();
        let names: Vec<String> = text
            .lines()
            .skip(2)
            .filter(|l| !l.starts_with("ok: "))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            names, expected,
            "{} ({fixture:?}): firmware vs rnn-train sample\n{text}",
            board.name
        );
    }
}
