//! Test data.

/// `len` deterministic, incompressible-looking bytes (xorshift64), different for each `seed`:
/// a round trip compared against them means something, and a failing test can be re-run with the
/// same bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    // The multiply spreads small seeds apart; `| 1` keeps the state off xorshift's fixed point 0.
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn deterministic_and_seeded() {
        assert_eq!(super::bytes(100, 3), super::bytes(100, 3));
        assert_ne!(super::bytes(100, 0), super::bytes(100, 1));
        assert_eq!(super::bytes(13, 2).len(), 13);
        assert_eq!(&super::bytes(100, 5)[..13], &super::bytes(13, 5)[..]);
    }
}
