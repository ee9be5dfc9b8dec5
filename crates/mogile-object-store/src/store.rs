//! [`MogileStore`]: the handle, and the [`ObjectStore`] implementation that dispatches to the
//! operation files.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use mogilefs::Client;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// A MogileFS domain behind the [`ObjectStore`] trait.
///
/// Cheap to clone (an `Arc` inside). One store works in one domain, the bucket's analogue; see the
/// [crate docs](crate) for how each trait method maps onto MogileFS.
#[derive(Clone)]
pub struct MogileStore {
    pub(crate) inner: Arc<Inner>,
}

/// What every clone shares.
pub(crate) struct Inner {
    pub(crate) client: Client,
    /// The class new files are stored in (`None`: the domain's `default` class).
    pub(crate) class: Option<String>,
    /// Keys that listings skipped because they are not valid [`Path`]s.
    pub(crate) skipped: AtomicU64,
}

impl MogileStore {
    /// A store over `client`, in the client's domain, storing new files in the default class.
    pub fn new(client: Client) -> Self {
        Self::with_class(client, None)
    }

    /// A store over `client` that stores new files in `class` (`None`: the domain's default).
    pub fn with_class(client: Client, class: Option<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                class,
                skipped: AtomicU64::new(0),
            }),
        }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The class new files are stored in (`None`: the domain's default class).
    pub fn class(&self) -> Option<&str> {
        self.inner.class.as_deref()
    }

    /// How many keys listings have skipped so far because they are not valid [`Path`]s (a leading
    /// or trailing `/`, `//`, a `.` or `..` segment, a control character, or invalid UTF-8). Each
    /// skip is also logged as a `tracing` warning.
    pub fn skipped_keys(&self) -> u64 {
        self.inner.skipped.load(Ordering::Relaxed)
    }

    /// The facade's store options for this store.
    pub(crate) fn put_options(&self) -> mogilefs::PutOptions {
        match &self.inner.class {
            Some(c) => mogilefs::PutOptions::new().class(c.clone()),
            None => mogilefs::PutOptions::new(),
        }
    }

    /// The [`Path`] of a listed key; `None` (skipped) for temporary keys, and for keys that are
    /// not valid paths (counted and logged).
    pub(crate) fn listed_path(&self, key: &[u8]) -> Option<Path> {
        if crate::keys::is_temp(key) {
            return None;
        }
        let path = crate::keys::path_of(key);
        if path.is_none() {
            self.note_invalid(key);
        }
        path
    }

    pub(crate) fn note_invalid(&self, key: &[u8]) {
        self.inner.skipped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            key = %String::from_utf8_lossy(key).escape_debug(),
            "skipping a MogileFS key that is not a valid object_store Path"
        );
    }
}

impl fmt::Display for MogileStore {
    /// `MogileStore(host1:7001,host2:7001, domain)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trackers: Vec<_> = self
            .client()
            .tracker()
            .trackers()
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect();
        write!(
            f,
            "MogileStore({}, {})",
            trackers.join(","),
            self.client().domain()
        )
    }
}

impl fmt::Debug for MogileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MogileStore")
            .field("domain", &self.client().domain())
            .field("class", &self.inner.class)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ObjectStore for MogileStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.put_impl(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.multipart_impl(location, opts)
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.get_impl(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.delete_impl(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list_impl(prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list_impl(prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.list_with_delimiter_impl(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.copy_impl(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.rename_impl(from, to, options).await
    }
}
