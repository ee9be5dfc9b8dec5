//! A node's bandwidth cap: a token bucket shared by every response body the node sends, so that
//! a benchmark on a machine with few cores can make per-node bandwidth the bottleneck, as it is
//! on real networks.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::node::lock;

/// The lateness a bucket makes up for.
const BURST: Duration = Duration::from_millis(20);

/// Bytes per second for the whole node; each chunk leaves once the bucket has paid for it.
#[derive(Debug)]
pub(crate) struct Bucket {
    bytes_per_sec: u64,
    /// When the bytes reserved so far will have left.
    next: Mutex<Option<Instant>>,
}

impl Bucket {
    pub(crate) fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.max(1),
            next: Mutex::new(None),
        }
    }

    /// Reserves `n` bytes; returns when they may be sent.
    fn reserve(&self, n: usize) -> Instant {
        let now = Instant::now();
        let mut next = lock(&self.next);
        // Credit for up to `BURST` of lateness: timers wake a millisecond or so late, and a bucket
        // that forgot the time lost would cap far below its rate. Idle time beyond that is not
        // banked.
        let floor = now.checked_sub(BURST).unwrap_or(now);
        let start = next.map_or(now, |t| t.max(floor));
        let cost = Duration::from_secs_f64(n as f64 / self.bytes_per_sec as f64);
        let done = start + cost;
        *next = Some(done);
        done
    }
}

/// `inner`, each chunk held back until the bucket has paid for it.
pub(crate) fn throttled(
    inner: impl Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
    bucket: Arc<Bucket>,
) -> Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> {
    Box::pin(futures_util::stream::unfold(
        (inner, bucket),
        |(mut inner, bucket)| async move {
            let item = inner.next().await?;
            if let Ok(chunk) = &item {
                tokio::time::sleep_until(bucket.reserve(chunk.len())).await;
            }
            Some((item, (inner, bucket)))
        },
    ))
}
