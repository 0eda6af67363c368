//! One training epoch on the dinosaur names: Elman and GRU at H = 64, one thread, at one
//! name per update and at 32 (the per-sequence and the batched passes), and Elman at
//! H = 256, 32 names per update, on one thread and on two: `cargo bench -p rnn-train
//! --bench epoch`. `rnn-train bench` is the command the README's tables come from; this
//! one is for comparing changes with criterion's statistics.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use indicatif::ProgressBar;
use rnn_train::cli::bench::next_hyper;
use rnn_train::data::text::{prepare, Cut};
use rnn_train::data::{read_text, Examples, Mode};
use rnn_train::nn::{CellType, Model};
use rnn_train::train::{self, Engine, State, TaskData};

fn epoch(c: &mut Criterion) {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/dinosaurs.txt"
    ));
    let text = read_text(path).unwrap();
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    let runs = [
        (CellType::Elman, 64, 1, 1),
        (CellType::Elman, 64, 32, 1),
        (CellType::Gru, 64, 1, 1),
        (CellType::Gru, 64, 32, 1),
        (CellType::Elman, 256, 32, 1),
        (CellType::Elman, 256, 32, 2),
    ];
    for (cell, hidden, batch, threads) in runs {
        let hyper = next_hyper(cell, 1, hidden, batch);
        let model = Model::init_next(cell, 1, text.vocab(Mode::Lines), hidden, 1);
        let cut = Cut {
            mode: Mode::Lines,
            seq_len: 25,
            streams: 1,
            val_split: 0.0,
            seed: 1,
        };
        let prep = prepare(&text, model.vocab().unwrap(), &cut).unwrap();
        let data = TaskData {
            train: &prep.train,
            windows_per_stream: None,
            train_eval: &prep.train,
            val: None,
            test: None,
        };
        let mut state = State::new(model, &hyper);
        let max_len = prep.train.max_len();
        let mut engine = Engine::new(state.model.arch, batch, max_len, threads).unwrap();
        let bar = ProgressBar::hidden();
        let what = format!("H {hidden} batch {batch} threads {threads}");
        let id = BenchmarkId::new(cell.name(), what);
        group.bench_function(id, |b| {
            let mut e = 0;
            b.iter(|| {
                e += 1;
                train::train_epoch(&mut engine, &mut state, &data, &hyper, e, e, &bar).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
