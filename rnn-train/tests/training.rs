//! Training itself, through the one training loop: seeded runs on the dinosaur names that
//! must bring the validation loss down, for the Elman cell and for gated stacks.

mod common;

use std::path::Path;

use common::DINOSAURS;
use rnn_train::data::text::{prepare, Cut, NextData};
use rnn_train::data::{read_text, Examples, Mode, Text};
use rnn_train::nn::{CellType, Model};
use rnn_train::train::optim::{LrSchedule, OptimizerKind};
use rnn_train::train::{self, Hyper, Reduction, RunOptions, State, Stop, TaskData, TaskHyper};

fn hyper(cell: CellType, layers: usize, hidden: usize) -> Hyper {
    Hyper {
        task: TaskHyper::Next {
            mode: Mode::Lines,
            seq_len: 25,
            reduction: Reduction::Mean,
        },
        cell,
        layers,
        hidden,
        lr: 0.005,
        batch: 1,
        clip: 5.0,
        clip_norm: None,
        optimizer: OptimizerKind::Adam,
        lr_schedule: LrSchedule::Constant,
        val_split: 0.1,
        seed: 1,
        shuffle: true,
        early_stop: None,
    }
}

/// The validation loss after each of `epochs` epochs of `h` on `text`.
fn val_losses(text: &Text, h: &Hyper, epochs: usize) -> Vec<f64> {
    let model = Model::init_next(h.cell, h.layers, text.vocab(Mode::Lines), h.hidden, h.seed);
    let cut = Cut {
        mode: Mode::Lines,
        seq_len: 25,
        streams: 1,
        val_split: h.val_split,
        seed: h.seed,
    };
    let prep: NextData = prepare(text, model.vocab().unwrap(), &cut).unwrap();
    let data = TaskData {
        train: &prep.train,
        windows_per_stream: None,
        train_eval: &prep.train_eval,
        val: Some(&prep.val as &dyn Examples),
        test: None,
    };
    let opts = RunOptions {
        epochs,
        threads: 1,
        quiet: true,
        out: None,
        rescore_train: false,
    };
    let mut state = State::new(model, h);
    let stop = train::run(h, &opts, &data, &mut state, &mut |_| Ok(())).unwrap();
    assert_eq!(stop, Stop::Finished);
    state
        .history
        .iter()
        .map(|s| s.val.as_ref().unwrap().loss)
        .collect()
}

#[test]
fn seeded_training_lowers_the_validation_loss() {
    // Three epochs on all dinosaur names: fast enough for a debug build. Untrained, the
    // loss is about ln 27 = 3.30 nats per character.
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let val = val_losses(&text, &hyper(CellType::Elman, 1, 25), 3);
    assert!(val[2] < 1.85, "validation loss after 3 epochs: {val:?}");
    assert!(val[0] > val[2], "{val:?}");
}

#[test]
fn gru_and_lstm_stacks_learn_the_names() {
    // Two epochs of Adam on a fifth of the names, small enough for a debug build: the
    // validation loss must fall well below the untrained ln 27 = 3.30 (to about 2.0).
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let few: String = text
        .text
        .lines()
        .step_by(5)
        .flat_map(|l| [l, "\n"])
        .collect();
    let path = common::tmp("few-names.txt");
    std::fs::write(&path, few).unwrap();
    let text = read_text(&path).unwrap();
    for (cell, layers) in [(CellType::Gru, 1), (CellType::Lstm, 2)] {
        let mut h = hyper(cell, layers, 16);
        h.lr = 0.01;
        let val = val_losses(&text, &h, 2);
        assert!(val[1] < 2.3, "{cell:?} x{layers}: validation loss {val:?}");
        assert!(val[0] > val[1], "{cell:?} x{layers}: {val:?}");
    }
}

#[test]
fn minibatches_through_the_batched_passes_learn_the_names_too() {
    // Minibatches of 16 (two chunks of the engine): Adam's loss after three epochs of all
    // names must fall well below the untrained 3.30 and keep falling.
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    for cell in [CellType::Elman, CellType::Gru] {
        let mut h = hyper(cell, 1, 25);
        h.batch = 16;
        h.lr = 0.02;
        let val = val_losses(&text, &h, 3);
        assert!(val[2] < 2.2, "{cell:?}: validation loss {val:?}");
        assert!(val[0] > val[2], "{cell:?}: {val:?}");
    }
}
