//! [`StorageClient::get_to_file`]: a download that never leaves a partial file under the final
//! name.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::client::StorageClient;
use crate::error::StorageError;
use crate::options::GetOptions;

impl StorageClient {
    /// Downloads `url` into the file at `path`; returns the number of bytes written.
    ///
    /// The body goes to a temporary file in the same directory, which is fsynced and renamed to
    /// `path` only when complete (replacing any existing file). On any failure, or if the
    /// returned future is dropped, the temporary file is removed and `path` is untouched.
    ///
    /// # Errors
    /// As for [`get`](Self::get) and [`ByteStream`](crate::ByteStream); local file failures are
    /// [`StorageError::Io`]; a range the node ignored is [`StorageError::RangeNotHonoured`]
    /// (the file would otherwise hold the wrong bytes).
    pub async fn get_to_file(
        &self,
        url: &str,
        path: impl AsRef<Path>,
        opts: &GetOptions,
    ) -> Result<u64, StorageError> {
        let path = path.as_ref();
        let io_err = |source| StorageError::Io {
            url: url.to_owned(),
            source,
        };
        let resp = self.get(url, opts).await?;
        if let (Some(asked), false) = (opts.range, resp.range_honoured()) {
            return Err(StorageError::RangeNotHonoured {
                url: url.to_owned(),
                start: asked.start,
                content_range: None,
            });
        }
        let (mut file, mut guard) = create_temp(path).await.map_err(io_err)?;
        let mut stream = resp.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await.map_err(io_err)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io_err)?;
        file.sync_all().await.map_err(io_err)?;
        drop(file);
        tokio::fs::rename(&guard.path, path).await.map_err(io_err)?;
        guard.armed = false;
        sync_parent(path).await;
        Ok(written)
    }
}

/// Removes the temporary file unless disarmed. A synchronous remove in `Drop` is deliberate: it
/// must also run when the download future is dropped mid-way, and it is a single unlink.
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove temporary download file");
            }
        }
    }
}

/// Creates `.<name>.<unique>.part` next to `path`.
async fn create_temp(path: &Path) -> io::Result<(tokio::fs::File, TempGuard)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "target has no file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(
            ".{}.{}-{n}.part",
            name.to_string_lossy(),
            std::process::id()
        ));
        match tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await
        {
            Ok(file) => {
                let guard = TempGuard {
                    path: tmp,
                    armed: true,
                };
                return Ok((file, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes the rename durable where the platform allows it; failure only costs durability.
async fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = tokio::fs::File::open(dir).await {
            let _ = d.sync_all().await;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
