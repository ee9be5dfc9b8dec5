//! [`TrackerConfig`]: every setting of a [`TrackerClient`](crate::TrackerClient).

use std::time::Duration;

use mogile_pool::PoolSettings;

/// Every setting of a [`TrackerClient`](crate::TrackerClient), with the connection pool's
/// underneath. Give it whole to [`TrackerClientBuilder::config`](crate::TrackerClientBuilder::config);
/// each field's default is in its doc.
///
/// A plain struct: change the fields you need and take the rest from [`Default`]:
///
/// ```
/// use std::time::Duration;
/// use mogile_tracker::{PoolSettings, TrackerConfig};
///
/// let config = TrackerConfig {
///     file_timeout: Duration::from_secs(3),
///     pool: PoolSettings { max_size: 32, ..PoolSettings::default() },
///     ..TrackerConfig::default()
/// };
/// # let _ = config;
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`: missing fields take their
/// defaults, unknown fields are refused, and durations are humantime strings (`"10s"`,
/// `"50ms"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct TrackerConfig {
    /// The connection pool: connections per tracker (`max_size`), idle expiry, the connect
    /// timeout, and the background probes that mark trackers active or inactive (inactive ones
    /// every `probe_interval`, 2 s; active ones every `probe_interval_active`, 30 s). Default
    /// [`PoolSettings::default`].
    pub pool: PoolSettings,
    /// Reply timeout for file commands. Default 10 s; must be above zero and below
    /// [`TRACKER_WATCHDOG`](crate::TRACKER_WATCHDOG). A pipelined pair
    /// ([`request_pair`](crate::TrackerClient::request_pair), such as a fetch's `get_paths` and
    /// `file_info`) waits for the sum of its two commands' timeouts: the tracker runs them one
    /// after the other.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub file_timeout: Duration,
    /// Reply timeout for admin commands and [`raw`](crate::TrackerClient::raw) requests. On a
    /// healthy tracker `create_device` takes about 2 s and `do_monitor_round` about 4 s.
    /// Default 25 s; must be above zero and below [`TRACKER_WATCHDOG`](crate::TRACKER_WATCHDOG).
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub admin_timeout: Duration,
    /// Most attempts per request. Default `None`: the number of trackers, at least 2; must not
    /// be zero.
    pub retry_budget: Option<u32>,
    /// First delay of the jittered backoff used when every tracker is inactive. Default 50 ms.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub backoff_base: Duration,
    /// Longest backoff delay. Default 1 s; must not be below `backoff_base`.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub backoff_cap: Duration,
    /// Longest reply line accepted, in bytes. Default 1 MiB; must not be zero.
    pub max_reply_line: usize,
    /// Longest request line sent, in bytes; longer requests fail before sending. Default 1 MiB;
    /// must not be zero.
    pub max_request_line: usize,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            pool: PoolSettings::default(),
            file_timeout: Duration::from_secs(10),
            admin_timeout: Duration::from_secs(25),
            retry_budget: None,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(1),
            max_reply_line: 1024 * 1024,
            max_request_line: 1024 * 1024,
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn a_partial_document_fills_in_the_defaults() {
        let config: TrackerConfig = serde_json::from_str(
            r#"{"file_timeout": "3s", "pool": {"max_size": 2, "connect_timeout": "250ms"}}"#,
        )
        .unwrap();
        assert_eq!(
            config,
            TrackerConfig {
                file_timeout: Duration::from_secs(3),
                pool: PoolSettings {
                    max_size: 2,
                    connect_timeout: Duration::from_millis(250),
                    ..PoolSettings::default()
                },
                ..TrackerConfig::default()
            }
        );
        let json = serde_json::to_value(TrackerConfig::default()).unwrap();
        assert_eq!(json["admin_timeout"], "25s");
        assert_eq!(json["backoff_base"], "50ms");
        assert_eq!(
            serde_json::from_value::<TrackerConfig>(json).unwrap(),
            TrackerConfig::default()
        );
        let err = serde_json::from_str::<TrackerConfig>(r#"{"tracker_timeout": "1s"}"#);
        assert!(err.is_err());
    }
}
