//! [`StorageClientBuilder`]: a [`StorageConfig`], validated.

use std::sync::Arc;
use std::time::Duration;

use crate::allow::HostAllowList;
use crate::client::{Inner, StorageClient};
use crate::config::StorageConfig;
use crate::connector::TimeoutConnector;
use crate::error::BuildError;
use crate::pool::ConnPool;

/// Builds a [`StorageClient`] from a [`StorageConfig`]. Created by [`StorageClient::builder`].
///
/// ```
/// use std::time::Duration;
/// use mogile_storage::{StorageClient, StorageConfig};
///
/// let client = StorageClient::builder()
///     .config(StorageConfig {
///         idle_timeout: Duration::from_secs(10),
///         allowed_hosts: Some(vec!["10.0.0.0/8".into()]),
///         ..StorageConfig::default()
///     })
///     .build()?;
/// # let _ = client;
/// # Ok::<_, mogile_storage::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct StorageClientBuilder {
    config: StorageConfig,
}

impl StorageClientBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Every setting, whole (default [`StorageConfig::default`]).
    pub fn config(mut self, config: StorageConfig) -> Self {
        self.config = config;
        self
    }

    /// Validates the settings and builds the client. No connection is made yet.
    ///
    /// # Errors
    /// [`BuildError::ZeroTimeout`] if a timeout (or the low-speed window) is zero,
    /// [`BuildError::InvalidSetting`] for a zero low-speed rate or an empty allow-list,
    /// [`BuildError::InvalidAllowedHost`] for an allow-list entry that does not parse.
    pub fn build(self) -> Result<StorageClient, BuildError> {
        let c = self.config;
        let low_speed_window = c.low_speed_limit.map_or(Duration::MAX, |l| l.window());
        for (name, value) in [
            ("connect_timeout", c.connect_timeout),
            ("idle_timeout", c.idle_timeout),
            ("headers_timeout", c.headers_timeout),
            ("pool_idle_timeout", c.pool_idle_timeout),
            ("low_speed_limit window", low_speed_window),
        ] {
            if value.is_zero() {
                return Err(BuildError::ZeroTimeout { name });
            }
        }
        if c.low_speed_limit.is_some_and(|l| l.bytes_per_sec() == 0) {
            return Err(BuildError::InvalidSetting {
                name: "low_speed_limit",
                reason: "bytes_per_sec must not be zero (use None to turn the limit off)",
            });
        }
        let allowed = match &c.allowed_hosts {
            Some(entries) => Some(Arc::new(HostAllowList::parse(entries)?)),
            None => None,
        };
        let connector = TimeoutConnector::new(
            c.connect_timeout,
            c.idle_timeout,
            c.low_speed_limit,
            allowed,
        );
        let pool = ConnPool::new(
            connector.clone(),
            c.pool_max_idle_per_host,
            c.pool_idle_timeout,
        );
        Ok(StorageClient {
            inner: Arc::new(Inner {
                pool,
                connector,
                config: c,
            }),
        })
    }
}
