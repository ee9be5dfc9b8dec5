//! Request lines: the client-side builder and encoder, and the server-side parser.

use std::borrow::Cow;

use bytes::{Buf, BufMut, BytesMut};

use crate::args::{Args, LineArgs};
use crate::error::{DecodeError, RequestError};
use crate::line::{LineScanner, trim_terminator};
use crate::response::{DEFAULT_MAX_LINE_LEN, next_line};

/// A request: a command name and its arguments.
///
/// This is the low-level form every typed [`Command`](crate::Command) turns into, and the escape
/// hatch for commands this crate does not model (plugins).
///
/// ```
/// # use mogile_protocol::Request;
/// let req = Request::new("plugin_filepaths_list")?.arg("domain", "media").arg("arg1", "a&b");
/// let mut out = bytes::BytesMut::new();
/// req.encode(&mut out);
/// assert_eq!(&out[..], b"plugin_filepaths_list domain=media&arg1=a%26b\r\n");
/// # Ok::<(), mogile_protocol::RequestError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    // Typed commands borrow their static name: no allocation per request.
    command: Cow<'static, str>,
    args: Args,
}

impl Request {
    /// A request for `command`, which must match `[a-z0-9_]+`.
    ///
    /// # Errors
    /// [`RequestError::InvalidCommand`] for anything else, `!` admin commands included (they
    /// answer with several lines; use a dedicated connection and
    /// [`AdminReplyDecoder`](crate::AdminReplyDecoder)).
    pub fn new(command: impl Into<String>) -> Result<Self, RequestError> {
        let command = command.into();
        let valid = !command.is_empty()
            && command
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(RequestError::InvalidCommand(command));
        }
        Ok(Self {
            command: Cow::Owned(command),
            args: Args::new(),
        })
    }

    /// A request from a command name already known to be valid (the typed commands' `NAME`).
    pub(crate) fn from_parts(command: &'static str, args: Args) -> Self {
        debug_assert!(
            Self::new(command).is_ok(),
            "invalid built-in command name {command}"
        );
        Self {
            command: Cow::Borrowed(command),
            args,
        }
    }

    /// Adds an argument.
    #[must_use]
    pub fn arg(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.args.push(name, value);
        self
    }

    /// The command name.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The arguments, to add more. (A client's `callid` goes on the encoded line instead:
    /// [`RequestLine`](crate::RequestLine).)
    pub fn args_mut(&mut self) -> &mut Args {
        &mut self.args
    }

    /// Splits into the command name and the arguments.
    pub fn into_parts(self) -> (String, Args) {
        (self.command.into_owned(), self.args)
    }

    /// Appends the request line: `<command> <args>\r\n`.
    ///
    /// Like the Perl client (`"$cmd $argstr\r\n"`), the space is always there, so a request
    /// without arguments is `noop \r\n`; the tracker accepts both forms. Names and values are
    /// escaped, so no argument can add, change or split another argument or request.
    pub fn encode(&self, dst: &mut BytesMut) {
        encode_line(&self.command, dst, |line| self.args.push_all(line));
    }

    /// Parses one request line as the 2.73 tracker does (server side). The line terminator may
    /// be present or not.
    ///
    /// - an empty line is `None` (the tracker skips it without a reply);
    /// - leading whitespace is skipped; the command is the following run of `[A-Za-z0-9_]`,
    ///   lower-cased; whitespace after it is skipped and the rest is decoded with
    ///   [`Args::decode_server`];
    /// - a line with no such command (whitespace only, a `!` line, `-x`) gives a request with an
    ///   empty command, which no handler knows, so the server answers `unknown_command`. Use
    ///   [`RequestDecoder::decode_server_line`] to serve `!` commands.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for stricter parsing.
    pub fn decode_line(line: &[u8]) -> Result<Option<Self>, DecodeError> {
        let line = strip_newline(line);
        if line.is_empty() {
            return Ok(None);
        }
        let line = line.trim_ascii_start();
        let word = line
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let command = String::from_utf8_lossy(&line[..word]).to_ascii_lowercase();
        let args = if word == 0 {
            Args::new()
        } else {
            Args::decode_server(line[word..].trim_ascii_start())
        };
        Ok(Some(Self {
            command: Cow::Owned(command),
            args,
        }))
    }
}

/// Appends `<command> <args>\r\n`, the arguments written by `write_args` straight onto the
/// line: the one place a request line's shape is written ([`Request::encode`], and
/// [`RequestLine`](crate::RequestLine) from a request or a typed command). Returns whether any
/// argument was written.
pub(crate) fn encode_line(
    command: &str,
    dst: &mut BytesMut,
    write_args: impl FnOnce(&mut LineArgs<'_>),
) -> bool {
    dst.reserve(command.len() + 3);
    dst.put_slice(command.as_bytes());
    dst.put_u8(b' ');
    let mut args = LineArgs::new(dst);
    write_args(&mut args);
    let has_args = args.pairs() > 0;
    dst.put_slice(b"\r\n");
    has_args
}

/// Removes `\n` or `\r\n`, but not a lone `\r` (the tracker's `\r?\n` split).
fn strip_newline(line: &[u8]) -> &[u8] {
    match line.strip_suffix(b"\n") {
        Some(l) => l.strip_suffix(b"\r").unwrap_or(l),
        None => line,
    }
}

/// A line a tracker reads from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerLine {
    /// A query for a worker.
    Query(Request),
    /// A `!` admin command, answered by the tracker parent with several lines and a `.` line;
    /// the text after `!`, terminator removed (for example `version` or `want 3 replicate`).
    Admin(Vec<u8>),
}

/// A server-side request decoder: splits a byte stream into requests.
///
/// Lines end in `\r\n` or a bare `\n` (a bare `\r` is not a terminator); empty lines are
/// skipped.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    max_line_len: usize,
    scanner: LineScanner,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestDecoder {
    /// A decoder with the default limit of [`DEFAULT_MAX_LINE_LEN`] (the real tracker has no
    /// limit; a fake needs one).
    pub fn new() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            scanner: LineScanner::default(),
        }
    }

    /// Sets the longest accepted line, terminator included.
    #[must_use]
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.max_line_len = max_line_len;
        self
    }

    /// The next request, or `Ok(None)` when no complete non-empty line is buffered. A `!` line
    /// yields a request with an empty command (see [`Request::decode_line`]).
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`] as soon as `buf` holds `max_line_len` bytes without newline.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, DecodeError> {
        loop {
            let Some(len) = next_line(&mut self.scanner, buf, self.max_line_len)? else {
                return Ok(None);
            };
            let request = Request::decode_line(&buf[..len]);
            buf.advance(len);
            if let Some(request) = request? {
                return Ok(Some(request));
            }
        }
    }

    /// Like [`RequestDecoder::decode`], but tells `!` admin commands apart.
    ///
    /// # Errors
    /// As [`RequestDecoder::decode`].
    pub fn decode_server_line(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<ServerLine>, DecodeError> {
        loop {
            let Some(len) = next_line(&mut self.scanner, buf, self.max_line_len)? else {
                return Ok(None);
            };
            let line = buf.split_to(len);
            let content = trim_terminator(&line).trim_ascii_start();
            if let Some(admin) = content.strip_prefix(b"!") {
                return Ok(Some(ServerLine::Admin(admin.to_vec())));
            }
            if let Some(request) = Request::decode_line(&line)? {
                return Ok(Some(ServerLine::Query(request)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Request) -> Vec<u8> {
        let mut out = BytesMut::new();
        r.encode(&mut out);
        out.to_vec()
    }

    #[test]
    fn command_names_are_checked() {
        for bad in [
            "",
            "!version",
            "NOOP",
            "get-paths",
            "noop\r\nnoop",
            "a b",
            "é",
        ] {
            assert!(Request::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(enc(&Request::new("noop").unwrap()), b"noop \r\n");
        let r = Request::new("get_paths")
            .unwrap()
            .arg("domain", "d")
            .arg("key", "a b/c");
        assert_eq!(enc(&r), b"get_paths domain=d&key=a+b/c\r\n");
    }

    #[test]
    fn server_side_parse() {
        let r = Request::decode_line(b"   NoOp\tfoo=bar\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.command(), "noop");
        assert_eq!(r.args().get("foo"), Some(&b"bar"[..]));
        assert_eq!(Request::decode_line(b"\r\n").unwrap(), None);
        assert_eq!(Request::decode_line(b"").unwrap(), None);
        let ws = Request::decode_line(b"   \r\n").unwrap().unwrap();
        assert_eq!(ws.command(), "");
        let cr = Request::decode_line(b"noop\r\r\n").unwrap().unwrap();
        assert_eq!(cr.command(), "noop");
        assert!(cr.args().is_empty());
        let dash = Request::decode_line(b"get-paths domain=x")
            .unwrap()
            .unwrap();
        assert_eq!(dash.command(), "get");
        let nul = Request::decode_line(b"no\x00op\r\n").unwrap().unwrap();
        assert_eq!(nul.command(), "no");
    }

    #[test]
    fn decoder_skips_empty_lines_and_needs_lf() {
        let mut d = RequestDecoder::new();
        let mut buf = BytesMut::from(&b"\r\n\r\n\nnoop\r\nnoop callid=2\nnoop\r"[..]);
        assert_eq!(d.decode(&mut buf).unwrap().unwrap().command(), "noop");
        let second = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(second.args().get("callid"), Some(&b"2"[..]));
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"\n!version\r\n");
        assert_eq!(
            d.decode_server_line(&mut buf).unwrap(),
            Some(ServerLine::Query(Request::new("noop").unwrap()))
        );
        assert_eq!(
            d.decode_server_line(&mut buf).unwrap(),
            Some(ServerLine::Admin(b"version".to_vec()))
        );
    }
}
