//! Splits the received bytes into lines, with a fixed buffer and no way to fail.
//!
//! A line ends at `\n` or `\r` (a terminal in raw mode sends `\r` for Enter); the caller
//! skips a `\n` that directly follows a `\r`, so `\r\n` ends one line, not two. A line is
//! reported once, at its end, as one of:
//! - its bytes, when it holds at most [`LINE_MAX`] bytes, all ASCII;
//! - [`Problem::NonAscii`] with the first byte above 0x7F, when that byte came before the
//!   buffer overflowed;
//! - [`Problem::TooLong`] otherwise, when the line has more than [`LINE_MAX`] bytes.
//!
//! The first problem in byte order wins; the rest of a bad line is read and dropped.

/// The longest line (without its end) that the firmware reads, in bytes: 64, or for a
/// classifier of dense vectors `max(64, 24·I)` (from `build.rs`).
pub const LINE_MAX: usize = crate::model::LINE_MAX;

/// Why a line was dropped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Problem {
    /// The line had more than [`LINE_MAX`] bytes.
    TooLong,
    /// The line held this byte, which is not ASCII.
    NonAscii(u8),
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
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], Problem>> {
        if byte == b'\n' || byte == b'\r' {
            let len = core::mem::take(&mut self.len);
            return Some(match self.problem.take() {
                Some(problem) => Err(problem),
                None => Ok(&self.buf[..len]),
            });
        }
        if self.problem.is_some() {
            return None;
        }
        if !byte.is_ascii() {
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
