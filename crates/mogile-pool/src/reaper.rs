//! Idle expiry: the background reaper and the rules it applies.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::Connector;
use crate::config::PoolSettings;
use crate::manager::EndpointPool;
use crate::pool::Inner;

/// Every `period`, reaps every endpoint's idle connections; stops once the pool is gone.
pub(crate) async fn run<C: Connector>(inner: Weak<Inner<C>>, period: Duration) {
    let mut ticks = ticks_from(Instant::now(), period).await;
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

/// Ticks every `period` after `start`, the first tick at `start + period` (the one at `start`
/// is taken here). tokio's `Interval` caps its period at 30 years, so a setting of
/// `Duration::MAX` means never, not an overflow panic in a background task
/// (`tests/huge_durations.rs`); `start + period` written out would panic.
pub(crate) async fn ticks_from(start: Instant, period: Duration) -> Interval {
    let mut ticks = tokio::time::interval_at(start, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    ticks
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
