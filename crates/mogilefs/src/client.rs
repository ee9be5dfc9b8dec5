//! [`Client`]: the handle, and its whole public surface.
//!
//! Every public method of [`Client`] is here, with its docs, and delegates in one line to the
//! module that does the work: `files.rs` (paths, info, delete, rename, class), `put.rs` and
//! `put_stream.rs` (store), `writer.rs`, `get.rs` (fetch), `list.rs`, and `admin.rs`. What stays
//! here besides is the handle itself and [`Client::tracker_call`], the one way to the tracker.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::io;
use std::path::Path;

use bytes::Bytes;
use futures::Stream;
use mogile_protocol::{Command, FidRow, FileDebugInfo, FileInfoOutput, KeyPage};
use mogile_protocol::{Fid, Key, StoragePath};
use mogile_storage::{OneShotBody, Payload, StorageClient};
use mogile_tracker::TrackerClient;
use tokio::io::AsyncRead;

use crate::admin::Admin;
use crate::builder::ClientBuilder;
use crate::config::ClientConfig;
use crate::error::{Ctx, Error, Result, TrackerFailure};
use crate::fetch::FetchStream;
use crate::hedge::{ReadState, ReadStats};
use crate::options::{DeleteOptions, GetOptions, ListOptions, PathsOptions, PutOptions};
use crate::put::PutResult;
use crate::status::{self, TrackerStatus};
use crate::writer::Writer;
use crate::{files, get, list, put, put_stream, writer};

/// What every handle of one client shares: the pools, and the settings.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) tracker: TrackerClient,
    pub(crate) storage: StorageClient,
    pub(crate) config: ClientConfig,
    /// Hedge delay samples, the hedge budget and the read counters.
    pub(crate) reads: ReadState,
    pub(crate) closed: AtomicBool,
}

/// A MogileFS client bound to one domain.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: clones and [`with_domain`](Self::with_domain)
/// handles share the tracker connection pool and the storage HTTP pool.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    pub(crate) domain: Arc<str>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_parts(inner: Arc<Inner>, domain: Arc<str>) -> Self {
        Self { inner, domain }
    }

    /// A handle on another domain that shares this client's pools and settings.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty domain.
    pub fn with_domain(&self, domain: impl Into<String>) -> Result<Self> {
        let domain = domain.into();
        if domain.is_empty() {
            return Err(Error::Config {
                message: "a non-empty domain is required".into(),
                source: None,
            });
        }
        Ok(Self::from_parts(Arc::clone(&self.inner), domain.into()))
    }

    /// The domain this handle works in.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The tracker client underneath, for commands this facade does not wrap.
    pub fn tracker(&self) -> &TrackerClient {
        &self.inner.tracker
    }

    /// The storage client underneath.
    pub fn storage(&self) -> &StorageClient {
        &self.inner.storage
    }

    /// Every tracker's health, in the order the trackers were given: its address, whether
    /// requests go to it, and the last background probe's latency or error. Makes no request.
    pub fn tracker_status(&self) -> Vec<TrackerStatus> {
        status::tracker_status(&self.inner.tracker)
    }

    /// How reads have used the replicas so far: opening requests, hedges sent, won and refused
    /// by the budget, striped fetches, stripes and their resumes, replicas dropped from striping,
    /// bytes buffered for consumers, and the hedge delay now in use. Shared by every handle of
    /// this client; makes no request. Meant for monitoring and tests.
    pub fn read_stats(&self) -> ReadStats {
        self.inner.reads.stats()
    }

    /// Shuts the tracker pool and its background tasks down; every handle sharing the pools then
    /// fails with [`Error::Closed`]. Transfers already running finish or fail on their own.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.tracker.close();
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// THE one way the facade talks to the tracker: every tracker call goes through here.
    ///
    /// A failure comes back as a [`TrackerFailure`]: what the command says the tracker's answer
    /// means, the names it is about (`ctx`; the domain defaults to this handle's), the tracker's
    /// code and how far the request got, and, with
    /// [`into_error`](TrackerFailure::into_error), the one mapping to a semantic [`Error`].
    pub(crate) async fn tracker_call<'a, C: Command>(
        &'a self,
        cmd: C,
        ctx: Ctx<'a>,
    ) -> Result<C::Output, TrackerFailure<'a>> {
        let ctx = self.request_ctx(ctx)?;
        self.inner
            .tracker
            .request(cmd)
            .await
            .map_err(|e| TrackerFailure::of::<C>(e, ctx))
    }

    /// `ctx` with its domain defaulting to this handle's, or the failure of a request made on a
    /// closed client.
    // The error is `tracker_call`'s own, built only for a closed client; boxing it here alone
    // would only add an allocation to that path.
    #[allow(clippy::result_large_err)]
    fn request_ctx<'a>(&'a self, ctx: Ctx<'a>) -> Result<Ctx<'a>, TrackerFailure<'a>> {
        let ctx = Ctx {
            domain: ctx.domain.or(Some(&self.domain)),
            ..ctx
        };
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(TrackerFailure::client_closed(ctx));
        }
        Ok(ctx)
    }

    /// Two reads as one pipelined pair on one tracker connection
    /// ([`TrackerClient::request_pair`](mogile_tracker::TrackerClient::request_pair)), each
    /// result mapped as [`call`](Self::call) maps it. A failure of the exchange itself is
    /// reported as `first`'s.
    pub(crate) async fn call_pair<A: Command, B: Command>(
        &self,
        first: A,
        second: B,
        ctx: Ctx<'_>,
    ) -> Result<(Result<A::Output>, Result<B::Output>)> {
        let ctx = self.request_ctx(ctx).map_err(TrackerFailure::into_error)?;
        let (a, b) = self
            .inner
            .tracker
            .request_pair(first, second)
            .await
            .map_err(|e| TrackerFailure::of::<A>(e, ctx).into_error())?;
        Ok((
            a.map_err(|e| TrackerFailure::of::<A>(e, ctx).into_error()),
            b.map_err(|e| TrackerFailure::of::<B>(e, ctx).into_error()),
        ))
    }

    /// [`tracker_call`](Self::tracker_call), for a caller that needs only the semantic error.
    pub(crate) async fn call<C: Command>(&self, cmd: C, ctx: Ctx<'_>) -> Result<C::Output> {
        self.tracker_call(cmd, ctx)
            .await
            .map_err(TrackerFailure::into_error)
    }

    // --- Storing -------------------------------------------------------------------------------

    /// Stores a replayable body (bytes, a buffer, a file) under `key`.
    ///
    /// # Errors
    ///
    /// See [`put_opts`](Self::put_opts).
    pub async fn put(&self, key: impl Into<Key>, body: impl Into<Payload>) -> Result<PutResult> {
        self.put_opts(key, body, &PutOptions::default()).await
    }

    /// Stores a replayable body with options: class, MD5, checksum verification.
    ///
    /// Runs `create_open` (`multi_dest=1`), PUTs to the first destination and on failure to the
    /// next ones, then `create_close` with the exact path, the bytes actually sent and the MD5
    /// when asked. A PUT counts only when the node answered 2xx after the whole body was sent.
    /// When every destination fails, or the tracker discards the upload at the close
    /// (`size_mismatch`, `size_verify_error`, `checksum_mismatch`, `invalid_destdev`), the whole
    /// sequence restarts, up to the client's `upload_attempts`. Any other close error is judged
    /// as the crate docs' [close table](crate#what-a-create_close-error-means) says.
    ///
    /// # Errors
    ///
    /// - [`Error::KeyPolicy`]: the key breaks the client's key policy; nothing was sent.
    /// - [`Error::UnknownDomain`], [`Error::UnknownClass`], [`Error::NoWritableDevices`].
    /// - [`Error::NoUsablePath`]: every destination of every attempt failed (with each failure).
    /// - [`Error::UploadRejected`]: the tracker rejected the last attempt's close.
    /// - [`Error::OutcomeUnknown`]: the close may have committed, or left the key empty; see its
    ///   docs.
    pub async fn put_opts(
        &self,
        key: impl Into<Key>,
        body: impl Into<Payload>,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        put::put_payload(self, key.into(), body.into(), opts).await
    }

    /// Stores the file at `path` (replayable: read again for each attempt).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be opened, otherwise as [`put_opts`](Self::put_opts).
    pub async fn put_file(
        &self,
        key: impl Into<Key>,
        path: impl AsRef<Path>,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        put::put_file(self, key.into(), path.as_ref(), opts).await
    }

    /// Stores a stream of chunks. `len` is its exact length if known (sent as `Content-Length`);
    /// otherwise the body goes out chunked.
    ///
    /// # Errors
    ///
    /// As [`put_body`](Self::put_body).
    pub async fn put_stream<S>(
        &self,
        key: impl Into<Key>,
        stream: S,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutResult>
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        self.put_body(key, OneShotBody::from_stream(stream, len), opts)
            .await
    }

    /// Stores everything `reader` yields. `len` as for [`put_stream`](Self::put_stream).
    ///
    /// # Errors
    ///
    /// As [`put_body`](Self::put_body).
    pub async fn put_reader<R>(
        &self,
        key: impl Into<Key>,
        reader: R,
        len: Option<u64>,
        opts: &PutOptions,
    ) -> Result<PutResult>
    where
        R: AsyncRead + Send + 'static,
    {
        self.put_body(key, OneShotBody::from_reader(reader, len), opts)
            .await
    }

    /// The general store of a one-shot body.
    ///
    /// The body moves on to the next destination, or to a new `create_open`, only while none of it
    /// has been read. Once bytes are gone, a failed PUT or a rejected close ends the store (never
    /// with a `create_close` for the failed attempt), and the 50-minute restart rule cannot apply:
    /// a slow one-shot upload is closed rather than restarted. [`PutOptions::spool`] lifts all of
    /// this by copying the body to a temporary file first.
    ///
    /// # Errors
    ///
    /// As [`put_opts`](Self::put_opts), and [`Error::Storage`] when a destination fails after
    /// part of the body was read (the body cannot be sent again; use [`PutOptions::spool`] for
    /// that). [`Error::Io`] when spooling fails or the body itself yields an error.
    pub async fn put_body(
        &self,
        key: impl Into<Key>,
        body: OneShotBody,
        opts: &PutOptions,
    ) -> Result<PutResult> {
        put_stream::store_one_shot(self, key.into(), body, opts, None).await
    }

    /// Opens a [`Writer`] that stores `key`. `len` is the exact length if known (the upload then
    /// uses `Content-Length`; otherwise it is chunked).
    ///
    /// Must be called inside a Tokio runtime: the upload runs on a task of its own.
    ///
    /// # Errors
    ///
    /// [`Error::KeyPolicy`] for a refused key, [`Error::Config`] outside a Tokio runtime. Upload
    /// failures surface from [`Writer::finish`].
    pub fn writer(
        &self,
        key: impl Into<Key>,
        len: Option<u64>,
        opts: PutOptions,
    ) -> Result<Writer> {
        writer::open(self, key.into(), len, opts)
    }

    // --- Fetching ------------------------------------------------------------------------------

    /// Fetches the whole file as a stream.
    ///
    /// # Errors
    ///
    /// See [`get_opts`](Self::get_opts).
    pub async fn get(&self, key: impl Into<Key>) -> Result<FetchStream> {
        self.get_opts(key, &GetOptions::default()).await
    }

    /// Fetches a file (or a byte range of it) as a stream, with options.
    ///
    /// Asks `get_paths` (`noverify=1`, `pathcount=3` unless configured otherwise) and, to check
    /// the length (default) or the checksum, `file_info` at the same time. The replicas are then
    /// read in the tracker's order; see [`FetchStream`] for the mid-stream failover. Files (and
    /// ranges) of at least [`ClientConfig::stripe_threshold`] are read as stripes from several
    /// replicas at once, and a replica slow to answer is hedged (see the crate docs, "How a read
    /// uses the replicas").
    ///
    /// [`Error::ReplicaLength`] arrives as the stream's last item when a striped read meets a
    /// replica whose length is not the file's.
    ///
    /// # Errors
    ///
    /// - [`Error::NotFound`], [`Error::UnknownDomain`], or a tracker failure.
    /// - [`Error::NoUsablePath`] with no attempts: the tracker knows the file but lists no
    ///   readable replica (`OK paths=0`).
    /// - [`Error::ChecksumUnavailable`]: verification was asked for and the tracker has no MD5 for
    ///   the file (or a range was asked for, which cannot be verified).
    ///
    /// Later failures (every replica failed, length or checksum mismatch) arrive as the stream's
    /// last item.
    pub async fn get_opts(&self, key: impl Into<Key>, opts: &GetOptions) -> Result<FetchStream> {
        get::fetch(self, key.into(), opts).await
    }

    /// Fetches the whole file into memory.
    ///
    /// # Errors
    ///
    /// As [`get_opts`](Self::get_opts), plus the stream's own errors.
    pub async fn get_bytes(&self, key: impl Into<Key>) -> Result<Bytes> {
        self.get(key).await?.bytes().await
    }

    /// Fetches `len` bytes (`None`: to the end) from `offset` into memory, like a seek and read on
    /// the Perl client's handle.
    ///
    /// # Errors
    ///
    /// As [`get_bytes`](Self::get_bytes).
    pub async fn get_range(
        &self,
        key: impl Into<Key>,
        offset: u64,
        len: Option<u64>,
    ) -> Result<Bytes> {
        let opts = GetOptions::new().range(offset, len);
        self.get_opts(key, &opts).await?.bytes().await
    }

    /// Fetches the file (or the range in `opts`) into `path`; returns the bytes written.
    ///
    /// The bytes go to a [`storage::AtomicFile`](mogile_storage::AtomicFile): a temporary file
    /// beside `path`, fsynced and renamed over `path` only when the fetch (with its failover and
    /// resumes) is complete, then the directory is fsynced, so `path` never holds a partial
    /// file. A new file gets mode `0o666` minus the umask, as `curl -o` gives it; an existing
    /// file's permission bits are kept. On any failure, or if the future is dropped, the
    /// temporary file is removed and `path` is untouched.
    ///
    /// The temporary file is created first, so a directory that cannot be written to fails
    /// before the tracker is asked.
    ///
    /// # Errors
    ///
    /// As [`get_opts`](Self::get_opts) and the stream, and [`Error::Io`] for local file failures
    /// (see [`AtomicFile::commit`](mogile_storage::AtomicFile::commit) for a failed directory
    /// fsync).
    pub async fn get_to_file(
        &self,
        key: impl Into<Key>,
        path: impl AsRef<Path>,
        opts: &GetOptions,
    ) -> Result<u64> {
        get::fetch_to_file(self, key.into(), path.as_ref(), opts).await
    }

    // --- File commands -------------------------------------------------------------------------

    /// Where the file's replicas can be read, in the order to try them (`get_paths`). An empty
    /// list means the file exists but has no readable replica right now.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::UnknownDomain`], or a tracker failure.
    pub async fn paths(&self, key: impl Into<Key>) -> Result<Vec<StoragePath>> {
        self.paths_opts(key, &PathsOptions::default()).await
    }

    /// [`paths`](Self::paths) with options (`noverify`, `pathcount`, `zone`).
    ///
    /// # Errors
    ///
    /// As [`paths`](Self::paths).
    pub async fn paths_opts(
        &self,
        key: impl Into<Key>,
        opts: &PathsOptions,
    ) -> Result<Vec<StoragePath>> {
        files::paths(self, key.into(), opts).await
    }

    /// Whether the key exists (`file_info` succeeds).
    ///
    /// # Errors
    ///
    /// Any failure other than "not found".
    pub async fn exists(&self, key: impl Into<Key>) -> Result<bool> {
        files::exists(self, key.into()).await
    }

    /// The file's fid, class, length, replica count, device ids and checksum (`file_info` with
    /// `devices=1`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::UnknownDomain`], [`Error::Unsupported`] (trackers before
    /// 2.45), or a tracker failure.
    pub async fn file_info(&self, key: impl Into<Key>) -> Result<FileInfoOutput> {
        files::info(self, key.into()).await
    }

    /// The tracker's internal view of the file (`file_debug`): diagnostics only, it is heavy on
    /// the tracker's database.
    ///
    /// # Errors
    ///
    /// As [`file_info`](Self::file_info).
    pub async fn file_debug(&self, key: impl Into<Key>) -> Result<FileDebugInfo> {
        files::debug(self, key.into()).await
    }

    /// Deletes the key. A missing key is [`Error::NotFound`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::UnknownDomain`], or a tracker failure.
    pub async fn delete(&self, key: impl Into<Key>) -> Result<()> {
        self.delete_opts(key, &DeleteOptions::default()).await
    }

    /// [`delete`](Self::delete) with options (`missing_ok` makes a missing key `Ok`).
    ///
    /// # Errors
    ///
    /// As [`delete`](Self::delete).
    pub async fn delete_opts(&self, key: impl Into<Key>, opts: &DeleteOptions) -> Result<()> {
        files::delete(self, key.into(), opts).await
    }

    /// Renames a key. Unlike the Perl client, a missing source is an error.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (no source key), [`Error::AlreadyExists`] (the target exists; both
    /// keys are unchanged), [`Error::KeyPolicy`] (the target breaks the key policy).
    pub async fn rename(&self, from: impl Into<Key>, to: impl Into<Key>) -> Result<()> {
        files::rename(self, from.into(), to.into()).await
    }

    /// Moves the file to another class (`updateclass`); the tracker re-replicates it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (the tracker says `invalid_key`), [`Error::UnknownClass`], or a
    /// tracker failure ([`Error::Tracker`]; code `no_devices` when the file has no replica).
    pub async fn update_class(&self, key: impl Into<Key>, class: &str) -> Result<()> {
        files::update_class(self, key.into(), class).await
    }

    // --- Listing -------------------------------------------------------------------------------

    /// One `list_keys` page: keys after `opts.after` that the tracker matches with `opts.prefix`,
    /// in byte order. An empty listing (`ERR none_match`) is an empty page.
    ///
    /// The page size is clamped to `1..=1000`. If a reply line is too long for the tracker
    /// client's limit, the page is asked again with half the size (down to 1).
    ///
    /// This is the raw page: on a real 2.73 tracker the prefix matches case-insensitively and is
    /// also used as a regular expression against `after`. [`keys`](Self::keys) handles both.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`] or a tracker failure (`after_mismatch` when `after` does not
    /// start with `prefix`).
    pub async fn list_keys(&self, opts: &ListOptions) -> Result<KeyPage> {
        list::page(self, opts).await
    }

    /// Every key whose bytes start with `prefix` (empty: every key in the domain), page by page,
    /// in byte order; the stream ends cleanly after the last page.
    ///
    /// Matching is exact and byte-wise, whatever the tracker's database does: the tracker's
    /// case-insensitive matches (`LK/upper` for `lk/`) are filtered out, and prefixes holding
    /// regular-expression metacharacters (`lk(`) or `LIKE` wildcards (`lk_`, `lk%`) work. For
    /// every page after the first, the prefix sent is the longest metacharacter-free leading part
    /// of `prefix` that the cursor also starts with, so the 2.73 tracker's regex check of `after`
    /// against the prefix cannot fail; the listing stops on an empty page (`none_match`) or once a
    /// page sorts past every key that can start with `prefix`.
    ///
    /// # Errors
    ///
    /// The stream yields the first failure of a page request and then ends.
    pub fn keys<P: AsRef<[u8]>>(
        &self,
        prefix: P,
    ) -> impl Stream<Item = Result<Key>> + Send + Unpin + use<P> {
        self.keys_opts(&ListOptions::new().prefix(prefix))
    }

    /// [`keys`](Self::keys) with options: `prefix`, the page size (`limit`, default 1000), and
    /// `after` to start after a key.
    ///
    /// # Errors
    ///
    /// As [`keys`](Self::keys).
    pub fn keys_opts(
        &self,
        opts: &ListOptions,
    ) -> impl Stream<Item = Result<Key>> + Send + Unpin + use<> {
        list::keys(self, opts)
    }

    /// Up to `count` files (the tracker caps it at 500) starting at fid `from`, across domains
    /// (`list_fids`).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn list_fids(&self, from: Fid, count: u32) -> Result<Vec<FidRow>> {
        list::fids(self, from, count).await
    }

    // --- Administration ------------------------------------------------------------------------

    /// The administration handle: domains, classes, hosts, devices and server settings.
    pub fn admin(&self) -> Admin {
        Admin::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn client_is_a_cheap_shared_handle() {
        assert_send_sync_clone::<Client>();
    }
}
