//! Pool settings and the builder that validates them.

use std::time::Duration;

use crate::{BuildError, Connector, Endpoint, Pool};

/// Validated settings, shared by every endpoint's pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) max_size: usize,
    pub(crate) max_idle: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) reap_interval: Duration,
    pub(crate) probe_interval: Duration,
    pub(crate) probe_interval_active: Duration,
    pub(crate) probe_idle_after: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) wait_timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_size: 10,
            max_idle: 10,
            idle_timeout: Duration::from_secs(60),
            max_lifetime: None,
            reap_interval: Duration::from_secs(5),
            probe_interval: Duration::from_secs(5),
            probe_interval_active: Duration::from_secs(30),
            probe_idle_after: Duration::from_secs(15),
            probe_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// Builds a [`Pool`]; created by [`Pool::builder`].
///
/// Every setting has a default (shown on each setter); [`build`](Self::build) checks them.
#[must_use = "a builder does nothing until `build()` is called"]
pub struct PoolBuilder<C> {
    connector: C,
    endpoints: Vec<Endpoint>,
    config: Config,
    rng_seed: Option<u64>,
}

impl<C> std::fmt::Debug for PoolBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("endpoints", &self.endpoints)
            .field("config", &self.config)
            .field("rng_seed", &self.rng_seed)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> PoolBuilder<C> {
    pub(crate) fn new(connector: C, endpoints: Vec<Endpoint>) -> Self {
        Self {
            connector,
            endpoints,
            config: Config::default(),
            rng_seed: None,
        }
    }

    /// Most connections open to one endpoint at a time, in use or idle (default 10). Probe
    /// connections do not count.
    pub fn max_size(mut self, max_size: usize) -> Self {
        self.config.max_size = max_size;
        self
    }

    /// Most idle connections kept per endpoint (default 10). Above it, the reaper closes the
    /// least recently returned ones first.
    pub fn max_idle(mut self, max_idle: usize) -> Self {
        self.config.max_idle = max_idle;
        self
    }

    /// An idle connection returned longer ago than this is closed (default 60 s).
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.config.idle_timeout = idle_timeout;
        self
    }

    /// A connection opened longer ago than this is closed when next idle (default: none).
    pub fn max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.config.max_lifetime = max_lifetime;
        self
    }

    /// How often the background reaper applies the idle limits (default 5 s).
    pub fn reap_interval(mut self, reap_interval: Duration) -> Self {
        self.config.reap_interval = reap_interval;
        self
    }

    /// How often the background prober runs a round (default 5 s). Every round probes each
    /// inactive endpoint, so a recovered endpoint is back within about this long.
    pub fn probe_interval(mut self, probe_interval: Duration) -> Self {
        self.config.probe_interval = probe_interval;
        self
    }

    /// How long an active endpoint goes between background probes (default 30 s), so one that
    /// stopped answering is noticed even without traffic, without opening a connection to
    /// every healthy endpoint every round. Checked at each `probe_interval` round, so it is
    /// rounded up to a whole number of rounds (below `probe_interval`, every round probes).
    pub fn probe_interval_active(mut self, probe_interval_active: Duration) -> Self {
        self.config.probe_interval_active = probe_interval_active;
        self
    }

    /// An idle connection returned longer ago than this is probed before it is handed out
    /// (default 15 s; zero probes every reused connection).
    pub fn probe_idle_after(mut self, probe_idle_after: Duration) -> Self {
        self.config.probe_idle_after = probe_idle_after;
        self
    }

    /// Longest a probe may take before it counts as failed (default 2 s).
    pub fn probe_timeout(mut self, probe_timeout: Duration) -> Self {
        self.config.probe_timeout = probe_timeout;
        self
    }

    /// Longest [`Pool::get`] waits for a free slot when `max_size` connections are in use
    /// (default 5 s; zero fails at once).
    pub fn wait_timeout(mut self, wait_timeout: Duration) -> Self {
        self.config.wait_timeout = wait_timeout;
        self
    }

    /// Longest opening one connection may take (default 3 s).
    pub fn connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.config.connect_timeout = connect_timeout;
        self
    }

    /// Seeds the random endpoint order of [`Pool::candidates`], making it reproducible (by
    /// default it is seeded from the operating system).
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Checks the settings and starts the pool and its background reaper and prober.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for no or duplicate endpoints, a zero `max_size`, `reap_interval`,
    /// `probe_interval`, `probe_interval_active`, `probe_timeout` or `connect_timeout`, or
    /// when called outside a tokio runtime.
    pub fn build(self) -> Result<Pool<C>, BuildError> {
        if self.endpoints.is_empty() {
            return Err(BuildError::NoEndpoints);
        }
        for (i, ep) in self.endpoints.iter().enumerate() {
            if self.endpoints[..i].contains(ep) {
                return Err(BuildError::DuplicateEndpoint {
                    endpoint: ep.clone(),
                });
            }
        }
        let c = &self.config;
        for (setting, zero) in [
            ("max_size", c.max_size == 0),
            ("reap_interval", c.reap_interval.is_zero()),
            ("probe_interval", c.probe_interval.is_zero()),
            ("probe_interval_active", c.probe_interval_active.is_zero()),
            ("probe_timeout", c.probe_timeout.is_zero()),
            ("connect_timeout", c.connect_timeout.is_zero()),
        ] {
            if zero {
                return Err(BuildError::Zero { setting });
            }
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        Pool::start(
            self.connector,
            self.endpoints,
            self.config,
            self.rng_seed,
            runtime,
        )
    }
}
