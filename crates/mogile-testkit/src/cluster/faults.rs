//! Faults on replicas for failover and checksum tests: find, corrupt or remove one replica's file.

use std::path::PathBuf;

use super::error::ClusterError;
use super::{TestCluster, disk, setup};

impl TestCluster {
    /// The file on disk that holds the replica of `key` (in the cluster's domain) on `devid`.
    ///
    /// # Errors
    /// [`ClusterError::UnknownKey`], [`ClusterError::UnknownDevice`], or
    /// [`ClusterError::NoReplica`] when the model lists no replica of the file on that device.
    pub fn replica_file(&self, key: impl AsRef<[u8]>, devid: u64) -> Result<PathBuf, ClusterError> {
        let key = key.as_ref();
        self.device(devid)?;
        let file =
            setup::file_by_key(&self.inner.model, &self.inner.domain, key).ok_or_else(|| {
                ClusterError::UnknownKey {
                    key: String::from_utf8_lossy(key).into_owned(),
                }
            })?;
        if !file.devids.contains(&devid) {
            return Err(ClusterError::NoReplica {
                fid: file.fid,
                devid,
            });
        }
        self.inner
            .replica_path(devid, file.fid)
            .ok_or(ClusterError::UnknownDevice { devid })
    }

    /// The devices holding a replica of `key` (in the cluster's domain), in the model's order.
    ///
    /// # Errors
    /// [`ClusterError::UnknownKey`].
    pub fn replica_devids(&self, key: impl AsRef<[u8]>) -> Result<Vec<u64>, ClusterError> {
        let key = key.as_ref();
        setup::file_by_key(&self.inner.model, &self.inner.domain, key)
            .map(|f| f.devids)
            .ok_or_else(|| ClusterError::UnknownKey {
                key: String::from_utf8_lossy(key).into_owned(),
            })
    }

    /// Corrupts the replica of `key` on `devid` in place: same length, first byte flipped, so only
    /// a checksum check can tell. The model still lists the replica.
    ///
    /// # Errors
    /// As [`Self::replica_file`]; [`ClusterError::EmptyReplica`] for an empty file; i/o errors.
    pub async fn corrupt_replica(
        &self,
        key: impl AsRef<[u8]>,
        devid: u64,
    ) -> Result<(), ClusterError> {
        let key = key.as_ref();
        let path = self.replica_file(key, devid)?;
        if disk::corrupt(&path).await? {
            Ok(())
        } else {
            let fid =
                setup::file_by_key(&self.inner.model, &self.inner.domain, key).map_or(0, |f| f.fid);
            Err(ClusterError::EmptyReplica { fid, devid })
        }
    }

    /// Deletes the replica file of `key` on `devid` from the node's directory. The model still
    /// lists the replica, so `get_paths` keeps handing out its URL and a reader gets a `404` there,
    /// as after a lost disk on a real cluster.
    ///
    /// # Errors
    /// As [`Self::replica_file`]; i/o errors (including a replica already removed).
    pub async fn remove_replica(
        &self,
        key: impl AsRef<[u8]>,
        devid: u64,
    ) -> Result<(), ClusterError> {
        let path = self.replica_file(key, devid)?;
        disk::remove(&path).await
    }
}
