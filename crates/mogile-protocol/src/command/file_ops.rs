//! `get_paths`, `delete`, `rename` and `updateclass`: commands on one existing key.

use super::file_create::path_of;
use super::{
    Command, CommandKind, ErrorMeaning, indexed_map, push_flag, push_num, push_opt, push_opt_num,
};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::key::Key;
use crate::types::StoragePath;

/// `get_paths`: the URLs a key can be read from, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetPaths {
    /// The domain.
    pub domain: String,
    /// The key.
    pub key: Key,
    /// Skip the tracker's HEAD check of the first path (much faster when a node is down).
    pub noverify: bool,
    /// The maximum number of paths (the tracker raises values below 2 to 2).
    pub pathcount: Option<u32>,
    /// `zone=alt`.
    pub zone: Option<String>,
}

impl GetPaths {
    /// The paths of `key` in `domain`.
    pub fn new(domain: impl Into<String>, key: impl Into<Key>) -> Self {
        Self {
            domain: domain.into(),
            key: key.into(),
            noverify: false,
            pathcount: None,
            zone: None,
        }
    }

    /// Sets `noverify`.
    #[must_use]
    pub fn noverify(mut self, noverify: bool) -> Self {
        self.noverify = noverify;
        self
    }

    /// Sets `pathcount`.
    #[must_use]
    pub fn pathcount(mut self, pathcount: u32) -> Self {
        self.pathcount = Some(pathcount);
        self
    }

    /// Sets the zone.
    #[must_use]
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

impl Command for GetPaths {
    const NAME: &'static str = "get_paths";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = true;
    /// The paths in the tracker's order; possibly empty (`OK paths=0`: the file exists but no
    /// replica is readable right now).
    type Output = Vec<StoragePath>;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("key", &self.key);
        push_flag(args, "noverify", self.noverify);
        push_opt_num(args, "pathcount", self.pathcount);
        push_opt(args, "zone", self.zone.as_ref());
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        // The hot path of every read: no per-path formatting unless a path is bad.
        indexed_map(args, "paths", "path", |i, v| match std::str::from_utf8(v) {
            Ok(s) => Ok(StoragePath::from(s)),
            Err(_) => path_of(&format!("path{}", i + 1), v),
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "paths", out.len());
        for (i, p) in out.iter().enumerate() {
            args.push(format!("path{}", i + 1), p.as_str());
        }
    }

    /// `unknown_key`, and the domain check.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::on_key(code)
    }
}

/// `delete`: remove a key (replicas are deleted later by the tracker).
///
/// The tracker answers `unknown_key` for a missing key; callers wanting an idempotent delete
/// map that to success, as the Perl client does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delete {
    /// The domain.
    pub domain: String,
    /// The key.
    pub key: Key,
}

impl Delete {
    /// Deletes `key` from `domain`.
    pub fn new(domain: impl Into<String>, key: impl Into<Key>) -> Self {
        Self {
            domain: domain.into(),
            key: key.into(),
        }
    }
}

impl Command for Delete {
    const NAME: &'static str = "delete";
    const KIND: CommandKind = CommandKind::File;
    /// A resent delete could remove a file stored under the same key in between.
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("key", &self.key);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}

    /// `unknown_key`, and the domain check.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::on_key(code)
    }
}

/// `rename`: give a file a new key (fails with `key_exists` when the target exists).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rename {
    /// The domain.
    pub domain: String,
    /// The current key (wire `from_key`).
    pub from: Key,
    /// The new key (wire `to_key`).
    pub to: Key,
}

impl Rename {
    /// Renames `from` to `to` in `domain`.
    pub fn new(domain: impl Into<String>, from: impl Into<Key>, to: impl Into<Key>) -> Self {
        Self {
            domain: domain.into(),
            from: from.into(),
            to: to.into(),
        }
    }
}

impl Command for Rename {
    const NAME: &'static str = "rename";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("from_key", &self.from);
        args.push("to_key", &self.to);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}

    /// `unknown_key`: the source key is missing; `key_exists`: the target is taken (both keys
    /// are unchanged); and the domain check.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match code {
            ErrorCode::KeyExists => ErrorMeaning::AlreadyExists,
            other => ErrorMeaning::on_key(other),
        }
    }
}

/// `updateclass` (no underscore): move one file to another class.
///
/// A missing key is reported as `invalid_key`, not `unknown_key`. Not to be confused with the
/// admin command [`UpdateClass`](super::UpdateClass) (`update_class`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateFileClass {
    /// The domain.
    pub domain: String,
    /// The key.
    pub key: Key,
    /// The new class.
    pub class: String,
}

impl UpdateFileClass {
    /// Moves `key` to `class`.
    pub fn new(domain: impl Into<String>, key: impl Into<Key>, class: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            key: key.into(),
            class: class.into(),
        }
    }
}

impl Command for UpdateFileClass {
    const NAME: &'static str = "updateclass";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("key", &self.key);
        args.push("class", &self.class);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}

    /// `invalid_key`: the key is missing; the class lookup and the domain check.
    ///
    /// `no_devices` here is not the cluster being full, as from `create_open`: 2.73's
    /// `cmd_updateclass` answers it when the file has no replica at all (`$fid->devids` is
    /// empty), which waiting does not change. It has no meaning of its own
    /// ([`ErrorMeaning::Other`]).
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match code {
            ErrorCode::InvalidKey => ErrorMeaning::UnknownKey,
            other => ErrorMeaning::in_class(other),
        }
    }
}
