//! Shared pieces of the reliability suite: seeds that are printed on failure, a detector for
//! panics in library code, error chains, and content that names its own key. The scripted
//! hostile tracker is in `tracker_peer`.

use std::sync::{Mutex, OnceLock};

pub(crate) use super::tracker_peer::{Act, HostileTracker, Req};

// ---------------------------------------------------------------------------------------------
// Seeds

/// The seed for a seeded test: `RELIABILITY_SEED` if set, else fresh. Hold the returned guard for
/// the whole test: if the test panics, the guard prints how to rerun it with the same schedule.
pub(crate) fn seed(test: &'static str) -> (u64, SeedGuard) {
    let seed = std::env::var("RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: seed {seed}");
    (seed, SeedGuard { test, seed })
}

/// Prints the seed of a failing test when dropped during a panic.
#[derive(Debug)]
pub(crate) struct SeedGuard {
    test: &'static str,
    seed: u64,
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} FAILED with seed {}: rerun with RELIABILITY_SEED={} cargo test -p mogile-tests {}",
                self.test, self.seed, self.seed, self.test
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invariant 6: no panic in library code

/// Panics seen anywhere in the process whose location is outside the test sources: library code
/// (ours or a dependency's), including panics inside spawned tasks that nobody joins.
static LIBRARY_PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

/// Installs (once) a panic hook that records panics raised outside `tests/`, then defers to the
/// previous hook. Call at the start of every test that checks invariant 6.
pub(crate) fn watch_panics() {
    static INSTALL: OnceLock<()> = OnceLock::new();
    INSTALL.get_or_init(|| {
        LIBRARY_PANICS.get_or_init(|| Mutex::new(Vec::new()));
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let in_tests = location.starts_with("tests/") || location.is_empty();
            if let (false, Some(list)) = (in_tests, LIBRARY_PANICS.get()) {
                let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
                list.push(format!("{location}: {info}"));
            }
            previous(info);
        }));
    });
}

/// Panics recorded in library code so far (see [`watch_panics`]).
pub(crate) fn library_panics() -> Vec<String> {
    LIBRARY_PANICS
        .get()
        .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .unwrap_or_default()
}

/// Asserts invariant 6: no panic was raised in library code.
pub(crate) fn assert_no_library_panics() {
    let panics = library_panics();
    assert!(panics.is_empty(), "panics in library code: {panics:#?}");
}

// ---------------------------------------------------------------------------------------------
// Errors

/// The `Display` of `err` and every `source()` below it, joined with `: `.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Content

/// The bytes stored for content `id` under `key`: a header naming both, then a pattern derived
/// from `id`, `len` bytes in all (the header is cut for tiny files). Any mix-up between keys or
/// versions changes the bytes, so a desynchronised reply cannot pass the byte comparison.
pub(crate) fn content(key: &str, id: u64, len: usize) -> bytes::Bytes {
    let mut out = format!("{key}#{id}|").into_bytes();
    let mut x = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while out.len() < len {
        // xorshift: cheap, and not periodic at any power of two a buffer boundary could hide.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(x as u8);
    }
    out.truncate(len);
    out.into()
}
