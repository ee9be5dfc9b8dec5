//! [`StorageClient::get_to_file`]: a download that never leaves a partial file under the final
//! name, through [`AtomicFile`].

use std::path::Path;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::atomic_file::AtomicFile;
use crate::client::StorageClient;
use crate::error::StorageError;
use crate::options::StorageGetOptions;

impl StorageClient {
    /// Downloads `url` into the file at `path`; returns the number of bytes written.
    ///
    /// The body goes to an [`AtomicFile`]: a temporary file beside `path`, fsynced and renamed
    /// over `path` only when complete, then the directory is fsynced. A new file gets mode
    /// `0o666` minus the umask; an existing file's permission bits are kept. On any failure, or
    /// if the returned future is dropped, the temporary file is removed and `path` is untouched.
    ///
    /// The temporary file is created before the request, so a directory that cannot be written
    /// to fails before anything is sent.
    ///
    /// # Errors
    /// As for [`get`](Self::get) and [`ByteStream`](crate::ByteStream); local file failures are
    /// [`StorageError::Io`] (see [`AtomicFile::commit`] for a failed directory fsync); a range
    /// the node ignored is [`StorageError::RangeNotHonoured`] (the file would otherwise hold the
    /// wrong bytes).
    pub async fn get_to_file(
        &self,
        url: &str,
        path: impl AsRef<Path>,
        opts: &StorageGetOptions,
    ) -> Result<u64, StorageError> {
        let io_err = |source| StorageError::Io {
            url: url.to_owned(),
            source,
        };
        let mut file = AtomicFile::create(path).await.map_err(io_err)?;
        let resp = self.get(url, opts).await?;
        if let (Some(asked), false) = (opts.range, resp.range_honoured()) {
            return Err(StorageError::RangeNotHonoured {
                url: url.to_owned(),
                start: asked.start,
                content_range: None,
            });
        }
        let mut stream = resp.into_stream();
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await.map_err(io_err)?;
        }
        file.commit().await.map_err(io_err)
    }
}
