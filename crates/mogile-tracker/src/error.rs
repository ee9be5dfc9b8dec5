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
/// - [`delivery`](Self::delivery): whether the request left, and whether it was answered; the
///   one answer to "may it be sent again", which the client's own failover asks too;
/// - [`code`](Self::code): the tracker answered `ERR`; that is an answer, returned at once,
///   never retried; what the code means depends on the command
///   ([`Command::error_meaning`](mogile_protocol::Command::error_meaning));
/// - [`outcome_unknown`](Self::outcome_unknown): a mutating command reached a tracker but its
///   reply was lost; it may or may not have been applied.
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
    /// The tracker closed the connection: before the request was written (a connection it had
    /// closed while idle: nothing reached it), or after, before a complete reply line.
    #[error(
        "tracker {tracker} closed the connection {}",
        if *request_sent { "without a complete reply" } else { "before the request was sent" }
    )]
    ConnectionClosed {
        /// The tracker.
        tracker: Endpoint,
        /// Whether the complete request line had been written (so the tracker may have run it).
        request_sent: bool,
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
            | Self::ConnectionClosed { tracker, .. }
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

    /// How far the request got: whether it left, and whether it was answered.
    ///
    /// This is the one place that says whether a request may be sent again. The client's own
    /// failover asks it after every attempt: [`NotSent`](Delivery::NotSent) moves on to another
    /// tracker, [`ReplyLost`](Delivery::ReplyLost) too for a command safe to repeat (for any
    /// other command the error becomes [`OutcomeUnknown`](Self::OutcomeUnknown), whose delivery
    /// is `ReplyLost`), and the others end the request. For
    /// [`RetriesExhausted`](Self::RetriesExhausted) it is the last attempt's: every attempt
    /// before it failed in a way that allowed another.
    pub fn delivery(&self) -> Delivery {
        match self {
            Self::Server { .. } | Self::Decode { .. } => Delivery::Answered,
            Self::Connect { .. }
            | Self::ConnectTimeout { .. }
            | Self::PoolTimeout { .. }
            | Self::Send { .. } => Delivery::NotSent,
            Self::Timeout { request_sent, .. } | Self::ConnectionClosed { request_sent, .. } => {
                if *request_sent {
                    Delivery::ReplyLost
                } else {
                    Delivery::NotSent
                }
            }
            Self::Receive { .. }
            | Self::Protocol { .. }
            | Self::Desync { .. }
            | Self::OutcomeUnknown { .. } => Delivery::ReplyLost,
            Self::RetriesExhausted { last, .. } => last.delivery(),
            Self::RequestTooLong { .. } | Self::InvalidRequest { .. } | Self::Closed => {
                Delivery::NotAttempted
            }
        }
    }

    /// Whether the tracker's reply line was longer than the client's reply line limit (on the
    /// last attempt). A request for less (a shorter page of keys) may fit.
    pub fn is_reply_too_long(&self) -> bool {
        match self {
            Self::Protocol { source, .. }
            | Self::Decode {
                source: ReplyError::Decode(source),
                ..
            } => matches!(source, DecodeError::LineTooLong { .. }),
            Self::RetriesExhausted { last, .. } => last.is_reply_too_long(),
            _ => false,
        }
    }
}

/// How far a failed tracker request got; see [`TrackerError::delivery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// The client did not try: it is closed, or the request is invalid or longer than the line
    /// limit. Nothing was sent, and sending the same request again fails the same way.
    NotAttempted,
    /// No tracker received the whole request line (connect failure, pool wait timeout, write
    /// error, a connection found closed, a timeout before the line was written), so none ran
    /// it: sending it again is safe, and may succeed.
    NotSent,
    /// A tracker may have received and run the request, but no reply was read (reset,
    /// end-of-file, timeout, garbage, a reply to another request). Sending it again is safe only
    /// for a command that is safe to repeat
    /// ([`Command::IDEMPOTENT`](mogile_protocol::Command::IDEMPOTENT)).
    ReplyLost,
    /// A tracker answered: `ERR` (see [`TrackerError::code`]), or an `OK` the command could not
    /// decode (the command ran). The answer, not the transport, says what happened.
    Answered,
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

    /// Every variant says how far its request got; the failover and the facade act on this
    /// alone.
    #[test]
    fn every_error_says_how_far_its_request_got() {
        let t = || Endpoint::from("127.0.0.1:7001");
        let io = || io::Error::from(io::ErrorKind::ConnectionReset);
        let closed = |request_sent| TrackerError::ConnectionClosed {
            tracker: t(),
            request_sent,
        };
        let timeout = |request_sent| TrackerError::Timeout {
            tracker: t(),
            timeout: Duration::from_secs(1),
            request_sent,
        };
        let server = TrackerError::Server {
            tracker: t(),
            code: ErrorCode::UnknownKey,
            message: String::new(),
        };
        let cases = [
            (server, Delivery::Answered),
            (
                TrackerError::Decode {
                    command: "get_paths".into(),
                    tracker: t(),
                    source: ReplyError::Decode(DecodeError::MissingField("paths".into())),
                },
                Delivery::Answered,
            ),
            (
                TrackerError::Connect {
                    tracker: t(),
                    source: io(),
                },
                Delivery::NotSent,
            ),
            (
                TrackerError::ConnectTimeout { tracker: t() },
                Delivery::NotSent,
            ),
            (
                TrackerError::PoolTimeout { tracker: t() },
                Delivery::NotSent,
            ),
            (
                TrackerError::Send {
                    tracker: t(),
                    source: io(),
                },
                Delivery::NotSent,
            ),
            (closed(false), Delivery::NotSent),
            (timeout(false), Delivery::NotSent),
            (closed(true), Delivery::ReplyLost),
            (timeout(true), Delivery::ReplyLost),
            (
                TrackerError::Receive {
                    tracker: t(),
                    source: io(),
                },
                Delivery::ReplyLost,
            ),
            (
                TrackerError::Protocol {
                    tracker: t(),
                    source: DecodeError::LineTooLong { limit: 8 },
                },
                Delivery::ReplyLost,
            ),
            (
                TrackerError::Desync {
                    tracker: t(),
                    expected: "1".into(),
                    received: None,
                },
                Delivery::ReplyLost,
            ),
            (
                TrackerError::OutcomeUnknown {
                    command: "delete".into(),
                    tracker: t(),
                    source: Box::new(closed(true)),
                },
                Delivery::ReplyLost,
            ),
            (
                TrackerError::RetriesExhausted {
                    command: "noop".into(),
                    attempts: 2,
                    last: Box::new(closed(false)),
                },
                Delivery::NotSent,
            ),
            (
                TrackerError::RetriesExhausted {
                    command: "get_paths".into(),
                    attempts: 2,
                    last: Box::new(timeout(true)),
                },
                Delivery::ReplyLost,
            ),
            (
                TrackerError::RequestTooLong { len: 9, limit: 8 },
                Delivery::NotAttempted,
            ),
            (
                TrackerError::InvalidRequest { reason: "callid" },
                Delivery::NotAttempted,
            ),
            (TrackerError::Closed, Delivery::NotAttempted),
        ];
        for (e, delivery) in &cases {
            assert_eq!(e.delivery(), *delivery, "{e:?}");
        }
        // The two closes read differently.
        assert_eq!(
            closed(false).to_string(),
            "tracker 127.0.0.1:7001 closed the connection before the request was sent"
        );
        assert_eq!(
            closed(true).to_string(),
            "tracker 127.0.0.1:7001 closed the connection without a complete reply"
        );
    }

    #[test]
    fn a_reply_too_long_is_recognised_through_the_retries() {
        let t = || Endpoint::from("127.0.0.1:7001");
        let long = || DecodeError::LineTooLong { limit: 8 };
        let protocol = TrackerError::Protocol {
            tracker: t(),
            source: long(),
        };
        assert!(protocol.is_reply_too_long());
        assert!(
            TrackerError::Decode {
                command: "list_keys".into(),
                tracker: t(),
                source: ReplyError::Decode(long()),
            }
            .is_reply_too_long()
        );
        assert!(
            TrackerError::RetriesExhausted {
                command: "list_keys".into(),
                attempts: 2,
                last: Box::new(protocol),
            }
            .is_reply_too_long()
        );
        assert!(
            !TrackerError::Protocol {
                tracker: t(),
                source: DecodeError::MissingErrorCode,
            }
            .is_reply_too_long()
        );
        assert!(!TrackerError::Closed.is_reply_too_long());
    }
}
