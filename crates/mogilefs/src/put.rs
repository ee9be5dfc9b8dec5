//! Storing a file: `create_open` -> PUT with destination failover -> `create_close`, restarted
//! for replayable bodies, reconciled with `file_info` when the close's outcome is unknown.
//!
//! The one rule that shapes this file: **no `create_close` for a failed attempt**. A close is
//! sent only after a PUT answered 2xx, so a failed store never makes a half-written file visible,
//! and the key keeps its previous content.

use std::sync::Arc;

use mogile_protocol::{Checksum, DevId, Fid, Key, StoragePath};
use mogile_protocol::{CreateClose, CreateOpen, CreateOpenOutput};
use mogile_storage::{OneShotBody, Payload, PutStreamError};
use mogile_tracker::TrackerError;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{self, Attempt, AttemptError, Ctx, Error, Meaning, Result};
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
    /// when asked. When every destination fails, or the tracker rejects the close
    /// (`size_mismatch`, `size_verify_error`, `checksum_mismatch`, `invalid_destdev`), the whole
    /// sequence restarts, up to the client's `upload_attempts`.
    ///
    /// # Errors
    ///
    /// - [`Error::KeyPolicy`]: the key breaks the client's key policy; nothing was sent.
    /// - [`Error::UnknownDomain`], [`Error::UnknownClass`], [`Error::NoWritableDevices`].
    /// - [`Error::NoUsablePath`]: every destination of every attempt failed (with each failure).
    /// - [`Error::UploadRejected`]: the tracker rejected the last attempt's close.
    /// - [`Error::OutcomeUnknown`]: the close may have committed; see its docs.
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
    pub(crate) async fn store(
        &self,
        key: Key,
        mut body: Body,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        self.config().key_policy.check(&key)?;
        let cfg = self.config().clone();
        let name = key.to_string();
        let md5 = opts.md5.unwrap_or(cfg.checksum.store()) || opts.checksum_verify;
        let mut tried: Vec<Attempt> = Vec::new();
        let mut last = Failure::Destinations;
        let mut restarted = false;
        for attempt in 1..=cfg.upload_attempts {
            if matches!(body, Body::OneShot(None)) {
                break;
            }
            let open = self.create_open(&key, opts.class.as_deref(), &name).await?;
            let started = Instant::now();
            let Some((dest, size, observer)) = self
                .put_destinations(&open, &mut body, opts, md5, &mut restarted, &mut tried)
                .await?
            else {
                last = Failure::Destinations;
                continue;
            };
            if let Some(gate) = &opts.commit_gate {
                // A writer of known length is fully sent once that many bytes were written, but it
                // is committed only by `Writer::finish`; a dropped writer never gets here.
                if gate.clone().wait_for(|finished| *finished).await.is_err() {
                    return Err(Error::Io {
                        source: std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "writer dropped before finish",
                        ),
                    });
                }
            }
            if started.elapsed() >= cfg.restart_after && matches!(body, Body::Replayable(_)) {
                // The tracker reaps temp files an hour after create_open: do not race it.
                tracing::warn!(key = %name, fid = open.fid.0, "upload took too long; restarting");
                last = Failure::TooSlow;
                continue;
            }
            let checksum = observer.checksum();
            let mut close = CreateClose::new(&*self.domain, open.fid, dest.0, dest.1.clone())
                .key(key.clone())
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
            match self.inner.tracker.request(close).await {
                Ok(()) => return Ok(result),
                Err(e) if e.code().is_some_and(Meaning::restarts_upload) => {
                    tracing::warn!(key = %name, fid = open.fid.0, error = %e, "close rejected; restarting");
                    last = Failure::Rejected(e);
                }
                Err(e) if close_may_have_run(&e) => return self.reconcile(&key, result, e).await,
                Err(e) => return Err(error::from_tracker(e, Ctx::key(&name))),
            }
        }
        Err(match last {
            Failure::Rejected(source) => Error::UploadRejected {
                source: Box::new(source),
            },
            Failure::TooSlow => Error::UploadTooSlow { name },
            Failure::Destinations => Error::NoUsablePath {
                name,
                attempts: tried,
            },
        })
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
            let outcome = match body {
                Body::Replayable(payload) => self.inner.storage.put(url, payload, &put_opts).await,
                Body::OneShot(slot) => {
                    let Some(one) = slot.take() else { break };
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
                Ok(out) => {
                    return Ok(Some((
                        (dest.devid, dest.path.clone()),
                        out.bytes_sent,
                        observer,
                    )));
                }
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

    /// After a lost close reply or `no_temp_file`: the store succeeded if and only if the key now
    /// points at our fid; anything else is reported as unknown, never as a definite failure.
    async fn reconcile(
        &self,
        key: &Key,
        result: PutResult,
        source: TrackerError,
    ) -> Result<PutResult> {
        match self.file_info(key.clone()).await {
            Ok(info) if info.fid == result.fid => {
                tracing::info!(key = %key, fid = result.fid.0, "close outcome reconciled: committed");
                Ok(result)
            }
            _ => Err(Error::OutcomeUnknown {
                name: key.to_string(),
                fid: result.fid,
                source: Box::new(source),
            }),
        }
    }
}

/// Whether a failed `create_close` may nevertheless have committed: its reply was lost after the
/// request left, or the tracker answered `no_temp_file` (it re-runs a request whose worker died,
/// so a close can commit and then answer `no_temp_file`).
fn close_may_have_run(e: &TrackerError) -> bool {
    match e.code() {
        Some(code) => Meaning::of(code) == Meaning::NoTempFile,
        None => e.outcome_unknown() || !e.is_retry_safe(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mogile_protocol::ErrorCode;

    use super::*;

    fn server(code: &str) -> TrackerError {
        TrackerError::Server {
            tracker: "t:7001".into(),
            code: ErrorCode::from(code),
            message: String::new(),
        }
    }

    #[test]
    fn only_a_lost_reply_or_no_temp_file_leaves_a_close_in_doubt() {
        assert!(close_may_have_run(&server("no_temp_file")));
        assert!(!close_may_have_run(&server("size_mismatch")));
        assert!(!close_may_have_run(&server("unreg_domain")));
        let sent = TrackerError::Timeout {
            tracker: "t:7001".into(),
            timeout: Duration::from_secs(3),
            request_sent: true,
        };
        assert!(close_may_have_run(&sent));
        let unsent = TrackerError::Timeout {
            tracker: "t:7001".into(),
            timeout: Duration::from_secs(3),
            request_sent: false,
        };
        assert!(!close_may_have_run(&unsent));
        let refused = TrackerError::Connect {
            tracker: "t:7001".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(!close_may_have_run(&refused));
        let lost = TrackerError::OutcomeUnknown {
            command: "create_close".into(),
            tracker: "t:7001".into(),
            source: Box::new(TrackerError::ConnectionClosed {
                tracker: "t:7001".into(),
            }),
        };
        assert!(close_may_have_run(&lost));
    }
}
