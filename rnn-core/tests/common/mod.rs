//! Shared fixtures for rnn-core's tests: a small valid model, and a hand-written encoder
//! that can also produce invalid files (the library's writer refuses to).
#![allow(dead_code)]

use rnn_core::{write_classifier, write_model, CellKind, Header, Task};

pub const VOCAB: &str = "\nabcd";
pub const I: usize = 5;
pub const H: usize = 6;
pub const O: usize = 5;

/// Deterministic weights in [-1, 1), different for every tensor and index.
pub fn weights(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = rnn_core::Rng::new(seed);
    (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect()
}

pub struct Tensors {
    pub w_ax: Vec<f32>,
    pub w_aa: Vec<f32>,
    pub b_a: Vec<f32>,
    pub w_ya: Vec<f32>,
    pub b_y: Vec<f32>,
}

impl Tensors {
    pub fn new(i: usize, h: usize, o: usize, seed: u64) -> Self {
        Tensors {
            w_ax: weights(seed, h * i),
            w_aa: weights(seed + 1, h * h),
            b_a: weights(seed + 2, h),
            w_ya: weights(seed + 3, o * h),
            b_y: weights(seed + 4, o),
        }
    }
    pub fn all(&self) -> Vec<f32> {
        [&self.w_ax, &self.w_aa, &self.b_a, &self.w_ya, &self.b_y]
            .iter()
            .flat_map(|t| t.iter().copied())
            .collect()
    }
}

/// A valid Elman model file of the fixture sizes, written by the library.
pub fn valid_model() -> (Vec<u8>, Tensors) {
    let t = Tensors::new(I, H, O, 11);
    let header = Header::elman(I as u32, H as u32, O as u32);
    let mut buf = vec![0u8; 4096];
    let len = write_model(
        &mut buf,
        &header,
        VOCAB,
        &[&t.w_ax, &t.w_aa, &t.b_a, &t.w_ya, &t.b_y],
    )
    .unwrap();
    buf.truncate(len);
    (buf, t)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Encodes a file by hand from FORMAT.md, independently of the library's writer, with a
/// correct CRC unless the caller changes it afterwards.
pub struct Raw<'a> {
    pub magic: [u8; 4],
    pub version: u64,
    pub cell: u8,
    pub layers: u8,
    pub task: u8,
    pub flags: u8,
    pub sizes: (u64, u64, u64),
    pub vocab: &'a [u8],
    pub classes: &'a [u8],
    /// The convolutional layers (version 2 and later only), 4 bytes each.
    pub conv: &'a [u8],
    /// Padding bytes before the weights; `None` for the canonical 0..=3 zeros that align
    /// the weights to 4 bytes.
    pub pad: Option<Vec<u8>>,
    pub weights: Vec<f32>,
}

impl Raw<'_> {
    pub fn elman(weights: Vec<f32>) -> Raw<'static> {
        Raw {
            magic: *b"RNN\x1a",
            version: 1,
            cell: 0,
            layers: 1,
            task: 0,
            flags: 0,
            sizes: (I as u64, H as u64, O as u64),
            vocab: VOCAB.as_bytes(),
            classes: b"",
            conv: b"",
            pad: None,
            weights,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.magic.to_vec();
        varint(self.version, &mut out);
        out.push(self.cell);
        out.push(self.layers);
        out.push(self.task);
        out.push(self.flags);
        varint(self.sizes.0, &mut out);
        varint(self.sizes.1, &mut out);
        varint(self.sizes.2, &mut out);
        varint(self.vocab.len() as u64, &mut out);
        out.extend_from_slice(self.vocab);
        varint(self.classes.len() as u64, &mut out);
        out.extend_from_slice(self.classes);
        if self.version >= 2 {
            varint(self.conv.len() as u64, &mut out);
            out.extend_from_slice(self.conv);
        }
        let mut len = Vec::new();
        varint(self.weights.len() as u64 * 4, &mut len);
        let pad = self.pad.clone().unwrap_or_else(|| {
            // pad length byte + pad + weights length varint, then the weights at 4k.
            let k = (4 - (out.len() + 1 + len.len()) % 4) % 4;
            vec![0; k]
        });
        varint(pad.len() as u64, &mut out);
        out.extend_from_slice(&pad);
        out.extend_from_slice(&len);
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        let crc = rnn_core::crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// A valid model of version 2: a normalised 2-layer GRU regression model of 3 channels
/// and 2 targets (`target_std` positive), a bidirectional LSTM tagger over the fixture
/// vocabulary with 3 classes, or (`Task::Classify`) a GRU classifier with a two-layer
/// convolutional front-end.
pub fn valid_per_step_model(task: Task) -> Vec<u8> {
    let (header, vocab, names) = match task {
        Task::Regress => (
            Header::new(CellKind::Gru, 2, 3, 4, 2)
                .with_task(task)
                .with_normalized(true),
            "",
            "x\ny\n",
        ),
        _ => (
            Header::new(CellKind::Lstm, 1, I as u32, 3, 3)
                .with_task(Task::Tag)
                .with_bidirectional(true),
            VOCAB,
            "a\nb\nc\n",
        ),
    };
    let header = if task == Task::Classify {
        // A classifier with a two-layer convolutional front-end.
        let conv = rnn_core::ConvStack::new(&[
            rnn_core::ConvSpec {
                kernel: 3,
                stride: 2,
                channels: 4,
            },
            rnn_core::ConvSpec {
                kernel: 2,
                stride: 1,
                channels: 3,
            },
        ])
        .unwrap();
        Header::new(CellKind::Gru, 1, 3, 4, 3)
            .classifier()
            .with_normalized(true)
            .with_conv(conv)
    } else {
        header
    };
    let (vocab, names) = if task == Task::Classify {
        ("", "a\nb\nc\n")
    } else {
        (vocab, names)
    };
    let w = weights(5, header.param_count().unwrap());
    let mut buf = vec![0u8; 8192];
    let len = write_classifier(&mut buf, &header, vocab, names, &[&w]).unwrap();
    buf.truncate(len);
    buf
}

/// A float next-symbol model of `cell` with `layers` layers over the fixture vocabulary,
/// weights in `[-scale, scale)`.
pub fn float_model(cell: CellKind, layers: u8, hidden: u32, scale: f32, seed: u64) -> Vec<u8> {
    let header = Header::new(cell, layers, I as u32, hidden, O as u32);
    let w: Vec<f32> = weights(seed, header.param_count().unwrap())
        .iter()
        .map(|w| w * scale)
        .collect();
    let mut buf = vec![0u8; rnn_core::encoded_len(&header, VOCAB, &[&w]).unwrap()];
    let len = write_model(&mut buf, &header, VOCAB, &[&w]).unwrap();
    buf.truncate(len);
    buf
}

/// The quantization the tests use: `precision`, LSTM cell states with 12 fraction bits.
pub fn quant_of(cell: CellKind, precision: rnn_core::Precision) -> rnn_core::Quant {
    let lstm = cell == CellKind::Lstm;
    rnn_core::Quant {
        precision,
        input_exp: 0,
        cell_exp: [if lstm { 12 } else { 0 }; rnn_core::quant::MAX_STACKS],
        conv_exp: [0; rnn_core::conv::MAX_CONV],
    }
}

/// `float` (a model file) quantized by the library.
pub fn quantized(float: &[u8], quant: rnn_core::Quant) -> Vec<u8> {
    let view = rnn_core::ModelView::parse(float).unwrap();
    let mut buf = vec![0u8; rnn_core::quantized_len(&view, quant).unwrap()];
    let len = rnn_core::write_quantized(&mut buf, &view, quant).unwrap();
    buf.truncate(len);
    buf
}

/// A valid quantized model (format version 3): a 2-layer int8 LSTM.
pub fn valid_quantized_model() -> Vec<u8> {
    let float = float_model(CellKind::Lstm, 2, 4, 0.8, 3);
    quantized(&float, quant_of(CellKind::Lstm, rnn_core::Precision::Int8))
}

/// A valid quantized classifier: a bidirectional int16 GRU regression model of normalised
/// dense inputs (the statistics stay `f32`).
pub fn valid_quantized_regression() -> Vec<u8> {
    let float = valid_per_step_model(Task::Regress);
    let q = rnn_core::Quant {
        input_exp: 10,
        ..quant_of(CellKind::Gru, rnn_core::Precision::Int16)
    };
    quantized(&float, q)
}

/// A valid quantized classifier with a convolutional front-end (format version 4): one
/// int8 layer `2:3:2` (kernel, channels, stride) over 3 normalised channels, then a GRU.
pub fn valid_quantized_conv() -> Vec<u8> {
    let spec = rnn_core::ConvSpec {
        kernel: 2,
        stride: 2,
        channels: 3,
    };
    let header = Header::new(CellKind::Gru, 1, 3, 4, 2)
        .classifier()
        .with_normalized(true)
        .with_conv(rnn_core::ConvStack::new(&[spec]).unwrap());
    let float = float_file(header, "", "a\nb\n", 0.8, 6);
    let q = rnn_core::Quant {
        input_exp: 11,
        conv_exp: [11, 0, 0, 0],
        ..quant_of(CellKind::Gru, rnn_core::Precision::Int8)
    };
    quantized(&float, q)
}

/// Every single-bit flip and every proper prefix of a valid file is an error.
pub fn every_flip_and_prefix_is_rejected(bytes: &[u8]) {
    assert!(rnn_core::ModelView::parse(bytes).is_ok());
    let mut b = bytes.to_vec();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            b[byte] ^= 1 << bit;
            let parsed = rnn_core::ModelView::parse(&b).is_err();
            b[byte] ^= 1 << bit;
            assert!(parsed, "flip of bit {bit} in byte {byte} was accepted");
        }
    }
    for n in 0..bytes.len() {
        assert!(
            rnn_core::ModelView::parse(&bytes[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
}

/// A float model file of any task with weights in `[-scale, scale)` (statistics made
/// sensible: positive scales and standard deviations).
pub fn float_file(header: Header, vocab: &str, names: &str, scale: f32, seed: u64) -> Vec<u8> {
    let mut w = weights(seed, header.param_count().unwrap());
    let mut at = 0;
    for t in header.tensors() {
        for v in &mut w[at..at + t.len()] {
            *v = match t.role {
                rnn_core::TensorRole::InputScale | rnn_core::TensorRole::TargetStd => 0.5 + v.abs(),
                _ => *v * scale,
            };
        }
        at += t.len();
    }
    let mut buf = vec![0u8; 1 << 16];
    let n = rnn_core::write_classifier(&mut buf, &header, vocab, names, &[&w]).unwrap();
    buf.truncate(n);
    buf
}

/// `bytes` with its checksum made right again, so that the reader's later checks run.
pub fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 4;
    let crc = rnn_core::crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// `bytes` with byte `at` set to `v` and the checksum made right, parsed: what the
/// reader's checks after the CRC say of that one byte.
pub fn parse_edited(bytes: &[u8], at: usize, v: u8) -> Result<(), rnn_core::Error> {
    let mut b = bytes.to_vec();
    b[at] = v;
    rnn_core::ModelView::parse(&with_crc(b)).map(|_| ())
}

/// `round(v / 2^s)` half up, or `v · 2^-s`.
pub fn shift(v: i64, s: i64) -> i64 {
    if s > 0 {
        (v + (1 << (s - 1))).div_euclid(1 << s)
    } else {
        v << -s
    }
}
