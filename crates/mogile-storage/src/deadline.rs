//! [`Deadline`]: the reusable timer behind the idle and low-speed checks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// `from + d`, or, where that would overflow, a time so far ahead that it never comes: a
/// timeout of `Duration::MAX` means no timeout, never a panic
/// (`tests/transfers.rs`: `timeouts_of_duration_max_mean_no_timeout`).
pub(crate) fn after(from: Instant, d: Duration) -> Instant {
    // 30 years, as tokio's own `sleep` saturates. `from` is a monotonic time since boot, so
    // adding 30 years to it always fits; the last fallback is never taken.
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    from.checked_add(d)
        .or_else(|| from.checked_add(FAR))
        .unwrap_or(from)
}

/// A timer that is set, moved and polled again and again, and that costs nothing until it is
/// first set: no allocation, no clock read, no runtime handle, no timer-wheel entry. Most
/// transfers never wait (a small body is often whole in the first read), and building a `Sleep`
/// for each of them up front cost all four per request.
#[derive(Debug, Default)]
pub(crate) struct Deadline(Option<Pin<Box<Sleep>>>);

impl Deadline {
    /// Sets the deadline to `at`, or moves it there.
    pub(crate) fn set(&mut self, at: Instant) {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().reset(at),
            None => self.0 = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// `Ready` once the deadline last set has passed. Before that, `Pending`, and `cx` is woken
    /// when it passes (`fires_at_the_deadline_last_set`). Never set, it is `Pending` for ever
    /// and wakes nothing (`never_set_never_fires`): callers set it before they first poll it.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_at_the_deadline_last_set() {
        let mut d = Deadline::default();
        let start = Instant::now();
        d.set(start + Duration::from_secs(5));
        // Moved later before it fired: the first deadline no longer counts.
        d.set(start + Duration::from_secs(10));
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
        std::future::poll_fn(|cx| d.poll(cx)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(10));
        // Set again after firing: it waits again.
        d.set(Instant::now() + Duration::from_secs(1));
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
    }

    #[tokio::test(start_paused = true)]
    async fn never_set_never_fires() {
        let mut d = Deadline::default();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
    }
}
