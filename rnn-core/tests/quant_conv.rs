//! The integer convolutional front-end (format version 4): a plain re-implementation of
//! its arithmetic (in `i64`, from the float file and the quantization rule) followed by
//! the same stacks without a front-end gives the same logits bit for bit; the quantized
//! classifier stays near the float one; the file's checks cover the new exponents.

mod common;

use common::{float_file, quant_of, quantized, shift, with_crc, I, VOCAB};
use rnn_core::quant::{quantize, quantize_bias, row_exp};
use rnn_core::{
    CellKind, Classifier, ConvSpec, ConvStack, Error, Header, ModelView, Precision, QClassifier,
    Steps, TensorRole,
};

const CONV_EXP: [u8; 4] = [10, 11, 0, 0];

/// Two layers, `3:5:2` then `2:4:1` (kernel, channels, stride).
fn front() -> ConvStack {
    let spec = |kernel, channels, stride| ConvSpec {
        kernel,
        stride,
        channels,
    };
    ConvStack::new(&[spec(3, 5, 2), spec(2, 4, 1)]).unwrap()
}

/// A classifier with the front-end: dense (3 normalised channels) or over `VOCAB`.
fn header(cell: CellKind, dense: bool) -> Header {
    let input = if dense { 3 } else { I as u32 };
    Header::new(cell, 1, input, 8, 3)
        .classifier()
        .with_normalized(dense)
        .with_bidirectional(true)
        .with_conv(front())
}

fn quant(cell: CellKind, precision: Precision, input_exp: u8) -> rnn_core::Quant {
    rnn_core::Quant {
        input_exp,
        conv_exp: CONV_EXP,
        ..quant_of(cell, precision)
    }
}

fn dense_steps(t: usize) -> Vec<f32> {
    (0..3 * t)
        .map(|k| ((k as f32) * 0.41).sin() * 2.0 + 0.5)
        .collect()
}

fn tokens(t: usize) -> Vec<u16> {
    (0..t).map(|k| (k * 7 % I) as u16).collect()
}

/// The front-end's layers of a float file: each layer's rows (`C × K·C_in`) and biases.
fn conv_tensors(header: &Header, floats: &[f32]) -> Vec<(Vec<f32>, usize, Vec<f32>)> {
    let (mut at, mut out) = (0, Vec::new());
    for t in header.tensors() {
        let w = floats[at..at + t.len()].to_vec();
        match t.role {
            TensorRole::ConvWeights => out.push((w, t.cols, Vec::new())),
            TensorRole::ConvBias => out.last_mut().unwrap().2 = w,
            _ => {}
        }
        at += t.len();
    }
    out
}

/// The front-end in plain integers over a whole sequence `u` (`T × C_in` values with
/// `frac` fraction bits): rows quantized by the writer's rule, each window summed in `i64`
/// (zeros before the start), rescaled to Q12 with the bias, ReLU, then the layer's format.
fn reference_front_end(
    header: &Header,
    floats: &[f32],
    mut u: Vec<i64>,
    mut frac: i64,
) -> Vec<i64> {
    for (l, (s, (w, cols, b))) in header
        .conv
        .layers()
        .iter()
        .zip(conv_tensors(header, floats))
        .enumerate()
    {
        let (k, stride, c) = (s.kernel as usize, s.stride as usize, s.channels as usize);
        let c_in = cols / k;
        let t_in = u.len() / c_in;
        let e_out = i64::from(CONV_EXP[l]);
        let mut v = Vec::new();
        for j in (0..t_in).step_by(stride) {
            for o in 0..c {
                let row = &w[o * cols..(o + 1) * cols];
                let e = row_exp(Precision::Int8, row.iter().copied());
                let mut acc = 0i64;
                for back in 0..k.min(j + 1) {
                    for ch in 0..c_in {
                        let q = i64::from(quantize(row[back * c_in + ch], e, Precision::Int8));
                        acc += q * u[(j - back) * c_in + ch];
                    }
                }
                let z = shift(acc, i64::from(e) + frac - 12) + i64::from(quantize_bias(b[o]));
                v.push(shift(z.max(0), 12 - e_out).clamp(-32768, 32767));
            }
        }
        u = v;
        frac = e_out;
    }
    u
}

/// The quantized classifier of `float` without its front-end, reading what the front-end
/// gives (its last layer's channels, in that layer's format).
fn stacks_alone(header: &Header, float: &[u8], names: &str) -> Vec<u8> {
    let view = ModelView::parse(float).unwrap();
    let floats: Vec<f32> = view.weights().collect();
    let before: usize = header
        .tensors()
        .filter(|t| {
            t.role.is_statistic()
                || t.role == TensorRole::ConvWeights
                || t.role == TensorRole::ConvBias
        })
        .map(|t| t.len())
        .sum();
    let c = header.conv.out_channels(header.input as usize) as u32;
    let alone = Header::new(header.cell, header.layers, c, header.hidden, header.output)
        .classifier()
        .with_bidirectional(header.bidirectional);
    let mut buf = vec![0u8; 1 << 16];
    let n = rnn_core::write_classifier(&mut buf, &alone, "", names, &[&floats[before..]]).unwrap();
    let q = quant(
        header.cell,
        Precision::Int8,
        CONV_EXP[header.conv.layers().len() - 1],
    );
    quantized(
        &buf[..n],
        rnn_core::Quant {
            conv_exp: [0; 4],
            ..q
        },
    )
}

fn logits(c: &QClassifier<'_>, steps: Steps<'_>, t: usize) -> Vec<i32> {
    let mut work = vec![0i16; c.work_len(t)];
    let mut scratch = vec![0i32; c.scratch_len()];
    let mut out = vec![0i32; c.output_size()];
    c.classify(steps, &mut work, &mut scratch, &mut out)
        .unwrap();
    out
}

#[test]
fn the_integer_front_end_is_the_plain_convolution_then_the_same_stacks_bit_for_bit() {
    let names = "up\ndown\nflat\n";
    for (cell, dense) in [
        (CellKind::Gru, true),
        (CellKind::Lstm, false),
        (CellKind::Elman, true),
    ] {
        let h = header(cell, dense);
        let float = float_file(h, if dense { "" } else { VOCAB }, names, 0.7, 11);
        let floats: Vec<f32> = ModelView::parse(&float).unwrap().weights().collect();
        let q = quantized(
            &float,
            quant(cell, Precision::Int8, if dense { 11 } else { 0 }),
        );
        let qview = ModelView::parse(&q).unwrap();
        let qc = QClassifier::from_view(&qview).unwrap();
        let t = 23;
        let (values, symbols) = (dense_steps(t), tokens(t));
        // The input as the model's first layer reads it, quantized by the library.
        let (steps, u, frac) = if dense {
            let mut xq = vec![0i16; values.len()];
            for (x, q) in values.chunks(3).zip(xq.chunks_mut(3)) {
                qc.quantize_step(x, q).unwrap();
            }
            let u = xq.iter().map(|&v| i64::from(v)).collect();
            (Steps::Dense(&values), u, 11)
        } else {
            let mut u = vec![0i64; t * I];
            for (k, &s) in symbols.iter().enumerate() {
                u[k * I + usize::from(s)] = 1;
            }
            (Steps::Tokens(&symbols), u, 0)
        };
        let seq = reference_front_end(&h, &floats, u, frac);
        assert_eq!(seq.len(), h.conv.steps_out(t) * 4);
        // The test sees both sides of the ReLU, and no saturation.
        assert!(seq.contains(&0) && seq.iter().any(|&v| v > 0), "{seq:?}");
        assert!(seq.iter().all(|&v| v < 32767));
        let alone_bytes = stacks_alone(&h, &float, names);
        let alone = QClassifier::from_view(&ModelView::parse(&alone_bytes).unwrap()).unwrap();
        let seq: Vec<i16> = seq.iter().map(|&v| v as i16).collect();
        let mut work = vec![0i16; alone.quantized_input_work_len(seq.len() / 4)];
        let mut scratch = vec![0i32; alone.scratch_len()];
        let mut want = vec![0i32; 3];
        alone
            .classify_quantized_input(&seq, &mut work, &mut scratch, &mut want)
            .unwrap();
        assert_eq!(logits(&qc, steps, t), want, "{cell:?}, dense {dense}");
    }
}

#[test]
fn a_quantized_front_end_classifier_stays_near_the_float_one() {
    for (cell, dense) in [(CellKind::Gru, true), (CellKind::Lstm, false)] {
        let h = header(cell, dense);
        let float = float_file(h, if dense { "" } else { VOCAB }, "a\nb\nc\n", 0.6, 4);
        let fc = Classifier::from_view(&ModelView::parse(&float).unwrap()).unwrap();
        let t = 40;
        let (values, symbols) = (dense_steps(t), tokens(t));
        let steps = if dense {
            Steps::Dense(&values)
        } else {
            Steps::Tokens(&symbols)
        };
        let mut want = [0f32; 3];
        fc.classify(steps, &mut vec![0f32; fc.work_len(t)], &mut want)
            .unwrap();
        for precision in [Precision::Int8, Precision::Int16] {
            let q = quantized(&float, quant(cell, precision, if dense { 11 } else { 0 }));
            let qc = QClassifier::from_view(&ModelView::parse(&q).unwrap()).unwrap();
            let got = logits(&qc, steps, t);
            let largest = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (w, g) in want.iter().zip(&got) {
                let g = *g as f32 / 4096.0;
                assert!(
                    (w - g).abs() < 0.05 * largest.max(1.0),
                    "{cell:?} {precision:?}: {want:?} vs {got:?}"
                );
            }
        }
    }
}

#[test]
fn a_quantized_front_end_is_format_version_4_with_every_check() {
    let h = header(CellKind::Gru, true);
    let float = float_file(h, "", "a\nb\nc\n", 0.6, 2);
    let good = quantized(&float, quant(CellKind::Gru, Precision::Int8, 11));
    let view = ModelView::parse(&good).unwrap();
    assert_eq!(view.header().version(), 4);
    assert_eq!(view.header().quant.conv_exp, CONV_EXP);
    common::every_flip_and_prefix_is_rejected(&good);
    // The quant field: [len 6][int8][input exp 11][two GRU cell exponents][two conv ones].
    let weights_at = view.weight_bytes().as_ptr() as usize - good.as_ptr() as usize;
    let field = [6, 1, 11, 0, 0, CONV_EXP[0], CONV_EXP[1]];
    let at = (0..weights_at)
        .rev()
        .find(|&k| good[k..].starts_with(&field))
        .unwrap();
    let edit = |at: usize, v: u8| common::parse_edited(&good, at, v);
    let invalid = |r: Result<(), Error>| matches!(r, Err(Error::InvalidModel { .. }));
    assert!(invalid(edit(at + 6, 16)), "a conv exponent above 15");
    // The same file stamped version 3, which had no integer front-end.
    assert_eq!(good[4], 4, "the version byte");
    assert_eq!(edit(4, 3), Err(Error::Malformed), "version 3");
    // A reader of version 3 stops at the version, with what it reads.
    let mut newer = good.clone();
    newer[4] = 5;
    assert!(matches!(
        ModelView::parse(&with_crc(newer)),
        Err(Error::UnsupportedVersion {
            found: 5,
            supported: 4
        })
    ));
    // Too little working memory is an error, not a panic.
    let qc = QClassifier::from_view(&view).unwrap();
    let values = dense_steps(9);
    let mut out = [0i32; 3];
    let short = qc.classify(
        Steps::Dense(&values),
        &mut [0i16; 3],
        &mut [0i32; 64],
        &mut out,
    );
    assert!(
        matches!(short, Err(Error::BufferLength { .. })),
        "{short:?}"
    );
}
