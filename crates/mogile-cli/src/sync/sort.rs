//! An external sort of listing entries by the raw bytes of their keys, in bounded memory.
//!
//! Entries are held in memory until they would cost more than the bound; the held ones are then
//! sorted and written to a temporary file (a *run*), and memory starts empty again. The sorted
//! output is a k-way merge of the runs and of what is still held. The cost of an entry is its
//! key's length plus the size of [`Entry`] itself, so the bound is on what the listing holds,
//! not on the number of keys.
//!
//! Hand-written rather than taken from a crate: `extsort` bounds the number of items, not bytes,
//! and serialises through its own trait; this is a page of code with one comparator (`[u8]`'s
//! `Ord`, raw byte order) used everywhere.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};

/// One listed object: its key relative to the side's prefix, and its size when the listing
/// gave it for free.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// The key, relative to the side's prefix.
    pub(crate) key: Vec<u8>,
    /// The size, when the listing knows it.
    pub(crate) size: Option<u64>,
}

/// What one entry counts against the memory bound.
fn cost(e: &Entry) -> usize {
    e.key.len() + std::mem::size_of::<Entry>()
}

/// Collects entries, spilling sorted runs to temporary files past the bound.
#[derive(Debug)]
pub(crate) struct Sorter {
    bound: usize,
    held: Vec<Entry>,
    held_bytes: usize,
    peak_bytes: usize,
    runs: Vec<File>,
    count: u64,
}

impl Sorter {
    /// A sorter holding at most `bound` bytes of entries in memory.
    pub(crate) fn new(bound: usize) -> Self {
        Self {
            bound,
            held: Vec::new(),
            held_bytes: 0,
            peak_bytes: 0,
            runs: Vec::new(),
            count: 0,
        }
    }

    /// Adds an entry; spills what is held first if the entry would take it past the bound.
    pub(crate) async fn push(&mut self, e: Entry) -> io::Result<()> {
        let c = cost(&e);
        if self.held_bytes + c > self.bound && !self.held.is_empty() {
            self.spill().await?;
        }
        self.held_bytes += c;
        self.peak_bytes = self.peak_bytes.max(self.held_bytes);
        self.count += 1;
        self.held.push(e);
        Ok(())
    }

    /// How many entries were pushed.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The most bytes of entries held at once (tests check it against the bound).
    #[cfg(test)]
    pub(crate) fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }

    /// How many runs went to disk.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Sorts what is held and writes it to a new temporary file, off the async runtime.
    async fn spill(&mut self) -> io::Result<()> {
        let mut batch = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        let file = tokio::task::spawn_blocking(move || -> io::Result<File> {
            batch.sort_unstable();
            let mut file = tempfile::tempfile()?;
            {
                let mut w = BufWriter::new(&mut file);
                for e in &batch {
                    write_entry(&mut w, e)?;
                }
                w.flush()?;
            }
            use std::io::Seek;
            file.rewind()?;
            Ok(file)
        })
        .await
        .map_err(io::Error::other)??;
        self.runs.push(file);
        Ok(())
    }

    /// The entries in byte order of their keys.
    pub(crate) fn finish(mut self) -> Sorted {
        self.held.sort_unstable();
        let mut sources: Vec<Source> = self
            .runs
            .into_iter()
            .map(|f| Source::Run(BufReader::with_capacity(64 * 1024, f)))
            .collect();
        sources.push(Source::Memory(self.held.into_iter()));
        let mut sorted = Sorted {
            sources,
            heap: BinaryHeap::new(),
            failed: None,
        };
        for i in 0..sorted.sources.len() {
            sorted.refill(i);
        }
        sorted
    }
}

/// Writes one entry: key length (u32 LE), key, a flag byte, and the size (u64 LE) if flagged.
fn write_entry(w: &mut impl Write, e: &Entry) -> io::Result<()> {
    let len = u32::try_from(e.key.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "key longer than 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&e.key)?;
    match e.size {
        Some(s) => {
            w.write_all(&[1])?;
            w.write_all(&s.to_le_bytes())
        }
        None => w.write_all(&[0]),
    }
}

/// Reads one entry written by [`write_entry`]; `None` at the end of the run.
fn read_entry(r: &mut impl Read) -> io::Result<Option<Entry>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut key)?;
    let mut flag = [0u8; 1];
    r.read_exact(&mut flag)?;
    let size = if flag[0] == 1 {
        let mut s = [0u8; 8];
        r.read_exact(&mut s)?;
        Some(u64::from_le_bytes(s))
    } else {
        None
    };
    Ok(Some(Entry { key, size }))
}

#[derive(Debug)]
enum Source {
    Run(BufReader<File>),
    Memory(std::vec::IntoIter<Entry>),
}

/// The merged, sorted output of a [`Sorter`]. Reading a run is a buffered read of a local
/// temporary file, done inline: it blocks no longer than any page-cache read.
#[derive(Debug)]
pub(crate) struct Sorted {
    sources: Vec<Source>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
    failed: Option<io::Error>,
}

impl Sorted {
    /// Puts the next entry of source `i` on the heap.
    fn refill(&mut self, i: usize) {
        let next = match &mut self.sources[i] {
            Source::Run(r) => read_entry(r),
            Source::Memory(it) => Ok(it.next()),
        };
        match next {
            Ok(Some(e)) => self.heap.push(Reverse((e, i))),
            Ok(None) => {}
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some(e);
                }
            }
        }
    }
}

impl Iterator for Sorted {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            // Stop for good after a read error.
            self.heap.clear();
            self.sources.clear();
            return Some(Err(e));
        }
        let Reverse((entry, i)) = self.heap.pop()?;
        self.refill(i);
        Some(Ok(entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &[u8], size: Option<u64>) -> Entry {
        Entry {
            key: k.to_vec(),
            size,
        }
    }

    /// A listing larger than the bound spills, holds no more than the bound at any time, and
    /// comes out complete in raw byte order (not a collation: `B` < `a` < `\xff`).
    #[tokio::test]
    async fn spills_past_the_bound_and_merges_in_byte_order() {
        let bound = 2_000;
        let mut s = Sorter::new(bound);
        let mut want = Vec::new();
        for i in 0..1_000u32 {
            // A scrambled order with mixed case, bytes above 0x7f and sizes present or not.
            let n = i.wrapping_mul(7919) % 1_000;
            let key = match n % 4 {
                0 => format!("a/{n}").into_bytes(),
                1 => format!("B/{n}").into_bytes(),
                2 => [b"\xff".as_slice(), n.to_string().as_bytes()].concat(),
                _ => format!("a {n}").into_bytes(),
            };
            let size = (n % 3 != 0).then_some(u64::from(n) << 33);
            want.push(entry(&key, size));
            s.push(entry(&key, size)).await.unwrap();
        }
        assert!(s.runs() > 10, "the listing must spill: {} runs", s.runs());
        assert!(s.peak_bytes() <= bound, "peak {} > {bound}", s.peak_bytes());
        assert_eq!(s.count(), 1_000);
        want.sort();
        let got: Vec<Entry> = s.finish().map(Result::unwrap).collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn small_listings_stay_in_memory() {
        let mut s = Sorter::new(1 << 20);
        for k in [b"b".as_slice(), b"a", b"c"] {
            s.push(entry(k, None)).await.unwrap();
        }
        assert_eq!(s.runs(), 0);
        let keys: Vec<Vec<u8>> = s.finish().map(|e| e.unwrap().key).collect();
        assert_eq!(keys, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }
}
