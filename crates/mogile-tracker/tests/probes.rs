//! Background probes with the default settings: an active tracker is probed every 30 s, an
//! inactive one every 2 s, each probe on a connection of its own.

mod common;

use std::time::Duration;

use mogile_testkit::tracker::FakeTracker;

/// Jumps the paused clock, running every timer due on the way; no real time passes.
async fn advance(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

/// Connections each tracker accepted. The test sends no request, so each one is a probe.
fn probes(ts: &[FakeTracker]) -> Vec<u64> {
    ts.iter().map(FakeTracker::connections_accepted).collect()
}

#[tokio::test(start_paused = true)]
async fn active_trackers_are_probed_every_30_s_and_inactive_ones_every_2_s() {
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    // Default probe settings.
    let client = common::builder(&[&ts[0], &ts[1]]).build().unwrap();
    let (down, up) = (&ts[0], &ts[1]);
    down.kill();

    // Both are active: the 2 s rounds leave them alone until 30 s.
    advance(29.5).await;
    assert_eq!(probes(&ts), [0, 0]);
    assert!(common::is_active(&client, down));

    // The 30 s round probes both; the killed one fails and becomes inactive.
    advance(1.0).await;
    assert_eq!(probes(&ts), [1, 1]);
    assert!(!common::is_active(&client, down));
    assert!(common::is_active(&client, up));

    // Inactive: probed every 2 s (rounds at 32 and 34 s); the active one is not.
    advance(4.0).await; // 34.5 s
    assert_eq!(probes(&ts), [3, 1]);

    // Back up: the 36 s round restores it; from then on it is probed every 30 s, at 66 s.
    down.restart();
    advance(2.0).await; // 36.5 s
    assert_eq!(probes(&ts), [4, 1]);
    assert!(common::is_active(&client, down));
    advance(24.0).await; // 60.5 s
    assert_eq!(probes(&ts), [4, 2]);
    advance(6.0).await; // 66.5 s
    assert_eq!(probes(&ts), [5, 2]);
    let status = client.status();
    let failures: Vec<u64> = status.endpoints.iter().map(|e| e.probe_failures).collect();
    assert_eq!(failures, [3, 0]);
}
