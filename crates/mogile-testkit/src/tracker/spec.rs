//! The public value types of the model: errors, device states, host and device specs, file records.

use super::wire::Reply;

/// An error from a [`Model`](super::Model) setup or inspection method: the tracker error code and text the same
/// operation would produce on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model operation failed: {code}: {text}")]
#[non_exhaustive]
pub struct ModelError {
    /// The tracker error code, e.g. `domain_exists`.
    pub code: String,
    /// The error text.
    pub text: String,
}

impl From<Reply> for ModelError {
    fn from(reply: Reply) -> Self {
        match reply {
            Reply::Err { code, text } => Self {
                code: code.to_owned(),
                text,
            },
            Reply::Ok(_) => Self {
                code: "failure".to_owned(),
                text: "unexpected success".to_owned(),
            },
        }
    }
}

/// The state of a device, as `set_state`/`create_device` accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceState {
    /// Readable and writable.
    Alive,
    /// Permanently gone.
    Dead,
    /// Temporarily unavailable.
    Down,
    /// Readable, takes no new files.
    Readonly,
    /// Being emptied: readable, takes no new files.
    Drain,
}

impl DeviceState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alive => "alive",
            Self::Dead => "dead",
            Self::Down => "down",
            Self::Readonly => "readonly",
            Self::Drain => "drain",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &[u8]) -> Option<Self> {
        Some(match s {
            b"alive" => Self::Alive,
            b"dead" => Self::Dead,
            b"down" => Self::Down,
            b"readonly" => Self::Readonly,
            b"drain" => Self::Drain,
            _ => return None,
        })
    }
}

/// Valid host states.
pub(crate) fn valid_host_status(s: &[u8]) -> bool {
    matches!(s, b"alive" | b"dead" | b"down" | b"readonly")
}

/// A storage host to register with [`Model::add_host`](super::Model::add_host).
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub(crate) name: String,
    pub(crate) ip: String,
    pub(crate) http_port: u16,
    pub(crate) http_get_port: Option<u16>,
    pub(crate) altip: Option<String>,
    pub(crate) altmask: Option<String>,
    pub(crate) status: String,
    pub(crate) allow_shared_ip: bool,
}

impl HostSpec {
    /// A host named `name` reachable at `ip:http_port`, status `alive`.
    pub fn new(name: impl Into<String>, ip: impl Into<String>, http_port: u16) -> Self {
        Self {
            name: name.into(),
            ip: ip.into(),
            http_port,
            http_get_port: None,
            altip: None,
            altmask: None,
            status: "alive".to_owned(),
            allow_shared_ip: false,
        }
    }

    /// A separate port for reads (`get_paths` URLs use it).
    pub fn http_get_port(mut self, port: u16) -> Self {
        self.http_get_port = Some(port);
        self
    }

    /// The alternate IP (and its netmask) used for `zone=alt` requests.
    pub fn altip(mut self, altip: impl Into<String>, altmask: impl Into<String>) -> Self {
        self.altip = Some(altip.into());
        self.altmask = Some(altmask.into());
        self
    }

    /// The host status: `alive` (default), `down`, `dead` or `readonly`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = status.into();
        self
    }

    /// Whether [`Model::add_host`](super::Model::add_host) accepts this host on an IP another host
    /// already has (default `false`: refused with `dup`, as the real tracker's UNIQUE `hostip`
    /// does). Only the duplicate-IP check is skipped.
    ///
    /// A local test cluster needs this: all its storage nodes listen on 127.0.0.1, on different
    /// ports. It does not change the wire: `create_host`/`update_host` still answer `ERR dup`.
    pub fn allow_shared_ip(mut self, allow: bool) -> Self {
        self.allow_shared_ip = allow;
        self
    }
}

/// A device to register with [`Model::add_device`](super::Model::add_device).
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    pub(crate) devid: u64,
    pub(crate) hostid: u64,
    pub(crate) state: DeviceState,
    pub(crate) weight: i64,
    pub(crate) mb_total: Option<u64>,
    pub(crate) mb_used: Option<u64>,
}

impl DeviceSpec {
    /// Device `devid` on host `hostid`: alive, weight 100, 100 000 MB total, 0 MB used.
    pub fn new(devid: u64, hostid: u64) -> Self {
        Self {
            devid,
            hostid,
            state: DeviceState::Alive,
            weight: 100,
            mb_total: Some(100_000),
            mb_used: Some(0),
        }
    }

    /// The device state.
    pub fn state(mut self, state: DeviceState) -> Self {
        self.state = state;
        self
    }

    /// The read weight (`set_weight`).
    pub fn weight(mut self, weight: i64) -> Self {
        self.weight = weight;
        self
    }

    /// The space figures the monitor would report; `None` means "not yet known".
    pub fn space_mb(mut self, total: Option<u64>, used: Option<u64>) -> Self {
        self.mb_total = total;
        self.mb_used = used;
        self
    }
}

/// A committed file, as [`Model::file`](super::Model::file) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileRecord {
    /// The file id.
    pub fid: u64,
    /// The domain name.
    pub domain: Vec<u8>,
    /// The key.
    pub key: Vec<u8>,
    /// The class name.
    pub class: Vec<u8>,
    /// The length the tracker learned by HEAD at `create_close`.
    pub length: u64,
    /// The devices holding a copy, ascending.
    pub devids: Vec<u64>,
    /// The stored checksum as `HASH:hex`, if any.
    pub checksum: Option<String>,
}

/// A file removed from the namespace (deleted, replaced or abandoned) whose copies a delete worker
/// would now remove from the storage nodes; see [`Model::take_deleted`](super::Model::take_deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedFile {
    /// The file id.
    pub fid: u64,
    /// The devices that held (or were meant to hold) a copy.
    pub devids: Vec<u64>,
}
