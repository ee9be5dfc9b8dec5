//! Storing a file: `create_open` -> PUT with destination failover -> `create_close`, restarted
//! for replayable bodies, reconciled with `file_info` when the close's outcome is unknown.
//!
//! The one rule that shapes this file: **no `create_close` for a failed attempt**. A close is
//! sent only after a PUT answered 2xx, so a failed store never makes a half-written file visible,
//! and the key keeps its previous content.

use std::sync::Arc;

use mogile_protocol::{Checksum, DevId, ErrorCode, Fid, Key, StoragePath};
use mogile_protocol::{CloseError, CreateClose, CreateOpen, CreateOpenOutput};
use mogile_storage::{OneShotBody, Payload, PutStreamError};
use mogile_tracker::{Delivery, TrackerError};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{self, Attempt, AttemptError, Ctx, Error, Result};
use crate::observe::Observer;
use crate::options::PutOptions;

/// What a successful store did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutResult {
    /// The file's new fid.
    pub fid: Fid,
    /// The device written.
    pub devid: DevId,
    /// The URL written, exactly as the tracker handed it out.
    pub path: StoragePath,
    /// Bytes stored.
    pub size: u64,
    /// The MD5 sent with `create_close`, when one was computed.
    pub checksum: Option<Checksum>,
    /// `create_open` .. `create_close` sequences run (1 unless a restart was needed).
    pub attempts: u32,
}

/// A body on its way to the destinations.
pub(crate) enum Body {
    /// Can be sent any number of times.
    Replayable(Payload),
    /// Can be sent once; `None` after it was consumed.
    OneShot(Option<OneShotBody>),
}

/// Why the last attempt did not commit.
enum Failure {
    /// Every destination failed.
    Destinations,
    /// The tracker refused the close (and deleted the upload).
    Rejected(TrackerError),
    /// The upload outlived the restart deadline.
    TooSlow,
    /// The close's outcome was unknown and the key was found with no content.
    Lost,
}

/// One store in progress, across attempts.
struct Store {
    key: Key,
    /// The key as text, for errors and logs.
    name: String,
    body: Body,
    /// Every destination that failed, in order.
    tried: Vec<Attempt>,
    last: Failure,
    /// Whether a body was already sent once (progress callbacks are told of a restart).
    restarted: bool,
    /// A close that left the key with no content: the fid and the close's error.
    lost: Option<(Fid, TrackerError)>,
}

impl Client {
    /// Stores a replayable body (bytes, a buffer, a file) under `key`.
    ///
    /// # Errors
    ///
    /// See [`put_opts`](Self::put_opts).
    pub async fn put(&self, key: impl Into<Key>, body: impl Into<Payload>) -> Result<PutResult> {
        self.put_opts(key, body, &PutOptions::default()).await
    }

    /// Stores a replayable body with options: class, MD5, checksum verification.
    ///
    /// Runs `create_open` (`multi_dest=1`), PUTs to the first destination and on failure to the
    /// next ones, then `create_close` with the exact path, the bytes actually sent and the MD5
    /// when asked. A PUT counts only when the node answered 2xx after the whole body was sent.
    /// When every destination fails, or the tracker discards the upload at the close
    /// (`size_mismatch`, `size_verify_error`, `checksum_mismatch`, `invalid_destdev`), the whole
    /// sequence restarts, up to the client's `upload_attempts`. Any other close error is judged
    /// as the crate docs' [close table](crate#what-a-create_close-error-means) says.
    ///
    /// # Errors
    ///
    /// - [`Error::KeyPolicy`]: the key breaks the client's key policy; nothing was sent.
    /// - [`Error::UnknownDomain`], [`Error::UnknownClass`], [`Error::NoWritableDevices`].
    /// - [`Error::NoUsablePath`]: every destination of every attempt failed (with each failure).
    /// - [`Error::UploadRejected`]: the tracker rejected the last attempt's close.
    /// - [`Error::OutcomeUnknown`]: the close may have committed, or left the key empty; see its
    ///   docs.
    pub async fn put_opts(
        &self,
        key: impl Into<Key>,
        body: impl Into<Payload>,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        self.store(key.into(), Body::Replayable(body.into()), opts)
            .await
    }

    /// Stores the file at `path` (replayable: read again for each attempt).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be opened, otherwise as [`put_opts`](Self::put_opts).
    pub async fn put_file(
        &self,
        key: impl Into<Key>,
        path: impl AsRef<std::path::Path>,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        let payload = Payload::file(path)
            .await
            .map_err(|source| Error::Io { source })?;
        self.put_opts(key, payload, opts).await
    }

    /// The general store: replayable or one-shot body.
    ///
    /// Once a close is known to have left the key with no content (see [`Reconciled::Missing`]),
    /// every later failure is reported as [`Error::OutcomeUnknown`]: a definite failure would
    /// promise the old content, which is gone.
    pub(crate) async fn store(&self, key: Key, body: Body, opts: &PutOptions) -> Result<PutResult> {
        self.config().key_policy.check(&key)?;
        let mut store = Store {
            name: key.to_string(),
            key,
            body,
            tried: Vec::new(),
            last: Failure::Destinations,
            restarted: false,
            lost: None,
        };
        match self.store_attempts(&mut store, opts).await {
            Ok(result) => Ok(result),
            Err(e) if e.is_outcome_unknown() => Err(e),
            Err(e) => match store.lost.take() {
                Some((fid, source)) => {
                    tracing::warn!(key = %store.name, error = %e, "store failed after the key lost its content");
                    Err(Error::OutcomeUnknown {
                        name: store.name,
                        fid,
                        source: Box::new(source),
                    })
                }
                None => Err(e),
            },
        }
    }

    /// The attempt loop: `create_open`, PUT with destination failover, `create_close`, and what
    /// the close's answer means.
    async fn store_attempts(&self, st: &mut Store, opts: &PutOptions) -> Result<PutResult> {
        let cfg = self.config().clone();
        let md5 = opts.md5.unwrap_or(cfg.checksum.store()) || opts.checksum_verify;
        for attempt in 1..=cfg.upload_attempts {
            if matches!(st.body, Body::OneShot(None)) {
                break;
            }
            let open = self
                .create_open(&st.key, opts.class.as_deref(), &st.name)
                .await?;
            let started = Instant::now();
            let Some((dest, size, observer)) = self
                .put_destinations(
                    &open,
                    &mut st.body,
                    opts,
                    md5,
                    &mut st.restarted,
                    &mut st.tried,
                )
                .await?
            else {
                st.last = Failure::Destinations;
                continue;
            };
            if let Some(gate) = &opts.commit_gate {
                // A writer is committed only by `Writer::finish`. Its PUT cannot complete before
                // that anyway (the last chunk of a known length is held back until the pipe ends,
                // and only `finish` ends it cleanly); the gate states the rule where the close is
                // sent. A dropped writer never gets here.
                if gate.clone().wait_for(|finished| *finished).await.is_err() {
                    return Err(Error::Io {
                        source: std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "writer dropped before finish",
                        ),
                    });
                }
            }
            if started.elapsed() >= cfg.restart_after && matches!(st.body, Body::Replayable(_)) {
                // The tracker reaps temp files an hour after create_open: do not race it.
                tracing::warn!(key = %st.name, fid = open.fid.0, "upload took too long; restarting");
                st.last = Failure::TooSlow;
                continue;
            }
            let checksum = observer.checksum();
            let mut close = CreateClose::new(&*self.domain, open.fid, dest.0, dest.1.clone())
                .key(st.key.clone())
                .size(size);
            if let Some(c) = &checksum {
                close = close
                    .checksum(c.clone())
                    .checksum_verify(opts.checksum_verify);
            }
            if let Some(zone) = &cfg.zone {
                close = close.zone(zone.as_str());
            }
            let result = PutResult {
                fid: open.fid,
                devid: dest.0,
                path: dest.1,
                size,
                checksum,
                attempts: attempt,
            };
            let err = match self.tracker_call(close, Ctx::key(&st.name)).await {
                Ok(()) => return Ok(result),
                Err(e) => e,
            };
            match close_verdict(err.code(), err.delivery()) {
                CloseVerdict::Restart => {
                    tracing::warn!(key = %st.name, fid = open.fid.0, error = %err, "close rejected; restarting");
                    st.last = Failure::Rejected(err.into_source());
                }
                CloseVerdict::Definite => {
                    return Err(err.into_error());
                }
                CloseVerdict::Reconcile => match self.reconcile(&st.key, open.fid).await {
                    Reconciled::Committed => {
                        tracing::info!(key = %st.name, fid = open.fid.0, error = %err, "close outcome reconciled: committed");
                        return Ok(result);
                    }
                    Reconciled::Missing if matches!(st.body, Body::Replayable(_)) => {
                        // The close died after deleting the old content (2.73 deletes the old fid,
                        // then writes the new row, each on its own): the key holds nothing, and the
                        // caller asked for the new content, so it is stored again.
                        tracing::warn!(
                            key = %st.name,
                            fid = open.fid.0,
                            error = %err,
                            "close outcome unknown and the key is now missing; storing again"
                        );
                        st.lost = Some((open.fid, err.into_source()));
                        st.last = Failure::Lost;
                    }
                    Reconciled::Missing | Reconciled::Unknown => {
                        return Err(Error::OutcomeUnknown {
                            name: st.name.clone(),
                            fid: open.fid,
                            source: Box::new(err.into_source()),
                        });
                    }
                },
            }
        }
        let name = st.name.clone();
        Err(
            match std::mem::replace(&mut st.last, Failure::Destinations) {
                Failure::Rejected(source) => Error::UploadRejected {
                    source: Box::new(source),
                },
                Failure::TooSlow => Error::UploadTooSlow { name },
                // `store` reports this as `OutcomeUnknown`, with the close that lost the key.
                Failure::Lost | Failure::Destinations => Error::NoUsablePath {
                    name,
                    attempts: std::mem::take(&mut st.tried),
                },
            },
        )
    }

    /// `create_open` with `multi_dest=1`, retrying `no_devices` with a doubling backoff.
    async fn create_open(
        &self,
        key: &Key,
        class: Option<&str>,
        name: &str,
    ) -> Result<CreateOpenOutput> {
        let cfg = self.config();
        let mut wait = cfg.no_devices_backoff;
        let mut retries = 0;
        loop {
            let mut cmd = CreateOpen::new(&*self.domain)
                .key(key.clone())
                .multi_dest(true);
            if let Some(class) = class {
                cmd = cmd.class(class);
            }
            if let Some(zone) = &cfg.zone {
                cmd = cmd.zone(zone.as_str());
            }
            let ctx = Ctx {
                class,
                ..Ctx::key(name)
            };
            match self.call(cmd, ctx).await {
                // An `ERR no_devices` answer created nothing, so asking again is safe.
                Err(Error::NoWritableDevices { .. }) if retries < cfg.no_devices_retries => {
                    retries += 1;
                    tracing::debug!(key = name, ?wait, "no_devices; backing off");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    /// PUTs the body to each destination in order until one answers 2xx. Returns the destination
    /// used, the bytes sent and the observer that watched them; `None` when every destination
    /// failed (a one-shot body is put back if it was never touched).
    async fn put_destinations(
        &self,
        open: &CreateOpenOutput,
        body: &mut Body,
        opts: &PutOptions,
        md5: bool,
        restarted: &mut bool,
        tried: &mut Vec<Attempt>,
    ) -> Result<Option<((DevId, StoragePath), u64, Arc<Observer>)>> {
        for dest in &open.destinations {
            let url = dest.path.as_str();
            let observer = Observer::new(md5, opts.progress.clone(), *restarted);
            *restarted = true;
            let mut put_opts = mogile_storage::PutOptions::default();
            if observer.is_active() {
                put_opts = put_opts.observer(observer.clone());
            }
            // The length the PUT must have sent in full, when known up front.
            let expected;
            let outcome = match body {
                Body::Replayable(payload) => {
                    expected = Some(payload.len());
                    self.inner.storage.put(url, payload, &put_opts).await
                }
                Body::OneShot(slot) => {
                    let Some(one) = slot.take() else { break };
                    expected = one.declared_len();
                    match self.inner.storage.put_stream(url, one, &put_opts).await {
                        Ok(out) => Ok(out),
                        Err(PutStreamError {
                            error,
                            body: Some(back),
                            ..
                        }) => {
                            // Nothing was read from it: the next destination can have it.
                            *slot = Some(back);
                            Err(error)
                        }
                        // Bytes are gone: no failover, and above all no create_close.
                        Err(PutStreamError {
                            error, body: None, ..
                        }) => return Err(error::from_storage(error)),
                    }
                }
            };
            match outcome {
                // The storage client reports a 2xx only once the whole body was handed over; this
                // is the facade's own check of that contract before anything is committed: the
                // size given to `create_close` is the body's, never a count cut short by an early
                // answer (and never `size=0`, which turns the tracker's size check off, for a
                // body that was not empty).
                Ok(out) if expected.is_some_and(|len| len != out.bytes_sent) => {
                    let expected = expected.unwrap_or_default();
                    tracing::warn!(
                        url,
                        expected,
                        sent = out.bytes_sent,
                        "storage reported a short upload as success; not committing it"
                    );
                    tried.push(Attempt {
                        url: url.to_owned(),
                        error: AttemptError::Length {
                            expected,
                            actual: out.bytes_sent,
                        },
                    });
                }
                Ok(out) => {
                    return Ok(Some((
                        (dest.devid, dest.path.clone()),
                        out.bytes_sent,
                        observer,
                    )));
                }
                // The caller's own body failed (a file that changed size, a failing reader): no
                // other destination would do better.
                Err(e) if !e.try_another_replica() => return Err(error::from_storage(e)),
                Err(e) => {
                    tracing::debug!(url = %mogile_protocol::printable(url), error = %e, "destination failed; trying the next");
                    tried.push(Attempt {
                        url: url.to_owned(),
                        error: AttemptError::Storage(e),
                    });
                }
            }
        }
        Ok(None)
    }

    /// After a close whose outcome is uncertain (a lost reply, or a code from
    /// [`CloseError::Uncertain`]): what `file_info` says the key holds now.
    async fn reconcile(&self, key: &Key, fid: Fid) -> Reconciled {
        match self.file_info(key.clone()).await {
            Ok(info) if info.fid == fid => Reconciled::Committed,
            Err(e) if e.is_not_found() => Reconciled::Missing,
            Ok(_) | Err(_) => Reconciled::Unknown,
        }
    }
}

/// What `file_info` showed after a close in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reconciled {
    /// The key points at our fid: the store succeeded.
    Committed,
    /// The key has no content at all: the close died between deleting the old fid and writing the
    /// new row.
    Missing,
    /// The key holds other content (the old, or another writer's), or `file_info` failed.
    Unknown,
}

/// What to do after `create_close` answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseVerdict {
    /// The tracker discarded the upload and the key kept its content: start over.
    Restart,
    /// Nothing changed and trying again would fail the same way.
    Definite,
    /// The close may have committed, or lost the key's content: ask `file_info`.
    Reconcile,
}

/// The meaning of a failed `create_close`: by code ([`CreateClose::close_error`], which holds
/// the table of 2.73's stretches), or, without a code, by how far the request got: a close that
/// may have reached the tracker (or was answered with an `OK` it could not decode) is reconciled,
/// one that never left is definite.
fn close_verdict(code: Option<&ErrorCode>, delivery: Delivery) -> CloseVerdict {
    match code.map(CreateClose::close_error) {
        Some(CloseError::NothingChanged) => CloseVerdict::Definite,
        Some(CloseError::UploadDiscarded) => CloseVerdict::Restart,
        Some(_) => CloseVerdict::Reconcile,
        None => match delivery {
            Delivery::NotAttempted | Delivery::NotSent => CloseVerdict::Definite,
            // `ReplyLost`, `Answered` (an `OK`: it committed), and anything added later.
            _ => CloseVerdict::Reconcile,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn server(code: ErrorCode) -> TrackerError {
        TrackerError::Server {
            tracker: "t:7001".into(),
            code,
            message: String::new(),
        }
    }

    fn verdict(e: &TrackerError) -> CloseVerdict {
        close_verdict(e.code(), e.delivery())
    }

    #[test]
    fn a_close_error_is_definite_only_before_the_commit_point() {
        use CloseVerdict::{Definite, Reconcile, Restart};
        use ErrorCode as E;
        for (code, expected) in [
            (E::UnregDomain, Definite),
            (E::BogusArgs, Definite),
            (E::NoFid, Definite),
            (E::InvalidChecksumFormat, Definite),
            (E::SizeMismatch, Restart),
            (E::SizeVerifyError, Restart),
            (E::ChecksumMismatch, Restart),
            (E::InvalidDestdev, Restart),
            (E::NoTempFile, Reconcile),
            (E::FidExists, Reconcile),
            (E::PluginAborted, Reconcile),
            (E::Failure, Reconcile),
            (E::Dup, Reconcile),
            (E::Db, Reconcile),
            (E::Other("never_seen_before".into()), Reconcile),
        ] {
            assert_eq!(verdict(&server(code.clone())), expected, "{code}");
        }
        let sent = TrackerError::Timeout {
            tracker: "t:7001".into(),
            timeout: Duration::from_secs(3),
            request_sent: true,
        };
        assert_eq!(verdict(&sent), Reconcile);
        let unsent = TrackerError::Timeout {
            tracker: "t:7001".into(),
            timeout: Duration::from_secs(3),
            request_sent: false,
        };
        assert_eq!(verdict(&unsent), Definite);
        let refused = TrackerError::Connect {
            tracker: "t:7001".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(verdict(&refused), Definite);
        let lost = TrackerError::OutcomeUnknown {
            command: "create_close".into(),
            tracker: "t:7001".into(),
            source: Box::new(TrackerError::ConnectionClosed {
                tracker: "t:7001".into(),
                request_sent: true,
            }),
        };
        assert_eq!(verdict(&lost), Reconcile);
    }

    /// A close the client never sent (it was closed, or the line is over the limit) cannot have
    /// committed: a definite failure, not a reconciliation ending in `OutcomeUnknown` (before,
    /// every error the tracker client did not call retry-safe was reconciled).
    #[test]
    fn a_close_that_was_never_sent_is_definite() {
        assert_eq!(verdict(&TrackerError::Closed), CloseVerdict::Definite);
        let too_long = TrackerError::RequestTooLong { len: 9, limit: 8 };
        assert_eq!(verdict(&too_long), CloseVerdict::Definite);
    }
}
