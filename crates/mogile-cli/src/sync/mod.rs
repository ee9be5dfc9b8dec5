//! `mogile sync SRC DST`, and `put -r` / `get -r` on the same engine: bulk copies between
//! MogileFS domains, local directories and `object_store` stores.
//!
//! - `location`: what `SRC` and `DST` name; `side`, `mogile`, `local`, `store`: the three kinds
//!   of side behind one interface;
//! - `sort`: the external sort of each listing in raw byte order, in bounded memory;
//! - `merge`: the ordered merge of both listings, which checks the order as it goes;
//! - `engine`: planning and the concurrent transfers; `names`: keys that cannot share a
//!   directory tree; `delete`: the guarded deletions;
//! - `filter`: `--include` / `--exclude`; `report`: bars, failure lines and the summary.
//!
//! Safety rules, in the order they are enforced: nothing is written on the destination but
//! whole files (the atomic writer, a closed upload, an object store's own put); a key that cannot
//! be written there is a failure, never skipped or renamed; deletions run last, and only when
//! both listings completed in order, every copy succeeded, the source listed something (or
//! `--force`), and they are no more than `--max-delete`.

mod delete;
mod engine;
mod filter;
mod local;
mod location;
mod merge;
mod mogile;
mod names;
mod report;
mod side;
mod sort;
mod store;
#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::path::Path;

pub(crate) use engine::Options;
use location::Location;
use report::Reporter;

use crate::cli::SyncArgs;
use crate::config::Settings;
use crate::exit::Failure;
use crate::output::Out;

/// `mogile sync SRC DST ...`.
pub(crate) async fn sync(
    args: SyncArgs,
    settings: &Settings,
    quiet: bool,
    out: &mut Out,
) -> Result<(), Failure> {
    let filter = filter::Filter::new(&args.include, &args.exclude).map_err(Failure::usage)?;
    let src = location::parse(&args.src, &settings.trackers)?;
    let dst = location::parse(&args.dst, &settings.trackers)?;
    let class = args.class.or_else(|| match &dst {
        Location::Mogile { class, .. } => class.clone(),
        _ => None,
    });
    let opts = Options {
        delete: args.delete,
        max_delete: match (args.max_delete, args.force) {
            (Some(n), _) => Some(n),
            (None, true) => None,
            (None, false) => Some(1000),
        },
        force: args.force,
        dry_run: args.dry_run,
        checksum: args.checksum,
        jobs: usize::from(args.jobs),
        max_errors: args.max_errors,
        class,
        filter,
        memory_bound: args.memory_bound,
        ..Options::default()
    };
    execute(&src, &dst, &opts, settings, quiet, out).await
}

/// `mogile put -r DIR PREFIX`: every file under `DIR`, stored under `PREFIX`, overwriting.
pub(crate) async fn put_recursive(
    dir: &OsStr,
    prefix: &[u8],
    class: Option<String>,
    settings: &Settings,
    quiet: bool,
    out: &mut Out,
) -> Result<(), Failure> {
    let src = Location::Local(Path::new(dir).to_path_buf());
    let dst = domain_location(prefix, settings)?;
    let opts = Options {
        overwrite: true,
        class: class.or_else(|| settings.class.clone()),
        ..Options::default()
    };
    execute(&src, &dst, &opts, settings, quiet, out).await
}

/// `mogile get -r PREFIX DIR`: every key under `PREFIX`, written under `DIR`, overwriting.
pub(crate) async fn get_recursive(
    prefix: &[u8],
    dir: &Path,
    settings: &Settings,
    quiet: bool,
    out: &mut Out,
) -> Result<(), Failure> {
    let src = domain_location(prefix, settings)?;
    let dst = Location::Local(dir.to_path_buf());
    let opts = Options {
        overwrite: true,
        ..Options::default()
    };
    execute(&src, &dst, &opts, settings, quiet, out).await
}

/// The configured domain under `prefix` (a folder: `/` is added when missing).
fn domain_location(prefix: &[u8], settings: &Settings) -> Result<Location, Failure> {
    if settings.trackers.is_empty() {
        return Err(Failure::usage(
            "no trackers: use --trackers, MOGILE_TRACKERS or `trackers = ...` in a configuration file",
        ));
    }
    let mut prefix = prefix.to_vec();
    if !prefix.is_empty() && !prefix.ends_with(b"/") {
        prefix.push(b'/');
    }
    Ok(Location::Mogile {
        trackers: settings.trackers.clone(),
        domain: settings.domain()?.to_string(),
        prefix,
        class: None,
    })
}

async fn execute(
    src: &Location,
    dst: &Location,
    opts: &Options,
    settings: &Settings,
    quiet: bool,
    out: &mut Out,
) -> Result<(), Failure> {
    location::check_overlap(src, dst)?;
    let lookups = opts.lookups();
    let src = location::open(src, settings, lookups)?;
    let dst = location::open(dst, settings, lookups)?;
    let mut report = Reporter::new(out, quiet);
    let summary = engine::run(&src, &dst, opts, &mut report).await;
    src.close().await;
    dst.close().await;
    report.summary(&summary)
}
