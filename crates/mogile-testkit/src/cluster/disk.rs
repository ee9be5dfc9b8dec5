//! The on-disk side of replicas: where a replica lives under a node's directory, and copying,
//! corrupting and removing it there.
//!
//! A storage node serves its directory as the docroot, so the replica of fid F on device D is the
//! file `<node dir>/dev<D>/<d1>/<d3a>/<d3b>/<fid10>.fid` (`protocol.md` 3 and 11.2), the same path
//! as in the URL the tracker hands out: [`fid_path`](crate::tracker::fid_path).

use std::path::{Path, PathBuf};

use super::error::ClusterError;

/// Copies one replica to another device's directory.
///
/// The bytes go to a temporary name beside the target and are renamed into place, so a reader
/// never sees a half-copied replica.
pub(crate) async fn copy_replica(src: &Path, dst: &Path) -> Result<u64, ClusterError> {
    if let Some(parent) = dst.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| ClusterError::io(parent, e))?;
    }
    let tmp = tmp_name(dst);
    let copied = tokio::fs::copy(src, &tmp)
        .await
        .map_err(|e| ClusterError::io(src, e))?;
    tokio::fs::rename(&tmp, dst)
        .await
        .map_err(|e| ClusterError::io(dst, e))?;
    Ok(copied)
}

/// Writes a new replica file (and its directories) in one go, through a temporary name.
pub(crate) async fn write_replica(dst: &Path, bytes: &[u8]) -> Result<(), ClusterError> {
    if let Some(parent) = dst.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| ClusterError::io(parent, e))?;
    }
    let tmp = tmp_name(dst);
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| ClusterError::io(&tmp, e))?;
    tokio::fs::rename(&tmp, dst)
        .await
        .map_err(|e| ClusterError::io(dst, e))
}

/// Flips the bits of the first byte of a replica: same length, different content, so only a
/// checksum can tell.
pub(crate) async fn corrupt(path: &Path) -> Result<bool, ClusterError> {
    let mut bytes = tokio::fs::read(path)
        .await
        .map_err(|e| ClusterError::io(path, e))?;
    let Some(first) = bytes.first_mut() else {
        return Ok(false);
    };
    *first ^= 0xff;
    tokio::fs::write(path, &bytes)
        .await
        .map_err(|e| ClusterError::io(path, e))?;
    Ok(true)
}

/// Deletes a replica file.
pub(crate) async fn remove(path: &Path) -> Result<(), ClusterError> {
    tokio::fs::remove_file(path)
        .await
        .map_err(|e| ClusterError::io(path, e))
}

/// Deletes a replica file if it exists; `Ok(false)` when there was none.
pub(crate) async fn remove_if_present(path: &Path) -> Result<bool, ClusterError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(ClusterError::io(path, e)),
    }
}

/// The MD5 of a replica file as lower-case hex, or `None` when it cannot be read.
pub(crate) async fn md5_hex(path: &Path) -> Option<String> {
    use md5::{Digest, Md5};
    use tokio::io::AsyncReadExt;

    let mut file = tokio::fs::File::open(path).await.ok()?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await.ok()?;
        if n == 0 {
            return Some(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The length of a replica file, or `None` when it is missing.
pub(crate) async fn len(path: &Path) -> Option<u64> {
    tokio::fs::metadata(path)
        .await
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

fn tmp_name(dst: &Path) -> PathBuf {
    let mut name = dst
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".replicating");
    dst.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copy_corrupt_remove() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("dev1/0/000/000/0000000001.fid");
        tokio::fs::create_dir_all(src.parent().unwrap())
            .await
            .unwrap();
        tokio::fs::write(&src, b"hello").await.unwrap();
        let dst = dir.path().join("dev2/0/000/000/0000000001.fid");
        assert_eq!(copy_replica(&src, &dst).await.unwrap(), 5);
        assert_eq!(tokio::fs::read(&dst).await.unwrap(), b"hello");
        assert!(!tmp_name(&dst).exists());
        assert_eq!(
            md5_hex(&dst).await.as_deref(),
            Some("5d41402abc4b2a76b9719d911017c592")
        );
        assert!(corrupt(&dst).await.unwrap());
        let bad = tokio::fs::read(&dst).await.unwrap();
        assert_eq!(bad.len(), 5);
        assert_ne!(bad, b"hello");
        remove(&dst).await.unwrap();
        assert_eq!(len(&dst).await, None);
        assert!(remove(&dst).await.is_err());
        assert!(!remove_if_present(&dst).await.unwrap());
        assert!(remove_if_present(&src).await.unwrap());
    }
}
