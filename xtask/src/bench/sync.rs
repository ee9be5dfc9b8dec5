//! Part 8: `mogile sync` from a local directory into the cluster (the release `mogile` binary),
//! 5,000 files of 4 KiB and, separately, 4 files of 64 MiB.
//!
//! - the baseline is what operators do today: a sequential loop of `mogile put` processes, one
//!   per file (for the small files, over the first `BASELINE_SMALL` of them; a rate, so a sample
//!   is enough);
//! - sync's first run into an empty prefix (files/s, MB/s), and the speed-up over the baseline;
//! - a second, no-op run of the same command: its time as a fraction of the first (target < 10%);
//! - for the small files, the facade's own concurrent `put_file` of the same files at the same
//!   concurrency (`--jobs 8`), in a release process of its own (`xtask bench sync-facade-put`):
//!   sync should reach at least 0.8x of it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use futures::StreamExt;

use super::measure::median;
use super::report::{Figure, Section, rate};

/// Concurrency of sync (`--jobs`) and of the facade's puts it is compared with.
const JOBS: usize = 8;
/// Files of the small-file workload, and their size.
const SMALL_FILES: usize = 5_000;
const SMALL_SIZE: usize = 4 * 1024;
/// Files timed in the sequential `mogile put` loop.
const BASELINE_SMALL: usize = 300;
/// The large-file workload.
const LARGE_FILES: usize = 4;
const LARGE_SIZE: usize = 64 << 20;
/// Targets.
const MIN_VS_FACADE: f64 = 0.8;
const MAX_NOOP_FRACTION: f64 = 0.10;

/// What the part needs.
#[derive(Debug)]
pub(crate) struct Setup<'a> {
    pub(crate) xtask: &'a Path,
    pub(crate) mogile: &'a Path,
    pub(crate) tracker: &'a str,
    pub(crate) domain: &'a str,
    pub(crate) rounds: usize,
}

/// Builds the release `mogile` and returns its path.
pub(crate) fn build_mogile(cargo: &str, xtask: &Path) -> Result<PathBuf, String> {
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "mogile-cli"])
        .status()
        .map_err(|e| format!("cargo build -p mogile-cli: {e}"))?;
    if !status.success() {
        return Err("cargo build --release -p mogile-cli failed".to_owned());
    }
    Ok(xtask.with_file_name("mogile"))
}

pub(crate) fn run(s: &Setup<'_>) -> Result<Vec<Figure>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let home = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let small = dir.path().join("small");
    let large = dir.path().join("large");
    write_files(&small, SMALL_FILES, SMALL_SIZE)?;
    write_files(&large, LARGE_FILES, LARGE_SIZE)?;
    let tool = Tool {
        exe: s.mogile,
        tracker: s.tracker,
        domain: s.domain,
        home: home.path(),
    };
    let mut figures = Vec::new();
    for (name, src, files, size) in [
        ("4 KiB files", &small, SMALL_FILES, SMALL_SIZE),
        ("64 MiB files", &large, LARGE_FILES, LARGE_SIZE),
    ] {
        let sample = if size == SMALL_SIZE {
            BASELINE_SMALL
        } else {
            files
        };
        let baseline = baseline(&tool, src, sample, &format!("bench-sync/put-loop/{size}/"))?;
        let (mut first, mut noop, mut facade) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..s.rounds {
            let prefix = format!("bench-sync/sync/{size}/{round}/");
            first.push(tool.sync(src, &prefix, files)?);
            noop.push(tool.sync(src, &prefix, 0)?);
            tool.clear(&prefix)?;
            if size == SMALL_SIZE {
                let prefix = format!("bench-sync/facade/{size}/{round}/");
                facade.push(facade_put(s, src, &prefix, files)?);
                tool.clear(&prefix)?;
            }
        }
        tool.clear(&format!("bench-sync/put-loop/{size}/"))?;
        let (first, noop) = (median(&first), median(&noop));
        let facade = (!facade.is_empty()).then(|| median(&facade));
        let f = figure(name, files, size, sample, baseline, first, noop, facade);
        eprintln!("{}", f.line);
        figures.push(f);
    }
    Ok(figures)
}

#[allow(clippy::too_many_arguments)] // one row's numbers
fn figure(
    name: &str,
    files: usize,
    size: usize,
    sample: usize,
    baseline_secs_per_file: f64,
    first_secs: f64,
    noop_secs: f64,
    facade_files_per_sec: Option<f64>,
) -> Figure {
    let mb = (files * size) as f64 / 1e6;
    let sync_rate = files as f64 / first_secs;
    let baseline_rate = 1.0 / baseline_secs_per_file;
    let noop_fraction = noop_secs / first_secs;
    let noop_met = noop_fraction < MAX_NOOP_FRACTION;
    let vs_facade = facade_files_per_sec.map(|f| sync_rate / f);
    let facade_met = vs_facade.is_none_or(|r| r >= MIN_VS_FACADE);
    let mut target = format!(
        "{} no-op < {:.0}%",
        if noop_met { "met:" } else { "MISSED:" },
        MAX_NOOP_FRACTION * 100.0
    );
    if let Some(r) = vs_facade {
        target.push_str(&format!(
            "; {} sync/facade >= {MIN_VS_FACADE:.1}x ({r:.2}x)",
            if r >= MIN_VS_FACADE {
                "met:"
            } else {
                "MISSED:"
            }
        ));
    }
    let cells = vec![
        name.to_owned(),
        rate(files as f64),
        format!("{} ({sample} files)", rate(baseline_rate)),
        rate(sync_rate),
        format!("{:.1}", mb / first_secs),
        format!("{:.1}x", sync_rate / baseline_rate),
        format!(
            "{:.2} s / {:.2} s = {:.1}%",
            noop_secs,
            first_secs,
            noop_fraction * 100.0
        ),
        facade_files_per_sec.map_or_else(|| "-".to_owned(), rate),
        vs_facade.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x")),
        target,
    ];
    Figure {
        section: Section::Sync,
        line: format!(
            "sync {name}: {} files/s ({:.1} MB/s), {:.1}x a `mogile put` loop, no-op {:.1}% of the first run{}",
            rate(sync_rate),
            mb / first_secs,
            sync_rate / baseline_rate,
            noop_fraction * 100.0,
            vs_facade.map_or_else(String::new, |r| format!(", {r:.2}x the facade's put"))
        ),
        cells,
        met: Some(noop_met && facade_met),
    }
}

fn write_files(dir: &Path, n: usize, size: usize) -> Result<(), String> {
    for i in 0..n {
        // Spread over 50 folders, as a real tree would be.
        let path = dir.join(format!("d{:02}/f{i:05}", i % 50));
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        let byte = (i % 251) as u8;
        std::fs::write(&path, vec![byte; size]).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, relative paths, sorted.
fn files_under(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Seconds per file of a sequential loop of `mogile put` processes over the first `n` files.
fn baseline(tool: &Tool<'_>, dir: &Path, n: usize, prefix: &str) -> Result<f64, String> {
    let files = files_under(dir)?;
    flush_writeback();
    let start = Instant::now();
    for rel in files.iter().take(n) {
        let key = format!("{prefix}{rel}");
        tool.run(&["put", &key, &dir.join(rel).to_string_lossy()])?;
    }
    Ok(start.elapsed().as_secs_f64() / n.min(files.len()) as f64)
}

/// `sync(1)`, untimed, so that no timed run pays for the previous one's writeback.
fn flush_writeback() {
    let _ = Command::new("sync").status();
}

/// The facade's own concurrent puts of the same files, in a release process of its own.
fn facade_put(s: &Setup<'_>, dir: &Path, prefix: &str, files: usize) -> Result<f64, String> {
    flush_writeback();
    let out = Command::new(s.xtask)
        .args(["bench", "sync-facade-put", s.tracker, s.domain])
        .arg(dir)
        .arg(prefix)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("sync-facade-put: {e}"))?;
    if !out.status.success() {
        return Err("sync-facade-put failed".to_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let secs: f64 = text
        .trim()
        .strip_prefix("secs=")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("sync-facade-put said {text:?}"))?;
    Ok(files as f64 / secs)
}

/// `xtask bench sync-facade-put TRACKER DOMAIN DIR PREFIX`: `put_file` of every file under DIR,
/// `JOBS` at a time; prints `secs=S`.
pub(crate) fn facade_put_process(args: &[String]) -> ExitCode {
    let result = (|| {
        let [tracker, domain, dir, prefix] = args else {
            return Err("usage: sync-facade-put TRACKER DOMAIN DIR PREFIX".to_owned());
        };
        let dir = PathBuf::from(dir);
        let files = files_under(&dir)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let client = mogilefs::Client::builder()
                .trackers([tracker.as_str()])
                .domain(domain.as_str())
                .build()
                .map_err(|e| e.to_string())?;
            let opts = mogilefs::PutOptions::new();
            let start = Instant::now();
            let mut puts = futures::stream::iter(files.iter())
                .map(|rel| {
                    let (client, opts, path) = (&client, &opts, dir.join(rel));
                    async move {
                        client
                            .put_file(format!("{prefix}{rel}"), &path, opts)
                            .await
                            .map(drop)
                            .map_err(|e| format!("put {rel}: {e}"))
                    }
                })
                .buffer_unordered(JOBS);
            while let Some(r) = puts.next().await {
                r?;
            }
            println!("secs={}", start.elapsed().as_secs_f64());
            client.close().await;
            Ok::<(), String>(())
        })
    })();
    super::client::finish(result, "sync-facade-put")
}

/// The release `mogile`, pointed at the cluster.
struct Tool<'a> {
    exe: &'a Path,
    tracker: &'a str,
    domain: &'a str,
    home: &'a Path,
}

impl Tool<'_> {
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.exe);
        cmd.env("MOGILE_TRACKERS", self.tracker)
            .env("MOGILE_DOMAIN", self.domain)
            .env("HOME", self.home)
            .env_remove("MOGUTILSCONF")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("mogile: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`mogile {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }

    /// Runs `mogile sync DIR mogile://DOMAIN/PREFIX --jobs 8 --json`, checks it copied
    /// `expect_copied` files, and returns its wall time.
    fn sync(&self, dir: &Path, prefix: &str, expect_copied: usize) -> Result<f64, String> {
        let dst = format!("mogile://{}/{prefix}", self.domain);
        let jobs = JOBS.to_string();
        flush_writeback();
        let start = Instant::now();
        let out = self.run(&[
            "--json",
            "sync",
            &dir.to_string_lossy(),
            &dst,
            "--jobs",
            &jobs,
        ])?;
        let secs = start.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out);
        let summary: serde_json::Value = text
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| format!("no summary from sync: {text:?}"))?;
        if summary["copied"].as_u64() != Some(expect_copied as u64) {
            return Err(format!(
                "sync copied {}, expected {expect_copied}",
                summary["copied"]
            ));
        }
        Ok(secs)
    }

    /// Deletes every key under `prefix` (not measured), so rounds do not fill the disk.
    fn clear(&self, prefix: &str) -> Result<(), String> {
        let empty = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dst = format!("mogile://{}/{prefix}", self.domain);
        self.run(&[
            "sync",
            "-q",
            &empty.path().to_string_lossy(),
            &dst,
            "--delete",
            "--force",
            "--jobs",
            "32",
        ])
        .map(drop)
    }
}
