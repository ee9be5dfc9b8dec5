//! [`StorageClientBuilder`]: configuration and validation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::allow::HostAllowList;
use crate::client::{Inner, StorageClient};
use crate::connector::TimeoutConnector;
use crate::error::BuildError;
use crate::speed::LowSpeed;

/// The settings a built client runs with.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) headers_timeout: Duration,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) pool_max_idle_per_host: usize,
    pub(crate) error_body_limit: usize,
    pub(crate) spool_limit: u64,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) low_speed_limit: Option<LowSpeed>,
    pub(crate) allowed_hosts: Option<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            headers_timeout: Duration::from_secs(30),
            // Below mogstored's `Keep-Alive: timeout=30`, so we never reuse a connection the node
            // is about to close.
            pool_idle_timeout: Duration::from_secs(20),
            pool_max_idle_per_host: 16,
            error_body_limit: 1024,
            spool_limit: 16 * 1024 * 1024,
            spool_dir: None,
            low_speed_limit: Some(LowSpeed::default()),
            allowed_hosts: None,
        }
    }
}

/// Builds a [`StorageClient`]. Created by [`StorageClient::builder`].
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct StorageClientBuilder {
    config: Config,
}

impl StorageClientBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Time allowed to establish a TCP connection. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// A connection with a pending read or write that makes no progress in either direction for
    /// this long fails, and so does a download body that yields no frame for this long. Default
    /// 30 s.
    ///
    /// It also bounds how long the caller's own upload stream may pause: while it pauses the
    /// connection makes no progress either.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Time allowed for the response headers, counted from when the request body's last byte was
    /// handed to the connection (from sending, for bodiless requests). Default 30 s.
    pub fn headers_timeout(mut self, timeout: Duration) -> Self {
        self.config.headers_timeout = timeout;
        self
    }

    /// How long an idle pooled connection may be reused. Default 20 s, below mogstored's
    /// `Keep-Alive: timeout=30`.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.pool_idle_timeout = timeout;
        self
    }

    /// Maximum idle pooled connections per host. Default 16; 0 disables reuse.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.config.pool_max_idle_per_host = max;
        self
    }

    /// Maximum bytes of an error response body kept in
    /// [`StorageError::Status`](crate::StorageError::Status). Default 1024.
    pub fn error_body_limit(mut self, limit: usize) -> Self {
        self.config.error_body_limit = limit;
        self
    }

    /// How many bytes of a body of unknown length are copied into a temporary file while they are
    /// sent chunked, so the body can be resent with a `Content-Length` if the node refuses
    /// chunked bodies (`411`/`501`). Default 16 MiB; 0 disables the fallback.
    pub fn spool_limit(mut self, limit: u64) -> Self {
        self.config.spool_limit = limit;
        self
    }

    /// Directory for the spool files above. Default: the system temporary directory.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.spool_dir = Some(dir.into());
        self
    }

    /// The minimum transfer rate, over time spent waiting on the node, below which an upload or
    /// download fails with [`TimeoutPhase::LowSpeed`](crate::TimeoutPhase::LowSpeed) (see
    /// [`LowSpeed`] for what counts as waiting). `None` turns it off.
    ///
    /// Default: on, [`LowSpeed::default`] (1 KiB/s over 30 s of waiting), far below any healthy
    /// disk or network. Without it, a node that sends or reads one byte just inside the idle
    /// timeout holds a transfer forever; with it, a crawling replica becomes a failover.
    pub fn low_speed_limit(mut self, limit: Option<LowSpeed>) -> Self {
        self.config.low_speed_limit = limit;
        self
    }

    /// Restricts the hosts storage URLs may name: every `GET`, `PUT`, `HEAD` and `DELETE` to a
    /// host outside the list fails with
    /// [`StorageError::HostNotAllowed`](crate::StorageError::HostNotAllowed) before any
    /// connection is made (DNS is not even asked). Default: off, every host a URL names is
    /// contacted.
    ///
    /// Each entry is one of:
    /// - an IP address (`10.0.0.5`, `::1` or `[::1]`): that address;
    /// - a CIDR network (`10.0.0.0/8`, `fd00::/8`): every address in it;
    /// - a host name (`node1.example`): URLs naming exactly that host (ASCII case and a trailing
    ///   dot aside).
    ///
    /// No scheme, port or path. A URL host that is a name matches only name entries: names are
    /// never resolved to be matched against addresses or networks, so listing `node1` trusts DNS
    /// for `node1` and nothing else. An IPv4-mapped IPv6 URL host (`[::ffff:10.0.0.5]`) is
    /// matched as the IPv4 address it is. Non-canonical IPv4 spellings (`127.1`, `2130706433`)
    /// are names here, refused unless listed as such.
    ///
    /// Build the list from your own configuration, never from the tracker (`get_hosts`): a
    /// hostile tracker would answer that too.
    pub fn allowed_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_hosts = Some(hosts.into_iter().map(Into::into).collect());
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
        let http = Client::builder(TokioExecutor::new())
            // Without a timer, pool_idle_timeout does nothing.
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(c.pool_idle_timeout)
            .pool_max_idle_per_host(c.pool_max_idle_per_host)
            .build(connector.clone());
        Ok(StorageClient {
            inner: Arc::new(Inner {
                http,
                connector,
                config: c,
            }),
        })
    }
}
