//! Uploads: `PUT` of a replayable [`Payload`] or a one-shot [`OneShotBody`].
//!
//! Bodies of known length go out with `Content-Length` on a pooled connection. A body of unknown
//! length must be chunked, and chunked framing needs HTTP/1.1; but mogstored answers with
//! `HTTP/1.0` status lines, after which hyper sends the next request on that pooled connection
//! as HTTP/1.0, with no body framing at all, and the node stores an empty file
//! (`conformance/mogstored_hyper_http10.txt`). So those bodies go over a fresh, non-pooled
//! connection, one request each ([`StorageClient::put_chunked`]).

use std::sync::{Arc, Mutex};

use http::header::{CONTENT_LENGTH, HOST};
use http::{Method, Request, Response, Uri};
use hyper::body::Incoming;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::body::{OneShotBody, Payload, PayloadKind};
use crate::client::{ConnHandle, StorageClient, build, parse_url, with_headers_timeout};
use crate::error::{PutStreamError, StorageError};
use crate::file_body::FileChunks;
use crate::options::{PutOutcome, StoragePutOptions, TransferObserver};
use crate::req_body::{BodyState, ReqBody, SharedBody, Source, Spool};
use crate::trace::Transfer;

impl StorageClient {
    /// `PUT url` with a replayable body, sent with `Content-Length` (never `Expect:
    /// 100-continue`).
    ///
    /// A 2xx is a success only once the whole body was handed to the connection:
    /// [`PutOutcome::bytes_sent`] then always equals the payload's length. A 2xx that arrives
    /// before that is [`StorageError::EarlyResponse`], and the connection is never reused. A 2xx
    /// is still not proof that every byte was stored: report the size to the tracker, whose
    /// `create_close` checks it against the node.
    ///
    /// # Errors
    /// Non-2xx statuses (with a snippet of the body), an early answer, redirects (not followed),
    /// connection failures, timeouts, and a file payload that changed size
    /// ([`StorageError::Body`]).
    pub async fn put(
        &self,
        url: &str,
        body: &Payload,
        opts: &StoragePutOptions,
    ) -> Result<PutOutcome, StorageError> {
        let uri = parse_url(url)?;
        let transfer = Transfer::start("PUT", url);
        let result = transfer
            .run(|| async {
                let source = match body.kind() {
                    PayloadKind::Bytes(chunks, _) => Source::Chunks {
                        chunks: chunks.clone(),
                        next: 0,
                        offset: 0,
                    },
                    PayloadKind::File(path, len) => {
                        let file = tokio::fs::File::open(&**path).await.map_err(|source| {
                            StorageError::Body {
                                url: url.to_owned(),
                                source,
                            }
                        })?;
                        file_source(file.into_std().await, *len)
                    }
                };
                self.put_known(url, uri, source, body.len(), opts.observer.clone())
                    .await
            })
            .await;
        transfer.put_done(result.as_ref());
        result
    }

    /// `PUT url` with a one-shot body.
    ///
    /// With a known length it goes out with `Content-Length` on a pooled connection and must
    /// produce exactly that many bytes. As for [`put`](Self::put), a 2xx is a success only once
    /// the body reached its end and every byte was handed over ([`StorageError::EarlyResponse`]
    /// otherwise). With an unknown length it is sent chunked on a fresh
    /// connection of its own; if the node refuses chunked bodies (`411`/`501`), the body is
    /// copied into a temporary file (never memory; see
    /// [`spool_limit`](crate::StorageConfig::spool_limit)) and sent again with a length.
    ///
    /// The body cannot be sent twice: on failure it is handed back in [`PutStreamError::body`]
    /// only if no frame was ever taken from it.
    ///
    /// # Errors
    /// As for [`put`](Self::put); a failing body stream is [`StorageError::Body`].
    pub async fn put_stream(
        &self,
        url: &str,
        body: OneShotBody,
        opts: &StoragePutOptions,
    ) -> Result<PutOutcome, PutStreamError> {
        let uri = match parse_url(url) {
            Ok(uri) => uri,
            Err(error) => {
                return Err(PutStreamError {
                    error,
                    body: Some(body),
                });
            }
        };
        let transfer = Transfer::start("PUT", url);
        let result = transfer
            .run(|| self.put_one_shot(url, uri, body, opts))
            .await;
        transfer.put_done(result.as_ref().map_err(|e| &e.error));
        result
    }

    /// [`put_stream`](Self::put_stream) once the URL is known to be valid.
    async fn put_one_shot(
        &self,
        url: &str,
        uri: Uri,
        body: OneShotBody,
        opts: &StoragePutOptions,
    ) -> Result<PutOutcome, PutStreamError> {
        let Some(len) = body.declared_len() else {
            return self.put_chunked(url, uri, body, opts).await;
        };
        let body = if len == 0 {
            // hyper never polls a body that is empty from the start: make sure this one is.
            match ensure_empty(url, body).await {
                Ok(body) => body,
                Err(error) => return Err(PutStreamError { error, body: None }),
            }
        } else {
            body
        };
        let shared = SharedBody::new(body, None, 0);
        let source = Source::Shared(shared.clone());
        self.put_known(url, uri, source, len, opts.observer.clone())
            .await
            .map_err(|error| PutStreamError {
                error,
                body: SharedBody::reclaim(&shared),
            })
    }

    /// A `PUT` with `Content-Length` on a pooled connection.
    async fn put_known(
        &self,
        url: &str,
        uri: Uri,
        source: Source,
        len: u64,
        observer: Option<Arc<dyn TransferObserver>>,
    ) -> Result<PutOutcome, StorageError> {
        let state = Arc::new(BodyState::default());
        let body = ReqBody::new(source, Some(len), observer, state.clone());
        let req = Request::builder()
            .method(Method::PUT)
            .uri(uri)
            .header(CONTENT_LENGTH, len);
        let req = build(url, req, body)?;
        let (resp, conn) = self.send_pooled(url, req, Some(&state)).await?;
        self.outcome(url, resp, &state, Some(len), &conn).await
    }

    /// Judges the node's answer to a PUT whose body progress is `state`.
    ///
    /// THE upload rule: a 2xx counts only once the whole body was handed over, i.e. the source
    /// reached its end and, where the length is known, the count equals it. Any answer that comes
    /// before that (2xx or not) stops the body and poisons the pooled connection, so a node that
    /// answered early never sees another request on it.
    async fn outcome(
        &self,
        url: &str,
        resp: Response<Incoming>,
        state: &BodyState,
        declared: Option<u64>,
        conn: &ConnHandle,
    ) -> Result<PutOutcome, StorageError> {
        let sent = state.sent();
        let whole = state.is_complete() && declared.is_none_or(|d| d == sent);
        if !whole {
            state.abort();
            conn.poison();
        }
        let status = resp.status();
        if status.is_success() {
            if whole {
                return Ok(PutOutcome {
                    bytes_sent: sent,
                    status: status.as_u16(),
                });
            }
            tracing::warn!(
                url,
                status = status.as_u16(),
                sent,
                ?declared,
                "node answered before the whole body was sent"
            );
            return Err(StorageError::EarlyResponse {
                url: url.to_owned(),
                status: status.as_u16(),
                sent,
                expected: declared,
            });
        }
        Err(self.error_for_status(url, resp).await)
    }

    /// A chunked `PUT` on a fresh connection, with the `411`/`501` fallback.
    async fn put_chunked(
        &self,
        url: &str,
        uri: Uri,
        body: OneShotBody,
        opts: &StoragePutOptions,
    ) -> Result<PutOutcome, PutStreamError> {
        let spool = self.create_spool().await;
        let shared = SharedBody::new(body, spool, self.config().spool_limit);
        let observer = opts.observer.clone();
        let error = match self.send_fresh(url, &uri, shared.clone(), observer).await {
            Ok(outcome) => return Ok(outcome),
            Err(e) if matches!(e.status(), Some(411 | 501)) => e,
            Err(error) => {
                let body = SharedBody::reclaim(&shared);
                return Err(PutStreamError { error, body });
            }
        };
        tracing::debug!(url, status = ?error.status(), "node refused a chunked body; resending with a length");
        let spooled = match self.finish_spool(url, &shared).await {
            Ok(Some(spooled)) => spooled,
            Ok(None) => {
                let body = SharedBody::reclaim(&shared);
                return Err(PutStreamError { error, body });
            }
            Err(error) => return Err(PutStreamError { error, body: None }),
        };
        let (file, len) = spooled;
        if let Some(obs) = &opts.observer {
            obs.on_restart();
        }
        let file = file.into_std().await;
        self.put_known(url, uri, file_source(file, len), len, opts.observer.clone())
            .await
            .map_err(|error| PutStreamError { error, body: None })
    }

    /// Sends the shared body chunked, as the only request of a fresh connection.
    async fn send_fresh(
        &self,
        url: &str,
        uri: &Uri,
        shared: Arc<Mutex<SharedBody>>,
        observer: Option<Arc<dyn TransferObserver>>,
    ) -> Result<PutOutcome, StorageError> {
        let io = self
            .inner
            .connector
            .connect(uri.clone())
            .await
            .map_err(|e| StorageError::from_connect(url, e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| StorageError::from_http(url, Box::new(e)))?;
        let state = Arc::new(BodyState::default());
        let body = ReqBody::new(Source::Shared(shared), None, observer, state.clone());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = Request::builder().method(Method::PUT).uri(path);
        if let Some(authority) = uri.authority() {
            req = req.header(HOST, authority.as_str());
        }
        let req = build(url, req, body)?;
        let cfg = self.config();
        let exchange = async {
            sender
                .ready()
                .await
                .map_err(|e| StorageError::from_http(url, Box::new(e)))?;
            let resp = with_headers_timeout(url, cfg.headers_timeout, Some(&state), || async {
                sender
                    .send_request(req)
                    .await
                    .map_err(|e| StorageError::from_http(url, Box::new(e)))
            })
            .await?;
            // This connection is never reused: it ends with this function.
            self.outcome(url, resp, &state, None, &ConnHandle::default())
                .await
        };
        let mut exchange = Box::pin(exchange);
        let mut conn = Box::pin(conn);
        // The connection task runs here, not spawned: when this returns the connection (and with
        // it hyper's hold on the body) is gone, so the body can be reclaimed without a race.
        tokio::select! {
            res = &mut exchange => res,
            _ = &mut conn => {
                drop(conn);
                exchange.await
            }
        }
    }

    async fn create_spool(&self) -> Option<Spool> {
        if self.config().spool_limit == 0 {
            return None;
        }
        let dir = self.config().spool_dir.clone();
        let made = tokio::task::spawn_blocking(move || match dir {
            Some(dir) => tempfile::tempfile_in(dir),
            None => tempfile::tempfile(),
        })
        .await;
        match made {
            Ok(Ok(file)) => Some(Spool {
                file: tokio::fs::File::from_std(file),
                len: 0,
            }),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot create upload spool; no 411/501 fallback");
                None
            }
            Err(_) => None,
        }
    }

    /// After a `411`/`501`: completes the spool with the rest of the body and rewinds it.
    /// `Ok(None)` if the spool does not hold every byte already sent, or the body outgrows the
    /// spool limit.
    async fn finish_spool(
        &self,
        url: &str,
        shared: &Mutex<SharedBody>,
    ) -> Result<Option<(tokio::fs::File, u64)>, StorageError> {
        let (spool, pending, body) = {
            let mut g = shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !g.spool_complete {
                return Ok(None);
            }
            let pending = g.pending.take();
            match (g.spool.take(), g.body.take()) {
                (Some(spool), Some(body)) => (spool, pending, body),
                (spool, body) => {
                    g.spool = spool;
                    g.body = body;
                    return Ok(None);
                }
            }
        };
        let io_err = |source| StorageError::Io {
            url: url.to_owned(),
            source,
        };
        let Spool { mut file, mut len } = spool;
        if let Some((chunk, off)) = pending {
            file.write_all(&chunk[off..]).await.map_err(io_err)?;
            len += chunk.len() as u64;
        }
        let mut body = body;
        let limit = self.config().spool_limit;
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            let chunk = chunk.map_err(|source| StorageError::Body {
                url: url.to_owned(),
                source,
            })?;
            len += chunk.len() as u64;
            if len > limit {
                // The spool is bounded like the tee that started it: a body larger than the
                // limit cannot be resent with a length.
                return Ok(None);
            }
            file.write_all(&chunk).await.map_err(io_err)?;
        }
        file.flush().await.map_err(io_err)?;
        file.rewind().await.map_err(io_err)?;
        Ok(Some((file, len)))
    }
}

/// A body source reading `file`, which must hold exactly `len` bytes: one byte more is read, so
/// that a file that grew since its length was taken fails as a body longer than declared
/// ([`StorageError::Body`]) instead of being cut silently.
fn file_source(file: std::fs::File, len: u64) -> Source {
    Source::Stream(Box::pin(FileChunks::new(file, len.saturating_add(1))))
}

/// Polls a one-shot body declared empty to its end: any byte is a body longer than declared.
async fn ensure_empty(url: &str, mut body: OneShotBody) -> Result<OneShotBody, StorageError> {
    use futures_util::StreamExt;
    let too_long = |source| StorageError::Body {
        url: url.to_owned(),
        source,
    };
    while let Some(chunk) = body.next().await {
        if !chunk.map_err(too_long)?.is_empty() {
            return Err(too_long(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "body produced more than its declared 0 bytes",
            )));
        }
    }
    Ok(body)
}
