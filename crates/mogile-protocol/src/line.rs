//! Finding line ends in a buffer, shared by the three stream decoders.

/// The index of the first `\n` in `haystack`.
///
/// Scans a machine word at a time (the classic "has zero byte" trick), which is several times
/// faster than a byte loop on the long `list_keys` lines, without unsafe code or a dependency.
pub(crate) fn find_newline(haystack: &[u8]) -> Option<usize> {
    const WORD: usize = size_of::<usize>();
    const LO: usize = usize::from_ne_bytes([0x01; WORD]);
    const HI: usize = usize::from_ne_bytes([0x80; WORD]);
    const NL: usize = usize::from_ne_bytes([b'\n'; WORD]);
    let mut chunks = haystack.chunks_exact(WORD);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; WORD];
        word.copy_from_slice(chunk);
        let x = usize::from_ne_bytes(word) ^ NL;
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break;
        }
        offset += WORD;
    }
    haystack[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
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
