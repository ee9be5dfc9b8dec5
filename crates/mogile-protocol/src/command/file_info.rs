//! `file_info` and `file_debug`: what the tracker knows about one file.

use super::file_create::path_of;
use super::{
    Command, CommandKind, ErrorMeaning, id_list, join_ids, push_flag, push_num, required,
    required_string,
};
use crate::args::{ArgSink, Args, parse_value};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::key::Key;
use crate::types::{ChecksumState, DevId, Fid, StoragePath};

/// `file_info`: a file's fid, class, length and replica count (server 2.45+).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// The domain.
    pub domain: String,
    /// The key.
    pub key: Key,
    /// Also return the device ids holding replicas.
    pub devices: bool,
}

impl FileInfo {
    /// Information on `key` in `domain`.
    pub fn new(domain: impl Into<String>, key: impl Into<Key>) -> Self {
        Self {
            domain: domain.into(),
            key: key.into(),
            devices: false,
        }
    }

    /// Asks for the device ids.
    #[must_use]
    pub fn devices(mut self, devices: bool) -> Self {
        self.devices = devices;
        self
    }
}

/// The answer to `file_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfoOutput {
    /// The file id.
    pub fid: Fid,
    /// The domain.
    pub domain: String,
    /// The class.
    pub class: String,
    /// The key, as stored.
    pub key: Key,
    /// The length in bytes.
    pub length: u64,
    /// The number of replicas.
    pub devcount: u32,
    /// The devices holding replicas, when asked for.
    pub devids: Option<Vec<DevId>>,
    /// The checksum, present only when the class has a hash type.
    pub checksum: Option<ChecksumState>,
}

impl Command for FileInfo {
    const NAME: &'static str = "file_info";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = true;
    type Output = FileInfoOutput;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("key", &self.key);
        push_flag(args, "devices", self.devices);
    }

    /// The fields are found in one pass over the reply (this is the second request of every
    /// read) and checked in the order they are declared, so a reply missing several reports
    /// the first of them.
    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        let [fid, domain, class, key, length, devcount, devids, checksum] = args.first_of([
            "fid", "domain", "class", "key", "length", "devcount", "devids", "checksum",
        ]);
        Ok(FileInfoOutput {
            fid: parse_value("fid", required("fid", fid)?)?,
            domain: required_string("domain", domain)?,
            class: required_string("class", class)?,
            key: Key::from(required("key", key)?),
            length: parse_value("length", required("length", length)?)?,
            devcount: parse_value("devcount", required("devcount", devcount)?)?,
            devids: devids.map(|v| id_list("devids", v)).transpose()?,
            checksum: checksum.map(|v| parse_value("checksum", v)).transpose()?,
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "fid", out.fid);
        args.push("domain", &out.domain);
        args.push("class", &out.class);
        args.push("key", &out.key);
        push_num(args, "length", out.length);
        push_num(args, "devcount", out.devcount);
        if let Some(devids) = &out.devids {
            args.push("devids", join_ids(devids));
        }
        if let Some(checksum) = &out.checksum {
            args.push("checksum", checksum.to_string());
        }
    }
    /// `unknown_key`, and the domain check.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::on_key(code)
    }
}

/// `file_debug`: the tracker's raw rows for a file, by key or by fid. Diagnostics only: it hits
/// the master database hard.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileDebug {
    /// The domain (with `key`).
    pub domain: Option<String>,
    /// The key (with `domain`).
    pub key: Option<Key>,
    /// The fid (alone).
    pub fid: Option<Fid>,
}

impl FileDebug {
    /// Looks a file up by domain and key.
    pub fn by_key(domain: impl Into<String>, key: impl Into<Key>) -> Self {
        Self {
            domain: Some(domain.into()),
            key: Some(key.into()),
            fid: None,
        }
    }

    /// Looks a file up by fid.
    pub fn by_fid(fid: Fid) -> Self {
        Self {
            domain: None,
            key: None,
            fid: Some(fid),
        }
    }
}

/// The flat dump `file_debug` returns (`fid_*`, `tempfile_*`, `*queue_*`, `devpath_<devid>`,
/// `devids`, `checksum`), with helpers for the common fields.
///
/// An unknown fid gives just `checksum=NONE` (the tracker never answers `unknown_fid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDebugInfo {
    /// Every field, in reply order.
    pub fields: Args,
}

impl FileDebugInfo {
    /// A raw field.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.get(name)
    }

    /// The file row's fid (`fid_fid`), absent when there is no file row.
    ///
    /// # Errors
    /// [`DecodeError::BadField`] when present but not a number.
    pub fn fid(&self) -> Result<Option<Fid>, DecodeError> {
        self.fields.parse_opt("fid_fid")
    }

    /// The devices holding replicas (`devids`), empty when absent.
    ///
    /// # Errors
    /// [`DecodeError::BadField`] when malformed.
    pub fn devids(&self) -> Result<Vec<DevId>, DecodeError> {
        self.fields
            .get("devids")
            .map_or(Ok(Vec::new()), |v| id_list("devids", v))
    }

    /// The `devpath_<devid>` URLs, in reply order.
    ///
    /// # Errors
    /// [`DecodeError::BadField`] when a devid or URL is malformed.
    pub fn devpaths(&self) -> Result<Vec<(DevId, StoragePath)>, DecodeError> {
        self.fields
            .iter()
            .filter_map(|(n, v)| n.strip_prefix(b"devpath_").map(|id| (n, id, v)))
            .map(|(n, id, v)| {
                let field = String::from_utf8_lossy(n);
                let devid = std::str::from_utf8(id)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| DecodeError::bad_field(&field, id))?;
                Ok((devid, path_of(&field, v)?))
            })
            .collect()
    }

    /// Whether an upload of this fid is still open (`tempfile_*` fields).
    pub fn has_open_upload(&self) -> bool {
        self.fields.iter().any(|(n, _)| n.starts_with(b"tempfile_"))
    }
}

impl Command for FileDebug {
    const NAME: &'static str = "file_debug";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = true;
    type Output = FileDebugInfo;

    fn write_args(&self, args: &mut impl ArgSink) {
        if let Some(fid) = self.fid {
            push_num(args, "fid", fid);
        }
        if let Some(domain) = &self.domain {
            args.push("domain", domain);
        }
        if let Some(key) = &self.key {
            args.push("key", key);
        }
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        let mut fields = args.clone();
        fields.remove("callid");
        Ok(FileDebugInfo { fields })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        for (n, v) in out.fields.iter() {
            args.push(n, v);
        }
    }
    /// `unknown_key` (by key), and the domain check. `unknown_fid` (by fid) is unreachable in
    /// 2.73, which answers an unknown fid with empty rows, and has no meaning of its own.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::on_key(code)
    }
}
