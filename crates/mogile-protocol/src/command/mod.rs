//! Typed commands: one struct per tracker command, grouped by family.
//!
//! A command knows its wire name, how to write its arguments, and how to read its `OK`
//! arguments into a typed output; the server side can write that output back
//! ([`Command::encode_output`]). A `callid` is not part of any command: the tracker client adds
//! it to the encoded line ([`RequestLine`](crate::RequestLine)) and checks the echo.

use crate::args::{ArgSink, Args, parse_value, str_value};
use crate::error::{DecodeError, ReplyError};
use crate::error_code::ErrorCode;
use crate::key::Key;
use crate::request::Request;
use crate::response::{ErrLine, Response};

/// Defines a command struct without arguments.
macro_rules! unit_struct {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        #[non_exhaustive]
        pub struct $name;

        impl $name {
            /// The command.
            pub fn new() -> Self {
                Self
            }
        }
    };
}

/// Defines a command without arguments whose `OK` carries nothing.
macro_rules! unit_command {
    ($(#[$doc:meta])* $name:ident = $wire:literal, $kind:ident, idempotent: $idem:literal) => {
        unit_struct! { $(#[$doc])* $name }

        impl $crate::command::Command for $name {
            const NAME: &'static str = $wire;
            const KIND: $crate::command::CommandKind = $crate::command::CommandKind::$kind;
            const IDEMPOTENT: bool = $idem;
            type Output = ();

            fn write_args(&self, _args: &mut impl $crate::args::ArgSink) {}

            fn parse_ok(_args: &$crate::args::Args) -> Result<(), $crate::error::DecodeError> {
                Ok(())
            }

            fn encode_output(_out: &(), _args: &mut $crate::args::Args) {}
        }
    };
}

mod admin_class;
mod admin_device;
mod admin_domain;
mod admin_host;
mod admin_maintenance;
mod admin_settings;
mod file_create;
mod file_info;
mod file_list;
mod file_ops;
mod fsck;
mod meaning;
mod rebalance;

pub use admin_class::{ClassOutput, CreateClass, DeleteClass, DeleteClassOutput, UpdateClass};
pub use admin_device::{CreateDevice, DeviceInfo, GetDevices, SetState, SetWeight};
pub use admin_domain::{ClassInfo, CreateDomain, DeleteDomain, DomainInfo, GetDomains};
pub use admin_host::{CreateHost, DeleteHost, GetHosts, HostInfo, HostRef, UpdateHost};
pub use admin_maintenance::{ClearCache, DoMonitorRound, Noop, ReplicateNow, Sleep, Test};
pub use admin_settings::{ServerSetting, ServerSettings, SetServerSetting};
pub use file_create::{CloseError, CreateClose, CreateOpen, CreateOpenOutput, Destination};
pub use file_info::{FileDebug, FileDebugInfo, FileInfo, FileInfoOutput};
pub use file_list::{FidRow, KeyPage, ListFids, ListKeys};
pub use file_ops::{Delete, GetPaths, Rename, UpdateFileClass};
pub use fsck::{
    FsckClearLog, FsckGetLog, FsckLogRow, FsckReset, FsckStart, FsckStatus, FsckStatusOutput,
    FsckStop,
};
pub use meaning::ErrorMeaning;
pub use rebalance::{
    RebalanceReset, RebalanceSetPolicy, RebalanceStart, RebalanceStatus, RebalanceStop,
    RebalanceTest, RebalanceTestOutput,
};

/// Which worker family a command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandKind {
    /// A file (client) command: `create_open`, `get_paths`, ...
    File,
    /// An admin command: domains, classes, hosts, devices, settings, fsck, rebalance.
    Admin,
}

/// A typed tracker command.
pub trait Command {
    /// The wire name (`[a-z0-9_]+`).
    const NAME: &'static str;
    /// File or admin command.
    const KIND: CommandKind;
    /// Whether a client may resend the command after its reply was lost (to the same or
    /// another tracker). True for reads and listings, and for the few admin triggers that
    /// change no stored state (`clear_cache`, `do_monitor_round`, `replicate_now`, `sleep`,
    /// `test`, `rebalance_test`). False for every command that changes stored state, setters
    /// included (`updateclass`, `update_class`, `set_state`, `set_server_setting`, ...): a
    /// late resend could overwrite a change another client made in between, so the caller
    /// must learn that the outcome is unknown and check.
    const IDEMPOTENT: bool;
    /// The typed result of an `OK`.
    type Output;

    /// Appends the command's arguments, to an [`Args`] list or straight into an encoded line
    /// ([`RequestLine::of`](crate::RequestLine::of)).
    fn write_args(&self, args: &mut impl ArgSink);

    /// Reads the arguments of an `OK` reply (a `callid` among them is ignored).
    ///
    /// # Errors
    /// [`DecodeError`] when a field is missing or malformed.
    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError>;

    /// Reads an `ERR` reply. By default it is [`ReplyError::Tracker`]; a command for which
    /// some code is an answer (`list_keys`'s `none_match`: an empty page) turns it into one.
    ///
    /// # Errors
    /// [`ReplyError::Tracker`] for a code that is not an answer.
    fn parse_err(err: ErrLine) -> Result<Self::Output, ReplyError> {
        Err(ReplyError::Tracker(err))
    }

    /// Reads a full reply: an `OK` with [`parse_ok`](Self::parse_ok), an `ERR` with
    /// [`parse_err`](Self::parse_err).
    ///
    /// A client may call those two itself (the tracker client does, to keep the `OK` line's
    /// arguments for the next reply): a command changes how its replies read by overriding
    /// them, not this.
    ///
    /// # Errors
    /// [`ReplyError::Tracker`] for an `ERR`, [`ReplyError::Decode`] for a malformed `OK`.
    fn parse_reply(reply: Response) -> Result<Self::Output, ReplyError> {
        match reply {
            Response::Ok(args) => Self::parse_ok(&args).map_err(ReplyError::Decode),
            Response::Err(err) => Self::parse_err(err),
        }
    }

    /// Writes an output as the tracker would send it (server side).
    fn encode_output(out: &Self::Output, args: &mut Args);

    /// What an `ERR` answer with `code` means for this command.
    ///
    /// Each command that sends codes with a meaning of their own says so here (`rename`'s
    /// `unknown_key` is about its source key, `key_exists` about its target). The default knows
    /// only what holds for every command: [`ErrorMeaning::any_command`].
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::any_command(code)
    }

    /// The request line for this command.
    fn request(&self) -> Request {
        let mut args = Args::for_request();
        self.write_args(&mut args);
        Request::from_parts(Self::NAME, args)
    }
}

/// Appends `name=value` when `value` is set.
pub(crate) fn push_opt(args: &mut impl ArgSink, name: &str, value: Option<impl AsRef<[u8]>>) {
    if let Some(value) = value {
        args.push(name, value);
    }
}

/// Appends `name=1` when `flag` is set (the tracker's boolean arguments are Perl truth tests).
pub(crate) fn push_flag(args: &mut impl ArgSink, name: &str, flag: bool) {
    if flag {
        args.push(name, "1");
    }
}

/// Appends `name=<number>` when set.
pub(crate) fn push_opt_num(
    args: &mut impl ArgSink,
    name: &str,
    value: Option<impl std::fmt::Display>,
) {
    if let Some(value) = value {
        args.push_display(name, value);
    }
}

/// Appends a number.
pub(crate) fn push_num(args: &mut impl ArgSink, name: &str, value: impl std::fmt::Display) {
    args.push_display(name, value);
}

/// The value of a field that must be present, found by [`Args::first_of`].
pub(crate) fn required<'a>(name: &str, value: Option<&'a [u8]>) -> Result<&'a [u8], DecodeError> {
    value.ok_or_else(|| DecodeError::missing(name))
}

/// An owned UTF-8 field that must be present, found by [`Args::first_of`].
pub(crate) fn required_string(name: &str, value: Option<&[u8]>) -> Result<String, DecodeError> {
    str_value(name, required(name, value)?).map(str::to_owned)
}

/// An owned UTF-8 field.
pub(crate) fn string(args: &Args, name: &str) -> Result<String, DecodeError> {
    required_string(name, args.get(name))
}

/// An owned key field (any bytes).
pub(crate) fn key(args: &Args, name: &str) -> Result<Key, DecodeError> {
    args.required(name).map(Key::from)
}

/// A `(name suffix, value)` pair of an indexed row.
pub(crate) type Field<'a> = (&'a [u8], &'a [u8]);

/// Reads the `count` field, then `count` indexed rows whose field names are
/// `<prefix><index><rest>`, with `index` in `1..=count`. Returns, per index, the `(rest, value)`
/// pairs in reply order, touching each pair once so that large replies stay linear.
///
/// A count larger than the number of pairs cannot be honest, and is refused before anything is
/// allocated for it.
pub(crate) fn indexed_rows<'a>(
    args: &'a Args,
    count_field: &str,
    prefix: &str,
) -> Result<Vec<Vec<Field<'a>>>, DecodeError> {
    let count = count(args, count_field)?;
    let mut rows = vec![Vec::new(); count];
    for (name, value) in args.iter() {
        let Some(rest) = name.strip_prefix(prefix.as_bytes()) else {
            continue;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let Some(index) = parse_index(&rest[..digits]) else {
            continue;
        };
        if let Some(row) = index.checked_sub(1).and_then(|i| rows.get_mut(i)) {
            row.push((&rest[digits..], value));
        }
    }
    Ok(rows)
}

/// Reads the `count` field, then the `count` values named exactly `<prefix><index>` with `index`
/// in `1..=count`, and maps them with `f(index - 1, value)` in index order.
///
/// This is on the hot path of `get_paths` and `list_keys`: one pass over the pairs finds the
/// count and the values of the first few indexes (the slots on the stack), and a reply with
/// more rows than that takes a second pass; one allocation for the result.
pub(crate) fn indexed_map<'a, T>(
    args: &'a Args,
    count_field: &str,
    prefix: &str,
    mut f: impl FnMut(usize, &'a [u8]) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    const INLINE: usize = 16;
    let mut inline = [None; INLINE];
    let mut count_value = None;
    for (name, value) in args.iter() {
        if let Some(index) = name.strip_prefix(prefix.as_bytes()).and_then(parse_index) {
            if let Some(slot) = index.checked_sub(1).and_then(|i| inline.get_mut(i)) {
                *slot = Some(value);
            }
        } else if count_value.is_none() && name == count_field.as_bytes() {
            count_value = Some(value);
        }
    }
    let count = row_count(count_field, count_value, args.len())?;
    let mut heap = Vec::new();
    let slots: &mut [Option<&'a [u8]>] = if count <= INLINE {
        &mut inline[..count]
    } else {
        heap.resize(count, None);
        for (name, value) in args.iter() {
            let Some(index) = name.strip_prefix(prefix.as_bytes()).and_then(parse_index) else {
                continue;
            };
            if let Some(slot) = index.checked_sub(1).and_then(|i| heap.get_mut(i)) {
                *slot = Some(value);
            }
        }
        &mut heap
    };
    let mut out = Vec::with_capacity(count);
    for (i, slot) in slots.iter().enumerate() {
        let value = slot.ok_or_else(|| DecodeError::missing(&format!("{prefix}{}", i + 1)))?;
        out.push(f(i, value)?);
    }
    Ok(out)
}

/// A row count field. A count larger than the number of pairs cannot be honest; refusing it
/// keeps a hostile count from sizing an allocation.
pub(crate) fn count(args: &Args, field: &str) -> Result<usize, DecodeError> {
    row_count(field, args.get(field), args.len())
}

/// [`count`] from the field's first value, found by the caller, and the number of pairs.
fn row_count(field: &str, value: Option<&[u8]>, pairs: usize) -> Result<usize, DecodeError> {
    let count: usize = parse_value(field, required(field, value)?)?;
    if count > pairs {
        return Err(DecodeError::bad_field(field, count.to_string().as_bytes()));
    }
    Ok(count)
}

/// A decimal index without sign or leading zero.
fn parse_index(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits[0] == b'0' || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0usize, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + usize::from(d - b'0'))
    })
}

/// One indexed row's fields, looked up by the name suffix.
pub(crate) struct Row<'a> {
    fields: Vec<Field<'a>>,
    prefix: String,
}

impl<'a> Row<'a> {
    pub(crate) fn new(fields: Vec<Field<'a>>, prefix: String) -> Self {
        Self { fields, prefix }
    }

    fn name(&self, suffix: &str) -> String {
        format!("{}{}", self.prefix, suffix)
    }

    pub(crate) fn get(&self, suffix: &str) -> Option<&'a [u8]> {
        self.fields
            .iter()
            .find(|(n, _)| *n == suffix.as_bytes())
            .map(|(_, v)| *v)
    }

    pub(crate) fn required(&self, suffix: &str) -> Result<&'a [u8], DecodeError> {
        self.get(suffix)
            .ok_or_else(|| DecodeError::missing(&self.name(suffix)))
    }

    pub(crate) fn string(&self, suffix: &str) -> Result<String, DecodeError> {
        let v = self.required(suffix)?;
        String::from_utf8(v.to_vec()).map_err(|_| DecodeError::bad_field(&self.name(suffix), v))
    }

    pub(crate) fn parse<T: std::str::FromStr>(&self, suffix: &str) -> Result<T, DecodeError> {
        let v = self.required(suffix)?;
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| DecodeError::bad_field(&self.name(suffix), v))
    }

    /// Absent or empty is `None`.
    pub(crate) fn parse_opt<T: std::str::FromStr>(
        &self,
        suffix: &str,
    ) -> Result<Option<T>, DecodeError> {
        match self.get(suffix) {
            None | Some(b"") => Ok(None),
            Some(_) => self.parse(suffix).map(Some),
        }
    }

    /// Absent or empty is `None`.
    pub(crate) fn string_opt(&self, suffix: &str) -> Result<Option<String>, DecodeError> {
        match self.get(suffix) {
            None | Some(b"") => Ok(None),
            Some(_) => self.string(suffix).map(Some),
        }
    }
}

/// The [`indexed_rows`] of a reply, each as a [`Row`] that names its fields `<prefix><index>`
/// in errors: `rows(args, "devices", "dev")` reads `devices`, then `dev1*` .. `devN*`.
pub(crate) fn rows<'a>(
    args: &'a Args,
    count_field: &str,
    prefix: &str,
) -> Result<Vec<Row<'a>>, DecodeError> {
    Ok(indexed_rows(args, count_field, prefix)?
        .into_iter()
        .enumerate()
        .map(|(i, fields)| Row::new(fields, format!("{prefix}{}", i + 1)))
        .collect())
}

/// Parses a comma-separated id list (`devids=1,4`); empty is an empty list.
pub(crate) fn id_list<T: std::str::FromStr>(field: &str, v: &[u8]) -> Result<Vec<T>, DecodeError> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    v.split(|&b| b == b',')
        .map(|id| {
            std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| DecodeError::bad_field(field, v))
        })
        .collect()
}

/// Joins ids with commas.
pub(crate) fn join_ids<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests;
