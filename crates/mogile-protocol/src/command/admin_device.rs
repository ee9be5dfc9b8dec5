//! Devices: `get_devices`, `create_device`, `set_state`, `set_weight`.

use super::{Command, CommandKind, ErrorMeaning, push_num, push_opt, push_opt_num, rows};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::types::DevId;

/// `get_devices`: all devices, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GetDevices {
    /// Only this device.
    pub devid: Option<DevId>,
}

impl GetDevices {
    /// All devices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only `devid`.
    #[must_use]
    pub fn devid(mut self, devid: DevId) -> Self {
        self.devid = Some(devid);
        self
    }
}

/// A device as `get_devices` describes it. Fields the tracker has not measured yet are `None`.
///
/// Numbers are kept as the tracker's text where it may not be an integer (`utilization`), so a
/// server can send back exactly what it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device id.
    pub devid: DevId,
    /// The host id.
    pub hostid: u64,
    /// `alive`, `dead`, `down`, `readonly` or `drain`.
    pub status: String,
    /// The weight (default 100).
    pub weight: Option<u64>,
    /// Total space in MB.
    pub mb_total: Option<u64>,
    /// Used space in MB.
    pub mb_used: Option<u64>,
    /// Free space in MB.
    pub mb_free: Option<u64>,
    /// When the space figures were measured (Unix time).
    pub mb_asof: Option<u64>,
    /// What the monitor saw: `writeable`, `readable`, `unreachable`.
    pub observed_state: Option<String>,
    /// I/O utilisation in percent, as text.
    pub utilization: Option<String>,
    /// Whether the device rejects bad MD5s.
    pub reject_bad_md5: Option<bool>,
}

fn num(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Command for GetDevices {
    const NAME: &'static str = "get_devices";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    /// The devices. The index in the reply (`dev<n>_`) is an enumeration, not the devid.
    type Output = Vec<DeviceInfo>;

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt_num(args, "devid", self.devid);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        rows(args, "devices", "dev")?
            .into_iter()
            .map(|r| {
                Ok(DeviceInfo {
                    devid: r.parse("_devid")?,
                    hostid: r.parse("_hostid")?,
                    status: r.string("_status")?,
                    weight: r.parse_opt("_weight")?,
                    mb_total: r.parse_opt("_mb_total")?,
                    mb_used: r.parse_opt("_mb_used")?,
                    mb_free: r.parse_opt("_mb_free")?,
                    mb_asof: r.parse_opt("_mb_asof")?,
                    observed_state: r.string_opt("_observed_state")?,
                    utilization: r.string_opt("_utilization")?,
                    reject_bad_md5: r.parse_opt::<u8>("_reject_bad_md5")?.map(|v| v != 0),
                })
            })
            .collect()
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "devices", out.len());
        for (i, d) in out.iter().enumerate() {
            let p = format!("dev{}", i + 1);
            push_num(args, &format!("{p}_devid"), d.devid);
            push_num(args, &format!("{p}_hostid"), d.hostid);
            args.push(format!("{p}_status"), &d.status);
            args.push(format!("{p}_weight"), num(d.weight));
            args.push(format!("{p}_mb_total"), num(d.mb_total));
            args.push(format!("{p}_mb_used"), num(d.mb_used));
            args.push(format!("{p}_mb_free"), num(d.mb_free));
            args.push(format!("{p}_mb_asof"), num(d.mb_asof));
            args.push(
                format!("{p}_observed_state"),
                d.observed_state.as_deref().unwrap_or(""),
            );
            args.push(
                format!("{p}_utilization"),
                d.utilization.as_deref().unwrap_or(""),
            );
            args.push(
                format!("{p}_reject_bad_md5"),
                d.reject_bad_md5.map_or("", |b| if b { "1" } else { "0" }),
            );
        }
    }
}

/// `create_device`: register a device on a host (by name or id).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateDevice {
    /// The new device id.
    pub devid: DevId,
    /// The host, by name.
    pub hostname: Option<String>,
    /// The host, by id.
    pub hostid: Option<u64>,
    /// The initial state (the tracker's default is `alive`).
    pub state: Option<String>,
}

impl CreateDevice {
    /// Device `devid` on the host called `hostname`.
    pub fn new(devid: DevId, hostname: impl Into<String>) -> Self {
        Self {
            devid,
            hostname: Some(hostname.into()),
            hostid: None,
            state: None,
        }
    }

    /// Device `devid` on host `hostid`.
    pub fn on_hostid(devid: DevId, hostid: u64) -> Self {
        Self {
            devid,
            hostname: None,
            hostid: Some(hostid),
            state: None,
        }
    }

    /// Sets the initial state.
    #[must_use]
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }
}

impl Command for CreateDevice {
    const NAME: &'static str = "create_device";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt(args, "hostname", self.hostname.as_ref());
        push_opt_num(args, "hostid", self.hostid);
        push_num(args, "devid", self.devid);
        push_opt(args, "state", self.state.as_ref());
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
    /// `existing_devid`.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match code {
            ErrorCode::ExistingDevid => ErrorMeaning::AlreadyExists,
            other => ErrorMeaning::any_command(other),
        }
    }
}

/// `set_state`: change a device's state (`dead` is final: `dead` -> `alive` is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetState {
    /// The host name the device belongs to.
    pub host: String,
    /// The device (wire `device`).
    pub device: DevId,
    /// `alive`, `dead`, `down`, `readonly` or `drain`.
    pub state: String,
}

impl SetState {
    /// Sets `device` on `host` to `state`.
    pub fn new(host: impl Into<String>, device: DevId, state: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            device,
            state: state.into(),
        }
    }
}

impl Command for SetState {
    const NAME: &'static str = "set_state";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("host", &self.host);
        push_num(args, "device", self.device);
        args.push("state", &self.state);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}

/// `set_weight`: change a device's weight (the tracker silently uses 0 when `weight` is
/// missing, so it is always sent).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetWeight {
    /// The host name the device belongs to.
    pub host: String,
    /// The device (wire `device`).
    pub device: DevId,
    /// The weight.
    pub weight: u32,
}

impl SetWeight {
    /// Sets `device` on `host` to `weight`.
    pub fn new(host: impl Into<String>, device: DevId, weight: u32) -> Self {
        Self {
            host: host.into(),
            device,
            weight,
        }
    }
}

impl Command for SetWeight {
    const NAME: &'static str = "set_weight";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("host", &self.host);
        push_num(args, "device", self.device);
        push_num(args, "weight", self.weight);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}
