//! [`ByteStream`]: a download body as a stream of `Bytes`, with a per-frame idle timer, the
//! download side of the low-speed limit, and length verification.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body::Body;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::client::ConnHandle;
use crate::deadline::{Deadline, after};
use crate::error::{StorageError, TimeoutPhase};
use crate::options::TransferObserver;
use crate::speed::{LowSpeed, SpeedMeter};
use crate::trace::Transfer;

/// The body of a download, chunk by chunk, with back-pressure (nothing is read ahead beyond
/// hyper's buffer).
///
/// Yields an error, and then ends, if no chunk arrives within the idle timeout, if the node falls
/// below the [low-speed limit](crate::LowSpeed), if the connection breaks, or if the byte count
/// does not match `Content-Length` (a short body is never a success).
///
/// Both timers run only while the stream is polled and no data is there: a consumer that stops
/// polling for a while (to write elsewhere, or because it is paused) never trips them.
pub struct ByteStream {
    url: String,
    body: Incoming,
    idle: Duration,
    timer: Deadline,
    meter: Option<SpeedMeter>,
    received: u64,
    expected: Option<u64>,
    observer: Option<Arc<dyn TransferObserver>>,
    /// The timer runs only while we wait: a slow consumer between polls is not a stalled node.
    armed: bool,
    done: bool,
    /// Poisoned when the body fails: a connection whose answer was wrong is never reused.
    conn: ConnHandle,
    /// The request's span: ended with the byte count when the body ends or fails.
    transfer: Transfer,
}

impl ByteStream {
    pub(crate) fn new(
        url: String,
        body: Incoming,
        idle: Duration,
        low_speed: Option<LowSpeed>,
        expected: Option<u64>,
        observer: Option<Arc<dyn TransferObserver>>,
        conn: ConnHandle,
    ) -> Self {
        Self {
            conn,
            url,
            body,
            idle,
            timer: Deadline::default(),
            meter: low_speed.map(SpeedMeter::new),
            received: 0,
            expected,
            observer,
            armed: false,
            done: false,
            transfer: Transfer::none(),
        }
    }

    /// Records the body's end in `transfer`'s span.
    pub(crate) fn traced(mut self, transfer: Transfer) -> Self {
        self.transfer = transfer;
        self
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The length promised by `Content-Length`, if any.
    pub fn expected_len(&self) -> Option<u64> {
        self.expected
    }

    /// Drops the rest of the body, for a caller that refuses what it got (bytes past the length
    /// it expected, content it cannot use): the connection is never used for another request.
    pub fn discard(self) {
        self.conn.poison();
    }

    fn fail(&mut self, err: StorageError) -> Poll<Option<Result<Bytes, StorageError>>> {
        self.done = true;
        self.conn.poison();
        self.transfer.finish(Some(self.received), Some(&err));
        Poll::Ready(Some(Err(err)))
    }

    fn mismatch(&self) -> StorageError {
        StorageError::LengthMismatch {
            url: self.url.clone(),
            expected: self.expected.unwrap_or_default(),
            actual: self.received,
        }
    }
}

impl Drop for ByteStream {
    fn drop(&mut self) {
        // A body its reader stopped reading (it had every byte it wanted) ends here.
        if !self.done {
            self.transfer.finish(Some(self.received), None);
        }
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteStream")
            .field("url", &self.url)
            .field("received", &self.received)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            let polled = match this.meter.as_mut() {
                Some(meter) => meter.poll_io(cx, |cx| Pin::new(&mut this.body).poll_frame(cx)),
                None => Pin::new(&mut this.body).poll_frame(cx),
            };
            match polled {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers carry no file bytes
                    };
                    if data.is_empty() {
                        continue;
                    }
                    this.received += data.len() as u64;
                    if let Some(meter) = &mut this.meter {
                        meter.moved(data.len() as u64);
                    }
                    if this.expected.is_some_and(|e| this.received > e) {
                        let err = this.mismatch();
                        return this.fail(err);
                    }
                    this.armed = false;
                    if let Some(obs) = &this.observer {
                        obs.on_bytes(&data);
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
                Poll::Ready(Some(Err(e))) => {
                    let err = match StorageError::from_http(&this.url, Box::new(e)) {
                        StorageError::Transport { .. }
                            if this.expected.is_some_and(|e| this.received < e) =>
                        {
                            this.mismatch()
                        }
                        other => other,
                    };
                    return this.fail(err);
                }
                Poll::Ready(None) => {
                    if this.expected.is_some_and(|e| this.received != e) {
                        let err = this.mismatch();
                        return this.fail(err);
                    }
                    this.done = true;
                    this.transfer.finish(Some(this.received), None);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if !this.armed {
                        this.armed = true;
                        this.timer.set(after(Instant::now(), this.idle));
                    }
                    if this.timer.poll(cx).is_ready() {
                        let err = StorageError::Timeout {
                            url: this.url.clone(),
                            phase: TimeoutPhase::Idle,
                        };
                        return this.fail(err);
                    }
                    if this
                        .meter
                        .as_mut()
                        .is_some_and(|m| m.poll_wait(cx).is_ready())
                    {
                        let err = StorageError::Timeout {
                            url: this.url.clone(),
                            phase: TimeoutPhase::LowSpeed,
                        };
                        return this.fail(err);
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
