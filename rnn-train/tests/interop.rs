//! Weights from the real PyTorch and the real Keras, imported and run by rnn-core.
//!
//! The fixtures in `tests/fixtures/` were made by `tests/fixtures/make_interop.py`, which
//! builds small models in PyTorch (`nn.RNN`, `nn.GRU`, `nn.LSTM` + `nn.Linear`) and Keras 3
//! on the JAX backend (`SimpleRNN`, `GRU`, `LSTM` + `Dense`), runs each on a name and stores
//! the weights in the layouts `import` reads, with the logits each framework computed.
//! Here each file goes through `import` (gate order, transposes, biases converted), is
//! written as a `.rnn` file and run by rnn-core's `Network` on the same inputs; every
//! logit must match within 1e-5. No Python is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use rnn_core::Cell;
use rnn_train::nn::CellType;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Imports `name`, checks its kind and depth, runs rnn-core on the expected name and
/// returns the largest difference from the framework's logits.
fn check(name: &str, cell: CellType, layers: usize) -> f32 {
    let path = fixture(name);
    let model = rnn_train::io::json::import(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(model.arch.cell, cell, "{name}");
    assert_eq!(model.arch.layers, layers, "{name}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let expected = &doc["expected"];
    let text = expected["name"].as_str().unwrap();
    let logits_want: Vec<Vec<f32>> = expected["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    assert_eq!(logits_want.len(), text.chars().count() + 1);

    let bytes = model.to_bytes().unwrap();
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    let net = rnn_core::Network::from_view(&view).unwrap();
    let vocab = view.vocab();
    let mut state = vec![0.0f32; net.state_len()];
    let mut scratch = vec![0.0f32; net.scratch_len()];
    let mut logits = vec![0.0f32; net.output_size()];
    let inputs = std::iter::once(rnn_core::Input::Start).chain(
        text.chars()
            .map(|c| rnn_core::Input::Token(vocab.index_of(c).unwrap())),
    );
    let mut worst = 0.0f32;
    let mut spread = 0.0f32;
    for (x, want) in inputs.zip(&logits_want) {
        net.step(&mut state, x, &mut scratch, &mut logits).unwrap();
        assert_eq!(want.len(), logits.len());
        for (a, b) in logits.iter().zip(want) {
            worst = worst.max((a - b).abs());
            spread = spread.max(b.abs());
        }
    }
    // Logits of a meaningful size: a wrong gate or transpose would show.
    assert!(spread > 0.5, "{name}: logits too small to test anything");
    eprintln!("{name}: largest logit {spread}, largest difference {worst:e}");
    worst
}

#[test]
fn pytorch_models_run_the_same_after_import() {
    for (name, cell, layers) in [
        ("pytorch-rnn-1l.json", CellType::Elman, 1),
        ("pytorch-gru-1l.json", CellType::Gru, 1),
        ("pytorch-gru-2l.json", CellType::Gru, 2),
        ("pytorch-lstm-2l.json", CellType::Lstm, 2),
    ] {
        let worst = check(name, cell, layers);
        assert!(worst < 1e-5, "{name}: largest logit difference {worst}");
    }
}

#[test]
fn keras_models_run_the_same_after_import() {
    for (name, cell, layers) in [
        ("keras-simple_rnn-1l.json", CellType::Elman, 1),
        ("keras-gru-2l.json", CellType::Gru, 2),
        ("keras-lstm-1l.json", CellType::Lstm, 1),
        ("keras-lstm-2l.json", CellType::Lstm, 2),
    ] {
        let worst = check(name, cell, layers);
        assert!(worst < 1e-5, "{name}: largest logit difference {worst}");
    }
}

#[test]
fn a_mixed_up_gate_order_would_be_caught() {
    // The same Keras GRU read as if its gates were already in PyTorch's order (r z n):
    // the comparison must fail, or the tests above would not be testing the conversion.
    let path = fixture("keras-gru-2l.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let h = 5;
    for layer in doc["layers"].as_array_mut().unwrap() {
        for key in ["kernel", "recurrent_kernel"] {
            for row in layer[key].as_array_mut().unwrap() {
                let r = row.as_array_mut().unwrap();
                let (z, rest) = r.split_at_mut(h);
                z.swap_with_slice(&mut rest[..h]);
            }
        }
        for b in layer["bias"].as_array_mut().unwrap() {
            let r = b.as_array_mut().unwrap();
            let (z, rest) = r.split_at_mut(h);
            z.swap_with_slice(&mut rest[..h]);
        }
    }
    let swapped = std::env::temp_dir().join(format!("interop-swapped-{}.json", std::process::id()));
    std::fs::write(&swapped, serde_json::to_vec(&doc).unwrap()).unwrap();
    let m = rnn_train::io::json::import(&swapped).unwrap();
    let bytes = m.to_bytes().unwrap();
    let view = rnn_core::ModelView::parse(&bytes).unwrap();
    let net = rnn_core::Network::from_view(&view).unwrap();
    let mut state = vec![0.0f32; net.state_len()];
    let mut scratch = vec![0.0f32; net.scratch_len()];
    let mut logits = vec![0.0f32; net.output_size()];
    let want = &doc["expected"]["logits"];
    let mut worst = 0.0f32;
    let text = doc["expected"]["name"].as_str().unwrap().to_string();
    let xs = std::iter::once(rnn_core::Input::Start).chain(
        text.chars()
            .map(|c| rnn_core::Input::Token(view.vocab().index_of(c).unwrap())),
    );
    for (t, x) in xs.enumerate() {
        net.step(&mut state, x, &mut scratch, &mut logits).unwrap();
        for (k, a) in logits.iter().enumerate() {
            worst = worst.max((a - want[t][k].as_f64().unwrap() as f32).abs());
        }
    }
    assert!(worst > 1e-2, "swapped gates went unnoticed ({worst})");
}

#[test]
fn keras_gru_with_reset_before_is_refused_with_the_reason() {
    let err = rnn_train::io::json::import(&fixture("keras-gru-reset-before.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("reset_after=False"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn the_cli_imports_a_pytorch_file_and_samples_from_it() {
    let dir = std::env::temp_dir().join(format!("interop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("lstm.rnn");
    let bin = env!("CARGO_BIN_EXE_rnn-train");
    let o = Command::new(bin)
        .args(["import"])
        .arg(fixture("pytorch-lstm-2l.json"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(bin)
        .args(["inspect", "--model"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("cell: lstm") && text.contains("layers: 2"),
        "{text}"
    );
    let o = Command::new(bin)
        .args(["sample", "--count", "3", "--seed", "1", "--model"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 3);
}

#[test]
fn unsupported_pytorch_layouts_are_one_line_errors() {
    let path = fixture("pytorch-gru-1l.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let tmp = std::env::temp_dir().join(format!("interop-bad-{}.json", std::process::id()));
    let try_import = |doc: &serde_json::Value| {
        std::fs::write(&tmp, serde_json::to_vec(doc).unwrap()).unwrap();
        rnn_train::io::json::import(&tmp).unwrap_err().to_string()
    };
    let mut bi = doc.clone();
    bi["state_dict"]["rnn.weight_ih_l0_reverse"] = doc["state_dict"]["rnn.weight_ih_l0"].clone();
    assert!(try_import(&bi).contains("bidirectional"));
    let mut lstm = doc.clone();
    lstm["cell"] = "lstm".into();
    let e = try_import(&lstm);
    assert!(e.contains("weight_hh_l0") && e.contains("4·H×H"), "{e}");
    let mut missing = doc.clone();
    missing["state_dict"]
        .as_object_mut()
        .unwrap()
        .remove("rnn.bias_hh_l0");
    assert!(try_import(&missing).contains("bias_hh_l0"));
    let mut two = doc.clone();
    two["state_dict"]["other.weight"] = doc["state_dict"]["fc.weight"].clone();
    assert!(try_import(&two).contains("two modules"));
}
