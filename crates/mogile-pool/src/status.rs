//! A snapshot of the pool for observability.

use std::time::Duration;

use tokio::time::Instant;

use crate::{Endpoint, ProbeError};

/// A snapshot of every endpoint, from [`Pool::status`](crate::Pool::status).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolStatus {
    /// One entry per endpoint, in the order the pool was built with.
    pub endpoints: Vec<EndpointStatus>,
}

impl PoolStatus {
    /// The entry for `endpoint`, if it is configured.
    pub fn endpoint(&self, endpoint: &Endpoint) -> Option<&EndpointStatus> {
        self.endpoints.iter().find(|s| &s.endpoint == endpoint)
    }
}

/// The state of one endpoint.
///
/// When no checkout is in progress, `open == idle + in_use` and `open <= max_size`. Probe
/// connections are not counted in `open`: they are outside `max_size` and reported in
/// `probes_in_flight`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EndpointStatus {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Whether selection currently favours it (see [`Pool::candidates`](crate::Pool::candidates)).
    pub active: bool,
    /// The most connections it may have open.
    pub max_size: usize,
    /// Pooled connections open: idle, in use, or being vetted for a checkout.
    pub open: usize,
    /// Connections on the idle stack.
    pub idle: usize,
    /// Connections checked out (live [`Pooled`](crate::Pooled) values).
    pub in_use: usize,
    /// [`Pool::get`](crate::Pool::get) calls in progress that had to wait: for a slot, for the
    /// probe of an idle connection or for a connect. A checkout that completes at once (an idle
    /// connection, nothing to vet) is not counted (`tests/waiting.rs` and `tests/cancellation.rs`
    /// check the count of the ones that wait).
    pub waiters: usize,
    /// Health probes running now (at most one per endpoint).
    pub probes_in_flight: usize,
    /// Health probes that have failed since the pool was built.
    pub probe_failures: u64,
    /// The last health probe that finished (background, or asked for with
    /// [`Pool::probe_now`](crate::Pool::probe_now)); `None` before the first. The probes that
    /// vet an idle connection before a checkout are not health probes and do not count.
    pub last_probe: Option<LastProbe>,
}

/// What the last health probe of an endpoint found; it set the endpoint's `active` flag.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LastProbe {
    /// When it finished, on tokio's clock.
    pub at: Instant,
    /// Its latency, from starting to open its connection to the probe's answer; or why it
    /// failed.
    pub result: Result<Duration, ProbeError>,
}
