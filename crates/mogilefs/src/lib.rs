#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]
//! An async MogileFS client: one [`Client`] that hides trackers, connection pools and storage
//! nodes.
//!
//! ```
//! use futures::TryStreamExt;
//! use mogilefs::{Client, PutOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // A local cluster stands in for real trackers: domain `testdom`, classes `c2` and `md5`.
//! # let cluster = mogile_testkit::TestCluster::start().await?;
//! # let trackers = cluster.tracker_addrs();
//! // `trackers`: e.g. ["10.0.0.1:7001", "10.0.0.2:7001"]
//! let client = Client::builder().trackers(trackers).domain("testdom").build()?;
//!
//! // Store: create_open, PUT with failover between destinations, create_close.
//! client.put("photos/1.jpg", &b"jpeg bytes"[..]).await?;
//! let md5 = PutOptions::new().class("md5").md5(true);
//! client.put_opts("photos/2.jpg", vec![0u8; 1024], &md5).await?;
//!
//! // Fetch: get_paths, then GET the replicas in order, resuming mid-stream on the next one.
//! let bytes = client.get_bytes("photos/1.jpg").await?;
//! assert_eq!(&bytes[..], b"jpeg bytes");
//!
//! // List every key under a prefix, page by page.
//! let keys: Vec<_> = client.keys("photos/").try_collect().await?;
//! assert_eq!(keys.len(), 2);
//!
//! // Delete; a second delete is "not found".
//! client.delete("photos/1.jpg").await?;
//! assert!(client.delete("photos/1.jpg").await.unwrap_err().is_not_found());
//! client.close().await;
//! # cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Store** ([`Client::put_opts`] and friends, [`Client::writer`]): `create_open` with
//!   `multi_dest=1`; PUT to the first destination, then the next ones on failure; `create_close`
//!   with the exact path, the bytes actually sent and, when asked, `checksum=MD5:...` computed
//!   while streaming. Replayable bodies restart with a new `create_open` when every destination
//!   fails or the tracker rejects the close, up to `upload_attempts`. One-shot bodies (streams,
//!   readers, writers) fail over only before their first byte, unless
//!   [`PutOptions::spool`] is set. A PUT counts only when the node answered 2xx after the whole
//!   body was handed over, and the size sent to `create_close` is the body's length. **No
//!   `create_close` is ever sent for a failed attempt**, so a failed store leaves the key's
//!   previous content in place. The one case that is not a definite answer is
//!   [`Error::OutcomeUnknown`]; see [the close table](#what-a-create_close-error-means).
//!
//! # What a `create_close` error means
//!
//! 2.73's `cmd_create_close` (`lib/MogileFS/Worker/Query.pm`) runs in stretches, each database
//! statement committed on its own, so an `ERR` code says how far it got
//! ([`CreateClose::close_error`](mogile_protocol::CreateClose::close_error) owns this table):
//!
//! | stretch (server source) | codes | what the store does |
//! | --- | --- | --- |
//! | argument checks: `check_domain`, `$args->{fid} or return $self->err_line("no_fid")`, ..., `return $self->err_line("bogus_args") unless $path eq $dfid->url` | `no_domain`, `unreg_domain`, `no_fid`, `no_devid`, `no_path`, `invalid_checksum_format`, `bogus_args` | definite error: nothing changed |
//! | after `delete_and_return_tempfile_row`, each answered after `$failed->()` (`$fid->delete` of the new fid only) | `invalid_destdev`, `size_verify_error`, `size_mismatch`, `checksum_mismatch` | restart with a new `create_open`; the old content is intact; [`Error::UploadRejected`] when attempts run out |
//! | `return $self->err_line("fid_exists") unless $old_fid->{fidid} != $fidid` | `fid_exists` | reconcile (the key already points at our fid: `Ok`) |
//! | `delete_and_return_tempfile_row($fidid) or return $self->err_line("no_temp_file")` | `no_temp_file` | reconcile: an earlier or re-dispatched close may have committed |
//! | `run_global_hook('file_stored')` failed, after `$old_fid->delete` and `replace_into_file`; then `$fid->delete` | `plugin_aborted` | reconcile: the key may now be missing |
//! | `process_line`'s `eval`: any exception | `failure`, `dup` | reconcile |
//!
//! Every other code, and a reply lost after the request left, is reconciled the same way: with
//! `file_info`. Our fid there means `Ok`. **A missing key** means the close died after
//! `$old_fid->delete` and before `replace_into_file` wrote the new row (a tracker killed at that
//! point leaves the key with no content): a replayable (or spooled) body is then stored again,
//! within `upload_attempts`, and the store returns `Ok` with a `tracing` warning. Anything else
//! is [`Error::OutcomeUnknown`]: the key holds the old content, the new content, or nothing.
//! - **Fetch** ([`Client::get_opts`] and friends): `get_paths` (`noverify=1`, `pathcount=3`) and
//!   `file_info` concurrently; replicas are read in the tracker's order; a replica that fails
//!   mid-stream is replaced by the next one with `Range: bytes=<reached>-`; the total is checked
//!   against `file_info`'s length, and the MD5 when asked. Large files are read from several
//!   replicas at once and slow replicas are hedged: see [below](#how-a-read-uses-the-replicas).
//! - The same `zone` goes on `create_open`, `create_close` and `get_paths`.
//! - **Listing**: [`Client::list_keys`] (one page) and [`Client::keys`] (every key under a
//!   prefix, exact byte-wise matching whatever the tracker's database does).
//!
//! # How a read uses the replicas
//!
//! **Striped reads.** When the file's length is known (from `file_info`), the wanted bytes (the
//! whole file, or a [`Client::get_range`] range) are at least
//! [`stripe_threshold`](ClientConfig::stripe_threshold) long (32 MiB), and at least two paths
//! are readable, [`Client::get`], [`get_bytes`](Client::get_bytes),
//! [`get_to_file`](Client::get_to_file) and [`get_range`](Client::get_range) read it as
//! [`stripe_size`](ClientConfig::stripe_size) stripes (8 MiB) with `Range` requests, up to
//! [`stripe_streams`](ClientConfig::stripe_streams) at once (default: the number of paths, at
//! most 4), each path serving one stripe at a time. The paths are used in the tracker's order,
//! and a path that finishes its stripe takes the next one, so faster replicas serve more. The
//! caller still sees one ordered stream; at most `stripe_streams × stripe_size` bytes are held
//! ([`FetchStream::buffered_bytes`]), and nothing is fetched while the caller does not read.
//!
//! Each stripe accepts only a framed `206` with the file's total; one that breaks off resumes
//! where it stopped, on another path. A node that answers a stripe with the whole file (`200`:
//! no range support) has that connection dropped at once and leaves the striping (the rest is
//! read as one stream if no other node is left); a node whose `Content-Range` total is not the
//! file's length ends the fetch with [`Error::ReplicaLength`].
//!
//! **What striping does to a bad replica.** A replica with the right length and the wrong bytes
//! (a bad disk, a wrong copy) cannot be told by its length. Read one replica at a time, it
//! spoils the reads that pick it first; striped, it spoils part of every large read. So a striped
//! read verifies the MD5 whenever `file_info` has one (a class with `hashtype`), unless
//! [`GetOptions::verify_checksum`] says otherwise, and ends with [`Error::ChecksumMismatch`]
//! instead of a clean end. Files of classes without a hash have no such check: use hashed
//! classes for large files, or `mogile get --verify`, or turn striping off
//! (`stripe_streams: Some(1)`, [`GetOptions::streams`], `mogile get --streams 1`).
//!
//! **Zones.** With a [`zone`](ClientConfig::zone) configured, striping is off by default, so a
//! read never crosses to a remote data centre unasked; setting `stripe_streams` turns it on.
//!
//! **Hedged requests.** If the replica asked first has not answered with its headers within
//! [`hedge_after`](ClientConfig::hedge_after), the next one is asked too, and the first answer
//! wins; the other request is cancelled and its connection dropped. This applies to the opening
//! request of every fetch, resume and stripe (a stripe hedges only to a path with no stripe in
//! flight); uploads are never hedged. The delay is by default ([`HedgeAfter::Adaptive`]) the
//! p95 of this client's recent first-byte times on healthy replies, within 20 ms ..= 1 s, and
//! 200 ms until 20 replies were seen, so a fresh process (each `mogile` run) hedges too. A reply
//! that was hedged counts at the delay itself, so one slow node cannot drag the delay up to its
//! own. At most one hedge runs per request, and hedges are capped at
//! [`hedge_budget_percent`](ClientConfig::hedge_budget_percent) (10%) of recent opening
//! requests, plus one, so an overloaded cluster is not hit with double load; the budget running
//! out (and coming back) is logged at `info` level.
//!
//! [`Client::read_stats`] counts all of it ([`ReadStats`]): opening requests, hedges sent, won
//! and refused by the budget, striped fetches, stripes and their resumes, nodes dropped from
//! striping, bytes buffered.
//!
//! # Configuration
//!
//! One plain struct per layer, each with `Default` and a doc on every field, given whole to
//! the [`ClientBuilder`]: [`ClientConfig`] (the facade's own: key and checksum policies, zone,
//! `pathcount`, upload attempts, `no_devices` retries, `restart_after`) to
//! [`config`](ClientBuilder::config); [`TrackerConfig`] (request timeouts, retry budget, and the
//! tracker pool's [`PoolSettings`]: pool size, connect timeout, probe intervals) to
//! [`tracker`](ClientBuilder::tracker); [`StorageConfig`] (connect, idle and headers timeouts,
//! the low-speed limit, the storage host allow-list) to [`storage`](ClientBuilder::storage). A
//! setting has one name at every layer. With the `serde` feature all four are `Serialize` and
//! `Deserialize` (missing fields take their defaults, durations are humantime strings such as
//! `"30s"`), so they can come straight from a configuration file.
//!
//! [`Client::tracker_status`] reports each tracker's health: active or not, and the last
//! background probe's latency or error.
//!
//! # Errors
//!
//! Every operation returns the semantic [`Error`]; the tracker's code and text, or the storage
//! node's status, stay reachable through `source()` and [`Error::code`]. What a tracker code
//! means depends on the command that got it, and each command says so itself
//! ([`Command::error_meaning`](mogile_protocol::Command::error_meaning)): `unknown_key`
//! (`invalid_key` from `updateclass`) -> [`Error::NotFound`] (for a rename, the source key);
//! `key_exists` (a rename's target) and the other `*_exists` -> [`Error::AlreadyExists`];
//! `unreg_domain`, `domain_not_found` -> [`Error::UnknownDomain`]; `unreg_class`,
//! `class_not_found` -> [`Error::UnknownClass`]; `no_devices` from `create_open` ->
//! [`Error::NoWritableDevices`] (from `updateclass` it means the file has no replica:
//! [`Error::Tracker`]); `create_close` codes as in the table above; `unknown_command` ->
//! [`Error::Unsupported`]; anything else -> [`Error::Tracker`].
//!
//! [`Error::is_retryable`] says whether the same call may be made again (with a fresh body for a
//! store): safe, and able to succeed. A request whose outcome is unknown never is.
//!
//! # Observing a client
//!
//! Every operation runs in a `tracing` span at `INFO` (`put`, `get`, `keys`, `list_page`) whose
//! fields follow one file through the cluster: key, class, size, fid, attempt, device and host
//! for a store; fid, length, the replica read and where a resume started for a fetch. Tracker
//! requests (`tracker_request`) and storage transfers (`storage_transfer`) are `DEBUG` spans
//! inside them. Each failover decision (another tracker, the next destination, a restarted
//! upload, a resume on the next replica) is a `WARN` event with the reason; nothing is logged per
//! chunk. Fields from the wire are escaped ([`printable`]), and nothing is formatted unless a
//! subscriber is enabled for it. The names and fields are tabled in `docs/architecture.md`
//! ("Observing a client").
//!
//! # Layout
//!
//! `client.rs` holds the handle and its whole public surface: every [`Client`] method, with its
//! docs, delegating in one line to the module that does the work. Those are `files.rs` (paths,
//! info, delete, rename, class), `put.rs`, `destinations.rs`, `put_stream.rs`, `writer.rs`
//! (store), `get.rs`, `fetch.rs`, `resume.rs`, `stripe.rs`, `hedge.rs` (fetch), `list.rs`, `paging.rs` (listing) and
//! `admin.rs`. Besides them: `builder.rs`, `config.rs` ([`ClientConfig`]), `status.rs`
//! ([`TrackerStatus`]), `options.rs`, `observe.rs` (MD5 and progress) and `error.rs`.

pub mod admin;
mod builder;
mod client;
mod config;
mod destinations;
mod error;
mod fetch;
mod files;
mod get;
mod hedge;
mod list;
mod observe;
mod options;
mod paging;
mod put;
mod put_stream;
mod resume;
mod status;
mod stripe;
mod writer;

pub use admin::Admin;
pub use builder::ClientBuilder;
pub use client::Client;
pub use config::ClientConfig;
pub use error::{Attempt, AttemptError, Error, Result};
pub use fetch::FetchStream;
pub use hedge::{HedgeAfter, HedgeAfterParseError, ReadStats};
/// Control characters in wire text (keys, tracker messages, URLs) escaped for display: what
/// every `Display` of this crate's errors uses, for callers that print wire text themselves.
pub use mogile_protocol::printable;
pub use mogile_protocol::{
    Checksum, ChecksumState, DevId, ErrorCode, Fid, HashType, Key, KeyPolicy, StoragePath,
};
pub use mogile_protocol::{FidRow, FileDebugInfo, FileInfoOutput, KeyPage};
pub use mogile_storage::{AtomicFile, LowSpeed, OneShotBody, Payload, StorageConfig};
pub use mogile_tracker::{LastProbe, PoolSettings, ProbeError, TrackerConfig};
pub use options::{
    ChecksumPolicy, DeleteOptions, GetOptions, ListOptions, PathsOptions, Progress, PutOptions,
};
pub use put::PutResult;
pub use status::TrackerStatus;
pub use writer::Writer;

/// Lower-level crates, for what the facade does not wrap.
pub mod lower {
    pub use mogile_protocol as protocol;
    pub use mogile_storage as storage;
    pub use mogile_tracker as tracker;
}

/// The library example of the workspace `README.md`, compiled as a doctest so it stays correct.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
