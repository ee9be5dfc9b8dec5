//! Responses shaped like Perlbal-mogstored's: `HTTP/1.0` status lines, its headers and HTML
//! bodies, and its single-range parsing (suffix-range bug included, optionally).

use std::io;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

/// The body type of every node response.
pub(crate) type NodeBody = UnsyncBoxBody<Bytes, io::Error>;

pub(crate) fn empty() -> NodeBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> NodeBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response with mogstored's status line version and connection headers.
pub(crate) fn base(status: StatusCode, body: NodeBody) -> Response<NodeBody> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    // Like Perlbal: an HTTP/1.0 status line even to HTTP/1.1 clients (hyper keeps the version we
    // set when the client spoke 1.1), which is what pushes hyper's client into the 1.0 trap.
    *resp.version_mut() = Version::HTTP_10;
    let reason: Option<&'static [u8]> = match status.as_u16() {
        400 => Some(b"Bad request"),
        416 => Some(b"Request range not satisfiable"),
        _ => None,
    };
    if let Some(reason) = reason {
        resp.extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(reason));
    }
    resp
}

/// Adds `Server` and the connection headers, in mogstored's order (after the others).
pub(crate) fn finish(mut resp: Response<NodeBody>, keep_alive: bool) -> Response<NodeBody> {
    let h = resp.headers_mut();
    h.insert("server", HeaderValue::from_static("Perlbal"));
    if keep_alive {
        h.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        h.insert(
            "keep-alive",
            HeaderValue::from_static("timeout=30, max=100"),
        );
    } else {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// `<h1>CODE - Reason</h1>\n` plus an optional message, as `text/html`.
pub(crate) fn html(status: StatusCode, message: &str, keep_alive: bool) -> Response<NodeBody> {
    let reason = match status.as_u16() {
        400 => "Bad request",
        other => StatusCode::from_u16(other)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    };
    let text = format!("<h1>{} - {reason}</h1>\n{message}", status.as_u16());
    let len = text.len();
    let mut resp = base(status, full(text));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    finish(resp, keep_alive)
}

/// An HTTP date (`Wed, 25 Nov 2026 15:36:26 GMT`).
pub(crate) fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// What a `Range` header asks of a file of `size` bytes, the way Perlbal reads it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    /// No usable range (absent, malformed, multi-range): the whole file with `200`.
    Whole,
    /// Bytes `start..=end` with `206`.
    Partial { start: u64, end: u64 },
    /// `416` with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range. With `suffix_bug`, `bytes=-n`
/// means bytes `0..=n` (Perlbal's bug); without it, the last `n` bytes.
pub(crate) fn parse_range(value: Option<&str>, size: u64, suffix_bug: bool) -> RangeAnswer {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (false, true) => match num(a) {
            Some(start) => (start, size.saturating_sub(1)),
            None => return RangeAnswer::Whole,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) => (start, end.min(size.saturating_sub(1))),
            _ => return RangeAnswer::Whole,
        },
        (true, false) => match num(b) {
            Some(n) if suffix_bug => (0, n.min(size.saturating_sub(1))),
            Some(0) => return RangeAnswer::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            None => return RangeAnswer::Whole,
        },
        (true, true) => return RangeAnswer::Whole,
    };
    // Inverted ranges are unsatisfiable too (mogstored: `bytes=5-2` -> 416).
    if start >= size || num(b).is_some_and(|e| !a.is_empty() && e < start) {
        return RangeAnswer::Unsatisfiable;
    }
    RangeAnswer::Partial { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_mogstored_reads_them() {
        use RangeAnswer::*;
        let p = |v: &str| parse_range(Some(v), 14, true);
        assert_eq!(p("bytes=0-4"), Partial { start: 0, end: 4 });
        assert_eq!(p("bytes=6-"), Partial { start: 6, end: 13 });
        assert_eq!(p("bytes=-3"), Partial { start: 0, end: 3 }); // the bug
        assert_eq!(
            parse_range(Some("bytes=-3"), 14, false),
            Partial { start: 11, end: 13 }
        );
        assert_eq!(p("bytes=100-200"), Unsatisfiable);
        assert_eq!(p("bytes=5-2"), Unsatisfiable);
        assert_eq!(p("bytes=0-1,3-4"), Whole);
        assert_eq!(p("bytes=abc"), Whole);
        assert_eq!(p("bytes=10-100"), Partial { start: 10, end: 13 });
        assert_eq!(parse_range(None, 14, true), Whole);
    }
}
