//! Fetching a file: `get_paths` (and `file_info`, concurrently) then a [`FetchStream`] over the
//! replicas.

use std::path::Path;

use bytes::Bytes;
use futures::StreamExt;
use mogile_protocol::FileInfoOutput;
use mogile_protocol::{ChecksumState, HashType, Key};
use mogile_storage::AtomicFile;
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
        let io = |source| Error::Io { source };
        let mut file = AtomicFile::create(path).await.map_err(io)?;
        let mut stream = self.get_opts(key, opts).await?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await.map_err(io)?;
        }
        file.commit().await.map_err(io)
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
