//! Model files made for the tests: random weights of any size, written with `rnn-core`'s
//! own writer, so that the tests need no trained model.

use std::path::Path;

use rnn_core::{write_model, CellKind, Header, Rng};

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
/// and random weights drawn from `seed`, tensors in file order (per layer input weights,
/// recurrent weights, input bias, recurrent bias for gated cells; then `W_ya`, `b_y`).
/// As in [`elman_bytes`], the scales keep the units away from saturation and the bias of
/// the end-of-name symbol (index 0) makes names end within a few dozen symbols; an LSTM's
/// forget-gate biases start at 1, as Keras initialises them.
pub fn network_bytes(kind: CellKind, layers: u8, vocab: &str, hidden: usize, seed: u64) -> Vec<u8> {
    let n = vocab.chars().count();
    let (i, h, o) = (n, hidden, n);
    let gates = match kind {
        CellKind::Elman => 1,
        CellKind::Gru => 3,
        CellKind::Lstm => 4,
    };
    let mut rng = Rng::new(seed);
    // Gated units' outputs are small (an LSTM's h is o·tanh(c)): larger scales than the
    // Elman fixture's keep the predictions dependent on the input and the state.
    let recurrent = 2.0 / (h as f32).sqrt();
    let mut tensors: Vec<Vec<f32>> = Vec::new();
    for l in 0..usize::from(layers) {
        let (n_in, in_scale) = if l == 0 {
            (i, 2.0)
        } else {
            (h, 3.0 / (h as f32).sqrt())
        };
        let mut draw = |count: usize, scale: f32| -> Vec<f32> {
            (0..count).map(|_| uniform(&mut rng, scale)).collect()
        };
        tensors.push(draw(gates * h * n_in, in_scale));
        tensors.push(draw(gates * h * h, recurrent));
        let mut b_x = draw(gates * h, 0.1);
        if kind == CellKind::Lstm {
            // Gate order i, f, g, o: the forget gate is the second block.
            b_x[h..2 * h].iter_mut().for_each(|b| *b += 1.0);
        }
        tensors.push(b_x);
        if kind != CellKind::Elman {
            tensors.push(draw(gates * h, 0.1));
        }
    }
    let w_ya: Vec<f32> = (0..o * h)
        .map(|_| uniform(&mut rng, 6.0 / (h as f32).sqrt()))
        .collect();
    let mut b_y: Vec<f32> = (0..o).map(|_| uniform(&mut rng, 0.5)).collect();
    b_y[0] = 0.5;
    tensors.push(w_ya);
    tensors.push(b_y);
    let header = Header::new(kind, layers, i as u32, h as u32, o as u32);
    let refs: Vec<&[f32]> = tensors.iter().map(Vec::as_slice).collect();
    write(&header, vocab, &refs)
}

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
