//! The firmware's UART protocol, as `firmware-example/README.md` documents it, computed on
//! the host with `rnn-core` (x86-64 build). The parity tests feed the same bytes to the
//! firmware under QEMU and to [`Reference`], and compare every byte of the answers.
//!
//! This is a second implementation on purpose: it shares `rnn-core` with the firmware
//! (the code whose bits must agree across targets) but not the firmware's line reader,
//! command parser or streaming logic, and it runs the cells with runtime sizes over the
//! file's bytes (one Elman layer through [`ElmanWeights`], every other architecture through
//! [`Network`]) rather than the firmware's compile-time sized `Elman<I, H, O, f32>` or
//! `Network<f32>` over aligned floats.

use rnn_core::sample::argmax;
use rnn_core::{
    generate, Cell, CellKind, ElmanWeights, Error, Input, ModelView, Network, Rng, Sampler, Vocab,
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

/// The protocol's state, fed byte by byte, answering what the firmware must answer.
pub struct Reference<'a> {
    view: ModelView<'a>,
    cell: Box<dyn Cell + 'a>,
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
    /// The state right after boot, for the model file `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        let view = ModelView::parse(bytes)?;
        let header = view.header();
        let cell: Box<dyn Cell + 'a> = if header.cell == CellKind::Elman && header.layers == 1 {
            Box::new(ElmanWeights::from_view(&view)?)
        } else {
            Box::new(Network::from_view(&view)?)
        };
        let (state, scratch, o) = (cell.state_len(), cell.scratch_len(), cell.output_size());
        Ok(Reference {
            view,
            cell,
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
        format!(
            "rnn-firmware board={board} cpu={cpu} cell={} layers={} input={} hidden={} \
             output={} vocab={} model_bytes={file_len}\nREADY\n",
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
        match b {
            b'\r' | b'\n' => {
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                let overlong = std::mem::replace(&mut self.overlong, false);
                match self.non_ascii.take() {
                    Some(x) => self.say(&format!("error: non-ASCII byte 0x{x:02X}")),
                    None if overlong => {
                        self.say(&format!("error: line longer than {LINE_MAX} bytes"))
                    }
                    None => self.line_done(&line),
                }
            }
            _ if self.overlong || self.non_ascii.is_some() => {}
            0x80.. => self.non_ascii = Some(b),
            _ if self.line.len() == LINE_MAX => self.overlong = true,
            _ => self.line.push(b),
        }
    }

    fn line_done(&mut self, line: &[u8]) {
        let text = std::str::from_utf8(line).expect("only ASCII is kept");
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
        let result = generate(
            &*self.cell,
            &self.vocab,
            prefix,
            self.sampler,
            &mut self.rng,
            MAX_LEN,
            &mut self.state,
            &mut self.scratch,
            &mut self.logits,
            |c| name.push(c),
        );
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
        self.cell
            .step(&mut self.state, x, &mut self.scratch, &mut self.logits)
            .expect("buffers sized from the model");
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
                    let c = self
                        .vocab
                        .symbol(argmax(&self.logits))
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
