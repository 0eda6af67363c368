//! The batched passes' matrix products at the shapes of H = 64 and H = 256 with 16
//! sequences per chunk, for both kernels: `cargo bench -p rnn-train --bench gemm`. The
//! figures decide which kernel is the default (README, *Training speed*).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rnn_train::nn::gemm::{gemm, set_kernel, Kernel, Strided};

fn products(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(20);
    // (what, m, n, k, A transposed): the recurrent step (B rows × H times H × G·H), the
    // weight gradient over all steps (G·H × T·B times T·B × H) and the output layer.
    let shapes = [
        ("step H64", 8, 64, 64, false),
        ("step H256", 8, 256, 256, false),
        ("step GRU H256", 8, 768, 256, false),
        ("dW H256", 256, 256, 104, true),
        ("dW GRU H256", 768, 256, 104, true),
        ("head H256", 104, 27, 256, false),
    ];
    for (what, m, n, k, t) in shapes {
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 104_729) % 1000) as f32 * 1e-3)
            .collect();
        let mut cm = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        for kernel in [Kernel::Fused, Kernel::Exact, Kernel::Matrixmultiply] {
            let id = BenchmarkId::new(format!("{kernel:?}"), what);
            group.bench_function(id, |bench| {
                set_kernel(kernel);
                let a = if t {
                    Strided::transposed(&a, m)
                } else {
                    Strided::rows(&a, k)
                };
                bench.iter(|| gemm(m, n, k, a, &b, n, &mut cm, n))
            });
        }
    }
    set_kernel(Kernel::Exact);
    group.finish();
}

criterion_group!(benches, products);
criterion_main!(benches);
