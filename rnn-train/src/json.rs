//! The JSON weight format used by `export` and `import`, for moving weights to and from
//! Keras and PyTorch.
//!
//! ```json
//! {
//!   "format": "rnn-elman-json", "version": 1, "cell": "elman",
//!   "input_size": I, "hidden_size": H, "output_size": O,
//!   "vocab": "\nabc…",
//!   "w_ax": [[…I…], …H rows],   "w_aa": [[…H…], …H rows],   "b_a": [H],
//!   "w_ya": [[…H…], …O rows],   "b_y": [O]
//! }
//! ```
//!
//! Matrices are nested arrays of rows (row-major), shaped as in the notation
//! `a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a)`, `y_t = softmax(W_ya a_t + b_y)`; character
//! `k` of `vocab` is input column `k` of `w_ax` and output row `k` of `w_ya`. The sizes are
//! checked against the arrays. Numbers are written so that importing an exported file
//! gives back every weight bit for bit (f32 values printed as the shortest f64 decimal).
//! Unknown keys are ignored, so a file may carry notes. Mapping to other tools:
//! Keras `SimpleRNN` kernel (I×H) = `w_axᵀ`, recurrent_kernel (H×H) = `w_aaᵀ`, bias = `b_a`,
//! `Dense` kernel (H×O) = `w_yaᵀ`, bias = `b_y`; PyTorch `nn.RNN` weight_ih_l0 = `w_ax`,
//! weight_hh_l0 = `w_aa`, bias_ih_l0 + bias_hh_l0 = `b_a`, `nn.Linear` weight = `w_ya`,
//! bias = `b_y`.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::model::{Dims, Model, TENSOR_NAMES};

pub const FORMAT: &str = "rnn-elman-json";

/// The JSON document for a model.
pub fn to_json(model: &Model) -> Value {
    let d = model.dims;
    let mut doc = Map::new();
    doc.insert("format".into(), json!(FORMAT));
    doc.insert("version".into(), json!(1));
    doc.insert("cell".into(), json!("elman"));
    doc.insert("input_size".into(), json!(d.input));
    doc.insert("hidden_size".into(), json!(d.hidden));
    doc.insert("output_size".into(), json!(d.output));
    doc.insert("vocab".into(), json!(model.vocab.as_string()));
    for ((name, range), (rows, cols)) in TENSOR_NAMES.iter().zip(d.ranges()).zip(d.shapes()) {
        let t = &model.params[range];
        let number = |x: &f32| json!(f64::from(*x));
        let v = if cols == 1 {
            Value::Array(t.iter().map(number).collect())
        } else {
            Value::Array(
                t.chunks(cols)
                    .map(|row| Value::Array(row.iter().map(number).collect()))
                    .collect(),
            )
        };
        debug_assert_eq!(t.len(), rows * cols);
        doc.insert((*name).into(), v);
    }
    Value::Object(doc)
}

/// Writes the model as pretty-printed JSON, atomically.
pub fn export(model: &Model, path: &Path) -> Result<()> {
    let mut text = serde_json::to_string_pretty(&to_json(model))
        .map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    crate::atomic::write(path, text.as_bytes())
}

/// Reads a JSON weight file and checks every shape against the sizes and the vocabulary.
pub fn import(path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    from_json(&doc, path)
}

fn shape_text(rows: usize, cols: Option<usize>) -> String {
    match cols {
        Some(c) => format!("{rows}×{c}"),
        None => format!("[{rows}]"),
    }
}

/// A model from a parsed JSON document (`path` is only for messages).
pub fn from_json(doc: &Value, path: &Path) -> Result<Model> {
    let bad = |reason: String| Error::Json {
        path: path.into(),
        reason,
    };
    let obj = doc
        .as_object()
        .ok_or_else(|| bad("expected a JSON object at the top level".into()))?;
    if let Some(cell) = obj.get("cell") {
        if cell != "elman" {
            return Err(bad(format!(
                "cell {cell} is not supported (only \"elman\")"
            )));
        }
    }
    let vocab_text = obj.get("vocab").and_then(Value::as_str).ok_or_else(|| {
        bad("missing key `vocab` (a string of the symbols in index order)".into())
    })?;
    let vocab = Vocab::from_symbols(vocab_text).map_err(|r| bad(format!("key `vocab`: {r}")))?;
    let size = |key: &str| -> Result<usize> {
        let v = obj
            .get(key)
            .ok_or_else(|| bad(format!("missing key `{key}`")))?;
        v.as_u64()
            .filter(|&n| n > 0 && n <= 65536)
            .map(|n| n as usize)
            .ok_or_else(|| {
                bad(format!(
                    "key `{key}` must be a whole number in 1..=65536, found {v}"
                ))
            })
    };
    let dims = Dims {
        input: size("input_size")?,
        hidden: size("hidden_size")?,
        output: size("output_size")?,
    };
    if vocab.len() != dims.input || vocab.len() != dims.output {
        return Err(bad(format!(
            "the vocabulary has {} symbols but input_size is {} and output_size is {}; \
             a character model needs all three equal",
            vocab.len(),
            dims.input,
            dims.output
        )));
    }
    let mut params = Vec::with_capacity(dims.param_count());
    for (name, (rows, cols)) in TENSOR_NAMES.iter().zip(dims.shapes()) {
        let is_matrix = name.starts_with("w_");
        let expected = shape_text(rows, is_matrix.then_some(cols));
        let shape_err = |found: String| Error::Shape {
            path: path.into(),
            key: (*name).into(),
            expected: expected.clone(),
            found,
        };
        let v = obj
            .get(*name)
            .ok_or_else(|| bad(format!("missing key `{name}` (shape {expected})")))?;
        let arr = v
            .as_array()
            .ok_or_else(|| shape_err("not an array".into()))?;
        let number = |x: &Value, at: String| -> Result<f32> {
            let f = x
                .as_f64()
                .ok_or_else(|| bad(format!("`{name}{at}` is {x}, not a number")))?;
            let f = f as f32;
            if !f.is_finite() {
                return Err(bad(format!("`{name}{at}` does not fit in an f32")));
            }
            Ok(f)
        };
        if is_matrix {
            let row_lens: Vec<Option<usize>> =
                arr.iter().map(|r| r.as_array().map(Vec::len)).collect();
            let found_cols = row_lens.first().copied().flatten();
            let ragged = row_lens.iter().any(|l| *l != found_cols);
            if arr.len() != rows || ragged || found_cols != Some(cols) {
                let found = if ragged {
                    format!("{} rows of unequal lengths", arr.len())
                } else {
                    shape_text(arr.len(), Some(found_cols.unwrap_or(0)))
                };
                return Err(shape_err(found));
            }
            for (r, row) in arr.iter().enumerate() {
                for (c, x) in row.as_array().into_iter().flatten().enumerate() {
                    params.push(number(x, format!("[{r}][{c}]"))?);
                }
            }
        } else {
            if arr.len() != rows || arr.iter().any(Value::is_array) {
                let found = if arr.iter().any(Value::is_array) {
                    format!("{} rows (a matrix)", arr.len())
                } else {
                    shape_text(arr.len(), None)
                };
                return Err(shape_err(found));
            }
            for (r, x) in arr.iter().enumerate() {
                params.push(number(x, format!("[{r}]"))?);
            }
        }
    }
    Ok(Model {
        dims,
        vocab,
        params,
    })
}
