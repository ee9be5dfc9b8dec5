//! Local-file facts that tests of downloads check: the process umask, a file's permission bits,
//! and what a directory holds (temporary files left behind show up there).

use std::io;
use std::path::Path;

/// The process's umask, read from `/proc/self/status` without changing it (the `umask(2)` call
/// sets while it reads, which races with other threads). Linux only.
///
/// # Errors
/// `/proc/self/status` cannot be read or has no `Umask:` line.
#[cfg(target_os = "linux")]
pub fn umask() -> io::Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no Umask line"))?;
    u32::from_str_radix(value.trim(), 8).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The permission bits (including setuid, setgid and sticky) of the file at `path`.
///
/// # Errors
/// The file's metadata cannot be read.
#[cfg(unix)]
pub fn mode(path: &Path) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o7777)
}

/// The names in `dir`, hidden ones included, sorted (lossily decoded).
///
/// # Errors
/// The directory cannot be read.
pub fn listing(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}
