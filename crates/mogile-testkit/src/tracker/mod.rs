//! A fake MogileFS 2.73 tracker for tests: a real TCP server on `127.0.0.1:0` backed by an in-memory
//! [`Model`], answering every 2.73 command with the real server's argument names, error codes,
//! validation order and quirks as the conformance captures show them, plus fault switches.
//!
//! What it does not do: replication (use [`Model::add_replica`]), the delete worker
//! ([`Model::take_deleted`] hands out its queue), `altmask` zone detection by client address (only
//! `zone=alt`), the out-of-order replies of trackers before 2.72, MKCOL of upload directories.

mod admin;
mod dispatch;
mod faults;
mod files;
mod handle;
mod hosts;
mod http;
mod inspect;
mod listing;
mod model;
mod placement;
mod server;
mod settings;
mod spec;
mod stats;
mod upload;
mod wire;

pub use faults::{ConnectionMode, Fault, FaultAction};
pub use handle::{FakeTracker, FakeTrackerBuilder};
pub use model::{Model, ModelBuilder};
pub use placement::fid_path;
pub use spec::{DeletedFile, DeviceSpec, DeviceState, FileRecord, HostSpec, ModelError};
pub use stats::WireLine;
