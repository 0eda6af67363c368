//! One inference step of each cell kind on the host, at H = 25, 64 and 128 (I = O = 27,
//! the dinosaur vocabulary, a one-hot input), float (the file's layout and the
//! column-major copy) and int8: `cargo bench -p rnn-core`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rnn_core::{
    Cell, CellKind, Column, Header, Input, ModelView, Network, Precision, QInput, QNetwork, Quant,
};

/// A model file of `kind` with small pseudo-random weights, tensors in `Header::tensors`'s
/// order.
fn model(kind: CellKind, hidden: u32) -> Vec<u8> {
    let header = Header::new(kind, 1, 27, hidden, 27);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let weights: Vec<f32> = (0..header.param_count().unwrap())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
        })
        .collect();
    let vocab: String = std::iter::once('\n').chain('a'..='z').collect();
    let tensors: [&[f32]; 1] = [&weights];
    let mut buf = vec![0u8; rnn_core::encoded_len(&header, &vocab, &tensors).unwrap()];
    let n = rnn_core::write_model(&mut buf, &header, &vocab, &tensors).unwrap();
    buf.truncate(n);
    buf
}

/// One group of benchmarks: for each cell kind and hidden size, `make` turns the float
/// model's bytes into a step function of a token, which is timed.
fn bench_steps<F: FnMut(usize)>(c: &mut Criterion, name: &str, make: impl Fn(&[u8]) -> F) {
    let mut group = c.benchmark_group(name);
    for kind in CellKind::ALL {
        for hidden in [25u32, 64, 128] {
            let bytes = model(kind, hidden);
            let mut step = make(&bytes);
            let id = BenchmarkId::new(kind.name(), hidden);
            group.bench_with_input(id, &hidden, |b, _| {
                let mut token = 0;
                b.iter(|| {
                    token = (token + 7) % 27;
                    step(black_box(token))
                })
            });
        }
    }
    group.finish();
}

/// A float network's step of a token, with its buffers.
fn float_step(net: impl Cell + 'static) -> impl FnMut(usize) {
    let mut state = vec![0.0f32; net.state_len()];
    let mut scratch = vec![0.0f32; net.scratch_len()];
    let mut logits = vec![0.0f32; net.output_size()];
    move |token| {
        net.step(&mut state, Input::Token(token), &mut scratch, &mut logits)
            .unwrap();
        black_box(logits[0]);
    }
}

fn step(c: &mut Criterion) {
    bench_steps(c, "step", |bytes| {
        let view = ModelView::parse(bytes.to_vec().leak()).unwrap();
        float_step(Network::from_view(&view).unwrap())
    });
}

/// The same models with their weights copied column by column (`Network::columns`, the
/// host tools' layout): the same bits.
fn columns_step(c: &mut Criterion) {
    bench_steps(c, "columns_step", |bytes| {
        let view = ModelView::parse(bytes.to_vec().leak()).unwrap();
        let buf = vec![Column::ZERO; rnn_core::columns_len(&view).unwrap()].leak();
        float_step(Network::columns(&view, buf).unwrap())
    });
}

/// The same models quantized to int8, one integer step each (`QNetwork`).
fn quantized_step(c: &mut Criterion) {
    bench_steps(c, "quantized_step", |float| {
        let view = ModelView::parse(float).unwrap();
        let quant = Quant {
            precision: Precision::Int8,
            cell_exp: [12; rnn_core::quant::MAX_STACKS],
            ..Quant::FLOAT
        };
        let mut bytes = vec![0u8; rnn_core::quantized_len(&view, quant).unwrap()];
        let n = rnn_core::write_quantized(&mut bytes, &view, quant).unwrap();
        bytes.truncate(n);
        let view = ModelView::parse(bytes.leak()).unwrap();
        let net = QNetwork::from_view(&view).unwrap();
        let mut state = vec![0i16; net.state_len()];
        let mut scratch = vec![0i32; net.scratch_len()];
        let mut logits = vec![0i32; net.output_size()];
        move |token| {
            net.step(&mut state, QInput::Token(token), &mut scratch, &mut logits)
                .unwrap();
            black_box(logits[0]);
        }
    });
}

criterion_group!(benches, step, columns_step, quantized_step);
criterion_main!(benches);
