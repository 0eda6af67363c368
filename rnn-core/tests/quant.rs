//! Integer inference: the activation tables over every input, the quantized file's
//! checks, and the integer step against a plain re-implementation of the same arithmetic
//! (in `i64`, from the float file and the quantization rule) and against the float
//! network.

#![allow(clippy::needless_range_loop)] // the reference is written with plain indices on purpose

mod common;

use common::{float_file, float_model, quant_of, quantized, shift, I, VOCAB};
use rnn_core::quant::act::{sigmoid_q, tanh_q, SIGMOID_MAX_ERROR, TANH_MAX_ERROR};
use rnn_core::quant::{quantize, quantize_bias, row_exp};
use rnn_core::Cell;
use rnn_core::{
    CellKind, Error, Header, Input, ModelView, Network, Precision, QInput, QNetwork, TensorRole,
};

#[test]
fn tanh_and_sigmoid_are_within_their_bound_over_every_i16_input() {
    let (mut worst_t, mut worst_s) = (0f64, 0f64);
    for x in i16::MIN..=i16::MAX {
        let v = f64::from(x) / 4096.0;
        let t = (v.tanh() * 32768.0).min(32767.0);
        let s = (1.0 / (1.0 + (-v).exp()) * 32768.0).min(32767.0);
        worst_t = worst_t.max((f64::from(tanh_q(x.into(), 12)) - t).abs());
        worst_s = worst_s.max((f64::from(sigmoid_q(x.into(), 12)) - s).abs());
    }
    println!("max error: tanh {worst_t:.3}, sigmoid {worst_s:.3} (units of 2^-15)");
    assert!(worst_t <= f64::from(TANH_MAX_ERROR), "tanh {worst_t}");
    assert!(worst_s <= f64::from(SIGMOID_MAX_ERROR), "sigmoid {worst_s}");
    // Far outside the table, in any format, the functions saturate.
    assert_eq!(tanh_q(i32::MAX, 12), 32767);
    assert_eq!(tanh_q(i32::MIN, 0), -32767);
    assert_eq!(sigmoid_q(-(40 << 12), 12), 0);
}

/// The quantized tensors of a float file, rebuilt from the quantization rule.
struct Ref {
    header: Header,
    /// Per tensor in file order: (exponents per row, values) or Q12 biases.
    mats: Vec<(Vec<i64>, Vec<i64>, usize)>,
    biases: Vec<Vec<i64>>,
}

impl Ref {
    fn new(float: &[u8], precision: Precision) -> Self {
        let view = ModelView::parse(float).unwrap();
        let header = view.header();
        let w: Vec<f32> = view.weights().collect();
        let (mut at, mut mats, mut biases) = (0, vec![], vec![]);
        for t in header.tensors() {
            let part = &w[at..at + t.len()];
            at += t.len();
            if t.is_vector() {
                biases.push(part.iter().map(|&b| i64::from(quantize_bias(b))).collect());
            } else {
                let mut exps = vec![];
                let mut vals = vec![];
                for row in part.chunks(t.cols) {
                    let e = row_exp(precision, row.iter().copied());
                    exps.push(i64::from(e));
                    vals.extend(row.iter().map(|&v| i64::from(quantize(v, e, precision))));
                }
                mats.push((exps, vals, t.cols));
            }
        }
        Ref {
            header,
            mats,
            biases,
        }
    }
}

fn q15(a: i64, v: i64) -> i64 {
    (a * v + (1 << 14)).div_euclid(1 << 15)
}

fn tanh(z: i64, frac: u32) -> i64 {
    i64::from(tanh_q(z as i32, frac))
}

fn sigm(z: i64) -> i64 {
    i64::from(sigmoid_q(z as i32, 12))
}

/// `row r of m · x` in Q12 for `x` with `frac` fraction bits.
fn dot(m: &(Vec<i64>, Vec<i64>, usize), r: usize, x: &[i64], frac: i64) -> i64 {
    let (exps, vals, cols) = m;
    let acc: i64 = (0..*cols).map(|j| vals[r * cols + j] * x[j]).sum();
    shift(acc, exps[r] + frac - 12)
}

/// One step of the reference: `state` per layer (`h`, then `c`), `token` or the start.
fn reference_step(m: &Ref, state: &mut [Vec<i64>], token: Option<usize>, c_frac: u32) -> Vec<i64> {
    let h = m.header.hidden as usize;
    let per = if m.header.cell.has_recurrent_bias() {
        2
    } else {
        1
    };
    let mut below: Vec<i64> = vec![];
    for (l, s) in state.iter_mut().enumerate() {
        let (wx, wh) = (&m.mats[2 * l], &m.mats[2 * l + 1]);
        let bx = &m.biases[per * l];
        let bh = (per == 2).then(|| &m.biases[per * l + 1]);
        let xin = |row: usize| -> i64 {
            let v = if l > 0 {
                dot(wx, row, &below, 15)
            } else if let Some(k) = token {
                shift(wx.1[row * wx.2 + k], wx.0[row] - 12)
            } else {
                0
            };
            v + bx[row]
        };
        let rec = |row: usize, hp: &[i64]| dot(wh, row, hp, 15) + bh.map_or(0, |b| b[row]);
        let hp: Vec<i64> = s[..h].to_vec();
        match m.header.cell {
            CellKind::Elman => {
                for j in 0..h {
                    s[j] = tanh(rec(j, &hp) + xin(j), 12);
                }
            }
            CellKind::Gru => {
                for j in 0..h {
                    let r = sigm(xin(j) + rec(j, &hp));
                    let z = sigm(xin(h + j) + rec(h + j, &hp));
                    let n = tanh(xin(2 * h + j) + q15(r, rec(2 * h + j, &hp)), 12);
                    s[j] = n + q15(z, hp[j] - n);
                }
            }
            CellKind::Lstm => {
                for j in 0..h {
                    let i = sigm(xin(j) + rec(j, &hp));
                    let f = sigm(xin(h + j) + rec(h + j, &hp));
                    let g = tanh(xin(2 * h + j) + rec(2 * h + j, &hp), 12);
                    let o = sigm(xin(3 * h + j) + rec(3 * h + j, &hp));
                    let c = (q15(f, s[h + j]) + shift(i * g, 30 - i64::from(c_frac)))
                        .clamp(-32768, 32767);
                    s[h + j] = c;
                    s[j] = q15(o, tanh(c, c_frac));
                }
            }
        }
        below = s[..h].to_vec();
    }
    let head = m.mats.last().unwrap();
    let b_y = m.biases.last().unwrap();
    (0..m.header.output as usize)
        .map(|k| dot(head, k, &below, 15) + b_y[k])
        .collect()
}

const CASES: [(CellKind, u8); 6] = [
    (CellKind::Elman, 1),
    (CellKind::Elman, 2),
    (CellKind::Gru, 1),
    (CellKind::Gru, 2),
    (CellKind::Lstm, 1),
    (CellKind::Lstm, 2),
];

fn tokens() -> Vec<Option<usize>> {
    std::iter::once(None)
        .chain((0..40).map(|k| Some((k * 7 + k / 3) % I)))
        .collect()
}

#[test]
fn integer_step_matches_the_plain_reference_bit_for_bit() {
    for precision in [Precision::Int8, Precision::Int16] {
        for (cell, layers) in CASES {
            let float = float_model(cell, layers, 9, 1.5, 40 + u64::from(layers));
            let quant = quant_of(cell, precision);
            let bytes = quantized(&float, quant);
            let view = ModelView::parse(&bytes).unwrap();
            assert_eq!(view.header().quant, quant.for_header(&view.header()));
            let net = QNetwork::from_view(&view).unwrap();
            // What the network keeps of the header is the file's.
            let h = view.header();
            assert_eq!(net.precision(), precision);
            assert_eq!((net.kind(), net.task()), (h.cell, h.task));
            assert_eq!(net.input_size(), h.input as usize);
            let reference = Ref::new(&float, precision);
            let per = view.header().layer_state_len();
            let mut state = vec![0i16; net.state_len()];
            let mut ref_state = vec![vec![0i64; per]; usize::from(layers)];
            let mut scratch = vec![0i32; net.scratch_len()];
            let mut logits = vec![0i32; net.output_size()];
            for (t, token) in tokens().into_iter().enumerate() {
                let x = token.map_or(QInput::Start, QInput::Token);
                net.step(&mut state, x, &mut scratch, &mut logits).unwrap();
                let want = reference_step(&reference, &mut ref_state, token, 12);
                let got: Vec<i64> = logits.iter().map(|&v| i64::from(v)).collect();
                assert_eq!(got, want, "{cell:?} x{layers} {precision:?} step {t}");
                let flat: Vec<i64> = ref_state.concat();
                let st: Vec<i64> = state.iter().map(|&v| i64::from(v)).collect();
                assert_eq!(
                    st, flat,
                    "{cell:?} x{layers} {precision:?} state at step {t}"
                );
            }
        }
    }
}

#[test]
fn a_layer_table_sized_for_the_model_gives_the_same_bits_and_refuses_deeper_models() {
    use rnn_core::quant::Portable;
    let float = float_model(CellKind::Gru, 2, 9, 1.5, 42);
    let bytes = quantized(&float, quant_of(CellKind::Gru, Precision::Int8));
    let view = ModelView::parse(&bytes).unwrap();
    let full = QNetwork::from_view(&view).unwrap();
    let sized = QNetwork::<Portable, 2>::with_kernel(&view).unwrap();
    let (mut a, mut b) = (vec![0i16; full.state_len()], vec![0i16; sized.state_len()]);
    let mut scratch = vec![0i32; full.scratch_len()];
    let (mut la, mut lb) = (
        vec![0i32; full.output_size()],
        vec![0i32; sized.output_size()],
    );
    for token in tokens() {
        let x = token.map_or(QInput::Start, QInput::Token);
        full.step(&mut a, x, &mut scratch, &mut la).unwrap();
        sized.step(&mut b, x, &mut scratch, &mut lb).unwrap();
        assert_eq!((&a, &la), (&b, &lb));
    }
    let too_small = QNetwork::<Portable, 1>::with_kernel(&view).unwrap_err();
    assert!(
        matches!(too_small, Error::SizeMismatch { .. }),
        "{too_small:?}"
    );
    // The same for a bidirectional 2-layer tagger's two tables.
    use rnn_core::{QClassifier, Steps, Task};
    let header = Header::new(CellKind::Gru, 2, I as u32, 8, 3)
        .with_task(Task::Tag)
        .with_bidirectional(true);
    let float = float_file(header, VOCAB, "a\nb\nc\n", 0.6, 9);
    let q = quantized(&float, dense_quant(CellKind::Gru, Precision::Int8));
    let view = ModelView::parse(&q).unwrap();
    let (full, sized) = (
        QClassifier::from_view(&view).unwrap(),
        QClassifier::<Portable, 2>::with_kernel(&view).unwrap(),
    );
    let tokens: Vec<u16> = (0..12).map(|k| (k * 5 % I) as u16).collect();
    let mut work = vec![0i16; full.work_len(12)];
    let mut scratch = vec![0i32; full.scratch_len()];
    let (mut a, mut b) = (vec![0i32; 12 * 3], vec![0i32; 12 * 3]);
    let steps = Steps::Tokens(&tokens);
    full.per_step(steps, &mut work, &mut scratch, &mut a)
        .unwrap();
    sized
        .per_step(steps, &mut work, &mut scratch, &mut b)
        .unwrap();
    assert_eq!(a, b);
    let too_small = QClassifier::<Portable, 1>::with_kernel(&view).unwrap_err();
    assert!(
        matches!(too_small, Error::SizeMismatch { .. }),
        "{too_small:?}"
    );
}

/// A kernel built for GRU models with int8 weights alone (`Kernel::CELL`,
/// `Kernel::PRECISION`), as a firmware builds one for its model.
#[derive(Debug, Clone, Copy)]
struct GruInt8;

impl rnn_core::quant::Kernel for GruInt8 {
    const CELL: Option<CellKind> = Some(CellKind::Gru);
    const PRECISION: Option<Precision> = Some(Precision::Int8);
}

#[test]
fn a_kernel_built_for_one_cell_kind_and_weight_type_gives_the_same_bits_and_refuses_others() {
    let float = float_model(CellKind::Gru, 2, 9, 1.5, 7);
    let bytes = quantized(&float, quant_of(CellKind::Gru, Precision::Int8));
    let view = ModelView::parse(&bytes).unwrap();
    let any = QNetwork::from_view(&view).unwrap();
    let one = QNetwork::<GruInt8>::with_kernel(&view).unwrap();
    let (mut a, mut b) = (vec![0i16; any.state_len()], vec![0i16; one.state_len()]);
    let mut scratch = vec![0i32; any.scratch_len()];
    let (mut la, mut lb) = (vec![0i32; any.output_size()], vec![0i32; any.output_size()]);
    for token in tokens() {
        let x = token.map_or(QInput::Start, QInput::Token);
        any.step(&mut a, x, &mut scratch, &mut la).unwrap();
        one.step(&mut b, x, &mut scratch, &mut lb).unwrap();
        assert_eq!((&a, &la), (&b, &lb));
    }
    for (cell, precision) in [
        (CellKind::Lstm, Precision::Int8),
        (CellKind::Elman, Precision::Int8),
        (CellKind::Gru, Precision::Int16),
    ] {
        let float = float_model(cell, 1, 9, 1.5, 7);
        let bytes = quantized(&float, quant_of(cell, precision));
        let view = ModelView::parse(&bytes).unwrap();
        let err = QNetwork::<GruInt8>::with_kernel(&view).unwrap_err();
        let expected = if cell == CellKind::Gru {
            Error::WrongPrecision {
                expected: Precision::Int8,
                found: precision,
            }
        } else {
            Error::WrongCellKind {
                expected: CellKind::Gru,
                found: cell,
            }
        };
        assert_eq!(err, expected, "{cell:?} {precision:?}");
        assert!(rnn_core::QClassifier::<GruInt8>::with_kernel(&view).is_err());
    }
}

#[test]
fn quantized_logits_stay_near_the_float_network() {
    // |logit_q - logit_f| over 40 steps at H = 16, weights in [-0.6, 0.6), relative to the
    // largest float logit: int8 weights carry about 2^-8 relative error each.
    for (precision, bound) in [(Precision::Int8, 0.04), (Precision::Int16, 0.001)] {
        for (cell, layers) in CASES {
            let float = float_model(cell, layers, 16, 0.6, 7);
            let fview = ModelView::parse(&float).unwrap();
            let fnet = Network::from_view(&fview).unwrap();
            let bytes = quantized(&float, quant_of(cell, precision));
            let view = ModelView::parse(&bytes).unwrap();
            let qnet = QNetwork::from_view(&view).unwrap();
            let mut fs = vec![0f32; fnet.state_len()];
            let mut fscratch = vec![0f32; fnet.scratch_len()];
            let mut fl = vec![0f32; fnet.output_size()];
            let mut qs = vec![0i16; qnet.state_len()];
            let mut qscratch = vec![0i32; qnet.scratch_len()];
            let (mut ql, mut qf) = (
                vec![0i32; qnet.output_size()],
                vec![0f32; qnet.output_size()],
            );
            let (mut worst, mut largest) = (0f32, 0f32);
            for token in tokens() {
                let (fx, qx) = match token {
                    None => (Input::Start, QInput::Start),
                    Some(k) => (Input::Token(k), QInput::Token(k)),
                };
                fnet.step(&mut fs, fx, &mut fscratch, &mut fl).unwrap();
                qnet.step(&mut qs, qx, &mut qscratch, &mut ql).unwrap();
                qnet.outputs_to_f32(&ql, &mut qf);
                for (a, b) in fl.iter().zip(&qf) {
                    worst = worst.max((a - b).abs());
                    largest = largest.max(a.abs());
                }
            }
            let rel = worst / largest;
            println!("{cell:?} x{layers} {precision:?}: max |logit difference| {worst:.5} = {rel:.5} of {largest:.3}");
            assert!(rel < bound, "{cell:?} x{layers} {precision:?}: {rel}");
        }
    }
}

#[test]
fn float_and_quantized_loaders_refuse_each_other() {
    let float = float_model(CellKind::Gru, 1, 4, 1.0, 1);
    let q = quantized(&float, quant_of(CellKind::Gru, Precision::Int8));
    let qview = ModelView::parse(&q).unwrap();
    let want = Error::WrongPrecision {
        expected: Precision::F32,
        found: Precision::Int8,
    };
    assert_eq!(Network::from_view(&qview).unwrap_err(), want);
    // A float-only loader refuses it at once, and reads float files as parse does.
    assert_eq!(
        ModelView::parse_for::<rnn_core::FloatModels>(&q).unwrap_err(),
        want
    );
    let f = ModelView::parse_for::<rnn_core::FloatModels>(&float).unwrap();
    assert_eq!(f.header(), ModelView::parse(&float).unwrap().header());
    assert!(want.to_string().contains("int8"), "{want}");
    let fview = ModelView::parse(&float).unwrap();
    assert!(matches!(
        QNetwork::from_view(&fview),
        Err(Error::WrongPrecision { .. })
    ));
    // A quantized file is not quantized again.
    let mut buf = vec![0u8; 4096];
    let again =
        rnn_core::write_quantized(&mut buf, &qview, quant_of(CellKind::Gru, Precision::Int8));
    assert!(matches!(again, Err(Error::WrongPrecision { .. })));
    // Only LSTMs have cell-state exponents: a GRU's are written as 0; exponents above 15
    // are refused.
    let mut gru = quant_of(CellKind::Gru, Precision::Int8);
    gru.cell_exp[0] = 3;
    let written = quantized(&float, gru);
    let h = ModelView::parse(&written).unwrap().header();
    assert_eq!(h.quant.cell_exp, [0; rnn_core::quant::MAX_STACKS]);
    let lstm = float_model(CellKind::Lstm, 1, 4, 1.0, 1);
    let lview = ModelView::parse(&lstm).unwrap();
    let mut bad = quant_of(CellKind::Lstm, Precision::Int8);
    bad.cell_exp[0] = 16;
    assert!(rnn_core::quantized_len(&lview, bad).is_err());
    let mut bad = quant_of(CellKind::Gru, Precision::Int8);
    bad.input_exp = 16;
    assert!(rnn_core::quantized_len(&fview, bad).is_err());
}

#[test]
fn quantized_file_layout_and_size() {
    let float = float_model(CellKind::Lstm, 2, 8, 1.0, 2);
    let q = quantized(&float, quant_of(CellKind::Lstm, Precision::Int8));
    let view = ModelView::parse(&q).unwrap();
    let header = view.header();
    assert_eq!(header.version(), 3);
    assert_eq!(&q[4], &3, "version byte");
    // Matrices: an exponent byte per row and a byte per weight; biases four bytes each.
    let mut want = 0;
    for t in header.tensors() {
        want += match t.role {
            TensorRole::InputBias | TensorRole::RecurrentBias | TensorRole::OutputBias => {
                4 * t.rows
            }
            _ => t.rows + t.len(),
        };
    }
    assert_eq!(view.weight_bytes().len(), want);
    assert_eq!(header.weight_bytes(), Ok(want));
    assert!(
        q.len() * 10 < float.len() * 4,
        "{} vs {}",
        q.len(),
        float.len()
    );
    assert_eq!(ModelView::parse(&float).unwrap().header().version(), 1);
    let _ = VOCAB;
}

#[test]
fn every_bit_flip_and_prefix_of_a_quantized_file_is_rejected() {
    for bytes in [
        common::valid_quantized_model(),
        common::valid_quantized_regression(),
        common::valid_quantized_conv(),
    ] {
        common::every_flip_and_prefix_is_rejected(&bytes);
    }
}

fn dense_quant(cell: CellKind, precision: Precision) -> rnn_core::Quant {
    rnn_core::Quant {
        input_exp: 11,
        ..quant_of(cell, precision)
    }
}

#[test]
fn quantized_classifiers_and_taggers_stay_near_the_float_ones() {
    use rnn_core::{Classifier, QClassifier, Steps, Task};
    let dense: Vec<f32> = (0..3 * 30)
        .map(|k| ((k as f32) * 0.37).sin() * 2.0 + 1.0)
        .collect();
    let tokens: Vec<u16> = (0..30).map(|k| (k * 3 % I) as u16).collect();
    let cases = [
        // A bidirectional 2-layer GRU tagger of symbols.
        (
            Header::new(CellKind::Gru, 2, I as u32, 8, 3)
                .with_task(Task::Tag)
                .with_bidirectional(true),
            VOCAB,
            "a\nb\nc\n",
        ),
        // A normalised LSTM classifier of dense vectors with per-sequence normalisation.
        (
            Header::new(CellKind::Lstm, 1, 3, 8, 2)
                .classifier()
                .with_normalized(true)
                .with_sequence_normalized(true),
            "",
            "up\ndown\n",
        ),
        // A bidirectional Elman regression model of dense vectors.
        (
            Header::new(CellKind::Elman, 1, 3, 8, 2)
                .with_task(Task::Regress)
                .with_normalized(true)
                .with_bidirectional(true),
            "",
            "x\ny\n",
        ),
    ];
    for (header, vocab, names) in cases {
        let float = float_file(header, vocab, names, 0.6, 9);
        let fview = ModelView::parse(&float).unwrap();
        let fc = Classifier::from_view(&fview).unwrap();
        let q = quantized(&float, dense_quant(header.cell, Precision::Int8));
        let qview = ModelView::parse(&q).unwrap();
        let qc = QClassifier::from_view(&qview).unwrap();
        assert!(Classifier::from_view(&qview).is_err());
        let steps = if vocab.is_empty() {
            Steps::Dense(&dense)
        } else {
            Steps::Tokens(&tokens)
        };
        let t = 30;
        let mut work = vec![0f32; fc.per_step_work_len(t)];
        let (mut qwork, mut qs) = (vec![0i16; qc.work_len(t)], vec![0i32; qc.scratch_len()]);
        let o = header.output as usize;
        let n = if header.task == Task::Classify {
            o
        } else {
            t * o
        };
        let (mut f_out, mut q_out, mut q_f) = (vec![0f32; n], vec![0i32; n], vec![0f32; n]);
        if header.task == Task::Classify {
            fc.classify(steps, &mut work, &mut f_out).unwrap();
            qc.classify(steps, &mut qwork, &mut qs, &mut q_out).unwrap();
        } else {
            fc.per_step(steps, &mut work, &mut f_out).unwrap();
            qc.per_step(steps, &mut qwork, &mut qs, &mut q_out).unwrap();
        }
        qc.outputs_to_f32(&q_out, &mut q_f);
        let largest = f_out.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = f_out
            .iter()
            .zip(&q_f)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!(
            "{:?} {:?}: max difference {worst:.5} of {largest:.3}",
            header.task, header.cell
        );
        assert!(
            worst < 0.05 * largest.max(1.0),
            "{:?}: {worst} of {largest}",
            header.task
        );
        // Too little working memory is an error, not a panic.
        let short = qc.classify(steps, &mut qwork[..1], &mut qs, &mut q_out[..o]);
        assert!(short.is_err());
    }
}

#[test]
fn a_streamed_quantized_tagger_gives_the_whole_sequence_answers_bit_for_bit() {
    use rnn_core::{QClassifier, Steps, Task};
    let header = Header::new(CellKind::Lstm, 2, 3, 8, 2)
        .with_task(Task::Regress)
        .with_normalized(true);
    let float = float_file(header, "", "x\ny\n", 0.8, 4);
    let q = quantized(&float, dense_quant(CellKind::Lstm, Precision::Int8));
    let view = ModelView::parse(&q).unwrap();
    let (net, whole) = (
        QNetwork::from_view(&view).unwrap(),
        QClassifier::from_view(&view).unwrap(),
    );
    let dense: Vec<f32> = (0..3 * 20)
        .map(|k| ((k as f32) * 0.71).cos() * 3.0)
        .collect();
    // One-directional and not normalised per sequence: each step's input is quantized
    // as the first layer reads it, so a further step costs only the top layer's outputs
    // (two directions' worth of room, `2·D·H`), no input values.
    assert_eq!(whole.work_len(20) - whole.work_len(19), 2 * 8);
    let mut out = vec![0i32; 20 * 2];
    let (mut work, mut scratch) = (
        vec![0i16; whole.work_len(20)],
        vec![0i32; whole.scratch_len()],
    );
    whole
        .per_step(Steps::Dense(&dense), &mut work, &mut scratch, &mut out)
        .unwrap();
    let (mut state, mut xq) = (vec![0i16; net.state_len()], vec![0i16; 3]);
    let mut y = vec![0i32; 2];
    for (x, want) in dense.chunks(3).zip(out.chunks(2)) {
        net.step_input(&mut state, Input::Dense(x), &mut xq, &mut scratch, &mut y)
            .unwrap();
        assert_eq!(&y[..], want);
    }
    let mut f = [0f32; 2];
    net.outputs_to_f32(&y, &mut f);
    assert!(f.iter().all(|v| v.is_finite()));
}

#[test]
fn a_sequence_quantized_as_it_arrives_classifies_as_the_float_one() {
    use rnn_core::{QClassifier, Steps};
    let header = Header::new(CellKind::Lstm, 1, 3, 8, 2)
        .classifier()
        .with_normalized(true)
        .with_bidirectional(true);
    let float = float_file(header, "", "up\ndown\n", 0.6, 5);
    let q = quantized(&float, dense_quant(CellKind::Lstm, Precision::Int8));
    let c = QClassifier::from_view(&ModelView::parse(&q).unwrap()).unwrap();
    let dense: Vec<f32> = (0..3 * 17)
        .map(|k| ((k as f32) * 0.53).sin() * 4.0)
        .collect();
    let mut xq = vec![0i16; dense.len()];
    for (x, q) in dense.chunks(3).zip(xq.chunks_mut(3)) {
        c.quantize_step(x, q).unwrap();
    }
    let mut scratch = vec![0i32; c.scratch_len()];
    let (mut a, mut b) = ([0i32; 2], [0i32; 2]);
    let mut work = vec![0i16; c.work_len(17)];
    c.classify(Steps::Dense(&dense), &mut work, &mut scratch, &mut a)
        .unwrap();
    // Without the room for the quantized sequence: 17 steps of 3 values less.
    assert_eq!(c.quantized_input_work_len(17) + 17 * 3, c.work_len(17));
    let mut work = vec![0i16; c.quantized_input_work_len(17)];
    c.classify_quantized_input(&xq, &mut work, &mut scratch, &mut b)
        .unwrap();
    assert_eq!(a, b);
    // A ragged sequence, and a model that normalises each sequence by its own statistics.
    let ragged = c.classify_quantized_input(&xq[..4], &mut work, &mut scratch, &mut b);
    assert!(
        matches!(ragged, Err(Error::BufferLength { .. })),
        "{ragged:?}"
    );
    let per_sequence = float_file(
        header.with_sequence_normalized(true),
        "",
        "up\ndown\n",
        0.6,
        5,
    );
    let q = quantized(&per_sequence, dense_quant(CellKind::Lstm, Precision::Int8));
    let c = QClassifier::from_view(&ModelView::parse(&q).unwrap()).unwrap();
    let refused = c.quantize_step(&dense[..3], &mut xq[..3]);
    assert!(
        matches!(refused, Err(Error::InvalidModel { .. })),
        "{refused:?}"
    );
}

#[test]
fn each_check_of_a_quantized_file_has_its_error() {
    // A one-layer int8 GRU: the quant field sits just before the padding and weights.
    let float = float_model(CellKind::Gru, 1, 4, 1.0, 8);
    let good = quantized(&float, quant_of(CellKind::Gru, Precision::Int8));
    let view = ModelView::parse(&good).unwrap();
    let weights_at = view.weight_bytes().as_ptr() as usize - good.as_ptr() as usize;
    let weights_len = view.weight_bytes().len();
    // The quant field, [len = 3][int8][input exp 0][cell exp 0], is the last such run
    // before the weights (the padding and the weights' length follow it).
    let quant_at = (0..weights_at - 4)
        .rev()
        .find(|&k| good[k..k + 4] == [3, 1, 0, 0])
        .unwrap();
    let edit = |at: usize, v: u8| common::parse_edited(&good, at, v);
    let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidModel { .. }));
    assert!(
        invalid(edit(quant_at + 1, 0)),
        "precision 0 in a version-3 file"
    );
    assert!(invalid(edit(quant_at + 1, 9)), "unknown precision");
    assert!(invalid(edit(quant_at + 2, 16)), "input exponent above 15");
    assert!(invalid(edit(quant_at + 3, 4)), "a cell exponent in a GRU");
    // The first row exponent of W_ih out of range.
    assert!(invalid(edit(weights_at, 100)), "row exponent 100");
    assert!(invalid(edit(weights_at, (-4i8) as u8)), "row exponent -4");
    // As an int16 file the same bytes are too few.
    assert!(matches!(
        edit(quant_at + 1, 2),
        Err(Error::WeightBytesMismatch { found, .. }) if found == weights_len
    ));
    // A quant field of another length: the bytes after it no longer parse as the rest.
    assert!(edit(quant_at, 2).is_err());
    assert!(edit(quant_at, 4).is_err());
    // And the good file still loads, with its exponents as written.
    assert!(QNetwork::from_view(&view).is_ok());
}

#[test]
fn sampling_q12_logits_draws_as_sampling_their_floats() {
    use rnn_core::quant::network::logits_to_f32;
    use rnn_core::sample::{sample, sample_q12};
    use rnn_core::{Rng, Sampler};
    let mut gen = Rng::new(5);
    for case in 0..200u64 {
        let q: Vec<i32> = (0..27)
            .map(|_| ((gen.next_f32() - 0.5) * 60_000.0) as i32)
            .collect();
        let mut f = vec![0f32; q.len()];
        logits_to_f32(&q, &mut f);
        for sampler in [
            Sampler::Greedy,
            Sampler::Temperature(0.5),
            Sampler::Temperature(1.3),
        ] {
            let (mut a, mut b) = (Rng::new(case), Rng::new(case));
            for _ in 0..5 {
                assert_eq!(
                    sample_q12(&q, sampler, &mut a),
                    sample(&f, sampler, &mut b),
                    "case {case} {sampler:?}"
                );
            }
        }
    }
    assert!(sample_q12(&[1, 2], Sampler::Temperature(0.0), &mut Rng::new(1)).is_err());
}
