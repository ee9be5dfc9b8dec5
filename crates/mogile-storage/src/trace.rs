//! The `storage_transfer` span: one per request to a storage node, with its method, URL, status,
//! bytes moved and duration.
//!
//! Nothing is formatted, and the clock is not read, unless a subscriber enabled the span: the URL
//! is recorded through a `Display` wrapper, and [`Transfer::start`] takes the time only for an
//! enabled span.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;

use tokio::time::Instant;
use tracing::{Span, field};

use crate::error::StorageError;
use crate::options::PutOutcome;

/// A request's span and, when it is enabled, the time it started.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    span: Span,
    started: Option<Instant>,
}

impl Transfer {
    /// The span of a `method` request to `url` (a `DEBUG` span: the facade's operations are the
    /// `INFO` ones).
    pub(crate) fn start(method: &'static str, url: &str) -> Self {
        let span = tracing::debug_span!(
            "storage_transfer",
            method,
            url = %Url(url),
            status = field::Empty,
            bytes = field::Empty,
            duration = field::Empty,
            error = field::Empty,
        );
        let started = (!span.is_disabled()).then(Instant::now);
        Self { span, started }
    }

    /// Runs the future `make` makes inside the span (entered at each poll), as `.instrument`
    /// does. It takes a maker, not a future, for the reason
    /// [`with_headers_timeout`](crate::client::with_headers_timeout) does: a future passed in is
    /// copied into this one's state, and a request's future is most of a `GET`'s (about 1.8 KB).
    pub(crate) async fn run<F: Future>(&self, make: impl FnOnce() -> F) -> F::Output {
        let mut fut = pin!(make());
        poll_fn(|cx| {
            let _entered = self.span.enter();
            fut.as_mut().poll(cx)
        })
        .await
    }

    /// Records the node's status line.
    pub(crate) fn status(&self, status: u16) {
        self.span.record("status", status);
    }

    /// A transfer that records nothing.
    pub(crate) fn none() -> Self {
        Self {
            span: Span::none(),
            started: None,
        }
    }

    /// Records the end of the transfer: the body's bytes sent or received, when known, and the
    /// error it ended with, if any.
    pub(crate) fn finish(&self, bytes: Option<u64>, error: Option<&StorageError>) {
        let Some(started) = self.started else {
            return;
        };
        if let Some(bytes) = bytes {
            self.span.record("bytes", bytes);
        }
        self.span
            .record("duration", field::debug(started.elapsed()));
        if let Some(e) = error {
            if let Some(status) = e.status() {
                self.status(status);
            }
            self.span.record("error", field::display(e));
        }
    }
}

impl Transfer {
    /// Records the end of a `PUT`: status and bytes sent, or the error.
    pub(crate) fn put_done(&self, result: Result<&PutOutcome, &StorageError>) {
        match result {
            Ok(out) => {
                self.status(out.status);
                self.finish(Some(out.bytes_sent), None);
            }
            Err(e) => self.finish(None, Some(e)),
        }
    }
}

/// A URL for a log line. Storage only ever sends a URL made of printable ASCII (anything else is
/// refused as [`StorageError::InvalidUrl`] before a connection is made); any other one is shown
/// in its `Debug` form, with every control character escaped.
struct Url<'a>(&'a str);

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.bytes().all(|b| b.is_ascii_graphic()) {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_control_characters_is_escaped() {
        assert_eq!(
            Url("http://h/dev1/x.fid").to_string(),
            "http://h/dev1/x.fid"
        );
        let shown = Url("http://h/\u{1b}[2J\r\n").to_string();
        assert!(!shown.contains(['\u{1b}', '\r', '\n']), "{shown}");
    }
}
