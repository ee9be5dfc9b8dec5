#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! A generic async connection pool: LIFO checkout, LRU idle expiry, liveness probes and
//! endpoint health. It knows nothing of MogileFS: the tracker client uses it, and so could any
//! other line-protocol client.
//!
//! You implement [`Connector`] (open a connection, a cheap "is it still open" check, a real
//! liveness probe); the [`Pool`] keeps one pool of connections per [`Endpoint`] and tracks
//! which endpoints are healthy.
//!
//! ```
//! use std::convert::Infallible;
//! use mogile_pool::{Connector, Endpoint, Pool, PoolSettings, Pooled};
//!
//! /// A toy connection: it only remembers where it goes.
//! struct Toy(Endpoint);
//! struct ToyConnector;
//!
//! impl Connector for ToyConnector {
//!     type Connection = Toy;
//!     type Error = Infallible;
//!     async fn connect(&self, ep: &Endpoint) -> Result<Toy, Infallible> {
//!         Ok(Toy(ep.clone())) // a real connector would open a socket here
//!     }
//!     fn is_open(&self, _: &Toy) -> bool {
//!         true // a real one would check the peer has not hung up
//!     }
//!     async fn probe(&self, _: &mut Toy) -> Result<(), Infallible> {
//!         Ok(()) // a real one would do a round trip (a tracker's `noop`)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::builder(ToyConnector, ["10.0.0.1:7001", "10.0.0.2:7001"])
//!     .settings(PoolSettings { max_size: 4, ..PoolSettings::default() })
//!     .build()?;
//!
//! // Try the healthy endpoints in random order, as a request with failover would.
//! for endpoint in pool.candidates() {
//!     let conn = match pool.get(&endpoint).await {
//!         Ok(conn) => conn,
//!         Err(e) if e.is_connect() => continue, // already marked inactive: try the next
//!         Err(e) => return Err(e.into()),
//!     };
//!     assert_eq!(conn.0, endpoint);
//!     // ... a complete, successful exchange on `conn` ...
//!     Pooled::release(conn); // only now does it go back on the idle stack
//!     let status = pool.status();
//!     assert_eq!(status.endpoint(&endpoint).map(|s| (s.idle, s.in_use)), Some((1, 0)));
//!     break;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every setting named below is a field of [`PoolSettings`], given whole to
//! [`PoolBuilder::settings`]; its doc gives the default.
//!
//! # Checkout and return
//!
//! Each endpoint has its own pool of at most `max_size` connections (in use or idle).
//! [`Pool::get`] hands out the **most recently returned** idle connection first (LIFO), so a
//! busy client keeps few sockets warm and the connections idle longest sink to the bottom of
//! the stack, where expiry looks first. With none idle it opens one.
//!
//! A checked-out [`Pooled`] dereferences to your connection. **Dropping it discards the
//! connection.** Only [`Pooled::release`], called after a complete, successful exchange,
//! returns it to the idle stack, stamped with the return time. So discard is the default on
//! every error path: a connection that saw an I/O error or timeout, or whose request was
//! cancelled mid-exchange, is closed and never handed out with a half-read reply in it.
//! Dropping a pending `get` future is safe at any point too: nothing leaks and nothing is
//! left half-vetted in the pool.
//!
//! # Expiry
//!
//! A background reaper runs every `reap_interval` and closes idle connections:
//! - returned longer ago than `idle_timeout`;
//! - opened longer ago than `max_lifetime`, if set;
//! - no longer reported open by [`Connector::is_open`] (the peer hung up);
//! - beyond `max_idle` per endpoint, the **least recently returned** first.
//!
//! Connections in use are never touched. The same age limits are checked again at checkout,
//! so an expired connection is never handed out between two reaper runs. Times are taken from
//! tokio's clock ([`tokio::time::Instant`]), so expiry is testable with a paused clock.
//!
//! # Liveness
//!
//! Before an idle connection is handed out, [`Connector::is_open`] is checked; one idle for
//! longer than `probe_idle_after` is also [probed](Connector::probe), within
//! `probe_timeout`. A connection failing either is closed and the next idle one tried, or a
//! new one opened: the caller never sees it.
//!
//! # Endpoint health
//!
//! Each endpoint is active or inactive. [`Pool::candidates`] lists the active ones in random
//! order (the seed library picks a tracker at random; seed the RNG with
//! [`PoolBuilder::rng_seed`] for reproducible tests). When every endpoint is inactive it lists
//! them all, in random order, so a request still tries rather than failing untried.
//!
//! An endpoint is marked inactive by a *connection* failure: a failed or timed-out connect in
//! [`Pool::get`], or a failure the caller reports with [`Pool::mark_failed`] (reset, or closed
//! before any reply). That happens only when more than one endpoint is configured: with a
//! single one there is nowhere else to go. A slow reply alone is not a connection failure;
//! the caller asks for [`Pool::probe_now`] instead.
//!
//! A background prober checks **every** endpoint, active ones included, and marks each active
//! or inactive by the answer: it restores endpoints that recovered and catches active ones
//! that stopped answering. It runs a round every `probe_interval`: each round probes every
//! inactive endpoint, but an active one only when its last background probe was at least
//! `probe_interval_active` ago (rounded up to a whole round), so a fleet of
//! clients does not open a connection to every healthy endpoint every few seconds. Probes
//! open a connection of their own, outside `max_size`, and close it afterwards;
//! [`Pool::status`] reports them separately. This is the one health mechanism: no other
//! layer should keep a dead list.
//!
//! # Bounded waiting
//!
//! When `max_size` connections to an endpoint are in use, [`Pool::get`] waits for one to be
//! released or discarded, at most `wait_timeout` ([`PoolError::WaitTimeout`]). Opening a
//! connection takes at most `connect_timeout` ([`PoolError::ConnectTimeout`]). Both errors
//! name the endpoint.
//!
//! # Observability
//!
//! [`Pool::status`] gives, per endpoint: active or not, open, idle, in use, waiters, probes in
//! flight, probe failures, and the last health probe's latency or error ([`LastProbe`]). `tracing` events, each with an `endpoint` field:
//!
//! | Event | Level | When |
//! | --- | --- | --- |
//! | `connect` / `connect failed` | debug | a pooled connection was opened / could not be |
//! | `discard` | debug | a connection was closed: dropped unreleased, reported closed, failed its probe (`reason`) |
//! | `expire` | debug | an idle connection passed `idle_timeout`, `max_lifetime` or `max_idle` (`reason`) |
//! | `mark inactive` | warn | an endpoint was marked inactive (`reason`) |
//! | `mark active` | info | an inactive endpoint answered a probe |
//! | `probe failed` | debug | a health probe failed (`reason`) |
//!
//! # Runtime and shutdown
//!
//! [`PoolBuilder::build`] must run inside a tokio runtime with time enabled: it spawns the
//! reaper and the prober there. Both hold only a weak reference and are aborted when the last
//! [`Pool`] clone is dropped or [`Pool::close`] is called, so they never keep a process alive.
//!
//! `deadpool` does the per-endpoint pooling underneath (opening connections within
//! `connect_timeout`, the `max_size` bound, bounded waiting); it appears in no public signature.
//! Idle connections wait on a stack of the pool's own, which a checkout pops and vets without
//! going through `deadpool`'s checkout: that is most of what a pooled request used to spend on
//! its connection.

mod config;
mod connector;
mod endpoint;
mod error;
mod health;
mod idle;
mod manager;
mod pool;
mod pooled;
mod reaper;
mod status;

pub use config::{PoolBuilder, PoolSettings};
pub use connector::Connector;
pub use endpoint::Endpoint;
pub use error::{BuildError, PoolError, ProbeError};
pub use pool::{CandidateOrder, Pool};
pub use pooled::Pooled;
pub use status::{EndpointStatus, LastProbe, PoolStatus};
