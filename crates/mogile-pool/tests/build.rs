//! The builder rejects invalid settings with typed errors.

mod common;

use std::time::Duration;

use common::Toy;
use mogile_pool::{BuildError, Endpoint, Pool, PoolSettings};

#[tokio::test(start_paused = true)]
async fn invalid_settings_are_typed_errors() {
    let none: [&str; 0] = [];
    assert_eq!(
        Pool::builder(Toy, none).build().unwrap_err(),
        BuildError::NoEndpoints
    );
    let err = Pool::builder(Toy, ["a:1", "b:2", "a:1"])
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::DuplicateEndpoint {
            endpoint: Endpoint::from("a:1")
        }
    );
    assert_eq!(err.to_string(), "endpoint a:1 is configured twice");
    let zero = |settings| Pool::builder(Toy, ["a:1"]).settings(settings).build();
    let err = zero(PoolSettings {
        max_size: 0,
        ..PoolSettings::default()
    })
    .unwrap_err();
    assert_eq!(
        err,
        BuildError::Zero {
            setting: "max_size"
        }
    );
    assert_eq!(err.to_string(), "max_size must not be zero");
    let d = PoolSettings::default();
    for (settings, setting) in [
        (
            PoolSettings {
                reap_interval: Duration::ZERO,
                ..d
            },
            "reap_interval",
        ),
        (
            PoolSettings {
                probe_interval: Duration::ZERO,
                ..d
            },
            "probe_interval",
        ),
        (
            PoolSettings {
                probe_interval_active: Duration::ZERO,
                ..d
            },
            "probe_interval_active",
        ),
        (
            PoolSettings {
                probe_timeout: Duration::ZERO,
                ..d
            },
            "probe_timeout",
        ),
        (
            PoolSettings {
                connect_timeout: Duration::ZERO,
                ..d
            },
            "connect_timeout",
        ),
    ] {
        assert_eq!(zero(settings).unwrap_err(), BuildError::Zero { setting });
    }
}

#[test]
fn building_outside_a_runtime_is_a_typed_error() {
    assert_eq!(
        Pool::builder(Toy, ["a:1"]).build().unwrap_err(),
        BuildError::NoRuntime
    );
}
