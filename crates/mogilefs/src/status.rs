//! [`TrackerStatus`]: each tracker's health, from the tracker pool's status.

use mogile_tracker::{LastProbe, TrackerClient};

/// One tracker's health, from [`Client::tracker_status`](crate::Client::tracker_status).
///
/// A tracker is marked inactive when a connection to it fails (only when more than one is
/// configured) or when a background probe fails; a successful probe marks it active again.
/// Requests go to active trackers first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrackerStatus {
    /// The tracker's address, `host:port`.
    pub address: String,
    /// Whether requests currently go to it.
    pub active: bool,
    /// The last background probe (`noop` on a connection of its own): its latency, or why it
    /// failed ([`ProbeError`](crate::ProbeError)). `None` until the first probe has run:
    /// inactive trackers are probed every `probe_interval` (2 s by default), active ones every
    /// `probe_interval_active` (30 s) ([`PoolSettings`](crate::PoolSettings)).
    pub last_probe: Option<LastProbe>,
}

/// Every tracker's health, in the order the trackers were given.
pub(crate) fn tracker_status(tracker: &TrackerClient) -> Vec<TrackerStatus> {
    tracker
        .status()
        .endpoints
        .into_iter()
        .map(|e| TrackerStatus {
            address: e.endpoint.to_string(),
            active: e.active,
            last_probe: e.last_probe,
        })
        .collect()
}
