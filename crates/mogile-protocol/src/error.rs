//! Error types of the codec.

use crate::printable;
use crate::response::ErrLine;

/// A line or argument list that does not decode.
///
/// After any error from a stream decoder the byte stream is out of step: the only safe reaction is
/// to drop the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line grew past the configured maximum length without a newline.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The configured maximum, terminator included.
        limit: usize,
    },
    /// A multi-line `!` reply grew past its configured maximum size.
    #[error("admin reply longer than {limit} bytes")]
    ReplyTooLong {
        /// The configured maximum.
        limit: usize,
    },
    /// A response line that starts with neither `OK` nor `ERR`.
    // `{:?}` escapes control characters.
    #[error("response line is neither OK nor ERR (starts with {start:?})")]
    UnknownStatus {
        /// The first bytes of the line (at most 32), lossily decoded.
        start: String,
    },
    /// An `ERR` line without an error code.
    #[error("ERR line without an error code")]
    MissingErrorCode,
    /// A required field is absent from the reply.
    #[error("missing field `{}`", printable(.0))]
    MissingField(String),
    /// A field is present but its value does not parse.
    // `{:?}` escapes control characters; the field name may be the tracker's too.
    #[error("field `{}` has an invalid value {value:?}", printable(field))]
    BadField {
        /// The field name.
        field: String,
        /// The offending value, lossily decoded and cut to 64 bytes.
        value: String,
    },
}

impl DecodeError {
    /// Builds a [`DecodeError::BadField`], keeping at most 64 bytes of the value.
    pub(crate) fn bad_field(field: &str, value: &[u8]) -> Self {
        let cut = &value[..value.len().min(64)];
        Self::BadField {
            field: field.to_owned(),
            value: String::from_utf8_lossy(cut).into_owned(),
        }
    }

    /// Builds a [`DecodeError::MissingField`].
    pub(crate) fn missing(field: &str) -> Self {
        Self::MissingField(field.to_owned())
    }
}

/// A request that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The command name is empty or holds something other than `[a-z0-9_]`.
    ///
    /// This also refuses `!` admin commands: they answer with several lines and would desynchronise
    /// a connection that expects one line per request.
    #[error("invalid command name {0:?} (only [a-z0-9_]+ is allowed)")]
    InvalidCommand(String),
}

/// A typed command that did not produce its output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The tracker answered with `ERR`.
    #[error(transparent)]
    Tracker(ErrLine),
    /// The tracker answered `OK` but the arguments do not fit the command.
    #[error("malformed reply")]
    Decode(#[source] DecodeError),
}

impl ReplyError {
    /// The tracker error, if the tracker answered with `ERR`.
    pub fn err_line(&self) -> Option<&ErrLine> {
        match self {
            Self::Tracker(err) => Some(err),
            Self::Decode(_) => None,
        }
    }
}

impl From<DecodeError> for ReplyError {
    fn from(err: DecodeError) -> Self {
        Self::Decode(err)
    }
}
