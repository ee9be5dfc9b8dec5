//! Running one request: tracker choice, attempts, failover, retry safety and backoff.
//!
//! A failed attempt is an error, and the error's [`TrackerError::delivery`] decides what follows:
//! - [`Delivery::NotSent`]: the request never reached the tracker in full (connect failure, pool
//!   wait timeout, write error, a connection found closed, timeout before the line was written):
//!   try the next tracker;
//! - [`Delivery::ReplyLost`]: the request was written and the reply was lost (reset,
//!   end-of-file, timeout, garbage, wrong `callid`): try the next tracker only if the command is
//!   safe to repeat, otherwise fail with [`TrackerError::OutcomeUnknown`];
//! - [`Delivery::Answered`] (a tracker `ERR` is an answer, returned before any of this) and
//!   [`Delivery::NotAttempted`] (the client is closed): returned at once.
//!
//! Connection failures (refused, reset, closed before any reply byte) mark the tracker inactive
//! through the pool; a timeout only asks the pool for an immediate probe, because a slow
//! tracker is not a dead one. There is no delay between different trackers; a jittered backoff
//! only when every tracker is inactive and the list must be walked again.

use std::borrow::Cow;
use std::time::Duration;

use mogile_pool::{Endpoint, PoolError, Pooled};
use mogile_protocol::{RequestLine, Response};
use tracing::{Instrument, field};

use crate::client::Inner;
use crate::connection::{ExchangeError, Progress, TimedOut};
use crate::connector::{ConnectionError, TrackerConnector};
use crate::error::{Delivery, TrackerError};

/// One request to run.
#[derive(Debug)]
pub(crate) struct Call {
    /// Command name, for errors and tracing (borrowed for the typed commands: no allocation).
    pub(crate) command: Cow<'static, str>,
    /// Reply timeout for this command's class.
    pub(crate) timeout: Duration,
    /// Whether running it twice is harmless.
    pub(crate) idempotent: bool,
    /// The encoded request; each attempt sets its `callid` ([`RequestLine::set_callid`]).
    pub(crate) line: RequestLine,
}

/// A complete reply, the tracker that gave it, and the connection it came on if that may serve
/// another request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) tracker: Endpoint,
    pub(crate) response: Response,
    /// The second request's reply, for a pair ([`Inner::execute_pair`]). Boxed: a pair is
    /// rare, and every request's reply is moved up through the attempt loop.
    pub(crate) second: Option<Box<Response>>,
    /// Released to the pool by the caller only once the reply decoded: an `OK` line the command
    /// cannot use says the tracker misbehaves, and its connection is dropped with it.
    pub(crate) conn: Option<Pooled<TrackerConnector>>,
}

impl Inner {
    /// Runs `call` until a tracker answers, the retry budget is spent, or a failure forbids
    /// another attempt.
    pub(crate) fn execute<'a>(
        &'a self,
        call: &'a mut Call,
    ) -> impl Future<Output = Result<Reply, TrackerError>> + 'a {
        self.execute_calls(call, None)
    }

    /// Runs two requests as one: both lines written back to back on one connection, both
    /// replies read from it in order (a tracker answers a connection's requests one at a time,
    /// in order). A pair costs one connection, one write and, when the replies come together,
    /// one read, where two requests cost two of each. It fails over as a whole, and is retried
    /// on another tracker after a lost reply only when both commands are safe to repeat. Its
    /// timeout is the sum of the two commands' (the tracker runs them one after the other).
    pub(crate) fn execute_pair<'a>(
        &'a self,
        first: &'a mut Call,
        second: &'a mut Call,
    ) -> impl Future<Output = Result<Reply, TrackerError>> + 'a {
        self.execute_calls(first, Some(second))
    }

    /// The request's future: [`run`](Self::run) in the request's span. Not an `async fn` of
    /// its own, and `run` not boxed: each level of future nesting is built, moved and polled
    /// per request. The exchange keeps its state in the connection (`poll_exchange`), so the
    /// future stays small (`the_request_future_stays_small`). When no subscriber listens the
    /// span is disabled and costs a branch per poll.
    fn execute_calls<'a>(
        &'a self,
        call: &'a mut Call,
        second: Option<&'a mut Call>,
    ) -> impl Future<Output = Result<Reply, TrackerError>> + 'a {
        let span = tracing::debug_span!(
            "tracker_request",
            command = &*call.command,
            pipelined = second.as_ref().map(|c| &*c.command),
            tracker = field::Empty,
            attempt = field::Empty,
            callid = field::Empty,
            outcome = field::Empty,
        );
        self.run(call, second, span.clone()).instrument(span)
    }

    /// The attempt loop, its outcome recorded on `span` at its one exit.
    async fn run(
        &self,
        call: &mut Call,
        second: Option<&mut Call>,
        span: tracing::Span,
    ) -> Result<Reply, TrackerError> {
        let span = &span;
        let result = 'run: {
            if let Err(e) = self.check_len(&call.line) {
                break 'run Err(e);
            }
            let mut pair = match second {
                // Boxed, as the last error below: each is rare, and inline they would grow this
                // future, which every request builds and moves (`the_request_future_stays_small`).
                Some(second) => {
                    if let Err(e) = self.check_len(&second.line) {
                        break 'run Err(e);
                    }
                    Some(Box::new(Pair {
                        timeout: call.timeout.saturating_add(second.timeout),
                        idempotent: second.idempotent,
                        line: &mut second.line,
                        both: Vec::new(),
                    }))
                }
                None => None,
            };
            let idempotent = call.idempotent && pair.as_ref().is_none_or(|p| p.idempotent);
            let Call {
                command,
                timeout,
                line,
                ..
            } = call;
            let (command, timeout) = (&**command, *timeout);
            let budget = self.settings.retry_budget;
            let mut attempts = 0u32;
            let mut last = None;
            for round in 0.. {
                if round > 0 && self.all_inactive() {
                    let pause = self.backoff(round);
                    tracing::debug!(?pause, "every tracker is inactive; backing off");
                    tokio::time::sleep(pause).await;
                }
                // Drawn lazily: the common case (the first tracker answers) builds no list and
                // shuffles nothing.
                let mut candidates = self.pool.candidate_order().peekable();
                // The pool never offers an empty order; if it did, looping would never end.
                if candidates.peek().is_none() {
                    break;
                }
                // By reference: moved into the loop, the order would be stored twice in this
                // future.
                for tracker in candidates.by_ref() {
                    if attempts == budget {
                        break;
                    }
                    attempts += 1;
                    span.record("tracker", tracker.as_str());
                    span.record("attempt", attempts);
                    let attempt = self.attempt(tracker, timeout, line, pair.as_deref_mut(), span);
                    match attempt.await {
                        Ok((response, second, conn)) => {
                            if attempts > 1 {
                                answered_after_failover(command, tracker, attempts);
                            }
                            break 'run Ok(Reply {
                                tracker: tracker.clone(),
                                response,
                                second,
                                conn,
                            });
                        }
                        Err(error) => {
                            let failed = Failed {
                                command,
                                tracker,
                                attempts,
                                budget,
                                idempotent,
                            };
                            match failed.next_step(error) {
                                Ok(next) => last = Some(next),
                                Err(e) => break 'run Err(e),
                            }
                        }
                    }
                }
                if attempts == budget {
                    break;
                }
            }
            Err(match last {
                Some(last) => TrackerError::RetriesExhausted {
                    command: command.to_owned(),
                    attempts,
                    last,
                },
                // Only reachable with an empty candidate list, which the pool never gives.
                None => TrackerError::Closed,
            })
        };
        let outcome = match &result {
            Ok(Reply {
                response: Response::Ok(_),
                ..
            }) => "ok",
            Ok(Reply {
                response: Response::Err(_),
                ..
            }) => "tracker_error",
            Err(e) if e.outcome_unknown() => "outcome_unknown",
            Err(e) if e.is_timeout() => "timeout",
            Err(_) => "failed",
        };
        span.record("outcome", outcome);
        result
    }

    /// One attempt on one tracker: one request, or a pair when `pair` is given.
    async fn attempt(
        &self,
        tracker: &Endpoint,
        timeout: Duration,
        line: &mut RequestLine,
        pair: Option<&mut Pair<'_>>,
        span: &tracing::Span,
    ) -> Result<AttemptReply, TrackerError> {
        let mut conn = self
            .pool
            .get(tracker)
            .await
            .map_err(|e| pool_failure(tracker, e))?;
        let callid = self.next_callid();
        span.record("callid", callid);
        line.set_callid(callid);
        let (outcome, timeout) = match pair {
            None => {
                let outcome = conn.exchange_within(line.bytes(), timeout).await;
                (outcome.map(|r| r.map(|response| (response, None))), timeout)
            }
            Some(pair) => {
                pair.line.set_callid(self.next_callid());
                pair.both.clear();
                pair.both.extend_from_slice(line.bytes());
                pair.both.extend_from_slice(pair.line.bytes());
                let outcome = conn.exchange_pair_within(&pair.both, pair.timeout).await;
                let outcome =
                    outcome.map(|r| r.map(|(a, b)| (a, Some((Box::new(b), pair.line.callid())))));
                (outcome, pair.timeout)
            }
        };
        match outcome {
            Err(TimedOut) => Err(self.timed_out(tracker, conn, timeout)),
            Ok(Err(e)) => {
                let progress = conn.progress();
                drop(conn);
                Err(self.exchange_failure(tracker, e, progress))
            }
            Ok(Ok((response, second))) => {
                self.check_step(tracker, &mut conn, &response, line.callid())?;
                let second = match second {
                    Some((reply, expected)) => {
                        self.check_step(tracker, &mut conn, &reply, expected)?;
                        Some(reply)
                    }
                    None => None,
                };
                let conn = conn.is_reusable().then_some(conn);
                Ok((response, second, conn))
            }
        }
    }

    /// The error for an attempt whose reply did not come in time. Dropping `conn` discards the
    /// connection: its late reply can never be read.
    #[cold]
    #[inline(never)]
    fn timed_out(
        &self,
        tracker: &Endpoint,
        conn: Pooled<TrackerConnector>,
        timeout: Duration,
    ) -> TrackerError {
        let request_sent = conn.progress().request_sent();
        drop(conn);
        self.pool.probe_now(tracker);
        TrackerError::Timeout {
            tracker: tracker.clone(),
            timeout,
            request_sent,
        }
    }

    /// Checks that `response` echoes `expected` (the `callid` it answers), or echoes nothing on
    /// a tracker that never echoed on this connection; otherwise the connection is out of step
    /// and goes, and the tracker is probed.
    fn check_step(
        &self,
        tracker: &Endpoint,
        conn: &mut Pooled<TrackerConnector>,
        response: &Response,
        expected: &[u8],
    ) -> Result<(), TrackerError> {
        let echoed = response.callid();
        let in_step = match echoed {
            Some(echoed) => echoed == expected,
            // Servers before 2.61 never echo; one that did on this connection must.
            None => !conn.echoes_callid(),
        };
        if !in_step {
            // The caller returns the error and so drops `conn`: a dropped `Pooled` is discarded,
            // never released.
            return Err(self.desync(tracker, expected, echoed));
        }
        if echoed.is_some() {
            conn.saw_callid_echo();
        }
        Ok(())
    }

    /// The error for a reply that answers another request, after which the tracker is probed.
    #[cold]
    #[inline(never)]
    fn desync(&self, tracker: &Endpoint, expected: &[u8], echoed: Option<&[u8]>) -> TrackerError {
        self.pool.probe_now(tracker);
        TrackerError::Desync {
            tracker: tracker.clone(),
            expected: String::from_utf8_lossy(expected).into_owned(),
            received: echoed.map(|e| String::from_utf8_lossy(e).into_owned()),
        }
    }

    /// Classifies a failed exchange (its [`TrackerError::delivery`] says what it allows) and
    /// tells the pool what it says about the tracker.
    #[cold]
    #[inline(never)]
    fn exchange_failure(
        &self,
        tracker: &Endpoint,
        error: ExchangeError,
        progress: Progress,
    ) -> TrackerError {
        let tracker_owned = tracker.clone();
        // Reset or closed before any reply byte is a connection failure; a reply cut short or
        // garbled is the tracker misbehaving, which a probe will judge.
        let no_reply_byte = progress != Progress::Replying;
        match error {
            ExchangeError::Write(source) => {
                self.pool.mark_failed(tracker);
                TrackerError::Send {
                    tracker: tracker_owned,
                    source,
                }
            }
            ExchangeError::ClosedBeforeSend => {
                self.pool.mark_failed(tracker);
                TrackerError::ConnectionClosed {
                    tracker: tracker_owned,
                    request_sent: false,
                }
            }
            ExchangeError::NotReusable => TrackerError::Send {
                tracker: tracker_owned,
                source: std::io::Error::other(error),
            },
            ExchangeError::Read(source) => {
                self.report_lost_reply(tracker, no_reply_byte);
                TrackerError::Receive {
                    tracker: tracker_owned,
                    source,
                }
            }
            ExchangeError::Eof => {
                self.report_lost_reply(tracker, no_reply_byte);
                TrackerError::ConnectionClosed {
                    tracker: tracker_owned,
                    request_sent: true,
                }
            }
            ExchangeError::Protocol(source) => {
                self.pool.probe_now(tracker);
                TrackerError::Protocol {
                    tracker: tracker_owned,
                    source,
                }
            }
        }
    }

    fn report_lost_reply(&self, tracker: &Endpoint, no_reply_byte: bool) {
        if no_reply_byte {
            self.pool.mark_failed(tracker);
        } else {
            self.pool.probe_now(tracker);
        }
    }

    /// Refuses a line that would exceed the limit with any `callid`, before any tracker is
    /// involved.
    fn check_len(&self, line: &RequestLine) -> Result<(), TrackerError> {
        let limit = self.settings.max_request_line;
        if line.max_len() > limit {
            let len = line.len_without_callid();
            return Err(TrackerError::RequestTooLong { len, limit });
        }
        Ok(())
    }

    fn all_inactive(&self) -> bool {
        self.pool.status().endpoints.iter().all(|ep| !ep.active)
    }
}

/// A failed attempt, and what the request's state allows after it. The failure paths live out
/// of line, here and in the `#[cold]` functions below, so that the attempt loop's common path
/// (the first tracker answers) is compact code: per request, the client's cost is more in how
/// much code it brings back into the instruction cache than in how many instructions it runs
/// (see the benchmark notes).
struct Failed<'a> {
    command: &'a str,
    tracker: &'a Endpoint,
    attempts: u32,
    budget: u32,
    idempotent: bool,
}

impl Failed<'_> {
    /// Decides what follows a failed attempt: the error to end the request with (`Err`), or the
    /// error to keep as the last one while the next tracker is tried (`Ok`).
    #[cold]
    #[inline(never)]
    fn next_step(self, error: TrackerError) -> Result<Box<TrackerError>, TrackerError> {
        let Self {
            command,
            tracker,
            attempts,
            budget,
            idempotent,
        } = self;
        let delivery = error.delivery();
        tracing::debug!(%tracker, attempt = attempts, error = %error, ?delivery, "attempt failed");
        match delivery {
            Delivery::NotAttempted | Delivery::Answered => Err(error),
            Delivery::ReplyLost if !idempotent => Err(TrackerError::OutcomeUnknown {
                command: command.to_owned(),
                tracker: tracker.clone(),
                source: Box::new(error),
            }),
            Delivery::NotSent | Delivery::ReplyLost => {
                if attempts < budget {
                    tracing::warn!(command, %tracker, attempt = attempts, %error, "tracker failed; trying another");
                }
                Ok(Box::new(error))
            }
        }
    }
}

#[cold]
#[inline(never)]
fn answered_after_failover(command: &str, tracker: &Endpoint, attempts: u32) {
    tracing::warn!(command, %tracker, attempt = attempts, "answered after failover");
}

/// A reply, the pair's second reply if any, and the connection if it may serve again.
type AttemptReply = (
    Response,
    Option<Box<Response>>,
    Option<Pooled<TrackerConnector>>,
);

/// The most bytes the request future may take. Every request builds it and moves it into its
/// caller's future, and the callers (the facade's operations) nest it in their own; it was 888
/// bytes (the attempt loop 776 of them) when its exchange became a poll function on the
/// connection. Checked by a test.
#[cfg(test)]
const MAX_REQUEST_FUTURE: usize = 1024;

/// The second request of a pair, encoded once for every attempt.
struct Pair<'a> {
    line: &'a mut RequestLine,
    /// The pair's timeout: the sum of the two commands'.
    timeout: Duration,
    /// Whether the second command is safe to repeat.
    idempotent: bool,
    /// Both lines, rebuilt per attempt (only the `callid`s change).
    both: Vec<u8>,
}

/// Maps a checkout failure. The pool itself marks the tracker inactive on connect failures.
#[cold]
#[inline(never)]
fn pool_failure(tracker: &Endpoint, error: PoolError<ConnectionError>) -> TrackerError {
    let tracker = tracker.clone();
    match error {
        PoolError::WaitTimeout { .. } => TrackerError::PoolTimeout { tracker },
        PoolError::ConnectTimeout { .. } => TrackerError::ConnectTimeout { tracker },
        PoolError::Connect { source, .. } => TrackerError::Connect {
            tracker,
            source: source.into_io(),
        },
        // `Closed`, and `UnknownEndpoint`, which cannot happen: candidates come from the pool.
        _ => TrackerError::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrackerClient;
    use mogile_protocol::GetPaths;

    /// The future every request builds and moves stays small: rare-path state goes in a box,
    /// as `Pair` and the last error do, not inline.
    #[tokio::test]
    async fn the_request_future_stays_small() {
        // A tracker that is never asked anything: the future is only built, never polled.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tracker = listener.local_addr().unwrap().to_string();
        let client = TrackerClient::builder()
            .trackers([tracker])
            .build()
            .unwrap();
        let line = |cmd| RequestLine::of(&cmd);
        let call = |line| Call {
            command: Cow::Borrowed("get_paths"),
            timeout: Duration::from_secs(1),
            idempotent: true,
            line,
        };
        let (mut first, mut second) = (
            call(line(GetPaths::new("d", "a"))),
            call(line(GetPaths::new("d", "b"))),
        );
        let inner = client.inner();
        // What the callers nest: the attempt loop in its span.
        let single = std::mem::size_of_val(&inner.execute(&mut first));
        let pair = std::mem::size_of_val(&inner.execute_pair(&mut first, &mut second));
        assert_eq!(single, pair, "one future type");
        assert!(
            single <= MAX_REQUEST_FUTURE,
            "the request future is {single} bytes, over {MAX_REQUEST_FUTURE}"
        );
        client.close();
    }
}
