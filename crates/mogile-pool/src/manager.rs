//! The private `deadpool` manager: opens connections and vets idle ones before reuse.
//!
//! `deadpool` never appears outside this crate's private items, so it can be swapped later.

use std::sync::Arc;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use tokio::time::Instant;

use crate::config::PoolSettings;
use crate::{Connector, Endpoint};

/// The `deadpool` pool of one endpoint.
pub(crate) type EndpointPool<C> = managed::Pool<Manager<C>>;
/// A connection checked out of an [`EndpointPool`].
pub(crate) type Object<C> = managed::Object<Manager<C>>;

/// A pooled connection with the timestamps expiry needs.
///
/// `deadpool`'s `Metrics` record checkout time with `std::time::Instant`, which tokio's paused
/// clock does not move; expiry needs the *return* time, on tokio's clock, so we keep our own.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    pub(crate) conn: T,
    pub(crate) created: Instant,
    /// When the connection was last released to the idle stack (or created).
    pub(crate) returned: Instant,
    /// Increases with every release: orders idle connections by return time even when the
    /// paused clock gives several of them the same instant.
    pub(crate) return_seq: u64,
}

impl<T> Slot<T> {
    /// Why this idle connection must be closed now, if it must.
    pub(crate) fn expired(&self, config: &PoolSettings, now: Instant) -> Option<&'static str> {
        if config
            .max_lifetime
            .is_some_and(|max| now.duration_since(self.created) >= max)
        {
            Some("max_lifetime")
        } else if now.duration_since(self.returned) >= config.idle_timeout {
            Some("idle_timeout")
        } else {
            None
        }
    }
}

/// Opens and recycles connections to one endpoint.
pub(crate) struct Manager<C> {
    pub(crate) connector: Arc<C>,
    pub(crate) endpoint: Endpoint,
    pub(crate) config: PoolSettings,
}

impl<C> std::fmt::Debug for Manager<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> managed::Manager for Manager<C> {
    type Type = Slot<C::Connection>;
    type Error = C::Error;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        // `deadpool` bounds this with `connect_timeout` (its create timeout).
        match self.connector.connect(&self.endpoint).await {
            Ok(conn) => {
                tracing::debug!(endpoint = %self.endpoint, "connect");
                let now = Instant::now();
                Ok(Slot {
                    conn,
                    created: now,
                    returned: now,
                    return_seq: 0,
                })
            }
            Err(error) => {
                tracing::debug!(endpoint = %self.endpoint, %error, "connect failed");
                Err(error)
            }
        }
    }

    /// Runs when an idle connection is popped for reuse. An error makes `deadpool` drop it
    /// and try the next idle one, or open a new one.
    async fn recycle(&self, slot: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        let now = Instant::now();
        // The reaper may not have run since the limit passed: enforce it at checkout too.
        if let Some(reason) = slot.expired(&self.config, now) {
            tracing::debug!(endpoint = %self.endpoint, reason, "expire");
            return Err(RecycleError::message(reason));
        }
        if !self.connector.is_open(&slot.conn) {
            tracing::debug!(endpoint = %self.endpoint, reason = "closed", "discard");
            return Err(RecycleError::message("closed"));
        }
        if now.duration_since(slot.returned) >= self.config.probe_idle_after {
            let probe = self.connector.probe(&mut slot.conn);
            match tokio::time::timeout(self.config.probe_timeout, probe).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(endpoint = %self.endpoint, %error, reason = "probe failed", "discard");
                    return Err(RecycleError::Backend(error));
                }
                Err(_) => {
                    tracing::debug!(endpoint = %self.endpoint, reason = "probe timed out", "discard");
                    return Err(RecycleError::message("probe timed out"));
                }
            }
        }
        Ok(())
    }
}
