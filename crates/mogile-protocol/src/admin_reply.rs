//! The multi-line replies of `!` admin commands (`!version`, `!stats`, ...).

use bytes::{Buf, BufMut, BytesMut};

use crate::error::DecodeError;
use crate::line::{LineScanner, trim_terminator};
use crate::response::next_line;

/// A complete `!` reply: its lines, terminators removed, without the final `.` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminReply {
    /// The lines (some tracker lines end in a bare LF; both forms are accepted).
    pub lines: Vec<Vec<u8>>,
}

impl AdminReply {
    /// The first line as text: the server version for `!version` (`2.73`).
    pub fn version(&self) -> Option<&str> {
        self.lines.first().and_then(|l| std::str::from_utf8(l).ok())
    }

    /// `name value` lines split at the first space (`!stats`, `!jobs`); other lines skipped.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let text = String::from_utf8_lossy(l);
                let (k, v) = text.split_once(' ')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// Appends the reply as the tracker writes it: each line, then `.`, each ending `\r\n`.
    pub fn encode(&self, dst: &mut BytesMut) {
        for line in &self.lines {
            dst.put_slice(line);
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b".\r\n");
    }
}

/// The default limits of [`AdminReplyDecoder`]: 64 KiB per line, 1 MiB per reply.
const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;
const DEFAULT_MAX_REPLY_LEN: usize = 1 << 20;

/// Reads `!` replies from a dedicated connection: lines until a `.` line.
///
/// Lines are consumed as they arrive; the reply is returned once the `.` line is read.
///
/// ```
/// use bytes::BytesMut;
/// use mogile_protocol::AdminReplyDecoder;
///
/// let mut decoder = AdminReplyDecoder::new();
/// let mut buf = BytesMut::from(&b"2.73\r\n"[..]);
/// assert_eq!(decoder.decode(&mut buf).unwrap(), None);
/// buf.extend_from_slice(b".\r\n");
/// assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().version(), Some("2.73"));
/// ```
#[derive(Debug, Clone)]
pub struct AdminReplyDecoder {
    max_line_len: usize,
    max_reply_len: usize,
    scanner: LineScanner,
    lines: Vec<Vec<u8>>,
    reply_len: usize,
}

impl Default for AdminReplyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl AdminReplyDecoder {
    /// A decoder with limits of 64 KiB per line and 1 MiB per reply.
    pub fn new() -> Self {
        Self {
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_reply_len: DEFAULT_MAX_REPLY_LEN,
            scanner: LineScanner::default(),
            lines: Vec::new(),
            reply_len: 0,
        }
    }

    /// Sets the longest accepted line, terminator included.
    #[must_use]
    pub fn max_line_len(mut self, max_line_len: usize) -> Self {
        self.max_line_len = max_line_len;
        self
    }

    /// Sets the largest accepted reply.
    #[must_use]
    pub fn max_reply_len(mut self, max_reply_len: usize) -> Self {
        self.max_reply_len = max_reply_len;
        self
    }

    /// Consumes the complete lines in `buf`; returns the reply once its `.` line is read.
    ///
    /// # Errors
    /// [`DecodeError::LineTooLong`] or [`DecodeError::ReplyTooLong`]; the connection is then
    /// out of step and must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<AdminReply>, DecodeError> {
        while let Some(len) = next_line(&mut self.scanner, buf, self.max_line_len)? {
            let line = trim_terminator(&buf[..len]);
            if line == b"." {
                buf.advance(len);
                self.reply_len = 0;
                return Ok(Some(AdminReply {
                    lines: std::mem::take(&mut self.lines),
                }));
            }
            self.reply_len += len;
            if self.reply_len > self.max_reply_len {
                return Err(DecodeError::ReplyTooLong {
                    limit: self.max_reply_len,
                });
            }
            self.lines.push(line.to_vec());
            buf.advance(len);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_lines_and_stats() {
        let mut d = AdminReplyDecoder::new();
        let mut buf =
            BytesMut::from(&b"Mogilefsd admin commands:\n\n    !version\n.\r\nuptime 18\r\n"[..]);
        let help = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            help.lines,
            vec![
                b"Mogilefsd admin commands:".to_vec(),
                vec![],
                b"    !version".to_vec()
            ]
        );
        assert_eq!(d.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"queries 39\r\n.\r\n");
        let stats = d.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            stats.pairs(),
            vec![
                ("uptime".into(), "18".into()),
                ("queries".into(), "39".into())
            ]
        );
        let mut out = BytesMut::new();
        stats.encode(&mut out);
        assert_eq!(&out[..], b"uptime 18\r\nqueries 39\r\n.\r\n");
    }

    #[test]
    fn bounded() {
        let mut d = AdminReplyDecoder::new().max_line_len(16).max_reply_len(20);
        let mut buf = BytesMut::from(&b"0123456789\r\n0123456789\r\n"[..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::ReplyTooLong { limit: 20 })
        );
        let mut d = AdminReplyDecoder::new().max_line_len(16);
        let mut buf = BytesMut::from(&[b'x'; 16][..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(DecodeError::LineTooLong { limit: 16 })
        );
    }
}
