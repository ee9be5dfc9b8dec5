//! How keys (arbitrary bytes) are read from the command line, and how keys and any other text
//! from a tracker or a storage node are shown.
//!
//! - Text output: a key, and any text a peer sent (URLs from `paths`, fields of `info`, `debug`
//!   and the admin listings, names in messages), prints through [`display`]: as UTF-8, except
//!   that control characters (C0, DEL, C1), bytes that are not valid UTF-8, and `%` itself are
//!   written as `%XX` (upper-case hex of each byte). So every printed value is one line, no peer
//!   can send escape sequences to the terminal, and the bytes can be recovered unambiguously: `%`
//!   is always escaped, everything else is literal.
//! - Error reports carry the library's error messages, which escape control characters
//!   themselves (`mogile_protocol::printable`, the same `%XX`); the one line on stderr is checked
//!   again before it is written (see `exit`).
//! - `ls -0`: the raw bytes, each key followed by a NUL byte.
//! - JSON: a string when the key is valid UTF-8 (JSON escapes control characters itself), else
//!   `{"hex": "<lower-case hex of the bytes>"}`.
//! - Keys given as arguments are taken byte for byte (on Unix an argument may be any bytes).

use std::ffi::OsStr;
use std::fmt::Write as _;

use serde_json::{Value, json};

/// The bytes of a command-line argument.
pub(crate) fn arg_bytes(arg: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        arg.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

/// A key, or any text from a tracker or a storage node, as one line of text (see the module
/// docs). The one function the tool shows such text with.
pub(crate) fn display(text: impl AsRef<[u8]>) -> String {
    let key = text.as_ref();
    let mut out = String::with_capacity(key.len());
    for chunk in key.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' || c.is_control() {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    push_escaped(&mut out, b);
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_escaped(&mut out, b);
        }
    }
    out
}

fn push_escaped(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "%{b:02X}");
}

/// A key as a JSON value (see the module docs).
pub(crate) fn json(key: &[u8]) -> Value {
    match std::str::from_utf8(key) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "hex": hex::encode(key) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_print_as_they_are() {
        assert_eq!(display(b"photos/cat 1.jpg"), "photos/cat 1.jpg");
        assert_eq!(
            display("caf\u{e9}/\u{1f408}".as_bytes()),
            "caf\u{e9}/\u{1f408}"
        );
        assert_eq!(display(b"a+b&c=d"), "a+b&c=d");
    }

    #[test]
    fn control_bytes_invalid_utf8_and_percent_are_escaped() {
        assert_eq!(display(b"a\nb\tc\0d\x7f"), "a%0Ab%09c%00d%7F");
        assert_eq!(display(b"50%"), "50%25");
        assert_eq!(display(b"\xff\xfeok"), "%FF%FEok");
        // A truncated multi-byte sequence, and a C1 control character (U+0085).
        assert_eq!(display(b"x\xe2\x82"), "x%E2%82");
        assert_eq!(display("a\u{85}b".as_bytes()), "a%C2%85b");
    }

    #[test]
    fn escaping_is_reversible() {
        let keys: [&[u8]; 4] = [b"50%25", b"%", b"\xc3(\x00%", "\u{e9}\n".as_bytes()];
        for key in keys {
            let shown = display(key);
            let mut back = Vec::new();
            let mut bytes = shown.bytes();
            while let Some(b) = bytes.next() {
                if b == b'%' {
                    let hi = bytes.next().unwrap();
                    let lo = bytes.next().unwrap();
                    back.push(
                        u8::from_str_radix(&format!("{}{}", hi as char, lo as char), 16).unwrap(),
                    );
                } else {
                    back.push(b);
                }
            }
            assert_eq!(back, key, "{shown}");
            assert!(!shown.contains('\n'));
        }
    }

    #[test]
    fn json_keys() {
        assert_eq!(json(b"a\nb"), Value::String("a\nb".into()));
        assert_eq!(json(b"a\xffb"), serde_json::json!({"hex": "61ff62"}));
    }

    #[cfg(unix)]
    #[test]
    fn arguments_are_bytes() {
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(arg_bytes(OsStr::from_bytes(b"k\xff")), b"k\xff");
    }
}
