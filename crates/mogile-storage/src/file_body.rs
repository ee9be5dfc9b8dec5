//! [`FileChunks`]: a file read for upload, straight into the buffers handed to hyper.
//!
//! A `tokio::fs::File` reads on the blocking pool into a buffer of its own and copies that into
//! the caller's: for a 1 GiB upload that copy was the client's largest user-space cost (8% of
//! its CPU samples, as much as the rest of user space together). Here each read runs on the
//! blocking pool into a buffer that becomes the chunk as it is (`read_to_end` on a new buffer
//! fills its spare capacity, never zeroed), one read ahead of hyper: the next chunk is read
//! while the connection writes this one.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::task::JoinHandle;

/// Read size: large enough that the blocking-pool round trip per chunk is negligible (1 GiB is
/// 1,024 hand-offs). An upload holds about three at a time: the one being read, and the one or
/// two hyper is writing (it asks for the next chunk while some 400 KiB of the last are queued).
pub(crate) const FILE_READ_CHUNK: usize = 1024 * 1024;

/// A file's bytes as a stream of chunks of at most [`FILE_READ_CHUNK`], up to a limit.
pub(crate) struct FileChunks {
    state: State,
    /// Bytes that may still be read.
    remaining: u64,
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
        }
    }

    /// Starts reading the next chunk on the blocking pool.
    fn start(&self, file: File) -> JoinHandle<(File, io::Result<Bytes>)> {
        let want =
            usize::try_from(self.remaining).map_or(FILE_READ_CHUNK, |r| r.min(FILE_READ_CHUNK));
        tokio::task::spawn_blocking(move || {
            let res = read_chunk(&file, want);
            (file, res)
        })
    }
}

/// Reads up to `want` bytes (fewer only at the end of the file) into a new buffer.
///
/// `read_to_end` reads into the buffer's spare capacity without zeroing it first; it starts
/// with a small read and doubles, so a 1 MiB chunk takes 8 system calls. A zeroed buffer read
/// in one call cost more (the zeroing is a pass over the memory), and so did reusing the buffers
/// hyper had dropped, oddly (see the bench notes, issue 14).
fn read_chunk(file: &File, want: usize) -> io::Result<Bytes> {
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
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

    /// Every chunk kept alive: full chunks, then the rest, the file's bytes in order.
    #[tokio::test]
    async fn reads_the_whole_file_in_full_chunks() {
        let data = mogile_testkit::data::bytes(5 * FILE_READ_CHUNK + 12_345, 7);
        let chunks: Vec<Bytes> = FileChunks::new(file_with(&data), u64::MAX)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(chunks.len(), 6);
        assert!(chunks[..5].iter().all(|c| c.len() == FILE_READ_CHUNK));
        assert_eq!(chunks.concat(), data);
    }

    /// Chunks dropped at once, as hyper does once written: every chunk holds the right bytes.
    #[tokio::test]
    async fn dropped_chunks_are_correct() {
        let data = mogile_testkit::data::bytes(9 * FILE_READ_CHUNK + 1, 8);
        let mut stream = FileChunks::new(file_with(&data), u64::MAX);
        let mut at = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert_eq!(chunk.len().min(FILE_READ_CHUNK), chunk.len());
            assert_eq!(chunk[..], data[at..at + chunk.len()], "chunk at {at}");
            at += chunk.len();
        }
        assert_eq!(at, data.len());
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
