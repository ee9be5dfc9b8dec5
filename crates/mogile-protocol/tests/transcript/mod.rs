//! A reader for the `tracker_*.txt` capture transcripts (`testdata/README.md` describes them).
//!
//! What it understands, explicitly:
//! - `# ...` comment lines and blank lines are skipped;
//! - `> ` lines are bytes sent; one line may hold several requests, part of one, or only empty
//!   lines, so requests are recovered by feeding every `>` line into a server-side
//!   [`RequestDecoder`] in order;
//! - `< ` lines are single response lines, or lines of a multi-line `!` reply (which may end in
//!   a bare LF), up to the `.` line;
//! - `< (...)` lines are pseudo-lines: `(no response line within ...)` means the oldest pending
//!   complete request got no reply (the watchdog case) or, if none is pending, that the bytes
//!   sent so far do not form a line yet; `(timeout: no second line ...)` asserts nothing more
//!   arrived;
//! - escapes `\r \n \t \\ \xNN` and size macros `<N x 'c'>` are expanded;
//! - a trailing `   (...)` annotation after the escaped line end is dropped, except
//!   `(after 'X' sent ...)`, which says the bytes `X` were sent before this line.

use bytes::BytesMut;
use mogile_protocol::{RequestDecoder, ServerLine};

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Bytes sent to the tracker.
    Sent(Vec<u8>),
    /// One line received, terminator included.
    Received(Vec<u8>),
    /// A pseudo-line: what was (not) observed.
    Pseudo(String),
}

/// What a request got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// One response line, terminator included.
    Line(Vec<u8>),
    /// A `!` reply: every line received, the final `.` line included.
    Admin(Vec<Vec<u8>>),
    /// Nothing (the request outlived the tracker's watchdog).
    Nothing,
}

/// A request and its reply.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The request as the server-side decoder saw it.
    pub(crate) request: ServerLine,
    /// The reply.
    pub(crate) reply: Reply,
}

/// Decodes the capture escapes `\r \n \t \\ \xNN`; anything else is literal.
pub(crate) fn unescape_capture(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let decoded = match b[i + 1] {
                b'r' => Some((b'\r', 2)),
                b'n' => Some((b'\n', 2)),
                b't' => Some((b'\t', 2)),
                b'\\' => Some((b'\\', 2)),
                b'x' if i + 3 < b.len() => std::str::from_utf8(&b[i + 2..i + 4])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|v| (v, 4)),
                _ => None,
            };
            if let Some((byte, used)) = decoded {
                out.push(byte);
                i += used;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Expands `<N x 'c'>` size macros.
pub(crate) fn expand_macros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match parse_macro(tail) {
            Some((count, c, used)) => {
                out.extend(std::iter::repeat_n(c, count));
                rest = &tail[used..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `<N x 'c'>` at the start of `s`: (N, c, bytes used).
fn parse_macro(s: &str) -> Option<(usize, char, usize)> {
    let body = s.strip_prefix('<')?;
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    let count = body[..digits].parse().ok()?;
    let after = body[digits..].strip_prefix(" x '")?;
    let c = after.chars().next()?;
    let close = after[c.len_utf8()..].strip_prefix("'>")?;
    Some((count, c, s.len() - close.len()))
}

/// Splits a `>`/`<` payload into the escaped line and its trailing annotation.
fn split_annotation(payload: &str) -> (&str, Option<&str>) {
    match payload.find("\\n   (") {
        Some(i) if payload.ends_with(')') => {
            let cut = i + 2;
            (&payload[..cut], Some(payload[cut..].trim_start()))
        }
        _ => (payload, None),
    }
}

/// Parses a transcript into events.
pub(crate) fn parse(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for line in text.lines() {
        if let Some(payload) = line
            .strip_prefix("> ")
            .or_else(|| (line == ">").then_some(""))
        {
            let (escaped, note) = split_annotation(payload);
            if let Some(prefix) = note.and_then(sent_before) {
                events.push(Event::Sent(prefix.as_bytes().to_vec()));
            }
            events.push(Event::Sent(unescape_capture(&expand_macros(escaped))));
        } else if let Some(payload) = line.strip_prefix("< ") {
            if payload.starts_with('(') {
                events.push(Event::Pseudo(payload.to_owned()));
            } else {
                let (escaped, _note) = split_annotation(payload);
                events.push(Event::Received(unescape_capture(&expand_macros(escaped))));
            }
        } else {
            assert!(
                line.is_empty() || line.starts_with('#'),
                "unexpected transcript line {line:?}"
            );
        }
    }
    events
}

/// `(after 'X' sent ...)`: the bytes X went out before the annotated line.
fn sent_before(note: &str) -> Option<&str> {
    let rest = note.strip_prefix("(after '")?;
    let end = rest.find("' sent")?;
    Some(&rest[..end])
}

/// Pairs requests with replies by replaying the events through a server-side decoder.
pub(crate) fn exchanges(events: &[Event]) -> Vec<Exchange> {
    // The captures include 16 MiB request lines; the real tracker has no limit.
    let mut decoder = RequestDecoder::new().max_line_len(64 << 20);
    let mut sent = BytesMut::new();
    let mut pending: std::collections::VecDeque<ServerLine> = Default::default();
    let mut admin_lines: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::Sent(bytes) => {
                sent.extend_from_slice(bytes);
                while let Some(line) = decoder.decode_server_line(&mut sent).unwrap() {
                    pending.push_back(line);
                }
            }
            Event::Received(line) => {
                let request = pending
                    .front()
                    .cloned()
                    .expect("a reply without a pending request");
                if matches!(request, ServerLine::Admin(_)) {
                    admin_lines.push(line.clone());
                    if line == b".\r\n" {
                        pending.pop_front();
                        out.push(Exchange {
                            request,
                            reply: Reply::Admin(std::mem::take(&mut admin_lines)),
                        });
                    }
                } else {
                    pending.pop_front();
                    out.push(Exchange {
                        request,
                        reply: Reply::Line(line.clone()),
                    });
                }
            }
            Event::Pseudo(text) if text.starts_with("(no response line") => {
                if let Some(request) = pending.pop_front() {
                    out.push(Exchange {
                        request,
                        reply: Reply::Nothing,
                    });
                }
            }
            Event::Pseudo(text) => {
                assert!(
                    text.starts_with("(timeout: no second line"),
                    "unknown pseudo-line {text:?}"
                );
                assert!(pending.is_empty(), "a request still waits at {text:?}");
            }
        }
    }
    assert!(
        pending.is_empty(),
        "requests without replies at the end: {pending:?}"
    );
    assert!(sent.is_empty(), "unterminated bytes at the end: {sent:?}");
    out
}

#[test]
fn reader_handles_macros_escapes_and_annotations() {
    assert_eq!(expand_macros("k=<3 x 'k'>&<b>"), "k=kkk&<b>");
    assert_eq!(
        unescape_capture(r"a\r\n\t\\\x00\xffz\q"),
        b"a\r\n\t\\\x00\xffz\\q"
    );
    let events = parse(concat!(
        "# comment\n",
        "> op\\r\\n   (after 'no' sent 0.5 s earlier)\n",
        "< OK \\r\\n\n",
        "> noop callid=1\\r\\nnoop callid=2\\r\\n\n",
        "< OK callid=1\\r\\n\n",
        "< OK callid=2\\r\\n   (second reply of the pipelined pair)\n",
        "> noop\n",
        "< (no response line within 3.0s)\n",
        "> \\r\\n\n",
        "< OK \\r\\n\n",
        "> !version\\r\\n\n",
        "< 2.73\\r\\n\n",
        "< .\\r\\n\n",
        "> sleep duration=40\\r\\n\n",
        "< (no response line within 60.0s)\n",
    ));
    assert_eq!(events[0], Event::Sent(b"no".to_vec()));
    let ex = exchanges(&events);
    assert_eq!(ex.len(), 6);
    assert_eq!(ex[2].reply, Reply::Line(b"OK callid=2\r\n".to_vec()));
    assert!(matches!(&ex[3].request, ServerLine::Query(r) if r.command() == "noop"));
    assert_eq!(
        ex[4].reply,
        Reply::Admin(vec![b"2.73\r\n".to_vec(), b".\r\n".to_vec()])
    );
    assert_eq!(ex[5].reply, Reply::Nothing);
}
