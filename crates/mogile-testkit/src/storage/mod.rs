//! A test storage node and a raw-TCP HTTP fault peer.
//!
//! [`StorageNode`] behaves like Perlbal-mogstored (the captures in the project's conformance
//! material) over a local directory, with fault switches. [`FaultPeer`] is a scripted raw TCP
//! peer for what no real server does: endless bodies, huge headers, wrong lengths, and exact
//! request bytes.

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
