//! Retry budget, backoff when every tracker is down, and cancellation.

mod common;

use std::time::Duration;

use mogile_protocol::{Noop, ServerSetting};
use mogile_testkit::tracker::{Fault, FaultAction};
use mogile_tracker::{Delivery, PoolSettings, TrackerConfig, TrackerError};

#[tokio::test(start_paused = true)]
async fn the_budget_bounds_attempts_and_rounds_back_off_when_every_tracker_is_down() {
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    for t in &ts {
        t.kill();
    }
    let client = common::builder(&[&ts[0], &ts[1]])
        .config(TrackerConfig {
            retry_budget: Some(5),
            backoff_base: Duration::from_millis(100),
            pool: PoolSettings {
                probe_interval: Duration::from_secs(3600),
                ..common::config().pool
            },
            ..common::config()
        })
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let err = client.noop(Noop::new()).await.unwrap_err();
    let TrackerError::RetriesExhausted { attempts, last, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 5);
    // Each attempt failed before the request left or lost its reply; `noop` is safe to repeat,
    // so either way it may be sent again, and nothing was answered.
    assert!(
        matches!(err.delivery(), Delivery::NotSent | Delivery::ReplyLost),
        "noop may be resent: {last:?}"
    );
    let accepted: u64 = ts.iter().map(|t| t.connections_accepted()).sum();
    assert_eq!(accepted, 5, "one connection per attempt");
    // Attempts 1-2 went out at once; rounds 2 (attempts 3-4) and 3 (attempt 5) were each
    // preceded by a backoff of at least half of 100 ms and 200 ms (the clock is paused: exact).
    assert!(tokio::time::Instant::now() - start >= Duration::from_millis(150));
    assert!(client.status().endpoints.iter().all(|e| !e.active));

    // A tracker that comes back is used at once.
    ts[1].restart();
    client.noop(Noop::new()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_default_budget_is_the_number_of_trackers_and_at_least_two() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    ts[0].kill();
    let client = common::builder(&[&ts[0]]).build().unwrap();
    let err = client.noop(Noop::new()).await.unwrap_err();
    assert!(
        matches!(err, TrackerError::RetriesExhausted { attempts: 2, .. }),
        "{err:?}"
    );

    let ts = common::trackers(&model, 3).await;
    for t in &ts {
        t.kill();
    }
    let client = common::builder(&[&ts[0], &ts[1], &ts[2]]).build().unwrap();
    let err = client.noop(Noop::new()).await.unwrap_err();
    assert!(
        matches!(err, TrackerError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_drops_its_connection() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let t = &ts[0];
    let client = common::builder(&[t]).build().unwrap();
    t.inject(
        Fault::new(FaultAction::Delay(Duration::from_secs(2)))
            .command("server_setting")
            .times(1),
    );
    let cancelled = tokio::time::timeout(
        Duration::from_millis(500),
        client
            .admin()
            .server_setting(ServerSetting::new("memcache_servers")),
    )
    .await;
    assert!(cancelled.is_err(), "gave up waiting");
    // Before and after the late reply was written, each request gets its own answer.
    let (key, _) = client
        .admin()
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!(key, "schema_version");
    // Paused clock: moves virtual time past the 2 s delay, so the late reply has been written.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (key, value) = client
        .admin()
        .server_setting(ServerSetting::new("schema_version"))
        .await
        .unwrap();
    assert_eq!((key.as_str(), value.as_str()), ("schema_version", "17"));
    assert_eq!(
        common::request_connections(t).len(),
        2,
        "the cancelled request's connection was not reused"
    );
}
