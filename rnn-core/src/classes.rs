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
                index: names.split('\n').count() - 1,
            });
        };
        let mut len = 0;
        for (index, name) in body.split('\n').enumerate() {
            // Quadratic, but only over names already seen: a corrupt file costs time
            // in proportion to its own size squared, never a panic.
            if name.is_empty() || body.split('\n').take(index).any(|n| n == name) {
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
        body.split('\n').filter(|n| !n.is_empty())
    }

    /// The names as stored: each ended by `\n`.
    pub fn as_str(&self) -> &'a str {
        self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
