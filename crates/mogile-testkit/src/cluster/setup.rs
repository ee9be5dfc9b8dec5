//! The seam to the fake tracker and the storage node: every call the cluster makes into
//! `crate::tracker` and `crate::storage` goes through here, so the rest of the module does not
//! depend on their details.

use std::net::SocketAddr;
use std::path::Path;
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
    // The model has no public getter for classes; its state is crate-visible.
    // (Hook wanted from the fake tracker: `Model::class_mindevcount(domain, class)`.)
    let st = model.lock();
    let found = st.dmid(domain).and_then(|dmid| {
        let classid = st.classid(dmid, class).unwrap_or(0);
        st.class(dmid, classid).map(|c| c.mindevcount)
    });
    found
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
    index: usize,
    name: &str,
    addr: SocketAddr,
) -> Result<u64, ClusterError> {
    // Like the real tracker, `Model::add_host` refuses a second host on an IP already registered
    // (`ERR dup`), but every node of the cluster listens on 127.0.0.1. So the host is registered
    // with a placeholder IP, then given the node's real address directly in the model's state.
    // (Hook wanted from the fake tracker: a `HostSpec` option that skips the duplicate-IP check.)
    let placeholder = format!("192.0.2.{}", index + 1);
    let hostid = model
        .add_host(HostSpec::new(name, placeholder, addr.port()))
        .map_err(register(format!("host {name}")))?;
    match model.lock().hosts.get_mut(&hostid) {
        Some(host) => host.ip = addr.ip().to_string().into_bytes(),
        None => {
            return Err(ClusterError::Register {
                what: format!("host {name}"),
                reason: "host vanished from the model".to_owned(),
            });
        }
    }
    Ok(hostid)
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

/// Whether the model lets the device receive copies: device `alive` on an `alive` host, as for
/// `create_open`.
pub(super) fn device_writable(model: &Model, devid: u64) -> bool {
    // The model has no public getter for states; the fields are crate-visible.
    // (Hook wanted from the fake tracker: `Model::device_state(devid)` / `host_status(hostid)`.)
    let st = model.lock();
    st.devices.get(&devid).is_some_and(|dev| {
        dev.state == DeviceState::Alive
            && st
                .hosts
                .get(&dev.hostid)
                .is_some_and(|h| h.status == b"alive")
    })
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
