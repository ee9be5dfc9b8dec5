//! The seam between the fake tracker and the line codec: request arguments as the server reads them,
//! and replies as the server writes them.
//!
//! Kept in one place so the handlers never touch the codec directly.

use bytes::BytesMut;
use mogile_protocol::{Args, ErrLine, ErrorCode, Response};

/// Request arguments after the server-side decoding quirks (protocol.md 2.4), as
/// `mogile_protocol::Args::decode_server` produces them.
#[derive(Debug, Default)]
pub(crate) struct ReqArgs(Args);

impl From<Args> for ReqArgs {
    fn from(args: Args) -> Self {
        Self(args)
    }
}

impl ReqArgs {
    /// The value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name)
    }

    /// The value of `name` when it is "true" in Perl: present, non-empty and not `0`.
    pub(crate) fn truthy(&self, name: &str) -> Option<&[u8]> {
        self.get(name).filter(|v| is_truthy(v))
    }

    /// The value of `name` when it is defined and non-empty (the `valid_key` / `length` test).
    pub(crate) fn non_empty(&self, name: &str) -> Option<&[u8]> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The value of `name` read as a Perl number (`undef` and garbage are 0).
    pub(crate) fn num(&self, name: &str) -> i64 {
        self.get(name).map_or(0, perl_num)
    }
}

/// Perl truthiness of a string value.
pub(crate) fn is_truthy(v: &[u8]) -> bool {
    !v.is_empty() && v != b"0"
}

/// Perl's numeric reading of a string: optional leading whitespace and sign, then the leading digits
/// (fractions are truncated; anything else reads as 0).
pub(crate) fn perl_num(v: &[u8]) -> i64 {
    let s = v.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// One reply, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `OK <pairs>`.
    Ok(Args),
    /// `ERR <code> <text>`.
    Err {
        /// The error code.
        code: &'static str,
        /// The (unescaped) text.
        text: String,
    },
}

impl Reply {
    /// An empty `OK`.
    pub(crate) fn ok() -> Self {
        Self::Ok(Args::new())
    }

    /// An `ERR` with the server's canned text for `code`.
    pub(crate) fn err(code: &'static str) -> Self {
        Self::Err {
            code,
            text: ErrorCode::from(code).default_text().to_owned(),
        }
    }

    /// An `ERR` with a specific text.
    pub(crate) fn err_text(code: &'static str, text: impl Into<String>) -> Self {
        Self::Err {
            code,
            text: text.into(),
        }
    }

    /// Encodes the reply line (with `\r\n`), echoing `callid` the way the server does: as a pair in
    /// `OK` lines, as a 4th field in `ERR` lines.
    pub(crate) fn encode(self, callid: Option<&[u8]>, dst: &mut BytesMut) {
        let response = match self {
            Self::Ok(mut args) => {
                if let Some(c) = callid {
                    args.push("callid", c);
                }
                Response::Ok(args)
            }
            Self::Err { code, text } => {
                let mut err = ErrLine::with_message(ErrorCode::from(code), text);
                err.callid = callid.map(<[u8]>::to_vec);
                Response::Err(err)
            }
        };
        response.encode(dst);
    }
}

/// Builds `OK` pairs.
#[derive(Debug, Default)]
pub(crate) struct Pairs(Args);

impl Pairs {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn put(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.0.push(name, value);
        self
    }
    pub(crate) fn with(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.put(name, value);
        self
    }
    pub(crate) fn reply(self) -> Reply {
        Reply::Ok(self.0)
    }
}
