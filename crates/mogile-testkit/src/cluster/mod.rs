//! A whole local MogileFS cluster for tests (in progress: the parts that do not depend on the fake
//! tracker and the storage node yet).

#![allow(dead_code)] // the users of these helpers arrive with `TestCluster`

mod disk;
mod error;
mod placement;

pub use error::ClusterError;
