//! The TCP connector: hyper-util's `HttpConnector` plus the storage host allow-list (checked
//! before any connection is opened), an I/O-level idle timeout and the upload side of the
//! low-speed limit.
//!
//! hyper-util's legacy client only has a connect timeout. A stalled upload is invisible to a timer
//! inside the request body (hyper simply stops polling it while the socket is full), so the timeout
//! has to sit under hyper, on the socket itself: [`IdleTimeoutIo`] fails a pending read or write
//! once the connection has made no progress in either direction for `idle`. For the same reason
//! the upload rate is measured here: a write that is pending because the socket is full is time
//! spent waiting on the node, while hyper waiting for the caller's body never reaches the socket.
//!
//! Every connection the client opens, pooled or fresh, comes from [`TimeoutConnector::call`], so
//! that is where the allow-list is enforced: nothing else can open a connection to a refused host.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::allow::HostAllowList;
use crate::deadline::{Deadline, after};
use crate::speed::{LowSpeed, SpeedMeter};

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

/// Marker error for an upload that fell below the low-speed limit (see [`IdleTimeout`]).
#[derive(Debug)]
pub(crate) struct TooSlow;

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("transfer below the low-speed limit")
    }
}

impl StdError for TooSlow {}

/// The connector's refusal of a host outside the allow-list, recognised by the client when it
/// maps errors ([`StorageError::HostNotAllowed`](crate::StorageError::HostNotAllowed)).
#[derive(Debug)]
pub(crate) struct HostRefused {
    pub(crate) host: String,
}

impl fmt::Display for HostRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host {:?} is not in the storage allow-list", self.host)
    }
}

impl StdError for HostRefused {}

/// `HttpConnector` whose connections carry an idle timeout (a `tower_service::Service<Uri>`, which
/// is what hyper-util's `Connect` is implemented for).
#[derive(Clone, Debug)]
pub(crate) struct TimeoutConnector {
    http: HttpConnector,
    idle: Duration,
    low_speed: Option<LowSpeed>,
    allowed: Option<Arc<HostAllowList>>,
}

impl TimeoutConnector {
    pub(crate) fn new(
        connect_timeout: Duration,
        idle: Duration,
        low_speed: Option<LowSpeed>,
        allowed: Option<Arc<HostAllowList>>,
    ) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        Self {
            http,
            idle,
            low_speed,
            allowed,
        }
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
        if let Some(allowed) = &self.allowed {
            let host = uri.host().unwrap_or_default();
            if !allowed.allows(host) {
                tracing::debug!(host, "storage host not in the allow-list: not contacted");
                let refused: BoxError = Box::new(HostRefused {
                    host: host.to_owned(),
                });
                return Box::pin(std::future::ready(Err(refused)));
            }
        }
        let connecting = self.http.call(uri);
        let (idle, low_speed) = (self.idle, self.low_speed);
        Box::pin(async move {
            let io = connecting.await?;
            Ok(IdleTimeoutIo::new(io, idle, low_speed))
        })
    }
}

/// A connection that fails a pending read or write after `idle` without progress either way.
///
/// One timer serves both directions: while hyper uploads a body it also polls the read side for an
/// early response, so a read-only timer would fire on a healthy slow upload, and a write-only timer
/// would miss a node that accepts the body and never answers. A consequence worth knowing: an idle
/// pooled connection (hyper keeps a read pending on it) is closed after `idle`, which is harmless.
///
/// With a low-speed limit, writes are also metered: a pending write is time spent waiting on the
/// node. Reads are not: hyper keeps a read pending during a whole upload, and download bodies are
/// metered in [`ByteStream`](crate::ByteStream), where the caller's polling is visible. The meter
/// lives as long as the connection, so on a reused connection a window may span two requests; it
/// still only counts time the node kept a write waiting.
pub(crate) struct IdleTimeoutIo {
    inner: TokioIo<TcpStream>,
    idle: Duration,
    timer: Deadline,
    armed: bool,
    write_meter: Option<SpeedMeter>,
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
    fn new(inner: TokioIo<TcpStream>, idle: Duration, low_speed: Option<LowSpeed>) -> Self {
        Self {
            inner,
            idle,
            timer: Deadline::default(),
            armed: false,
            write_meter: low_speed.map(SpeedMeter::new),
        }
    }

    /// Feeds a write's outcome to the low-speed meter: bytes written are progress, a pending
    /// write is waiting on the node. An error if the node has been too slow.
    fn meter_write(
        &mut self,
        cx: &mut Context<'_>,
        res: &Poll<io::Result<usize>>,
    ) -> Option<io::Error> {
        let meter = self.write_meter.as_mut()?;
        match res {
            Poll::Ready(Ok(n)) if *n > 0 => meter.moved(*n as u64),
            Poll::Pending if meter.poll_wait(cx).is_ready() => {
                return Some(io::Error::new(io::ErrorKind::TimedOut, TooSlow));
            }
            _ => {}
        }
        None
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
                    self.timer.set(after(Instant::now(), self.idle));
                }
                ready!(self.timer.poll(cx));
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
        let this = &mut *self;
        let res = match this.write_meter.as_mut() {
            Some(meter) => meter.poll_io(cx, |cx| Pin::new(&mut this.inner).poll_write(cx, buf)),
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
        };
        if let Some(err) = self.meter_write(cx, &res) {
            return Poll::Ready(Err(err));
        }
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
        let this = &mut *self;
        let res = match this.write_meter.as_mut() {
            Some(meter) => meter.poll_io(cx, |cx| {
                Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
            }),
            None => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        };
        if let Some(err) = self.meter_write(cx, &res) {
            return Poll::Ready(Err(err));
        }
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
