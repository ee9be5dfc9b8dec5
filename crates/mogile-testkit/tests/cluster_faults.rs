//! The cluster's fault switches: killed and restarted nodes and trackers, and the delete worker.

mod cluster_support;

use cluster_support::{Tracker, http};
use mogile_testkit::TestCluster;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

async fn two_single_device_nodes() -> TestCluster {
    TestCluster::builder()
        .trackers(2)
        .storage_nodes(2)
        .devices_per_node(1)
        .start()
        .await
        .unwrap()
}

/// The index of the node holding device `devid`.
fn node_of(cluster: &TestCluster, devid: u64) -> usize {
    cluster
        .devices()
        .iter()
        .find(|d| d.devid == devid)
        .unwrap()
        .node
}

#[tokio::test]
async fn a_killed_node_gets_no_copies_and_serves_none() {
    let cluster = two_single_device_nodes().await;
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[0]).await;
    let (fid, path) = t.store(&dom, "c2", "k", b"payload").await;
    let first = cluster.replica_devids("k").unwrap()[0];
    let holder = node_of(&cluster, first);
    let other = 1 - holder;

    // The only other node is down: nothing to copy to.
    cluster.kill_node(other).unwrap();
    let report = cluster.replicate_all().await.unwrap();
    assert_eq!((report.copies, report.short.clone()), (0, vec![fid]));
    cluster.restart_node(other).unwrap();

    // The node holding the only replica is down: nothing to copy from, and its URL is dead.
    cluster.kill_node(holder).unwrap();
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 0);
    let rest = path.strip_prefix("http://").unwrap();
    let authority = &rest[..rest.find('/').unwrap()];
    let mut conn = tokio::net::TcpStream::connect(authority).await.unwrap();
    let _ = conn.write_all(b"GET / HTTP/1.0\r\n\r\n").await;
    let mut buf = String::new();
    let read = BufReader::new(conn).read_line(&mut buf).await;
    assert!(
        read.is_err() || buf.is_empty(),
        "a killed node answered {buf:?}"
    );

    cluster.restart_node(holder).unwrap();
    assert_eq!(http("GET", &path, b"").await, (200, b"payload".to_vec()));
    assert_eq!(cluster.replicate_all().await.unwrap().copies, 1);
    assert_eq!(t.paths(&dom, "k").await.len(), 2);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_killed_tracker_drops_requests_and_the_other_still_answers() {
    let cluster = two_single_device_nodes().await;
    let addrs = cluster.tracker_addrs();
    cluster.kill_tracker(0).unwrap();

    let answered = async {
        let mut conn = BufReader::new(tokio::net::TcpStream::connect(&addrs[0]).await?);
        conn.get_mut().write_all(b"noop\r\n").await?;
        let mut line = String::new();
        conn.read_line(&mut line).await?;
        Ok::<_, std::io::Error>(line)
    }
    .await;
    assert!(
        answered.as_ref().map_or(true, String::is_empty),
        "a killed tracker answered {answered:?}"
    );
    Tracker::connect(&addrs[1]).await.ok("noop", &[]).await;

    cluster.restart_tracker(0).unwrap();
    // Same port after the restart.
    Tracker::connect(&addrs[0]).await.ok("noop", &[]).await;

    assert!(cluster.kill_tracker(2).unwrap_err().is_not_found());
    assert!(cluster.node(5).unwrap_err().is_not_found());
    assert!(cluster.node_for_device(9).unwrap_err().is_not_found());
    assert_eq!(
        cluster.node_for_device(2).unwrap().addr(),
        cluster.node(1).unwrap().addr()
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn purge_deleted_removes_replicas_of_deleted_and_replaced_files() {
    let cluster = two_single_device_nodes().await;
    let dom = cluster.domain().to_owned();
    let mut t = Tracker::connect(&cluster.tracker_addrs()[1]).await;

    t.store(&dom, "c2", "gone", b"soon deleted").await;
    cluster.replicate_all().await.unwrap();
    let files: Vec<_> = cluster
        .replica_devids("gone")
        .unwrap()
        .into_iter()
        .map(|d| cluster.replica_file("gone", d).unwrap())
        .collect();
    assert_eq!(files.len(), 2);
    t.ok("delete", &[("domain", dom.as_bytes()), ("key", b"gone")])
        .await;
    assert!(files.iter().all(|f| f.exists()), "only the queue knows yet");
    assert_eq!(cluster.purge_deleted().await.unwrap(), 2);
    assert!(files.iter().all(|f| !f.exists()));

    // Last writer wins: the replaced fid's replica is deleted, the new one stays.
    t.store(&dom, "c2", "twice", b"old").await;
    let old = cluster
        .replica_file("twice", cluster.replica_devids("twice").unwrap()[0])
        .unwrap();
    let (_, new_path) = t.store(&dom, "c2", "twice", b"new").await;
    assert_eq!(cluster.purge_deleted().await.unwrap(), 1);
    assert!(!old.exists());
    assert_eq!(http("GET", &new_path, b"").await, (200, b"new".to_vec()));
    assert_eq!(cluster.purge_deleted().await.unwrap(), 0);
    cluster.shutdown().await;
}
