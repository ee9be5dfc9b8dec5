//! `cargo xtask bench [--quick]`: the client against raw baselines, side by side in one run, and
//! `docs/benchmarks.md` regenerated from the figures.
//!
//! The orchestrator (this process, whatever profile `cargo xtask` built) builds the release
//! binaries, then starts them: `xtask bench serve` runs the cluster, `xtask bench client` runs
//! parts 1 and 2 (each client figure alternating with its raw baseline in the same process), and
//! part 3 runs one process per transfer (`xtask bench stream-put` / `stream-get`, and `curl`).
//! Part 4 is the protocol crate's criterion bench. Part 5 fetches 256 MiB through `MogileStore`
//! and through the facade, one process per `get` (`xtask bench object-store-get`), and compares
//! their CPU time; `--only object-store` runs that part alone (and writes no docs). Part 8 runs
//! the release `mogile sync` from a local directory into the cluster against a loop of `mogile
//! put` processes and the facade's own puts; `--only sync` runs it alone.

mod client;
mod codec;
mod docs;
mod measure;
mod object_store_get;
mod raw;
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

const USAGE: &str = "usage: cargo xtask bench [--quick] [--no-docs] [--only object-store|sync]";

/// A part run alone with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    ObjectStore,
    Sync,
}

/// Entry point of `cargo xtask bench ...` (and of the internal subcommands the release build runs).
pub(crate) fn run(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("serve") => serve::run(),
        Some("client") => client::run(&args[1..]),
        Some("stream-put") => client::stream_put(&args[1..]),
        Some("stream-get") => client::stream_get(&args[1..]),
        Some("object-store-get") => client::object_store_get(&args[1..]),
        Some("sync-facade-put") => sync::facade_put_process(&args[1..]),
        _ => {
            let (mut quick, mut write_docs, mut only) = (false, true, None);
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match (a.as_str(), it.as_slice().first().map(String::as_str)) {
                    ("--quick", _) => quick = true,
                    ("--no-docs", _) => write_docs = false,
                    ("--only", Some(part @ ("object-store" | "sync"))) => {
                        only = Some(if part == "sync" {
                            Only::Sync
                        } else {
                            Only::ObjectStore
                        });
                        it.next();
                        // One part alone would make a page of "not measured".
                        write_docs = false;
                    }
                    _ => {
                        eprintln!("{USAGE}");
                        return ExitCode::from(2);
                    }
                }
            }
            match orchestrate(quick, write_docs, only) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("xtask bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
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

fn orchestrate(quick: bool, write_docs: bool, only: Option<Only>) -> Result<(), String> {
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
    let mogile = sync::build_mogile(&cargo, &exe)?;
    let measured = Instant::now();

    let mut server = Server::start(&exe)?;
    let mut figures = Vec::new();
    let object_store = object_store_get::Setup {
        exe: &exe,
        tracker: &server.tracker,
        domain: &server.domain,
        // A `get` takes a fraction of a second and CPU time varies by ±30% from one to the next
        // on a shared machine: many rounds, so that the median means something.
        rounds: if quick { 5 } else { 15 },
    };
    let sync_part = sync::Setup {
        xtask: &exe,
        mogile: &mogile,
        tracker: &server.tracker,
        domain: &server.domain,
        rounds: if quick { 1 } else { 3 },
    };
    if only == Some(Only::Sync) {
        figures.extend(sync::run(&sync_part)?);
        server.stop()?;
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
    if only == Some(Only::ObjectStore) {
        figures.extend(object_store_get::run(&object_store)?);
        server.stop()?;
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
    figures.extend(object_store_get::run(&object_store)?);
    figures.extend(sync::run(&sync_part)?);
    server.stop()?;
    figures.extend(codec::run(&cargo, quick)?);
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
