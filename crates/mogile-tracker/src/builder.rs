//! [`TrackerClientBuilder`]: addresses and options, validated in [`build`](TrackerClientBuilder::build).

use std::collections::HashSet;
use std::time::Duration;

use mogile_pool::{Endpoint, Pool, PoolSettings};

use crate::client::{Settings, TrackerClient};
use crate::connector::TrackerConnector;
use crate::error::BuildError;

/// Port a tracker listens on when an address gives none.
pub const DEFAULT_PORT: u16 = 7001;

/// The tracker's query-worker watchdog: a query running this long is killed and silently
/// re-run, and its client never gets a reply. Request timeouts must stay below it.
pub const TRACKER_WATCHDOG: Duration = Duration::from_secs(30);

/// Builds a [`TrackerClient`]. Created by [`TrackerClient::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct TrackerClientBuilder {
    trackers: Vec<String>,
    connect_timeout: Duration,
    file_timeout: Duration,
    admin_timeout: Duration,
    pool_size: usize,
    max_idle: Option<usize>,
    idle_timeout: Duration,
    max_lifetime: Option<Duration>,
    probe_interval: Duration,
    probe_interval_active: Duration,
    probe_timeout: Duration,
    probe_idle_after: Duration,
    wait_timeout: Duration,
    retry_budget: Option<u32>,
    backoff_base: Duration,
    backoff_cap: Duration,
    callid_start: u64,
    rng_seed: Option<u64>,
    max_reply_line: usize,
    max_request_line: usize,
}

impl Default for TrackerClientBuilder {
    fn default() -> Self {
        Self {
            trackers: Vec::new(),
            connect_timeout: Duration::from_secs(1),
            file_timeout: Duration::from_secs(10),
            admin_timeout: Duration::from_secs(25),
            pool_size: 8,
            max_idle: None,
            idle_timeout: Duration::from_secs(60),
            max_lifetime: None,
            probe_interval: Duration::from_secs(2),
            probe_interval_active: Duration::from_secs(30),
            probe_timeout: Duration::from_secs(2),
            probe_idle_after: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(5),
            retry_budget: None,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(1),
            callid_start: 1,
            rng_seed: None,
            max_reply_line: 1024 * 1024,
            max_request_line: 1024 * 1024,
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

    /// Time allowed to open a TCP connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reply timeout for file commands (default 10 s; must stay below the 30 s watchdog).
    pub fn file_timeout(mut self, timeout: Duration) -> Self {
        self.file_timeout = timeout;
        self
    }

    /// Reply timeout for admin commands (default 25 s; must stay below the 30 s watchdog). On
    /// a healthy tracker `create_device` takes about 2 s and `do_monitor_round` about 4 s.
    pub fn admin_timeout(mut self, timeout: Duration) -> Self {
        self.admin_timeout = timeout;
        self
    }

    /// Most connections open to one tracker at a time (default 8).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Most idle connections kept per tracker (default: the pool size).
    pub fn max_idle(mut self, max_idle: usize) -> Self {
        self.max_idle = Some(max_idle);
        self
    }

    /// An idle connection unused this long is closed (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// A connection older than this is closed when returned (default: no limit).
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// How often an inactive tracker is probed with `noop` in the background (default 2 s),
    /// so a tracker that came back is used again within about this long.
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// How often an active tracker is probed with `noop` in the background (default 30 s), so
    /// one that stopped answering is noticed even without traffic. Each probe is a new TCP
    /// connection, hence the longer period. Checked every `probe_interval`, so rounded up to a
    /// multiple of it.
    pub fn probe_interval_active(mut self, interval: Duration) -> Self {
        self.probe_interval_active = interval;
        self
    }

    /// Time allowed for one probe (default 2 s).
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// A connection idle longer than this is probed before it is handed out (default 30 s).
    pub fn probe_idle_after(mut self, after: Duration) -> Self {
        self.probe_idle_after = after;
        self
    }

    /// Time to wait for a free connection when all of a tracker's are busy (default 5 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Most attempts per request (default: the number of trackers, at least 2).
    pub fn retry_budget(mut self, attempts: u32) -> Self {
        self.retry_budget = Some(attempts);
        self
    }

    /// First delay of the jittered backoff used when every tracker is inactive (default 50 ms).
    pub fn backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// Longest backoff delay (default 1 s).
    pub fn backoff_cap(mut self, cap: Duration) -> Self {
        self.backoff_cap = cap;
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

    /// Longest reply line accepted, in bytes (default 1 MiB).
    pub fn max_reply_line(mut self, len: usize) -> Self {
        self.max_reply_line = len;
        self
    }

    /// Longest request line sent, in bytes (default 1 MiB); longer requests fail before sending.
    pub fn max_request_line(mut self, len: usize) -> Self {
        self.max_request_line = len;
        self
    }

    /// Validates the options and builds the client.
    ///
    /// Must be called inside a tokio runtime: the pool spawns its reaper and prober tasks.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for an empty or invalid tracker list, a zero or too-long timeout (request
    /// timeouts must be below [`TRACKER_WATCHDOG`]), a zero size or budget, or a pool error.
    pub fn build(self) -> Result<TrackerClient, BuildError> {
        let endpoints = normalise_all(&self.trackers)?;
        self.check()?;
        let retry_budget = self
            .retry_budget
            .unwrap_or_else(|| u32::try_from(endpoints.len()).unwrap_or(u32::MAX).max(2));
        let seed = self.rng_seed.unwrap_or_else(rand::random);
        let connector = TrackerConnector {
            max_reply_line: self.max_reply_line,
        };
        let pool = Pool::builder(connector, endpoints)
            .settings(PoolSettings {
                max_size: self.pool_size,
                max_idle: self.max_idle,
                idle_timeout: self.idle_timeout,
                max_lifetime: self.max_lifetime,
                reap_interval: PoolSettings::default().reap_interval,
                probe_interval: self.probe_interval,
                probe_interval_active: self.probe_interval_active,
                probe_timeout: self.probe_timeout,
                probe_idle_after: self.probe_idle_after,
                wait_timeout: self.wait_timeout,
                connect_timeout: self.connect_timeout,
            })
            // A different stream than the backoff jitter, derived from the same seed.
            .rng_seed(seed ^ 0x5eed_0f7a_c4e4)
            .build()
            .map_err(BuildError::Pool)?;
        Ok(TrackerClient::from_parts(
            pool,
            Settings {
                file_timeout: self.file_timeout,
                admin_timeout: self.admin_timeout,
                retry_budget,
                backoff_base: self.backoff_base,
                backoff_cap: self.backoff_cap,
                max_request_line: self.max_request_line,
            },
            self.callid_start,
            seed,
        ))
    }

    fn check(&self) -> Result<(), BuildError> {
        let invalid = |option, reason| Err(BuildError::InvalidOption { option, reason });
        for (option, timeout) in [
            ("file_timeout", self.file_timeout),
            ("admin_timeout", self.admin_timeout),
        ] {
            if timeout.is_zero() {
                return invalid(option, "must not be zero");
            }
            if timeout >= TRACKER_WATCHDOG {
                return invalid(option, "must be below the tracker's 30 s watchdog");
            }
        }
        if self.connect_timeout.is_zero() {
            return invalid("connect_timeout", "must not be zero");
        }
        if self.pool_size == 0 {
            return invalid("pool_size", "must be at least 1");
        }
        if self.retry_budget == Some(0) {
            return invalid("retry_budget", "must be at least 1");
        }
        if self.backoff_cap < self.backoff_base {
            return invalid("backoff_cap", "must not be below backoff_base");
        }
        if self.max_reply_line == 0 || self.max_request_line == 0 {
            return invalid("max_reply_line/max_request_line", "must not be zero");
        }
        Ok(())
    }
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
        let b = TrackerClientBuilder::default()
            .trackers(["a"])
            .admin_timeout(TRACKER_WATCHDOG);
        assert!(matches!(
            b.check(),
            Err(BuildError::InvalidOption {
                option: "admin_timeout",
                ..
            })
        ));
        assert!(TrackerClientBuilder::default().check().is_ok());
    }
}
