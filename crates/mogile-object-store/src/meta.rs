//! [`ObjectMeta`] from `file_info`: the e-tag and the constant `last_modified`.

use chrono::{DateTime, Utc};
use mogilefs::{ChecksumState, FileInfoOutput};
use object_store::ObjectMeta;
use object_store::path::Path;

/// The `last_modified` of every object: MogileFS 2.73 stores no time, and a replica's HTTP
/// `Last-Modified` differs from one replica to the next, so this constant (the Unix epoch) is
/// reported everywhere, and date preconditions are refused with `NotSupported`.
pub const LAST_MODIFIED: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

/// The e-tag: `"{fid}-{length}"`, plus `-{checksum}` (e.g. `-MD5:0123...`) when the tracker has
/// one. A fid alone can repeat after a MySQL restart reseeds the fid counter; with the length (and
/// the checksum) a reused fid with other bytes almost surely gets another tag. `rename` and
/// `updateclass` keep the fid, which is right: the bytes are the same.
pub(crate) fn e_tag(info: &FileInfoOutput) -> String {
    match &info.checksum {
        Some(ChecksumState::Present(c)) => format!("{}-{}-{c}", info.fid.0, info.length),
        _ => format!("{}-{}", info.fid.0, info.length),
    }
}

/// The object's metadata.
pub(crate) fn object_meta(location: Path, info: &FileInfoOutput) -> ObjectMeta {
    ObjectMeta {
        location,
        last_modified: LAST_MODIFIED,
        size: info.length,
        e_tag: Some(e_tag(info)),
        version: None,
    }
}
