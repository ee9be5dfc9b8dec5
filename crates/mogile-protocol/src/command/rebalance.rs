//! The rebalance job.

use super::{Command, CommandKind, id_list, join_ids, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::types::DevId;

unit_command! {
    /// `rebalance_stop`.
    RebalanceStop = "rebalance_stop", Admin, idempotent: false
}

unit_command! {
    /// `rebalance_reset`.
    RebalanceReset = "rebalance_reset", Admin, idempotent: false
}

macro_rules! state_command {
    ($(#[$doc:meta])* $name:ident = $wire:literal, idempotent: $idem:literal) => {
        unit_struct! { $(#[$doc])* $name }

        impl Command for $name {
            const NAME: &'static str = $wire;
            const KIND: CommandKind = CommandKind::Admin;
            const IDEMPOTENT: bool = $idem;
            /// The tracker's serialised rebalance state.
            type Output = String;

            fn write_args(&self, _args: &mut impl ArgSink) {}

            fn parse_ok(args: &Args) -> Result<String, DecodeError> {
                string(args, "state")
            }

            fn encode_output(out: &String, args: &mut Args) {
                args.push("state", out);
            }
        }
    };
}

state_command! {
    /// `rebalance_status`: the current state (`no_rebal_state` when none).
    RebalanceStatus = "rebalance_status", idempotent: true
}

state_command! {
    /// `rebalance_start`.
    RebalanceStart = "rebalance_start", idempotent: false
}

unit_struct! {
    /// `rebalance_test`: which devices the policy would move files from and to.
    RebalanceTest
}

/// The answer to `rebalance_test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebalanceTestOutput {
    /// Source devices.
    pub sdevs: Vec<DevId>,
    /// Destination devices.
    pub ddevs: Vec<DevId>,
}

impl Command for RebalanceTest {
    const NAME: &'static str = "rebalance_test";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = RebalanceTestOutput;

    fn write_args(&self, _args: &mut impl ArgSink) {}

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        Ok(RebalanceTestOutput {
            sdevs: id_list("sdevs", args.required("sdevs")?)?,
            ddevs: id_list("ddevs", args.required("ddevs")?)?,
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        args.push("sdevs", join_ids(&out.sdevs));
        args.push("ddevs", join_ids(&out.ddevs));
    }
}

/// `rebalance_set_policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RebalanceSetPolicy {
    /// The policy text.
    pub policy: String,
}

impl RebalanceSetPolicy {
    /// Sets `policy`.
    pub fn new(policy: impl Into<String>) -> Self {
        Self {
            policy: policy.into(),
        }
    }
}

impl Command for RebalanceSetPolicy {
    const NAME: &'static str = "rebalance_set_policy";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = ();

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("policy", &self.policy);
    }

    fn parse_ok(_args: &Args) -> Result<(), DecodeError> {
        Ok(())
    }

    fn encode_output(_out: &(), _args: &mut Args) {}
}
