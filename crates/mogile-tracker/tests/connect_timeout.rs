//! The connect timeout against a real socket: a loopback address whose TCP handshake never
//! completes (`mogile_testkit::net::HangingListener`). Real time, with the timeout as the
//! fault parameter; the whole test is bounded, and nothing asserts on elapsed time.

use std::time::Duration;

use mogile_protocol::Noop;
use mogile_testkit::net::HangingListener;
use mogile_tracker::{Delivery, PoolSettings, TrackerClient, TrackerConfig, TrackerError};

#[tokio::test]
async fn a_connect_that_never_completes_is_a_typed_connect_timeout() {
    let hang = HangingListener::start().await.unwrap();
    let tracker = hang.addr().to_string();
    let client = TrackerClient::builder()
        .trackers([tracker.as_str()])
        .config(TrackerConfig {
            retry_budget: Some(2),
            pool: PoolSettings {
                connect_timeout: Duration::from_millis(200),
                ..PoolSettings::default()
            },
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();

    let result = tokio::time::timeout(Duration::from_secs(30), client.noop(Noop::new())).await;
    let err = result.expect("the connect timeout fired").unwrap_err();

    // Both attempts timed out while connecting: the request never reached the tracker.
    let TrackerError::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 2);
    assert!(
        matches!(&**last, TrackerError::ConnectTimeout { tracker: t } if t.as_str() == tracker),
        "{last:?}"
    );
    assert!(err.is_timeout() && !err.outcome_unknown());
    assert_eq!(err.delivery(), Delivery::NotSent);
    assert_eq!(err.tracker().map(|t| t.as_str()), Some(tracker.as_str()));
    // Nothing was pooled, and the only tracker stays active (there is nowhere to fail over).
    let status = client.status();
    assert_eq!(status.endpoints.len(), 1);
    assert_eq!(
        (status.endpoints[0].open, status.endpoints[0].active),
        (0, true)
    );
}
