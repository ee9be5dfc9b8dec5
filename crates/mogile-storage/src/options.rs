//! Per-request options and small result types.

use std::fmt;
use std::sync::Arc;

/// Told about every body byte as it moves: for progress bars, or hashing while streaming.
///
/// For uploads it sees the bytes actually handed to the connection, in order; for downloads the
/// bytes received, in order. A body that is sent again (the `411`/`501` fallback) is fed again
/// from the start, so an observer that hashes must reset per attempt
/// ([`on_restart`](Self::on_restart)).
pub trait TransferObserver: Send + Sync {
    /// Called with each chunk, in order.
    fn on_bytes(&self, chunk: &[u8]);

    /// Called before a body is sent again from its first byte. The default does nothing.
    fn on_restart(&self) {}
}

/// Options for an upload.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct StoragePutOptions {
    /// Observer of the bytes sent.
    pub observer: Option<Arc<dyn TransferObserver>>,
}

impl StoragePutOptions {
    /// Sets the observer of the bytes sent.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn TransferObserver>) -> Self {
        self.observer = Some(observer);
        self
    }
}

impl fmt::Debug for StoragePutOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoragePutOptions")
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// Options for a download.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct StorageGetOptions {
    /// Only this byte range (sent as `bytes=start-end` or `bytes=start-`, never a suffix range).
    pub range: Option<ByteRange>,
    /// Observer of the bytes received.
    pub observer: Option<Arc<dyn TransferObserver>>,
}

impl StorageGetOptions {
    /// Requests only `range`.
    #[must_use]
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    /// Sets the observer of the bytes received.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn TransferObserver>) -> Self {
        self.observer = Some(observer);
        self
    }
}

impl fmt::Debug for StorageGetOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageGetOptions")
            .field("range", &self.range)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// A byte range from `start`, of `len` bytes or to the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte (0-based).
    pub start: u64,
    /// Number of bytes, or `None` for "to the end". `Some(0)` is rejected at request time.
    pub len: Option<u64>,
}

impl ByteRange {
    /// From `start` to the end of the file.
    pub fn from_offset(start: u64) -> Self {
        Self { start, len: None }
    }

    /// `len` bytes from `start`.
    pub fn new(start: u64, len: u64) -> Self {
        Self {
            start,
            len: Some(len),
        }
    }

    /// The `Range` header value, or `None` for an empty range.
    pub(crate) fn header_value(&self) -> Option<String> {
        match self.len {
            None => Some(format!("bytes={}-", self.start)),
            Some(0) => None,
            Some(len) => {
                let end = self.start.checked_add(len - 1)?;
                Some(format!("bytes={}-{}", self.start, end))
            }
        }
    }
}

/// A parsed `Content-Range: bytes start-end/total` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte of the body within the file.
    pub start: u64,
    /// Last byte of the body within the file (inclusive).
    pub end: u64,
    /// Full file size, if the node told it (`*` otherwise).
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parses `bytes a-b/total` (or `bytes a-b/*`); `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.trim().strip_prefix("bytes ")?;
        let (span, total) = rest.split_once('/')?;
        let (start, end) = span.split_once('-')?;
        let start: u64 = start.trim().parse().ok()?;
        let end: u64 = end.trim().parse().ok()?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse().ok()?),
        };
        if end < start || total.is_some_and(|t| end >= t) {
            return None;
        }
        Some(Self { start, end, total })
    }

    /// Number of bytes the range covers.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a range covers at least one byte (kept for the `len`/`is_empty` pair).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Where the body of a successful `GET` lies in the file: what the answer says, after
/// [`StorageClient::get`](crate::StorageClient::get) checked it against what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// The whole file from its first byte: any 2xx but `206`. If a range was asked for, the node
    /// ignored it.
    Whole {
        /// The file's length according to `Content-Length`, when given (the body is then checked
        /// against it).
        len: Option<u64>,
    },
    /// Part of the file, starting at the byte asked for (byte 0 when no range was asked for): a
    /// `206` whose `Content-Range` starts there, covers no more than was asked, and agrees with
    /// `Content-Length` when there is one.
    Part(ContentRange),
}

/// A successful upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutOutcome {
    /// Body bytes handed to the connection (what `create_close` should report as the size).
    pub bytes_sent: u64,
    /// The 2xx status the node answered.
    pub status: u16,
}

/// The answer to a `HEAD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadInfo {
    /// `Content-Length`, i.e. the file size.
    pub content_length: Option<u64>,
    /// The 2xx status.
    pub status: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_never_suffix() {
        assert_eq!(
            ByteRange::from_offset(6).header_value().unwrap(),
            "bytes=6-"
        );
        assert_eq!(ByteRange::new(0, 5).header_value().unwrap(), "bytes=0-4");
        assert_eq!(ByteRange::new(3, 0).header_value(), None);
        assert_eq!(ByteRange::new(u64::MAX, 2).header_value(), None);
    }

    #[test]
    fn content_range_parse() {
        let cr = ContentRange::parse("bytes 6-13/14").unwrap();
        assert_eq!((cr.start, cr.end, cr.total, cr.len()), (6, 13, Some(14), 8));
        assert_eq!(ContentRange::parse("bytes 0-3/*").unwrap().total, None);
        assert_eq!(ContentRange::parse("bytes */14"), None);
        assert_eq!(ContentRange::parse("bytes 5-2/14"), None);
        assert_eq!(ContentRange::parse("bytes 0-14/14"), None);
        assert_eq!(ContentRange::parse("items 0-1/2"), None);
    }
}
