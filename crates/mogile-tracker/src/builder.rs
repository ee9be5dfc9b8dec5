//! [`TrackerClientBuilder`]: addresses and a [`TrackerConfig`], validated in
//! [`build`](TrackerClientBuilder::build).

use std::collections::HashSet;
use std::time::Duration;

use mogile_pool::{Endpoint, Pool, PoolSettings};

use crate::client::{Settings, TrackerClient};
use crate::config::TrackerConfig;
use crate::connector::TrackerConnector;
use crate::error::BuildError;

/// Port a tracker listens on when an address gives none.
pub const DEFAULT_PORT: u16 = 7001;

/// The tracker's query-worker watchdog: a query running this long is killed and silently
/// re-run, and its client never gets a reply. Request timeouts must stay below it.
pub const TRACKER_WATCHDOG: Duration = Duration::from_secs(30);

/// Builds a [`TrackerClient`]. Created by [`TrackerClient::builder`].
///
/// The tracker addresses, and every setting at once as a [`TrackerConfig`]:
///
/// ```
/// use std::time::Duration;
/// use mogile_tracker::{TrackerClient, TrackerConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mogile_tracker::BuildError> {
/// let client = TrackerClient::builder()
///     .trackers(["10.0.0.1", "10.0.0.2:7002"])
///     .config(TrackerConfig {
///         admin_timeout: Duration::from_secs(5),
///         ..TrackerConfig::default()
///     })
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct TrackerClientBuilder {
    trackers: Vec<String>,
    config: TrackerConfig,
    callid_start: u64,
    rng_seed: Option<u64>,
}

impl Default for TrackerClientBuilder {
    fn default() -> Self {
        Self {
            trackers: Vec::new(),
            config: TrackerConfig::default(),
            callid_start: 1,
            rng_seed: None,
        }
    }
}

impl TrackerClientBuilder {
    /// Tracker addresses: `host:port`, or `host` for port 7001 (IPv6 as `[addr]:port`).
    /// Replaces any earlier list.
    pub fn trackers<I, S>(mut self, trackers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trackers = trackers.into_iter().map(Into::into).collect();
        self
    }

    /// Every setting, whole (default [`TrackerConfig::default`]). Replaces what an earlier
    /// [`pool`](Self::pool) set.
    pub fn config(mut self, config: TrackerConfig) -> Self {
        self.config = config;
        self
    }

    /// The connection pool's settings, whole: [`TrackerConfig::pool`].
    pub fn pool(mut self, pool: PoolSettings) -> Self {
        self.config.pool = pool;
        self
    }

    /// First `callid` sent (default 1); each request line takes the next one. Tests use it to
    /// make the wire bytes deterministic.
    pub fn callid_start(mut self, start: u64) -> Self {
        self.callid_start = start;
        self
    }

    /// Seed for tracker choice and backoff jitter (default: from the OS).
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Validates the settings and builds the client.
    ///
    /// Must be called inside a tokio runtime: the pool spawns its reaper and prober tasks.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for an empty or invalid tracker list, a zero or too-long request timeout
    /// (they must be below [`TRACKER_WATCHDOG`]), a zero budget or line limit, a backoff cap
    /// below its base, or pool settings the pool refuses ([`BuildError::Pool`]).
    pub fn build(self) -> Result<TrackerClient, BuildError> {
        let endpoints = normalise_all(&self.trackers)?;
        check(&self.config)?;
        let c = self.config;
        let retry_budget = c
            .retry_budget
            .unwrap_or_else(|| u32::try_from(endpoints.len()).unwrap_or(u32::MAX).max(2));
        let seed = self.rng_seed.unwrap_or_else(rand::random);
        let connector = TrackerConnector {
            max_reply_line: c.max_reply_line,
        };
        let pool = Pool::builder(connector, endpoints)
            .settings(c.pool)
            // A different stream than the backoff jitter, derived from the same seed.
            .rng_seed(seed ^ 0x5eed_0f7a_c4e4)
            .build()
            .map_err(BuildError::Pool)?;
        Ok(TrackerClient::from_parts(
            pool,
            Settings {
                file_timeout: c.file_timeout,
                admin_timeout: c.admin_timeout,
                retry_budget,
                backoff_base: c.backoff_base,
                backoff_cap: c.backoff_cap,
                max_request_line: c.max_request_line,
            },
            self.callid_start,
            seed,
        ))
    }
}

/// Checks the tracker client's own settings; the pool checks its own in `build`.
fn check(c: &TrackerConfig) -> Result<(), BuildError> {
    let invalid = |option, reason| Err(BuildError::InvalidOption { option, reason });
    for (option, timeout) in [
        ("file_timeout", c.file_timeout),
        ("admin_timeout", c.admin_timeout),
    ] {
        if timeout.is_zero() {
            return invalid(option, "must not be zero");
        }
        if timeout >= TRACKER_WATCHDOG {
            return invalid(option, "must be below the tracker's 30 s watchdog");
        }
    }
    if c.retry_budget == Some(0) {
        return invalid("retry_budget", "must be at least 1");
    }
    if c.backoff_cap < c.backoff_base {
        return invalid("backoff_cap", "must not be below backoff_base");
    }
    if c.max_reply_line == 0 || c.max_request_line == 0 {
        return invalid("max_reply_line/max_request_line", "must not be zero");
    }
    Ok(())
}

/// Normalises every address and refuses duplicates.
fn normalise_all(trackers: &[String]) -> Result<Vec<Endpoint>, BuildError> {
    if trackers.is_empty() {
        return Err(BuildError::NoTrackers);
    }
    let mut seen = HashSet::new();
    let mut endpoints = Vec::with_capacity(trackers.len());
    for address in trackers {
        let normalised = normalise(address)?;
        if !seen.insert(normalised.clone()) {
            return Err(BuildError::DuplicateTracker {
                address: normalised,
            });
        }
        endpoints.push(Endpoint::new(normalised));
    }
    Ok(endpoints)
}

/// `host` -> `host:7001`; `host:port` kept; `[v6]` -> `[v6]:7001`; a bare IPv6 address is
/// bracketed.
fn normalise(address: &str) -> Result<String, BuildError> {
    let invalid = |reason| BuildError::InvalidAddress {
        address: address.to_owned(),
        reason,
    };
    let trimmed = address.trim();
    if trimmed.is_empty() {
        return Err(invalid("empty address"));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(invalid("contains whitespace"));
    }
    let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or(invalid("unclosed '['"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(invalid("junk after ']'"))?),
        };
        (format!("[{v6}]"), port)
    } else {
        match trimmed.matches(':').count() {
            0 => (trimmed.to_owned(), None),
            1 => {
                let (host, port) = trimmed.split_once(':').ok_or(invalid("bad port"))?;
                (host.to_owned(), Some(port))
            }
            // More than one colon without brackets: a bare IPv6 address.
            _ => (format!("[{trimmed}]"), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(invalid("empty host"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(invalid("port must be a number from 1 to 65535")),
            Ok(port) => port,
        },
    };
    Ok(format!("{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        assert_eq!(normalise("tr1").unwrap(), "tr1:7001");
        assert_eq!(normalise("tr1:7002").unwrap(), "tr1:7002");
        assert_eq!(normalise("10.0.0.1").unwrap(), "10.0.0.1:7001");
        assert_eq!(normalise("[::1]").unwrap(), "[::1]:7001");
        assert_eq!(normalise("[::1]:7005").unwrap(), "[::1]:7005");
        assert_eq!(normalise("::1").unwrap(), "[::1]:7001");
        assert_eq!(normalise(" tr1 ").unwrap(), "tr1:7001");
    }

    #[test]
    fn bad_addresses_are_refused() {
        for bad in [
            "",
            ":7001",
            "tr1:",
            "tr1:0",
            "tr1:70000",
            "tr1:x",
            "[::1",
            "[::1]x",
            "a b",
        ] {
            assert!(
                matches!(normalise(bad), Err(BuildError::InvalidAddress { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn duplicates_and_empty_lists_are_refused() {
        assert!(matches!(normalise_all(&[]), Err(BuildError::NoTrackers)));
        let dup = ["a".to_owned(), "a:7001".to_owned()];
        assert!(matches!(
            normalise_all(&dup),
            Err(BuildError::DuplicateTracker { .. })
        ));
    }

    #[test]
    fn timeouts_at_or_above_the_watchdog_are_refused() {
        let config = TrackerConfig {
            admin_timeout: TRACKER_WATCHDOG,
            ..TrackerConfig::default()
        };
        assert!(matches!(
            check(&config),
            Err(BuildError::InvalidOption {
                option: "admin_timeout",
                ..
            })
        ));
        assert!(check(&TrackerConfig::default()).is_ok());
    }
}
