//! One training epoch on the dinosaur names (Elman and GRU at H = 64, one thread), at one
//! name per update and at 32: `cargo bench -p rnn-train`. `rnn-train bench` is the
//! command the README's table comes from; this one is for comparing changes with
//! criterion's statistics.

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
    for cell in [CellType::Elman, CellType::Gru] {
        for batch in [1usize, 32] {
            let hyper = next_hyper(cell, 1, 64, batch);
            let model = Model::init_next(cell, 1, text.vocab(Mode::Lines), 64, 1);
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
            let mut engine = Engine::new(state.model.arch, batch, prep.train.max_len(), 1).unwrap();
            let bar = ProgressBar::hidden();
            let id = BenchmarkId::new(cell.name(), format!("batch {batch}"));
            group.bench_function(id, |b| {
                let mut e = 0;
                b.iter(|| {
                    e += 1;
                    train::train_epoch(&mut engine, &mut state, &data, &hyper, e, &bar).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
