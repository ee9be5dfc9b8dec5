//! Idle expiry: the background reaper and the rules it applies.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::Connector;
use crate::config::PoolSettings;
use crate::idle::{IdleStack, close_all};
use crate::manager::{EndpointPool, Slot};
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
                &entry.idle,
                &*inner.connector,
                &inner.config,
                &entry.state().endpoint,
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
/// returned ones. Idle connections are on the pool's stack or, handed over to a waiting
/// checkout that gave up, in `deadpool`'s queue: both are reaped. Checked-out connections are
/// in neither, so they are never touched.
pub(crate) fn reap<C: Connector>(
    pool: &EndpointPool<C>,
    idle: &IdleStack<C>,
    connector: &C,
    config: &PoolSettings,
    endpoint: &crate::Endpoint,
) {
    let now = Instant::now();
    let mut kept = Vec::new();
    let mut keep = |slot: &Slot<C::Connection>| {
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
    };
    // `retain` holds `deadpool`'s lock while it runs, as `remove_unless` holds the stack's;
    // `is_open` is cheap and non-blocking by the `Connector` contract, so it can run under
    // them.
    let expired = pool.retain(|slot, _| keep(slot));
    let gone = idle.remove_unless(keep);
    // Close the sockets outside the locks.
    drop(expired);
    close_all(gone);

    let max_idle = config.idle_limit();
    if kept.len() > max_idle {
        // Return sequence numbers are unique per endpoint; the `excess` smallest go.
        let excess = kept.len() - max_idle;
        let cutoff = if max_idle == 0 {
            u64::MAX
        } else {
            *kept.select_nth_unstable(excess).1
        };
        let keep = |slot: &Slot<C::Connection>| {
            let keep = slot.return_seq >= cutoff;
            if !keep {
                tracing::debug!(%endpoint, reason = "max_idle", "expire");
            }
            keep
        };
        let surplus = pool.retain(|slot, _| keep(slot));
        let gone = idle.remove_unless(keep);
        drop(surplus);
        close_all(gone);
    }
}
