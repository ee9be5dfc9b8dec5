//! [`RequestLine`]: a request encoded once, sent with a new `callid` on every attempt.

use std::cell::Cell;

use bytes::{BufMut, BytesMut};

use crate::args::Args;
use crate::command::Command;
use crate::request::{Request, encode_line};

/// What [`RequestLine::of`] allocates before it knows the line's length: room for a command,
/// a domain, a key of a hundred bytes or so and a few options, with its `callid` (a longer line
/// grows the buffer once or twice). Under glibc's per-thread cache limit.
const TYPICAL_LINE: usize = 256;

/// The largest line buffer kept for the next line ([`SPARE`]): one that a long key grew past
/// this is let go.
const SPARE_KEEP: usize = 1024;

thread_local! {
    /// A finished line's buffer, which the next [`RequestLine::of`] on this thread writes into
    /// instead of allocating. A client finishes one request and starts its next in the same
    /// poll, so one buffer per thread is enough, and it bounds what is kept.
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// The most a `callid` adds to a line: `&callid=` and the 20 digits of `u64::MAX`.
const CALLID_ROOM: usize = "&callid=".len() + 20;

/// A request encoded once, to which a `callid` is added per attempt without encoding it again.
///
/// A client sends the same request to one tracker after another until one answers, with a fresh
/// `callid` each time (the tracker echoes it, so a reply can be matched to its request). Only the
/// `callid` digits change between attempts: the arguments are escaped once, and no attempt clones
/// the request or allocates a buffer.
///
/// The bytes are exactly those of [`Request::encode`] for the request with a last argument
/// `callid=<n>`: `callid` and decimal digits need no escaping. The tracker echoes it in `OK`
/// lines as a pair and in `ERR` lines after the text
/// ([`Response::callid`](crate::Response::callid) reads either).
///
/// ```
/// # use mogile_protocol::{Request, RequestLine};
/// let request = Request::new("get_paths")?.arg("domain", "media").arg("key", "a b");
/// let mut line = RequestLine::new(&request);
/// assert_eq!(line.bytes(), b"get_paths domain=media&key=a+b\r\n");
/// line.set_callid(7);
/// assert_eq!(line.bytes(), b"get_paths domain=media&key=a+b&callid=7\r\n");
/// line.set_callid(8); // the next attempt
/// assert_eq!(line.bytes(), b"get_paths domain=media&key=a+b&callid=8\r\n");
/// assert_eq!(line.callid(), b"8");
/// # Ok::<(), mogile_protocol::RequestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestLine {
    buf: BytesMut,
    /// Length of `<command> <args>`, without the line end.
    base: usize,
    /// Where the current `callid` digits start (`base` before the first one).
    digits: usize,
    /// Whether the request has arguments, so that the `callid` pair needs a `&` before it.
    has_args: bool,
}

impl RequestLine {
    /// Encodes `request` (as [`Request::encode`] does), with room for any `callid`.
    pub fn new(request: &Request) -> Self {
        Self::encode(request.command(), request.args())
    }

    /// Encodes a typed command's request: the same bytes as `RequestLine::new(&command.request())`,
    /// without building the [`Request`] in between.
    ///
    /// The command escapes its arguments straight into the line
    /// ([`ArgSink`](crate::ArgSink)). The line's buffer is the one the last line dropped on
    /// this thread left behind, if it was not grown past 1 KiB: a client that sends request
    /// after request allocates none.
    ///
    /// ```
    /// # use mogile_protocol::{Command, GetPaths, RequestLine};
    /// let command = GetPaths::new("media", "a b").noverify(true);
    /// let line = RequestLine::of(&command);
    /// assert_eq!(line.bytes(), b"get_paths domain=media&key=a+b&noverify=1\r\n");
    /// assert_eq!(line.bytes(), RequestLine::new(&command.request()).bytes());
    /// ```
    pub fn of<C: Command>(command: &C) -> Self {
        // Taking the spare fails only while the thread is torn down.
        let mut buf = match SPARE.try_with(Cell::take) {
            Ok(Some(mut spare)) => {
                spare.clear();
                spare
            }
            _ => BytesMut::with_capacity(TYPICAL_LINE),
        };
        let has_args = encode_line(C::NAME, &mut buf, |line| command.write_args(line));
        Self::with_room_for_callid(buf, has_args)
    }

    /// `<command> <args>\r\n`, with room for any `callid`.
    fn encode(command: &str, args: &Args) -> Self {
        // Sized for the line with a few escapes and any `callid`, so that encoding it allocates
        // once: `<command> ` + the pairs with their `=` and `&` + slack + the callid + `\r\n`.
        let plain = command.len() + 1 + args.raw_len() + 2 * args.len();
        let mut buf = BytesMut::with_capacity(plain + plain / 4 + 16 + CALLID_ROOM + 2);
        let has_args = encode_line(command, &mut buf, |line| args.push_all(line));
        Self::with_room_for_callid(buf, has_args)
    }

    /// A line from `<command> <args>\r\n`, made ready for [`set_callid`](Self::set_callid).
    fn with_room_for_callid(mut buf: BytesMut, has_args: bool) -> Self {
        // `encode_line` ends every line with `\r\n`.
        let base = buf.len().saturating_sub(2);
        // Room for the separator, `callid=`, 20 digits and the line end.
        buf.reserve(CALLID_ROOM + 2);
        Self {
            buf,
            base,
            digits: base,
            has_args,
        }
    }

    /// The length of the line without a `callid`, line end included.
    pub fn len_without_callid(&self) -> usize {
        self.base + 2
    }

    /// The longest the line can be with any `callid`: what a line-length limit must allow.
    pub fn max_len(&self) -> usize {
        self.len_without_callid() + CALLID_ROOM
    }

    /// Rewrites the line with `callid` as its last argument, replacing any earlier one.
    pub fn set_callid(&mut self, callid: u64) {
        self.buf.truncate(self.base);
        if self.has_args {
            self.buf.put_u8(b'&');
        }
        self.buf.put_slice(b"callid=");
        self.digits = self.buf.len();
        self.buf
            .put_slice(itoa::Buffer::new().format(callid).as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// The complete line to send, `\r\n` included.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The current `callid` as it was written, to compare with the echo (empty before the first
    /// [`set_callid`](Self::set_callid)).
    pub fn callid(&self) -> &[u8] {
        let end = self.buf.len().saturating_sub(2).max(self.digits);
        &self.buf[self.digits..end]
    }
}

/// Hands the buffer to the next [`RequestLine::of`] on this thread, unless a long line grew it.
impl Drop for RequestLine {
    fn drop(&mut self) {
        if self.buf.capacity() <= SPARE_KEEP {
            let buf = std::mem::take(&mut self.buf);
            // Fails only while the thread is torn down; the buffer is then freed.
            let _ = SPARE.try_with(|spare| spare.set(Some(buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, GetPaths, Noop};

    fn with_callid(request: &Request, callid: u64) -> Vec<u8> {
        let mut out = BytesMut::new();
        request
            .clone()
            .arg("callid", callid.to_string())
            .encode(&mut out);
        out.to_vec()
    }

    /// Byte for byte what the tracker captures show (`tracker_basic.txt`:
    /// `noop callid=1\r\nnoop callid=2\r\n`), and what encoding the request with a `callid`
    /// argument gives, attempt after attempt on the same line.
    #[test]
    fn the_callid_is_appended_exactly_as_an_encoded_argument() {
        let noop = Noop::new().request();
        let mut line = RequestLine::new(&noop);
        assert_eq!(line.bytes(), b"noop \r\n");
        assert_eq!(line.callid(), b"");
        line.set_callid(1);
        assert_eq!(line.bytes(), b"noop callid=1\r\n");
        assert_eq!(line.callid(), b"1");
        line.set_callid(2);
        assert_eq!(line.bytes(), b"noop callid=2\r\n");
        assert_eq!(line.bytes(), with_callid(&noop, 2));

        let paths = GetPaths::new("d", "a b&c").request();
        let mut line = RequestLine::new(&paths);
        for callid in [1, 10, 9, u64::MAX, 0] {
            line.set_callid(callid);
            assert_eq!(line.bytes(), with_callid(&paths, callid), "{callid}");
            assert_eq!(line.callid(), callid.to_string().as_bytes());
        }
        line.set_callid(3);
        assert_eq!(line.bytes(), b"get_paths domain=d&key=a+b%26c&callid=3\r\n");
    }

    #[test]
    fn max_len_bounds_every_callid() {
        for request in [Noop::new().request(), GetPaths::new("d", "k").request()] {
            let mut line = RequestLine::new(&request);
            let plain = line.bytes().len();
            assert_eq!(line.len_without_callid(), plain);
            line.set_callid(u64::MAX);
            assert!(line.bytes().len() <= line.max_len());
            // With arguments the bound is exact.
            if !request.args().is_empty() {
                assert_eq!(line.bytes().len(), line.max_len());
            }
        }
    }

    #[test]
    fn a_dropped_line_lends_its_buffer_to_the_next_one() {
        let first = RequestLine::of(&GetPaths::new("d", "k1"));
        let at = first.bytes().as_ptr();
        drop(first);
        let second = RequestLine::of(&GetPaths::new("d", "k2"));
        assert_eq!(second.bytes().as_ptr(), at, "the same buffer");
        assert_eq!(second.bytes(), b"get_paths domain=d&key=k2\r\n");
        // A line grown past the limit is let go, and the next one starts small.
        let long = RequestLine::of(&GetPaths::new("d", "k".repeat(4096)));
        assert!(long.bytes().len() > SPARE_KEEP);
        drop((second, long));
        let next = RequestLine::of(&Noop::new());
        assert_eq!(next.bytes(), b"noop \r\n");
        assert!(next.buf.capacity() <= SPARE_KEEP);
    }

    proptest::proptest! {
        /// `of` gives the bytes of `new(&command.request())`, for short keys and for keys of
        /// 8 KiB, which outgrow the line's first allocation.
        #[test]
        fn of_encodes_as_new(
            keys in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                    proptest::collection::vec(proptest::num::u8::ANY, 8192..8193),
                ],
                1..8,
            ),
            domain in "[a-z%& ]{0,12}",
        ) {
            for key in keys {
                let key = crate::Key::from(key);
                let paths = GetPaths::new(domain.as_str(), key.clone()).noverify(true);
                let (of, new) = (RequestLine::of(&paths), RequestLine::new(&paths.request()));
                proptest::prop_assert_eq!(of.bytes(), new.bytes());
                let open = crate::CreateOpen::new(domain.as_str()).key(key).class("c").size(7);
                let (of, new) = (RequestLine::of(&open), RequestLine::new(&open.request()));
                proptest::prop_assert_eq!(of.bytes(), new.bytes());
                let noop = RequestLine::of(&Noop::new());
                proptest::prop_assert_eq!(noop.bytes(), b"noop \r\n");
            }
        }
    }
}
