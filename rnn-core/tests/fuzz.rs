//! The loader never panics: 100,000 random and mutated byte strings (proptest), each
//! parsed and, when accepted, run.

mod common;

use proptest::prelude::*;
use rnn_core::{Elman, ModelView};

fn exercise(bytes: &[u8]) {
    if let Ok(view) = ModelView::parse(bytes) {
        // Whatever is accepted must also run.
        let _ = view.weights().count();
        if let Ok(m) = Elman::<{ common::I }, { common::H }, { common::O }>::from_view(&view) {
            let mut a = [0.0; common::H];
            let mut l = [0.0; common::O];
            m.step_start(&mut a, &mut l);
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
