//! The trait a user implements to open and check connections.

use std::future::Future;

use crate::Endpoint;

/// How to open, check and probe connections to an endpoint.
///
/// The pool knows nothing of the protocol spoken over a connection: it calls [`connect`] to open
/// one, the cheap [`is_open`] before reusing one, and the real round trip [`probe`] when a
/// connection has sat idle for longer than the pool's `probe_idle_after` and when the background
/// prober checks an endpoint's health.
///
/// All three run on the caller's runtime; timeouts are applied by the pool (`connect_timeout`,
/// `probe_timeout`), so implementations need not add their own.
///
/// [`connect`]: Connector::connect
/// [`is_open`]: Connector::is_open
/// [`probe`]: Connector::probe
pub trait Connector: Send + Sync + 'static {
    /// The connection type handed out by the pool.
    type Connection: Send + 'static;
    /// The error returned by [`connect`](Connector::connect) and [`probe`](Connector::probe).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Opens a new connection to `endpoint`.
    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = Result<Self::Connection, Self::Error>> + Send;

    /// A cheap, non-blocking check that the connection still looks usable (for example, that
    /// the peer has not closed it). Returning `false` discards the connection.
    fn is_open(&self, conn: &Self::Connection) -> bool;

    /// A real round trip proving the peer answers (for a MogileFS tracker: `noop`). An error
    /// discards the connection.
    fn probe(
        &self,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// A shared connector works too, so a caller can keep a handle on the one it gave the pool.
impl<C: Connector> Connector for std::sync::Arc<C> {
    type Connection = C::Connection;
    type Error = C::Error;

    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = Result<Self::Connection, Self::Error>> + Send {
        (**self).connect(endpoint)
    }

    fn is_open(&self, conn: &Self::Connection) -> bool {
        (**self).is_open(conn)
    }

    fn probe(
        &self,
        conn: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        (**self).probe(conn)
    }
}
