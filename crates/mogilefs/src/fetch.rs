//! [`FetchStream`]: one uninterrupted, checked stream of a file's bytes over as many replicas as it
//! takes. The decisions are [`Resume`]'s; this file does the I/O.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use mogile_protocol::printable;
use mogile_protocol::{Checksum, StoragePath};
use mogile_storage::{ByteRange, ByteStream, StorageError, StorageGetOptions};
use tracing::{Span, field};

use crate::client::Client;
use crate::error::{self, Attempt, AttemptError, Error, Result};
use crate::hedge;
use crate::observe::Md5Hasher;
use crate::options::Progress;
use crate::resume::{Accept, Mismatch, Resume};

/// The bytes of a fetched file (or range), as a stream of chunks.
///
/// When a replica fails mid-stream, the stream continues from the next replica with a `Range`
/// request, so the caller sees every byte exactly once. A large file may be read as stripes
/// from several replicas at once and reassembled in order (see the crate docs, "How a read uses
/// the replicas"); the caller sees the same ordered stream. It ends with an error item when no replica
/// can deliver the rest ([`Error::NoUsablePath`] listing every attempt, or [`Error::Storage`] for
/// a failure that storage judges no other replica would avoid), and, when verification is on,
/// with [`Error::ChecksumMismatch`] instead of a clean end.
pub struct FetchStream {
    pub(crate) inner: Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>,
    pub(crate) len: Option<u64>,
    /// A striped fetch's count of bytes received and not yet handed out.
    pub(crate) buffered: Option<Arc<AtomicU64>>,
    /// The `get` span, entered while the stream is polled.
    pub(crate) span: Span,
}

impl FetchStream {
    /// How many bytes the stream will yield, when the file's length is known.
    pub fn len(&self) -> Option<u64> {
        self.len
    }

    /// Bytes received from the replicas that this stream holds and has not yielded yet: stripes
    /// read ahead of the one being handed out. Always 0 for a fetch read one replica at a time
    /// (it holds nothing beyond the chunk in hand). A striped fetch never holds more than
    /// `stripe_streams × stripe_size`, and reads nothing while its consumer does not poll it.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered
            .as_ref()
            .map_or(0, |b| b.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Whether the stream is known to yield no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }

    /// Collects the whole stream into memory.
    ///
    /// # Errors
    ///
    /// The first error the stream yields.
    pub async fn bytes(mut self) -> Result<Bytes> {
        // Always copied, even a body that came as one chunk: a chunk can be a slice of the HTTP
        // connection's read buffer, and handing it out would pin that whole buffer for as long
        // as the caller keeps a small file.
        let cap = self.len.and_then(|l| usize::try_from(l).ok()).unwrap_or(0);
        // Never trust a length for a large up-front allocation.
        let mut buf = bytes::BytesMut::with_capacity(cap.min(8 << 20));
        while let Some(chunk) = self.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}

impl Stream for FetchStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let _in = this.span.enter();
        this.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for FetchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchStream")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Everything the stream needs between chunks.
pub(crate) struct Fetch {
    pub(crate) client: Client,
    pub(crate) name: String,
    pub(crate) paths: Vec<StoragePath>,
    pub(crate) resume: Resume,
    /// `(hasher, expected)` when the checksum is verified.
    pub(crate) verify: Option<(Md5Hasher, Checksum)>,
    pub(crate) progress: Option<Arc<dyn Progress>>,
    /// The `get` span: the replica read and where a resume started are recorded in it.
    pub(crate) span: Span,
    next_path: usize,
    current: Option<Current>,
    attempts: Vec<Attempt>,
    done: bool,
}

/// The replica being read.
struct Current {
    url: String,
    body: ByteStream,
    skip: u64,
    /// The position when this replica was opened.
    start: u64,
    /// Whether the body's length was known (and checked) before its first byte.
    framed: bool,
    /// The last wanted bytes of an unframed body, held back until the body ends.
    held: Option<Bytes>,
}

impl Fetch {
    pub(crate) fn new(
        client: Client,
        name: String,
        paths: Vec<StoragePath>,
        resume: Resume,
    ) -> Self {
        Self {
            client,
            name,
            paths,
            resume,
            verify: None,
            progress: None,
            span: Span::none(),
            next_path: 0,
            current: None,
            attempts: Vec::new(),
            done: false,
        }
    }

    /// Starts with the attempts of an earlier part of the same fetch (a striped read that fell
    /// back to one stream), so a final error lists them all.
    pub(crate) fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.attempts = attempts;
        self
    }

    pub(crate) fn into_stream(self, len: Option<u64>) -> FetchStream {
        let span = self.span.clone();
        let inner = futures::stream::unfold(self, |mut f| async move {
            let item = f.next_chunk().await?;
            Some((item, f))
        });
        FetchStream {
            inner: Box::pin(inner),
            len,
            buffered: None,
            span,
        }
    }

    /// The next chunk for the caller, `None` at a verified end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        loop {
            if self.done {
                return None;
            }
            let Some(cur) = self.current.as_mut() else {
                if self.resume.is_complete() {
                    return self.complete();
                }
                // Boxed: opening a replica (with its hedge) is a future of several KiB, needed
                // once per replica; inline, it would make every chunk's future, and with it the
                // stream's state (copied into its box once per fetch), that large.
                if let Err(e) = Box::pin(self.open_next()).await {
                    self.done = true;
                    return Some(Err(e));
                }
                continue;
            };
            // A body that had no length to check up front (a `200` or `206` without
            // `Content-Length`) and then turns out wrong may not be this file's bytes at all: once
            // it handed bytes out, they are never continued from another replica (that would
            // stitch two contents into one). A body whose length was checked up front and that
            // breaks off is a replica dying mid-stream: the next one continues it.
            let held = cur.held.as_ref().map_or(0, |h| h.len() as u64);
            let unchecked_delivered =
                !cur.framed && self.resume.position().saturating_sub(held) > cur.start;
            let failure = match cur.body.next().await {
                Some(Ok(chunk)) if cur.held.is_some() => {
                    if chunk.is_empty() {
                        continue;
                    }
                    // The unframed body runs on past the file's end.
                    mismatch(Mismatch::TooLong {
                        expected: self.resume.total().unwrap_or_default(),
                    })
                }
                Some(Ok(chunk)) => match self.resume.take(chunk, &mut cur.skip) {
                    Ok(take) if take.done && !cur.framed => {
                        // An unframed body is judged at its end: its last wanted bytes wait until
                        // the node ends the body, so one that runs past the file's length is
                        // refused before they are handed out.
                        cur.held = Some(take.data);
                        continue;
                    }
                    Ok(take) => {
                        if take.done {
                            self.current = None;
                        }
                        if !take.data.is_empty() {
                            self.observe(&take.data);
                            return Some(Ok(take.data));
                        }
                        continue;
                    }
                    Err(m) => mismatch(m),
                },
                Some(Err(e)) if !e.try_another_replica() => return self.stop(e),
                Some(Err(e)) => AttemptError::Storage(e),
                None => {
                    if let Some(data) = cur.held.take() {
                        self.current = None;
                        if !data.is_empty() {
                            self.observe(&data);
                            return Some(Ok(data));
                        }
                        continue;
                    }
                    match self.resume.finish() {
                        Ok(()) => {
                            self.current = None;
                            return self.complete();
                        }
                        // A clean end before the file's end: only an unframed body can do that.
                        Err(m) if self.resume.position() > cur.start => {
                            self.fail_current(mismatch(m));
                            return self.give_up();
                        }
                        Err(m) => mismatch(m),
                    }
                }
            };
            // Bytes held back were never handed out: the next replica must deliver them.
            if let Some(h) = self.current.as_mut().and_then(|c| c.held.take()) {
                self.resume.give_back(h.len() as u64);
            }
            self.fail_current(failure);
            if unchecked_delivered {
                return self.give_up();
            }
        }
    }

    /// Opens the next replica that gives a usable answer; `Err` when none is left.
    ///
    /// Each opening request is hedged ([`hedge::open`]): if the replica has not answered within
    /// the hedge delay, the next path is asked too, and the first answer is judged first.
    async fn open_next(&mut self) -> Result<()> {
        while let Some(path) = self.paths.get(self.next_path) {
            self.next_path += 1;
            if let Some(failed) = self.attempts.last() {
                // The resume decision: the replica before failed, this one continues.
                tracing::warn!(
                    failed = %printable(&failed.url),
                    error = %error::Chain(&failed.error),
                    next = %printable(path.as_str()),
                    offset = self.resume.position(),
                    "replica failed; resuming on the next"
                );
                self.span.record("resume", self.resume.position());
            }
            let url = path.as_str().to_owned();
            let mut opts = StorageGetOptions::default();
            if let Some((start, len)) = self.resume.range() {
                opts = opts.range(match len {
                    Some(len) => ByteRange::new(start, len),
                    None => ByteRange::from_offset(start),
                });
            }
            let client = self.client.clone();
            // Copied only if a hedge is sent: most reads never send one.
            let spare = self.paths.get(self.next_path).map(StoragePath::as_str);
            // Tags: `true` for the hedge.
            let hedge = spare.map(|u| move || Some((true, u.to_owned())));
            let race = hedge::open(&client, (false, url), &opts, hedge).await;
            if race.outcomes.iter().any(|(hedge, _, _)| *hedge) {
                // The hedge's answer is judged here: the next path is not asked again. (A hedge
                // cancelled because the first path answered stays available for a resume.)
                self.next_path += 1;
            }
            for (_, url, answer) in race.outcomes {
                // `mogile-storage` refuses a `206` that does not start where it was asked;
                // `Resume` judges what the rest of the answer means for the file.
                let response = match answer {
                    Ok(r) => r,
                    Err(e) if !e.try_another_replica() => return Err(error::from_storage(e)),
                    Err(e) => {
                        self.record(url, AttemptError::Storage(e));
                        continue;
                    }
                };
                let framed = response.content_length().is_some();
                match self.resume.accept(response.extent(), framed) {
                    Accept::Stream { skip } => {
                        self.span.record("replica", field::display(printable(&url)));
                        self.current = Some(Current {
                            // `mogile-storage` checks a framed body against its
                            // `Content-Length` (which `accept` checked against the file's
                            // length or the part's).
                            framed,
                            held: None,
                            url,
                            body: response.into_stream(),
                            skip,
                            start: self.resume.position(),
                        });
                        return Ok(());
                    }
                    Accept::MoveOn(m) => {
                        // A node whose answer was refused never gets another request on that
                        // connection.
                        response.discard();
                        self.record(url, mismatch(m));
                    }
                }
            }
        }
        Err(Error::NoUsablePath {
            key: self.name.clone(),
            attempts: std::mem::take(&mut self.attempts),
        })
    }

    /// Ends the fetch with a storage failure that, as storage judges it, no other replica would
    /// avoid.
    fn stop(&mut self, error: StorageError) -> Option<Result<Bytes>> {
        if let Some(cur) = self.current.take() {
            cur.body.discard();
        }
        self.done = true;
        Some(Err(error::from_storage(error)))
    }

    /// Ends the fetch with every attempt so far.
    fn give_up(&mut self) -> Option<Result<Bytes>> {
        self.done = true;
        Some(Err(Error::NoUsablePath {
            key: self.name.clone(),
            attempts: std::mem::take(&mut self.attempts),
        }))
    }

    fn fail_current(&mut self, error: AttemptError) {
        if let Some(cur) = self.current.take() {
            cur.body.discard();
            self.record(cur.url, error);
        }
    }

    fn record(&mut self, url: String, error: AttemptError) {
        self.attempts.push(Attempt { url, error });
    }

    fn observe(&self, data: &[u8]) {
        if let Some((h, _)) = &self.verify {
            h.update(data);
        }
        if let Some(p) = &self.progress {
            p.on_bytes(data);
        }
    }

    /// The wanted bytes are all delivered: the checksum, if verified, decides the end.
    fn complete(&mut self) -> Option<Result<Bytes>> {
        self.done = true;
        checksum_verdict(&self.name, self.verify.take())
    }
}

/// The end of a fetch of `key` whose bytes were all delivered: nothing (a clean end) unless the
/// checksum was verified and differs, then [`Error::ChecksumMismatch`]. Shared by the one-stream
/// and the striped fetch.
pub(crate) fn checksum_verdict(
    key: &str,
    verify: Option<(Md5Hasher, Checksum)>,
) -> Option<Result<Bytes>> {
    let (hasher, expected) = verify?;
    let actual = hasher.checksum();
    if actual.hex.eq_ignore_ascii_case(&expected.hex) {
        return None;
    }
    Some(Err(Error::ChecksumMismatch {
        key: key.to_owned(),
        expected,
        actual,
    }))
}

pub(crate) fn mismatch(m: Mismatch) -> AttemptError {
    match m {
        Mismatch::Total { expected, actual } => AttemptError::Length { expected, actual },
        Mismatch::TooLong { expected } => AttemptError::Length {
            expected,
            actual: expected.saturating_add(1),
        },
        Mismatch::TooShort { reached, expected } => AttemptError::Length {
            expected,
            actual: reached,
        },
        Mismatch::NoTotal => AttemptError::Range("Content-Range without the file's total".into()),
        Mismatch::Unframed => AttemptError::Range(
            "an answer without Content-Length to a range request cannot be checked".into(),
        ),
    }
}
