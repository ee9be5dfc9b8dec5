//! The fsck job: start, stop, reset, log and status.

use super::{Command, CommandKind, push_flag, push_num, push_opt_num, rows, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::types::{DevId, Fid};

unit_command! {
    /// `fsck_start`.
    FsckStart = "fsck_start", Admin, idempotent: false
}

unit_command! {
    /// `fsck_stop`.
    FsckStop = "fsck_stop", Admin, idempotent: false
}

unit_command! {
    /// `fsck_clearlog`.
    FsckClearLog = "fsck_clearlog", Admin, idempotent: false
}

/// `fsck_reset`: forget fsck progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FsckReset {
    /// Only check replication policy, not file contents.
    pub policy_only: bool,
    /// Restart from this fid.
    pub startpos: Option<Fid>,
}

impl FsckReset {
    /// A full reset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `policy_only`.
    #[must_use]
    pub fn policy_only(mut self, policy_only: bool) -> Self {
        self.policy_only = policy_only;
        self
    }

    /// Sets the start position.
    #[must_use]
    pub fn startpos(mut self, startpos: Fid) -> Self {
        self.startpos = Some(startpos);
        self
    }
}

impl Command for FsckReset {
    const NAME: &'static str = "fsck_reset";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        push_flag(args, "policy_only", self.policy_only);
        push_opt_num(args, "startpos", self.startpos);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}

/// `fsck_getlog`: up to 100 log rows after a log id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FsckGetLog {
    /// Only rows after this log id.
    pub after_logid: Option<u64>,
}

impl FsckGetLog {
    /// The first rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the cursor.
    #[must_use]
    pub fn after_logid(mut self, after_logid: u64) -> Self {
        self.after_logid = Some(after_logid);
        self
    }
}

/// One fsck log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsckLogRow {
    /// The log id.
    pub logid: u64,
    /// When (Unix time).
    pub utime: u64,
    /// The file.
    pub fid: Fid,
    /// The event code (e.g. `NOPA`, `REPL`).
    pub evcode: String,
    /// The device, when the event concerns one.
    pub devid: Option<DevId>,
}

impl Command for FsckGetLog {
    const NAME: &'static str = "fsck_getlog";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = Vec<FsckLogRow>;

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt_num(args, "after_logid", self.after_logid);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        rows(args, "row_count", "row_")?
            .into_iter()
            .map(|r| {
                Ok(FsckLogRow {
                    logid: r.parse("_logid")?,
                    utime: r.parse("_utime")?,
                    fid: r.parse("_fid")?,
                    evcode: r.string("_evcode")?,
                    devid: r.parse_opt("_devid")?,
                })
            })
            .collect()
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "row_count", out.len());
        for (i, r) in out.iter().enumerate() {
            let p = format!("row_{}", i + 1);
            push_num(args, &format!("{p}_logid"), r.logid);
            push_num(args, &format!("{p}_utime"), r.utime);
            push_num(args, &format!("{p}_fid"), r.fid);
            args.push(format!("{p}_evcode"), &r.evcode);
            args.push(
                format!("{p}_devid"),
                r.devid.map(|d| d.to_string()).unwrap_or_default(),
            );
        }
    }
}

unit_struct! {
    /// `fsck_status`.
    FsckStatus
}

/// The answer to `fsck_status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsckStatusOutput {
    /// Whether fsck is running.
    pub running: bool,
    /// The host running it (empty when none).
    pub host: String,
    /// The highest fid checked.
    pub max_fid_checked: u64,
    /// Whether only the replication policy is checked.
    pub policy_only: bool,
    /// The last fid to check.
    pub end_fid: u64,
    /// Start time (Unix time, 0 when never).
    pub start_time: u64,
    /// Stop time (Unix time, 0 when never).
    pub stop_time: u64,
    /// The tracker's clock (Unix time).
    pub current_time: u64,
    /// The highest log id.
    pub max_logid: u64,
    /// The `num_<EVCODE>` counters, in reply order, without the `num_` prefix.
    pub counters: Vec<(String, u64)>,
}

fn flag(args: &Args, name: &str) -> Result<bool, DecodeError> {
    Ok(args.parse::<u64>(name)? != 0)
}

impl Command for FsckStatus {
    const NAME: &'static str = "fsck_status";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = FsckStatusOutput;

    fn write_args(&self, _args: &mut impl ArgSink) {}

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        let counters = args
            .iter()
            .filter_map(|(n, v)| n.strip_prefix(b"num_").map(|code| (n, code, v)))
            .map(|(n, code, v)| {
                let field = String::from_utf8_lossy(n);
                let code =
                    std::str::from_utf8(code).map_err(|_| DecodeError::bad_field(&field, n))?;
                let count = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| DecodeError::bad_field(&field, v))?;
                Ok((code.to_owned(), count))
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(FsckStatusOutput {
            running: flag(args, "running")?,
            host: string(args, "host")?,
            max_fid_checked: args.parse("max_fid_checked")?,
            policy_only: flag(args, "policy_only")?,
            end_fid: args.parse("end_fid")?,
            start_time: args.parse("start_time")?,
            stop_time: args.parse("stop_time")?,
            current_time: args.parse("current_time")?,
            max_logid: args.parse("max_logid")?,
            counters,
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "running", u8::from(out.running));
        args.push("host", &out.host);
        push_num(args, "max_fid_checked", out.max_fid_checked);
        push_num(args, "policy_only", u8::from(out.policy_only));
        push_num(args, "end_fid", out.end_fid);
        push_num(args, "start_time", out.start_time);
        push_num(args, "stop_time", out.stop_time);
        push_num(args, "current_time", out.current_time);
        push_num(args, "max_logid", out.max_logid);
        for (code, count) in &out.counters {
            push_num(args, &format!("num_{code}"), count);
        }
    }
}
