//! Finding line ends in a buffer, shared by the three stream decoders.

/// The index of the first `\n` in `haystack` (`memchr`: a vector scan, for the long
/// `list_keys` lines as for the short replies).
pub(crate) fn find_newline(haystack: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', haystack)
}

/// Tracks how far a buffer has been searched, so that a line arriving in many small chunks is
/// scanned once rather than once per chunk.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineScanner {
    searched: usize,
}

impl LineScanner {
    /// The length of the first complete line in `buf`, terminator included, or `None`.
    pub(crate) fn next_line(&mut self, buf: &[u8]) -> Option<usize> {
        let from = self.searched.min(buf.len());
        if from == buf.len() {
            // Nothing new to search (a reader asks before its first read, too).
            self.searched = buf.len();
            return None;
        }
        match find_newline(&buf[from..]) {
            Some(i) => {
                self.searched = 0;
                Some(from + i + 1)
            }
            None => {
                self.searched = buf.len();
                None
            }
        }
    }

    /// Forgets the search position (after the caller consumed or discarded bytes).
    pub(crate) fn reset(&mut self) {
        self.searched = 0;
    }
}

/// Strips the line terminator: `\n`, and a `\r` before it.
pub(crate) fn trim_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_newlines_at_every_offset() {
        for len in 0..40 {
            for pos in 0..len {
                let mut v = vec![b'x'; len];
                v[pos] = b'\n';
                assert_eq!(find_newline(&v), Some(pos), "len {len} pos {pos}");
                v[pos] = 0x8a; // high bit set and low bits like '\n'
                assert_eq!(find_newline(&v), None);
            }
        }
    }

    #[test]
    fn scanner_resumes() {
        let mut s = LineScanner::default();
        assert_eq!(s.next_line(b"abc"), None);
        assert_eq!(s.next_line(b"abcdef"), None);
        assert_eq!(s.next_line(b"abcdef\r\nx"), Some(8));
        assert_eq!(trim_terminator(b"ab\r\n"), b"ab");
        assert_eq!(trim_terminator(b"ab\n"), b"ab");
        assert_eq!(trim_terminator(b"ab\r"), b"ab");
    }
}
