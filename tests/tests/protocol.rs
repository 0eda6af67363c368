//! Host-only checks of what the QEMU tests rely on.

use rnn_core::Rng;
use tests::protocol::{temperature, Reference};

/// The firmware parses `/sample T` as `m / 10^k` in `f32` (digits `m` < 2^24, `k` ≤ 10
/// after the point, `10^k` by repeated multiplication). Both operands are exact, so the one
/// division rounds correctly: the same bits as Rust's correctly rounded `str::parse`,
/// which the host uses. Checked on many strings.
#[test]
fn firmware_temperature_parse_rounds_correctly() {
    let firmware = |m: u32, k: usize| {
        let mut scale = 1.0f32;
        for _ in 0..k {
            scale *= 10.0;
        }
        m as f32 / scale
    };
    let mut rng = Rng::new(77);
    for n in 0..200_000u32 {
        let m = if n < 1000 {
            n
        } else {
            (rng.next_u64() % (1 << 24)) as u32
        };
        let k = (rng.next_u64() % 11) as usize;
        let digits = format!("{m:0>width$}", width = k + 1);
        let text = format!(
            "{}.{}",
            &digits[..digits.len() - k],
            &digits[digits.len() - k..]
        );
        let parsed: f32 = text.parse().expect("a decimal");
        assert_eq!(firmware(m, k).to_bits(), parsed.to_bits(), "{text}");
        if m > 0 {
            assert_eq!(temperature(&text), Some(parsed), "{text}");
        }
    }
    for bad in [
        "",
        ".",
        "0",
        "0.000",
        "-1",
        "+1",
        "1e3",
        "inf",
        "NaN",
        "16777216",
        "1.23456789012",
        " 1",
    ] {
        assert_eq!(temperature(bad), None, "{bad:?}");
    }
}

/// The reference answers a few lines as documented (a sanity check of the reference
/// itself, independent of QEMU).
#[test]
fn reference_follows_the_documented_protocol() {
    let bytes = tests::fixture::elman_bytes(tests::fixture::VOCAB, 8, 1);
    let mut r = Reference::new(&bytes).expect("fixture loads");
    let out = String::from_utf8(r.feed(b"/greedy\nab\nab\r\n/seed x\nA\n/stream\nab\x04")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ok: greedy");
    assert!(lines[1].starts_with("ab") && lines[1] == lines[2], "{out}");
    assert!(lines[3].starts_with("error: usage: /seed N"), "{out}");
    assert_eq!(
        lines[4],
        "error: character 'A' is not in the model's vocabulary"
    );
    assert!(lines[5].starts_with("ok: stream"), "{out}");
    assert_eq!(lines[6].chars().count(), 2, "{out}");
    assert_eq!(lines[7], "ok: stream ended");
    assert_eq!(lines.len(), 8);
}

/// The reference runs every architecture: its banner names the cell and the depth, and its
/// names equal `rnn-train sample`'s (which runs `rnn_core::Network`) for GRU, LSTM and
/// stacked models.
#[test]
fn reference_runs_every_architecture() {
    use rnn_core::CellKind;
    let dir = std::env::temp_dir().join(format!("rnn-protocol-{}", std::process::id()));
    for (kind, layers) in [
        (CellKind::Elman, 2),
        (CellKind::Gru, 1),
        (CellKind::Gru, 3),
        (CellKind::Lstm, 1),
        (CellKind::Lstm, 4),
    ] {
        let bytes = tests::fixture::network_bytes(kind, layers, tests::fixture::VOCAB, 9, 2);
        let mut r = Reference::new(&bytes).expect("fixture loads");
        let banner = r.banner("b", "c", bytes.len());
        assert!(
            banner.contains(&format!(" cell={} layers={layers} ", kind.name())),
            "{banner}"
        );
        let out = String::from_utf8(r.feed(b"/seed 4\n/sample 0.8\nb\nb\n\n")).unwrap();
        let names: Vec<&str> = out.lines().skip(2).collect();
        let path = dir.join(format!("{}{layers}.rnn", kind.name()));
        tests::fixture::save(&path, &bytes);
        let mut host = Vec::new();
        rnn_train::cli::sample::sample(&path, 2, "b", 0.8, 4, 50, &mut host).expect("sample runs");
        let host = String::from_utf8(host).unwrap();
        assert_eq!(
            names[..2],
            host.lines().collect::<Vec<_>>()[..],
            "{kind:?} x {layers}"
        );
        assert_eq!(names.len(), 3, "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The classify mode's reference: probabilities rounded half up from the exact value,
/// vectors parsed as documented, and a word's answer is `rnn-core`'s classifier's argmax
/// with its softmax probability.
#[test]
fn reference_classify_mode() {
    use tests::protocol::{probability_e4, vector};
    // 312.5 exactly: ties go up.
    assert_eq!(probability_e4(1.0 / 32.0), 313);
    // 0.99995 is a little below its decimal in f32: the exact value rounds down.
    assert_eq!(probability_e4(0.99995), 9_999);
    assert_eq!(probability_e4(0.99996), 10_000);
    assert_eq!(probability_e4(0.00004), 0);
    assert_eq!(probability_e4(f32::NAN), 0);
    assert_eq!(probability_e4(f32::from_bits(1)), 0);
    assert_eq!(vector(" 1, -2.5,3e-1", 3), Ok(vec![1.0, -2.5, 0.3]));
    assert!(vector("1,2", 3).unwrap_err().contains("expected 3 values"));
    assert!(vector("1,,3", 3).unwrap_err().contains("value 2 is not"));
    assert!(vector("1,inf,3", 3).unwrap_err().contains("value 2 is not"));

    let bytes = tests::fixture::classifier_bytes(&tests::fixture::WORD_CLASSIFIER);
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    let classifier = rnn_core::Classifier::from_view(&view).unwrap();
    let tokens: Vec<u16> = "hola"
        .chars()
        .map(|c| view.vocab().index_of(c).unwrap() as u16)
        .collect();
    let mut work = vec![0.0; classifier.work_len(4)];
    let mut logits = vec![0.0; 6];
    classifier
        .classify(rnn_core::Steps::Tokens(&tokens), &mut work, &mut logits)
        .unwrap();
    let k = rnn_core::sample::argmax(&logits);
    rnn_core::sample::softmax(&mut logits);
    let q = probability_e4(logits[k]);
    let expected = format!(
        "{} {}.{:04}\n",
        view.classes().name(k).unwrap(),
        q / 10_000,
        q % 10_000
    );
    let mut r = Reference::new(&bytes).unwrap();
    assert_eq!(String::from_utf8(r.feed(b"hola\n")).unwrap(), expected);
    assert_eq!(
        String::from_utf8(r.feed(b"\nHi\n")).unwrap(),
        "error: the sequence has no steps\nerror: character 'H' is not in the model's vocabulary\n"
    );
}

/// The firmware's decimal printing (`firmware-example/src/decimal.rs`, compiled here as it
/// is) against `core::fmt` and the reference: every `f32` it prints with `N` decimals is
/// what `format!("{v:.N}")` prints (ties to even, signs of zero and of values that round
/// to zero, `NaN`, `inf`, all 39 digits of `f32::MAX`), and a probability in units of
/// 10⁻⁴ is [`tests::protocol::probability_e4`]'s.
#[test]
fn firmware_decimals_match_core_fmt() {
    #[path = "../../firmware-example/src/decimal.rs"]
    #[allow(dead_code)]
    mod decimal;
    struct S(String);
    impl rnn_core::Text for S {
        fn str(&mut self, s: &str) {
            self.0.push_str(s);
        }
    }
    let firmware = |v: f32, places: u32| {
        let mut s = S(String::new());
        decimal::write_f32(&mut s, v, places);
        s.0
    };
    let mut values: Vec<f32> = vec![
        0.0,
        -0.0,
        0.5,
        1.5,
        2.5,
        -2.5,
        0.125,
        0.375,
        1.0 / 32.0,
        0.09375,
        0.99995,
        9.99995,
        -0.00004,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        16_777_216.0,
        16_777_217.0,
        1e10,
        123_456_789.0,
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    // Every exponent, with a few significands each.
    for exponent in 0..256u32 {
        for fraction in [0, 1, 0x40_0000, 0x7F_FFFF, 0x12_3457] {
            values.push(f32::from_bits(exponent << 23 | fraction));
            values.push(-f32::from_bits(exponent << 23 | fraction));
        }
    }
    // Halfway cases at every number of decimals: k + 1/2 units of the last place, exact
    // in binary when the unit is a power of two over 10^N's factors (0.5, 0.25, ...).
    for k in 0..2000u32 {
        values.push(k as f32 / 64.0);
        values.push(k as f32 / 1024.0 + 0.5);
    }
    let mut rng = rnn_core::Rng::new(5);
    for _ in 0..300_000 {
        values.push(f32::from_bits(rng.next_u64() as u32));
        values.push((rng.next_f32() * 2.0 - 1.0) * 100.0);
    }
    for (n, &v) in values.iter().enumerate() {
        for places in 0..=decimal::MAX_PLACES {
            // All decimals for the chosen values, one count each for the random ones.
            if n > 12_000 && places != (n as u32 % 10) {
                continue;
            }
            let expected = format!("{v:.prec$}", prec = places as usize);
            assert_eq!(
                firmware(v, places),
                expected,
                "{v:e} ({:#x}) with {places} decimals",
                v.to_bits()
            );
        }
    }
    for _ in 0..300_000 {
        let p = rng.next_f32();
        assert_eq!(
            decimal::per_ten_thousand(p),
            tests::protocol::probability_e4(p),
            "{p:e}"
        );
    }
    for p in [
        0.0,
        -1.0,
        1.0,
        2.0,
        f32::NAN,
        0.99995,
        0.00005,
        1.0 / 32.0,
        f32::from_bits(1),
    ] {
        assert_eq!(
            decimal::per_ten_thousand(p),
            tests::protocol::probability_e4(p),
            "{p:e}"
        );
    }
}

/// The stream mode's reference (through `rnn_core::Stream`, one step per line) answers
/// what `rnn-core`'s other per-step path, `Classifier::per_step` over the whole recording,
/// gives at each step, for the tagger and the regression fixture: the same class and
/// probability digits, the same values with four decimals.
#[test]
fn reference_stream_mode_agrees_with_per_step() {
    use rnn_core::sample::{argmax, softmax};
    use tests::protocol::probability_e4;
    for spec in [tests::fixture::TAGGER, tests::fixture::REGRESSOR] {
        let bytes = tests::fixture::classifier_bytes(&spec);
        let view = rnn_core::ModelView::parse(&bytes).unwrap();
        let classifier = rnn_core::Classifier::from_view(&view).unwrap();
        let (i, o, steps) = (spec.channels, spec.classes.len(), 30);
        let mut rng = Rng::new(8);
        let values: Vec<f32> = (0..steps * i)
            .map(|_| (rng.next_f32() * 2.0 - 1.0) * 2.0)
            .collect();
        let mut work = vec![0.0; classifier.per_step_work_len(steps)];
        let mut out = vec![0.0; steps * o];
        classifier
            .per_step(rnn_core::Steps::Dense(&values), &mut work, &mut out)
            .unwrap();
        let expected: String = out
            .chunks(o)
            .map(|y| {
                if spec.task == rnn_core::Task::Tag {
                    let k = argmax(y);
                    let mut p = y.to_vec();
                    softmax(&mut p);
                    let q = probability_e4(p[k]);
                    format!("{} p={}.{:04}\n", spec.classes[k], q / 10_000, q % 10_000)
                } else {
                    let v: Vec<String> = y.iter().map(|v| format!("{v:.4}")).collect();
                    format!("{}\n", v.join(","))
                }
            })
            .collect();
        // `{}` of an f32 reads back as the same f32.
        let lines: String = values
            .chunks(i)
            .map(|x| {
                let v: Vec<String> = x.iter().map(|v| format!("{v}")).collect();
                format!("{}\n", v.join(", "))
            })
            .collect();
        let mut r = Reference::new(&bytes).unwrap();
        assert_eq!(
            String::from_utf8(r.feed(lines.as_bytes())).unwrap(),
            expected
        );
        // A new recording starts from the zero state again.
        let again = String::from_utf8(r.feed(format!("/reset\n{lines}").as_bytes())).unwrap();
        assert_eq!(again, format!("ok: reset\n{expected}"));
    }
}
