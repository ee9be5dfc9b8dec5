//! [`ClientConfig`]: the facade's own settings.

use std::time::Duration;

use mogile_protocol::KeyPolicy;

use crate::hedge::HedgeAfter;
use crate::options::ChecksumPolicy;

/// The facade's own settings, shared by every handle of one [`Client`](crate::Client) (and its
/// [`with_domain`](crate::Client::with_domain) siblings). Give it whole to
/// [`ClientBuilder::config`](crate::ClientBuilder::config); each field's default is in its doc.
///
/// The tracker client's settings are a [`TrackerConfig`](crate::TrackerConfig) and the storage
/// client's a [`StorageConfig`](crate::StorageConfig), each given whole to the builder too.
///
/// With the `serde` feature it is `Serialize` and `Deserialize`: missing fields take their
/// defaults, unknown fields are refused, durations are humantime strings (`"200ms"`, `"50m"`),
/// `key_policy` is `"strict"` or `"lenient"`, `checksum` is `"off"`, `"store"` or
/// `"store_and_verify"`, and `hedge_after` is `"adaptive"`, `"off"` or a duration (`"150ms"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct ClientConfig {
    /// Which keys the client accepts for keys it creates (store, rename target). Default
    /// [`KeyPolicy::Strict`].
    pub key_policy: KeyPolicy,
    /// How checksums are used when an operation does not say. Default [`ChecksumPolicy::Off`].
    pub checksum: ChecksumPolicy,
    /// Network zone sent on `create_open`, `create_close` and `get_paths` (e.g. `alt`). Default
    /// `None`; must not be empty.
    pub zone: Option<String>,
    /// Paths asked of `get_paths`. Default 3; must be at least 1.
    pub pathcount: u32,
    /// Whether `get_paths` skips the tracker's HEAD check. Default `true`: the client fails over
    /// between replicas itself, and the check costs a storage round trip.
    pub noverify: bool,
    /// How many `create_open` .. `create_close` sequences a store of a replayable body may run.
    /// Default 2; must be at least 1.
    pub upload_attempts: u32,
    /// How often a `create_open` answered `no_devices` is retried. Default 3.
    pub no_devices_retries: u32,
    /// The first wait before such a retry, doubled each time. Default 200 ms.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub no_devices_backoff: Duration,
    /// How long an upload may run before it restarts rather than closes: the tracker reaps temp
    /// files one hour after `create_open`, so a later close could race the reaper. Default 50
    /// minutes; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub restart_after: Duration,
    /// Files (or ranges) at least this long are read as stripes from several replicas at once
    /// (see the crate docs, "How a read uses the replicas"). Default 32 MiB; must not be zero.
    pub stripe_threshold: u64,
    /// The size of one stripe. Default 8 MiB; must not be zero. A striped read buffers at most
    /// `stripe_streams × stripe_size` bytes.
    pub stripe_size: u64,
    /// How many stripes are read at once (each from its own replica). `None` (default): the
    /// number of readable paths, at most 4, and no striping at all when [`zone`](Self::zone) is
    /// set, so that a read never crosses to a remote data centre unasked. `Some(1)` (or 0) turns
    /// striping off; `Some(n)` stripes over up to `n` paths, zone or not.
    pub stripe_streams: Option<u32>,
    /// When a read asks a second replica because the first has not answered its headers yet.
    /// Default [`HedgeAfter::Adaptive`].
    pub hedge_after: HedgeAfter,
    /// Hedges allowed, as a percentage of recent opening requests (plus one). Default 10; 0 turns
    /// hedging off like [`HedgeAfter::Off`].
    pub hedge_budget_percent: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            key_policy: KeyPolicy::default(),
            checksum: ChecksumPolicy::Off,
            zone: None,
            pathcount: 3,
            noverify: true,
            upload_attempts: 2,
            no_devices_retries: 3,
            no_devices_backoff: Duration::from_millis(200),
            restart_after: Duration::from_secs(50 * 60),
            stripe_threshold: 32 << 20,
            stripe_size: 8 << 20,
            stripe_streams: None,
            hedge_after: HedgeAfter::Adaptive,
            hedge_budget_percent: 10,
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn a_partial_document_fills_in_the_defaults() {
        let config: ClientConfig = serde_json::from_str(
            r#"{"key_policy": "lenient", "checksum": "store_and_verify", "restart_after": "10m"}"#,
        )
        .unwrap();
        assert_eq!(
            config,
            ClientConfig {
                key_policy: KeyPolicy::Lenient,
                checksum: ChecksumPolicy::StoreAndVerify,
                restart_after: Duration::from_secs(600),
                ..ClientConfig::default()
            }
        );
        let json = serde_json::to_value(ClientConfig::default()).unwrap();
        assert_eq!(json["key_policy"], "strict");
        assert_eq!(json["checksum"], "off");
        assert_eq!(json["no_devices_backoff"], "200ms");
        assert_eq!(json["restart_after"], "50m");
        assert_eq!(json["hedge_after"], "adaptive");
        assert_eq!(json["stripe_size"], 8 << 20);
        let fixed: ClientConfig =
            serde_json::from_str(r#"{"hedge_after": "150ms", "stripe_streams": 1}"#).unwrap();
        assert_eq!(
            fixed.hedge_after,
            HedgeAfter::Fixed(Duration::from_millis(150))
        );
        assert_eq!(fixed.stripe_streams, Some(1));
        assert!(serde_json::from_str::<ClientConfig>(r#"{"hedge_after": "soon"}"#).is_err());
        assert_eq!(
            serde_json::from_value::<ClientConfig>(json).unwrap(),
            ClientConfig::default()
        );
        assert!(serde_json::from_str::<ClientConfig>(r#"{"upload_attempt": 3}"#).is_err());
    }
}
