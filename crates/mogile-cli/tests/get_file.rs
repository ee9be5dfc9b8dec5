//! `get KEY FILE`: FILE is created as `curl -o` and `wget -O` create it (mode `0o666` minus the
//! umask), an existing FILE keeps its mode, and a FILE that cannot be created is a one-line
//! failure that leaves no temporary file.

#![cfg(unix)]

mod common;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;

use common::{Env, assert_code};
use mogile_testkit::fs::{listing, mode, umask};

#[test]
fn get_key_file_creates_it_with_the_umask_mode_and_keeps_an_existing_mode() {
    let env = Env::start();
    env.put("m", b"hello");
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out");
    env.ok([OsStr::new("get"), OsStr::new("m"), dst.as_os_str()]);
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    #[cfg(target_os = "linux")]
    assert_eq!(mode(&dst).unwrap(), 0o666 & !umask().unwrap());

    std::fs::write(&dst, b"old").unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok([OsStr::new("get"), OsStr::new("m"), dst.as_os_str()]);
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    assert_eq!(mode(&dst).unwrap(), 0o600);
    assert_eq!(listing(dir.path()).unwrap(), ["out"]);

    // A FILE that cannot be created (its parent is a regular file, which stops root too).
    let bad = dst.join("f");
    let out = env.run([OsStr::new("get"), OsStr::new("m"), bad.as_os_str()]);
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*bad.to_string_lossy()), "{stderr}");
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    assert_eq!(listing(dir.path()).unwrap(), ["out"]);
}

#[test]
fn get_key_into_a_fifo_is_refused_and_leaves_it_alone() {
    use std::os::unix::fs::FileTypeExt;

    let env = Env::start();
    env.put("m", b"hello");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let out = env.run([OsStr::new("get"), OsStr::new("m"), fifo.as_os_str()]);
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*fifo.to_string_lossy()), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(out.stdout.is_empty());
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "the FIFO is left as it is");
    assert_eq!(listing(dir.path()).unwrap(), ["fifo"], "no temporary file");
}
