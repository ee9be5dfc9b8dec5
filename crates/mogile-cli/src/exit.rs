//! Exit statuses and the one line on stderr that explains a failure.
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | an operation failed |
//! | 2 | usage error (bad flags, no trackers or domain configured, unreadable `--conf`) |
//! | 3 | key not found (`get`, `rm`, `mv`, `info`, `debug`, `paths`) |

use std::error::Error as StdError;
use std::fmt;
use std::process::ExitCode;

use crate::key_text::safe_line;

/// Why a command did not succeed, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    kind: Kind,
    message: String,
}

/// The classes of failure, one per non-zero exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 1: an operation failed.
    Failed,
    /// 2: the command line or the configuration is wrong.
    Usage,
    /// 3: the key does not exist.
    NotFound,
    /// 1, printing nothing: the reader of stdout went away (`mogile ls | head`).
    BrokenPipe,
}

impl Failure {
    /// An operation failed.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Failed,
            message: message.into(),
        }
    }

    /// A usage error.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.into(),
        }
    }

    /// Writing to stdout failed: quietly for a closed pipe, else with the error.
    pub(crate) fn stdout(e: &std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self {
                kind: Kind::BrokenPipe,
                message: String::new(),
            }
        } else {
            Self::failed(format!("writing to stdout: {e}"))
        }
    }

    /// A failure of `what` (e.g. `get photos/cat.jpg`), explained by `err` and its causes.
    pub(crate) fn from_error(kind: Kind, what: &str, err: &(dyn StdError + 'static)) -> Self {
        Self {
            kind,
            message: format!("{what}: {}", chain(err)),
        }
    }

    /// The failure's class.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The exit status.
    pub(crate) fn code(&self) -> u8 {
        match self.kind {
            Kind::Failed | Kind::BrokenPipe => 1,
            Kind::Usage => 2,
            Kind::NotFound => 3,
        }
    }

    /// Prints the one line to stderr (nothing for a closed pipe) and returns the exit status.
    pub(crate) fn report(&self) -> ExitCode {
        if self.kind != Kind::BrokenPipe {
            eprintln!("mogile: {self}");
        }
        ExitCode::from(self.code())
    }
}

impl fmt::Display for Failure {
    /// One line, whatever the message holds: several lines are joined with spaces, and a line
    /// with any other control character left (every message should have shown its peer text with
    /// `key_text::display` already) is shown with `display` as a whole, so nothing in an error
    /// report can drive the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for line in self.message.lines() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(&safe_line(line.trim()))?;
            first = false;
        }
        Ok(())
    }
}

/// An error and its `source()` chain joined with `: `, skipping a cause whose text the previous
/// message already contains (some errors repeat their cause).
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(cause) = cur {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("tracker request failed")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn codes() {
        assert_eq!(Failure::failed("x").code(), 1);
        assert_eq!(Failure::usage("x").code(), 2);
        let missing = Failure {
            kind: Kind::NotFound,
            message: "x".into(),
        };
        assert_eq!(missing.code(), 3);
        let pipe = Failure::stdout(&std::io::ErrorKind::BrokenPipe.into());
        assert_eq!((pipe.code(), pipe.kind()), (1, Kind::BrokenPipe));
        assert_eq!(
            Failure::stdout(&std::io::ErrorKind::Other.into()).kind(),
            Kind::Failed
        );
    }

    #[test]
    fn one_line_with_what_and_why() {
        let err = Outer(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "timed out",
        ));
        let f = Failure::from_error(Kind::Failed, "get a/b", &err);
        assert_eq!(f.to_string(), "get a/b: tracker request failed: timed out");
        assert_eq!(Failure::failed("a\nb\n").to_string(), "a b");
    }

    #[test]
    fn no_control_character_reaches_the_report() {
        let f = Failure::failed("a\r\nb\u{1b}[31mc\rd\u{9b}\t50%");
        assert_eq!(f.to_string(), r"a $'b\x1b[31mc\rd\xc2\x9b\t50%'");
        let err = Outer(std::io::Error::other("\u{1b}]0;pwned\u{7}"));
        let f = Failure::from_error(Kind::Failed, "get k", &err);
        assert_eq!(
            f.to_string(),
            r"$'get k: tracker request failed: \x1b]0;pwned\x07'"
        );
        assert!(!f.to_string().contains(char::is_control));
    }

    #[test]
    fn repeated_causes_are_dropped() {
        #[derive(Debug)]
        struct Repeats(std::io::Error);
        impl fmt::Display for Repeats {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "io: {}", self.0)
            }
        }
        impl StdError for Repeats {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let err = Repeats(std::io::Error::other("disk full"));
        assert_eq!(chain(&err), "io: disk full");
    }
}
