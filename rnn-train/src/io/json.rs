//! The JSON weight formats of `export` and `import`: our own schema, which `export` writes
//! and `import` reads back bit for bit, and the layouts of PyTorch and Keras, which
//! `import` converts (gate order, transposes, biases). The `"format"` key says which one a
//! file is. Matrices are always nested arrays of rows; unknown top-level keys are ignored,
//! so a file may carry notes. Every shape is checked and a mismatch names the key, e.g.
//! `key `w_hh_l0` has shape 11×4, expected 12×4`.
//!
//! Notation: `I` input size (= vocabulary size), `H` hidden size, `O` output size (=
//! vocabulary size), `L` layers (1 to 4), `G` gate blocks (1 Elman, 3 GRU, 4 LSTM), `I_k`
//! the inputs of layer `k` (`I` for layer 0, `H` above). Character `c` of `vocab` is input
//! column `c` of layer 0's input weights and output row `c` of `w_ya`.
//!
//! # Our schema (`"format": "rnn-json"`, version 3)
//!
//! ```json
//! {
//!   "format": "rnn-json", "version": 3,
//!   "task": "next" | "classify", "cell": "elman" | "gru" | "lstm", "layers": L,
//!   "bidirectional": false | true,
//!   "input_size": I, "hidden_size": H, "output_size": O,
//!   "vocab": "\nabc…",                      (one-hot inputs; absent for dense vectors)
//!   "mean": [I], "scale": [I],              (dense inputs normalised per channel only)
//!   "classes": ["name", …],                 (classifiers: O names in index order)
//!   per layer k = 0 .. L-1, Elman:     "w_ax_l{k}": H×I_k, "w_aa_l{k}": H×H, "b_a_l{k}": [H],
//!   per layer k = 0 .. L-1, GRU/LSTM:  "w_ih_l{k}": G·H×I_k, "w_hh_l{k}": G·H×H,
//!                                      "b_ih_l{k}": [G·H], "b_hh_l{k}": [G·H],
//!   then the same for the backward stack (bidirectional), keys ending in `_reverse`,
//!   "w_ya": O×D·H, "b_y": [O]
//! }
//! ```
//!
//! (`D` is 2 for a bidirectional classifier, else 1; `I_k` is `D·H` above layer 0.) The
//! keys are [`crate::nn::Arch::tensors`]' names, in the `.rnn` file's order, so export →
//! import keeps every bit of any model. Version 2 files (next-symbol models, written
//! before classifiers could be exported) have no `task`, `bidirectional` or `classes`
//! and are read as next-symbol models.
//!
//! The tensors are those of the `.rnn` file, in its layout: the Elman layer is
//! `a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a)`; GRU and LSTM use PyTorch's gate order,
//! r z n and i f g o, each gate a block of `H` consecutive rows (equations in
//! [`crate::nn::gru`] and [`crate::nn::lstm`]); `y_t = softmax(W_ya h^{L-1}_t + b_y)`. Numbers are
//! written as the shortest decimal of the f32 widened to f64, which reads back to the same
//! bits. The Elman-only trainer's files (`"format": "rnn-elman-json"`, version 1, or no
//! `format` key: one Elman layer, keys `w_ax`, `w_aa`, `b_a`, `w_ya`, `b_y` without the
//! `_l0`) are still read.
//!
//! # PyTorch (`"format": "pytorch"`)
//!
//! ```json
//! {
//!   "format": "pytorch", "cell": "rnn" | "gru" | "lstm", "vocab": "\nabc…",
//!   "state_dict": { "rnn.weight_ih_l0": [[…]], …, "fc.weight": [[…]], "fc.bias": […] }
//! }
//! ```
//!
//! `state_dict` is `model.state_dict()` of an `nn.RNN` (tanh), `nn.GRU` or `nn.LSTM` with
//! `num_layers = L` (unidirectional, no `proj_size`, with biases) followed by an
//! `nn.Linear(H, O)`, each tensor as nested lists (`t.tolist()`). A key is recognised by the
//! part after its last `.` (so any module names work): `weight_ih_l{k}` (G·H×I_k),
//! `weight_hh_l{k}` (G·H×H), `bias_ih_l{k}` (G·H), `bias_hh_l{k}` (G·H), and the Linear
//! layer's `weight` (O×H) and `bias` (O). Any other key is an error (it would be a layer we
//! do not run). Sizes and depth come from the shapes. The mapping:
//!
//! | ours | PyTorch |
//! |---|---|
//! | GRU/LSTM `w_ih_l{k}`, `w_hh_l{k}`, `b_ih_l{k}`, `b_hh_l{k}` | `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, unchanged (same gate order r z n / i f g o, same row layout) |
//! | Elman `w_ax_l{k}`, `w_aa_l{k}` | `weight_ih_l{k}`, `weight_hh_l{k}`, unchanged |
//! | Elman `b_a_l{k}` | `bias_ih_l{k} + bias_hh_l{k}` (added in f32) |
//! | `w_ya`, `b_y` | Linear `weight`, `bias`, unchanged |
//!
//! # Keras (`"format": "keras"`)
//!
//! ```json
//! {
//!   "format": "keras", "cell": "simple_rnn" | "gru" | "lstm", "vocab": "\nabc…",
//!   "layers": [ { "kernel": I_k×G·H, "recurrent_kernel": H×G·H, "bias": … }, … L of them ],
//!   "dense": { "kernel": H×O, "bias": [O] }
//! }
//! ```
//!
//! Each entry of `layers` is `layer.get_weights()` of a `SimpleRNN`, `GRU` or `LSTM` layer
//! (default activations tanh and sigmoid, `use_bias=True`) as nested lists, bottom layer
//! first; `dense` is that of the final `Dense` layer. Keras multiplies row vectors
//! (`x · kernel`), so every matrix is transposed, and its gate blocks (columns) are in the
//! order **z r h** for GRU and **i f c o** for LSTM. With `P` the block order, GRU
//! `P = (1, 0, 2)` (our r is Keras's block 1, our z its block 0, our n its block 2) and
//! LSTM and SimpleRNN `P = (0, 1, 2, 3)`, for gate block `b`, unit `j`, input `i`,
//! recurrent input `m`:
//!
//! | ours | Keras |
//! |---|---|
//! | `W_x[b·H + j][i]` (`w_ih_l{k}` / `w_ax_l{k}`) | `kernel[i][P_b·H + j]` |
//! | `W_h[b·H + j][m]` (`w_hh_l{k}` / `w_aa_l{k}`) | `recurrent_kernel[m][P_b·H + j]` |
//! | GRU `b_ih[b·H + j]`, `b_hh[b·H + j]` | `bias[0][P_b·H + j]`, `bias[1][P_b·H + j]` (bias of shape 2×3H: `reset_after=True`, the Keras 3 default, whose equations are PyTorch's) |
//! | LSTM `b_ih[b·H + j]`, `b_hh[b·H + j]` | `bias[P_b·H + j]`, 0 |
//! | Elman `b_a[j]` | `bias[j]` |
//! | `w_ya[o][j]`, `b_y[o]` | Dense `kernel[j][o]`, `bias[o]` |
//!
//! A Keras GRU with `reset_after=False` (bias of shape 3H) computes `W_hn (r ⊙ h)` instead
//! of `r ⊙ (W_hn h + b_hn)`, which no `.rnn` cell runs: it is refused with that reason.
//! Activations are not in the weights and are not checked: a layer with other activations
//! than the defaults would import but compute something else.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::data::Vocab;
use crate::error::{Error, Result};
use crate::nn::{
    Arch, CellType, InputSpec, Model, Norm, TargetStats, Task, TensorInfo, MAX_LAYERS,
};

/// `"format"` of our own schema.
pub const FORMAT: &str = "rnn-json";
/// Its version.
pub const VERSION: u64 = 3;
/// `"format"` of the Elman-only trainer's files (version 1), still read.
pub const FORMAT_V1: &str = "rnn-elman-json";

/// The JSON document for a model, in our schema.
pub fn to_json(model: &Model) -> Value {
    let a = model.arch;
    let mut doc = Map::new();
    doc.insert("format".into(), json!(FORMAT));
    doc.insert("version".into(), json!(VERSION));
    doc.insert("task".into(), json!(a.task.name()));
    doc.insert("cell".into(), json!(a.cell.name()));
    doc.insert("layers".into(), json!(a.layers));
    doc.insert("bidirectional".into(), json!(a.directions == 2));
    doc.insert("input_size".into(), json!(a.input));
    doc.insert("hidden_size".into(), json!(a.hidden));
    doc.insert("output_size".into(), json!(a.output));
    if a.sequence_norm {
        doc.insert("sequence_norm".into(), json!(true));
    }
    if !a.conv.is_empty() {
        let layers: Vec<Value> = a
            .conv
            .layers()
            .iter()
            .map(|s| json!([s.kernel, s.channels, s.stride]))
            .collect();
        doc.insert("conv".into(), Value::Array(layers));
    }
    let number = |x: &f32| json!(f64::from(*x));
    match &model.input {
        InputSpec::Chars(v) => {
            doc.insert("vocab".into(), json!(v.as_string()));
        }
        InputSpec::Dense { norm: Some(n), .. } => {
            doc.insert("mean".into(), n.mean.iter().map(number).collect());
            doc.insert("scale".into(), n.scale.iter().map(number).collect());
        }
        InputSpec::Dense { norm: None, .. } => {}
    }
    match a.task {
        Task::Classify | Task::Tag => {
            doc.insert("classes".into(), json!(model.classes));
        }
        Task::Regress => {
            doc.insert("targets".into(), json!(model.classes));
        }
        Task::Next => {}
    }
    if let Some(t) = &model.targets {
        doc.insert("target_mean".into(), t.mean.iter().map(number).collect());
        doc.insert("target_std".into(), t.std.iter().map(number).collect());
    }
    for t in a.tensors() {
        let values = &model.params[t.range.clone()];
        let v = match t.cols {
            None => Value::Array(values.iter().map(number).collect()),
            Some(cols) => Value::Array(
                values
                    .chunks(cols)
                    .map(|row| Value::Array(row.iter().map(number).collect()))
                    .collect(),
            ),
        };
        doc.insert(t.name, v);
    }
    Value::Object(doc)
}

/// Writes the model as pretty-printed JSON in our schema, atomically.
pub fn export(model: &Model, path: &Path) -> Result<()> {
    let mut text = serde_json::to_string_pretty(&to_json(model))
        .map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    super::atomic::write(path, text.as_bytes())
}

/// Reads a JSON weight file in any of the three layouts and checks every shape.
pub fn import(path: &Path) -> Result<Model> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    from_json(&doc, path)
}

/// A model from a parsed JSON document (`path` is only for messages).
pub fn from_json(doc: &Value, path: &Path) -> Result<Model> {
    let r = Reader { path };
    let obj = doc
        .as_object()
        .ok_or_else(|| r.bad("expected a JSON object at the top level".into()))?;
    match obj.get("format") {
        None => ours(&r, obj, 1),
        Some(f) => match f.as_str() {
            Some(FORMAT) => match obj.get("version").and_then(Value::as_u64) {
                Some(2) => ours(&r, obj, 2),
                _ => ours(&r, obj, VERSION),
            },
            Some(FORMAT_V1) => ours(&r, obj, 1),
            Some("pytorch") => pytorch(&r, obj),
            Some("keras") => keras(&r, obj),
            _ => Err(r.bad(format!(
                "key `format` is {f}; expected \"{FORMAT}\", \"{FORMAT_V1}\", \"pytorch\" or \"keras\""
            ))),
        },
    }
}

/// A JSON value's shape, as far as weights go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Vector(usize),
    Matrix(usize, usize),
}

fn shape_text(s: Shape) -> String {
    match s {
        Shape::Vector(n) => format!("[{n}]"),
        Shape::Matrix(r, c) => format!("{r}×{c}"),
    }
}

/// Error helpers and array readers that name the file and key.
struct Reader<'p> {
    path: &'p Path,
}

impl Reader<'_> {
    fn bad(&self, reason: String) -> Error {
        Error::Json {
            path: self.path.into(),
            reason,
        }
    }

    fn shape_err(&self, key: &str, expected: String, found: String) -> Error {
        Error::Shape {
            path: self.path.into(),
            key: key.into(),
            expected,
            found,
        }
    }

    /// The shape of `v`, or a shape error for what is neither a vector nor a matrix.
    fn shape(&self, key: &str, v: &Value, expected: &str) -> Result<Shape> {
        let arr = v
            .as_array()
            .ok_or_else(|| self.shape_err(key, expected.into(), "not an array".into()))?;
        if !arr.iter().any(Value::is_array) {
            return Ok(Shape::Vector(arr.len()));
        }
        let lens: Vec<Option<usize>> = arr.iter().map(|r| r.as_array().map(Vec::len)).collect();
        let first = lens.first().copied().flatten();
        if lens.iter().any(|l| *l != first) {
            return Err(self.shape_err(
                key,
                expected.into(),
                format!("{} rows of unequal lengths", arr.len()),
            ));
        }
        Ok(Shape::Matrix(arr.len(), first.unwrap_or(0)))
    }

    fn get<'v>(&self, obj: &'v Map<String, Value>, key: &str, what: &str) -> Result<&'v Value> {
        obj.get(key)
            .ok_or_else(|| self.bad(format!("missing key `{key}` ({what})")))
    }

    fn number(&self, key: &str, x: &Value, at: String) -> Result<f32> {
        let f = x
            .as_f64()
            .ok_or_else(|| self.bad(format!("`{key}{at}` is {x}, not a number")))?
            as f32;
        if !f.is_finite() {
            return Err(self.bad(format!("`{key}{at}` does not fit in an f32")));
        }
        Ok(f)
    }

    /// The values of `v`, which must have shape `want`, row-major.
    fn values(&self, key: &str, v: &Value, want: Shape) -> Result<Vec<f32>> {
        let expected = shape_text(want);
        let found = self.shape(key, v, &expected)?;
        if found != want {
            return Err(self.shape_err(key, expected, shape_text(found)));
        }
        let mut out = Vec::new();
        for (r, x) in v.as_array().into_iter().flatten().enumerate() {
            match x.as_array() {
                Some(row) => {
                    for (c, x) in row.iter().enumerate() {
                        out.push(self.number(key, x, format!("[{r}][{c}]"))?);
                    }
                }
                None => out.push(self.number(key, x, format!("[{r}]"))?),
            }
        }
        Ok(out)
    }

    /// A front-end written as `[[kernel, channels, stride], …]`.
    fn conv(&self, v: &Value) -> Result<rnn_core::ConvStack> {
        let bad = || {
            self.bad(format!(
                "key `conv` is {v}; expected [[kernel, channels, stride], …] with kernel and \
                 stride 1 to 255 and channels 1 to 4096, at most 4 layers"
            ))
        };
        let layers = v.as_array().ok_or_else(bad)?;
        let mut specs = Vec::new();
        for l in layers {
            let n: Vec<u64> = l
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|x| x.as_u64().ok_or_else(bad))
                .collect::<Result<_>>()?;
            let [k, c, s] = n.as_slice() else {
                return Err(bad());
            };
            specs.push(rnn_core::ConvSpec {
                kernel: u8::try_from(*k).map_err(|_| bad())?,
                channels: u16::try_from(*c).map_err(|_| bad())?,
                stride: u8::try_from(*s).map_err(|_| bad())?,
            });
        }
        rnn_core::ConvStack::new(&specs).map_err(|_| bad())
    }

    fn vocab(&self, obj: &Map<String, Value>) -> Result<Vocab> {
        let text = obj.get("vocab").and_then(Value::as_str).ok_or_else(|| {
            self.bad("missing key `vocab` (a string of the symbols in index order)".into())
        })?;
        Vocab::from_symbols(text).map_err(|r| self.bad(format!("key `vocab`: {r}")))
    }

    /// The format's limits, and a size this trainer can hold (so that a file claiming
    /// enormous sizes is an error, not an allocation failure).
    fn check_arch(&self, arch: &Arch) -> Result<()> {
        arch.check().map_err(|r| self.bad(r))?;
        if arch.param_count() > crate::cli::train::MAX_PARAMS {
            return Err(self.bad(format!(
                "{} has {} parameters, more than this trainer's {}",
                arch.describe(),
                arch.param_count(),
                crate::cli::train::MAX_PARAMS
            )));
        }
        Ok(())
    }

    /// Checks a next-symbol architecture against the file format's limits and the
    /// vocabulary.
    fn finish(&self, arch: Arch, vocab: Vocab, params: Vec<f32>) -> Result<Model> {
        self.finish_model(arch, InputSpec::Chars(vocab), Vec::new(), None, params)
    }

    /// Checks any model: the format's limits, the input against `I` (a next-symbol model
    /// needs `I = O` = the vocabulary's size), the classes against `O`.
    fn finish_model(
        &self,
        arch: Arch,
        input: InputSpec,
        classes: Vec<String>,
        targets: Option<TargetStats>,
        params: Vec<f32>,
    ) -> Result<Model> {
        arch.check().map_err(|r| self.bad(r))?;
        if targets.is_some() != (arch.task == Task::Regress) {
            return Err(Error::Internal(
                "target statistics belong to regression".into(),
            ));
        }
        if let InputSpec::Chars(vocab) = &input {
            if arch.task == Task::Next && (vocab.len() != arch.input || vocab.len() != arch.output)
            {
                return Err(self.bad(format!(
                    "the vocabulary has {} symbols but the input size is {} and the output size {}; \
                     a character model needs all three equal",
                    vocab.len(),
                    arch.input,
                    arch.output
                )));
            }
        }
        if input.size() != arch.input {
            return Err(self.bad(format!(
                "the input has {} {} but input_size is {}",
                input.size(),
                if input.vocab().is_some() {
                    "symbols"
                } else {
                    "channels"
                },
                arch.input
            )));
        }
        if arch.task.names_outputs() && classes.len() != arch.output {
            return Err(self.bad(format!(
                "key `classes` (or `targets`) has {} names but output_size is {}",
                classes.len(),
                arch.output
            )));
        }
        if params.len() != arch.param_count() {
            return Err(Error::Internal(format!(
                "{} weights for {}",
                params.len(),
                arch.describe()
            )));
        }
        Ok(Model {
            arch,
            input,
            classes,
            targets,
            params,
        })
    }
}

/// The values of key `cell` in each schema.
const OUR_CELLS: [(&str, CellType); 3] = [
    ("elman", CellType::Elman),
    ("gru", CellType::Gru),
    ("lstm", CellType::Lstm),
];
const TORCH_CELLS: [(&str, CellType); 4] = [
    ("rnn", CellType::Elman),
    ("elman", CellType::Elman),
    ("gru", CellType::Gru),
    ("lstm", CellType::Lstm),
];
const KERAS_CELLS: [(&str, CellType); 3] = [
    ("simple_rnn", CellType::Elman),
    ("gru", CellType::Gru),
    ("lstm", CellType::Lstm),
];

fn cell_of(
    r: &Reader<'_>,
    obj: &Map<String, Value>,
    names: &[(&str, CellType)],
) -> Result<CellType> {
    let v = r.get(obj, "cell", "the kind of recurrent layer")?;
    let listed: Vec<String> = names.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    v.as_str()
        .and_then(|s| names.iter().find(|(n, _)| *n == s))
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            r.bad(format!(
                "key `cell` is {v}; expected one of {}",
                listed.join(", ")
            ))
        })
}

/// Our schema, version 3 (2: next-symbol models only; 1: the Elman-only trainer's, one
/// layer, unsuffixed keys).
fn ours(r: &Reader<'_>, obj: &Map<String, Value>, version: u64) -> Result<Model> {
    if let Some(v) = obj.get("version") {
        if v.as_u64() != Some(version) {
            return Err(r.bad(format!(
                "key `version` is {v}; this format is read at version {version}"
            )));
        }
    }
    let cell = match (obj.get("cell"), version) {
        (None, 1) => CellType::Elman,
        _ => cell_of(r, obj, &OUR_CELLS)?,
    };
    if version == 1 && cell != CellType::Elman {
        return Err(r.bad(format!(
            "cell \"{}\" in a version 1 file: only \"elman\" (version {VERSION}, format \"{FORMAT}\", has all kinds)",
            cell.name()
        )));
    }
    let size = |key: &str| -> Result<usize> {
        let v = r.get(obj, key, "a whole number")?;
        v.as_u64()
            .filter(|&n| n > 0 && n <= 65536)
            .map(|n| n as usize)
            .ok_or_else(|| {
                r.bad(format!(
                    "key `{key}` must be a whole number in 1..=65536, found {v}"
                ))
            })
    };
    let layers = if version == 1 {
        1
    } else {
        let v = r.get(obj, "layers", "the number of stacked recurrent layers")?;
        v.as_u64()
            .filter(|&n| n >= 1 && n <= MAX_LAYERS as u64)
            .map(|n| n as usize)
            .ok_or_else(|| {
                r.bad(format!(
                    "key `layers` must be a whole number in 1..={MAX_LAYERS}, found {v}"
                ))
            })?
    };
    let task = match obj.get("task") {
        None if version < 3 => Task::Next,
        v => match v.and_then(Value::as_str) {
            Some("next") => Task::Next,
            Some("classify") => Task::Classify,
            Some("tag") => Task::Tag,
            Some("regress") => Task::Regress,
            _ => {
                return Err(r.bad(format!(
                    "key `task` is {}; expected \"next\", \"classify\", \"tag\" or \"regress\"",
                    v.unwrap_or(&Value::Null)
                )))
            }
        },
    };
    let directions = match obj.get("bidirectional") {
        None => 1,
        Some(Value::Bool(b)) => 1 + usize::from(*b),
        Some(v) => return Err(r.bad(format!("key `bidirectional` is {v}, not true or false"))),
    };
    let input = size("input_size")?;
    let spec = if obj.contains_key("vocab") || task == Task::Next {
        InputSpec::Chars(r.vocab(obj)?)
    } else {
        let norm = match (obj.get("mean"), obj.get("scale")) {
            (None, None) => None,
            (Some(m), Some(s)) => Some(Norm {
                mean: r.values("mean", m, Shape::Vector(input))?,
                scale: r.values("scale", s, Shape::Vector(input))?,
            }),
            _ => return Err(r.bad("keys `mean` and `scale` go together".into())),
        };
        InputSpec::Dense {
            channels: input,
            norm,
        }
    };
    let (names_key, what) = match task {
        Task::Regress => ("targets", "the target names"),
        _ => ("classes", "the class names"),
    };
    let classes = match (task, obj.get(names_key)) {
        (Task::Next, _) => Vec::new(),
        (_, Some(Value::Array(names))) => names
            .iter()
            .map(|n| n.as_str().map(String::from))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| r.bad(format!("key `{names_key}` must be an array of strings")))?,
        (_, _) => {
            return Err(r.bad(format!(
                "missing key `{names_key}` ({what} in index order, an array of strings)"
            )))
        }
    };
    let targets = if task == Task::Regress {
        let o = size("output_size")?;
        let get = |key: &str| -> Result<Vec<f32>> {
            let v = r.get(obj, key, "one value per target")?;
            r.values(key, v, Shape::Vector(o))
        };
        Some(TargetStats {
            mean: get("target_mean")?,
            std: get("target_std")?,
        })
    } else {
        None
    };
    let conv = match obj.get("conv") {
        None => rnn_core::ConvStack::NONE,
        Some(v) => r.conv(v)?,
    };
    let arch = Arch {
        task,
        cell,
        layers,
        directions,
        input_kind: spec.kind(),
        input,
        hidden: size("hidden_size")?,
        output: size("output_size")?,
        conv,
        sequence_norm: match obj.get("sequence_norm") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(r.bad(format!("key `sequence_norm` is {v}, not true or false"))),
        },
    };
    r.check_arch(&arch)?;
    let mut params = Vec::with_capacity(arch.param_count());
    for TensorInfo {
        name, rows, cols, ..
    } in arch.tensors()
    {
        let key = if version == 1 {
            name.trim_end_matches("_l0").to_string()
        } else {
            name
        };
        let want = match cols {
            Some(c) => Shape::Matrix(rows, c),
            None => Shape::Vector(rows),
        };
        let v = r.get(obj, &key, &format!("shape {}", shape_text(want)))?;
        params.extend(r.values(&key, v, want)?);
    }
    r.finish_model(arch, spec, classes, targets, params)
}

/// What a PyTorch state_dict key is, by the part after its last `.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TorchKey {
    WeightIh(usize),
    WeightHh(usize),
    BiasIh(usize),
    BiasHh(usize),
    LinearWeight,
    LinearBias,
}

fn torch_key(name: &str) -> Option<TorchKey> {
    let base = name.rsplit('.').next().unwrap_or(name);
    let layer = |prefix: &str| -> Option<usize> {
        let k = base.strip_prefix(prefix)?;
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) || k.len() > 3 {
            return None;
        }
        k.parse().ok()
    };
    Some(match base {
        "weight" => TorchKey::LinearWeight,
        "bias" => TorchKey::LinearBias,
        _ => {
            if let Some(k) = layer("weight_ih_l") {
                TorchKey::WeightIh(k)
            } else if let Some(k) = layer("weight_hh_l") {
                TorchKey::WeightHh(k)
            } else if let Some(k) = layer("bias_ih_l") {
                TorchKey::BiasIh(k)
            } else if let Some(k) = layer("bias_hh_l") {
                TorchKey::BiasHh(k)
            } else {
                return None;
            }
        }
    })
}

/// PyTorch's `state_dict` of `nn.RNN` / `nn.GRU` / `nn.LSTM` + `nn.Linear`.
fn pytorch(r: &Reader<'_>, obj: &Map<String, Value>) -> Result<Model> {
    let cell = cell_of(r, obj, &TORCH_CELLS)?;
    let vocab = r.vocab(obj)?;
    let sd = r
        .get(obj, "state_dict", "the model's state_dict")?
        .as_object()
        .ok_or_else(|| r.bad("key `state_dict` must be an object of tensors".into()))?;
    let mut found: Vec<(TorchKey, &str, &Value)> = Vec::new();
    for (name, v) in sd {
        let Some(k) = torch_key(name) else {
            let why = if name.contains("_reverse") {
                "bidirectional layers are not supported"
            } else if name.contains("weight_hr") {
                "LSTM projections (proj_size) are not supported"
            } else {
                "expected weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} and the Linear layer's weight and bias"
            };
            return Err(r.bad(format!("state_dict key `{name}`: {why}")));
        };
        if let Some((_, other, _)) = found.iter().find(|(f, _, _)| *f == k) {
            return Err(r.bad(format!(
                "state_dict keys `{other}` and `{name}` are the same tensor of two modules; \
                 expected one recurrent module and one nn.Linear"
            )));
        }
        found.push((k, name.as_str(), v));
    }
    let take = |k: TorchKey, what: &str| -> Result<(&str, &Value)> {
        found
            .iter()
            .find(|(f, _, _)| *f == k)
            .map(|(_, n, v)| (*n, *v))
            .ok_or_else(|| r.bad(format!("state_dict has no {what}")))
    };
    let layers = found
        .iter()
        .filter(|(k, _, _)| matches!(k, TorchKey::WeightIh(_)))
        .count();
    if layers == 0 || layers > MAX_LAYERS {
        return Err(r.bad(format!(
            "state_dict has {layers} weight_ih_l{{k}} tensors; expected 1 to {MAX_LAYERS} layers"
        )));
    }
    let g = cell.gates();
    let (hh_name, hh) = take(TorchKey::WeightHh(0), "weight_hh_l0")?;
    let hidden = match r.shape(hh_name, hh, "G·H×H")? {
        Shape::Matrix(rows, h) if rows == g * h && h > 0 => h,
        s => {
            return Err(r.shape_err(
                hh_name,
                format!("{g}·H×H for a {} layer", cell.name()),
                shape_text(s),
            ))
        }
    };
    let (ih_name, ih) = take(TorchKey::WeightIh(0), "weight_ih_l0")?;
    let input = match r.shape(ih_name, ih, "G·H×I")? {
        Shape::Matrix(rows, i) if rows == g * hidden => i,
        s => return Err(r.shape_err(ih_name, format!("{}×I", g * hidden), shape_text(s))),
    };
    let (w_name, w) = take(TorchKey::LinearWeight, "Linear weight")?;
    let output = match r.shape(w_name, w, "O×H")? {
        Shape::Matrix(o, c) if c == hidden => o,
        s => return Err(r.shape_err(w_name, format!("O×{hidden}"), shape_text(s))),
    };
    let arch = Arch {
        output,
        ..Arch::next(cell, layers, input, hidden)
    };
    r.check_arch(&arch)?;
    let gh = g * hidden;
    let mut params = Vec::with_capacity(arch.param_count());
    for l in 0..layers {
        let idx = |name: &str| format!("{name}_l{l}");
        let (n, v) = take(TorchKey::WeightIh(l), &idx("weight_ih"))?;
        params.extend(r.values(n, v, Shape::Matrix(gh, arch.layer_input(l)))?);
        let (n, v) = take(TorchKey::WeightHh(l), &idx("weight_hh"))?;
        params.extend(r.values(n, v, Shape::Matrix(gh, hidden))?);
        let (n, v) = take(TorchKey::BiasIh(l), &idx("bias_ih"))?;
        let b_ih = r.values(n, v, Shape::Vector(gh))?;
        let (n, v) = take(TorchKey::BiasHh(l), &idx("bias_hh"))?;
        let b_hh = r.values(n, v, Shape::Vector(gh))?;
        if cell == CellType::Elman {
            params.extend(b_ih.iter().zip(&b_hh).map(|(a, b)| a + b));
        } else {
            params.extend(b_ih);
            params.extend(b_hh);
        }
    }
    params.extend(r.values(w_name, w, Shape::Matrix(output, hidden))?);
    let (n, v) = take(TorchKey::LinearBias, "Linear bias")?;
    params.extend(r.values(n, v, Shape::Vector(output))?);
    r.finish(arch, vocab, params)
}

/// Keras's `get_weights()` of `SimpleRNN` / `GRU` / `LSTM` layers + `Dense`.
fn keras(r: &Reader<'_>, obj: &Map<String, Value>) -> Result<Model> {
    let cell = cell_of(r, obj, &KERAS_CELLS)?;
    let vocab = r.vocab(obj)?;
    let list = r
        .get(obj, "layers", "the recurrent layers' weights, bottom first")?
        .as_array()
        .ok_or_else(|| r.bad("key `layers` must be an array of objects".into()))?;
    if list.is_empty() || list.len() > MAX_LAYERS {
        return Err(r.bad(format!(
            "key `layers` has {} entries; expected 1 to {MAX_LAYERS}",
            list.len()
        )));
    }
    let layer_obj = |l: usize| -> Result<&Map<String, Value>> {
        list[l]
            .as_object()
            .ok_or_else(|| r.bad(format!("`layers[{l}]` must be an object")))
    };
    let g = cell.gates();
    let first = layer_obj(0)?;
    let rk = r.get(first, "recurrent_kernel", "`layers[0]`: H×G·H")?;
    let hidden = match r.shape("layers[0].recurrent_kernel", rk, "H×G·H")? {
        Shape::Matrix(h, cols) if cols == g * h && h > 0 => h,
        s => {
            return Err(r.shape_err(
                "layers[0].recurrent_kernel",
                format!("H×{g}·H for a {} layer", cell.name()),
                shape_text(s),
            ))
        }
    };
    let gh = g * hidden;
    let k0 = r.get(first, "kernel", "`layers[0]`: I×G·H")?;
    let input = match r.shape("layers[0].kernel", k0, "I×G·H")? {
        Shape::Matrix(i, cols) if cols == gh => i,
        s => return Err(r.shape_err("layers[0].kernel", format!("I×{gh}"), shape_text(s))),
    };
    let dense = r
        .get(obj, "dense", "the Dense layer's kernel and bias")?
        .as_object()
        .ok_or_else(|| r.bad("key `dense` must be an object".into()))?;
    let dk = r.get(dense, "kernel", "`dense`: H×O")?;
    let output = match r.shape("dense.kernel", dk, "H×O")? {
        Shape::Matrix(h, o) if h == hidden => o,
        s => return Err(r.shape_err("dense.kernel", format!("{hidden}×O"), shape_text(s))),
    };
    let arch = Arch {
        output,
        ..Arch::next(cell, list.len(), input, hidden)
    };
    r.check_arch(&arch)?;
    // Our gate block b is Keras's block perm[b].
    let perm: &[usize] = match cell {
        CellType::Gru => &[1, 0, 2],
        _ => &[0, 1, 2, 3],
    };
    // Keras column index of our row `row` (gate block row / H, unit row % H).
    let col = |row: usize| perm[row / hidden] * hidden + row % hidden;
    let mut params = Vec::with_capacity(arch.param_count());
    for l in 0..arch.layers {
        let lo = layer_obj(l)?;
        let key = |k: &str| format!("layers[{l}].{k}");
        let n_in = arch.layer_input(l);
        let kernel = r.values(
            &key("kernel"),
            r.get(lo, "kernel", &format!("`layers[{l}]`: {n_in}×{gh}"))?,
            Shape::Matrix(n_in, gh),
        )?;
        let rec = r.values(
            &key("recurrent_kernel"),
            r.get(
                lo,
                "recurrent_kernel",
                &format!("`layers[{l}]`: {hidden}×{gh}"),
            )?,
            Shape::Matrix(hidden, gh),
        )?;
        // Transpose, reordering the gate blocks.
        for row in 0..gh {
            params.extend((0..n_in).map(|i| kernel[i * gh + col(row)]));
        }
        for row in 0..gh {
            params.extend((0..hidden).map(|m| rec[m * gh + col(row)]));
        }
        let bias_v = r.get(lo, "bias", &format!("`layers[{l}]`: the bias"))?;
        let bias_key = key("bias");
        match cell {
            CellType::Gru => {
                let want = Shape::Matrix(2, gh);
                if r.shape(&bias_key, bias_v, "2×3H")? == Shape::Vector(gh) {
                    return Err(r.bad(format!(
                        "`{bias_key}` has shape [{gh}]: a Keras GRU with reset_after=False, which \
                         applies the reset gate before W_hn; only reset_after=True (2×{gh} bias, \
                         the Keras 3 default, PyTorch's equations) can be imported"
                    )));
                }
                let b = r.values(&bias_key, bias_v, want)?;
                params.extend((0..gh).map(|row| b[col(row)]));
                params.extend((0..gh).map(|row| b[gh + col(row)]));
            }
            CellType::Lstm => {
                let b = r.values(&bias_key, bias_v, Shape::Vector(gh))?;
                params.extend((0..gh).map(|row| b[col(row)]));
                params.extend(std::iter::repeat_n(0.0, gh));
            }
            CellType::Elman => {
                params.extend(r.values(&bias_key, bias_v, Shape::Vector(gh))?);
            }
        }
    }
    let kernel = r.values("dense.kernel", dk, Shape::Matrix(hidden, output))?;
    for o in 0..output {
        params.extend((0..hidden).map(|j| kernel[j * output + o]));
    }
    let b = r.get(dense, "bias", "`dense`: [O]")?;
    params.extend(r.values("dense.bias", b, Shape::Vector(output))?);
    r.finish(arch, vocab, params)
}
