//! [`Writer`]: store a file by writing to it, like the Perl client's `new_file` handle.
//!
//! The bytes written go through an in-memory pipe into a one-shot upload running on its own task.
//! The upload is committed (`create_close`) only by [`Writer::finish`]; a writer dropped without
//! it aborts the upload, and its pipe reports an error rather than a clean end, so a partly
//! written file can never be closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use mogile_protocol::Key;
use mogile_storage::OneShotBody;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::PutOptions;
use crate::put::PutResult;
use crate::put_stream::store_one_shot;

/// Bytes buffered between the writer and the upload.
const PIPE_CAPACITY: usize = 256 * 1024;

/// An open upload that is fed with [`AsyncWrite`] and committed with [`finish`](Self::finish).
///
/// Writes wait while the storage node is slower than the writer (the pipe holds 256 KiB). If the
/// upload fails early, the next write fails with `BrokenPipe` and `finish` returns the real error.
#[must_use = "an upload is committed only by Writer::finish"]
pub struct Writer {
    pipe: Option<DuplexStream>,
    task: Option<JoinHandle<Result<PutResult>>>,
    finished: Arc<AtomicBool>,
    /// Opens the upload's [`CommitGate`].
    commit: watch::Sender<bool>,
    /// The length declared to [`Client::writer`], if any.
    declared: Option<u64>,
    /// Bytes accepted by `poll_write` so far.
    written: u64,
    /// A write failed because the upload stopped reading: the upload's own error is the real one.
    broken: bool,
}

/// [`Client::writer`]: the pipe, and the upload task that reads it.
pub(crate) fn open(
    client: &Client,
    key: Key,
    len: Option<u64>,
    opts: PutOptions,
) -> Result<Writer> {
    client.config().key_policy.check(&key)?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Config {
        message: "Client::writer needs a Tokio runtime".into(),
        source: None,
    })?;
    let (pipe, read_half) = tokio::io::duplex(PIPE_CAPACITY);
    let finished = Arc::new(AtomicBool::new(false));
    let (commit, gate) = watch::channel(false);
    let gate = CommitGate(gate);
    let reader = Guarded {
        inner: read_half,
        finished: finished.clone(),
    };
    let client = client.clone();
    // The upload's `put` span belongs where the writer was opened, not to a task of its own.
    let task = runtime.spawn(
        async move {
            let body = OneShotBody::from_reader(reader, len);
            store_one_shot(&client, key, body, &opts, Some(gate)).await
        }
        .instrument(tracing::Span::current()),
    );
    Ok(Writer {
        pipe: Some(pipe),
        task: Some(task),
        finished,
        commit,
        declared: len,
        written: 0,
        broken: false,
    })
}

impl Writer {
    /// Ends the body and waits for the upload to be committed.
    ///
    /// # Errors
    ///
    /// Whatever the store failed with (see [`Client::put_body`]); [`Error::Io`] (`InvalidInput`)
    /// without committing anything when fewer bytes were written than the length declared to
    /// [`Client::writer`] (writes past it are refused as they happen).
    pub async fn finish(mut self) -> Result<PutResult> {
        if let Some(declared) = self.declared.filter(|&d| d != self.written) {
            if self.broken {
                // The upload failed first and stopped reading (which is why the writes stopped):
                // its error says why. It cannot commit: the body it read is short of the length.
                self.pipe.take();
                if let Some(task) = self.task.take() {
                    if let Ok(Err(e)) = task.await {
                        return Err(e);
                    }
                }
            }
            // A body that does not match its declared length must never be committed: abort
            // (dropping our end of the pipe makes the upload fail) and say why.
            self.abort_task();
            return Err(Error::Io {
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("wrote {} bytes, declared {declared}", self.written),
                ),
            });
        }
        self.finished.store(true, Ordering::SeqCst);
        // Fails only if the upload task is gone already; its result says why.
        let _ = self.commit.send(true);
        if let Some(mut pipe) = self.pipe.take() {
            // Fails only if the upload already stopped reading; its own error is the one to report.
            let _ = pipe.shutdown().await;
        }
        let Some(task) = self.task.take() else {
            return Err(Error::Closed);
        };
        match task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Io {
                source: io::Error::other(join),
            }),
        }
    }

    /// Abandons the upload: nothing is committed and the key keeps its previous content.
    pub fn abort(mut self) {
        self.abort_task();
    }

    fn abort_task(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // Dropping our end now makes the reader see an unfinished end, i.e. an error.
        self.pipe.take();
    }

    fn pipe(&mut self) -> io::Result<Pin<&mut DuplexStream>> {
        self.pipe
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "writer is finished"))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.abort_task();
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("open", &self.pipe.is_some())
            .finish_non_exhaustive()
    }
}

impl AsyncWrite for Writer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(declared) = self.declared {
            if self.written.saturating_add(buf.len() as u64) > declared {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "write of {} bytes would pass the declared length {declared} ({} written)",
                        buf.len(),
                        self.written
                    ),
                )));
            }
        }
        let res = match self.pipe() {
            Ok(p) => p.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        };
        match &res {
            Poll::Ready(Ok(n)) => self.written += *n as u64,
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => self.broken = true,
            _ => {}
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.pipe() {
            Ok(p) => p.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Shutting the writer down does not commit: only [`Writer::finish`] does. (An `AsyncWrite`
    /// adapter that shuts down on drop must not be able to close a partial upload.)
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What a writer's upload waits for before its `create_close`: [`Writer::finish`].
///
/// The PUT cannot complete before `finish` anyway (the last chunk of a known length is held back
/// until the pipe ends, and only `finish` ends it cleanly); the gate states the rule where the
/// close is sent, even when the declared length was reached before. A dropped writer never opens
/// it.
pub(crate) struct CommitGate(watch::Receiver<bool>);

impl CommitGate {
    /// Waits until [`Writer::finish`] opened the gate.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (`UnexpectedEof`) when the writer was dropped without `finish`.
    pub(crate) async fn opened(&mut self) -> Result<()> {
        if self.0.wait_for(|finished| *finished).await.is_err() {
            return Err(Error::Io {
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "writer dropped before finish",
                ),
            });
        }
        Ok(())
    }
}

/// The upload's side of the pipe: an end of input before [`Writer::finish`] is an error.
struct Guarded {
    inner: DuplexStream,
    finished: Arc<AtomicBool>,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let had_room = buf.remaining() > 0;
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            if had_room && buf.filled().len() == before && !self.finished.load(Ordering::SeqCst) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "writer dropped before finish",
                )));
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    fn guarded() -> (DuplexStream, Guarded, Arc<AtomicBool>) {
        let (w, r) = tokio::io::duplex(64);
        let finished = Arc::new(AtomicBool::new(false));
        let g = Guarded {
            inner: r,
            finished: finished.clone(),
        };
        (w, g, finished)
    }

    #[tokio::test]
    async fn an_end_before_finish_is_an_error() {
        let (mut w, mut g, _) = guarded();
        w.write_all(b"partial").await.unwrap();
        drop(w);
        let mut buf = Vec::new();
        let err = g.read_to_end(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(buf, b"partial");
    }

    #[tokio::test]
    async fn an_end_after_finish_is_a_clean_end() {
        let (mut w, mut g, finished) = guarded();
        w.write_all(b"whole").await.unwrap();
        finished.store(true, Ordering::SeqCst);
        w.shutdown().await.unwrap();
        let mut buf = Vec::new();
        g.read_to_end(&mut buf).await.unwrap();
        assert_eq!(buf, b"whole");
    }
}
