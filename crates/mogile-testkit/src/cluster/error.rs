//! Errors of the local test cluster.

use std::io;
use std::path::PathBuf;

/// Why a [`TestCluster`](super::TestCluster) could not start or carry out a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A builder setting is out of range (no trackers, no nodes, more mindevcount than devices, ...).
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    /// A temporary directory, device directory or replica file could not be created, read or written.
    #[error("i/o error on {path}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A fake tracker or storage node could not be started.
    #[error("cannot start {what}")]
    Start {
        /// Which server (`tracker 0`, `storage node 2`, ...).
        what: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The model refused a registration (domain, class, host or device).
    #[error("cannot register {what} in the model: {reason}")]
    Register {
        /// What was being registered.
        what: String,
        /// The model's answer.
        reason: String,
    },
    /// No committed file has this key in the cluster's domain.
    #[error("no file with key {key:?} in the cluster's domain")]
    UnknownKey {
        /// The key, lossily decoded.
        key: String,
    },
    /// The file exists but has no replica on that device.
    #[error("file {fid} has no replica on device {devid}")]
    NoReplica {
        /// The file id.
        fid: u64,
        /// The device asked for.
        devid: u64,
    },
    /// The device id is not one of the cluster's devices.
    #[error("unknown device {devid}")]
    UnknownDevice {
        /// The device asked for.
        devid: u64,
    },
    /// There is no tracker or storage node with this index.
    #[error("no {kind} with index {index}")]
    UnknownServer {
        /// `tracker` or `storage node`.
        kind: &'static str,
        /// The index asked for.
        index: usize,
    },
    /// The replica is empty, so it cannot be corrupted without changing its length.
    #[error("replica of file {fid} on device {devid} is empty and cannot be corrupted in place")]
    EmptyReplica {
        /// The file id.
        fid: u64,
        /// The device.
        devid: u64,
    },
}

impl ClusterError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the key or replica asked for does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::UnknownKey { .. }
                | Self::NoReplica { .. }
                | Self::UnknownDevice { .. }
                | Self::UnknownServer { .. }
        )
    }
}
