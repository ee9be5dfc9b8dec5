//! Command name -> handler.

use std::time::Duration;

use super::model::Model;
use super::wire::{Reply, ReqArgs};

/// Executes one query command against the model. Unknown commands (including `stats`, `get_classes`,
/// `get_file_data`, `store_file`, which 2.73 does not have) answer `unknown_command`.
pub(crate) async fn execute(
    model: &Model,
    cmd: &str,
    args: &ReqArgs,
    http_timeout: Duration,
) -> Reply {
    match cmd {
        "create_open" => model.create_open(args),
        "create_close" => model.create_close(args, http_timeout).await,
        "get_paths" => model.get_paths(args, http_timeout).await,
        "delete" => model.delete(args),
        "rename" => model.rename(args),
        "updateclass" => model.updateclass(args),
        "file_info" => model.file_info(args),
        "file_debug" => model.file_debug(args),
        "list_keys" => model.list_keys(args),
        "list_fids" => model.list_fids(args),
        "sleep" => {
            let secs = args.truthy("duration").map_or(10, super::wire::perl_num);
            tokio::time::sleep(Duration::from_secs(u64::try_from(secs).unwrap_or(0))).await;
            Reply::ok()
        }
        _ => model
            .layout_command(cmd, args)
            .or_else(|| model.maintenance_command(cmd, args))
            .unwrap_or_else(|| Reply::err("unknown_command")),
    }
}

/// The multi-line answer to a `!` admin line (without the terminating `.` line).
pub(crate) fn admin_lines(cmd: &[u8], stats: &super::stats::Snapshot) -> Vec<u8> {
    let word = cmd
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    match word {
        b"!version" => b"2.73\r\n".to_vec(),
        b"!stats" => format!(
            "uptime {}\r\npending_queries 0\r\nprocessing_queries 0\r\nbored_queryworkers 8\r\nqueries {}\r\n\
             times_out_of_qworkers 0\r\n",
            stats.uptime_secs, stats.queries
        )
        .into_bytes(),
        b"!jobs" | b"!recent" | b"!queue" | b"!pend" | b"!watch" | b"!want" | b"!to" => Vec::new(),
        _ => HELP.to_vec(),
    }
}

/// The help text for unknown `!` commands; its lines end in a bare LF, as captured.
const HELP: &[u8] = b"Mogilefsd admin commands:\n\n    !version    Server version\n    !recent     Recently executed queries and how long they took.\n    !queue      Queries that are pending execution.\n    !stats      General stats on what we're up to.\n    !watch      Observe errors/messages from children.\n    !jobs       Outstanding job counts, desired level, and pids.\n    !shutdown   Immediately kill all of mogilefsd.\n\n    !to <job class> <message>\n                Send <message> to all workers of <job class>.\n                Mostly used for debugging.\n\n    !want <count> <job class>\n                Alter the level of workers of this class desired.\n                Example: !want 20 queryworker, !want 3 replicate.\n                See !jobs for what jobs are available.\n\n";
