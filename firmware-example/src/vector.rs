//! One input vector per line, for the modes that read dense vectors (a classifier of
//! dense sequences, and the streaming mode of taggers and regression models): `I` numbers
//! separated by commas, each read by `rnn_core::parse_f32`, and the error lines for a line
//! that is not one.

use rnn_core::Text;

use crate::{model, Out};

const I: usize = model::I;

/// Why a line is not a vector.
pub enum VectorError<'a> {
    /// It has `found` comma-separated fields, not `I`.
    Count { found: usize },
    /// Field `index` (from 1) is not a finite number.
    Number { index: usize, text: &'a str },
}

impl VectorError<'_> {
    /// The error line.
    pub fn write_to(&self, out: &mut Out) {
        match *self {
            VectorError::Count { found } => {
                out.str("error: expected ");
                out.uint(I as u64);
                out.str(" values separated by commas, the line has ");
                out.uint(found as u64);
            }
            VectorError::Number { index, text } => {
                out.str("error: value ");
                out.uint(index as u64);
                out.str(" is not a finite number: \"");
                out.escape_default(text);
                out.str("\"");
            }
        }
        out.byte(b'\n');
    }
}

/// Parses `I` numbers separated by commas (spaces around a number allowed) into `x`. Each
/// number is read by `rnn_core::parse_f32`, which gives what the host's
/// `str::parse::<f32>` gives (correctly rounded; tested against it in `rnn-core`) without
/// `core`'s tables; infinities and NaN, and numbers that round to infinity, are refused.
pub fn parse_vector<'a>(line: &'a str, x: &mut [f32; I]) -> Result<(), VectorError<'a>> {
    let found = line.split(',').count();
    if found != I {
        return Err(VectorError::Count { found });
    }
    for (index, (field, slot)) in line.split(',').zip(x.iter_mut()).enumerate() {
        let text = field.trim_matches(' ');
        match rnn_core::parse_f32(text) {
            Some(v) if v.is_finite() => *slot = v,
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
