//! A checked-out connection.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deadpool::managed;
use tokio::time::Instant;

use crate::idle::IdleStack;
use crate::manager::{Object, Slot};
use crate::{Connector, Endpoint};

/// A connection checked out of a [`Pool`](crate::Pool).
///
/// It dereferences to the connector's connection type.
///
/// **Dropping a `Pooled` discards the connection** (closes it). Discard is the default on every
/// error path, and it is what a cancelled request does: a connection abandoned halfway through
/// an exchange is never handed out again. Only [`Pooled::release`], called after a complete,
/// successful exchange, puts it back on the idle stack.
pub struct Pooled<C: Connector> {
    /// `None` only once `release` or `detach` has moved the connection out.
    obj: Option<Object<C>>,
    /// Where `release` puts it back; also the endpoint's counters.
    idle: Arc<IdleStack<C>>,
}

impl<C: Connector> Pooled<C> {
    pub(crate) fn new(obj: Object<C>, idle: Arc<IdleStack<C>>) -> Self {
        // Counted here and uncounted where the connection is taken out of `obj` (`release`,
        // `detach`, `Drop`), always before it can be handed out again, so
        // `in_use` never counts a connection twice.
        idle.state.in_use.fetch_add(1, Ordering::AcqRel);
        Self {
            obj: Some(obj),
            idle,
        }
    }

    /// Returns the connection to the top of its endpoint's idle stack, stamped with the return
    /// time; the next checkout of that endpoint gets it first (LIFO).
    ///
    /// Call it only after a complete, successful exchange. A connection the connector no longer
    /// reports open, or one returned after [`Pool::close`](crate::Pool::close) or after the
    /// pool is gone, is discarded instead.
    pub fn release(mut this: Self) {
        let Some(mut obj) = this.obj.take() else {
            return;
        };
        let state = &this.idle.state;
        state.in_use.fetch_sub(1, Ordering::AcqRel);
        // The connector comes from the pool's manager: the pool is needed here anyway, and a
        // connector handle of its own would cost every checkout a shared reference count.
        let pool = managed::Object::pool(&obj).filter(|pool| !pool.is_closed());
        let Some(pool) = pool else {
            discard(obj, &state.endpoint, "pool closed");
            return;
        };
        if !pool.manager().connector.is_open(&obj.conn) {
            discard(obj, &state.endpoint, "closed");
            return;
        }
        obj.returned = Instant::now();
        obj.return_seq = state.next_return_seq();
        this.idle.put(obj);
        // A `close` since the check above may have emptied the stack before this put: empty it
        // again, so that no connection stays open in a closed pool.
        if pool.is_closed() {
            crate::idle::close_all(this.idle.drain());
        }
    }

    /// Takes the connection out of the pool for good, freeing its slot.
    // `this` is owned, so neither `release` nor `detach` has emptied it yet.
    #[allow(clippy::expect_used)]
    pub fn detach(mut this: Self) -> C::Connection {
        let obj = this
            .obj
            .take()
            .expect("Pooled holds its connection until consumed");
        this.idle.state.in_use.fetch_sub(1, Ordering::AcqRel);
        managed::Object::take(obj).conn
    }

    /// The endpoint this connection is open to.
    pub fn endpoint(this: &Self) -> &Endpoint {
        &this.idle.state.endpoint
    }

    // `obj` is `Some` from construction until `release`/`detach`, which consume `self`, or
    // `drop`; no `&self` method can observe `None`.
    #[allow(clippy::expect_used)]
    fn slot(&self) -> &Slot<C::Connection> {
        self.obj
            .as_ref()
            .expect("Pooled holds its connection until consumed")
    }

    // Same invariant as `slot`: `obj` is only taken by methods that consume `self`, or `drop`.
    #[allow(clippy::expect_used)]
    fn slot_mut(&mut self) -> &mut Slot<C::Connection> {
        self.obj
            .as_mut()
            .expect("Pooled holds its connection until consumed")
    }
}

/// Closes a checked-out connection and frees its slot in the endpoint's pool.
#[cold]
#[inline(never)]
fn discard<C: Connector>(obj: Object<C>, endpoint: &Endpoint, reason: &'static str) {
    tracing::debug!(%endpoint, reason, "discard");
    crate::idle::close(obj);
}

impl<C: Connector> Drop for Pooled<C> {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            self.idle.state.in_use.fetch_sub(1, Ordering::AcqRel);
            discard(obj, &self.idle.state.endpoint, "dropped without release");
        }
    }
}

impl<C: Connector> Deref for Pooled<C> {
    type Target = C::Connection;

    fn deref(&self) -> &C::Connection {
        &self.slot().conn
    }
}

impl<C: Connector> DerefMut for Pooled<C> {
    fn deref_mut(&mut self) -> &mut C::Connection {
        &mut self.slot_mut().conn
    }
}

impl<C: Connector> std::fmt::Debug for Pooled<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("endpoint", &self.idle.state.endpoint)
            .finish_non_exhaustive()
    }
}
