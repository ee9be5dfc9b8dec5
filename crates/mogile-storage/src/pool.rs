//! [`ConnPool`]: the pool of kept HTTP/1.1 connections every request goes out on (`GET`, `HEAD`,
//! `DELETE`, and `PUT`s of a known length; a body of unknown length gets a connection of its
//! own, `put.rs`).
//!
//! Each connection is hyper's own client connection: a [`SendRequest`] kept here and its connection
//! task spawned on the runtime, as hyper-util's pooled client (which this crate used before) also
//! does. What this pool leaves out is the rest of that client's machinery, which costs a small
//! `GET` about 15 µs of CPU (`xtask bench http-shapes`): no checkout future racing a lazy connect,
//! no task spawned per response to put the connection back once it is idle. A connection goes back
//! on its node's stack as soon as its response head arrives, and a checkout takes the most recently
//! returned one that is ready for a request; one still busy with its body is skipped, not waited
//! for.
//!
//! A connection is never handed out again once it is closed (its task ended: the node closed it,
//! its idle timeout fired, or a body was dropped before its end), poisoned (it carried a lie: see
//! [`ConnHandle`](crate::client::ConnHandle)), or idle longer than `pool_idle_timeout` (so that it
//! is dropped before mogstored's own keep-alive limit closes it under a request). Tests:
//! `tests/pool.rs` (expiry, a connection closed by its idle timeout, no reuse with a limit of
//! 0), `tests/early_answer.rs`'s `a_connection_that_answered_early_is_not_reused`, and the
//! workspace's `reliability::lying_node` matrix.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Uri;
use http::uri::Authority;
use hyper::client::conn::http1::SendRequest;
use tokio::time::Instant;

use crate::connector::{BoxError, TimeoutConnector};
use crate::req_body::ReqBody;

/// Kept connections per node (`host:port`), most recently returned last.
pub(crate) struct ConnPool {
    idle: Mutex<Nodes>,
    connector: TimeoutConnector,
    max_idle_per_host: usize,
    idle_timeout: Duration,
}

/// The nodes' stacks, found by authority once per checkout; a checked-out connection remembers
/// its node's place, so that giving it back hashes nothing. A node keeps its place for the
/// pool's life (an empty stack is a few bytes), so a place never points at another node.
#[derive(Default)]
struct Nodes {
    by_authority: HashMap<String, usize>,
    stacks: Vec<Vec<Kept>>,
}

impl Nodes {
    /// The place of `authority`'s stack, made on its first connection.
    fn place(&mut self, authority: &str) -> usize {
        if let Some(&place) = self.by_authority.get(authority) {
            return place;
        }
        let place = self.stacks.len();
        self.stacks.push(Vec::new());
        self.by_authority.insert(authority.to_owned(), place);
        place
    }
}

/// A connection waiting for its next request.
struct Kept {
    send: SendRequest<ReqBody>,
    returned: Instant,
    poisoned: Arc<AtomicBool>,
}

/// A connection checked out for one request.
pub(crate) struct Checkout {
    pub(crate) send: SendRequest<ReqBody>,
    /// Whether it served a request before (a request that fails on it before it was sent may be
    /// tried once more on a new connection: the node may have closed it meanwhile).
    pub(crate) reused: bool,
    /// Set when the connection must never serve again.
    pub(crate) poisoned: Arc<AtomicBool>,
    /// Its node's place in [`Nodes::stacks`].
    place: usize,
}

impl ConnPool {
    pub(crate) fn new(
        connector: TimeoutConnector,
        max_idle_per_host: usize,
        idle_timeout: Duration,
    ) -> Self {
        Self {
            idle: Mutex::new(Nodes::default()),
            connector,
            max_idle_per_host,
            idle_timeout,
        }
    }

    /// A kept connection to `authority` ready for a request, or a new one to `uri()` (the same
    /// node's absolute URI).
    ///
    /// # Errors
    /// The connector's (refused host, connect failure or timeout) or the handshake's.
    pub(crate) async fn checkout(
        &self,
        authority: &Authority,
        uri: impl FnOnce() -> Uri,
    ) -> Result<Checkout, BoxError> {
        if let Some(kept) = self.take_ready(authority.as_str()) {
            return Ok(kept);
        }
        // Boxed: a new connection is the rare path, and inline its future would sit in every
        // request's.
        Box::pin(self.connect(authority, uri())).await
    }

    /// A new connection to `uri` (whose authority is `authority`), its task spawned.
    pub(crate) async fn connect(
        &self,
        authority: &Authority,
        uri: Uri,
    ) -> Result<Checkout, BoxError> {
        let io = self.connector.connect(uri).await?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(io).await?;
        // The connection's task ends when the node closes it, its idle timeout fires, or every
        // handle to it (this `SendRequest`) is dropped; its error is the request's to report.
        drop(tokio::spawn(async move {
            if let Err(error) = conn.await {
                tracing::trace!(%error, "storage connection ended");
            }
        }));
        send.ready().await?;
        Ok(Checkout {
            send,
            reused: false,
            poisoned: Arc::new(AtomicBool::new(false)),
            place: self.lock().place(authority.as_str()),
        })
    }

    /// Puts a connection whose response head arrived back on its node's stack (unless the pool
    /// keeps none, or it is closed or poisoned).
    pub(crate) fn give_back(&self, checkout: Checkout) {
        if self.max_idle_per_host == 0
            || checkout.send.is_closed()
            || checkout.poisoned.load(Ordering::Acquire)
        {
            return;
        }
        let mut idle = self.lock();
        let Some(stack) = idle.stacks.get_mut(checkout.place) else {
            return;
        };
        stack.push(Kept {
            send: checkout.send,
            returned: Instant::now(),
            poisoned: checkout.poisoned,
        });
        // The limit is on idle connections (ready for a request); those still busy with a
        // response body do not count, as they would not be in hyper-util's pool either. Over it,
        // the oldest idle ones go.
        let mut idle_count = stack.iter().filter(|k| k.send.is_ready()).count();
        while idle_count > self.max_idle_per_host {
            match stack.iter().position(|k| k.send.is_ready()) {
                Some(oldest) => drop(stack.remove(oldest)),
                None => break,
            }
            idle_count -= 1;
        }
    }

    /// The most recently returned connection to `authority` that is ready now, dropping the
    /// closed, poisoned and expired ones met on the way; busy ones stay.
    fn take_ready(&self, authority: &str) -> Option<Checkout> {
        let now = Instant::now();
        let mut idle = self.lock();
        let place = *idle.by_authority.get(authority)?;
        let stack = idle.stacks.get_mut(place)?;
        stack.retain(|k| {
            !k.send.is_closed()
                && !k.poisoned.load(Ordering::Acquire)
                && now.saturating_duration_since(k.returned) < self.idle_timeout
        });
        let ready = stack.iter().rposition(|k| k.send.is_ready())?;
        let kept = stack.remove(ready);
        Some(Checkout {
            send: kept.send,
            reused: true,
            poisoned: kept.poisoned,
            place,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Nodes> {
        // The map only holds connections; a panic elsewhere leaves it valid.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
