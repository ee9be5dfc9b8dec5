//! Shared helpers for the cross-crate integration tests in `tests/it`.
//!
//! The fake tracker, test storage node and local cluster live in the published
//! `mogile-testkit` crate; this crate only holds glue that is specific to this
//! workspace's own test suite: [`Harness`], a [`TestCluster`] laid out so that upload
//! destinations and read paths come in a known order, which the failover tests rely on.

use std::sync::Arc;
use std::time::Duration;

use mogile_testkit::TestCluster;
use mogile_testkit::storage::{Fault, FaultRule, RecordedRequest, StorageNode};
use mogile_testkit::tracker::{FakeTracker, Model};
use mogilefs::{Client, ClientBuilder, ClientConfig, DevId, KeyPolicy, StorageConfig};

/// The domain every harness creates.
pub const DOMAIN: &str = "testdom";
/// A class with `mindevcount` = the node count and no hashtype.
pub const PLAIN_CLASS: &str = TestCluster::PLAIN_CLASS;
/// A class with `mindevcount` = the node count and `hashtype=MD5`.
pub const MD5_CLASS: &str = TestCluster::MD5_CLASS;

/// A [`TestCluster`] with one tracker and `n` storage nodes of one device each
/// (`devid = node index + 1`), made deterministic for failover tests:
///
/// - device `i` reports vastly more free space than device `i + 1`, so `create_open` hands out
///   destinations in devid order (the tracker's weighted draw puts a later device first with a
///   probability below 1e-6);
/// - every device has weight 0, so `get_paths` lists replicas in devid order.
#[derive(Debug)]
pub struct Harness {
    /// The cluster.
    pub cluster: TestCluster,
}

impl Harness {
    /// Starts the cluster (1 to 3 nodes; both classes replicate to every node).
    pub async fn start(n: usize) -> Self {
        assert!((1..=3).contains(&n), "1 to 3 nodes");
        let cluster = TestCluster::builder()
            .trackers(1)
            .storage_nodes(n)
            .devices_per_node(1)
            .domain(DOMAIN)
            .mindevcount(n as u32)
            .start()
            .await
            .unwrap();
        let h = Self { cluster };
        let admin = h.client().admin();
        for i in 0..n {
            let devid = i as u64 + 1;
            let free = 10u64.pow(15 - 6 * i as u32);
            h.model()
                .set_device_space_mb(devid, Some(free), Some(0))
                .unwrap();
            admin
                .set_device_weight(&format!("node{i}"), DevId(devid), 0)
                .await
                .unwrap();
        }
        h.tracker().clear_log();
        h
    }

    /// The tracker.
    pub fn tracker(&self) -> &FakeTracker {
        self.cluster.tracker(0).unwrap()
    }

    /// The cluster's model.
    pub fn model(&self) -> &Arc<Model> {
        self.cluster.model()
    }

    /// The node holding device `devid`.
    pub fn node(&self, devid: u64) -> &StorageNode {
        self.cluster.node(devid as usize - 1).unwrap()
    }

    /// Injects a storage fault for one HTTP method on the node holding `devid`.
    pub fn fault(&self, devid: u64, method: http::Method, fault: Fault) {
        self.node(devid)
            .inject(FaultRule::new(fault).method(method));
    }

    /// Requests of one method the node holding `devid` received.
    pub fn requests(&self, devid: u64, method: http::Method) -> Vec<RecordedRequest> {
        self.node(devid)
            .requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    /// `Range` headers of the GETs the node holding `devid` received.
    pub fn get_ranges(&self, devid: u64) -> Vec<Option<String>> {
        self.requests(devid, http::Method::GET)
            .iter()
            .map(|r| {
                r.headers
                    .get(http::header::RANGE)
                    .map(|v| v.to_str().unwrap().to_owned())
            })
            .collect()
    }

    /// The facade settings of [`builder`](Self::builder): lenient keys, one quick `no_devices`
    /// retry. Tests change fields on top of it.
    pub fn config() -> ClientConfig {
        ClientConfig {
            key_policy: KeyPolicy::Lenient,
            no_devices_retries: 1,
            no_devices_backoff: Duration::from_millis(10),
            ..ClientConfig::default()
        }
    }

    /// The storage settings of [`builder`](Self::builder): 2 s connect, idle and headers
    /// timeouts. Tests change fields on top of it.
    pub fn storage_config() -> StorageConfig {
        StorageConfig {
            connect_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(2),
            headers_timeout: Duration::from_secs(2),
            ..StorageConfig::default()
        }
    }

    /// A client builder for the tracker and domain, with [`config`](Self::config) and
    /// [`storage_config`](Self::storage_config).
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .trackers(self.cluster.tracker_addrs())
            .domain(DOMAIN)
            .config(Self::config())
            .storage(Self::storage_config())
    }

    /// A client with [`builder`](Self::builder)'s settings.
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// The fid and devids of a committed key.
    pub fn replicas(&self, key: impl AsRef<[u8]>) -> (u64, Vec<u64>) {
        let rec = self.model().file(DOMAIN, key).expect("key is committed");
        (rec.fid, rec.devids)
    }

    /// Whether the key is committed.
    pub fn committed(&self, key: impl AsRef<[u8]>) -> bool {
        self.model().file(DOMAIN, key).is_some()
    }

    /// Copies every file to every node, as replication would.
    pub async fn replicate(&self) {
        self.cluster.replicate_all().await.unwrap();
    }

    /// Cuts the replica of `key` on `devid` to its first `len` bytes, on disk.
    pub fn truncate_replica(&self, key: impl AsRef<[u8]>, devid: u64, len: u64) {
        let path = self.cluster.replica_file(key, devid).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }
}

/// `len` bytes of a pattern that does not repeat with any power-of-two period, so a misplaced
/// chunk changes the content.
pub fn pattern(len: usize) -> bytes::Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8) ^ (i >> 16)) as u8)
        .collect::<Vec<u8>>()
        .into()
}
