//! The class names of a classifier: output `k` of the network is class `k`.

use crate::error::Error;

/// Validated class names borrowed from a model file: the names in output order, each
/// ended by `\n`, none empty, none repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes<'a> {
    names: &'a str,
    len: usize,
}

impl<'a> Classes<'a> {
    /// Checks `names` (each name ended by `\n`; the empty string for none):
    /// [`Error::BadClassName`] for an empty or repeated name or a missing final `\n`.
    pub fn new(names: &'a str) -> Result<Self, Error> {
        if names.is_empty() {
            return Ok(Classes { names, len: 0 });
        }
        let Some(body) = names.strip_suffix('\n') else {
            return Err(Error::BadClassName {
                index: lines(names).count() - 1,
            });
        };
        let mut len = 0;
        for (index, name) in lines(body).enumerate() {
            // Quadratic, but only over names already seen: a corrupt file costs time
            // in proportion to its own size squared, never a panic.
            if name.is_empty() || lines(body).take(index).any(|n| n == name) {
                return Err(Error::BadClassName { index });
            }
            len += 1;
        }
        Ok(Classes { names, len })
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none (a next-symbol model).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name of class `index`, if there is one.
    pub fn name(&self, index: usize) -> Option<&'a str> {
        self.iter().nth(index)
    }

    /// The names in output order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let body = self.names.strip_suffix('\n').unwrap_or("");
        lines(body).filter(|n| !n.is_empty())
    }

    /// The names as stored: each ended by `\n`.
    pub fn as_str(&self) -> &'a str {
        self.names
    }
}

/// The pieces of `s` between `\n`s, as `s.split('\n')` gives them, by a byte loop
/// (`str::split` costs a Cortex-M0 build about 360 bytes).
fn lines(s: &str) -> impl Iterator<Item = &str> + Clone {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == b'\n') {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_the_pieces_split_gives() {
        for s in ["", "\n", "a", "a\n", "\na", "a\n\nb", "é\nü\n€\n\n"] {
            assert!(lines(s).eq(s.split('\n')), "{s:?}");
        }
    }

    #[test]
    fn names_in_order() {
        let c = Classes::new("en\nes\nfr\n").unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.name(1), Some("es"));
        assert_eq!(c.name(3), None);
        assert!(Classes::new("").unwrap().is_empty());
    }

    #[test]
    fn bad_names() {
        assert_eq!(
            Classes::new("a\n\nb\n"),
            Err(Error::BadClassName { index: 1 })
        );
        assert_eq!(
            Classes::new("a\nb\na\n"),
            Err(Error::BadClassName { index: 2 })
        );
        assert_eq!(Classes::new("a\nb"), Err(Error::BadClassName { index: 1 }));
    }
}
