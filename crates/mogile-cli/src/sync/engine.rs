//! The sync itself: list both sides into external sorts, merge them, copy what is missing or
//! different with `jobs` transfers at once, and delete only when everything else went well.
//! Into an empty MogileFS or object-store destination, copies start while the source is still
//! being listed (see [`run`]).

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::delete::delete_phase;
use super::filter::Filter;
use super::merge::{Merge, MergeError, Pair};
use super::names::{NameCheck, case_conflicts, folded_entries};
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
    /// After handing this many entries to the copies made while listing, the source listing
    /// waits until one of those copies is done: it proves that copies run before the listing
    /// ends (without early copies the listing never resumes, and the test times out).
    pub(crate) hold_listing_after_early: Option<usize>,
    /// The source listing holds its first entry until the destination listing is done, so that
    /// which way its entries go does not depend on which listing is faster.
    pub(crate) source_waits_for_destination: bool,
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
    /// Of `copied`, the keys copied while the source was still being listed (see [`run`]).
    pub(crate) copied_while_listing: u64,
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
    // Copies start while the source is still being listed when the destination lists nothing
    // and judges each key alone (not a local directory, whose name checks need the whole sorted
    // listing): every admitted source key is then a copy, whatever comes later. Entries listed
    // before that is known go through the sorted merge below, the others straight to a copy.
    let may_copy_early = !dst.is_local() && !opts.dry_run;
    let mode = Cell::new(Mode::Undecided);
    let (early_tx, early_rx) = futures::channel::mpsc::channel::<Entry>(EARLY_QUEUE);
    let tally = Tally::new(report.bytes_bar());
    let transfers = tokio::sync::Semaphore::new(opts.jobs.max(1));
    let early_done = tokio::sync::Notify::new();
    let mut early_handled = 0u64;
    let tap = Tap {
        mode: &mode,
        tx: early_tx,
        #[cfg(test)]
        done: &early_done,
    };
    // On a case-insensitive local destination, the source's names also go, folded, into a sort of
    // their own, from which the case conflicts are read (see `NameCheck`).
    let fold_case = dst.is_local() && dst.is_case_insensitive().await;
    #[cfg(test)]
    let fold_case = fold_case || (dst.is_local() && opts.hooks.case_insensitive);
    let mut folded = fold_case.then(|| Sorter::new(opts.memory_bound));
    let src_sink = report.clone_sink();
    let dst_sink = report.clone_sink();
    let (s, (d, early_stop)) = futures::join!(
        list_side(src, true, opts, src_sink, Some(tap), folded.as_mut()),
        async {
            let d = list_side(dst, false, opts, dst_sink, None, None).await;
            let empty = matches!(&d, Ok((sorter, _, bad)) if sorter.count() == 0 && bad.is_empty());
            if !(may_copy_early && empty) {
                mode.set(Mode::Sorted);
                drop(early_rx);
                return (d, false);
            }
            mode.set(Mode::Early);
            let mut jobs = early_rx
                .map(|e| -> Job<'_> {
                    Box::pin(job(
                        src,
                        dst,
                        opts,
                        Pair::Source(e),
                        None,
                        tally.clone(),
                        &transfers,
                    ))
                })
                .buffer_unordered(opts.lookups());
            while let Some(outcome) = jobs.next().await {
                let copied = matches!(outcome, Outcome::Copied(_));
                early_handled += 1;
                let stop = absorb(outcome, &mut sum, report, opts, None).await;
                if copied {
                    sum.copied_while_listing += 1;
                    early_done.notify_one();
                }
                if stop {
                    // The listing may still be sending: it finds the queue closed and lists on
                    // without copying.
                    mode.set(Mode::Stopped);
                    return (d, true);
                }
            }
            (d, false)
        }
    );
    let (src_sorter, src_passed, src_bad) = match s {
        Ok(x) => x,
        Err(e) => return aborted(sum, started, format!("listing the source failed: {e}")),
    };
    let (dst_sorter, _, dst_bad) = match d {
        Ok(x) => x,
        Err(e) => return aborted(sum, started, format!("listing the destination failed: {e}")),
    };
    sum.listed_source = src_sorter.count() + src_passed;
    sum.listed_destination = dst_sorter.count();
    for (key, reason) in src_bad.into_iter().chain(dst_bad) {
        sum.failed += 1;
        report.failure(&key, &reason);
    }
    if early_stop {
        report.finish_bars();
        sum.elapsed = started.elapsed();
        return sum;
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
    report.comparing(sum.listed_source, early_handled);

    let src_sorted = src_sorter.finish();
    #[cfg(test)]
    let src_sorted = invert(src_sorted, opts.hooks.invert_source_at);
    let merge = Merge::new(src_sorted, dst_sorter.finish());
    let case = match folded.map(|f| case_conflicts(f.finish())) {
        None => HashMap::new(),
        Some(Ok(conflicts)) => conflicts,
        Some(Err(e)) => return aborted(sum, started, format!("sorting the folded names: {e}")),
    };
    let mut names = NameCheck::new(dst.is_local()).with_case_conflicts(case);
    let mut deletions = Sorter::new(opts.memory_bound);
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
        if absorb(outcome, &mut sum, report, opts, Some(&mut deletions)).await {
            break;
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

/// Adds one outcome to the summary and the report; `true` when the sync must stop.
/// `deletions` collects the keys only the destination has (`None` while copying during the
/// listing, when the destination is empty).
async fn absorb(
    outcome: Outcome,
    sum: &mut Summary,
    report: &mut Reporter<'_>,
    opts: &Options,
    deletions: Option<&mut Sorter>,
) -> bool {
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
                return true;
            }
        }
        Outcome::OnlyOnDestination(key) => {
            if let (true, Some(deletions)) = (opts.delete, deletions) {
                if let Err(e) = deletions.push(Entry { key, size: None }).await {
                    sum.aborted = Some(format!("keeping the list of deletions: {e}"));
                    return true;
                }
            }
        }
        Outcome::Abort(reason) => {
            sum.aborted = Some(reason);
            return true;
        }
    }
    false
}

/// Entries queued for the copies made while listing, before the listing waits for them.
const EARLY_QUEUE: usize = 1024;

/// Where the source listing sends its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The destination is still being listed: into the sorter.
    Undecided,
    /// The destination listed nothing: straight to a copy.
    Early,
    /// The destination has keys (or cannot take early copies): into the sorter.
    Sorted,
    /// The copies made while listing stopped the sync: nowhere (only counted).
    Stopped,
}

/// The source listing's way to the copies made while listing.
struct Tap<'a> {
    mode: &'a Cell<Mode>,
    tx: futures::channel::mpsc::Sender<Entry>,
    /// Signalled after each such copy (for the test hook).
    #[cfg(test)]
    done: &'a tokio::sync::Notify,
}

fn aborted(mut sum: Summary, started: Instant, reason: String) -> Summary {
    sum.aborted = Some(reason);
    sum.elapsed = started.elapsed();
    sum
}

fn abort_reason(e: &MergeError) -> String {
    format!("{}; nothing was deleted", chain(e))
}

/// A side's listing: the sorter, how many entries went to a copy made while listing instead, and
/// the entries that cannot be synced.
type SideListing = (Sorter, u64, Vec<(Vec<u8>, String)>);

/// Lists one side into a sorter (or, through `tap`, to the copies made while listing).
async fn list_side(
    side: &Side,
    as_source: bool,
    opts: &Options,
    sink: super::report::ListSink,
    mut tap: Option<Tap<'_>>,
    mut folded: Option<&mut Sorter>,
) -> Result<SideListing, String> {
    use futures::SinkExt;
    let mut sorter = Sorter::new(opts.memory_bound);
    let mut passed_on = 0u64;
    let mut bad = Vec::new();
    let mut listing = side.list(as_source);
    #[cfg(test)]
    let mut sent_early = 0usize;
    while let Some(item) = listing.next().await {
        match item {
            Ok(Listed::Entry(e)) if opts.filter.admits(&e.key) => {
                #[cfg(test)]
                if let (true, Some(t)) = (opts.hooks.source_waits_for_destination, tap.as_ref()) {
                    while t.mode.get() == Mode::Undecided {
                        // Both listings are polled by one `join!`: yielding lets the other run.
                        tokio::task::yield_now().await;
                    }
                }
                if let Some(f) = folded.as_deref_mut() {
                    for entry in folded_entries(&e.key) {
                        f.push(entry)
                            .await
                            .map_err(|e| format!("spilling the folded names: {e}"))?;
                    }
                }
                match tap.as_mut().map(|t| (t.mode.get(), t)) {
                    Some((Mode::Early, t)) => {
                        passed_on += 1;
                        // A closed queue means the copies stopped the sync: list on, copy no more.
                        let _ = t.tx.send(e).await;
                        #[cfg(test)]
                        {
                            sent_early += 1;
                            if opts.hooks.hold_listing_after_early == Some(sent_early) {
                                t.done.notified().await;
                            }
                        }
                    }
                    Some((Mode::Stopped, _)) => passed_on += 1,
                    _ => sorter
                        .push(e)
                        .await
                        .map_err(|e| format!("spilling the listing: {e}"))?,
                }
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
    Ok((sorter, passed_on, bad))
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
