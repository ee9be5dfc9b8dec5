//! The sync itself: list both sides into external sorts, merge them, copy what is missing or
//! different with `jobs` transfers at once, and delete only when everything else went well.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::delete::delete_phase;
use super::filter::Filter;
use super::merge::{Merge, MergeError, Pair};
use super::names::NameCheck;
use super::report::Reporter;
use super::side::{Listed, Side, SideError, Tally};
use super::sort::{Entry, Sorter};
use crate::exit::chain;

/// What a sync is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Delete keys of the destination that the source does not have.
    pub(crate) delete: bool,
    /// Most deletions (`None`: no cap).
    pub(crate) max_delete: Option<u64>,
    /// Allow `--delete` after an empty source listing.
    pub(crate) force: bool,
    /// Plan only.
    pub(crate) dry_run: bool,
    /// Compare contents too.
    pub(crate) checksum: bool,
    /// Transfers at once.
    pub(crate) jobs: usize,
    /// Stop after this many failures.
    pub(crate) max_errors: u64,
    /// The class of new MogileFS files (else the source's, between two MogileFS sides).
    pub(crate) class: Option<String>,
    /// `--include` / `--exclude`.
    pub(crate) filter: Filter,
    /// Bytes of listing entries each sort holds in memory before spilling.
    pub(crate) memory_bound: usize,
    /// Copy every source key, even when the destination has it the same (`put -r`, `get -r`).
    pub(crate) overwrite: bool,
    /// Test hooks.
    #[cfg(test)]
    pub(crate) hooks: Hooks,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            delete: false,
            max_delete: Some(1000),
            force: false,
            dry_run: false,
            checksum: false,
            jobs: 8,
            max_errors: 100,
            class: None,
            filter: Filter::default(),
            memory_bound: 256 * 1024 * 1024,
            overwrite: false,
            #[cfg(test)]
            hooks: Hooks::default(),
        }
    }
}

impl Options {
    /// Keys examined at once: comparisons are a `file_info` or a `stat`, much cheaper than a
    /// transfer, so more of them run than `jobs`; transfers stay at `jobs`.
    pub(crate) fn lookups(&self) -> usize {
        self.jobs.max(1).saturating_mul(LOOKUPS_PER_JOB)
    }
}

/// Comparisons in flight per transfer slot.
const LOOKUPS_PER_JOB: usize = 4;

/// Faults the tests inject.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub(crate) struct Hooks {
    /// Swap the source's sorted entries `n` and `n + 1`: an order inversion.
    pub(crate) invert_source_at: Option<usize>,
    /// Treat the destination as a case-insensitive filesystem.
    pub(crate) case_insensitive: bool,
    /// After this many copies, signal and stop making progress: the test then drops the sync
    /// with transfers in flight, as a kill would.
    pub(crate) cancel_after: Option<(u64, std::sync::Arc<tokio::sync::Notify>)>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Keys listed on the source (after the filters).
    pub(crate) listed_source: u64,
    /// Keys listed on the destination (after the filters).
    pub(crate) listed_destination: u64,
    /// Keys copied (or, with `--dry-run`, to copy).
    pub(crate) copied: u64,
    /// Keys found the same on both sides.
    pub(crate) identical: u64,
    /// Keys deleted (or, with `--dry-run`, to delete).
    pub(crate) deleted: u64,
    /// Keys that failed, each reported with its reason.
    pub(crate) failed: u64,
    /// Bytes copied.
    pub(crate) bytes: u64,
    /// How long it took.
    pub(crate) elapsed: Duration,
    /// Why the sync stopped early, if it did.
    pub(crate) aborted: Option<String>,
    /// Why deletions were not made, if they were asked for and not made.
    pub(crate) deletes_refused: Option<String>,
    /// Whether nothing was changed on purpose.
    pub(crate) dry_run: bool,
}

/// What became of one pair.
enum Outcome {
    Copied(u64),
    WouldCopy(Vec<u8>),
    Identical,
    Failed(Vec<u8>, String),
    OnlyOnDestination(Vec<u8>),
    Abort(String),
}

type Job<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

/// Runs a sync from `src` to `dst`.
pub(crate) async fn run(
    src: &Side,
    dst: &Side,
    opts: &Options,
    report: &mut Reporter<'_>,
) -> Summary {
    let started = Instant::now();
    let mut sum = Summary {
        dry_run: opts.dry_run,
        ..Summary::default()
    };
    report.listing();
    let (s, d) = futures::join!(
        list_side(src, true, opts, report.clone_sink()),
        list_side(dst, false, opts, report.clone_sink())
    );
    let (src_sorter, src_bad) = match s {
        Ok(x) => x,
        Err(e) => return aborted(sum, started, format!("listing the source failed: {e}")),
    };
    let (dst_sorter, dst_bad) = match d {
        Ok(x) => x,
        Err(e) => return aborted(sum, started, format!("listing the destination failed: {e}")),
    };
    sum.listed_source = src_sorter.count();
    sum.listed_destination = dst_sorter.count();
    for (key, reason) in src_bad.into_iter().chain(dst_bad) {
        sum.failed += 1;
        report.failure(&key, &reason);
    }
    if opts.delete && sum.listed_source == 0 && !opts.force {
        // Refused before anything is planned: an empty source is more often a mistake (a
        // wrong prefix, an unmounted disk) than a wish to empty the destination.
        sum.deletes_refused = Some(
            "the source lists no objects: --delete needs --force to empty the destination".into(),
        );
        sum.elapsed = started.elapsed();
        return sum;
    }
    let tally = Tally::new(report.bytes_bar());
    report.comparing(sum.listed_source);

    let src_sorted = src_sorter.finish();
    #[cfg(test)]
    let src_sorted = invert(src_sorted, opts.hooks.invert_source_at);
    let merge = Merge::new(src_sorted, dst_sorter.finish());
    let mut names = NameCheck::new(dst.is_local());
    names.fold_case = dst.is_case_insensitive().await;
    #[cfg(test)]
    {
        names.fold_case |= opts.hooks.case_insensitive;
    }
    let mut deletions = Sorter::new(opts.memory_bound);
    let transfers = tokio::sync::Semaphore::new(opts.jobs.max(1));
    let mut jobs = Box::pin(
        futures::stream::iter(merge)
            .map(|item| -> Job<'_> {
                match item {
                    Err(e) => Box::pin(futures::future::ready(Outcome::Abort(abort_reason(&e)))),
                    Ok(Pair::Destination(e)) => {
                        Box::pin(futures::future::ready(Outcome::OnlyOnDestination(e.key)))
                    }
                    Ok(pair) => {
                        let conflict = names.check(pair.key());
                        Box::pin(job(
                            src,
                            dst,
                            opts,
                            pair,
                            conflict,
                            tally.clone(),
                            &transfers,
                        ))
                    }
                }
            })
            .buffer_unordered(opts.lookups()),
    );
    while let Some(outcome) = jobs.next().await {
        match outcome {
            Outcome::Copied(n) => {
                sum.copied += 1;
                sum.bytes += n;
                report.object_done();
                #[cfg(test)]
                if let Some((after, notify)) = &opts.hooks.cancel_after {
                    if sum.copied == *after {
                        notify.notify_one();
                        std::future::pending::<()>().await;
                    }
                }
            }
            Outcome::WouldCopy(key) => {
                sum.copied += 1;
                report.would_copy(&key);
                report.object_done();
            }
            Outcome::Identical => {
                sum.identical += 1;
                report.object_done();
            }
            Outcome::Failed(key, reason) => {
                sum.failed += 1;
                report.failure(&key, &reason);
                report.object_done();
                if sum.failed >= opts.max_errors {
                    sum.aborted = Some(format!("stopped after {} failures", sum.failed));
                    break;
                }
            }
            Outcome::OnlyOnDestination(key) => {
                if opts.delete {
                    if let Err(e) = deletions.push(Entry { key, size: None }).await {
                        sum.aborted = Some(format!("keeping the list of deletions: {e}"));
                        break;
                    }
                }
            }
            Outcome::Abort(reason) => {
                sum.aborted = Some(reason);
                break;
            }
        }
    }
    // Dropping the stream cancels what is still in flight: a local file is then never renamed
    // into place, and a MogileFS upload is never closed.
    drop(jobs);
    if opts.delete {
        delete_phase(dst, opts, deletions, &mut sum, report).await;
    }
    report.finish_bars();
    sum.elapsed = started.elapsed();
    sum
}

fn aborted(mut sum: Summary, started: Instant, reason: String) -> Summary {
    sum.aborted = Some(reason);
    sum.elapsed = started.elapsed();
    sum
}

fn abort_reason(e: &MergeError) -> String {
    format!("{}; nothing was deleted", chain(e))
}

/// Lists one side into a sorter; returns it with the entries that cannot be synced.
async fn list_side(
    side: &Side,
    as_source: bool,
    opts: &Options,
    sink: super::report::ListSink,
) -> Result<(Sorter, Vec<(Vec<u8>, String)>), String> {
    let mut sorter = Sorter::new(opts.memory_bound);
    let mut bad = Vec::new();
    let mut listing = side.list(as_source);
    while let Some(item) = listing.next().await {
        match item {
            Ok(Listed::Entry(e)) if opts.filter.admits(&e.key) => {
                sorter
                    .push(e)
                    .await
                    .map_err(|e| format!("spilling the listing: {e}"))?;
                sink.listed();
            }
            Ok(Listed::Entry(_)) => {}
            Ok(Listed::Bad { key, reason }) if opts.filter.admits(&key) => {
                // Only the source's bad entries matter for what is copied; the destination's
                // are reported too, since deletions cannot know about them.
                bad.push((
                    key,
                    format!("cannot sync it from the {}: {reason}", which(as_source)),
                ));
            }
            Ok(Listed::Bad { .. }) => {}
            Err(e) => return Err(chain(&e)),
        }
    }
    Ok((sorter, bad))
}

fn which(as_source: bool) -> &'static str {
    if as_source { "source" } else { "destination" }
}

/// Decides and does what one key needs.
async fn job(
    src: &Side,
    dst: &Side,
    opts: &Options,
    pair: Pair,
    conflict: Option<String>,
    tally: Tally,
    transfers: &tokio::sync::Semaphore,
) -> Outcome {
    let key = pair.key().to_vec();
    if let Some(reason) = conflict {
        return Outcome::Failed(key, reason);
    }
    let result = async {
        let (s, d) = match pair {
            Pair::Source(s) => {
                if let Some(reason) = dst.refuses(&s.key) {
                    return Err(format!("cannot be written on the destination: {reason}"));
                }
                (s, None)
            }
            Pair::Both(s, d) => (s, Some(d)),
            // Handled by the caller.
            Pair::Destination(_) => return Ok(Outcome::Identical),
        };
        if let Some(d) = d {
            if !opts.overwrite
                && same(src, dst, &s, &d, opts.checksum)
                    .await
                    .map_err(|e| chain(&e))?
            {
                return Ok(Outcome::Identical);
            }
        }
        if opts.dry_run {
            return Ok(Outcome::WouldCopy(s.key));
        }
        // Never closed, so the permit always comes.
        let _permit = transfers.acquire().await.map_err(|e| e.to_string())?;
        copy(src, dst, &s.key, opts, tally)
            .await
            .map(Outcome::Copied)
            .map_err(|e| chain(&e))
    }
    .await;
    result.unwrap_or_else(|reason| Outcome::Failed(key, reason))
}

/// Whether a key on both sides needs no copy: the same size, and with `checksum` the same MD5.
/// Sizes the listing did not give are asked now, for these keys only.
async fn same(
    src: &Side,
    dst: &Side,
    s: &Entry,
    d: &Entry,
    checksum: bool,
) -> Result<bool, SideError> {
    let (sm, dm) = futures::try_join!(meta(src, s, checksum), meta(dst, d, checksum))?;
    if sm.size != dm.size {
        return Ok(false);
    }
    if !checksum {
        return Ok(true);
    }
    let (a, b) = futures::try_join!(src.md5(&s.key, &sm), dst.md5(&d.key, &dm))?;
    Ok(a == b)
}

/// What `side` says of `e`, asked only when the listing did not give the size (or, with
/// `checksum`, to learn a stored MD5).
async fn meta(side: &Side, e: &Entry, checksum: bool) -> Result<super::side::Meta, SideError> {
    match e.size {
        Some(size) if !checksum => Ok(super::side::Meta {
            size,
            ..Default::default()
        }),
        _ => side.meta(&e.key).await,
    }
}

/// Copies one key; a MogileFS to MogileFS copy keeps the class unless `--class` is given.
async fn copy(
    src: &Side,
    dst: &Side,
    key: &[u8],
    opts: &Options,
    tally: Tally,
) -> Result<u64, SideError> {
    let class = match &opts.class {
        Some(c) => Some(c.clone()),
        None if src.is_mogile() && dst.is_mogile() => src.meta(key).await?.class,
        None => None,
    };
    let body = src.open(key).await?;
    dst.write(key, body, class.as_deref(), tally).await
}

#[cfg(test)]
fn invert(
    sorted: super::sort::Sorted,
    at: Option<usize>,
) -> Box<dyn Iterator<Item = std::io::Result<Entry>>> {
    let Some(at) = at else {
        return Box::new(sorted);
    };
    let mut v: Vec<_> = sorted.collect();
    if at + 1 < v.len() {
        v.swap(at, at + 1);
    }
    Box::new(v.into_iter())
}
