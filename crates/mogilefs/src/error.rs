//! The one public error type, and the one function that gives lower-level errors their meaning.

use std::io;

use mogile_protocol::{Checksum, ErrorCode, Fid, KeyError, printable};
use mogile_storage::StorageError;
use mogile_tracker::TrackerError;

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms of the operation the caller asked for.
///
/// The tracker's error code and text, and the storage node's status, stay reachable through
/// [`source()`](std::error::Error::source) and [`Error::code`]. `Display` escapes control
/// characters in the names it shows (keys, domains, classes), so printing an error never writes
/// a peer's ESC, CR or LF raw.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key (or the file behind it) does not exist (`unknown_key`, `invalid_key`).
    #[error("not found: {}", printable(name))]
    NotFound {
        /// The key, as text (non-UTF-8 bytes escaped).
        name: String,
    },
    /// The name is taken: a rename target, domain, class, host or device
    /// (`key_exists`, `domain_exists`, `class_exists`, `host_exists`, `existing_devid`, `fid_in_use`).
    #[error("already exists: {}", printable(name))]
    AlreadyExists {
        /// What already exists, as text.
        name: String,
    },
    /// The domain is not registered (`unreg_domain`, `domain_not_found`).
    // `{:?}` escapes control characters.
    #[error("unknown domain {domain:?}")]
    UnknownDomain {
        /// The domain asked for.
        domain: String,
    },
    /// The class does not exist in the domain (`unreg_class`, `class_not_found`).
    // `{:?}` escapes control characters.
    #[error("unknown class {class:?}")]
    UnknownClass {
        /// The class asked for.
        class: String,
    },
    /// The tracker found no device to store on (`no_devices`), even after backing off.
    #[error("no writable devices")]
    NoWritableDevices {
        /// The tracker's answer.
        source: Box<TrackerError>,
    },
    /// Every path (or upload destination) was tried and none could be used.
    ///
    /// For a fetch with no attempts, the tracker knows the file but has no readable replica
    /// (`OK paths=0`): the file is not currently readable, which is not the same as not found.
    #[error("no usable path for {} ({} attempts)", printable(name), attempts.len())]
    NoUsablePath {
        /// The key, as text.
        name: String,
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
    #[error("outcome of storing {} is unknown (fid {fid})", printable(name))]
    OutcomeUnknown {
        /// The key, as text.
        name: String,
        /// The fid of the upload in doubt.
        fid: Fid,
        /// The close's failure.
        source: Box<TrackerError>,
    },
    /// The tracker rejected the upload at `create_close` on every attempt
    /// (`size_mismatch`, `size_verify_error`, `checksum_mismatch`, `invalid_destdev`,
    /// `bogus_args`); it deleted the uploaded data each time.
    #[error("upload rejected by the tracker")]
    UploadRejected {
        /// The last rejection.
        source: Box<TrackerError>,
    },
    /// The upload outlived the restart deadline (50 minutes by default; the tracker reaps temp
    /// files after one hour) on its last attempt, so it was not closed.
    #[error("upload of {} took too long to be closed safely", printable(name))]
    UploadTooSlow {
        /// The key, as text.
        name: String,
    },
    /// The fetched bytes do not hash to the checksum the tracker has.
    #[error(
        "checksum mismatch for {}: expected {expected}, got {actual}",
        printable(name)
    )]
    ChecksumMismatch {
        /// The key, as text.
        name: String,
        /// The tracker's checksum.
        expected: Checksum,
        /// The checksum of the bytes received.
        actual: Checksum,
    },
    /// Verification was asked for, but the tracker has no checksum for the file (its class has
    /// no `hashtype`, or the checksum is `MISSING`): neither verified nor corrupt.
    #[error("no checksum available for {}", printable(name))]
    ChecksumUnavailable {
        /// The key, as text.
        name: String,
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

    fn tracker_error(&self) -> Option<&TrackerError> {
        match self {
            Self::NoWritableDevices { source }
            | Self::OutcomeUnknown { source, .. }
            | Self::UploadRejected { source }
            | Self::Unsupported { source }
            | Self::Tracker { source } => Some(&**source),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        let kind = match &err {
            Error::NotFound { .. } => io::ErrorKind::NotFound,
            Error::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
            Error::ChecksumMismatch { .. } => io::ErrorKind::InvalidData,
            Error::Config { .. } | Error::KeyPolicy { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        Self::new(kind, err)
    }
}

/// What a tracker error code means to the facade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    NotFound,
    AlreadyExists,
    UnknownDomain,
    UnknownClass,
    NoWritableDevices,
    /// `create_close` refused the upload and deleted its data: start over with `create_open`.
    UploadRejected,
    /// `create_close` found no temp file: the close may have run already.
    NoTempFile,
    Unsupported,
    /// Anything else: surfaced as [`Error::Tracker`] with the code kept.
    Other,
}

impl Meaning {
    /// THE mapping from tracker error codes to meanings (`protocol.md` section 7).
    pub(crate) fn of(code: &ErrorCode) -> Self {
        match code.as_str() {
            "unknown_key" | "invalid_key" => Self::NotFound,
            "key_exists" | "domain_exists" | "class_exists" | "host_exists" | "existing_devid"
            | "fid_in_use" => Self::AlreadyExists,
            "unreg_domain" | "domain_not_found" => Self::UnknownDomain,
            "unreg_class" | "class_not_found" => Self::UnknownClass,
            "no_devices" => Self::NoWritableDevices,
            "size_mismatch" | "size_verify_error" | "checksum_mismatch" | "invalid_destdev"
            | "bogus_args" => Self::UploadRejected,
            "no_temp_file" => Self::NoTempFile,
            "unknown_command" => Self::Unsupported,
            _ => Self::Other,
        }
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

/// The one place where lower-level errors become [`Error`]s.
pub(crate) fn from_tracker(err: TrackerError, ctx: Ctx<'_>) -> Error {
    let Some(code) = err.code() else {
        return Error::Tracker {
            source: Box::new(err),
        };
    };
    let name = |n: Option<&str>| n.unwrap_or_default().to_owned();
    match Meaning::of(code) {
        Meaning::NotFound => Error::NotFound {
            name: name(ctx.key),
        },
        Meaning::AlreadyExists => Error::AlreadyExists {
            name: name(ctx.target.or(ctx.class).or(ctx.key).or(ctx.domain)),
        },
        Meaning::UnknownDomain => Error::UnknownDomain {
            domain: name(ctx.domain),
        },
        Meaning::UnknownClass => Error::UnknownClass {
            class: name(ctx.class),
        },
        Meaning::NoWritableDevices => Error::NoWritableDevices {
            source: Box::new(err),
        },
        Meaning::UploadRejected => Error::UploadRejected {
            source: Box::new(err),
        },
        Meaning::Unsupported => Error::Unsupported {
            source: Box::new(err),
        },
        Meaning::NoTempFile | Meaning::Other => Error::Tracker {
            source: Box::new(err),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented meaning of every tracker code (`protocol.md` section 7, the crate docs).
    /// A code missing here fails the test, so a new `ErrorCode` must be given a meaning.
    fn documented(code: &str) -> Meaning {
        match code {
            "unknown_key" | "invalid_key" => Meaning::NotFound,
            "key_exists" | "domain_exists" | "class_exists" | "host_exists" | "existing_devid"
            | "fid_in_use" => Meaning::AlreadyExists,
            "unreg_domain" | "domain_not_found" => Meaning::UnknownDomain,
            "unreg_class" | "class_not_found" => Meaning::UnknownClass,
            "no_devices" => Meaning::NoWritableDevices,
            "size_mismatch" | "size_verify_error" | "checksum_mismatch" | "invalid_destdev"
            | "bogus_args" => Meaning::UploadRejected,
            "no_temp_file" => Meaning::NoTempFile,
            "unknown_command" => Meaning::Unsupported,
            // Kept as Error::Tracker with the code: argument bugs, admin refusals, server faults,
            // and `none_match` (an empty page, handled by the ListKeys command itself).
            "no_domain"
            | "domain_has_files"
            | "domain_has_classes"
            | "domain_not_empty"
            | "no_key"
            | "none_match"
            | "after_mismatch"
            | "no_class"
            | "class_has_files"
            | "nodel_default_class"
            | "invalid_mindevcount"
            | "invalid_replpolicy"
            | "invalid_hashtype"
            | "no_fid"
            | "no_devid"
            | "no_path"
            | "invalid_checksum_format"
            | "fid_exists"
            | "plugin_aborted"
            | "db"
            | "failure"
            | "dup"
            | "no_host"
            | "no_ip"
            | "no_port"
            | "host_not_found"
            | "unknown_host"
            | "unknown_hostid"
            | "host_not_empty"
            | "unknown_state"
            | "invalid_state"
            | "invalid_devid"
            | "bad_args"
            | "bad_params"
            | "no_device"
            | "host_mismatch"
            | "state_too_high"
            | "not_writable"
            | "invalid_format"
            | "fsck_running"
            | "rebal_running"
            | "rebal_not_started"
            | "no_rebal_state"
            | "no_rebal_policy"
            | "no_set_rebal"
            | "bad_rebal_pol"
            | "copy_err"
            | "unknown_fid" => Meaning::Other,
            other => panic!("tracker code {other:?} has no documented meaning"),
        }
    }

    #[test]
    fn every_error_code_maps_as_documented() {
        for code in ErrorCode::KNOWN {
            assert_eq!(Meaning::of(code), documented(code.as_str()), "{code}");
        }
        assert_eq!(Meaning::of(&ErrorCode::from("brand_new")), Meaning::Other);
    }

    fn server(code: &str) -> TrackerError {
        TrackerError::Server {
            tracker: "127.0.0.1:7001".into(),
            code: ErrorCode::from(code),
            message: code.to_owned(),
        }
    }

    #[test]
    fn tracker_errors_become_semantic_errors_with_names() {
        let ctx = Ctx {
            key: Some("a"),
            target: Some("b"),
            domain: Some("d"),
            class: Some("c"),
        };
        assert!(
            matches!(from_tracker(server("unknown_key"), ctx), Error::NotFound { name } if name == "a")
        );
        assert!(matches!(
            from_tracker(server("invalid_key"), ctx),
            Error::NotFound { .. }
        ));
        assert!(
            matches!(from_tracker(server("key_exists"), ctx), Error::AlreadyExists { name } if name == "b")
        );
        assert!(
            matches!(from_tracker(server("unreg_domain"), ctx), Error::UnknownDomain { domain } if domain == "d")
        );
        assert!(
            matches!(from_tracker(server("unreg_class"), ctx), Error::UnknownClass { class } if class == "c")
        );
        let e = from_tracker(server("no_devices"), ctx);
        assert!(matches!(e, Error::NoWritableDevices { .. }));
        assert_eq!(e.code().map(ErrorCode::as_str), Some("no_devices"));
        let e = from_tracker(server("db"), ctx);
        assert!(matches!(e, Error::Tracker { .. }));
        assert_eq!(e.code().map(ErrorCode::as_str), Some("db"));
        assert!(matches!(
            from_tracker(server("unknown_command"), ctx),
            Error::Unsupported { .. }
        ));
        assert!(matches!(
            from_tracker(TrackerError::Closed, ctx),
            Error::Tracker { .. }
        ));
    }

    #[test]
    fn display_is_this_layer_only() {
        let e = from_tracker(server("db"), Ctx::default());
        assert_eq!(e.to_string(), "tracker request failed");
        assert!(std::error::Error::source(&e).is_some());
        let io: io::Error = Error::NotFound { name: "k".into() }.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
    }

    /// Keys, domains and classes come from callers and trackers: no control character of theirs
    /// is written raw by `Display`.
    #[test]
    fn display_escapes_control_characters_in_names() {
        let name = || "a\u{1b}[31mred\r\nline\u{9b}".to_owned();
        let errors = [
            Error::NotFound { name: name() },
            Error::AlreadyExists { name: name() },
            Error::UnknownDomain { domain: name() },
            Error::UnknownClass { class: name() },
            Error::NoUsablePath {
                name: name(),
                attempts: Vec::new(),
            },
            Error::UploadTooSlow { name: name() },
            Error::ChecksumUnavailable { name: name() },
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
                name: key.to_string()
            }
            .to_string(),
            "not found: k%1B%0A"
        );
    }
}
