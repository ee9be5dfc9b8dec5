//! `get KEY FILE`: FILE is created as `curl -o` and `wget -O` create it (mode `0o666` minus the
//! umask), an existing FILE keeps its mode, and a FILE that cannot be created is a one-line
//! failure that leaves no temporary file.

#![cfg(unix)]

mod common;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Env, assert_code};

/// The process umask (the child inherits it), read without changing it (`Umask:` in
/// `/proc/self/status`, Linux 4.7+).
#[cfg(target_os = "linux")]
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("a Umask line");
    u32::from_str_radix(value.trim(), 8).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn get_key_file_creates_it_with_the_umask_mode_and_keeps_an_existing_mode() {
    let env = Env::start();
    env.put("m", b"hello");
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("out");
    env.ok([OsStr::new("get"), OsStr::new("m"), dst.as_os_str()]);
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    #[cfg(target_os = "linux")]
    assert_eq!(mode(&dst), 0o666 & !umask());

    std::fs::write(&dst, b"old").unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.ok([OsStr::new("get"), OsStr::new("m"), dst.as_os_str()]);
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    assert_eq!(mode(&dst), 0o600);
    assert_eq!(listing(dir.path()), ["out"]);

    // A FILE that cannot be created (its parent is a regular file, which stops root too).
    let bad = dst.join("f");
    let out = env.run([OsStr::new("get"), OsStr::new("m"), bad.as_os_str()]);
    let stderr = assert_code(&out, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*bad.to_string_lossy()), "{stderr}");
    assert_eq!(std::fs::read(&dst).unwrap(), b"hello");
    assert_eq!(listing(dir.path()), ["out"]);
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
    assert_eq!(listing(dir.path()), ["fifo"], "no temporary file");
}
