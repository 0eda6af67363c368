//! What every topic shares: the fixture models, building the firmware once per (board,
//! model), and the parity check against the host's protocol reference.

use rnn_core::CellKind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tests::fixture;
use tests::protocol::Reference;
use tests::qemu::{self, Board};

pub const SESSION_TIMEOUT: Duration = Duration::from_secs(180);

pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("qemu")
}

/// The models the tests embed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Fixture {
    /// An Elman model over `fixture::VOCAB` (28 symbols, with `/`), H = 25.
    Elman,
    /// The same file with one bit of a weight flipped.
    Corrupt,
    /// A one-layer GRU, H = 25 (its 75 gate rows leave a remainder for the four-row loop).
    Gru,
    /// A one-layer GRU, H = 24: another size, for the firmware built for [`Fixture::Gru`].
    Gru24,
    /// A one-layer LSTM, H = 20.
    Lstm,
    /// Two stacked LSTM layers, H = 16.
    Lstm2,
    /// A word classifier: bidirectional GRU, H = 16, 29 symbols, six classes
    /// (`fixture::WORD_CLASSIFIER`).
    Words,
    /// A dense classifier: bidirectional LSTM, H = 12, 12 normalised channels, nine
    /// classes (`fixture::DENSE_CLASSIFIER`).
    Dense,
    /// A word classifier whose vocabulary has non-ASCII letters (2, 3 and 4 bytes in
    /// UTF-8): one-direction LSTM, H = 16, 43 symbols, three classes
    /// (`fixture::UTF8_WORD_CLASSIFIER`).
    Utf8Words,
    /// A dense classifier with a convolutional front-end: 6 normalised channels, one
    /// convolution `4:8:2` with ReLU, bidirectional GRU, H = 12, four classes
    /// (`fixture::CONV_CLASSIFIER`).
    Conv,
    /// [`Fixture::Conv`] without its front-end (the recurrent layer reads the 6 channels):
    /// the same header but for `conv`.
    NoConv,
    /// [`Fixture::Conv`] with a stride of 1 (`4:8:1`): the same weights' shapes, another
    /// front-end.
    ConvStride1,
    /// A tagger for stream mode: one-direction GRU, H = 16, 6 normalised channels, four
    /// classes (`fixture::TAGGER`).
    Tagger,
    /// A regression model for stream mode: two LSTM layers, H = 12, 3 channels, two
    /// targets (`fixture::REGRESSOR`).
    Regressor,
    /// [`Fixture::Elman`] quantized to int8 weights (format version 3).
    QElman,
    /// [`Fixture::Elman`] quantized to int16 weights.
    QElman16,
    /// [`Fixture::Gru`] quantized to int8.
    QGru,
    /// [`Fixture::Lstm`] quantized to int8 (cell state with 12 fraction bits).
    QLstm,
    /// Two stacked GRU layers, H = 25, quantized to int8: the second layer's state (50
    /// bytes into the state, read by its recurrent rows and the output layer) is only
    /// 2-aligned, so the Cortex-M4F's kernel takes its unaligned loop there, and its
    /// aligned one for the first layer's state.
    QGru2,
    /// [`Fixture::Words`] quantized to int8: classify mode through `QClassifier`.
    QWords,
    /// [`Fixture::Dense`] quantized to int8 (the input with 11 fraction bits after its
    /// normalisation).
    QDense,
    /// [`Fixture::Conv`] quantized to int8 (format version 4: the front-end's output with
    /// 10 fraction bits).
    QConv,
    /// [`Fixture::Tagger`] quantized to int8: stream mode through `QNetwork`.
    QTagger,
    /// [`Fixture::Regressor`] quantized to int8 (two LSTM layers, the targets' statistics
    /// applied to the Q12 outputs).
    QRegressor,
}

/// The quantized fixtures: (fixture, the float fixture it quantizes or `None` for
/// [`Fixture::QGru2`], weights).
pub const QUANTIZED: [(Fixture, Option<Fixture>, rnn_core::Precision); 10] = [
    (
        Fixture::QElman,
        Some(Fixture::Elman),
        rnn_core::Precision::Int8,
    ),
    (
        Fixture::QElman16,
        Some(Fixture::Elman),
        rnn_core::Precision::Int16,
    ),
    (Fixture::QGru, Some(Fixture::Gru), rnn_core::Precision::Int8),
    (
        Fixture::QLstm,
        Some(Fixture::Lstm),
        rnn_core::Precision::Int8,
    ),
    (Fixture::QGru2, None, rnn_core::Precision::Int8),
    (
        Fixture::QWords,
        Some(Fixture::Words),
        rnn_core::Precision::Int8,
    ),
    (
        Fixture::QDense,
        Some(Fixture::Dense),
        rnn_core::Precision::Int8,
    ),
    (
        Fixture::QConv,
        Some(Fixture::Conv),
        rnn_core::Precision::Int8,
    ),
    (
        Fixture::QTagger,
        Some(Fixture::Tagger),
        rnn_core::Precision::Int8,
    ),
    (
        Fixture::QRegressor,
        Some(Fixture::Regressor),
        rnn_core::Precision::Int8,
    ),
];

/// The gated and stacked fixtures: (fixture, kind, layers, hidden size, seed).
pub const NETWORKS: [(Fixture, CellKind, u8, usize, u64); 4] = [
    (Fixture::Gru, CellKind::Gru, 1, 25, 3),
    (Fixture::Gru24, CellKind::Gru, 1, 24, 4),
    (Fixture::Lstm, CellKind::Lstm, 1, 20, 5),
    (Fixture::Lstm2, CellKind::Lstm, 2, 16, 6),
];

impl Fixture {
    pub fn bytes(self) -> &'static [u8] {
        static ELMAN: OnceLock<Vec<u8>> = OnceLock::new();
        static CORRUPT: OnceLock<Vec<u8>> = OnceLock::new();
        static NETS: [OnceLock<Vec<u8>>; NETWORKS.len()] = [const { OnceLock::new() }; 4];
        static WORDS: OnceLock<Vec<u8>> = OnceLock::new();
        static DENSE: OnceLock<Vec<u8>> = OnceLock::new();
        static UTF8_WORDS: OnceLock<Vec<u8>> = OnceLock::new();
        static CONV: OnceLock<Vec<u8>> = OnceLock::new();
        static NO_CONV: OnceLock<Vec<u8>> = OnceLock::new();
        static CONV_STRIDE_1: OnceLock<Vec<u8>> = OnceLock::new();
        static TAGGER: OnceLock<Vec<u8>> = OnceLock::new();
        static REGRESSOR: OnceLock<Vec<u8>> = OnceLock::new();
        static QUANT: [OnceLock<Vec<u8>>; QUANTIZED.len()] =
            [const { OnceLock::new() }; QUANTIZED.len()];
        if let Some(k) = QUANTIZED.iter().position(|q| q.0 == self) {
            let (_, float, precision) = QUANTIZED[k];
            return QUANT[k].get_or_init(|| {
                let float_bytes = match float {
                    Some(f) => f.bytes().to_vec(),
                    None => fixture::network_bytes(CellKind::Gru, 2, fixture::VOCAB, 25, 8),
                };
                fixture::quantized_bytes(&float_bytes, precision)
            });
        }
        let elman = || fixture::elman_bytes(fixture::VOCAB, 25, 7);
        match self {
            Fixture::Words => {
                WORDS.get_or_init(|| fixture::classifier_bytes(&fixture::WORD_CLASSIFIER))
            }
            Fixture::Dense => {
                DENSE.get_or_init(|| fixture::classifier_bytes(&fixture::DENSE_CLASSIFIER))
            }
            Fixture::Utf8Words => {
                UTF8_WORDS.get_or_init(|| fixture::classifier_bytes(&fixture::UTF8_WORD_CLASSIFIER))
            }
            Fixture::Conv => {
                CONV.get_or_init(|| fixture::classifier_bytes(&fixture::CONV_CLASSIFIER))
            }
            Fixture::NoConv => NO_CONV.get_or_init(|| {
                fixture::classifier_bytes(&fixture::ClassifierSpec {
                    conv: &[],
                    ..fixture::CONV_CLASSIFIER
                })
            }),
            Fixture::ConvStride1 => CONV_STRIDE_1.get_or_init(|| {
                fixture::classifier_bytes(&fixture::ClassifierSpec {
                    conv: &[rnn_core::ConvSpec {
                        kernel: 4,
                        stride: 1,
                        channels: 8,
                    }],
                    ..fixture::CONV_CLASSIFIER
                })
            }),
            Fixture::Tagger => TAGGER.get_or_init(|| fixture::classifier_bytes(&fixture::TAGGER)),
            Fixture::Regressor => {
                REGRESSOR.get_or_init(|| fixture::classifier_bytes(&fixture::REGRESSOR))
            }
            Fixture::Elman => ELMAN.get_or_init(elman),
            Fixture::Corrupt => CORRUPT.get_or_init(|| {
                let bytes = elman();
                // A bit in the middle of the weights, well inside W_aa.
                fixture::flip_bit(&bytes, bytes.len() / 2, 5)
            }),
            _ => {
                let k = NETWORKS
                    .iter()
                    .position(|n| n.0 == self)
                    .expect("every other fixture is in NETWORKS");
                let (_, kind, layers, hidden, seed) = NETWORKS[k];
                NETS[k].get_or_init(|| {
                    fixture::network_bytes(kind, layers, fixture::VOCAB, hidden, seed)
                })
            }
        }
    }

    /// The model file, written on first use.
    pub fn path(self) -> PathBuf {
        static WRITTEN: Mutex<Vec<Fixture>> = Mutex::new(Vec::new());
        let path = work_dir().join(format!("{self:?}.rnn").to_lowercase());
        let mut written = WRITTEN.lock().unwrap_or_else(|e| e.into_inner());
        if !written.contains(&self) {
            fixture::save(&path, self.bytes());
            written.push(self);
        }
        path
    }
}

/// The firmware for `board` with `model` embedded, built at most once per test run.
pub fn firmware(board: &Board, model: Fixture) -> PathBuf {
    firmware_sized(board, model, model)
}

/// The firmware for `board` built for the architecture of `sized_for`, with `model`
/// embedded, built at most once per test run.
pub fn firmware_sized(board: &Board, model: Fixture, sized_for: Fixture) -> PathBuf {
    let mut built = built();
    let key = (board.name, model, sized_for);
    if let Some(elf) = built.get(&key) {
        return elf.clone();
    }
    if let Err(e) = qemu::check_tools(board) {
        panic!("{e}");
    }
    let path = model.path();
    let size_path = (sized_for != model).then(|| sized_for.path());
    let elf =
        work_dir().join(format!("{}-{model:?}-for-{sized_for:?}.elf", board.name).to_lowercase());
    let target_dir = qemu::firmware_dir().join("target").join("qemu-tests");
    if let Err(e) = qemu::build(board, &path, size_path.as_deref(), &target_dir, &elf) {
        panic!("{e}");
    }
    // The package's other binary, from the same build (under the lock: the next build
    // overwrites it).
    let built_minimal = target_dir
        .join(board.target)
        .join("release")
        .join("minimal");
    if let Err(e) = std::fs::copy(&built_minimal, minimal_path(&elf)) {
        panic!("copy {}: {e}", built_minimal.display());
    }
    built.insert(key, elf.clone());
    elf
}

/// The firmwares built so far, by (board, model, built for). One lock for all builds:
/// they share a target directory, and cargo would serialise them anyway.
fn built() -> MutexGuard<'static, HashMap<(&'static str, Fixture, Fixture), PathBuf>> {
    type Key = (&'static str, Fixture, Fixture);
    static BUILT: OnceLock<Mutex<HashMap<Key, PathBuf>>> = OnceLock::new();
    BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The lock [`firmware_sized`] and [`build_error`] build under, for a test's own builds.
pub fn built_lock() -> impl Drop {
    built()
}

/// Builds the firmware for `board` with the model file `model` (under the builds' lock,
/// in their target directory) and returns the build's error, or `None` when it built.
pub fn build_error(board: &Board, model: &Path) -> Option<String> {
    let _built = built();
    let target_dir = qemu::firmware_dir().join("target").join("qemu-tests");
    let elf = work_dir().join(format!("{}-build-check.elf", board.name));
    qemu::build(board, model, None, &target_dir, &elf).err()
}

/// Where [`firmware_sized`] keeps the `minimal` binary built with the firmware `elf`.
pub fn minimal_path(elf: &Path) -> PathBuf {
    elf.with_extension("minimal.elf")
}

/// Where two outputs first differ, with the lines around it.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let n = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let from = n.saturating_sub(3);
    let show = |lines: &[&str]| {
        lines
            .iter()
            .enumerate()
            .skip(from)
            .take(n - from + 4)
            .map(|(i, l)| format!("  {:5} {l:?}", i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at output line {} ({} lines expected, {} received)\nexpected:\n{}\nfirmware:\n{}",
        n + 1,
        e.len(),
        a.len(),
        show(&e),
        show(&a)
    )
}

/// Boots the firmware with the fixture `fixture`, feeds `input` and then `/exit`, and
/// checks that it answers exactly what the host answers, and exits cleanly.
pub fn check_parity(board: &Board, fixture: Fixture, input: &[u8]) {
    let model = fixture.bytes();
    let elf = firmware(board, fixture);
    let mut reference = Reference::new(model).expect("the fixture loads on the host");
    let mut expected = reference.banner(board.name, board.cpu, model.len());
    expected.push_str(&String::from_utf8(reference.feed(input)).expect("ASCII answers"));
    expected.push_str("ok: exit\n");

    let mut full_input = input.to_vec();
    full_input.extend_from_slice(b"/exit\n");
    let session = qemu::run(board, &elf, full_input, false, SESSION_TIMEOUT);
    let actual = session.text();
    assert!(
        actual == expected,
        "{} ({fixture:?}): the firmware's answers differ from the host's\n{}\nQEMU status: \
         {:?}, stderr: {}",
        board.name,
        first_difference(&expected, &actual),
        session.status,
        session.stderr.trim()
    );
    let status = session.status.expect("QEMU exits on /exit");
    assert!(
        status.success(),
        "{}: /exit should exit 0, got {status}",
        board.name
    );
}

/// The number right before `key` in `line` (a leading `(` dropped): how the tests read
/// the firmware's `/bench` and `/mem` lines.
pub fn number_before(line: &str, key: &str) -> u64 {
    let head = &line[..line.find(key).unwrap_or_else(|| panic!("{key} in {line}"))];
    let word = head.split_whitespace().last().unwrap_or("");
    word.trim_start_matches('(')
        .parse()
        .unwrap_or_else(|_| panic!("number before {key} in {line}"))
}
