//! The request body type handed to hyper: counts and observes every byte, checks a declared
//! length, records when the last byte was handed over (where the headers timeout starts) and, for
//! one-shot bodies, keeps the source reclaimable and optionally tees it into a spool file.
//!
//! [`BodyState`] is what the upload code reads when the answer comes: whether the whole body was
//! handed over. A `2xx` counts as success only then (see `put.rs`).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWrite;
use tokio::time::Instant;

use crate::body::{BoxByteStream, OneShotBody, READ_CHUNK};
use crate::error::BodySourceError;
use crate::options::TransferObserver;

/// Where the bytes come from.
pub(crate) enum Source {
    /// In-memory buffers, handed to hyper in slices of at most [`READ_CHUNK`] bytes (zero-copy),
    /// so that the count of bytes handed over follows what the connection actually took: hyper
    /// buffers only so much before it writes, and a node that answers early is then seen as such.
    Chunks {
        chunks: Arc<[Bytes]>,
        next: usize,
        offset: usize,
    },
    Stream(BoxByteStream),
    Shared(Arc<Mutex<SharedBody>>),
}

/// A one-shot body shared between hyper (which polls it) and the upload code (which takes it back
/// if untouched after a failure, or takes its spool after a `411`/`501`).
pub(crate) struct SharedBody {
    pub(crate) body: Option<OneShotBody>,
    pub(crate) spool: Option<Spool>,
    /// Bytes may be teed into the spool while its length stays within this limit.
    pub(crate) spool_limit: u64,
    /// False once a chunk went out without a copy in the spool (limit exceeded or write failed).
    pub(crate) spool_complete: bool,
    /// A chunk being copied into the spool before it is handed to hyper, and how much of it is.
    pub(crate) pending: Option<(Bytes, usize)>,
}

/// A temporary file (already unlinked) holding a copy of the bytes sent so far.
pub(crate) struct Spool {
    pub(crate) file: tokio::fs::File,
    pub(crate) len: u64,
}

impl SharedBody {
    pub(crate) fn new(
        body: OneShotBody,
        spool: Option<Spool>,
        spool_limit: u64,
    ) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            body: Some(body),
            spool_complete: spool.is_some(),
            spool,
            spool_limit,
            pending: None,
        }))
    }

    /// Takes the body back if no frame was ever taken from it.
    pub(crate) fn reclaim(this: &Mutex<Self>) -> Option<OneShotBody> {
        let mut g = this.lock().unwrap_or_else(PoisonError::into_inner);
        if g.body.as_ref().is_some_and(OneShotBody::is_untouched) {
            g.body.take()
        } else {
            None
        }
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            if let Some((chunk, off)) = &mut self.pending {
                if let Some(spool) = self.spool.as_mut() {
                    while *off < chunk.len() {
                        match ready!(Pin::new(&mut spool.file).poll_write(cx, &chunk[*off..])) {
                            Ok(0) | Err(_) => {
                                // The spool is only insurance for a 411/501 fallback: losing it
                                // must not fail an upload that is otherwise going fine.
                                tracing::warn!("upload spool write failed; fallback disabled");
                                self.spool_complete = false;
                                break;
                            }
                            Ok(n) => *off += n,
                        }
                    }
                    if self.spool_complete {
                        spool.len += chunk.len() as u64;
                    }
                }
                let (chunk, _) = self.pending.take().unwrap_or_default();
                return Poll::Ready(Some(Ok(chunk)));
            }
            let Some(body) = self.body.as_mut() else {
                return Poll::Ready(Some(Err(io::Error::other("request body was taken back"))));
            };
            match ready!(body.poll_chunk(cx)) {
                Some(Ok(chunk)) => {
                    if self.spool_complete {
                        let spooled = self.spool.as_ref().map_or(0, |s| s.len);
                        if spooled + chunk.len() as u64 <= self.spool_limit {
                            self.pending = Some((chunk, 0));
                            continue;
                        }
                        self.spool_complete = false;
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                other => return Poll::Ready(other),
            }
        }
    }
}

/// How far a request body got, shared between the body (polled by hyper's connection task) and
/// the code that judges the node's answer.
///
/// The byte count is part of the upload contract: a `2xx` is a success only when
/// [`is_complete`](Self::is_complete) holds and the count equals the declared length. Later
/// performance work may make the counting cheaper, never remove it.
#[derive(Debug, Default)]
pub(crate) struct BodyState {
    /// Bytes handed to hyper so far.
    sent: AtomicU64,
    /// The source reached its end and every byte of it was handed to hyper.
    complete: AtomicBool,
    /// When that happened: the headers timeout runs from here
    /// ([`with_headers_timeout`](crate::client::with_headers_timeout)).
    finished_at: OnceLock<Instant>,
    /// The answer came early: the body must stop (an error ends the connection).
    aborted: AtomicBool,
    /// Woken on abort, so a body waiting on a slow source stops at once.
    waker: AtomicWaker,
}

impl BodyState {
    /// Bytes handed to hyper so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// Whether the body's source ended and every byte was handed over.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// When the last byte was handed over, once it was.
    pub(crate) fn finished_at(&self) -> Option<Instant> {
        self.finished_at.get().copied()
    }

    /// Stops the body: its next poll fails, which makes hyper drop the connection.
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        self.waker.wake();
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }
}

/// The body of every request this crate sends: nothing for a body that is empty from the start
/// (`GET`, `HEAD`, `DELETE`), otherwise its state, boxed. hyper moves a request several times on
/// its way to the connection (into its channel, out of it, into the encoder), so a body the size
/// of a pointer keeps every `GET` from copying the state it never uses.
pub(crate) struct ReqBody(Option<Box<Sending>>);

/// The state of a body with bytes to send.
struct Sending {
    source: Source,
    declared: Option<u64>,
    sent: u64,
    /// `None` for a body that is empty from the start, which nobody judges or times.
    state: Option<Arc<BodyState>>,
    observer: Option<Arc<dyn TransferObserver>>,
    finished: bool,
    /// The chunk that completes the declared length of a one-shot source, held back until the
    /// source confirms it has ended: a source longer than it declared is an error, never a
    /// silently truncated upload.
    last: Option<Bytes>,
}

impl ReqBody {
    /// A body with no bytes (GET, HEAD, DELETE): no state, no allocation. hyper never polls it,
    /// and [`poll_frame`](Body::poll_frame) would end at once.
    pub(crate) fn empty() -> Self {
        Self(None)
    }

    /// A body from `source`; `declared` is its exact length if known. `state` follows its
    /// progress, and says when the last byte was handed over.
    pub(crate) fn new(
        source: Source,
        declared: Option<u64>,
        observer: Option<Arc<dyn TransferObserver>>,
        state: Arc<BodyState>,
    ) -> Self {
        let mut body = Sending {
            source,
            declared,
            sent: 0,
            state: Some(state),
            observer,
            finished: false,
            last: None,
        };
        if declared == Some(0) {
            // hyper never polls a body that is empty from the start.
            body.finish();
        }
        Self(Some(Box::new(body)))
    }
}

impl Sending {
    /// Counts and observes a chunk as it is handed to hyper; the last one ends the body.
    fn hand_over(&mut self, chunk: Bytes) -> Frame<Bytes> {
        self.sent += chunk.len() as u64;
        if let Some(state) = &self.state {
            state.sent.store(self.sent, Ordering::Release);
        }
        if let Some(obs) = &self.observer {
            obs.on_bytes(&chunk);
        }
        if self.declared == Some(self.sent) {
            self.finish();
        }
        Frame::data(chunk)
    }

    /// The whole body was handed over (the source ended, at its declared length if any).
    fn finish(&mut self) {
        self.finished = true;
        if let Some(state) = &self.state {
            // Set once: `finished` keeps this from running twice.
            let _ = state.finished_at.set(Instant::now());
            state.complete.store(true, Ordering::Release);
        }
    }

    fn poll_source(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let aborted_now =
            |state: &Option<Arc<BodyState>>| state.as_ref().is_some_and(|s| s.is_aborted());
        if aborted_now(&self.state) {
            return Poll::Ready(Some(Err(aborted())));
        }
        let res = self.poll_source_inner(cx);
        if res.is_pending() {
            if let Some(state) = &self.state {
                // Registered after the poll and checked again, so an abort between the two still
                // wakes us.
                state.waker.register(cx.waker());
            }
            if aborted_now(&self.state) {
                return Poll::Ready(Some(Err(aborted())));
            }
        }
        res
    }

    fn poll_source_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        match &mut self.source {
            Source::Chunks {
                chunks,
                next,
                offset,
            } => {
                let Some(chunk) = chunks.get(*next) else {
                    return Poll::Ready(None);
                };
                let end = chunk.len().min(offset.saturating_add(READ_CHUNK));
                let piece = chunk.slice(*offset..end);
                if end == chunk.len() {
                    *next += 1;
                    *offset = 0;
                } else {
                    *offset = end;
                }
                Poll::Ready(Some(Ok(piece)))
            }
            Source::Stream(s) => s.as_mut().poll_next(cx),
            Source::Shared(shared) => shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .poll_chunk(cx),
        }
    }

    /// The next frame of the body, counted and observed; the body's work for [`ReqBody`]'s
    /// [`Body::poll_frame`].
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodySourceError>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        loop {
            if let Some(last) = self.last.take() {
                match self.poll_source(cx) {
                    Poll::Pending => {
                        self.last = Some(last);
                        return Poll::Pending;
                    }
                    Poll::Ready(Some(Ok(more))) if more.is_empty() => {
                        self.last = Some(last);
                        continue;
                    }
                    Poll::Ready(Some(Ok(_))) => {
                        self.finished = true;
                        let msg = format!(
                            "body produced more than its declared {} bytes",
                            self.sent + last.len() as u64
                        );
                        let e = io::Error::new(io::ErrorKind::InvalidData, msg);
                        return Poll::Ready(Some(Err(BodySourceError(e))));
                    }
                    Poll::Ready(Some(Err(e))) => {
                        self.finished = true;
                        return Poll::Ready(Some(Err(BodySourceError(e))));
                    }
                    Poll::Ready(None) => return Poll::Ready(Some(Ok(self.hand_over(last)))),
                }
            }
            let chunk = match ready!(self.poll_source(cx)) {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    self.finished = true;
                    return Poll::Ready(Some(Err(BodySourceError(e))));
                }
                None => {
                    self.finished = true;
                    if let Some(declared) = self.declared.filter(|d| self.sent < *d) {
                        let msg = format!("body ended after {} of {declared} bytes", self.sent);
                        let e = io::Error::new(io::ErrorKind::UnexpectedEof, msg);
                        return Poll::Ready(Some(Err(BodySourceError(e))));
                    }
                    self.finish();
                    return Poll::Ready(None);
                }
            };
            if chunk.is_empty() {
                continue;
            }
            let len = chunk.len() as u64;
            if let Some(declared) = self.declared.filter(|d| self.sent + len > *d) {
                self.finished = true;
                let msg = format!("body produced more than its declared {declared} bytes");
                let e = io::Error::new(io::ErrorKind::InvalidData, msg);
                return Poll::Ready(Some(Err(BodySourceError(e))));
            }
            let completes = self.declared == Some(self.sent + len);
            if completes && matches!(self.source, Source::Stream(_) | Source::Shared(_)) {
                self.last = Some(chunk);
                continue;
            }
            return Poll::Ready(Some(Ok(self.hand_over(chunk))));
        }
    }
}

/// The error a body yields once the node has answered before its end.
fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the node answered before the whole body was sent",
    )
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = BodySourceError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodySourceError>>> {
        match &mut self.0 {
            None => Poll::Ready(None),
            Some(body) => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|b| b.declared == Some(b.sent) && b.last.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        match self
            .0
            .as_ref()
            .map_or(Some(0), |b| b.declared.map(|d| d - b.sent))
        {
            Some(left) => SizeHint::with_exact(left),
            None => SizeHint::default(),
        }
    }
}
