//! `Client::tracker_status`: each tracker's address, whether it is active, and the last
//! background probe's latency or error, from the tracker pool's health.

use std::sync::Arc;
use std::time::Duration;

use mogile_testkit::tracker::{ConnectionMode, FakeTracker, Model};
use mogilefs::lower::tracker::TrackerError;
use mogilefs::{Client, ProbeError, TrackerConfig};

/// Whether a connection reset is somewhere in `err`'s source chain.
fn is_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Jumps the paused clock, running every timer due on the way; no real time passes.
async fn advance(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

// Every peer is a task on this current-thread runtime, so the clock can be paused.
#[tokio::test(start_paused = true)]
async fn a_dead_tracker_shows_inactive_with_the_probe_error_and_a_live_one_a_latency() {
    let model = Arc::new(Model::new());
    model.create_domain("d").unwrap();
    let dead = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    let live = FakeTracker::start(Arc::clone(&model)).await.unwrap();
    // Default settings: active trackers are probed every 30 s, inactive ones every 2 s.
    let client = Client::builder()
        .trackers([dead.addr().to_string(), live.addr().to_string()])
        .domain("d")
        .build()
        .unwrap();

    let status = client.tracker_status();
    let addresses: Vec<&str> = status.iter().map(|s| s.address.as_str()).collect();
    assert_eq!(
        addresses,
        [dead.addr().to_string(), live.addr().to_string()]
    );
    assert!(status.iter().all(|s| s.active && s.last_probe.is_none()));

    // The tracker dies (connections are reset); the 30 s round probes both.
    dead.kill();
    advance(30.5).await;
    let status = client.tracker_status();
    let (d, l) = (&status[0], &status[1]);

    assert!(!d.active, "{d:?}");
    let probe = d.last_probe.as_ref().expect("the dead tracker was probed");
    let err = probe.result.as_ref().unwrap_err();
    // The killed tracker resets every connection: the probe meets the reset while opening its
    // connection or on the `noop`, whichever the scheduling gives; the reset is kept as the cause.
    assert!(
        matches!(err, ProbeError::Connect(_) | ProbeError::Probe(_)),
        "{err:?}"
    );
    assert!(is_reset(err), "{err:?}");

    assert!(l.active, "{l:?}");
    let probe = l.last_probe.as_ref().expect("the live tracker was probed");
    assert!(probe.result.is_ok(), "{probe:?}");

    // Back up: the next 2 s round of inactive trackers restores it, with a latency.
    dead.restart();
    advance(2.0).await;
    let d = &client.tracker_status()[0];
    assert!(d.active, "{d:?}");
    assert!(d.last_probe.as_ref().unwrap().result.is_ok(), "{d:?}");
    client.close().await;
}

// Every peer is a task on this current-thread runtime, so the clock can be paused.
#[tokio::test(start_paused = true)]
async fn the_admin_timeout_is_reached_through_the_facade() {
    let model = Arc::new(Model::new());
    let hanging = FakeTracker::start(model).await.unwrap();
    hanging.set_mode(ConnectionMode::Hang);
    let client = Client::builder()
        .trackers([hanging.addr().to_string()])
        .domain("d")
        .tracker(TrackerConfig {
            admin_timeout: Duration::from_secs(2),
            retry_budget: Some(1),
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();
    // Well below the 25 s default: only the configured admin timeout can end the command.
    let result = tokio::time::timeout(Duration::from_secs(10), client.admin().domains()).await;
    let err = result.expect("the admin timeout fired").unwrap_err();
    // The attempt's own error, somewhere in the chain, names the timeout that expired.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    let mut expired = None;
    while let Some(e) = cause {
        let tracker = e
            .downcast_ref::<TrackerError>()
            .or_else(|| e.downcast_ref::<Box<TrackerError>>().map(|b| &**b));
        if let Some(TrackerError::Timeout { timeout, .. }) = tracker {
            expired = Some(*timeout);
        }
        cause = e.source();
    }
    assert_eq!(expired, Some(Duration::from_secs(2)), "{err:?}");
    client.close().await;
}
