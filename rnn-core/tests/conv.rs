//! The convolutional front-end against an f64 reference of its equation over the whole
//! sequence (written here from the module documentation), streamed step by step; and a
//! classifier with a front-end against the same classifier without one, fed the
//! reference's outputs.

mod common;

use rnn_core::{
    write_classifier, CellKind, Classifier, ConvSpec, ConvStack, Error, Header, Input, ModelView,
    Steps,
};

/// `v_j = ReLU(b + Σ_k W[·,k,·] u_{jS-k})` for every layer, over whole sequences, in f64.
fn reference(stack: &ConvStack, input: usize, weights: &[f32], x: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut u: Vec<Vec<f64>> = x.to_vec();
    let mut at = 0;
    let mut c_in = input;
    for s in stack.layers() {
        let (k, st, c) = (s.kernel as usize, s.stride as usize, s.channels as usize);
        let w = &weights[at..at + c * k * c_in];
        let b = &weights[at + c * k * c_in..at + c * k * c_in + c];
        at += c * k * c_in + c;
        let mut v = Vec::new();
        for t in (0..u.len()).step_by(st) {
            let out: Vec<f64> = (0..c)
                .map(|o| {
                    let mut z = f64::from(b[o]);
                    for back in 0..k {
                        if back > t {
                            break;
                        }
                        for ch in 0..c_in {
                            z += f64::from(w[(o * k + back) * c_in + ch]) * u[t - back][ch];
                        }
                    }
                    z.max(0.0)
                })
                .collect();
            v.push(out);
        }
        u = v;
        c_in = c;
    }
    u
}

fn stack(specs: &[(u8, u8, u16)]) -> ConvStack {
    let specs: Vec<ConvSpec> = specs
        .iter()
        .map(|&(kernel, stride, channels)| ConvSpec {
            kernel,
            stride,
            channels,
        })
        .collect();
    ConvStack::new(&specs).unwrap()
}

#[test]
fn a_streamed_front_end_and_its_classifier_match_the_references() {
    let (i, h, o) = (3usize, 4usize, 2usize);
    for (n, specs) in [
        vec![(3, 2, 5)],
        vec![(1, 1, 2)],
        vec![(4, 3, 6), (2, 2, 3)],
        vec![(2, 1, 3), (3, 2, 4), (2, 2, 2)],
    ]
    .into_iter()
    .enumerate()
    {
        let conv = stack(&specs);
        let header = Header::new(CellKind::Gru, 2, i as u32, h as u32, o as u32)
            .classifier()
            .with_conv(conv);
        let w = common::weights(40 + n as u64, header.param_count().unwrap());
        let mut file = vec![0u8; 1 << 14];
        let len = write_classifier(&mut file, &header, "", "a\nb\n", &[&w]).unwrap();
        let view = ModelView::parse(&file[..len]).unwrap();
        assert_eq!(view.header().conv, conv);
        let classifier = Classifier::from_view(&view).unwrap();
        let front = classifier.conv();
        let mut alive = false;
        for t_len in [1, 2, 7, 13] {
            let x: Vec<f32> = common::weights(7 * t_len as u64, t_len * i);
            let x64: Vec<Vec<f64>> = x
                .chunks(i)
                .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                .collect();
            let want = reference(&conv, i, &w, &x64);
            assert_eq!(want.len(), conv.steps_out(t_len));
            // Streamed: one input at a time, an answer whenever the last layer has one.
            let mut state = vec![0.0f32; front.state_len()];
            let mut scratch = vec![0.0f32; front.scratch_len()];
            let mut out = vec![0.0f32; conv.out_channels(i)];
            let mut got = Vec::new();
            for (t, row) in x.chunks(i).enumerate() {
                if front
                    .step(&mut state, t, Input::Dense(row), &mut scratch, &mut out)
                    .unwrap()
                {
                    got.push(out.clone());
                }
            }
            assert_eq!(got.len(), want.len(), "{specs:?} T={t_len}");
            for (g, w) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!(
                    (f64::from(*g) - w).abs() < 1e-5,
                    "{specs:?} T={t_len}: {g} vs {w}"
                );
            }
            alive |= got.iter().flatten().any(|&v| v > 0.0);
            // The classifier with the front-end equals the same recurrent stack and head
            // without one, fed the reference's outputs.
            let bare = Header {
                input: conv.out_channels(i) as u32,
                conv: ConvStack::NONE,
                ..header
            };
            let skip = w.len() - bare.param_count().unwrap();
            let mut file2 = vec![0u8; 1 << 14];
            let len2 = write_classifier(&mut file2, &bare, "", "a\nb\n", &[&w[skip..]]).unwrap();
            let view2 = ModelView::parse(&file2[..len2]).unwrap();
            let plain = Classifier::from_view(&view2).unwrap();
            let feats: Vec<f32> = want.iter().flatten().map(|&v| v as f32).collect();
            let (mut a, mut b) = ([0.0f32; 2], [0.0f32; 2]);
            let mut work = vec![0.0f32; classifier.work_len(t_len)];
            classifier
                .classify(Steps::Dense(&x), &mut work, &mut a)
                .unwrap();
            let mut work2 = vec![0.0f32; plain.work_len(want.len())];
            plain
                .classify(Steps::Dense(&feats), &mut work2, &mut b)
                .unwrap();
            for (a, b) in a.iter().zip(&b) {
                assert!((a - b).abs() < 1e-5, "{specs:?} T={t_len}: {a:?} vs {b:?}");
            }
            // Too little working memory is an error, not a panic.
            let short = classifier.work_len(t_len) - 1;
            assert!(matches!(
                classifier.classify(Steps::Dense(&x), &mut work[..short], &mut a),
                Err(Error::BufferLength { .. })
            ));
        }
        assert!(
            alive,
            "{specs:?}: the ReLU kept nothing, the test would be vacuous"
        );
    }
}

#[test]
fn conv_stacks_are_checked_and_round_trip() {
    let s = stack(&[(3, 2, 5), (2, 1, 300)]);
    let mut buf = [0u8; 16];
    let bytes = s.encode(&mut buf).to_vec();
    assert_eq!(bytes, [3, 2, 5, 0, 2, 1, 44, 1]);
    assert_eq!(ConvStack::decode(&bytes), Ok(s));
    assert_eq!(ConvStack::decode(&bytes[..5]), Err(Error::Malformed));
    for bad in [
        [0u8, 1, 1, 0],
        [1, 0, 1, 0],
        [1, 1, 0, 0],
        [1, 1, 0x01, 0x10],
    ] {
        assert!(
            matches!(ConvStack::decode(&bad), Err(Error::InvalidModel { .. })),
            "{bad:?}"
        );
    }
    assert!(ConvStack::decode(&[1u8; 20]).is_err());
    assert_eq!(s.steps_out(9), 5);
    assert_eq!(ConvStack::NONE.steps_out(9), 9);
    // Only a classifier has a front-end.
    let tagger = Header::new(CellKind::Elman, 1, 2, 3, 2)
        .with_task(rnn_core::Task::Tag)
        .with_conv(s);
    let w = vec![0.0f32; tagger.param_count().unwrap()];
    let mut file = vec![0u8; 1 << 14];
    assert!(matches!(
        write_classifier(&mut file, &tagger, "", "a\nb\n", &[&w]),
        Err(Error::InvalidModel { .. })
    ));
}

#[test]
fn a_classifier_without_the_optional_stages_runs_plain_models_and_refuses_the_others() {
    use rnn_core::{NoStages, Stages};
    const { assert!(!NoStages::CONV && !NoStages::SEQUENCE_NORM) };
    let plain = Header::new(CellKind::Lstm, 1, 3, 4, 2)
        .classifier()
        .with_normalized(true);
    let w = common::weights(3, plain.param_count().unwrap());
    let mut file = vec![0u8; 1 << 14];
    let len = write_classifier(&mut file, &plain, "", "a\nb\n", &[&w]).unwrap();
    let view = ModelView::parse(&file[..len]).unwrap();
    let words = view.weight_bytes().as_chunks::<4>().0;
    let all = Classifier::from_view(&view).unwrap();
    let none = Classifier::<[u8; 4], NoStages>::with_stages(&view, words).unwrap();
    let x = common::weights(4, 7 * 3);
    let (mut a, mut b) = ([0.0f32; 2], [0.0f32; 2]);
    let mut work = vec![0.0f32; all.work_len(7)];
    all.classify(Steps::Dense(&x), &mut work, &mut a).unwrap();
    assert_eq!(none.work_len(7), all.work_len(7));
    none.classify(Steps::Dense(&x), &mut work, &mut b).unwrap();
    assert_eq!(a, b);
    for header in [
        plain.with_conv(stack(&[(2, 1, 3)])),
        plain.with_sequence_normalized(true),
    ] {
        let w = common::weights(5, header.param_count().unwrap());
        let len = write_classifier(&mut file, &header, "", "a\nb\n", &[&w]).unwrap();
        let view = ModelView::parse(&file[..len]).unwrap();
        let words = view.weight_bytes().as_chunks::<4>().0;
        assert!(matches!(
            Classifier::<[u8; 4], NoStages>::with_stages(&view, words),
            Err(Error::InvalidModel { .. })
        ));
        assert!(Classifier::from_view(&view).is_ok());
    }
}
