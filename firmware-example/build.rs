//! Build script: picks the board's memory map, passes the linker script, and sizes the
//! firmware for the model it embeds.
//!
//! - Exactly one board feature must be set, and the target must be that board's target.
//! - The boards are the table `boards.txt` (read through the `boards` crate, as the tests
//!   and xtask read it); the board's name, core and clock are written to
//!   `OUT_DIR/board.rs`.
//! - The board's memory map `memory/BOARD.x` is copied to `OUT_DIR/memory.x`, which is put
//!   on the linker's search path, and `-Tlink.x` (cortex-m-rt's script, which includes `memory.x`) is passed here
//!   rather than in `.cargo/config.toml`, so that building from any directory links a
//!   real image.
//! - The model file is `../models/dinosaurs.rnn` (what `cargo xtask demo` trains), or the
//!   file named by the environment variable `RNN_MODEL` (a relative path is taken from
//!   this crate's directory). It is read through `rnn-core`'s loader, and its architecture
//!   is written to `OUT_DIR/model.rs` as constants — the cell kind `CELL`, `LAYERS`, the
//!   sizes `I`, `H`, `O` and the buffer lengths `STATE_LEN` and `SCRATCH_LEN` (from
//!   `rnn_core::Network`'s `Cell::state_len` and `Cell::scratch_len`) — together with
//!   `include_bytes!` of the same file, so another model needs no edit here. One Elman
//!   layer also sets `cfg(rnn_elman_fast_path)`: it runs through `rnn_core::Elman`.
//! - A classifier (header task `classify`) sets `cfg(rnn_classify)` (and
//!   `cfg(rnn_classify_dense)` for dense vectors) and adds `TASK`, `DIRECTIONS`,
//!   `NORMALIZED`, `DENSE`, the sequence capacity `MAX_STEPS` (`RNN_MAX_STEPS`, default 32)
//!   and `WORK_LEN` (`Classifier::work_len(MAX_STEPS)`); `LINE_MAX` is 64 bytes, or
//!   `max(64, 24·I)` for dense vectors (one vector per line), or `max(64, 4·MAX_STEPS)`
//!   for words (UTF-8 lines: every word the buffer holds fits, at 4 bytes a character).
//! - A tagger or regression model (header task `tag` or `regress`) sets `cfg(rnn_stream)`:
//!   the streaming mode, one input vector per line answered at once, the state kept from
//!   line to line. `STATE_LEN` and `SCRATCH_LEN` are then `Stream::state_len` and
//!   `Stream::scratch_len`, and `LINE_MAX` is `max(64, 24·I)`. Such a model that reads the
//!   sequence in both directions cannot stream, and one with a vocabulary (symbols rather
//!   than dense vectors) is not served yet: both stop the build with a message.
//! - A quantized model (format version 3, or 4 with a front-end) sets `cfg(rnn_quantized)`, whatever its cell
//!   kind and depth; `HEADER` carries its quantization and `PRECISION` its weights' type.
//!   A next-symbol model, tagger or regression model runs through `rnn_core::QNetwork`
//!   (`STATE_LEN` `i16`s, `SCRATCH_LEN` `i32`s, from `QNetwork::state_len` and
//!   `scratch_len`), a classifier through `rnn_core::QClassifier` (`WORK_LEN` `i16`s from
//!   `QClassifier::work_len(MAX_STEPS)`, `SCRATCH_LEN` `i32`s from its `scratch_len`).
//!   A quantized dense classifier without per-sequence normalisation also sets
//!   `cfg(rnn_prequantized)`: its sequence is kept as `i16`, each vector quantized as it
//!   arrives, and `WORK_LEN` is `QClassifier::quantized_input_work_len(MAX_STEPS)`.
//! - `RNN_SIZE_MODEL`, when set, names another model file whose header sizes the build
//!   (the embedded file is still `RNN_MODEL`): the way to test the check at boot.
//! - A model file that exists but does not load (a corrupt file, say) still builds, with a
//!   warning: the firmware then reports the loader's error at boot and exits non-zero.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn feature_enabled(feature: &str) -> bool {
    let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    env::var_os(var).is_some()
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");

    // The one board table (boards.txt, through the `boards` crate that the tests and xtask
    // read too).
    println!("cargo:rerun-if-changed=boards.txt");
    let selected: Vec<&boards::Board> = boards::all()
        .iter()
        .filter(|b| feature_enabled(b.name))
        .collect();
    let board = match selected.as_slice() {
        [board] => *board,
        [] => fail(&format!(
            "no board selected: enable one of the features {}",
            boards::all()
                .iter()
                .map(|b| b.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => fail(&format!(
            "several boards selected ({}): use --no-default-features --features BOARD",
            selected
                .iter()
                .map(|b| b.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    if target != board.target {
        fail(&format!(
            "board {} needs --target {} (building for {target}); e.g. \
             cargo build --release --no-default-features --features {} --target {}",
            board.name, board.target, board.name, board.target
        ));
    }

    let memory_x = manifest_dir().join(board.memory_x());
    println!("cargo:rerun-if-changed={}", memory_x.display());
    let map = fs::read_to_string(&memory_x)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", memory_x.display())));
    // cortex-m-rt puts the stack above the static sections, growing down towards them
    // with nothing in between: refuse to link when the buffers leave less than the
    // smallest stack any model was measured to need (the firmware also stops with an
    // error line when the stack reaches them at run time, see `measure::stack_exhausted`).
    let floor = format!(
        "{map}\nASSERT(_stack_start - _stack_end >= {MIN_STACK}, \"rnn firmware: less than \
         {MIN_STACK} bytes of RAM are left for the stack on {}: the model's buffers are too \
         big for this board (a classifier's grow with RNN_MAX_STEPS)\");\n",
        board.name
    );
    if let Err(e) = fs::write(out.join("memory.x"), floor) {
        fail(&format!("cannot write memory.x: {e}"));
    }
    let board_consts = format!(
        "/// The board's name, as QEMU's `-machine` knows it (boards.txt).\n\
         pub const NAME: &str = {:?};\n\
         /// The processor core (boards.txt).\n\
         pub const CPU: &str = {:?};\n\
         /// The processor clock that SysTick counts (with `CLKSOURCE` = processor clock), in\n\
         /// Hz (boards.txt).\n\
         pub const CLOCK_HZ: u32 = {};\n",
        board.name, board.cpu, board.clock_hz
    );
    fs::write(out.join("board.rs"), board_consts).expect("write board.rs");
    write_model_consts(&out);
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The model file the firmware embeds.
fn model_path() -> PathBuf {
    println!("cargo:rerun-if-env-changed=RNN_MODEL");
    match env::var_os("RNN_MODEL") {
        Some(p) if !p.is_empty() => manifest_dir().join(p),
        _ => manifest_dir()
            .join("..")
            .join("models")
            .join("dinosaurs.rnn"),
    }
}

/// The model file whose header sizes the build: `RNN_SIZE_MODEL` when set (so that a
/// firmware built for one architecture can be handed another, to test the check at boot),
/// else the embedded model itself.
fn size_model_path(model: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=RNN_SIZE_MODEL");
    match env::var_os("RNN_SIZE_MODEL") {
        Some(p) if !p.is_empty() => manifest_dir().join(p),
        _ => model.to_path_buf(),
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
}

fn read(path: &Path) -> Vec<u8> {
    println!("cargo:rerun-if-changed={}", path.display());
    match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => fail(&format!(
            "cannot read the model {}: {e}\n  \
             Train one with `cargo xtask demo` (it writes models/dinosaurs.rnn), or point \
             RNN_MODEL at a .rnn file (RNN_MODEL=/path/to/model.rnn cargo build --release).",
            path.display()
        )),
    }
}

/// What the firmware is compiled for: the model's header (task, cell kind, depth, sizes,
/// directions, normalisation: `rnn-core`'s one description of a network) and the buffer
/// lengths `rnn-core` computes for it.
struct Built {
    header: rnn_core::Header,
    /// Classifiers: dense vectors (an empty vocabulary) rather than one-hot symbols.
    dense: bool,
    /// Every symbol of the vocabulary is ASCII (or there is none).
    ascii_vocab: bool,
    /// Next-symbol models: `Cell::state_len` and `Cell::scratch_len`; taggers and
    /// regression models: `Stream::state_len` and `Stream::scratch_len` (0 for float
    /// classifiers); quantized models: `QNetwork`'s, or a `QClassifier`'s scratch.
    state_len: usize,
    scratch_len: usize,
    /// Classifiers: `Classifier::work_len(max_steps)` (0 for next-symbol models), or a
    /// prequantized one's `QClassifier::quantized_input_work_len(max_steps)`.
    work_len: usize,
}

impl Built {
    /// A quantized dense classifier without per-sequence normalisation: its firmware keeps
    /// the sequence as `i16`, each vector quantized as it arrives
    /// (`QClassifier::quantize_step`), so neither the `f32` sequence nor its quantized copy
    /// in the working memory is needed.
    fn prequantized(&self) -> bool {
        let h = &self.header;
        h.quant.is_quantized()
            && h.task == rnn_core::Task::Classify
            && self.dense
            && !h.sequence_normalized
    }

    /// The architecture of the model file `bytes` for sequences of at most `max_steps`
    /// steps, or the loader's error.
    fn of(bytes: &[u8], max_steps: usize) -> Result<Self, rnn_core::Error> {
        use rnn_core::Cell;
        let view = rnn_core::ModelView::parse(bytes)?;
        let mut built = Built {
            header: view.header(),
            dense: view.vocab().is_empty(),
            ascii_vocab: view.vocab().as_str().is_ascii(),
            state_len: 0,
            scratch_len: 0,
            work_len: 0,
        };
        match built.header.task {
            _ if built.header.quant.is_quantized()
                && built.header.task == rnn_core::Task::Classify =>
            {
                let classifier = rnn_core::QClassifier::from_view(&view)?;
                built.work_len = if built.prequantized() {
                    classifier.quantized_input_work_len(max_steps)
                } else {
                    classifier.work_len(max_steps)
                };
                built.scratch_len = classifier.scratch_len();
            }
            _ if built.header.quant.is_quantized() => {
                let net = rnn_core::QNetwork::from_view(&view)?;
                built.state_len = net.state_len();
                built.scratch_len = net.scratch_len();
            }
            rnn_core::Task::Next => {
                let net = rnn_core::Network::from_view(&view)?;
                built.state_len = net.state_len();
                built.scratch_len = net.scratch_len();
            }
            rnn_core::Task::Classify => {
                built.work_len = rnn_core::Classifier::from_view(&view)?.work_len(max_steps);
            }
            rnn_core::Task::Tag | rnn_core::Task::Regress => {
                let stream = rnn_core::Stream::from_view(&view)?;
                built.state_len = stream.state_len();
                built.scratch_len = stream.scratch_len();
            }
        }
        Ok(built)
    }

    /// A placeholder that keeps the build going for a file that does not load: the loader
    /// at boot rejects the file (it checks the whole file before the architecture) and
    /// prints the same error.
    fn placeholder() -> Self {
        Built {
            header: rnn_core::Header::elman(1, 1, 1),
            dense: false,
            // The loader's error may quote any symbol of the file.
            ascii_vocab: false,
            state_len: 1,
            scratch_len: 1,
            work_len: 0,
        }
    }
}

/// The sequence capacity of a classifier firmware: `RNN_MAX_STEPS`, or 32.
fn max_steps() -> usize {
    println!("cargo:rerun-if-env-changed=RNN_MAX_STEPS");
    match env::var("RNN_MAX_STEPS") {
        Ok(s) if !s.is_empty() => match s.parse::<usize>() {
            Ok(n @ 1..=65_535) => n,
            _ => fail(&format!(
                "RNN_MAX_STEPS must be a whole number from 1 to 65535, not {s:?}"
            )),
        },
        _ => 32,
    }
}

/// The longest line the firmware reads: 64 bytes; for a classifier, tagger or regression
/// model of dense vectors 24 bytes per channel when that is more (a vector is one line);
/// for a classifier with a
/// vocabulary (UTF-8 words) 4 bytes per step of `max_steps` when that is more, so that
/// every word the sequence buffer holds fits in a line, whatever its characters' lengths
/// (a word escaped with `//` starts with the one-byte `/`).
fn line_max(built: &Built, max_steps: usize) -> usize {
    match (built.header.task, built.dense) {
        (rnn_core::Task::Classify | rnn_core::Task::Tag | rnn_core::Task::Regress, true) => {
            (24 * built.header.input as usize).max(64)
        }
        (rnn_core::Task::Classify, false) => (4 * max_steps).max(64),
        (rnn_core::Task::Next | rnn_core::Task::Tag | rnn_core::Task::Regress, _) => 64,
    }
}

fn write_model_consts(out: &Path) {
    let path = model_path();
    let size_path = size_model_path(&path);
    let bytes = read(&path);
    let path = path.canonicalize().unwrap_or(path);
    let size_path = size_path.canonicalize().unwrap_or(size_path);
    let size_bytes = if size_path == path {
        bytes.clone()
    } else {
        read(&size_path)
    };
    let max_steps = max_steps();
    refuse_unservable(&size_bytes, &size_path);
    let built = match Built::of(&size_bytes, max_steps) {
        Ok(built) => built,
        Err(e) => {
            println!(
                "cargo:warning=the model {} does not load ({e}); the firmware will report \
                 this at boot and exit with failure",
                size_path.display()
            );
            Built::placeholder()
        }
    };
    if size_path != path {
        println!(
            "cargo:warning=built for the architecture of {} (RNN_SIZE_MODEL), embedding {}",
            size_path.display(),
            path.display()
        );
    }
    // One Elman layer runs through `rnn_core::Elman<I, H, O>`, whose loops know their
    // lengths at compile time; every other architecture through `rnn_core::Network`
    // (why the fork stays, with the measurements: the comment on `Cells` in src/next.rs).
    // A classifier runs through `rnn_core::Classifier` (`cfg(rnn_classify)`), reading
    // dense vectors (`cfg(rnn_classify_dense)`) or symbols.
    println!("cargo::rustc-check-cfg=cfg(rnn_elman_fast_path)");
    println!("cargo::rustc-check-cfg=cfg(rnn_classify)");
    println!("cargo::rustc-check-cfg=cfg(rnn_classify_dense)");
    println!("cargo::rustc-check-cfg=cfg(rnn_stream)");
    println!("cargo::rustc-check-cfg=cfg(rnn_quantized)");
    println!("cargo::rustc-check-cfg=cfg(rnn_prequantized)");
    println!("cargo::rustc-check-cfg=cfg(rnn_ascii_symbols)");
    let h = built.header;
    // Every character an error line can quote is ASCII when the lines are (every mode but
    // a word classifier's, which reads UTF-8) and so is the vocabulary: `Out::char_debug`
    // then needs none of core's Unicode tables (`cfg(rnn_ascii_symbols)`).
    let utf8_lines = h.task == rnn_core::Task::Classify && !built.dense;
    if built.ascii_vocab && !utf8_lines {
        println!("cargo:rustc-cfg=rnn_ascii_symbols");
    }
    // A quantized model (format version 3 or 4, `cfg(rnn_quantized)`) runs through
    // `rnn_core::QNetwork` or `QClassifier`, whatever its cell kind and depth: the integer
    // path has no compile-time sized Elman.
    let quantized = h.quant.is_quantized();
    if quantized {
        println!("cargo:rustc-cfg=rnn_quantized");
    }
    let classify = h.task == rnn_core::Task::Classify;
    let stream = matches!(h.task, rnn_core::Task::Tag | rnn_core::Task::Regress);
    if stream {
        println!("cargo:rustc-cfg=rnn_stream");
    } else if classify {
        println!("cargo:rustc-cfg=rnn_classify");
        if built.dense {
            println!("cargo:rustc-cfg=rnn_classify_dense");
        }
        if built.prequantized() {
            println!("cargo:rustc-cfg=rnn_prequantized");
        }
    } else if h.cell == rnn_core::CellKind::Elman && h.layers == 1 && !quantized {
        println!("cargo:rustc-cfg=rnn_elman_fast_path");
    }
    let line_max = line_max(&built, max_steps);
    let cell = match h.cell {
        rnn_core::CellKind::Elman => "Elman",
        rnn_core::CellKind::Gru => "Gru",
        rnn_core::CellKind::Lstm => "Lstm",
    };
    let path_literal = format!("{:?}", path.display().to_string());
    let Built {
        dense,
        state_len,
        scratch_len,
        work_len,
        ..
    } = built;
    let (layers, input, hidden, output) = (h.layers, h.input, h.hidden, h.output);
    let (bidirectional, normalized) = (h.bidirectional, h.normalized);
    let sequence_normalized = h.sequence_normalized;
    // The convolutional front-end, as a constant expression (`ConvStack::new` is const).
    let conv_specs: String = h
        .conv
        .layers()
        .iter()
        .map(|s| {
            format!(
                "rnn_core::ConvSpec {{ kernel: {}, stride: {}, channels: {} }}, ",
                s.kernel, s.stride, s.channels
            )
        })
        .collect();
    let conv = format!(
        "match rnn_core::ConvStack::new(&[{conv_specs}]) {{ Ok(s) => s, Err(_) => rnn_core::ConvStack::NONE }}"
    );
    let directions = h.directions();
    // Classifiers: the MACs of a sequence of 1 and of `max_steps` steps (front-end,
    // recurrent steps, output layer), counted here so that the firmware links no code for
    // it.
    let one_hot = !built.dense;
    let macs_per_sequence = [1, max_steps].map(|t| h.macs_per_sequence(t, one_hot));
    // Classifiers: without a front-end and per-sequence normalisation in the model, their
    // code is left out of the binary (a model that needs them is then refused at boot).
    let stages = if h.conv.is_empty() && !h.sequence_normalized {
        "NoStages"
    } else {
        "AllStages"
    };
    let q = h.quant;
    let quant = format!(
        "rnn_core::Quant {{ precision: rnn_core::Precision::{:?}, input_exp: {}, cell_exp: {:?}, conv_exp: {:?} }}",
        q.precision, q.input_exp, q.cell_exp, q.conv_exp
    );
    let task = match h.task {
        rnn_core::Task::Next => "Next",
        rnn_core::Task::Classify => "Classify",
        rnn_core::Task::Tag => "Tag",
        rnn_core::Task::Regress => "Regress",
    };
    let consts = format!(
        "/// The model embedded at build time (from `build.rs`).\n\
         pub static MODEL: &crate::Aligned<[u8]> = &crate::Aligned(*include_bytes!({path_literal}));\n\
         /// Where [`MODEL`] was read from at build time.\n\
         pub const MODEL_PATH: &str = {path_literal};\n\
         /// The task the firmware is built for.\n\
         pub const TASK: rnn_core::Task = rnn_core::Task::{task};\n\
         /// The architecture the firmware is built for, as the model file's header says it;\n\
         /// checked against the embedded model at boot (`Header::check_built_for`).\n\
         pub const HEADER: rnn_core::Header = rnn_core::Header {{\n    \
             task: TASK,\n    \
             cell: CELL,\n    \
             layers: {layers},\n    \
             input: {input},\n    \
             hidden: {hidden},\n    \
             output: {output},\n    \
             bidirectional: {bidirectional},\n    \
             normalized: {normalized},\n    \
             conv: {conv},\n    \
             sequence_normalized: {sequence_normalized},\n    \
             quant: {quant},\n\
         }};\n\
         /// The weights' number type the firmware is built for (`f32`, `int8`, `int16`).\n\
         pub const PRECISION: rnn_core::Precision = HEADER.quant.precision;\n\
         /// The cell kind the firmware is built for.\n\
         pub const CELL: rnn_core::CellKind = rnn_core::CellKind::{cell};\n\
         /// Stacked recurrent layers.\n\
         pub const LAYERS: usize = {layers};\n\
         /// Input size of the model.\n\
         pub const I: usize = {input};\n\
         /// Hidden size of the model.\n\
         pub const H: usize = {hidden};\n\
         /// Output size of the model.\n\
         pub const O: usize = {output};\n\
         /// Values of recurrent state (`Cell::state_len`, `Stream::state_len`; `i16`s of\n\
         /// `QNetwork::state_len` for a quantized model).\n\
         pub const STATE_LEN: usize = {state_len};\n\
         /// Values of scratch space a step needs (`Cell::scratch_len`,\n\
         /// `Stream::scratch_len`; `i32`s of `QNetwork::scratch_len` when quantized).\n\
         pub const SCRATCH_LEN: usize = {scratch_len};\n\
         /// Classifiers: 2 for a bidirectional model, else 1.\n\
         pub const DIRECTIONS: usize = {directions};\n\
         /// Dense inputs normalised per channel in the model.\n\
         pub const NORMALIZED: bool = {normalized};\n\
         /// Classifiers, taggers, regression models: dense vectors of `I` channels (else\n\
         /// one-hot symbols).\n\
         pub const DENSE: bool = {dense};\n\
         /// Classifiers: the most steps a sequence may have (`RNN_MAX_STEPS`).\n\
         pub const MAX_STEPS: usize = {max_steps};\n\
         /// Classifiers: floats (`i16`s when quantized) of working memory for `MAX_STEPS`\n\
         /// steps.\n\
         pub const WORK_LEN: usize = {work_len};\n\
         /// Classifiers: multiply-accumulates of a sequence of 1 and of `MAX_STEPS` steps\n\
         /// (`Header::macs_per_sequence`: the front-end, the recurrent steps it leaves, the\n\
         /// output layer once).\n\
         pub const MACS_PER_SEQUENCE: [u64; 2] = {macs_per_sequence:?};\n\
         /// Classifiers: the optional stages compiled in (`rnn_core::Stages`).\n\
         pub type Stages = rnn_core::{stages};\n\
         /// The longest line the firmware reads, in bytes.\n\
         pub const LINE_MAX: usize = {line_max};\n"
    );
    fs::write(out.join("model.rs"), consts).expect("write model.rs");
}

/// Stops the build for a model that loads but that the firmware cannot serve: a tagger or
/// regression model that reads its sequence in both directions (it needs the whole
/// sequence before the first answer, so it cannot stream), or one with a vocabulary
/// (the streaming mode reads dense vectors only, so far). A file that does not load is
/// left to the loader at boot.
fn refuse_unservable(bytes: &[u8], path: &Path) {
    let Ok(view) = rnn_core::ModelView::parse(bytes) else {
        return;
    };
    let h = view.header();
    if !matches!(h.task, rnn_core::Task::Tag | rnn_core::Task::Regress) {
        return;
    }
    if h.bidirectional {
        fail(&format!(
            "{}: a bidirectional {} model needs the whole sequence before its first answer, \
             so it cannot run in the firmware's streaming mode; train a one-direction model \
             for the firmware (rnn-core's Classifier::per_step runs this one on the host)",
            path.display(),
            h.task.name()
        ));
    }
    if !view.vocab().is_empty() {
        fail(&format!(
            "{}: the firmware's streaming mode reads dense vectors (one per line); this {} \
             model reads symbols from a vocabulary of {}, which it does not serve yet",
            path.display(),
            h.task.name(),
            view.vocab().len()
        ));
    }
}

/// The least stack, in bytes, the linker must leave above the static sections: a little
/// more than the smallest peak measured (the dinosaur firmware's, 872 bytes on the M3).
const MIN_STACK: usize = 1024;

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
