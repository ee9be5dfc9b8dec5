#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! A generic async connection pool: LIFO checkout, LRU idle expiry, liveness probes and
//! endpoint health. It knows nothing of MogileFS.
//!
//! ```
//! use std::convert::Infallible;
//! use mogile_pool::{Connector, Endpoint, Pool, Pooled};
//!
//! /// A toy connection: just remembers where it goes.
//! struct Toy(Endpoint);
//! struct ToyConnector;
//!
//! impl Connector for ToyConnector {
//!     type Connection = Toy;
//!     type Error = Infallible;
//!     async fn connect(&self, ep: &Endpoint) -> Result<Toy, Infallible> {
//!         Ok(Toy(ep.clone()))
//!     }
//!     fn is_open(&self, _: &Toy) -> bool {
//!         true
//!     }
//!     async fn probe(&self, _: &mut Toy) -> Result<(), Infallible> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = Pool::builder(ToyConnector, ["10.0.0.1:7001", "10.0.0.2:7001"])
//!     .max_size(4)
//!     .build()?;
//! let endpoint = pool.candidates()[0].clone();
//! let conn = pool.get(&endpoint).await?;
//! assert_eq!(conn.0, endpoint);
//! Pooled::release(conn); // a complete exchange: back on the idle stack
//! assert_eq!(pool.status().endpoint(&endpoint).map(|s| s.idle), Some(1));
//! # Ok(())
//! # }
//! ```

mod config;
mod connector;
mod endpoint;
mod error;
mod health;
mod manager;
mod pool;
mod pooled;
mod reaper;
mod status;

pub use config::PoolBuilder;
pub use connector::Connector;
pub use endpoint::Endpoint;
pub use error::{BuildError, PoolError};
pub use pool::Pool;
pub use pooled::Pooled;
pub use status::{EndpointStatus, PoolStatus};
