//! The two ends of a sync: a MogileFS domain (through the facade), a local directory (ours), or
//! any `object_store` store. Each lists its keys relative to its prefix, describes one key,
//! reads one, writes one whole or not at all, and deletes one.

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use super::local::LocalSide;
use super::mogile::MogileSide;
use super::sort::Entry;
use super::store::StoreSide;

/// One item of a listing.
#[derive(Debug)]
pub(crate) enum Listed {
    /// A key that can be synced.
    Entry(Entry),
    /// Something that cannot be (a directory symlink, a special file, the prefix itself): a
    /// failure of the sync, with the reason.
    Bad {
        /// The key, relative to the prefix.
        key: Vec<u8>,
        /// Why it cannot be synced.
        reason: String,
    },
}

/// A side's listing, in whatever order it comes.
pub(crate) type Listing = BoxStream<'static, Result<Listed, SideError>>;

/// What a side says about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The size in bytes.
    pub(crate) size: u64,
    /// The MD5 the side stores (a MogileFS class with a hash, an S3 single-part ETag).
    pub(crate) md5: Option<[u8; 16]>,
    /// The MogileFS class.
    pub(crate) class: Option<String>,
}

/// The content of one key, on its way from one side to the other.
pub(crate) enum Body {
    /// A local file, which can be read again (a MogileFS upload then fails over freely).
    File {
        /// Where it is.
        path: PathBuf,
        /// Its size when opened.
        len: u64,
    },
    /// A stream of exactly `len` bytes.
    Stream {
        /// The bytes.
        stream: BoxStream<'static, io::Result<Bytes>>,
        /// How many.
        len: u64,
    },
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { path, len } => write!(f, "Body::File({}, {len})", path.display()),
            Self::Stream { len, .. } => write!(f, "Body::Stream({len})"),
        }
    }
}

impl Body {
    /// The declared length.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::File { len, .. } | Self::Stream { len, .. } => *len,
        }
    }

    /// The bytes as a stream, counted into `tally` as they pass.
    pub(crate) async fn into_stream(
        self,
        tally: Tally,
    ) -> io::Result<BoxStream<'static, io::Result<Bytes>>> {
        let stream = match self {
            Self::Stream { stream, .. } => stream,
            Self::File { path, .. } => {
                let file = tokio::fs::File::open(&path).await?;
                tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).boxed()
            }
        };
        Ok(stream
            .inspect_ok(move |chunk| tally.add(chunk.len() as u64))
            .boxed())
    }
}

/// Why an operation on a side failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SideError {
    /// The facade failed.
    #[error(transparent)]
    Mogile(#[from] mogilefs::Error),
    /// The local filesystem failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The object store failed.
    #[error(transparent)]
    Store(#[from] object_store::Error),
    /// The body did not have the length it was announced with.
    #[error("the source changed while it was copied: {expected} bytes announced, {got} read")]
    Length {
        /// What the source said.
        expected: u64,
        /// What came.
        got: u64,
    },
    /// The source did not say how long the content is, so the copy could not be checked.
    #[error("the source did not say how long the content is")]
    UnknownLength,
}

/// Bytes moved, on the bytes bar (when one is drawn).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    bar: Option<indicatif::ProgressBar>,
}

impl Tally {
    /// A tally that moves `bar`.
    pub(crate) fn new(bar: Option<indicatif::ProgressBar>) -> Self {
        Self { bar }
    }

    /// Counts `n` bytes.
    pub(crate) fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }
}

impl mogilefs::Progress for Tally {
    fn on_bytes(&self, chunk: &[u8]) {
        self.add(chunk.len() as u64);
    }

    // A restarted upload counts its bytes again: the bar shows work done, not file sizes.
    fn on_restart(&self) {}
}

/// One end of a sync.
#[derive(Debug)]
pub(crate) enum Side {
    /// A MogileFS domain and key prefix.
    Mogile(MogileSide),
    /// A local directory.
    Local(LocalSide),
    /// Any `object_store` store and path prefix.
    Store(StoreSide),
}

impl Side {
    /// Closes a MogileFS side's connections.
    pub(crate) async fn close(&self) {
        if let Self::Mogile(s) = self {
            s.close().await;
        }
    }

    /// Whether this is a MogileFS side (classes are kept between two of them).
    pub(crate) fn is_mogile(&self) -> bool {
        matches!(self, Self::Mogile(_))
    }

    /// Whether this is a local directory (whose names `a` and `a/b` cannot both exist).
    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }

    /// Whether this is a local directory on a case-insensitive filesystem.
    pub(crate) async fn is_case_insensitive(&self) -> bool {
        match self {
            Self::Local(s) => s.is_case_insensitive().await,
            _ => false,
        }
    }

    /// Every key under the prefix. `as_source`: a missing local directory is an error (a
    /// missing destination is empty).
    pub(crate) fn list(&self, as_source: bool) -> Listing {
        match self {
            Self::Mogile(s) => s.list(),
            Self::Local(s) => s.list(as_source),
            Self::Store(s) => s.list(),
        }
    }

    /// Why `key` cannot be written on this side, if it cannot.
    pub(crate) fn refuses(&self, key: &[u8]) -> Option<String> {
        match self {
            Self::Mogile(s) => s.refuses(key),
            Self::Local(s) => s.refuses(key),
            Self::Store(s) => s.refuses(key),
        }
    }

    /// Size, stored MD5 and class of `key`.
    pub(crate) async fn meta(&self, key: &[u8]) -> Result<Meta, SideError> {
        match self {
            Self::Mogile(s) => s.meta(key).await,
            Self::Local(s) => s.meta(key).await,
            Self::Store(s) => s.meta(key).await,
        }
    }

    /// Opens `key` for reading.
    pub(crate) async fn open(&self, key: &[u8]) -> Result<Body, SideError> {
        match self {
            Self::Mogile(s) => s.open(key).await,
            Self::Local(s) => s.open(key),
            Self::Store(s) => s.open(key).await,
        }
    }

    /// Writes `key` whole, or leaves it as it was. Returns the bytes written.
    pub(crate) async fn write(
        &self,
        key: &[u8],
        body: Body,
        class: Option<&str>,
        tally: Tally,
    ) -> Result<u64, SideError> {
        match self {
            Self::Mogile(s) => s.write(key, body, class, tally).await,
            Self::Local(s) => s.write(key, body, tally).await,
            Self::Store(s) => s.write(key, body, tally).await,
        }
    }

    /// Deletes `key` (already gone is fine).
    pub(crate) async fn delete(&self, key: &[u8]) -> Result<(), SideError> {
        match self {
            Self::Mogile(s) => s.delete(key).await,
            Self::Local(s) => s.delete(key).await,
            Self::Store(s) => s.delete(key).await,
        }
    }

    /// The MD5 of `key`'s content: the stored one when the side has it, else hashed.
    pub(crate) async fn md5(&self, key: &[u8], meta: &Meta) -> Result<[u8; 16], SideError> {
        if let Some(md5) = meta.md5 {
            return Ok(md5);
        }
        let body = self.open(key).await?;
        let expected = body.len();
        let mut stream = body.into_stream(Tally::default()).await?;
        let mut hasher = Md5::new();
        let mut got = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            got += chunk.len() as u64;
            hasher.update(&chunk);
        }
        if got != expected {
            return Err(SideError::Length { expected, got });
        }
        Ok(hasher.finalize().into())
    }
}

/// The 16 bytes of an MD5 given as 32 hex digits (quotes around it allowed, as ETags have).
pub(crate) fn md5_hex(text: &str) -> Option<[u8; 16]> {
    let t = text.trim_matches('"');
    let mut out = [0u8; 16];
    hex::decode_to_slice(t, &mut out).ok()?;
    Some(out)
}
