//! Hosts: `get_hosts`, `create_host`, `update_host`, `delete_host`.

use super::{Command, CommandKind, ErrorMeaning, push_num, push_opt, push_opt_num, rows, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;

/// `get_hosts`: all hosts, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GetHosts {
    /// Only this host id.
    pub hostid: Option<u64>,
}

impl GetHosts {
    /// All hosts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only `hostid`.
    #[must_use]
    pub fn hostid(mut self, hostid: u64) -> Self {
        self.hostid = Some(hostid);
        self
    }
}

/// A host as `get_hosts` describes it (unset fields are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// The host id.
    pub hostid: u64,
    /// `alive`, `dead`, `down` or `readonly`.
    pub status: String,
    /// The host name.
    pub hostname: String,
    /// The IP address.
    pub hostip: String,
    /// The HTTP (PUT) port.
    pub http_port: Option<u16>,
    /// A separate GET port.
    pub http_get_port: Option<u16>,
    /// The alternate IP (zones).
    pub altip: Option<String>,
    /// The alternate netmask (zones).
    pub altmask: Option<String>,
}

fn opt_str(v: Option<&String>) -> &str {
    v.map_or("", String::as_str)
}

impl Command for GetHosts {
    const NAME: &'static str = "get_hosts";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    /// The hosts. The index in the reply (`host<n>_`) is an enumeration, not the host id.
    type Output = Vec<HostInfo>;

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt_num(args, "hostid", self.hostid);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        rows(args, "hosts", "host")?
            .into_iter()
            .map(|r| {
                Ok(HostInfo {
                    hostid: r.parse("_hostid")?,
                    status: r.string("_status")?,
                    hostname: r.string("_hostname")?,
                    hostip: r.string("_hostip")?,
                    http_port: r.parse_opt("_http_port")?,
                    http_get_port: r.parse_opt("_http_get_port")?,
                    altip: r.string_opt("_altip")?,
                    altmask: r.string_opt("_altmask")?,
                })
            })
            .collect()
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "hosts", out.len());
        for (i, h) in out.iter().enumerate() {
            let p = format!("host{}", i + 1);
            push_num(args, &format!("{p}_hostid"), h.hostid);
            args.push(format!("{p}_status"), &h.status);
            args.push(format!("{p}_hostname"), &h.hostname);
            args.push(format!("{p}_hostip"), &h.hostip);
            args.push(
                format!("{p}_http_port"),
                h.http_port.map(|v| v.to_string()).unwrap_or_default(),
            );
            args.push(
                format!("{p}_http_get_port"),
                h.http_get_port.map(|v| v.to_string()).unwrap_or_default(),
            );
            args.push(format!("{p}_altip"), opt_str(h.altip.as_ref()));
            args.push(format!("{p}_altmask"), opt_str(h.altmask.as_ref()));
        }
    }
}

/// What `create_host` and `update_host` echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRef {
    /// The host id.
    pub hostid: u64,
    /// The host name.
    pub hostname: String,
}

fn parse_host_ref(args: &Args) -> Result<HostRef, DecodeError> {
    Ok(HostRef {
        hostid: args.parse("hostid")?,
        hostname: string(args, "hostname")?,
    })
}

fn encode_host_ref(out: &HostRef, args: &mut Args) {
    push_num(args, "hostid", out.hostid);
    args.push("hostname", &out.hostname);
}

macro_rules! host_command {
    (
        $(#[$doc:meta])* $name:ident = $wire:literal, idempotent: $idem:literal,
        $(#[$meaning_doc:meta])* error_meaning: $meaning:path
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            /// The host name (wire `host`).
            pub host: String,
            /// The IP address.
            pub ip: Option<String>,
            /// The HTTP (PUT) port.
            pub port: Option<u16>,
            /// A separate GET port.
            pub getport: Option<u16>,
            /// `alive`, `dead`, `down` or `readonly`.
            pub status: Option<String>,
            /// The alternate IP (zones).
            pub altip: Option<String>,
            /// The alternate netmask (zones).
            pub altmask: Option<String>,
        }

        impl $name {
            /// Sets the IP address.
            #[must_use]
            pub fn ip(mut self, ip: impl Into<String>) -> Self {
                self.ip = Some(ip.into());
                self
            }

            /// Sets the HTTP port.
            #[must_use]
            pub fn port(mut self, port: u16) -> Self {
                self.port = Some(port);
                self
            }

            /// Sets the GET port.
            #[must_use]
            pub fn getport(mut self, getport: u16) -> Self {
                self.getport = Some(getport);
                self
            }

            /// Sets the status.
            #[must_use]
            pub fn status(mut self, status: impl Into<String>) -> Self {
                self.status = Some(status.into());
                self
            }

            /// Sets the alternate IP.
            #[must_use]
            pub fn altip(mut self, altip: impl Into<String>) -> Self {
                self.altip = Some(altip.into());
                self
            }

            /// Sets the alternate netmask.
            #[must_use]
            pub fn altmask(mut self, altmask: impl Into<String>) -> Self {
                self.altmask = Some(altmask.into());
                self
            }
        }

        impl Command for $name {
            const NAME: &'static str = $wire;
            const KIND: CommandKind = CommandKind::Admin;
            const IDEMPOTENT: bool = $idem;
            type Output = HostRef;

            fn write_args(&self, args: &mut impl ArgSink) {
                args.push("host", &self.host);
                push_opt(args, "ip", self.ip.as_ref());
                push_opt_num(args, "port", self.port);
                push_opt_num(args, "getport", self.getport);
                push_opt(args, "status", self.status.as_ref());
                push_opt(args, "altip", self.altip.as_ref());
                push_opt(args, "altmask", self.altmask.as_ref());
            }

            fn parse_ok(args: &Args) -> Result<HostRef, DecodeError> {
                parse_host_ref(args)
            }

            fn encode_output(out: &HostRef, args: &mut Args) {
                encode_host_ref(out, args);
            }
            $(#[$meaning_doc])*
            fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
                $meaning(code)
            }
        }
    };
}

host_command! {
    /// `create_host` (status defaults to `down` on the tracker).
    CreateHost = "create_host", idempotent: false,
    /// `host_exists`.
    error_meaning: create_host_meaning
}

host_command! {
    /// `update_host`: change any of a host's fields.
    UpdateHost = "update_host", idempotent: false,
    /// Nothing of its own: `host_not_found` names no key, domain or class.
    error_meaning: ErrorMeaning::any_command
}

fn create_host_meaning(code: &ErrorCode) -> ErrorMeaning {
    match code {
        ErrorCode::HostExists => ErrorMeaning::AlreadyExists,
        other => ErrorMeaning::any_command(other),
    }
}

impl CreateHost {
    /// Registers `host` at `ip`:`port`.
    pub fn new(host: impl Into<String>, ip: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            ip: Some(ip.into()),
            port: Some(port),
            getport: None,
            status: None,
            altip: None,
            altmask: None,
        }
    }
}

impl UpdateHost {
    /// Updates `host`; set the fields to change.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            ip: None,
            port: None,
            getport: None,
            status: None,
            altip: None,
            altmask: None,
        }
    }
}

/// `delete_host` (refused while it has devices).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteHost {
    /// The host name.
    pub host: String,
}

impl DeleteHost {
    /// Deletes `host`.
    pub fn new(host: impl Into<String>) -> Self {
        Self { host: host.into() }
    }
}

impl Command for DeleteHost {
    const NAME: &'static str = "delete_host";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("host", &self.host);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}
