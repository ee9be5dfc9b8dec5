//! Listings: `list`, `list_with_offset`, `list_with_delimiter` and [`PaginatedListStore`].
//!
//! Keys come from the facade's [`keys_opts`](mogilefs::Client::keys_opts) paging (exact byte-wise
//! prefixes, whatever the tracker's database does); sizes and e-tags from `file_info`, run
//! [`LIST_CONCURRENCY`] at a time so that N keys are not N sequential round trips. A key deleted
//! between the page and its `file_info` is left out.
//!
//! # Directories
//!
//! Common prefixes are computed on the client. Once a directory has been seen, its keys are
//! skipped; after [`SKIP_AFTER`] of them the listing asks the tracker again with `after` set to
//! the directory's prefix followed by the byte `0xFF` (which no UTF-8 key contains), so that a
//! directory of 10,000 keys costs one extra `list_keys` request instead of ten pages.

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use mogilefs::ListOptions;
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::path::Path;
use object_store::{ListResult, ObjectMeta, Result};

use crate::MogileStore;
use crate::error::{map, not_supported};
use crate::keys::{TEMP_PREFIX, is_temp, key_of};
use crate::meta::object_meta;

/// `file_info` requests in flight per listing.
pub const LIST_CONCURRENCY: usize = 16;
/// Keys skipped inside one seen directory before the listing jumps past it.
pub const SKIP_AFTER: usize = 100;
/// Keys per `list_keys` page.
const PAGE: u32 = 1000;
/// `list_paginated`'s page size when none is given.
const DEFAULT_MAX_KEYS: usize = 1000;

/// Where a listing continues.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// After this key.
    After(Vec<u8>),
    /// Past every key under this directory (its key, without the trailing `/`).
    PastDir(Vec<u8>),
}

impl Cursor {
    /// The `after` sent to the tracker.
    fn after(&self) -> Vec<u8> {
        match self {
            Self::After(k) => k.clone(),
            Self::PastDir(d) => {
                let mut v = d.clone();
                v.extend_from_slice(b"/\xff");
                v
            }
        }
    }

    /// The page token: `k` or `d`, then the key.
    fn token(&self) -> Option<String> {
        let (tag, key) = match self {
            Self::After(k) => ('k', k),
            Self::PastDir(d) => ('d', d),
        };
        std::str::from_utf8(key).ok().map(|k| format!("{tag}{k}"))
    }

    fn from_token(token: &str) -> Result<Self> {
        match token.split_at_checked(1) {
            Some(("k", k)) => Ok(Self::After(k.as_bytes().to_vec())),
            Some(("d", d)) => Ok(Self::PastDir(d.as_bytes().to_vec())),
            _ => Err(crate::error::generic(format!(
                "not a page token of this store: {token:?}"
            ))),
        }
    }
}

/// What one walk over the keys found.
#[derive(Debug, Default)]
struct Walk {
    objects: Vec<Path>,
    dirs: Vec<Path>,
    /// Where to continue when the walk stopped at its limit with more to come.
    next: Option<Cursor>,
}

/// The key prefix of a [`Path`] prefix: the path and `/`, or nothing for the root.
fn dir_prefix(prefix: Option<&Path>) -> String {
    match prefix.map(key_of) {
        Some(p) if !p.is_empty() => format!("{p}/"),
        _ => String::new(),
    }
}

impl MogileStore {
    pub(crate) fn list_impl(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let key_prefix = dir_prefix(prefix);
        let mut opts = ListOptions::new().prefix(&key_prefix).limit(PAGE);
        let offset = offset.filter(|o| !key_of(o).is_empty()).cloned();
        if let Some(o) = &offset {
            opts = opts.after(key_of(o));
        }
        let store = self.clone();
        let metas = self.clone();
        self.client()
            .keys_opts(&opts)
            .map_err(move |e| map(e, &key_prefix))
            .try_filter_map(move |key| {
                let path = store
                    .listed_path(key.as_bytes())
                    .filter(|p| offset.as_ref().is_none_or(|o| p > o));
                futures::future::ready(Ok(path))
            })
            .map_ok(move |path| {
                let store = metas.clone();
                async move { store.meta_of(path).await }
            })
            .try_buffered(LIST_CONCURRENCY)
            .try_filter_map(|m| futures::future::ready(Ok(m)))
            .boxed()
    }

    /// The metadata of a listed object; `None` if it was deleted since it was listed.
    async fn meta_of(&self, path: Path) -> Result<Option<ObjectMeta>> {
        let key = key_of(&path);
        match self.client().file_info(key).await {
            Ok(info) => Ok(Some(object_meta(path, &info))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(map(e, key)),
        }
    }

    /// The metadata of many objects, concurrently with a bound, in order.
    async fn metas_of(&self, paths: Vec<Path>) -> Result<Vec<ObjectMeta>> {
        futures::stream::iter(paths)
            .map(|p| self.meta_of(p))
            .buffered(LIST_CONCURRENCY)
            .try_filter_map(|m| futures::future::ready(Ok(m)))
            .try_collect()
            .await
    }

    pub(crate) async fn list_with_delimiter_impl(
        &self,
        prefix: Option<&Path>,
    ) -> Result<ListResult> {
        let walk = self
            .walk(&dir_prefix(prefix), None, true, usize::MAX)
            .await?;
        Ok(ListResult {
            common_prefixes: walk.dirs,
            objects: self.metas_of(walk.objects).await?,
            extensions: Default::default(),
        })
    }

    /// Walks the keys starting with `prefix` (a raw string prefix) after `cursor`, folding keys
    /// with a `/` after the prefix into directories when `delimiter` is set, until `max` entries.
    async fn walk(
        &self,
        prefix: &str,
        mut cursor: Option<Cursor>,
        delimiter: bool,
        max: usize,
    ) -> Result<Walk> {
        let mut walk = Walk::default();
        'restart: loop {
            let mut opts = ListOptions::new().prefix(prefix).limit(PAGE);
            if let Some(c) = &cursor {
                opts = opts.after(c.after());
            }
            let mut keys = self.client().keys_opts(&opts);
            // The directory seen last (with its `/`), and how many of its keys were skipped.
            let mut open_dir: Option<Vec<u8>> = None;
            let mut skipped = 0;
            while let Some(key) = keys.try_next().await.map_err(|e| map(e, prefix))? {
                let k = key.as_bytes();
                if let Some(d) = open_dir.as_ref().filter(|d| k.starts_with(d)) {
                    skipped += 1;
                    if skipped >= SKIP_AFTER {
                        cursor = Some(Cursor::PastDir(d[..d.len() - 1].to_vec()));
                        continue 'restart;
                    }
                    continue;
                }
                if is_temp(k) {
                    // Jump past every temporary key at once.
                    let temp_dir = TEMP_PREFIX.trim_end_matches('/').as_bytes().to_vec();
                    cursor = Some(Cursor::PastDir(temp_dir));
                    continue 'restart;
                }
                // A key that is not a valid path is skipped (and counted) whole: no directory is
                // made of its first segments.
                let Some(path) = self.listed_path(k) else {
                    cursor = Some(Cursor::After(k.to_vec()));
                    continue;
                };
                let rest = &k[prefix.len().min(k.len())..];
                let slash = rest.iter().position(|&b| b == b'/').filter(|_| delimiter);
                let (entry, next) = match slash {
                    Some(i) => {
                        let dir = &k[..prefix.len() + i];
                        open_dir = Some(k[..=prefix.len() + i].to_vec());
                        skipped = 0;
                        let next = Cursor::PastDir(dir.to_vec());
                        match crate::keys::path_of(dir) {
                            Some(p) => (Some(Err(p)), next),
                            None => {
                                self.note_invalid(dir);
                                (None, next)
                            }
                        }
                    }
                    None => (Some(Ok(path)), Cursor::After(k.to_vec())),
                };
                if let Some(entry) = entry {
                    if walk.objects.len() + walk.dirs.len() >= max {
                        walk.next = cursor;
                        return Ok(walk);
                    }
                    match entry {
                        Ok(object) => walk.objects.push(object),
                        Err(dir) => walk.dirs.push(dir),
                    }
                }
                cursor = Some(next);
            }
            return Ok(walk);
        }
    }
}

#[async_trait]
impl PaginatedListStore for MogileStore {
    /// One page of at most `max_keys` objects and directories (1000 by default) whose keys start
    /// with `prefix` (a plain string prefix). The page token is opaque: the last key (or
    /// directory) of the page, used as `after` for the next page.
    async fn list_paginated(
        &self,
        prefix: Option<&str>,
        opts: PaginatedListOptions,
    ) -> Result<PaginatedListResult> {
        let delimiter = match opts.delimiter.as_deref() {
            None => false,
            Some("/") => true,
            Some(other) => {
                return Err(not_supported(&format!(
                    "delimiter {other:?}: MogileFS listings use \"/\""
                )));
            }
        };
        let prefix = prefix.unwrap_or_default();
        let token = opts
            .page_token
            .as_deref()
            .map(Cursor::from_token)
            .transpose()?;
        let offset = opts.offset.map(|o| Cursor::After(o.into_bytes()));
        // Continue from whichever is further along.
        let cursor = match (token, offset) {
            (Some(t), Some(o)) => Some(if t.after() >= o.after() { t } else { o }),
            (t, o) => t.or(o),
        };
        let max = opts.max_keys.unwrap_or(DEFAULT_MAX_KEYS).max(1);
        let walk = self.walk(prefix, cursor, delimiter, max).await?;
        Ok(PaginatedListResult {
            result: ListResult {
                common_prefixes: walk.dirs,
                objects: self.metas_of(walk.objects).await?,
                extensions: Default::default(),
            },
            page_token: walk.next.and_then(|c| c.token()),
        })
    }
}
