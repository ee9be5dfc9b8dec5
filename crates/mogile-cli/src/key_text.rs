//! How keys (arbitrary bytes) are read from the command line, and how keys and any other text
//! from a tracker or a storage node are shown.
//!
//! - [`display`] is the tool's one quoting function. It shows a key, or any text a peer sent
//!   (URLs from `paths`, fields of `info`, `debug` and the admin listings, names in messages and
//!   errors), so that it can be pasted back into a shell as one argument: as it is when it holds
//!   nothing a shell would split or expand; in single quotes (`'a b'`) when it holds whitespace
//!   or shell metacharacters; as `$'...'` with `\n`, `\t`, `\r` and `\xHH` escapes when it holds
//!   control characters (C0, DEL, C1), invisible or bidirectional formatting characters, or
//!   bytes that are not valid UTF-8. Its output is one line and holds no control character, so
//!   no peer can send escape sequences to the terminal.
//! - `ls` writes keys exactly as they are, one per line, when stdout is not a terminal (as GNU
//!   `ls` does), and through [`display`] on a terminal; [`quoting`] decides, and
//!   `MOGILE_QUOTING=shell|literal` overrides it (for tests and scripts).
//! - Error reports carry the library's error messages, which escape control characters
//!   themselves (`%XX`); every line on stderr is checked again with [`safe_line`] before it is
//!   written (see `exit`).
//! - `ls -0`: the raw bytes, each key followed by a NUL byte.
//! - JSON: a string when the key is valid UTF-8 (JSON escapes control characters itself), else
//!   `{"hex": "<lower-case hex of the bytes>"}`.
//! - Keys given as arguments are taken byte for byte (on Unix an argument may be any bytes).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::IsTerminal;

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

/// The environment variable that overrides whether `ls` quotes keys (`shell`) or writes them as
/// they are (`literal`); unset, stdout being a terminal decides.
pub(crate) const QUOTING_ENV: &str = "MOGILE_QUOTING";

/// Whether keys in `ls` text output go through [`display`] (`true`: stdout is a terminal, or
/// `MOGILE_QUOTING=shell`) or are written as they are (`false`: a pipe or a file, or
/// `MOGILE_QUOTING=literal`). Any other value of the variable is ignored.
pub(crate) fn quoting() -> bool {
    match std::env::var_os(QUOTING_ENV)
        .as_deref()
        .and_then(OsStr::to_str)
    {
        Some("shell") => true,
        Some("literal") => false,
        _ => std::io::stdout().is_terminal(),
    }
}

/// How one character of the text has to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    /// As it is, unquoted.
    Nothing,
    /// Inside single quotes.
    Quotes,
    /// Only inside `$'...'`, escaped.
    Escape,
}

/// Characters that mean nothing to a shell in the middle or at the start of a word.
fn need(c: char) -> Need {
    match c {
        'a'..='z'
        | 'A'..='Z'
        | '0'..='9'
        | '%'
        | '+'
        | ','
        | '-'
        | '.'
        | '/'
        | ':'
        | '='
        | '@'
        | '_' => Need::Nothing,
        c if c.is_control() || invisible(c) => Need::Escape,
        c if c.is_ascii() || c.is_whitespace() => Need::Quotes,
        _ => Need::Nothing,
    }
}

/// Formatting characters a terminal does not show, or that reorder what it shows around them
/// (zero-width spaces and joiners, bidirectional marks, embeddings, overrides and isolates, the
/// byte-order mark): a key holding one looks like another.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// A key, or any text from a tracker or a storage node, shown so that a shell reads it back as
/// exactly these bytes, in one argument (see the module docs). The tool's one quoting function.
pub(crate) fn display(text: impl AsRef<[u8]>) -> String {
    let bytes = text.as_ref();
    let mut worst = if bytes.is_empty() {
        Need::Quotes
    } else {
        Need::Nothing
    };
    for chunk in bytes.utf8_chunks() {
        if !chunk.invalid().is_empty() {
            worst = Need::Escape;
            break;
        }
        worst = chunk.valid().chars().map(need).fold(worst, Need::max);
    }
    match worst {
        // Only the characters above, so valid UTF-8.
        Need::Nothing => String::from_utf8_lossy(bytes).into_owned(),
        Need::Quotes => {
            // Valid UTF-8 here too: invalid bytes need an escape.
            let text = String::from_utf8_lossy(bytes);
            format!("'{}'", text.replace('\'', r"'\''"))
        }
        Need::Escape => dollar_quoted(bytes),
    }
}

/// `$'...'`: printable characters as they are, `\'` and `\\` for the quote and the backslash,
/// `\n`, `\t`, `\r`, and `\xHH` for each byte of any other character that needs escaping and
/// for each byte that is not valid UTF-8.
fn dollar_quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    out.push_str("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if need(c) == Need::Escape => {
                    let mut buf = [0; 4];
                    for &b in c.encode_utf8(&mut buf).as_bytes() {
                        push_hex(&mut out, b);
                    }
                }
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_hex(&mut out, b);
        }
    }
    out.push('\'');
    out
}

fn push_hex(out: &mut String, b: u8) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\x{b:02x}");
}

/// A line of text made safe for a terminal: as it is when it holds no control character, else
/// through [`display`]. The last check before a line is written (messages are composed of parts
/// already shown with [`display`], and of library errors that escape control characters).
pub(crate) fn safe_line(line: &str) -> Cow<'_, str> {
    if line.contains(|c: char| c.is_control() || invisible(c)) {
        Cow::Owned(display(line))
    } else {
        Cow::Borrowed(line)
    }
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
        assert_eq!(display(b"photos/cat_1.jpg"), "photos/cat_1.jpg");
        assert_eq!(display(b"50%"), "50%");
        assert_eq!(display(b"a+b,c=d:e@f-g"), "a+b,c=d:e@f-g");
        assert_eq!(
            display("caf\u{e9}/\u{1f408}".as_bytes()),
            "caf\u{e9}/\u{1f408}"
        );
    }

    #[test]
    fn whitespace_and_metacharacters_are_single_quoted() {
        assert_eq!(display(b"a b"), "'a b'");
        assert_eq!(display(b"50% off"), "'50% off'");
        assert_eq!(display(b"$HOME*"), "'$HOME*'");
        assert_eq!(display(b"it's"), r"'it'\''s'");
        assert_eq!(display(b"~x"), "'~x'");
        assert_eq!(display(b"a\\b"), r"'a\b'");
        assert_eq!(display("no\u{a0}break".as_bytes()), "'no\u{a0}break'");
        assert_eq!(display(b""), "''");
    }

    #[test]
    fn control_bytes_and_invalid_utf8_are_dollar_quoted() {
        assert_eq!(display(b"a\nb"), r"$'a\nb'");
        assert_eq!(display(b"a\tb\r\x1b[31m\x7f"), r"$'a\tb\r\x1b[31m\x7f'");
        assert_eq!(display(b"\xff\xfeok"), r"$'\xff\xfeok'");
        assert_eq!(display(b"x\xe2\x82"), r"$'x\xe2\x82'");
        // A C1 control character (U+0085) and a right-to-left override, byte by byte.
        assert_eq!(display("a\u{85}b".as_bytes()), r"$'a\xc2\x85b'");
        assert_eq!(display("a\u{202e}b".as_bytes()), r"$'a\xe2\x80\xaeb'");
        // Quote and backslash escaped, other characters as they are.
        assert_eq!(
            display("it's \\ 50% caf\u{e9}\n".as_bytes()),
            r"$'it\'s \\ 50% café\n'"
        );
    }

    #[test]
    fn shown_text_is_one_line_without_control_characters() {
        for key in [&b"a\nb\x1b"[..], b"\x9b", "\u{9b}x".as_bytes(), b"\0"] {
            let shown = display(key);
            assert!(!shown.contains(|c: char| c.is_control()), "{shown}");
        }
        assert_eq!(safe_line("plain line, 100%"), "plain line, 100%");
        assert_eq!(safe_line("bad\u{1b}]0;x\u{7}"), r"$'bad\x1b]0;x\x07'");
    }

    /// What `display` shows, a shell reads back as the same bytes, in one argument.
    #[cfg(unix)]
    #[test]
    fn bash_reads_the_shown_text_back_as_the_same_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let mut keys: Vec<Vec<u8>> = [
            &b"50%"[..],
            b"a b",
            b"  lead and trail  ",
            "caf\u{e9} \u{1f408}".as_bytes(),
            b"line\nbreak",
            b"\xff\xfe\xc3(",
            b"it's",
            b"$'x'\\",
            b"\"q\" `cmd` $(cmd) ${x} !hist *?[a] ~ # ; & | < > ( ) { }",
            b"\t\r\x01\x1b\x7f",
            "\u{85}\u{202e}\u{feff}".as_bytes(),
            b"-dash",
            b"",
        ]
        .iter()
        .map(|k| k.to_vec())
        .collect();
        // Every byte but NUL (an argument cannot hold one), alone and between letters.
        keys.extend((1..=255u8).map(|b| vec![b]));
        keys.extend((1..=255u8).map(|b| vec![b'a', b, b'z']));
        let mut script = b"printf '%s\\0'".to_vec();
        for key in &keys {
            script.push(b' ');
            script.extend_from_slice(display(key).as_bytes());
        }
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(OsStr::from_bytes(&script))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let back: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        assert_eq!(back.len(), keys.len() + 1, "one argument per key");
        for (key, got) in keys.iter().zip(back) {
            assert_eq!(got, &key[..], "{}", display(key));
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
