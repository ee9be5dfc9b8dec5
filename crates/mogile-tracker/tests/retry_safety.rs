//! A lost reply: reads move on to another tracker, mutations report an unknown outcome.

mod common;

use std::time::Duration;

use mogile_protocol::{Delete, GetPaths, Rename, SetServerSetting, UpdateFileClass};
use mogile_testkit::tracker::{FakeTracker, Fault, FaultAction};
use mogile_tracker::{Delivery, TrackerConfig, TrackerError};

#[tokio::test(start_paused = true)]
async fn a_delete_whose_reply_is_lost_is_not_repeated() {
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0], &ts[1]]).build().unwrap();
    for i in 0..20 {
        common::store(&client, &format!("k{i}")).await;
    }
    // Tracker 0 runs every delete, then closes the connection without a reply.
    ts[0].inject(
        Fault::new(FaultAction::Drop)
            .command("delete")
            .execute(true),
    );
    let mut lost = None;
    for i in 0..20 {
        let key = format!("k{i}");
        match client.delete(Delete::new("testdom", key.as_str())).await {
            Ok(()) => continue,
            Err(e) => {
                lost = Some((key, e));
                break;
            }
        }
    }
    let (key, err) = lost.expect("tracker 0 got one of 20 deletes");
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(err.delivery(), Delivery::ReplyLost);
    let TrackerError::OutcomeUnknown {
        tracker, source, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(tracker.as_str(), ts[0].addr().to_string());
    assert!(
        matches!(
            **source,
            TrackerError::ConnectionClosed {
                request_sent: true,
                ..
            }
        ),
        "{source:?}"
    );
    // Sent once, to tracker 0 only; and it did run there.
    let line = format!("delete domain=testdom&key={key}&");
    let seen: usize = ts
        .iter()
        .map(|t| {
            common::requests(t)
                .iter()
                .filter(|l| l.starts_with(&line))
                .count()
        })
        .sum();
    assert_eq!(seen, 1);
    assert!(ts[0].model().file("testdom", key.as_str()).is_none());
}

#[tokio::test(start_paused = true)]
async fn a_get_paths_whose_reply_is_lost_is_retried_on_another_tracker() {
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0], &ts[1]]).build().unwrap();
    common::store(&client, "k").await;
    ts[0].inject(Fault::new(FaultAction::Drop).command("get_paths"));
    let mut calls = 0;
    while ts[0].requests("get_paths") == 0 && calls < 20 {
        let paths = client
            .get_paths(GetPaths::new("testdom", "k").noverify(true))
            .await
            .unwrap();
        assert_eq!(paths.len(), 1);
        calls += 1;
    }
    assert_eq!(ts[0].requests("get_paths"), 1, "tracker 0 got one");
    // Every call was answered by tracker 1, including the one tracker 0 dropped.
    assert_eq!(ts[1].requests("get_paths"), calls);
    // The retry went out under a new callid.
    let retried = common::requests(&ts[0])
        .into_iter()
        .find(|l| l.starts_with("get_paths"))
        .unwrap();
    assert!(!common::requests(&ts[1]).contains(&retried));
}

#[tokio::test(start_paused = true)]
async fn setters_whose_reply_is_lost_are_not_repeated() {
    // Issue 4 names `updateclass` and admin changes among the mutating commands: a setter is
    // not resent after a lost reply (a late resend could undo another client's change).
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0], &ts[1]]).build().unwrap();
    common::store(&client, "k").await;
    for t in &ts {
        // Runs the command, then closes the connection without a reply.
        t.inject(
            Fault::new(FaultAction::Drop)
                .command("updateclass")
                .execute(true),
        );
        t.inject(
            Fault::new(FaultAction::Drop)
                .command("set_server_setting")
                .execute(true),
        );
    }
    let err = client
        .update_file_class(UpdateFileClass::new("testdom", "k", "default"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(err.delivery(), Delivery::ReplyLost);
    let sent: u64 = ts.iter().map(|t| t.requests("updateclass")).sum();
    assert_eq!(sent, 1, "updateclass not resent");

    let err = client
        .admin()
        .set_server_setting(SetServerSetting::new("memcache_servers", "x"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(err.delivery(), Delivery::ReplyLost);
    let sent: u64 = ts.iter().map(|t| t.requests("set_server_setting")).sum();
    assert_eq!(sent, 1, "set_server_setting not resent");
    // It did run: the outcome was only unknown to the client.
    assert_eq!(
        ts[0].model().setting("memcache_servers").as_deref(),
        Some("x")
    );
}

#[tokio::test(start_paused = true)]
async fn a_rename_on_a_connection_dropped_by_the_server_bug_has_an_unknown_outcome() {
    // tracker_rename_race.txt: a colliding rename elsewhere makes the real tracker close an
    // innocent connection without a reply. With a single tracker there is nowhere else to go,
    // and the rename must not be resent.
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0]])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(1),
            ..common::config()
        })
        .build()
        .unwrap();
    common::store(&client, "a").await;
    ts[0].inject(Fault::new(FaultAction::Drop).command("rename").times(1));
    let err = client
        .rename(Rename::new("testdom", "a", "b"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(ts[0].requests("rename"), 1);
    // Not executed (the fault did not run it), and nothing was resent: `a` is still there.
    assert!(ts[0].model().file("testdom", "a").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_mutation_has_an_unknown_outcome_and_only_a_probe_judges_the_tracker() {
    let (ts, _storage) = common::cluster(2).await;
    let client = common::builder(&[&ts[0], &ts[1]])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(1),
            ..common::config()
        })
        .build()
        .unwrap();
    common::store(&client, "a").await;
    for t in &ts {
        // Runs the rename, answers too late.
        t.inject(Fault::new(FaultAction::Delay(Duration::from_secs(3))).command("rename"));
    }
    let err = client
        .rename(Rename::new("testdom", "a", "b"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown() && err.is_timeout(), "{err:?}");
    let TrackerError::OutcomeUnknown { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        **source,
        TrackerError::Timeout {
            request_sent: true,
            ..
        }
    ));
    let sent: u64 = ts.iter().map(|t| t.requests("rename")).sum();
    assert_eq!(sent, 1, "not resent");
    // The timeout triggered a probe; the tracker answers `noop` at once, so it stays active.
    let probed = |ts: &[FakeTracker]| {
        ts.iter()
            .any(|t| t.wire_log().iter().any(|l| l.bytes == b"noop\r\n"))
    };
    let mut waited = 0;
    while !(probed(&ts)
        && client
            .status()
            .endpoints
            .iter()
            .all(|e| e.probes_in_flight == 0))
    {
        assert!(waited < 100, "the probe ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(
        client
            .status()
            .endpoints
            .iter()
            .all(|e| e.active && e.probe_failures == 0)
    );
    // It did run: the outcome really was unknown to the client, not "failed".
    assert!(ts[0].model().file("testdom", "b").is_some());
}

#[tokio::test(start_paused = true)]
async fn an_over_long_request_is_refused_before_sending() {
    let model = common::model();
    let ts = common::trackers(&model, 1).await;
    let client = common::builder(&[&ts[0]])
        .config(TrackerConfig {
            max_request_line: 256,
            ..common::config()
        })
        .build()
        .unwrap();
    let key = "k".repeat(300);
    let err = client
        .get_paths(GetPaths::new("testdom", key.as_str()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TrackerError::RequestTooLong { limit: 256, .. }),
        "{err:?}"
    );
    assert_eq!(ts[0].connections_accepted(), 0, "nothing sent");
}
