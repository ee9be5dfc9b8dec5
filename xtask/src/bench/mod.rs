//! `cargo xtask bench [--quick]`: the client against raw baselines, side by side in one run, and
//! `docs/benchmarks.md` regenerated from the figures.
//!
//! The orchestrator (this process, whatever profile `cargo xtask` built) builds the release
//! binaries, then starts them: `xtask bench serve` runs the cluster, `xtask bench client` runs
//! parts 1 and 2 (each client figure alternating with its raw baseline in the same process), and
//! part 3 runs one process per transfer (`xtask bench stream-put` / `stream-get`, and `curl`).
//! Part 4 is the protocol crate's criterion bench. Part 5 fetches 256 MiB through `MogileStore`
//! and through the facade, one process per `get` (`xtask bench object-store-get`), and compares
//! their CPU time. Parts 6 (striped reads) and 7 (hedged tail) run storage nodes in processes
//! of their own (`replicas.rs`, `replica_procs.rs`). `--only PART` runs one part alone (and writes
//! no docs): tracker, small, streaming, object-store, stripes, hedge or sync.
//! Part 8 runs the release `mogile sync` from a local directory into the cluster against a loop of
//! `mogile put` processes and the facade's own puts.

mod client;
mod codec;
mod cost;
mod docs;
mod http_shapes;
mod measure;
mod object_store_get;
mod raw;
mod replica_procs;
mod replicas;
mod report;
mod serve;
mod small_files;
mod streaming;
mod sync;
mod tracker_rt;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use report::Figure;

/// Keys preloaded on the fake tracker for the round trips.
const ROUND_TRIP_KEYS: usize = 1000;

fn round_trip_key(i: usize) -> String {
    format!("rt/{i:05}")
}

/// The parts `--only` can run alone; [`run`] checks the value against this list.
const PARTS: &[&str] = &[
    "tracker",
    "small",
    "streaming",
    "object-store",
    "stripes",
    "hedge",
    "sync",
    "tracker-cost",
];

/// `cargo xtask bench` options, and the internal subcommands the orchestrator runs (hidden).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Fewer rounds and sizes: a quick look, not figures for the docs
    #[arg(long)]
    quick: bool,
    /// Do not regenerate docs/benchmarks.md
    #[arg(long)]
    no_docs: bool,
    /// Run one part alone (and write no docs): tracker, small, streaming, object-store, stripes,
    /// hedge or sync; or tracker-cost (instructions and simulated cache misses per tracker
    /// request under callgrind, a diagnostic)
    #[arg(long, value_name = "PART")]
    only: Option<String>,
}

/// The processes the orchestrator starts from the release build, each with its own arguments.
#[derive(Debug, clap::Subcommand)]
enum Internal {
    /// The cluster the other processes measure against
    #[command(hide = true)]
    Serve,
    /// Parts 1 and 2: tracker round trips and small files
    #[command(hide = true)]
    Client(Raw),
    /// Part 3: one streamed store
    #[command(hide = true)]
    StreamPut(Raw),
    /// Part 3: one streamed fetch
    #[command(hide = true)]
    StreamGet(Raw),
    /// Part 5: one fetch through `MogileStore` or the facade
    #[command(hide = true)]
    ObjectStoreGet(Raw),
    /// Part 6: one storage node in its own process, with a bandwidth cap
    #[command(hide = true)]
    StorageNode(Raw),
    /// Parts 6 and 7: the tracker for the per-process nodes
    #[command(hide = true)]
    ReplicaTracker(Raw),
    /// Part 7: the hedged small gets
    #[command(hide = true)]
    HedgeGets(Raw),
    /// Part 8: the facade's own puts of the sync tree
    #[command(hide = true)]
    SyncFacadePut(Raw),
    /// Diagnostic: the CPU of one small GET through each HTTP client layer
    #[command(hide = true)]
    HttpShapes(Raw),
    /// Diagnostic: a fixed number of tracker requests, for instruction counts under callgrind
    #[command(hide = true)]
    TrackerLoop(Raw),
}

/// The arguments of an internal subcommand, which parses them itself.
#[derive(Debug, clap::Args)]
struct Raw {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Entry point of `cargo xtask bench ...` (and of the internal subcommands the release build runs).
pub(crate) fn run(args: Args) -> ExitCode {
    match args.internal {
        Some(Internal::Serve) => serve::run(),
        Some(Internal::Client(raw)) => client::run(&raw.args),
        Some(Internal::StreamPut(raw)) => client::stream_put(&raw.args),
        Some(Internal::StreamGet(raw)) => client::stream_get(&raw.args),
        Some(Internal::ObjectStoreGet(raw)) => client::object_store_get(&raw.args),
        Some(Internal::StorageNode(raw)) => replica_procs::storage_node(&raw.args),
        Some(Internal::ReplicaTracker(raw)) => replica_procs::replica_tracker(&raw.args),
        Some(Internal::HedgeGets(raw)) => replica_procs::hedge_gets(&raw.args),
        Some(Internal::SyncFacadePut(raw)) => sync::facade_put_process(&raw.args),
        Some(Internal::HttpShapes(raw)) => http_shapes::run(&raw.args),
        Some(Internal::TrackerLoop(raw)) => tracker_rt::tracker_loop(&raw.args),
        None => {
            let only = match args.only.as_deref().map(|p| (p, Part::parse(p))) {
                None => None,
                Some((_, Some(part))) => Some(part),
                Some((part, None)) => {
                    eprintln!(
                        "xtask bench: unknown part {part:?} for --only (known: {})",
                        PARTS.join(", ")
                    );
                    return ExitCode::from(2);
                }
            };
            // One part alone would make a page of "not measured".
            let write_docs = !args.no_docs && only.is_none();
            match orchestrate(args.quick, write_docs, only) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("xtask bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// A part `--only` runs alone (no page written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Tracker,
    Small,
    Streaming,
    ObjectStore,
    Stripes,
    Hedge,
    Sync,
    /// Not a part of the page: the diagnostic of `cost.rs`.
    TrackerCost,
}

impl Part {
    /// The part named `s`, one of [`PARTS`].
    fn parse(s: &str) -> Option<Self> {
        match s {
            "tracker" => Some(Self::Tracker),
            "small" => Some(Self::Small),
            "streaming" => Some(Self::Streaming),
            "object-store" => Some(Self::ObjectStore),
            "stripes" => Some(Self::Stripes),
            "hedge" => Some(Self::Hedge),
            "sync" => Some(Self::Sync),
            "tracker-cost" => Some(Self::TrackerCost),
            _ => None,
        }
    }

    /// Whether this run (all parts, or `only`) includes `part`.
    fn runs(only: Option<Self>, part: Self) -> bool {
        only.is_none_or(|o| o == part)
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn release_exe(root: &Path) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release").join("xtask")
}

fn orchestrate(quick: bool, write_docs: bool, only: Option<Part>) -> Result<(), String> {
    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let root = workspace_root();
    std::env::set_current_dir(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let load_before = docs::load_average();
    eprintln!("xtask bench: building release binaries (load average {load_before})");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "xtask"])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".to_owned());
    }
    if only.is_none() {
        codec::build(&cargo)?;
    }
    let exe = release_exe(&root);
    if only == Some(Part::TrackerCost) {
        let mut server = Server::start(&exe)?;
        cost::run(&exe, &server.tracker, &server.domain, quick)?;
        return server.stop();
    }
    let measured = Instant::now();
    if let Some(part @ (Part::Stripes | Part::Hedge)) = only {
        let figures = if part == Part::Stripes {
            replicas::stripes(&exe, quick)?
        } else {
            replicas::hedge(&exe, quick)?
        };
        return finish(
            &root,
            started,
            measured,
            load_before,
            quick,
            write_docs,
            &figures,
        );
    }

    let mut server = Server::start(&exe)?;
    let mut figures = Vec::new();
    let object_store = object_store_get::Setup {
        exe: &exe,
        tracker: &server.tracker,
        domain: &server.domain,
        // A `get` takes a fraction of a second and CPU time varies by ±30% from one to the next
        // on a shared machine: many rounds, so that the median means something.
        rounds: if quick { 7 } else { 21 },
    };
    let (tracker, small) = (
        Part::runs(only, Part::Tracker),
        Part::runs(only, Part::Small),
    );
    if tracker || small {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "bench",
            "client",
            "--tracker",
            &server.tracker,
            "--domain",
            &server.domain,
            "--server-pid",
            &server.child.id().to_string(),
        ]);
        if quick {
            cmd.arg("--quick");
        }
        if !(tracker && small) {
            cmd.args(["--only", if tracker { "tracker" } else { "small" }]);
        }
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("bench client: {e}"))?;
        if !out.status.success() {
            return Err("the measuring process failed".to_owned());
        }
        figures.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(Figure::decode),
        );
    }

    if Part::runs(only, Part::Streaming) {
        let sizes: &[u64] = if quick {
            &[64 << 20]
        } else {
            &[64 << 20, 1 << 30]
        };
        figures.extend(streaming::run(&streaming::Setup {
            exe: &exe,
            tracker: &server.tracker,
            domain: &server.domain,
            sizes,
            rounds: if quick { 3 } else { 5 },
        })?);
    }
    if Part::runs(only, Part::ObjectStore) {
        figures.extend(object_store_get::run(&object_store)?);
    }
    if Part::runs(only, Part::Sync) {
        let mogile = sync::build_mogile(&cargo, &exe)?;
        figures.extend(sync::run(&sync::Setup {
            xtask: &exe,
            mogile: &mogile,
            tracker: &server.tracker,
            domain: &server.domain,
            rounds: if quick { 1 } else { 3 },
        })?);
    }
    server.stop()?;
    if only.is_none() {
        figures.extend(replicas::stripes(&exe, quick)?);
        figures.extend(replicas::hedge(&exe, quick)?);
        figures.extend(codec::run(&cargo, quick)?);
    }
    finish(
        &root,
        started,
        measured,
        load_before,
        quick,
        write_docs,
        &figures,
    )
}

/// Reports the missed targets and writes `docs/benchmarks.md` (when asked).
fn finish(
    root: &Path,
    started: Instant,
    measured: Instant,
    load_before: String,
    quick: bool,
    write_docs: bool,
    figures: &[Figure],
) -> Result<(), String> {
    let build_secs = measured.duration_since(started).as_secs();
    let run = docs::RunInfo {
        quick,
        load_before,
        load_after: docs::load_average(),
        measured_secs: measured.elapsed().as_secs(),
        build_secs,
    };
    let missed: Vec<&Figure> = figures.iter().filter(|f| f.met == Some(false)).collect();
    eprintln!(
        "\nxtask bench: {} figures in {} s (+{} s build), {} target(s) missed",
        figures.len(),
        run.measured_secs,
        run.build_secs,
        missed.len()
    );
    for f in &missed {
        eprintln!("  missed: {}", f.line);
    }
    if write_docs {
        let path = root.join("docs").join("benchmarks.md");
        std::fs::write(&path, docs::render(&run, figures))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("xtask bench: wrote {}", path.display());
    }
    Ok(())
}

/// The cluster process; stopped (its stdin closed) on drop, which removes its directories.
struct Server {
    child: Child,
    tracker: String,
    domain: String,
}

impl Server {
    fn start(exe: &Path) -> Result<Self, String> {
        let mut child = Command::new(exe)
            .args(["bench", "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the cluster: {e}"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| format!("reading the cluster's address: {e}"))?;
        }
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_owned)
        };
        let (Some(tracker), Some(domain)) = (field("tracker="), field("domain=")) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the cluster did not start (it said {line:?})"));
        };
        eprintln!("xtask bench: cluster up, tracker {tracker}, domain {domain}");
        Ok(Self {
            child,
            tracker,
            domain,
        })
    }

    fn stop(&mut self) -> Result<(), String> {
        drop(self.child.stdin.take());
        self.child
            .wait()
            .map(drop)
            .map_err(|e| format!("stopping the cluster: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.stdin.is_some() {
            let _ = self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Cmd::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.args)
    }

    /// The orchestrator starts `xtask bench client --tracker ...`: the internal subcommands take
    /// their arguments, flags included, as they are.
    #[test]
    fn internal_subcommands_keep_their_arguments() {
        let a = parse(&["client", "--tracker", "t:1", "--only", "small", "--quick"]).unwrap();
        match a.internal {
            Some(Internal::Client(raw)) => {
                assert_eq!(raw.args, ["--tracker", "t:1", "--only", "small", "--quick"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["serve"]).unwrap().internal,
            Some(Internal::Serve)
        ));
        let a = parse(&["stream-get", "t:1", "d", "k"]).unwrap();
        assert!(matches!(a.internal, Some(Internal::StreamGet(r)) if r.args == ["t:1", "d", "k"]));
        let a = parse(&["object-store-get", "t", "d", "k", "store"]).unwrap();
        assert!(matches!(a.internal, Some(Internal::ObjectStoreGet(r)) if r.args.len() == 4));
    }

    #[test]
    fn options_and_parts() {
        let a = parse(&["--quick", "--no-docs", "--only", "object-store"]).unwrap();
        assert!(a.quick && a.no_docs && a.internal.is_none());
        assert_eq!(a.only.as_deref(), Some("object-store"));
        // `--only` takes any string; `run` checks it against PARTS (status 2 otherwise).
        assert_eq!(
            parse(&["--only", "nope"]).unwrap().only.as_deref(),
            Some("nope")
        );
        assert_eq!(run(parse(&["--only", "nope"]).unwrap()), ExitCode::from(2));
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--only"]).is_err());
        for part in PARTS {
            assert!(Part::parse(part).is_some(), "{part}");
        }
        assert_eq!(Part::parse("tracker-cost"), Some(Part::TrackerCost));
    }
}
