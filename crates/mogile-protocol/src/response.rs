//! Response lines: `OK <args>` and `ERR <code> <text> [callid]`, and their stream decoder.

use std::fmt;

use bytes::{Buf, BufMut, BytesMut};

use crate::args::Args;
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::escape::{escape, unescape};
use crate::line::{LineScanner, trim_terminator};

/// One tracker response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `OK` with its arguments (an echoed `callid` included).
    Ok(Args),
    /// `ERR` with its code, text and echoed `callid`.
    Err(ErrLine),
}

/// The content of an `ERR` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrLine {
    /// The error code.
    pub code: ErrorCode,
    /// The decoded text (`+` and `%XX` undone, lossily UTF-8).
    pub message: String,
    /// The echoed `callid`, decoded, when the request carried one.
    pub callid: Option<Vec<u8>>,
}

impl ErrLine {
    /// An error with the code's canned text, as the tracker sends when a handler gives none.
    pub fn new(code: ErrorCode) -> Self {
        let message = code.default_text().to_owned();
        Self {
            code,
            message,
            callid: None,
        }
    }

    /// An error with a specific text.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            callid: None,
        }
    }
}

impl fmt::Display for ErrLine {
    /// The code and the message, control characters escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tracker error {}: {}",
            self.code,
            crate::printable(&self.message)
        )
    }
}

impl std::error::Error for ErrLine {}

impl Response {
    /// Decodes one response line. A trailing `\r\n` or `\n` is allowed and ignored.
    ///
    /// `OK` must be followed by a space or the end of the line; the arguments decode with
    /// [`Args::decode`]. `ERR` is followed by the code, then the escaped text, then optionally
    /// the escaped callid, separated by single spaces.
    ///
    /// # Errors
    /// [`DecodeError::UnknownStatus`] for a line that is neither `OK` nor `ERR`,
    /// [`DecodeError::MissingErrorCode`] for an `ERR` without code.
    pub fn decode_line(line: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_line_reusing(line, &mut Args::new())
    }

    /// [`decode_line`](Self::decode_line), an `OK` line's arguments decoded into the storage of
    /// `spare` (taken, leaving it empty).
    fn decode_line_reusing(line: &[u8], spare: &mut Args) -> Result<Self, DecodeError> {
        let line = trim_terminator(line);
        if let Some(rest) = status_rest(line, b"OK") {
            return Ok(Self::Ok(Args::decode_reusing(rest, std::mem::take(spare))));
        }
        if let Some(rest) = status_rest(line, b"ERR") {
            let mut fields = rest.split(|&b| b == b' ');
            let code = fields
                .next()
                .filter(|c| !c.is_empty())
                .ok_or(DecodeError::MissingErrorCode)?;
            let code = ErrorCode::from(String::from_utf8_lossy(code).as_ref());
            let message = fields.next().map(unescape).unwrap_or_default();
            let message = String::from_utf8(message)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let callid = fields.next().map(unescape);
            return Ok(Self::Err(ErrLine {
                code,
                message,
                callid,
            }));
        }
        let start = &line[..line.len().min(32)];
        Err(DecodeError::UnknownStatus {
            start: String::from_utf8_lossy(start).into_owned(),
        })
    }

    /// Appends the line exactly as the 2.73 tracker writes it: `OK <args>\r\n` (so `OK \r\n`
    /// without arguments) or `ERR <code> <text>[ <callid>]\r\n`.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Self::Ok(args) => {
                dst.put_slice(b"OK ");
                args.encode_into(dst);
            }
            Self::Err(err) => {
                dst.put_slice(b"ERR ");
                escape(err.code.as_str().as_bytes(), dst);
                dst.put_u8(b' ');
                escape(err.message.as_bytes(), dst);
                if let Some(callid) = &err.callid {
                    dst.put_u8(b' ');
                    escape(callid, dst);
                }
            }
        }
        dst.put_slice(b"\r\n");
    }

    /// The echoed `callid`, from either form.
    pub fn callid(&self) -> Option<&[u8]> {
        match self {
            Self::Ok(args) => args.get("callid"),
            Self::Err(err) => err.callid.as_deref(),
        }
    }

    /// Whether this is an `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok(_))
    }
}

/// What follows `status` when the line is `status` alone or `status` + space + rest.
fn status_rest<'a>(line: &'a [u8], status: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(status)?;
    match rest.split_first() {
        None => Some(rest),
        Some((b' ', rest)) => Some(rest),
        Some(_) => None,
    }
}

/// The default [`ResponseDecoder::max_line_len`]: 1 MiB, enough for a `list_keys` page of 1000
/// escaped 255-byte keys (about 780 KB).
pub const DEFAULT_MAX_LINE_LEN: usize = 1 << 20;

/// An incremental response decoder for a byte stream cut at arbitrary points.
///
/// ```
/// use bytes::BytesMut;
/// use mogile_protocol::{Response, ResponseDecoder};
///
/// let mut decoder = ResponseDecoder::new();
/// let mut buf = BytesMut::from(&b"OK paths=0\r\nERR no_key no"[..]);
/// let first = decoder.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(first, Response::decode_line(b"OK paths=0").unwrap());
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None); // incomplete: nothing consumed
/// assert_eq!(&buf[..], b"ERR no_key no");
/// ```
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_line_len: usize,
    scanner: LineScanner,
    /// Storage handed back with [`recycle`](Self::recycle), for the next `OK` line's arguments.
    spare: Args,
}

impl Default for ResponseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseDecoder {
    /// A decoder with the default limit of [`DEFAULT_MAX_LINE_LEN`].
    pub fn new() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            scanner: LineScanner::default(),
            spare: Args::new(),
        }
    }

    /// Sets the longest accepted line, terminator included.
    #[must_use]
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.max_line_len = max_line_len;
        self
    }

    /// The configured maximum line length.
    pub fn limit(&self) -> usize {
        self.max_line_len
    }

    /// Decodes the next complete response from `buf`.
    ///
    /// Returns `Ok(None)` and consumes nothing while no full line is buffered. A complete line
    /// is consumed whether or not it decodes.
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`] as soon as `buf` holds `max_line_len` bytes without a
    /// newline (so the caller never needs to buffer more), and the errors of
    /// [`Response::decode_line`]. After an error the connection is out of step: close it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, DecodeError> {
        let Some(len) = next_line(&mut self.scanner, buf, self.max_line_len)? else {
            return Ok(None);
        };
        let response = Response::decode_line_reusing(&buf[..len], &mut self.spare);
        buf.advance(len);
        response.map(Some)
    }

    /// Hands back the arguments of a reply this decoder returned, once read: the next `OK`
    /// line decodes into their storage instead of allocating its own. Storage that a long reply
    /// grew past 4 KiB is let go, so that one large listing does not stay allocated for the
    /// connection's life.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use mogile_protocol::{Response, ResponseDecoder};
    ///
    /// let mut decoder = ResponseDecoder::new();
    /// let mut buf = BytesMut::from(&b"OK paths=0&callid=1\r\nOK paths=0&callid=2\r\n"[..]);
    /// let Some(Response::Ok(args)) = decoder.decode(&mut buf).unwrap() else { panic!() };
    /// assert_eq!(args.get("callid"), Some(&b"1"[..]));
    /// decoder.recycle(args);
    /// let Some(Response::Ok(args)) = decoder.decode(&mut buf).unwrap() else { panic!() };
    /// assert_eq!(args.get("callid"), Some(&b"2"[..]));
    /// ```
    pub fn recycle(&mut self, args: Args) {
        if args.worth_keeping() && args.capacity_bytes() > self.spare.capacity_bytes() {
            self.spare = args;
        }
    }
}

/// The length of the next complete line within `limit`, shared by the stream decoders.
pub(crate) fn next_line(
    scanner: &mut LineScanner,
    buf: &[u8],
    limit: usize,
) -> Result<Option<usize>, DecodeError> {
    match scanner.next_line(buf) {
        Some(len) if len > limit => {
            scanner.reset();
            Err(DecodeError::LineTooLong { limit })
        }
        Some(len) => Ok(Some(len)),
        None if buf.len() >= limit => {
            scanner.reset();
            Err(DecodeError::LineTooLong { limit })
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: &Response) -> Vec<u8> {
        let mut out = BytesMut::new();
        r.encode(&mut out);
        out.to_vec()
    }

    #[test]
    fn recycled_arguments_hold_the_next_reply_and_large_ones_are_let_go() {
        let mut decoder = ResponseDecoder::new();
        let mut buf = BytesMut::new();
        let mut next = |decoder: &mut ResponseDecoder, line: &[u8]| {
            buf.extend_from_slice(line);
            match decoder.decode(&mut buf).unwrap() {
                Some(Response::Ok(args)) => args,
                other => panic!("{other:?}"),
            }
        };
        let first = next(
            &mut decoder,
            b"OK paths=1&path1=http://n/1.fid&callid=1\r\n",
        );
        let capacity = first.capacity_bytes();
        decoder.recycle(first);
        let second = next(&mut decoder, b"OK paths=0&callid=2\r\n");
        assert_eq!(second, Args::decode(b"paths=0&callid=2"));
        assert_eq!(
            second.capacity_bytes(),
            capacity,
            "decoded into the recycled storage"
        );

        // Storage past 4 KiB is not kept; nor is a smaller one over a larger spare.
        decoder.recycle(Args::decode(&vec![b'x'; crate::args::REUSE_KEEP + 1]));
        let third = next(&mut decoder, b"OK paths=0\r\n");
        assert!(third.capacity_bytes() <= crate::args::REUSE_KEEP);
        decoder.recycle(second);
        decoder.recycle(Args::new());
        let fourth = next(&mut decoder, b"OK\r\n");
        assert_eq!(fourth.capacity_bytes(), capacity);
        assert!(fourth.is_empty());
    }

    #[test]
    fn ok_lines() {
        let r = Response::decode_line(b"OK \r\n").unwrap();
        assert_eq!(r, Response::Ok(Args::new()));
        assert_eq!(enc(&r), b"OK \r\n");
        assert_eq!(
            Response::decode_line(b"OK").unwrap(),
            Response::Ok(Args::new())
        );
        let r = Response::decode_line(b"OK callid=abc+123\r\n").unwrap();
        assert_eq!(r.callid(), Some(&b"abc 123"[..]));
        assert_eq!(enc(&r), b"OK callid=abc+123\r\n");
    }

    #[test]
    fn err_lines() {
        let line = b"ERR unreg_domain Domain+name+invalid/not+found abc+123\r\n";
        let r = Response::decode_line(line).unwrap();
        let Response::Err(err) = &r else {
            panic!("not an error")
        };
        assert_eq!(err.code, ErrorCode::UnregDomain);
        assert_eq!(err.message, "Domain name invalid/not found");
        assert_eq!(err.callid.as_deref(), Some(&b"abc 123"[..]));
        assert_eq!(enc(&r), line);
        let r = Response::decode_line(b"ERR weird_code").unwrap();
        assert_eq!(
            r,
            Response::Err(ErrLine::with_message(
                ErrorCode::Other("weird_code".into()),
                ""
            ))
        );
        assert_eq!(
            Response::decode_line(b"ERR "),
            Err(DecodeError::MissingErrorCode)
        );
    }

    #[test]
    fn other_lines_are_errors() {
        for line in [&b"OKAY"[..], b"ok ", b"", b"2.73", b"ERRR x y", b" OK "] {
            assert!(
                matches!(
                    Response::decode_line(line),
                    Err(DecodeError::UnknownStatus { .. })
                ),
                "{line:?}"
            );
        }
    }

    #[test]
    fn decoder_waits_and_limits() {
        let mut d = ResponseDecoder::new().max_line_len(8);
        let mut buf = BytesMut::from(&b"OK a=1"[..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"\r\n");
        assert!(d.decode(&mut buf).unwrap().is_some());
        assert!(buf.is_empty());
        buf.extend_from_slice(b"OK abcd");
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"e");
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
        let mut buf = BytesMut::from(&b"OK abcde\r\n"[..]);
        let mut d = ResponseDecoder::new().max_line_len(8);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::LineTooLong { limit: 8 })
        );
    }
}
