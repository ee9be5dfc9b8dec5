//! Liveness, cache and debugging commands.

use super::{Command, CommandKind, push_flag, push_num, push_opt_num};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;

unit_command! {
    /// `noop`: does nothing; the ideal liveness probe.
    Noop = "noop", File, idempotent: true
}

impl Noop {
    /// The bare probe line: `noop` without arguments, `callid`, or the space
    /// [`Request::encode`](crate::Request::encode) puts after every command (the tracker accepts
    /// both forms; `tracker_basic.txt` captures this one).
    ///
    /// A probe that carries no `callid` takes no number from a client's request counter, and a
    /// reply to it that carries one is out of step.
    pub const PROBE_LINE: &'static [u8] = b"noop\r\n";
}

unit_command! {
    /// `clear_cache`: flush the tracker's caches and wait for a monitor round (per tracker).
    ClearCache = "clear_cache", Admin, idempotent: true
}

unit_command! {
    /// `do_monitor_round`: wait for a monitor round (takes seconds).
    DoMonitorRound = "do_monitor_round", Admin, idempotent: true
}

unit_struct! {
    /// `replicate_now`: make deferred replications due now.
    ReplicateNow
}

impl Command for ReplicateNow {
    const NAME: &'static str = "replicate_now";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    /// How many replications were made due.
    type Output = u64;

    fn write_args(&self, _args: &mut impl ArgSink) {}

    fn parse_ok(args: &Args) -> Result<u64, DecodeError> {
        args.parse("count")
    }

    fn encode_output(out: &u64, args: &mut Args) {
        push_num(args, "count", out);
    }
}

/// `sleep`: keep a query worker busy (testing). Stay well under 30 s: the tracker's watchdog
/// kills the worker and re-runs the request, again and again, and the client never gets a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Sleep {
    /// Seconds (the tracker's default is 10).
    pub duration: Option<u32>,
}

impl Sleep {
    /// Sleeps for `duration` seconds.
    pub fn new(duration: u32) -> Self {
        Self {
            duration: Some(duration),
        }
    }
}

impl Command for Sleep {
    const NAME: &'static str = "sleep";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt_num(args, "duration", self.duration);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}

/// `test`: exercise the tracker's success path, or with `crash` its error path (`ERR failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Test {
    /// Fail on purpose.
    pub crash: bool,
}

impl Test {
    /// A succeeding test.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `crash`.
    #[must_use]
    pub fn crash(mut self, crash: bool) -> Self {
        self.crash = crash;
        self
    }
}

impl Command for Test {
    const NAME: &'static str = "test";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        push_flag(args, "crash", self.crash);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}
