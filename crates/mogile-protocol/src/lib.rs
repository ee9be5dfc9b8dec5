#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! A sans-IO codec for the MogileFS tracker line protocol, client and server side.
//!
//! No sockets, no runtime, no clocks: you feed bytes in and get typed values out, and the other
//! way round. The byte-level rules (escaping, argument quirks, `OK `/`ERR` lines) are those of
//! a real MogileFS 2.73 tracker, checked against captured traffic.
//!
//! ```
//! use bytes::BytesMut;
//! use mogile_protocol::{Command, GetPaths, ResponseDecoder};
//!
//! // Client side: encode a request ...
//! let cmd = GetPaths::new("media", "photos/cat 1.jpg").noverify(true);
//! let mut out = BytesMut::new();
//! cmd.request().encode(&mut out);
//! assert_eq!(&out[..], b"get_paths domain=media&key=photos/cat+1.jpg&noverify=1\r\n");
//!
//! // ... and decode the reply, which may arrive in pieces.
//! let mut decoder = ResponseDecoder::new();
//! let mut buf = BytesMut::from(&b"OK paths=1&path1=http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid"[..]);
//! assert!(decoder.decode(&mut buf)?.is_none()); // no newline yet: need more bytes
//! buf.extend_from_slice(b"\r\n");
//! let reply = decoder.decode(&mut buf)?.expect("a complete line");
//! let paths = GetPaths::parse_reply(reply)?;
//! assert_eq!(paths[0].as_str(), "http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//! - [`escape`] / [`unescape`]: the Perl escaping set, byte-identical to the tracker's.
//! - [`printable`]: peer text with its control characters escaped, for `Display` and logs.
//! - [`Args`]: ordered name/value pairs of bytes; [`Args::decode`] reads replies faithfully,
//!   [`Args::decode_server`] mirrors the tracker's request-parsing quirks.
//! - [`Key`] and [`KeyPolicy`]: keys are bytes; the 255-byte/no-NUL rule is a store-time policy.
//! - [`Fid`], [`DevId`], [`StoragePath`] (kept verbatim), [`Checksum`].
//! - [`Request`] (client encoder, server parser) and [`RequestDecoder`]; [`RequestLine`], a
//!   request encoded once and sent with a new `callid` per attempt.
//! - [`Response`], [`ErrLine`], [`ErrorCode`] and [`ResponseDecoder`].
//! - [`AdminReplyDecoder`]: the multi-line replies of `!` commands.
//! - [`Command`] and one struct per tracker command ([`CreateOpen`], [`GetPaths`], ...).
//! - [`ErrorMeaning`]: what an `ERR` code means for the command that got it, said by each
//!   command ([`Command::error_meaning`]); [`CreateClose::close_error`] for the upload's commit.
//!
//! # Behaviour worth knowing
//! - Decoders return `Ok(None)` and consume nothing until a line is complete, and fail with
//!   [`DecodeError::LineTooLong`] instead of buffering past their limit.
//! - `OK` pairs come in random order from a real tracker; nothing here depends on order.
//! - Text from the tracker is never trusted: every `Display` here (errors, [`Key`],
//!   [`StoragePath`], [`ErrorCode`]) escapes control characters with [`printable`].
//! - `get_paths` may succeed with no path; `list_keys` signals an empty page with
//!   `ERR none_match`, which [`ListKeys`] turns into an empty [`KeyPage`].

mod admin_reply;
mod args;
mod command;
mod error;
mod error_code;
mod escape;
mod key;
mod line;
mod printable;
mod request;
mod request_line;
mod response;
mod types;
mod usage;

pub use admin_reply::{AdminReply, AdminReplyDecoder};
pub use args::{ArgSink, Args};
pub use command::*;
pub use error::{DecodeError, ReplyError, RequestError};
pub use error_code::ErrorCode;
pub use escape::{escape, unescape};
pub use key::{Key, KeyError, KeyPolicy};
pub use printable::{Printable, printable};
pub use request::{Request, RequestDecoder, ServerLine};
pub use request_line::RequestLine;
pub use response::{DEFAULT_MAX_LINE_LEN, ErrLine, Response, ResponseDecoder};
pub use types::{Checksum, ChecksumState, DevId, Fid, HashType, ParseChecksumError, StoragePath};
pub use usage::{DeviceUsage, UsageError};
