//! Fault switches of the test storage node, and what it records about requests.

use std::time::Duration;

use http::{HeaderMap, Method, Version};

/// Something a node does instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Read the request body, then answer this status with a mogstored-style HTML body (`500`,
    /// `507`, `411`, ...).
    Status(u16),
    /// Read the request body, then never answer (until the client gives up or the node stops).
    StallBeforeHeaders,
    /// Stop reading the request body after this many bytes and never answer: the client's
    /// writes stall once the socket buffers fill up.
    StallRequestBody {
        /// Body bytes read before stalling.
        after: u64,
    },
    /// Send the response headers (with the full `Content-Length`) and this many body bytes,
    /// then stall.
    StallResponseBody {
        /// Body bytes sent before stalling.
        after: u64,
    },
    /// Send the response headers and this many body bytes, then reset the connection (`RST`).
    ResetAfter {
        /// Body bytes sent before the reset.
        body_bytes: u64,
    },
    /// Declare the full `Content-Length` but send `missing` fewer bytes, then close.
    ShortBody {
        /// How many bytes are left out.
        missing: u64,
    },
    /// Answer a ranged `GET`/`HEAD` with `200` and the whole file.
    IgnoreRange,
    /// Close the connection without answering.
    Close,
    /// Wait this long before answering (a slow disk, a GC pause: the first byte comes late),
    /// then answer normally.
    DelayHeaders(Duration),
}

/// A fault and the requests it applies to: all by default, narrowed by method, path prefix and a
/// count. Rules are checked in the order they were injected; the first match wins and uses up one
/// of its `times`.
#[derive(Clone, Debug)]
pub struct FaultRule {
    pub(crate) fault: Fault,
    pub(crate) method: Option<Method>,
    pub(crate) path_prefix: Option<String>,
    pub(crate) remaining: Option<u32>,
    /// `(n, seen)`: applies to every `n`-th matching request only.
    pub(crate) every: Option<(u32, u32)>,
}

impl FaultRule {
    /// `fault` for every request until cleared.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            method: None,
            path_prefix: None,
            remaining: None,
            every: None,
        }
    }

    /// Only one matching request in `n` (the `n`-th, the `2n`-th, ...; deterministic): a fault
    /// on a fraction of the requests, such as a first-byte delay on 3% of them (`n` = 33). The
    /// other matching requests are served as if the rule were not there.
    #[must_use]
    pub fn one_in(mut self, n: u32) -> Self {
        self.every = Some((n.max(1), 0));
        self
    }

    /// Only requests with this method.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only requests whose path starts with `prefix` (e.g. `/dev2/` or one file's path).
    #[must_use]
    pub fn path(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only the next `n` matching requests.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    pub(crate) fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}

/// Takes the fault for a request from `rules`, using up one of its count.
pub(crate) fn take_fault(rules: &mut Vec<FaultRule>, method: &Method, path: &str) -> Option<Fault> {
    let mut idx = None;
    for (i, rule) in rules.iter_mut().enumerate() {
        if !rule.matches(method, path) {
            continue;
        }
        if let Some((n, seen)) = rule.every.as_mut() {
            *seen = seen.wrapping_add(1);
            if *seen % *n != 0 {
                continue;
            }
        }
        idx = Some(i);
        break;
    }
    let idx = idx?;
    let rule = &mut rules[idx];
    let fault = rule.fault.clone();
    if let Some(n) = rule.remaining.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            rules.remove(idx);
        }
    }
    Some(fault)
}

/// A request head as the node received it, plus how many body bytes it read.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The request target as sent (path and query, not decoded).
    pub target: String,
    /// The HTTP version of the request line.
    pub version: Version,
    /// The headers.
    pub headers: HeaderMap,
    /// Body bytes the node read (PUT), updated as the body is consumed.
    pub body_bytes: u64,
    /// Index of the connection it came on (0 for the first connection accepted).
    pub connection: u64,
}

impl RecordedRequest {
    /// True if the request used `Transfer-Encoding: chunked`.
    pub fn is_chunked(&self) -> bool {
        self.headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"))
    }

    /// The `Content-Length` header, if present and valid.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(http::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_in_order_and_count_down() {
        let mut rules = vec![
            FaultRule::new(Fault::Status(507))
                .method(Method::PUT)
                .path("/dev2/")
                .times(1),
            FaultRule::new(Fault::Status(500)).path("/dev2/"),
        ];
        assert_eq!(take_fault(&mut rules, &Method::GET, "/dev1/x"), None);
        assert_eq!(
            take_fault(&mut rules, &Method::PUT, "/dev2/x"),
            Some(Fault::Status(507))
        );
        assert_eq!(
            take_fault(&mut rules, &Method::PUT, "/dev2/x"),
            Some(Fault::Status(500))
        );
        assert_eq!(
            take_fault(&mut rules, &Method::PUT, "/dev2/y"),
            Some(Fault::Status(500))
        );
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn one_in_n_applies_to_every_nth_match() {
        let mut rules = vec![FaultRule::new(Fault::Status(500)).one_in(3)];
        let hits: Vec<bool> = (0..9)
            .map(|_| take_fault(&mut rules, &Method::GET, "/dev1/x").is_some())
            .collect();
        assert_eq!(
            hits,
            [false, false, true, false, false, true, false, false, true]
        );
    }
}
