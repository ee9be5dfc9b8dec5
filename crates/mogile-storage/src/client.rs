//! [`StorageClient`] and the plumbing its operations share: URL checks, the pooled send with the
//! headers timeout, and turning a non-success response into an error.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use http::header::{CONTENT_LENGTH, HOST, LOCATION};
use http::uri::{Authority, PathAndQuery};
use http::{Method, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::builder::StorageClientBuilder;
use crate::config::StorageConfig;
use crate::connector::TimeoutConnector;
use crate::deadline::after;
use crate::error::{StorageError, TimeoutPhase};
use crate::options::HeadInfo;
use crate::pool::ConnPool;
use crate::req_body::{BodyState, ReqBody};
use crate::trace::Transfer;

/// An HTTP client for storage nodes: `PUT`, `GET`, `HEAD` and `DELETE` of whole files, streamed.
///
/// Cheap to clone (an `Arc` inside); clones share the connection pool. It never retries on its
/// own: failover between replicas and destinations is the caller's.
#[derive(Clone)]
pub struct StorageClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The kept connections every request goes out on (a body of unknown length excepted: it
    /// gets a connection of its own).
    pub(crate) pool: ConnPool,
    pub(crate) connector: TimeoutConnector,
    pub(crate) config: StorageConfig,
}

impl fmt::Debug for StorageClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl StorageClient {
    /// A builder with the default settings.
    pub fn builder() -> StorageClientBuilder {
        StorageClientBuilder::new()
    }

    /// `HEAD url`: the file's size and existence.
    ///
    /// # Errors
    /// A missing file is [`StorageError::Status`] with [`is_not_found`](StorageError::is_not_found);
    /// see [`StorageError`] for the rest.
    pub async fn head(&self, url: &str) -> Result<HeadInfo, StorageError> {
        let transfer = Transfer::start("HEAD", url);
        let result = transfer
            .run(|| self.send_checked(url, Method::HEAD, None))
            .await
            .map(|(resp, _)| {
                transfer.status(resp.status().as_u16());
                HeadInfo {
                    content_length: content_length(&resp),
                    status: resp.status().as_u16(),
                }
            });
        transfer.finish(Some(0), result.as_ref().err());
        result
    }

    /// `DELETE url`. Any 2xx is success.
    ///
    /// # Errors
    /// A missing file is reported as not found ([`StorageError::is_not_found`]), for the caller to
    /// decide whether that counts as success.
    pub async fn delete(&self, url: &str) -> Result<(), StorageError> {
        let transfer = Transfer::start("DELETE", url);
        let result = transfer
            .run(|| self.send_checked(url, Method::DELETE, None))
            .await
            .map(|(resp, _)| transfer.status(resp.status().as_u16()));
        transfer.finish(Some(0), result.as_ref().err());
        result
    }

    pub(crate) fn config(&self) -> &StorageConfig {
        &self.inner.config
    }

    /// [`send_bodiless`](Self::send_bodiless), with an answer that is not a 2xx turned into its
    /// error ([`error_for_status`](Self::error_for_status)).
    pub(crate) async fn send_checked(
        &self,
        url: &str,
        method: Method,
        range: Option<String>,
    ) -> Result<(Response<Incoming>, ConnHandle), StorageError> {
        let (resp, conn) = self.send_bodiless(url, method, range).await?;
        if !resp.status().is_success() {
            return Err(self.error_for_status(url, resp).await);
        }
        Ok((resp, conn))
    }

    /// Sends a request without a body on a pooled connection; returns the response and a handle
    /// on its connection.
    pub(crate) async fn send_bodiless(
        &self,
        url: &str,
        method: Method,
        range: Option<String>,
    ) -> Result<(Response<Incoming>, ConnHandle), StorageError> {
        let uri = parse_url(url)?;
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(range) = range {
            req = req.header(http::header::RANGE, range);
        }
        let req = build(url, req, ReqBody::empty())?;
        self.send_pooled(url, req, None).await
    }

    /// Sends `req` (absolute URI) on a kept connection ([`ConnPool`]); returns the response and
    /// a handle on its connection. The headers timeout starts when the last byte of the body
    /// whose progress is `body` was handed over, or at once if there is no body.
    ///
    /// The request goes out as hyper-util's client sent it: origin-form target and a `Host`
    /// header. A request that fails on a reused connection before any of it was sent (the node
    /// closed the connection while it sat in the pool) is sent once more on a new one; nothing
    /// of it reached the node, so this holds for uploads too.
    pub(crate) async fn send_pooled(
        &self,
        url: &str,
        mut req: Request<ReqBody>,
        body: Option<&BodyState>,
    ) -> Result<(Response<Incoming>, ConnHandle), StorageError> {
        // Callers pass URLs `parse_url` accepted: absolute, with a host. The URI is taken apart,
        // not copied: the request keeps its origin form, the pool its authority.
        let parts = std::mem::take(req.uri_mut()).into_parts();
        let Some(authority) = parts.authority else {
            return Err(StorageError::InvalidUrl {
                url: url.to_owned(),
                reason: "not an absolute URL",
            });
        };
        if let Some(path) = parts.path_and_query {
            *req.uri_mut() = Uri::from(path);
        }
        if let Ok(host) = http::HeaderValue::from_str(authority.as_str()) {
            req.headers_mut().entry(HOST).or_insert(host);
        }
        let authority = &authority;
        let pool = &self.inner.pool;
        let exchange = || async {
            // Only a new connection needs the absolute URI back.
            let target = req.uri();
            let mut conn = pool
                .checkout(authority, || absolute(authority, target))
                .await
                .map_err(|e| StorageError::from_connect(url, e))?;
            loop {
                let unsent = match conn.send.try_send_request(req).await {
                    Ok(resp) => {
                        let handle = ConnHandle::kept(&conn.poisoned);
                        pool.give_back(conn);
                        return Ok((resp, handle));
                    }
                    Err(mut e) => match e.take_message() {
                        Some(unsent) if conn.reused => {
                            tracing::debug!(error = %e.error(), "kept connection closed; reconnecting");
                            unsent
                        }
                        _ => return Err(StorageError::from_http(url, Box::new(e.into_error()))),
                    },
                };
                req = unsent;
                // The rare path, boxed: inline, its future would sit in every request's.
                conn = Box::pin(pool.connect(authority, absolute(authority, req.uri())))
                    .await
                    .map_err(|e| StorageError::from_connect(url, e))?;
            }
        };
        with_headers_timeout(url, self.config().headers_timeout, body, exchange).await
    }

    /// The error for a response that is not a success: a redirect (never followed) or a status
    /// error carrying the start of the body.
    pub(crate) async fn error_for_status(
        &self,
        url: &str,
        resp: Response<Incoming>,
    ) -> StorageError {
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let location = resp
                .headers()
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return StorageError::Redirect {
                url: url.to_owned(),
                status,
                location,
            };
        }
        let cfg = self.config();
        let body_snippet =
            read_snippet(resp.into_body(), cfg.error_body_limit, cfg.idle_timeout).await;
        StorageError::Status {
            url: url.to_owned(),
            status,
            body_snippet,
        }
    }
}

/// The pooled connection a request went out on, so that one which carried a lie (an early
/// answer, a wrong range, a wrong length) is taken out of the pool: the pool would otherwise
/// reuse a connection whose response was read to the end, whatever the caller made of it.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnHandle(Option<Arc<AtomicBool>>);

impl ConnHandle {
    /// The handle of a [`ConnPool`] connection, by its poison flag.
    pub(crate) fn kept(poisoned: &Arc<AtomicBool>) -> Self {
        Self(Some(Arc::clone(poisoned)))
    }

    /// Makes sure the connection is never used for another request.
    pub(crate) fn poison(&self) {
        if let Some(poisoned) = &self.0 {
            poisoned.store(true, Ordering::Release);
        }
    }
}

/// Runs the future `exchange` makes, failing with a headers timeout `timeout` after the last
/// byte of `body` was handed over (or after the start when there is no body). If the body never
/// finishes, the exchange itself ends (with an error).
///
/// One timer, armed at the start: the body only records when it finished
/// ([`BodyState::finished_at`]), and wakes nobody. When the timer fires before that time is
/// known, it is moved `timeout` on; once it is known, to that time plus `timeout`. The timer is
/// never set later than the body's end plus `timeout` (it was last set at or before that end),
/// so the timeout comes exactly then: never early, never late
/// (this module's `headers_timeout_runs_from_the_end_of_a_slow_body` and the tests after it).
///
/// It takes a maker, not a future: a future passed in would be stored twice in this one's
/// state (as the argument and again where it is polled), and every request's future is made
/// of this one.
pub(crate) async fn with_headers_timeout<T, F>(
    url: &str,
    timeout: Duration,
    body: Option<&BodyState>,
    exchange: impl FnOnce() -> F,
) -> Result<T, StorageError>
where
    F: Future<Output = Result<T, StorageError>>,
{
    let mut exchange = pin!(exchange());
    let mut timer = pin!(tokio::time::sleep(timeout));
    poll_fn(|cx| {
        if let Poll::Ready(res) = exchange.as_mut().poll(cx) {
            return Poll::Ready(res);
        }
        while timer.as_mut().poll(cx).is_ready() {
            let next = match body {
                None => None,
                // Still sending: the timeout has not started.
                Some(body) => match body.finished_at() {
                    None => Some(after(Instant::now(), timeout)),
                    Some(end) => Some(after(end, timeout)).filter(|&at| at > Instant::now()),
                },
            };
            let Some(at) = next else {
                return Poll::Ready(Err(StorageError::Timeout {
                    url: url.to_owned(),
                    phase: TimeoutPhase::Headers,
                }));
            };
            timer.as_mut().reset(at);
        }
        Poll::Pending
    })
    .await
}

/// Reads at most `limit` bytes of an error body, best effort: a stalled or broken body just ends
/// the snippet.
pub(crate) async fn read_snippet(mut body: Incoming, limit: usize, idle: Duration) -> String {
    let mut buf = Vec::new();
    while buf.len() < limit {
        match tokio::time::timeout(idle, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(limit - buf.len());
                    buf.extend_from_slice(&data[..take]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// `http://authority/path` of an origin-form `target`, for opening a connection.
fn absolute(authority: &Authority, target: &Uri) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        target
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    // Scheme, authority and path are all set, so `from_parts` cannot fail; the fallback (a
    // relative URI, which the connector refuses) is never taken.
    Uri::from_parts(parts).unwrap_or_default()
}

/// Checks that `url` is an absolute `http://` URL with a host.
pub(crate) fn parse_url(url: &str) -> Result<Uri, StorageError> {
    let invalid = |reason| StorageError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    // Tracker URLs are plain ASCII; anything else (C1 controls among it) is refused before it can
    // reach a connection, a log line or an error message.
    // A fold with no early exit, which the compiler vectorises: every byte is looked at anyway
    // for a URL that passes, and nearly all do.
    if !url.bytes().fold(true, |ok, b| ok & b.is_ascii_graphic()) {
        return Err(invalid("not a plain printable ASCII URL"));
    }
    let uri: Uri = url.parse().map_err(|_| invalid("not a valid URI"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => return Err(invalid("only http:// is supported")),
        None => return Err(invalid("not an absolute URL")),
    }
    // An absolute URI has an authority; without user info (refused first), its host is what
    // comes before the port, so it is empty exactly when the authority is or starts with `:`.
    let authority = uri.authority().map_or("", |a| a.as_str()).as_bytes();
    if authority.contains(&b'@') {
        return Err(invalid("user info in a storage URL"));
    }
    if authority.first().is_none_or(|&b| b == b':') {
        return Err(invalid("no host"));
    }
    Ok(uri)
}

/// Finishes a request builder; a failure here means a header value we built was invalid.
pub(crate) fn build(
    url: &str,
    req: http::request::Builder,
    body: ReqBody,
) -> Result<Request<ReqBody>, StorageError> {
    req.body(body).map_err(|_| StorageError::InvalidUrl {
        url: url.to_owned(),
        reason: "cannot form a request",
    })
}

/// The `Content-Length` header, if present and valid.
pub(crate) fn content_length<B>(resp: &Response<B>) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use http_body_util::BodyExt;

    use super::*;
    use crate::req_body::Source;

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// A 3-byte body whose source yields its one chunk `after` the first poll, driven to its end
    /// by a task (as hyper's connection task would); its progress is the returned state.
    fn slow_body(after: Duration) -> Arc<BodyState> {
        let state = Arc::new(BodyState::default());
        let source = futures_util::stream::once(async move {
            tokio::time::sleep(after).await;
            Ok(Bytes::from_static(b"abc"))
        });
        let mut body = ReqBody::new(
            Source::Stream(Box::pin(source)),
            Some(3),
            None,
            Arc::clone(&state),
        );
        tokio::spawn(async move { while body.frame().await.is_some() {} });
        state
    }

    /// An exchange that answers `after` the start (never, with `None`).
    async fn answer(after: Option<Duration>) -> Result<(), StorageError> {
        match after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
        Ok(())
    }

    fn is_headers_timeout(res: &Result<(), StorageError>) -> bool {
        matches!(
            res,
            Err(StorageError::Timeout {
                phase: TimeoutPhase::Headers,
                ..
            })
        )
    }

    /// With a body whose source yields `body_end` after the start (`None`: no body), an answer
    /// a second before the body's end plus the timeout is read; with no answer, the timeout
    /// comes exactly at the body's end plus the timeout.
    async fn headers_timeout_runs_from(body_end: Option<Duration>) {
        let deadline = body_end.unwrap_or_default() + TIMEOUT;
        let state = body_end.map(slow_body);
        let res = with_headers_timeout("u", TIMEOUT, state.as_deref(), || {
            answer(Some(deadline - Duration::from_secs(1)))
        })
        .await;
        assert!(res.is_ok(), "{res:?}");
        let start = Instant::now();
        let state = body_end.map(slow_body);
        let res = with_headers_timeout("u", TIMEOUT, state.as_deref(), || answer(None)).await;
        assert!(is_headers_timeout(&res), "{res:?}");
        assert_eq!(start.elapsed(), deadline);
    }

    #[tokio::test(start_paused = true)]
    async fn headers_timeout_runs_from_the_end_of_a_slow_body() {
        // The body takes 25 s, longer than the timeout twice over.
        headers_timeout_runs_from(Some(Duration::from_secs(25))).await;
    }

    #[tokio::test(start_paused = true)]
    async fn headers_timeout_of_a_quick_body_or_none_runs_from_its_end() {
        headers_timeout_runs_from(Some(Duration::from_secs(4))).await;
        headers_timeout_runs_from(None).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_ends_leaves_the_verdict_to_the_exchange() {
        // The body's source never yields; the exchange fails on its own after a minute.
        let state = slow_body(Duration::from_secs(3600));
        let res = with_headers_timeout("u", TIMEOUT, Some(&state), || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Err::<(), _>(StorageError::InvalidUrl {
                url: "u".into(),
                reason: "the exchange's own error",
            })
        })
        .await;
        assert!(
            matches!(res, Err(StorageError::InvalidUrl { .. })),
            "{res:?}"
        );
    }

    #[test]
    fn url_checks() {
        for good in [
            "http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid",
            "http://[::1]:7500/dev1/x.fid",
            "http://node/x",
        ] {
            assert!(parse_url(good).is_ok(), "{good}");
        }
        for bad in [
            "https://h/x",
            "/dev1/x",
            "not a url",
            "http:///x",
            "http://user@h/x",
            "http://h/\u{9b}x",
            "http://h/a b",
            "http://:80/x",
            "http://@h/x",
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, StorageError::InvalidUrl { .. }), "{bad}");
            assert_eq!(err.url(), bad);
        }
    }
}
