//! Connection reuse and expiry, in paused time (the testkit node runs as tasks on the test's own
//! current-thread runtime, so the clock only jumps when everything waits).

use std::time::Duration;

use mogile_storage::{StorageClient, StorageConfig};
use mogile_testkit::storage::StorageNode;

async fn node() -> (tempfile::TempDir, StorageNode, String) {
    let dir = tempfile::tempdir().unwrap();
    let node = StorageNode::start(dir.path()).await.unwrap();
    node.add_device(1).await.unwrap();
    std::fs::write(node.file_path("/dev1/f.fid"), "abc").unwrap();
    let url = node.url("/dev1/f.fid");
    (dir, node, url)
}

#[tokio::test(start_paused = true)]
async fn pooled_connections_expire_before_mogstoreds_keep_alive() {
    let (_dir, node, url) = node().await;
    let client = StorageClient::builder().build().unwrap(); // pool_idle_timeout 20 s
    client.head(&url).await.unwrap();
    client.head(&url).await.unwrap();
    assert_eq!(node.connection_count(), 1, "reused while fresh");
    tokio::time::sleep(Duration::from_secs(19)).await;
    client.head(&url).await.unwrap();
    assert_eq!(node.connection_count(), 1, "still within 20 s of idleness");
    tokio::time::sleep(Duration::from_secs(21)).await;
    client.head(&url).await.unwrap();
    assert_eq!(
        node.connection_count(),
        2,
        "expired after 20 s idle: a new connection"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_timeout_shorter_than_the_pool_only_costs_a_reconnect() {
    let (_dir, node, url) = node().await;
    let client = StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: Duration::from_secs(2),
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    client.head(&url).await.unwrap();
    // The idle pooled connection hits its I/O idle timeout and closes...
    tokio::time::sleep(Duration::from_secs(5)).await;
    // ...and the next request simply uses a new one.
    assert_eq!(client.head(&url).await.unwrap().content_length, Some(3));
    assert_eq!(node.connection_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn no_reuse_when_the_pool_is_disabled() {
    let (_dir, node, url) = node().await;
    let client = StorageClient::builder()
        .config(StorageConfig {
            pool_max_idle_per_host: 0,
            ..StorageConfig::default()
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        client.head(&url).await.unwrap();
    }
    assert_eq!(node.connection_count(), 3);
}
