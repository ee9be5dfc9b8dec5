//! A whole local MogileFS cluster for tests: fake trackers sharing one model, directory-backed
//! storage nodes, registered hosts and devices, a domain and classes, and deterministic replication.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mogile_testkit::cluster::ClusterError> {
//! use mogile_testkit::TestCluster;
//!
//! let cluster = TestCluster::builder()
//!     .trackers(2)
//!     .storage_nodes(2)
//!     .devices_per_node(2)
//!     .domain("testdom")
//!     .start()
//!     .await?;
//! let trackers: Vec<String> = cluster.tracker_addrs(); // ["127.0.0.1:41234", ...]
//! assert_eq!(trackers.len(), 2);
//! assert_eq!(cluster.devices().len(), 4);
//! // ... store files through a client pointed at `trackers` and `cluster.domain()` ...
//! cluster.replicate_all().await?; // every file now has its class's mindevcount copies
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Replication
//! As on a real 2.73 tracker, a file has one replica right after `create_close`, so `get_paths`
//! returns one path. [`TestCluster::replicate_all`] then copies every under-replicated file to its
//! class's `mindevcount` devices (distinct devices, distinct hosts first) and records the copies in
//! the model. With [`TestClusterBuilder::background_replication`] a task does the same after a
//! delay, and [`TestCluster::replication_settled`] is the hook tests wait on (never a sleep).
//! [`TestCluster::purge_deleted`] is the delete worker (the background task runs it too).
//!
//! # Faults
//! [`TestCluster::tracker`] and [`TestCluster::node`] give each server with all its fault
//! switches; [`kill_tracker`](TestCluster::kill_tracker), [`kill_node`](TestCluster::kill_node)
//! and their `restart_*` counterparts are shorthands. [`corrupt_replica`](TestCluster::corrupt_replica)
//! and [`remove_replica`](TestCluster::remove_replica) damage one replica on disk.
//!
//! # Time
//! The cluster does file I/O on tokio's blocking pool: use real time, not a paused clock, with it.

mod builder;
mod delete;
mod disk;
mod error;
mod faults;
mod placement;
mod replicate;
mod seed;
mod setup;
mod switches;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use builder::TestClusterBuilder;
pub use error::ClusterError;
pub use replicate::ReplicationReport;

use crate::storage::StorageNode;
use crate::tracker::{FakeTracker, Model};

/// A running local cluster. Dropping it stops every server and removes the nodes' directories.
///
/// See the [module documentation](self) for an example.
#[derive(Debug)]
pub struct TestCluster {
    inner: Arc<Inner>,
    background: Option<replicate::Background>,
}

/// What the background replication task shares with the cluster handle.
#[derive(Debug)]
struct Inner {
    model: Arc<Model>,
    trackers: Vec<FakeTracker>,
    nodes: Vec<NodeEntry>,
    devices: Vec<ClusterDevice>,
    domain: String,
    plain_class: String,
    md5_class: String,
    /// Serialises replication rounds (explicit calls and the background task).
    replication: tokio::sync::Mutex<()>,
}

/// A storage node of the cluster with the directory it serves (removed when the cluster drops).
#[derive(Debug)]
struct NodeEntry {
    node: StorageNode,
    /// Set by [`TestCluster::kill_node`]: replication neither reads from nor writes to the node.
    down: std::sync::atomic::AtomicBool,
    // Declared after `node` so the node stops before its directory goes away.
    dir: tempfile::TempDir,
}

/// One device of the cluster, as registered in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterDevice {
    /// The device id (`/dev<devid>/` on its node).
    pub devid: u64,
    /// The id of the host (storage node) holding it.
    pub hostid: u64,
    /// The host's name in the model.
    pub hostname: String,
    /// The index of its node in [`TestCluster::nodes`].
    pub node: usize,
    /// The node's HTTP address (its `hostip:http_port`).
    pub http_addr: SocketAddr,
    /// The device's directory on disk (`<node dir>/dev<devid>`).
    pub dir: PathBuf,
}

impl TestCluster {
    /// Name of the plain class the cluster creates (`mindevcount` 2, no hashtype).
    pub const PLAIN_CLASS: &'static str = "c2";
    /// Name of the class the cluster creates with `hashtype=MD5` (`mindevcount` 2).
    pub const MD5_CLASS: &'static str = "md5";
    /// The domain created when the builder is not given one.
    pub const DEFAULT_DOMAIN: &'static str = "testdom";

    /// A builder with the defaults: 2 trackers, 3 storage nodes with 2 devices each, domain
    /// `testdom`, classes [`PLAIN_CLASS`](Self::PLAIN_CLASS) and [`MD5_CLASS`](Self::MD5_CLASS),
    /// replication only on request.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder::default()
    }

    /// Starts a cluster with the [default settings](Self::builder) on the caller's runtime.
    ///
    /// # Errors
    /// See [`TestClusterBuilder::start`].
    pub async fn start() -> Result<Self, ClusterError> {
        Self::builder().start().await
    }

    /// The trackers' addresses as `host:port` strings, ready for a client's tracker list.
    #[must_use]
    pub fn tracker_addrs(&self) -> Vec<String> {
        self.tracker_socket_addrs()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The trackers' socket addresses.
    #[must_use]
    pub fn tracker_socket_addrs(&self) -> Vec<SocketAddr> {
        self.inner
            .trackers
            .iter()
            .map(setup::tracker_addr)
            .collect()
    }

    /// The domain the cluster created.
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.inner.domain
    }

    /// The plain class (`mindevcount` 2, no hashtype).
    #[must_use]
    pub fn plain_class(&self) -> &str {
        &self.inner.plain_class
    }

    /// The class with `hashtype=MD5` (`mindevcount` 2).
    #[must_use]
    pub fn md5_class(&self) -> &str {
        &self.inner.md5_class
    }

    /// The fake trackers, for their fault switches and counters.
    #[must_use]
    pub fn trackers(&self) -> &[FakeTracker] {
        &self.inner.trackers
    }

    /// The storage nodes, for their fault switches, in the order of [`ClusterDevice::node`].
    #[must_use]
    pub fn nodes(&self) -> Vec<&StorageNode> {
        self.inner.nodes.iter().map(|n| &n.node).collect()
    }

    /// The directory storage node `node` serves, if there is such a node.
    #[must_use]
    pub fn node_dir(&self, node: usize) -> Option<&Path> {
        self.inner.nodes.get(node).map(|n| n.dir.path())
    }

    /// Every device of the cluster, by devid.
    #[must_use]
    pub fn devices(&self) -> &[ClusterDevice] {
        &self.inner.devices
    }

    /// The model the trackers share (domains, classes, hosts, devices, files).
    #[must_use]
    pub fn model(&self) -> &Arc<Model> {
        &self.inner.model
    }

    /// Stops the background replication task (if any) and every server, and removes the nodes'
    /// directories. Dropping the cluster does the same without waiting.
    pub async fn shutdown(mut self) {
        if let Some(bg) = self.background.take() {
            bg.stop().await;
        }
        drop(self);
    }

    fn device(&self, devid: u64) -> Result<&ClusterDevice, ClusterError> {
        self.inner
            .devices
            .iter()
            .find(|d| d.devid == devid)
            .ok_or(ClusterError::UnknownDevice { devid })
    }
}
