//! Splits the received bytes into lines, with a fixed buffer and no way to fail.
//!
//! A line ends at `\n` or `\r` (a terminal in raw mode sends `\r` for Enter); the caller
//! skips a `\n` that directly follows a `\r`, so `\r\n` ends one line, not two. The reader
//! keeps at most [`LINE_MAX`] bytes of a line and reports the line once, at its end.
//!
//! **ASCII lines** (next-symbol mode, dense classifiers) are reported as one of:
//! - the line, when it holds at most [`LINE_MAX`] bytes, all ASCII;
//! - [`Problem::NonAscii`] with the first byte above 0x7F, when that byte came before the
//!   buffer overflowed;
//! - [`Problem::TooLong`] otherwise, when the line has more than [`LINE_MAX`] bytes.
//!
//! **UTF-8 lines** ([`UTF8`]: a classifier with a vocabulary, whose symbols may be any
//! characters) keep every byte and are decoded at the line's end with
//! `core::str::from_utf8`:
//! - the line, when it holds at most [`LINE_MAX`] bytes of valid UTF-8;
//! - [`Problem::InvalidUtf8`] with the offset and the first byte of the first sequence
//!   that does not decode (a stray continuation byte, a sequence cut short by another byte
//!   or by the line's end, an overlong encoding, a surrogate, a code point above
//!   U+10FFFF, the bytes 0xC0, 0xC1, 0xF5–0xFF), when that sequence is invalid within the
//!   first [`LINE_MAX`] bytes;
//! - [`Problem::TooLong`] otherwise, when the line has more than [`LINE_MAX`] bytes (also
//!   when its kept bytes end in a sequence that only the dropped bytes could complete).
//!
//! In both, the first problem in byte order wins; the rest of a bad line is read and
//! dropped.

/// The longest line (without its end) that the firmware reads, in bytes: 64; for a
/// classifier of dense vectors `max(64, 24·I)`, for one with a vocabulary
/// `max(64, 4·MAX_STEPS)` (from `build.rs`).
pub const LINE_MAX: usize = crate::model::LINE_MAX;

/// Lines are UTF-8 text (a classifier with a vocabulary), else ASCII.
pub const UTF8: bool = cfg!(all(rnn_classify, not(rnn_classify_dense)));

/// Why a line was dropped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    /// The line had more than [`LINE_MAX`] bytes.
    TooLong,
    /// ASCII lines: the line held this byte, which is not ASCII.
    NonAscii(u8),
    /// UTF-8 lines: the sequence that starts at byte `offset` (from 0) of the line, with
    /// the byte `byte`, is not valid UTF-8.
    InvalidUtf8 { offset: usize, byte: u8 },
}

/// The line being received.
pub struct LineReader {
    buf: [u8; LINE_MAX],
    len: usize,
    problem: Option<Problem>,
}

impl LineReader {
    /// An empty reader.
    pub const fn new() -> Self {
        LineReader {
            buf: [0; LINE_MAX],
            len: 0,
            problem: None,
        }
    }

    /// Takes one byte; returns the finished line when `byte` ends one.
    pub fn push(&mut self, byte: u8) -> Option<Result<&str, Problem>> {
        if byte == b'\n' || byte == b'\r' {
            let len = core::mem::take(&mut self.len);
            let kept = self.buf.get(..len).unwrap_or(&[]);
            return Some(match (self.problem.take(), core::str::from_utf8(kept)) {
                // Invalid whatever would follow: it came before the overflow.
                (Some(Problem::TooLong), Err(e)) if e.error_len().is_some() => {
                    Err(utf8_problem(kept, e))
                }
                (Some(problem), _) => Err(problem),
                (None, Ok(text)) => Ok(text),
                (None, Err(e)) => Err(utf8_problem(kept, e)),
            });
        }
        if self.problem.is_some() {
            return None;
        }
        if !UTF8 && !byte.is_ascii() {
            self.problem = Some(Problem::NonAscii(byte));
        } else if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        } else {
            self.problem = Some(Problem::TooLong);
        }
        None
    }
}

/// The first sequence of `bytes` that does not decode, as `from_utf8` found it.
fn utf8_problem(bytes: &[u8], e: core::str::Utf8Error) -> Problem {
    let offset = e.valid_up_to();
    Problem::InvalidUtf8 {
        offset,
        byte: bytes.get(offset).copied().unwrap_or(0),
    }
}
