//! [`LowSpeed`]: a minimum transfer rate, measured over time spent waiting on the node, and the
//! meter that enforces it for uploads (`connector.rs`, on socket writes) and downloads
//! (`stream.rs`, on body frames).
//!
//! The idle timers reset on every byte, so a node that sends (or reads) one byte just inside the
//! idle timeout would hold a transfer forever. The meter closes that gap: it fails a transfer
//! that moves too few bytes during a window of time spent waiting on the node. Only waiting on
//! the node counts: the caller's own pauses (a body source that is not ready, a download stream
//! that is not polled) never do, because during them nothing waits on the node.
//!
//! A wait ends when the node wakes the task (its bytes arrived, or its socket took more), not
//! when the owner next polls: the I/O is polled with a waker that stamps the time it fires
//! ([`SpeedMeter::poll_io`]). So a consumer that got `Pending`, then left the stream alone for an
//! hour, is not charged that hour.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

use crate::deadline::{Deadline, after};

/// A minimum transfer rate for storage transfers, modelled on curl's `--speed-limit` /
/// `--speed-time`: a transfer fails with
/// [`TimeoutPhase::LowSpeed`](crate::TimeoutPhase::LowSpeed) when it moves fewer than
/// `bytes_per_sec × window` bytes during `window` of time spent **waiting on the node**.
///
/// Waiting on the node means: for a download, the time the body stream is polled and no data is
/// there; for an upload, the time a socket write is blocked because the node is not reading.
/// A body source that is slow to produce, or a download stream that is not being polled, is the
/// caller's doing and never counts. Windows follow each other (a new one starts when one is
/// judged), so a node that turns slow is caught within two windows of waiting.
///
/// The [default](Self::default) is 1 KiB/s over 30 s: three orders of magnitude below what any
/// healthy disk or network delivers, so it only ends transfers that crawl.
///
/// ```
/// use std::time::Duration;
/// use mogile_storage::{LowSpeed, StorageClient, StorageConfig};
///
/// let strict = LowSpeed::new(64 * 1024, Duration::from_secs(10));
/// let config = StorageConfig { low_speed_limit: Some(strict), ..StorageConfig::default() };
/// let client = StorageClient::builder().config(config).build()?;
/// # Ok::<_, mogile_storage::BuildError>(())
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize` as
/// `{"bytes_per_sec": 1024, "window": "30s"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct LowSpeed {
    bytes_per_sec: u64,
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    window: Duration,
}

impl LowSpeed {
    /// At least `bytes_per_sec` on average over each `window` of waiting on the node. Both must
    /// be non-zero ([`build`](crate::StorageClientBuilder::build) checks).
    pub const fn new(bytes_per_sec: u64, window: Duration) -> Self {
        Self {
            bytes_per_sec,
            window,
        }
    }

    /// The minimum average rate, in bytes per second.
    pub const fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec
    }

    /// The length of waiting time the rate is averaged over.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Bytes a window must move: `bytes_per_sec × window`, at least 1.
    fn required(&self) -> u64 {
        let bytes = u128::from(self.bytes_per_sec) * self.window.as_nanos() / 1_000_000_000;
        u64::try_from(bytes).unwrap_or(u64::MAX).max(1)
    }
}

impl Default for LowSpeed {
    /// 1 KiB/s over 30 s of waiting.
    fn default() -> Self {
        Self::new(1024, Duration::from_secs(30))
    }
}

/// Enforces a [`LowSpeed`] on one transfer direction. The owner polls its I/O through
/// [`poll_io`](Self::poll_io), reports bytes as they move ([`moved`](Self::moved)) and polls
/// [`poll_wait`](Self::poll_wait) whenever the I/O is blocked on the node; nothing is counted
/// while the owner is not blocked.
pub(crate) struct SpeedMeter {
    window: Duration,
    required: u64,
    /// Waiting time in the current window, not counting a wait still open.
    waited: Duration,
    /// Bytes moved in the current window.
    moved: u64,
    /// When the open wait began, if the owner is blocked on the node now.
    waiting_since: Option<Instant>,
    /// Fires when the current window's waiting time is complete.
    timer: Deadline,
    /// When the I/O last woke the task; made when the I/O first waits (a small body never
    /// does: no allocation, no clock read and no waker of our own for it).
    stamp: Option<Arc<WakeStamp>>,
}

impl SpeedMeter {
    pub(crate) fn new(limit: LowSpeed) -> Self {
        Self {
            window: limit.window,
            required: limit.required(),
            waited: Duration::ZERO,
            moved: 0,
            waiting_since: None,
            timer: Deadline::default(),
            stamp: None,
        }
    }

    /// Polls the I/O (`poll`) with a waker that records when it fires, and first ends an open
    /// wait at the moment the I/O woke the task, if it did: time after that, until the owner
    /// polls again, is the owner's.
    ///
    /// Until the I/O first returns `Pending` it is polled with `cx` as it is: nothing waited, so
    /// there is no wake to time. The poll that first returns `Pending` is made again with the
    /// stamping waker, which takes `cx`'s place in the I/O, so every wait's end is stamped.
    pub(crate) fn poll_io<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        let stamp = match &self.stamp {
            Some(stamp) => stamp,
            None => {
                let res = poll(cx);
                if res.is_ready() {
                    return res;
                }
                self.stamp.insert(Arc::new(WakeStamp {
                    origin: Instant::now(),
                    woken: AtomicU64::new(NOT_WOKEN),
                    waker: AtomicWaker::new(),
                }))
            }
        };
        if let Some(woken) = stamp.take() {
            if let Some(since) = self.waiting_since.take() {
                self.waited += woken.saturating_duration_since(since);
            }
        }
        stamp.waker.register(cx.waker());
        let waker = Waker::from(Arc::clone(stamp));
        poll(&mut Context::from_waker(&waker))
    }

    /// `n` bytes moved; this ends any open wait.
    ///
    /// A complete window that moved enough starts the next one. One that fell short is not
    /// judged here, while the transfer is making progress: it fails at the next wait, unless more
    /// bytes arrive first and make up the shortfall.
    pub(crate) fn moved(&mut self, n: u64) {
        self.end_wait();
        self.moved = self.moved.saturating_add(n);
        if self.waited >= self.window && self.moved >= self.required {
            self.next_window();
        }
    }

    /// The owner is blocked on the node. `Ready` when a whole window of waiting moved fewer bytes
    /// than required: the transfer is too slow and must fail. `Pending` registers `cx` to be
    /// woken when the current window's waiting time runs out.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.waiting_since.is_none() {
                let now = Instant::now();
                self.waiting_since = Some(now);
                let left = self.window.saturating_sub(self.waited);
                self.timer.set(after(now, left));
            }
            ready!(self.timer.poll(cx));
            self.end_wait();
            if self.moved < self.required {
                return Poll::Ready(());
            }
            // Fast enough: a new window starts, still waiting.
            self.next_window();
        }
    }

    /// Closes the open wait, if any, now (reading the clock only then: `moved` runs on every
    /// chunk).
    fn end_wait(&mut self) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += Instant::now().saturating_duration_since(since);
        }
    }

    fn next_window(&mut self) {
        self.waited = Duration::ZERO;
        self.moved = 0;
    }
}

/// `WakeStamp::woken` when the I/O has not woken the task since it was last polled.
const NOT_WOKEN: u64 = u64::MAX;

/// A waker around the owner's that stamps the first time it fires after each poll.
struct WakeStamp {
    origin: Instant,
    /// Nanoseconds from `origin` to the first wake since the last [`take`](Self::take), or
    /// [`NOT_WOKEN`].
    woken: AtomicU64,
    waker: AtomicWaker,
}

impl WakeStamp {
    /// When the I/O woke the task since the last call, if it did.
    fn take(&self) -> Option<Instant> {
        match self.woken.swap(NOT_WOKEN, Ordering::AcqRel) {
            NOT_WOKEN => None,
            nanos => Some(self.origin + Duration::from_nanos(nanos)),
        }
    }
}

impl Wake for WakeStamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(NOT_WOKEN - 1);
        // Only the first wake counts: the wait ended then.
        let _ = self.woken.compare_exchange(
            NOT_WOKEN,
            nanos.min(NOT_WOKEN - 1),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    /// Waits on the meter for `d` (paused clock): `true` if it tripped meanwhile.
    async fn wait(meter: &mut SpeedMeter, d: Duration) -> bool {
        let deadline = tokio::time::sleep(d);
        tokio::pin!(deadline);
        std::future::poll_fn(|cx| {
            if meter.poll_wait(cx).is_ready() {
                return Poll::Ready(true);
            }
            deadline.as_mut().poll(cx).map(|()| false)
        })
        .await
    }

    #[test]
    fn required_bytes() {
        assert_eq!(LowSpeed::default().required(), 30 * 1024);
        assert_eq!(LowSpeed::new(1, Duration::from_millis(10)).required(), 1);
        assert_eq!(LowSpeed::new(u64::MAX, 10 * SEC).required(), u64::MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_trips_after_a_window_of_waiting() {
        let mut m = SpeedMeter::new(LowSpeed::new(100, 10 * SEC));
        // One byte every 9 s: 1 byte per 10 s window, far below 1000.
        assert!(!wait(&mut m, 9 * SEC).await);
        m.moved(1);
        assert!(
            wait(&mut m, 9 * SEC).await,
            "window complete after 1 s more"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn time_not_spent_waiting_never_counts() {
        let mut m = SpeedMeter::new(LowSpeed::new(100, 10 * SEC));
        // Hours pass between waits (the owner is not blocked on the node): only the waits count.
        for _ in 0..5 {
            assert!(!wait(&mut m, SEC).await);
            m.moved(200);
            tokio::time::sleep(3600 * SEC).await;
        }
        // 5 s of waiting so far, 1000 bytes: 5 more seconds complete the window, which passes.
        assert!(!wait(&mut m, 5 * SEC).await);
        assert!(!wait(&mut m, 9 * SEC).await, "a fresh window");
        assert!(wait(&mut m, 2 * SEC).await, "which moved nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_after_long_waits_pass() {
        // 9 s silent, then a burst well above the rate: never trips.
        let mut m = SpeedMeter::new(LowSpeed::new(1000, 10 * SEC));
        for _ in 0..20 {
            assert!(!wait(&mut m, 9 * SEC).await);
            m.moved(20_000);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_window_is_judged_at_the_next_wait_unless_made_up() {
        let mut m = SpeedMeter::new(LowSpeed::new(100, 10 * SEC));
        // The window completes exactly as a few bytes arrive (no poll in between).
        let blocked = std::future::poll_fn(|cx| Poll::Ready(m.poll_wait(cx).is_pending())).await;
        assert!(blocked);
        tokio::time::advance(10 * SEC).await;
        m.moved(10);
        m.moved(2000); // made up before the next wait: passes
        assert!(!wait(&mut m, 5 * SEC).await);
        tokio::time::advance(5 * SEC).await;
        m.moved(10); // window complete, short, and nothing makes it up
        assert!(wait(&mut m, Duration::from_millis(1)).await);
    }
}
