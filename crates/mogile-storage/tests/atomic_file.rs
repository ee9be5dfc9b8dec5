//! [`AtomicFile`] and [`StorageClient::get_to_file`] on the local filesystem: the mode of new and
//! replaced files, atomic replacement, and every way to fail leaving the target as it was and no
//! temporary file behind.

#![cfg(unix)]

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mogile_storage::{AtomicFile, StorageClient, StorageConfig, StorageError, StorageGetOptions};
use mogile_testkit::fs::{listing, mode, umask};
use mogile_testkit::storage::FaultPeer;
use tokio::io::AsyncWriteExt;

const OLD: &[u8] = b"the old content, which must survive every failure";

fn client() -> StorageClient {
    StorageClient::builder()
        .config(StorageConfig {
            idle_timeout: Duration::from_secs(30),
            headers_timeout: Duration::from_secs(30),
            ..StorageConfig::default()
        })
        .build()
        .unwrap()
}

/// Makes a FIFO at `path` with `mkfifo(1)`.
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_fifo()
}

/// A target whose directory refuses new files, next to an old file that must stay as it is.
///
/// A directory of mode `0o555` holding the old file `f.bin`, the target. Root bypasses the
/// permission check (seen when a probe file can be created anyway): then the target is a path
/// under a regular file, the old file, which fails for root too.
struct Unwritable {
    target: PathBuf,
    /// The directory to list: only `old` must be in it afterwards.
    dir: PathBuf,
    old: PathBuf,
    kind: io::ErrorKind,
}

impl Unwritable {
    fn new(base: &Path) -> Self {
        let dir = base.join("ro");
        std::fs::create_dir(&dir).unwrap();
        let old = dir.join("f.bin");
        std::fs::write(&old, OLD).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if std::fs::File::create(&probe).is_err() {
            return Self {
                target: old.clone(),
                dir,
                old,
                kind: io::ErrorKind::PermissionDenied,
            };
        }
        // Root: the mode does not stop us. A regular file as the parent does.
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self {
            target: old.join("f.bin"),
            dir,
            old,
            kind: io::ErrorKind::NotADirectory,
        }
    }

    fn assert_untouched(&self) {
        assert_eq!(std::fs::read(&self.old).unwrap(), OLD);
        assert_eq!(listing(&self.dir).unwrap(), ["f.bin"], "no temporary file");
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        // So the temporary directory can be removed.
        let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn new_file_gets_0666_minus_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new.bin");
    let mut file = AtomicFile::create(&target).await.unwrap();
    assert_eq!(file.target(), target);
    file.write_all(b"abc").await.unwrap();
    assert_eq!(file.written(), 3);
    assert_eq!(file.commit().await.unwrap(), 3);
    assert_eq!(std::fs::read(&target).unwrap(), b"abc");
    assert_eq!(mode(&target).unwrap(), 0o666 & !umask().unwrap());
    assert_eq!(listing(dir.path()).unwrap(), ["new.bin"]);
}

#[tokio::test]
async fn replacing_keeps_the_permission_bits_and_swaps_the_inode() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    // Set-user-ID and friends are dropped, as a write in place by an unprivileged process would.
    for (before, after) in [(0o640, 0o640), (0o4750, 0o750), (0o600, 0o600)] {
        std::fs::write(&target, OLD).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(before)).unwrap();
        let old_inode = std::fs::metadata(&target).unwrap().ino();
        let mut file = AtomicFile::create(&target).await.unwrap();
        file.write_all(b"new").await.unwrap();
        // The old file stays whole until the rename.
        assert_eq!(std::fs::read(&target).unwrap(), OLD);
        file.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target).unwrap(), after, "{before:o}");
        assert_ne!(
            std::fs::metadata(&target).unwrap().ino(),
            old_inode,
            "replaced by a rename, not rewritten in place"
        );
        assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);
    }
}

#[tokio::test]
async fn the_temp_file_is_never_more_permissive_than_the_file_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    for before in [0o600, 0o640, 0o400, 0o000, 0o4755, 0o666] {
        std::fs::write(&target, OLD).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(before)).unwrap();
        let mut file = AtomicFile::create(&target).await.unwrap();
        // Created so: no `chmod` after the creation, which a reader that opened it first would
        // survive.
        let created = mode(file.temp_path()).unwrap();
        file.write_all(b"secret").await.unwrap();
        file.flush().await.unwrap();
        let temp = mode(file.temp_path()).unwrap();
        assert_eq!(temp, created, "{before:o}");
        assert_eq!(temp & !before, 0, "{before:o}: temp {temp:o}");
        #[cfg(target_os = "linux")]
        assert_eq!(temp, before & 0o666 & !umask().unwrap(), "{before:o}");
        file.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(mode(&target).unwrap(), before & 0o777, "{before:o}");
        assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);
    }
    // The private case spelled out: no group or other bit while the new content is written.
    std::fs::write(&target, OLD).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut file = AtomicFile::create(&target).await.unwrap();
    file.write_all(b"secret").await.unwrap();
    assert_eq!(mode(file.temp_path()).unwrap() & 0o077, 0);
    drop(file);
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
}

#[tokio::test]
async fn fifos_and_sockets_are_refused_before_any_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let err = AtomicFile::create(&fifo).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("FIFO") && text.contains("not a regular file"),
        "{text}"
    );
    assert!(is_fifo(&fifo), "the FIFO is left as it is");

    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let err = AtomicFile::create(&sock).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("a socket"), "{err}");
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert_eq!(
        listing(dir.path()).unwrap(),
        ["fifo", "sock"],
        "no temporary file"
    );
}

#[tokio::test]
async fn a_target_that_became_a_fifo_fails_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    std::fs::write(&target, OLD).unwrap();
    let mut file = AtomicFile::create(&target).await.unwrap();
    file.write_all(b"new").await.unwrap();
    std::fs::remove_file(&target).unwrap();
    mkfifo(&target);
    let err = file.commit().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(is_fifo(&target));
    assert_eq!(listing(dir.path()).unwrap(), ["f.bin"], "no temporary file");
}

#[tokio::test]
async fn a_symlink_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let private = dir.path().join("private");
    std::fs::write(&private, OLD).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    for pointee in [&fifo, &private] {
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(pointee, &link).unwrap();
        let mut file = AtomicFile::create(&link).await.unwrap();
        file.write_all(b"new").await.unwrap();
        file.commit().await.unwrap();
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file(), "{}", pointee.display());
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        std::fs::remove_file(&link).unwrap();
    }
    assert!(is_fifo(&fifo));
    assert_eq!(std::fs::read(&private).unwrap(), OLD);
    assert_eq!(mode(&private).unwrap(), 0o600);
    assert_eq!(listing(dir.path()).unwrap(), ["fifo", "private"]);
}

#[tokio::test]
async fn temp_files_are_hidden_beside_the_target_and_unique() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    let mut a = AtomicFile::create(&target).await.unwrap();
    let mut b = AtomicFile::create(&target).await.unwrap();
    for t in [a.temp_path(), b.temp_path()] {
        assert_eq!(t.parent(), Some(dir.path()));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".f.bin.") && name.ends_with(".part"),
            "{name}"
        );
    }
    assert_ne!(a.temp_path(), b.temp_path());
    assert_eq!(listing(dir.path()).unwrap().len(), 2);
    assert!(!target.exists());
    a.write_all(b"a").await.unwrap();
    b.write_all(b"b").await.unwrap();
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"b",
        "the last commit wins"
    );
    assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);

    // A name at the usual 255-byte limit still gets a temporary name that fits.
    let long = dir.path().join("é".repeat(127));
    let file = AtomicFile::create(&long).await.unwrap();
    assert!(file.temp_path().file_name().unwrap().len() < 128);
    file.commit().await.unwrap();
    assert_eq!(std::fs::read(&long).unwrap(), b"");
}

#[tokio::test]
async fn dropped_without_commit_leaves_the_target_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    std::fs::write(&target, OLD).unwrap();
    let mut file = AtomicFile::create(&target).await.unwrap();
    file.write_all(&[7; 100_000]).await.unwrap();
    file.flush().await.unwrap();
    assert_eq!(std::fs::metadata(file.temp_path()).unwrap().len(), 100_000);
    drop(file);
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);
}

#[tokio::test]
async fn unwritable_directory_fails_at_create() {
    let base = tempfile::tempdir().unwrap();
    let place = Unwritable::new(base.path());
    let err = AtomicFile::create(&place.target).await.unwrap_err();
    assert_eq!(err.kind(), place.kind, "{err}");
    place.assert_untouched();
}

#[tokio::test]
async fn targets_without_a_file_name_or_that_are_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = AtomicFile::create(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    let err = AtomicFile::create(dir.path().join("..")).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = AtomicFile::create(dir.path().join("missing/f.bin"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(listing(dir.path()).unwrap().is_empty());
}

/// A peer answering 200 with `Content-Length: 100000`: the first request gets the whole body,
/// every later one half of it, then closes (or stalls, with `stall`).
async fn half_body_peer(stall: bool) -> FaultPeer {
    let served = Arc::new(AtomicUsize::new(0));
    FaultPeer::start(move |mut conn| {
        let served = served.clone();
        async move {
            loop {
                conn.read_head().await?;
                let first = served.fetch_add(1, Ordering::SeqCst) == 0;
                conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                    .await?;
                if first {
                    conn.write(&[1; 100_000]).await?;
                    continue;
                }
                conn.write(&[2; 50_000]).await?;
                if stall {
                    conn.stall().await?;
                }
                return Ok(());
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn get_to_file_stream_failing_halfway_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    let peer = half_body_peer(false).await;
    let client = client();
    let url = peer.url("/dev1/f.fid");
    let n = client
        .get_to_file(&url, &target, &StorageGetOptions::default())
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    let old = std::fs::read(&target).unwrap();
    assert_eq!(old, [1; 100_000]);
    #[cfg(target_os = "linux")]
    assert_eq!(mode(&target).unwrap(), 0o666 & !umask().unwrap());

    // The second body stops at half: an error, the old file byte for byte, no temporary file.
    let err = client
        .get_to_file(&url, &target, &StorageGetOptions::default())
        .await
        .unwrap_err();
    assert!(!matches!(err, StorageError::Io { .. }), "{err:?}");
    assert!(err.try_another_replica(), "{err:?}");
    assert!(std::fs::read(&target).unwrap() == old);
    assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);
}

#[tokio::test]
async fn get_to_file_dropped_mid_body_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    std::fs::write(&target, OLD).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let peer = half_body_peer(true).await;
    let client = client();
    // The first request takes the whole body, so the next one stalls at half.
    let other = dir.path().join("warm.bin");
    client
        .get_to_file(&peer.url("/x"), &other, &StorageGetOptions::default())
        .await
        .unwrap();
    std::fs::remove_file(&other).unwrap();

    let opts = StorageGetOptions::default();
    let url = peer.url("/x");
    // Boxed, so that dropping it drops the download.
    let mut download = Box::pin(client.get_to_file(&url, &target, &opts));
    // Drive the download until its temporary file holds bytes: it is then mid-body.
    let mid_body = async {
        loop {
            tokio::select! {
                biased;
                r = &mut download => panic!("the stalled download ended: {r:?}"),
                () = tokio::task::yield_now() => {}
            }
            let temp = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .map(|e| e.metadata().unwrap())
                .max_by_key(|m| m.len());
            if let Some(temp) = temp.filter(|m| m.len() > 0) {
                break temp;
            }
        }
    };
    let temp = tokio::time::timeout(Duration::from_secs(30), mid_body)
        .await
        .expect("the download reached its body");
    // Replacing a private file: the partial content is private too.
    assert_eq!(temp.permissions().mode() & 0o077, 0);
    drop(download);
    assert_eq!(std::fs::read(&target).unwrap(), OLD);
    assert_eq!(listing(dir.path()).unwrap(), ["f.bin"]);
}

#[tokio::test]
async fn get_to_file_into_a_fifo_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let peer = half_body_peer(false).await;
    let err = client()
        .get_to_file(&peer.url("/x"), &fifo, &StorageGetOptions::default())
        .await
        .unwrap_err();
    let StorageError::Io { source, .. } = &err else {
        panic!("expected Io, got {err:?}");
    };
    assert_eq!(source.kind(), io::ErrorKind::InvalidInput, "{source}");
    assert!(!err.try_another_replica());
    assert_eq!(peer.connection_count(), 0, "refused before the request");
    assert!(is_fifo(&fifo));
    assert_eq!(listing(dir.path()).unwrap(), ["fifo"]);
}

#[tokio::test]
async fn get_to_file_into_an_unwritable_directory_sends_nothing() {
    let base = tempfile::tempdir().unwrap();
    let place = Unwritable::new(base.path());
    let peer = half_body_peer(false).await;
    let err = client()
        .get_to_file(
            &peer.url("/x"),
            &place.target,
            &StorageGetOptions::default(),
        )
        .await
        .unwrap_err();
    let StorageError::Io { source, .. } = &err else {
        panic!("expected Io, got {err:?}");
    };
    assert_eq!(source.kind(), place.kind, "{source}");
    assert!(!err.try_another_replica());
    assert_eq!(peer.connection_count(), 0, "the file is created first");
    place.assert_untouched();
}

/// A `create` dropped while its temporary file is being made leaves no file behind: the file
/// and its guard are made together, and the guard of a result nobody awaits removes it.
#[test]
fn a_create_dropped_midway_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // Dropped after a growing number of polls, so some drop lands while the file is made.
    for polls in 0..300 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let target = dir.path().join("out.bin");
        rt.block_on(async {
            let mut create = Box::pin(AtomicFile::create(&target));
            // Poll until the temporary file is being made on the blocking pool, then drop.
            for _ in 0..polls {
                if futures_util::poll!(create.as_mut()).is_ready() {
                    break;
                }
                std::thread::yield_now();
                tokio::task::yield_now().await;
            }
        });
        // Dropping the runtime waits for the blocking tasks already running.
        drop(rt);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "after {polls} polls: {left:?}");
    }
}
