//! [`AtomicFile`]: a file that appears under its final name whole, or not at all.

use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use tokio::fs::File;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Most bytes of the target's name copied into the temporary name, so a target with a name
/// near the usual 255-byte limit still gets a temporary file.
const NAME_IN_TEMP: usize = 64;

/// A file written under a temporary name beside its target and renamed over it on
/// [`commit`](Self::commit), so the target never holds a partial file.
///
/// Write through [`AsyncWrite`] (e.g. [`AsyncWriteExt::write_all`] or [`tokio::io::copy`]), then
/// call [`commit`](Self::commit). If the value is dropped without a commit, or the commit fails
/// before the rename (a write or sync error, a dropped download future), the temporary file is
/// removed and the target is untouched.
///
/// ```
/// use mogile_storage::AtomicFile;
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let target = dir.path().join("out.bin");
/// let mut file = AtomicFile::create(&target).await?;
/// file.write_all(b"hello").await?;
/// assert!(!target.exists(), "nothing under the final name until the commit");
/// assert_eq!(file.commit().await?, 5);
/// assert_eq!(std::fs::read(&target)?, b"hello");
/// # Ok(())
/// # }
/// ```
///
/// # The temporary file
/// `.<name>.<pid>-<n>.part` in the target's directory (the same filesystem, so the rename is
/// atomic), created exclusively (`O_CREAT|O_EXCL`, another name is tried if it exists).
///
/// # What is replaced
/// Only a regular file or a symbolic link: like `mv`, the rename replaces the directory entry, so
/// a symbolic link at the target is replaced, not followed, and the target's hard links keep the
/// old content. A target that is a directory is refused ([`io::ErrorKind::IsADirectory`]); a FIFO,
/// a device (e.g. `/dev/null`) or a socket is refused too ([`io::ErrorKind::InvalidInput`]):
/// replacing it with a regular file is never what a download into it means, so stream the body
/// into it instead. Both are checked in [`create`](Self::create), before the temporary file
/// exists, and again in [`commit`](Self::commit), before the rename.
///
/// # Mode (Unix)
/// A new target gets the mode `curl -o` and `wget -O` give it, `0o666` minus the process umask:
/// the temporary file is created with `0o666` and the kernel applies the umask (and any default
/// ACL of the directory), so the umask is never read or changed. If the target already exists as
/// a regular file, its permission bits (`0o777`; set-user-ID, set-group-ID and sticky bits are
/// dropped, as the kernel does when an unprivileged process writes a file in place) are copied to
/// the new file at the commit, as overwriting it in place would have kept them. Until then the
/// temporary file is never more permissive than the file it replaces: it is created with
/// `0o666 & mode` (then the umask), so replacing a `0o600` file never exposes the new content
/// to other users while it is written, not even to an `open` racing the creation. Its owner and
/// group are not kept (the new file belongs to this process).
///
/// # Durability
/// [`commit`](Self::commit) fsyncs the file before the rename and the directory after it, so a
/// crash right after a successful commit leaves the new content under the target name. The
/// directory is opened in [`create`](Self::create), so a directory that cannot be opened fails
/// before any byte is written. A failed directory fsync fails the commit: `Ok` promises a
/// durable rename. On that error the target already holds the new content (visible, but it may
/// not survive a crash). On non-Unix platforms the directory is not synced.
#[derive(Debug)]
pub struct AtomicFile {
    // Declared before `temp`: fields drop in order, so the file is closed before the guard
    // removes it (required on Windows, harmless elsewhere).
    file: File,
    /// The target's directory, open for the fsync after the rename (Unix only).
    dir: Option<File>,
    target: PathBuf,
    written: u64,
    temp: TempGuard,
}

impl AtomicFile {
    /// Creates the temporary file beside `target`; nothing is written to `target` until
    /// [`commit`](Self::commit).
    ///
    /// # Errors
    /// `target` has no file name (`/`, `..`) ([`io::ErrorKind::InvalidInput`]), is a directory
    /// ([`io::ErrorKind::IsADirectory`]) or is another file that is neither a regular file nor
    /// a symbolic link, such as a FIFO or a device ([`io::ErrorKind::InvalidInput`]); it cannot
    /// be examined; its directory does not exist, is not a directory, or cannot be written to or
    /// opened.
    pub async fn create(target: impl AsRef<Path>) -> io::Result<Self> {
        let target = target.as_ref().to_owned();
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "target has no file name")
        })?;
        let dir_path = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let existing = match tokio::fs::symlink_metadata(&target).await {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if let Some(meta) = &existing {
            refuse_unreplaceable(meta.file_type())?;
        }
        let dir = open_dir(&dir_path).await?;
        let mode = temp_mode(existing.as_ref());
        let (file, temp) = create_temp(&dir_path, &name.to_string_lossy(), mode).await?;
        tracing::trace!(temp = %temp.path.display(), target = %target.display(), "temporary file created");
        Ok(Self {
            file,
            dir,
            target,
            written: 0,
            temp,
        })
    }

    /// The final path, as given to [`create`](Self::create).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp.path
    }

    /// Bytes accepted by the writes so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and fsyncs the file, sets its mode (see the type's docs), renames it over the
    /// target and fsyncs the directory. Returns the bytes written.
    ///
    /// On Unix the target is examined again before the rename: if it has become a directory or
    /// a file that is not replaced (see *What is replaced* on the type), the commit fails with
    /// the same error as [`create`](Self::create) and the target is untouched.
    ///
    /// If the returned future is dropped, the target holds the old content or the new one (a
    /// rename already handed to the blocking pool may still complete), never a partial file,
    /// and no temporary file remains.
    ///
    /// # Errors
    /// Any failure before the rename removes the temporary file and leaves the target as it
    /// was. A failure of the directory fsync after the rename is an error although the target
    /// already holds the new content (see *Durability* on the type).
    pub async fn commit(self) -> io::Result<u64> {
        let Self {
            file,
            dir,
            target,
            written,
            mut temp,
        } = self;
        // `seal` owns the file and closes it on every path, before `temp` can remove it.
        seal(file, &target).await?;
        tokio::fs::rename(&temp.path, &target).await?;
        temp.armed = false;
        if let Some(dir) = dir {
            dir.sync_all().await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{} was replaced but its directory could not be synced: {e}",
                        target.display()
                    ),
                )
            })?;
        }
        tracing::debug!(target = %target.display(), bytes = written, "file committed");
        Ok(written)
    }
}

impl AsyncWrite for AtomicFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = ready!(Pin::new(&mut this.file).poll_write(cx, buf))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

/// Everything before the rename: the data and the mode reach the disk. Closes the file.
async fn seal(mut file: File, target: &Path) -> io::Result<()> {
    file.flush().await?;
    #[cfg(unix)]
    keep_existing_mode(&file, target).await?;
    #[cfg(not(unix))]
    let _ = target;
    file.sync_all().await
}

/// Gives the new file the permission bits of the regular file it replaces, if any, and refuses
/// a target that became a file that is not replaced since [`AtomicFile::create`].
#[cfg(unix)]
async fn keep_existing_mode(file: &File, target: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match tokio::fs::symlink_metadata(target).await {
        Ok(meta) if meta.is_file() => {
            let mode = meta.permissions().mode() & 0o777;
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .await
        }
        Ok(meta) => refuse_unreplaceable(meta.file_type()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Refuses an existing target that is neither a regular file nor a symbolic link (see *What is
/// replaced* on [`AtomicFile`]).
fn refuse_unreplaceable(kind: FileType) -> io::Result<()> {
    if kind.is_file() || kind.is_symlink() {
        return Ok(());
    }
    if kind.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "target is a directory",
        ));
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "target is {}, not a regular file, and is not replaced; stream to it instead (e.g. through stdout)",
            describe(kind)
        ),
    ))
}

/// A file type that is neither a regular file, a directory nor a symbolic link, in words.
fn describe(kind: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    #[cfg(not(unix))]
    let _ = kind;
    "a special file"
}

/// The mode the temporary file is created with, before the umask: `0o666`, less every
/// permission the regular file it replaces denies. Set at creation, not changed afterwards: a
/// reader that opened the file before a `chmod` would keep reading it.
fn temp_mode(existing: Option<&Metadata>) -> u32 {
    #[cfg(unix)]
    if let Some(meta) = existing.filter(|m| m.is_file()) {
        use std::os::unix::fs::PermissionsExt;
        return 0o666 & meta.permissions().mode();
    }
    #[cfg(not(unix))]
    let _ = existing;
    0o666
}

/// Opens the directory for the fsync after the rename (Unix; elsewhere a directory cannot be
/// opened as a file).
async fn open_dir(dir: &Path) -> io::Result<Option<File>> {
    #[cfg(unix)]
    return File::open(dir).await.map(Some);
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(None)
    }
}

/// Removes the temporary file unless disarmed. A synchronous remove in `Drop` is deliberate: it
/// must also run when a download future is dropped mid-way, and it is a single unlink.
#[derive(Debug)]
struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => {
                tracing::trace!(temp = %self.path.display(), "temporary file removed");
            }
            // A rename still running when its future was dropped may have taken it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(temp = %self.path.display(), error = %e, "cannot remove temporary file");
            }
        }
    }
}

/// Creates `.<name>.<pid>-<n>.part` in `dir`, with `mode` before the umask (Unix).
async fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(File, TempGuard)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut cut = name.len().min(NAME_IN_TEMP);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = name[..cut].to_owned();
    let dir = dir.to_owned();
    // The file and its guard are made together on the blocking thread: if this future is
    // dropped while the thread runs, the task's result (the guard) is dropped when it ends,
    // and the guard removes the file. Opening with tokio's `File` instead would leave a file
    // created after the drop with no guard.
    let (file, guard) = tokio::task::spawn_blocking(move || -> io::Result<_> {
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{name}.{}-{n}.part", std::process::id()));
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
            #[cfg(not(unix))]
            let _ = mode;
            match opts.open(&path) {
                Ok(file) => return Ok((file, TempGuard { path, armed: true })),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    })
    .await
    .map_err(io::Error::other)??;
    Ok((File::from_std(file), guard))
}
