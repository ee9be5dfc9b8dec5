//! A test storage node and a raw-TCP HTTP fault peer.
//!
//! [`StorageNode`] behaves like Perlbal-mogstored (the captures in the project's conformance
//! material) over a local directory, with fault switches. [`FaultPeer`] is a scripted raw TCP
//! peer for what no real server does: endless bodies, huge headers, wrong lengths, and exact
//! request bytes.
//!
//! ```
//! use mogile_testkit::storage::{Fault, FaultRule, StorageNode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let node = StorageNode::start(dir.path()).await?; // 127.0.0.1, port 0, this runtime
//! node.add_device(1).await?;
//! let url = node.url("/dev1/0/000/000/0000000001.fid"); // PUT/GET/HEAD/DELETE it over HTTP
//! assert!(url.starts_with("http://127.0.0.1:"));
//!
//! // The next two PUTs under /dev1/ fail with 507; everything else behaves.
//! node.inject(
//!     FaultRule::new(Fault::Status(507))
//!         .method(http::Method::PUT)
//!         .path("/dev1/")
//!         .times(2),
//! );
//! assert_eq!(node.request_count(), 0);
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod bandwidth;
mod fault;
mod faulty_body;
mod handler;
mod node;
mod peer;
mod response;

pub use fault::{Fault, FaultRule, RecordedRequest};
pub use node::StorageNode;
pub use peer::{FaultPeer, PeerConn};

#[cfg(test)]
mod tests;
