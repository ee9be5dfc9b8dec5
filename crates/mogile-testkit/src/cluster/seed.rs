//! Seeding: committing files straight into the model and the nodes' directories, without the
//! tracker round trips, for tests that need many files (listings) or a known starting state.

use super::error::ClusterError;
use super::{TestCluster, disk, placement, setup};

impl TestCluster {
    /// Stores `bytes` under `key` in the cluster's domain as if uploaded, closed and replicated:
    /// the replicas are written to `mindevcount` devices of `class` (`None`: `default`), chosen
    /// like replication chooses them, and the file is committed in the model, replacing an
    /// existing key (the old fid goes to the delete queue). Returns the new fid.
    ///
    /// Faster than a real upload (no HTTP, no size check), for listings of thousands of keys. No
    /// checksum is recorded, even in an MD5 class. The file is visible in the model a moment before
    /// its replicas are on disk, so seed before starting the clients under test.
    ///
    /// # Errors
    /// [`ClusterError::Register`] when the model refuses (unknown class); [`ClusterError::Config`]
    /// when no device can take the file; i/o errors writing the replicas.
    pub async fn seed(
        &self,
        key: impl AsRef<[u8]>,
        class: Option<&str>,
        bytes: impl AsRef<[u8]>,
    ) -> Result<u64, ClusterError> {
        let inner = &self.inner;
        let class_name = class.unwrap_or("default");
        let want = setup::mindevcount(&inner.model, inner.domain.as_bytes(), class_name.as_bytes());
        let devids = placement::destinations(&inner.candidates(), &[], want as usize);
        if devids.is_empty() {
            return Err(ClusterError::Config(
                "no writable device to seed a file on".to_owned(),
            ));
        }
        let bytes = bytes.as_ref();
        let fid = setup::insert_file(
            &inner.model,
            &inner.domain,
            key.as_ref(),
            class,
            bytes.len() as u64,
            &devids,
        )?;
        for devid in devids {
            if let Some(path) = inner.replica_path(devid, fid) {
                disk::write_replica(&path, bytes).await?;
            }
        }
        Ok(fid)
    }
}
