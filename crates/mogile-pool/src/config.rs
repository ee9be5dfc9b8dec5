//! [`PoolSettings`], and the builder that validates them.

use std::time::Duration;

use crate::{BuildError, Connector, Endpoint, Pool};

/// Every setting of a [`Pool`], shared by all its endpoints. Give it whole to
/// [`PoolBuilder::settings`]; each field's default is in its doc.
///
/// A plain struct: change the fields you need and take the rest from [`Default`]:
///
/// ```
/// use std::time::Duration;
/// use mogile_pool::PoolSettings;
///
/// let settings = PoolSettings {
///     max_size: 4,
///     connect_timeout: Duration::from_millis(500),
///     ..PoolSettings::default()
/// };
/// assert_eq!(settings.max_idle, None); // unset: as many as max_size
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`: missing fields take their
/// defaults, unknown fields are refused, and durations are written as humantime strings
/// (`"1s"`, `"500ms"`, `"2m 30s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct PoolSettings {
    /// Most connections open to one endpoint at a time, in use or idle. Probe connections do
    /// not count. Default 8; must not be zero.
    pub max_size: usize,
    /// Most idle connections kept per endpoint; above it, the reaper closes the least recently
    /// returned ones first. Default `None`: as many as [`max_size`](Self::max_size).
    pub max_idle: Option<usize>,
    /// An idle connection returned longer ago than this is closed. Default 60 s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub idle_timeout: Duration,
    /// A connection opened longer ago than this is closed when next idle. Default `None`: no
    /// limit.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub max_lifetime: Option<Duration>,
    /// How often the background reaper applies the idle limits. Default 5 s; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub reap_interval: Duration,
    /// How often the background prober runs a round. Every round probes each inactive
    /// endpoint, so a recovered endpoint is back within about this long. Default 2 s; must not
    /// be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub probe_interval: Duration,
    /// How long an active endpoint goes between background probes, so one that stopped
    /// answering is noticed even without traffic, without opening a connection to every healthy
    /// endpoint every round. Checked at each [`probe_interval`](Self::probe_interval) round, so
    /// rounded up to a whole number of rounds (below `probe_interval`, every round probes).
    /// Default 30 s; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub probe_interval_active: Duration,
    /// An idle connection returned longer ago than this is probed before it is handed out
    /// (zero probes every reused connection). Default 30 s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub probe_idle_after: Duration,
    /// Longest a probe may take before it counts as failed. Default 2 s; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub probe_timeout: Duration,
    /// Longest [`Pool::get`] waits for a free slot when `max_size` connections are in use
    /// (zero fails at once). Default 5 s.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub wait_timeout: Duration,
    /// Longest opening one connection may take, for a checkout or a probe. Default 1 s; must
    /// not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 8,
            max_idle: None,
            idle_timeout: Duration::from_secs(60),
            max_lifetime: None,
            reap_interval: Duration::from_secs(5),
            probe_interval: Duration::from_secs(2),
            probe_interval_active: Duration::from_secs(30),
            probe_idle_after: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
        }
    }
}

impl PoolSettings {
    /// The idle limit in force: `max_idle`, or `max_size` when it is unset.
    pub(crate) fn idle_limit(&self) -> usize {
        self.max_idle.unwrap_or(self.max_size)
    }
}

/// Builds a [`Pool`]; created by [`Pool::builder`].
#[must_use = "a builder does nothing until `build()` is called"]
pub struct PoolBuilder<C> {
    connector: C,
    endpoints: Vec<Endpoint>,
    settings: PoolSettings,
    rng_seed: Option<u64>,
}

impl<C> std::fmt::Debug for PoolBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("endpoints", &self.endpoints)
            .field("settings", &self.settings)
            .field("rng_seed", &self.rng_seed)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> PoolBuilder<C> {
    pub(crate) fn new(connector: C, endpoints: Vec<Endpoint>) -> Self {
        Self {
            connector,
            endpoints,
            settings: PoolSettings::default(),
            rng_seed: None,
        }
    }

    /// The pool's settings, whole (default [`PoolSettings::default`]).
    pub fn settings(mut self, settings: PoolSettings) -> Self {
        self.settings = settings;
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
        let s = &self.settings;
        for (setting, zero) in [
            ("max_size", s.max_size == 0),
            ("reap_interval", s.reap_interval.is_zero()),
            ("probe_interval", s.probe_interval.is_zero()),
            ("probe_interval_active", s.probe_interval_active.is_zero()),
            ("probe_timeout", s.probe_timeout.is_zero()),
            ("connect_timeout", s.connect_timeout.is_zero()),
        ] {
            if zero {
                return Err(BuildError::Zero { setting });
            }
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        Pool::start(
            self.connector,
            self.endpoints,
            self.settings,
            self.rng_seed,
            runtime,
        )
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn durations_are_humantime_strings_and_missing_fields_take_defaults() {
        let json = serde_json::to_value(PoolSettings::default()).unwrap();
        assert_eq!(json["connect_timeout"], "1s");
        assert_eq!(json["max_lifetime"], serde_json::Value::Null);
        let back: PoolSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, PoolSettings::default());

        let partial: PoolSettings = serde_json::from_str(
            r#"{"max_size": 3, "max_lifetime": "10m", "wait_timeout": "250ms"}"#,
        )
        .unwrap();
        assert_eq!(
            partial,
            PoolSettings {
                max_size: 3,
                max_lifetime: Some(Duration::from_secs(600)),
                wait_timeout: Duration::from_millis(250),
                ..PoolSettings::default()
            }
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<PoolSettings>(r#"{"pool_size": 3}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
