//! [`ClientBuilder`]: every client setting, validated in [`build`](ClientBuilder::build).

use std::sync::Arc;
use std::time::Duration;

use mogile_protocol::KeyPolicy;
use mogile_storage::{LowSpeed, StorageClient, StorageConfig};
use mogile_tracker::{TrackerClient, TrackerConfig};

use crate::client::{Client, Inner};
use crate::error::{Error, Result};
use crate::options::ChecksumPolicy;

/// The tracker reaps temp files one hour after `create_open`; an upload that has taken longer than
/// this restarts instead of closing, so its close cannot race the reaper.
pub(crate) const DEFAULT_RESTART_AFTER: Duration = Duration::from_secs(50 * 60);

/// Settings shared by every handle of one client (and its [`Client::with_domain`] siblings).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) key_policy: KeyPolicy,
    pub(crate) checksum: ChecksumPolicy,
    pub(crate) zone: Option<String>,
    pub(crate) pathcount: u32,
    pub(crate) noverify: bool,
    pub(crate) upload_attempts: u32,
    pub(crate) no_devices_retries: u32,
    pub(crate) no_devices_backoff: Duration,
    pub(crate) restart_after: Duration,
}

/// Builds a [`Client`]: `Client::builder().trackers([...]).domain("...").build()`.
///
/// Tracker connection settings (`connect_timeout`, `tracker_timeout`, `pool_size`,
/// `tracker_retry_budget`) configure the tracker client built here; storage settings
/// (`storage_connect_timeout`, `storage_io_timeout`, `storage_response_timeout`,
/// `storage_low_speed_limit`, `storage_allowed_hosts`) configure the HTTP client. Either client
/// can
/// be supplied ready-made instead ([`tracker_client`](Self::tracker_client),
/// [`storage_client`](Self::storage_client)), which is how tests inject their own.
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientBuilder {
    trackers: Vec<String>,
    domain: Option<String>,
    connect_timeout: Option<Duration>,
    tracker_timeout: Option<Duration>,
    pool_size: Option<usize>,
    tracker_retry_budget: Option<u32>,
    storage_connect_timeout: Option<Duration>,
    storage_io_timeout: Option<Duration>,
    storage_response_timeout: Option<Duration>,
    storage_low_speed_limit: Option<Option<LowSpeed>>,
    storage_allowed_hosts: Option<Vec<String>>,
    tracker: Option<TrackerClient>,
    storage: Option<StorageClient>,
    config: Config,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            trackers: Vec::new(),
            domain: None,
            connect_timeout: None,
            tracker_timeout: None,
            pool_size: None,
            tracker_retry_budget: None,
            storage_connect_timeout: None,
            storage_io_timeout: None,
            storage_response_timeout: None,
            storage_low_speed_limit: None,
            storage_allowed_hosts: None,
            tracker: None,
            storage: None,
            config: Config {
                key_policy: KeyPolicy::default(),
                checksum: ChecksumPolicy::Off,
                zone: None,
                pathcount: 3,
                noverify: true,
                upload_attempts: 2,
                no_devices_retries: 3,
                no_devices_backoff: Duration::from_millis(200),
                restart_after: DEFAULT_RESTART_AFTER,
            },
        }
    }
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

    /// Time allowed to open a tracker connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Time allowed for a tracker to answer a file command.
    pub fn tracker_timeout(mut self, timeout: Duration) -> Self {
        self.tracker_timeout = Some(timeout);
        self
    }

    /// Maximum open connections per tracker.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// Attempts the tracker client makes for a request that is safe to retry.
    pub fn tracker_retry_budget(mut self, attempts: u32) -> Self {
        self.tracker_retry_budget = Some(attempts);
        self
    }

    /// Time allowed to open a connection to a storage node.
    pub fn storage_connect_timeout(mut self, timeout: Duration) -> Self {
        self.storage_connect_timeout = Some(timeout);
        self
    }

    /// Time a storage transfer may stall (no byte read or written) before it fails over.
    pub fn storage_io_timeout(mut self, timeout: Duration) -> Self {
        self.storage_io_timeout = Some(timeout);
        self
    }

    /// Time a storage node may take to answer once the request was sent (for a PUT: after its
    /// last body byte) before the transfer fails over.
    pub fn storage_response_timeout(mut self, timeout: Duration) -> Self {
        self.storage_response_timeout = Some(timeout);
        self
    }

    /// The minimum rate of a storage transfer, over time spent waiting on the node, below which it
    /// fails over to the next replica or destination; `None` turns it off. Default: on, 1 KiB/s
    /// over 30 s of waiting ([`LowSpeed::default`]), which no healthy node comes near. The
    /// caller's own pauses (a slow body source, a fetch stream not being read) never count. See
    /// [`StorageConfig::low_speed_limit`](mogile_storage::StorageConfig::low_speed_limit).
    pub fn storage_low_speed_limit(mut self, limit: Option<LowSpeed>) -> Self {
        self.storage_low_speed_limit = Some(limit);
        self
    }

    /// Restricts the storage URLs the client contacts to these hosts: IP addresses, CIDR
    /// networks (`10.0.0.0/8`) or exact host names. A path or destination outside the list is
    /// never connected to and fails over to the next one. Default: off. Take the list from your
    /// own configuration, never from the tracker. See
    /// [`StorageConfig::allowed_hosts`](mogile_storage::StorageConfig::allowed_hosts)
    /// for the matching rules.
    pub fn storage_allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.storage_allowed_hosts = Some(hosts.into_iter().map(Into::into).collect());
        self
    }

    /// Uses a ready-made tracker client; tracker settings of this builder are then not used.
    pub fn tracker_client(mut self, tracker: TrackerClient) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// Uses a ready-made storage client; storage settings of this builder are then not used.
    pub fn storage_client(mut self, storage: StorageClient) -> Self {
        self.storage = Some(storage);
        self
    }

    /// How checksums are used by default (default [`ChecksumPolicy::Off`]).
    pub fn checksum(mut self, policy: ChecksumPolicy) -> Self {
        self.config.checksum = policy;
        self
    }

    /// Which keys the client accepts for keys it creates (store, rename target); default strict.
    pub fn key_policy(mut self, policy: KeyPolicy) -> Self {
        self.config.key_policy = policy;
        self
    }

    /// Network zone sent on `create_open`, `create_close` and `get_paths` (e.g. `alt`).
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.config.zone = Some(zone.into());
        self
    }

    /// Paths asked of `get_paths` (default 3, at least 1).
    pub fn pathcount(mut self, pathcount: u32) -> Self {
        self.config.pathcount = pathcount;
        self
    }

    /// Whether `get_paths` skips the tracker's HEAD check (default `true`: the client fails over
    /// between replicas itself, and the check costs a storage round trip).
    pub fn noverify(mut self, on: bool) -> Self {
        self.config.noverify = on;
        self
    }

    /// How many `create_open` .. `create_close` sequences a store of a replayable body may run
    /// (default 2, at least 1).
    pub fn upload_attempts(mut self, attempts: u32) -> Self {
        self.config.upload_attempts = attempts;
        self
    }

    /// How often a `create_open` answered `no_devices` is retried, and the first wait (doubled
    /// each time); default 3 retries from 200 ms.
    pub fn no_devices_retry(mut self, retries: u32, backoff: Duration) -> Self {
        self.config.no_devices_retries = retries;
        self.config.no_devices_backoff = backoff;
        self
    }

    /// How long an upload may run before it restarts rather than closes (default 50 minutes; the
    /// tracker reaps temp files after one hour).
    pub fn restart_after(mut self, after: Duration) -> Self {
        self.config.restart_after = after;
        self
    }

    /// Validates the settings and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the domain is missing or empty, no tracker is given, a count is zero,
    /// or the tracker or storage client cannot be built (bad address, bad timeout, bad low-speed
    /// limit or allow-list entry).
    pub fn build(self) -> Result<Client> {
        let config_err = |message: String| Error::Config {
            message,
            source: None,
        };
        let domain = match self.domain {
            Some(d) if !d.is_empty() => d,
            _ => return Err(config_err("a non-empty domain is required".into())),
        };
        if self.config.upload_attempts == 0 {
            return Err(config_err("upload_attempts must be at least 1".into()));
        }
        if self.config.pathcount == 0 {
            return Err(config_err("pathcount must be at least 1".into()));
        }
        if self.config.zone.as_deref() == Some("") {
            return Err(config_err("zone must not be empty".into()));
        }
        if self.config.restart_after.is_zero() {
            return Err(config_err("restart_after must not be zero".into()));
        }
        let tracker = match self.tracker {
            Some(t) => t,
            None => {
                let mut c = TrackerConfig::default();
                if let Some(t) = self.connect_timeout {
                    c.pool.connect_timeout = t;
                }
                if let Some(t) = self.tracker_timeout {
                    c.file_timeout = t;
                }
                if let Some(n) = self.pool_size {
                    c.pool.max_size = n;
                }
                if let Some(n) = self.tracker_retry_budget {
                    c.retry_budget = Some(n);
                }
                TrackerClient::builder()
                    .trackers(self.trackers)
                    .config(c)
                    .build()
                    .map_err(|e| Error::Config {
                        message: "the tracker client refused the settings".into(),
                        source: Some(Box::new(e)),
                    })?
            }
        };
        let storage = match self.storage {
            Some(s) => s,
            None => {
                let mut c = StorageConfig::default();
                if let Some(t) = self.storage_connect_timeout {
                    c.connect_timeout = t;
                }
                if let Some(t) = self.storage_io_timeout {
                    c.idle_timeout = t;
                }
                if let Some(t) = self.storage_response_timeout {
                    c.headers_timeout = t;
                }
                if let Some(limit) = self.storage_low_speed_limit {
                    c.low_speed_limit = limit;
                }
                if let Some(hosts) = self.storage_allowed_hosts {
                    c.allowed_hosts = Some(hosts);
                }
                StorageClient::builder().config(c).build().map_err(|e| Error::Config {
                    message: "the storage client refused the settings".into(),
                    source: Some(Box::new(e)),
                })?
            }
        };
        Ok(Client::from_parts(
            Arc::new(Inner {
                tracker,
                storage,
                config: self.config,
                closed: std::sync::atomic::AtomicBool::new(false),
            }),
            domain.into(),
        ))
    }
}
