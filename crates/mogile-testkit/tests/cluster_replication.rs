//! Deterministic replication (on request and in the background) and the replica faults.

mod cluster_support;

use std::collections::HashSet;
use std::time::Duration;

use cluster_support::{Tracker, http};
use md5::{Digest, Md5};
use mogile_testkit::TestCluster;

fn host_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap();
    &rest[..rest.find('/').unwrap()]
}

#[tokio::test]
async fn replicate_all_reaches_mindevcount_with_identical_bytes() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(3)
        .devices_per_node(2)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    t.store(&dom, "c2", "big", &body).await;
    t.store(&dom, "c2", "empty", b"").await;
    assert_eq!(t.paths(&dom, "big").await.len(), 1);

    let report = cluster.replicate_all().await.unwrap();
    assert_eq!(report.copies, 2);
    assert!(report.short.is_empty());

    for key in ["big", "empty"] {
        let paths = t.paths(&dom, key).await;
        assert_eq!(paths.len(), 2, "{key}: {paths:?}");
        // MultipleHosts: the copies are on distinct hosts.
        assert_ne!(host_of(&paths[0]), host_of(&paths[1]));
        let want: &[u8] = if key == "big" { &body } else { b"" };
        for p in &paths {
            assert_eq!(http("GET", p, b"").await, (200, want.to_vec()), "{p}");
        }
        assert_eq!(cluster.replica_devids(key).unwrap().len(), 2);
    }
    let info = t
        .ok("file_info", &[("domain", dom.as_bytes()), ("key", b"big")])
        .await;
    assert_eq!(info["devcount"], "2");

    // Nothing left to do: a second round copies nothing.
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 0);
    cluster.shutdown().await;
}

#[tokio::test]
async fn replication_stays_on_distinct_devices_of_one_host() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(1)
        .devices_per_node(3)
        .mindevcount(3)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    t.store(&dom, cluster.md5_class(), "k", b"abc").await;
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 2);
    let devids: HashSet<u64> = cluster.replica_devids("k").unwrap().into_iter().collect();
    assert_eq!(devids, HashSet::from([1, 2, 3]));
    cluster.shutdown().await;
}

#[tokio::test]
async fn md5_class_keeps_its_checksum_through_replication() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    let body = b"checksummed bytes";
    let md5 = hex::encode(Md5::digest(body));
    let open = t
        .ok(
            "create_open",
            &[
                ("domain", dom.as_bytes()),
                ("key", b"sum"),
                ("class", b"md5"),
            ],
        )
        .await;
    assert_eq!(http("PUT", &open["path"], body).await.0, 200);
    let checksum = format!("MD5:{md5}");
    t.ok(
        "create_close",
        &[
            ("domain", dom.as_bytes()),
            ("key", b"sum"),
            ("fid", open["fid"].as_bytes()),
            ("devid", open["devid"].as_bytes()),
            ("path", open["path"].as_bytes()),
            ("size", b"17"),
            ("checksum", checksum.as_bytes()),
        ],
    )
    .await;
    // A corrupted only replica is not spread: replication checks the MD5 of its source.
    let only = cluster.replica_devids("sum").unwrap()[0];
    cluster.corrupt_replica("sum", only).await.unwrap();
    let report = cluster.replicate_all().await.unwrap();
    assert_eq!(report.copies, 0);
    assert_eq!(report.short, vec![open["fid"].parse::<u64>().unwrap()]);
    cluster.corrupt_replica("sum", only).await.unwrap(); // flipped back

    assert_eq!(cluster.replicate_all().await.unwrap().copies, 1);
    let info = t
        .ok("file_info", &[("domain", dom.as_bytes()), ("key", b"sum")])
        .await;
    assert_eq!(info["checksum"], checksum);
    assert_eq!(info["class"], "md5");
    for p in t.paths(&dom, "sum").await {
        let (status, got) = http("GET", &p, b"").await;
        assert_eq!(status, 200);
        assert_eq!(hex::encode(Md5::digest(&got)), md5);
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn background_replication_is_awaited_on_the_hook() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .background_replication(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    t.store(&dom, "c2", "later", b"replicated later").await;
    cluster.replication_settled().await.unwrap();
    assert_eq!(t.paths(&dom, "later").await.len(), 2);
    cluster.shutdown().await;
}

#[tokio::test]
async fn corrupt_and_remove_replicas() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    t.store(&dom, "c2", "victim", b"precious").await;
    cluster.replicate_all().await.unwrap();
    let devids = cluster.replica_devids("victim").unwrap();
    assert_eq!(devids.len(), 2);

    cluster.corrupt_replica("victim", devids[0]).await.unwrap();
    let corrupted = std::fs::read(cluster.replica_file("victim", devids[0]).unwrap()).unwrap();
    assert_eq!(corrupted.len(), 8);
    assert_ne!(corrupted, b"precious");
    let intact = std::fs::read(cluster.replica_file("victim", devids[1]).unwrap()).unwrap();
    assert_eq!(intact, b"precious");

    cluster.remove_replica("victim", devids[1]).await.unwrap();
    // The model still lists the replica: its URL answers 404.
    let paths = t.paths(&dom, "victim").await;
    assert_eq!(paths.len(), 2);
    let removed = paths
        .iter()
        .find(|p| p.contains(&format!("/dev{}/", devids[1])))
        .unwrap();
    assert_eq!(http("GET", removed, b"").await.0, 404);

    let missing = cluster
        .corrupt_replica("nope", devids[0])
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    let no_dev = cluster.replica_file("victim", 99).unwrap_err();
    assert!(no_dev.is_not_found(), "{no_dev}");
    cluster.shutdown().await;
}

#[tokio::test]
async fn classes_created_through_a_tracker_are_honoured() {
    let cluster = TestCluster::builder()
        .trackers(1)
        .storage_nodes(3)
        .devices_per_node(1)
        .start()
        .await
        .unwrap();
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    t.ok(
        "create_class",
        &[
            ("domain", dom.as_bytes()),
            ("class", b"three"),
            ("mindevcount", b"3"),
        ],
    )
    .await;
    t.store(&dom, "three", "k3", b"x").await;
    t.store(&dom, "default", "kd", b"y").await;
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 3);
    assert_eq!(cluster.replica_devids("k3").unwrap(), vec![1, 2, 3]);
    assert_eq!(cluster.replica_devids("kd").unwrap().len(), 2);
    cluster.shutdown().await;
}
