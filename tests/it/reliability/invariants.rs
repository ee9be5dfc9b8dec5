//! Invariants 1-4 end to end, one targeted scenario each (the soak checks them at random).

use std::time::Duration;

use http::Method;
use mogile_testkit::TestCluster;
use mogile_testkit::storage::{Fault as NodeFault, FaultRule};
use mogile_testkit::tracker::{Fault, FaultAction};
use mogilefs::{
    Client, ClientConfig, Error, PoolSettings, PutOptions, StorageConfig, TrackerConfig,
};

use super::support::{assert_no_library_panics, content, watch_panics};

async fn cluster(nodes: usize) -> TestCluster {
    TestCluster::builder()
        .trackers(1)
        .storage_nodes(nodes)
        .devices_per_node(1)
        .mindevcount(nodes as u32)
        .start()
        .await
        .unwrap()
}

fn client(cluster: &TestCluster) -> Client {
    Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .config(ClientConfig {
            no_devices_retries: 1,
            no_devices_backoff: Duration::from_millis(10),
            ..ClientConfig::default()
        })
        .tracker(TrackerConfig {
            file_timeout: Duration::from_millis(800),
            ..TrackerConfig::default()
        })
        .storage(StorageConfig {
            connect_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(2),
            headers_timeout: Duration::from_secs(2),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

/// Invariant 1: a store that returned `Ok` is readable, byte for byte, while any one replica
/// survives, whichever one that is.
#[tokio::test]
async fn a_stored_file_is_readable_while_one_replica_survives() {
    watch_panics();
    let c = cluster(3).await;
    let client = client(&c);
    let data = content("inv1", 1, 300_000);
    client
        .put_opts("inv1", data.clone(), &PutOptions::new().class("c2"))
        .await
        .unwrap();
    c.replicate_all().await.unwrap();
    assert_eq!(c.replica_devids("inv1").unwrap().len(), 3);
    for survivor in 0..3 {
        for node in 0..3 {
            if node != survivor {
                c.kill_node(node).unwrap();
            }
        }
        let got = client.get_bytes("inv1").await.unwrap();
        assert!(got == data, "survivor {survivor}: wrong bytes");
        for node in 0..3 {
            c.restart_node(node).unwrap();
        }
    }
    // Also when the survivors fail mid-body: resumed elsewhere, never short.
    for node in 0..2 {
        c.node(node).unwrap().inject(
            FaultRule::new(NodeFault::ResetAfter {
                body_bytes: 100_000,
            })
            .method(Method::GET),
        );
    }
    assert!(client.get_bytes("inv1").await.unwrap() == data);
    c.shutdown().await;
    assert_no_library_panics();
}

/// Invariant 1 when the close's reply is lost: the facade reconciles, and `Ok` means readable.
#[tokio::test]
async fn a_store_whose_close_reply_was_lost_is_reconciled() {
    watch_panics();
    let c = cluster(2).await;
    let client = client(&c);
    let tracker = c.tracker(0).unwrap();
    tracker.inject(
        Fault::new(FaultAction::Drop)
            .command("create_close")
            .execute(true)
            .times(1),
    );
    let data = content("inv1b", 1, 10_000);
    client.put("inv1b", data.clone()).await.unwrap();
    assert!(client.get_bytes("inv1b").await.unwrap() == data);
    c.shutdown().await;
    assert_no_library_panics();
}

/// Invariant 2: a store that failed with anything but `OutcomeUnknown` leaves the previous
/// content in place, whole; after `OutcomeUnknown` the key holds the old content, the new one, or
/// (a close that died after deleting the old fid: `a_close_that_dies_mid_commit_*`) nothing.
#[tokio::test]
async fn a_failed_store_keeps_the_previous_content() {
    watch_panics();
    let c = cluster(2).await;
    let client = client(&c);
    let old = content("inv2", 0, 50_000);
    client.put("inv2", old.clone()).await.unwrap();
    let tracker = c.tracker(0).unwrap();

    // Every destination fails, in several ways.
    for fault in [
        NodeFault::Status(500),
        NodeFault::Status(507),
        NodeFault::Close,
        NodeFault::StallRequestBody { after: 1000 },
    ] {
        for node in c.nodes() {
            node.inject(FaultRule::new(fault.clone()).method(Method::PUT));
        }
        let closes = tracker.requests("create_close");
        let err = client
            .put("inv2", content("inv2", 1, 50_000))
            .await
            .unwrap_err();
        assert!(!err.is_outcome_unknown(), "{fault:?}: {err:?}");
        assert_eq!(tracker.requests("create_close"), closes, "{fault:?}");
        for node in c.nodes() {
            node.clear_faults();
        }
        assert!(client.get_bytes("inv2").await.unwrap() == old, "{fault:?}");
    }

    // The tracker discards the upload at the close on every attempt: its HEAD finds no file
    // (`size_verify_error`), so each attempt restarts and the last one is a definite
    // `UploadRejected`, with the old content in place.
    for node in c.nodes() {
        node.inject(FaultRule::new(NodeFault::Status(404)).method(Method::HEAD));
    }
    let closes = tracker.requests("create_close");
    let err = client
        .put("inv2", content("inv2", 2, 50_000))
        .await
        .unwrap_err();
    for node in c.nodes() {
        node.clear_faults();
    }
    assert!(matches!(err, Error::UploadRejected { .. }), "{err:?}");
    assert_eq!(err.code().map(|c| c.as_str()), Some("size_verify_error"));
    assert_eq!(
        tracker.requests("create_close"),
        closes + 2,
        "one close per attempt"
    );
    assert!(client.get_bytes("inv2").await.unwrap() == old);

    // The close's connection is reset after the request left, and the close never ran: the
    // outcome is unknown to the client (file_info shows the old fid, not ours), and the key
    // holds the old content.
    tracker.inject(
        Fault::new(FaultAction::Reset)
            .command("create_close")
            .execute(false),
    );
    let err = client
        .put("inv2", content("inv2", 2, 50_000))
        .await
        .unwrap_err();
    tracker.clear_faults();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(client.get_bytes("inv2").await.unwrap() == old);

    // The close ran but its reply and the reconciling file_info are lost: outcome unknown, and
    // the key holds the old or the new content, whole.
    for execute in [true, false] {
        let before = client.get_bytes("inv2").await.unwrap();
        let new = content("inv2", 3 + u64::from(execute), 50_000);
        tracker.inject(
            Fault::new(FaultAction::Drop)
                .command("create_close")
                .execute(execute)
                .times(1),
        );
        tracker.inject(Fault::new(FaultAction::Drop).command("file_info"));
        let err = client.put("inv2", new.clone()).await.unwrap_err();
        tracker.clear_faults();
        assert!(err.is_outcome_unknown(), "{err:?}");
        let now = client.get_bytes("inv2").await.unwrap();
        if execute {
            assert!(now == new, "the close ran, so the new content is in place");
        } else {
            assert!(
                now == before,
                "the close never ran, so the old content stays"
            );
        }
    }
    c.shutdown().await;
    assert_no_library_panics();
}

/// Invariant 3: short, reset or stalled bodies on every replica are errors, or (when the
/// replicas' good parts add up) the exact file; never short or wrong bytes as `Ok`.
#[tokio::test]
async fn a_fetch_never_returns_short_bytes() {
    watch_panics();
    let c = cluster(2).await;
    let client = client(&c);
    let data = content("inv3", 1, 200_000);
    client
        .put_opts("inv3", data.clone(), &PutOptions::new().class("c2"))
        .await
        .unwrap();
    c.replicate_all().await.unwrap();
    for fault in [
        NodeFault::ShortBody { missing: 1 },
        NodeFault::ResetAfter {
            body_bytes: 150_000,
        },
        NodeFault::StallResponseBody { after: 199_999 },
        NodeFault::Close,
    ] {
        for node in c.nodes() {
            node.inject(FaultRule::new(fault.clone()).method(Method::GET));
        }
        match client.get_bytes("inv3").await {
            // A reset at 150 000 on the first replica, then the rest from the second.
            Ok(got) => assert!(
                got == data,
                "{fault:?}: {} wrong bytes returned as success",
                got.len()
            ),
            Err(e) => assert!(matches!(e, Error::NoUsablePath { .. }), "{fault:?}: {e:?}"),
        }
        for node in c.nodes() {
            node.clear_faults();
        }
    }
    assert!(client.get_bytes("inv3").await.unwrap() == data);
    c.shutdown().await;
    assert_no_library_panics();
}

/// Invariant 4: a reply that arrives late (after its request timed out or was cancelled), or a
/// stray line after a reply, never answers another request on a reused connection.
#[tokio::test]
async fn late_and_stray_replies_never_answer_another_request() {
    watch_panics();
    let c = cluster(1).await;
    // One connection, one attempt: any reuse of a connection with a pending reply would show.
    let client = Client::builder()
        .trackers(c.tracker_addrs())
        .domain(c.domain())
        .tracker(TrackerConfig {
            retry_budget: Some(1),
            file_timeout: Duration::from_millis(300),
            pool: PoolSettings {
                max_size: 1,
                ..PoolSettings::default()
            },
            ..TrackerConfig::default()
        })
        .build()
        .unwrap();
    let a = content("a", 1, 1000);
    let b = content("b", 2, 2000);
    client.put("a", a.clone()).await.unwrap();
    client.put("b", b.clone()).await.unwrap();
    let tracker = c.tracker(0).unwrap();
    for _ in 0..3 {
        // `a`'s lookups answer after the client gave up on them: its `file_info` is pipelined
        // behind its `get_paths` on the same connection, so both replies come late. (A delay
        // rule for `file_info` as well would be taken by `b`'s, which reaches the fake while
        // `a`'s still waits behind the delayed `get_paths`.)
        tracker.inject(
            Fault::new(FaultAction::Delay(Duration::from_millis(900)))
                .command("get_paths")
                .times(1),
        );
        assert!(client.get_bytes("a").await.is_err());
        assert!(client.get_bytes("b").await.unwrap() == b);
        // Cancelled instead of timed out.
        tracker.inject(
            Fault::new(FaultAction::Delay(Duration::from_millis(200)))
                .command("get_paths")
                .times(1),
        );
        let cut = tokio::time::timeout(Duration::from_millis(50), client.get_bytes("a")).await;
        assert!(cut.is_err());
        assert!(client.get_bytes("b").await.unwrap() == b);
    }
    // The stray `OK` after a reply (the 2.73 rename bug) is never read as the next answer.
    tracker.inject(
        Fault::new(FaultAction::StrayLine(b"OK paths=0\r\n".to_vec()))
            .command("file_info")
            .times(1),
    );
    assert!(client.get_bytes("a").await.unwrap() == a);
    assert!(client.get_bytes("b").await.unwrap() == b);
    c.shutdown().await;
    assert_no_library_panics();
}
