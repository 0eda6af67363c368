//! The vocabulary: the symbols a character model reads and predicts, in index order.
//! Symbol `k` is input column `k` of `W_ax` and output row `k` of `W_ya`.

use crate::error::Error;

/// A validated vocabulary borrowed from a model file: a set of characters (no repeats);
/// index `k` is the `k`-th character of the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocab<'a> {
    symbols: &'a str,
    len: usize,
}

impl<'a> Vocab<'a> {
    /// Checks that `symbols` repeats no character. An empty vocabulary is allowed (a model
    /// that reads dense vectors has no symbols).
    pub fn new(symbols: &'a str) -> Result<Self, Error> {
        // ASCII through a 128-bit set, anything else by a scan of what came before: a model
        // file that lists many non-ASCII symbols costs time, never a panic. (Plain loops
        // over 32-bit words and chars: `str::contains` and 128-bit shifts cost a Cortex-M0
        // build over a kilobyte.)
        let mut ascii = [0u32; 4];
        let mut len = 0;
        for (pos, c) in symbols.char_indices() {
            let repeated = match ascii.get_mut(c as usize / 32) {
                Some(word) => {
                    let bit = 1u32 << (c as u32 % 32);
                    let seen = *word & bit != 0;
                    *word |= bit;
                    seen
                }
                None => symbols.get(..pos).unwrap_or("").chars().any(|d| d == c),
            };
            if repeated {
                return Err(Error::VocabNotASet { symbol: c });
            }
            len += 1;
        }
        Ok(Vocab { symbols, len })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the vocabulary has no symbols.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The symbols, in index order.
    pub fn as_str(&self) -> &'a str {
        self.symbols
    }

    /// Index of `symbol`, or [`Error::UnknownSymbol`].
    pub fn index_of(&self, symbol: char) -> Result<usize, Error> {
        self.symbols
            .chars()
            .position(|c| c == symbol)
            .ok_or(Error::UnknownSymbol { symbol })
    }

    /// The symbol at `index`, if there is one.
    pub fn symbol(&self, index: usize) -> Option<char> {
        // A plain loop: `Chars::nth`'s skipping ahead is about 300 bytes on a Cortex-M0.
        let mut chars = self.symbols.chars();
        for _ in 0..index {
            chars.next()?;
        }
        chars.next()
    }

    /// True when `symbol` is in the vocabulary.
    pub fn contains(&self, symbol: char) -> bool {
        self.symbols.chars().any(|c| c == symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_both_ways() {
        let v = Vocab::new("\nabcé").unwrap();
        assert_eq!(v.len(), 5);
        for (k, c) in "\nabcé".chars().enumerate() {
            assert_eq!(v.index_of(c), Ok(k));
            assert_eq!(v.symbol(k), Some(c));
        }
        assert_eq!(v.symbol(5), None);
        assert_eq!(v.index_of('z'), Err(Error::UnknownSymbol { symbol: 'z' }));
    }

    #[test]
    fn rejects_repeats() {
        assert_eq!(Vocab::new("aba"), Err(Error::VocabNotASet { symbol: 'a' }));
        assert_eq!(Vocab::new("éaé"), Err(Error::VocabNotASet { symbol: 'é' }));
        // Both ends of each 32-bit word of the ASCII set, and the first symbol past it.
        for c in ['\0', '\x1f', ' ', '?', '@', '_', '`', '\x7f', '\u{80}'] {
            let mut twice = [0u8; 8];
            let n = c.encode_utf8(&mut twice[..4]).len();
            twice.copy_within(..n, n);
            let s = core::str::from_utf8(&twice[..2 * n]).unwrap();
            assert_eq!(
                Vocab::new(s),
                Err(Error::VocabNotASet { symbol: c }),
                "{c:?}"
            );
        }
        // Every ASCII character once, then non-ASCII ones: a set.
        let mut all = [0u8; 128 + 7];
        for (k, b) in all.iter_mut().take(128).enumerate() {
            *b = k as u8;
        }
        all[128..].copy_from_slice("éü€".as_bytes());
        let v = Vocab::new(core::str::from_utf8(&all).unwrap()).unwrap();
        assert_eq!(v.len(), 131);
        assert!(v.contains('€') && v.contains('\0') && !v.contains('ß'));
    }
}
