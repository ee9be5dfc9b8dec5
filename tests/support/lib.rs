//! Shared helpers for the cross-crate integration tests in `tests/it`.
//!
//! The fake tracker, test storage node and local cluster live in the published
//! `mogile-testkit` crate; this crate only holds glue that is specific to this
//! workspace's own test suite: [`Harness`], a fake tracker whose hosts are [`FaultNode`]s,
//! storage nodes with switchable PUT/GET failures, laid out so that upload destinations and
//! read paths come in a known order.

pub mod node;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model};
use mogilefs::{Client, ClientBuilder, KeyPolicy};

pub use node::{Behaviour, FaultNode};

/// The domain every harness creates.
pub const DOMAIN: &str = "testdom";
/// A class with `mindevcount` 2 and no hashtype.
pub const PLAIN_CLASS: &str = "c2";
/// A class with `mindevcount` 2 and `hashtype=MD5`.
pub const MD5_CLASS: &str = "md5";

/// A fake tracker with `n` [`FaultNode`]s, one device each (`devid = node index + 1`).
///
/// Order is made deterministic: device `i` reports vastly more free space than device `i + 1`, so
/// `create_open` hands out destinations in devid order (the tracker's weighted draw picks the
/// next device first with a probability below 1e-6); every device has weight 0, so `get_paths`
/// lists replicas in devid order.
#[derive(Debug)]
pub struct Harness {
    /// The tracker.
    pub tracker: FakeTracker,
    /// Its model.
    pub model: Arc<Model>,
    /// The storage nodes; node `i` holds device `i + 1`.
    pub nodes: Vec<FaultNode>,
}

impl Harness {
    /// Starts the tracker and `n` nodes (at most 3: free space is spread by factors of 10^6).
    pub async fn start(n: usize) -> Self {
        assert!((1..=3).contains(&n), "1 to 3 nodes");
        let model = Arc::new(Model::new());
        model.create_domain(DOMAIN).unwrap();
        model.create_class(DOMAIN, PLAIN_CLASS, 2, None).unwrap();
        model
            .create_class(DOMAIN, MD5_CLASS, 2, Some("MD5"))
            .unwrap();
        let mut nodes = Vec::new();
        for i in 0..n {
            // One loopback address per host: the tracker refuses two hosts with the same IP.
            let node = FaultNode::start(&format!("127.0.0.{}", i + 1))
                .await
                .unwrap();
            let hostid = model
                .add_host(HostSpec::new(format!("node{i}"), node.ip(), node.port()))
                .unwrap();
            let free = 10u64.pow(15 - 6 * i as u32);
            let devid = i as u64 + 1;
            model
                .add_device(
                    DeviceSpec::new(devid, hostid)
                        .weight(0)
                        .space_mb(Some(free), Some(0)),
                )
                .unwrap();
            nodes.push(node);
        }
        let tracker = FakeTracker::start(model.clone()).await.unwrap();
        Self {
            tracker,
            model,
            nodes,
        }
    }

    /// A client builder for the tracker and domain, lenient keys, short storage timeouts.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .trackers([self.tracker.addr().to_string()])
            .domain(DOMAIN)
            .key_policy(KeyPolicy::Lenient)
            .storage_connect_timeout(Duration::from_secs(2))
            .storage_io_timeout(Duration::from_secs(2))
            .storage_response_timeout(Duration::from_secs(2))
            .no_devices_retry(1, Duration::from_millis(10))
    }

    /// A client with [`builder`](Self::builder)'s settings.
    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// The node holding device `devid`.
    pub fn node(&self, devid: u64) -> &FaultNode {
        &self.nodes[devid as usize - 1]
    }

    /// The fid and devids of a committed key.
    pub fn replicas(&self, key: impl AsRef<[u8]>) -> (u64, Vec<u64>) {
        let rec = self.model.file(DOMAIN, key).expect("key is committed");
        (rec.fid, rec.devids)
    }

    /// Copies a committed key to every other device, as replication would.
    pub fn replicate(&self, key: impl AsRef<[u8]>) {
        let (fid, devids) = self.replicas(key);
        let src = devids[0];
        let data: Bytes = self
            .node(src)
            .file(&fid_path(src, fid))
            .expect("replica on disk");
        for devid in 1..=self.nodes.len() as u64 {
            if !devids.contains(&devid) {
                self.node(devid).insert(&fid_path(devid, fid), data.clone());
                self.model.add_replica(fid, devid).unwrap();
            }
        }
    }
}

/// The URL path of `fid` on device `devid`, in the tracker's layout (`/dev1/0/000/000/0000000001.fid`).
pub fn fid_path(devid: u64, fid: u64) -> String {
    let n = format!("{fid:010}");
    let len = n.len();
    format!(
        "/dev{devid}/{}/{}/{}/{n}.fid",
        &n[..len - 9],
        &n[len - 9..len - 6],
        &n[len - 6..len - 3]
    )
}

/// `len` bytes of a pattern that does not repeat with any power-of-two period, so a misplaced
/// chunk changes the content.
pub fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8) ^ (i >> 16)) as u8)
        .collect::<Vec<u8>>()
        .into()
}
