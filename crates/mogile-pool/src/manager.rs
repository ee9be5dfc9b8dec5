//! The private `deadpool` manager: opens connections and vets idle ones before reuse.
//!
//! `deadpool` never appears outside this crate's private items, so it can be swapped later.

use std::future::Future;
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

impl<C: Connector> Manager<C> {
    /// Opens a connection (`deadpool` bounds this with `connect_timeout`, its create timeout).
    async fn connect(&self) -> Result<Box<Slot<C::Connection>>, C::Error> {
        match self.connector.connect(&self.endpoint).await {
            Ok(conn) => {
                tracing::debug!(endpoint = %self.endpoint, "connect");
                let now = Instant::now();
                Ok(Box::new(Slot {
                    conn,
                    created: now,
                    returned: now,
                    return_seq: 0,
                }))
            }
            Err(error) => {
                tracing::debug!(endpoint = %self.endpoint, %error, "connect failed");
                Err(error)
            }
        }
    }

    /// Refuses an idle connection past a limit at checkout. This and
    /// [`discard_closed`](Self::discard_closed) are out of line, so that the common path of a
    /// checkout is compact code.
    #[cold]
    #[inline(never)]
    fn expire(&self, reason: &'static str) -> RecycleError<C::Error> {
        tracing::debug!(endpoint = %self.endpoint, reason, "expire");
        RecycleError::message(reason)
    }

    /// Refuses an idle connection the connector no longer reports open.
    #[cold]
    #[inline(never)]
    fn discard_closed(&self) -> RecycleError<C::Error> {
        tracing::debug!(endpoint = %self.endpoint, reason = "closed", "discard");
        RecycleError::message("closed")
    }

    /// The checks an idle connection passes before it is handed out, all but the probe: its
    /// age limits and [`Connector::is_open`]. `Ok(true)` when it sat idle past
    /// `probe_idle_after` and must be [probed](Self::probe) too. A refusal is logged here.
    pub(crate) fn vet(
        &self,
        slot: &Slot<C::Connection>,
        now: Instant,
    ) -> Result<bool, RecycleError<C::Error>> {
        // The reaper may not have run since the limit passed: enforce it at checkout too.
        if let Some(reason) = slot.expired(&self.config, now) {
            return Err(self.expire(reason));
        }
        if !self.connector.is_open(&slot.conn) {
            return Err(self.discard_closed());
        }
        Ok(now.duration_since(slot.returned) >= self.config.probe_idle_after)
    }

    /// Probes a connection that sat idle past `probe_idle_after`, within `probe_timeout`.
    /// A failure is logged here.
    pub(crate) async fn probe(&self, conn: &mut C::Connection) -> RecycleResult<C::Error> {
        let probe = self.connector.probe(conn);
        match tokio::time::timeout(self.config.probe_timeout, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::debug!(endpoint = %self.endpoint, %error, reason = "probe failed", "discard");
                Err(RecycleError::Backend(error))
            }
            Err(_) => {
                tracing::debug!(endpoint = %self.endpoint, reason = "probe timed out", "discard");
                Err(RecycleError::message("probe timed out"))
            }
        }
    }
}

/// `deadpool` holds the futures of `create` and `recycle` inside its checkout future, which
/// every checkout builds and moves whole. Both return the rare path (opening a connection,
/// probing an idle one) boxed, and the connection itself is boxed (below), so that the checkout
/// future stays small: 616 bytes instead of 1,744, under the size the allocator serves from its
/// per-thread cache (see [`Pool::get`]).
///
/// [`Pool::get`]: crate::Pool::get
impl<C: Connector> managed::Manager for Manager<C> {
    /// Boxed: a checked-out connection moves whole from deadpool's checkout up to the caller
    /// and back, several times per request; boxed, each move is a pointer, not the connection.
    type Type = Box<Slot<C::Connection>>;
    type Error = C::Error;

    fn create(&self) -> impl Future<Output = Result<Self::Type, Self::Error>> + Send {
        Box::pin(self.connect())
    }

    /// Runs when an idle connection is popped from `deadpool`'s queue for reuse (most idle
    /// ones are on the pool's own stack instead, which vets them the same way). An error makes
    /// `deadpool` drop it and try the next idle one, or open a new one.
    async fn recycle(&self, slot: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        if self.vet(slot, Instant::now())? {
            Box::pin(self.probe(&mut slot.conn)).await?;
        }
        Ok(())
    }
}
