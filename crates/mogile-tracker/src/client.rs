//! [`TrackerClient`]: the cheap, cloneable handle requests go through.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mogile_pool::{Endpoint, Pool, PoolStatus, Pooled};
use mogile_protocol::{Args, Command, CommandKind, ReplyError, Request, RequestLine, Response};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::backoff;
use crate::builder::TrackerClientBuilder;
use crate::connector::TrackerConnector;
use crate::error::TrackerError;
use crate::failover::{Call, Reply};

/// An async MogileFS tracker client: pooled connections to several trackers, per-command
/// timeouts, failover and retry safety.
///
/// Cloning is cheap and clones share the pool. Build one with [`TrackerClient::builder`];
/// `build` must run inside a tokio runtime.
///
/// Each request goes to a random active tracker over a pooled connection that carries one
/// request at a time, with a `callid` checked against the echo. See the crate docs for the
/// failover and retry rules.
#[derive(Clone)]
pub struct TrackerClient {
    inner: Arc<Inner>,
}

/// Options fixed at build time that the request path reads.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) file_timeout: Duration,
    pub(crate) admin_timeout: Duration,
    pub(crate) retry_budget: u32,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    pub(crate) max_request_line: usize,
}

/// State shared by every clone of a client.
pub(crate) struct Inner {
    pub(crate) pool: Pool<TrackerConnector>,
    pub(crate) settings: Settings,
    callids: AtomicU64,
    rng: Mutex<StdRng>,
}

impl Inner {
    /// The next `callid`. Wrapping is harmless: the echo check only compares the current one.
    pub(crate) fn next_callid(&self) -> u64 {
        self.callids.fetch_add(1, Ordering::Relaxed)
    }

    /// The backoff before retry round `round`.
    pub(crate) fn backoff(&self, round: u32) -> Duration {
        // A poisoned lock only means another request panicked mid-draw; the RNG is still valid.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        backoff::delay(
            self.settings.backoff_base,
            self.settings.backoff_cap,
            round,
            &mut *rng,
        )
    }
}

impl TrackerClient {
    /// Starts building a client.
    pub fn builder() -> TrackerClientBuilder {
        TrackerClientBuilder::default()
    }

    /// The shared state, for this crate's unit tests.
    #[cfg(test)]
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn from_parts(
        pool: Pool<TrackerConnector>,
        settings: Settings,
        callid_start: u64,
        seed: u64,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                settings,
                callids: AtomicU64::new(callid_start),
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
            }),
        }
    }

    /// Sends a typed command and returns its typed output.
    ///
    /// The command's class picks the timeout (file or admin) and its idempotency decides
    /// whether a request whose reply was lost is retried on another tracker.
    ///
    /// # Errors
    ///
    /// [`TrackerError::Server`] when the tracker answers `ERR` (a `list_keys` with no match is
    /// an empty page, not an error); [`TrackerError::OutcomeUnknown`] when a mutating command's
    /// reply was lost; [`TrackerError::RetriesExhausted`] when every attempt failed; see
    /// [`TrackerError`] for the rest.
    pub async fn request<C: Command>(&self, cmd: C) -> Result<C::Output, TrackerError> {
        let mut call = Call {
            command: Cow::Borrowed(C::NAME),
            timeout: self.timeout_for(C::KIND),
            idempotent: C::IDEMPOTENT,
            line: RequestLine::of(&cmd),
        };
        // Not boxed: the request future stays small (`the_request_future_stays_small`), and
        // moving it costs less than an allocation per request.
        let Reply {
            tracker,
            response,
            mut conn,
            ..
        } = self.inner.execute(&mut call).await?;
        let output = parse::<C>(response, conn.as_mut());
        // Only a reply the command could use vouches for the connection; after an `OK` line it
        // cannot decode the connection is dropped, like after any other bad reply.
        if let (true, Some(conn)) = (usable(&output), conn) {
            Pooled::release(conn);
        }
        output.map_err(|e| reply_error(e, C::NAME, &tracker))
    }

    /// Sends two requests back to back on one connection and reads both replies, in order:
    /// one connection, one write and usually one read where [`request`](Self::request) twice
    /// would take two of each. A tracker answers a connection's requests one at a time, in the
    /// order sent, so the pair takes the two tracker steps in sequence.
    ///
    /// The pair fails over as a whole (to another tracker, with fresh `callid`s); a pair whose
    /// replies were lost is retried only when both commands are safe to repeat. Its timeout is
    /// the sum of the two commands'. When either command is not safe to repeat, the two are
    /// instead sent as two requests, `first` then `second`.
    ///
    /// # Errors
    ///
    /// The outer error is a failure of the exchange itself (no tracker answered, a lost reply,
    /// a desync: as [`request`](Self::request)); each inner result is that command's answer,
    /// an `ERR` ([`TrackerError::Server`]) or a reply it cannot decode.
    pub async fn request_pair<A: Command, B: Command>(
        &self,
        first: A,
        second: B,
    ) -> Result<
        (
            Result<A::Output, TrackerError>,
            Result<B::Output, TrackerError>,
        ),
        TrackerError,
    > {
        if !(A::IDEMPOTENT && B::IDEMPOTENT) {
            let first = self.request(first).await;
            let second = self.request(second).await;
            return Ok((first, second));
        }
        let mut calls = (
            Call {
                command: Cow::Borrowed(A::NAME),
                timeout: self.timeout_for(A::KIND),
                idempotent: true,
                line: RequestLine::of(&first),
            },
            Call {
                command: Cow::Borrowed(B::NAME),
                timeout: self.timeout_for(B::KIND),
                idempotent: true,
                line: RequestLine::of(&second),
            },
        );
        let Reply {
            tracker,
            response,
            second,
            mut conn,
        } = self.inner.execute_pair(&mut calls.0, &mut calls.1).await?;
        let Some(second) = second else {
            // `execute_pair` always reads two replies or fails.
            return Err(TrackerError::Closed);
        };
        let first = parse::<A>(response, conn.as_mut());
        let second = parse::<B>(*second, conn.as_mut());
        if let (true, true, Some(conn)) = (usable(&first), usable(&second), conn) {
            Pooled::release(conn);
        }
        Ok((
            first.map_err(|e| reply_error(e, A::NAME, &tracker)),
            second.map_err(|e| reply_error(e, B::NAME, &tracker)),
        ))
    }

    /// Sends a request for a command this crate does not model and returns the reply's
    /// arguments (without the `callid` echo).
    ///
    /// The command is treated as not safe to repeat and gets the admin timeout. `!` commands
    /// cannot be expressed: [`Request::new`] refuses them.
    ///
    /// # Errors
    ///
    /// [`TrackerError::InvalidRequest`] if the request carries its own `callid`;
    /// [`TrackerError::Server`] when the tracker answers `ERR`; otherwise as
    /// [`request`](Self::request).
    pub async fn raw(&self, request: Request) -> Result<Args, TrackerError> {
        if request.args().get("callid").is_some() {
            return Err(TrackerError::InvalidRequest {
                reason: "callid is added by the client",
            });
        }
        let mut call = Call {
            command: Cow::Owned(request.command().to_owned()),
            timeout: self.inner.settings.admin_timeout,
            idempotent: false,
            line: RequestLine::new(&request),
        };
        let Reply {
            tracker,
            response,
            conn,
            ..
        } = self.inner.execute(&mut call).await?;
        if let Some(conn) = conn {
            Pooled::release(conn);
        }
        match response {
            Response::Ok(mut args) => {
                args.remove("callid");
                Ok(args)
            }
            Response::Err(err) => Err(TrackerError::Server {
                tracker,
                code: err.code,
                message: err.message,
            }),
        }
    }

    /// The configured trackers, normalised to `host:port`, in the order given.
    pub fn trackers(&self) -> Vec<Endpoint> {
        self.inner.pool.endpoints()
    }

    /// A snapshot of every tracker's pool: active or not, open, idle and busy connections.
    pub fn status(&self) -> PoolStatus {
        self.inner.pool.status()
    }

    /// Closes the client: idle connections close, and every clone's later requests fail with
    /// [`TrackerError::Closed`].
    pub fn close(&self) {
        self.inner.pool.close();
    }

    fn timeout_for(&self, kind: CommandKind) -> Duration {
        match kind {
            CommandKind::File => self.inner.settings.file_timeout,
            // Admin commands, and any class added later, get the longer timeout.
            _ => self.inner.settings.admin_timeout,
        }
    }
}

/// Reads a reply as `C`'s answer ([`Command::parse_reply`]'s two halves), then hands an `OK`
/// line's arguments back to the connection that read them, whose next reply decodes into their
/// storage: no allocation for the arguments of a reply on a reused connection.
fn parse<C: Command>(
    response: Response,
    conn: Option<&mut Pooled<TrackerConnector>>,
) -> Result<C::Output, ReplyError> {
    match response {
        Response::Ok(args) => {
            let output = C::parse_ok(&args).map_err(ReplyError::Decode);
            if let Some(conn) = conn {
                conn.recycle(args);
            }
            output
        }
        Response::Err(err) => C::parse_err(err),
    }
}

/// Whether a parsed reply vouches for its connection: an answer the command could use (an `ERR`
/// included). After an `OK` line it cannot decode, the connection is dropped.
fn usable<T>(output: &Result<T, ReplyError>) -> bool {
    matches!(output, Ok(_) | Err(ReplyError::Tracker(_)))
}

/// The error for a reply that is an `ERR` or cannot be decoded.
#[cold]
#[inline(never)]
fn reply_error(error: ReplyError, command: &'static str, tracker: &Endpoint) -> TrackerError {
    match error {
        ReplyError::Tracker(err) => TrackerError::Server {
            tracker: tracker.clone(),
            code: err.code,
            message: err.message,
        },
        other => TrackerError::Decode {
            command: command.to_owned(),
            tracker: tracker.clone(),
            source: other,
        },
    }
}

impl fmt::Debug for TrackerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackerClient")
            .field("trackers", &self.inner.pool.endpoints())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}
