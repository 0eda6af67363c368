//! The one error type of `rnn-core`: every way a model file, an input or a call can be
//! wrong, each with a one-line [`Display`](core::fmt::Display).

use core::fmt;

use crate::format::{CellKind, Task};
use crate::quant::Precision;
use crate::text::{FmtText, Text};

/// Which of the three sizes of a model a [`Error::SizeMismatch`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// `I`, the length of the input vector `x_t`.
    Input,
    /// `H`, the length of the hidden state `a_t`.
    Hidden,
    /// `O`, the length of the prediction `y_t`.
    Output,
    /// The number of stacked recurrent layers.
    Layers,
    /// Working memory or scratch space handed to a model.
    Work,
    /// The number of directions a classifier reads its sequence in.
    Directions,
}

impl Dim {
    /// How messages name it (`"hidden size H"`).
    pub const fn name(self) -> &'static str {
        match self {
            Dim::Input => "input size I",
            Dim::Hidden => "hidden size H",
            Dim::Output => "output size O",
            Dim::Layers => "number of layers",
            Dim::Work => "working memory",
            Dim::Directions => "number of directions",
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong in `rnn-core`. Nothing in the crate panics; it returns one
/// of these instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The file does not start with [`MAGIC`](crate::format::MAGIC): not a `.rnn` model.
    BadMagic {
        /// The first bytes of the input (zero-padded when it is shorter than four).
        found: [u8; 4],
    },
    /// The file's format version is not the one this build reads.
    UnsupportedVersion {
        /// Version stored in the file.
        found: u16,
        /// The newest version this build of `rnn-core` reads (it reads every one from 1 up).
        supported: u16,
    },
    /// The file names a cell kind that this build does not know.
    UnknownCellKind {
        /// The raw cell-kind byte.
        found: u8,
    },
    /// The file holds a different kind of cell than the caller asked for.
    WrongCellKind {
        /// Cell kind the caller runs.
        expected: CellKind,
        /// Cell kind stored in the file.
        found: CellKind,
    },
    /// One of the sizes in the file differs from the one compiled into the caller.
    SizeMismatch {
        /// Which size.
        dim: Dim,
        /// Size the caller was built for.
        expected: u32,
        /// Size stored in the file.
        found: u32,
    },
    /// A size is zero or so large that the weight count does not fit in memory.
    InvalidSize {
        /// Which size.
        dim: Dim,
        /// The size stored in the file.
        found: u32,
    },
    /// The input ends before the model does.
    Truncated,
    /// The bytes are not a valid encoding of the model structure (bad varint, bad UTF-8 in
    /// the vocabulary, ...).
    Malformed,
    /// The CRC-32 at the end of the file does not match the bytes before it.
    ChecksumMismatch {
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 computed over the bytes before it.
        computed: u32,
    },
    /// The number of weight bytes does not match the sizes in the header.
    WeightCountMismatch {
        /// Number of `f32` weights the sizes call for.
        expected: usize,
        /// Number of weight bytes in the file.
        found_bytes: usize,
    },
    /// A weight is NaN or infinite.
    NonFiniteWeight {
        /// Index of the weight, counting over all tensors in file order.
        index: usize,
    },
    /// Bytes follow the checksum.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The vocabulary lists a symbol twice.
    VocabNotASet {
        /// The repeated symbol.
        symbol: char,
    },
    /// A non-empty vocabulary must have one symbol per input and per output unit.
    VocabSizeMismatch {
        /// Number of symbols in the vocabulary.
        vocab: usize,
        /// Input size `I` in the file.
        input: u32,
        /// Output size `O` in the file.
        output: u32,
    },
    /// A character that is not in the model's vocabulary.
    UnknownSymbol {
        /// The character.
        symbol: char,
    },
    /// A token index outside `0..len`.
    TokenOutOfRange {
        /// The index given.
        token: usize,
        /// The number of tokens.
        len: usize,
    },
    /// A slice handed to a step has the wrong length for the model.
    BufferLength {
        /// Which size the buffer must have.
        dim: Dim,
        /// The length it must have.
        expected: usize,
        /// The length it has.
        found: usize,
    },
    /// A sampling temperature that is not a finite number above zero.
    InvalidTemperature,
    /// The caller's output buffer is too small for the encoded model.
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The file names a task that this build does not know.
    UnknownTask {
        /// The raw task byte.
        found: u8,
    },
    /// The file sets flag bits that this build does not know.
    UnknownFlags {
        /// The raw flags byte.
        found: u8,
    },
    /// The file holds a model for another task than the caller runs.
    WrongTask {
        /// Task the caller runs.
        expected: Task,
        /// Task stored in the file.
        found: Task,
    },
    /// The model normalises its inputs and the program was built for one that does not,
    /// or the other way round.
    NormalizationMismatch {
        /// Whether the program expects normalised inputs.
        expected: bool,
        /// Whether the model normalises them.
        found: bool,
    },
    /// The model's input stages (its convolutional front-end, or whether it normalises
    /// each sequence) differ from those the program was built for
    /// ([`crate::Header::check_built_for`]).
    FrontEndMismatch,
    /// The header's fields contradict each other.
    InvalidModel {
        /// Why.
        reason: &'static str,
    },
    /// A classifier needs one class name per output, a next-symbol model none.
    ClassCountMismatch {
        /// Number of class names in the file.
        classes: usize,
        /// Output size `O` in the file.
        output: u32,
    },
    /// A class name is empty, repeated, or not ended by a newline.
    BadClassName {
        /// Index of the name.
        index: usize,
    },
    /// A sequence has more steps than the buffer holding it.
    SequenceTooLong {
        /// The buffer's capacity, in steps.
        capacity: usize,
    },
    /// A classifier was given a sequence with no steps.
    EmptySequence,
    /// The model stores its weights in another number type than the caller runs: a
    /// quantized file given to a float network, or the other way round.
    WrongPrecision {
        /// The type the caller runs.
        expected: Precision,
        /// The type the file holds.
        found: Precision,
    },
    /// The weight bytes of a quantized model do not match its sizes.
    WeightBytesMismatch {
        /// Bytes the sizes call for.
        expected: usize,
        /// Bytes in the file.
        found: usize,
    },
    /// `f32` weights handed to [`ElmanWeights::with_floats`](crate::ElmanWeights::with_floats)
    /// differ from the model file's.
    FloatsDiffer {
        /// Index of the first weight that differs (or the shorter length).
        index: usize,
    },
}

impl Error {
    /// Writes the one-line message (what [`Display`](core::fmt::Display) prints) into
    /// `t` without `core::fmt`: how a firmware prints it (see [`crate::text`]).
    pub fn write_to<T: Text + ?Sized>(&self, t: &mut T) {
        match *self {
            Error::BadMagic { found } => {
                t.str("not an rnn model: bad magic bytes ");
                for (k, b) in found.iter().enumerate() {
                    if k > 0 {
                        t.str(" ");
                    }
                    t.hex(u64::from(*b), 2, false);
                }
            }
            Error::UnsupportedVersion { found, supported } => {
                t.str("unsupported model format version ");
                t.uint(found.into());
                t.str(" (this build reads versions 1 to ");
                t.uint(supported.into());
                t.str(")");
            }
            Error::UnknownCellKind { found } => {
                t.str("unknown cell kind ");
                t.uint(found.into());
                t.str(" in model");
            }
            Error::WrongCellKind { expected, found } => {
                t.str("wrong cell kind: expected ");
                t.str(expected.name());
                t.str(", the model holds ");
                t.str(found.name());
            }
            Error::SizeMismatch {
                dim,
                expected,
                found,
            } => {
                t.str("size mismatch: ");
                t.str(dim.name());
                t.str(" expected ");
                t.uint(expected as u64);
                t.str(", the model has ");
                t.uint(found as u64);
            }
            Error::InvalidSize { dim, found } => {
                t.str("invalid model: ");
                t.str(dim.name());
                t.str(" of ");
                t.uint(found as u64);
                t.str(" is out of range");
            }
            Error::Truncated => t.str("model file is truncated"),
            Error::Malformed => t.str("model file is malformed"),
            Error::ChecksumMismatch { stored, computed } => {
                t.str("checksum mismatch: stored CRC-32 ");
                t.hex(stored.into(), 8, false);
                t.str(", computed ");
                t.hex(computed.into(), 8, false);
            }
            Error::WeightCountMismatch {
                expected,
                found_bytes,
            } => {
                t.str("weight count mismatch: the sizes need ");
                t.uint(expected as u64);
                t.str(" weights (");
                t.uint(expected.saturating_mul(4) as u64);
                t.str(" bytes), the file has ");
                t.uint(found_bytes as u64);
                t.str(" bytes");
            }
            Error::NonFiniteWeight { index } => {
                t.str("weight ");
                t.uint(index as u64);
                t.str(" is not a finite number");
            }
            Error::TrailingBytes { count } => {
                t.uint(count as u64);
                t.str(" trailing bytes after the model's checksum");
            }
            Error::VocabNotASet { symbol } => {
                t.str("vocabulary lists the symbol ");
                t.char_debug(symbol);
                t.str(" more than once");
            }
            Error::VocabSizeMismatch {
                vocab,
                input,
                output,
            } => {
                t.str("vocabulary has ");
                t.uint(vocab as u64);
                t.str(" symbols but the model has input size ");
                t.uint(input as u64);
                t.str(" and output size ");
                t.uint(output as u64);
            }
            Error::UnknownSymbol { symbol } => {
                t.str("character ");
                t.char_debug(symbol);
                t.str(" is not in the model's vocabulary");
            }
            Error::TokenOutOfRange { token, len } => {
                t.str("token ");
                t.uint(token as u64);
                t.str(" is out of range (the model has ");
                t.uint(len as u64);
                t.str(" tokens)");
            }
            Error::BufferLength {
                dim,
                expected,
                found,
            } => {
                t.str("buffer for ");
                t.str(dim.name());
                t.str(" has length ");
                t.uint(found as u64);
                t.str(", the model needs ");
                t.uint(expected as u64);
            }
            Error::InvalidTemperature => {
                t.str("sampling temperature must be a finite number above zero")
            }
            Error::BufferTooSmall { needed, available } => {
                t.str("output buffer too small: the model needs ");
                t.uint(needed as u64);
                t.str(" bytes, ");
                t.uint(available as u64);
                t.str(" available");
            }
            Error::UnknownTask { found } => {
                t.str("unknown task ");
                t.uint(found.into());
                t.str(" in model");
            }
            Error::UnknownFlags { found } => {
                t.str("unknown flags 0x");
                t.hex(found.into(), 2, false);
                t.str(" in model");
            }
            Error::WrongTask { expected, found } => {
                t.str("wrong task: expected a ");
                t.str(expected.name());
                t.str(" model, the file holds a ");
                t.str(found.name());
                t.str(" model");
            }
            Error::InvalidModel { reason } => {
                t.str("invalid model: ");
                t.str(reason);
            }
            Error::FrontEndMismatch => t.str("front-end mismatch: not the build's input stages"),
            Error::NormalizationMismatch { expected, found } => {
                t.str("normalisation mismatch: expected ");
                t.str(if expected {
                    "normalised inputs"
                } else {
                    "raw inputs"
                });
                t.str(", the model ");
                t.str(if found {
                    "normalises them"
                } else {
                    "does not normalise them"
                });
            }
            Error::ClassCountMismatch { classes, output } => {
                t.str("model has ");
                t.uint(classes as u64);
                t.str(" class names for ");
                t.uint(output as u64);
                t.str(" outputs");
            }
            Error::BadClassName { index } => {
                t.str("class name ");
                t.uint(index as u64);
                t.str(" is empty, repeated or not ended by a newline");
            }
            Error::SequenceTooLong { capacity } => {
                t.str("sequence longer than the buffer's ");
                t.uint(capacity as u64);
                t.str(" steps");
            }
            Error::EmptySequence => t.str("the sequence has no steps"),
            Error::WrongPrecision { expected, found } => {
                t.str("wrong number type: this program runs ");
                t.str(expected.name());
                t.str(" models, the file holds ");
                t.str(found.name());
                t.str(" weights");
                if found.is_integer() {
                    t.str(" (run it with the quantized network)");
                }
            }
            Error::WeightBytesMismatch { expected, found } => {
                t.str("weight size mismatch: the sizes need ");
                t.uint(expected as u64);
                t.str(" bytes of quantized weights, the file has ");
                t.uint(found as u64);
            }
            Error::FloatsDiffer { index } => {
                t.str("the f32 weights differ from the model file's, from weight ");
                t.uint(index as u64);
                t.str(" on");
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = FmtText { f, result: Ok(()) };
        self.write_to(&mut t);
        t.result
    }
}

/// [`Error::BufferLength`] naming `dim`, `expected` and `found` unless
/// `found == expected`: the check every step makes of its buffers, for a firmware's own
/// buffers too.
pub fn check_len(dim: Dim, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::BufferLength {
            dim,
            expected,
            found,
        })
    }
}
