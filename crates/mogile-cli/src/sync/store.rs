//! Any `object_store` store and path prefix as a side.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, buffered::BufWriter};
use tokio::io::AsyncWriteExt;

use super::side::{Body, Listed, Listing, Meta, SideError, Tally, md5_hex};
use super::sort::Entry;

/// Objects under a path prefix of a store.
#[derive(Debug, Clone)]
pub(crate) struct StoreSide {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    etag_is_md5: bool,
}

impl StoreSide {
    /// The objects of `store` under `prefix`. `etag_is_md5`: the store's ETag of a single-part
    /// upload is the content's MD5 (S3), so `--checksum` can compare it without reading.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, prefix: Path, etag_is_md5: bool) -> Self {
        Self {
            store,
            prefix,
            etag_is_md5,
        }
    }

    fn path(&self, key: &[u8]) -> Result<Path, SideError> {
        let rel = std::str::from_utf8(key).map_err(|_| invalid("not UTF-8"))?;
        let full = match self.prefix.as_ref() {
            "" => rel.to_string(),
            p => format!("{p}/{rel}"),
        };
        Path::parse(full).map_err(|e| SideError::Store(e.into()))
    }

    pub(crate) fn list(&self) -> Listing {
        let base = self.prefix.as_ref().to_string();
        let prefix = (!base.is_empty()).then(|| self.prefix.clone());
        self.store
            .list(prefix.as_ref())
            .map_err(SideError::from)
            .try_filter_map(move |meta| {
                let loc = meta.location.as_ref();
                let rel = if base.is_empty() {
                    Some(loc)
                } else {
                    loc.strip_prefix(base.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                };
                let item = rel.map(|rel| {
                    Listed::Entry(Entry {
                        key: rel.as_bytes().to_vec(),
                        size: Some(meta.size),
                    })
                });
                futures::future::ready(Ok(item))
            })
            .boxed()
    }

    /// Why `key` cannot be an object path: not UTF-8, or not a valid `Path` that is exactly
    /// the key (no empty segment, no `.` or `..`, no leading or trailing `/`).
    pub(crate) fn refuses(&self, key: &[u8]) -> Option<String> {
        let Ok(rel) = std::str::from_utf8(key) else {
            return Some("an object path must be UTF-8".into());
        };
        match Path::parse(rel) {
            Ok(p) if p.as_ref() == rel && !rel.is_empty() => None,
            Ok(_) => {
                Some("not a valid object path (an empty segment, or `/` first or last)".into())
            }
            Err(e) => Some(format!("not a valid object path: {e}")),
        }
    }

    pub(crate) async fn meta(&self, key: &[u8]) -> Result<Meta, SideError> {
        let meta = self.store.head(&self.path(key)?).await?;
        let md5 = if self.etag_is_md5 {
            // A multipart upload's ETag has a `-N` suffix and is not the content's MD5.
            meta.e_tag.as_deref().and_then(md5_hex)
        } else {
            None
        };
        Ok(Meta {
            size: meta.size,
            md5,
            class: None,
        })
    }

    pub(crate) async fn open(&self, key: &[u8]) -> Result<Body, SideError> {
        let got = self.store.get(&self.path(key)?).await?;
        let len = got.meta.size;
        Ok(Body::Stream {
            stream: got.into_stream().map_err(std::io::Error::other).boxed(),
            len,
        })
    }

    /// Writes through object_store's `BufWriter`: one `put` for a small object, a multipart
    /// upload for a large one; either appears only when complete, and a failure aborts it.
    pub(crate) async fn write(
        &self,
        key: &[u8],
        body: Body,
        tally: Tally,
    ) -> Result<u64, SideError> {
        let path = self.path(key)?;
        let expected = body.len();
        let mut w = BufWriter::new(Arc::clone(&self.store), path);
        let result = async {
            let mut stream = body.into_stream(tally).await?;
            let mut got = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                got += chunk.len() as u64;
                w.write_all(&chunk).await?;
            }
            if got != expected {
                return Err(SideError::Length { expected, got });
            }
            w.shutdown().await?;
            Ok(got)
        }
        .await;
        if result.is_err() {
            // Nothing was committed; drop any parts uploaded.
            let _ = w.abort().await;
        }
        result
    }

    pub(crate) async fn delete(&self, key: &[u8]) -> Result<(), SideError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn invalid(reason: &str) -> SideError {
    SideError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        reason.to_string(),
    ))
}
