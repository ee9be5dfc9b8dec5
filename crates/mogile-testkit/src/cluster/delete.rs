//! The delete worker: removing from the nodes' directories the replicas of files the model queued
//! for deletion.

use super::error::ClusterError;
use super::{Inner, TestCluster, disk};

impl TestCluster {
    /// Removes from the nodes' directories the replicas of every file the model has queued for
    /// deletion since the last call (deleted keys, keys replaced by a newer upload, failed or
    /// abandoned uploads), as a real tracker's delete worker does. Returns how many replica files
    /// were removed; replicas already gone are skipped.
    ///
    /// This drains [`Model::take_deleted`](crate::tracker::Model::take_deleted). The background
    /// replication task (if any) calls it before each round.
    ///
    /// # Errors
    /// An i/o error other than "not found" while removing a file.
    pub async fn purge_deleted(&self) -> Result<usize, ClusterError> {
        self.inner.purge_deleted().await
    }
}

impl Inner {
    pub(super) async fn purge_deleted(&self) -> Result<usize, ClusterError> {
        let mut removed = 0;
        for file in self.model.take_deleted() {
            for devid in file.devids {
                let Some(path) = self.replica_path(devid, file.fid) else {
                    continue;
                };
                if disk::remove_if_present(&path).await? {
                    tracing::debug!(fid = file.fid, devid, "deleted replica removed");
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// One round of the background task: the delete worker, then replication. Returns the number
    /// of copies made.
    pub(super) async fn background_round(&self) -> Result<usize, ClusterError> {
        self.purge_deleted().await?;
        Ok(self.replicate_all().await?.copies)
    }
}
