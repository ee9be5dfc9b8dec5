//! The soak's fault schedule: drawn from the seed up front, applied when the global operation
//! count reaches each step (so the schedule is reproducible; the interleaving is not).

use std::time::Duration;

use http::Method;
use mogile_testkit::TestCluster;
use mogile_testkit::storage::{Fault as NodeFault, FaultRule};
use mogile_testkit::tracker::{ConnectionMode, Fault, FaultAction};
use rand::Rng;
use rand::rngs::StdRng;

/// One fault of the schedule.
#[derive(Debug, Clone)]
pub(super) enum FaultKind {
    /// Tracker `i`'s connections are reset while its listener stays bound; restarted at the end.
    KillTracker(usize),
    /// Tracker `i` reads requests and never answers; back to normal at the end.
    HangTracker(usize),
    /// The next `times` replies to `command` on tracker `i` are lost after it ran.
    DropReply {
        tracker: usize,
        command: &'static str,
        times: u64,
    },
    /// The next `times` replies on tracker `i` are delayed.
    SlowTracker { tracker: usize, times: u64 },
    /// The next `times` replies to `command` on tracker `i` misbehave: cut in the middle,
    /// replaced by garbage, or (for `create_close`) the 2.73 re-dispatch that commits and then
    /// answers `no_temp_file`.
    BadReply {
        tracker: usize,
        command: &'static str,
        action: FaultAction,
        times: u64,
    },
    /// Storage node `i` does `fault` for the next `times` requests of `method`.
    Node {
        node: usize,
        method: Method,
        fault: NodeFault,
        times: u32,
    },
    /// Storage node `i` resets every connection; back at the end.
    KillNode(usize),
    /// Not a fault: a replication round, as the tracker's replication worker would run.
    Replicate,
}

/// A fault applied at operation `at`, undone at operation `until` (for the switch-like ones).
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) at: u64,
    pub(super) until: u64,
    pub(super) kind: FaultKind,
}

/// The delay of a slow tracker reply: well below the client's tracker timeout.
const SLOW_REPLY: Duration = Duration::from_millis(150);

/// Draws a schedule for `ops` operations on `trackers` trackers and `nodes` nodes.
pub(super) fn schedule(rng: &mut StdRng, ops: u64, trackers: usize, nodes: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut at = rng.random_range(5..20);
    while at < ops {
        let span = rng.random_range(10..60);
        let kind = match rng.random_range(0..100) {
            0..8 => FaultKind::KillTracker(rng.random_range(0..trackers)),
            8..14 => FaultKind::HangTracker(rng.random_range(0..trackers)),
            14..34 => FaultKind::DropReply {
                tracker: rng.random_range(0..trackers),
                command: ["create_close", "delete", "rename", "create_open"]
                    [rng.random_range(0..4)],
                times: rng.random_range(1..4),
            },
            34..40 => FaultKind::SlowTracker {
                tracker: rng.random_range(0..trackers),
                times: rng.random_range(5..30),
            },
            40..46 => {
                let command = [
                    "create_close",
                    "create_open",
                    "get_paths",
                    "file_info",
                    "list_keys",
                    "delete",
                    "rename",
                ][rng.random_range(0..7)];
                let action = match rng.random_range(0..3) {
                    0 => FaultAction::CloseMidReply,
                    1 => FaultAction::Garbage(b"HTTP/1.0 500 oops\r\n".to_vec()),
                    _ if command == "create_close" => FaultAction::Rerun,
                    _ => FaultAction::StrayLine(b"OK \r\n".to_vec()),
                };
                FaultKind::BadReply {
                    tracker: rng.random_range(0..trackers),
                    command,
                    action,
                    times: rng.random_range(1..3),
                }
            }
            46..80 => {
                let (method, fault) = match rng.random_range(0..7) {
                    0 => (Method::PUT, NodeFault::Status(500)),
                    1 => (Method::GET, NodeFault::Status(500)),
                    2 => (
                        Method::GET,
                        NodeFault::ResetAfter {
                            body_bytes: rng.random_range(0..2048),
                        },
                    ),
                    3 => (
                        Method::GET,
                        NodeFault::StallResponseBody {
                            after: rng.random_range(0..2048),
                        },
                    ),
                    4 => (Method::PUT, NodeFault::StallBeforeHeaders),
                    5 => (Method::GET, NodeFault::IgnoreRange),
                    _ => (
                        Method::GET,
                        NodeFault::ShortBody {
                            missing: rng.random_range(1..64),
                        },
                    ),
                };
                FaultKind::Node {
                    node: rng.random_range(0..nodes),
                    method,
                    fault,
                    times: rng.random_range(1..6),
                }
            }
            80..88 => FaultKind::KillNode(rng.random_range(0..nodes)),
            _ => FaultKind::Replicate,
        };
        steps.push(Step {
            at,
            until: at + span,
            kind,
        });
        at += rng.random_range(3..25);
    }
    steps
}

/// Applies `step`'s fault.
pub(super) async fn apply(cluster: &TestCluster, kind: &FaultKind) {
    match kind {
        FaultKind::KillTracker(i) => cluster.kill_tracker(*i).unwrap(),
        FaultKind::HangTracker(i) => cluster.tracker(*i).unwrap().set_mode(ConnectionMode::Hang),
        FaultKind::DropReply {
            tracker,
            command,
            times,
        } => cluster.tracker(*tracker).unwrap().inject(
            Fault::new(FaultAction::Drop)
                .command(*command)
                .execute(true)
                .times(*times),
        ),
        FaultKind::BadReply {
            tracker,
            command,
            action,
            times,
        } => cluster
            .tracker(*tracker)
            .unwrap()
            .inject(Fault::new(action.clone()).command(*command).times(*times)),
        FaultKind::SlowTracker { tracker, times } => cluster
            .tracker(*tracker)
            .unwrap()
            .inject(Fault::new(FaultAction::Delay(SLOW_REPLY)).times(*times)),
        FaultKind::Node {
            node,
            method,
            fault,
            times,
        } => cluster.node(*node).unwrap().inject(
            FaultRule::new(fault.clone())
                .method(method.clone())
                .times(*times),
        ),
        FaultKind::KillNode(i) => cluster.kill_node(*i).unwrap(),
        FaultKind::Replicate => {
            // A copy can fail while a node is faulty; the next round or the final one retries.
            let _ = cluster.replicate_all().await;
        }
    }
}

/// Undoes the switch-like faults (the counted ones run out on their own).
pub(super) fn undo(cluster: &TestCluster, kind: &FaultKind) {
    match kind {
        FaultKind::KillTracker(i) => cluster.restart_tracker(*i).unwrap(),
        FaultKind::HangTracker(i) => cluster
            .tracker(*i)
            .unwrap()
            .set_mode(ConnectionMode::Normal),
        FaultKind::KillNode(i) => cluster.restart_node(*i).unwrap(),
        _ => {}
    }
}

/// Every server back to normal, every pending fault rule gone.
pub(super) fn clear_all(cluster: &TestCluster) {
    for (i, t) in cluster.trackers().iter().enumerate() {
        t.clear_faults();
        t.set_mode(ConnectionMode::Normal);
        cluster.restart_tracker(i).unwrap();
    }
    for (i, n) in cluster.nodes().iter().enumerate() {
        n.clear_faults();
        cluster.restart_node(i).unwrap();
    }
}
