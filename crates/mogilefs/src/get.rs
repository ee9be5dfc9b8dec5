//! Fetching a file: `get_paths` (and `file_info`, concurrently) then a [`FetchStream`] over the
//! replicas.

use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use mogile_protocol::FileInfoOutput;
use mogile_protocol::{ChecksumState, HashType, Key};
use tokio::io::AsyncWriteExt;

use crate::client::{Client, nonempty};
use crate::error::{Ctx, Error, Result};
use crate::fetch::{Fetch, FetchStream};
use crate::observe::Md5Hasher;
use crate::options::GetOptions;
use crate::resume::Resume;

impl Client {
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
    /// read in the tracker's order; see [`FetchStream`] for the mid-stream failover.
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
        let key = nonempty(key.into())?;
        let name = key.to_string();
        let cfg = self.config();
        let verify_length = opts.verify_length.unwrap_or(true);
        // Asked for in this call: "no checksum available" is an error. Only the client's default
        // policy: verify when the tracker has an MD5, skip otherwise (a policy must not make every
        // fetch from a class without hashtype fail).
        let explicit = opts.verify_checksum == Some(true);
        let verify_checksum = opts.verify_checksum.unwrap_or(cfg.checksum.verify());
        let paths_cmd = self.get_paths_cmd(key.clone(), &opts.paths);
        let paths = self.call(paths_cmd, Ctx::key(&name));
        let (paths, info) = if verify_length || verify_checksum {
            // Two requests on two pooled connections, so the length costs no extra round trip.
            let (paths, info) = tokio::join!(paths, self.file_info(key));
            (paths?, Some(info?))
        } else {
            (paths.await?, None)
        };
        if paths.is_empty() {
            return Err(Error::NoUsablePath {
                name,
                attempts: Vec::new(),
            });
        }
        let total = info.as_ref().filter(|_| verify_length).map(|i| i.length);
        let expected = match expected_md5(info.as_ref(), opts, &name) {
            Ok(c) if verify_checksum => Some(c),
            Err(e) if explicit => return Err(e),
            Ok(_) | Err(_) => {
                if verify_checksum {
                    tracing::debug!(key = %name, "no MD5 to verify against; fetching unverified");
                }
                None
            }
        };
        let resume = Resume::new(opts.offset, opts.len, total);
        let len = total.map(|t| {
            let end = opts.len.map_or(t, |l| t.min(opts.offset.saturating_add(l)));
            end.saturating_sub(opts.offset)
        });
        let mut fetch = Fetch::new(self.clone(), name, paths, resume);
        fetch.verify = expected.map(|c| (Md5Hasher::default(), c));
        fetch.progress = opts.progress.clone();
        Ok(fetch.into_stream(len))
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

    /// Fetches the file into `path`: written to a temporary file in the same directory, synced,
    /// then renamed over `path`, so `path` never holds a partial file. Returns the bytes written.
    ///
    /// # Errors
    ///
    /// As [`get_opts`](Self::get_opts), and [`Error::Io`] for local file failures.
    pub async fn get_to_file(
        &self,
        key: impl Into<Key>,
        path: impl AsRef<Path>,
        opts: &GetOptions,
    ) -> Result<u64> {
        let io = |source| Error::Io { source };
        let path = path.as_ref().to_owned();
        let mut stream = self.get_opts(key, opts).await?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let temp = tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(dir))
            .await
            .map_err(|e| io(std::io::Error::other(e)))?
            .map_err(io)?;
        let mut file = tokio::fs::File::from_std(temp.reopen().map_err(io)?);
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
        }
        file.sync_all().await.map_err(io)?;
        drop(file);
        tokio::task::spawn_blocking(move || temp.persist(&path))
            .await
            .map_err(|e| io(std::io::Error::other(e)))?
            .map_err(|e| io(e.error))?;
        Ok(written)
    }
}

/// The MD5 a verified fetch must match.
fn expected_md5(
    info: Option<&FileInfoOutput>,
    opts: &GetOptions,
    name: &str,
) -> Result<mogile_protocol::Checksum> {
    let unavailable = || Error::ChecksumUnavailable {
        name: name.to_owned(),
    };
    let whole = opts.offset == 0 && opts.len.is_none();
    match info.and_then(|i| i.checksum.as_ref()) {
        Some(ChecksumState::Present(c)) if whole && c.hash == HashType::Md5 => Ok(c.clone()),
        _ => Err(unavailable()),
    }
}
