//! The loader never panics: 100,000 random and mutated byte strings (proptest), each
//! parsed and, when accepted, run.

mod common;

use proptest::prelude::*;
use rnn_core::{
    Classifier, Elman, Input, ModelView, QClassifier, QInput, QNetwork, Steps, Stream, Task,
};

fn exercise(bytes: &[u8]) {
    if let Ok(view) = ModelView::parse(bytes) {
        // Whatever is accepted must also run.
        let _ = view.weights().count();
        if let Ok(m) = Elman::<{ common::I }, { common::H }, { common::O }>::from_view(&view) {
            let mut a = [0.0; common::H];
            let mut l = [0.0; common::O];
            m.step_start(&mut a, &mut l);
        }
        let (i, o) = (view.header().input as usize, view.header().output as usize);
        if i > 64 || o > 64 || view.header().hidden > 64 {
            return;
        }
        let dense = [0.5f32; 128];
        if let Ok(q) = QNetwork::from_view(&view) {
            let mut state = vec![0i16; q.state_len()];
            let mut scratch = vec![0i32; q.scratch_len()];
            let mut out = vec![0i32; o];
            let xq = [300i16; 128];
            for x in [QInput::Token(1), QInput::Dense(&xq[..i], 9), QInput::Start] {
                let _ = q.step(&mut state, x, &mut scratch, &mut out);
            }
        }
        if let Ok(c) = QClassifier::from_view(&view) {
            let mut work = vec![0i16; c.work_len(2)];
            let mut scratch = vec![0i32; c.scratch_len()];
            let mut out = vec![0i32; 2 * o];
            for steps in [Steps::Tokens(&[0, 1]), Steps::Dense(&dense[..2 * i])] {
                let _ = c.per_step(steps, &mut work, &mut scratch, &mut out);
                let _ = c.classify(steps, &mut work, &mut scratch, &mut out[..o]);
            }
        }
        if let Ok(s) = Stream::from_view(&view) {
            let mut state = vec![0.0; s.state_len()];
            let mut scratch = vec![0.0; s.scratch_len()];
            let mut out = vec![0.0; o];
            for x in [Input::Token(1), Input::Dense(&dense[..i]), Input::Start] {
                let _ = s.step(&mut state, x, &mut scratch, &mut out);
            }
        }
        if let Ok(c) = Classifier::from_view(&view) {
            let mut work = vec![0.0; c.per_step_work_len(2)];
            let mut out = vec![0.0; 2 * o];
            for steps in [Steps::Tokens(&[0, 1]), Steps::Dense(&dense[..2 * i])] {
                let _ = c.per_step(steps, &mut work, &mut out);
                let _ = c.classify(steps, &mut work, &mut out[..o]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&bytes);
        // With a valid preamble, so the body parser sees random bytes too.
        let mut b = b"RNN\x1a\x01".to_vec();
        b.extend_from_slice(&bytes);
        exercise(&b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 30_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_models_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mut bytes, _) = common::valid_model();
        let files = [Task::Regress, Task::Tag, Task::Classify]
            .map(common::valid_per_step_model)
            .into_iter()
            .chain([
                common::valid_quantized_model(),
                common::valid_quantized_regression(),
                common::valid_quantized_conv(),
            ]);
        for mut b in files {
            for (at, value) in &edits {
                let i = at.index(b.len());
                b[i] = *value;
            }
            exercise(&b);
        }
        for (at, value) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        exercise(&bytes);
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(&bytes);
    }
}
