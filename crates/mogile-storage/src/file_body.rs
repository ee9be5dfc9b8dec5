//! [`FileChunks`]: a file read for upload, straight into the buffers handed to hyper.
//!
//! A `tokio::fs::File` reads on the blocking pool into a buffer of its own and copies that into
//! the caller's: for a 1 GiB upload that copy was the client's largest user-space cost (8% of
//! its CPU samples, as much as the rest of user space together). Here each read runs on the
//! blocking pool into the very buffer that becomes the chunk, one read ahead of hyper (the next
//! chunk is read while the connection writes this one), and a buffer is reused once hyper has
//! dropped every handle to it, so a long upload neither allocates nor zeroes a buffer per chunk.

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::task::JoinHandle;

/// Read size: large enough that the blocking-pool round trip per chunk is negligible (1 GiB is
/// 1,024 reads).
pub(crate) const FILE_READ_CHUNK: usize = 1024 * 1024;

/// Chunks handed out whose buffers are kept for reuse: a buffer comes back once hyper has dropped
/// it. hyper asks for the next chunk while up to about 400 KiB of the one before is still queued,
/// so when a read starts the two latest chunks are usually still in use: with two kept, a 1 GiB
/// upload allocated (and the kernel zeroed) a fresh buffer every few chunks, 8,567 page faults
/// against 1,145 with three. The stream holds at most this many buffers, plus one being read into.
const RECYCLE: usize = 3;

/// A file's bytes as a stream of chunks of at most [`FILE_READ_CHUNK`], up to a limit.
pub(crate) struct FileChunks {
    state: State,
    /// Bytes that may still be read.
    remaining: u64,
    /// Chunks handed out whose buffers may be reused.
    recycle: VecDeque<Bytes>,
}

enum State {
    /// A read is on the blocking pool (it owns the file meanwhile).
    Reading(JoinHandle<(File, io::Result<Bytes>)>),
    /// Not reading: the next poll starts a read.
    Idle(File),
    /// The end, or an error, was returned.
    Done,
}

impl FileChunks {
    /// Reads at most `limit` bytes of `file` from its current position.
    pub(crate) fn new(file: File, limit: u64) -> Self {
        Self {
            state: if limit == 0 {
                State::Done
            } else {
                State::Idle(file)
            },
            remaining: limit,
            recycle: VecDeque::with_capacity(RECYCLE),
        }
    }

    /// Starts reading the next chunk on the blocking pool.
    fn start(&mut self, file: File) -> JoinHandle<(File, io::Result<Bytes>)> {
        let want =
            usize::try_from(self.remaining).map_or(FILE_READ_CHUNK, |r| r.min(FILE_READ_CHUNK));
        let buf = self.reusable();
        tokio::task::spawn_blocking(move || {
            let res = read_chunk(&file, buf, want);
            (file, res)
        })
    }

    /// A buffer handed out earlier that nothing else holds any more.
    fn reusable(&mut self) -> Option<BytesMut> {
        for _ in 0..self.recycle.len() {
            let chunk = self.recycle.pop_front()?;
            match chunk.try_into_mut() {
                Ok(buf) => return Some(buf),
                Err(chunk) => self.recycle.push_back(chunk),
            }
        }
        None
    }

    /// Keeps a handle on a full-sized chunk's buffer for reuse.
    fn keep(&mut self, chunk: &Bytes) {
        if chunk.len() == FILE_READ_CHUNK {
            if self.recycle.len() == RECYCLE {
                self.recycle.pop_front();
            }
            self.recycle.push_back(chunk.clone());
        }
    }
}

/// Reads up to `want` bytes into `buf` (or a new buffer): fewer only at the end of the file.
fn read_chunk(mut file: &File, buf: Option<BytesMut>, want: usize) -> io::Result<Bytes> {
    // A reused buffer is already initialised (it held a full chunk): no zeroing then.
    let mut buf = buf.unwrap_or_default();
    buf.resize(want, 0);
    let mut filled = 0;
    while filled < want {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf.freeze())
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Idle(file) => this.state = State::Reading(this.start(file)),
                State::Reading(mut read) => {
                    let (file, res) = match Pin::new(&mut read).poll(cx) {
                        Poll::Pending => {
                            this.state = State::Reading(read);
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(done)) => done,
                        Poll::Ready(Err(e)) => {
                            return Poll::Ready(Some(Err(io::Error::other(e))));
                        }
                    };
                    let chunk = match res {
                        Ok(chunk) if chunk.is_empty() => return Poll::Ready(None),
                        Ok(chunk) => chunk,
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    };
                    this.remaining -= chunk.len() as u64;
                    this.keep(&chunk);
                    if this.remaining > 0 {
                        // Read ahead: the next chunk is read while hyper writes this one.
                        this.state = State::Reading(this.start(file));
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;

    fn file_with(data: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        f.flush().unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        f
    }

    /// Every chunk kept alive: no buffer may be reused while the consumer still holds it.
    #[tokio::test]
    async fn held_chunks_are_never_overwritten() {
        let data = mogile_testkit::data::bytes(5 * FILE_READ_CHUNK + 12_345, 7);
        let chunks: Vec<Bytes> = FileChunks::new(file_with(&data), u64::MAX)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(chunks.len(), 6);
        assert!(chunks[..5].iter().all(|c| c.len() == FILE_READ_CHUNK));
        assert_eq!(chunks.concat(), data);
    }

    /// Chunks dropped at once, as hyper does once written: the buffers are reused, and every
    /// chunk still holds the right bytes.
    #[tokio::test]
    async fn dropped_chunks_are_reused_and_correct() {
        let data = mogile_testkit::data::bytes(9 * FILE_READ_CHUNK + 1, 8);
        let mut stream = FileChunks::new(file_with(&data), u64::MAX);
        let (mut at, mut addrs) = (0, std::collections::HashSet::new());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert_eq!(chunk[..], data[at..at + chunk.len()], "chunk at {at}");
            addrs.insert(chunk.as_ptr() as usize);
            at += chunk.len();
        }
        assert_eq!(at, data.len());
        assert!(
            addrs.len() <= RECYCLE + 2,
            "{} distinct buffers for 10 chunks",
            addrs.len()
        );
    }

    #[tokio::test]
    async fn reads_at_most_the_limit_from_the_current_position() {
        let data = mogile_testkit::data::bytes(FILE_READ_CHUNK + 100, 9);
        let mut f = file_with(&data);
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(10)).unwrap();
        let limit = FILE_READ_CHUNK as u64 + 1;
        let chunks: Vec<Bytes> = FileChunks::new(f, limit)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(chunks.concat(), data[10..10 + FILE_READ_CHUNK + 1]);
    }

    #[tokio::test]
    async fn a_short_file_ends_early_and_an_empty_one_at_once() {
        let data = mogile_testkit::data::bytes(1000, 10);
        let chunks: Vec<Bytes> = FileChunks::new(file_with(&data), 5000)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(chunks.concat(), data);
        assert!(FileChunks::new(file_with(b""), 10).next().await.is_none());
        assert!(FileChunks::new(file_with(&data), 0).next().await.is_none());
    }

    #[tokio::test]
    async fn a_read_error_ends_the_stream() {
        // A directory opens as a file but cannot be read.
        let dir = tempfile::tempdir().unwrap();
        let f = File::open(dir.path()).unwrap();
        let mut stream = FileChunks::new(f, 10);
        assert!(stream.next().await.unwrap().is_err());
        assert!(stream.next().await.is_none());
    }
}
