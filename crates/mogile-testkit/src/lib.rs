#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! `mogile-testkit`: test doubles for MogileFS, faithful to MogileFS 2.73 as captured on the wire.
//!
//! - [`tracker`]: a fake tracker ([`tracker::FakeTracker`]) serving an in-memory [`tracker::Model`],
//!   with fault switches, counters and a log of the bytes it received.
//! - [`storage`]: a storage node ([`storage::StorageNode`]) that behaves like `mogstored` over a
//!   directory, with fault switches, and a scripted raw-TCP HTTP peer ([`storage::FaultPeer`]).
//! - [`cluster`]: a whole local cluster ([`TestCluster`]): fake trackers sharing one model, storage
//!   nodes, registered hosts, devices, domain and classes, and deterministic replication.
//! - [`trace`]: a `tracing` subscriber that records spans and events ([`trace::Recorder`]), for
//!   tests of what a client reports.
//! - `net` (Linux): loopback network conditions, such as an address whose connects hang
//!   (`net::HangingListener`).
//!
//! ```
//! use std::sync::Arc;
//! use mogile_testkit::tracker::{FakeTracker, Model};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = Arc::new(Model::new());
//! model.create_domain("testdom")?;
//! let tracker = FakeTracker::start(Arc::clone(&model)).await?;
//!
//! let mut conn = BufReader::new(tokio::net::TcpStream::connect(tracker.addr()).await?);
//! conn.get_mut().write_all(b"get_paths domain=testdom&key=nope\r\n").await?;
//! let mut line = String::new();
//! conn.read_line(&mut line).await?;
//! assert_eq!(line, "ERR unknown_key unknown_key\r\n");
//! assert_eq!(tracker.requests("get_paths"), 1);
//! # Ok(())
//! # }
//! ```

pub mod cluster;
pub mod data;
pub mod fs;
#[cfg(target_os = "linux")]
pub mod net;
pub mod storage;
pub mod trace;
pub mod tracker;

pub use cluster::TestCluster;
