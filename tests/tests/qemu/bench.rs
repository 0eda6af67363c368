//! `/bench` and `/mem`: deterministic counts, the MAC count, plausible costs, RAM budgets.

use crate::common::*;
use rnn_core::ModelView;
use tests::protocol::Reference;
use tests::qemu;

/// `/bench` under `-icount shift=0` is deterministic and plausible; `/mem` stays in budget.
#[test]
fn bench_and_mem() {
    // The Elman model's state, scratch and logits take 308 bytes: 1 KiB in all.
    check_bench_and_mem(Fixture::Elman, 1024, float_cost);
}

/// As [`bench_and_mem`] for the gated and stacked models: the static RAM is the protocol's
/// buffers (state, scratch, logits) plus at most 512 bytes (line buffer, sampler, the
/// network's layer table).
#[test]
fn bench_and_mem_gated_and_stacked() {
    for fixture in [Fixture::Gru, Fixture::Lstm, Fixture::Lstm2] {
        let view = ModelView::parse(fixture.bytes()).expect("fixture loads");
        let net = rnn_core::Network::from_view(&view).expect("fixture loads");
        use rnn_core::Cell;
        let floats = net.state_len() + net.scratch_len() + net.output_size();
        check_bench_and_mem(fixture, 4 * floats as u64 + 512, float_cost);
    }
}

/// A plausible float step: no fused multiply-add, so at least a multiply and an add per
/// MAC, and at most 1,000 instructions per MAC (soft float included).
fn float_cost(greedy: u64, macs: u64) -> bool {
    greedy >= 2 * macs && greedy <= 1000 * macs
}

/// `/bench` twice and `/mem` of `fixture` on every board: the same count twice, the MAC
/// count, greedy instructions per step that `plausible(greedy, macs)` accepts, sampling
/// dearer than greedy, at most `static_budget` bytes of static RAM, a stack peak under
/// 16 KiB.
pub(crate) fn check_bench_and_mem(
    fixture: Fixture,
    static_budget: u64,
    plausible: impl Fn(u64, u64) -> bool,
) {
    let model = ModelView::parse(fixture.bytes()).expect("fixture loads");
    // As the firmware counts them, with a one-hot input: `G·H·(H+1)` for layer 0, `2·G·H·H`
    // for each further layer, `O·H` for the output layer (rnn-core's tests check the count).
    let macs = model.header().macs_per_step(true);
    for board in qemu::all() {
        let elf = firmware(board, fixture);
        let session = qemu::run(
            board,
            &elf,
            b"/bench\n/bench\n/mem\n/exit\n".to_vec(),
            true,
            SESSION_TIMEOUT,
        );
        let text = session.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{}: {text}", board.name);
        let (bench, again, mem) = (lines[2], lines[3], lines[4]);
        assert_eq!(
            bench, again,
            "{}: the count must be deterministic",
            board.name
        );
        let greedy = number_before(bench, " instructions/step (");
        let sampled = number_before(bench, " instructions/step, ");
        assert_eq!(number_before(bench, " MACs/step"), macs, "{bench}");
        assert!(plausible(greedy, macs), "{}: {bench}", board.name);
        assert!(sampled > greedy, "{}: {bench}", board.name);
        let static_ram = number_before(mem, " bytes (.data+.bss)");
        let peak = number_before(mem, " bytes of ");
        assert!(static_ram <= static_budget, "{}: {mem}", board.name);
        assert!(peak > 0 && peak < 16 * 1024, "{}: {mem}", board.name);
        println!(
            "{} ({fixture:?}): {bench}\n{}: {mem}",
            board.name, board.name
        );
    }
}

/// `/bench` of a classifier under `-icount shift=0`: the same counts twice, a longer
/// sequence costs more, the cost per step is plausible for the MACs; `/mem`: the static
/// RAM is the sequence buffer, the working memory, the logits and the line buffer plus at
/// most 1 KiB (the classifier's table of layers), and on the micro:bit all of RAM in use
/// (static + stack peak) stays under 8 KiB of its 16 KiB.
#[test]
fn classify_bench_and_mem() {
    let cap = tests::protocol::DEFAULT_MAX_STEPS;
    for fixture in [
        Fixture::Words,
        Fixture::Dense,
        Fixture::Utf8Words,
        Fixture::Conv,
    ] {
        let view = ModelView::parse(fixture.bytes()).expect("fixture loads");
        let classifier = rnn_core::Classifier::from_view(&view).expect("a classifier");
        // As the firmware counts them: per direction `G·H·(H + I)` for layer 0
        // (`G·H·(H + 1)` with a one-hot input) and `G·H·(H + D·H)` for each further layer.
        let macs = view.header().macs_per_step(!view.vocab().is_empty());
        let i = view.header().input as usize;
        let sequence = if view.vocab().is_empty() {
            4 * cap * i
        } else {
            2 * cap
        };
        let floats = classifier.work_len(cap) + classifier.output_size();
        let budget = (sequence + 4 * floats + tests::protocol::line_max(&view, cap) + 1024) as u64;
        for board in qemu::all() {
            let elf = firmware(board, fixture);
            let session = qemu::run(
                board,
                &elf,
                b"/bench\n/bench\n/bench\n/mem\n/exit\n".to_vec(),
                true,
                SESSION_TIMEOUT,
            );
            let text = session.text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 7, "{}: {text}", board.name);
            // The second and third `/bench`: on the micro:bit the first 32-step count after
            // boot is reproducibly 62-125 instructions (one or two ticks) below every later
            // one, whatever the firmware's code size, until something has been classified
            // and printed (QEMU 7.2; not understood).
            let (first, bench, again, mem) = (lines[2], lines[3], lines[4], lines[5]);
            assert!(first.starts_with("bench: classify "), "{first}");
            let one = number_before(bench, " instructions, ");
            let full = number_before(bench, " instructions (");
            let per_step = number_before(bench, " per further step");
            // SysTick counts processor-clock ticks: where the run starts within a tick
            // depends on when the command arrived, so two runs may differ by one tick.
            let tick = 1_000_000_000u64.div_ceil(u64::from(board.clock_hz));
            for (key, value) in [(" instructions, ", one), (" instructions (", full)] {
                let other = number_before(again, key);
                assert!(
                    value.abs_diff(other) <= tick,
                    "{}: deterministic within a tick\n{bench}\n{again}",
                    board.name
                );
            }
            assert_eq!(number_before(bench, " MACs/step"), macs, "{bench}");
            assert!(full > one, "{bench}");
            assert_eq!(per_step, (full - one) / (cap as u64 - 1), "{bench}");
            // The cost per MAC: a further step's over its MACs, or with a front-end (whose
            // strides leave fewer recurrent steps, and which adds its own MACs) the
            // further steps' over theirs, from rnn-core's count per sequence, printed with
            // the front-end.
            let h = view.header();
            let per_mac = if h.conv.is_empty() {
                per_step * 100 / macs
            } else {
                let one_hot = !view.vocab().is_empty();
                let (seq_one, seq_full) = (
                    h.macs_per_sequence(1, one_hot),
                    h.macs_per_sequence(cap, one_hot),
                );
                assert!(
                    bench.contains(&format!(
                        ", front-end 4:8:2, {seq_one} and {seq_full} MACs per sequence)"
                    )),
                    "{bench}"
                );
                (full - one) * 100 / (seq_full - seq_one)
            };
            assert!(
                bench.contains(&format!(
                    " per further step, {}.{:02} per MAC), ",
                    per_mac / 100,
                    per_mac % 100
                )),
                "{bench}"
            );
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

/// A dense classifier's `/bench` runs through the protocol's own sequence buffer, so it
/// waits for the end of a sequence: inside one it answers one error line and the vectors
/// already received stay (the sequence classifies as the host's reference classifies it
/// without the command); after the empty line it measures.
#[test]
fn dense_bench_waits_for_the_end_of_a_sequence() {
    let (board, fixture) = (qemu::board("lm3s6965evb"), Fixture::Dense);
    let mut rng = rnn_core::Rng::new(7);
    let channels = ModelView::parse(fixture.bytes()).unwrap().header().input as usize;
    let v1 = crate::classify::random_vector(&mut rng, channels);
    let v2 = crate::classify::random_vector(&mut rng, channels);
    let mut reference = Reference::new(fixture.bytes()).expect("the fixture loads");
    let answer = reference.feed(format!("{v1}\n{v2}\n\n").as_bytes());
    let answer = String::from_utf8(answer).expect("ASCII answers");
    let input = format!("{v1}\n/bench\n{v2}\n\n/bench\n/exit\n");
    let session = qemu::run(
        &board,
        &firmware(&board, fixture),
        input.into(),
        false,
        SESSION_TIMEOUT,
    );
    let text = session.text();
    let after_ready = text.split_once("READY\n").map_or("", |(_, rest)| rest);
    let lines: Vec<&str> = after_ready.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "error: /bench measures between sequences: end this one with an empty line first"
    );
    assert_eq!(format!("{}\n", lines[1]), answer, "{text}");
    assert!(lines[2].starts_with("bench: classify 1 step "), "{text}");
    assert_eq!(lines[3], "ok: exit");
}
