//! Training itself: the trainer's forward pass against rnn-core's step, and a seeded run on
//! the dinosaur names that must bring the validation loss down.

use std::path::Path;

use rnn_train::data::{read_text, Mode, START};
use rnn_train::elman::{forward, Workspace};
use rnn_train::model::{CellType, Model};
use rnn_train::optim::OptimizerKind;
use rnn_train::train::{self, Hyper, Reduction, RunOptions, State};

const DINOSAURS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/dinosaurs.txt");

fn hyper(hidden: usize) -> Hyper {
    Hyper {
        mode: Mode::Lines,
        seq_len: 25,
        cell: CellType::Elman,
        layers: 1,
        hidden,
        lr: 0.005,
        batch: 1,
        clip: 5.0,
        clip_norm: None,
        optimizer: OptimizerKind::Adam,
        val_split: 0.1,
        seed: 1,
        reduction: Reduction::Mean,
        shuffle: true,
    }
}

#[test]
fn trainer_forward_agrees_with_rnn_core_step() {
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let vocab = text.vocab(Mode::Lines);
    let mut model = Model::init(vocab.clone(), 25, 99);
    // Larger weights than the initial ones, so that tanh saturates for some units.
    for (k, p) in model.params.iter_mut().enumerate() {
        *p *= 1.0 + (k % 7) as f32;
    }
    let bytes = model.to_bytes().unwrap();
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    let core = rnn_core::ElmanWeights::from_view(&view).unwrap();

    let name: Vec<u32> = "tyrannosaurus"
        .chars()
        .map(|c| vocab.index_of(c).unwrap())
        .collect();
    let inputs: Vec<u32> = std::iter::once(START).chain(name.iter().copied()).collect();
    let targets: Vec<u32> = name
        .iter()
        .copied()
        .chain([vocab.newline().unwrap()])
        .collect();
    let mut ws = Workspace::new(model.arch.dims(), inputs.len());
    forward(&model.tensors(), &inputs, &targets, &[0.0; 25], &mut ws);

    let (mut a, mut scratch, mut logits) = (vec![0.0f32; 25], vec![0.0f32; 25], vec![0.0f32; 27]);
    let mut worst = 0.0f32;
    for (t, &x) in inputs.iter().enumerate() {
        let input = if x == START {
            rnn_core::Input::Start
        } else {
            rnn_core::Input::Token(x as usize)
        };
        core.step(&mut a, input, &mut scratch, &mut logits).unwrap();
        for (mine, theirs) in ws.state(t).iter().zip(&a) {
            worst = worst.max((mine - theirs).abs());
        }
        rnn_core::sample::softmax(&mut logits);
        for (mine, theirs) in ws.probs(t).iter().zip(&logits) {
            worst = worst.max((mine - theirs).abs());
        }
    }
    assert!(worst < 1e-5, "largest difference {worst}");
}

#[test]
fn seeded_training_lowers_the_validation_loss() {
    // Three epochs of the defaults on all dinosaur names: fast enough for a debug build.
    // Untrained, the loss is about ln 27 = 3.30 nats per character.
    let h = hyper(25);
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let model = Model::init(text.vocab(Mode::Lines), h.hidden, h.seed);
    let prep = train::prepare(&text, &model.vocab, &h).unwrap();
    let opts = RunOptions {
        epochs: 3,
        threads: 1,
        quiet: true,
        out: None,
    };
    let state = train::run(&h, &opts, &prep, State::new(model, &h), &mut |_| Ok(())).unwrap();
    let val: Vec<f64> = state.history.iter().map(|s| s.val_loss.unwrap()).collect();
    assert!(val[2] < 1.85, "validation loss after 3 epochs: {val:?}");
    assert!(val[0] > val[2], "{val:?}");
}

#[test]
fn gru_and_lstm_stacks_learn_the_names() {
    // Two epochs of Adam on a fifth of the names, small enough for a debug build: the
    // validation loss must fall well below the untrained ln 27 = 3.30 (to about 2.0) nats per character.
    let text = read_text(Path::new(DINOSAURS)).unwrap();
    let few: String = text
        .text
        .lines()
        .step_by(5)
        .flat_map(|l| [l, "\n"])
        .collect();
    let path = std::env::temp_dir().join(format!("few-names-{}.txt", std::process::id()));
    std::fs::write(&path, few).unwrap();
    let text = read_text(&path).unwrap();
    for (cell, layers) in [(CellType::Gru, 1), (CellType::Lstm, 2)] {
        let mut h = hyper(16);
        h.cell = cell;
        h.layers = layers;
        h.lr = 0.01;
        let model = Model::init_arch(cell, layers, text.vocab(Mode::Lines), h.hidden, h.seed);
        let prep = train::prepare(&text, &model.vocab, &h).unwrap();
        let opts = RunOptions {
            epochs: 2,
            threads: 1,
            quiet: true,
            out: None,
        };
        let state = train::run(&h, &opts, &prep, State::new(model, &h), &mut |_| Ok(())).unwrap();
        let val: Vec<f64> = state.history.iter().map(|s| s.val_loss.unwrap()).collect();
        assert!(val[1] < 2.3, "{cell:?} x{layers}: validation loss {val:?}");
        assert!(val[0] > val[1], "{cell:?} x{layers}: {val:?}");
    }
}
