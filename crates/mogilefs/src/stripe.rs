//! Striped reads: a large file (or range) read as fixed-size stripes from several replicas at
//! once, handed to the consumer as one ordered stream.
//!
//! The scheduler keeps a window of at most `streams` stripes, in file order, starting at the one
//! being handed out (the head). Each stripe is read with a `Range` request from one path; a path
//! serves at most one stripe at a time, and a free path is given the earliest waiting stripe, the
//! paths taken in the tracker's order (so the best-ranked replicas serve first, and a path that
//! finishes sooner takes the next stripe: work stealing, not round-robin). Stripes after the head
//! are buffered until the head reaches them, each at most one stripe long, so at most
//! `streams × stripe_size` bytes are held whatever the file's size. Nothing runs on its own:
//! every request and body is polled by the consumer's `poll_next`, so a consumer that stops
//! reading stops the fetch (only the sockets' buffers fill).
//!
//! The judging is the single-stream fetch's ([`Resume`]), per stripe: a stripe accepts only a
//! framed `206` whose `Content-Range` starts where it asked (storage checks that) and gives the
//! file's total; a stripe that breaks off resumes at the byte it reached, on another path. A path
//! that answers a range with the whole file (`200`) is dropped at once (its connection poisoned,
//! never skipped through) and leaves the striping; when no path that serves ranges is left, the
//! rest is read as one stream ([`Fetch`]). A `Content-Range` total that is not the file's length
//! ends the fetch with [`Error::ReplicaLength`]. Any other failure retires the path for the rest
//! of this fetch.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use mogile_protocol::{Checksum, StoragePath};
use mogile_storage::{ByteRange, ByteStream, Extent, StorageGetOptions};

use crate::client::Client;
use crate::error::{self, Attempt, AttemptError, Error, Result};
use crate::fetch::{Fetch, FetchStream, checksum_verdict, mismatch};
use crate::hedge::{self, Race};
use crate::observe::Md5Hasher;
use crate::options::Progress;
use crate::resume::{Accept, Mismatch, Resume};

/// What to read, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// First byte wanted.
    pub(crate) start: u64,
    /// End of the wanted bytes (exclusive).
    pub(crate) end: u64,
    /// The file's length (per `file_info`).
    pub(crate) total: u64,
    pub(crate) stripe_size: u64,
    /// Stripes in flight at most (at least 2).
    pub(crate) streams: usize,
}

/// What a path is doing for this fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathState {
    Free,
    Busy,
    /// Answered a range request with the whole file: out of the striping.
    NoRanges,
    /// Failed: out of this fetch.
    Failed,
}

type Book = Arc<Mutex<Vec<PathState>>>;

fn lock(book: &Book) -> std::sync::MutexGuard<'_, Vec<PathState>> {
    // The book is a plain vector of states, valid whatever a panicking holder did.
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Stripe {
    resume: Resume,
    state: State,
    /// Bytes received ahead of the head, in order.
    buf: VecDeque<Bytes>,
    /// Whether a request was already sent for this stripe (the next one is a resume).
    opened: bool,
}

enum State {
    /// Needs a path.
    Waiting,
    /// A (hedged) opening request is running.
    Opening(BoxFuture<'static, Race<usize>>),
    /// Reading the body of `path`'s answer.
    Reading {
        path: usize,
        url: String,
        body: Box<ByteStream>,
        skip: u64,
    },
    /// Every byte of the stripe was received.
    Done,
}

/// What polling one stripe did.
enum Step {
    Idle,
    Changed,
    Data(Bytes),
    Fatal(Error),
}

/// The striped stream's state.
pub(crate) struct Striped {
    client: Client,
    name: String,
    paths: Vec<StoragePath>,
    urls: Arc<Vec<String>>,
    book: Book,
    plan: Plan,
    next_start: u64,
    window: VecDeque<Stripe>,
    attempts: Vec<Attempt>,
    pub(crate) verify: Option<(Md5Hasher, Checksum)>,
    pub(crate) progress: Option<Arc<dyn Progress>>,
    buffered: Arc<AtomicU64>,
    /// The absolute offset of the next byte to hand out.
    delivered: u64,
    fallback: Option<FetchStream>,
    done: bool,
}

impl Striped {
    pub(crate) fn new(client: Client, name: String, paths: Vec<StoragePath>, plan: Plan) -> Self {
        let urls: Vec<String> = paths.iter().map(|p| p.as_str().to_owned()).collect();
        client
            .inner
            .reads
            .striped_fetches
            .fetch_add(1, Ordering::Relaxed);
        Self {
            client,
            name,
            book: Arc::new(Mutex::new(vec![PathState::Free; urls.len()])),
            urls: Arc::new(urls),
            paths,
            next_start: plan.start,
            delivered: plan.start,
            plan,
            window: VecDeque::with_capacity(plan.streams),
            attempts: Vec::new(),
            verify: None,
            progress: None,
            buffered: Arc::new(AtomicU64::new(0)),
            fallback: None,
            done: false,
        }
    }

    /// The consumer's stream; `span` (the `get` span) is entered while it is polled.
    pub(crate) fn into_stream(self, span: tracing::Span) -> FetchStream {
        let len = self.plan.end - self.plan.start;
        let buffered = Some(self.buffered.clone());
        FetchStream {
            inner: Box::pin(self),
            len: Some(len),
            buffered,
            span,
        }
    }

    /// Adds stripes to the window, up to `streams`.
    fn fill(&mut self) {
        while self.window.len() < self.plan.streams && self.next_start < self.plan.end {
            let len = (self.plan.end - self.next_start).min(self.plan.stripe_size);
            self.window.push_back(Stripe {
                resume: Resume::new(self.next_start, Some(len), Some(self.plan.total)),
                state: State::Waiting,
                buf: VecDeque::new(),
                opened: false,
            });
            self.next_start += len;
        }
    }

    fn set(&self, path: usize, state: PathState) {
        if let Some(s) = lock(&self.book).get_mut(path) {
            *s = state;
        }
    }

    fn record(&mut self, url: String, error: AttemptError) {
        tracing::warn!(
            url = %mogile_protocol::printable(&url),
            %error,
            "stripe replica failed; its stripes go to the other paths"
        );
        self.attempts.push(Attempt { url, error });
    }

    /// Gives waiting stripes (head first) the free paths (in the tracker's order). `Ok(true)`
    /// when the fetch fell back to one stream.
    fn assign(&mut self) -> Result<bool> {
        for i in 0..self.window.len() {
            if !matches!(self.window[i].state, State::Waiting) {
                continue;
            }
            let path = {
                let mut book = lock(&self.book);
                let Some(p) = book.iter().position(|s| *s == PathState::Free) else {
                    break;
                };
                book[p] = PathState::Busy;
                p
            };
            self.open(i, path);
        }
        if !self
            .window
            .iter()
            .any(|s| matches!(s.state, State::Waiting))
        {
            return Ok(false);
        }
        let book = lock(&self.book).clone();
        if book
            .iter()
            .any(|s| matches!(s, PathState::Free | PathState::Busy))
        {
            // A path is busy with another stripe: it takes this one when it is done.
            return Ok(false);
        }
        if book.contains(&PathState::NoRanges) {
            self.fall_back();
            return Ok(true);
        }
        Err(Error::NoUsablePath {
            key: self.name.clone(),
            attempts: std::mem::take(&mut self.attempts),
        })
    }

    /// Sends stripe `i`'s (hedged) request to `path`.
    fn open(&mut self, i: usize, path: usize) {
        let reads = &self.client.inner.reads;
        let stripe = &mut self.window[i];
        if stripe.opened {
            reads.stripe_resumes.fetch_add(1, Ordering::Relaxed);
        } else {
            reads.stripes.fetch_add(1, Ordering::Relaxed);
            stripe.opened = true;
        }
        // A stripe always has a bounded range; `(0, None)` cannot happen, but is harmless.
        let (start, len) = stripe.resume.range().unwrap_or((0, None));
        let range = len.map_or(ByteRange::from_offset(start), |l| ByteRange::new(start, l));
        let opts = StorageGetOptions::default().range(range);
        let client = self.client.clone();
        let url = self.urls[path].clone();
        let book = self.book.clone();
        let urls = self.urls.clone();
        let fut = async move {
            // A path may free up while this one is slow: the hedge is looked for then.
            let hedge = move || {
                let mut book = lock(&book);
                let spare = book.iter().position(|s| *s == PathState::Free)?;
                book[spare] = PathState::Busy;
                Some((spare, urls[spare].clone()))
            };
            hedge::open(&client, (path, url), &opts, Some(hedge)).await
        };
        stripe.state = State::Opening(fut.boxed());
    }

    /// Judges the answers to stripe `i`'s opening request.
    fn opened(&mut self, i: usize, race: Race<usize>) -> Result<()> {
        if let Some(lost) = race.cancelled {
            self.set(lost, PathState::Free);
        }
        for (path, url, answer) in race.outcomes {
            let response = match answer {
                Ok(r) => r,
                Err(e) if !e.try_another_replica() => return Err(error::from_storage(e)),
                Err(e) => {
                    self.set(path, PathState::Failed);
                    self.record(url, AttemptError::Storage(e));
                    continue;
                }
            };
            if let Extent::Whole { .. } = response.extent() {
                // Ranges unsupported: drop the connection now rather than skip through the file.
                response.discard();
                self.set(path, PathState::NoRanges);
                self.client
                    .inner
                    .reads
                    .range_refusals
                    .fetch_add(1, Ordering::Relaxed);
                self.record(
                    url,
                    AttemptError::Range("the whole file (200) in answer to a stripe".into()),
                );
                continue;
            }
            let framed = response.content_length().is_some();
            match self.window[i].resume.accept(response.extent(), framed) {
                Accept::Stream { skip } => {
                    self.window[i].state = State::Reading {
                        path,
                        url,
                        body: Box::new(response.into_stream()),
                        skip,
                    };
                    return Ok(());
                }
                Accept::MoveOn(Mismatch::Total { expected, actual }) => {
                    response.discard();
                    return Err(Error::ReplicaLength {
                        key: self.name.clone(),
                        url,
                        expected,
                        actual,
                    });
                }
                Accept::MoveOn(m) => {
                    response.discard();
                    self.set(path, PathState::Failed);
                    self.record(url, mismatch(m));
                }
            }
        }
        Ok(())
    }

    /// Polls stripe `i`: its opening request, or its body. Stripes after the head buffer what
    /// arrives; the head hands it out.
    fn poll_stripe(&mut self, i: usize, cx: &mut Context<'_>) -> Step {
        let state = std::mem::replace(&mut self.window[i].state, State::Waiting);
        match state {
            State::Waiting => Step::Idle,
            State::Done => {
                self.window[i].state = State::Done;
                Step::Idle
            }
            State::Opening(mut fut) => match fut.poll_unpin(cx) {
                Poll::Pending => {
                    self.window[i].state = State::Opening(fut);
                    Step::Idle
                }
                Poll::Ready(race) => match self.opened(i, race) {
                    Ok(()) => Step::Changed,
                    Err(e) => Step::Fatal(e),
                },
            },
            State::Reading {
                path,
                url,
                mut body,
                mut skip,
            } => loop {
                let failure = match body.poll_next_unpin(cx) {
                    Poll::Pending => {
                        self.window[i].state = State::Reading {
                            path,
                            url,
                            body,
                            skip,
                        };
                        return Step::Idle;
                    }
                    Poll::Ready(Some(Ok(chunk))) => {
                        match self.window[i].resume.take(chunk, &mut skip) {
                            Ok(take) => {
                                if take.done {
                                    self.set(path, PathState::Free);
                                    self.window[i].state = State::Done;
                                    if !take.data.is_empty() {
                                        if i == 0 {
                                            return Step::Data(take.data);
                                        }
                                        self.hold(i, take.data);
                                    }
                                    return Step::Changed;
                                }
                                if take.data.is_empty() {
                                    continue;
                                }
                                if i == 0 {
                                    self.window[i].state = State::Reading {
                                        path,
                                        url,
                                        body,
                                        skip,
                                    };
                                    return Step::Data(take.data);
                                }
                                self.hold(i, take.data);
                                continue;
                            }
                            Err(m) => mismatch(m),
                        }
                    }
                    Poll::Ready(Some(Err(e))) if !e.try_another_replica() => {
                        return Step::Fatal(error::from_storage(e));
                    }
                    Poll::Ready(Some(Err(e))) => AttemptError::Storage(e),
                    Poll::Ready(None) => match self.window[i].resume.finish() {
                        Ok(()) => {
                            self.set(path, PathState::Free);
                            self.window[i].state = State::Done;
                            return Step::Changed;
                        }
                        Err(m) => mismatch(m),
                    },
                };
                // The stripe broke off: it resumes at the byte it reached, on another path.
                (*body).discard();
                self.set(path, PathState::Failed);
                self.record(url, failure);
                return Step::Changed;
            },
        }
    }

    /// Buffers `data` for stripe `i` (after the head).
    fn hold(&mut self, i: usize, data: Bytes) {
        let n = data.len() as u64;
        self.window[i].buf.push_back(data);
        let now = self.buffered.fetch_add(n, Ordering::Relaxed) + n;
        self.client.inner.reads.buffer(n, now);
    }

    /// Takes `n` bytes out of the count of buffered bytes.
    fn unhold(&self, n: u64) {
        self.buffered.fetch_sub(n, Ordering::Relaxed);
        self.client.inner.reads.unbuffer(n);
    }

    /// Hands `data` to the consumer.
    fn deliver(&mut self, data: Bytes) -> Bytes {
        self.delivered += data.len() as u64;
        if let Some((h, _)) = &self.verify {
            h.update(&data);
        }
        if let Some(p) = &self.progress {
            p.on_bytes(&data);
        }
        data
    }

    /// Drops every stripe (their requests cancelled, bodies' connections closed).
    fn clear(&mut self) {
        for stripe in self.window.drain(..) {
            if let State::Reading { body, .. } = stripe.state {
                (*body).discard();
            }
        }
        let held = self.buffered.swap(0, Ordering::Relaxed);
        self.client.inner.reads.unbuffer(held);
    }

    /// No path serves ranges any more: the rest is read as one stream from the paths that
    /// answered with the whole file.
    fn fall_back(&mut self) {
        self.clear();
        let book = lock(&self.book).clone();
        let paths: Vec<StoragePath> = self
            .paths
            .iter()
            .zip(book)
            .filter(|(_, s)| *s == PathState::NoRanges)
            .map(|(p, _)| p.clone())
            .collect();
        let pos = self.delivered;
        let len = (self.plan.end < self.plan.total).then(|| self.plan.end - pos);
        tracing::info!(
            key = %mogile_protocol::printable(&self.name),
            position = pos,
            "no replica left that serves ranges; reading the rest as one stream"
        );
        let resume = Resume::new(pos, len, Some(self.plan.total));
        let mut fetch = Fetch::new(self.client.clone(), self.name.clone(), paths, resume)
            .with_attempts(std::mem::take(&mut self.attempts));
        fetch.verify = self.verify.take();
        fetch.progress = self.progress.take();
        // Called while the consumer polls, inside the `get` span the stream enters.
        fetch.span = tracing::Span::current();
        self.fallback = Some(fetch.into_stream(None));
    }

    /// Ends the fetch with `error`.
    fn end_with(&mut self, error: Error) -> Error {
        self.done = true;
        self.clear();
        error
    }

    /// Every wanted byte was handed out: the checksum, if verified, decides the end.
    fn complete(&mut self) -> Option<Result<Bytes>> {
        self.done = true;
        checksum_verdict(&self.name, self.verify.take())
    }

    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if let Some(rest) = self.fallback.as_mut() {
                return rest.poll_next_unpin(cx);
            }
            self.fill();
            let Some(head) = self.window.front_mut() else {
                return Poll::Ready(self.complete());
            };
            if let Some(chunk) = head.buf.pop_front() {
                self.unhold(chunk.len() as u64);
                return Poll::Ready(Some(Ok(self.deliver(chunk))));
            }
            if matches!(head.state, State::Done) {
                self.window.pop_front();
                continue;
            }
            match self.assign() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => return Poll::Ready(Some(Err(self.end_with(e)))),
            }
            let mut changed = false;
            // The stripes ahead first (they only buffer), then the head (which hands out).
            for i in (1..self.window.len()).chain(std::iter::once(0)) {
                match self.poll_stripe(i, cx) {
                    Step::Idle => {}
                    Step::Changed => changed = true,
                    Step::Data(data) => return Poll::Ready(Some(Ok(self.deliver(data)))),
                    Step::Fatal(e) => return Poll::Ready(Some(Err(self.end_with(e)))),
                }
            }
            if !changed {
                return Poll::Pending;
            }
        }
    }
}

impl Stream for Striped {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_step(cx)
    }
}

impl Drop for Striped {
    fn drop(&mut self) {
        let held = self.buffered.swap(0, Ordering::Relaxed);
        self.client.inner.reads.unbuffer(held);
    }
}
