//! The firmware's UART protocol, as `firmware-example/README.md` documents it, computed on
//! the host with `rnn-core` (x86-64 build). The parity tests feed the same bytes to the
//! firmware under QEMU and to [`Reference`], and compare every byte of the answers.
//!
//! A classifier (task `classify`) gets the classify mode instead: each line is a word, or
//! one vector of a sequence that an empty line ends, answered with the class's name and
//! its probability ([`Reference::with_max_steps`] for a capacity other than the
//! firmware's default of [`DEFAULT_MAX_STEPS`] steps).
//!
//! A tagger or regression model (task `tag` or `regress`, one direction) gets the
//! streaming mode: each line is one step's input vector, answered at once with the step's
//! class and probability (tagging) or values (regression), the state carried from line to
//! line until `/reset`.
//!
//! This is a second implementation on purpose: it shares `rnn-core` with the firmware
//! (the code whose bits must agree across targets) but not the firmware's line reader,
//! command parser or streaming logic, and it runs the cells with runtime sizes over the
//! file's bytes (one Elman layer through [`ElmanWeights`], every other architecture through
//! [`Network`]) rather than the firmware's compile-time sized `Elman<I, H, O, f32>` or
//! `Network<f32>` over aligned floats. A quantized next-symbol model (format version 3)
//! runs through [`QNetwork`] with `rnn-core`'s portable kernel and
//! [`generate_quantized`], where the Cortex-M4F firmware runs its own DSP kernel; a
//! quantized classifier through [`QClassifier`], a quantized tagger or regression model
//! through [`QNetwork`]'s `step_input` (the class the largest integer output, the
//! probabilities and values from `outputs_to_f32`), with the portable kernel too.

use rnn_core::sample::{argmax, argmax_i32, softmax};
use rnn_core::{
    generate, generate_quantized, Cell, CellKind, Classes, Classifier, ElmanWeights, Error, Input,
    ModelView, Network, QClassifier, QInput, QNetwork, Rng, Sampler, Steps, Stream, Task, Vocab,
};

/// The longest line the firmware reads, in bytes (without its end).
pub const LINE_MAX: usize = 64;
/// The most symbols generated after a prefix.
pub const MAX_LEN: usize = 50;
/// The sampler's seed at boot.
pub const DEFAULT_SEED: u64 = 0;
/// The temperature at boot.
pub const DEFAULT_TEMPERATURE: f32 = 1.0;
/// The byte that ends streaming mode.
pub const STREAM_END: u8 = 0x04;
/// A classifier firmware's sequence capacity when `RNN_MAX_STEPS` is not set.
pub const DEFAULT_MAX_STEPS: usize = 32;
/// Decimals of a regression model's values in streaming mode.
pub const DECIMALS: usize = 4;

/// The longest line a firmware for the model `view` (a classifier with a capacity of
/// `max_steps` steps) reads: [`LINE_MAX`]; for a classifier, tagger or regression model of
/// dense vectors 24 bytes per channel when that is more; for a classifier with a
/// vocabulary 4 bytes per step when that is more.
pub fn line_max(view: &ModelView<'_>, max_steps: usize) -> usize {
    let h = view.header();
    match (h.task, view.vocab().is_empty()) {
        (Task::Classify | Task::Tag | Task::Regress, true) => (24 * h.input as usize).max(LINE_MAX),
        (Task::Classify, false) => (4 * max_steps).max(LINE_MAX),
        (Task::Next | Task::Tag | Task::Regress, _) => LINE_MAX,
    }
}

/// Whether a firmware for the model `view` reads its lines as UTF-8 text (a classifier
/// with a vocabulary) rather than ASCII.
pub fn utf8_lines(view: &ModelView<'_>) -> bool {
    view.header().task == Task::Classify && !view.vocab().is_empty()
}

/// The firmware's answer to a UTF-8 line (`line`, of which the firmware keeps at most
/// `line_max` bytes) that does not decode or is too long: the first sequence that does not
/// decode, unless it only fails for want of bytes that come after the first `line_max`
/// (then the line is too long).
pub fn utf8_line_error(line: &[u8], line_max: usize) -> Option<String> {
    let first_invalid = |bytes: &[u8]| {
        std::str::from_utf8(bytes).err().map(|e| {
            let at = e.valid_up_to();
            (at, bytes[at], e.error_len().is_some())
        })
    };
    let too_long = format!("error: line longer than {line_max} bytes");
    let invalid =
        |at: usize, byte: u8| format!("error: invalid UTF-8 at byte offset {at} (0x{byte:02X})");
    if line.len() > line_max {
        return Some(match first_invalid(&line[..line_max]) {
            Some((at, byte, true)) => invalid(at, byte),
            _ => too_long,
        });
    }
    first_invalid(line).map(|(at, byte, _)| invalid(at, byte))
}

/// A classifier, float or quantized, and its buffers.
enum ClassifyModel<'a> {
    // The models boxed: their tables are hundreds of bytes, of different sizes.
    Float {
        classifier: Box<Classifier<'a>>,
        work: Vec<f32>,
        logits: Vec<f32>,
    },
    Quantized {
        classifier: Box<QClassifier<'a>>,
        work: Vec<i16>,
        scratch: Vec<i32>,
        logits: Vec<i32>,
        probabilities: Vec<f32>,
    },
}

impl ClassifyModel<'_> {
    /// The most likely class of `steps` (the first on a tie: of the `f32` logits, or of
    /// the integer ones) and its softmax probability.
    fn classify(&mut self, steps: Steps<'_>) -> Result<(usize, f32), Error> {
        match self {
            ClassifyModel::Float {
                classifier,
                work,
                logits,
            } => {
                classifier.classify(steps, work, logits)?;
                let k = argmax(logits);
                softmax(logits);
                Ok((k, logits[k]))
            }
            ClassifyModel::Quantized {
                classifier,
                work,
                scratch,
                logits,
                probabilities,
            } => {
                classifier.classify(steps, work, scratch, logits)?;
                let k = argmax_i32(logits);
                classifier.outputs_to_f32(logits, probabilities);
                softmax(probabilities);
                Ok((k, probabilities[k]))
            }
        }
    }
}

/// The classify mode's state.
struct Classify<'a> {
    model: ClassifyModel<'a>,
    classes: Classes<'a>,
    /// `I`: channels of a dense vector.
    input: usize,
    dense: bool,
    max_steps: usize,
    /// The word's symbols, or the sequence's values (step after step).
    tokens: Vec<u16>,
    values: Vec<f32>,
    /// Dense input: the sequence being received has had its error.
    failed: bool,
}

/// A tagger or regression model, float or quantized, its recurrent state (carried from
/// line to line) and its buffers.
enum PerStepModel<'a> {
    // The models boxed: their tables are hundreds of bytes, of different sizes.
    Float {
        stream: Box<Stream<'a>>,
        state: Vec<f32>,
        scratch: Vec<f32>,
    },
    Quantized {
        net: Box<QNetwork<'a>>,
        state: Vec<i16>,
        scratch: Vec<i32>,
        xq: Vec<i16>,
        out_q: Vec<i32>,
    },
}

/// The streaming mode's state (a tagger or regression model of dense vectors).
struct PerStep<'a> {
    model: PerStepModel<'a>,
    task: Task,
    /// The class or target names.
    names: Classes<'a>,
    /// `I`.
    input: usize,
    /// The step's outputs (logits, or values in the targets' units).
    out: Vec<f32>,
}

impl PerStep<'_> {
    /// One step with the vector `x`; the outputs in `out`.
    fn step(&mut self, x: &[f32]) {
        match &mut self.model {
            PerStepModel::Float {
                stream,
                state,
                scratch,
            } => stream.step(state, Input::Dense(x), scratch, &mut self.out),
            PerStepModel::Quantized {
                net,
                state,
                scratch,
                xq,
                out_q,
            } => net
                .step_input(state, Input::Dense(x), xq, scratch, out_q)
                .map(|()| net.outputs_to_f32(out_q, &mut self.out)),
        }
        .expect("buffers sized from the model");
    }

    /// The most likely class of the last step (the first on a tie: of the `f32` logits,
    /// or of the integer ones).
    fn class(&self) -> usize {
        match &self.model {
            PerStepModel::Float { .. } => argmax(&self.out),
            PerStepModel::Quantized { out_q, .. } => argmax_i32(out_q),
        }
    }

    /// Back to the zero state.
    fn reset(&mut self) {
        match &mut self.model {
            PerStepModel::Float { state, .. } => state.fill(0.0),
            PerStepModel::Quantized { state, .. } => state.fill(0),
        }
    }
}

/// A quantized next-symbol model and its integer buffers.
struct Quantized<'a> {
    net: QNetwork<'a>,
    state: Vec<i16>,
    scratch: Vec<i32>,
    logits: Vec<i32>,
}

/// The protocol's state, fed byte by byte, answering what the firmware must answer.
pub struct Reference<'a> {
    view: ModelView<'a>,
    /// A float next-symbol model's cells (`None` for the other tasks).
    cell: Option<Box<dyn Cell + 'a>>,
    /// A quantized next-symbol model (`None` for the other tasks and float models).
    quantized: Option<Quantized<'a>>,
    /// A classifier's state (`None` for the other tasks).
    classify: Option<Classify<'a>>,
    /// A tagger's or regression model's state (`None` for the other tasks).
    per_step: Option<PerStep<'a>>,
    line_max: usize,
    /// Lines are UTF-8 (a classifier with a vocabulary), else ASCII.
    utf8: bool,
    vocab: Vocab<'a>,
    rng: Rng,
    sampler: Sampler,
    streaming: bool,
    after_cr: bool,
    line: Vec<u8>,
    overlong: bool,
    non_ascii: Option<u8>,
    state: Vec<f32>,
    scratch: Vec<f32>,
    logits: Vec<f32>,
    out: Vec<u8>,
    /// The last byte answered since boot (the banner ends with a newline).
    last: u8,
}

impl<'a> Reference<'a> {
    /// The state right after boot, for the model file `bytes` (a classifier with the
    /// default capacity of [`DEFAULT_MAX_STEPS`] steps).
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::with_max_steps(bytes, DEFAULT_MAX_STEPS)
    }

    /// The state right after boot, for the model file `bytes`; a classifier keeps
    /// sequences of at most `max_steps` steps (`RNN_MAX_STEPS`).
    pub fn with_max_steps(bytes: &'a [u8], max_steps: usize) -> Result<Self, Error> {
        let view = ModelView::parse(bytes)?;
        let header = view.header();
        let mut per_step = None;
        let mut quantized = None;
        let (cell, classify): (Option<Box<dyn Cell + 'a>>, _) = match header.task {
            Task::Next if header.quant.is_quantized() => {
                let net = QNetwork::from_view(&view)?;
                let o = net.output_size();
                quantized = Some(Quantized {
                    net,
                    state: vec![0; net.state_len()],
                    scratch: vec![0; net.scratch_len()],
                    logits: vec![0; o],
                });
                (None, None)
            }
            Task::Next if header.cell == CellKind::Elman && header.layers == 1 => {
                (Some(Box::new(ElmanWeights::from_view(&view)?)), None)
            }
            Task::Next => (Some(Box::new(Network::from_view(&view)?)), None),
            Task::Tag | Task::Regress => {
                let model = if header.quant.is_quantized() {
                    let net = QNetwork::from_view(&view)?;
                    PerStepModel::Quantized {
                        net: Box::new(net),
                        state: vec![0; net.state_len()],
                        scratch: vec![0; net.scratch_len()],
                        xq: vec![0; header.input as usize],
                        out_q: vec![0; net.output_size()],
                    }
                } else {
                    let stream = Stream::from_view(&view)?;
                    PerStepModel::Float {
                        stream: Box::new(stream),
                        state: vec![0.0; stream.state_len()],
                        scratch: vec![0.0; stream.scratch_len()],
                    }
                };
                if !view.vocab().is_empty() {
                    return Err(Error::InvalidModel {
                        reason: "the streaming mode reads dense vectors only",
                    });
                }
                per_step = Some(PerStep {
                    model,
                    task: header.task,
                    names: view.classes(),
                    input: header.input as usize,
                    out: vec![0.0; header.output as usize],
                });
                (None, None)
            }
            Task::Classify => {
                let o = header.output as usize;
                let model = if header.quant.is_quantized() {
                    let classifier = QClassifier::from_view(&view)?;
                    ClassifyModel::Quantized {
                        classifier: Box::new(classifier),
                        work: vec![0; classifier.work_len(max_steps)],
                        scratch: vec![0; classifier.scratch_len()],
                        logits: vec![0; o],
                        probabilities: vec![0.0; o],
                    }
                } else {
                    let classifier = Classifier::from_view(&view)?;
                    ClassifyModel::Float {
                        classifier: Box::new(classifier),
                        work: vec![0.0; classifier.work_len(max_steps)],
                        logits: vec![0.0; o],
                    }
                };
                let classify = Classify {
                    model,
                    classes: view.classes(),
                    input: header.input as usize,
                    dense: view.vocab().is_empty(),
                    max_steps,
                    tokens: Vec::new(),
                    values: Vec::new(),
                    failed: false,
                };
                (None, Some(classify))
            }
        };
        let (state, scratch, o) = match &cell {
            Some(cell) => (cell.state_len(), cell.scratch_len(), cell.output_size()),
            None => (0, 0, 0),
        };
        Ok(Reference {
            view,
            cell,
            quantized,
            classify,
            per_step,
            line_max: line_max(&view, max_steps),
            utf8: utf8_lines(&view),
            vocab: view.vocab(),
            rng: Rng::new(DEFAULT_SEED),
            sampler: Sampler::Temperature(DEFAULT_TEMPERATURE),
            streaming: false,
            after_cr: false,
            line: Vec::new(),
            overlong: false,
            non_ascii: None,
            state: vec![0.0; state],
            scratch: vec![0.0; scratch],
            logits: vec![0.0; o],
            out: Vec::new(),
            last: b'\n',
        })
    }

    /// The two lines the firmware prints at boot on `board` (with core `cpu`).
    pub fn banner(&self, board: &str, cpu: &str, file_len: usize) -> String {
        let h = self.view.header();
        // A quantized model names its weights' type; float banners stay as they were.
        let weights = if h.quant.is_quantized() {
            format!(" weights={}", h.quant.precision.name())
        } else {
            String::new()
        };
        if self.per_step.is_some() {
            return format!(
                "rnn-firmware board={board} cpu={cpu} task={} cell={} layers={} input={} \
                 hidden={} output={} vocab={} normalized={}{weights} \
                 model_bytes={file_len}\nREADY\n",
                h.task.name(),
                h.cell.name(),
                h.layers,
                h.input,
                h.hidden,
                h.output,
                self.vocab.len(),
                u8::from(h.normalized),
            );
        }
        if let Some(c) = &self.classify {
            return format!(
                "rnn-firmware board={board} cpu={cpu} task=classify cell={} layers={} \
                 directions={} input={} hidden={} output={} vocab={} normalized={} \
                 max_steps={}{weights} model_bytes={file_len}\nREADY\n",
                h.cell.name(),
                h.layers,
                h.directions(),
                h.input,
                h.hidden,
                h.output,
                self.vocab.len(),
                u8::from(h.normalized),
                c.max_steps
            );
        }
        format!(
            "rnn-firmware board={board} cpu={cpu} cell={} layers={} input={} hidden={} \
             output={} vocab={}{weights} model_bytes={file_len}\nREADY\n",
            h.cell.name(),
            h.layers,
            h.input,
            h.hidden,
            h.output,
            self.vocab.len()
        )
    }

    /// Feeds `input` and returns everything answered to it.
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        for &b in input {
            self.byte(b);
        }
        std::mem::take(&mut self.out)
    }

    fn emit(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        if let Some(&b) = bytes.last() {
            self.last = b;
        }
    }

    fn say(&mut self, text: &str) {
        self.emit(text.as_bytes());
        self.emit(b"\n");
    }

    fn byte(&mut self, b: u8) {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        if after_cr && b == b'\n' {
            return;
        }
        if self.streaming {
            self.stream(b);
            return;
        }
        if self.utf8 {
            // The whole line is kept here (the firmware keeps `line_max` bytes).
            if b == b'\r' || b == b'\n' {
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                match utf8_line_error(&line, self.line_max) {
                    Some(text) => self.say(&text),
                    None => self.line_done(&line),
                }
            } else {
                self.line.push(b);
            }
            return;
        }
        match b {
            b'\r' | b'\n' => {
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                let overlong = std::mem::replace(&mut self.overlong, false);
                let problem = match self.non_ascii.take() {
                    Some(x) => Some(format!("error: non-ASCII byte 0x{x:02X}")),
                    None if overlong => {
                        Some(format!("error: line longer than {} bytes", self.line_max))
                    }
                    None => None,
                };
                match problem {
                    // In a dense sequence a dropped line is the sequence's error: only
                    // its first one is answered.
                    Some(text) => match &mut self.classify {
                        Some(c) if c.dense => {
                            if !std::mem::replace(&mut c.failed, true) {
                                c.values.clear();
                                self.say(&text);
                            }
                        }
                        _ => self.say(&text),
                    },
                    None => self.line_done(&line),
                }
            }
            _ if self.overlong || self.non_ascii.is_some() => {}
            0x80.. => self.non_ascii = Some(b),
            _ if self.line.len() == self.line_max => self.overlong = true,
            _ => self.line.push(b),
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let text = std::str::from_utf8(line).expect("only ASCII or valid UTF-8 is kept");
        if self.per_step.is_some() {
            if let Some(rest) = text.strip_prefix("//") {
                self.per_step_input(&format!("/{rest}"));
            } else if let Some(command) = text.strip_prefix('/') {
                self.per_step_command(command);
            } else {
                self.per_step_input(text);
            }
            return;
        }
        if self.classify.is_some() {
            if let Some(rest) = text.strip_prefix("//") {
                self.classify_input(&format!("/{rest}"));
            } else if let Some(command) = text.strip_prefix('/') {
                self.classify_command(command);
            } else {
                self.classify_input(text);
            }
            return;
        }
        if let Some(rest) = text.strip_prefix("//") {
            self.complete(&format!("/{rest}"));
        } else if let Some(command) = text.strip_prefix('/') {
            self.command(command);
        } else {
            self.complete(text);
        }
    }

    fn complete(&mut self, prefix: &str) {
        let mut name = prefix.to_string();
        let result = match &mut self.quantized {
            Some(q) => generate_quantized(
                &q.net,
                &self.vocab,
                prefix,
                self.sampler,
                &mut self.rng,
                MAX_LEN,
                &mut q.state,
                &mut q.scratch,
                &mut q.logits,
                |c| name.push(c),
            ),
            None => generate(
                self.cell.as_deref().expect("a next-symbol model"),
                &self.vocab,
                prefix,
                self.sampler,
                &mut self.rng,
                MAX_LEN,
                &mut self.state,
                &mut self.scratch,
                &mut self.logits,
                |c| name.push(c),
            ),
        };
        match result {
            Ok(_) => self.say(&name),
            Err(e) => self.say(&format!("error: {e}")),
        }
    }

    fn command(&mut self, command: &str) {
        let words: Vec<&str> = command.split(' ').filter(|w| !w.is_empty()).collect();
        const SEED_USAGE: &str =
            "error: usage: /seed N (N a whole number from 0 to 18446744073709551615)";
        const SAMPLE_USAGE: &str = "error: usage: /sample T (T above 0, written as digits \
                                    with an optional point, at most 7 digits)";
        match words.as_slice() {
            ["seed", n] => match n.parse::<u64>() {
                Ok(seed) => {
                    self.rng = Rng::new(seed);
                    self.say(&format!("ok: seed {seed}"));
                }
                Err(_) => self.say(SEED_USAGE),
            },
            ["seed", ..] => self.say(SEED_USAGE),
            ["sample", t] => match temperature(t) {
                Some(value) => {
                    self.sampler = Sampler::Temperature(value);
                    self.say(&format!("ok: sample {t}"));
                }
                None => self.say(SAMPLE_USAGE),
            },
            ["sample", ..] => self.say(SAMPLE_USAGE),
            ["greedy"] => {
                self.sampler = Sampler::Greedy;
                self.say("ok: greedy");
            }
            ["stream"] => {
                self.say(
                    "ok: stream (each byte is answered with the predicted next character; \
                     byte 0x04 ends)",
                );
                self.state.fill(0.0);
                if let Some(q) = &mut self.quantized {
                    q.state.fill(0);
                }
                self.step(Input::Start);
                self.streaming = true;
            }
            ["help"] => self.say(
                "help: a line is a prefix to complete (start it with // to begin with /); \
                 commands: /seed N, /greedy, /sample T, /stream, /bench, /mem, /exit, /help",
            ),
            ["bench" | "mem" | "exit"] => {
                panic!("the reference cannot predict /bench, /mem or /exit: send them apart")
            }
            [name @ ("greedy" | "stream" | "bench" | "mem" | "exit" | "help"), ..] => {
                self.say(&format!("error: /{name} takes no argument"))
            }
            _ => {
                let name = words.first().copied().unwrap_or("");
                self.say(&format!(
                    "error: unknown command /{} (try /help)",
                    name.escape_default()
                ));
            }
        }
    }

    fn step(&mut self, x: Input<'_>) {
        if let Some(q) = &mut self.quantized {
            let x = match x {
                Input::Token(t) => QInput::Token(t),
                _ => QInput::Start,
            };
            return q
                .net
                .step(&mut q.state, x, &mut q.scratch, &mut q.logits)
                .expect("buffers sized from the model");
        }
        self.cell
            .as_deref()
            .expect("a next-symbol model")
            .step(&mut self.state, x, &mut self.scratch, &mut self.logits)
            .expect("buffers sized from the model");
    }

    /// Classify mode: a word, or a vector of the sequence (the empty line ends it).
    fn classify_input(&mut self, text: &str) {
        let c = self.classify.as_mut().expect("a classifier");
        if !c.dense {
            c.tokens.clear();
            for (k, ch) in text.chars().enumerate() {
                match self.vocab.index_of(ch) {
                    Err(e) => return self.say(&format!("error: {e}")),
                    Ok(_) if k >= c.max_steps => {
                        let e = Error::SequenceTooLong {
                            capacity: c.max_steps,
                        };
                        return self.say(&format!("error: {e}"));
                    }
                    Ok(token) => c.tokens.push(token as u16),
                }
            }
            return self.classify_sequence();
        }
        if text.is_empty() {
            if std::mem::take(&mut c.failed) {
                c.values.clear();
            } else {
                self.classify_sequence();
            }
            return;
        }
        if c.failed {
            return;
        }
        let i = c.input;
        let error = match vector(text, i) {
            Err(e) => Some(e),
            Ok(_) if c.values.len() == c.max_steps * i => Some(format!(
                "error: {}",
                Error::SequenceTooLong {
                    capacity: c.max_steps
                }
            )),
            Ok(x) => {
                c.values.extend(x);
                None
            }
        };
        if let Some(e) = error {
            c.failed = true;
            c.values.clear();
            self.say(&e);
        }
    }

    /// Classifies the word or sequence received, answers, and forgets it.
    fn classify_sequence(&mut self) {
        let c = self.classify.as_mut().expect("a classifier");
        let steps = if c.dense {
            Steps::Dense(&c.values)
        } else {
            Steps::Tokens(&c.tokens)
        };
        let result = c.model.classify(steps);
        c.values.clear();
        c.tokens.clear();
        let answer = match result {
            Err(e) => format!("error: {e}"),
            Ok((k, p)) => {
                let name = c.classes.name(k).expect("O class names");
                let q = probability_e4(p);
                format!("{name} {}.{:04}", q / 10_000, q % 10_000)
            }
        };
        self.say(&answer);
    }

    fn classify_command(&mut self, command: &str) {
        let c = self.classify.as_ref().expect("a classifier");
        let words: Vec<&str> = command.split(' ').filter(|w| !w.is_empty()).collect();
        let answer = match words.as_slice() {
            ["classes"] => format!(
                "classes: {}",
                c.classes.iter().collect::<Vec<_>>().join(", ")
            ),
            ["help"] if c.dense => "help: a line is one vector of comma-separated numbers, an \
                                   empty line ends the sequence and classifies it; commands: \
                                   /classes, /bench, /mem, /exit, /help"
                .to_string(),
            ["help"] => "help: a line is a word to classify (start it with // to begin with \
                         /); commands: /classes, /bench, /mem, /exit, /help"
                .to_string(),
            ["bench" | "mem" | "exit"] => {
                panic!("the reference cannot predict /bench, /mem or /exit: send them apart")
            }
            [name @ ("classes" | "bench" | "mem" | "exit" | "help"), ..] => {
                format!("error: /{name} takes no argument")
            }
            _ => format!(
                "error: unknown command /{} (try /help)",
                words.first().copied().unwrap_or("").escape_default()
            ),
        };
        self.say(&answer);
    }

    /// Streaming mode: one step's vector, answered at once; the state carries over.
    fn per_step_input(&mut self, text: &str) {
        let p = self
            .per_step
            .as_mut()
            .expect("a tagger or regression model");
        let x = match vector(text, p.input) {
            Ok(x) => x,
            Err(e) => return self.say(&e),
        };
        p.step(&x);
        let answer = if p.task == Task::Tag {
            let k = p.class();
            let mut probabilities = p.out.clone();
            softmax(&mut probabilities);
            let name = p.names.name(k).expect("O class names");
            let q = probability_e4(probabilities[k]);
            format!("{name} p={}.{:04}", q / 10_000, q % 10_000)
        } else {
            p.out
                .iter()
                .map(|v| format!("{v:.DECIMALS$}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        self.say(&answer);
    }

    fn per_step_command(&mut self, command: &str) {
        let p = self
            .per_step
            .as_mut()
            .expect("a tagger or regression model");
        let words: Vec<&str> = command.split(' ').filter(|w| !w.is_empty()).collect();
        let (names, what) = if p.task == Task::Tag {
            ("classes", "class")
        } else {
            ("targets", "values")
        };
        let answer = match words.as_slice() {
            ["reset"] => {
                p.reset();
                "ok: reset".to_string()
            }
            [name] if *name == names => {
                format!("{names}: {}", p.names.iter().collect::<Vec<_>>().join(", "))
            }
            ["help"] => format!(
                "help: a line is one step's vector of comma-separated numbers, answered with \
                 the step's {what}; the state carries over to the next line until /reset; \
                 commands: /{names}, /reset, /bench, /mem, /exit, /help"
            ),
            ["bench" | "mem" | "exit"] => {
                panic!("the reference cannot predict /bench, /mem or /exit: send them apart")
            }
            [name, _, ..]
                if *name == names || ["reset", "bench", "mem", "exit", "help"].contains(name) =>
            {
                format!("error: /{name} takes no argument")
            }
            _ => format!(
                "error: unknown command /{} (try /help)",
                words.first().copied().unwrap_or("").escape_default()
            ),
        };
        self.say(&answer);
    }

    fn end_line(&mut self) {
        if self.last != b'\n' {
            self.emit(b"\n");
        }
    }

    fn stream(&mut self, b: u8) {
        if b == STREAM_END {
            self.streaming = false;
            self.end_line();
            self.say("ok: stream ended");
        } else if !b.is_ascii() {
            self.end_line();
            self.say(&format!("error: non-ASCII byte 0x{b:02X}"));
        } else {
            match self.vocab.index_of(char::from(b)) {
                Ok(token) => {
                    self.step(Input::Token(token));
                    // Greedy: a quantized model's integer logits are compared as integers.
                    let best = match &self.quantized {
                        Some(q) => argmax_i32(&q.logits),
                        None => argmax(&self.logits),
                    };
                    let c = self
                        .vocab
                        .symbol(best)
                        .expect("vocabulary as long as the output");
                    let mut buf = [0u8; 4];
                    self.emit(c.encode_utf8(&mut buf).as_bytes());
                }
                Err(e) => {
                    self.end_line();
                    self.say(&format!("error: {e}"));
                }
            }
        }
    }
}

/// The firmware's temperature syntax: `DIGITS[.DIGITS]`, at most 10 digits after the point,
/// all digits together as one number below 2^24, value above 0. Parsed here with Rust's
/// general (correctly rounding) parser, which must give the firmware's bits.
pub fn temperature(text: &str) -> Option<f32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = || whole.bytes().chain(fraction.bytes());
    if (whole.is_empty() && fraction.is_empty())
        || fraction.len() > 10
        || !digits().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let m = digits().try_fold(0u64, |m, b| {
        let m = m * 10 + u64::from(b - b'0');
        (m < 1 << 24).then_some(m)
    })?;
    let value: f32 = text.parse().ok()?;
    (m > 0 && value > 0.0).then_some(value)
}

/// A line of `channels` comma-separated numbers (spaces around each allowed), each parsed
/// by Rust's `str::parse::<f32>` and finite; else the firmware's `error:` line.
pub fn vector(line: &str, channels: usize) -> Result<Vec<f32>, String> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != channels {
        return Err(format!(
            "error: expected {channels} values separated by commas, the line has {}",
            fields.len()
        ));
    }
    fields
        .iter()
        .enumerate()
        .map(|(k, field)| {
            let text = field.trim_matches(' ');
            match text.parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!(
                    "error: value {} is not a finite number: \"{}\"",
                    k + 1,
                    text.escape_default()
                )),
            }
        })
        .collect()
}

/// A probability in units of 10⁻⁴, rounded to the nearest with ties up: `p · 10⁴` is
/// exact in `f64` (a 24-bit significand times a 14-bit integer), and so is adding one half
/// whenever the result can reach 1. Below zero or NaN is 0, 1 and above 10,000.
pub fn probability_e4(p: f32) -> u32 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p >= 1.0 {
        10_000
    } else {
        (f64::from(p) * 10_000.0 + 0.5).floor() as u32
    }
}
