//! One tracker connection: write one request line, read exactly one response line.
//!
//! The connection remembers how far the current exchange got ([`Progress`]), so that after a
//! timeout or an error the caller can tell "never reached the tracker" (safe to send anywhere)
//! from "written, reply lost" (the tracker may have acted on it).

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::BytesMut;
use mogile_protocol::{Args, DecodeError, Response, ResponseDecoder};
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Bytes read from the socket per `read` call. Together with the decoder's line limit it bounds
/// the read buffer: the decoder fails as soon as the buffer holds more than the limit without a
/// newline, so the buffer never exceeds `limit + READ_CHUNK`.
const READ_CHUNK: usize = 8 * 1024;

/// How far the current (or last) exchange on a connection got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing sent yet, or the last exchange completed.
    Idle,
    /// Part of the request line may have been written, but not all of it. The tracker only
    /// acts on complete lines, so it cannot have run the request.
    Writing,
    /// The whole line was written; no reply byte has arrived yet.
    Written,
    /// At least one reply byte arrived, but not a complete line.
    Replying,
}

impl Progress {
    /// Whether the tracker may have received the complete request (and so may have run it).
    pub(crate) fn request_sent(self) -> bool {
        matches!(self, Self::Written | Self::Replying)
    }
}

/// Why an exchange failed. The connection must be dropped after any of these.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// Writing the request failed.
    #[error("cannot send the request")]
    Write(#[source] io::Error),
    /// Reading the reply failed.
    #[error("cannot read the reply")]
    Read(#[source] io::Error),
    /// The tracker closed the connection before a complete reply line arrived.
    #[error("connection closed before a complete reply")]
    Eof,
    /// The tracker had already closed the connection (or sent unsolicited bytes) before
    /// anything was written: nothing reached it.
    #[error("connection closed before the request was sent")]
    ClosedBeforeSend,
    /// The connection was not clean when the exchange started (never happens with the pool,
    /// which only hands out connections that passed [`TrackerConnection::is_open`]).
    #[error("connection is not in a clean state")]
    NotReusable,
    /// The reply line is not a valid tracker reply.
    #[error("invalid reply")]
    Protocol(#[source] DecodeError),
}

/// No complete reply within the request's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// A TCP connection to one tracker, used for one request at a time.
#[derive(Debug)]
pub(crate) struct TrackerConnection {
    stream: TcpStream,
    buf: BytesMut,
    decoder: ResponseDecoder,
    progress: Progress,
    /// Bytes of the current request written so far.
    written: usize,
    /// False once the connection saw anything that makes it unfit for another request (bytes
    /// after the reply line, an unfinished exchange). Such a connection is dropped, not released.
    clean: bool,
    /// The reply timer, kept across requests (see [`exchange_within`](Self::exchange_within)).
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether the tracker echoed a `callid` on this connection. A tracker that echoes once
    /// (2.61+) always does, so from then on a reply without one is out of step (for example a
    /// stray line that arrived after the previous reply).
    echoes_callid: bool,
}

impl TrackerConnection {
    /// Wraps a connected stream; `max_line_len` bounds one reply line.
    pub(crate) fn new(stream: TcpStream, max_line_len: usize) -> Self {
        Self {
            stream,
            buf: BytesMut::new(),
            decoder: ResponseDecoder::new().max_line_len(max_line_len),
            progress: Progress::Idle,
            written: 0,
            clean: true,
            echoes_callid: false,
            timer: None,
        }
    }

    /// Whether `TCP_NODELAY` is set on the socket.
    #[cfg(test)]
    pub(crate) fn nodelay(&self) -> bool {
        self.stream.nodelay().unwrap_or(false)
    }

    /// Whether the tracker has echoed a `callid` on this connection.
    pub(crate) fn echoes_callid(&self) -> bool {
        self.echoes_callid
    }

    /// Records that the tracker echoed a `callid`.
    pub(crate) fn saw_callid_echo(&mut self) {
        self.echoes_callid = true;
    }

    /// Hands back the arguments of a reply this connection read, once parsed: the next reply
    /// decodes into their storage ([`ResponseDecoder::recycle`]).
    pub(crate) fn recycle(&mut self, args: Args) {
        self.decoder.recycle(args);
    }

    /// How far the current (or last) exchange got.
    pub(crate) fn progress(&self) -> Progress {
        self.progress
    }

    /// Whether the connection may serve another request: the last exchange completed and
    /// nothing but its reply arrived.
    pub(crate) fn is_reusable(&self) -> bool {
        self.clean && self.progress == Progress::Idle && self.buf.is_empty()
    }

    /// Cheap liveness check for an idle connection, without a round trip.
    ///
    /// An idle tracker connection must have nothing to read: end-of-file means the tracker
    /// closed it, and unsolicited bytes mean it is out of step. Either way it is unusable.
    pub(crate) fn is_open(&self) -> bool {
        if !self.is_reusable() {
            return false;
        }
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            // Ok(0) is end-of-file, Ok(_) is unsolicited data, Err(_) a socket error.
            _ => false,
        }
    }

    /// [`exchange`](Self::exchange), failing with [`TimedOut`] if no complete reply arrived
    /// within `timeout` (the connection is then not reusable).
    ///
    /// The same as `tokio::time::timeout(timeout, self.exchange(line))`, but cheaper on a
    /// connection that serves request after request: its timer is kept, not built and torn down
    /// per request (a clock read, a timer-wheel insert and removal, each under the wheel's lock).
    /// A timer still set for an earlier request's deadline, which is never later than this one's
    /// when the timeouts are equal, is left as it is: when it fires before this request's
    /// deadline, it is moved to that deadline and waited on again. A request therefore never
    /// times out early (`slow_reply_times_out_at_its_own_deadline` in this module's tests) and
    /// at most one extra wake-up per timeout period is spent on a busy connection.
    pub(crate) async fn exchange_within(
        &mut self,
        line: &[u8],
        timeout: Duration,
    ) -> Result<Result<Response, ExchangeError>, TimedOut> {
        let deadline = Instant::now() + timeout;
        let mut timer = self.timer_for(deadline);
        let result = within(&mut timer, deadline, self.exchange(line)).await;
        self.timer = Some(timer);
        result
    }

    /// [`exchange_pair`](Self::exchange_pair) within `timeout`, as
    /// [`exchange_within`](Self::exchange_within).
    pub(crate) async fn exchange_pair_within(
        &mut self,
        lines: &[u8],
        timeout: Duration,
    ) -> Result<Result<(Response, Response), ExchangeError>, TimedOut> {
        let deadline = Instant::now() + timeout;
        let mut timer = self.timer_for(deadline);
        let result = within(&mut timer, deadline, self.exchange_pair(lines)).await;
        self.timer = Some(timer);
        result
    }

    /// The kept timer, moved earlier if it is set past `deadline`, or a new one.
    fn timer_for(&mut self, deadline: Instant) -> Pin<Box<Sleep>> {
        match self.timer.take() {
            Some(mut timer) => {
                if timer.deadline() > deadline {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Sends one encoded request line and reads exactly one response line.
    ///
    /// Cancel-safe in the sense that matters here: if the future is dropped half-way,
    /// [`progress`](Self::progress) says how far it got and the connection is not reusable.
    pub(crate) async fn exchange(&mut self, line: &[u8]) -> Result<Response, ExchangeError> {
        self.start()?;
        poll_fn(|cx| self.poll_exchange(cx, line)).await
    }

    /// Drives an exchange that [`start`](Self::start) began: its state is the connection's own
    /// ([`Progress`] and the bytes written), so the future that polls it is a few pointers, not
    /// a nest of `async fn` states (the request path's future is built and moved per request).
    /// On a connection with no exchange under way (never started, or already finished) it
    /// fails with [`ExchangeError::NotReusable`]: it never reads a reply it did not ask for.
    fn poll_exchange(
        &mut self,
        cx: &mut Context<'_>,
        line: &[u8],
    ) -> Poll<Result<Response, ExchangeError>> {
        if self.progress == Progress::Idle {
            self.clean = false;
            return Poll::Ready(Err(ExchangeError::NotReusable));
        }
        if self.progress == Progress::Writing {
            ready!(self.poll_write_line(cx, line))?;
        }
        let response = ready!(self.poll_reply(cx))?;
        self.finish();
        Poll::Ready(Ok(response))
    }

    /// Sends two encoded request lines in one write and reads their two replies, in order: a
    /// tracker serves the requests of one connection one at a time, in the order they came
    /// (`tracker_admin::pipelined_requests_are_answered_in_order` checks the fake does too).
    /// Cancel-safe as [`exchange`](Self::exchange).
    pub(crate) async fn exchange_pair(
        &mut self,
        lines: &[u8],
    ) -> Result<(Response, Response), ExchangeError> {
        self.start()?;
        poll_fn(|cx| self.poll_write_line(cx, lines)).await?;
        let first = poll_fn(|cx| self.poll_reply(cx)).await?;
        // Part of the exchange's reply has arrived; the second is still owed.
        self.progress = Progress::Replying;
        let second = poll_fn(|cx| self.poll_reply(cx)).await?;
        self.finish();
        Ok((first, second))
    }

    /// Checks that the connection is clean and open, and starts an exchange on it. Every
    /// exchange begins here, so none continues from what an earlier, unfinished one left
    /// (`an_unfinished_exchange_is_never_continued`).
    fn start(&mut self) -> Result<(), ExchangeError> {
        // Any state left from an earlier, unfinished exchange means a late reply could be read
        // as this one's answer.
        if !self.is_reusable() {
            self.clean = false;
            return Err(ExchangeError::NotReusable);
        }
        // Catches a connection the tracker closed while it sat idle (or, on a fresh one, a
        // tracker that accepts and closes) before a request is spent on it.
        if !self.is_open() {
            self.clean = false;
            return Err(ExchangeError::ClosedBeforeSend);
        }
        self.clean = false;
        self.progress = Progress::Writing;
        self.written = 0;
        Ok(())
    }

    /// Writes what is left of `line`, as `write_all` does: an interrupted write is retried, a
    /// write of zero bytes is an error.
    fn poll_write_line(
        &mut self,
        cx: &mut Context<'_>,
        line: &[u8],
    ) -> Poll<Result<(), ExchangeError>> {
        while let Some(rest) = line.get(self.written..).filter(|r| !r.is_empty()) {
            let n = match ready!(Pin::new(&mut self.stream).poll_write(cx, rest)) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(ExchangeError::Write(e))),
            };
            if n == 0 {
                return Poll::Ready(Err(ExchangeError::Write(io::ErrorKind::WriteZero.into())));
            }
            self.written += n;
        }
        self.progress = Progress::Written;
        Poll::Ready(Ok(()))
    }

    /// Reads until one complete reply line is decoded.
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Result<Response, ExchangeError>> {
        loop {
            if let Some(response) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(ExchangeError::Protocol)?
            {
                return Poll::Ready(Ok(response));
            }
            // Read straight into the connection's own buffer (kept across requests): no
            // per-request allocation, no zeroing, no copy. At most READ_CHUNK bytes per read, so
            // the decoder's line limit still bounds the buffer. `read_buf`'s future keeps no
            // state between polls: one built per poll is the same as one kept.
            self.buf.reserve(READ_CHUNK);
            let mut src = (&mut self.stream).take(READ_CHUNK as u64);
            let n =
                ready!(pin!(src.read_buf(&mut self.buf)).poll(cx)).map_err(ExchangeError::Read)?;
            if n == 0 {
                return Poll::Ready(Err(ExchangeError::Eof));
            }
            self.progress = Progress::Replying;
        }
    }

    /// Ends a complete exchange. Bytes after the last reply line were never asked for: the
    /// replies stand (they answer this exchange's requests) but the connection is never reused.
    fn finish(&mut self) {
        self.progress = Progress::Idle;
        self.clean = self.buf.is_empty();
    }
}

/// Runs `fut` until `deadline`, on `timer` (which may be set earlier: it is then moved on).
async fn within<T>(
    timer: &mut Pin<Box<Sleep>>,
    deadline: Instant,
    fut: impl Future<Output = T>,
) -> Result<T, TimedOut> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if let Poll::Ready(result) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(result));
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Poll::Ready(Err(TimedOut));
            }
            // An earlier request's deadline: wait on for this one's.
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    /// A tracker task on the test's runtime that answers each request line after the delay
    /// given for it (`None`: never).
    async fn tracker(delays: Vec<Option<Duration>>) -> TcpStream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (sock, _) = listener.accept().await.unwrap();
            let (read, mut write) = sock.into_split();
            let mut lines = BufReader::new(read).lines();
            for delay in delays {
                if lines.next_line().await.unwrap().is_none() {
                    return;
                }
                let Some(delay) = delay else {
                    std::future::pending::<()>().await;
                    return;
                };
                tokio::time::sleep(delay).await;
                write.write_all(b"OK \r\n").await.unwrap();
            }
        });
        TcpStream::connect(addr).await.unwrap()
    }

    /// The timer kept from the first request (deadline 10 s after it) fires 4 s into the
    /// second request; the second still gets its own 10 s.
    #[tokio::test(start_paused = true)]
    async fn slow_reply_times_out_at_its_own_deadline() {
        let timeout = Duration::from_secs(10);
        let stream = tracker(vec![Some(Duration::ZERO), None]).await;
        let mut conn = TrackerConnection::new(stream, 1024);
        assert!(conn.exchange_within(b"noop\r\n", timeout).await.is_ok());
        tokio::time::sleep(Duration::from_secs(6)).await;
        let start = Instant::now();
        let outcome = conn.exchange_within(b"noop\r\n", timeout).await;
        assert_eq!(outcome.err(), Some(TimedOut));
        assert_eq!(start.elapsed(), timeout);
        assert!(conn.progress().request_sent());
        assert!(!conn.is_reusable());
    }

    /// A connection left mid-exchange (here by a timeout, the request written and its reply
    /// owed) refuses the next exchange: it neither reads the late reply as the new one's answer
    /// nor writes the new line after what it wrote. Without the refusal the second exchange
    /// below would wait for a reply that never comes, and the test's timeout would fire.
    #[tokio::test(start_paused = true)]
    async fn an_unfinished_exchange_is_never_continued() {
        let stream = tracker(vec![None]).await;
        let mut conn = TrackerConnection::new(stream, 1024);
        let timeout = Duration::from_secs(1);
        let first = conn.exchange_within(b"noop\r\n", timeout).await;
        assert_eq!(first.err(), Some(TimedOut));
        assert_eq!(conn.progress(), Progress::Written);
        let again = tokio::time::timeout(timeout, conn.exchange_within(b"noop\r\n", timeout))
            .await
            .expect("refused at once, not waited on");
        assert!(
            matches!(again, Ok(Err(ExchangeError::NotReusable))),
            "{again:?}"
        );
        let plain = tokio::time::timeout(timeout, conn.exchange(b"noop\r\n"))
            .await
            .expect("refused at once, not waited on");
        assert!(
            matches!(plain, Err(ExchangeError::NotReusable)),
            "{plain:?}"
        );
        assert_eq!(conn.progress(), Progress::Written);
        assert!(!conn.is_reusable());
    }

    /// A reply that comes after the earlier request's deadline but within this one's is read.
    #[tokio::test(start_paused = true)]
    async fn reply_after_an_earlier_deadline_is_not_a_timeout() {
        let timeout = Duration::from_secs(10);
        let stream = tracker(vec![
            Some(Duration::ZERO),
            Some(Duration::from_millis(9_900)),
            Some(Duration::from_millis(9_900)),
        ])
        .await;
        let mut conn = TrackerConnection::new(stream, 1024);
        assert!(conn.exchange_within(b"noop\r\n", timeout).await.is_ok());
        tokio::time::sleep(Duration::from_secs(6)).await;
        for _ in 0..2 {
            let reply = conn.exchange_within(b"noop\r\n", timeout).await;
            assert!(matches!(reply, Ok(Ok(Response::Ok(_)))), "{reply:?}");
            assert!(conn.is_reusable());
        }
        // A shorter timeout than the kept timer's moves the timer earlier.
        let stream = tracker(vec![Some(Duration::ZERO), None]).await;
        let mut conn = TrackerConnection::new(stream, 1024);
        assert!(conn.exchange_within(b"noop\r\n", timeout).await.is_ok());
        let start = Instant::now();
        let short = Duration::from_secs(1);
        assert_eq!(
            conn.exchange_within(b"noop\r\n", short).await.err(),
            Some(TimedOut)
        );
        assert_eq!(start.elapsed(), short);
    }
}
