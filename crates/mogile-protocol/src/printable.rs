//! Text from a peer, made safe to show: control characters escaped.
//!
//! Trackers and storage nodes are not trusted. Their text (an `ERR` message, a URL, a field of a
//! reply, a key) may hold ESC, CR, LF or C1 control characters; written raw to a terminal or a log
//! line, those would move the cursor, recolour or rewrite what the reader sees, or forge a log
//! line. Every `Display` that shows such text goes through [`printable`].

use std::fmt;

/// `text` for display with every control character (C0, DEL, C1) escaped.
///
/// A control character is written as `%XX`, the upper-case hex of each of its UTF-8 bytes, the
/// way the tracker protocol escapes it on the wire (and the way [`Key`](crate::Key) shows one);
/// everything else, including non-ASCII text and `%` itself, is written as it is.
///
/// ```
/// use mogile_protocol::printable;
/// assert_eq!(printable("red \u{1b}[31m\r\nline").to_string(), "red %1B[31m%0D%0Aline");
/// assert_eq!(printable("caf\u{e9} \u{85} 5%").to_string(), "caf\u{e9} %C2%85 5%");
/// ```
pub fn printable(text: &str) -> Printable<'_> {
    Printable(text)
}

/// Text shown with its control characters escaped; see [`printable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printable<'a>(&'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(char::is_control) {
            f.write_str(&rest[..i])?;
            let mut chars = rest[i..].chars();
            // `find` stopped at a character, so there is one.
            if let Some(c) = chars.next() {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    write!(f, "%{b:02X}")?;
                }
            }
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_escaped() {
        for c in (0u32..=0x10ffff).filter_map(char::from_u32) {
            let shown = printable(&format!("a{c}b")).to_string();
            if c.is_control() {
                assert!(!shown.contains(c), "{c:?} shown raw");
                assert!(shown.starts_with("a%") && shown.ends_with('b'), "{shown}");
            } else {
                assert_eq!(shown, format!("a{c}b"));
            }
        }
    }

    #[test]
    fn c0_del_and_c1() {
        assert_eq!(printable("\u{1b}[2J").to_string(), "%1B[2J");
        assert_eq!(printable("a\r\nb\t\0").to_string(), "a%0D%0Ab%09%00");
        assert_eq!(printable("\u{7f}\u{9b}").to_string(), "%7F%C2%9B");
        assert_eq!(
            printable("plain text, 100%").to_string(),
            "plain text, 100%"
        );
        assert_eq!(printable("").to_string(), "");
    }

    /// Every `Display` of this crate that shows tracker text.
    #[test]
    fn wire_text_in_displays_is_escaped() {
        use crate::{DecodeError, ErrLine, ErrorCode, Key, Response, StoragePath};
        let hostile = "\u{1b}[31mred\r\nline\u{7f}\u{9b}";
        let raw = |shown: String| {
            assert!(!shown.contains(|c: char| c.is_control()), "{shown:?}");
            shown
        };
        // An `ERR` line: the message escaped on the wire, and a raw ESC in the code.
        let line = b"ERR bad\x1bcode %1B[31mred%0D%0Aline\x1b[2J\r\n";
        let Ok(Response::Err(err)) = Response::decode_line(line) else {
            panic!("an ERR line")
        };
        assert_eq!(err.message, "\u{1b}[31mred\r\nline\u{1b}[2J");
        assert_eq!(
            raw(err.to_string()),
            "tracker error bad%1Bcode: %1B[31mred%0D%0Aline%1B[2J"
        );
        raw(ErrLine::with_message(ErrorCode::UnknownKey, hostile).to_string());
        raw(ErrorCode::from(hostile).to_string());
        raw(StoragePath::new(format!("http://h/{hostile}")).to_string());
        raw(Key::from(hostile).to_string());
        raw(DecodeError::MissingField(hostile.into()).to_string());
        raw(DecodeError::bad_field(hostile, hostile.as_bytes()).to_string());
        let Err(e) = Response::decode_line(b"\x1b[2J\x9b\r\n") else {
            panic!("not a reply")
        };
        raw(e.to_string());
    }
}
