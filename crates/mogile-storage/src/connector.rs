//! The TCP connector: hyper-util's `HttpConnector` plus an I/O-level idle timeout.
//!
//! hyper-util's legacy client only has a connect timeout. A stalled upload is invisible to a timer
//! inside the request body (hyper simply stops polling it while the socket is full), so the timeout
//! has to sit under hyper, on the socket itself: [`IdleTimeoutIo`] fails a pending read or write
//! once the connection has made no progress in either direction for `idle`.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Marker error inside the `io::Error` an [`IdleTimeoutIo`] returns, so the client can tell its own
/// idle timeout apart from any other I/O failure when it maps hyper's errors.
#[derive(Debug)]
pub(crate) struct IdleTimeout;

impl fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection idle timeout")
    }
}

impl StdError for IdleTimeout {}

/// `HttpConnector` whose connections carry an idle timeout (a `tower_service::Service<Uri>`, which
/// is what hyper-util's `Connect` is implemented for).
#[derive(Clone, Debug)]
pub(crate) struct TimeoutConnector {
    http: HttpConnector,
    idle: Duration,
}

impl TimeoutConnector {
    pub(crate) fn new(connect_timeout: Duration, idle: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        Self { http, idle }
    }

    /// Opens a fresh connection outside any pool (used for bodies of unknown length).
    pub(crate) async fn connect(&self, uri: Uri) -> Result<IdleTimeoutIo, BoxError> {
        let mut svc = self.clone();
        std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut svc, cx)).await?;
        tower_service::Service::call(&mut svc, uri).await
    }
}

pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

impl tower_service::Service<Uri> for TimeoutConnector {
    type Response = IdleTimeoutIo;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<IdleTimeoutIo, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let idle = self.idle;
        Box::pin(async move {
            let io = connecting.await?;
            Ok(IdleTimeoutIo::new(io, idle))
        })
    }
}

/// A connection that fails a pending read or write after `idle` without progress either way.
///
/// One timer serves both directions: while hyper uploads a body it also polls the read side for an
/// early response, so a read-only timer would fire on a healthy slow upload, and a write-only timer
/// would miss a node that accepts the body and never answers. A consequence worth knowing: an idle
/// pooled connection (hyper keeps a read pending on it) is closed after `idle`, which is harmless.
pub(crate) struct IdleTimeoutIo {
    inner: TokioIo<TcpStream>,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    armed: bool,
}

impl fmt::Debug for IdleTimeoutIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimeoutIo")
            .field("idle", &self.idle)
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

impl IdleTimeoutIo {
    fn new(inner: TokioIo<TcpStream>, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            armed: false,
        }
    }

    /// Records the outcome of an inner poll: progress disarms the timer; `Pending` arms it (once)
    /// and fails with a timeout error if it has already run out. Only moved bytes (or an
    /// end/error) count as progress: hyper flushes on every turn, and a no-op flush must not
    /// keep a stalled read alive.
    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        res: Poll<io::Result<T>>,
        progress: fn(&io::Result<T>) -> bool,
    ) -> Poll<io::Result<T>> {
        match res {
            Poll::Ready(r) => {
                if progress(&r) {
                    self.armed = false;
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.armed {
                    self.armed = true;
                    self.timer.as_mut().reset(Instant::now() + self.idle);
                }
                ready!(self.timer.as_mut().poll(cx));
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, IdleTimeout)))
            }
        }
    }
}

impl Read for IdleTimeoutIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.check(cx, res, |_| true)
    }
}

impl Write for IdleTimeoutIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, res, wrote)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, res, |r| r.is_err())
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, res, |r| r.is_err())
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, res, wrote)
    }
}

/// A write made progress if it moved bytes (or failed, which ends the connection anyway).
fn wrote(res: &io::Result<usize>) -> bool {
    !matches!(res, Ok(0))
}

impl Connection for IdleTimeoutIo {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}
