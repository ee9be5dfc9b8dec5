//! The last phase of a sync: deleting what only the destination has, when every guard allows.

use futures::StreamExt;

use super::engine::{Options, Summary};
use super::report::Reporter;
use super::side::Side;
use super::sort::Sorter;
use crate::exit::chain;

/// Deletes what only the destination has, if every guard allows it.
pub(crate) async fn delete_phase(
    dst: &Side,
    opts: &Options,
    deletions: Sorter,
    sum: &mut Summary,
    report: &mut Reporter<'_>,
) {
    let n = deletions.count();
    if n == 0 {
        return;
    }
    if let Some(reason) = &sum.aborted {
        sum.deletes_refused = Some(format!(
            "{n} deletions not made: the sync stopped ({reason})"
        ));
        return;
    }
    if sum.failed > 0 {
        sum.deletes_refused = Some(format!(
            "{n} deletions not made: {} keys failed, and deletions run only after every copy succeeded",
            sum.failed
        ));
        return;
    }
    if let Some(max) = opts.max_delete.filter(|&max| n > max) {
        sum.deletes_refused = Some(format!(
            "{n} deletions not made: more than --max-delete {max} (raise it, or add --force to lift the cap)"
        ));
        return;
    }
    let keys = deletions.finish();
    if opts.dry_run {
        for key in keys {
            match key {
                Ok(e) => {
                    report.would_delete(&e.key);
                    sum.deleted += 1;
                }
                Err(e) => {
                    sum.aborted = Some(format!("reading the list of deletions: {e}"));
                    return;
                }
            }
        }
        return;
    }
    let results = futures::stream::iter(keys)
        .map(|key| async move {
            match key {
                Ok(e) => {
                    let r = dst.delete(&e.key).await.map_err(|err| chain(&err));
                    (e.key, r)
                }
                Err(e) => (
                    Vec::new(),
                    Err(format!("reading the list of deletions: {e}")),
                ),
            }
        })
        .buffer_unordered(opts.jobs.max(1));
    futures::pin_mut!(results);
    while let Some((key, r)) = results.next().await {
        match r {
            Ok(()) => sum.deleted += 1,
            Err(reason) => {
                sum.failed += 1;
                report.failure(&key, &format!("delete failed: {reason}"));
                if sum.failed >= opts.max_errors {
                    sum.aborted = Some(format!("stopped after {} failures", sum.failed));
                    return;
                }
            }
        }
    }
}
