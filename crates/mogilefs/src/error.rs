//! The one public error type, and the one function that gives lower-level errors their meaning.

use std::fmt;
use std::io;

use mogile_protocol::{
    Checksum, Command, ErrorCode, ErrorMeaning, Fid, KeyError, UsageError, printable,
};
use mogile_storage::StorageError;
use mogile_tracker::{Delivery, TrackerError};

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms of the operation the caller asked for.
///
/// Every error that came from the tracker keeps the tracker client's error as its
/// [`source()`](std::error::Error::source), so the tracker's code and text (and
/// [`Error::code`]), and the storage node's status, stay reachable. `Display` escapes control
/// characters in the names it shows (keys, domains, classes), so printing an error never writes
/// a peer's ESC, CR or LF raw. [`Error::is_retryable`] says whether the same call may be made
/// again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key (or the file behind it) does not exist (`unknown_key`, `invalid_key`; for a
    /// rename, the source key).
    #[error("not found: {}", printable(key))]
    NotFound {
        /// The key, as text (non-UTF-8 bytes escaped).
        key: String,
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// The name is taken: a rename target, domain, class, host or device
    /// (`key_exists`, `domain_exists`, `class_exists`, `host_exists`, `existing_devid`, `fid_in_use`).
    #[error("already exists: {}", printable(name))]
    AlreadyExists {
        /// What already exists, as text.
        name: String,
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// The domain is not registered (`unreg_domain`, `domain_not_found`).
    // `{:?}` escapes control characters.
    #[error("unknown domain {domain:?}")]
    UnknownDomain {
        /// The domain asked for.
        domain: String,
        /// The tracker's answer; `None` when the tracker answered but did not list the domain
        /// ([`Admin::classes`](crate::Admin::classes)).
        source: Option<Box<TrackerError>>,
    },
    /// The class does not exist in the domain (`unreg_class`, `class_not_found`).
    // `{:?}` escapes control characters.
    #[error("unknown class {class:?}")]
    UnknownClass {
        /// The class asked for.
        class: String,
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// The tracker found no device to store on (`no_devices` from `create_open`), even after
    /// backing off.
    #[error("no writable devices")]
    NoWritableDevices {
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// Every path (or upload destination) was tried and none could be used.
    ///
    /// For a fetch with no attempts, the tracker knows the file but has no readable replica
    /// (`OK paths=0`): the file is not currently readable, which is not the same as not found.
    #[error("no usable path for {} ({} attempts)", printable(key), attempts.len())]
    NoUsablePath {
        /// The key, as text.
        key: String,
        /// Every attempt, in order.
        attempts: Vec<Attempt>,
    },
    /// A store may or may not have committed: the reply to `create_close` was lost, or the
    /// tracker answered a code that does not say how far the close got (`no_temp_file`,
    /// `failure`, `plugin_aborted`, ...; see the crate docs' close table), and `file_info` could
    /// not show that the key now points at this upload's fid.
    ///
    /// The key now holds the old content, the new content, **or nothing**: a 2.73 tracker that
    /// dies inside `create_close` after deleting the old fid leaves the key missing. When the body
    /// could be sent again, the store already did that; this error remains for a one-shot body
    /// that was not spooled, for a key that holds other content, and for a tracker that could not
    /// be asked. Before retrying, check the key (`file_info`): it shows this error's `fid` if
    /// the store did commit.
    #[error("outcome of storing {} is unknown (fid {fid})", printable(key))]
    OutcomeUnknown {
        /// The key, as text.
        key: String,
        /// The fid of the upload in doubt.
        fid: Fid,
        /// The close's failure.
        source: Box<TrackerError>,
    },
    /// The tracker rejected the upload at `create_close`: it checked the upload and deleted it
    /// (`size_mismatch`, `size_verify_error`, `checksum_mismatch`, `invalid_destdev`) on every
    /// attempt, or refused a path that does not match the fid and device (`bogus_args`) before
    /// changing anything. Either way the key keeps its previous content.
    #[error("upload rejected by the tracker")]
    UploadRejected {
        /// The last rejection.
        source: Box<TrackerError>,
    },
    /// The upload outlived the restart deadline (50 minutes by default; the tracker reaps temp
    /// files after one hour) on its last attempt, so it was not closed.
    #[error("upload of {} took too long to be closed safely", printable(key))]
    UploadTooSlow {
        /// The key, as text.
        key: String,
    },
    /// A replica answered a striped read with a `Content-Range` whose total is not the file's
    /// length (per the tracker): it holds another file, or another version of it. The fetch ends
    /// rather than mix its bytes with the other replicas'.
    #[error(
        "replica {} of {} has length {actual}, the tracker says {expected}",
        printable(url),
        printable(key)
    )]
    ReplicaLength {
        /// The key, as text.
        key: String,
        /// The replica's URL.
        url: String,
        /// The tracker's length.
        expected: u64,
        /// The total in the replica's `Content-Range`.
        actual: u64,
    },
    /// The fetched bytes do not hash to the checksum the tracker has.
    #[error(
        "checksum mismatch for {}: expected {expected}, got {actual}",
        printable(key)
    )]
    ChecksumMismatch {
        /// The key, as text.
        key: String,
        /// The tracker's checksum.
        expected: Checksum,
        /// The checksum of the bytes received.
        actual: Checksum,
    },
    /// Verification was asked for, but the tracker has no checksum for the file (its class has
    /// no `hashtype`, or the checksum is `MISSING`): neither verified nor corrupt.
    #[error("no checksum available for {}", printable(key))]
    ChecksumUnavailable {
        /// The key, as text.
        key: String,
    },
    /// The tracker does not support the command (`unknown_command`; e.g. `file_info` before 2.45).
    #[error("not supported by this tracker")]
    Unsupported {
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// Any other tracker failure: an error code with no specific meaning here, or a transport
    /// failure. [`Error::code`] gives the code.
    #[error("tracker request failed")]
    Tracker {
        /// The tracker client's error.
        source: Box<TrackerError>,
    },
    /// A storage node failed in a way no failover could absorb (e.g. a one-shot body failed after
    /// its first byte was sent).
    #[error("storage request failed")]
    Storage {
        /// The storage client's error.
        source: Box<StorageError>,
    },
    /// A storage node answered [`Admin::device_usage`](crate::Admin::device_usage) with something
    /// that is not a usage file.
    #[error("unusable usage file at {}", printable(url))]
    DeviceUsage {
        /// The URL asked.
        url: String,
        /// What is wrong with the answer.
        source: UsageError,
    },
    /// The client configuration is invalid.
    #[error("invalid configuration: {}", printable(message))]
    Config {
        /// What is wrong.
        message: String,
        /// The lower-level builder's error, when it refused the settings.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The key breaks the client's [`KeyPolicy`](mogile_protocol::KeyPolicy).
    #[error("key refused by the key policy")]
    KeyPolicy {
        /// Why.
        source: KeyError,
    },
    /// Reading the caller's body, or writing a local file, failed.
    #[error("local i/o failed")]
    Io {
        /// The I/O error.
        source: io::Error,
    },
    /// The client was closed with [`Client::close`](crate::Client::close).
    #[error("client is closed")]
    Closed,
}

/// One failed try of a path or upload destination.
#[derive(Debug)]
#[non_exhaustive]
pub struct Attempt {
    /// The URL tried.
    pub url: String,
    /// What went wrong.
    pub error: AttemptError,
}

/// Why one path or destination could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The storage request failed.
    #[error("storage request failed")]
    Storage(#[source] StorageError),
    /// The node's answer to a range request cannot be checked against the file: a `206` whose
    /// `Content-Range` gives no total, or an answer without `Content-Length`. (A `206` that starts
    /// at the wrong byte is [`StorageError::RangeNotHonoured`], a `416` a
    /// [`StorageError::Status`].)
    #[error("unusable answer to a range request: {}", printable(.0))]
    Range(String),
    /// The replica's length differs from the tracker's length for the file.
    #[error("replica length {actual} differs from the file's {expected}")]
    Length {
        /// The tracker's length.
        expected: u64,
        /// What the replica delivered (a lower bound when it was too long).
        actual: u64,
    },
}

impl Error {
    /// Whether the key (or file) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether the name is already taken.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Self::AlreadyExists { .. })
    }

    /// Whether a store may have committed even though it reported failure.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The tracker's error code behind this error, if it came from an `ERR` line.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.tracker_error().and_then(TrackerError::code)
    }

    /// Whether making the same call again, with a fresh body where it takes one, is safe and may
    /// succeed.
    ///
    /// *Safe*: the failed call changed nothing that a repeat could make worse. *May succeed*:
    /// the failure was not an answer that a repeat would get again. Retry with a bound and a
    /// backoff; this says nothing about how long to wait.
    ///
    /// | error | retryable | why |
    /// | --- | --- | --- |
    /// | [`NotFound`](Self::NotFound), [`AlreadyExists`](Self::AlreadyExists), [`UnknownDomain`](Self::UnknownDomain), [`UnknownClass`](Self::UnknownClass), [`Unsupported`](Self::Unsupported) | no | the tracker's answer; it would answer the same |
    /// | [`NoWritableDevices`](Self::NoWritableDevices) | yes | `create_open` created nothing; devices may become writable |
    /// | [`NoUsablePath`](Self::NoUsablePath), [`UploadRejected`](Self::UploadRejected), [`UploadTooSlow`](Self::UploadTooSlow) | yes | nothing was committed (a store never closes a failed attempt); other nodes, or the same ones later, may do |
    /// | [`OutcomeUnknown`](Self::OutcomeUnknown) | no | the store may have committed; check the key first |
    /// | [`Tracker`](Self::Tracker) | only if the request never reached a tracker, or its reply was lost on a command that is safe to repeat | a request whose outcome is unknown (a `rename`, `delete`, `update_class` or admin change whose reply was lost) is **not** retryable: it may have been applied; any other `ERR` is an answer |
    /// | [`Storage`](Self::Storage) | if another node may do better ([`StorageError::try_another_replica`]) | a node failed (also after a one-shot body was consumed: retry with a fresh body); not when the caller's own body or a local file failed |
    /// | [`ChecksumMismatch`](Self::ChecksumMismatch), [`ChecksumUnavailable`](Self::ChecksumUnavailable) | no | the replicas hold other bytes, or the tracker has no checksum: reading again reads the same |
    /// | [`DeviceUsage`](Self::DeviceUsage) | no | the node's answer; it would answer the same |
    /// | [`ChecksumMismatch`](Self::ChecksumMismatch), [`ChecksumUnavailable`](Self::ChecksumUnavailable), [`ReplicaLength`](Self::ReplicaLength) | no | the replicas hold other bytes, or the tracker has no checksum: reading again reads the same |
    /// | [`Config`](Self::Config), [`KeyPolicy`](Self::KeyPolicy), [`Io`](Self::Io), [`Closed`](Self::Closed) | no | local problems a repeat does not fix |
    ///
    /// Per operation:
    /// - **put** ([`put_opts`](crate::Client::put_opts), [`put_file`](crate::Client::put_file),
    ///   [`put_stream`](crate::Client::put_stream), [`Writer`](crate::Writer), ...): retryable
    ///   errors left the key's previous content in place; store again with a fresh body (a
    ///   one-shot body cannot be read twice). [`OutcomeUnknown`](Self::OutcomeUnknown) is not:
    ///   ask [`file_info`](crate::Client::file_info) first.
    /// - **get**, **paths**, **file_info**, **list_keys**, **keys**: reads; every transport
    ///   failure is retryable, a tracker `ERR` is not.
    /// - **delete**, **rename**, **update_class**, admin changes: retryable only when the request
    ///   never reached a tracker; with a lost reply the change may have been applied (a repeated
    ///   delete would answer "not found", a repeated rename "not found" or "already exists").
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NoWritableDevices { .. }
            | Self::NoUsablePath { .. }
            | Self::UploadRejected { .. }
            | Self::UploadTooSlow { .. } => true,
            Self::Tracker { source } => match source.delivery() {
                Delivery::NotSent => true,
                // A lost reply reaches the caller as itself only for a command safe to repeat,
                // after the tracker client's own retries; for any other command it is
                // `OutcomeUnknown`: it may have been applied.
                Delivery::ReplyLost => !source.outcome_unknown(),
                Delivery::NotAttempted | Delivery::Answered => false,
                // A `Delivery` added later: not known to be safe.
                _ => false,
            },
            Self::Storage { source } => source.try_another_replica(),
            Self::NotFound { .. }
            | Self::AlreadyExists { .. }
            | Self::UnknownDomain { .. }
            | Self::UnknownClass { .. }
            | Self::Unsupported { .. }
            | Self::OutcomeUnknown { .. }
            | Self::ChecksumMismatch { .. }
            | Self::ChecksumUnavailable { .. }
            | Self::DeviceUsage { .. }
            | Self::ReplicaLength { .. }
            | Self::Config { .. }
            | Self::KeyPolicy { .. }
            | Self::Io { .. }
            | Self::Closed => false,
        }
    }

    fn tracker_error(&self) -> Option<&TrackerError> {
        match self {
            Self::NotFound { source, .. }
            | Self::AlreadyExists { source, .. }
            | Self::UnknownClass { source, .. }
            | Self::NoWritableDevices { source }
            | Self::OutcomeUnknown { source, .. }
            | Self::UploadRejected { source }
            | Self::Unsupported { source }
            | Self::Tracker { source } => Some(&**source),
            Self::UnknownDomain { source, .. } => source.as_deref(),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        let kind = match &err {
            Error::NotFound { .. } => io::ErrorKind::NotFound,
            Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
            Error::ChecksumMismatch { .. } | Error::ReplicaLength { .. } => {
                io::ErrorKind::InvalidData
            }
            Error::Config { .. } | Error::KeyPolicy { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        Self::new(kind, err)
    }
}

/// The names an error refers to, so the mapping can say what was not found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ctx<'a> {
    pub(crate) key: Option<&'a str>,
    /// A rename's target (what `key_exists` is about).
    pub(crate) target: Option<&'a str>,
    pub(crate) domain: Option<&'a str>,
    pub(crate) class: Option<&'a str>,
}

/// A tracker call that failed, before it is given its meaning: what `Client::tracker_call`
/// returns, so that a caller who needs more than the semantic error (the tracker's
/// [`code`](Self::code), how far the request got: [`delivery`](Self::delivery)) reads it here
/// before [`into_error`](Self::into_error).
#[derive(Debug)]
pub(crate) struct TrackerFailure<'a> {
    source: TrackerError,
    /// What the command says the tracker's code means ([`ErrorMeaning::Other`] without one).
    meaning: ErrorMeaning,
    ctx: Ctx<'a>,
    /// The facade refused the call itself: the client was closed (`source` is
    /// [`TrackerError::Closed`]).
    client_closed: bool,
}

impl<'a> TrackerFailure<'a> {
    /// The failure of command `C`: its meaning is `C`'s ([`Command::error_meaning`]).
    pub(crate) fn of<C: Command>(source: TrackerError, ctx: Ctx<'a>) -> Self {
        let meaning = source.code().map_or(ErrorMeaning::Other, C::error_meaning);
        Self {
            source,
            meaning,
            ctx,
            client_closed: false,
        }
    }

    /// A call refused because the client was closed ([`Client::close`](crate::Client::close)).
    pub(crate) fn client_closed(ctx: Ctx<'a>) -> Self {
        Self {
            source: TrackerError::Closed,
            meaning: ErrorMeaning::Other,
            ctx,
            client_closed: true,
        }
    }

    /// The tracker's error code, when it answered `ERR`.
    pub(crate) fn code(&self) -> Option<&ErrorCode> {
        self.source.code()
    }

    /// How far the request got ([`TrackerError::delivery`]).
    pub(crate) fn delivery(&self) -> Delivery {
        self.source.delivery()
    }

    /// Whether the reply did not fit the tracker client's line limit.
    pub(crate) fn is_reply_too_long(&self) -> bool {
        self.source.is_reply_too_long()
    }

    /// The tracker client's error, for a caller that wraps it in an error of its own.
    pub(crate) fn into_source(self) -> TrackerError {
        self.source
    }

    /// THE one place where a tracker failure becomes an [`Error`]: by what the command says the
    /// code means, naming what it is about from the context. Every variant keeps the tracker's
    /// error as its source.
    pub(crate) fn into_error(self) -> Error {
        if self.client_closed {
            return Error::Closed;
        }
        let ctx = self.ctx;
        let name = |n: Option<&str>| n.unwrap_or_default().to_owned();
        let source = Box::new(self.source);
        match self.meaning {
            ErrorMeaning::UnknownKey => Error::NotFound {
                key: name(ctx.key),
                source,
            },
            ErrorMeaning::AlreadyExists => Error::AlreadyExists {
                name: name(ctx.target.or(ctx.class).or(ctx.key).or(ctx.domain)),
                source,
            },
            ErrorMeaning::UnknownDomain => Error::UnknownDomain {
                domain: name(ctx.domain),
                source: Some(source),
            },
            ErrorMeaning::UnknownClass => Error::UnknownClass {
                class: name(ctx.class),
                source,
            },
            ErrorMeaning::NoWritableDevices => Error::NoWritableDevices { source },
            ErrorMeaning::UploadRejected => Error::UploadRejected { source },
            ErrorMeaning::Unsupported => Error::Unsupported { source },
            // `Other`, and any meaning added later: the code stays reachable.
            _ => Error::Tracker { source },
        }
    }
}

impl fmt::Display for TrackerFailure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

/// Storage failures that no failover absorbed.
pub(crate) fn from_storage(err: StorageError) -> Error {
    Error::Storage {
        source: Box::new(err),
    }
}

impl<'a> Ctx<'a> {
    /// A context naming just a key.
    pub(crate) fn key(key: &'a str) -> Self {
        Self {
            key: Some(key),
            ..Self::default()
        }
    }
}

impl From<KeyError> for Error {
    fn from(source: KeyError) -> Self {
        Self::KeyPolicy { source }
    }
}

/// An error and its `source()` chain joined with `: `, for a log field: formatted only when a
/// subscriber records it.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mogile_protocol::{
        CreateClass, CreateClose, CreateDevice, CreateDomain, CreateHost, CreateOpen, Delete,
        DeleteClass, DeleteDomain, DeleteHost, FileDebug, FileInfo, GetDevices, GetDomains,
        GetHosts, GetPaths, ListFids, ListKeys, Rename, ServerSetting, ServerSettings,
        SetServerSetting, SetState, SetWeight, UpdateClass, UpdateFileClass, UpdateHost,
    };

    use super::*;

    fn server(code: ErrorCode) -> TrackerError {
        TrackerError::Server {
            tracker: "127.0.0.1:7001".into(),
            code,
            message: "text".to_owned(),
        }
    }

    const CTX: Ctx<'static> = Ctx {
        key: Some("a"),
        target: Some("b"),
        domain: Some("d"),
        class: Some("c"),
    };

    fn map<C: Command>(code: &ErrorCode) -> Error {
        TrackerFailure::of::<C>(server(code.clone()), CTX).into_error()
    }

    /// Walks every code for every command the facade sends: each becomes the variant its
    /// command's meaning names, and keeps the tracker's error (so its code) as its source.
    fn walk<C: Command>() {
        let mut codes = ErrorCode::KNOWN.to_vec();
        codes.push(ErrorCode::from("brand_new"));
        for code in &codes {
            let e = map::<C>(code);
            let expected = match C::error_meaning(code) {
                ErrorMeaning::UnknownKey => {
                    matches!(&e, Error::NotFound { key, .. } if key == "a")
                }
                ErrorMeaning::AlreadyExists => {
                    matches!(&e, Error::AlreadyExists { name, .. } if name == "b")
                }
                ErrorMeaning::UnknownDomain => {
                    matches!(&e, Error::UnknownDomain { domain, .. } if domain == "d")
                }
                ErrorMeaning::UnknownClass => {
                    matches!(&e, Error::UnknownClass { class, .. } if class == "c")
                }
                ErrorMeaning::NoWritableDevices => matches!(e, Error::NoWritableDevices { .. }),
                ErrorMeaning::UploadRejected => matches!(e, Error::UploadRejected { .. }),
                ErrorMeaning::Unsupported => matches!(e, Error::Unsupported { .. }),
                _ => matches!(e, Error::Tracker { .. }),
            };
            assert!(expected, "{} {code}: {e:?}", C::NAME);
            assert_eq!(e.code(), Some(code), "{} {code}: {e:?}", C::NAME);
            let source = std::error::Error::source(&e).expect("the tracker's error is the source");
            assert_eq!(source.to_string(), server(code.clone()).to_string());
            // An answer is retryable only where nothing was kept and a new attempt may do better.
            let retryable = matches!(
                C::error_meaning(code),
                ErrorMeaning::NoWritableDevices | ErrorMeaning::UploadRejected
            );
            assert_eq!(e.is_retryable(), retryable, "{} {code}", C::NAME);
        }
    }

    #[test]
    fn every_error_code_of_every_command_maps_and_keeps_its_source() {
        walk::<GetPaths>();
        walk::<FileInfo>();
        walk::<FileDebug>();
        walk::<Delete>();
        walk::<Rename>();
        walk::<UpdateFileClass>();
        walk::<CreateOpen>();
        walk::<CreateClose>();
        walk::<ListKeys>();
        walk::<ListFids>();
        walk::<GetDomains>();
        walk::<CreateDomain>();
        walk::<DeleteDomain>();
        walk::<CreateClass>();
        walk::<UpdateClass>();
        walk::<DeleteClass>();
        walk::<GetHosts>();
        walk::<CreateHost>();
        walk::<UpdateHost>();
        walk::<DeleteHost>();
        walk::<GetDevices>();
        walk::<CreateDevice>();
        walk::<SetState>();
        walk::<SetWeight>();
        walk::<ServerSettings>();
        walk::<ServerSetting>();
        walk::<SetServerSetting>();
    }

    /// What the crate docs promise, per command where the command decides.
    #[test]
    fn the_meaning_of_a_code_depends_on_the_command() {
        use ErrorCode as E;
        // rename: the source is missing, or the target is taken.
        assert!(matches!(map::<Rename>(&E::UnknownKey), Error::NotFound { key, .. } if key == "a"));
        assert!(
            matches!(map::<Rename>(&E::KeyExists), Error::AlreadyExists { name, .. } if name == "b")
        );
        assert!(matches!(
            map::<UpdateFileClass>(&E::InvalidKey),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            map::<GetPaths>(&E::UnregDomain),
            Error::UnknownDomain { .. }
        ));
        assert!(matches!(
            map::<CreateOpen>(&E::UnregClass),
            Error::UnknownClass { .. }
        ));
        // `no_devices`: the cluster is full for `create_open`, retryable; the file has no
        // replica for `updateclass`, which waiting does not change.
        let full = map::<CreateOpen>(&E::NoDevices);
        assert!(matches!(full, Error::NoWritableDevices { .. }) && full.is_retryable());
        let no_replica = map::<UpdateFileClass>(&E::NoDevices);
        assert!(
            matches!(no_replica, Error::Tracker { .. }),
            "{no_replica:?}"
        );
        assert!(!no_replica.is_retryable());
        assert_eq!(no_replica.code(), Some(&E::NoDevices));
        assert!(matches!(
            map::<CreateClose>(&E::SizeMismatch),
            Error::UploadRejected { .. }
        ));
        assert!(matches!(
            map::<CreateClose>(&E::BogusArgs),
            Error::UploadRejected { .. }
        ));
        assert!(matches!(
            map::<CreateClose>(&E::NoTempFile),
            Error::Tracker { .. }
        ));
        assert!(matches!(
            map::<FileInfo>(&E::UnknownCommand),
            Error::Unsupported { .. }
        ));
        assert!(matches!(
            map::<CreateHost>(&E::HostExists),
            Error::AlreadyExists { .. }
        ));
        assert!(matches!(
            map::<DeleteHost>(&E::UnknownHost),
            Error::Tracker { .. }
        ));
    }

    #[test]
    fn transport_failures_and_a_closed_client_keep_their_source() {
        let e = TrackerFailure::of::<GetPaths>(TrackerError::Closed, CTX).into_error();
        assert!(matches!(e, Error::Tracker { .. }), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.code(), None);
        let failure = TrackerFailure::client_closed(CTX);
        assert_eq!(failure.delivery(), Delivery::NotAttempted);
        assert!(matches!(failure.into_error(), Error::Closed));
    }

    fn t() -> mogile_tracker::Endpoint {
        "127.0.0.1:7001".into()
    }

    fn tracker(source: TrackerError) -> Error {
        Error::Tracker {
            source: Box::new(source),
        }
    }

    fn lost(command: &str) -> TrackerError {
        TrackerError::OutcomeUnknown {
            command: command.into(),
            tracker: t(),
            source: Box::new(TrackerError::Timeout {
                tracker: t(),
                timeout: Duration::from_secs(1),
                request_sent: true,
            }),
        }
    }

    /// `is_retryable`: safe and may succeed.
    #[test]
    fn retryable_means_safe_and_may_succeed() {
        // A rename or delete whose reply was lost may have been applied.
        for command in ["rename", "delete"] {
            let e = TrackerFailure::of::<Rename>(lost(command), Ctx::key("a")).into_error();
            assert!(!e.is_retryable(), "{e:?}");
        }
        // So may a store whose close is in doubt.
        let doubt = Error::OutcomeUnknown {
            key: "k".into(),
            fid: Fid(1),
            source: Box::new(lost("create_close")),
        };
        assert!(!doubt.is_retryable());
        // Never sent: safe.
        let refused = TrackerError::Connect {
            tracker: t(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(tracker(refused).is_retryable());
        // A read whose replies were lost, after the client's own retries: safe to repeat.
        let read = TrackerError::RetriesExhausted {
            command: "get_paths".into(),
            attempts: 2,
            last: Box::new(TrackerError::ConnectionClosed {
                tracker: t(),
                request_sent: true,
            }),
        };
        assert!(tracker(read).is_retryable());
        // Answers, and requests the client refuses to send, fail the same way again.
        assert!(!map::<Delete>(&ErrorCode::UnknownKey).is_retryable());
        assert!(!map::<CreateOpen>(&ErrorCode::Db).is_retryable());
        assert!(!tracker(TrackerError::Closed).is_retryable());
        assert!(!tracker(TrackerError::RequestTooLong { len: 9, limit: 8 }).is_retryable());
        // `no_devices` from `create_open`: nothing was created, devices may come back.
        assert!(map::<CreateOpen>(&ErrorCode::NoDevices).is_retryable());
        // A node failed after a one-shot body was consumed: a fresh body may go elsewhere.
        let node = StorageError::Status {
            url: "http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid".into(),
            status: 500,
            body_snippet: String::new(),
        };
        assert!(from_storage(node).is_retryable());
        // The caller's own body failed: a repeat does not fix it.
        let body = StorageError::Body {
            url: "http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid".into(),
            source: io::Error::other("reader failed"),
        };
        assert!(!from_storage(body).is_retryable());
        assert!(!Error::Closed.is_retryable());
    }

    #[test]
    fn display_is_this_layer_only() {
        let e = map::<GetPaths>(&ErrorCode::Db);
        assert_eq!(e.to_string(), "tracker request failed");
        assert!(std::error::Error::source(&e).is_some());
        let io: io::Error = map::<GetPaths>(&ErrorCode::UnknownKey).into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
    }

    /// Keys, domains and classes come from callers and trackers: no control character of theirs
    /// is written raw by `Display`.
    #[test]
    fn display_escapes_control_characters_in_names() {
        let name = || "a\u{1b}[31mred\r\nline\u{9b}".to_owned();
        let source = || Box::new(server(ErrorCode::UnknownKey));
        let errors = [
            Error::NotFound {
                key: name(),
                source: source(),
            },
            Error::AlreadyExists {
                name: name(),
                source: source(),
            },
            Error::UnknownDomain {
                domain: name(),
                source: None,
            },
            Error::UnknownClass {
                class: name(),
                source: source(),
            },
            Error::NoUsablePath {
                key: name(),
                attempts: Vec::new(),
            },
            Error::UploadTooSlow { key: name() },
            Error::ChecksumUnavailable { key: name() },
            Error::Config {
                message: name(),
                source: None,
            },
        ];
        for e in &errors {
            let shown = e.to_string();
            assert!(!shown.contains(|c: char| c.is_control()), "{shown:?}");
            assert!(
                shown.contains("%1B[31mred%0D%0Aline")
                    || shown.contains("\\u{1b}[31mred\\r\\nline"),
                "{shown:?}"
            );
        }
        assert_eq!(
            errors[0].to_string(),
            "not found: a%1B[31mred%0D%0Aline%C2%9B"
        );
        let range = AttemptError::Range("\u{1b}[2J".into());
        assert!(!range.to_string().contains('\u{1b}'));
        // The facade names a key with the key's own `Display`: the wire escaping.
        let key = mogile_protocol::Key::from("k\u{1b}\n");
        assert_eq!(
            Error::NotFound {
                key: key.to_string(),
                source: source(),
            }
            .to_string(),
            "not found: k%1B%0A"
        );
    }
}
