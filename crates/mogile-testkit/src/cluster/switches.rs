//! Stopping and restarting the cluster's servers through their fault switches.

use std::sync::atomic::Ordering;

use super::TestCluster;
use super::error::ClusterError;
use crate::storage::StorageNode;
use crate::tracker::FakeTracker;

impl TestCluster {
    /// Tracker `index` (in the order of [`Self::tracker_addrs`]), for its fault switches.
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn tracker(&self, index: usize) -> Result<&FakeTracker, ClusterError> {
        self.inner
            .trackers
            .get(index)
            .ok_or(ClusterError::UnknownServer {
                kind: "tracker",
                index,
            })
    }

    /// Storage node `index` (see [`ClusterDevice::node`](super::ClusterDevice::node)), for its
    /// fault switches.
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn node(&self, index: usize) -> Result<&StorageNode, ClusterError> {
        self.node_entry(index).map(|n| &n.node)
    }

    /// The storage node holding device `devid`, for its fault switches.
    ///
    /// # Errors
    /// [`ClusterError::UnknownDevice`].
    pub fn node_for_device(&self, devid: u64) -> Result<&StorageNode, ClusterError> {
        let index = self.device(devid)?.node;
        self.node(index)
    }

    /// Kills tracker `index`: its listener stays bound but every connection is refused (reset),
    /// open ones included, as [`FakeTracker::kill`] does.
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn kill_tracker(&self, index: usize) -> Result<(), ClusterError> {
        self.tracker(index)?.kill();
        Ok(())
    }

    /// Brings tracker `index` back on the same port ([`FakeTracker::restart`]).
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn restart_tracker(&self, index: usize) -> Result<(), ClusterError> {
        self.tracker(index)?.restart();
        Ok(())
    }

    /// Kills storage node `index`: it resets every new connection
    /// ([`StorageNode::set_refusing`]) and replication neither reads from nor copies to it. The
    /// model is left alone, as a tracker whose monitor has not noticed yet: `create_open` and
    /// `get_paths` keep handing out its URLs (mark its host or devices down through
    /// [`Self::model`] to change that).
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn kill_node(&self, index: usize) -> Result<(), ClusterError> {
        let entry = self.node_entry(index)?;
        entry.down.store(true, Ordering::SeqCst);
        entry.node.set_refusing(true);
        Ok(())
    }

    /// Brings storage node `index` back after [`Self::kill_node`].
    ///
    /// # Errors
    /// [`ClusterError::UnknownServer`].
    pub fn restart_node(&self, index: usize) -> Result<(), ClusterError> {
        let entry = self.node_entry(index)?;
        entry.node.set_refusing(false);
        entry.down.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn node_entry(&self, index: usize) -> Result<&super::NodeEntry, ClusterError> {
        self.inner
            .nodes
            .get(index)
            .ok_or(ClusterError::UnknownServer {
                kind: "storage node",
                index,
            })
    }
}
