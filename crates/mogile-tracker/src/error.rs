//! [`TrackerError`]: everything a tracker request can fail with, and [`BuildError`].

use std::io;
use std::time::Duration;

use mogile_pool::Endpoint;
use mogile_protocol::{DecodeError, ErrorCode, ReplyError, printable};

/// A failed tracker request.
///
/// Every variant that involves a tracker names it ([`tracker`](Self::tracker)). Callers should
/// use the predicates rather than match on variants:
///
/// - [`code`](Self::code) / [`is_not_found`](Self::is_not_found): the tracker answered `ERR`;
///   that is an answer, returned at once, never retried;
/// - [`outcome_unknown`](Self::outcome_unknown): a mutating command reached a tracker but its
///   reply was lost; it may or may not have been applied;
/// - [`is_retry_safe`](Self::is_retry_safe): repeating the request cannot apply it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The tracker answered `ERR <code> <text>`.
    ///
    /// `Display` escapes control characters in the code and the text (the tracker's words);
    /// [`message`](Self::message) gives the text as decoded.
    #[error("tracker {tracker} answered {code}: {}", printable(message))]
    Server {
        /// The tracker that answered.
        tracker: Endpoint,
        /// The error code.
        code: ErrorCode,
        /// The decoded error text.
        message: String,
    },
    /// A TCP connection to the tracker could not be opened.
    #[error("cannot connect to tracker {tracker}")]
    Connect {
        /// The tracker.
        tracker: Endpoint,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Opening a connection to the tracker took longer than the connect timeout.
    #[error("connecting to tracker {tracker} timed out")]
    ConnectTimeout {
        /// The tracker.
        tracker: Endpoint,
    },
    /// Every pooled connection to the tracker stayed busy for the whole pool wait timeout.
    #[error("no connection to tracker {tracker} became free in time")]
    PoolTimeout {
        /// The tracker.
        tracker: Endpoint,
    },
    /// Writing the request failed before it was complete; the tracker did not run it.
    #[error("cannot send the request to tracker {tracker}")]
    Send {
        /// The tracker.
        tracker: Endpoint,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading the reply failed (for example a connection reset).
    #[error("cannot read the reply from tracker {tracker}")]
    Receive {
        /// The tracker.
        tracker: Endpoint,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The tracker closed the connection before a complete reply line.
    #[error("tracker {tracker} closed the connection without a complete reply")]
    ConnectionClosed {
        /// The tracker.
        tracker: Endpoint,
    },
    /// No reply within the request timeout. The connection was dropped, so a late reply can
    /// never be read as the answer to another request.
    #[error("tracker {tracker} did not answer within {timeout:?}")]
    Timeout {
        /// The tracker.
        tracker: Endpoint,
        /// The request timeout that expired.
        timeout: Duration,
        /// Whether the complete request line had been written (so the tracker may run it).
        request_sent: bool,
    },
    /// The reply line is not a valid tracker reply (garbage, over-long line).
    #[error("invalid reply from tracker {tracker}")]
    Protocol {
        /// The tracker.
        tracker: Endpoint,
        /// What was wrong with the line.
        #[source]
        source: DecodeError,
    },
    /// The reply echoes a `callid` other than the one sent, or none where this connection's
    /// tracker echoes them: it answers another request.
    // `{:?}` escapes control characters.
    #[error("reply from tracker {tracker} carries callid {received:?}, expected {expected:?}")]
    Desync {
        /// The tracker.
        tracker: Endpoint,
        /// The callid sent.
        expected: String,
        /// The callid echoed (lossily decoded as UTF-8), if any.
        received: Option<String>,
    },
    /// The tracker answered `OK` but the reply lacks or garbles a field the command needs.
    #[error("cannot decode the {command} reply from tracker {tracker}")]
    Decode {
        /// The command.
        command: String,
        /// The tracker.
        tracker: Endpoint,
        /// What was wrong with the reply.
        #[source]
        source: ReplyError,
    },
    /// A command that is not safe to repeat reached a tracker, but its reply was lost. It may
    /// or may not have been applied; it was not retried.
    #[error("outcome of {command} on tracker {tracker} is unknown: the reply was lost")]
    OutcomeUnknown {
        /// The command.
        command: String,
        /// The tracker.
        tracker: Endpoint,
        /// Why the reply was lost.
        #[source]
        source: Box<Self>,
    },
    /// Every attempt allowed by the retry budget failed in a way that permitted a retry.
    #[error("{command} failed after {attempts} attempt(s)")]
    RetriesExhausted {
        /// The command.
        command: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<Self>,
    },
    /// The encoded request line is longer than the configured limit; nothing was sent.
    #[error("request line of {len} bytes exceeds the limit of {limit} bytes")]
    RequestTooLong {
        /// Length of the encoded line.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A raw request was refused before sending (for example it carries its own `callid`).
    #[error("invalid raw request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: &'static str,
    },
    /// The client was closed.
    #[error("the tracker client is closed")]
    Closed,
}

impl TrackerError {
    /// The tracker involved (for [`RetriesExhausted`](Self::RetriesExhausted), the last one).
    pub fn tracker(&self) -> Option<&Endpoint> {
        match self {
            Self::Server { tracker, .. }
            | Self::Connect { tracker, .. }
            | Self::ConnectTimeout { tracker }
            | Self::PoolTimeout { tracker }
            | Self::Send { tracker, .. }
            | Self::Receive { tracker, .. }
            | Self::ConnectionClosed { tracker }
            | Self::Timeout { tracker, .. }
            | Self::Protocol { tracker, .. }
            | Self::Desync { tracker, .. }
            | Self::Decode { tracker, .. }
            | Self::OutcomeUnknown { tracker, .. } => Some(tracker),
            Self::RetriesExhausted { last, .. } => last.tracker(),
            Self::RequestTooLong { .. } | Self::InvalidRequest { .. } | Self::Closed => None,
        }
    }

    /// The tracker's error code, when the tracker answered `ERR`.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The tracker's decoded error text, when the tracker answered `ERR`.
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Server { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether the tracker answered `ERR` (an answer, as opposed to a transport failure).
    pub fn is_server(&self) -> bool {
        matches!(self, Self::Server { .. })
    }

    /// Whether the tracker said the key (or fid) does not exist: `unknown_key`, or
    /// `invalid_key` from `updateclass` (see [`ErrorCode::is_not_found`]).
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(ErrorCode::is_not_found)
    }

    /// Whether a timeout (connect, pool wait or request) caused the failure.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::ConnectTimeout { .. } | Self::PoolTimeout { .. } => true,
            Self::RetriesExhausted { last, .. } => last.is_timeout(),
            Self::OutcomeUnknown { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// Whether a mutating request reached a tracker and its reply was lost: it may or may not
    /// have been applied. Check the state (for example with `file_info`) before repeating it.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// Whether repeating the request is safe: it either never reached a tracker in full, or the
    /// client retried it itself because the command is safe to repeat.
    ///
    /// A tracker `ERR` is an answer and reports `false`; see [`code`](Self::code) for the
    /// transient ones (`db`, `no_devices`).
    pub fn is_retry_safe(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::ConnectTimeout { .. }
            | Self::PoolTimeout { .. }
            | Self::Send { .. }
            | Self::RetriesExhausted { .. } => true,
            Self::Timeout { request_sent, .. } => !request_sent,
            _ => false,
        }
    }
}

/// Why a [`TrackerClient`](crate::TrackerClient) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No tracker address was given.
    #[error("no tracker address given")]
    NoTrackers,
    /// A tracker address is not `host`, `host:port`, `[v6]` or `[v6]:port`.
    #[error("invalid tracker address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same tracker was given twice.
    #[error("tracker {} given twice", printable(address))]
    DuplicateTracker {
        /// The normalised address.
        address: String,
    },
    /// An option has a value the client cannot work with.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The [`TrackerConfig`](crate::TrackerConfig) field.
        option: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// The connection pool refused the configuration.
    #[error("cannot build the connection pool")]
    Pool(#[source] mogile_pool::BuildError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No control character of the tracker's reaches a terminal through `Display`.
    #[test]
    fn display_escapes_the_trackers_text() {
        let e = TrackerError::Server {
            tracker: "127.0.0.1:7001".into(),
            code: ErrorCode::from("bad\u{1b}[2Jcode"),
            message: "red \u{1b}[31m\r\nforged line\u{9b}".into(),
        };
        let shown = e.to_string();
        assert_eq!(
            shown,
            "tracker 127.0.0.1:7001 answered bad%1B[2Jcode: red %1B[31m%0D%0Aforged line%C2%9B"
        );
        // The decoded text itself is kept as sent.
        assert_eq!(e.message(), Some("red \u{1b}[31m\r\nforged line\u{9b}"));
        let e = TrackerError::Desync {
            tracker: "127.0.0.1:7001".into(),
            expected: "1".into(),
            received: Some("\u{1b}]0;title\u{7}".into()),
        };
        assert!(!e.to_string().contains(|c: char| c.is_control()), "{e}");
    }
}
