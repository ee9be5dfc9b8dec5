//! Server settings: `server_settings`, `server_setting`, `set_server_setting`.

use super::{Command, CommandKind, indexed_map, push_num, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;

unit_struct! {
    /// `server_settings`: every visible setting.
    ServerSettings
}

impl Command for ServerSettings {
    const NAME: &'static str = "server_settings";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    /// `(key, value)` pairs in reply order.
    type Output = Vec<(String, String)>;

    fn write_args(&self, _args: &mut impl ArgSink) {}

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        indexed_map(args, "key_count", "key_", |i, k| {
            let kname = format!("key_{}", i + 1);
            let key =
                String::from_utf8(k.to_vec()).map_err(|_| DecodeError::bad_field(&kname, k))?;
            Ok((key, string(args, &format!("value_{}", i + 1))?))
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "key_count", out.len());
        for (i, (k, v)) in out.iter().enumerate() {
            args.push(format!("key_{}", i + 1), k);
            args.push(format!("value_{}", i + 1), v);
        }
    }
}

/// `server_setting`: one setting (an unknown key gives an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerSetting {
    /// The setting's name.
    pub key: String,
}

impl ServerSetting {
    /// Reads setting `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }
}

impl Command for ServerSetting {
    const NAME: &'static str = "server_setting";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    /// `(key, value)`.
    type Output = (String, String);

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("key", &self.key);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        Ok((string(args, "key")?, string(args, "value")?))
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        args.push("key", &out.0);
        args.push("value", &out.1);
    }
}

/// `set_server_setting`: change a writable setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetServerSetting {
    /// The setting's name.
    pub key: String,
    /// The new value (empty clears `slave_*` keys).
    pub value: String,
}

impl SetServerSetting {
    /// Sets `key` to `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl Command for SetServerSetting {
    const NAME: &'static str = "set_server_setting";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("key", &self.key);
        args.push("value", &self.value);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}
