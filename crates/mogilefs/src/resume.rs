//! Which bytes of which replica answer to deliver: the pure core of a fetch with mid-stream
//! failover.
//!
//! A fetch reads one replica after the other. When a replica fails after some bytes were handed to
//! the caller, the next replica is asked for `Range: bytes=<reached>-` (never a suffix range: the
//! default mogstored answers those wrongly).
//!
//! Who judges what: `mogile-storage` says what an answer *is* ([`Extent`]: the whole file, or a
//! part that starts at the byte asked for, which it checks) and refuses a `206` that starts
//! anywhere else; this module decides what the answer *means* for the file. A part is spliced on
//! only with the file's total; a whole body (a `200`: the range was ignored) only with the file's
//! length, and its bytes already delivered are skipped, never appended twice. A status such as
//! `416` never reaches here: it is a storage error, and the fetch moves on as
//! [`StorageError::try_another_replica`](mogile_storage::StorageError::try_another_replica) says.

use bytes::Bytes;
use mogile_storage::Extent;

/// What to do with a replica's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// Stream this body after dropping its first `skip` bytes.
    Stream {
        /// Bytes at the start of the body that the caller already has (or did not ask for).
        skip: u64,
    },
    /// Do not use this answer; try the next replica.
    MoveOn(Mismatch),
}

/// Why an answer or a body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// A range was asked for and the answer has no `Content-Length`: its body ends inside the
    /// range, before anything in it could be checked.
    Unframed,
    /// The replica's total length differs from the file's.
    Total {
        /// The file's length according to the tracker.
        expected: u64,
        /// The replica's length.
        actual: u64,
    },
    /// A `206` whose `Content-Range` gives no total (`*`) while the file's length is known.
    NoTotal,
    /// The replica holds more bytes than the file's length.
    TooLong {
        /// The file's length according to the tracker.
        expected: u64,
    },
    /// The replica's body ended before the wanted range did.
    TooShort {
        /// The byte the fetch had reached.
        reached: u64,
        /// Where the wanted range ends.
        expected: u64,
    },
}

/// A chunk cut down to the wanted bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Take {
    /// Bytes to hand to the caller (possibly empty).
    pub(crate) data: Bytes,
    /// The wanted range is complete: stop reading this body.
    pub(crate) done: bool,
}

/// Progress of one fetch over however many replicas it takes.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    /// First byte the caller wants.
    start: u64,
    /// End (exclusive) of the range the caller asked for, if they asked for one.
    limit: Option<u64>,
    /// The file's length according to the tracker, when known.
    total: Option<u64>,
    /// Bytes handed to the caller so far.
    delivered: u64,
}

impl Resume {
    /// A fetch of `len` bytes (`None`: to the end) starting at `start`, of a file whose length is
    /// `total` when known.
    pub(crate) fn new(start: u64, len: Option<u64>, total: Option<u64>) -> Self {
        Self {
            start,
            limit: len.map(|l| start.saturating_add(l)),
            total,
            delivered: 0,
        }
    }

    /// The absolute offset of the next byte the caller should get.
    pub(crate) fn position(&self) -> u64 {
        // Saturating: a node that sends bytes past offset u64::MAX (no length known) must not panic.
        self.start.saturating_add(self.delivered)
    }

    /// The file's length according to the tracker, when known (and checked).
    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    /// Bytes delivered so far.
    #[cfg(test)]
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Where the wanted bytes end (exclusive), when known.
    fn end(&self) -> Option<u64> {
        match (self.limit, self.total) {
            (Some(l), Some(t)) => Some(l.min(t)),
            (l, t) => l.or(t),
        }
    }

    /// Whether every wanted byte has been delivered (known only when the end is known).
    pub(crate) fn is_complete(&self) -> bool {
        self.end().is_some_and(|end| self.position() >= end)
    }

    /// The `Range` to ask the next replica for: `None` for a plain GET of the whole file,
    /// otherwise `(first byte, length if bounded)`.
    pub(crate) fn range(&self) -> Option<(u64, Option<u64>)> {
        let pos = self.position();
        let len = self.limit.map(|l| l.saturating_sub(pos));
        (pos > 0 || len.is_some()).then_some((pos, len))
    }

    /// Judges a replica's answer to the request built from [`range`](Self::range): `extent` is
    /// where its body lies in the file (a part starts at the byte asked for: storage checked
    /// that), `framed` whether it has a `Content-Length`.
    pub(crate) fn accept(&self, extent: Extent, framed: bool) -> Accept {
        // A body with no length to check up front is judged only at its end, against the file's
        // length. That is enough for a whole-file fetch (nothing is `Ok` before the end), but a
        // range (the caller's, or a resume's) ends inside the body, before anything could be
        // checked: such an answer is never used for one.
        if !framed && self.range().is_some() {
            return Accept::MoveOn(Mismatch::Unframed);
        }
        match extent {
            Extent::Part(part) => {
                debug_assert_eq!(part.start, self.position(), "storage checks the start");
                match (self.total, part.total) {
                    (Some(expected), Some(actual)) if expected != actual => {
                        Accept::MoveOn(Mismatch::Total { expected, actual })
                    }
                    // `bytes a-b/*`: nothing shows the replica is the file we know the length of.
                    (Some(_), None) => Accept::MoveOn(Mismatch::NoTotal),
                    _ => Accept::Stream { skip: 0 },
                }
            }
            // The whole file from byte 0 (the range, if any, was ignored). It must be exactly as
            // long as the file: otherwise (mogstored's `200` HTML page for a directory path, a
            // truncated replica) its bytes would be handed out and the rest taken from the next
            // replica, two contents stitched into one.
            Extent::Whole { len } => match (self.total, len) {
                (Some(expected), Some(actual)) if expected != actual => {
                    Accept::MoveOn(Mismatch::Total { expected, actual })
                }
                _ => Accept::Stream {
                    skip: self.position(),
                },
            },
        }
    }

    /// Cuts one body chunk down to the wanted bytes and counts what is delivered; `skip` is the
    /// remaining count from [`Accept::Stream`].
    pub(crate) fn take(&mut self, mut chunk: Bytes, skip: &mut u64) -> Result<Take, Mismatch> {
        let dropped = usize::try_from(*skip).map_or(chunk.len(), |s| s.min(chunk.len()));
        let _ = chunk.split_to(dropped);
        *skip -= dropped as u64;
        let pos = self.position();
        if let Some(end) = self.end() {
            let room = end.saturating_sub(pos);
            if chunk.len() as u64 > room {
                let past_total = self
                    .total
                    .is_some_and(|t| pos.checked_add(chunk.len() as u64).is_none_or(|e| e > t));
                // Only bytes beyond the file's own length make the replica suspect; bytes beyond a
                // caller's range (a node that ignored `Range`) are simply not wanted.
                if past_total && self.limit.is_none_or(|l| l > end) {
                    return Err(Mismatch::TooLong {
                        expected: self.total.unwrap_or(end),
                    });
                }
                // `room < chunk.len()`, so it fits in usize.
                chunk.truncate(room as usize);
            }
        }
        self.delivered += chunk.len() as u64;
        Ok(Take {
            done: self.is_complete(),
            data: chunk,
        })
    }

    /// Takes back the last `n` bytes counted as delivered: they were held back and never handed
    /// out, so the next replica must deliver them.
    pub(crate) fn give_back(&mut self, n: u64) {
        self.delivered = self.delivered.saturating_sub(n);
    }

    /// Judges the end of a replica's body: `Ok` if the wanted range is complete (or its end is
    /// unknown), otherwise the replica was short and the fetch resumes on the next one.
    pub(crate) fn finish(&self) -> Result<(), Mismatch> {
        match self.end() {
            Some(end) if self.position() < end => Err(Mismatch::TooShort {
                reached: self.position(),
                expected: end,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use mogile_storage::ContentRange;

    use super::*;

    fn whole(len: Option<u64>) -> Extent {
        Extent::Whole { len }
    }

    fn part(start: u64, end: u64, total: Option<u64>) -> Extent {
        Extent::Part(ContentRange { start, end, total })
    }

    fn feed(r: &mut Resume, skip: &mut u64, data: &'static [u8]) -> Result<Take, Mismatch> {
        r.take(Bytes::from_static(data), skip)
    }

    #[test]
    fn whole_file_without_failure() {
        let mut r = Resume::new(0, None, Some(10));
        assert_eq!(r.range(), None);
        let Accept::Stream { mut skip } = r.accept(whole(Some(10)), true) else {
            panic!()
        };
        assert!(!feed(&mut r, &mut skip, b"01234").unwrap().done);
        let t = feed(&mut r, &mut skip, b"56789").unwrap();
        assert!(t.done);
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn resume_asks_for_the_byte_reached() {
        let mut r = Resume::new(0, None, Some(10));
        let mut skip = 0;
        feed(&mut r, &mut skip, b"0123").unwrap();
        // The replica died here.
        assert_eq!(r.range(), Some((4, None)));
        assert_eq!(
            r.accept(part(4, 9, Some(10)), true),
            Accept::Stream { skip: 0 }
        );
        assert_eq!(
            r.accept(part(4, 7, Some(9)), true),
            Accept::MoveOn(Mismatch::Total {
                expected: 10,
                actual: 9
            })
        );
        assert_eq!(
            r.accept(part(4, 9, None), true),
            Accept::MoveOn(Mismatch::NoTotal)
        );
    }

    /// A whole body is used only when it is as long as the file, and (like any answer to a range
    /// request) only with a `Content-Length` to check that by.
    #[test]
    fn a_whole_body_must_be_the_file() {
        let mut r = Resume::new(0, None, Some(10));
        assert_eq!(
            r.accept(whole(Some(9)), true),
            Accept::MoveOn(Mismatch::Total {
                expected: 10,
                actual: 9
            })
        );
        // Unframed, a whole-file fetch judges it at its end (see `take` and `finish`).
        assert_eq!(r.accept(whole(None), false), Accept::Stream { skip: 0 });
        feed(&mut r, &mut 0, b"0123").unwrap();
        // Once a range is asked for, an unframed answer of either kind ends inside it.
        assert_eq!(
            r.accept(whole(None), false),
            Accept::MoveOn(Mismatch::Unframed)
        );
        assert_eq!(
            r.accept(part(4, 9, Some(10)), false),
            Accept::MoveOn(Mismatch::Unframed)
        );
        assert_eq!(r.accept(whole(Some(10)), true), Accept::Stream { skip: 4 });
        // Without the file's length (`verify_length(false)`), any framed whole body will do.
        let r = Resume::new(0, None, None);
        assert_eq!(r.accept(whole(Some(3)), true), Accept::Stream { skip: 0 });
        assert_eq!(
            Resume::new(3, Some(4), None).accept(whole(None), false),
            Accept::MoveOn(Mismatch::Unframed)
        );
    }

    #[test]
    fn ignored_range_skips_delivered_bytes_across_chunks() {
        let mut r = Resume::new(0, None, Some(10));
        let mut skip = 0;
        feed(&mut r, &mut skip, b"0123").unwrap();
        let Accept::Stream { mut skip } = r.accept(whole(Some(10)), true) else {
            panic!()
        };
        assert_eq!(skip, 4);
        assert_eq!(feed(&mut r, &mut skip, b"012").unwrap().data, Bytes::new());
        assert_eq!(feed(&mut r, &mut skip, b"3456").unwrap().data, &b"456"[..]);
        let t = feed(&mut r, &mut skip, b"789").unwrap();
        assert_eq!((t.data, t.done), (Bytes::from_static(b"789"), true));
        assert_eq!(r.delivered(), 10);
    }

    #[test]
    fn a_short_replica_is_caught_at_its_end() {
        let mut r = Resume::new(0, None, Some(10));
        let mut skip = 0;
        feed(&mut r, &mut skip, b"01234567").unwrap();
        assert_eq!(
            r.finish(),
            Err(Mismatch::TooShort {
                reached: 8,
                expected: 10
            })
        );
        assert_eq!(r.range(), Some((8, None)));
    }

    #[test]
    fn a_long_replica_is_refused() {
        let mut r = Resume::new(0, None, Some(4));
        let mut skip = 0;
        assert_eq!(
            feed(&mut r, &mut skip, b"012345"),
            Err(Mismatch::TooLong { expected: 4 })
        );
        assert_eq!(r.delivered(), 0);
    }

    #[test]
    fn caller_range_is_bounded_and_cut_from_a_full_body() {
        let mut r = Resume::new(3, Some(4), Some(10));
        assert_eq!(r.range(), Some((3, Some(4))));
        let Accept::Stream { mut skip } = r.accept(whole(Some(10)), true) else {
            panic!()
        };
        let t = feed(&mut r, &mut skip, b"0123456789").unwrap();
        assert_eq!((t.data, t.done), (Bytes::from_static(b"3456"), true));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn caller_range_resumes_with_the_rest_of_it() {
        let mut r = Resume::new(3, Some(4), None);
        let mut skip = 0;
        feed(&mut r, &mut skip, b"3").unwrap();
        assert_eq!(r.range(), Some((4, Some(3))));
        assert_eq!(
            r.finish(),
            Err(Mismatch::TooShort {
                reached: 4,
                expected: 7
            })
        );
    }

    #[test]
    fn unknown_length_accepts_a_206_without_total() {
        let mut r = Resume::new(0, None, None);
        let mut skip = 0;
        feed(&mut r, &mut skip, b"0123").unwrap();
        assert_eq!(r.accept(part(4, 9, None), true), Accept::Stream { skip: 0 });
    }

    #[test]
    fn unknown_length_accepts_any_end() {
        let mut r = Resume::new(0, None, None);
        let mut skip = 0;
        assert!(!feed(&mut r, &mut skip, b"abc").unwrap().done);
        assert_eq!(r.finish(), Ok(()));
    }

    /// Offsets near u64::MAX (a huge `--range` start, a tracker claiming a huge length, a node
    /// sending too much): no arithmetic overflows.
    #[test]
    fn offsets_near_u64_max_do_not_overflow() {
        let max = u64::MAX;
        let mut r = Resume::new(max - 1, None, None);
        assert_eq!(
            r.accept(part(max - 1, max - 1, None), true),
            Accept::Stream { skip: 0 }
        );
        let mut skip = 0;
        feed(&mut r, &mut skip, b"0123").unwrap();
        feed(&mut r, &mut skip, b"4567").unwrap();
        assert_eq!(r.position(), max);
        let mut r = Resume::new(max - 1, None, Some(max));
        assert_eq!(
            feed(&mut r, &mut 0, b"0123"),
            Err(Mismatch::TooLong { expected: max })
        );
        let r = Resume::new(max - 1, Some(max), Some(10));
        assert!(r.is_complete());
    }

    #[test]
    fn empty_file_is_complete_at_once() {
        let r = Resume::new(0, None, Some(0));
        assert!(r.is_complete());
        assert_eq!(r.finish(), Ok(()));
    }
}
