//! Fault switches: what a fake tracker does instead of answering normally.

use std::time::Duration;

/// How the tracker treats connections, new and open. The listener stays bound in every mode, so a
/// "killed" tracker can be "restarted" on the same port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConnectionMode {
    /// Answer requests.
    #[default]
    Normal,
    /// The tracker is "down": new connections are accepted and immediately reset (RST), open ones are
    /// reset. A client sees a connection reset (the closest a bound listener gets to "refused").
    Refuse,
    /// The tracker "hangs": connections are accepted and requests read (and recorded), but nothing is
    /// ever answered.
    Hang,
}

/// What a [`Fault`] does to the reply of a request it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Execute, then wait this long before writing the reply.
    Delay(Duration),
    /// Never answer this request nor any later one on the connection; keep the connection open (the
    /// 30 s watchdog case).
    Hang,
    /// Close the connection (FIN) without a reply.
    Drop,
    /// Reset the connection (RST) without a reply.
    Reset,
    /// Execute, write the first half of the reply line, then close.
    CloseMidReply,
    /// Write these bytes instead of the reply.
    Garbage(Vec<u8>),
    /// Write an `OK` line of this many bytes (plus `\r\n`) instead of the reply.
    LongLine(usize),
    /// Execute, write the reply, then write these bytes too (e.g. the stray `OK \r\n` of the rename bug).
    StrayLine(Vec<u8>),
    /// Execute twice and answer with the second outcome: the re-dispatch after a query worker died
    /// (protocol.md 2.10), e.g. a `create_close` that committed and then answers `no_temp_file`.
    Rerun,
    /// The tracker dies inside `create_close` at its worst point, then the connection closes
    /// without a reply. 2.73 deletes the key's old fid (`$old_fid->delete`) and only then writes
    /// the new file row (`replace_into_file`), each statement committed on its own: killed in
    /// between, it leaves the key with **no content**, and the upload's bytes orphaned. Every check
    /// before that point runs as usual (a failing one also ends without a reply). Any other
    /// command is dropped unexecuted, as [`Drop`](Self::Drop).
    DieMidClose,
    /// Another client's request lands first: this request line (without `\r\n`, e.g.
    /// `rename domain=d&from_key=a&to_key=b`) is executed against the model, its reply discarded,
    /// and then the matched request runs and is answered as usual. It makes a race deterministic:
    /// "the target appeared between the check and the rename".
    Interleave(Vec<u8>),
}

/// A fault rule: which requests it matches, how often, and what it does.
///
/// Rules are checked in the order they were injected; the first one that matches a request applies.
#[derive(Debug, Clone)]
#[must_use]
pub struct Fault {
    pub(crate) command: Option<String>,
    pub(crate) times: Option<u64>,
    pub(crate) execute: bool,
    pub(crate) action: FaultAction,
}

impl Fault {
    /// A rule for every request, forever. Whether the request is still executed defaults to: no for
    /// `Hang`, `Drop`, `Reset` and `Garbage`/`LongLine`, yes for the others (a `Delay`, `StrayLine`,
    /// `Rerun` or `Interleave` is always executed).
    pub fn new(action: FaultAction) -> Self {
        let execute = always_executes(&action) || action == FaultAction::CloseMidReply;
        Self {
            command: None,
            times: None,
            execute,
            action,
        }
    }

    /// Match only this command (case-insensitive); `!` admin lines are matched by their first word,
    /// e.g. `!version`.
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into().to_ascii_lowercase());
        self
    }

    /// Apply to the next `n` matching requests only.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Whether the request is executed against the model before the fault strikes: `Drop` with
    /// `execute(true)` is the "reply lost after a mutating command" fault.
    pub fn execute(mut self, execute: bool) -> Self {
        self.execute = execute;
        self
    }

    pub(crate) fn matches(&self, command: &str) -> bool {
        self.times != Some(0) && self.command.as_deref().is_none_or(|c| c == command)
    }
}

/// Actions that deliver the real reply, so the request always runs.
fn always_executes(action: &FaultAction) -> bool {
    matches!(
        action,
        FaultAction::Delay(_)
            | FaultAction::StrayLine(_)
            | FaultAction::Rerun
            | FaultAction::Interleave(_)
    )
}

/// Takes the action of the first rule matching `command`, counting it down.
pub(crate) fn take(rules: &mut Vec<Fault>, command: &str) -> Option<(FaultAction, bool)> {
    let i = rules.iter().position(|r| r.matches(command))?;
    let rule = &mut rules[i];
    let taken = (
        rule.action.clone(),
        rule.execute || always_executes(&rule.action),
    );
    if let Some(n) = rule.times.as_mut() {
        *n -= 1;
        if *n == 0 {
            drop(rules.remove(i));
        }
    }
    Some(taken)
}
