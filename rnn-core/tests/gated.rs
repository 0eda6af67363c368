//! GRU and LSTM steps against naive f64 implementations written from their equations.

// The reference loops are indexed on purpose: they read like the equations.
#![allow(clippy::needless_range_loop)]

mod common;

use rnn_core::{
    encoded_len, generate, write_model, Cell, CellKind, ElmanWeights, Error, Header, Input,
    ModelView, Network, Rng, Sampler,
};

const I: usize = 5;
const H: usize = 7;
const O: usize = 5;

struct Gated {
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Vec<f32>,
    b_hh: Vec<f32>,
    w_ya: Vec<f32>,
    b_y: Vec<f32>,
}

impl Gated {
    fn new(gates: usize, seed: u64) -> Self {
        Gated {
            w_ih: common::weights(seed, gates * H * I),
            w_hh: common::weights(seed + 1, gates * H * H),
            b_ih: common::weights(seed + 2, gates * H),
            b_hh: common::weights(seed + 3, gates * H),
            w_ya: common::weights(seed + 4, O * H),
            b_y: common::weights(seed + 5, O),
        }
    }

    fn file(&self, cell: CellKind) -> Vec<u8> {
        let header = Header::new(cell, 1, I as u32, H as u32, O as u32);
        let t: [&[f32]; 6] = [
            &self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh, &self.w_ya, &self.b_y,
        ];
        let mut buf = vec![0u8; encoded_len(&header, common::VOCAB, &t).unwrap()];
        write_model(&mut buf, &header, common::VOCAB, &t).unwrap();
        buf
    }

    /// Pre-activation of gate row `r`: W_ih[r]·x + b_ih[r] + W_hh[r]·h + b_hh[r].
    fn pre(&self, r: usize, x: &[f64], h: &[f64]) -> f64 {
        let mut s = f64::from(self.b_ih[r]) + f64::from(self.b_hh[r]);
        for j in 0..I {
            s += f64::from(self.w_ih[r * I + j]) * x[j];
        }
        for j in 0..H {
            s += f64::from(self.w_hh[r * H + j]) * h[j];
        }
        s
    }

    fn logits(&self, h: &[f64]) -> Vec<f64> {
        (0..O)
            .map(|k| {
                f64::from(self.b_y[k])
                    + (0..H)
                        .map(|j| f64::from(self.w_ya[k * H + j]) * h[j])
                        .sum::<f64>()
            })
            .collect()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn gru_reference(w: &Gated, h: &mut [f64], x: &[f64]) -> Vec<f64> {
    let old = h.to_vec();
    for j in 0..H {
        let r = sigmoid(w.pre(j, x, &old));
        let z = sigmoid(w.pre(H + j, x, &old));
        // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        let mut xn = f64::from(w.b_ih[2 * H + j]);
        for k in 0..I {
            xn += f64::from(w.w_ih[(2 * H + j) * I + k]) * x[k];
        }
        let mut hn = f64::from(w.b_hh[2 * H + j]);
        for k in 0..H {
            hn += f64::from(w.w_hh[(2 * H + j) * H + k]) * old[k];
        }
        let n = (xn + r * hn).tanh();
        h[j] = (1.0 - z) * n + z * old[j];
    }
    w.logits(h)
}

fn lstm_reference(w: &Gated, h: &mut [f64], c: &mut [f64], x: &[f64]) -> Vec<f64> {
    let old = h.to_vec();
    for j in 0..H {
        let i = sigmoid(w.pre(j, x, &old));
        let f = sigmoid(w.pre(H + j, x, &old));
        let g = w.pre(2 * H + j, x, &old).tanh();
        let o = sigmoid(w.pre(3 * H + j, x, &old));
        c[j] = f * c[j] + i * g;
        h[j] = o * c[j].tanh();
    }
    w.logits(h)
}

fn close(got: &[f32], want: &[f64], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (f64::from(*g) - w).abs() < 1e-5,
            "{what}: {got:?} vs {want:?}"
        );
    }
}

fn inputs() -> Vec<(Input<'static>, Vec<f64>)> {
    static DENSE: [f32; I] = [0.5, -1.25, 0.0, 2.0, -0.75];
    let mut v = vec![(Input::Start, vec![0.0; I])];
    for t in [2usize, 0, 4, 4, 1] {
        let mut x = vec![0.0; I];
        x[t] = 1.0;
        v.push((Input::Token(t), x));
    }
    v.push((
        Input::Dense(&DENSE),
        DENSE.iter().map(|&d| f64::from(d)).collect(),
    ));
    v
}

#[test]
fn gru_step_matches_the_f64_reference() {
    let w = Gated::new(3, 21);
    let bytes = w.file(CellKind::Gru);
    let view = ModelView::parse(&bytes).unwrap();
    let cell = Network::from_view(&view).unwrap();
    assert_eq!((cell.state_len(), cell.scratch_len()), (H, 3 * H));
    let (mut h, mut s, mut l) = (vec![0.0f32; H], vec![0.0f32; 3 * H], vec![0.0f32; O]);
    let mut rh = vec![0.0f64; H];
    for (x, xr) in inputs() {
        cell.step(&mut h, x, &mut s, &mut l).unwrap();
        let want = gru_reference(&w, &mut rh, &xr);
        close(&h, &rh, "gru h");
        close(&l, &want, "gru logits");
    }
}

#[test]
fn lstm_step_matches_the_f64_reference() {
    let w = Gated::new(4, 33);
    let bytes = w.file(CellKind::Lstm);
    let view = ModelView::parse(&bytes).unwrap();
    let cell = Network::from_view(&view).unwrap();
    assert_eq!((cell.state_len(), cell.scratch_len()), (2 * H, 4 * H));
    let (mut st, mut s, mut l) = (vec![0.0f32; 2 * H], vec![0.0f32; 4 * H], vec![0.0f32; O]);
    let (mut rh, mut rc) = (vec![0.0f64; H], vec![0.0f64; H]);
    for (x, xr) in inputs() {
        cell.step(&mut st, x, &mut s, &mut l).unwrap();
        let want = lstm_reference(&w, &mut rh, &mut rc, &xr);
        close(&st[..H], &rh, "lstm h");
        close(&st[H..], &rc, "lstm c");
        close(&l, &want, "lstm logits");
    }
}

#[test]
fn network_dispatches_on_the_header_and_generates() {
    for (kind, gates) in [(CellKind::Gru, 3), (CellKind::Lstm, 4)] {
        let w = Gated::new(gates, 5);
        let bytes = w.file(kind);
        let view = ModelView::parse(&bytes).unwrap();
        let cell = Network::from_view(&view).unwrap();
        assert_eq!(cell.kind(), kind);
        let mut state = vec![0.0f32; cell.state_len()];
        let mut scratch = vec![0.0f32; cell.scratch_len()];
        let mut logits = vec![0.0f32; cell.output_size()];
        let mut out = String::new();
        let mut rng = Rng::new(3);
        let n = generate(
            &cell,
            &view.vocab(),
            "ab",
            Sampler::Temperature(1.0),
            &mut rng,
            10,
            &mut state,
            &mut scratch,
            &mut logits,
            |c| out.push(c),
        )
        .unwrap();
        assert_eq!(n, out.chars().count());
        // Wrong buffer lengths are errors.
        assert!(matches!(
            cell.step(&mut state[1..], Input::Start, &mut scratch, &mut logits),
            Err(Error::BufferLength { .. })
        ));
    }
}

#[test]
fn float_weights_give_the_same_bits() {
    let w = Gated::new(3, 1);
    let bytes = w.file(CellKind::Gru);
    let view = ModelView::parse(&bytes).unwrap();
    let floats: Vec<f32> = view.weights().collect();
    let fast = Network::with_floats(&view, &floats).unwrap();
    let slow = Network::from_view(&view).unwrap();
    let (mut h1, mut h2) = (vec![0.2f32; H], vec![0.2f32; H]);
    let (mut s, mut l1, mut l2) = (vec![0.0; 3 * H], vec![0.0; O], vec![0.0; O]);
    fast.step(&mut h1, Input::Token(3), &mut s, &mut l1)
        .unwrap();
    slow.step(&mut h2, Input::Token(3), &mut s, &mut l2)
        .unwrap();
    assert_eq!(h1, h2);
    assert_eq!(l1, l2);
    // A one-layer Elman network and ElmanWeights run the same code: the same bits.
    let (bytes, _) = common::valid_model();
    let view = ModelView::parse(&bytes).unwrap();
    let (net, elman) = (
        Network::from_view(&view).unwrap(),
        ElmanWeights::from_view(&view).unwrap(),
    );
    let (mut a1, mut a2) = ([0.0f32; common::H], [0.0f32; common::H]);
    let mut s = [0.0f32; common::H];
    let (mut l1, mut l2) = ([0.0f32; common::O], [0.0f32; common::O]);
    for x in [Input::Start, Input::Token(2), Input::Token(4)] {
        net.step(&mut a1, x, &mut s, &mut l1).unwrap();
        elman.step(&mut a2, x, &mut s, &mut l2).unwrap();
        assert_eq!(a1.map(f32::to_bits), a2.map(f32::to_bits));
        assert_eq!(l1.map(f32::to_bits), l2.map(f32::to_bits));
    }
}

/// A stack of `depth` layers of `kind` against f64 references of each layer, the input of
/// layer l > 0 being the hidden state of layer l - 1.
fn check_stack(kind: CellKind, depth: usize) {
    let g = match kind {
        CellKind::Elman => 1,
        CellKind::Gru => 3,
        CellKind::Lstm => 4,
    };
    let biases = if g == 1 { H } else { 2 * g * H };
    let mut all = Vec::new();
    let mut per_layer = Vec::new();
    for l in 0..depth {
        let n_in = if l == 0 { I } else { H };
        let w = (
            common::weights(100 + l as u64, g * H * n_in),
            common::weights(200 + l as u64, g * H * H),
            common::weights(300 + l as u64, biases),
        );
        all.extend_from_slice(&w.0);
        all.extend_from_slice(&w.1);
        all.extend_from_slice(&w.2);
        per_layer.push((n_in, w));
    }
    let (w_ya, b_y) = (common::weights(7, O * H), common::weights(8, O));
    all.extend_from_slice(&w_ya);
    all.extend_from_slice(&b_y);
    let header = Header::new(kind, depth as u8, I as u32, H as u32, O as u32);
    let mut buf = vec![0u8; encoded_len(&header, common::VOCAB, &[&all]).unwrap()];
    write_model(&mut buf, &header, common::VOCAB, &[&all]).unwrap();
    let view = ModelView::parse(&buf).unwrap();
    let net = Network::from_view(&view).unwrap();
    assert_eq!(net.depth(), depth);
    let per = if kind == CellKind::Lstm { 2 * H } else { H };
    assert_eq!(net.state_len(), depth * per);
    let mut state = vec![0.0f32; net.state_len()];
    let mut scratch = vec![0.0f32; net.scratch_len()];
    let mut logits = vec![0.0f32; O];
    let mut rh = vec![vec![0.0f64; H]; depth];
    let mut rc = vec![vec![0.0f64; H]; depth];
    for (x, xr) in inputs() {
        net.step(&mut state, x, &mut scratch, &mut logits).unwrap();
        let mut below = xr.clone();
        for l in 0..depth {
            let (n_in, (wx, wh, b)) = &per_layer[l];
            let pre = |r: usize, h: &[f64]| -> f64 {
                let mut s = f64::from(b[r]) + if g == 1 { 0.0 } else { f64::from(b[g * H + r]) };
                for j in 0..*n_in {
                    s += f64::from(wx[r * n_in + j]) * below[j];
                }
                for j in 0..H {
                    s += f64::from(wh[r * H + j]) * h[j];
                }
                s
            };
            let old = rh[l].clone();
            for j in 0..H {
                match kind {
                    CellKind::Elman => rh[l][j] = pre(j, &old).tanh(),
                    CellKind::Lstm => {
                        let (i, f) = (sigmoid(pre(j, &old)), sigmoid(pre(H + j, &old)));
                        let (gg, o) = (pre(2 * H + j, &old).tanh(), sigmoid(pre(3 * H + j, &old)));
                        rc[l][j] = f * rc[l][j] + i * gg;
                        rh[l][j] = o * rc[l][j].tanh();
                    }
                    CellKind::Gru => unreachable!("covered by the one-layer test"),
                }
            }
            below = rh[l].clone();
            close(&state[l * per..l * per + H], &rh[l], "stacked h");
        }
        let want: Vec<f64> = (0..O)
            .map(|k| {
                f64::from(b_y[k])
                    + (0..H)
                        .map(|j| f64::from(w_ya[k * H + j]) * below[j])
                        .sum::<f64>()
            })
            .collect();
        close(&logits, &want, "stacked logits");
    }
}

#[test]
fn stacked_layers_match_the_f64_reference() {
    check_stack(CellKind::Elman, 2);
    check_stack(CellKind::Elman, 4);
    check_stack(CellKind::Lstm, 3);
}

#[test]
fn wrong_kinds_and_depths_are_refused() {
    let w = Gated::new(3, 1);
    let bytes = w.file(CellKind::Gru);
    assert_eq!(
        ElmanWeights::from_view(&ModelView::parse(&bytes).unwrap()).unwrap_err(),
        Error::WrongCellKind {
            expected: CellKind::Elman,
            found: CellKind::Gru
        }
    );
    let (_, t) = common::valid_model();
    let mut w = t.all();
    // A second Elman layer: W_ax' (H×H), W_aa' (H×H), b_a' (H) before the output layer.
    let (i, h) = (common::I, common::H);
    let head = w.split_off(h * i + h * h + h);
    w.extend(common::weights(9, h * h + h * h + h));
    w.extend(head);
    let raw = common::Raw {
        layers: 2,
        ..common::Raw::elman(w)
    };
    let bytes = raw.encode();
    let view = ModelView::parse(&bytes).unwrap();
    assert_eq!(view.header().layers, 2);
    assert_eq!(
        ElmanWeights::from_view(&view).unwrap_err(),
        Error::SizeMismatch {
            dim: rnn_core::Dim::Layers,
            expected: 1,
            found: 2
        }
    );
    for layers in [0u8, 5] {
        let raw = common::Raw {
            layers,
            ..common::Raw::elman(t.all())
        };
        assert_eq!(
            ModelView::parse(&raw.encode()).unwrap_err(),
            Error::InvalidSize {
                dim: rnn_core::Dim::Layers,
                found: u32::from(layers)
            }
        );
    }
}
