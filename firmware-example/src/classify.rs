//! Classify mode: built when the embedded model is a classifier (any cell kind, 1 to 4
//! layers, one or two directions). A model with a vocabulary answers each line (a word)
//! with its class; a model of dense vectors reads one vector of `I` comma-separated
//! numbers per line, and an empty line ends the sequence and gets the answer. The answer
//! is the most likely class's name and its softmax probability with four decimals.
//!
//! The sequence is kept in `rnn-core`'s fixed-capacity buffer ([`TokenBuffer`] or
//! [`DenseBuffer`] of [`MAX_STEPS`] steps); a longer one is the buffer's typed
//! [`Error::SequenceTooLong`]. The weights are read from flash in place
//! ([`Classifier::with_weights`]).

use core::fmt::{self, Write};

use cortex_m::peripheral::SYST;
use cortex_m_semihosting::debug;
use rnn_core::sample::{argmax, softmax};
#[cfg(rnn_classify_dense)]
use rnn_core::DenseBuffer;
#[cfg(not(rnn_classify_dense))]
use rnn_core::TokenBuffer;
use rnn_core::{CellKind, Classifier, Dim, Error, ModelView, Rng, Vocab};

use crate::line::Problem;
use crate::{board, measure, model, Out};

const I: usize = model::I;
const H: usize = model::H;
const O: usize = model::O;
const CELL: CellKind = model::CELL;
const LAYERS: usize = model::LAYERS;
const DIRECTIONS: usize = model::DIRECTIONS;
const MAX_STEPS: usize = model::MAX_STEPS;
const WORK_LEN: usize = model::WORK_LEN;

/// The sequence being received: dense vectors of `I` channels.
#[cfg(rnn_classify_dense)]
type Sequence = DenseBuffer<MAX_STEPS, I>;
/// The sequence being received: the symbols of one word.
#[cfg(not(rnn_classify_dense))]
type Sequence = TokenBuffer<MAX_STEPS>;

/// Why the embedded classifier does not fit the build: `rnn-core`'s typed error, or a
/// property of classifiers that `rnn-core`'s errors do not name.
pub enum BootError {
    /// Any of `rnn-core`'s checks, or the architecture ([`crate::check_arch`]).
    Core(Error),
    /// The model reads dense vectors and the build symbols, or the other way round.
    InputKind { dense: bool },
}

impl From<Error> for BootError {
    fn from(e: Error) -> Self {
        BootError::Core(e)
    }
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |dense: bool| if dense { "dense vectors" } else { "symbols" };
        match *self {
            BootError::Core(e) => e.fmt(f),
            BootError::InputKind { dense } => write!(
                f,
                "input mismatch: expected {}, the model reads {}",
                kind(model::DENSE),
                kind(dense)
            ),
        }
    }
}

/// Everything the protocol remembers between two lines.
pub struct App {
    classifier: Classifier<'static, crate::W>,
    vocab: Vocab<'static>,
    syst: SYST,
    /// The sequence received so far.
    sequence: Sequence,
    /// Dense input: the sequence being received already had its error; its remaining
    /// lines are dropped up to the empty line that ends it.
    #[cfg(rnn_classify_dense)]
    failed: bool,
    work: [f32; WORK_LEN],
    logits: [f32; O],
}

impl App {
    /// Loads the model (every check of `rnn-core`, then the architecture the firmware was
    /// built for) and sets the protocol's state at boot.
    pub fn boot(syst: SYST) -> Result<Self, BootError> {
        let view = ModelView::parse(&model::MODEL.0)?;
        crate::check_arch(&view)?;
        let dense = view.vocab().is_empty();
        if dense != model::DENSE {
            return Err(BootError::InputKind { dense });
        }
        let classifier = Classifier::with_weights(&view, crate::weight_words(&view))?;
        // Equal whenever the checks above hold; checked so that no sequence can fail for
        // want of working memory.
        let needed = classifier.work_len(MAX_STEPS);
        if needed != WORK_LEN {
            return Err(BootError::Core(Error::BufferLength {
                dim: Dim::Work,
                expected: WORK_LEN,
                found: needed,
            }));
        }
        Ok(App {
            classifier,
            vocab: view.vocab(),
            syst,
            sequence: Sequence::new(),
            #[cfg(rnn_classify_dense)]
            failed: false,
            work: [0.0; WORK_LEN],
            logits: [0.0; O],
        })
    }

    /// The banner's model part.
    pub fn banner(&self, out: &mut Out) {
        let _ = write!(
            out,
            "task=classify cell={} layers={LAYERS} directions={DIRECTIONS} input={I} \
             hidden={H} output={O} vocab={} normalized={} max_steps={MAX_STEPS}",
            CELL.name(),
            self.vocab.len(),
            u8::from(model::NORMALIZED),
        );
    }

    /// Classify mode reads lines only.
    pub fn raw_byte(&mut self, _byte: u8, _out: &mut Out) -> bool {
        false
    }

    /// A line as the reader delivers it: its bytes, or why it was dropped.
    pub fn line(&mut self, line: Result<&str, Problem>, out: &mut Out) {
        match line {
            Ok(text) => {
                match text.strip_prefix('/') {
                    // `//abc` is the input `/abc`.
                    Some(rest) if rest.starts_with('/') => self.input(rest, out),
                    Some(command) => self.command(command, out),
                    None => self.input(text, out),
                }
            }
            Err(problem) => {
                #[cfg(rnn_classify_dense)]
                {
                    // A dropped line belongs to the sequence: its first error only.
                    if core::mem::replace(&mut self.failed, true) {
                        return;
                    }
                    self.sequence.clear();
                }
                crate::line_problem(problem, out);
            }
        }
    }

    /// A word: classified at once.
    #[cfg(not(rnn_classify_dense))]
    fn input(&mut self, word: &str, out: &mut Out) {
        self.sequence.clear();
        for c in word.chars() {
            let pushed = self
                .vocab
                .index_of(c)
                .and_then(|token| self.sequence.push(token));
            if let Err(e) = pushed {
                let _ = writeln!(out, "error: {e}");
                return;
            }
        }
        self.classify(out);
    }

    /// A vector of the sequence, or the empty line that ends it.
    #[cfg(rnn_classify_dense)]
    fn input(&mut self, line: &str, out: &mut Out) {
        if line.is_empty() {
            if !core::mem::take(&mut self.failed) {
                self.classify(out);
            }
            self.sequence.clear();
            return;
        }
        if self.failed {
            return;
        }
        let mut x = [0.0f32; I];
        let pushed = match parse_vector(line, &mut x) {
            Ok(()) => self.sequence.push(x).map_err(|e| {
                let _ = writeln!(out, "error: {e}");
            }),
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                Err(())
            }
        };
        if pushed.is_err() {
            self.failed = true;
            self.sequence.clear();
        }
    }

    /// Classifies the sequence and answers the class's name and probability.
    fn classify(&mut self, out: &mut Out) {
        let result =
            self.classifier
                .classify(self.sequence.steps(), &mut self.work, &mut self.logits);
        if let Err(e) = result {
            let _ = writeln!(out, "error: {e}");
            return;
        }
        let k = argmax(&self.logits);
        softmax(&mut self.logits);
        let p = per_ten_thousand(self.logits.get(k).copied().unwrap_or(0.0));
        match self.classifier.classes().name(k) {
            Some(name) => {
                let _ = writeln!(out, "{name} {}.{:04}", p / 10_000, p % 10_000);
            }
            None => {
                let _ = writeln!(out, "error: the model has no name for class {k}");
            }
        }
    }

    fn command(&mut self, command: &str, out: &mut Out) {
        let mut words = command.split(' ').filter(|w| !w.is_empty());
        let name = words.next().unwrap_or("");
        let arg = words.next();
        match (name, arg) {
            ("classes", None) => {
                let _ = write!(out, "classes:");
                for (k, name) in self.classifier.classes().iter().enumerate() {
                    let _ = write!(out, "{}{name}", if k == 0 { " " } else { ", " });
                }
                out.byte(b'\n');
            }
            ("bench", None) => self.bench(out),
            ("mem", None) => crate::mem(out),
            ("exit", None) => {
                let _ = writeln!(out, "ok: exit");
                debug::exit(debug::EXIT_SUCCESS);
            }
            ("help", None) => {
                let _ = writeln!(
                    out,
                    "help: {HELP}; commands: /classes, /bench, /mem, /exit, /help"
                );
            }
            ("classes" | "bench" | "mem" | "exit" | "help", Some(_)) => {
                let _ = writeln!(out, "error: /{name} takes no argument");
            }
            _ => {
                let _ = writeln!(
                    out,
                    "error: unknown command /{} (try /help)",
                    name.escape_default()
                );
            }
        }
    }

    /// Measures the instructions to classify a sequence of 1 and of [`MAX_STEPS`] steps
    /// (classifier, softmax and argmax), on inputs drawn from a fixed seed. Leaves the
    /// protocol's state alone.
    fn bench(&mut self, out: &mut Out) {
        let mut counts = [0u64; 2];
        for (count, steps) in counts.iter_mut().zip([1, MAX_STEPS]) {
            let mut sequence = Sequence::new();
            let mut rng = Rng::new(1);
            for _ in 0..steps {
                #[cfg(rnn_classify_dense)]
                let pushed = {
                    let mut x = [0.0f32; I];
                    x.iter_mut().for_each(|v| *v = rng.next_f32() * 2.0 - 1.0);
                    sequence.push(x)
                };
                #[cfg(not(rnn_classify_dense))]
                let pushed = sequence.push((rng.next_u64() % I as u64) as usize);
                if pushed.is_err() {
                    break;
                }
            }
            let (classifier, work, logits) = (&self.classifier, &mut self.work, &mut self.logits);
            let ticks = measure::ticks(&mut self.syst, || {
                let _ = classifier.classify(sequence.steps(), work, logits);
                let k = argmax(logits);
                softmax(logits);
                core::hint::black_box((k, &logits));
            });
            let Some(ticks) = ticks else {
                let _ = writeln!(out, "error: bench: SysTick did not count, or wrapped");
                return;
            };
            *count = measure::instructions(ticks, board::CLOCK_HZ);
        }
        let [one, full] = counts;
        let macs = MACS_PER_STEP;
        let per_step = full.saturating_sub(one) / (MAX_STEPS as u64 - 1).max(1);
        let hundredths = per_step * 100 / macs;
        let _ = writeln!(
            out,
            "bench: classify 1 step {one} instructions, {MAX_STEPS} steps {full} \
             instructions ({per_step} per further step, {}.{:02} per MAC), {macs} MACs/step \
             ({} L={LAYERS} D={DIRECTIONS} I={I} H={H} O={O}, {} input), clock {} Hz \
             (instructions are exact under qemu -icount shift=0)",
            hundredths / 100,
            hundredths % 100,
            CELL.name(),
            if model::DENSE { "dense" } else { "one-hot" },
            board::CLOCK_HZ,
        );
    }
}

#[cfg(rnn_classify_dense)]
const HELP: &str = "a line is one vector of comma-separated numbers, an empty line ends \
                    the sequence and classifies it";
#[cfg(not(rnn_classify_dense))]
const HELP: &str = "a line is a word to classify (start it with // to begin with /)";

/// Multiply-accumulates of one step of the whole sequence (both directions, every layer),
/// as `rnn-core` counts them ([`rnn_core::Header::macs_per_step`]): per direction, layer 0
/// does `G·H·H` recurrent MACs plus `G·H·I` for a dense input or `G·H` for a one-hot one
/// (one weight added per row), each further layer `G·H·H` recurrent plus `G·H·D·H` for its
/// input (both directions of the layer below). The output layer (`O·D·H`, once per
/// sequence) and the normalisation are not counted.
const MACS_PER_STEP: u64 = model::HEADER.macs_per_step(!model::DENSE);

/// `p` in units of 10⁻⁴, rounded to the nearest (half up), computed exactly from the
/// bits of `p`: `p = m · 2^e`, so `p · 10⁴ = m · 10⁴ / 2^-e`, in integers. Below 0 (or
/// NaN) is 0, 1 and above is 10,000.
fn per_ten_thousand(p: f32) -> u32 {
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return 10_000;
    }
    let bits = p.to_bits();
    let exponent = (bits >> 23) & 0xFF;
    let fraction = u64::from(bits & 0x7F_FFFF);
    // p = m · 2^-shift with m below 2^24; p < 1 makes the shift at least 24.
    let (m, shift) = if exponent == 0 {
        (fraction, 149)
    } else {
        (fraction | 1 << 23, 150 - exponent)
    };
    // m · 10⁴ < 2^38: from a shift of 39 on, p · 10⁴ is below one half.
    if shift >= 39 {
        return 0;
    }
    ((m * 10_000 + (1 << (shift - 1))) >> shift) as u32
}

/// Why a line is not a vector.
#[cfg(rnn_classify_dense)]
enum VectorError<'a> {
    /// It has `found` comma-separated fields, not `I`.
    Count { found: usize },
    /// Field `index` (from 1) is not a finite number.
    Number { index: usize, text: &'a str },
}

#[cfg(rnn_classify_dense)]
impl fmt::Display for VectorError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VectorError::Count { found } => write!(
                f,
                "expected {I} values separated by commas, the line has {found}"
            ),
            VectorError::Number { index, text } => write!(
                f,
                "value {index} is not a finite number: \"{}\"",
                text.escape_default()
            ),
        }
    }
}

/// Parses `I` numbers separated by commas (spaces around a number allowed) into `x`. Each
/// number is read by `core`'s `f32::from_str`, the correctly rounding parser that the
/// host's `str::parse::<f32>` runs, so the firmware gets the host's bits; infinities and
/// NaN, and numbers that round to infinity, are refused.
#[cfg(rnn_classify_dense)]
fn parse_vector<'a>(line: &'a str, x: &mut [f32; I]) -> Result<(), VectorError<'a>> {
    let found = line.split(',').count();
    if found != I {
        return Err(VectorError::Count { found });
    }
    for (index, (field, slot)) in line.split(',').zip(x.iter_mut()).enumerate() {
        let text = field.trim_matches(' ');
        match text.parse::<f32>() {
            Ok(v) if v.is_finite() => *slot = v,
            _ => {
                return Err(VectorError::Number {
                    index: index + 1,
                    text,
                })
            }
        }
    }
    Ok(())
}
