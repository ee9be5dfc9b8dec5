//! A local directory as a side. Files are written through `mogilefs::AtomicFile` (temporary
//! file beside the target, fsync, rename, directory fsync), never in place, and never through a
//! symbolic link to a directory.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use mogilefs::AtomicFile;
use tokio::io::AsyncWriteExt;

use super::side::{Body, Listed, Listing, Meta, SideError, Tally};
use super::sort::Entry;

/// The longest file name most filesystems take (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// The longest path Linux takes (`PATH_MAX`), less room for the temporary file's name.
const PATH_MAX: usize = 4096 - 80;

/// A directory tree.
#[derive(Debug, Clone)]
pub(crate) struct LocalSide {
    root: PathBuf,
}

impl LocalSide {
    /// The tree under `root`.
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// Whether the filesystem of the root (or of its nearest existing ancestor) folds case:
    /// a probe file with a lower-case name is looked up by its upper-case name. A probe that
    /// cannot be made counts as case-sensitive.
    pub(crate) async fn is_case_insensitive(&self) -> bool {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let dir = root.ancestors().find(|a| a.is_dir())?;
            let probe = tempfile::Builder::new()
                .prefix(".mogile-case-probe-")
                .tempfile_in(dir)
                .ok()?;
            let name = probe.path().file_name()?.to_str()?.to_ascii_uppercase();
            Some(dir.join(name).exists())
        })
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        self.root.join(os_str(key))
    }

    /// Walks the tree on a blocking thread; entries come through a channel as they are found.
    pub(crate) fn list(&self, as_source: bool) -> Listing {
        let root = self.root.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = walk(&root, as_source, &tx) {
                let _ = tx.blocking_send(Err(SideError::Io(e)));
            }
        });
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) })
            .boxed()
    }

    /// Why `key` cannot be a file under the root.
    pub(crate) fn refuses(&self, key: &[u8]) -> Option<String> {
        refuses(key, self.root.as_os_str().len())
    }

    pub(crate) async fn meta(&self, key: &[u8]) -> Result<Meta, SideError> {
        let meta = tokio::fs::metadata(self.path(key)).await?;
        Ok(Meta {
            size: meta.len(),
            ..Meta::default()
        })
    }

    pub(crate) fn open(&self, key: &[u8]) -> Result<Body, SideError> {
        let path = self.path(key);
        let meta = std::fs::metadata(&path)?;
        if !meta.is_file() {
            return Err(SideError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        Ok(Body::File {
            path,
            len: meta.len(),
        })
    }

    pub(crate) async fn write(
        &self,
        key: &[u8],
        body: Body,
        tally: Tally,
    ) -> Result<u64, SideError> {
        if let Some(reason) = self.refuses(key) {
            return Err(SideError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                reason,
            )));
        }
        let path = self.path(key);
        self.make_parents(key).await?;
        let expected = body.len();
        let mut file = AtomicFile::create(&path).await?;
        let mut stream = body.into_stream(tally).await?;
        while let Some(chunk) = stream.next().await {
            file.write_all(&chunk?).await?;
        }
        if file.written() != expected {
            // Dropping the file removes the temporary; the target is untouched.
            return Err(SideError::Length {
                expected,
                got: file.written(),
            });
        }
        Ok(file.commit().await?)
    }

    /// Creates the directories of `key`, refusing to go through anything but a real directory
    /// under the root (a symbolic link there could point anywhere).
    async fn make_parents(&self, key: &[u8]) -> io::Result<()> {
        // The root itself may be new (a destination is made on the first write); it is the
        // user's path, symbolic links and all.
        tokio::fs::create_dir_all(&self.root).await?;
        let mut dir = self.root.clone();
        let segments: Vec<&[u8]> = key.split(|&b| b == b'/').collect();
        for seg in &segments[..segments.len().saturating_sub(1)] {
            dir.push(os_str(seg));
            match tokio::fs::symlink_metadata(&dir).await {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotADirectory,
                        format!("{} is not a directory", dir.display()),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match tokio::fs::create_dir(&dir).await {
                        Ok(()) => {}
                        // Another transfer made it meanwhile.
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes the file, then the directories it leaves empty, up to the root.
    pub(crate) async fn delete(&self, key: &[u8]) -> Result<(), SideError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let mut rel: &[u8] = key;
        while let Some(cut) = rel.iter().rposition(|&b| b == b'/') {
            rel = &rel[..cut];
            // Fails (and stops) on the first directory that is not empty.
            if tokio::fs::remove_dir(self.path(rel)).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// A key's bytes as a file name (Unix: any bytes; elsewhere keys are UTF-8, checked before).
fn os_str(key: &[u8]) -> &OsStr {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(key)
    }
    #[cfg(not(unix))]
    {
        OsStr::new(std::str::from_utf8(key).unwrap_or(""))
    }
}

fn os_bytes(name: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// Why `key` cannot be a file name under a root of `root_len` bytes.
pub(crate) fn refuses(key: &[u8], root_len: usize) -> Option<String> {
    if key.is_empty() {
        return Some("an empty key cannot be a file name".into());
    }
    if key.contains(&0) {
        return Some("a file name cannot hold a NUL byte".into());
    }
    if root_len + 1 + key.len() > PATH_MAX {
        return Some(format!("the path would be longer than {PATH_MAX} bytes"));
    }
    #[cfg(not(unix))]
    if std::str::from_utf8(key).is_err() {
        return Some("a file name must be UTF-8 here".into());
    }
    for seg in key.split(|&b| b == b'/') {
        match seg {
            b"" => return Some("an empty path segment (`//`, or `/` first or last)".into()),
            b"." | b".." => return Some("a `.` or `..` path segment".into()),
            s if s.len() > NAME_MAX => {
                return Some(format!("a name longer than {NAME_MAX} bytes"));
            }
            _ => {}
        }
    }
    None
}

/// The walk, depth first; each directory's entries sorted (the engine sorts again anyway).
fn walk(
    root: &Path,
    as_source: bool,
    tx: &tokio::sync::mpsc::Sender<Result<Listed, SideError>>,
) -> io::Result<()> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && !as_source => return Ok(()),
        Err(e) => return Err(e),
    }
    let send = |item| tx.blocking_send(item).is_ok();
    let mut stack: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(os_str(&rel));
        let entries = match std::fs::read_dir(&dir) {
            Ok(it) => it,
            Err(e) if rel.is_empty() => return Err(e),
            Err(e) => {
                let bad = Listed::Bad {
                    key: rel,
                    reason: format!("cannot read the directory: {e}"),
                };
                if !send(Ok(bad)) {
                    return Ok(());
                }
                continue;
            }
        };
        for entry in entries {
            let entry = entry?;
            let mut key = rel.clone();
            if !key.is_empty() {
                key.push(b'/');
            }
            key.extend_from_slice(&os_bytes(&entry.file_name()));
            let item = match classify(&entry.path()) {
                Kind::File(size) => Listed::Entry(Entry {
                    key,
                    size: Some(size),
                }),
                Kind::Dir => {
                    stack.push(key);
                    continue;
                }
                Kind::Bad(reason) => Listed::Bad { key, reason },
            };
            if !send(Ok(item)) {
                // The receiver is gone: the sync stopped.
                return Ok(());
            }
        }
    }
    Ok(())
}

enum Kind {
    File(u64),
    Dir,
    Bad(String),
}

/// What a directory entry is: a real directory is walked; a file, or a symbolic link to one,
/// is listed; anything else cannot be synced.
fn classify(path: &Path) -> Kind {
    let lmeta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Kind::Bad(format!("cannot examine it: {e}")),
    };
    if lmeta.is_dir() {
        return Kind::Dir;
    }
    if lmeta.is_file() {
        return Kind::File(lmeta.len());
    }
    if lmeta.file_type().is_symlink() {
        return match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Kind::File(m.len()),
            Ok(m) if m.is_dir() => {
                Kind::Bad("a symbolic link to a directory (not followed)".into())
            }
            Ok(_) => Kind::Bad("a symbolic link to something that is not a file".into()),
            Err(e) => Kind::Bad(format!("a broken symbolic link: {e}")),
        };
    }
    Kind::Bad("not a regular file (a FIFO, socket or device)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_be_files() {
        assert_eq!(refuses(b"a/b c/%+&=\xc3\xa9", 10), None);
        for bad in [
            b"".as_slice(),
            b"a//b",
            b"/a",
            b"a/",
            b"./a",
            b"a/../b",
            b"..",
            b"a\0b",
        ] {
            assert!(refuses(bad, 10).is_some(), "{bad:?}");
        }
        assert!(refuses(&[b'x'; 256], 10).is_some());
        assert!(refuses(&[b'x'; 255], 10).is_none());
        let deep = "d/".repeat(2100) + "f";
        assert!(refuses(deep.as_bytes(), 10).is_some());
    }
}
