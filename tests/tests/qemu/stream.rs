//! Stream mode (taggers and regression models): whole sessions against the host's
//! reference on every board, `/bench` and `/mem`, and the models the build or the boot
//! refuses.

use crate::boot::fails_at_boot;
use crate::classify::random_vector;
use crate::common::*;
use rnn_core::{ModelView, Rng, Task};
use tests::fixture;
use tests::protocol::{line_max, Reference, DEFAULT_MAX_STEPS};
use tests::qemu;

/// The fixture's channels `I` and the command that lists its outputs' names.
fn shape(fixture: Fixture) -> (usize, &'static str) {
    let h = ModelView::parse(fixture.bytes())
        .expect("the fixture loads")
        .header();
    let names = if h.task == Task::Tag {
        "classes"
    } else {
        "targets"
    };
    (h.input as usize, names)
}

/// The recording the sessions replay: `steps` random vectors in many spellings.
fn recording(channels: usize, steps: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..steps)
        .map(|_| random_vector(&mut rng, channels))
        .collect()
}

/// Lines that are not vectors, each answered with one `error:` line that leaves the state
/// alone: wrong counts, malformed and non-finite numbers, the `//` escape, an empty line.
fn bad_lines(channels: usize) -> Vec<String> {
    let ones = |n: usize| vec!["1"; n].join(",");
    vec![
        ones(channels - 1),
        ones(channels + 1),
        String::new(),
        " ".to_string(),
        format!("{},", ones(channels)),
        format!(",{}", ones(channels - 1)),
        format!("{},x", ones(channels - 1)),
        format!("1..2,{}", ones(channels - 1)),
        format!("inf,{}", ones(channels - 1)),
        format!("{},NaN", ones(channels - 1)),
        format!("1e39,{}", ones(channels - 1)),
        format!("-1e39,{}", ones(channels - 1)),
        format!("0x10,{}", ones(channels - 1)),
        format!("1 2,{}", ones(channels - 1)),
        format!("\x07,{}", ones(channels - 1)),
        format!("//{}", ones(channels)),
        ",".repeat(channels - 1),
    ]
}

/// `count` lines of random bytes (any byte but CR and LF): any byte, printable ASCII,
/// mostly number characters, or a command with random words.
fn random_lines(seed: u64, count: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut below = |n: u64| rng.next_u64() % n;
    let numbers = b"0123456789.,,,,-+e ";
    let words = b" classestargetsresethelp0123456789";
    let mut s = Vec::new();
    for _ in 0..count {
        let kind = below(4);
        let len = below(90) as usize;
        for k in 0..len {
            let b = match kind {
                0 => loop {
                    let b = below(256) as u8;
                    if b != b'\r' && b != b'\n' {
                        break b;
                    }
                },
                1 => 0x20 + below(95) as u8,
                2 if below(20) != 0 => numbers[below(numbers.len() as u64) as usize],
                2 => 0x20 + below(95) as u8,
                _ if k == 0 => b'/',
                _ => words[below(words.len() as u64) as usize],
            };
            s.push(b);
        }
        s.push(b'\n');
    }
    s
}

/// The stream-mode session: `/help` and the names, a recording, `/reset` and the same
/// recording again, the recording with every kind of bad line after each of its steps,
/// commands (malformed, unknown, the other modes'), line ends, too long and non-ASCII
/// lines, the limits of `f32` (a normalised input overflows: the state turns NaN until
/// `/reset`), random lines, then `/reset` and the recording once more.
pub(crate) fn script(fixture: Fixture) -> Vec<u8> {
    let (i, names) = shape(fixture);
    let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
    let limit = line_max(&view, DEFAULT_MAX_STEPS);
    let steps = recording(i, 40, 51);
    let mut s = format!("/help\n/{names}\n");
    let replay = |s: &mut String| {
        for v in &steps {
            s.push_str(v);
            s.push('\n');
        }
    };
    replay(&mut s);
    s.push_str("/reset\n");
    replay(&mut s);
    s.push_str("/reset\n");
    for (k, v) in steps.iter().enumerate() {
        s.push_str(v);
        s.push('\n');
        let bad = bad_lines(i);
        s.push_str(&bad[k % bad.len()]);
        s.push('\n');
    }
    for line in [
        &format!("/{names} x")[..],
        "/reset now",
        "/classes",
        "/targets",
        "/seed 1",
        "/greedy",
        "/stream",
        "/bench 1",
        "/mem x",
        "/exit now",
        "/help me",
        "/  reset  ",
        "/nope",
        "/",
        "/ ",
        "/\x07bell",
    ] {
        s.push_str(line);
        s.push('\n');
    }
    let mut s = s.into_bytes();
    let mut rng = Rng::new(52);
    // Line ends: CRLF is one end, a lone CR is one, CR CR LF is two (an empty line).
    for end in [&b"\r\n"[..], b"\r", b"\r\r\n", b"\n"] {
        s.extend(random_vector(&mut rng, i).bytes());
        s.extend_from_slice(end);
    }
    // Over the limit, at the limit (one field of digits: a wrong count, or for one channel
    // a finite number), non-ASCII (first problem wins), then a vector.
    s.extend(std::iter::repeat_n(b'1', limit + 1));
    s.push(b'\n');
    s.extend(std::iter::repeat_n(b'1', limit));
    s.push(b'\n');
    s.extend_from_slice("1\u{e9}\n".as_bytes());
    s.extend_from_slice(b"\xff\n");
    s.extend(std::iter::repeat_n(b'1', limit));
    s.extend_from_slice(b"\xc3\n");
    s.extend(std::iter::repeat_n(b'1', limit + 1));
    s.extend_from_slice(b"\xc3\n");
    s.extend(random_vector(&mut rng, i).bytes());
    s.push(b'\n');
    // Exact spellings (halfway cases, subnormals), then the limits of f32.
    let exact = [
        "0",
        "-0",
        "1e-45",
        "0.300000011920928955078125",
        "16777217",
        "-2.0000001192092896",
    ];
    let line = |values: &[&str]| -> String {
        values
            .iter()
            .cycle()
            .take(i)
            .copied()
            .collect::<Vec<_>>()
            .join(",")
    };
    s.extend(line(&exact).bytes());
    s.push(b'\n');
    for values in [
        &["3.4028235e38"][..],
        &["-3.4028234e38", "3.4028235e38"],
        &["1"],
    ] {
        s.extend(line(values).bytes());
        s.push(b'\n');
    }
    s.extend_from_slice(b"/reset\n");
    s.extend(random_lines(2028, 150));
    s.extend_from_slice(b"/reset\n");
    for v in &steps {
        s.extend(v.bytes());
        s.push(b'\n');
    }
    s.extend_from_slice(format!("/{names}\n").as_bytes());
    s
}

/// The reference's own answers are what the session means to test: the recording after
/// `/reset` is answered as it was the first time, bad lines are answered with one error
/// each and do not change the state (the recording with bad lines between its steps gets
/// the recording's answers between the errors), and the expected messages are there.
pub(crate) fn check_reference(fixture: Fixture, script: &[u8], messages: &[&str]) {
    let (i, _) = shape(fixture);
    let steps = recording(i, 40, 51);
    let answers = |input: &str| -> Vec<String> {
        let mut r = Reference::new(fixture.bytes()).expect("the fixture loads");
        let out = String::from_utf8(r.feed(input.as_bytes())).expect("ASCII answers");
        out.lines().map(str::to_owned).collect()
    };
    let alone: String = steps.iter().map(|v| format!("{v}\n")).collect();
    let first = answers(&alone);
    assert_eq!(first.len(), steps.len());
    assert!(first.iter().all(|l| !l.starts_with("error")), "{first:?}");
    // The answers move: the state carries from step to step.
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    assert!(distinct.len() >= 10, "{first:?}");
    assert_eq!(answers(&format!("{alone}/reset\n{alone}"))[41..], first[..]);
    let bad = bad_lines(i);
    let mut interleaved = String::new();
    for (k, v) in steps.iter().enumerate() {
        interleaved.push_str(&format!("{v}\n{}\n", bad[k % bad.len()]));
    }
    let with_errors = answers(&interleaved);
    let (errors, kept): (Vec<String>, Vec<String>) = with_errors
        .into_iter()
        .partition(|l| l.starts_with("error: "));
    assert_eq!(errors.len(), steps.len(), "{errors:?}");
    assert_eq!(kept, first);

    let mut r = Reference::new(fixture.bytes()).expect("the fixture loads");
    let out = String::from_utf8(r.feed(script)).expect("ASCII answers");
    for message in messages {
        assert!(out.contains(message), "{message:?} not in:\n{out}");
    }
}

#[test]
fn stream_tag_parity_all_boards() {
    let script = script(Fixture::Tagger);
    check_reference(
        Fixture::Tagger,
        &script,
        &[
            "help: a line is one step's vector of comma-separated numbers, answered with the \
             step's class; the state carries over to the next line until /reset; commands: \
             /classes, /reset, /bench, /mem, /exit, /help\n",
            "\nclasses: still, walk, run, cycle\n",
            "\nok: reset\n",
            "\nstill p=0.0000\n",
            "\nerror: expected 6 values separated by commas, the line has 5\n",
            "\nerror: expected 6 values separated by commas, the line has 7\n",
            "\nerror: expected 6 values separated by commas, the line has 1\n",
            "\nerror: value 6 is not a finite number: \"x\"\n",
            "\nerror: value 1 is not a finite number: \"inf\"\n",
            "\nerror: value 1 is not a finite number: \"/1\"\n",
            "\nerror: line longer than 144 bytes\n",
            "\nerror: non-ASCII byte 0xC3\n",
            "\nerror: /classes takes no argument\n",
            "\nerror: /reset takes no argument\n",
            "\nerror: unknown command /targets (try /help)\n",
            "\nerror: unknown command /seed (try /help)\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Tagger, &script);
    }
}

#[test]
fn stream_regress_parity_all_boards() {
    let script = script(Fixture::Regressor);
    check_reference(
        Fixture::Regressor,
        &script,
        &[
            "help: a line is one step's vector of comma-separated numbers, answered with the \
             step's values; the state carries over to the next line until /reset; commands: \
             /targets, /reset, /bench, /mem, /exit, /help\n",
            "\ntargets: speed, heading\n",
            "\nok: reset\n",
            "\nerror: expected 3 values separated by commas, the line has 2\n",
            "\nerror: value 3 is not a finite number: \"x\"\n",
            "\nerror: value 1 is not a finite number: \"1e39\"\n",
            "\nerror: line longer than 72 bytes\n",
            "\nerror: non-ASCII byte 0xFF\n",
            "\nerror: /targets takes no argument\n",
            "\nerror: unknown command /classes (try /help)\n",
            "\nerror: unknown command /nope (try /help)\n",
        ],
    );
    for board in qemu::all() {
        check_parity(board, Fixture::Regressor, &script);
    }
}

/// `/bench` under `-icount shift=0`: the same count twice (within a SysTick tick), the MAC
/// count of a dense step with the output layer, a plausible cost per MAC; it leaves the
/// stream's state alone (the steps around it are answered as without it). `/mem`: the
/// static RAM is the state, scratch, outputs and line buffer plus at most 512 bytes; on
/// the micro:bit all RAM in use stays under 8 KiB.
#[test]
fn stream_bench_and_mem() {
    for fixture in [Fixture::Tagger, Fixture::Regressor] {
        let view = ModelView::parse(fixture.bytes()).expect("the fixture loads");
        let stream = rnn_core::Stream::from_view(&view).expect("a streaming model");
        let macs = view.header().macs_per_step(false);
        let floats = stream.state_len() + stream.scratch_len() + stream.output_size();
        let budget = (4 * floats + line_max(&view, DEFAULT_MAX_STEPS) + 512) as u64;
        let (i, _) = shape(fixture);
        let steps = recording(i, 3, 53);
        let mut reference = Reference::new(fixture.bytes()).expect("the fixture loads");
        let expected: Vec<String> =
            String::from_utf8(reference.feed(format!("{}\n", steps.join("\n")).as_bytes()))
                .expect("ASCII")
                .lines()
                .map(str::to_owned)
                .collect();
        let input = format!(
            "{}\n/bench\n/bench\n{}\n{}\n/mem\n/exit\n",
            steps[0], steps[1], steps[2]
        );
        for board in qemu::all() {
            let elf = firmware(board, fixture);
            let session = qemu::run(
                board,
                &elf,
                input.clone().into_bytes(),
                true,
                SESSION_TIMEOUT,
            );
            let text = session.text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 9, "{}: {text}", board.name);
            let (bench, again, mem) = (lines[3], lines[4], lines[7]);
            assert_eq!(
                [lines[2], lines[5], lines[6]],
                [&expected[0][..], &expected[1], &expected[2]],
                "{}: /bench must leave the state alone\n{text}",
                board.name
            );
            let number_before = |line: &str, key: &str| -> u64 {
                let head = &line[..line.find(key).unwrap_or_else(|| panic!("{key} in {line}"))];
                head.split_whitespace()
                    .last()
                    .unwrap_or("")
                    .trim_start_matches('(')
                    .parse()
                    .unwrap_or_else(|_| panic!("number before {key} in {line}"))
            };
            let task = view.header().task.name();
            assert!(bench.starts_with(&format!("bench: {task} ")), "{bench}");
            let per_step = number_before(bench, " instructions/step");
            let tick = 1_000_000_000u64.div_ceil(u64::from(board.clock_hz));
            assert!(
                per_step.abs_diff(number_before(again, " instructions/step")) <= tick,
                "{}: deterministic within a tick\n{bench}\n{again}",
                board.name
            );
            assert_eq!(number_before(bench, " MACs/step"), macs, "{bench}");
            assert!(
                per_step >= 2 * macs && per_step <= 1000 * macs,
                "{}: {bench}",
                board.name
            );
            let static_ram = number_before(mem, " bytes (.data+.bss)");
            let peak = number_before(mem, " bytes of ");
            assert!(
                static_ram <= budget,
                "{}: {mem} (budget {budget})",
                board.name
            );
            if board.name == "microbit" {
                assert!(static_ram + peak < 8 * 1024, "{}: {mem}", board.name);
            }
            println!(
                "{} ({fixture:?}): {bench}\n{}: {mem}",
                board.name, board.name
            );
        }
    }
}

/// A tagger in a firmware built for a regression model: `rnn-core`'s typed error at boot,
/// exit status 1 (the boot checks the task before anything else).
#[test]
fn stream_other_task_fails_at_boot() {
    fails_at_boot(&[(
        "microbit",
        Fixture::Tagger,
        Fixture::Regressor,
        "wrong task: expected a regress model, the file holds a tag model",
    )]);
}

/// A bidirectional tagger cannot stream, and a tagger with a vocabulary is not served:
/// the build stops with a message that says so.
#[test]
fn stream_unservable_models_fail_to_build() {
    let board = qemu::board("lm3s6965evb");
    let bidirectional = fixture::ClassifierSpec {
        bidirectional: true,
        ..fixture::TAGGER
    };
    let symbols = fixture::ClassifierSpec {
        vocab: "abc",
        normalized: false,
        ..fixture::TAGGER
    };
    for (spec, message) in [
        (bidirectional, "cannot run in the firmware's streaming mode"),
        (symbols, "reads dense vectors (one per line)"),
    ] {
        let path = work_dir().join(format!("unservable-{}.rnn", spec.bidirectional));
        fixture::save(&path, &fixture::classifier_bytes(&spec));
        let error = build_error(&board, &path).expect("the build must refuse the model");
        assert!(error.contains(message), "{error}");
    }
}
