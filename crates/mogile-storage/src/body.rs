//! Request bodies: the replayable [`Payload`] and the one-shot [`OneShotBody`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncRead;
use tokio_util::io::ReaderStream;

/// Read size for readers ([`OneShotBody::from_reader`]) and slice size for in-memory payloads:
/// large enough that per-frame overhead is negligible. Files have their own (`file_body.rs`).
pub(crate) const READ_CHUNK: usize = 256 * 1024;

/// A request body that can be sent any number of times (bytes in memory, or a file on disk).
///
/// Cloning is cheap (the bytes are shared). Its length is always known, so it goes out with
/// `Content-Length` on a pooled connection.
#[derive(Clone)]
pub struct Payload {
    kind: PayloadKind,
}

#[derive(Clone)]
pub(crate) enum PayloadKind {
    Bytes(Arc<[Bytes]>, u64),
    File(Arc<Path>, u64),
}

impl Payload {
    /// A payload made of several buffers sent back to back (no copying).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let chunks: Arc<[Bytes]> = chunks.into_iter().filter(|b| !b.is_empty()).collect();
        let len = chunks.iter().map(|b| b.len() as u64).sum();
        Self {
            kind: PayloadKind::Bytes(chunks, len),
        }
    }

    /// A payload read from the file at `path` each time it is sent.
    ///
    /// The length is taken from the file's metadata now; if the file is shorter or longer when
    /// sent, the upload fails with [`StorageError::Body`](crate::StorageError::Body) (a file is
    /// never cut silently to the length it had).
    ///
    /// # Errors
    /// The file's metadata cannot be read, or it is not a regular file.
    pub async fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path: PathBuf = path.as_ref().to_owned();
        let meta = tokio::fs::metadata(&path).await?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "payload path is not a regular file",
            ));
        }
        Ok(Self {
            kind: PayloadKind::File(path.into(), meta.len()),
        })
    }

    /// The body length in bytes.
    pub fn len(&self) -> u64 {
        match &self.kind {
            PayloadKind::Bytes(_, len) | PayloadKind::File(_, len) => *len,
        }
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn kind(&self) -> &PayloadKind {
        &self.kind
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            PayloadKind::Bytes(chunks, len) => f
                .debug_struct("Payload")
                .field("chunks", &chunks.len())
                .field("len", len)
                .finish(),
            PayloadKind::File(path, len) => f
                .debug_struct("Payload")
                .field("file", path)
                .field("len", len)
                .finish(),
        }
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Self::from_chunks([b])
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Bytes::from(v).into()
    }
}

impl From<&'static [u8]> for Payload {
    fn from(s: &'static [u8]) -> Self {
        Bytes::from_static(s).into()
    }
}

impl From<&'static str> for Payload {
    fn from(s: &'static str) -> Self {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<String> for Payload {
    fn from(s: String) -> Self {
        Bytes::from(s).into()
    }
}

pub(crate) type BoxByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A request body that can be read only once: a stream of `Bytes` or an `AsyncRead`, of known or
/// unknown length.
///
/// It cannot be resent after any of it was consumed. [`is_untouched`](Self::is_untouched) tells
/// whether a frame was ever taken from it; a failed
/// [`put_stream`](crate::StorageClient::put_stream) hands the body back only in that case.
pub struct OneShotBody {
    stream: BoxByteStream,
    len: Option<u64>,
    touched: bool,
}

impl OneShotBody {
    /// A body from a stream of byte chunks. `len` is its total length if known (it is then sent
    /// with `Content-Length` and must produce exactly that many bytes).
    pub fn from_stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self {
            stream: Box::pin(stream),
            len,
            touched: false,
        }
    }

    /// A body read from `reader`. `len` as for [`from_stream`](Self::from_stream).
    pub fn from_reader<R>(reader: R, len: Option<u64>) -> Self
    where
        R: AsyncRead + Send + 'static,
    {
        Self::from_stream(ReaderStream::with_capacity(reader, READ_CHUNK), len)
    }

    /// The declared length, if known.
    pub fn declared_len(&self) -> Option<u64> {
        self.len
    }

    /// True if no frame was ever taken from the body (it can still be sent elsewhere).
    pub fn is_untouched(&self) -> bool {
        !self.touched
    }

    /// Polls the next chunk, marking the body touched once a chunk (or an error) is taken.
    pub(crate) fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let res = self.stream.as_mut().poll_next(cx);
        if let Poll::Ready(Some(_)) = &res {
            self.touched = true;
        }
        res
    }
}

impl fmt::Debug for OneShotBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneShotBody")
            .field("len", &self.len)
            .field("touched", &self.touched)
            .finish_non_exhaustive()
    }
}

impl Stream for OneShotBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_chunk(cx)
    }
}
