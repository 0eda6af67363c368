//! Classify mode: word, UTF-8 word and dense sessions against the host's reference.

use crate::common::*;
use rnn_core::{Classifier, Input, ModelView, Rng, TensorRole};
use tests::fixture;
use tests::protocol::Reference;
use tests::qemu;

/// A random word of `len` symbols of the word classifier's vocabulary (never `/` first,
/// which would make it a command).
fn random_word(rng: &mut Rng, len: usize) -> String {
    let symbols: Vec<char> = fixture::WORD_CLASSIFIER.vocab.chars().collect();
    (0..len)
        .map(|k| loop {
            let c = symbols[(rng.next_u64() % symbols.len() as u64) as usize];
            if k > 0 || c != '/' {
                break c;
            }
        })
        .collect()
}

/// `count` lines of random bytes (any byte but CR and LF), mixed as [`random_lines`]
/// mixes them, with `alphabet` for the lines that are mostly valid input, and some empty
/// lines (which end a dense sequence).
fn random_classify_lines(seed: u64, count: usize, alphabet: &[u8]) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut below = |n: u64| rng.next_u64() % n;
    let mut s = Vec::new();
    for _ in 0..count {
        let kind = below(5);
        let len = if kind == 4 { 0 } else { below(90) as usize };
        for k in 0..len {
            let b = match kind {
                0 => loop {
                    let b = below(256) as u8;
                    if b != b'\r' && b != b'\n' {
                        break b;
                    }
                },
                1 => 0x20 + below(95) as u8,
                2 if below(20) != 0 => alphabet[below(alphabet.len() as u64) as usize],
                2 => 0x20 + below(95) as u8,
                _ if k == 0 => b'/',
                _ => b" classesbenchmemhelpexit0123456789"[below(34) as usize],
            };
            s.push(b);
        }
        s.push(b'\n');
    }
    s
}

/// The word classifier's session: words of every length up to the capacity, the `//`
/// escape, every `error:` path, line ends, commands, random lines, then valid words.
pub(crate) fn words_script() -> Vec<u8> {
    let cap = tests::protocol::DEFAULT_MAX_STEPS;
    // UTF-8 lines of up to 4 bytes per step of the capacity.
    let line_max = 4 * cap;
    let mut rng = Rng::new(31);
    let mut lines: Vec<String> = ["/classes", "/help", "hello", "hola", "bonjour", "x"]
        .map(str::to_owned)
        .to_vec();
    for len in (1..=cap).chain([cap, cap]) {
        lines.push(random_word(&mut rng, len));
    }
    for _ in 0..40 {
        let len = 1 + (rng.next_u64() % 12) as usize;
        lines.push(random_word(&mut rng, len));
    }
    let letters = |n: usize| {
        "abcdefghijklmnopqrstuvwxyz"
            .chars()
            .cycle()
            .take(n)
            .collect::<String>()
    };
    lines.extend([
        // The `//` escape; `/` alone is a command.
        "//".to_string(),
        "//a/b".to_string(),
        "a/".to_string(),
        // Empty word, unknown characters.
        String::new(),
        "Hello".to_string(),
        "a b".to_string(),
        "caf1".to_string(),
        "\x07".to_string(),
        // One step over the capacity, far over; an unknown character at the capacity
        // comes before the overflow, one step later it does not.
        letters(cap + 1),
        letters(line_max),
        format!("{}A", letters(cap)),
        format!("{}A", letters(cap + 1)),
        // Commands of the other mode, malformed and unknown commands.
        "/seed 1".to_string(),
        "/greedy".to_string(),
        "/stream".to_string(),
        "/classes x".to_string(),
        "/bench 1".to_string(),
        "/mem x".to_string(),
        "/exit now".to_string(),
        "/help me".to_string(),
        "/  classes  ".to_string(),
        "/".to_string(),
        "/ ".to_string(),
        "/\x07bell".to_string(),
    ]);
    let mut s: Vec<u8> = lines.join("\n").into_bytes();
    s.push(b'\n');
    // A too long line; characters that are not in the vocabulary, and invalid UTF-8 (the
    // UTF-8 fixture's session has every kind).
    s.extend(letters(line_max + 1).bytes());
    s.push(b'\n');
    s.extend_from_slice("caf\u{e9}\n\u{ff}\n".as_bytes());
    s.extend_from_slice(b"caf\xe9\n\xff\n");
    // Line ends: CRLF is one end, a lone CR is one, CR CR LF is two (an empty word).
    s.extend_from_slice(b"ab\r\ncd\ref\n\r\r\nzz\n");
    s.extend(random_classify_lines(
        2025,
        150,
        fixture::WORD_CLASSIFIER.vocab.as_bytes(),
    ));
    s.extend_from_slice(b"hello\nworld\n/classes\n");
    s
}

/// `count` lines for the UTF-8 word classifier: random bytes; words of the vocabulary's
/// characters (2, 3 and 4 bytes in UTF-8), now and then with a character outside it;
/// such words with bytes that break UTF-8 put in (stray continuation bytes, bytes never
/// valid, a character's encoding cut short); commands; empty lines. Up to about 150 bytes,
/// so that some lines pass the 128-byte limit.
fn random_utf8_lines(seed: u64, count: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let vocab: Vec<char> = fixture::UTF8_WORD_CLASSIFIER.vocab.chars().collect();
    let outside = [
        'A', 'ï', 'Ñ', 'ÿ', '日', '\u{301}', '\u{85}', '\u{feff}', '😀', ' ',
    ];
    let breakers = [
        0x80u8, 0xBF, 0xC0, 0xC1, 0xC3, 0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFE, 0xFF,
    ];
    let mut s = Vec::new();
    for _ in 0..count {
        let mut below = |n: u64| (rng.next_u64() % n) as usize;
        let kind = below(8);
        let len = below(45);
        let mut line = Vec::new();
        for k in 0..len {
            let c = if below(15) == 0 {
                outside[below(outside.len() as u64)]
            } else {
                vocab[below(vocab.len() as u64)]
            };
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            match kind {
                // Random bytes.
                0 => line.extend((0..bytes.len()).map(|_| loop {
                    let b = below(256) as u8;
                    if b != b'\r' && b != b'\n' {
                        break b;
                    }
                })),
                // Valid UTF-8 (a `/` first makes a command or the escape).
                1..=3 => line.extend_from_slice(bytes),
                // Now and then a breaking byte, or a character cut short.
                4 | 5 => match below(8) {
                    0 => line.push(breakers[below(breakers.len() as u64)]),
                    1 if bytes.len() > 1 => line.extend_from_slice(&bytes[..bytes.len() - 1]),
                    _ => line.extend_from_slice(bytes),
                },
                // A command, possibly with non-ASCII in it.
                6 if k == 0 => line.push(b'/'),
                6 => line.extend_from_slice(bytes),
                // Empty lines.
                _ => {}
            }
        }
        s.extend(line);
        s.push(b'\n');
    }
    s
}

/// The UTF-8 word classifier's session: words with non-ASCII letters of every length up
/// to the capacity, the longest lines (32 four-byte letters: 128 bytes), the `//` escape,
/// characters outside the vocabulary, every kind of invalid UTF-8 (stray continuation
/// byte, truncated sequence at the end and before another byte, overlong encodings,
/// surrogates, code points above U+10FFFF, bytes that never occur), invalid UTF-8 against
/// the line limit (before it, across it, after it), commands, line ends, random lines,
/// then valid words.
fn utf8_words_script() -> Vec<u8> {
    let cap = tests::protocol::DEFAULT_MAX_STEPS;
    let line_max = 4 * cap;
    let vocab: Vec<char> = fixture::UTF8_WORD_CLASSIFIER.vocab.chars().collect();
    let mut rng = Rng::new(41);
    let mut word = |len: usize| -> String {
        (0..len)
            .map(|k| loop {
                let c = vocab[(rng.next_u64() % vocab.len() as u64) as usize];
                if k > 0 || c != '/' {
                    break c;
                }
            })
            .collect()
    };
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut text = |t: &str| lines.push(t.as_bytes().to_vec());
    for t in [
        "/classes",
        "/help",
        "café",
        "niño",
        "über",
        "façade",
        "straße",
        "cœur",
        "€",
        "𝔞",
        "voilà",
        "très",
        "pingüino",
        "acción",
        "€uro",
        "𝔞𝔞𝔞",
        "l'été",
        "a-ñ",
    ] {
        text(t);
    }
    let mut words: Vec<String> = (1..=cap).map(&mut word).collect();
    words.extend((0..40).map(|k| word(1 + k % 12)));
    for w in &words {
        text(w);
    }
    let repeat = |s: &str, n: usize| s.repeat(n);
    for t in [
        // The capacity in two-byte letters (64 bytes) and in four-byte letters (128 bytes,
        // the line limit): classified; one more letter: too long a sequence, too long a
        // line.
        repeat("é", cap),
        repeat("𝔞", cap),
        repeat("é", cap + 1),
        repeat("𝔞", cap + 1),
        repeat("€", cap + 1),
        // The escape: the word `/𝔞…` of the capacity (126 bytes), and over the limit.
        format!("//{}", repeat("𝔞", cap - 1)),
        format!("//{}", repeat("𝔞", cap)),
        format!("//{}", repeat("ñ", 5)),
        // Characters outside the vocabulary (the first one is named).
        "naïve".to_string(),
        "Ñandú".to_string(),
        "日本".to_string(),
        "e\u{301}".to_string(),
        "\u{85}".to_string(),
        "\u{feff}café".to_string(),
        "\u{10ffff}".to_string(),
        "😀".to_string(),
        "a b".to_string(),
        "caf\u{0}".to_string(),
        format!("{}ï", repeat("é", cap)),
        format!("{}ï", repeat("é", cap + 1)),
        // Commands: other mode's, with non-ASCII in them.
        "/clásses".to_string(),
        "/classes é".to_string(),
        "/seed 1".to_string(),
        "/€".to_string(),
        String::new(),
    ] {
        text(&t);
    }
    let a = |n: usize| vec![b'a'; n];
    let cat = |parts: &[&[u8]]| parts.concat();
    for bytes in [
        // Stray continuation bytes.
        &b"\x80"[..],
        b"a\x80b",
        b"\xbf",
        b"\xc3\xa9\xa9",
        b"\xf0\x9d\x94\x9e\x9e",
        // Truncated: at the line's end, before ASCII, before another lead byte.
        b"caf\xc3",
        b"\xc3a",
        b"\xe2\x82",
        b"\xe2\x82a",
        b"\xf0\x9d\x94",
        b"\xf0\x9d\x94\xc3\xa9",
        b"caf\xe9",
        b"caf\xe9s",
        // Overlong encodings ('/' as two, three and four bytes; the largest overlong
        // three- and four-byte forms).
        b"\xc0\xaf",
        b"\xc1\xbf",
        b"\xe0\x80\xaf",
        b"\xe0\x9f\xbf",
        b"\xf0\x80\x80\xaf",
        b"\xf0\x8f\xbf\xbf",
        // Surrogates: U+D800, U+DFFF, a CESU-8 pair.
        b"\xed\xa0\x80",
        b"ab\xed\xbf\xbf",
        b"\xed\xa0\xbd\xed\xb2\xa9",
        // Above U+10FFFF, five-byte forms, bytes that never occur.
        b"\xf4\x90\x80\x80",
        b"\xf5\x80\x80\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\xfe",
        b"\xff",
        b"\xc0",
        // Invalid UTF-8 comes before an unknown character, in commands and the escape.
        b"\xc3\xaf\xff",
        b"/cl\xe1sses",
        b"/\xff",
        b"//\xc3",
    ] {
        lines.push(bytes.to_vec());
    }
    for bytes in [
        // Against the line limit: an invalid byte at the last kept byte wins (also when
        // more follows); past the limit, or a sequence that only the dropped bytes could
        // complete, is a too long line; an invalid sequence early in a long line wins.
        cat(&[&a(line_max - 1), b"\xff"]),
        cat(&[&a(line_max - 1), b"\xffbbb"]),
        cat(&[&a(line_max), b"\xff"]),
        cat(&[&a(line_max - 1), "é".as_bytes()]),
        cat(&[&a(line_max - 2), "€".as_bytes()]),
        cat(&[&a(line_max - 2), "é".as_bytes()]),
        cat(&[&a(line_max - 2), b"\xe2\x41bcd"]),
        cat(&[&a(line_max - 3), b"\xf0\x9d\x94"]),
        cat(&[&a(10), b"\x80", &a(200)]),
        a(line_max + 1),
    ] {
        lines.push(bytes);
    }
    let mut s = lines.join(&b'\n');
    s.push(b'\n');
    // Line ends: CRLF, CR, CR CR LF (an empty word).
    s.extend_from_slice("café\r\nniño\rß\n\r\r\n€\n".as_bytes());
    s.extend(random_utf8_lines(2027, 200));
    s.extend_from_slice("café\nstraße\n/classes\n".as_bytes());
    s
}

#[test]
fn classify_utf8_words_parity_all_boards() {
    let script = utf8_words_script();
    check_coverage(
        Fixture::Utf8Words,
        &script,
        100,
        &[
            "classes: english, spanish, german\n",
            "\nerror: character 'ï' is not in the model's vocabulary\n",
            "\nerror: character '\\u{301}' is not in the model's vocabulary\n",
            "\nerror: character '\\u{feff}' is not in the model's vocabulary\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 128 bytes\n",
            "\nerror: the sequence has no steps\n",
            "\nerror: invalid UTF-8 at byte offset 1 (0x80)\n",
            "\nerror: invalid UTF-8 at byte offset 2 (0xA9)\n",
            "\nerror: invalid UTF-8 at byte offset 3 (0xC3)\n",
            "\nerror: invalid UTF-8 at byte offset 0 (0xC0)\n",
            "\nerror: invalid UTF-8 at byte offset 0 (0xE0)\n",
            "\nerror: invalid UTF-8 at byte offset 0 (0xED)\n",
            "\nerror: invalid UTF-8 at byte offset 0 (0xF4)\n",
            "\nerror: invalid UTF-8 at byte offset 127 (0xFF)\n",
            "\nerror: invalid UTF-8 at byte offset 126 (0xE2)\n",
            "\nerror: invalid UTF-8 at byte offset 10 (0x80)\n",
            "\nerror: unknown command /cl\\u{e1}sses (try /help)\n",
            "\nerror: unknown command /seed (try /help)\n",
            "\nerror: /classes takes no argument\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Utf8Words, &script);
    }
}

/// A random number as text, in one of several spellings that `str::parse::<f32>` reads
/// (shortest round trip, many digits, exponents, signs, no leading digit, subnormals).
pub fn random_number(rng: &mut Rng) -> String {
    let v = (rng.next_f32() * 2.0 - 1.0) * 3.0;
    match rng.next_u64() % 8 {
        0 => format!("{v}"),
        1 => format!("{v:.9}"),
        2 => format!("{:.17}", f64::from(v) + 1e-12),
        3 => format!("{v:e}"),
        4 => format!("{:.6}", v.abs())
            .trim_start_matches('0')
            .to_string(),
        5 => format!("+{:.3}", v.abs()),
        6 => format!("{}e-40", (rng.next_u64() % 9999) + 1),
        _ => format!(" {v:.4} "),
    }
}

/// One line of `channels` random numbers.
pub fn random_vector(rng: &mut Rng, channels: usize) -> String {
    (0..channels)
        .map(|_| random_number(rng))
        .collect::<Vec<_>>()
        .join(",")
}

/// A dense classifier's session (`fixture`: its channel count and line limit): sequences
/// of every length up to the capacity, every `error:` path (and the silence after a
/// sequence's first error), commands inside a sequence, line ends, random lines, then a
/// valid sequence.
pub(crate) fn dense_script(fixture: Fixture) -> Vec<u8> {
    let cap = tests::protocol::DEFAULT_MAX_STEPS;
    let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
    let i = view.header().input as usize;
    let line_max = tests::protocol::line_max(&view, cap);
    let mut rng = Rng::new(32);
    let mut s = String::from("/classes\n/help\n");
    let sequence = |s: &mut String, rng: &mut Rng, steps: usize| {
        for _ in 0..steps {
            s.push_str(&random_vector(rng, i));
            s.push('\n');
        }
    };
    for steps in [1, 2, 3, 7, 12, 29, cap, 5, 16, 1] {
        sequence(&mut s, &mut rng, steps);
        s.push('\n');
    }
    // Spellings at the edge of rounding (halfway cases between two f32s and just past
    // them, subnormals), then the limits of f32 (the normalised inputs overflow: the
    // logits are NaN, the answer is class 0 with probability 0, and nothing panics).
    let exact = [
        "0",
        "-0",
        "1",
        "0.1",
        "1e-45",
        "7e-46",
        "1.17549435e-38",
        "0.300000011920928955078125",
        "16777217",
        "1.00000005960464477539062500001",
        "1.000000059604644775390625",
        "-2.0000001192092896",
    ];
    // Lines of `i` values, cycling through `values`.
    let line = |values: &[&str]| -> String {
        let line: Vec<&str> = values.iter().cycle().take(i).copied().collect();
        line.join(",")
    };
    // The spellings over as many steps as they fill (one with 12 channels).
    for step in exact.chunks(i) {
        s.push_str(&line(step));
        s.push('\n');
    }
    let limits = ["3.4028235e38", "-3.4028234e38", "1e38", "-1e38"];
    s.push_str(&format!("\n{}\n\n", line(&limits)));
    // An empty sequence (a second empty line).
    s.push('\n');
    // Wrong channel counts, malformed and non-finite numbers: each the sequence's one
    // answer, its further lines dropped up to the empty line.
    let ones = |n: usize| vec!["1"; n].join(",");
    let bad = [
        ones(i - 1),
        ones(i + 1),
        "1".to_string(),
        format!("{},", ones(i)),
        format!(",{}", ones(i - 1)),
        format!("{},x", ones(i - 1)),
        format!("1..2,{}", ones(i - 1)),
        format!("{},", ones(i - 1)),
        format!("inf,{}", ones(i - 1)),
        format!("{},NaN", ones(i - 1)),
        format!("1e39,{}", ones(i - 1)),
        format!("-1e39,{}", ones(i - 1)),
        format!("0x10,{}", ones(i - 1)),
        format!("1 2,{}", ones(i - 1)),
        format!("\x07,{}", ones(i - 1)),
        " ".to_string(),
        ",".repeat(i - 1),
    ];
    for (k, line) in bad.iter().enumerate() {
        // Good vectors before the error (dropped), and after it (dropped too).
        sequence(&mut s, &mut rng, k % 3);
        s.push_str(line);
        s.push('\n');
        sequence(&mut s, &mut rng, k % 2);
        s.push('\n');
    }
    // Over the capacity: the error at step cap + 1, the rest dropped.
    sequence(&mut s, &mut rng, cap + 3);
    s.push('\n');
    // The `//` escape gives a malformed vector; commands inside a sequence are answered
    // and leave it alone.
    s.push_str(&format!("//{}\n\n", ones(i)));
    sequence(&mut s, &mut rng, 2);
    s.push_str("/classes\n/nope\n");
    sequence(&mut s, &mut rng, 2);
    s.push_str("/help x\n\n");
    let mut s = s.into_bytes();
    // A line over the limit, a non-ASCII line, and both inside a failed sequence (silent).
    s.extend(std::iter::repeat_n(b'1', line_max + 1));
    s.extend_from_slice(b"\n\n");
    s.extend_from_slice("1\u{e9}\n\n".as_bytes());
    s.extend_from_slice(b"x\n\xff\n");
    s.extend(std::iter::repeat_n(b'1', line_max + 1));
    s.extend_from_slice(b"\n\n");
    // Exactly the limit: read whole (one field of 288 digits: a wrong channel count).
    s.extend(std::iter::repeat_n(b'1', line_max));
    s.extend_from_slice(b"\n\n");
    // Line ends: CRLF, CR; CR CR LF ends the sequence.
    let mut rng2 = Rng::new(33);
    s.extend(random_vector(&mut rng2, i).bytes());
    s.extend_from_slice(b"\r\n");
    s.extend(random_vector(&mut rng2, i).bytes());
    s.extend_from_slice(b"\r\r\n");
    s.extend(random_vector(&mut rng2, i).bytes());
    s.extend_from_slice(b"\r\r");
    s.extend(random_classify_lines(2026, 150, b"0123456789.,,,,-+e "));
    s.push(b'\n');
    for _ in 0..4 {
        s.extend(random_vector(&mut rng2, i).bytes());
        s.push(b'\n');
    }
    s.extend_from_slice(b"\n/classes\n");
    s
}

/// Checks that the host's answers to `script` cover what the session is meant to reach:
/// at least `answers` classifications and every message in `messages`.
pub(crate) fn check_coverage(fixture: Fixture, script: &[u8], answers: usize, messages: &[&str]) {
    let mut reference = Reference::new(fixture.bytes()).expect("the fixture loads");
    let out = String::from_utf8(reference.feed(script)).expect("ASCII answers");
    let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
    let classes: Vec<&str> = view.classes().iter().collect();
    let classified = out
        .lines()
        .filter(|l| {
            l.rsplit_once(' ').is_some_and(|(name, p)| {
                classes.contains(&name) && p.len() == 6 && p.parse::<f32>().is_ok()
            })
        })
        .count();
    assert!(classified >= answers, "{classified} answers:\n{out}");
    for message in messages {
        assert!(out.contains(message), "{message:?} not in:\n{out}");
    }
}

#[test]
fn classify_words_parity_all_boards() {
    let script = words_script();
    check_coverage(
        Fixture::Words,
        &script,
        80,
        &[
            "classes: english, spanish, french, german, italian, portuguese\n",
            "help: a line is a word",
            "\nerror: the sequence has no steps\n",
            "\nerror: character 'H' is not in the model's vocabulary\n",
            "\nerror: character 'A' is not in the model's vocabulary\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 128 bytes\n",
            "\nerror: character '\u{e9}' is not in the model's vocabulary\n",
            "\nerror: character '\u{ff}' is not in the model's vocabulary\n",
            "\nerror: invalid UTF-8 at byte offset 3 (0xE9)\n",
            "\nerror: invalid UTF-8 at byte offset 0 (0xFF)\n",
            "\nerror: unknown command /seed (try /help)\n",
            "\nerror: /classes takes no argument\n",
            "\nerror: unknown command / (try /help)\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Words, &script);
    }
}

#[test]
fn classify_dense_parity_all_boards() {
    let script = dense_script(Fixture::Dense);
    check_coverage(
        Fixture::Dense,
        &script,
        14,
        &[
            "classes: 1, 2, 3, 4, 5, 6, 7, 8, 9\n",
            "help: a line is one vector",
            "\n1 0.0000\n",
            "\nerror: the sequence has no steps\n",
            "\nerror: expected 12 values separated by commas, the line has 11\n",
            "\nerror: expected 12 values separated by commas, the line has 13\n",
            "\nerror: value 12 is not a finite number: \"x\"\n",
            "\nerror: value 1 is not a finite number: \"inf\"\n",
            "\nerror: value 1 is not a finite number: \"1e39\"\n",
            "\nerror: value 1 is not a finite number: \"/1\"\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 288 bytes\n",
            "\nerror: non-ASCII byte 0xC3\n",
            "\nerror: unknown command /nope (try /help)\n",
            "\nerror: /help takes no argument\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Dense, &script);
    }
}

/// The front-end of `fixture` is alive on the session's inputs: its convolution (rnn-core's
/// `Conv`, on the inputs normalised with the file's `mean` and `scale`) runs over the
/// vectors of `script`, an empty line starting a new sequence, and every channel answers
/// above zero at some step while the ReLU clips at others. Returns (outputs above zero,
/// outputs).
pub(crate) fn check_conv_active(fixture: Fixture, script: &[u8]) -> (usize, usize) {
    let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
    let header = view.header();
    let i = header.input as usize;
    let weights: Vec<f32> = view.weights().collect();
    let (mut at, mut mean, mut scale) = (0, &weights[..0], &weights[..0]);
    for t in header.tensors() {
        match t.role {
            TensorRole::InputMean => mean = &weights[at..at + t.len()],
            TensorRole::InputScale => scale = &weights[at..at + t.len()],
            _ => {}
        }
        at += t.len();
    }
    assert_eq!((mean.len(), scale.len()), (i, i), "a normalised fixture");
    let conv = Classifier::from_view(&view).expect("a classifier").conv();
    let channels = conv.stack().out_channels(i);
    let mut state = vec![0.0; conv.state_len()];
    let mut scratch = vec![0.0; conv.scratch_len()];
    let mut out = vec![0.0; channels];
    let (mut t, mut outputs) = (0, 0);
    let mut above = vec![0usize; channels];
    for line in script.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        if text.is_empty() {
            state.fill(0.0);
            t = 0;
            continue;
        }
        let Ok(x) = tests::protocol::vector(text, i) else {
            continue;
        };
        let x: Vec<f32> = x
            .iter()
            .zip(mean.iter().zip(scale))
            .map(|(x, (m, s))| (x - m) * s)
            .collect();
        let answered = conv
            .step(&mut state, t, Input::Dense(&x), &mut scratch, &mut out)
            .expect("buffers sized from the model");
        t += 1;
        if answered {
            outputs += 1;
            for (n, v) in above.iter_mut().zip(&out) {
                *n += usize::from(*v > 0.0);
            }
        }
    }
    let total = outputs * channels;
    let positive: usize = above.iter().sum();
    assert!(
        above.iter().all(|&n| n > 0) && positive < total,
        "{fixture:?}: outputs above zero per channel {above:?} of {outputs}"
    );
    assert!(
        (total / 5..=4 * total / 5).contains(&positive),
        "{fixture:?}: {positive} of {total} outputs above zero"
    );
    (positive, total)
}

#[test]
fn classify_conv_parity_all_boards() {
    let script = dense_script(Fixture::Conv);
    let (positive, total) = check_conv_active(Fixture::Conv, &script);
    println!("Conv: {positive} of {total} front-end outputs above zero on the session's inputs");
    check_coverage(
        Fixture::Conv,
        &script,
        14,
        &[
            "classes: wave, tap, shake, circle\n",
            "help: a line is one vector",
            "\nerror: the sequence has no steps\n",
            "\nerror: expected 6 values separated by commas, the line has 5\n",
            "\nerror: expected 6 values separated by commas, the line has 7\n",
            "\nerror: value 6 is not a finite number: \"x\"\n",
            "\nerror: value 1 is not a finite number: \"inf\"\n",
            "\nerror: value 1 is not a finite number: \"1e39\"\n",
            "\nerror: value 1 is not a finite number: \"/1\"\n",
            "\nerror: sequence longer than the buffer's 32 steps\n",
            "\nerror: line longer than 144 bytes\n",
            "\nerror: non-ASCII byte 0xC3\n",
            "\nerror: unknown command /nope (try /help)\n",
            "\nerror: /help takes no argument\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Conv, &script);
    }
}
