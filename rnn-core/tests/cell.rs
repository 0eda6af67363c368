//! The Elman step against a naive f64 implementation written straight from the equations.

// The reference loops are indexed on purpose: they read like the equations.
#![allow(clippy::needless_range_loop)]

mod common;

use common::{valid_model, Tensors, H, I, O};
use rnn_core::{Elman, ElmanWeights, Error, Input, ModelView};

/// a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a); logits = W_ya a_t + b_y, all in f64.
fn reference_step(t: &Tensors, a: &mut [f64], x: &[f64]) -> Vec<f64> {
    let f = |v: f32| f64::from(v);
    let new_a: Vec<f64> = (0..H)
        .map(|r| {
            let mut z = f(t.b_a[r]);
            for j in 0..I {
                z += f(t.w_ax[r * I + j]) * x[j];
            }
            for j in 0..H {
                z += f(t.w_aa[r * H + j]) * a[j];
            }
            z.tanh()
        })
        .collect();
    a.copy_from_slice(&new_a);
    (0..O)
        .map(|k| f(t.b_y[k]) + (0..H).map(|j| f(t.w_ya[k * H + j]) * a[j]).sum::<f64>())
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w).abs() < 1e-5,
            "{what}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn token_dense_and_start_steps_match_the_f64_reference() {
    let (bytes, t) = valid_model();
    let model = Elman::<I, H, O>::from_bytes(&bytes).unwrap();
    let mut a = [0.0f32; H];
    let mut logits = [0.0f32; O];
    let mut ra = vec![0.0f64; H];

    model.step_start(&mut a, &mut logits);
    let want = reference_step(&t, &mut ra, &[0.0; I]);
    assert_close(&a, &ra, "a after start");
    assert_close(&logits, &want, "logits after start");

    for token in [1usize, 3, 0, 4, 4, 2] {
        model.step_token(&mut a, token, &mut logits).unwrap();
        let mut x = [0.0f64; I];
        x[token] = 1.0;
        let want = reference_step(&t, &mut ra, &x);
        assert_close(&a, &ra, "a after token");
        assert_close(&logits, &want, "logits after token");
    }

    let dense = [0.25f32, -1.5, 0.0, 2.0, 0.75];
    model.step_dense(&mut a, &dense, &mut logits);
    let x: Vec<f64> = dense.iter().map(|v| f64::from(*v)).collect();
    let want = reference_step(&t, &mut ra, &x);
    assert_close(&a, &ra, "a after dense");
    assert_close(&logits, &want, "logits after dense");
}

#[test]
fn a_one_hot_dense_input_equals_the_token_step_bit_for_bit() {
    let (bytes, _) = valid_model();
    let model = Elman::<I, H, O>::from_bytes(&bytes).unwrap();
    let (mut a1, mut a2) = ([0.1f32; H], [0.1f32; H]);
    let (mut l1, mut l2) = ([0.0f32; O], [0.0f32; O]);
    model.step_token(&mut a1, 2, &mut l1).unwrap();
    model.step_dense(&mut a2, &[0.0, 0.0, 1.0, 0.0, 0.0], &mut l2);
    assert_eq!(a1.map(f32::to_bits), a2.map(f32::to_bits));
    assert_eq!(l1.map(f32::to_bits), l2.map(f32::to_bits));
}

#[test]
fn streams_share_one_model_with_separate_state() {
    let (bytes, _) = valid_model();
    let model = Elman::<I, H, O>::from_bytes(&bytes).unwrap();
    let (mut a, mut b) = ([0.0f32; H], [0.0f32; H]);
    let mut l = [0.0f32; O];
    model.step_token(&mut a, 1, &mut l).unwrap();
    model.step_token(&mut b, 3, &mut l).unwrap();
    model.step_token(&mut a, 2, &mut l).unwrap();
    let mut alone = [0.0f32; H];
    model.step_token(&mut alone, 1, &mut l).unwrap();
    model.step_token(&mut alone, 2, &mut l).unwrap();
    assert_eq!(a, alone);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let (bytes, _) = valid_model();
    let model = Elman::<I, H, O>::from_bytes(&bytes).unwrap();
    let mut a = [0.0f32; H];
    let mut l = [0.0f32; O];
    assert_eq!(
        model.step_token(&mut a, I, &mut l),
        Err(Error::TokenOutOfRange { token: I, len: I })
    );
    let view = ModelView::parse(&bytes).unwrap();
    let w = ElmanWeights::from_view(&view).unwrap();
    let (mut a, mut s, mut l) = (vec![0.0; H], vec![0.0; H], vec![0.0; O]);
    assert!(matches!(
        w.step(&mut a[..H - 1], Input::Start, &mut s, &mut l),
        Err(Error::BufferLength { .. })
    ));
    assert!(matches!(
        w.step(&mut a, Input::Dense(&[1.0; 3]), &mut s, &mut l),
        Err(Error::BufferLength { .. })
    ));
    assert!(matches!(
        w.step(&mut a, Input::Token(99), &mut s, &mut l),
        Err(Error::TokenOutOfRange { .. })
    ));
}

#[test]
fn generate_is_deterministic_and_respects_prefix_and_max_len() {
    use rnn_core::{generate, Rng, Sampler};
    let (bytes, _) = valid_model();
    let model = Elman::<I, H, O>::from_bytes(&bytes).unwrap();
    let run = |seed: u64, prefix: &str, sampler: Sampler| {
        let mut rng = Rng::new(seed);
        let (mut a, mut s, mut l) = ([0.0f32; H], [0.0f32; H], [0.0f32; O]);
        let mut out = String::new();
        let r = generate(
            model.weights(),
            &model.vocab(),
            prefix,
            sampler,
            &mut rng,
            8,
            &mut a,
            &mut s,
            &mut l,
            |c| out.push(c),
        );
        (r, out)
    };
    let t = Sampler::Temperature(1.0);
    let (r1, o1) = run(5, "ab", t);
    let (r2, o2) = run(5, "ab", t);
    assert_eq!((r1, &o1), (r2, &o2));
    assert!(o1.chars().count() <= 8 && !o1.contains('\n'));
    assert_eq!(r1.unwrap(), o1.chars().count());
    // Unknown prefix characters fail before anything is emitted.
    let (r, o) = run(5, "az", t);
    assert_eq!(r, Err(Error::UnknownSymbol { symbol: 'z' }));
    assert!(o.is_empty());
    // Greedy: independent of the seed.
    assert_eq!(
        run(1, "c", Sampler::Greedy).1,
        run(2, "c", Sampler::Greedy).1
    );
}

#[test]
fn float_weights_give_the_same_bits_as_file_bytes() {
    let (bytes, t) = valid_model();
    let view = ModelView::parse(&bytes).unwrap();
    let floats = t.all();
    let fast = Elman::<I, H, O, f32>::with_floats(&view, &floats).unwrap();
    let slow = Elman::<I, H, O>::from_view(&view).unwrap();
    let (mut a1, mut a2) = ([0.0f32; H], [0.0f32; H]);
    let (mut l1, mut l2) = ([0.0f32; O], [0.0f32; O]);
    fast.step_start(&mut a1, &mut l1);
    slow.step_start(&mut a2, &mut l2);
    for tok in [3, 1, 4, 1] {
        fast.step_token(&mut a1, tok, &mut l1).unwrap();
        slow.step_token(&mut a2, tok, &mut l2).unwrap();
        assert_eq!(a1.map(f32::to_bits), a2.map(f32::to_bits));
        assert_eq!(l1.map(f32::to_bits), l2.map(f32::to_bits));
    }
    let mut other = floats.clone();
    other[7] += 1.0;
    assert_eq!(
        Elman::<I, H, O, f32>::with_floats(&view, &other).unwrap_err(),
        Error::FloatsDiffer { index: 7 }
    );
    assert_eq!(
        Elman::<I, H, O, f32>::with_floats(&view, &floats[1..]).unwrap_err(),
        Error::FloatsDiffer {
            index: floats.len() - 1
        }
    );
}

#[test]
fn odd_and_even_sizes_match_the_reference() {
    // The step handles rows in pairs; odd H and O exercise the leftover row.
    for (h, o) in [(1usize, 1usize), (2, 3), (7, 4), (8, 9)] {
        let i = 3;
        let t = Tensors::new(i, h, o, 99);
        let header = rnn_core::Header::elman(i as u32, h as u32, o as u32);
        let tensors: [&[f32]; 5] = [&t.w_ax, &t.w_aa, &t.b_a, &t.w_ya, &t.b_y];
        let mut buf = vec![0u8; rnn_core::encoded_len(&header, "", &tensors).unwrap()];
        rnn_core::write_model(&mut buf, &header, "", &tensors).unwrap();
        let view = ModelView::parse(&buf).unwrap();
        let w = ElmanWeights::from_view(&view).unwrap();
        let (mut a, mut s, mut l) = (vec![0.3f32; h], vec![0.0; h], vec![0.0; o]);
        let x = [0.5f32, -1.0, 2.0];
        w.step(&mut a, Input::Dense(&x), &mut s, &mut l).unwrap();
        for r in 0..h {
            let mut z = f64::from(t.b_a[r]);
            for j in 0..i {
                z += f64::from(t.w_ax[r * i + j]) * f64::from(x[j]);
            }
            z += (0..h)
                .map(|j| f64::from(t.w_aa[r * h + j]) * 0.3)
                .sum::<f64>();
            assert!(
                (f64::from(a[r]) - z.tanh()).abs() < 1e-5,
                "h={h} o={o} row {r}"
            );
        }
        for k in 0..o {
            let y = f64::from(t.b_y[k])
                + (0..h)
                    .map(|j| f64::from(t.w_ya[k * h + j]) * f64::from(a[j]))
                    .sum::<f64>();
            assert!((f64::from(l[k]) - y).abs() < 1e-5, "h={h} o={o} logit {k}");
        }
    }
}

/// A firmware-style weight type with its own `dot4` (one row after the other instead of
/// four at once) that keeps the summation contract.
#[derive(Clone, Copy, Debug)]
struct RowByRow(f32);

impl rnn_core::Weight for RowByRow {
    fn value(&self) -> f32 {
        self.0
    }
    fn dot4(w0: &[Self], w1: &[Self], w2: &[Self], w3: &[Self], x: &[f32]) -> [f32; 4] {
        let row = |w: &[Self]| {
            let mut acc = 0.0f32;
            for (w, x) in w.iter().zip(x) {
                acc += w.0 * x;
            }
            acc
        };
        [row(w0), row(w1), row(w2), row(w3)]
    }
}

#[test]
fn a_custom_weight_type_with_its_own_dot4_gives_the_same_bits() {
    let (bytes, t) = valid_model();
    let view = ModelView::parse(&bytes).unwrap();
    let words: Vec<RowByRow> = t.all().into_iter().map(RowByRow).collect();
    let custom = Elman::<I, H, O, RowByRow>::with_weights(&view, &words).unwrap();
    let plain = Elman::<I, H, O>::from_view(&view).unwrap();
    let (mut a1, mut a2) = ([0.0f32; H], [0.0f32; H]);
    let (mut l1, mut l2) = ([0.0f32; O], [0.0f32; O]);
    for tok in [0, 4, 2, 2, 1] {
        custom.step_token(&mut a1, tok, &mut l1).unwrap();
        plain.step_token(&mut a2, tok, &mut l2).unwrap();
        assert_eq!(a1.map(f32::to_bits), a2.map(f32::to_bits));
        assert_eq!(l1.map(f32::to_bits), l2.map(f32::to_bits));
    }
    let mut wrong = words.clone();
    wrong[3] = RowByRow(wrong[3].0 * 2.0 + 1.0);
    assert_eq!(
        Elman::<I, H, O, RowByRow>::with_weights(&view, &wrong).unwrap_err(),
        Error::FloatsDiffer { index: 3 }
    );
}

/// Steps `a` and `b` from the zero state through the start input and three tokens and
/// asserts the same bits of state and logits after each.
fn assert_same_steps(a: &dyn rnn_core::Cell, b: &dyn rnn_core::Cell, what: &str) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (mut sa, mut sb) = (vec![0.0f32; a.state_len()], vec![0.0f32; b.state_len()]);
    let mut scratch = vec![0.0f32; a.scratch_len()];
    let (mut la, mut lb) = (vec![0.0f32; a.output_size()], vec![0.0f32; b.output_size()]);
    for x in [
        Input::Start,
        Input::Token(2),
        Input::Token(0),
        Input::Token(4),
    ] {
        a.step(&mut sa, x, &mut scratch, &mut la).unwrap();
        b.step(&mut sb, x, &mut scratch, &mut lb).unwrap();
        assert_eq!(bits(&sa), bits(&sb), "{what}");
        assert_eq!(bits(&la), bits(&lb), "{what}");
    }
}

/// The host sums rows of `rnn-core`'s own weight types eight at a time (`Weight::PLAIN`);
/// a type with its own `dot4` is summed by that. Every size around the groups of eight
/// rows and four columns gives the same bits both ways, for every kind and two layers.
#[test]
fn rows_summed_eight_at_a_time_give_the_bits_of_one_row_at_a_time() {
    use rnn_core::{CellKind, Network};
    for kind in CellKind::ALL {
        for hidden in [1, 3, 7, 8, 9, 16, 17, 25, 33] {
            let bytes = common::float_model(kind, 2, hidden, 0.6, u64::from(hidden));
            let view = ModelView::parse(&bytes).unwrap();
            let (words, _) = view.weight_bytes().as_chunks::<4>();
            let words: Vec<RowByRow> = words
                .iter()
                .map(|w| RowByRow(f32::from_le_bytes(*w)))
                .collect();
            let one = Network::with_weights(&view, &words).unwrap();
            let eight = Network::from_view(&view).unwrap();
            assert_same_steps(&one, &eight, &format!("{kind:?} H = {hidden}"));
        }
    }
}

/// `Network` and `Stream` built for the model's depth (`L`, as a firmware builds them)
/// give the default table's bits and refuse a deeper model.
#[test]
fn a_layer_table_sized_for_the_model_gives_the_same_bits_and_refuses_deeper_models() {
    use rnn_core::{Cell, CellKind, Dim, Network, Stream, Task};
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let refused = Error::SizeMismatch {
        dim: Dim::Layers,
        expected: 1,
        found: 2,
    };
    let bytes = common::float_model(CellKind::Lstm, 2, 7, 0.6, 3);
    let view = ModelView::parse(&bytes).unwrap();
    let words = view.weight_bytes().as_chunks::<4>().0;
    let full = Network::from_view(&view).unwrap();
    let sized = Network::<[u8; 4], 2>::for_depth(&view, words).unwrap();
    let (mut sa, mut sb) = (vec![0.0; full.state_len()], vec![0.0; sized.state_len()]);
    let mut scratch = vec![0.0; full.scratch_len()];
    let (mut la, mut lb) = (vec![0.0; full.output_size()], vec![0.0; full.output_size()]);
    for x in [Input::Start, Input::Token(2), Input::Token(0)] {
        full.step(&mut sa, x, &mut scratch, &mut la).unwrap();
        sized.step(&mut sb, x, &mut scratch, &mut lb).unwrap();
        assert_eq!((bits(&sa), bits(&la)), (bits(&sb), bits(&lb)));
    }
    let err = Network::<[u8; 4], 1>::for_depth(&view, words).unwrap_err();
    assert_eq!(err, refused);

    // A two-layer regression model, stepped with dense inputs.
    let bytes = common::valid_per_step_model(Task::Regress);
    let view = ModelView::parse(&bytes).unwrap();
    let words = view.weight_bytes().as_chunks::<4>().0;
    let full = Stream::from_view(&view).unwrap();
    let sized = Stream::<[u8; 4], 2>::for_depth(&view, words).unwrap();
    let (mut sa, mut sb) = (vec![0.0; full.state_len()], vec![0.0; sized.state_len()]);
    let mut scratch = vec![0.0; full.scratch_len()];
    let (mut ya, mut yb) = ([0.0f32; 2], [0.0f32; 2]);
    for x in [[0.5f32, -1.0, 2.0], [0.0, 0.25, -0.75]] {
        full.step(&mut sa, Input::Dense(&x), &mut scratch, &mut ya)
            .unwrap();
        sized
            .step(&mut sb, Input::Dense(&x), &mut scratch, &mut yb)
            .unwrap();
        assert_eq!((bits(&sa), bits(&ya)), (bits(&sb), bits(&yb)));
    }
    let err = Stream::<[u8; 4], 1>::for_depth(&view, words).unwrap_err();
    assert_eq!(err, refused);
}

/// A model of `kind` with `layers` layers of `hidden` units over 27 symbols, weights from
/// `seed` (the small models of `common` have 5 symbols: both sides of one tile of rows).
fn model_27(kind: rnn_core::CellKind, layers: u8, hidden: u32, seed: u64) -> Vec<u8> {
    let header = rnn_core::Header::new(kind, layers, 27, hidden, 27);
    let w: Vec<f32> = common::weights(seed, header.param_count().unwrap())
        .iter()
        .map(|w| w * 0.6)
        .collect();
    let vocab: String = std::iter::once('\n').chain('a'..='z').collect();
    let mut buf = vec![0u8; rnn_core::encoded_len(&header, &vocab, &[&w]).unwrap()];
    let len = rnn_core::write_model(&mut buf, &header, &vocab, &[&w]).unwrap();
    buf.truncate(len);
    buf
}

/// The column-major copy (`Network::columns`, the host's faster layout) gives the bits of
/// the file's layout for every kind, one and two layers (the second reads a dense input)
/// and every size around its tiles of 8 to 32 rows.
#[test]
fn a_column_major_copy_gives_the_bits_of_the_file_layout() {
    use rnn_core::{Cell, CellKind, Column, Network};
    for kind in CellKind::ALL {
        for (layers, hidden) in [
            (1, 1),
            (2, 3),
            (1, 7),
            (2, 8),
            (1, 9),
            (2, 17),
            (1, 25),
            (2, 33),
            (1, 40),
        ] {
            for bytes in [
                common::float_model(kind, layers, hidden, 0.6, u64::from(hidden)),
                model_27(kind, layers, hidden, u64::from(hidden) + 7),
            ] {
                let view = ModelView::parse(&bytes).unwrap();
                let rows = Network::from_view(&view).unwrap();
                let mut buf = vec![Column::ZERO; rnn_core::columns_len(&view).unwrap()];
                let cols = Network::columns(&view, &mut buf).unwrap();
                let at = format!(
                    "{kind:?} {layers} x H = {hidden}, O = {}",
                    rows.output_size()
                );
                assert_same_steps(&rows, &cols, &at);
            }
        }
    }
}

/// A buffer of the wrong length, a classifier (to `Network`), a quantized model and a
/// column-major buffer passed as the file's own floats are refused.
#[test]
fn a_column_major_copy_refuses_what_it_cannot_hold() {
    use rnn_core::Column;
    use rnn_core::{CellKind, Dim, Network};
    let bytes = common::float_model(CellKind::Gru, 1, 9, 0.6, 1);
    let view = ModelView::parse(&bytes).unwrap();
    let need = rnn_core::columns_len(&view).unwrap();
    let mut short = vec![Column::ZERO; need - 1];
    assert_eq!(
        Network::columns(&view, &mut short).unwrap_err(),
        Error::BufferLength {
            dim: Dim::Work,
            expected: need,
            found: need - 1
        }
    );
    let mut buf = vec![Column::ZERO; need];
    Network::columns(&view, &mut buf).unwrap();
    assert!(matches!(
        Network::with_weights(&view, &buf),
        Err(Error::FloatsDiffer { .. })
    ));
    let classifier = common::valid_per_step_model(rnn_core::Task::Classify);
    let view = ModelView::parse(&classifier).unwrap();
    let mut buf = vec![Column::ZERO; rnn_core::columns_len(&view).unwrap()];
    assert!(matches!(
        Network::columns(&view, &mut buf),
        Err(Error::WrongTask { .. })
    ));
    let quantized = common::quantized(
        &bytes,
        common::quant_of(CellKind::Gru, rnn_core::Precision::Int8),
    );
    let view = ModelView::parse(&quantized).unwrap();
    assert!(matches!(
        rnn_core::columns_len(&view),
        Err(Error::WrongPrecision { .. })
    ));
}
