//! Storing a file: `create_open` -> PUT with destination failover -> `create_close`, restarted
//! for replayable bodies, reconciled with `file_info` when the close's outcome is unknown.
//!
//! The one rule that shapes this file: **no `create_close` for a failed attempt**. A close is
//! sent only after a PUT answered 2xx, so a failed store never makes a half-written file visible,
//! and the key keeps its previous content.

use mogile_protocol::printable;
use mogile_protocol::{Checksum, DevId, ErrorCode, Fid, Key, StoragePath};
use mogile_protocol::{CloseError, CreateClose, CreateOpen, CreateOpenOutput};
use mogile_storage::{OneShotBody, Payload};
use mogile_tracker::{Delivery, TrackerError};
use tokio::time::Instant;
use tracing::{Instrument, Span, field};

use crate::client::Client;
use crate::destinations::Placed;
use crate::error::{Attempt, Ctx, Error, Result};
use crate::options::{ChecksumPolicy, PutOptions};
use crate::writer::CommitGate;

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

/// One store in progress, across attempts: what to store and how, and what happened so far.
pub(crate) struct Store<'a> {
    key: Key,
    /// The key as text, for errors and logs.
    name: String,
    pub(crate) body: Body,
    pub(crate) opts: &'a PutOptions,
    /// Set only for [`Client::writer`]: the close waits for [`Writer::finish`](crate::Writer::finish).
    commit_gate: Option<CommitGate>,
    /// Every destination that failed, in order.
    pub(crate) tried: Vec<Attempt>,
    last: Failure,
    /// Whether a body was already sent once (progress callbacks are told of a restart).
    pub(crate) restarted: bool,
    /// A close that left the key with no content: the fid and the close's error.
    lost: Option<(Fid, TrackerError)>,
    /// The `put` span, given its fields as the store goes on.
    pub(crate) span: Span,
}

impl<'a> Store<'a> {
    /// A store of `body` under `key`, as `opts` asks.
    pub(crate) fn new(key: Key, body: Body, opts: &'a PutOptions) -> Self {
        Self {
            name: key.to_string(),
            key,
            body,
            opts,
            commit_gate: None,
            tried: Vec::new(),
            last: Failure::Destinations,
            restarted: false,
            lost: None,
            span: Span::none(),
        }
    }

    /// The body's length, when known up front.
    fn size(&self) -> Option<u64> {
        match &self.body {
            Body::Replayable(p) => Some(p.len()),
            Body::OneShot(b) => b.as_ref().and_then(OneShotBody::declared_len),
        }
    }

    /// Closes the upload only once `gate` opens ([`Client::writer`]'s way in).
    pub(crate) fn commit_gate(mut self, gate: Option<CommitGate>) -> Self {
        self.commit_gate = gate;
        self
    }

    /// Whether to compute an MD5 while sending: asked for, implied by `checksum_verify`, or the
    /// client's policy.
    pub(crate) fn md5(&self, policy: ChecksumPolicy) -> bool {
        self.opts.md5.unwrap_or(policy.store()) || self.opts.checksum_verify
    }

    /// Whether the body can be sent again from its first byte.
    fn replayable(&self) -> bool {
        matches!(self.body, Body::Replayable(_))
    }

    /// The error of a store whose every attempt failed: what the last one ran into.
    fn failure(&mut self) -> Error {
        let name = self.name.clone();
        match std::mem::replace(&mut self.last, Failure::Destinations) {
            Failure::Rejected(source) => Error::UploadRejected {
                source: Box::new(source),
            },
            Failure::TooSlow => Error::UploadTooSlow { key: name },
            // `store` reports this as `OutcomeUnknown`, with the close that lost the key.
            Failure::Lost | Failure::Destinations => Error::NoUsablePath {
                key: name,
                attempts: std::mem::take(&mut self.tried),
            },
        }
    }
}

/// One `create_open` .. `create_close` sequence of a store.
struct StoreAttempt {
    /// Which one, from 1.
    number: u32,
    /// `create_open`'s answer: the new fid and the destinations to try, in order.
    open: CreateOpenOutput,
    /// When `create_open` answered: the tracker reaps the upload an hour later.
    opened: Instant,
}

impl StoreAttempt {
    /// What the store returns once `placed` is committed.
    fn result(&self, placed: Placed) -> PutResult {
        PutResult {
            fid: self.open.fid,
            devid: placed.devid,
            path: placed.path,
            size: placed.size,
            checksum: placed.checksum,
            attempts: self.number,
        }
    }
}

/// [`Client::put_opts`]: a store of a replayable body.
pub(crate) async fn put_payload(
    client: &Client,
    key: Key,
    body: Payload,
    opts: &PutOptions,
) -> Result<PutResult> {
    client
        .store(Store::new(key, Body::Replayable(body), opts))
        .await
}

/// [`Client::put_file`]: the file at `path`, read again for each attempt.
pub(crate) async fn put_file(
    client: &Client,
    key: Key,
    path: &std::path::Path,
    opts: &PutOptions,
) -> Result<PutResult> {
    let payload = Payload::file(path)
        .await
        .map_err(|source| Error::Io { source })?;
    put_payload(client, key, payload, opts).await
}

impl Client {
    /// The general store: replayable or one-shot body.
    ///
    /// Once a close is known to have left the key with no content (see [`Reconciled::Missing`]),
    /// every later failure is reported as [`Error::OutcomeUnknown`]: a definite failure would
    /// promise the old content, which is gone.
    pub(crate) async fn store(&self, mut st: Store<'_>) -> Result<PutResult> {
        st.span = tracing::info_span!(
            "put",
            key = %st.key,
            class = field::Empty,
            size = field::Empty,
            fid = field::Empty,
            attempt = field::Empty,
            devid = field::Empty,
            host = field::Empty,
        );
        if !st.span.is_disabled() {
            if let Some(class) = &st.opts.class {
                st.span.record("class", field::display(printable(class)));
            }
            if let Some(size) = st.size() {
                st.span.record("size", size);
            }
        }
        let span = st.span.clone();
        // Boxed once here: the store's state (tracker requests, the PUT, its failover) is several
        // KiB, and every future that awaits a `put` would otherwise hold it inline and copy it
        // each time that future moves.
        Box::pin(self.store_in_span(st)).instrument(span).await
    }

    /// [`store`](Self::store), in its span.
    async fn store_in_span(&self, mut st: Store<'_>) -> Result<PutResult> {
        self.config().key_policy.check(&st.key)?;
        match self.store_attempts(&mut st).await {
            Ok(result) => Ok(result),
            Err(e) if e.is_outcome_unknown() => Err(e),
            Err(e) => match st.lost.take() {
                Some((fid, source)) => {
                    tracing::warn!(key = %st.name, error = %e, "store failed after the key lost its content");
                    Err(Error::OutcomeUnknown {
                        key: st.name,
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
    async fn store_attempts(&self, st: &mut Store<'_>) -> Result<PutResult> {
        let cfg = self.config().clone();
        for number in 1..=cfg.upload_attempts {
            if matches!(st.body, Body::OneShot(None)) {
                break;
            }
            if number > 1 && matches!(st.last, Failure::Destinations) {
                // (The other reasons for a restart have their own events, where they are found.)
                tracing::warn!(
                    key = %st.key,
                    attempt = number,
                    "every destination failed; restarting the upload"
                );
            }
            let attempt = StoreAttempt {
                number,
                open: self
                    .create_open(&st.key, st.opts.class.as_deref(), &st.name)
                    .await?,
                opened: Instant::now(),
            };
            let fid = attempt.open.fid;
            st.span.record("attempt", number);
            st.span.record("fid", fid.0);
            let Some(placed) = self.put_destinations(st, &attempt.open).await? else {
                st.last = Failure::Destinations;
                continue;
            };
            if let Some(gate) = &mut st.commit_gate {
                gate.opened().await?;
            }
            if attempt.opened.elapsed() >= cfg.restart_after && st.replayable() {
                // The tracker reaps temp files an hour after create_open: do not race it.
                tracing::warn!(key = %st.name, fid = fid.0, "upload took too long; restarting");
                st.last = Failure::TooSlow;
                continue;
            }
            let close = self.close_request(st, fid, &placed);
            let result = attempt.result(placed);
            let err = match self.tracker_call(close, Ctx::key(&st.name)).await {
                Ok(()) => return Ok(result),
                Err(e) => e,
            };
            match close_verdict(err.code(), err.delivery()) {
                CloseVerdict::Restart => {
                    tracing::warn!(key = %st.name, fid = fid.0, error = %err, "close rejected; restarting");
                    st.last = Failure::Rejected(err.into_source());
                }
                CloseVerdict::Definite => {
                    return Err(err.into_error());
                }
                CloseVerdict::Reconcile => match self.reconcile(&st.key, fid).await {
                    Reconciled::Committed => {
                        tracing::info!(key = %st.name, fid = fid.0, error = %err, "close outcome reconciled: committed");
                        return Ok(result);
                    }
                    Reconciled::Missing if st.replayable() => {
                        // The close died after deleting the old content (2.73 deletes the old fid,
                        // then writes the new row, each on its own): the key holds nothing, and the
                        // caller asked for the new content, so it is stored again.
                        tracing::warn!(
                            key = %st.name,
                            fid = fid.0,
                            error = %err,
                            "close outcome unknown and the key is now missing; storing again"
                        );
                        st.lost = Some((fid, err.into_source()));
                        st.last = Failure::Lost;
                    }
                    Reconciled::Missing | Reconciled::Unknown => {
                        return Err(Error::OutcomeUnknown {
                            key: st.name.clone(),
                            fid,
                            source: Box::new(err.into_source()),
                        });
                    }
                },
            }
        }
        Err(st.failure())
    }

    /// The `create_close` that commits `placed` as upload `fid`.
    fn close_request(&self, st: &Store<'_>, fid: Fid, placed: &Placed) -> CreateClose {
        let mut close = CreateClose::new(&*self.domain, fid, placed.devid, placed.path.clone())
            .key(st.key.clone())
            .size(placed.size);
        if let Some(c) = &placed.checksum {
            close = close
                .checksum(c.clone())
                .checksum_verify(st.opts.checksum_verify);
        }
        if let Some(zone) = &self.config().zone {
            close = close.zone(zone.as_str());
        }
        close
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
