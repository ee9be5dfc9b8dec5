//! [`Deadline`]: the reusable timer behind the idle and low-speed checks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
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
///
/// Moving it later costs nothing either: the timer-wheel entry stays where it was, and only when
/// it fires is it moved on to the deadline last set. A kept connection's idle timer is moved
/// later every time a read waits, twice per request; re-registering it each time (a lock, a
/// removal and an insertion in the wheel) cost more than the rest of the timer's work. The price
/// is one early wake-up per move that outlives the old deadline, at most one per timeout period.
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    /// The deadline last set, when it is later than the one the wheel entry holds.
    later: Option<Instant>,
}

impl Deadline {
    /// Sets the deadline to `at`, or moves it there.
    pub(crate) fn set(&mut self, at: Instant) {
        match &mut self.sleep {
            // Later than the entry: recorded, and the entry moved only when it fires.
            Some(sleep) if at >= sleep.deadline() => self.later = Some(at),
            Some(sleep) => {
                sleep.as_mut().reset(at);
                self.later = None;
            }
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// `Ready` once the deadline last set has passed. Before that, `Pending`, and `cx` is woken
    /// when it passes (`fires_at_the_deadline_last_set`) or earlier (a deadline moved later wakes
    /// once at the earlier one). Never set, it is `Pending` for ever and wakes nothing
    /// (`never_set_never_fires`): callers set it before they first poll it.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(sleep) = &mut self.sleep else {
            return Poll::Pending;
        };
        loop {
            ready!(sleep.as_mut().poll(cx));
            match self.later.take() {
                Some(at) if at > sleep.deadline() => sleep.as_mut().reset(at),
                _ => return Poll::Ready(()),
            }
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
    async fn moved_while_waited_on_fires_at_the_deadline_last_set() {
        let mut d = Deadline::default();
        let start = Instant::now();
        d.set(start + Duration::from_secs(5));
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
        // Moved later three times while a poll waits on the first deadline, then earlier.
        for secs in [8, 20, 30] {
            d.set(start + Duration::from_secs(secs));
        }
        std::future::poll_fn(|cx| d.poll(cx)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(30));
        d.set(Instant::now() + Duration::from_secs(60));
        d.set(Instant::now() + Duration::from_secs(2));
        let moved_earlier = Instant::now();
        std::future::poll_fn(|cx| d.poll(cx)).await;
        assert_eq!(Instant::now(), moved_earlier + Duration::from_secs(2));
        // Earlier than the wheel's entry itself (moved to 100 s by a poll): moved at once.
        d.set(Instant::now() + Duration::from_secs(100));
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
        let moved_earlier = Instant::now();
        d.set(moved_earlier + Duration::from_secs(3));
        std::future::poll_fn(|cx| d.poll(cx)).await;
        assert_eq!(Instant::now(), moved_earlier + Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn never_set_never_fires() {
        let mut d = Deadline::default();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(std::future::poll_fn(|cx| Poll::Ready(d.poll(cx).is_pending())).await);
    }
}
