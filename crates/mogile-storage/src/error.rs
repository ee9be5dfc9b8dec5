//! Errors of the storage layer.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::body::OneShotBody;
use crate::connector::{BoxError, HostRefused, IdleTimeout, TooSlow};

/// Which wait ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the TCP connection (`connect_timeout`).
    Connect,
    /// Waiting for the response headers after the request was sent (`headers_timeout`).
    Headers,
    /// No progress on the connection, or no body frame, for `idle_timeout`.
    Idle,
    /// The transfer moved fewer bytes than the low-speed limit asks during a window of waiting on
    /// the node ([`LowSpeed`](crate::LowSpeed)).
    LowSpeed,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Headers => "response headers",
            Self::Idle => "idle",
            Self::LowSpeed => "low-speed",
        })
    }
}

/// An HTTP transfer to or from a storage node failed.
///
/// Every variant names the URL. Use the predicates ([`is_not_found`](Self::is_not_found),
/// [`try_another_replica`](Self::try_another_replica), ...) rather than matching on messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The URL is not an absolute `http://host[:port]/path` URL.
    #[error("invalid storage url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The requested byte range cannot be expressed (an empty range).
    #[error("invalid byte range for {url}: {reason}")]
    InvalidRange {
        /// The URL.
        url: String,
        /// What is wrong with the range.
        reason: &'static str,
    },
    /// The URL's host is not in the client's allow-list
    /// ([`allowed_hosts`](crate::StorageConfig::allowed_hosts)); no connection was made.
    /// Another replica or destination may be allowed.
    #[error("storage host {host:?} of {url} is not in the allow-list")]
    HostNotAllowed {
        /// The URL.
        url: String,
        /// Its host, as written in the URL.
        host: String,
    },
    /// The TCP connection could not be established.
    #[error("cannot connect to {url}")]
    Connect {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A timeout ran out.
    #[error("{phase} timeout on {url}")]
    Timeout {
        /// The URL.
        url: String,
        /// Which wait ran out.
        phase: TimeoutPhase,
    },
    /// The connection failed or the node broke the HTTP exchange (closed early, sent garbage, ...).
    #[error("http transfer with {url} failed")]
    Transport {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The node answered with a status that is not success (nor a redirect).
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body (bounded by `error_body_limit`), lossily decoded.
        body_snippet: String,
    },
    /// The node answered with a redirect, which is never followed.
    #[error("{url} redirected with {status} (not followed)")]
    Redirect {
        /// The URL.
        url: String,
        /// The 3xx status code.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The node answered an upload before the whole body was handed over (the source had not
    /// reached its end, or fewer bytes than declared were sent). Even a `2xx` is refused then:
    /// the node cannot have stored the whole body. The connection is not reused.
    #[error("{url} answered {status} after {sent} bytes, before the whole body was sent")]
    EarlyResponse {
        /// The URL.
        url: String,
        /// The status the node answered with.
        status: u16,
        /// Body bytes handed to the connection when the answer came.
        sent: u64,
        /// The body's declared length, when known.
        expected: Option<u64>,
    },
    /// The response body was shorter or longer than its `Content-Length` promised.
    #[error("body of {url} has {actual} bytes, expected {expected}")]
    LengthMismatch {
        /// The URL.
        url: String,
        /// The length promised by the response headers.
        expected: u64,
        /// The number of bytes received (when longer: at least this many).
        actual: u64,
    },
    /// A `206` whose `Content-Range` does not start at the requested offset (byte 0 for a request
    /// without a range), covers more than was asked, disagrees with `Content-Length`, or is
    /// missing or malformed; or a ranged download to a file got the whole file.
    #[error("{url} did not honour the range starting at {start}")]
    RangeNotHonoured {
        /// The URL.
        url: String,
        /// The requested start offset.
        start: u64,
        /// The `Content-Range` header received, if any.
        content_range: Option<String>,
    },
    /// The caller's request body (stream, reader or file) failed or produced a different number
    /// of bytes than it declared. Not the node's fault.
    #[error("request body for {url} failed")]
    Body {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A local file operation failed (download target, upload spool).
    #[error("local i/o for {url} failed")]
    Io {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl StorageError {
    /// The URL this error is about.
    pub fn url(&self) -> &str {
        match self {
            Self::InvalidUrl { url, .. }
            | Self::InvalidRange { url, .. }
            | Self::HostNotAllowed { url, .. }
            | Self::Connect { url, .. }
            | Self::Timeout { url, .. }
            | Self::Transport { url, .. }
            | Self::Status { url, .. }
            | Self::Redirect { url, .. }
            | Self::EarlyResponse { url, .. }
            | Self::LengthMismatch { url, .. }
            | Self::RangeNotHonoured { url, .. }
            | Self::Body { url, .. }
            | Self::Io { url, .. } => url,
        }
    }

    /// The HTTP status of a [`Status`](Self::Status) or [`Redirect`](Self::Redirect) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Redirect { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True if the node answered `404 Not Found`.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True if a timeout ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// True if the same operation against another replica or destination may succeed.
    ///
    /// False for failures that would repeat anywhere: the caller's body failed, a local file
    /// operation failed, the range cannot be expressed. True for the rest, including every
    /// timeout (the low-speed limit too: a crawling node is a reason to fail over, not to wait),
    /// a host outside the allow-list (the next URL may be allowed), and every status: a `404` or
    /// a `416` (this copy ends before the range starts) says what this node holds, and a replica
    /// elsewhere may hold more.
    pub fn try_another_replica(&self) -> bool {
        !matches!(
            self,
            Self::Body { .. } | Self::Io { .. } | Self::InvalidRange { .. }
        )
    }

    /// Maps a failure to connect: a refused host, or a timeout if the connect timeout ran out.
    pub(crate) fn from_connect(url: &str, err: BoxError) -> Self {
        let url = url.to_owned();
        if let Some(refused) = find::<HostRefused>(&*err) {
            let host = refused.host.clone();
            return Self::HostNotAllowed { url, host };
        }
        if find_io_kind(&*err, io::ErrorKind::TimedOut) {
            return Self::Timeout {
                url,
                phase: TimeoutPhase::Connect,
            };
        }
        Self::Connect { url, source: err }
    }

    /// Maps an error from hyper's exchange to a storage error for `url`.
    pub(crate) fn from_http(url: &str, err: BoxError) -> Self {
        let url = url.to_owned();
        if let Some(source) = find::<BodySourceError>(&*err) {
            let source = io::Error::new(source.0.kind(), source.0.to_string());
            return Self::Body { url, source };
        }
        if find::<IdleTimeout>(&*err).is_some() {
            return Self::Timeout {
                url,
                phase: TimeoutPhase::Idle,
            };
        }
        if find::<TooSlow>(&*err).is_some() {
            return Self::Timeout {
                url,
                phase: TimeoutPhase::LowSpeed,
            };
        }
        // Connecting is not hyper's any more (the pool connects, and maps its errors with
        // `from_connect`): what reaches here is the exchange's.
        Self::Transport { url, source: err }
    }
}

/// The error a request body yields when the caller's stream fails; recognised in hyper's error
/// chain and reported as [`StorageError::Body`].
#[derive(Debug)]
pub(crate) struct BodySourceError(pub(crate) io::Error);

impl fmt::Display for BodySourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request body stream failed")
    }
}

impl StdError for BodySourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// Walks `err`'s source chain, also looking inside `io::Error`s (whose `source()` skips the
/// wrapped error itself), for an error of type `T`.
fn find<'a, T: StdError + 'static>(mut err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    loop {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(inner) = err
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|e| e.downcast_ref::<T>())
        {
            return Some(inner);
        }
        err = err.source()?;
    }
}

fn find_io_kind(mut err: &(dyn StdError + 'static), kind: io::ErrorKind) -> bool {
    loop {
        if err
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == kind)
        {
            return true;
        }
        match err.source() {
            Some(next) => err = next,
            None => return false,
        }
    }
}

/// A failed [`put_stream`](crate::StorageClient::put_stream): the error, and the body back if (and
/// only if) no frame was ever taken from it, so it can go to the next destination.
#[derive(Debug)]
pub struct PutStreamError {
    /// What went wrong.
    pub error: StorageError,
    /// The body, untouched, or `None` if any of it was consumed.
    pub body: Option<OneShotBody>,
}

impl fmt::Display for PutStreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl StdError for PutStreamError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.error.source()
    }
}

impl From<PutStreamError> for StorageError {
    fn from(e: PutStreamError) -> Self {
        e.error
    }
}

/// The client configuration is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A timeout was set to zero.
    #[error("{name} must not be zero")]
    ZeroTimeout {
        /// The setting's name.
        name: &'static str,
    },
    /// A setting has a value that cannot work.
    #[error("invalid {name}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry of [`allowed_hosts`](crate::StorageConfig::allowed_hosts) is not a host
    /// name, an IP address or a CIDR network.
    #[error("invalid allowed host {entry:?}: {reason}")]
    InvalidAllowedHost {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_idle_timeout_inside_io_error() {
        let io = io::Error::new(io::ErrorKind::TimedOut, IdleTimeout);
        let err = StorageError::from_http("http://h/x", Box::new(io));
        assert!(matches!(
            err,
            StorageError::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ));
    }

    #[test]
    fn finds_the_low_speed_and_allow_list_markers() {
        let io = io::Error::new(io::ErrorKind::TimedOut, TooSlow);
        let err = StorageError::from_http("http://h/x", Box::new(io));
        assert!(matches!(
            err,
            StorageError::Timeout {
                phase: TimeoutPhase::LowSpeed,
                ..
            }
        ));
        assert!(err.is_timeout() && err.try_another_replica());
        assert_eq!(err.to_string(), "low-speed timeout on http://h/x");
        let refused = HostRefused {
            host: "127.0.0.2".into(),
        };
        let err = StorageError::from_connect("http://127.0.0.2/x", Box::new(refused));
        assert!(
            matches!(&err, StorageError::HostNotAllowed { host, .. } if host == "127.0.0.2"),
            "{err:?}"
        );
        assert!(err.try_another_replica());
        assert_eq!(err.url(), "http://127.0.0.2/x");
    }

    #[test]
    fn predicates() {
        let e = StorageError::Status {
            url: "http://h/x".into(),
            status: 404,
            body_snippet: String::new(),
        };
        assert!(e.is_not_found());
        assert!(e.try_another_replica());
        assert_eq!(e.url(), "http://h/x");
        assert_eq!(e.to_string(), "http://h/x answered 404");
        // A copy shorter than the range's start: a longer replica can serve it.
        let e = StorageError::Status {
            url: "http://h/x".into(),
            status: 416,
            body_snippet: String::new(),
        };
        assert!(e.try_another_replica());
        let e = StorageError::Body {
            url: "u".into(),
            source: io::Error::other("x"),
        };
        assert!(!e.try_another_replica());
        assert_eq!(e.status(), None);
    }
}
