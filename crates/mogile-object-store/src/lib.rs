#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! MogileFS behind [`object_store::ObjectStore`], the storage trait of the Arrow ecosystem
//! (DataFusion, Polars, delta-rs, LanceDB, ...). One [`MogileStore`] works in one domain, the
//! bucket's analogue.
//!
//! ```
//! use std::sync::Arc;
//! use futures::TryStreamExt;
//! use object_store::{ObjectStore, ObjectStoreExt, PutMode, path::Path};
//! use mogile_object_store::MogileStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = mogile_testkit::TestCluster::start().await?;
//! # let url = format!("mogilefs://testdom?trackers={}", cluster.tracker_addrs().join(","));
//! // url: "mogilefs://testdom?trackers=10.0.0.1:7001,10.0.0.2"
//! let store: Arc<dyn ObjectStore> = Arc::new(MogileStore::builder().with_url(url).build()?);
//!
//! let path = Path::from("tables/t1/part-0.parquet");
//! store.put(&path, "bytes".into()).await?;
//! // Create fails when the object exists, atomically against other creates.
//! let again = store.put_opts(&path, "other".into(), PutMode::Create.into()).await;
//! assert!(matches!(again, Err(object_store::Error::AlreadyExists { .. })));
//!
//! let listed: Vec<_> = store.list(Some(&Path::from("tables"))).try_collect().await?;
//! assert_eq!(listed[0].location, path);
//! assert_eq!(store.get(&path).await?.bytes().await?, "bytes");
//! # cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The mapping
//!
//! | `ObjectStore` | MogileFS |
//! | --- | --- |
//! | [`Path`](object_store::path::Path) | the key with the same bytes; keys that are not valid paths are skipped by listings ([`keys`] module, [`MogileStore::skipped_keys`]) |
//! | `put_opts` `Overwrite` | a store of the replayable payload, with the facade's failover |
//! | `put_opts` `Create` | a store under a temporary key ([`TEMP_PREFIX`]), then `rename` onto the target (see [`write`](mod@write)) |
//! | `put_opts` `Update` | `NotImplemented`: MogileFS has no atomic compare-and-swap |
//! | attributes, tags | `NotImplemented` when non-empty; never dropped silently |
//! | `e_tag` | `"{fid}-{length}"`, plus `-{checksum}` when the tracker has one; `if_match` / `if_none_match` compare it |
//! | `last_modified` | always [`LAST_MODIFIED`] (the Unix epoch): 2.73 stores no time; date preconditions are `NotSupported` |
//! | `get_opts`, `head` | `file_info`, then the facade's fetch with a `Range`; suffix ranges are resolved with `file_info`'s length |
//! | `list`, `list_with_offset` | the facade's `keys()` paging; sizes from `file_info`, [`LIST_CONCURRENCY`] at a time |
//! | `list_with_delimiter`, [`PaginatedListStore`](object_store::list::PaginatedListStore) | common prefixes computed on the client, skipping past seen directories (see [`list`]) |
//! | `delete_stream` | `delete`, 10 at a time; a missing key is fine |
//! | `copy_opts` | a streamed get and put; `Create` through the temporary key and `rename` |
//! | `rename_opts` | MogileFS `rename`; `Overwrite` deletes an existing target first, once the source is known to exist |
//! | `put_multipart_opts` | the parts stream into one upload of unknown length ([`multipart`]) |
//!
//! Errors map to [`object_store::Error`]: `NotFound`, `AlreadyExists`, `Precondition`,
//! `NotModified`, `NotSupported`, `NotImplemented`, and `Generic` for the rest, with the
//! [`mogilefs::Error`] as the source wherever the variant has one.
//!
//! On MySQL-backed trackers keys compare case-insensitively and ignore trailing spaces, so
//! `Create("a")` fails when `A` exists; the test cluster (like SQLite) is byte-exact.

pub mod builder;
mod error;
mod get;
pub mod keys;
pub mod list;
mod meta;
pub mod multipart;
mod store;
pub mod write;

pub use builder::{MogileConfigKey, MogileStoreBuilder};
pub use keys::TEMP_PREFIX;
pub use list::LIST_CONCURRENCY;
pub use meta::LAST_MODIFIED;
pub use store::MogileStore;

impl MogileStore {
    /// A builder taking a URL, options or the environment.
    pub fn builder() -> MogileStoreBuilder {
        MogileStoreBuilder::new()
    }
}
