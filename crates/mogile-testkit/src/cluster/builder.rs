//! [`TestClusterBuilder`]: the shape of a cluster, and starting it.

use std::sync::Arc;
use std::time::Duration;

use super::error::ClusterError;
use super::{ClusterDevice, Inner, NodeEntry, TestCluster, replicate, setup};

/// Builder for a [`TestCluster`]: [`TestCluster::builder`], the setters, then [`start`](Self::start).
#[derive(Debug, Clone)]
#[must_use]
pub struct TestClusterBuilder {
    trackers: usize,
    storage_nodes: usize,
    devices_per_node: usize,
    domain: String,
    plain_class: String,
    md5_class: String,
    mindevcount: u32,
    background_replication: Option<Duration>,
}

impl Default for TestClusterBuilder {
    fn default() -> Self {
        Self {
            trackers: 2,
            storage_nodes: 3,
            devices_per_node: 2,
            domain: TestCluster::DEFAULT_DOMAIN.to_owned(),
            plain_class: TestCluster::PLAIN_CLASS.to_owned(),
            md5_class: TestCluster::MD5_CLASS.to_owned(),
            mindevcount: 2,
            background_replication: None,
        }
    }
}

impl TestClusterBuilder {
    /// How many fake trackers share the model (default 2, at least 1).
    pub fn trackers(mut self, n: usize) -> Self {
        self.trackers = n;
        self
    }

    /// How many storage nodes (hosts) to start (default 3, at least 1).
    pub fn storage_nodes(mut self, n: usize) -> Self {
        self.storage_nodes = n;
        self
    }

    /// How many devices each node has (default 2, at least 1).
    pub fn devices_per_node(mut self, n: usize) -> Self {
        self.devices_per_node = n;
        self
    }

    /// The domain to create (default [`TestCluster::DEFAULT_DOMAIN`]).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// The name of the plain class (default [`TestCluster::PLAIN_CLASS`]).
    pub fn plain_class(mut self, class: impl Into<String>) -> Self {
        self.plain_class = class.into();
        self
    }

    /// The name of the class with `hashtype=MD5` (default [`TestCluster::MD5_CLASS`]).
    pub fn md5_class(mut self, class: impl Into<String>) -> Self {
        self.md5_class = class.into();
        self
    }

    /// The `mindevcount` of both classes (default 2, at least 1, at most the number of devices).
    pub fn mindevcount(mut self, n: u32) -> Self {
        self.mindevcount = n;
        self
    }

    /// Replicates in the background: every `delay`, a task copies the under-replicated files, as a
    /// real tracker's replication worker would (a real 2.73 tracker took about a second per file).
    /// Tests wait with [`TestCluster::replication_settled`]. Off by default: without it, files stay
    /// at one replica until [`TestCluster::replicate_all`].
    pub fn background_replication(mut self, delay: Duration) -> Self {
        self.background_replication = Some(delay);
        self
    }

    fn validate(&self) -> Result<(), ClusterError> {
        let bad = |msg: &str| Err(ClusterError::Config(msg.to_owned()));
        if self.trackers == 0 {
            return bad("at least one tracker is needed");
        }
        if self.storage_nodes == 0 || self.devices_per_node == 0 {
            return bad("at least one storage node with one device is needed");
        }
        if self.domain.is_empty() || self.plain_class.is_empty() || self.md5_class.is_empty() {
            return bad("domain and class names must not be empty");
        }
        if self.plain_class == self.md5_class || self.plain_class == "default" {
            return bad("the two class names must differ from each other and from `default`");
        }
        let devices = self.storage_nodes.saturating_mul(self.devices_per_node);
        if self.mindevcount == 0 || self.mindevcount as usize > devices {
            return bad("mindevcount must be between 1 and the number of devices");
        }
        if self.background_replication == Some(Duration::ZERO) {
            return bad("the background replication delay must not be zero");
        }
        Ok(())
    }

    /// Starts the cluster on the caller's runtime: the storage nodes (each over a new temporary
    /// directory with its `dev<N>` directories), the model with the hosts, devices, domain and
    /// classes registered, then the trackers, all on `127.0.0.1` port 0.
    ///
    /// # Errors
    /// [`ClusterError::Config`] for an invalid setting; otherwise the directory, server or
    /// registration that failed.
    pub async fn start(self) -> Result<TestCluster, ClusterError> {
        self.validate()?;
        let model = setup::new_model();
        let mut nodes = Vec::with_capacity(self.storage_nodes);
        let mut devices = Vec::new();
        for index in 0..self.storage_nodes {
            let dir = tempfile::Builder::new()
                .prefix(&format!("mogile-cluster-node{index}-"))
                .tempdir()
                .map_err(|e| ClusterError::io(std::env::temp_dir(), e))?;
            let devids = (0..self.devices_per_node)
                .map(|j| (index * self.devices_per_node + j + 1) as u64)
                .collect::<Vec<_>>();
            let node = setup::start_node(dir.path(), index, &devids).await?;
            let http_addr = setup::node_addr(&node);
            let hostname = format!("node{index}");
            let hostid = setup::register_host(&model, &hostname, http_addr)?;
            for devid in devids {
                setup::register_device(&model, devid, hostid)?;
                devices.push(ClusterDevice {
                    devid,
                    hostid,
                    hostname: hostname.clone(),
                    node: index,
                    http_addr,
                    dir: dir.path().join(format!("dev{devid}")),
                });
            }
            nodes.push(NodeEntry {
                node,
                down: false.into(),
                dir,
            });
        }
        setup::register_domain(&model, &self.domain)?;
        for (class, md5) in [(&self.plain_class, false), (&self.md5_class, true)] {
            setup::register_class(&model, &self.domain, class, self.mindevcount, md5)?;
        }

        let mut trackers = Vec::with_capacity(self.trackers);
        for index in 0..self.trackers {
            trackers.push(setup::start_tracker(&model, index).await?);
        }
        tracing::debug!(
            trackers = trackers.len(),
            nodes = nodes.len(),
            devices = devices.len(),
            domain = %self.domain,
            "test cluster started"
        );
        let inner = Arc::new(Inner {
            model,
            trackers,
            nodes,
            devices,
            domain: self.domain,
            plain_class: self.plain_class,
            md5_class: self.md5_class,
            replication: tokio::sync::Mutex::new(()),
        });
        let background = self
            .background_replication
            .map(|delay| replicate::Background::spawn(Arc::clone(&inner), delay));
        Ok(TestCluster { inner, background })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}

    #[test]
    fn cluster_and_its_futures_are_send_and_sync() {
        // Compile-time check: tests may share a cluster across tasks of a multi-threaded runtime.
        #[allow(dead_code)]
        fn check(cluster: &TestCluster) {
            send_sync(cluster);
            send_sync(&cluster.replicate_all());
            send_sync(&cluster.replication_settled());
            send_sync(&cluster.seed("k", None, b""));
            send_sync(&TestCluster::builder().start());
        }
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let b = TestCluster::builder;
        assert!(b().trackers(0).validate().is_err());
        assert!(b().storage_nodes(0).validate().is_err());
        assert!(b().devices_per_node(0).validate().is_err());
        assert!(b().domain("").validate().is_err());
        assert!(b().md5_class("c2").validate().is_err());
        assert!(b().mindevcount(0).validate().is_err());
        assert!(
            b().storage_nodes(1)
                .devices_per_node(2)
                .mindevcount(3)
                .validate()
                .is_err()
        );
        assert!(
            b().background_replication(Duration::ZERO)
                .validate()
                .is_err()
        );
        assert!(b().validate().is_ok());
    }
}
