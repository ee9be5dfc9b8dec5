//! The Perl escaping rules shared by the tracker and the Perl client (`protocol.md` 2.3, 2.4).

use bytes::{BufMut, BytesMut};

/// Bytes that the Perl client and the tracker send as they are: `[A-Za-z0-9_,\-./\\:]`. The
/// space becomes `+`; every other byte is escaped as `%XX`.
const PLAIN: [bool; 256] = {
    let mut table = byte_table(b"_,-./\\:");
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = true;
        }
        b += 1;
    }
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `src` to `dst` escaped exactly as the tracker and the Perl client do it.
///
/// `[A-Za-z0-9_,\-./\\:]` stay as they are, a space becomes `+`, every other byte (including
/// `+ & = %`, control bytes, NUL and every byte >= 0x80) becomes `%XX` with upper-case hex.
///
/// ```
/// let mut out = bytes::BytesMut::new();
/// mogile_protocol::escape(b"a b+c/d&\xff", &mut out);
/// assert_eq!(&out[..], b"a+b%2Bc/d%26%FF");
/// ```
pub fn escape(src: &[u8], dst: &mut BytesMut) {
    // Names and values are mostly plain, and short: find how much is, without a branch per
    // byte, and copy it whole.
    let plain = plain_prefix(src);
    dst.extend_from_slice(&src[..plain]);
    if plain < src.len() {
        escape_rest(&src[plain..], dst);
    }
}

/// Whether `src` needs no escaping.
pub(crate) fn is_plain(src: &[u8]) -> bool {
    plain_prefix(src) == src.len()
}

/// The length of the run of plain bytes `src` starts with.
fn plain_prefix(src: &[u8]) -> usize {
    // Eight bytes at a time, all eight looked up before one test: a short value costs a few
    // table loads, not a compare and branch per byte.
    let mut chunks = src.chunks_exact(8);
    let mut done = 0;
    for chunk in chunks.by_ref() {
        if !chunk
            .iter()
            .fold(true, |all, &b| all & PLAIN[usize::from(b)])
        {
            break;
        }
        done += 8;
    }
    done + src[done..]
        .iter()
        .position(|&b| !PLAIN[usize::from(b)])
        .unwrap_or(src.len() - done)
}

/// [`escape`] from the first byte that needs it.
#[cold]
#[inline(never)]
fn escape_rest(src: &[u8], dst: &mut BytesMut) {
    dst.reserve(src.len());
    // Runs of plain bytes are copied whole.
    let mut i = 0;
    while i < src.len() {
        let run = i;
        while i < src.len() && PLAIN[usize::from(src[i])] {
            i += 1;
        }
        dst.put_slice(&src[run..i]);
        if let Some(&b) = src.get(i) {
            if b == b' ' {
                dst.put_u8(b'+');
            } else {
                dst.put_slice(&[
                    b'%',
                    HEX_UPPER[usize::from(b >> 4)],
                    HEX_UPPER[usize::from(b & 0xf)],
                ]);
            }
            i += 1;
        }
    }
}

/// Decodes an escaped name or value: `+` becomes a space, then `%HH` (either case) becomes the
/// byte. A `%` not followed by two hex digits is kept literally.
///
/// ```
/// assert_eq!(mogile_protocol::unescape(b"a+b%2Bc%zz%4a"), b"a b+c%zzJ");
/// ```
pub fn unescape(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    unescape_into(src, &mut out);
    out
}

/// [`unescape`] appending to `out`.
pub(crate) fn unescape_into(src: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < src.len() {
        let run = i;
        while i < src.len() && !ESCAPES[usize::from(src[i])] {
            i += 1;
        }
        out.extend_from_slice(&src[run..i]);
        if i < src.len() {
            i += unescape_one(src, i, out);
        }
    }
}

/// Bytes that start an escape: `+` and `%`.
const ESCAPES: [bool; 256] = byte_table(b"+%");
/// Bytes that end a run while decoding an argument string: escapes, `&` and `=`.
pub(crate) const ARG_SPECIAL: [bool; 256] = byte_table(b"+%&=");

const fn byte_table(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

/// The end of the run of bytes from `from` that are none of `+ % & =`.
///
/// Skips whole machine words while none of their bytes is special (the "has zero byte" trick on
/// the word XORed with each special byte), then finishes byte by byte; URL-heavy replies are
/// mostly long plain runs.
pub(crate) fn plain_run_end(src: &[u8], from: usize) -> usize {
    const WORD: usize = size_of::<usize>();
    const LO: usize = usize::from_ne_bytes([0x01; WORD]);
    const HI: usize = usize::from_ne_bytes([0x80; WORD]);
    const fn splat(b: u8) -> usize {
        usize::from_ne_bytes([b; WORD])
    }
    const fn has_zero(x: usize) -> bool {
        x.wrapping_sub(LO) & !x & HI != 0
    }
    let mut i = from;
    while let Some(chunk) = src.get(i..i + WORD) {
        let mut bytes = [0u8; WORD];
        bytes.copy_from_slice(chunk);
        let w = usize::from_ne_bytes(bytes);
        if has_zero(w ^ splat(b'+'))
            || has_zero(w ^ splat(b'%'))
            || has_zero(w ^ splat(b'&'))
            || has_zero(w ^ splat(b'='))
        {
            break;
        }
        i += WORD;
    }
    while i < src.len() && !ARG_SPECIAL[usize::from(src[i])] {
        i += 1;
    }
    i
}

/// Decodes the `+` or `%` at `src[i]` into `out`; returns the number of bytes used.
pub(crate) fn unescape_one(src: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
    if src[i] == b'+' {
        out.push(b' ');
        return 1;
    }
    match (src.get(i + 1).and_then(hex), src.get(i + 2).and_then(hex)) {
        (Some(hi), Some(lo)) => {
            out.push(hi << 4 | lo);
            3
        }
        // A malformed escape stays literal, as on the tracker.
        _ => {
            out.push(b'%');
            1
        }
    }
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(src: &[u8]) -> String {
        let mut out = BytesMut::new();
        escape(src, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn escape_uses_the_perl_set() {
        let all: Vec<u8> = (0..=255).collect();
        let out = esc(&all);
        let mut expected = String::new();
        for b in 0..=255u8 {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => expected.push(b as char),
                b'_' | b',' | b'-' | b'.' | b'/' | b'\\' | b':' => expected.push(b as char),
                b' ' => expected.push('+'),
                _ => expected.push_str(&format!("%{b:02X}")),
            }
        }
        assert_eq!(out, expected);
    }

    /// The reference: one byte at a time, as the Perl client's regex does it.
    fn naive(src: &[u8]) -> String {
        src.iter()
            .map(|&b| match b {
                b' ' => "+".to_owned(),
                _ if PLAIN[usize::from(b)] => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    proptest::proptest! {
        /// Plain runs of every length around the eight-byte steps, with an escape anywhere or
        /// nowhere: the fast prefix and the byte-by-byte rest agree with the reference.
        #[test]
        fn escape_matches_the_byte_by_byte_reference(
            plain in "[A-Za-z0-9_,./:-]{0,40}",
            rest in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        ) {
            let mut src = plain.into_bytes();
            src.extend_from_slice(&rest);
            proptest::prop_assert_eq!(esc(&src), naive(&src));
            proptest::prop_assert_eq!(is_plain(&src), naive(&src).as_bytes() == &src[..]);
        }
    }

    #[test]
    fn unescape_plus_then_percent() {
        assert_eq!(unescape(b"%2B+"), b"+ ");
        assert_eq!(unescape(b"%c3%A9"), "é".as_bytes());
        assert_eq!(unescape(b"100%"), b"100%");
        assert_eq!(unescape(b"%4"), b"%4");
        assert_eq!(unescape(b"%%41"), b"%A");
        assert_eq!(unescape(b""), b"");
    }
}
