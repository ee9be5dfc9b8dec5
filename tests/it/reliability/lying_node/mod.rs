//! The lying-node matrix (issue 12): every lie a storage node can tell, against every operation
//! that could believe it.
//!
//! Rows are lies ([`Lie`]), columns are operations; every cell builds its own small world (a fake
//! tracker, the lying node, honest `StorageNode`s), runs the operation once, then checks:
//!
//! - the operation ended `Ok` with exactly the bytes that were sent or stored, or in a typed
//!   error (`mogilefs::Error`; a panic fails the cell);
//! - the tracker never committed a file whose bytes differ from the body, and the key kept its
//!   previous content unless the store returned `Ok` or `OutcomeUnknown`;
//! - no connection on which the node lied was used again ([`LiarNode::reused`]).
//!
//! Each cell's outcome is recorded, and each row test prints its line of the table that
//! `docs/reliability.md` shows (`cargo test -p mogile-tests lying_node -- --nocapture`).
//! Timeouts are short (2 s) and never reached by a passing cell.

mod downloads;
mod peer;
mod stripes;
mod uploads;

use std::sync::Arc;
use std::time::Duration;

use mogile_testkit::storage::StorageNode;
use mogile_testkit::tracker::{DeviceSpec, FakeTracker, HostSpec, Model, fid_path};
use mogilefs::lower::storage::StorageError;
use mogilefs::{
    AttemptError, Client, ClientConfig, Error, KeyPolicy, StorageConfig, TrackerConfig,
};

pub(crate) use peer::{LiarNode, Lie};

const DOMAIN: &str = "d";
const KEY: &str = "k";
const TIMEOUT: Duration = Duration::from_secs(2);

/// One device of a world: the liar, or an honest node.
pub(crate) enum Dev {
    Liar,
    Honest,
}

/// A fake tracker over devices `1..`, in the order given: device 1 is the first upload
/// destination and the first path of `get_paths`.
pub(crate) struct World {
    pub(crate) model: Arc<Model>,
    _tracker: FakeTracker,
    pub(crate) liar: LiarNode,
    /// Honest nodes by devid (`None` for the liar's devid).
    pub(crate) nodes: Vec<Option<StorageNode>>,
    _dirs: Vec<tempfile::TempDir>,
    pub(crate) client: Client,
}

impl World {
    pub(crate) async fn start(devs: &[Dev]) -> Self {
        let model = Arc::new(Model::new());
        model.create_domain(DOMAIN).unwrap();
        let liar = LiarNode::start().await;
        let mut nodes = Vec::new();
        let mut dirs = Vec::new();
        for (i, dev) in devs.iter().enumerate() {
            let devid = i as u64 + 1;
            let port = match dev {
                Dev::Liar => {
                    nodes.push(None);
                    liar.peer.addr().port()
                }
                Dev::Honest => {
                    let dir = tempfile::tempdir().unwrap();
                    let node = StorageNode::start(dir.path()).await.unwrap();
                    node.add_device(devid as u32).await.unwrap();
                    let port = node.addr().port();
                    nodes.push(Some(node));
                    dirs.push(dir);
                    port
                }
            };
            let hostid = model
                .add_host(
                    HostSpec::new(format!("host{devid}"), "127.0.0.1", port).allow_shared_ip(true),
                )
                .unwrap();
            // Free space falls by orders of magnitude per device, so upload destinations come
            // in devid order; weight 0 keeps `get_paths` in devid order too.
            let free = 10u64.pow(15 - 4 * i as u32);
            model
                .add_device(
                    DeviceSpec::new(devid, hostid)
                        .weight(0)
                        .space_mb(Some(free), Some(0)),
                )
                .unwrap();
        }
        let tracker = FakeTracker::start(model.clone()).await.unwrap();
        let client = Client::builder()
            .trackers([tracker.addr().to_string()])
            .domain(DOMAIN)
            .config(ClientConfig {
                key_policy: KeyPolicy::Lenient,
                no_devices_retries: 0,
                no_devices_backoff: Duration::from_millis(1),
                ..ClientConfig::default()
            })
            .tracker(TrackerConfig {
                file_timeout: TIMEOUT,
                ..TrackerConfig::default()
            })
            .storage(StorageConfig {
                connect_timeout: TIMEOUT,
                idle_timeout: TIMEOUT,
                headers_timeout: TIMEOUT,
                ..StorageConfig::default()
            })
            .build()
            .unwrap();
        Self {
            model,
            _tracker: tracker,
            liar,
            nodes,
            _dirs: dirs,
            client,
        }
    }

    /// Another client of this world's tracker, with `config` over the world's own settings'
    /// timeouts.
    pub(crate) fn client_with(&self, config: ClientConfig) -> Client {
        Client::builder()
            .trackers([self._tracker.addr().to_string()])
            .domain(DOMAIN)
            .config(config)
            .storage(StorageConfig {
                connect_timeout: TIMEOUT,
                idle_timeout: TIMEOUT,
                headers_timeout: TIMEOUT,
                ..StorageConfig::default()
            })
            .build()
            .unwrap()
    }

    /// Places `data` as fid `fid`'s copy on `devid`.
    pub(crate) fn place(&self, devid: u64, fid: u64, data: &bytes::Bytes) {
        let path = fid_path(devid, fid);
        match &self.nodes[devid as usize - 1] {
            None => self.liar.put_file(&path, data.clone()),
            Some(node) => {
                let file = node.file_path(&path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, data).unwrap();
            }
        }
    }

    /// Commits `data` under the key on `devids`, as an earlier store would have; returns the fid.
    pub(crate) fn seed(&self, data: &bytes::Bytes, devids: &[u64]) -> u64 {
        let fid = self
            .model
            .insert_file(DOMAIN, KEY, None, data.len() as u64, devids)
            .unwrap();
        for &d in devids {
            self.place(d, fid, data);
        }
        fid
    }

    /// The bytes of fid `fid`'s copy on `devid`, as stored (not as served).
    pub(crate) fn stored(&self, devid: u64, fid: u64) -> Option<bytes::Bytes> {
        let path = fid_path(devid, fid);
        match &self.nodes[devid as usize - 1] {
            None => self.liar.file(&path),
            Some(node) => std::fs::read(node.file_path(&path)).ok().map(Into::into),
        }
    }

    /// What the key holds according to the tracker: `(fid, bytes of every copy)`.
    pub(crate) fn committed(&self) -> Option<(u64, Vec<Option<bytes::Bytes>>)> {
        let rec = self.model.file(DOMAIN, KEY)?;
        let copies = rec
            .devids
            .iter()
            .map(|&d| self.stored(d, rec.fid))
            .collect();
        Some((rec.fid, copies))
    }
}

/// A short, stable description of an error, for the table: the variant and what is under it.
pub(crate) fn describe(err: &Error) -> String {
    fn storage(e: &StorageError) -> String {
        let dbg = format!("{e:?}");
        dbg.split([' ', '{', '(']).next().unwrap_or("").to_owned()
    }
    match err {
        Error::Storage { source } => format!("Storage({})", storage(source)),
        Error::NoUsablePath { attempts, .. } => {
            let mut kinds: Vec<String> = attempts
                .iter()
                .map(|a| match &a.error {
                    AttemptError::Storage(e) => storage(e),
                    AttemptError::Length { .. } => "Length".to_owned(),
                    AttemptError::Range(_) => "Range".to_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            kinds.dedup();
            format!("NoUsablePath[{}]", kinds.join(","))
        }
        Error::UploadRejected { .. } => format!(
            "UploadRejected({})",
            err.code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default()
        ),
        Error::OutcomeUnknown { .. } => "OutcomeUnknown".to_owned(),
        other => {
            let dbg = format!("{other:?}");
            dbg.split([' ', '{', '(']).next().unwrap_or("").to_owned()
        }
    }
}

/// Prints one row of the table.
pub(crate) fn print_row(row: &str, cells: &[(&str, String)]) {
    let mut line = format!("| {row} |");
    for (_, outcome) in cells {
        line.push_str(&format!(" {outcome} |"));
    }
    let header: Vec<&str> = cells.iter().map(|(op, _)| *op).collect();
    eprintln!("lying-node matrix columns: {}", header.join(" | "));
    eprintln!("{line}");
}
