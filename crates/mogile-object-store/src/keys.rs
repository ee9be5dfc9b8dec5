//! The rules between MogileFS keys and object_store [`Path`]s, and the temporary keys of
//! [`PutMode::Create`](object_store::PutMode::Create).
//!
//! A [`Path`] is stored under the key with the same bytes: `a/b/c.parquet` is the key
//! `a/b/c.parquet`. A key is a valid [`Path`] only if it is UTF-8, has no leading or trailing `/`,
//! no empty segment (`//`), no `.` or `..` segment and no ASCII control character: exactly the
//! keys that [`Path::parse`] gives back unchanged. Other keys (written by other MogileFS clients)
//! are skipped by listings, with a `tracing` warning and a count
//! ([`MogileStore::skipped_keys`](crate::MogileStore::skipped_keys)); they cannot be named through
//! the trait at all.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use object_store::path::Path;

/// The prefix of every temporary key: a leading `/` makes it an invalid [`Path`], so no caller of
/// the trait can ever name, overwrite or list one. Listings skip these keys silently.
pub const TEMP_PREFIX: &str = "/.mogile-object-store/tmp/";

/// The key a [`Path`] is stored under.
pub(crate) fn key_of(path: &Path) -> &str {
    path.as_ref()
}

/// The [`Path`] a key stands for, or `None` when the key is not a valid [`Path`] (see the module
/// docs).
pub fn path_of(key: &[u8]) -> Option<Path> {
    let s = std::str::from_utf8(key).ok()?;
    if s.is_empty() || s.starts_with('/') || s.ends_with('/') {
        return None;
    }
    let path = Path::parse(s).ok()?;
    (path.as_ref() == s).then_some(path)
}

/// Whether the key is one of this crate's temporary keys.
pub(crate) fn is_temp(key: &[u8]) -> bool {
    key.starts_with(TEMP_PREFIX.as_bytes())
}

/// A fresh temporary key: [`TEMP_PREFIX`] and 32 hex digits, 58 bytes whatever the target's
/// length (the target's name is not part of it, so a 255-byte target still works).
pub(crate) fn temp_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // `RandomState` is seeded from the OS's randomness: two processes (or two hosts) started at the
    // same nanosecond still draw different keys.
    let word = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{TEMP_PREFIX}{:016x}{:016x}", word(1), word(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys_round_trip() {
        for k in [
            "a",
            "a/b/c.parquet",
            "🙀/😀.parquet",
            "a%2Fb",
            "foo bar/x y",
            "I'm a < & weird",
        ] {
            assert_eq!(path_of(k.as_bytes()).unwrap().as_ref(), k);
        }
    }

    #[test]
    fn invalid_keys_are_not_paths() {
        for k in [
            &b"/a"[..],
            b"a/",
            b"a//b",
            b"./a",
            b"a/..",
            b"a/./b",
            b"a\x01b",
            b"a\x7fb",
            b"a\nb",
            b"\xff\xfe",
            b"",
            b"/",
        ] {
            assert!(path_of(k).is_none(), "{k:?}");
        }
    }

    #[test]
    fn temporary_keys_are_short_unique_and_never_paths() {
        let a = temp_key();
        let b = temp_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), TEMP_PREFIX.len() + 32);
        assert!(a.len() <= 255);
        assert!(is_temp(a.as_bytes()));
        assert!(path_of(a.as_bytes()).is_none());
        assert!(!is_temp(b"a/b"));
    }
}
