//! The in-memory cluster state one or more fake trackers serve: domains, classes, hosts, devices,
//! files and open uploads.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::spec::{
    DeletedFile, DeviceSpec, DeviceState, FileRecord, HostSpec, ModelError, valid_host_status,
};
use super::wire::Reply;

pub(crate) struct Domain {
    pub(crate) name: Vec<u8>,
    pub(crate) classes: BTreeMap<u64, Class>,
    pub(crate) next_classid: u64,
}

pub(crate) struct Class {
    pub(crate) name: Vec<u8>,
    pub(crate) mindevcount: i64,
    pub(crate) replpolicy: String,
    /// `MD5` or `SHA-1`; `None` is `NONE`.
    pub(crate) hashtype: Option<&'static str>,
}

pub(crate) struct Host {
    pub(crate) name: Vec<u8>,
    pub(crate) ip: Vec<u8>,
    pub(crate) http_port: Vec<u8>,
    pub(crate) http_get_port: Vec<u8>,
    pub(crate) altip: Vec<u8>,
    pub(crate) altmask: Vec<u8>,
    pub(crate) status: Vec<u8>,
}

pub(crate) struct Device {
    pub(crate) hostid: u64,
    pub(crate) state: DeviceState,
    pub(crate) weight: i64,
    pub(crate) mb_total: Option<u64>,
    pub(crate) mb_used: Option<u64>,
}

impl Device {
    pub(crate) fn mb_free(&self) -> Option<u64> {
        Some(self.mb_total?.saturating_sub(self.mb_used.unwrap_or(0)))
    }
}

pub(crate) struct File {
    pub(crate) dmid: u64,
    pub(crate) key: Vec<u8>,
    pub(crate) classid: u64,
    pub(crate) length: u64,
    pub(crate) devids: Vec<u64>,
    /// (hash name, raw digest).
    pub(crate) checksum: Option<(&'static str, Vec<u8>)>,
}

pub(crate) struct TempFile {
    pub(crate) dmid: u64,
    pub(crate) key: Vec<u8>,
    pub(crate) classid: u64,
    pub(crate) devids: Vec<u64>,
    pub(crate) created: Instant,
}

/// Everything behind the model's lock.
pub(crate) struct State {
    pub(crate) domains: BTreeMap<u64, Domain>,
    pub(crate) hosts: BTreeMap<u64, Host>,
    pub(crate) devices: BTreeMap<u64, Device>,
    pub(crate) files: BTreeMap<u64, File>,
    pub(crate) keys: BTreeMap<(u64, Vec<u8>), u64>,
    pub(crate) temp: BTreeMap<u64, TempFile>,
    pub(crate) settings: BTreeMap<String, String>,
    pub(crate) deleted: Vec<DeletedFile>,
    pub(crate) next_fid: u64,
    pub(crate) next_dmid: u64,
    pub(crate) next_hostid: u64,
    pub(crate) temp_file_ttl: Duration,
    pub(crate) default_mindevcount: i64,
    pub(crate) rng: StdRng,
    /// `get_paths` lists replicas in device id order instead of the weighted draw.
    pub(crate) fixed_path_order: bool,
}

/// Builds a [`Model`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ModelBuilder {
    default_mindevcount: i64,
    temp_file_ttl: Duration,
    seed: u64,
}

impl ModelBuilder {
    /// The `mindevcount` of every domain's `default` class (tracker option `default_mindevcount`, 2).
    pub fn default_mindevcount(mut self, n: u32) -> Self {
        self.default_mindevcount = i64::from(n);
        self
    }

    /// How long an open upload lives before `create_close` finds it reaped (default 3600 s).
    pub fn temp_file_ttl(mut self, ttl: Duration) -> Self {
        self.temp_file_ttl = ttl;
        self
    }

    /// The seed of the random draws (device choice, path order), so runs are repeatable.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Builds the empty model.
    pub fn build(self) -> Model {
        let mut settings = BTreeMap::new();
        settings.insert("schema_version".to_owned(), "17".to_owned());
        Model {
            state: Mutex::new(State {
                domains: BTreeMap::new(),
                hosts: BTreeMap::new(),
                devices: BTreeMap::new(),
                files: BTreeMap::new(),
                keys: BTreeMap::new(),
                temp: BTreeMap::new(),
                settings,
                deleted: Vec::new(),
                next_fid: 1,
                next_dmid: 1,
                next_hostid: 1,
                temp_file_ttl: self.temp_file_ttl,
                default_mindevcount: self.default_mindevcount,
                rng: StdRng::seed_from_u64(self.seed),
                fixed_path_order: false,
            }),
        }
    }
}

/// The shared in-memory state of a fake MogileFS cluster. Several [`FakeTracker`](super::FakeTracker)s
/// may serve one `Model` (wrap it in an `Arc`).
///
/// The setup methods run the same code as the corresponding admin commands and fail the same way.
pub struct Model {
    state: Mutex<State>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Model")
            .field("domains", &st.domains.len())
            .field("hosts", &st.hosts.len())
            .field("devices", &st.devices.len())
            .field("files", &st.files.len())
            .field("temp_files", &st.temp.len())
            .finish()
    }
}

impl Default for Model {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl Model {
    /// An empty model with default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for a model with non-default settings.
    pub fn builder() -> ModelBuilder {
        ModelBuilder {
            default_mindevcount: 2,
            temp_file_ttl: Duration::from_secs(3600),
            seed: 0,
        }
    }

    /// Locks the state. A panic while holding the lock cannot leave it half-updated in a way that
    /// matters to a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a domain (with its implicit `default` class), like `create_domain`.
    pub fn create_domain(&self, name: &str) -> Result<(), ModelError> {
        Ok(self.lock().create_domain(name.as_bytes())?)
    }

    /// Creates a class, like `create_class`; `hashtype` is `MD5`, `SHA-1` or `NONE`.
    pub fn create_class(
        &self,
        domain: &str,
        class: &str,
        mindevcount: u32,
        hashtype: Option<&str>,
    ) -> Result<(), ModelError> {
        let hashtype = hashtype.map(str::as_bytes);
        Ok(self.lock().upsert_class(
            domain.as_bytes(),
            class.as_bytes(),
            i64::from(mindevcount),
            b"",
            hashtype,
            false,
        )?)
    }

    /// Registers a storage host and returns its id.
    pub fn add_host(&self, spec: HostSpec) -> Result<u64, ModelError> {
        Ok(self.lock().add_host(spec)?)
    }

    /// Registers a device.
    pub fn add_device(&self, spec: DeviceSpec) -> Result<(), ModelError> {
        Ok(self.lock().add_device(spec)?)
    }

    /// Changes a device's state (no `dead` -> `alive` check: this is the test's hand, not `set_state`).
    pub fn set_device_state(&self, devid: u64, state: DeviceState) -> Result<(), ModelError> {
        let mut st = self.lock();
        let dev = st
            .devices
            .get_mut(&devid)
            .ok_or_else(|| Reply::err("no_device"))?;
        dev.state = state;
        Ok(())
    }

    /// Makes `get_paths` list a file's replicas in device id order (lowest first), instead of
    /// the tracker's weighted random draw, so a test or benchmark knows which replica a reader
    /// tries first. Down devices still come last, as on a real tracker.
    pub fn set_fixed_path_order(&self, on: bool) {
        self.lock().fixed_path_order = on;
    }

    /// Changes a device's space figures (what the monitor would have observed).
    pub fn set_device_space_mb(
        &self,
        devid: u64,
        total: Option<u64>,
        used: Option<u64>,
    ) -> Result<(), ModelError> {
        let mut st = self.lock();
        let dev = st
            .devices
            .get_mut(&devid)
            .ok_or_else(|| Reply::err("no_device"))?;
        dev.mb_total = total;
        dev.mb_used = used;
        Ok(())
    }

    /// Changes a host's status (`alive`, `down`, `dead`, `readonly`).
    pub fn set_host_status(&self, hostid: u64, status: &str) -> Result<(), ModelError> {
        if !valid_host_status(status.as_bytes()) {
            return Err(Reply::err("unknown_state").into());
        }
        let mut st = self.lock();
        let host = st
            .hosts
            .get_mut(&hostid)
            .ok_or_else(|| Reply::err("host_not_found"))?;
        host.status = status.as_bytes().to_vec();
        Ok(())
    }

    /// The replication hook: records that device `devid` now holds a copy of `fid` (devcount grows).
    pub fn add_replica(&self, fid: u64, devid: u64) -> Result<(), ModelError> {
        let mut st = self.lock();
        if !st.devices.contains_key(&devid) {
            return Err(Reply::err("no_device").into());
        }
        let file = st
            .files
            .get_mut(&fid)
            .ok_or_else(|| Reply::err("unknown_fid"))?;
        if let Err(pos) = file.devids.binary_search(&devid) {
            file.devids.insert(pos, devid);
        }
        Ok(())
    }

    /// Forgets that device `devid` holds a copy of `fid`.
    pub fn remove_replica(&self, fid: u64, devid: u64) -> Result<(), ModelError> {
        let mut st = self.lock();
        let file = st
            .files
            .get_mut(&fid)
            .ok_or_else(|| Reply::err("unknown_fid"))?;
        file.devids.retain(|&d| d != devid);
        Ok(())
    }

    /// The committed file under `domain`/`key`.
    pub fn file(&self, domain: &str, key: impl AsRef<[u8]>) -> Option<FileRecord> {
        let st = self.lock();
        let dmid = st.dmid(domain.as_bytes())?;
        let fid = *st.keys.get(&(dmid, key.as_ref().to_vec()))?;
        st.file_record(fid)
    }

    /// Every committed file, by ascending fid.
    pub fn files(&self) -> Vec<FileRecord> {
        let st = self.lock();
        st.files
            .keys()
            .filter_map(|&fid| st.file_record(fid))
            .collect()
    }

    /// The number of open uploads (temp files).
    pub fn temp_file_count(&self) -> usize {
        self.lock().temp.len()
    }

    /// Takes the files queued for deletion since the last call (the delete worker's queue).
    pub fn take_deleted(&self) -> Vec<DeletedFile> {
        std::mem::take(&mut self.lock().deleted)
    }

    /// A server setting, as `server_setting` reports it.
    pub fn setting(&self, key: &str) -> Option<String> {
        self.lock().settings.get(key).cloned()
    }
}

impl State {
    /// The next auto-increment fid (skipping fids taken by explicit `fid=` uploads).
    pub(crate) fn alloc_fid(&mut self) -> u64 {
        while self.files.contains_key(&self.next_fid) || self.temp.contains_key(&self.next_fid) {
            self.next_fid += 1;
        }
        self.next_fid += 1;
        self.next_fid - 1
    }

    pub(crate) fn dmid(&self, name: &[u8]) -> Option<u64> {
        self.domains
            .iter()
            .find(|(_, d)| d.name == name)
            .map(|(&id, _)| id)
    }

    pub(crate) fn classid(&self, dmid: u64, name: &[u8]) -> Option<u64> {
        let dom = self.domains.get(&dmid)?;
        dom.classes
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(&id, _)| id)
    }

    pub(crate) fn class(&self, dmid: u64, classid: u64) -> Option<&Class> {
        self.domains.get(&dmid)?.classes.get(&classid)
    }

    pub(crate) fn hostid_by_name(&self, name: &[u8]) -> Option<u64> {
        self.hosts
            .iter()
            .find(|(_, h)| h.name == name)
            .map(|(&id, _)| id)
    }

    pub(crate) fn file_record(&self, fid: u64) -> Option<FileRecord> {
        let f = self.files.get(&fid)?;
        Some(FileRecord {
            fid,
            domain: self
                .domains
                .get(&f.dmid)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            key: f.key.clone(),
            class: self
                .class(f.dmid, f.classid)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            length: f.length,
            devids: f.devids.clone(),
            checksum: f
                .checksum
                .as_ref()
                .map(|(name, raw)| format!("{name}:{}", hex::encode(raw))),
        })
    }

    /// Removes a file from the namespace and queues its copies for deletion.
    pub(crate) fn delete_file(&mut self, fid: u64) {
        if let Some(f) = self.files.remove(&fid) {
            self.keys.remove(&(f.dmid, f.key));
            self.deleted.push(DeletedFile {
                fid,
                devids: f.devids,
            });
        }
    }
}
