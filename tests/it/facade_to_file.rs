//! `Client::get_to_file`: the mode of the file it creates or replaces, and its failures (a replica
//! dying mid-body with no other, a dropped future, a directory that refuses new files) leaving the
//! old file byte for byte and no temporary file.

#![cfg(unix)]

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::Method;
use mogile_testkit::fs::{listing, mode, umask};
use mogile_testkit::storage::Fault;
use mogile_tests::{Harness, pattern};
use mogilefs::{Error, GetOptions, StorageConfig};

const OLD: &[u8] = b"the old content, which must survive every failure";

/// A cluster of one node holding `k` (one replica: nothing to fail over to), and its bytes.
async fn one_replica(len: usize) -> (Harness, bytes::Bytes) {
    let h = Harness::start(1).await;
    let data = pattern(len);
    h.client().put("k", data.clone()).await.unwrap();
    assert_eq!(h.replicas("k").1, vec![1]);
    (h, data)
}

/// A directory holding the old file `f.bin`, the target.
fn old_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("f.bin");
    std::fs::write(&target, OLD).unwrap();
    (dir, target)
}

fn assert_old_file_alone(dir: &Path, target: &Path) {
    assert_eq!(std::fs::read(target).unwrap(), OLD);
    assert_eq!(listing(dir).unwrap(), ["f.bin"], "no temporary file");
}

#[tokio::test]
async fn get_to_file_creates_with_the_umask_mode_and_replaces_keeping_the_mode() {
    let (h, data) = one_replica(300_000).await;
    let client = h.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("new.bin");
    let n = client
        .get_to_file("k", &target, &GetOptions::new())
        .await
        .unwrap();
    assert_eq!(n, 300_000);
    assert!(std::fs::read(&target).unwrap() == data);
    #[cfg(target_os = "linux")]
    assert_eq!(mode(&target).unwrap(), 0o666 & !umask().unwrap());

    // An existing file: replaced by a rename (a new inode), its permission bits kept.
    std::fs::write(&target, OLD).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    let opts = GetOptions::new().range(10, Some(1000));
    assert_eq!(client.get_to_file("k", &target, &opts).await.unwrap(), 1000);
    assert!(std::fs::read(&target).unwrap() == data[10..1010]);
    assert_eq!(mode(&target).unwrap(), 0o640);
    assert_ne!(std::fs::metadata(&target).unwrap().ino(), inode);
    assert_eq!(listing(dir.path()).unwrap(), ["new.bin"]);
}

#[tokio::test]
async fn get_to_file_replica_dying_mid_body_with_no_other_keeps_the_old_file() {
    let (h, _) = one_replica(1 << 20).await;
    h.fault(
        1,
        Method::GET,
        Fault::ResetAfter {
            body_bytes: 1 << 19,
        },
    );
    let (dir, target) = old_file();
    let err = h
        .client()
        .get_to_file("k", &target, &GetOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoUsablePath { .. }), "{err:?}");
    assert!(!h.requests(1, Method::GET).is_empty());
    assert_old_file_alone(dir.path(), &target);
}

#[tokio::test]
async fn get_to_file_dropped_mid_body_leaves_no_temp() {
    let (h, _) = one_replica(1 << 20).await;
    h.fault(1, Method::GET, Fault::StallResponseBody { after: 1 << 19 });
    // Timeouts far beyond the test, so the stalled download is still running when dropped.
    let long = Duration::from_secs(120);
    let client = h
        .builder()
        .storage(StorageConfig {
            idle_timeout: long,
            headers_timeout: long,
            ..Harness::storage_config()
        })
        .build()
        .unwrap();
    let (dir, target) = old_file();
    let opts = GetOptions::new();
    // Boxed, so that dropping it drops the download.
    let mut download = Box::pin(client.get_to_file("k", &target, &opts));
    // Drive the download until its temporary file holds bytes: it is then mid-body.
    let mid_body = async {
        loop {
            tokio::select! {
                biased;
                r = &mut download => panic!("the stalled download ended: {r:?}"),
                () = tokio::task::yield_now() => {}
            }
            let temp_len = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .map(|e| e.metadata().unwrap().len())
                .max();
            if temp_len.is_some_and(|n| n > 0) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), mid_body)
        .await
        .expect("the download reached its body");
    drop(download);
    assert_old_file_alone(dir.path(), &target);
}

#[tokio::test]
async fn get_to_file_into_an_unwritable_directory_is_io_and_reads_nothing() {
    let (h, _) = one_replica(1000).await;
    let (dir, target) = old_file();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = std::fs::File::create(dir.path().join("probe")).is_ok();
    // Root bypasses the mode: a regular file as the parent stops it too.
    let (into, kind) = if root {
        std::fs::remove_file(dir.path().join("probe")).unwrap();
        (target.join("f.bin"), io::ErrorKind::NotADirectory)
    } else {
        (target.clone(), io::ErrorKind::PermissionDenied)
    };
    let err = h
        .client()
        .get_to_file("k", &into, &GetOptions::new())
        .await
        .unwrap_err();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let Error::Io { source } = &err else {
        panic!("expected Io, got {err:?}");
    };
    assert_eq!(source.kind(), kind, "{source}");
    assert!(
        h.requests(1, Method::GET).is_empty(),
        "the file is created before any request"
    );
    assert_old_file_alone(dir.path(), &target);
}
