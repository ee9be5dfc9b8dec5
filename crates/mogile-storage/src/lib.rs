#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! Streaming HTTP transfers to and from MogileFS storage nodes, on hyper 1.x.
//!
//! ```
//! use mogile_storage::{ByteRange, StorageGetOptions, OneShotBody, Payload, StoragePutOptions, StorageClient};
//! # use mogile_testkit::storage::StorageNode;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let node = StorageNode::start(dir.path()).await?; // a mogstored-like node for the example
//! # node.add_device(1).await?;
//! # let url = node.url("/dev1/0/000/000/0000000001.fid");
//! let client = StorageClient::builder().build()?;
//!
//! // A replayable body: bytes or a file, sent with Content-Length.
//! let sent = client.put(&url, &Payload::from("hello world"), &StoragePutOptions::default()).await?;
//! assert_eq!(sent.bytes_sent, 11);
//!
//! // A one-shot stream of unknown length: chunked, on a fresh connection.
//! let chunks = futures_util::stream::iter(["hello ", "again"].map(|s| Ok(s.into())));
//! let body = OneShotBody::from_stream(chunks, None);
//! client.put_stream(&url, body, &StoragePutOptions::default()).await?;
//!
//! let resp = client.get(&url, &StorageGetOptions::default().range(ByteRange::from_offset(6))).await?;
//! assert!(resp.range_honoured());
//! assert_eq!(&resp.bytes().await?[..], b"again");
//! assert_eq!(client.head(&url).await?.content_length, Some(11));
//! # Ok(())
//! # }
//! ```
//!
//! The crate knows nothing of MogileFS beyond "a URL to PUT to or GET from", and never retries:
//! failover between replicas is the caller's ([`StorageError::try_another_replica`] helps). The
//! one exception is a request none of which left a kept connection that the node had closed
//! meanwhile: it is sent once more on a new connection.
//!
//! Connections are kept per node (most recently used first) and reused once hyper says they
//! are ready for another request; a connection that carried a lie, closed, or sat idle longer
//! than `pool_idle_timeout` is never used again (tests: `early_answer.rs`'s
//! `a_connection_that_answered_early_is_not_reused` and `pool.rs` in this crate, the workspace's
//! `reliability::lying_node` matrix).
//!
//! Every setting is a field of one [`StorageConfig`], given whole to
//! [`StorageClientBuilder::config`].
//!
//! # Behaviour
//! - **Uploads** of a replayable [`Payload`] (bytes, a file) or a one-shot [`OneShotBody`] (a
//!   stream or reader). Known lengths go out with `Content-Length` on pooled keep-alive
//!   connections; unknown lengths go chunked on a fresh connection (mogstored's `HTTP/1.0`
//!   replies would otherwise make hyper send the next request as HTTP/1.0, without framing, and
//!   the node would store an empty file). `411`/`501` to a chunked body: the body is spooled to
//!   a temporary file and resent with a length. Never `Expect: 100-continue`. A 2xx is a
//!   success only once the whole body was handed over (the source ended, at its declared length):
//!   an earlier answer is [`StorageError::EarlyResponse`] and its connection is never reused.
//! - **Downloads** as a [`ByteStream`] with back-pressure, as bytes, or into a file (temporary
//!   name, fsync, rename, directory fsync: [`AtomicFile`]; mode `0o666` minus the umask). Ranges
//!   never use suffix form; a `206` must start at the byte asked for (byte 0 without a range),
//!   and [`GetResponse::extent`] says whether the body is the whole file or that part; the
//!   received length is checked.
//! - **Timeouts**: connect, an I/O-level idle timeout (a stalled read *or* write fails), a
//!   per-chunk timer on download bodies, and a time-to-headers timeout. Pooled connections
//!   expire after 20 s idle, below mogstored's keep-alive of 30 s.
//! - **Low-speed limit** ([`LowSpeed`], on by default at 1 KiB/s over 30 s): an upload or
//!   download that moves too few bytes during a window of time spent *waiting on the node* fails
//!   ([`TimeoutPhase::LowSpeed`]), so a node trickling one byte just inside the idle timeout
//!   cannot hold a transfer. The caller's own pauses (a slow body source, a stream not being
//!   polled) never count.
//! - **Host allow-list** (opt-in, [`StorageConfig::allowed_hosts`]): URLs naming a host
//!   outside the configured names, addresses and CIDR networks fail with
//!   [`StorageError::HostNotAllowed`] before any connection (or DNS lookup) is made.
//! - **Redirects** are never followed ([`StorageError::Redirect`]).
//! - **Tracing**: every request runs in a `storage_transfer` span (`DEBUG`) with the fields
//!   `method`, `url`, `status`, `bytes` (sent or received), `duration` and, for a failure,
//!   `error`; a download's span ends with its body. The clock is read only for an enabled span.
//!
//! # Layout
//! `client.rs` (the client, shared plumbing, `head`/`delete`), `config.rs` ([`StorageConfig`]),
//! `builder.rs`, `put.rs`, `get.rs`,
//! `download.rs` (`get_to_file`), `atomic_file.rs` ([`AtomicFile`]), `stream.rs` ([`ByteStream`]),
//! `body.rs` (request bodies), `req_body.rs` (the body type hyper sees), `connector.rs` (the
//! allow-list check, idle-timeout and upload-metered connections), `speed.rs` ([`LowSpeed`] and
//! its meter), `allow.rs` (the allow-list), `trace.rs` (the `storage_transfer` span), `options.rs`, `error.rs`.

mod allow;
mod atomic_file;
mod body;
mod builder;
mod client;
mod config;
mod connector;
mod deadline;
mod download;
mod error;
mod file_body;
mod get;
mod options;
mod pool;
mod put;
mod req_body;
mod speed;
mod stream;
mod trace;

pub use atomic_file::AtomicFile;
pub use body::{OneShotBody, Payload};
pub use builder::StorageClientBuilder;
pub use client::StorageClient;
pub use config::StorageConfig;
pub use error::{BuildError, PutStreamError, StorageError, TimeoutPhase};
pub use get::GetResponse;
pub use options::{
    ByteRange, ContentRange, Extent, HeadInfo, PutOutcome, StorageGetOptions, StoragePutOptions,
    TransferObserver,
};
pub use speed::LowSpeed;
pub use stream::ByteStream;
