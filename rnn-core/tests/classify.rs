//! Many-to-one classification against an f64 reference written from the equations, for
//! every cell kind, one and two layers, one and two directions, tokens and normalised
//! dense inputs; plus the file checks that come with classifiers.

// The reference loops are indexed on purpose: they read like the equations.
#![allow(clippy::needless_range_loop)]

mod common;

use rnn_core::{
    classifier_len, write_classifier, CellKind, Classifier, DenseBuffer, Dim, Error, Header,
    ModelView, Network, Steps, Task, TokenBuffer,
};

const H: usize = 5;
const O: usize = 3;
const CLASSES: &str = "cat\ndog\nemu\n";

fn gates(kind: CellKind) -> usize {
    match kind {
        CellKind::Elman => 1,
        CellKind::Gru => 3,
        CellKind::Lstm => 4,
    }
}

/// One layer's weights in file order, as f32 (what the file holds) and their shapes.
struct RefLayer {
    n_in: usize,
    w_x: Vec<f32>,
    w_h: Vec<f32>,
    b_x: Vec<f32>,
    b_h: Vec<f32>,
}

struct RefModel {
    kind: CellKind,
    input: usize,
    norm: Option<(Vec<f32>, Vec<f32>)>,
    stacks: Vec<Vec<RefLayer>>,
    w_ya: Vec<f32>,
    b_y: Vec<f32>,
}

impl RefModel {
    fn new(kind: CellKind, layers: usize, dirs: usize, input: usize, normalized: bool) -> Self {
        let g = gates(kind);
        let mut seed = 1000;
        let mut w = |n: usize| {
            seed += 1;
            common::weights(seed, n)
        };
        let norm = normalized.then(|| (w(input), w(input).iter().map(|s| 0.5 + s.abs()).collect()));
        let stacks = (0..dirs)
            .map(|_| {
                (0..layers)
                    .map(|l| {
                        let n_in = if l == 0 { input } else { dirs * H };
                        RefLayer {
                            n_in,
                            w_x: w(g * H * n_in),
                            w_h: w(g * H * H),
                            b_x: w(g * H),
                            b_h: if g == 1 { vec![] } else { w(g * H) },
                        }
                    })
                    .collect()
            })
            .collect();
        RefModel {
            kind,
            input,
            norm,
            w_ya: w(O * dirs * H),
            b_y: w(O),
            stacks,
        }
    }

    fn header(&self, vocab: &str) -> (Header, Vec<f32>) {
        let mut all = vec![];
        if let Some((m, s)) = &self.norm {
            all.extend(m);
            all.extend(s);
        }
        for stack in &self.stacks {
            for l in stack {
                all.extend(&l.w_x);
                all.extend(&l.w_h);
                all.extend(&l.b_x);
                all.extend(&l.b_h);
            }
        }
        all.extend(&self.w_ya);
        all.extend(&self.b_y);
        let _ = vocab;
        let h = Header::new(
            self.kind,
            self.stacks[0].len() as u8,
            self.input as u32,
            H as u32,
            O as u32,
        )
        .classifier()
        .with_bidirectional(self.stacks.len() == 2)
        .with_normalized(self.norm.is_some());
        (h, all)
    }

    fn file(&self, vocab: &str) -> Vec<u8> {
        let (header, all) = self.header(vocab);
        let mut buf = vec![0u8; classifier_len(&header, vocab, CLASSES, &[&all]).unwrap()];
        write_classifier(&mut buf, &header, vocab, CLASSES, &[&all]).unwrap();
        buf
    }

    /// One layer step in f64 from the equations; `state` is h (and c for LSTM).
    fn step(&self, l: &RefLayer, h: &mut [f64], c: &mut [f64], x: &[f64]) {
        let f = |v: f32| f64::from(v);
        let pre_x = |r: usize| -> f64 {
            f(l.b_x[r])
                + (0..l.n_in)
                    .map(|j| f(l.w_x[r * l.n_in + j]) * x[j])
                    .sum::<f64>()
        };
        let old = h.to_vec();
        let pre_h = |r: usize| -> f64 {
            let b = if l.b_h.is_empty() { 0.0 } else { f(l.b_h[r]) };
            b + (0..H).map(|j| f(l.w_h[r * H + j]) * old[j]).sum::<f64>()
        };
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        for j in 0..H {
            match self.kind {
                CellKind::Elman => h[j] = (pre_x(j) + pre_h(j)).tanh(),
                CellKind::Gru => {
                    let r = sig(pre_x(j) + pre_h(j));
                    let z = sig(pre_x(H + j) + pre_h(H + j));
                    let n = (pre_x(2 * H + j) + r * pre_h(2 * H + j)).tanh();
                    h[j] = (1.0 - z) * n + z * old[j];
                }
                CellKind::Lstm => {
                    let i = sig(pre_x(j) + pre_h(j));
                    let fg = sig(pre_x(H + j) + pre_h(H + j));
                    let g = (pre_x(2 * H + j) + pre_h(2 * H + j)).tanh();
                    let o = sig(pre_x(3 * H + j) + pre_h(3 * H + j));
                    c[j] = fg * c[j] + i * g;
                    h[j] = o * c[j].tanh();
                }
            }
        }
    }

    fn classify(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        let dirs = self.stacks.len();
        let mut below: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| match &self.norm {
                None => x.clone(),
                Some((m, s)) => (0..self.input)
                    .map(|c| (x[c] - f64::from(m[c])) * f64::from(s[c]))
                    .collect(),
            })
            .collect();
        let t_len = xs.len();
        let mut finals = vec![0.0; dirs * H];
        for l in 0..self.stacks[0].len() {
            let mut above = vec![vec![0.0; dirs * H]; t_len];
            for d in 0..dirs {
                let (mut h, mut c) = (vec![0.0; H], vec![0.0; H]);
                for k in 0..t_len {
                    let t = if d == 0 { k } else { t_len - 1 - k };
                    self.step(&self.stacks[d][l], &mut h, &mut c, &below[t]);
                    above[t][d * H..(d + 1) * H].copy_from_slice(&h);
                }
                finals[d * H..(d + 1) * H].copy_from_slice(&h);
            }
            below = above;
        }
        (0..O)
            .map(|k| {
                f64::from(self.b_y[k])
                    + (0..dirs * H)
                        .map(|j| f64::from(self.w_ya[k * dirs * H + j]) * finals[j])
                        .sum::<f64>()
            })
            .collect()
    }
}

fn close(got: &[f32], want: &[f64], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w).abs() < 1e-5,
            "{what}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn token_classifiers_match_the_f64_reference() {
    let vocab = "abcd";
    let word = [2u16, 0, 3, 3, 1, 0];
    for kind in [CellKind::Elman, CellKind::Gru, CellKind::Lstm] {
        for (layers, dirs) in [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2)] {
            let m = RefModel::new(kind, layers, dirs, vocab.len(), false);
            let bytes = m.file(vocab);
            let view = ModelView::parse(&bytes).unwrap();
            assert_eq!(view.classes().name(2), Some("emu"));
            let c = Classifier::from_view(&view).unwrap();
            let mut buf = TokenBuffer::<8>::new();
            for &t in &word {
                buf.push(usize::from(t)).unwrap();
            }
            let mut work = vec![0.0; c.work_len(buf.len())];
            let mut logits = [0.0f32; O];
            c.classify(buf.steps(), &mut work, &mut logits).unwrap();
            let xs: Vec<Vec<f64>> = word
                .iter()
                .map(|&t| {
                    (0..vocab.len())
                        .map(|k| f64::from(u8::from(k == usize::from(t))))
                        .collect()
                })
                .collect();
            close(
                &logits,
                &m.classify(&xs),
                &format!("{kind:?} {layers}x{dirs}"),
            );
        }
    }
}

/// A classifier built for the model's depth (`L`, as a firmware builds one) gives the
/// default table's bits and refuses a deeper model.
#[test]
fn a_layer_table_sized_for_the_model_gives_the_same_bits_and_refuses_deeper_models() {
    use rnn_core::AllStages;
    let m = RefModel::new(CellKind::Gru, 2, 2, 4, false);
    let bytes = m.file("abcd");
    let view = ModelView::parse(&bytes).unwrap();
    let words = view.weight_bytes().as_chunks::<4>().0;
    let full = Classifier::from_view(&view).unwrap();
    let sized = Classifier::<[u8; 4], AllStages, 2>::with_stages(&view, words).unwrap();
    let mut buf = TokenBuffer::<8>::new();
    for t in [3, 1, 0, 2, 2] {
        buf.push(t).unwrap();
    }
    let mut work = vec![0.0; full.work_len(buf.len())];
    let (mut a, mut b) = ([0.0f32; O], [0.0f32; O]);
    full.classify(buf.steps(), &mut work, &mut a).unwrap();
    sized.classify(buf.steps(), &mut work, &mut b).unwrap();
    assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
    let too_small = Classifier::<[u8; 4], AllStages, 1>::with_stages(&view, words).unwrap_err();
    assert_eq!(
        too_small,
        Error::SizeMismatch {
            dim: Dim::Layers,
            expected: 1,
            found: 2
        }
    );
}

#[test]
fn normalised_dense_classifiers_match_the_f64_reference() {
    const I: usize = 3;
    let series = [
        [0.5f32, -1.0, 2.0],
        [1.5, 0.25, -0.5],
        [0.0, 3.0, 1.0],
        [-2.0, 0.5, 0.5],
    ];
    for kind in [CellKind::Gru, CellKind::Lstm] {
        for (layers, dirs) in [(1, 2), (2, 2)] {
            let m = RefModel::new(kind, layers, dirs, I, true);
            let bytes = m.file("");
            let view = ModelView::parse(&bytes).unwrap();
            let floats: Vec<f32> = view.weights().collect();
            let c = Classifier::with_floats(&view, &floats).unwrap();
            let mut buf = DenseBuffer::<4, I>::new();
            for x in series {
                buf.push(x).unwrap();
            }
            assert_eq!(
                buf.push([0.0; I]),
                Err(Error::SequenceTooLong { capacity: 4 })
            );
            let mut work = vec![0.0; c.work_len(4)];
            let mut logits = [0.0f32; O];
            c.classify(buf.steps(), &mut work, &mut logits).unwrap();
            let xs: Vec<Vec<f64>> = series
                .iter()
                .map(|x| x.iter().map(|&v| f64::from(v)).collect())
                .collect();
            close(
                &logits,
                &m.classify(&xs),
                &format!("{kind:?} {layers}x{dirs} dense"),
            );
        }
    }
}

#[test]
fn bad_calls_are_errors() {
    let m = RefModel::new(CellKind::Gru, 2, 2, 4, false);
    let bytes = m.file("abcd");
    let view = ModelView::parse(&bytes).unwrap();
    let c = Classifier::from_view(&view).unwrap();
    let mut logits = [0.0f32; O];
    let mut work = vec![0.0; c.work_len(3)];
    assert_eq!(
        c.classify(Steps::Tokens(&[]), &mut work, &mut logits),
        Err(Error::EmptySequence)
    );
    assert_eq!(
        c.classify(Steps::Tokens(&[0, 9]), &mut work, &mut logits),
        Err(Error::TokenOutOfRange { token: 9, len: 4 })
    );
    assert!(matches!(
        c.classify(Steps::Tokens(&[0, 1, 2, 3]), &mut work, &mut logits),
        Err(Error::BufferLength { dim: Dim::Work, .. })
    ));
    assert!(matches!(
        c.classify(Steps::Dense(&[1.0; 6]), &mut work, &mut logits),
        Err(Error::BufferLength {
            dim: Dim::Input,
            ..
        })
    ));
    // A classifier is not a next-symbol model, and the other way round.
    assert_eq!(
        Network::from_view(&view).unwrap_err(),
        Error::WrongTask {
            expected: Task::Next,
            found: Task::Classify
        }
    );
    let (plain, _) = common::valid_model();
    assert_eq!(
        Classifier::from_view(&ModelView::parse(&plain).unwrap()).unwrap_err(),
        Error::WrongTask {
            expected: Task::Classify,
            found: Task::Next
        }
    );
}

#[test]
fn classifier_files_are_checked() {
    let m = RefModel::new(CellKind::Elman, 1, 1, 4, false);
    let (header, all) = m.header("abcd");
    let mut buf = vec![0u8; 4096];
    // Class names must match O, be non-empty and distinct.
    assert_eq!(
        write_classifier(&mut buf, &header, "abcd", "a\nb\n", &[&all]),
        Err(Error::ClassCountMismatch {
            classes: 2,
            output: O as u32
        })
    );
    assert_eq!(
        write_classifier(&mut buf, &header, "abcd", "a\nb\na\n", &[&all]),
        Err(Error::BadClassName { index: 2 })
    );
    // A next-symbol model has no classes and cannot be bidirectional or normalised.
    let next = Header::new(CellKind::Elman, 1, 4, H as u32, 4);
    let n = next.param_count().unwrap();
    let w = vec![0.1f32; n];
    assert_eq!(
        write_classifier(&mut buf, &next, "abcd", "x\n", &[&w]),
        Err(Error::ClassCountMismatch {
            classes: 1,
            output: 4
        })
    );
    for h in [next.with_bidirectional(true), next.with_normalized(true)] {
        let w = vec![0.1f32; h.param_count().unwrap()];
        assert!(matches!(
            write_classifier(&mut buf, &h, "", "", &[&w]),
            Err(Error::InvalidModel { .. })
        ));
    }
    // A classifier of one-hot symbols needs I = |vocab|, not O.
    assert!(matches!(
        write_classifier(&mut buf, &header, "abc", CLASSES, &[&all]),
        Err(Error::VocabSizeMismatch { .. })
    ));
    // Unknown task and flag bytes, by hand.
    let (plain, t) = common::valid_model();
    drop(plain);
    for (task, flags, want) in [
        (7u8, 0u8, Error::UnknownTask { found: 7 }),
        (0, 0x80, Error::UnknownFlags { found: 0x80 }),
    ] {
        let raw = common::Raw {
            task,
            flags,
            ..common::Raw::elman(t.all())
        };
        assert_eq!(ModelView::parse(&raw.encode()).unwrap_err(), want);
    }
}

#[test]
fn a_program_checks_the_header_it_was_built_for() {
    let built = Header::new(CellKind::Gru, 2, 12, 8, 3)
        .classifier()
        .with_bidirectional(true)
        .with_normalized(true);
    assert_eq!(built.check_built_for(&built), Ok(()));
    // The input stages: a front-end, or per-sequence normalisation, the build lacks.
    let conv = rnn_core::ConvStack::new(&[rnn_core::ConvSpec {
        kernel: 2,
        stride: 2,
        channels: 4,
    }])
    .unwrap();
    assert_eq!(
        built.with_conv(conv).check_built_for(&built),
        Err(Error::FrontEndMismatch)
    );
    assert_eq!(
        built.with_sequence_normalized(true).check_built_for(&built),
        Err(Error::FrontEndMismatch)
    );
    assert_eq!(
        Header::new(CellKind::Gru, 2, 12, 8, 3).check_built_for(&built),
        Err(Error::WrongTask {
            expected: Task::Classify,
            found: Task::Next
        })
    );
    let lstm = Header {
        cell: CellKind::Lstm,
        ..built
    };
    assert_eq!(
        lstm.check_built_for(&built),
        Err(Error::WrongCellKind {
            expected: CellKind::Gru,
            found: CellKind::Lstm
        })
    );
    assert_eq!(
        Header { layers: 3, ..built }.check_built_for(&built),
        Err(Error::SizeMismatch {
            dim: Dim::Layers,
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        built.with_bidirectional(false).check_built_for(&built),
        Err(Error::SizeMismatch {
            dim: Dim::Directions,
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        built.with_normalized(false).check_built_for(&built),
        Err(Error::NormalizationMismatch {
            expected: true,
            found: false
        })
    );
}

/// Per-sequence normalisation: the classifier equals the same one without it fed the
/// sequence z-normalised per channel in f64, and shifting or scaling a channel of the input
/// changes nothing.
#[test]
fn sequence_normalised_classifiers_match_the_f64_reference_and_ignore_offset_and_scale() {
    let (i, t_len) = (3usize, 11usize);
    let plain = Header::new(CellKind::Gru, 1, i as u32, H as u32, O as u32)
        .classifier()
        .with_normalized(true);
    let seq = plain.with_sequence_normalized(true);
    assert_eq!(seq.version(), 2);
    let w = common::weights(77, plain.param_count().unwrap());
    let mut files = [vec![0u8; 4096], vec![0u8; 4096]];
    let mut logits = [[0.0f32; O]; 3];
    let x: Vec<f32> = common::weights(78, t_len * i)
        .iter()
        .map(|v| 3.0 * v + 1.0)
        .collect();
    // The f64 reference of the normalisation.
    let mut z = vec![0.0f32; t_len * i];
    for c in 0..i {
        let col: Vec<f64> = (0..t_len).map(|t| f64::from(x[t * i + c])).collect();
        let m = col.iter().sum::<f64>() / t_len as f64;
        let sd = (col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / t_len as f64).sqrt();
        for t in 0..t_len {
            z[t * i + c] = ((col[t] - m) / sd) as f32;
        }
    }
    // Channel 1 shifted and scaled: the same sequence once normalised.
    let moved: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(k, &v)| if k % i == 1 { 4.0 * v - 7.5 } else { v })
        .collect();
    for (k, (header, steps)) in [(seq, &x), (plain, &z), (seq, &moved)]
        .into_iter()
        .enumerate()
    {
        let f = &mut files[k.min(1)];
        let len = write_classifier(f, &header, "", CLASSES, &[&w]).unwrap();
        let view = ModelView::parse(&f[..len]).unwrap();
        assert_eq!(
            view.header().sequence_normalized,
            header.sequence_normalized
        );
        let c = Classifier::from_view(&view).unwrap();
        let mut work = vec![0.0f32; c.work_len(t_len)];
        c.classify(Steps::Dense(steps), &mut work, &mut logits[k])
            .unwrap();
    }
    for k in 0..O {
        assert!((logits[0][k] - logits[1][k]).abs() < 1e-4, "{logits:?}");
        assert!((logits[0][k] - logits[2][k]).abs() < 1e-4, "{logits:?}");
    }
    // Only a classifier of dense inputs normalises each sequence.
    let chars = Header::new(CellKind::Gru, 1, 5, H as u32, O as u32)
        .classifier()
        .with_sequence_normalized(true);
    let w = common::weights(79, chars.param_count().unwrap());
    let mut f = vec![0u8; 4096];
    assert!(matches!(
        write_classifier(&mut f, &chars, common::VOCAB, CLASSES, &[&w]),
        Err(Error::InvalidModel { .. })
    ));
}

/// The column-major copy (`Classifier::columns`, `Stream::columns`, the host tools'
/// layout) gives the bits of the file's layout: token and normalised dense classifiers of
/// every kind, depth and direction, a front-end classifier, a bidirectional tagger run over
/// a whole sequence and a two-layer regression model streamed step by step.
#[test]
fn a_column_major_copy_classifies_and_streams_with_the_same_bits() {
    use rnn_core::{columns_len, Column, Input, Stream};
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let both = |bytes: &[u8], steps: Steps<'_>, t: usize, per_step: bool, what: &str| {
        let view = ModelView::parse(bytes).unwrap();
        let rows = Classifier::from_view(&view).unwrap();
        let mut buf = vec![Column::ZERO; columns_len(&view).unwrap()];
        let cols = Classifier::columns(&view, &mut buf).unwrap();
        let mut work = vec![0.0; rows.per_step_work_len(t)];
        let (mut a, mut b) = (vec![0.0f32; t * O.max(8)], vec![0.0f32; t * O.max(8)]);
        if per_step {
            let n = t * rows.output_size();
            rows.per_step(steps, &mut work, &mut a[..n]).unwrap();
            cols.per_step(steps, &mut work, &mut b[..n]).unwrap();
        } else {
            let n = rows.output_size();
            rows.classify(steps, &mut work, &mut a[..n]).unwrap();
            cols.classify(steps, &mut work, &mut b[..n]).unwrap();
        }
        assert_eq!(bits(&a), bits(&b), "{what}");
    };
    let word = [2usize, 0, 3, 3, 1, 0];
    let series = [[0.5f32, -1.0, 2.0], [1.5, 0.25, -0.5], [0.0, 3.0, 1.0]];
    for kind in [CellKind::Elman, CellKind::Gru, CellKind::Lstm] {
        for (layers, dirs) in [(1, 1), (1, 2), (2, 1), (3, 2)] {
            let m = RefModel::new(kind, layers, dirs, 4, false);
            let mut buf = TokenBuffer::<8>::new();
            word.iter().for_each(|&t| buf.push(t).unwrap());
            let what = format!("{kind:?} {layers}x{dirs}");
            both(&m.file("abcd"), buf.steps(), word.len(), false, &what);
            let m = RefModel::new(kind, layers, dirs, 3, true);
            let mut buf = DenseBuffer::<4, 3>::new();
            series.iter().for_each(|&x| buf.push(x).unwrap());
            both(&m.file(""), buf.steps(), 3, false, &format!("{what} dense"));
        }
    }
    let conv = common::valid_per_step_model(Task::Classify);
    let view = ModelView::parse(&conv).unwrap();
    let i = view.header().input as usize;
    let xs: Vec<f32> = (0..9 * i).map(|k| (k as f32 * 0.37).sin()).collect();
    both(&conv, Steps::Dense(&xs), 9, false, "front-end");
    let tagger = common::valid_per_step_model(Task::Tag);
    both(&tagger, Steps::Tokens(&[1, 4, 0, 2, 2]), 5, true, "tagger");

    let regress = common::valid_per_step_model(Task::Regress);
    let view = ModelView::parse(&regress).unwrap();
    let rows = Stream::from_view(&view).unwrap();
    let mut buf = vec![Column::ZERO; columns_len(&view).unwrap()];
    let cols = Stream::columns(&view, &mut buf).unwrap();
    let (mut sa, mut sb) = (vec![0.0; rows.state_len()], vec![0.0; rows.state_len()]);
    let mut scratch = vec![0.0; rows.scratch_len()];
    let (mut a, mut b) = (vec![0.0; rows.output_size()], vec![0.0; rows.output_size()]);
    for x in [[0.5f32, -1.0, 2.0], [1.5, 0.25, -0.5], [0.0, 3.0, 1.0]] {
        rows.step(&mut sa, Input::Dense(&x), &mut scratch, &mut a)
            .unwrap();
        cols.step(&mut sb, Input::Dense(&x), &mut scratch, &mut b)
            .unwrap();
        assert_eq!(
            (bits(&sa), bits(&a)),
            (bits(&sb), bits(&b)),
            "regression stream"
        );
    }
}
