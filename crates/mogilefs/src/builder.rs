//! [`ClientBuilder`]: the trackers, the domain, and one config struct per layer, validated in
//! [`build`](ClientBuilder::build).

use std::sync::Arc;

use mogile_storage::{StorageClient, StorageConfig};
use mogile_tracker::{TrackerClient, TrackerConfig};

use crate::client::{Client, Inner};
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::hedge::ReadState;

/// Builds a [`Client`]: `Client::builder().trackers([...]).domain("...").build()`.
///
/// Settings come whole, one plain struct per layer, each with `Default`:
/// [`config`](Self::config) takes the facade's own [`ClientConfig`],
/// [`tracker`](Self::tracker) the tracker client's [`TrackerConfig`] (with the connection
/// pool's [`PoolSettings`](crate::PoolSettings) inside), and [`storage`](Self::storage) the
/// storage client's [`StorageConfig`]. A setting has the same name at every layer.
///
/// ```
/// use std::time::Duration;
/// use mogilefs::{Client, ClientConfig, KeyPolicy, PoolSettings, StorageConfig, TrackerConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> mogilefs::Result<()> {
/// let client = Client::builder()
///     .trackers(["10.0.0.1:7001", "10.0.0.2:7001"])
///     .domain("media")
///     .config(ClientConfig { key_policy: KeyPolicy::Lenient, ..ClientConfig::default() })
///     .tracker(TrackerConfig {
///         file_timeout: Duration::from_secs(5),
///         pool: PoolSettings { max_size: 16, ..PoolSettings::default() },
///         ..TrackerConfig::default()
///     })
///     .storage(StorageConfig { idle_timeout: Duration::from_secs(10), ..StorageConfig::default() })
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
///
/// Either lower client can be supplied ready-made instead
/// ([`tracker_client`](Self::tracker_client), [`storage_client`](Self::storage_client)), which
/// is how tests inject their own; that layer's config is then not used.
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientBuilder {
    trackers: Vec<String>,
    domain: Option<String>,
    config: ClientConfig,
    tracker: TrackerConfig,
    storage: StorageConfig,
    tracker_client: Option<TrackerClient>,
    storage_client: Option<StorageClient>,
}

impl ClientBuilder {
    /// Tracker addresses (`host` or `host:port`, port 7001 by default).
    pub fn trackers<I, S>(mut self, trackers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trackers = trackers.into_iter().map(Into::into).collect();
        self
    }

    /// The domain every key belongs to (required).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The facade's own settings, whole (default [`ClientConfig::default`]).
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// The tracker client's settings, whole, the connection pool's included (default
    /// [`TrackerConfig::default`]).
    pub fn tracker(mut self, config: TrackerConfig) -> Self {
        self.tracker = config;
        self
    }

    /// The storage client's settings, whole (default [`StorageConfig::default`]): its timeouts,
    /// the low-speed limit, below which a transfer fails over to the next replica or
    /// destination, and the storage host allow-list. Take the allow-list from your own
    /// configuration, never from the tracker.
    pub fn storage(mut self, config: StorageConfig) -> Self {
        self.storage = config;
        self
    }

    /// Uses a ready-made tracker client; the trackers and [`TrackerConfig`] given here are then
    /// not used.
    pub fn tracker_client(mut self, tracker: TrackerClient) -> Self {
        self.tracker_client = Some(tracker);
        self
    }

    /// Uses a ready-made storage client; the [`StorageConfig`] given here is then not used.
    pub fn storage_client(mut self, storage: StorageClient) -> Self {
        self.storage_client = Some(storage);
        self
    }

    /// Validates the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the domain is missing or empty, no tracker is given, a count is zero,
    /// the zone is empty, or the tracker or storage client refuses its config (bad address, bad
    /// timeout, bad low-speed limit or allow-list entry).
    pub fn build(self) -> Result<Client> {
        let config_err = |message: String| Error::Config {
            message,
            source: None,
        };
        let domain = match self.domain {
            Some(d) if !d.is_empty() => d,
            _ => return Err(config_err("a non-empty domain is required".into())),
        };
        let c = &self.config;
        if c.upload_attempts == 0 {
            return Err(config_err("upload_attempts must be at least 1".into()));
        }
        if c.pathcount == 0 {
            return Err(config_err("pathcount must be at least 1".into()));
        }
        if c.zone.as_deref() == Some("") {
            return Err(config_err("zone must not be empty".into()));
        }
        if c.stripe_threshold == 0 || c.stripe_size == 0 {
            return Err(config_err(
                "stripe_threshold and stripe_size must not be zero".into(),
            ));
        }
        if c.restart_after.is_zero() {
            return Err(config_err("restart_after must not be zero".into()));
        }
        let tracker = match self.tracker_client {
            Some(t) => t,
            None => TrackerClient::builder()
                .trackers(self.trackers)
                .config(self.tracker)
                .build()
                .map_err(|e| Error::Config {
                    message: "the tracker client refused the settings".into(),
                    source: Some(Box::new(e)),
                })?,
        };
        let storage = match self.storage_client {
            Some(s) => s,
            None => StorageClient::builder()
                .config(self.storage)
                .build()
                .map_err(|e| Error::Config {
                    message: "the storage client refused the settings".into(),
                    source: Some(Box::new(e)),
                })?,
        };
        Ok(Client::from_parts(
            Arc::new(Inner {
                tracker,
                storage,
                reads: ReadState::new(self.config.hedge_after, self.config.hedge_budget_percent),
                config: self.config,
                closed: std::sync::atomic::AtomicBool::new(false),
            }),
            domain.into(),
        ))
    }
}
