//! `create_open` and `create_close`: the two tracker halves of an upload.

use super::{
    Command, CommandKind, ErrorMeaning, indexed_map, push_flag, push_num, push_opt, push_opt_num,
};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::key::Key;
use crate::types::{Checksum, DevId, Fid, StoragePath};

/// `create_open`: allocate a fid and one or more destinations for an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateOpen {
    /// The domain.
    pub domain: String,
    /// The key the file will get (the one given to `create_close` wins).
    pub key: Option<Key>,
    /// The class; the tracker uses `default` when absent.
    pub class: Option<String>,
    /// Ask for up to three destinations.
    pub multi_dest: bool,
    /// An explicit fid (migrations); the tracker allocates one when absent.
    pub fid: Option<Fid>,
    /// The expected size, so devices without room are skipped (2.61+).
    pub size: Option<u64>,
    /// `zone=alt`: use the hosts' alternate IPs.
    pub zone: Option<String>,
}

impl CreateOpen {
    /// An upload into `domain`.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            key: None,
            class: None,
            multi_dest: false,
            fid: None,
            size: None,
            zone: None,
        }
    }

    /// Sets the key.
    #[must_use]
    pub fn key(mut self, key: impl Into<Key>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the class.
    #[must_use]
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }

    /// Asks for several destinations.
    #[must_use]
    pub fn multi_dest(mut self, multi_dest: bool) -> Self {
        self.multi_dest = multi_dest;
        self
    }

    /// Sets an explicit fid.
    #[must_use]
    pub fn fid(mut self, fid: Fid) -> Self {
        self.fid = Some(fid);
        self
    }

    /// Sets the expected size.
    #[must_use]
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the zone (`alt`).
    #[must_use]
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

/// One place to upload to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The device.
    pub devid: DevId,
    /// The URL to PUT to, verbatim.
    pub path: StoragePath,
}

/// The answer to `create_open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOpenOutput {
    /// The allocated fid.
    pub fid: Fid,
    /// The destinations, in the tracker's order of preference.
    pub destinations: Vec<Destination>,
}

impl Command for CreateOpen {
    const NAME: &'static str = "create_open";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = false;
    type Output = CreateOpenOutput;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        push_opt(args, "key", self.key.as_ref());
        push_opt(args, "class", self.class.as_ref());
        push_flag(args, "multi_dest", self.multi_dest);
        push_opt_num(args, "fid", self.fid);
        push_opt_num(args, "size", self.size);
        push_opt(args, "zone", self.zone.as_ref());
    }

    /// Reads both forms: `devid`/`path`, and `dev_count` with `devid_N`/`path_N`.
    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        let fid = args.parse("fid")?;
        let destinations = if args.get("dev_count").is_some() {
            let devids = indexed_map(args, "dev_count", "devid_", |i, v| {
                parse_bytes::<DevId>(&format!("devid_{}", i + 1), v)
            })?;
            let paths = indexed_map(
                args,
                "dev_count",
                "path_",
                |i, v| match std::str::from_utf8(v) {
                    Ok(s) => Ok(StoragePath::from(s)),
                    Err(_) => path_of(&format!("path_{}", i + 1), v),
                },
            )?;
            devids
                .into_iter()
                .zip(paths)
                .map(|(devid, path)| Destination { devid, path })
                .collect()
        } else {
            vec![Destination {
                devid: args.parse("devid")?,
                path: path_of("path", args.required("path")?)?,
            }]
        };
        Ok(CreateOpenOutput { fid, destinations })
    }

    /// One destination gives the single form, several the `dev_count` form.
    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "fid", out.fid);
        if let [only] = out.destinations.as_slice() {
            push_num(args, "devid", only.devid);
            args.push("path", only.path.as_str());
            return;
        }
        push_num(args, "dev_count", out.destinations.len());
        for (i, d) in out.destinations.iter().enumerate() {
            push_num(args, &format!("devid_{}", i + 1), d.devid);
            args.push(format!("path_{}", i + 1), d.path.as_str());
        }
    }
    /// `no_devices`: no device can take the file now (nothing was created; the same request may
    /// succeed later); `fid_in_use`: the explicit fid is taken; the class lookup and the domain
    /// check.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match code {
            ErrorCode::NoDevices => ErrorMeaning::NoWritableDevices,
            ErrorCode::FidInUse => ErrorMeaning::AlreadyExists,
            other => ErrorMeaning::in_class(other),
        }
    }
}

fn parse_bytes<T: std::str::FromStr>(field: &str, v: &[u8]) -> Result<T, DecodeError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DecodeError::bad_field(field, v))
}

/// A storage path field, which must be UTF-8.
pub(crate) fn path_of(field: &str, v: &[u8]) -> Result<StoragePath, DecodeError> {
    std::str::from_utf8(v)
        .map(StoragePath::from)
        .map_err(|_| DecodeError::bad_field(field, v))
}

/// `create_close`: commit an upload (or abandon it, without a key).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateClose {
    /// The domain.
    pub domain: String,
    /// The final key; `None` abandons the upload (the tracker deletes the temp file).
    pub key: Option<Key>,
    /// The fid from `create_open`.
    pub fid: Fid,
    /// The destination actually written.
    pub devid: DevId,
    /// The URL actually written, exactly as `create_open` returned it.
    pub path: StoragePath,
    /// The size written; the tracker HEADs the file and compares. `None` skips the check.
    pub size: Option<u64>,
    /// The checksum of the content.
    pub checksum: Option<Checksum>,
    /// Ask the tracker to re-read the file and verify the checksum (slow).
    pub checksum_verify: bool,
    /// `zone=alt`.
    pub zone: Option<String>,
}

impl CreateClose {
    /// Closes the upload of `fid` written to `devid` at `path`.
    pub fn new(domain: impl Into<String>, fid: Fid, devid: DevId, path: StoragePath) -> Self {
        Self {
            domain: domain.into(),
            key: None,
            fid,
            devid,
            path,
            size: None,
            checksum: None,
            checksum_verify: false,
            zone: None,
        }
    }

    /// Sets the final key.
    #[must_use]
    pub fn key(mut self, key: impl Into<Key>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the size to verify.
    #[must_use]
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets the checksum.
    #[must_use]
    pub fn checksum(mut self, checksum: Checksum) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// Asks for server-side checksum verification.
    #[must_use]
    pub fn checksum_verify(mut self, verify: bool) -> Self {
        self.checksum_verify = verify;
        self
    }

    /// Sets the zone.
    #[must_use]
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

/// What an `ERR` answer to `create_close` means for the key, by code.
///
/// 2.73's `cmd_create_close` (`lib/MogileFS/Worker/Query.pm`) runs in stretches, each committed
/// statement by statement, and each code is answered from one stretch:
///
/// | stretch | codes | meaning |
/// | --- | --- | --- |
/// | argument checks, before `delete_and_return_tempfile_row` | `no_domain`, `unreg_domain`, `no_fid`, `no_devid`, `no_path`, `invalid_checksum_format`, `bogus_args` | [`NothingChanged`](Self::NothingChanged) |
/// | temp row consumed, then `$failed->()` deletes the new fid; the old fid is untouched | `invalid_destdev`, `size_verify_error`, `size_mismatch`, `checksum_mismatch` | [`UploadDiscarded`](Self::UploadDiscarded) |
/// | `return $self->err_line("fid_exists") unless $old_fid->{fidid} != $fidid`: the key already points at this fid | `fid_exists` | [`Uncertain`](Self::Uncertain) (it means success) |
/// | `delete_and_return_tempfile_row ... or return err_line("no_temp_file")`: an earlier close (or a re-dispatched run of this one) may have committed | `no_temp_file` | [`Uncertain`](Self::Uncertain) |
/// | after `$old_fid->delete` and `replace_into_file`, the `file_stored` hook failed and `$fid->delete` ran | `plugin_aborted` | [`Uncertain`](Self::Uncertain) (the key may now be missing) |
/// | anywhere: `process_line` turns every exception into one of these | `failure`, `dup` | [`Uncertain`](Self::Uncertain) |
///
/// Any other code (`domain_not_found` and `db` never come from this command) is
/// [`Uncertain`](Self::Uncertain): only the first two rows are definite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseError {
    /// Refused before any database change: nothing changed; sending the same close again fails
    /// the same way.
    NothingChanged,
    /// The temp-file row was consumed and the server deleted the new upload; the key keeps its
    /// previous content. A new `create_open` and upload may succeed.
    UploadDiscarded,
    /// The close may have committed, not committed, or (after the old fid was deleted) left the
    /// key with no content: ask `file_info` what the key holds now.
    Uncertain,
}

impl CreateClose {
    /// What an `ERR code` answer to this command means for the upload's commit (see
    /// [`CloseError`]). [`Command::error_meaning`] says what it means to a caller.
    pub fn close_error(code: &ErrorCode) -> CloseError {
        match code {
            ErrorCode::NoDomain
            | ErrorCode::UnregDomain
            | ErrorCode::NoFid
            | ErrorCode::NoDevid
            | ErrorCode::NoPath
            | ErrorCode::InvalidChecksumFormat
            | ErrorCode::BogusArgs => CloseError::NothingChanged,
            ErrorCode::InvalidDestdev
            | ErrorCode::SizeVerifyError
            | ErrorCode::SizeMismatch
            | ErrorCode::ChecksumMismatch => CloseError::UploadDiscarded,
            _ => CloseError::Uncertain,
        }
    }
}

impl Command for CreateClose {
    const NAME: &'static str = "create_close";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        push_opt(args, "key", self.key.as_ref());
        push_num(args, "fid", self.fid);
        push_num(args, "devid", self.devid);
        args.push("path", self.path.as_str());
        push_opt_num(args, "size", self.size);
        push_opt(
            args,
            "checksum",
            self.checksum.as_ref().map(|c| c.to_string()),
        );
        push_flag(args, "checksumverify", self.checksum_verify);
        push_opt(args, "zone", self.zone.as_ref());
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
    /// The codes of an upload the tracker discarded ([`CloseError::UploadDiscarded`]) and
    /// `bogus_args` are [`ErrorMeaning::UploadRejected`]; the domain check. Every other code,
    /// `no_temp_file` among them, has no meaning of its own: what it means for the commit is
    /// [`close_error`](Self::close_error)'s business.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match (Self::close_error(code), code) {
            (CloseError::UploadDiscarded, _) | (_, ErrorCode::BogusArgs) => {
                ErrorMeaning::UploadRejected
            }
            (_, other) => ErrorMeaning::in_domain(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code, walked: only the argument checks and the four discard paths are definite; the
    /// rest (including codes `create_close` never sends, and unknown ones) must be reconciled.
    #[test]
    fn every_close_error_code_has_its_stretch() {
        for code in ErrorCode::KNOWN {
            let expected = match code.as_str() {
                "no_domain"
                | "unreg_domain"
                | "no_fid"
                | "no_devid"
                | "no_path"
                | "invalid_checksum_format"
                | "bogus_args" => CloseError::NothingChanged,
                "invalid_destdev" | "size_verify_error" | "size_mismatch" | "checksum_mismatch" => {
                    CloseError::UploadDiscarded
                }
                _ => CloseError::Uncertain,
            };
            assert_eq!(CreateClose::close_error(code), expected, "{code}");
        }
        for uncertain in [
            "no_temp_file",
            "fid_exists",
            "plugin_aborted",
            "failure",
            "dup",
        ] {
            assert_eq!(
                CreateClose::close_error(&ErrorCode::from(uncertain)),
                CloseError::Uncertain
            );
        }
        assert_eq!(
            CreateClose::close_error(&ErrorCode::from("brand_new")),
            CloseError::Uncertain
        );
    }
}
