//! Failover across trackers: refusing, hanging and slow trackers.

mod common;

use std::time::Duration;

use mogile_protocol::{DoMonitorRound, GetDomains, ListKeys, Noop};
use mogile_testkit::tracker::{ConnectionMode, Fault, FaultAction};
use mogile_tracker::{PoolSettings, TrackerConfig};

/// Polls (in paused time) until `cond` holds, for at most `limit` of virtual time.
async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

#[tokio::test(start_paused = true)]
async fn refusing_and_hanging_trackers_are_skipped_marked_inactive_and_come_back() {
    let model = common::model();
    let ts = common::trackers(&model, 3).await;
    let (refusing, hanging, healthy) = (&ts[0], &ts[1], &ts[2]);
    let client = common::builder(&[refusing, hanging, healthy])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(1),
            admin_timeout: Duration::from_secs(2),
            pool: PoolSettings {
                probe_interval: Duration::from_secs(1),
                probe_timeout: Duration::from_millis(500),
                ..common::config().pool
            },
            ..common::config()
        })
        .build()
        .unwrap();
    refusing.kill();
    hanging.set_mode(ConnectionMode::Hang);

    for i in 0..30 {
        match i % 3 {
            0 => client.noop(Noop::new()).await.unwrap(),
            1 => {
                let page = client.list_keys(ListKeys::new("testdom")).await.unwrap();
                assert!(page.keys.is_empty());
            }
            _ => {
                let domains = client.admin().get_domains(GetDomains::new()).await.unwrap();
                assert_eq!(domains[0].name, "testdom");
            }
        }
    }
    // Every request was answered by the healthy tracker, each exactly once.
    let answered = common::requests(healthy);
    assert_eq!(answered.len(), 30, "{answered:#?}");
    // Both bad trackers were tried, and are (or, once the timeout's probe fails, become) inactive.
    assert!(refusing.connections_accepted() > 0);
    assert!(!common::requests(hanging).is_empty());
    assert!(
        eventually(Duration::from_secs(5), || !common::is_active(
            &client, refusing
        ) && !common::is_active(
            &client, hanging
        ))
        .await
    );
    assert!(common::is_active(&client, healthy));

    // Recovery: the background prober brings them back.
    refusing.restart();
    hanging.set_mode(ConnectionMode::Normal);
    assert!(
        eventually(Duration::from_secs(10), || common::is_active(
            &client, refusing
        ) && common::is_active(
            &client, hanging
        ))
        .await,
        "{:?}",
        client.status()
    );
    // And they serve requests again.
    for _ in 0..30 {
        client.noop(Noop::new()).await.unwrap();
    }
    assert!(
        common::requests(refusing)
            .iter()
            .any(|l| l.starts_with("noop callid="))
    );
    assert!(
        common::requests(hanging)
            .iter()
            .any(|l| l.starts_with("noop callid="))
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_admin_command_does_not_mark_a_healthy_tracker_inactive() {
    let model = common::model();
    let ts = common::trackers(&model, 2).await;
    for t in &ts {
        t.inject(
            Fault::new(FaultAction::Delay(Duration::from_secs(8))).command("do_monitor_round"),
        );
    }
    let client = common::builder(&[&ts[0], &ts[1]])
        .config(TrackerConfig {
            file_timeout: Duration::from_secs(1),
            ..common::config()
        })
        .build()
        .unwrap();
    // Far above the file timeout, below the admin timeout (25 s).
    client
        .admin()
        .do_monitor_round(DoMonitorRound::new())
        .await
        .unwrap();
    let total: u64 = ts.iter().map(|t| t.requests("do_monitor_round")).sum();
    assert_eq!(total, 1, "answered once, not retried");
    for t in &ts {
        assert!(common::is_active(&client, t));
    }
    assert!(
        client
            .status()
            .endpoints
            .iter()
            .all(|e| e.probe_failures == 0)
    );
}
