#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! Async client for MogileFS trackers: pooled connections, per-command timeouts, failover
//! and retry safety, on tokio.
//!
//! ```
//! use mogile_protocol::{CreateDomain, ErrorCode, GetPaths, ListKeys};
//! use mogile_tracker::TrackerClient;
//! # use mogile_testkit::tracker::FakeTracker;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = FakeTracker::start(Default::default()).await?;
//! # let tracker = fake.addr().to_string();
//! // Real deployments list several trackers; an address without a port means 7001.
//! let client = TrackerClient::builder().trackers([tracker]).build()?;
//!
//! client.admin().create_domain(CreateDomain::new("media")).await?;
//! let page = client.list_keys(ListKeys::new("media").prefix("cats/")).await?;
//! assert!(page.keys.is_empty());
//!
//! // A tracker `ERR` is an answer, typed: here the key does not exist.
//! let found = match client.get_paths(GetPaths::new("media", "cats/1.jpg")).await {
//!     Ok(paths) => Some(paths),
//!     Err(e) if e.code() == Some(&ErrorCode::UnknownKey) => None,
//!     Err(e) => return Err(e.into()),
//! };
//! assert!(found.is_none());
//! # Ok(())
//! # }
//! ```
//!
//! Every setting is a field of one [`TrackerConfig`] (the connection pool's in its
//! [`PoolSettings`]), given whole to [`TrackerClientBuilder::config`].
//!
//! # Behaviour
//!
//! - **One request in flight per connection.** A request writes one line and reads exactly one
//!   reply line. The connection goes back to the pool only after a clean exchange; after any
//!   I/O error, timeout, protocol error or cancellation it is closed, so a late reply can never
//!   be read as the answer to another request. Every request carries a `callid` (from a
//!   counter, [`callid_start`](TrackerClientBuilder::callid_start)); a reply that echoes
//!   another one, or none once the tracker has echoed one on that connection, is refused as
//!   out of step. Bytes after a reply line also retire the connection.
//! - **Timeouts per command class**: file commands 10 s, admin commands 25 s by default
//!   ([`file_timeout`](TrackerConfig::file_timeout), [`admin_timeout`](TrackerConfig::admin_timeout)),
//!   both below the tracker's 30 s watchdog, past which the tracker silently re-runs the query
//!   and never answers.
//! - **Failover.** A request goes to a random active tracker. A connection failure (refused,
//!   reset, closed before any reply byte) marks that tracker inactive and the request moves on
//!   at once. A timeout closes the connection and has the tracker probed; only a failed probe
//!   marks it inactive. Inactive trackers are probed with `noop` in the background every 2 s
//!   ([`probe_interval`](PoolSettings::probe_interval)) and come back when they
//!   answer; active ones every 30 s
//!   ([`probe_interval_active`](PoolSettings::probe_interval_active)), so one that
//!   stopped answering is noticed without traffic.
//! - **Retry safety.** A request that never reached a tracker in full may be retried anywhere.
//!   One whose reply was lost after it was written is retried only if the command is safe to
//!   repeat (reads and listings); for a mutating command the error says the outcome is unknown
//!   ([`TrackerError::outcome_unknown`]). Every error says how far its request got
//!   ([`TrackerError::delivery`]): the failover asks exactly that, and so can callers. Real trackers sometimes close innocent connections
//!   without a reply (a server bug triggered by colliding renames): this is that case.
//! - **Retry budget**: at most [`retry_budget`](TrackerConfig::retry_budget) attempts
//!   (default: the number of trackers, at least 2), with no delay between trackers and a
//!   capped, jittered backoff when every tracker is inactive and the list is walked again.
//! - A tracker `ERR` is an answer: returned at once as [`TrackerError::Server`] with a typed
//!   [`ErrorCode`](mogile_protocol::ErrorCode).
//! - [`request_pair`](TrackerClient::request_pair) pipelines two reads on one connection (both
//!   lines in one write, both replies read in order, failing over as a whole); the facade's
//!   `get` sends `get_paths` and `file_info` that way.
//! - Every request runs in a `tracker_request` `tracing` span (`DEBUG`) with the fields
//!   `command`, `tracker`, `attempt`, `callid` and `outcome` (and `pipelined`, the second
//!   command, for a pair). A failover is two `WARN` events in
//!   it, each with `command`, `tracker` and `attempt`: `tracker failed; trying another` (with
//!   the `error`) and, once another tracker answered, `answered after failover`.
//!
//! # Layout
//!
//! - `client.rs`: [`TrackerClient`], the generic [`request`](TrackerClient::request),
//!   [`request_pair`](TrackerClient::request_pair) and [`raw`](TrackerClient::raw);
//! - `file.rs` / `admin.rs`: named methods for file commands and the [`AdminCommands`] handle;
//! - `config.rs`: [`TrackerConfig`], every setting (the pool's in [`PoolSettings`]);
//! - `builder.rs`: [`TrackerClientBuilder`], address parsing and option checks;
//! - `failover.rs`: attempts, failover, retry safety; `backoff.rs`: the jittered delay;
//! - `connection.rs`: one connection's write-one-line / read-one-line exchange;
//! - `connector.rs`: the pool [`Connector`](mogile_pool::Connector) (TCP, `noop` probe);
//! - `error.rs`: [`TrackerError`], [`BuildError`].

/// Generates one thin async method per typed command, each calling `self.request(cmd)`.
macro_rules! command_methods {
    ($($wire:literal $method:ident => $cmd:ident;)*) => {$(
        #[doc = concat!("Sends `", $wire, "` ([`", stringify!($cmd), "`](mogile_protocol::",
            stringify!($cmd), ")) and returns its typed output.")]
        ///
        /// # Errors
        ///
        /// As [`TrackerClient::request`](crate::TrackerClient::request).
        pub async fn $method(&self, cmd: $cmd) -> Result<<$cmd as Command>::Output, TrackerError> {
            self.request(cmd).await
        }
    )*};
}

mod admin;
mod backoff;
mod builder;
mod client;
mod config;
mod connection;
mod connector;
mod error;
mod failover;
mod file;

pub use admin::AdminCommands;
pub use builder::{DEFAULT_PORT, TRACKER_WATCHDOG, TrackerClientBuilder};
pub use client::TrackerClient;
pub use config::TrackerConfig;
pub use error::{BuildError, Delivery, TrackerError};
pub use mogile_pool::{Endpoint, EndpointStatus, LastProbe, PoolSettings, PoolStatus, ProbeError};
