//! [`StorageConfig`]: every setting of a [`StorageClient`](crate::StorageClient).

use std::path::PathBuf;
use std::time::Duration;

use crate::speed::LowSpeed;

/// Every setting of a [`StorageClient`](crate::StorageClient). Give it whole to
/// [`StorageClientBuilder::config`](crate::StorageClientBuilder::config); each field's default
/// is in its doc.
///
/// A plain struct: change the fields you need and take the rest from [`Default`]
/// (`StorageConfig { idle_timeout, ..StorageConfig::default() }`).
///
/// With the `serde` feature it is `Serialize` and `Deserialize`: missing fields take their
/// defaults, unknown fields are refused, and durations are humantime strings (`"30s"`,
/// `"500ms"`); `"low_speed_limit": null` turns the low-speed limit off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct StorageConfig {
    /// Time allowed to establish a TCP connection. Default 5 s; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub connect_timeout: Duration,
    /// A connection with a pending read or write that makes no progress in either direction for
    /// this long fails, and so does a download body that yields no frame for this long. It also
    /// bounds how long the caller's own upload stream may pause: while it pauses the connection
    /// makes no progress either. Default 30 s; must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub idle_timeout: Duration,
    /// Time allowed for the response headers, counted from when the request body's last byte was
    /// handed to the connection (from sending, for bodiless requests). Default 30 s; must not be
    /// zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub headers_timeout: Duration,
    /// How long an idle pooled connection may be reused. Default 20 s, below mogstored's
    /// `Keep-Alive: timeout=30`, so a connection the node is about to close is never reused;
    /// must not be zero.
    #[cfg_attr(feature = "serde", serde(with = "humantime_serde"))]
    pub pool_idle_timeout: Duration,
    /// Maximum idle pooled connections per host. Default 16; 0 disables reuse.
    pub pool_max_idle_per_host: usize,
    /// Maximum bytes of an error response body kept in
    /// [`StorageError::Status`](crate::StorageError::Status). Default 1024.
    pub error_body_limit: usize,
    /// How many bytes of a body of unknown length are copied into a temporary file while they are
    /// sent chunked, so the body can be resent with a `Content-Length` if the node refuses
    /// chunked bodies (`411`/`501`). Default 16 MiB; 0 disables the fallback.
    pub spool_limit: u64,
    /// Directory for the spool files above. Default `None`: the system temporary directory.
    pub spool_dir: Option<PathBuf>,
    /// The minimum transfer rate, over time spent waiting on the node, below which an upload or
    /// download fails with [`TimeoutPhase::LowSpeed`](crate::TimeoutPhase::LowSpeed) (see
    /// [`LowSpeed`] for what counts as waiting). `None` turns it off.
    ///
    /// Default: on, [`LowSpeed::default`] (1 KiB/s over 30 s of waiting), far below any healthy
    /// disk or network. Without it, a node that sends or reads one byte just inside the idle
    /// timeout holds a transfer forever; with it, a crawling replica becomes a failover.
    pub low_speed_limit: Option<LowSpeed>,
    /// Restricts the hosts storage URLs may name: every `GET`, `PUT`, `HEAD` and `DELETE` to a
    /// host outside the list fails with
    /// [`StorageError::HostNotAllowed`](crate::StorageError::HostNotAllowed) before any
    /// connection is made (DNS is not even asked). Default `None`: off, every host a URL names
    /// is contacted. An empty list is refused by [`build`](crate::StorageClientBuilder::build).
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
    pub allowed_hosts: Option<Vec<String>>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            headers_timeout: Duration::from_secs(30),
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

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn a_partial_document_fills_in_the_defaults_and_null_turns_the_low_speed_limit_off() {
        let config: StorageConfig = serde_json::from_str(
            r#"{"idle_timeout": "2m", "low_speed_limit": null, "allowed_hosts": ["10.0.0.0/8"]}"#,
        )
        .unwrap();
        assert_eq!(
            config,
            StorageConfig {
                idle_timeout: Duration::from_secs(120),
                low_speed_limit: None,
                allowed_hosts: Some(vec!["10.0.0.0/8".into()]),
                ..StorageConfig::default()
            }
        );
        let json = serde_json::to_value(StorageConfig::default()).unwrap();
        assert_eq!(json["connect_timeout"], "5s");
        assert_eq!(json["low_speed_limit"]["bytes_per_sec"], 1024);
        assert_eq!(json["low_speed_limit"]["window"], "30s");
        assert_eq!(
            serde_json::from_value::<StorageConfig>(json).unwrap(),
            StorageConfig::default()
        );
        let typo = serde_json::from_str::<StorageConfig>(r#"{"io_timeout": "1s"}"#);
        assert!(typo.is_err());
    }
}
