//! The cell facts and the tensor walk (`Header::tensors`, `Header::macs_per_step`) against
//! expectations written out here independently, and against what the reader consumes.

mod common;

use proptest::prelude::*;
use rnn_core::{
    write_classifier, CellKind, Classifier, ConvSpec, ConvStack, ElmanWeights, Error, Header,
    Input, ModelView, Network, Steps, Stream, Task, TensorRole, TensorSpec,
};

use common::Raw;

/// Gate blocks per kind, as FORMAT.md states them.
fn gates(cell: CellKind) -> usize {
    match cell {
        CellKind::Elman => 1,
        CellKind::Gru => 3,
        CellKind::Lstm => 4,
    }
}

/// A front-end of two layers: kernel 3, 4 channels, stride 2; kernel 2, 3 channels.
const CONV: [ConvSpec; 2] = [
    ConvSpec {
        kernel: 3,
        stride: 2,
        channels: 4,
    },
    ConvSpec {
        kernel: 2,
        stride: 1,
        channels: 3,
    },
];

/// Every header shape: cell × layers 1..=4 × directions × normalised × task, and
/// classifiers with a convolutional front-end.
fn every_header(i: u32, h: u32, o: u32) -> Vec<Header> {
    let mut all = Vec::new();
    for cell in [CellKind::Elman, CellKind::Gru, CellKind::Lstm] {
        for layers in 1..=4 {
            for (bidirectional, normalized) in
                [(false, false), (true, false), (false, true), (true, true)]
            {
                for task in Task::ALL {
                    let header = Header::new(cell, layers, i, h, o)
                        .with_bidirectional(bidirectional)
                        .with_normalized(normalized)
                        .with_task(task);
                    all.push(header);
                }
                // A classifier with a convolutional front-end of one and two layers (the
                // second with dense inputs normalised per sequence too).
                for conv in [&CONV[..1], &CONV[..]] {
                    let header = Header::new(cell, layers, i, h, o)
                        .with_bidirectional(bidirectional)
                        .with_normalized(normalized)
                        .classifier()
                        .with_conv(ConvStack::new(conv).unwrap())
                        .with_sequence_normalized(normalized && conv.len() == 2);
                    all.push(header);
                }
            }
        }
    }
    all
}

/// FORMAT.md's order, written out as nested loops: (role, layer, direction, rows, cols).
fn expected_walk(header: &Header) -> Vec<(TensorRole, usize, usize, usize, usize)> {
    let (i, h, o) = (
        header.input as usize,
        header.hidden as usize,
        header.output as usize,
    );
    let d = if header.bidirectional { 2 } else { 1 };
    let g = gates(header.cell);
    let mut walk = Vec::new();
    if header.normalized {
        walk.push((TensorRole::InputMean, 0, 0, i, 1));
        walk.push((TensorRole::InputScale, 0, 0, i, 1));
    }
    if header.task == Task::Regress {
        walk.push((TensorRole::TargetMean, 0, 0, o, 1));
        walk.push((TensorRole::TargetStd, 0, 0, o, 1));
    }
    let mut c_in = i;
    for (l, spec) in header.conv.layers().iter().enumerate() {
        let (k, c) = (usize::from(spec.kernel), usize::from(spec.channels));
        walk.push((TensorRole::ConvWeights, l, 0, c, k * c_in));
        walk.push((TensorRole::ConvBias, l, 0, c, 1));
        c_in = c;
    }
    for dir in 0..d {
        for l in 0..usize::from(header.layers) {
            let n_in = if l == 0 { c_in } else { d * h };
            walk.push((TensorRole::InputWeights, l, dir, g * h, n_in));
            walk.push((TensorRole::RecurrentWeights, l, dir, g * h, h));
            walk.push((TensorRole::InputBias, l, dir, g * h, 1));
            if header.cell != CellKind::Elman {
                walk.push((TensorRole::RecurrentBias, l, dir, g * h, 1));
            }
        }
    }
    walk.push((TensorRole::OutputWeights, 0, 0, o, d * h));
    walk.push((TensorRole::OutputBias, 0, 0, o, 1));
    walk
}

#[test]
fn cell_facts() {
    assert_eq!(CellKind::ALL.map(CellKind::code), [0, 1, 2]);
    for cell in CellKind::ALL {
        assert_eq!(cell.gates(), gates(cell));
        assert_eq!(
            cell.state_len(7),
            if cell == CellKind::Lstm { 14 } else { 7 }
        );
        assert_eq!(cell.has_recurrent_bias(), cell != CellKind::Elman);
    }
    assert_eq!(CellKind::Lstm.state_len(usize::MAX), usize::MAX);
    let names = |cell| {
        [
            TensorRole::InputMean,
            TensorRole::InputScale,
            TensorRole::InputWeights,
            TensorRole::RecurrentWeights,
            TensorRole::InputBias,
            TensorRole::RecurrentBias,
            TensorRole::OutputWeights,
            TensorRole::OutputBias,
        ]
        .map(|r| r.name(cell))
    };
    let elman = [
        "mean", "scale", "w_ax", "w_aa", "b_a", "b_hh", "w_ya", "b_y",
    ];
    let gated = [
        "mean", "scale", "w_ih", "w_hh", "b_ih", "b_hh", "w_ya", "b_y",
    ];
    assert_eq!(names(CellKind::Elman), elman);
    assert_eq!(names(CellKind::Gru), gated);
    assert_eq!(names(CellKind::Lstm), gated);
}

#[test]
fn walk_is_the_documented_order_and_sums_to_param_count() {
    for (i, h, o) in [(5, 6, 5), (1, 3, 2), (12, 1, 9)] {
        for header in every_header(i, h, o) {
            let walk: Vec<TensorSpec> = header.tensors().collect();
            let got: Vec<_> = walk
                .iter()
                .map(|t| (t.role, t.layer, t.direction, t.rows, t.cols))
                .collect();
            assert_eq!(got, expected_walk(&header), "{header:?}");
            assert_eq!(header.tensors().len(), walk.len());
            let total: usize = walk.iter().map(TensorSpec::len).sum();
            assert_eq!(header.param_count(), Ok(total), "{header:?}");
            for t in &walk {
                let vector = matches!(
                    t.role,
                    TensorRole::InputMean
                        | TensorRole::InputScale
                        | TensorRole::TargetMean
                        | TensorRole::TargetStd
                        | TensorRole::ConvBias
                        | TensorRole::InputBias
                        | TensorRole::RecurrentBias
                        | TensorRole::OutputBias
                );
                assert_eq!(t.is_vector(), vector);
                assert_eq!(t.len(), t.rows * t.cols);
            }
            let d = if header.bidirectional { 2 } else { 1 };
            assert_eq!(header.head_input(), d * h as usize);
            assert_eq!(header.layer_input(0), header.conv.out_channels(i as usize));
            assert_eq!(header.layer_input(3), d * h as usize);
            assert_eq!(header.layer_state_len(), header.cell.state_len(h as usize));
        }
    }
}

/// One float per tensor element, distinct per tensor; the output weights zero, so that the
/// logits are exactly the output bias when the reader finds it where the walk puts it.
fn tensors_for(header: &Header) -> Vec<Vec<f32>> {
    header
        .tensors()
        .enumerate()
        .map(|(k, t)| match t.role {
            TensorRole::OutputWeights => vec![0.0; t.len()],
            TensorRole::InputScale => vec![1.5; t.len()],
            // The identity, so a regression model's values are its output bias too.
            TensorRole::TargetMean => vec![0.0; t.len()],
            TensorRole::TargetStd => vec![1.0; t.len()],
            _ => common::weights(k as u64 * 7 + 1, t.len()),
        })
        .collect()
}

#[test]
fn reader_consumes_the_walk() {
    let classes = "x\ny\nz\n";
    for header in every_header(5, 4, 3) {
        let dense = header.normalized;
        let vocab = if dense { "" } else { common::VOCAB };
        let header = match header.task {
            // A next-symbol model predicts its own symbols, in one direction.
            Task::Next if header.bidirectional || header.normalized => continue,
            Task::Next => Header {
                output: 5,
                ..header
            },
            _ => header,
        };
        let names = if header.task.names_outputs() {
            classes
        } else {
            ""
        };
        let tensors = tensors_for(&header);
        let refs: Vec<&[f32]> = tensors.iter().map(Vec::as_slice).collect();
        let mut bytes = vec![0u8; 1 << 16];
        let len = write_classifier(&mut bytes, &header, vocab, names, &refs).unwrap();
        bytes.truncate(len);

        // The hand encoder of FORMAT.md gives the same file from the same floats...
        let mut conv = [0u8; 16];
        let conv = header.conv.encode(&mut conv);
        let raw = Raw {
            version: u64::from(header.version()),
            conv,
            cell: header.cell.code(),
            layers: header.layers,
            task: header.task.code(),
            flags: u8::from(header.bidirectional)
                | u8::from(header.normalized) << 1
                | u8::from(header.sequence_normalized) << 2,
            sizes: (5, 4, u64::from(header.output)),
            vocab: vocab.as_bytes(),
            classes: names.as_bytes(),
            weights: refs.concat(),
            ..Raw::elman(Vec::new())
        };
        assert_eq!(raw.encode(), bytes, "{header:?}");
        // ...and with one float fewer, the reader refuses it.
        let short = Raw {
            weights: refs.concat()[1..].to_vec(),
            ..raw
        };
        let short = short.encode();
        let refused = ModelView::parse(&short);
        assert!(
            matches!(refused, Err(Error::WeightCountMismatch { .. })),
            "{header:?}: {refused:?}"
        );

        let view = ModelView::parse(&bytes).unwrap();
        let b_y = tensors.last().unwrap();
        let mut logits = vec![0.0f32; header.output as usize];
        match header.task {
            Task::Next => {
                use rnn_core::Cell;
                let net = Network::from_view(&view).unwrap();
                let mut state = vec![0.0; net.state_len()];
                let mut scratch = vec![0.0; net.scratch_len()];
                net.step(&mut state, Input::Token(2), &mut scratch, &mut logits)
                    .unwrap();
                assert_eq!(
                    net.state_len(),
                    usize::from(header.layers) * header.layer_state_len()
                );
                if header.cell == CellKind::Elman && header.layers == 1 {
                    let w = ElmanWeights::from_view(&view).unwrap();
                    let got: Vec<Vec<f32>> = vec![
                        w.w_ax().collect(),
                        w.w_aa().collect(),
                        w.b_a().collect(),
                        w.w_ya().collect(),
                        w.b_y().collect(),
                    ];
                    assert_eq!(got, tensors);
                }
            }
            Task::Classify => {
                let c = Classifier::from_view(&view).unwrap();
                let mut work = vec![0.0; c.work_len(3)];
                let dense_steps = [0.25f32; 15];
                let steps = if dense {
                    Steps::Dense(&dense_steps)
                } else {
                    Steps::Tokens(&[1, 4, 0])
                };
                c.classify(steps, &mut work, &mut logits).unwrap();
            }
            Task::Tag | Task::Regress => {
                let c = Classifier::from_view(&view).unwrap();
                let o = header.output as usize;
                let mut work = vec![0.0; c.per_step_work_len(3)];
                let mut out = vec![0.0f32; 3 * o];
                let dense_steps = [0.25f32; 15];
                let steps = if dense {
                    Steps::Dense(&dense_steps)
                } else {
                    Steps::Tokens(&[1, 4, 0])
                };
                c.per_step(steps, &mut work, &mut out).unwrap();
                assert!(out.chunks(o).all(|y| y == &b_y[..]), "{header:?}");
                logits.copy_from_slice(&out[..o]);
                let stream = Stream::from_view(&view);
                if header.bidirectional {
                    assert!(matches!(stream, Err(Error::InvalidModel { .. })));
                } else {
                    let s = stream.unwrap();
                    let mut state = vec![0.0; s.state_len()];
                    let mut scratch = vec![0.0; s.scratch_len()];
                    let x = if dense {
                        Input::Dense(&dense_steps[..5])
                    } else {
                        Input::Token(4)
                    };
                    s.step(&mut state, x, &mut scratch, &mut logits).unwrap();
                }
            }
        }
        assert_eq!(
            &logits, b_y,
            "{header:?}: the output layer is not where the walk says"
        );
    }
}

/// MACs of one step as a plain loop over directions and layers.
fn macs_by_loop(header: &Header, one_hot: bool) -> u64 {
    let (i, h, o) = (
        header.input as u64,
        header.hidden as u64,
        header.output as u64,
    );
    let d = if header.bidirectional { 2 } else { 1 };
    let g = gates(header.cell) as u64;
    let first = header.conv.layers().last().map(|s| u64::from(s.channels));
    let mut macs = 0;
    for _direction in 0..d {
        for l in 0..header.layers {
            let input = match (l, one_hot, first) {
                (0, _, Some(c)) => c,
                (0, true, None) => 1,
                (0, false, None) => i,
                _ => d * h,
            };
            macs += g * h * h + g * h * input;
        }
    }
    if header.task != Task::Classify {
        macs += o * d * h;
    }
    macs
}

#[test]
fn macs_match_a_plain_loop() {
    for (i, h, o) in [(27, 25, 27), (12, 12, 9), (1, 1, 1), (300, 64, 7)] {
        for header in every_header(i, h, o) {
            for one_hot in [true, false] {
                assert_eq!(
                    header.macs_per_step(one_hot),
                    macs_by_loop(&header, one_hot),
                    "{header:?} one_hot={one_hot}"
                );
            }
            let d = if header.bidirectional { 2 } else { 1 };
            assert_eq!(header.head_macs(), u64::from(o) * d * u64::from(h));
            // A sequence of 10 steps: with the front-end (stride 2) 5 recurrent steps,
            // and its own MACs: 5 outputs × 4 × 3 × I, then 5 × 3 × 2 × 4.
            let t = 10u64;
            let conv_macs = match header.conv.layers().len() {
                0 => 0,
                1 => 5 * 4 * 3 * u64::from(i),
                _ => 5 * 4 * 3 * u64::from(i) + 5 * 3 * 2 * 4,
            };
            let steps = if header.conv.is_empty() { t } else { 5 };
            let head = if header.task == Task::Classify {
                header.head_macs()
            } else {
                0
            };
            assert_eq!(
                header.macs_per_sequence(10, false),
                conv_macs + steps * header.macs_per_step(false) + head,
                "{header:?}"
            );
        }
    }
}

#[test]
fn macs_are_the_figures_the_firmware_prints() {
    // The counts in README.md's tables, printed by the firmware's /bench before these
    // facts moved into rnn-core (I = O = 27, H = 25; the QEMU tests' classifiers).
    for (cell, layers, macs) in [
        (CellKind::Elman, 1, 1_325),
        (CellKind::Gru, 1, 2_625),
        (CellKind::Lstm, 1, 3_275),
        (CellKind::Gru, 2, 6_375),
        (CellKind::Lstm, 2, 8_275),
    ] {
        assert_eq!(
            Header::new(cell, layers, 27, 25, 27).macs_per_step(true),
            macs
        );
    }
    let words = Header::new(CellKind::Gru, 1, 29, 16, 6).classifier();
    assert_eq!(words.with_bidirectional(true).macs_per_step(true), 1_632);
    let sensor = Header::new(CellKind::Lstm, 1, 12, 12, 9).classifier();
    let sensor = sensor.with_bidirectional(true).with_normalized(true);
    assert_eq!(sensor.macs_per_step(false), 2_304);
}

#[test]
fn extreme_headers_do_not_panic() {
    for cell in CellKind::ALL {
        for layers in [0, 1, 5, 255] {
            for size in [0, 1, u32::MAX] {
                let h = Header::new(cell, layers, size, size, size)
                    .with_bidirectional(true)
                    .with_normalized(true)
                    .classifier();
                let count = h.tensors().count();
                assert_eq!(
                    count,
                    2 + 2 * usize::from(layers) * (3 + usize::from(cell.has_recurrent_bias())) + 2
                );
                let total = h.tensors().fold(0usize, |a, t| a.saturating_add(t.len()));
                assert_eq!(total == 0, size == 0);
                let _ = (h.macs_per_step(true), h.macs_per_step(false), h.head_macs());
                let _ = (h.layer_input(usize::MAX), h.layer_state_len());
                if !(layers == 1 && size == 1) {
                    assert!(matches!(h.param_count(), Err(Error::InvalidSize { .. })));
                }
            }
        }
    }
    let huge = Header::new(CellKind::Lstm, 255, u32::MAX, u32::MAX, u32::MAX);
    assert_eq!(huge.macs_per_step(false), u64::MAX);
}

fn any_header() -> impl Strategy<Value = Header> {
    (
        0..3u8,
        any::<u8>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<(bool, bool, bool)>(),
    )
        .prop_map(|(cell, layers, i, h, o, (classify, bi, norm))| {
            let cell = CellKind::from_code(cell).unwrap();
            let header = Header::new(cell, layers, i, h, o)
                .with_bidirectional(bi)
                .with_normalized(norm);
            if classify {
                header.classifier()
            } else {
                header
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_header_walks_without_panic(header in any_header()) {
        let walk = header.tensors();
        let n = walk.len();
        prop_assert_eq!(walk.clone().count(), n);
        let total = walk.fold(0u64, |a, t| a.saturating_add(t.len() as u64));
        prop_assert!(header.macs_per_step(true) <= header.macs_per_step(false) || header.input == 0);
        if let Ok(count) = header.param_count() {
            prop_assert_eq!(count as u64, total);
        }
    }
}
