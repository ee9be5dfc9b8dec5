//! The merge of two sorted listings, checking the order as it goes.
//!
//! Each side must come strictly increasing in raw byte order. An inversion means the sort (or a
//! spill file) cannot be trusted, so the merge stops with [`MergeError::Order`] and the sync
//! aborts before any delete. A key listed twice in a row is passed once.

use std::io;
use std::iter::Peekable;

use super::sort::Entry;

/// Which side a listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// The source.
    Source,
    /// The destination.
    Destination,
}

impl Which {
    /// The side's name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Destination => "destination",
        }
    }
}

/// One key of the union of both listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pair {
    /// Only on the source.
    Source(Entry),
    /// Only on the destination.
    Destination(Entry),
    /// On both.
    Both(Entry, Entry),
}

impl Pair {
    /// The key.
    pub(crate) fn key(&self) -> &[u8] {
        match self {
            Self::Source(e) | Self::Destination(e) | Self::Both(e, _) => &e.key,
        }
    }
}

/// Why the merge stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MergeError {
    /// A listing came out of order.
    #[error("the {} listing is out of order: {} after {}", .which.name(), crate::key_text::display(.next), crate::key_text::display(.prev))]
    Order {
        /// Which listing.
        which: Which,
        /// The key before.
        prev: Vec<u8>,
        /// The key after it, not greater.
        next: Vec<u8>,
    },
    /// Reading a spilled run failed.
    #[error("reading the sorted {} listing", .which.name())]
    Io {
        /// Which listing.
        which: Which,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// One side's entries, checked to be strictly increasing.
#[derive(Debug)]
struct Checked<I> {
    inner: I,
    which: Which,
    prev: Option<Vec<u8>>,
}

impl<I: Iterator<Item = io::Result<Entry>>> Iterator for Checked<I> {
    type Item = Result<Entry, MergeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let e = match self.inner.next()? {
                Ok(e) => e,
                Err(source) => {
                    return Some(Err(MergeError::Io {
                        which: self.which,
                        source,
                    }));
                }
            };
            if let Some(prev) = &self.prev {
                match e.key.as_slice().cmp(prev.as_slice()) {
                    std::cmp::Ordering::Less => {
                        return Some(Err(MergeError::Order {
                            which: self.which,
                            prev: prev.clone(),
                            next: e.key,
                        }));
                    }
                    std::cmp::Ordering::Equal => continue,
                    std::cmp::Ordering::Greater => {}
                }
            }
            self.prev = Some(e.key.clone());
            return Some(Ok(e));
        }
    }
}

/// The merge of a source and a destination listing.
#[derive(Debug)]
pub(crate) struct Merge<
    A: Iterator<Item = io::Result<Entry>>,
    B: Iterator<Item = io::Result<Entry>>,
> {
    src: Peekable<Checked<A>>,
    dst: Peekable<Checked<B>>,
    done: bool,
}

impl<A, B> Merge<A, B>
where
    A: Iterator<Item = io::Result<Entry>>,
    B: Iterator<Item = io::Result<Entry>>,
{
    /// Merges two listings, each sorted by key bytes.
    pub(crate) fn new(src: A, dst: B) -> Self {
        Self {
            src: Checked {
                inner: src,
                which: Which::Source,
                prev: None,
            }
            .peekable(),
            dst: Checked {
                inner: dst,
                which: Which::Destination,
                prev: None,
            }
            .peekable(),
            done: false,
        }
    }
}

impl<A, B> Iterator for Merge<A, B>
where
    A: Iterator<Item = io::Result<Entry>>,
    B: Iterator<Item = io::Result<Entry>>,
{
    type Item = Result<Pair, MergeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // An error on either side ends the merge at once.
        if matches!(self.src.peek(), Some(Err(_))) {
            self.done = true;
            return self.src.next().and_then(Result::err).map(Err);
        }
        if matches!(self.dst.peek(), Some(Err(_))) {
            self.done = true;
            return self.dst.next().and_then(Result::err).map(Err);
        }
        let order = match (self.src.peek(), self.dst.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(Ok(s)), Some(Ok(d))) => s.key.cmp(&d.key),
            // Both errors were handled above.
            _ => return None,
        };
        match order {
            std::cmp::Ordering::Less => self.src.next().map(|r| r.map(Pair::Source)),
            std::cmp::Ordering::Greater => self.dst.next().map(|r| r.map(Pair::Destination)),
            std::cmp::Ordering::Equal => match (self.src.next(), self.dst.next()) {
                (Some(Ok(s)), Some(Ok(d))) => Some(Ok(Pair::Both(s, d))),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(keys: &[&str]) -> std::vec::IntoIter<io::Result<Entry>> {
        keys.iter()
            .map(|k| {
                Ok(Entry {
                    key: k.as_bytes().to_vec(),
                    size: None,
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn pairs_keys_from_both_sides() {
        let got: Vec<(String, &str)> =
            Merge::new(list(&["a", "b", "d"]), list(&["b", "c", "d", "e"]))
                .map(|p| {
                    let p = p.unwrap();
                    let kind = match &p {
                        Pair::Source(_) => "src",
                        Pair::Destination(_) => "dst",
                        Pair::Both(..) => "both",
                    };
                    (String::from_utf8(p.key().to_vec()).unwrap(), kind)
                })
                .collect();
        assert_eq!(
            got,
            [
                ("a".into(), "src"),
                ("b".into(), "both"),
                ("c".into(), "dst"),
                ("d".into(), "both"),
                ("e".into(), "dst")
            ]
        );
    }

    #[test]
    fn an_inversion_stops_the_merge() {
        let mut m = Merge::new(list(&["a", "c", "b", "d"]), list(&[]));
        assert!(matches!(m.next(), Some(Ok(Pair::Source(_)))));
        assert!(matches!(m.next(), Some(Ok(Pair::Source(_)))));
        match m.next() {
            Some(Err(MergeError::Order { which, prev, next })) => {
                assert_eq!(which, Which::Source);
                assert_eq!(
                    (prev.as_slice(), next.as_slice()),
                    (b"c".as_slice(), b"b".as_slice())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(m.next().is_none(), "nothing after an inversion");
        let mut m = Merge::new(list(&[]), list(&["b", "a"]));
        assert!(m.next().unwrap().is_ok());
        assert!(matches!(
            m.next(),
            Some(Err(MergeError::Order {
                which: Which::Destination,
                ..
            }))
        ));
    }

    #[test]
    fn a_repeated_key_is_passed_once() {
        let n = Merge::new(list(&["a", "a", "b"]), list(&["a"])).count();
        assert_eq!(n, 2);
    }
}
