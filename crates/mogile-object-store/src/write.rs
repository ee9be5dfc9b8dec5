//! Stores, atomic creates, copies, renames and deletes.
//!
//! # `PutMode::Create`: a temporary key and a `rename`
//!
//! MogileFS has no "create if absent", but its `rename` is an `UPDATE` against the unique
//! (domain, key) index: it fails with `key_exists` when the target exists. So a create
//! 1. asks `file_info(target)` and stops with `AlreadyExists` if it exists (on 2.73 a colliding
//!    `rename` also sends a stray `OK` that makes the tracker drop another client's connection,
//!    so collisions must only happen in true races);
//! 2. stores the body under a fresh temporary key ([`TEMP_PREFIX`](crate::TEMP_PREFIX));
//! 3. renames the temporary key onto the target: `key_exists` becomes `AlreadyExists` and the
//!    temporary key is deleted. A lost reply is reconciled with `file_info(target)`: our fid
//!    there means success.
//!
//! Creates are atomic against other creates and renames. Not protected: a plain overwrite by
//! another client (`REPLACE INTO` in `create_close`) can still replace the target, and a crash
//! between steps 2 and 3 leaves a temporary key behind (listings hide it; delete keys under
//! [`TEMP_PREFIX`](crate::TEMP_PREFIX) older than any running upload to clean up).

use std::future::Future;
use std::io;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use mogilefs::{DeleteOptions, Fid, Payload};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, Error as OsError, PutMode, PutOptions, PutPayload, PutResult,
    RenameOptions, RenameTargetMode, Result,
};

use crate::MogileStore;
use crate::error::{map, not_implemented};
use crate::keys::{key_of, temp_key};
use crate::meta::e_tag;

/// Deletes run this many at a time in `delete_stream`.
const DELETE_CONCURRENCY: usize = 10;
/// Tries of delete-then-rename when another client keeps recreating an overwrite target.
const OVERWRITE_TRIES: usize = 3;

impl MogileStore {
    pub(crate) async fn put_impl(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        if !opts.tags.is_empty() {
            return Err(not_implemented("put_opts with tags"));
        }
        if !opts.attributes.is_empty() {
            return Err(not_implemented("put_opts with attributes"));
        }
        let key = key_of(location);
        let body = payload_of(payload);
        let popts = self.put_options();
        match opts.mode {
            PutMode::Overwrite => {
                let put = self
                    .client()
                    .put_opts(key, body, &popts)
                    .await
                    .map_err(|e| map(e, key))?;
                Ok(self.put_result_of(key, &put).await)
            }
            PutMode::Create => {
                let client = self.client().clone();
                self.create(location, move |temp| async move {
                    client.put_opts(temp, body, &popts).await
                })
                .await
            }
            PutMode::Update(_) => Err(not_implemented(
                "put_opts with PutMode::Update (MogileFS has no atomic compare-and-swap)",
            )),
        }
    }

    /// The e-tag of a finished store, as `head` will report it.
    pub(crate) async fn put_result_of(&self, key: &str, put: &mogilefs::PutResult) -> PutResult {
        let tag = if put.checksum.is_some() {
            // Whether the tracker kept the checksum depends on the class: ask it.
            match self.client().file_info(key).await {
                Ok(info) if info.fid == put.fid => e_tag(&info),
                _ => format!("{}-{}", put.fid.0, put.size),
            }
        } else {
            format!("{}-{}", put.fid.0, put.size)
        };
        PutResult {
            e_tag: Some(tag),
            version: None,
            extensions: Default::default(),
        }
    }

    /// Stores with `store` under a temporary key, then renames it onto `location` unless that
    /// exists (see the module docs).
    pub(crate) async fn create<F, Fut>(&self, location: &Path, store: F) -> Result<PutResult>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = mogilefs::Result<mogilefs::PutResult>>,
    {
        let key = key_of(location);
        self.refuse_existing(key).await?;
        let temp = temp_key();
        let put = match store(temp.clone()).await {
            Ok(put) => put,
            Err(e) => {
                // An upload whose outcome is unknown may have left the temporary key.
                self.delete_quietly(&temp).await;
                return Err(map(e, key));
            }
        };
        if let Err(e) = self.rename_reconciled(&temp, key, put.fid, key).await {
            self.delete_quietly(&temp).await;
            return Err(e);
        }
        Ok(self.put_result_of(key, &put).await)
    }

    /// `AlreadyExists` when `key` exists.
    async fn refuse_existing(&self, key: &str) -> Result<()> {
        match self.client().file_info(key).await {
            Ok(_) => Err(OsError::AlreadyExists {
                path: key.to_owned(),
                source: "the target exists".into(),
            }),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(map(e, key)),
        }
    }

    /// `rename(from, to)` where `from` holds `fid`. A reply that does not say what happened (lost,
    /// or a code other than `key_exists`) is reconciled with `file_info(to)`: `fid` there means
    /// the rename happened. `path` names the error.
    async fn rename_reconciled(&self, from: &str, to: &str, fid: Fid, path: &str) -> Result<()> {
        match self.client().rename(from, to).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_already_exists() => Err(map(e, to)),
            Err(e) => match self.client().file_info(to).await {
                Ok(info) if info.fid == fid => {
                    tracing::debug!(error = %e, "rename reported failure but the target holds our fid");
                    Ok(())
                }
                _ => Err(map(e, path)),
            },
        }
    }

    /// Deletes a temporary key; a failure is only logged (listings hide temporary keys).
    async fn delete_quietly(&self, key: &str) {
        let opts = DeleteOptions::new().missing_ok(true);
        if let Err(e) = self.client().delete_opts(key, &opts).await {
            tracing::warn!(key, error = %e, "could not delete a temporary key");
        }
    }

    pub(crate) async fn rename_impl(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> Result<()> {
        let (fk, tk) = (key_of(from), key_of(to));
        // Never delete a target for a source that does not exist.
        let src = self.client().file_info(fk).await.map_err(|e| map(e, fk))?;
        if fk == tk {
            return match options.target_mode {
                RenameTargetMode::Overwrite => Ok(()),
                RenameTargetMode::Create => self.refuse_existing(tk).await,
            };
        }
        match options.target_mode {
            RenameTargetMode::Create => {
                self.refuse_existing(tk).await?;
                self.rename_reconciled(fk, tk, src.fid, fk).await
            }
            RenameTargetMode::Overwrite => {
                // Window: between the delete and the rename, `to` does not exist; another client
                // that creates it then makes the rename fail, and it is tried again.
                let mut last = None;
                for _ in 0..OVERWRITE_TRIES {
                    if self.client().exists(tk).await.map_err(|e| map(e, tk))? {
                        let opts = DeleteOptions::new().missing_ok(true);
                        self.client()
                            .delete_opts(tk, &opts)
                            .await
                            .map_err(|e| map(e, tk))?;
                    }
                    match self.rename_reconciled(fk, tk, src.fid, fk).await {
                        Err(e @ OsError::AlreadyExists { .. }) => last = Some(e),
                        other => return other,
                    }
                }
                Err(crate::error::generic(format!(
                    "the rename target kept being recreated by another client: {}",
                    last.map(|e| e.to_string()).unwrap_or_default()
                )))
            }
        }
    }

    pub(crate) async fn copy_impl(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> Result<()> {
        let (fk, tk) = (key_of(from), key_of(to));
        if fk == tk {
            self.client().file_info(fk).await.map_err(|e| map(e, fk))?;
            return match options.mode {
                CopyMode::Overwrite => Ok(()),
                CopyMode::Create => self.refuse_existing(tk).await,
            };
        }
        // No server-side copy exists: a streamed get and put. The source is opened first, so a
        // missing source is `NotFound` whatever the target.
        let source = self.client().get(fk).await.map_err(|e| map(e, fk))?;
        let len = source.len();
        let body = source.map_err(io::Error::from);
        let popts = self.put_options();
        match options.mode {
            CopyMode::Overwrite => {
                self.client()
                    .put_stream(tk, body, len, &popts)
                    .await
                    .map_err(|e| map(e, tk))?;
                Ok(())
            }
            CopyMode::Create => {
                let client = self.client().clone();
                self.create(to, move |temp| async move {
                    client.put_stream(temp, body, len, &popts).await
                })
                .await
                .map(drop)
            }
        }
    }

    pub(crate) fn delete_impl(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let store = self.clone();
        locations
            .map(move |location| {
                let store = store.clone();
                async move {
                    let location = location?;
                    let key = key_of(&location);
                    if key.is_empty() {
                        return Ok(location);
                    }
                    // A missing key is fine, as the trait allows.
                    let opts = DeleteOptions::new().missing_ok(true);
                    store
                        .client()
                        .delete_opts(key, &opts)
                        .await
                        .map_err(|e| map(e, key))?;
                    Ok(location)
                }
            })
            .buffered(DELETE_CONCURRENCY)
            .boxed()
    }
}

/// A replayable body for the facade: one chunk is passed as is, several are joined.
fn payload_of(payload: PutPayload) -> Payload {
    let mut chunks = payload.iter();
    match (chunks.next(), chunks.next()) {
        (None, _) => Payload::from(bytes::Bytes::new()),
        (Some(one), None) => Payload::from(one.clone()),
        _ => Payload::from(bytes::Bytes::from(payload.iter().fold(
            Vec::with_capacity(payload.content_length()),
            |mut v, c| {
                v.extend_from_slice(c);
                v
            },
        ))),
    }
}
