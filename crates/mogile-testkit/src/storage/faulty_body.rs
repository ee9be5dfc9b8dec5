//! File bodies with a response-body fault applied (stall, reset, short body).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tokio_util::io::ReaderStream;

use super::bandwidth::{Bucket, throttled};
use super::fault::Fault;
use super::response::NodeBody;

/// The response body for a file, with a response-body fault applied.
pub(crate) fn faulty_body(
    inner: ReaderStream<tokio::io::Take<tokio::fs::File>>,
    len: u64,
    fault: Option<Fault>,
    reset: Arc<AtomicBool>,
    bandwidth: Option<Arc<Bucket>>,
) -> NodeBody {
    let inner: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> = match bandwidth {
        Some(bucket) => throttled(inner, bucket),
        None => Box::pin(inner),
    };
    let (limit, after) = match fault {
        Some(Fault::StallResponseBody { after }) => (after.min(len), After::Stall),
        Some(Fault::ResetAfter { body_bytes }) => (body_bytes.min(len), After::Reset(reset)),
        Some(Fault::ShortBody { missing }) => (len.saturating_sub(missing), After::Abort),
        _ => (len, After::End),
    };
    let stream = Limited {
        inner,
        sent: 0,
        limit,
        after,
        yields: 0,
    };
    StreamBody::new(stream.map_ok(Frame::data)).boxed_unsync()
}

enum After {
    End,
    Stall,
    Reset(Arc<AtomicBool>),
    /// End with an error, so hyper closes the connection short of `Content-Length`.
    Abort,
}

/// Passes `limit` bytes of `inner` through, then does `after`.
struct Limited<S> {
    inner: S,
    sent: u64,
    limit: u64,
    after: After,
    /// Turns given to hyper before acting, so it flushes what it buffered (the head included):
    /// on a body error hyper drops the connection without flushing.
    yields: u8,
}

/// How many times the body yields before a reset or abort.
const FLUSH_YIELDS: u8 = 3;

impl<S: Stream<Item = io::Result<Bytes>> + Unpin> Stream for Limited<S> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.sent >= self.limit {
            if !matches!(self.after, After::End) && self.yields < FLUSH_YIELDS {
                self.yields += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            return match &self.after {
                After::End => Poll::Ready(None),
                // Never woken: the node's connection task is aborted when the node stops.
                After::Stall => Poll::Pending,
                After::Reset(flag) => {
                    flag.store(true, Ordering::SeqCst);
                    Poll::Ready(Some(Err(io::Error::other("fault: reset"))))
                }
                After::Abort => Poll::Ready(Some(Err(io::Error::other("fault: short body")))),
            };
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(mut chunk))) => {
                let room = self.limit - self.sent;
                if chunk.len() as u64 > room {
                    // `room` is smaller than the chunk length, so it fits in usize.
                    chunk.truncate(usize::try_from(room).unwrap_or(0));
                }
                self.sent += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}
