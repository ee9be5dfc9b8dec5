//! Building a client: address normalisation and option validation.

use std::time::Duration;

use mogile_tracker::{BuildError, PoolSettings, TrackerClient, TrackerConfig};

#[tokio::test]
async fn addresses_without_a_port_use_7001() {
    let client = TrackerClient::builder()
        .trackers(["tr1", "tr2:7002", "[::1]"])
        .build()
        .unwrap();
    let trackers: Vec<String> = client.trackers().iter().map(|t| t.to_string()).collect();
    assert_eq!(trackers, ["tr1:7001", "tr2:7002", "[::1]:7001"]);
    // Nothing is contacted until the first request.
    assert!(client.status().endpoints.iter().all(|e| e.open == 0));
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let err = TrackerClient::builder().build().unwrap_err();
    assert!(matches!(err, BuildError::NoTrackers), "{err}");
    let err = TrackerClient::builder()
        .trackers(["tr1", "tr1:7001"])
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::DuplicateTracker { .. }), "{err}");
    let err = TrackerClient::builder()
        .trackers(["tr1:x"])
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidAddress { .. }), "{err}");
    let err = TrackerClient::builder()
        .trackers(["tr1"])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(30),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::InvalidOption {
                option: "file_timeout",
                ..
            }
        ),
        "{err}"
    );
    let err = TrackerClient::builder()
        .trackers(["tr1"])
        .config(TrackerConfig {
            retry_budget: Some(0),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::InvalidOption {
                option: "retry_budget",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn pool_settings_are_checked_by_the_pool() {
    let err = TrackerClient::builder()
        .trackers(["tr1"])
        .pool(PoolSettings {
            max_size: 0,
            ..PoolSettings::default()
        })
        .build()
        .unwrap_err();
    let BuildError::Pool(pool) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(pool.to_string(), "max_size must not be zero");
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    let err = TrackerClient::builder()
        .trackers(["tr1"])
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::Pool(_)), "{err}");
}
