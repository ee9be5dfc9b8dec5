//! Suite functions that take a `&Client` and need nothing but a cluster (no fault switches),
//! so they run against every backend (object_store's `integration.rs` idea):
//!
//! - always against an embedded [`TestCluster`];
//! - against an external cluster in `suite_against_external_cluster`, which is `#[ignore]`d so
//!   that a plain `cargo test` reports it as not run instead of passing it silently. It needs
//!   `MOGILE_TEST_TRACKERS` (comma-separated `host:port`) and optionally `MOGILE_TEST_DOMAIN`
//!   (default `testdom`), and fails without them. `cargo xtask test-cluster --run-tests` runs it
//!   with `--ignored` against the cluster it starts; an operator can point it at a real MogileFS
//!   installation the same way. Every key this suite writes starts with a per-run prefix and is
//!   deleted again.

use std::time::{SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use mogile_testkit::TestCluster;
use mogile_tests::pattern;
use mogilefs::{Client, Key};

/// A prefix unique to this run, so runs against a shared cluster never collide.
fn run_prefix(suite: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("conformance/{suite}/{}-{nanos}/", std::process::id())
}

/// Store, fetch (whole and a range), `file_info`, `exists`, delete.
async fn put_get_delete(client: &Client) {
    let prefix = run_prefix("put_get_delete");
    let key = format!("{prefix}file with spaces+plus&amp=eq%pct");
    let body = pattern(300_000);
    let stored = client.put(key.as_str(), body.clone()).await.unwrap();
    assert_eq!(stored.size, body.len() as u64);

    assert_eq!(client.get_bytes(key.as_str()).await.unwrap(), body);
    let range = client
        .get_range(key.as_str(), 1000, Some(5000))
        .await
        .unwrap();
    assert_eq!(range, body.slice(1000..6000));

    let info = client.file_info(key.as_str()).await.unwrap();
    assert_eq!(info.length, body.len() as u64);
    assert_eq!(info.fid, stored.fid);
    assert!(client.exists(key.as_str()).await.unwrap());

    client.delete(key.as_str()).await.unwrap();
    assert!(!client.exists(key.as_str()).await.unwrap());
    let err = client.get_bytes(key.as_str()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client.delete(key.as_str()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

/// Rename moves content; renaming onto an existing key leaves both unchanged.
async fn rename_semantics(client: &Client) {
    let prefix = run_prefix("rename");
    let (a, b, c) = (
        format!("{prefix}a"),
        format!("{prefix}b"),
        format!("{prefix}c"),
    );
    client.put(a.as_str(), &b"content a"[..]).await.unwrap();
    client.put(b.as_str(), &b"content b"[..]).await.unwrap();

    client.rename(a.as_str(), c.as_str()).await.unwrap();
    assert!(
        client
            .get_bytes(a.as_str())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        &client.get_bytes(c.as_str()).await.unwrap()[..],
        b"content a"
    );

    let err = client.rename(c.as_str(), b.as_str()).await.unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert_eq!(
        &client.get_bytes(b.as_str()).await.unwrap()[..],
        b"content b"
    );
    assert_eq!(
        &client.get_bytes(c.as_str()).await.unwrap()[..],
        b"content a"
    );

    let err = client.rename(a.as_str(), b.as_str()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    for k in [&b, &c] {
        client.delete(k.as_str()).await.unwrap();
    }
}

/// `keys(prefix)` pages through more than one page and ends cleanly; an empty prefix range
/// is an empty stream, not an error.
async fn listing(client: &Client) {
    let prefix = run_prefix("listing");
    let mut expected: Vec<Key> = Vec::new();
    for i in 0..25 {
        let key = format!("{prefix}{i:03}");
        client.put(key.as_str(), &b"x"[..]).await.unwrap();
        expected.push(Key::from(key));
    }
    let page = client
        .list_keys(
            &mogilefs::ListOptions::default()
                .prefix(prefix.as_str())
                .limit(10),
        )
        .await
        .unwrap();
    assert_eq!(page.keys.len(), 10);

    let all: Vec<Key> = client.keys(prefix.as_str()).try_collect().await.unwrap();
    assert_eq!(all, expected);

    let none: Vec<Key> = client
        .keys(format!("{prefix}nothing-here/").as_str())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());

    for k in &expected {
        client.delete(k.clone()).await.unwrap();
    }
}

async fn run_suite(client: &Client) {
    put_get_delete(client).await;
    rename_semantics(client).await;
    listing(client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_against_embedded_cluster() {
    let cluster = TestCluster::start().await.unwrap();
    let client = Client::builder()
        .trackers(cluster.tracker_addrs())
        .domain(cluster.domain())
        .build()
        .unwrap();
    run_suite(&client).await;
    client.close().await;
}

/// The test `cargo xtask test-cluster --run-tests` runs with `--ignored` (it names it by this
/// path, `conformance::suite_against_external_cluster`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an external cluster: MOGILE_TEST_TRACKERS=host:port,... (cargo xtask test-cluster --run-tests sets it)"]
async fn suite_against_external_cluster() {
    let trackers = std::env::var("MOGILE_TEST_TRACKERS").unwrap_or_default();
    let trackers: Vec<&str> = trackers
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    // Run on purpose without a cluster to run against: a failure, never a silent pass.
    assert!(
        !trackers.is_empty(),
        "MOGILE_TEST_TRACKERS is not set: nothing to run the suite against"
    );
    let domain = std::env::var("MOGILE_TEST_DOMAIN").unwrap_or_else(|_| "testdom".to_owned());
    let client = Client::builder()
        .trackers(trackers)
        .domain(domain)
        .build()
        .unwrap();
    run_suite(&client).await;
    client.close().await;
}
