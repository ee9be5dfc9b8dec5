//! Watching body bytes as they flow: MD5 while streaming, and the caller's progress callback.

use std::sync::{Arc, Mutex, PoisonError};

use md5::{Digest, Md5};
use mogile_protocol::{Checksum, HashType};
use mogile_storage::TransferObserver;

use crate::options::Progress;

/// An MD5 computed incrementally from chunks, in order.
#[derive(Debug, Default)]
pub(crate) struct Md5Hasher {
    state: Mutex<Md5>,
}

impl Md5Hasher {
    /// Feeds one chunk.
    pub(crate) fn update(&self, chunk: &[u8]) {
        // A poisoned lock only means another update panicked; the digest state itself is intact.
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(chunk);
    }

    /// Forgets every byte fed so far (the body is being sent again from its first byte).
    pub(crate) fn reset(&self) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = Md5::new();
    }

    /// The checksum of every byte fed so far, as the tracker spells it (`MD5:<lower-case hex>`).
    pub(crate) fn checksum(&self) -> Checksum {
        let digest = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .finalize();
        Checksum::new(HashType::Md5, hex::encode(digest))
    }
}

/// One transfer attempt's observer: an optional hasher plus the caller's progress callback.
pub(crate) struct Observer {
    pub(crate) md5: Option<Md5Hasher>,
    progress: Option<Arc<dyn Progress>>,
}

impl Observer {
    /// A fresh observer for one attempt; `restarted` tells the progress callback that bytes it
    /// saw before will be sent again.
    pub(crate) fn new(
        md5: bool,
        progress: Option<Arc<dyn Progress>>,
        restarted: bool,
    ) -> Arc<Self> {
        if restarted {
            if let Some(p) = &progress {
                p.on_restart();
            }
        }
        Arc::new(Self {
            md5: md5.then(Md5Hasher::default),
            progress,
        })
    }

    /// Whether the observer does anything at all (so transfers can skip it).
    pub(crate) fn is_active(&self) -> bool {
        self.md5.is_some() || self.progress.is_some()
    }

    /// The MD5 so far, if one is computed.
    pub(crate) fn checksum(&self) -> Option<Checksum> {
        self.md5.as_ref().map(Md5Hasher::checksum)
    }

    pub(crate) fn feed(&self, chunk: &[u8]) {
        if let Some(h) = &self.md5 {
            h.update(chunk);
        }
        if let Some(p) = &self.progress {
            p.on_bytes(chunk);
        }
    }
}

impl TransferObserver for Observer {
    fn on_bytes(&self, chunk: &[u8]) {
        self.feed(chunk);
    }

    /// The storage client resends the body from its first byte (a node refused a chunked body and
    /// it goes again with a length): the MD5 must cover only what is sent this time.
    fn on_restart(&self) {
        if let Some(h) = &self.md5 {
            h.reset();
        }
        if let Some(p) = &self.progress {
            p.on_restart();
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("md5", &self.md5.is_some())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn md5_over_chunks_matches_known_vectors() {
        let h = Md5Hasher::default();
        assert_eq!(
            h.checksum().to_string(),
            "MD5:d41d8cd98f00b204e9800998ecf8427e"
        );
        h.update(b"hello ");
        h.update(b"world");
        // md5("hello world")
        assert_eq!(h.checksum().hex, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        h.reset();
        h.update(b"hello world");
        assert_eq!(h.checksum().hex, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }

    #[derive(Default)]
    struct Count(AtomicUsize, AtomicUsize);
    impl Progress for Count {
        fn on_bytes(&self, chunk: &[u8]) {
            self.0.fetch_add(chunk.len(), Ordering::SeqCst);
        }
        fn on_restart(&self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn observer_feeds_progress_and_signals_restarts() {
        let count = Arc::new(Count::default());
        let o = Observer::new(true, Some(count.clone()), false);
        o.on_bytes(b"abc");
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        let _again = Observer::new(false, Some(count.clone()), true);
        assert_eq!(count.1.load(Ordering::SeqCst), 1);
        assert!(o.checksum().is_some());
        assert!(!Observer::new(false, None, false).is_active());
    }
}
