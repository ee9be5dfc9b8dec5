//! Idle expiry: the background reaper and the rules it applies.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::Connector;
use crate::config::PoolSettings;
use crate::manager::EndpointPool;
use crate::pool::Inner;

/// `from + period`, or, where that would overflow, a time so far ahead that it never comes: a
/// setting of `Duration::MAX` means never, not a panic in a background task
/// (`tests/huge_durations.rs`).
pub(crate) fn first_tick(from: Instant, period: Duration) -> Instant {
    // 30 years, as tokio's own `sleep` saturates. `from` is a monotonic time since boot, so
    // adding 30 years to it always fits; the last fallback is never taken.
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    from.checked_add(period)
        .or_else(|| from.checked_add(FAR))
        .unwrap_or(from)
}

/// Every `period`, reaps every endpoint's idle connections; stops once the pool is gone.
pub(crate) async fn run<C: Connector>(inner: Weak<Inner<C>>, period: Duration) {
    let mut ticks = tokio::time::interval_at(first_tick(Instant::now(), period), period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        for entry in &inner.endpoints {
            reap(
                &entry.pool,
                &*inner.connector,
                &inner.config,
                &entry.state.endpoint,
            );
        }
    }
}

/// Closes the idle connections past `idle_timeout` or `max_lifetime` and those the connector
/// no longer reports open, then, while more than `max_idle` remain, the least recently
/// returned ones. Checked-out connections are not in the idle stack, so they are never touched.
pub(crate) fn reap<C: Connector>(
    pool: &EndpointPool<C>,
    connector: &C,
    config: &PoolSettings,
    endpoint: &crate::Endpoint,
) {
    let now = Instant::now();
    let mut kept = Vec::new();
    // `retain` holds `deadpool`'s lock while it runs; `is_open` is cheap and non-blocking by
    // the `Connector` contract, so it can run under it.
    let expired = pool.retain(|slot, _| {
        if let Some(reason) = slot.expired(config, now) {
            tracing::debug!(%endpoint, reason, "expire");
            false
        } else if !connector.is_open(&slot.conn) {
            tracing::debug!(%endpoint, reason = "closed", "discard");
            false
        } else {
            kept.push(slot.return_seq);
            true
        }
    });
    // Close the sockets outside `deadpool`'s lock.
    drop(expired);

    let max_idle = config.idle_limit();
    if kept.len() > max_idle {
        // Return sequence numbers are unique per endpoint; the `excess` smallest go.
        let excess = kept.len() - max_idle;
        let cutoff = if max_idle == 0 {
            u64::MAX
        } else {
            *kept.select_nth_unstable(excess).1
        };
        let surplus = pool.retain(|slot, _| {
            let keep = slot.return_seq >= cutoff;
            if !keep {
                tracing::debug!(%endpoint, reason = "max_idle", "expire");
            }
            keep
        });
        drop(surplus);
    }
}
