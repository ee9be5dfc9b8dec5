//! [`ClientConfig`]: the facade's own settings.

use std::time::Duration;

use mogile_protocol::KeyPolicy;

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
/// `key_policy` is `"strict"` or `"lenient"`, and `checksum` is `"off"`, `"store"` or
/// `"store_and_verify"`.
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
        assert_eq!(
            serde_json::from_value::<ClientConfig>(json).unwrap(),
            ClientConfig::default()
        );
        assert!(serde_json::from_str::<ClientConfig>(r#"{"upload_attempt": 3}"#).is_err());
    }
}
