//! The builder rejects invalid settings with typed errors.

use std::convert::Infallible;
use std::time::Duration;

use mogile_pool::{BuildError, Connector, Endpoint, Pool};

struct Toy;

impl Connector for Toy {
    type Connection = ();
    type Error = Infallible;

    async fn connect(&self, _: &Endpoint) -> Result<(), Infallible> {
        Ok(())
    }

    fn is_open(&self, _: &()) -> bool {
        true
    }

    async fn probe(&self, _: &mut ()) -> Result<(), Infallible> {
        Ok(())
    }
}

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
    let err = Pool::builder(Toy, ["a:1"]).max_size(0).build().unwrap_err();
    assert_eq!(
        err,
        BuildError::Zero {
            setting: "max_size"
        }
    );
    assert_eq!(err.to_string(), "max_size must not be zero");
    for (builder, setting) in [
        (
            Pool::builder(Toy, ["a:1"]).reap_interval(Duration::ZERO),
            "reap_interval",
        ),
        (
            Pool::builder(Toy, ["a:1"]).probe_interval(Duration::ZERO),
            "probe_interval",
        ),
        (
            Pool::builder(Toy, ["a:1"]).probe_interval_active(Duration::ZERO),
            "probe_interval_active",
        ),
        (
            Pool::builder(Toy, ["a:1"]).probe_timeout(Duration::ZERO),
            "probe_timeout",
        ),
        (
            Pool::builder(Toy, ["a:1"]).connect_timeout(Duration::ZERO),
            "connect_timeout",
        ),
    ] {
        assert_eq!(builder.build().unwrap_err(), BuildError::Zero { setting });
    }
}

#[test]
fn building_outside_a_runtime_is_a_typed_error() {
    assert_eq!(
        Pool::builder(Toy, ["a:1"]).build().unwrap_err(),
        BuildError::NoRuntime
    );
}
