//! Model files made for the tests: random weights of any size, written with `rnn-core`'s
//! own writer, so that the tests need no trained model.

use std::path::Path;

use rnn_core::{
    write_classifier, write_model, CellKind, ConvSpec, ConvStack, Header, Rng, Task, TensorRole,
};

/// The vocabulary of the fixture models: the end-of-name symbol, `/` (to exercise the
/// firmware's `//` escape) and the 26 lower-case letters.
pub const VOCAB: &str = "\n/abcdefghijklmnopqrstuvwxyz";

/// The vocabulary of the dinosaur names: the end-of-name symbol and `a`–`z`.
pub const DINO_VOCAB: &str = "\nabcdefghijklmnopqrstuvwxyz";

/// A uniform value in `[-scale, scale)`.
fn uniform(rng: &mut Rng, scale: f32) -> f32 {
    (rng.next_f32() * 2.0 - 1.0) * scale
}

/// The bytes of an Elman model over `vocab` with `hidden` units and random weights drawn
/// from `seed`. The scales keep the hidden state away from saturation, and the bias of the
/// end-of-name symbol (index 0) makes names end within a few dozen symbols.
pub fn elman_bytes(vocab: &str, hidden: usize, seed: u64) -> Vec<u8> {
    let n = vocab.chars().count();
    let (i, h, o) = (n, hidden, n);
    let mut rng = Rng::new(seed);
    let recurrent = 1.5 / (h as f32).sqrt();
    let w_ax: Vec<f32> = (0..h * i).map(|_| uniform(&mut rng, 1.0)).collect();
    let w_aa: Vec<f32> = (0..h * h).map(|_| uniform(&mut rng, recurrent)).collect();
    let b_a: Vec<f32> = (0..h).map(|_| uniform(&mut rng, 0.1)).collect();
    let w_ya: Vec<f32> = (0..o * h)
        .map(|_| uniform(&mut rng, 3.0 / (h as f32).sqrt()))
        .collect();
    let mut b_y: Vec<f32> = (0..o).map(|_| uniform(&mut rng, 0.5)).collect();
    b_y[0] = 0.5;
    let header = Header::elman(i as u32, h as u32, o as u32);
    write(&header, vocab, &[&w_ax, &w_aa, &b_a, &w_ya, &b_y])
}

/// The bytes of a model of any kind and depth over `vocab` with `hidden` units per layer
/// and random weights drawn from `seed`, tensors in file order as `rnn-core`'s
/// `Header::tensors` walks them (per layer input weights, recurrent weights, input bias,
/// recurrent bias for gated cells; then `W_ya`, `b_y`). As in [`elman_bytes`], the scales
/// keep the units away from saturation and the bias of the end-of-name symbol (index 0)
/// makes names end within a few dozen symbols; an LSTM's forget-gate biases start at 1, as
/// Keras initialises them.
pub fn network_bytes(kind: CellKind, layers: u8, vocab: &str, hidden: usize, seed: u64) -> Vec<u8> {
    let n = vocab.chars().count();
    let (i, h, o) = (n, hidden, n);
    let header = Header::new(kind, layers, i as u32, h as u32, o as u32);
    let mut rng = Rng::new(seed);
    // Gated units' outputs are small (an LSTM's h is o·tanh(c)): larger scales than the
    // Elman fixture's keep the predictions dependent on the input and the state.
    let recurrent = 2.0 / (h as f32).sqrt();
    let tensors: Vec<Vec<f32>> = header
        .tensors()
        .map(|t| {
            let scale = match t.role {
                TensorRole::InputWeights if t.layer == 0 => 2.0,
                TensorRole::InputWeights => 3.0 / (h as f32).sqrt(),
                TensorRole::RecurrentWeights => recurrent,
                TensorRole::OutputWeights => 6.0 / (h as f32).sqrt(),
                TensorRole::OutputBias => 0.5,
                _ => 0.1,
            };
            let mut values: Vec<f32> = (0..t.len()).map(|_| uniform(&mut rng, scale)).collect();
            match t.role {
                TensorRole::InputBias => lstm_forget_bias(kind, h, &mut values),
                TensorRole::OutputBias => values[0] = 0.5,
                _ => {}
            }
            values
        })
        .collect();
    let refs: Vec<&[f32]> = tensors.iter().map(Vec::as_slice).collect();
    write(&header, vocab, &refs)
}

/// An LSTM's forget-gate biases start at 1 (gate order i, f, g, o: the second block of
/// `H`), as Keras initialises them.
fn lstm_forget_bias(kind: CellKind, h: usize, b_x: &mut [f32]) {
    if kind == CellKind::Lstm {
        b_x[h..2 * h].iter_mut().for_each(|b| *b += 1.0);
    }
}

/// The shape of a fixture classifier, tagger or regression model (see
/// [`classifier_bytes`]).
#[derive(Debug, Clone, Copy)]
pub struct ClassifierSpec<'a> {
    /// [`Task::Classify`] (one class per sequence), [`Task::Tag`] (a class at every step) or
    /// [`Task::Regress`] (`classes` then names the targets).
    pub task: Task,
    /// The cell kind of every layer.
    pub kind: CellKind,
    /// Stacked layers per direction, 1 to 4.
    pub layers: u8,
    /// A second stack reads the sequence from its end.
    pub bidirectional: bool,
    /// The symbols of a word classifier; empty for dense vectors.
    pub vocab: &'a str,
    /// Channels of a dense input (ignored with a vocabulary: `I` is its length).
    pub channels: usize,
    /// Dense inputs are normalised per channel (`mean`, `scale` in the file).
    pub normalized: bool,
    /// The convolutional front-end, from the input up (classifiers only; empty for none).
    pub conv: &'a [ConvSpec],
    /// Hidden units per layer and direction.
    pub hidden: usize,
    /// The class names (the target names of a regression model), in output order.
    pub classes: &'a [&'a str],
    /// The seed of the random weights.
    pub seed: u64,
}

/// The bytes of a classifier (or tagger, or regression model: `spec.task`) with random
/// weights, written with `rnn-core`'s `write_classifier`. Tensors in file order, as
/// `Header::tensors` walks them: `mean` and `scale` (when normalised; means in ±1, scales
/// in [0.5, 2)), a regression model's `target_mean` (in ±4) and `target_std` (in
/// [0.5, 2.5)), the convolutional layers (weights in `±2/√(K·C_in)`, biases in ±0.1: about
/// half the ReLUs answer above zero on the tests' inputs), the forward stack's layers, the backward stack's (input
/// weights, recurrent weights, input bias, and for gated cells the recurrent bias; layer
/// `l > 0` reads `D·H` values), then `W_ya` (O × D·H) and `b_y`. The output scale spreads
/// the logits, so that the answers' probabilities vary from near 1/O to near 1.
pub fn classifier_bytes(spec: &ClassifierSpec<'_>) -> Vec<u8> {
    let dense = spec.vocab.is_empty();
    let i = if dense {
        spec.channels
    } else {
        spec.vocab.chars().count()
    };
    let (h, o) = (spec.hidden, spec.classes.len());
    let header = Header::new(spec.kind, spec.layers, i as u32, h as u32, o as u32)
        .with_task(spec.task)
        .with_bidirectional(spec.bidirectional)
        .with_normalized(spec.normalized)
        .with_conv(ConvStack::new(spec.conv).expect("a valid fixture front-end"));
    let mut rng = Rng::new(spec.seed);
    let recurrent = 2.0 / (h as f32).sqrt();
    let tensors: Vec<Vec<f32>> = header
        .tensors()
        .map(|t| {
            let scale = match t.role {
                TensorRole::InputMean => 1.0,
                TensorRole::InputScale => 0.75,
                TensorRole::TargetMean => 4.0,
                TensorRole::TargetStd => 1.0,
                TensorRole::ConvWeights => 2.0 / (t.cols as f32).sqrt(),
                TensorRole::ConvBias => 0.1,
                // Layer 0 reads `I` values (one-hot or dense), further layers `D·H`: `cols`.
                TensorRole::InputWeights if t.layer == 0 && !dense => 2.0,
                TensorRole::InputWeights if t.layer == 0 => 2.0 / (t.cols as f32).sqrt(),
                TensorRole::InputWeights => 3.0 / (t.cols as f32).sqrt(),
                TensorRole::RecurrentWeights => recurrent,
                TensorRole::OutputWeights => 6.0 / (t.cols as f32).sqrt(),
                TensorRole::OutputBias => 0.5,
                TensorRole::InputBias | TensorRole::RecurrentBias => 0.1,
            };
            let mut values: Vec<f32> = (0..t.len()).map(|_| uniform(&mut rng, scale)).collect();
            match t.role {
                TensorRole::InputScale => values.iter_mut().for_each(|s| *s += 1.25),
                TensorRole::TargetStd => values.iter_mut().for_each(|s| *s += 1.5),
                TensorRole::InputBias => lstm_forget_bias(spec.kind, h, &mut values),
                _ => {}
            }
            values
        })
        .collect();
    let names: String = spec.classes.iter().map(|c| format!("{c}\n")).collect();
    let refs: Vec<&[f32]> = tensors.iter().map(Vec::as_slice).collect();
    let len = rnn_core::classifier_len(&header, spec.vocab, &names, &refs)
        .expect("a valid fixture classifier");
    let mut bytes = vec![0u8; len];
    let written = write_classifier(&mut bytes, &header, spec.vocab, &names, &refs)
        .expect("a valid fixture classifier");
    assert_eq!(written, len);
    bytes
}

/// The word classifier of the QEMU tests: a bidirectional GRU (H = 16) over the 26
/// lower-case letters, `'`, `-` and `/` (for the `//` escape), six language classes.
pub const WORD_CLASSIFIER: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Classify,
    kind: CellKind::Gru,
    layers: 1,
    bidirectional: true,
    vocab: "abcdefghijklmnopqrstuvwxyz'-/",
    channels: 0,
    normalized: false,
    conv: &[],
    hidden: 16,
    classes: &[
        "english",
        "spanish",
        "french",
        "german",
        "italian",
        "portuguese",
    ],
    seed: 11,
};

/// The UTF-8 word classifier of the QEMU tests: a one-direction LSTM (H = 16) over the 26
/// lower-case letters, accented and other non-ASCII letters of two bytes in UTF-8
/// (`á é í ó ú ñ ü ç à è ß œ`), one of three bytes (`€`) and one of four (`𝔞`, U+1D51E),
/// `'`, `-` and `/`; three language classes.
pub const UTF8_WORD_CLASSIFIER: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Classify,
    kind: CellKind::Lstm,
    layers: 1,
    bidirectional: false,
    vocab: "abcdefghijklmnopqrstuvwxyzáéíóúñüçàèßœ€\u{1d51e}'-/",
    channels: 0,
    normalized: false,
    conv: &[],
    hidden: 16,
    classes: &["english", "spanish", "german"],
    seed: 13,
};

/// The dense classifier of the QEMU tests, shaped like JapaneseVowels: 12 channels,
/// normalised, a bidirectional LSTM with H = 12, nine speakers.
pub const DENSE_CLASSIFIER: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Classify,
    kind: CellKind::Lstm,
    layers: 1,
    bidirectional: true,
    vocab: "",
    channels: 12,
    normalized: true,
    conv: &[],
    hidden: 12,
    classes: &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
    seed: 12,
};

/// The tagger of the QEMU tests' streaming mode: a one-direction GRU (H = 16) over 6
/// normalised channels (an accelerometer's and a gyroscope's three axes, say), four
/// activity classes at every step.
pub const TAGGER: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Tag,
    kind: CellKind::Gru,
    layers: 1,
    bidirectional: false,
    vocab: "",
    channels: 6,
    normalized: true,
    conv: &[],
    hidden: 16,
    classes: &["still", "walk", "run", "cycle"],
    seed: 21,
};

/// The regression model of the QEMU tests' streaming mode: two stacked LSTM layers
/// (H = 12) over 3 channels without normalisation, two targets at every step.
pub const REGRESSOR: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Regress,
    kind: CellKind::Lstm,
    layers: 2,
    bidirectional: false,
    vocab: "",
    channels: 3,
    normalized: false,
    conv: &[],
    hidden: 12,
    classes: &["speed", "heading"],
    seed: 22,
};

/// The classifier with a convolutional front-end of the QEMU tests, shaped like a gesture
/// classifier on an inertial sensor: 6 normalised channels (an accelerometer's and a
/// gyroscope's three axes), one causal convolution of 4 steps and 8 channels with ReLU
/// that answers every 2nd step (`4:8:2`), then a bidirectional GRU with H = 12 over what it
/// answers, four gestures.
pub const CONV_CLASSIFIER: ClassifierSpec<'static> = ClassifierSpec {
    task: Task::Classify,
    kind: CellKind::Gru,
    layers: 1,
    bidirectional: true,
    vocab: "",
    channels: 6,
    normalized: true,
    conv: &[ConvSpec {
        kernel: 4,
        stride: 2,
        channels: 8,
    }],
    hidden: 12,
    classes: &["wave", "tap", "shake", "circle"],
    seed: 14,
};

fn write(header: &Header, vocab: &str, tensors: &[&[f32]]) -> Vec<u8> {
    let len = rnn_core::encoded_len(header, vocab, tensors).expect("a valid fixture model");
    let mut bytes = vec![0u8; len];
    let written = write_model(&mut bytes, header, vocab, tensors).expect("a valid fixture model");
    assert_eq!(written, len);
    bytes
}

/// `bytes` with bit `bit` of byte `byte` inverted.
pub fn flip_bit(bytes: &[u8], byte: usize, bit: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[byte] ^= 1 << bit;
    out
}

/// Writes `bytes` to `path`, creating its directory.
pub fn save(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the fixture directory");
    }
    std::fs::write(path, bytes).expect("write the fixture model");
}

/// The float model file `float` quantized by `rnn-core`'s writer (format version 3) with
/// weights of `precision` (`Int8` or `Int16`). An LSTM's cell state gets 12 fraction bits
/// in every layer (values within ±8: the fixtures' cell states stay well inside); a dense
/// input (an empty vocabulary) 11 fraction bits after its normalisation (values within
/// ±16: the tests' random vectors reach past it, which saturates alike on every target),
/// a one-hot input none.
pub fn quantized_bytes(float: &[u8], precision: rnn_core::Precision) -> Vec<u8> {
    let view = rnn_core::ModelView::parse(float).expect("the float fixture loads");
    let lstm = view.header().cell == CellKind::Lstm;
    let quant = rnn_core::Quant {
        precision,
        input_exp: if view.vocab().is_empty() { 11 } else { 0 },
        cell_exp: [if lstm { 12 } else { 0 }; rnn_core::quant::MAX_STACKS],
        conv_exp: [10; rnn_core::conv::MAX_CONV],
    };
    let mut buf = vec![0u8; rnn_core::quantized_len(&view, quant).expect("quantizable")];
    let len = rnn_core::write_quantized(&mut buf, &view, quant).expect("quantizable");
    buf.truncate(len);
    buf
}
