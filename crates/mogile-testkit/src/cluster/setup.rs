//! The seam to the fake tracker and the storage node: every call the cluster makes into
//! `crate::tracker` and `crate::storage` goes through here, so the rest of the module does not
//! depend on their details.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ClusterError;
use crate::storage::StorageNode;
use crate::tracker::{DeviceSpec, DeviceState, FakeTracker, FileRecord, HostSpec, Model};

/// The `mindevcount` of every domain's `default` class in the cluster's model.
pub(super) const DEFAULT_MINDEVCOUNT: u32 = 2;

/// A committed file and the number of copies its class wants.
#[derive(Debug, Clone)]
pub(super) struct FileView {
    pub(super) fid: u64,
    pub(super) length: u64,
    pub(super) devids: Vec<u64>,
    pub(super) mindevcount: u32,
    /// `HASH:hex`, when the file has a checksum.
    pub(super) checksum: Option<String>,
}

/// The `mindevcount` of `class` in `domain` as the model has it now (classes created or updated
/// through admin commands included); the `default` class's when the class is unknown.
pub(super) fn mindevcount(model: &Model, domain: &[u8], class: &[u8]) -> u32 {
    model
        .class_mindevcount(domain, class)
        .or_else(|| model.class_mindevcount(domain, "default"))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(DEFAULT_MINDEVCOUNT)
}

pub(super) fn new_model() -> Arc<Model> {
    Arc::new(
        Model::builder()
            .default_mindevcount(DEFAULT_MINDEVCOUNT)
            .build(),
    )
}

/// Starts a node over `dir` and creates its device directories (the node synthesises their
/// `usage` files, `protocol.md` 11.5).
pub(super) async fn start_node(
    dir: &Path,
    index: usize,
    devids: &[u64],
) -> Result<StorageNode, ClusterError> {
    let what = || format!("storage node {index}");
    let node = StorageNode::start(dir)
        .await
        .map_err(|e| ClusterError::Start {
            what: what(),
            source: Box::new(e),
        })?;
    for &devid in devids {
        let id = u32::try_from(devid)
            .map_err(|_| ClusterError::Config(format!("devid {devid} is out of range")))?;
        node.add_device(id)
            .await
            .map_err(|e| ClusterError::io(dir.join(format!("dev{devid}")), e))?;
    }
    Ok(node)
}

pub(super) fn node_addr(node: &StorageNode) -> SocketAddr {
    node.addr()
}

pub(super) async fn start_tracker(
    model: &Arc<Model>,
    index: usize,
) -> Result<FakeTracker, ClusterError> {
    FakeTracker::start(Arc::clone(model))
        .await
        .map_err(|e| ClusterError::Start {
            what: format!("tracker {index}"),
            source: Box::new(e),
        })
}

/// Where the replica of `fid` on `devid` lives under a node's directory: the node serves the
/// directory as its docroot, so this is the tracker's URL path below it.
pub(super) fn replica_path(docroot: &Path, devid: u64, fid: u64) -> PathBuf {
    docroot.join(crate::tracker::fid_path(devid, fid).trim_start_matches('/'))
}

pub(super) fn tracker_addr(tracker: &FakeTracker) -> SocketAddr {
    tracker.addr()
}

fn register(what: String) -> impl FnOnce(crate::tracker::ModelError) -> ClusterError {
    move |e| ClusterError::Register {
        what,
        reason: e.to_string(),
    }
}

pub(super) fn register_host(
    model: &Model,
    name: &str,
    addr: SocketAddr,
) -> Result<u64, ClusterError> {
    // Every node of the cluster listens on 127.0.0.1, which the real tracker (and `add_host` by
    // default) refuses for a second host (`ERR dup`).
    model
        .add_host(HostSpec::new(name, addr.ip().to_string(), addr.port()).allow_shared_ip(true))
        .map_err(register(format!("host {name}")))
}

pub(super) fn register_device(model: &Model, devid: u64, hostid: u64) -> Result<(), ClusterError> {
    model
        .add_device(DeviceSpec::new(devid, hostid))
        .map_err(register(format!("device {devid}")))
}

pub(super) fn register_domain(model: &Model, domain: &str) -> Result<(), ClusterError> {
    model
        .create_domain(domain)
        .map_err(register(format!("domain {domain}")))
}

pub(super) fn register_class(
    model: &Model,
    domain: &str,
    class: &str,
    mindevcount: u32,
    md5: bool,
) -> Result<(), ClusterError> {
    model
        .create_class(domain, class, mindevcount, md5.then_some("MD5"))
        .map_err(register(format!("class {class}")))
}

fn view(model: &Model, f: FileRecord) -> FileView {
    FileView {
        mindevcount: mindevcount(model, &f.domain, &f.class),
        fid: f.fid,
        length: f.length,
        devids: f.devids,
        checksum: f.checksum,
    }
}

/// Every committed file, by ascending fid.
pub(super) fn committed_files(model: &Model) -> Vec<FileView> {
    model.files().into_iter().map(|f| view(model, f)).collect()
}

pub(super) fn file_by_key(model: &Model, domain: &str, key: &[u8]) -> Option<FileView> {
    model.file(domain, key).map(|f| view(model, f))
}

/// Records a copy; `false` when the model no longer has the file (deleted meanwhile).
pub(super) fn add_replica(model: &Model, fid: u64, devid: u64) -> bool {
    model.add_replica(fid, devid).is_ok()
}

/// Whether the model lets device `devid` on host `hostid` receive copies: device `alive` on an
/// `alive` host, as for `create_open`.
pub(super) fn device_writable(model: &Model, devid: u64, hostid: u64) -> bool {
    model.device_state(devid) == Some(DeviceState::Alive)
        && model.host_status(hostid).as_deref() == Some("alive")
}

/// Commits a file in the model without an upload (see [`TestCluster::seed`](super::TestCluster::seed)).
pub(super) fn insert_file(
    model: &Model,
    domain: &str,
    key: &[u8],
    class: Option<&str>,
    length: u64,
    devids: &[u64],
) -> Result<u64, ClusterError> {
    model
        .insert_file(domain, key, class, length, devids)
        .map_err(register(format!("file {:?}", String::from_utf8_lossy(key))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_path_is_the_url_path_under_the_docroot() {
        assert_eq!(
            replica_path(Path::new("/tmp/node0"), 2, 148_056),
            Path::new("/tmp/node0/dev2/0/000/148/0000148056.fid")
        );
    }

    #[test]
    fn hosts_share_the_loopback_ip() {
        let model = new_model();
        let a = register_host(&model, "node0", "127.0.0.1:7500".parse().unwrap()).unwrap();
        let b = register_host(&model, "node1", "127.0.0.1:7501".parse().unwrap()).unwrap();
        register_device(&model, 1, a).unwrap();
        register_device(&model, 2, b).unwrap();
        assert!(device_writable(&model, 1, a));
        model.set_host_status(b, "down").unwrap();
        assert!(!device_writable(&model, 2, b));
        register_domain(&model, "d").unwrap();
        register_class(&model, "d", "three", 3, false).unwrap();
        assert_eq!(mindevcount(&model, b"d", b"three"), 3);
        assert_eq!(mindevcount(&model, b"d", b"unknown"), DEFAULT_MINDEVCOUNT);
    }
}
