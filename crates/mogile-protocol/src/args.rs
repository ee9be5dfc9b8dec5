//! Argument lists (`name=value&name=value`): the client and server readings.

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use crate::error::DecodeError;
use crate::escape::{escape, is_plain, plain_run_end, unescape_into, unescape_one};

/// The most storage, in bytes, an argument list kept for reuse may hold
/// ([`Args::worth_keeping`]).
pub(crate) const REUSE_KEEP: usize = 4096;

/// Perl truthiness of a decoded value: the empty string and `0` are false.
fn perl_true(value: &[u8]) -> bool {
    !(value.is_empty() || value == b"0")
}

/// One pair inside [`Args`]: the name is `buf[start..name_end]`, the value
/// `buf[value_start..end]`. Between the two there is nothing for a pair that was pushed or
/// unescaped, and the `=` for one that was decoded as it came ([`Args::decode_reusing`]).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    name_end: usize,
    value_start: usize,
    end: usize,
}

impl Span {
    /// A name and value written one after the other, from `start`.
    fn adjacent(start: usize, mid: usize, end: usize) -> Self {
        Self {
            start,
            name_end: mid,
            value_start: mid,
            end,
        }
    }
}

/// Where a command writes its request arguments ([`Command::write_args`](crate::Command::write_args)):
/// an [`Args`] list, or the encoded request line itself, which
/// [`RequestLine::of`](crate::RequestLine::of) has them escaped straight into, with no list in
/// between. Both give the same pairs in the same order.
///
/// Sealed: a command only calls it.
///
/// ```
/// use mogile_protocol::{ArgSink, Args};
///
/// fn write(args: &mut impl ArgSink) {
///     args.push("domain", "media");
///     args.push_display("size", 7);
/// }
/// let mut args = Args::new();
/// write(&mut args);
/// assert_eq!(args, Args::new().with("domain", "media").with("size", "7"));
/// ```
pub trait ArgSink: sealed::Sealed {
    /// Appends a pair.
    fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>);

    /// Appends a pair whose value is formatted (numbers), without a temporary string.
    fn push_display(&mut self, name: impl AsRef<[u8]>, value: impl fmt::Display);
}

mod sealed {
    /// Only this crate's sinks implement [`ArgSink`](super::ArgSink).
    pub trait Sealed {}
    impl Sealed for super::Args {}
    impl Sealed for super::LineArgs<'_> {}
}

impl ArgSink for Args {
    fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        Self::push(self, name, value);
    }

    fn push_display(&mut self, name: impl AsRef<[u8]>, value: impl fmt::Display) {
        Self::push_display(self, name, value);
    }
}

/// Arguments escaped straight onto the end of an encoded line: `n=v&n=v`, as the Perl client
/// writes them. The one place that shape is written ([`Args::encode_into`] goes through it too).
pub(crate) struct LineArgs<'a> {
    dst: &'a mut BytesMut,
    pairs: usize,
}

impl<'a> LineArgs<'a> {
    /// Appends pairs to `dst` from its current end.
    pub(crate) fn new(dst: &'a mut BytesMut) -> Self {
        Self { dst, pairs: 0 }
    }

    /// How many pairs were appended.
    pub(crate) fn pairs(&self) -> usize {
        self.pairs
    }

    /// The separator before a pair, and its escaped name and `=`.
    fn start_pair(&mut self, name: &[u8]) {
        if self.pairs > 0 {
            self.dst.put_u8(b'&');
        }
        self.pairs += 1;
        escape(name, self.dst);
        self.dst.put_u8(b'=');
    }
}

impl ArgSink for LineArgs<'_> {
    fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.start_pair(name.as_ref());
        escape(value.as_ref(), self.dst);
    }

    fn push_display(&mut self, name: impl AsRef<[u8]>, value: impl fmt::Display) {
        use std::fmt::Write as _;
        self.start_pair(name.as_ref());
        let start = self.dst.len();
        // Writing into a `BytesMut` cannot fail; a Display impl that errors would leave a
        // partial value, which no number type does.
        let _ = write!(self.dst, "{value}");
        // Numbers need no escaping; anything else is escaped like any value.
        if !is_plain(&self.dst[start..]) {
            let raw = self.dst.split_off(start);
            escape(&raw, self.dst);
        }
    }
}

/// An ordered list of `name=value` pairs, names and values being arbitrary bytes.
///
/// The pairs live in one buffer, so decoding a line costs two allocations however many pairs it
/// holds. Names need not be unique; [`Args::get`] returns the first match. Two lists are equal
/// when they hold the same pairs in the same order.
#[derive(Clone, Default)]
pub struct Args {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl Args {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for a typical request's arguments (domain, key, a few options),
    /// so that building them does not grow the buffers pair by pair.
    pub(crate) fn for_request() -> Self {
        Self {
            buf: Vec::with_capacity(128),
            spans: Vec::with_capacity(6),
        }
    }

    /// Removes every pair, keeping the buffers' capacity.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
    }

    /// The bytes the buffers hold room for: what keeping this list around costs.
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * size_of::<Span>()
    }

    /// Whether storage kept for reuse
    /// ([`ResponseDecoder::recycle`](crate::ResponseDecoder::recycle)'s spare) is small enough
    /// to keep: one that a large reply grew past [`REUSE_KEEP`] is let go, so that it does not
    /// stay allocated for a connection's life.
    pub(crate) fn worth_keeping(&self) -> bool {
        self.capacity_bytes() <= REUSE_KEEP
    }

    /// The unescaped length of all names and values (for a decoded list, with its separators):
    /// with [`len`](Self::len), a close estimate of the encoded length when few bytes need
    /// escaping.
    pub(crate) fn raw_len(&self) -> usize {
        self.buf.len()
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let start = self.buf.len();
        self.buf.extend_from_slice(name.as_ref());
        let mid = self.buf.len();
        self.buf.extend_from_slice(value.as_ref());
        self.spans.push(Span::adjacent(start, mid, self.buf.len()));
    }

    /// Appends a pair whose value is formatted in place (numbers), without a temporary string.
    pub fn push_display(&mut self, name: impl AsRef<[u8]>, value: impl fmt::Display) {
        use std::io::Write as _;
        let start = self.buf.len();
        self.buf.extend_from_slice(name.as_ref());
        let mid = self.buf.len();
        // Writing into a Vec cannot fail; a Display impl that errors would leave a partial
        // value, which no number type does.
        let _ = write!(self.buf, "{value}");
        self.spans.push(Span::adjacent(start, mid, self.buf.len()));
    }

    /// Appends a pair, builder style.
    #[must_use]
    pub fn with(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.push(name, value);
        self
    }

    /// The value of the first pair called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The first value of each of `names`, found in one pass over the pairs, where
    /// [`get`](Self::get) for each name would pass over them once per name (a reply with many
    /// fields, read field by field, is quadratic in its length).
    pub(crate) fn first_of<const N: usize>(&self, names: [&str; N]) -> [Option<&[u8]>; N] {
        let mut found = [None; N];
        let mut left = N;
        for (name, value) in self.iter() {
            let slot = names
                .iter()
                .zip(found.iter_mut())
                .find(|(wanted, slot)| slot.is_none() && wanted.as_bytes() == name);
            if let Some((_, slot)) = slot {
                *slot = Some(value);
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        found
    }

    /// The value of `name` as UTF-8 text.
    ///
    /// # Errors
    /// [`DecodeError::BadField`] when the value is not UTF-8.
    pub fn str(&self, name: &str) -> Result<Option<&str>, DecodeError> {
        self.get(name).map(|v| str_value(name, v)).transpose()
    }

    /// The value of `name`, which must be present.
    ///
    /// # Errors
    /// [`DecodeError::MissingField`] when absent.
    pub fn required(&self, name: &str) -> Result<&[u8], DecodeError> {
        self.get(name).ok_or_else(|| DecodeError::missing(name))
    }

    /// The value of `name`, which must be present, as UTF-8 text.
    ///
    /// # Errors
    /// [`DecodeError::MissingField`] or [`DecodeError::BadField`].
    pub fn required_str(&self, name: &str) -> Result<&str, DecodeError> {
        self.str(name)?.ok_or_else(|| DecodeError::missing(name))
    }

    /// The value of `name` parsed with [`FromStr`].
    ///
    /// # Errors
    /// [`DecodeError::MissingField`] when absent, [`DecodeError::BadField`] when it does not parse.
    pub fn parse<T: FromStr>(&self, name: &str) -> Result<T, DecodeError> {
        parse_value(name, self.required(name)?)
    }

    /// Like [`Args::parse`], but an absent or empty value is `None`.
    ///
    /// # Errors
    /// [`DecodeError::BadField`] when a non-empty value does not parse.
    pub fn parse_opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, DecodeError> {
        match self.get(name) {
            None | Some(b"") => Ok(None),
            Some(v) => parse_value(name, v).map(Some),
        }
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.spans.iter().map(|s| {
            (
                &self.buf[s.start..s.name_end],
                &self.buf[s.value_start..s.end],
            )
        })
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Removes every pair called `name` and returns the first one's value.
    pub fn remove(&mut self, name: &str) -> Option<Vec<u8>> {
        let first = self.get(name).map(<[u8]>::to_vec);
        if first.is_some() {
            let buf = &self.buf;
            self.spans
                .retain(|s| &buf[s.start..s.name_end] != name.as_bytes());
        }
        first
    }

    /// Appends `n=v&n=v` to `dst`, escaped as the Perl client does ([`escape`]).
    pub fn encode_into(&self, dst: &mut BytesMut) {
        self.push_all(&mut LineArgs::new(dst));
    }

    /// Appends every pair, in order, to `sink`.
    pub(crate) fn push_all(&self, sink: &mut impl ArgSink) {
        for (name, value) in self.iter() {
            sink.push(name, value);
        }
    }

    /// Decodes an argument string faithfully, as a client reads the tracker's `OK` lines.
    ///
    /// Pieces are split on `&` (empty pieces skipped), each at its first `=` (a piece without `=`
    /// has an empty value), then unescaped with [`unescape`](crate::unescape). Empty values and duplicate names
    /// are kept as they are.
    pub fn decode(src: &[u8]) -> Self {
        Self::decode_reusing(src, Self::new())
    }

    /// [`decode`](Self::decode) into the storage of `spare`, whose pairs are discarded: a reader
    /// that hands every reply's arguments back once it has read them (as
    /// [`ResponseDecoder::recycle`](crate::ResponseDecoder::recycle) takes them) decodes without
    /// allocating.
    ///
    /// ```
    /// use mogile_protocol::Args;
    ///
    /// let first = Args::decode(b"paths=1&path1=http://n/1.fid");
    /// let second = Args::decode_reusing(b"paths=0", first);
    /// assert_eq!(second, Args::decode(b"paths=0"));
    /// ```
    pub fn decode_reusing(src: &[u8], spare: Self) -> Self {
        let mut args = spare;
        args.clear();
        args.spans.reserve(8);
        // This is the hot path of every reply, and a reply rarely escapes anything: a tracker
        // escapes only bytes outside `[A-Za-z0-9_,\-./\\:]`, which paths, numbers and most
        // keys never hold. Without an escape the line is copied whole and only split.
        if memchr::memchr2(b'%', b'+', src).is_none() {
            args.split_plain(src);
        } else {
            args.decode_escaped(src);
        }
        args
    }

    /// [`decode_reusing`](Self::decode_reusing) of a line without `%` or `+`: the buffer is
    /// the line itself, and each pair a span of it, the `=` left between name and value.
    fn split_plain(&mut self, src: &[u8]) {
        self.buf.extend_from_slice(src);
        let mut start = 0;
        loop {
            let end = memchr::memchr(b'&', &src[start..]).map_or(src.len(), |i| start + i);
            // Empty pieces (`&&`) are skipped; a piece without `=` is a name with an empty value.
            if end > start {
                // Names are short: a plain scan finds the `=` sooner than a vector search
                // is set up.
                let (name_end, value_start) = match src[start..end].iter().position(|&b| b == b'=')
                {
                    Some(i) => (start + i, start + i + 1),
                    None => (end, end),
                };
                self.spans.push(Span {
                    start,
                    name_end,
                    value_start,
                    end,
                });
            }
            if end == src.len() {
                return;
            }
            start = end + 1;
        }
    }

    /// [`decode_reusing`](Self::decode_reusing) of a line with escapes: one pass over the
    /// line, copying runs of plain bytes and unescaping the rest, rather than splitting first
    /// and scanning each piece again.
    fn decode_escaped(&mut self, src: &[u8]) {
        self.buf.reserve(src.len());
        let mut piece_start = 0; // in `src`
        let mut start = 0; // in `buf`
        let mut mid = None;
        let mut i = 0;
        loop {
            let run = i;
            i = plain_run_end(src, i);
            self.buf.extend_from_slice(&src[run..i]);
            if i == src.len() || src[i] == b'&' {
                if i > piece_start {
                    let end = self.buf.len();
                    self.spans
                        .push(Span::adjacent(start, mid.unwrap_or(end), end));
                }
                if i == src.len() {
                    return;
                }
                i += 1;
                piece_start = i;
                start = self.buf.len();
                mid = None;
            } else if src[i] == b'=' {
                match mid {
                    None => mid = Some(self.buf.len()),
                    Some(_) => self.buf.push(b'='),
                }
                i += 1;
            } else {
                i += unescape_one(src, i, &mut self.buf);
            }
        }
    }

    /// Decodes an argument string exactly as the 2.73 tracker does (`protocol.md` 2.4), so that a
    /// fake tracker mirrors the real one.
    ///
    /// - pieces that are empty or exactly `0` are dropped (Perl truthiness);
    /// - a value ends at a second raw `=` (`key=a=b` gives `a`);
    /// - names are unescaped too (`k%65y` is `key`);
    /// - a repeated name appends to the first value, joined with NUL when that value was true
    ///   in Perl (not empty, not `0`), directly otherwise (`key=0&key=x` gives `0x`).
    pub fn decode_server(src: &[u8]) -> Self {
        let mut args = Self::new();
        let mut name = Vec::new();
        let mut value = Vec::new();
        for piece in src.split(|&b| b == b'&').filter(|p| perl_true(p)) {
            let mut fields = piece.split(|&b| b == b'=');
            name.clear();
            value.clear();
            unescape_into(fields.next().unwrap_or_default(), &mut name);
            unescape_into(fields.next().unwrap_or_default(), &mut value);
            args.append_server(&name, &value);
        }
        args
    }

    /// The `.=` of the tracker's `decode_url_args`.
    fn append_server(&mut self, name: &[u8], value: &[u8]) {
        let Some(idx) = self
            .spans
            .iter()
            .position(|s| &self.buf[s.start..s.name_end] == name)
        else {
            self.push(name, value);
            return;
        };
        let span = self.spans[idx];
        let mut joined = self.buf[span.value_start..span.end].to_vec();
        if perl_true(&joined) {
            joined.push(0);
        }
        joined.extend_from_slice(value);
        // Rewrite the value at the end of the buffer; the old bytes become unreachable.
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
        let mid = self.buf.len();
        self.buf.extend_from_slice(&joined);
        self.spans[idx] = Span::adjacent(start, mid, self.buf.len());
    }
}

/// `value`, the value of the field `name`, as UTF-8 text.
pub(crate) fn str_value<'a>(name: &str, value: &'a [u8]) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(value).map_err(|_| DecodeError::bad_field(name, value))
}

/// `value`, the value of the field `name`, parsed with [`FromStr`].
pub(crate) fn parse_value<T: FromStr>(name: &str, value: &[u8]) -> Result<T, DecodeError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DecodeError::bad_field(name, value))
}

impl PartialEq for Args {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Args {}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(N, V)> for Args {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut args = Self::new();
        for (n, v) in iter {
            args.push(n, v);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::unescape;

    #[test]
    fn decoding_into_spare_storage_keeps_it_and_drops_its_pairs() {
        let long = Args::decode(b"paths=2&path1=http://n:7500/dev1/0/000/000/0000000001.fid&x");
        let capacity = long.capacity_bytes();
        for line in [&b"paths=0"[..], b"", b"a=1&a=2&b", b"k=%41+b&="] {
            let spare =
                Args::decode(b"paths=2&path1=http://n:7500/dev1/0/000/000/0000000001.fid&x");
            let reused = Args::decode_reusing(line, spare);
            assert_eq!(reused, Args::decode(line), "{line:?}");
            assert_eq!(reused.capacity_bytes(), capacity, "no new allocation");
        }
    }

    #[test]
    fn decode_keeps_empty_values_and_order() {
        let args = Args::decode(b"b=&a=1&c&&d=x=y");
        let pairs: Vec<_> = args.iter().collect();
        assert_eq!(
            pairs,
            vec![
                (&b"b"[..], &b""[..]),
                (&b"a"[..], &b"1"[..]),
                (&b"c"[..], &b""[..]),
                (&b"d"[..], &b"x=y"[..])
            ]
        );
        assert_eq!(args.get("b"), Some(&b""[..]));
        assert_eq!(args.parse_opt::<u32>("b"), Ok(None));
        assert_eq!(args.parse::<u32>("a"), Ok(1));
        assert_eq!(
            args.parse::<u32>("z"),
            Err(DecodeError::MissingField("z".into()))
        );
        assert!(matches!(
            args.parse::<u32>("d"),
            Err(DecodeError::BadField { .. })
        ));
    }

    /// The straightforward split-then-unescape reading, against which the one-pass decoder is
    /// checked with special bytes at every offset (the word-at-a-time scan has edge cases).
    fn naive_decode(src: &[u8]) -> Args {
        src.split(|&b| b == b'&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.iter().position(|&b| b == b'=') {
                Some(eq) => (unescape(&p[..eq]), unescape(&p[eq + 1..])),
                None => (unescape(p), Vec::new()),
            })
            .collect()
    }

    proptest::proptest! {
        /// Both readings (a line without escapes is split in place, one with escapes is
        /// unescaped as it is copied) agree with the naive one, on fresh and on reused storage
        /// (the reused storage held a line of the other kind).
        #[test]
        fn decode_matches_naive_with_and_without_escapes(
            line in proptest::collection::vec(proptest::sample::select(&b"ab1=&%+4"[..]), 0..40),
            other in proptest::collection::vec(proptest::sample::select(&b"ab1=&%+4"[..]), 0..40),
        ) {
            let expected = naive_decode(&line);
            proptest::prop_assert_eq!(&Args::decode(&line), &expected);
            let reused = Args::decode_reusing(&line, Args::decode(&other));
            proptest::prop_assert_eq!(&reused, &expected);
            proptest::prop_assert!(reused.iter().eq(expected.iter()));
        }
    }

    /// Equality is by pairs, not by how the buffer holds them: a decoded line (its `=` kept in
    /// the buffer), the same pairs pushed, and a list with a removed pair's bytes still inside.
    #[test]
    fn equal_pairs_are_equal_lists() {
        let pushed = Args::new()
            .with("paths", "1")
            .with("path1", "http://n/1.fid");
        assert_eq!(Args::decode(b"paths=1&path1=http://n/1.fid"), pushed);
        let mut removed = Args::decode(b"paths=1&callid=7&path1=http://n/1.fid");
        removed.remove("callid");
        assert_eq!(removed, pushed);
        assert_ne!(Args::decode(b"paths=1"), pushed);
        assert_ne!(Args::decode(b"path1=http://n/1.fid&paths=1"), pushed);
    }

    #[test]
    fn one_pass_decode_matches_naive_at_every_offset() {
        for special in [&b"+"[..], b"%", b"%4", b"%41", b"&", b"=", b"&&", b"=="] {
            for len in 0..24 {
                for pos in 0..=len {
                    let mut line = b"k=".to_vec();
                    line.extend(std::iter::repeat_n(b'x', len));
                    line.splice(2 + pos..2 + pos, special.iter().copied());
                    assert_eq!(Args::decode(&line), naive_decode(&line), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn encode_roundtrip() {
        let args = Args::new()
            .with("key", "a b+c&d=e%f\r\n\0")
            .with("domain", "");
        let mut out = BytesMut::new();
        args.encode_into(&mut out);
        assert_eq!(&out[..], b"key=a+b%2Bc%26d%3De%25f%0D%0A%00&domain=");
        assert_eq!(Args::decode(&out), args);
    }

    #[test]
    fn server_quirks() {
        let args = Args::decode_server(b"a=1&0&&k%65y=x=y&flag&key=0&key=z&n=p&n=q&n=");
        let pairs: Vec<_> = args.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"key".to_vec(), b"x\x000\x00z".to_vec()),
                (b"flag".to_vec(), b"".to_vec()),
                (b"n".to_vec(), b"p\0q\0".to_vec()),
            ]
        );
    }

    #[test]
    fn server_join_after_false_value_is_direct() {
        assert_eq!(
            Args::decode_server(b"key=0&key=x").get("key"),
            Some(&b"0x"[..])
        );
        assert_eq!(
            Args::decode_server(b"key=&key=x").get("key"),
            Some(&b"x"[..])
        );
    }

    #[test]
    fn remove_drops_all_matches() {
        let mut args = Args::new()
            .with("callid", "1")
            .with("a", "b")
            .with("callid", "2");
        assert_eq!(args.remove("callid"), Some(b"1".to_vec()));
        assert_eq!(args.len(), 1);
        assert_eq!(args.remove("callid"), None);
    }
}
