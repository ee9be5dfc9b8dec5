//! Parts 6 and 7: reads that use every replica (issue 15).
//!
//! Part 6 (`--only stripes`): a 256 MiB file on 2 and on 3 storage nodes, each node its own
//! process with a token-bucket bandwidth cap (100 MB/s), so that per-node bandwidth, not the
//! machine's two shared cores, is the bottleneck, as on a real network. The facade's striped
//! fetch (`bench stream-get`, one process per fetch, peak RSS by `/usr/bin/time`) alternates with
//! `curl` of the whole file from the first node. The same without a cap, for reference.
//!
//! Part 7 (`--only hedge`): 10,000 small gets on 2 nodes, the first path (fixed order) a node
//! that delays its headers by 500 ms on one request in 33 (3%). Gets start at 500 per second
//! whatever the earlier ones do (open loop, so that both modes carry the same load). Hedging
//! adaptive (the default) against off, alternating; p50, p99 and the extra requests (hedges per
//! get).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mogile_testkit::tracker::fid_path;

use super::measure::median;
use super::report::{Figure, Section};
use super::streaming::{Transfer, get_curl, timed, write_source};

const DOMAIN: &str = "replicas";
const CAP: u64 = 100_000_000;
const BIG: u64 = 256 << 20;
const RSS_TARGET_MIB: f64 = 64.0;
/// Gets started per second in part 7 (open loop).
const RATE: usize = 500;

/// A child process that prints lines, then serves until its stdin closes.
struct Proc {
    child: Child,
    lines: Vec<String>,
}

impl Proc {
    /// Starts `exe bench ARGS` and reads its stdout up to the line `until` starts with.
    fn start(exe: &Path, args: &[String], until: &str) -> Result<Self, String> {
        let mut child = Command::new(exe)
            .arg("bench")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting {args:?}: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let mut lines = Vec::new();
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| e.to_string())?;
            let last = line.starts_with(until);
            lines.push(line);
            if last {
                return Ok(Self { child, lines });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("{args:?} ended before printing {until:?}"))
    }

    fn field(&self, name: &str) -> Option<String> {
        self.lines
            .iter()
            .flat_map(|l| l.split_whitespace())
            .find_map(|w| w.strip_prefix(name))
            .map(str::to_owned)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Nodes and a tracker holding `files` on every node.
struct Cluster {
    nodes: Vec<(Proc, PathBuf, u64, String)>,
    tracker: Proc,
    fids: Vec<(String, u64)>,
}

impl Cluster {
    fn start(
        exe: &Path,
        dir: &Path,
        nodes: usize,
        cap: u64,
        slow_first: Option<(u64, u32)>,
        files: &[(String, PathBuf, u64)],
    ) -> Result<Self, String> {
        let mut started = Vec::new();
        for i in 0..nodes {
            let devid = i as u64 + 1;
            let root = dir.join(format!("node{devid}"));
            std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
            let (delay, one_in) = slow_first.filter(|_| i == 0).unwrap_or((0, 1));
            let args: Vec<String> = vec![
                "storage-node".into(),
                root.to_string_lossy().into_owned(),
                devid.to_string(),
                cap.to_string(),
                delay.to_string(),
                one_in.to_string(),
            ];
            let p = Proc::start(exe, &args, "addr=")?;
            let addr = p.field("addr=").ok_or("node address")?;
            started.push((p, root, devid, addr));
        }
        let mut args: Vec<String> = vec![
            "replica-tracker".into(),
            DOMAIN.into(),
            started
                .iter()
                .map(|(_, _, d, a)| format!("{a}:{d}"))
                .collect::<Vec<_>>()
                .join(","),
        ];
        args.extend(files.iter().map(|(k, _, len)| format!("{k}:{len}")));
        let tracker = Proc::start(exe, &args, "ready")?;
        let mut fids = Vec::new();
        for line in &tracker.lines {
            if let Some(rest) = line.strip_prefix("fid ") {
                let (key, fid) = rest.rsplit_once(' ').ok_or("fid line")?;
                fids.push((key.to_owned(), fid.parse().map_err(|_| "fid")?));
            }
        }
        for ((key, source, _), (key2, fid)) in files.iter().zip(&fids) {
            debug_assert_eq!(key, key2);
            for (_, root, devid, _) in &started {
                let path = root.join(fid_path(*devid, *fid).trim_start_matches('/'));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                if std::fs::hard_link(source, &path).is_err() {
                    std::fs::copy(source, &path).map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(Self {
            nodes: started,
            tracker,
            fids,
        })
    }

    fn tracker_addr(&self) -> Result<String, String> {
        self.tracker
            .field("tracker=")
            .ok_or_else(|| "tracker address".to_owned())
    }

    /// The URL of the first file on the first node.
    fn first_url(&self) -> Result<String, String> {
        let (_, _, devid, addr) = self.nodes.first().ok_or("no node")?;
        let (_, fid) = self.fids.first().ok_or("no file")?;
        Ok(format!("http://{addr}{}", fid_path(*devid, *fid)))
    }
}

fn mbps(t: &[Transfer], size: u64) -> f64 {
    median(
        &t.iter()
            .map(|t| size as f64 / t.secs / 1e6)
            .collect::<Vec<_>>(),
    )
}

/// Part 6.
pub(crate) fn stripes(exe: &Path, quick: bool) -> Result<Vec<Figure>, String> {
    let dir = tempfile::Builder::new()
        .prefix("mogile-bench-stripes-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let source = dir.path().join("source");
    write_source(&source, BIG)?;
    let files = [("big".to_owned(), source.clone(), BIG)];
    let rounds = if quick { 2 } else { 3 };
    let mut figures = Vec::new();
    for (nodes, cap, target) in [
        (2usize, CAP, Some(1.7)),
        (3, CAP, Some(2.4)),
        (2, 0, None),
        (3, 0, None),
    ] {
        let run = dir.path().join(format!("run-{nodes}-{cap}"));
        let cluster = Cluster::start(exe, &run, nodes, cap, None, &files)?;
        let tracker = cluster.tracker_addr()?;
        let url = cluster.first_url()?;
        let (mut ours, mut curl) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let get = || -> Result<Transfer, String> {
                let (t, out) = timed(exe, &["bench", "stream-get", &tracker, DOMAIN, "big"])?;
                if !out.contains(&format!("bytes={BIG} ")) {
                    return Err(format!("stream-get fetched the wrong size: {out}"));
                }
                Ok(t)
            };
            if r % 2 == 0 {
                ours.push(get()?);
                curl.push(get_curl(&url)?);
            } else {
                curl.push(get_curl(&url)?);
                ours.push(get()?);
            }
        }
        drop(cluster);
        let _ = std::fs::remove_dir_all(&run);
        figures.push(stripe_figure(nodes, cap, target, &ours, &curl));
    }
    Ok(figures)
}

fn stripe_figure(
    nodes: usize,
    cap: u64,
    target: Option<f64>,
    ours: &[Transfer],
    curl: &[Transfer],
) -> Figure {
    let (o, c) = (mbps(ours, BIG), mbps(curl, BIG));
    let ratio = o / c;
    let rss = ours.iter().filter_map(|t| t.rss_mib).reduce(f64::max);
    let rss_ok = rss.is_some_and(|r| r < RSS_TARGET_MIB);
    let (target_text, met) = match target {
        Some(min) => {
            let met = ratio >= min && rss_ok;
            (
                format!(
                    "{} >= {min:.1}x, RSS < {RSS_TARGET_MIB:.0} MiB",
                    if met { "met:" } else { "MISSED:" }
                ),
                Some(met),
            )
        }
        None => ("no target".to_owned(), None),
    };
    let cap_text = if cap > 0 {
        format!("{} MB/s per node", cap / 1_000_000)
    } else {
        "none".to_owned()
    };
    let mib = rss.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1} MiB"));
    let f = Figure {
        section: Section::Stripes,
        line: format!(
            "stripes {nodes} nodes, cap {cap_text}: striped {o:.1} MB/s, curl of one node {c:.1} MB/s, ratio {ratio:.2}x, client peak RSS {mib} ({target_text})"
        ),
        cells: vec![
            nodes.to_string(),
            cap_text,
            "256 MiB".to_owned(),
            format!("{o:.1}"),
            format!("{c:.1}"),
            format!("**{ratio:.2}x**"),
            mib,
            target_text,
        ],
        met,
    };
    eprintln!("{}", f.line);
    f
}

/// One run of `bench hedge-gets`.
#[derive(Debug, Default)]
struct HedgeRun {
    p50_us: f64,
    p99_us: f64,
    gets: f64,
    hedges: f64,
}

fn hedge_run(
    exe: &Path,
    tracker: &str,
    keys: usize,
    count: usize,
    mode: &str,
) -> Result<HedgeRun, String> {
    let out = Command::new(exe)
        .args(["bench", "hedge-gets", tracker, DOMAIN, "h/"])
        .args([keys.to_string(), count.to_string(), RATE.to_string()])
        .arg(mode)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("hedge-gets: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("hedge-gets {mode} failed: {text}"));
    }
    eprintln!("hedge-gets {mode}: {}", text.trim());
    let field = |name: &str| -> Result<f64, String> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("hedge-gets printed no {name}: {text}"))
    };
    Ok(HedgeRun {
        p50_us: field("p50_us=")?,
        p99_us: field("p99_us=")?,
        gets: field("gets=")?,
        hedges: field("hedges=")?,
    })
}

/// Part 7.
pub(crate) fn hedge(exe: &Path, quick: bool) -> Result<Vec<Figure>, String> {
    let dir = tempfile::Builder::new()
        .prefix("mogile-bench-hedge-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let source = dir.path().join("small");
    write_source(&source, 4096)?;
    let keys = 100;
    let files: Vec<(String, PathBuf, u64)> = (0..keys)
        .map(|i| (format!("h/{i}"), source.clone(), 4096))
        .collect();
    let count = if quick { 2000 } else { 10_000 };
    let rounds = if quick { 1 } else { 2 };
    let cluster = Cluster::start(exe, &dir.path().join("run"), 2, 0, Some((500, 33)), &files)?;
    let tracker = cluster.tracker_addr()?;
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        if r % 2 == 0 {
            on.push(hedge_run(exe, &tracker, keys, count, "on")?);
            off.push(hedge_run(exe, &tracker, keys, count, "off")?);
        } else {
            off.push(hedge_run(exe, &tracker, keys, count, "off")?);
            on.push(hedge_run(exe, &tracker, keys, count, "on")?);
        }
    }
    drop(cluster);
    let med =
        |v: &[HedgeRun], f: fn(&HedgeRun) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let p99_off = med(&off, |r| r.p99_us);
    let mut figures = Vec::new();
    for (mode, runs) in [("on (adaptive)", &on), ("off", &off)] {
        let p50 = med(runs, |r| r.p50_us);
        let p99 = med(runs, |r| r.p99_us);
        let extra = med(runs, |r| r.hedges / r.gets.max(1.0)) * 100.0;
        let (target, met) = if runs.as_ptr() == on.as_ptr() {
            let met = p99 <= p99_off / 5.0 && extra <= 10.0;
            (
                format!(
                    "{} p99 <= 1/5 of off ({:.2}), extra <= 10%",
                    if met { "met:" } else { "MISSED:" },
                    p99 / p99_off
                ),
                Some(met),
            )
        } else {
            ("baseline".to_owned(), None)
        };
        let f = Figure {
            section: Section::Hedge,
            line: format!(
                "hedge {mode}: {count} gets x {rounds}, p50 {:.1} ms, p99 {:.1} ms, extra requests {extra:.2}% ({target})",
                p50 / 1000.0,
                p99 / 1000.0
            ),
            cells: vec![
                mode.to_owned(),
                count.to_string(),
                format!("{:.1}", p50 / 1000.0),
                format!("**{:.1}**", p99 / 1000.0),
                format!("{extra:.2}%"),
                target,
            ],
            met,
        };
        eprintln!("{}", f.line);
        figures.push(f);
    }
    Ok(figures)
}
