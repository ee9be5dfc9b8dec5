//! [`Client`]: the handle, and the thin file commands (paths, info, delete, rename, class).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mogile_protocol::{
    Command, Delete, FileDebug, FileDebugInfo, FileInfo, FileInfoOutput, GetPaths, Rename,
    UpdateFileClass,
};
use mogile_protocol::{Key, KeyError, StoragePath};
use mogile_storage::StorageClient;
use mogile_tracker::TrackerClient;

use crate::builder::ClientBuilder;
use crate::config::ClientConfig;
use crate::error::{Ctx, Error, Result, TrackerFailure};
use crate::options::{DeleteOptions, PathsOptions};
use crate::status::{self, TrackerStatus};

/// What every handle of one client shares: the pools, and the settings.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) tracker: TrackerClient,
    pub(crate) storage: StorageClient,
    pub(crate) config: ClientConfig,
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
        let ctx = Ctx {
            domain: ctx.domain.or(Some(&self.domain)),
            ..ctx
        };
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(TrackerFailure::client_closed(ctx));
        }
        self.inner
            .tracker
            .request(cmd)
            .await
            .map_err(|e| TrackerFailure::of::<C>(e, ctx))
    }

    /// [`tracker_call`](Self::tracker_call), for a caller that needs only the semantic error.
    pub(crate) async fn call<C: Command>(&self, cmd: C, ctx: Ctx<'_>) -> Result<C::Output> {
        self.tracker_call(cmd, ctx)
            .await
            .map_err(TrackerFailure::into_error)
    }

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
        let key = nonempty(key.into())?;
        let name = key.to_string();
        let cmd = self.get_paths_cmd(key, opts);
        self.call(cmd, Ctx::key(&name)).await
    }

    pub(crate) fn get_paths_cmd(&self, key: Key, opts: &PathsOptions) -> GetPaths {
        let cfg = self.config();
        let mut cmd = GetPaths::new(&*self.domain, key)
            .noverify(opts.noverify.unwrap_or(cfg.noverify))
            .pathcount(opts.pathcount.unwrap_or(cfg.pathcount).max(1));
        if let Some(zone) = opts.zone.as_ref().or(cfg.zone.as_ref()) {
            cmd = cmd.zone(zone.as_str());
        }
        cmd
    }

    /// Whether the key exists (`file_info` succeeds).
    ///
    /// # Errors
    ///
    /// Any failure other than "not found".
    pub async fn exists(&self, key: impl Into<Key>) -> Result<bool> {
        match self.file_info(key).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The file's fid, class, length, replica count, device ids and checksum (`file_info` with
    /// `devices=1`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::UnknownDomain`], [`Error::Unsupported`] (trackers before
    /// 2.45), or a tracker failure.
    pub async fn file_info(&self, key: impl Into<Key>) -> Result<FileInfoOutput> {
        let key = nonempty(key.into())?;
        let name = key.to_string();
        let cmd = FileInfo::new(&*self.domain, key).devices(true);
        self.call(cmd, Ctx::key(&name)).await
    }

    /// The tracker's internal view of the file (`file_debug`): diagnostics only, it is heavy on
    /// the tracker's database.
    ///
    /// # Errors
    ///
    /// As [`file_info`](Self::file_info).
    pub async fn file_debug(&self, key: impl Into<Key>) -> Result<FileDebugInfo> {
        let key = nonempty(key.into())?;
        let name = key.to_string();
        self.call(FileDebug::by_key(&*self.domain, key), Ctx::key(&name))
            .await
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
        let key = nonempty(key.into())?;
        let name = key.to_string();
        match self
            .call(Delete::new(&*self.domain, key), Ctx::key(&name))
            .await
        {
            Err(Error::NotFound { .. }) if opts.missing_ok => Ok(()),
            other => other,
        }
    }

    /// Renames a key. Unlike the Perl client, a missing source is an error.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (no source key), [`Error::AlreadyExists`] (the target exists; both
    /// keys are unchanged), [`Error::KeyPolicy`] (the target breaks the key policy).
    pub async fn rename(&self, from: impl Into<Key>, to: impl Into<Key>) -> Result<()> {
        let from = nonempty(from.into())?;
        let to = to.into();
        self.config().key_policy.check(&to)?;
        let (name, target) = (from.to_string(), to.to_string());
        let ctx = Ctx {
            target: Some(&target),
            ..Ctx::key(&name)
        };
        self.call(Rename::new(&*self.domain, from, to), ctx).await
    }

    /// Moves the file to another class (`updateclass`); the tracker re-replicates it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (the tracker says `invalid_key`), [`Error::UnknownClass`], or a
    /// tracker failure ([`Error::Tracker`]; code `no_devices` when the file has no replica).
    pub async fn update_class(&self, key: impl Into<Key>, class: &str) -> Result<()> {
        let key = nonempty(key.into())?;
        let name = key.to_string();
        let ctx = Ctx {
            class: Some(class),
            ..Ctx::key(&name)
        };
        self.call(UpdateFileClass::new(&*self.domain, key, class), ctx)
            .await
    }
}

/// Refuses the empty key up front (the tracker would answer `no_key`, a client bug).
pub(crate) fn nonempty(key: Key) -> Result<Key> {
    if key.is_empty() {
        return Err(Error::KeyPolicy {
            source: KeyError::Empty,
        });
    }
    Ok(key)
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
